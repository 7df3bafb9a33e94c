//! Status list and registry benchmarks (issue 6 targets):
//!
//! - a list of 2^26 two-bit entries builds, compresses and signs in well under a second;
//! - with 1,000,000 credentials registered in SQLite, a lifecycle operation's median is under
//!   1 ms;
//! - publishing a 2^20-entry list from the store (query, build, compress, sign) takes under
//!   300 ms.
//!
//! Run with `cargo bench -p kmid-status`. Setting `KMID_BENCH_CREDENTIALS` changes the registry
//! size (default 1,000,000; the setup takes a while, once).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kmid_crypto::Signer;
use kmid_status::StatusList;
use kmid_status::registry::{
    Actor, CredentialFormat, Durability, RegistryConfig, SqliteStore, StatusRegistry,
};
use kmid_status::token::{TokenClaims, TokenSigner, sign_cwt, sign_jwt};
use kmid_testkit::{REFERENCE_TIME, SeededRandom};

fn signer() -> Arc<dyn Signer> {
    Arc::new(kmid_testkit::test_key("mois-ds"))
}

fn claims(uri: &str) -> TokenClaims {
    TokenClaims {
        sub: uri.into(),
        iat: REFERENCE_TIME.unix_timestamp(),
        exp: Some(REFERENCE_TIME.unix_timestamp() + 86_400),
        ttl: Some(3_600),
    }
}

/// 2^26 entries, 1 in 100 set to SUSPENDED or INVALID at pseudo-random places.
fn big_list() -> StatusList {
    let n: u64 = 1 << 26;
    let mut list = StatusList::new(2, n).unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..n / 100 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        list.set(x % n, if x & 1 == 0 { 1 } else { 2 }).unwrap();
    }
    list
}

fn list_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("status_list_2^26");
    g.sample_size(10);
    g.bench_function("build (1% set)", |b| b.iter(|| black_box(big_list())));
    let list = big_list();
    assert_eq!(
        list.as_bytes().len(),
        1 << 24,
        "2 bits per entry, no overhead"
    );
    g.bench_function("compress", |b| {
        b.iter(|| black_box(list.compress().unwrap()))
    });
    let signer = signer();
    let uri = "https://status.mois.go.kr/lists/1";
    let ts = TokenSigner {
        signer: &signer,
        chain: &[],
        kid: Some("mois-ds"),
        provider: kmid_crypto::CryptoProvider::get_default(),
    };
    g.bench_function("compress + sign JWT", |b| {
        b.iter(|| black_box(sign_jwt(&list, &claims(uri), &ts).unwrap()))
    });
    g.bench_function("compress + sign CWT", |b| {
        b.iter(|| black_box(sign_cwt(&list, &claims(uri), &ts).unwrap()))
    });
    g.bench_function("build + compress + sign JWT", |b| {
        b.iter(|| black_box(sign_jwt(&big_list(), &claims(uri), &ts).unwrap()))
    });
    let lst = list.compress().unwrap();
    println!(
        "2^26 two-bit entries, 1% set: {} bytes compressed",
        lst.len()
    );
    // What each level costs and gives on this list (compress() uses 6 above 1 MiB).
    for level in [1, 6, 9] {
        let size = list
            .compress_with(flate2::Compression::new(level))
            .unwrap()
            .len();
        println!("  ZLIB level {level}: {size} bytes");
        g.bench_function(format!("compress at level {level}"), |b| {
            b.iter(|| black_box(list.compress_with(flate2::Compression::new(level)).unwrap()))
        });
    }
    g.bench_function("decompress (verifier side)", |b| {
        b.iter(|| black_box(StatusList::decompress(2, &lst, 32 << 20).unwrap()))
    });
    g.bench_function("lookup", |b| {
        let mut i = 0u64;
        b.iter(|| {
            i = (i + 7_919) % (1 << 26);
            black_box(list.get(i).unwrap())
        })
    });
    g.finish();
}

