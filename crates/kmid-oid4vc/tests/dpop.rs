//! DPoP (RFC 9449): the RFC's own example proof verifies with the thumbprint it publishes; a
//! wallet's proofs verify at the token endpoint and at a resource; and each check refuses with
//! its own error: another key, method or URL, a stale `iat`, a missing or old nonce, a wrong
//! `ath`, `alg: none`, a private key in `jwk`, `kid` beside it, another `typ`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use kmid_crypto::jose::{b64url, b64url_decode, sign_compact};
use kmid_crypto::{CryptoProvider, Curve, PrivateKey, Signer, SystemRandom};
use kmid_oid4vc::dpop::{DpopCheck, DpopError, DpopProof, DpopRequest, verify_dpop_proof};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

const TOKEN_URL: &str = "https://issuer.kmid.invalid/token";
const CREDENTIAL_URL: &str = "https://issuer.kmid.invalid/credential";

fn provider() -> &'static CryptoProvider {
    CryptoProvider::get_default()
}

fn at() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_796_000_000).unwrap()
}

fn wallet_key() -> Arc<dyn Signer> {
    Arc::new(PrivateKey::generate(Curve::P256).unwrap())
}

fn proof(signer: &Arc<dyn Signer>, request: &DpopRequest<'_>, at: OffsetDateTime) -> String {
    DpopProof::create(provider(), &SystemRandom, signer, request, at).unwrap()
}

fn token_request(nonce: Option<&str>) -> DpopRequest<'_> {
    DpopRequest {
        method: "POST",
        url: TOKEN_URL,
        nonce,
        access_token: None,
    }
}

fn check<'a>(nonces: &'a [&'a str], access: Option<(&'a str, &'a str)>) -> DpopCheck<'a> {
    DpopCheck {
        method: "POST",
        url: TOKEN_URL,
        nonces,
        nonce_valid: None,
        access_token: access,
        at: at(),
    }
}

#[test]
fn the_rfcs_example_proof_verifies_with_its_published_thumbprint() {
    let v: Value =
        serde_json::from_str(include_str!("../../../test-vectors/rfc9449/vectors.json")).unwrap();
    let verified = verify_dpop_proof(
        provider(),
        v["proof"].as_str().unwrap(),
        &DpopCheck {
            method: v["method"].as_str().unwrap(),
            url: v["url"].as_str().unwrap(),
            nonces: &[],
            nonce_valid: None,
            access_token: None,
            at: OffsetDateTime::from_unix_timestamp(v["iat"].as_i64().unwrap()).unwrap(),
        },
    )
    .unwrap();
    assert_eq!(verified.jkt, v["jkt"].as_str().unwrap());
}

#[test]
fn a_wallets_proof_verifies_at_the_token_endpoint_and_binds_the_token() {
    let signer = wallet_key();
    let verified = verify_dpop_proof(
        provider(),
        &proof(&signer, &token_request(None), at()),
        &check(&[], None),
    )
    .unwrap();
    assert_eq!(
        verified.jkt,
        signer
            .public_key()
            .thumbprint_sha256_on(provider())
            .unwrap()
    );
    assert!(verified.replay_until > at());
    // Two proofs of one key have two replay handles; the same proof has one.
    let p = proof(&signer, &token_request(None), at());
    let a = verify_dpop_proof(provider(), &p, &check(&[], None)).unwrap();
    let b = verify_dpop_proof(provider(), &p, &check(&[], None)).unwrap();
    assert_eq!(a.replay_handle, b.replay_handle);
    assert_ne!(a.replay_handle, verified.replay_handle);
    // The server's URL may be written in another normal form; a query is left out of htu.
    let with_query = proof(
        &signer,
        &DpopRequest {
            url: "https://issuer.kmid.invalid/token?x=1",
            ..token_request(None)
        },
        at(),
    );
    verify_dpop_proof(
        provider(),
        &with_query,
        &DpopCheck {
            url: "HTTPS://Issuer.KMID.invalid:443/token",
            ..check(&[], None)
        },
    )
    .unwrap();
}

#[test]
fn at_a_resource_the_proof_must_carry_the_tokens_hash_and_key() {
    let signer = wallet_key();
    let jkt = signer
        .public_key()
        .thumbprint_sha256_on(provider())
        .unwrap();
    fn resource(token: &str) -> DpopRequest<'_> {
        DpopRequest {
            method: "POST",
            url: CREDENTIAL_URL,
            nonce: None,
            access_token: Some(token),
        }
    }
    let at_resource = |token: &'static str, jkt: &'static str| DpopCheck {
        method: "POST",
        url: CREDENTIAL_URL,
        nonces: &[],
        nonce_valid: None,
        access_token: Some((token, jkt)),
        at: at(),
    };
    let jkt: &'static str = Box::leak(jkt.into_boxed_str());
    let good = proof(&signer, &resource("token-1"), at());
    verify_dpop_proof(provider(), &good, &at_resource("token-1", jkt)).unwrap();
    // Another token than the one the proof hashed.
    assert_eq!(
        verify_dpop_proof(provider(), &good, &at_resource("token-2", jkt)).unwrap_err(),
        DpopError::AccessTokenHash
    );
    // A proof by another key for the token (a stolen token and the thief's own key).
    let thief = proof(&wallet_key(), &resource("token-1"), at());
    assert_eq!(
        verify_dpop_proof(provider(), &thief, &at_resource("token-1", jkt)).unwrap_err(),
        DpopError::KeyMismatch
    );
    // No ath at all.
    let bare = proof(
        &signer,
        &DpopRequest {
            access_token: None,
            ..resource("token-1")
        },
        at(),
    );
    assert_eq!(
        verify_dpop_proof(provider(), &bare, &at_resource("token-1", jkt)).unwrap_err(),
        DpopError::AccessTokenHash
    );
}

