//! # kmid-schema
//!
//! The data model of Korea's three mobile ID credentials — the mobile resident registration
//! card, the mobile foreigner registration card and the mobile overseas Korean national ID —
//! with no cryptography and no I/O.
//!
//! - [`ResidentCard`], [`ForeignerCard`], [`OverseasNationalCard`] (and [`Card`], any of them):
//!   a value that exists satisfies its card's rules, whether built in code or deserialized.
//! - [`RegistrationNumber`]: `YYMMDD-GNNNNNN`, masked unless explicitly exposed.
//! - [`age`]: the Civil Act age and the Youth Protection Act's calendar-year rule.
//! - [`catalogue`]: every item of every card, defined once, with its mdoc and SD-JWT VC encoding.
//! - Sample people for tests, vectors and the demo live in `kmid-testkit`, not here.
//!
//! ```
//! use kmid_schema::{Card, IdentityCard, ResidentCardFields, ResidentCard, RuleViolation, SchemaError};
//! use kmid_testkit::samples;
//! use kmid_schema::catalogue::{self, ClaimId, ClaimValue};
//! use time::macros::date;
//!
//! // A card is checked when it is made …
//! let card = samples::resident();
//! let mut fields: ResidentCardFields = card.clone().into_fields();
//! fields.expiry_date = date!(2029 - 01 - 01); // more than three years after 2025-03-28
//! assert!(matches!(
//!     ResidentCard::new(fields),
//!     Err(SchemaError::RuleViolated { rule: RuleViolation::ValidityTooLong { years: 3, .. }, .. })
//! ));
//!
//! // … and when it is read.
//! let json = serde_json::to_string(&card)?;
//! let back: ResidentCard = serde_json::from_str(&json)?;
//! assert_eq!(back, card);
//!
//! // Its items, ready for either encoder.
//! let card = Card::from(card);
//! let claims = card.claims(date!(2025 - 06 - 01));
//! let over_19 = claims.iter().find(|c| c.id == ClaimId::AgeOver19).unwrap();
//! assert_eq!(over_19.value, ClaimValue::Bool(true));
//! assert_eq!(catalogue::spec(ClaimId::AgeOver19).mdoc.identifier, "age_over_19");
//! # Ok::<(), serde_json::Error>(())
//! ```

mod address;
pub mod age;
mod cards;
pub mod catalogue;
pub mod date;
mod error;
pub mod error_code;
mod portrait;
mod registration;
pub mod status;
mod text;

pub use address::Address;
pub use cards::{
    Card, CardType, ForeignerCard, ForeignerCardFields, ForeignerCardType, IdentityCard,
    MAX_VALIDITY_YEARS, OverseasNationalCard, OverseasNationalCardFields, ResidentCard,
    ResidentCardFields,
};
pub use error::{DateText, InvalidValue, RegistrationNumberError, RuleViolation, SchemaError};
pub use portrait::{MAX_PORTRAIT_BYTES, Portrait};
pub use registration::{CheckDigit, Origin, RegistrationNumber, Sex};
pub use text::{
    CountryCode, HanjaName, LatinName, MAX_NAME_CHARS, MAX_TEXT_CHARS, PassportNumber, PersonName,
    StatusOfStay, Subdivision, Text,
};
/// The calendar date type used throughout (re-exported from the `time` crate).
pub use time::Date;
