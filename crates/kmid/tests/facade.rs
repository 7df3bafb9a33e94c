//! The facade's rules: who issues what, expiry, one device per card, what each template
//! asks for and returns, and session binding.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use kmid::crypto::{Curve, PrivateKey};
use kmid::mdoc::model::{Handover, SessionTranscript};
use kmid::schema::catalogue::ClaimId;
use kmid::schema::status::TokenStatus;
use kmid::schema::{Card, IdentityCard};
use kmid::sdjwt::{KeyBindingError, SdJwtError};
use kmid::status::{RegistryError, StatusListError};
use kmid::{
    Formats, IssuingAuthority, KmidError, RecordError, Template, VerificationRecord, Verifier,
};
use kmid_testkit::samples;
use time::Duration;

mod common;
use common::{AllValid, issuer, now, wallet};

#[test]
fn an_authority_issues_only_its_own_card_and_only_unexpired() {
    let mois = issuer(IssuingAuthority::Mois);
    let w = wallet(&mois);
    let foreigner = Card::from(samples::foreigner());
    assert!(matches!(
        mois.issue(&foreigner, w.device_key(), Formats::Both, now())
            .unwrap_err(),
        KmidError::WrongAuthority {
            card: kmid::schema::CardType::Foreigner,
            ..
        }
    ));
    let card = Card::from(samples::resident());
    // The card is valid through its expiry date in Korea (UTC+9): a credential signed at
    // 23:59:58 KST that day is valid for its last second (the mdoc's validUntil is inclusive);
    // at 23:59:59 none would be valid for a second and none is issued; at 00:00 KST the next
    // day the card has expired.
    let kst = time::UtcOffset::from_hms(9, 0, 0).unwrap();
    let last_second = card
        .expiry_date()
        .with_hms(23, 59, 59)
        .unwrap()
        .assume_offset(kst);
    let issued = mois
        .issue(
            &card,
            w.device_key(),
            Formats::Both,
            last_second - Duration::seconds(1),
        )
        .unwrap();
    let mdoc = issued.mdoc.unwrap();
    let mso = mdoc.issuer_signed.issuer_auth.mso().clone();
    assert_eq!(mso.validity_info.valid_until, last_second);
    assert!(matches!(
        mois.issue(&card, w.device_key(), Formats::Mdoc, last_second)
            .unwrap_err(),
        KmidError::InvalidRequest(_)
    ));
    // Refused before anything was registered: the holder's credentials still stand.
    assert_eq!(
        mois.registry().status(mdoc.credential).unwrap(),
        TokenStatus::Valid
    );
    let after_expiry = card
        .expiry_date()
        .next_day()
        .unwrap()
        .with_hms(0, 0, 0)
        .unwrap()
        .assume_offset(kst);
    let other = wallet(&mois);
    assert!(matches!(
        mois.issue(&card, other.device_key(), Formats::Mdoc, after_expiry).unwrap_err(),
        KmidError::CardExpired(d) if d == card.expiry_date()
    ));
}

#[test]
fn one_phone_per_card_and_the_registry_never_sees_the_number() {
    let mois = issuer(IssuingAuthority::Mois);
    let card = Card::from(samples::resident());
    let (a, b) = (wallet(&mois), wallet(&mois));
    mois.issue(&card, a.device_key(), Formats::Both, now())
        .unwrap();
    assert!(matches!(
        mois.issue(&card, b.device_key(), Formats::Mdoc, now())
            .unwrap_err(),
        KmidError::Status(StatusListError::Registry(RegistryError::SecondDevice))
    ));
    let key = mois.card_key(&card).unwrap();
    assert!(!key.contains(&card.registration_number().expose()[..6]));
    assert_eq!(
        mois.registry().card(&key).unwrap().active_device,
        Some(a.device_key().thumbprint_sha256().unwrap())
    );
    // Re-issue moves the card; the new phone may then hold it.
    mois.registry()
        .reissue_to_new_device(
            &key,
            &b.device_key().thumbprint_sha256().unwrap(),
            &kmid::status::registry::Actor {
                who: "t",
                at: now(),
                reason: "new phone",
            },
        )
        .unwrap();
    assert!(
        mois.issue(&card, b.device_key(), Formats::Mdoc, now())
            .is_ok()
    );
}

