//! Attacks and mistakes a verifier must catch, each with its exact error.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use kmid_crypto::x509::{CertificateKind, CertificateParams, TrustStore, issue_certificate};
use kmid_crypto::{CertificateError, CryptoError, Curve, PrivateKey, SystemRandom};
use kmid_mdoc::holder::{DeviceKeyAuth, HeldMdoc, HolderPolicy, respond};
use kmid_mdoc::model::{
    DeviceRequest, DeviceResponse, DocRequest, Handover, IssuerSigned, IssuerSignedItem,
    IssuerSignedItemBytes, ItemsRequest, KeyAuthorizations, SessionTranscript,
};
use kmid_mdoc::reader::signed_doc_request;
use kmid_mdoc::verifier::MdocVerifier;
use kmid_mdoc::{CborErrorKind, CborLimits, ElementValue};
use kmid_mdoc::{
    DeviceAuthError, DigestError, IssuerAuthError, MdocError, ReaderAuthError, ValidityError,
};
use kmid_schema::Card;
use kmid_schema::catalogue::{ISO_23220_NAMESPACE, KOREAN_NAMESPACE};
use kmid_schema::status::{
    StatusContext, StatusError, StatusReference, StatusResolver, TokenStatus,
};
use kmid_testkit::samples;
use kmid_testkit::{Authority, REFERENCE_TIME, TestPki};
use time::{Duration, OffsetDateTime};

struct Setup {
    pki: TestPki,
    device_key: PrivateKey,
    mdoc: IssuerSigned,
    transcript: SessionTranscript,
}

fn setup_with(options: &kmid_mdoc::issuer::MsoOptions) -> Setup {
    let pki = TestPki::new();
    let device_key = PrivateKey::generate(Curve::P256).unwrap();
    let mdoc = common::issue(&pki, &Card::from(samples::resident()), &device_key, options);
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    Setup {
        pki,
        device_key,
        mdoc,
        transcript,
    }
}

fn setup() -> Setup {
    setup_with(&common::options())
}

fn request() -> DeviceRequest {
    DeviceRequest::new(vec![DocRequest::new(ItemsRequest {
        doc_type: "kr.go.mois.rrc.1".into(),
        name_spaces: vec![(
            ISO_23220_NAMESPACE.into(),
            vec![
                ("family_name_unicode".into(), false),
                ("given_name_unicode".into(), false),
                ("birth_date".into(), false),
            ],
        )],
        request_info: vec![],
        optional: vec![],
    })])
}

impl Setup {
    fn response_with(
        &self,
        auth: DeviceKeyAuth<'_>,
        device_signed: &kmid_mdoc::model::DeviceNameSpaces,
    ) -> DeviceResponse {
        self.response_for(&request(), auth, device_signed)
    }

    fn response_for(
        &self,
        request: &DeviceRequest,
        auth: DeviceKeyAuth<'_>,
        device_signed: &kmid_mdoc::model::DeviceNameSpaces,
    ) -> DeviceResponse {
        let held = HeldMdoc {
            issuer_signed: &self.mdoc,
            device_auth: auth,
            device_signed,
        };
        respond(
            request,
            &self.transcript,
            &[held],
            &HolderPolicy::new(REFERENCE_TIME),
        )
        .unwrap()
    }
    fn response(&self) -> DeviceResponse {
        self.response_with(DeviceKeyAuth::Signature(&self.device_key), &vec![])
    }

    fn verify(&self, response: &DeviceResponse) -> Result<(), MdocError> {
        self.verify_at(&response.to_bytes(), REFERENCE_TIME)
    }

    fn verify_at(&self, bytes: &[u8], at: OffsetDateTime) -> Result<(), MdocError> {
        let trust = self.pki.trust_store();
        MdocVerifier::new(&trust)
            .verify_response(bytes, &self.transcript, None, at)
            .map(drop)
    }
}

