//! The claim catalogue covers every field of every card exactly once, and agrees with itself.

// Test code: helpers outside #[test] functions may unwrap and index freely.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};

use kmid_schema::catalogue::{
    self, CATALOGUE, CborType, ClaimId, ClaimValue, JsonType, Sensitivity, Source,
};
use kmid_schema::{Card, CardType, IdentityCard};
use kmid_testkit::samples;
use time::macros::date;

/// The dotted paths of every leaf of a card's JSON, without the `card` tag.
fn leaf_paths(value: &serde_json::Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                if prefix.is_empty() && k == "card" {
                    continue;
                }
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaf_paths(v, &path, out);
            }
        }
        _ => {
            out.insert(prefix.to_owned());
        }
    }
}

/// A sample of each card type with every optional field filled.
fn maximal_samples() -> Vec<Card> {
    let mut resident = samples::resident().into_fields();
    resident.overseas_national = true;
    vec![
        Card::from(kmid_schema::ResidentCard::new(resident).unwrap()),
        Card::from(samples::foreigner()),
        Card::from(samples::overseas_national()),
    ]
}

#[test]
fn every_claim_id_has_exactly_one_entry() {
    // That `ClaimId::ALL` lists every variant is checked inside the crate, where the match over
    // the non-exhaustive enum can be exhaustive.
    assert_eq!(CATALOGUE.len(), ClaimId::ALL.len());
    for (entry, id) in CATALOGUE.iter().zip(ClaimId::ALL) {
        assert_eq!(entry.id, id, "catalogue order is ClaimId::ALL order");
        assert_eq!(catalogue::spec(id).id, id);
    }
    let unique: BTreeSet<_> = CATALOGUE.iter().map(|s| s.id).collect();
    assert_eq!(unique.len(), CATALOGUE.len());
}

#[test]
fn every_field_of_every_card_is_in_the_catalogue_exactly_once() {
    for card in maximal_samples() {
        let t = card.card_type();
        let mut fields = BTreeSet::new();
        leaf_paths(&serde_json::to_value(&card).unwrap(), "", &mut fields);
        let mut from_catalogue: BTreeMap<&str, Vec<ClaimId>> = BTreeMap::new();
        for spec in catalogue::for_card(t) {
            if let Some(Source::Field(path)) = spec.source(t) {
                from_catalogue.entry(path).or_default().push(spec.id);
            }
        }
        for field in &fields {
            match from_catalogue.get(field.as_str()).map(Vec::as_slice) {
                Some([_]) => {}
                other => panic!(
                    "{t:?}: field `{field}` is covered by {other:?}, expected exactly one entry"
                ),
            }
        }
        let catalogue_fields: BTreeSet<String> =
            from_catalogue.keys().map(|s| (*s).to_owned()).collect();
        assert_eq!(
            catalogue_fields, fields,
            "{t:?}: catalogue names fields the card does not have"
        );
    }
}

#[test]
fn a_maximal_card_yields_every_entry_of_its_type_with_the_declared_type() {
    for card in maximal_samples() {
        let t = card.card_type();
        let claims = card.claims(date!(2026 - 01 - 01));
        let produced: Vec<ClaimId> = claims.iter().map(|c| c.id).collect();
        let expected: Vec<ClaimId> = catalogue::for_card(t).map(|s| s.id).collect();
        assert_eq!(produced, expected, "{t:?}");
        for claim in &claims {
            let spec = catalogue::spec(claim.id);
            let cbor_ok = matches!(
                (&claim.value, spec.mdoc.cbor),
                (ClaimValue::Text(_), CborType::Tstr)
                    | (ClaimValue::Date(_), CborType::FullDate)
                    | (ClaimValue::Bool(_), CborType::Bool)
                    | (ClaimValue::Uint(_), CborType::Uint)
                    | (ClaimValue::Jpeg(_), CborType::Bstr)
            );
            let json_ok = matches!(
                (&claim.value, spec.sd_jwt.json),
                (
                    ClaimValue::Text(_),
                    JsonType::String | JsonType::StringArray
                ) | (ClaimValue::Date(_), JsonType::FullDate)
                    | (ClaimValue::Bool(_), JsonType::Boolean)
                    | (ClaimValue::Uint(_), JsonType::Integer)
                    | (ClaimValue::Jpeg(_), JsonType::DataUrl)
            );
            assert!(
                cbor_ok && json_ok,
                "{t:?} {:?}: value {:?} vs declared types",
                claim.id,
                claim.value
            );
        }
    }
}

#[test]
fn optional_entries_are_the_ones_that_can_be_missing() {
    // The foreigner sample with a mononym and the permanent resident (no permitted stay) drop
    // exactly optional entries; no required entry is ever missing.
    let mut mononym = samples::foreigner().into_fields();
    mononym.name = kmid_schema::LatinName::new("SUKARNO", "").unwrap();
    let cards = [
        Card::from(kmid_schema::ForeignerCard::new(mononym).unwrap()),
        Card::from(samples::permanent_resident()),
        Card::from(samples::resident_minor()),
    ];
    for card in cards {
        let t = card.card_type();
        let produced: BTreeSet<ClaimId> = card
            .claims(date!(2026 - 01 - 01))
            .iter()
            .map(|c| c.id)
            .collect();
        for spec in catalogue::for_card(t) {
            assert!(
                spec.optional || produced.contains(&spec.id),
                "{t:?}: required {:?} missing",
                spec.id
            );
        }
    }
    let permanent = Card::from(samples::permanent_resident());
    assert!(
        !permanent
            .claims(date!(2026 - 01 - 01))
            .iter()
            .any(|c| c.id == ClaimId::PermittedStayUntil)
    );
}

