//! Transaction data (OpenID4VP 1.0 §5.1, Appendix B.3.3; issue 18 item 5): a bank asks the
//! holder to consent to opening an account with the presentation; the SD-JWT VC's Key Binding
//! JWT carries the consent's hash and the verifier insists on it; an mdoc cannot authorize it
//! (no Korean docType does); a consent that does not conform, or an answer that leaves the
//! binding out, is refused by its code.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use kmid::crypto::{CryptoProvider, Curve, PrivateKey};
use kmid::oid4vc::request::ResponseMode;
use kmid::oid4vc::transaction::{TransactionConsent, transaction_data_hash};
use kmid::schema::{Card, CardType};
use kmid::{
    Format, Formats, IssuingAuthority, RequestOptions, Template, Verifier, VerifierAccess, Wallet,
};
use kmid_testkit::samples;

mod common;
use common::{AllValid, access_pki, issuer, now};

const RESPONSE_URI: &str = "https://bank.example/openid4vp/response";

fn consent() -> TransactionConsent {
    TransactionConsent {
        credential_ids: vec!["card".into()],
        description: "Open a savings account at KMID Test Bank".into(),
        reference: "ACC-2026-0001".into(),
    }
}

struct World {
    wallet: Wallet,
    verifier: Verifier,
    access: VerifierAccess,
    signer: Arc<dyn kmid::crypto::Signer>,
    leaf: kmid::crypto::x509::Certificate,
}

fn world() -> World {
    let (verifier_trust, signer, leaf) = access_pki();
    let mois = issuer(IssuingAuthority::Mois);
    let trust = kmid::trust_store([mois.keys()]).unwrap();
    let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), trust.clone())
        .with_verifier_trust(verifier_trust);
    let issued = mois
        .issue(
            &Card::from(samples::resident()),
            wallet.device_key(),
            Formats::Both,
            now(),
        )
        .unwrap();
    wallet.store_issued(issued, now()).unwrap();
    World {
        wallet,
        verifier: Verifier::new(trust, Arc::new(AllValid)),
        access: VerifierAccess::x509_san_dns(
            Arc::clone(&signer),
            vec![leaf.clone()],
            "bank.example",
        )
        .unwrap(),
        signer,
        leaf,
    }
}

fn options(transactions: Vec<TransactionConsent>) -> RequestOptions {
    RequestOptions {
        same_device: false,
        transactions,
    }
}

#[test]
fn an_sd_jwt_vc_presentation_authorizes_the_transaction() {
    let w = world();
    let query = Template::Identity.dcql_query(CardType::Resident, Format::SdJwtVc);
    let mut online = w
        .verifier
        .request_online_with(
            &w.access,
            &query,
            ResponseMode::DirectPostJwt,
            RESPONSE_URI,
            &options(vec![consent()]),
            now(),
        )
        .unwrap();
    let item = online.authorization.transaction_data.as_ref().unwrap()[0].clone();
    assert_eq!(TransactionConsent::decode(&item).unwrap(), consent());
    let answer = w
        .wallet
        .answer_online(online.request_object.as_deref().unwrap(), None, None, now())
        .unwrap();
    w.verifier
        .complete_online(&mut online, answer.body.as_bytes(), now())
        .unwrap();
    let seen = online.result(None).unwrap();
    assert_eq!(
        seen[0].1.transaction_data_hashes,
        [transaction_data_hash(CryptoProvider::get_default(), &item).unwrap()]
    );
}

#[test]
fn an_answer_without_the_binding_is_refused() {
    let w = world();
    let query = Template::Identity.dcql_query(CardType::Resident, Format::SdJwtVc);
    let mut online = w
        .verifier
        .request_online_with(
            &w.access,
            &query,
            ResponseMode::DirectPostJwt,
            RESPONSE_URI,
            &options(vec![consent()]),
            now(),
        )
        .unwrap();
    // A wallet shown the same request without the transaction (a verifier's front end
    // tampered with, or a wallet that drops it) answers; the verifier refuses the result.
    let mut stripped = online.authorization.clone();
    stripped.transaction_data = None;
    let object = kmid::oid4vc::jar::sign_request_object(
        CryptoProvider::get_default(),
        &stripped,
        &w.signer,
        std::slice::from_ref(&w.leaf),
    )
    .unwrap();
    let answer = w.wallet.answer_online(&object, None, None, now()).unwrap();
    w.verifier
        .complete_online(&mut online, answer.body.as_bytes(), now())
        .unwrap();
    assert_eq!(
        online.result(None).unwrap_err().code(),
        "TransactionNotAuthorized"
    );
}

