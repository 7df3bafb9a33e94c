//! The registration number only with a legal basis (PIPA Art. 24-2; issue 18, item 6).
//!
//! A wallet releases `registration_number` only to a verifier that authenticated — a signed
//! OpenID4VP Request Object, or an mdoc readerAuth in proximity — and that presented a
//! **registration attestation**: a JWT signed by a registrar the wallet trusts, naming that
//! verifier, the claims it may collect and the statute that allows it. Otherwise the wallet
//! withholds the number, and the query's own rules decide whether an answer is still possible
//! (`spec/protocols.md`, "The registration number").
//!
//! The attestation (kmid's profile; OpenID4VP 1.0 §5.11 leaves the format to ecosystems):
//!
//! - header: `typ` `kmid-registration+jwt`, `alg` ES256, `kid` of the registrar's key;
//! - payload: `iss` the registrar, `sub` the verifier's Client Identifier
//!   (`x509_hash:<hash of the access or reader certificate>`, or `x509_san_dns:<name>`), `claims`
//!   the claim names it may collect (`["registration_number"]`), `legal_basis` the statute,
//!   `iat`, `exp`.
//!
//! It travels in `verifier_info` (`{"format": "kmid_registration", "data": "<JWT>"}`, with
//! `credential_ids` when it concerns some credentials only) over OpenID4VP, and in the
//! DocRequest's `requestInfo` under `kr.kmid.registration` in proximity; in proximity `sub` is
//! the `x509_hash` of the reader certificate that signed the readerAuth.

use std::sync::Arc;

use kmid_crypto::jose::{CompactJws, sign_compact};
use kmid_crypto::{Algorithm, CryptoProvider, PublicKey, Signer};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

/// The JWT `typ` of a registration attestation.
pub const REGISTRATION_TYP: &str = "kmid-registration+jwt";
/// The `verifier_info` `format` that carries one.
pub const VERIFIER_INFO_FORMAT: &str = "kmid_registration";
/// The DocRequest `requestInfo` key that carries one.
pub const REQUEST_INFO_KEY: &str = "kr.kmid.registration";
/// The claim name of the registration number in attestations.
pub const REGISTRATION_NUMBER: &str = "registration_number";
/// The largest attestation read.
const MAX_ATTESTATION_BYTES: usize = 16 * 1024;
/// How far an attestation's `iat` may be ahead of the wallet's clock.
const CLOCK_SKEW_SECONDS: i64 = 60;

/// Why a registration attestation does not authorize a verifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// Not a compact JWS with the members above.
    #[error("malformed registration attestation: {0}")]
    Malformed(&'static str),
    /// `typ` is not `kmid-registration+jwt`.
    #[error("not a registration attestation (typ)")]
    WrongType,
    /// No trusted registrar key for its `iss` and `kid`.
    #[error("the attestation's registrar is not trusted")]
    UnknownRegistrar,
    /// The signature does not verify under the registrar's key.
    #[error("the attestation's signature does not verify")]
    BadSignature,
    /// Past `exp`, or issued in the future.
    #[error("the attestation is outside its validity")]
    Expired,
    /// `sub` is another verifier than the one that authenticated.
    #[error("the attestation is for another verifier")]
    OtherVerifier,
    /// It does not name the claim asked for.
    #[error("the attestation does not allow this claim")]
    OtherClaim,
    /// No statute named.
    #[error("the attestation names no legal basis")]
    NoLegalBasis,
}

impl RegistrationError {
    /// The stable code of this error.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "Malformed",
            Self::WrongType => "WrongType",
            Self::UnknownRegistrar => "UnknownRegistrar",
            Self::BadSignature => "BadSignature",
            Self::Expired => "Expired",
            Self::OtherVerifier => "OtherVerifier",
            Self::OtherClaim => "OtherClaim",
            Self::NoLegalBasis => "NoLegalBasis",
        }
    }
}

/// A registration attestation's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationAttestation {
    /// `iss`: the registrar.
    pub registrar: String,
    /// `sub`: the verifier's Client Identifier.
    pub verifier: String,
    /// `claims`: what the verifier may collect.
    pub claims: Vec<String>,
    /// `legal_basis`: the statute.
    pub legal_basis: String,
    /// `iat`.
    pub issued_at: OffsetDateTime,
    /// `exp`.
    pub expires: OffsetDateTime,
}

