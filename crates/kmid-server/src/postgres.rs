//! PostgreSQL stores (issue 21), for services that outgrow one machine: several verifier
//! instances behind a load balancer share one database. rust-postgres's synchronous client
//! and an r2d2 pool; the stores' traits are synchronous and the services call them on the
//! blocking pool.
//!
//! Schemas are versioned in this file and applied on connecting, under an advisory lock (so
//! instances starting together do not race); a database whose schema is newer than this build
//! knows is refused. The rules keep their meaning under concurrency with plain statements at
//! READ COMMITTED: a conditional `UPDATE … WHERE version = $n` re-reads the row it locks, so of
//! two instances replacing one transaction exactly one succeeds.
//!
//! Stores: the verifier's transactions ([`PostgresTransactionStore`]) and the issuer's
//! OpenID4VCI state ([`PostgresIssuanceStore`]: offers, codes, PAR requests, nonces, DPoP
//! `jti`s, tokens), each rule one statement (`INSERT … ON CONFLICT … WHERE`, `DELETE …
//! RETURNING`, `UPDATE … RETURNING`), so two instances racing for one record get what one
//! process would.
//!
//! The status registry's store is `kmid::status::postgres::PostgresStore` (with the rules it
//! stores); the pool, its connections and the schema versions are that module's, shared.
//!
//! A [`Database`] is reached in the clear (a Unix socket, loopback, a private network) or,
//! with [`Database::with_tls`] (`kmid serve`'s `database_ca`), over TLS only, the server
//! checked against the given roots ([`crate::fetch::tls_client_config_only`]).

pub use kmid::status::postgres::Database;
use kmid::status::postgres::{Manager, Pool, pool, release};
use time::OffsetDateTime;

use crate::verifier::{TransactionRecord, TransactionStore, TransactionStoreError};

/// The schema of the verifier's transactions, by version; each step runs once, in order.
const VERIFIER_MIGRATIONS: &[&str] = &["CREATE TABLE vp_transactions (
        id TEXT PRIMARY KEY,
        version BIGINT NOT NULL,
        expires BIGINT NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX vp_transactions_expires ON vp_transactions (expires);"];

/// The schema of the issuer's OpenID4VCI state, by version.
const ISSUANCE_MIGRATIONS: &[&str] = &["CREATE TABLE issuance_record (
        kind TEXT NOT NULL,
        handle TEXT NOT NULL,
        value BYTEA NOT NULL,
        expires BIGINT NOT NULL,
        failures INTEGER NOT NULL,
        PRIMARY KEY (kind, handle)
    );
    CREATE INDEX issuance_record_expires ON issuance_record (expires);"];

fn db(e: &impl ToString) -> TransactionStoreError {
    TransactionStoreError::Database(e.to_string())
}

/// The verifier's transactions in PostgreSQL, shared by every verifier instance on the
/// database.
pub struct PostgresTransactionStore {
    /// Always `Some` until dropped.
    pool: Option<Pool>,
    capacity: usize,
}

impl Drop for PostgresTransactionStore {
    fn drop(&mut self) {
        // rust-postgres's synchronous client closes its connection with a runtime of its own,
        // which panics inside another runtime (a server's last reference is often dropped
        // on one): the pool is let go on a thread of its own.
        if let Some(pool) = self.pool.take() {
            release(pool);
        }
    }
}

impl core::fmt::Debug for PostgresTransactionStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PostgresTransactionStore")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl PostgresTransactionStore {
    /// Connects (a pool of at most 16 connections) and migrates the schema.
    ///
    /// # Errors
    /// [`TransactionStoreError::Database`]: no server, a bad URL, TLS refused, a newer
    /// schema.
    pub fn connect(database: &Database) -> Result<Self, TransactionStoreError> {
        Ok(Self {
            pool: Some(
                pool(database, 16, "verifier", VERIFIER_MIGRATIONS, None).map_err(|e| db(&e))?,
            ),
            capacity: crate::verifier::DEFAULT_SQLITE_CAPACITY,
        })
    }

    /// At most `capacity` live transactions (expired ones are dropped to make room).
    #[must_use]
    pub const fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    fn client(&self) -> Result<r2d2::PooledConnection<Manager>, TransactionStoreError> {
        self.pool
            .as_ref()
            .ok_or_else(|| db(&"the store is closed"))?
            .get()
            .map_err(|e| db(&e))
    }
}

