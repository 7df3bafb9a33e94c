//! The verifier service over real HTTP on loopback, with kmid's wallet on the other side:
//! transactions made through the API for every response mode × format, same- and
//! cross-device (the result only with the `response_code`), the Digital Credentials API; a
//! restart between request and response (SQLite) loses nothing; and what it refuses: the API
//! without its key, a registration number without a legal basis, junk and replayed
//! responses, a response that does not verify (the real one still gets in), a body over
//! 64 KiB, an expired transaction. A zero-knowledge age check (`age-check-zk`) over HTTP.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

use std::sync::{Arc, Mutex};

use kmid::crypto::{
    Algorithm, CryptoError, CryptoProvider, Curve, PrivateKey, PublicKey, Signer, SystemRandom,
};
use kmid::schema::Card;
use kmid::schema::status::{
    StatusContext, StatusError, StatusReference, StatusResolver, TokenStatus,
};
use kmid::status::registry::{MemoryStore, RegistryConfig, StatusRegistry};
use kmid::{
    AuthorityKeys, CardKeySecret, Formats, Issuer, IssuingAuthority, RequestObjectFetcher,
    Verifier, VerifierAccess, Wallet,
};
use kmid_server::{
    MemoryTransactionStore, SqliteTransactionStore, TransactionStore, VerifierConfig,
    VerifierService,
};
use kmid_testkit::samples;
use serde_json::{Value, json};
use time::OffsetDateTime;

mod common;
use common::{access_pki, serve};

const PUBLIC: &str = "https://rp.kmid.invalid/vp";
const ORIGIN: &str = "https://rp.kmid.invalid";
const REDIRECT: &str = "https://rp.kmid.invalid/done";
const API_KEY: &str = "test-api-key-0123456789";

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

struct AllValid;

impl StatusResolver for AllValid {
    fn resolve(
        &self,
        _: &StatusReference,
        _: &StatusContext<'_>,
        _: OffsetDateTime,
    ) -> Result<TokenStatus, StatusError> {
        Ok(TokenStatus::Valid)
    }
}

/// A holder's wallet with the sample resident card in both formats, a second wallet with
/// a card from an issuer the verifier does not trust, and the verifier's pieces.
struct World {
    wallet: Wallet,
    stranger: Wallet,
    verifier: Arc<Verifier>,
    access: Arc<VerifierAccess>,
    /// The access certificate's key and the certificate, for another access.
    signer: Arc<dyn Signer>,
    leaf: kmid::crypto::x509::Certificate,
}

fn issuer() -> Issuer<MemoryStore> {
    let random = Arc::new(SystemRandom);
    let keys = AuthorityKeys::generate(IssuingAuthority::Mois, now(), &*random).unwrap();
    let registry = StatusRegistry::new(
        MemoryStore::new(),
        RegistryConfig::new("https://status.kmid.invalid/lists"),
        random.clone(),
    );
    Issuer::new(
        keys,
        registry,
        CardKeySecret::generate(&*random).unwrap(),
        random,
    )
}

fn world() -> World {
    let (verifier_trust, signer, leaf) = access_pki();
    // The age-check-zk circuit, loaded only by the test that proves with it.
    let circuits = Arc::new(kmid::zk::ZkCircuits::age_check());
    let holder = |issuer: &Issuer<MemoryStore>| {
        let trust = kmid::trust_store([issuer.keys()]).unwrap();
        let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), trust)
            .with_verifier_trust(verifier_trust.clone())
            .with_zk_circuits(Arc::clone(&circuits));
        let issued = issuer
            .issue(
                &Card::from(samples::resident()),
                wallet.device_key(),
                Formats::Both,
                now(),
            )
            .unwrap();
        wallet.store_issued(issued, now()).unwrap();
        wallet
    };
    let trusted = issuer();
    let untrusted = issuer();
    let verifier = Verifier::new(
        kmid::trust_store([trusted.keys()]).unwrap(),
        Arc::new(AllValid),
    )
    .with_zk_circuits(Arc::clone(&circuits), kmid::zk::ZkPolicy::default());
    World {
        wallet: holder(&trusted),
        stranger: holder(&untrusted),
        verifier: Arc::new(verifier),
        access: Arc::new(
            VerifierAccess::x509_hash(
                CryptoProvider::get_default(),
                Arc::clone(&signer),
                vec![leaf.clone()],
            )
            .unwrap(),
        ),
        signer,
        leaf,
    }
}

/// HTTP to the service as the relying party's back end and as a wallet: the public URL is
/// the loopback service (which may move, across a restart).
struct Client {
    base: Mutex<String>,
    http: reqwest::blocking::Client,
    api_key: Option<&'static str>,
}

