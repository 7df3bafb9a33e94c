//! The Python peers through the CLI, as a conformance runner drives it: trust comes from a
//! `--trust` file naming the peers' own certificate and key files (nothing renamed to kmid's
//! `<keys>/mois-iaca.pem` convention).
//!
//! - pymdoccbor issues an mDL (a docType kmid did not invent) under its own IACA; `kmid
//!   present` and `kmid verify` take it with a trust file scoping that IACA to the mDL.
//! - `kmid keys issuers`, `kmid issue` and `kmid present` make a DeviceResponse that pymdoccbor
//!   verifies against `keys/mois-iaca.pem`, passed by path.
//! - The Python SD-JWT reference implementation issues and presents an SD-JWT VC signed by a
//!   key with no certificate; `kmid verify` takes it with the key as an `[[issuer]]` JWK Set.
//!
//! Needs `KMID_INTEROP_PYTHON` (the README's test command sets it); without it each test says
//! so and checks nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Run;

use kmid::crypto::{Curve, PrivateKey, SystemRandom};
use kmid::{AuthorityKeys, IssuingAuthority};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn python() -> Option<PathBuf> {
    let python = std::env::var_os("KMID_INTEROP_PYTHON").map(PathBuf::from);
    if python.is_none() {
        eprintln!("KMID_INTEROP_PYTHON is not set: the CLI interop test checks nothing");
    }
    python
}

