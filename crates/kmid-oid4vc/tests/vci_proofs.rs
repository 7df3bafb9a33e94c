//! Key proofs and key attestations (OpenID4VCI 1.0 Appendix D and F, HAIP 1.0 §4.5.1), and
//! the stateless nonces they carry: a proof per key, a batch covered by one attestation, the
//! `attestation` proof type; and each refusal by its code — another `aud`, `iss` after
//! anonymous access, a stale `iat`, a key not attested, an attestation from an untrusted or
//! self-signed provider or with its anchor inside, one that does not meet the requirements or
//! expired, a batch over `batch_size`, several proofs no attestation covers; a nonce of another
//! issuer, use or time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use kmid_crypto::jose::sign_compact;
use kmid_crypto::x509::{Certificate, TrustStore, chain_to_x5c};
use kmid_crypto::{CryptoProvider, Curve, PrivateKey, Signer, SystemRandom};
use kmid_oid4vc::vci::metadata::{KeyAttestationsRequired, ProofTypeMetadata};
use kmid_oid4vc::vci::nonce::{C_NONCE_LIFETIME, NonceKey, NonceUse};
use kmid_oid4vc::vci::proof::{
    ProofCheck, verify_attestation_proof, verify_jwt_proof, verify_proofs,
};
use kmid_oid4vc::vci::{ProofRefusal, VciError};
use kmid_testkit::{Authority, REFERENCE_TIME, Rfc6979Signer, TestPki};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

const ISSUER: &str = "https://issuer.kmid.invalid";

fn provider() -> &'static CryptoProvider {
    CryptoProvider::get_default()
}

fn at() -> OffsetDateTime {
    REFERENCE_TIME
}

fn key() -> Arc<PrivateKey> {
    Arc::new(PrivateKey::generate(Curve::P256).unwrap())
}

fn jwk(key: &PrivateKey) -> Value {
    serde_json::to_value(key.public_key().to_jwk()).unwrap()
}

fn sign(header: Value, claims: &Value, signer: &Arc<dyn Signer>) -> String {
    let Value::Object(header) = header else {
        panic!()
    };
    sign_compact(header, claims.to_string().as_bytes(), signer).unwrap()
}

/// The wallet provider: the test PKI's reader key and certificate under its root.
struct Provider {
    signer: Arc<dyn Signer>,
    chain: Vec<Certificate>,
    trust: TrustStore,
}

fn wallet_provider() -> Provider {
    let pki = TestPki::new();
    let mut trust = TrustStore::new();
    trust.add(pki.reader_root.clone()).unwrap();
    Provider {
        signer: Arc::new(Rfc6979Signer::for_test_key("reader")),
        chain: vec![pki.reader.clone()],
        trust,
    }
}

fn attestation(p: &Provider, keys: &[&PrivateKey], extra: Value, exp: Option<i64>) -> String {
    let mut claims = json!({
        "iss": "https://wallet-provider.kmid.invalid",
        "iat": at().unix_timestamp(),
        "attested_keys": keys.iter().map(|k| jwk(k)).collect::<Vec<_>>(),
        "key_storage": ["iso_18045_high"],
        "user_authentication": ["iso_18045_moderate"],
    });
    if let Some(exp) = exp {
        claims["exp"] = json!(exp);
    }
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            claims[k] = v;
        }
    }
    sign(
        json!({ "typ": "key-attestation+jwt", "x5c": chain_to_x5c(&p.chain) }),
        &claims,
        &p.signer,
    )
}

fn proof(key: &Arc<PrivateKey>, header_extra: Value, claims_extra: Value) -> String {
    let mut header = json!({ "typ": "openid4vci-proof+jwt", "jwk": jwk(key) });
    let mut claims = json!({ "aud": ISSUER, "iat": at().unix_timestamp(), "nonce": "n-1" });
    for (target, extra) in [(&mut header, header_extra), (&mut claims, claims_extra)] {
        if let Value::Object(extra) = extra {
            for (k, v) in extra {
                if v.is_null() {
                    target.as_object_mut().unwrap().remove(&k);
                } else {
                    target[k] = v;
                }
            }
        }
    }
    let signer: Arc<dyn Signer> = key.clone();
    sign(header, &claims, &signer)
}

