//! Client authentication by wallet attestation (HAIP 1.0 §4.3.1): the specification's
//! example attestation verifies under its own certificate and is refused under HAIP's rules; a
//! provider's attestation and its instance's PoP verify; each failure is `invalid_client` with
//! its reason (untrusted or self-signed provider, expired attestation, a PoP by another key,
//! for another server, from another client, stale), and a server that hands out challenges
//! answers `use_attestation_challenge` until the PoP carries a live one.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;

use kmid_crypto::jose::{CompactJws, sign_compact};
use kmid_crypto::x509::{Certificate, TrustStore, chain_from_x5c};
use kmid_crypto::{Algorithm, CryptoProvider, Curve, PrivateKey, Signer, SystemRandom};
use kmid_oid4vc::vci::VciError;
use kmid_oid4vc::vci::client_attestation::{
    ClientAuthCheck, WalletAttestationClaims, client_attestation_pop, issue_wallet_attestation,
    verify_client_attestation,
};
use kmid_testkit::{Authority, REFERENCE_TIME, Rfc6979Signer, TestPki};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

const AS: &str = "https://issuer.kmid.invalid";
const CLIENT: &str = "https://wallet.kmid.invalid";

fn provider() -> &'static CryptoProvider {
    CryptoProvider::get_default()
}

fn at() -> OffsetDateTime {
    REFERENCE_TIME
}

struct World {
    pki: TestPki,
    provider_signer: Arc<dyn Signer>,
    chain: Vec<Certificate>,
    trust: TrustStore,
    instance: Arc<dyn Signer>,
}

fn world() -> World {
    let pki = TestPki::new();
    let mut trust = TrustStore::new();
    trust.add(pki.reader_root.clone()).unwrap();
    World {
        provider_signer: Arc::new(Rfc6979Signer::for_test_key("reader")),
        chain: vec![pki.reader.clone()],
        trust,
        instance: Arc::new(PrivateKey::generate(Curve::P256).unwrap()),
        pki,
    }
}

fn attestation(w: &World, lifetime: Duration) -> String {
    issue_wallet_attestation(
        &w.provider_signer,
        &w.chain,
        &WalletAttestationClaims {
            provider: "https://wallet-provider.kmid.invalid",
            client_id: CLIENT,
            wallet_name: Some("kmid test wallet"),
            instance_key: w.instance.public_key(),
            at: at(),
            lifetime,
        },
    )
    .unwrap()
}

fn check<'a>(trust: &'a TrustStore) -> ClientAuthCheck<'a> {
    ClientAuthCheck {
        provider: provider(),
        trust,
        authorization_server: AS,
        challenge: None,
        at: at(),
    }
}

fn pop(
    signer: &Arc<dyn Signer>,
    client: &str,
    aud: &str,
    challenge: Option<&str>,
    at: OffsetDateTime,
) -> String {
    client_attestation_pop(signer, &SystemRandom, client, aud, challenge, at).unwrap()
}

fn reason(e: VciError) -> &'static str {
    match e {
        VciError::InvalidClient(why) => why,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_specifications_example_attestation_verifies_and_haip_refuses_its_signer() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../test-vectors/openid4vci-1.0/wallet_attestation.jwt.txt"),
    )
    .unwrap();
    let jwt: String = text.split_whitespace().collect();
    let jws = CompactJws::parse(&jwt).unwrap();
    assert!(jws.typ_is("oauth-client-attestation+jwt"));
    let x5c: Vec<String> = jws.header["x5c"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let chain = chain_from_x5c(&x5c).unwrap();
    jws.verify(
        chain[0].public_key(),
        Algorithm::Es256,
        provider().signature_verifier,
    )
    .unwrap();
    let claims = jws.payload_object().unwrap();
    assert_eq!(claims["sub"], "https://wallet.example.com");
    // Under HAIP its single certificate can only be its own anchor: refused.
    let mut trust = TrustStore::new();
    trust.add(chain[0].clone()).unwrap();
    let signer: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let when = OffsetDateTime::from_unix_timestamp(1_755_023_600).unwrap();
    let refused = verify_client_attestation(
        &jwt,
        &pop(&signer, "https://wallet.example.com", AS, None, when),
        &ClientAuthCheck {
            at: when,
            ..check(&trust)
        },
    )
    .unwrap_err();
    assert_eq!(
        reason(refused),
        "the anchor is inside the attestation's x5c"
    );
}

