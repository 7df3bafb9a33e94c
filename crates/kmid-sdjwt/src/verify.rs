//! Verifying a plain SD-JWT (RFC 9901 §7.1 and §7.3) with a known issuer key: the core that
//! the SD-JWT VC verifier builds on, usable on its own for any SD-JWT.

use kmid_crypto::{Algorithm, CryptoProvider, HashAlgorithm, Jwk, PublicKey};
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use crate::conceal::PathSegment;
use crate::disclosure::Disclosure;
use crate::error::{IssuerKeyError, KeyBindingError, SdJwtError};
use crate::jws::{CompactJws, JwsExt, parse_jws};
use crate::kb::{self, KbCheck, KeyBindingPolicy};
use crate::limits::SdJwtLimits;
use crate::process::process;
use crate::serialization::SdJwt;

/// What a plain SD-JWT verification checks besides the signature and the Disclosures.
#[derive(Clone)]
pub struct SdJwtCheck {
    /// The `typ` the issuer-signed JWT must carry, if any.
    pub expected_typ: Option<String>,
    /// Accepted signature algorithms (never `none`, never symmetric).
    pub allowed_algorithms: Vec<Algorithm>,
    /// Accepted `_sd_alg` values.
    pub hash_algorithms: Vec<HashAlgorithm>,
    /// Key Binding required, with its policy; `None`: not checked.
    pub key_binding: Option<KeyBindingPolicy>,
    /// Clock skew tolerated on the KB-JWT's `iat`.
    pub clock_skew: Duration,
    /// Input limits.
    pub limits: SdJwtLimits,
    /// The crypto provider: signatures and digests ([`CryptoProvider::get_default`] unless
    /// set).
    pub provider: &'static CryptoProvider,
}

impl core::fmt::Debug for SdJwtCheck {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SdJwtCheck")
            .field("expected_typ", &self.expected_typ)
            .field("allowed_algorithms", &self.allowed_algorithms)
            .field("key_binding", &self.key_binding)
            .finish_non_exhaustive()
    }
}

impl Default for SdJwtCheck {
    fn default() -> Self {
        Self {
            expected_typ: None,
            allowed_algorithms: Algorithm::ALL.to_vec(),
            hash_algorithms: vec![
                HashAlgorithm::Sha256,
                HashAlgorithm::Sha384,
                HashAlgorithm::Sha512,
            ],
            key_binding: None,
            clock_skew: Duration::ZERO,
            limits: SdJwtLimits::default(),
            provider: CryptoProvider::get_default(),
        }
    }
}

/// A verified SD-JWT.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedSdJwt {
    /// The issuer-signed JWT's header.
    pub header: Map<String, Value>,
    /// The Processed SD-JWT Payload.
    pub claims: Map<String, Value>,
    /// For each Disclosure, the path of the claim it revealed.
    pub paths: Vec<Vec<PathSegment>>,
    /// The `_sd_alg` in force.
    pub sd_alg: HashAlgorithm,
    /// Whether a KB-JWT was verified.
    pub key_bound: bool,
    /// The verified KB-JWT's claims (`iat`, `aud`, `nonce`, `sd_hash` and any other, such as
    /// OpenID4VP's `transaction_data_hashes`).
    pub key_binding_claims: Option<Map<String, Value>>,
}

/// Checks the header's `typ` and `alg` and returns the algorithm.
pub(crate) fn header_checks(
    jws: &CompactJws<'_>,
    check: &SdJwtCheck,
) -> Result<Algorithm, SdJwtError> {
    if let Some(expected) = &check.expected_typ
        && !jws.typ_is(expected)
    {
        return Err(SdJwtError::WrongType {
            expected: if expected == crate::vc::SD_JWT_VC_TYP {
                crate::vc::SD_JWT_VC_TYP
            } else {
                "the configured typ"
            },
            found: jws.typ().map(str::to_owned),
        });
    }
    jws.algorithm_in(&check.allowed_algorithms)
}

/// Verifies `sd_jwt` signed by `issuer_key`: the header's `typ` and `alg`, the signature,
/// `_sd_alg`, every Disclosure (RFC 9901 §7.1), and the KB-JWT when `check` requires one
/// (§7.3, with the key in `cnf.jwk`). Validity claims (`exp`, `nbf`) are the caller's.
///
/// # Errors
/// The first failed check, as [`SdJwtError`].
pub fn verify_sd_jwt(
    sd_jwt: &SdJwt,
    issuer_key: &PublicKey,
    check: &SdJwtCheck,
    at: OffsetDateTime,
) -> Result<VerifiedSdJwt, SdJwtError> {
    let jws = parse_jws(&sd_jwt.issuer_jwt, "issuer-signed JWT")?;
    let alg = header_checks(&jws, check)?;
    verify_parsed(sd_jwt, &jws, alg, issuer_key, check, at).map(|(verified, _)| verified)
}

/// The part of [`verify_sd_jwt`] after the header checks and key resolution. With Key Binding
/// checked and `_sd_alg` SHA-256, also the SHA-256 of the compact serialization, from the
/// `sd_hash` pass.
pub(crate) fn verify_parsed(
    sd_jwt: &SdJwt,
    jws: &CompactJws<'_>,
    alg: Algorithm,
    issuer_key: &PublicKey,
    check: &SdJwtCheck,
    at: OffsetDateTime,
) -> Result<(VerifiedSdJwt, Option<[u8; 32]>), SdJwtError> {
    if issuer_key.algorithm() != alg {
        return Err(SdJwtError::IssuerKey(IssuerKeyError::AlgorithmMismatch {
            alg,
            curve: issuer_key.curve(),
        }));
    }
    jws.verify(issuer_key, alg, check.provider.signature_verifier)
        .map_err(|_| SdJwtError::BadIssuerSignature)?;
    let payload = jws.payload_json("issuer-signed JWT")?;
    let sd_alg = match payload.get("_sd_alg") {
        None => HashAlgorithm::Sha256,
        Some(Value::String(name)) => check
            .hash_algorithms
            .iter()
            .copied()
            .find(|h| h.iana_name() == name)
            .ok_or_else(|| SdJwtError::HashAlgorithm(name.chars().take(32).collect()))?,
        Some(_) => return Err(SdJwtError::HashAlgorithm("not a string".into())),
    };
    let disclosures = sd_jwt
        .disclosures
        .iter()
        .enumerate()
        .map(|(i, d)| Disclosure::parse(d, i))
        .collect::<Result<Vec<_>, _>>()?;
    let processed = process(check.provider, payload, &disclosures, sd_alg, &check.limits)?;
    let (key_bound, compact_sha256, key_binding_claims) = match &check.key_binding {
        None => (false, None, None),
        Some(policy) => {
            let cnf = processed
                .claims
                .get("cnf")
                .and_then(|c| c.get("jwk"))
                .and_then(|j| serde_json::from_value::<Jwk>(j.clone()).ok())
                .and_then(|j| j.to_public_key().ok())
                .ok_or(SdJwtError::KeyBinding(KeyBindingError::NoConfirmationKey))?;
            let kb_check = KbCheck {
                policy,
                at,
                skew: check.clock_skew,
                allowed: &check.allowed_algorithms,
                provider: check.provider,
            };
            let (digest, claims) = kb::verify_digesting(sd_jwt, sd_alg, &cnf, &kb_check)?;
            (true, digest, Some(claims))
        }
    };
    let verified = VerifiedSdJwt {
        header: jws.header.clone(),
        claims: processed.claims,
        paths: processed.paths,
        sd_alg,
        key_bound,
        key_binding_claims,
    };
    Ok((verified, compact_sha256))
}