impl Client {
    fn new(base: String, api_key: Option<&'static str>) -> Self {
        Self {
            base: Mutex::new(base),
            http: reqwest::blocking::Client::builder()
                .use_preconfigured_tls(kmid_server::tls_client_config().unwrap())
                .build()
                .unwrap(),
            api_key,
        }
    }

    fn local(&self, url: &str) -> String {
        let path = url.strip_prefix(ORIGIN).expect("a URL of the service");
        format!("{}{path}", self.base.lock().unwrap())
    }

    fn send(&self, builder: reqwest::blocking::RequestBuilder) -> (u16, Value) {
        let builder = match self.api_key {
            Some(key) => builder.bearer_auth(key),
            None => builder,
        };
        let response = builder.send().unwrap();
        let status = response.status().as_u16();
        let text = response.text().unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn create(&self, request: &Value) -> (u16, Value) {
        self.send(
            self.http
                .post(self.local(&format!("{PUBLIC}/transactions")))
                .header("content-type", "application/json")
                .body((request).to_string()),
        )
    }

    fn result(&self, id: &str, code: Option<&str>) -> (u16, Value) {
        let mut url = self.local(&format!("{PUBLIC}/transactions/{id}"));
        if let Some(code) = code {
            url = format!("{url}?response_code={code}");
        }
        self.send(self.http.get(url))
    }

    fn result_at(&self, url: &str) -> (u16, Value) {
        self.send(self.http.get(self.local(url)))
    }

    /// POSTs a wallet's form body to the `response_uri`.
    fn respond(&self, response_uri: &str, body: &str) -> (u16, Value) {
        self.send(
            self.http
                .post(self.local(response_uri))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.to_owned()),
        )
    }
}

impl RequestObjectFetcher for Client {
    fn get(&self, request_uri: &str) -> Result<Vec<u8>, String> {
        let response = self
            .http
            .get(self.local(request_uri))
            .send()
            .map_err(|e| e.to_string())?;
        check_object(response)
    }

    fn post(&self, request_uri: &str, body: &str) -> Result<Vec<u8>, String> {
        let response = self
            .http
            .post(self.local(request_uri))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .map_err(|e| e.to_string())?;
        check_object(response)
    }
}

fn check_object(response: reqwest::blocking::Response) -> Result<Vec<u8>, String> {
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if status != 200 || kind != "application/oauth-authz-req+jwt" {
        return Err(format!("{status} {kind}"));
    }
    Ok(response.bytes().map_err(|e| e.to_string())?.to_vec())
}

/// The service at `PUBLIC`, with API `keys` (none: open), the clear modes allowed.
fn service(world: &World, store: Arc<dyn TransactionStore>, keys: &[&str]) -> VerifierService {
    let mut config = VerifierConfig::new(PUBLIC);
    config.api_keys = keys.iter().map(|k| (*k).to_owned()).collect();
    config.open_api = keys.is_empty();
    config.allow_unencrypted = true;
    VerifierService::new(
        config,
        Arc::clone(&world.verifier),
        Arc::clone(&world.access),
        store,
    )
    .unwrap()
}

fn memory() -> Arc<dyn TransactionStore> {
    Arc::new(MemoryTransactionStore::new(64))
}

/// The public id of a transaction handle (`<id>.<secret>`).
fn public_id(handle: &str) -> &str {
    handle.split_once('.').unwrap().0
}