#[test]
fn encodings_are_unique_and_well_formed() {
    let mut elements = BTreeSet::new();
    let mut paths = BTreeSet::new();
    for spec in CATALOGUE {
        assert!(
            [catalogue::ISO_23220_NAMESPACE, catalogue::KOREAN_NAMESPACE]
                .contains(&spec.mdoc.namespace),
            "{:?}",
            spec.id
        );
        assert!(
            elements.insert((spec.mdoc.namespace, spec.mdoc.identifier)),
            "duplicate element {:?}",
            spec.id
        );
        assert!(
            paths.insert(spec.sd_jwt.path),
            "duplicate claim path {:?}",
            spec.id
        );
        for name in std::iter::once(spec.mdoc.identifier).chain(spec.sd_jwt.path.iter().copied()) {
            assert!(
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{:?}: {name}",
                spec.id
            );
        }
        // Names the SD-JWT and JWT specs reserve never appear as claim names.
        for reserved in [
            "_sd", "...", "_sd_alg", "iss", "iat", "nbf", "exp", "vct", "cnf", "status", "sub",
        ] {
            assert!(!spec.sd_jwt.path.contains(&reserved), "{:?}", spec.id);
        }
        assert!(!spec.display_ko.is_empty() && !spec.display_en.is_empty());
        assert!(!spec.sources.is_empty());
        assert_eq!(
            catalogue::by_mdoc_element(spec.mdoc.namespace, spec.mdoc.identifier).map(|s| s.id),
            Some(spec.id)
        );
        assert_eq!(
            catalogue::by_sd_jwt_path(spec.sd_jwt.path).map(|s| s.id),
            Some(spec.id)
        );
    }
}

#[test]
fn unique_identifiers_are_never_disclosed_by_default() {
    for spec in CATALOGUE {
        if spec.sensitivity == Sensitivity::UniqueIdentifier {
            assert!(!spec.disclosed_by_default, "{:?}", spec.id);
        }
    }
    assert_eq!(
        catalogue::spec(ClaimId::RegistrationNumber).sensitivity,
        Sensitivity::UniqueIdentifier
    );
    assert_eq!(
        catalogue::spec(ClaimId::PassportNumber).sensitivity,
        Sensitivity::UniqueIdentifier
    );
}

#[test]
fn derived_values_follow_the_rules() {
    let minor = Card::from(samples::resident_minor());
    fn value(card: &Card, on: time::Date, id: ClaimId) -> Option<ClaimValue<'_>> {
        card.claims(on)
            .into_iter()
            .find(|c| c.id == id)
            .map(|c| c.value)
    }
    // Between 1 January and the birthday of the year she turns 19.
    let on = date!(2027 - 02 - 01);
    assert_eq!(
        value(&minor, on, ClaimId::YouthActAdult),
        Some(ClaimValue::Bool(true))
    );
    assert_eq!(
        value(&minor, on, ClaimId::AgeOver19),
        Some(ClaimValue::Bool(false))
    );
    assert_eq!(
        value(&minor, on, ClaimId::AgeOver18),
        Some(ClaimValue::Bool(true))
    );
    assert_eq!(
        value(&minor, on, ClaimId::AgeInYears),
        Some(ClaimValue::Uint(18))
    );
    assert_eq!(
        value(&minor, on, ClaimId::AgeBirthYear),
        Some(ClaimValue::Uint(2008))
    );
    assert_eq!(value(&minor, on, ClaimId::Sex), Some(ClaimValue::Uint(2)));
    assert_eq!(
        value(&minor, on, ClaimId::BirthDate),
        Some(ClaimValue::Date(date!(2008 - 02 - 29)))
    );
    let resident = Card::from(samples::resident());
    assert_eq!(
        value(&resident, on, ClaimId::AddressFormatted),
        Some(ClaimValue::Text(
            "서울특별시 종로구 세종대로 175, 101동 1203호".into()
        ))
    );
    assert_eq!(
        value(&resident, on, ClaimId::Nationality),
        Some(ClaimValue::Text("KR".into()))
    );
    let foreigner = Card::from(samples::foreigner());
    assert_eq!(
        value(&foreigner, on, ClaimId::Nationality),
        Some(ClaimValue::Text("VN".into()))
    );
    assert_eq!(
        value(&foreigner, on, ClaimId::CardSubtype),
        Some(ClaimValue::Text("residence_card".into()))
    );
    let overseas = Card::from(samples::overseas_national());
    assert_eq!(
        value(&overseas, on, ClaimId::ResidentCountry),
        Some(ClaimValue::Text("US".into()))
    );
    assert_eq!(
        value(&overseas, on, ClaimId::RegistrationNumber),
        Some(ClaimValue::Text("881102-2123451".into()))
    );
}

#[test]
fn card_types_have_distinct_identifiers() {
    let doc_types: BTreeSet<_> = CardType::ALL.iter().map(|t| t.doc_type()).collect();
    assert_eq!(doc_types.len(), 3);
    for t in CardType::ALL {
        assert_eq!(CardType::from_doc_type(t.doc_type()), Some(t));
        assert_eq!(t.vct(), t.doc_type());
    }
    assert_eq!(CardType::from_doc_type("org.iso.18013.5.1.mDL"), None);
}
