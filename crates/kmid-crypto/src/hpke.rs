//! HPKE (RFC 9180) in base mode with the one suite ISO/IEC 18013-7 Annex C uses for mdoc over
//! the Digital Credentials API: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, single
//! shot (one message, sequence number 0).
//!
//! Our own code, small on purpose: ECDH, HMAC-SHA256 (for HKDF's Extract and Expand, RFC
//! 5869) and AES-GCM come from the [`CryptoProvider`]; what is here is RFC 9180's labelled key
//! schedule. Tested to the byte against the RFC's test vector for this suite (Appendix A.3).

use zeroize::Zeroizing;

use crate::{CryptoError, CryptoProvider, Curve, KeyError, PrivateKey, PublicKey, Random};

/// `kem_id` of DHKEM(P-256, HKDF-SHA256).
const KEM_ID: u16 = 0x0010;
/// `kdf_id` of HKDF-SHA256.
const KDF_ID: u16 = 0x0001;
/// `aead_id` of AES-128-GCM.
const AEAD_ID: u16 = 0x0001;
/// `mode_base`.
const MODE_BASE: u8 = 0x00;
/// Nk, Nn, Nsecret of the suite.
const NK: u16 = 16;
const NN: u16 = 12;
const NSECRET: u16 = 32;

/// A sealed message: the encapsulated key (`enc`, the ephemeral public key as an uncompressed
/// SEC 1 point) and the ciphertext with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// `enc`.
    pub enc: Vec<u8>,
    /// The AEAD ciphertext ‖ tag.
    pub ciphertext: Vec<u8>,
}

fn kem_suite() -> Vec<u8> {
    let mut s = b"KEM".to_vec();
    s.extend_from_slice(&KEM_ID.to_be_bytes());
    s
}

fn hpke_suite() -> Vec<u8> {
    let mut s = b"HPKE".to_vec();
    s.extend_from_slice(&KEM_ID.to_be_bytes());
    s.extend_from_slice(&KDF_ID.to_be_bytes());
    s.extend_from_slice(&AEAD_ID.to_be_bytes());
    s
}

/// HKDF-Extract (RFC 5869 §2.2): HMAC-SHA256 with `salt` (empty: 32 zero bytes) as the key.
fn extract(provider: &CryptoProvider, salt: &[u8], ikm: &[u8]) -> Result<[u8; 32], CryptoError> {
    let zeros = [0u8; 32];
    provider.hmac_sha256(if salt.is_empty() { &zeros } else { salt }, ikm)
}

/// HKDF-Expand (RFC 5869 §2.3) to `len` ≤ 255·32 bytes.
fn expand(
    provider: &CryptoProvider,
    prk: &[u8],
    info: &[u8],
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    let mut previous: Vec<u8> = Vec::new();
    let mut counter: u8 = 1;
    while out.len() < len {
        let mut input = previous.clone();
        input.extend_from_slice(info);
        input.push(counter);
        let block = provider.hmac_sha256(prk, &input)?;
        let take = (len - out.len()).min(block.len());
        out.extend_from_slice(block.get(..take).unwrap_or_default());
        previous = block.to_vec();
        counter = counter
            .checked_add(1)
            .ok_or(CryptoError::InvalidProfile("HKDF output too long"))?;
    }
    Ok(out)
}

/// LabeledExtract (RFC 9180 §4).
fn labeled_extract(
    provider: &CryptoProvider,
    suite: &[u8],
    salt: &[u8],
    label: &[u8],
    ikm: &[u8],
) -> Result<[u8; 32], CryptoError> {
    let mut labeled = Zeroizing::new(b"HPKE-v1".to_vec());
    labeled.extend_from_slice(suite);
    labeled.extend_from_slice(label);
    labeled.extend_from_slice(ikm);
    extract(provider, salt, &labeled)
}

/// LabeledExpand (RFC 9180 §4).
fn labeled_expand(
    provider: &CryptoProvider,
    suite: &[u8],
    prk: &[u8],
    label: &[u8],
    info: &[u8],
    len: u16,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut labeled = len.to_be_bytes().to_vec();
    labeled.extend_from_slice(b"HPKE-v1");
    labeled.extend_from_slice(suite);
    labeled.extend_from_slice(label);
    labeled.extend_from_slice(info);
    expand(provider, prk, &labeled, usize::from(len))
}

