//! Interop with the Python reference SD-JWT implementation (PyPI `sd-jwt` 0.10.4), both ways:
//! kmid issues and presents, the peer verifies; the peer issues and presents, kmid verifies.
//!
//! Needs `KMID_INTEROP_PYTHON`, the python of the virtualenv `interop/setup.sh` makes (CI sets
//! it); without it the test says so and checks nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use kmid_crypto::{Curve, PrivateKey, Signer};
use kmid_schema::Card;
use kmid_sdjwt::kb::KeyBindingPolicy;
use kmid_sdjwt::vc::{HeldSdJwtVc, IssuerKeys, SdJwtVcIssuer, SdJwtVcVerifier, VcOptions};
use kmid_sdjwt::{KeyBindingError, SdJwt, SdJwtCheck, SdJwtError, SdJwtLimits, verify_sd_jwt};
use kmid_testkit::samples;
use kmid_testkit::{Authority, REFERENCE_TIME, SeededRandom, TestPki};
use serde_json::{Value, json};
use time::Duration;

const NONCE: &str = "interop-nonce-31415";
const AUD: &str = "https://verifier.interop.example";

fn python() -> Option<PathBuf> {
    let p = std::env::var_os("KMID_INTEROP_PYTHON").map(PathBuf::from);
    if p.is_none() {
        eprintln!(
            "KMID_INTEROP_PYTHON is not set: the Python interop test checks nothing (CI sets it)"
        );
    }
    p
}

fn peer(python: &Path, command: &str, dir: &Path) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../interop/sd_jwt_peer.py");
    let out = Command::new(python)
        .arg(script)
        .arg(command)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "sd_jwt_peer.py {command} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("kmid-interop-sdjwt-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("nonce.txt"), NONCE).unwrap();
    std::fs::write(dir.join("aud.txt"), AUD).unwrap();
    dir
}

#[test]
fn kmid_issues_and_presents_the_python_reference_verifies() {
    let Some(python) = python() else { return };
    let dir = scratch("kmid-issues");
    let pki = TestPki::new();
    let ds: Arc<dyn Signer> = Arc::new(kmid_testkit::Rfc6979Signer::for_test_key("mois-ds"));
    let holder: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let issued = SdJwtVcIssuer::with_x5c(
        Arc::clone(&ds),
        vec![pki.issuer(Authority::Mois).ds.clone()],
        Arc::new(SeededRandom::new(b"interop")),
    )
    .unwrap()
    .with_decoys(2)
    .issue(
        &Card::from(samples::resident()),
        holder.public_key(),
        &VcOptions::new(
            REFERENCE_TIME - Duration::days(1),
            REFERENCE_TIME + Duration::days(90),
        ),
    )
    .unwrap();
    let trust = pki.trust_store();
    let held = HeldSdJwtVc::receive(
        &issued.to_compact(),
        &SdJwtVcVerifier::new(IssuerKeys::X5c(&trust)),
        REFERENCE_TIME,
    )
    .unwrap();
    // A top-level claim, a claim in Hangul, and an address member (a recursive Disclosure).
    let presentation = held
        .present(
            &[&["family_name"], &["birthdate"], &["address", "locality"]],
            Some((&holder, NONCE, AUD, REFERENCE_TIME)),
        )
        .unwrap()
        .to_compact();
    std::fs::write(dir.join("presentation.txt"), &presentation).unwrap();
    std::fs::write(
        dir.join("issuer.jwk.json"),
        serde_json::to_string(&ds.public_key().to_jwk()).unwrap(),
    )
    .unwrap();

    let theirs: Value = serde_json::from_str(&peer(&python, "verify", &dir)).unwrap();
    let ours = SdJwtVcVerifier::new(IssuerKeys::X5c(&trust))
        .require_key_binding(KeyBindingPolicy {
            nonce: NONCE.into(),
            audience: AUD.into(),
            max_age: Duration::minutes(5),
        })
        .verify(&presentation, REFERENCE_TIME)
        .unwrap();
    // Both reach the same processed payload.
    assert_eq!(theirs, Value::Object(ours.claims.clone()));
    assert_eq!(theirs["family_name"], json!("김"));
    assert!(theirs.get("given_name").is_none());
    assert!(theirs["address"].get("locality").is_some());
    assert!(theirs["address"].get("street_address").is_none());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_python_reference_issues_and_presents_kmid_verifies() {
    let Some(python) = python() else { return };
    let dir = scratch("peer-issues");
    let issuer = kmid_testkit::test_key("mois-ds");
    let holder = PrivateKey::generate(Curve::P256).unwrap();
    std::fs::write(
        dir.join("issuer-private.jwk.json"),
        serde_json::to_string(&issuer.to_jwk().unwrap()).unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("holder-private.jwk.json"),
        serde_json::to_string(&holder.to_jwk().unwrap()).unwrap(),
    )
    .unwrap();
    // The peer's KB-JWT carries the wall-clock time, so this direction runs at the real time.
    let now = time::OffsetDateTime::now_utc();
    let claims = json!({
        "iss": "https://peer.interop.example",
        "iat": now.unix_timestamp(),
        "exp": (now + Duration::days(30)).unix_timestamp(),
        "vct": "kr.go.mois.rrc.1",
        "family_name": "김",
        "given_name": "민준",
        "birthdate": "1990-03-15",
        "address": { "locality": "종로구", "street_address": "세종대로 209" },
    });
    std::fs::write(dir.join("claims.json"), claims.to_string()).unwrap();
    peer(&python, "issue", &dir);
    let presentation = std::fs::read_to_string(dir.join("peer-presentation.txt")).unwrap();
    // Verify at a time after the peer signed its KB-JWT (its iat is the peer's clock).
    let now = time::OffsetDateTime::now_utc();

    let sd_jwt = SdJwt::parse(presentation.trim(), &SdJwtLimits::default()).unwrap();
    let check = SdJwtCheck {
        expected_typ: Some("dc+sd-jwt".into()),
        key_binding: Some(KeyBindingPolicy {
            nonce: NONCE.into(),
            audience: AUD.into(),
            max_age: Duration::minutes(5),
        }),
        ..SdJwtCheck::default()
    };
    let verified = verify_sd_jwt(&sd_jwt, issuer.public_key(), &check, now).unwrap();
    assert!(verified.key_bound);
    assert_eq!(verified.claims["family_name"], json!("김"));
    assert_eq!(verified.claims["birthdate"], json!("1990-03-15"));
    assert_eq!(verified.claims["address"], json!({ "locality": "종로구" }));
    assert!(verified.claims.get("given_name").is_none());
    // A Disclosure dropped after binding breaks its sd_hash, as RFC 9901 §4.3.1 wants.
    let mut cut = sd_jwt.clone();
    cut.disclosures.pop();
    assert_eq!(
        verify_sd_jwt(&cut, issuer.public_key(), &check, now).unwrap_err(),
        SdJwtError::KeyBinding(KeyBindingError::SdHashMismatch)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
