//! The HTTP fetcher of status lists (and, later, metadata): reqwest on rustls, TLS on the
//! aws-lc-rs provider handed to it (no process-wide default is installed) with the Mozilla
//! roots; HTTPS only (redirects too) unless plain HTTP is allowed for a loopback test; a bound
//! on the body (read as it streams, never past the limit) and on the time; and the reason a
//! fetch failed ([`FetchFailure`]), which the verifier keeps in its result
//! (`…StatusUnavailable.Unavailable.Timeout`, `.HttpStatus`, `.TooLarge`, `.Transport`,
//! `.Scheme`).
//!
//! Caching by the token's `ttl` is the resolver's (`kmid::status::StatusListResolver`): it
//! asks again only when its copy is stale, as the Token Status List draft's §13.7 wants.

use std::sync::Arc;
use std::time::Duration;

use kmid::schema::status::FetchFailure;
use kmid::status::StatusListFetcher;

/// How the fetcher behaves.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// The most a body may be (a status list token of 2^20 entries at 8 bits compresses to
    /// far less than the default 1 MiB).
    pub max_body: usize,
    /// The whole exchange, connection to last byte.
    pub timeout: Duration,
    /// Accept `http://` URIs on the loopback interface (`127.0.0.1`, `[::1]`, `localhost`):
    /// for tests only; HAIP and the draft want HTTPS, and no other host is fetched in clear.
    pub allow_http: bool,
    /// Roots trusted beside the Mozilla list (DER): a private deployment's CA, `kmid serve`'s
    /// generated test CA.
    pub extra_roots: Vec<Vec<u8>>,
}

impl Default for FetchConfig {
    fn default() -> Self {
        Self {
            max_body: 1 << 20,
            timeout: Duration::from_secs(5),
            allow_http: false,
            extra_roots: Vec::new(),
        }
    }
}

/// Why a fetcher could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetcherError {
    /// TLS could not be set up.
    #[error("TLS: {0}")]
    Tls(String),
    /// The HTTP client could not be built.
    #[error("HTTP client: {0}")]
    Client(String),
}

/// The TLS configuration of kmid's HTTP clients: rustls on the aws-lc-rs provider, the
/// Mozilla roots, TLS 1.2 and 1.3. reqwest is built without a provider of its own, so every
/// client is given this one (no process-wide default is installed).
///
/// # Errors
/// [`FetcherError::Tls`] when the provider supports no safe protocol version.
pub fn tls_client_config() -> Result<rustls::ClientConfig, FetcherError> {
    tls_client_config_with(&[])
}

/// [`tls_client_config`] trusting `extra_roots` (DER certificates) as well.
///
/// # Errors
/// [`FetcherError::Tls`] for a root rustls cannot use, or no safe protocol version.
pub fn tls_client_config_with(
    extra_roots: &[Vec<u8>],
) -> Result<rustls::ClientConfig, FetcherError> {
    client_config(webpki_roots::TLS_SERVER_ROOTS.to_vec(), extra_roots)
}

/// kmid's TLS client configuration trusting `roots` (DER certificates) and nothing else: for
/// a server of one's own, such as the database (`kmid_status::postgres::Database::with_tls`).
///
/// # Errors
/// [`FetcherError::Tls`] for a root rustls cannot use, no root, or no safe protocol version.
pub fn tls_client_config_only(roots: &[Vec<u8>]) -> Result<rustls::ClientConfig, FetcherError> {
    if roots.is_empty() {
        return Err(FetcherError::Tls("no root to trust".into()));
    }
    client_config(Vec::new(), roots)
}

fn client_config(
    base: Vec<rustls::pki_types::TrustAnchor<'static>>,
    extra_roots: &[Vec<u8>],
) -> Result<rustls::ClientConfig, FetcherError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore { roots: base };
    for der in extra_roots {
        roots
            .add(rustls::pki_types::CertificateDer::from(der.clone()))
            .map_err(|e| FetcherError::Tls(e.to_string()))?;
    }
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| FetcherError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The asynchronous fetcher.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
    config: FetchConfig,
}

impl HttpFetcher {
    /// A fetcher with `config`.
    ///
    /// # Errors
    /// [`FetcherError`] when TLS or the client cannot be set up.
    pub fn new(config: FetchConfig) -> Result<Self, FetcherError> {
        let client = reqwest::Client::builder()
            .use_preconfigured_tls(tls_client_config_with(&config.extra_roots)?)
            .https_only(!config.allow_http)
            .redirect(reqwest::redirect::Policy::limited(3))
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .no_proxy()
            .build()
            .map_err(|e| FetcherError::Client(e.to_string()))?;
        Ok(Self { client, config })
    }

    /// `GET uri` with `Accept: accept`: the body of a 2xx answer, at most `max_body` bytes.
    ///
    /// # Errors
    /// The [`FetchFailure`].
    pub async fn get(&self, uri: &str, accept: &str) -> Result<Vec<u8>, FetchFailure> {
        let fetched = self.fetch(uri, accept).await;
        if let Err(failure) = &fetched {
            metrics::counter!("kmid_status_fetch_failures_total", "reason" => failure.code())
                .increment(1);
        }
        fetched
    }

    async fn fetch(&self, uri: &str, accept: &str) -> Result<Vec<u8>, FetchFailure> {
        let loopback = |rest: &str| {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = if authority.starts_with("[::1]") {
                "[::1]"
            } else {
                authority.split(':').next().unwrap_or_default()
            };
            matches!(host, "127.0.0.1" | "[::1]" | "localhost")
        };
        let scheme_ok = uri.starts_with("https://")
            || (self.config.allow_http && uri.strip_prefix("http://").is_some_and(loopback));
        if !scheme_ok {
            return Err(FetchFailure::Scheme);
        }
        let classify = |e: &reqwest::Error| {
            if e.is_timeout() {
                FetchFailure::Timeout
            } else {
                FetchFailure::Transport
            }
        };
        let mut response = self
            .client
            .get(uri)
            .header(reqwest::header::ACCEPT, accept)
            .send()
            .await
            .map_err(|e| classify(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchFailure::HttpStatus(status.as_u16()));
        }
        let max = self.config.max_body;
        if response
            .content_length()
            .is_some_and(|n| usize::try_from(n).map_or(true, |n| n > max))
        {
            return Err(FetchFailure::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| classify(&e))? {
            if body.len().saturating_add(chunk.len()) > max {
                return Err(FetchFailure::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// The fetcher as the synchronous resolver calls it, running on `handle`. Call it from a
    /// blocking context (a `spawn_blocking` task, or a thread outside the runtime), never
    /// from an async task.
    #[must_use]
    pub fn blocking(self, handle: tokio::runtime::Handle) -> BlockingFetcher {
        BlockingFetcher {
            fetcher: self,
            handle,
        }
    }
}

/// [`HttpFetcher`] behind the synchronous [`StatusListFetcher`].
#[derive(Debug, Clone)]
pub struct BlockingFetcher {
    fetcher: HttpFetcher,
    handle: tokio::runtime::Handle,
}

impl StatusListFetcher for BlockingFetcher {
    fn fetch(&self, uri: &str, accept: &str) -> Result<Vec<u8>, FetchFailure> {
        self.handle.block_on(self.fetcher.get(uri, accept))
    }
}
