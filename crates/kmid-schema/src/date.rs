//! Calendar dates as the profile writes them: RFC 3339 `full-date` (`YYYY-MM-DD`), which is the
//! text inside CBOR tag 1004 (RFC 8943) and the JSON form of SD-JWT VC date claims.
//!
//! Also the Civil Act's way of adding years to a date, which both the card validity and the age
//! rules use.

use core::fmt;

use time::{Date, Month};

/// Parses an RFC 3339 `full-date`: exactly `YYYY-MM-DD`, four-digit year, no time, no offset.
///
/// Returns `None` for anything else, including impossible dates such as `2023-02-29`.
#[must_use]
pub fn parse_full_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] = *b else {
        return None;
    };
    let year = digits(&[y0, y1, y2, y3])?;
    let month = digits(&[m0, m1])?;
    let day = digits(&[d0, d1])?;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(i32::from(year), month, u8::try_from(day).ok()?).ok()
}

fn digits(ds: &[u8]) -> Option<u16> {
    ds.iter().try_fold(0u16, |acc, &d| {
        d.is_ascii_digit()
            .then(|| acc.checked_mul(10)?.checked_add(u16::from(d - b'0')))
            .flatten()
    })
}

/// Writes `date` as `YYYY-MM-DD`.
///
/// # Errors
/// Only those of the formatter. Years outside 0..=9999 cannot be written as a `full-date`;
/// they are written with their sign and digits, which [`parse_full_date`] rejects.
pub fn write_full_date(f: &mut impl fmt::Write, date: Date) -> fmt::Result {
    write!(
        f,
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// `date` as a `YYYY-MM-DD` string.
#[must_use]
pub fn format_full_date(date: Date) -> String {
    let mut s = String::with_capacity(10);
    // Writing to a String cannot fail.
    let _ = write_full_date(&mut s, date);
    s
}

/// The date `years` calendar years after `date`, by the Civil Act's rule for periods counted in
/// years (민법 제160조): the same month and day, or, where that day does not exist in the target
/// year (29 February in a common year), the last day of that month.
///
/// Returns `None` when the result is outside the range of [`Date`].
#[must_use]
pub fn add_years(date: Date, years: u32) -> Option<Date> {
    let year = date.year().checked_add(i32::try_from(years).ok()?)?;
    Date::from_calendar_date(year, date.month(), date.day())
        .or_else(|_| Date::from_calendar_date(year, date.month(), date.month().length(year)))
        .ok()
}

/// `serde` for a [`Date`] as a `full-date` string.
pub(crate) mod serde_full_date {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
    use time::Date;

    pub(crate) fn serialize<S: Serializer>(date: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&super::DisplayDate(*date))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        super::parse_full_date(&text)
            .ok_or_else(|| D::Error::custom("expected an RFC 3339 full-date YYYY-MM-DD"))
    }

    /// The same for an optional date.
    pub(crate) mod option {
        use serde::{Deserialize, Deserializer, Serializer, de::Error as _};
        use time::Date;

        pub(crate) fn serialize<S: Serializer>(
            date: &Option<Date>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match date {
                Some(date) => s.collect_str(&super::super::DisplayDate(*date)),
                None => s.serialize_none(),
            }
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<Date>, D::Error> {
            let text = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
            text.map(|t| {
                super::super::parse_full_date(&t)
                    .ok_or_else(|| D::Error::custom("expected an RFC 3339 full-date YYYY-MM-DD"))
            })
            .transpose()
        }
    }
}

/// Displays a [`Date`] as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisplayDate(pub Date);

impl fmt::Display for DisplayDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_full_date(f, self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn parses_only_full_dates() {
        assert_eq!(parse_full_date("2024-02-29"), Some(date!(2024 - 02 - 29)));
        assert_eq!(parse_full_date("0001-01-01"), Some(date!(0001 - 01 - 01)));
        for bad in [
            "2023-02-29",
            "2024-2-29",
            "2024-02-29T00:00:00Z",
            "20240229",
            "2024-13-01",
            "2024-00-10",
            "2024-01-00",
            "+2024-01-01",
            "2024-01-0a",
            "２０２４-01-01",
            "",
        ] {
            assert_eq!(parse_full_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn formats_with_padding() {
        assert_eq!(format_full_date(date!(0987 - 03 - 04)), "0987-03-04");
        assert_eq!(format_full_date(date!(2025 - 12 - 31)), "2025-12-31");
    }

    #[test]
    fn adds_years_by_the_civil_act() {
        assert_eq!(
            add_years(date!(2025 - 03 - 10), 3),
            Some(date!(2028 - 03 - 10))
        );
        // 29 February has no counterpart in a common year: the period ends on the month's last day.
        assert_eq!(
            add_years(date!(2024 - 02 - 29), 3),
            Some(date!(2027 - 02 - 28))
        );
        assert_eq!(
            add_years(date!(2024 - 02 - 29), 4),
            Some(date!(2028 - 02 - 29))
        );
        assert_eq!(add_years(date!(9999 - 01 - 01), 1), None);
    }
}
