//! The verifier's [`StatusResolver`]: fetches Status List Tokens through a caller-supplied
//! fetcher (no HTTP client in the library), verifies them, caches them for their `ttl`, and
//! reads the entry a credential points to.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use kmid_schema::status::{
    FetchFailure, StatusContext, StatusError, StatusReference, StatusResolver, StatusTokenForm,
    TokenRefusal, TokenStatus,
};
use time::OffsetDateTime;

use crate::error::StatusListError;
use crate::token::{TokenKeys, TokenPolicy, VerifiedStatusList, verify_token};

/// Fetches the Status List Token published at a URI: an HTTP GET with the given `Accept`
/// value (status list section 8.1), a file, a cache ….
pub trait StatusListFetcher: Send + Sync {
    /// The token bytes at `uri` in one of the media types `accept` lists, or why they cannot
    /// be had (kept in the verification result).
    ///
    /// # Errors
    /// The [`FetchFailure`].
    fn fetch(&self, uri: &str, accept: &str) -> Result<Vec<u8>, FetchFailure>;
}

/// A closure that has the bytes or not ([`FetchFailure::NotAvailable`]).
impl<F: Fn(&str, &str) -> Option<Vec<u8>> + Send + Sync> StatusListFetcher for F {
    fn fetch(&self, uri: &str, accept: &str) -> Result<Vec<u8>, FetchFailure> {
        self(uri, accept).ok_or(FetchFailure::NotAvailable)
    }
}

/// How long a token without `ttl` is cached, in seconds.
pub const DEFAULT_TTL: u64 = 300;

/// How many tokens the resolver keeps; beyond it the oldest fetch is dropped.
pub const MAX_CACHED_LISTS: usize = 256;

struct Cached {
    fetched_at: i64,
    token: VerifiedStatusList,
}

impl Cached {
    fn fresh(&self, now: i64, max_ttl: u64) -> bool {
        let ttl = i64::try_from(self.token.claims.ttl.unwrap_or(DEFAULT_TTL).min(max_ttl))
            .unwrap_or(i64::MAX);
        now >= self.fetched_at
            && now < self.fetched_at.saturating_add(ttl)
            && self.token.claims.exp.is_none_or(|exp| now < exp)
    }
}

/// A [`StatusResolver`] over Status List Tokens.
pub struct StatusListResolver<F> {
    fetcher: F,
    keys: TokenKeys,
    policy: TokenPolicy,
    cache: Mutex<HashMap<(String, StatusTokenForm), Cached>>,
}

impl<F> core::fmt::Debug for StatusListResolver<F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StatusListResolver")
            .field("keys", &self.keys)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<F: StatusListFetcher> StatusListResolver<F> {
    /// A resolver fetching with `fetcher`, trusting `keys`, applying `policy`.
    pub fn new(fetcher: F, keys: TokenKeys, policy: TokenPolicy) -> Self {
        Self {
            fetcher,
            keys,
            policy,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets every cached token.
    pub fn clear_cache(&self) {
        self.cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Reads the entry from `token`, after checking the token suits the credential.
    fn read(
        reference: &StatusReference,
        context: &StatusContext<'_>,
        token: &VerifiedStatusList,
    ) -> Result<u8, StatusError> {
        let uri = &reference.uri;
        if !context.form.accepts(token.form) {
            return Err(StatusError::InvalidToken {
                uri: uri.clone(),
                reason: TokenRefusal::FormNotAccepted,
            });
        }
        // The list must come from the credential's own issuer: its signer certified by the
        // same IACA as the credential's (a list signed under another authority's root speaks
        // for none of this issuer's credentials).
        match (context.issuer_anchor, token.signer_anchor.as_deref()) {
            (Some(want), Some(got)) if want != got => {
                return Err(StatusError::InvalidToken {
                    uri: uri.clone(),
                    reason: TokenRefusal::AnotherTrustAnchor,
                });
            }
            // Fail closed: a configured key (no chain) cannot speak for a credential that
            // chains to a trust anchor.
            (Some(_), None) => {
                return Err(StatusError::InvalidToken {
                    uri: uri.clone(),
                    reason: TokenRefusal::SignerNotAnchored,
                });
            }
            _ => {}
        }
        token
            .list
            .get(reference.idx)
            .map_err(|_| StatusError::IndexOutOfRange {
                uri: uri.clone(),
                idx: reference.idx,
                size: token.list.len(),
            })
    }

    fn lookup(
        &self,
        reference: &StatusReference,
        context: &StatusContext<'_>,
        at: OffsetDateTime,
    ) -> Result<u8, StatusError> {
        let uri = &reference.uri;
        let now = at.unix_timestamp();
        {
            let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            let forms: &[StatusTokenForm] = match context.form {
                StatusTokenForm::Any => &[StatusTokenForm::Jwt, StatusTokenForm::Cwt],
                StatusTokenForm::Jwt => &[StatusTokenForm::Jwt],
                StatusTokenForm::Cwt => &[StatusTokenForm::Cwt],
            };
            for form in forms {
                if let Some(c) = cache.get(&(uri.clone(), *form))
                    && c.fresh(now, self.policy.max_ttl)
                {
                    return Self::read(reference, context, &c.token);
                }
            }
        }
        // Fetch and verify without holding the lock: other lists stay readable meanwhile.
        let bytes = self
            .fetcher
            .fetch(uri, context.form.accept())
            .map_err(|reason| StatusError::Unavailable {
                uri: uri.clone(),
                reason,
            })?;
        let token = verify_token(&bytes, uri, at, &self.keys, &self.policy).map_err(
            |e: StatusListError| StatusError::InvalidToken {
                uri: uri.clone(),
                reason: e.token_refusal(),
            },
        )?;
        let value = Self::read(reference, context, &token);
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (uri.clone(), token.form);
        if cache.len() >= MAX_CACHED_LISTS && !cache.contains_key(&key) {
            let oldest = cache
                .iter()
                .min_by_key(|(_, c)| c.fetched_at)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                cache.remove(&oldest);
            }
        }
        cache.insert(
            key,
            Cached {
                fetched_at: now,
                token,
            },
        );
        value
    }
}

impl<F: StatusListFetcher> StatusResolver for StatusListResolver<F> {
    fn resolve(
        &self,
        reference: &StatusReference,
        context: &StatusContext<'_>,
        at: OffsetDateTime,
    ) -> Result<TokenStatus, StatusError> {
        self.lookup(reference, context, at)
            .map(TokenStatus::from_value)
    }
}
