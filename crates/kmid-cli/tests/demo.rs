//! The README's main command: `kmid demo` runs and every outcome is what it should be.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::process::Command;

#[test]
fn the_demo_issues_presents_verifies_and_refuses_the_suspended_card() {
    let dir = std::env::temp_dir().join(format!("kmid-demo-test-{}", std::process::id()));
    let out = Command::new(env!("CARGO_BIN_EXE_kmid"))
        .args(["demo", "--json", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["all_as_expected"], true);
    let rows = result["rows"].as_array().unwrap();
    // 3 cards x 2 requests x 2 formats; the foreigner's renewal and re-issue (the credential
    // before refused, the new ones valid in both formats, twice); the suspended card in both
    // formats; the overseas card after its Document Signer was revoked, in both formats.
    assert_eq!(rows.len(), 22);
    for row in &rows[..12] {
        assert_eq!(row["valid"], true, "{row}");
        // Neither request asks for the registration number, and none comes back.
        assert!(row["claims"].get("registration_number").is_none(), "{row}");
    }
    for (i, row) in rows[12..18].iter().enumerate() {
        if i % 3 == 0 {
            assert_eq!(row["valid"], false, "{row}");
            assert!(row["error"].as_str().unwrap().contains("INVALID"), "{row}");
        } else {
            assert_eq!(row["valid"], true, "{row}");
        }
    }
    assert_eq!(rows[13]["step"], "renewed");
    assert_eq!(rows[16]["step"], "re-issued");
    for row in &rows[20..] {
        assert_eq!(row["valid"], false);
        assert!(row["error"].as_str().unwrap().contains("revoked"), "{row}");
    }
    for row in &rows[18..20] {
        assert_eq!(row["valid"], false);
        assert!(
            row["error"].as_str().unwrap().contains("SUSPENDED"),
            "{row}"
        );
    }
    assert_eq!(result["suspended_credentials"], 2);
    // The zero-knowledge age check: one proof per card, each valid.
    let zk = result["zero_knowledge_age_check"].as_array().unwrap();
    assert_eq!(zk.len(), 3);
    for row in zk {
        assert_eq!(row["valid"], true, "{row}");
        assert!(
            row["result"]
                .as_str()
                .unwrap()
                .contains("age_over_19 = true"),
            "{row}"
        );
    }
    // The registries are real SQLite files in the data directory.
    for slug in ["mois", "moj", "oka"] {
        assert!(dir.join(format!("{slug}-registry.sqlite3")).exists());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