#[test]
fn an_attested_instance_authenticates_and_each_failure_says_why() {
    let w = world();
    let att = attestation(&w, Duration::hours(1));
    let good = pop(&w.instance, CLIENT, AS, None, at());
    let verified = verify_client_attestation(&att, &good, &check(&w.trust)).unwrap();
    assert_eq!(verified.client_id, CLIENT);
    assert_eq!(verified.wallet_name.as_deref(), Some("kmid test wallet"));
    assert_eq!(&verified.instance_key, w.instance.public_key());
    // The same PoP twice has one replay handle (the caller's store refuses the second).
    let again = verify_client_attestation(&att, &good, &check(&w.trust)).unwrap();
    assert_eq!(again.replay_handle, verified.replay_handle);
    let other_pop = pop(&w.instance, CLIENT, AS, None, at());
    assert_ne!(
        verify_client_attestation(&att, &other_pop, &check(&w.trust))
            .unwrap()
            .replay_handle,
        verified.replay_handle
    );

    let why = |att: &str, pop: &str, c: &ClientAuthCheck<'_>| {
        reason(verify_client_attestation(att, pop, c).unwrap_err())
    };
    // Another wallet provider's anchors.
    let mut other = TrustStore::new();
    other
        .add(w.pki.issuer(Authority::Mois).iaca.clone())
        .unwrap();
    assert_eq!(
        why(&att, &good, &check(&other)),
        "attestation signer not under the wallet-provider anchors"
    );
    // Expired.
    let later = ClientAuthCheck {
        at: at() + Duration::hours(2),
        ..check(&w.trust)
    };
    let late_pop = pop(&w.instance, CLIENT, AS, None, at() + Duration::hours(2));
    assert_eq!(why(&att, &late_pop, &later), "the attestation expired");
    // A PoP by another key (a stolen attestation), for another server, from another client,
    // stale.
    let thief: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    assert_eq!(
        why(&att, &pop(&thief, CLIENT, AS, None, at()), &check(&w.trust)),
        "PoP signature (not the attested key)"
    );
    assert_eq!(
        why(
            &att,
            &pop(
                &w.instance,
                CLIENT,
                "https://other.kmid.invalid",
                None,
                at()
            ),
            &check(&w.trust)
        ),
        "PoP aud is not this authorization server"
    );
    assert_eq!(
        why(
            &att,
            &pop(
                &w.instance,
                "https://other-wallet.kmid.invalid",
                AS,
                None,
                at()
            ),
            &check(&w.trust)
        ),
        "PoP iss is not the attested client_id"
    );
    assert_eq!(
        why(
            &att,
            &pop(&w.instance, CLIENT, AS, None, at() - Duration::minutes(10)),
            &check(&w.trust)
        ),
        "PoP iat outside the window"
    );
    // A self-signed provider certificate under another anchor.
    let self_signed = World {
        provider_signer: Arc::new(Rfc6979Signer::for_test_key("reader-root")),
        chain: vec![w.pki.reader_root.clone()],
        trust: other.clone(),
        instance: Arc::clone(&w.instance),
        pki: TestPki::new(),
    };
    assert_eq!(
        why(
            &attestation(&self_signed, Duration::hours(1)),
            &good,
            &check(&other)
        ),
        "the attestation signer is self-signed"
    );
    // An attestation whose cnf holds no key.
    let Value::Object(header) = json!({ "typ": "oauth-client-attestation+jwt", "x5c": kmid_crypto::x509::chain_to_x5c(&w.chain) })
    else {
        panic!()
    };
    let no_cnf = sign_compact(
        header,
        json!({ "iss": "p", "sub": CLIENT, "exp": at().unix_timestamp() + 60 })
            .to_string()
            .as_bytes(),
        &w.provider_signer,
    )
    .unwrap();
    assert_eq!(why(&no_cnf, &good, &check(&w.trust)), "attestation cnf.jwk");
}

#[test]
fn a_server_with_challenges_wants_a_live_one() {
    let w = world();
    let att = attestation(&w, Duration::hours(1));
    let live = |c: &str| c == "challenge-7";
    let with_challenges = ClientAuthCheck {
        challenge: Some(&live),
        ..check(&w.trust)
    };
    let without = pop(&w.instance, CLIENT, AS, None, at());
    let refused = verify_client_attestation(&att, &without, &with_challenges).unwrap_err();
    assert_eq!(refused, VciError::UseAttestationChallenge);
    assert_eq!(refused.oauth_error(), "use_attestation_challenge");
    let stale = pop(&w.instance, CLIENT, AS, Some("challenge-6"), at());
    assert_eq!(
        verify_client_attestation(&att, &stale, &with_challenges).unwrap_err(),
        VciError::UseAttestationChallenge
    );
    let fresh = pop(&w.instance, CLIENT, AS, Some("challenge-7"), at());
    verify_client_attestation(&att, &fresh, &with_challenges).unwrap();
}
