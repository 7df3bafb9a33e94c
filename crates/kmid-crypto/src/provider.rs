//! The crypto provider: every primitive this workspace uses, as one struct of trait objects
//! (the model is `rustls::crypto::CryptoProvider`). Certificates, COSE, JOSE, digests,
//! sessions and randomness go through a provider; the code above it names no crypto library.
//!
//! A provider is a plain struct of `&'static dyn` tables, so a caller can assemble one from
//! parts (an HSM's signature verification with a software provider's digests, say).
//! [`CryptoProvider::get_default`] is the process's default, which the functions that take no
//! provider ([`crate::HashAlgorithm::digest`], [`crate::session`], [`crate::SystemRandom`],
//! [`crate::DefaultVerifier`]) use.
//!
//! Two implementations ship as modules behind features, as rustls ships its own: aws-lc-rs
//! (`aws-lc`, the default) and OpenSSL (`openssl`); they are the only modules that name a
//! crypto library. `spec/providers.md` says which is chosen when, and why.

use zeroize::Zeroizing;

use crate::digest::HashAlgorithm;
use crate::error::CryptoError;
use crate::key::{KeyProvider, PrivateKey, PublicKey};
use crate::random::Random;
use crate::signature::SignatureVerifier;

/// An incremental hash computation.
pub trait HashContext: Send + Sync {
    /// Feeds `data`.
    fn update(&mut self, data: &[u8]);
    /// The digest of everything fed.
    fn finish(self: Box<Self>) -> Vec<u8>;
    /// A copy of the state, to hash a common prefix once for two purposes.
    fn box_clone(&self) -> Box<dyn HashContext>;
}

/// The hash functions (SHA-256, SHA-384, SHA-512).
pub trait Digests: Send + Sync {
    /// A fresh context for `algorithm`.
    fn start(&self, algorithm: HashAlgorithm) -> Box<dyn HashContext>;
}

/// HMAC (RFC 2104).
pub trait Mac: Send + Sync {
    /// HMAC-SHA-256 of `data` under `key`.
    ///
    /// # Errors
    /// Only backend failures.
    fn hmac_sha256(&self, key: &[u8], data: &[u8]) -> Result<[u8; 32], CryptoError>;
}

/// Key derivation.
pub trait Kdf: Send + Sync {
    /// HKDF-SHA-256 (RFC 5869): extract with `salt`, expand with `info` into `okm`.
    ///
    /// # Errors
    /// When `okm` is longer than 255 × 32 bytes, or a backend failure.
    fn hkdf_sha256(
        &self,
        ikm: &[u8],
        salt: &[u8],
        info: &[u8],
        okm: &mut [u8],
    ) -> Result<(), CryptoError>;
}

