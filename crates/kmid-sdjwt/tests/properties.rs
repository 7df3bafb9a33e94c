//! Property: for random claim sets, random choices of what is selectively disclosable and
//! random choices of what the holder discloses, the verifier returns exactly the issued claims
//! with the undisclosed selectively-disclosable ones removed — nothing more, nothing less.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kmid_crypto::{HashAlgorithm, Signer};
use kmid_sdjwt::{
    DisclosurePolicy, PathSegment, SdJwt, SdJwtCheck, SdJwtLimits, conceal, verify_sd_jwt,
};
use kmid_testkit::{SeededRandom, test_key};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        "\\PC{0,12}".prop_map(Value::String),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
        Just(Value::Null),
    ]
}

fn claims() -> impl Strategy<Value = Map<String, Value>> {
    let leaf = prop_oneof![
        3 => scalar(),
        1 => proptest::collection::vec(scalar(), 0..3).prop_map(Value::Array),
    ];
    let value = leaf.prop_recursive(2, 16, 4, |inner| {
        proptest::collection::btree_map("[a-z]{1,5}", inner, 1..4)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
    });
    proptest::collection::btree_map("[a-z]{1,6}", value, 1..7).prop_map(|m| m.into_iter().collect())
}

/// Object properties are disclosable when a seeded hash of their path says so.
struct SeededPolicy(u64);

fn key_path(path: &[PathSegment]) -> Option<String> {
    path.iter()
        .map(|s| match s {
            PathSegment::Key(k) => Some(k.clone()),
            PathSegment::Index(_) => None,
        })
        .collect::<Option<Vec<_>>>()
        .map(|v| v.join("\u{1}"))
}

fn bit(seed: u64, text: &str) -> bool {
    let d = HashAlgorithm::Sha256
        .digest(format!("{seed}:{text}").as_bytes())
        .unwrap();
    d[0] & 1 == 1
}

impl DisclosurePolicy for SeededPolicy {
    fn is_disclosable(&self, path: &[PathSegment]) -> bool {
        key_path(path).is_some_and(|p| bit(self.0, &p))
    }
    fn decoys(&self, _: &[PathSegment]) -> usize {
        usize::try_from(self.0 % 3).unwrap()
    }
}

/// The claims with every disclosable property that is not in `shown` removed.
fn restrict(
    value: &Value,
    path: &mut Vec<String>,
    policy: &SeededPolicy,
    shown: &BTreeSet<String>,
) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                path.push(k.clone());
                let p = path.join("\u{1}");
                if !bit(policy.0, &p) || shown.contains(&p) {
                    out.insert(k.clone(), restrict(v, path, policy, shown));
                }
                path.pop();
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn the_verifier_sees_exactly_the_disclosed_claims(claims in claims(), policy_seed in any::<u64>(), choice_seed in any::<u64>()) {
        let policy = SeededPolicy(policy_seed);
        let random = SeededRandom::new(&policy_seed.to_be_bytes());
        let concealed = conceal(kmid_crypto::CryptoProvider::get_default(), &claims, &policy, HashAlgorithm::Sha256, &random).unwrap();
        let issuer = test_key("mois-ds");
        let header = json!({ "alg": "ES256", "typ": "example+sd-jwt" });
        let input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(Value::Object(concealed.payload).to_string()));
        let jwt = format!("{input}.{}", URL_SAFE_NO_PAD.encode(issuer.sign(input.as_bytes()).unwrap()));
        let issued = SdJwt { issuer_jwt: jwt, disclosures: concealed.disclosures.iter().map(|d| d.encoded().to_owned()).collect(), kb_jwt: None };
        let check = SdJwtCheck::default();
        let at = time::OffsetDateTime::UNIX_EPOCH;

        // With every Disclosure, the verifier sees the claims exactly as issued.
        let full = verify_sd_jwt(&issued, issuer.public_key(), &check, at).unwrap();
        prop_assert_eq!(&full.claims, &claims);

        // The holder picks a random subset and adds the Disclosures that contain its picks.
        let paths: Vec<String> = full.paths.iter().map(|p| key_path(p).unwrap()).collect();
        let mut chosen: BTreeSet<usize> = (0..paths.len()).filter(|i| bit(choice_seed, &i.to_string())).collect();
        for i in chosen.clone() {
            for (j, p) in paths.iter().enumerate() {
                if paths[i].starts_with(&format!("{p}\u{1}")) {
                    chosen.insert(j);
                }
            }
        }
        let presented = SdJwt { disclosures: chosen.iter().map(|&i| issued.disclosures[i].clone()).collect(), ..issued.clone() };
        let result = verify_sd_jwt(&SdJwt::parse(&presented.to_compact(), &SdJwtLimits::default()).unwrap(), issuer.public_key(), &check, at).unwrap();
        let shown: BTreeSet<String> = chosen.iter().map(|&i| paths[i].clone()).collect();
        let expected = restrict(&Value::Object(claims.clone()), &mut Vec::new(), &policy, &shown);
        prop_assert_eq!(Value::Object(result.claims), expected);
    }

    #[test]
    fn parsing_never_panics(text in "[A-Za-z0-9_.~{}\\[\\]\":, -]{0,300}") {
        let _ = SdJwt::parse(&text, &SdJwtLimits::default()).map(|s| verify_sd_jwt(&s, test_key("mois-ds").public_key(), &SdJwtCheck::default(), time::OffsetDateTime::UNIX_EPOCH));
    }
}
