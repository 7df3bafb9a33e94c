//! Why an OpenID4VCI message was refused, with the OAuth error each refusal answers with.

use kmid_crypto::CryptoError;
use kmid_crypto::jose::JoseError;
use kmid_schema::error_code::join;

use crate::dpop::DpopError;
use crate::store::StoreError;
use crate::x5c::X5cError;

/// Why an OpenID4VCI message was refused or could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VciError {
    /// A message that does not parse, or a parameter of the wrong shape.
    #[error("malformed: {0}")]
    Malformed(String),
    /// A required parameter is missing.
    #[error("missing {0}")]
    Missing(&'static str),
    /// A parameter value this profile does not accept.
    #[error("unsupported {what}: {value:?}")]
    Unsupported {
        /// The parameter.
        what: &'static str,
        /// Its value.
        value: String,
    },
    /// Metadata for another issuer than the one asked (§12.2.2: compared as strings).
    #[error("the metadata is for another issuer")]
    IssuerMismatch,
    /// A signed message's JWS does not parse or verify.
    #[error("signature: {0}")]
    Jws(JoseError),
    /// A signed message with another `typ`.
    #[error("the JWT's typ is not {0}")]
    WrongType(&'static str),
    /// The `x5c` signer's chain does not validate.
    #[error("certificate: {0}")]
    Certificate(CryptoError),
    /// A trust anchor inside `x5c` (HAIP 1.0 §4).
    #[error("the trust anchor is inside x5c")]
    AnchorInChain,
    /// A signer whose certificate is self-signed (HAIP 1.0 §4).
    #[error("the signer's certificate is self-signed")]
    SelfSigned,
    /// A signed message outside its validity.
    #[error("outside its validity")]
    Expired,
    /// A key proof or key attestation refused (`invalid_proof`, §8.3.1.2).
    #[error("invalid proof: {0}")]
    InvalidProof(ProofRefusal),
    /// A `c_nonce` that is not the issuer's, expired, already used, or missing
    /// (`invalid_nonce`: the wallet fetches a fresh one).
    #[error("invalid nonce: {0}")]
    InvalidNonce(&'static str),
    /// A request refused as `invalid_request` for a reason of the protocol's state (an
    /// unknown `request_uri`, a `tx_code` not asked for).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// A scope that names no Credential Configuration (`invalid_scope`).
    #[error("the scope names no credential configuration")]
    InvalidScope,
    /// A code, pre-authorized code or refresh token that is unknown, used, expired, or does
    /// not hold (a wrong `tx_code`, PKCE verifier, `redirect_uri`, DPoP key) (`invalid_grant`).
    #[error("invalid grant: {0}")]
    InvalidGrant(&'static str),
    /// A grant type the token endpoint does not take (`unsupported_grant_type`).
    #[error("unsupported grant type {0:?}")]
    UnsupportedGrantType(String),
    /// An access token that is missing, unknown or expired (`invalid_token`, §8.3.1.1).
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    /// A Credential Request of the wrong shape (`invalid_credential_request`).
    #[error("invalid credential request: {0}")]
    InvalidCredentialRequest(&'static str),
    /// A configuration the issuer does not have (`unknown_credential_configuration`).
    #[error("unknown credential configuration")]
    UnknownCredentialConfiguration,
    /// Response encryption asked for and not offered (`invalid_encryption_parameters`).
    #[error("credential response encryption is not supported")]
    InvalidEncryptionParameters,
    /// The issuer declined to issue (`credential_request_denied`): its reason.
    #[error("credential request denied: {0}")]
    CredentialRequestDenied(String),
    /// An unknown, used or another token's `notification_id` (`invalid_notification_id`).
    #[error("invalid notification_id")]
    InvalidNotificationId,
    /// A Notification Request of the wrong shape (`invalid_notification_request`).
    #[error("invalid notification request: {0}")]
    InvalidNotificationRequest(&'static str),
    /// Client authentication by wallet attestation failed (`invalid_client`).
    #[error("client authentication: {0}")]
    InvalidClient(&'static str),
    /// The authorization was refused for this holder (`access_denied`, RFC 6749 §4.1.2.1).
    #[error("access denied: {0}")]
    AccessDenied(&'static str),
    /// The server requires its attestation challenge in the PoP (`use_attestation_challenge`).
    #[error("the client attestation PoP does not carry the server's challenge")]
    UseAttestationChallenge,
    /// A DPoP proof refused (`invalid_dpop_proof`, `use_dpop_nonce`).
    #[error("DPoP: {0}")]
    Dpop(DpopError),
    /// The wallet's request was answered with an error (`status`, the OAuth `error`).
    #[error("the server answered {status} {error}")]
    Remote {
        /// The HTTP status.
        status: u16,
        /// The OAuth error code, when the body had one.
        error: String,
    },
    /// The wallet's HTTP client failed.
    #[error("transport: {0}")]
    Transport(String),
    /// The store could not answer.
    #[error("store: {0}")]
    Store(StoreError),
    /// A primitive failed (not a refusal of the input).
    #[error("crypto: {0}")]
    Crypto(CryptoError),
}

impl VciError {
    /// The stable code: the variant's name, with the nested error's code after it.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "Malformed",
            Self::Missing(_) => "Missing",
            Self::Unsupported { .. } => "Unsupported",
            Self::IssuerMismatch => "IssuerMismatch",
            Self::Jws(e) => join("Jws", e.code()),
            Self::WrongType(_) => "WrongType",
            Self::Certificate(e) => join("Certificate", e.code()),
            Self::AnchorInChain => "AnchorInChain",
            Self::SelfSigned => "SelfSigned",
            Self::Expired => "Expired",
            Self::InvalidProof(r) => join("InvalidProof", r.code()),
            Self::InvalidNonce(_) => "InvalidNonce",
            Self::InvalidRequest(_) => "InvalidRequest",
            Self::InvalidScope => "InvalidScope",
            Self::InvalidGrant(_) => "InvalidGrant",
            Self::UnsupportedGrantType(_) => "UnsupportedGrantType",
            Self::InvalidToken(_) => "InvalidToken",
            Self::InvalidCredentialRequest(_) => "InvalidCredentialRequest",
            Self::UnknownCredentialConfiguration => "UnknownCredentialConfiguration",
            Self::InvalidEncryptionParameters => "InvalidEncryptionParameters",
            Self::CredentialRequestDenied(_) => "CredentialRequestDenied",
            Self::InvalidNotificationId => "InvalidNotificationId",
            Self::InvalidNotificationRequest(_) => "InvalidNotificationRequest",
            Self::InvalidClient(_) => "InvalidClient",
            Self::AccessDenied(_) => "AccessDenied",
            Self::UseAttestationChallenge => "UseAttestationChallenge",
            Self::Dpop(e) => join("Dpop", e.code()),
            Self::Remote { .. } => "Remote",
            Self::Transport(_) => "Transport",
            Self::Store(e) => join("Store", e.code()),
            Self::Crypto(e) => join("Crypto", e.code()),
        }
    }

    /// The OAuth error code an endpoint answers with.
    #[must_use]
    pub const fn oauth_error(&self) -> &'static str {
        match self {
            Self::Dpop(e) => e.oauth_error(),
            Self::InvalidProof(_) => "invalid_proof",
            Self::InvalidNonce(_) => "invalid_nonce",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnsupportedGrantType(_) => "unsupported_grant_type",
            Self::InvalidToken(_) => "invalid_token",
            Self::InvalidCredentialRequest(_) => "invalid_credential_request",
            Self::UnknownCredentialConfiguration => "unknown_credential_configuration",
            Self::InvalidEncryptionParameters => "invalid_encryption_parameters",
            Self::CredentialRequestDenied(_) => "credential_request_denied",
            Self::InvalidNotificationId => "invalid_notification_id",
            Self::InvalidNotificationRequest(_) => "invalid_notification_request",
            Self::InvalidClient(_) => "invalid_client",
            Self::AccessDenied(_) => "access_denied",
            Self::UseAttestationChallenge => "use_attestation_challenge",
            Self::Store(_) | Self::Crypto(_) | Self::Transport(_) => "server_error",
            _ => "invalid_request",
        }
    }
}

/// Why a key proof or key attestation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofRefusal {
    /// Not a compact JWS, a claim missing or mistyped, too many proofs or keys.
    #[error("malformed: {0}")]
    Malformed(&'static str),
    /// The `typ` is not the proof type's.
    #[error("wrong typ")]
    Type,
    /// `alg` missing, `none`, symmetric or not among `proof_signing_alg_values_supported`.
    #[error("algorithm not accepted")]
    Algorithm,
    /// The key header: not exactly one of `jwk`/`x5c`/`kid`, a private key, an unusable key,
    /// a `kid` (this issuer resolves no DIDs).
    #[error("key: {0}")]
    Key(&'static str),
    /// The signature does not verify.
    #[error("signature does not verify")]
    Signature,
    /// `aud` is not the Credential Issuer Identifier.
    #[error("aud is not this credential issuer")]
    Audience,
    /// `iss` present and not the client's `client_id`, or present after anonymous
    /// pre-authorized access.
    #[error("iss is not the client")]
    Issuer,
    /// `iat` outside the accepted window, or an attestation expired.
    #[error("outside the accepted time")]
    Time,
    /// A key attestation whose signer is not under the wallet-provider anchors (or breaks
    /// HAIP's `x5c` rules).
    #[error("key attestation signer: {0}")]
    AttestationSigner(&'static str),
    /// The proof's key is not among the key attestation's `attested_keys`.
    #[error("the proof key is not attested")]
    NotAttested,
    /// The attestation does not meet `key_attestations_required` (`key_storage`,
    /// `user_authentication`), or is required and absent.
    #[error("key attestation requirements not met: {0}")]
    Requirements(&'static str),
    /// More keys than `batch_size`.
    #[error("more keys than batch_size")]
    BatchSize,
}

impl ProofRefusal {
    /// The stable code: the variant's name.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "Malformed",
            Self::Type => "Type",
            Self::Algorithm => "Algorithm",
            Self::Key(_) => "Key",
            Self::Signature => "Signature",
            Self::Audience => "Audience",
            Self::Issuer => "Issuer",
            Self::Time => "Time",
            Self::AttestationSigner(_) => "AttestationSigner",
            Self::NotAttested => "NotAttested",
            Self::Requirements(_) => "Requirements",
            Self::BatchSize => "BatchSize",
        }
    }
}

impl From<X5cError> for VciError {
    fn from(e: X5cError) -> Self {
        match e {
            X5cError::Missing => Self::Missing("x5c"),
            X5cError::Malformed => Self::Malformed("x5c (an array of strings)".into()),
            X5cError::Certificate(e) => Self::Certificate(e),
            X5cError::AnchorInChain => Self::AnchorInChain,
            X5cError::SelfSigned => Self::SelfSigned,
        }
    }
}

impl From<DpopError> for VciError {
    fn from(e: DpopError) -> Self {
        Self::Dpop(e)
    }
}

impl From<StoreError> for VciError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<CryptoError> for VciError {
    fn from(e: CryptoError) -> Self {
        Self::Crypto(e)
    }
}
