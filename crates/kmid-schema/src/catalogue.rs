//! The claim catalogue: every item of every card, defined once, with its encoding in both
//! credential formats.
//!
//! Each [`ClaimSpec`] gives an item's ISO/IEC 18013-5 mdoc namespace, element identifier and
//! CBOR type; its SD-JWT VC claim path and JSON type; its Korean and English display names; its
//! sensitivity; whether it is disclosed by default; and, per card, where its value comes from.
//! The mdoc and SD-JWT VC encoders are both driven from this table, and `spec/` documents it.
//!
//! ```
//! use kmid_schema::catalogue::{self, ClaimId, CborType};
//! use kmid_schema::{Card, CardType};
//! use kmid_testkit::samples;
//! use time::macros::date;
//!
//! let spec = catalogue::spec(ClaimId::BirthDate);
//! assert_eq!((spec.mdoc.namespace, spec.mdoc.identifier), ("org.iso.23220.1", "birth_date"));
//! assert_eq!(spec.mdoc.cbor, CborType::FullDate);
//! assert_eq!(spec.sd_jwt.path, ["birthdate"]);
//!
//! let card = Card::from(samples::resident());
//! let claims = card.claims(date!(2025 - 06 - 01));
//! assert!(claims.iter().all(|c| catalogue::spec(c.id).applies_to(CardType::Resident)));
//! ```

use std::borrow::Cow;

use time::Date;

use crate::cards::{
    Card, CardType, ForeignerCard, IdentityCard, OverseasNationalCard, ResidentCard,
};
use crate::text::CountryCode;

/// The ISO/IEC 23220-2 namespace, for the data every identity document shares.
pub const ISO_23220_NAMESPACE: &str = "org.iso.23220.1";
/// The profile's namespace for the Korea-only elements of all three cards.
pub const KOREAN_NAMESPACE: &str = "kr.go.mobileid.1";

/// One item of a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ClaimId {
    /// Family name as on the card (Hangul, or the passport's Latin letters on a foreigner card).
    FamilyName,
    /// Given name as on the card.
    GivenName,
    /// Family name in Latin letters as in the passport (overseas national ID).
    FamilyNameLatin1,
    /// Given name in Latin letters as in the passport (overseas national ID).
    GivenNameLatin1,
    /// Name in Hanja.
    NameHanja,
    /// Date of birth.
    BirthDate,
    /// Sex (ISO/IEC 5218).
    Sex,
    /// Resident or foreigner registration number.
    RegistrationNumber,
    /// Facial image.
    Portrait,
    /// Issue date of the mobile credential.
    IssueDate,
    /// Expiry date of the mobile credential.
    ExpiryDate,
    /// Issuing authority.
    IssuingAuthority,
    /// Issuing country, always `KR`.
    IssuingCountry,
    /// ISO 3166-2 subdivision of the issuing authority.
    IssuingSubdivision,
    /// Nationality.
    Nationality,
    /// The whole address on one line.
    AddressFormatted,
    /// Road name, building number and detail.
    AddressStreet,
    /// 시·군·구.
    AddressLocality,
    /// 시·도.
    AddressRegion,
    /// Postal code.
    AddressPostalCode,
    /// Country of residence (the address's country, or the overseas national's country).
    ResidentCountry,
    /// Status of stay.
    StatusOfStay,
    /// End of the permitted period of stay.
    PermittedStayUntil,
    /// Subtype of the foreigner card.
    CardSubtype,
    /// The `재외국민` marking on a resident card.
    OverseasNational,
    /// Passport number.
    PassportNumber,
    /// Registering embassy or consulate.
    RegisteringMission,
    /// 14 full years or older.
    AgeOver14,
    /// 18 full years or older.
    AgeOver18,
    /// 19 full years or older (Civil Act majority).
    AgeOver19,
    /// 65 full years or older.
    AgeOver65,
    /// Age in full years.
    AgeInYears,
    /// Year of birth.
    AgeBirthYear,
    /// Adult under the Youth Protection Act (calendar-year rule).
    YouthActAdult,
}

