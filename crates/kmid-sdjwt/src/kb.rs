//! The Key Binding JWT (RFC 9901 §4.3): `typ` `kb+jwt`, `iat`, `aud`, `nonce` and `sd_hash`
//! over the presented SD-JWT, signed by the holder's key.

use std::sync::Arc;

use kmid_crypto::{Algorithm, CryptoProvider, HashAlgorithm, PublicKey, Signer};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use crate::error::{KeyBindingError, SdJwtError};
use crate::jws::{JwsExt, b64, parse_jws, sign_compact};
use crate::serialization::SdJwt;

/// The `typ` of a Key Binding JWT.
pub const KB_JWT_TYP: &str = "kb+jwt";

/// The verifier's expectations of a Key Binding JWT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBindingPolicy {
    /// The nonce the verifier issued for this transaction.
    pub nonce: String,
    /// The verifier's identifier, as the holder must put it in `aud`.
    pub audience: String,
    /// How old the KB-JWT may be.
    pub max_age: Duration,
}

/// `sd_hash`: base64url of the hash of `<JWT>~<D1>~…~<Dn>~`.
///
/// # Errors
/// Only backend failures.
pub fn sd_hash(
    provider: &CryptoProvider,
    sd_jwt: &SdJwt,
    alg: HashAlgorithm,
) -> Result<String, SdJwtError> {
    Ok(b64(&sd_jwt.sd_hash_digest(provider, alg)))
}

/// Creates the KB-JWT for `sd_jwt` (whose `kb_jwt` is ignored), hashing on `provider`.
///
/// # Errors
/// Signer failures.
pub fn create(
    provider: &CryptoProvider,
    sd_jwt: &SdJwt,
    sd_alg: HashAlgorithm,
    holder: &Arc<dyn Signer>,
    nonce: &str,
    audience: &str,
    iat: OffsetDateTime,
) -> Result<String, SdJwtError> {
    create_with(
        provider,
        sd_jwt,
        sd_alg,
        holder,
        (nonce, audience, iat),
        &Map::new(),
    )
}

/// [`create`] with `extra` top-level claims after the four it always has (OpenID4VP
/// `transaction_data_hashes`, B.3.3); an extra claim of one of those names is ignored.
///
/// # Errors
/// As [`create`].
pub fn create_with(
    provider: &CryptoProvider,
    sd_jwt: &SdJwt,
    sd_alg: HashAlgorithm,
    holder: &Arc<dyn Signer>,
    (nonce, audience, iat): (&str, &str, OffsetDateTime),
    extra: &Map<String, Value>,
) -> Result<String, SdJwtError> {
    let mut header = Map::new();
    header.insert("typ".into(), Value::String(KB_JWT_TYP.into()));
    let mut payload = json!({
        "iat": iat.unix_timestamp(),
        "aud": audience,
        "nonce": nonce,
        "sd_hash": sd_hash(provider, sd_jwt, sd_alg)?,
    });
    if let Some(map) = payload.as_object_mut() {
        for (k, v) in extra {
            if !map.contains_key(k) {
                map.insert(k.clone(), v.clone());
            }
        }
    }
    sign_compact(header, payload.to_string().as_bytes(), holder)
}

/// What a KB-JWT is checked against besides the holder key.
#[derive(Clone, Copy)]
pub struct KbCheck<'a> {
    /// Nonce, audience and maximum age.
    pub policy: &'a KeyBindingPolicy,
    /// The verification time.
    pub at: OffsetDateTime,
    /// Clock skew tolerated on `iat`.
    pub skew: Duration,
    /// Accepted algorithms.
    pub allowed: &'a [Algorithm],
    /// The provider: the KB-JWT's signature and the `sd_hash` digest.
    pub provider: &'a CryptoProvider,
}

impl core::fmt::Debug for KbCheck<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KbCheck")
            .field("policy", self.policy)
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

