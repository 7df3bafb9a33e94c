//! Cross-checks with sd-jwt-rs 0.7.1 (draft 7) on the subset both implement: it issues and
//! presents, kmid verifies; kmid issues and presents, it verifies. Its limits (no `typ` on
//! issue, panics on a missing `iss` and on text outside the BMP) keep the inputs to that subset;
//! see spec/sd-jwt-vc.md for the divergences.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use jsonwebtoken::{DecodingKey, EncodingKey};
use kmid_crypto::{Curve, PrivateKey, Signer};
use kmid_schema::Card;
use kmid_sdjwt::kb::KeyBindingPolicy;
use kmid_sdjwt::vc::{HeldSdJwtVc, IssuerKeys, SdJwtVcIssuer, SdJwtVcVerifier, VcOptions};
use kmid_sdjwt::{SdJwt, SdJwtCheck, SdJwtLimits, verify_sd_jwt};
use kmid_testkit::samples;
use kmid_testkit::{Authority, SeededRandom, TestPki, test_key};
use sd_jwt_rs::issuer::ClaimsForSelectiveDisclosureStrategy;
use sd_jwt_rs::{SDJWTHolder, SDJWTIssuer, SDJWTSerializationFormat, SDJWTVerifier};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

fn encoding_key(key: &PrivateKey) -> EncodingKey {
    EncodingKey::from_ec_pem(key.to_pkcs8_pem().unwrap().as_bytes()).unwrap()
}

fn decoding_key(key: &kmid_crypto::PublicKey) -> DecodingKey {
    DecodingKey::from_ec_pem(key.to_spki_pem().unwrap().as_bytes()).unwrap()
}

fn user_claims(now: i64) -> Value {
    json!({
        "iss": "https://www.mois.go.kr",
        "iat": now - 60,
        "exp": now + 86_400,
        "family_name": "김",
        "given_name": "민준",
        "birthdate": "1990-03-15",
        "address": { "region": "서울특별시", "locality": "종로구" },
        "age_equal_or_over": { "19": true },
        "nationalities": ["KR"]
    })
}

#[test]
fn sd_jwt_rs_issues_and_presents_kmid_verifies() {
    let now = OffsetDateTime::now_utc();
    let issuer = test_key("mois-ds");
    let holder = PrivateKey::generate(Curve::P256).unwrap();
    let holder_jwk: jsonwebtoken::jwk::Jwk =
        serde_json::from_value(serde_json::to_value(holder.public_key().to_jwk()).unwrap())
            .unwrap();
    let claims = user_claims(now.unix_timestamp());
    let issued = SDJWTIssuer::new(encoding_key(&issuer), Some("ES256".into()))
        .issue_sd_jwt(
            claims.clone(),
            ClaimsForSelectiveDisclosureStrategy::AllLevels,
            Some(holder_jwk),
            true,
            SDJWTSerializationFormat::Compact,
        )
        .unwrap();

    // Everything it issued verifies here and yields its claims, plus the cnf it added.
    let parsed = SdJwt::parse(&issued, &SdJwtLimits::default()).unwrap();
    let all = verify_sd_jwt(&parsed, issuer.public_key(), &SdJwtCheck::default(), now).unwrap();
    let mut expected = claims.as_object().unwrap().clone();
    expected.insert("cnf".into(), json!({ "jwk": holder.public_key().to_jwk() }));
    assert_eq!(
        Value::Object(all.claims.clone()).get("family_name"),
        Some(&json!("김"))
    );
    for (k, v) in claims.as_object().unwrap() {
        assert_eq!(all.claims.get(k), Some(v), "{k}");
    }

    // Its holder's presentation with Key Binding verifies here.
    let subset = json!({ "iss": claims["iss"], "iat": claims["iat"], "exp": claims["exp"], "given_name": "민준", "address": { "locality": "종로구" } });
    let presentation = SDJWTHolder::new(issued, SDJWTSerializationFormat::Compact)
        .unwrap()
        .create_presentation(
            subset.as_object().unwrap().clone(),
            Some("nonce-1".into()),
            Some("https://bank.example".into()),
            Some(encoding_key(&holder)),
            Some("ES256".into()),
        )
        .unwrap();
    let check = SdJwtCheck {
        key_binding: Some(KeyBindingPolicy {
            nonce: "nonce-1".into(),
            audience: "https://bank.example".into(),
            max_age: Duration::minutes(5),
        }),
        clock_skew: Duration::seconds(5),
        ..SdJwtCheck::default()
    };
    let presented = verify_sd_jwt(
        &SdJwt::parse(&presentation, &SdJwtLimits::default()).unwrap(),
        issuer.public_key(),
        &check,
        now,
    )
    .unwrap();
    assert!(presented.key_bound);
    assert_eq!(presented.claims.get("given_name"), Some(&json!("민준")));
    assert_eq!(
        presented.claims.get("address"),
        Some(&json!({ "locality": "종로구" }))
    );
    assert!(presented.claims.get("family_name").is_none());
    assert!(presented.claims.get("birthdate").is_none());
}

