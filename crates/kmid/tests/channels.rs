//! Issuance channels: the counter QR (OpenID4VCI pre-authorized code, Transaction Code, key
//! proofs; single use; no move to a new phone unless the official re-issues) and the IC card
//! tap (chip signature over a challenge; moves the card to a new phone without a visit).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use kmid::crypto::{Curve, PrivateKey, Signer};
use kmid::schema::Card;
use kmid::schema::status::TokenStatus;
use kmid::status::registry::MemoryStore;
use kmid::status::{RegistryError, StatusListError};
use kmid::{
    ChannelError, Formats, Issuer, IssuingAuthority, KmidError, OfferOptions, PRE_AUTHORIZED_GRANT,
    Wallet, ic_tap_message,
};
use kmid_testkit::samples;
use time::{Duration, OffsetDateTime, macros::datetime};

mod common;
use common::{now, wallet};

fn issuer() -> Issuer<MemoryStore> {
    common::issuer(IssuingAuthority::Mois)
}

fn channel_error(e: KmidError) -> ChannelError {
    match e {
        KmidError::Channel(c) => c,
        other => panic!("expected a channel error, got {other:?}"),
    }
}

/// Scans `offer`, redeems it with `tx_code`, proves `wallet`'s key and stores the result.
fn redeem(
    issuer: &Issuer<MemoryStore>,
    wallet: &mut Wallet,
    code: &str,
    tx_code: Option<&str>,
) -> Result<Vec<kmid::Issued>, KmidError> {
    let token = issuer.token(code, tx_code, now())?;
    let proof = wallet.key_proof(&issuer.credential_issuer(), &token.c_nonce, now())?;
    let issued = issuer.credential(&token.access_token, &[proof], now())?;
    for set in &issued {
        if let Some(m) = &set.mdoc {
            wallet.store_mdoc(m.issuer_signed.clone(), now())?;
        }
        if let Some(s) = &set.sd_jwt {
            wallet.store_sd_jwt(&s.sd_jwt.to_compact(), now())?;
        }
    }
    Ok(issued)
}

#[test]
fn a_counter_qr_is_an_openid4vci_offer_redeemed_once() {
    let mois = issuer();
    let mut phone = wallet(&mois);
    let card = Card::from(samples::resident());
    let offer = mois
        .counter_offer(&card, &OfferOptions::default(), now())
        .unwrap();
    // The QR code carries the Credential Offer by value.
    assert!(
        offer
            .uri
            .starts_with("openid-credential-offer://?credential_offer=%7B%22")
    );
    assert_eq!(
        offer.offer["credential_issuer"],
        mois.credential_issuer().as_str()
    );
    assert_eq!(
        offer.offer["credential_configuration_ids"],
        serde_json::json!(["kr.go.mois.rrc.1.mso_mdoc", "kr.go.mois.rrc.1.dc+sd-jwt"])
    );
    assert_eq!(
        offer.offer["grants"][PRE_AUTHORIZED_GRANT]["tx_code"]["length"],
        6
    );
    let code = offer.pre_authorized_code().unwrap().to_owned();
    let tx = offer.tx_code.clone().unwrap();
    assert_eq!(tx.len(), 6);
    assert!(tx.bytes().all(|b| b.is_ascii_digit()));

    let issued = redeem(&mois, &mut phone, &code, Some(&tx)).unwrap();
    assert_eq!(issued.len(), 1);
    assert!(issued[0].mdoc.is_some() && issued[0].sd_jwt.is_some());
    // Single use: the code is gone.
    assert_eq!(
        channel_error(mois.token(&code, Some(&tx), now()).unwrap_err()),
        ChannelError::InvalidGrant("pre-authorized code")
    );
}

#[test]
fn the_transaction_code_is_required_and_three_wrong_ones_burn_the_offer() {
    let mois = issuer();
    let card = Card::from(samples::resident());
    let offer = mois
        .counter_offer(&card, &OfferOptions::default(), now())
        .unwrap();
    let code = offer.pre_authorized_code().unwrap();
    let right = offer.tx_code.clone().unwrap();
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    assert_eq!(
        channel_error(mois.token(code, None, now()).unwrap_err()),
        ChannelError::TxCode
    );
    assert_eq!(
        channel_error(mois.token(code, Some(wrong), now()).unwrap_err()),
        ChannelError::TxCode
    );
    assert_eq!(
        channel_error(mois.token(code, Some(wrong), now()).unwrap_err()),
        ChannelError::TxCode
    );
    // The third failure burnt it: the right code no longer helps.
    assert_eq!(
        channel_error(mois.token(code, Some(&right), now()).unwrap_err()),
        ChannelError::InvalidGrant("pre-authorized code")
    );
}

