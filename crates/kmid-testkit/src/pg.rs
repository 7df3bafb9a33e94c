//! A throwaway PostgreSQL cluster for benchmarks (`scripts/pg.sh`, Debian's server): started
//! in a temporary directory, reached on its Unix socket or on loopback TCP, crashed and resumed
//! on demand (a database restart under load), stopped and removed when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A cluster this process started.
#[derive(Debug)]
pub struct Cluster {
    dir: PathBuf,
    url: String,
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg.sh")
}

impl Cluster {
    /// Starts one under the temporary directory, named by `tag` and this process.
    ///
    /// # Panics
    /// When `scripts/pg.sh` fails (no PostgreSQL server installed: `scripts/setup.sh`).
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn start(tag: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kmid-{tag}-pg-{}", std::process::id()));
        let url = run("start", &dir).expect("scripts/pg.sh start");
        Self { dir, url }
    }

    /// Its loopback URL (`postgres://kmid@127.0.0.1:PORT/postgres`).
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The connection string of its Unix socket (faster than loopback TCP).
    ///
    /// # Errors
    /// `scripts/pg.sh`'s output when it fails.
    pub fn socket(&self) -> Result<String, String> {
        run("socket", &self.dir)
    }

    /// Stops the server at once (`-m immediate`: recovery from the WAL on the next start).
    ///
    /// # Errors
    /// `scripts/pg.sh`'s output when it fails.
    pub fn crash(&self) -> Result<(), String> {
        run("crash", &self.dir).map(|_| ())
    }

    /// Starts it again on its port.
    ///
    /// # Errors
    /// `scripts/pg.sh`'s output when it fails.
    pub fn resume(&self) -> Result<(), String> {
        run("resume", &self.dir).map(|_| ())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = run("stop", &self.dir);
    }
}

fn run(command: &str, dir: &Path) -> Result<String, String> {
    let out = Command::new("bash")
        .arg(script())
        .arg(command)
        .arg(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}
