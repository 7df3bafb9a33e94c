//! Fictional sample people, one or more per card type, for tests, vectors and the demo.
//!
//! Nobody here exists. The registration numbers follow the rules of the format (those born
//! before 2020 carry a correct pre-2020 check digit); the portraits are synthetic drawings made
//! by `samples/make_portraits.py`, about 20 KB each like a real ID portrait.
//!
//! | function | card | born | notes |
//! |---|---|---|---|
//! | [`resident`] | resident | 1990-03-15 | Hanja name, Seoul address |
//! | [`resident_minor`] | resident | 2008-02-29 | leap-day birth; Hanja name with U+20BB7 (outside the BMP) |
//! | [`foreigner`] | foreigner, residence card | 1995-07-20 | Viet Nam, E-9 |
//! | [`permanent_resident`] | foreigner, permanent residence card | 1985-04-12 | United States, F-5 |
//! | [`overseas_national`] | overseas national | 1988-11-02 | lives in the United States |

// The samples are fixed data, built once and checked by this crate's tests; a failure to build
// one is a bug in this file, never a reaction to input.
#![allow(clippy::expect_used)]

use time::macros::date;

use kmid_schema::{
    Address, Card, CountryCode, ForeignerCard, ForeignerCardFields, ForeignerCardType, HanjaName,
    LatinName, OverseasNationalCard, OverseasNationalCardFields, PassportNumber, PersonName,
    Portrait, RegistrationNumber, ResidentCard, ResidentCardFields, StatusOfStay, Subdivision,
    Text,
};

/// JPEG bytes of the sample portraits.
pub mod portraits {
    /// Portrait of [`super::resident`].
    pub const RESIDENT: &[u8] = include_bytes!("../samples/portrait-resident.jpg");
    /// Portrait of [`super::resident_minor`].
    pub const RESIDENT_MINOR: &[u8] = include_bytes!("../samples/portrait-resident-minor.jpg");
    /// Portrait of [`super::foreigner`].
    pub const FOREIGNER: &[u8] = include_bytes!("../samples/portrait-foreigner.jpg");
    /// Portrait of [`super::permanent_resident`].
    pub const PERMANENT_RESIDENT: &[u8] =
        include_bytes!("../samples/portrait-permanent-resident.jpg");
    /// Portrait of [`super::overseas_national`].
    pub const OVERSEAS_NATIONAL: &[u8] =
        include_bytes!("../samples/portrait-overseas-national.jpg");
}

fn rrn(s: &str) -> RegistrationNumber {
    RegistrationNumber::parse(s).expect("sample registration number")
}

fn text(field: &'static str, s: &str) -> Text {
    Text::new(field, s).expect("sample text")
}

fn portrait(bytes: &[u8]) -> Portrait {
    Portrait::from_jpeg(bytes).expect("sample portrait")
}

fn korean_address(region: &str, locality: &str, street: &str, postal: &str) -> Address {
    Address::new(CountryCode::KR, region, locality, street, Some(postal)).expect("sample address")
}

/// 김민준 (金民俊), born 1990-03-15, mobile resident card issued 2025-03-28 in Jongno-gu, Seoul.
#[must_use]
pub fn resident() -> ResidentCard {
    ResidentCard::new(ResidentCardFields {
        name: PersonName::new("김", "민준").expect("sample name"),
        name_hanja: Some(HanjaName::new("金民俊").expect("sample Hanja")),
        registration_number: rrn("900315-1234568"),
        address: korean_address(
            "서울특별시",
            "종로구",
            "세종대로 175, 101동 1203호",
            "03154",
        ),
        portrait: portrait(portraits::RESIDENT),
        issue_date: date!(2025 - 03 - 28),
        expiry_date: date!(2028 - 03 - 28),
        issuing_authority: text("issuing_authority", "서울특별시 종로구청장"),
        issuing_subdivision: Some(Subdivision::parse("KR-11").expect("sample subdivision")),
        overseas_national: false,
    })
    .expect("sample resident card")
}

