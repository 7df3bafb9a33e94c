//! The issuer service: every OpenID4VCI endpoint of `kmid-oid4vc`'s [`IssuanceServer`] over
//! HTTP — the two well-known metadata documents, PAR, token, nonce, credential and
//! notification — and the authorization endpoint, where the caller's [`HolderAuthenticator`]
//! decides who the holder is.
//!
//! Each request becomes an [`HttpRequest`] at the issuer's public URL (its path joined to the
//! Credential Issuer Identifier's origin, so DPoP's `htu` is checked against what the wallet
//! signed, whatever address the service listens on) and runs on the blocking pool: the
//! protocol crates are synchronous, the store may be SQLite, signing is CPU work. Notifications
//! go into the issuer's registry (a deleted credential becomes INVALID). Bodies are bounded
//! (64 KiB) before anything reads them.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kmid::Issuer;
use kmid::crypto::{CryptoProvider, SystemRandom};
use kmid::issuance::IssuerMinter;
use kmid::oid4vc::store::IssuanceStore;
use kmid::oid4vc::vci::VciError;
use kmid::oid4vc::vci::http::{Handled, HttpRequest, HttpResponse};
use kmid::oid4vc::vci::server::{IssuanceConfig, IssuanceServer, PendingAuthorization};
use kmid::status::registry::RegistryStore;
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The most a request body may be.
pub const MAX_BODY: usize = 64 * 1024;

/// How many requests the service works on at once (signing, the store) before it answers
/// 503; a place is taken once the body is read.
pub const MAX_CONCURRENT: usize = 32;

/// Who the holder at the authorization endpoint is: the issuer's login (an IC-card tap, an
/// official at the counter, a government sign-in). Given the pending request and the HTTP
/// request the holder's browser sent (its cookies, its form), it returns the grant's subject
/// (the card, as the minter issues it) to approve, or `None` to refuse. When the request comes
/// from an offer made for a subject (`PendingAuthorization::offered_subject`), only that
/// subject is approved: the service refuses another (403), so a holder cannot be issued the
/// card an official offered someone else.
pub trait HolderAuthenticator: Send + Sync {
    /// The subject to issue for, or `None`.
    fn authenticate(&self, pending: &PendingAuthorization, request: &HttpRequest) -> Option<Value>;
}

/// An authenticator that approves no one: the authorization endpoint answers 403 (a service
/// that serves only counter offers).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHolderLogin;

impl HolderAuthenticator for NoHolderLogin {
    fn authenticate(&self, _: &PendingAuthorization, _: &HttpRequest) -> Option<Value> {
        None
    }
}

/// The issuer's current record of a card, by its card key (`Issuer::card_key`): what a
/// renewal issues, weeks after the offer. With it, a refresh token keeps the card's key, not
/// the card (`IssuerMinter::with_current_card`).
pub type CardLookup = dyn Fn(&str) -> Result<kmid::schema::Card, String> + Send + Sync;

struct Inner<S: RegistryStore> {
    config: IssuanceConfig,
    store: Arc<dyn IssuanceStore>,
    issuer: Arc<Issuer<S>>,
    authenticator: Arc<dyn HolderAuthenticator>,
    cards: Option<Arc<CardLookup>>,
    /// Called after a request that may have changed the registry (a successful POST).
    changed: Option<Arc<dyn Fn() + Send + Sync>>,
    /// Places for requests being worked on (on the blocking pool).
    permits: Arc<tokio::sync::Semaphore>,
    /// The Credential Issuer Identifier's origin (`https://host[:port]`).
    origin: String,
}

/// The issuer service's state.
pub struct IssuerService<S: RegistryStore> {
    inner: Arc<Inner<S>>,
}

impl<S: RegistryStore> Clone for IssuerService<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S: RegistryStore> core::fmt::Debug for IssuerService<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IssuerService")
            .field("origin", &self.inner.origin)
            .finish_non_exhaustive()
    }
}

/// Why the service cannot be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum IssuerServiceError {
    /// The Credential Issuer Identifier is not an `https` URL.
    #[error("the Credential Issuer Identifier is not an https URL: {0}")]
    Identifier(String),
}