#[test]
fn every_mode_and_format_round_trips_over_http() {
    let world = world();
    let (base, _stop) = serve(
        axum::Router::new().nest_service("/vp", service(&world, memory(), &[API_KEY]).router()),
    );
    let client = Client::new(base, Some(API_KEY));
    for format in ["mso_mdoc", "dc+sd-jwt"] {
        for mode in ["direct_post", "direct_post.jwt"] {
            for same_device in [false, true] {
                let what = format!("{format} {mode} same_device={same_device}");
                let (status, created) = client.create(&json!({
                    "template": "identity",
                    "card": "kr.go.mois.rrc.1",
                    "format": format,
                    "response_mode": mode,
                    "same_device": same_device,
                    "redirect_uri": REDIRECT,
                }));
                assert_eq!(status, 201, "{what}: {created}");
                let id = created["transaction_id"].as_str().unwrap();
                // The request's URLs carry the public half only.
                assert!(!created["request_url"].as_str().unwrap().contains(id));
                let url = created["request_url"].as_str().unwrap();
                assert!(url.starts_with("openid4vp://?client_id="), "{url}");
                assert!(url.contains("request_uri_method=post"), "{url}");
                let (status, pending) = client.result(id, None);
                assert_eq!((status, pending["status"].as_str()), (200, Some("pending")));
                assert!(pending.get("result").is_none(), "{pending}");
                // The wallet fetches the request (POSTing its wallet_nonce) and answers.
                let answer = world
                    .wallet
                    .answer_request_url(url, &client, now())
                    .unwrap();
                assert_eq!(
                    answer.response_uri,
                    format!("{PUBLIC}/response/{}", public_id(id))
                );
                let (status, sent) = client.respond(&answer.response_uri, &answer.body);
                assert_eq!(status, 200, "{what}: {sent}");
                let code = if same_device {
                    let redirect = sent["redirect_uri"].as_str().unwrap();
                    let code = redirect
                        .strip_prefix(&format!("{REDIRECT}?response_code="))
                        .unwrap()
                        .to_owned();
                    // Without the code, or with another, nothing is released.
                    assert_eq!(client.result(id, None).0, 403, "{what}");
                    assert_eq!(client.result(id, Some("AAAAAAAAAAAAAAAAAAAAAA")).0, 403);
                    Some(code)
                } else {
                    assert_eq!(sent, json!({}), "{what}");
                    None
                };
                let (status, done) = client.result(id, code.as_deref());
                assert_eq!(status, 200, "{what}: {done}");
                assert_eq!(done["status"], "answered", "{what}: {done}");
                let result = &done["result"];
                assert_eq!(result["valid"], true, "{what}: {done}");
                let presented = &result["presentations"][0];
                assert_eq!(presented["format"], format);
                assert_eq!(presented["card"], "kr.go.mois.rrc.1");
                assert_eq!(presented["status"], "VALID");
                assert_eq!(
                    presented["claims"]["family_name_unicode"], "김",
                    "{what}: {done}"
                );
                assert!(presented["claims"].get("portrait").is_some(), "{done}");
                // The photo itself only when the transaction asked for it.
                assert!(presented.get("portrait_image").is_none(), "{done}");
                // One response only.
                let (status, again) = client.respond(&answer.response_uri, &answer.body);
                assert_eq!(status, 400, "{what}: {again}");
            }
        }
    }
}

/// The Request Object is signed when a wallet fetches it and not kept: the store holds no
/// signed copy; a GET is signed without a `wallet_nonce`, a POST with the one it sent; the
/// wallet takes the object it was served (and no other nonce); after the answer, no fetch.
#[test]
fn the_request_object_is_signed_at_each_fetch() {
    let world = world();
    let store = Arc::new(MemoryTransactionStore::new(8));
    let shared: Arc<dyn TransactionStore> = store.clone();
    let (base, _stop) = serve(
        axum::Router::new().nest_service("/vp", service(&world, shared, &[API_KEY]).router()),
    );
    let client = Client::new(base, Some(API_KEY));
    let (status, created) = client.create(&json!({
        "template": "age-check",
        "card": "kr.go.mois.rrc.1",
        "format": "dc+sd-jwt",
    }));
    assert_eq!(status, 201, "{created}");
    let id = public_id(created["transaction_id"].as_str().unwrap());
    let (_, record) = store.get(id).unwrap().unwrap();
    let pending: Value = serde_json::from_str(record.pending.json()).unwrap();
    assert!(pending.get("authorization").is_some());
    assert!(
        pending.get("request_object").is_none(),
        "a signed copy is kept"
    );
    let payload = |object: &[u8]| -> Value {
        let text = std::str::from_utf8(object).unwrap();
        let part = text.split('.').nth(1).unwrap();
        serde_json::from_slice(&kmid::crypto::jose::b64url_decode(part).unwrap()).unwrap()
    };
    let request_uri = created["request_uri"].as_str().unwrap();
    let got = client.get(request_uri).unwrap();
    let posted = client.post(request_uri, "wallet_nonce=wn-fetch-1").unwrap();
    assert!(payload(&got).get("wallet_nonce").is_none());
    assert_eq!(payload(&posted)["wallet_nonce"], "wn-fetch-1");
    let mut same = payload(&posted);
    same.as_object_mut().unwrap().remove("wallet_nonce");
    assert_eq!(same, payload(&got), "the same request either way");
    let client_id = payload(&got)["client_id"].as_str().unwrap().to_owned();
    let posted = std::str::from_utf8(&posted).unwrap();
    assert_eq!(
        world
            .wallet
            .answer_online(posted, Some(&client_id), Some("wn-other"), now())
            .unwrap_err()
            .code(),
        "Oid4vp.WalletNonce"
    );
    let answer = world
        .wallet
        .answer_online(
            std::str::from_utf8(&got).unwrap(),
            Some(&client_id),
            None,
            now(),
        )
        .unwrap();
    let (status, sent) = client.respond(&answer.response_uri, &answer.body);
    assert_eq!(status, 200, "{sent}");
    assert_eq!(client.get(request_uri).unwrap_err(), "400 application/json");
    let (status, done) = client.result(created["transaction_id"].as_str().unwrap(), None);
    assert_eq!(
        (status, &done["result"]["valid"]),
        (200, &json!(true)),
        "{done}"
    );
}

