//! PostgreSQL (issue 21, feature `postgres`): the connection pool and the versioned schemas
//! every kmid store on a server database shares, and the lifecycle registry's store,
//! [`PostgresStore`], for several issuer processes on one database.
//!
//! rust-postgres's synchronous client in an r2d2 pool (the mainstream pair; the registry is
//! synchronous and services call it on a blocking pool). Each pooled connection keeps its
//! prepared statements, so a rule costs one round trip per statement, not two.
//!
//! **Isolation: locks on what a rule reads.** Every registry rule is one transaction at
//! READ COMMITTED in which each read of an entity is preceded by a lock on that entity's key,
//! held to the commit: the card (`card:<key>`, for the card, its credentials, chip and
//! grants), the phone (`device:<id>`, for its lost mark and its credentials), the person, the
//! renewal grant and the chip key (transaction-scoped advisory locks on a 64-bit hash of the
//! key), and the credential rows a rule will change (`SELECT … FOR UPDATE`). A statement at
//! READ COMMITTED sees everything committed before it began, so a read that follows its lock
//! sees the latest state and nothing can change it before the commit: two-phase locking on
//! the rules' own keys, which is serializable for them. Uniqueness that no key covers is the
//! database's: a credential is inserted only at a free index (`ON CONFLICT DO NOTHING`, and
//! the registry draws another), and a rule that opens a list another opened at the same time
//! hits its unique URI; that rule, or the loser of a deadlock, rolls back and runs again (a
//! bounded number of times, with a growing random pause). `spec/status.md` gives the argument rule by rule, and why
//! this and not SERIALIZABLE (whose page-granular predicate locks made more than one false
//! conflict per rule in the race test).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use postgres::config::SslMode;
use postgres::error::SqlState;
use postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use postgres::{Client, IsolationLevel, NoTls, Row, Statement};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::error::RegistryError;
use crate::registry::{
    CardRecord, ChipRecord, CredentialFormat, CredentialRecord, Event, GrantRecord, GrantState,
    ListRecord, NewCredential, Operation, PhysicalStatus, RegistryStore, StoreTx, Suspension,
};

/// Where the database is and how to reach it: a connection string (`postgres://user@host:port/db`
/// or `host=… port=…`) and, for a server beyond the machine, TLS.
#[derive(Clone)]
pub struct Database {
    url: String,
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl core::fmt::Debug for Database {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // The connection string may hold a password.
        f.debug_struct("Database")
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Database {
    /// The database at `url`, in the clear (a Unix socket, loopback, a private network).
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            tls: None,
        }
    }

    /// Over TLS only, the server authenticated by `config` (its roots and, by the host in
    /// the connection string, its name): whatever the connection string's `sslmode`, a
    /// server that does not speak TLS is refused rather than used in the clear.
    #[must_use]
    pub fn with_tls(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }
}

/// rust-postgres's TLS seam on rustls (tokio-rustls): the server's certificate is checked by
/// the rustls configuration (roots, name, validity). No channel binding is offered, so
/// SCRAM-SHA-256-PLUS is not used (SCRAM-SHA-256 and certificate checks are).
#[derive(Clone)]
struct RustlsConnector(Arc<rustls::ClientConfig>);

struct RustlsConnect {
    config: Arc<rustls::ClientConfig>,
    name: rustls::pki_types::ServerName<'static>,
}

/// A TLS session with the server.
struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S> MakeTlsConnect<S> for RustlsConnector
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, Self::Error> {
        Ok(RustlsConnect {
            config: Arc::clone(&self.0),
            name: rustls::pki_types::ServerName::try_from(domain.to_owned())?,
        })
    }
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            tokio_rustls::TlsConnector::from(self.config)
                .connect(self.name, stream)
                .await
                .map(RustlsStream)
        })
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

/// A connection of the pool: the client and the statements it has prepared.
pub struct PgConnection {
    client: Client,
    statements: HashMap<&'static str, Statement>,
}

impl core::fmt::Debug for PgConnection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PgConnection")
            .field("prepared", &self.statements.len())
            .finish_non_exhaustive()
    }
}