/// Replaces the first disclosed item with `f(item)`, re-encoded.
fn with_item(
    response: &mut DeviceResponse,
    f: impl FnOnce(&mut IssuerSignedItem),
) -> (String, String, u64) {
    let (ns, items) = &mut response.documents[0].issuer_signed.name_spaces[0];
    let mut item = items[0].item().clone();
    f(&mut item);
    let out = (ns.clone(), item.element_identifier.clone(), item.digest_id);
    items[0] = IssuerSignedItemBytes::new(item);
    out
}

#[test]
fn the_unmodified_response_verifies() {
    let s = setup();
    s.verify(&s.response()).unwrap();
}

#[test]
fn a_tampered_element_value_fails_its_digest() {
    let s = setup();
    let mut r = s.response();
    let (namespace, element, digest_id) = with_item(&mut r, |i| {
        i.element_value = ElementValue::Text("박".into())
    });
    assert_eq!(
        s.verify(&r).unwrap_err(),
        MdocError::Digest {
            namespace,
            element,
            kind: DigestError::Mismatch { digest_id }
        }
    );
}

#[test]
fn a_swapped_digest_id_fails_its_digest() {
    let s = setup();
    let mut r = s.response();
    let other_id = r.documents[0].issuer_signed.name_spaces[0].1[1]
        .item()
        .digest_id;
    let (namespace, element, _) = with_item(&mut r, |i| i.digest_id = other_id);
    // The first item now claims the second's digestID: its bytes do not hash to that digest.
    assert_eq!(
        s.verify(&r).unwrap_err(),
        MdocError::Digest {
            namespace,
            element,
            kind: DigestError::Mismatch {
                digest_id: other_id
            }
        }
    );
}

#[test]
fn an_element_from_another_document_is_refused() {
    let s = setup();
    // The same card issued again (other salts, other digestIDs) to the same device.
    let other = common::issue_seeded(
        &s.pki,
        &Card::from(samples::resident()),
        &s.device_key,
        &common::options(),
        "another issuance",
    );
    let foreign = other.name_spaces[0]
        .1
        .iter()
        .find(|i| i.item().element_identifier == "family_name_unicode")
        .unwrap()
        .clone();
    let mut r = s.response();
    r.documents[0].issuer_signed.name_spaces[0].1[0] = foreign.clone();
    let digest_id = foreign.item().digest_id;
    let kind = if s
        .mdoc
        .issuer_auth
        .mso()
        .digest(ISO_23220_NAMESPACE, digest_id)
        .is_some()
    {
        DigestError::Mismatch { digest_id }
    } else {
        DigestError::Missing { digest_id }
    };
    assert_eq!(
        s.verify(&r).unwrap_err(),
        MdocError::Digest {
            namespace: ISO_23220_NAMESPACE.into(),
            element: "family_name_unicode".into(),
            kind
        }
    );
}

#[test]
fn a_disclosed_digest_id_twice_is_refused() {
    let s = setup();
    let mut r = s.response();
    let first = r.documents[0].issuer_signed.name_spaces[0].1[0].clone();
    r.documents[0].issuer_signed.name_spaces[0]
        .1
        .push(first.clone());
    assert_eq!(
        s.verify(&r).unwrap_err(),
        MdocError::Digest {
            namespace: ISO_23220_NAMESPACE.into(),
            element: first.item().element_identifier.clone(),
            kind: DigestError::DuplicateDigestId {
                digest_id: first.item().digest_id
            }
        }
    );
}

#[test]
fn the_mso_doc_type_must_be_the_documents() {
    let s = setup();
    let mut r = s.response();
    r.documents[0].doc_type = "kr.go.moj.rc.1".into();
    assert_eq!(
        s.verify(&r).unwrap_err(),
        MdocError::DocTypeMismatch {
            mso: "kr.go.mois.rrc.1".into(),
            document: "kr.go.moj.rc.1".into()
        }
    );
}

