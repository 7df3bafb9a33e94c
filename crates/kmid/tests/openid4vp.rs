//! OpenID4VP with DCQL: the wallet answers exactly what a query selects (claim sets,
//! credential sets, values), bound to the request; the verifier accepts only a VP Token that
//! answers its query; malformed queries are refused before anything reads them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use kmid::crypto::{Curve, PrivateKey, SystemRandom};
use kmid::schema::catalogue::ClaimId;
use kmid::schema::{Card, CardType};
use kmid::status::registry::{MemoryStore, RegistryConfig, StatusRegistry};
use kmid::{
    AuthorityKeys, CardKeySecret, DcqlQuery, Format, Formats, Issuer, IssuingAuthority, KmidError,
    OpenId4VpRequest, Template, Verifier, Wallet,
};
use kmid_testkit::samples;
use serde_json::json;

mod common;
use common::{AllValid, now};

/// A MOIS issuer, a wallet holding a resident card in both formats, and a verifier.
fn setup() -> (Wallet, Verifier) {
    let random = Arc::new(SystemRandom);
    let keys = AuthorityKeys::generate(IssuingAuthority::Mois, now(), &*random).unwrap();
    let registry = StatusRegistry::new(
        MemoryStore::new(),
        RegistryConfig::new("https://status.example/lists"),
        random.clone(),
    );
    let trust = kmid::trust_store([&keys]).unwrap();
    let issuer = Issuer::new(
        keys,
        registry,
        CardKeySecret::generate(&*random).unwrap(),
        random,
    );
    let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), trust.clone());
    let card = Card::from(samples::resident());
    let issued = issuer
        .issue(&card, wallet.device_key(), Formats::Both, now())
        .unwrap();
    wallet
        .store_mdoc(issued.mdoc.unwrap().issuer_signed, now())
        .unwrap();
    wallet
        .store_sd_jwt(&issued.sd_jwt.unwrap().sd_jwt.to_compact(), now())
        .unwrap();
    (wallet, Verifier::new(trust, Arc::new(AllValid)))
}

fn request() -> OpenId4VpRequest {
    OpenId4VpRequest {
        client_id: "x509_san_dns:bank.example".into(),
        nonce: "n-0S6_WzA2Mj".into(),
        response_uri: "https://bank.example/openid4vp/response".into(),
        origin: None,
        jwk_thumbprint: None,
    }
}

fn query(value: serde_json::Value) -> DcqlQuery {
    DcqlQuery::from_json(value.to_string().as_bytes()).unwrap()
}

#[test]
fn each_template_round_trips_over_openid4vp_in_both_formats() {
    let (wallet, verifier) = setup();
    for format in [Format::Mdoc, Format::SdJwtVc] {
        for template in [
            Template::AgeCheck,
            Template::Identity,
            Template::FullIdentity {
                legal_basis: "Act on Real Name Financial Transactions, Art. 3".into(),
            },
        ] {
            let query = template.dcql_query(CardType::Resident, format);
            // The query survives its own JSON form.
            let json = serde_json::to_vec(&query).unwrap();
            assert_eq!(DcqlQuery::from_json(&json).unwrap(), query);
            if matches!(template, Template::FullIdentity { .. }) {
                // Request parameters are not an authenticated verifier: the registration
                // number is withheld (tests/registration.rs has the signed, registered case).
                assert_eq!(
                    wallet
                        .answer_dcql(&query, &request(), now())
                        .unwrap_err()
                        .code(),
                    "Withheld"
                );
                continue;
            }
            let token = wallet.answer_dcql(&query, &request(), now()).unwrap();
            let seen = verifier
                .verify_vp_token(&query, &request(), &token, now())
                .unwrap();
            assert_eq!(seen.len(), 1);
            let (id, seen) = &seen[0];
            assert_eq!(id, "card");
            assert_eq!(seen.format, format);
            let mut got: Vec<ClaimId> = seen.claims.iter().map(|(c, _)| *c).collect();
            let mut want = template.claims().to_vec();
            got.sort_by_key(|c| format!("{c:?}"));
            want.sort_by_key(|c| format!("{c:?}"));
            assert_eq!(got, want, "{format:?} {}", template.name());
            assert_eq!(seen.claim(ClaimId::RegistrationNumber), None);
        }
    }
}

