//! The one error type of this crate.

use core::fmt;

use crate::algorithm::{Algorithm, Curve};

/// Why a cryptographic operation, key import or certificate check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The algorithm is not one this crate supports, or not the key's algorithm.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(AlgorithmRefusal),
    /// A key could not be imported.
    #[error("invalid key: {0}")]
    InvalidKey(KeyError),
    /// The signature does not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// The signature has the wrong length or encoding for the algorithm.
    #[error("malformed signature: expected {expected} bytes, got {actual}")]
    MalformedSignature {
        /// The raw signature length of the algorithm.
        expected: usize,
        /// The length received.
        actual: usize,
    },
    /// The MAC tag does not match.
    #[error("MAC verification failed")]
    BadMac,
    /// AEAD decryption failed (wrong key, nonce or associated data, or tampered ciphertext).
    #[error("decryption failed")]
    DecryptionFailed,
    /// A certificate or certificate chain was rejected.
    #[error("certificate: {0}")]
    Certificate(CertificateError),
    /// Certificate parameters that break the ISO/IEC 18013-5 Annex B profile.
    #[error("certificate profile: {0}")]
    InvalidProfile(&'static str),
    /// An external signer (an HSM, say) reported a failure.
    #[error("signer failed: {0}")]
    Signer(String),
    /// The backend (OpenSSL) failed in a way that is not about the input.
    #[error("crypto backend: {0}")]
    Backend(BackendError),
}

/// Why a signature algorithm was refused: every format (COSE, JWS, status tokens) reports
/// the same reasons.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AlgorithmRefusal {
    /// No algorithm where one is required (a COSE protected header or a JOSE header without
    /// `alg`), or one of the wrong type.
    #[error("no algorithm")]
    Missing,
    /// A JOSE `alg` this crate does not implement (`none`, `HS256`, `RS256` …); at most its
    /// first 32 characters are kept.
    #[error("JOSE alg {0:?} is not implemented")]
    UnknownJose(String),
    /// A COSE `alg` this crate does not implement.
    #[error("COSE alg {0} is not implemented")]
    UnknownCose(i64),
    /// An algorithm this crate implements that the caller's policy does not allow.
    #[error("{0} is not allowed")]
    NotAllowed(Algorithm),
    /// The algorithm does not fit the key (an ES384 header over a P-256 key).
    #[error("{algorithm} does not fit a {curve:?} key")]
    KeyMismatch {
        /// The algorithm named.
        algorithm: Algorithm,
        /// The key's curve.
        curve: Curve,
    },
}

