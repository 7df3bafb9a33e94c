//! The status service: Status List Tokens over HTTP as the Token Status List draft's §8 says
//! (`GET` at the `uri` of each list, `application/statuslist+jwt` or `application/statuslist+cwt`
//! by `Accept`), with an `ETag` and conditional `GET`, `Cache-Control: max-age` from the
//! token's `ttl`, `Vary: Accept`, CORS for browser-based relying parties (§8.1 SHOULD) and gzip
//! (§8.2 SHOULD, for the JWT form).
//!
//! What is served is what the issuer last published: [`StatusService::publish`] swaps it in
//! whole, so a response is always one consistent token. [`StatusPublisher`] decides when to
//! publish again: when the registry's event log has moved (a card lost, a phone found, a
//! credential revoked) and, at the latest, every `refresh` so that no served token comes near
//! its `exp`.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kmid::PublishedList;
use time::{Duration, OffsetDateTime};
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};

/// The JWT form's media type.
pub const JWT_MEDIA_TYPE: &str = "application/statuslist+jwt";
/// The CWT form's media type.
pub const CWT_MEDIA_TYPE: &str = "application/statuslist+cwt";

/// Why a publication was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusServiceError {
    /// A list's `uri` is not an absolute `http(s)` URI with a path.
    #[error("a status list URI is not an absolute URI with a path: {0}")]
    Uri(String),
    /// Two lists are at one path.
    #[error("two status lists are at {0}")]
    Duplicate(String),
    /// The issuer could not publish (its registry or signer failed).
    #[error("publishing failed: {0}")]
    Publish(String),
}

impl StatusServiceError {
    /// A stable code.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Uri(_) => "Status.Service.Uri",
            Self::Duplicate(_) => "Status.Service.Duplicate",
            Self::Publish(_) => "Status.Service.Publish",
        }
    }
}

/// One list in both forms, with their entity tags.
#[derive(Debug)]
struct Served {
    jwt: Bytes,
    jwt_etag: HeaderValue,
    cwt: Bytes,
    cwt_etag: HeaderValue,
}

/// What the service serves: status lists by path.
#[derive(Debug, Clone)]
pub struct StatusService {
    lists: Arc<RwLock<Arc<BTreeMap<String, Served>>>>,
    cache_control: HeaderValue,
}

/// The path of an absolute `http(s)` URI (its query, if any, kept).
fn path_of(uri: &str) -> Option<&str> {
    let rest = uri
        .strip_prefix("https://")
        .or_else(|| uri.strip_prefix("http://"))?;
    let slash = rest.find('/')?;
    let (authority, path) = rest.split_at(slash);
    (!authority.is_empty() && !path.contains('#')).then_some(path)
}

/// A weak entity tag: the base64url SHA-256 of the token. Weak because the compression layer
/// may send the same token gzip-encoded, another representation that a strong tag would have
/// to tell apart (RFC 9110 §8.8.3); `If-None-Match` compares weakly anyway (§13.1.2).
fn etag(provider: &kmid::crypto::CryptoProvider, bytes: &[u8]) -> Result<HeaderValue, String> {
    let digest = provider.sha256(bytes).map_err(|e| e.to_string())?;
    HeaderValue::from_str(&format!("W/\"{}\"", kmid::crypto::jose::b64url(&digest)))
        .map_err(|e| e.to_string())
}

impl StatusService {
    /// A service that serves nothing yet; responses may be cached for `ttl` seconds (the
    /// `ttl` the issuer writes into its tokens).
    #[must_use]
    pub fn new(ttl: u64) -> Self {
        let cache_control = HeaderValue::from_str(&format!("public, max-age={ttl}"))
            .unwrap_or(HeaderValue::from_static("no-cache"));
        Self {
            lists: Arc::new(RwLock::new(Arc::new(BTreeMap::new()))),
            cache_control,
        }
    }