/// Authenticated encryption.
pub trait Aead: Send + Sync {
    /// AES-GCM with a 96-bit IV under a 16- or 32-byte key; returns ciphertext ‖ 16-byte tag.
    ///
    /// # Errors
    /// A key of another length, or a backend failure.
    fn aes_gcm_seal(
        &self,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError>;

    /// Opens ciphertext ‖ tag.
    ///
    /// # Errors
    /// [`CryptoError::DecryptionFailed`] for a short input or a tag that does not verify.
    fn aes_gcm_open(
        &self,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError>;

    /// The raw AES-256 block function applied to each 16-byte block of `blocks` in place: a
    /// pseudo-random function (Longfellow's Fiat-Shamir stream is AES-256 of a counter), never a
    /// way to encrypt data.
    ///
    /// # Errors
    /// A length that is not a multiple of 16; backend failures.
    fn aes256_blocks(&self, key: &[u8; 32], blocks: &mut [u8]) -> Result<(), CryptoError>;
}

/// Elliptic-curve Diffie-Hellman.
pub trait KeyAgreement: Send + Sync {
    /// The shared secret `Z`, the x coordinate of `d · Q` (SEC 1 §3.3.1), for two keys on the
    /// same NIST curve.
    ///
    /// # Errors
    /// Keys on different curves or Ed25519 keys; backend failures.
    fn ecdh(
        &self,
        private: &PrivateKey,
        peer: &PublicKey,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError>;
}

/// Every primitive, as one value handed to issuers, wallets and verifiers.
#[derive(Clone, Copy)]
pub struct CryptoProvider {
    /// The provider's name, for logs (`openssl`, `aws-lc`).
    pub name: &'static str,
    /// Signature verification: certificates, COSE, JWS, status tokens.
    pub signature_verifier: &'static dyn SignatureVerifier,
    /// Hash functions.
    pub digests: &'static dyn Digests,
    /// HMAC.
    pub mac: &'static dyn Mac,
    /// HKDF.
    pub kdf: &'static dyn Kdf,
    /// AES-GCM.
    pub aead: &'static dyn Aead,
    /// ECDH.
    pub key_agreement: &'static dyn KeyAgreement,
    /// The secure random source.
    pub random: &'static dyn Random,
    /// Software keys: point checks, decompression, private keys from their scalars.
    pub keys: &'static dyn KeyProvider,
}

impl core::fmt::Debug for CryptoProvider {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CryptoProvider")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The provider an application installed for the whole process, if any.
static INSTALLED: std::sync::OnceLock<&'static CryptoProvider> = std::sync::OnceLock::new();

impl CryptoProvider {
    /// The process's default provider: the one installed with [`Self::install_default`], else
    /// the one the features chose — aws-lc-rs (the `aws-lc` feature, on by default), or OpenSSL
    /// when the `openssl` feature is on (asked for beyond the default).
    #[must_use]
    pub fn get_default() -> &'static Self {
        if let Some(installed) = INSTALLED.get() {
            return installed;
        }
        Self::feature_default()
    }

    /// The provider the features chose.
    #[must_use]
    pub fn feature_default() -> &'static Self {
        #[cfg(feature = "openssl")]
        {
            &crate::backend::openssl::PROVIDER
        }
        #[cfg(all(feature = "aws-lc", not(feature = "openssl")))]
        {
            &crate::backend::aws_lc::PROVIDER
        }
    }

    /// Makes `provider` the default of the whole process: every certificate check, COSE and
    /// JWS signature, digest, session and random draw that takes no provider of its own goes
    /// through it (an HSM's or a FIPS module's verification, say, assembled with another
    /// provider's other tables). Once per process, before the first key is made: a key keeps
    /// the provider that made it.
    ///
    /// # Errors
    /// The provider installed before, when there is one.
    pub fn install_default(provider: &'static Self) -> Result<(), &'static Self> {
        INSTALLED.set(provider).map_err(|_| Self::get_default())
    }

    /// The OpenSSL provider (OpenSSL's low-level ECDSA, SHA-2 and a pooled `RAND_bytes`).
    #[cfg(feature = "openssl")]
    #[must_use]
    pub fn openssl() -> &'static Self {
        &crate::backend::openssl::PROVIDER
    }

    /// The aws-lc-rs provider (the rustls default backend).
    #[cfg(feature = "aws-lc")]
    #[must_use]
    pub fn aws_lc() -> &'static Self {
        &crate::backend::aws_lc::PROVIDER
    }
}

/// The primitives as calls on one provider: what an issuer, wallet or verifier that was handed
/// a provider uses, so nothing it does reaches the process default. The free functions of
/// [`crate::session`] and [`crate::digest`] are these on [`CryptoProvider::get_default`].
impl CryptoProvider {
    /// Hashes `data` with `algorithm`.
    ///
    /// # Errors
    /// Only backend failures.
    pub fn digest(&self, algorithm: HashAlgorithm, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut hasher = algorithm.hasher_on(self);
        hasher.update(data);
        Ok(hasher.finish())
    }

