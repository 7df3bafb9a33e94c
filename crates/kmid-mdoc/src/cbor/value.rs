//! Element values, typed: what a verifier hands back and what an issuer puts in.

use kmid_schema::catalogue::{CborType, ClaimValue};
use kmid_schema::date::{format_full_date, parse_full_date};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use crate::error::{MdocError, malformed};
use kmid_cbor::{Encoder, Item, Kind};

/// A DataElementValue, with the two date forms of ISO/IEC 18013-5 recognised: `full-date`
/// (`#6.1004(tstr)`, RFC 8943) and `tdate` (`#6.0(tstr)`).
#[derive(Debug, Clone, PartialEq)]
pub enum ElementValue {
    /// `null`.
    Null,
    /// `bool`.
    Bool(bool),
    /// `uint`.
    Uint(u64),
    /// A negative `int`.
    Int(i64),
    /// `bstr` (a portrait, for one).
    Bytes(Vec<u8>),
    /// `tstr`.
    Text(String),
    /// `full-date`, tag 1004.
    FullDate(Date),
    /// `tdate`, tag 0.
    DateTime(OffsetDateTime),
    /// An array.
    Array(Vec<ElementValue>),
    /// A map, in the order received.
    Map(Vec<(ElementValue, ElementValue)>),
    /// Any other tag.
    Tagged(u64, Box<ElementValue>),
    /// A float.
    Float(f64),
}

impl ElementValue {
    /// Converts a decoded item; tags 1004 and 0 must hold valid dates.
    ///
    /// # Errors
    /// [`MdocError::Malformed`] for a tag 1004 or tag 0 whose text is not a valid date, or an
    /// `undefined` value.
    pub fn from_item(item: &Item<'_>, path: &str) -> Result<Self, MdocError> {
        Ok(match &item.kind {
            Kind::Null => Self::Null,
            Kind::Bool(b) => Self::Bool(*b),
            Kind::Uint(n) => Self::Uint(*n),
            Kind::Nint(n) => Self::Int(
                i64::try_from(*n)
                    .map(|n| -1 - n)
                    .map_err(|_| malformed(path, "an integer within 64 bits"))?,
            ),
            Kind::Bytes(b) => Self::Bytes(b.to_vec()),
            Kind::Text(t) => Self::Text((*t).to_owned()),
            Kind::Tag(1004, inner) => Self::FullDate(
                inner
                    .as_text()
                    .and_then(parse_full_date)
                    .ok_or_else(|| malformed(path, "a full-date YYYY-MM-DD in tag 1004"))?,
            ),
            Kind::Tag(0, inner) => Self::DateTime(
                inner
                    .as_text()
                    .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
                    .ok_or_else(|| malformed(path, "an RFC 3339 date-time in tag 0"))?,
            ),
            Kind::Tag(n, inner) => Self::Tagged(*n, Box::new(Self::from_item(inner, path)?)),
            Kind::Array(items) => Self::Array(
                items
                    .iter()
                    .map(|i| Self::from_item(i, path))
                    .collect::<Result<_, _>>()?,
            ),
            Kind::Map(entries) => Self::Map(
                entries
                    .iter()
                    .map(|(k, v)| Ok((Self::from_item(k, path)?, Self::from_item(v, path)?)))
                    .collect::<Result<_, MdocError>>()?,
            ),
            Kind::Float(f) => Self::Float(*f),
            Kind::Undefined => return Err(malformed(path, "a value other than undefined")),
        })
    }

