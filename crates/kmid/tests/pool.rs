//! A pool of single-use credentials (OpenID4VCI batches, issue 19): a wallet with batch keys
//! holds one credential per key; under `PresentationPolicy::Once` each is presented once (a
//! different credential, key and signature every time) until none is left; under
//! `OncePerVerifier` a verifier sees the same one again and another verifier another one; the
//! default reuses. Every presentation verifies.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;

use common::{AllValid, now};
use kmid::crypto::{Curve, PrivateKey, Signer};
use kmid::mdoc::model::{Handover, SessionTranscript};
use kmid::schema::{Card, CardType};
use kmid::{
    Format, Formats, IssuingAuthority, OpenId4VpRequest, PresentationPolicy, Template, Verifier,
    Wallet,
};

fn pool(policy: PresentationPolicy) -> (Wallet, Verifier) {
    let issuer = common::issuer(IssuingAuthority::Mois);
    let trust = kmid::trust_store([issuer.keys()]).unwrap();
    let key = || -> Arc<dyn Signer> { Arc::new(PrivateKey::generate(Curve::P256).unwrap()) };
    let keys: Vec<Arc<dyn Signer>> = (0..3).map(|_| key()).collect();
    let publics: Vec<_> = keys.iter().map(|k| k.public_key().clone()).collect();
    let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), trust.clone())
        .with_batch_keys(keys)
        .with_presentation_policy(policy);
    let card = Card::from(kmid_testkit::samples::resident());
    for issued in issuer
        .issue_batch(&card, &publics, Formats::Both, now())
        .unwrap()
    {
        wallet
            .store_mdoc(issued.mdoc.unwrap().issuer_signed, now())
            .unwrap();
        wallet
            .store_sd_jwt(&issued.sd_jwt.unwrap().sd_jwt.to_compact(), now())
            .unwrap();
    }
    (wallet, Verifier::new(trust, Arc::new(AllValid)))
}

/// Presents the age check to `verifier` over OpenID4VP in `format`; returns the issuer-signed
/// part (the credential's identity) of what went.
fn present(
    wallet: &Wallet,
    verifier: &Verifier,
    client_id: &str,
    format: Format,
) -> Option<String> {
    let query = Template::AgeCheck.dcql_query(CardType::Resident, format);
    let request = OpenId4VpRequest::new(client_id, "nonce-1", "https://rp.kmid.invalid/response");
    let token = wallet.answer_dcql(&query, &request, now()).ok()?;
    verifier
        .verify_vp_token_any(&query, &request, &token, now())
        .unwrap();
    let presentation = token["card"][0].as_str().unwrap().to_owned();
    Some(match format {
        Format::SdJwtVc => presentation.split('~').next().unwrap().to_owned(),
        Format::Mdoc => presentation,
    })
}

#[test]
fn once_presents_each_credential_once_until_none_is_left() {
    let (wallet, verifier) = pool(PresentationPolicy::Once);
    assert_eq!(
        wallet.presentable(CardType::Resident, "x509_san_dns:a.kmid.invalid"),
        6
    );
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(
            present(
                &wallet,
                &verifier,
                "x509_san_dns:a.kmid.invalid",
                Format::SdJwtVc,
            )
            .unwrap(),
        );
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 3, "three different credentials");
    assert!(
        present(
            &wallet,
            &verifier,
            "x509_san_dns:a.kmid.invalid",
            Format::SdJwtVc
        )
        .is_none()
    );
    assert_eq!(
        wallet.presentable(CardType::Resident, "x509_san_dns:a.kmid.invalid"),
        3
    );
    // The mdocs of the batch are a pool of their own, in proximity too.
    let request = Template::AgeCheck.mdoc_request(CardType::Resident);
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    for _ in 0..3 {
        let response = wallet.respond_mdoc(&request, &transcript, now()).unwrap();
        assert_eq!(response.documents.len(), 1);
    }
    let response = wallet.respond_mdoc(&request, &transcript, now()).unwrap();
    assert!(response.documents.is_empty(), "no mdoc left to present");
    assert_eq!(
        wallet.presentable(CardType::Resident, "x509_san_dns:a.kmid.invalid"),
        0
    );
}