    /// SHA-256 of `data`.
    ///
    /// # Errors
    /// Only backend failures.
    pub fn sha256(&self, data: &[u8]) -> Result<[u8; 32], CryptoError> {
        self.digest(HashAlgorithm::Sha256, data)?
            .try_into()
            .map_err(|_| CryptoError::Signer("a SHA-256 digest of another length".into()))
    }

    /// HMAC-SHA-256 (RFC 2104).
    ///
    /// # Errors
    /// Only backend failures.
    pub fn hmac_sha256(&self, key: &[u8], data: &[u8]) -> Result<[u8; 32], CryptoError> {
        self.mac.hmac_sha256(key, data)
    }

    /// Checks an HMAC-SHA-256 tag in constant time.
    ///
    /// # Errors
    /// [`CryptoError::BadMac`] when the tag differs (or has the wrong length).
    pub fn hmac_sha256_verify(
        &self,
        key: &[u8],
        data: &[u8],
        tag: &[u8],
    ) -> Result<(), CryptoError> {
        let expected = self.hmac_sha256(key, data)?;
        if crate::session::constant_time_eq(&expected, tag) {
            Ok(())
        } else {
            Err(CryptoError::BadMac)
        }
    }

    /// A 32-byte key derived with HKDF-SHA-256 (RFC 5869).
    ///
    /// # Errors
    /// Only backend failures.
    pub fn hkdf_sha256_key(
        &self,
        ikm: &[u8],
        salt: &[u8],
        info: &[u8],
    ) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        let mut key = Zeroizing::new([0u8; 32]);
        self.kdf.hkdf_sha256(ikm, salt, info, key.as_mut())?;
        Ok(key)
    }

    /// AES-256-GCM encryption with a 96-bit IV; returns ciphertext ‖ 16-byte tag.
    ///
    /// # Errors
    /// Only backend failures.
    pub fn aes256gcm_seal(
        &self,
        key: &[u8; 32],
        iv: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.aead.aes_gcm_seal(key, iv, aad, plaintext)
    }

    /// AES-256-GCM decryption of ciphertext ‖ tag.
    ///
    /// # Errors
    /// [`CryptoError::DecryptionFailed`] for a short input or a tag that does not verify.
    pub fn aes256gcm_open(
        &self,
        key: &[u8; 32],
        iv: &[u8; 12],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.aead.aes_gcm_open(key, iv, aad, sealed)
    }

    /// The AES-256 block function on each 16-byte block of `blocks`, in place (a PRF; see
    /// [`Aead::aes256_blocks`]).
    ///
    /// # Errors
    /// A length that is not a multiple of 16; backend failures.
    pub fn aes256_blocks(&self, key: &[u8; 32], blocks: &mut [u8]) -> Result<(), CryptoError> {
        self.aead.aes256_blocks(key, blocks)
    }

    /// The ECDH shared secret `Z` (SEC 1 §3.3.1).
    ///
    /// # Errors
    /// As [`KeyAgreement::ecdh`].
    pub fn ecdh(
        &self,
        private: &PrivateKey,
        peer: &PublicKey,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.key_agreement.ecdh(private, peer)
    }

    /// Checks `signature` over `message` with `key` (the provider's signature verifier).
    ///
    /// # Errors
    /// As [`SignatureVerifier::verify`].
    pub fn verify(
        &self,
        algorithm: crate::Algorithm,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        self.signature_verifier
            .verify(algorithm, key, message, signature)
    }
}

/// A provider verifies with its signature verifier, so it can stand where one is asked for.
impl SignatureVerifier for CryptoProvider {
    fn verify(
        &self,
        algorithm: crate::Algorithm,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        self.signature_verifier
            .verify(algorithm, key, message, signature)
    }
}

/// A provider draws from its random source, so it can stand where a [`Random`] is asked for
/// (`Arc::new(*provider)`).
impl Random for CryptoProvider {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        self.random.fill(buf)
    }

    fn fill_secret(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        self.random.fill_secret(buf)
    }
}

/// The default provider, for the functions that take none.
pub(crate) fn default() -> &'static CryptoProvider {
    CryptoProvider::get_default()
}
