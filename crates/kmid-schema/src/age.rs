//! The two Korean notions of age.
//!
//! - **Civil Act** (민법 제4조, 제158조, 제160조): majority at 19 full years, counted from the
//!   day of birth; a year of age is completed on the birthday. A person born on 29 February
//!   completes a year on 1 March in common years (the period ends on the last day of February,
//!   제160조 ③).
//! - **Youth Protection Act** (청소년 보호법 제2조 제1호): a *youth* is under 19 full years,
//!   except that anyone who has reached 1 January of the year in which they turn 19 is no longer
//!   one. This is the rule for alcohol and tobacco, and it differs from the Civil Act between
//!   1 January and the birthday.

use time::Date;

/// The age the Youth Protection Act counts from (the year in which a person turns this age).
pub const YOUTH_ACT_ADULT_AGE: i32 = 19;

/// Full years of age on `on` by the Civil Act; 0 when `on` is before `birth`.
///
/// ```
/// use kmid_schema::age::age_in_years;
/// use time::macros::date;
///
/// assert_eq!(age_in_years(date!(2006 - 08 - 15), date!(2025 - 08 - 14)), 18);
/// assert_eq!(age_in_years(date!(2006 - 08 - 15), date!(2025 - 08 - 15)), 19);
/// // Born on a leap day: the year completes on 1 March in a common year.
/// assert_eq!(age_in_years(date!(2004 - 02 - 29), date!(2023 - 02 - 28)), 18);
/// assert_eq!(age_in_years(date!(2004 - 02 - 29), date!(2023 - 03 - 01)), 19);
/// ```
#[must_use]
pub fn age_in_years(birth: Date, on: Date) -> u32 {
    if on < birth {
        return 0;
    }
    let years = on.year().saturating_sub(birth.year());
    let before_birthday = (on.month(), on.day()) < (birth.month(), birth.day());
    let years = if before_birthday {
        years.saturating_sub(1)
    } else {
        years
    };
    u32::try_from(years).unwrap_or(0)
}

/// Whether the person is `n` full years or older on `on` (the `age_over_NN` of ISO/IEC 18013-5).
#[must_use]
pub fn age_over(birth: Date, n: u32, on: Date) -> bool {
    age_in_years(birth, on) >= n
}

/// Whether the person is no longer a youth under the Youth Protection Act on `on`: they have
/// reached 1 January of the year in which they turn 19.
///
/// ```
/// use kmid_schema::age::{age_over, youth_act_adult};
/// use time::macros::date;
///
/// let birth = date!(2006 - 08 - 15);
/// // On 2 January 2025 the Youth Act treats them as an adult; the Civil Act does not yet.
/// assert!(youth_act_adult(birth, date!(2025 - 01 - 02)));
/// assert!(!age_over(birth, 19, date!(2025 - 01 - 02)));
/// ```
#[must_use]
pub fn youth_act_adult(birth: Date, on: Date) -> bool {
    on.year().saturating_sub(birth.year()) >= YOUTH_ACT_ADULT_AGE
}

/// The day on which the person completes `n` full years by the Civil Act: the `n`-th
/// anniversary of `birth`, or 1 March for a 29 February birth when that year is common
/// (제160조 ③). `None` beyond the calendar.
#[must_use]
pub fn anniversary(birth: Date, n: u32) -> Option<Date> {
    let year = birth.year().checked_add(i32::try_from(n).ok()?)?;
    Date::from_calendar_date(year, birth.month(), birth.day())
        .ok()
        .or_else(|| Date::from_calendar_date(year, time::Month::March, 1).ok())
}

/// The first day after `on` on which [`age_in_years`] takes another value: the next birthday
/// (the first, for `on` before `birth`).
#[must_use]
pub fn next_birthday(birth: Date, on: Date) -> Option<Date> {
    if on < birth {
        return anniversary(birth, 1);
    }
    anniversary(birth, age_in_years(birth, on).checked_add(1)?)
}

/// The first day after `on` on which [`age_over`] for `n` takes another value, if any: the
/// day of the `n`-th birthday while the person is younger (it never changes back).
#[must_use]
pub fn age_over_changes(birth: Date, n: u32, on: Date) -> Option<Date> {
    if age_over(birth, n, on) {
        return None;
    }
    anniversary(birth, n).filter(|d| *d > on)
}

/// The first day after `on` on which [`youth_act_adult`] takes another value, if any:
/// 1 January of the year the person turns 19, while they are still a youth.
#[must_use]
pub fn youth_act_adult_changes(birth: Date, on: Date) -> Option<Date> {
    if youth_act_adult(birth, on) {
        return None;
    }
    let year = birth.year().checked_add(YOUTH_ACT_ADULT_AGE)?;
    Date::from_calendar_date(year, time::Month::January, 1)
        .ok()
        .filter(|d| *d > on)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn civil_act_age_turns_on_the_birthday() {
        let birth = date!(2000 - 03 - 10);
        assert_eq!(age_in_years(birth, date!(2019 - 03 - 09)), 18);
        assert_eq!(age_in_years(birth, date!(2019 - 03 - 10)), 19);
        assert_eq!(age_in_years(birth, date!(2000 - 03 - 10)), 0);
        assert_eq!(age_in_years(birth, date!(1999 - 12 - 31)), 0);
        assert!(!age_over(birth, 19, date!(2019 - 03 - 09)));
        assert!(age_over(birth, 19, date!(2019 - 03 - 10)));
    }

    #[test]
    fn leap_day_births() {
        let birth = date!(2008 - 02 - 29);
        // Common year: still 16 on 28 February, 17 on 1 March.
        assert_eq!(age_in_years(birth, date!(2025 - 02 - 28)), 16);
        assert_eq!(age_in_years(birth, date!(2025 - 03 - 01)), 17);
        // Leap year: 29 February itself.
        assert_eq!(age_in_years(birth, date!(2024 - 02 - 28)), 15);
        assert_eq!(age_in_years(birth, date!(2024 - 02 - 29)), 16);
    }

    #[test]
    fn youth_act_differs_between_new_year_and_birthday() {
        let birth = date!(2006 - 08 - 15);
        // 31 December 2024: a youth under both rules.
        assert!(!youth_act_adult(birth, date!(2024 - 12 - 31)));
        assert!(!age_over(birth, 19, date!(2024 - 12 - 31)));
        // 1 January 2025 to 14 August 2025: adult under the Youth Act only.
        for on in [
            date!(2025 - 01 - 01),
            date!(2025 - 05 - 05),
            date!(2025 - 08 - 14),
        ] {
            assert!(youth_act_adult(birth, on), "{on}");
            assert!(!age_over(birth, 19, on), "{on}");
        }
        // From the birthday, both.
        assert!(youth_act_adult(birth, date!(2025 - 08 - 15)));
        assert!(age_over(birth, 19, date!(2025 - 08 - 15)));
        // Born on 1 January: the two rules agree.
        let new_year = date!(2006 - 01 - 01);
        assert!(youth_act_adult(new_year, date!(2025 - 01 - 01)));
        assert!(age_over(new_year, 19, date!(2025 - 01 - 01)));
        assert!(!youth_act_adult(new_year, date!(2024 - 12 - 31)));
    }
}
