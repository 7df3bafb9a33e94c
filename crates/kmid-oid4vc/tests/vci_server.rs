//! The issuer's OpenID4VCI endpoints as a state machine (HAIP 1.0 §4), on the memory store and
//! on SQLite: both grants end to end with DPoP-bound tokens, batches under a key attestation,
//! notification, renewal by the refresh-token grant; and the refusals by their codes — DPoP for
//! another key, method or URL, a replayed `jti`, a stale nonce; a wrong PKCE verifier, a PAR
//! request reused, another client; an untrusted or expired wallet attestation; a key
//! attestation not covering the proofs, a batch over `batch_size`; a proof for another `aud`,
//! a used `c_nonce`; an offer reused; a `tx_code` guessed three times; `iss` of another server.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::cell::RefCell;
use std::sync::Arc;

use kmid_crypto::jose::sign_compact;
use kmid_crypto::x509::{Certificate, TrustStore, chain_to_x5c};
use kmid_crypto::{CryptoProvider, Curve, PrivateKey, Signer, SystemRandom};
use kmid_oid4vc::dpop::{DpopError, DpopProof, DpopRequest};
use kmid_oid4vc::store::{IssuanceStore, MemoryIssuanceStore};
use kmid_oid4vc::vci::client::{Pkce, authorization_code};
use kmid_oid4vc::vci::client_attestation::{
    WalletAttestationClaims, client_attestation_pop, issue_wallet_attestation,
};
use kmid_oid4vc::vci::metadata::CredentialIssuerMetadata;
use kmid_oid4vc::vci::nonce::NonceKey;
use kmid_oid4vc::vci::server::{
    CredentialMinter, IssuanceConfig, IssuanceServer, Lifetimes, MintRequest, Minted,
    NotificationEvent, RequestContext,
};
use kmid_oid4vc::vci::{ProofRefusal, VciError};
use kmid_testkit::{REFERENCE_TIME, Rfc6979Signer, TestPki};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

const ISSUER: &str = "https://issuer.kmid.invalid";
const CLIENT: &str = "https://wallet.kmid.invalid";
const REDIRECT: &str = "https://wallet.kmid.invalid/cb";
const SD_JWT: &str = "kr.go.mois.rrc.1.dc+sd-jwt";
const MDOC: &str = "kr.go.mois.rrc.1.mso_mdoc";

fn provider() -> &'static CryptoProvider {
    CryptoProvider::get_default()
}

fn at() -> OffsetDateTime {
    REFERENCE_TIME
}

fn url(path: &str) -> String {
    format!("{ISSUER}/{path}")
}

fn metadata() -> CredentialIssuerMetadata {
    let config = |format: &str, binding: &str| {
        json!({
            "format": format,
            "scope": "kr.go.mois.rrc.1",
            "cryptographic_binding_methods_supported": [binding],
            "proof_types_supported": { "jwt": { "proof_signing_alg_values_supported": ["ES256"] } },
        })
    };
    serde_json::from_value(json!({
        "credential_issuer": ISSUER,
        "credential_endpoint": url("credential"),
        "nonce_endpoint": url("nonce"),
        "notification_endpoint": url("notification"),
        "batch_credential_issuance": { "batch_size": 3 },
        "credential_configurations_supported": {
            SD_JWT: config("dc+sd-jwt", "jwk"),
            MDOC: config("mso_mdoc", "cose_key"),
        }
    }))
    .unwrap()
}

struct Minter {
    calls: RefCell<Vec<(String, usize, bool, bool)>>,
    groups: RefCell<Vec<Option<String>>>,
}

impl CredentialMinter for Minter {
    fn mint(&self, request: &MintRequest<'_>) -> Result<Minted, String> {
        if request.subject["card"] == "suspended" {
            return Err("the card is suspended".into());
        }
        self.calls.borrow_mut().push((
            request.configuration.to_owned(),
            request.keys.len(),
            request.attestation.is_some(),
            request.renewal,
        ));
        self.groups
            .borrow_mut()
            .push(request.group.map(str::to_owned));
        Ok(Minted {
            credentials: request
                .keys
                .iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        request.configuration,
                        k.thumbprint_sha256().unwrap()
                    )
                })
                .collect(),
            group: Some(format!("issuance-{}", self.calls.borrow().len())),
            references: Vec::new(),
            renewal_subject: None,
        })
    }
}

struct World {
    config: IssuanceConfig,
    store: Box<dyn IssuanceStore>,
    pki: TestPki,
    minter: Minter,
}

fn world(store: Box<dyn IssuanceStore>, require_dpop_nonce: bool) -> World {
    let pki = TestPki::new();
    let mut trust = TrustStore::new();
    trust.add(pki.reader_root.clone()).unwrap();
    World {
        config: IssuanceConfig {
            metadata: metadata(),
            nonce_key: NonceKey::from_bytes([7; 32]),
            require_dpop_nonce,
            wallet_providers: trust,
            anonymous_pre_authorized: true,
            redirect_uris: [(
                CLIENT.to_owned(),
                vec![
                    REDIRECT.to_owned(),
                    "kr.kmid.wallet:/cb".to_owned(),
                    "https://wallet.kmid.invalid/cb?x=1".to_owned(),
                    "http://wallet.kmid.invalid/cb".to_owned(),
                    "javascript:alert(1)".to_owned(),
                ],
            )]
            .into_iter()
            .collect(),
            lifetimes: Lifetimes::default(),
        },
        store,
        pki,
        minter: Minter {
            calls: RefCell::new(Vec::new()),
            groups: RefCell::new(Vec::new()),
        },
    }
}

