//! Validated text fields: names, codes and authority names.
//!
//! All text is full Unicode (NFC is the issuer's business; we do not normalise) and must be
//! trimmed, non-empty and free of control characters and bidirectional-override characters,
//! which could make a verifier's screen show something other than what was signed.

use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{InvalidValue, SchemaError};

/// Longest name part, in Unicode scalar values.
pub const MAX_NAME_CHARS: usize = 64;
/// Longest free text (authority names, address lines), in Unicode scalar values.
pub const MAX_TEXT_CHARS: usize = 256;

/// Which characters a text field admits.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Charset {
    /// Any Unicode scalar value that is not a control or bidi-override character.
    Unicode,
    /// ISO/IEC 8859-1 printable characters only (U+0020–U+007E, U+00A0–U+00FF), as the
    /// `*_latin1` elements of ISO/IEC 23220-2 and 18013-5 require.
    Latin1,
}

fn forbidden(c: char, charset: Charset) -> bool {
    let always = c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        || matches!(c, '\u{FFF9}'..='\u{FFFB}' | '\u{FEFF}');
    always
        || (charset == Charset::Latin1 && !matches!(c, '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{FF}'))
}

/// Checks a text field; `allow_empty` for optional parts such as a passport mononym's given name.
pub(crate) fn check_text(
    field: &'static str,
    text: &str,
    max_chars: usize,
    charset: Charset,
    allow_empty: bool,
) -> Result<(), SchemaError> {
    if text.is_empty() {
        return if allow_empty {
            Ok(())
        } else {
            Err(SchemaError::field(field, InvalidValue::Empty))
        };
    }
    if text.trim().is_empty() {
        return Err(SchemaError::field(field, InvalidValue::Empty));
    }
    if text.trim() != text {
        return Err(SchemaError::field(field, InvalidValue::UntrimmedWhitespace));
    }
    let mut count = 0usize;
    for (index, c) in text.chars().enumerate() {
        if forbidden(c, charset) {
            return Err(SchemaError::field(
                field,
                InvalidValue::ForbiddenCharacter {
                    index,
                    code_point: u32::from(c),
                },
            ));
        }
        count = index.saturating_add(1);
    }
    if count > max_chars {
        return Err(SchemaError::field(
            field,
            InvalidValue::TooLong {
                max: max_chars,
                actual: count,
            },
        ));
    }
    Ok(())
}

/// A validated free-text value (an issuing authority, a mission, an address line).
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Text(String);

impl Text {
    /// Validates `text` as a value of `field`: trimmed, non-empty, at most [`MAX_TEXT_CHARS`],
    /// no control or bidi-override characters.
    ///
    /// # Errors
    /// [`SchemaError::InvalidField`] naming `field`.
    pub fn new(field: &'static str, text: impl Into<String>) -> Result<Self, SchemaError> {
        let text = text.into();
        check_text(field, &text, MAX_TEXT_CHARS, Charset::Unicode, false)?;
        Ok(Self(text))
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new("text", String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A name in full Unicode as it stands on a Korean card, split into family and given name.
///
/// Korean names are written family name first with no space (`김민준`); the split cannot be
/// derived from the whole (two-syllable family names such as 남궁 or 제갈 exist), so it is kept.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "NameParts", into = "NameParts")]
pub struct PersonName {
    family: String,
    given: String,
}

/// The serialized form of a name: `{"family": …, "given": …}`.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NameParts {
    family: String,
    given: String,
}

impl PersonName {
    /// A name with both parts present.
    ///
    /// # Errors
    /// [`SchemaError::InvalidField`] for `name.family` or `name.given`.
    pub fn new(family: impl Into<String>, given: impl Into<String>) -> Result<Self, SchemaError> {
        let (family, given) = (family.into(), given.into());
        check_text(
            "name.family",
            &family,
            MAX_NAME_CHARS,
            Charset::Unicode,
            false,
        )?;
        check_text(
            "name.given",
            &given,
            MAX_NAME_CHARS,
            Charset::Unicode,
            false,
        )?;
        Ok(Self { family, given })
    }

    /// The family name (성).
    #[must_use]
    pub fn family(&self) -> &str {
        &self.family
    }

    /// The given name (이름).
    #[must_use]
    pub fn given(&self) -> &str {
        &self.given
    }

    /// The name as one string in Korean order, family name first, no space: `김민준`.
    #[must_use]
    pub fn full(&self) -> String {
        let mut s = String::with_capacity(self.family.len().saturating_add(self.given.len()));
        s.push_str(&self.family);
        s.push_str(&self.given);
        s
    }
}

impl TryFrom<NameParts> for PersonName {
    type Error = SchemaError;
    fn try_from(p: NameParts) -> Result<Self, SchemaError> {
        Self::new(p.family, p.given)
    }
}

impl From<PersonName> for NameParts {
    fn from(n: PersonName) -> Self {
        Self {
            family: n.family,
            given: n.given,
        }
    }
}

impl fmt::Debug for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersonName")
            .field("family", &self.family)
            .field("given", &self.given)
            .finish()
    }
}

