//! The status seam shared by both credential formats: a credential may point into a Token
//! Status List (draft-ietf-oauth-status-list §6), and a verifier asks a [`StatusResolver`] what
//! the entry says. The resolver fetches, verifies and caches status list tokens; this crate only
//! defines the shapes, so the format crates and the status crate meet here.

use core::fmt;

use time::OffsetDateTime;

/// `status.status_list` of a referenced token: the list's URI and the entry's index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StatusReference {
    /// Index of the entry in the list.
    pub idx: u64,
    /// URI of the Status List Token (its `sub`).
    pub uri: String,
}

/// A status value (draft-ietf-oauth-status-list §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenStatus {
    /// 0x00: valid (Korea's NORMAL).
    Valid,
    /// 0x01: invalid, revoked for good (Korea's DISPOSED).
    Invalid,
    /// 0x02: suspended, may become valid again (Korea's SUSPENDED).
    Suspended,
    /// Any other value (0x03 and the application-specific range).
    Other(u8),
}

impl TokenStatus {
    /// The status of a raw list value.
    #[must_use]
    pub const fn from_value(v: u8) -> Self {
        match v {
            0 => Self::Valid,
            1 => Self::Invalid,
            2 => Self::Suspended,
            other => Self::Other(other),
        }
    }

    /// The raw list value.
    #[must_use]
    pub const fn value(self) -> u8 {
        match self {
            Self::Valid => 0,
            Self::Invalid => 1,
            Self::Suspended => 2,
            Self::Other(v) => v,
        }
    }
}

impl fmt::Display for TokenStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Valid => f.write_str("VALID"),
            Self::Invalid => f.write_str("INVALID"),
            Self::Suspended => f.write_str("SUSPENDED"),
            Self::Other(v) => write!(f, "0x{v:02X}"),
        }
    }
}

/// Why a status could not be determined.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatusError {
    /// The status list token could not be fetched.
    #[error("status list {uri} is unavailable: {reason}")]
    Unavailable {
        /// The list's URI.
        uri: String,
        /// Why.
        reason: FetchFailure,
    },
    /// The token was fetched but is not acceptable (signature, `sub`, time, format).
    #[error("status list {uri} is not acceptable: {reason}")]
    InvalidToken {
        /// The list's URI.
        uri: String,
        /// Which check failed.
        reason: TokenRefusal,
    },
    /// The index is outside the list.
    #[error("index {idx} is outside status list {uri} of {size} entries")]
    IndexOutOfRange {
        /// The list's URI.
        uri: String,
        /// The index.
        idx: u64,
        /// Entries in the list.
        size: u64,
    },
    /// No resolver was configured, yet the credential names a status list and the policy
    /// requires checking it.
    #[error("the credential has a status reference and no status resolver is configured")]
    NoResolver,
}

impl StatusError {
    /// The stable code of this error (see [`crate::error_code`]).
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Unavailable { reason, .. } => reason.code(),
            Self::InvalidToken { reason, .. } => reason.code(),
            Self::IndexOutOfRange { .. } => "IndexOutOfRange",
            Self::NoResolver => "NoResolver",
        }
    }
}

/// Why a status list token could not be had, as the fetcher saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchFailure {
    /// The fetcher had nothing, and does not say why (a local index without the list).
    #[error("not available")]
    NotAvailable,
    /// No complete answer in time.
    #[error("timed out")]
    Timeout,
    /// The server answered with this HTTP status.
    #[error("HTTP status {0}")]
    HttpStatus(u16),
    /// The body was larger than the fetcher's limit.
    #[error("the body is larger than the limit")]
    TooLarge,
    /// The connection, TLS or the redirects failed.
    #[error("the connection failed")]
    Transport,
    /// The URI is one this fetcher does not fetch (another scheme, a host not allowed).
    #[error("not a URI this fetcher fetches")]
    Scheme,
}

impl FetchFailure {
    /// The code of [`StatusError::Unavailable`] with this reason (`Unavailable` for a fetcher
    /// that gives none).
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::NotAvailable => "Unavailable",
            Self::Timeout => "Unavailable.Timeout",
            Self::HttpStatus(_) => "Unavailable.HttpStatus",
            Self::TooLarge => "Unavailable.TooLarge",
            Self::Transport => "Unavailable.Transport",
            Self::Scheme => "Unavailable.Scheme",
        }
    }
}

impl TokenStatus {
    /// The variant's name, as error codes carry it (`Status.Suspended`).
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::Valid => "Valid",
            Self::Invalid => "Invalid",
            Self::Suspended => "Suspended",
            Self::Other(_) => "Other",
        }
    }
}

