//! ISO/IEC 18013-7 Annex C (`org-iso-mdoc` over the Digital Credentials API): the verifier's
//! request data with its EncryptionInfo, the wallet's DeviceResponse sealed with HPKE over the
//! `dcapi` SessionTranscript, and the refusals: another Origin, another request's key, an
//! altered ciphertext, a short nonce.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use kmid::crypto::jose::{b64url, b64url_decode};
use kmid::crypto::{Curve, PrivateKey};
use kmid::mdoc::annex_c::{EncryptedResponse, EncryptionInfo};
use kmid::schema::catalogue::ClaimId;
use kmid::schema::{Card, CardType};
use kmid::{Formats, IssuingAuthority, Template, Verifier, Wallet};
use kmid_testkit::samples;
use serde_json::{Value, json};

mod common;
use common::{AllValid, issuer, now};

const ORIGIN: &str = "https://bank.example";

fn world() -> (Wallet, Verifier) {
    let mois = issuer(IssuingAuthority::Mois);
    let trust = kmid::trust_store([mois.keys()]).unwrap();
    let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), trust.clone());
    let issued = mois
        .issue(
            &Card::from(samples::resident()),
            wallet.device_key(),
            Formats::Mdoc,
            now(),
        )
        .unwrap();
    wallet.store_issued(issued, now()).unwrap();
    (wallet, Verifier::new(trust, Arc::new(AllValid)))
}

fn age_request(verifier: &Verifier, origin: &str) -> kmid::AnnexCRequest {
    verifier
        .request_annex_c(origin, |_| {
            Ok(Template::AgeCheck.mdoc_request(CardType::Resident))
        })
        .unwrap()
}

#[test]
fn an_annex_c_request_round_trips_sealed_to_the_verifiers_key() {
    let (wallet, verifier) = world();
    let request = age_request(&verifier, ORIGIN);
    let info = EncryptionInfo::from_bytes(
        &b64url_decode(request.data["encryptionInfo"].as_str().unwrap()).unwrap(),
        &kmid::mdoc::CborLimits::default(),
    )
    .unwrap();
    assert_eq!(info.nonce.len(), 16);
    let data = wallet.answer_annex_c(&request.data, ORIGIN, now()).unwrap();
    let seen = verifier.complete_annex_c(&request, &data, now()).unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].card_type, Some(CardType::Resident));
    assert!(
        seen[0]
            .catalogue_claims()
            .iter()
            .any(|(c, v)| *c == ClaimId::AgeOver19 && *v == json!(true))
    );
}

#[test]
fn a_response_opens_only_for_its_request_and_origin() {
    let (wallet, verifier) = world();
    let request = age_request(&verifier, ORIGIN);
    // Answered for another Origin: sealed over another transcript.
    let elsewhere = wallet
        .answer_annex_c(&request.data, "https://evil.example", now())
        .unwrap();
    assert_eq!(
        verifier
            .complete_annex_c(&request, &elsewhere, now())
            .unwrap_err()
            .code(),
        "Mdoc.Crypto.DecryptionFailed"
    );
    // Another request's response (another key).
    let other = age_request(&verifier, ORIGIN);
    let for_other = wallet.answer_annex_c(&other.data, ORIGIN, now()).unwrap();
    assert_eq!(
        verifier
            .complete_annex_c(&request, &for_other, now())
            .unwrap_err()
            .code(),
        "Mdoc.Crypto.DecryptionFailed"
    );
    // An altered ciphertext.
    let good = wallet.answer_annex_c(&request.data, ORIGIN, now()).unwrap();
    let limits = kmid::mdoc::CborLimits::default();
    let mut sealed = EncryptedResponse::from_bytes(
        &b64url_decode(good["response"].as_str().unwrap()).unwrap(),
        &limits,
    )
    .unwrap();
    sealed.cipher_text[0] ^= 1;
    let altered = json!({ "response": b64url(&sealed.to_bytes()) });
    assert_eq!(
        verifier
            .complete_annex_c(&request, &altered, now())
            .unwrap_err()
            .code(),
        "Mdoc.Crypto.DecryptionFailed"
    );
    // The untouched response still verifies.
    verifier.complete_annex_c(&request, &good, now()).unwrap();
    // A request whose EncryptionInfo carries an 8-byte nonce is refused by the wallet.
    let mut short = request.data.clone();
    let info = EncryptionInfo::from_bytes(
        &b64url_decode(request.data["encryptionInfo"].as_str().unwrap()).unwrap(),
        &limits,
    )
    .unwrap();
    let weak = EncryptionInfo {
        nonce: vec![7; 8],
        ..info
    };
    short["encryptionInfo"] = Value::String(b64url(&weak.to_bytes().unwrap()));
    assert_eq!(
        wallet
            .answer_annex_c(&short, ORIGIN, now())
            .unwrap_err()
            .code(),
        "Mdoc.Malformed"
    );
}

#[test]
fn a_pending_request_survives_export_and_import_with_its_own_key_only() {
    let (wallet, verifier) = world();
    let request = age_request(&verifier, ORIGIN);
    let saved = request.export().unwrap();
    assert_eq!(saved["kind"], "annex_c");
    let data = wallet.answer_annex_c(&request.data, ORIGIN, now()).unwrap();
    let restored = kmid::AnnexCRequest::import(&saved).unwrap();
    assert_eq!(
        verifier.complete_annex_c(&restored, &data, now()).unwrap()[0].card_type,
        Some(CardType::Resident)
    );
    // Another request's key spliced in: refused at import, not at decryption.
    let other = age_request(&verifier, ORIGIN).export().unwrap();
    let mut spliced = saved.clone();
    spliced["key"] = other["key"].clone();
    assert_eq!(
        kmid::AnnexCRequest::import(&spliced).unwrap_err().code(),
        "Oid4vp.Malformed"
    );
    let mut wrong_kind = saved;
    wrong_kind["kind"] = json!("dc_api");
    assert_eq!(
        kmid::AnnexCRequest::import(&wrong_kind).unwrap_err().code(),
        "Oid4vp.Malformed"
    );
}
