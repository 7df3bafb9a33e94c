//! Each Korean card: issue → request a subset → respond → verify, with deviceSignature and
//! deviceMac, with and without session encryption; the verifier sees exactly what was asked.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use kmid_crypto::{Curve, PrivateKey};
use kmid_mdoc::holder::{DeviceKeyAuth, HeldMdoc, HolderPolicy, respond};
use kmid_mdoc::model::{
    DeviceEngagement, DeviceRequest, DeviceResponse, Handover, ItemsRequest, RetrievalMethod,
    SessionTranscript,
};
use kmid_mdoc::reader::signed_doc_request;
use kmid_mdoc::session::{Session, SessionEstablishment};
use kmid_mdoc::verifier::{DeviceAuthMode, MdocVerifier};
use kmid_mdoc::{CborLimits, ElementValue};
use kmid_schema::IdentityCard;
use kmid_schema::catalogue::{self, ISO_23220_NAMESPACE, KOREAN_NAMESPACE};
use kmid_testkit::samples;
use kmid_testkit::{REFERENCE_TIME, TestPki};

/// The subset a bank counter asks for: name, birth date, portrait, and the registration
/// number (with intent to retain), plus one element the card does not have.
fn bank_request(doc_type: &str) -> ItemsRequest {
    ItemsRequest {
        doc_type: doc_type.into(),
        name_spaces: vec![
            (
                ISO_23220_NAMESPACE.into(),
                vec![
                    ("family_name_unicode".into(), false),
                    ("birth_date".into(), false),
                    ("portrait".into(), false),
                    ("age_over_19".into(), false),
                    ("not_an_element".into(), false),
                ],
            ),
            (
                KOREAN_NAMESPACE.into(),
                vec![("registration_number".into(), true)],
            ),
        ],
        request_info: vec![],
        optional: vec![],
    }
}

fn asked(request: &ItemsRequest) -> Vec<(String, String)> {
    request
        .name_spaces
        .iter()
        .flat_map(|(ns, els)| els.iter().map(move |(e, _)| (ns.clone(), e.clone())))
        .collect()
}

#[test]
fn every_card_in_both_device_auth_modes_with_and_without_session_encryption() {
    let pki = TestPki::new();
    let trust = pki.trust_store();
    let limits = CborLimits::default();
    for card in samples::all() {
        let device_key = PrivateKey::generate(Curve::P256).unwrap();
        let mdoc = common::issue(&pki, &card, &device_key, &common::options());
        let doc_type = card.card_type().doc_type();
        let items = bank_request(doc_type);

        for mac in [false, true] {
            for encrypted in [false, true] {
                // Engagement: the phone shows a QR code with its ephemeral key.
                let e_device = PrivateKey::generate(Curve::P256).unwrap();
                let engagement = DeviceEngagement::new(
                    e_device.public_key().clone(),
                    vec![RetrievalMethod {
                        method_type: 2,
                        version: 1,
                        options: ElementValue::Map(vec![(
                            ElementValue::Uint(0),
                            ElementValue::Bool(false),
                        )]),
                    }],
                )
                .unwrap();
                let engagement =
                    DeviceEngagement::from_qr_uri(&engagement.to_qr_uri(), &limits).unwrap();
                let e_reader = PrivateKey::generate(Curve::P256).unwrap();
                let mut reader_session = Session::reader(
                    kmid_crypto::CryptoProvider::get_default(),
                    &e_reader,
                    &engagement,
                    &Handover::Qr,
                )
                .unwrap();
                let transcript = reader_session.transcript().clone();

                // The reader signs its request.
                let doc_request = signed_doc_request(
                    items.clone(),
                    &transcript,
                    &pki.reader_signer,
                    std::slice::from_ref(&pki.reader),
                )
                .unwrap();
                let request_bytes = DeviceRequest::new(vec![doc_request]).to_bytes();

                // Transport: encrypted or in the clear.
                let received = if encrypted {
                    let establishment = reader_session.establish(&request_bytes).unwrap();
                    let establishment =
                        SessionEstablishment::from_bytes(&establishment.to_bytes(), &limits)
                            .unwrap();
                    let mut mdoc_session = Session::mdoc(
                        kmid_crypto::CryptoProvider::get_default(),
                        &e_device,
                        &engagement,
                        &establishment,
                        &Handover::Qr,
                    )
                    .unwrap();
                    assert_eq!(
                        mdoc_session.transcript(),
                        &transcript,
                        "both sides hold the same transcript"
                    );
                    let request = DeviceRequest::from_bytes(
                        &mdoc_session.decrypt(&establishment.data).unwrap(),
                        &limits,
                    )
                    .unwrap();
                    (request, Some(mdoc_session))
                } else {
                    (
                        DeviceRequest::from_bytes(&request_bytes, &limits).unwrap(),
                        None,
                    )
                };
                let (request, mdoc_session) = received;

                // The holder checks the reader and answers.
                let mut policy = HolderPolicy::new(REFERENCE_TIME);
                policy.reader_trust = Some(pki.reader_trust_store());
                policy.require_reader_auth = true;
                let device_auth = if mac {
                    DeviceKeyAuth::Mac {
                        device_key: &device_key,
                        e_reader_key: e_reader.public_key(),
                    }
                } else {
                    DeviceKeyAuth::Signature(&device_key)
                };
                let held = HeldMdoc {
                    issuer_signed: &mdoc,
                    device_auth,
                    device_signed: &vec![],
                };
                let response = respond(&request, &transcript, &[held], &policy)
                    .unwrap()
                    .to_bytes();
                let response = match mdoc_session {
                    Some(mut s) => {
                        let sealed = s.seal(&response).unwrap().to_bytes();
                        let data =
                            kmid_mdoc::session::SessionData::from_bytes(&sealed, &limits).unwrap();
                        reader_session.open(&data).unwrap().unwrap().to_vec()
                    }
                    None => response,
                };

                // The reader verifies.
                let docs = MdocVerifier::new(&trust)
                    .verify_response(&response, &transcript, Some(&e_reader), REFERENCE_TIME)
                    .unwrap();
                let doc = &docs[0];
                assert_eq!(
                    doc.device_auth,
                    if mac {
                        DeviceAuthMode::Mac
                    } else {
                        DeviceAuthMode::Signature
                    }
                );
                let mut verified: Vec<(String, String)> = doc
                    .issuer_signed
                    .iter()
                    .flat_map(|(ns, els)| els.iter().map(move |(e, _)| (ns.clone(), e.clone())))
                    .collect();
                let mut expected: Vec<(String, String)> = asked(&items)
                    .into_iter()
                    .filter(|(_, e)| e != "not_an_element")
                    .collect();
                verified.sort();
                expected.sort();
                assert_eq!(
                    verified,
                    expected,
                    "{:?} mac={mac} encrypted={encrypted}",
                    card.card_type()
                );
                assert_eq!(
                    doc.errors,
                    vec![(
                        ISO_23220_NAMESPACE.to_owned(),
                        vec![("not_an_element".to_owned(), 0)]
                    )]
                );

                // The values are the card's.
                let claims = card.claims(REFERENCE_TIME.date());
                for (ns, els) in &doc.issuer_signed {
                    for (id, value) in els {
                        let spec = catalogue::by_mdoc_element(ns, id).unwrap();
                        let claim = claims.iter().find(|c| c.id == spec.id).unwrap();
                        assert_eq!(
                            value,
                            &ElementValue::from_claim(&claim.value, spec.mdoc.cbor).unwrap(),
                            "{id}"
                        );
                    }
                }
                assert_eq!(
                    doc.element(KOREAN_NAMESPACE, "registration_number")
                        .and_then(ElementValue::as_text),
                    Some(card.registration_number().expose().as_str())
                );
            }
        }
    }
}

