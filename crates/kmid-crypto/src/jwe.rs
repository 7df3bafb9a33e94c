//! Compact JWE (RFC 7516) with direct key agreement: `alg` `ECDH-ES` (RFC 7518 §4.6) on P-256,
//! `enc` `A128GCM` or `A256GCM` (RFC 7518 §5.3) — what OpenID4VP 1.0 §8.3 uses for encrypted
//! responses (`direct_post.jwt`, `dc_api.jwt`) and HAIP 1.0 §5 requires.
//!
//! Our own code, small on purpose: every primitive comes from the [`CryptoProvider`] (ECDH,
//! SHA-256 for the Concat KDF, AES-GCM), the five parts are split once, and the header is read
//! before anything is derived: `alg`, `enc`, `epk` (a public key on the recipient's curve, point
//! checked), `apu`/`apv`. Nothing else is accepted: no `zip` (a decompression amplifier), no
//! `crit`, no encrypted key (ECDH-ES uses the derived key directly), no `alg` `none` or key
//! wrapping.

use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::jose::{b64url, b64url_decode};
use crate::{CryptoError, CryptoProvider, Curve, Jwk, PrivateKey, PublicKey, Random};

/// The largest compact JWE read (a VP Token of 16 presentations of 1 MiB, base64url encoded,
/// with room for the header).
pub const MAX_JWE_BYTES: usize = 24 * 1024 * 1024;
/// The largest protected header read, in base64url characters.
pub const MAX_JWE_HEADER_CHARS: usize = 16 * 1024;

/// The content encryption (`enc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentEncryption {
    /// AES-128-GCM.
    A128Gcm,
    /// AES-256-GCM.
    A256Gcm,
}

impl ContentEncryption {
    /// The `enc` value.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::A128Gcm => "A128GCM",
            Self::A256Gcm => "A256GCM",
        }
    }

    /// The `enc` value `name` names, if it is one of these.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "A128GCM" => Some(Self::A128Gcm),
            "A256GCM" => Some(Self::A256Gcm),
            _ => None,
        }
    }

    const fn key_len(self) -> usize {
        match self {
            Self::A128Gcm => 16,
            Self::A256Gcm => 32,
        }
    }
}

/// Why a JWE was refused or could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JweError {
    /// Not five base64url parts, or a part of the wrong size.
    #[error("malformed JWE: {0}")]
    Malformed(&'static str),
    /// Larger than [`MAX_JWE_BYTES`], or a header larger than [`MAX_JWE_HEADER_CHARS`].
    #[error("the JWE is larger than the limit")]
    TooLarge,
    /// `alg` is not `ECDH-ES`.
    #[error("JWE alg {0:?} is not accepted (ECDH-ES only)")]
    Algorithm(String),
    /// `enc` is not one the recipient accepts.
    #[error("JWE enc {0:?} is not accepted")]
    Encryption(String),
    /// A header parameter kmid does not process (`zip`, `crit`, …).
    #[error("JWE header parameter {0:?} is not supported")]
    Unsupported(String),
    /// `epk` is missing, not an EC public key, off its curve, or on another curve than the
    /// recipient's key.
    #[error("JWE epk: {0}")]
    EphemeralKey(&'static str),
    /// The header's `kid` is not the recipient key's (checked before any key agreement).
    #[error("the JWE is encrypted to another key (kid)")]
    KeyId,
    /// The tag does not verify: another key, or altered header, IV, ciphertext or tag.
    #[error("the JWE does not decrypt")]
    Decryption,
    /// A primitive failed (not a refusal of the input).
    #[error("crypto: {0}")]
    Crypto(CryptoError),
}

impl JweError {
    /// The stable code of this error (see `kmid_schema::error_code`).
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "Malformed",
            Self::TooLarge => "TooLarge",
            Self::Algorithm(_) => "Algorithm",
            Self::Encryption(_) => "Encryption",
            Self::Unsupported(_) => "Unsupported",
            Self::EphemeralKey(_) => "EphemeralKey",
            Self::KeyId => "KeyId",
            Self::Decryption => "Decryption",
            Self::Crypto(_) => "Crypto",
        }
    }
}

/// A decrypted JWE: its protected header and its plaintext (wiped when dropped).
#[derive(Debug)]
pub struct DecryptedJwe {
    /// The protected header, as received.
    pub header: Map<String, Value>,
    /// The plaintext.
    pub plaintext: Zeroizing<Vec<u8>>,
}

/// The header parameters this module reads; any other is refused when it changes processing
/// (`zip`, `crit`) and passed through otherwise (`kid`, `typ`, `cty`).
const PASSED_THROUGH: &[&str] = &["kid", "typ", "cty"];

