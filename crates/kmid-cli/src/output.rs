//! Standard output and error that never panic: `println!` panics when stdout is closed
//! (`kmid … | head`) or full (`> /dev/full`). A failed write here is remembered, the rest of the
//! output is dropped, and `main` exits 2 with a message instead of the command's own code.

use std::io::Write as _;
use std::sync::Mutex;

/// The first write to stdout that failed.
static FAILURE: Mutex<Option<std::io::ErrorKind>> = Mutex::new(None);

fn failure_slot() -> std::sync::MutexGuard<'static, Option<std::io::ErrorKind>> {
    FAILURE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Writes `text` and a newline to stdout, flushed. After a failed write, nothing more is
/// written.
pub(crate) fn out(text: &str) {
    let mut failure = failure_slot();
    if failure.is_some() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        *failure = Some(e.kind());
    }
}

/// Writes `text` and a newline to stderr; a failure there has nowhere to be reported.
pub(crate) fn err(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Why stdout could not be written, if it could not.
pub(crate) fn failed() -> Option<std::io::ErrorKind> {
    *failure_slot()
}

/// `println!` without the panic: see [`out`].
macro_rules! outln {
    ($($t:tt)*) => { $crate::output::out(&format!($($t)*)) };
}

/// `eprintln!` without the panic: see [`err`].
macro_rules! errln {
    ($($t:tt)*) => { $crate::output::err(&format!($($t)*)) };
}