/// How a test signer behaves around the access key's signature.
#[derive(Clone, Copy)]
enum Signing {
    /// It waits on the runtime first, as a remote key's client does (which panics on an
    /// asynchronous worker), and says it may block.
    Remote,
    /// It panics (a bug), saying it may block or not.
    Panics { may_block: bool },
}

struct TestSigner(Arc<dyn Signer>, Signing);

impl Signer for TestSigner {
    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }

    fn public_key(&self) -> &PublicKey {
        self.0.public_key()
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match self.1 {
            Signing::Remote => {
                tokio::runtime::Handle::current()
                    .block_on(tokio::time::sleep(std::time::Duration::from_millis(1)));
                self.0.sign(message)
            }
            Signing::Panics { .. } => panic!("a signer's bug"),
        }
    }

    fn may_block(&self) -> bool {
        !matches!(self.1, Signing::Panics { may_block: false })
    }
}

/// The service (memory store) signing with the world's access key through `signing`, served;
/// a client, a transaction made, and the server's stop.
fn signing_with(
    world: &World,
    signing: Signing,
) -> (Client, Value, tokio::sync::oneshot::Sender<()>) {
    let access = VerifierAccess::x509_hash(
        CryptoProvider::get_default(),
        Arc::new(TestSigner(Arc::clone(&world.signer), signing)),
        vec![world.leaf.clone()],
    )
    .unwrap();
    let mut config = VerifierConfig::new(PUBLIC);
    config.api_keys = vec![API_KEY.into()];
    let service = VerifierService::new(
        config,
        Arc::clone(&world.verifier),
        Arc::new(access),
        memory(),
    )
    .unwrap();
    let (base, stop) = serve(axum::Router::new().nest_service("/vp", service.router()));
    let client = Client::new(base, Some(API_KEY));
    let (status, created) = client.create(&json!({
        "template": "age-check",
        "card": "kr.go.mois.rrc.1",
        "format": "mso_mdoc",
    }));
    assert_eq!(status, 201, "{created}");
    (client, created, stop)
}

/// The light steps run on the asynchronous workers only when nothing they call may block:
/// with a signer that may (the default), a whole exchange works; run on a worker, its wait
/// would panic.
#[test]
fn a_signer_that_may_block_is_called_off_the_workers() {
    let world = world();
    assert!(TestSigner(Arc::clone(&world.signer), Signing::Remote).may_block());
    assert!(!world.access.signer_may_block());
    let (client, created, _stop) = signing_with(&world, Signing::Remote);
    let answer = world
        .wallet
        .answer_request_url(created["request_url"].as_str().unwrap(), &client, now())
        .unwrap();
    let (status, sent) = client.respond(&answer.response_uri, &answer.body);
    assert_eq!(status, 200, "{sent}");
    let (status, done) = client.result(created["transaction_id"].as_str().unwrap(), None);
    assert_eq!(
        (status, &done["result"]["valid"]),
        (200, &json!(true)),
        "{done}"
    );
}

/// A panic in a light step is answered 500 whether it ran on the async workers or on the
/// blocking pool, and the service goes on answering on the same connection.
#[test]
fn a_panic_in_a_step_is_a_500_wherever_it_ran() {
    let world = world();
    for may_block in [false, true] {
        let (client, created, _stop) = signing_with(&world, Signing::Panics { may_block });
        let request_uri = created["request_uri"].as_str().unwrap();
        assert_eq!(client.get(request_uri).unwrap_err(), "500 application/json");
        let (status, _) = client.result(created["transaction_id"].as_str().unwrap(), None);
        assert_eq!(status, 200, "may_block: {may_block}");
    }
}

