//! Trust anchors and chain validation at a given time, with a bounded cache of chains that
//! validated.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use time::OffsetDateTime;

use super::certificate::{Certificate, EKU_MDL_DS, EKU_MDL_READER_AUTH, EKU_MDL_VICAL_SIGNER};
use crate::error::{CertificateError, CryptoError};
use crate::key::PublicKey;
use crate::signature::{DefaultVerifier, SignatureVerifier};

/// What the leaf certificate of a chain must be good for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyPurpose {
    /// Signing mdoc MSOs (and, in this profile, SD-JWT VCs): EKU 1.0.18013.5.1.2.
    DocumentSigner,
    /// mdoc reader authentication: EKU 1.0.18013.5.1.6.
    ReaderAuthentication,
    /// Signing a VICAL: EKU 1.0.18013.5.1.8.
    VicalSigner,
    /// Signing JWTs for which no extended key usage is profiled — wallet and key attestations
    /// of a wallet provider, signed Credential Issuer Metadata (HAIP 1.0 §4 leaves the
    /// certificate profiles out of scope): the leaf needs `digitalSignature`, and the anchor,
    /// configured for that purpose alone, is what limits it.
    JwtSigner,
}

impl KeyPurpose {
    /// The extended key usage OID the leaf must carry, if the purpose has one.
    #[must_use]
    pub const fn eku(self) -> Option<&'static str> {
        match self {
            Self::DocumentSigner => Some(EKU_MDL_DS),
            Self::ReaderAuthentication => Some(EKU_MDL_READER_AUTH),
            Self::VicalSigner => Some(EKU_MDL_VICAL_SIGNER),
            Self::JwtSigner => None,
        }
    }

    /// The purpose's name in a chain cache key.
    const fn name(self) -> &'static str {
        match self {
            Self::DocumentSigner => "document-signer",
            Self::ReaderAuthentication => "reader-authentication",
            Self::VicalSigner => "vical-signer",
            Self::JwtSigner => "jwt-signer",
        }
    }
}

/// The default bound on chain length, trust anchor not counted.
pub const DEFAULT_MAX_CHAIN_LEN: usize = 4;

/// The default number of validated chains a [`TrustStore`] remembers.
pub const DEFAULT_CHAIN_CACHE: usize = 64;

/// A set of trust anchors: the IACA roots of the issuing authorities (or the reader roots a
/// wallet trusts), and the rules for validating a chain up to one of them.
///
/// A store remembers the chains that validated (at most [`DEFAULT_CHAIN_CACHE`], see
/// [`Self::with_chain_cache`]), keyed by the SHA-256 of their certificates' bytes and the
/// purpose, with the interval in which every certificate of the chain, root included, is
/// valid. A chain seen again within that interval is not re-verified: everything else a
/// validation checks depends only on the bytes and on the store, and changing the store
/// empties the cache. Clones share the cache until one of them changes.
#[derive(Clone)]
pub struct TrustStore {
    roots: Vec<Certificate>,
    /// Checks every certificate signature of a chain.
    verifier: Arc<dyn SignatureVerifier>,
    /// Hashes the chain cache's keys.
    provider: &'static crate::CryptoProvider,
    /// Certificate revocation, when configured.
    revocation: Option<Arc<Revocation>>,
    /// For each root, what it may vouch for (`None`: anything).
    scopes: Vec<Option<Vec<String>>>,
    /// For each root, its revocation policy when it differs from the store's (`Some(None)`:
    /// its chains are not checked).
    root_revocation: Vec<Option<Option<RevocationPolicy>>>,
    max_chain_len: usize,
    cache: Arc<ChainCache>,
}

/// A chain that validated.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ValidatedChain {
    /// The leaf certificate: the Document Signer (or the reader's certificate).
    pub leaf: Certificate,
    /// The leaf's public key: the key that signs documents (or reader requests).
    pub leaf_key: PublicKey,
    /// Index in the trust store of the root the chain ends at.
    pub root_index: usize,
    /// The chain positions whose revocation could not be checked, under a soft-fail
    /// [`RevocationPolicy`] (empty when every CRL was checked, or when no revocation source
    /// is configured).
    pub revocation_unknown: Vec<usize>,
}