    /// Encodes the value (dates in their tags; a tdate without fractional seconds when it has
    /// none).
    pub fn encode(&self, e: &mut Encoder) {
        match self {
            Self::Null => {
                e.null();
            }
            Self::Bool(b) => {
                e.bool(*b);
            }
            Self::Uint(n) => {
                e.uint(*n);
            }
            Self::Int(n) => {
                e.int(*n);
            }
            Self::Bytes(b) => {
                e.bytes(b);
            }
            Self::Text(t) => {
                e.text(t);
            }
            Self::FullDate(d) => {
                e.tag(1004).text(&format_full_date(*d));
            }
            Self::DateTime(t) => {
                e.tag(0).text(&crate::model::format_tdate(*t));
            }
            Self::Array(items) => {
                e.array(items.len());
                for i in items {
                    i.encode(e);
                }
            }
            Self::Map(entries) => {
                e.map(entries.len());
                for (k, v) in entries {
                    k.encode(e);
                    v.encode(e);
                }
            }
            Self::Tagged(n, inner) => {
                e.tag(*n);
                inner.encode(e);
            }
            Self::Float(f) => {
                e.float64(*f);
            }
        }
    }

    /// Checks that the value can be encoded faithfully: dates within years 0000–9999 (what
    /// RFC 3339 can write) and date-times without fractional seconds (ISO/IEC 18013-5 tdate).
    ///
    /// # Errors
    /// [`MdocError::InvalidInput`] naming the problem.
    pub fn check_encodable(&self) -> Result<(), MdocError> {
        let year_ok = |y: i32| (0..=9999).contains(&y);
        match self {
            Self::FullDate(d) if !year_ok(d.year()) => Err(MdocError::InvalidInput(
                "a full-date outside years 0000-9999",
            )),
            Self::DateTime(t) if !year_ok(t.year()) || t.nanosecond() != 0 => {
                Err(MdocError::InvalidInput(
                    "a tdate outside years 0000-9999 or with fractional seconds",
                ))
            }
            Self::Array(items) => items.iter().try_for_each(Self::check_encodable),
            Self::Map(entries) => entries.iter().try_for_each(|(k, v)| {
                k.check_encodable()?;
                v.check_encodable()
            }),
            Self::Tagged(_, inner) => inner.check_encodable(),
            _ => Ok(()),
        }
    }

    /// The value of a catalogue item, in the CBOR type the catalogue gives it.
    ///
    /// # Errors
    /// [`MdocError::InvalidInput`] when the value's kind does not fit the type (a bug in the
    /// catalogue, which its tests rule out).
    pub fn from_claim(value: &ClaimValue<'_>, cbor: CborType) -> Result<Self, MdocError> {
        Ok(match (value, cbor) {
            (ClaimValue::Text(t), CborType::Tstr) => Self::Text(t.to_string()),
            (ClaimValue::Date(d), CborType::FullDate) => Self::FullDate(*d),
            (ClaimValue::Bool(b), CborType::Bool) => Self::Bool(*b),
            (ClaimValue::Uint(n), CborType::Uint) => Self::Uint(*n),
            (ClaimValue::Jpeg(b), CborType::Bstr) => Self::Bytes(b.to_vec()),
            _ => {
                return Err(MdocError::InvalidInput(
                    "a catalogue value does not fit its CBOR type",
                ));
            }
        })
    }

    /// The text, if this is text.
    #[must_use]
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    #[must_use]
    pub const fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The date, if this is a full-date.
    #[must_use]
    pub const fn as_full_date(&self) -> Option<Date> {
        match self {
            Self::FullDate(d) => Some(*d),
            _ => None,
        }
    }

    /// The bytes, if this is a byte string.
    #[must_use]
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The number, if this is an unsigned integer.
    #[must_use]
    pub const fn as_uint(&self) -> Option<u64> {
        match self {
            Self::Uint(n) => Some(*n),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn only_faithfully_encodable_dates_pass() {
        assert!(
            ElementValue::FullDate(date!(2025 - 01 - 01))
                .check_encodable()
                .is_ok()
        );
        assert_eq!(
            ElementValue::FullDate(date!(-0001 - 01 - 01)).check_encodable(),
            Err(MdocError::InvalidInput(
                "a full-date outside years 0000-9999"
            ))
        );
        let nested = ElementValue::Array(vec![ElementValue::DateTime(
            datetime!(2025-01-01 0:00:00.5 UTC),
        )]);
        assert_eq!(
            nested.check_encodable(),
            Err(MdocError::InvalidInput(
                "a tdate outside years 0000-9999 or with fractional seconds"
            ))
        );
    }
}