impl core::ops::Deref for PgConnection {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl core::ops::DerefMut for PgConnection {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// Opens [`PgConnection`]s for the pool, each with its `search_path` set to a namespace when
/// one is given.
#[derive(Debug)]
pub struct Manager {
    config: postgres::Config,
    tls: Option<RustlsConnector>,
    namespace: Option<String>,
}

impl core::fmt::Debug for RustlsConnector {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("RustlsConnector")
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = PgConnection;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConnection, postgres::Error> {
        let mut client = match &self.tls {
            Some(tls) => self.config.connect(tls.clone())?,
            None => self.config.connect(NoTls)?,
        };
        if let Some(ns) = &self.namespace {
            // `ns` is checked by `namespace()`: lower-case letters, digits and `_` only.
            client.batch_execute(&format!("SET search_path TO {ns}"))?;
        }
        Ok(PgConnection {
            client,
            statements: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut PgConnection) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(drop)
    }

    fn has_broken(&self, conn: &mut PgConnection) -> bool {
        conn.client.is_closed()
    }
}

/// The pool.
pub type Pool = r2d2::Pool<Manager>;

/// Where the registry of one authority keeps its tables: a PostgreSQL schema of its own, so
/// the authorities sharing a database server do not share rows.
fn namespace(name: &str) -> Result<String, String> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && name.bytes().next().is_some_and(|b| b.is_ascii_lowercase());
    if ok {
        Ok(format!("kmid_{name}"))
    } else {
        Err(format!(
            "namespace {name:?}: 1 to 40 of a-z, 0-9 and _, starting with a letter"
        ))
    }
}

/// Applies the `migrations` of `component` not yet applied, in one transaction under an
/// advisory lock (instances starting together do not race); refuses a database whose schema
/// is newer than this build knows. With `schema`, the PostgreSQL schema is created first and
/// the version table is the one in it.
///
/// # Errors
/// A message: the server's error, or the newer schema.
pub fn migrate(
    client: &mut Client,
    component: &str,
    migrations: &[&str],
    schema: Option<&str>,
) -> Result<(), String> {
    let mut tx = client.transaction().map_err(|e| e.to_string())?;
    // One migrator at a time, whatever the component (the lock ends with the transaction).
    tx.execute("SELECT pg_advisory_xact_lock(4242424242)", &[])
        .map_err(|e| e.to_string())?;
    if let Some(schema) = schema {
        tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .map_err(|e| e.to_string())?;
    }
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

/// A pool on `database` of at most `size` connections, the schema of `component` migrated;
/// with `namespace`, every connection works in the PostgreSQL schema `kmid_<namespace>`.
///
/// # Errors
/// A message: a bad URL or namespace, no server, a server refusing TLS when it is required, a
/// newer schema.
pub fn pool(
    database: &Database,
    size: u32,
    component: &str,
    migrations: &[&str],
    namespace: Option<&str>,
) -> Result<Pool, String> {
    let mut config: postgres::Config = database
        .url
        .parse()
        .map_err(|e: postgres::Error| e.to_string())?;
    if database.tls.is_some() {
        // `prefer` (the default) would fall back to the clear with a server that declines.
        config.ssl_mode(SslMode::Require);
    }
    let namespace = namespace.map(self::namespace).transpose()?;
    let manager = Manager {
        config,
        tls: database.tls.clone().map(RustlsConnector),
        namespace: namespace.clone(),
    };
    // One connection made here first: a refusal (no server, TLS, authentication) is reported
    // at once and in full, where the pool would retry it until its timeout and keep "db error".
    let mut first = r2d2::ManageConnection::connect(&manager).map_err(|e| describe(&e))?;
    migrate(&mut first, component, migrations, namespace.as_deref())?;
    drop(first);
    r2d2::Pool::builder()
        .max_size(size.max(1))
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(5))
        .build(manager)
        .map_err(|e| e.to_string())
}

/// What went wrong, with the server's message when the server said something.
fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {}", db.severity(), db.message());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Lets a pool go on a thread of its own: rust-postgres's synchronous client closes its
/// connection with a runtime of its own, which panics inside another runtime (a server's last
/// reference is often dropped on one).
pub fn release(pool: Pool) {
    let _ = std::thread::Builder::new()
        .name("kmid-postgres-close".into())
        .spawn(move || drop(pool));
}

/// The registry's schema, by version (`spec/status.md` describes it). How full a list is
/// comes from one sequence, `registry_allocations`, taken by every credential inserted, and
/// each list's `baseline` (the sequence when the list was opened): a list's count is the
/// next list's baseline (or the sequence now) less its own. A counter row would be written by
/// every issuance and make any two wait for each other; a sequence is never rolled back, so an
/// aborted issuance counts too and a list closes a little early, never late.
const MIGRATIONS: &[&str] = &["CREATE SEQUENCE registry_allocations;
     CREATE TABLE registry_lists (
        id BIGSERIAL PRIMARY KEY,
        uri TEXT NOT NULL UNIQUE,
        bits SMALLINT NOT NULL CHECK (bits IN (1, 2, 4, 8)),
        size BIGINT NOT NULL CHECK (size > 0),
        baseline BIGINT NOT NULL
     );
     CREATE TABLE registry_cards (
        card_key TEXT PRIMARY KEY,
        physical TEXT NOT NULL CHECK (physical IN ('normal', 'lost')),
        active_device TEXT
     );
     CREATE TABLE registry_lost_devices (
        device TEXT PRIMARY KEY
     );
     CREATE TABLE registry_credentials (
        id BIGSERIAL PRIMARY KEY,
        card_key TEXT NOT NULL REFERENCES registry_cards(card_key),
        device TEXT NOT NULL,
        format TEXT NOT NULL CHECK (format IN ('mdoc', 'sd-jwt-vc')),
        list_id BIGINT NOT NULL REFERENCES registry_lists(id),
        idx BIGINT NOT NULL CHECK (idx >= 0),
        status SMALLINT NOT NULL CHECK (status BETWEEN 0 AND 255),
        suspension SMALLINT NOT NULL DEFAULT 0 CHECK (suspension BETWEEN 0 AND 3),
        issuance BIGINT NOT NULL CHECK (issuance >= 0),
        UNIQUE (list_id, idx)
     );
     CREATE INDEX registry_credentials_card ON registry_credentials (card_key);
     CREATE INDEX registry_credentials_device ON registry_credentials (device);
     CREATE INDEX registry_credentials_nonzero ON registry_credentials (list_id, idx)
        INCLUDE (status) WHERE status <> 0;
     CREATE TABLE registry_events (
        seq BIGSERIAL PRIMARY KEY,
        at BIGINT NOT NULL,
        actor TEXT NOT NULL,
        operation TEXT NOT NULL,
        card_key TEXT,
        device TEXT,
        credential BIGINT,
        reason TEXT NOT NULL,
        old_status SMALLINT,
        new_status SMALLINT
     );
     CREATE TABLE registry_chips (
        card_key TEXT PRIMARY KEY REFERENCES registry_cards(card_key),
        chip_key BYTEA NOT NULL,
        card_digest BYTEA NOT NULL,
        enrolled_at BIGINT NOT NULL
     );
     CREATE TABLE registry_retired_chips (
        chip_key BYTEA PRIMARY KEY,
        card_key TEXT NOT NULL
     );
     CREATE INDEX registry_retired_chips_card ON registry_retired_chips (card_key);
     CREATE TABLE registry_grants (
        handle TEXT PRIMARY KEY,
        card_key TEXT NOT NULL REFERENCES registry_cards(card_key),
        device TEXT NOT NULL,
        issuance BIGINT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('active', 'used', 'revoked'))
     );
     CREATE INDEX registry_grants_card ON registry_grants (card_key);
     CREATE TABLE registry_persons (
        person_key TEXT PRIMARY KEY,
        device TEXT NOT NULL
     );"];

/// The newest registry schema version this library writes.
pub const REGISTRY_SCHEMA_VERSION: usize = MIGRATIONS.len();

/// How often a rule runs before a conflict (a deadlock, a unique violation) is reported as a
/// storage failure.
pub const DEFAULT_ATTEMPTS: u32 = 24;

fn storage(e: &postgres::Error) -> RegistryError {
    RegistryError::Storage(format!("PostgreSQL: {}", describe(e)))
}

/// Whether `e` means "run the transaction again": a deadlock, a unique violation (two
/// transactions opened the same list; run again, one sees the other's), or a serialization
/// failure (should a server run it at a stricter default level).
fn conflict(e: &postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::UNIQUE_VIOLATION
    })
}