#[test]
fn a_wallet_refuses_a_credential_for_another_key() {
    let mois = issuer(IssuingAuthority::Mois);
    let (mut a, b) = (wallet(&mois), wallet(&mois));
    let issued = mois
        .issue(
            &Card::from(samples::resident()),
            b.device_key(),
            Formats::Both,
            now(),
        )
        .unwrap();
    assert!(matches!(
        a.store_mdoc(issued.mdoc.unwrap().issuer_signed, now())
            .unwrap_err(),
        KmidError::NotOurKey
    ));
    assert!(matches!(
        a.store_sd_jwt(&issued.sd_jwt.unwrap().sd_jwt.to_compact(), now())
            .unwrap_err(),
        KmidError::NotOurKey
    ));
}

#[test]
fn each_template_returns_exactly_its_claims_in_both_formats() {
    for authority in IssuingAuthority::ALL {
        let issuer = issuer(authority);
        let card = samples::all()
            .into_iter()
            .find(|c| c.card_type() == authority.card_type())
            .unwrap();
        let mut w = wallet(&issuer);
        let issued = issuer
            .issue(&card, w.device_key(), Formats::Both, now())
            .unwrap();
        w.store_mdoc(issued.mdoc.unwrap().issuer_signed, now())
            .unwrap();
        w.store_sd_jwt(&issued.sd_jwt.unwrap().sd_jwt.to_compact(), now())
            .unwrap();
        let verifier = Verifier::new(
            kmid::trust_store([issuer.keys()]).unwrap(),
            Arc::new(AllValid),
        );
        for template in [
            Template::AgeCheck,
            Template::Identity,
            Template::FullIdentity {
                legal_basis: "Real Name Financial Transactions Act, Art. 3".into(),
            },
        ] {
            let mut expected: Vec<ClaimId> = template.claims().to_vec();
            expected.sort();
            let request = template.mdoc_request(card.card_type());
            let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
            let response = w.respond_mdoc(&request, &transcript, now()).unwrap();
            if matches!(template, Template::FullIdentity { .. }) {
                // Unauthenticated requests never get the registration number (PIPA Art.
                // 24-2; tests/registration.rs has the authenticated, registered ones): the
                // mdoc reports it not returned, and the SD-JWT VC wallet refuses.
                assert_eq!(
                    verifier
                        .verify_mdoc(&request, &response.to_bytes(), &transcript, now())
                        .unwrap_err()
                        .code(),
                    "Mdoc.NotReturned"
                );
                let request =
                    template.sd_jwt_request(card.card_type(), "nonce-1", "https://rp.example");
                assert_eq!(
                    w.present_sd_jwt(&request, now()).unwrap_err().code(),
                    "Withheld"
                );
                continue;
            }
            let seen = verifier
                .verify_mdoc(&request, &response.to_bytes(), &transcript, now())
                .unwrap();
            let mut got: Vec<ClaimId> = seen[0].claims.iter().map(|(id, _)| *id).collect();
            got.sort();
            assert_eq!(got, expected, "{authority:?} mdoc {}", template.name());
            assert_eq!(seen[0].status, Some(TokenStatus::Valid));

            let request =
                template.sd_jwt_request(card.card_type(), "nonce-1", "https://rp.example");
            let presentation = w.present_sd_jwt(&request, now()).unwrap();
            let seen = verifier
                .verify_sd_jwt(&request, &presentation, now())
                .unwrap();
            let mut got: Vec<ClaimId> = seen.claims.iter().map(|(id, _)| *id).collect();
            got.sort();
            assert_eq!(got, expected, "{authority:?} SD-JWT VC {}", template.name());
            let number = seen
                .claim(ClaimId::RegistrationNumber)
                .and_then(|v| v.as_str())
                .map(str::to_owned);
            assert_eq!(number, None);
        }
    }
}

