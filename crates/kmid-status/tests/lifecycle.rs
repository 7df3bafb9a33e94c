//! The Korean card lifecycle end to end: the registry changes a status, the issuer publishes a
//! signed Status List Token, and the mdoc and SD-JWT VC verifiers refuse or accept the card
//! through the resolver.

#![allow(
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use common::{
    TokenFormat, device_key, issue_mdoc, issue_sdjwt, publish, verify_mdoc, verify_sdjwt,
};
use kmid_mdoc::MdocError;
use kmid_schema::Card;
use kmid_schema::status::{StatusError, TokenRefusal, TokenStatus};
use kmid_sdjwt::SdJwtError;
use kmid_status::registry::{
    Actor, CredentialFormat, MemoryStore, PhysicalStatus, RegistryConfig, RegistryStore,
    SqliteStore, StatusRegistry,
};
use kmid_status::{RegistryError, StatusListError};
use kmid_testkit::samples;
use kmid_testkit::{Authority, REFERENCE_TIME, SeededRandom, TestPki};

fn config() -> RegistryConfig {
    RegistryConfig {
        list_size: 4096,
        list_capacity: 2048,
        ..RegistryConfig::new("https://status.mois.go.kr/lists")
    }
}

fn actor(reason: &'static str) -> Actor<'static> {
    Actor {
        who: "jongno-gu office, counter 3",
        at: REFERENCE_TIME,
        reason,
    }
}

/// The outcome of verifying both credentials, as one comparable value per format.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Passes,
    Refused(TokenStatus),
}

