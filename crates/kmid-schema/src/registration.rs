//! Resident and foreigner registration numbers (주민등록번호 / 외국인등록번호), `YYMMDD-GNNNNNN`.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::{Date, Month};

use crate::error::{InvalidValue, RegistrationNumberError, SchemaError};

/// The field name used in errors raised while parsing a registration number.
const FIELD: &str = "registration_number";

/// Whether a registration number belongs to a Korean national or a foreigner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A resident registration number (주민등록번호): G is 9, 0, 1, 2, 3 or 4.
    Domestic,
    /// A foreigner registration number (외국인등록번호): G is 5, 6, 7 or 8.
    Foreign,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Domestic => "domestic",
            Self::Foreign => "foreign",
        })
    }
}

/// Sex as ISO/IEC 5218 codes it, the coding of the `sex` element in ISO/IEC 18013-5 and 23220-2
/// and of the EU PID `sex` claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// ISO/IEC 5218 code 1.
    Male,
    /// ISO/IEC 5218 code 2.
    Female,
}

impl Sex {
    /// The ISO/IEC 5218 code: 1 male, 2 female.
    #[must_use]
    pub const fn iso5218(self) -> u8 {
        match self {
            Self::Male => 1,
            Self::Female => 2,
        }
    }
}

/// What the pre-2020 check digit says about a number. Advisory only: numbers assigned since
/// 2020-10-05 end in six random digits, so a mismatch is *not* an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckDigit {
    /// The 13th digit equals the check digit of the first twelve.
    Matches,
    /// It does not: either a number assigned since 2020-10-05 or a mistyped one.
    DoesNotMatch,
    /// The no-number placeholder carries no check digit.
    NotApplicable,
}

/// A resident or foreigner registration number, `YYMMDD-GNNNNNN`.
///
/// A value of this type always has a valid shape, an assigned G digit and a real birth date.
/// It is personal data whose processing the Personal Information Protection Act (Art. 24-2)
/// restricts, so it is hard to leak by accident:
///
/// - [`Display`](fmt::Display) and [`Debug`] print it masked: `900101-1******`;
/// - the whole number comes out only through [`RegistrationNumber::expose`] (and through
///   `serde`, which storage and signing need).
///
/// ```
/// use kmid_schema::{RegistrationNumber, Sex, Origin};
///
/// let rrn = RegistrationNumber::parse("900101-1234568")?;
/// assert_eq!(rrn.to_string(), "900101-1******");
/// assert_eq!(format!("{rrn:?}"), "RegistrationNumber(900101-1******)");
/// assert_eq!(rrn.expose(), "900101-1234568");
/// assert_eq!(rrn.sex(), Sex::Male);
/// assert_eq!(rrn.origin(), Origin::Domestic);
/// assert_eq!(rrn.birth_date().year(), 1990);
/// # Ok::<(), kmid_schema::SchemaError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RegistrationNumber {
    /// The thirteen digits, each 0..=9.
    digits: [u8; 13],
    birth_date: Date,
}

/// The century a gender digit stands for. Every digit 0–9 is assigned (9/0: 1800s; 1/2 and 5/6:
/// 1900s; 3/4 and 7/8: 2000s), so no G digit is impossible in itself.
const fn century_of(g: u8) -> i32 {
    match g {
        9 | 0 => 1800,
        1 | 2 | 5 | 6 => 1900,
        _ => 2000,
    }
}

/// Weights of the pre-2020 check digit, applied to the first twelve digits.
const WEIGHTS: [u32; 12] = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];

impl RegistrationNumber {
    /// Parses `YYMMDD-GNNNNNN` or `YYMMDDGNNNNNN`.
    ///
    /// Accepts the no-number placeholder `YYMMDD-G000000` (see [`Self::is_placeholder`]); card
    /// types refuse it where a real number is required. Does not reject a failing check digit
    /// (see [`Self::check_digit`]).
    ///
    /// # Errors
    /// [`SchemaError::InvalidField`] with [`InvalidValue::RegistrationNumber`]: the format, the G
    /// digit or the birth date.
    pub fn parse(text: &str) -> Result<Self, SchemaError> {
        let err = |e| SchemaError::field(FIELD, InvalidValue::RegistrationNumber(e));
        let bytes = text.as_bytes();
        let digits_text: [u8; 13] = match bytes.len() {
            13 => bytes
                .try_into()
                .map_err(|_| err(RegistrationNumberError::Format))?,
            14 => {
                let (head, rest) = bytes.split_at(6);
                let (hyphen, tail) = rest.split_at(1);
                if hyphen != b"-" {
                    return Err(err(RegistrationNumberError::Format));
                }
                let mut all = [0u8; 13];
                for (slot, &b) in all.iter_mut().zip(head.iter().chain(tail)) {
                    *slot = b;
                }
                all
            }
            _ => return Err(err(RegistrationNumberError::Format)),
        };
        let mut digits = [0u8; 13];
        for (slot, b) in digits.iter_mut().zip(digits_text) {
            if !b.is_ascii_digit() {
                return Err(err(RegistrationNumberError::Format));
            }
            *slot = b - b'0';
        }
        let [y1, y2, m1, m2, d1, d2, g, ..] = digits;
        let year = century_of(g) + i32::from(y1 * 10 + y2);
        let month =
            Month::try_from(m1 * 10 + m2).map_err(|_| err(RegistrationNumberError::BirthDate))?;
        let birth_date = Date::from_calendar_date(year, month, d1 * 10 + d2)
            .map_err(|_| err(RegistrationNumberError::BirthDate))?;
        Ok(Self { digits, birth_date })
    }