#[test]
fn a_presentation_is_bound_to_its_request() {
    let mois = issuer(IssuingAuthority::Mois);
    let card = Card::from(samples::resident());
    let mut w = wallet(&mois);
    let issued = mois
        .issue(&card, w.device_key(), Formats::SdJwtVc, now())
        .unwrap();
    w.store_sd_jwt(&issued.sd_jwt.unwrap().sd_jwt.to_compact(), now())
        .unwrap();
    let verifier = Verifier::new(
        kmid::trust_store([mois.keys()]).unwrap(),
        Arc::new(AllValid),
    );
    let request =
        Template::AgeCheck.sd_jwt_request(card.card_type(), "nonce-A", "https://rp.example");
    let presentation = w.present_sd_jwt(&request, now()).unwrap();
    let replayed =
        Template::AgeCheck.sd_jwt_request(card.card_type(), "nonce-B", "https://rp.example");
    assert!(matches!(
        verifier
            .verify_sd_jwt(&replayed, &presentation, now())
            .unwrap_err(),
        KmidError::SdJwt(SdJwtError::KeyBinding(KeyBindingError::NonceMismatch))
    ));
    // Ten minutes later the Key Binding JWT is stale.
    assert!(matches!(
        verifier
            .verify_sd_jwt(&request, &presentation, now() + Duration::minutes(10))
            .unwrap_err(),
        KmidError::SdJwt(SdJwtError::KeyBinding(KeyBindingError::Stale { .. }))
    ));
}

#[test]
fn a_verification_record_verifies_and_fails_after_any_byte_changes() {
    let mois = issuer(IssuingAuthority::Mois);
    let card = Card::from(samples::resident());
    let mut w = wallet(&mois);
    let issued = mois
        .issue(&card, w.device_key(), Formats::SdJwtVc, now())
        .unwrap();
    w.store_sd_jwt(&issued.sd_jwt.unwrap().sd_jwt.to_compact(), now())
        .unwrap();
    let verifier = Verifier::new(
        kmid::trust_store([mois.keys()]).unwrap(),
        Arc::new(AllValid),
    );
    let request =
        Template::AgeCheck.sd_jwt_request(card.card_type(), "nonce-R", "https://cu.example");
    let presentation = w.present_sd_jwt(&request, now()).unwrap();
    let seen = verifier
        .verify_sd_jwt(&request, &presentation, now())
        .unwrap();
    let record = VerificationRecord::new(
        &seen,
        "https://cu.example",
        "age check for alcohol",
        None,
        now(),
    )
    .unwrap();
    let verifier_key: Arc<dyn kmid::crypto::Signer> =
        Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let signed = record.sign(&verifier_key).unwrap();
    let back = VerificationRecord::verify(&signed, verifier_key.public_key()).unwrap();
    assert_eq!(back, record);
    assert_eq!(
        back.claims.get("age_over_19"),
        Some(&serde_json::json!(true))
    );
    assert!(back.claims.get("registration_number").is_none());
    // The digest of the presentation exactly as the verifier received it.
    assert_eq!(
        back.presentation_digest,
        format!(
            "sha-256:{}",
            kmid::crypto::jose::b64url(
                &kmid::crypto::digest::sha256(presentation.as_bytes()).unwrap()
            )
        )
    );

    // Every single-byte change is caught, whatever the byte becomes.
    let bytes = signed.as_bytes();
    for i in 0..bytes.len() {
        for replacement in [b'A', b'.', b'~'] {
            if bytes[i] == replacement {
                continue;
            }
            let mut changed = bytes.to_vec();
            changed[i] = replacement;
            let changed = String::from_utf8(changed).unwrap();
            assert!(
                VerificationRecord::verify(&changed, verifier_key.public_key()).is_err(),
                "byte {i} -> {}",
                char::from(replacement)
            );
        }
    }
    // Another verifier's key does not verify it.
    let other = PrivateKey::generate(Curve::P256).unwrap();
    assert_eq!(
        VerificationRecord::verify(&signed, other.public_key()).unwrap_err(),
        RecordError::BadSignature
    );
}