fn metadata(required: Option<KeyAttestationsRequired>) -> ProofTypeMetadata {
    ProofTypeMetadata {
        proof_signing_alg_values_supported: vec!["ES256".into()],
        key_attestations_required: required,
        other: Map::new(),
    }
}

fn check<'a>(m: &'a ProofTypeMetadata, trust: &'a TrustStore) -> ProofCheck<'a> {
    ProofCheck {
        provider: provider(),
        credential_issuer: ISSUER,
        client_id: None,
        metadata: m,
        attestation_trust: trust,
        nonce_required: false,
        at: at(),
    }
}

fn refusal(e: VciError) -> ProofRefusal {
    match e {
        VciError::InvalidProof(r) => r,
        other => panic!("not a proof refusal: {other:?}"),
    }
}

#[test]
fn a_plain_jwt_proof_proves_its_key_and_each_claim_is_checked() {
    let p = wallet_provider();
    let m = metadata(None);
    let c = check(&m, &p.trust);
    let k = key();
    let proven = verify_jwt_proof(&proof(&k, json!({}), json!({})), &c).unwrap();
    assert_eq!(proven.keys, vec![k.public_key().clone()]);
    assert_eq!(proven.nonces, vec!["n-1".to_owned()]);
    let code = |p: &str, c: &ProofCheck<'_>| refusal(verify_jwt_proof(p, c).unwrap_err()).code();
    assert_eq!(
        code(
            &proof(
                &k,
                json!({}),
                json!({ "aud": "https://other.kmid.invalid" })
            ),
            &c
        ),
        "Audience"
    );
    // iss after anonymous access, or another client's; absent is fine when a client is known
    // (Appendix F.1: OPTIONAL).
    assert_eq!(
        code(&proof(&k, json!({}), json!({ "iss": "wallet" })), &c),
        "Issuer"
    );
    let as_client = ProofCheck {
        client_id: Some("wallet"),
        ..c
    };
    assert_eq!(
        code(
            &proof(&k, json!({}), json!({ "iss": "another" })),
            &as_client
        ),
        "Issuer"
    );
    verify_jwt_proof(&proof(&k, json!({}), json!({})), &as_client).unwrap();
    verify_jwt_proof(
        &proof(&k, json!({}), json!({ "iss": "wallet" })),
        &as_client,
    )
    .unwrap();
    let stale = at().unix_timestamp() - 600;
    assert_eq!(
        code(&proof(&k, json!({}), json!({ "iat": stale })), &c),
        "Time"
    );
    assert_eq!(
        code(&proof(&k, json!({ "typ": "JWT" }), json!({})), &c),
        "Type"
    );
    assert_eq!(
        code(&proof(&k, json!({ "kid": "k-1" }), json!({})), &c),
        "Key"
    );
    assert_eq!(
        code(
            &proof(
                &k,
                json!({ "kid": "did:example:1#0", "jwk": null }),
                json!({})
            ),
            &c
        ),
        "Key"
    );
    // The header's key is not the signer's.
    let other = key();
    assert_eq!(
        code(&proof(&k, json!({ "jwk": jwk(&other) }), json!({})), &c),
        "Signature"
    );
    // ES384 is not in the metadata.
    let p384 = Arc::new(PrivateKey::generate(Curve::P384).unwrap());
    assert_eq!(code(&proof(&p384, json!({}), json!({})), &c), "Algorithm");
    // A private key in the header.
    let mut private = serde_json::to_value(k.to_jwk().unwrap()).unwrap();
    private["kid"] = json!(null);
    assert_eq!(
        code(&proof(&k, json!({ "jwk": private }), json!({})), &c),
        "Key"
    );
}

