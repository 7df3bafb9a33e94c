//! The ISO/IEC 18013-5 Annex D example, end to end.

// Test code: helpers outside #[test] functions may unwrap and index freely.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kmid_crypto::x509::{Certificate, TrustStore};
use kmid_crypto::{Algorithm, Curve, DefaultVerifier, PrivateKey, PublicKey};
use kmid_mdoc::model::{DeviceEngagement, DeviceRequest, DeviceResponse, SessionTranscript};
use kmid_mdoc::reader::verify_reader_auth;
use kmid_mdoc::session::{Role, Session, SessionData, SessionEstablishment};
use kmid_mdoc::verifier::{DeviceAuthMode, MdocVerifier};
use kmid_mdoc::{CborLimits, ElementValue};
use kmid_mdoc::{DeviceAuthError, MdocError, ReaderAuthError};
use time::macros::{date, datetime};

fn v(name: &str) -> Vec<u8> {
    let json: serde_json::Value = serde_json::from_str(include_str!(
        "../../../test-vectors/iso18013-5-annex-d/vectors.json"
    ))
    .unwrap();
    hex::decode(json[name].as_str().unwrap()).unwrap()
}

fn key(prefix: &str) -> PrivateKey {
    PrivateKey::from_scalar(Curve::P256, &v(&format!("{prefix}_d"))).unwrap()
}

fn transcript() -> SessionTranscript {
    SessionTranscript::from_tagged_bytes(&v("session_transcript_bytes"), &CborLimits::default())
        .unwrap()
}

fn trust(name: &str) -> TrustStore {
    let mut t = TrustStore::new();
    t.add(Certificate::from_der(&v(name)).unwrap()).unwrap();
    t
}

const AT: time::OffsetDateTime = datetime!(2021-01-01 0:00 UTC);

#[test]
fn device_response_round_trips_byte_for_byte() {
    let bytes = v("device_response");
    let response = DeviceResponse::from_bytes(&bytes, &CborLimits::default()).unwrap();
    assert_eq!(response.documents.len(), 1);
    assert_eq!(response.documents[0].doc_type, "org.iso.18013.5.1.mDL");
    assert_eq!(response.to_bytes(), bytes);
    let mso = response.documents[0].issuer_signed.issuer_auth.mso();
    assert_eq!(
        mso.value_digests
            .iter()
            .map(|(ns, d)| (ns.as_str(), d.len()))
            .collect::<Vec<_>>(),
        [("org.iso.18013.5.1", 13), ("org.iso.18013.5.1.US", 4)]
    );
}

#[test]
fn device_response_verifies_end_to_end() {
    let trust = trust("iaca_cert");
    let verifier = MdocVerifier::new(&trust);
    let docs = verifier
        .verify_response(
            &v("device_response"),
            &transcript(),
            Some(&key("ephemeral_reader_key")),
            AT,
        )
        .unwrap();
    let doc = &docs[0];
    assert_eq!(doc.device_auth, DeviceAuthMode::Mac);
    assert_eq!(
        doc.document_signer.common_name().as_deref(),
        Some("utopia ds")
    );
    let ns = "org.iso.18013.5.1";
    let disclosed: Vec<&str> = doc.issuer_signed[0]
        .1
        .iter()
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(disclosed.len(), 6);
    assert_eq!(
        doc.element(ns, "family_name")
            .and_then(ElementValue::as_text),
        Some("Doe")
    );
    assert_eq!(
        doc.element(ns, "issue_date")
            .and_then(ElementValue::as_full_date),
        Some(date!(2019 - 10 - 20))
    );
    assert_eq!(
        doc.element(ns, "portrait").and_then(ElementValue::as_bytes),
        Some(&v("device_response_portrait_data")[..])
    );

    // deviceMac needs the reader's ephemeral key; a wrong one is a MAC failure.
    assert_eq!(
        verifier
            .verify_response(&v("device_response"), &transcript(), None, AT)
            .unwrap_err(),
        MdocError::DeviceAuth(DeviceAuthError::MacNeedsReaderKey)
    );
    let other = PrivateKey::generate(Curve::P256).unwrap();
    assert_eq!(
        verifier
            .verify_response(&v("device_response"), &transcript(), Some(&other), AT)
            .unwrap_err(),
        MdocError::DeviceAuth(DeviceAuthError::BadMac)
    );
}

