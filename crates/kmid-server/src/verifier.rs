//! The verifier service: OpenID4VP 1.0 as HAIP 1.0 §5 profiles it, over HTTP, for relying
//! parties that do not want to write the HTTP layer themselves.
//!
//! - A back-end API: `POST /transactions` (a bearer API key) makes a transaction from a
//!   request template (or a DCQL query) and a response mode and answers with its handle and
//!   the request URL a QR code or a link carries (`request_uri` by reference,
//!   `request_uri_method=post`), or the request a page hands to the Digital Credentials API;
//!   `GET /transactions/{handle}` gives where it stands and its last outcome (in a
//!   same-device flow only with the `response_code` the wallet was sent back with).
//! - The wallet's endpoints, named by the transaction's public id: `GET`/`POST
//!   /request/{id}` serves the Request Object, signed at each fetch (the POST's with the
//!   wallet's `wallet_nonce`), while the request is valid, `POST /response/{id}`
//!   takes `direct_post.jwt` (and `direct_post` where allowed).
//! - The page's endpoint, named by the handle: `POST /dc-api/{handle}` takes what the Digital
//!   Credentials API returned and answers with the outcome.
//!
//! The handle is `<public id>.<secret>`: the public id is in the request's URLs, which
//! anyone who sees the QR code sees; the secret only the relying party has, and the store
//! keeps only its hash. Only HAIP's encrypted modes are allowed unless configured otherwise,
//! and never the clear ones for the registration number, which must be asked for with a
//! legal basis and otherwise is dropped from a result.
//!
//! A transaction lives in a [`TransactionStore`] (memory, or SQLite so that it survives a
//! restart; both bounded) until it expires ([`VerifierService::purge`] drops it; `kmid
//! serve` calls it periodically); its record keeps the pending request's secrets (the
//! response key), the last outcome, and only the hash of a `response_code`. Each response is
//! verified by the facade's [`Verifier`]. One that does not verify leaves the transaction
//! open for the real wallet's, [`MAX_FAILED_RESPONSES`] times (the request is public: anyone
//! who saw it can post junk that echoes its `state`); an error response, which anyone can
//! send in the clear, is reported but does not count. Updates are conditional on the
//! version read: a response whose transaction changed meanwhile is verified again against
//! what it became, so that a junk response landing first does not make the real one lose.
//! Work is bounded: bodies (64 KiB, read before a place is taken; responses up to
//! `max_response_bytes`, read with one of twice `max_concurrent` body places; each within
//! 10 s), `max_concurrent` requests worked on at once, stores, lifetimes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kmid::crypto::CryptoProvider;
use kmid::crypto::jose::b64url;
use kmid::crypto::session::constant_time_eq;
use kmid::dcql::DcqlQuery;
use kmid::oid4vc::request::ResponseMode;
use kmid::oid4vc::response::MAX_FAILED_RESPONSES;
use kmid::oid4vc::transaction::TransactionConsent;
use kmid::schema::CardType;
use kmid::schema::catalogue::{self, ClaimId};
use kmid::{
    DcApiPresentation, Format, KmidError, OnlineRequest, RequestOptions, Template,
    VerifiedCredential, Verifier, VerifierAccess,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::issuer::MAX_BODY;

/// How long a transaction lives unless configured otherwise: the signed request is good for
/// five minutes (`kmid::REQUEST_LIFETIME`); a result is kept this long after its answer.
pub const DEFAULT_TRANSACTION_LIFETIME: Duration = Duration::minutes(10);

/// The largest response a wallet may POST unless configured otherwise: a few presentations
/// with their portraits, encrypted and form-encoded.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 << 20;

/// How many requests the service works on at once (signing, verifying, the store) before it
/// answers 503; a response body is read only once its request has a place.
pub const DEFAULT_MAX_CONCURRENT: usize = 32;

/// The verifier service's configuration.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The `https` URL the router is reachable at from outside (wallets fetch the request
    /// and post the response under it), without a trailing slash: `https://rp.example/vp`.
    pub public_url: String,
    /// How long a transaction lives, and a result after its answer.
    pub transaction_lifetime: Duration,
    /// Bearer tokens that may make transactions.
    pub api_keys: Vec<String>,
    /// Lets anyone make transactions when there are no API keys (a service on loopback, a
    /// demonstration): off, the service refuses to start without a key, since its requests
    /// are signed with the relying party's certificate.
    pub open_api: bool,
    /// Allows the modes HAIP 1.0 §5 does not (`direct_post`, `dc_api`: responses in the
    /// clear). Never for the registration number.
    pub allow_unencrypted: bool,
    /// The scheme of request URLs (`openid4vp://`, `haip-vp://`, or an https link).
    pub url_scheme: String,
    /// The largest response body taken.
    pub max_response_bytes: usize,
    /// Requests worked on at once.
    pub max_concurrent: usize,
}

impl VerifierConfig {
    /// A configuration for `public_url`: the default lifetime and limits, no API keys (add
    /// one, or open the API), HAIP's encrypted modes only, `openid4vp://`.
    #[must_use]
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            transaction_lifetime: DEFAULT_TRANSACTION_LIFETIME,
            api_keys: Vec::new(),
            open_api: false,
            allow_unencrypted: false,
            url_scheme: "openid4vp://".into(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_concurrent: DEFAULT_MAX_CONCURRENT,
        }
    }
}

/// The pending request of a transaction as the facade exports it (`OnlineRequest` or
/// `DcApiPresentation`), kept as its JSON text: written once when the transaction is made and
/// read straight into the request when a response comes, with no tree of values in between.
/// It holds the response key, a secret, so its `Debug` shows only its length.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PendingRequest(Box<serde_json::value::RawValue>);

impl PendingRequest {
    /// The pending request whose JSON text is `text`.
    ///
    /// # Errors
    /// `text` is not JSON.
    pub fn from_json(text: String) -> Result<Self, serde_json::Error> {
        serde_json::value::RawValue::from_string(text).map(Self)
    }