impl<S: RegistryStore + 'static> IssuerService<S> {
    /// The service of `issuer` with `config` (its metadata names the endpoints), its state in
    /// `store`, holders authenticated by `authenticator`, renewals issuing what `cards` holds
    /// (without it, the grant's subject as it was, kept with the refresh token).
    ///
    /// # Errors
    /// [`IssuerServiceError::Identifier`].
    pub fn new(
        config: IssuanceConfig,
        store: Arc<dyn IssuanceStore>,
        issuer: Arc<Issuer<S>>,
        authenticator: Arc<dyn HolderAuthenticator>,
        cards: Option<Arc<CardLookup>>,
    ) -> Result<Self, IssuerServiceError> {
        let identifier = config.metadata.credential_issuer.clone();
        let origin = identifier
            .strip_prefix("https://")
            .and_then(|rest| rest.split('/').next())
            .filter(|host| !host.is_empty())
            .map(|host| format!("https://{host}"))
            .ok_or(IssuerServiceError::Identifier(identifier))?;
        Ok(Self {
            inner: Arc::new(Inner {
                config,
                store,
                issuer,
                authenticator,
                cards,
                changed: None,
                permits: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT)),
                origin,
            }),
        })
    }

    /// Calls `hook` on the blocking pool after every request that may have changed the
    /// registry (a successful POST: a credential issued, a notification), before the answer
    /// goes out: a status publisher that runs there serves the new entry's list before the
    /// wallet holds the credential.
    #[must_use]
    pub fn with_change_hook(mut self, hook: Arc<dyn Fn() + Send + Sync>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.changed = Some(hook);
        }
        self
    }

    /// Runs `f` with the protocol server over the service's state (for what the HTTP endpoints
    /// do not do: making offers at the counter, purging the store).
    pub fn with_server<T>(&self, f: impl FnOnce(&IssuanceServer<'_>) -> T) -> T {
        let server = IssuanceServer::new(
            &self.inner.config,
            &*self.inner.store,
            CryptoProvider::get_default(),
            &SystemRandom,
        );
        f(&server)
    }

    /// The router: every endpoint under the identifier's path (the request's original path is
    /// joined to the identifier's origin, so it may be nested under a prefix that is part of
    /// that path).
    pub fn router(&self) -> Router {
        Router::new().fallback(handle::<S>).with_state(self.clone())
    }
}

/// An HTTP response from the protocol's.
fn into_axum(response: HttpResponse) -> Response {
    let mut out = Response::new(Body::from(response.body));
    *out.status_mut() =
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    out
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({ "error": code, "error_description": description })),
    )
        .into_response()
}

async fn handle<S: RegistryStore + 'static>(
    State(service): State<IssuerService<S>>,
    OriginalUri(original): OriginalUri,
    request: Request,
) -> Response {
    let method = match *request.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        _ => {
            return (
                StatusCode::METHOD_NOT_ALLOWED,
                [(header::ALLOW, "GET, POST")],
            )
                .into_response();
        }
    };
    // The path as the client sent it, whatever prefix the router is nested under.
    let path = original
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    // The body first (64 KiB, within its deadline), then a place: a slow sender holds no
    // place while it sends.
    let body = match crate::ops::read_body(request.into_body(), MAX_BODY).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let Ok(permit) = Arc::clone(&service.inner.permits).try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (header::RETRY_AFTER, "1"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            axum::Json(json!({
                "error": "temporarily_unavailable",
                "error_description": "too many requests in progress",
            })),
        )
            .into_response();
    };

    let http = HttpRequest {
        method,
        url: format!("{}{path}", service.inner.origin),
        headers,
        body: body.to_vec(),
    };
    let inner = Arc::clone(&service.inner);
    let answered = tokio::task::spawn_blocking(move || {
        let answered = answer(&inner, &http);
        drop(permit);
        answered
    })
    .await;
    answered.unwrap_or_else(|_| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the request could not be answered",
        )
    })
}