impl ClaimId {
    /// Every item, in catalogue order.
    pub const ALL: [Self; 34] = [
        Self::FamilyName,
        Self::GivenName,
        Self::FamilyNameLatin1,
        Self::GivenNameLatin1,
        Self::NameHanja,
        Self::BirthDate,
        Self::Sex,
        Self::RegistrationNumber,
        Self::Portrait,
        Self::IssueDate,
        Self::ExpiryDate,
        Self::IssuingAuthority,
        Self::IssuingCountry,
        Self::IssuingSubdivision,
        Self::Nationality,
        Self::AddressFormatted,
        Self::AddressStreet,
        Self::AddressLocality,
        Self::AddressRegion,
        Self::AddressPostalCode,
        Self::ResidentCountry,
        Self::StatusOfStay,
        Self::PermittedStayUntil,
        Self::CardSubtype,
        Self::OverseasNational,
        Self::PassportNumber,
        Self::RegisteringMission,
        Self::AgeOver14,
        Self::AgeOver18,
        Self::AgeOver19,
        Self::AgeOver65,
        Self::AgeInYears,
        Self::AgeBirthYear,
        Self::YouthActAdult,
    ];
}

/// CBOR type of an mdoc element value (ISO/IEC 18013-5 §7.2.1 conventions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CborType {
    /// `tstr`.
    Tstr,
    /// `full-date`: `#6.1004(tstr)` with an RFC 3339 full-date (RFC 8943).
    FullDate,
    /// `bool`.
    Bool,
    /// `uint`.
    Uint,
    /// `bstr`.
    Bstr,
}

/// JSON type of an SD-JWT VC claim value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    /// A string.
    String,
    /// A string holding an RFC 3339 full-date, `YYYY-MM-DD`.
    FullDate,
    /// `true` or `false`.
    Boolean,
    /// A non-negative integer.
    Integer,
    /// A string holding an RFC 2397 data URL, `data:image/jpeg;base64,…`.
    DataUrl,
    /// An array of strings (the value is placed as its only element).
    StringArray,
}

/// How much harm disclosure of an item can do, which decides how wallets and verifiers treat it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sensitivity {
    /// Facts about the document, or yes/no and coarse answers derived from personal data
    /// (`age_over_19`).
    Low,
    /// Personal information (개인정보): name, birth date, sex, address, nationality.
    Personal,
    /// The facial image: identifies the holder on sight.
    FacialImage,
    /// Unique identification information (고유식별정보, Personal Information Protection Act
    /// Art. 24 and 24-2): registration and passport numbers. Never disclosed unless a verifier
    /// states a legal basis and asks for the item by name.
    UniqueIdentifier,
}

/// Where an item's value comes from on a given card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A field of the card, as its dotted JSON path (`name.family`, `address.postal_code`).
    Field(&'static str),
    /// Derived from other fields or a constant; the text says how.
    Derived(&'static str),
}

/// The mdoc encoding of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MdocElement {
    /// NameSpace.
    pub namespace: &'static str,
    /// DataElementIdentifier.
    pub identifier: &'static str,
    /// Type of the DataElementValue.
    pub cbor: CborType,
}

/// The SD-JWT VC encoding of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SdJwtClaim {
    /// Claim path from the payload root (SD-JWT VC §"Claim Path"): `["address", "locality"]`.
    pub path: &'static [&'static str],
    /// JSON type of the value.
    pub json: JsonType,
}

/// One entry of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimSpec {
    /// The item.
    pub id: ClaimId,
    /// The cards that carry it and where each takes the value from.
    pub sources: &'static [(CardType, Source)],
    /// Whether the item may be absent from a card that carries it.
    pub optional: bool,
    /// mdoc encoding.
    pub mdoc: MdocElement,
    /// SD-JWT VC encoding.
    pub sd_jwt: SdJwtClaim,
    /// Display name, Korean (`ko-KR`).
    pub display_ko: &'static str,
    /// Display name, English (`en-US`).
    pub display_en: &'static str,
    /// Sensitivity.
    pub sensitivity: Sensitivity,
    /// Whether a wallet discloses it in the default identity presentation.
    pub disclosed_by_default: bool,
}

impl ClaimSpec {
    /// Whether `card` carries this item.
    #[must_use]
    pub fn applies_to(&self, card: CardType) -> bool {
        self.source(card).is_some()
    }

    /// Where `card` takes this item's value from, if it carries it.
    #[must_use]
    pub fn source(&self, card: CardType) -> Option<Source> {
        self.sources
            .iter()
            .find(|(c, _)| *c == card)
            .map(|(_, s)| *s)
    }
}