#[test]
fn a_vp_token_is_bound_to_its_request() {
    let (wallet, verifier) = setup();
    for format in [Format::Mdoc, Format::SdJwtVc] {
        let query = Template::AgeCheck.dcql_query(CardType::Resident, format);
        let token = wallet.answer_dcql(&query, &request(), now()).unwrap();
        // Another nonce, another client_id, another response_uri: each breaks the binding
        // (the KB-JWT for SD-JWT VC; the OpenID4VPHandover transcript for mdoc).
        let mut nonce = request();
        nonce.nonce = "another-nonce".into();
        let mut client = request();
        client.client_id = "x509_san_dns:evil.example".into();
        let mut response_uri = request();
        response_uri.response_uri = "https://evil.example/vp".into();
        let cases = match format {
            Format::SdJwtVc => vec![
                (nonce, "SdJwt.KeyBinding.NonceMismatch"),
                (client, "SdJwt.KeyBinding.AudienceMismatch"),
            ],
            Format::Mdoc => vec![
                (nonce, "Mdoc.DeviceAuth.BadSignature"),
                (client, "Mdoc.DeviceAuth.BadSignature"),
                (response_uri, "Mdoc.DeviceAuth.BadSignature"),
            ],
        };
        for (other, code) in cases {
            let err = verifier
                .verify_vp_token(&query, &other, &token, now())
                .unwrap_err();
            assert_eq!(err.code(), code, "{format:?}: {err:?}");
        }
    }
}

#[test]
fn claim_sets_give_the_first_option_the_wallet_can_satisfy() {
    let (wallet, verifier) = setup();
    let q = query(json!({
        "credentials": [{
            "id": "adult",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["kr.go.mois.rrc.1"]},
            "claims": [
                {"id": "over19", "path": ["age_equal_or_over", "19"]},
                {"id": "nickname", "path": ["nickname"]},
                {"id": "birth", "path": ["birthdate"]}
            ],
            "claim_sets": [["nickname"], ["over19"], ["birth"]]
        }]
    }));
    let token = wallet.answer_dcql(&q, &request(), now()).unwrap();
    let seen = verifier
        .verify_vp_token(&q, &request(), &token, now())
        .unwrap();
    let claims: Vec<ClaimId> = seen[0].1.claims.iter().map(|(c, _)| *c).collect();
    assert_eq!(claims, [ClaimId::AgeOver19]);
}

#[test]
fn values_that_do_not_match_are_treated_as_absent() {
    let (wallet, _) = setup();
    let q = query(json!({
        "credentials": [{
            "id": "minor",
            "format": "mso_mdoc",
            "meta": {"doctype_value": "kr.go.mois.rrc.1"},
            "claims": [{"path": ["org.iso.23220.1", "age_over_19"], "values": [false]}]
        }]
    }));
    assert!(matches!(
        wallet.answer_dcql(&q, &request(), now()).unwrap_err(),
        KmidError::NotHeld(_)
    ));
    let q = query(json!({
        "credentials": [{
            "id": "adult",
            "format": "mso_mdoc",
            "meta": {"doctype_value": "kr.go.mois.rrc.1"},
            "claims": [{"path": ["org.iso.23220.1", "age_over_19"], "values": [true]}]
        }]
    }));
    assert!(wallet.answer_dcql(&q, &request(), now()).is_ok());
}

#[test]
fn credential_sets_pick_an_option_the_wallet_holds() {
    let (wallet, verifier) = setup();
    let q = query(json!({
        "credentials": [
            {"id": "foreigner", "format": "dc+sd-jwt", "meta": {"vct_values": ["kr.go.moj.rc.1"]},
             "claims": [{"path": ["age_over_19"]}]},
            {"id": "resident", "format": "mso_mdoc", "meta": {"doctype_value": "kr.go.mois.rrc.1"},
             "claims": [{"path": ["org.iso.23220.1", "age_over_19"]}]}
        ],
        "credential_sets": [{"options": [["foreigner"], ["resident"]]}]
    }));
    let token = wallet.answer_dcql(&q, &request(), now()).unwrap();
    assert_eq!(token.keys().collect::<Vec<_>>(), ["resident"]);
    verifier
        .verify_vp_token(&q, &request(), &token, now())
        .unwrap();
    // Without the sets both are required, and the wallet has no foreigner card: nothing.
    let mut all = q.clone();
    all.credential_sets = None;
    assert!(matches!(
        wallet.answer_dcql(&all, &request(), now()).unwrap_err(),
        KmidError::NotHeld(_)
    ));
    // And the verifier refuses a token missing a required credential.
    assert!(matches!(
        verifier
            .verify_vp_token(&all, &request(), &token, now())
            .unwrap_err(),
        KmidError::VpTokenMismatch(_)
    ));
}

