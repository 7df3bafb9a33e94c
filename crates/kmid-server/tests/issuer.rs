//! The issuer service over real HTTP on loopback, driven by kmid's OpenID4VCI client: a
//! counter offer by the pre-authorized grant, and the authorization code grant (PAR with a
//! wallet attestation, the authorization endpoint with the service's authenticator, PKCE,
//! `iss`), both formats, notifications into the registry; the DPoP `htu` is the issuer's
//! public URL although the service listens on 127.0.0.1. And what it refuses: a body over
//! 64 KiB, a holder the authenticator does not know, another method.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use kmid::crypto::x509::{CertificateKind, CertificateParams, TrustStore, issue_certificate};
use kmid::crypto::{CryptoProvider, Curve, PrivateKey, Signer, SystemRandom};
use kmid::issuance::{IssuanceProfile, korean_metadata};
use kmid::oid4vc::store::MemoryIssuanceStore;
use kmid::oid4vc::vci::client_attestation::{WalletAttestationClaims, issue_wallet_attestation};
use kmid::oid4vc::vci::http::{HttpClient, HttpRequest};
use kmid::oid4vc::vci::nonce::NonceKey;
use kmid::oid4vc::vci::server::{
    IssuanceConfig, Lifetimes, NotificationEvent, PendingAuthorization,
};
use kmid::oid4vc::vci::wallet::{ClientCredentials, IssuanceClient, ProofKeys};
use kmid::schema::Card;
use kmid::status::registry::{MemoryStore, RegistryConfig, StatusRegistry};
use kmid::{AuthorityKeys, CardKeySecret, Issuer, IssuingAuthority};
use kmid_server::{HolderAuthenticator, IssuerService};
use serde_json::Value;
use time::OffsetDateTime;

mod common;
use common::{Loopback, serve};

const CLIENT: &str = "https://wallet.kmid.invalid";
const REDIRECT: &str = "https://wallet.kmid.invalid/callback";

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

/// Approves the holder of one card when their browser carries the counter's session (the
/// official checked them and the card).
struct Counter(Value);

impl HolderAuthenticator for Counter {
    fn authenticate(&self, pending: &PendingAuthorization, request: &HttpRequest) -> Option<Value> {
        let session = request.header("cookie") == Some("counter-session=checked");
        (session && pending.client_id == CLIENT).then(|| self.0.clone())
    }
}

