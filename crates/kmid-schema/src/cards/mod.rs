//! The three Korean mobile ID cards and the rules they share.

mod foreigner;
mod overseas;
mod resident;

use core::fmt;

use serde::{Deserialize, Serialize};
use time::Date;

pub use foreigner::{ForeignerCard, ForeignerCardFields, ForeignerCardType};
pub use overseas::{OverseasNationalCard, OverseasNationalCardFields};
pub use resident::{ResidentCard, ResidentCardFields};

use crate::age;
use crate::date::add_years;
use crate::error::{DateText, RuleViolation, SchemaError};
use crate::portrait::Portrait;
use crate::registration::{Origin, RegistrationNumber, Sex};

/// The longest validity of a mobile ID credential, in years, counted from its issue date by the
/// Civil Act (see [`add_years`]). The mobile resident registration card is valid three years on
/// one phone; the profile applies the same bound to the other two cards (`spec/README.md`, D-6).
pub const MAX_VALIDITY_YEARS: u32 = 3;

/// The three credentials, each with its identifiers in the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardType {
    /// 모바일 주민등록증: the mobile resident registration card.
    Resident,
    /// 모바일 외국인등록증: the mobile foreigner registration card (with the permanent residence
    /// card and the overseas-Korean residence report card).
    Foreigner,
    /// 모바일 재외국민 신원확인증: the mobile overseas Korean national ID.
    OverseasNational,
}

impl CardType {
    /// All card types, in catalogue order.
    pub const ALL: [Self; 3] = [Self::Resident, Self::Foreigner, Self::OverseasNational];

    /// The ISO/IEC 18013-5 docType of the mdoc.
    #[must_use]
    pub const fn doc_type(self) -> &'static str {
        match self {
            Self::Resident => "kr.go.mois.rrc.1",
            Self::Foreigner => "kr.go.moj.rc.1",
            Self::OverseasNational => "kr.go.oka.onid.1",
        }
    }

    /// The SD-JWT VC `vct`. The profile uses the docType string for both formats.
    #[must_use]
    pub const fn vct(self) -> &'static str {
        self.doc_type()
    }

    /// The card type with the given docType or `vct`, if it is one of ours.
    #[must_use]
    pub fn from_doc_type(doc_type: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.doc_type() == doc_type)
    }

    /// Whether the card has a physical IC card whose chip can vouch for a tap-to-issue: the
    /// resident and foreigner registration cards do; the overseas national ID has no plastic
    /// counterpart and is issued in person at a mission only (`spec/overseas-national-card.md`).
    #[must_use]
    pub const fn has_ic_card(self) -> bool {
        match self {
            Self::Resident | Self::Foreigner => true,
            Self::OverseasNational => false,
        }
    }

    /// The youngest age, in Civil Act full years on the issue date, at which the card is issued.
    #[must_use]
    pub const fn minimum_age(self) -> u32 {
        match self {
            Self::Resident => 17,
            Self::Foreigner | Self::OverseasNational => 14,
        }
    }

    /// Which registration numbers the card carries.
    #[must_use]
    pub const fn origin(self) -> Origin {
        match self {
            Self::Resident | Self::OverseasNational => Origin::Domestic,
            Self::Foreigner => Origin::Foreign,
        }
    }

    /// The Korean name of the card.
    #[must_use]
    pub const fn name_ko(self) -> &'static str {
        match self {
            Self::Resident => "모바일 주민등록증",
            Self::Foreigner => "모바일 외국인등록증",
            Self::OverseasNational => "모바일 재외국민 신원확인증",
        }
    }

    /// The English name of the card.
    #[must_use]
    pub const fn name_en(self) -> &'static str {
        match self {
            Self::Resident => "Mobile Resident Registration Card",
            Self::Foreigner => "Mobile Foreigner Registration Card",
            Self::OverseasNational => "Mobile Overseas Korean National ID",
        }
    }
}

impl fmt::Display for CardType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name_en())
    }
}

/// What every card offers: its registration number, dates and portrait, and the age and
/// validity questions a verifier asks of them.
pub trait IdentityCard {
    /// Which card this is.
    fn card_type(&self) -> CardType;
    /// The holder's registration number.
    fn registration_number(&self) -> &RegistrationNumber;
    /// The date the mobile credential was issued.
    fn issue_date(&self) -> Date;
    /// The last day the mobile credential is valid.
    fn expiry_date(&self) -> Date;
    /// The holder's facial image.
    fn portrait(&self) -> &Portrait;

