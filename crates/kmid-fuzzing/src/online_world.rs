//! The fixed world of the OpenID4VP targets (issue 18's parsers), deterministic so that the
//! seeds `fuzz-seeds` writes are valid in the fuzzing process: the test PKI's reader as the
//! verifier (its root the wallet's verifier anchor, `x509_hash`), a signed Request Object, the
//! OpenID4VP 1.0 §8.3 example key and encrypted response, an encrypted response to a
//! transaction's key made with a seeded random source, and a registration attestation.

use std::sync::{Arc, OnceLock};

use kmid::crypto::x509::{Certificate, TrustStore};
use kmid::crypto::{CryptoProvider, Jwk, Signer};
use kmid::oid4vc::jar::sign_request_object;
use kmid::oid4vc::request::{AuthorizationRequest, ClientId, ResponseMode, SELF_ISSUED_V2};
use kmid::oid4vc::response::{
    AuthorizationResponse, ResponseKey, direct_post_body, direct_post_jwt_body, encrypt_response,
};
use kmid::registration::RegistrationAttestation;
use kmid_testkit::{REFERENCE_TIME, Rfc6979Signer, SeededRandom, TestPki};
use serde_json::{Map, Value, json};
use time::Duration;

/// What the OpenID4VP bodies use.
pub(crate) struct OnlineWorld {
    pub(crate) at: time::OffsetDateTime,
    /// The verifier access anchors (the test PKI's reader root).
    pub(crate) verifier_trust: TrustStore,
    /// The verifier's Client Identifier (`x509_hash` of the reader certificate).
    pub(crate) client_id: String,
    /// The §8.3 example key (`kid` `ac`).
    pub(crate) response_key: ResponseKey,
    /// The registrars: `https://registrar.kmid.invalid`, `r1`.
    pub(crate) registrars: kmid::trust::ConfiguredKeys,
    /// Seeds.
    pub(crate) request_object: String,
    pub(crate) request_urls: Vec<String>,
    pub(crate) responses: Vec<String>,
    pub(crate) registration: String,
    /// DC API seeds: signed and multi-signed request data, and an encrypted transaction (with
    /// the §8.3 example key) and a response data for it.
    pub(crate) dc_api_requests: Vec<Value>,
    pub(crate) dc_api_transaction: Value,
    pub(crate) dc_api_response: Value,
    /// Annex C: the §8.3 example key as the verifier's HPKE key, the transcript of its
    /// `encryptionInfo` at the bank's Origin; seeds: that `encryptionInfo` (CBOR), a
    /// DeviceResponse sealed to it (made with a seeded random source), and the request data.
    pub(crate) annex_c_key: kmid::crypto::PrivateKey,
    pub(crate) annex_c_transcript: kmid::mdoc::model::SessionTranscript,
    pub(crate) annex_c_seeds: Vec<Vec<u8>>,
}

const EXAMPLE_KEY: &str = r#"{"kty":"EC","kid":"ac","use":"enc","crv":"P-256","alg":"ECDH-ES","x":"YO4epjifD-KWeq1sL2tNmm36BhXnkJ0He-WqMYrp9Fk","y":"Hekpm0zfK7C-YccH5iBjcIXgf6YdUvNUac_0At55Okk","d":"Et-3ce0omz8_TuZ96Df9lp0GAaaDoUnDe6X-CRO7Aww"}"#;

pub(crate) fn get() -> &'static OnlineWorld {
    static WORLD: OnceLock<OnlineWorld> = OnceLock::new();
    WORLD.get_or_init(|| build().unwrap_or_else(|e| panic!("online fuzz world: {e}")))
}

