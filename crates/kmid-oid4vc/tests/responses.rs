//! Authorization Responses: the OpenID4VP 1.0 §8.3 example decrypted to the byte, encrypted
//! responses made by the wallet for the request's key, and the verifier's transaction refusing,
//! each with its own error, a response encrypted to another request's key, an altered one, a
//! downgrade to the clear, another transaction's `state`, a replay, and a result fetched
//! without the `response_code`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use kmid_crypto::jose::{b64url, b64url_decode};
use kmid_crypto::jwe::ContentEncryption;
use kmid_crypto::{CryptoProvider, Jwk, SystemRandom};
use kmid_oid4vc::Oid4vpError;
use kmid_oid4vc::request::{AuthorizationRequest, ResponseMode};
use kmid_oid4vc::response::{
    AuthorizationResponse, HAIP_ENC_VALUES, PostedResponse, ResponseKey, Transaction,
    TransactionState, direct_post_body, direct_post_jwt_body, encrypt_response, parse_direct_post,
};
use serde_json::{Map, Value, json};

fn provider() -> &'static CryptoProvider {
    CryptoProvider::get_default()
}

fn vectors() -> Value {
    serde_json::from_str(include_str!(
        "../../../test-vectors/openid4vp-1.0/vectors.json"
    ))
    .unwrap()
}

/// The example of §8.3, with the private key the specification publishes: it decrypts to the
/// payload the text prints, and kmid refuses it once the `kid` is another key's.
#[test]
fn the_specifications_encrypted_response_decrypts() {
    let v = &vectors()["encrypted_response"];
    let jwk: Jwk = serde_json::from_value(v["private_jwk"].clone()).unwrap();
    let key = ResponseKey::from_jwk(&jwk).unwrap();
    let response = key
        .decrypt(provider(), v["jwe"].as_str().unwrap(), &HAIP_ENC_VALUES)
        .unwrap();
    assert_eq!(
        response.to_json(),
        v["payload"],
        "the plaintext is the payload the specification prints"
    );
    // The same JWE with the recipient accepting A256GCM only.
    assert_eq!(
        key.decrypt(
            provider(),
            v["jwe"].as_str().unwrap(),
            &[ContentEncryption::A256Gcm]
        )
        .unwrap_err()
        .code(),
        "Jwe.Encryption"
    );
}

fn request(transaction: &Transaction) -> AuthorizationRequest {
    let mut value = json!({
        "client_id": "x509_san_dns:bank.example",
        "response_type": "vp_token",
        "response_mode": transaction.response_mode.as_str(),
        "response_uri": "https://bank.example/openid4vp/response",
        "nonce": transaction.nonce,
        "state": transaction.state,
        "dcql_query": { "credentials": [] },
    });
    if let Some(key) = &transaction.key {
        value["client_metadata"] =
            serde_json::to_value(key.client_metadata(json!({ "dc+sd-jwt": {} }))).unwrap();
    }
    serde_json::from_value(value).unwrap()
}

fn answer(state: &str) -> AuthorizationResponse {
    let mut vp_token = Map::new();
    vp_token.insert("rrc".into(), json!(["eyJ...presentation"]));
    AuthorizationResponse::Success {
        vp_token,
        state: Some(state.to_owned()),
    }
}

