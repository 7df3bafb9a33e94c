//! Every card rule, each broken on purpose, each asserting the exact error.

// Test code: helpers outside #[test] functions may unwrap and index freely.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kmid_schema::{
    Card, CardType, CountryCode, DateText, ForeignerCard, ForeignerCardType, IdentityCard,
    OverseasNationalCard, RegistrationNumber, ResidentCard, RuleViolation, SchemaError,
    StatusOfStay,
};
use kmid_schema::{Origin, Sex};
use kmid_testkit::samples;
use time::macros::date;

fn rule(card: CardType, rule: RuleViolation) -> Result<(), SchemaError> {
    Err(SchemaError::RuleViolated { card, rule })
}

fn rrn(s: &str) -> RegistrationNumber {
    RegistrationNumber::parse(s).unwrap()
}

#[test]
fn samples_are_valid_and_say_what_their_docs_say() {
    let all = samples::all();
    assert_eq!(all.len(), 5);
    let minor = samples::resident_minor();
    assert_eq!(minor.birth_date(), date!(2008 - 02 - 29));
    assert_eq!(minor.age_in_years(minor.issue_date()), 17);
    assert!(
        minor
            .fields()
            .name_hanja
            .as_ref()
            .unwrap()
            .as_str()
            .contains('\u{20BB7}')
    );
    assert!(!minor.youth_act_adult(date!(2026 - 12 - 31)));
    assert!(minor.youth_act_adult(date!(2027 - 01 - 01)));
    assert!(!minor.age_over(19, date!(2027 - 02 - 28)));
    assert!(minor.age_over(19, date!(2027 - 03 - 01)));
    let foreigner = samples::foreigner();
    assert_eq!(foreigner.sex(), Sex::Male);
    assert_eq!(foreigner.registration_number().origin(), Origin::Foreign);
    assert!(foreigner.is_valid_on(date!(2027 - 06 - 30)));
    assert!(!foreigner.is_valid_on(date!(2027 - 07 - 01)));
    assert!(!foreigner.is_valid_on(date!(2025 - 01 - 14)));
}

#[test]
fn resident_card_rules() {
    let base = samples::resident().into_fields();
    let t = CardType::Resident;

    // 17 or older on the issue date: born 2008-02-29, 17 only from 2025-03-01.
    let mut f = samples::resident_minor().into_fields();
    f.issue_date = date!(2025 - 02 - 28);
    f.expiry_date = date!(2028 - 02 - 28);
    assert_eq!(
        ResidentCard::new(f).map(drop),
        rule(
            t,
            RuleViolation::TooYoung {
                minimum: 17,
                age: 16
            }
        )
    );

    // A foreigner's number on a citizen's card.
    let mut f = base.clone();
    f.registration_number = rrn("900315-5234567");
    assert_eq!(
        ResidentCard::new(f).map(drop),
        rule(
            t,
            RuleViolation::RegistrationNumberOrigin {
                required: Origin::Domestic,
                found: Origin::Foreign
            }
        )
    );

    // The no-number placeholder.
    let mut f = base.clone();
    f.registration_number = rrn("900315-1000000");
    assert_eq!(
        ResidentCard::new(f).map(drop),
        rule(t, RuleViolation::PlaceholderRegistrationNumber)
    );

    // Issued before birth.
    let mut f = base.clone();
    f.registration_number = rrn("300315-3234567");
    assert_eq!(
        ResidentCard::new(f).map(drop),
        rule(t, RuleViolation::IssuedBeforeBirth)
    );

    // Expiry not after issue.
    let mut f = base.clone();
    f.expiry_date = f.issue_date;
    assert_eq!(
        ResidentCard::new(f).map(drop),
        rule(
            t,
            RuleViolation::ExpiryNotAfterIssue {
                issue: DateText(date!(2025 - 03 - 28)),
                expiry: DateText(date!(2025 - 03 - 28))
            }
        )
    );

    // Three years at most, to the day: 2028-03-28 is fine, 2028-03-29 is not.
    let mut f = base.clone();
    f.expiry_date = date!(2028 - 03 - 29);
    assert_eq!(
        ResidentCard::new(f).map(drop),
        rule(
            t,
            RuleViolation::ValidityTooLong {
                years: 3,
                latest: DateText(date!(2028 - 03 - 28)),
                expiry: DateText(date!(2028 - 03 - 29))
            }
        )
    );

    // An address abroad.
    let mut f = base;
    f.address = kmid_schema::Address::new(
        CountryCode::parse("US").unwrap(),
        "CA",
        "Los Angeles",
        "1 Main St",
        None,
    )
    .unwrap();
    assert_eq!(
        ResidentCard::new(f).map(drop),
        rule(t, RuleViolation::AddressNotDomestic)
    );
}

#[test]
fn validity_from_a_leap_day_ends_on_the_last_day_of_february() {
    let mut f = samples::resident().into_fields();
    f.issue_date = date!(2024 - 02 - 29);
    f.expiry_date = date!(2027 - 02 - 28);
    assert!(ResidentCard::new(f.clone()).is_ok());
    f.expiry_date = date!(2027 - 03 - 01);
    assert_eq!(
        ResidentCard::new(f).map(drop),
        rule(
            CardType::Resident,
            RuleViolation::ValidityTooLong {
                years: 3,
                latest: DateText(date!(2027 - 02 - 28)),
                expiry: DateText(date!(2027 - 03 - 01))
            }
        )
    );
}