    /// The pending request `value`.
    ///
    /// # Errors
    /// As [`Self::from_json`] (never, for a value).
    pub fn from_value(value: &Value) -> Result<Self, serde_json::Error> {
        Self::from_json(value.to_string())
    }

    /// Its JSON text.
    #[must_use]
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// As a tree of values.
    ///
    /// # Errors
    /// Never for a request this type was made from; the parser's error otherwise.
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(self.json())
    }
}

impl From<Box<serde_json::value::RawValue>> for PendingRequest {
    /// The pending request whose JSON the facade wrote ([`OnlineRequest::export_json`]).
    fn from(json: Box<serde_json::value::RawValue>) -> Self {
        Self(json)
    }
}

impl PartialEq for PendingRequest {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

impl Eq for PendingRequest {}

impl core::fmt::Debug for PendingRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PendingRequest({} bytes)", self.json().len())
    }
}

/// What a [`TransactionStore`] keeps of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionRecord {
    /// The pending request: it holds the response key, a secret.
    pub pending: PendingRequest,
    /// SHA-256 (base64url) of the secret half of the transaction's handle: the relying
    /// party's proof that the transaction is its own (the public half is in the request's
    /// URLs, which anyone who sees the QR code sees).
    pub secret_hash: String,
    /// Unix time it was made.
    pub created: i64,
    /// Unix time after which its request is no longer served or answered.
    pub request_expires: i64,
    /// Unix time it is dropped, answered or not.
    pub expires: i64,
    /// Whether a response answered it for good.
    pub answered: bool,
    /// Responses taken that did not verify (not counting error responses, which anyone who
    /// saw the request can send in the clear).
    pub failures: u8,
    /// The last outcome: `{"valid": true, "presentations": […]}` or
    /// `{"valid": false, "error": code, "message": …}`.
    pub outcome: Option<Value>,
    /// SHA-256 (base64url) of the `response_code` the outcome is released for, in a
    /// same-device flow.
    pub response_code_hash: Option<String>,
    /// The legal basis for the registration number, when the transaction asked for it.
    pub legal_basis: Option<String>,
    /// Where the wallet is sent back in a same-device flow.
    pub redirect_uri: Option<String>,
    /// Whether the result carries the photo itself (`portrait_image`), not only its digest.
    #[serde(default)]
    pub include_portrait: bool,
}

/// Why a store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransactionStoreError {
    /// The store holds as many live transactions as it may.
    #[error("the transaction store is full")]
    Full,
    /// The database failed.
    #[error("transaction store: {0}")]
    Database(String),
}

/// Where the verifier service keeps its transactions. Updates are conditional on the version
/// read, so that of two responses racing for one transaction exactly one answers it.
pub trait TransactionStore: Send + Sync {
    /// Keeps a new transaction.
    ///
    /// # Errors
    /// [`TransactionStoreError`].
    fn insert(&self, id: &str, record: &TransactionRecord) -> Result<(), TransactionStoreError>;

    /// The transaction and its version, if there is one.
    ///
    /// # Errors
    /// [`TransactionStoreError`].
    fn get(&self, id: &str) -> Result<Option<(u64, TransactionRecord)>, TransactionStoreError>;

    /// Replaces the transaction if it is still at `version`; `false` if it changed since.
    ///
    /// # Errors
    /// [`TransactionStoreError`].
    fn replace(
        &self,
        id: &str,
        version: u64,
        record: &TransactionRecord,
    ) -> Result<bool, TransactionStoreError>;

    /// Drops the transactions expired at `now` (Unix time); returns how many.
    ///
    /// # Errors
    /// [`TransactionStoreError`].
    fn purge(&self, now: i64) -> Result<usize, TransactionStoreError>;

    /// Whether a call may wait on something besides the CPU and a short lock (a database, a
    /// disk): the service then calls the store off its asynchronous workers. By default,
    /// `true`.
    fn may_block(&self) -> bool {
        true
    }
}

/// Transactions in memory, at most `capacity` of them (expired ones are dropped to make room).
/// Each is kept as its record, whose pending request is its JSON text (a few KiB; as a tree of
/// values it took about four times as much), so reading one copies it and parses nothing.
pub struct MemoryTransactionStore {
    records: Mutex<HashMap<String, Entry>>,
    capacity: usize,
}

/// One record and its version.
struct Entry {
    version: u64,
    record: TransactionRecord,
}