/// What is wrong with a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key type this crate does not handle (`RSA`, `oct`, …).
    #[error("unsupported key type `{0}`")]
    UnsupportedKeyType(String),
    /// A curve this crate does not handle.
    #[error("unsupported curve `{0}`")]
    UnsupportedCurve(String),
    /// A required member or parameter is missing.
    #[error("missing `{0}`")]
    Missing(&'static str),
    /// A member has the wrong type or encoding (not base64url, not a byte string …).
    #[error("`{0}` is malformed")]
    Malformed(&'static str),
    /// A coordinate or scalar of the wrong length for the curve.
    #[error("`{member}` is {actual} bytes; the curve needs {expected}")]
    WrongLength {
        /// The member (`x`, `y`, `d`).
        member: &'static str,
        /// The length the curve requires.
        expected: usize,
        /// The length found.
        actual: usize,
    },
    /// The point is not on the curve (or is the point at infinity).
    #[error("the point is not on the curve")]
    NotOnCurve,
    /// The private scalar does not match the public key given with it.
    #[error("the private key does not match the public key")]
    Mismatch,
    /// The key cannot be used with the requested algorithm.
    #[error("the key cannot be used with {0}")]
    WrongAlgorithm(&'static str),
    /// PEM, DER or PKCS#8 that does not parse.
    #[error("not a valid {0} encoding")]
    Encoding(&'static str),
}

/// Why a certificate or chain was rejected. Each check has its own variant, so a relying party
/// can log and act on the exact reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// The DER does not parse (byte offset and what was expected).
    #[error("malformed at byte {at}: {what}")]
    Malformed {
        /// Byte offset in the certificate.
        at: usize,
        /// What was wrong.
        what: &'static str,
    },
    /// Bytes after the certificate.
    #[error("{0} trailing bytes after the certificate")]
    TrailingData(usize),
    /// The signatureAlgorithm is not the TBSCertificate's signature algorithm (RFC 5280
    /// §4.1.1.2 requires the same identifier in both).
    #[error("signatureAlgorithm differs from the TBSCertificate's signature field")]
    SignatureAlgorithmMismatch,
    /// A negative serial number (RFC 5280 §4.1.2.2: a positive integer).
    #[error("negative serial number")]
    NegativeSerial,
    /// A trust anchor added again, once for anything and once for given scopes: kmid will not
    /// silently widen or narrow what a root vouches for.
    #[error("the trust anchor is already added with another kind of scope (any vs listed)")]
    ScopeConflict,
    /// A CRL is not its claimed issuer's (name, key usage, algorithm or signature).
    #[error("CRL: {0}")]
    CrlIssuer(&'static str),
    /// The certificate at `index` of the chain is revoked (its issuer's CRL lists it).
    #[error("certificate {index} of the chain is revoked")]
    Revoked {
        /// Position in the chain (0 = leaf).
        index: usize,
    },
    /// Whether the certificate at `index` is revoked cannot be told (its CRL could not be
    /// fetched, did not parse or verify, or is stale) and the policy fails hard.
    #[error("revocation of certificate {index} cannot be checked: {why}")]
    RevocationUnavailable {
        /// Position in the chain (0 = leaf).
        index: usize,
        /// Why.
        why: &'static str,
    },
    /// The chain is empty.
    #[error("empty certificate chain")]
    EmptyChain,
    /// More certificates than the limit allows.
    #[error("chain of {length} certificates exceeds the limit of {max}")]
    ChainTooLong {
        /// Certificates presented.
        length: usize,
        /// The limit.
        max: usize,
    },
    /// A certificate is not yet valid at the validation time (index 0 is the leaf).
    #[error("certificate {index} is not valid before {not_before} (unix time)")]
    NotYetValid {
        /// Position in the chain, 0 = leaf.
        index: usize,
        /// Its notBefore, as Unix seconds.
        not_before: i64,
    },
    /// A certificate has expired at the validation time.
    #[error("certificate {index} expired at {not_after} (unix time)")]
    Expired {
        /// Position in the chain, 0 = leaf.
        index: usize,
        /// Its notAfter, as Unix seconds.
        not_after: i64,
    },
    /// A certificate's signature does not verify under its issuer's key.
    #[error("certificate {index}: signature does not verify under its issuer's key")]
    BadSignature {
        /// Position of the certificate whose signature failed (the root's index is the chain length).
        index: usize,
    },
    /// A certificate's issuer name is not the next certificate's subject.
    #[error("certificate {index}: issuer name does not match the next certificate's subject")]
    IssuerMismatch {
        /// Position in the chain.
        index: usize,
    },
    /// No trusted root issued the top of the chain.
    #[error("no trusted root issued the chain")]
    UntrustedRoot,
    /// The leaf certificate is a CA: only end-entity certificates sign documents and requests.
    #[error("the leaf certificate is a CA")]
    LeafIsCa,
    /// A certificate that issued another is not a CA (basicConstraints cA is false or absent).
    #[error("certificate {index} issued another certificate but is not a CA")]
    NotCa {
        /// Position in the chain (the root's index is the chain length).
        index: usize,
    },
    /// A CA's path length constraint is exceeded.
    #[error("certificate {index}: path length constraint exceeded")]
    PathLenExceeded {
        /// Position in the chain.
        index: usize,
    },
    /// A key usage bit the certificate needs is missing.
    #[error("certificate {index}: key usage lacks {missing}")]
    KeyUsage {
        /// Position in the chain.
        index: usize,
        /// The missing usage.
        missing: &'static str,
    },
    /// The leaf lacks the extended key usage the validation requires.
    #[error("the leaf certificate lacks extended key usage {required}")]
    ExtendedKeyUsage {
        /// The required OID.
        required: &'static str,
    },
    /// A critical extension this validator does not understand.
    #[error("certificate {index}: unsupported critical extension {oid}")]
    UnsupportedCriticalExtension {
        /// Position in the chain.
        index: usize,
        /// The extension's OID.
        oid: String,
    },
    /// The same extension appears twice.
    #[error("certificate {index}: duplicate extension {oid}")]
    DuplicateExtension {
        /// Position in the chain.
        index: usize,
        /// The extension's OID.
        oid: String,
    },
    /// The certificate's public key is not a key this crate supports.
    #[error("certificate {index}: {source}")]
    Key {
        /// Position in the chain.
        index: usize,
        /// What is wrong with the key.
        source: KeyError,
    },
    /// The signature algorithm is not one this crate accepts.
    #[error("certificate {index}: unsupported signature algorithm")]
    UnsupportedSignatureAlgorithm {
        /// Position in the chain.
        index: usize,
    },
}

impl From<CertificateError> for CryptoError {
    fn from(e: CertificateError) -> Self {
        Self::Certificate(e)
    }
}

impl From<KeyError> for CryptoError {
    fn from(e: KeyError) -> Self {
        Self::InvalidKey(e)
    }
}

/// An error reported by the OpenSSL backend, kept opaque: its text is for logs.
#[derive(Clone, PartialEq, Eq)]
pub struct BackendError(String);

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BackendError({:?})", self.0)
    }
}

impl BackendError {
    /// A backend's message.
    #[must_use]
    pub fn new(message: String) -> Self {
        Self(message)
    }
}

#[cfg(feature = "openssl")]
impl From<openssl::error::ErrorStack> for CryptoError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        Self::Backend(BackendError(e.to_string()))
    }
}