use CardType::{Foreigner as RC, OverseasNational as ONID, Resident as RRC};
use Source::{Derived, Field};

const ISO: &str = ISO_23220_NAMESPACE;
const KR: &str = KOREAN_NAMESPACE;

const fn mdoc(namespace: &'static str, identifier: &'static str, cbor: CborType) -> MdocElement {
    MdocElement {
        namespace,
        identifier,
        cbor,
    }
}

const fn sd(path: &'static [&'static str], json: JsonType) -> SdJwtClaim {
    SdJwtClaim { path, json }
}

const ALL_FROM_RRN_BIRTH: &[(CardType, Source)] = &[
    (RRC, Derived("from the registration number")),
    (RC, Derived("from the registration number")),
    (ONID, Derived("from the registration number")),
];
const ALL_AGE: &[(CardType, Source)] = &[
    (
        RRC,
        Derived("from the birth date, on the day the credential is signed"),
    ),
    (
        RC,
        Derived("from the birth date, on the day the credential is signed"),
    ),
    (
        ONID,
        Derived("from the birth date, on the day the credential is signed"),
    ),
];

macro_rules! all_field {
    ($path:literal) => {
        &[
            (RRC, Field($path)),
            (RC, Field($path)),
            (ONID, Field($path)),
        ]
    };
}

