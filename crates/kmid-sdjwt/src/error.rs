//! The one error type of this crate. Each rejection names the exact check that failed, so a
//! relying party can log and act on it.

use kmid_crypto::{Algorithm, AlgorithmRefusal, CryptoError, Curve};
use kmid_schema::error_code::join;
use kmid_schema::status::{StatusError, TokenStatus};

/// Why an SD-JWT or SD-JWT VC was refused, or an operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdJwtError {
    /// The serialization is not an SD-JWT (parts, separators, JSON shape).
    #[error("malformed {part}: {what}")]
    Malformed {
        /// Which part (`SD-JWT`, `issuer JWT`, `KB-JWT`, `disclosure 3` …).
        part: String,
        /// What is wrong.
        what: &'static str,
    },
    /// Base64url that does not decode (or is padded, or has other characters).
    #[error("{part} is not base64url without padding")]
    Base64 {
        /// Which part.
        part: String,
    },
    /// Text that is not the JSON it should be.
    #[error("{part} is not valid JSON of the expected shape")]
    Json {
        /// Which part.
        part: String,
    },
    /// A size or count over the configured limit.
    #[error("{kind}: {actual} exceeds the limit of {max}")]
    Limit {
        /// Which limit of [`crate::SdJwtLimits`].
        kind: crate::limits::SdJwtLimit,
        /// The limit.
        max: usize,
        /// What was found.
        actual: usize,
    },
    /// The `alg` is `none`, symmetric, unknown, or not allowed by the policy.
    #[error("signature algorithm not accepted: {0}")]
    AlgorithmNotAccepted(AlgorithmRefusal),
    /// The issuer's key could not be found or validated.
    #[error("issuer key: {0}")]
    IssuerKey(IssuerKeyError),
    /// The issuer-signed JWT's signature does not verify.
    #[error("the issuer signature does not verify")]
    BadIssuerSignature,
    /// The `typ` header is not what the format requires.
    #[error("typ is {found:?}, expected {expected:?}")]
    WrongType {
        /// What the format requires.
        expected: &'static str,
        /// What was found.
        found: Option<String>,
    },
    /// `_sd_alg` names a hash function that is not accepted.
    #[error("_sd_alg {0:?} is not accepted")]
    HashAlgorithm(String),
    /// A Disclosure is refused.
    #[error("disclosure {index}: {kind}")]
    Disclosure {
        /// Position of the Disclosure in the SD-JWT.
        index: usize,
        /// What is wrong.
        kind: DisclosureError,
    },
    /// The same digest appears more than once in the payload (directly or via Disclosures).
    #[error("digest {0} appears more than once")]
    DuplicateDigest(String),
    /// A required claim is missing or has the wrong type.
    #[error("claim {0:?} is missing or has the wrong type")]
    MissingClaim(&'static str),
    /// A claim that must never be selectively disclosable arrived in a Disclosure.
    #[error("claim {0:?} must not be selectively disclosed")]
    DisclosedRegisteredClaim(String),
    /// `exp` is past (beyond the skew).
    #[error("expired at {exp} (checked at {at})")]
    Expired {
        /// `exp`.
        exp: i64,
        /// Verification time.
        at: i64,
    },
    /// `nbf` is in the future (beyond the skew).
    #[error("not valid before {nbf} (checked at {at})")]
    NotYetValid {
        /// `nbf`.
        nbf: i64,
        /// Verification time.
        at: i64,
    },
    /// `iat` is in the future (beyond the skew).
    #[error("issued in the future: iat {iat} (checked at {at})")]
    IssuedInFuture {
        /// `iat`.
        iat: i64,
        /// Verification time.
        at: i64,
    },
    /// The Key Binding JWT was refused (or is missing when required).
    #[error("key binding: {0}")]
    KeyBinding(KeyBindingError),
    /// The `vct` is not one the verifier accepts.
    #[error("vct {0:?} is not accepted")]
    UnknownVct(String),
    /// `vct#integrity` does not match the Type Metadata.
    #[error("vct#integrity does not match the Type Metadata of {0:?}")]
    VctIntegrity(String),
    /// The credential's status list entry says it must not be accepted.
    #[error("credential status is {0}")]
    Status(TokenStatus),
    /// The status could not be determined.
    #[error("status: {0}")]
    StatusUnavailable(StatusError),
    /// Input to issuance or presentation that cannot be used.
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// A cryptographic operation failed (a signer, an HSM, the backend).
    #[error("crypto: {0}")]
    Crypto(CryptoError),
}

