//! OpenID4VCI offers and metadata: the specification's examples parse and check; the URLs a
//! wallet is invoked with round-trip and refuse ambiguity; well-known URLs are built as §12.2.2
//! and RFC 8414 §3.1 say; signed metadata verifies under an anchor and is refused by HAIP's
//! rules (anchor inside `x5c`, self-signed signer), by `typ`, `sub`, time and tampering.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use kmid_crypto::jose::CompactJws;
use kmid_crypto::x509::{Certificate, TrustStore, chain_from_x5c};
use kmid_crypto::{Algorithm, CryptoProvider, Signer};
use kmid_oid4vc::vci::VciError;
use kmid_oid4vc::vci::metadata::{
    AS_WELL_KNOWN, AuthorizationServerMetadata, CredentialIssuerMetadata, ISSUER_WELL_KNOWN,
    well_known_url,
};
use kmid_oid4vc::vci::offer::{
    CredentialOffer, HAIP_SCHEME, OFFER_SCHEME, OfferUrl, TxCodeInputMode,
};
use kmid_testkit::TestPki;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

const EXAMPLES: &str = "../../test-vectors/openid4vci-1.0";

fn example(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(EXAMPLES)
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The JSON body of an example that prints an HTTP response.
fn body(text: &str) -> &str {
    text.find('{').map_or(text, |i| &text[i..])
}

fn provider() -> &'static CryptoProvider {
    CryptoProvider::get_default()
}

#[test]
fn the_specifications_offers_parse_and_check() {
    let offer = CredentialOffer::from_json(
        example("credential_offer_multiple_credentials.json").as_bytes(),
    )
    .unwrap();
    assert_eq!(offer.credential_configuration_ids.len(), 2);
    let grant = offer.grants.pre_authorized_code.as_ref().unwrap();
    assert_eq!(grant.code, "oaKazRN8I0IbtZ0C7JuMn5");
    let tx = grant.tx_code.as_ref().unwrap();
    assert_eq!(tx.length, Some(4));
    assert_eq!(tx.input_mode, Some(TxCodeInputMode::Numeric));
    // An empty tx_code object still requires a code.
    let by_reference =
        CredentialOffer::from_json(example("credential_offer_by_reference.json").as_bytes())
            .unwrap();
    assert!(
        by_reference
            .grants
            .pre_authorized_code
            .unwrap()
            .tx_code
            .is_some()
    );
    let authz =
        CredentialOffer::from_json(body(&example("credential_offer_authz_code.txt")).as_bytes())
            .unwrap();
    assert_eq!(
        authz
            .grants
            .authorization_code
            .unwrap()
            .issuer_state
            .unwrap(),
        "eyJhbGciOiJSU0Et...FYUaBy"
    );
    CredentialOffer::from_json(example("credential_offer_pre-authz_code.json").as_bytes()).unwrap();
}

