//! Server nonces that need no state until they are used: the Nonce Endpoint's `c_nonce`
//! (OpenID4VCI 1.0 §7) and the `DPoP-Nonce` (RFC 9449 §8). Each is 16 random bytes and an
//! expiry, authenticated with HMAC-SHA-256 under the issuer's nonce key and a label for its
//! use, so the unauthenticated Nonce Endpoint writes nothing to the store, every issuer process
//! sharing the key accepts them, and one kind cannot be passed off as the other. A `c_nonce` is
//! single use: the credential endpoint records it in the store when a proof spends it.

use kmid_crypto::jose::{b64url, b64url_decode};
use kmid_crypto::{CryptoProvider, Random};
use time::{Duration, OffsetDateTime};

use super::VciError;

/// How long a `c_nonce` is good for.
pub const C_NONCE_LIFETIME: Duration = Duration::minutes(5);
/// How long a DPoP nonce is good for (a client refreshes it on `use_dpop_nonce`).
pub const DPOP_NONCE_LIFETIME: Duration = Duration::minutes(10);

const RANDOM_BYTES: usize = 16;
const TAG_BYTES: usize = 16;
const NONCE_BYTES: usize = RANDOM_BYTES + 8 + TAG_BYTES;

/// What a nonce is for: part of what its tag covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceUse {
    /// The Nonce Endpoint's `c_nonce`, for key proofs and key attestations.
    CNonce,
    /// A DPoP nonce.
    Dpop,
}

impl NonceUse {
    const fn label(self) -> &'static [u8] {
        match self {
            Self::CNonce => b"kmid-c-nonce-v1\0",
            Self::Dpop => b"kmid-dpop-nonce-v1\0",
        }
    }
}

/// The issuer's nonce key (32 bytes; every process of one issuer shares it).
#[derive(Clone)]
pub struct NonceKey([u8; 32]);

impl core::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("NonceKey(..)")
    }
}

impl NonceKey {
    /// A key from its 32 bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A fresh key from `random`.
    ///
    /// # Errors
    /// The random source's failure.
    pub fn generate(random: &dyn Random) -> Result<Self, VciError> {
        let mut key = [0u8; 32];
        random.fill_secret(&mut key)?;
        Ok(Self(key))
    }

    fn tag(
        &self,
        provider: &CryptoProvider,
        purpose: NonceUse,
        body: &[u8],
    ) -> Result<[u8; 32], VciError> {
        let mut input = purpose.label().to_vec();
        input.extend_from_slice(body);
        Ok(provider.hmac_sha256(&self.0, &input)?)
    }

    /// A nonce for `purpose`, good until `at + lifetime`.
    ///
    /// # Errors
    /// The random source's or the MAC's failure.
    pub fn issue(
        &self,
        provider: &CryptoProvider,
        random: &dyn Random,
        purpose: NonceUse,
        at: OffsetDateTime,
        lifetime: Duration,
    ) -> Result<String, VciError> {
        let mut body = [0u8; RANDOM_BYTES + 8];
        let (rand, expiry) = body.split_at_mut(RANDOM_BYTES);
        random.fill(rand)?;
        expiry.copy_from_slice(&(at + lifetime).unix_timestamp().to_be_bytes());
        let tag = self.tag(provider, purpose, &body)?;
        let mut out = body.to_vec();
        out.extend_from_slice(tag.get(..TAG_BYTES).unwrap_or_default());
        Ok(b64url(&out))
    }

    /// Checks a nonce made by [`Self::issue`] for `purpose`: its tag, then its expiry; returns
    /// the expiry (until when a single-use record of it must be kept).
    ///
    /// # Errors
    /// [`VciError::InvalidNonce`]: not one of this issuer's nonces for that use, or expired.
    pub fn check(
        &self,
        provider: &CryptoProvider,
        purpose: NonceUse,
        nonce: &str,
        at: OffsetDateTime,
    ) -> Result<OffsetDateTime, VciError> {
        let bytes = (nonce.len() <= 2 * NONCE_BYTES)
            .then(|| b64url_decode(nonce).ok())
            .flatten()
            .filter(|b| b.len() == NONCE_BYTES)
            .ok_or(VciError::InvalidNonce("not a nonce of this issuer"))?;
        let (body, tag) = bytes.split_at(RANDOM_BYTES + 8);
        let expected = self.tag(provider, purpose, body)?;
        if !kmid_crypto::session::constant_time_eq(
            tag,
            expected.get(..TAG_BYTES).unwrap_or_default(),
        ) {
            return Err(VciError::InvalidNonce("not a nonce of this issuer"));
        }
        let mut expiry = [0u8; 8];
        expiry.copy_from_slice(body.get(RANDOM_BYTES..).unwrap_or_default());
        let expires = OffsetDateTime::from_unix_timestamp(i64::from_be_bytes(expiry))
            .map_err(|_| VciError::InvalidNonce("not a nonce of this issuer"))?;
        if expires <= at {
            return Err(VciError::InvalidNonce("expired"));
        }
        Ok(expires)
    }
}
