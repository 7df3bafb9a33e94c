//! 모바일 외국인등록증: the mobile foreigner registration card, which also covers the permanent
//! residence card (영주증) and the overseas-Korean residence report card (국내거소신고증).

use core::fmt;

use serde::{Deserialize, Serialize};
use time::Date;

use super::{CardType, IdentityCard, check_common};
use crate::address::Address;
use crate::date::serde_full_date;
use crate::error::{DateText, RuleViolation, SchemaError};
use crate::portrait::Portrait;
use crate::registration::RegistrationNumber;
use crate::text::{CountryCode, LatinName, StatusOfStay, Text};

/// Which physical card the mobile foreigner card stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ForeignerCardType {
    /// 외국인등록증: residence card of a registered foreigner.
    ResidenceCard,
    /// 영주증: permanent residence card (status of stay F-5).
    PermanentResidenceCard,
    /// 국내거소신고증: residence report card of an overseas Korean (status of stay F-4).
    OverseasKoreanResidenceCard,
}

impl ForeignerCardType {
    /// The value of the `card_subtype` element and claim.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ResidenceCard => "residence_card",
            Self::PermanentResidenceCard => "permanent_residence_card",
            Self::OverseasKoreanResidenceCard => "overseas_korean_residence_card",
        }
    }
}

impl fmt::Display for ForeignerCardType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fields of a mobile foreigner registration card, as an issuer assembles them.
///
/// Plain data; [`ForeignerCard::new`] checks the rules. Birth date and sex come from the
/// registration number (sex was dropped from the printed card in 2023 but stays derivable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignerCardFields {
    /// Which physical card this stands for.
    pub card_subtype: ForeignerCardType,
    /// Name in Latin letters as in the passport.
    pub name: LatinName,
    /// Foreigner registration number (외국인등록번호), foreign G digit.
    pub registration_number: RegistrationNumber,
    /// Country or region of nationality (국가/지역), never `KR`.
    pub nationality: CountryCode,
    /// Status of stay (체류자격), e.g. `E-9`, `F-4`, `F-5`, `F-6-1`.
    pub status_of_stay: StatusOfStay,
    /// Last day of the permitted period of stay (체류기간); absent for permanent residents,
    /// whose stay has no end.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "serde_full_date::option"
    )]
    pub permitted_stay_until: Option<Date>,
    /// Address in Korea (국내 체류지).
    pub address: Address,
    /// Facial image.
    pub portrait: Portrait,
    /// Issue date of the mobile credential.
    #[serde(with = "serde_full_date")]
    pub issue_date: Date,
    /// Last valid day of the mobile credential: never after the permitted stay.
    #[serde(with = "serde_full_date")]
    pub expiry_date: Date,
    /// The issuing immigration office (e.g. `서울출입국·외국인청`).
    pub issuing_authority: Text,
}

/// A mobile foreigner registration card whose fields satisfy every rule of the card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ForeignerCardFields", into = "ForeignerCardFields")]
pub struct ForeignerCard(ForeignerCardFields);

impl ForeignerCard {
    /// Checks the card's rules: a real foreign registration number; holder 14 or older on the
    /// issue date; expiry after issue, at most three years later and never after the end of the
    /// permitted stay; a permitted stay exactly when the holder is not a permanent resident;
    /// a status of stay that fits the subtype (F-5 for the permanent residence card, F-4 for the
    /// overseas-Korean residence report card, anything but F-5 for a residence card); a
    /// nationality other than Korea; an address in Korea.
    ///
    /// # Errors
    /// [`SchemaError::RuleViolated`] naming the rule.
    pub fn new(fields: ForeignerCardFields) -> Result<Self, SchemaError> {
        let card = CardType::Foreigner;
        let violated = |rule| Err(SchemaError::rule(card, rule));
        check_common(
            card,
            &fields.registration_number,
            fields.issue_date,
            fields.expiry_date,
        )?;
        if fields.nationality.is_korea() {
            return violated(RuleViolation::KoreaNotAllowed {
                field: "nationality",
            });
        }
        let main = fields.status_of_stay.main_code();
        let fits = match fields.card_subtype {
            ForeignerCardType::ResidenceCard => main != "F-5",
            ForeignerCardType::PermanentResidenceCard => main == "F-5",
            ForeignerCardType::OverseasKoreanResidenceCard => main == "F-4",
        };
        if !fits {
            return violated(RuleViolation::StatusOfStayMismatch {
                status: fields.status_of_stay.to_string(),
                card_type: fields.card_subtype,
            });
        }
        let permanent = fields.card_subtype == ForeignerCardType::PermanentResidenceCard;
        match (permanent, fields.permitted_stay_until) {
            (true, Some(_)) => {
                return violated(RuleViolation::PermittedStay(
                    "must be absent for a permanent resident",
                ));
            }
            (false, None) => return violated(RuleViolation::PermittedStay("is required")),
            (false, Some(until)) if fields.expiry_date > until => {
                return violated(RuleViolation::BeyondPermittedStay {
                    expiry: DateText(fields.expiry_date),
                    permitted_until: DateText(until),
                });
            }
            _ => {}
        }
        if !fields.address.country().is_korea() {
            return violated(RuleViolation::AddressNotDomestic);
        }
        Ok(Self(fields))
    }

    /// The card's fields.
    #[must_use]
    pub const fn fields(&self) -> &ForeignerCardFields {
        &self.0
    }

    /// The card's fields, by value.
    #[must_use]
    pub fn into_fields(self) -> ForeignerCardFields {
        self.0
    }
}

impl TryFrom<ForeignerCardFields> for ForeignerCard {
    type Error = SchemaError;
    fn try_from(fields: ForeignerCardFields) -> Result<Self, SchemaError> {
        Self::new(fields)
    }
}

impl From<ForeignerCard> for ForeignerCardFields {
    fn from(card: ForeignerCard) -> Self {
        card.0
    }
}

impl IdentityCard for ForeignerCard {
    fn card_type(&self) -> CardType {
        CardType::Foreigner
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
