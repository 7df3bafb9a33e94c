//! A relying party that only verifies: it holds no issuing key, no registry and no SQLite. It
//! runs the published conformance vectors (`test-vectors/conformance/`, every card in both
//! formats, with their negative mutations) through `kmid::conformance`, which builds its
//! verifiers from the IACA roots and status lists the manifest names, and checks that each
//! outcome is the expected one.
//!
//! CI builds and runs it on the aws-lc provider with nothing else:
//! `cargo run -p kmid --example verify_only --no-default-features --features aws-lc`.

#![allow(clippy::print_stdout)]

use std::path::Path;

use kmid::conformance::{Manifest, run_manifest};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors/conformance");
    let manifest: Manifest = serde_json::from_slice(&std::fs::read(dir.join("manifest.json"))?)?;
    let load = |name: &str| std::fs::read(dir.join(name)).ok();
    let report = run_manifest(&manifest, &load);
    let failed: Vec<_> = report.iter().filter(|r| !r.passed).collect();
    println!(
        "provider {}: {} cases, {} passed",
        kmid::crypto::CryptoProvider::get_default().name,
        report.len(),
        report.len() - failed.len()
    );
    if report.is_empty() || !failed.is_empty() {
        return Err(format!("cases that do not hold: {failed:?}").into());
    }
    Ok(())
}
