//! The issuer's OpenID4VCI stores, one contract for all three: memory, SQLite and PostgreSQL
//! (the test cluster of the README's test command, `KMID_POSTGRES_URL`): a live handle is not
//! overwritten, an expired one is; a record is taken once, also by 8 threads racing for it;
//! racing failures are each counted; replace keeps expiry and failures; purge drops the expired.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::sync::Arc;

use kmid::oid4vc::store::{
    IssuanceStore, MemoryIssuanceStore, RecordKind, SqliteIssuanceStore, StoreError,
};
use time::{Duration, OffsetDateTime};

mod common;

fn contract(store: Arc<dyn IssuanceStore>) {
    let at = OffsetDateTime::now_utc();
    let later = at + Duration::minutes(5);
    let kind = RecordKind::PreAuthorizedCode;
    assert!(store.insert(kind, "h1", b"one", later, at).unwrap());
    // A live record is not overwritten (a replay), another kind is another record.
    assert!(!store.insert(kind, "h1", b"two", later, at).unwrap());
    assert!(
        store
            .insert(RecordKind::Offer, "h1", b"offer", later, at)
            .unwrap()
    );
    assert_eq!(store.get(kind, "h1", at).unwrap().unwrap(), b"one");
    // Expired: as good as absent, and a new record may take the handle.
    assert!(store.get(kind, "h1", later).unwrap().is_none());
    assert!(
        store
            .insert(kind, "h1", b"three", later + Duration::minutes(5), later)
            .unwrap()
    );
    assert_eq!(store.get(kind, "h1", later).unwrap().unwrap(), b"three");
    // Failures count, replace keeps them and the expiry.
    assert_eq!(store.count_failure(kind, "h1", later).unwrap(), Some(1));
    assert!(store.replace(kind, "h1", b"four", later).unwrap());
    assert_eq!(store.count_failure(kind, "h1", later).unwrap(), Some(2));
    assert!(!store.replace(kind, "absent", b"x", later).unwrap());
    assert_eq!(store.count_failure(kind, "absent", later).unwrap(), None);
    // Taken once.
    assert_eq!(store.take(kind, "h1", later).unwrap().unwrap(), b"four");
    assert!(store.take(kind, "h1", later).unwrap().is_none());
    // Bounds.
    assert!(matches!(
        store.insert(kind, &"x".repeat(200), b"v", later, at),
        Err(StoreError::TooLarge)
    ));
    // Purge drops the expired only.
    store
        .insert(kind, "old", b"v", at + Duration::seconds(1), at)
        .unwrap();
    store
        .insert(kind, "young", b"v", later + Duration::hours(1), at)
        .unwrap();
    let purged = store.purge(at + Duration::seconds(2)).unwrap();
    assert!(purged >= 1, "{purged}");
    assert!(store.get(kind, "young", at).unwrap().is_some());

    // Races: 8 threads take one record (one wins), 8 threads count 10 failures each (80).
    store.insert(kind, "race", b"v", later, at).unwrap();
    store.insert(kind, "count", b"v", later, at).unwrap();
    let (taken, counts): (usize, Vec<u32>) = std::thread::scope(|scope| {
        let takers: Vec<_> = (0..8)
            .map(|_| {
                let store = Arc::clone(&store);
                scope.spawn(move || usize::from(store.take(kind, "race", at).unwrap().is_some()))
            })
            .collect();
        let counters: Vec<_> = (0..8)
            .map(|_| {
                let store = Arc::clone(&store);
                scope.spawn(move || {
                    (0..10)
                        .map(|_| store.count_failure(kind, "count", at).unwrap().unwrap())
                        .max()
                        .unwrap()
                })
            })
            .collect();
        (
            takers.into_iter().map(|h| h.join().unwrap()).sum(),
            counters.into_iter().map(|h| h.join().unwrap()).collect(),
        )
    });
    assert_eq!(taken, 1);
    assert_eq!(counts.into_iter().max(), Some(80));
}

#[test]
fn memory_keeps_the_contract() {
    contract(Arc::new(MemoryIssuanceStore::default()));
}

#[test]
fn sqlite_keeps_the_contract() {
    let dir = std::env::temp_dir().join(format!("kmid-issuance-store-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("issuance.sqlite");
    let _ = std::fs::remove_file(&path);
    contract(Arc::new(SqliteIssuanceStore::open(&path).unwrap()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_keeps_the_contract() {
    let Some(url) = common::postgres_database("issuance") else {
        eprintln!("KMID_POSTGRES_URL is not set: the PostgreSQL store checks nothing");
        return;
    };
    contract(Arc::new(
        kmid_server::postgres::PostgresIssuanceStore::connect(
            &kmid_server::postgres::Database::new(url.as_str()),
        )
        .unwrap(),
    ));
    // A second instance on the same database: the schema is there, nothing migrates again.
    let again = kmid_server::postgres::PostgresIssuanceStore::connect(
        &kmid_server::postgres::Database::new(url.as_str()),
    )
    .unwrap();
    assert!(
        again
            .get(
                RecordKind::PreAuthorizedCode,
                "young",
                OffsetDateTime::now_utc()
            )
            .unwrap()
            .is_some()
    );
}