impl CryptoError {
    /// The stable code of this error (see `kmid_schema::error_code`): `BadSignature`,
    /// `Certificate.UntrustedRoot`, `InvalidKey.NotOnCurve`.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedAlgorithm(_) => "UnsupportedAlgorithm",
            Self::InvalidKey(e) => match e {
                KeyError::UnsupportedKeyType(_) => "InvalidKey.UnsupportedKeyType",
                KeyError::UnsupportedCurve(_) => "InvalidKey.UnsupportedCurve",
                KeyError::Missing(_) => "InvalidKey.Missing",
                KeyError::Malformed(_) => "InvalidKey.Malformed",
                KeyError::WrongLength { .. } => "InvalidKey.WrongLength",
                KeyError::NotOnCurve => "InvalidKey.NotOnCurve",
                KeyError::Mismatch => "InvalidKey.Mismatch",
                KeyError::WrongAlgorithm(_) => "InvalidKey.WrongAlgorithm",
                KeyError::Encoding(_) => "InvalidKey.Encoding",
            },
            Self::BadSignature => "BadSignature",
            Self::MalformedSignature { .. } => "MalformedSignature",
            Self::BadMac => "BadMac",
            Self::DecryptionFailed => "DecryptionFailed",
            Self::Certificate(e) => e.code(),
            Self::InvalidProfile(_) => "InvalidProfile",
            Self::Signer(_) => "Signer",
            Self::Backend(_) => "Backend",
        }
    }
}

impl CertificateError {
    /// The code of a certificate error inside [`CryptoError`]: `Certificate.` and the
    /// variant's name.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Malformed { .. } => "Certificate.Malformed",
            Self::TrailingData(_) => "Certificate.TrailingData",
            Self::SignatureAlgorithmMismatch => "Certificate.SignatureAlgorithmMismatch",
            Self::NegativeSerial => "Certificate.NegativeSerial",
            Self::ScopeConflict => "Certificate.ScopeConflict",
            Self::CrlIssuer(_) => "Certificate.CrlIssuer",
            Self::Revoked { .. } => "Certificate.Revoked",
            Self::RevocationUnavailable { .. } => "Certificate.RevocationUnavailable",
            Self::EmptyChain => "Certificate.EmptyChain",
            Self::ChainTooLong { .. } => "Certificate.ChainTooLong",
            Self::NotYetValid { .. } => "Certificate.NotYetValid",
            Self::Expired { .. } => "Certificate.Expired",
            Self::BadSignature { .. } => "Certificate.BadSignature",
            Self::IssuerMismatch { .. } => "Certificate.IssuerMismatch",
            Self::UntrustedRoot => "Certificate.UntrustedRoot",
            Self::LeafIsCa => "Certificate.LeafIsCa",
            Self::NotCa { .. } => "Certificate.NotCa",
            Self::PathLenExceeded { .. } => "Certificate.PathLenExceeded",
            Self::KeyUsage { .. } => "Certificate.KeyUsage",
            Self::ExtendedKeyUsage { .. } => "Certificate.ExtendedKeyUsage",
            Self::UnsupportedCriticalExtension { .. } => "Certificate.UnsupportedCriticalExtension",
            Self::DuplicateExtension { .. } => "Certificate.DuplicateExtension",
            Self::Key { .. } => "Certificate.Key",
            Self::UnsupportedSignatureAlgorithm { .. } => {
                "Certificate.UnsupportedSignatureAlgorithm"
            }
        }
    }
}