fn to_i64(v: u64) -> Result<i64, RegistryError> {
    i64::try_from(v)
        .map_err(|_| RegistryError::Storage("value beyond PostgreSQL's BIGINT range".into()))
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn credential_row(r: &Row) -> CredentialRecord {
    let format: &str = r.get(3);
    let suspension: i16 = r.get(7);
    CredentialRecord {
        id: to_u64(r.get(0)),
        card_key: r.get(1),
        device: r.get(2),
        format: CredentialFormat::from_stored(format),
        list_id: to_u64(r.get(4)),
        idx: to_u64(r.get(5)),
        status: u8::try_from(r.get::<_, i16>(6)).unwrap_or(u8::MAX),
        suspension: u8::try_from(suspension)
            .ok()
            .and_then(Suspension::from_bits)
            .unwrap_or(Suspension {
                card: true,
                phone: true,
            }),
        issuance: to_u64(r.get(8)),
    }
}

fn grant_row(r: &Row) -> GrantRecord {
    GrantRecord {
        handle: r.get(0),
        card_key: r.get(1),
        device: r.get(2),
        issuance: to_u64(r.get(3)),
        state: GrantState::from_stored(r.get(4)),
    }
}

fn event_row(r: &Row) -> Event {
    let op: &str = r.get(3);
    Event {
        seq: to_u64(r.get(0)),
        at: r.get(1),
        actor: r.get(2),
        operation: Operation::from_name(op).unwrap_or(Operation::Register),
        card_key: r.get(4),
        device: r.get(5),
        credential: r.get::<_, Option<i64>>(6).map(to_u64),
        reason: r.get(7),
        old_status: r
            .get::<_, Option<i16>>(8)
            .and_then(|s| u8::try_from(s).ok()),
        new_status: r
            .get::<_, Option<i16>>(9)
            .and_then(|s| u8::try_from(s).ok()),
    }
}

/// One registry transaction: the PostgreSQL transaction, the connection's prepared
/// statements, the keys it holds locks on, and whether a statement failed in a way that calls
/// for running it again.
struct Tx<'c> {
    tx: postgres::Transaction<'c>,
    statements: &'c mut HashMap<&'static str, Statement>,
    locked: HashSet<String>,
    conflict: bool,
}