impl RegistrationAttestation {
    /// Signs the attestation as the registrar whose key `signer` holds, named `kid`.
    ///
    /// # Errors
    /// [`RegistrationError::Malformed`] for an empty legal basis or claim list, or a signing
    /// failure.
    pub fn sign(&self, signer: &Arc<dyn Signer>, kid: &str) -> Result<String, RegistrationError> {
        if self.legal_basis.trim().is_empty() {
            return Err(RegistrationError::NoLegalBasis);
        }
        if self.claims.is_empty() {
            return Err(RegistrationError::Malformed("claims"));
        }
        let mut header = Map::new();
        header.insert("typ".into(), REGISTRATION_TYP.into());
        header.insert("kid".into(), kid.into());
        let payload = json!({
            "iss": self.registrar,
            "sub": self.verifier,
            "claims": self.claims,
            "legal_basis": self.legal_basis,
            "iat": self.issued_at.unix_timestamp(),
            "exp": self.expires.unix_timestamp(),
        });
        sign_compact(header, payload.to_string().as_bytes(), signer)
            .map_err(|_| RegistrationError::Malformed("signing failed"))
    }

    /// Verifies `jwt` for `verifier` (the Client Identifier that authenticated) and `claim`
    /// at `at`, against `registrars` (`(iss, kid, key)`: a key with a `kid` matches only that
    /// `kid`), on `provider`.
    ///
    /// # Errors
    /// [`RegistrationError`] naming the first check that failed.
    pub fn verify(
        jwt: &str,
        registrars: &[(String, Option<String>, PublicKey)],
        verifier: &str,
        claim: &str,
        at: OffsetDateTime,
        provider: &CryptoProvider,
    ) -> Result<Self, RegistrationError> {
        if jwt.len() > MAX_ATTESTATION_BYTES {
            return Err(RegistrationError::Malformed("too large"));
        }
        let jws = CompactJws::parse(jwt).map_err(|_| RegistrationError::Malformed("JWS"))?;
        if !jws.typ_is(REGISTRATION_TYP) {
            return Err(RegistrationError::WrongType);
        }
        let alg = jws
            .algorithm(&[Algorithm::Es256])
            .map_err(|_| RegistrationError::Malformed("alg"))?;
        let payload = jws
            .payload_object()
            .map_err(|_| RegistrationError::Malformed("payload"))?;
        let text = |k: &str| payload.get(k).and_then(Value::as_str);
        let registrar = text("iss").ok_or(RegistrationError::Malformed("iss"))?;
        let kid = jws.header.get("kid").and_then(Value::as_str);
        let key = registrars
            .iter()
            .find(|(iss, k, _)| iss == registrar && (k.is_none() || k.as_deref() == kid))
            .map(|(_, _, key)| key)
            .ok_or(RegistrationError::UnknownRegistrar)?;
        jws.verify(key, alg, provider.signature_verifier)
            .map_err(|_| RegistrationError::BadSignature)?;
        let time = |k: &'static str| {
            payload
                .get(k)
                .and_then(Value::as_i64)
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
                .ok_or(RegistrationError::Malformed(k))
        };
        let issued_at = time("iat")?;
        let expires = time("exp")?;
        let now = at.unix_timestamp();
        if now >= expires.unix_timestamp()
            || issued_at.unix_timestamp() > now.saturating_add(CLOCK_SKEW_SECONDS)
        {
            return Err(RegistrationError::Expired);
        }
        let subject = text("sub").ok_or(RegistrationError::Malformed("sub"))?;
        if subject != verifier {
            return Err(RegistrationError::OtherVerifier);
        }
        let claims: Vec<String> = payload
            .get("claims")
            .and_then(Value::as_array)
            .ok_or(RegistrationError::Malformed("claims"))?
            .iter()
            .map(|c| c.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or(RegistrationError::Malformed("claims"))?;
        if !claims.iter().any(|c| c == claim) {
            return Err(RegistrationError::OtherClaim);
        }
        let legal_basis = text("legal_basis").unwrap_or_default().trim().to_owned();
        if legal_basis.is_empty() {
            return Err(RegistrationError::NoLegalBasis);
        }
        Ok(Self {
            registrar: registrar.to_owned(),
            verifier: subject.to_owned(),
            claims,
            legal_basis,
            issued_at,
            expires,
        })
    }

    /// The `verifier_info` entry that carries `jwt` (for `credential_ids`, or all when
    /// empty).
    #[must_use]
    pub fn verifier_info(jwt: &str, credential_ids: &[&str]) -> Value {
        let mut entry = json!({ "format": VERIFIER_INFO_FORMAT, "data": jwt });
        if !credential_ids.is_empty()
            && let Some(map) = entry.as_object_mut()
        {
            map.insert("credential_ids".into(), json!(credential_ids));
        }
        entry
    }
}
