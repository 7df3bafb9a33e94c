//! The wallet's OpenID4VCI client against the issuer's endpoints through HTTP values (an
//! in-process transport calling `IssuanceServer::handle`): an offer by reference, metadata, the
//! pre-authorized grant with a Transaction Code and the authorization code flow (PAR, wallet
//! attestation, PKCE, `iss`), a server that requires DPoP nonces (the client retries once on
//! `use_dpop_nonce`), a batch under a key attestation, the attestation proof type,
//! notification, renewal; and the errors that come back over HTTP with their status codes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::cell::RefCell;
use std::sync::Arc;

use kmid_crypto::jose::sign_compact;
use kmid_crypto::x509::{TrustStore, chain_to_x5c};
use kmid_crypto::{CryptoProvider, Curve, PrivateKey, Signer, SystemRandom};
use kmid_oid4vc::store::MemoryIssuanceStore;
use kmid_oid4vc::vci::VciError;
use kmid_oid4vc::vci::client_attestation::{WalletAttestationClaims, issue_wallet_attestation};
use kmid_oid4vc::vci::http::{Handled, HttpClient, HttpRequest, HttpResponse};
use kmid_oid4vc::vci::metadata::CredentialIssuerMetadata;
use kmid_oid4vc::vci::nonce::NonceKey;
use kmid_oid4vc::vci::offer::OfferUrl;
use kmid_oid4vc::vci::server::{
    CredentialMinter, IssuanceConfig, IssuanceServer, Lifetimes, MintRequest, Minted,
    NotificationEvent,
};
use kmid_oid4vc::vci::wallet::{ClientCredentials, IssuanceClient, ProofKeys};
use kmid_testkit::{REFERENCE_TIME, Rfc6979Signer, TestPki};
use serde_json::json;
use time::{Duration, OffsetDateTime};

const ISSUER: &str = "https://issuer.kmid.invalid";
const CLIENT: &str = "https://wallet.kmid.invalid";
const CONFIG: &str = "kr.go.mois.rrc.1.dc+sd-jwt";

fn provider() -> &'static CryptoProvider {
    CryptoProvider::get_default()
}

fn at() -> OffsetDateTime {
    REFERENCE_TIME
}

struct Minter;

impl CredentialMinter for Minter {
    fn mint(&self, request: &MintRequest<'_>) -> Result<Minted, String> {
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
            group: None,
            references: Vec::new(),
            renewal_subject: None,
        })
    }
}

/// The issuer behind an in-process transport; an offer served at `/offers/1`; every request
/// and notification recorded.
struct Transport<'a> {
    server: IssuanceServer<'a>,
    offer: RefCell<Option<String>>,
    seen: RefCell<Vec<(String, u16)>>,
    notifications: RefCell<Vec<NotificationEvent>>,
}

impl HttpClient for Transport<'_> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        let response = if request.url == format!("{ISSUER}/offers/1") {
            HttpResponse {
                status: 200,
                headers: vec![("Content-Type".into(), "application/json".into())],
                body: self.offer.borrow().clone().unwrap_or_default().into_bytes(),
            }
        } else {
            let (response, handled) = self.server.handle(request, &Minter, at());
            if let Handled::Notification(n) = handled {
                self.notifications.borrow_mut().push(n.event);
            }
            response
        };
        self.seen
            .borrow_mut()
            .push((request.url.clone(), response.status));
        Ok(response)
    }
}

fn metadata() -> CredentialIssuerMetadata {
    serde_json::from_value(json!({
        "credential_issuer": ISSUER,
        "credential_endpoint": format!("{ISSUER}/credential"),
        "nonce_endpoint": format!("{ISSUER}/nonce"),
        "notification_endpoint": format!("{ISSUER}/notification"),
        "batch_credential_issuance": { "batch_size": 3 },
        "credential_configurations_supported": {
            CONFIG: {
                "format": "dc+sd-jwt",
                "scope": "kr.go.mois.rrc.1",
                "cryptographic_binding_methods_supported": ["jwk"],
                "proof_types_supported": { "jwt": { "proof_signing_alg_values_supported": ["ES256"] } },
            }
        }
    }))
    .unwrap()
}

fn config(pki: &TestPki) -> IssuanceConfig {
    let mut trust = TrustStore::new();
    trust.add(pki.reader_root.clone()).unwrap();
    IssuanceConfig {
        metadata: metadata(),
        nonce_key: NonceKey::from_bytes([9; 32]),
        require_dpop_nonce: true,
        wallet_providers: trust,
        anonymous_pre_authorized: false,
        redirect_uris: [(
            CLIENT.to_owned(),
            vec!["https://wallet.kmid.invalid/cb".to_owned()],
        )]
        .into_iter()
        .collect(),
        lifetimes: Lifetimes::default(),
    }
}

fn credentials(pki: &TestPki) -> ClientCredentials {
    let instance: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let provider_signer: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("reader"));
    let attestation = issue_wallet_attestation(
        &provider_signer,
        std::slice::from_ref(&pki.reader),
        &WalletAttestationClaims {
            provider: "https://wallet-provider.kmid.invalid",
            client_id: CLIENT,
            wallet_name: None,
            instance_key: instance.public_key(),
            at: at(),
            lifetime: Duration::days(1),
        },
    )
    .unwrap();
    ClientCredentials {
        client_id: CLIENT.into(),
        instance,
        attestation,
    }
}

