//! The fixed world of the OpenID4VCI targets (issue 19's parsers), deterministic so that the
//! seeds `fuzz-seeds` writes are valid in the fuzzing process: the test PKI's reader as the
//! wallet provider, test keys as the wallet's DPoP, instance and device keys, an issuer whose
//! store and random source are made afresh for each input (so tokens and proofs made here
//! match), and seeds of every message: offers, metadata (plain and signed), DPoP proofs, key
//! proofs with a key attestation, a wallet attestation and its PoP, endpoint bodies.

use std::sync::{Arc, OnceLock};

use kmid::crypto::jose::sign_compact;
use kmid::crypto::x509::{Certificate, TrustStore, chain_to_x5c};
use kmid::crypto::{CryptoProvider, Signer};
use kmid::oid4vc::dpop::{DpopProof, DpopRequest};
use kmid::oid4vc::store::MemoryIssuanceStore;
use kmid::oid4vc::vci::client_attestation::{
    WalletAttestationClaims, client_attestation_pop, issue_wallet_attestation,
};
use kmid::oid4vc::vci::metadata::CredentialIssuerMetadata;
use kmid::oid4vc::vci::nonce::NonceKey;
use kmid::oid4vc::vci::offer::OfferUrl;
use kmid::oid4vc::vci::server::{IssuanceConfig, IssuanceServer, Lifetimes, RequestContext};
use kmid_testkit::{REFERENCE_TIME, Rfc6979Signer, SeededRandom, TestPki};
use serde_json::{Map, json};
use time::{Duration, OffsetDateTime};

pub(crate) const ISSUER: &str = "https://issuer.kmid.invalid";
pub(crate) const CLIENT: &str = "https://wallet.kmid.invalid";
pub(crate) const CONFIGURATION: &str = "kr.go.mois.rrc.1.dc+sd-jwt";
const SERVER_SEED: &[u8] = b"kmid fuzz vci server";

/// What the OpenID4VCI bodies use.
pub(crate) struct VciWorld {
    pub(crate) at: OffsetDateTime,
    pub(crate) config: IssuanceConfig,
    /// The wallet-provider anchors.
    pub(crate) providers: TrustStore,
    /// DPoP proofs for the token endpoint and, for the access token the seeded server issues
    /// first, the credential and notification endpoints.
    pub(crate) token_dpop: String,
    pub(crate) credential_dpop: String,
    pub(crate) notification_dpop: String,
    pub(crate) access_token: String,
    /// A wallet attestation and its PoP, for PAR.
    pub(crate) attestation: (String, String),
    /// Seeds.
    pub(crate) offers: Vec<Vec<u8>>,
    pub(crate) metadata: Vec<Vec<u8>>,
    pub(crate) dpop_proofs: Vec<Vec<u8>>,
    pub(crate) key_proofs: Vec<Vec<u8>>,
    pub(crate) client_attestations: Vec<Vec<u8>>,
    pub(crate) bodies: Vec<Vec<u8>>,
}

pub(crate) fn get() -> &'static VciWorld {
    static WORLD: OnceLock<VciWorld> = OnceLock::new();
    WORLD.get_or_init(|| build().unwrap_or_else(|e| panic!("vci fuzz world: {e}")))
}

pub(crate) fn metadata() -> Result<CredentialIssuerMetadata, String> {
    serde_json::from_value(json!({
        "credential_issuer": ISSUER,
        "credential_endpoint": format!("{ISSUER}/credential"),
        "nonce_endpoint": format!("{ISSUER}/nonce"),
        "notification_endpoint": format!("{ISSUER}/notification"),
        "batch_credential_issuance": { "batch_size": 3 },
        "credential_configurations_supported": {
            CONFIGURATION: {
                "format": "dc+sd-jwt",
                "scope": "kr.go.mois.rrc.1",
                "vct": "kr.go.mois.rrc.1",
                "cryptographic_binding_methods_supported": ["jwk"],
                "proof_types_supported": { "jwt": { "proof_signing_alg_values_supported": ["ES256"] } },
            }
        }
    }))
    .map_err(|e| e.to_string())
}

/// A server over a fresh memory store and a random source seeded the same for every input, so
/// that its first offer and token are the ones the world's proofs were made for.
pub(crate) fn server<'a>(
    world: &'a VciWorld,
    store: &'a MemoryIssuanceStore,
    random: &'a SeededRandom,
) -> IssuanceServer<'a> {
    IssuanceServer::new(&world.config, store, CryptoProvider::get_default(), random)
}

pub(crate) fn fresh_random() -> SeededRandom {
    SeededRandom::new(SERVER_SEED)
}

