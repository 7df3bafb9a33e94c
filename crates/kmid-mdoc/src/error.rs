//! The one error type of this crate. A verifier's rejection names the exact check that failed
//! (and for which element), so a relying party can log and act on it.

use kmid_crypto::{AlgorithmRefusal, CryptoError};
use kmid_schema::error_code::join;
use kmid_schema::status::{StatusError, TokenStatus};

use crate::cbor::CborError;

/// Why an mdoc structure was refused or an operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MdocError {
    /// The bytes are not acceptable CBOR.
    #[error(transparent)]
    Cbor(#[from] CborError),
    /// Well-formed CBOR that does not have the structure ISO/IEC 18013-5 defines.
    #[error("{path}: expected {expected}")]
    Malformed {
        /// Where, as a path (`DeviceResponse.documents[0].issuerSigned`).
        path: String,
        /// What was expected there.
        expected: &'static str,
    },
    /// A version this implementation does not speak.
    #[error("unsupported {what} version {version:?}")]
    UnsupportedVersion {
        /// The structure.
        what: &'static str,
        /// The version received.
        version: String,
    },
    /// A count over the configured limit.
    #[error("{what}: {actual} exceeds the limit of {max}")]
    Limit {
        /// What was counted.
        what: &'static str,
        /// The limit.
        max: usize,
        /// What was found.
        actual: usize,
    },
    /// The issuer signature (issuerAuth) was refused.
    #[error("issuer authentication: {0}")]
    IssuerAuth(IssuerAuthError),
    /// The MSO is for another document type than the Document claims.
    #[error("the MSO docType {mso:?} is not the document's docType {document:?}")]
    DocTypeMismatch {
        /// docType in the MSO.
        mso: String,
        /// docType of the Document.
        document: String,
    },
    /// An issuer-signed item does not match the MSO.
    #[error("{namespace}/{element}: {kind}")]
    Digest {
        /// NameSpace.
        namespace: String,
        /// DataElementIdentifier.
        element: String,
        /// What is wrong.
        kind: DigestError,
    },
    /// The MSO names a digest algorithm other than SHA-256, SHA-384 or SHA-512.
    #[error("unsupported digest algorithm {0:?}")]
    UnsupportedDigestAlgorithm(String),
    /// The MSO validity window does not contain the verification time.
    #[error("validity: {0}")]
    Validity(ValidityError),
    /// Device authentication was refused.
    #[error("device authentication: {0}")]
    DeviceAuth(DeviceAuthError),
    /// The credential's status list entry says it must not be accepted.
    #[error("credential status is {0}")]
    Status(TokenStatus),
    /// The status could not be determined.
    #[error("status: {0}")]
    StatusUnavailable(StatusError),
    /// Reader authentication was refused.
    #[error("reader authentication: {0}")]
    ReaderAuth(ReaderAuthError),
    /// Session encryption failed.
    #[error("session: {0}")]
    Session(SessionError),
    /// The DeviceResponse reports an error status instead of documents.
    #[error("the DeviceResponse has status {0}")]
    ResponseStatus(u64),
    /// The response has no documents where the request asked for some.
    #[error("the DeviceResponse carries no document")]
    NoDocuments,
    /// The response carries a document type or an element the request did not ask for.
    #[error("{doc_type} {namespace}/{element} was not requested")]
    NotRequested {
        /// docType.
        doc_type: String,
        /// NameSpace (empty for a whole document).
        namespace: String,
        /// DataElementIdentifier (empty for a whole document).
        element: String,
    },
    /// A returned document leaves out an element the request asked for and did not mark
    /// optional ([`crate::model::ItemsRequest::optional`]).
    #[error("{doc_type} {namespace}/{element} was asked for and not returned")]
    NotReturned {
        /// docType.
        doc_type: String,
        /// NameSpace.
        namespace: String,
        /// DataElementIdentifier.
        element: String,
    },
    /// A VICAL was refused (its signer, signature, freshness or an entry).
    #[error("VICAL: {0}")]
    Vical(&'static str),
    /// A request or an issuance input that cannot be served.
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// A cryptographic operation failed (a signer, an HSM, the backend).
    #[error("crypto: {0}")]
    Crypto(CryptoError),
}

/// Why issuerAuth was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerAuthError {
    /// No `x5chain` in the unprotected (or protected) header.
    #[error("no x5chain")]
    MissingX5Chain,
    /// The `alg` is missing, not allowed, or not the Document Signer key's algorithm.
    #[error("algorithm not accepted: {0}")]
    Algorithm(AlgorithmRefusal),
    /// The Document Signer certificate chain was refused.
    #[error("certificate chain: {0}")]
    Chain(CryptoError),
    /// The signature does not verify under the Document Signer key.
    #[error("signature does not verify")]
    BadSignature,
    /// The Document Signer's root may not vouch for this document type (one ministry's
    /// signer cannot sign another ministry's card).
    #[error("the issuing authority's root does not cover docType {doc_type:?}")]
    DocTypeNotAuthorized {
        /// The MSO's docType.
        doc_type: String,
    },
    /// The protected header lists `crit` parameters, none of which this profile understands.
    #[error("unsupported critical header parameters")]
    CriticalHeader,
    /// The payload is missing (issuerAuth must carry the MSO).
    #[error("no payload")]
    MissingPayload,
}

