//! The session primitives of ISO/IEC 18013-5 §9.1.1 and §9.1.3: ECDH, HKDF-SHA-256,
//! AES-256-GCM and HMAC-SHA-256 with a constant-time check. Every secret they return is wiped
//! on drop.

use openssl::derive::Deriver;
use openssl::hash::MessageDigest;
use openssl::md::Md;
use openssl::pkey::{Id, PKey};
use openssl::pkey_ctx::PkeyCtx;
use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};
use zeroize::Zeroizing;

use crate::algorithm::Curve;
use crate::error::{CryptoError, KeyError};
use crate::key::{PrivateKey, PublicKey};

/// Length of an AES-GCM tag.
pub const GCM_TAG_LEN: usize = 16;

/// The ECDH shared secret `Z`: the x coordinate of `d · Q` (SEC 1 §3.3.1), for two keys on the
/// same NIST curve.
///
/// # Errors
/// [`KeyError::WrongAlgorithm`] for Ed25519 keys or keys on different curves.
pub fn ecdh(private: &PrivateKey, peer: &PublicKey) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if private.curve() == Curve::Ed25519 || private.curve() != peer.curve() {
        return Err(KeyError::WrongAlgorithm("ECDH").into());
    }
    let mut deriver = Deriver::new(&private.pkey)?;
    deriver.set_peer(&peer.pkey)?;
    let mut z = Zeroizing::new(vec![0u8; private.curve().coordinate_len()]);
    let n = deriver.derive(&mut z)?;
    z.truncate(n);
    Ok(z)
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
    let mut ctx = PkeyCtx::new_id(Id::HKDF)?;
    ctx.derive_init()?;
    ctx.set_hkdf_md(Md::sha256())?;
    ctx.set_hkdf_key(ikm)?;
    ctx.set_hkdf_salt(salt)?;
    ctx.add_hkdf_info(info)?;
    ctx.derive(Some(okm))?;
    Ok(())
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
    let mut key = Zeroizing::new([0u8; 32]);
    hkdf_sha256(ikm, salt, info, key.as_mut())?;
    Ok(key)
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
    let mut tag = [0u8; GCM_TAG_LEN];
    let mut out = encrypt_aead(
        Cipher::aes_256_gcm(),
        key,
        Some(iv),
        aad,
        plaintext,
        &mut tag,
    )?;
    out.extend_from_slice(&tag);
    Ok(out)
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
    let split = sealed
        .len()
        .checked_sub(GCM_TAG_LEN)
        .ok_or(CryptoError::DecryptionFailed)?;
    let (ciphertext, tag) = sealed.split_at(split);
    decrypt_aead(Cipher::aes_256_gcm(), key, Some(iv), aad, ciphertext, tag)
        .map(Zeroizing::new)
        .map_err(|_| CryptoError::DecryptionFailed)
}

/// HMAC-SHA-256 (RFC 2104).
///
/// # Errors
/// Only backend failures.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> Result<[u8; 32], CryptoError> {
    let pkey = PKey::hmac(key)?;
    let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), &pkey)?;
    signer.update(data)?;
    let mut tag = [0u8; 32];
    signer.sign(&mut tag)?;
    Ok(tag)
}

/// Checks an HMAC-SHA-256 tag in constant time.
///
/// # Errors
/// [`CryptoError::BadMac`] when the tag differs (or has the wrong length).
pub fn hmac_sha256_verify(key: &[u8], data: &[u8], tag: &[u8]) -> Result<(), CryptoError> {
    let expected = hmac_sha256(key, data)?;
    if constant_time_eq(&expected, tag) {
        Ok(())
    } else {
        Err(CryptoError::BadMac)
    }
}

/// Compares two byte strings in time that depends only on their lengths.
#[must_use]
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && openssl::memcmp::eq(a, b)
}