#[test]
fn session_messages_decrypt_to_the_request_and_response() {
    let limits = CborLimits::default();
    let establishment =
        SessionEstablishment::from_bytes(&v("session_establishment"), &limits).unwrap();
    assert_eq!(
        establishment.e_reader_key,
        *key("ephemeral_reader_key").public_key()
    );
    let mut mdoc = Session::with_transcript(
        kmid_crypto::CryptoProvider::get_default(),
        Role::Mdoc,
        &key("ephemeral_device_key"),
        &establishment.e_reader_key,
        transcript(),
    )
    .unwrap();
    assert_eq!(
        *mdoc.decrypt(&establishment.data).unwrap(),
        v("device_request")
    );

    let mut reader = Session::with_transcript(
        kmid_crypto::CryptoProvider::get_default(),
        Role::Reader,
        &key("ephemeral_reader_key"),
        &PublicKey::from_coordinates(
            Curve::P256,
            &v("ephemeral_device_key_x"),
            Some(&v("ephemeral_device_key_y")),
        )
        .unwrap(),
        transcript(),
    )
    .unwrap();
    // The reader's own first message reproduces the Annex D ciphertext exactly.
    assert_eq!(
        reader.encrypt(&v("device_request")).unwrap(),
        establishment.data
    );
    let data = SessionData::from_bytes(&v("session_data"), &limits).unwrap();
    assert_eq!(*reader.open(&data).unwrap().unwrap(), v("device_response"));
    // And the mdoc's answer reproduces the Annex D SessionData.
    assert_eq!(
        mdoc.seal(&v("device_response")).unwrap().to_bytes(),
        v("session_data")
    );
    // Termination.
    let end = SessionData::from_bytes(&v("session_termination"), &limits).unwrap();
    assert_eq!(end.status, Some(20));
    assert_eq!(mdoc.terminate().to_bytes(), v("session_termination"));
}

#[test]
fn device_request_reader_auth_verifies_against_the_reader_root() {
    let request = DeviceRequest::from_bytes(&v("device_request"), &CborLimits::default()).unwrap();
    assert_eq!(request.to_bytes(), v("device_request"));
    let doc_request = &request.doc_requests[0];
    assert_eq!(
        doc_request
            .items_request
            .intent_to_retain("org.iso.18013.5.1", "portrait"),
        Some(false)
    );
    assert_eq!(
        doc_request
            .items_request
            .intent_to_retain("org.iso.18013.5.1", "family_name"),
        Some(true)
    );
    let chain = verify_reader_auth(
        doc_request,
        &transcript(),
        &trust("reader_root_cert"),
        AT,
        &Algorithm::ALL,
        &DefaultVerifier,
    )
    .unwrap();
    assert_eq!(
        chain.leaf_key,
        *Certificate::from_der(&v("reader_cert"))
            .unwrap()
            .public_key()
    );
    // Not under the issuer's root.
    assert!(matches!(
        verify_reader_auth(
            doc_request,
            &transcript(),
            &trust("iaca_cert"),
            AT,
            &Algorithm::ALL,
            &DefaultVerifier
        ),
        Err(MdocError::ReaderAuth(ReaderAuthError::Chain(_)))
    ));
}

#[test]
fn device_engagement_is_read_from_bytes_and_qr() {
    let limits = CborLimits::default();
    let de = DeviceEngagement::from_bytes(&v("device_engagement"), &limits).unwrap();
    assert_eq!(de.version, "1.0");
    assert_eq!(de.e_device_key, *key("ephemeral_device_key").public_key());
    assert_eq!(de.retrieval_methods[0].method_type, 2, "BLE");
    let qr = de.to_qr_uri();
    assert!(qr.starts_with("mdoc:"));
    assert_eq!(DeviceEngagement::from_qr_uri(&qr, &limits).unwrap(), de);
    assert_eq!(de.raw(), v("device_engagement"));
}

#[test]
fn the_transcript_salt_is_sha256_of_the_tagged_bytes() {
    assert_eq!(transcript().tagged_bytes(), v("session_transcript_bytes"));
    let auth = kmid_mdoc::device_authentication_bytes(
        &transcript(),
        "org.iso.18013.5.1.mDL",
        // An empty DeviceNameSpaces, as in Annex D.
        &[0xD8, 0x18, 0x41, 0xA0],
    );
    assert_eq!(auth, v("device_authentication_bytes"));
    let request = DeviceRequest::from_bytes(&v("device_request"), &CborLimits::default()).unwrap();
    assert_eq!(
        kmid_mdoc::reader_authentication_bytes(
            &transcript(),
            request.doc_requests[0].items_request_bytes()
        ),
        v("reader_authentication_bytes")
    );
}