fn scenario<S: RegistryStore>(store: S, format: TokenFormat) {
    let pki = TestPki::new();
    let served = common::Served::default();
    let resolver = common::resolver(&pki, &served, format);
    let registry = StatusRegistry::new(store, config(), Arc::new(SeededRandom::new(b"lifecycle")));
    let card = Card::from(samples::resident());
    let card_key = "mois:card:0001";
    let phone_a = device_key();
    let phone_b = device_key();

    // Issuance on phone A: an mdoc and an SD-JWT VC, each with its own random index.
    let [m, s]: [_; 2] = registry
        .register_issuance(
            card_key,
            "phone-A",
            &[CredentialFormat::Mdoc, CredentialFormat::SdJwtVc],
            &actor("issuance, QR at counter"),
        )
        .unwrap()
        .try_into()
        .unwrap();
    assert_ne!(m.reference.idx, s.reference.idx);
    let mdoc = issue_mdoc(&pki, Authority::Mois, &card, &phone_a, &m.reference);
    let sdjwt = issue_sdjwt(&pki, Authority::Mois, &card, &phone_a, &s.reference);

    use Outcome::{Passes, Refused};
    use TokenStatus::{Invalid, Suspended};
    let check = |label: &str| -> (Outcome, Outcome) {
        publish(&registry, &pki, Authority::Mois, common::BOTH, &served);
        resolver.clear_cache();
        let a = match verify_mdoc(&pki, &mdoc, &phone_a, &resolver, REFERENCE_TIME) {
            Ok(Some(TokenStatus::Valid)) => Passes,
            Err(MdocError::Status(s)) => Refused(s),
            other => panic!("{label}: mdoc {other:?}"),
        };
        let b = match verify_sdjwt(&pki, &sdjwt, &resolver, REFERENCE_TIME) {
            Ok(Some(TokenStatus::Valid)) => Passes,
            Err(SdJwtError::Status(s)) => Refused(s),
            other => panic!("{label}: sd-jwt {other:?}"),
        };
        (a, b)
    };

    assert_eq!(check("issued"), (Passes, Passes));

    // Only the phone is lost: both credentials on it are suspended, the card is not touched.
    assert_eq!(
        registry
            .report_phone_lost("phone-A", &actor("phone lost"))
            .unwrap(),
        2
    );
    assert_eq!(
        check("phone lost"),
        (Refused(Suspended), Refused(Suspended))
    );
    assert_eq!(
        registry.card(card_key).unwrap().physical,
        PhysicalStatus::Normal
    );
    // A lost phone takes no new credential.
    assert_eq!(
        registry
            .register(
                card_key,
                "phone-A",
                CredentialFormat::Mdoc,
                &actor("issuance")
            )
            .unwrap_err(),
        StatusListError::Registry(RegistryError::DeviceLost)
    );
    assert_eq!(
        registry
            .reinstate_phone("phone-A", &actor("phone found"))
            .unwrap(),
        2
    );
    assert_eq!(check("phone found"), (Passes, Passes));

    // The physical card is lost: everything of the card is suspended.
    assert_eq!(
        registry
            .report_card_lost(card_key, &actor("card lost"))
            .unwrap(),
        2
    );
    assert_eq!(check("card lost"), (Refused(Suspended), Refused(Suspended)));
    assert_eq!(
        registry
            .register(
                card_key,
                "phone-A",
                CredentialFormat::Mdoc,
                &actor("issuance")
            )
            .unwrap_err(),
        StatusListError::Registry(RegistryError::CardLost)
    );
    assert_eq!(
        registry
            .reissue_to_new_device(card_key, "phone-B", &actor("re-issue"))
            .unwrap_err(),
        StatusListError::Registry(RegistryError::CardLost)
    );

    // Card and phone both lost: finding the card does not reinstate what is on the lost phone.
    assert_eq!(
        registry
            .report_phone_lost("phone-A", &actor("phone lost too"))
            .unwrap(),
        0
    );
    assert_eq!(
        registry
            .reinstate_card(card_key, &actor("card found"))
            .unwrap(),
        0
    );
    assert_eq!(
        check("card found, phone lost"),
        (Refused(Suspended), Refused(Suspended))
    );
    assert_eq!(
        registry
            .reinstate_phone("phone-A", &actor("phone found"))
            .unwrap(),
        2
    );
    assert_eq!(check("both found"), (Passes, Passes));

    // Re-issue to phone B: the old credentials are INVALID for good, the new ones pass, and
    // phone A may hold the card no more.
    assert_eq!(
        registry
            .reissue_to_new_device(card_key, "phone-B", &actor("re-issue to a new phone"))
            .unwrap(),
        2
    );
    assert_eq!(check("re-issued"), (Refused(Invalid), Refused(Invalid)));
    assert_eq!(
        registry
            .register(
                card_key,
                "phone-A",
                CredentialFormat::Mdoc,
                &actor("issuance")
            )
            .unwrap_err(),
        StatusListError::Registry(RegistryError::SecondDevice)
    );
    let [m2, s2]: [_; 2] = registry
        .register_issuance(
            card_key,
            "phone-B",
            &[CredentialFormat::Mdoc, CredentialFormat::SdJwtVc],
            &actor("issuance"),
        )
        .unwrap()
        .try_into()
        .unwrap();
    let mdoc2 = issue_mdoc(&pki, Authority::Mois, &card, &phone_b, &m2.reference);
    let sdjwt2 = issue_sdjwt(&pki, Authority::Mois, &card, &phone_b, &s2.reference);
    publish(&registry, &pki, Authority::Mois, common::BOTH, &served);
    resolver.clear_cache();
    assert_eq!(
        verify_mdoc(&pki, &mdoc2, &phone_b, &resolver, REFERENCE_TIME).unwrap(),
        Some(TokenStatus::Valid)
    );
    assert_eq!(
        verify_sdjwt(&pki, &sdjwt2, &resolver, REFERENCE_TIME).unwrap(),
        Some(TokenStatus::Valid)
    );
    // INVALID stays INVALID: a found card or phone does not revive it.
    registry
        .report_card_lost(card_key, &actor("card lost"))
        .unwrap();
    registry
        .reinstate_card(card_key, &actor("card found"))
        .unwrap();
    assert_eq!(
        check("old ones stay invalid"),
        (Refused(Invalid), Refused(Invalid))
    );
    assert_eq!(registry.status(m2.credential).unwrap(), TokenStatus::Valid);

    // Revocation of one credential.
    registry
        .revoke(s2.credential, &actor("revoked by the issuer"))
        .unwrap();
    assert_eq!(
        registry.revoke(s2.credential, &actor("again")).unwrap_err(),
        StatusListError::Registry(RegistryError::AlreadyInvalid(s2.credential))
    );
    publish(&registry, &pki, Authority::Mois, common::BOTH, &served);
    resolver.clear_cache();
    assert_eq!(
        verify_sdjwt(&pki, &sdjwt2, &resolver, REFERENCE_TIME).unwrap_err(),
        SdJwtError::Status(Invalid)
    );
    assert_eq!(
        verify_mdoc(&pki, &mdoc2, &phone_b, &resolver, REFERENCE_TIME).unwrap(),
        Some(TokenStatus::Valid)
    );

    // Everything that happened is in the log, and the log explains every status.
    assert_eq!(registry.audit().unwrap(), 4);
    let events = registry.events(0).unwrap();
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(
        events
            .iter()
            .all(|e| e.actor == "jongno-gu office, counter 3")
    );
}

