//! `kmid inspect` decodes what kmid produces, and refuses garbage with an error, not a panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Command;
use std::sync::Arc;

use kmid::crypto::{Curve, PrivateKey, SystemRandom};
use kmid::mdoc::model::{Handover, SessionTranscript};
use kmid::schema::{Card, IdentityCard};
use kmid::status::registry::{MemoryStore, RegistryConfig, StatusRegistry};
use kmid::{AuthorityKeys, CardKeySecret, Formats, Issuer, IssuingAuthority, Template, Wallet};
use kmid_testkit::samples;
use serde_json::Value;

fn inspect(bytes: &[u8]) -> (bool, Value) {
    let path = std::env::temp_dir().join(format!(
        "kmid-inspect-{}-{}",
        std::process::id(),
        bytes.len()
    ));
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kmid"))
        .arg("inspect")
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(
        out.status.code().is_some(),
        "killed by a signal: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.success(),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
    )
}

#[test]
fn inspect_decodes_an_sd_jwt_and_a_device_response() {
    let now = time::OffsetDateTime::now_utc();
    let random = Arc::new(SystemRandom);
    let keys = AuthorityKeys::generate(IssuingAuthority::Mois, now, &*random).unwrap();
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
    let card = Card::from(samples::resident());
    let mut wallet = Wallet::new(
        PrivateKey::generate(Curve::P256).unwrap(),
        kmid::trust_store([&keys]).unwrap(),
    );
    let issued = issuer
        .issue(&card, wallet.device_key(), Formats::Both, now)
        .unwrap();

    // The SD-JWT: every Disclosure decoded, and its digest is one the payload lists.
    let sd_jwt = issued.sd_jwt.unwrap().sd_jwt.to_compact();
    let (ok, v) = inspect(sd_jwt.as_bytes());
    assert!(ok);
    assert_eq!(v["kind"], "SD-JWT");
    assert_eq!(v["issuer_signed_jwt"]["header"]["typ"], "dc+sd-jwt");
    let disclosures = v["disclosures"].as_array().unwrap();
    assert!(
        disclosures
            .iter()
            .any(|d| d["decoded"][1] == "family_name" && d["decoded"][2] == "김")
    );
    let payload = v["issuer_signed_jwt"]["payload"].to_string();
    assert!(
        disclosures
            .iter()
            .any(|d| payload.contains(d["digest"].as_str().unwrap()))
    );

    // The DeviceResponse: documents, docType, and IssuerSignedItems decoded from tag 24.
    wallet
        .store_mdoc(issued.mdoc.unwrap().issuer_signed, now)
        .unwrap();
    let request = Template::AgeCheck.mdoc_request(card.card_type());
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    let response = wallet
        .respond_mdoc(&request, &transcript, now)
        .unwrap()
        .to_bytes();
    let (ok, v) = inspect(&response);
    assert!(ok);
    let doc = &v["value"]["documents"][0];
    assert_eq!(doc["docType"], "kr.go.mois.rrc.1");
    let text = doc.to_string();
    assert!(
        text.contains("\"elementIdentifier\":\"age_over_19\""),
        "{text}"
    );
    // The same bytes as hex.
    let hex: String = response.iter().map(|b| format!("{b:02x}")).collect();
    let (ok, v) = inspect(hex.as_bytes());
    assert!(ok);
    assert_eq!(v["value"]["documents"][0]["docType"], "kr.go.mois.rrc.1");

    // Garbage, truncations and deep nesting: an error, never a panic.
    for cut in [1, 7, response.len() / 2, response.len() - 1] {
        assert!(!inspect(&response[..cut]).0, "cut at {cut}");
    }
    assert!(!inspect(b"eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.~~~").0);
    assert!(!inspect(&[0x81; 10_000]).0);
    assert!(!inspect(&[0xff, 0x00, 0x12]).0);
}