impl core::fmt::Debug for MemoryTransactionStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MemoryTransactionStore")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl MemoryTransactionStore {
    /// A store for at most `capacity` live transactions.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            records: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl TransactionStore for MemoryTransactionStore {
    /// A map behind a lock held for a copy.
    fn may_block(&self) -> bool {
        false
    }

    fn insert(&self, id: &str, record: &TransactionRecord) -> Result<(), TransactionStoreError> {
        let entry = Entry {
            version: 0,
            record: record.clone(),
        };
        let mut records = self.lock();
        if records.len() >= self.capacity {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            records.retain(|_, e| e.record.expires > now);
        }
        if records.len() >= self.capacity {
            return Err(TransactionStoreError::Full);
        }
        records.insert(id.to_owned(), entry);
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<(u64, TransactionRecord)>, TransactionStoreError> {
        Ok(self.lock().get(id).map(|e| (e.version, e.record.clone())))
    }

    fn replace(
        &self,
        id: &str,
        version: u64,
        record: &TransactionRecord,
    ) -> Result<bool, TransactionStoreError> {
        let entry = Entry {
            version: version.saturating_add(1),
            record: record.clone(),
        };
        let mut records = self.lock();
        match records.get_mut(id) {
            Some(current) if current.version == version => {
                *current = entry;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn purge(&self, now: i64) -> Result<usize, TransactionStoreError> {
        let mut records = self.lock();
        let before = records.len();
        records.retain(|_, e| e.record.expires > now);
        Ok(before - records.len())
    }
}

/// Transactions in a SQLite database (one table, `vp_transactions`), so that a restart loses
/// none.
pub struct SqliteTransactionStore {
    connection: Mutex<rusqlite::Connection>,
    capacity: usize,
}

/// The most live transactions a SQLite store keeps unless told otherwise.
pub const DEFAULT_SQLITE_CAPACITY: usize = 100_000;

impl core::fmt::Debug for SqliteTransactionStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SqliteTransactionStore")
            .finish_non_exhaustive()
    }
}

fn db(e: &impl ToString) -> TransactionStoreError {
    TransactionStoreError::Database(e.to_string())
}

impl SqliteTransactionStore {
    /// Opens (creating) the database at `path`.
    ///
    /// # Errors
    /// [`TransactionStoreError::Database`].
    pub fn open(path: &Path) -> Result<Self, TransactionStoreError> {
        Self::with(rusqlite::Connection::open(path).map_err(|e| db(&e))?)
    }

    /// A database in memory (for tests).
    ///
    /// # Errors
    /// [`TransactionStoreError::Database`].
    pub fn in_memory() -> Result<Self, TransactionStoreError> {
        Self::with(rusqlite::Connection::open_in_memory().map_err(|e| db(&e))?)
    }

    fn with(connection: rusqlite::Connection) -> Result<Self, TransactionStoreError> {
        connection
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(|e| db(&e))?;
        connection
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = FULL;
                 CREATE TABLE IF NOT EXISTS vp_transactions (
                     id TEXT PRIMARY KEY,
                     version INTEGER NOT NULL,
                     expires INTEGER NOT NULL,
                     record TEXT NOT NULL
                 );
                 CREATE INDEX IF NOT EXISTS vp_transactions_expires
                     ON vp_transactions (expires);",
            )
            .map_err(|e| db(&e))?;
        Ok(Self {
            connection: Mutex::new(connection),
            capacity: DEFAULT_SQLITE_CAPACITY,
        })
    }

    /// At most `capacity` live transactions (expired ones are dropped to make room).
    #[must_use]
    pub const fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, rusqlite::Connection> {
        self.connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl TransactionStore for SqliteTransactionStore {
    fn insert(&self, id: &str, record: &TransactionRecord) -> Result<(), TransactionStoreError> {
        let text = serde_json::to_string(record).map_err(|e| db(&e))?;
        let connection = self.lock();
        let count = |c: &rusqlite::Connection| -> Result<usize, TransactionStoreError> {
            let n: i64 = c
                .query_row("SELECT COUNT(*) FROM vp_transactions", [], |row| row.get(0))
                .map_err(|e| db(&e))?;
            usize::try_from(n).map_err(|e| db(&e))
        };
        if count(&connection)? >= self.capacity {
            connection
                .execute(
                    "DELETE FROM vp_transactions WHERE expires <= ?1",
                    [OffsetDateTime::now_utc().unix_timestamp()],
                )
                .map_err(|e| db(&e))?;
            if count(&connection)? >= self.capacity {
                return Err(TransactionStoreError::Full);
            }
        }
        connection
            .execute(
                "INSERT INTO vp_transactions (id, version, expires, record) VALUES (?1, 0, ?2, ?3)",
                rusqlite::params![id, record.expires, text],
            )
            .map_err(|e| db(&e))?;
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<(u64, TransactionRecord)>, TransactionStoreError> {
        use rusqlite::OptionalExtension as _;
        let row: Option<(i64, String)> = self
            .lock()
            .query_row(
                "SELECT version, record FROM vp_transactions WHERE id = ?1",
                [id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(|e| db(&e))?;
        row.map(|(version, text)| {
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
            .lock()
            .execute(
                "UPDATE vp_transactions SET version = version + 1, expires = ?3, record = ?4
                 WHERE id = ?1 AND version = ?2",
                rusqlite::params![id, version, record.expires, text],
            )
            .map_err(|e| db(&e))?;
        Ok(changed == 1)
    }

    fn purge(&self, now: i64) -> Result<usize, TransactionStoreError> {
        self.lock()
            .execute("DELETE FROM vp_transactions WHERE expires <= ?1", [now])
            .map_err(|e| db(&e))
    }
}

struct Inner {
    config: VerifierConfig,
    verifier: Arc<Verifier>,
    access: Arc<VerifierAccess>,
    store: Arc<dyn TransactionStore>,
    /// Places for requests being worked on.
    permits: Arc<tokio::sync::Semaphore>,
    /// Places for large bodies being read (each up to `max_response_bytes`).
    body_permits: Arc<tokio::sync::Semaphore>,
    /// Neither the store nor the signer may block: the light steps (making a transaction,
    /// serving its request, its result) run on the asynchronous workers instead of being
    /// handed to the blocking pool and back. Responses are always handed over (their status
    /// checks may fetch).
    light_inline: bool,
}

/// The verifier service's state.
#[derive(Clone)]
pub struct VerifierService {
    inner: Arc<Inner>,
}

impl core::fmt::Debug for VerifierService {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VerifierService")
            .field("public_url", &self.inner.config.public_url)
            .finish_non_exhaustive()
    }
}

/// Why the service cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifierServiceError {
    /// The public URL is not an `https` URL with a host.
    #[error("the verifier's public URL is not an https URL: {0}")]
    PublicUrl(String),
    /// No API key, and the API is not explicitly open.
    #[error("the verifier's API needs a key (or open_api for a service on loopback)")]
    NoApiKey,
}

/// An error answered as JSON, OAuth style.
fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({ "error": code, "error_description": description })),
    )
        .into_response()
}

/// A store that failed: each step is one conditional write, so the client may send the same
/// request again, as with a full store (a response whose commit happened but whose
/// acknowledgement was lost is then refused as a replay; the result tells).
fn store_failed(e: &TransactionStoreError) -> Response {
    match e {
        TransactionStoreError::Full => unavailable("too many transactions or requests"),
        TransactionStoreError::Database(_) => {
            tracing::error!(target: "kmid::verifier", error = %e, "the transaction store failed");
            unavailable("the transaction store is unavailable; retry")
        }
    }
}

fn busy() -> Response {
    unavailable("too many transactions or requests")
}

fn unavailable(description: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::RETRY_AFTER, "1"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        axum::Json(json!({
            "error": "temporarily_unavailable",
            "error_description": description,
        })),
    )
        .into_response()
}

fn server_error(description: &str) -> Response {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "server_error",
        description,
    )
}

fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "invalid_request",
        "no such transaction, or it expired",
    )
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// SHA-256 of a secret, base64url.
fn secret_hash(secret: &str) -> Result<String, Response> {
    CryptoProvider::get_default()
        .sha256(secret.as_bytes())
        .map(|d| b64url(&d))
        .map_err(|_| server_error("hashing failed"))
}

/// 128 bits from the provider, base64url.
fn random_text() -> Result<String, Response> {
    let mut bytes = [0u8; 16];
    CryptoProvider::get_default()
        .random
        .fill(&mut bytes)
        .map_err(|_| server_error("no randomness"))?;
    Ok(b64url(&bytes))
}

/// Whether `query` asks for the registration number, in either format.
fn asks_registration_number(query: &DcqlQuery) -> bool {
    let rrn = catalogue::spec(ClaimId::RegistrationNumber);
    query.credentials.iter().any(|cq| {
        cq.all_claims().iter().any(|c| {
            c.key_path().is_some_and(|p| {
                p.as_slice() == rrn.sd_jwt.path
                    || p.as_slice() == [rrn.mdoc.namespace, rrn.mdoc.identifier]
            })
        })
    })
}

/// The outcome of a verification as the API returns it; without a legal basis, a
/// registration number a wallet disclosed unasked is dropped.
fn outcome_json(
    outcome: Result<&[(String, VerifiedCredential)], KmidError>,
    legal_basis: Option<&str>,
    include_portrait: bool,
) -> Value {
    match outcome {
        Ok(seen) => json!({
            "valid": true,
            "presentations": seen.iter().map(|(id, credential)| {
                let mut out = credential.to_json();
                if let Some(fields) = out.as_object_mut() {
                    fields.insert("id".into(), json!(id));
                    // The photo itself, for a page to show, when the transaction asked for
                    // it (the claims carry its digest; the image is kept with the result only
                    // then).
                    if let Some(image) = include_portrait
                        .then(|| credential.catalogue_claims())
                        .into_iter()
                        .flatten()
                        .find(|(c, _)| *c == ClaimId::Portrait)
                        .and_then(|(_, v)| v.as_str().map(portrait_data_url))
                    {
                        fields.insert("portrait_image".into(), json!(image));
                    }
                }
                if legal_basis.is_none() {
                    drop_registration_number(&mut out);
                }
                out
            }).collect::<Vec<_>>(),
        }),
        Err(e) => json!({ "valid": false, "error": e.code(), "message": e.to_string() }),
    }
}

/// A portrait claim (a JPEG as base64, or already a data URL) as a data URL.
fn portrait_data_url(value: &str) -> String {
    if value.starts_with("data:") {
        value.to_owned()
    } else {
        format!("data:image/jpeg;base64,{value}")
    }
}

/// The request URL as an SVG QR code (what a page shows), or `None` when it does not fit.
fn qr_svg(url: &str) -> Option<String> {
    let code =
        qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(256, 256)
            .quiet_zone(true)
            .build(),
    )
}

/// Removes the registration number from a Korean card's result
/// ([`VerifiedCredential::to_json`]: its catalogue items by element identifier).
fn drop_registration_number(presentation: &mut Value) {
    let korean = presentation.get("korean") == Some(&Value::Bool(true));
    if let (true, Some(claims)) = (
        korean,
        presentation
            .get_mut("claims")
            .and_then(Value::as_object_mut),
    ) {
        claims.remove(catalogue::spec(ClaimId::RegistrationNumber).mdoc.identifier);
    }
}

/// The body of `POST /transactions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTransaction {
    /// `age-check`, `age-check-zk` (a zero-knowledge proof of `age_over_19`, mdoc only),
    /// `identity` or `full-identity` (with `legal_basis`).
    template: Option<String>,
    /// The docType of the card the template asks for.
    card: Option<String>,
    /// `mso_mdoc` or `dc+sd-jwt`, for a template.
    format: Option<String>,
    /// A DCQL query, instead of a template.
    dcql_query: Option<Value>,
    /// The law that allows collecting the registration number.
    legal_basis: Option<String>,
    /// `direct_post.jwt` (the default, HAIP's), `dc_api.jwt`; `direct_post`, `dc_api` where
    /// allowed.
    response_mode: Option<String>,
    /// A same-device flow: the wallet is sent back to `redirect_uri` with a `response_code`.
    #[serde(default)]
    same_device: bool,
    redirect_uri: Option<String>,
    /// The page's Origin, for the DC API modes.
    origin: Option<String>,
    /// Transactions the holder is asked to authorize: `{"description", "reference"}`.
    #[serde(default)]
    transaction_data: Vec<ConsentItem>,
    /// Return the photo itself with the result (`portrait_image`), not only its digest.
    #[serde(default)]
    include_portrait: bool,
    /// Return the request URL as a QR code too (`qr_svg`): for a page that shows it; a back
    /// end that draws its own, or sends a same-device link, does not pay for the encoding.
    #[serde(default)]
    qr_svg: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentItem {
    description: String,
    reference: String,
}

