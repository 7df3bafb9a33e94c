//! The Korean cards over OpenID4VCI end to end: the issuing authority's metadata (both formats,
//! a scope each, Korean and English displays) passes HAIP's checks; a counter offer for a
//! resident card is received by the protocol's wallet client through the issuer's endpoints; the
//! facade's Issuer mints — an mdoc to one key and an SD-JWT VC batch to keys a secure area
//! attests — as one issuance, so the token's second request does not supersede its first; the
//! facade's wallet stores what came and a verifier with the published status lists accepts
//! both; a later issuance supersedes them; a card reported lost takes nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use kmid::crypto::jose::{b64url_decode, sign_compact};
use kmid::crypto::x509::{TrustStore, chain_to_x5c};
use kmid::crypto::{CryptoProvider, Curve, PrivateKey, Signer, SystemRandom};
use kmid::issuance::{IssuanceProfile, IssuerMinter, korean_metadata};
use kmid::mdoc::CborLimits;
use kmid::mdoc::model::IssuerSigned;
use kmid::oid4vc::store::MemoryIssuanceStore;
use kmid::oid4vc::vci::VciError;
use kmid::oid4vc::vci::http::{Handled, HttpClient, HttpRequest, HttpResponse};
use kmid::oid4vc::vci::nonce::NonceKey;
use kmid::oid4vc::vci::server::{IssuanceConfig, IssuanceServer, Lifetimes, NotificationEvent};
use kmid::oid4vc::vci::wallet::{IssuanceClient, ProofKeys};
use kmid::schema::{Card, CardType};
use kmid::status::registry::MemoryStore;
use kmid::status::token::{TokenKeys, TokenPolicy};
use kmid::{Format, Issuer, IssuingAuthority, Template, Verifier, Wallet};
use kmid_testkit::samples;
use serde_json::json;

mod common;
use common::{access_pki, issuer, now};

struct Transport<'a> {
    server: IssuanceServer<'a>,
    minter: IssuerMinter<'a, MemoryStore>,
}

impl HttpClient for Transport<'_> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        let (response, handled) = self.server.handle(request, &self.minter, now());
        // The issuer acts on notifications: a deleted credential becomes INVALID.
        if let Handled::Notification(n) = handled {
            self.minter
                .apply_notification(&n, now())
                .map_err(|e| e.to_string())?;
        }
        Ok(response)
    }
}

/// The wallet provider: a root and a signer made now (`common::access_pki`).
struct WalletProvider {
    trust: TrustStore,
    signer: Arc<dyn Signer>,
    leaf: kmid::crypto::x509::Certificate,
}

fn key_attestation(p: &WalletProvider, keys: &[&Arc<dyn Signer>], nonce: &str) -> String {
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), json!("key-attestation+jwt"));
    header.insert(
        "x5c".into(),
        json!(chain_to_x5c(std::slice::from_ref(&p.leaf))),
    );
    let signer = Arc::clone(&p.signer);
    sign_compact(
        header,
        json!({
            "iat": now().unix_timestamp(),
            "exp": now().unix_timestamp() + 600,
            "nonce": nonce,
            "attested_keys": keys.iter().map(|k| k.public_key().to_jwk()).collect::<Vec<_>>(),
            "key_storage": ["iso_18045_high"],
        })
        .to_string()
        .as_bytes(),
        &signer,
    )
    .unwrap()
}

fn config(issuer: &Issuer<MemoryStore>, p: &WalletProvider) -> IssuanceConfig {
    let metadata = korean_metadata(
        IssuingAuthority::Mois,
        &issuer.credential_issuer(),
        &IssuanceProfile {
            batch_size: Some(4),
            key_attestations: None,
        },
    );
    metadata.check(&issuer.credential_issuer()).unwrap();
    IssuanceConfig {
        metadata,
        nonce_key: NonceKey::from_bytes([3; 32]),
        require_dpop_nonce: true,
        wallet_providers: p.trust.clone(),
        anonymous_pre_authorized: true,
        redirect_uris: std::collections::BTreeMap::new(),
        lifetimes: Lifetimes::default(),
    }
}

