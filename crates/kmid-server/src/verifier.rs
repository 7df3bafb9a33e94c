//! The verifier service: OpenID4VP 1.0 as HAIP 1.0 §5 profiles it, over HTTP, for relying
//! parties that do not want to write the HTTP layer themselves.
//!
//! - A back-end API: `POST /transactions` makes a transaction from a request template (or a
//!   DCQL query) and a response mode and answers with the request URL a QR code or a link
//!   carries (`request_uri` by reference, `request_uri_method=post`), or the request a page
//!   hands to the Digital Credentials API; `GET /transactions/{id}` gives where it stands and,
//!   once answered, the verification result (in a same-device flow only with the
//!   `response_code` the wallet was sent back with).
//! - The wallet's endpoints: `GET`/`POST /request/{id}` serves the signed Request Object (the
//!   POST with the wallet's `wallet_nonce`, signed again with it), `POST /response/{id}` takes
//!   `direct_post` and `direct_post.jwt`, `POST /dc-api/{id}` takes what the Digital
//!   Credentials API returned to the page.
//!
//! A transaction lives in a [`TransactionStore`] (memory, or SQLite so that it survives a
//! restart) until it expires; its record keeps the pending request's secrets (the response
//! key), the outcome once answered, and only the hash of a `response_code`. Each response is
//! verified by the facade's [`Verifier`]; a response that does not verify leaves the
//! transaction open for the real wallet's, [`MAX_FAILED_RESPONSES`] times (the request is
//! public: anyone who saw it can post junk that echoes its `state`). When two responses race,
//! the store's version check lets exactly one of them answer. A registration number reaches
//! the result only for a transaction created with a legal basis.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Bytes, to_bytes};
use axum::extract::{Path as UrlPath, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kmid::crypto::CryptoProvider;
use kmid::crypto::jose::b64url;
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
/// five minutes (`kmid::REQUEST_LIFETIME`), the result is kept for as long again.
pub const DEFAULT_TRANSACTION_LIFETIME: Duration = Duration::minutes(10);

/// The verifier service's configuration.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The `https` URL the router is reachable at from outside (wallets fetch the request
    /// and post the response under it), without a trailing slash: `https://rp.example/vp`.
    pub public_url: String,
    /// How long a transaction lives.
    pub transaction_lifetime: Duration,
    /// Bearer tokens that may use the back-end API; empty: the API is open (for a service
    /// reachable only from the relying party's own hosts).
    pub api_keys: Vec<String>,
    /// The scheme of request URLs (`openid4vp://`, `haip-vp://`, or an https link).
    pub url_scheme: String,
}

impl VerifierConfig {
    /// A configuration for `public_url`, the default lifetime, no API keys, `openid4vp://`.
    #[must_use]
    pub fn new(public_url: &str) -> Self {
        Self {
            public_url: public_url.trim_end_matches('/').to_owned(),
            transaction_lifetime: DEFAULT_TRANSACTION_LIFETIME,
            api_keys: Vec::new(),
            url_scheme: "openid4vp://".into(),
        }
    }
}

/// What a [`TransactionStore`] keeps of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionRecord {
    /// The pending request as the facade exports it (`OnlineRequest` or
    /// `DcApiPresentation`): it holds the response key, a secret.
    pub pending: Value,
    /// Unix time it was made.
    pub created: i64,
    /// Unix time it expires, answered or not.
    pub expires: i64,
    /// Whether a response answered it for good.
    pub answered: bool,
    /// Responses taken that did not verify.
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
}