/// What a sender puts in the protected header besides `alg`, `enc` and `epk`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderParams {
    /// `apu` (Agreement PartyUInfo), raw; empty: absent.
    pub apu: Vec<u8>,
    /// `apv` (Agreement PartyVInfo), raw; empty: absent.
    pub apv: Vec<u8>,
    /// Other parameters (`kid`, `typ`); `alg`, `enc`, `epk`, `apu`, `apv`, `zip` and `crit`
    /// in it are ignored.
    pub other: Map<String, Value>,
}

/// Encrypts `plaintext` to `recipient` (a P-256 key) with ECDH-ES and `enc`: a fresh ephemeral
/// key from `random`, the Concat KDF over `apu`/`apv` when given (RFC 7518 §4.6.2), and the
/// other header parameters merged in. Returns the compact serialization.
///
/// # Errors
/// [`JweError::EphemeralKey`] for a recipient key that is not EC; [`JweError::Crypto`].
pub fn encrypt_ecdh_es(
    provider: &CryptoProvider,
    random: &dyn Random,
    recipient: &PublicKey,
    enc: ContentEncryption,
    params: &HeaderParams,
    plaintext: &[u8],
) -> Result<String, JweError> {
    let (apu, apv) = (params.apu.as_slice(), params.apv.as_slice());
    if recipient.curve() == Curve::Ed25519 {
        return Err(JweError::EphemeralKey("the recipient key is not an EC key"));
    }
    let ephemeral =
        PrivateKey::generate_with(recipient.curve(), random).map_err(JweError::Crypto)?;
    let mut header = params.other.clone();
    for k in ["alg", "enc", "epk", "apu", "apv", "zip", "crit"] {
        header.remove(k);
    }
    header.insert("alg".into(), "ECDH-ES".into());
    header.insert("enc".into(), enc.name().into());
    let epk = ephemeral.public_key().to_jwk();
    let mut epk_json = Map::new();
    epk_json.insert("kty".into(), epk.kty.clone().into());
    for (k, v) in [("crv", &epk.crv), ("x", &epk.x), ("y", &epk.y)] {
        if let Some(v) = v {
            epk_json.insert(k.into(), v.clone().into());
        }
    }
    header.insert("epk".into(), Value::Object(epk_json));
    if !apu.is_empty() {
        header.insert("apu".into(), b64url(apu).into());
    }
    if !apv.is_empty() {
        header.insert("apv".into(), b64url(apv).into());
    }
    let z = provider
        .ecdh(&ephemeral, recipient)
        .map_err(JweError::Crypto)?;
    let cek = concat_kdf(provider, &z, enc, apu, apv)?;
    let protected = b64url(Value::Object(header).to_string().as_bytes());
    let mut iv = [0u8; 12];
    random.fill(&mut iv).map_err(JweError::Crypto)?;
    let sealed = provider
        .aead
        .aes_gcm_seal(&cek, &iv, protected.as_bytes(), plaintext)
        .map_err(JweError::Crypto)?;
    let split = sealed.len().saturating_sub(16);
    let (ciphertext, tag) = sealed.split_at(split);
    Ok(format!(
        "{protected}..{}.{}.{}",
        b64url(&iv),
        b64url(ciphertext),
        b64url(tag)
    ))
}

