//! OpenID4VP over the Digital Credentials API (OpenID4VP 1.0 Appendix A, HAIP 1.0 §5.2):
//! unsigned, signed and multi-signed requests, `dc_api` and `dc_api.jwt`, both formats, the
//! Origin as the audience; and the refusals: an Origin outside `expected_origins`, a response
//! replayed to another Origin, a downgrade to the clear, no signature the wallet trusts, and
//! the registration number to an unsigned request.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use kmid::crypto::{CryptoProvider, Curve, PrivateKey};
use kmid::oid4vc::dc_api::DcApiProtocol;
use kmid::schema::catalogue::ClaimId;
use kmid::schema::{Card, CardType, IdentityCard};
use kmid::{Format, Formats, IssuingAuthority, Template, Verifier, VerifierAccess, Wallet};
use kmid_testkit::samples;
use serde_json::Value;

mod common;
use common::{AllValid, access_pki, issuer, now, registrar, registration};

const ORIGIN: &str = "https://bank.example";

struct World {
    wallet: Wallet,
    verifier: Verifier,
    access: VerifierAccess,
    stranger: VerifierAccess,
    card: Card,
}

fn world() -> World {
    let (verifier_trust, signer, leaf) = access_pki();
    let (_, stranger_signer, stranger_leaf) = access_pki();
    let (registrars, registrar) = registrar();
    let mois = issuer(IssuingAuthority::Mois);
    let trust = kmid::trust_store([mois.keys()]).unwrap();
    let card = Card::from(samples::resident());
    let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), trust.clone())
        .with_verifier_trust(verifier_trust)
        .with_registrars(registrars);
    let issued = mois
        .issue(&card, wallet.device_key(), Formats::Both, now())
        .unwrap();
    wallet.store_issued(issued, now()).unwrap();
    let id = common::hash_id(&leaf);
    let access = VerifierAccess::x509_san_dns(signer, vec![leaf], "bank.example")
        .unwrap()
        .with_registration(registration(&registrar, &id, &["registration_number"]));
    let stranger = VerifierAccess::x509_hash(
        CryptoProvider::get_default(),
        stranger_signer,
        vec![stranger_leaf],
    )
    .unwrap();
    World {
        wallet,
        verifier: Verifier::new(trust, Arc::new(AllValid)),
        access,
        stranger,
        card,
    }
}

/// The three cards in both formats over the DC API, signed and encrypted (HAIP's mode), and
/// unsigned in the clear.
#[test]
fn every_card_and_format_round_trips_over_the_dc_api() {
    let (verifier_trust, signer, leaf) = access_pki();
    let access = VerifierAccess::x509_san_dns(signer, vec![leaf], "bank.example").unwrap();
    for (card_type, authority, card) in [
        (
            CardType::Resident,
            IssuingAuthority::Mois,
            Card::from(samples::resident()),
        ),
        (
            CardType::Foreigner,
            IssuingAuthority::Moj,
            Card::from(samples::foreigner()),
        ),
        (
            CardType::OverseasNational,
            IssuingAuthority::Oka,
            Card::from(samples::overseas_national()),
        ),
    ] {
        let issuer = issuer(authority);
        let trust = kmid::trust_store([issuer.keys()]).unwrap();
        let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), trust.clone())
            .with_verifier_trust(verifier_trust.clone());
        let issued = issuer
            .issue(&card, wallet.device_key(), Formats::Both, now())
            .unwrap();
        wallet.store_issued(issued, now()).unwrap();
        let verifier = Verifier::new(trust, Arc::new(AllValid));
        for format in [Format::Mdoc, Format::SdJwtVc] {
            let query = Template::AgeCheck.dcql_query(card_type, format);
            for (signers, encrypted) in [(vec![&access], true), (vec![], false)] {
                let mut p = verifier
                    .request_dc_api(&signers, &query, encrypted, ORIGIN, now())
                    .unwrap();
                let data = wallet
                    .answer_dc_api(p.protocol.as_str(), &p.data, ORIGIN, now())
                    .unwrap();
                verifier.complete_dc_api(&mut p, &data, now()).unwrap();
                assert_eq!(
                    p.result().unwrap()[0].1.card_type,
                    Some(card_type),
                    "{card_type:?} {format:?} {encrypted}"
                );
            }
        }
    }
}

#[test]
fn every_protocol_mode_and_format_round_trips_bound_to_the_origin() {
    let w = world();
    for format in [Format::Mdoc, Format::SdJwtVc] {
        let query = Template::AgeCheck.dcql_query(CardType::Resident, format);
        for (signers, protocol) in [
            (vec![], DcApiProtocol::Unsigned),
            (vec![&w.access], DcApiProtocol::Signed),
            (vec![&w.stranger, &w.access], DcApiProtocol::MultiSigned),
        ] {
            for encrypted in [false, true] {
                let mut p = w
                    .verifier
                    .request_dc_api(&signers, &query, encrypted, ORIGIN, now())
                    .unwrap();
                assert_eq!(p.protocol, protocol);
                let data = w
                    .wallet
                    .answer_dc_api(p.protocol.as_str(), &p.data, ORIGIN, now())
                    .unwrap();
                assert_eq!(data.get("response").is_some(), encrypted);
                w.verifier.complete_dc_api(&mut p, &data, now()).unwrap();
                let seen = p.result().unwrap();
                assert_eq!(seen[0].1.card_type, Some(CardType::Resident));
                assert!(
                    seen[0]
                        .1
                        .catalogue_claims()
                        .iter()
                        .any(|(c, _)| *c == ClaimId::AgeOver19),
                    "{format:?} {protocol:?} {encrypted}"
                );
            }
        }
    }
}