type Param<'p> = &'p (dyn postgres::types::ToSql + Sync);

impl Tx<'_> {
    /// Locks `key` (`card:…`, `device:…`) until the transaction ends, unless it holds it.
    fn lock(&mut self, kind: &str, key: &str) -> Result<(), RegistryError> {
        let name = format!("{kind}:{key}");
        if self.locked.contains(&name) {
            return Ok(());
        }
        self.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&name],
        )?;
        self.locked.insert(name);
        Ok(())
    }

    fn lock_chip(&mut self, chip_key: &[u8]) -> Result<(), RegistryError> {
        let hex: String = chip_key.iter().map(|b| format!("{b:02x}")).collect();
        self.lock("chip", &hex)
    }

    fn fail(&mut self, e: &postgres::Error) -> RegistryError {
        if conflict(e) {
            self.conflict = true;
        }
        storage(e)
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement, RegistryError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let prepared = self.tx.prepare(sql).map_err(|e| self.fail(&e))?;
        self.statements.insert(sql, prepared.clone());
        Ok(prepared)
    }

    fn query(
        &mut self,
        sql: &'static str,
        params: &[Param<'_>],
    ) -> Result<Vec<Row>, RegistryError> {
        let statement = self.statement(sql)?;
        self.tx.query(&statement, params).map_err(|e| self.fail(&e))
    }

    fn query_opt(
        &mut self,
        sql: &'static str,
        params: &[Param<'_>],
    ) -> Result<Option<Row>, RegistryError> {
        let statement = self.statement(sql)?;
        self.tx
            .query_opt(&statement, params)
            .map_err(|e| self.fail(&e))
    }

    fn query_one(&mut self, sql: &'static str, params: &[Param<'_>]) -> Result<Row, RegistryError> {
        let statement = self.statement(sql)?;
        self.tx
            .query_one(&statement, params)
            .map_err(|e| self.fail(&e))
    }

    /// The credentials `sql` selects by its one text parameter, locked for update.
    fn credentials_where(
        &mut self,
        sql: &'static str,
        key: &str,
    ) -> Result<Vec<CredentialRecord>, RegistryError> {
        Ok(self
            .query(sql, &[&key])?
            .iter()
            .map(credential_row)
            .collect())
    }

    fn execute(&mut self, sql: &'static str, params: &[Param<'_>]) -> Result<u64, RegistryError> {
        let statement = self.statement(sql)?;
        self.tx
            .execute(&statement, params)
            .map_err(|e| self.fail(&e))
    }
}