/// A refusal of the caller's request.
fn bad_request(description: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// What one response did to a transaction, before it is stored.
struct Completed {
    /// The answer to whoever posted it.
    answer: Value,
    /// The `response_code`'s hash, same-device.
    code_hash: Option<String>,
    outcome: Value,
    valid: bool,
    /// An error response (counted apart: anyone who saw the request may send one).
    wallet_error: bool,
}

/// How many times a response is verified again when another changed its transaction
/// meanwhile.
const MAX_RACES: usize = 4;

impl VerifierService {
    /// The service: `verifier` checks the presentations, `access` signs the requests,
    /// `store` keeps the transactions.
    ///
    /// # Errors
    /// [`VerifierServiceError::PublicUrl`]; [`VerifierServiceError::NoApiKey`].
    pub fn new(
        config: VerifierConfig,
        verifier: Arc<Verifier>,
        access: Arc<VerifierAccess>,
        store: Arc<dyn TransactionStore>,
    ) -> Result<Self, VerifierServiceError> {
        if kmid::oid4vc::request::https_host(&config.public_url).is_none() {
            return Err(VerifierServiceError::PublicUrl(config.public_url));
        }
        if config.api_keys.is_empty() && !config.open_api {
            return Err(VerifierServiceError::NoApiKey);
        }
        let permits = Arc::new(tokio::sync::Semaphore::new(config.max_concurrent.max(1)));
        let body_permits = Arc::new(tokio::sync::Semaphore::new(
            config.max_concurrent.max(1).saturating_mul(2),
        ));
        let light_inline = !store.may_block() && !access.signer_may_block();
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                verifier,
                access,
                store,
                permits,
                body_permits,
                light_inline,
            }),
        })
    }

    /// Drops the expired transactions; returns how many.
    ///
    /// # Errors
    /// [`TransactionStoreError`].
    pub fn purge(&self) -> Result<usize, TransactionStoreError> {
        self.inner.store.purge(now().unix_timestamp())
    }

    /// The router: the API and the wallet's endpoints, relative to where it is mounted (which
    /// must be the public URL's path).
    pub fn router(&self) -> Router {
        Router::new()
            .route("/transactions", post(create))
            .route("/transactions/{handle}", get(result))
            .route("/request/{id}", get(request_get).post(request_post))
            .route("/response/{id}", post(response))
            .route("/dc-api/{handle}", post(dc_api))
            .with_state(self.clone())
    }

    /// Whether the caller may make transactions.
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let keys = &self.inner.config.api_keys;
        if keys.is_empty() {
            return self.inner.config.open_api;
        }
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        presented.is_some_and(|p| {
            keys.iter().fold(false, |found, k| {
                found | constant_time_eq(k.as_bytes(), p.as_bytes())
            })
        })
    }

    fn url(&self, what: &str, id: &str) -> String {
        format!("{}/{what}/{id}", self.inner.config.public_url)
    }

    /// Makes a transaction (on the blocking pool: it signs).
    fn create(&self, body: &[u8]) -> Response {
        let request: CreateTransaction = match serde_json::from_slice(body) {
            Ok(r) => r,
            Err(e) => return bad_request(&format!("not a transaction request: {e}")),
        };
        self.create_checked(request).unwrap_or_else(|e| e)
    }

    fn create_checked(&self, request: CreateTransaction) -> Result<Response, Response> {
        let at = now().replace_nanosecond(0).unwrap_or_else(|_| now());
        let query = match (&request.template, &request.dcql_query) {
            (Some(name), None) => {
                let template = match name.as_str() {
                    "age-check" => Template::AgeCheck,
                    "age-check-zk" => Template::AgeCheckZk,
                    "identity" => Template::Identity,
                    "full-identity" => Template::FullIdentity {
                        legal_basis: request.legal_basis.clone().ok_or_else(|| {
                            bad_request(
                                "full-identity asks for the registration number: give its legal_basis",
                            )
                        })?,
                    },
                    _ => {
                        return Err(bad_request(
                            "template: age-check, age-check-zk, identity or full-identity",
                        ));
                    }
                };
                let card = request
                    .card
                    .as_deref()
                    .and_then(CardType::from_doc_type)
                    .ok_or_else(|| bad_request("card: the docType of a Korean card"))?;
                let format = match request.format.as_deref() {
                    Some("mso_mdoc") => Format::Mdoc,
                    Some("dc+sd-jwt") => Format::SdJwtVc,
                    _ => return Err(bad_request("format: mso_mdoc or dc+sd-jwt")),
                };
                template.dcql_query(card, format)
            }
            (None, Some(query)) => DcqlQuery::from_json(query.to_string().as_bytes())
                .map_err(|e| bad_request(&e.to_string()))?,
            _ => return Err(bad_request("give a template or a dcql_query")),
        };
        let legal_basis = request.legal_basis.clone().filter(|b| !b.trim().is_empty());
        let registration_number = asks_registration_number(&query);
        if registration_number && legal_basis.is_none() {
            return Err(bad_request(
                "the query asks for the registration number: give its legal_basis",
            ));
        }
        let mode: ResponseMode = serde_json::from_value(json!(
            request
                .response_mode
                .as_deref()
                .unwrap_or("direct_post.jwt")
        ))
        .map_err(|_| {
            bad_request("response_mode: direct_post.jwt, direct_post, dc_api.jwt or dc_api")
        })?;
        // HAIP 1.0 §5: responses are encrypted; the clear modes only where allowed, never
        // for the registration number.
        if !mode.is_encrypted() && (registration_number || !self.inner.config.allow_unencrypted) {
            return Err(bad_request(
                "responses in the clear are not allowed here: use direct_post.jwt or dc_api.jwt",
            ));
        }
        let options = RequestOptions {
            same_device: request.same_device,
            transactions: request
                .transaction_data
                .iter()
                .map(|t| TransactionConsent {
                    credential_ids: query.credentials.iter().map(|c| c.id.clone()).collect(),
                    description: t.description.clone(),
                    reference: t.reference.clone(),
                })
                .collect(),
        };
        if request.same_device
            && request
                .redirect_uri
                .as_deref()
                .is_none_or(|u| kmid::oid4vc::request::https_host(u).is_none() || u.contains('#'))
        {
            return Err(bad_request(
                "a same-device flow needs an https redirect_uri without a fragment",
            ));
        }
        let id = random_text()?;
        let secret = random_text()?;
        let failed = |e: KmidError| match e {
            KmidError::InvalidDcql(_) | KmidError::InvalidRequest(_) => {
                bad_request(&format!("{}: {e}", e.code()))
            }
            _ => server_error("the request could not be made"),
        };
        let (pending, answer) = if mode.is_direct_post() {
            let online = self
                .inner
                .verifier
                .request_online_by_reference(
                    &self.inner.access,
                    &query,
                    mode,
                    &self.url("response", &id),
                    &options,
                    at,
                )
                .map_err(failed)?;
            let request_uri = self.url("request", &id);
            let url = online.url_by_reference(&self.inner.config.url_scheme, &request_uri, true);
            let qr = if request.qr_svg { qr_svg(&url) } else { None };
            (
                PendingRequest::from(online.export_json().map_err(failed)?),
                match qr {
                    Some(qr) => {
                        json!({ "request_uri": request_uri, "request_url": url, "qr_svg": qr })
                    }
                    None => json!({ "request_uri": request_uri, "request_url": url }),
                },
            )
        } else {
            let origin = request
                .origin
                .as_deref()
                .ok_or_else(|| bad_request("a DC API request needs the page's origin"))?;
            let presentation = self
                .inner
                .verifier
                .request_dc_api_with(
                    &[&self.inner.access],
                    &query,
                    mode.is_encrypted(),
                    origin,
                    &options,
                    at,
                )
                .map_err(failed)?;
            (
                PendingRequest::from_value(&presentation.export().map_err(failed)?)
                    .map_err(|_| server_error("the request could not be made"))?,
                json!({
                    "dc_api_request": {
                        "protocol": presentation.protocol.as_str(),
                        "data": presentation.data,
                    },
                }),
            )
        };
        let handle = format!("{id}.{secret}");
        // The signed request's own lifetime, or the transaction's when shorter.
        let request_expires =
            at + kmid::online::REQUEST_LIFETIME.min(self.inner.config.transaction_lifetime);
        let record = TransactionRecord {
            pending,
            secret_hash: secret_hash(&secret)?,
            created: at.unix_timestamp(),
            request_expires: request_expires.unix_timestamp(),
            expires: (at + self.inner.config.transaction_lifetime).unix_timestamp(),
            answered: false,
            failures: 0,
            outcome: None,
            response_code_hash: None,
            legal_basis,
            redirect_uri: request.redirect_uri.clone(),
            include_portrait: request.include_portrait,
        };
        self.inner
            .store
            .insert(&id, &record)
            .map_err(|e| store_failed(&e))?;
        let mut body = json!({
            "transaction_id": handle,
            "response_mode": mode.as_str(),
            "request_expires_at": request_expires.unix_timestamp(),
        });
        if !mode.is_direct_post()
            && let Some(out) = body.as_object_mut()
        {
            out.insert(
                "dc_api_response_uri".into(),
                json!(self.url("dc-api", &handle)),
            );
        }
        if let (Some(out), Some(extra)) = (body.as_object_mut(), answer.as_object()) {
            out.extend(extra.clone());
        }
        Ok((
            StatusCode::CREATED,
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(body),
        )
            .into_response())
    }

    /// The transaction named by the public id in a request's URLs, while its request may be
    /// answered.
    fn answerable(&self, id: &str) -> Result<(u64, TransactionRecord), Response> {
        match self.inner.store.get(id) {
            Ok(Some((version, record))) if record.request_expires > now().unix_timestamp() => {
                if record.answered {
                    Err(bad_request("the transaction was answered"))
                } else {
                    Ok((version, record))
                }
            }
            Ok(_) => Err(not_found()),
            Err(e) => Err(store_failed(&e)),
        }
    }

    /// The transaction a relying party's handle (`<id>.<secret>`) names, live.
    fn owned(&self, handle: &str) -> Result<(String, u64, TransactionRecord), Response> {
        let (id, secret) = handle.split_once('.').ok_or_else(not_found)?;
        match self.inner.store.get(id) {
            Ok(Some((version, record)))
                if record.expires > now().unix_timestamp()
                    && constant_time_eq(
                        secret_hash(secret)?.as_bytes(),
                        record.secret_hash.as_bytes(),
                    ) =>
            {
                Ok((id.to_owned(), version, record))
            }
            Ok(_) => Err(not_found()),
            Err(e) => Err(store_failed(&e)),
        }
    }

    /// The Request Object, signed now: with the wallet's nonce when it POSTed one. (A
    /// transaction is made without one, so each fetch costs one signature and the store
    /// keeps no signed copy; a record written by a version that kept one is served the same
    /// way.)
    fn request_object(&self, id: &str, post_body: Option<&[u8]>) -> Response {
        let (_, record) = match self.answerable(id) {
            Ok(r) => r,
            Err(response) => return response,
        };
        let wallet_nonce = match post_body.map(kmid::oid4vc::request::parse_request_uri_post) {
            None | Some(Ok((None, _))) => None,
            Some(Ok((Some(nonce), _))) => Some(nonce),
            Some(Err(e)) => return bad_request(&e.to_string()),
        };
        // The request alone: the transaction's response key is not needed to serve it.
        let Ok((authorization, _)) = OnlineRequest::import_request_json(record.pending.json())
        else {
            return not_found();
        };
        let object = self.inner.verifier.sign_for_fetch(
            &self.inner.access,
            &authorization,
            wallet_nonce.as_deref(),
        );
        match object {
            Ok(object) => (
                StatusCode::OK,
                [
                    (header::CONTENT_TYPE, "application/oauth-authz-req+jwt"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                object,
            )
                .into_response(),
            Err(_) => server_error("the request object could not be signed"),
        }
    }

    /// Runs `complete` on the transaction `id` and stores what it did; when another response
    /// changed the transaction meanwhile, reads it again and runs it again (so a cheap junk
    /// response that lands first does not make the real one lose), at most [`MAX_RACES`]
    /// times.
    fn complete(
        &self,
        id: &str,
        load: impl Fn() -> Result<(u64, TransactionRecord), Response>,
        complete: impl Fn(&TransactionRecord) -> Result<Completed, Response>,
    ) -> Response {
        for _ in 0..MAX_RACES {
            let (version, mut record) = match load() {
                Ok(r) => r,
                Err(response) => return response,
            };
            let done = match complete(&record) {
                Ok(done) => done,
                Err(response) => return response,
            };
            metrics::counter!(
                "kmid_verifications_total",
                "outcome" => done.outcome.get("error").and_then(Value::as_str).unwrap_or("VALID").to_owned()
            )
            .increment(1);
            record.outcome = Some(done.outcome);
            record.response_code_hash = done.code_hash;
            if done.valid {
                record.answered = true;
            } else if !done.wallet_error {
                record.failures = record.failures.saturating_add(1);
                record.answered = record.failures > MAX_FAILED_RESPONSES;
            }
            if record.answered {
                // The result is kept for the lifetime after its answer.
                record.expires = record
                    .expires
                    .max((now() + self.inner.config.transaction_lifetime).unix_timestamp());
            }
            match self.inner.store.replace(id, version, &record) {
                Ok(true) => {
                    return (
                        StatusCode::OK,
                        [(header::CACHE_CONTROL, "no-store")],
                        axum::Json(done.answer),
                    )
                        .into_response();
                }
                Ok(false) => {}
                Err(e) => return store_failed(&e),
            }
        }
        busy()
    }

    /// A response POSTed to the `response_uri` (`direct_post`, `direct_post.jwt`).
    fn response(&self, id: &str, body: &[u8]) -> Response {
        self.complete(
            id,
            || self.answerable(id),
            |record| {
                let Ok(mut online) = OnlineRequest::import_json(record.pending.json()) else {
                    return Err(bad_request("not a direct_post transaction"));
                };
                let code = match self.inner.verifier.complete_online(&mut online, body, now()) {
                    Ok(code) => code,
                    // The transaction's own refusal (wrong mode, key or state; not a
                    // response at all): nothing changes.
                    Err(e) => return Err(bad_request(&format!("{}: {e}", e.code()))),
                };
                let outcome = online.result(code.as_deref());
                let wallet_error = matches!(outcome, Err(KmidError::WalletError { .. }));
                let valid = outcome.is_ok();
                let outcome = outcome_json(
                    outcome,
                    record.legal_basis.as_deref(),
                    record.include_portrait,
                );
                let (answer, code_hash) = match (&code, &record.redirect_uri) {
                    (Some(code), Some(redirect)) => {
                        let separator = if redirect.contains('?') { '&' } else { '?' };
                        (
                            json!({ "redirect_uri": format!("{redirect}{separator}response_code={code}") }),
                            Some(secret_hash(code)?),
                        )
                    }
                    (Some(_), None) => return Err(server_error("no redirect_uri")),
                    (None, _) => (json!({}), None),
                };
                Ok(Completed {
                    answer,
                    code_hash,
                    outcome,
                    valid,
                    wallet_error,
                })
            },
        )
    }

    /// What the Digital Credentials API returned to the relying party's page: `{"data": …}`,
    /// to the handle the page was given. The outcome is the answer.
    fn dc_api(&self, handle: &str, body: &[u8]) -> Response {
        let Some(data) = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|mut v| v.get_mut("data").map(Value::take))
        else {
            return bad_request("the body is {\"data\": <the credential's data>}");
        };
        let id = handle.split_once('.').map_or(handle, |(id, _)| id);
        self.complete(
            id,
            || {
                let (_, version, record) = self.owned(handle)?;
                if record.answered {
                    return Err(bad_request("the transaction was answered"));
                }
                if record.request_expires <= now().unix_timestamp() {
                    return Err(not_found());
                }
                Ok((version, record))
            },
            |record| {
                let Some(mut presentation) = record
                    .pending
                    .to_value()
                    .ok()
                    .and_then(|pending| DcApiPresentation::import(&pending).ok())
                else {
                    return Err(bad_request("not a DC API transaction"));
                };
                if let Err(e) = self
                    .inner
                    .verifier
                    .complete_dc_api(&mut presentation, &data, now())
                {
                    return Err(bad_request(&format!("{}: {e}", e.code())));
                }
                let outcome = presentation.result();
                let wallet_error = matches!(outcome, Err(KmidError::WalletError { .. }));
                let valid = outcome.is_ok();
                let outcome = outcome_json(
                    outcome,
                    record.legal_basis.as_deref(),
                    record.include_portrait,
                );
                Ok(Completed {
                    answer: outcome.clone(),
                    code_hash: None,
                    outcome,
                    valid,
                    wallet_error,
                })
            },
        )
    }

    /// Where a transaction stands, with its last outcome for its owner (same-device: with
    /// the `response_code` too).
    fn result(&self, handle: &str, response_code: Option<&str>) -> Response {
        let (_, _, record) = match self.owned(handle) {
            Ok(r) => r,
            Err(response) => return response,
        };
        let at = now().unix_timestamp();
        let status = match (record.answered, record.request_expires <= at) {
            (true, _) => "answered",
            (false, true) => "expired",
            (false, false) => "pending",
        };
        let mut body = json!({
            "transaction_id": handle,
            "status": status,
            "expires_at": record.expires,
        });
        if let Some(outcome) = &record.outcome {
            if let Some(expected) = &record.response_code_hash {
                let presented = match response_code.map(secret_hash).transpose() {
                    Ok(p) => p,
                    Err(response) => return response,
                };
                if !presented.is_some_and(|h| constant_time_eq(h.as_bytes(), expected.as_bytes())) {
                    return error(
                        StatusCode::FORBIDDEN,
                        "access_denied",
                        "a same-device result needs the response_code the wallet was sent back with",
                    );
                }
            }
            if let Some(fields) = body.as_object_mut() {
                fields.insert("result".into(), outcome.clone());
            }
        }
        (
            StatusCode::OK,
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(body),
        )
            .into_response()
    }
}