/// The catalogue, in the order the encoders emit items.
pub static CATALOGUE: &[ClaimSpec] = &[
    ClaimSpec {
        id: ClaimId::FamilyName,
        sources: all_field!("name.family"),
        optional: false,
        mdoc: mdoc(ISO, "family_name_unicode", CborType::Tstr),
        sd_jwt: sd(&["family_name"], JsonType::String),
        display_ko: "성",
        display_en: "Family name",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: true,
    },
    ClaimSpec {
        id: ClaimId::GivenName,
        sources: all_field!("name.given"),
        // Absent for a foreigner whose passport gives only one name.
        optional: true,
        mdoc: mdoc(ISO, "given_name_unicode", CborType::Tstr),
        sd_jwt: sd(&["given_name"], JsonType::String),
        display_ko: "이름",
        display_en: "Given name",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: true,
    },
    ClaimSpec {
        id: ClaimId::FamilyNameLatin1,
        sources: &[(ONID, Field("name_latin.family"))],
        optional: false,
        mdoc: mdoc(ISO, "family_name_latin1", CborType::Tstr),
        sd_jwt: sd(&["family_name_latin1"], JsonType::String),
        display_ko: "영문 성",
        display_en: "Family name (Latin)",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::GivenNameLatin1,
        sources: &[(ONID, Field("name_latin.given"))],
        optional: true,
        mdoc: mdoc(ISO, "given_name_latin1", CborType::Tstr),
        sd_jwt: sd(&["given_name_latin1"], JsonType::String),
        display_ko: "영문 이름",
        display_en: "Given name (Latin)",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::NameHanja,
        sources: &[(RRC, Field("name_hanja"))],
        optional: true,
        mdoc: mdoc(KR, "name_hanja", CborType::Tstr),
        sd_jwt: sd(&["name_hanja"], JsonType::String),
        display_ko: "한자 성명",
        display_en: "Name in Hanja",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::BirthDate,
        sources: ALL_FROM_RRN_BIRTH,
        optional: false,
        mdoc: mdoc(ISO, "birth_date", CborType::FullDate),
        sd_jwt: sd(&["birthdate"], JsonType::FullDate),
        display_ko: "생년월일",
        display_en: "Date of birth",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: true,
    },
    ClaimSpec {
        id: ClaimId::Sex,
        sources: &[
            (RRC, Derived("from the registration number's G digit")),
            (RC, Derived("from the registration number's G digit")),
            (ONID, Derived("from the registration number's G digit")),
        ],
        optional: false,
        mdoc: mdoc(ISO, "sex", CborType::Uint),
        sd_jwt: sd(&["sex"], JsonType::Integer),
        display_ko: "성별",
        display_en: "Sex",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::RegistrationNumber,
        sources: all_field!("registration_number"),
        optional: false,
        mdoc: mdoc(KR, "registration_number", CborType::Tstr),
        sd_jwt: sd(&["registration_number"], JsonType::String),
        display_ko: "주민등록번호·외국인등록번호",
        display_en: "Registration number",
        sensitivity: Sensitivity::UniqueIdentifier,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::Portrait,
        sources: all_field!("portrait"),
        optional: false,
        mdoc: mdoc(ISO, "portrait", CborType::Bstr),
        sd_jwt: sd(&["picture"], JsonType::DataUrl),
        display_ko: "사진",
        display_en: "Portrait",
        sensitivity: Sensitivity::FacialImage,
        disclosed_by_default: true,
    },
    ClaimSpec {
        id: ClaimId::IssueDate,
        sources: all_field!("issue_date"),
        optional: false,
        mdoc: mdoc(ISO, "issue_date", CborType::FullDate),
        sd_jwt: sd(&["date_of_issuance"], JsonType::FullDate),
        display_ko: "발급일",
        display_en: "Date of issue",
        sensitivity: Sensitivity::Low,
        disclosed_by_default: true,
    },
    ClaimSpec {
        id: ClaimId::ExpiryDate,
        sources: all_field!("expiry_date"),
        optional: false,
        mdoc: mdoc(ISO, "expiry_date", CborType::FullDate),
        sd_jwt: sd(&["date_of_expiry"], JsonType::FullDate),
        display_ko: "만료일",
        display_en: "Date of expiry",
        sensitivity: Sensitivity::Low,
        disclosed_by_default: true,
    },
    ClaimSpec {
        id: ClaimId::IssuingAuthority,
        sources: all_field!("issuing_authority"),
        optional: false,
        mdoc: mdoc(ISO, "issuing_authority_unicode", CborType::Tstr),
        sd_jwt: sd(&["issuing_authority"], JsonType::String),
        display_ko: "발급기관",
        display_en: "Issuing authority",
        sensitivity: Sensitivity::Low,
        disclosed_by_default: true,
    },
    ClaimSpec {
        id: ClaimId::IssuingCountry,
        sources: &[
            (RRC, Derived("always KR")),
            (RC, Derived("always KR")),
            (ONID, Derived("always KR")),
        ],
        optional: false,
        mdoc: mdoc(ISO, "issuing_country", CborType::Tstr),
        sd_jwt: sd(&["issuing_country"], JsonType::String),
        display_ko: "발급국가",
        display_en: "Issuing country",
        sensitivity: Sensitivity::Low,
        disclosed_by_default: true,
    },
    ClaimSpec {
        id: ClaimId::IssuingSubdivision,
        sources: &[(RRC, Field("issuing_subdivision"))],
        optional: true,
        mdoc: mdoc(ISO, "issuing_subdivision", CborType::Tstr),
        sd_jwt: sd(&["issuing_jurisdiction"], JsonType::String),
        display_ko: "발급 시·도",
        display_en: "Issuing subdivision",
        sensitivity: Sensitivity::Low,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::Nationality,
        sources: &[
            (RRC, Derived("always KR")),
            (RC, Field("nationality")),
            (ONID, Derived("always KR")),
        ],
        optional: false,
        mdoc: mdoc(ISO, "nationality", CborType::Tstr),
        sd_jwt: sd(&["nationalities"], JsonType::StringArray),
        display_ko: "국적",
        display_en: "Nationality",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::AddressFormatted,
        sources: &[
            (
                RRC,
                Derived("region, locality and street address joined by spaces"),
            ),
            (
                RC,
                Derived("region, locality and street address joined by spaces"),
            ),
        ],
        optional: false,
        mdoc: mdoc(ISO, "resident_address_unicode", CborType::Tstr),
        sd_jwt: sd(&["address", "formatted"], JsonType::String),
        display_ko: "주소",
        display_en: "Address",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::AddressStreet,
        sources: &[
            (RRC, Field("address.street_address")),
            (RC, Field("address.street_address")),
        ],
        optional: false,
        mdoc: mdoc(KR, "resident_street_address", CborType::Tstr),
        sd_jwt: sd(&["address", "street_address"], JsonType::String),
        display_ko: "도로명주소",
        display_en: "Street address",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::AddressLocality,
        sources: &[
            (RRC, Field("address.locality")),
            (RC, Field("address.locality")),
        ],
        optional: false,
        mdoc: mdoc(ISO, "resident_city_unicode", CborType::Tstr),
        sd_jwt: sd(&["address", "locality"], JsonType::String),
        display_ko: "시·군·구",
        display_en: "City, county or district",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::AddressRegion,
        sources: &[
            (RRC, Field("address.region")),
            (RC, Field("address.region")),
        ],
        optional: false,
        mdoc: mdoc(KR, "resident_region", CborType::Tstr),
        sd_jwt: sd(&["address", "region"], JsonType::String),
        display_ko: "시·도",
        display_en: "Province or metropolitan city",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::AddressPostalCode,
        sources: &[
            (RRC, Field("address.postal_code")),
            (RC, Field("address.postal_code")),
        ],
        optional: true,
        mdoc: mdoc(ISO, "resident_postal_code", CborType::Tstr),
        sd_jwt: sd(&["address", "postal_code"], JsonType::String),
        display_ko: "우편번호",
        display_en: "Postal code",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::ResidentCountry,
        sources: &[
            (RRC, Field("address.country")),
            (RC, Field("address.country")),
            (ONID, Field("country_of_residence")),
        ],
        optional: false,
        mdoc: mdoc(ISO, "resident_country", CborType::Tstr),
        sd_jwt: sd(&["address", "country"], JsonType::String),
        display_ko: "거주국",
        display_en: "Country of residence",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::StatusOfStay,
        sources: &[(RC, Field("status_of_stay"))],
        optional: false,
        mdoc: mdoc(KR, "status_of_stay", CborType::Tstr),
        sd_jwt: sd(&["status_of_stay"], JsonType::String),
        display_ko: "체류자격",
        display_en: "Status of stay",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::PermittedStayUntil,
        sources: &[(RC, Field("permitted_stay_until"))],
        optional: true,
        mdoc: mdoc(KR, "permitted_stay_until", CborType::FullDate),
        sd_jwt: sd(&["permitted_stay_until"], JsonType::FullDate),
        display_ko: "체류기간 만료일",
        display_en: "Permitted stay until",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::CardSubtype,
        sources: &[(RC, Field("card_subtype"))],
        optional: false,
        mdoc: mdoc(KR, "card_subtype", CborType::Tstr),
        sd_jwt: sd(&["card_subtype"], JsonType::String),
        display_ko: "증 종류",
        display_en: "Card subtype",
        sensitivity: Sensitivity::Low,
        disclosed_by_default: true,
    },
    ClaimSpec {
        id: ClaimId::OverseasNational,
        sources: &[(RRC, Field("overseas_national"))],
        optional: false,
        mdoc: mdoc(KR, "overseas_national", CborType::Bool),
        sd_jwt: sd(&["overseas_national"], JsonType::Boolean),
        display_ko: "재외국민",
        display_en: "Overseas national",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::PassportNumber,
        sources: &[(ONID, Field("passport_number"))],
        optional: false,
        mdoc: mdoc(KR, "passport_number", CborType::Tstr),
        sd_jwt: sd(&["passport_number"], JsonType::String),
        display_ko: "여권번호",
        display_en: "Passport number",
        sensitivity: Sensitivity::UniqueIdentifier,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::RegisteringMission,
        sources: &[(ONID, Field("registering_mission"))],
        optional: false,
        mdoc: mdoc(KR, "registering_mission", CborType::Tstr),
        sd_jwt: sd(&["registering_mission"], JsonType::String),
        display_ko: "등록 재외공관",
        display_en: "Registering mission",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::AgeOver14,
        sources: ALL_AGE,
        optional: false,
        mdoc: mdoc(ISO, "age_over_14", CborType::Bool),
        sd_jwt: sd(&["age_equal_or_over", "14"], JsonType::Boolean),
        display_ko: "만 14세 이상",
        display_en: "Aged 14 or over",
        sensitivity: Sensitivity::Low,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::AgeOver18,
        sources: ALL_AGE,
        optional: false,
        mdoc: mdoc(ISO, "age_over_18", CborType::Bool),
        sd_jwt: sd(&["age_equal_or_over", "18"], JsonType::Boolean),
        display_ko: "만 18세 이상",
        display_en: "Aged 18 or over",
        sensitivity: Sensitivity::Low,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::AgeOver19,
        sources: ALL_AGE,
        optional: false,
        mdoc: mdoc(ISO, "age_over_19", CborType::Bool),
        sd_jwt: sd(&["age_equal_or_over", "19"], JsonType::Boolean),
        display_ko: "만 19세 이상",
        display_en: "Aged 19 or over",
        sensitivity: Sensitivity::Low,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::AgeOver65,
        sources: ALL_AGE,
        optional: false,
        mdoc: mdoc(ISO, "age_over_65", CborType::Bool),
        sd_jwt: sd(&["age_equal_or_over", "65"], JsonType::Boolean),
        display_ko: "만 65세 이상",
        display_en: "Aged 65 or over",
        sensitivity: Sensitivity::Low,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::AgeInYears,
        sources: ALL_AGE,
        optional: false,
        mdoc: mdoc(ISO, "age_in_years", CborType::Uint),
        sd_jwt: sd(&["age_in_years"], JsonType::Integer),
        display_ko: "만 나이",
        display_en: "Age in years",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::AgeBirthYear,
        sources: ALL_FROM_RRN_BIRTH,
        optional: false,
        mdoc: mdoc(ISO, "age_birth_year", CborType::Uint),
        sd_jwt: sd(&["age_birth_year"], JsonType::Integer),
        display_ko: "출생연도",
        display_en: "Year of birth",
        sensitivity: Sensitivity::Personal,
        disclosed_by_default: false,
    },
    ClaimSpec {
        id: ClaimId::YouthActAdult,
        sources: ALL_AGE,
        optional: false,
        mdoc: mdoc(KR, "youth_act_adult", CborType::Bool),
        sd_jwt: sd(&["youth_act_adult"], JsonType::Boolean),
        display_ko: "청소년보호법상 성인",
        display_en: "Adult under the Youth Protection Act",
        sensitivity: Sensitivity::Low,
        disclosed_by_default: false,
    },
];

