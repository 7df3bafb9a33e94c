//! Every main operation, per format and card type, against its raw-cryptography floor measured
//! in the same run (issue 9). Absolute times drift from run to run on shared machines; the
//! ratios of one run do not, so the report at the end gives each median as a multiple of its
//! floor:
//!
//! | operation | floor |
//! |---|---|
//! | issue (either format) | one P-256 signature + SHA-256 of the issued bytes |
//! | present, mdoc | one P-256 signature (DeviceAuthentication is small) |
//! | present, SD-JWT VC | one P-256 signature + SHA-256 of the presentation (`sd_hash`) |
//! | verify, chain cache warm | issuer + device/KB verification + SHA-256 of the presentation; for an SD-JWT VC also SHA-256 of its Disclosures (RFC 9901 hashes each Disclosure, and `sd_hash` the whole SD-JWT: two passes the standard requires) |
//! | verify, chain cache cold | the same + the Document Signer certificate's verification |
//! | mdoc in a session | the same + one ECDH (P-256) + AES-256-GCM of the sealed answer |
//! | issue, both formats, registry | two signatures + SHA-256 of both credentials (SQLite not counted) |
//!
//! The floor's primitives are those of the provider under test, called through its own tables
//! (`CryptoProvider`): a P-256 signature over a precomputed digest, a verification of a short
//! message, ECDH from the peer's point bytes, SHA-256 and AES-256-GCM. With the OpenSSL
//! provider these are OpenSSL's fastest paths (`ECDSA_do_sign`/`ECDSA_do_verify` on `EC_KEY`,
//! the low-level SHA-256 context); `--no-default-features --features aws-lc,sqlite` measures
//! kmid on aws-lc-rs against aws-lc-rs's own floor.
//!
//! Run with `cargo bench -p kmid --bench operations`; the table is printed at the end and
//! written to `target/criterion/kmid-report.md`. A filter runs a subset and the report lists
//! only the rows measured in this run; keep the floors in it (`-- 'floor|resident'`), or there
//! is nothing to divide by.

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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use criterion::{BatchSize, Criterion, Throughput};
use fixture::{Fixture, micros, status_list};
use kmid::Formats;
use kmid::crypto::{Algorithm, Curve, HashAlgorithm, PrivateKey, PublicKey, Signer as _};

/// Presentations per batch in the batch-verification benchmark.
const BATCH: usize = 64;

