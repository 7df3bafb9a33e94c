//! 모바일 주민등록증: the mobile resident registration card.

use serde::{Deserialize, Serialize};
use time::Date;

use super::{CardType, IdentityCard, check_common};
use crate::address::Address;
use crate::date::serde_full_date;
use crate::error::{RuleViolation, SchemaError};
use crate::portrait::Portrait;
use crate::registration::RegistrationNumber;
use crate::text::{HanjaName, PersonName, Subdivision, Text};

/// The fields of a mobile resident registration card, as an issuer assembles them.
///
/// This is plain data: it may break the card's rules. [`ResidentCard::new`] checks them.
/// Birth date and sex are not fields: the registration number determines them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResidentCardFields {
    /// Name in Hangul as on the card (성명).
    pub name: PersonName,
    /// Name in Hanja (한자 성명), printed when the holder has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_hanja: Option<HanjaName>,
    /// Resident registration number (주민등록번호), domestic G digit, not the placeholder.
    pub registration_number: RegistrationNumber,
    /// Registered address (주소), in Korea.
    pub address: Address,
    /// Facial image.
    pub portrait: Portrait,
    /// Issue date of the mobile credential.
    #[serde(with = "serde_full_date")]
    pub issue_date: Date,
    /// Last valid day of the mobile credential: at most three years after the issue date.
    #[serde(with = "serde_full_date")]
    pub expiry_date: Date,
    /// The issuing authority as printed, the head of the local government
    /// (e.g. `서울특별시 종로구청장`).
    pub issuing_authority: Text,
    /// ISO 3166-2 code of the province or metropolitan city of the issuing authority.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuing_subdivision: Option<Subdivision>,
    /// The `재외국민` marking: a national who lives abroad and holds a resident card
    /// (since 2015), whose address is the last domestic one.
    #[serde(default)]
    pub overseas_national: bool,
}

/// A mobile resident registration card whose fields satisfy every rule of the card.
///
/// ```
/// use kmid_schema::{IdentityCard, ResidentCard};
/// use kmid_testkit::samples;
/// use time::macros::date;
///
/// let card: ResidentCard = samples::resident();
/// assert_eq!(card.fields().name.full(), "김민준");
/// assert!(card.age_over(19, date!(2025 - 06 - 01)));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ResidentCardFields", into = "ResidentCardFields")]
pub struct ResidentCard(ResidentCardFields);

impl ResidentCard {
    /// Checks the card's rules: a real domestic registration number; holder 17 or older on the
    /// issue date; expiry after issue and at most three years later; an address in Korea.
    ///
    /// # Errors
    /// [`SchemaError::RuleViolated`] naming the rule.
    pub fn new(fields: ResidentCardFields) -> Result<Self, SchemaError> {
        check_common(
            CardType::Resident,
            &fields.registration_number,
            fields.issue_date,
            fields.expiry_date,
        )?;
        if !fields.address.country().is_korea() {
            return Err(SchemaError::rule(
                CardType::Resident,
                RuleViolation::AddressNotDomestic,
            ));
        }
        Ok(Self(fields))
    }

    /// The card's fields.
    #[must_use]
    pub const fn fields(&self) -> &ResidentCardFields {
        &self.0
    }

    /// The card's fields, by value (to change one and check again with [`Self::new`]).
    #[must_use]
    pub fn into_fields(self) -> ResidentCardFields {
        self.0
    }
}

impl TryFrom<ResidentCardFields> for ResidentCard {
    type Error = SchemaError;
    fn try_from(fields: ResidentCardFields) -> Result<Self, SchemaError> {
        Self::new(fields)
    }
}

impl From<ResidentCard> for ResidentCardFields {
    fn from(card: ResidentCard) -> Self {
        card.0
    }
}

impl IdentityCard for ResidentCard {
    fn card_type(&self) -> CardType {
        CardType::Resident
    }
    fn registration_number(&self) -> &RegistrationNumber {
        &self.0.registration_number
    }
    fn issue_date(&self) -> Date {
        self.0.issue_date
    }
    fn expiry_date(&self) -> Date {
        self.0.expiry_date
    }
    fn portrait(&self) -> &Portrait {
        &self.0.portrait
    }
}