/// The catalogue entry of `id`.
#[must_use]
// The table is static and a test checks that every `ClaimId` has exactly one entry, so the
// search cannot fail on any input.
#[allow(clippy::expect_used)]
pub fn spec(id: ClaimId) -> &'static ClaimSpec {
    CATALOGUE
        .iter()
        .find(|s| s.id == id)
        .expect("every ClaimId has a catalogue entry")
}

/// The entry whose mdoc element is `namespace`/`identifier`, if any.
#[must_use]
pub fn by_mdoc_element(namespace: &str, identifier: &str) -> Option<&'static ClaimSpec> {
    CATALOGUE
        .iter()
        .find(|s| s.mdoc.namespace == namespace && s.mdoc.identifier == identifier)
}

/// The entry whose SD-JWT VC claim path is `path`, if any.
#[must_use]
pub fn by_sd_jwt_path(path: &[&str]) -> Option<&'static ClaimSpec> {
    CATALOGUE.iter().find(|s| s.sd_jwt.path == path)
}

/// The entries that apply to `card`, in catalogue order.
pub fn for_card(card: CardType) -> impl Iterator<Item = &'static ClaimSpec> {
    CATALOGUE.iter().filter(move |s| s.applies_to(card))
}

/// A format-neutral item value. The encoders turn it into CBOR or JSON by the entry's
/// [`CborType`] and [`JsonType`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimValue<'a> {
    /// Text.
    Text(Cow<'a, str>),
    /// A calendar date.
    Date(Date),
    /// A boolean.
    Bool(bool),
    /// A non-negative integer.
    Uint(u64),
    /// JPEG bytes.
    Jpeg(&'a [u8]),
}

/// One item of one card with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim<'a> {
    /// Which item.
    pub id: ClaimId,
    /// Its value.
    pub value: ClaimValue<'a>,
}