#[test]
fn each_check_refuses_with_its_own_error() {
    let signer = wallet_key();
    let good = proof(&signer, &token_request(None), at());
    let refuse = |p: &str, c: &DpopCheck<'_>| verify_dpop_proof(provider(), p, c).unwrap_err();
    // Another method, another URL, a URL with another port.
    assert_eq!(
        refuse(
            &good,
            &DpopCheck {
                method: "GET",
                ..check(&[], None)
            }
        ),
        DpopError::Method
    );
    assert_eq!(
        refuse(
            &good,
            &DpopCheck {
                url: CREDENTIAL_URL,
                ..check(&[], None)
            }
        ),
        DpopError::Url
    );
    assert_eq!(
        refuse(
            &good,
            &DpopCheck {
                url: "https://issuer.kmid.invalid:8443/token",
                ..check(&[], None)
            }
        ),
        DpopError::Url
    );
    // iat six minutes away, either side.
    for skew in [Duration::minutes(6), Duration::minutes(-6)] {
        let p = proof(&signer, &token_request(None), at() + skew);
        assert_eq!(refuse(&p, &check(&[], None)), DpopError::Stale);
    }
    // The server requires its nonce: none, or an old one, gets use_dpop_nonce.
    let refused = refuse(&good, &check(&["n-2"], None));
    assert_eq!(refused, DpopError::UseNonce);
    assert_eq!(refused.oauth_error(), "use_dpop_nonce");
    let old = proof(&signer, &token_request(Some("n-1")), at());
    assert_eq!(refuse(&old, &check(&["n-2"], None)), DpopError::UseNonce);
    verify_dpop_proof(provider(), &old, &check(&["n-2", "n-1"], None)).unwrap();

    // Forged headers, signed properly by the key they name (or not at all).
    let public = serde_json::to_value(signer.public_key().to_jwk()).unwrap();
    let claims = json!({
        "jti": "j-1", "htm": "POST", "htu": TOKEN_URL, "iat": at().unix_timestamp(),
    });
    let forge = |header: Value, signer: &Arc<dyn Signer>| {
        let Value::Object(header) = header else {
            panic!()
        };
        sign_compact(header, claims.to_string().as_bytes(), signer).unwrap()
    };
    let typ = forge(json!({ "typ": "JWT", "jwk": public }), &signer);
    assert_eq!(refuse(&typ, &check(&[], None)), DpopError::WrongType);
    let kid = forge(
        json!({ "typ": "dpop+jwt", "jwk": public, "kid": "k" }),
        &signer,
    );
    assert!(matches!(refuse(&kid, &check(&[], None)), DpopError::Key(_)));
    let none = format!(
        "{}.{}.",
        b64url(
            json!({ "typ": "dpop+jwt", "alg": "none", "jwk": public })
                .to_string()
                .as_bytes()
        ),
        b64url(claims.to_string().as_bytes())
    );
    assert_eq!(refuse(&none, &check(&[], None)), DpopError::Algorithm);
    // A private key in the header.
    let key = PrivateKey::generate(Curve::P256).unwrap();
    let private = serde_json::to_value(key.to_jwk().unwrap()).unwrap();
    let leaked: Arc<dyn Signer> = Arc::new(key);
    let private = forge(json!({ "typ": "dpop+jwt", "jwk": private }), &leaked);
    assert!(matches!(
        refuse(&private, &check(&[], None)),
        DpopError::Key(_)
    ));
    // A header naming one key, signed by another.
    let other = wallet_key();
    let swapped = forge(json!({ "typ": "dpop+jwt", "jwk": public }), &other);
    assert_eq!(refuse(&swapped, &check(&[], None)), DpopError::Signature);
    // A claim missing.
    let mut no_jti: Map<String, Value> = claims.as_object().unwrap().clone();
    no_jti.remove("jti");
    let Value::Object(header) = json!({ "typ": "dpop+jwt", "jwk": public }) else {
        panic!()
    };
    let no_jti = sign_compact(
        header,
        Value::Object(no_jti).to_string().as_bytes(),
        &signer,
    )
    .unwrap();
    assert_eq!(
        refuse(&no_jti, &check(&[], None)),
        DpopError::Malformed("jti")
    );
    // An altered payload.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    let mut payload: Value = serde_json::from_slice(&b64url_decode(&parts[1]).unwrap()).unwrap();
    payload["htm"] = json!("PUT");
    parts[1] = b64url(payload.to_string().as_bytes());
    assert_eq!(
        refuse(&parts.join("."), &check(&[], None)),
        DpopError::Signature
    );
    // Oversized.
    assert!(matches!(
        refuse(&"a".repeat(5000), &check(&[], None)),
        DpopError::Malformed(_)
    ));
}