#[test]
fn the_metadata_of_each_authority_passes_haips_checks() {
    for authority in [
        IssuingAuthority::Mois,
        IssuingAuthority::Moj,
        IssuingAuthority::Oka,
    ] {
        let id = format!("{}/kmid", authority.uri());
        let m = korean_metadata(authority, &id, &IssuanceProfile::default());
        m.check(&id).unwrap();
        let doc_type = authority.card_type().doc_type();
        let mdoc = &m.credential_configurations_supported[&format!("{doc_type}.mso_mdoc")];
        assert_eq!(mdoc.doctype.as_deref(), Some(doc_type));
        let sd = &m.credential_configurations_supported[&format!("{doc_type}.dc+sd-jwt")];
        assert_eq!(sd.vct.as_deref(), Some(doc_type));
        let names = sd.credential_metadata.as_ref().unwrap()["display"].to_string();
        assert!(
            names.contains("ko-KR") && names.contains("en-US"),
            "{names}"
        );
    }
}

#[test]
fn a_resident_card_reaches_a_phone_over_openid4vci_as_one_issuance() {
    let issuer = issuer(IssuingAuthority::Mois);
    let (trust, signer, leaf) = access_pki();
    let pki = WalletProvider {
        trust,
        signer,
        leaf,
    };
    let config = config(&issuer, &pki);
    let store = MemoryIssuanceStore::default();
    let transport = Transport {
        server: IssuanceServer::new(
            &config,
            &store,
            CryptoProvider::get_default(),
            &SystemRandom,
        ),
        minter: IssuerMinter::new(&issuer),
    };
    let card = Card::from(samples::resident());
    let doc_type = CardType::Resident.doc_type();
    let (mdoc_id, sd_id) = (
        format!("{doc_type}.mso_mdoc"),
        format!("{doc_type}.dc+sd-jwt"),
    );
    let offer = transport
        .server
        .offer_pre_authorized(
            &serde_json::to_value(&card).unwrap(),
            &[mdoc_id.clone(), sd_id.clone()],
            true,
            now(),
        )
        .unwrap();

    // The phone: a DPoP key, a device key for the mdoc, two attested keys for SD-JWT VCs.
    let device_key = PrivateKey::generate(Curve::P256).unwrap();
    let device_scalar = device_key.to_jwk().unwrap();
    let device: Arc<dyn Signer> = Arc::new(device_key);
    let client = IssuanceClient::new(
        &transport,
        CryptoProvider::get_default(),
        &SystemRandom,
        Arc::new(PrivateKey::generate(Curve::P256).unwrap()),
        None,
    );
    let issuer_info = client.issuer(&offer.offer.credential_issuer, None).unwrap();
    let session = client
        .pre_authorized(&issuer_info, &offer.offer, offer.tx_code.as_deref(), now())
        .unwrap();
    let mdoc = client
        .credential(
            &issuer_info,
            &session,
            &mdoc_id,
            &ProofKeys::One(&device),
            now(),
        )
        .unwrap();
    assert_eq!(mdoc.credentials.len(), 1);
    let batch_keys: Vec<Arc<dyn Signer>> = vec![
        Arc::clone(&device),
        Arc::new(PrivateKey::generate(Curve::P256).unwrap()),
    ];
    let refs: Vec<&Arc<dyn Signer>> = batch_keys.iter().collect();
    let attest = |nonce: &str| Ok(key_attestation(&pki, &refs, nonce));
    let sd = client
        .credential(
            &issuer_info,
            &session,
            &sd_id,
            &ProofKeys::Attested {
                signer: &device,
                attest: &attest,
            },
            now(),
        )
        .unwrap();
    assert_eq!(sd.credentials.len(), 2);

    // The facade's wallet stores both; a verifier with the published lists accepts both, so
    // the SD-JWT request did not supersede the mdoc.
    let trust = kmid::trust_store([issuer.keys()]).unwrap();
    let mut wallet = Wallet::new(device_scalar.to_private_key().unwrap(), trust.clone());
    let issuer_signed = IssuerSigned::from_bytes(
        &b64url_decode(mdoc.credentials[0]["credential"].as_str().unwrap()).unwrap(),
        &CborLimits::default(),
    )
    .unwrap();
    wallet.store_mdoc(issuer_signed, now()).unwrap();
    wallet
        .store_sd_jwt(sd.credentials[0]["credential"].as_str().unwrap(), now())
        .unwrap();
    let lists = issuer.publish(now(), 300).unwrap();
    let fetch = move |uri: &str, _accept: &str| {
        lists
            .iter()
            .find(|l| l.uri == uri)
            .map(|l| l.jwt.clone().into_bytes())
    };
    let resolver = kmid::status::StatusListResolver::new(
        fetch,
        TokenKeys::X5c(trust.clone()),
        TokenPolicy::default(),
    );
    let verifier = Verifier::new(trust.clone(), Arc::new(resolver));
    for format in [Format::Mdoc, Format::SdJwtVc] {
        let query = Template::AgeCheck.dcql_query(CardType::Resident, format);
        let request = kmid::OpenId4VpRequest::new(
            "x509_san_dns:bank.example",
            "nonce-1",
            "https://bank.example/response",
        );
        let token = wallet.answer_dcql(&query, &request, now()).unwrap();
        let seen = verifier
            .verify_vp_token_any(&query, &request, &token, now())
            .unwrap();
        assert_eq!(
            seen[0].1.status.map(|s| s.to_string()).as_deref(),
            Some("VALID"),
            "{format:?}"
        );
    }

    // A second offer for the same card: a new issuance; the first token's credentials stop
    // working, and its refresh cannot extend them.
    let again = transport
        .server
        .offer_pre_authorized(
            &serde_json::to_value(&card).unwrap(),
            std::slice::from_ref(&mdoc_id),
            false,
            now(),
        )
        .unwrap();
    let second = client
        .pre_authorized(&issuer_info, &again.offer, None, now())
        .unwrap();
    client
        .credential(
            &issuer_info,
            &second,
            &mdoc_id,
            &ProofKeys::One(&device),
            now(),
        )
        .unwrap();
    // The first token's credentials stopped working.
    let lists = issuer.publish(now(), 300).unwrap();
    let fetch = move |uri: &str, _accept: &str| {
        lists
            .iter()
            .find(|l| l.uri == uri)
            .map(|l| l.jwt.clone().into_bytes())
    };
    let resolver = kmid::status::StatusListResolver::new(
        fetch,
        TokenKeys::X5c(trust.clone()),
        TokenPolicy::default(),
    );
    let verifier = Verifier::new(trust, Arc::new(resolver));
    let query = Template::AgeCheck.dcql_query(CardType::Resident, Format::SdJwtVc);
    let request = kmid::OpenId4VpRequest::new(
        "x509_san_dns:bank.example",
        "nonce-2",
        "https://bank.example/response",
    );
    let token = wallet.answer_dcql(&query, &request, now()).unwrap();
    assert_eq!(
        verifier
            .verify_vp_token_any(&query, &request, &token, now())
            .unwrap_err()
            .code(),
        "SdJwt.Status.Invalid"
    );
    // The card is lost: nothing more is issued for it.
    issuer
        .registry()
        .report_card_lost(
            &issuer.card_key(&card).unwrap(),
            &kmid::status::registry::Actor {
                who: "test",
                at: now(),
                reason: "card lost",
            },
        )
        .unwrap();
    let third = transport
        .server
        .offer_pre_authorized(
            &serde_json::to_value(&card).unwrap(),
            std::slice::from_ref(&sd_id),
            false,
            now(),
        )
        .unwrap();
    let session = client
        .pre_authorized(&issuer_info, &third.offer, None, now())
        .unwrap();
    let refused = client
        .credential(
            &issuer_info,
            &session,
            &sd_id,
            &ProofKeys::One(&device),
            now(),
        )
        .unwrap_err();
    assert_eq!(
        refused,
        VciError::Remote {
            status: 400,
            error: "credential_request_denied".into()
        }
    );
}

