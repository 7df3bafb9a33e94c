//! One suite for every IssuanceStore: live and expired records, single use under races,
//! failure counts under races, replays refused, bounds, purge.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use kmid_oid4vc::store::{IssuanceStore, MAX_VALUE, MemoryIssuanceStore, RecordKind, StoreError};
use time::{Duration, OffsetDateTime};

fn at() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_796_000_000).unwrap()
}

fn suite(store: &Arc<dyn IssuanceStore>) {
    let t = at();
    let later = t + Duration::minutes(5);
    // Insert, read, a second insert under the same handle refused (a replay).
    assert!(
        store
            .insert(RecordKind::CNonce, "h1", b"v1", later, t)
            .unwrap()
    );
    assert!(
        !store
            .insert(RecordKind::CNonce, "h1", b"v2", later, t)
            .unwrap()
    );
    assert_eq!(
        store.get(RecordKind::CNonce, "h1", t).unwrap().unwrap(),
        b"v1"
    );
    // Kinds are separate namespaces.
    assert_eq!(store.get(RecordKind::DpopJti, "h1", t).unwrap(), None);
    assert!(
        store
            .insert(RecordKind::DpopJti, "h1", b"j", later, t)
            .unwrap()
    );
    // Take is single use.
    assert_eq!(
        store.take(RecordKind::CNonce, "h1", t).unwrap().unwrap(),
        b"v1"
    );
    assert_eq!(store.take(RecordKind::CNonce, "h1", t).unwrap(), None);
    assert_eq!(store.get(RecordKind::CNonce, "h1", t).unwrap(), None);
    // Expired records are absent to every operation, and a new record may take the handle.
    assert!(
        store
            .insert(RecordKind::AccessToken, "h2", b"tok", later, t)
            .unwrap()
    );
    assert_eq!(
        store.get(RecordKind::AccessToken, "h2", later).unwrap(),
        None
    );
    assert_eq!(
        store.take(RecordKind::AccessToken, "h2", later).unwrap(),
        None
    );
    assert_eq!(
        store
            .count_failure(RecordKind::AccessToken, "h2", later)
            .unwrap(),
        None
    );
    assert!(
        !store
            .replace(RecordKind::AccessToken, "h2", b"x", later)
            .unwrap()
    );
    assert!(
        store
            .insert(
                RecordKind::AccessToken,
                "h2",
                b"new",
                later + Duration::minutes(5),
                later
            )
            .unwrap()
    );
    assert_eq!(
        store
            .get(RecordKind::AccessToken, "h2", later)
            .unwrap()
            .unwrap(),
        b"new"
    );
    // Failures count; replace keeps them and the expiry.
    assert!(
        store
            .insert(RecordKind::PreAuthorizedCode, "code", b"offer", later, t)
            .unwrap()
    );
    assert_eq!(
        store
            .count_failure(RecordKind::PreAuthorizedCode, "code", t)
            .unwrap(),
        Some(1)
    );
    assert!(
        store
            .replace(RecordKind::PreAuthorizedCode, "code", b"offer2", t)
            .unwrap()
    );
    assert_eq!(
        store
            .count_failure(RecordKind::PreAuthorizedCode, "code", t)
            .unwrap(),
        Some(2)
    );
    assert_eq!(
        store
            .get(RecordKind::PreAuthorizedCode, "code", t)
            .unwrap()
            .unwrap(),
        b"offer2"
    );
    assert_eq!(
        store
            .get(RecordKind::PreAuthorizedCode, "code", later)
            .unwrap(),
        None
    );
    // Bounds.
    assert_eq!(
        store
            .insert(RecordKind::Offer, "big", &vec![0; MAX_VALUE + 1], later, t)
            .unwrap_err(),
        StoreError::TooLarge
    );
    assert_eq!(
        store
            .insert(RecordKind::Offer, &"h".repeat(200), b"v", later, t)
            .unwrap_err(),
        StoreError::TooLarge
    );
    // Purge drops what expired, keeps what lives.
    assert!(
        store
            .insert(
                RecordKind::Notification,
                "n",
                b"n",
                later + Duration::hours(1),
                t
            )
            .unwrap()
    );
    assert!(store.purge(later).unwrap() >= 2);
    assert!(
        store
            .get(RecordKind::Notification, "n", later)
            .unwrap()
            .is_some()
    );

    // Races: eight threads take one record: exactly one gets it; eight count failures on one
    // record: the counts are 1..=8 with none lost.
    assert!(
        store
            .insert(RecordKind::AuthorizationCode, "race", b"c", later, t)
            .unwrap()
    );
    assert!(
        store
            .insert(RecordKind::PreAuthorizedCode, "tries", b"o", later, t)
            .unwrap()
    );
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(store);
            std::thread::spawn(move || {
                let took = store
                    .take(RecordKind::AuthorizationCode, "race", t)
                    .unwrap();
                let count = store
                    .count_failure(RecordKind::PreAuthorizedCode, "tries", t)
                    .unwrap()
                    .unwrap();
                (took.is_some(), count)
            })
        })
        .collect();
    let results: Vec<(bool, u32)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|(took, _)| *took).count(), 1);
    let mut counts: Vec<u32> = results.iter().map(|(_, c)| *c).collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=8).collect::<Vec<_>>());
}

