//! The fuzz targets' bodies on stable Rust: every seed, every saved crasher in
//! `fuzz/regressions/<target>/`, any local corpus in `fuzz/corpus/<target>/`, and
//! deterministic mutations of the seeds (`KMID_FUZZ_MUTANTS` per seed, 24 by default).
//! A panic in any of them fails the test, and names the target and the input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use kmid_fuzzing::{Target, mutants, seeds};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn files_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect();
    out.sort();
    out
}

fn run_one(target: Target, what: &str, input: &[u8]) {
    let outcome = std::panic::catch_unwind(|| target.run(input));
    if outcome.is_err() {
        let hex: String = input.iter().take(64).map(|b| format!("{b:02x}")).collect();
        panic!(
            "{}: {what} panicked ({} bytes, starting {hex})",
            target.name(),
            input.len()
        );
    }
}

#[test]
fn every_target_has_seeds_and_they_all_pass() {
    for target in Target::ALL {
        let seeds = seeds(target, &root().join("test-vectors")).unwrap();
        assert!(
            !seeds.is_empty(),
            "{}: no seeds found in test-vectors/",
            target.name()
        );
        for (i, seed) in seeds.iter().enumerate() {
            run_one(target, &format!("seed {i}"), seed);
        }
    }
    // The attack suite's CRLs (test-vectors/negative/online/crl/) seed the CRL target.
    let crls = seeds(Target::Crl, &root().join("test-vectors")).unwrap();
    let suite: Vec<_> = files_in(&root().join("test-vectors/negative/online/crl"));
    assert!(suite.len() >= 5);
    for (name, der) in &suite {
        assert!(crls.contains(der), "{name} is not a seed of the crl target");
    }
}

#[test]
fn saved_crashers_and_local_corpora_pass() {
    for target in Target::ALL {
        for dir in ["fuzz/regressions", "fuzz/corpus"] {
            for (name, input) in files_in(&root().join(dir).join(target.name())) {
                run_one(target, &name, &input);
            }
        }
    }
}

#[test]
fn mutated_seeds_pass() {
    let per_seed: usize = std::env::var("KMID_FUZZ_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    for (salt, target) in (0u64..).zip(Target::ALL) {
        let seeds = seeds(target, &root().join("test-vectors")).unwrap();
        for (i, seed) in seeds.iter().enumerate() {
            for (j, mutant) in mutants(seed, per_seed, salt).iter().enumerate() {
                run_one(target, &format!("mutant {j} of seed {i}"), mutant);
            }
        }
    }
}

#[test]
fn every_target_is_a_cargo_fuzz_binary() {
    let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
    for target in Target::ALL {
        assert!(
            manifest.contains(&format!("name = \"{}\"", target.name())),
            "fuzz/Cargo.toml has no target {}",
            target.name()
        );
        let body =
            std::fs::read_to_string(root().join(format!("fuzz/fuzz_targets/{}.rs", target.name())))
                .unwrap();
        assert!(
            body.contains(&format!("Target::{target:?}.run")),
            "{} does not call its own body",
            target.name()
        );
    }
}
