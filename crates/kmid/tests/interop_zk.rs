//! Interop with pylongfellow (PyPI; Google's C++ and ISRG's Rust Longfellow): both of its
//! provers make a zero-knowledge `age_over_19` proof over a resident card kmid issued and its
//! wallet presented, and kmid's verifier (kmid-zk) accepts each — and refuses each for another
//! time, transcript, value or issuer.
//!
//! Needs `KMID_INTEROP_PYTHON`, the python of the virtualenv `interop/setup.sh` makes (the
//! README's test command sets it); without it the test says so and checks nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use kmid::crypto::{CryptoProvider, Curve, PrivateKey, SystemRandom};
use kmid::mdoc::model::{DeviceResponse, ResponseStatus, ZkDocument, ZkDocumentData, ZkSignedItem};
use kmid::mdoc::model::{Handover, SessionTranscript};
use kmid::schema::{Card, IdentityCard};
use kmid::status::registry::{MemoryStore, RegistryConfig, StatusRegistry};
use kmid::zk::{ZkCircuits, ZkPolicy};
use kmid::{
    AuthorityKeys, CardKeySecret, Formats, Issuer, IssuingAuthority, Template, Verifier, Wallet,
};
use kmid_testkit::samples;
use kmid_zk::mdoc::{
    Attribute, MdocCircuits, MdocVerifier, Statement, Timestamp, Version, find_spec,
};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

mod common;
use common::AllValid;

fn circuit_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../test-vectors/longfellow/mdoc/circuits/google-v7-1attr.circuit")
}

/// A card's authority with fresh keys (an in-memory registry), and a wallet holding the card's
/// mdoc: the authority's keys, the trust store of its IACA, the wallet.
fn holder(
    card: &Card,
    now: OffsetDateTime,
) -> (AuthorityKeys, kmid::crypto::x509::TrustStore, Wallet) {
    let random = Arc::new(SystemRandom);
    let authority = IssuingAuthority::for_card(card.card_type());
    let keys = AuthorityKeys::generate(authority, now, &*random).unwrap();
    let registry = StatusRegistry::new(
        MemoryStore::new(),
        RegistryConfig::new("https://status.example/lists"),
        random.clone(),
    );
    let issuer = Issuer::new(
        keys.clone(),
        registry,
        CardKeySecret::generate(&*random).unwrap(),
        random,
    );
    let trust = kmid::trust_store([&keys]).unwrap();
    let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), trust.clone());
    let issued = issuer
        .issue(card, wallet.device_key(), Formats::Mdoc, now)
        .unwrap();
    wallet
        .store_mdoc(issued.mdoc.unwrap().issuer_signed, now)
        .unwrap();
    (keys, trust, wallet)
}