/// Verifies `sd_jwt.kb_jwt` against the holder key `cnf` and `check`.
///
/// # Errors
/// [`SdJwtError::KeyBinding`] naming the failed check; [`SdJwtError::AlgorithmNotAccepted`].
pub fn verify(
    sd_jwt: &SdJwt,
    sd_alg: HashAlgorithm,
    cnf: &PublicKey,
    check: &KbCheck<'_>,
) -> Result<(), SdJwtError> {
    verify_digesting(sd_jwt, sd_alg, cnf, check).map(|_| ())
}

/// The SHA-256 of the compact presentation (when computed) and the KB-JWT's claims.
pub(crate) type KbVerified = (Option<[u8; 32]>, Map<String, Value>);

/// [`verify`], also returning the SHA-256 of the compact presentation when `sd_alg` is
/// SHA-256 (taken from the `sd_hash` pass, so the presentation is hashed once), and the
/// KB-JWT's claims.
pub(crate) fn verify_digesting(
    sd_jwt: &SdJwt,
    sd_alg: HashAlgorithm,
    cnf: &PublicKey,
    check: &KbCheck<'_>,
) -> Result<KbVerified, SdJwtError> {
    let KbCheck {
        policy,
        at,
        skew,
        allowed,
        provider,
    } = *check;
    let fail = |e| SdJwtError::KeyBinding(e);
    let kb = sd_jwt
        .kb_jwt
        .as_deref()
        .ok_or(fail(KeyBindingError::Missing))?;
    let jws = parse_jws(kb, "KB-JWT")?;
    let alg = jws.algorithm_in(allowed)?;
    if alg != cnf.algorithm() {
        return Err(SdJwtError::AlgorithmNotAccepted(
            kmid_crypto::AlgorithmRefusal::KeyMismatch {
                algorithm: alg,
                curve: cnf.curve(),
            },
        ));
    }
    jws.verify(cnf, alg, provider.signature_verifier)
        .map_err(|_| fail(KeyBindingError::BadSignature))?;
    if !jws.typ_is(KB_JWT_TYP) {
        return Err(fail(KeyBindingError::WrongType));
    }
    let claims = jws.payload_json("KB-JWT")?;
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(fail(KeyBindingError::MissingClaim("iat")))?;
    let nonce = claims
        .get("nonce")
        .and_then(Value::as_str)
        .ok_or(fail(KeyBindingError::MissingClaim("nonce")))?;
    let aud = claims
        .get("aud")
        .and_then(Value::as_str)
        .ok_or(fail(KeyBindingError::MissingClaim("aud")))?;
    let hash = claims
        .get("sd_hash")
        .and_then(Value::as_str)
        .ok_or(fail(KeyBindingError::MissingClaim("sd_hash")))?;
    let now = at.unix_timestamp();
    let (skew, max_age) = (skew.whole_seconds(), policy.max_age.whole_seconds());
    if iat > now.saturating_add(skew) || iat < now.saturating_sub(max_age).saturating_sub(skew) {
        return Err(fail(KeyBindingError::Stale { iat, at: now }));
    }
    // Optional time claims of the KB-JWT itself, when present (RFC 7519 §4.1.4, §4.1.5).
    for claim in ["exp", "nbf"] {
        let Some(v) = claims.get(claim) else { continue };
        let value = v
            .as_i64()
            .ok_or(fail(KeyBindingError::MissingClaim(claim)))?;
        let outside = if claim == "exp" {
            now.saturating_sub(skew) >= value
        } else {
            now.saturating_add(skew) < value
        };
        if outside {
            return Err(fail(KeyBindingError::OutsideValidity {
                claim,
                value,
                at: now,
            }));
        }
    }
    let (expected, compact_sha256) = sd_jwt.sd_hash_and_compact_sha256(provider, sd_alg);
    if !kmid_crypto::session::constant_time_eq(hash.as_bytes(), b64(&expected).as_bytes()) {
        return Err(fail(KeyBindingError::SdHashMismatch));
    }
    if nonce != policy.nonce {
        return Err(fail(KeyBindingError::NonceMismatch));
    }
    if aud != policy.audience {
        return Err(fail(KeyBindingError::AudienceMismatch));
    }
    Ok((compact_sha256, claims))
}
