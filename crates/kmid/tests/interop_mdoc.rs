//! Interop with pymdoccbor (PyPI, IdentityPython), an independent mdoc implementation: it
//! verifies a DeviceResponse kmid issued and presented.
//!
//! Needs `KMID_INTEROP_PYTHON`, the python of the virtualenv `interop/setup.sh` makes (the
//! README's test command sets it); without it the test says so and checks nothing.
//! pymdoccbor checks certificates against the wall clock, so this test issues with keys made
//! now (`AuthorityKeys::generate`), not with the fixed test PKI.

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

use kmid::crypto::{Curve, PrivateKey, SystemRandom};
use kmid::mdoc::model::{Handover, SessionTranscript};
use kmid::schema::status::{
    StatusContext, StatusError, StatusReference, StatusResolver, TokenStatus,
};
use kmid::schema::{Card, IdentityCard, samples};
use kmid::status::registry::{MemoryStore, RegistryConfig, StatusRegistry};
use kmid::{
    AuthorityKeys, CardKeySecret, Formats, Issuer, IssuingAuthority, Template, Verifier, Wallet,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

struct AllValid;

impl StatusResolver for AllValid {
    fn resolve(
        &self,
        _: &StatusReference,
        _: &StatusContext<'_>,
        _: OffsetDateTime,
    ) -> Result<TokenStatus, StatusError> {
        Ok(TokenStatus::Valid)
    }
}

#[test]
fn kmid_issues_and_presents_pymdoccbor_verifies() {
    let Some(python) = std::env::var_os("KMID_INTEROP_PYTHON").map(PathBuf::from) else {
        eprintln!("KMID_INTEROP_PYTHON is not set: the pymdoccbor interop test checks nothing");
        return;
    };
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let random = Arc::new(SystemRandom);
    let keys = AuthorityKeys::generate(IssuingAuthority::Mois, now, &*random).unwrap();
    let registry = StatusRegistry::new(
        MemoryStore::new(),
        RegistryConfig::new("https://status.mois.go.kr/lists"),
        random.clone(),
    );
    let issuer = Issuer::new(
        keys.clone(),
        registry,
        CardKeySecret::generate(&*random).unwrap(),
        random,
    );
    let trust = kmid::trust_store([&keys]).unwrap();
    let card = Card::from(samples::resident());
    let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), trust.clone());
    let issued = issuer
        .issue(&card, wallet.device_key(), Formats::Mdoc, now)
        .unwrap();
    wallet
        .store_mdoc(issued.mdoc.unwrap().issuer_signed)
        .unwrap();

    let request = Template::Identity.mdoc_request(card.card_type());
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    let response = wallet
        .respond_mdoc(&request, &transcript, now)
        .unwrap()
        .to_bytes();
    // kmid's own verifier accepts it ...
    let ours = Verifier::new(trust, Arc::new(AllValid))
        .verify_mdoc(&request, &response, &transcript, now)
        .unwrap();
    assert_eq!(ours[0].claims.len(), 4);

    // ... and so does pymdoccbor, with the same elements and values.
    let dir = std::env::temp_dir().join(format!("kmid-interop-mdoc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("response.cbor"), &response).unwrap();
    std::fs::write(dir.join("iaca.pem"), keys.iaca.to_pem().unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../interop/mdoc_peer.py");
    let out = Command::new(&python)
        .arg(script)
        .arg("verify")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mdoc_peer.py failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs["valid"], json!(true), "{theirs}");
    assert_eq!(theirs["hashes_valid"], json!(true), "{theirs}");
    let iso = &theirs["claims"]["org.iso.23220.1"];
    assert_eq!(iso["family_name_unicode"], json!("김"));
    assert_eq!(iso["given_name_unicode"], json!("민준"));
    assert_eq!(iso["birth_date"], json!(card.birth_date().to_string()));
    assert_eq!(
        iso["portrait"].as_str().map(str::len),
        Some(card.portrait().as_bytes().len() * 2)
    );
    assert!(
        theirs["claims"].get("kr.go.mobileid.1").is_none(),
        "no registration number was asked for"
    );

    // A response with one element's value changed fails pymdoccbor's digest check as well.
    let needle = "민준".as_bytes();
    let at = response
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let mut tampered = response.clone();
    tampered[at + needle.len() - 1] ^= 1;
    std::fs::write(dir.join("response.cbor"), &tampered).unwrap();
    let out = Command::new(&python)
        .arg(script)
        .arg("verify")
        .arg(&dir)
        .output()
        .unwrap();
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap_or(json!({ "valid": false }));
    assert_ne!(
        theirs["valid"],
        json!(true),
        "pymdoccbor accepted a tampered element: {theirs}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