    /// Serves `lists` from now on, each at its `uri`'s path, in place of what was served.
    ///
    /// # Errors
    /// [`StatusServiceError::Uri`], [`StatusServiceError::Duplicate`]; nothing changes then.
    pub fn publish(&self, lists: Vec<PublishedList>) -> Result<(), StatusServiceError> {
        let provider = kmid::crypto::CryptoProvider::get_default();
        let mut served = BTreeMap::new();
        for list in lists {
            let path = path_of(&list.uri)
                .ok_or_else(|| StatusServiceError::Uri(list.uri.clone()))?
                .to_owned();
            let jwt = list.jwt.into_bytes();
            let entry = Served {
                jwt_etag: etag(provider, &jwt).map_err(StatusServiceError::Publish)?,
                cwt_etag: etag(provider, &list.cwt).map_err(StatusServiceError::Publish)?,
                jwt: Bytes::from(jwt),
                cwt: Bytes::from(list.cwt),
            };
            if served.insert(path.clone(), entry).is_some() {
                return Err(StatusServiceError::Duplicate(path));
            }
        }
        *self
            .lists
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(served);
        Ok(())
    }

    /// The token served at `path` (a list URI's path), CWT or JWT: what a `GET` would
    /// answer, for a verifier in the same process (no round trip through the listener).
    #[must_use]
    pub fn token(&self, path: &str, cwt: bool) -> Option<Bytes> {
        let lists = self.snapshot();
        let served = lists.get(path)?;
        Some(if cwt {
            served.cwt.clone()
        } else {
            served.jwt.clone()
        })
    }

    /// How many lists are served.
    #[must_use]
    pub fn len(&self) -> usize {
        self.snapshot().len()
    }

    /// Whether nothing is served yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.snapshot().is_empty()
    }

    fn snapshot(&self) -> Arc<BTreeMap<String, Served>> {
        Arc::clone(
            &self
                .lists
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// The router: `GET` and `HEAD` at each list's path; CORS open to any origin (the tokens
    /// are public and signed); gzip when the client accepts it.
    pub fn router(&self) -> Router {
        Router::new()
            .fallback(serve)
            .with_state(self.clone())
            .layer(
                CorsLayer::new()
                    .allow_origin(Any)
                    .allow_methods([Method::GET, Method::HEAD])
                    .allow_headers([header::ACCEPT, header::IF_NONE_MATCH])
                    .expose_headers([header::ETAG]),
            )
            .layer(CompressionLayer::new())
    }
}

/// Which form the client asked for (RFC 9110 §12.5.1): the acceptable one with the highest
/// quality, the JWT on a tie or without `Accept`; `None` when neither is acceptable.
fn negotiate(headers: &HeaderMap) -> Option<bool> {
    let values: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if values.is_empty() {
        return Some(false);
    }
    // The quality each form gets from the most specific range that matches it.
    let (mut jwt, mut cwt) = ((0u8, 0u16), (0u8, 0u16));
    for range in values.iter().flat_map(|v| v.split(',')).take(64) {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let mut q = 1000u16;
        for param in parts {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                q = parse_quality(value).unwrap_or(0);
            }
        }
        let specificity = |target: &str| -> u8 {
            match media.as_str() {
                m if m == target => 3,
                "application/*" => 2,
                "*/*" => 1,
                _ => 0,
            }
        };
        for (form, target) in [(&mut jwt, JWT_MEDIA_TYPE), (&mut cwt, CWT_MEDIA_TYPE)] {
            let s = specificity(target);
            if s > form.0 {
                *form = (s, q);
            }
        }
    }
    match (jwt.1, cwt.1) {
        (0, 0) => None,
        (j, c) => Some(c > j),
    }
}

/// An HTTP quality value, in thousandths.
fn parse_quality(text: &str) -> Option<u16> {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Whether `If-None-Match` names `etag` (weak comparison, RFC 9110 §13.1.2) or is `*`.
fn not_modified(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let ours = etag.to_str().unwrap_or_default().trim_start_matches("W/");
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == ours)
}

