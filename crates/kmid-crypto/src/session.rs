//! The session primitives of ISO/IEC 18013-5 §9.1.1 and §9.1.3: ECDH, HKDF-SHA-256,
//! AES-256-GCM and HMAC-SHA-256 with a constant-time check. Every secret they return is wiped
//! on drop.

use zeroize::Zeroizing;

use crate::error::CryptoError;
use crate::key::{PrivateKey, PublicKey};

/// Length of an AES-GCM tag.
pub const GCM_TAG_LEN: usize = 16;

/// The ECDH shared secret `Z`: the x coordinate of `d · Q` (SEC 1 §3.3.1), for two keys on the
/// same NIST curve, on the default provider.
///
/// # Errors
/// [`KeyError::WrongAlgorithm`](crate::KeyError::WrongAlgorithm) for Ed25519 keys or keys on
/// different curves.
pub fn ecdh(private: &PrivateKey, peer: &PublicKey) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    crate::provider::default().ecdh(private, peer)
}

/// HKDF-SHA-256 (RFC 5869): extract with `salt`, expand with `info` into `okm`.
///
/// # Errors
/// When `okm` is longer than 255 × 32 bytes, or a backend failure.
pub fn hkdf_sha256(
    ikm: &[u8],
    salt: &[u8],
    info: &[u8],
    okm: &mut [u8],
) -> Result<(), CryptoError> {
    crate::provider::default()
        .kdf
        .hkdf_sha256(ikm, salt, info, okm)
}

/// A 32-byte key derived with HKDF-SHA-256.
///
/// # Errors
/// Only backend failures.
pub fn hkdf_sha256_key(
    ikm: &[u8],
    salt: &[u8],
    info: &[u8],
) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    crate::provider::default().hkdf_sha256_key(ikm, salt, info)
}

/// AES-256-GCM encryption with a 96-bit IV; returns ciphertext ‖ 16-byte tag.
///
/// # Errors
/// Only backend failures.
pub fn aes256gcm_seal(
    key: &[u8; 32],
    iv: &[u8; 12],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    crate::provider::default().aes256gcm_seal(key, iv, aad, plaintext)
}

/// AES-256-GCM decryption of ciphertext ‖ tag.
///
/// # Errors
/// [`CryptoError::DecryptionFailed`] for a short input or a tag that does not verify.
pub fn aes256gcm_open(
    key: &[u8; 32],
    iv: &[u8; 12],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    crate::provider::default().aes256gcm_open(key, iv, aad, sealed)
}

/// HMAC-SHA-256 (RFC 2104).
///
/// # Errors
/// Only backend failures.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Result<[u8; 32], CryptoError> {
    crate::provider::default().hmac_sha256(key, data)
}

/// Checks an HMAC-SHA-256 tag in constant time.
///
/// # Errors
/// [`CryptoError::BadMac`] when the tag differs (or has the wrong length).
pub fn hmac_sha256_verify(key: &[u8], data: &[u8], tag: &[u8]) -> Result<(), CryptoError> {
    crate::provider::default().hmac_sha256_verify(key, data, tag)
}

/// Compares two byte strings in time that depends only on their lengths.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}