#[test]
fn offer_urls_round_trip_and_refuse_ambiguity() {
    // §4.1.2's QR example, line breaks removed.
    let url = "openid-credential-offer://?credential_offer=%7B%22credential_issuer%22:%22https://credential-issuer.example.com%22,%22credential_configuration_ids%22:%5B%22org.iso.18013.5.1.mDL%22%5D,%22grants%22:%7B%22urn:ietf:params:oauth:grant-type:pre-authorized_code%22:%7B%22pre-authorized_code%22:%22oaKazRN8I0IbtZ0C7JuMn5%22,%22tx_code%22:%7B%22input_mode%22:%22text%22,%22description%22:%22Please%20enter%20the%20serial%20number%20of%20your%20physical%20drivers%20license%22%7D%7D%7D%7D";
    let OfferUrl::ByValue(offer) = OfferUrl::parse(url).unwrap() else {
        panic!("by value")
    };
    let grant = offer.grants.pre_authorized_code.as_ref().unwrap();
    assert_eq!(
        grant.tx_code.as_ref().unwrap().input_mode,
        Some(TxCodeInputMode::Text)
    );
    for scheme in [OFFER_SCHEME, HAIP_SCHEME] {
        let again = OfferUrl::ByValue(offer.clone()).to_url(scheme);
        assert_eq!(
            OfferUrl::parse(&again).unwrap(),
            OfferUrl::ByValue(offer.clone())
        );
    }
    // §4.1.3's by-reference example.
    let by_reference = "openid-credential-offer://?credential_offer_uri=https%3A%2F%2Fserver%2Eexample%2Ecom%2Fcredential-offer%2FGkurKxf5T0Y-mnPFCHqWOMiZi4VS138cQO_V7PZHAdM";
    assert_eq!(
        OfferUrl::parse(by_reference).unwrap(),
        OfferUrl::ByReference(
            "https://server.example.com/credential-offer/GkurKxf5T0Y-mnPFCHqWOMiZi4VS138cQO_V7PZHAdM"
                .into()
        )
    );
    let code = |url: &str| OfferUrl::parse(url).unwrap_err().code();
    assert_eq!(
        code(&format!("{by_reference}&credential_offer=%7B%7D")),
        "Malformed"
    );
    assert_eq!(
        code(&format!(
            "{by_reference}&credential_offer_uri=https://x.example"
        )),
        "Malformed"
    );
    assert_eq!(
        code("openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fx.example"),
        "Malformed"
    );
    assert_eq!(code("openid-credential-offer://?other=1"), "Missing");
    assert_eq!(code("openid-credential-offer://"), "Missing");
    assert_eq!(
        code(&format!(
            "openid-credential-offer://?credential_offer={}",
            "a".repeat(20_000)
        )),
        "Malformed"
    );
    // Offers that do not conform.
    let offer = |v: Value| CredentialOffer::from_json(v.to_string().as_bytes()).unwrap_err();
    let base = json!({
        "credential_issuer": "https://issuer.kmid.invalid",
        "credential_configuration_ids": ["a"],
    });
    let with = |k: &str, v: Value| {
        let mut o = base.clone();
        o[k] = v;
        o
    };
    assert_eq!(
        offer(with(
            "credential_issuer",
            json!("http://issuer.kmid.invalid")
        ))
        .code(),
        "Malformed"
    );
    assert_eq!(
        offer(with(
            "credential_issuer",
            json!("https://issuer.kmid.invalid?x=1")
        ))
        .code(),
        "Malformed"
    );
    assert_eq!(
        offer(with("credential_configuration_ids", json!([]))).code(),
        "Missing"
    );
    assert_eq!(
        offer(with("credential_configuration_ids", json!(["a", "a"]))).code(),
        "Malformed"
    );
    let long = "x".repeat(301);
    assert_eq!(
        offer(with(
            "grants",
            json!({ "urn:ietf:params:oauth:grant-type:pre-authorized_code": {
                "pre-authorized_code": "c", "tx_code": { "description": long } } })
        ))
        .code(),
        "Malformed"
    );
    // Unknown parameters are kept and ignored.
    let extra =
        CredentialOffer::from_json(with("x-extension", json!(1)).to_string().as_bytes()).unwrap();
    assert_eq!(extra.other["x-extension"], 1);
}

#[test]
fn well_known_urls_insert_the_segment_before_the_path() {
    assert_eq!(
        well_known_url("https://issuer.example.com/tenant", ISSUER_WELL_KNOWN).unwrap(),
        "https://issuer.example.com/.well-known/openid-credential-issuer/tenant"
    );
    assert_eq!(
        well_known_url("https://tenant.issuer.example.com", ISSUER_WELL_KNOWN).unwrap(),
        "https://tenant.issuer.example.com/.well-known/openid-credential-issuer"
    );
    assert_eq!(
        well_known_url("https://as.example.com:8443/issuer1", AS_WELL_KNOWN).unwrap(),
        "https://as.example.com:8443/.well-known/oauth-authorization-server/issuer1"
    );
    assert!(well_known_url("https://issuer.example.com/?q", ISSUER_WELL_KNOWN).is_err());
}