#[test]
fn the_memory_store() {
    let store: Arc<dyn IssuanceStore> = Arc::new(MemoryIssuanceStore::default());
    suite(&store);
}

#[test]
fn the_memory_store_is_bounded_per_kind() {
    let store = MemoryIssuanceStore::new(2);
    let t = at();
    let soon = t + Duration::seconds(10);
    assert!(store.insert(RecordKind::CNonce, "a", b"", soon, t).unwrap());
    assert!(store.insert(RecordKind::CNonce, "b", b"", soon, t).unwrap());
    assert_eq!(
        store
            .insert(RecordKind::CNonce, "c", b"", soon, t)
            .unwrap_err(),
        StoreError::Full
    );
    // Another kind has its own room; expired records make room again.
    assert!(
        store
            .insert(RecordKind::DpopJti, "c", b"", soon, t)
            .unwrap()
    );
    assert!(
        store
            .insert(
                RecordKind::CNonce,
                "c",
                b"",
                soon + Duration::minutes(1),
                soon
            )
            .unwrap()
    );
}

#[cfg(feature = "sqlite")]
#[test]
fn the_sqlite_store() {
    let store: Arc<dyn IssuanceStore> =
        Arc::new(kmid_oid4vc::store::SqliteIssuanceStore::in_memory().unwrap());
    suite(&store);
}

#[cfg(feature = "sqlite")]
#[test]
fn the_sqlite_store_on_disk_is_shared_by_two_handles() {
    let dir = std::env::temp_dir().join(format!("kmid-issuance-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("issuance.db");
    let _ = std::fs::remove_file(&path);
    let one = kmid_oid4vc::store::SqliteIssuanceStore::open(&path).unwrap();
    let two = kmid_oid4vc::store::SqliteIssuanceStore::open(&path).unwrap();
    let t = at();
    assert!(
        one.insert(
            RecordKind::AccessToken,
            "t",
            b"v",
            t + Duration::minutes(1),
            t
        )
        .unwrap()
    );
    // What one process took, the other cannot take again.
    assert_eq!(
        two.take(RecordKind::AccessToken, "t", t).unwrap().unwrap(),
        b"v"
    );
    assert_eq!(one.take(RecordKind::AccessToken, "t", t).unwrap(), None);
    let disk: Arc<dyn IssuanceStore> = Arc::new(one);
    suite(&disk);
    drop(disk);
    drop(two);
    std::fs::remove_dir_all(&dir).unwrap();
}