#[test]
fn a_credential_the_holder_deletes_stops_working() {
    let issuer = issuer(IssuingAuthority::Mois);
    let (trust, signer, leaf) = access_pki();
    let provider = WalletProvider {
        trust,
        signer,
        leaf,
    };
    let config = config(&issuer, &provider);
    let store = MemoryIssuanceStore::default();
    let transport = Transport {
        server: IssuanceServer::new(
            &config,
            &store,
            CryptoProvider::get_default(),
            &SystemRandom,
        ),
        minter: IssuerMinter::new(&issuer),
    };
    let card = Card::from(samples::resident());
    let sd_id = format!("{}.dc+sd-jwt", CardType::Resident.doc_type());
    let offer = transport
        .server
        .offer_pre_authorized(
            &serde_json::to_value(&card).unwrap(),
            std::slice::from_ref(&sd_id),
            false,
            now(),
        )
        .unwrap();
    let device_key = PrivateKey::generate(Curve::P256).unwrap();
    let jwk = device_key.to_jwk().unwrap();
    let device: Arc<dyn Signer> = Arc::new(device_key);
    let client = IssuanceClient::new(
        &transport,
        CryptoProvider::get_default(),
        &SystemRandom,
        Arc::new(PrivateKey::generate(Curve::P256).unwrap()),
        None,
    );
    let info = client.issuer(&offer.offer.credential_issuer, None).unwrap();
    let session = client
        .pre_authorized(&info, &offer.offer, None, now())
        .unwrap();
    let response = client
        .credential(&info, &session, &sd_id, &ProofKeys::One(&device), now())
        .unwrap();
    let trust = kmid::trust_store([issuer.keys()]).unwrap();
    let mut wallet = Wallet::new(jwk.to_private_key().unwrap(), trust.clone());
    wallet
        .store_sd_jwt(
            response.credentials[0]["credential"].as_str().unwrap(),
            now(),
        )
        .unwrap();
    client
        .notify(
            &info,
            &session,
            &response.notification_id,
            NotificationEvent::CredentialDeleted,
            now(),
        )
        .unwrap();
    let lists = issuer.publish(now(), 300).unwrap();
    let fetch = move |uri: &str, _accept: &str| {
        lists
            .iter()
            .find(|l| l.uri == uri)
            .map(|l| l.jwt.clone().into_bytes())
    };
    let resolver = kmid::status::StatusListResolver::new(
        fetch,
        TokenKeys::X5c(trust.clone()),
        TokenPolicy::default(),
    );
    let verifier = Verifier::new(trust, Arc::new(resolver));
    let query = Template::AgeCheck.dcql_query(CardType::Resident, Format::SdJwtVc);
    let request = kmid::OpenId4VpRequest::new(
        "x509_san_dns:bank.example",
        "nonce-3",
        "https://bank.example/response",
    );
    let token = wallet.answer_dcql(&query, &request, now()).unwrap();
    assert_eq!(
        verifier
            .verify_vp_token_any(&query, &request, &token, now())
            .unwrap_err()
            .code(),
        "SdJwt.Status.Invalid"
    );
}