impl Card {
    /// Every item of this card with its value, in catalogue order. Age items are computed on
    /// `as_of`, the day the credential is signed. Optional items without a value are left out.
    #[must_use]
    pub fn claims(&self, as_of: Date) -> Vec<Claim<'_>> {
        let card_type = self.card_type();
        for_card(card_type)
            .filter_map(|spec| {
                self.value(spec.id, as_of)
                    .map(|value| Claim { id: spec.id, value })
            })
            .collect()
    }

    /// The first day after `as_of` on which one of `ids`, computed as [`Self::claims`]
    /// computes it, takes another value: a birthday for `age_in_years`, the birthday that
    /// crosses the threshold for `age_over_NN`, 1 January of the year the holder turns 19 for
    /// `youth_act_adult`; `None` when none of them ever changes. Every other item is fixed by
    /// the card. A credential carrying these items is valid at most until that day begins
    /// (00:00 KST), so none of them is ever false during its validity.
    #[must_use]
    pub fn claims_change_after(
        &self,
        ids: impl IntoIterator<Item = ClaimId>,
        as_of: Date,
    ) -> Option<Date> {
        use crate::age;
        let birth = self.birth_date();
        ids.into_iter()
            .filter_map(|id| match id {
                ClaimId::AgeInYears => age::next_birthday(birth, as_of),
                ClaimId::AgeOver14 => age::age_over_changes(birth, 14, as_of),
                ClaimId::AgeOver18 => age::age_over_changes(birth, 18, as_of),
                ClaimId::AgeOver19 => age::age_over_changes(birth, 19, as_of),
                ClaimId::AgeOver65 => age::age_over_changes(birth, 65, as_of),
                ClaimId::YouthActAdult => age::youth_act_adult_changes(birth, as_of),
                _ => None,
            })
            .min()
    }

    /// [`Self::claims_change_after`] for every item of the card.
    #[must_use]
    pub fn claims_stable_until(&self, as_of: Date) -> Option<Date> {
        self.claims_change_after(for_card(self.card_type()).map(|s| s.id), as_of)
    }

    fn value(&self, id: ClaimId, as_of: Date) -> Option<ClaimValue<'_>> {
        let common = common_value(self, id, as_of);
        if common.is_some() {
            return common;
        }
        match self {
            Self::Resident(c) => resident_value(c, id),
            Self::Foreigner(c) => foreigner_value(c, id),
            Self::OverseasNational(c) => overseas_value(c, id),
        }
    }
}