/// D-14: a new issuance of a card (an address change, a fresh QR at the counter, on the same
/// phone) makes every earlier credential of it INVALID, while the credentials of one issuance
/// (both formats, a batch of keys) stand together; another card is untouched.
fn supersede<S: RegistryStore>(store: S) {
    let registry = StatusRegistry::new(store, config(), Arc::new(SeededRandom::new(b"supersede")));
    let both = [CredentialFormat::Mdoc, CredentialFormat::SdJwtVc];
    let first = registry
        .register_issuance("card-1", "phone-A", &both, &actor("issuance"))
        .unwrap();
    let other = registry
        .register_issuance("card-2", "phone-A", &both, &actor("issuance"))
        .unwrap();
    let status = |r: &kmid_status::registry::Registration| registry.status(r.credential).unwrap();
    assert!(first.iter().all(|r| status(r) == TokenStatus::Valid));
    // The address changed (전입신고): the card is issued again, as a batch of three keys.
    let batch = [
        CredentialFormat::Mdoc,
        CredentialFormat::Mdoc,
        CredentialFormat::Mdoc,
        CredentialFormat::SdJwtVc,
    ];
    let second = registry
        .register_issuance("card-1", "phone-A", &batch, &actor("address change"))
        .unwrap();
    assert_eq!(second.len(), 4);
    for r in &first {
        assert_eq!(
            status(r),
            TokenStatus::Invalid,
            "the earlier issuance stops working"
        );
        assert_eq!(registry.credential(r.credential).unwrap().issuance, 1);
    }
    for r in &second {
        assert_eq!(status(r), TokenStatus::Valid, "the batch stands together");
        assert_eq!(registry.credential(r.credential).unwrap().issuance, 2);
    }
    assert!(other.iter().all(|r| status(r) == TokenStatus::Valid));
    // Each superseded credential is one event, from VALID to INVALID, with its reason.
    let superseded: Vec<_> = registry
        .events(0)
        .unwrap()
        .into_iter()
        .filter(|e| e.operation == kmid_status::registry::Operation::Supersede)
        .collect();
    assert_eq!(superseded.len(), 2);
    for e in &superseded {
        assert_eq!((e.old_status, e.new_status), (Some(0), Some(1)));
        assert_eq!(e.reason, "address change");
        assert_eq!(e.card_key.as_deref(), Some("card-1"));
    }
    // A single registration is an issuance too: it supersedes the batch.
    let third = registry
        .register(
            "card-1",
            "phone-A",
            CredentialFormat::SdJwtVc,
            &actor("re-issue"),
        )
        .unwrap();
    assert!(second.iter().all(|r| status(r) == TokenStatus::Invalid));
    assert_eq!(status(&third), TokenStatus::Valid);
    assert_eq!(registry.credential(third.credential).unwrap().issuance, 3);
    // A suspended credential is superseded too (a lost phone found again gets no old card back).
    registry
        .report_phone_lost("phone-A", &actor("phone lost"))
        .unwrap();
    registry
        .reinstate_phone("phone-A", &actor("phone found"))
        .unwrap();
    assert_eq!(status(&third), TokenStatus::Valid);
}

/// One issuance asked for in parts (the two formats of one OpenID4VCI token come in two
/// Credential Requests): the second part joins the first instead of superseding it; a part for
/// an issuance that is no longer the latest, for another phone, or for a lost card is refused.
fn issuance_in_parts<S: RegistryStore>(store: S) {
    let registry = StatusRegistry::new(store, config(), Arc::new(SeededRandom::new(b"parts")));
    let status = |r: &kmid_status::registry::Registration| registry.status(r.credential).unwrap();
    let (issuance, mdoc) = registry
        .open_issuance(
            "card-1",
            "phone-A",
            &[CredentialFormat::Mdoc],
            None,
            &actor("issuance"),
        )
        .unwrap();
    assert_eq!(issuance, 1);
    let sd_jwt = registry
        .extend_issuance(
            "card-1",
            "phone-A",
            issuance,
            &[CredentialFormat::SdJwtVc, CredentialFormat::SdJwtVc],
            &actor("issuance"),
        )
        .unwrap();
    assert_eq!(sd_jwt.len(), 2);
    for r in mdoc.iter().chain(&sd_jwt) {
        assert_eq!(status(r), TokenStatus::Valid, "the parts stand together");
        assert_eq!(registry.credential(r.credential).unwrap().issuance, 1);
    }
    let code = |e: StatusListError| e.code();
    assert_eq!(
        code(
            registry
                .extend_issuance(
                    "card-1",
                    "phone-B",
                    issuance,
                    &[CredentialFormat::Mdoc],
                    &actor("x")
                )
                .unwrap_err()
        ),
        "Registry.SecondDevice"
    );
    assert_eq!(
        code(
            registry
                .extend_issuance(
                    "card-9",
                    "phone-A",
                    1,
                    &[CredentialFormat::Mdoc],
                    &actor("x")
                )
                .unwrap_err()
        ),
        "Registry.UnknownCard"
    );
    // A later issuance supersedes the parts; joining the old one is refused.
    let (second, _) = registry
        .open_issuance(
            "card-1",
            "phone-A",
            &[CredentialFormat::Mdoc],
            None,
            &actor("re-issue"),
        )
        .unwrap();
    assert_eq!(second, 2);
    assert!(
        mdoc.iter()
            .chain(&sd_jwt)
            .all(|r| status(r) == TokenStatus::Invalid)
    );
    assert_eq!(
        code(
            registry
                .extend_issuance(
                    "card-1",
                    "phone-A",
                    issuance,
                    &[CredentialFormat::SdJwtVc],
                    &actor("x")
                )
                .unwrap_err()
        ),
        "Registry.Superseded"
    );
    // A lost card takes no part.
    registry
        .report_card_lost("card-1", &actor("card lost"))
        .unwrap();
    assert_eq!(
        code(
            registry
                .extend_issuance(
                    "card-1",
                    "phone-A",
                    second,
                    &[CredentialFormat::SdJwtVc],
                    &actor("x")
                )
                .unwrap_err()
        ),
        "Registry.CardLost"
    );
}

