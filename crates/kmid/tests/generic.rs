//! Any credential type (issue 17, item 3): a foreign mDL verified with its claims as they are,
//! under a root scoped to its docType; the Korean profile's checks apply to the Korean types
//! only, and a root scoped to Korean cards does not vouch for it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;

use common::AllValid;
use kmid::crypto::x509::TrustStore;
use kmid::crypto::{Curve, PrivateKey, SystemRandom};
use kmid::mdoc::ElementValue;
use kmid::mdoc::issuer::{MdocIssuer, MsoOptions};
use kmid::mdoc::model::{DeviceRequest, DocRequest, Handover, ItemsRequest, SessionTranscript};
use kmid::{Verifier, Wallet};
use kmid_testkit::{Authority, REFERENCE_TIME, Rfc6979Signer, TestPki};
use serde_json::json;
use time::Duration;

const MDL: &str = "org.iso.18013.5.1.mDL";
const NS: &str = "org.iso.18013.5.1";

#[test]
fn a_foreign_mdl_is_verified_with_its_claims_as_they_are() {
    let pki = TestPki::new();
    let ipki = pki.issuer(Authority::Mois);
    let signer = Rfc6979Signer::for_test_key("mois-ds");
    let random = SystemRandom;
    let holder = PrivateKey::generate(Curve::P256).unwrap();
    let elements = vec![(
        NS.to_owned(),
        vec![
            ("family_name".to_owned(), ElementValue::Text("Doe".into())),
            ("given_name".to_owned(), ElementValue::Text("Jane".into())),
            ("age_over_18".to_owned(), ElementValue::Bool(true)),
            (
                "birth_date".to_owned(),
                ElementValue::FullDate(time::macros::date!(1990 - 05 - 17)),
            ),
            (
                "document_number".to_owned(),
                ElementValue::Text("D1234567".into()),
            ),
        ],
    )];
    let issued = MdocIssuer::new(&signer, vec![ipki.ds.clone()], &random)
        .unwrap()
        .issue_elements(
            MDL,
            elements,
            holder.public_key(),
            &MsoOptions::new(
                REFERENCE_TIME - Duration::days(1),
                REFERENCE_TIME + Duration::days(30),
            ),
        )
        .unwrap();
    let mut mdl_roots = TrustStore::new();
    mdl_roots
        .add_scoped(ipki.iaca.clone(), vec![MDL.into()])
        .unwrap();
    let mut wallet = Wallet::new(holder, mdl_roots.clone());
    wallet.store_mdoc(issued, REFERENCE_TIME).unwrap();

    let mut items = ItemsRequest::for_doc_type(MDL);
    for element in ["family_name", "age_over_18", "birth_date"] {
        items.ask(NS, element, false);
    }
    let request = DeviceRequest::new(vec![DocRequest::new(items)]);
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    let response = wallet
        .respond_mdoc(&request, &transcript, REFERENCE_TIME)
        .unwrap()
        .to_bytes();

    // Over OpenID4VP: a DCQL query for the mDL, answered by the wallet and verified with
    // its claims as they are; the Korean view refuses it by name.
    let query = kmid::DcqlQuery::from_json(
        json!({ "credentials": [{
            "id": "mdl",
            "format": "mso_mdoc",
            "meta": { "doctype_value": MDL },
            "claims": [
                { "path": [NS, "family_name"] },
                { "path": [NS, "age_over_18"], "values": [true] },
            ],
        }] })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let online = kmid::OpenId4VpRequest {
        client_id: "x509_san_dns:rp.example".into(),
        nonce: "n-mdl-0001".into(),
        response_uri: "https://rp.example/response".into(),
        origin: None,
        jwk_thumbprint: None,
    };
    let token = wallet.answer_dcql(&query, &online, REFERENCE_TIME).unwrap();
    let online_verifier = Verifier::new(mdl_roots.clone(), Arc::new(AllValid));
    let seen = online_verifier
        .verify_vp_token_any(&query, &online, &token, REFERENCE_TIME)
        .unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, "mdl");
    assert_eq!(seen[0].1.doc_type, MDL);
    assert_eq!(seen[0].1.card_type, None);
    assert_eq!(
        serde_json::Value::Object(seen[0].1.claims.clone()),
        json!({ NS: { "family_name": "Doe", "age_over_18": true } })
    );
    assert!(seen[0].1.catalogue_claims().is_empty());
    assert_eq!(
        online_verifier
            .verify_vp_token(&query, &online, &token, REFERENCE_TIME)
            .unwrap_err()
            .code(),
        "VpTokenMismatch"
    );
    // The same token for another transaction's nonce fails (the transcript differs).
    let replayed = kmid::OpenId4VpRequest {
        nonce: "n-mdl-0002".into(),
        ..online.clone()
    };
    assert_eq!(
        online_verifier
            .verify_vp_token_any(&query, &replayed, &token, REFERENCE_TIME)
            .unwrap_err()
            .code(),
        "Mdoc.DeviceAuth.BadSignature"
    );

    let verifier = Verifier::new(mdl_roots, Arc::new(AllValid));
    let seen = verifier
        .verify_mdoc_any(&request, &response, &transcript, REFERENCE_TIME)
        .unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].doc_type, MDL);
    assert_eq!(
        serde_json::Value::Object(seen[0].claims.clone()),
        json!({ NS: { "family_name": "Doe", "age_over_18": true, "birth_date": "1990-05-17" } })
    );
    // The Korean view has no card to report.
    assert!(
        verifier
            .verify_mdoc(&request, &response, &transcript, REFERENCE_TIME)
            .unwrap()
            .is_empty()
    );

    // The same root scoped to the Korean resident card does not vouch for an mDL.
    let mut korean_roots = TrustStore::new();
    korean_roots
        .add_scoped(ipki.iaca.clone(), vec!["kr.go.mois.rrc.1".into()])
        .unwrap();
    assert_eq!(
        Verifier::new(korean_roots, Arc::new(AllValid))
            .verify_mdoc_any(&request, &response, &transcript, REFERENCE_TIME)
            .unwrap_err()
            .code(),
        "Mdoc.IssuerAuth.DocTypeNotAuthorized"
    );
}