impl StoreTx for Tx<'_> {
    fn card(&mut self, card_key: &str) -> Result<Option<CardRecord>, RegistryError> {
        self.lock("card", card_key)?;
        Ok(self
            .query_opt(
                "SELECT card_key, physical, active_device FROM registry_cards WHERE card_key = $1",
                &[&card_key],
            )?
            .map(|r| CardRecord {
                card_key: r.get(0),
                physical: PhysicalStatus::from_stored(r.get(1)),
                active_device: r.get(2),
            }))
    }

    fn put_card(&mut self, card: &CardRecord) -> Result<(), RegistryError> {
        self.lock("card", &card.card_key)?;
        let physical = card.physical.stored_name();
        self.execute(
            "INSERT INTO registry_cards (card_key, physical, active_device) VALUES ($1, $2, $3)
             ON CONFLICT (card_key) DO UPDATE
             SET physical = EXCLUDED.physical, active_device = EXCLUDED.active_device",
            &[&card.card_key, &physical, &card.active_device],
        )
        .map(drop)
    }

    fn credential(&mut self, id: u64) -> Result<Option<CredentialRecord>, RegistryError> {
        Ok(self
            .query_opt(
                "SELECT id, card_key, device, format, list_id, idx, status, suspension, issuance
                 FROM registry_credentials WHERE id = $1 FOR UPDATE",
                &[&to_i64(id)?],
            )?
            .as_ref()
            .map(credential_row))
    }

    fn credentials_of_card(
        &mut self,
        card_key: &str,
    ) -> Result<Vec<CredentialRecord>, RegistryError> {
        self.lock("card", card_key)?;
        self.credentials_where(
            "SELECT id, card_key, device, format, list_id, idx, status, suspension, issuance
             FROM registry_credentials WHERE card_key = $1 ORDER BY id FOR UPDATE",
            card_key,
        )
    }

    fn credentials_of_device(
        &mut self,
        device: &str,
    ) -> Result<Vec<CredentialRecord>, RegistryError> {
        self.lock("device", device)?;
        self.credentials_where(
            "SELECT id, card_key, device, format, list_id, idx, status, suspension, issuance
             FROM registry_credentials WHERE device = $1 ORDER BY id FOR UPDATE",
            device,
        )
    }

    fn insert_credential(&mut self, c: &NewCredential) -> Result<Option<u64>, RegistryError> {
        self.lock("card", &c.card_key)?;
        self.lock("device", &c.device)?;
        // A concurrent insert of the same index makes this one wait for its outcome: nothing
        // is inserted when it commits.
        let row = self.query_opt(
            "INSERT INTO registry_credentials (card_key, device, format, list_id, idx, status, issuance)
             VALUES ($1, $2, $3, $4, $5, 0, $6)
             ON CONFLICT (list_id, idx) DO NOTHING
             RETURNING id, nextval('registry_allocations')",
            &[
                &c.card_key,
                &c.device,
                &c.format.stored_name(),
                &to_i64(c.list_id)?,
                &to_i64(c.idx)?,
                &to_i64(c.issuance)?,
            ],
        )?;
        Ok(row.map(|r| to_u64(r.get(0))))
    }

    fn set_status(
        &mut self,
        id: u64,
        status: u8,
        suspension: Suspension,
    ) -> Result<(), RegistryError> {
        let n = self.execute(
            "UPDATE registry_credentials SET status = $1, suspension = $2 WHERE id = $3",
            &[
                &i16::from(status),
                &i16::from(suspension.bits()),
                &to_i64(id)?,
            ],
        )?;
        if n == 1 {
            Ok(())
        } else {
            Err(RegistryError::UnknownCredential(id))
        }
    }

    fn append_event(&mut self, e: &Event) -> Result<u64, RegistryError> {
        let row = self.query_one(
            "INSERT INTO registry_events
                (at, actor, operation, card_key, device, credential, reason, old_status, new_status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING seq",
            &[
                &e.at,
                &e.actor,
                &e.operation.name(),
                &e.card_key,
                &e.device,
                &e.credential.map(to_i64).transpose()?,
                &e.reason,
                &e.old_status.map(i16::from),
                &e.new_status.map(i16::from),
            ],
        )?;
        Ok(to_u64(row.get(0)))
    }

    fn lists(&mut self) -> Result<Vec<ListRecord>, RegistryError> {
        Ok(self
            .query(
                "SELECT id, uri, bits, size,
                        coalesce(lead(baseline) OVER (ORDER BY id),
                                 (SELECT CASE WHEN is_called THEN last_value ELSE 0 END
                                  FROM registry_allocations)) - baseline
                 FROM registry_lists ORDER BY id",
                &[],
            )?
            .iter()
            .map(|r| ListRecord {
                id: to_u64(r.get(0)),
                uri: r.get(1),
                bits: u8::try_from(r.get::<_, i16>(2)).unwrap_or(2),
                size: to_u64(r.get(3)),
                used: to_u64(r.get(4)),
            })
            .collect())
    }

    fn insert_list(&mut self, uri: &str, bits: u8, size: u64) -> Result<u64, RegistryError> {
        let id: i64 = self
            .query_one(
                "INSERT INTO registry_lists (uri, bits, size, baseline)
                 SELECT $1, $2, $3, CASE WHEN is_called THEN last_value ELSE 0 END
                 FROM registry_allocations
                 RETURNING id",
                &[&uri, &i16::from(bits), &to_i64(size)?],
            )?
            .get(0);
        Ok(to_u64(id))
    }

    fn device_lost(&mut self, device: &str) -> Result<bool, RegistryError> {
        self.lock("device", device)?;
        Ok(self
            .query_opt(
                "SELECT 1 FROM registry_lost_devices WHERE device = $1",
                &[&device],
            )?
            .is_some())
    }

    fn set_device_lost(&mut self, device: &str, lost: bool) -> Result<(), RegistryError> {
        self.lock("device", device)?;
        if lost {
            self.execute(
                "INSERT INTO registry_lost_devices (device) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&device],
            )?;
        } else {
            self.execute(
                "DELETE FROM registry_lost_devices WHERE device = $1",
                &[&device],
            )?;
        }
        Ok(())
    }

    fn chip(&mut self, card_key: &str) -> Result<Option<ChipRecord>, RegistryError> {
        self.lock("card", card_key)?;
        Ok(self
            .query_opt(
                "SELECT card_key, chip_key, card_digest, enrolled_at FROM registry_chips
                 WHERE card_key = $1",
                &[&card_key],
            )?
            .map(|r| ChipRecord {
                card_key: r.get(0),
                chip_key: r.get(1),
                card_digest: r.get(2),
                enrolled_at: r.get(3),
            }))
    }

    fn put_chip(&mut self, chip: &ChipRecord) -> Result<(), RegistryError> {
        self.lock("card", &chip.card_key)?;
        self.lock_chip(&chip.chip_key)?;
        self.execute(
            "INSERT INTO registry_chips (card_key, chip_key, card_digest, enrolled_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (card_key) DO UPDATE SET chip_key = EXCLUDED.chip_key,
                card_digest = EXCLUDED.card_digest, enrolled_at = EXCLUDED.enrolled_at",
            &[
                &chip.card_key,
                &chip.chip_key,
                &chip.card_digest,
                &chip.enrolled_at,
            ],
        )
        .map(drop)
    }

    fn retire_chip(&mut self, card_key: &str, chip_key: &[u8]) -> Result<(), RegistryError> {
        self.lock("card", card_key)?;
        self.lock_chip(chip_key)?;
        self.execute(
            "DELETE FROM registry_chips WHERE card_key = $1 AND chip_key = $2",
            &[&card_key, &chip_key],
        )?;
        self.execute(
            "INSERT INTO registry_retired_chips (chip_key, card_key) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
            &[&chip_key, &card_key],
        )
        .map(drop)
    }

    fn chip_retired(&mut self, chip_key: &[u8]) -> Result<bool, RegistryError> {
        self.lock_chip(chip_key)?;
        Ok(self
            .query_opt(
                "SELECT 1 FROM registry_retired_chips WHERE chip_key = $1",
                &[&chip_key],
            )?
            .is_some())
    }

    fn retired_chips(&mut self, card_key: &str) -> Result<Vec<Vec<u8>>, RegistryError> {
        self.lock("card", card_key)?;
        Ok(self
            .query(
                "SELECT chip_key FROM registry_retired_chips WHERE card_key = $1",
                &[&card_key],
            )?
            .iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn grant(&mut self, handle: &str) -> Result<Option<GrantRecord>, RegistryError> {
        self.lock("grant", handle)?;
        Ok(self
            .query_opt(
                "SELECT handle, card_key, device, issuance, state FROM registry_grants
                 WHERE handle = $1",
                &[&handle],
            )?
            .as_ref()
            .map(grant_row))
    }

    fn put_grant(&mut self, g: &GrantRecord) -> Result<(), RegistryError> {
        self.lock("card", &g.card_key)?;
        self.lock("grant", &g.handle)?;
        self.execute(
            "INSERT INTO registry_grants (handle, card_key, device, issuance, state)
             VALUES ($1, $2, $3, $4, $5)",
            &[
                &g.handle,
                &g.card_key,
                &g.device,
                &to_i64(g.issuance)?,
                &g.state.stored_name(),
            ],
        )
        .map(drop)
    }

    fn set_grant_state(&mut self, handle: &str, state: GrantState) -> Result<(), RegistryError> {
        self.lock("grant", handle)?;
        let n = self.execute(
            "UPDATE registry_grants SET state = $1 WHERE handle = $2",
            &[&state.stored_name(), &handle],
        )?;
        if n == 1 {
            Ok(())
        } else {
            Err(RegistryError::Storage("unknown grant".into()))
        }
    }

    fn grants_of_card(&mut self, card_key: &str) -> Result<Vec<GrantRecord>, RegistryError> {
        self.lock("card", card_key)?;
        Ok(self
            .query(
                "SELECT handle, card_key, device, issuance, state FROM registry_grants
                 WHERE card_key = $1",
                &[&card_key],
            )?
            .iter()
            .map(grant_row)
            .collect())
    }

    fn person_device(&mut self, person: &str) -> Result<Option<String>, RegistryError> {
        self.lock("person", person)?;
        Ok(self
            .query_opt(
                "SELECT device FROM registry_persons WHERE person_key = $1",
                &[&person],
            )?
            .map(|r| r.get(0)))
    }

    fn put_person_device(&mut self, person: &str, device: &str) -> Result<(), RegistryError> {
        self.lock("person", person)?;
        self.execute(
            "INSERT INTO registry_persons (person_key, device) VALUES ($1, $2)
             ON CONFLICT (person_key) DO UPDATE SET device = EXCLUDED.device",
            &[&person, &device],
        )
        .map(drop)
    }
}

/// The registry in PostgreSQL: several issuer processes (and the threads of each) on one
/// database, each rule one transaction that locks what it reads (the module's documentation),
/// run again after a deadlock or a unique violation.
pub struct PostgresStore {
    /// Always `Some` until dropped.
    pool: Option<Pool>,
    attempts: u32,
    conflicts: AtomicU64,
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            release(pool);
        }
    }
}