/// A name in Latin letters as printed in the holder's passport, limited to ISO/IEC 8859-1 so it
/// can be carried in the `*_latin1` elements of ISO/IEC 23220-2.
///
/// The given name may be empty (passports of people with a single name leave it blank); the
/// family name (primary identifier) may not.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "NameParts", into = "NameParts")]
pub struct LatinName {
    family: String,
    given: String,
}

impl LatinName {
    /// A passport name.
    ///
    /// # Errors
    /// [`SchemaError::InvalidField`] for `latin_name.family` or `latin_name.given`; a character
    /// outside ISO/IEC 8859-1 is [`InvalidValue::ForbiddenCharacter`].
    pub fn new(family: impl Into<String>, given: impl Into<String>) -> Result<Self, SchemaError> {
        let (family, given) = (family.into(), given.into());
        check_text(
            "latin_name.family",
            &family,
            MAX_NAME_CHARS,
            Charset::Latin1,
            false,
        )?;
        check_text(
            "latin_name.given",
            &given,
            MAX_NAME_CHARS,
            Charset::Latin1,
            true,
        )?;
        Ok(Self { family, given })
    }

    /// The family name (primary identifier).
    #[must_use]
    pub fn family(&self) -> &str {
        &self.family
    }

    /// The given names (secondary identifier); may be empty.
    #[must_use]
    pub fn given(&self) -> &str {
        &self.given
    }
}

impl TryFrom<NameParts> for LatinName {
    type Error = SchemaError;
    fn try_from(p: NameParts) -> Result<Self, SchemaError> {
        Self::new(p.family, p.given)
    }
}

impl From<LatinName> for NameParts {
    fn from(n: LatinName) -> Self {
        Self {
            family: n.family,
            given: n.given,
        }
    }
}

impl fmt::Debug for LatinName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LatinName")
            .field("family", &self.family)
            .field("given", &self.given)
            .finish()
    }
}

/// A name in Hanja (한자), one string as on the resident card, e.g. `金民俊`.
///
/// Hanja names may use characters outside the Basic Multilingual Plane (CJK Extension B and
/// later, e.g. U+20BB7 𠮷); they are ordinary Unicode scalar values here and round-trip intact.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct HanjaName(String);

impl HanjaName {
    /// A Hanja name.
    ///
    /// # Errors
    /// [`SchemaError::InvalidField`] for `name_hanja`.
    pub fn new(name: impl Into<String>) -> Result<Self, SchemaError> {
        let name = name.into();
        check_text("name_hanja", &name, MAX_NAME_CHARS, Charset::Unicode, false)?;
        Ok(Self(name))
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for HanjaName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HanjaName({:?})", self.0)
    }
}