#[test]
fn once_per_verifier_and_reuse() {
    let (wallet, verifier) = pool(PresentationPolicy::OncePerVerifier);
    let a1 = present(
        &wallet,
        &verifier,
        "x509_san_dns:a.kmid.invalid",
        Format::Mdoc,
    )
    .unwrap();
    let a2 = present(
        &wallet,
        &verifier,
        "x509_san_dns:a.kmid.invalid",
        Format::Mdoc,
    )
    .unwrap();
    let b = present(
        &wallet,
        &verifier,
        "x509_san_dns:b.kmid.invalid",
        Format::Mdoc,
    )
    .unwrap();
    // The same verifier may be shown the same credential; another is shown another one. (The
    // mdoc presentation differs each time by its device signature; what identifies the
    // credential is its MSO, compared through the verifier's view below.)
    let mso = |p: &str| {
        let bytes = kmid::crypto::jose::b64url_decode(p).unwrap();
        let response = kmid::mdoc::model::DeviceResponse::from_bytes(
            &bytes,
            &kmid::mdoc::CborLimits::default(),
        )
        .unwrap();
        response.documents[0].issuer_signed.to_bytes()
    };
    assert_eq!(mso(&a1), mso(&a2));
    assert_ne!(mso(&a1), mso(&b));
    let (wallet, verifier) = pool(PresentationPolicy::Reuse);
    let first = present(
        &wallet,
        &verifier,
        "x509_san_dns:a.kmid.invalid",
        Format::SdJwtVc,
    )
    .unwrap();
    let second = present(
        &wallet,
        &verifier,
        "x509_san_dns:b.kmid.invalid",
        Format::SdJwtVc,
    )
    .unwrap();
    assert_eq!(first, second, "the default reuses the first credential");
}

/// The record of what was presented survives a restart: a wallet built again from the same
/// credentials with the saved record (through JSON, as an app stores it) does not present
/// them again under `Once`; without the record it would.
#[test]
fn the_presentation_record_carries_the_policy_across_a_restart() {
    let issuer = common::issuer(IssuingAuthority::Mois);
    let trust = kmid::trust_store([issuer.keys()]).unwrap();
    let keys: Vec<Arc<dyn Signer>> = (0..2)
        .map(|_| -> Arc<dyn Signer> { Arc::new(PrivateKey::generate(Curve::P256).unwrap()) })
        .collect();
    let publics: Vec<_> = keys.iter().map(|k| k.public_key().clone()).collect();
    let card = Card::from(kmid_testkit::samples::resident());
    let issued: Vec<String> = issuer
        .issue_batch(&card, &publics, Formats::SdJwtVc, now())
        .unwrap()
        .into_iter()
        .map(|i| i.sd_jwt.unwrap().sd_jwt.to_compact())
        .collect();
    let build = || {
        let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), trust.clone())
            .with_batch_keys(keys.clone())
            .with_presentation_policy(PresentationPolicy::Once);
        for sd_jwt in &issued {
            wallet.store_sd_jwt(sd_jwt, now()).unwrap();
        }
        wallet
    };
    let verifier = Verifier::new(trust.clone(), Arc::new(AllValid));
    let rp = "x509_san_dns:a.kmid.invalid";
    let first = build();
    let shown = present(&first, &verifier, rp, Format::SdJwtVc).unwrap();
    let saved = serde_json::to_string(&first.presentation_record()).unwrap();
    assert_eq!(first.presentation_record().len(), 1);
    // Built again without the record: both credentials look fresh.
    assert_eq!(build().presentable(CardType::Resident, rp), 2);
    // With it: one is left, and it is the other one.
    let again = build().with_presentation_record(serde_json::from_str(&saved).unwrap());
    assert_eq!(again.presentable(CardType::Resident, rp), 1);
    let next = present(&again, &verifier, rp, Format::SdJwtVc).unwrap();
    assert_ne!(next, shown);
    assert!(present(&again, &verifier, rp, Format::SdJwtVc).is_none());
}
