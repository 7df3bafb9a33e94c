//! Operations: what every service gets around its router — logs without personal data,
//! Prometheus metrics, `/healthz` and `/readyz`, per-client rate limits and a time limit per
//! request — and the HTTP(S) server that runs a router with bounded headers, handshakes and
//! connections, and shuts down gracefully.
//!
//! Logs name the service, a route label (the endpoint's name, never the path: paths carry
//! transaction ids and request URIs), the method, the status and the time taken; never a
//! query, a header or a body, so no claim value, registration number, nonce, code or token
//! reaches them.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The endpoint names a route label may be; any other path is `other`.
const ROUTES: &[&str] = &[
    "openid-credential-issuer",
    "oauth-authorization-server",
    "jwt-vc-issuer",
    "par",
    "authorize",
    "token",
    "nonce",
    "credential",
    "notification",
    "admin",
    "transactions",
    "request",
    "response",
    "dc-api",
    "lists",
    "healthz",
    "readyz",
    "metrics",
];

/// The route label of `path`: the first of its segments that is a known endpoint name.
#[must_use]
pub fn route_label(path: &str) -> &'static str {
    path.split('/')
        .find_map(|segment| ROUTES.iter().find(|r| **r == segment).copied())
        .unwrap_or(if path == "/" { "page" } else { "other" })
}

/// Installs the process's Prometheus recorder (once; later calls return the same handle).
///
/// # Errors
/// The exporter's refusal (another recorder was installed first).
pub fn install_metrics() -> Result<PrometheusHandle, String> {
    static HANDLE: std::sync::OnceLock<Result<PrometheusHandle, String>> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets(&[
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ])
                .map_err(|e| e.to_string())?
                .install_recorder()
                .map_err(|e| e.to_string())
        })
        .clone()
}

/// Logs to standard error, as text or JSON lines, filtered by `RUST_LOG` (default `info`).
/// Later calls do nothing.
pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Whether the process is ready to serve: set once the services are up, cleared when
/// shutdown begins (so a load balancer stops sending before connections close).
#[derive(Debug, Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Sets it.
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }

    /// Whether it is set.
    #[must_use]
    pub fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// `/healthz` (the process answers), `/readyz` (it is ready) and, with a handle, `/metrics`.
pub fn ops_router(metrics: Option<PrometheusHandle>, ready: Readiness) -> Router {
    let mut router = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route(
            "/readyz",
            get(move || {
                let ready = ready.get();
                async move {
                    if ready {
                        (StatusCode::OK, "ready\n")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
                    }
                }
            }),
        );
    if let Some(handle) = metrics {
        router = router.route(
            "/metrics",
            get(move || {
                let text = handle.render();
                async move {
                    (
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("text/plain; version=0.0.4"),
                        )],
                        text,
                    )
                }
            }),
        );
    }
    router
}

/// A token bucket per client address: `rate` requests a second, bursts of `burst`. At most
/// [`RateLimiter::MAX_CLIENTS`] addresses are tracked; beyond, the fullest buckets (clients
/// quiet long enough to have refilled) are forgotten.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// The most client addresses tracked at once.
    pub const MAX_CLIENTS: usize = 65_536;

    /// `rate` requests a second per client, bursts of `burst`.
    #[must_use]
    pub fn new(rate: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `client`: `Ok`, or `Err` with the seconds until one is free.
    ///
    /// # Errors
    /// The seconds to wait.
    pub fn take(&self, client: IpAddr, now: Instant) -> Result<(), u64> {
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= Self::MAX_CLIENTS && !buckets.contains_key(&client) {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < burst
            });
            if buckets.len() >= Self::MAX_CLIENTS {
                buckets.clear();
            }
        }
        let (tokens, at) = buckets.entry(client).or_insert((self.burst, now));
        let refilled =
            (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if refilled >= 1.0 {
            *tokens = refilled - 1.0;
            Ok(())
        } else {
            *tokens = refilled;
            // Whole seconds, rounded up, at least one.
            let wait = Duration::try_from_secs_f64((1.0 - refilled) / self.rate)
                .unwrap_or(Duration::from_secs(1));
            Err((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1))
        }
    }
}

/// What the operations layer needs.
#[derive(Debug, Clone)]
pub struct OpsState {
    /// The service's name in logs and metrics.
    pub service: &'static str,
    /// The time a client has to send a request's body (slow senders get 408). The work
    /// after it is not cut short: an answer dropped after a code was spent or a credential
    /// registered would leave the client guessing.
    pub request_timeout: Duration,
    /// Per-client limits, if any.
    pub limiter: Option<Arc<RateLimiter>>,
}

