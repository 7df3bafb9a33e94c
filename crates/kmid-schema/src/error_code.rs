//! Error codes: the stable, machine-readable names of every error of the workspace.
//!
//! Each error enum has an exhaustive `fn code(&self) -> &'static str`: the path of variant
//! names from that error down to the innermost kind, joined by dots
//! (`KeyBinding.NonceMismatch`, `IssuerAuth.Chain.Certificate.UntrustedRoot`). The codes are a
//! published contract (the CLI's `--json` output and the expected errors of `test-vectors/`
//! use them), written out in code, never derived from `Debug` text.
//!
//! A code that crosses a crate boundary (the facade's `Mdoc.` before the mdoc crate's own code)
//! is joined by [`join`].

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

/// `prefix` and `code` joined by a dot (`join("Mdoc", "Digest.Missing")` is
/// `Mdoc.Digest.Missing`), as a `&'static str`.
///
/// Each distinct pair is joined once per process and kept: both parts are `&'static str`
/// returned by `code()` functions, so the pairs are a finite set fixed at compile time (a few
/// hundred), and the memory kept is bounded by it whatever the input was.
#[must_use]
pub fn join(prefix: &'static str, code: &'static str) -> &'static str {
    type Table = HashMap<(&'static str, &'static str), &'static str>;
    static JOINED: OnceLock<Mutex<Table>> = OnceLock::new();
    let mut table = JOINED
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        // Each change is one insert: a panic elsewhere cannot leave the table half-changed.
        .unwrap_or_else(PoisonError::into_inner);
    table
        .entry((prefix, code))
        .or_insert_with(|| Box::leak(format!("{prefix}.{code}").into_boxed_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_once_per_pair() {
        let a = join("Mdoc", "Digest.Missing");
        assert_eq!(a, "Mdoc.Digest.Missing");
        // The same pair gives the same allocation back.
        assert!(core::ptr::eq(a, join("Mdoc", "Digest.Missing")));
        assert_eq!(join("SdJwt", "Expired"), "SdJwt.Expired");
    }
}
