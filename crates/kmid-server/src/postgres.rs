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
//! Not yet: the status registry and the OpenID4VCI issuance state (issue 21's larger part),
//! TLS to the database server (connections are in the clear: loopback or a private network).

use std::time::Duration;

use r2d2_postgres::PostgresConnectionManager;
use r2d2_postgres::postgres::NoTls;
use time::OffsetDateTime;

use crate::verifier::{TransactionRecord, TransactionStore, TransactionStoreError};

type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

/// The schema of the verifier's transactions, by version; each step runs once, in order.
const VERIFIER_MIGRATIONS: &[&str] = &["CREATE TABLE vp_transactions (
        id TEXT PRIMARY KEY,
        version BIGINT NOT NULL,
        expires BIGINT NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX vp_transactions_expires ON vp_transactions (expires);"];

fn db(e: &impl ToString) -> TransactionStoreError {
    TransactionStoreError::Database(e.to_string())
}

/// Applies the `migrations` of `component` not yet applied, in one transaction under an
/// advisory lock; refuses a database at a version this build does not know.
fn migrate(
    client: &mut postgres::Client,
    component: &str,
    migrations: &[&str],
) -> Result<(), String> {
    let mut tx = client.transaction().map_err(|e| e.to_string())?;
    // One migrator at a time, whatever the component (the lock ends with the transaction).
    tx.execute("SELECT pg_advisory_xact_lock(4242424242)", &[])
        .map_err(|e| e.to_string())?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS kmid_schema (
            component TEXT PRIMARY KEY,
            version INTEGER NOT NULL
        )",
    )
    .map_err(|e| e.to_string())?;
    let current: i32 = tx
        .query_opt(
            "SELECT version FROM kmid_schema WHERE component = $1",
            &[&component],
        )
        .map_err(|e| e.to_string())?
        .map_or(0, |row| row.get(0));
    let known = i32::try_from(migrations.len()).map_err(|e| e.to_string())?;
    if current > known {
        return Err(format!(
            "the database's {component} schema is version {current}, newer than this build's {known}: upgrade kmid"
        ));
    }
    for step in migrations
        .iter()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        tx.batch_execute(step).map_err(|e| e.to_string())?;
    }
    tx.execute(
        "INSERT INTO kmid_schema (component, version) VALUES ($1, $2)
         ON CONFLICT (component) DO UPDATE SET version = EXCLUDED.version",
        &[&component, &known],
    )
    .map_err(|e| e.to_string())?;
    tx.commit().map_err(|e| e.to_string())
}

/// A pool on `url` (`postgres://user@host:port/database`), at most `size` connections, the
/// schema of `component` migrated.
fn pool(url: &str, size: u32, component: &str, migrations: &[&str]) -> Result<Pool, String> {
    let config: postgres::Config = url.parse().map_err(|e: postgres::Error| e.to_string())?;
    let manager = PostgresConnectionManager::new(config, NoTls);
    let pool = r2d2::Pool::builder()
        .max_size(size.max(1))
        .connection_timeout(Duration::from_secs(5))
        .build(manager)
        .map_err(|e| e.to_string())?;
    let mut client = pool.get().map_err(|e| e.to_string())?;
    migrate(&mut client, component, migrations)?;
    drop(client);
    Ok(pool)
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
            let _ = std::thread::Builder::new()
                .name("kmid-postgres-close".into())
                .spawn(move || drop(pool));
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
    /// [`TransactionStoreError::Database`]: no server, a bad URL, a newer schema.
    pub fn connect(url: &str) -> Result<Self, TransactionStoreError> {
        Ok(Self {
            pool: Some(pool(url, 16, "verifier", VERIFIER_MIGRATIONS).map_err(|e| db(&e))?),
            capacity: crate::verifier::DEFAULT_SQLITE_CAPACITY,
        })
    }

    /// At most `capacity` live transactions (expired ones are dropped to make room).
    #[must_use]
    pub const fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    fn client(
        &self,
    ) -> Result<r2d2::PooledConnection<PostgresConnectionManager<NoTls>>, TransactionStoreError>
    {
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
