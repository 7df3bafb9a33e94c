//! The load generator (issue 22): kmid's verifier, status and issuer services on loopback,
//! driven by many concurrent wallets for a fixed time, with the raw cryptography those
//! exchanges need measured in the same run, and faults injected while wallets run.
//!
//!     cargo bench -p kmid-server --bench load [-- [--seconds N] [--wallets N] [PHASE…]]
//!
//! Phases (all by default):
//! - `verify`: end-to-end presentations over HTTP — the relying party creates a transaction,
//!   the wallet fetches and checks the signed request object, answers `direct_post.jwt`, the
//!   verifier decrypts and verifies (status from the status service, cached for the list's
//!   `ttl`), the relying party reads the result — against the floor: the same exchange's
//!   primitives (2 P-256 signatures, 3 verifications, 2 key generations, 2 ECDH, AES-GCM both
//!   ways over the response, SHA-256 over the presentation three times) on as many threads
//!   as cores.
//! - `issue`: OpenID4VCI through the endpoints (a pre-authorized offer, the token with DPoP, a
//!   `c_nonce`, a batch of 10 SD-JWT VCs under a key attestation), on SQLite and on
//!   PostgreSQL (a cluster of its own, `scripts/pg.sh`).
//! - `faults`: the status endpoint slow (past the verifier's fetch timeout), then down; the
//!   verifier service restarted mid-flow (SQLite transactions); the PostgreSQL server
//!   crashed and restarted under the verifier (PostgreSQL transactions). Every transaction
//!   the service acknowledged (201 created, 200 taken) is read back afterwards: none may be
//!   lost, and each outcome is the documented one. Then the issuer service restarted mid-flow
//!   (SQLite): every exchange whose offer was made completes, retried across the restart.
//!
//! - `memory`: a verifier holding 100,000 open transactions (in memory): the growth of the
//!   process's resident set per transaction.
//!
//! Everything listens on 127.0.0.1 and stops by itself.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::cast_precision_loss,
    clippy::as_conversions,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::too_many_lines,
    clippy::indexing_slicing,
    missing_docs
)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "../tests/common/mod.rs"]
mod common;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use common::{Loopback, access_pki};
use kmid::crypto::x509::{Certificate, CertificateKind, CertificateParams, TrustStore};
use kmid::crypto::{
    Algorithm, CryptoProvider, Curve, HashAlgorithm, PrivateKey, PublicKey, Signer, SystemRandom,
};
use kmid::issuance::{IssuanceProfile, korean_metadata};
use kmid::oid4vc::store::IssuanceStore;
use kmid::oid4vc::vci::nonce::NonceKey;
use kmid::oid4vc::vci::server::{IssuanceConfig, Lifetimes};
use kmid::oid4vc::vci::wallet::{IssuanceClient, IssuerInfo, ProofKeys};
use kmid::schema::Card;
use kmid::status::StatusListResolver;
use kmid::status::registry::{MemoryStore, RegistryConfig, RegistryStore, StatusRegistry};
use kmid::status::token::{TokenKeys, TokenPolicy};
use kmid::{
    AuthorityKeys, CardKeySecret, Formats, Issuer, IssuingAuthority, RequestObjectFetcher,
    Verifier, VerifierAccess, Wallet,
};
use kmid_server::{
    FetchConfig, HttpFetcher, IssuerService, MemoryTransactionStore, NoHolderLogin,
    SqliteTransactionStore, StatusService, TransactionStore, VerifierConfig, VerifierService,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The allocator `kmid serve` runs with (the services and the wallets share this process).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

// --- Services on loopback ----------------------------------------------------------------

/// Acknowledged transactions lost in the fault phases: the run fails when there is one.
static LOST: AtomicUsize = AtomicUsize::new(0);

/// The CPU time the wallets' threads took, in ticks (`drive` adds each thread's at its end).
static WALLET_CPU_TICKS: AtomicU64 = AtomicU64::new(0);

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

/// One router served on a loopback port from the shared runtime until stopped.
struct Served {
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl Served {
    fn start(runtime: &tokio::runtime::Runtime, address: SocketAddr, router: Router) -> Self {
        let listener = std::net::TcpListener::bind(address).unwrap();
        listener.set_nonblocking(true).unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let done = runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Self {
            address,
            stop: Some(stop),
            done: Some(done),
        }
    }

    fn base(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops taking connections and waits for the requests in flight.
    fn stop(&mut self, runtime: &tokio::runtime::Runtime) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            let _ = runtime.block_on(done);
        }
    }
}

/// How the status endpoint behaves: as it should, slow, or down.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Fault {
    None = 0,
    Slow = 1,
    Down = 2,
}

/// How long a slow status endpoint takes (past the verifier's fetch timeout).
const SLOW: Duration = Duration::from_secs(3);
/// The verifier's status fetch timeout.
const FETCH_TIMEOUT: Duration = Duration::from_secs(2);

async fn inject(
    State(mode): State<Arc<AtomicU8>>,
    request: axum::extract::Request,
    next: Next,
) -> Response {
    match mode.load(Ordering::Relaxed) {
        1 => {
            tokio::time::sleep(SLOW).await;
            next.run(request).await
        }
        2 => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        _ => next.run(request).await,
    }
}

// --- The verification world ----------------------------------------------------------------

const PUBLIC: &str = "https://rp.kmid.invalid/vp";
const ORIGIN: &str = "https://rp.kmid.invalid";
const API_KEY: &str = "load-generator-api-key-0123456789";
const CARD: &str = "kr.go.mois.rrc.1";

