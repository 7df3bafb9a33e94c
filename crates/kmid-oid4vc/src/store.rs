//! The state an issuer keeps between the steps of OpenID4VCI, behind one trait so that several
//! issuer processes can share it: offers, codes, PAR requests, nonces, DPoP `jti`s, tokens and
//! notification ids, each a record with an expiry, found by a handle.
//!
//! Handles are what the issuer derives from a secret (the base64url SHA-256 of a code or a
//! token, [`handle`]), so a store — its backups and its logs — never holds a usable secret, and
//! a lookup never compares secrets byte by byte. The values are the issuer's own bytes (JSON).
//!
//! [`MemoryIssuanceStore`] is for one process and tests; [`SqliteIssuanceStore`] (feature
//! `sqlite`) for one machine; PostgreSQL comes with `kmid-server`. One test suite
//! (`tests/store.rs`) runs against each. Every operation that decides something — a single use,
//! a failed attempt — is atomic in the store, so two processes racing for one code get one
//! answer between them.

use kmid_crypto::CryptoProvider;
use kmid_crypto::jose::b64url;
use time::OffsetDateTime;

/// What a record is: each kind has its own namespace of handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RecordKind {
    /// A Credential Offer waiting at its `credential_offer_uri`.
    Offer,
    /// A pre-authorized code (with its Transaction Code and failed attempts).
    PreAuthorizedCode,
    /// A pushed authorization request, by its `request_uri`.
    ParRequest,
    /// An authorization code.
    AuthorizationCode,
    /// An access token (DPoP-bound).
    AccessToken,
    /// A refresh token (DPoP-bound), for renewal.
    RefreshToken,
    /// A `c_nonce` of the Nonce Endpoint, single use.
    CNonce,
    /// A DPoP nonce the server handed out.
    DpopNonce,
    /// A DPoP proof's `jti` (by key and `jti`), kept while its `iat` is in the window.
    DpopJti,
    /// A client attestation PoP's `jti`.
    AttestationJti,
    /// A `notification_id` of issued credentials.
    Notification,
    /// A Credential Configuration issued under one access token (each at most once).
    IssuedConfiguration,
    /// A challenge for an IC card tap.
    IcChallenge,
}

impl RecordKind {
    /// Every kind.
    pub const ALL: [Self; 13] = [
        Self::Offer,
        Self::PreAuthorizedCode,
        Self::ParRequest,
        Self::AuthorizationCode,
        Self::AccessToken,
        Self::RefreshToken,
        Self::CNonce,
        Self::DpopNonce,
        Self::DpopJti,
        Self::AttestationJti,
        Self::Notification,
        Self::IssuedConfiguration,
        Self::IcChallenge,
    ];

    /// The kind's name in a store.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Offer => "offer",
            Self::PreAuthorizedCode => "pre_authorized_code",
            Self::ParRequest => "par_request",
            Self::AuthorizationCode => "authorization_code",
            Self::AccessToken => "access_token",
            Self::RefreshToken => "refresh_token",
            Self::CNonce => "c_nonce",
            Self::DpopNonce => "dpop_nonce",
            Self::DpopJti => "dpop_jti",
            Self::AttestationJti => "attestation_jti",
            Self::Notification => "notification",
            Self::IssuedConfiguration => "issued_configuration",
            Self::IcChallenge => "ic_challenge",
        }
    }
}

/// Why the store could not answer (never a refusal of the input: the caller decides that).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store holds as many live records of the kind as it may.
    #[error("the issuance store is full")]
    Full,
    /// A handle or value beyond the store's bounds.
    #[error("record too large")]
    TooLarge,
    /// The backend failed.
    #[error("issuance store: {0}")]
    Backend(String),
}

impl StoreError {
    /// The stable code: the variant's name.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Full => "Full",
            Self::TooLarge => "TooLarge",
            Self::Backend(_) => "Backend",
        }
    }
}

/// The longest handle a store takes (a base64url SHA-256 is 43 characters).
pub const MAX_HANDLE: usize = 128;
/// The largest value a store takes.
pub const MAX_VALUE: usize = 64 * 1024;