fn registry_path() -> PathBuf {
    std::env::temp_dir().join(format!("kmid-status-bench-{}.sqlite3", std::process::id()))
}

fn registry_benches(c: &mut Criterion) {
    let credentials: u64 = std::env::var("KMID_BENCH_CREDENTIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    if credentials == 0 {
        return;
    }
    let path = registry_path();
    let _ = std::fs::remove_file(&path);
    let registry = StatusRegistry::new(
        SqliteStore::open(&path, Durability::Normal).unwrap(),
        RegistryConfig::new("https://status.mois.go.kr/lists"),
        Arc::new(SeededRandom::new(b"bench")),
    );
    let actor = Actor {
        who: "bench",
        at: REFERENCE_TIME,
        reason: "load",
    };
    let started = std::time::Instant::now();
    // Two credentials (mdoc and SD-JWT VC) per card, on the card's phone.
    for i in 0..credentials / 2 {
        let card = format!("card-{i}");
        let phone = format!("phone-{i}");
        registry
            .register_issuance(
                &card,
                &phone,
                &[CredentialFormat::Mdoc, CredentialFormat::SdJwtVc],
                &actor,
            )
            .unwrap();
    }
    // 2% of the phones lost: statuses to publish.
    for i in (0..credentials / 2).step_by(50) {
        registry
            .report_phone_lost(&format!("phone-{i}"), &actor)
            .unwrap();
    }
    println!(
        "registry setup: {credentials} credentials in {:.1} s, {} lists",
        started.elapsed().as_secs_f64(),
        registry.lists().unwrap().len()
    );

    let mut g = c.benchmark_group(format!("registry_{credentials}"));
    let cards = credentials / 2;
    let mut i = 1u64;
    g.bench_function("report_phone_lost + reinstate_phone", |b| {
        b.iter(|| {
            i = (i + 7_919) % cards;
            let phone = format!("phone-{i}");
            registry.report_phone_lost(&phone, &actor).unwrap();
            registry.reinstate_phone(&phone, &actor).unwrap();
        })
    });
    g.bench_function("report_card_lost + reinstate_card", |b| {
        b.iter(|| {
            i = (i + 7_919) % cards;
            let card = format!("card-{i}");
            registry.report_card_lost(&card, &actor).unwrap();
            registry.reinstate_card(&card, &actor).unwrap();
        })
    });
    let mut next = cards;
    g.bench_function("register (new card)", |b| {
        b.iter(|| {
            next += 1;
            registry
                .register(
                    &format!("card-{next}"),
                    &format!("phone-{next}"),
                    CredentialFormat::Mdoc,
                    &actor,
                )
                .unwrap()
        })
    });
    g.bench_function("status", |b| {
        b.iter(|| {
            i = (i + 7_919) % cards;
            black_box(registry.status(i + 1).unwrap())
        })
    });
    let signer = signer();
    let ts = TokenSigner {
        signer: &signer,
        chain: &[],
        kid: Some("mois-ds"),
        provider: kmid_crypto::CryptoProvider::get_default(),
    };
    g.sample_size(20);
    g.bench_function(
        BenchmarkId::new("publish 2^20 list", "query + build"),
        |b| b.iter(|| black_box(registry.publish(1).unwrap())),
    );
    let (record, list) = registry.publish(1).unwrap();
    println!(
        "list 1: {} of {} entries allocated, {} bytes as a signed JWT",
        record.used,
        record.size,
        sign_jwt(&list, &claims(&record.uri), &ts).unwrap().len()
    );
    g.bench_function(
        BenchmarkId::new("publish 2^20 list", "query + build + compress + sign JWT"),
        |b| {
            b.iter(|| {
                let (record, list) = registry.publish(1).unwrap();
                black_box(sign_jwt(&list, &claims(&record.uri), &ts).unwrap())
            })
        },
    );
    g.finish();
    drop(registry);
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

criterion_group!(benches, list_benches, registry_benches);
criterion_main!(benches);