/// The token request body for the seeded server's first offer.
pub(crate) fn token_body(
    store: &MemoryIssuanceStore,
    world: &VciWorld,
    random: &SeededRandom,
) -> Option<String> {
    let offer = server(world, store, random)
        .offer_pre_authorized(
            &json!({ "card": "rrc" }),
            &[CONFIGURATION.to_owned()],
            false,
            world.at,
        )
        .ok()?;
    let code = offer.offer.grants.pre_authorized_code?.code;
    Some(form(&[
        (
            "grant_type",
            "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        ),
        ("pre-authorized_code", &code),
    ]))
}

fn form(pairs: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

pub(crate) fn ctx<'a>(method: &'a str, url: &'a str, dpop: Option<&'a str>) -> RequestContext<'a> {
    RequestContext {
        dpop,
        client_attestation: None,
        access_token: None,
        url,
        method,
    }
}

fn build() -> Result<VciWorld, String> {
    let e = |e: &dyn core::fmt::Display| e.to_string();
    let provider = CryptoProvider::get_default();
    let pki = TestPki::new();
    let at = REFERENCE_TIME;
    let mut providers = TrustStore::new();
    providers.add(pki.reader_root.clone()).map_err(|x| e(&x))?;
    let provider_signer: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("reader"));
    let provider_chain: Vec<Certificate> = vec![pki.reader.clone()];
    let dpop_key: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("holder-rrc"));
    let instance: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("holder-rc"));
    let device: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("holder-onc"));
    let random = SeededRandom::new(b"kmid fuzz vci wallet");
    let metadata = metadata()?;
    let config = IssuanceConfig {
        metadata: metadata.clone(),
        nonce_key: NonceKey::from_bytes([7; 32]),
        require_dpop_nonce: false,
        wallet_providers: providers.clone(),
        anonymous_pre_authorized: true,
        redirect_uris: [(
            CLIENT.to_owned(),
            vec!["https://wallet.kmid.invalid/cb".to_owned()],
        )]
        .into_iter()
        .collect(),
        lifetimes: Lifetimes::default(),
    };
    let dpop = |method: &str, path: &str, token: Option<&str>| {
        DpopProof::create(
            provider,
            &random,
            &dpop_key,
            &DpopRequest {
                method,
                url: &format!("{ISSUER}/{path}"),
                nonce: None,
                access_token: token,
            },
            at,
        )
        .map_err(|x| e(&x))
    };
    let token_dpop = dpop("POST", "token", None)?;
    // The access token the seeded server issues for its first offer.
    let store = MemoryIssuanceStore::default();
    let mut world = VciWorld {
        at,
        config,
        providers: providers.clone(),
        token_dpop: token_dpop.clone(),
        credential_dpop: String::new(),
        notification_dpop: String::new(),
        access_token: String::new(),
        attestation: (String::new(), String::new()),
        offers: Vec::new(),
        metadata: Vec::new(),
        dpop_proofs: Vec::new(),
        key_proofs: Vec::new(),
        client_attestations: Vec::new(),
        bodies: Vec::new(),
    };
    let server_random = fresh_random();
    let body = token_body(&store, &world, &server_random).ok_or("no offer")?;
    let token = server(&world, &store, &server_random)
        .token(
            body.as_bytes(),
            &ctx("POST", &format!("{ISSUER}/token"), Some(&token_dpop)),
            at,
        )
        .map_err(|x| e(&x))?;
    world.credential_dpop = dpop("POST", "credential", Some(&token.access_token))?;
    world.notification_dpop = dpop("POST", "notification", Some(&token.access_token))?;
    world.access_token = token.access_token.clone();

    let attestation = issue_wallet_attestation(
        &provider_signer,
        &provider_chain,
        &WalletAttestationClaims {
            provider: "https://wallet-provider.kmid.invalid",
            client_id: CLIENT,
            wallet_name: Some("kmid fuzz wallet"),
            instance_key: instance.public_key(),
            at,
            lifetime: Duration::days(30),
        },
    )
    .map_err(|x| e(&x))?;
    let pop =
        client_attestation_pop(&instance, &random, CLIENT, ISSUER, None, at).map_err(|x| e(&x))?;
    world.client_attestations = vec![format!("{attestation}\n{pop}").into_bytes()];
    world.attestation = (attestation, pop);

    // Offers.
    let offer = server(&world, &MemoryIssuanceStore::default(), &fresh_random())
        .offer_pre_authorized(
            &json!({ "card": "rrc" }),
            &[CONFIGURATION.to_owned()],
            true,
            at,
        )
        .map_err(|x| e(&x))?
        .offer;
    world.offers = vec![
        OfferUrl::ByValue(Box::new(offer.clone())).to_url("openid-credential-offer://"),
        OfferUrl::ByReference(format!("{ISSUER}/offer/1")).to_url("haip-vci://"),
        serde_json::to_string(&offer).map_err(|x| e(&x))?,
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect();
    // Metadata, plain and signed.
    let signed = metadata
        .sign(
            &provider_signer,
            &provider_chain,
            at,
            at + Duration::days(1),
        )
        .map_err(|x| e(&x))?;
    world.metadata = vec![
        serde_json::to_vec(&metadata).map_err(|x| e(&x))?,
        signed.into_bytes(),
        json!({
            "issuer": ISSUER,
            "token_endpoint": format!("{ISSUER}/token"),
            "pushed_authorization_request_endpoint": format!("{ISSUER}/par"),
            "code_challenge_methods_supported": ["S256"],
        })
        .to_string()
        .into_bytes(),
    ];
    world.dpop_proofs = vec![
        token_dpop.into_bytes(),
        world.credential_dpop.clone().into_bytes(),
    ];
    // Key proofs: one plain, one carrying a key attestation, the attestation alone, and the
    // `proofs` object of a batch.
    let nonce = world
        .config
        .nonce_key
        .issue(
            provider,
            &random,
            kmid::oid4vc::vci::nonce::NonceUse::CNonce,
            at,
            Duration::days(3650),
        )
        .map_err(|x| e(&x))?;
    let mut att_header = Map::new();
    att_header.insert("typ".into(), json!("key-attestation+jwt"));
    att_header.insert("x5c".into(), json!(chain_to_x5c(&provider_chain)));
    let key_attestation = sign_compact(
        att_header,
        json!({
            "iat": at.unix_timestamp(),
            "exp": at.unix_timestamp() + 3600,
            "nonce": nonce,
            "attested_keys": [device.public_key().to_jwk()],
            "key_storage": ["iso_18045_high"],
        })
        .to_string()
        .as_bytes(),
        &provider_signer,
    )
    .map_err(|x| e(&x))?;
    let proof = |attestation: Option<&str>| {
        let mut header = Map::new();
        header.insert("typ".into(), json!("openid4vci-proof+jwt"));
        header.insert("jwk".into(), json!(device.public_key().to_jwk()));
        if let Some(att) = attestation {
            header.insert("key_attestation".into(), json!(att));
        }
        sign_compact(
            header,
            json!({ "aud": ISSUER, "iat": at.unix_timestamp(), "nonce": nonce })
                .to_string()
                .as_bytes(),
            &device,
        )
        .map_err(|x| e(&x))
    };
    let plain = proof(None)?;
    let attested = proof(Some(&key_attestation))?;
    world.key_proofs = vec![
        plain.clone().into_bytes(),
        attested.clone().into_bytes(),
        key_attestation.clone().into_bytes(),
        json!({ "jwt": [attested] }).to_string().into_bytes(),
        json!({ "attestation": [key_attestation] })
            .to_string()
            .into_bytes(),
    ];
    // Endpoint bodies: token, PAR, credential, notification.
    world.bodies = vec![
        body.into_bytes(),
        form(&[
            ("response_type", "code"),
            ("client_id", CLIENT),
            ("redirect_uri", "https://wallet.kmid.invalid/cb"),
            ("scope", "kr.go.mois.rrc.1"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ])
        .into_bytes(),
        json!({ "credential_configuration_id": CONFIGURATION, "proofs": { "jwt": [plain] } })
            .to_string()
            .into_bytes(),
        json!({ "notification_id": "n", "event": "credential_accepted" })
            .to_string()
            .into_bytes(),
    ];
    Ok(world)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// The seeds reach past the checks: the world's token, its DPoP proofs and attestation
    /// are accepted by a fresh seeded server, and the credential body issues.
    #[test]
    fn the_seeds_are_valid_in_the_world_they_are_fuzzed_in() {
        let w = super::get();
        let store = kmid::oid4vc::store::MemoryIssuanceStore::default();
        let random = super::fresh_random();
        let body = super::token_body(&store, w, &random).unwrap();
        let token = super::server(w, &store, &random)
            .token(
                body.as_bytes(),
                &super::ctx(
                    "POST",
                    "https://issuer.kmid.invalid/token",
                    Some(&w.token_dpop),
                ),
                w.at,
            )
            .unwrap();
        assert_eq!(token.access_token, w.access_token);
        kmid::oid4vc::vci::client_attestation::verify_client_attestation(
            &w.attestation.0,
            &w.attestation.1,
            &kmid::oid4vc::vci::client_attestation::ClientAuthCheck {
                provider: kmid::crypto::CryptoProvider::get_default(),
                trust: &w.providers,
                authorization_server: super::ISSUER,
                challenge: None,
                at: w.at,
            },
        )
        .unwrap();
        super::super::vci_credential_body(&w.bodies[2], true);
    }
}