#[test]
fn an_issuance_in_parts_in_memory() {
    issuance_in_parts(MemoryStore::new());
}

#[test]
fn an_issuance_in_parts_on_sqlite() {
    issuance_in_parts(SqliteStore::open_in_memory().unwrap());
}

/// Lists of 8 entries filled to the last: the random draws hit taken indices more and more
/// (the store refuses them and the registry draws again), every index is handed out once, and
/// the ninth credential opens the second list.
fn full_lists<S: RegistryStore>(store: S) {
    let registry = StatusRegistry::new(
        store,
        RegistryConfig {
            list_size: 8,
            list_capacity: 8,
            ..config()
        },
        Arc::new(SeededRandom::new(b"full lists")),
    );
    let mut places = std::collections::BTreeSet::new();
    for i in 0..12 {
        let r = registry
            .register(
                &format!("card-{i}"),
                &format!("phone-{i}"),
                CredentialFormat::Mdoc,
                &actor("issued"),
            )
            .unwrap();
        assert!(r.reference.idx < 8, "{r:?}");
        assert!(
            places.insert((r.reference.uri.clone(), r.reference.idx)),
            "{r:?} twice"
        );
    }
    let lists = registry.lists().unwrap();
    assert_eq!(lists.len(), 2, "{lists:?}");
    // The store's count of the log agrees with the log (12 registrations, 12 events).
    let events = registry.events(0).unwrap();
    assert_eq!(events.len(), 12);
    let highest = events.last().unwrap().seq;
    assert_eq!(registry.event_mark(0).unwrap(), (highest, 12));
    assert_eq!(registry.event_mark(highest).unwrap(), (highest, 1));
    assert_eq!(registry.event_mark(highest + 1).unwrap(), (0, 0));
    assert_eq!(
        places
            .iter()
            .filter(|(uri, _)| *uri == lists[0].uri)
            .count(),
        8
    );
}

#[test]
fn full_lists_in_memory_and_on_sqlite() {
    full_lists(MemoryStore::new());
    full_lists(SqliteStore::open_in_memory().unwrap());
}