/// The sample resident card with the `i`-th registration number of its birth date: one card
/// per phone (a card is held on one phone).
fn holder_card(i: usize) -> Card {
    let head = format!("9003151{:05}", i % 100_000);
    let weights = [2u32, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
    let sum: u32 = head
        .chars()
        .zip(weights)
        .map(|(c, w)| c.to_digit(10).unwrap() * w)
        .sum();
    let check = (11 - sum % 11) % 10;
    let number = format!("{}-{}{check}", &head[..6], &head[6..]);
    fn replace(value: &mut Value, number: &str) {
        match value {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if k == "registration_number" && v.is_string() {
                        *v = json!(number);
                    } else {
                        replace(v, number);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| replace(v, number)),
            _ => {}
        }
    }
    let mut card = serde_json::to_value(Card::from(kmid_testkit::samples::resident())).unwrap();
    replace(&mut card, &number);
    serde_json::from_value(card).unwrap()
}

/// The issuer, its status service (behind the fault switch), the verifier's pieces and the
/// holders' wallets.
struct VerifyWorld {
    issuer: Arc<Issuer<MemoryStore>>,
    status: StatusService,
    _status_served: Served,
    fault: Arc<AtomicU8>,
    verifier: Arc<Verifier>,
    access: Arc<VerifierAccess>,
    wallets: Vec<Mutex<Wallet>>,
}

impl VerifyWorld {
    fn new(runtime: &tokio::runtime::Runtime, wallets: usize, ttl: u64) -> Self {
        let fault = Arc::new(AtomicU8::new(Fault::None as u8));
        let status = StatusService::new(ttl);
        let router = status.router().layer(axum::middleware::from_fn_with_state(
            Arc::clone(&fault),
            inject,
        ));
        let status_served = Served::start(runtime, "127.0.0.1:0".parse().unwrap(), router);
        let random = Arc::new(SystemRandom);
        let keys = AuthorityKeys::generate(IssuingAuthority::Mois, now(), &*random).unwrap();
        let registry = StatusRegistry::new(
            MemoryStore::new(),
            RegistryConfig::new(format!("{}/lists", status_served.base())),
            random.clone(),
        );
        let issuer = Arc::new(Issuer::new(
            keys,
            registry,
            CardKeySecret::generate(&*random).unwrap(),
            random,
        ));
        let (verifier_trust, signer, leaf) = access_pki();
        let wallets = (0..wallets)
            .map(|i| {
                let card = holder_card(i);
                let trust = kmid::trust_store([issuer.keys()]).unwrap();
                let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), trust)
                    .with_verifier_trust(verifier_trust.clone());
                let issued = issuer
                    .issue(&card, wallet.device_key(), Formats::SdJwtVc, now())
                    .unwrap();
                wallet.store_issued(issued, now()).unwrap();
                Mutex::new(wallet)
            })
            .collect();
        status.publish(issuer.publish(now(), ttl).unwrap()).unwrap();
        let trust = kmid::trust_store([issuer.keys()]).unwrap();
        let fetcher = HttpFetcher::new(FetchConfig {
            allow_http: true,
            timeout: FETCH_TIMEOUT,
            ..FetchConfig::default()
        })
        .unwrap()
        .blocking(runtime.handle().clone());
        let resolver = StatusListResolver::new(
            fetcher,
            TokenKeys::X5c(trust.clone()),
            TokenPolicy::default(),
        );
        Self {
            issuer,
            status,
            _status_served: status_served,
            fault,
            verifier: Arc::new(Verifier::new(trust, Arc::new(resolver))),
            access: Arc::new(
                VerifierAccess::x509_hash(CryptoProvider::get_default(), signer, vec![leaf])
                    .unwrap(),
            ),
            wallets,
        }
    }

    fn service(&self, store: Arc<dyn TransactionStore>) -> VerifierService {
        let mut config = VerifierConfig::new(PUBLIC);
        config.api_keys = vec![API_KEY.into()];
        VerifierService::new(
            config,
            Arc::clone(&self.verifier),
            Arc::clone(&self.access),
            store,
        )
        .unwrap()
    }

    /// Publishes the lists again (a short `ttl` lapses during a fault phase).
    fn republish(&self, ttl: u64) {
        self.status
            .publish(self.issuer.publish(now(), ttl).unwrap())
            .unwrap();
    }
}

/// HTTP to the verifier as the relying party's back end and as a wallet: the public URL is
/// the loopback service. A plain HTTP/1.1 client on one kept-alive connection, on the calling
/// thread: the load generator's own cost stays small beside the services' (a real wallet is on
/// another machine), and a connection that fails is made again on the next request.
struct Client {
    address: String,
    connection: Mutex<Option<std::io::BufReader<std::net::TcpStream>>>,
}

impl Client {
    fn new(base: String) -> Self {
        Self {
            address: base.trim_start_matches("http://").to_owned(),
            connection: Mutex::new(None),
        }
    }

    /// The path of a URL of the service.
    fn path(url: &str) -> &str {
        url.strip_prefix(ORIGIN).unwrap_or(url)
    }

    /// One request; the status and the body.
    fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Result<(u16, Vec<u8>), String> {
        use std::io::{BufRead as _, Read as _, Write as _};
        let mut slot = self.connection.lock().unwrap();
        if slot.is_none() {
            let stream = std::net::TcpStream::connect(&self.address).map_err(|e| e.to_string())?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            stream
                .set_read_timeout(Some(Duration::from_secs(30)))
                .map_err(|e| e.to_string())?;
            *slot = Some(std::io::BufReader::new(stream));
        }
        let result = (|| -> Result<(u16, Vec<u8>, bool), String> {
            let reader = slot.as_mut().ok_or("no connection")?;
            let mut head = format!(
                "{method} {path} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n",
                self.address,
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            // One write, as HTTP clients do: a head and a body in two segments would make
            // the service wake twice for one request.
            let mut message = head.into_bytes();
            message.extend_from_slice(body);
            reader
                .get_mut()
                .write_all(&message)
                .map_err(|e| e.to_string())?;
            let mut line = String::new();
            reader.read_line(&mut line).map_err(|e| e.to_string())?;
            let status: u16 = line
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("a status line: {line:?}"))?;
            let (mut length, mut chunked, mut close) = (0usize, false, false);
            loop {
                line.clear();
                reader.read_line(&mut line).map_err(|e| e.to_string())?;
                let header = line.trim_end();
                if header.is_empty() {
                    break;
                }
                let (name, value) = header.split_once(':').unwrap_or((header, ""));
                let (name, value) = (name.to_ascii_lowercase(), value.trim());
                match name.as_str() {
                    "content-length" => length = value.parse().map_err(|_| "content-length")?,
                    "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                    "connection" => close = value.eq_ignore_ascii_case("close"),
                    _ => {}
                }
            }
            let mut out = Vec::new();
            if chunked {
                loop {
                    line.clear();
                    reader.read_line(&mut line).map_err(|e| e.to_string())?;
                    let size =
                        usize::from_str_radix(line.trim_end().split(';').next().unwrap_or(""), 16)
                            .map_err(|_| "a chunk size")?;
                    if size > MAX_BODY || out.len() + size > MAX_BODY {
                        return Err("a body over 16 MiB".into());
                    }
                    let mut chunk = vec![0u8; size + 2];
                    reader.read_exact(&mut chunk).map_err(|e| e.to_string())?;
                    if size == 0 {
                        break;
                    }
                    out.extend_from_slice(&chunk[..size]);
                }
            } else {
                if length > MAX_BODY {
                    return Err("a body over 16 MiB".into());
                }
                out.resize(length, 0);
                reader.read_exact(&mut out).map_err(|e| e.to_string())?;
            }
            Ok((status, out, close))
        })();
        match result {
            Ok((status, body, close)) => {
                if close {
                    *slot = None;
                }
                Ok((status, body))
            }
            Err(e) => {
                *slot = None;
                Err(e)
            }
        }
    }