fn text(s: &str) -> Option<ClaimValue<'_>> {
    Some(ClaimValue::Text(Cow::Borrowed(s)))
}

fn owned(s: String) -> Option<ClaimValue<'static>> {
    Some(ClaimValue::Text(Cow::Owned(s)))
}

fn country(c: CountryCode) -> Option<ClaimValue<'static>> {
    owned(c.as_str().to_owned())
}

/// Items every card computes the same way.
fn common_value(card: &Card, id: ClaimId, as_of: Date) -> Option<ClaimValue<'_>> {
    let age_over = |n| Some(ClaimValue::Bool(card.age_over(n, as_of)));
    match id {
        ClaimId::BirthDate => Some(ClaimValue::Date(card.birth_date())),
        ClaimId::Sex => Some(ClaimValue::Uint(u64::from(card.sex().iso5218()))),
        ClaimId::RegistrationNumber => owned(card.registration_number().expose()),
        ClaimId::Portrait => Some(ClaimValue::Jpeg(card.portrait().as_bytes())),
        ClaimId::IssueDate => Some(ClaimValue::Date(card.issue_date())),
        ClaimId::ExpiryDate => Some(ClaimValue::Date(card.expiry_date())),
        ClaimId::IssuingCountry => country(CountryCode::KR),
        ClaimId::AgeOver14 => age_over(14),
        ClaimId::AgeOver18 => age_over(18),
        ClaimId::AgeOver19 => age_over(19),
        ClaimId::AgeOver65 => age_over(65),
        ClaimId::AgeInYears => Some(ClaimValue::Uint(u64::from(card.age_in_years(as_of)))),
        ClaimId::AgeBirthYear => u64::try_from(card.age_birth_year())
            .ok()
            .map(ClaimValue::Uint),
        ClaimId::YouthActAdult => Some(ClaimValue::Bool(card.youth_act_adult(as_of))),
        _ => None,
    }
}

fn resident_value(card: &ResidentCard, id: ClaimId) -> Option<ClaimValue<'_>> {
    let f = card.fields();
    match id {
        ClaimId::FamilyName => text(f.name.family()),
        ClaimId::GivenName => text(f.name.given()),
        ClaimId::NameHanja => f.name_hanja.as_ref().and_then(|n| text(n.as_str())),
        ClaimId::IssuingAuthority => text(f.issuing_authority.as_str()),
        ClaimId::IssuingSubdivision => f
            .issuing_subdivision
            .and_then(|s| owned(s.as_str().to_owned())),
        ClaimId::Nationality => country(CountryCode::KR),
        ClaimId::AddressFormatted => owned(f.address.formatted()),
        ClaimId::AddressStreet => text(f.address.street_address()),
        ClaimId::AddressLocality => text(f.address.locality()),
        ClaimId::AddressRegion => text(f.address.region()),
        ClaimId::AddressPostalCode => f.address.postal_code().and_then(text),
        ClaimId::ResidentCountry => country(f.address.country()),
        ClaimId::OverseasNational => Some(ClaimValue::Bool(f.overseas_national)),
        _ => None,
    }
}

