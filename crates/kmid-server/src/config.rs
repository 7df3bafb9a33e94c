//! `kmid serve`'s configuration, a TOML file (`spec/services.md` documents it field by field).
//! Every field has a default, so an empty file (or none) is the embedded demonstration: all
//! three services on `https://localhost:8443`, state and a generated test PKI under
//! `kmid-data/`. Unknown fields are refused, so a misspelt limit is not silently ignored.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// The data directory: the keys directory of `kmid keys issuers` (issuer keys,
    /// registries, status lists), the verifier's access key, TLS files, databases. Relative
    /// paths below are relative to it.
    pub data_dir: PathBuf,
    /// A PostgreSQL database (`postgres://user@host:port/db`) shared by several instances;
    /// without it, SQLite in the data directory. It holds the verifier's transactions, the
    /// issuer's OpenID4VCI state and the status registries.
    pub database: Option<String>,
    /// The CA certificates (PEM) that vouch for the database server: with them the database
    /// is reached over TLS only, its certificate checked against them and its name against
    /// the URL's host. Without them, in the clear (a Unix socket, loopback, a private
    /// network).
    pub database_ca: Option<PathBuf>,
    /// The HTTP(S) server.
    pub server: ServerSection,
    /// The issuer service.
    pub issuer: IssuerSection,
    /// The status service.
    pub status: StatusSection,
    /// The verifier service.
    pub verifier: VerifierSection,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("kmid-data"),
            database: None,
            database_ca: None,
            server: ServerSection::default(),
            issuer: IssuerSection::default(),
            status: StatusSection::default(),
            verifier: VerifierSection::default(),
        }
    }
}

/// `[server]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// The address and port to listen on (`127.0.0.1:8443`; port 0 picks a free one).
    pub listen: SocketAddr,
    /// The `https` URL clients reach the server at, without a trailing slash; by default
    /// `https://localhost:<port>`. Services live under it: `/issuer/<authority>`, `/status`,
    /// `/verifier`; the relying party's page at `/`.
    pub public_url: Option<String>,
    /// The TLS certificate chain (PEM, leaf first). With `tls_key` absent too, the server
    /// makes (once) a test CA and a certificate for `localhost` under `<data_dir>/tls/`.
    pub tls_certificate: Option<PathBuf>,
    /// The TLS private key (PEM, PKCS#8).
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP (behind a proxy that terminates TLS; `public_url` stays https).
    pub plain_http: bool,
    /// Seconds a request may take, body included (beyond: 408).
    pub request_timeout_secs: u64,
    /// Seconds a client has to send its request headers.
    pub header_timeout_secs: u64,
    /// The most bytes of request line and headers (beyond: 431).
    pub max_header_bytes: usize,
    /// Connections served at once.
    pub max_connections: usize,
    /// Requests a second per client address (0: no limit).
    pub rate_limit_per_second: u32,
    /// Requests a client may send in a burst.
    pub rate_limit_burst: u32,
    /// Seconds shutdown waits for requests in flight.
    pub shutdown_grace_secs: u64,
    /// Seconds between `/readyz` turning 503 and the listener closing, for a load balancer to
    /// stop sending (0: at once).
    pub drain_secs: u64,
    /// Connections one client address may hold open at once.
    pub max_connections_per_client: usize,
    /// Logs as JSON lines instead of text.
    pub json_logs: bool,
}

impl Default for ServerSection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8443)),
            public_url: None,
            tls_certificate: None,
            tls_key: None,
            plain_http: false,
            request_timeout_secs: 30,
            header_timeout_secs: 10,
            max_header_bytes: 16 * 1024,
            max_connections: 512,
            rate_limit_per_second: 50,
            rate_limit_burst: 200,
            shutdown_grace_secs: 30,
            drain_secs: 0,
            max_connections_per_client: 16,
            json_logs: false,
        }
    }
}

/// `[issuer]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IssuerSection {
    /// Serve it.
    pub enabled: bool,
    /// The authorities served (`mois`, `moj`, `oka`); empty: every one with keys in the data
    /// directory.
    pub authorities: Vec<String>,
    /// The officials who may use the administration API, each with the SHA-256 (hex) of
    /// their bearer token; their name is recorded with every lifecycle change they make.
    pub officials: Vec<Official>,
}

impl Default for IssuerSection {
    fn default() -> Self {
        Self {
            enabled: true,
            authorities: Vec::new(),
            officials: Vec::new(),
        }
    }
}