/// Wraps `router` with the operations layer: the rate limit (429 with `Retry-After`), the
/// time limit on the body (408), a panic answered 500, and the request's log line and
/// metrics.
pub fn with_operations(router: Router, state: OpsState) -> Router {
    let body_timeout = state.request_timeout;
    router
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            body_timeout,
        ))
        // A handler that panics answers 500 (its log line says so); the panic's message is
        // not sent.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    [(header::CACHE_CONTROL, "no-store")],
                    axum::Json(serde_json::json!({
                        "error": "server_error",
                        "error_description": "the request could not be answered",
                    })),
                )
                    .into_response()
            },
        ))
        .layer(axum::middleware::from_fn_with_state(state, observe))
}

/// The most time a whole request body may take to arrive.
pub const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// Reads a request body of at most `limit` bytes, or the answer for why not: `413` when it is
/// larger, `408` when the client was too slow sending it, `400` when it broke off.
///
/// # Errors
/// The response to send instead.
pub async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, Response> {
    use http_body_util::BodyExt as _;
    let limited = http_body_util::Limited::new(body, limit);
    // A whole-body deadline besides the layer's idle timeout (which restarts with every piece
    // received): a client trickling a byte now and then cannot hold a request open for long.
    let Ok(collected) = tokio::time::timeout(BODY_DEADLINE, limited.collect()).await else {
        return Err((
            StatusCode::REQUEST_TIMEOUT,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::CONNECTION, "close"),
            ],
            axum::Json(serde_json::json!({
                "error": "invalid_request",
                "error_description": "the body took too long",
            })),
        )
            .into_response());
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) => {
            let (status, text) = if e.is::<http_body_util::LengthLimitError>() {
                (StatusCode::PAYLOAD_TOO_LARGE, "the body is too large")
            } else if is_timeout(&*e) {
                (StatusCode::REQUEST_TIMEOUT, "the body took too long")
            } else {
                (StatusCode::BAD_REQUEST, "the body could not be read")
            };
            Err((
                status,
                [(header::CACHE_CONTROL, "no-store")],
                axum::Json(serde_json::json!({
                    "error": "invalid_request",
                    "error_description": text,
                })),
            )
                .into_response())
        }
    }
}

/// Whether an error or one of its sources is the body timeout's.
fn is_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(error) = current {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        current = error.source();
    }
    false
}

async fn observe(State(state): State<OpsState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // The path as the client sent it (a nested router sees only the rest of it).
    let route = route_label(
        request
            .extensions()
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| request.uri().path(), |o| o.0.path()),
    );
    let method = request.method().as_str().to_owned();
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let response = match (&state.limiter, client) {
        (Some(limiter), Some(ip)) => match limiter.take(ip, started) {
            Ok(()) => None,
            Err(wait) => {
                metrics::counter!("kmid_rate_limited_total", "service" => state.service)
                    .increment(1);
                Some(
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        [(header::RETRY_AFTER, wait.to_string())],
                        "too many requests\n",
                    )
                        .into_response(),
                )
            }
        },
        _ => None,
    };
    let response = match response {
        Some(refused) => refused,
        None => next.run(request).await,
    };
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    metrics::counter!(
        "kmid_http_requests_total",
        "service" => state.service,
        "route" => route,
        "status" => status.to_string()
    )
    .increment(1);
    metrics::histogram!(
        "kmid_http_request_duration_seconds",
        "service" => state.service,
        "route" => route
    )
    .record(elapsed.as_secs_f64());
    tracing::info!(
        target: "kmid::http",
        service = state.service,
        route,
        method = %method,
        status,
        ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        "request"
    );
    response
}

/// The server's limits.
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// The time a client has to send a request's headers (slow clients are dropped).
    pub header_timeout: Duration,
    /// The most bytes of request line and headers (beyond: 431).
    pub max_header_bytes: usize,
    /// The time a TLS handshake may take.
    pub handshake_timeout: Duration,
    /// Connections open at once; more wait in the kernel's queue.
    pub max_connections: usize,
    /// Connections one client address may hold open at once; more are closed at once.
    pub max_connections_per_client: usize,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            handshake_timeout: Duration::from_secs(10),
            max_connections: 512,
            max_connections_per_client: 16,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// One of a client address's connections, given back when dropped.