    /// The whole number, `YYMMDD-GNNNNNN`. Call this only where a statute allows processing it.
    #[must_use]
    pub fn expose(&self) -> String {
        let mut s = String::with_capacity(14);
        for (i, d) in self.digits.iter().enumerate() {
            if i == 6 {
                s.push('-');
            }
            s.push(char::from(b'0' + d));
        }
        s
    }

    /// The masked form, `YYMMDD-G******`, which is also what `Display` prints.
    #[must_use]
    pub fn masked(&self) -> String {
        self.to_string()
    }

    /// The birth date encoded in the first seven digits.
    #[must_use]
    pub const fn birth_date(&self) -> Date {
        self.birth_date
    }

    /// The gender/century digit G.
    #[must_use]
    pub const fn gender_digit(&self) -> u8 {
        self.digits[6]
    }

    /// Sex as G encodes it: odd G male, even G female (9 male and 0 female for the 1800s).
    #[must_use]
    pub const fn sex(&self) -> Sex {
        if self.gender_digit() % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// Domestic (G in 0–4, 9) or foreign (G in 5–8).
    #[must_use]
    pub const fn origin(&self) -> Origin {
        match self.gender_digit() {
            5..=8 => Origin::Foreign,
            _ => Origin::Domestic,
        }
    }

    /// The first year of the century of birth: 1800, 1900 or 2000.
    #[must_use]
    pub const fn century(&self) -> i32 {
        century_of(self.gender_digit())
    }

    /// Whether this is the placeholder `YYMMDD-G000000` that marks a national born abroad who
    /// has no resident registration number.
    #[must_use]
    pub fn is_placeholder(&self) -> bool {
        self.digits.iter().skip(7).all(|&d| d == 0)
    }

    /// The pre-2020 check digit, as advice only.
    ///
    /// `C = (11 − Σ wᵢdᵢ mod 11) mod 10` with weights 2,3,4,5,6,7,8,9,2,3,4,5 for resident numbers;
    /// foreigner numbers use 13 in place of 11 (an inference from public descriptions; see
    /// `spec/registration-number.md`).
    #[must_use]
    pub fn check_digit(&self) -> CheckDigit {
        if self.is_placeholder() {
            return CheckDigit::NotApplicable;
        }
        let sum: u32 = WEIGHTS
            .iter()
            .zip(self.digits.iter())
            .map(|(w, &d)| w * u32::from(d))
            .sum();
        let base = match self.origin() {
            Origin::Domestic => 11,
            Origin::Foreign => 13,
        };
        let expected = (base - sum % 11) % 10;
        if Some(&u8::try_from(expected).unwrap_or(u8::MAX)) == self.digits.last() {
            CheckDigit::Matches
        } else {
            CheckDigit::DoesNotMatch
        }
    }
}

impl fmt::Display for RegistrationNumber {
    /// Masked: `YYMMDD-G******`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in self.digits.iter().take(6) {
            write!(f, "{d}")?;
        }
        write!(f, "-{}******", self.gender_digit())
    }
}

impl fmt::Debug for RegistrationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegistrationNumber({self})")
    }
}

impl core::str::FromStr for RegistrationNumber {
    type Err = SchemaError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for RegistrationNumber {
    /// The whole number with its hyphen: storing and signing a card needs it.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.expose())
    }
}

