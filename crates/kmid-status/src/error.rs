//! The one error type of this crate.

use kmid_crypto::{AlgorithmRefusal, CryptoError};
use kmid_schema::error_code::join;
use kmid_schema::status::TokenRefusal;

/// Why a status list, a status list token or a registry operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatusListError {
    /// `bits` is not 1, 2, 4 or 8.
    #[error("bits must be 1, 2, 4 or 8, not {0}")]
    Bits(u64),
    /// A status value that does not fit in `bits`.
    #[error("status {value} does not fit in {bits} bits")]
    ValueTooLarge {
        /// The value.
        value: u8,
        /// Bits per entry.
        bits: u8,
    },
    /// An index outside the list.
    #[error("index {index} is outside the list of {size} entries")]
    IndexOutOfRange {
        /// The index.
        index: u64,
        /// Entries in the list.
        size: u64,
    },
    /// The compressed list is not ZLIB/DEFLATE, or is truncated.
    #[error("the compressed status list is not valid ZLIB data")]
    Decompression,
    /// The decompressed list would exceed the configured cap (a ZLIB bomb).
    #[error("the status list decompresses to more than {max} bytes")]
    TooLarge {
        /// The cap, in bytes.
        max: usize,
    },
    /// The token is not a Status List Token of the expected shape.
    #[error("malformed status list token: {0}")]
    Malformed(&'static str),
    /// The token's type header is wrong.
    #[error("the token type is not {0}")]
    WrongType(&'static str),
    /// The algorithm is not accepted, or does not fit the key.
    #[error("signature algorithm not accepted: {0}")]
    Algorithm(AlgorithmRefusal),
    /// Writing a streamed token failed (its output, or the compressor).
    #[error("writing the status list token failed: {0}")]
    Output(String),
    /// No key could be found or validated for the token's issuer.
    #[error("status list signer: {0}")]
    Signer(CryptoError),
    /// The token's signature does not verify.
    #[error("the status list token signature does not verify")]
    BadSignature,
    /// The token carries no certificate chain, and no configured key has its `kid`.
    #[error("no configured status list signer key for kid {0:?}")]
    UnknownKey(Option<String>),
    /// The token's `sub` is not the URI the credential names.
    #[error("status list token sub {sub:?} is not the referenced uri {uri:?}")]
    SubjectMismatch {
        /// The token's `sub`.
        sub: String,
        /// The credential's `status_list.uri`.
        uri: String,
    },
    /// The token has expired.
    #[error("the status list token expired at {exp} (checked at {at})")]
    Expired {
        /// `exp`.
        exp: i64,
        /// Verification time.
        at: i64,
    },
    /// The token is not valid yet (`nbf`).
    #[error("the status list token is not valid before {nbf} (checked at {at})")]
    NotYetValid {
        /// `nbf`.
        nbf: i64,
        /// Verification time.
        at: i64,
    },
    /// The token was issued in the future.
    #[error("the status list token is issued in the future: iat {iat} (checked at {at})")]
    IssuedInFuture {
        /// `iat`.
        iat: i64,
        /// Verification time.
        at: i64,
    },
    /// A registry rule refuses the operation.
    #[error("registry: {0}")]
    Registry(RegistryError),
    /// A crypto operation (signing) failed.
    #[error("crypto: {0}")]
    Crypto(CryptoError),
}

/// Why the lifecycle registry refused an operation or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The card already has an active credential on another device; re-issue first.
    #[error("the card is active on another device; re-issue to move it")]
    SecondDevice,
    /// No such card.
    #[error("unknown card")]
    UnknownCard,
    /// The physical card is reported lost; it takes no new credential until it is found.
    #[error("the physical card is reported lost")]
    CardLost,
    /// The device is reported lost; it takes no credential until it is found.
    #[error("the device is reported lost")]
    DeviceLost,
    /// No such credential.
    #[error("unknown credential {0}")]
    UnknownCredential(u64),
    /// The credential is already INVALID; nothing can change it.
    #[error("credential {0} is invalid for good")]
    AlreadyInvalid(u64),
    /// No such status list.
    #[error("unknown status list {0}")]
    UnknownList(u64),
    /// Every status list is full and no new one may be opened.
    #[error("no free index in any status list")]
    Full,
    /// The database file is not a registry, or is corrupt.
    #[error("the registry database is corrupt: {0}")]
    Corrupt(String),
    /// The database schema is newer than this library.
    #[error("the registry schema version {found} is newer than {supported}")]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this library knows.
        supported: i64,
    },
    /// The storage failed (I/O, locking).
    #[error("storage: {0}")]
    Storage(String),
    /// No IC chip is enrolled for the card (none yet, or its card was replaced).
    #[error("no IC chip is enrolled for the card")]
    ChipNotEnrolled,
    /// The chip key was retired (its card was replaced, or another chip enrolled): it never
    /// vouches again.
    #[error("the IC chip was retired")]
    ChipRetired,
    /// The person's mobile IDs are on another phone (one active phone per person): re-issue
    /// to move them.
    #[error("the person's mobile IDs are on another phone")]
    OtherPhone,
    /// A renewal was refused.
    #[error("renewal refused: {}", .0.name())]
    Renewal(crate::registry::RenewalRefusal),
    /// Credentials were to join an issuance that is no longer the card's latest, or whose
    /// credentials are all INVALID.
    #[error("the issuance was superseded")]
    Superseded,
}