#[test]
fn pylongfellow_proves_over_a_kmid_mdoc_and_kmid_verifies() {
    let Some(python) = std::env::var_os("KMID_INTEROP_PYTHON").map(PathBuf::from) else {
        eprintln!("KMID_INTEROP_PYTHON is not set: the pylongfellow interop test checks nothing");
        return;
    };
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let card = Card::from(samples::resident());
    let (keys, trust, wallet) = holder(&card, now);
    let request = Template::AgeCheck.mdoc_request(card.card_type());
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    let response = wallet
        .respond_mdoc(&request, &transcript, now)
        .unwrap()
        .to_bytes();

    let ds = keys
        .document_signer
        .public_key()
        .to_sec1_uncompressed()
        .unwrap();
    let (x, y): ([u8; 32], [u8; 32]) = (
        ds[1..33].try_into().unwrap(),
        ds[33..65].try_into().unwrap(),
    );
    let time = now.format(&Rfc3339).unwrap();
    let doc_type = card.card_type().doc_type();
    let job = json!({
        "circuit": circuit_path(),
        "version": 7,
        "num_attributes": 1,
        "mdoc": hex::encode(&response),
        "issuer_x": hex::encode(x),
        "issuer_y": hex::encode(y),
        "transcript": hex::encode(transcript.bytes()),
        "claims": [{"namespace": kmid::schema::catalogue::ISO_23220_NAMESPACE, "id": "age_over_19", "cbor_value": "f5"}],
        "time": time,
        "doctype": doc_type,
    });
    let dir = std::env::temp_dir().join(format!("kmid-interop-zk-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let job_path = dir.join("job.json");
    std::fs::write(&job_path, job.to_string()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../interop/zk_peer.py");

    let provider = CryptoProvider::get_default();
    let compressed = std::fs::read(circuit_path()).unwrap();
    let circuits =
        MdocCircuits::load(provider, find_spec(Version::V7, 1).unwrap(), &compressed).unwrap();
    let verifier = MdocVerifier::new(circuits).unwrap();
    let mut zk_circuits = ZkCircuits::new();
    zk_circuits.add(*find_spec(Version::V7, 1).unwrap(), compressed.clone());
    let attributes = [Attribute {
        namespace: kmid::schema::catalogue::ISO_23220_NAMESPACE,
        identifier: "age_over_19",
        value: &[0xf5],
    }];
    let statement = Statement {
        issuer_x: &x,
        issuer_y: &y,
        session_transcript: transcript.bytes(),
        doc_type,
        device_namespaces: &[0xa0],
        attributes: &attributes,
        now: Timestamp::parse(&time).unwrap(),
    };
    for backend in ["google-cpp", "isrg-rust"] {
        let out = Command::new(&python)
            .args([script, "prove", backend])
            .arg(&job_path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{backend} could not prove:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let proof = hex::decode(String::from_utf8(out.stdout).unwrap().trim()).unwrap();
        assert_eq!(
            verifier.verify(provider, &statement, &proof),
            Ok(()),
            "{backend}'s proof"
        );

        // The same proof as a wallet sends it: a DeviceResponse with one zkDocument, verified
        // by the facade (the Document Signer chain, the timestamp, the proof).
        let zk_response = DeviceResponse {
            version: "1.1".into(),
            documents: vec![],
            zk_documents: vec![ZkDocument {
                data: ZkDocumentData {
                    zk_system_id: hex::encode(find_spec(Version::V7, 1).unwrap().id),
                    doc_type: doc_type.to_owned(),
                    timestamp: time.clone(),
                    issuer_signed: vec![(
                        kmid::schema::catalogue::ISO_23220_NAMESPACE.to_owned(),
                        vec![ZkSignedItem {
                            identifier: "age_over_19".into(),
                            value: vec![0xf5],
                        }],
                    )],
                    device_signed: vec![],
                    mso_x5chain: vec![keys.document_signer.der().to_vec()],
                },
                proof: proof.clone(),
            }],
            document_errors: vec![],
            status: ResponseStatus::Ok,
        }
        .to_bytes();
        let facade = Verifier::new(trust.clone(), Arc::new(AllValid));
        let verified = facade
            .verify_mdoc_zk(
                &Template::AgeCheckZk.mdoc_request(card.card_type()),
                &zk_response,
                transcript.bytes(),
                &zk_circuits,
                &ZkPolicy::default(),
                now,
            )
            .unwrap();
        assert_eq!(
            verified[0].claims,
            vec![("age_over_19".to_owned(), vec![0xf5])]
        );
        assert_eq!(verified[0].document_signer, keys.document_signer.der());

        // The same proof for another statement.
        let later = Timestamp::parse(&(now + time::Duration::seconds(1)).format(&Rfc3339).unwrap())
            .unwrap();
        let other_transcript = SessionTranscript::new(
            None,
            None,
            &Handover::Nfc {
                handover_select: vec![1, 2, 3],
                handover_request: None,
            },
        )
        .unwrap();
        let no = [Attribute {
            value: &[0xf4],
            ..attributes[0]
        }];
        let mut other_x = x;
        other_x[0] ^= 1;
        for (what, s) in [
            (
                "a second later",
                Statement {
                    now: later,
                    ..statement
                },
            ),
            (
                "another transcript",
                Statement {
                    session_transcript: other_transcript.bytes(),
                    ..statement
                },
            ),
            (
                "age_over_19 false",
                Statement {
                    attributes: &no,
                    ..statement
                },
            ),
            (
                "another issuer key",
                Statement {
                    issuer_x: &other_x,
                    ..statement
                },
            ),
        ] {
            let got = verifier.verify(provider, &s, &proof).unwrap_err();
            assert_eq!(
                got.code(),
                "Zk.Refused.MerkleRoot",
                "{backend}, {what}: {got}"
            );
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// kmid's wallet answers the zero-knowledge age check for each of the three cards with a proof
/// it makes itself: kmid's verifier accepts it, and so do pylongfellow's two backends (when the
/// interop virtualenv is there).
#[test]
fn kmid_proves_the_age_check_over_each_card() {
    let python = std::env::var_os("KMID_INTEROP_PYTHON").map(PathBuf::from);
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let circuits = ZkCircuits::age_check();
    for card in [
        Card::from(samples::resident()),
        Card::from(samples::foreigner()),
        Card::from(samples::overseas_national()),
    ] {
        let (keys, trust, wallet) = holder(&card, now);

        let request = Template::AgeCheckZk.mdoc_request(card.card_type());
        let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
        let response = wallet
            .respond_mdoc_zk(&request, &transcript, &circuits, &SystemRandom, now)
            .unwrap();
        assert!(
            response.documents.is_empty(),
            "the credential itself is not sent"
        );
        let bytes = response.to_bytes();
        let verified = Verifier::new(trust, Arc::new(AllValid))
            .verify_mdoc_zk(
                &request,
                &bytes,
                transcript.bytes(),
                &circuits,
                &ZkPolicy::default(),
                now,
            )
            .unwrap();
        assert_eq!(
            verified[0].claims,
            vec![("age_over_19".to_owned(), vec![0xf5])]
        );
        assert_eq!(verified[0].doc_type, card.card_type().doc_type());

        let Some(python) = &python else { continue };
        let doc = &response.zk_documents[0];
        let ds = keys
            .document_signer
            .public_key()
            .to_sec1_uncompressed()
            .unwrap();
        let job = json!({
            "circuit": circuit_path(),
            "version": 7,
            "num_attributes": 1,
            "issuer_x": hex::encode(&ds[1..33]),
            "issuer_y": hex::encode(&ds[33..65]),
            "transcript": hex::encode(transcript.bytes()),
            "claims": [{"namespace": doc.data.issuer_signed[0].0, "id": "age_over_19", "cbor_value": "f5"}],
            "time": doc.data.timestamp,
            "doctype": doc.data.doc_type,
            "device_namespaces": "a0",
            "proof": hex::encode(&doc.proof),
        });
        let job_path = std::env::temp_dir().join(format!(
            "kmid-zk-job-{}-{}.json",
            std::process::id(),
            doc.data.doc_type
        ));
        std::fs::write(&job_path, job.to_string()).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../interop/zk_peer.py");
        for backend in ["google-cpp", "isrg-rust"] {
            let out = Command::new(python)
                .args([script, "verify", backend])
                .arg(&job_path)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(
                result["valid"], true,
                "{backend} on {}: {result}",
                doc.data.doc_type
            );
        }
        std::fs::remove_file(&job_path).ok();
    }
}
