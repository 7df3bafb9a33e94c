//! The checked-in lifecycle scenarios (`test-vectors/lifecycle/manifest.json`) replay on kmid's
//! issuer with every step's expected outcome.

#![allow(clippy::unwrap_used)]

#[test]
fn the_checked_in_lifecycle_scenarios_hold() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../test-vectors/lifecycle/manifest.json"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(kmid_vectors::replay_lifecycle(&manifest).unwrap(), 5);
}