fn build() -> Result<OnlineWorld, String> {
    let e = |e: &dyn core::fmt::Display| e.to_string();
    let provider = CryptoProvider::get_default();
    let pki = TestPki::new();
    let reader: Certificate = pki.reader.clone();
    let signer: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("reader"));
    let client_id = ClientId::x509_hash(provider, &reader)
        .map_err(|x| e(&x))?
        .to_string();
    let jwk: Jwk = serde_json::from_str(EXAMPLE_KEY).map_err(|x| e(&x))?;
    let response_key = ResponseKey::from_jwk(&jwk).map_err(|x| e(&x))?;
    let registrar: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("registrar"));
    let at = REFERENCE_TIME;
    let registration = RegistrationAttestation {
        registrar: "https://registrar.kmid.invalid".into(),
        verifier: client_id.clone(),
        claims: vec!["registration_number".into()],
        legal_basis: "Act on Real Name Financial Transactions and Confidentiality, Art. 3".into(),
        issued_at: at - Duration::days(1),
        expires: at + Duration::days(30),
    }
    .sign(&registrar, "r1")
    .map_err(|x| e(&x))?;
    let request: AuthorizationRequest = serde_json::from_value(json!({
        "client_id": client_id,
        "response_type": "vp_token",
        "response_mode": ResponseMode::DirectPostJwt.as_str(),
        "response_uri": "https://bank.kmid.invalid/openid4vp/response",
        "nonce": "fuzz-nonce-0123456789",
        "state": "fuzz-state",
        "dcql_query": { "credentials": [{ "id": "card", "format": "dc+sd-jwt",
            "meta": { "vct_values": ["kr.go.mois.rrc.1"] },
            "claims": [{ "path": ["age_over_19"] }] }] },
        "client_metadata": response_key.client_metadata(json!({})),
        "verifier_info": [RegistrationAttestation::verifier_info(&registration, &[])],
        "aud": SELF_ISSUED_V2,
        "iat": at.unix_timestamp(),
        "exp": (at + Duration::minutes(5)).unix_timestamp(),
    }))
    .map_err(|x| e(&x))?;
    let request_object =
        sign_request_object(provider, &request, &signer, std::slice::from_ref(&reader))
            .map_err(|x| e(&x))?;
    let by_value = kmid::oid4vc::request::RequestUrl::ByValue {
        client_id: client_id.clone(),
        request: request_object.clone(),
    };
    let by_reference = kmid::oid4vc::request::RequestUrl::ByReference {
        client_id: client_id.clone(),
        request_uri: "https://bank.kmid.invalid/request/1".into(),
        post: true,
    };
    let mut vp_token = Map::new();
    vp_token.insert("card".into(), json!(["eyJ.presentation"]));
    let answer = AuthorizationResponse::Success {
        vp_token,
        state: Some("fuzz-state".into()),
    };
    let random = SeededRandom::new(b"kmid fuzz online world");
    let encrypted = encrypt_response(provider, &random, &request, &answer).map_err(|x| e(&x))?;
    // DC API: the same request signed once and twice, for the Origin the body checks.
    let mut dc_request = request.clone();
    dc_request.response_mode = ResponseMode::DcApiJwt;
    dc_request.response_uri = None;
    dc_request.aud = None;
    dc_request.state = None;
    dc_request.expected_origins = Some(vec!["https://bank.kmid.invalid".into()]);
    let signed = kmid::oid4vc::dc_api::signed_request(
        provider,
        &dc_request,
        &signer,
        std::slice::from_ref(&reader),
    )
    .map_err(|x| e(&x))?;
    let multi = kmid::oid4vc::dc_api::multisigned_request(
        provider,
        &dc_request,
        &[kmid::oid4vc::dc_api::MultiSigner {
            signer: &signer,
            chain: std::slice::from_ref(&reader),
            client_id: client_id.clone(),
            verifier_info: None,
        }],
    )
    .map_err(|x| e(&x))?;
    let unsigned = kmid::oid4vc::dc_api::unsigned_request(&dc_request).map_err(|x| e(&x))?;
    let dc_api_transaction = json!({
        "state": "fuzz-state",
        "nonce": "fuzz-nonce-0123456789",
        "response_mode": "dc_api.jwt",
        "same_device": false,
        "key": serde_json::from_str::<Value>(EXAMPLE_KEY).map_err(|x| e(&x))?,
    });
    let dc_api_response = kmid::oid4vc::response::dc_api_response(
        provider,
        &random,
        &answer,
        Some(
            &kmid::oid4vc::response::ResponseEncryption::for_request(&request)
                .map_err(|x| e(&x))?,
        ),
    )
    .map_err(|x| e(&x))?;
    let annex_c_key = jwk.to_private_key().map_err(|x| e(&x))?;
    let info = kmid::mdoc::annex_c::EncryptionInfo {
        nonce: b"kmid-annex-c-fuzz".to_vec(),
        recipient: annex_c_key.public_key().clone(),
    }
    .to_bytes()
    .map_err(|x| e(&x))?;
    let info_text = kmid::crypto::jose::b64url(&info);
    let annex_c_transcript =
        kmid::mdoc::annex_c::transcript(provider, &info_text, "https://bank.kmid.invalid")
            .map_err(|x| e(&x))?;
    let sealed = kmid::mdoc::annex_c::seal_response(
        provider,
        &random,
        annex_c_key.public_key(),
        &annex_c_transcript,
        &crate::context::device_response_seed(),
    )
    .map_err(|x| e(&x))?
    .to_bytes();
    let annex_c_seeds = vec![
        info.clone(),
        sealed.clone(),
        json!({ "response": kmid::crypto::jose::b64url(&sealed) })
            .to_string()
            .into_bytes(),
    ];
    let mut verifier_trust = TrustStore::new();
    verifier_trust
        .add(pki.reader_root.clone())
        .map_err(|x| e(&x))?;
    Ok(OnlineWorld {
        at,
        verifier_trust,
        client_id,
        response_key,
        registrars: vec![(
            "https://registrar.kmid.invalid".into(),
            Some("r1".into()),
            registrar.public_key().clone(),
        )],
        request_object,
        request_urls: vec![
            by_value.to_url("openid4vp://"),
            by_reference.to_url("haip-vp://"),
            kmid::oid4vc::request::request_uri_post_body("wn-1", Some(&json!({}))),
        ],
        responses: vec![direct_post_jwt_body(&encrypted), direct_post_body(&answer)],
        registration,
        dc_api_requests: vec![
            json!({ "protocol": "openid4vp-v1-signed", "data": signed }),
            json!({ "protocol": "openid4vp-v1-multisigned", "data": multi }),
            json!({ "protocol": "openid4vp-v1-unsigned", "data": unsigned }),
        ],
        dc_api_transaction,
        dc_api_response,
        annex_c_key,
        annex_c_transcript,
        annex_c_seeds,
    })
}