/// A wallet that binds each format to its own key (for unlinkability) gets both under one
/// token: the phone is named by the issuance's first key, not each request's. And an issuer
/// that looks up its current record of the card refuses a card it no longer has.
#[test]
fn a_key_per_format_and_the_issuers_current_record() {
    let issuer = issuer(IssuingAuthority::Mois);
    let (trust, signer, leaf) = access_pki();
    let provider = WalletProvider {
        trust,
        signer,
        leaf,
    };
    let config = config(&issuer, &provider);
    let store = MemoryIssuanceStore::default();
    let card = Card::from(samples::resident());
    let doc_type = CardType::Resident.doc_type();
    let (mdoc_id, sd_id) = (
        format!("{doc_type}.mso_mdoc"),
        format!("{doc_type}.dc+sd-jwt"),
    );
    let receive = |minter: IssuerMinter<'_, MemoryStore>| {
        let transport = Transport {
            server: IssuanceServer::new(
                &config,
                &store,
                CryptoProvider::get_default(),
                &SystemRandom,
            ),
            minter,
        };
        let offer = transport
            .server
            .offer_pre_authorized(
                &serde_json::to_value(&card).unwrap(),
                &[mdoc_id.clone(), sd_id.clone()],
                false,
                now(),
            )
            .unwrap();
        let client = IssuanceClient::new(
            &transport,
            CryptoProvider::get_default(),
            &SystemRandom,
            Arc::new(PrivateKey::generate(Curve::P256).unwrap()),
            None,
        );
        let info = client.issuer(&offer.offer.credential_issuer, None).unwrap();
        let session = client
            .pre_authorized(&info, &offer.offer, None, now())
            .unwrap();
        let a: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
        let b: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
        let first = client.credential(&info, &session, &mdoc_id, &ProofKeys::One(&a), now());
        let second = client.credential(&info, &session, &sd_id, &ProofKeys::One(&b), now());
        (
            first.map(|r| r.credentials.len()),
            second.map(|r| r.credentials.len()),
        )
    };
    let (first, second) = receive(IssuerMinter::new(&issuer));
    assert_eq!((first.unwrap(), second.unwrap()), (1, 1));
    let replaced =
        IssuerMinter::new(&issuer).with_current_card(|_| Err("the card was replaced".into()));
    let (first, _) = receive(replaced);
    assert_eq!(
        first.unwrap_err(),
        VciError::Remote {
            status: 400,
            error: "credential_request_denied".into()
        }
    );
}