/// An official of the issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Official {
    /// Who (recorded in the registry's event log).
    pub name: String,
    /// SHA-256 of their token, lowercase hex.
    pub token_sha256: String,
    /// The authorities whose cards they may act on (`mois`, `moj`, `oka`); empty: all.
    #[serde(default)]
    pub authorities: Vec<String>,
}

/// `[status]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusSection {
    /// Serve it.
    pub enabled: bool,
    /// The `ttl` written into the tokens and the `max-age` they are served with (seconds).
    pub ttl_secs: u64,
    /// Republish at least this often (seconds), changes or not.
    pub republish_secs: u64,
    /// Look for registry changes this often (seconds).
    pub poll_secs: u64,
}

impl Default for StatusSection {
    fn default() -> Self {
        Self {
            enabled: true,
            ttl_secs: 300,
            republish_secs: 3600,
            poll_secs: 2,
        }
    }
}

/// `[verifier]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VerifierSection {
    /// Serve it.
    pub enabled: bool,
    /// The relying party's access certificate (PEM; by default `reader.pem` of `kmid keys
    /// readers` in the data directory) and its key.
    pub access_certificate: Option<PathBuf>,
    /// The access certificate's key (PEM PKCS#8; by default `reader.key.pem`).
    pub access_key: Option<PathBuf>,
    /// A trust configuration (`spec/trust.md`); by default the data directory's issuers.
    pub trust: Option<PathBuf>,
    /// Bearer tokens of the relying party's back ends.
    pub api_keys: Vec<String>,
    /// Let anyone make transactions without a key (only sensible on loopback).
    pub open_api: bool,
    /// Allow responses in the clear (`direct_post`, `dc_api`), which HAIP does not.
    pub allow_unencrypted: bool,
    /// Seconds a transaction lives, and a result after its answer.
    pub transaction_secs: i64,
}

impl Default for VerifierSection {
    fn default() -> Self {
        Self {
            enabled: true,
            access_certificate: None,
            access_key: None,
            trust: None,
            api_keys: Vec::new(),
            open_api: false,
            allow_unencrypted: false,
            transaction_secs: 600,
        }
    }
}

/// Why a configuration is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// Not TOML, or not this file's fields.
    #[error("{0}")]
    Syntax(String),
    /// A value that cannot work.
    #[error("{0}")]
    Invalid(String),
}

impl ServeConfig {
    /// The embedded demonstration (`kmid serve` without `--config`): the defaults, with the
    /// verifier's API open on loopback.
    #[must_use]
    pub fn demo() -> Self {
        let mut config = Self::default();
        config.verifier.open_api = true;
        config
    }