#[test]
fn an_offer_lapses_and_an_access_token_is_single_use() {
    let mois = issuer();
    let phone = wallet(&mois);
    let card = Card::from(samples::resident());
    let options = OfferOptions {
        tx_code: false,
        ..OfferOptions::default()
    };
    let offer = mois.counter_offer(&card, &options, now()).unwrap();
    let code = offer.pre_authorized_code().unwrap();
    assert_eq!(
        channel_error(
            mois.token(code, None, now() + Duration::minutes(6))
                .unwrap_err()
        ),
        ChannelError::InvalidGrant("pre-authorized code")
    );

    let offer = mois.counter_offer(&card, &options, now()).unwrap();
    let token = mois
        .token(offer.pre_authorized_code().unwrap(), None, now())
        .unwrap();
    let proof = phone
        .key_proof(&mois.credential_issuer(), &token.c_nonce, now())
        .unwrap();
    mois.credential(&token.access_token, std::slice::from_ref(&proof), now())
        .unwrap();
    assert_eq!(
        channel_error(
            mois.credential(&token.access_token, &[proof], now())
                .unwrap_err()
        ),
        ChannelError::InvalidGrant("access token")
    );
}

#[test]
fn key_proofs_are_checked_for_nonce_audience_time_type_and_key() {
    let mois = issuer();
    let phone = wallet(&mois);
    let card = Card::from(samples::resident());
    let options = OfferOptions {
        tx_code: false,
        ..OfferOptions::default()
    };
    let proof_error = |make: &dyn Fn(&str) -> String| {
        let offer = mois.counter_offer(&card, &options, now()).unwrap();
        let token = mois
            .token(offer.pre_authorized_code().unwrap(), None, now())
            .unwrap();
        let proof = make(&token.c_nonce);
        channel_error(
            mois.credential(&token.access_token, &[proof], now())
                .unwrap_err(),
        )
    };
    let aud = mois.credential_issuer();
    assert_eq!(
        proof_error(&|_| phone.key_proof(&aud, "another nonce", now()).unwrap()),
        ChannelError::InvalidProof("nonce is not the c_nonce")
    );
    assert_eq!(
        proof_error(&|n| { phone.key_proof("https://evil.example", n, now()).unwrap() }),
        ChannelError::InvalidProof("aud is not this credential issuer")
    );
    assert_eq!(
        proof_error(&|n| {
            phone
                .key_proof(&aud, n, now() - Duration::minutes(10))
                .unwrap()
        }),
        ChannelError::InvalidProof("iat outside five minutes")
    );
    // A proof whose signature was made by another key than its jwk header names.
    let other = wallet(&mois);
    assert_eq!(
        proof_error(&|n| {
            let good = phone.key_proof(&aud, n, now()).unwrap();
            let forged = other.key_proof(&aud, n, now()).unwrap();
            let (head, _) = good.split_once('.').unwrap();
            let (_, rest) = forged.split_once('.').unwrap();
            format!("{head}.{rest}")
        }),
        ChannelError::InvalidProof("signature")
    );
    // Another typ.
    assert_eq!(
        proof_error(&|n| {
            let signer: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
            let mut header = serde_json::Map::new();
            header.insert("typ".into(), "JWT".into());
            let payload =
                serde_json::json!({"aud": aud, "iat": now().unix_timestamp(), "nonce": n});
            kmid::crypto::jose::sign_compact(header, payload.to_string().as_bytes(), &signer)
                .unwrap()
        }),
        ChannelError::InvalidProof("typ is not openid4vci-proof+jwt")
    );
    assert_eq!(
        proof_error(&|_| "not a jws".into()),
        ChannelError::InvalidProof("not a compact JWS")
    );
}