#[test]
fn a_withheld_element_is_reported_not_returned() {
    let pki = TestPki::new();
    let card = kmid_schema::Card::from(samples::resident());
    let device_key = PrivateKey::generate(Curve::P256).unwrap();
    let mdoc = common::issue(&pki, &card, &device_key, &common::options());
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    let request = DeviceRequest::new(vec![kmid_mdoc::model::DocRequest::new(bank_request(
        card.card_type().doc_type(),
    ))]);
    let mut policy = HolderPolicy::new(REFERENCE_TIME);
    policy
        .withheld
        .push((KOREAN_NAMESPACE.into(), "registration_number".into()));
    let held = HeldMdoc {
        issuer_signed: &mdoc,
        device_auth: DeviceKeyAuth::Signature(&device_key),
        device_signed: &vec![],
    };
    let response = respond(&request, &transcript, &[held], &policy).unwrap();
    let doc = &response.documents[0];
    assert!(
        doc.issuer_signed
            .name_spaces
            .iter()
            .all(|(ns, _)| ns != KOREAN_NAMESPACE)
    );
    assert!(doc.errors.contains(&(
        KOREAN_NAMESPACE.to_owned(),
        vec![("registration_number".to_owned(), 0)]
    )));
    // A docType the wallet does not hold is a document error.
    let other = DeviceRequest::new(vec![kmid_mdoc::model::DocRequest::new(bank_request(
        "kr.go.moj.rc.1",
    ))]);
    let response = respond(&other, &transcript, &[held], &policy).unwrap();
    assert!(response.documents.is_empty());
    assert_eq!(
        response.document_errors,
        vec![("kr.go.moj.rc.1".to_owned(), 0)]
    );
    assert_eq!(
        DeviceResponse::from_bytes(&response.to_bytes(), &CborLimits::default()).unwrap(),
        response
    );
}

#[test]
fn openid4vp_handover_matches_the_specification_example() {
    // OpenID4VP 1.0, "Invocation via Redirects": the example OpenID4VPHandoverInfo and the
    // SessionTranscript it yields.
    let handover = Handover::OpenId4Vp {
        client_id: "x509_san_dns:example.com".into(),
        nonce: "exc7gBkxjx1rdc9udRrveKvSsJIq80avlXeLHhGwqtA".into(),
        jwk_thumbprint: Some(
            hex::decode("4283ec927ae0f208daaa2d026a814f2b22dca52cf85ffa8f3f8626c6bd669047")
                .unwrap(),
        ),
        response_uri: "https://example.com/response".into(),
    };
    assert_eq!(
        hex::encode(handover.info_bytes().unwrap()),
        concat!(
            "847818783530395f73616e5f646e733a6578616d706c652e636f6d782b6578633767",
            "426b786a7831726463397564527276654b7653734a4971383061766c58654c486847",
            "7771744158204283ec927ae0f208daaa2d026a814f2b22dca52cf85ffa8f3f8626c6",
            "bd669047781c68747470733a2f2f6578616d706c652e636f6d2f726573706f6e7365"
        )
    );
    let transcript = SessionTranscript::new(None, None, &handover).unwrap();
    assert_eq!(
        hex::encode(transcript.bytes()),
        concat!(
            "83f6f682714f70656e494434565048616e646f7665725820048bc053c00442af9b8e",
            "ed494cefdd9d95240d254b046b11b68013722aad38ac"
        )
    );
}
