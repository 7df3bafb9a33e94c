//! The examples of RFC 9901 (draft-22 text) and of the SD-JWT VC draft verify, their
//! Disclosure digests reproduce exactly, and the processed payloads equal the printed ones.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kmid_crypto::{HashAlgorithm, Jwk, PublicKey};
use kmid_sdjwt::kb::KeyBindingPolicy;
use kmid_sdjwt::vc::{IssuerKeys, SdJwtVcVerifier};
use kmid_sdjwt::{Disclosure, SdJwt, SdJwtCheck, SdJwtLimits, verify_sd_jwt};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

fn load(folder: &str, file: &str) -> String {
    let path = format!(
        "{}/../../test-vectors/{folder}/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json(folder: &str, file: &str) -> Value {
    serde_json::from_str(&load(folder, file)).unwrap()
}

fn key(keys: &Value, id: &str) -> PublicKey {
    let k = keys["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id)
        .unwrap();
    serde_json::from_value::<Jwk>(k["jwk"].clone())
        .unwrap()
        .to_public_key()
        .unwrap()
}

fn kb_policy(case: &Value) -> Option<(KeyBindingPolicy, OffsetDateTime)> {
    let kb = case["kb"].as_object()?;
    let iat = OffsetDateTime::from_unix_timestamp(kb["iat"].as_i64().unwrap()).unwrap();
    Some((
        KeyBindingPolicy {
            nonce: kb["nonce"].as_str().unwrap().into(),
            audience: kb["aud"].as_str().unwrap().into(),
            max_age: Duration::minutes(5),
        },
        iat,
    ))
}

fn check_digests(case: &Value) -> usize {
    let mut checked = 0;
    for d in case["disclosures"].as_array().unwrap() {
        let parsed = Disclosure::parse(d["encoded"].as_str().unwrap(), 0).unwrap();
        if let Some(expected) = d["digest"].as_str() {
            assert_eq!(
                parsed
                    .digest(
                        kmid_crypto::CryptoProvider::get_default(),
                        HashAlgorithm::Sha256
                    )
                    .unwrap(),
                expected,
                "{}",
                case["id"]
            );
            checked += 1;
        }
        if let Some(decoded) = d["decoded"].as_array() {
            let (salt, rest) = decoded.split_first().unwrap();
            assert_eq!(parsed.salt(), salt.as_str().unwrap());
            match rest {
                [name, value] => {
                    assert_eq!(parsed.name(), name.as_str());
                    assert_eq!(parsed.value(), value);
                }
                [value] => assert_eq!(parsed.value(), value),
                _ => panic!("bad decoded disclosure"),
            }
        }
    }
    checked
}

#[test]
fn rfc9901_examples_verify_and_reproduce() {
    let manifest = json("sd-jwt-rfc9901", "manifest.json");
    let keys = json("sd-jwt-rfc9901", "keys.json");
    let issuer = key(&keys, "rfc9901-A.5-issuer");
    let (mut verified, mut with_kb, mut digests, mut payloads) = (0, 0, 0, 0);
    for case in manifest.as_array().unwrap() {
        let text = load("sd-jwt-rfc9901", case["file"].as_str().unwrap());
        let sd_jwt = SdJwt::parse(text.trim_end(), &SdJwtLimits::default()).unwrap();
        if case["serialization"] == "compact" {
            assert_eq!(
                sd_jwt.to_compact(),
                text.trim_end(),
                "compact round trip {}",
                case["id"]
            );
        }
        // Every serialization converts losslessly to the others.
        for again in [
            sd_jwt.to_compact(),
            sd_jwt.to_flattened_json(),
            sd_jwt.to_general_json(),
        ] {
            assert_eq!(
                SdJwt::parse(&again, &SdJwtLimits::default()).unwrap(),
                sd_jwt
            );
        }
        let mut check = SdJwtCheck {
            expected_typ: case["typ"].as_str().map(str::to_owned),
            ..SdJwtCheck::default()
        };
        let mut at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        if let Some((policy, iat)) = kb_policy(case) {
            check.key_binding = Some(policy);
            at = iat;
            with_kb += 1;
        }
        let result = verify_sd_jwt(&sd_jwt, &issuer, &check, at)
            .unwrap_or_else(|e| panic!("{}: {e}", case["id"]));
        assert_eq!(result.key_bound, case["kb"].is_object());
        verified += 1;
        digests += check_digests(case);
        if let Some(expected) = case["expected_processed_payload"].as_object() {
            assert_eq!(&result.claims, expected, "{}", case["id"]);
            payloads += 1;
        }
    }
    assert_eq!((verified, with_kb), (11, 5));
    assert_eq!(digests, 70, "printed digests checked");
    assert_eq!(payloads, 5);
}

#[test]
fn sd_jwt_vc_draft_examples_verify_and_match() {
    let manifest = json("sd-jwt-vc-draft", "manifest.json");
    let keys = json("sd-jwt-vc-draft", "keys.json");
    let mut matched = 0;
    for case in manifest.as_array().unwrap() {
        let text = load("sd-jwt-vc-draft", case["file"].as_str().unwrap());
        let sd_jwt = SdJwt::parse(text.trim_end(), &SdJwtLimits::default()).unwrap();
        // The issuer's `iss` and `vct` come from the issuer-signed JWT itself.
        let payload: Value = {
            let body = sd_jwt.issuer_jwt.split('.').nth(1).unwrap();
            use base64::Engine as _;
            serde_json::from_slice(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(body)
                    .unwrap(),
            )
            .unwrap()
        };
        let iss = payload["iss"].as_str().unwrap().to_owned();
        let vct = payload["vct"].as_str().unwrap().to_owned();
        let issuer = key(&keys, case["issuer_key"].as_str().unwrap());
        let mut verifier =
            SdJwtVcVerifier::new(IssuerKeys::KeySet(vec![(iss, None, issuer)])).with_vcts(&[&vct]);
        let mut at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        if let Some((policy, iat)) = kb_policy(case) {
            verifier = verifier.require_key_binding(policy);
            at = iat;
        }
        let result = verifier
            .verify(text.trim_end(), at)
            .unwrap_or_else(|e| panic!("{}: {e}", case["id"]));
        check_digests(case);
        if let Some(expected) = case["expected_processed_payload"].as_object() {
            assert_eq!(&result.claims, expected, "{}", case["id"]);
            matched += 1;
        }
    }
    assert_eq!(matched, 3);
}
