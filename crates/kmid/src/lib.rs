//! # kmid
//!
//! Korea's mobile ID cards — the mobile resident registration card, the mobile foreigner
//! registration card and the mobile overseas Korean national ID — as ISO/IEC 18013-5 mdoc and
//! IETF SD-JWT VC, for issuers, wallets and relying parties. The profile is in `spec/`.
//!
//! - [`Issuer`]: one authority's keys and status registry; issues a card in either format or
//!   both, each credential with its own status list entry, and publishes the lists.
//! - [`Wallet`]: keeps what was issued to its device key and answers a request with exactly
//!   what was asked, bound to the verifier's session.
//! - [`Verifier`] and [`Template`]: the checks Korean verifiers make (age only; identity
//!   without the registration number; full identity with a legal basis), and one
//!   [`VerifiedPresentation`] for either format.
//! - [`VerificationRecord`]: what a verifier saw, signed by it, checkable later
//!   (진위확인·사본저장).
//!
//! The layers underneath are re-exported: [`schema`], [`crypto`], [`mdoc`], [`sdjwt`],
//! [`status`].
//!
//! ```
//! use std::sync::Arc;
//! use kmid::{AuthorityKeys, CardKeySecret, Formats, Issuer, IssuingAuthority, Template, Verifier, Wallet};
//! use kmid::crypto::{Curve, PrivateKey, SystemRandom};
//! use kmid::mdoc::model::{Handover, SessionTranscript};
//! use kmid::schema::catalogue::ClaimId;
//! use kmid::schema::{Card, IdentityCard};
//! use kmid_testkit::samples;
//! use kmid::status::registry::{RegistryConfig, SqliteStore, StatusRegistry};
//! use serde_json::json;
//!
//! let now = time::OffsetDateTime::now_utc();
//! let random = Arc::new(SystemRandom);
//!
//! // The Ministry of the Interior and Safety, with a registry on SQLite.
//! let keys = AuthorityKeys::generate(IssuingAuthority::Mois, now, &*random)?;
//! let registry = StatusRegistry::new(
//!     SqliteStore::open_in_memory()?,
//!     RegistryConfig::new("https://status.mois.go.kr/lists"),
//!     random.clone(),
//! );
//! // The card-key secret is kept with the registry: the same secret, the same card keys.
//! let secret = CardKeySecret::generate(&*random)?;
//! let issuer = Issuer::new(keys.clone(), registry, secret, random.clone());
//! let trust = kmid::trust_store([&keys])?;
//!
//! // Issue a resident card to a phone, in both formats.
//! let card = Card::from(samples::resident());
//! let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256)?, trust.clone());
//! let issued = issuer.issue(&card, wallet.device_key(), Formats::Both, now)?;
//! wallet.store_mdoc(issued.mdoc.unwrap().issuer_signed, now)?;
//! wallet.store_sd_jwt(&issued.sd_jwt.unwrap().sd_jwt.to_compact(), now)?;
//!
//! // A convenience store checks age only; the statuses come from the issuer's lists.
//! let lists = issuer.publish(now, 300)?;
//! let fetch = move |uri: &str, _accept: &str| {
//!     lists.iter().find(|l| l.uri == uri).map(|l| l.jwt.clone().into_bytes())
//! };
//! let resolver = kmid::status::StatusListResolver::new(
//!     fetch,
//!     kmid::status::token::TokenKeys::X5c(trust.clone()),
//!     kmid::status::token::TokenPolicy::default(),
//! );
//! let verifier = Verifier::new(trust, Arc::new(resolver));
//!
//! // mdoc: DeviceRequest -> DeviceResponse -> verified.
//! let request = Template::AgeCheck.mdoc_request(card.card_type());
//! let transcript = SessionTranscript::new(None, None, &Handover::Qr)?;
//! let response = wallet.respond_mdoc(&request, &transcript, now)?;
//! let seen = verifier.verify_mdoc(&request, &response.to_bytes(), &transcript, now)?;
//! assert_eq!(seen[0].claim(ClaimId::AgeOver19), Some(&json!(true)));
//! assert_eq!(seen[0].claim(ClaimId::RegistrationNumber), None);
//!
//! // SD-JWT VC: the same question, bound to this transaction's nonce.
//! let request = Template::AgeCheck.sd_jwt_request(card.card_type(), "n-4711", "https://cu.example");
//! let presentation = wallet.present_sd_jwt(&request, now)?;
//! let seen = verifier.verify_sd_jwt(&request, &presentation, now)?;
//! assert_eq!(seen.claim(ClaimId::YouthActAdult), Some(&json!(true)));
//! assert_eq!(seen.claims.len(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod authority;
pub mod channels;
pub mod conformance;
pub mod dcql;
mod error;
pub mod issuance;
mod issuer;
pub mod online;
mod record;
pub mod registration;
pub mod trust;
mod verifier;
mod wallet;
pub mod zk;

pub use authority::{AuthorityKeys, IssuingAuthority, trust_store};
pub use channels::{
    ChannelError, CounterOffer, IcChallenge, KEY_PROOF_TYP, OfferOptions, PRE_AUTHORIZED_GRANT,
    TokenResponse, ic_tap_message, renewal_nonce,
};
pub use dcql::{DcqlQuery, MAX_VP_TOKEN_BYTES, OpenId4VpRequest, VpToken, parse_vp_token};
pub use error::KmidError;
pub use issuer::{
    CardKeySecret, DEFAULT_MAX_LIFETIME, Formats, Issued, IssuedMdoc, IssuedSdJwt, Issuer,
    PublishedList, card_end, credential_end,
};
pub use online::{
    AnnexCRequest, DcApiPresentation, OnlineAnswer, OnlineRequest, RequestObjectFetcher,
    RequestOptions, VerifierAccess,
};
pub use record::{RECORD_TYP, RecordError, VerificationRecord};
pub use trust::{CrlPolicy, TrustConfig, TrustConfigError, TrustPurpose};
pub use verifier::{
    BatchItem, Format, SdJwtRequest, Template, VerifiedCredential, VerifiedPresentation, Verifier,
};
pub use wallet::{PresentationPolicy, PresentationRecord, Wallet, openid4vp_transcript};

pub use kmid_crypto as crypto;
pub use kmid_mdoc as mdoc;
pub use kmid_oid4vc as oid4vc;
pub use kmid_schema as schema;
pub use kmid_sdjwt as sdjwt;
pub use kmid_status as status;
pub use kmid_zk;

/// The example in the workspace README, run as a doctest so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct WorkspaceReadme;
