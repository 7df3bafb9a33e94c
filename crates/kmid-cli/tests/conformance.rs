//! `kmid conformance` passes every checked-in vector, and fails (exit 1) when a vector or an
//! expectation is changed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors")
}

fn conformance(path: &Path) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_kmid"))
        .args(["conformance", "--json"])
        .arg(path)
        .output()
        .unwrap();
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), report)
}

#[test]
fn every_checked_in_case_passes() {
    let (code, report) = conformance(&vectors());
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["failed"], 0);
    let suites = report["suites"].as_array().unwrap();
    let names: Vec<&str> = suites
        .iter()
        .map(|s| s["suite"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kmid conformance vectors", "kmid attack suite"]);
    let cases = suites[0]["results"].as_array().unwrap();
    assert!(cases.len() >= 90, "{}", cases.len());
    // Every card × format has positive and negative cases.
    for card in ["rrc", "rc", "onid"] {
        for kind in ["mdoc-", "openid4vp-sd-jwt-vc-", "openid4vp-mdoc-"] {
            let ids: Vec<&str> = cases
                .iter()
                .map(|c| c["id"].as_str().unwrap())
                .filter(|id| id.starts_with(&format!("{card}-{kind}")))
                .collect();
            assert!(ids.iter().any(|id| !id.contains("-neg-")), "{card} {kind}");
            assert!(ids.iter().any(|id| id.contains("-neg-")), "{card} {kind}");
        }
    }
}

#[test]
fn every_attack_is_refused_with_its_exact_error() {
    let (code, report) = conformance(&vectors().join("negative"));
    assert_eq!(code, 0, "{report:#}");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(vectors().join("negative/manifest.json")).unwrap())
            .unwrap();
    let results = report["results"].as_array().unwrap();
    let cases = manifest["cases"].as_array().unwrap();
    assert_eq!(results.len(), cases.len());
    let mut refused = 0;
    for (case, result) in cases.iter().zip(results) {
        assert_eq!(case["id"], result["id"]);
        assert_eq!(result["passed"], true, "{result}");
        if case["expected"]["result"] == "invalid" {
            // The full code, not a prefix of it.
            assert_eq!(
                result["detail"], case["expected"]["error"],
                "{}",
                case["id"]
            );
            refused += 1;
        }
    }
    assert!(refused >= 45, "{refused}");
    // The classes the hardening issue names are all there.
    for needle in [
        "signature-stripped",
        "alg-none",
        "alg-hs256-public-key",
        "cnf-substituted",
        "device-key-substituted",
        "x5chain-expired-ds",
        "x5chain-non-ca-intermediate",
        "digest-duplicate",
        "disclosure-replayed",
        "replay-other-nonce",
        "replay-other-session",
        "doctype-mismatch",
        "validity-after-valid-until",
        "status-index-out-of-range",
        "status-suspended",
        "status-revoked",
        "cbor-indefinite-length-map",
        "cbor-duplicate-map-key",
        "cbor-tag24-missing",
        "cbor-tag24-doubled",
        "cbor-length-overflow",
        "cbor-deep-nesting",
        "cbor-huge-declared-length",
        "zlib-bomb",
        "invalid-utf8",
    ] {
        assert!(
            cases
                .iter()
                .any(|c| c["id"].as_str().unwrap().contains(needle)),
            "no {needle} case"
        );
    }
}

/// A copy of the conformance folder (and the PKI it names) in a temporary directory.
fn copy_vectors(tag: &str) -> PathBuf {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }
    let root = std::env::temp_dir().join(format!("kmid-conformance-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    copy(&vectors().join("conformance"), &root.join("conformance"));
    copy(&vectors().join("pki"), &root.join("pki"));
    root
}

#[test]
fn a_changed_expectation_or_vector_fails_the_run() {
    // An expectation turned around.
    let root = copy_vectors("expect");
    let manifest_path = root.join("conformance/manifest.json");
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["cases"][0]["expected"]["claims"]["age_over_19"] = Value::Bool(false);
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let (code, report) = conformance(&root);
    assert_eq!(code, 1);
    assert_eq!(report["failed"], 1, "{report:#}");

    // A manifest emptied of its cases does not pass.
    let root = copy_vectors("empty");
    let manifest_path = root.join("conformance/manifest.json");
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    manifest["cases"] = Value::Array(vec![]);
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    assert_eq!(conformance(&root).0, 1);
    let _ = std::fs::remove_dir_all(&root);

    // One byte of a positive case's DeviceResponse changed.
    let root = copy_vectors("bytes");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(root.join("conformance/manifest.json")).unwrap())
            .unwrap();
    let case = &manifest["cases"][0];
    let file = root
        .join("conformance")
        .join(case["device_response"].as_str().unwrap());
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    let (code, report) = conformance(&root);
    assert_eq!(code, 1);
    let failed: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["passed"] == false)
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(failed.contains(&case["id"].as_str().unwrap()), "{failed:?}");
    let _ = std::fs::remove_dir_all(&root);
}