/// One request, on the blocking pool.
fn answer<S: RegistryStore>(inner: &Inner<S>, request: &HttpRequest) -> Response {
    let at = OffsetDateTime::now_utc();
    let server = IssuanceServer::new(
        &inner.config,
        &*inner.store,
        CryptoProvider::get_default(),
        &SystemRandom,
    );
    let url = request.url.split(['?', '#']).next().unwrap_or_default();
    if request.method == "GET" && url == server.authorization_endpoint() {
        return authorize(inner, &server, request, at);
    }
    if request.method == "GET"
        && url == jwt_vc_issuer_url(&inner.config.metadata.credential_issuer, &inner.origin)
    {
        return jwt_vc_issuer_metadata(inner);
    }
    let mut minter = IssuerMinter::new(&inner.issuer);
    if let Some(cards) = &inner.cards {
        let cards = Arc::clone(cards);
        minter = minter.with_current_card(move |key| cards(key));
    }
    let (response, handled) = server.handle(request, &minter, at);
    let hook = |response: &HttpResponse| {
        if let Some(hook) = &inner.changed
            && request.method == "POST"
            && (200..300).contains(&response.status)
        {
            hook();
        }
    };
    if let Handled::Notification(notification) = handled
        && minter.apply_notification(&notification, at).is_err()
    {
        // The wallet was told the notification was received; the registry did not take it.
        // It is the issuer's failure, not the wallet's: answer so, and the wallet may retry.
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the notification was not recorded",
        );
    }
    hook(&response);
    into_axum(response)
}

/// Where SD-JWT VC Issuer Metadata is (SD-JWT VC draft §4): `/.well-known/jwt-vc-issuer`
/// between the identifier's origin and its path.
fn jwt_vc_issuer_url(identifier: &str, origin: &str) -> String {
    let path = identifier.strip_prefix(origin).unwrap_or_default();
    format!("{origin}/.well-known/jwt-vc-issuer{path}")
}

/// SD-JWT VC Issuer Metadata: the identifier as `issuer` and the Document Signer's key in
/// `jwks` (its RFC 7638 thumbprint as `kid`). kmid's own SD-JWT VCs carry their signer in
/// `x5c` and no `iss`, so a verifier needs this only for credentials that name this issuer.
fn jwt_vc_issuer_metadata<S: RegistryStore>(inner: &Inner<S>) -> Response {
    let key = inner.issuer.keys().document_signer.public_key().clone();
    let mut jwk = key.to_jwk();
    jwk.kid = key.thumbprint_sha256().ok();
    jwk.alg = Some("ES256".into());
    jwk.key_use = Some("sig".into());
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "public, max-age=3600")],
        axum::Json(json!({
            "issuer": inner.config.metadata.credential_issuer,
            "jwks": { "keys": [jwk] },
        })),
    )
        .into_response()
}

/// The authorization endpoint: the pending request named by `request_uri` (for `client_id`),
/// the authenticator's verdict, and the redirect back to the wallet (RFC 9207 `iss`).
fn authorize<S: RegistryStore>(
    inner: &Inner<S>,
    server: &IssuanceServer<'_>,
    request: &HttpRequest,
    at: OffsetDateTime,
) -> Response {
    let query = request
        .url
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default();
    let (mut client_id, mut request_uri) = (None, None);
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "client_id" => client_id = Some(v.into_owned()),
            "request_uri" => request_uri = Some(v.into_owned()),
            _ => {}
        }
    }
    let (Some(client_id), Some(request_uri)) = (client_id, request_uri) else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "client_id and request_uri are needed",
        );
    };
    let pending = match server.pending_authorization(&request_uri, &client_id, at) {
        Ok(p) => p,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                e.oauth_error(),
                "unknown request_uri",
            );
        }
    };
    let Some(subject) = inner.authenticator.authenticate(&pending, request) else {
        return error(
            StatusCode::FORBIDDEN,
            "access_denied",
            "the holder was not authenticated",
        );
    };
    match server.authorize(&request_uri, &client_id, &subject, at) {
        Ok(approved) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, approved.redirect),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
        )
            .into_response(),
        Err(VciError::AccessDenied(why)) => error(StatusCode::FORBIDDEN, "access_denied", why),
        Err(e) => error(
            StatusCode::BAD_REQUEST,
            e.oauth_error(),
            "unknown request_uri",
        ),
    }
}
