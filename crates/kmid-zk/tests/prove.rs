//! kmid-zk proves over the collection's presentations (test-vectors/longfellow/): its proof
//! verifies in kmid-zk, and a statement the credential does not satisfy is not proven.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;

use kmid_cbor::{CborLimits, Item, decode};
use kmid_crypto::{CryptoProvider, SystemRandom};
use kmid_zk::mdoc::{
    Attribute, Credential, MdocCircuits, MdocProver, MdocVerifier, Statement, Timestamp, Version,
    find_spec,
};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors/longfellow/mdoc")
}

struct Parts {
    protected: Vec<u8>,
    payload: Vec<u8>,
    issuer_sig: Vec<u8>,
    device_sig: Vec<u8>,
    /// (namespace, identifier, value bytes, IssuerSignedItemBytes).
    items: Vec<(String, String, Vec<u8>, Vec<u8>)>,
}

/// The pieces of a DeviceResponse's first document, read with the bounded CBOR reader.
fn parts(response: &[u8]) -> Parts {
    let limits = CborLimits::default();
    let r = decode(response, &limits).unwrap();
    let doc = &r.get("documents").unwrap().as_array().unwrap()[0];
    let issuer_signed = doc.get("issuerSigned").unwrap();
    let auth = issuer_signed.get("issuerAuth").unwrap().as_array().unwrap();
    let mut items = Vec::new();
    for (ns, list) in issuer_signed.get("nameSpaces").unwrap().as_map().unwrap() {
        for x in list.as_array().unwrap() {
            let inner = decode(x.as_embedded_cbor().unwrap(), &limits).unwrap();
            items.push((
                ns.as_text().unwrap().to_owned(),
                inner
                    .get("elementIdentifier")
                    .unwrap()
                    .as_text()
                    .unwrap()
                    .to_owned(),
                inner.get("elementValue").unwrap().raw.to_vec(),
                x.raw.to_vec(),
            ));
        }
    }
    let device_auth = doc.get("deviceSigned").unwrap().get("deviceAuth").unwrap();
    let device_sig: &Item<'_> = &device_auth
        .get("deviceSignature")
        .unwrap()
        .as_array()
        .unwrap()[3];
    Parts {
        protected: auth[0].as_bytes().unwrap().to_vec(),
        payload: auth[2].as_bytes().unwrap().to_vec(),
        issuer_sig: auth[3].as_bytes().unwrap().to_vec(),
        device_sig: device_sig.as_bytes().unwrap().to_vec(),
        items,
    }
}

#[test]
fn kmid_proves_the_mustermann_issue_date_and_verifies_it() {
    let provider = CryptoProvider::get_default();
    let p: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("presentations/mdl-mustermann.json")).unwrap(),
    )
    .unwrap();
    let response = hex::decode(p["mdoc"].as_str().unwrap()).unwrap();
    let transcript = hex::decode(p["transcript"].as_str().unwrap()).unwrap();
    let x: [u8; 32] = hex::decode(p["issuer_public_key_x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let y: [u8; 32] = hex::decode(p["issuer_public_key_y"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let parts = parts(&response);
    let (ns, id, value, item) = parts.items.iter().find(|i| i.1 == "issue_date").unwrap();
    let attributes = [Attribute {
        namespace: ns,
        identifier: id,
        value,
    }];
    let statement = Statement {
        issuer_x: &x,
        issuer_y: &y,
        session_transcript: &transcript,
        doc_type: p["doctype"].as_str().unwrap(),
        device_namespaces: &[0xa0],
        attributes: &attributes,
        now: Timestamp::parse("2024-10-01T09:00:00Z").unwrap(),
    };
    let items = [item.as_slice()];
    let credential = Credential {
        issuer_protected: &parts.protected,
        issuer_payload: &parts.payload,
        issuer_signature: &parts.issuer_sig,
        device_signature: &parts.device_sig,
        items: &items,
    };
    for version in [Version::V7, Version::V6] {
        let name = format!("circuits/google-v{}-1attr.circuit", version.number());
        let compressed = std::fs::read(root().join(name)).unwrap();
        let circuits =
            MdocCircuits::load(provider, find_spec(version, 1).unwrap(), &compressed).unwrap();
        let prover = MdocProver::new(circuits.clone()).unwrap();
        let proof = prover
            .prove(provider, &SystemRandom, &statement, &credential)
            .unwrap();
        let verifier = MdocVerifier::new(circuits).unwrap();
        assert_eq!(
            verifier.verify(provider, &statement, &proof),
            Ok(()),
            "v{}",
            version.number()
        );
        if version == Version::V7 {
            std::fs::write(
                std::env::temp_dir().join("kmid-zk-mustermann-v7.proof"),
                &proof,
            )
            .ok();
            // A value the credential does not hold, a time outside its validity: not proven.
            let other = [Attribute {
                value: &[
                    0xd9, 0x03, 0xec, 0x6a, b'2', b'0', b'2', b'4', b'-', b'0', b'3', b'-', b'1',
                    b'6',
                ],
                ..attributes[0]
            }];
            let e = prover
                .prove(
                    provider,
                    &SystemRandom,
                    &Statement {
                        attributes: &other,
                        ..statement
                    },
                    &credential,
                )
                .unwrap_err();
            assert_eq!(e.code(), "Zk.Statement");
            let late = Timestamp::parse("2031-01-01T00:00:00Z").unwrap();
            let e = prover
                .prove(
                    provider,
                    &SystemRandom,
                    &Statement {
                        now: late,
                        ..statement
                    },
                    &credential,
                )
                .unwrap_err();
            assert_eq!(e.code(), "Zk.Statement");
        }
    }
}