/// Where CRLs come from: the caller's fetcher (HTTP, a file, a test's map), given a
/// certificate's CRL distribution point URI. kmid bounds what it reads ([`super::MAX_CRL_BYTES`]).
pub trait CrlSource: Send + Sync {
    /// The CRL served at `uri`, if it could be fetched.
    fn fetch(&self, uri: &str) -> Option<Vec<u8>>;
}

impl<F: Fn(&str) -> Option<Vec<u8>> + Send + Sync> CrlSource for F {
    fn fetch(&self, uri: &str) -> Option<Vec<u8>> {
        self(uri)
    }
}

/// What validation does when a certificate's revocation cannot be checked (its CRL cannot be
/// fetched, does not parse or verify under its issuer, or is stale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationPolicy {
    /// Refuse the chain ([`CertificateError::RevocationUnavailable`]): the default for issuers.
    HardFail,
    /// Accept it, naming the unchecked positions in [`ValidatedChain::revocation_unknown`].
    SoftFail,
}

/// The CRLs verified so far, by (distribution point, issuer name), each kept until its
/// `nextUpdate`.
struct Revocation {
    source: Arc<dyn CrlSource>,
    policy: RevocationPolicy,
    crls: Mutex<Vec<(String, Vec<u8>, super::Crl)>>,
}

/// The most CRLs kept (oldest dropped first).
const MAX_CACHED_CRLS: usize = 256;

/// Validated chains by key, most recently used first.
struct ChainCache {
    capacity: usize,
    entries: Mutex<VecDeque<CachedChain>>,
}

struct CachedChain {
    key: [u8; 32],
    chain: ValidatedChain,
    /// The latest notBefore and the earliest notAfter of the chain and its root.
    not_before: i64,
    not_after: i64,
}

impl core::fmt::Debug for ChainCache {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ChainCache")
            .field("capacity", &self.capacity)
            .field("len", &self.len())
            .finish()
    }
}

impl ChainCache {
    fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            capacity,
            entries: Mutex::new(VecDeque::new()),
        })
    }

    /// The entries. A panic elsewhere while the lock was held cannot leave them half-changed
    /// (each change is one `VecDeque` call), so a poisoned lock is taken over, not given up.
    fn entries(&self) -> MutexGuard<'_, VecDeque<CachedChain>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn len(&self) -> usize {
        self.entries().len()
    }

    /// The chain cached under `key` if every certificate of it is valid at `now`. An entry
    /// outside its window at `now` is dropped: the full validation that follows decides.
    fn get(&self, key: &[u8; 32], now: i64) -> Option<ValidatedChain> {
        if self.capacity == 0 {
            return None;
        }
        let mut entries = self.entries();
        let position = entries.iter().position(|e| e.key == *key)?;
        let entry = entries.remove(position)?;
        if !(entry.not_before <= now && now <= entry.not_after) {
            return None;
        }
        let hit = entry.chain.clone();
        entries.push_front(entry);
        Some(hit)
    }

    fn put(&self, key: [u8; 32], chain: &ValidatedChain, not_before: i64, not_after: i64) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.entries();
        entries.retain(|e| e.key != key);
        entries.truncate(self.capacity.saturating_sub(1));
        entries.push_front(CachedChain {
            key,
            chain: chain.clone(),
            not_before,
            not_after,
        });
    }
}

/// The cache key of a chain: SHA-256 over the purpose and each certificate's length and bytes.
fn cache_key<'a>(
    provider: &crate::CryptoProvider,
    ders: impl Iterator<Item = &'a [u8]>,
    purpose: KeyPurpose,
) -> [u8; 32] {
    let mut h = crate::HashAlgorithm::Sha256.hasher_on(provider);
    let eku = purpose.name().as_bytes();
    h.update(&u64::try_from(eku.len()).unwrap_or(u64::MAX).to_be_bytes());
    h.update(eku);
    for der in ders {
        h.update(&u64::try_from(der.len()).unwrap_or(u64::MAX).to_be_bytes());
        h.update(der);
    }
    let mut key = [0u8; 32];
    let digest = h.finish();
    let n = key.len().min(digest.len());
    if let (Some(k), Some(d)) = (key.get_mut(..n), digest.get(..n)) {
        k.copy_from_slice(d);
    }
    key
}