    fn json(outcome: Result<(u16, Vec<u8>), String>) -> Result<(u16, Value), String> {
        outcome.map(|(status, body)| {
            (
                status,
                serde_json::from_slice(&body)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())),
            )
        })
    }

    fn create(&self) -> Result<(u16, Value), String> {
        let body =
            json!({ "template": "age-check", "card": CARD, "format": "dc+sd-jwt" }).to_string();
        let auth = format!("Bearer {API_KEY}");
        Self::json(self.send(
            "POST",
            Self::path(&format!("{PUBLIC}/transactions")),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
            ],
            body.as_bytes(),
        ))
    }

    fn result(&self, id: &str) -> Result<(u16, Value), String> {
        let auth = format!("Bearer {API_KEY}");
        Self::json(self.send(
            "GET",
            Self::path(&format!("{PUBLIC}/transactions/{id}")),
            &[("authorization", &auth)],
            b"",
        ))
    }

    fn respond(&self, response_uri: &str, body: &str) -> Result<(u16, Value), String> {
        Self::json(self.send(
            "POST",
            Self::path(response_uri),
            &[("content-type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        ))
    }
}

impl RequestObjectFetcher for Client {
    fn get(&self, request_uri: &str) -> Result<Vec<u8>, String> {
        match self.send("GET", Self::path(request_uri), &[], b"")? {
            (200, body) => Ok(body),
            (status, _) => Err(format!("{status}")),
        }
    }

    fn post(&self, request_uri: &str, body: &str) -> Result<Vec<u8>, String> {
        match self.send(
            "POST",
            Self::path(request_uri),
            &[("content-type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )? {
            (200, body) => Ok(body),
            (status, _) => Err(format!("{status}")),
        }
    }
}

/// The largest body the load generator's client reads (the services answer far less).
const MAX_BODY: usize = 16 << 20;

/// What became of one transaction, as the relying party and the wallet saw it.
#[derive(Debug, Clone, Default)]
struct Record {
    /// The handle the 201 gave (the transaction was acknowledged).
    id: Option<String>,
    /// The wallet's response was taken (200).
    answered: bool,
    /// The result read right after, when it was.
    result: Option<Value>,
    /// Latency, created to result.
    latency: Option<Duration>,
    /// Where it stopped, when it did.
    failure: Option<String>,
    /// Sizes: the response body and the presentation.
    sizes: (usize, usize),
}

/// One exchange: create, fetch and answer, post, read the result.
fn exchange(client: &Client, wallet: &Mutex<Wallet>) -> Record {
    let started = Instant::now();
    let mut record = Record::default();
    let created = match client.create() {
        Ok((201, created)) => created,
        Ok((status, body)) => {
            record.failure = Some(format!("create: {status} {body}"));
            return record;
        }
        Err(e) => {
            record.failure = Some(format!("create: {e}"));
            return record;
        }
    };
    let id = created["transaction_id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    record.id = Some(id.clone());
    let url = created["request_url"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let answer = {
        let wallet = wallet.lock().unwrap();
        wallet.answer_request_url(&url, client, now())
    };
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => {
            record.failure = Some(format!("answer: {e}"));
            return record;
        }
    };
    record.sizes = (answer.body.len(), answer.body.len() * 3 / 4);
    match client.respond(&answer.response_uri, &answer.body) {
        Ok((200, _)) => record.answered = true,
        Ok((status, body)) => {
            record.failure = Some(format!("respond: {status} {body}"));
            return record;
        }
        Err(e) => {
            record.failure = Some(format!("respond: {e}"));
            return record;
        }
    }
    match client.result(&id) {
        Ok((200, result)) => {
            record.result = Some(result);
            record.latency = Some(started.elapsed());
        }
        Ok((status, body)) => record.failure = Some(format!("result: {status} {body}")),
        Err(e) => record.failure = Some(format!("result: {e}")),
    }
    record
}

/// Runs `wallets` threads of exchanges until `stop` is set or `duration` passes; every
/// record.
fn drive(
    world: &VerifyWorld,
    base: &str,
    duration: Duration,
    stop: &AtomicBool,
    during: &dyn Fn(Duration),
) -> Vec<Record> {
    let records = Mutex::new(Vec::new());
    let started = Instant::now();
    std::thread::scope(|scope| {
        for wallet in &world.wallets {
            let records = &records;
            scope.spawn(move || {
                let cpu = thread_cpu_ticks();
                let client = Client::new(base.to_owned());
                let mut mine = Vec::new();
                while started.elapsed() < duration && !stop.load(Ordering::Relaxed) {
                    let record = exchange(&client, wallet);
                    if record.failure.is_some() {
                        // A wallet (or a relying party) waits a little before trying again.
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    mine.push(record);
                }
                WALLET_CPU_TICKS.fetch_add(thread_cpu_ticks() - cpu, Ordering::Relaxed);
                records.lock().unwrap().extend(mine);
            });
        }
        // The fault script runs beside the wallets.
        while started.elapsed() < duration && !stop.load(Ordering::Relaxed) {
            during(started.elapsed());
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    records.into_inner().unwrap()
}

fn valid(record: &Record) -> bool {
    record
        .result
        .as_ref()
        .is_some_and(|r| r["status"] == "answered" && r["result"]["valid"] == true)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// The raw cryptography of one exchange, on `threads` threads for `duration`: exchanges per
/// second and the CPU time one took; then the verifier's half alone (what the services
/// need, without the wallet's) for half as long: the CPU time it took.
fn floor(
    threads: usize,
    duration: Duration,
    response: usize,
    presentation: usize,
) -> (f64, f64, f64) {
    let (rate, cpu_each) = floor_run(threads, duration, response, presentation, true);
    let (_, verifier_each) = floor_run(threads, duration / 2, response, presentation, false);
    (rate, cpu_each, verifier_each)
}

/// One floor run: both halves of each exchange, or only the verifier's.
fn floor_run(
    threads: usize,
    duration: Duration,
    response: usize,
    presentation: usize,
    wallet: bool,
) -> (f64, f64) {
    let provider = CryptoProvider::get_default();
    let done = AtomicUsize::new(0);
    let cpu = cpu_seconds();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let key = PrivateKey::generate(Curve::P256).unwrap();
                let digest = HashAlgorithm::Sha256.digest(b"floor").unwrap();
                let message = b"the floor verifies one short message";
                let sig = key.sign(message).unwrap();
                let public = key.public_key().clone();
                let peer = PrivateKey::generate(Curve::P256)
                    .unwrap()
                    .public_key()
                    .to_sec1_uncompressed()
                    .unwrap();
                let body = vec![0x5Au8; response];
                let shown = vec![0x5Au8; presentation];
                let (gcm_key, iv) = ([7u8; 16], [1u8; 12]);
                let sealed = provider
                    .aead
                    .aes_gcm_seal(&gcm_key, &iv, b"", &body)
                    .unwrap();
                let sign = || std::hint::black_box(key.sign_prehashed(&digest).unwrap());
                let verify = || {
                    provider
                        .signature_verifier
                        .verify(Algorithm::Es256, &public, message, &sig)
                        .unwrap();
                };
                // Key generation (the response key, the wallet's ephemeral) and ECDH.
                let agree = || {
                    let own = PrivateKey::generate(Curve::P256).unwrap();
                    let peer = PublicKey::from_sec1(Curve::P256, &peer).unwrap();
                    std::hint::black_box(provider.key_agreement.ecdh(&own, &peer).unwrap());
                };
                // SHA-256 over the presentation: Disclosures, sd_hash.
                let hash = || {
                    let mut h = HashAlgorithm::Sha256.hasher();
                    h.update(&shown);
                    std::hint::black_box(h.finish());
                };
                let mut n = 0usize;
                while started.elapsed() < duration {
                    // The verifier: signs the request object, verifies the issuer's JWS and
                    // the KB-JWT, makes the response key and agrees, opens the response,
                    // hashes the Disclosures and the sd_hash.
                    sign();
                    verify();
                    verify();
                    agree();
                    std::hint::black_box(
                        provider
                            .aead
                            .aes_gcm_open(&gcm_key, &iv, b"", &sealed)
                            .unwrap(),
                    );
                    hash();
                    hash();
                    if wallet {
                        // The wallet: verifies the request object, signs the KB-JWT, makes
                        // its ephemeral key and agrees, seals the response, hashes sd_hash.
                        verify();
                        sign();
                        agree();
                        std::hint::black_box(
                            provider
                                .aead
                                .aes_gcm_seal(&gcm_key, &iv, b"", &body)
                                .unwrap(),
                        );
                        hash();
                    }
                    n += 1;
                }
                done.fetch_add(n, Ordering::Relaxed);
            });
        }
    });
    let n = done.load(Ordering::Relaxed) as f64;
    (
        n / started.elapsed().as_secs_f64(),
        (cpu_seconds() - cpu) / n,
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cores())
        .enable_all()
        .build()
        .unwrap()
}

fn phase_verify(seconds: u64, wallets: usize, report: &mut Vec<String>) {
    let runtime = runtime();
    let world = VerifyWorld::new(&runtime, wallets, 300);
    let service = world.service(Arc::new(MemoryTransactionStore::new(1 << 20)));
    let mut served = Served::start(
        &runtime,
        "127.0.0.1:0".parse().unwrap(),
        Router::new().nest_service("/vp", service.router()),
    );
    // Warm up: connections, chain caches, the status list.
    let stop = AtomicBool::new(false);
    let _ = drive(
        &world,
        &served.base(),
        Duration::from_secs(1),
        &stop,
        &|_| {},
    );
    let duration = Duration::from_secs(seconds);
    let cpu = cpu_seconds();
    let wallet_ticks = WALLET_CPU_TICKS.load(Ordering::Relaxed);
    let records = drive(&world, &served.base(), duration, &stop, &|_| {});
    let cpu = cpu_seconds() - cpu;
    let wallet_cpu = (WALLET_CPU_TICKS.load(Ordering::Relaxed) - wallet_ticks) as f64 / 100.0;
    served.stop(&runtime);
    let ok: Vec<&Record> = records.iter().filter(|r| valid(r)).collect();
    let failed = records.len() - ok.len();
    let mut latencies: Vec<Duration> = ok.iter().filter_map(|r| r.latency).collect();
    latencies.sort();
    let per_second = ok.len() as f64 / duration.as_secs_f64();
    let (response, presentation) = ok.first().map_or((0, 0), |r| r.sizes);
    // CPU time per presentation, services and wallets together (every record's, failed ones
    // too, cost CPU; there are none in a healthy run).
    let cpu_each = cpu / records.len().max(1) as f64;
    // The services' share: all but the wallets' threads (and the idle main thread).
    let services_each = (cpu - wallet_cpu) / records.len().max(1) as f64;
    // `--no-floor` (profiling the services alone) skips it.
    let (raw, raw_cpu, verifier_cpu) = if std::env::args().any(|a| a == "--no-floor") {
        (f64::NAN, f64::NAN, f64::NAN)
    } else {
        floor(cores(), Duration::from_secs(5), response, presentation)
    };
    let line = format!(
        "verify: {wallets} wallets, {seconds} s: {per_second:.0} presentations/s ({} valid, {failed} failed; response body {response} bytes), p50 {:.2} ms, p99 {:.2} ms; raw cryptography of the same exchanges on {} threads {raw:.0}/s: {:.0} % of the floor; CPU per presentation {:.0} us, the floor's {:.0} us ({:.0} %); of it the services {:.0} us, the verifier's half of the floor {:.0} us ({:.0} %), the wallets {:.0} us",
        ok.len(),
        percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        cores(),
        100.0 * per_second / raw,
        cpu_each * 1e6,
        raw_cpu * 1e6,
        100.0 * raw_cpu / cpu_each,
        services_each * 1e6,
        verifier_cpu * 1e6,
        100.0 * verifier_cpu / services_each,
        (cpu_each - services_each) * 1e6,
    );
    if let Some(r) = records.iter().find(|r| !valid(r)) {
        eprintln!("verify: a failure: {r:?}");
    }
    println!("{line}");
    report.push(line);
}

// --- Issuance ------------------------------------------------------------------------------

/// A wallet provider: its root (the issuer trusts it) and the signer of key attestations.
struct WalletProvider {
    trust: TrustStore,
    leaf: Certificate,
    signer: Arc<dyn Signer>,
}

fn wallet_provider() -> WalletProvider {
    let params = |kind, cn: &str| CertificateParams {
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
    let root = kmid::crypto::x509::issue_certificate(
        &params(CertificateKind::ReaderRoot, "wallet provider root"),
        root_key.public_key(),
        None,
        &root_key,
        &SystemRandom,
    )
    .unwrap();
    let key = PrivateKey::generate(Curve::P256).unwrap();
    let leaf = kmid::crypto::x509::issue_certificate(
        &params(CertificateKind::JwtSigner, "key attestations"),
        key.public_key(),
        Some(&root),
        &root_key,
        &SystemRandom,
    )
    .unwrap();
    let mut trust = TrustStore::new();
    trust.add(root).unwrap();
    WalletProvider {
        trust,
        leaf,
        signer: Arc::new(key),
    }
}

/// One wallet of the issuance phases: its transport to the issuer at `base`, its client (a DPoP
/// key of its own), the issuer's metadata, and the proofs of a batch of [`BATCH`] keys under a
/// key attestation from `provider`; `body` runs with them.
fn issuance_wallet<R>(
    origin: &str,
    base: &str,
    identifier: &str,
    provider: &WalletProvider,
    body: impl FnOnce(&IssuanceClient<'_>, &IssuerInfo, &ProofKeys<'_>) -> R,
) -> R {
    let transport = Loopback {
        origin: origin.to_owned(),
        base: base.to_owned(),
        client: reqwest::blocking::Client::builder()
            .use_preconfigured_tls(kmid_server::tls_client_config().unwrap())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    };
    let client = IssuanceClient::new(
        &transport,
        CryptoProvider::get_default(),
        &SystemRandom,
        Arc::new(PrivateKey::generate(Curve::P256).unwrap()),
        None,
    );
    let info = client.issuer(identifier, None).unwrap();
    let batch: Vec<Arc<dyn Signer>> = (0..BATCH)
        .map(|_| Arc::new(PrivateKey::generate(Curve::P256).unwrap()) as Arc<dyn Signer>)
        .collect();
    let attest = |nonce: &str| Ok(key_attestation(provider, &batch, nonce));
    let proofs = ProofKeys::Attested {
        signer: &batch[0],
        attest: &attest,
    };
    body(&client, &info, &proofs)
}

/// A key attestation (HAIP 1.0 §4.5.1) of `keys` for `nonce`.
fn key_attestation(p: &WalletProvider, keys: &[Arc<dyn Signer>], nonce: &str) -> String {
    let mut header = serde_json::Map::new();
    header.insert("typ".into(), json!("key-attestation+jwt"));
    header.insert(
        "x5c".into(),
        json!(kmid::crypto::x509::chain_to_x5c(std::slice::from_ref(
            &p.leaf
        ))),
    );
    kmid::crypto::jose::sign_compact(
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
        &p.signer,
    )
    .unwrap()
}

const BATCH: usize = 10;

/// The issuer's OpenID4VCI configuration: batches of [`BATCH`], key attestations from
/// `provider`, no DPoP nonce, anonymous pre-authorized offers.
fn issuance_config(identifier: &str, provider: &WalletProvider) -> IssuanceConfig {
    IssuanceConfig {
        metadata: korean_metadata(
            IssuingAuthority::Mois,
            identifier,
            &IssuanceProfile {
                batch_size: Some(u32::try_from(BATCH).unwrap()),
                key_attestations: None,
            },
        ),
        nonce_key: NonceKey::from_bytes([11; 32]),
        require_dpop_nonce: false,
        wallet_providers: provider.trust.clone(),
        anonymous_pre_authorized: true,
        redirect_uris: std::collections::BTreeMap::new(),
        lifetimes: Lifetimes::default(),
    }
}

fn issue_on<S: RegistryStore + 'static>(
    name: &str,
    registry: S,
    store: Arc<dyn IssuanceStore>,
    seconds: u64,
    wallets: usize,
    report: &mut Vec<String>,
) {
    let runtime = runtime();
    let random = Arc::new(SystemRandom);
    let keys = AuthorityKeys::generate(IssuingAuthority::Mois, now(), &*random).unwrap();
    let issuer = Arc::new(Issuer::new(
        keys,
        StatusRegistry::new(
            registry,
            RegistryConfig::new("https://status.kmid.invalid/lists"),
            random.clone(),
        ),
        CardKeySecret::generate(&*random).unwrap(),
        random,
    ));
    let identifier = issuer.credential_issuer();
    let provider = wallet_provider();
    let config = issuance_config(&identifier, &provider);
    let service = IssuerService::new(
        config,
        store,
        Arc::clone(&issuer),
        Arc::new(NoHolderLogin),
        None,
    )
    .unwrap();
    let mut served = Served::start(&runtime, "127.0.0.1:0".parse().unwrap(), service.router());
    let origin = identifier.split('/').take(3).collect::<Vec<_>>().join("/");
    let id = format!("{CARD}.dc+sd-jwt");
    let issued = AtomicUsize::new(0);
    let exchanges = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::<String>::new());
    let latencies = Mutex::new(Vec::new());
    let duration = Duration::from_secs(seconds);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for n in 0..wallets {
            let (origin, identifier, service, provider, id) =
                (&origin, &identifier, &service, &provider, &id);
            let (issued, exchanges, failures, latencies, served) =
                (&issued, &exchanges, &failures, &latencies, &served);
            scope.spawn(move || {
                // The holder's own card: a card is issued to one phone.
                let subject = serde_json::to_value(holder_card(n)).unwrap();
                issuance_wallet(
                    origin,
                    &served.base(),
                    identifier,
                    provider,
                    |client, info, proofs| {
                        while started.elapsed() < duration {
                            let t = Instant::now();
                            let offer = service
                                .with_server(|s| {
                                    s.offer_pre_authorized(
                                        &subject,
                                        std::slice::from_ref(id),
                                        false,
                                        now(),
                                    )
                                })
                                .unwrap();
                            let outcome = client
                                .pre_authorized(info, &offer.offer, None, now())
                                .and_then(|session| {
                                    client.credential(info, &session, id, proofs, now())
                                });
                            match outcome {
                                Ok(response) if response.credentials.len() == BATCH => {
                                    issued.fetch_add(BATCH, Ordering::Relaxed);
                                    exchanges.fetch_add(1, Ordering::Relaxed);
                                    latencies.lock().unwrap().push(t.elapsed());
                                }
                                Ok(response) => failures
                                    .lock()
                                    .unwrap()
                                    .push(format!("{} credentials", response.credentials.len())),
                                Err(e) => failures.lock().unwrap().push(e.to_string()),
                            }
                        }
                    },
                );
            });
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    served.stop(&runtime);
    let mut latencies = latencies.into_inner().unwrap();
    latencies.sort();
    let failures = failures.into_inner().unwrap();
    let line = format!(
        "issue ({name}): {wallets} wallets, {seconds} s: {:.1} exchanges/s, {:.0} credentials/s (batches of {BATCH} under a key attestation), p50 {:.1} ms, p99 {:.1} ms, {} failed{}",
        exchanges.load(Ordering::Relaxed) as f64 / elapsed,
        issued.load(Ordering::Relaxed) as f64 / elapsed,
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        failures.len(),
        failures
            .first()
            .map(|f| format!(" (first: {f})"))
            .unwrap_or_default(),
    );
    println!("{line}");
    report.push(line);
}

fn phase_issue(seconds: u64, wallets: usize, report: &mut Vec<String>) {
    let dir = std::env::temp_dir().join(format!("kmid-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    issue_on(
        "SQLite",
        kmid::status::registry::SqliteStore::open(
            &dir.join("registry.sqlite"),
            kmid::status::registry::Durability::Full,
        )
        .unwrap(),
        Arc::new(
            kmid::oid4vc::store::SqliteIssuanceStore::open(&dir.join("issuance.sqlite")).unwrap(),
        ),
        seconds,
        wallets,
        report,
    );
    let cluster = kmid_testkit::pg::Cluster::start("load");
    let database = kmid_server::postgres::Database::new(cluster.socket().unwrap());
    issue_on(
        "PostgreSQL",
        kmid::status::postgres::PostgresStore::connect(&database, "load", 8).unwrap(),
        Arc::new(kmid_server::postgres::PostgresIssuanceStore::connect(&database).unwrap()),
        seconds,
        wallets,
        report,
    );
    drop(cluster);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The issuer service restarted mid-flow, its state in SQLite files (the registry and the
/// OpenID4VCI store): each wallet's exchange is acknowledged when its offer is made, and then
/// retried step by step (the same offer, the same token) until it completes; an acknowledged
/// exchange that never completes is lost.
fn issuer_restart(seconds: u64, wallets: usize, report: &mut Vec<String>) {
    use kmid::status::registry::{Durability, SqliteStore};
    let runtime = runtime();
    let dir = std::env::temp_dir().join(format!("kmid-load-issuer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let random = Arc::new(SystemRandom);
    let keys = AuthorityKeys::generate(IssuingAuthority::Mois, now(), &*random).unwrap();
    let secret = [5u8; 32];
    let provider = wallet_provider();
    // One process's issuer: the registry and the store opened from the files.
    let start = || {
        let issuer = Arc::new(Issuer::new(
            keys.clone(),
            StatusRegistry::new(
                SqliteStore::open(&dir.join("registry.sqlite"), Durability::Full).unwrap(),
                RegistryConfig::new("https://status.kmid.invalid/lists"),
                random.clone(),
            ),
            CardKeySecret::from_bytes(secret),
            random.clone(),
        ));
        let identifier = issuer.credential_issuer();
        let config = issuance_config(&identifier, &provider);
        let store: Arc<dyn IssuanceStore> = Arc::new(
            kmid::oid4vc::store::SqliteIssuanceStore::open(&dir.join("issuance.sqlite")).unwrap(),
        );
        (
            identifier,
            IssuerService::new(config, store, issuer, Arc::new(NoHolderLogin), None).unwrap(),
        )
    };
    let (identifier, first) = start();
    let served = Mutex::new(Served::start(
        &runtime,
        "127.0.0.1:0".parse().unwrap(),
        first.router(),
    ));
    let address = served.lock().unwrap().address;
    let current = std::sync::RwLock::new(first);
    let origin = identifier.split('/').take(3).collect::<Vec<_>>().join("/");
    let id = format!("{CARD}.dc+sd-jwt");
    let duration = Duration::from_secs(seconds);
    let grace = Duration::from_secs(10);
    let started = Instant::now();
    let (acknowledged, completed, retried) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let lost = Mutex::new(Vec::<String>::new());
    let restarted = AtomicBool::new(false);
    std::thread::scope(|scope| {
        for n in 0..wallets {
            let (current, origin, identifier, id, provider) =
                (&current, &origin, &identifier, &id, &provider);
            let (acknowledged, completed, retried, lost) =
                (&acknowledged, &completed, &retried, &lost);
            scope.spawn(move || {
                let subject = serde_json::to_value(holder_card(n)).unwrap();
                issuance_wallet(
                    origin,
                    &format!("http://{address}"),
                    identifier,
                    provider,
                    |client, info, proofs| {
                        // Retries `step` until it holds or the grace after the run is over.
                        let retry = |what: &str,
                                     step: &dyn Fn() -> Result<(), String>|
                         -> Result<(), String> {
                            loop {
                                match step() {
                                    Ok(()) => return Ok(()),
                                    Err(e) if started.elapsed() > duration + grace => {
                                        return Err(format!("{what}: {e}"));
                                    }
                                    Err(_) => {
                                        retried.fetch_add(1, Ordering::Relaxed);
                                        std::thread::sleep(Duration::from_millis(100));
                                    }
                                }
                            }
                        };
                        while started.elapsed() < duration {
                            let service = current.read().unwrap().clone();
                            let Ok(offer) = service.with_server(|s| {
                                s.offer_pre_authorized(
                                    &subject,
                                    std::slice::from_ref(id),
                                    false,
                                    now(),
                                )
                            }) else {
                                continue;
                            };
                            acknowledged.fetch_add(1, Ordering::Relaxed);
                            let session = Mutex::new(None);
                            let outcome = retry("token", &|| {
                                let got = client
                                    .pre_authorized(info, &offer.offer, None, now())
                                    .map_err(|e| e.to_string())?;
                                *session.lock().unwrap() = Some(got);
                                Ok(())
                            })
                            .and_then(|()| {
                                let session = session.lock().unwrap().take().unwrap();
                                retry("credential", &|| {
                                    let response = client
                                        .credential(info, &session, id, proofs, now())
                                        .map_err(|e| e.to_string())?;
                                    if response.credentials.len() == BATCH {
                                        Ok(())
                                    } else {
                                        Err(format!("{} credentials", response.credentials.len()))
                                    }
                                })
                            });
                            match outcome {
                                Ok(()) => {
                                    completed.fetch_add(1, Ordering::Relaxed);
                                }
                                Err(e) => lost.lock().unwrap().push(e),
                            }
                        }
                    },
                );
            });
        }
        while started.elapsed() < duration {
            if started.elapsed() > duration / 3 && !restarted.swap(true, Ordering::Relaxed) {
                // The process goes: the listener closes after the requests in flight, the
                // databases are closed; another opens them and listens on the same port.
                let mut old = served.lock().unwrap();
                old.stop(&runtime);
                std::thread::sleep(Duration::from_millis(300));
                let (_, next) = start();
                *old = Served::start(&runtime, address, next.router());
                *current.write().unwrap() = next;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    });
    served.lock().unwrap().stop(&runtime);
    let lost = lost.into_inner().unwrap();
    LOST.fetch_add(lost.len(), Ordering::Relaxed);
    let line = format!(
        "faults (issuer restarted mid-flow, SQLite): {} exchanges acknowledged (offers made), {} completed, {} lost{}; {} steps retried across the restart",
        acknowledged.load(Ordering::Relaxed),
        completed.load(Ordering::Relaxed),
        lost.len(),
        lost.first()
            .map(|l| format!(" (first: {l})"))
            .unwrap_or_default(),
        retried.load(Ordering::Relaxed),
    );
    println!("{line}");
    report.push(line);
    let _ = std::fs::remove_dir_all(&dir);
}

// --- Faults --------------------------------------------------------------------------------

/// Reads back every acknowledged transaction: each must still be there, answered with the
/// outcome `expect` allows if its response was taken. Returns (acknowledged, answered, lost,
/// outcomes by kind).
fn audit(
    client: &Client,
    records: &[Record],
) -> (
    usize,
    usize,
    usize,
    std::collections::BTreeMap<String, usize>,
) {
    let mut outcomes = std::collections::BTreeMap::new();
    let (mut acknowledged, mut answered, mut lost) = (0, 0, 0);
    for record in records {
        let Some(id) = &record.id else { continue };
        acknowledged += 1;
        let seen = client.result(id);
        let kind = match &seen {
            Ok((200, v)) if v["status"] == "answered" && v["result"]["valid"] == true => {
                "answered valid".to_owned()
            }
            Ok((200, v)) if v["status"] == "answered" => format!(
                "answered refused: {}",
                v["result"]["error"]
                    .as_str()
                    .unwrap_or("?")
                    .split(':')
                    .next()
                    .unwrap_or("?")
            ),
            Ok((200, v)) if v["status"] == "pending" && !v["result"].is_null() => format!(
                "pending after a refused response: {}",
                v["result"]["error"].as_str().unwrap_or("?")
            ),
            Ok((200, v)) if v["status"] == "pending" => "pending (never answered)".to_owned(),
            Ok((status, _)) => format!("HTTP {status}"),
            Err(e) => format!("unreachable: {e}"),
        };
        let taken = record.answered;
        if taken {
            answered += 1;
        }
        // Lost: acknowledged and gone, or its response taken and no outcome kept (answered,
        // or a refusal recorded with the transaction open again for another response).
        let kept = match &seen {
            Ok((200, v)) => v["status"] == "answered" || !v["result"].is_null(),
            _ => false,
        };
        if !matches!(seen, Ok((200, _))) || (taken && !kept) {
            lost += 1;
        }
        *outcomes.entry(kind).or_insert(0) += 1;
    }
    LOST.fetch_add(lost, Ordering::Relaxed);
    (acknowledged, answered, lost, outcomes)
}

fn fault_line(
    name: &str,
    records: &[Record],
    audit: &(
        usize,
        usize,
        usize,
        std::collections::BTreeMap<String, usize>,
    ),
) -> String {
    let failures: std::collections::BTreeMap<String, usize> = records
        .iter()
        .filter_map(|r| r.failure.as_ref())
        .map(|f| {
            let short: String = f.split([':', '{']).take(2).collect::<Vec<_>>().join(":");
            short.chars().take(60).collect()
        })
        .fold(std::collections::BTreeMap::new(), |mut m, k| {
            *m.entry(k).or_insert(0) += 1;
            m
        });
    format!(
        "faults ({name}): {} exchanges; {} acknowledged, {} responses taken, {} lost; outcomes {:?}; refused on the way {:?}",
        records.len(),
        audit.0,
        audit.1,
        audit.2,
        audit.3,
        failures,
    )
}

fn phase_faults(seconds: u64, wallets: usize, report: &mut Vec<String>) {
    let runtime = runtime();
    // Status lists valid 1 s, so the verifier fetches again during the faults.
    let world = VerifyWorld::new(&runtime, wallets, 1);
    let third = Duration::from_secs(seconds.max(6) / 3);

    // The status endpoint slow, then down, then back.
    for (name, fault) in [("status slow", Fault::Slow), ("status down", Fault::Down)] {
        let service = world.service(Arc::new(MemoryTransactionStore::new(1 << 20)));
        let mut served = Served::start(
            &runtime,
            "127.0.0.1:0".parse().unwrap(),
            Router::new().nest_service("/vp", service.router()),
        );
        let stop = AtomicBool::new(false);
        let republish = |elapsed: Duration| {
            world.republish(1);
            let mode = if elapsed > third && elapsed < third * 2 {
                fault
            } else {
                Fault::None
            };
            world.fault.store(mode as u8, Ordering::Relaxed);
        };
        let records = drive(&world, &served.base(), third * 3, &stop, &republish);
        world.fault.store(Fault::None as u8, Ordering::Relaxed);
        let client = Client::new(served.base());
        let audit = audit(&client, &records);
        served.stop(&runtime);
        let line = fault_line(name, &records, &audit);
        println!("{line}");
        report.push(line);
    }

    // The verifier restarted mid-flow, on its SQLite database.
    let dir = std::env::temp_dir().join(format!("kmid-load-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("transactions.sqlite");
    let open =
        || -> Arc<dyn TransactionStore> { Arc::new(SqliteTransactionStore::open(&path).unwrap()) };
    let served = Mutex::new(Served::start(
        &runtime,
        "127.0.0.1:0".parse().unwrap(),
        Router::new().nest_service("/vp", world.service(open()).router()),
    ));
    let address = served.lock().unwrap().address;
    let base = format!("http://{address}");
    let restarted = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    world.republish(300);
    let restart = |elapsed: Duration| {
        world.republish(300);
        if elapsed > third && !restarted.swap(true, Ordering::Relaxed) {
            let mut old = served.lock().unwrap();
            old.stop(&runtime);
            std::thread::sleep(Duration::from_millis(300));
            *old = Served::start(
                &runtime,
                address,
                Router::new().nest_service("/vp", world.service(open()).router()),
            );
        }
    };
    let records = drive(&world, &base, third * 3, &stop, &restart);
    let client = Client::new(base.clone());
    let audit_restart = audit(&client, &records);
    served.lock().unwrap().stop(&runtime);
    let line = fault_line(
        "verifier restarted mid-flow, SQLite",
        &records,
        &audit_restart,
    );
    println!("{line}");
    report.push(line);
    let _ = std::fs::remove_dir_all(&dir);

    // The database server crashed and restarted under the verifier (PostgreSQL).
    let cluster = kmid_testkit::pg::Cluster::start("load-faults");
    let database = kmid_server::postgres::Database::new(cluster.url());
    let store: Arc<dyn TransactionStore> =
        Arc::new(kmid_server::postgres::PostgresTransactionStore::connect(&database).unwrap());
    let mut served = Served::start(
        &runtime,
        "127.0.0.1:0".parse().unwrap(),
        Router::new().nest_service("/vp", world.service(store).router()),
    );
    let crashed = AtomicBool::new(false);
    let resumed = AtomicBool::new(false);
    let stop = AtomicBool::new(false);
    let crash = |elapsed: Duration| {
        world.republish(300);
        if elapsed > third && !crashed.swap(true, Ordering::Relaxed) {
            cluster.crash().unwrap();
        }
        if elapsed > third + Duration::from_secs(2) && !resumed.swap(true, Ordering::Relaxed) {
            cluster.resume().unwrap();
        }
    };
    let records = drive(&world, &served.base(), third * 3, &stop, &crash);
    let client = Client::new(served.base());
    let audit_db = audit(&client, &records);
    served.stop(&runtime);
    let line = fault_line(
        "PostgreSQL crashed and restarted, 2 s down",
        &records,
        &audit_db,
    );
    println!("{line}");
    report.push(line);
    drop(cluster);
    issuer_restart(seconds, wallets.min(8), report);
}

/// The CPU time the process has used, all its threads, user and system (`/proc/self/stat`,
/// in the kernel's `USER_HZ` ticks, which Linux fixes at 100 for user space): a measure
/// that time stolen from this machine's virtual CPUs does not move, as wall-clock rates do.
fn cpu_seconds() -> f64 {
    cpu_ticks("/proc/self/stat") as f64 / 100.0
}

/// The CPU time of the calling thread, in ticks (`/proc/thread-self/stat`).
fn thread_cpu_ticks() -> u64 {
    cpu_ticks("/proc/thread-self/stat")
}

/// utime + stime of a `stat` file, in ticks.
fn cpu_ticks(path: &str) -> u64 {
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // The fields after the command name (which may hold spaces, so after its ')').
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum()
}

/// The process's resident set, bytes (`/proc/self/statm`).
fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

// --- Memory --------------------------------------------------------------------------------

fn phase_memory(report: &mut Vec<String>) {
    const OPEN: usize = 100_000;
    let runtime = runtime();
    let world = VerifyWorld::new(&runtime, 1, 300);
    let service = world.service(Arc::new(MemoryTransactionStore::new(OPEN + 16)));
    let mut served = Served::start(
        &runtime,
        "127.0.0.1:0".parse().unwrap(),
        Router::new().nest_service("/vp", service.router()),
    );
    let base = served.base();
    // Warm: connections and lazily made state, before the baseline.
    let client = Client::new(base.clone());
    for _ in 0..16 {
        assert_eq!(client.create().unwrap().0, 201);
    }
    std::thread::sleep(Duration::from_millis(200));
    let before = rss();
    let made = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                let client = Client::new(base.clone());
                while made.fetch_add(1, Ordering::Relaxed) < OPEN {
                    assert_eq!(client.create().unwrap().0, 201);
                }
            });
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    let after = rss();
    served.stop(&runtime);
    let per = after.saturating_sub(before) as f64 / OPEN as f64;
    let line = format!(
        "memory: {OPEN} open transactions: the process's resident set {:.1} MiB more, {per:.0} bytes per transaction",
        after.saturating_sub(before) as f64 / (1024.0 * 1024.0)
    );
    println!("{line}");
    report.push(line);
    drop(world);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str, default: u64| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let seconds = value("--seconds", 20);
    let wallets = usize::try_from(value("--wallets", 16)).unwrap();
    let phases: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| ["verify", "issue", "faults", "memory", "issuer-restart"].contains(a))
        .collect();
    let all = phases.is_empty();
    let wants = |p: &str| all || phases.contains(&p);
    let mut report = Vec::new();
    // Memory first, in a process nothing else has grown yet.
    if wants("memory") {
        phase_memory(&mut report);
    }
    if wants("verify") {
        phase_verify(seconds, wallets, &mut report);
    }
    if wants("issue") {
        phase_issue(seconds, wallets.min(8), &mut report);
    }
    if wants("faults") {
        phase_faults(seconds, wallets, &mut report);
    } else if phases.contains(&"issuer-restart") {
        issuer_restart(seconds, wallets.min(8), &mut report);
    }
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/load-report.md");
    let _ = std::fs::write(&out, report.join("\n") + "\n");
    println!("report: {}", out.display());
    let lost = LOST.load(Ordering::Relaxed);
    if lost > 0 {
        eprintln!("{lost} acknowledged transactions were lost");
        std::process::exit(1);
    }
}