/// Reads a body of at most `limit` bytes, or the answer for why not.
async fn body(request: Request, limit: usize) -> Result<Bytes, Response> {
    crate::ops::read_body(request.into_body(), limit).await
}

/// Runs `f` on the blocking pool (the store may be SQLite; signing and verifying are CPU
/// work) with its place, taken before the body is read.
async fn blocking(
    permit: tokio::sync::OwnedSemaphorePermit,
    f: impl FnOnce() -> Response + Send + 'static,
) -> Response {
    tokio::task::spawn_blocking(move || {
        let response = f();
        drop(permit);
        response
    })
    .await
    .unwrap_or_else(|_| server_error("the request could not be answered"))
}

/// Runs a light step `f` (one that only signs, reads and writes the store) with its place:
/// where it is when nothing it calls may block, else as [`blocking`]. A panic is answered
/// 500 either way (the blocking pool's join reports it; here it is caught), not by dropping
/// the connection.
async fn light(
    inline: bool,
    permit: tokio::sync::OwnedSemaphorePermit,
    f: impl FnOnce() -> Response + Send + 'static,
) -> Response {
    if inline {
        let response = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .unwrap_or_else(|_| server_error("the request could not be answered"));
        drop(permit);
        response
    } else {
        blocking(permit, f).await
    }
}

