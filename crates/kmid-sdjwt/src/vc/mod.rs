//! SD-JWT VC (draft-ietf-oauth-sd-jwt-vc) of the Korean cards: issuance from the claim
//! catalogue, the holder's presentation, and verification.

mod holder;
mod issuer;
pub mod metadata;
mod verifier;

pub use holder::{HeldSdJwtVc, present_paths};
pub use issuer::{SdJwtVcIssuer, VcOptions};
pub use verifier::{IssuerKeys, SdJwtVcVerifier, VerifiedSdJwtVc};

use kmid_schema::Card;
use kmid_schema::catalogue::{self, ClaimValue, JsonType};
use serde_json::{Map, Value};
use time::Date;

use crate::conceal::{DisclosurePolicy, PathSegment};
use crate::error::SdJwtError;

/// The `typ` of an SD-JWT VC.
pub const SD_JWT_VC_TYP: &str = "dc+sd-jwt";

/// Claims that must never be selectively disclosable, with all their sub-claims
/// (SD-JWT VC §2.2.2.3).
pub const NEVER_DISCLOSABLE: &[&str] = &[
    "iss",
    "nbf",
    "exp",
    "cnf",
    "vct",
    "vct#integrity",
    "aka_vcts",
    "status",
];

/// The JSON value of a catalogue item by its JSON type.
pub(crate) fn json_value(value: &ClaimValue<'_>, json: JsonType) -> Result<Value, SdJwtError> {
    Ok(match (value, json) {
        (ClaimValue::Text(t), JsonType::String) => Value::String(t.to_string()),
        (ClaimValue::Text(t), JsonType::StringArray) => {
            Value::Array(vec![Value::String(t.to_string())])
        }
        (ClaimValue::Date(d), JsonType::FullDate) => {
            Value::String(kmid_schema::date::format_full_date(*d))
        }
        (ClaimValue::Bool(b), JsonType::Boolean) => Value::Bool(*b),
        (ClaimValue::Uint(n), JsonType::Integer) => Value::from(*n),
        (ClaimValue::Jpeg(bytes), JsonType::DataUrl) => Value::String(
            kmid_schema::Portrait::from_jpeg(bytes.to_vec())
                .map_err(|_| SdJwtError::InvalidInput("portrait"))?
                .data_url(),
        ),
        _ => {
            return Err(SdJwtError::InvalidInput(
                "a catalogue value does not fit its JSON type",
            ));
        }
    })
}

/// The card's claims as the SD-JWT VC payload carries them (before concealment), age items
/// computed on `as_of`.
///
/// # Errors
/// Only a catalogue inconsistency, which the catalogue tests rule out.
pub fn card_claims(card: &Card, as_of: Date) -> Result<Map<String, Value>, SdJwtError> {
    let mut root = Map::new();
    for claim in card.claims(as_of) {
        let spec = catalogue::spec(claim.id);
        let value = json_value(&claim.value, spec.sd_jwt.json)?;
        let (last, parents) = spec
            .sd_jwt
            .path
            .split_last()
            .ok_or(SdJwtError::InvalidInput("empty claim path"))?;
        let mut node = &mut root;
        for parent in parents {
            let entry = node
                .entry((*parent).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            node = match entry {
                Value::Object(m) => m,
                _ => {
                    return Err(SdJwtError::InvalidInput(
                        "a claim path runs through a non-object",
                    ));
                }
            };
        }
        node.insert((*last).to_owned(), value);
    }
    Ok(root)
}

/// The profile's disclosure policy: every catalogue claim and every object holding catalogue
/// claims (`address`, `age_equal_or_over`) is selectively disclosable, recursively; nothing else.
#[derive(Debug, Clone, Copy, Default)]
pub struct CataloguePolicy {
    /// Decoy digests added to each object with disclosable members.
    pub decoys: usize,
}

impl DisclosurePolicy for CataloguePolicy {
    fn is_disclosable(&self, path: &[PathSegment]) -> bool {
        let keys: Option<Vec<&str>> = path
            .iter()
            .map(|s| match s {
                PathSegment::Key(k) => Some(k.as_str()),
                PathSegment::Index(_) => None,
            })
            .collect();
        let Some(keys) = keys else { return false };
        if keys.first().is_some_and(|k| NEVER_DISCLOSABLE.contains(k)) {
            return false;
        }
        catalogue::CATALOGUE.iter().any(|s| {
            s.sd_jwt.path.len() >= keys.len()
                && s.sd_jwt.path.iter().zip(&keys).all(|(a, b)| a == b)
        })
    }

    fn decoys(&self, _path: &[PathSegment]) -> usize {
        self.decoys
    }
}