#[test]
fn a_key_attestation_covers_a_batch_and_every_rule_refuses() {
    let p = wallet_provider();
    let required = KeyAttestationsRequired {
        key_storage: Some(vec!["iso_18045_high".into()]),
        user_authentication: Some(vec!["iso_18045_moderate".into(), "iso_18045_high".into()]),
    };
    let m = metadata(Some(required));
    let c = check(&m, &p.trust);
    let keys: Vec<Arc<PrivateKey>> = (0..3).map(|_| key()).collect();
    let refs: Vec<&PrivateKey> = keys.iter().map(AsRef::as_ref).collect();
    let exp = Some(at().unix_timestamp() + 3600);
    let att = attestation(&p, &refs, json!({ "nonce": "n-2" }), exp);
    // A jwt proof by the first attested key, with the attestation in its header: every
    // attested key gets a credential; both nonces are to be spent.
    let one = proof(&keys[0], json!({ "key_attestation": att }), json!({}));
    let proven = verify_jwt_proof(&one, &c).unwrap();
    assert_eq!(proven.keys.len(), 3);
    assert_eq!(proven.nonces, vec!["n-1".to_owned(), "n-2".to_owned()]);
    // `kid` naming an attested key by index, as the specification's example does.
    let by_kid = proof(
        &keys[1],
        json!({ "key_attestation": att, "kid": "1", "jwk": null }),
        json!({}),
    );
    assert_eq!(verify_jwt_proof(&by_kid, &c).unwrap().keys.len(), 3);
    let wrong_kid = proof(
        &keys[1],
        json!({ "key_attestation": att, "kid": "7", "jwk": null }),
        json!({}),
    );
    assert_eq!(
        refusal(verify_jwt_proof(&wrong_kid, &c).unwrap_err()).code(),
        "Key"
    );
    // The attestation proof type.
    let proven = verify_attestation_proof(&att, &c).unwrap();
    assert_eq!(proven.keys.len(), 3);
    assert_eq!(proven.nonces, vec!["n-2".to_owned()]);
    // Batches through `proofs`: within batch_size, over it, several proofs one attestation covers.
    let proofs = json!({ "jwt": [one] });
    assert_eq!(verify_proofs(&proofs, &c, Some(3)).unwrap().keys.len(), 3);
    assert_eq!(
        refusal(verify_proofs(&proofs, &c, Some(2)).unwrap_err()),
        ProofRefusal::BatchSize
    );
    let second = proof(&keys[2], json!({ "key_attestation": att }), json!({}));
    assert_eq!(
        verify_proofs(&json!({ "jwt": [one, second] }), &c, Some(3))
            .unwrap()
            .keys
            .len(),
        3
    );
    assert_eq!(
        refusal(verify_proofs(&json!({ "attestation": [att] }), &c, None).unwrap_err()),
        ProofRefusal::BatchSize
    );
    assert_eq!(
        refusal(verify_proofs(&json!({ "jwt": [], }), &c, Some(3)).unwrap_err()).code(),
        "Malformed"
    );
    assert_eq!(
        refusal(
            verify_proofs(&json!({ "jwt": [one], "attestation": [att] }), &c, Some(3)).unwrap_err()
        )
        .code(),
        "Malformed"
    );
    assert_eq!(
        verify_proofs(&json!({ "di_vp": ["x"] }), &c, Some(3))
            .unwrap_err()
            .code(),
        "InvalidProof.Malformed"
    );

    let code = |proof: &str| refusal(verify_jwt_proof(proof, &c).unwrap_err()).code();
    // A proof by a key the attestation does not list.
    let stranger = key();
    assert_eq!(
        code(&proof(
            &stranger,
            json!({ "key_attestation": att }),
            json!({})
        )),
        "NotAttested"
    );
    // Required and absent.
    assert_eq!(code(&proof(&keys[0], json!({}), json!({}))), "Requirements");
    // Below the required key storage level.
    let weak = attestation(
        &p,
        &refs,
        json!({ "key_storage": ["iso_18045_basic"] }),
        exp,
    );
    assert_eq!(
        code(&proof(
            &keys[0],
            json!({ "key_attestation": weak }),
            json!({})
        )),
        "Requirements"
    );
    // Expired, or without exp inside a jwt proof.
    let expired = attestation(&p, &refs, json!({}), Some(at().unix_timestamp() - 1));
    assert_eq!(
        code(&proof(
            &keys[0],
            json!({ "key_attestation": expired }),
            json!({})
        )),
        "Time"
    );
    let no_exp = attestation(&p, &refs, json!({}), None);
    assert_eq!(
        code(&proof(
            &keys[0],
            json!({ "key_attestation": no_exp }),
            json!({})
        )),
        "Malformed"
    );
    // Several plain proofs: nothing shows the keys share a phone.
    let m_plain = metadata(None);
    let c_plain = check(&m_plain, &p.trust);
    let plain = |k: &Arc<PrivateKey>| proof(k, json!({}), json!({}));
    assert_eq!(
        refusal(
            verify_proofs(
                &json!({ "jwt": [plain(&keys[0]), plain(&keys[1])] }),
                &c_plain,
                Some(3)
            )
            .unwrap_err()
        )
        .code(),
        "Requirements"
    );
}

