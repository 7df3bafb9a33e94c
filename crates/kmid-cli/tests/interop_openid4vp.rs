//! OpenID4VP interop with `@openid4vc/openid4vp` 0.4.6 (the OpenWallet Foundation's TypeScript
//! library), both ways, through the CLI:
//!
//! - kmid's verifier signs a HAIP request (`x509_hash`, `direct_post.jwt`); the peer resolves it
//!   as a wallet (JAR signature under the verifier root, the `x509_hash` binding), and reads the
//!   kmid wallet's encrypted response as a verifier with kmid's transaction key;
//! - the peer's verifier signs a request with a kmid-made access certificate; the kmid wallet
//!   verifies and answers it encrypted; the peer decrypts and validates the answer, and kmid
//!   verifies the VP Token it carried;
//! - the same both ways over the Digital Credentials API (`openid4vp-v1-signed`, `dc_api.jwt`):
//!   each side's wallet checks `expected_origins` against the Origin and refuses another, and
//!   each side's verifier decrypts the other's `{response}` data;
//! - `@owf/mdoc` 0.6.0 verifies the mdoc DeviceResponse kmid's wallet sends in those flows
//!   against a SessionTranscript it rebuilds itself from the request (the redirect
//!   `OpenID4VPHandover` and the DC API `OpenID4VPDCAPIHandover`, both with the response key's
//!   thumbprint), under the IACA.
//!
//! Needs `KMID_INTEROP_NODE` (the folder `interop/setup-node.sh` prints; the README's test
//! command sets it); without it each test says so and checks nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Run;
use serde_json::{Value, json};

fn node() -> Option<PathBuf> {
    let dir = std::env::var_os("KMID_INTEROP_NODE").map(PathBuf::from);
    if dir.is_none() {
        eprintln!("KMID_INTEROP_NODE is not set: the OpenID4VP interop test checks nothing");
    }
    dir
}

fn peer(node_dir: &Path, verb: &str, dir: &Path) -> Value {
    script(node_dir, "oid4vp_peer.mjs", verb, dir)
}

