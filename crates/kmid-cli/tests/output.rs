//! A closed or full standard output ends every command with exit 2 and a message, never a
//! panic (exit 101): `kmid … | head`, `kmid … > /dev/full`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Stdio};

/// The commands that print, each with its arguments.
fn commands(dir: &std::path::Path) -> Vec<Vec<String>> {
    let d = dir.display();
    let root = env!("CARGO_MANIFEST_DIR");
    [
        "card sample resident".to_owned(),
        format!("keys issuers --out {d}/keys"),
        format!("conformance {root}/../../test-vectors/negative"),
        format!("conformance --json {root}/../../test-vectors/negative"),
        format!("demo --json --data-dir {d}/demo-json"),
        format!("demo --data-dir {d}/demo"),
    ]
    .iter()
    .map(|c| c.split(' ').map(str::to_owned).collect())
    .collect()
}

fn run(args: &[String], stdout: Stdio) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kmid"))
        .args(args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code().expect("exited, not killed"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_is_exit_2_with_a_message() {
    let dir = std::env::temp_dir().join(format!("kmid-output-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for args in commands(&dir) {
        // A pipe whose reader is gone: every write fails with EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let (code, stderr) = run(&args, Stdio::from(writer));
        assert_eq!(code, 2, "kmid {args:?} with a closed pipe: {stderr}");
        assert!(
            stderr.contains("cannot write to standard output"),
            "kmid {args:?}: {stderr}"
        );
        // A full device: every write fails with ENOSPC.
        if let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") {
            let (code, stderr) = run(&args, Stdio::from(full));
            assert_eq!(code, 2, "kmid {args:?} > /dev/full: {stderr}");
            assert!(
                stderr.contains("no storage space"),
                "kmid {args:?}: {stderr}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