impl core::fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TrustStore")
            .field("roots", &self.roots)
            .field("scopes", &self.scopes)
            .field("max_chain_len", &self.max_chain_len)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

impl Default for TrustStore {
    fn default() -> Self {
        Self::new()
    }
}

impl TrustStore {
    /// An empty store with the default chain length bound.
    #[must_use]
    pub fn new() -> Self {
        Self::with_cache(DEFAULT_CHAIN_CACHE)
    }

    fn with_cache(capacity: usize) -> Self {
        Self {
            roots: Vec::new(),
            verifier: Arc::new(DefaultVerifier),
            provider: crate::CryptoProvider::get_default(),
            revocation: None,
            scopes: Vec::new(),
            root_revocation: Vec::new(),
            max_chain_len: DEFAULT_MAX_CHAIN_LEN,
            cache: ChainCache::new(capacity),
        }
    }

    /// Sets the longest chain accepted (trust anchor not counted).
    #[must_use]
    pub fn with_max_chain_len(mut self, max: usize) -> Self {
        self.max_chain_len = max;
        self.cache = ChainCache::new(self.cache.capacity);
        self
    }

    /// Checks certificate signatures with `verifier` (an HSM's, a FIPS module's, another
    /// backend's) instead of the default backend's. The cache starts empty.
    #[must_use]
    pub fn with_signature_verifier(mut self, verifier: Arc<dyn SignatureVerifier>) -> Self {
        self.verifier = verifier;
        self.cache = ChainCache::new(self.cache.capacity);
        self
    }

    /// Works on `provider`: certificate signatures (its signature verifier) and the chain
    /// cache's keys (its digests). The cache starts empty.
    #[must_use]
    pub fn with_provider(mut self, provider: &'static crate::CryptoProvider) -> Self {
        self.provider = provider;
        self.with_signature_verifier(Arc::new(*provider))
    }

    /// Checks every certificate of a chain below its trust anchor against its issuer's CRL
    /// (RFC 5280 §6.3, full CRLs from the certificate's CRL distribution point), fetched from
    /// `source`, verified under the issuer's key through this store's signature verifier, and
    /// kept until its `nextUpdate`; `policy` says what an unavailable CRL means. A certificate
    /// without a distribution point is not checked. Validated chains are then not cached (their
    /// revocation is checked every time, from the cached CRLs).
    #[must_use]
    pub fn with_revocation(mut self, source: Arc<dyn CrlSource>, policy: RevocationPolicy) -> Self {
        self.revocation = Some(Arc::new(Revocation {
            source,
            policy,
            crls: Mutex::new(Vec::new()),
        }));
        self
    }