/// Why a Disclosure was refused (RFC 9901 §7.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DisclosureError {
    /// Not base64url, not JSON, or not an array of two or three elements of the right types.
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// Referenced from an object's `_sd` but not of the form [salt, name, value].
    #[error("referenced from _sd but is not [salt, name, value]")]
    NotAnObjectProperty,
    /// Referenced from an array element but not of the form [salt, value].
    #[error("referenced from an array element but is not [salt, value]")]
    NotAnArrayElement,
    /// The claim name is `_sd` or `...`.
    #[error("claim name {0:?} is reserved")]
    ReservedName(String),
    /// The claim name already exists where the Disclosure would insert it.
    #[error("claim {0:?} already exists at its level")]
    NameCollision(String),
    /// No digest in the payload references this Disclosure.
    #[error("not referenced by any digest")]
    NotReferenced,
    /// The same Disclosure was sent twice.
    #[error("sent more than once")]
    Repeated,
}

/// Why the issuer's key could not be established.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerKeyError {
    /// No `x5c` and no configured key for the `iss`/`kid`.
    #[error("no key for issuer {iss:?} (kid {kid:?})")]
    Unknown {
        /// `iss`, if present.
        iss: Option<String>,
        /// `kid`, if present.
        kid: Option<String>,
    },
    /// The `x5c` chain was refused.
    #[error("x5c chain: {0}")]
    Chain(CryptoError),
    /// The `x5c` chain leads to a root that does not vouch for this `vct` (one ministry's
    /// signer cannot sign another ministry's card).
    #[error("the issuing authority's root does not cover vct {vct:?}")]
    VctNotAuthorized {
        /// The credential's `vct`.
        vct: String,
    },
    /// JWT VC Issuer Metadata gave no key.
    #[error("issuer metadata: {0}")]
    Metadata(crate::vc::metadata::MetadataError),
    /// The header's `alg` does not fit the issuer's key.
    #[error("alg {alg} does not fit the issuer's {curve:?} key")]
    AlgorithmMismatch {
        /// The header's `alg`.
        alg: Algorithm,
        /// The issuer key's curve.
        curve: Curve,
    },
}

/// Why the Key Binding JWT was refused (RFC 9901 §7.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyBindingError {
    /// The policy requires Key Binding and the presentation has none.
    #[error("required and missing")]
    Missing,
    /// A holder received an SD-JWT+KB from an issuer (RFC 9901 §7.2).
    #[error("an issued SD-JWT must not carry a KB-JWT")]
    Unexpected,
    /// The credential has no usable `cnf.jwk`.
    #[error("no cnf.jwk in the credential")]
    NoConfirmationKey,
    /// The KB-JWT's signature does not verify under `cnf.jwk`.
    #[error("signature does not verify under cnf.jwk")]
    BadSignature,
    /// `typ` is not `kb+jwt`.
    #[error("typ is not kb+jwt")]
    WrongType,
    /// `sd_hash` is not the digest of the presented SD-JWT.
    #[error("sd_hash does not match the presentation")]
    SdHashMismatch,
    /// `nonce` is not the verifier's.
    #[error("nonce does not match")]
    NonceMismatch,
    /// `aud` is not the verifier.
    #[error("aud does not match")]
    AudienceMismatch,
    /// `iat` is outside the accepted window.
    #[error("iat {iat} is outside the accepted window at {at}")]
    Stale {
        /// The KB-JWT's `iat`.
        iat: i64,
        /// Verification time.
        at: i64,
    },
    /// The KB-JWT carries an `exp` that has passed, or an `nbf` still to come (RFC 9901
    /// §7.3 checks every time claim it has).
    #[error("the KB-JWT is outside its own validity ({claim} {value}) at {at}")]
    OutsideValidity {
        /// `exp` or `nbf`.
        claim: &'static str,
        /// Its value.
        value: i64,
        /// Verification time.
        at: i64,
    },
    /// A required KB-JWT claim is missing or has the wrong type.
    #[error("claim {0:?} is missing or has the wrong type")]
    MissingClaim(&'static str),
}