fn criterion_dir() -> PathBuf {
    fixture::criterion_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

fn median(group: &str, function: &str, since: SystemTime) -> Option<f64> {
    fixture::median(&criterion_dir(), group, function, since)
}

fn configured() -> Criterion {
    Criterion::default()
        .output_directory(&criterion_dir())
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .configure_from_args()
}

/// The byte counts the floors hash and encrypt, one per artefact of every fixture.
fn artefact_sizes(fixtures: &[Fixture]) -> Vec<usize> {
    let mut sizes: Vec<usize> = fixtures
        .iter()
        .flat_map(|f| {
            [
                f.mdoc_issued.len(),
                f.mdoc_response.len(),
                f.sealed_response.len(),
                f.sd_issued.len(),
                f.sd_presentation.len(),
                disclosure_bytes(&f.sd_presentation),
            ]
        })
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// The bytes of an SD-JWT's Disclosures, each of which the verifier hashes.
fn disclosure_bytes(sd_jwt: &str) -> usize {
    let parts: Vec<&str> = sd_jwt.split('~').collect();
    parts[1..parts.len() - 1].iter().map(|d| d.len()).sum()
}

fn floor_benches(c: &mut Criterion, sizes: &[usize]) {
    let mut g = c.benchmark_group("floor");
    // The raw primitives of the provider under test, through its own tables: what kmid cannot
    // avoid doing (sign a digest, verify a signature, agree a key, hash, seal).
    let provider = kmid::crypto::CryptoProvider::get_default();
    let key = PrivateKey::generate(Curve::P256).unwrap();
    let digest = HashAlgorithm::Sha256
        .digest(b"the floor signs one digest")
        .unwrap();
    g.bench_function("p256_sign", |b| {
        b.iter(|| key.sign_prehashed(black_box(&digest)).unwrap());
    });
    let message = b"the floor verifies one short message";
    let sig = key.sign(message).unwrap();
    let public = key.public_key().clone();
    g.bench_function("p256_verify", |b| {
        b.iter(|| {
            provider
                .signature_verifier
                .verify(Algorithm::Es256, &public, black_box(message), &sig)
                .unwrap()
        });
    });
    let own = PrivateKey::generate(Curve::P256).unwrap();
    let peer_point = PrivateKey::generate(Curve::P256)
        .unwrap()
        .public_key()
        .to_sec1_uncompressed()
        .unwrap();
    g.bench_function("p256_ecdh", |b| {
        b.iter(|| {
            // As a session does: the peer's point arrives as bytes.
            let peer = PublicKey::from_sec1(Curve::P256, black_box(&peer_point)).unwrap();
            provider.key_agreement.ecdh(&own, &peer).unwrap()
        });
    });
    for &n in sizes {
        let data = vec![0x5Au8; n];
        g.throughput(Throughput::Bytes(n as u64));
        g.bench_function(format!("sha256_{n}"), |b| {
            b.iter(|| {
                let mut h = HashAlgorithm::Sha256.hasher();
                h.update(black_box(&data));
                h.finish()
            });
        });
        let gcm_key = [7u8; 32];
        let iv = [1u8; 12];
        g.bench_function(format!("aes256gcm_{n}"), |b| {
            b.iter(|| {
                provider
                    .aead
                    .aes_gcm_seal(&gcm_key, &iv, b"", black_box(&data))
                    .unwrap()
            });
        });
    }
    g.finish();
}

fn operation_benches(c: &mut Criterion, f: &Fixture) {
    let mut g = c.benchmark_group(f.name);
    g.bench_function("mdoc_issue", |b| b.iter(|| f.issue_mdoc()));
    g.bench_function("mdoc_present", |b| b.iter(|| f.present_mdoc()));
    g.bench_function("mdoc_verify", |b| b.iter(|| f.verify_mdoc()));
    g.bench_function("mdoc_verify_cold", |b| {
        b.iter(|| f.verify_mdoc_with(&f.verifier_cold));
    });
    g.bench_function("mdoc_present_session", |b| {
        b.iter(|| f.present_in_session())
    });
    g.bench_function("mdoc_verify_session", |b| b.iter(|| f.verify_in_session()));
    g.bench_function("sd_jwt_issue", |b| b.iter(|| f.issue_sd_jwt()));
    g.bench_function("sd_jwt_present", |b| b.iter(|| f.present_sd_jwt()));
    g.bench_function("sd_jwt_verify", |b| b.iter(|| f.verify_sd_jwt()));
    g.bench_function("sd_jwt_verify_cold", |b| {
        b.iter(|| f.verify_sd_jwt_with(&f.verifier_cold));
    });
    // The facade's issue: both formats, each with its entry in the (in-memory) registry.
    g.bench_function("issue_both_registry", |b| {
        b.iter(|| {
            f.issuer
                .issue(&f.card, f.wallet.device_key(), Formats::Both, f.at)
                .unwrap()
        });
    });
    g.finish();
}

fn status_benches(c: &mut Criterion, f: &Fixture) {
    let mut g = c.benchmark_group("status");
    g.sample_size(10);
    for bits in [20u32, 26] {
        g.bench_function(format!("build_compress_sign_2p{bits}"), |b| {
            b.iter(|| f.sign_status_list(&status_list(bits)));
        });
    }
    let list = status_list(26);
    let mut i: u64 = 0;
    g.sample_size(30);
    g.bench_function("lookup_2p26", |b| {
        b.iter(|| {
            i = (i + 0x9E37_79B9) & ((1 << 26) - 1);
            list.get(black_box(i)).unwrap()
        });
    });
    g.finish();
}

fn batch_benches(c: &mut Criterion, f: &Fixture) {
    let mut g = c.benchmark_group("batch");
    g.sample_size(10);
    g.throughput(Throughput::Elements(BATCH as u64));
    let items: Vec<kmid::BatchItem<'_>> = (0..BATCH)
        .map(|_| kmid::BatchItem::Mdoc {
            request: &f.mdoc_request,
            response: &f.mdoc_response,
            transcript: &f.transcript,
        })
        .collect();
    g.bench_function("mdoc_verify_64_one_thread", |b| {
        b.iter(|| {
            items
                .iter()
                .map(|item| f.verifier.verify_item(item, f.at).is_ok())
                .filter(|ok| *ok)
                .count()
        });
    });
    // The machine's own scaling: the raw P-256 verifications of the same batch (two per mdoc),
    // one thread against one per core started per batch as verify_batch does. Virtual cores
    // share their host, so this, not 2×, is the ceiling.
    let provider = kmid::crypto::CryptoProvider::get_default();
    let key = PrivateKey::generate(Curve::P256).unwrap();
    let message = b"the batch floor";
    let sig = key.sign(message).unwrap();
    let public = key.public_key().clone();
    let raw = |count: usize| {
        (0..count)
            .filter(|_| {
                provider
                    .signature_verifier
                    .verify(Algorithm::Es256, &public, black_box(message), &sig)
                    .is_ok()
            })
            .count()
    };
    g.bench_function("floor_p256_verify_128_one_thread", |b| {
        b.iter(|| raw(2 * BATCH));
    });
    g.bench_function("floor_p256_verify_128_batch", |b| {
        b.iter(|| {
            let threads = std::thread::available_parallelism().map_or(1, usize::from);
            let next = std::sync::atomic::AtomicUsize::new(0);
            let work = || {
                let mut ok = 0;
                while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < 2 * BATCH {
                    ok += raw(1);
                }
                ok
            };
            std::thread::scope(|s| {
                let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
                work()
                    + helpers
                        .into_iter()
                        .map(|h| h.join().unwrap())
                        .sum::<usize>()
            })
        });
    });
    g.bench_function("mdoc_verify_64_batch", |b| {
        b.iter_batched(
            || (),
            |()| {
                f.verifier
                    .verify_batch(&items, f.at)
                    .iter()
                    .filter(|r| r.is_ok())
                    .count()
            },
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

fn report(fixtures: &[Fixture], since: SystemTime) -> String {
    let floor = |name: &str| median("floor", name, since);
    let mut out = String::new();
    let (Some(sign), Some(verify), Some(ecdh)) =
        (floor("p256_sign"), floor("p256_verify"), floor("p256_ecdh"))
    else {
        return "the floor was not measured in this run (run without a filter)\n".into();
    };
    let sha = |n: usize| floor(&format!("sha256_{n}")).unwrap_or(f64::NAN);
    let aes = |n: usize| floor(&format!("aes256gcm_{n}")).unwrap_or(f64::NAN);
    let _ = writeln!(
        out,
        "floor: P-256 sign {}, verify {}, ECDH {}\n",
        micros(sign),
        micros(verify),
        micros(ecdh)
    );
    let _ = writeln!(out, "| card | operation | bytes | median | floor | ratio |");
    let _ = writeln!(out, "|---|---|---:|---:|---:|---:|");
    for f in fixtures {
        let rows: [(&str, usize, f64); 10] = [
            (
                "mdoc_issue",
                f.mdoc_issued.len(),
                sign + sha(f.mdoc_issued.len()),
            ),
            // The mdoc signs DeviceAuthentication, a few hundred bytes: the issuer's data is
            // copied, never hashed again.
            ("mdoc_present", f.mdoc_response.len(), sign),
            (
                "mdoc_verify",
                f.mdoc_response.len(),
                2.0 * verify + sha(f.mdoc_response.len()),
            ),
            (
                "mdoc_verify_cold",
                f.mdoc_response.len(),
                3.0 * verify + sha(f.mdoc_response.len()),
            ),
            (
                "mdoc_present_session",
                f.sealed_response.len(),
                ecdh + sign + aes(f.sealed_response.len()),
            ),
            (
                "mdoc_verify_session",
                f.sealed_response.len(),
                ecdh + 2.0 * verify + aes(f.sealed_response.len()) + sha(f.mdoc_response.len()),
            ),
            (
                "sd_jwt_issue",
                f.sd_issued.len(),
                sign + sha(f.sd_issued.len()),
            ),
            (
                "sd_jwt_present",
                f.sd_presentation.len(),
                sign + sha(f.sd_presentation.len()),
            ),
            (
                "sd_jwt_verify",
                f.sd_presentation.len(),
                2.0 * verify
                    + sha(f.sd_presentation.len())
                    + sha(disclosure_bytes(&f.sd_presentation)),
            ),
            (
                "sd_jwt_verify_cold",
                f.sd_presentation.len(),
                3.0 * verify
                    + sha(f.sd_presentation.len())
                    + sha(disclosure_bytes(&f.sd_presentation)),
            ),
        ];
        for (op, bytes, floor_ns) in rows {
            if let Some(m) = median(f.name, op, since) {
                let _ = writeln!(
                    out,
                    "| {} | {op} | {bytes} | {} | {} | {:.2}× |",
                    f.name,
                    micros(m),
                    micros(floor_ns),
                    m / floor_ns
                );
            }
        }
        if let Some(m) = median(f.name, "issue_both_registry", since) {
            let _ = writeln!(
                out,
                "| {} | issue_both_registry | {} | {} | {} | {:.2}× |",
                f.name,
                f.mdoc_issued.len() + f.sd_issued.len(),
                micros(m),
                micros(2.0 * sign + sha(f.mdoc_issued.len()) + sha(f.sd_issued.len())),
                m / (2.0 * sign + sha(f.mdoc_issued.len()) + sha(f.sd_issued.len()))
            );
        }
    }
    let _ = writeln!(
        out,
        "\n| card | mdoc issued | SD-JWT VC issued | ratio | mdoc presented | SD-JWT VC presented | ratio |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|");
    for f in fixtures {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.2}× | {} | {} | {:.2}× |",
            f.name,
            f.mdoc_issued.len(),
            f.sd_issued.len(),
            f.sd_issued.len() as f64 / f.mdoc_issued.len() as f64,
            f.mdoc_response.len(),
            f.sd_presentation.len(),
            f.sd_presentation.len() as f64 / f.mdoc_response.len() as f64,
        );
    }
    let mut status = BTreeMap::new();
    for name in [
        "build_compress_sign_2p20",
        "build_compress_sign_2p26",
        "lookup_2p26",
    ] {
        if let Some(m) = median("status", name, since) {
            status.insert(name, m);
        }
    }
    if !status.is_empty() {
        let _ = writeln!(out, "\n| status list | median |\n|---|---:|");
        for (name, m) in status {
            let _ = writeln!(out, "| {name} | {} |", micros(m));
        }
    }
    if let (Some(one), Some(batch)) = (
        median("batch", "mdoc_verify_64_one_thread", since),
        median("batch", "mdoc_verify_64_batch", since),
    ) {
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let _ = write!(
            out,
            "\nbatch of {BATCH} mdoc verifications: one thread {}, batch on {threads} threads {} — {:.2}× the throughput",
            micros(one),
            micros(batch),
            one / batch
        );
        if let (Some(raw_one), Some(raw_batch)) = (
            median("batch", "floor_p256_verify_128_one_thread", since),
            median("batch", "floor_p256_verify_128_batch", since),
        ) {
            let _ = write!(
                out,
                "; the same run's raw P-256 verifications scale {:.2}× on these threads ({} against {}), so kmid keeps {:.0} % of the machine's own scaling",
                raw_one / raw_batch,
                micros(raw_one),
                micros(raw_batch),
                100.0 * (one / batch) / (raw_one / raw_batch)
            );
        }
        let _ = writeln!(out);
    }
    out
}

fn main() {
    let since = SystemTime::now();
    let fixtures = fixture::all();
    let mut c = configured();
    floor_benches(&mut c, &artefact_sizes(&fixtures));
    for f in &fixtures {
        operation_benches(&mut c, f);
    }
    status_benches(&mut c, &fixtures[0]);
    batch_benches(&mut c, &fixtures[0]);
    c.final_summary();
    let table = report(&fixtures, since);
    println!("\n{table}");
    let _ = std::fs::create_dir_all(criterion_dir());
    let _ = std::fs::write(criterion_dir().join("kmid-report.md"), table);
}
