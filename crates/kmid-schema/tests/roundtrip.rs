//! Property tests: every card type, and every validated leaf type, survives a JSON round trip
//! unchanged; parsers never panic on arbitrary text.

// Test code: helpers outside #[test] functions may unwrap and index freely.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kmid_schema::{
    Address, Card, CountryCode, ForeignerCard, ForeignerCardFields, ForeignerCardType, HanjaName,
    LatinName, OverseasNationalCard, OverseasNationalCardFields, PassportNumber, PersonName,
    Portrait, RegistrationNumber, ResidentCard, ResidentCardFields, StatusOfStay, Subdivision,
    Text,
};
use proptest::prelude::*;
use time::{Date, Duration};

/// A name part: Hangul syllables, sometimes with Hanja from the BMP and from Extension B.
fn unicode_name() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            4 => proptest::char::range('가', '힣'),
            1 => proptest::char::range('一', '龥'),
            1 => proptest::char::range('\u{20000}', '\u{2A6DF}'),
        ],
        1..8,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

fn latin_word() -> impl Strategy<Value = String> {
    "[A-Z][A-ZÀ-ÖØ-Þ'-]{0,11}"
}

fn latin_name() -> impl Strategy<Value = LatinName> {
    (latin_word(), proptest::option::of(latin_word()))
        .prop_map(|(family, given)| LatinName::new(family, given.unwrap_or_default()).unwrap())
}

fn person_name() -> impl Strategy<Value = PersonName> {
    (unicode_name(), unicode_name()).prop_map(|(f, g)| PersonName::new(f, g).unwrap())
}

fn country_not_kr() -> impl Strategy<Value = CountryCode> {
    "[A-Z]{2}".prop_filter_map("not KR", |c| {
        Some(CountryCode::parse(&c).unwrap()).filter(|c| !c.is_korea())
    })
}

fn address() -> impl Strategy<Value = Address> {
    (
        prop_oneof![
            Just("서울특별시"),
            Just("부산광역시"),
            Just("경기도"),
            Just("제주특별자치도")
        ],
        unicode_name(),
        (unicode_name(), 1u32..2000),
        proptest::option::of("[0-9]{5}"),
    )
        .prop_map(|(region, locality, (road, number), postal)| {
            Address::new(
                CountryCode::KR,
                region,
                &format!("{locality}구"),
                &format!("{road}로 {number}"),
                postal.as_deref(),
            )
            .unwrap()
        })
}

fn portrait() -> impl Strategy<Value = Portrait> {
    proptest::collection::vec(any::<u8>(), 0..256).prop_map(|body| {
        let mut bytes = vec![0xFF, 0xD8, 0xFF];
        bytes.extend(body);
        bytes.extend([0xFF, 0xD9]);
        Portrait::from_jpeg(bytes).unwrap()
    })
}

/// A registration number for someone born between 1920 and 2008 (domestic or foreign).
fn registration_number(foreign: bool) -> impl Strategy<Value = RegistrationNumber> {
    (0i64..32_000, any::<bool>(), 0u32..1_000_000).prop_map(move |(days, female, tail)| {
        let birth =
            Date::from_calendar_date(1920, time::Month::January, 1).unwrap() + Duration::days(days);
        let yy = birth.year() % 100;
        let g = match (birth.year() >= 2000, foreign, female) {
            (false, false, false) => 1,
            (false, false, true) => 2,
            (true, false, false) => 3,
            (true, false, true) => 4,
            (false, true, false) => 5,
            (false, true, true) => 6,
            (true, true, false) => 7,
            (true, true, true) => 8,
        };
        // The tail is never 000000 (the placeholder): its first digit is 1–9.
        let tail = 100_000 + tail % 900_000;
        let text = format!(
            "{yy:02}{:02}{:02}-{g}{tail:06}",
            u8::from(birth.month()),
            birth.day()
        );
        RegistrationNumber::parse(&text).unwrap()
    })
}

/// Issue and expiry dates for someone born on `birth`, at least `min_age` on the issue date,
/// valid 1 day to 3 years.
fn validity(birth: Date, min_age: i32, offset_days: i64, length_days: i64) -> (Date, Date) {
    let eligible = birth
        .replace_year(birth.year() + min_age + 1)
        .unwrap_or(birth + Duration::days(366 * (i64::from(min_age) + 1)));
    let issue = eligible + Duration::days(offset_days);
    (issue, issue + Duration::days(1 + length_days % 1094))
}

fn resident_card() -> impl Strategy<Value = ResidentCard> {
    (
        person_name(),
        proptest::option::of(unicode_name()),
        registration_number(false),
        address(),
        portrait(),
        (0i64..3000, 0i64..2000),
        proptest::option::of(10u8..60),
        any::<bool>(),
    )
        .prop_map(
            |(name, hanja, rrn, address, portrait, (offset, length), subdivision, overseas)| {
                let (issue_date, expiry_date) = validity(rrn.birth_date(), 17, offset, length);
                ResidentCard::new(ResidentCardFields {
                    name,
                    name_hanja: hanja.map(|h| HanjaName::new(h).unwrap()),
                    registration_number: rrn,
                    address,
                    portrait,
                    issue_date,
                    expiry_date,
                    issuing_authority: Text::new("issuing_authority", "서울특별시 종로구청장")
                        .unwrap(),
                    issuing_subdivision: subdivision
                        .map(|n| Subdivision::parse(&format!("KR-{n}")).unwrap()),
                    overseas_national: overseas,
                })
                .unwrap()
            },
        )
}