    /// Drops every cached CRL (shared by this store's clones), so the next validation fetches
    /// them again: for a relying party told that a CRL changed before its `nextUpdate`.
    pub fn forget_crls(&self) {
        if let Some(revocation) = &self.revocation {
            revocation
                .crls
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
    }

    /// Sets the revocation policy of the chains that end at `root` (already added), instead of
    /// the store's: `None` leaves them unchecked (an anchor whose authority publishes no CRL).
    /// It takes effect with [`Self::with_revocation`].
    ///
    /// # Errors
    /// [`CertificateError::UntrustedRoot`] for a root not in the store.
    pub fn set_root_revocation(
        &mut self,
        root: &Certificate,
        policy: Option<RevocationPolicy>,
    ) -> Result<(), CryptoError> {
        let index = self
            .roots
            .iter()
            .position(|r| r == root)
            .ok_or(CertificateError::UntrustedRoot)?;
        if let Some(slot) = self.root_revocation.get_mut(index) {
            *slot = Some(policy);
        }
        Ok(())
    }

    /// Remembers at most `capacity` validated chains (0: none, every chain is validated in
    /// full every time). The cache starts empty.
    #[must_use]
    pub fn with_chain_cache(mut self, capacity: usize) -> Self {
        self.cache = ChainCache::new(capacity);
        self
    }

    /// How many validated chains are cached now.
    #[must_use]
    pub fn cached_chains(&self) -> usize {
        self.cache.len()
    }

    /// The longest chain accepted (trust anchor not counted).
    #[must_use]
    pub const fn max_chain_len(&self) -> usize {
        self.max_chain_len
    }

    /// Adds a trust anchor that may vouch for anything. It must be a CA certificate allowed
    /// to sign certificates.
    ///
    /// # Errors
    /// [`CertificateError::NotCa`] or [`CertificateError::KeyUsage`] (index 0).
    pub fn add(&mut self, root: Certificate) -> Result<(), CryptoError> {
        self.insert(root, None)
    }

    /// Adds a trust anchor that vouches only for `scopes` — for an IACA, the document types
    /// its authority issues (`kr.go.mois.rrc.1`), so that one ministry's Document Signer cannot
    /// sign another's card. A root added again with other scopes vouches for the union of
    /// them (one root for two authorities); never silently only the last.
    ///
    /// # Errors
    /// As [`Self::add`]; [`CertificateError::ScopeConflict`] for a root already added for
    /// anything (and, with [`Self::add`], for a root already added with scopes).
    pub fn add_scoped(
        &mut self,
        root: Certificate,
        scopes: Vec<String>,
    ) -> Result<(), CryptoError> {
        self.insert(root, Some(scopes))
    }

    /// Whether the root at `root_index` may vouch for `scope`.
    #[must_use]
    pub fn allows(&self, root_index: usize, scope: &str) -> bool {
        match self.scopes.get(root_index) {
            Some(None) => true,
            Some(Some(scopes)) => scopes.iter().any(|s| s == scope),
            None => false,
        }
    }

    fn insert(
        &mut self,
        root: Certificate,
        scopes: Option<Vec<String>>,
    ) -> Result<(), CryptoError> {
        if !root.is_ca() {
            return Err(CertificateError::NotCa { index: 0 }.into());
        }
        if root.key_usage().is_some_and(|ku| !ku.key_cert_sign) {
            return Err(CertificateError::KeyUsage {
                index: 0,
                missing: "keyCertSign",
            }
            .into());
        }
        match self.roots.iter().position(|r| *r == root) {
            Some(i) => match (self.scopes.get_mut(i), scopes) {
                (Some(Some(held)), Some(more)) => {
                    for scope in more {
                        if !held.contains(&scope) {
                            held.push(scope);
                        }
                    }
                }
                (Some(None), None) => {}
                _ => return Err(CertificateError::ScopeConflict.into()),
            },
            None => {
                self.roots.push(root);
                self.scopes.push(scopes);
                self.root_revocation.push(None);
            }
        }
        self.cache = ChainCache::new(self.cache.capacity);
        Ok(())
    }

    /// The trust anchors.
    #[must_use]
    pub fn roots(&self) -> &[Certificate] {
        &self.roots
    }

    /// Validates `chain` (leaf first, then intermediates; the trust anchor may be appended or
    /// left out, as RFC 9360 `x5chain` and RFC 7515 `x5c` allow) at time `at`, for `purpose`.
    ///
    /// Checks, each with its own error: chain length; every certificate's validity period at
    /// `at` (the root's included); names chain; every signature under its issuer's key; every
    /// issuer a CA with `keyCertSign` and a path length that allows the chain; the leaf's
    /// `digitalSignature` key usage and the purpose's extended key usage; no unknown critical
    /// extension and no duplicate extension anywhere.
    ///
    /// A chain that validated before, byte for byte and for the same purpose, is taken from
    /// the cache when every one of its certificates is valid at `at`.
    ///
    /// # Errors
    /// [`CryptoError::Certificate`] naming the failed check.
    pub fn validate(
        &self,
        chain: &[Certificate],
        at: OffsetDateTime,
        purpose: KeyPurpose,
    ) -> Result<ValidatedChain, CryptoError> {
        let key = cache_key(self.provider, chain.iter().map(Certificate::der), purpose);
        if self.revocation.is_none()
            && let Some(hit) = self.cache.get(&key, at.unix_timestamp())
        {
            return Ok(hit);
        }
        self.validate_and_remember(key, chain, at, purpose)
    }

    /// As [`Self::validate`], from the certificates' DER as received (an `x5chain` or the
    /// decoded `x5c`): a cached chain is neither parsed nor verified again.
    ///
    /// # Errors
    /// [`CertificateError::ChainTooLong`] before parsing when there are more certificates
    /// than the longest chain and its anchor; a certificate that does not parse; as
    /// [`Self::validate`].
    pub fn validate_der(
        &self,
        ders: &[&[u8]],
        at: OffsetDateTime,
        purpose: KeyPurpose,
    ) -> Result<ValidatedChain, CryptoError> {
        if ders.len() > self.max_chain_len.saturating_add(1) {
            return Err(CertificateError::ChainTooLong {
                length: ders.len(),
                max: self.max_chain_len,
            }
            .into());
        }
        let key = cache_key(self.provider, ders.iter().copied(), purpose);
        if self.revocation.is_none()
            && let Some(hit) = self.cache.get(&key, at.unix_timestamp())
        {
            return Ok(hit);
        }
        let chain = ders
            .iter()
            .map(|der| Certificate::from_der(der))
            .collect::<Result<Vec<_>, _>>()?;
        self.validate_and_remember(key, &chain, at, purpose)
    }

    fn validate_and_remember(
        &self,
        key: [u8; 32],
        chain: &[Certificate],
        at: OffsetDateTime,
        purpose: KeyPurpose,
    ) -> Result<ValidatedChain, CryptoError> {
        let validated = self.validate_uncached(chain, at, purpose)?;
        if self.revocation.is_some() {
            return Ok(validated);
        }
        // When several roots carry the name the chain's top names as its issuer (a re-issued
        // root), which one validates can depend on the time; the answer is then not cached,
        // so a hit never names another root (and scope) than a full validation would.
        let ambiguous = chain.last().is_some_and(|top| {
            self.roots
                .iter()
                .filter(|root| top.issued_by_name(root))
                .nth(1)
                .is_some()
        });
        if ambiguous {
            return Ok(validated);
        }
        let root = self.roots.get(validated.root_index);
        let not_before = chain.iter().chain(root).map(Certificate::not_before).max();
        let not_after = chain.iter().chain(root).map(Certificate::not_after).min();
        if let (Some(not_before), Some(not_after)) = (not_before, not_after) {
            self.cache.put(key, &validated, not_before, not_after);
        }
        Ok(validated)
    }

    fn validate_uncached(
        &self,
        chain: &[Certificate],
        at: OffsetDateTime,
        purpose: KeyPurpose,
    ) -> Result<ValidatedChain, CryptoError> {
        let now = at.unix_timestamp();
        let (leaf, _) = chain.split_first().ok_or(CertificateError::EmptyChain)?;
        // The leaf is an end entity: never a CA, so never a trust anchor on its own.
        if leaf.is_ca() {
            return Err(CertificateError::LeafIsCa.into());
        }
        // A trust anchor at the end of the chain stands for itself.
        let anchored = chain
            .last()
            .and_then(|last| self.roots.iter().position(|r| r == last));
        let path: &[Certificate] = match anchored {
            Some(_) if chain.len() > 1 => {
                chain.get(..chain.len().saturating_sub(1)).unwrap_or(chain)
            }
            _ => chain,
        };
        if path.len() > self.max_chain_len {
            return Err(CertificateError::ChainTooLong {
                length: path.len(),
                max: self.max_chain_len,
            }
            .into());
        }
        for (index, cert) in path.iter().enumerate() {
            check_certificate(cert, index, now)?;
        }
        match leaf.key_usage() {
            Some(ku) if ku.digital_signature => {}
            _ => {
                return Err(CertificateError::KeyUsage {
                    index: 0,
                    missing: "digitalSignature",
                }
                .into());
            }
        }
        if let Some(required) = purpose.eku()
            && !leaf
                .extended_key_usage()
                .is_some_and(|ekus| ekus.iter().any(|e| e == required))
        {
            return Err(CertificateError::ExtendedKeyUsage { required }.into());
        }
        for (index, pair) in path.windows(2).enumerate() {
            if let [child, issuer] = pair {
                check_link(
                    child,
                    index,
                    issuer,
                    index.saturating_add(1),
                    &*self.verifier,
                )?;
            }
        }
        let top_index = path.len().saturating_sub(1);
        let top = path.last().ok_or(CertificateError::EmptyChain)?;
        let root_index = match anchored {
            Some(root_index) if chain.len() > path.len() => {
                let root = self
                    .roots
                    .get(root_index)
                    .ok_or(CertificateError::UntrustedRoot)?;
                check_certificate(root, path.len(), now)?;
                check_link(top, top_index, root, path.len(), &*self.verifier)?;
                root_index
            }
            _ => self.find_root(top, top_index, now)?,
        };
        let revocation_unknown = match &self.revocation {
            Some(revocation) => {
                let root = self
                    .roots
                    .get(root_index)
                    .ok_or(CertificateError::UntrustedRoot)?;
                match self.root_revocation.get(root_index).copied().flatten() {
                    Some(None) => Vec::new(),
                    Some(Some(policy)) => {
                        self.check_revocation(revocation, policy, path, root, now)?
                    }
                    None => {
                        self.check_revocation(revocation, revocation.policy, path, root, now)?
                    }
                }
            }
            None => Vec::new(),
        };
        Ok(ValidatedChain {
            leaf: leaf.clone(),
            leaf_key: leaf.public_key().clone(),
            root_index,
            revocation_unknown,
        })
    }

    /// Checks each certificate of `path` against its issuer's CRL; returns the positions left
    /// unchecked under a soft-fail policy.
    fn check_revocation(
        &self,
        revocation: &Revocation,
        policy: RevocationPolicy,
        path: &[Certificate],
        root: &Certificate,
        now: i64,
    ) -> Result<Vec<usize>, CryptoError> {
        let mut unknown = Vec::new();
        for (index, cert) in path.iter().enumerate() {
            let Some(uri) = cert.crl_uri() else {
                continue;
            };
            let issuer = path.get(index.saturating_add(1)).unwrap_or(root);
            match self.current_crl(revocation, uri, issuer, now) {
                Ok(crl) if crl.revokes(cert) => {
                    return Err(CertificateError::Revoked { index }.into());
                }
                Ok(_) => {}
                Err(why) => match policy {
                    RevocationPolicy::HardFail => {
                        return Err(CertificateError::RevocationUnavailable { index, why }.into());
                    }
                    RevocationPolicy::SoftFail => unknown.push(index),
                },
            }
        }
        Ok(unknown)
    }

    /// The CRL at `uri` for `issuer`, current at `now`: from the cache, else fetched, parsed
    /// and verified (and cached).
    fn current_crl(
        &self,
        revocation: &Revocation,
        uri: &str,
        issuer: &Certificate,
        now: i64,
    ) -> Result<super::Crl, &'static str> {
        let lock = || {
            revocation
                .crls
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        };
        {
            let mut crls = lock();
            crls.retain(|(_, _, crl)| crl.current_at(now));
            if let Some((_, _, crl)) = crls
                .iter()
                .find(|(u, name, _)| u == uri && name.as_slice() == issuer.subject_der())
            {
                return Ok(crl.clone());
            }
        }
        // Fetched without the lock: a slow CRL server holds up no other validation.
        let bytes = revocation
            .source
            .fetch(uri)
            .ok_or("the CRL cannot be fetched")?;
        let crl = super::Crl::from_der(&bytes).map_err(|_| "the CRL does not parse")?;
        crl.verify(issuer, &*self.verifier)
            .map_err(|_| "the CRL is not its issuer's")?;
        if !crl.current_at(now) {
            return Err("the CRL is not current (thisUpdate/nextUpdate)");
        }
        let mut crls = lock();
        crls.retain(|(u, name, _)| !(u == uri && name.as_slice() == issuer.subject_der()));
        if crls.len() >= MAX_CACHED_CRLS {
            crls.remove(0);
        }
        crls.push((uri.to_owned(), issuer.subject_der().to_vec(), crl.clone()));
        Ok(crl)
    }