/// What is wrong between an issuer-signed item and the MSO.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The MSO has no digest for this item's namespace and digestID.
    #[error("digestID {digest_id} is not in the MSO")]
    Missing {
        /// The item's digestID.
        digest_id: u64,
    },
    /// The digest of the item's bytes is not the MSO's.
    #[error("digest of digestID {digest_id} does not match the MSO")]
    Mismatch {
        /// The item's digestID.
        digest_id: u64,
    },
    /// Two disclosed items share a digestID.
    #[error("digestID {digest_id} disclosed twice")]
    DuplicateDigestId {
        /// The digestID.
        digest_id: u64,
    },
    /// The same element disclosed twice in one namespace.
    #[error("disclosed twice")]
    DuplicateElement,
}

/// Why the validity window was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidityError {
    /// Before validFrom (allowing for the configured clock skew).
    #[error("not valid before {valid_from} (checked at {at})")]
    NotYetValid {
        /// validFrom, Unix seconds.
        valid_from: i64,
        /// The verification time, Unix seconds.
        at: i64,
    },
    /// After validUntil (allowing for the configured clock skew).
    #[error("expired at {valid_until} (checked at {at})")]
    Expired {
        /// validUntil, Unix seconds.
        valid_until: i64,
        /// The verification time, Unix seconds.
        at: i64,
    },
    /// The window is inconsistent: validFrom before signed, or validUntil not after validFrom.
    #[error("inconsistent validity: {0}")]
    Inconsistent(&'static str),
    /// The MSO was signed outside the Document Signer certificate's validity.
    #[error("signed at {signed}, outside the Document Signer certificate's validity")]
    SignedOutsideCertificate {
        /// `signed`, Unix seconds.
        signed: i64,
    },
}

/// Why device authentication was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceAuthError {
    /// deviceSignature does not verify under the MSO's device key (another key signed, or the
    /// signed SessionTranscript or docType differs).
    #[error("deviceSignature does not verify under the MSO's device key")]
    BadSignature,
    /// deviceMac does not match (another key, or another SessionTranscript).
    #[error("deviceMac does not match")]
    BadMac,
    /// The protected header lists `crit` parameters this profile does not understand.
    #[error("unsupported critical header parameters")]
    CriticalHeader,
    /// deviceMac was sent, but the verifier has no ephemeral reader key to derive EMacKey.
    #[error("deviceMac needs the reader's ephemeral key")]
    MacNeedsReaderKey,
    /// The algorithm of the device signature or MAC is not accepted.
    #[error("algorithm not accepted: {0}")]
    Algorithm(AlgorithmRefusal),
    /// A device-signed element that the MSO's keyAuthorizations do not allow.
    #[error("{namespace}/{element} is not authorized for device signing")]
    NotAuthorized {
        /// NameSpace.
        namespace: String,
        /// DataElementIdentifier.
        element: String,
    },
}

/// Why reader authentication was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReaderAuthError {
    /// The request has no readerAuth and the holder's policy requires it.
    #[error("required and missing")]
    Missing,
    /// No x5chain in readerAuth.
    #[error("no x5chain")]
    MissingX5Chain,
    /// The algorithm is missing, not allowed, or not the reader key's.
    #[error("algorithm not accepted: {0}")]
    Algorithm(AlgorithmRefusal),
    /// The reader certificate chain was refused.
    #[error("certificate chain: {0}")]
    Chain(CryptoError),
    /// The protected header lists `crit` parameters this profile does not understand.
    #[error("unsupported critical header parameters")]
    CriticalHeader,
    /// The signature over ReaderAuthentication does not verify.
    #[error("signature does not verify")]
    BadSignature,
}

/// Why session encryption failed (ISO/IEC 18013-5 §9.1.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// AES-GCM decryption failed: status 10 (session encryption error).
    #[error("decryption failed")]
    Decryption,
    /// The message counter is exhausted.
    #[error("message counter exhausted")]
    CounterExhausted,
    /// The peer ended the session (status 20) or reported an error status.
    #[error("peer sent status {0}")]
    PeerStatus(u64),
    /// The cipher suite is not 1.
    #[error("unsupported cipher suite {0}")]
    CipherSuite(i64),
    /// The session was already terminated.
    #[error("session terminated")]
    Terminated,
}

