//! The Longfellow fuzz targets' world: the published v7 one-attribute bundle and the statement
//! of the collection's proof over it (test-vectors/longfellow/), loaded once.

use std::path::PathBuf;
use std::sync::OnceLock;

use kmid_zk::mdoc::{
    Attribute, MdocCircuits, MdocVerifier, Statement, Timestamp, Version, find_spec,
};

pub(crate) struct ZkWorld {
    pub(crate) verifier: MdocVerifier,
    x: [u8; 32],
    y: [u8; 32],
    transcript: Vec<u8>,
    value: Vec<u8>,
}

pub(crate) fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors/longfellow/mdoc")
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| {
            s.get(2 * i..2 * i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect()
}

pub(crate) fn get() -> &'static ZkWorld {
    static WORLD: OnceLock<ZkWorld> = OnceLock::new();
    WORLD.get_or_init(|| {
        let provider = kmid::crypto::CryptoProvider::get_default();
        let compressed = std::fs::read(vectors().join("circuits/google-v7-1attr.circuit"))
            .expect("the v7 circuit in test-vectors/longfellow");
        let spec = find_spec(Version::V7, 1).expect("the v7 spec");
        let circuits = MdocCircuits::load(provider, spec, &compressed).expect("the v7 bundle");
        let meta: serde_json::Value = serde_json::from_slice(
            &std::fs::read(vectors().join("proofs/google-cpp-mdl-mustermann-v7-1attr.json"))
                .expect("the proof's sidecar"),
        )
        .expect("JSON");
        let field = |k: &str| hex(meta.get(k).and_then(|v| v.as_str()).unwrap_or_default());
        let key = |k: &str| -> [u8; 32] { field(k).try_into().unwrap_or([0; 32]) };
        ZkWorld {
            verifier: MdocVerifier::new(circuits).expect("a verifier"),
            x: key("issuer_public_key_x"),
            y: key("issuer_public_key_y"),
            transcript: field("transcript"),
            value: hex(meta
                .pointer("/claims/0/cbor_value")
                .and_then(|v| v.as_str())
                .unwrap_or_default()),
        }
    })
}

impl ZkWorld {
    pub(crate) fn attributes(&self) -> [Attribute<'_>; 1] {
        [Attribute {
            namespace: "org.iso.18013.5.1",
            identifier: "issue_date",
            value: &self.value,
        }]
    }

    pub(crate) fn statement<'a>(&'a self, attributes: &'a [Attribute<'a>]) -> Statement<'a> {
        Statement {
            issuer_x: &self.x,
            issuer_y: &self.y,
            session_transcript: &self.transcript,
            doc_type: "org.iso.18013.5.1.mDL",
            device_namespaces: &[0xa0],
            attributes,
            now: Timestamp::parse("2024-10-01T09:00:00Z").expect("a timestamp"),
        }
    }
}
