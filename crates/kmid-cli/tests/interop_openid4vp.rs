//! OpenID4VP interop with `@openid4vc/openid4vp` 0.4.6 (the OpenWallet Foundation's TypeScript
//! library), both ways, through the CLI:
//!
//! - kmid's verifier signs a HAIP request (`x509_hash`, `direct_post.jwt`); the peer resolves it
//!   as a wallet (JAR signature under the verifier root, the `x509_hash` binding), and reads the
//!   kmid wallet's encrypted response as a verifier with kmid's transaction key;
//! - the peer's verifier signs a request with a kmid-made access certificate; the kmid wallet
//!   verifies and answers it encrypted; the peer decrypts and validates the answer, and kmid
//!   verifies the VP Token it carried.
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
    let out = Command::new("node")
        .arg(node_dir.join("oid4vp_peer.mjs"))
        .args([verb, dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "oid4vp_peer.mjs {verb}: {}",
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
