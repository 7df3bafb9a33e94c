//! Writes every fuzz target's seeds into `<out>/<target>/` (named by their SHA-256), for
//! `fuzz/run.sh`: `fuzz-seeds <test-vectors> <out>`.

use std::path::PathBuf;
use std::process::ExitCode;

use kmid::crypto::HashAlgorithm;
use kmid_fuzzing::{Target, seeds};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let (Some(vectors), Some(out)) = (args.next(), args.next()) else {
        eprintln_usage();
        return ExitCode::from(2);
    };
    match write(&vectors, &out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::FAILURE
        }
    }
}

fn write(vectors: &std::path::Path, out: &std::path::Path) -> Result<(), String> {
    for target in Target::ALL {
        let dir = out.join(target.name());
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for seed in seeds(target, vectors).map_err(|e| e.to_string())? {
            let digest = HashAlgorithm::Sha256
                .digest(&seed)
                .map_err(|e| e.to_string())?;
            let name: String = digest.iter().map(|b| format!("{b:02x}")).collect();
            std::fs::write(dir.join(name), seed).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

#[allow(clippy::print_stderr, reason = "the command's usage message")]
fn eprintln_usage() {
    eprintln!("usage: fuzz-seeds <test-vectors> <corpus-dir>");
}

#[allow(clippy::print_stderr, reason = "the command's error message")]
fn report(e: &str) {
    eprintln!("fuzz-seeds: {e}");
}
