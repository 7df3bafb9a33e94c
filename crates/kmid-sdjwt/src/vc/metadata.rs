//! JWT VC Issuer Metadata (SD-JWT VC draft, "JWT VC Issuer Metadata"): the issuer's keys
//! found from its `iss` at `/.well-known/jwt-vc-issuer`, through the caller's fetcher (which
//! owns HTTP: HTTPS only, redirects, timeouts, SSRF rules), each document bounded in size and
//! kept for its HTTP freshness lifetime.

use std::sync::{Mutex, PoisonError};

use kmid_crypto::{Jwk, PublicKey};
use serde::Deserialize;
use time::OffsetDateTime;

/// A document the fetcher retrieved: its body and its freshness lifetime in seconds
/// (`Cache-Control: max-age`), when the response gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The response content (a successful response's only: never an error page).
    pub body: Vec<u8>,
    /// `max-age`, if any; without it the document is not reused.
    pub max_age: Option<u64>,
}

/// Retrieves a document over HTTPS (the caller's HTTP client).
pub trait MetadataFetcher: Send + Sync {
    /// The document at `url`, if it could be retrieved.
    fn get(&self, url: &str) -> Option<Fetched>;
}

impl<F: Fn(&str) -> Option<Fetched> + Send + Sync> MetadataFetcher for F {
    fn get(&self, url: &str) -> Option<Fetched> {
        self(url)
    }
}

/// Why an issuer's metadata gave no key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// `iss` is not one of the issuers this verifier resolves by metadata (policy).
    #[error("the issuer is not allowed to be resolved by metadata")]
    NotAllowed,
    /// `iss` is not an HTTPS URL with a host and no query or fragment.
    #[error("iss is not an https URL without query or fragment")]
    NotHttps,
    /// A document could not be retrieved.
    #[error("a metadata document could not be retrieved")]
    Unavailable,
    /// A document is larger than the limit.
    #[error("a metadata document is too large")]
    TooLarge,
    /// A document is not the JSON it must be.
    #[error("a metadata document is malformed")]
    Malformed,
    /// `issuer` is not identical to `iss`.
    #[error("the metadata's issuer is not the credential's iss")]
    IssuerMismatch,
    /// Both or neither of `jwks` and `jwks_uri`.
    #[error("the metadata must carry exactly one of jwks and jwks_uri")]
    JwksChoice,
    /// No usable public key for the header's `kid` (or, without a `kid`, not exactly one key).
    #[error("no key in the issuer's JWK Set for this kid")]
    NoKey,
}

impl MetadataError {
    /// The variant's name, for error codes.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::NotAllowed => "NotAllowed",
            Self::NotHttps => "NotHttps",
            Self::Unavailable => "Unavailable",
            Self::TooLarge => "TooLarge",
            Self::Malformed => "Malformed",
            Self::IssuerMismatch => "IssuerMismatch",
            Self::JwksChoice => "JwksChoice",
            Self::NoKey => "NoKey",
        }
    }
}

/// The largest metadata or JWK Set document read.
pub const MAX_METADATA_BYTES: usize = 64 * 1024;
/// The longest a resolved key set is reused, whatever `max-age` says.
pub const MAX_METADATA_AGE: u64 = 86_400;
/// The most issuers whose keys are kept.
const MAX_CACHED_ISSUERS: usize = 128;

type Keys = Vec<(Option<String>, PublicKey)>;

/// Resolves issuer keys by JWT VC Issuer Metadata, for the issuers a verifier's policy allows.
pub struct IssuerMetadataResolver {
    fetcher: Box<dyn MetadataFetcher>,
    allowed: Vec<String>,
    cache: Mutex<Vec<(String, Keys, i64)>>,
}