struct ClientSlot {
    clients: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl ClientSlot {
    fn take(clients: &Arc<Mutex<HashMap<IpAddr, usize>>>, ip: IpAddr, max: usize) -> Option<Self> {
        let mut map = clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = map.entry(ip).or_insert(0);
        if *count >= max.max(1) {
            return None;
        }
        *count += 1;
        Some(Self {
            clients: Arc::clone(clients),
            ip,
        })
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut map = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = map.get_mut(&self.ip) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

/// A TLS server configuration from a PEM certificate chain (leaf first) and its PEM PKCS#8
/// key, on the aws-lc-rs provider, TLS 1.2 and 1.3, HTTP/1.1 by ALPN.
///
/// # Errors
/// What is wrong with the files.
pub fn tls_server_config(chain: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certificates: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(chain)
        .map_err(|e| format!("{}: {e}", chain.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", chain.display()))?;
    if certificates.is_empty() {
        return Err(format!("{}: no certificate", chain.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(certificates, key)
    .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `app` on `listener` (over TLS with `tls`) until `shutdown` completes, then stops
/// accepting and waits up to `limits.shutdown_grace` for the requests in flight. Each
/// connection's handshake and headers are bounded in time, its headers in size; the client's
/// address reaches handlers as [`ConnectInfo`].
///
/// # Errors
/// The listener's failure.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    app: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    let http = Arc::new(http);
    let per_client: Arc<Mutex<HashMap<IpAddr, usize>>> = Arc::default();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&connections).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // A connection that failed before it was accepted (reset, out of
                // descriptors): wait a little and go on.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // One client may hold only so many of the connections (a slow handshake or slow
        // headers each hold one for their timeouts).
        let Some(client_slot) =
            ClientSlot::take(&per_client, peer.ip(), limits.max_connections_per_client)
        else {
            drop(tcp);
            continue;
        };
        let app = app.clone();
        let max_header_bytes = limits.max_header_bytes;
        let service = hyper::service::service_fn(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                let mut app = app.clone();
                // hyper's read buffer bounds a head only loosely (a head that arrives in one
                // read may be larger): the size is checked here, exactly.
                let head = request
                    .headers()
                    .iter()
                    .map(|(name, value)| name.as_str().len() + value.len() + 4)
                    .sum::<usize>()
                    + request.uri().to_string().len();
                // A request with a body refused before the body was read leaves the rest of
                // it on the connection: such answers close it, so a client does not send its
                // next request into a connection the server is about to drop.
                let has_body = request.headers().contains_key(header::TRANSFER_ENCODING)
                    || request
                        .headers()
                        .get(header::CONTENT_LENGTH)
                        .is_some_and(|v| v.as_bytes() != b"0");
                async move {
                    use tower::Service as _;
                    let mut response = if head > max_header_bytes {
                        (
                            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                            "the request headers are too large\n",
                        )
                            .into_response()
                    } else {
                        app.call(request.map(Body::new)).await?
                    };
                    if has_body
                        && (response.status().is_client_error()
                            || response.status().is_server_error())
                    {
                        response
                            .headers_mut()
                            .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    }
                    Ok::<_, std::convert::Infallible>(response)
                }
            },
        );
        let watcher = graceful.watcher();
        let http = Arc::clone(&http);
        let acceptor = acceptor.clone();
        let handshake_timeout = limits.handshake_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            let _client_slot = client_slot;
            match acceptor {
                Some(acceptor) => {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(handshake_timeout, acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let _ = watcher
                        .watch(http.serve_connection(TokioIo::new(stream), service))
                        .await;
                }
                None => {
                    let _ = watcher
                        .watch(http.serve_connection(TokioIo::new(tcp), service))
                        .await;
                }
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_grace) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn route_labels_name_endpoints_not_paths() {
        assert_eq!(
            route_label("/verifier/transactions/abc.def"),
            "transactions"
        );
        assert_eq!(route_label("/verifier/request/abc"), "request");
        assert_eq!(route_label("/issuer/mois/kmid/token"), "token");
        assert_eq!(
            route_label("/issuer/mois/.well-known/openid-credential-issuer/kmid"),
            "openid-credential-issuer"
        );
        assert_eq!(route_label("/status/mois/lists/1"), "lists");
        assert_eq!(route_label("/"), "page");
        assert_eq!(route_label("/900315-1234568"), "other");
    }

    #[test]
    fn the_rate_limit_refills_and_forgets() {
        let limiter = RateLimiter::new(2, 3);
        let client: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take(client, t0), Ok(()));
        }
        assert_eq!(limiter.take(client, t0), Err(1));
        // Another client has its own bucket.
        assert_eq!(limiter.take(other, t0), Ok(()));
        // Half a second refills one token at 2/s.
        assert_eq!(
            limiter.take(client, t0 + Duration::from_millis(500)),
            Ok(())
        );
        assert!(
            limiter
                .take(client, t0 + Duration::from_millis(500))
                .is_err()
        );
    }
}