#[test]
fn foreigner_card_rules() {
    let base = samples::foreigner().into_fields();
    let t = CardType::Foreigner;

    // 14 or older: born 2011-07-20 (G=7), 13 on 2025-01-15.
    let mut f = base.clone();
    f.registration_number = rrn("110720-7123456");
    assert_eq!(
        ForeignerCard::new(f).map(drop),
        rule(
            t,
            RuleViolation::TooYoung {
                minimum: 14,
                age: 13
            }
        )
    );

    // A citizen's number.
    let mut f = base.clone();
    f.registration_number = rrn("950720-1123456");
    assert_eq!(
        ForeignerCard::new(f).map(drop),
        rule(
            t,
            RuleViolation::RegistrationNumberOrigin {
                required: Origin::Foreign,
                found: Origin::Domestic
            }
        )
    );

    // Never past the permitted stay.
    let mut f = base.clone();
    f.permitted_stay_until = Some(date!(2026 - 12 - 31));
    assert_eq!(
        ForeignerCard::new(f).map(drop),
        rule(
            t,
            RuleViolation::BeyondPermittedStay {
                expiry: DateText(date!(2027 - 06 - 30)),
                permitted_until: DateText(date!(2026 - 12 - 31))
            }
        )
    );

    // A residence card needs a permitted stay; a permanent resident has none.
    let mut f = base.clone();
    f.permitted_stay_until = None;
    assert_eq!(
        ForeignerCard::new(f).map(drop),
        rule(t, RuleViolation::PermittedStay("is required"))
    );
    let mut f = samples::permanent_resident().into_fields();
    f.permitted_stay_until = Some(date!(2030 - 01 - 01));
    assert_eq!(
        ForeignerCard::new(f).map(drop),
        rule(
            t,
            RuleViolation::PermittedStay("must be absent for a permanent resident")
        )
    );

    // Status of stay fits the subtype.
    let mismatch = |subtype, status: &str| {
        let mut f = base.clone();
        f.card_subtype = subtype;
        f.status_of_stay = StatusOfStay::parse(status).unwrap();
        ForeignerCard::new(f).map(drop)
    };
    assert_eq!(
        mismatch(ForeignerCardType::ResidenceCard, "F-5"),
        rule(
            t,
            RuleViolation::StatusOfStayMismatch {
                status: "F-5".into(),
                card_type: ForeignerCardType::ResidenceCard
            }
        )
    );
    assert_eq!(
        mismatch(ForeignerCardType::OverseasKoreanResidenceCard, "E-9"),
        rule(
            t,
            RuleViolation::StatusOfStayMismatch {
                status: "E-9".into(),
                card_type: ForeignerCardType::OverseasKoreanResidenceCard
            }
        )
    );
    assert_eq!(
        mismatch(ForeignerCardType::OverseasKoreanResidenceCard, "F-4"),
        Ok(())
    );
    assert_eq!(mismatch(ForeignerCardType::ResidenceCard, "F-6-1"), Ok(()));

    // A foreigner is not a Korean national.
    let mut f = base;
    f.nationality = CountryCode::KR;
    assert_eq!(
        ForeignerCard::new(f).map(drop),
        rule(
            t,
            RuleViolation::KoreaNotAllowed {
                field: "nationality"
            }
        )
    );
}

#[test]
fn overseas_national_card_rules() {
    let base = samples::overseas_national().into_fields();
    let t = CardType::OverseasNational;

    let mut f = base.clone();
    f.country_of_residence = CountryCode::KR;
    assert_eq!(
        OverseasNationalCard::new(f).map(drop),
        rule(
            t,
            RuleViolation::KoreaNotAllowed {
                field: "country_of_residence"
            }
        )
    );

    // A real registration number is required: the placeholder of a national born abroad is refused.
    let mut f = base.clone();
    f.registration_number = rrn("881102-2000000");
    assert_eq!(
        OverseasNationalCard::new(f).map(drop),
        rule(t, RuleViolation::PlaceholderRegistrationNumber)
    );

    // 14 or older: born 2011-06-03, 13 on 2025-06-02.
    let mut f = base;
    f.registration_number = rrn("110603-4123456");
    assert_eq!(
        OverseasNationalCard::new(f).map(drop),
        rule(
            t,
            RuleViolation::TooYoung {
                minimum: 14,
                age: 13
            }
        )
    );
}

#[test]
fn deserializing_checks_the_rules_too() {
    let mut json = serde_json::to_value(Card::from(samples::resident())).unwrap();
    assert_eq!(json["card"], "resident");
    assert_eq!(json["registration_number"], "900315-1234568");
    json["expiry_date"] = "2030-01-01".into();
    let err = serde_json::from_value::<Card>(json)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("expiry date 2030-01-01 is later than 2028-03-28"),
        "{err}"
    );

    let mut json = serde_json::to_value(samples::foreigner()).unwrap();
    json["nickname"] = "An".into();
    let err = serde_json::from_value::<ForeignerCard>(json)
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `nickname`"), "{err}");

    let mut json = serde_json::to_value(samples::overseas_national()).unwrap();
    json["registration_number"] = "881302-2123451".into();
    let err = serde_json::from_value::<OverseasNationalCard>(json)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not a calendar date"), "{err}");
}

#[test]
fn card_json_round_trips_and_keeps_astral_hanja() {
    for card in samples::all() {
        let json = serde_json::to_string(&card).unwrap();
        let back: Card = serde_json::from_str(&json).unwrap();
        assert_eq!(back, card);
    }
    let json = serde_json::to_string(&samples::resident_minor()).unwrap();
    assert!(
        json.contains("李\u{20BB7}娟"),
        "serde_json must write the astral character as UTF-8"
    );
}
