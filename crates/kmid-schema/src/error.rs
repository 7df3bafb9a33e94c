//! The one error type of this crate.

use core::fmt;

use crate::cards::CardType;

/// Why a value could not become a `kmid-schema` type.
///
/// Every error names the field it concerns or the card rule it breaks, so an issuer can show the
/// applicant exactly what to correct. The field is the dotted path used in card JSON where the
/// value's type has one place (`registration_number`, `address.postal_code`,
/// `issuing_subdivision`); for types used in several fields it is the type's own name
/// (`country` for any country code, `latin_name.family` for a passport name, `text` for free
/// text read from JSON).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A single field holds a value that is not allowed for it.
    #[error("field `{field}`: {kind}")]
    InvalidField {
        /// The field, as a dotted JSON path.
        field: &'static str,
        /// What is wrong with its value.
        kind: InvalidValue,
    },
    /// Every field is well formed, but the card as a whole breaks one of its rules.
    #[error("{card:?} card: {rule}")]
    RuleViolated {
        /// The card type whose rule is broken.
        card: CardType,
        /// The rule.
        rule: RuleViolation,
    },
}

impl SchemaError {
    pub(crate) fn field(field: &'static str, kind: InvalidValue) -> Self {
        Self::InvalidField { field, kind }
    }

    pub(crate) fn rule(card: CardType, rule: RuleViolation) -> Self {
        Self::RuleViolated { card, rule }
    }
}

/// What is wrong with one field's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidValue {
    /// The value is empty (or only white space) where text is required.
    #[error("must not be empty")]
    Empty,
    /// The value is longer than the profile allows.
    #[error("{actual} characters where at most {max} are allowed")]
    TooLong {
        /// The maximum, in Unicode scalar values (or bytes for binary data).
        max: usize,
        /// The length found.
        actual: usize,
    },
    /// A control character (or another character the field forbids) at the given character index.
    #[error("character U+{code_point:04X} at index {index} is not allowed here")]
    ForbiddenCharacter {
        /// Index of the character, counted in Unicode scalar values.
        index: usize,
        /// The character's code point.
        code_point: u32,
    },
    /// White space at the start or end of the value.
    #[error("leading or trailing white space")]
    UntrimmedWhitespace,
    /// The value does not have the shape the field requires.
    #[error("expected {expected}")]
    Malformed {
        /// The shape that was expected, in words.
        expected: &'static str,
    },
    /// A registration number that cannot be one.
    #[error("{0}")]
    RegistrationNumber(RegistrationNumberError),
    /// Portrait bytes that are not a JPEG image.
    #[error(
        "not a JPEG image (no SOI marker FF D8 FF at the start or no EOI marker FF D9 at the end)"
    )]
    NotJpeg,
}

/// Why a string is not a resident or foreigner registration number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationNumberError {
    /// Not 13 digits, optionally with one hyphen after the sixth.
    #[error("expected YYMMDD-GNNNNNN (13 digits, hyphen optional)")]
    Format,
    /// YYMMDD with the century from G is not a calendar date.
    #[error("YYMMDD with its century is not a calendar date")]
    BirthDate,
}