/// IC chips: enrolled with the card data's digest, kept through a loss that ends in the card
/// being found, retired for good when the card is replaced or another chip is enrolled.
fn chips<S: RegistryStore>(store: S) {
    let registry = StatusRegistry::new(store, config(), Arc::new(SeededRandom::new(b"chips")));
    let refused = |e: StatusListError| match e {
        StatusListError::Registry(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        refused(registry.chip_for_tap("card-1").unwrap_err()),
        RegistryError::ChipNotEnrolled
    );
    registry
        .enroll_chip("card-1", b"chip-A", b"digest-1", &actor("card made"))
        .unwrap();
    let chip = registry.chip_for_tap("card-1").unwrap();
    assert_eq!(
        (chip.chip_key.as_slice(), chip.card_digest.as_slice()),
        (&b"chip-A"[..], &b"digest-1"[..])
    );
    // The same chip re-enrolled with updated data keeps its key and takes the new digest.
    registry
        .enroll_chip(
            "card-1",
            b"chip-A",
            b"digest-2",
            &actor("address updated on the chip"),
        )
        .unwrap();
    assert_eq!(
        registry.chip_for_tap("card-1").unwrap().card_digest,
        b"digest-2"
    );
    assert!(registry.retired_chips("card-1").unwrap().is_empty());
    // Lost: no tap; found: the same chip.
    registry
        .report_card_lost("card-1", &actor("card lost"))
        .unwrap();
    assert_eq!(
        refused(registry.chip_for_tap("card-1").unwrap_err()),
        RegistryError::CardLost
    );
    assert_eq!(
        refused(
            registry
                .enroll_chip("card-1", b"chip-B", b"digest-2", &actor("enrol"))
                .unwrap_err()
        ),
        RegistryError::CardLost
    );
    registry
        .reinstate_card("card-1", &actor("card found"))
        .unwrap();
    assert_eq!(registry.chip_for_tap("card-1").unwrap().chip_key, b"chip-A");
    // Replaced: the old chip is retired at once, and never enrolled again.
    registry
        .report_card_lost("card-1", &actor("card lost"))
        .unwrap();
    registry
        .replace_card("card-1", &actor("replacement"))
        .unwrap();
    assert_eq!(
        refused(registry.chip_for_tap("card-1").unwrap_err()),
        RegistryError::ChipNotEnrolled
    );
    assert_eq!(
        registry.retired_chips("card-1").unwrap(),
        [b"chip-A".to_vec()]
    );
    assert_eq!(
        refused(
            registry
                .enroll_chip("card-1", b"chip-A", b"digest-2", &actor("enrol"))
                .unwrap_err()
        ),
        RegistryError::ChipRetired
    );
    // Nor for another card.
    assert_eq!(
        refused(
            registry
                .enroll_chip("card-2", b"chip-A", b"digest-9", &actor("enrol"))
                .unwrap_err()
        ),
        RegistryError::ChipRetired
    );
    registry
        .enroll_chip("card-1", b"chip-B", b"digest-2", &actor("new card made"))
        .unwrap();
    // Re-enrolling another chip retires the one it replaces.
    registry
        .enroll_chip("card-1", b"chip-C", b"digest-2", &actor("re-enrolment"))
        .unwrap();
    assert_eq!(registry.chip_for_tap("card-1").unwrap().chip_key, b"chip-C");
    let mut retired = registry.retired_chips("card-1").unwrap();
    retired.sort();
    assert_eq!(retired, [b"chip-A".to_vec(), b"chip-B".to_vec()]);
    assert_eq!(registry.audit().unwrap(), 0);
}

#[test]
fn chips_in_memory() {
    chips(MemoryStore::new());
}

#[test]
fn chips_on_sqlite() {
    chips(SqliteStore::open_in_memory().unwrap());
}

#[test]
fn a_new_issuance_supersedes_the_cards_earlier_credentials_in_memory() {
    supersede(MemoryStore::new());
}

#[test]
fn a_new_issuance_supersedes_the_cards_earlier_credentials_on_sqlite() {
    supersede(SqliteStore::open_in_memory().unwrap());
}

#[test]
fn lifecycle_on_sqlite_with_jwt_tokens() {
    scenario(SqliteStore::open_in_memory().unwrap(), TokenFormat::Jwt);
}

#[test]
fn lifecycle_on_sqlite_with_cwt_tokens() {
    scenario(SqliteStore::open_in_memory().unwrap(), TokenFormat::Cwt);
}

#[test]
fn lifecycle_in_memory() {
    scenario(MemoryStore::new(), TokenFormat::Jwt);
}

/// A registry of its own on the test cluster (`KMID_POSTGRES_URL`, which the README's test
/// command starts): a fresh namespace per test. `None` without the cluster.
#[cfg(feature = "postgres")]
fn postgres(tag: &str) -> Option<kmid_status::postgres::PostgresStore> {
    let Ok(url) = std::env::var("KMID_POSTGRES_URL") else {
        eprintln!("KMID_POSTGRES_URL is not set: the PostgreSQL registry checks nothing");
        return None;
    };
    let namespace = format!(
        "t_{tag}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    Some(
        kmid_status::postgres::PostgresStore::connect(
            &kmid_status::postgres::Database::new(url),
            &namespace,
            2,
        )
        .unwrap(),
    )
}

#[cfg(feature = "postgres")]
#[test]
fn lifecycle_on_postgres_with_jwt_and_cwt_tokens() {
    if let Some(store) = postgres("lifecycle_jwt") {
        scenario(store, TokenFormat::Jwt);
    }
    if let Some(store) = postgres("lifecycle_cwt") {
        scenario(store, TokenFormat::Cwt);
    }
}

#[cfg(feature = "postgres")]
#[test]
fn the_other_rules_on_postgres() {
    if let Some(store) = postgres("supersede") {
        supersede(store);
    }
    if let Some(store) = postgres("parts") {
        issuance_in_parts(store);
    }
    if let Some(store) = postgres("chips") {
        chips(store);
    }
    if let Some(store) = postgres("full") {
        full_lists(store);
    }
}

#[test]
fn a_list_signed_under_another_authority_speaks_for_none_of_this_issuers_cards() {
    let pki = TestPki::new();
    let served = common::Served::default();
    let resolver = common::resolver(&pki, &served, TokenFormat::Cwt);
    let registry = StatusRegistry::new(
        SqliteStore::open_in_memory().unwrap(),
        config(),
        Arc::new(SeededRandom::new(b"cross")),
    );
    let card = Card::from(samples::resident());
    let phone = device_key();
    let m = registry
        .register(
            "mois:card:0002",
            "phone",
            CredentialFormat::Mdoc,
            &actor("issuance"),
        )
        .unwrap();
    let mdoc = issue_mdoc(&pki, Authority::Mois, &card, &phone, &m.reference);
    let sdjwt = issue_sdjwt(&pki, Authority::Mois, &card, &phone, &m.reference);
    // The Ministry of Justice's Document Signer — trusted, but for foreigner cards — signs a
    // list at the MOIS URI saying VALID.
    publish(&registry, &pki, Authority::Moj, common::BOTH, &served);
    let err = verify_mdoc(&pki, &mdoc, &phone, &resolver, REFERENCE_TIME).unwrap_err();
    assert!(
        matches!(&err, MdocError::StatusUnavailable(StatusError::InvalidToken { reason, .. }) if *reason == TokenRefusal::AnotherTrustAnchor),
        "{err:?}"
    );
    let err = verify_sdjwt(&pki, &sdjwt, &resolver, REFERENCE_TIME).unwrap_err();
    assert!(
        matches!(&err, SdJwtError::StatusUnavailable(StatusError::InvalidToken { reason, .. }) if *reason == TokenRefusal::AnotherTrustAnchor),
        "{err:?}"
    );
    // Signed by MOIS, it passes.
    publish(&registry, &pki, Authority::Mois, common::BOTH, &served);
    resolver.clear_cache();
    assert_eq!(
        verify_mdoc(&pki, &mdoc, &phone, &resolver, REFERENCE_TIME).unwrap(),
        Some(TokenStatus::Valid)
    );
}

#[test]
fn the_resolver_caches_for_ttl_then_refetches() {
    let pki = TestPki::new();
    let served = common::Served::default();
    let fetches = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = {
        let inner = common::fetcher(&served, TokenFormat::Jwt);
        let fetches = Arc::clone(&fetches);
        move |uri: &str, accept: &str| {
            fetches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            inner(uri, accept)
        }
    };
    let resolver = kmid_status::StatusListResolver::new(
        counted,
        kmid_status::token::TokenKeys::X5c(pki.trust_store()),
        kmid_status::token::TokenPolicy::default(),
    );
    let registry = StatusRegistry::new(
        SqliteStore::open_in_memory().unwrap(),
        config(),
        Arc::new(SeededRandom::new(b"cache")),
    );
    let card = Card::from(samples::resident());
    let phone = device_key();
    let m = registry
        .register(
            "mois:card:0003",
            "phone",
            CredentialFormat::Mdoc,
            &actor("issuance"),
        )
        .unwrap();
    let mdoc = issue_mdoc(&pki, Authority::Mois, &card, &phone, &m.reference);
    publish(&registry, &pki, Authority::Mois, common::BOTH, &served);
    let at = REFERENCE_TIME;
    assert!(verify_mdoc(&pki, &mdoc, &phone, &resolver, at).is_ok());
    registry
        .report_phone_lost("phone", &actor("phone lost"))
        .unwrap();
    publish(&registry, &pki, Authority::Mois, common::BOTH, &served);
    // Within the token's ttl (300 s) the cached list answers: one fetch so far.
    assert!(
        verify_mdoc(
            &pki,
            &mdoc,
            &phone,
            &resolver,
            at + time::Duration::seconds(299)
        )
        .is_ok()
    );
    assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 1);
    // After it, the new list is fetched and the suspension is seen.
    assert_eq!(
        verify_mdoc(
            &pki,
            &mdoc,
            &phone,
            &resolver,
            at + time::Duration::seconds(300)
        )
        .unwrap_err(),
        MdocError::Status(TokenStatus::Suspended)
    );
    assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 2);
    // Nothing served: unavailable, and the credential is refused.
    served.lock().unwrap().clear();
    resolver.clear_cache();
    assert!(matches!(
        verify_mdoc(&pki, &mdoc, &phone, &resolver, at).unwrap_err(),
        MdocError::StatusUnavailable(StatusError::Unavailable { .. })
    ));
}