/// `age-check-zk`: the wallet proves `age_over_19` in zero knowledge (a Longfellow proof in
/// the DeviceResponse's `zkDocuments`), the service verifies it and reports it as such.
#[test]
fn a_zero_knowledge_age_check_over_http() {
    let world = world();
    let (base, _stop) = serve(
        axum::Router::new().nest_service("/vp", service(&world, memory(), &[API_KEY]).router()),
    );
    let client = Client::new(base, Some(API_KEY));
    let (status, created) = client.create(&json!({
        "template": "age-check-zk",
        "card": "kr.go.mois.rrc.1",
        "format": "mso_mdoc",
    }));
    assert_eq!(status, 201, "{created}");
    let id = created["transaction_id"].as_str().unwrap();
    let url = created["request_url"].as_str().unwrap();
    let answer = world
        .wallet
        .answer_request_url(url, &client, now())
        .unwrap();
    let (status, sent) = client.respond(&answer.response_uri, &answer.body);
    assert_eq!(status, 200, "{sent}");
    let (status, done) = client.result(id, None);
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["result"]["valid"], true, "{done}");
    let presented = &done["result"]["presentations"][0];
    assert_eq!(presented["format"], "mso_mdoc_zk", "{done}");
    assert_eq!(presented["card"], "kr.go.mois.rrc.1");
    assert_eq!(presented["claims"], json!({"age_over_19": true}), "{done}");
    assert_eq!(presented["status"], Value::Null, "{done}");
    // The stranger's card (an issuer the service does not trust, whose names are the trusted
    // one's) proves as well, and is refused for its Document Signer chain.
    let (_, created) = client.create(&json!({
        "template": "age-check-zk",
        "card": "kr.go.mois.rrc.1",
        "format": "mso_mdoc",
    }));
    let id = created["transaction_id"].as_str().unwrap();
    let answer = world
        .stranger
        .answer_request_url(created["request_url"].as_str().unwrap(), &client, now())
        .unwrap();
    let (status, _) = client.respond(&answer.response_uri, &answer.body);
    assert_eq!(status, 200);
    let (_, done) = client.result(id, None);
    assert_eq!(done["result"]["valid"], false, "{done}");
    assert_eq!(
        done["result"]["error"], "Crypto.Certificate.BadSignature",
        "{done}"
    );
}

#[test]
fn a_dc_api_transaction_takes_the_pages_response() {
    let world = world();
    let (base, _stop) =
        serve(axum::Router::new().nest_service("/vp", service(&world, memory(), &[]).router()));
    let client = Client::new(base, None);
    for mode in ["dc_api", "dc_api.jwt"] {
        let (status, created) = client.create(&json!({
            "template": "age-check",
            "card": "kr.go.mois.rrc.1",
            "format": "dc+sd-jwt",
            "response_mode": mode,
            "origin": ORIGIN,
        }));
        assert_eq!(status, 201, "{created}");
        let request = &created["dc_api_request"];
        let data = world
            .wallet
            .answer_dc_api(
                request["protocol"].as_str().unwrap(),
                &request["data"],
                ORIGIN,
                now(),
            )
            .unwrap();
        let uri = created["dc_api_response_uri"].as_str().unwrap();
        let (status, result) = client.send(
            client
                .http
                .post(client.local(uri))
                .header("content-type", "application/json")
                .body((json!({ "data": data })).to_string()),
        );
        assert_eq!(status, 200, "{mode}: {result}");
        assert_eq!(result["valid"], true, "{result}");
        assert_eq!(
            result["presentations"][0]["claims"]["age_over_19"], true,
            "{result}"
        );
        // The page's transaction has no request_uri: the wallet endpoints refuse it.
        let id = created["transaction_id"].as_str().unwrap();
        let (status, _) = client.respond(
            &format!("{PUBLIC}/response/{}", public_id(id)),
            "vp_token=x&state=y",
        );
        assert_eq!(status, 400);
        let (_, done) = client.result(id, None);
        assert_eq!(done["status"], "answered");
    }
}