/// ExtractAndExpand of DHKEM (RFC 9180 §4.1): the KEM shared secret from the DH value and
/// `enc ‖ pkRm`.
fn shared_secret(
    provider: &CryptoProvider,
    dh: &[u8],
    enc: &[u8],
    recipient: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let suite = kem_suite();
    let prk = Zeroizing::new(labeled_extract(provider, &suite, b"", b"eae_prk", dh)?);
    let mut context = enc.to_vec();
    context.extend_from_slice(recipient);
    labeled_expand(provider, &suite, &*prk, b"shared_secret", &context, NSECRET)
}

/// The base-mode key schedule (RFC 9180 §5.1): the AEAD key and base nonce.
fn key_schedule(
    provider: &CryptoProvider,
    shared: &[u8],
    info: &[u8],
) -> Result<(Zeroizing<Vec<u8>>, [u8; 12]), CryptoError> {
    let suite = hpke_suite();
    let psk_id_hash = labeled_extract(provider, &suite, b"", b"psk_id_hash", b"")?;
    let info_hash = labeled_extract(provider, &suite, b"", b"info_hash", info)?;
    let mut context = vec![MODE_BASE];
    context.extend_from_slice(&psk_id_hash);
    context.extend_from_slice(&info_hash);
    let secret = Zeroizing::new(labeled_extract(provider, &suite, shared, b"secret", b"")?);
    let key = labeled_expand(provider, &suite, &*secret, b"key", &context, NK)?;
    let nonce = labeled_expand(provider, &suite, &*secret, b"base_nonce", &context, NN)?;
    let nonce: [u8; 12] = nonce
        .as_slice()
        .try_into()
        .map_err(|_| CryptoError::InvalidProfile("HPKE nonce length"))?;
    Ok((key, nonce))
}

fn p256_point(key: &PublicKey) -> Result<Vec<u8>, CryptoError> {
    if key.curve() != Curve::P256 {
        return Err(KeyError::Malformed("an HPKE key of this suite is on P-256").into());
    }
    key.to_sec1_uncompressed()
        .ok_or_else(|| KeyError::Malformed("an HPKE key of this suite is on P-256").into())
}

/// Seals `plaintext` to `recipient` with `info` and `aad`, under a fresh ephemeral key from
/// `random`.
///
/// # Errors
/// A recipient key not on P-256; provider failures.
pub fn seal(
    provider: &CryptoProvider,
    random: &dyn Random,
    recipient: &PublicKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Sealed, CryptoError> {
    let ephemeral = PrivateKey::generate_with(Curve::P256, random)?;
    seal_with_ephemeral(provider, &ephemeral, recipient, info, aad, plaintext)
}

/// [`seal`] with the ephemeral key given (for test vectors; a sender uses [`seal`]).
///
/// # Errors
/// As [`seal`].
pub fn seal_with_ephemeral(
    provider: &CryptoProvider,
    ephemeral: &PrivateKey,
    recipient: &PublicKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Sealed, CryptoError> {
    let pk_rm = p256_point(recipient)?;
    let enc = p256_point(ephemeral.public_key())?;
    let dh = provider.ecdh(ephemeral, recipient)?;
    let shared = shared_secret(provider, &dh, &enc, &pk_rm)?;
    let (key, nonce) = key_schedule(provider, &shared, info)?;
    let ciphertext = provider.aead.aes_gcm_seal(&key, &nonce, aad, plaintext)?;
    Ok(Sealed { enc, ciphertext })
}

/// Opens a message sealed to `recipient`: `enc` must be a P-256 point (checked on the curve),
/// and the tag must verify over `aad` under the key `info` derived.
///
/// # Errors
/// [`CryptoError::DecryptionFailed`]; key errors for an `enc` that is not a point.
pub fn open(
    provider: &CryptoProvider,
    recipient: &PrivateKey,
    enc: &[u8],
    info: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if enc.len() != 65 || enc.first() != Some(&0x04) {
        return Err(KeyError::Malformed("HPKE enc (an uncompressed P-256 point)").into());
    }
    let ephemeral = PublicKey::from_sec1(Curve::P256, enc)?;
    let pk_rm = p256_point(recipient.public_key())?;
    let dh = provider.ecdh(recipient, &ephemeral)?;
    let shared = shared_secret(provider, &dh, enc, &pk_rm)?;
    let (key, nonce) = key_schedule(provider, &shared, info)?;
    provider.aead.aes_gcm_open(&key, &nonce, aad, ciphertext)
}