impl World {
    fn server(&self) -> IssuanceServer<'_> {
        IssuanceServer::new(&self.config, self.store.as_ref(), provider(), &SystemRandom)
    }
}

/// A wallet: its DPoP key, its instance key (attested by the provider), device keys.
struct Wallet {
    dpop: Arc<dyn Signer>,
    instance: Arc<dyn Signer>,
    provider_signer: Arc<dyn Signer>,
    provider_chain: Vec<Certificate>,
}

fn wallet(w: &World) -> Wallet {
    Wallet {
        dpop: Arc::new(PrivateKey::generate(Curve::P256).unwrap()),
        instance: Arc::new(PrivateKey::generate(Curve::P256).unwrap()),
        provider_signer: Arc::new(Rfc6979Signer::for_test_key("reader")),
        provider_chain: vec![w.pki.reader.clone()],
    }
}

impl Wallet {
    fn dpop_for(
        &self,
        method: &str,
        path: &str,
        nonce: Option<&str>,
        token: Option<&str>,
    ) -> String {
        DpopProof::create(
            provider(),
            &SystemRandom,
            &self.dpop,
            &DpopRequest {
                method,
                url: &url(path),
                nonce,
                access_token: token,
            },
            at(),
        )
        .unwrap()
    }

    fn attestation(&self, lifetime: Duration) -> (String, String) {
        let att = issue_wallet_attestation(
            &self.provider_signer,
            &self.provider_chain,
            &WalletAttestationClaims {
                provider: "https://wallet-provider.kmid.invalid",
                client_id: CLIENT,
                wallet_name: None,
                instance_key: self.instance.public_key(),
                at: at(),
                lifetime,
            },
        )
        .unwrap();
        let pop = client_attestation_pop(&self.instance, &SystemRandom, CLIENT, ISSUER, None, at())
            .unwrap();
        (att, pop)
    }
}

fn key_proof(
    key: &Arc<PrivateKey>,
    nonce: &str,
    aud: &str,
    iss: Option<&str>,
    attestation: Option<&str>,
) -> String {
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), json!("openid4vci-proof+jwt"));
    header.insert(
        "jwk".into(),
        serde_json::to_value(key.public_key().to_jwk()).unwrap(),
    );
    if let Some(att) = attestation {
        header.insert("key_attestation".into(), json!(att));
    }
    let mut claims = json!({ "aud": aud, "iat": at().unix_timestamp(), "nonce": nonce });
    if let Some(iss) = iss {
        claims["iss"] = json!(iss);
    }
    let signer: Arc<dyn Signer> = key.clone();
    sign_compact(header, claims.to_string().as_bytes(), &signer).unwrap()
}

fn key_attestation(w: &Wallet, keys: &[&Arc<PrivateKey>], nonce: &str) -> String {
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), json!("key-attestation+jwt"));
    header.insert("x5c".into(), json!(chain_to_x5c(&w.provider_chain)));
    let claims = json!({
        "iat": at().unix_timestamp(),
        "exp": at().unix_timestamp() + 3600,
        "nonce": nonce,
        "attested_keys": keys.iter().map(|k| k.public_key().to_jwk()).collect::<Vec<_>>(),
        "key_storage": ["iso_18045_high"],
    });
    sign_compact(header, claims.to_string().as_bytes(), &w.provider_signer).unwrap()
}

fn device_key() -> Arc<PrivateKey> {
    Arc::new(PrivateKey::generate(Curve::P256).unwrap())
}

fn ctx<'a>(method: &'a str, path: &'a str, dpop: Option<&'a str>) -> RequestContext<'a> {
    RequestContext {
        dpop,
        client_attestation: None,
        access_token: None,
        url: Box::leak(url(path).into_boxed_str()),
        method,
    }
}