impl StatusListError {
    /// The stable code of this error (see [`kmid_schema::error_code`]): `SubjectMismatch`,
    /// `Registry.SecondDevice`, `Signer.Certificate.UntrustedRoot`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Bits(_) => "Bits",
            Self::ValueTooLarge { .. } => "ValueTooLarge",
            Self::IndexOutOfRange { .. } => "IndexOutOfRange",
            Self::Decompression => "Decompression",
            Self::TooLarge { .. } => "TooLarge",
            Self::Malformed(_) => "Malformed",
            Self::WrongType(_) => "WrongType",
            Self::Algorithm(_) => "Algorithm",
            Self::Output(_) => "Output",
            Self::Signer(e) => join("Signer", e.code()),
            Self::BadSignature => "BadSignature",
            Self::UnknownKey(_) => "UnknownKey",
            Self::SubjectMismatch { .. } => "SubjectMismatch",
            Self::Expired { .. } => "Expired",
            Self::NotYetValid { .. } => "NotYetValid",
            Self::IssuedInFuture { .. } => "IssuedInFuture",
            Self::Registry(e) => e.code(),
            Self::Crypto(e) => join("Crypto", e.code()),
        }
    }

    /// Which check of a Status List Token this error is, as a verifier of a credential
    /// reports it ([`kmid_schema::status::StatusError::InvalidToken`]).
    #[must_use]
    pub const fn token_refusal(&self) -> TokenRefusal {
        match self {
            Self::TooLarge { .. } => TokenRefusal::TooLarge,
            Self::WrongType(_) => TokenRefusal::WrongType,
            Self::Algorithm(_) => TokenRefusal::Algorithm,
            Self::Signer(CryptoError::Certificate(kmid_crypto::CertificateError::Revoked {
                ..
            })) => TokenRefusal::SignerRevoked,
            Self::Signer(_) | Self::UnknownKey(_) => TokenRefusal::Signer,
            Self::BadSignature => TokenRefusal::BadSignature,
            Self::SubjectMismatch { .. } => TokenRefusal::SubjectMismatch,
            Self::Expired { .. } | Self::NotYetValid { .. } | Self::IssuedInFuture { .. } => {
                TokenRefusal::Validity
            }
            Self::Bits(_)
            | Self::ValueTooLarge { .. }
            | Self::IndexOutOfRange { .. }
            | Self::Decompression
            | Self::Malformed(_)
            | Self::Output(_)
            | Self::Registry(_)
            | Self::Crypto(_) => TokenRefusal::Malformed,
        }
    }
}

impl RegistryError {
    /// The code of a registry error inside [`StatusListError`]: `Registry.` and the
    /// variant's name.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::SecondDevice => "Registry.SecondDevice",
            Self::UnknownCard => "Registry.UnknownCard",
            Self::CardLost => "Registry.CardLost",
            Self::DeviceLost => "Registry.DeviceLost",
            Self::UnknownCredential(_) => "Registry.UnknownCredential",
            Self::AlreadyInvalid(_) => "Registry.AlreadyInvalid",
            Self::UnknownList(_) => "Registry.UnknownList",
            Self::Full => "Registry.Full",
            Self::Corrupt(_) => "Registry.Corrupt",
            Self::SchemaTooNew { .. } => "Registry.SchemaTooNew",
            Self::Storage(_) => "Registry.Storage",
            Self::ChipNotEnrolled => "Registry.ChipNotEnrolled",
            Self::ChipRetired => "Registry.ChipRetired",
            Self::OtherPhone => "Registry.OtherPhone",
            Self::Superseded => "Registry.Superseded",
            Self::Renewal(r) => match r {
                crate::registry::RenewalRefusal::Unknown => "Registry.Renewal.Unknown",
                crate::registry::RenewalRefusal::Used => "Registry.Renewal.Used",
                crate::registry::RenewalRefusal::Revoked => "Registry.Renewal.Revoked",
                crate::registry::RenewalRefusal::OtherCard => "Registry.Renewal.OtherCard",
                crate::registry::RenewalRefusal::OtherDevice => "Registry.Renewal.OtherDevice",
                crate::registry::RenewalRefusal::Superseded => "Registry.Renewal.Superseded",
                crate::registry::RenewalRefusal::CredentialsInvalid => {
                    "Registry.Renewal.CredentialsInvalid"
                }
            },
        }
    }
}

impl From<RegistryError> for StatusListError {
    fn from(e: RegistryError) -> Self {
        Self::Registry(e)
    }
}

impl From<CryptoError> for StatusListError {
    fn from(e: CryptoError) -> Self {
        Self::Crypto(e)
    }
}

#[cfg(feature = "sqlite")]
impl From<rusqlite::Error> for RegistryError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::SqliteFailure(f, msg)
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
                ) =>
            {
                Self::Corrupt(msg.unwrap_or_else(|| f.to_string()))
            }
            other => Self::Storage(other.to_string()),
        }
    }
}