/// Which check refused a fetched Status List Token ([`StatusError::InvalidToken`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenRefusal {
    /// Not a Status List Token of the expected shape, or its list does not decode.
    #[error("malformed token or list")]
    Malformed,
    /// The list decompresses beyond the verifier's cap.
    #[error("the list is larger than the verifier's cap")]
    TooLarge,
    /// The token's type is not the one required.
    #[error("wrong token type")]
    WrongType,
    /// The form (JWT, CWT) is not one the credential's format accepts (SD-JWT VC requires
    /// the JWT form).
    #[error("the credential's format does not accept this token form")]
    FormNotAccepted,
    /// The signature algorithm is not accepted or does not fit the key.
    #[error("signature algorithm not accepted")]
    Algorithm,
    /// No key could be found or validated for the token's signer.
    #[error("the token's signer is not trusted")]
    Signer,
    /// The token's signer certificate is on its issuer's CRL.
    #[error("the token's signer certificate is revoked")]
    SignerRevoked,
    /// The signature does not verify.
    #[error("the signature does not verify")]
    BadSignature,
    /// The token's `sub` is not the URI the credential names.
    #[error("sub is not the referenced uri")]
    SubjectMismatch,
    /// The token has expired, is not yet valid, or was issued in the future.
    #[error("outside its validity")]
    Validity,
    /// The list is signed under another trust anchor than the credential.
    #[error("the list is signed under another trust anchor than the credential")]
    AnotherTrustAnchor,
    /// The credential chains to a trust anchor and the list's signer (a configured key) does
    /// not.
    #[error("the credential chains to a trust anchor and the list's signer does not")]
    SignerNotAnchored,
}

impl TokenRefusal {
    /// The code of a [`StatusError::InvalidToken`] with this reason: `InvalidToken.` and the
    /// variant's name (`StatusUnavailable.InvalidToken.SignerRevoked`).
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::Malformed => "InvalidToken.Malformed",
            Self::TooLarge => "InvalidToken.TooLarge",
            Self::WrongType => "InvalidToken.WrongType",
            Self::FormNotAccepted => "InvalidToken.FormNotAccepted",
            Self::Algorithm => "InvalidToken.Algorithm",
            Self::Signer => "InvalidToken.Signer",
            Self::SignerRevoked => "InvalidToken.SignerRevoked",
            Self::BadSignature => "InvalidToken.BadSignature",
            Self::SubjectMismatch => "InvalidToken.SubjectMismatch",
            Self::Validity => "InvalidToken.Validity",
            Self::AnotherTrustAnchor => "InvalidToken.AnotherTrustAnchor",
            Self::SignerNotAnchored => "InvalidToken.SignerNotAnchored",
        }
    }
}

/// The Status List Token forms a credential format accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StatusTokenForm {
    /// JWT or CWT (the mdoc MSO's reference, status list section 6.3, names no form).
    #[default]
    Any,
    /// `statuslist+jwt` only: SD-JWT VC section 2.2.2.3 requires the JWT form.
    Jwt,
    /// `application/statuslist+cwt` only.
    Cwt,
}

impl StatusTokenForm {
    /// The HTTP `Accept` value to ask for these forms with (status list section 8.1).
    #[must_use]
    pub const fn accept(self) -> &'static str {
        match self {
            Self::Any => "application/statuslist+jwt, application/statuslist+cwt",
            Self::Jwt => "application/statuslist+jwt",
            Self::Cwt => "application/statuslist+cwt",
        }
    }

    /// Whether a token of form `actual` (never `Any`) is acceptable.
    #[must_use]
    pub fn accepts(self, actual: Self) -> bool {
        self == Self::Any || self == actual
    }
}

/// What the verifier learnt about the credential's issuer, so that a resolver can insist the
/// status list comes from the same issuer (draft-ietf-oauth-status-list §11.3: the list signer
/// and the credential signer certified by the same authority). Without it, any list signer the
/// resolver trusts could speak for any credential.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusContext<'a> {
    /// The DER of the trust anchor (the IACA root) the credential's signer chained to, when
    /// its key came from a certificate chain.
    pub issuer_anchor: Option<&'a [u8]>,
    /// The credential's `iss`, when it has one.
    pub issuer: Option<&'a str>,
    /// The token forms the credential's format accepts.
    pub form: StatusTokenForm,
}

/// Resolves status references at a given time.
pub trait StatusResolver: Send + Sync {
    /// The status of the entry `reference` points to, as the list valid at `at` says, for a
    /// credential issued as `context` says.
    ///
    /// # Errors
    /// [`StatusError`] when it cannot be determined.
    fn resolve(
        &self,
        reference: &StatusReference,
        context: &StatusContext<'_>,
        at: OffsetDateTime,
    ) -> Result<TokenStatus, StatusError>;
}

