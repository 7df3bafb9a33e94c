//! What the CLI's tests share: a scratch directory to run `kmid` in.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

pub(crate) struct Run {
    pub(crate) dir: PathBuf,
}

impl Run {
    pub(crate) fn new(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kmid-workflow-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    /// Runs `kmid args…` in the run's directory; returns the exit code and stdout.
    pub(crate) fn kmid(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_kmid"))
            .args(args)
            .current_dir(&self.dir)
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let (code, out) = self.kmid(args);
        assert_eq!(code, 0, "kmid {args:?}: {out}");
        out
    }

    pub(crate) fn verify(&self, request: &str, presentation: &str) -> (i32, Value) {
        let (code, out) = self.kmid(&[
            "verify",
            "--keys",
            "keys",
            "--request",
            request,
            "--presentation",
            presentation,
            "--json",
        ]);
        (code, serde_json::from_str(&out).unwrap_or(Value::Null))
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Run {
    /// Runs `kmid verify --json` with `args`: the exit code, the parsed result (`null` when
    /// the output is not JSON) and the raw output.
    pub(crate) fn verify_json(&self, args: &[&str]) -> (i32, Value, String) {
        let mut all = vec!["verify", "--json"];
        all.extend_from_slice(args);
        let (code, out) = self.kmid(&all);
        (code, serde_json::from_str(&out).unwrap_or(Value::Null), out)
    }
}