/// The issuer's shared state. A record is live until its expiry; an expired record is as good
/// as absent to every operation (and [`IssuanceStore::purge`] drops it).
pub trait IssuanceStore: Send + Sync {
    /// Stores `value` under `handle` until `expires`. `Ok(false)` when a live record has the
    /// handle already (the caller's replay): nothing is changed then.
    ///
    /// # Errors
    /// [`StoreError`].
    fn insert(
        &self,
        kind: RecordKind,
        handle: &str,
        value: &[u8],
        expires: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// The value of a live record.
    ///
    /// # Errors
    /// [`StoreError`].
    fn get(
        &self,
        kind: RecordKind,
        handle: &str,
        at: OffsetDateTime,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// Removes a live record and returns its value: of two racing takes, one gets it.
    ///
    /// # Errors
    /// [`StoreError`].
    fn take(
        &self,
        kind: RecordKind,
        handle: &str,
        at: OffsetDateTime,
    ) -> Result<Option<Vec<u8>>, StoreError>;

    /// Counts one failed attempt against a live record and returns the count so far (`None`
    /// for no live record); racing failures are each counted.
    ///
    /// # Errors
    /// [`StoreError`].
    fn count_failure(
        &self,
        kind: RecordKind,
        handle: &str,
        at: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError>;

    /// Replaces a live record's value, keeping its expiry and failures; `Ok(false)` without
    /// one.
    ///
    /// # Errors
    /// [`StoreError`].
    fn replace(
        &self,
        kind: RecordKind,
        handle: &str,
        value: &[u8],
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;

    /// Drops the expired records; returns how many.
    ///
    /// # Errors
    /// [`StoreError`].
    fn purge(&self, at: OffsetDateTime) -> Result<usize, StoreError>;
}

/// The handle of a secret: base64url of its SHA-256.
///
/// # Errors
/// Backend failures.
pub fn handle(provider: &CryptoProvider, secret: &str) -> Result<String, kmid_crypto::CryptoError> {
    Ok(b64url(&provider.sha256(secret.as_bytes())?))
}

/// Refuses a handle longer than [`MAX_HANDLE`] or a value longer than [`MAX_VALUE`]: what every
/// store checks before it writes (the memory and SQLite stores here, PostgreSQL's in
/// `kmid-server`).
///
/// # Errors
/// [`StoreError::TooLarge`].
pub fn check_bounds(handle: &str, value: &[u8]) -> Result<(), StoreError> {
    if handle.len() > MAX_HANDLE || value.len() > MAX_VALUE {
        return Err(StoreError::TooLarge);
    }
    Ok(())
}

pub use memory::MemoryIssuanceStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteIssuanceStore;

mod memory {
    use std::collections::BTreeMap;
    use std::sync::{Mutex, PoisonError};

    use time::OffsetDateTime;

    use super::{IssuanceStore, RecordKind, StoreError, check_bounds};

    struct Record {
        value: Vec<u8>,
        expires: OffsetDateTime,
        failures: u32,
    }

    /// The store in one process's memory, bounded: at most `capacity` live records of each
    /// kind (expired ones are purged before a kind is declared full).
    pub struct MemoryIssuanceStore {
        records: Mutex<BTreeMap<(RecordKind, String), Record>>,
        capacity: usize,
    }

    impl core::fmt::Debug for MemoryIssuanceStore {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("MemoryIssuanceStore")
                .field("capacity", &self.capacity)
                .finish_non_exhaustive()
        }
    }

    impl Default for MemoryIssuanceStore {
        fn default() -> Self {
            Self::new(65_536)
        }
    }

    impl MemoryIssuanceStore {
        /// An empty store holding at most `capacity` live records of each kind.
        #[must_use]
        pub fn new(capacity: usize) -> Self {
            Self {
                records: Mutex::new(BTreeMap::new()),
                capacity,
            }
        }

        fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(RecordKind, String), Record>> {
            // Every change is one map operation: a panic elsewhere leaves no half-change.
            self.records.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }

    fn live<'a>(
        records: &'a mut BTreeMap<(RecordKind, String), Record>,
        kind: RecordKind,
        handle: &str,
        at: OffsetDateTime,
    ) -> Option<&'a mut Record> {
        records
            .get_mut(&(kind, handle.to_owned()))
            .filter(|r| r.expires > at)
    }

    impl IssuanceStore for MemoryIssuanceStore {
        fn insert(
            &self,
            kind: RecordKind,
            handle: &str,
            value: &[u8],
            expires: OffsetDateTime,
            at: OffsetDateTime,
        ) -> Result<bool, StoreError> {
            check_bounds(handle, value)?;
            let mut records = self.lock();
            if live(&mut records, kind, handle, at).is_some() {
                return Ok(false);
            }
            // The kind's records only (the map is ordered by kind first).
            let count = |records: &BTreeMap<(RecordKind, String), Record>| {
                records
                    .range((kind, String::new())..)
                    .take_while(|((k, _), _)| *k == kind)
                    .count()
            };
            if count(&records) >= self.capacity {
                records.retain(|_, r| r.expires > at);
                if count(&records) >= self.capacity {
                    return Err(StoreError::Full);
                }
            }
            records.insert(
                (kind, handle.to_owned()),
                Record {
                    value: value.to_vec(),
                    expires,
                    failures: 0,
                },
            );
            Ok(true)
        }

        fn get(
            &self,
            kind: RecordKind,
            handle: &str,
            at: OffsetDateTime,
        ) -> Result<Option<Vec<u8>>, StoreError> {
            Ok(live(&mut self.lock(), kind, handle, at).map(|r| r.value.clone()))
        }

        fn take(
            &self,
            kind: RecordKind,
            handle: &str,
            at: OffsetDateTime,
        ) -> Result<Option<Vec<u8>>, StoreError> {
            let mut records = self.lock();
            Ok(records
                .remove(&(kind, handle.to_owned()))
                .filter(|r| r.expires > at)
                .map(|r| r.value))
        }

        fn count_failure(
            &self,
            kind: RecordKind,
            handle: &str,
            at: OffsetDateTime,
        ) -> Result<Option<u32>, StoreError> {
            Ok(live(&mut self.lock(), kind, handle, at).map(|r| {
                r.failures = r.failures.saturating_add(1);
                r.failures
            }))
        }

        fn replace(
            &self,
            kind: RecordKind,
            handle: &str,
            value: &[u8],
            at: OffsetDateTime,
        ) -> Result<bool, StoreError> {
            check_bounds(handle, value)?;
            Ok(live(&mut self.lock(), kind, handle, at)
                .map(|r| r.value = value.to_vec())
                .is_some())
        }

        fn purge(&self, at: OffsetDateTime) -> Result<usize, StoreError> {
            let mut records = self.lock();
            let before = records.len();
            records.retain(|_, r| r.expires > at);
            Ok(before - records.len())
        }
    }
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::Path;
    use std::sync::{Mutex, PoisonError};

    use rusqlite::{Connection, OptionalExtension, params};
    use time::OffsetDateTime;

    use super::{IssuanceStore, RecordKind, StoreError, check_bounds};

    /// The store in a SQLite file (WAL mode), for an issuer on one machine; several processes
    /// may share the file (SQLite serializes the writes, each operation one statement or one
    /// transaction).
    pub struct SqliteIssuanceStore {
        conn: Mutex<Connection>,
    }

    impl core::fmt::Debug for SqliteIssuanceStore {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("SqliteIssuanceStore")
                .finish_non_exhaustive()
        }
    }

    fn backend(e: rusqlite::Error) -> StoreError {
        StoreError::Backend(e.to_string())
    }

    const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS issuance_record (
        kind TEXT NOT NULL,
        handle TEXT NOT NULL,
        value BLOB NOT NULL,
        expires INTEGER NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (kind, handle)
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS issuance_record_expires ON issuance_record (expires);";

    impl SqliteIssuanceStore {
        /// Opens (or creates) the store at `path`.
        ///
        /// # Errors
        /// [`StoreError::Backend`].
        pub fn open(path: &Path) -> Result<Self, StoreError> {
            Self::setup(Connection::open(path).map_err(backend)?)
        }

        /// A store in memory (tests).
        ///
        /// # Errors
        /// [`StoreError::Backend`].
        pub fn in_memory() -> Result<Self, StoreError> {
            Self::setup(Connection::open_in_memory().map_err(backend)?)
        }

        fn setup(conn: Connection) -> Result<Self, StoreError> {
            conn.busy_timeout(core::time::Duration::from_secs(5))
                .map_err(backend)?;
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(backend)?;
            conn.execute_batch(SCHEMA).map_err(backend)?;
            Ok(Self {
                conn: Mutex::new(conn),
            })
        }

        fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
            self.conn.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }

    impl IssuanceStore for SqliteIssuanceStore {
        fn insert(
            &self,
            kind: RecordKind,
            handle: &str,
            value: &[u8],
            expires: OffsetDateTime,
            at: OffsetDateTime,
        ) -> Result<bool, StoreError> {
            check_bounds(handle, value)?;
            // An expired record under the handle is replaced; a live one stays.
            let changed = self
                .conn()
                .execute(
                    "INSERT INTO issuance_record (kind, handle, value, expires, failures)
                     VALUES (?1, ?2, ?3, ?4, 0)
                     ON CONFLICT (kind, handle) DO UPDATE
                     SET value = excluded.value, expires = excluded.expires, failures = 0
                     WHERE issuance_record.expires <= ?5",
                    params![
                        kind.as_str(),
                        handle,
                        value,
                        expires.unix_timestamp(),
                        at.unix_timestamp()
                    ],
                )
                .map_err(backend)?;
            Ok(changed == 1)
        }

        fn get(
            &self,
            kind: RecordKind,
            handle: &str,
            at: OffsetDateTime,
        ) -> Result<Option<Vec<u8>>, StoreError> {
            self.conn()
                .query_row(
                    "SELECT value FROM issuance_record
                     WHERE kind = ?1 AND handle = ?2 AND expires > ?3",
                    params![kind.as_str(), handle, at.unix_timestamp()],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend)
        }

        fn take(
            &self,
            kind: RecordKind,
            handle: &str,
            at: OffsetDateTime,
        ) -> Result<Option<Vec<u8>>, StoreError> {
            // One statement: of two processes deleting the row, one gets it back.
            self.conn()
                .query_row(
                    "DELETE FROM issuance_record
                     WHERE kind = ?1 AND handle = ?2 AND expires > ?3
                     RETURNING value",
                    params![kind.as_str(), handle, at.unix_timestamp()],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend)
        }

        fn count_failure(
            &self,
            kind: RecordKind,
            handle: &str,
            at: OffsetDateTime,
        ) -> Result<Option<u32>, StoreError> {
            self.conn()
                .query_row(
                    "UPDATE issuance_record SET failures = failures + 1
                     WHERE kind = ?1 AND handle = ?2 AND expires > ?3
                     RETURNING failures",
                    params![kind.as_str(), handle, at.unix_timestamp()],
                    |row| row.get(0),
                )
                .optional()
                .map_err(backend)
        }

        fn replace(
            &self,
            kind: RecordKind,
            handle: &str,
            value: &[u8],
            at: OffsetDateTime,
        ) -> Result<bool, StoreError> {
            check_bounds(handle, value)?;
            let changed = self
                .conn()
                .execute(
                    "UPDATE issuance_record SET value = ?3
                     WHERE kind = ?1 AND handle = ?2 AND expires > ?4",
                    params![kind.as_str(), handle, value, at.unix_timestamp()],
                )
                .map_err(backend)?;
            Ok(changed == 1)
        }

        fn purge(&self, at: OffsetDateTime) -> Result<usize, StoreError> {
            self.conn()
                .execute(
                    "DELETE FROM issuance_record WHERE expires <= ?1",
                    params![at.unix_timestamp()],
                )
                .map_err(backend)
        }
    }
}