/// The example JWE of OpenID4VP 1.0 §8.3, for the JWE seeds.
pub(crate) fn example_jwe(vectors: &Value) -> Option<String> {
    vectors
        .get("encrypted_response")?
        .get("jwe")?
        .as_str()
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use kmid::oid4vc::jar::{WalletCheck, verify_request_object};

    /// The seeds reach past the checks: the Request Object verifies for the wallet, the
    /// encrypted response decrypts with the example key, the attestation verifies.
    #[test]
    fn the_seeds_are_valid_in_the_world_they_are_fuzzed_in() {
        let w = super::get();
        let check = WalletCheck::new(&w.verifier_trust, w.at);
        verify_request_object(&w.request_object, &check).unwrap();
        let posted = kmid::oid4vc::response::parse_direct_post(w.responses[0].as_bytes()).unwrap();
        let kmid::oid4vc::response::PostedResponse::Encrypted(jwe) = posted else {
            panic!("encrypted")
        };
        w.response_key
            .decrypt(
                kmid::crypto::CryptoProvider::get_default(),
                &jwe,
                &kmid::oid4vc::response::HAIP_ENC_VALUES,
            )
            .unwrap();
        for request in &w.dc_api_requests {
            let protocol =
                kmid::oid4vc::dc_api::DcApiProtocol::parse(request["protocol"].as_str().unwrap())
                    .unwrap();
            let mut check = WalletCheck::new(&w.verifier_trust, w.at);
            check.origin = Some("https://bank.kmid.invalid");
            kmid::oid4vc::dc_api::verify_dc_api_request(protocol, &request["data"], &check)
                .unwrap();
        }
        let mut transaction =
            kmid::oid4vc::response::Transaction::import_pending(&w.dc_api_transaction).unwrap();
        transaction
            .accept_dc_api(
                kmid::crypto::CryptoProvider::get_default(),
                &w.dc_api_response,
            )
            .unwrap();
        // The sealed Annex C response opens to a DeviceResponse.
        let limits = kmid::mdoc::CborLimits::default();
        let sealed =
            kmid::mdoc::annex_c::EncryptedResponse::from_bytes(&w.annex_c_seeds[1], &limits)
                .unwrap();
        let plain = kmid::mdoc::annex_c::open_response(
            kmid::crypto::CryptoProvider::get_default(),
            &w.annex_c_key,
            &w.annex_c_transcript,
            &sealed,
        )
        .unwrap();
        kmid::mdoc::model::DeviceResponse::from_bytes(&plain, &limits).unwrap();
        kmid::registration::RegistrationAttestation::verify(
            &w.registration,
            &w.registrars,
            &w.client_id,
            "registration_number",
            w.at,
            kmid::crypto::CryptoProvider::get_default(),
        )
        .unwrap();
    }
}