#[test]
fn an_sd_jwt_vc_takes_its_status_from_a_jwt_token_only() {
    // SD-JWT VC §2.2.2.3: the Status List Token of an SD-JWT VC MUST be a JWT.
    let pki = TestPki::new();
    let registry = StatusRegistry::new(
        SqliteStore::open_in_memory().unwrap(),
        config(),
        Arc::new(SeededRandom::new(b"jwt only")),
    );
    let card = Card::from(samples::resident());
    let phone = device_key();
    let s = registry
        .register(
            "mois:card:0004",
            "phone",
            CredentialFormat::SdJwtVc,
            &actor("issuance"),
        )
        .unwrap();
    let sdjwt = issue_sdjwt(&pki, Authority::Mois, &card, &phone, &s.reference);
    let mdoc = issue_mdoc(&pki, Authority::Mois, &card, &phone, &s.reference);
    // A provider that serves only CWT: the SD-JWT VC's status cannot be had, the mdoc's can.
    let served = common::Served::default();
    publish(
        &registry,
        &pki,
        Authority::Mois,
        &[TokenFormat::Cwt],
        &served,
    );
    let resolver = common::resolver(&pki, &served, TokenFormat::Cwt);
    assert!(matches!(
        verify_sdjwt(&pki, &sdjwt, &resolver, REFERENCE_TIME).unwrap_err(),
        SdJwtError::StatusUnavailable(StatusError::Unavailable { .. })
    ));
    assert_eq!(
        verify_mdoc(&pki, &mdoc, &phone, &resolver, REFERENCE_TIME).unwrap(),
        Some(TokenStatus::Valid)
    );
    // A provider that ignores Accept and answers CWT anyway: refused for the SD-JWT VC.
    let served_cwt = Arc::clone(&served);
    let careless = kmid_status::StatusListResolver::new(
        move |uri: &str, _: &str| {
            served_cwt
                .lock()
                .unwrap()
                .get(&(uri.to_owned(), TokenFormat::Cwt))
                .cloned()
        },
        kmid_status::token::TokenKeys::X5c(pki.trust_store()),
        kmid_status::token::TokenPolicy::default(),
    );
    let err = verify_sdjwt(&pki, &sdjwt, &careless, REFERENCE_TIME).unwrap_err();
    assert!(
        matches!(&err, SdJwtError::StatusUnavailable(StatusError::InvalidToken { reason, .. }) if *reason == TokenRefusal::FormNotAccepted),
        "{err:?}"
    );
}