#[test]
fn an_mdoc_cannot_authorize_a_transaction_and_a_bad_consent_is_refused() {
    let w = world();
    let mdoc = Template::Identity.dcql_query(CardType::Resident, Format::Mdoc);
    let online = w
        .verifier
        .request_online_with(
            &w.access,
            &mdoc,
            ResponseMode::DirectPostJwt,
            RESPONSE_URI,
            &options(vec![consent()]),
            now(),
        )
        .unwrap();
    assert_eq!(
        w.wallet
            .answer_online(online.request_object.as_deref().unwrap(), None, None, now())
            .unwrap_err()
            .code(),
        "Oid4vp.TransactionData"
    );
    // A consent without a description does not conform to its type.
    let sd_jwt = Template::Identity.dcql_query(CardType::Resident, Format::SdJwtVc);
    let online = w
        .verifier
        .request_online_with(
            &w.access,
            &sd_jwt,
            ResponseMode::DirectPostJwt,
            RESPONSE_URI,
            &options(vec![TransactionConsent {
                description: " ".into(),
                ..consent()
            }]),
            now(),
        )
        .unwrap();
    assert_eq!(
        w.wallet
            .answer_online(online.request_object.as_deref().unwrap(), None, None, now())
            .unwrap_err()
            .code(),
        "Oid4vp.Malformed"
    );
    // A transaction naming a Credential Query the query does not have is not even sent.
    assert_eq!(
        w.verifier
            .request_online_with(
                &w.access,
                &sd_jwt,
                ResponseMode::DirectPostJwt,
                RESPONSE_URI,
                &options(vec![TransactionConsent {
                    credential_ids: vec!["other".into()],
                    ..consent()
                }]),
                now(),
            )
            .unwrap_err()
            .code(),
        "InvalidRequest"
    );
}

const ORIGIN: &str = "https://bank.example";

#[test]
fn over_the_dc_api_the_presentation_authorizes_the_transaction() {
    let w = world();
    let query = Template::Identity.dcql_query(CardType::Resident, Format::SdJwtVc);
    for signers in [vec![&w.access], vec![]] {
        let mut dc = w
            .verifier
            .request_dc_api_with(
                &signers,
                &query,
                true,
                ORIGIN,
                &options(vec![consent()]),
                now(),
            )
            .unwrap();
        let item = dc.authorization.transaction_data.as_ref().unwrap()[0].clone();
        let data = w
            .wallet
            .answer_dc_api(dc.protocol.as_str(), &dc.data, ORIGIN, now())
            .unwrap();
        w.verifier.complete_dc_api(&mut dc, &data, now()).unwrap();
        let seen = dc.result().unwrap();
        assert_eq!(
            seen[0].1.transaction_data_hashes,
            [transaction_data_hash(CryptoProvider::get_default(), &item).unwrap()],
            "signed: {}",
            !signers.is_empty()
        );
    }
}

#[test]
fn over_the_dc_api_an_answer_without_the_binding_is_refused() {
    let w = world();
    let query = Template::Identity.dcql_query(CardType::Resident, Format::SdJwtVc);
    let mut dc = w
        .verifier
        .request_dc_api_with(&[], &query, true, ORIGIN, &options(vec![consent()]), now())
        .unwrap();
    // The page's script drops the transaction before handing the request to the platform.
    let mut stripped = dc.data.clone();
    stripped
        .as_object_mut()
        .unwrap()
        .remove("transaction_data")
        .unwrap();
    let data = w
        .wallet
        .answer_dc_api(dc.protocol.as_str(), &stripped, ORIGIN, now())
        .unwrap();
    w.verifier.complete_dc_api(&mut dc, &data, now()).unwrap();
    assert_eq!(dc.result().unwrap_err().code(), "TransactionNotAuthorized");
    // An mdoc cannot authorize it; a DC API flow has no redirect to be same-device with.
    let mdoc = Template::Identity.dcql_query(CardType::Resident, Format::Mdoc);
    let dc = w
        .verifier
        .request_dc_api_with(
            &[&w.access],
            &mdoc,
            true,
            ORIGIN,
            &options(vec![consent()]),
            now(),
        )
        .unwrap();
    assert_eq!(
        w.wallet
            .answer_dc_api(dc.protocol.as_str(), &dc.data, ORIGIN, now())
            .unwrap_err()
            .code(),
        "Oid4vp.TransactionData"
    );
    assert_eq!(
        w.verifier
            .request_dc_api_with(
                &[&w.access],
                &query,
                true,
                ORIGIN,
                &RequestOptions {
                    same_device: true,
                    transactions: Vec::new(),
                },
                now(),
            )
            .unwrap_err()
            .code(),
        "InvalidRequest"
    );
}