#[test]
fn validity_window_edges() {
    let s = setup();
    let bytes = s.response().to_bytes();
    let v = s.mdoc.issuer_auth.mso().validity_info;
    s.verify_at(&bytes, v.valid_from).unwrap();
    s.verify_at(&bytes, v.valid_until).unwrap();
    assert_eq!(
        s.verify_at(&bytes, v.valid_until + Duration::seconds(1))
            .unwrap_err(),
        MdocError::Validity(ValidityError::Expired {
            valid_until: v.valid_until.unix_timestamp(),
            at: v.valid_until.unix_timestamp() + 1
        })
    );
    assert_eq!(
        s.verify_at(&bytes, v.valid_from - Duration::seconds(1))
            .unwrap_err(),
        MdocError::Validity(ValidityError::NotYetValid {
            valid_from: v.valid_from.unix_timestamp(),
            at: v.valid_from.unix_timestamp() - 1
        })
    );
    // A configured clock skew admits a reader whose clock is slightly off.
    let trust = s.pki.trust_store();
    MdocVerifier::new(&trust)
        .with_clock_skew(Duration::minutes(5))
        .verify_response(
            &bytes,
            &s.transcript,
            None,
            v.valid_until + Duration::minutes(4),
        )
        .unwrap();
}

#[test]
fn device_authentication_is_bound_to_the_transcript_and_the_key() {
    let s = setup();
    let r = s.response();
    // Another session's transcript: the signature was over this one.
    let other = SessionTranscript::new(
        None,
        None,
        &Handover::OpenId4VpDcApi {
            origin: "https://bank.example".into(),
            nonce: "n-0S6_WzA2Mj".into(),
            jwk_thumbprint: None,
        },
    )
    .unwrap();
    let trust = s.pki.trust_store();
    assert_eq!(
        MdocVerifier::new(&trust)
            .verify_response(&r.to_bytes(), &other, None, REFERENCE_TIME)
            .unwrap_err(),
        MdocError::DeviceAuth(DeviceAuthError::BadSignature)
    );
    // Signed by a key that is not the MSO's device key.
    let thief = PrivateKey::generate(Curve::P256).unwrap();
    let stolen = s.response_with(DeviceKeyAuth::Signature(&thief), &vec![]);
    assert_eq!(
        s.verify(&stolen).unwrap_err(),
        MdocError::DeviceAuth(DeviceAuthError::BadSignature)
    );
}

#[test]
fn device_mac_with_the_wrong_key_fails() {
    let s = setup();
    let e_reader = PrivateKey::generate(Curve::P256).unwrap();
    let wrong_device = PrivateKey::generate(Curve::P256).unwrap();
    let r = s.response_with(
        DeviceKeyAuth::Mac {
            device_key: &wrong_device,
            e_reader_key: e_reader.public_key(),
        },
        &vec![],
    );
    let trust = s.pki.trust_store();
    let verifier = MdocVerifier::new(&trust);
    assert_eq!(
        verifier
            .verify_response(
                &r.to_bytes(),
                &s.transcript,
                Some(&e_reader),
                REFERENCE_TIME
            )
            .unwrap_err(),
        MdocError::DeviceAuth(DeviceAuthError::BadMac)
    );
    let good = s.response_with(
        DeviceKeyAuth::Mac {
            device_key: &s.device_key,
            e_reader_key: e_reader.public_key(),
        },
        &vec![],
    );
    verifier
        .verify_response(
            &good.to_bytes(),
            &s.transcript,
            Some(&e_reader),
            REFERENCE_TIME,
        )
        .unwrap();
    // The MAC under another reader's ephemeral key does not verify either.
    let other_reader = PrivateKey::generate(Curve::P256).unwrap();
    assert_eq!(
        verifier
            .verify_response(
                &good.to_bytes(),
                &s.transcript,
                Some(&other_reader),
                REFERENCE_TIME
            )
            .unwrap_err(),
        MdocError::DeviceAuth(DeviceAuthError::BadMac)
    );
}

