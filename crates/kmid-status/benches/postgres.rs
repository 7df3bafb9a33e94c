//! The registry on PostgreSQL against SQLite (issue 21's targets), a bench binary:
//!
//! - registrations per second with 1, 2 and 4 issuer processes on one store (each process one
//!   thread registering new cards' credentials for a fixed time), PostgreSQL and SQLite at
//!   full durability (a commit survives a power loss: `synchronous_commit = on`,
//!   `synchronous = FULL`); target: PostgreSQL at least half of SQLite's per process;
//! - publication (read the list's non-VALID entries, build, compress, sign) of a 2^24-entry
//!   list; target: under 5 s;
//! - the raw floor in the same run: a bare one-row INSERT and commit per transaction on each
//!   database, from one process.
//!
//! `cargo bench -p kmid-status --bench postgres` (on the cluster in `KMID_POSTGRES_URL`, or a
//! throwaway one it starts with `scripts/pg.sh` and reaches on its Unix socket). Each issuer
//! process runs 1 thread (the latency of one rule: about a dozen round trips) and then 8 (an
//! issuer serving concurrent requests: the PostgreSQL store runs them side by side, SQLite's
//! one connection takes them in turn). `KMID_BENCH_SECONDS` sets each run's length
//! (default 5); `KMID_BENCH_PUBLISH_NONZERO` the non-VALID entries of the big list (default
//! 2^20, plus a run with 2^23, every entry the registry allocates at half capacity).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::as_conversions,
    clippy::cast_precision_loss,
    missing_docs
)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kmid_crypto::{Signer, SystemRandom};
use kmid_status::postgres::{Database, PostgresStore};
use kmid_status::registry::{
    Actor, CardRecord, CredentialFormat, Durability, PhysicalStatus, RegistryConfig, RegistryStore,
    SqliteStore, StatusRegistry,
};
use kmid_status::token::{TokenClaims, TokenSigner, sign_jwt};
use time::OffsetDateTime;

fn now_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn config() -> RegistryConfig {
    RegistryConfig::new("https://status.mois.go.kr/lists")
}

/// A worker: registers new cards' credentials from `start` (unix ms) for `millis`, prints
/// how many.
fn worker(backend: &str, target: &str, start: u64, millis: u64) {
    let tag = std::process::id();
    let actor = Actor {
        who: "bench",
        at: OffsetDateTime::now_utc(),
        reason: "load",
    };
    let threads: usize = std::env::var("KMID_BENCH_THREADS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let run = |registry: &(dyn Fn(&str, &str) -> bool + Sync), threads: usize| {
        while now_ms() < start {
            std::thread::sleep(Duration::from_millis(1));
        }
        let until = Instant::now() + Duration::from_millis(millis);
        let total: u64 = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    scope.spawn(move || {
                        let mut n = 0u64;
                        while Instant::now() < until {
                            assert!(registry(
                                &format!("card-{tag}-{t}-{n}"),
                                &format!("phone-{tag}-{t}-{n}")
                            ));
                            n += 1;
                        }
                        n
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        println!("REGISTERED {total}");
    };
    match backend {
        "postgres" => {
            let (url, ns) = target.split_once('\t').unwrap();
            let store =
                PostgresStore::connect(&Database::new(url), ns, u32::try_from(threads).unwrap())
                    .unwrap();
            run(&registering(store, &actor), threads);
        }
        "sqlite" => {
            let store = SqliteStore::open(Path::new(target), Durability::Full).unwrap();
            run(&registering(store, &actor), threads);
        }
        "floor-postgres" => {
            let mut db = postgres::Client::connect(target, postgres::NoTls).unwrap();
            db.batch_execute("CREATE TABLE IF NOT EXISTS floor (id BIGSERIAL PRIMARY KEY, v TEXT)")
                .unwrap();
            let insert = db.prepare("INSERT INTO floor (v) VALUES ($1)").unwrap();
            let cell = std::sync::Mutex::new(db);
            run(
                &|card, _| cell.lock().unwrap().execute(&insert, &[&card]).is_ok(),
                1,
            );
        }
        "floor-sqlite" => {
            let db = rusqlite::Connection::open(target).unwrap();
            let _: String = db
                .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
                .unwrap();
            db.execute_batch(
                "PRAGMA synchronous=FULL; CREATE TABLE IF NOT EXISTS floor (id INTEGER PRIMARY KEY, v TEXT)",
            )
            .unwrap();
            db.busy_timeout(Duration::from_secs(5)).unwrap();
            let db = std::sync::Mutex::new(db);
            run(
                &|card, _| {
                    db.lock()
                        .unwrap()
                        .execute("INSERT INTO floor (v) VALUES (?1)", [card])
                        .is_ok()
                },
                1,
            );
        }
        other => panic!("unknown backend {other}"),
    }
}

/// A registry on `store` and what a worker does with it: one credential of a new card per call.
fn registering<'a, S: RegistryStore + 'a>(
    store: S,
    actor: &'a Actor<'a>,
) -> impl Fn(&str, &str) -> bool + Sync + 'a {
    let registry = StatusRegistry::new(store, config(), Arc::new(SystemRandom));
    move |card, phone| {
        registry
            .register(card, phone, CredentialFormat::Mdoc, actor)
            .is_ok()
    }
}

/// Runs `processes` workers on `target` at once; registrations per second, in all.
fn race(backend: &str, target: &str, processes: usize, threads: usize, millis: u64) -> f64 {
    let start = now_ms() + 1500;
    let children: Vec<_> = (0..processes)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .env("KMID_BENCH_WORKER", backend)
                .env("KMID_BENCH_TARGET", target)
                .env("KMID_BENCH_START", start.to_string())
                .env("KMID_BENCH_MILLIS", millis.to_string())
                .env("KMID_BENCH_THREADS", threads.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut total = 0u64;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "a {backend} worker failed");
        let text = String::from_utf8(out.stdout).unwrap();
        total += text
            .lines()
            .find_map(|l| l.strip_prefix("REGISTERED "))
            .unwrap()
            .parse::<u64>()
            .unwrap();
    }
    total as f64 / (millis as f64 / 1000.0)
}