#[test]
fn kmid_issues_and_presents_sd_jwt_rs_verifies() {
    let now = OffsetDateTime::now_utc();
    let pki = TestPki::new();
    let signer: Arc<dyn Signer> = Arc::new(kmid_testkit::Rfc6979Signer::for_test_key("mois-ds"));
    let issuer_public = signer.public_key().clone();
    // sd-jwt-rs panics without iss and on astral characters: iss set, the BMP-only sample.
    let issuer = SdJwtVcIssuer::with_x5c(
        signer,
        vec![pki.issuer(Authority::Mois).ds.clone()],
        Arc::new(SeededRandom::new(b"cross")),
    )
    .unwrap()
    .with_iss("https://www.mois.go.kr".into());
    let holder = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let holder_signer: Arc<dyn Signer> = holder.clone();
    let issued = issuer
        .issue(
            &Card::from(samples::resident()),
            holder.public_key(),
            &VcOptions::new(now - Duration::minutes(1), now + Duration::days(30)),
        )
        .unwrap()
        .to_compact();

    // Ours, verified by kmid with a configured key (the test DS certificate has expired by now).
    let keys = || {
        IssuerKeys::KeySet(vec![(
            "https://www.mois.go.kr".into(),
            None,
            issuer_public.clone(),
        )])
    };
    let ours = SdJwtVcVerifier::new(keys()).verify(&issued, now).unwrap();

    // sd-jwt-rs verifies the issued SD-JWT and processes it to the same claims.
    let key = decoding_key(&issuer_public);
    let theirs = SDJWTVerifier::new(
        issued.clone(),
        Box::new(move |_, _| key.clone()),
        None,
        None,
        SDJWTSerializationFormat::Compact,
    )
    .unwrap()
    .verified_claims;
    assert_eq!(theirs, Value::Object(ours.claims.clone()));

    // Our holder's presentation with Key Binding, verified by sd-jwt-rs with nonce and aud.
    let held = HeldSdJwtVc::receive(&issued, &SdJwtVcVerifier::new(keys()), now).unwrap();
    let presentation = held
        .present(
            &[
                &["family_name"],
                &["address", "locality"],
                &["age_equal_or_over", "19"],
            ],
            Some((&holder_signer, "nonce-2", "https://bank.example", now)),
        )
        .unwrap()
        .to_compact();
    let key = decoding_key(&issuer_public);
    let theirs = SDJWTVerifier::new(
        presentation.clone(),
        Box::new(move |_, _| key.clone()),
        Some("https://bank.example".into()),
        Some("nonce-2".into()),
        SDJWTSerializationFormat::Compact,
    )
    .unwrap()
    .verified_claims;
    let ours = SdJwtVcVerifier::new(keys())
        .require_key_binding(KeyBindingPolicy {
            nonce: "nonce-2".into(),
            audience: "https://bank.example".into(),
            max_age: Duration::minutes(5),
        })
        .verify(&presentation, now)
        .unwrap();
    assert_eq!(theirs, Value::Object(ours.claims.clone()));
    assert_eq!(theirs["address"], json!({ "locality": "종로구" }));
    assert_eq!(theirs["age_equal_or_over"], json!({ "19": true }));
    assert!(theirs.get("registration_number").is_none());
}
