//! `kmid serve` end to end over HTTPS on loopback, driven as its users drive it: an official
//! makes offers through the administration API, `kmid wallet receive` takes them by both
//! grants, a relying party's back end makes transactions with `curl`-like requests and `kmid
//! wallet present` answers them in every response mode, same- and cross-device; a card lost
//! through the API is seen by the verifier through the status lists within their `ttl`; a
//! restart between request and response loses nothing; hostile HTTP gets its status code and
//! leaves the service healthy; SIGTERM stops it cleanly; and its logs hold none of the sample
//! holder's data, nor codes, tokens or secrets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Run;
use serde_json::{Value, json};

const OFFICIAL_TOKEN: &str = "official-token-for-the-serve-test-0001";
/// An official of the Ministry of Justice only.
const MOJ_TOKEN: &str = "official-token-for-the-serve-test-0002";
const CLIENT: &str = "https://wallet.kmid.invalid";
const CALLBACK: &str = "https://wallet.kmid.invalid/callback";

/// A running `kmid serve`, killed if the test ends early.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    /// Starts `kmid serve --config kmid.toml` in the run's directory, logs to `log`, and
    /// waits for its first line (the URL).
    fn start(run: &Run, log: &str) -> Self {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(run.path(log))
            .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_kmid"))
            .args(["serve", "--config", "kmid.toml"])
            .current_dir(&run.dir)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut first = String::new();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdout.read_line(&mut first).unwrap();
        // The rest is drained, so the server never writes into a closed pipe (which `kmid`
        // reports as a failure when it exits).
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let url = first
            .split_whitespace()
            .find(|w| w.starts_with("https://"))
            .unwrap_or_else(|| panic!("no URL in {first:?}"))
            .to_owned();
        Self { child, url }
    }

    /// SIGTERM, and the exit status within `limit`.
    fn stop(mut self, limit: Duration) -> Option<i32> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// HTTPS to the server, trusting its test CA.
struct Http(reqwest::blocking::Client);

impl Http {
    fn new(run: &Run) -> Self {
        let ca = kmid::crypto::x509::Certificate::from_pem(
            &std::fs::read_to_string(run.path("data/tls/ca.pem")).unwrap(),
        )
        .unwrap();
        Self(
            reqwest::blocking::Client::builder()
                .use_preconfigured_tls(
                    kmid_server::tls_client_config_with(&[ca.der().to_vec()]).unwrap(),
                )
                .build()
                .unwrap(),
        )
    }