fn key_attestation(pki: &TestPki, keys: &[&Arc<dyn Signer>], nonce: &str) -> String {
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), json!("key-attestation+jwt"));
    header.insert(
        "x5c".into(),
        json!(chain_to_x5c(std::slice::from_ref(&pki.reader))),
    );
    let signer: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("reader"));
    sign_compact(
        header,
        json!({
            "iat": at().unix_timestamp(),
            "exp": at().unix_timestamp() + 600,
            "nonce": nonce,
            "attested_keys": keys.iter().map(|k| k.public_key().to_jwk()).collect::<Vec<_>>(),
        })
        .to_string()
        .as_bytes(),
        &signer,
    )
    .unwrap()
}

fn device() -> Arc<dyn Signer> {
    Arc::new(PrivateKey::generate(Curve::P256).unwrap())
}

#[test]
fn a_wallet_receives_by_the_pre_authorized_grant_over_http() {
    let pki = TestPki::new();
    let config = config(&pki);
    let store = MemoryIssuanceStore::default();
    let transport = Transport {
        server: IssuanceServer::new(&config, &store, provider(), &SystemRandom),
        offer: RefCell::new(None),
        seen: RefCell::new(Vec::new()),
        notifications: RefCell::new(Vec::new()),
    };
    // The counter's offer, by reference (what a QR code carries).
    let issued = transport
        .server
        .offer_pre_authorized(
            &json!({ "card": "rrc-1" }),
            &[CONFIG.to_owned()],
            true,
            at(),
        )
        .unwrap();
    transport
        .offer
        .replace(Some(serde_json::to_string(&issued.offer).unwrap()));
    let qr =
        OfferUrl::ByReference(format!("{ISSUER}/offers/1")).to_url("openid-credential-offer://");
    let client = IssuanceClient::new(
        &transport,
        provider(),
        &SystemRandom,
        device(),
        Some(credentials(&pki)),
    );
    let offer = client.offer(&qr).unwrap();
    let issuer = client.issuer(&offer.credential_issuer, None).unwrap();
    assert_eq!(
        issuer.authorization_server.token_endpoint,
        format!("{ISSUER}/token")
    );
    // A wrong Transaction Code comes back as invalid_grant over HTTP 400.
    assert_eq!(
        client
            .pre_authorized(&issuer, &offer, Some("999999x"), at())
            .unwrap_err(),
        VciError::Remote {
            status: 400,
            error: "invalid_grant".into()
        }
    );
    let session = client
        .pre_authorized(&issuer, &offer, issued.tx_code.as_deref(), at())
        .unwrap();
    // The server required DPoP nonces: the first token request was answered use_dpop_nonce
    // and retried with the nonce it sent.
    let tokens: Vec<u16> = transport
        .seen
        .borrow()
        .iter()
        .filter(|(url, _)| url.ends_with("/token"))
        .map(|(_, s)| *s)
        .collect();
    assert_eq!(
        tokens,
        [400, 400, 200],
        "nonce retry, wrong code, then the right one"
    );
    // A batch of three keys under one key attestation.
    let keys: Vec<Arc<dyn Signer>> = (0..3).map(|_| device()).collect();
    let refs: Vec<&Arc<dyn Signer>> = keys.iter().collect();
    let attest = |nonce: &str| Ok(key_attestation(&pki, &refs, nonce));
    let response = client
        .credential(
            &issuer,
            &session,
            CONFIG,
            &ProofKeys::Attested {
                signer: &keys[0],
                attest: &attest,
            },
            at(),
        )
        .unwrap();
    assert_eq!(response.credentials.len(), 3);
    client
        .notify(
            &issuer,
            &session,
            &response.notification_id,
            NotificationEvent::CredentialAccepted,
            at(),
        )
        .unwrap();
    assert_eq!(
        *transport.notifications.borrow(),
        [NotificationEvent::CredentialAccepted]
    );
    // Again under the same token: this configuration was issued already.
    assert_eq!(
        client
            .credential(&issuer, &session, CONFIG, &ProofKeys::One(&keys[0]), at())
            .unwrap_err(),
        VciError::Remote {
            status: 400,
            error: "invalid_credential_request".into()
        }
    );
    // Renewal: the refresh grant with the same DPoP key, for the same keys (attestation only).
    let renewed = client.refresh(&issuer, &session, at()).unwrap();
    let response = client
        .credential(
            &issuer,
            &renewed,
            CONFIG,
            &ProofKeys::AttestationOnly(&attest),
            at(),
        )
        .unwrap();
    assert_eq!(response.credentials.len(), 3);
    // A token used with another DPoP key: 401 with WWW-Authenticate.
    let thief = IssuanceClient::new(&transport, provider(), &SystemRandom, device(), None);
    let err = thief
        .credential(&issuer, &renewed, CONFIG, &ProofKeys::One(&keys[0]), at())
        .unwrap_err();
    assert_eq!(
        err,
        VciError::Remote {
            status: 401,
            error: "invalid_dpop_proof".into()
        }
    );
}