impl core::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("attempts", &self.attempts)
            .field("conflicts", &self.conflicts)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to `database` with a pool of at most `pool_size` connections and migrates the
    /// registry's schema in the PostgreSQL schema `kmid_<namespace>` (one per registry: an
    /// authority's, or the shared person registry's). Call it on a thread that is not inside
    /// an async runtime (rust-postgres's synchronous client runs one of its own).
    ///
    /// # Errors
    /// [`RegistryError::Storage`]: a bad URL or namespace, no server, a schema newer than
    /// this build knows (the message names both versions).
    pub fn connect(
        database: &Database,
        namespace: &str,
        pool_size: u32,
    ) -> Result<Self, RegistryError> {
        let pool = pool(database, pool_size, "registry", MIGRATIONS, Some(namespace))
            .map_err(RegistryError::Storage)?;
        Ok(Self {
            pool: Some(pool),
            attempts: DEFAULT_ATTEMPTS,
            conflicts: AtomicU64::new(0),
        })
    }

    /// Runs a rule at most `attempts` times before reporting the conflict.
    #[must_use]
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// How many times a rule was run again after a conflict, since connecting.
    #[must_use]
    pub fn conflicts(&self) -> u64 {
        self.conflicts.load(Ordering::Relaxed)
    }

    fn conn(&self) -> Result<r2d2::PooledConnection<Manager>, RegistryError> {
        self.pool
            .as_ref()
            .ok_or_else(|| RegistryError::Storage("the store is closed".into()))?
            .get()
            .map_err(|e| RegistryError::Storage(format!("PostgreSQL pool: {e}")))
    }
}