#[test]
fn the_qr_path_moves_a_card_to_a_new_phone_only_when_the_official_reissues() {
    let mois = issuer();
    let card = Card::from(samples::resident());
    let options = OfferOptions {
        tx_code: false,
        ..OfferOptions::default()
    };
    let mut old_phone = wallet(&mois);
    let offer = mois.counter_offer(&card, &options, now()).unwrap();
    let first = redeem(
        &mois,
        &mut old_phone,
        offer.pre_authorized_code().unwrap(),
        None,
    )
    .unwrap();

    // A new phone scanning an ordinary offer is refused: the card is on the old phone.
    let mut new_phone = wallet(&mois);
    let offer = mois.counter_offer(&card, &options, now()).unwrap();
    let err = redeem(
        &mois,
        &mut new_phone,
        offer.pre_authorized_code().unwrap(),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            KmidError::Status(StatusListError::Registry(RegistryError::SecondDevice))
        ),
        "{err:?}"
    );
    // The official re-issues at the counter: the card moves, the old phone's credentials die.
    let reissue = OfferOptions {
        reissue: true,
        ..options
    };
    let offer = mois.counter_offer(&card, &reissue, now()).unwrap();
    redeem(
        &mois,
        &mut new_phone,
        offer.pre_authorized_code().unwrap(),
        None,
    )
    .unwrap();
    let old = first[0].mdoc.as_ref().unwrap().credential;
    assert_eq!(mois.registry().status(old).unwrap(), TokenStatus::Invalid);
}

#[test]
fn an_ic_card_tap_issues_and_moves_the_card_without_a_visit() {
    let mois = issuer();
    let card = Card::from(samples::resident());
    let chip = PrivateKey::generate(Curve::P256).unwrap();
    let tap = |phone: &Wallet, at: OffsetDateTime| {
        let challenge = mois.ic_challenge(at).unwrap();
        let message = ic_tap_message(
            kmid::crypto::CryptoProvider::get_default(),
            &challenge.nonce,
            phone.device_key(),
            "kr.go.mois.rrc.1",
        )
        .unwrap();
        (challenge.nonce, chip.sign(&message).unwrap())
    };
    let old_phone = wallet(&mois);
    // Not enrolled yet.
    let (challenge, signature) = tap(&old_phone, now());
    assert_eq!(
        channel_error(
            mois.issue_by_ic_card(
                &card,
                &challenge,
                &signature,
                old_phone.device_key(),
                Formats::Both,
                now()
            )
            .unwrap_err()
        ),
        ChannelError::IcNotEnrolled
    );
    mois.enroll_ic_card(&card, chip.public_key(), now())
        .unwrap();
    let (challenge, signature) = tap(&old_phone, now());
    let first = mois
        .issue_by_ic_card(
            &card,
            &challenge,
            &signature,
            old_phone.device_key(),
            Formats::Both,
            now(),
        )
        .unwrap();
    // The challenge is single-use.
    assert_eq!(
        channel_error(
            mois.issue_by_ic_card(
                &card,
                &challenge,
                &signature,
                old_phone.device_key(),
                Formats::Both,
                now()
            )
            .unwrap_err()
        ),
        ChannelError::InvalidGrant("IC challenge")
    );
    // A chip signature made for the old phone does not issue to another phone.
    let new_phone = wallet(&mois);
    let (challenge, signature) = tap(&old_phone, now());
    assert_eq!(
        channel_error(
            mois.issue_by_ic_card(
                &card,
                &challenge,
                &signature,
                new_phone.device_key(),
                Formats::Both,
                now()
            )
            .unwrap_err()
        ),
        ChannelError::IcSignature
    );
    // Tapping the card on the new phone moves it there; the old phone's credentials die.
    let (challenge, signature) = tap(&new_phone, now());
    mois.issue_by_ic_card(
        &card,
        &challenge,
        &signature,
        new_phone.device_key(),
        Formats::Both,
        now(),
    )
    .unwrap();
    for old in [
        first.mdoc.as_ref().unwrap().credential,
        first.sd_jwt.as_ref().unwrap().credential,
    ] {
        assert_eq!(mois.registry().status(old).unwrap(), TokenStatus::Invalid);
    }
    // The chip vouches for the enrolled card only: changed card data is refused.
    let mut forged = serde_json::to_value(&card).unwrap();
    forged["issuing_authority"] = serde_json::json!("서울특별시 중구청장");
    if let Ok(forged) = serde_json::from_value::<Card>(forged) {
        let (challenge, signature) = tap(&new_phone, now());
        assert_eq!(
            channel_error(
                mois.issue_by_ic_card(
                    &forged,
                    &challenge,
                    &signature,
                    new_phone.device_key(),
                    Formats::Both,
                    now()
                )
                .unwrap_err()
            ),
            ChannelError::IcCardMismatch
        );
    } else {
        panic!("the forged card should still be a valid card");
    }
    // An expired challenge.
    let challenge = mois.ic_challenge(now()).unwrap();
    let message = ic_tap_message(
        kmid::crypto::CryptoProvider::get_default(),
        &challenge.nonce,
        new_phone.device_key(),
        "kr.go.mois.rrc.1",
    )
    .unwrap();
    let signature = chip.sign(&message).unwrap();
    assert_eq!(
        channel_error(
            mois.issue_by_ic_card(
                &card,
                &challenge.nonce,
                &signature,
                new_phone.device_key(),
                Formats::Both,
                now() + Duration::minutes(3)
            )
            .unwrap_err()
        ),
        ChannelError::InvalidGrant("IC challenge")
    );
}