fn foreigner_card() -> impl Strategy<Value = ForeignerCard> {
    (
        latin_name(),
        registration_number(true),
        country_not_kr(),
        prop_oneof![
            Just((ForeignerCardType::ResidenceCard, "E-9")),
            Just((ForeignerCardType::ResidenceCard, "F-6-1")),
            Just((ForeignerCardType::ResidenceCard, "D-10")),
            Just((ForeignerCardType::PermanentResidenceCard, "F-5")),
            Just((ForeignerCardType::OverseasKoreanResidenceCard, "F-4")),
        ],
        address(),
        portrait(),
        (0i64..3000, 0i64..2000, 0i64..500),
    )
        .prop_map(
            |(
                name,
                rrn,
                nationality,
                (subtype, status),
                address,
                portrait,
                (offset, length, extra),
            )| {
                let (issue_date, expiry_date) = validity(rrn.birth_date(), 14, offset, length);
                let permanent = subtype == ForeignerCardType::PermanentResidenceCard;
                ForeignerCard::new(ForeignerCardFields {
                    card_subtype: subtype,
                    name,
                    registration_number: rrn,
                    nationality,
                    status_of_stay: StatusOfStay::parse(status).unwrap(),
                    permitted_stay_until: (!permanent).then(|| expiry_date + Duration::days(extra)),
                    address,
                    portrait,
                    issue_date,
                    expiry_date,
                    issuing_authority: Text::new("issuing_authority", "서울출입국·외국인청")
                        .unwrap(),
                })
                .unwrap()
            },
        )
}

fn overseas_card() -> impl Strategy<Value = OverseasNationalCard> {
    (
        person_name(),
        latin_name(),
        registration_number(false),
        "[A-Z][0-9]{3}[A-Z0-9][0-9]{4}",
        country_not_kr(),
        portrait(),
        (0i64..3000, 0i64..2000),
    )
        .prop_map(
            |(name, name_latin, rrn, passport, country, portrait, (offset, length))| {
                let (issue_date, expiry_date) = validity(rrn.birth_date(), 14, offset, length);
                OverseasNationalCard::new(OverseasNationalCardFields {
                    name,
                    name_latin,
                    registration_number: rrn,
                    passport_number: PassportNumber::parse(&passport).unwrap(),
                    country_of_residence: country,
                    registering_mission: Text::new(
                        "registering_mission",
                        "주베트남 대한민국 대사관",
                    )
                    .unwrap(),
                    portrait,
                    issue_date,
                    expiry_date,
                    issuing_authority: Text::new("issuing_authority", "재외동포청").unwrap(),
                })
                .unwrap()
            },
        )
}

fn round_trip<T>(value: &T) -> T
where
    T: serde::Serialize + serde::de::DeserializeOwned,
{
    let json = serde_json::to_string(value).unwrap();
    serde_json::from_str(&json).unwrap()
}

proptest! {
    #[test]
    fn resident_cards_round_trip(card in resident_card()) {
        prop_assert_eq!(&round_trip(&card), &card);
        let any = Card::from(card);
        prop_assert_eq!(&round_trip(&any), &any);
    }

    #[test]
    fn foreigner_cards_round_trip(card in foreigner_card()) {
        prop_assert_eq!(&round_trip(&card), &card);
        let any = Card::from(card);
        prop_assert_eq!(&round_trip(&any), &any);
    }

    #[test]
    fn overseas_cards_round_trip(card in overseas_card()) {
        prop_assert_eq!(&round_trip(&card), &card);
        let any = Card::from(card);
        prop_assert_eq!(&round_trip(&any), &any);
    }

    #[test]
    fn registration_numbers_round_trip(n in registration_number(false), f in registration_number(true)) {
        for n in [n, f] {
            prop_assert_eq!(RegistrationNumber::parse(&n.expose()).unwrap(), n);
            prop_assert_eq!(RegistrationNumber::parse(&n.expose().replace('-', "")).unwrap(), n);
            prop_assert_eq!(round_trip(&n), n);
            let masked = format!("{}******", &n.expose()[..8]);
            prop_assert_eq!(format!("{:?} {}", n, n), format!("RegistrationNumber({masked}) {masked}"));
        }
    }

    #[test]
    fn parsers_never_panic_and_accepted_text_round_trips(s in "\\PC{0,20}|[0-9-]{13,14}|[A-Z0-9-]{0,9}") {
        if let Ok(n) = RegistrationNumber::parse(&s) {
            prop_assert_eq!(n.expose().replace('-', ""), s.replace('-', ""));
        }
        if let Ok(t) = Text::new("x", s.clone()) {
            prop_assert_eq!(t.as_str(), s.as_str());
        }
        let _ = PersonName::new(s.clone(), s.clone());
        let _ = LatinName::new(s.clone(), "");
        let _ = CountryCode::parse(&s);
        let _ = PassportNumber::parse(&s);
        let _ = StatusOfStay::parse(&s);
        let _ = Subdivision::parse(&s);
        let _ = kmid_schema::date::parse_full_date(&s);
    }

    #[test]
    fn card_json_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = serde_json::from_slice::<Card>(&bytes);
    }
}