    /// Reads and checks a configuration.
    ///
    /// # Errors
    /// [`ConfigError`].
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| ConfigError::Syntax(e.to_string()))?;
        config.check()?;
        Ok(config)
    }

    /// Checks what the types do not.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`].
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid = |what: &str| Err(ConfigError::Invalid(what.to_owned()));
        if self
            .database
            .as_deref()
            .is_some_and(|d| !(d.starts_with("postgres://") || d.starts_with("postgresql://")))
        {
            return invalid("database is a postgres:// URL");
        }
        if self.database_ca.is_some() && self.database.is_none() {
            return invalid("database_ca goes with database");
        }
        if let Some(url) = &self.server.public_url
            && kmid::oid4vc::request::https_host(url).is_none()
        {
            return invalid("server.public_url must be an https URL with a host");
        }
        if self.server.tls_certificate.is_some() != self.server.tls_key.is_some() {
            return invalid("server.tls_certificate and server.tls_key go together");
        }
        if self.server.request_timeout_secs == 0 || self.server.header_timeout_secs == 0 {
            return invalid("timeouts are at least a second");
        }
        if self.server.max_header_bytes < 1024 {
            return invalid("server.max_header_bytes is at least 1024");
        }
        for a in &self.issuer.authorities {
            if !matches!(a.as_str(), "mois" | "moj" | "oka") {
                return invalid("issuer.authorities are mois, moj, oka");
            }
        }
        for o in &self.issuer.officials {
            if o.authorities
                .iter()
                .any(|a| !matches!(a.as_str(), "mois" | "moj" | "oka"))
            {
                return invalid("an official's authorities are mois, moj, oka");
            }
            if o.name.trim().is_empty()
                || o.token_sha256.len() != 64
                || !o
                    .token_sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return invalid("an official has a name and token_sha256, 64 lowercase hex digits");
            }
        }
        if self.status.ttl_secs == 0 || self.status.poll_secs == 0 {
            return invalid("status.ttl_secs and status.poll_secs are at least 1");
        }
        // The tokens are valid a day: republishing less often than twice a day would let
        // them expire between publications.
        if self.status.republish_secs == 0 || self.status.republish_secs > 43_200 {
            return invalid("status.republish_secs is between 1 and 43200");
        }
        if self.verifier.enabled && self.verifier.api_keys.is_empty() && !self.verifier.open_api {
            return invalid(
                "verifier.api_keys is empty: give a key, or set verifier.open_api (loopback only)",
            );
        }
        // Behind a proxy every request comes from loopback: an open API would be open to
        // whoever reaches the proxy.
        if self.verifier.open_api
            && (!self.server.listen.ip().is_loopback() || self.server.plain_http)
        {
            return invalid("verifier.open_api only on a loopback address, and not behind a proxy");
        }
        if self.verifier.api_keys.iter().any(|k| k.len() < 16) {
            return invalid("verifier.api_keys are at least 16 characters");
        }
        if self.verifier.transaction_secs < 10 {
            return invalid("verifier.transaction_secs is at least 10");
        }
        Ok(())
    }

    /// `path` under the data directory unless absolute.
    #[must_use]
    pub fn path(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.data_dir.join(path)
        }
    }

    /// The public URL (`https://localhost:<port>` by default), for the port actually bound.
    #[must_use]
    pub fn public_url(&self, port: u16) -> String {
        self.server
            .public_url
            .clone()
            .unwrap_or_else(|| format!("https://localhost:{port}"))
            .trim_end_matches('/')
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn an_empty_file_is_the_demonstration_but_needs_the_open_api() {
        assert!(matches!(
            ServeConfig::from_toml(""),
            Err(ConfigError::Invalid(_))
        ));
        let config = ServeConfig::from_toml("[verifier]\nopen_api = true\n").unwrap();
        assert_eq!(config, ServeConfig::demo());
        assert_eq!(ServeConfig::demo().check(), Ok(()));
        assert_eq!(config.server.listen.port(), 8443);
        assert_eq!(config.public_url(8443), "https://localhost:8443");
        assert_eq!(
            config.path(Path::new("tls")),
            PathBuf::from("kmid-data/tls")
        );
    }

    #[test]
    fn what_is_refused() {
        for (text, reason) in [
            (
                "[server]\nlisten = \"127.0.0.1:1\"\ncolour = \"red\"",
                "colour",
            ),
            (
                "[server]\npublic_url = \"http://example.com\"",
                "public_url",
            ),
            ("[server]\ntls_key = \"k.pem\"", "tls_key go together"),
            (
                "database_ca = \"db-ca.pem\"",
                "database_ca goes with database",
            ),
            ("[server]\nrequest_timeout_secs = 0", "timeouts"),
            ("[issuer]\nauthorities = [\"nts\"]", "issuer.authorities"),
            (
                "[[issuer.officials]]\nname = \"kim\"\ntoken_sha256 = \"00\"",
                "token_sha256",
            ),
            (
                "[verifier]\nopen_api = true\n[server]\nlisten = \"0.0.0.0:8443\"",
                "open_api",
            ),
            (
                "[verifier]\nopen_api = true\n[server]\nplain_http = true",
                "open_api",
            ),
            (
                "[verifier]\nopen_api = true\n[status]\nrepublish_secs = 90000",
                "republish_secs",
            ),
            (
                "[verifier]\nopen_api = true\n[[issuer.officials]]\nname = \"kim\"\ntoken_sha256 = \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"\nauthorities = [\"nts\"]",
                "an official's authorities",
            ),
            ("[verifier]\napi_keys = [\"short\"]", "16 characters"),
            (
                "[verifier]\napi_keys = [\"0123456789abcdef\"]\ntransaction_secs = 1",
                "transaction_secs",
            ),
        ] {
            let refused = ServeConfig::from_toml(text).unwrap_err().to_string();
            assert!(refused.contains(reason), "{text}: {refused}");
        }
        let ok = ServeConfig::from_toml(
            "data_dir = \"/var/lib/kmid\"\n[server]\nlisten = \"0.0.0.0:443\"\npublic_url = \"https://id.example\"\ntls_certificate = \"tls.pem\"\ntls_key = \"tls.key\"\n[[issuer.officials]]\nname = \"kim\"\ntoken_sha256 = \"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\"\n[verifier]\napi_keys = [\"0123456789abcdef\"]\n",
        )
        .unwrap();
        assert_eq!(ok.public_url(443), "https://id.example");
        assert_eq!(
            ok.path(Path::new("tls.pem")),
            PathBuf::from("/var/lib/kmid/tls.pem")
        );
    }
}