#[test]
fn one_key_proof_per_token_and_an_offer_without_tx_code_takes_none() {
    let mois = issuer();
    let card = Card::from(samples::resident());
    let options = OfferOptions {
        tx_code: false,
        ..OfferOptions::default()
    };
    let offer = mois.counter_offer(&card, &options, now()).unwrap();
    let code = offer.pre_authorized_code().unwrap();
    assert_eq!(
        channel_error(mois.token(code, Some("123456"), now()).unwrap_err()),
        ChannelError::TxCode
    );
    let token = mois.token(code, None, now()).unwrap();
    // Two keys, possibly on two phones: refused (nothing attests they share a device).
    let proofs: Vec<String> = (0..2)
        .map(|_| {
            wallet(&mois)
                .key_proof(&mois.credential_issuer(), &token.c_nonce, now())
                .unwrap()
        })
        .collect();
    assert_eq!(
        channel_error(
            mois.credential(&token.access_token, &proofs, now())
                .unwrap_err()
        ),
        ChannelError::InvalidProof("exactly one proof")
    );
}

#[test]
fn a_key_proof_with_an_extreme_iat_is_refused_not_a_panic() {
    let mois = issuer();
    let card = Card::from(samples::resident());
    let options = OfferOptions {
        tx_code: false,
        ..OfferOptions::default()
    };
    let offer = mois.counter_offer(&card, &options, now()).unwrap();
    let token = mois
        .token(offer.pre_authorized_code().unwrap(), None, now())
        .unwrap();
    let signer: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), kmid::KEY_PROOF_TYP.into());
    header.insert(
        "jwk".into(),
        serde_json::to_value(signer.public_key().to_jwk()).unwrap(),
    );
    let payload = serde_json::json!({
        "aud": mois.credential_issuer(),
        "iat": i64::MIN + now().unix_timestamp(),
        "nonce": token.c_nonce,
    });
    let proof =
        kmid::crypto::jose::sign_compact(header, payload.to_string().as_bytes(), &signer).unwrap();
    assert_eq!(
        channel_error(
            mois.credential(&token.access_token, &[proof], now())
                .unwrap_err()
        ),
        ChannelError::InvalidProof("iat outside five minutes")
    );
}

#[test]
fn a_holder_under_the_minimum_age_is_not_eligible() {
    let mois = issuer();
    let minor = Card::from(samples::resident_minor());
    // Born 2008-02-29: 16 on 2025-02-15.
    let err = mois
        .counter_offer(
            &minor,
            &OfferOptions::default(),
            datetime!(2025-02-15 3:00 UTC),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            KmidError::NotEligible {
                minimum: 17,
                age: 16
            }
        ),
        "{err:?}"
    );
}