/// A card-level rule that a set of well-formed fields breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleViolation {
    /// The holder is younger than the card's minimum age on the issue date.
    #[error("holder is {age} on the issue date; the card requires {minimum} or older")]
    TooYoung {
        /// The minimum age (Civil Act full years).
        minimum: u32,
        /// The holder's age on the issue date.
        age: u32,
    },
    /// The expiry date is not after the issue date.
    #[error("expiry date {expiry} is not after issue date {issue}")]
    ExpiryNotAfterIssue {
        /// Issue date.
        issue: DateText,
        /// Expiry date.
        expiry: DateText,
    },
    /// The validity period is longer than the card allows.
    #[error("expiry date {expiry} is later than {latest}, {years} years after the issue date")]
    ValidityTooLong {
        /// The longest validity, in years.
        years: u32,
        /// The latest allowed expiry date.
        latest: DateText,
        /// The expiry date given.
        expiry: DateText,
    },
    /// A foreigner card would outlive its holder's permitted period of stay.
    #[error("expiry date {expiry} is after the end of the permitted stay {permitted_until}")]
    BeyondPermittedStay {
        /// The expiry date given.
        expiry: DateText,
        /// The last day of the permitted stay.
        permitted_until: DateText,
    },
    /// The issue date is before the holder's birth date.
    #[error("issue date is before the birth date")]
    IssuedBeforeBirth,
    /// The `X000000` placeholder (no real registration number) where the card requires a real one.
    #[error("the registration number is the no-number placeholder; this card requires a real one")]
    PlaceholderRegistrationNumber,
    /// A registration number of the wrong kind: a foreigner's number on a citizen's card or the reverse.
    #[error("a {found} registration number where the card requires a {required} one")]
    RegistrationNumberOrigin {
        /// What the card requires.
        required: crate::registration::Origin,
        /// What the number is.
        found: crate::registration::Origin,
    },
    /// The status of stay does not belong to the card subtype.
    #[error("status of stay {status} does not fit a {card_type}")]
    StatusOfStayMismatch {
        /// The status of stay given.
        status: String,
        /// The foreigner card subtype.
        card_type: crate::cards::ForeignerCardType,
    },
    /// A permitted period of stay where none exists (permanent residents) or none where one must.
    #[error("permitted period of stay {0}")]
    PermittedStay(&'static str),
    /// A country code of Korea where the card requires another country.
    #[error("`{field}` must not be KR on this card")]
    KoreaNotAllowed {
        /// The field.
        field: &'static str,
    },
    /// An address outside Korea where the card requires a domestic one.
    #[error("the address must be in Korea (country KR)")]
    AddressNotDomestic,
}

/// A date as text inside an error message (`YYYY-MM-DD`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct DateText(pub time::Date);

impl fmt::Display for DateText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::date::write_full_date(f, self.0)
    }
}

impl fmt::Debug for DateText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl SchemaError {
    /// The stable code of this error (see [`crate::error_code`]): `InvalidField.Empty`,
    /// `InvalidField.RegistrationNumber.Format`, `RuleViolated`.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::InvalidField { kind, .. } => match kind {
                InvalidValue::Empty => "InvalidField.Empty",
                InvalidValue::TooLong { .. } => "InvalidField.TooLong",
                InvalidValue::ForbiddenCharacter { .. } => "InvalidField.ForbiddenCharacter",
                InvalidValue::UntrimmedWhitespace => "InvalidField.UntrimmedWhitespace",
                InvalidValue::Malformed { .. } => "InvalidField.Malformed",
                InvalidValue::RegistrationNumber(RegistrationNumberError::Format) => {
                    "InvalidField.RegistrationNumber.Format"
                }
                InvalidValue::RegistrationNumber(RegistrationNumberError::BirthDate) => {
                    "InvalidField.RegistrationNumber.BirthDate"
                }
                InvalidValue::NotJpeg => "InvalidField.NotJpeg",
            },
            Self::RuleViolated { rule, .. } => match rule {
                RuleViolation::TooYoung { .. } => "RuleViolated.TooYoung",
                RuleViolation::ExpiryNotAfterIssue { .. } => "RuleViolated.ExpiryNotAfterIssue",
                RuleViolation::ValidityTooLong { .. } => "RuleViolated.ValidityTooLong",
                RuleViolation::BeyondPermittedStay { .. } => "RuleViolated.BeyondPermittedStay",
                RuleViolation::IssuedBeforeBirth => "RuleViolated.IssuedBeforeBirth",
                RuleViolation::PlaceholderRegistrationNumber => {
                    "RuleViolated.PlaceholderRegistrationNumber"
                }
                RuleViolation::RegistrationNumberOrigin { .. } => {
                    "RuleViolated.RegistrationNumberOrigin"
                }
                RuleViolation::StatusOfStayMismatch { .. } => "RuleViolated.StatusOfStayMismatch",
                RuleViolation::PermittedStay(_) => "RuleViolated.PermittedStay",
                RuleViolation::KoreaNotAllowed { .. } => "RuleViolated.KoreaNotAllowed",
                RuleViolation::AddressNotDomestic => "RuleViolated.AddressNotDomestic",
            },
        }
    }
}
