//! Several issuer processes on one PostgreSQL registry (issue 21): 4 processes × 8 threads
//! issue, re-issue and report losses for the same 10,000 cards for a fixed time, and the
//! registry's invariants are then checked by queries. Twice more with a crash in the middle:
//! one issuer process SIGKILLed, and the database server itself stopped at once
//! (`pg_ctl stop -m immediate`) and started again. After each, nothing is half-done and
//! nothing an issuer acknowledged is missing.
//!
//! The issuer processes are this test binary run again with `KMID_RACE_WORKER` set (the
//! `race_worker` test does nothing otherwise). Each writes a line to its acknowledgement file
//! after each rule the registry committed, so the file holds what a caller was told.

#![cfg(feature = "postgres")]
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kmid_crypto::SystemRandom;
use kmid_status::postgres::{Database, PostgresStore};
use kmid_status::registry::{
    Actor, CredentialFormat, RegistryConfig, RegistryStore, StatusRegistry,
};
use kmid_status::{RegistryError, StatusListError};
use time::OffsetDateTime;

const CARDS: u64 = 10_000;
const PROCESSES: usize = 4;
const THREADS: usize = 8;

/// One phase at a time: each runs 4 processes of 8 threads on a 2-core machine.
static PHASES: Mutex<()> = Mutex::new(());

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

fn config() -> RegistryConfig {
    RegistryConfig::new("https://status.mois.go.kr/lists")
}

/// A small generator for choosing operations (the registry draws its indices from the
/// system's random generator).
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// What a worker thread tells the harness it was acknowledged.
fn ack(file: &Mutex<std::fs::File>, line: &str) {
    // One write of the whole line, ended by a mark: a SIGKILL leaves no line that looks whole.
    let text = format!("{} {line} .\n", now_ms());
    file.lock().unwrap().write_all(text.as_bytes()).unwrap();
}