#[test]
fn the_overseas_national_id_has_no_ic_card_channel() {
    // Issued in person at a mission only: there is no chip to enroll or tap.
    let mission = common::issuer(IssuingAuthority::Oka);
    let card = Card::from(samples::overseas_national());
    let chip = PrivateKey::generate(Curve::P256).unwrap();
    assert_eq!(
        channel_error(
            mission
                .enroll_ic_card(&card, chip.public_key(), now())
                .unwrap_err()
        ),
        ChannelError::NoIcCard(kmid::schema::CardType::OverseasNational)
    );
    let phone = wallet(&mission);
    let challenge = mission.ic_challenge(now()).unwrap();
    let message = ic_tap_message(
        kmid::crypto::CryptoProvider::get_default(),
        &challenge.nonce,
        phone.device_key(),
        "kr.go.oka.onid.1",
    )
    .unwrap();
    let err = mission
        .issue_by_ic_card(
            &card,
            &challenge.nonce,
            &chip.sign(&message).unwrap(),
            phone.device_key(),
            Formats::Both,
            now(),
        )
        .unwrap_err();
    assert_eq!(
        err.code(),
        "Channel.NoIcCard",
        "refused before the challenge is spent"
    );
}

/// An issuer of MOIS cards over the SQLite registry at `path`, with `keys` and `secret`: what a
/// restarted issuing process opens.
fn issuer_on_file(
    path: &std::path::Path,
    keys: &kmid::AuthorityKeys,
    secret: &kmid::CardKeySecret,
) -> Issuer<kmid::status::registry::SqliteStore> {
    let random = Arc::new(kmid::crypto::SystemRandom);
    let registry = kmid::status::registry::StatusRegistry::new(
        kmid::status::registry::SqliteStore::open(path, kmid::status::registry::Durability::Normal)
            .unwrap(),
        kmid::status::registry::RegistryConfig::new("https://status.example/lists"),
        random.clone(),
    );
    Issuer::new(keys.clone(), registry, secret.clone(), random)
}