#[test]
fn a_verifier_refuses_a_vp_token_that_does_not_answer_its_query() {
    let (wallet, verifier) = setup();
    let age = Template::AgeCheck.dcql_query(CardType::Resident, Format::SdJwtVc);
    let identity = Template::Identity.dcql_query(CardType::Resident, Format::SdJwtVc);
    // Answered for a wider query than the one asked: the extra claims are refused.
    let wide = wallet.answer_dcql(&identity, &request(), now()).unwrap();
    assert!(matches!(
        verifier
            .verify_vp_token(&age, &request(), &wide, now())
            .unwrap_err(),
        KmidError::NotRequested(_)
    ));
    // Answered for a narrower one: no claim option is satisfied.
    let names_only = query(json!({
        "credentials": [{"id": "card", "format": "dc+sd-jwt",
            "meta": {"vct_values": ["kr.go.mois.rrc.1"]},
            "claims": [{"path": ["family_name"]}, {"path": ["given_name"]}]}]
    }));
    let narrow = wallet.answer_dcql(&names_only, &request(), now()).unwrap();
    assert!(matches!(
        verifier
            .verify_vp_token(&identity, &request(), &narrow, now())
            .unwrap_err(),
        KmidError::VpTokenMismatch(_)
    ));
    // Shapes: an id not asked, an empty array, two presentations for a single query.
    let token = wallet.answer_dcql(&age, &request(), now()).unwrap();
    let p = token["card"][0].clone();
    for bad in [
        json!({"card": [p.clone()], "other": [p.clone()]}),
        json!({"card": []}),
        json!({"card": [p.clone(), p.clone()]}),
        json!({"card": p.clone()}),
        json!({"card": [42]}),
        json!({}),
    ] {
        let bad = bad.as_object().unwrap().clone();
        assert!(
            matches!(
                verifier
                    .verify_vp_token(&age, &request(), &bad, now())
                    .unwrap_err(),
                KmidError::VpTokenMismatch(_)
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn malformed_queries_are_refused_with_the_rule_they_break() {
    let cases = [
        json!({"credentials": []}),
        json!({"credentials": [{"id": "a b", "format": "dc+sd-jwt", "meta": {}}]}),
        json!({"credentials": [
            {"id": "a", "format": "dc+sd-jwt", "meta": {}},
            {"id": "a", "format": "dc+sd-jwt", "meta": {}}
        ]}),
        json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {}, "claims": []}]}),
        json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {},
            "claim_sets": [["x"]]}]}),
        json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {},
            "claims": [{"id": "x", "path": ["given_name"]}], "claim_sets": [["y"]]}]}),
        json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {},
            "claims": [{"path": []}]}]}),
        json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {},
            "claims": [{"path": [-1]}]}]}),
        json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {},
            "claims": [{"path": ["x"], "values": [{"nested": true}]}]}]}),
        json!({"credentials": [{"id": "a", "format": "mso_mdoc", "meta": {}}]}),
        json!({"credentials": [{"id": "a", "format": "mso_mdoc",
            "meta": {"doctype_value": "kr.go.mois.rrc.1"},
            "claims": [{"path": ["org.iso.23220.1", "family_name", "x"]}]}]}),
        json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {}}],
            "credential_sets": [{"options": [["b"]]}]}),
        json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {}}],
            "credential_sets": [{"options": [[]]}]}),
        json!({"credentials": "a"}),
        json!({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {},
            "claims": [{"path": ["given_name"]}]}]}),
    ];
    for case in cases {
        let err = DcqlQuery::from_json(case.to_string().as_bytes()).unwrap_err();
        assert!(matches!(err, KmidError::InvalidDcql(_)), "{case}: {err:?}");
    }
    // Unknown properties are ignored (§6).
    DcqlQuery::from_json(
        br#"{"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {"vct_values": ["v"]}, "future": 1}], "x": 2}"#,
    )
    .unwrap();
    // Size is bounded before parsing.
    let big = vec![b' '; kmid::dcql::MAX_QUERY_BYTES + 1];
    assert!(matches!(
        DcqlQuery::from_json(&big).unwrap_err(),
        KmidError::InvalidDcql(_)
    ));
}