impl TransactionStore for PostgresTransactionStore {
    fn insert(&self, id: &str, record: &TransactionRecord) -> Result<(), TransactionStoreError> {
        let text = serde_json::to_string(record).map_err(|e| db(&e))?;
        let mut client = self.client()?;
        let count = |client: &mut postgres::Client| -> Result<usize, TransactionStoreError> {
            let n: i64 = client
                .query_one("SELECT COUNT(*) FROM vp_transactions", &[])
                .map_err(|e| db(&e))?
                .get(0);
            usize::try_from(n).map_err(|e| db(&e))
        };
        if count(&mut client)? >= self.capacity {
            client
                .execute(
                    "DELETE FROM vp_transactions WHERE expires <= $1",
                    &[&OffsetDateTime::now_utc().unix_timestamp()],
                )
                .map_err(|e| db(&e))?;
            if count(&mut client)? >= self.capacity {
                return Err(TransactionStoreError::Full);
            }
        }
        client
            .execute(
                "INSERT INTO vp_transactions (id, version, expires, record) VALUES ($1, 0, $2, $3)",
                &[&id, &record.expires, &text],
            )
            .map_err(|e| db(&e))?;
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<(u64, TransactionRecord)>, TransactionStoreError> {
        let row = self
            .client()?
            .query_opt(
                "SELECT version, record FROM vp_transactions WHERE id = $1",
                &[&id],
            )
            .map_err(|e| db(&e))?;
        row.map(|row| {
            let version: i64 = row.get(0);
            let text: String = row.get(1);
            Ok((
                u64::try_from(version).map_err(|e| db(&e))?,
                serde_json::from_str(&text).map_err(|e| db(&e))?,
            ))
        })
        .transpose()
    }

    fn replace(
        &self,
        id: &str,
        version: u64,
        record: &TransactionRecord,
    ) -> Result<bool, TransactionStoreError> {
        let text = serde_json::to_string(record).map_err(|e| db(&e))?;
        let version = i64::try_from(version).map_err(|e| db(&e))?;
        let changed = self
            .client()?
            .execute(
                "UPDATE vp_transactions SET version = version + 1, expires = $3, record = $4
                 WHERE id = $1 AND version = $2",
                &[&id, &version, &record.expires, &text],
            )
            .map_err(|e| db(&e))?;
        Ok(changed == 1)
    }

    fn purge(&self, now: i64) -> Result<usize, TransactionStoreError> {
        let removed = self
            .client()?
            .execute("DELETE FROM vp_transactions WHERE expires <= $1", &[&now])
            .map_err(|e| db(&e))?;
        usize::try_from(removed).map_err(|e| db(&e))
    }
}

use kmid::oid4vc::store::{IssuanceStore, RecordKind, StoreError, check_bounds};

fn backend(e: &impl ToString) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// The issuer's OpenID4VCI state in PostgreSQL, shared by every issuer instance on the
/// database.
pub struct PostgresIssuanceStore {
    /// Always `Some` until dropped.
    pool: Option<Pool>,
}

impl core::fmt::Debug for PostgresIssuanceStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PostgresIssuanceStore")
            .finish_non_exhaustive()
    }
}

impl Drop for PostgresIssuanceStore {
    fn drop(&mut self) {
        // As for the transaction store: never closed on a runtime's thread.
        if let Some(pool) = self.pool.take() {
            release(pool);
        }
    }
}

impl PostgresIssuanceStore {
    /// Connects (a pool of at most 16 connections) and migrates the schema. Call it from a
    /// blocking thread (rust-postgres's client runs a runtime of its own).
    ///
    /// # Errors
    /// [`StoreError::Backend`]: no server, a bad URL, TLS refused, a newer schema.
    pub fn connect(database: &Database) -> Result<Self, StoreError> {
        Ok(Self {
            pool: Some(
                pool(database, 16, "issuance", ISSUANCE_MIGRATIONS, None)
                    .map_err(|e| backend(&e))?,
            ),
        })
    }

    fn client(&self) -> Result<r2d2::PooledConnection<Manager>, StoreError> {
        self.pool
            .as_ref()
            .ok_or_else(|| backend(&"the store is closed"))?
            .get()
            .map_err(|e| backend(&e))
    }
}

impl IssuanceStore for PostgresIssuanceStore {
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
            .client()?
            .execute(
                "INSERT INTO issuance_record (kind, handle, value, expires, failures)
                 VALUES ($1, $2, $3, $4, 0)
                 ON CONFLICT (kind, handle) DO UPDATE
                 SET value = EXCLUDED.value, expires = EXCLUDED.expires, failures = 0
                 WHERE issuance_record.expires <= $5",
                &[
                    &kind.as_str(),
                    &handle,
                    &value,
                    &expires.unix_timestamp(),
                    &at.unix_timestamp(),
                ],
            )
            .map_err(|e| backend(&e))?;
        Ok(changed == 1)
    }

    fn get(
        &self,
        kind: RecordKind,
        handle: &str,
        at: OffsetDateTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .client()?
            .query_opt(
                "SELECT value FROM issuance_record
                 WHERE kind = $1 AND handle = $2 AND expires > $3",
                &[&kind.as_str(), &handle, &at.unix_timestamp()],
            )
            .map_err(|e| backend(&e))?
            .map(|row| row.get(0)))
    }

    fn take(
        &self,
        kind: RecordKind,
        handle: &str,
        at: OffsetDateTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        // One statement: of two instances deleting the row, one gets it back.
        Ok(self
            .client()?
            .query_opt(
                "DELETE FROM issuance_record
                 WHERE kind = $1 AND handle = $2 AND expires > $3
                 RETURNING value",
                &[&kind.as_str(), &handle, &at.unix_timestamp()],
            )
            .map_err(|e| backend(&e))?
            .map(|row| row.get(0)))
    }

    fn count_failure(
        &self,
        kind: RecordKind,
        handle: &str,
        at: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError> {
        let row = self
            .client()?
            .query_opt(
                "UPDATE issuance_record SET failures = failures + 1
                 WHERE kind = $1 AND handle = $2 AND expires > $3
                 RETURNING failures",
                &[&kind.as_str(), &handle, &at.unix_timestamp()],
            )
            .map_err(|e| backend(&e))?;
        row.map(|row| {
            let failures: i32 = row.get(0);
            u32::try_from(failures).map_err(|e| backend(&e))
        })
        .transpose()
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
            .client()?
            .execute(
                "UPDATE issuance_record SET value = $3
                 WHERE kind = $1 AND handle = $2 AND expires > $4",
                &[&kind.as_str(), &handle, &value, &at.unix_timestamp()],
            )
            .map_err(|e| backend(&e))?;
        Ok(changed == 1)
    }

    fn purge(&self, at: OffsetDateTime) -> Result<usize, StoreError> {
        let removed = self
            .client()?
            .execute(
                "DELETE FROM issuance_record WHERE expires <= $1",
                &[&at.unix_timestamp()],
            )
            .map_err(|e| backend(&e))?;
        usize::try_from(removed).map_err(|e| backend(&e))
    }
}