/// A pause before running a conflicting rule again: up to `ceiling`, drawn at random so the
/// transactions that conflicted do not meet again.
fn pause(ceiling: Duration, seed: &mut u64) {
    // splitmix64: spreading the retries needs no secret randomness.
    *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let micros = u64::try_from(ceiling.as_micros())
        .unwrap_or(u64::MAX)
        .max(1);
    std::thread::sleep(Duration::from_micros(z % micros));
}

impl RegistryStore for PostgresStore {
    fn transaction<R>(
        &self,
        mut f: impl FnMut(&mut dyn StoreTx) -> Result<R, RegistryError>,
    ) -> Result<R, RegistryError> {
        let mut conn = self.conn()?;
        let mut seed = u64::from(std::process::id())
            ^ u64::try_from(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos()),
            )
            .unwrap_or(0);
        let mut ceiling = Duration::from_millis(2);
        for _ in 0..self.attempts {
            let PgConnection { client, statements } = &mut *conn;
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::ReadCommitted)
                .start()
                .map_err(|e| storage(&e))?;
            let mut t = Tx {
                tx,
                statements,
                locked: HashSet::new(),
                conflict: false,
            };
            let outcome = f(&mut t);
            let Tx {
                tx,
                conflict: flagged,
                ..
            } = t;
            match outcome {
                Ok(result) => match tx.commit() {
                    Ok(()) => return Ok(result),
                    Err(e) if conflict(&e) => {}
                    Err(e) => return Err(storage(&e)),
                },
                // Dropping the transaction rolls it back.
                Err(e) if !flagged => return Err(e),
                Err(_) => drop(tx),
            }
            self.conflicts.fetch_add(1, Ordering::Relaxed);
            pause(ceiling, &mut seed);
            ceiling = (ceiling * 2).min(Duration::from_millis(100));
        }
        Err(RegistryError::Storage(format!(
            "PostgreSQL: the transaction conflicted {} times in a row",
            self.attempts
        )))
    }

    fn nonzero_statuses(&self, list_id: u64) -> Result<Vec<(u64, u8)>, RegistryError> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT idx, status FROM registry_credentials WHERE list_id = $1 AND status <> 0",
                &[&to_i64(list_id)?],
            )
            .map_err(|e| storage(&e))?;
        Ok(rows
            .iter()
            .map(|r| {
                (
                    to_u64(r.get(0)),
                    u8::try_from(r.get::<_, i16>(1)).unwrap_or(u8::MAX),
                )
            })
            .collect())
    }

    fn events(&self, from: u64) -> Result<Vec<Event>, RegistryError> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT seq, at, actor, operation, card_key, device, credential, reason,
                        old_status, new_status
                 FROM registry_events WHERE seq >= $1 ORDER BY seq",
                &[&to_i64(from)?],
            )
            .map_err(|e| storage(&e))?;
        Ok(rows.iter().map(event_row).collect())
    }

    fn event_mark(&self, from: u64) -> Result<(u64, u64), RegistryError> {
        let mut conn = self.conn()?;
        let row = conn
            .query_one(
                "SELECT coalesce(max(seq), 0), count(*) FROM registry_events WHERE seq >= $1",
                &[&to_i64(from)?],
            )
            .map_err(|e| storage(&e))?;
        Ok((to_u64(row.get(0)), to_u64(row.get(1))))
    }

    fn all_credentials(&self) -> Result<Vec<CredentialRecord>, RegistryError> {
        let mut conn = self.conn()?;
        let rows = conn
            .query(
                "SELECT id, card_key, device, format, list_id, idx, status, suspension, issuance
                 FROM registry_credentials ORDER BY id",
                &[],
            )
            .map_err(|e| storage(&e))?;
        Ok(rows.iter().map(credential_row).collect())
    }
}