#[test]
fn an_encrypted_response_round_trips_through_a_same_device_transaction() {
    let mut tx = Transaction::new(&SystemRandom, ResponseMode::DirectPostJwt, true).unwrap();
    let req = request(&tx);
    let metadata = req.client_metadata.as_ref().unwrap();
    assert_eq!(
        metadata.encrypted_response_enc_values_supported,
        ["A128GCM", "A256GCM"]
    );
    let jwk = &metadata.jwks.as_ref().unwrap()["keys"][0];
    assert_eq!(jwk["alg"], "ECDH-ES");
    assert_eq!(jwk["use"], "enc");
    assert!(
        jwk.get("d").is_none(),
        "the request carries the public key only"
    );
    // 128-bit state and nonce.
    assert_eq!(b64url_decode(&tx.state).unwrap().len(), 16);
    assert_eq!(b64url_decode(&tx.nonce).unwrap().len(), 16);

    let jwe = encrypt_response(provider(), &SystemRandom, &req, &answer(&tx.state)).unwrap();
    let header: Value =
        serde_json::from_slice(&b64url_decode(jwe.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["enc"], "A256GCM", "HAIP: the wallet prefers A256GCM");
    assert_eq!(header["kid"], jwk["kid"]);
    let body = direct_post_jwt_body(&jwe);
    assert_eq!(
        parse_direct_post(body.as_bytes()).unwrap(),
        PostedResponse::Encrypted(jwe.clone())
    );
    let code = tx
        .accept(provider(), &SystemRandom, body.as_bytes())
        .unwrap()
        .expect("same-device: a response_code");
    assert_eq!(tx.status(), TransactionState::Answered);
    // The result only for the holder of the code.
    assert_eq!(tx.result(None).unwrap_err(), Oid4vpError::ResponseCode);
    assert_eq!(
        tx.result(Some("guessed")).unwrap_err(),
        Oid4vpError::ResponseCode
    );
    assert_eq!(tx.result(Some(&code)).unwrap(), &answer(&tx.state));
    // A replay of the same body.
    assert_eq!(
        tx.accept(provider(), &SystemRandom, body.as_bytes())
            .unwrap_err(),
        Oid4vpError::Replayed
    );
}

#[test]
fn every_refusal_is_its_own_error() {
    let accept = |tx: &mut Transaction, body: &str| {
        tx.accept(provider(), &SystemRandom, body.as_bytes())
            .unwrap_err()
    };
    // Encrypted to another request's key (substitution across transactions).
    let mut tx = Transaction::new(&SystemRandom, ResponseMode::DirectPostJwt, false).unwrap();
    let other = Transaction::new(&SystemRandom, ResponseMode::DirectPostJwt, false).unwrap();
    let for_other = encrypt_response(
        provider(),
        &SystemRandom,
        &request(&other),
        &answer(&tx.state),
    )
    .unwrap();
    assert_eq!(
        accept(&mut tx, &direct_post_jwt_body(&for_other)).code(),
        "Jwe.KeyId"
    );
    // The same, with the kid removed: the key agreement fails instead.
    let parts: Vec<&str> = for_other.split('.').collect();
    let mut header: Map<String, Value> =
        serde_json::from_slice(&b64url_decode(parts[0]).unwrap()).unwrap();
    header.remove("kid");
    let no_kid = [
        b64url(Value::Object(header).to_string().as_bytes()).as_str(),
        parts[1],
        parts[2],
        parts[3],
        parts[4],
    ]
    .join(".");
    assert_eq!(
        accept(&mut tx, &direct_post_jwt_body(&no_kid)).code(),
        "Jwe.Decryption"
    );
    // An altered tag.
    let good =
        encrypt_response(provider(), &SystemRandom, &request(&tx), &answer(&tx.state)).unwrap();
    let mut altered: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut tag = b64url_decode(&altered[4]).unwrap();
    tag[0] ^= 0x80;
    altered[4] = b64url(&tag);
    assert_eq!(
        accept(&mut tx, &direct_post_jwt_body(&altered.join("."))).code(),
        "Jwe.Decryption"
    );
    // A downgrade: the VP Token in the clear to an encrypted request.
    let clear = direct_post_body(&answer(&tx.state));
    assert_eq!(
        accept(&mut tx, &clear),
        Oid4vpError::ResponseMode("a response in the clear")
    );
    // Another transaction's state, correctly encrypted to this one's key.
    let wrong_state = encrypt_response(
        provider(),
        &SystemRandom,
        &request(&tx),
        &answer(&other.state),
    )
    .unwrap();
    assert_eq!(
        accept(&mut tx, &direct_post_jwt_body(&wrong_state)),
        Oid4vpError::StateMismatch
    );
    // None of that consumed the transaction: the right response is still accepted.
    assert_eq!(tx.status(), TransactionState::Pending);
    assert_eq!(
        tx.accept(
            provider(),
            &SystemRandom,
            direct_post_jwt_body(&good).as_bytes()
        )
        .unwrap(),
        None
    );
    assert_eq!(tx.result(None).unwrap(), &answer(&tx.state));

    // A plain transaction refuses an encrypted response, and takes an error in the clear.
    let mut plain = Transaction::new(&SystemRandom, ResponseMode::DirectPost, false).unwrap();
    assert_eq!(plain.key.as_ref().map(ResponseKey::kid), None);
    assert_eq!(
        accept(&mut plain, &direct_post_jwt_body(&good)),
        Oid4vpError::ResponseMode("an encrypted response")
    );
    assert_eq!(plain.result(None).unwrap_err(), Oid4vpError::Pending);
    let denied = AuthorizationResponse::Error {
        error: "access_denied".into(),
        description: Some("the user declined".into()),
        state: Some(plain.state.clone()),
    };
    plain
        .accept(
            provider(),
            &SystemRandom,
            direct_post_body(&denied).as_bytes(),
        )
        .unwrap();
    assert_eq!(plain.result(None).unwrap(), &denied);

    // Bodies: a parameter twice, response beside clear parameters, vp_token not JSON.
    for (body, code) in [
        ("response=a&response=b", "Malformed"),
        ("response=a&state=s", "Malformed"),
        ("vp_token=%7Bnot-json&state=s", "Malformed"),
        ("state=s", "Missing"),
        ("vp_token=%5B%5D&state=s", "Malformed"),
    ] {
        assert_eq!(
            parse_direct_post(body.as_bytes()).unwrap_err().code(),
            code,
            "{body}"
        );
    }
}

#[test]
fn the_wallet_refuses_requests_it_cannot_encrypt_to() {
    let tx = Transaction::new(&SystemRandom, ResponseMode::DirectPostJwt, false).unwrap();
    let mut req = request(&tx);
    // Only an enc kmid does not implement.
    req.client_metadata
        .as_mut()
        .unwrap()
        .encrypted_response_enc_values_supported = vec!["A128CBC-HS256".into()];
    assert_eq!(
        encrypt_response(provider(), &SystemRandom, &req, &answer("s"))
            .unwrap_err()
            .code(),
        "Unsupported"
    );
    // Nothing listed: the default, A128GCM.
    req.client_metadata
        .as_mut()
        .unwrap()
        .encrypted_response_enc_values_supported = Vec::new();
    let jwe = encrypt_response(provider(), &SystemRandom, &req, &answer("s")).unwrap();
    let header: Value =
        serde_json::from_slice(&b64url_decode(jwe.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["enc"], "A128GCM");
    // A key without alg, or an X25519 key: not usable.
    let metadata = req.client_metadata.as_mut().unwrap();
    let mut key = metadata.jwks.as_ref().unwrap()["keys"][0].clone();
    key.as_object_mut().unwrap().remove("alg");
    metadata.jwks = Some(
        json!({ "keys": [key, { "kty": "OKP", "crv": "X25519", "alg": "ECDH-ES", "x": "AAAA" }] }),
    );
    assert_eq!(
        encrypt_response(provider(), &SystemRandom, &req, &answer("s"))
            .unwrap_err()
            .code(),
        "Missing"
    );
}

/// The `direct_post.jwt` body written as is for a compact JWE is the form encoding's, and
/// anything else is still encoded.
#[test]
fn the_jwt_body_is_the_form_encoding() {
    for jwe in [
        "eyJhbGciOiJFQ0RILUVTIn0..AAAA_-Az.Zm9v.YmFy",
        "not+a jwe/&=%\u{00e9}",
        "",
    ] {
        let expected = form_urlencoded::Serializer::new(String::new())
            .append_pair("response", jwe)
            .finish();
        assert_eq!(direct_post_jwt_body(jwe), expected, "{jwe}");
    }
}