#[test]
fn an_index_outside_the_list_is_no_statement() {
    let pki = TestPki::new();
    let registry = StatusRegistry::new(
        SqliteStore::open_in_memory().unwrap(),
        config(),
        Arc::new(SeededRandom::new(b"range")),
    );
    let card = Card::from(samples::resident());
    let phone = device_key();
    let mut r = registry
        .register(
            "mois:card:0005",
            "phone",
            CredentialFormat::Mdoc,
            &actor("issuance"),
        )
        .unwrap();
    r.reference.idx = 4096; // the lists hold 4096 entries: 0..=4095
    let mdoc = issue_mdoc(&pki, Authority::Mois, &card, &phone, &r.reference);
    let served = common::Served::default();
    publish(&registry, &pki, Authority::Mois, common::BOTH, &served);
    let resolver = common::resolver(&pki, &served, TokenFormat::Cwt);
    assert_eq!(
        verify_mdoc(&pki, &mdoc, &phone, &resolver, REFERENCE_TIME).unwrap_err(),
        MdocError::StatusUnavailable(StatusError::IndexOutOfRange {
            uri: r.reference.uri.clone(),
            idx: 4096,
            size: 4096
        })
    );
}

#[test]
fn a_replacement_card_invalidates_at_once_and_frees_the_card_for_a_phone() {
    let pki = TestPki::new();
    let served = common::Served::default();
    let resolver = common::resolver(&pki, &served, TokenFormat::Cwt);
    let registry = StatusRegistry::new(
        SqliteStore::open_in_memory().unwrap(),
        config(),
        Arc::new(SeededRandom::new(b"replace")),
    );
    let card = Card::from(samples::resident());
    let (phone_a, phone_b) = (device_key(), device_key());
    let old = registry
        .register(
            "mois:card:0006",
            "phone-A",
            CredentialFormat::Mdoc,
            &actor("issuance"),
        )
        .unwrap();
    let mdoc = issue_mdoc(&pki, Authority::Mois, &card, &phone_a, &old.reference);
    registry
        .report_card_lost("mois:card:0006", &actor("card lost"))
        .unwrap();
    // One transaction: the old credential goes straight from SUSPENDED to INVALID, the card is
    // normal and free; a new phone takes a new credential.
    assert_eq!(
        registry
            .replace_card("mois:card:0006", &actor("new physical card"))
            .unwrap(),
        1
    );
    assert_eq!(
        registry.status(old.credential).unwrap(),
        TokenStatus::Invalid
    );
    assert_eq!(
        registry.card("mois:card:0006").unwrap().physical,
        PhysicalStatus::Normal
    );
    let new = registry
        .register(
            "mois:card:0006",
            "phone-B",
            CredentialFormat::Mdoc,
            &actor("issuance"),
        )
        .unwrap();
    let mdoc2 = issue_mdoc(&pki, Authority::Mois, &card, &phone_b, &new.reference);
    publish(&registry, &pki, Authority::Mois, common::BOTH, &served);
    assert_eq!(
        verify_mdoc(&pki, &mdoc, &phone_a, &resolver, REFERENCE_TIME).unwrap_err(),
        MdocError::Status(TokenStatus::Invalid)
    );
    assert_eq!(
        verify_mdoc(&pki, &mdoc2, &phone_b, &resolver, REFERENCE_TIME).unwrap(),
        Some(TokenStatus::Valid)
    );
    assert_eq!(registry.audit().unwrap(), 2);
}

