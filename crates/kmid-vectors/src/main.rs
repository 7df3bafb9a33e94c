//! `kmid-vectors conformance DIR` / `negative DIR` / `lifecycle DIR`: regenerates a vector suite.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    use std::io::Write as _;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (suite, dir) = match args.as_slice() {
        [suite, dir] => (suite.as_str(), PathBuf::from(dir)),
        _ => {
            let _ = writeln!(
                std::io::stderr(),
                "usage: kmid-vectors (conformance | negative | lifecycle) DIR"
            );
            return ExitCode::from(2);
        }
    };
    let result = match suite {
        "conformance" => kmid_vectors::generate_conformance(&dir),
        "negative" => kmid_vectors::generate_negative(&dir),
        "lifecycle" => kmid_vectors::generate_lifecycle(&dir),
        other => {
            Err(format!("unknown suite {other:?} (conformance, negative or lifecycle)").into())
        }
    };
    match result {
        Ok(n) => {
            let _ = writeln!(
                std::io::stdout(),
                "kmid-vectors: {n} cases written to {}",
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "kmid-vectors {suite}: {e}");
            ExitCode::from(2)
        }
    }
}