#[test]
fn batch_issuance_gives_unlinkable_credentials() {
    let mois = issuer(IssuingAuthority::Mois);
    let card = Card::from(samples::resident());
    let keys: Vec<PrivateKey> = (0..4)
        .map(|_| PrivateKey::generate(Curve::P256).unwrap())
        .collect();
    let public: Vec<_> = keys.iter().map(|k| k.public_key().clone()).collect();
    let batch = mois
        .issue_batch(&card, &public, Formats::Both, now())
        .unwrap();
    assert_eq!(batch.len(), 4);
    let mut indices = std::collections::BTreeSet::new();
    let mut signatures = std::collections::BTreeSet::new();
    let mut digests = std::collections::BTreeSet::new();
    for issued in &batch {
        let m = issued.mdoc.as_ref().unwrap();
        let s = issued.sd_jwt.as_ref().unwrap();
        assert!(indices.insert(m.status.idx) && indices.insert(s.status.idx));
        assert!(signatures.insert(s.sd_jwt.issuer_jwt.rsplit('.').next().unwrap().to_owned()));
        for d in &s.sd_jwt.disclosures {
            assert!(
                digests.insert(d.clone()),
                "a Disclosure repeats across the batch"
            );
        }
    }
    // The whole batch sits on one phone in the registry: a loss suspends all of it.
    let phone = public[0].thumbprint_sha256().unwrap();
    let suspended = mois
        .registry()
        .report_phone_lost(
            &phone,
            &kmid::status::registry::Actor {
                who: "t",
                at: now(),
                reason: "phone lost",
            },
        )
        .unwrap();
    assert_eq!(suspended, 8);
}

#[test]
fn issuing_a_card_again_on_the_same_phone_stops_the_earlier_credentials() {
    let mois = issuer(IssuingAuthority::Mois);
    let card = Card::from(samples::resident());
    let phone = PrivateKey::generate(Curve::P256).unwrap();
    let status = |id: u64| mois.registry().status(id).unwrap();
    let first = mois
        .issue(&card, phone.public_key(), Formats::Both, now())
        .unwrap();
    let first_ids = [
        first.mdoc.as_ref().unwrap().credential,
        first.sd_jwt.as_ref().unwrap().credential,
    ];
    assert!(first_ids.iter().all(|&id| status(id) == TokenStatus::Valid));
    // The holder moved (전입신고) and the card is issued again to the same phone, as a batch
    // of two keys on it: the first issuance is INVALID, the batch is VALID as a whole.
    let second_key = PrivateKey::generate(Curve::P256).unwrap();
    let batch = mois
        .issue_batch(
            &card,
            &[phone.public_key().clone(), second_key.public_key().clone()],
            Formats::Both,
            now(),
        )
        .unwrap();
    assert!(
        first_ids
            .iter()
            .all(|&id| status(id) == TokenStatus::Invalid)
    );
    let batch_ids: Vec<u64> = batch
        .iter()
        .flat_map(|i| {
            [
                i.mdoc.as_ref().unwrap().credential,
                i.sd_jwt.as_ref().unwrap().credential,
            ]
        })
        .collect();
    assert_eq!(batch_ids.len(), 4);
    assert!(batch_ids.iter().all(|&id| status(id) == TokenStatus::Valid));
    let issuances: std::collections::BTreeSet<u64> = batch_ids
        .iter()
        .map(|&id| mois.registry().credential(id).unwrap().issuance)
        .collect();
    assert_eq!(issuances.into_iter().collect::<Vec<_>>(), [2]);
}