#[test]
fn a_wallet_receives_by_the_authorization_code_flow_over_http() {
    let pki = TestPki::new();
    let config = config(&pki);
    let store = MemoryIssuanceStore::default();
    let transport = Transport {
        server: IssuanceServer::new(&config, &store, provider(), &SystemRandom),
        offer: RefCell::new(None),
        seen: RefCell::new(Vec::new()),
        notifications: RefCell::new(Vec::new()),
    };
    let offer = transport
        .server
        .offer_authorization_code(None, &[CONFIG.to_owned()], at())
        .unwrap();
    let client = IssuanceClient::new(
        &transport,
        provider(),
        &SystemRandom,
        device(),
        Some(credentials(&pki)),
    );
    let issuer = client.issuer(&offer.credential_issuer, None).unwrap();
    let issuer_state = offer
        .grants
        .authorization_code
        .as_ref()
        .unwrap()
        .issuer_state
        .as_deref();
    let start = client
        .start_authorization(
            &issuer,
            "kr.go.mois.rrc.1",
            "https://wallet.kmid.invalid/cb",
            issuer_state,
            at(),
        )
        .unwrap();
    // The holder at the authorization page: the issuer's authenticator (an IC card tap) names
    // the subject.
    let query: std::collections::HashMap<String, String> =
        form_urlencoded::parse(start.url.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
    let request_uri = &query["request_uri"];
    let pending = transport
        .server
        .pending_authorization(request_uri, CLIENT, at())
        .unwrap();
    assert_eq!(pending.configurations, [CONFIG]);
    let response = transport
        .server
        .authorize(request_uri, CLIENT, &json!({ "card": "rrc-1" }), at())
        .unwrap();
    // A response that claims another issuer is refused before the code is used (mix-up).
    let forged = response.redirect.replace(
        &form_urlencoded::byte_serialize(ISSUER.as_bytes()).collect::<String>(),
        "https%3A%2F%2Fevil.kmid.invalid",
    );
    assert_eq!(
        client
            .finish_authorization(&issuer, &start, &forged, at())
            .unwrap_err(),
        VciError::IssuerMismatch
    );
    let session = client
        .finish_authorization(&issuer, &start, &response.redirect, at())
        .unwrap();
    assert!(session.refresh_token.is_some());
    let key = device();
    let response = client
        .credential(&issuer, &session, CONFIG, &ProofKeys::One(&key), at())
        .unwrap();
    assert_eq!(response.credentials.len(), 1);
    // Without client credentials PAR is refused: 401 invalid_client.
    let anonymous = IssuanceClient::new(&transport, provider(), &SystemRandom, device(), None);
    assert_eq!(
        anonymous
            .start_authorization(
                &issuer,
                "kr.go.mois.rrc.1",
                "https://wallet.kmid.invalid/cb",
                None,
                at()
            )
            .unwrap_err(),
        VciError::InvalidClient("no client credentials")
    );
}

/// A minter that groups nothing: every configuration of one token can still be asked for,
/// one after the other.
#[test]
fn a_minter_without_groups_serves_every_configuration_of_a_token() {
    let pki = TestPki::new();
    let mut config = config(&pki);
    config.require_dpop_nonce = false;
    config.anonymous_pre_authorized = true;
    let second: kmid_oid4vc::vci::metadata::CredentialConfiguration =
        serde_json::from_value(json!({
            "format": "mso_mdoc",
            "scope": "kr.go.mois.rrc.1.mdoc",
            "doctype": "kr.go.mois.rrc.1",
            "cryptographic_binding_methods_supported": ["cose_key"],
            "proof_types_supported": { "jwt": { "proof_signing_alg_values_supported": ["ES256"] } },
        }))
        .unwrap();
    config
        .metadata
        .credential_configurations_supported
        .insert("kr.go.mois.rrc.1.mso_mdoc".into(), second);
    let store = MemoryIssuanceStore::default();
    let transport = Transport {
        server: IssuanceServer::new(&config, &store, provider(), &SystemRandom),
        offer: RefCell::new(None),
        seen: RefCell::new(Vec::new()),
        notifications: RefCell::new(Vec::new()),
    };
    let issued = transport
        .server
        .offer_pre_authorized(
            &json!({ "card": "rrc-1" }),
            &[CONFIG.to_owned(), "kr.go.mois.rrc.1.mso_mdoc".to_owned()],
            false,
            at(),
        )
        .unwrap();
    let client = IssuanceClient::new(&transport, provider(), &SystemRandom, device(), None);
    let info = client.issuer(ISSUER, None).unwrap();
    let session = client
        .pre_authorized(&info, &issued.offer, None, at())
        .unwrap();
    for configuration in [CONFIG, "kr.go.mois.rrc.1.mso_mdoc"] {
        let key = device();
        client
            .credential(&info, &session, configuration, &ProofKeys::One(&key), at())
            .unwrap();
    }
}