    /// Date of birth, from the registration number.
    fn birth_date(&self) -> Date {
        self.registration_number().birth_date()
    }

    /// Sex, from the registration number's G digit.
    fn sex(&self) -> Sex {
        self.registration_number().sex()
    }

    /// Full years of age on `on` (Civil Act).
    fn age_in_years(&self, on: Date) -> u32 {
        age::age_in_years(self.birth_date(), on)
    }

    /// Whether the holder is `n` or older on `on` (Civil Act, by birthday).
    fn age_over(&self, n: u32, on: Date) -> bool {
        age::age_over(self.birth_date(), n, on)
    }

    /// Whether the Youth Protection Act treats the holder as an adult on `on`.
    fn youth_act_adult(&self, on: Date) -> bool {
        age::youth_act_adult(self.birth_date(), on)
    }

    /// The year of birth.
    fn age_birth_year(&self) -> i32 {
        self.birth_date().year()
    }

    /// Whether `on` lies within the card's validity, issue and expiry dates included.
    fn is_valid_on(&self, on: Date) -> bool {
        self.issue_date() <= on && on <= self.expiry_date()
    }
}

/// Any of the three cards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "card", rename_all = "snake_case")]
pub enum Card {
    /// A mobile resident registration card.
    Resident(ResidentCard),
    /// A mobile foreigner registration card.
    Foreigner(ForeignerCard),
    /// A mobile overseas Korean national ID.
    OverseasNational(OverseasNationalCard),
}

impl Card {
    fn inner(&self) -> &dyn IdentityCard {
        match self {
            Self::Resident(c) => c,
            Self::Foreigner(c) => c,
            Self::OverseasNational(c) => c,
        }
    }
}

impl IdentityCard for Card {
    fn card_type(&self) -> CardType {
        self.inner().card_type()
    }
    fn registration_number(&self) -> &RegistrationNumber {
        self.inner().registration_number()
    }
    fn issue_date(&self) -> Date {
        self.inner().issue_date()
    }
    fn expiry_date(&self) -> Date {
        self.inner().expiry_date()
    }
    fn portrait(&self) -> &Portrait {
        self.inner().portrait()
    }
}

impl From<ResidentCard> for Card {
    fn from(c: ResidentCard) -> Self {
        Self::Resident(c)
    }
}

impl From<ForeignerCard> for Card {
    fn from(c: ForeignerCard) -> Self {
        Self::Foreigner(c)
    }
}

impl From<OverseasNationalCard> for Card {
    fn from(c: OverseasNationalCard) -> Self {
        Self::OverseasNational(c)
    }
}

/// The rules all three cards share: a real registration number of the right origin, issued on
/// or after birth to someone old enough, an expiry after the issue date and at most
/// [`MAX_VALIDITY_YEARS`] later.
pub(crate) fn check_common(
    card: CardType,
    number: &RegistrationNumber,
    issue: Date,
    expiry: Date,
) -> Result<(), SchemaError> {
    let violated = |rule| Err(SchemaError::rule(card, rule));
    if number.is_placeholder() {
        return violated(RuleViolation::PlaceholderRegistrationNumber);
    }
    if number.origin() != card.origin() {
        return violated(RuleViolation::RegistrationNumberOrigin {
            required: card.origin(),
            found: number.origin(),
        });
    }
    if issue < number.birth_date() {
        return violated(RuleViolation::IssuedBeforeBirth);
    }
    let age = age::age_in_years(number.birth_date(), issue);
    if age < card.minimum_age() {
        return violated(RuleViolation::TooYoung {
            minimum: card.minimum_age(),
            age,
        });
    }
    if expiry <= issue {
        return violated(RuleViolation::ExpiryNotAfterIssue {
            issue: DateText(issue),
            expiry: DateText(expiry),
        });
    }
    // No later date exists than the end of `Date`'s range, so an overflow bounds nothing.
    let latest = add_years(issue, MAX_VALIDITY_YEARS).unwrap_or(Date::MAX);
    if expiry > latest {
        return violated(RuleViolation::ValidityTooLong {
            years: MAX_VALIDITY_YEARS,
            latest: DateText(latest),
            expiry: DateText(expiry),
        });
    }
    Ok(())
}