/// How a verifier treats a credential's status reference — the one policy both formats apply
/// (the mdoc MSO's `status` and the SD-JWT VC's `status`): with a resolver, the entry must be
/// VALID; without one, a credential that has a reference is refused unless the verifier chose
/// [`Self::danger_accept_unchecked`].
#[derive(Clone, Copy)]
pub struct StatusPolicy<'a> {
    resolver: Option<&'a dyn StatusResolver>,
    require: bool,
}

impl fmt::Debug for StatusPolicy<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusPolicy")
            .field("resolver", &self.resolver.is_some())
            .field("require", &self.require)
            .finish()
    }
}

impl Default for StatusPolicy<'_> {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a status check refused a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusRefusal {
    /// The entry is not VALID.
    NotValid(TokenStatus),
    /// The status could not be determined (or no resolver is configured).
    Unavailable(StatusError),
}

impl<'a> StatusPolicy<'a> {
    /// No resolver, and a credential with a status reference refused
    /// ([`StatusError::NoResolver`]).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            resolver: None,
            require: true,
        }
    }

    /// Checks status references through `resolver`.
    #[must_use]
    pub const fn with_resolver(mut self, resolver: &'a dyn StatusResolver) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// Accepts a credential with a status reference unchecked when no resolver is set (a
    /// wallet storing what it was just issued; never a relying party).
    #[must_use]
    pub const fn danger_accept_unchecked(mut self) -> Self {
        self.require = false;
        self
    }

    /// The status of `reference` (none when the credential has no reference, or when it is
    /// accepted unchecked).
    ///
    /// # Errors
    /// [`StatusRefusal::NotValid`] for an entry that is not VALID; [`StatusRefusal::Unavailable`]
    /// when the resolver cannot tell, or none is set and a check is required.
    pub fn check(
        &self,
        reference: Option<&StatusReference>,
        context: &StatusContext<'_>,
        at: OffsetDateTime,
    ) -> Result<Option<TokenStatus>, StatusRefusal> {
        match (reference, self.resolver) {
            (None, _) => Ok(None),
            (Some(reference), Some(resolver)) => {
                let status = resolver
                    .resolve(reference, context, at)
                    .map_err(StatusRefusal::Unavailable)?;
                if status == TokenStatus::Valid {
                    Ok(Some(status))
                } else {
                    Err(StatusRefusal::NotValid(status))
                }
            }
            (Some(_), None) if self.require => {
                Err(StatusRefusal::Unavailable(StatusError::NoResolver))
            }
            (Some(_), None) => Ok(None),
        }
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;

    struct Says(Result<TokenStatus, StatusError>);

    impl StatusResolver for Says {
        fn resolve(
            &self,
            _: &StatusReference,
            _: &StatusContext<'_>,
            _: OffsetDateTime,
        ) -> Result<TokenStatus, StatusError> {
            self.0.clone()
        }
    }

    #[test]
    fn one_policy_for_both_formats() {
        let reference = StatusReference {
            idx: 3,
            uri: "https://status.example/1".into(),
        };
        let context = StatusContext {
            issuer_anchor: None,
            issuer: None,
            form: StatusTokenForm::Any,
        };
        let at = OffsetDateTime::UNIX_EPOCH;
        let check =
            |policy: StatusPolicy<'_>, r: Option<&StatusReference>| policy.check(r, &context, at);
        // No reference: nothing to check, whatever the policy.
        assert_eq!(check(StatusPolicy::new(), None), Ok(None));
        // A reference and no resolver: refused, unless the verifier chose to accept it.
        assert_eq!(
            check(StatusPolicy::new(), Some(&reference)),
            Err(StatusRefusal::Unavailable(StatusError::NoResolver))
        );
        assert_eq!(
            check(
                StatusPolicy::new().danger_accept_unchecked(),
                Some(&reference)
            ),
            Ok(None)
        );
        // With a resolver, only VALID passes.
        let valid = Says(Ok(TokenStatus::Valid));
        let suspended = Says(Ok(TokenStatus::Suspended));
        let down = Says(Err(StatusError::Unavailable {
            uri: reference.uri.clone(),
            reason: FetchFailure::Timeout,
        }));
        assert_eq!(
            check(StatusPolicy::new().with_resolver(&valid), Some(&reference)),
            Ok(Some(TokenStatus::Valid))
        );
        assert_eq!(
            check(
                StatusPolicy::new().with_resolver(&suspended),
                Some(&reference)
            ),
            Err(StatusRefusal::NotValid(TokenStatus::Suspended))
        );
        assert!(matches!(
            check(
                StatusPolicy::new()
                    .with_resolver(&down)
                    .danger_accept_unchecked(),
                Some(&reference)
            ),
            Err(StatusRefusal::Unavailable(StatusError::Unavailable { .. }))
        ));
    }
}