fn peer(python: &Path, script: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(python)
        .arg(format!(
            "{}/../../interop/{script}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

#[test]
fn pymdoccbor_issues_an_mdl_and_the_cli_verifies_it_under_a_trust_file() {
    let Some(python) = python() else { return };
    let run = Run::new("interop-mdl");
    let dir = run.dir.clone();
    const MDL: &str = "org.iso.18013.5.1.mDL";
    const NS: &str = "org.iso.18013.5.1";
    // The peer's own PKI, in files named as its operator named them.
    let (keys, ds_key) =
        AuthorityKeys::generate_with_key(IssuingAuthority::Mois, now(), &SystemRandom).unwrap();
    std::fs::create_dir_all(dir.join("peer-pki")).unwrap();
    std::fs::write(
        dir.join("peer-pki/root-ca.pem"),
        keys.iaca.to_pem().unwrap(),
    )
    .unwrap();
    std::fs::write(
        dir.join("peer-pki/signer.pem"),
        keys.document_signer.to_pem().unwrap(),
    )
    .unwrap();
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
    let holder =
        PrivateKey::from_pem(&std::fs::read_to_string(dir.join("holder.pem")).unwrap()).unwrap();
    let ds = ds_key.to_jwk().unwrap();
    let device = holder.public_key().to_jwk();
    let today = now().date();
    let params = json!({
        "doc_type": MDL,
        "claims": { NS: { "family_name": "Doe", "age_over_18": true } },
        "ds_key": { "d": ds.d, "x": ds.x, "y": ds.y },
        "device_key": { "x": device.x, "y": device.y },
        "validity": {
            "issuance_date": today.to_string(),
            "expiry_date": (today + time::Duration::days(30)).to_string(),
        },
        "ds_cert": dir.join("peer-pki/signer.pem"),
    });
    std::fs::write(dir.join("params.json"), params.to_string()).unwrap();
    peer(&python, "mdoc_peer.py", &["issue", dir.to_str().unwrap()]);
    std::fs::write(
        dir.join("mdl-trust.toml"),
        format!("[[anchor]]\nfile = \"peer-pki/root-ca.pem\"\npurposes = [\"mdoc-issuer\"]\nscopes = [\"{MDL}\"]\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("device-request.json"),
        json!({ "docRequests": [{ "docType": MDL, "nameSpaces": { NS: { "age_over_18": false } } }] })
            .to_string(),
    )
    .unwrap();
    // pymdoccbor stamps validFrom with its own clock: present and verify after it.
    let at = (now() + time::Duration::seconds(2))
        .format(&Rfc3339)
        .unwrap();
    run.ok(&[
        "request",
        "--device-request",
        "device-request.json",
        "--out",
        "req.cbor",
    ]);
    run.ok(&[
        "present",
        "--trust",
        "mdl-trust.toml",
        "--holder",
        "holder.pem",
        "--credential",
        "issuer-signed.cbor",
        "--request",
        "req.cbor",
        "--out",
        "resp.cbor",
        "--at",
        &at,
    ]);
    let verify = |trust: &str| {
        run.verify_json(&[
            "--trust",
            trust,
            "--request",
            "req.cbor",
            "--presentation",
            "resp.cbor",
            "--at",
            &at,
        ])
    };
    let (code, result, out) = verify("mdl-trust.toml");
    assert_eq!(code, 0, "{out}");
    assert_eq!(result["presentations"][0]["card"], MDL);
    assert_eq!(
        result["presentations"][0]["claims"],
        json!({ NS: { "age_over_18": true } }),
        "{out}"
    );
    // Scoped to a Korean card only, the same root does not vouch for the mDL.
    std::fs::write(
        dir.join("korean-trust.toml"),
        "[[anchor]]\nfile = \"peer-pki/root-ca.pem\"\npurposes = [\"mdoc-issuer\"]\nscopes = [\"kr.go.mois.rrc.1\"]\n",
    )
    .unwrap();
    let (code, result, out) = verify("korean-trust.toml");
    assert_eq!(code, 1, "{out}");
    assert_eq!(result["error"], "Mdoc.IssuerAuth.DocTypeNotAuthorized");
}

#[test]
fn the_cli_issues_and_presents_and_pymdoccbor_verifies_against_the_iaca_file() {
    let Some(python) = python() else { return };
    let run = Run::new("interop-to-peer");
    let dir = run.dir.clone();
    run.ok(&["keys", "issuers", "--out", "keys"]);
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
    std::fs::write(
        dir.join("rrc.json"),
        run.ok(&["card", "sample", "resident"]),
    )
    .unwrap();
    run.ok(&[
        "issue",
        "--keys",
        "keys",
        "--card",
        "rrc.json",
        "--holder",
        "holder.pem",
        "--format",
        "mdoc",
        "--out",
        "creds",
    ]);
    run.ok(&[
        "request",
        "--template",
        "identity",
        "--card",
        "rrc",
        "--format",
        "mdoc",
        "--proximity",
        "--out",
        "req.cbor",
    ]);
    run.ok(&[
        "present",
        "--trust",
        "keys/trust.toml",
        "--holder",
        "holder.pem",
        "--credential",
        "creds/rrc.mdoc.cbor",
        "--request",
        "req.cbor",
        "--out",
        "response.cbor",
    ]);
    let theirs: Value = serde_json::from_slice(&peer(
        &python,
        "mdoc_peer.py",
        &[
            "verify",
            dir.to_str().unwrap(),
            dir.join("keys/mois-iaca.pem").to_str().unwrap(),
        ],
    ))
    .unwrap();
    assert_eq!(theirs["valid"], json!(true), "{theirs}");
    assert_eq!(theirs["hashes_valid"], json!(true), "{theirs}");
    assert_eq!(
        theirs["claims"]["org.iso.23220.1"]["given_name_unicode"],
        json!("민준"),
        "{theirs}"
    );
    // Under another authority's IACA it does not verify.
    let theirs: Value = serde_json::from_slice(&peer(
        &python,
        "mdoc_peer.py",
        &[
            "verify",
            dir.to_str().unwrap(),
            dir.join("keys/moj-iaca.pem").to_str().unwrap(),
        ],
    ))
    .unwrap_or(json!({ "valid": false }));
    assert_ne!(theirs["valid"], json!(true), "{theirs}");
}

#[test]
fn the_sd_jwt_reference_issues_by_key_and_the_cli_verifies_with_a_configured_jwk_set() {
    let Some(python) = python() else { return };
    let run = Run::new("interop-sd-jwt");
    let dir = run.dir.clone();
    const VCT: &str = "https://credentials.peer.example/person";
    const ISS: &str = "https://issuer.peer.example";
    let issuer = PrivateKey::generate(Curve::P256).unwrap();
    let holder = PrivateKey::generate(Curve::P256).unwrap();
    let jwk = |key: &PrivateKey| serde_json::to_string(&key.to_jwk().unwrap()).unwrap();
    std::fs::write(dir.join("issuer-private.jwk.json"), jwk(&issuer)).unwrap();
    std::fs::write(dir.join("holder-private.jwk.json"), jwk(&holder)).unwrap();
    std::fs::create_dir_all(dir.join("peer-keys")).unwrap();
    let public = |key: &PrivateKey| json!({ "keys": [serde_json::to_value(key.public_key().to_jwk()).unwrap()] });
    std::fs::write(
        dir.join("peer-keys/issuer.jwks"),
        public(&issuer).to_string(),
    )
    .unwrap();
    let t = now().unix_timestamp();
    std::fs::write(
        dir.join("claims.json"),
        json!({
            "iss": ISS, "iat": t, "exp": t + 86_400, "vct": VCT,
            "family_name": "Mustermann", "given_name": "Erika", "birthdate": "1963-08-12",
            "address": { "locality": "Berlin", "country": "DE" },
        })
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.join("dcql.json"),
        json!({ "credentials": [{
            "id": "person",
            "format": "dc+sd-jwt",
            "meta": { "vct_values": [VCT] },
            "claims": [
                { "path": ["family_name"] },
                { "path": ["birthdate"] },
                { "path": ["address", "locality"] },
            ],
        }] })
        .to_string(),
    )
    .unwrap();
    let client_id = "x509_san_dns:rp.example";
    run.ok(&[
        "request",
        "--dcql",
        "dcql.json",
        "--nonce",
        "n-interop-1",
        "--client-id",
        client_id,
        "--out",
        "req.json",
    ]);
    std::fs::write(dir.join("nonce.txt"), "n-interop-1").unwrap();
    std::fs::write(dir.join("aud.txt"), client_id).unwrap();
    peer(&python, "sd_jwt_peer.py", &["issue", dir.to_str().unwrap()]);
    let presentation = std::fs::read_to_string(dir.join("peer-presentation.txt")).unwrap();
    std::fs::write(
        dir.join("vp.json"),
        json!({ "person": [presentation.trim()] }).to_string(),
    )
    .unwrap();
    let trust = |jwks: &str| {
        format!(
            "[[issuer]]\niss = \"{ISS}\"\njwks = \"{jwks}\"\npurposes = [\"sd-jwt-vc-issuer\"]\n"
        )
    };
    std::fs::write(dir.join("peer-trust.toml"), trust("peer-keys/issuer.jwks")).unwrap();
    let verify = |file: &str| {
        run.verify_json(&[
            "--trust",
            file,
            "--request",
            "req.json",
            "--presentation",
            "vp.json",
        ])
    };
    let (code, result, out) = verify("peer-trust.toml");
    assert_eq!(code, 0, "{out}");
    let seen = &result["presentations"][0];
    assert_eq!(seen["card"], VCT);
    assert_eq!(seen["issuer"], ISS);
    assert_eq!(seen["claims"]["family_name"], "Mustermann", "{out}");
    assert_eq!(seen["claims"]["birthdate"], "1963-08-12", "{out}");
    assert_eq!(seen["claims"]["address"]["locality"], "Berlin", "{out}");
    assert_eq!(
        seen["claims"].get("given_name"),
        None,
        "not disclosed: {out}"
    );
    // Another key configured for the same issuer: the signature decides.
    let other = PrivateKey::generate(Curve::P256).unwrap();
    std::fs::write(dir.join("peer-keys/other.jwks"), public(&other).to_string()).unwrap();
    std::fs::write(dir.join("other-trust.toml"), trust("peer-keys/other.jwks")).unwrap();
    let (code, result, out) = verify("other-trust.toml");
    assert_eq!(code, 1, "{out}");
    assert_eq!(result["error"], "SdJwt.BadIssuerSignature", "{out}");
}