#[test]
fn a_verifier_refuses_claims_it_did_not_ask_for_and_records_need_a_legal_basis() {
    let mois = issuer(IssuingAuthority::Mois);
    let card = Card::from(samples::resident());
    let mut w = wallet(&mois);
    let issued = mois
        .issue(&card, w.device_key(), Formats::SdJwtVc, now())
        .unwrap();
    w.store_sd_jwt(&issued.sd_jwt.unwrap().sd_jwt.to_compact(), now())
        .unwrap();
    let verifier = Verifier::new(
        kmid::trust_store([mois.keys()]).unwrap(),
        Arc::new(AllValid),
    );
    let over_disclosed = w
        .present_sd_jwt(
            &Template::Identity.sd_jwt_request(card.card_type(), "n", "https://bar.example"),
            now(),
        )
        .unwrap();
    // An age check that receives names and photo refuses it all.
    let age = Template::AgeCheck.sd_jwt_request(card.card_type(), "n", "https://bar.example");
    assert!(matches!(
        verifier
            .verify_sd_jwt(&age, &over_disclosed, now())
            .unwrap_err(),
        KmidError::NotRequested(_)
    ));
    // A wallet will not answer an empty claim path (it would mean everything).
    let mut everything = age.clone();
    everything.paths.push(vec![]);
    assert!(matches!(
        w.present_sd_jwt(&everything, now()).unwrap_err(),
        KmidError::InvalidRequest(_)
    ));
    // The bank's full identity check (signed, with its registration attestation) is fine, and
    // its record needs the legal basis.
    let (verifier_trust, signer, leaf) = common::access_pki();
    let (registrars, registrar) = common::registrar();
    let w = w
        .with_verifier_trust(verifier_trust)
        .with_registrars(registrars);
    let id = common::hash_id(&leaf);
    let access = kmid::VerifierAccess::x509_san_dns(signer, vec![leaf], "bank.example")
        .unwrap()
        .with_registration(common::registration(
            &registrar,
            &id,
            &["registration_number"],
        ));
    let full = Template::FullIdentity {
        legal_basis: "Real Name Financial Transactions Act, Art. 3".into(),
    };
    let mut online = verifier
        .request_online(
            &access,
            &full.dcql_query(card.card_type(), kmid::Format::SdJwtVc),
            kmid::oid4vc::request::ResponseMode::DirectPostJwt,
            "https://bank.example/openid4vp/response",
            false,
            now(),
        )
        .unwrap();
    let answer = w
        .answer_online(online.request_object.as_deref().unwrap(), None, None, now())
        .unwrap();
    verifier
        .complete_online(&mut online, answer.body.as_bytes(), now())
        .unwrap();
    let seen = online.result(None).unwrap()[0].1.presentation().unwrap();
    assert!(matches!(
        VerificationRecord::new(
            &seen,
            "https://bank.example",
            "account opening",
            None,
            now()
        )
        .unwrap_err(),
        KmidError::LegalBasisRequired
    ));
    let record = VerificationRecord::new(
        &seen,
        "https://bank.example",
        "account opening",
        Some("Real Name Financial Transactions Act, Art. 3"),
        now(),
    )
    .unwrap();
    let key: Arc<dyn kmid::crypto::Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let back = VerificationRecord::verify(&record.sign(&key).unwrap(), key.public_key()).unwrap();
    assert_eq!(
        back.claims
            .get("registration_number")
            .and_then(|v| v.as_str()),
        Some(card.registration_number().expose().as_str())
    );
    assert_eq!(back.presentation_digest, seen.presentation_digest);
}

#[test]
fn an_mdoc_answer_that_leaves_out_a_requested_element_is_refused_unless_optional() {
    let mois = issuer(IssuingAuthority::Mois);
    let card = Card::from(samples::resident());
    let mut w = wallet(&mois);
    let issued = mois
        .issue(&card, w.device_key(), Formats::Mdoc, now())
        .unwrap();
    w.store_mdoc(issued.mdoc.unwrap().issuer_signed, now())
        .unwrap();
    let verifier = Verifier::new(
        kmid::trust_store([mois.keys()]).unwrap(),
        Arc::new(AllValid),
    );
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    let identity = Template::Identity.mdoc_request(card.card_type());
    // The wallet answers all but one element (its holder might have declined it).
    let mut fewer = identity.clone();
    let left_out = fewer.doc_requests[0].items_request.name_spaces[0]
        .1
        .pop()
        .unwrap();
    let short = w
        .respond_mdoc(&fewer, &transcript, now())
        .unwrap()
        .to_bytes();
    let err = verifier
        .verify_mdoc(&identity, &short, &transcript, now())
        .unwrap_err();
    assert_eq!(err.code(), "Mdoc.NotReturned", "{err:?}");
    assert!(
        matches!(&err, KmidError::Mdoc(kmid::mdoc::MdocError::NotReturned { element, .. }) if *element == left_out.0)
    );
    // The same omission over OpenID4VP is refused too (VpTokenMismatch, in openid4vp.rs);
    // a request that marks what it can do without accepts the shorter answer.
    let mut lenient = identity.clone();
    for doc in &mut lenient.doc_requests {
        let items = &mut doc.items_request;
        let asked: Vec<(String, String)> = items
            .name_spaces
            .iter()
            .flat_map(|(ns, els)| els.iter().map(move |(el, _)| (ns.clone(), el.clone())))
            .collect();
        items.optional = asked;
    }
    let seen = verifier
        .verify_mdoc(&lenient, &short, &transcript, now())
        .unwrap();
    assert_eq!(
        seen[0].claims.len() + 1,
        Template::Identity.claims().len(),
        "all but the one left out"
    );
}