fn pre_authorized_flow(w: &World) {
    let server = w.server();
    let wallet = wallet(w);
    let subject = json!({ "card": "rrc-1" });
    let offer = server
        .offer_pre_authorized(&subject, &[SD_JWT.to_owned(), MDOC.to_owned()], true, at())
        .unwrap();
    let grant = offer.offer.grants.pre_authorized_code.clone().unwrap();
    let tx = offer.tx_code.clone().unwrap();
    assert_eq!(tx.len(), 6);
    let body = |code: &str, tx: &str| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair(
                "grant_type",
                "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            )
            .append_pair("pre-authorized_code", code)
            .append_pair("tx_code", tx)
            .finish()
    };
    let proof = wallet.dpop_for("POST", "token", None, None);
    let token = server
        .token(
            body(&grant.code, &tx).as_bytes(),
            &ctx("POST", "token", Some(&proof)),
            at(),
        )
        .unwrap();
    assert_eq!(token.token_type, "DPoP");
    // The offer is single use.
    let again = wallet.dpop_for("POST", "token", None, None);
    assert_eq!(
        server
            .token(
                body(&grant.code, &tx).as_bytes(),
                &ctx("POST", "token", Some(&again)),
                at()
            )
            .unwrap_err()
            .code(),
        "InvalidGrant"
    );
    // One credential per configuration, each with a fresh c_nonce.
    for configuration in [SD_JWT, MDOC] {
        let nonce = server.nonce(at()).unwrap();
        let device = device_key();
        let request = json!({
            "credential_configuration_id": configuration,
            "proofs": { "jwt": [key_proof(&device, &nonce, ISSUER, None, None)] },
        });
        let dpop = wallet.dpop_for("POST", "credential", None, Some(&token.access_token));
        let response = server
            .credential(
                request.to_string().as_bytes(),
                &RequestContext {
                    access_token: Some(&token.access_token),
                    ..ctx("POST", "credential", Some(&dpop))
                },
                &w.minter,
                at(),
            )
            .unwrap();
        assert_eq!(response.credentials.len(), 1);
        assert!(
            response.credentials[0]["credential"]
                .as_str()
                .unwrap()
                .starts_with(configuration)
        );
        // The c_nonce is spent; the configuration was issued under this token.
        let dpop = wallet.dpop_for("POST", "credential", None, Some(&token.access_token));
        let replay = server
            .credential(
                request.to_string().as_bytes(),
                &RequestContext {
                    access_token: Some(&token.access_token),
                    ..ctx("POST", "credential", Some(&dpop))
                },
                &w.minter,
                at(),
            )
            .unwrap_err();
        assert_eq!(replay, VciError::InvalidNonce("used"));
        // Notification: accepted, once.
        let note =
            json!({ "notification_id": response.notification_id, "event": "credential_accepted" });
        let dpop = wallet.dpop_for("POST", "notification", None, Some(&token.access_token));
        let event = server
            .notification(
                note.to_string().as_bytes(),
                &RequestContext {
                    access_token: Some(&token.access_token),
                    ..ctx("POST", "notification", Some(&dpop))
                },
                at(),
            )
            .unwrap();
        assert_eq!(event.event, NotificationEvent::CredentialAccepted);
        assert_eq!(event.subject, subject);
        assert_eq!(event.configuration, configuration);
        // A repeated notification succeeds (§11.1: a wallet retrying after a lost response);
        // an unknown id does not.
        let dpop = wallet.dpop_for("POST", "notification", None, Some(&token.access_token));
        let again = server
            .notification(
                note.to_string().as_bytes(),
                &RequestContext {
                    access_token: Some(&token.access_token),
                    ..ctx("POST", "notification", Some(&dpop))
                },
                at(),
            )
            .unwrap();
        assert_eq!(again.event, NotificationEvent::CredentialAccepted);
        let unknown = json!({ "notification_id": "nope", "event": "credential_accepted" });
        let dpop = wallet.dpop_for("POST", "notification", None, Some(&token.access_token));
        assert_eq!(
            server
                .notification(
                    unknown.to_string().as_bytes(),
                    &RequestContext {
                        access_token: Some(&token.access_token),
                        ..ctx("POST", "notification", Some(&dpop))
                    },
                    at(),
                )
                .unwrap_err(),
            VciError::InvalidNotificationId
        );
    }
    assert_eq!(w.minter.calls.borrow().len(), 2);
    // The token's second configuration joined the issuance its first was minted into.
    assert_eq!(
        *w.minter.groups.borrow(),
        [None, Some("issuance-1".to_owned())]
    );
}

#[test]
fn the_pre_authorized_flow_on_memory() {
    pre_authorized_flow(&world(Box::new(MemoryIssuanceStore::default()), false));
}

#[test]
fn the_pre_authorized_flow_on_sqlite() {
    pre_authorized_flow(&world(
        Box::new(kmid_oid4vc::store::SqliteIssuanceStore::in_memory().unwrap()),
        false,
    ));
}

