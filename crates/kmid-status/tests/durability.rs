//! The SQLite registry under crashes and corruption: a child process doing lifecycle operations
//! is killed with SIGKILL at random points, and on reopen every acknowledged operation is there,
//! its events and statuses agree, and the published lists match the events. A damaged file is
//! an error on open.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use kmid_status::registry::{
    Actor, CredentialFormat, Durability, RegistryConfig, SqliteStore, StatusRegistry,
};
use kmid_status::{RegistryError, StatusListError};
use kmid_testkit::{REFERENCE_TIME, SeededRandom};

const CHILD_ENV: &str = "KMID_STATUS_CRASH_CHILD_DB";

fn config() -> RegistryConfig {
    RegistryConfig {
        list_size: 1 << 12,
        list_capacity: 1 << 11,
        ..RegistryConfig::new("https://status.mois.go.kr/lists")
    }
}

fn open(path: &Path, seed: &[u8]) -> StatusRegistry<SqliteStore> {
    StatusRegistry::new(
        SqliteStore::open(path, Durability::Normal).unwrap(),
        config(),
        Arc::new(SeededRandom::new(seed)),
    )
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kmid-status-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The crash child's batch issuance.
const BATCH: [CredentialFormat; 3] = [
    CredentialFormat::Mdoc,
    CredentialFormat::SdJwtVc,
    CredentialFormat::Mdoc,
];

/// The child: when started by `crash_kill_and_reopen`, performs lifecycle operations for ever
/// and, after each one returns, prints the events it committed (`ev seq credential status`)
/// and `ack seq`. Run normally, it does nothing.
#[test]
fn crash_child() {
    let Ok(db) = std::env::var(CHILD_ENV) else {
        return;
    };
    let seed = format!("child {}", std::process::id());
    let registry = open(Path::new(&db), seed.as_bytes());
    let mut last = registry.events(0).unwrap().last().map_or(0, |e| e.seq);
    let mut state = u64::from(std::process::id());
    let actor = Actor {
        who: "crash test",
        at: REFERENCE_TIME,
        reason: "random lifecycle",
    };
    let out = std::io::stdout();
    let mut grants: Vec<(String, String, String)> = Vec::new();
    for n in 0u64.. {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let card = format!("card-{}", (state >> 33) % 64);
        let device = format!("phone-{}", (state >> 40) % 96);
        // Refusals (second device, lost card, …) are acknowledged outcomes too: nothing changes.
        let _ = match (state >> 20) % 10 {
            0..=1 => registry
                .register(&card, &device, CredentialFormat::Mdoc, &actor)
                .map(drop),
            // A batch issuance: three credentials that stand together, renewable.
            2 => {
                let grant = format!("grant-{}-{n}", std::process::id());
                registry
                    .register_renewable_issuance(&card, &device, &BATCH, &grant, &actor)
                    .map(|_| grants.push((grant, card.clone(), device.clone())))
            }
            // A renewal of one of this child's grants (most are refused: spent, superseded…).
            8 if !grants.is_empty() => {
                let (grant, card, device) =
                    grants[usize::try_from(state >> 45).unwrap() % grants.len()].clone();
                registry
                    .redeem_renewal(
                        &grant,
                        &card,
                        &device,
                        &BATCH,
                        &format!("{grant}-renewed-{n}"),
                        &actor,
                    )
                    .map(|_| grants.push((format!("{grant}-renewed-{n}"), card, device)))
            }
            3 => registry.report_card_lost(&card, &actor).map(drop),
            4 => registry.report_phone_lost(&device, &actor).map(drop),
            5 => registry.reinstate_card(&card, &actor).map(drop),
            6 => registry.reinstate_phone(&device, &actor).map(drop),
            // A chip (one of a few per card, so some are retired and tried again).
            7 => registry
                .enroll_chip(
                    &card,
                    format!("{card}-chip-{}", (state >> 50) % 3).as_bytes(),
                    b"digest",
                    &actor,
                )
                .map(drop),
            _ => registry
                .reissue_to_new_device(&card, &device, &actor)
                .map(drop),
        };
        let mut lock = out.lock();
        for e in registry.events(last + 1).unwrap() {
            writeln!(
                lock,
                "ev {} {} {}",
                e.seq,
                e.credential.map_or(-1, |c| i64::try_from(c).unwrap()),
                e.new_status.map_or(-1, i64::from)
            )
            .unwrap();
            last = e.seq;
        }
        writeln!(lock, "ack {last} {n}").unwrap();
    }
}

#[test]
fn crash_kill_and_reopen() {
    let dir = scratch("crash");
    let db = dir.join("registry.sqlite3");
    let exe = std::env::current_exe().unwrap();
    let mut acked_events: BTreeMap<u64, (i64, i64)> = BTreeMap::new();
    let mut last_ack = 0u64;
    let mut rounds_with_work = 0;
    for round in 0..6u64 {
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Kill at a different point each round: 150 to 650 ms in.
        std::thread::sleep(StdDuration::from_millis(150 + (round * 97) % 500));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let mut output = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut output)
            .unwrap();
        let mut pending = Vec::new();
        let mut acks = 0;
        for line in output.lines() {
            let f: Vec<&str> = line.split(' ').collect();
            match f.first() {
                Some(&"ev") => pending.push((
                    f[1].parse::<u64>().unwrap(),
                    (f[2].parse::<i64>().unwrap(), f[3].parse::<i64>().unwrap()),
                )),
                // Only events followed by an ack were acknowledged; a line cut by the kill is not.
                Some(&"ack") if f.len() == 3 => {
                    acked_events.extend(pending.drain(..));
                    last_ack = last_ack.max(f[1].parse().unwrap());
                    acks += 1;
                }
                _ => {}
            }
        }
        if acks > 0 {
            rounds_with_work += 1;
        }

        // Reopen: integrity check, then everything acknowledged is there as it was reported.
        let registry = open(&db, b"parent");
        let events = registry.events(0).unwrap();
        for (i, e) in events.iter().enumerate() {
            assert_eq!(e.seq, u64::try_from(i).unwrap() + 1, "gap in the event log");
        }
        assert!(
            events.last().map_or(0, |e| e.seq) >= last_ack,
            "round {round}: acknowledged up to event {last_ack}, the log ends at {:?}",
            events.last().map(|e| e.seq)
        );
        for (seq, (credential, status)) in &acked_events {
            let e = &events[usize::try_from(*seq).unwrap() - 1];
            assert_eq!(
                (
                    e.credential.map_or(-1, |c| i64::try_from(c).unwrap()),
                    e.new_status.map_or(-1, i64::from)
                ),
                (*credential, *status),
                "round {round}: event {seq} differs from what was acknowledged"
            );
        }
        // Events and statuses agree, credential by credential.
        let credentials = registry.audit().unwrap();
        // The published lists are what the events say.
        let mut by_credential: BTreeMap<u64, u8> = BTreeMap::new();
        for e in &events {
            if let (Some(c), Some(s)) = (e.credential, e.new_status) {
                by_credential.insert(c, s);
            }
        }
        assert_eq!(by_credential.len(), credentials);
        let mut lists = BTreeMap::new();
        let mut expected_nonzero: BTreeMap<u64, usize> = BTreeMap::new();
        for (id, status) in &by_credential {
            let record = registry.credential(*id).unwrap();
            let list = lists
                .entry(record.list_id)
                .or_insert_with(|| registry.publish(record.list_id).unwrap().1);
            assert_eq!(list.get(record.idx).unwrap(), *status, "credential {id}");
            if *status != 0 {
                *expected_nonzero.entry(record.list_id).or_default() += 1;
            }
        }
        // Issuances are whole and supersede: a card's issuance has one credential (a single
        // registration) or all three of a batch, never part of one, and every credential of an
        // earlier issuance of the card is INVALID.
        let mut issuances: BTreeMap<(String, u64), Vec<u8>> = BTreeMap::new();
        for id in by_credential.keys() {
            let record = registry.credential(*id).unwrap();
            issuances
                .entry((record.card_key.clone(), record.issuance))
                .or_default()
                .push(record.status);
        }
        for ((card, issuance), statuses) in &issuances {
            assert!(
                statuses.len() == 1 || statuses.len() == BATCH.len(),
                "round {round}: {card} issuance {issuance} has {} credentials",
                statuses.len()
            );
            let latest = issuances
                .keys()
                .filter(|(c, _)| c == card)
                .map(|(_, i)| *i)
                .max()
                .unwrap();
            if *issuance < latest {
                assert!(
                    statuses.iter().all(|s| *s == 1),
                    "round {round}: {card} issuance {issuance} outlived issuance {latest}"
                );
            }
        }
        // A card's enrolled chip is never a retired one.
        for i in 0..64 {
            let card = format!("card-{i}");
            if let Ok(chip) = registry.chip_for_tap(&card) {
                assert!(
                    !registry
                        .retired_chips(&card)
                        .unwrap()
                        .contains(&chip.chip_key),
                    "round {round}: {card} taps with a retired chip"
                );
            }
        }
        // And nothing else is set in them.
        for (id, list) in &lists {
            let nonzero = (0..list.len())
                .filter(|i| list.get(*i).unwrap() != 0)
                .count();
            assert_eq!(
                nonzero,
                expected_nonzero.get(id).copied().unwrap_or(0),
                "list {id}"
            );
        }
    }
    assert!(
        rounds_with_work >= 4,
        "the child did work in only {rounds_with_work} of 6 rounds"
    );
    assert!(
        acked_events.len() > 20,
        "{} events acknowledged",
        acked_events.len()
    );
    println!(
        "6 kills; {} events acknowledged and found again, log ends at or after {last_ack}",
        acked_events.len()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_damaged_file_is_an_error_on_open() {
    let dir = scratch("corrupt");
    // Not a database at all.
    let text = dir.join("text.sqlite3");
    std::fs::write(
        &text,
        "this is not a registry, just text that is long enough to look like one ".repeat(100),
    )
    .unwrap();
    assert!(matches!(
        SqliteStore::open(&text, Durability::Full).unwrap_err(),
        RegistryError::Corrupt(_)
    ));

    // A real registry with pages overwritten.
    let db = dir.join("registry.sqlite3");
    {
        let registry = open(&db, b"corrupt");
        let actor = Actor {
            who: "t",
            at: REFERENCE_TIME,
            reason: "fill",
        };
        for i in 0..400 {
            registry
                .register(
                    &format!("card-{i}"),
                    &format!("phone-{i}"),
                    CredentialFormat::SdJwtVc,
                    &actor,
                )
                .unwrap();
        }
    }
    // Fold the WAL into the file, then damage the middle of it.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    let mut bytes = std::fs::read(&db).unwrap();
    assert!(bytes.len() > 16 * 4096, "{} bytes", bytes.len());
    for b in &mut bytes[4096 * 3..4096 * 6] {
        *b = 0xA5;
    }
    std::fs::File::create(&db)
        .unwrap()
        .write_all(&bytes)
        .unwrap();
    let err = SqliteStore::open(&db, Durability::Full).unwrap_err();
    assert!(matches!(err, RegistryError::Corrupt(_)), "{err:?}");

    // A schema newer than this library.
    let newer = dir.join("newer.sqlite3");
    drop(open(&newer, b"newer"));
    rusqlite::Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    assert_eq!(
        SqliteStore::open(&newer, Durability::Full).unwrap_err(),
        RegistryError::SchemaTooNew {
            found: 99,
            supported: kmid_status::registry::SCHEMA_VERSION
        }
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_version_1_registry_migrates_and_its_credentials_are_superseded_by_the_next_issuance() {
    let dir = scratch("v1");
    let db = dir.join("registry.sqlite3");
    let actor = Actor {
        who: "t",
        at: REFERENCE_TIME,
        reason: "migration",
    };
    let old = {
        let registry = open(&db, b"v1");
        registry
            .register("card", "phone", CredentialFormat::Mdoc, &actor)
            .unwrap()
    };
    // Make the file what version 1 wrote: no issuance column, none of the later tables.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "ALTER TABLE credentials DROP COLUMN issuance;
             DROP TABLE chips; DROP TABLE retired_chips; DROP TABLE grants; DROP TABLE persons;
             PRAGMA user_version = 1;",
        )
        .unwrap();
    }
    let registry = open(&db, b"v2");
    let record = registry.credential(old.credential).unwrap();
    assert_eq!(
        record.issuance, 0,
        "a credential from before issuances were recorded"
    );
    let new = registry
        .register_issuance(
            "card",
            "phone",
            &[CredentialFormat::Mdoc, CredentialFormat::SdJwtVc],
            &actor,
        )
        .unwrap();
    assert_eq!(
        registry.status(old.credential).unwrap(),
        kmid_schema::status::TokenStatus::Invalid
    );
    for r in &new {
        assert_eq!(registry.credential(r.credential).unwrap().issuance, 1);
    }
    assert_eq!(registry.audit().unwrap(), 3);
    drop(registry);
    let version: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, kmid_status::registry::SCHEMA_VERSION);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn reopening_keeps_everything_and_migrates_nothing_twice() {
    let dir = scratch("reopen");
    let db = dir.join("registry.sqlite3");
    let actor = Actor {
        who: "t",
        at: REFERENCE_TIME,
        reason: "reopen",
    };
    let first = {
        let registry = open(&db, b"one");
        let r = registry
            .register("card", "phone", CredentialFormat::Mdoc, &actor)
            .unwrap();
        registry.report_phone_lost("phone", &actor).unwrap();
        r
    };
    let registry = open(&db, b"two");
    assert_eq!(
        registry.status(first.credential).unwrap(),
        kmid_schema::status::TokenStatus::Suspended
    );
    assert!(registry.device_lost("phone").unwrap());
    assert_eq!(
        registry
            .register("card", "phone", CredentialFormat::Mdoc, &actor)
            .unwrap_err(),
        StatusListError::Registry(RegistryError::DeviceLost)
    );
    assert_eq!(registry.audit().unwrap(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}