#[test]
fn configured_keys_cannot_speak_for_a_credential_that_chains_to_an_iaca() {
    let pki = TestPki::new();
    let served = common::Served::default();
    let registry = StatusRegistry::new(
        SqliteStore::open_in_memory().unwrap(),
        config(),
        Arc::new(SeededRandom::new(b"keys")),
    );
    let card = Card::from(samples::resident());
    let phone = device_key();
    let r = registry
        .register(
            "mois:card:0007",
            "phone",
            CredentialFormat::Mdoc,
            &actor("issuance"),
        )
        .unwrap();
    let mdoc = issue_mdoc(&pki, Authority::Mois, &card, &phone, &r.reference);
    publish(&registry, &pki, Authority::Mois, common::BOTH, &served);
    // The very key that signed the list, configured directly: the list verifies, but it has no
    // chain to bind to the credential's IACA, so the resolver fails closed.
    let keys = kmid_status::token::TokenKeys::Keys(vec![
        common::ds_signer(Authority::Mois).public_key().clone(),
    ]);
    let resolver = kmid_status::StatusListResolver::new(
        common::fetcher(&served, TokenFormat::Cwt),
        keys,
        kmid_status::token::TokenPolicy::default(),
    );
    let err = verify_mdoc(&pki, &mdoc, &phone, &resolver, REFERENCE_TIME).unwrap_err();
    assert!(
        matches!(&err, MdocError::StatusUnavailable(StatusError::InvalidToken { reason, .. }) if *reason == TokenRefusal::SignerNotAnchored),
        "{err:?}"
    );
}

#[test]
fn the_resolver_bounds_a_long_ttl() {
    let pki = TestPki::new();
    let served = common::Served::default();
    let registry = StatusRegistry::new(
        SqliteStore::open_in_memory().unwrap(),
        config(),
        Arc::new(SeededRandom::new(b"ttl")),
    );
    let card = Card::from(samples::resident());
    let phone = device_key();
    let r = registry
        .register(
            "mois:card:0008",
            "phone",
            CredentialFormat::Mdoc,
            &actor("issuance"),
        )
        .unwrap();
    let mdoc = issue_mdoc(&pki, Authority::Mois, &card, &phone, &r.reference);
    publish(&registry, &pki, Authority::Mois, common::BOTH, &served);
    // The tokens say ttl 300; this verifier caches for at most 100 s.
    let policy = kmid_status::token::TokenPolicy {
        max_ttl: 100,
        ..kmid_status::token::TokenPolicy::default()
    };
    let resolver = kmid_status::StatusListResolver::new(
        common::fetcher(&served, TokenFormat::Cwt),
        kmid_status::token::TokenKeys::X5c(pki.trust_store()),
        policy,
    );
    assert!(verify_mdoc(&pki, &mdoc, &phone, &resolver, REFERENCE_TIME).is_ok());
    registry
        .report_phone_lost("phone", &actor("phone lost"))
        .unwrap();
    publish(&registry, &pki, Authority::Mois, common::BOTH, &served);
    assert!(
        verify_mdoc(
            &pki,
            &mdoc,
            &phone,
            &resolver,
            REFERENCE_TIME + time::Duration::seconds(99)
        )
        .is_ok()
    );
    assert_eq!(
        verify_mdoc(
            &pki,
            &mdoc,
            &phone,
            &resolver,
            REFERENCE_TIME + time::Duration::seconds(100)
        )
        .unwrap_err(),
        MdocError::Status(TokenStatus::Suspended)
    );
}
