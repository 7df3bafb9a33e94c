//! The facade's error: which layer refused, with that layer's exact error.

use kmid_crypto::CryptoError;
use kmid_mdoc::MdocError;
use kmid_schema::CardType;
use kmid_schema::error_code::join;
use kmid_sdjwt::SdJwtError;
use kmid_status::StatusListError;

/// Why issuing, holding or verifying failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KmidError {
    /// The card is not this authority's to issue.
    #[error("a {card:?} card is not issued by {authority}")]
    WrongAuthority {
        /// The card's type.
        card: CardType,
        /// The issuer's authority.
        authority: &'static str,
    },
    /// The holder is younger than the mobile card's minimum age (17 for the resident card,
    /// 14 for the others).
    #[error("the holder is {age}; the mobile card needs {minimum}")]
    NotEligible {
        /// The minimum age.
        minimum: u32,
        /// The holder's age at issuance.
        age: u32,
    },
    /// An issuance channel refused a step.
    #[error("issuance channel: {0}")]
    Channel(#[from] crate::channels::ChannelError),
    /// The physical card has expired (or expires today) at issuance time.
    #[error("the card expired on {0}")]
    CardExpired(time::Date),
    /// The wallet holds no credential of that type and format.
    #[error("the wallet holds no {0} credential of that type")]
    NotHeld(&'static str),
    /// A credential offered to the wallet is not bound to the wallet's device key.
    #[error("the credential is bound to another device key")]
    NotOurKey,
    /// A presentation disclosed a claim the request did not ask for.
    #[error("the presentation discloses {0}, which was not requested")]
    NotRequested(String),
    /// A request the wallet will not answer (an empty claim path asks for everything).
    #[error("invalid request: {0}")]
    InvalidRequest(&'static str),
    /// A DCQL query breaks a rule of OpenID4VP 1.0 §6.
    #[error("invalid DCQL query: {0}")]
    InvalidDcql(String),
    /// A VP Token does not answer its query: a required credential or claim is missing, or
    /// its shape is wrong.
    #[error("the VP Token does not answer the query: {0}")]
    VpTokenMismatch(String),
    /// The wallet withholds what the request asks for (the registration number, without a
    /// valid registration attestation from an authenticated verifier), and the request cannot
    /// be answered without it.
    #[error("the wallet withholds {0}")]
    Withheld(&'static str),
    /// A transaction the request asked the holder to authorize is not bound to any
    /// presentation of its credentials (its hash is not in a Key Binding JWT).
    #[error("transaction {0:?} was not authorized by the presentation")]
    TransactionNotAuthorized(String),
    /// A registration attestation the verifier presented does not hold.
    #[error("registration attestation: {0}")]
    Registration(#[from] crate::registration::RegistrationError),
    /// A verification record with the registration number needs a legal basis.
    #[error("a record holding the registration number needs a legal basis")]
    LegalBasisRequired,
    /// The mdoc layer refused.
    #[error("mdoc: {0}")]
    Mdoc(#[from] MdocError),
    /// The SD-JWT VC layer refused.
    #[error("SD-JWT VC: {0}")]
    SdJwt(#[from] SdJwtError),
    /// The status layer refused.
    #[error("status: {0}")]
    Status(#[from] StatusListError),
    /// A key or certificate operation failed.
    #[error("crypto: {0}")]
    Crypto(#[from] CryptoError),
    /// A trust configuration cannot be used.
    #[error("trust configuration: {0}")]
    Trust(#[from] crate::trust::TrustConfigError),
    /// An OpenID4VP message was refused (a request object, an encrypted response, a
    /// transaction's rule).
    #[error("OpenID4VP: {0}")]
    Oid4vp(#[from] kmid_oid4vc::Oid4vpError),
    /// An OpenID4VCI message was refused (offer, metadata, DPoP, key proof, attestation).
    #[error("OpenID4VCI: {0}")]
    Vci(#[from] kmid_oid4vc::vci::VciError),
    /// The wallet answered with an error (OpenID4VP 1.0 §8.5): `access_denied`, ….
    #[error("the wallet answered {error}")]
    WalletError {
        /// `error`.
        error: String,
        /// `error_description`, if any.
        description: Option<String>,
    },
    /// A verification failure recorded earlier and reported again (an online transaction's
    /// outcome): the original code and message.
    #[error("{message}")]
    Stored {
        /// The original error's code.
        code: &'static str,
        /// The original error's message.
        message: String,
    },
    /// A zero-knowledge proof or its document refused (kmid-zk's error).
    #[error("zero-knowledge proof: {0}")]
    Zk(#[from] kmid_zk::ZkError),
    /// A ZK document that is not what this verifier accepts: an unknown or unoffered proof
    /// system, several namespaces, device-signed elements, a timestamp outside the policy.
    #[error("zero-knowledge document refused: {0}")]
    ZkDocument(&'static str),
    /// A batch item was not verified: verifying it panicked (in a resolver, fetcher or
    /// signature backend the caller supplied), or the thread verifying it stopped.
    #[error("not verified: verifying this batch item panicked")]
    Unverified,
}

impl KmidError {
    /// A stable machine-readable code: the path of variant names from this error down to the
    /// layer's own, e.g. `SdJwt.KeyBinding.NonceMismatch` or `Mdoc.IssuerAuth.BadSignature`
    /// (the contract is in `spec/errors.md`). Conformance vectors name their expected failures
    /// with it; a runner may compare a prefix (`SdJwt.KeyBinding`) when it only cares about
    /// the class. Written out per variant, never derived from `Debug` text.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongAuthority { .. } => "WrongAuthority",
            Self::NotEligible { .. } => "NotEligible",
            Self::Channel(e) => e.code(),
            Self::CardExpired(_) => "CardExpired",
            Self::NotHeld(_) => "NotHeld",
            Self::NotOurKey => "NotOurKey",
            Self::NotRequested(_) => "NotRequested",
            Self::InvalidRequest(_) => "InvalidRequest",
            Self::InvalidDcql(_) => "InvalidDcql",
            Self::VpTokenMismatch(_) => "VpTokenMismatch",
            Self::Withheld(_) => "Withheld",
            Self::TransactionNotAuthorized(_) => "TransactionNotAuthorized",
            Self::Registration(e) => join("Registration", e.code()),
            Self::LegalBasisRequired => "LegalBasisRequired",
            Self::Mdoc(e) => join("Mdoc", e.code()),
            Self::SdJwt(e) => join("SdJwt", e.code()),
            Self::Status(e) => join("Status", e.code()),
            Self::Crypto(e) => join("Crypto", e.code()),
            Self::Trust(e) => join("Trust", e.code()),
            Self::Oid4vp(e) => join("Oid4vp", e.code()),
            Self::Vci(e) => join("Vci", e.code()),
            Self::WalletError { .. } => "WalletError",
            Self::Stored { code, .. } => code,
            Self::Unverified => "Unverified",
            Self::Zk(e) => e.code(),
            Self::ZkDocument(_) => "Zk.Document",
        }
    }
}

#[cfg(test)]
mod tests {
    use kmid_crypto::{AlgorithmRefusal, CertificateError};
    use kmid_mdoc::{CborError, CborErrorKind};
    use kmid_mdoc::{DigestError, IssuerAuthError};
    use kmid_schema::status::{StatusError, TokenRefusal, TokenStatus};
    use kmid_sdjwt::{DisclosureError, IssuerKeyError, KeyBindingError, SdJwtLimit};
    use kmid_status::RegistryError;

    use super::*;
    use crate::channels::ChannelError;

    #[test]
    fn codes_are_the_variant_path() {
        let mdoc = |e: MdocError| KmidError::Mdoc(e).code();
        let sd = |e: SdJwtError| KmidError::SdJwt(e).code();
        let cases: [(&str, &str); 19] = [
            (
                sd(SdJwtError::KeyBinding(KeyBindingError::NonceMismatch)),
                "SdJwt.KeyBinding.NonceMismatch",
            ),
            (
                KmidError::NotRequested("given_name".into()).code(),
                "NotRequested",
            ),
            (KmidError::NotOurKey.code(), "NotOurKey"),
            (KmidError::InvalidDcql("x".into()).code(), "InvalidDcql"),
            (
                mdoc(MdocError::Digest {
                    namespace: "x".into(),
                    element: "e".into(),
                    kind: DigestError::Mismatch { digest_id: 1 },
                }),
                "Mdoc.Digest.Mismatch",
            ),
            (
                mdoc(MdocError::Status(TokenStatus::Suspended)),
                "Mdoc.Status.Suspended",
            ),
            (
                mdoc(MdocError::Status(TokenStatus::Other(7))),
                "Mdoc.Status.Other",
            ),
            (
                mdoc(MdocError::Cbor(CborError {
                    at: 16,
                    kind: CborErrorKind::TooDeep(16),
                })),
                "Mdoc.Cbor.TooDeep",
            ),
            (
                sd(SdJwtError::Disclosure {
                    index: 3,
                    kind: DisclosureError::Repeated,
                }),
                "SdJwt.Disclosure.Repeated",
            ),
            (
                sd(SdJwtError::Limit {
                    kind: SdJwtLimit::Disclosures,
                    max: 512,
                    actual: 600,
                }),
                "SdJwt.Limit.Disclosures",
            ),
            // What an attacker wrote stays data, whatever it looks like.
            (
                sd(SdJwtError::WrongType {
                    expected: "x",
                    found: Some("kind: Valid".into()),
                }),
                "SdJwt.WrongType",
            ),
            (
                mdoc(MdocError::IssuerAuth(IssuerAuthError::Chain(
                    CertificateError::UntrustedRoot.into(),
                ))),
                "Mdoc.IssuerAuth.Chain.Certificate.UntrustedRoot",
            ),
            (
                sd(SdJwtError::IssuerKey(IssuerKeyError::Chain(
                    CertificateError::PathLenExceeded { index: 1 }.into(),
                ))),
                "SdJwt.IssuerKey.Chain.Certificate.PathLenExceeded",
            ),
            (
                mdoc(MdocError::IssuerAuth(IssuerAuthError::Algorithm(
                    AlgorithmRefusal::UnknownCose(-257),
                ))),
                "Mdoc.IssuerAuth.Algorithm",
            ),
            (
                sd(SdJwtError::StatusUnavailable(StatusError::InvalidToken {
                    uri: "https://x".into(),
                    reason: TokenRefusal::BadSignature,
                })),
                "SdJwt.StatusUnavailable.InvalidToken.BadSignature",
            ),
            (
                KmidError::Status(StatusListError::Registry(RegistryError::CardLost)).code(),
                "Status.Registry.CardLost",
            ),
            (
                KmidError::Channel(ChannelError::InvalidProof("typ")).code(),
                "Channel.InvalidProof",
            ),
            (
                KmidError::Crypto(CryptoError::BadSignature).code(),
                "Crypto.BadSignature",
            ),
            (KmidError::Unverified.code(), "Unverified"),
        ];
        for (got, want) in cases {
            assert_eq!(got, want);
        }
    }
}
