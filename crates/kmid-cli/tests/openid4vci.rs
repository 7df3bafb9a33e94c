//! OpenID4VCI through the CLI: `kmid issuer offer` makes a counter offer for a card and prints
//! its Transaction Code; `kmid wallet receive` redeems it with the holder's key (the issuer
//! reached through its files), writes the credentials, and they present and verify; a wrong
//! code and a reused offer are refused; `kmid issuer handle` answers one HTTP request as JSON.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::Run;
use serde_json::{Value, json};

#[test]
fn a_counter_offer_is_received_presented_and_verified() {
    let run = Run::new("vci-cli");
    run.ok(&["keys", "issuers", "--out", "keys"]);
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
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
        "--qr",
    ]);
    // The QR code (text, two modules per character row) is square: its rows are as wide as
    // each other and about twice as many characters wide as rows.
    let qr: Vec<&str> = out
        .lines()
        .take_while(|l| !l.starts_with("openid-credential-offer"))
        .collect();
    assert!(qr.len() > 10, "{out}");
    assert!(qr.iter().any(|l| l.contains('█')), "{out}");
    let width = qr[0].chars().count();
    assert!(qr.iter().all(|l| l.chars().count() == width));
    assert!(width.abs_diff(qr.len() * 2) <= 2, "{width} x {}", qr.len());
    let url = std::fs::read_to_string(run.path("offer.txt"))
        .unwrap()
        .trim()
        .to_owned();
    assert!(
        url.starts_with("openid-credential-offer://?credential_offer="),
        "{url}"
    );
    let code = out
        .lines()
        .find_map(|l| l.strip_prefix("transaction code: "))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(code.len(), 6);
    let receive = |tx: &str| {
        run.kmid(&[
            "wallet",
            "receive",
            &url,
            "--holder",
            "holder.pem",
            "--tx-code",
            tx,
            "--issuer-keys",
            "keys",
            "--out",
            "creds",
        ])
    };
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let (status, out) = receive(wrong);
    assert_ne!(status, 0, "{out}");
    assert!(out.contains("invalid_grant"), "{out}");
    let (status, out) = receive(&code);
    assert_eq!(status, 0, "{out}");
    assert!(
        out.contains("rrc.mdoc.cbor") && out.contains("rrc.sd-jwt"),
        "{out}"
    );
    // The offer was used.
    let (status, out) = receive(&code);
    assert_ne!(status, 0, "{out}");
    // What came presents and verifies, both formats VALID.
    run.ok(&["status", "publish", "--keys", "keys"]);
    for (format, file) in [
        ("mdoc", "creds/rrc.mdoc.cbor"),
        ("sd-jwt", "creds/rrc.sd-jwt"),
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
            "holder.pem",
            "--credential",
            file,
            "--request",
            &request,
            "--out",
            &answer,
        ]);
        let (status, result) = run.verify(&request, &answer);
        assert_eq!(status, 0, "{result}");
        assert_eq!(result["presentations"][0]["status"], "VALID", "{result}");
    }
}