/// A renewal by the refresh-token grant issues the issuer's current record of the card (an
/// address changed since the offer), and once a credential is issued the refresh token keeps
/// only the card's key, not the card: the store holds no name or registration number for the
/// refresh token's 90 days.
#[test]
fn a_renewal_issues_the_current_record_and_the_refresh_token_keeps_only_the_cards_key() {
    use kmid::oid4vc::store::{IssuanceStore, RecordKind, handle};
    use kmid::schema::IdentityCard;
    let issuer = issuer(IssuingAuthority::Mois);
    let (trust, signer, leaf) = access_pki();
    let provider = WalletProvider {
        trust,
        signer,
        leaf,
    };
    let config = config(&issuer, &provider);
    let store = MemoryIssuanceStore::default();
    let card = Card::from(samples::resident());
    let key = issuer.card_key(&card).unwrap();
    // The issuer's current record: the same card at a new address.
    let mut moved = serde_json::to_value(&card).unwrap();
    moved["address"]["street_address"] = json!("세종대로 209");
    let moved: Card = serde_json::from_value(moved).unwrap();
    let (looked_up, expected_key) = (std::cell::Cell::new(0), key.clone());
    let minter = IssuerMinter::new(&issuer).with_current_card(|asked| {
        looked_up.set(looked_up.get() + 1);
        if asked == expected_key {
            Ok(moved.clone())
        } else {
            Err("no such card".into())
        }
    });
    let transport = Transport {
        server: IssuanceServer::new(
            &config,
            &store,
            CryptoProvider::get_default(),
            &SystemRandom,
        ),
        minter,
    };
    let doc_type = CardType::Resident.doc_type();
    let sd_id = format!("{doc_type}.dc+sd-jwt");
    let offer = transport
        .server
        .offer_pre_authorized(
            &serde_json::to_value(&card).unwrap(),
            std::slice::from_ref(&sd_id),
            false,
            now(),
        )
        .unwrap();
    let client = IssuanceClient::new(
        &transport,
        CryptoProvider::get_default(),
        &SystemRandom,
        Arc::new(PrivateKey::generate(Curve::P256).unwrap()),
        None,
    );
    let info = client.issuer(&offer.offer.credential_issuer, None).unwrap();
    let session = client
        .pre_authorized(&info, &offer.offer, None, now())
        .unwrap();
    let device: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let first = client
        .credential(&info, &session, &sd_id, &ProofKeys::One(&device), now())
        .unwrap();
    assert_eq!(looked_up.get(), 1);
    // The refresh token's record names the card by its key alone.
    let refresh = session.refresh_token.clone().expect("a refresh token");
    let record = store
        .get(
            RecordKind::RefreshToken,
            &handle(CryptoProvider::get_default(), &refresh).unwrap(),
            now(),
        )
        .unwrap()
        .expect("the refresh record");
    let text = String::from_utf8_lossy(&record);
    assert!(text.contains(&key), "{text}");
    let number = card.registration_number().expose().to_owned();
    for held in [number.as_str(), "address", "민준", "portrait"] {
        assert!(!text.contains(held), "the refresh record holds {held}");
    }
    // The credential carries the current address; the renewal does too, looked up again.
    let address_of = |sd_jwt: &str| {
        let disclosed: Vec<String> = sd_jwt
            .split('~')
            .skip(1)
            .filter(|d| !d.is_empty())
            .map(|d| String::from_utf8(b64url_decode(d).unwrap()).unwrap())
            .collect();
        disclosed.iter().any(|d| d.contains("세종대로 209"))
    };
    assert!(address_of(
        first.credentials[0]["credential"].as_str().unwrap()
    ));
    let renewed_session = client.refresh(&info, &session, now()).unwrap();
    let renewed = client
        .credential(
            &info,
            &renewed_session,
            &sd_id,
            &ProofKeys::One(&device),
            now(),
        )
        .unwrap();
    assert_eq!(looked_up.get(), 2);
    assert!(address_of(
        renewed.credentials[0]["credential"].as_str().unwrap()
    ));
}