#[test]
fn chip_keys_persist_a_found_card_keeps_its_chip_and_a_replaced_cards_chip_is_retired() {
    let dir = std::env::temp_dir().join(format!("kmid-chips-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("registry.sqlite3");
    let _ = std::fs::remove_file(&db);
    let random = kmid::crypto::SystemRandom;
    let keys = kmid::AuthorityKeys::generate(IssuingAuthority::Mois, now(), &random).unwrap();
    let secret = kmid::CardKeySecret::generate(&random).unwrap();
    let card = Card::from(samples::resident());
    let old_chip = PrivateKey::generate(Curve::P256).unwrap();
    let officer = |reason| kmid::status::registry::Actor {
        who: "jongno-1",
        at: now(),
        reason,
    };
    let tap = |mois: &Issuer<_>, chip: &PrivateKey, phone: &Wallet| {
        let challenge = mois.ic_challenge(now()).unwrap();
        let message = ic_tap_message(
            kmid::crypto::CryptoProvider::get_default(),
            &challenge.nonce,
            phone.device_key(),
            "kr.go.mois.rrc.1",
        )
        .unwrap();
        mois.issue_by_ic_card(
            &card,
            &challenge.nonce,
            &chip.sign(&message).unwrap(),
            phone.device_key(),
            Formats::Mdoc,
            now(),
        )
    };
    {
        let mois = issuer_on_file(&db, &keys, &secret);
        mois.enroll_ic_card(&card, old_chip.public_key(), now())
            .unwrap();
    }
    // The issuing process restarts: the enrolled chip is in the registry, not in its memory.
    let mois = issuer_on_file(&db, &keys, &secret);
    let phone = Wallet::new(
        PrivateKey::generate(Curve::P256).unwrap(),
        kmid::trust_store([&keys]).unwrap(),
    );
    tap(&mois, &old_chip, &phone).unwrap();
    let card_key = mois.card_key(&card).unwrap();

    // Lost: taps are refused while it is lost; found again, the same chip taps as before.
    mois.registry()
        .report_card_lost(&card_key, &officer("card lost"))
        .unwrap();
    assert_eq!(
        tap(&mois, &old_chip, &phone).unwrap_err().code(),
        "Status.Registry.CardLost"
    );
    mois.registry()
        .reinstate_card(&card_key, &officer("card found"))
        .unwrap();
    tap(&mois, &old_chip, &phone).unwrap();

    // Lost for good and replaced: the old (perhaps stolen) card's chip is retired at once,
    // before any new chip is enrolled, and stays retired after.
    mois.registry()
        .report_card_lost(&card_key, &officer("card lost"))
        .unwrap();
    mois.registry()
        .replace_card(&card_key, &officer("replacement card"))
        .unwrap();
    let thief = Wallet::new(
        PrivateKey::generate(Curve::P256).unwrap(),
        kmid::trust_store([&keys]).unwrap(),
    );
    assert_eq!(
        channel_error(tap(&mois, &old_chip, &thief).unwrap_err()),
        ChannelError::IcChipRetired
    );
    let new_chip = PrivateKey::generate(Curve::P256).unwrap();
    // A chip that was never enrolled is not "retired": just a bad signature (no chip yet).
    assert_eq!(
        channel_error(tap(&mois, &new_chip, &thief).unwrap_err()),
        ChannelError::IcNotEnrolled
    );
    mois.enroll_ic_card(&card, new_chip.public_key(), now())
        .unwrap();
    assert_eq!(
        channel_error(tap(&mois, &old_chip, &thief).unwrap_err()),
        ChannelError::IcChipRetired
    );
    tap(&mois, &new_chip, &phone).unwrap();
    // A retired chip is never enrolled again, and re-enrolling retires the chip it replaces.
    assert_eq!(
        mois.enroll_ic_card(&card, old_chip.public_key(), now())
            .unwrap_err()
            .code(),
        "Status.Registry.ChipRetired"
    );
    let third_chip = PrivateKey::generate(Curve::P256).unwrap();
    mois.enroll_ic_card(&card, third_chip.public_key(), now())
        .unwrap();
    assert_eq!(
        channel_error(tap(&mois, &new_chip, &phone).unwrap_err()),
        ChannelError::IcChipRetired
    );
    // Every chip change is in the registry's event log.
    let chip_events: Vec<_> = mois
        .registry()
        .events(0)
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.operation {
            kmid::status::registry::Operation::ChipEnroll => Some("enroll"),
            kmid::status::registry::Operation::ChipRetire => Some("retire"),
            _ => None,
        })
        .collect();
    assert_eq!(
        chip_events,
        ["enroll", "retire", "enroll", "retire", "enroll"]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The channels' pending state is in the issuance store: two issuer processes sharing one
/// SQLite store see one offer (made by one, redeemed at the other's token endpoint, its token
/// spent at the first one's credential endpoint); without the shared store they do not.
#[test]
fn the_channels_state_is_shared_through_the_issuance_store() {
    let dir = std::env::temp_dir().join(format!("kmid-channels-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("issuance.sqlite");
    let _ = std::fs::remove_file(&path);
    let shared = |issuer: Issuer<MemoryStore>| {
        issuer.with_issuance_store(Arc::new(
            kmid::oid4vc::store::SqliteIssuanceStore::open(&path).unwrap(),
        ))
    };
    let front = shared(issuer());
    let counter = shared(issuer());
    let alone = issuer();
    let phone = wallet(&front);
    let card = Card::from(samples::resident());
    let offer = front
        .counter_offer(&card, &OfferOptions::default(), now())
        .unwrap();
    let code = offer.pre_authorized_code().unwrap().to_owned();
    let tx = offer.tx_code.clone().unwrap();
    assert_eq!(
        channel_error(alone.token(&code, Some(&tx), now()).unwrap_err()),
        ChannelError::InvalidGrant("pre-authorized code")
    );
    let token = counter.token(&code, Some(&tx), now()).unwrap();
    let proof = phone
        .key_proof(&front.credential_issuer(), &token.c_nonce, now())
        .unwrap();
    let issued = front
        .credential(&token.access_token, &[proof], now())
        .unwrap();
    assert_eq!(issued.len(), 1);
    // Spent for both.
    assert_eq!(
        channel_error(counter.token(&code, Some(&tx), now()).unwrap_err()),
        ChannelError::InvalidGrant("pre-authorized code")
    );
    drop((front, counter));
    std::fs::remove_dir_all(&dir).unwrap();
}