#[test]
fn an_untrusted_iaca_is_refused() {
    let s = setup();
    let mut moj_only = TrustStore::new();
    moj_only
        .add(s.pki.issuer(Authority::Moj).iaca.clone())
        .unwrap();
    assert_eq!(
        MdocVerifier::new(&moj_only)
            .verify_response(
                &s.response().to_bytes(),
                &s.transcript,
                None,
                REFERENCE_TIME
            )
            .unwrap_err(),
        MdocError::IssuerAuth(IssuerAuthError::Chain(CryptoError::Certificate(
            CertificateError::UntrustedRoot
        )))
    );
}

#[test]
fn a_tampered_issuer_signature_is_refused() {
    let s = setup();
    let r = s.response();
    let mut bytes = r.to_bytes();
    let signature = &s.mdoc.issuer_auth.sign1().signature;
    let at = bytes
        .windows(signature.len())
        .position(|w| w == signature.as_slice())
        .unwrap();
    bytes[at + 10] ^= 0x01;
    assert_eq!(
        s.verify_at(&bytes, REFERENCE_TIME).unwrap_err(),
        MdocError::IssuerAuth(IssuerAuthError::BadSignature)
    );
}

#[test]
fn only_allowed_algorithms_are_accepted() {
    let s = setup();
    let trust = s.pki.trust_store();
    let err = MdocVerifier::new(&trust)
        .with_algorithms(&[kmid_crypto::Algorithm::Es384])
        .verify_response(
            &s.response().to_bytes(),
            &s.transcript,
            None,
            REFERENCE_TIME,
        )
        .unwrap_err();
    assert_eq!(
        err,
        MdocError::IssuerAuth(IssuerAuthError::Algorithm(
            kmid_crypto::AlgorithmRefusal::NotAllowed(kmid_crypto::Algorithm::Es256)
        ))
    );
}

#[test]
fn reader_auth_by_an_untrusted_reader_is_refused() {
    let s = setup();
    let rogue_root_key = PrivateKey::generate(Curve::P256).unwrap();
    let params = |kind, cn: &str| CertificateParams {
        kind,
        country: "KR".into(),
        organization: None,
        state_or_province: None,
        common_name: cn.into(),
        not_before: REFERENCE_TIME - Duration::days(10),
        not_after: REFERENCE_TIME + Duration::days(10),
        issuer_alt_name: None,
        crl_uri: None,
        dns_names: Vec::new(),
    };
    let rogue_root = issue_certificate(
        &params(CertificateKind::ReaderRoot, "rogue root"),
        rogue_root_key.public_key(),
        None,
        &rogue_root_key,
        &SystemRandom,
    )
    .unwrap();
    let rogue_key = PrivateKey::generate(Curve::P256).unwrap();
    let rogue = issue_certificate(
        &params(CertificateKind::ReaderAuthentication, "rogue reader"),
        rogue_key.public_key(),
        Some(&rogue_root),
        &rogue_root_key,
        &SystemRandom,
    )
    .unwrap();
    let items = request().doc_requests[0].items_request.clone();
    let signed = signed_doc_request(items.clone(), &s.transcript, &rogue_key, &[rogue]).unwrap();
    let mut policy = HolderPolicy::new(REFERENCE_TIME);
    policy.reader_trust = Some(s.pki.reader_trust_store());
    let held = HeldMdoc {
        issuer_signed: &s.mdoc,
        device_auth: DeviceKeyAuth::Signature(&s.device_key),
        device_signed: &vec![],
    };
    assert_eq!(
        respond(
            &DeviceRequest::new(vec![signed]),
            &s.transcript,
            &[held],
            &policy
        )
        .unwrap_err(),
        MdocError::ReaderAuth(ReaderAuthError::Chain(CryptoError::Certificate(
            CertificateError::UntrustedRoot
        )))
    );
    // Unsigned, when the policy requires reader authentication.
    policy.require_reader_auth = true;
    assert_eq!(
        respond(
            &DeviceRequest::new(vec![DocRequest::new(items.clone())]),
            &s.transcript,
            &[held],
            &policy
        )
        .unwrap_err(),
        MdocError::ReaderAuth(ReaderAuthError::Missing)
    );
    // Signed by the trusted reader, but for another session.
    let other = SessionTranscript::new(
        None,
        None,
        &Handover::Nfc {
            handover_select: vec![1],
            handover_request: None,
        },
    )
    .unwrap();
    let replayed = signed_doc_request(
        items,
        &other,
        &s.pki.reader_signer,
        std::slice::from_ref(&s.pki.reader),
    )
    .unwrap();
    assert_eq!(
        respond(
            &DeviceRequest::new(vec![replayed]),
            &s.transcript,
            &[held],
            &policy
        )
        .unwrap_err(),
        MdocError::ReaderAuth(ReaderAuthError::BadSignature)
    );
}