/// Every card, by both grants, in both formats: the pre-authorized code of a counter offer
/// (with its Transaction Code), and the authorization code grant (PAR authenticated by a wallet
/// attestation, the holder authenticated by the issuer's page — here the test, calling
/// `IssuanceServer::authorize` with the card — PKCE, `iss`); each credential stored by the
/// facade's wallet, presented over OpenID4VP and VALID for a verifier with the published lists.
#[test]
fn every_card_by_both_grants_in_both_formats() {
    use kmid::oid4vc::vci::client_attestation::{
        WalletAttestationClaims, issue_wallet_attestation,
    };
    use kmid::oid4vc::vci::wallet::ClientCredentials;
    use kmid::schema::IdentityCard;
    const CLIENT: &str = "https://wallet.kmid.invalid";
    const REDIRECT: &str = "https://wallet.kmid.invalid/callback";
    let cards = [
        (IssuingAuthority::Mois, Card::from(samples::resident())),
        (IssuingAuthority::Moj, Card::from(samples::foreigner())),
        (
            IssuingAuthority::Oka,
            Card::from(samples::overseas_national()),
        ),
    ];
    let (trust, signer, leaf) = access_pki();
    let provider = WalletProvider {
        trust,
        signer,
        leaf,
    };
    for (authority, card) in cards {
        let issuer = issuer(authority);
        let config = IssuanceConfig {
            metadata: korean_metadata(
                authority,
                &issuer.credential_issuer(),
                &IssuanceProfile::default(),
            ),
            redirect_uris: [(CLIENT.to_owned(), vec![REDIRECT.to_owned()])].into(),
            ..config(&issuer, &provider)
        };
        let store = MemoryIssuanceStore::default();
        let transport = Transport {
            server: IssuanceServer::new(
                &config,
                &store,
                CryptoProvider::get_default(),
                &SystemRandom,
            ),
            minter: IssuerMinter::new(&issuer),
        };
        let doc_type = card.card_type().doc_type();
        let ids = [
            format!("{doc_type}.mso_mdoc"),
            format!("{doc_type}.dc+sd-jwt"),
        ];
        // One phone (the registry keeps a card on one): the second grant re-issues to it.
        let device_key = PrivateKey::generate(Curve::P256).unwrap();
        let device_jwk = device_key.to_jwk().unwrap();
        let device: Arc<dyn Signer> = Arc::new(device_key);
        for by_code in [false, true] {
            let instance: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
            let attestation = issue_wallet_attestation(
                &provider.signer,
                std::slice::from_ref(&provider.leaf),
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
                by_code.then(|| ClientCredentials {
                    client_id: CLIENT.into(),
                    instance,
                    attestation,
                }),
            );
            let info = client.issuer(&issuer.credential_issuer(), None).unwrap();
            let session = if by_code {
                let start = client
                    .start_authorization(&info, &ids.join(" "), REDIRECT, None, now())
                    .unwrap();
                let query = start.url.split_once('?').unwrap().1;
                let request_uri = form_urlencoded::parse(query.as_bytes())
                    .find(|(k, _)| k == "request_uri")
                    .unwrap()
                    .1
                    .into_owned();
                let approved = transport
                    .server
                    .authorize(
                        &request_uri,
                        CLIENT,
                        &serde_json::to_value(&card).unwrap(),
                        now(),
                    )
                    .unwrap();
                client
                    .finish_authorization(&info, &start, &approved.redirect, now())
                    .unwrap()
            } else {
                let offer = transport
                    .server
                    .offer_pre_authorized(&serde_json::to_value(&card).unwrap(), &ids, true, now())
                    .unwrap();
                client
                    .pre_authorized(&info, &offer.offer, offer.tx_code.as_deref(), now())
                    .unwrap()
            };
            let trust = kmid::trust_store([issuer.keys()]).unwrap();
            let mut wallet = Wallet::new(device_jwk.to_private_key().unwrap(), trust.clone());
            for id in &ids {
                let response = client
                    .credential(&info, &session, id, &ProofKeys::One(&device), now())
                    .unwrap();
                let credential = response.credentials[0]["credential"].as_str().unwrap();
                if id.ends_with(".mso_mdoc") {
                    let issuer_signed = IssuerSigned::from_bytes(
                        &b64url_decode(credential).unwrap(),
                        &CborLimits::default(),
                    )
                    .unwrap();
                    wallet.store_mdoc(issuer_signed, now()).unwrap();
                } else {
                    wallet.store_sd_jwt(credential, now()).unwrap();
                }
            }
            let lists = issuer.publish(now(), 300).unwrap();
            let fetch = move |uri: &str, _accept: &str| {
                lists
                    .iter()
                    .find(|l| l.uri == uri)
                    .map(|l| l.jwt.clone().into_bytes())
            };
            let resolver = kmid::status::StatusListResolver::new(
                fetch,
                TokenKeys::X5c(trust.clone()),
                TokenPolicy::default(),
            );
            let verifier = Verifier::new(trust, Arc::new(resolver));
            for format in [Format::Mdoc, Format::SdJwtVc] {
                let query = Template::AgeCheck.dcql_query(card.card_type(), format);
                let request = kmid::OpenId4VpRequest::new(
                    "x509_san_dns:bank.example",
                    "nonce-matrix",
                    "https://bank.example/response",
                );
                let token = wallet.answer_dcql(&query, &request, now()).unwrap();
                let seen = verifier
                    .verify_vp_token_any(&query, &request, &token, now())
                    .unwrap();
                assert_eq!(
                    seen[0].1.status.map(|s| s.to_string()).as_deref(),
                    Some("VALID"),
                    "{authority:?} {format:?} by code {by_code}"
                );
            }
        }
    }
}