/// Top-level claims selectively disclosable, nothing else.
struct TopLevel;

impl kmid::sdjwt::DisclosurePolicy for TopLevel {
    fn is_disclosable(&self, path: &[kmid::sdjwt::PathSegment]) -> bool {
        path.len() == 1
    }
}

#[test]
fn a_foreign_sd_jwt_vc_is_verified_with_its_claims_as_processed() {
    use kmid::crypto::Signer;
    use kmid::crypto::x509::chain_to_x5c;
    use kmid::sdjwt::SdJwt;
    use kmid::sdjwt::vc::{HeldSdJwtVc, IssuerKeys, SdJwtVcVerifier};
    const PID: &str = "urn:eudi:pid:1";
    let pki = TestPki::new();
    let ipki = pki.issuer(Authority::Mois);
    let signer: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("mois-ds"));
    let holder: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let claims = json!({
        "vct": PID,
        "iss": "https://pid.example",
        "iat": (REFERENCE_TIME - Duration::days(1)).unix_timestamp(),
        "exp": (REFERENCE_TIME + Duration::days(30)).unix_timestamp(),
        "cnf": { "jwk": serde_json::to_value(holder.public_key().to_jwk()).unwrap() },
        "given_name": "Erika",
        "family_name": "Mustermann",
        "age_equal_or_over": { "18": true },
    });
    // Only the person's claims are selectively disclosable; vct, iss, iat, exp and cnf stay.
    let mut disclosable = serde_json::Map::new();
    let mut fixed = serde_json::Map::new();
    for (k, v) in claims.as_object().unwrap() {
        if ["given_name", "family_name", "age_equal_or_over"].contains(&k.as_str()) {
            disclosable.insert(k.clone(), v.clone());
        } else {
            fixed.insert(k.clone(), v.clone());
        }
    }
    let concealed = kmid::sdjwt::conceal(
        kmid::crypto::CryptoProvider::get_default(),
        &disclosable,
        &TopLevel,
        kmid::crypto::HashAlgorithm::Sha256,
        &SystemRandom,
    )
    .unwrap();
    let mut payload = concealed.payload;
    payload.extend(fixed);
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), json!("dc+sd-jwt"));
    header.insert(
        "x5c".into(),
        json!(chain_to_x5c(std::slice::from_ref(&ipki.ds))),
    );
    let jwt = kmid::crypto::jose::sign_compact(
        header,
        serde_json::Value::Object(payload).to_string().as_bytes(),
        &signer,
    )
    .unwrap();
    let issued = SdJwt {
        issuer_jwt: jwt,
        disclosures: concealed
            .disclosures
            .iter()
            .map(|d| d.encoded().to_owned())
            .collect(),
        kb_jwt: None,
    }
    .to_compact();

    let mut roots = TrustStore::new();
    roots
        .add_scoped(ipki.iaca.clone(), vec![PID.into()])
        .unwrap();
    let receiving = SdJwtVcVerifier::new(IssuerKeys::X5c(&roots))
        .with_vcts(&[PID])
        .danger_accept_unchecked_status();
    let held = HeldSdJwtVc::receive(&issued, &receiving, REFERENCE_TIME).unwrap();
    let presentation = held
        .present(
            &[&["given_name"], &["age_equal_or_over"]],
            Some((&holder, "n-1", "https://rp.example", REFERENCE_TIME)),
        )
        .unwrap()
        .to_compact();

    let verifier = Verifier::new(roots.clone(), Arc::new(AllValid));
    let asked = vec![
        vec!["given_name".to_owned()],
        vec!["age_equal_or_over".to_owned()],
    ];
    let seen = verifier
        .verify_sd_jwt_any(
            &[PID],
            &asked,
            "n-1",
            "https://rp.example",
            &presentation,
            REFERENCE_TIME,
        )
        .unwrap();
    assert_eq!(seen.doc_type, PID);
    assert_eq!(seen.claims.get("given_name"), Some(&json!("Erika")));
    assert_eq!(
        seen.claims.get("age_equal_or_over"),
        Some(&json!({ "18": true }))
    );
    assert_eq!(seen.claims.get("family_name"), None, "not disclosed");
    // Asking for less than was disclosed is refused, as for the Korean cards.
    assert_eq!(
        verifier
            .verify_sd_jwt_any(
                &[PID],
                &asked[..1],
                "n-1",
                "https://rp.example",
                &presentation,
                REFERENCE_TIME
            )
            .unwrap_err()
            .code(),
        "NotRequested"
    );
    // A root scoped to the Korean resident card does not vouch for the PID.
    let mut korean = TrustStore::new();
    korean
        .add_scoped(ipki.iaca.clone(), vec!["kr.go.mois.rrc.1".into()])
        .unwrap();
    assert_eq!(
        Verifier::new(korean.clone(), Arc::new(AllValid))
            .verify_sd_jwt_any(
                &[PID],
                &asked,
                "n-1",
                "https://rp.example",
                &presentation,
                REFERENCE_TIME
            )
            .unwrap_err()
            .code(),
        "SdJwt.IssuerKey.VctNotAuthorized"
    );
    // The facade's wallet holds any type its trusted issuers issue (the scope decides): the PID
    // under the PID-scoped root, not under the root scoped to the Korean resident card.
    let holder_key = || -> Arc<dyn Signer> { holder.clone() };
    let mut wallet = Wallet::with_signer(holder_key(), roots.clone());
    wallet.store_sd_jwt(&issued, REFERENCE_TIME).unwrap();
    assert_eq!(
        Wallet::with_signer(holder_key(), korean)
            .store_sd_jwt(&issued, REFERENCE_TIME)
            .unwrap_err()
            .code(),
        "SdJwt.IssuerKey.VctNotAuthorized"
    );
}
