//! The verification record (진위확인·사본저장): what a verifier saw, when, for what purpose,
//! with which result — only the disclosed claims and a digest of the presentation — signed by
//! the verifier as a compact JWS, so it can be stored, printed and checked for tampering later.

use std::sync::Arc;

use kmid_crypto::jose::{CompactJws, sign_compact};
use kmid_crypto::{DefaultVerifier, PublicKey, Signer};
use kmid_schema::catalogue::{self, ClaimId};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::error::KmidError;
use crate::verifier::{Format, VerifiedPresentation};

/// The JWS `typ` of a verification record.
pub const RECORD_TYP: &str = "kmid-record+jwt";

/// Why a verification record was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// Not a compact JWS of a JSON record, or a member missing or mistyped.
    #[error("malformed verification record: {0}")]
    Malformed(&'static str),
    /// The `typ` is not [`RECORD_TYP`].
    #[error("not a verification record (typ)")]
    WrongType,
    /// The signature does not verify under the verifier's key.
    #[error("the verification record's signature does not verify")]
    BadSignature,
}

impl RecordError {
    /// The stable code of this error (see `kmid_schema::error_code`).
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "Malformed",
            Self::WrongType => "WrongType",
            Self::BadSignature => "BadSignature",
        }
    }
}

/// A verification record.
#[derive(Debug, Clone, PartialEq)]
pub struct VerificationRecord {
    /// Who verified (the relying party's identifier).
    pub verifier: String,
    /// What for (e.g. "account opening").
    pub purpose: String,
    /// The law that allowed collecting what was collected, when it was asked for.
    pub legal_basis: Option<String>,
    /// When, Unix seconds.
    pub verified_at: i64,
    /// The format presented.
    pub format: Format,
    /// The docType / `vct`.
    pub credential_type: String,
    /// The issuing Document Signer's common name.
    pub issuer: Option<String>,
    /// The status the verifier saw (`VALID`).
    pub status: Option<String>,
    /// The disclosed claims, by mdoc element identifier.
    pub claims: Map<String, Value>,
    /// `sha-256:` and the base64url SHA-256 of the presentation bytes as received.
    pub presentation_digest: String,
}

impl VerificationRecord {
    /// The record of `verified` (whose digest the verifier took over the exact bytes it
    /// verified), made at `at`.
    ///
    /// # Errors
    /// [`KmidError::LegalBasisRequired`] when the registration number was disclosed and no
    /// legal basis is given.
    pub fn new(
        verified: &VerifiedPresentation,
        verifier: &str,
        purpose: &str,
        legal_basis: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<Self, KmidError> {
        if legal_basis.is_none() && verified.claim(ClaimId::RegistrationNumber).is_some() {
            return Err(KmidError::LegalBasisRequired);
        }
        Ok(Self {
            verifier: verifier.to_owned(),
            purpose: purpose.to_owned(),
            legal_basis: legal_basis.map(str::to_owned),
            verified_at: at.unix_timestamp(),
            format: verified.format,
            credential_type: verified.card_type.doc_type().to_owned(),
            issuer: verified.issuer.clone(),
            status: verified.status.map(|s| s.to_string()),
            claims: verified
                .claims
                .iter()
                .map(|(id, v)| (catalogue::spec(*id).mdoc.identifier.to_owned(), v.clone()))
                .collect(),
            presentation_digest: verified.presentation_digest.clone(),
        })
    }

    /// The record as a JSON object.
    #[must_use]
    pub fn to_json(&self) -> Value {
        json!({
            "version": 1,
            "verifier": self.verifier,
            "purpose": self.purpose,
            "legal_basis": self.legal_basis,
            "verified_at": self.verified_at,
            "format": match self.format { Format::Mdoc => "mdoc", Format::SdJwtVc => "dc+sd-jwt" },
            "credential_type": self.credential_type,
            "issuer": self.issuer,
            "status": self.status,
            "result": "valid",
            "claims": Value::Object(self.claims.clone()),
            "presentation_digest": self.presentation_digest,
        })
    }

    /// Signs the record as a compact JWS (`typ` [`RECORD_TYP`]) with the verifier's key.
    ///
    /// # Errors
    /// Signer failures.
    pub fn sign(&self, signer: &Arc<dyn Signer>) -> Result<String, KmidError> {
        let mut header = Map::new();
        header.insert("typ".into(), Value::String(RECORD_TYP.into()));
        sign_compact(header, self.to_json().to_string().as_bytes(), signer).map_err(|_| {
            KmidError::Crypto(kmid_crypto::CryptoError::Signer(
                "verification record".into(),
            ))
        })
    }

    /// Checks a signed record against the verifier's key and reads it back.
    ///
    /// # Errors
    /// [`RecordError`] naming what failed.
    pub fn verify(signed: &str, key: &PublicKey) -> Result<Self, RecordError> {
        let jws =
            CompactJws::parse(signed).map_err(|_| RecordError::Malformed("not a compact JWS"))?;
        let alg = jws
            .algorithm(&[key.algorithm()])
            .map_err(|_| RecordError::BadSignature)?;
        jws.verify(key, alg, &DefaultVerifier)
            .map_err(|_| RecordError::BadSignature)?;
        if !jws.typ_is(RECORD_TYP) {
            return Err(RecordError::WrongType);
        }
        let p = jws
            .payload_object()
            .map_err(|_| RecordError::Malformed("payload"))?;
        let text = |name: &'static str| {
            p.get(name)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(RecordError::Malformed(name))
        };
        let optional = |name: &'static str| match p.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(RecordError::Malformed(name)),
        };
        if p.get("version").and_then(Value::as_u64) != Some(1) {
            return Err(RecordError::Malformed("version"));
        }
        if p.get("result").and_then(Value::as_str) != Some("valid") {
            return Err(RecordError::Malformed("result"));
        }
        Ok(Self {
            verifier: text("verifier")?,
            purpose: text("purpose")?,
            legal_basis: optional("legal_basis")?,
            verified_at: p
                .get("verified_at")
                .and_then(Value::as_i64)
                .ok_or(RecordError::Malformed("verified_at"))?,
            format: match text("format")?.as_str() {
                "mdoc" => Format::Mdoc,
                "dc+sd-jwt" => Format::SdJwtVc,
                _ => return Err(RecordError::Malformed("format")),
            },
            credential_type: text("credential_type")?,
            issuer: optional("issuer")?,
            status: optional("status")?,
            claims: p
                .get("claims")
                .and_then(Value::as_object)
                .cloned()
                .ok_or(RecordError::Malformed("claims"))?,
            presentation_digest: text("presentation_digest")?,
        })
        .and_then(|r: Self| {
            let number = catalogue::spec(ClaimId::RegistrationNumber).mdoc.identifier;
            if r.legal_basis.is_none() && r.claims.contains_key(number) {
                return Err(RecordError::Malformed("legal_basis"));
            }
            Ok(r)
        })
    }
}