/// Decrypts a compact JWE made with ECDH-ES to `recipient`, accepting only the `enc` values in
/// `accepted`. With `kid`, a header naming another `kid` is refused before any key agreement
/// (a header without one is tried).
///
/// # Errors
/// [`JweError`] naming the first check that failed, header checks before any key agreement.
pub fn decrypt_ecdh_es(
    provider: &CryptoProvider,
    compact: &str,
    recipient: &PrivateKey,
    kid: Option<&str>,
    accepted: &[ContentEncryption],
) -> Result<DecryptedJwe, JweError> {
    if compact.len() > MAX_JWE_BYTES {
        return Err(JweError::TooLarge);
    }
    let mut parts = compact.split('.');
    let (Some(protected), Some(encrypted_key), Some(iv), Some(ciphertext), Some(tag), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(JweError::Malformed("not five parts"));
    };
    if protected.len() > MAX_JWE_HEADER_CHARS {
        return Err(JweError::TooLarge);
    }
    let decode =
        |part: &str, what: &'static str| b64url_decode(part).map_err(|_| JweError::Malformed(what));
    let header: Map<String, Value> =
        serde_json::from_slice(&decode(protected, "header (base64url)")?)
            .map_err(|_| JweError::Malformed("header (a JSON object)"))?;
    let text = |k: &str| header.get(k).and_then(Value::as_str);
    match text("alg") {
        Some("ECDH-ES") => {}
        other => {
            return Err(JweError::Algorithm(
                other.map_or_else(|| "(none)".to_owned(), str::to_owned),
            ));
        }
    }
    let enc_name = text("enc").unwrap_or("(none)");
    let enc = ContentEncryption::from_name(enc_name)
        .filter(|e| accepted.contains(e))
        .ok_or_else(|| JweError::Encryption(enc_name.to_owned()))?;
    if let Some(k) = header.keys().find(|k| {
        !["alg", "enc", "epk", "apu", "apv"].contains(&k.as_str())
            && !PASSED_THROUGH.contains(&k.as_str())
    }) {
        return Err(JweError::Unsupported(k.clone()));
    }
    if !encrypted_key.is_empty() {
        return Err(JweError::Malformed("ECDH-ES has no encrypted key"));
    }
    if let (Some(expected), Some(named)) = (kid, header.get("kid"))
        && named.as_str() != Some(expected)
    {
        return Err(JweError::KeyId);
    }
    let epk = header.get("epk").ok_or(JweError::EphemeralKey("missing"))?;
    let epk: Jwk =
        serde_json::from_value(epk.clone()).map_err(|_| JweError::EphemeralKey("not a JWK"))?;
    if epk.kty != "EC" || epk.d.is_some() {
        return Err(JweError::EphemeralKey("not an EC public key"));
    }
    let epk = epk
        .to_public_key()
        .map_err(|_| JweError::EphemeralKey("not a point on its curve"))?;
    if epk.curve() != recipient.curve() {
        return Err(JweError::EphemeralKey(
            "on another curve than the recipient key",
        ));
    }
    let party = |k: &str, what| match text(k) {
        Some(v) => decode(v, what),
        None if header.contains_key(k) => Err(JweError::Malformed(what)),
        None => Ok(Vec::new()),
    };
    let apu = party("apu", "apu (base64url)")?;
    let apv = party("apv", "apv (base64url)")?;
    let iv: [u8; 12] = decode(iv, "iv (base64url)")?
        .try_into()
        .map_err(|_| JweError::Malformed("iv (96 bits)"))?;
    // The ciphertext and its tag decoded into one buffer made large enough for both (the AEAD
    // takes them together): no second copy of a response of tens of kilobytes.
    let mut sealed = Vec::with_capacity((ciphertext.len() / 4 + 1) * 3 + 16);
    crate::jose::b64url_decode_append(ciphertext, &mut sealed)
        .map_err(|_| JweError::Malformed("ciphertext (base64url)"))?;
    let body = sealed.len();
    crate::jose::b64url_decode_append(tag, &mut sealed)
        .map_err(|_| JweError::Malformed("tag (base64url)"))?;
    if sealed.len().checked_sub(body) != Some(16) {
        return Err(JweError::Malformed("tag (128 bits)"));
    }
    let z = provider.ecdh(recipient, &epk).map_err(JweError::Crypto)?;
    let cek = concat_kdf(provider, &z, enc, &apu, &apv)?;
    let plaintext = provider
        .aead
        .aes_gcm_open(&cek, &iv, protected.as_bytes(), &sealed)
        .map_err(|e| match e {
            CryptoError::DecryptionFailed => JweError::Decryption,
            other => JweError::Crypto(other),
        })?;
    Ok(DecryptedJwe { header, plaintext })
}

/// The Concat KDF of NIST SP 800-56A §5.8.1 as RFC 7518 §4.6.2 uses it for ECDH-ES in direct
/// key agreement: one SHA-256 round (the keys are at most 256 bits) over
/// `counter ‖ Z ‖ AlgorithmID ‖ PartyUInfo ‖ PartyVInfo ‖ SuppPubInfo`, AlgorithmID being the
/// `enc` value and SuppPubInfo the key length in bits.
///
/// # Errors
/// [`JweError::Crypto`].
pub fn concat_kdf(
    provider: &CryptoProvider,
    z: &[u8],
    enc: ContentEncryption,
    apu: &[u8],
    apv: &[u8],
) -> Result<Zeroizing<Vec<u8>>, JweError> {
    let mut input = Zeroizing::new(Vec::with_capacity(64 + z.len() + apu.len() + apv.len()));
    input.extend_from_slice(&1u32.to_be_bytes());
    input.extend_from_slice(z);
    for field in [enc.name().as_bytes(), apu, apv] {
        let len = u32::try_from(field.len()).map_err(|_| JweError::Malformed("apu/apv"))?;
        input.extend_from_slice(&len.to_be_bytes());
        input.extend_from_slice(field);
    }
    let bits = u32::try_from(enc.key_len() * 8).unwrap_or(256);
    input.extend_from_slice(&bits.to_be_bytes());
    let digest = Zeroizing::new(provider.sha256(&input).map_err(JweError::Crypto)?);
    Ok(Zeroizing::new(
        digest.get(..enc.key_len()).unwrap_or_default().to_vec(),
    ))
}