async fn serve(
    State(service): State<StatusService>,
    OriginalUri(original): OriginalUri,
    request: Request,
) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(header::ALLOW, "GET, HEAD")],
        )
            .into_response();
    }
    let lists = service.snapshot();
    // The path as the client sent it (the lists' URIs are absolute), whatever prefix the
    // router is nested under.
    let path = original
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let Some(list) = lists.get(&path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(cwt) = negotiate(request.headers()) else {
        return (
            StatusCode::NOT_ACCEPTABLE,
            format!("{JWT_MEDIA_TYPE} or {CWT_MEDIA_TYPE}"),
        )
            .into_response();
    };
    let (body, media, etag) = if cwt {
        (&list.cwt, CWT_MEDIA_TYPE, &list.cwt_etag)
    } else {
        (&list.jwt, JWT_MEDIA_TYPE, &list.jwt_etag)
    };
    let mut response = if not_modified(request.headers(), etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else if request.method() == Method::HEAD {
        let mut r = Response::new(Body::empty());
        if let Ok(len) = HeaderValue::from_str(&body.len().to_string()) {
            r.headers_mut().insert(header::CONTENT_LENGTH, len);
        }
        r
    } else {
        Response::new(Body::from(body.clone()))
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    headers.insert(header::ETAG, etag.clone());
    headers.insert(header::CACHE_CONTROL, service.cache_control.clone());
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept, Accept-Encoding"),
    );
    response
}

/// When to publish again: the registry's event log moved, or the last publication is
/// `refresh` old.
#[derive(Debug)]
pub struct StatusPublisher {
    refresh: Duration,
    last: Option<(u64, OffsetDateTime)>,
}

impl StatusPublisher {
    /// A publisher that republishes at least every `refresh` (keep it well under the tokens'
    /// validity, which is a day).
    #[must_use]
    pub const fn new(refresh: Duration) -> Self {
        Self {
            refresh,
            last: None,
        }
    }

    /// Publishes into `service` if the registry's latest event (`latest_event`) is newer than
    /// at the last publication, or that was `refresh` ago; returns whether it did.
    ///
    /// # Errors
    /// The issuer's failure to publish, or the service's refusal; the service keeps serving
    /// what it had.
    pub fn tick(
        &mut self,
        service: &StatusService,
        latest_event: u64,
        at: OffsetDateTime,
        publish: impl FnOnce(OffsetDateTime) -> Result<Vec<PublishedList>, String>,
    ) -> Result<bool, StatusServiceError> {
        let due = match self.last {
            None => true,
            Some((event, when)) => latest_event != event || at - when >= self.refresh,
        };
        if !due {
            return Ok(false);
        }
        let lists = publish(at).map_err(StatusServiceError::Publish)?;
        service.publish(lists)?;
        self.last = Some((latest_event, at));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn negotiation_follows_quality_and_specificity() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(false));
        assert_eq!(negotiate(&accept(JWT_MEDIA_TYPE)), Some(false));
        assert_eq!(negotiate(&accept(CWT_MEDIA_TYPE)), Some(true));
        assert_eq!(negotiate(&accept("*/*")), Some(false));
        assert_eq!(
            negotiate(&accept(
                "application/statuslist+jwt;q=0.5, application/statuslist+cwt"
            )),
            Some(true)
        );
        assert_eq!(
            negotiate(&accept(
                "application/*;q=0.2, application/statuslist+cwt;q=0.1"
            )),
            Some(false),
            "the JWT gets application/*'s 0.2"
        );
        assert_eq!(negotiate(&accept("text/html")), None);
        assert_eq!(
            negotiate(&accept("application/statuslist+jwt;q=0")),
            None,
            "q=0 is not acceptable"
        );
        assert_eq!(negotiate(&accept("*/*;q=bogus")), None);
        assert_eq!(
            negotiate(&accept(
                "application/statuslist+jwt;Q=0.1, application/statuslist+cwt"
            )),
            Some(true),
            "parameter names are case-insensitive"
        );
    }

    #[test]
    fn quality_values_are_read_as_rfc_9110_writes_them() {
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("1.000"), Some(1000));
        assert_eq!(parse_quality("0.5"), Some(500));
        assert_eq!(parse_quality("0.125"), Some(125));
        assert_eq!(parse_quality("0.1234"), None);
        assert_eq!(parse_quality("1.5"), None);
        assert_eq!(parse_quality("2"), None);
    }

    #[test]
    fn paths_of_list_uris() {
        assert_eq!(path_of("https://status.example/lists/1"), Some("/lists/1"));
        assert_eq!(path_of("http://127.0.0.1:8080/l?x=1"), Some("/l?x=1"));
        assert_eq!(path_of("https://status.example"), None);
        assert_eq!(path_of("ftp://status.example/l"), None);
        assert_eq!(path_of("https:///l"), None);
    }
}
