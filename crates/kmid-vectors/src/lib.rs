//! # kmid-vectors
//!
//! The generators of kmid's deterministic vectors: the conformance suite
//! (`test-vectors/conformance/`, [`generate_conformance`]), the attack suite
//! (`test-vectors/negative/`, [`generate_negative`]) and the issuer lifecycle scenarios
//! (`test-vectors/lifecycle/`, [`generate_lifecycle`], replayed by [`replay_lifecycle`]). Every case is checked against kmid's
//! verifier (through [`kmid::conformance`]) before anything is written, so a generator cannot
//! record an expectation kmid does not meet.
//!
//! Unpublished test material: it links `kmid-testkit` (keys derived from public seeds), so the
//! `kmid` binary never depends on it. CI regenerates both suites with
//! `cargo run -p kmid-vectors -- conformance test-vectors/conformance` and
//! `… -- negative test-vectors/negative`, then checks `git diff --exit-code`.

mod attacks;
mod conformance;
mod lifecycle;
mod online_attacks;
mod online_vci;
mod vci;

use std::path::Path;

/// What a generator reports when it cannot write its suite.
pub type Error = Box<dyn std::error::Error>;

/// Writes the conformance vectors into `dir`; returns the number of cases.
///
/// # Errors
/// Cases that do not hold, or I/O failures.
pub fn generate_conformance(dir: &Path) -> Result<usize, Error> {
    conformance::generate(dir)
}

/// Writes the attack suite into `dir`; returns the number of cases.
///
/// # Errors
/// Cases that do not hold, or I/O failures.
pub fn generate_negative(dir: &Path) -> Result<usize, Error> {
    attacks::generate(dir)
}

/// Writes the lifecycle scenarios into `dir`; returns their number.
///
/// # Errors
/// Scenarios that do not hold, or I/O failures.
pub fn generate_lifecycle(dir: &Path) -> Result<usize, Error> {
    lifecycle::generate(dir)
}

/// Replays the lifecycle scenarios of `manifest` (as read from `test-vectors/lifecycle/`) on
/// kmid's issuer; returns their number.
///
/// # Errors
/// The first step whose outcome is not its expected one.
pub fn replay_lifecycle(manifest: &serde_json::Value) -> Result<usize, Error> {
    lifecycle::replay(manifest)
}