#[test]
fn the_origin_binds_requests_and_responses() {
    let w = world();
    for format in [Format::Mdoc, Format::SdJwtVc] {
        let query = Template::AgeCheck.dcql_query(CardType::Resident, format);
        // A signed request replayed from another Origin.
        let p = w
            .verifier
            .request_dc_api(&[&w.access], &query, true, ORIGIN, now())
            .unwrap();
        assert_eq!(
            w.wallet
                .answer_dc_api(p.protocol.as_str(), &p.data, "https://evil.example", now())
                .unwrap_err()
                .code(),
            "Oid4vp.Origin"
        );
        // An unsigned request answered for another Origin: the presentation is bound to
        // that Origin, and the verifier at its own refuses it.
        let mut p = w
            .verifier
            .request_dc_api(&[], &query, false, ORIGIN, now())
            .unwrap();
        let data = w
            .wallet
            .answer_dc_api(p.protocol.as_str(), &p.data, "https://evil.example", now())
            .unwrap();
        w.verifier.complete_dc_api(&mut p, &data, now()).unwrap();
        let expected = match format {
            Format::SdJwtVc => "SdJwt.KeyBinding.AudienceMismatch",
            Format::Mdoc => "Mdoc.DeviceAuth.BadSignature",
        };
        assert_eq!(p.result().unwrap_err().code(), expected, "{format:?}");
        // An encrypted request answered in the clear (a downgrade).
        let mut encrypted = w
            .verifier
            .request_dc_api(&[&w.access], &query, true, ORIGIN, now())
            .unwrap();
        let plain = w
            .verifier
            .request_dc_api(&[&w.access], &query, false, ORIGIN, now())
            .unwrap();
        let clear = w
            .wallet
            .answer_dc_api(plain.protocol.as_str(), &plain.data, ORIGIN, now())
            .unwrap();
        assert_eq!(
            w.verifier
                .complete_dc_api(&mut encrypted, &clear, now())
                .unwrap_err()
                .code(),
            "Oid4vp.ResponseMode"
        );
    }
}

#[test]
fn signatures_the_wallet_cannot_trust_are_refused() {
    let w = world();
    let query = Template::AgeCheck.dcql_query(CardType::Resident, Format::SdJwtVc);
    for signers in [vec![&w.stranger], vec![&w.stranger, &w.stranger]] {
        let p = w
            .verifier
            .request_dc_api(&signers, &query, true, ORIGIN, now())
            .unwrap();
        assert_eq!(
            w.wallet
                .answer_dc_api(p.protocol.as_str(), &p.data, ORIGIN, now())
                .unwrap_err()
                .code(),
            // The stranger's root has the trusted root's name and another key.
            "Oid4vp.Certificate.Certificate.BadSignature"
        );
    }
    // A multi-signed request whose payload names a client_id (it belongs in the headers).
    let mut p = w
        .verifier
        .request_dc_api(&[&w.access, &w.stranger], &query, true, ORIGIN, now())
        .unwrap();
    let payload = p.data["payload"].as_str().unwrap().to_owned();
    let mut decoded: Value =
        serde_json::from_slice(&kmid::crypto::jose::b64url_decode(&payload).unwrap()).unwrap();
    decoded["client_id"] = "x509_san_dns:bank.example".into();
    p.data["payload"] = kmid::crypto::jose::b64url(decoded.to_string().as_bytes()).into();
    assert_eq!(
        w.wallet
            .answer_dc_api(p.protocol.as_str(), &p.data, ORIGIN, now())
            .unwrap_err()
            .code(),
        "Oid4vp.Malformed"
    );
    // An unknown protocol.
    assert_eq!(
        w.wallet
            .answer_dc_api("openid4vp-v2-signed", &p.data, ORIGIN, now())
            .unwrap_err()
            .code(),
        "Oid4vp.Unsupported"
    );
}

#[test]
fn the_registration_number_goes_only_to_a_signed_registered_request() {
    let w = world();
    let full = Template::FullIdentity {
        legal_basis: "Act on Real Name Financial Transactions and Confidentiality, Art. 3".into(),
    };
    let query = full.dcql_query(CardType::Resident, Format::SdJwtVc);
    let unsigned = w
        .verifier
        .request_dc_api(&[], &query, true, ORIGIN, now())
        .unwrap();
    assert_eq!(
        w.wallet
            .answer_dc_api(unsigned.protocol.as_str(), &unsigned.data, ORIGIN, now())
            .unwrap_err()
            .code(),
        "Withheld"
    );
    // A wallet told to answer only authenticated verifiers refuses an unsigned request.
    let strict = Wallet::new(
        PrivateKey::generate(Curve::P256).unwrap(),
        kmid::crypto::x509::TrustStore::new(),
    )
    .require_reader_auth(kmid::crypto::x509::TrustStore::new());
    assert_eq!(
        strict
            .answer_dc_api(unsigned.protocol.as_str(), &unsigned.data, ORIGIN, now())
            .unwrap_err()
            .code(),
        "InvalidRequest"
    );
    for signers in [vec![&w.access], vec![&w.stranger, &w.access]] {
        let mut p = w
            .verifier
            .request_dc_api(&signers, &query, true, ORIGIN, now())
            .unwrap();
        let data = w
            .wallet
            .answer_dc_api(p.protocol.as_str(), &p.data, ORIGIN, now())
            .unwrap();
        w.verifier.complete_dc_api(&mut p, &data, now()).unwrap();
        let claims = p.result().unwrap()[0].1.catalogue_claims();
        assert_eq!(
            claims
                .iter()
                .find(|(c, _)| *c == ClaimId::RegistrationNumber)
                .and_then(|(_, v)| v.as_str()),
            Some(w.card.registration_number().expose().as_str())
        );
    }
}