#[test]
fn a_vp_token_must_keep_to_one_claim_option() {
    let (wallet, verifier) = setup();
    // Two options; the wallet answers the first. A token disclosing both options is refused.
    let either = query(json!({
        "credentials": [{
            "id": "card", "format": "dc+sd-jwt", "meta": {"vct_values": ["kr.go.mois.rrc.1"]},
            "claims": [
                {"id": "over19", "path": ["age_equal_or_over", "19"]},
                {"id": "birth", "path": ["birthdate"]}
            ],
            "claim_sets": [["over19"], ["birth"]]
        }]
    }));
    let token = wallet.answer_dcql(&either, &request(), now()).unwrap();
    verifier
        .verify_vp_token(&either, &request(), &token, now())
        .unwrap();
    let both = query(json!({
        "credentials": [{
            "id": "card", "format": "dc+sd-jwt", "meta": {"vct_values": ["kr.go.mois.rrc.1"]},
            "claims": [{"path": ["age_equal_or_over", "19"]}, {"path": ["birthdate"]}]
        }]
    }));
    let too_much = wallet.answer_dcql(&both, &request(), now()).unwrap();
    assert!(matches!(
        verifier
            .verify_vp_token(&either, &request(), &too_much, now())
            .unwrap_err(),
        KmidError::VpTokenMismatch(_)
    ));
}

#[test]
fn a_wallet_that_requires_reader_auth_refuses_unauthenticated_openid4vp() {
    let (wallet, _) = setup();
    let wallet = wallet.require_reader_auth(kmid::crypto::x509::TrustStore::new());
    let query = Template::AgeCheck.dcql_query(CardType::Resident, Format::Mdoc);
    assert!(matches!(
        wallet.answer_dcql(&query, &request(), now()).unwrap_err(),
        KmidError::InvalidRequest(_)
    ));
}

/// `trusted_authorities` of type `aki` (HAIP 1.0 §5's MUST): the wallet answers only with a
/// credential whose chain carries one of the Authority Key Identifiers; other types match
/// nothing it holds; a malformed entry is an invalid query.
#[test]
fn trusted_authorities_by_aki_select_the_issuer() {
    let mois = common::issuer(IssuingAuthority::Mois);
    let mut wallet = Wallet::new(
        PrivateKey::generate(Curve::P256).unwrap(),
        kmid::trust_store([mois.keys()]).unwrap(),
    );
    let issued = mois
        .issue(
            &Card::from(samples::resident()),
            wallet.device_key(),
            Formats::Both,
            now(),
        )
        .unwrap();
    wallet.store_issued(issued, now()).unwrap();
    let ski = kmid::crypto::jose::b64url(mois.keys().iaca.subject_key_identifier().unwrap());
    for format in [Format::Mdoc, Format::SdJwtVc] {
        let base = serde_json::to_value(Template::AgeCheck.dcql_query(CardType::Resident, format))
            .unwrap();
        let with = |authorities: serde_json::Value| {
            let mut q = base.clone();
            q["credentials"][0]["trusted_authorities"] = authorities;
            DcqlQuery::from_json(q.to_string().as_bytes())
        };
        let answer = |q: &DcqlQuery| wallet.answer_dcql(q, &request(), now());
        assert!(answer(&with(json!([{ "type": "aki", "values": [ski] }])).unwrap()).is_ok());
        assert_eq!(
            answer(&with(json!([{ "type": "aki", "values": ["AAAA"] }])).unwrap())
                .unwrap_err()
                .code(),
            "NotHeld"
        );
        assert_eq!(
            answer(
                &with(json!([{ "type": "etsi_tl", "values": ["https://lotl.example"] }])).unwrap()
            )
            .unwrap_err()
            .code(),
            "NotHeld"
        );
        assert_eq!(
            with(json!([{ "type": "aki", "values": [] }]))
                .and_then(|q| q.validate())
                .unwrap_err()
                .code(),
            "InvalidDcql"
        );
    }
}