impl<'de> Deserialize<'de> for HanjaName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Declares a code type: a short ASCII string checked by a function, serialized as a string.
macro_rules! code_type {
    ($(#[$doc:meta])* $name:ident, field = $field:literal, expected = $expected:literal, max = $max:literal, check = $check:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name {
            bytes: [u8; $max],
            len: u8,
        }

        impl $name {
            /// Parses and validates the code.
            ///
            /// # Errors
            #[doc = concat!("[`SchemaError::InvalidField`] for `", $field, "`: ", $expected, ".")]
            pub fn parse(text: &str) -> Result<Self, SchemaError> {
                let check: fn(&[u8]) -> bool = $check;
                let err = || SchemaError::field($field, InvalidValue::Malformed { expected: $expected });
                if text.len() > $max || !check(text.as_bytes()) {
                    return Err(err());
                }
                let mut bytes = [0u8; $max];
                for (slot, b) in bytes.iter_mut().zip(text.bytes()) {
                    *slot = b;
                }
                Ok(Self { bytes, len: u8::try_from(text.len()).map_err(|_| err())? })
            }

            /// The code as text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                // Only ASCII bytes pass `check`, so this is always valid UTF-8.
                self.bytes
                    .get(..usize::from(self.len))
                    .and_then(|b| core::str::from_utf8(b).ok())
                    .unwrap_or_default()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.as_str())
            }
        }

        impl core::str::FromStr for $name {
            type Err = SchemaError;
            fn from_str(s: &str) -> Result<Self, SchemaError> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

code_type!(
    /// An ISO 3166-1 alpha-2 country code (`KR`, `VN`, `US`; `TW` and `HK` for the "country or
    /// region" of a foreigner card). The shape is checked, not membership in the current list,
    /// which changes.
    CountryCode,
    field = "country",
    expected = "two upper-case ASCII letters (ISO 3166-1 alpha-2)",
    max = 2,
    check = |b| b.len() == 2 && b.iter().all(u8::is_ascii_uppercase)
);

impl CountryCode {
    /// The Republic of Korea.
    pub const KR: Self = Self {
        bytes: *b"KR",
        len: 2,
    };

    /// Whether this is `KR`.
    #[must_use]
    pub fn is_korea(&self) -> bool {
        *self == Self::KR
    }
}

code_type!(
    /// An ISO 3166-2 subdivision code of Korea, `KR-NN` (for example `KR-11` Seoul,
    /// `KR-26` Busan, `KR-50` Sejong): the `issuing_subdivision` of ISO/IEC 23220-2.
    Subdivision,
    field = "issuing_subdivision",
    expected = "an ISO 3166-2 code of Korea, KR-NN",
    max = 5,
    check = |b| matches!(b, [b'K', b'R', b'-', d1, d2] if d1.is_ascii_digit() && d2.is_ascii_digit())
);

code_type!(
    /// A Korean passport number: nine characters, an upper-case letter then eight upper-case
    /// letters or digits (`M12345678`, and the 2021 form `M123A4567`).
    PassportNumber,
    field = "passport_number",
    expected = "a letter followed by eight upper-case letters or digits",
    max = 9,
    check = |b| matches!(b, [first, rest @ ..] if rest.len() == 8
        && first.is_ascii_uppercase()
        && rest.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
);

code_type!(
    /// A status of stay (체류자격) code as the Immigration Act writes it: a category letter A–H,
    /// a hyphen and a number, with an optional sub-number (`E-9`, `F-4`, `D-2`, `D-10`,
    /// `F-6-1`, `F-5-10`).
    StatusOfStay,
    field = "status_of_stay",
    expected = "a status of stay code such as E-9 or F-6-1",
    max = 8,
    check = |b| valid_status_of_stay(b)
);

fn valid_status_of_stay(b: &[u8]) -> bool {
    let [category, b'-', rest @ ..] = b else {
        return false;
    };
    if !(b'A'..=b'H').contains(category) {
        return false;
    }
    let mut parts = rest.split(|&c| c == b'-');
    let number_ok = |p: &[u8]| {
        (1..=2).contains(&p.len()) && p.iter().all(u8::is_ascii_digit) && p.first() != Some(&b'0')
    };
    match (parts.next(), parts.next(), parts.next()) {
        (Some(n), None, None) => number_ok(n),
        (Some(n), Some(sub), None) => number_ok(n) && number_ok(sub),
        _ => false,
    }
}

impl StatusOfStay {
    /// The category and number without a sub-number: `F-6` for `F-6-1`.
    #[must_use]
    pub fn main_code(&self) -> &str {
        let s = self.as_str();
        match s.match_indices('-').nth(1) {
            Some((i, _)) => s.get(..i).unwrap_or(s),
            None => s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(r: Result<impl fmt::Debug, SchemaError>) -> (&'static str, InvalidValue) {
        match r {
            Err(SchemaError::InvalidField { field, kind }) => (field, kind),
            other => panic!("expected an invalid field, got {other:?}"),
        }
    }

    #[test]
    fn names_accept_full_unicode_including_astral_hanja() {
        let hanja = HanjaName::new("𠮷田").unwrap();
        assert_eq!(hanja.as_str().chars().next(), Some('\u{20BB7}'));
        let json = serde_json::to_string(&hanja).unwrap();
        assert_eq!(serde_json::from_str::<HanjaName>(&json).unwrap(), hanja);
        let name = PersonName::new("남궁", "민수").unwrap();
        assert_eq!(name.full(), "남궁민수");
    }

    #[test]
    fn text_rules_name_field_and_rule() {
        assert_eq!(
            kind(PersonName::new("", "민수")),
            ("name.family", InvalidValue::Empty)
        );
        assert_eq!(
            kind(PersonName::new("김", "  ")),
            ("name.given", InvalidValue::Empty)
        );
        assert_eq!(
            kind(PersonName::new(" 김", "민수")),
            ("name.family", InvalidValue::UntrimmedWhitespace)
        );
        assert_eq!(
            kind(PersonName::new("김", "민\u{202E}수")),
            (
                "name.given",
                InvalidValue::ForbiddenCharacter {
                    index: 1,
                    code_point: 0x202E
                }
            )
        );
        assert_eq!(
            kind(PersonName::new("김\n", "민수")),
            ("name.family", InvalidValue::UntrimmedWhitespace)
        );
        assert_eq!(
            kind(PersonName::new("김\u{0}이", "민수")),
            (
                "name.family",
                InvalidValue::ForbiddenCharacter {
                    index: 1,
                    code_point: 0
                }
            )
        );
        assert_eq!(
            kind(HanjaName::new("金".repeat(65))),
            (
                "name_hanja",
                InvalidValue::TooLong {
                    max: 64,
                    actual: 65
                }
            )
        );
        assert!(HanjaName::new("金".repeat(64)).is_ok());
    }

    #[test]
    fn latin_names_are_latin1_and_may_lack_a_given_name() {
        assert!(LatinName::new("NGUYEN", "VAN AN").is_ok());
        assert!(LatinName::new("MÜLLER", "JOSÉ").is_ok());
        assert!(LatinName::new("SUKARNO", "").is_ok());
        assert_eq!(
            kind(LatinName::new("ŁUKASZ", "A")),
            (
                "latin_name.family",
                InvalidValue::ForbiddenCharacter {
                    index: 0,
                    code_point: 0x141
                }
            )
        );
        assert_eq!(
            kind(LatinName::new("KIM", "민수")),
            (
                "latin_name.given",
                InvalidValue::ForbiddenCharacter {
                    index: 0,
                    code_point: 0xBBFC
                }
            )
        );
        assert_eq!(
            kind(LatinName::new("", "AN")),
            ("latin_name.family", InvalidValue::Empty)
        );
    }

    #[test]
    fn codes() {
        assert_eq!(CountryCode::parse("VN").unwrap().as_str(), "VN");
        assert!(CountryCode::KR.is_korea());
        for bad in ["vn", "VNM", "V", "", "1A", "Ｋ"] {
            assert!(
                matches!(
                    kind(CountryCode::parse(bad)),
                    ("country", InvalidValue::Malformed { .. })
                ),
                "{bad}"
            );
        }
        assert_eq!(Subdivision::parse("KR-11").unwrap().to_string(), "KR-11");
        for bad in ["KR-1", "KR-111", "JP-13", "kr-11", "KR11"] {
            assert!(Subdivision::parse(bad).is_err(), "{bad}");
        }
        assert!(PassportNumber::parse("M12345678").is_ok());
        assert!(PassportNumber::parse("M123A4567").is_ok());
        for bad in [
            "12345678M",
            "M1234567",
            "M123456789",
            "m12345678",
            "M1234567-",
        ] {
            assert!(PassportNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn status_of_stay_codes() {
        for good in ["E-9", "F-4", "D-2", "D-10", "F-6-1", "F-5-10", "H-2", "A-1"] {
            assert_eq!(StatusOfStay::parse(good).unwrap().as_str(), good);
        }
        for bad in [
            "E9", "E-", "I-1", "e-9", "E-9-", "E-09", "E-123", "F-6-1-2", "F--6", "E-9 ",
        ] {
            assert!(StatusOfStay::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(StatusOfStay::parse("F-6-1").unwrap().main_code(), "F-6");
        assert_eq!(StatusOfStay::parse("E-9").unwrap().main_code(), "E-9");
    }
}
