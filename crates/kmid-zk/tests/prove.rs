//! kmid-zk proves over the collection's presentations (test-vectors/longfellow/): its proof
//! verifies in kmid-zk, and a statement the credential does not satisfy is not proven; two to
//! four attributes over the v7 circuits, verified in kmid-zk and, with `KMID_INTEROP_PYTHON`
//! (the README's test command sets it), in both of pylongfellow's backends.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
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

/// An issuer key's coordinates, big-endian.
type IssuerKey = ([u8; 32], [u8; 32]);

/// The collection's Mustermann presentation: its description, SessionTranscript, issuer key
/// coordinates and DeviceResponse pieces.
fn mustermann() -> (serde_json::Value, Vec<u8>, IssuerKey, Parts) {
    let p: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join("presentations/mdl-mustermann.json")).unwrap(),
    )
    .unwrap();
    let response = hex::decode(p["mdoc"].as_str().unwrap()).unwrap();
    let transcript = hex::decode(p["transcript"].as_str().unwrap()).unwrap();
    let key = |k: &str| -> [u8; 32] {
        hex::decode(p[k].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    };
    let xy = (key("issuer_public_key_x"), key("issuer_public_key_y"));
    let parts = parts(&response);
    (p, transcript, xy, parts)
}

#[test]
fn kmid_proves_the_mustermann_issue_date_and_verifies_it() {
    let provider = CryptoProvider::get_default();
    let (p, transcript, (x, y), parts) = mustermann();
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

/// Two, three and four of the Mustermann mDL's elements proven together over the v7 circuits
/// of as many attributes: kmid verifies each proof, a verifier of another attribute count
/// refuses it, and pylongfellow's google-cpp and isrg-rust backends verify it.
#[test]
fn kmid_proves_two_to_four_attributes() {
    let provider = CryptoProvider::get_default();
    let (p, transcript, (x, y), parts) = mustermann();
    let python = std::env::var_os("KMID_INTEROP_PYTHON").map(PathBuf::from);
    let mut one_attribute: Option<MdocVerifier> = None;
    for n in 2..=4 {
        let chosen: Vec<&(String, String, Vec<u8>, Vec<u8>)> =
            ["issue_date", "age_over_18", "height", "family_name"][..n]
                .iter()
                .map(|id| parts.items.iter().find(|i| i.1 == *id).unwrap())
                .collect();
        let attributes: Vec<Attribute<'_>> = chosen
            .iter()
            .map(|(ns, id, value, _)| Attribute {
                namespace: ns,
                identifier: id,
                value,
            })
            .collect();
        let time = "2024-10-01T09:00:00Z";
        let statement = Statement {
            issuer_x: &x,
            issuer_y: &y,
            session_transcript: &transcript,
            doc_type: p["doctype"].as_str().unwrap(),
            device_namespaces: &[0xa0],
            attributes: &attributes,
            now: Timestamp::parse(time).unwrap(),
        };
        let items: Vec<&[u8]> = chosen.iter().map(|i| i.3.as_slice()).collect();
        let credential = Credential {
            issuer_protected: &parts.protected,
            issuer_payload: &parts.payload,
            issuer_signature: &parts.issuer_sig,
            device_signature: &parts.device_sig,
            items: &items,
        };
        let circuit = root().join(format!("circuits/google-v7-{n}attr.circuit"));
        let circuits = MdocCircuits::load(
            provider,
            find_spec(Version::V7, n).unwrap(),
            &std::fs::read(&circuit).unwrap(),
        )
        .unwrap();
        let proof = MdocProver::new(circuits.clone())
            .unwrap()
            .prove(provider, &SystemRandom, &statement, &credential)
            .unwrap();
        let verifier = MdocVerifier::new(circuits).unwrap();
        assert_eq!(verifier.verify(provider, &statement, &proof), Ok(()), "{n}");
        // The same statement less one attribute, or a verifier of one attribute: refused.
        let fewer = Statement {
            attributes: &attributes[1..],
            ..statement
        };
        assert_eq!(
            verifier
                .verify(provider, &fewer, &proof)
                .unwrap_err()
                .code(),
            "Zk.CircuitMismatch",
            "{n}"
        );
        let one = one_attribute.get_or_insert_with(|| {
            let compressed =
                std::fs::read(root().join("circuits/google-v7-1attr.circuit")).unwrap();
            MdocVerifier::new(
                MdocCircuits::load(provider, find_spec(Version::V7, 1).unwrap(), &compressed)
                    .unwrap(),
            )
            .unwrap()
        });
        assert_eq!(
            one.verify(provider, &statement, &proof).unwrap_err().code(),
            "Zk.CircuitMismatch",
            "{n}"
        );

        let Some(python) = &python else {
            eprintln!("KMID_INTEROP_PYTHON is not set: pylongfellow does not check these proofs");
            continue;
        };
        let job = serde_json::json!({
            "circuit": circuit,
            "version": 7,
            "num_attributes": n,
            "issuer_x": hex::encode(x),
            "issuer_y": hex::encode(y),
            "transcript": hex::encode(&transcript),
            "claims": chosen
                .iter()
                .map(|(ns, id, value, _)| {
                    serde_json::json!({"namespace": ns, "id": id, "cbor_value": hex::encode(value)})
                })
                .collect::<Vec<_>>(),
            "time": time,
            "doctype": p["doctype"],
            "device_namespaces": "a0",
            "proof": hex::encode(&proof),
        });
        let job_path = std::env::temp_dir().join(format!(
            "kmid-zk-attributes-{}-{n}.json",
            std::process::id()
        ));
        std::fs::write(&job_path, job.to_string()).unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../interop/zk_peer.py");
        for backend in ["google-cpp", "isrg-rust"] {
            let out = std::process::Command::new(python)
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
            assert_eq!(result["valid"], true, "{backend}, {n} attributes: {result}");
        }
        std::fs::remove_file(&job_path).ok();
    }
}