#[test]
fn device_signed_elements_need_key_authorization() {
    let mut options = common::options();
    options.key_authorizations = Some(KeyAuthorizations {
        name_spaces: vec![],
        data_elements: vec![(KOREAN_NAMESPACE.into(), vec!["youth_act_adult".into()])],
    });
    let s = setup_with(&options);
    let mut asking = request();
    let items = asking.doc_requests[0].items_request.clone();
    let mut items = items;
    items.name_spaces.push((
        KOREAN_NAMESPACE.into(),
        vec![
            ("youth_act_adult".into(), false),
            ("registration_number".into(), false),
        ],
    ));
    asking = DeviceRequest::new(vec![DocRequest::new(items)]);
    let allowed = vec![(
        KOREAN_NAMESPACE.to_owned(),
        vec![("youth_act_adult".to_owned(), ElementValue::Bool(true))],
    )];
    let r = s.response_for(&asking, DeviceKeyAuth::Signature(&s.device_key), &allowed);
    assert_eq!(r.documents[0].device_signed.name_spaces, allowed);
    s.verify(&r).unwrap();
    // Not requested: the holder does not release it at all.
    let r = s.response_with(DeviceKeyAuth::Signature(&s.device_key), &allowed);
    assert!(r.documents[0].device_signed.name_spaces.is_empty());
    let outside = vec![(
        KOREAN_NAMESPACE.to_owned(),
        vec![(
            "registration_number".to_owned(),
            ElementValue::Text("x".into()),
        )],
    )];
    let r = s.response_for(&asking, DeviceKeyAuth::Signature(&s.device_key), &outside);
    assert_eq!(
        s.verify(&r).unwrap_err(),
        MdocError::DeviceAuth(DeviceAuthError::NotAuthorized {
            namespace: KOREAN_NAMESPACE.into(),
            element: "registration_number".into()
        })
    );
}

#[test]
fn trailing_and_truncated_input_is_refused() {
    let s = setup();
    let mut bytes = s.response().to_bytes();
    let len = bytes.len();
    bytes.push(0);
    assert_eq!(
        s.verify_at(&bytes, REFERENCE_TIME).unwrap_err(),
        MdocError::Cbor(kmid_mdoc::CborError {
            at: len,
            kind: CborErrorKind::TrailingBytes(1)
        })
    );
    bytes.truncate(len - 1);
    assert_eq!(
        s.verify_at(&bytes, REFERENCE_TIME).unwrap_err(),
        MdocError::Cbor(kmid_mdoc::CborError {
            at: len - 1,
            kind: CborErrorKind::Truncated
        })
    );
    for cut in [1, len / 3, len / 2, len - 10] {
        assert!(
            matches!(
                DeviceResponse::from_bytes(&bytes[..cut], &CborLimits::default()),
                Err(MdocError::Cbor(_))
            ),
            "{cut}"
        );
    }
}

struct FixedStatus(Result<TokenStatus, StatusError>);

impl StatusResolver for FixedStatus {
    fn resolve(
        &self,
        reference: &StatusReference,
        context: &StatusContext<'_>,
        _: OffsetDateTime,
    ) -> Result<TokenStatus, StatusError> {
        // The verifier names the IACA the credential chained to, so a resolver can bind the
        // list's signer to it.
        let pki = TestPki::new();
        assert_eq!(
            context.issuer_anchor,
            Some(pki.issuer(Authority::Mois).iaca.der())
        );
        assert_eq!(
            reference,
            &StatusReference {
                idx: 4242,
                uri: "https://status.mois.go.kr/lists/7".into()
            }
        );
        self.0.clone()
    }
}

