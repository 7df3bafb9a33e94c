//! # kmid-sdjwt
//!
//! IETF SD-JWT (RFC 9901) and SD-JWT VC for Korea's mobile ID cards, on the workspace's own
//! compact JWS (`kmid_crypto::jose`) and our own SD-JWT engine (sd-jwt-rs 0.7.1 implements draft 7 and is used only to cross-check this one
//! in tests; see `spec/sd-jwt-vc.md`).
//!
//! - [`conceal`] and [`process`]: the SD-JWT core — Disclosures for object properties and
//!   array elements, recursive, with decoys; processing per RFC 9901 §7.1.
//! - [`SdJwt`]: compact and JWS JSON (flattened, general) serializations.
//! - [`kb`]: Key Binding JWTs.
//! - [`vc`]: SD-JWT VC of the three cards: [`vc::SdJwtVcIssuer`], [`vc::HeldSdJwtVc`],
//!   [`vc::SdJwtVcVerifier`].
//! - [`type_metadata`]: the profile's Type Metadata, embedded, and `vct#integrity`.
//!
//! ```
//! use std::sync::Arc;
//! use kmid_crypto::{Curve, PrivateKey, Signer};
//! use kmid_schema::catalogue::ClaimId;
//! use kmid_schema::Card;
//! use kmid_testkit::samples;
//! use kmid_sdjwt::kb::KeyBindingPolicy;
//! use kmid_sdjwt::vc::{HeldSdJwtVc, IssuerKeys, SdJwtVcIssuer, SdJwtVcVerifier, VcOptions};
//! use kmid_testkit::{Authority, REFERENCE_TIME, SeededRandom, TestPki};
//! use time::Duration;
//!
//! // The Ministry of Justice issues a foreigner card, bound to the phone's key.
//! let pki = TestPki::new();
//! let moj = pki.issuer(Authority::Moj);
//! let signer: Arc<dyn Signer> = Arc::new(kmid_testkit::Rfc6979Signer::for_test_key("moj-ds"));
//! let issuer = SdJwtVcIssuer::with_x5c(signer, vec![moj.ds.clone()], Arc::new(SeededRandom::new(b"doc")))?;
//! let phone: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256)?);
//! let options = VcOptions::new(REFERENCE_TIME, REFERENCE_TIME + Duration::days(30));
//! let issued = issuer.issue(&Card::from(samples::foreigner()), phone.public_key(), &options)?;
//!
//! // The wallet checks it, then shows a bank only the name and the status of stay.
//! let trust = pki.trust_store();
//! let held = HeldSdJwtVc::receive(&issued.to_compact(), &SdJwtVcVerifier::new(IssuerKeys::X5c(&trust)), REFERENCE_TIME)?;
//! let presentation = held.present(
//!     &[&["family_name"], &["status_of_stay"]],
//!     Some((&phone, "n-8f2c", "https://bank.example", REFERENCE_TIME)),
//! )?;
//!
//! // The bank verifies signature, disclosures, key binding, nonce and audience.
//! let policy = KeyBindingPolicy { nonce: "n-8f2c".into(), audience: "https://bank.example".into(), max_age: Duration::minutes(5) };
//! let verified = SdJwtVcVerifier::new(IssuerKeys::X5c(&trust))
//!     .require_key_binding(policy)
//!     .verify(&presentation.to_compact(), REFERENCE_TIME)?;
//! assert_eq!(verified.claim(ClaimId::StatusOfStay).and_then(|v| v.as_str()), Some("E-9"));
//! assert_eq!(verified.catalogue_claims().len(), 2);
//! assert!(verified.claim(ClaimId::RegistrationNumber).is_none());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod conceal;
mod disclosure;
mod error;
mod jws;
pub mod kb;
mod limits;
mod process;
mod serialization;
pub mod type_metadata;
pub mod vc;
mod verify;

pub use conceal::{Concealed, DisclosurePolicy, PathSegment, SALT_BYTES, conceal, conceal_owned};
pub use disclosure::Disclosure;
pub use error::{DisclosureError, IssuerKeyError, KeyBindingError, SdJwtError};
pub use limits::{SdJwtLimit, SdJwtLimits};
pub use process::{Processed, process};
pub use serialization::SdJwt;
pub use verify::{SdJwtCheck, VerifiedSdJwt, verify_sd_jwt};
