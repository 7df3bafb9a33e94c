//! The verifier's transaction stores, one contract for all three: memory, SQLite and
//! PostgreSQL (a real server: the README's test command starts a throwaway cluster and sets
//! `KMID_POSTGRES_URL`). Insert, read, conditional replace (of two replacers at one version,
//! exactly one wins — also from many threads at once), purge, capacity; for PostgreSQL, two
//! connections (two verifier instances) see one state, and a schema newer than the build is
//! refused.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::sync::Arc;

use kmid_server::{
    MemoryTransactionStore, PendingRequest, SqliteTransactionStore, TransactionRecord,
    TransactionStore, TransactionStoreError,
};
use serde_json::json;

mod common;
#[cfg(feature = "postgres")]
use common::postgres_database;

fn record(expires: i64) -> TransactionRecord {
    TransactionRecord {
        // A response key's secret, and text a store must keep to the byte.
        pending: PendingRequest::from_value(&json!({
            "kind": "openid4vp",
            "transaction": { "key": { "kty": "EC", "d": "SECRET-SCALAR" } },
            "text": ["é", "\"q\"", 2.5e-7, -0.0],
        }))
        .unwrap(),
        secret_hash: "h".into(),
        created: 0,
        request_expires: expires,
        expires,
        answered: false,
        failures: 0,
        outcome: None,
        response_code_hash: None,
        legal_basis: None,
        redirect_uri: None,
        include_portrait: false,
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn contract(store: &dyn TransactionStore) {
    let live = now() + 600;
    store.insert("a", &record(live)).unwrap();
    let (version, read) = store.get("a").unwrap().unwrap();
    assert_eq!(read, record(live));
    assert_eq!(read.pending.json(), record(live).pending.json());
    // The record's Debug does not show the pending request's secret.
    assert!(!format!("{read:?}").contains("SECRET"), "{read:?}");
    assert!(store.get("nothing").unwrap().is_none());
    // Conditional replace: at the version read, once.
    let mut answered = record(live);
    answered.answered = true;
    assert!(store.replace("a", version, &answered).unwrap());
    assert!(!store.replace("a", version, &record(live)).unwrap());
    let (newer, read) = store.get("a").unwrap().unwrap();
    assert_ne!(newer, version);
    assert!(read.answered);
    assert!(!store.replace("nothing", 0, &record(live)).unwrap());
    // Purge drops the expired only.
    store.insert("old", &record(now() - 1)).unwrap();
    assert_eq!(store.purge(now()).unwrap(), 1);
    assert!(store.get("old").unwrap().is_none());
    assert!(store.get("a").unwrap().is_some());
}

/// Many threads replace one transaction at the version they read: each version is won once.
fn race(store: Arc<dyn TransactionStore>) {
    store.insert("race", &record(now() + 600)).unwrap();
    let wins: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let store = Arc::clone(&store);
                scope.spawn(move || {
                    let mut won = 0;
                    for _ in 0..20 {
                        let (version, mut read) = store.get("race").unwrap().unwrap();
                        read.failures = read.failures.saturating_add(1);
                        if store.replace("race", version, &read).unwrap() {
                            won += 1;
                        }
                    }
                    won
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let (version, read) = store.get("race").unwrap().unwrap();
    // Every win moved the version by one, and no increment was lost.
    assert_eq!(usize::try_from(version).unwrap(), wins);
    assert_eq!(usize::from(read.failures), wins.min(255));
    assert!(wins >= 20, "{wins}");
}

#[test]
fn memory_keeps_the_contract() {
    contract(&MemoryTransactionStore::new(64));
    race(Arc::new(MemoryTransactionStore::new(64)));
    let full = MemoryTransactionStore::new(1);
    full.insert("x", &record(now() + 600)).unwrap();
    assert!(matches!(
        full.insert("y", &record(now() + 600)),
        Err(TransactionStoreError::Full)
    ));
}

#[test]
fn sqlite_keeps_the_contract() {
    contract(&SqliteTransactionStore::in_memory().unwrap());
    let dir = std::env::temp_dir().join(format!("kmid-store-race-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.sqlite");
    let _ = std::fs::remove_file(&path);
    race(Arc::new(SqliteTransactionStore::open(&path).unwrap()));
    let full = SqliteTransactionStore::in_memory()
        .unwrap()
        .with_capacity(1);
    full.insert("x", &record(now() + 600)).unwrap();
    assert!(matches!(
        full.insert("y", &record(now() + 600)),
        Err(TransactionStoreError::Full)
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_keeps_the_contract() {
    use kmid_server::postgres::PostgresTransactionStore;
    let Some(url) = postgres_database("contract") else {
        eprintln!("KMID_POSTGRES_URL is not set: the PostgreSQL store checks nothing");
        return;
    };
    let store =
        PostgresTransactionStore::connect(&kmid_server::postgres::Database::new(url.as_str()))
            .unwrap();
    contract(&store);
    race(Arc::new(
        PostgresTransactionStore::connect(&kmid_server::postgres::Database::new(url.as_str()))
            .unwrap(),
    ));
    // Two instances on one database see one state; connecting again migrates nothing.
    let other =
        PostgresTransactionStore::connect(&kmid_server::postgres::Database::new(url.as_str()))
            .unwrap();
    assert!(other.get("a").unwrap().unwrap().1.answered);
    let full =
        PostgresTransactionStore::connect(&kmid_server::postgres::Database::new(url.as_str()))
            .unwrap()
            .with_capacity(3);
    full.insert("y", &record(now() + 600)).unwrap();
    assert!(matches!(
        full.insert("z", &record(now() + 600)),
        Err(TransactionStoreError::Full)
    ));
    // A schema newer than this build knows is refused.
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .execute(
            "UPDATE kmid_schema SET version = 99 WHERE component = 'verifier'",
            &[],
        )
        .unwrap();
    let refused =
        PostgresTransactionStore::connect(&kmid_server::postgres::Database::new(url.as_str()))
            .unwrap_err();
    assert!(refused.to_string().contains("newer"), "{refused}");
}
