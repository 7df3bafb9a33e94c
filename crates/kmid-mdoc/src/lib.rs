//! # kmid-mdoc
//!
//! ISO/IEC 18013-5 mdoc for Korea's mobile ID cards: the data model, issuance, presentation
//! and verification, session encryption and reader authentication.
//!
//! - [`issuer::MdocIssuer`] builds the IssuerSigned of a [`kmid_schema::Card`] from the claim
//!   catalogue and signs the MSO through a [`kmid_crypto::Signer`] (an HSM, if need be).
//! - [`holder::respond`] answers a [`model::DeviceRequest`] with exactly the requested
//!   elements, authenticated by deviceSignature or deviceMac.
//! - [`verifier::MdocVerifier`] checks a DeviceResponse completely and names the failed check.
//! - [`session::Session`] encrypts the exchange (§9.1.1); [`reader`] signs requests (§9.1.4).
//! - The workspace's CBOR reader (`kmid-cbor`) decodes untrusted CBOR with limits and keeps the bytes signatures cover.
//!
//! ```
//! use kmid_crypto::{Curve, PrivateKey};
//! use kmid_mdoc::holder::{DeviceKeyAuth, HeldMdoc, HolderPolicy, respond};
//! use kmid_mdoc::issuer::{MdocIssuer, MsoOptions};
//! use kmid_mdoc::model::{DeviceRequest, DocRequest, Handover, ItemsRequest, SessionTranscript};
//! use kmid_mdoc::verifier::MdocVerifier;
//! use kmid_schema::{Card, CardType};
//! use kmid_testkit::samples;
//! use kmid_testkit::{Authority, REFERENCE_TIME, SeededRandom, TestPki};
//! use time::Duration;
//!
//! // The Ministry of the Interior and Safety issues a resident card to a phone's key.
//! let pki = TestPki::new();
//! let mois = pki.issuer(Authority::Mois);
//! let random = SeededRandom::new(b"doc example");
//! let issuer = MdocIssuer::new(&mois.ds_signer, vec![mois.ds.clone()], &random)?;
//! let device_key = PrivateKey::generate(Curve::P256)?;
//! let options = MsoOptions::new(REFERENCE_TIME, REFERENCE_TIME + Duration::days(30));
//! let mdoc = issuer.issue(&Card::from(samples::resident()), device_key.public_key(), &options)?;
//!
//! // A convenience store asks only whether the holder is an adult under the Youth Act.
//! let transcript = SessionTranscript::new(None, None, &Handover::Qr)?;
//! let request = DeviceRequest::new(vec![DocRequest::new(ItemsRequest {
//!     doc_type: CardType::Resident.doc_type().into(),
//!     name_spaces: vec![("kr.go.mobileid.1".into(), vec![("youth_act_adult".into(), false)])],
//!     request_info: vec![],
//!     optional: vec![],
//! })]);
//! let held = HeldMdoc { issuer_signed: &mdoc, device_auth: DeviceKeyAuth::Signature(&device_key), device_signed: &vec![] };
//! let response = respond(&request, &transcript, &[held], &HolderPolicy::new(REFERENCE_TIME))?;
//!
//! // The store's reader verifies everything and sees one element.
//! let trust = pki.trust_store();
//! let docs = MdocVerifier::new(&trust).verify_response(&response.to_bytes(), &transcript, None, REFERENCE_TIME)?;
//! assert_eq!(docs[0].element("kr.go.mobileid.1", "youth_act_adult").and_then(|v| v.as_bool()), Some(true));
//! assert_eq!(docs[0].issuer_signed.iter().map(|(_, els)| els.len()).sum::<usize>(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod annex_c;
mod auth;
mod cbor;
mod cose;
mod error;
pub mod holder;
pub mod issuer;
pub mod model;
pub mod reader;
pub mod session;
pub mod verifier;
pub mod vical;

pub use auth::{device_authentication_bytes, emac_key, reader_authentication_bytes};
/// CBOR limits and errors, from the workspace's one CBOR reader (`kmid-cbor`).
pub use cbor::{CborError, CborErrorKind, CborLimits, ElementValue};
pub use error::{
    DeviceAuthError, DigestError, IssuerAuthError, MdocError, ReaderAuthError, SessionError,
    ValidityError,
};