#[test]
fn a_restart_between_request_and_response_loses_nothing() {
    let world = world();
    let dir = std::env::temp_dir().join(format!("kmid-vp-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("verifier.sqlite");
    let _ = std::fs::remove_file(&db);
    let open =
        || -> Arc<dyn TransactionStore> { Arc::new(SqliteTransactionStore::open(&db).unwrap()) };
    let mount =
        |store| axum::Router::new().nest_service("/vp", service(&world, store, &[]).router());
    let (base, stop) = serve(mount(open()));
    let client = Client::new(base, None);
    let (status, created) = client.create(&json!({
        "template": "age-check",
        "card": "kr.go.mois.rrc.1",
        "format": "mso_mdoc",
    }));
    assert_eq!(status, 201, "{created}");
    let id = created["transaction_id"].as_str().unwrap();
    // The wallet scans the QR code; meanwhile the service restarts.
    stop.send(()).unwrap();
    let (base, _stop) = serve(mount(open()));
    *client.base.lock().unwrap() = base;
    let answer = world
        .wallet
        .answer_request_url(created["request_url"].as_str().unwrap(), &client, now())
        .unwrap();
    let (status, sent) = client.respond(&answer.response_uri, &answer.body);
    assert_eq!(status, 200, "{sent}");
    let (_, done) = client.result(id, None);
    assert_eq!(done["result"]["valid"], true, "{done}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn what_the_service_refuses() {
    let world = world();
    // A service with no API key must say it is open; one with the defaults takes only
    // HAIP's encrypted modes.
    let strict = |config: VerifierConfig| {
        VerifierService::new(
            config,
            Arc::clone(&world.verifier),
            Arc::clone(&world.access),
            memory(),
        )
    };
    assert_eq!(
        strict(VerifierConfig::new(PUBLIC)).unwrap_err(),
        kmid_server::VerifierServiceError::NoApiKey
    );
    let mut haip = VerifierConfig::new(&format!("{ORIGIN}/haip"));
    haip.api_keys = vec![API_KEY.into()];
    let haip = strict(haip).unwrap();
    let mut config = VerifierConfig::new(&format!("{ORIGIN}/short"));
    config.open_api = true;
    config.transaction_lifetime = time::Duration::seconds(1);
    let short = VerifierService::new(
        config,
        Arc::clone(&world.verifier),
        Arc::clone(&world.access),
        memory(),
    )
    .unwrap();
    let (base, _stop) = serve(
        axum::Router::new()
            .nest_service("/vp", service(&world, memory(), &[API_KEY]).router())
            .nest_service("/short", short.router())
            .nest_service("/haip", haip.router()),
    );
    let client = Client::new(base.clone(), Some(API_KEY));
    let anonymous = Client::new(base.clone(), None);
    let age_check =
        json!({ "template": "age-check", "card": "kr.go.mois.rrc.1", "format": "dc+sd-jwt" });
    // The API needs its key.
    assert_eq!(anonymous.create(&age_check).0, 401);
    let (status, created) = client.create(&age_check);
    assert_eq!(status, 201);
    let id = created["transaction_id"].as_str().unwrap().to_owned();
    // The QR code only on demand (a page that shows it).
    assert!(created.get("qr_svg").is_none(), "{created}");
    let mut with_qr = age_check.clone();
    with_qr["qr_svg"] = json!(true);
    let (status, drawn) = client.create(&with_qr);
    assert_eq!(status, 201);
    assert!(
        drawn["qr_svg"].as_str().unwrap().contains("<svg"),
        "{drawn}"
    );
    // The result needs the whole handle: the public half (in the QR code) gets nothing.
    assert_eq!(anonymous.result(&id, None).0, 200);
    assert_eq!(anonymous.result(public_id(&id), None).0, 404);
    let forged_secret = format!("{}.AAAAAAAAAAAAAAAAAAAAAA", public_id(&id));
    assert_eq!(anonymous.result(&forged_secret, None).0, 404);
    // Responses in the clear only where allowed, never for the registration number.
    for mode in ["direct_post", "dc_api"] {
        let (status, refused) = client.send(
            client
                .http
                .post(client.local(&format!("{ORIGIN}/haip/transactions")))
                .header("content-type", "application/json")
                .body(
                    json!({ "template": "age-check", "card": "kr.go.mois.rrc.1",
                    "format": "mso_mdoc", "response_mode": mode, "origin": ORIGIN })
                    .to_string(),
                ),
        );
        assert_eq!(status, 400, "{mode}: {refused}");
    }
    let (status, refused) = client.create(&json!({
        "template": "full-identity", "card": "kr.go.mois.rrc.1", "format": "mso_mdoc",
        "legal_basis": "Act on Real Name Financial Transactions, Art. 3",
        "response_mode": "direct_post",
    }));
    assert_eq!(status, 400, "{refused}");
    // The registration number only with a legal basis, by template or by query.
    let (status, refused) = client.create(&json!({
        "template": "full-identity", "card": "kr.go.mois.rrc.1", "format": "mso_mdoc",
    }));
    assert_eq!(status, 400, "{refused}");
    let rrn_query = json!({ "credentials": [{
        "id": "card", "format": "dc+sd-jwt",
        "meta": { "vct_values": ["kr.go.mois.rrc.1"] },
        "claims": [{ "path": ["registration_number"] }],
    }]});
    let (status, refused) = client.create(&json!({ "dcql_query": rrn_query }));
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("legal_basis")
    );
    for bad in [
        json!({ "template": "everything", "card": "kr.go.mois.rrc.1", "format": "mso_mdoc" }),
        json!({ "template": "age-check", "card": "org.iso.18013.5.1.mDL", "format": "mso_mdoc" }),
        json!({ "template": "age-check", "card": "kr.go.mois.rrc.1", "format": "mso_mdoc", "response_mode": "fragment" }),
        json!({ "template": "age-check", "card": "kr.go.mois.rrc.1", "format": "mso_mdoc", "same_device": true }),
        json!({ "template": "age-check", "card": "kr.go.mois.rrc.1", "format": "mso_mdoc", "same_device": true, "redirect_uri": "https://rp.kmid.invalid/#done" }),
        json!({ "template": "age-check", "card": "kr.go.mois.rrc.1", "format": "mso_mdoc", "response_mode": "dc_api" }),
        json!({ "template": "age-check", "card": "kr.go.mois.rrc.1", "format": "mso_mdoc", "colour": "red" }),
        json!({ "dcql_query": { "credentials": [] } }),
        json!("not an object"),
    ] {
        let (status, refused) = client.create(&bad);
        assert_eq!(status, 400, "{bad}: {refused}");
        assert_eq!(refused["error"], "invalid_request", "{bad}");
    }
    // A body over 64 KiB.
    let huge = "x".repeat(70 * 1024);
    let (status, _) = client.send(
        client
            .http
            .post(client.local(&format!("{PUBLIC}/transactions")))
            .body(huge.clone()),
    );
    assert_eq!(status, 413);
    // A response over the 4 MiB a response may be.
    let huger = "x".repeat(kmid_server::verifier::DEFAULT_MAX_RESPONSE_BYTES + 1);
    assert_eq!(
        client
            .respond(&format!("{PUBLIC}/response/{}", public_id(&id)), &huger)
            .0,
        413
    );
    // Unknown transactions.
    assert_eq!(client.result("nothing-here", None).0, 404);
    assert_eq!(
        client
            .respond(&format!("{PUBLIC}/response/nothing-here"), "x=y")
            .0,
        404
    );
    // Junk at the response_uri, and a response for another transaction: refused, and the
    // transaction still waits for its wallet.
    let response_uri = format!("{PUBLIC}/response/{}", public_id(&id));
    for junk in [
        "",
        "vp_token=%7B%7D",
        "response=not.a.jwe",
        "state=x&vp_token=%7B%7D",
    ] {
        let (status, refused) = client.respond(&response_uri, junk);
        assert_eq!(status, 400, "{junk}: {refused}");
    }
    let (_, other) = client.create(&age_check);
    let other_answer = world
        .wallet
        .answer_request_url(other["request_url"].as_str().unwrap(), &client, now())
        .unwrap();
    let (status, _) = client.respond(&response_uri, &other_answer.body);
    assert_eq!(status, 400);
    assert_eq!(client.result(&id, None).1["status"], "pending");
    // Error responses, which anyone who saw the request can send in the clear with its
    // state: reported, but they do not close the transaction.
    let object = client
        .get(&format!("{PUBLIC}/request/{}", public_id(&id)))
        .unwrap();
    let object = String::from_utf8(object).unwrap();
    let payload = object.split('.').nth(1).unwrap();
    let payload: Value =
        serde_json::from_slice(&kmid::crypto::jose::b64url_decode(payload).unwrap()).unwrap();
    let state = payload["state"].as_str().unwrap();
    for _ in 0..=kmid::oid4vc::response::MAX_FAILED_RESPONSES {
        let (status, _) =
            client.respond(&response_uri, &format!("error=access_denied&state={state}"));
        assert_eq!(status, 200);
    }
    let (_, seen) = client.result(&id, None);
    assert_eq!(seen["status"], "pending", "{seen}");
    assert_eq!(seen["result"]["error"], "WalletError", "{seen}");
    // A presentation that does not verify (an issuer the verifier does not trust): the
    // failure is reported, and the transaction stays open for the real wallet.
    let url = created["request_url"].as_str().unwrap();
    let forged = world
        .stranger
        .answer_request_url(url, &client, now())
        .unwrap();
    let (status, _) = client.respond(&response_uri, &forged.body);
    assert_eq!(status, 200);
    let (_, seen) = client.result(&id, None);
    assert_eq!(seen["status"], "pending", "{seen}");
    assert_eq!(seen["result"]["valid"], false, "{seen}");
    // (The stranger's root has the same name as the trusted one: the chain is built to the
    // trusted root and its signature fails.)
    assert!(
        seen["result"]["error"]
            .as_str()
            .unwrap()
            .starts_with("SdJwt.IssuerKey.Chain"),
        "{seen}"
    );
    let real = world
        .wallet
        .answer_request_url(url, &client, now())
        .unwrap();
    assert_eq!(client.respond(&response_uri, &real.body).0, 200);
    let (_, seen) = client.result(&id, None);
    assert_eq!(
        (seen["status"].as_str(), &seen["result"]["valid"]),
        (Some("answered"), &json!(true)),
        "{seen}"
    );
    // After MAX_FAILED_RESPONSES + 1 responses that do not verify, the transaction is over.
    let (_, attacked) = client.create(&age_check);
    let url = attacked["request_url"].as_str().unwrap();
    let response_uri = format!(
        "{PUBLIC}/response/{}",
        public_id(attacked["transaction_id"].as_str().unwrap())
    );
    let real = world
        .wallet
        .answer_request_url(url, &client, now())
        .unwrap();
    for _ in 0..=kmid::oid4vc::response::MAX_FAILED_RESPONSES {
        let forged = world
            .stranger
            .answer_request_url(url, &client, now())
            .unwrap();
        assert_eq!(client.respond(&response_uri, &forged.body).0, 200);
    }
    assert_eq!(client.respond(&response_uri, &real.body).0, 400);
    let (_, over) = client.result(attacked["transaction_id"].as_str().unwrap(), None);
    assert_eq!(over["status"], "answered", "{over}");
    assert_eq!(over["result"]["valid"], false, "{over}");
    // Its request is no longer served either.
    let refused = world
        .wallet
        .answer_request_url(url, &client, now())
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("fetching the request object: 400"),
        "{refused}"
    );
    // An expired transaction: its request, its response endpoint and its result are gone.
    let short_client = Client::new(base.clone(), None);
    let (status, created) = short_client.send(
        short_client
            .http
            .post(short_client.local(&format!("{ORIGIN}/short/transactions")))
            .header("content-type", "application/json")
            .body(age_check.to_string()),
    );
    assert_eq!(status, 201, "{created}");
    let handle = created["transaction_id"].as_str().unwrap();
    let short = |what: &str| format!("{ORIGIN}/short/{what}");
    assert_eq!(
        short_client
            .result_at(&short(&format!("transactions/{handle}")))
            .0,
        200
    );
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(
        short_client
            .result_at(&short(&format!("transactions/{handle}")))
            .0,
        404
    );
    let id = public_id(handle);
    assert_eq!(
        short_client
            .get(&short(&format!("request/{id}")))
            .unwrap_err(),
        "404 application/json"
    );
    assert_eq!(
        short_client
            .respond(&short(&format!("response/{id}")), "x=y")
            .0,
        404
    );
}

/// Two verifier instances on one PostgreSQL database (a relying party behind a load
/// balancer): the transaction one makes, the other serves its request, takes its response
/// and gives its result. Needs the test cluster (`KMID_POSTGRES_URL`).
#[cfg(feature = "postgres")]
#[test]
fn two_instances_share_one_postgres_database() {
    use kmid_server::postgres::PostgresTransactionStore;
    let Some(url) = common::postgres_database("instances") else {
        eprintln!("KMID_POSTGRES_URL is not set: the PostgreSQL instances check nothing");
        return;
    };
    let world = world();
    let instance = || {
        let store: Arc<dyn TransactionStore> = Arc::new(
            PostgresTransactionStore::connect(&kmid_server::postgres::Database::new(url.as_str()))
                .unwrap(),
        );
        axum::Router::new().nest_service("/vp", service(&world, store, &[]).router())
    };
    let (first, _stop_first) = serve(instance());
    let (second, _stop_second) = serve(instance());
    let client = Client::new(first, None);
    let (status, created) = client.create(&json!({
        "template": "age-check",
        "card": "kr.go.mois.rrc.1",
        "format": "dc+sd-jwt",
    }));
    assert_eq!(status, 201, "{created}");
    *client.base.lock().unwrap() = second;
    let answer = world
        .wallet
        .answer_request_url(created["request_url"].as_str().unwrap(), &client, now())
        .unwrap();
    let (status, sent) = client.respond(&answer.response_uri, &answer.body);
    assert_eq!(status, 200, "{sent}");
    let (_, done) = client.result(created["transaction_id"].as_str().unwrap(), None);
    assert_eq!(done["result"]["valid"], true, "{done}");
}
