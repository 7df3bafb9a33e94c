//! Why an OpenID4VP message was refused.

use kmid_crypto::CryptoError;
use kmid_crypto::jose::JoseError;
use kmid_schema::error_code::join;

/// Why an OpenID4VP message was refused or could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Oid4vpError {
    /// A request URL or body that does not parse, or a parameter of the wrong shape.
    #[error("malformed request: {0}")]
    Malformed(String),
    /// A required parameter is missing.
    #[error("the request has no {0}")]
    Missing(&'static str),
    /// A parameter has a value this profile does not accept (`response_type`, …).
    #[error("unsupported {what}: {value:?}")]
    Unsupported {
        /// The parameter.
        what: &'static str,
        /// Its value.
        value: String,
    },
    /// The Request Object is not a compact JWS, or its header or signature does not verify.
    #[error("request object: {0}")]
    Jws(JoseError),
    /// `typ` is not `oauth-authz-req+jwt`.
    #[error("the request object's typ is not oauth-authz-req+jwt")]
    WrongType,
    /// The `x5c` chain: missing, malformed, or not validated to a verifier anchor (the
    /// certificate error says why).
    #[error("verifier certificate: {0}")]
    Certificate(CryptoError),
    /// A trust anchor inside `x5c` (HAIP 1.0 §5: the anchor MUST NOT be included).
    #[error("the trust anchor is inside x5c")]
    AnchorInChain,
    /// The request is signed by a self-signed certificate (HAIP 1.0 §5).
    #[error("the request signer's certificate is self-signed")]
    SelfSigned,
    /// `x509_hash`: the hash is not the leaf certificate's.
    #[error("the client_id hash is not the leaf certificate's")]
    HashMismatch,
    /// `x509_san_dns`: the DNS name is not a dNSName of the leaf, or the `response_uri` /
    /// `redirect_uri` host is not that name.
    #[error("x509_san_dns: {0}")]
    SanMismatch(&'static str),
    /// The Client Identifier Prefix is not one this profile accepts for the request.
    #[error("client identifier prefix not accepted: {0:?}")]
    ClientIdPrefix(String),
    /// The URL's `client_id` and the Request Object's differ (OpenID4VP 1.0 §5.10.2).
    #[error("the URL's client_id is not the request object's")]
    ClientIdMismatch,
    /// `aud` is not `https://self-issued.me/v2` (OpenID4VP 1.0 §5.8, static discovery).
    #[error("the request object's aud is not the wallet's")]
    Audience,
    /// Over the DC API, the Origin is not among the signed request's `expected_origins`
    /// (Appendix A.2: a replay from another verifier).
    #[error("the request's Origin is not one of its expected_origins")]
    Origin,
    /// The Request Object's `wallet_nonce` is not the one the wallet sent (§5.10.1).
    #[error("the request object's wallet_nonce is not the wallet's")]
    WalletNonce,
    /// The Request Object expired, or is not valid yet.
    #[error("the request object is outside its validity")]
    Expired,
    /// `transaction_data` the wallet does not support (OpenID4VP 1.0 §5: a wallet that does
    /// not support a type MUST reject the request).
    #[error("transaction data type not supported: {0:?}")]
    TransactionData(String),
    /// An encrypted response that does not decrypt or is refused as a JWE.
    #[error("encrypted response: {0}")]
    Jwe(kmid_crypto::jwe::JweError),
    /// A response in another mode than the request's: in the clear for an encrypted request
    /// (a downgrade), or encrypted for a plain one.
    #[error("the request's response mode does not allow {0}")]
    ResponseMode(&'static str),
    /// `state` is missing or is not the transaction's.
    #[error("the response's state is not the transaction's")]
    StateMismatch,
    /// A second response to a transaction that already has one.
    #[error("the transaction already has a response")]
    Replayed,
    /// The transaction has no response yet.
    #[error("the transaction has no response yet")]
    Pending,
    /// The result was asked for without the `response_code` of the redirect, or with another.
    #[error("the response_code is missing or not the transaction's")]
    ResponseCode,
    /// A primitive failed (not a refusal of the input).
    #[error("crypto: {0}")]
    Crypto(CryptoError),
}

impl Oid4vpError {
    /// The stable code of this error (see `kmid_schema::error_code`): the variant's name,
    /// with the certificate's or JOSE error's code after it.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "Malformed",
            Self::Missing(_) => "Missing",
            Self::Unsupported { .. } => "Unsupported",
            Self::Jws(e) => join("Jws", e.code()),
            Self::WrongType => "WrongType",
            Self::Certificate(e) => join("Certificate", e.code()),
            Self::AnchorInChain => "AnchorInChain",
            Self::SelfSigned => "SelfSigned",
            Self::HashMismatch => "HashMismatch",
            Self::SanMismatch(_) => "SanMismatch",
            Self::ClientIdPrefix(_) => "ClientIdPrefix",
            Self::ClientIdMismatch => "ClientIdMismatch",
            Self::Audience => "Audience",
            Self::Origin => "Origin",
            Self::WalletNonce => "WalletNonce",
            Self::Expired => "Expired",
            Self::TransactionData(_) => "TransactionData",
            Self::Jwe(e) => join("Jwe", e.code()),
            Self::ResponseMode(_) => "ResponseMode",
            Self::StateMismatch => "StateMismatch",
            Self::Replayed => "Replayed",
            Self::Pending => "Pending",
            Self::ResponseCode => "ResponseCode",
            Self::Crypto(e) => join("Crypto", e.code()),
        }
    }
}