fn worker_thread(
    registry: &StatusRegistry<PostgresStore>,
    acks: &Mutex<std::fs::File>,
    seed: u64,
    until: Instant,
) -> (u64, u64, u64) {
    let mut dice = Dice(seed | 1);
    let (mut done, mut refused, mut failed) = (0u64, 0u64, 0u64);
    while Instant::now() < until {
        let card = dice.next() % CARDS;
        let key = format!("card-{card}");
        let actor = Actor {
            who: "race worker",
            at: OffsetDateTime::now_utc(),
            reason: "race",
        };
        let current = match registry.card(&key) {
            Ok(c) => c.active_device,
            Err(StatusListError::Registry(RegistryError::UnknownCard)) => None,
            Err(_) => {
                failed += 1;
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        let device = current.clone().unwrap_or_else(|| format!("phone-{card}-0"));
        let roll = dice.next() % 100;
        let outcome: Result<String, StatusListError> = if roll < 50 {
            registry
                .register_issuance(
                    &key,
                    &device,
                    &[CredentialFormat::Mdoc, CredentialFormat::SdJwtVc],
                    &actor,
                )
                .map(|r| format!("issue {key} {} {}", r[0].credential, r[1].credential))
        } else if roll < 62 {
            let next = format!("phone-{card}-{}", dice.next() % 1_000_000);
            registry
                .reissue_to_new_device(&key, &next, &actor)
                .map(|_| format!("reissue {key} {next}"))
        } else if roll < 72 {
            registry
                .report_card_lost(&key, &actor)
                .map(|_| format!("card_lost {key}"))
        } else if roll < 82 {
            registry
                .reinstate_card(&key, &actor)
                .map(|_| format!("card_found {key}"))
        } else if roll < 91 {
            registry
                .report_phone_lost(&device, &actor)
                .map(|_| format!("phone_lost {device}"))
        } else {
            registry
                .reinstate_phone(&device, &actor)
                .map(|_| format!("phone_found {device}"))
        };
        match outcome {
            Ok(line) => {
                ack(acks, &line);
                done += 1;
            }
            Err(StatusListError::Registry(
                RegistryError::UnknownCard
                | RegistryError::SecondDevice
                | RegistryError::CardLost
                | RegistryError::DeviceLost,
            )) => refused += 1,
            Err(_) => {
                // The server is down (the crash phase) or a conflict outlasted the retries.
                failed += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    (done, refused, failed)
}

/// An issuer process: `KMID_RACE_THREADS` threads on one registry for `KMID_RACE_MILLIS`.
#[test]
fn race_worker() {
    let Ok(url) = std::env::var("KMID_RACE_WORKER") else {
        return;
    };
    let namespace = std::env::var("KMID_RACE_NAMESPACE").unwrap();
    let millis: u64 = std::env::var("KMID_RACE_MILLIS").unwrap().parse().unwrap();
    let acks = std::env::var("KMID_RACE_ACKS").unwrap();
    let store = PostgresStore::connect(
        &Database::new(url),
        &namespace,
        u32::try_from(THREADS).unwrap(),
    )
    .unwrap();
    let registry = Arc::new(StatusRegistry::new(store, config(), Arc::new(SystemRandom)));
    let acks = Arc::new(Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(acks)
            .unwrap(),
    ));
    let until = Instant::now() + Duration::from_millis(millis);
    let seed = u64::from(std::process::id()) << 20;
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let registry = registry.clone();
            let acks = acks.clone();
            std::thread::spawn(move || {
                worker_thread(
                    &registry,
                    &acks,
                    seed + u64::try_from(t).unwrap() + 1,
                    until,
                )
            })
        })
        .collect();
    let (mut done, mut refused, mut failed) = (0, 0, 0);
    for t in threads {
        let (d, r, f) = t.join().unwrap();
        done += d;
        refused += r;
        failed += f;
    }
    let conflicts = registry.store().conflicts();
    println!("RACE done={done} refused={refused} failed={failed} conflicts={conflicts}");
}

struct Workers {
    children: Vec<Child>,
    acks: Vec<PathBuf>,
}

fn start_workers(url: &str, namespace: &str, millis: u64, dir: &Path) -> Workers {
    let exe = std::env::current_exe().unwrap();
    let mut children = Vec::new();
    let mut acks = Vec::new();
    for w in 0..PROCESSES {
        let file = dir.join(format!("acks-{w}"));
        let child = Command::new(&exe)
            .args(["race_worker", "--exact", "--nocapture", "--test-threads=1"])
            .env("KMID_RACE_WORKER", url)
            .env("KMID_RACE_NAMESPACE", namespace)
            .env("KMID_RACE_MILLIS", millis.to_string())
            .env("KMID_RACE_ACKS", &file)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        children.push(child);
        acks.push(file);
    }
    Workers { children, acks }
}

/// Waits for the workers; returns the summary line of each that finished.
fn finish(workers: Workers) -> (Vec<String>, Vec<PathBuf>) {
    let mut summaries = Vec::new();
    for child in workers.children {
        let out = child.wait_with_output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // The harness prints the test's name on the same line.
        if let Some(line) = text.lines().find_map(|l| l.find("RACE ").map(|i| &l[i..])) {
            summaries.push(line.to_owned());
        }
    }
    (summaries, workers.acks)
}

fn count(summaries: &[String], field: &str) -> u64 {
    summaries
        .iter()
        .filter_map(|s| {
            s.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{field}=")))
                .map(|v| v.parse::<u64>().unwrap())
        })
        .sum()
}

fn scalar(db: &mut postgres::Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).unwrap().get(0)
}

/// Every invariant of the registry, by queries; and every acknowledged rule in the database.
/// Returns the number of acknowledgements checked.
fn check(url: &str, namespace: &str, acks: &[PathBuf]) -> usize {
    let mut db = postgres::Client::connect(url, postgres::NoTls).unwrap();
    db.batch_execute(&format!("SET search_path TO kmid_{namespace}"))
        .unwrap();
    let queries: &[(&str, &str)] = &[
        (
            "a credential that is not INVALID is on its card's one active phone",
            "SELECT count(*) FROM registry_credentials c JOIN registry_cards k USING (card_key)
             WHERE c.status <> 1 AND c.device IS DISTINCT FROM k.active_device",
        ),
        (
            "no status index is handed out twice",
            "SELECT count(*) FROM (SELECT list_id, idx FROM registry_credentials
             GROUP BY list_id, idx HAVING count(*) > 1) AS twice",
        ),
        (
            "no VALID credential of a card reported lost",
            "SELECT count(*) FROM registry_credentials c JOIN registry_cards k USING (card_key)
             WHERE k.physical = 'lost' AND c.status = 0",
        ),
        (
            "no VALID credential on a phone reported lost",
            "SELECT count(*) FROM registry_credentials c JOIN registry_lost_devices d USING (device)
             WHERE c.status = 0",
        ),
        (
            "a credential that is not INVALID is suspended exactly when its card or phone is lost",
            "SELECT count(*) FROM registry_credentials c JOIN registry_cards k USING (card_key)
             WHERE c.status <> 1 AND (
                ((c.suspension & 1) <> 0) <> (k.physical = 'lost')
                OR ((c.suspension & 2) <> 0)
                   <> EXISTS (SELECT 1 FROM registry_lost_devices d WHERE d.device = c.device)
                OR c.status <> CASE WHEN c.suspension <> 0 THEN 2 ELSE 0 END)",
        ),
        (
            "an issuance is whole: an mdoc and an SD-JWT VC, or nothing",
            "SELECT count(*) FROM (SELECT card_key, issuance FROM registry_credentials
             GROUP BY card_key, issuance
             HAVING count(*) <> 2 OR count(DISTINCT format) <> 2) AS partial",
        ),
        (
            "every credential has its registration event",
            "SELECT count(*) FROM registry_credentials c WHERE NOT EXISTS (
                SELECT 1 FROM registry_events e
                WHERE e.credential = c.id AND e.operation = 'register')",
        ),
        (
            "every credential's status is its last event's",
            "SELECT count(*) FROM registry_credentials c LEFT JOIN (
                SELECT DISTINCT ON (credential) credential, new_status FROM registry_events
                WHERE credential IS NOT NULL ORDER BY credential, seq DESC) AS last
             ON last.credential = c.id
             WHERE c.status IS DISTINCT FROM last.new_status",
        ),
    ];
    for (rule, sql) in queries {
        assert_eq!(scalar(&mut db, sql), 0, "{rule}");
    }
    let credentials = scalar(&mut db, "SELECT count(*) FROM registry_credentials");
    assert!(credentials > 0, "the race issued nothing");

    // The published lists say what the registry says, entry by entry.
    let store = PostgresStore::connect(&Database::new(url), namespace, 1).unwrap();
    let all = store.all_credentials().unwrap();
    let registry = StatusRegistry::new(store, config(), Arc::new(SystemRandom));
    assert_eq!(registry.audit().unwrap(), all.len());
    let mut lists = BTreeMap::new();
    for list in registry.lists().unwrap() {
        lists.insert(list.id, registry.publish(list.id).unwrap().1);
    }
    for c in &all {
        assert_eq!(lists[&c.list_id].get(c.idx).unwrap(), c.status, "{c:?}");
    }

    // Nothing acknowledged is missing.
    let ids: BTreeSet<u64> = all.iter().map(|c| c.id).collect();
    let by_id: BTreeMap<u64, &str> = all.iter().map(|c| (c.id, c.card_key.as_str())).collect();
    let mut events: BTreeMap<(String, String), i64> = BTreeMap::new();
    for row in db
        .query(
            "SELECT operation, coalesce(card_key, device), count(*) FROM registry_events
             WHERE credential IS NULL GROUP BY 1, 2",
            &[],
        )
        .unwrap()
    {
        events.insert((row.get(0), row.get(1)), row.get(2));
    }
    let mut acked: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut checked = 0;
    for file in acks {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines() {
            let mut fields: Vec<&str> = line.split_whitespace().collect();
            // A line cut by a SIGKILL is not an acknowledgement anyone received.
            if fields.len() < 4 || fields.pop() != Some(".") {
                continue;
            }
            checked += 1;
            let (op, subject) = (fields[1], fields[2]);
            match op {
                "issue" if fields.len() == 5 => {
                    for id in &fields[3..5] {
                        let id: u64 = id.parse().unwrap();
                        assert!(ids.contains(&id), "acknowledged credential {id} is missing");
                        assert_eq!(by_id[&id], subject);
                    }
                }
                "issue" => {}
                _ => {
                    let operation = match op {
                        "reissue" => "reissue",
                        "card_lost" => "card_lost",
                        "phone_lost" => "phone_lost",
                        _ => "reinstate",
                    };
                    *acked
                        .entry((operation.to_owned(), subject.to_owned()))
                        .or_default() += 1;
                }
            }
        }
    }
    for (key, n) in &acked {
        let logged = events.get(key).copied().unwrap_or(0);
        assert!(
            logged >= *n,
            "{key:?}: {n} acknowledged, {logged} in the event log"
        );
    }
    checked
}