#[test]
fn the_specifications_metadata_parses_and_haips_rules_apply() {
    let text = example("credential_issuer_metadata_sd_jwt_long.json");
    let metadata = CredentialIssuerMetadata::from_json(
        text.as_bytes(),
        "https://credential-issuer.example.com",
    )
    .unwrap();
    assert_eq!(metadata.batch_credential_issuance.unwrap().batch_size, 10);
    let config = metadata
        .credential_configurations_supported
        .get("SD_JWT_VC_example_in_OpenID4VCI")
        .unwrap();
    assert!(config.requires_binding());
    assert!(
        config.proof_types_supported.as_ref().unwrap()["jwt"]
            .key_attestations_required
            .is_some()
    );
    // Unknown parameters survive a round trip.
    let again: Value = serde_json::to_value(&metadata).unwrap();
    let original: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(again, original);
    // Fetched for another identifier: not to be used (§12.2.2).
    assert_eq!(
        CredentialIssuerMetadata::from_json(
            text.as_bytes(),
            "https://credential-issuer.example.com/"
        )
        .unwrap_err(),
        VciError::IssuerMismatch
    );
    // HAIP: a scope for every configuration, a nonce endpoint when keys are bound.
    let mut v: Value = original.clone();
    v["credential_configurations_supported"]["SD_JWT_VC_example_in_OpenID4VCI"]
        .as_object_mut()
        .unwrap()
        .remove("scope");
    let refused = CredentialIssuerMetadata::from_json(
        v.to_string().as_bytes(),
        "https://credential-issuer.example.com",
    )
    .unwrap_err();
    assert!(refused.to_string().contains("scope"), "{refused}");
    let mut v = original.clone();
    v.as_object_mut().unwrap().remove("nonce_endpoint");
    assert!(
        CredentialIssuerMetadata::from_json(
            v.to_string().as_bytes(),
            "https://credential-issuer.example.com"
        )
        .unwrap_err()
        .to_string()
        .contains("nonce_endpoint")
    );
    let mut v = original;
    v["batch_credential_issuance"]["batch_size"] = json!(1);
    assert!(
        CredentialIssuerMetadata::from_json(
            v.to_string().as_bytes(),
            "https://credential-issuer.example.com"
        )
        .is_err()
    );
    // Authorization Server hints.
    assert_eq!(
        metadata.authorization_server(None).unwrap(),
        "https://server.example.com"
    );
    assert!(
        metadata
            .authorization_server(Some("https://evil.example"))
            .is_err()
    );
}