    /// Finds the trust anchor that issued `top` and checks it as an issuer.
    fn find_root(
        &self,
        top: &Certificate,
        top_index: usize,
        now: i64,
    ) -> Result<usize, CryptoError> {
        let root_pos = top_index.saturating_add(1);
        // Every root whose name fits is tried (a re-issued root may share its name and key);
        // the last failure is reported when none succeeds.
        let mut last_error = None;
        for (i, root) in self.roots.iter().enumerate() {
            if !top.issued_by_name(root) {
                continue;
            }
            let outcome = top
                .signature_verifies(root, top_index, &*self.verifier)
                .and_then(|ok| {
                    if !ok {
                        return Err(CertificateError::BadSignature { index: top_index }.into());
                    }
                    check_certificate(root, root_pos, now)?;
                    check_issuer(root, root_pos, top_index)
                });
            match outcome {
                Ok(()) => return Ok(i),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| CertificateError::UntrustedRoot.into()))
    }
}

/// Checks what a single certificate must satisfy wherever it stands.
fn check_certificate(cert: &Certificate, index: usize, now: i64) -> Result<(), CryptoError> {
    if now < cert.not_before() {
        return Err(CertificateError::NotYetValid {
            index,
            not_before: cert.not_before(),
        }
        .into());
    }
    if now > cert.not_after() {
        return Err(CertificateError::Expired {
            index,
            not_after: cert.not_after(),
        }
        .into());
    }
    if let Some(oid) = &cert.extensions.unknown_critical {
        return Err(CertificateError::UnsupportedCriticalExtension {
            index,
            oid: oid.clone(),
        }
        .into());
    }
    if let Some(oid) = &cert.extensions.duplicate {
        return Err(CertificateError::DuplicateExtension {
            index,
            oid: oid.clone(),
        }
        .into());
    }
    Ok(())
}