/// Transactions in memory, at most `capacity` of them (expired ones are dropped to make room).
pub struct MemoryTransactionStore {
    records: Mutex<HashMap<String, (u64, TransactionRecord)>>,
    capacity: usize,
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, TransactionRecord)>> {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl TransactionStore for MemoryTransactionStore {
    fn insert(&self, id: &str, record: &TransactionRecord) -> Result<(), TransactionStoreError> {
        let mut records = self.lock();
        if records.len() >= self.capacity {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            records.retain(|_, (_, r)| r.expires > now);
        }
        if records.len() >= self.capacity {
            return Err(TransactionStoreError::Full);
        }
        records.insert(id.to_owned(), (0, record.clone()));
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<(u64, TransactionRecord)>, TransactionStoreError> {
        Ok(self.lock().get(id).cloned())
    }

    fn replace(
        &self,
        id: &str,
        version: u64,
        record: &TransactionRecord,
    ) -> Result<bool, TransactionStoreError> {
        let mut records = self.lock();
        match records.get_mut(id) {
            Some(entry) if entry.0 == version => {
                *entry = (version.saturating_add(1), record.clone());
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    fn purge(&self, now: i64) -> Result<usize, TransactionStoreError> {
        let mut records = self.lock();
        let before = records.len();
        records.retain(|_, (_, r)| r.expires > now);
        Ok(before - records.len())
    }
}

/// Transactions in a SQLite database (one table, `vp_transactions`), so that a restart loses
/// none.
pub struct SqliteTransactionStore {
    connection: Mutex<rusqlite::Connection>,
}

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
        })
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
        self.lock()
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

fn store_failed(e: &TransactionStoreError) -> Response {
    match e {
        TransactionStoreError::Full => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "too many transactions",
        ),
        TransactionStoreError::Database(_) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the transaction store failed",
        ),
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// SHA-256 of a `response_code`, base64url.
fn code_hash(code: &str) -> Option<String> {
    CryptoProvider::get_default()
        .sha256(code.as_bytes())
        .ok()
        .map(|d| b64url(&d))
}

/// A fresh transaction id: 128 bits.
fn new_id() -> Result<String, KmidError> {
    let mut bytes = [0u8; 16];
    CryptoProvider::get_default().random.fill(&mut bytes)?;
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
) -> Value {
    match outcome {
        Ok(seen) => json!({
            "valid": true,
            "presentations": seen.iter().map(|(id, credential)| {
                let mut out = credential.to_json();
                if let Some(fields) = out.as_object_mut() {
                    fields.insert("id".into(), json!(id));
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
    /// `age-check`, `identity` or `full-identity` (with `legal_basis`).
    template: Option<String>,
    /// The docType of the card the template asks for.
    card: Option<String>,
    /// `mso_mdoc` or `dc+sd-jwt`, for a template.
    format: Option<String>,
    /// A DCQL query, instead of a template.
    dcql_query: Option<Value>,
    /// The law that allows collecting the registration number.
    legal_basis: Option<String>,
    /// `direct_post.jwt` (the default, HAIP's), `direct_post`, `dc_api.jwt`, `dc_api`.
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
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentItem {
    description: String,
    reference: String,
}

/// A refusal of the API's caller.
fn bad_request(description: &str) -> Response {
    error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

impl VerifierService {
    /// The service: `verifier` checks the presentations, `access` signs the requests,
    /// `store` keeps the transactions.
    ///
    /// # Errors
    /// [`VerifierServiceError::PublicUrl`].
    pub fn new(
        config: VerifierConfig,
        verifier: Arc<Verifier>,
        access: Arc<VerifierAccess>,
        store: Arc<dyn TransactionStore>,
    ) -> Result<Self, VerifierServiceError> {
        if kmid::oid4vc::request::https_host(&config.public_url).is_none() {
            return Err(VerifierServiceError::PublicUrl(config.public_url));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                verifier,
                access,
                store,
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
            .route("/transactions/{id}", get(result))
            .route("/request/{id}", get(request_get).post(request_post))
            .route("/response/{id}", post(response))
            .route("/dc-api/{id}", post(dc_api))
            .with_state(self.clone())
    }

    /// Whether the caller may use the API.
    fn authorized(&self, headers: &HeaderMap) -> bool {
        let keys = &self.inner.config.api_keys;
        if keys.is_empty() {
            return true;
        }
        let presented = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        presented.is_some_and(|p| {
            keys.iter().fold(false, |found, k| {
                found | kmid::crypto::session::constant_time_eq(k.as_bytes(), p.as_bytes())
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
        match self.create_checked(request) {
            Ok(response) => response,
            Err(e) => e,
        }
    }

    fn create_checked(&self, request: CreateTransaction) -> Result<Response, Response> {
        let at = now().replace_nanosecond(0).unwrap_or_else(|_| now());
        let query = match (&request.template, &request.dcql_query) {
            (Some(name), None) => {
                let template = match name.as_str() {
                    "age-check" => Template::AgeCheck,
                    "identity" => Template::Identity,
                    "full-identity" => Template::FullIdentity {
                        legal_basis: request.legal_basis.clone().ok_or_else(|| {
                            bad_request("full-identity asks for the registration number: give its legal_basis")
                        })?,
                    },
                    _ => return Err(bad_request("template: age-check, identity or full-identity")),
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
        if asks_registration_number(&query) && legal_basis.is_none() {
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
                .is_none_or(|u| kmid::oid4vc::request::https_host(u).is_none())
        {
            return Err(bad_request(
                "a same-device flow needs an https redirect_uri",
            ));
        }
        let id = new_id().map_err(|_| {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "no randomness",
            )
        })?;
        let expires = at + self.inner.config.transaction_lifetime;
        let refused = |e: KmidError| bad_request(&format!("{}: {e}", e.code()));
        let (pending, answer) = if mode.is_direct_post() {
            let online = self
                .inner
                .verifier
                .request_online_with(
                    &self.inner.access,
                    &query,
                    mode,
                    &self.url("response", &id),
                    &options,
                    at,
                )
                .map_err(refused)?;
            let request_uri = self.url("request", &id);
            let url = online.url_by_reference(&self.inner.config.url_scheme, &request_uri, true);
            (
                online.export().map_err(refused)?,
                json!({ "request_uri": request_uri, "request_url": url }),
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
                .map_err(refused)?;
            (
                presentation.export().map_err(refused)?,
                json!({
                    "dc_api_request": {
                        "protocol": presentation.protocol.as_str(),
                        "data": presentation.data,
                    },
                    "dc_api_response_uri": self.url("dc-api", &id),
                }),
            )
        };
        let record = TransactionRecord {
            pending,
            created: at.unix_timestamp(),
            expires: expires.unix_timestamp(),
            answered: false,
            failures: 0,
            outcome: None,
            response_code_hash: None,
            legal_basis,
            redirect_uri: request.redirect_uri.clone(),
        };
        self.inner
            .store
            .insert(&id, &record)
            .map_err(|e| store_failed(&e))?;
        let mut body = json!({
            "transaction_id": id,
            "response_mode": mode.as_str(),
            "expires_at": expires.unix_timestamp(),
        });
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

    /// A live transaction, or the answer for one that is not.
    fn live(&self, id: &str) -> Result<(u64, TransactionRecord), Response> {
        match self.inner.store.get(id) {
            Ok(Some((version, record))) if record.expires > now().unix_timestamp() => {
                Ok((version, record))
            }
            Ok(_) => Err(error(
                StatusCode::NOT_FOUND,
                "invalid_request",
                "no such transaction, or it expired",
            )),
            Err(e) => Err(store_failed(&e)),
        }
    }

    /// The Request Object, signed again with the wallet's nonce when it sent one.
    fn request_object(&self, id: &str, post_body: Option<&[u8]>) -> Response {
        let (_, record) = match self.live(id) {
            Ok(r) => r,
            Err(response) => return response,
        };
        if record.answered {
            return bad_request("the transaction was answered");
        }
        let Ok(online) = OnlineRequest::import(&record.pending) else {
            return bad_request("the transaction has no request object");
        };
        let object = match post_body {
            None => Ok(online.request_object.clone()),
            Some(body) => match kmid::oid4vc::request::parse_request_uri_post(body) {
                Ok((Some(nonce), _)) => self.inner.verifier.request_object_for_wallet(
                    &self.inner.access,
                    &online,
                    &nonce,
                ),
                Ok((None, _)) => Ok(online.request_object.clone()),
                Err(e) => return bad_request(&e.to_string()),
            },
        };
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
            Err(e) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                e.code(),
            ),
        }
    }

    /// A response POSTed to the `response_uri` (`direct_post`, `direct_post.jwt`).
    fn response(&self, id: &str, body: &[u8]) -> Response {
        let (version, mut record) = match self.live(id) {
            Ok(r) => r,
            Err(response) => return response,
        };
        if record.answered {
            return bad_request("the transaction was answered");
        }
        let Ok(mut online) = OnlineRequest::import(&record.pending) else {
            return bad_request("not a direct_post transaction");
        };
        let at = now();
        let code = match self.inner.verifier.complete_online(&mut online, body, at) {
            Ok(code) => code,
            // The transaction's own refusal (wrong mode, key or state; not a response at
            // all): nothing changes.
            Err(e) => return bad_request(&format!("{}: {e}", e.code())),
        };
        let outcome = online.result(code.as_deref());
        let valid = outcome.is_ok();
        record.outcome = Some(outcome_json(outcome, record.legal_basis.as_deref()));
        record.response_code_hash = code.as_deref().and_then(code_hash);
        if valid {
            record.answered = true;
        } else {
            record.failures = record.failures.saturating_add(1);
            record.answered = record.failures > MAX_FAILED_RESPONSES;
        }
        match self.inner.store.replace(id, version, &record) {
            Ok(true) => {}
            Ok(false) => return bad_request("the transaction was answered"),
            Err(e) => return store_failed(&e),
        }
        let mut answer = json!({});
        if let (Some(code), Some(redirect)) = (&code, &record.redirect_uri) {
            let separator = if redirect.contains('?') { '&' } else { '?' };
            answer =
                json!({ "redirect_uri": format!("{redirect}{separator}response_code={code}") });
        }
        (
            StatusCode::OK,
            [(header::CACHE_CONTROL, "no-store")],
            axum::Json(answer),
        )
            .into_response()
    }

    /// What the Digital Credentials API returned to the page: `{"data": …}`. The outcome is
    /// the answer (the page that holds the response is the transaction's).
    fn dc_api(&self, id: &str, body: &[u8]) -> Response {
        let (version, mut record) = match self.live(id) {
            Ok(r) => r,
            Err(response) => return response,
        };
        if record.answered {
            return bad_request("the transaction was answered");
        }
        let Ok(mut presentation) = DcApiPresentation::import(&record.pending) else {
            return bad_request("not a DC API transaction");
        };
        let data = match serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|mut v| v.get_mut("data").map(Value::take))
        {
            Some(data) => data,
            None => return bad_request("the body is {\"data\": <the credential's data>}"),
        };
        if let Err(e) = self
            .inner
            .verifier
            .complete_dc_api(&mut presentation, &data, now())
        {
            return bad_request(&format!("{}: {e}", e.code()));
        }
        let outcome = presentation.result();
        let valid = outcome.is_ok();
        let json = outcome_json(outcome, record.legal_basis.as_deref());
        record.outcome = Some(json.clone());
        if valid {
            record.answered = true;
        } else {
            record.failures = record.failures.saturating_add(1);
            record.answered = record.failures > MAX_FAILED_RESPONSES;
        }
        match self.inner.store.replace(id, version, &record) {
            Ok(true) => (
                StatusCode::OK,
                [(header::CACHE_CONTROL, "no-store")],
                axum::Json(json),
            )
                .into_response(),
            Ok(false) => bad_request("the transaction was answered"),
            Err(e) => store_failed(&e),
        }
    }

    /// Where a transaction stands, with its outcome for whoever may see it.
    fn result(&self, id: &str, response_code: Option<&str>) -> Response {
        let record = match self.inner.store.get(id) {
            Ok(Some((_, record))) => record,
            Ok(None) => {
                return error(
                    StatusCode::NOT_FOUND,
                    "invalid_request",
                    "no such transaction",
                );
            }
            Err(e) => return store_failed(&e),
        };
        let expired = record.expires <= now().unix_timestamp();
        let status = match (expired, record.answered) {
            (true, _) => "expired",
            (false, true) => "answered",
            (false, false) => "pending",
        };
        let mut body =
            json!({ "transaction_id": id, "status": status, "expires_at": record.expires });
        if !expired && let Some(outcome) = &record.outcome {
            let released = match &record.response_code_hash {
                None => true,
                Some(expected) => response_code.and_then(code_hash).is_some_and(|h| {
                    kmid::crypto::session::constant_time_eq(h.as_bytes(), expected.as_bytes())
                }),
            };
            if !released {
                return error(
                    StatusCode::FORBIDDEN,
                    "access_denied",
                    "a same-device result needs the response_code the wallet was sent back with",
                );
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

/// Reads a bounded body; `None` when it is larger than [`MAX_BODY`].
async fn body(request: Request) -> Option<Bytes> {
    to_bytes(request.into_body(), MAX_BODY).await.ok()
}

fn too_large() -> Response {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "invalid_request",
        "the body is larger than 64 KiB",
    )
}

/// Runs `f` on the blocking pool (the store may be SQLite; signing and verifying are CPU
/// work).
async fn blocking(f: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(f).await.unwrap_or_else(|_| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the request could not be answered",
        )
    })
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
    let Some(bytes) = body(request).await else {
        return too_large();
    };
    blocking(move || service.create(&bytes)).await
}

#[derive(Debug, Deserialize)]
struct ResultQuery {
    response_code: Option<String>,
}

async fn result(
    State(service): State<VerifierService>,
    UrlPath(id): UrlPath<String>,
    Query(query): Query<ResultQuery>,
    headers: HeaderMap,
) -> Response {
    if !service.authorized(&headers) {
        return unauthorized();
    }
    blocking(move || service.result(&id, query.response_code.as_deref())).await
}

async fn request_get(
    State(service): State<VerifierService>,
    UrlPath(id): UrlPath<String>,
) -> Response {
    blocking(move || service.request_object(&id, None)).await
}

async fn request_post(
    State(service): State<VerifierService>,
    UrlPath(id): UrlPath<String>,
    request: Request,
) -> Response {
    let Some(bytes) = body(request).await else {
        return too_large();
    };
    blocking(move || service.request_object(&id, Some(&bytes))).await
}

async fn response(
    State(service): State<VerifierService>,
    UrlPath(id): UrlPath<String>,
    request: Request,
) -> Response {
    let Some(bytes) = body(request).await else {
        return too_large();
    };
    blocking(move || service.response(&id, &bytes)).await
}

async fn dc_api(
    State(service): State<VerifierService>,
    UrlPath(id): UrlPath<String>,
    request: Request,
) -> Response {
    if !service.authorized(request.headers()) {
        return unauthorized();
    }
    let Some(bytes) = body(request).await else {
        return too_large();
    };
    blocking(move || service.dc_api(&id, &bytes)).await
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
