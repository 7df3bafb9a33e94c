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
use kmid::schema::{Card, IdentityCard};
use kmid::status::registry::{MemoryStore, RegistryConfig, StatusRegistry};
use kmid::{
    AuthorityKeys, CardKeySecret, Formats, Issuer, IssuingAuthority, Template, Verifier, Wallet,
};
use kmid_testkit::samples;
use serde_json::{Value, json};
use time::OffsetDateTime;

mod common;
use common::AllValid;

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
        .store_mdoc(issued.mdoc.unwrap().issuer_signed, now)
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

#[test]
fn pymdoccbor_issues_kmid_presents_and_verifies() {
    let Some(python) = std::env::var_os("KMID_INTEROP_PYTHON").map(PathBuf::from) else {
        eprintln!("KMID_INTEROP_PYTHON is not set: the pymdoccbor interop test checks nothing");
        return;
    };
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let (keys, ds_key) =
        AuthorityKeys::generate_with_key(IssuingAuthority::Mois, now, &SystemRandom).unwrap();
    let trust = kmid::trust_store([&keys]).unwrap();
    let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), trust.clone());

    // pymdoccbor issues a resident card's age elements to the kmid wallet's device key,
    // signing with the MOIS Document Signer's key.
    let dir = std::env::temp_dir().join(format!("kmid-pymdoccbor-issue-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ds.pem"), keys.document_signer.to_pem().unwrap()).unwrap();
    let ds = ds_key.to_jwk().unwrap();
    let device = wallet.device_key().to_jwk();
    let today = now.date();
    let params = json!({
        "doc_type": "kr.go.mois.rrc.1",
        "claims": {
            "org.iso.23220.1": {"age_over_19": true, "family_name_unicode": "김"},
            "kr.go.mobileid.1": {"youth_act_adult": true}
        },
        "ds_key": {"d": ds.d, "x": ds.x, "y": ds.y},
        "device_key": {"x": device.x, "y": device.y},
        "validity": {
            "issuance_date": today.to_string(),
            "expiry_date": (today + time::Duration::days(30)).to_string()
        },
        "status": {"uri": "https://status.mois.go.kr/lists/1", "idx": 7}
    });
    std::fs::write(dir.join("params.json"), params.to_string()).unwrap();
    let out = Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../interop/mdoc_peer.py"
        ))
        .arg("issue")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pymdoccbor issue: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // pymdoccbor stamps validFrom with its own clock, which may already be in the next
    // second: present and verify at a time after it returned.
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() + time::Duration::seconds(1);
    let bytes = std::fs::read(dir.join("issuer-signed.cbor")).unwrap();
    let issuer_signed =
        kmid::mdoc::model::IssuerSigned::from_bytes(&bytes, &kmid::mdoc::CborLimits::default())
            .unwrap();

    // Another wallet refuses it: it is bound to this wallet's key.
    let mut other = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), trust.clone());
    assert!(matches!(
        other.store_mdoc(issuer_signed.clone(), now).unwrap_err(),
        kmid::KmidError::NotOurKey
    ));
    wallet.store_mdoc(issuer_signed, now).unwrap();

    // kmid presents it for an age check and verifies it.
    let request = Template::AgeCheck.mdoc_request(kmid::schema::CardType::Resident);
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    let response = wallet.respond_mdoc(&request, &transcript, now).unwrap();
    let verifier = Verifier::new(trust, Arc::new(AllValid));
    let seen = verifier
        .verify_mdoc(&request, &response.to_bytes(), &transcript, now)
        .unwrap();
    assert_eq!(
        seen[0].claim(kmid::schema::catalogue::ClaimId::AgeOver19),
        Some(&json!(true))
    );
    assert_eq!(
        seen[0].claim(kmid::schema::catalogue::ClaimId::YouthActAdult),
        Some(&json!(true))
    );
    // The family name was issued but not asked for, so it was not disclosed.
    assert_eq!(seen[0].claims.len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}