#[test]
fn status_is_checked_through_the_resolver() {
    let mut options = common::options();
    options.status = Some(StatusReference {
        idx: 4242,
        uri: "https://status.mois.go.kr/lists/7".into(),
    });
    let s = setup_with(&options);
    let bytes = s.response().to_bytes();
    let trust = s.pki.trust_store();
    let verify = |resolver: &dyn StatusResolver| {
        MdocVerifier::new(&trust)
            .with_status_resolver(resolver)
            .verify_response(&bytes, &s.transcript, None, REFERENCE_TIME)
    };
    assert_eq!(
        verify(&FixedStatus(Ok(TokenStatus::Valid))).unwrap()[0].status,
        Some(TokenStatus::Valid)
    );
    assert_eq!(
        verify(&FixedStatus(Ok(TokenStatus::Suspended))).unwrap_err(),
        MdocError::Status(TokenStatus::Suspended)
    );
    assert_eq!(
        verify(&FixedStatus(Ok(TokenStatus::Invalid))).unwrap_err(),
        MdocError::Status(TokenStatus::Invalid)
    );
    let down = StatusError::Unavailable {
        uri: "https://status.mois.go.kr/lists/7".into(),
        reason: kmid_schema::status::FetchFailure::Timeout,
    };
    assert_eq!(
        verify(&FixedStatus(Err(down.clone()))).unwrap_err(),
        MdocError::StatusUnavailable(down)
    ); // Without a resolver the verifier fails closed; only an explicit, dangerous switch accepts.
    assert_eq!(
        MdocVerifier::new(&trust)
            .verify_response(&bytes, &s.transcript, None, REFERENCE_TIME)
            .unwrap_err(),
        MdocError::StatusUnavailable(StatusError::NoResolver)
    );
    assert_eq!(
        MdocVerifier::new(&trust)
            .danger_accept_unchecked_status()
            .verify_response(&bytes, &s.transcript, None, REFERENCE_TIME)
            .unwrap()[0]
            .status,
        None
    );
}

#[test]
fn one_ministry_cannot_sign_another_ministrys_card() {
    // The Ministry of Justice's Document Signer signs a resident card (MOIS's docType).
    let pki = TestPki::new();
    let moj = pki.issuer(Authority::Moj);
    let random = kmid_testkit::SeededRandom::new(b"cross-authority");
    let device_key = PrivateKey::generate(Curve::P256).unwrap();
    let mdoc = kmid_mdoc::issuer::MdocIssuer::new(&moj.ds_signer, vec![moj.ds.clone()], &random)
        .unwrap()
        .issue(
            &Card::from(samples::resident()),
            device_key.public_key(),
            &common::options(),
        )
        .unwrap();
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    let held = HeldMdoc {
        issuer_signed: &mdoc,
        device_auth: DeviceKeyAuth::Signature(&device_key),
        device_signed: &vec![],
    };
    let response = respond(
        &request(),
        &transcript,
        &[held],
        &HolderPolicy::new(REFERENCE_TIME),
    )
    .unwrap();
    let trust = pki.trust_store();
    assert_eq!(
        MdocVerifier::new(&trust)
            .verify_response(&response.to_bytes(), &transcript, None, REFERENCE_TIME)
            .unwrap_err(),
        MdocError::IssuerAuth(IssuerAuthError::DocTypeNotAuthorized {
            doc_type: "kr.go.mois.rrc.1".into()
        })
    );
}