#[test]
fn the_issuer_answers_one_http_request_as_json() {
    let run = Run::new("vci-handle");
    run.ok(&["keys", "issuers", "--out", "keys"]);
    let handle = |request: &Value| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kmid"))
            .args(["issuer", "handle", "--keys", "keys"])
            .current_dir(&run.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(request.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let metadata = handle(&json!({
        "method": "GET",
        "url": "https://www.mois.go.kr/.well-known/openid-credential-issuer/kmid",
    }));
    assert_eq!(metadata["status"], 200, "{metadata}");
    let body: Value = serde_json::from_str(metadata["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["credential_issuer"], "https://www.mois.go.kr/kmid");
    let nonce = handle(&json!({ "method": "POST", "url": "https://www.mois.go.kr/kmid/nonce" }));
    assert_eq!(nonce["status"], 200, "{nonce}");
    assert!(nonce["headers"]["DPoP-Nonce"].is_string(), "{nonce}");
    // A token request without DPoP.
    let token = handle(&json!({
        "method": "POST",
        "url": "https://www.mois.go.kr/kmid/token",
        "headers": { "Content-Type": "application/x-www-form-urlencoded" },
        "body": "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Apre-authorized_code&pre-authorized_code=x",
    }));
    assert_eq!(token["status"], 400, "{token}");
    assert!(
        token["body"]
            .as_str()
            .unwrap()
            .contains("invalid_dpop_proof"),
        "{token}"
    );
}

/// The authorization code grant through the CLI: a wallet provider attests a wallet
/// instance, the issuer registers the wallet (its `client_id`, redirect URI and provider
/// root), and `kmid wallet receive --scope` runs PAR, the authorization (approved by a counter
/// that authenticated the holder), the token with PKCE and DPoP, and the credentials, reaching
/// the issuer through `kmid issuer handle` as a command.
#[test]
fn the_authorization_code_grant_runs_through_a_registered_wallet() {
    let run = Run::new("vci-code");
    run.ok(&["keys", "issuers", "--out", "keys"]);
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
    run.ok(&["keys", "holder", "--out", "instance.pem"]);
    std::fs::write(
        run.path("rrc.json"),
        run.ok(&["card", "sample", "resident"]),
    )
    .unwrap();
    run.ok(&["keys", "wallet-provider", "--out", "wp"]);
    run.ok(&["keys", "wallet-provider", "--out", "other-wp"]);
    let client_id = "https://wallet.kmid.invalid";
    for (provider, out) in [("wp", "attestation.jwt"), ("other-wp", "other.jwt")] {
        run.ok(&[
            "wallet",
            "attest",
            "--provider",
            provider,
            "--client-id",
            client_id,
            "--instance",
            "instance.pem",
            "--out",
            out,
        ]);
    }
    // A redirect URI over plain HTTP is refused at registration.
    let (status, out) = run.kmid(&[
        "issuer",
        "register-wallet",
        "--keys",
        "keys",
        "--client-id",
        client_id,
        "--redirect-uri",
        "http://wallet.kmid.invalid/callback",
        "--provider-root",
        "wp/wallet-provider-root.pem",
    ]);
    assert_ne!(status, 0, "{out}");
    // So is an https URI without a host.
    let (status, out) = run.kmid(&[
        "issuer",
        "register-wallet",
        "--keys",
        "keys",
        "--client-id",
        client_id,
        "--redirect-uri",
        "https:///callback",
        "--provider-root",
        "wp/wallet-provider-root.pem",
    ]);
    assert_ne!(status, 0, "{out}");
    run.ok(&[
        "issuer",
        "register-wallet",
        "--keys",
        "keys",
        "--client-id",
        client_id,
        "--redirect-uri",
        "https://wallet.kmid.invalid/callback",
        "--provider-root",
        "wp/wallet-provider-root.pem",
    ]);
    let kmid = env!("CARGO_BIN_EXE_kmid");
    let bridge = |card: bool| {
        let mut command = vec![kmid, "issuer", "handle", "--keys", "keys"];
        if card {
            command.extend(["--holder-card", "rrc.json"]);
        }
        serde_json::to_string(&command).unwrap()
    };
    let receive = |attestation: &str, redirect: &str, card: bool| {
        run.kmid(&[
            "wallet",
            "receive",
            "--issuer",
            "https://www.mois.go.kr/kmid",
            "--scope",
            "kr.go.mois.rrc.1.mso_mdoc kr.go.mois.rrc.1.dc+sd-jwt",
            "--client-attestation",
            attestation,
            "--instance",
            "instance.pem",
            "--redirect-uri",
            redirect,
            "--holder",
            "holder.pem",
            "--issuer-command",
            &bridge(card),
            "--out",
            "creds",
        ])
    };
    let callback = "https://wallet.kmid.invalid/callback";
    // Another provider's attestation: PAR refuses the client.
    let (status, out) = receive("other.jwt", callback, true);
    assert_ne!(status, 0, "{out}");
    assert!(out.contains("invalid_client"), "{out}");
    // A redirect URI not registered for the wallet.
    let (status, out) = receive("attestation.jwt", "https://evil.example/cb", true);
    assert_ne!(status, 0, "{out}");
    assert!(out.contains("invalid_request"), "{out}");
    // No holder authenticated at the counter: the authorization is not approved.
    let (status, out) = receive("attestation.jwt", callback, false);
    assert_ne!(status, 0, "{out}");
    assert!(out.contains("must authenticate"), "{out}");
    // The counter approves only requests that come from its own offers: a wallet that starts
    // the flow itself is refused even while a holder stands at the counter (anyone could
    // otherwise have that holder's card issued to their own phone).
    let (status, out) = receive("attestation.jwt", callback, true);
    assert_ne!(status, 0, "{out}");
    assert!(out.contains("403"), "{out}");
    // An offer made for another holder's card is not approved for the card at the counter.
    std::fs::write(
        run.path("minor.json"),
        run.ok(&["card", "sample", "resident-minor"]),
    )
    .unwrap();
    let code_offer = |card: &str, formats: &str, out: &str| {
        run.ok(&[
            "issuer",
            "offer",
            "--keys",
            "keys",
            "--card",
            card,
            "--formats",
            formats,
            "--grant",
            "authorization-code",
            "--out",
            out,
        ]);
        std::fs::read_to_string(run.path(out))
            .unwrap()
            .trim()
            .to_owned()
    };
    let from_offer = |offer: &str, out: &str| {
        run.kmid(&[
            "wallet",
            "receive",
            offer,
            "--client-attestation",
            "attestation.jwt",
            "--instance",
            "instance.pem",
            "--redirect-uri",
            callback,
            "--holder",
            "holder.pem",
            "--issuer-command",
            &bridge(true),
            "--out",
            out,
        ])
    };
    let theirs = code_offer("minor.json", "both", "minor-offer.txt");
    let (status, out) = from_offer(&theirs, "minor");
    assert_ne!(status, 0, "{out}");
    assert!(out.contains("400"), "{out}");
    let both = code_offer("rrc.json", "both", "both-offer.txt");
    let (status, out) = from_offer(&both, "creds");
    assert_eq!(status, 0, "{out}");
    assert!(
        out.contains("rrc.mdoc.cbor") && out.contains("rrc.sd-jwt"),
        "{out}"
    );
    // An authorization code offer (issuer_state) for one format: the wallet takes its scopes
    // from the offered configuration; the offer is good for one authorization.
    let offer = code_offer("rrc.json", "sd-jwt", "code-offer.txt");
    let (status, out) = from_offer(&offer, "offered");
    assert_eq!(status, 0, "{out}");
    assert!(
        out.contains("offered/rrc.sd-jwt") && !out.contains("mdoc"),
        "{out}"
    );
    let (status, out) = from_offer(&offer, "again");
    assert_ne!(status, 0, "{out}");
    assert!(out.contains("400 invalid_request"), "{out}");
    run.ok(&["status", "publish", "--keys", "keys"]);
    // The offer's credential is a later issuance: it supersedes the first two.
    for (format, file, expected) in [
        ("mdoc", "creds/rrc.mdoc.cbor", "INVALID"),
        ("sd-jwt", "creds/rrc.sd-jwt", "INVALID"),
        ("sd-jwt", "offered/rrc.sd-jwt", "VALID"),
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
            "holder.pem",
            "--credential",
            file,
            "--request",
            &request,
            "--out",
            &answer,
        ]);
        let (status, result) = run.verify(&request, &answer);
        if expected == "VALID" {
            assert_eq!(status, 0, "{file}: {result}");
            assert_eq!(
                result["presentations"][0]["status"], "VALID",
                "{file}: {result}"
            );
        } else {
            assert_ne!(status, 0, "{file}: {result}");
            assert!(
                result["error"]
                    .as_str()
                    .is_some_and(|e| e.ends_with("Status.Invalid")),
                "{file}: {result}"
            );
        }
    }
}

/// `--issuer-command` runs an untrusted bridge: one that hangs is killed at its timeout, one
/// that answers too much, not JSON, or fails is refused with a message that says which.
#[test]
fn a_bridge_command_that_misbehaves_is_refused_in_time() {
    let run = Run::new("vci-bridge");
    run.ok(&["keys", "issuers", "--out", "keys"]);
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
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
        "--out",
        "offer.txt",
    ]);
    let url = std::fs::read_to_string(run.path("offer.txt"))
        .unwrap()
        .trim()
        .to_owned();
    let receive = |script: &str, timeout: &str| {
        let command = serde_json::to_string(&["sh", "-c", script]).unwrap();
        let started = std::time::Instant::now();
        let (status, out) = run.kmid(&[
            "wallet",
            "receive",
            &url,
            "--holder",
            "holder.pem",
            "--tx-code",
            "123456",
            "--issuer-command",
            &command,
            "--issuer-timeout",
            timeout,
            "--out",
            "creds",
        ]);
        (status, out, started.elapsed())
    };
    // A command that never answers: killed after its second, not after its 30.
    let (status, out, took) = receive("exec sleep 30", "1");
    assert_ne!(status, 0, "{out}");
    assert!(out.contains("did not answer in time"), "{out}");
    assert!(took < std::time::Duration::from_secs(20), "{took:?}");
    // 9 MiB of answer, without reading the request.
    let (status, out, _) = receive("head -c 9437184 /dev/zero", "30");
    assert_ne!(status, 0, "{out}");
    assert!(out.contains("larger than 8 MiB"), "{out}");
    let (status, out, _) = receive("cat >/dev/null; echo hello", "30");
    assert_ne!(status, 0, "{out}");
    assert!(out.contains("the response is not JSON"), "{out}");
    let (status, out, _) = receive("cat >/dev/null; exit 3", "30");
    assert_ne!(status, 0, "{out}");
    assert!(out.contains("failed"), "{out}");
    assert!(!run.path("creds").join("rrc.sd-jwt").exists());
}