#[test]
fn a_wallet_receives_over_http_by_both_grants() {
    let random = Arc::new(SystemRandom);
    let keys = AuthorityKeys::generate(IssuingAuthority::Mois, now(), &*random).unwrap();
    let registry = StatusRegistry::new(
        MemoryStore::new(),
        RegistryConfig::new("https://status.kmid.invalid/lists"),
        random.clone(),
    );
    let issuer = Arc::new(Issuer::new(
        keys,
        registry,
        CardKeySecret::generate(&*random).unwrap(),
        random,
    ));
    let identifier = issuer.credential_issuer();
    // A wallet provider made now: a root and the signer of its attestations.
    let provider = |kind, cn: &str| CertificateParams {
        kind,
        country: "KR".into(),
        organization: Some("kmid wallet provider".into()),
        state_or_province: None,
        common_name: cn.into(),
        not_before: now() - time::Duration::days(1),
        not_after: now() + time::Duration::days(30),
        issuer_alt_name: None,
        crl_uri: None,
        dns_names: Vec::new(),
    };
    let root_key = PrivateKey::generate(Curve::P256).unwrap();
    let root = issue_certificate(
        &provider(CertificateKind::ReaderRoot, "wallet provider root"),
        root_key.public_key(),
        None,
        &root_key,
        &SystemRandom,
    )
    .unwrap();
    let provider_key = PrivateKey::generate(Curve::P256).unwrap();
    let provider_leaf = issue_certificate(
        &provider(CertificateKind::JwtSigner, "wallet attestations"),
        provider_key.public_key(),
        Some(&root),
        &root_key,
        &SystemRandom,
    )
    .unwrap();
    let mut providers = TrustStore::new();
    providers.add(root).unwrap();
    let config = IssuanceConfig {
        metadata: korean_metadata(
            IssuingAuthority::Mois,
            &identifier,
            &IssuanceProfile::default(),
        ),
        nonce_key: NonceKey::from_bytes([9; 32]),
        require_dpop_nonce: true,
        wallet_providers: providers,
        anonymous_pre_authorized: true,
        redirect_uris: [(CLIENT.to_owned(), vec![REDIRECT.to_owned()])].into(),
        lifetimes: Lifetimes::default(),
    };
    let card = Card::from(kmid_testkit::samples::resident());
    let subject = serde_json::to_value(&card).unwrap();
    // The issuer's card records, by card key: renewals and the refresh token use the key.
    let key = issuer.card_key(&card).unwrap();
    let records = card.clone();
    let lookups = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = Arc::clone(&lookups);
    let service = IssuerService::new(
        config,
        Arc::new(MemoryIssuanceStore::default()),
        Arc::clone(&issuer),
        Arc::new(Counter(subject.clone())),
        Some(Arc::new(move |asked: &str| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if asked == key {
                Ok(records.clone())
            } else {
                Err("no such card".to_owned())
            }
        })),
    )
    .unwrap();
    let (base, stop) = serve(service.router());
    let origin = identifier.split('/').take(3).collect::<Vec<_>>().join("/");
    let transport = Loopback {
        origin,
        base: base.clone(),
        client: reqwest::blocking::Client::builder()
            .use_preconfigured_tls(kmid_server::tls_client_config().unwrap())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    };
    let ids = [
        "kr.go.mois.rrc.1.mso_mdoc".to_owned(),
        "kr.go.mois.rrc.1.dc+sd-jwt".to_owned(),
    ];
    let device: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());

    // The counter offer, by the pre-authorized grant with its Transaction Code.
    let offer = service
        .with_server(|s| s.offer_pre_authorized(&subject, &ids, true, now()))
        .unwrap();
    let client = IssuanceClient::new(
        &transport,
        CryptoProvider::get_default(),
        &SystemRandom,
        Arc::new(PrivateKey::generate(Curve::P256).unwrap()),
        None,
    );
    let info = client.issuer(&identifier, None).unwrap();
    let session = client
        .pre_authorized(&info, &offer.offer, offer.tx_code.as_deref(), now())
        .unwrap();
    for id in &ids {
        let response = client
            .credential(&info, &session, id, &ProofKeys::One(&device), now())
            .unwrap();
        assert_eq!(response.credentials.len(), 1, "{id}");
        client
            .notify(
                &info,
                &session,
                &response.notification_id,
                NotificationEvent::CredentialAccepted,
                now(),
            )
            .unwrap();
    }

    // Each credential was minted from the issuer's record, looked up by card key.
    assert_eq!(lookups.load(std::sync::atomic::Ordering::SeqCst), 2);

    // The authorization code grant, as a wallet the provider attested.
    let instance: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let provider_signer: Arc<dyn Signer> = Arc::new(provider_key);
    let attestation = issue_wallet_attestation(
        &provider_signer,
        std::slice::from_ref(&provider_leaf),
        &WalletAttestationClaims {
            provider: "https://wallet-provider.kmid.invalid",
            client_id: CLIENT,
            wallet_name: None,
            instance_key: instance.public_key(),
            at: now(),
            lifetime: time::Duration::hours(1),
        },
    )
    .unwrap();
    let client = IssuanceClient::new(
        &transport,
        CryptoProvider::get_default(),
        &SystemRandom,
        Arc::new(PrivateKey::generate(Curve::P256).unwrap()),
        Some(ClientCredentials {
            client_id: CLIENT.into(),
            instance,
            attestation,
        }),
    );
    let start = client
        .start_authorization(&info, &ids[1], REDIRECT, None, now())
        .unwrap();
    let page = |cookie: Option<&str>| {
        transport
            .send(&HttpRequest {
                method: "GET",
                url: start.url.clone(),
                headers: cookie
                    .map(|c| vec![("Cookie".to_owned(), c.to_owned())])
                    .unwrap_or_default(),
                body: Vec::new(),
            })
            .unwrap()
    };
    // Not authenticated: refused, and the pushed request stays pending.
    assert_eq!(page(None).status, 403);
    let page = page(Some("counter-session=checked"));
    assert_eq!(page.status, 303);
    let location = page.header("location").unwrap().to_owned();
    assert!(location.starts_with(REDIRECT), "{location}");
    let session = client
        .finish_authorization(&info, &start, &location, now())
        .unwrap();
    let response = client
        .credential(&info, &session, &ids[1], &ProofKeys::One(&device), now())
        .unwrap();
    assert_eq!(response.credentials.len(), 1);
    // The same pushed request again: used.
    let again = transport
        .send(&HttpRequest {
            method: "GET",
            url: start.url,
            headers: Vec::new(),
            body: Vec::new(),
        })
        .unwrap();
    assert_eq!(again.status, 400);

    // Refusals: a body over 64 KiB, another method.
    let http = reqwest::blocking::Client::builder()
        .use_preconfigured_tls(kmid_server::tls_client_config().unwrap())
        .build()
        .unwrap();
    let big = http
        .post(format!("{base}/kmid/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 70 * 1024])
        .send()
        .unwrap();
    assert_eq!(big.status(), 413);
    let put = http.put(format!("{base}/kmid/token")).send().unwrap();
    assert_eq!(put.status(), 405);
    let _ = stop.send(());
}
