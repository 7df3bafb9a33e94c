//! The facade's error: which layer refused, with that layer's exact error.

use kmid_crypto::CryptoError;
use kmid_mdoc::MdocError;
use kmid_schema::CardType;
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
}