#[test]
fn a_tx_code_guessed_three_times_burns_the_offer() {
    let w = world(Box::new(MemoryIssuanceStore::default()), false);
    let server = w.server();
    let wallet = wallet(&w);
    let offer = server
        .offer_pre_authorized(
            &json!({ "card": "rrc-1" }),
            &[SD_JWT.to_owned()],
            true,
            at(),
        )
        .unwrap();
    let code = offer.offer.grants.pre_authorized_code.unwrap().code;
    let right = offer.tx_code.unwrap();
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    let attempt = |tx: &str| {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair(
                "grant_type",
                "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            )
            .append_pair("pre-authorized_code", &code)
            .append_pair("tx_code", tx)
            .finish();
        let proof = wallet.dpop_for("POST", "token", None, None);
        server.token(body.as_bytes(), &ctx("POST", "token", Some(&proof)), at())
    };
    // A request without the code is malformed and is not an attempt (§6.3: invalid_request).
    let no_code = form_urlencoded::Serializer::new(String::new())
        .append_pair(
            "grant_type",
            "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        )
        .append_pair("pre-authorized_code", &code)
        .finish();
    for _ in 0..4 {
        let proof = wallet.dpop_for("POST", "token", None, None);
        let refused = server
            .token(
                no_code.as_bytes(),
                &ctx("POST", "token", Some(&proof)),
                at(),
            )
            .unwrap_err();
        assert_eq!(refused.oauth_error(), "invalid_request");
    }
    for _ in 0..3 {
        assert_eq!(
            attempt(wrong).unwrap_err(),
            VciError::InvalidGrant("wrong tx_code")
        );
    }
    assert_eq!(
        attempt(&right).unwrap_err(),
        VciError::InvalidGrant("unknown, used or expired pre-authorized code")
    );
}

#[test]
fn dpop_binds_the_token_to_the_wallets_key() {
    let w = world(Box::new(MemoryIssuanceStore::default()), true);
    let server = w.server();
    let wallet = wallet(&w);
    let offer = server
        .offer_pre_authorized(
            &json!({ "card": "rrc-1" }),
            &[SD_JWT.to_owned()],
            false,
            at(),
        )
        .unwrap();
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair(
            "grant_type",
            "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        )
        .append_pair(
            "pre-authorized_code",
            &offer.offer.grants.pre_authorized_code.unwrap().code,
        )
        .finish();
    // No proof; a proof without the server's nonce (use_dpop_nonce); for another URL or
    // method; then with the nonce.
    let refuse = |dpop: Option<&str>, method: &str, path: &str| {
        server
            .token(body.as_bytes(), &ctx(method, path, dpop), at())
            .unwrap_err()
    };
    assert!(matches!(
        refuse(None, "POST", "token"),
        VciError::Dpop(DpopError::Malformed(_))
    ));
    let no_nonce = wallet.dpop_for("POST", "token", None, None);
    let e = refuse(Some(&no_nonce), "POST", "token");
    assert_eq!(e, VciError::Dpop(DpopError::UseNonce));
    assert_eq!(e.oauth_error(), "use_dpop_nonce");
    let nonce = server.dpop_nonce(at()).unwrap();
    let stale_nonce = NonceKey::from_bytes([8; 32])
        .issue(
            provider(),
            &SystemRandom,
            kmid_oid4vc::vci::nonce::NonceUse::Dpop,
            at(),
            Duration::minutes(5),
        )
        .unwrap();
    let other_server = wallet.dpop_for("POST", "token", Some(&stale_nonce), None);
    assert_eq!(
        refuse(Some(&other_server), "POST", "token"),
        VciError::Dpop(DpopError::UseNonce)
    );
    let elsewhere = wallet.dpop_for("POST", "credential", Some(&nonce), None);
    assert_eq!(
        refuse(Some(&elsewhere), "POST", "token"),
        VciError::Dpop(DpopError::Url)
    );
    let get = wallet.dpop_for("GET", "token", Some(&nonce), None);
    assert_eq!(
        refuse(Some(&get), "POST", "token"),
        VciError::Dpop(DpopError::Method)
    );
    let good = wallet.dpop_for("POST", "token", Some(&nonce), None);
    let token = server
        .token(body.as_bytes(), &ctx("POST", "token", Some(&good)), at())
        .unwrap();
    // At the credential endpoint: a replayed proof, and a proof by another key (a stolen token).
    let c_nonce = server.nonce(at()).unwrap();
    let device = device_key();
    let request = json!({
        "credential_configuration_id": SD_JWT,
        "proofs": { "jwt": [key_proof(&device, &c_nonce, ISSUER, None, None)] },
    })
    .to_string();
    let at_credential = |dpop: &str| {
        server.credential(
            request.as_bytes(),
            &RequestContext {
                access_token: Some(&token.access_token),
                ..ctx("POST", "credential", Some(dpop))
            },
            &w.minter,
            at(),
        )
    };
    let thief = super_wallet_dpop(&w, &nonce, &token.access_token);
    assert_eq!(
        at_credential(&thief).unwrap_err(),
        VciError::Dpop(DpopError::KeyMismatch)
    );
    let proof = wallet.dpop_for(
        "POST",
        "credential",
        Some(&nonce),
        Some(&token.access_token),
    );
    at_credential(&proof).unwrap();
    assert_eq!(
        at_credential(&proof).unwrap_err(),
        VciError::Dpop(DpopError::Replayed)
    );
    // No token, an unknown token.
    let fresh = wallet.dpop_for("POST", "credential", Some(&nonce), Some("nope"));
    assert_eq!(
        server
            .credential(
                request.as_bytes(),
                &RequestContext {
                    access_token: Some("nope"),
                    ..ctx("POST", "credential", Some(&fresh))
                },
                &w.minter,
                at()
            )
            .unwrap_err()
            .oauth_error(),
        "invalid_token"
    );
}

fn super_wallet_dpop(w: &World, nonce: &str, token: &str) -> String {
    wallet(w).dpop_for("POST", "credential", Some(nonce), Some(token))
}

/// PAR, authorization, token with PKCE; returns the token and the wallet.
fn authorization_code_token(w: &World, wallet: &Wallet) -> kmid_oid4vc::vci::server::TokenResponse {
    let server = w.server();
    let pkce = Pkce::new(provider(), &SystemRandom).unwrap();
    let par_body = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("scope", "kr.go.mois.rrc.1")
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("state", "s-1")
        .finish();
    let (att, pop) = wallet.attestation(Duration::hours(1));
    let par = server
        .par(
            par_body.as_bytes(),
            &RequestContext {
                client_attestation: Some((&att, &pop)),
                ..ctx("POST", "par", None)
            },
            at(),
        )
        .unwrap();
    let pending = server
        .pending_authorization(&par.request_uri, CLIENT, at())
        .unwrap();
    assert_eq!(pending.configurations.len(), 2);
    let response = server
        .authorize(&par.request_uri, CLIENT, &json!({ "card": "rrc-1" }), at())
        .unwrap();
    // RFC 9207: the wallet checks iss before using the code.
    assert_eq!(
        authorization_code(
            &response.redirect,
            "https://other.kmid.invalid",
            Some("s-1")
        )
        .unwrap_err(),
        VciError::IssuerMismatch
    );
    let code = authorization_code(&response.redirect, ISSUER, Some("s-1")).unwrap();
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("code", &code)
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("code_verifier", &pkce.verifier)
        .finish();
    let (att, pop) = wallet.attestation(Duration::hours(1));
    let proof = wallet.dpop_for("POST", "token", None, None);
    server
        .token(
            body.as_bytes(),
            &RequestContext {
                client_attestation: Some((&att, &pop)),
                ..ctx("POST", "token", Some(&proof))
            },
            at(),
        )
        .unwrap()
}

#[test]
fn the_authorization_code_flow_with_par_pkce_and_attestation() {
    let w = world(Box::new(MemoryIssuanceStore::default()), false);
    let wallet = wallet(&w);
    let token = authorization_code_token(&w, &wallet);
    assert!(token.refresh_token.is_some());
    // A proof naming another client (iss) is refused; one naming none is accepted.
    let server = w.server();
    let c_nonce = server.nonce(at()).unwrap();
    let device = device_key();
    let credential = |proof: String| {
        let request = json!({ "credential_configuration_id": MDOC, "proofs": { "jwt": [proof] } });
        let dpop = wallet.dpop_for("POST", "credential", None, Some(&token.access_token));
        server.credential(
            request.to_string().as_bytes(),
            &RequestContext {
                access_token: Some(&token.access_token),
                ..ctx("POST", "credential", Some(&dpop))
            },
            &w.minter,
            at(),
        )
    };
    assert_eq!(
        credential(key_proof(
            &device,
            &c_nonce,
            ISSUER,
            Some("https://another-wallet.kmid.invalid"),
            None
        ))
        .unwrap_err(),
        VciError::InvalidProof(ProofRefusal::Issuer)
    );
    assert_eq!(
        credential(key_proof(
            &device,
            &c_nonce,
            "https://other.kmid.invalid",
            Some(CLIENT),
            None
        ))
        .unwrap_err(),
        VciError::InvalidProof(ProofRefusal::Audience)
    );
    // (A proof naming the client is accepted too: vci_proofs.rs. A configuration is issued
    // once per token, so one success here.)
    credential(key_proof(&device, &c_nonce, ISSUER, None, None)).unwrap();
}

#[test]
fn par_and_code_refusals() {
    let w = world(Box::new(MemoryIssuanceStore::default()), false);
    let server = w.server();
    let wallet = wallet(&w);
    let pkce = Pkce::new(provider(), &SystemRandom).unwrap();
    let par_body = |client: &str| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", client)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("scope", "kr.go.mois.rrc.1")
            .append_pair("code_challenge", &pkce.challenge)
            .append_pair("code_challenge_method", "S256")
            .finish()
    };
    let par = |body: &str, attestation: Option<(&str, &str)>| {
        server.par(
            body.as_bytes(),
            &RequestContext {
                client_attestation: attestation,
                ..ctx("POST", "par", None)
            },
            at(),
        )
    };
    // No attestation; another client_id than the attestation's sub; an expired attestation;
    // a provider outside the anchors.
    assert_eq!(
        par(&par_body(CLIENT), None).unwrap_err().oauth_error(),
        "invalid_client"
    );
    let (att, pop) = wallet.attestation(Duration::hours(1));
    assert_eq!(
        par(
            &par_body("https://other-wallet.kmid.invalid"),
            Some((&att, &pop))
        )
        .unwrap_err(),
        VciError::InvalidClient("client_id is not the attestation's sub")
    );
    let (expired, pop) = wallet.attestation(Duration::seconds(-1));
    assert_eq!(
        par(&par_body(CLIENT), Some((&expired, &pop))).unwrap_err(),
        VciError::InvalidClient("the attestation expired")
    );
    let rogue = Wallet {
        provider_signer: Arc::new(Rfc6979Signer::for_test_key("mois-ds")),
        provider_chain: vec![w.pki.issuer(kmid_testkit::Authority::Mois).ds.clone()],
        ..wallet_for_tests(&w)
    };
    let (untrusted, pop) = rogue.attestation(Duration::hours(1));
    assert_eq!(
        par(&par_body(CLIENT), Some((&untrusted, &pop))).unwrap_err(),
        VciError::InvalidClient("attestation signer not under the wallet-provider anchors")
    );
    // A PoP replayed.
    let (att, pop) = wallet.attestation(Duration::hours(1));
    let request = par(&par_body(CLIENT), Some((&att, &pop))).unwrap();
    assert_eq!(
        par(&par_body(CLIENT), Some((&att, &pop))).unwrap_err(),
        VciError::InvalidClient("the PoP was used before")
    );
    // A PAR request is used once, by its client.
    assert_eq!(
        server
            .authorize(
                &request.request_uri,
                "https://other-wallet.kmid.invalid",
                &json!({}),
                at()
            )
            .unwrap_err()
            .code(),
        "InvalidRequest"
    );
    let response = server
        .authorize(
            &request.request_uri,
            CLIENT,
            &json!({ "card": "rrc-1" }),
            at(),
        )
        .unwrap();
    assert_eq!(
        server
            .authorize(&request.request_uri, CLIENT, &json!({}), at())
            .unwrap_err(),
        VciError::InvalidRequest("unknown, used or expired request_uri")
    );
    // Expired: a minute later.
    let (att, pop) = wallet.attestation(Duration::hours(1));
    let late = par(&par_body(CLIENT), Some((&att, &pop))).unwrap();
    assert!(
        server
            .authorize(
                &late.request_uri,
                CLIENT,
                &json!({}),
                at() + Duration::minutes(2)
            )
            .is_err()
    );
    // A wrong PKCE verifier burns the code.
    let code = authorization_code(&response.redirect, ISSUER, None).unwrap();
    let token_body = |verifier: &str| {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", &code)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("code_verifier", verifier)
            .finish()
    };
    let (att, pop) = wallet.attestation(Duration::hours(1));
    let proof = wallet.dpop_for("POST", "token", None, None);
    let wrong = Pkce::new(provider(), &SystemRandom).unwrap();
    assert_eq!(
        server
            .token(
                token_body(&wrong.verifier).as_bytes(),
                &RequestContext {
                    client_attestation: Some((&att, &pop)),
                    ..ctx("POST", "token", Some(&proof))
                },
                at()
            )
            .unwrap_err(),
        VciError::InvalidGrant("PKCE code_verifier")
    );
    let (att, pop) = wallet.attestation(Duration::hours(1));
    let proof = wallet.dpop_for("POST", "token", None, None);
    assert_eq!(
        server
            .token(
                token_body(&pkce.verifier).as_bytes(),
                &RequestContext {
                    client_attestation: Some((&att, &pop)),
                    ..ctx("POST", "token", Some(&proof))
                },
                at()
            )
            .unwrap_err(),
        VciError::InvalidGrant("unknown, used or expired code")
    );
    // redirect_uri: registered for the wallet solution, and even then https or an app's
    // reverse-domain scheme; never http, javascript or data (though registered here).
    for (uri, ok) in [
        ("kr.kmid.wallet:/cb", true),
        ("https://wallet.kmid.invalid/cb?x=1", true),
        ("http://wallet.kmid.invalid/cb", false),
        ("javascript:alert(1)", false),
        ("https://attacker.kmid.invalid/cb", false),
        ("data:text/html,x", false),
        ("https://wallet.kmid.invalid/cb#frag", false),
    ] {
        let body = par_body(CLIENT).replace(
            &form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>(),
            &form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>(),
        );
        let (att, pop) = wallet.attestation(Duration::hours(1));
        assert_eq!(par(&body, Some((&att, &pop))).is_ok(), ok, "{uri}");
    }
    // Unknown scope and grant type.
    let bad_scope = par_body(CLIENT).replace("kr.go.mois.rrc.1", "other");
    let (att, pop) = wallet.attestation(Duration::hours(1));
    assert_eq!(
        par(&bad_scope, Some((&att, &pop))).unwrap_err(),
        VciError::InvalidScope
    );
    let proof = wallet.dpop_for("POST", "token", None, None);
    assert_eq!(
        server
            .token(
                b"grant_type=password",
                &ctx("POST", "token", Some(&proof)),
                at()
            )
            .unwrap_err()
            .oauth_error(),
        "unsupported_grant_type"
    );
}

#[test]
fn a_batch_under_one_key_attestation_and_its_refusals() {
    let w = world(Box::new(MemoryIssuanceStore::default()), false);
    let server = w.server();
    let wallet = wallet(&w);
    let token = authorization_code_token(&w, &wallet);
    let keys: Vec<Arc<PrivateKey>> = (0..4).map(|_| device_key()).collect();
    let request = |proofs: Value, configuration: &str| {
        let body = json!({ "credential_configuration_id": configuration, "proofs": proofs });
        let dpop = wallet.dpop_for("POST", "credential", None, Some(&token.access_token));
        server.credential(
            body.to_string().as_bytes(),
            &RequestContext {
                access_token: Some(&token.access_token),
                ..ctx("POST", "credential", Some(&dpop))
            },
            &w.minter,
            at(),
        )
    };
    // Four attested keys: over batch_size 3.
    let nonce = server.nonce(at()).unwrap();
    let four = key_attestation(&wallet, &keys.iter().collect::<Vec<_>>(), &nonce);
    assert_eq!(
        request(
            json!({ "jwt": [key_proof(&keys[0], &nonce, ISSUER, Some(CLIENT), Some(&four))] }),
            SD_JWT
        )
        .unwrap_err(),
        VciError::InvalidProof(ProofRefusal::BatchSize)
    );
    // A proof by a key the attestation does not cover.
    let nonce = server.nonce(at()).unwrap();
    let three = key_attestation(&wallet, &keys[..3].iter().collect::<Vec<_>>(), &nonce);
    assert_eq!(
        request(
            json!({ "jwt": [key_proof(&keys[3], &nonce, ISSUER, Some(CLIENT), Some(&three))] }),
            SD_JWT
        )
        .unwrap_err(),
        VciError::InvalidProof(ProofRefusal::NotAttested)
    );
    // Two plain proofs: nothing shows the keys share a phone.
    let nonce = server.nonce(at()).unwrap();
    assert_eq!(
        request(
            json!({ "jwt": [key_proof(&keys[0], &nonce, ISSUER, Some(CLIENT), None), key_proof(&keys[1], &nonce, ISSUER, Some(CLIENT), None)] }),
            SD_JWT
        )
        .unwrap_err()
        .code(),
        "InvalidProof.Requirements"
    );
    // Three keys under one attestation: three credentials, minted with the attestation.
    let nonce = server.nonce(at()).unwrap();
    let three = key_attestation(&wallet, &keys[..3].iter().collect::<Vec<_>>(), &nonce);
    let response = request(
        json!({ "jwt": [key_proof(&keys[1], &nonce, ISSUER, Some(CLIENT), Some(&three))] }),
        SD_JWT,
    )
    .unwrap();
    assert_eq!(response.credentials.len(), 3);
    assert_eq!(
        w.minter.calls.borrow().last().unwrap(),
        &(SD_JWT.to_owned(), 3, true, false)
    );
    // The attestation proof type, for the other configuration.
    let nonce = server.nonce(at()).unwrap();
    let att = key_attestation(&wallet, &keys[..2].iter().collect::<Vec<_>>(), &nonce);
    assert_eq!(
        request(json!({ "attestation": [att] }), MDOC)
            .unwrap()
            .credentials
            .len(),
        2
    );
    // Unknown configuration.
    let nonce = server.nonce(at()).unwrap();
    assert_eq!(
        request(
            json!({ "jwt": [key_proof(&keys[0], &nonce, ISSUER, Some(CLIENT), None)] }),
            "kr.other"
        )
        .unwrap_err(),
        VciError::UnknownCredentialConfiguration
    );
}

#[test]
fn renewal_is_the_refresh_grant_bound_to_the_dpop_key_and_the_device_keys() {
    let w = world(Box::new(MemoryIssuanceStore::default()), false);
    let server = w.server();
    let wallet = wallet(&w);
    let token = authorization_code_token(&w, &wallet);
    let device = device_key();
    let issue = |access_token: &str, key: &Arc<PrivateKey>| {
        let nonce = server.nonce(at()).unwrap();
        let body = json!({
            "credential_configuration_id": SD_JWT,
            "proofs": { "jwt": [key_proof(key, &nonce, ISSUER, Some(CLIENT), None)] },
        });
        let dpop = wallet.dpop_for("POST", "credential", None, Some(access_token));
        server.credential(
            body.to_string().as_bytes(),
            &RequestContext {
                access_token: Some(access_token),
                ..ctx("POST", "credential", Some(&dpop))
            },
            &w.minter,
            at(),
        )
    };
    issue(&token.access_token, &device).unwrap();
    let refresh = token.refresh_token.clone().unwrap();
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "refresh_token")
        .append_pair("refresh_token", &refresh)
        .finish();
    // Another DPoP key (a thief with the refresh token): refused, and the token is not burnt.
    let thief = wallet_for_tests(&w);
    let (att, pop) = wallet.attestation(Duration::hours(1));
    let proof = thief.dpop_for("POST", "token", None, None);
    assert_eq!(
        server
            .token(
                body.as_bytes(),
                &RequestContext {
                    client_attestation: Some((&att, &pop)),
                    ..ctx("POST", "token", Some(&proof))
                },
                at()
            )
            .unwrap_err(),
        VciError::InvalidGrant("the DPoP key is not the refresh token's")
    );
    // The real wallet renews with it; it is rotated (single use).
    let renew = || {
        let (att, pop) = wallet.attestation(Duration::hours(1));
        let proof = wallet.dpop_for("POST", "token", None, None);
        server.token(
            body.as_bytes(),
            &RequestContext {
                client_attestation: Some((&att, &pop)),
                ..ctx("POST", "token", Some(&proof))
            },
            at(),
        )
    };
    let renewed = renew().unwrap();
    assert_eq!(
        renew().unwrap_err(),
        VciError::InvalidGrant("unknown, used or expired refresh token")
    );
    // The renewal issues to the device key it renews, and to no other.
    assert_eq!(
        issue(&renewed.access_token, &device_key()).unwrap_err(),
        VciError::InvalidProof(ProofRefusal::Requirements(
            "a renewal is for the keys it renews"
        ))
    );
    issue(&renewed.access_token, &device).unwrap();
    assert!(
        w.minter.calls.borrow().last().unwrap().3,
        "minted as a renewal"
    );
    // A card the issuer will not issue for: credential_request_denied.
    let offer = server
        .offer_pre_authorized(
            &json!({ "card": "suspended" }),
            &[SD_JWT.to_owned()],
            false,
            at(),
        )
        .unwrap();
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair(
            "grant_type",
            "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        )
        .append_pair(
            "pre-authorized_code",
            &offer.offer.grants.pre_authorized_code.unwrap().code,
        )
        .finish();
    let proof = wallet.dpop_for("POST", "token", None, None);
    let token = server
        .token(body.as_bytes(), &ctx("POST", "token", Some(&proof)), at())
        .unwrap();
    let nonce = server.nonce(at()).unwrap();
    let body = json!({ "credential_configuration_id": SD_JWT, "proofs": { "jwt": [key_proof(&device, &nonce, ISSUER, None, None)] } });
    let dpop = wallet.dpop_for("POST", "credential", None, Some(&token.access_token));
    assert_eq!(
        server
            .credential(
                body.to_string().as_bytes(),
                &RequestContext {
                    access_token: Some(&token.access_token),
                    ..ctx("POST", "credential", Some(&dpop))
                },
                &w.minter,
                at()
            )
            .unwrap_err()
            .oauth_error(),
        "credential_request_denied"
    );
}

fn wallet_for_tests(w: &World) -> Wallet {
    wallet(w)
}

#[test]
fn an_offers_issuer_state_is_single_use_and_bounds_the_scope() {
    let w = world(Box::new(MemoryIssuanceStore::default()), false);
    let server = w.server();
    let wallet = wallet(&w);
    let pkce = Pkce::new(provider(), &SystemRandom).unwrap();
    let offer = server
        .offer_authorization_code(
            Some(&json!({ "card": "rrc-1" })),
            std::slice::from_ref(&SD_JWT.to_owned()),
            at(),
        )
        .unwrap();
    let state = offer
        .grants
        .authorization_code
        .unwrap()
        .issuer_state
        .unwrap();
    let par = |issuer_state: &str, dpop: Option<&str>, jkt: Option<&str>| {
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.append_pair("response_type", "code")
            .append_pair("client_id", CLIENT)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("scope", "kr.go.mois.rrc.1")
            .append_pair("code_challenge", &pkce.challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("issuer_state", issuer_state);
        if let Some(jkt) = jkt {
            body.append_pair("dpop_jkt", jkt);
        }
        let (att, pop) = wallet.attestation(Duration::hours(1));
        server.par(
            body.finish().as_bytes(),
            &RequestContext {
                client_attestation: Some((&att, &pop)),
                ..ctx("POST", "par", dpop)
            },
            at(),
        )
    };
    // The scope names both formats; the offer offered the SD-JWT VC only.
    assert_eq!(par(&state, None, None).unwrap_err(), VciError::InvalidScope);
    let offer = server
        .offer_authorization_code(
            Some(&json!({ "card": "rrc-1" })),
            &[SD_JWT.to_owned(), MDOC.to_owned()],
            at(),
        )
        .unwrap();
    let state = offer
        .grants
        .authorization_code
        .unwrap()
        .issuer_state
        .unwrap();
    // A DPoP header and a dpop_jkt naming another key: refused (RFC 9449 section 10).
    let proof = wallet.dpop_for("POST", "par", None, None);
    assert_eq!(
        par(&state, Some(&proof), Some("not-the-thumbprint")).unwrap_err(),
        VciError::Dpop(DpopError::KeyMismatch)
    );
    let first = par(&state, None, None).unwrap();
    let second = par(&state, None, None).unwrap();
    let pending = server
        .pending_authorization(&first.request_uri, CLIENT, at())
        .unwrap();
    assert_eq!(pending.offered_subject, Some(json!({ "card": "rrc-1" })));
    // Another holder with the offer's request: refused, and the request stays pending.
    assert_eq!(
        server
            .authorize(
                &first.request_uri,
                CLIENT,
                &json!({ "card": "rrc-2" }),
                at()
            )
            .unwrap_err(),
        VciError::AccessDenied("the offer was made for another holder")
    );
    server
        .authorize(
            &first.request_uri,
            CLIENT,
            &json!({ "card": "rrc-1" }),
            at(),
        )
        .unwrap();
    // The issuer_state was for one authorization.
    assert_eq!(
        server
            .authorize(
                &second.request_uri,
                CLIENT,
                &json!({ "card": "rrc-1" }),
                at()
            )
            .unwrap_err(),
        VciError::InvalidRequest("the offer's issuer_state was used")
    );
}