#[test]
fn the_specifications_signed_metadata_verifies_and_its_self_signed_signer_is_refused() {
    let jwt: String = example("credential_issuer_metadata_sd_jwt_jwt.txt")
        .split_whitespace()
        .collect();
    let jws = CompactJws::parse(&jwt).unwrap();
    let x5c: Vec<String> = jws.header["x5c"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let chain = chain_from_x5c(&x5c).unwrap();
    // The example's signature holds under its certificate's key.
    jws.verify(
        chain[0].public_key(),
        Algorithm::Es256,
        provider().signature_verifier,
    )
    .unwrap();
    // Under HAIP it is refused: the certificate is the anchor itself, and self-signed.
    let mut trust = TrustStore::new();
    trust.add(chain[0].clone()).unwrap();
    let at = OffsetDateTime::from_unix_timestamp(1_516_239_100).unwrap();
    let refused = CredentialIssuerMetadata::verify_signed(
        provider(),
        &jwt,
        "https://credential-issuer.example.com",
        &trust,
        at,
    )
    .unwrap_err();
    assert!(
        matches!(refused, VciError::AnchorInChain | VciError::SelfSigned),
        "{refused:?}"
    );
}

fn kmid_metadata() -> CredentialIssuerMetadata {
    serde_json::from_value(json!({
        "credential_issuer": "https://issuer.kmid.invalid",
        "credential_endpoint": "https://issuer.kmid.invalid/credential",
        "nonce_endpoint": "https://issuer.kmid.invalid/nonce",
        "credential_configurations_supported": {
            "kr.go.mois.rrc.1.dc+sd-jwt": {
                "format": "dc+sd-jwt",
                "scope": "kr.go.mois.rrc.1.dc+sd-jwt",
                "vct": "kr.go.mois.rrc.1",
                "cryptographic_binding_methods_supported": ["jwk"],
                "proof_types_supported": { "jwt": { "proof_signing_alg_values_supported": ["ES256"] } },
            }
        }
    }))
    .unwrap()
}

#[test]
fn signed_metadata_verifies_under_its_anchor_and_each_rule_refuses() {
    let pki = TestPki::new();
    let signer: Arc<dyn Signer> = Arc::new(kmid_testkit::Rfc6979Signer::for_test_key("reader"));
    let mut trust = TrustStore::new();
    trust.add(pki.reader_root.clone()).unwrap();
    let at = kmid_testkit::REFERENCE_TIME;
    let metadata = kmid_metadata();
    let chain: Vec<Certificate> = vec![pki.reader.clone()];
    let jwt = metadata
        .sign(&signer, &chain, at, at + Duration::days(1))
        .unwrap();
    let verified = CredentialIssuerMetadata::verify_signed(
        provider(),
        &jwt,
        "https://issuer.kmid.invalid",
        &trust,
        at,
    )
    .unwrap();
    assert_eq!(verified, metadata);
    let refuse = |jwt: &str, issuer: &str, at: OffsetDateTime| {
        CredentialIssuerMetadata::verify_signed(provider(), jwt, issuer, &trust, at).unwrap_err()
    };
    // Another issuer's identifier, after its expiry, before its iat.
    assert_eq!(
        refuse(&jwt, "https://other.kmid.invalid", at),
        VciError::IssuerMismatch
    );
    assert_eq!(
        refuse(&jwt, "https://issuer.kmid.invalid", at + Duration::days(2)),
        VciError::Expired
    );
    assert_eq!(
        refuse(&jwt, "https://issuer.kmid.invalid", at - Duration::hours(1)),
        VciError::Expired
    );
    // The anchor inside x5c.
    let with_root = metadata
        .sign(
            &signer,
            &[pki.reader.clone(), pki.reader_root.clone()],
            at,
            at + Duration::days(1),
        )
        .unwrap();
    assert_eq!(
        refuse(&with_root, "https://issuer.kmid.invalid", at),
        VciError::AnchorInChain
    );
    // A signer under another root.
    let mut other = TrustStore::new();
    other
        .add(pki.issuer(kmid_testkit::Authority::Mois).iaca.clone())
        .unwrap();
    assert!(matches!(
        CredentialIssuerMetadata::verify_signed(
            provider(),
            &jwt,
            "https://issuer.kmid.invalid",
            &other,
            at
        )
        .unwrap_err(),
        VciError::Certificate(_)
    ));
    // Tampered payload.
    let mut parts: Vec<&str> = jwt.split('.').collect();
    let forged = kmid_crypto::jose::b64url(
        serde_json::to_string(&json!({ "sub": "https://issuer.kmid.invalid" }))
            .unwrap()
            .as_bytes(),
    );
    parts[1] = &forged;
    assert!(matches!(
        refuse(&parts.join("."), "https://issuer.kmid.invalid", at),
        VciError::Jws(_)
    ));
}

#[test]
fn authorization_server_metadata_is_for_its_issuer() {
    let v = json!({
        "issuer": "https://issuer.kmid.invalid",
        "token_endpoint": "https://issuer.kmid.invalid/token",
        "pushed_authorization_request_endpoint": "https://issuer.kmid.invalid/par",
        "code_challenge_methods_supported": ["S256"],
        "dpop_signing_alg_values_supported": ["ES256"],
        "pre-authorized_grant_anonymous_access_supported": true,
    });
    let m = AuthorizationServerMetadata::from_json(
        v.to_string().as_bytes(),
        "https://issuer.kmid.invalid",
    )
    .unwrap();
    assert_eq!(
        m.pre_authorized_grant_anonymous_access_supported,
        Some(true)
    );
    assert_eq!(serde_json::to_value(&m).unwrap(), v);
    assert_eq!(
        AuthorizationServerMetadata::from_json(
            v.to_string().as_bytes(),
            "https://other.kmid.invalid"
        )
        .unwrap_err(),
        VciError::IssuerMismatch
    );
}