/// 이서연 (李𠮷娟), born 2008-02-29: turns 17 on 2025-03-01 (no 29 February in 2025), so the
/// card is issued 2025-03-04. Her Hanja name holds U+20BB7, outside the BMP. Under the Youth
/// Protection Act she is an adult from 2027-01-01; under the Civil Act from 2027-03-01.
#[must_use]
pub fn resident_minor() -> ResidentCard {
    ResidentCard::new(ResidentCardFields {
        name: PersonName::new("이", "서연").expect("sample name"),
        name_hanja: Some(HanjaName::new("李\u{20BB7}娟").expect("sample Hanja")),
        registration_number: rrn("080229-4123455"),
        address: korean_address("세종특별자치시", "세종시", "한누리대로 2130", "30151"),
        portrait: portrait(portraits::RESIDENT_MINOR),
        issue_date: date!(2025 - 03 - 04),
        expiry_date: date!(2028 - 03 - 04),
        issuing_authority: text("issuing_authority", "세종특별자치시장"),
        issuing_subdivision: Some(Subdivision::parse("KR-50").expect("sample subdivision")),
        overseas_national: false,
    })
    .expect("sample resident card")
}

/// NGUYEN VAN AN, Viet Nam, born 1995-07-20, E-9 worker in Suwon, stay permitted to 2027-06-30.
#[must_use]
pub fn foreigner() -> ForeignerCard {
    ForeignerCard::new(ForeignerCardFields {
        card_subtype: ForeignerCardType::ResidenceCard,
        name: LatinName::new("NGUYEN", "VAN AN").expect("sample name"),
        registration_number: rrn("950720-5123456"),
        nationality: CountryCode::parse("VN").expect("sample country"),
        status_of_stay: StatusOfStay::parse("E-9").expect("sample status"),
        permitted_stay_until: Some(date!(2027 - 06 - 30)),
        address: korean_address("경기도", "수원시 팔달구", "효원로 241", "16490"),
        portrait: portrait(portraits::FOREIGNER),
        issue_date: date!(2025 - 01 - 15),
        expiry_date: date!(2027 - 06 - 30),
        issuing_authority: text("issuing_authority", "수원출입국·외국인사무소"),
    })
    .expect("sample foreigner card")
}

/// JANE SMITH, United States, born 1985-04-12, permanent resident (F-5) in Busan.
#[must_use]
pub fn permanent_resident() -> ForeignerCard {
    ForeignerCard::new(ForeignerCardFields {
        card_subtype: ForeignerCardType::PermanentResidenceCard,
        name: LatinName::new("SMITH", "JANE ELIZABETH").expect("sample name"),
        registration_number: rrn("850412-6123457"),
        nationality: CountryCode::parse("US").expect("sample country"),
        status_of_stay: StatusOfStay::parse("F-5-2").expect("sample status"),
        permitted_stay_until: None,
        address: korean_address("부산광역시", "해운대구", "센텀중앙로 97, 2301호", "48058"),
        portrait: portrait(portraits::PERMANENT_RESIDENT),
        issue_date: date!(2025 - 02 - 03),
        expiry_date: date!(2028 - 02 - 03),
        issuing_authority: text("issuing_authority", "부산출입국·외국인청"),
    })
    .expect("sample foreigner card")
}

/// 박지우 / PARK JIWOO, born 1988-11-02, lives in the United States, registered at the
/// Consulate General in Los Angeles.
#[must_use]
pub fn overseas_national() -> OverseasNationalCard {
    OverseasNationalCard::new(OverseasNationalCardFields {
        name: PersonName::new("박", "지우").expect("sample name"),
        name_latin: LatinName::new("PARK", "JIWOO").expect("sample name"),
        registration_number: rrn("881102-2123451"),
        passport_number: PassportNumber::parse("M123A4567").expect("sample passport"),
        country_of_residence: CountryCode::parse("US").expect("sample country"),
        registering_mission: text("registering_mission", "주로스앤젤레스 대한민국 총영사관"),
        portrait: portrait(portraits::OVERSEAS_NATIONAL),
        issue_date: date!(2025 - 06 - 02),
        expiry_date: date!(2028 - 06 - 02),
        issuing_authority: text("issuing_authority", "재외동포청"),
    })
    .expect("sample overseas national card")
}

/// Every sample, as [`Card`]s.
#[must_use]
pub fn all() -> Vec<Card> {
    vec![
        resident().into(),
        resident_minor().into(),
        foreigner().into(),
        permanent_resident().into(),
        overseas_national().into(),
    ]
}
