//! The documents in `spec/` say what the catalogue says: every item of every card appears in
//! its card's Type Metadata with the catalogue's labels, in its JSON Schema, in its Markdown
//! table, and every Korean element in the CDDL.

// Test code: helpers outside #[test] functions may unwrap and index freely.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kmid_schema::CardType;
use kmid_schema::catalogue::{self, KOREAN_NAMESPACE};
use serde_json::Value;

fn type_metadata(card: CardType) -> Value {
    let text = match card {
        CardType::Resident => include_str!("../../../spec/type-metadata/kr.go.mois.rrc.1.json"),
        CardType::Foreigner => include_str!("../../../spec/type-metadata/kr.go.moj.rc.1.json"),
        CardType::OverseasNational => {
            include_str!("../../../spec/type-metadata/kr.go.oka.onid.1.json")
        }
    };
    serde_json::from_str(text).unwrap()
}

fn json_schema(card: CardType) -> Value {
    let text = match card {
        CardType::Resident => {
            include_str!("../../../spec/json-schema/kr.go.mois.rrc.1.schema.json")
        }
        CardType::Foreigner => include_str!("../../../spec/json-schema/kr.go.moj.rc.1.schema.json"),
        CardType::OverseasNational => {
            include_str!("../../../spec/json-schema/kr.go.oka.onid.1.schema.json")
        }
    };
    serde_json::from_str(text).unwrap()
}

fn card_document(card: CardType) -> &'static str {
    match card {
        CardType::Resident => include_str!("../../../spec/resident-card.md"),
        CardType::Foreigner => include_str!("../../../spec/foreigner-card.md"),
        CardType::OverseasNational => include_str!("../../../spec/overseas-national-card.md"),
    }
}

fn label(entry: &Value, locale: &str) -> String {
    entry["display"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["locale"] == locale)
        .and_then(|d| d["label"].as_str())
        .unwrap_or_else(|| panic!("no {locale} label in {entry}"))
        .to_owned()
}

#[test]
fn type_metadata_lists_every_item_with_the_catalogue_labels() {
    for card in CardType::ALL {
        let tm = type_metadata(card);
        assert_eq!(tm["vct"], card.vct());
        let locales: Vec<&str> = tm["display"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["locale"].as_str().unwrap())
            .collect();
        assert_eq!(locales, ["ko-KR", "en-US"]);
        assert_eq!(tm["display"][0]["name"], card.name_ko());
        assert_eq!(tm["display"][1]["name"], card.name_en());
        let claims = tm["claims"].as_array().unwrap();
        let path_of = |e: &Value| -> Vec<String> {
            e["path"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap().to_owned())
                .collect()
        };
        for spec in catalogue::for_card(card) {
            let entry = claims
                .iter()
                .find(|e| path_of(e) == spec.sd_jwt.path)
                .unwrap_or_else(|| {
                    panic!(
                        "{card:?}: no Type Metadata entry for {:?}",
                        spec.sd_jwt.path
                    )
                });
            assert_eq!(label(entry, "ko-KR"), spec.display_ko, "{:?}", spec.id);
            assert_eq!(label(entry, "en-US"), spec.display_en, "{:?}", spec.id);
            assert_eq!(entry["sd"], "always", "{:?}", spec.id);
            assert_eq!(
                entry
                    .get("mandatory")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                !spec.optional,
                "{:?}",
                spec.id
            );
        }
        // Every entry is an item of this card or the parent object of items of this card.
        for entry in claims {
            let path = path_of(entry);
            let known = catalogue::for_card(card).any(|s| {
                s.sd_jwt.path.len() >= path.len()
                    && s.sd_jwt.path.iter().zip(&path).all(|(a, b)| a == b)
            });
            assert!(
                known,
                "{card:?}: Type Metadata names {path:?}, which the card does not have"
            );
        }
    }
}

#[test]
fn json_schemas_declare_every_claim() {
    for card in CardType::ALL {
        let schema = json_schema(card);
        assert_eq!(schema["properties"]["vct"]["const"], card.vct(), "{card:?}");
        for spec in catalogue::for_card(card) {
            let mut node = &schema["properties"];
            for (depth, part) in spec.sd_jwt.path.iter().enumerate() {
                let property = &node[*part];
                assert!(
                    !property.is_null(),
                    "{card:?}: schema lacks {:?}",
                    spec.sd_jwt.path
                );
                if depth + 1 < spec.sd_jwt.path.len() {
                    node = &property["properties"];
                }
            }
        }
        for claim in ["iss", "iat", "vct", "cnf"] {
            assert!(
                schema["required"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| r == claim),
                "{card:?}: {claim} required"
            );
        }
    }
}

#[test]
fn card_documents_and_cddl_name_every_element() {
    let cddl = include_str!("../../../spec/cddl/kr.go.mobileid.1.cddl");
    for card in CardType::ALL {
        let doc = card_document(card);
        assert!(doc.contains(card.doc_type()), "{card:?}");
        for spec in catalogue::for_card(card) {
            assert!(
                doc.contains(&format!("`{}`", spec.mdoc.identifier)),
                "{card:?}: {}",
                spec.mdoc.identifier
            );
            assert!(
                doc.contains(&format!("`{}`", spec.sd_jwt.path.join("."))),
                "{card:?}: {:?}",
                spec.sd_jwt.path
            );
            assert!(
                doc.contains(spec.display_ko),
                "{card:?}: {}",
                spec.display_ko
            );
            if spec.mdoc.namespace == KOREAN_NAMESPACE {
                assert!(
                    cddl.contains(spec.mdoc.identifier),
                    "CDDL lacks {}",
                    spec.mdoc.identifier
                );
            }
        }
    }
}