#[test]
fn an_attestation_signer_is_held_to_haips_rules() {
    let p = wallet_provider();
    let m = metadata(None);
    let k = key();
    let exp = Some(at().unix_timestamp() + 3600);
    let signer_code = |att: &str, trust: &TrustStore| {
        let c = check(&m, trust);
        match refusal(verify_attestation_proof(att, &c).unwrap_err()) {
            ProofRefusal::AttestationSigner(why) => why,
            other => panic!("{other:?}"),
        }
    };
    let good = attestation(&p, &[&k], json!({}), exp);
    // Under another provider's anchors.
    let pki = TestPki::new();
    let mut other = TrustStore::new();
    other.add(pki.issuer(Authority::Mois).iaca.clone()).unwrap();
    assert_eq!(
        signer_code(&good, &other),
        "not under the wallet-provider anchors"
    );
    // The anchor inside x5c.
    let with_root = Provider {
        signer: Arc::clone(&p.signer),
        chain: vec![p.chain[0].clone(), pki.reader_root.clone()],
        trust: p.trust.clone(),
    };
    assert_eq!(
        signer_code(&attestation(&with_root, &[&k], json!({}), exp), &p.trust),
        "the anchor is inside x5c"
    );
    // Self-signed: the root signing for itself, under another anchor.
    let self_signed = Provider {
        signer: Arc::new(Rfc6979Signer::for_test_key("reader-root")),
        chain: vec![pki.reader_root.clone()],
        trust: other.clone(),
    };
    assert_eq!(
        signer_code(&attestation(&self_signed, &[&k], json!({}), exp), &other),
        "self-signed"
    );
    // Without x5c.
    let bare = sign(
        json!({ "typ": "key-attestation+jwt" }),
        &json!({ "iat": at().unix_timestamp(), "attested_keys": [jwk(&k)] }),
        &p.signer,
    );
    assert_eq!(signer_code(&bare, &p.trust), "no x5c");
}

#[test]
fn nonces_are_this_issuers_for_their_use_and_time() {
    let random = SystemRandom;
    let nonce_key = NonceKey::generate(&random).unwrap();
    let n = nonce_key
        .issue(
            provider(),
            &random,
            NonceUse::CNonce,
            at(),
            C_NONCE_LIFETIME,
        )
        .unwrap();
    let expires = nonce_key
        .check(provider(), NonceUse::CNonce, &n, at())
        .unwrap();
    assert_eq!(expires, at() + C_NONCE_LIFETIME);
    let code = |r: Result<OffsetDateTime, VciError>| r.unwrap_err();
    assert_eq!(
        code(nonce_key.check(provider(), NonceUse::Dpop, &n, at())),
        VciError::InvalidNonce("not a nonce of this issuer")
    );
    assert_eq!(
        code(nonce_key.check(
            provider(),
            NonceUse::CNonce,
            &n,
            at() + Duration::minutes(5)
        )),
        VciError::InvalidNonce("expired")
    );
    let other_issuer = NonceKey::generate(&random).unwrap();
    assert_eq!(
        code(other_issuer.check(provider(), NonceUse::CNonce, &n, at())).oauth_error(),
        "invalid_nonce"
    );
    // One changed character.
    let mut tampered = n.clone().into_bytes();
    tampered[3] = if tampered[3] == b'A' { b'B' } else { b'A' };
    assert!(
        nonce_key
            .check(
                provider(),
                NonceUse::CNonce,
                &String::from_utf8(tampered).unwrap(),
                at()
            )
            .is_err()
    );
    assert!(
        nonce_key
            .check(provider(), NonceUse::CNonce, "", at())
            .is_err()
    );
    assert!(
        nonce_key
            .check(provider(), NonceUse::CNonce, &"A".repeat(500), at())
            .is_err()
    );
}