/// The cluster in `KMID_POSTGRES_URL`, or a throwaway one reached on its Unix socket.
fn cluster() -> (String, Option<kmid_testkit::pg::Cluster>) {
    if let Ok(url) = std::env::var("KMID_POSTGRES_URL") {
        return (url, None);
    }
    let own = kmid_testkit::pg::Cluster::start("bench");
    let socket = own.socket().unwrap();
    (socket, Some(own))
}

fn signer() -> Arc<dyn Signer> {
    Arc::new(kmid_testkit::test_key("mois-ds"))
}

/// Publishes `list` of `registry` as a signed JWT; the time it took.
fn publish<S: RegistryStore>(registry: &StatusRegistry<S>, list: u64) -> Duration {
    let signer = signer();
    let ts = TokenSigner {
        signer: &signer,
        chain: &[],
        kid: Some("mois-ds"),
        provider: kmid_crypto::CryptoProvider::get_default(),
    };
    let started = Instant::now();
    let (record, built) = registry.publish(list).unwrap();
    let claims = TokenClaims {
        sub: record.uri.clone(),
        iat: OffsetDateTime::now_utc().unix_timestamp(),
        exp: Some(OffsetDateTime::now_utc().unix_timestamp() + 86_400),
        ttl: Some(3_600),
    };
    let token = sign_jwt(&built, &claims, &ts).unwrap();
    let took = started.elapsed();
    assert!(!token.is_empty());
    took
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

/// Opens the registry's one 2^24-entry list, and the card the seeded entries belong to.
fn open_list<S: RegistryStore>(registry: &StatusRegistry<S>) -> u64 {
    registry
        .store()
        .transaction(|tx| {
            tx.put_card(&CardRecord {
                card_key: "card-seed".into(),
                physical: PhysicalStatus::Normal,
                active_device: Some("phone-seed".into()),
            })?;
            tx.insert_list("https://status.mois.go.kr/lists/1", 2, 1 << 24)
        })
        .unwrap()
}

/// A registry whose one list has 2^24 entries, `nonzero` of them non-VALID (spread over the
/// list), seeded by SQL; the median of 5 publications.
fn publication_postgres(url: &str, nonzero: u64) -> Duration {
    let ns = format!("bench_publish_{}_{nonzero}", std::process::id());
    let registry = StatusRegistry::new(
        PostgresStore::connect(&Database::new(url), &ns, 2).unwrap(),
        RegistryConfig {
            list_size: 1 << 24,
            list_capacity: 1 << 23,
            ..config()
        },
        Arc::new(SystemRandom),
    );
    let list = open_list(&registry);
    let mut db = postgres::Client::connect(url, postgres::NoTls).unwrap();
    db.batch_execute(&format!("SET search_path TO kmid_{ns}"))
        .unwrap();
    let seeded = Instant::now();
    // Spread over the list from index 2, alternately INVALID and SUSPENDED, on one card (the
    // card does not matter to publication).
    db.execute(
        "INSERT INTO registry_credentials (card_key, device, format, list_id, idx, status, suspension, issuance)
         SELECT 'card-seed', 'phone-seed', 'mdoc', $1, 2 + i * ((16777214) / $2::BIGINT), 1 + (i % 2)::SMALLINT,
                CASE WHEN i % 2 = 1 THEN 2 ELSE 0 END, 1
         FROM generate_series(0, $2::BIGINT - 1) AS i",
        &[&i64::try_from(list).unwrap(), &i64::try_from(nonzero).unwrap()],
    )
    .unwrap();
    db.batch_execute("VACUUM ANALYZE registry_credentials")
        .unwrap();
    eprintln!(
        "  seeded {nonzero} non-VALID entries in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    let took = median((0..5).map(|_| publish(&registry, list)).collect());
    db.batch_execute(&format!("DROP SCHEMA kmid_{ns} CASCADE"))
        .unwrap();
    took
}

/// The same list in SQLite.
fn publication_sqlite(dir: &Path, nonzero: u64) -> Duration {
    let path = dir.join(format!("publish-{nonzero}.sqlite"));
    let _ = std::fs::remove_file(&path);
    let registry = StatusRegistry::new(
        SqliteStore::open(&path, Durability::Full).unwrap(),
        RegistryConfig {
            list_size: 1 << 24,
            list_capacity: 1 << 23,
            ..config()
        },
        Arc::new(SystemRandom),
    );
    let list = open_list(&registry);
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute(
        "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i + 1 < ?2)
         INSERT INTO credentials (card_key, device, format, list_id, idx, status, suspension, issuance)
         SELECT 'card-seed', 'phone-seed', 'mdoc', ?1, 2 + i * (16777214 / ?2), 1 + (i % 2),
                CASE WHEN i % 2 = 1 THEN 2 ELSE 0 END, 1 FROM s",
        rusqlite::params![i64::try_from(list).unwrap(), i64::try_from(nonzero).unwrap()],
    )
    .unwrap();
    drop(db);
    let took = median((0..5).map(|_| publish(&registry, list)).collect());
    drop(registry);
    let _ = std::fs::remove_file(&path);
    took
}

fn main() {
    if let Ok(backend) = std::env::var("KMID_BENCH_WORKER") {
        let var = |k: &str| std::env::var(k).unwrap();
        worker(
            &backend,
            &var("KMID_BENCH_TARGET"),
            var("KMID_BENCH_START").parse().unwrap(),
            var("KMID_BENCH_MILLIS").parse().unwrap(),
        );
        return;
    }
    // `cargo bench` passes `--bench`; a filter naming another bench skips this one.
    if std::env::args().skip(1).any(|a| !a.starts_with('-')) {
        return;
    }
    let seconds: u64 = std::env::var("KMID_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let millis = seconds * 1000;
    let (url, _cluster) = cluster();
    let dir = std::env::temp_dir().join(format!("kmid-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    println!("registrations per second (one credential of a new card each; {seconds} s runs)");
    println!(
        "| processes × threads | SQLite | per process | PostgreSQL | per process | PostgreSQL / SQLite per process |"
    );
    println!("|---|---|---|---|---|---|");
    for threads in [1usize, 8] {
        for processes in [1usize, 2, 4] {
            let file = dir.join(format!("registry-{processes}-{threads}.sqlite"));
            drop(SqliteStore::open(&file, Durability::Full).unwrap());
            let sqlite = race("sqlite", file.to_str().unwrap(), processes, threads, millis);
            let ns = format!("bench_{}_{processes}_{threads}", std::process::id());
            drop(PostgresStore::connect(&Database::new(url.as_str()), &ns, 1).unwrap());
            let pg = race(
                "postgres",
                &format!("{url}\t{ns}"),
                processes,
                threads,
                millis,
            );
            let n = processes as f64;
            println!(
                "| {processes} × {threads} | {sqlite:.0} | {:.0} | {pg:.0} | {:.0} | {:.2} |",
                sqlite / n,
                pg / n,
                pg / sqlite
            );
        }
    }
    let floor_sqlite = race(
        "floor-sqlite",
        dir.join("floor.sqlite").to_str().unwrap(),
        1,
        1,
        millis,
    );
    let floor_pg = race("floor-postgres", &url, 1, 1, millis);
    println!(
        "raw floor, one process: a bare INSERT + commit: SQLite {floor_sqlite:.0}/s, PostgreSQL {floor_pg:.0}/s"
    );
    let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    db.batch_execute("DROP TABLE IF EXISTS floor").unwrap();

    let custom = std::env::var("KMID_BENCH_PUBLISH_NONZERO")
        .ok()
        .and_then(|s| s.parse().ok());
    let sizes: Vec<u64> = custom.map_or_else(|| vec![1 << 20, 1 << 23], |n| vec![n]);
    println!("publication of a 2^24-entry list (query, build, compress, sign a JWT; median of 5)");
    println!("| non-VALID entries | SQLite | PostgreSQL |");
    println!("|---|---|---|");
    for nonzero in sizes {
        let sqlite = publication_sqlite(&dir, nonzero);
        let pg = publication_postgres(&url, nonzero);
        println!(
            "| {nonzero} | {:.2} s | {:.2} s |",
            sqlite.as_secs_f64(),
            pg.as_secs_f64()
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