impl VerifierService {
    /// A place to work on a request, or `None` (answer 503).
    fn permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.inner.permits).try_acquire_owned().ok()
    }

    /// A place to read a large body, or `None` (answer 503).
    fn body_permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.inner.body_permits)
            .try_acquire_owned()
            .ok()
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(json!({ "error": "invalid_token" })),
    )
        .into_response()
}

async fn create(State(service): State<VerifierService>, request: Request) -> Response {
    if !service.authorized(request.headers()) {
        return unauthorized();
    }
    // Small bodies are read first (within their deadline), then a place is taken.
    let bytes = match body(request, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(refused) => return refused,
    };
    let Some(permit) = service.permit() else {
        return busy();
    };
    light(service.inner.light_inline, permit, move || {
        service.create(&bytes)
    })
    .await
}

#[derive(Debug, Deserialize)]
struct ResultQuery {
    response_code: Option<String>,
}

async fn result(
    State(service): State<VerifierService>,
    UrlPath(handle): UrlPath<String>,
    Query(query): Query<ResultQuery>,
) -> Response {
    let Some(permit) = service.permit() else {
        return busy();
    };
    light(service.inner.light_inline, permit, move || {
        service.result(&handle, query.response_code.as_deref())
    })
    .await
}

async fn request_get(
    State(service): State<VerifierService>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let Some(permit) = service.permit() else {
        return busy();
    };
    light(service.inner.light_inline, permit, move || {
        service.request_object(&id, None)
    })
    .await
}

