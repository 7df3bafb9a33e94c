//! Heap cost per operation (issue 9): for each operation of the timing benchmark, the number
//! of allocations, the bytes allocated and the peak of heap live at once while it runs, after
//! one warm-up call (status lists fetched, chains cached, as in a running service). Measured
//! with dhat's allocator in testing mode, in this benchmark binary only, so the timed
//! benchmark and the library run on the system allocator.
//!
//! Run with `cargo bench -p kmid --bench allocations`; the table is printed and written to
//! `target/criterion/kmid-allocations.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::as_conversions,
    clippy::cast_precision_loss,
    clippy::indexing_slicing,
    missing_docs
)]

mod fixture;

use std::fmt::Write as _;
use std::hint::black_box;
use std::path::Path;

use fixture::Fixture;

#[global_allocator]
static ALLOC: dhat::Alloc = dhat::Alloc;

struct Cost {
    blocks: u64,
    bytes: u64,
    peak: usize,
}

fn cost<T>(f: impl Fn() -> T) -> Cost {
    black_box(f());
    let _profiler = dhat::Profiler::builder().testing().build();
    black_box(f());
    let stats = dhat::HeapStats::get();
    Cost {
        blocks: stats.total_blocks,
        bytes: stats.total_bytes,
        peak: stats.max_bytes,
    }
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

fn rows(f: &Fixture) -> Vec<(&'static str, usize, Cost)> {
    vec![
        ("mdoc_issue", f.mdoc_issued.len(), cost(|| f.issue_mdoc())),
        (
            "mdoc_present",
            f.mdoc_response.len(),
            cost(|| f.present_mdoc()),
        ),
        (
            "mdoc_verify",
            f.mdoc_response.len(),
            cost(|| f.verify_mdoc()),
        ),
        (
            "mdoc_verify_cold",
            f.mdoc_response.len(),
            cost(|| f.verify_mdoc_with(&f.verifier_cold)),
        ),
        (
            "mdoc_present_session",
            f.sealed_response.len(),
            cost(|| f.present_in_session()),
        ),
        (
            "mdoc_verify_session",
            f.sealed_response.len(),
            cost(|| f.verify_in_session()),
        ),
        ("sd_jwt_issue", f.sd_issued.len(), cost(|| f.issue_sd_jwt())),
        (
            "sd_jwt_present",
            f.sd_presentation.len(),
            cost(|| f.present_sd_jwt()),
        ),
        (
            "sd_jwt_verify",
            f.sd_presentation.len(),
            cost(|| f.verify_sd_jwt()),
        ),
        (
            "sd_jwt_verify_cold",
            f.sd_presentation.len(),
            cost(|| f.verify_sd_jwt_with(&f.verifier_cold)),
        ),
    ]
}

/// Heap peak of building a 2^26-entry list, and of compressing and signing it: the target is
/// 2 bits per entry plus 1 MiB.
fn status_list_memory(f: &Fixture) -> String {
    let mib = |b: usize| b as f64 / (1024.0 * 1024.0);
    let build = {
        let _profiler = dhat::Profiler::builder().testing().build();
        drop(black_box(fixture::status_list(26)));
        dhat::HeapStats::get().max_bytes
    };
    let list = fixture::status_list(26);
    let (sign_peak, token_len) = {
        let _profiler = dhat::Profiler::builder().testing().build();
        let token = f.sign_status_list(&list);
        (dhat::HeapStats::get().max_bytes, token.len())
    };
    let stream_peak = {
        let _profiler = dhat::Profiler::builder().testing().build();
        f.write_status_list(&list, &mut std::io::sink());
        dhat::HeapStats::get().max_bytes
    };
    let compressed_len = list.compress().unwrap().len();
    let entries = 1usize << 26;
    format!(
        "status list of 2^26 two-bit entries: the list {:.1} MiB (2 bits per entry); heap peak while \
         building it {:.1} MiB. Compress + sign streamed to a file or socket (`write_jwt`): {:.2} \
         MiB on top of the list; returned as a string (`sign_jwt`): {:.1} MiB on top, the token \
         itself being {:.1} MiB (ZLIB {:.1} MiB, then base64url twice). Target: 2 bits/entry + 1 \
         MiB = {:.1} MiB for the list and its working memory",
        mib(list.as_bytes().len()),
        mib(build),
        mib(stream_peak),
        mib(sign_peak),
        mib(token_len),
        mib(compressed_len),
        mib(entries / 4) + 1.0,
    )
}

fn main() {
    let fixtures = fixture::all();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "| card | operation | artefact bytes | allocations | bytes allocated | heap peak | peak / artefact |"
    );
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|---:|");
    for f in &fixtures {
        for (op, size, c) in rows(f) {
            let _ = writeln!(
                out,
                "| {} | {op} | {size} | {} | {} | {} | {:.1}× |",
                f.name,
                c.blocks,
                kib(c.bytes),
                kib(c.peak as u64),
                c.peak as f64 / size as f64
            );
        }
    }
    let _ = writeln!(out, "\n{}", status_list_memory(&fixtures[0]));
    println!("{out}");
    let dir = fixture::criterion_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("kmid-allocations.md"), out);
}