    fn send(&self, request: reqwest::blocking::RequestBuilder) -> (u16, Value) {
        let response = request.send().unwrap();
        let status = response.status().as_u16();
        let text = response.text().unwrap_or_default();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn post_json(&self, url: &str, body: &Value, token: Option<&str>) -> (u16, Value) {
        let mut request = self
            .0
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(request)
    }

    fn get(&self, url: &str) -> (u16, Value) {
        self.send(self.0.get(url))
    }
}

/// `kmid wallet receive` of an official's pre-authorized `offer` with its Transaction Code,
/// trusting the server's test CA; the credentials go to `out`. Returns the output.
fn redeem(run: &Run, offer: &Value, out: &str) -> String {
    run.ok(&[
        "wallet",
        "receive",
        offer["offer_url"].as_str().unwrap(),
        "--tx-code",
        offer["tx_code"].as_str().unwrap(),
        "--holder",
        "holder.pem",
        "--ca-file",
        "data/tls/ca.pem",
        "--out",
        out,
    ])
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sha256_hex(text: &str) -> String {
    let digest = kmid::crypto::CryptoProvider::get_default()
        .sha256(text.as_bytes())
        .unwrap();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The deployment in the run's directory for a server on `port`: issuers whose identifiers
/// and status lists are under the server's URL, a relying party's access certificate, a
/// registered wallet (`attestation.jwt`, `instance.pem`), a holder (`holder.pem`), an official
/// (`OFFICIAL_TOKEN`), a status `ttl` of a second, and the sample resident card, returned.
fn deploy(run: &Run, port: u16) -> Value {
    let public = format!("https://localhost:{port}");
    run.ok(&[
        "keys",
        "issuers",
        "--out",
        "data",
        "--status-base",
        &format!("{public}/status"),
        "--issuer-base",
        &format!("{public}/issuer"),
    ]);
    run.ok(&[
        "keys",
        "readers",
        "--out",
        "data/verifier",
        "--dns",
        "localhost",
    ]);
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
    run.ok(&["keys", "holder", "--out", "instance.pem"]);
    run.ok(&["keys", "wallet-provider", "--out", "wp"]);
    run.ok(&[
        "wallet",
        "attest",
        "--provider",
        "wp",
        "--client-id",
        CLIENT,
        "--instance",
        "instance.pem",
        "--out",
        "attestation.jwt",
    ]);
    run.ok(&[
        "issuer",
        "register-wallet",
        "--keys",
        "data",
        "--client-id",
        CLIENT,
        "--redirect-uri",
        CALLBACK,
        "--provider-root",
        "wp/wallet-provider-root.pem",
    ]);
    let card = run.ok(&["card", "sample", "resident"]);
    std::fs::write(run.path("rrc.json"), &card).unwrap();
    let card: Value = serde_json::from_str(&card).unwrap();
    std::fs::write(
        run.path("kmid.toml"),
        format!(
            r#"data_dir = "data"
[server]
listen = "127.0.0.1:{port}"
rate_limit_per_second = 20
rate_limit_burst = 60
json_logs = true
[[issuer.officials]]
name = "official-kim"
token_sha256 = "{}"
[[issuer.officials]]
name = "official-lee"
token_sha256 = "{}"
authorities = ["moj"]
[status]
ttl_secs = 1
poll_secs = 1
[verifier]
open_api = true
allow_unencrypted = true
"#,
            sha256_hex(OFFICIAL_TOKEN),
            sha256_hex(MOJ_TOKEN)
        ),
    )
    .unwrap();
    card
}

#[test]
fn the_services_run_a_card_through_issuance_presentation_and_loss() {
    let run = Run::new("serve");
    let port = free_port();
    let public = format!("https://localhost:{port}");
    let card = deploy(&run, port);
    let server = Server::start(&run, "serve.log");
    assert_eq!(server.url, public);
    let http = Http::new(&run);
    assert_eq!(http.get(&format!("{public}/readyz")).0, 200);
    let mut secrets: Vec<String> = vec![OFFICIAL_TOKEN.into()];
    // SD-JWT VC Issuer Metadata at the origin: the identifier, and the Document Signer's key.
    let (status, metadata) = http.get(&format!("{public}/.well-known/jwt-vc-issuer/issuer/mois"));
    assert_eq!(status, 200, "{metadata}");
    assert_eq!(metadata["issuer"], format!("{public}/issuer/mois"));
    let ds = kmid::crypto::x509::Certificate::from_pem(
        &std::fs::read_to_string(run.path("data/mois-ds.pem")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        metadata["jwks"]["keys"][0]["kid"],
        ds.public_key().thumbprint_sha256().unwrap(),
        "{metadata}"
    );

    // An official's offers: the API needs their token.
    let offers = format!("{public}/issuer/mois/admin/offers");
    let (status, _) = http.post_json(&offers, &json!({ "card": card }), None);
    assert_eq!(status, 401);
    let (status, _) = http.post_json(&offers, &json!({ "card": card }), Some("not-a-token"));
    assert_eq!(status, 401);
    // An official of another authority.
    let (status, _) = http.post_json(&offers, &json!({ "card": card }), Some(MOJ_TOKEN));
    assert_eq!(status, 401);
    // The authorization code grant first (its SD-JWT VC is then superseded by the counter
    // offer's credentials).
    let (status, offer) = http.post_json(
        &offers,
        &json!({ "card": card, "grant": "authorization-code", "formats": "sd-jwt" }),
        Some(OFFICIAL_TOKEN),
    );
    assert_eq!(status, 200, "{offer}");
    let url = offer["offer_url"].as_str().unwrap();
    let out = run.ok(&[
        "wallet",
        "receive",
        url,
        "--client-attestation",
        "attestation.jwt",
        "--instance",
        "instance.pem",
        "--redirect-uri",
        CALLBACK,
        "--holder",
        "holder.pem",
        "--ca-file",
        "data/tls/ca.pem",
        "--out",
        "code",
    ]);
    assert!(out.contains("code/rrc.sd-jwt"), "{out}");
    // The counter's pre-authorized offer with its Transaction Code; the server restarts
    // before the phone redeems it.
    let (status, offer) = http.post_json(&offers, &json!({ "card": card }), Some(OFFICIAL_TOKEN));
    assert_eq!(server.stop(Duration::from_secs(20)), Some(0));
    let server = Server::start(&run, "serve.log");
    assert_eq!(status, 200, "{offer}");
    let url = offer["offer_url"].as_str().unwrap();
    let tx_code = offer["tx_code"].as_str().unwrap();
    secrets.push(tx_code.into());
    let (status, out) = run.kmid(&[
        "wallet",
        "receive",
        url,
        "--tx-code",
        "000000x",
        "--holder",
        "holder.pem",
        "--ca-file",
        "data/tls/ca.pem",
        "--out",
        "creds",
    ]);
    assert_ne!(status, 0, "{out}");
    let out = redeem(&run, &offer, "creds");
    assert!(
        out.contains("creds/rrc.mdoc.cbor") && out.contains("creds/rrc.sd-jwt"),
        "{out}"
    );
    // Offers are for the authority's own cards.
    let (status, _) = http.post_json(
        &format!("{public}/issuer/moj/admin/offers"),
        &json!({ "card": card }),
        Some(OFFICIAL_TOKEN),
    );
    assert_eq!(status, 400);
    // `kmid verify` fetches the status list the credential names over HTTPS (the list is not
    // in the keys directory's index: only the live server publishes it), trusting the
    // server's CA when told to.
    run.ok(&[
        "request",
        "--template",
        "age-check",
        "--card",
        "rrc",
        "--format",
        "sd-jwt",
        "--out",
        "req.json",
    ]);
    run.ok(&[
        "present",
        "--keys",
        "data",
        "--holder",
        "holder.pem",
        "--credential",
        "creds/rrc.sd-jwt",
        "--request",
        "req.json",
        "--out",
        "vp.json",
    ]);
    let (status, fetched, out) = run.verify_json(&[
        "--keys",
        "data",
        "--request",
        "req.json",
        "--presentation",
        "vp.json",
        "--ca-file",
        "data/tls/ca.pem",
    ]);
    assert_eq!(status, 0, "{out}");
    assert_eq!(fetched["presentations"][0]["status"], "VALID", "{out}");
    let (status, untrusted, out) = run.verify_json(&[
        "--keys",
        "data",
        "--request",
        "req.json",
        "--presentation",
        "vp.json",
    ]);
    assert_eq!(status, 1, "{out}");
    assert!(
        untrusted["error"]
            .as_str()
            .unwrap()
            .ends_with("StatusUnavailable.Unavailable.Transport"),
        "{out}"
    );

    // The relying party: a transaction, the wallet answers, the result.
    let transactions = format!("{public}/verifier/transactions");
    let present = |request_url: &str| {
        run.kmid(&[
            "wallet",
            "present",
            request_url,
            "--keys",
            "data",
            "--holder",
            "holder.pem",
            "--credential",
            "creds/rrc.sd-jwt",
            "--credential",
            "creds/rrc.mdoc.cbor",
            "--verifier-trust",
            "data/verifier/reader-root.pem",
            "--ca-file",
            "data/tls/ca.pem",
        ])
    };
    let verify = |format: &str, mode: &str, same_device: bool| -> Value {
        let (status, created) = http.post_json(
            &transactions,
            &json!({
                "template": "identity", "card": "kr.go.mois.rrc.1", "format": format,
                "response_mode": mode, "same_device": same_device,
                "redirect_uri": "https://rp.kmid.invalid/done",
            }),
            None,
        );
        assert_eq!(status, 201, "{created}");
        let (status, out) = present(created["request_url"].as_str().unwrap());
        assert_eq!(status, 0, "{format} {mode}: {out}");
        let handle = created["transaction_id"].as_str().unwrap();
        let mut result_url = format!("{transactions}/{handle}");
        if same_device {
            let code = out
                .split("response_code=")
                .nth(1)
                .unwrap_or_else(|| panic!("no response_code in {out}"))
                .trim();
            assert_eq!(http.get(&result_url).0, 403);
            result_url = format!("{result_url}?response_code={code}");
        }
        let (status, result) = http.get(&result_url);
        assert_eq!(status, 200, "{result}");
        result["result"].clone()
    };
    for (format, mode, same_device) in [
        ("dc+sd-jwt", "direct_post.jwt", false),
        ("mso_mdoc", "direct_post.jwt", true),
        ("dc+sd-jwt", "direct_post", true),
        ("mso_mdoc", "direct_post", false),
    ] {
        let result = verify(format, mode, same_device);
        assert_eq!(result["valid"], true, "{format} {mode}: {result}");
        let presented = &result["presentations"][0];
        assert_eq!(presented["status"], "VALID", "{result}");
        assert_eq!(presented["claims"]["family_name_unicode"], "김");
    }

    // A restart between the request and the response loses nothing.
    let (status, created) = http.post_json(
        &transactions,
        &json!({ "template": "age-check", "card": "kr.go.mois.rrc.1", "format": "dc+sd-jwt" }),
        None,
    );
    assert_eq!(status, 201);
    // SIGTERM: a clean exit within the grace time.
    assert_eq!(server.stop(Duration::from_secs(20)), Some(0));
    let server = Server::start(&run, "serve.log");
    let (status, out) = present(created["request_url"].as_str().unwrap());
    assert_eq!(status, 0, "{out}");
    let handle = created["transaction_id"].as_str().unwrap();
    let (_, done) = http.get(&format!("{transactions}/{handle}"));
    assert_eq!(done["result"]["valid"], true, "{done}");
    secrets.push(handle.split_once('.').unwrap().1.to_owned());

    // The card is lost: the official says so, the verifier sees it through the status list
    // within its ttl (1 s) and the publisher's poll (1 s); found again, it is valid again.
    let lifecycle = |action: &str| {
        let (status, changed) = http.post_json(
            &format!("{public}/issuer/mois/admin/{action}"),
            &json!({ "card": card }),
            Some(OFFICIAL_TOKEN),
        );
        assert_eq!(status, 200, "{changed}");
        assert!(changed["changed"].as_u64().unwrap() > 0, "{changed}");
    };
    let eventually = |expect_valid: bool| {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let result = verify("dc+sd-jwt", "direct_post.jwt", false);
            if result["valid"] == expect_valid {
                return result;
            }
            assert!(Instant::now() < deadline, "still {result}");
            std::thread::sleep(Duration::from_millis(500));
        }
    };
    lifecycle("card-lost");
    let result = eventually(false);
    assert!(
        result["error"].as_str().unwrap().contains("Suspended"),
        "{result}"
    );
    lifecycle("card-found");
    eventually(true);

    // Hostile HTTP: the right status, and the service stays healthy.
    let big = "x".repeat(70 * 1024);
    let (status, _) = http.send(
        http.0
            .post(&transactions)
            .header("content-type", "application/json")
            .body(big),
    );
    assert_eq!(status, 413);
    let (status, body) = http.send(
        http.0
            .get(format!("{public}/healthz"))
            .header("x-padding", "y".repeat(20 * 1024)),
    );
    assert_eq!(status, 431, "{body}");
    let (status, _) = http.send(
        http.0
            .post(format!("{public}/verifier/response/nothing"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("response=not.a.jwe"),
    );
    assert_eq!(status, 404);
    let (status, created) = http.post_json(
        &transactions,
        &json!({ "template": "age-check", "card": "kr.go.mois.rrc.1", "format": "mso_mdoc" }),
        None,
    );
    assert_eq!(status, 201);
    let id = created["transaction_id"]
        .as_str()
        .unwrap()
        .split_once('.')
        .unwrap()
        .0;
    for junk in ["response=not.a.jwe", "vp_token=%7B&state=x", "%ff%fe=%00"] {
        let (status, _) = http.send(
            http.0
                .post(format!("{public}/verifier/response/{id}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(junk),
        );
        assert_eq!(status, 400, "{junk}");
    }
    // A flood beyond the rate limit (20/s, bursts of 60) from one client: as fast as it goes,
    // until the first 429 (a bounded loop: at 20/s, 600 requests take at least 27 s).
    let mut statuses = Vec::new();
    while statuses.len() < 600 && statuses.last() != Some(&429) {
        statuses.push(http.get(&format!("{transactions}/nothing.here")).0);
    }
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
    // (The bucket is shared with the test's earlier requests from 127.0.0.1.)
    assert!(statuses.len() > 10, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 404 || *s == 429));
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(http.get(&format!("{public}/healthz")).0, 200);
    assert_eq!(http.get(&format!("{transactions}/nothing.here")).0, 404);
    let (_, metrics) = http.get(&format!("{public}/metrics"));
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    assert!(metrics.contains("kmid_http_requests_total"), "{metrics}");
    assert!(metrics.contains("kmid_rate_limited_total"), "{metrics}");
    assert!(
        metrics.contains("kmid_verifications_total{outcome=\"VALID\"}"),
        "{metrics}"
    );
    assert_eq!(server.stop(Duration::from_secs(20)), Some(0));

    // The registry recorded the official who acted.
    let registry = kmid::status::registry::StatusRegistry::new(
        kmid::status::registry::SqliteStore::open(
            &run.path("data/mois-registry.sqlite"),
            kmid::status::registry::Durability::Full,
        )
        .unwrap(),
        kmid::status::registry::RegistryConfig::new("https://unused.invalid"),
        std::sync::Arc::new(kmid::crypto::SystemRandom),
    );
    let events = registry.events(0).unwrap();
    let by_official: Vec<_> = events
        .iter()
        .filter(|e| e.actor == "official-kim")
        .map(|e| e.operation)
        .collect();
    assert!(
        by_official.contains(&kmid::status::registry::Operation::CardLost)
            && by_official.contains(&kmid::status::registry::Operation::Reinstate),
        "{events:?}"
    );

    // The logs: lines of JSON, and none of the holder's data, codes, tokens or secrets.
    let log = std::fs::read_to_string(run.path("serve.log")).unwrap();
    assert!(log.lines().count() > 20, "{log}");
    assert!(
        log.lines()
            .all(|l| serde_json::from_str::<Value>(l).is_ok()),
        "{log}"
    );
    let person = [
        card["name"]["family"].as_str().unwrap_or("김"),
        "민준",
        "金民俊",
        "1990-03-15",
        "19900315",
    ];
    let registration = card["registration_number"].as_str().unwrap_or_default();
    for needle in person
        .iter()
        .copied()
        .chain([registration])
        .chain(secrets.iter().map(String::as_str))
        .filter(|n| !n.is_empty())
    {
        assert!(!log.contains(needle), "the log holds {needle:?}");
    }
    assert!(!log.contains("response_code"), "{log}");
    assert!(!log.contains("pre-authorized_code"), "{log}");
}

/// SIGKILL in the middle of issuances, at several moments: after each crash the server
/// restarts on its state, the registry's statuses agree with its event log, the holder can
/// be issued again, and of every credential the registry ever registered for the card only
/// the last issuance's two are VALID — one registered but never delivered is superseded, not
/// left half-issued.
#[test]
fn a_sigkill_during_issuance_leaves_no_half_issued_credential() {
    let run = Run::new("serve-kill");
    let port = free_port();
    let public = format!("https://localhost:{port}");
    let card = deploy(&run, port);
    let offers = format!("{public}/issuer/mois/admin/offers");
    let receive = |offer: &Value, out: &str| {
        Command::new(env!("CARGO_BIN_EXE_kmid"))
            .args([
                "wallet",
                "receive",
                offer["offer_url"].as_str().unwrap(),
                "--tx-code",
                offer["tx_code"].as_str().unwrap(),
                "--holder",
                "holder.pem",
                "--ca-file",
                "data/tls/ca.pem",
                "--out",
                out,
            ])
            .current_dir(&run.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut interrupted = 0;
    // Moments across the wallet's seven exchanges (metadata, token, nonce, credentials).
    for (round, delay_ms) in [5u64, 30, 60, 90, 120, 150, 200, 260]
        .into_iter()
        .enumerate()
    {
        let mut server = Server::start(&run, "serve.log");
        let http = Http::new(&run);
        let (status, offer) =
            http.post_json(&offers, &json!({ "card": card }), Some(OFFICIAL_TOKEN));
        assert_eq!(status, 200, "{offer}");
        let mut wallet = receive(&offer, &format!("round-{round}"));
        std::thread::sleep(Duration::from_millis(delay_ms));
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        let finished = wallet.wait().unwrap();
        if !finished.success() {
            interrupted += 1;
        }
        drop(server);
    }
    // The crashes interrupted some issuances (else the test would prove nothing).
    assert!(interrupted > 0, "no issuance was interrupted");
    // After the last crash: the holder is issued again, and that issuance is what holds.
    let server = Server::start(&run, "serve.log");
    let http = Http::new(&run);
    let (status, offer) = http.post_json(&offers, &json!({ "card": card }), Some(OFFICIAL_TOKEN));
    assert_eq!(status, 200);
    assert!(receive(&offer, "final").wait().unwrap().success());
    let stopped = server.stop(Duration::from_secs(20));
    assert_eq!(
        stopped,
        Some(0),
        "{}",
        std::fs::read_to_string(run.path("serve.log")).unwrap()
    );
    let registry = kmid::status::registry::StatusRegistry::new(
        kmid::status::registry::SqliteStore::open(
            &run.path("data/mois-registry.sqlite"),
            kmid::status::registry::Durability::Full,
        )
        .unwrap(),
        kmid::status::registry::RegistryConfig::new("https://unused.invalid"),
        std::sync::Arc::new(kmid::crypto::SystemRandom),
    );
    registry.audit().unwrap();
    let mut credentials: Vec<u64> = registry
        .events(0)
        .unwrap()
        .iter()
        .filter_map(|e| e.credential)
        .collect();
    credentials.sort_unstable();
    credentials.dedup();
    assert!(credentials.len() >= 2, "{credentials:?}");
    let valid: Vec<u64> = credentials
        .iter()
        .copied()
        .filter(|c| registry.status(*c).unwrap() == kmid::schema::status::TokenStatus::Valid)
        .collect();
    assert_eq!(valid.len(), 2, "VALID: {valid:?} of {credentials:?}");
    assert!(run.path("final/rrc.sd-jwt").is_file());
}

/// Runs the page driver (`interop/node/rp_page_browser.mjs`) with `input`; `None` when the
/// browser or the npm peers are not set up (the README's test command sets both up).
fn browse(input: &Value) -> Option<Value> {
    let (Some(node), Some(browser)) = (
        std::env::var_os("KMID_INTEROP_NODE"),
        std::env::var_os("KMID_BROWSER"),
    ) else {
        return None;
    };
    let mut input = input.clone();
    input["browser"] = json!(browser.to_string_lossy());
    let script = std::path::Path::new(&node).join("rp_page_browser.mjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(input.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// The relying party's page in headless Chromium: a clerk picks the identity template, the
/// page shows the QR code and the same-device link, `kmid wallet present` answers the URL the
/// page shows, and the page shows the name, the birth date and the photo (decoded by the
/// browser) — and no registration number; a template asking for the number without a legal
/// basis is refused on the page; a lost card is shown refused with its reason. Screenshots of
/// each are checked to be images of the page.
#[test]
fn the_relying_partys_page_works_in_a_browser() {
    let run = Run::new("serve-page");
    if std::env::var_os("KMID_BROWSER").is_none() || std::env::var_os("KMID_INTEROP_NODE").is_none()
    {
        eprintln!("KMID_BROWSER or KMID_INTEROP_NODE is not set: the browser test checks nothing");
        return;
    }
    let port = free_port();
    let public = format!("https://localhost:{port}");
    let card = deploy(&run, port);
    let _server = Server::start(&run, "serve.log");
    let http = Http::new(&run);
    let (status, offer) = http.post_json(
        &format!("{public}/issuer/mois/admin/offers"),
        &json!({ "card": card }),
        Some(OFFICIAL_TOKEN),
    );
    assert_eq!(status, 200, "{offer}");
    redeem(&run, &offer, "creds");
    let kmid = env!("CARGO_BIN_EXE_kmid");
    let page = |template: &str, legal_basis: Option<&str>, shot: &str| {
        let mut input = json!({
            "url": format!("{public}/"),
            "template": template,
            "card": "kr.go.mois.rrc.1",
            "format": "dc+sd-jwt",
            "wallet": [kmid, "wallet", "present", "--keys", "data", "--holder", "holder.pem",
                "--credential", "creds/rrc.sd-jwt", "--credential", "creds/rrc.mdoc.cbor",
                "--verifier-trust", "data/verifier/reader-root.pem", "--ca-file", "data/tls/ca.pem"],
            "cwd": run.dir.to_string_lossy(),
            "screenshot": run.path(shot).to_string_lossy(),
        });
        if let Some(basis) = legal_basis {
            input["legal_basis"] = json!(basis);
        }
        let seen = browse(&input).unwrap();
        let png = std::fs::read(run.path(shot)).unwrap();
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
            "{shot}"
        );
        seen
    };
    let seen = page("identity", None, "verified.png");
    assert!(
        seen["request_url"]
            .as_str()
            .unwrap()
            .starts_with("openid4vp://?client_id=x509_hash"),
        "{seen}"
    );
    assert!(seen["qr_svg_bytes"].as_u64().unwrap() > 1000, "{seen}");
    assert_eq!(seen["wallet_exit"], 0, "{seen}");
    assert_eq!(seen["verdict"], "Verified", "{seen}");
    assert_eq!(seen["claims"]["family_name_unicode"], "김", "{seen}");
    assert_eq!(seen["claims"]["given_name_unicode"], "민준", "{seen}");
    assert_eq!(seen["claims"]["birth_date"], "1990-03-15", "{seen}");
    assert_eq!(seen["claims"]["status"], "VALID", "{seen}");
    assert!(
        seen["claims"].get("registration_number").is_none(),
        "{seen}"
    );
    assert_eq!(seen["portrait"]["shown"], true, "{seen}");
    assert!(seen["portrait"]["width"].as_u64().unwrap() > 0, "{seen}");
    // The registration number without a legal basis: refused before any request is made.
    let seen = page("full-identity", Some(""), "no-basis.png");
    assert!(
        seen["error"]
            .as_str()
            .unwrap_or_default()
            .contains("legal_basis"),
        "{seen}"
    );
    // The card is lost: the page shows the refusal and why.
    let (status, _) = http.post_json(
        &format!("{public}/issuer/mois/admin/card-lost"),
        &json!({ "card": card }),
        Some(OFFICIAL_TOKEN),
    );
    assert_eq!(status, 200);
    // Seen within the publisher's poll and the list's 1 s ttl: asked again until then.
    let deadline = Instant::now() + Duration::from_secs(20);
    let seen = loop {
        let seen = page("age-check", None, "refused.png");
        if seen["verdict"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Refused")
            || Instant::now() > deadline
        {
            break seen;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        seen["verdict"].as_str().unwrap().starts_with("Refused"),
        "{seen}"
    );
    assert!(
        seen["reason"].as_str().unwrap().contains("Suspended"),
        "{seen}"
    );
}

/// Runs `node <KMID_INTEROP_NODE>/<script> <verb> <dir>` with the server's CA trusted; its
/// stdout as JSON. `None` without the npm peers.
fn peer(run: &Run, script: &str, verb: &str, dir: &std::path::Path) -> Option<Value> {
    let node = std::path::PathBuf::from(std::env::var_os("KMID_INTEROP_NODE")?);
    let out = Command::new("node")
        .arg(node.join(script))
        .args([verb, dir.to_str().unwrap()])
        .env("NODE_EXTRA_CA_CERTS", run.path("data/tls/ca.pem"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} {verb}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).unwrap())
}

/// The OpenWallet Foundation's clients against the live services: their OpenID4VCI wallet
/// (`@openid4vc/openid4vci` and `oauth2` 0.4.6) receives from kmid's issuer over HTTPS by the
/// pre-authorized grant and by the authorization code grant (PAR with a wallet attestation,
/// PKCE, DPoP, `iss`); their OpenID4VP wallet (`@openid4vc/openid4vp` 0.4.6) fetches kmid's
/// signed request from the live verifier, and submits a `direct_post.jwt` response it
/// encrypted itself, with a VP Token of the credential their wallet received; the verifier's
/// result is VALID.
#[test]
fn their_clients_run_against_the_live_services() {
    let run = Run::new("serve-peers");
    if std::env::var_os("KMID_INTEROP_NODE").is_none() {
        eprintln!("KMID_INTEROP_NODE is not set: the live interop test checks nothing");
        return;
    }
    let port = free_port();
    let public = format!("https://localhost:{port}");
    let card = deploy(&run, port);
    let _server = Server::start(&run, "serve.log");
    let http = Http::new(&run);
    let offers = format!("{public}/issuer/mois/admin/offers");
    // Their wallet, by the pre-authorized grant.
    let peer_dir = run.path("their-wallet");
    std::fs::create_dir_all(&peer_dir).unwrap();
    let (status, offer) = http.post_json(&offers, &json!({ "card": card }), Some(OFFICIAL_TOKEN));
    assert_eq!(status, 200, "{offer}");
    std::fs::write(
        peer_dir.join("offer.txt"),
        offer["offer_url"].as_str().unwrap(),
    )
    .unwrap();
    std::fs::write(
        peer_dir.join("tx_code.txt"),
        offer["tx_code"].as_str().unwrap(),
    )
    .unwrap();
    let received = peer(&run, "vci_peer.mjs", "receive", &peer_dir).unwrap();
    assert_eq!(received["token_type"], "DPoP", "{received}");
    assert_eq!(
        received["credential_issuer"],
        format!("{public}/issuer/mois"),
        "{received}"
    );
    // Their wallet, by the authorization code grant (kmid's wallet provider attested the
    // instance key `deploy` made; kmid's issuer registered the wallet).
    // (For another holder's card: the resident card is on the first wallet's phone, and a
    // card is on one phone.)
    let code_dir = run.path("their-code-wallet");
    std::fs::create_dir_all(&code_dir).unwrap();
    let foreigner: Value = serde_json::from_str(&run.ok(&["card", "sample", "foreigner"])).unwrap();
    let (status, offer) = http.post_json(
        &format!("{public}/issuer/moj/admin/offers"),
        &json!({ "card": foreigner, "grant": "authorization-code" }),
        Some(OFFICIAL_TOKEN),
    );
    assert_eq!(status, 200, "{offer}");
    std::fs::write(
        code_dir.join("offer.txt"),
        offer["offer_url"].as_str().unwrap(),
    )
    .unwrap();
    std::fs::copy(
        run.path("attestation.jwt"),
        code_dir.join("attestation.jwt"),
    )
    .unwrap();
    std::fs::copy(run.path("instance.pem"), code_dir.join("instance.pem")).unwrap();
    std::fs::write(code_dir.join("redirect_uri.txt"), CALLBACK).unwrap();
    let by_code = peer(&run, "vci_peer.mjs", "authorize", &code_dir).unwrap();
    assert_eq!(by_code["token_type"], "DPoP", "{by_code}");
    for configuration in ["kr.go.moj.rc.1.dc+sd-jwt", "kr.go.moj.rc.1.mso_mdoc"] {
        assert!(
            by_code["credentials"][configuration][0].is_string(),
            "{configuration}: {by_code}"
        );
    }
    // The first wallet's SD-JWT VC, with the key their wallet bound it to, for the verifier.
    let sd_jwt = received["credentials"]["kr.go.mois.rrc.1.dc+sd-jwt"][0]
        .as_str()
        .unwrap();
    let jwk: kmid::crypto::Jwk =
        serde_json::from_str(&std::fs::read_to_string(peer_dir.join("peer-holder.jwk")).unwrap())
            .unwrap();
    std::fs::write(
        run.path("their-holder.pem"),
        jwk.to_private_key()
            .unwrap()
            .to_pkcs8_pem()
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    std::fs::write(run.path("theirs.sd-jwt"), format!("{sd_jwt}\n")).unwrap();

    // Their OpenID4VP wallet answers the live verifier.
    let (status, created) = http.post_json(
        &format!("{public}/verifier/transactions"),
        &json!({ "template": "identity", "card": "kr.go.mois.rrc.1", "format": "dc+sd-jwt" }),
        None,
    );
    assert_eq!(status, 201, "{created}");
    let vp_dir = run.path("their-vp-wallet");
    std::fs::create_dir_all(&vp_dir).unwrap();
    std::fs::write(
        vp_dir.join("request_url.txt"),
        created["request_url"].as_str().unwrap(),
    )
    .unwrap();
    std::fs::copy(
        run.path("data/verifier/reader-root.pem"),
        vp_dir.join("verifier-root.pem"),
    )
    .unwrap();
    let resolved = peer(&run, "oid4vp_peer.mjs", "resolve-live", &vp_dir).unwrap();
    assert_eq!(resolved["signed"], true, "{resolved}");
    assert_eq!(resolved["prefix"], "x509_hash", "{resolved}");
    assert_eq!(resolved["response_mode"], "direct_post.jwt", "{resolved}");
    // The VP Token (kmid presents their credential for the request their client resolved).
    let request: Value =
        serde_json::from_str(&std::fs::read_to_string(vp_dir.join("resolved.json")).unwrap())
            .unwrap();
    std::fs::write(
        run.path("their-request.json"),
        json!({
            "dcql_query": request["dcql_query"],
            "nonce": request["nonce"],
            "client_id": request["client_id"],
            "response_uri": request["response_uri"],
        })
        .to_string(),
    )
    .unwrap();
    run.ok(&[
        "present",
        "--keys",
        "data",
        "--holder",
        "their-holder.pem",
        "--credential",
        "theirs.sd-jwt",
        "--request",
        "their-request.json",
        "--out",
        "their-vp/vp.json",
    ]);
    std::fs::copy(run.path("their-vp/vp.json"), vp_dir.join("vp.json")).unwrap();
    let submitted = peer(&run, "oid4vp_peer.mjs", "submit-live", &vp_dir).unwrap();
    assert_eq!(submitted["status"], 200, "{submitted}");
    let handle = created["transaction_id"].as_str().unwrap();
    let (_, done) = http.get(&format!("{public}/verifier/transactions/{handle}"));
    assert_eq!(done["status"], "answered", "{done}");
    assert_eq!(done["result"]["valid"], true, "{done}");
    assert_eq!(
        done["result"]["presentations"][0]["claims"]["family_name_unicode"], "김",
        "{done}"
    );
}

/// `kmid serve` with its shared state in PostgreSQL (`database`): an official's offer lives
/// in the database across a restart of the server and is redeemed over HTTPS; the issuer's
/// OpenID4VCI records and the verifier's transactions are there, not in SQLite. Needs the
/// test cluster (`KMID_POSTGRES_URL`).
#[test]
fn the_services_keep_their_shared_state_in_postgres() {
    let Ok(cluster) = std::env::var("KMID_POSTGRES_URL") else {
        eprintln!("KMID_POSTGRES_URL is not set: the PostgreSQL service test checks nothing");
        return;
    };
    let run = Run::new("serve-postgres");
    let name = format!("kmid_serve_{}", std::process::id());
    let mut admin = postgres::Client::connect(&cluster, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let url = format!("{}/{name}", cluster.rsplit_once('/').unwrap().0);
    let port = free_port();
    let public = format!("https://localhost:{port}");
    let card = deploy(&run, port);
    let config = std::fs::read_to_string(run.path("kmid.toml")).unwrap();
    std::fs::write(
        run.path("kmid.toml"),
        format!("database = \"{url}\"\n{config}"),
    )
    .unwrap();
    let server = Server::start(&run, "serve.log");
    let http = Http::new(&run);
    let (status, offer) = http.post_json(
        &format!("{public}/issuer/mois/admin/offers"),
        &json!({ "card": card }),
        Some(OFFICIAL_TOKEN),
    );
    assert_eq!(status, 200, "{offer}");
    assert_eq!(server.stop(Duration::from_secs(20)), Some(0));
    let _server = Server::start(&run, "serve.log");
    let out = redeem(&run, &offer, "creds");
    assert!(out.contains("creds/rrc.sd-jwt"), "{out}");
    let (status, _) = http.post_json(
        &format!("{public}/verifier/transactions"),
        &json!({ "template": "age-check", "card": "kr.go.mois.rrc.1", "format": "dc+sd-jwt" }),
        None,
    );
    assert_eq!(status, 201);
    let mut database = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let count = |db: &mut postgres::Client, table: &str| -> i64 {
        db.query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
            .unwrap()
            .get(0)
    };
    assert!(count(&mut database, "issuance_record") > 0);
    assert_eq!(count(&mut database, "vp_transactions"), 1);
    // The verifier's transactions went to PostgreSQL only.
    assert!(!run.path("data/verifier/transactions.sqlite").exists());
    // So did the registry: MOIS's schema holds the two credentials just issued (an mdoc and an
    // SD-JWT VC, VALID), with their events, and no SQLite registry was made.
    let statuses = |db: &mut postgres::Client| -> Vec<(String, i16)> {
        db.query(
            "SELECT format, status FROM kmid_mois.registry_credentials ORDER BY format",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
    };
    assert_eq!(
        statuses(&mut database),
        [("mdoc".to_owned(), 0), ("sd-jwt-vc".to_owned(), 0)]
    );
    assert_eq!(
        count(
            &mut database,
            "kmid_mois.registry_events WHERE operation = 'register'"
        ),
        2
    );
    assert!(!run.path("data/mois-registry.sqlite").exists());
    // An official's lifecycle step goes there too: the lost card suspends both.
    let (status, lost) = http.post_json(
        &format!("{public}/issuer/mois/admin/card-lost"),
        &json!({ "card": card }),
        Some(OFFICIAL_TOKEN),
    );
    assert_eq!(status, 200, "{lost}");
    assert_eq!(
        statuses(&mut database),
        [("mdoc".to_owned(), 2), ("sd-jwt-vc".to_owned(), 2)]
    );
}
