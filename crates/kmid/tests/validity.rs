//! A credential never outlives its claims: its end of validity is the earliest of the card's
//! end, the issuer's maximum lifetime and the first day (00:00 KST) on which a derived claim it
//! carries (`age_in_years`, `age_over_NN`, `youth_act_adult`) changes for this holder. Checked
//! day by day over birth dates across leap years and signing instants at every hour of the day
//! (so across the KST/UTC date line), near birthdays and near 1 January of the Youth Act year.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kmid::schema::age::anniversary;
use kmid::schema::{Card, RegistrationNumber, ResidentCard};
use kmid::{DEFAULT_MAX_LIFETIME, card_end, credential_end};
use kmid_testkit::samples;
use proptest::prelude::*;
use time::{Date, Duration, Month, OffsetDateTime, Time, UtcOffset};

const KST: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(k) => k,
    Err(_) => UtcOffset::UTC,
};

/// A resident card of someone born on `birth`, issued on `issued` for three years.
fn card(birth: Date, issued: Date) -> Option<Card> {
    let century_digit = if birth.year() < 2000 { 1 } else { 3 };
    let rrn = format!(
        "{:02}{:02}{:02}-{century_digit}234567",
        birth.year() % 100,
        u8::from(birth.month()),
        birth.day()
    );
    let mut fields = samples::resident().into_fields();
    fields.registration_number = RegistrationNumber::parse(&rrn).ok()?;
    fields.issue_date = issued;
    fields.expiry_date = issued.replace_year(issued.year() + 3).ok()?;
    ResidentCard::new(fields).ok().map(Card::from)
}

fn date(days_from_1930: i64) -> Date {
    Date::from_calendar_date(1930, Month::January, 1).unwrap() + Duration::days(days_from_1930)
}

/// A birth date; one in four on 29 February of a leap year.
fn birth() -> impl Strategy<Value = Date> {
    prop_oneof![
        3 => (0i64..30_000).prop_map(date),
        1 => (0i32..21).prop_map(|k| Date::from_calendar_date(1932 + 4 * k, Month::February, 29).unwrap()),
    ]
}

/// An instant within `days` of `around`, at any second of the day.
fn near(around: Date, days: i64, second: i64) -> OffsetDateTime {
    (around + Duration::days(days))
        .with_time(Time::MIDNIGHT)
        .assume_offset(UtcOffset::UTC)
        + Duration::seconds(second)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_claim_changes_while_a_credential_is_valid(
        birth in birth(),
        age in 17u32..90,
        youth_year in any::<bool>(),
        offset in -120i64..120,
        second in 0i64..86_400,
    ) {
        // Signed near the holder's birthday at `age`, or near 1 January of the year they
        // turn 19 (Youth Protection Act).
        let around = if youth_year {
            Date::from_calendar_date(birth.year() + 19, Month::January, 1).unwrap()
        } else {
            anniversary(birth, age).unwrap()
        };
        let at = near(around, offset, second);
        let as_of = at.to_offset(KST).date();
        let Some(card) = card(birth, as_of - Duration::days(1)) else {
            // Too young for a resident card on that day.
            return Ok(());
        };
        let end = credential_end(&card, at, DEFAULT_MAX_LIFETIME);
        prop_assert!(end > at);
        prop_assert!(end <= at + DEFAULT_MAX_LIFETIME);
        prop_assert!(end <= card_end(&card));
        // Every instant of [at, end) falls on a KST day whose claims are the signed ones.
        let signed = card.claims(as_of);
        let last = (end - Duration::seconds(1)).to_offset(KST).date();
        let mut day = as_of;
        while day <= last {
            prop_assert_eq!(&card.claims(day), &signed, "claims change on {} within [{}, {})", day, at, end);
            day = day.next_day().unwrap();
        }
        // Exact: when the end is a claim change, the claims do change on that KST day.
        let end_day = end.to_offset(KST).date();
        let midnight = end.to_offset(KST).time() == Time::MIDNIGHT;
        if midnight && end < at + DEFAULT_MAX_LIFETIME && end < card_end(&card) {
            prop_assert_ne!(&card.claims(end_day), &signed, "{} ends the credential for nothing", end_day);
        }
    }
}

#[test]
fn a_minors_credential_ends_at_the_youth_act_new_year_and_then_the_birthday() {
    // Born 2008-02-29: a youth until 2027-01-01, 19 by the Civil Act on 2027-03-01.
    let card = Card::from(samples::resident_minor());
    let at = OffsetDateTime::new_utc(
        Date::from_calendar_date(2026, Month::December, 1).unwrap(),
        Time::from_hms(3, 0, 0).unwrap(),
    );
    let kst_midnight = |y, m, d| {
        Date::from_calendar_date(y, m, d)
            .unwrap()
            .with_time(Time::MIDNIGHT)
            .assume_offset(KST)
    };
    assert_eq!(
        credential_end(&card, at, DEFAULT_MAX_LIFETIME),
        kst_midnight(2027, Month::January, 1)
    );
    // Signed on New Year's Day (KST) itself: until the birthday, 1 March in a common year.
    let at = kst_midnight(2027, Month::January, 1).to_offset(UtcOffset::UTC);
    assert_eq!(
        credential_end(&card, at, DEFAULT_MAX_LIFETIME),
        kst_midnight(2027, Month::March, 1)
    );
    // 14:59:59 UTC on 28 February is still 28 February in Korea... for one more second.
    let at =
        kst_midnight(2027, Month::February, 28).to_offset(UtcOffset::UTC) + Duration::hours(23);
    assert_eq!(
        credential_end(&card, at, DEFAULT_MAX_LIFETIME),
        kst_midnight(2027, Month::March, 1)
    );
}