/// Checks that `issuer` may issue a certificate with `below` intermediate CAs under it.
fn check_issuer(issuer: &Certificate, index: usize, below: usize) -> Result<(), CryptoError> {
    let Some((true, path_len)) = issuer.extensions.basic_constraints else {
        return Err(CertificateError::NotCa { index }.into());
    };
    if issuer.key_usage().is_some_and(|ku| !ku.key_cert_sign) {
        return Err(CertificateError::KeyUsage {
            index,
            missing: "keyCertSign",
        }
        .into());
    }
    // `below` counts the certificates under the issuer that are not the leaf.
    if path_len.is_some_and(|max| u64::from(max) < u64::try_from(below).unwrap_or(u64::MAX)) {
        return Err(CertificateError::PathLenExceeded { index }.into());
    }
    Ok(())
}

fn check_link(
    child: &Certificate,
    child_index: usize,
    issuer: &Certificate,
    index: usize,
    verifier: &dyn SignatureVerifier,
) -> Result<(), CryptoError> {
    if !child.issued_by_name(issuer) {
        return Err(CertificateError::IssuerMismatch { index: child_index }.into());
    }
    check_issuer(issuer, index, child_index)?;
    if !child.signature_verifies(issuer, child_index, verifier)? {
        return Err(CertificateError::BadSignature { index: child_index }.into());
    }
    Ok(())
}