#[test]
fn an_oversized_x5chain_is_refused_before_it_is_parsed() {
    let pki = TestPki::new();
    let mois = pki.issuer(Authority::Mois);
    let random = kmid_testkit::SeededRandom::new(b"long chain");
    let device_key = PrivateKey::generate(Curve::P256).unwrap();
    let mdoc =
        kmid_mdoc::issuer::MdocIssuer::new(&mois.ds_signer, vec![mois.ds.clone(); 6], &random)
            .unwrap()
            .issue(
                &Card::from(samples::resident()),
                device_key.public_key(),
                &common::options(),
            )
            .unwrap();
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    let held = HeldMdoc {
        issuer_signed: &mdoc,
        device_auth: DeviceKeyAuth::Signature(&device_key),
        device_signed: &vec![],
    };
    let response = respond(
        &request(),
        &transcript,
        &[held],
        &HolderPolicy::new(REFERENCE_TIME),
    )
    .unwrap();
    let trust = pki.trust_store();
    assert_eq!(
        MdocVerifier::new(&trust)
            .verify_response(&response.to_bytes(), &transcript, None, REFERENCE_TIME)
            .unwrap_err(),
        MdocError::IssuerAuth(IssuerAuthError::Chain(CryptoError::Certificate(
            CertificateError::ChainTooLong { length: 6, max: 5 }
        )))
    );
}

#[test]
fn a_response_is_bound_to_its_request() {
    let s = setup();
    let trust = s.pki.trust_store();
    let verifier = MdocVerifier::new(&trust);
    let asked = request();
    let r = s.response();
    let verified = verifier
        .verify_response_for(&asked, &r.to_bytes(), &s.transcript, None, REFERENCE_TIME)
        .unwrap();
    assert_eq!(verified.documents.len(), 1);
    // An answer with no document, where one was asked for.
    let empty = DeviceResponse {
        documents: vec![],
        document_errors: vec![("kr.go.mois.rrc.1".into(), 0)],
        ..r.clone()
    };
    assert_eq!(
        verifier
            .verify_response_for(
                &asked,
                &empty.to_bytes(),
                &s.transcript,
                None,
                REFERENCE_TIME
            )
            .unwrap_err(),
        MdocError::NoDocuments
    );
    // A valid answer with more than was asked: the request narrows to one element.
    let mut narrower = asked.doc_requests[0].items_request.clone();
    narrower.name_spaces[0].1.truncate(1);
    let narrow_request = DeviceRequest::new(vec![DocRequest::new(narrower)]);
    assert_eq!(
        verifier
            .verify_response_for(
                &narrow_request,
                &r.to_bytes(),
                &s.transcript,
                None,
                REFERENCE_TIME
            )
            .unwrap_err(),
        MdocError::NotRequested {
            doc_type: "kr.go.mois.rrc.1".into(),
            namespace: ISO_23220_NAMESPACE.into(),
            element: r.documents[0].issuer_signed.name_spaces[0].1[1]
                .item()
                .element_identifier
                .clone()
        }
    );
}

#[test]
fn a_critical_header_parameter_is_refused() {
    use coset::{CborSerializable, CoseSign1Builder, HeaderBuilder, iana};
    use kmid_crypto::Signer;
    let s = setup();
    let mut r = s.response();
    // A deviceSignature whose protected header marks a private parameter critical.
    let to_sign = kmid_mdoc::device_authentication_bytes(
        &s.transcript,
        "kr.go.mois.rrc.1",
        &[0xD8, 0x18, 0x41, 0xA0],
    );
    let protected = HeaderBuilder::new()
        .algorithm(iana::Algorithm::ES256)
        .add_critical_label(coset::RegisteredLabelWithPrivate::PrivateUse(-65537))
        .build();
    let sign1 = CoseSign1Builder::new()
        .protected(protected)
        .try_create_detached_signature(&to_sign, b"", |tbs| s.device_key.sign(tbs))
        .unwrap()
        .build();
    let raw = sign1.clone().to_vec().unwrap();
    let sign1 = kmid_crypto::cose::CoseSign1::from_slice(&raw, &CborLimits::default()).unwrap();
    r.documents[0].device_signed = kmid_mdoc::model::DeviceSigned::new(
        vec![],
        kmid_mdoc::model::DeviceAuth::Signature { raw, sign1 },
    );
    assert_eq!(
        s.verify(&r).unwrap_err(),
        MdocError::DeviceAuth(DeviceAuthError::CriticalHeader)
    );
}