#[test]
fn a_wallet_stores_only_an_mdoc_its_issuer_really_signed() {
    let mois = issuer(IssuingAuthority::Mois);
    let mut w = wallet(&mois);
    let issued = mois
        .issue(
            &Card::from(samples::resident()),
            w.device_key(),
            Formats::Mdoc,
            now(),
        )
        .unwrap();
    let genuine = issued.mdoc.unwrap().issuer_signed;
    let bytes = genuine.to_bytes();
    let limits = kmid::mdoc::CborLimits::default();
    let parse = |b: &[u8]| kmid::mdoc::model::IssuerSigned::from_bytes(b, &limits).unwrap();
    // One bit of the issuer's signature flipped.
    let signature = genuine.issuer_auth.sign1().signature.clone();
    let at = bytes
        .windows(signature.len())
        .position(|w| w == signature.as_slice())
        .unwrap();
    let mut forged = bytes.clone();
    forged[at] ^= 1;
    assert_eq!(
        w.store_mdoc(parse(&forged), now()).unwrap_err().code(),
        "Mdoc.IssuerAuth.BadSignature"
    );
    // A disclosed value changed under the signature: its digest betrays it.
    let needle = "김".as_bytes();
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let mut forged = bytes.clone();
    forged[at + 2] ^= 1;
    assert_eq!(
        w.store_mdoc(parse(&forged), now()).unwrap_err().code(),
        "Mdoc.Digest.Mismatch"
    );
    // Signed by an issuer the wallet does not trust.
    let stranger = issuer(IssuingAuthority::Mois);
    let issued = stranger
        .issue(
            &Card::from(samples::resident()),
            w.device_key(),
            Formats::Mdoc,
            now(),
        )
        .unwrap();
    assert_eq!(
        w.store_mdoc(issued.mdoc.unwrap().issuer_signed, now())
            .unwrap_err()
            .code(),
        // Another MOIS IACA of the same name: its key does not verify the chain.
        "Mdoc.IssuerAuth.Chain.Certificate.BadSignature"
    );
    // Expired at the time it is stored.
    assert_eq!(
        w.store_mdoc(genuine.clone(), now() + Duration::days(91))
            .unwrap_err()
            .code(),
        "Mdoc.Validity.Expired"
    );
    w.store_mdoc(genuine, now()).unwrap();
}

#[test]
fn a_misconfigured_issuer_refuses_before_superseding_anything() {
    let mois = issuer(IssuingAuthority::Mois);
    let card = Card::from(samples::resident());
    let phone = PrivateKey::generate(Curve::P256).unwrap();
    let first = mois
        .issue(&card, phone.public_key(), Formats::Both, now())
        .unwrap();
    // The same registry and secret, but a signer that is not the Document Signer's key.
    let mut keys = mois.keys().clone();
    keys.signer = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let broken = kmid::Issuer::new(
        keys,
        kmid::status::registry::StatusRegistry::new(
            kmid::status::registry::MemoryStore::new(),
            kmid::status::registry::RegistryConfig::new("https://status.kmid.invalid/x"),
            Arc::new(kmid::crypto::SystemRandom),
        ),
        kmid::CardKeySecret::from_bytes([9; 32]),
        Arc::new(kmid::crypto::SystemRandom),
    );
    let err = broken
        .issue(&card, phone.public_key(), Formats::Both, now())
        .unwrap_err();
    assert!(matches!(err, KmidError::InvalidRequest(_)), "{err:?}");
    assert!(
        broken.registry().lists().unwrap().is_empty(),
        "nothing registered"
    );
    assert_eq!(
        mois.registry()
            .status(first.mdoc.unwrap().credential)
            .unwrap(),
        TokenStatus::Valid
    );
}
