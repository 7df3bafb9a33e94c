//! OpenID4VCI interop with `@openid4vc/openid4vci` and `@openid4vc/oauth2` 0.4.6 (the
//! OpenWallet Foundation's TypeScript libraries): their wallet client receives both formats of
//! a resident card from kmid's issuer — offer, metadata, the pre-authorized grant with a
//! Transaction Code and DPoP (the issuer requires its nonces), the Nonce Endpoint, key proofs,
//! notification — reaching it through `kmid issuer handle` until `kmid serve`; kmid then
//! presents and verifies what they received, bound to their key. Their wallet also runs the
//! authorization code grant there (PAR with a wallet attestation, PKCE, RFC 9207 `iss`).
//!
//! Needs `KMID_INTEROP_NODE` (the folder `interop/setup-node.sh` prints; the README's test
//! command sets it); without it the test says so and checks nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Run;
use serde_json::{Value, json};

#[test]
fn their_wallet_receives_from_kmids_issuer_and_kmid_verifies_what_it_got() {
    let Some(node_dir) = std::env::var_os("KMID_INTEROP_NODE").map(PathBuf::from) else {
        eprintln!("KMID_INTEROP_NODE is not set: the OpenID4VCI interop test checks nothing");
        return;
    };
    let run = Run::new("vci-peer");
    run.ok(&["keys", "issuers", "--out", "keys"]);
    std::fs::write(
        run.path("rrc.json"),
        run.ok(&["card", "sample", "resident"]),
    )
    .unwrap();
    let out = run.ok(&[
        "issuer",
        "offer",
        "--keys",
        "keys",
        "--card",
        "rrc.json",
        "--out",
        "offer.txt",
    ]);
    let code = out
        .lines()
        .find_map(|l| l.strip_prefix("transaction code: "))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    std::fs::write(run.path("tx_code.txt"), &code).unwrap();
    std::fs::write(
        run.path("bridge.json"),
        json!({
            "program": env!("CARGO_BIN_EXE_kmid"),
            "args": ["issuer", "handle", "--keys", "keys"],
            "cwd": run.dir,
        })
        .to_string(),
    )
    .unwrap();
    let output = Command::new("node")
        .arg(node_dir.join("vci_peer.mjs"))
        .args(["receive", run.dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "vci_peer.mjs receive: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let received: Value = serde_json::from_slice(&output.stdout).unwrap();
    present_and_verify(&run, &received);
}

/// Their wallet's authorization code grant against kmid's issuer: an authorization code offer
/// (`issuer_state`), PAR authenticated by a wallet attestation (kmid's wallet provider attests
/// their instance key; kmid's issuer registered the wallet), PKCE, DPoP, the counter approving
/// the authorization, `iss` checked by their client, then the credentials.
#[test]
fn their_wallet_runs_the_authorization_code_grant_at_kmids_issuer() {
    let Some(node_dir) = std::env::var_os("KMID_INTEROP_NODE").map(PathBuf::from) else {
        eprintln!("KMID_INTEROP_NODE is not set: the OpenID4VCI interop test checks nothing");
        return;
    };
    let run = Run::new("vci-peer-code");
    run.ok(&["keys", "issuers", "--out", "keys"]);
    run.ok(&["keys", "holder", "--out", "instance.pem"]);
    run.ok(&["keys", "wallet-provider", "--out", "wp"]);
    let client_id = "https://peer-wallet.example";
    let redirect_uri = "https://peer-wallet.example/callback";
    run.ok(&[
        "wallet",
        "attest",
        "--provider",
        "wp",
        "--client-id",
        client_id,
        "--instance",
        "instance.pem",
        "--out",
        "attestation.jwt",
    ]);
    run.ok(&[
        "issuer",
        "register-wallet",
        "--keys",
        "keys",
        "--client-id",
        client_id,
        "--redirect-uri",
        redirect_uri,
        "--provider-root",
        "wp/wallet-provider-root.pem",
    ]);
    std::fs::write(run.path("redirect_uri.txt"), redirect_uri).unwrap();
    std::fs::write(
        run.path("rrc.json"),
        run.ok(&["card", "sample", "resident"]),
    )
    .unwrap();
    run.ok(&[
        "issuer",
        "offer",
        "--keys",
        "keys",
        "--card",
        "rrc.json",
        "--grant",
        "authorization-code",
        "--out",
        "offer.txt",
    ]);
    std::fs::write(
        run.path("bridge.json"),
        json!({
            "program": env!("CARGO_BIN_EXE_kmid"),
            "args": ["issuer", "handle", "--keys", "keys", "--holder-card", "rrc.json"],
            "cwd": run.dir,
        })
        .to_string(),
    )
    .unwrap();
    let output = Command::new("node")
        .arg(node_dir.join("vci_peer.mjs"))
        .args(["authorize", run.dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "vci_peer.mjs authorize: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let received: Value = serde_json::from_slice(&output.stdout).unwrap();
    present_and_verify(&run, &received);
}

/// kmid presents what their wallet received, with their holder key, and verifies it.
fn present_and_verify(run: &Run, received: &Value) {
    assert_eq!(received["token_type"], "DPoP", "{received}");
    let sd = received["credentials"]["kr.go.mois.rrc.1.dc+sd-jwt"][0]
        .as_str()
        .unwrap();
    let mdoc = received["credentials"]["kr.go.mois.rrc.1.mso_mdoc"][0]
        .as_str()
        .unwrap();
    let jwk: Value =
        serde_json::from_str(&std::fs::read_to_string(run.path("peer-holder.jwk")).unwrap())
            .unwrap();
    let key: kmid::crypto::Jwk = serde_json::from_value(jwk).unwrap();
    let key = key.to_private_key().unwrap();
    std::fs::write(
        run.path("peer-holder.pem"),
        key.to_pkcs8_pem().unwrap().as_bytes(),
    )
    .unwrap();
    std::fs::create_dir_all(run.path("creds")).unwrap();
    std::fs::write(run.path("creds/rrc.sd-jwt"), format!("{sd}\n")).unwrap();
    std::fs::write(
        run.path("creds/rrc.mdoc.cbor"),
        kmid::crypto::jose::b64url_decode(mdoc).unwrap(),
    )
    .unwrap();
    run.ok(&["status", "publish", "--keys", "keys"]);
    for (format, file) in [
        ("sd-jwt", "creds/rrc.sd-jwt"),
        ("mdoc", "creds/rrc.mdoc.cbor"),
    ] {
        let request = format!("{format}.req.json");
        run.ok(&[
            "request",
            "--template",
            "age-check",
            "--card",
            "rrc",
            "--format",
            format,
            "--out",
            &request,
        ]);
        let answer = format!("{format}.vp.json");
        run.ok(&[
            "present",
            "--keys",
            "keys",
            "--holder",
            "peer-holder.pem",
            "--credential",
            file,
            "--request",
            &request,
            "--out",
            &answer,
        ]);
        let (status, result) = run.verify(&request, &answer);
        assert_eq!(status, 0, "{result}");
        assert_eq!(
            result["presentations"][0]["status"], "VALID",
            "{format}: {result}"
        );
    }
}

/// kmid's wallet receives from an issuer built with `@openid4vc/openid4vci` and
/// `@openid4vc/oauth2` 0.4.6 (`interop/node/vci_issuer_peer.mjs`; the libraries make no
/// credentials, so the peer signs its SD-JWT VC by hand), reached through `kmid wallet receive
/// --issuer-command`: the pre-authorized grant with a Transaction Code, and the authorization
/// code grant with PAR (a kmid wallet provider's attestation), PKCE and the RFC 9207 `iss`; then
/// kmid presents what it received and verifies it with the peer's key as a configured issuer.
#[test]
fn kmids_wallet_receives_from_an_issuer_built_with_their_libraries() {
    let Some(node_dir) = std::env::var_os("KMID_INTEROP_NODE").map(PathBuf::from) else {
        eprintln!("KMID_INTEROP_NODE is not set: the OpenID4VCI interop test checks nothing");
        return;
    };
    const ISSUER: &str = "https://peer-issuer.example";
    const VCT: &str = "urn:example:kmid-interop:peer-id:1";
    let run = Run::new("vci-their-issuer");
    let peer_dir = run.path("peer");
    std::fs::create_dir_all(&peer_dir).unwrap();
    let script = node_dir.join("vci_issuer_peer.mjs");
    let output = Command::new("node")
        .arg(&script)
        .args(["setup", peer_dir.to_str().unwrap(), ISSUER])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "vci_issuer_peer.mjs setup: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let setup: Value = serde_json::from_slice(&output.stdout).unwrap();
    let offer = setup["offer"].as_str().unwrap().to_owned();
    let tx_code = setup["tx_code"].as_str().unwrap().to_owned();
    let bridge = json!([
        "node",
        script.to_str().unwrap(),
        "handle",
        peer_dir.to_str().unwrap()
    ])
    .to_string();
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
    let receive = |code: &str, out: &str| {
        run.kmid(&[
            "wallet",
            "receive",
            &offer,
            "--tx-code",
            code,
            "--holder",
            "holder.pem",
            "--issuer-command",
            &bridge,
            "--out",
            out,
        ])
    };
    let (status, out) = receive("000000", "wrong");
    assert_ne!(status, 0, "{out}");
    assert!(out.contains("invalid_grant"), "{out}");
    let (status, out) = receive(&tx_code, "creds");
    assert_eq!(status, 0, "{out}");
    assert!(out.contains("creds/peer_identity_sd_jwt.sd-jwt"), "{out}");
    // The code was used.
    let (status, out) = receive(&tx_code, "again");
    assert_ne!(status, 0, "{out}");

    // The authorization code grant: their issuer trusts kmid's wallet provider and registers
    // the wallet's redirect URI.
    run.ok(&["keys", "wallet-provider", "--out", "wp"]);
    run.ok(&["keys", "holder", "--out", "instance.pem"]);
    let client_id = "https://wallet.kmid.invalid";
    let redirect_uri = "https://wallet.kmid.invalid/callback";
    run.ok(&[
        "wallet",
        "attest",
        "--provider",
        "wp",
        "--client-id",
        client_id,
        "--instance",
        "instance.pem",
        "--out",
        "attestation.jwt",
    ]);
    std::fs::copy(
        run.path("wp/wallet-provider-root.pem"),
        peer_dir.join("wallet-provider.pem"),
    )
    .unwrap();
    std::fs::write(
        peer_dir.join("wallet-client.json"),
        json!({ "client_id": client_id, "redirect_uri": redirect_uri }).to_string(),
    )
    .unwrap();
    let (status, out) = run.kmid(&[
        "wallet",
        "receive",
        "--issuer",
        ISSUER,
        "--scope",
        "peer_identity",
        "--client-attestation",
        "attestation.jwt",
        "--instance",
        "instance.pem",
        "--redirect-uri",
        redirect_uri,
        "--holder",
        "holder.pem",
        "--issuer-command",
        &bridge,
        "--out",
        "authorized",
    ]);
    assert_eq!(status, 0, "{out}");
    assert!(
        out.contains("authorized/peer_identity_sd_jwt.sd-jwt"),
        "{out}"
    );

    // kmid presents both and verifies them under the peer's key, configured for its `iss`.
    let jwk: Value =
        serde_json::from_str(&std::fs::read_to_string(peer_dir.join("peer-issuer.jwk")).unwrap())
            .unwrap();
    std::fs::write(run.path("peer.jwks"), json!({ "keys": [jwk] }).to_string()).unwrap();
    std::fs::write(
        run.path("trust.toml"),
        format!(
            "[[issuer]]\niss = \"{ISSUER}\"\njwks = \"peer.jwks\"\npurposes = [\"sd-jwt-vc-issuer\"]\n"
        ),
    )
    .unwrap();
    std::fs::write(
        run.path("dcql.json"),
        json!({ "credentials": [{
            "id": "peer",
            "format": "dc+sd-jwt",
            "meta": { "vct_values": [VCT] },
            "claims": [ { "path": ["given_name"] }, { "path": ["birthdate"] } ],
        }] })
        .to_string(),
    )
    .unwrap();
    run.ok(&[
        "request",
        "--dcql",
        "dcql.json",
        "--nonce",
        "n-peer-issuer",
        "--client-id",
        "x509_san_dns:rp.example",
        "--out",
        "req.json",
    ]);
    for credential in [
        "creds/peer_identity_sd_jwt.sd-jwt",
        "authorized/peer_identity_sd_jwt.sd-jwt",
    ] {
        run.ok(&[
            "present",
            "--trust",
            "trust.toml",
            "--holder",
            "holder.pem",
            "--credential",
            credential,
            "--request",
            "req.json",
            "--out",
            "vp.json",
        ]);
        let (code, result, out) = run.verify_json(&[
            "--trust",
            "trust.toml",
            "--request",
            "req.json",
            "--presentation",
            "vp.json",
        ]);
        assert_eq!(code, 0, "{credential}: {out}");
        let seen = &result["presentations"][0];
        assert_eq!(seen["card"], VCT, "{out}");
        assert_eq!(seen["issuer"], ISSUER, "{out}");
        assert_eq!(seen["claims"]["given_name"], "Jiwoo", "{out}");
        assert_eq!(seen["claims"]["birthdate"], "1990-01-01", "{out}");
        assert_eq!(seen["claims"].get("family_name"), None, "not asked: {out}");
    }
}