impl core::fmt::Debug for IssuerMetadataResolver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IssuerMetadataResolver")
            .field("allowed", &self.allowed)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Metadata {
    issuer: String,
    #[serde(default)]
    jwks: Option<JwkSet>,
    #[serde(default)]
    jwks_uri: Option<String>,
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

/// The metadata URL of `iss`: `/.well-known/jwt-vc-issuer` between the authority and the
/// path (a terminating `/` removed).
///
/// # Errors
/// [`MetadataError::NotHttps`].
pub fn metadata_url(iss: &str) -> Result<String, MetadataError> {
    let rest = iss
        .strip_prefix("https://")
        .ok_or(MetadataError::NotHttps)?;
    if rest.contains(['?', '#']) {
        return Err(MetadataError::NotHttps);
    }
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    if authority.is_empty() || authority.contains(['@', ' ']) {
        return Err(MetadataError::NotHttps);
    }
    Ok(format!(
        "https://{authority}/.well-known/jwt-vc-issuer{}",
        path.trim_end_matches('/')
    ))
}

impl IssuerMetadataResolver {
    /// A resolver fetching with `fetcher`, for the issuers in `allowed` (exact `iss` values:
    /// the verifier's policy of who may be trusted this way).
    pub fn new(fetcher: impl MetadataFetcher + 'static, allowed: Vec<String>) -> Self {
        Self {
            fetcher: Box::new(fetcher),
            allowed,
            cache: Mutex::new(Vec::new()),
        }
    }

    /// The key of `iss` for the header's `kid`, at `at`.
    ///
    /// # Errors
    /// [`MetadataError`] naming what failed.
    pub fn key(
        &self,
        iss: &str,
        kid: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<PublicKey, MetadataError> {
        if !self.allowed.iter().any(|a| a == iss) {
            return Err(MetadataError::NotAllowed);
        }
        let now = at.unix_timestamp();
        let keys = {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            cache.retain(|(_, _, until)| now < *until);
            cache
                .iter()
                .find(|(i, _, _)| i == iss)
                .map(|(_, keys, _)| keys.clone())
        };
        let keys = match keys {
            Some(keys) => keys,
            None => {
                let (keys, max_age) = self.resolve(iss)?;
                if let Some(age) = max_age.filter(|a| *a > 0) {
                    let until = now.saturating_add(
                        i64::try_from(age.min(MAX_METADATA_AGE)).unwrap_or(i64::MAX),
                    );
                    let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
                    if cache.len() >= MAX_CACHED_ISSUERS {
                        cache.remove(0);
                    }
                    cache.push((iss.to_owned(), keys.clone(), until));
                }
                keys
            }
        };
        let mut matching = keys.iter().filter(|(k, _)| match kid {
            Some(kid) => k.as_deref() == Some(kid),
            None => true,
        });
        match (matching.next(), matching.next()) {
            (Some((_, key)), None) => Ok(key.clone()),
            _ => Err(MetadataError::NoKey),
        }
    }

    /// Fetches and checks the metadata (and its JWK Set); the keys and the shorter lifetime.
    fn resolve(&self, iss: &str) -> Result<(Keys, Option<u64>), MetadataError> {
        let document = self.fetch(&metadata_url(iss)?)?;
        let metadata: Metadata =
            serde_json::from_slice(&document.body).map_err(|_| MetadataError::Malformed)?;
        if metadata.issuer != iss {
            return Err(MetadataError::IssuerMismatch);
        }
        let (set, max_age) = match (metadata.jwks, metadata.jwks_uri) {
            (Some(set), None) => (set, document.max_age),
            (None, Some(uri)) => {
                if !uri.starts_with("https://") {
                    return Err(MetadataError::NotHttps);
                }
                let fetched = self.fetch(&uri)?;
                let set: JwkSet =
                    serde_json::from_slice(&fetched.body).map_err(|_| MetadataError::Malformed)?;
                let age = match (document.max_age, fetched.max_age) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    _ => None,
                };
                (set, age)
            }
            _ => return Err(MetadataError::JwksChoice),
        };
        let mut keys = Vec::with_capacity(set.keys.len());
        for jwk in set.keys {
            // A private key in a published set is a publisher's mistake: its public half still
            // verifies, but nothing of `d` is kept.
            if let Ok(key) = jwk.to_public_key() {
                keys.push((jwk.kid.clone(), key));
            }
        }
        if keys.is_empty() {
            return Err(MetadataError::NoKey);
        }
        Ok((keys, max_age))
    }

    fn fetch(&self, url: &str) -> Result<Fetched, MetadataError> {
        let fetched = self.fetcher.get(url).ok_or(MetadataError::Unavailable)?;
        if fetched.body.len() > MAX_METADATA_BYTES {
            return Err(MetadataError::TooLarge);
        }
        Ok(fetched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_well_known_url_goes_between_host_and_path() {
        assert_eq!(
            metadata_url("https://example.com").unwrap(),
            "https://example.com/.well-known/jwt-vc-issuer"
        );
        assert_eq!(
            metadata_url("https://example.com/tenant/1234/").unwrap(),
            "https://example.com/.well-known/jwt-vc-issuer/tenant/1234"
        );
        assert_eq!(
            metadata_url("https://example.com:8443/t").unwrap(),
            "https://example.com:8443/.well-known/jwt-vc-issuer/t"
        );
        for bad in [
            "http://example.com",
            "https://example.com/?q=1",
            "https://example.com/#f",
            "https:///path",
            "https://user@example.com",
        ] {
            assert_eq!(metadata_url(bad), Err(MetadataError::NotHttps), "{bad}");
        }
    }
}