impl From<CryptoError> for MdocError {
    fn from(e: CryptoError) -> Self {
        Self::Crypto(e)
    }
}

/// Shorthand for a structure error.
pub(crate) fn malformed(path: impl Into<String>, expected: &'static str) -> MdocError {
    MdocError::Malformed {
        path: path.into(),
        expected,
    }
}

impl MdocError {
    /// The stable code of this error (see [`kmid_schema::error_code`]): the path of variant
    /// names down to the innermost kind, `Digest.Mismatch`, `IssuerAuth.Chain.Certificate.Expired`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Cbor(e) => join("Cbor", e.code()),
            Self::Malformed { .. } => "Malformed",
            Self::UnsupportedVersion { .. } => "UnsupportedVersion",
            Self::Limit { .. } => "Limit",
            Self::IssuerAuth(e) => match e {
                IssuerAuthError::MissingX5Chain => "IssuerAuth.MissingX5Chain",
                IssuerAuthError::Algorithm(_) => "IssuerAuth.Algorithm",
                IssuerAuthError::Chain(c) => join("IssuerAuth.Chain", c.code()),
                IssuerAuthError::BadSignature => "IssuerAuth.BadSignature",
                IssuerAuthError::DocTypeNotAuthorized { .. } => "IssuerAuth.DocTypeNotAuthorized",
                IssuerAuthError::CriticalHeader => "IssuerAuth.CriticalHeader",
                IssuerAuthError::MissingPayload => "IssuerAuth.MissingPayload",
            },
            Self::DocTypeMismatch { .. } => "DocTypeMismatch",
            Self::Digest { kind, .. } => match kind {
                DigestError::Missing { .. } => "Digest.Missing",
                DigestError::Mismatch { .. } => "Digest.Mismatch",
                DigestError::DuplicateDigestId { .. } => "Digest.DuplicateDigestId",
                DigestError::DuplicateElement => "Digest.DuplicateElement",
            },
            Self::UnsupportedDigestAlgorithm(_) => "UnsupportedDigestAlgorithm",
            Self::Validity(e) => match e {
                ValidityError::NotYetValid { .. } => "Validity.NotYetValid",
                ValidityError::Expired { .. } => "Validity.Expired",
                ValidityError::Inconsistent(_) => "Validity.Inconsistent",
                ValidityError::SignedOutsideCertificate { .. } => {
                    "Validity.SignedOutsideCertificate"
                }
            },
            Self::DeviceAuth(e) => match e {
                DeviceAuthError::BadSignature => "DeviceAuth.BadSignature",
                DeviceAuthError::BadMac => "DeviceAuth.BadMac",
                DeviceAuthError::CriticalHeader => "DeviceAuth.CriticalHeader",
                DeviceAuthError::MacNeedsReaderKey => "DeviceAuth.MacNeedsReaderKey",
                DeviceAuthError::Algorithm(_) => "DeviceAuth.Algorithm",
                DeviceAuthError::NotAuthorized { .. } => "DeviceAuth.NotAuthorized",
            },
            Self::Status(s) => join("Status", s.code()),
            Self::StatusUnavailable(e) => join("StatusUnavailable", e.code()),
            Self::ReaderAuth(e) => match e {
                ReaderAuthError::Missing => "ReaderAuth.Missing",
                ReaderAuthError::MissingX5Chain => "ReaderAuth.MissingX5Chain",
                ReaderAuthError::Algorithm(_) => "ReaderAuth.Algorithm",
                ReaderAuthError::Chain(c) => join("ReaderAuth.Chain", c.code()),
                ReaderAuthError::CriticalHeader => "ReaderAuth.CriticalHeader",
                ReaderAuthError::BadSignature => "ReaderAuth.BadSignature",
            },
            Self::Session(e) => match e {
                SessionError::Decryption => "Session.Decryption",
                SessionError::CounterExhausted => "Session.CounterExhausted",
                SessionError::PeerStatus(_) => "Session.PeerStatus",
                SessionError::CipherSuite(_) => "Session.CipherSuite",
                SessionError::Terminated => "Session.Terminated",
            },
            Self::ResponseStatus(_) => "ResponseStatus",
            Self::NoDocuments => "NoDocuments",
            Self::NotRequested { .. } => "NotRequested",
            Self::NotReturned { .. } => "NotReturned",
            Self::Vical(_) => "Vical",
            Self::InvalidInput(_) => "InvalidInput",
            Self::Crypto(e) => join("Crypto", e.code()),
        }
    }
}