impl<'de> Deserialize<'de> for RegistrationNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn rrn(s: &str) -> RegistrationNumber {
        RegistrationNumber::parse(s).unwrap()
    }

    fn kind(s: &str) -> RegistrationNumberError {
        match RegistrationNumber::parse(s) {
            Err(SchemaError::InvalidField {
                field: "registration_number",
                kind: InvalidValue::RegistrationNumber(k),
            }) => k,
            other => panic!("{s}: expected a registration number error, got {other:?}"),
        }
    }

    #[test]
    fn century_sex_and_origin_from_g() {
        // (number, birth date, sex, origin)
        let cases = [
            (
                "850315-9000013",
                date!(1885 - 03 - 15),
                Sex::Male,
                Origin::Domestic,
            ),
            (
                "850315-0000013",
                date!(1885 - 03 - 15),
                Sex::Female,
                Origin::Domestic,
            ),
            (
                "900101-1234568",
                date!(1990 - 01 - 01),
                Sex::Male,
                Origin::Domestic,
            ),
            (
                "900101-2234567",
                date!(1990 - 01 - 01),
                Sex::Female,
                Origin::Domestic,
            ),
            (
                "050607-3123456",
                date!(2005 - 06 - 07),
                Sex::Male,
                Origin::Domestic,
            ),
            (
                "050607-4123456",
                date!(2005 - 06 - 07),
                Sex::Female,
                Origin::Domestic,
            ),
            (
                "881120-5123456",
                date!(1988 - 11 - 20),
                Sex::Male,
                Origin::Foreign,
            ),
            (
                "881120-6123456",
                date!(1988 - 11 - 20),
                Sex::Female,
                Origin::Foreign,
            ),
            (
                "010203-7123456",
                date!(2001 - 02 - 03),
                Sex::Male,
                Origin::Foreign,
            ),
            (
                "010203-8123456",
                date!(2001 - 02 - 03),
                Sex::Female,
                Origin::Foreign,
            ),
        ];
        for (text, birth, sex, origin) in cases {
            let n = rrn(text);
            assert_eq!(n.birth_date(), birth, "{text}");
            assert_eq!(n.sex(), sex, "{text}");
            assert_eq!(n.origin(), origin, "{text}");
            assert_eq!(n.expose(), text);
        }
        assert_eq!(rrn("850315-9000013").century(), 1800);
        assert_eq!(rrn("010203-8123456").century(), 2000);
    }

    #[test]
    fn hyphen_is_optional_but_only_in_its_place() {
        assert_eq!(rrn("9001011234568"), rrn("900101-1234568"));
        assert_eq!(kind("90010-11234568"), RegistrationNumberError::Format);
        assert_eq!(kind("900101-123456"), RegistrationNumberError::Format);
        assert_eq!(kind("900101-12345678"), RegistrationNumberError::Format);
        assert_eq!(kind("900101 1234568"), RegistrationNumberError::Format);
        assert_eq!(kind("9001O1-1234568"), RegistrationNumberError::Format);
        assert_eq!(kind("900101-123456８"), RegistrationNumberError::Format);
        assert_eq!(kind(""), RegistrationNumberError::Format);
    }

    #[test]
    fn impossible_dates_are_rejected() {
        assert_eq!(kind("900230-1234567"), RegistrationNumberError::BirthDate);
        assert_eq!(kind("901301-1234567"), RegistrationNumberError::BirthDate);
        assert_eq!(kind("900100-1234567"), RegistrationNumberError::BirthDate);
        // 29 February exists in 2000 (G=3) but not in 1900 (G=1).
        assert_eq!(rrn("000229-3123456").birth_date(), date!(2000 - 02 - 29));
        assert_eq!(kind("000229-1123456"), RegistrationNumberError::BirthDate);
    }

    #[test]
    fn pre_2020_check_digit_is_advisory() {
        // Σ for 900101-123456: 2*9+3*0+4*0+5*1+6*0+7*1+8*1+9*2+2*3+3*4+4*5+5*6 = 124; 124 mod 11 = 3;
        // (11 - 3) mod 10 = 8.
        assert_eq!(rrn("900101-1234568").check_digit(), CheckDigit::Matches);
        // A post-2020-10-05 number with a random tail is still a valid number (the check digit of
        // 201201-398765 would be 4).
        let random_tail = rrn("201201-3987655");
        assert_eq!(random_tail.check_digit(), CheckDigit::DoesNotMatch);
        assert_eq!(random_tail.birth_date(), date!(2020 - 12 - 01));
        // Foreigner numbers: (13 - Σ mod 11) mod 10. Σ for 881120-512345: 2*8+3*8+4*1+5*1+6*2+7*0+8*5+9*1+2*2+3*3+4*4+5*5 = 164;
        // 164 mod 11 = 10; (13 - 10) mod 10 = 3.
        assert_eq!(rrn("881120-5123453").check_digit(), CheckDigit::Matches);
        assert_eq!(
            rrn("881120-5123456").check_digit(),
            CheckDigit::DoesNotMatch
        );
    }

    #[test]
    fn placeholder_is_recognised() {
        let p = rrn("850101-1000000");
        assert!(p.is_placeholder());
        assert_eq!(p.check_digit(), CheckDigit::NotApplicable);
        assert!(!rrn("850101-1000001").is_placeholder());
    }

    #[test]
    fn never_printed_whole_except_on_request() {
        let n = rrn("900101-2234567");
        assert_eq!(n.to_string(), "900101-2******");
        assert_eq!(n.masked(), "900101-2******");
        let debug = format!("{n:?} {:#?}", Some(n));
        assert!(!debug.contains("234567"), "{debug}");
        assert_eq!(n.expose(), "900101-2234567");
    }
}
