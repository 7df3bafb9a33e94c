//! Where a service keeps its status registries: SQLite, one file per authority (the default,
//! for one process), or PostgreSQL, one schema per authority on a database several issuer
//! processes share (`kmid serve --database`).

use std::path::Path;

use kmid::status::RegistryError;
#[cfg(feature = "postgres")]
use kmid::status::postgres::Database;
use kmid::status::registry::{
    CredentialRecord, Durability, Event, RegistryStore, SqliteStore, StoreTx,
};

/// Without PostgreSQL, no database can be named.
#[cfg(not(feature = "postgres"))]
#[derive(Debug, Clone, Copy)]
pub enum Database {}

/// A registry store chosen by configuration.
#[derive(Debug)]
pub enum RegistryBackend {
    /// A SQLite file (WAL, full durability).
    Sqlite(SqliteStore),
    /// A schema on a PostgreSQL database.
    #[cfg(feature = "postgres")]
    Postgres(kmid::status::postgres::PostgresStore),
}

impl RegistryBackend {
    /// The registry named `name` (an authority's slug): in `database` when given (schema
    /// `kmid_<name>`, a pool of `pool_size` connections), else in
    /// the SQLite file `sqlite`. Opens PostgreSQL with rust-postgres's synchronous client:
    /// call it off any async runtime's threads.
    ///
    /// # Errors
    /// The store's: no server, a newer schema, a corrupt file; a database URL when this build
    /// has no PostgreSQL.
    pub fn open(
        database: Option<&Database>,
        name: &str,
        pool_size: u32,
        sqlite: &Path,
    ) -> Result<Self, RegistryError> {
        match database {
            #[cfg(feature = "postgres")]
            Some(database) => Ok(Self::Postgres(
                kmid::status::postgres::PostgresStore::connect(database, name, pool_size)?,
            )),
            #[cfg(not(feature = "postgres"))]
            Some(_) => {
                let _ = (name, pool_size);
                Err(RegistryError::Storage(
                    "this build has no PostgreSQL (the postgres feature)".into(),
                ))
            }
            None => Ok(Self::Sqlite(SqliteStore::open(sqlite, Durability::Full)?)),
        }
    }
}

impl RegistryStore for RegistryBackend {
    fn transaction<R>(
        &self,
        f: impl FnMut(&mut dyn StoreTx) -> Result<R, RegistryError>,
    ) -> Result<R, RegistryError> {
        match self {
            Self::Sqlite(s) => s.transaction(f),
            #[cfg(feature = "postgres")]
            Self::Postgres(p) => p.transaction(f),
        }
    }

    fn nonzero_statuses(&self, list_id: u64) -> Result<Vec<(u64, u8)>, RegistryError> {
        match self {
            Self::Sqlite(s) => s.nonzero_statuses(list_id),
            #[cfg(feature = "postgres")]
            Self::Postgres(p) => p.nonzero_statuses(list_id),
        }
    }

    fn events(&self, from: u64) -> Result<Vec<Event>, RegistryError> {
        match self {
            Self::Sqlite(s) => s.events(from),
            #[cfg(feature = "postgres")]
            Self::Postgres(p) => p.events(from),
        }
    }

    fn event_mark(&self, from: u64) -> Result<(u64, u64), RegistryError> {
        match self {
            Self::Sqlite(s) => s.event_mark(from),
            #[cfg(feature = "postgres")]
            Self::Postgres(p) => p.event_mark(from),
        }
    }

    fn all_credentials(&self) -> Result<Vec<CredentialRecord>, RegistryError> {
        match self {
            Self::Sqlite(s) => s.all_credentials(),
            #[cfg(feature = "postgres")]
            Self::Postgres(p) => p.all_credentials(),
        }
    }
}