fn foreigner_value(card: &ForeignerCard, id: ClaimId) -> Option<ClaimValue<'_>> {
    let f = card.fields();
    match id {
        ClaimId::FamilyName => text(f.name.family()),
        ClaimId::GivenName => Some(f.name.given())
            .filter(|g| !g.is_empty())
            .and_then(text),
        ClaimId::IssuingAuthority => text(f.issuing_authority.as_str()),
        ClaimId::Nationality => country(f.nationality),
        ClaimId::AddressFormatted => owned(f.address.formatted()),
        ClaimId::AddressStreet => text(f.address.street_address()),
        ClaimId::AddressLocality => text(f.address.locality()),
        ClaimId::AddressRegion => text(f.address.region()),
        ClaimId::AddressPostalCode => f.address.postal_code().and_then(text),
        ClaimId::ResidentCountry => country(f.address.country()),
        ClaimId::StatusOfStay => owned(f.status_of_stay.as_str().to_owned()),
        ClaimId::PermittedStayUntil => f.permitted_stay_until.map(ClaimValue::Date),
        ClaimId::CardSubtype => text(f.card_subtype.as_str()),
        _ => None,
    }
}

fn overseas_value(card: &OverseasNationalCard, id: ClaimId) -> Option<ClaimValue<'_>> {
    let f = card.fields();
    match id {
        ClaimId::FamilyName => text(f.name.family()),
        ClaimId::GivenName => text(f.name.given()),
        ClaimId::FamilyNameLatin1 => text(f.name_latin.family()),
        ClaimId::GivenNameLatin1 => Some(f.name_latin.given())
            .filter(|g| !g.is_empty())
            .and_then(text),
        ClaimId::IssuingAuthority => text(f.issuing_authority.as_str()),
        ClaimId::Nationality => country(CountryCode::KR),
        ClaimId::ResidentCountry => country(f.country_of_residence),
        ClaimId::PassportNumber => owned(f.passport_number.as_str().to_owned()),
        ClaimId::RegisteringMission => text(f.registering_mission.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An exhaustive match: a new `ClaimId` does not compile until it is given a place here.
    const fn position(id: ClaimId) -> usize {
        match id {
            ClaimId::FamilyName => 0,
            ClaimId::GivenName => 1,
            ClaimId::FamilyNameLatin1 => 2,
            ClaimId::GivenNameLatin1 => 3,
            ClaimId::NameHanja => 4,
            ClaimId::BirthDate => 5,
            ClaimId::Sex => 6,
            ClaimId::RegistrationNumber => 7,
            ClaimId::Portrait => 8,
            ClaimId::IssueDate => 9,
            ClaimId::ExpiryDate => 10,
            ClaimId::IssuingAuthority => 11,
            ClaimId::IssuingCountry => 12,
            ClaimId::IssuingSubdivision => 13,
            ClaimId::Nationality => 14,
            ClaimId::AddressFormatted => 15,
            ClaimId::AddressStreet => 16,
            ClaimId::AddressLocality => 17,
            ClaimId::AddressRegion => 18,
            ClaimId::AddressPostalCode => 19,
            ClaimId::ResidentCountry => 20,
            ClaimId::StatusOfStay => 21,
            ClaimId::PermittedStayUntil => 22,
            ClaimId::CardSubtype => 23,
            ClaimId::OverseasNational => 24,
            ClaimId::PassportNumber => 25,
            ClaimId::RegisteringMission => 26,
            ClaimId::AgeOver14 => 27,
            ClaimId::AgeOver18 => 28,
            ClaimId::AgeOver19 => 29,
            ClaimId::AgeOver65 => 30,
            ClaimId::AgeInYears => 31,
            ClaimId::AgeBirthYear => 32,
            ClaimId::YouthActAdult => 33,
        }
    }

    #[test]
    fn all_lists_every_variant_once_in_order() {
        // `position` is exhaustive and maps the variants one-to-one onto 0..34, so ALL holding
        // each position at its own index means ALL is every variant exactly once.
        for (index, id) in ClaimId::ALL.into_iter().enumerate() {
            assert_eq!(position(id), index, "{id:?}");
        }
    }
}