async fn request_post(
    State(service): State<VerifierService>,
    UrlPath(id): UrlPath<String>,
    request: Request,
) -> Response {
    let bytes = match body(request, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(refused) => return refused,
    };
    let Some(permit) = service.permit() else {
        return busy();
    };
    light(service.inner.light_inline, permit, move || {
        service.request_object(&id, Some(&bytes))
    })
    .await
}

async fn response(
    State(service): State<VerifierService>,
    UrlPath(id): UrlPath<String>,
    request: Request,
) -> Response {
    // A response may be megabytes: it is read with one of the body places (which bound the
    // memory responses in flight may take), then worked on with a place.
    let Some(reading) = service.body_permit() else {
        return busy();
    };
    let bytes = match body(request, service.inner.config.max_response_bytes).await {
        Ok(bytes) => bytes,
        Err(refused) => return refused,
    };
    drop(reading);
    let Some(permit) = service.permit() else {
        return busy();
    };
    blocking(permit, move || service.response(&id, &bytes)).await
}

async fn dc_api(
    State(service): State<VerifierService>,
    UrlPath(handle): UrlPath<String>,
    request: Request,
) -> Response {
    // A response may be megabytes: it is read with one of the body places (which bound the
    // memory responses in flight may take), then worked on with a place.
    let Some(reading) = service.body_permit() else {
        return busy();
    };
    let bytes = match body(request, service.inner.config.max_response_bytes).await {
        Ok(bytes) => bytes,
        Err(refused) => return refused,
    };
    drop(reading);
    let Some(permit) = service.permit() else {
        return busy();
    };
    blocking(permit, move || service.dc_api(&handle, &bytes)).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    /// A registration number a wallet disclosed unasked is dropped from a Korean card's
    /// result (and only from one).
    #[test]
    fn the_registration_number_is_dropped_without_a_legal_basis() {
        let mut korean = json!({ "korean": true, "claims": {
            "family_name_unicode": "김", "registration_number": "900315-1234568" } });
        drop_registration_number(&mut korean);
        assert_eq!(korean["claims"], json!({ "family_name_unicode": "김" }));
        let mut foreign = json!({ "korean": false, "claims": { "registration_number": "x" } });
        drop_registration_number(&mut foreign);
        assert_eq!(foreign["claims"]["registration_number"], "x");
    }
}