fn script(node_dir: &Path, file: &str, verb: &str, dir: &Path) -> Value {
    let out = Command::new("node")
        .arg(node_dir.join(file))
        .args([verb, dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{file} {verb}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A PKI, a holder with a resident card in both formats, and published statuses.
fn setup(run: &Run) {
    run.ok(&["keys", "issuers", "--out", "keys"]);
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
    std::fs::write(
        run.path("rrc.json"),
        run.ok(&["card", "sample", "resident"]),
    )
    .unwrap();
    run.ok(&[
        "issue",
        "--keys",
        "keys",
        "--card",
        "rrc.json",
        "--holder",
        "holder.pem",
        "--out",
        "creds",
    ]);
    run.ok(&["status", "publish", "--keys", "keys"]);
}

#[test]
fn the_peer_resolves_kmids_signed_request_and_reads_its_encrypted_response() {
    let Some(node_dir) = node() else { return };
    let run = Run::new("oid4vp-peer-1");
    setup(&run);
    run.ok(&["keys", "readers", "--out", "bank"]);
    std::fs::copy(
        run.path("bank/reader-root.pem"),
        run.path("verifier-root.pem"),
    )
    .unwrap();
    run.ok(&[
        "request",
        "--signed",
        "bank",
        "--response-mode",
        "direct-post-jwt",
        "--template",
        "age-check",
        "--card",
        "rrc",
        "--format",
        "sd-jwt",
        "--transaction",
        "tx.json",
        "--out",
        "request.txt",
    ]);
    let resolved = peer(&node_dir, "resolve", &run.dir);
    assert_eq!(resolved["signed"], true, "{resolved}");
    assert_eq!(resolved["response_mode"], "direct_post.jwt");
    assert!(
        resolved["client_id"]
            .as_str()
            .unwrap()
            .starts_with("x509_hash:"),
        "{resolved}"
    );
    assert_eq!(
        resolved["dcql"]["credentials"][0]["id"], "card",
        "{resolved}"
    );
    run.ok(&[
        "present",
        "--keys",
        "keys",
        "--holder",
        "holder.pem",
        "--credential",
        "creds/rrc.sd-jwt",
        "--request",
        "request.txt",
        "--verifier-trust",
        "bank/reader-root.pem",
        "--out",
        "answer.txt",
    ]);
    let read = peer(&node_dir, "read-kmid", &run.dir);
    let tx: Value =
        serde_json::from_str(&std::fs::read_to_string(run.path("tx.json")).unwrap()).unwrap();
    assert_eq!(read["state"], tx["transaction"]["state"], "{read}");
    assert!(read["vp_token"]["card"].is_array(), "{read}");
    // A request signed under a root the peer's wallet does not trust is refused by it.
    run.ok(&["keys", "readers", "--out", "other"]);
    std::fs::copy(
        run.path("other/reader-root.pem"),
        run.path("verifier-root.pem"),
    )
    .unwrap();
    let out = Command::new("node")
        .arg(node_dir.join("oid4vp_peer.mjs"))
        .args(["resolve", run.dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the peer accepted an untrusted signer"
    );
}

#[test]
fn kmids_wallet_answers_the_peers_signed_request_and_kmid_verifies_the_token() {
    let Some(node_dir) = node() else { return };
    let run = Run::new("oid4vp-peer-2");
    setup(&run);
    run.ok(&["keys", "readers", "--out", "peer"]);
    std::fs::copy(run.path("peer/reader.pem"), run.path("reader.pem")).unwrap();
    std::fs::copy(run.path("peer/reader.key.pem"), run.path("reader.key.pem")).unwrap();
    let query = json!({ "credentials": [{
        "id": "card",
        "format": "dc+sd-jwt",
        "meta": { "vct_values": ["kr.go.mois.rrc.1"] },
        "claims": [{ "path": ["age_equal_or_over", "19"] }],
    }] });
    std::fs::write(run.path("dcql.json"), query.to_string()).unwrap();
    let created = peer(&node_dir, "create", &run.dir);
    assert!(
        created["client_id"]
            .as_str()
            .unwrap()
            .starts_with("x509_hash:")
    );
    let (code, out) = run.kmid(&[
        "present",
        "--keys",
        "keys",
        "--holder",
        "holder.pem",
        "--credential",
        "creds/rrc.sd-jwt",
        "--request",
        "their-request.txt",
        "--verifier-trust",
        "peer/reader-root.pem",
        "--out",
        "their-answer.txt",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        std::fs::read_to_string(run.path("their-answer.txt"))
            .unwrap()
            .starts_with("response="),
        "encrypted"
    );
    let read = peer(&node_dir, "read-answer", &run.dir);
    assert_eq!(read["state_matches"], true, "{read}");
    // kmid verifies the VP Token the peer received, bound to the peer's request.
    std::fs::write(
        run.path("their-params.json"),
        json!({
            "client_id": read["client_id"],
            "nonce": read["nonce"],
            "response_uri": read["response_uri"],
            "dcql_query": query,
        })
        .to_string(),
    )
    .unwrap();
    std::fs::write(run.path("their-vp.json"), read["vp_token"].to_string()).unwrap();
    let (code, result, out) = run.verify_json(&[
        "--keys",
        "keys",
        "--request",
        "their-params.json",
        "--presentation",
        "their-vp.json",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        result["presentations"][0]["claims"]["age_over_19"], true,
        "{out}"
    );
}

const ORIGIN: &str = "https://bank.kmid.invalid";

#[test]
fn the_peer_resolves_kmids_dc_api_request_and_reads_its_encrypted_response() {
    let Some(node_dir) = node() else { return };
    let run = Run::new("oid4vp-peer-dc-1");
    setup(&run);
    run.ok(&["keys", "readers", "--out", "bank"]);
    std::fs::copy(
        run.path("bank/reader-root.pem"),
        run.path("verifier-root.pem"),
    )
    .unwrap();
    std::fs::write(run.path("origin.txt"), ORIGIN).unwrap();
    run.ok(&[
        "request",
        "--signed",
        "bank",
        "--response-mode",
        "dc-api-jwt",
        "--origin",
        ORIGIN,
        "--template",
        "age-check",
        "--card",
        "rrc",
        "--format",
        "sd-jwt",
        "--transaction",
        "tx.json",
        "--out",
        "request.json",
    ]);
    let resolved = peer(&node_dir, "resolve-dc", &run.dir);
    assert_eq!(resolved["protocol"], "openid4vp-v1-signed", "{resolved}");
    assert_eq!(resolved["signed"], true, "{resolved}");
    assert_eq!(resolved["response_mode"], "dc_api.jwt", "{resolved}");
    assert_eq!(resolved["expected_origins"], json!([ORIGIN]), "{resolved}");
    assert!(
        resolved["client_id"]
            .as_str()
            .unwrap()
            .starts_with("x509_hash:"),
        "{resolved}"
    );
    run.ok(&[
        "present",
        "--keys",
        "keys",
        "--holder",
        "holder.pem",
        "--credential",
        "creds/rrc.sd-jwt",
        "--request",
        "request.json",
        "--verifier-trust",
        "bank/reader-root.pem",
        "--origin",
        ORIGIN,
        "--out",
        "answer.json",
    ]);
    let read = peer(&node_dir, "read-kmid-dc", &run.dir);
    assert_eq!(read["encrypted"], true, "{read}");
    assert!(read["vp_token"]["card"].is_array(), "{read}");
    // The peer's wallet refuses the request at an Origin the verifier did not name.
    std::fs::write(run.path("origin.txt"), "https://phish.kmid.invalid").unwrap();
    let out = Command::new("node")
        .arg(node_dir.join("oid4vp_peer.mjs"))
        .args(["resolve-dc", run.dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "the peer accepted a request from another Origin"
    );
}

#[test]
fn kmids_wallet_answers_the_peers_dc_api_request_and_kmid_verifies_the_token() {
    let Some(node_dir) = node() else { return };
    let run = Run::new("oid4vp-peer-dc-2");
    setup(&run);
    run.ok(&["keys", "readers", "--out", "peer"]);
    std::fs::copy(run.path("peer/reader.pem"), run.path("reader.pem")).unwrap();
    std::fs::copy(run.path("peer/reader.key.pem"), run.path("reader.key.pem")).unwrap();
    std::fs::write(run.path("origin.txt"), ORIGIN).unwrap();
    let query = json!({ "credentials": [{
        "id": "card",
        "format": "dc+sd-jwt",
        "meta": { "vct_values": ["kr.go.mois.rrc.1"] },
        "claims": [{ "path": ["age_equal_or_over", "19"] }],
    }] });
    std::fs::write(run.path("dcql.json"), query.to_string()).unwrap();
    let created = peer(&node_dir, "create-dc", &run.dir);
    let present = |origin: &str| {
        run.kmid(&[
            "present",
            "--keys",
            "keys",
            "--holder",
            "holder.pem",
            "--credential",
            "creds/rrc.sd-jwt",
            "--request",
            "their-request.json",
            "--verifier-trust",
            "peer/reader-root.pem",
            "--origin",
            origin,
            "--out",
            "their-answer.json",
        ])
    };
    // kmid's wallet refuses the request at an Origin outside its expected_origins.
    let (code, out) = present("https://phish.kmid.invalid");
    assert_ne!(code, 0, "{out}");
    let (code, out) = present(ORIGIN);
    assert_eq!(code, 0, "{created} {out}");
    let read = peer(&node_dir, "read-answer-dc", &run.dir);
    assert_eq!(read["encrypted"], true, "{read}");
    // kmid verifies the VP Token the peer received, bound to the peer's request: over the DC
    // API the Key Binding JWT's audience is the Origin even for a signed request (A.4), so a
    // client_id beside the Origin is refused as a mistake.
    let params = |client_id: Option<&Value>| {
        let mut params = json!({
            "nonce": read["nonce"],
            "origin": ORIGIN,
            "dcql_query": query,
        });
        if let Some(id) = client_id {
            params["client_id"] = id.clone();
        }
        std::fs::write(run.path("their-params.json"), params.to_string()).unwrap();
    };
    std::fs::write(run.path("their-vp.json"), read["vp_token"].to_string()).unwrap();
    params(Some(&read["client_id"]));
    let (code, _, out) = run.verify_json(&[
        "--keys",
        "keys",
        "--request",
        "their-params.json",
        "--presentation",
        "their-vp.json",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("origin:https://bank.kmid.invalid"), "{out}");
    params(None);
    let (code, result, out) = run.verify_json(&[
        "--keys",
        "keys",
        "--request",
        "their-params.json",
        "--presentation",
        "their-vp.json",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        result["presentations"][0]["claims"]["age_over_19"], true,
        "{out}"
    );
}

/// kmid's wallet answers an mdoc request of kmid's verifier in `mode`; the `@openid4vc` peer
/// decrypts the response with the transaction's key, and `@owf/mdoc` verifies the
/// DeviceResponse against the transcript it rebuilds from the request's parameters
/// (`tamper` changes one of them first).
fn owf_verifies(mode: &str, tamper: Option<(&str, &str)>) -> Value {
    let node_dir = node().unwrap();
    let run = Run::new(&format!("owf-mdoc-{mode}-{}", tamper.is_some()));
    setup(&run);
    run.ok(&["keys", "readers", "--out", "bank"]);
    let dc_api = mode.starts_with("dc-api");
    let mut args = vec![
        "request",
        "--signed",
        "bank",
        "--response-mode",
        mode,
        "--origin",
        ORIGIN,
        "--template",
        "age-check",
        "--card",
        "rrc",
        "--format",
        "mdoc",
        "--transaction",
        "tx.json",
        "--out",
        "request.txt",
    ];
    if !dc_api {
        args.truncate(5);
        args.extend([
            "--template",
            "age-check",
            "--card",
            "rrc",
            "--format",
            "mdoc",
            "--transaction",
            "tx.json",
            "--out",
            "request.txt",
        ]);
    }
    run.ok(&args);
    let mut args = vec![
        "present",
        "--keys",
        "keys",
        "--holder",
        "holder.pem",
        "--credential",
        "creds/rrc.mdoc.cbor",
        "--request",
        "request.txt",
        "--verifier-trust",
        "bank/reader-root.pem",
        "--out",
        if dc_api { "answer.json" } else { "answer.txt" },
    ];
    if dc_api {
        args.extend(["--origin", ORIGIN]);
    }
    run.ok(&args);
    let read = peer(
        &node_dir,
        if dc_api { "read-kmid-dc" } else { "read-kmid" },
        &run.dir,
    );
    let tx: Value =
        serde_json::from_str(&std::fs::read_to_string(run.path("tx.json")).unwrap()).unwrap();
    let authorization = &tx["authorization"];
    let mut input = json!({
        "device_response": read["vp_token"]["card"][0],
        "iaca_pem": "keys/mois-iaca.pem",
        "nonce": authorization["nonce"],
        "jwk": authorization["client_metadata"]["jwks"]["keys"][0],
    });
    if dc_api {
        input["origin"] = json!(ORIGIN);
    } else {
        input["client_id"] = authorization["client_id"].clone();
        input["response_uri"] = authorization["response_uri"].clone();
    }
    if let Some((field, value)) = tamper {
        input[field] = json!(value);
    }
    std::fs::write(run.path("mdoc-input.json"), input.to_string()).unwrap();
    script(&node_dir, "mdoc_peer.mjs", "verify", &run.dir)
}

#[test]
fn owf_mdoc_verifies_kmids_mdoc_presentations_over_redirects_and_the_dc_api() {
    if node().is_none() {
        return;
    }
    for mode in ["direct-post-jwt", "dc-api-jwt"] {
        let verified = owf_verifies(mode, None);
        assert_eq!(verified["failed"], json!([]), "{mode}: {verified}");
        assert_eq!(verified["doc_type"], "kr.go.mois.rrc.1", "{verified}");
        assert_eq!(
            verified["claims"]["org.iso.23220.1/age_over_19"], true,
            "{verified}"
        );
    }
    // The transcript it rebuilds for another nonce or Origin does not carry the device
    // signature: the peer checks what it says it checks.
    for (mode, tamper) in [
        ("direct-post-jwt", ("nonce", "another-nonce")),
        ("dc-api-jwt", ("origin", "https://phish.kmid.invalid")),
    ] {
        let verified = owf_verifies(mode, Some(tamper));
        assert!(
            verified["failed"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f.as_str().unwrap().starts_with("DEVICE_AUTH")),
            "{mode}: {verified}"
        );
    }
}
