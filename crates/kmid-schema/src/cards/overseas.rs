//! 모바일 재외국민 신원확인증: the mobile overseas Korean national ID, issued at embassies and
//! consulates to registered nationals living abroad.

use serde::{Deserialize, Serialize};
use time::Date;

use super::{CardType, IdentityCard, check_common};
use crate::date::serde_full_date;
use crate::error::{RuleViolation, SchemaError};
use crate::portrait::Portrait;
use crate::registration::RegistrationNumber;
use crate::text::{CountryCode, LatinName, PassportNumber, PersonName, Text};

/// The fields of a mobile overseas Korean national ID, as an issuer assembles them.
///
/// Plain data; [`OverseasNationalCard::new`] checks the rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverseasNationalCardFields {
    /// Name in Hangul.
    pub name: PersonName,
    /// Name in Latin letters as in the passport.
    pub name_latin: LatinName,
    /// Resident registration number: a real one, never the `X000000` placeholder.
    pub registration_number: RegistrationNumber,
    /// Number of the holder's valid Korean e-passport.
    pub passport_number: PassportNumber,
    /// Country of residence, never `KR`.
    pub country_of_residence: CountryCode,
    /// The embassy or consulate where the holder is registered and the card was issued
    /// (e.g. `주로스앤젤레스 대한민국 총영사관`).
    pub registering_mission: Text,
    /// Facial image.
    pub portrait: Portrait,
    /// Issue date of the mobile credential.
    #[serde(with = "serde_full_date")]
    pub issue_date: Date,
    /// Last valid day of the mobile credential.
    #[serde(with = "serde_full_date")]
    pub expiry_date: Date,
    /// The authority in whose name the card is issued (the profile's choice: `재외동포청`,
    /// the Overseas Koreans Agency; see `spec/README.md`, D-3).
    pub issuing_authority: Text,
}

/// A mobile overseas Korean national ID whose fields satisfy every rule of the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "OverseasNationalCardFields",
    into = "OverseasNationalCardFields"
)]
pub struct OverseasNationalCard(OverseasNationalCardFields);

impl OverseasNationalCard {
    /// Checks the card's rules: a real domestic registration number; holder 14 or older on the
    /// issue date; expiry after issue and at most three years later; a country of residence
    /// other than Korea.
    ///
    /// # Errors
    /// [`SchemaError::RuleViolated`] naming the rule.
    pub fn new(fields: OverseasNationalCardFields) -> Result<Self, SchemaError> {
        let card = CardType::OverseasNational;
        check_common(
            card,
            &fields.registration_number,
            fields.issue_date,
            fields.expiry_date,
        )?;
        if fields.country_of_residence.is_korea() {
            return Err(SchemaError::rule(
                card,
                RuleViolation::KoreaNotAllowed {
                    field: "country_of_residence",
                },
            ));
        }
        Ok(Self(fields))
    }

    /// The card's fields.
    #[must_use]
    pub const fn fields(&self) -> &OverseasNationalCardFields {
        &self.0
    }

    /// The card's fields, by value.
    #[must_use]
    pub fn into_fields(self) -> OverseasNationalCardFields {
        self.0
    }
}

impl TryFrom<OverseasNationalCardFields> for OverseasNationalCard {
    type Error = SchemaError;
    fn try_from(fields: OverseasNationalCardFields) -> Result<Self, SchemaError> {
        Self::new(fields)
    }
}

impl From<OverseasNationalCard> for OverseasNationalCardFields {
    fn from(card: OverseasNationalCard) -> Self {
        card.0
    }
}

impl IdentityCard for OverseasNationalCard {
    fn card_type(&self) -> CardType {
        CardType::OverseasNational
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