fn cluster() -> Option<String> {
    let url = std::env::var("KMID_POSTGRES_URL").ok();
    if url.is_none() {
        eprintln!("KMID_POSTGRES_URL is not set: the PostgreSQL race checks nothing");
    }
    url
}

fn namespace(tag: &str) -> String {
    format!("race_{tag}_{}", std::process::id())
}

fn scratch(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kmid-race-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn seconds(default: u64) -> u64 {
    std::env::var("KMID_RACE_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[test]
fn four_issuer_processes_race_on_ten_thousand_cards() {
    let Some(url) = cluster() else { return };
    let _phase = PHASES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let ns = namespace("plain");
    drop(PostgresStore::connect(&Database::new(url.as_str()), &ns, 1).unwrap());
    let dir = scratch("plain");
    let started = Instant::now();
    let (summaries, acks) = finish(start_workers(&url, &ns, seconds(15) * 1000, &dir));
    assert_eq!(summaries.len(), PROCESSES, "{summaries:?}");
    let checked = check(&url, &ns, &acks);
    println!(
        "race: {PROCESSES} processes × {THREADS} threads, {:.1} s: {summaries:?}; {checked} acknowledgements found",
        started.elapsed().as_secs_f64()
    );
    assert!(count(&summaries, "done") > 1000, "{summaries:?}");
    // With the server up, a conflict never outlasts the retries.
    assert_eq!(count(&summaries, "failed"), 0, "{summaries:?}");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_sigkilled_issuer_leaves_nothing_half_done() {
    let Some(url) = cluster() else { return };
    let _phase = PHASES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let ns = namespace("sigkill");
    drop(PostgresStore::connect(&Database::new(url.as_str()), &ns, 1).unwrap());
    let dir = scratch("sigkill");
    let mut workers = start_workers(&url, &ns, seconds(10) * 1000, &dir);
    std::thread::sleep(Duration::from_secs(3));
    // SIGKILL, in the middle of whatever transactions it has open.
    workers.children[0].kill().unwrap();
    let (summaries, acks) = finish(workers);
    assert_eq!(summaries.len(), PROCESSES - 1, "{summaries:?}");
    let before = std::fs::read_to_string(&acks[0]).unwrap().lines().count();
    assert!(
        before > 0,
        "the killed issuer acknowledged nothing before it died"
    );
    let checked = check(&url, &ns, &acks);
    println!("sigkill: the killed issuer had {before} acknowledgements; {checked} found in all");
    std::fs::remove_dir_all(dir).ok();
}

struct OwnCluster(PathBuf);

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(pg_script())
            .arg("stop")
            .arg(&self.0)
            .status();
    }
}

fn pg_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg.sh")
}

fn pg(command: &str, dir: &Path) -> String {
    let out = Command::new("bash")
        .arg(pg_script())
        .arg(command)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg.sh {command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn the_database_server_stopped_at_once_loses_nothing_acknowledged() {
    // A cluster of this test's own, since it is stopped in the middle of the run.
    if cluster().is_none() {
        return;
    }
    let _phase = PHASES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = std::env::temp_dir().join(format!("kmid-race-pg-{}", std::process::id()));
    let url = pg("start", &dir);
    let own = OwnCluster(dir.clone());
    let ns = namespace("crash");
    drop(PostgresStore::connect(&Database::new(url.as_str()), &ns, 1).unwrap());
    let scratch = scratch("crash");
    let workers = start_workers(&url, &ns, seconds(12) * 1000, &scratch);
    std::thread::sleep(Duration::from_secs(4));
    pg("crash", &own.0);
    std::thread::sleep(Duration::from_millis(1500));
    pg("resume", &own.0);
    let resumed = now_ms();
    let (summaries, acks) = finish(workers);
    assert_eq!(summaries.len(), PROCESSES, "{summaries:?}");
    // The issuers saw the outage and carried on once the server was back.
    assert!(count(&summaries, "failed") > 0, "{summaries:?}");
    let after: usize = acks
        .iter()
        .map(|f| {
            std::fs::read_to_string(f)
                .unwrap_or_default()
                .lines()
                .filter(|l| {
                    l.split_whitespace()
                        .next()
                        .and_then(|t| t.parse::<u128>().ok())
                        .is_some_and(|t| t > resumed)
                })
                .count()
        })
        .sum();
    assert!(after > 0, "nothing was issued after the restart");
    let checked = check(&url, &ns, &acks);
    println!(
        "server crash: {summaries:?}; {after} acknowledgements after the restart, {checked} found in all"
    );
    drop(own);
    std::fs::remove_dir_all(scratch).ok();
}

/// Two writers' events: one numbered before another but committed after it. A reader that
/// goes on from the highest number it saw misses it; `event_mark` over a window behind that
/// number moves (what `kmid serve`'s status publisher watches).
#[test]
fn an_event_committed_behind_a_later_one_moves_the_mark() {
    let Some(url) = cluster() else { return };
    let ns = namespace("straggler");
    let registry = StatusRegistry::new(
        PostgresStore::connect(&Database::new(url.as_str()), &ns, 1).unwrap(),
        config(),
        Arc::new(SystemRandom),
    );
    let actor = Actor {
        who: "counter 1",
        at: OffsetDateTime::now_utc(),
        reason: "issued",
    };
    registry
        .register("card-a", "phone-a", CredentialFormat::Mdoc, &actor)
        .unwrap();
    let connect = || {
        let mut db = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        db.batch_execute(&format!("SET search_path TO kmid_{ns}"))
            .unwrap();
        db
    };
    let insert = "INSERT INTO registry_events (at, actor, operation, reason)
                  VALUES (0, 'test', 'reinstate', 'straggler') RETURNING seq";
    let (mut slow, mut fast) = (connect(), connect());
    let mut open = slow.transaction().unwrap();
    let behind: i64 = open.query_one(insert, &[]).unwrap().get(0);
    let ahead: i64 = fast.query_one(insert, &[]).unwrap().get(0);
    assert!(behind < ahead);
    let (highest, _) = registry.event_mark(0).unwrap();
    assert_eq!(highest, u64::try_from(ahead).unwrap());
    let window = highest.saturating_sub(4096);
    let before = registry.event_mark(window).unwrap();
    open.commit().unwrap();
    // Going on from the highest number seen misses the straggler …
    assert!(registry.events(highest + 1).unwrap().is_empty());
    // … the window behind it does not.
    let after = registry.event_mark(window).unwrap();
    assert_eq!(after, (before.0, before.1 + 1));
}