impl From<CryptoError> for SdJwtError {
    fn from(e: CryptoError) -> Self {
        Self::Crypto(e)
    }
}

pub(crate) fn malformed(part: impl Into<String>, what: &'static str) -> SdJwtError {
    SdJwtError::Malformed {
        part: part.into(),
        what,
    }
}

impl SdJwtError {
    /// The stable code of this error (see [`kmid_schema::error_code`]): the path of variant
    /// names down to the innermost kind, `KeyBinding.NonceMismatch`, `Disclosure.Repeated`,
    /// `IssuerKey.Chain.Certificate.UntrustedRoot`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "Malformed",
            Self::Base64 { .. } => "Base64",
            Self::Json { .. } => "Json",
            Self::Limit { kind, .. } => match kind {
                crate::limits::SdJwtLimit::InputBytes => "Limit.InputBytes",
                crate::limits::SdJwtLimit::Disclosures => "Limit.Disclosures",
                crate::limits::SdJwtLimit::Depth => "Limit.Depth",
                crate::limits::SdJwtLimit::Digests => "Limit.Digests",
            },
            Self::AlgorithmNotAccepted(_) => "AlgorithmNotAccepted",
            Self::IssuerKey(e) => match e {
                IssuerKeyError::Unknown { .. } => "IssuerKey.Unknown",
                IssuerKeyError::Chain(c) => join("IssuerKey.Chain", c.code()),
                IssuerKeyError::VctNotAuthorized { .. } => "IssuerKey.VctNotAuthorized",
                IssuerKeyError::AlgorithmMismatch { .. } => "IssuerKey.AlgorithmMismatch",
                IssuerKeyError::Metadata(m) => join("IssuerKey.Metadata", m.name()),
            },
            Self::BadIssuerSignature => "BadIssuerSignature",
            Self::WrongType { .. } => "WrongType",
            Self::HashAlgorithm(_) => "HashAlgorithm",
            Self::Disclosure { kind, .. } => match kind {
                DisclosureError::Malformed(_) => "Disclosure.Malformed",
                DisclosureError::NotAnObjectProperty => "Disclosure.NotAnObjectProperty",
                DisclosureError::NotAnArrayElement => "Disclosure.NotAnArrayElement",
                DisclosureError::ReservedName(_) => "Disclosure.ReservedName",
                DisclosureError::NameCollision(_) => "Disclosure.NameCollision",
                DisclosureError::NotReferenced => "Disclosure.NotReferenced",
                DisclosureError::Repeated => "Disclosure.Repeated",
            },
            Self::DuplicateDigest(_) => "DuplicateDigest",
            Self::MissingClaim(_) => "MissingClaim",
            Self::DisclosedRegisteredClaim(_) => "DisclosedRegisteredClaim",
            Self::Expired { .. } => "Expired",
            Self::NotYetValid { .. } => "NotYetValid",
            Self::IssuedInFuture { .. } => "IssuedInFuture",
            Self::KeyBinding(e) => match e {
                KeyBindingError::Missing => "KeyBinding.Missing",
                KeyBindingError::Unexpected => "KeyBinding.Unexpected",
                KeyBindingError::NoConfirmationKey => "KeyBinding.NoConfirmationKey",
                KeyBindingError::BadSignature => "KeyBinding.BadSignature",
                KeyBindingError::WrongType => "KeyBinding.WrongType",
                KeyBindingError::SdHashMismatch => "KeyBinding.SdHashMismatch",
                KeyBindingError::NonceMismatch => "KeyBinding.NonceMismatch",
                KeyBindingError::AudienceMismatch => "KeyBinding.AudienceMismatch",
                KeyBindingError::Stale { .. } => "KeyBinding.Stale",
                KeyBindingError::OutsideValidity { .. } => "KeyBinding.OutsideValidity",
                KeyBindingError::MissingClaim(_) => "KeyBinding.MissingClaim",
            },
            Self::UnknownVct(_) => "UnknownVct",
            Self::VctIntegrity(_) => "VctIntegrity",
            Self::Status(s) => join("Status", s.code()),
            Self::StatusUnavailable(e) => join("StatusUnavailable", e.code()),
            Self::InvalidInput(_) => "InvalidInput",
            Self::Crypto(e) => join("Crypto", e.code()),
        }
    }
}
