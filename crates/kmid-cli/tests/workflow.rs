//! The file-based commands end to end, as a conformance runner drives them: keys, a sample
//! card, issue, publish, request, present, verify (exit codes and JSON), lifecycle.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::Value;

mod common;

use common::Run;

fn write_card(run: &Run, name: &str, file: &str) {
    let card = run.ok(&["card", "sample", name]);
    std::fs::write(run.path(file), card).unwrap();
}

#[test]
fn issue_present_verify_suspend_and_reinstate_through_the_cli() {
    let run = Run::new("main");
    run.ok(&["keys", "issuers", "--out", "keys"]);
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
    for (sample, file) in [
        ("resident", "rrc.json"),
        ("foreigner", "rc.json"),
        ("overseas-national", "onid.json"),
    ] {
        write_card(&run, sample, file);
        run.ok(&[
            "issue",
            "--keys",
            "keys",
            "--card",
            file,
            "--holder",
            "holder.pem",
            "--out",
            "creds",
        ]);
    }
    run.ok(&["status", "publish", "--keys", "keys"]);
    let creds: Vec<String> = ["rrc", "rc", "onid"]
        .iter()
        .flat_map(|c| [format!("creds/{c}.mdoc.cbor"), format!("creds/{c}.sd-jwt")])
        .collect();
    let present = |request: &str, out: &str| {
        let mut args = vec!["present", "--keys", "keys", "--holder", "holder.pem"];
        for c in &creds {
            args.push("--credential");
            args.push(c);
        }
        args.extend(["--request", request, "--out", out]);
        run.ok(&args);
    };

    for (card, format) in [
        ("rrc", "sd-jwt"),
        ("rrc", "mdoc"),
        ("rc", "sd-jwt"),
        ("rc", "mdoc"),
        ("onid", "sd-jwt"),
        ("onid", "mdoc"),
    ] {
        let req = format!("{card}-{format}.req.json");
        let vp = format!("{card}-{format}.vp.json");
        run.ok(&[
            "request",
            "--template",
            "age-check",
            "--card",
            card,
            "--format",
            format,
            "--out",
            &req,
        ]);
        present(&req, &vp);
        let (code, result) = run.verify(&req, &vp);
        assert_eq!(code, 0, "{card} {format}: {result}");
        let p = &result["presentations"][0];
        assert_eq!(p["status"], "VALID");
        let mut claims: Vec<&String> = p["claims"].as_object().unwrap().keys().collect();
        claims.sort();
        assert_eq!(claims, ["age_over_19", "youth_act_adult"]);
    }

    // Proximity mdoc, full identity with a legal basis: the reader authenticates and carries
    // the registrar's attestation; the wallet trusts both (PIPA Art. 24-2).
    run.ok(&["keys", "readers", "--out", "readers"]);
    run.ok(&["keys", "registrar", "--out", "registrar"]);
    run.ok(&[
        "keys",
        "register",
        "--registrar",
        "registrar",
        "--reader",
        "readers",
        "--legal-basis",
        "Act on Real Name Financial Transactions, Art. 3",
        "--out",
        "registration.jwt",
    ]);
    let mut trust = std::fs::read_to_string(run.path("keys/trust.toml")).unwrap();
    trust.push_str(
        "\n[[issuer]]\niss = \"https://registrar.kmid.invalid\"\njwks = \"../registrar/registrar.jwks.json\"\npurposes = [\"registrar\"]\n",
    );
    std::fs::write(run.path("keys/trust.toml"), trust).unwrap();
    let full_request = |registration: Option<&str>| {
        let mut args = vec![
            "request",
            "--template",
            "full-identity",
            "--legal-basis",
            "Act on Real Name Financial Transactions, Art. 3",
            "--card",
            "rrc",
            "--format",
            "mdoc",
            "--proximity",
            "--reader",
            "readers",
            "--out",
            "full.req.cbor",
        ];
        if let Some(r) = registration {
            args.extend(["--registration", r]);
        }
        run.kmid(&args)
    };
    let (code, out) = full_request(None);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("kmid keys register"), "{out}");
    let (code, out) = full_request(Some("registration.jwt"));
    assert_eq!(code, 0, "{out}");
    run.ok(&[
        "present",
        "--keys",
        "keys",
        "--holder",
        "holder.pem",
        "--credential",
        "creds/rrc.mdoc.cbor",
        "--request",
        "full.req.cbor",
        "--reader-trust",
        "readers/reader-root.pem",
        "--out",
        "full.resp.cbor",
    ]);
    let (code, result) = run.verify("full.req.cbor", "full.resp.cbor");
    assert_eq!(code, 0, "{result}");
    assert_eq!(
        result["presentations"][0]["claims"]["registration_number"], "900315-1234568",
        "{result}"
    );

    // The same over the Digital Credentials API as ISO/IEC 18013-7 Annex C (`org-iso-mdoc`):
    // the request carries the HPKE key, the response comes back sealed to it, both bound to
    // the page's Origin.
    const ORIGIN: &str = "https://bank.kmid.invalid";
    run.ok(&[
        "request",
        "--annex-c",
        "--origin",
        ORIGIN,
        "--template",
        "full-identity",
        "--legal-basis",
        "Act on Real Name Financial Transactions, Art. 3",
        "--card",
        "rrc",
        "--format",
        "mdoc",
        "--reader",
        "readers",
        "--registration",
        "registration.jwt",
        "--transaction",
        "annex-c.tx.json",
        "--out",
        "annex-c.req.json",
    ]);
    let request: Value =
        serde_json::from_str(&std::fs::read_to_string(run.path("annex-c.req.json")).unwrap())
            .unwrap();
    assert_eq!(request["protocol"], "org-iso-mdoc", "{request}");
    let present_annex_c = |origin: &str, signed: bool| {
        let mut args = vec![
            "present",
            "--keys",
            "keys",
            "--holder",
            "holder.pem",
            "--credential",
            "creds/rrc.mdoc.cbor",
            "--request",
            "annex-c.req.json",
            "--origin",
            origin,
            "--out",
            "annex-c.resp.json",
        ];
        // For the signed request, a wallet that insists on readerAuth.
        if signed {
            args.extend(["--reader-trust", "readers/reader-root.pem"]);
        }
        run.kmid(&args)
    };
    let verify_annex_c = || {
        run.verify_json(&[
            "--keys",
            "keys",
            "--transaction",
            "annex-c.tx.json",
            "--presentation",
            "annex-c.resp.json",
        ])
    };
    let (code, out) = present_annex_c(ORIGIN, true);
    assert_eq!(code, 0, "{out}");
    let (code, result, out) = verify_annex_c();
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        result["presentations"][0]["claims"]["registration_number"], "900315-1234568",
        "{out}"
    );
    // Relayed by a phishing page at another Origin: the readerAuth covers the Origin, so the
    // wallet refuses the signed request there.
    let (code, out) = present_annex_c("https://phish.kmid.invalid", true);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("reader authentication"), "{out}");
    // An unsigned request answered there: the verifier cannot open the response, since the
    // Origin is in the HPKE info.
    run.ok(&[
        "request",
        "--annex-c",
        "--origin",
        ORIGIN,
        "--template",
        "age-check",
        "--card",
        "rrc",
        "--format",
        "mdoc",
        "--transaction",
        "annex-c.tx.json",
        "--out",
        "annex-c.req.json",
    ]);
    let (code, out) = present_annex_c("https://phish.kmid.invalid", false);
    assert_eq!(code, 0, "{out}");
    let (code, result, out) = verify_annex_c();
    assert_eq!(code, 1, "{out}");
    assert_eq!(result["error"], "Mdoc.Crypto.DecryptionFailed", "{out}");
    let (code, out) = present_annex_c(ORIGIN, false);
    assert_eq!(code, 0, "{out}");
    let (code, result, out) = verify_annex_c();
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        result["presentations"][0]["claims"]["age_over_19"], true,
        "{out}"
    );

    // One changed byte of the presentation: exit 1 with an error code.
    let mut bytes = std::fs::read(run.path("full.resp.cbor")).unwrap();
    let n = bytes.len() / 2;
    bytes[n] ^= 0x01;
    std::fs::write(run.path("tampered.resp.cbor"), bytes).unwrap();
    let (code, result) = run.verify("full.req.cbor", "tampered.resp.cbor");
    assert_eq!(code, 1, "{result}");
    assert_eq!(result["valid"], false);
    assert!(
        result["error"].as_str().unwrap().starts_with("Mdoc"),
        "{result}"
    );

    // The phone is lost: after publishing, every presentation is refused as SUSPENDED.
    run.ok(&[
        "status",
        "phone-lost",
        "--keys",
        "keys",
        "--holder",
        "holder.pem",
    ]);
    run.ok(&["status", "publish", "--keys", "keys"]);
    let (code, result) = run.verify("rrc-sd-jwt.req.json", "rrc-sd-jwt.vp.json");
    assert_eq!(code, 1);
    assert_eq!(result["error"], "SdJwt.Status.Suspended");
    let (code, result) = run.verify("rc-mdoc.req.json", "rc-mdoc.vp.json");
    assert_eq!(code, 1);
    assert_eq!(result["error"], "Mdoc.Status.Suspended");
    // Found again.
    run.ok(&[
        "status",
        "phone-found",
        "--keys",
        "keys",
        "--holder",
        "holder.pem",
    ]);
    run.ok(&["status", "publish", "--keys", "keys"]);
    let (code, _) = run.verify("rrc-sd-jwt.req.json", "rrc-sd-jwt.vp.json");
    assert_eq!(code, 0);

    // The card is lost: only that card's credentials are suspended.
    run.ok(&["status", "card-lost", "--keys", "keys", "--card", "rc.json"]);
    run.ok(&["status", "publish", "--keys", "keys"]);
    assert_eq!(run.verify("rc-sd-jwt.req.json", "rc-sd-jwt.vp.json").0, 1);
    assert_eq!(run.verify("rrc-sd-jwt.req.json", "rrc-sd-jwt.vp.json").0, 0);
}

#[test]
fn unusable_input_exits_2_and_a_nonce_mismatch_exits_1() {
    let run = Run::new("errors");
    run.ok(&["keys", "issuers", "--out", "keys"]);
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
    write_card(&run, "resident", "rrc.json");
    run.ok(&[
        "issue",
        "--keys",
        "keys",
        "--card",
        "rrc.json",
        "--holder",
        "holder.pem",
        "--format",
        "sd-jwt",
        "--out",
        "creds",
    ]);
    run.ok(&["status", "publish", "--keys", "keys"]);
    run.ok(&[
        "request",
        "--template",
        "identity",
        "--card",
        "rrc",
        "--format",
        "sd-jwt",
        "--nonce",
        "n-1",
        "--out",
        "a.json",
    ]);
    run.ok(&[
        "present",
        "--keys",
        "keys",
        "--holder",
        "holder.pem",
        "--credential",
        "creds/rrc.sd-jwt",
        "--request",
        "a.json",
        "--out",
        "vp.json",
    ]);
    run.ok(&[
        "request",
        "--template",
        "identity",
        "--card",
        "rrc",
        "--format",
        "sd-jwt",
        "--nonce",
        "n-2",
        "--out",
        "b.json",
    ]);
    let (code, result) = run.verify("b.json", "vp.json");
    assert_eq!(code, 1);
    assert_eq!(result["error"], "SdJwt.KeyBinding.NonceMismatch");
    // JSON that is not a VP Token is an invalid presentation; a file that is not JSON at all
    // is unusable input.
    std::fs::write(run.path("junk.vp.json"), b"[1, 2]").unwrap();
    let (code, result) = run.verify("a.json", "junk.vp.json");
    assert_eq!(code, 1);
    assert_eq!(result["error"], "VpTokenMismatch");
    std::fs::write(run.path("broken.vp.json"), b"[1, 2").unwrap();
    let (code, _) = run.verify("a.json", "broken.vp.json");
    assert_eq!(code, 2);
    // Missing files and garbage requests are unusable input, not a verdict.
    assert_eq!(
        run.kmid(&[
            "verify",
            "--keys",
            "keys",
            "--request",
            "nope.json",
            "--presentation",
            "vp.json"
        ])
        .0,
        2
    );
    std::fs::write(run.path("garbage.json"), b"{\"dcql_query\": 1}").unwrap();
    assert_eq!(
        run.kmid(&[
            "verify",
            "--keys",
            "keys",
            "--request",
            "garbage.json",
            "--presentation",
            "vp.json"
        ])
        .0,
        2
    );
    // A full-identity request without a legal basis is refused.
    assert_eq!(
        run.kmid(&[
            "request",
            "--template",
            "full-identity",
            "--card",
            "rrc",
            "--format",
            "mdoc",
            "--out",
            "x.json"
        ])
        .0,
        2
    );
}

#[test]
fn a_wallet_that_requires_reader_auth_answers_only_trusted_signed_requests() {
    let run = Run::new("readers");
    run.ok(&["keys", "issuers", "--out", "keys"]);
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
    run.ok(&["keys", "readers", "--out", "bank", "--name", "bank counter"]);
    run.ok(&[
        "keys",
        "readers",
        "--out",
        "stranger",
        "--name",
        "unknown reader",
    ]);
    write_card(&run, "resident", "rrc.json");
    run.ok(&[
        "issue",
        "--keys",
        "keys",
        "--card",
        "rrc.json",
        "--holder",
        "holder.pem",
        "--format",
        "mdoc",
        "--out",
        "creds",
    ]);
    run.ok(&["status", "publish", "--keys", "keys"]);
    for (reader, name) in [
        (Some("bank"), "bank.cbor"),
        (Some("stranger"), "stranger.cbor"),
        (None, "unsigned.cbor"),
    ] {
        let mut args = vec![
            "request",
            "--template",
            "identity",
            "--card",
            "rrc",
            "--format",
            "mdoc",
            "--proximity",
            "--out",
            name,
        ];
        if let Some(r) = reader {
            args.extend(["--reader", r]);
        }
        run.ok(&args);
    }
    let present = |request: &str, out: &str| {
        run.kmid(&[
            "present",
            "--keys",
            "keys",
            "--holder",
            "holder.pem",
            "--credential",
            "creds/rrc.mdoc.cbor",
            "--request",
            request,
            "--reader-trust",
            "bank/reader-root.pem",
            "--out",
            out,
        ])
    };
    assert_eq!(present("bank.cbor", "bank.resp").0, 0);
    assert_eq!(run.verify("bank.cbor", "bank.resp").0, 0);
    let (code, out) = present("stranger.cbor", "stranger.resp");
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("reader"), "{out}");
    let (code, out) = present("unsigned.cbor", "unsigned.resp");
    assert_eq!(code, 2, "{out}");
    assert!(!run.path("stranger.resp").exists() && !run.path("unsigned.resp").exists());
}

#[test]
fn trust_comes_from_a_configuration_file_and_its_absence_names_the_next_step() {
    let run = Run::new("trust");
    run.ok(&["keys", "issuers", "--out", "keys"]);
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
    write_card(&run, "resident", "rrc.json");
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
    run.ok(&[
        "request",
        "--template",
        "age-check",
        "--card",
        "rrc",
        "--format",
        "mdoc",
        "--out",
        "req.json",
    ]);
    // The configuration moves out of the keys directory: --trust names it.
    std::fs::create_dir_all(run.path("relying-party")).unwrap();
    let config = std::fs::read_to_string(run.path("keys/trust.toml")).unwrap();
    assert!(config.contains("kr.go.mois.rrc.1"), "{config}");
    std::fs::write(
        run.path("relying-party/trust.toml"),
        config.replace("file = \"", "file = \"../keys/"),
    )
    .unwrap();
    std::fs::remove_file(run.path("keys/trust.toml")).unwrap();
    let present = |extra: &[&str]| {
        let mut args = vec![
            "present",
            "--keys",
            "keys",
            "--holder",
            "holder.pem",
            "--credential",
            "creds/rrc.mdoc.cbor",
            "--request",
            "req.json",
            "--out",
            "vp.json",
        ];
        args.extend_from_slice(extra);
        run.kmid(&args)
    };
    let (code, out) = present(&[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("kmid keys issuers"), "{out}");
    let (code, out) = present(&["--trust", "relying-party/trust.toml"]);
    assert_eq!(code, 0, "{out}");
    let verify = |trust: &str| {
        run.kmid(&[
            "verify",
            "--keys",
            "keys",
            "--trust",
            trust,
            "--request",
            "req.json",
            "--presentation",
            "vp.json",
            "--json",
        ])
    };
    let (code, out) = verify("relying-party/trust.toml");
    assert_eq!(code, 0, "{out}");
    // A configuration that trusts only the foreigner card's root: the resident card is not
    // vouched for.
    std::fs::write(
        run.path("relying-party/moj-only.toml"),
        "[[anchor]]\nfile = \"../keys/moj-iaca.pem\"\npurposes = [\"mdoc-issuer\", \"status-list-signer\"]\nscopes = [\"kr.go.moj.rc.1\"]\n",
    )
    .unwrap();
    let (code, out) = verify("relying-party/moj-only.toml");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("Mdoc.IssuerAuth.Chain"), "{out}");
}

#[test]
fn keys_are_private_and_errors_name_the_next_step() {
    let run = Run::new("people");
    // Nothing generated yet: issuing says which command makes the keys.
    write_card(&run, "resident", "rrc.json");
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
    let (code, out) = run.kmid(&[
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
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("run `kmid keys issuers --out keys` first"),
        "{out}"
    );
    run.ok(&["keys", "issuers", "--out", "keys"]);
    run.ok(&["keys", "readers", "--out", "readers"]);
    // Private keys and secrets are the owner's alone; certificates are not secret.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &str| std::fs::metadata(run.path(p)).unwrap().permissions().mode() & 0o777;
        for secret in [
            "keys/mois-ds.key.pem",
            "keys/moj-card-key.secret",
            "readers/reader.key.pem",
            "holder.pem",
        ] {
            assert_eq!(mode(secret), 0o600, "{secret}");
        }
        assert_ne!(mode("keys/mois-iaca.pem") & 0o044, 0);
    }
    // Issued, but no status list published: the verifier says to publish.
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
        "keys",
        "--holder",
        "holder.pem",
        "--credential",
        "creds/rrc.sd-jwt",
        "--request",
        "req.json",
        "--out",
        "vp.json",
    ]);
    let (code, out) = run.kmid(&[
        "verify",
        "--keys",
        "keys",
        "--request",
        "req.json",
        "--presentation",
        "vp.json",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("run `kmid status publish --keys keys`"),
        "{out}"
    );
}

#[test]
fn the_status_base_is_the_operators_and_never_a_real_authority_domain_by_default() {
    let run = Run::new("base");
    run.ok(&["keys", "issuers", "--out", "keys"]);
    let settings = std::fs::read_to_string(run.path("keys/issuers.toml")).unwrap();
    assert!(
        settings.contains("https://status.kmid.invalid"),
        "{settings}"
    );
    run.ok(&[
        "keys",
        "issuers",
        "--out",
        "keys2",
        "--status-base",
        "https://status.example.org/kmid/",
    ]);
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
    write_card(&run, "foreigner", "rc.json");
    run.ok(&[
        "issue",
        "--keys",
        "keys2",
        "--card",
        "rc.json",
        "--holder",
        "holder.pem",
        "--out",
        "creds",
    ]);
    let sd_jwt = std::fs::read_to_string(run.path("creds/rc.sd-jwt")).unwrap();
    let payload = sd_jwt.split('.').nth(1).unwrap();
    let payload = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap(),
    )
    .unwrap();
    assert!(
        payload.contains("https://status.example.org/kmid/moj/lists/1"),
        "{payload}"
    );
    let (code, out) = run.kmid(&[
        "keys",
        "issuers",
        "--out",
        "keys3",
        "--status-base",
        "status",
    ]);
    assert_eq!(code, 2, "{out}");
}

#[test]
fn status_read_prints_a_lists_entries_after_checking_its_signer() {
    let run = Run::new("read");
    run.ok(&["keys", "issuers", "--out", "keys"]);
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
    write_card(&run, "foreigner", "rc.json");
    let (code, out) = run.kmid(&[
        "status",
        "read",
        "https://status.kmid.invalid/moj/lists/1",
        "--keys",
        "keys",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("run `kmid status publish --keys keys`"),
        "{out}"
    );
    run.ok(&[
        "issue",
        "--keys",
        "keys",
        "--card",
        "rc.json",
        "--holder",
        "holder.pem",
        "--out",
        "creds",
    ]);
    run.ok(&["status", "card-lost", "--keys", "keys", "--card", "rc.json"]);
    run.ok(&["status", "publish", "--keys", "keys"]);
    let uri = "https://status.kmid.invalid/moj/lists/1";
    let out = run.ok(&["status", "read", uri, "--keys", "keys"]);
    assert!(out.contains("2 entries not VALID"), "{out}");
    assert_eq!(out.matches(": SUSPENDED").count(), 2, "{out}");
    // The token file itself, its URI read from its own subject.
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(run.path("keys/status/index.json")).unwrap())
            .unwrap();
    let file = format!("keys/status/{}", index[uri]["jwt"].as_str().unwrap());
    let again = run.ok(&["status", "read", &file, "--keys", "keys"]);
    assert_eq!(again, out);
    // Against a configuration that does not trust the MOJ as a status list signer: refused.
    std::fs::write(
        run.path("mois-only.toml"),
        "[[anchor]]\nfile = \"keys/mois-iaca.pem\"\npurposes = [\"status-list-signer\"]\nscopes = [\"*\"]\n",
    )
    .unwrap();
    let (code, out) = run.kmid(&[
        "status",
        "read",
        uri,
        "--keys",
        "keys",
        "--trust",
        "mois-only.toml",
    ]);
    assert_eq!(code, 2, "{out}");
}

#[test]
fn a_revoked_document_signer_is_refused_through_the_cli() {
    let run = Run::new("revoke");
    run.ok(&["keys", "issuers", "--out", "keys"]);
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
    write_card(&run, "resident", "rrc.json");
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
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(run.path("keys/mois-iaca.key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    for format in ["mdoc", "sd-jwt"] {
        let req = format!("{format}.req.json");
        let vp = format!("{format}.vp.json");
        run.ok(&[
            "request",
            "--template",
            "age-check",
            "--card",
            "rrc",
            "--format",
            format,
            "--out",
            &req,
        ]);
        run.ok(&[
            "present",
            "--keys",
            "keys",
            "--holder",
            "holder.pem",
            "--credential",
            "creds/rrc.mdoc.cbor",
            "--credential",
            "creds/rrc.sd-jwt",
            "--request",
            &req,
            "--out",
            &vp,
        ]);
        let (code, result) = run.verify(&req, &vp);
        assert_eq!(code, 0, "{format} before: {result}");
    }
    let out = run.ok(&["keys", "revoke-ds", "--keys", "keys", "--card-type", "rrc"]);
    assert!(out.contains("revoked"), "{out}");
    for (format, code_prefix) in [
        ("mdoc", "Mdoc.IssuerAuth.Chain.Certificate.Revoked"),
        ("sd-jwt", "SdJwt.IssuerKey.Chain.Certificate.Revoked"),
    ] {
        let (code, result) =
            run.verify(&format!("{format}.req.json"), &format!("{format}.vp.json"));
        assert_eq!(code, 1, "{format} after: {result}");
        assert_eq!(result["error"], code_prefix);
    }
}

#[test]
fn a_verifier_trusts_the_korean_iacas_through_a_vical() {
    let run = Run::new("vical");
    run.ok(&["keys", "issuers", "--out", "keys"]);
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
    let out = run.ok(&["keys", "vical", "--keys", "keys"]);
    assert!(out.contains("a VICAL of 3 IACAs"), "{out}");
    write_card(&run, "foreigner", "rc.json");
    run.ok(&[
        "issue",
        "--keys",
        "keys",
        "--card",
        "rc.json",
        "--holder",
        "holder.pem",
        "--out",
        "creds",
    ]);
    run.ok(&["status", "publish", "--keys", "keys"]);
    run.ok(&[
        "request",
        "--template",
        "age-check",
        "--card",
        "rc",
        "--format",
        "mdoc",
        "--out",
        "req.json",
    ]);
    run.ok(&[
        "present",
        "--keys",
        "keys",
        "--trust",
        "keys/vical-trust.toml",
        "--holder",
        "holder.pem",
        "--credential",
        "creds/rc.mdoc.cbor",
        "--request",
        "req.json",
        "--out",
        "vp.json",
    ]);
    let (code, out) = run.kmid(&[
        "verify",
        "--keys",
        "keys",
        "--trust",
        "keys/vical-trust.toml",
        "--request",
        "req.json",
        "--presentation",
        "vp.json",
        "--json",
    ]);
    assert_eq!(code, 0, "{out}");
    // A VICAL whose signer is not the configured provider's: nothing is trusted.
    std::fs::copy(
        run.path("keys/vical-root.pem"),
        run.path("keys/saved-root.pem"),
    )
    .unwrap();
    std::fs::copy(
        run.path("keys/mois-iaca.pem"),
        run.path("keys/vical-root.pem"),
    )
    .unwrap();
    let (code, out) = run.kmid(&[
        "verify",
        "--keys",
        "keys",
        "--trust",
        "keys/vical-trust.toml",
        "--request",
        "req.json",
        "--presentation",
        "vp.json",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("vical"), "{out}");
}

/// A conformance runner points the CLI at a type kmid did not invent: a foreign mDL under a
/// root its trust file scopes to the mDL docType, requested by a DCQL query file (OpenID4VP)
/// and by a DeviceRequest description (proximity), presented and verified with its claims as
/// they are; the same root scoped to a Korean card does not vouch for it.
#[test]
fn a_foreign_mdl_is_requested_presented_and_verified_from_files() {
    use kmid::crypto::PrivateKey;
    use kmid::mdoc::ElementValue;
    use kmid::mdoc::issuer::{MdocIssuer, MsoOptions};
    use kmid_testkit::{Authority, REFERENCE_TIME, Rfc6979Signer, TestPki};
    const MDL: &str = "org.iso.18013.5.1.mDL";
    const NS: &str = "org.iso.18013.5.1";
    let run = Run::new("foreign");
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
    let holder =
        PrivateKey::from_pem(&std::fs::read_to_string(run.path("holder.pem")).unwrap()).unwrap();
    let pki = TestPki::new();
    let ipki = pki.issuer(Authority::Mois);
    let issued = MdocIssuer::new(
        &Rfc6979Signer::for_test_key("mois-ds"),
        vec![ipki.ds.clone()],
        &kmid::crypto::SystemRandom,
    )
    .unwrap()
    .issue_elements(
        MDL,
        vec![(
            NS.to_owned(),
            vec![
                ("family_name".to_owned(), ElementValue::Text("Doe".into())),
                ("age_over_18".to_owned(), ElementValue::Bool(true)),
                (
                    "document_number".to_owned(),
                    ElementValue::Text("D1".into()),
                ),
            ],
        )],
        holder.public_key(),
        &MsoOptions::new(
            REFERENCE_TIME - time::Duration::days(1),
            REFERENCE_TIME + time::Duration::days(30),
        ),
    )
    .unwrap();
    std::fs::write(run.path("mdl.cbor"), issued.to_bytes()).unwrap();
    std::fs::write(run.path("root.pem"), ipki.iaca.to_pem().unwrap()).unwrap();
    let trust = |scope: &str| {
        format!(
            "[[anchor]]\nfile = \"root.pem\"\npurposes = [\"mdoc-issuer\"]\nscopes = [\"{scope}\"]\n"
        )
    };
    std::fs::write(run.path("mdl.toml"), trust(MDL)).unwrap();
    std::fs::write(run.path("korean.toml"), trust("kr.go.mois.rrc.1")).unwrap();
    std::fs::write(
        run.path("dcql.json"),
        serde_json::json!({ "credentials": [{
            "id": "mdl",
            "format": "mso_mdoc",
            "meta": { "doctype_value": MDL },
            "claims": [ { "path": [NS, "family_name"] }, { "path": [NS, "age_over_18"] } ],
        }] })
        .to_string(),
    )
    .unwrap();
    std::fs::write(
        run.path("device-request.json"),
        serde_json::json!({ "docRequests": [{
            "docType": MDL,
            "nameSpaces": { NS: { "age_over_18": false } },
        }] })
        .to_string(),
    )
    .unwrap();
    let at = "2025-07-01T00:00:00Z";
    run.ok(&["request", "--dcql", "dcql.json", "--out", "req.json"]);
    run.ok(&[
        "request",
        "--device-request",
        "device-request.json",
        "--out",
        "req.cbor",
    ]);
    for (request, answer) in [("req.json", "vp.json"), ("req.cbor", "resp.cbor")] {
        run.ok(&[
            "present",
            "--trust",
            "mdl.toml",
            "--holder",
            "holder.pem",
            "--credential",
            "mdl.cbor",
            "--request",
            request,
            "--out",
            answer,
            "--at",
            at,
        ]);
        let verify = |trust: &str| {
            run.verify_json(&[
                "--trust",
                trust,
                "--request",
                request,
                "--presentation",
                answer,
                "--at",
                at,
            ])
        };
        let (code, result, out) = verify("mdl.toml");
        assert_eq!(code, 0, "{out}");
        let seen = &result["presentations"][0];
        assert_eq!(seen["card"], MDL);
        assert_eq!(seen["korean"], false);
        let expected = if request == "req.json" {
            serde_json::json!({ NS: { "family_name": "Doe", "age_over_18": true } })
        } else {
            serde_json::json!({ NS: { "age_over_18": true } })
        };
        assert_eq!(seen["claims"], expected, "{out}");
        let (code, result, out) = verify("korean.toml");
        assert_eq!(code, 1, "{out}");
        assert_eq!(
            result["error"], "Mdoc.IssuerAuth.DocTypeNotAuthorized",
            "{out}"
        );
    }
    // A query that is not DCQL, and a DeviceRequest description with an unknown member, are
    // refused before anything is written.
    std::fs::write(run.path("bad.json"), r#"{"credentials": []}"#).unwrap();
    let (code, out) = run.kmid(&["request", "--dcql", "bad.json", "--out", "x.json"]);
    assert_eq!(code, 2, "{out}");
    std::fs::write(
        run.path("bad-dr.json"),
        r#"{"docRequests": [{"docType": "x", "nameSpaces": {"n": {"e": false}}, "extra": 1}]}"#,
    )
    .unwrap();
    let (code, out) = run.kmid(&[
        "request",
        "--device-request",
        "bad-dr.json",
        "--out",
        "x.cbor",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("unknown field"), "{out}");
    assert!(!run.path("x.json").exists() && !run.path("x.cbor").exists());
    // A trust file asking for JWT VC Issuer Metadata, which the CLI cannot fetch, is refused
    // by name rather than silently ignored.
    std::fs::write(
        run.path("metadata.toml"),
        format!(
            "metadata_issuers = [\"https://issuer.example\"]\n\n{}",
            trust(MDL)
        ),
    )
    .unwrap();
    let (code, result, out) = run.verify_json(&[
        "--trust",
        "metadata.toml",
        "--request",
        "req.json",
        "--presentation",
        "vp.json",
        "--at",
        at,
    ]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(result, Value::Null);
    assert!(out.contains("metadata_issuers"), "{out}");
}

/// Signed OpenID4VP through the CLI (HAIP 1.0): `kmid request --signed` writes the request
/// URL or DC API request and keeps the pending transaction (its response key) in a 0600 file;
/// `kmid present` answers it (encrypted); `kmid verify --transaction` decrypts and verifies.
#[test]
fn signed_requests_and_encrypted_responses_through_the_cli() {
    let run = Run::new("signed");
    run.ok(&["keys", "issuers", "--out", "keys"]);
    run.ok(&["keys", "holder", "--out", "holder.pem"]);
    run.ok(&[
        "keys",
        "readers",
        "--out",
        "bank",
        "--dns",
        "bank.kmid.invalid",
    ]);
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
    let present = |request: &str, out: &str, extra: &[&str]| {
        let mut args = vec![
            "present",
            "--keys",
            "keys",
            "--holder",
            "holder.pem",
            "--credential",
            "creds/rrc.mdoc.cbor",
            "--credential",
            "creds/rrc.sd-jwt",
            "--request",
            request,
            "--verifier-trust",
            "bank/reader-root.pem",
            "--out",
            out,
        ];
        args.extend_from_slice(extra);
        run.kmid(&args)
    };
    for (mode, prefix, format) in [
        ("direct-post-jwt", "x509-hash", "sd-jwt"),
        ("direct-post", "x509-san-dns", "mdoc"),
        ("dc-api-jwt", "x509-hash", "mdoc"),
        ("dc-api", "x509-san-dns", "sd-jwt"),
    ] {
        let dc_api = mode.starts_with("dc-api");
        let mut args = vec![
            "request",
            "--signed",
            "bank",
            "--client-id-prefix",
            prefix,
            "--response-mode",
            mode,
            "--template",
            "age-check",
            "--card",
            "rrc",
            "--format",
            format,
            "--response-uri",
            "https://bank.kmid.invalid/openid4vp/response",
            "--transaction",
            "tx.json",
            "--out",
            "request.txt",
        ];
        if dc_api {
            args.extend(["--origin", "https://bank.kmid.invalid"]);
        }
        run.ok(&args);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(run.path("tx.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o777,
                0o600,
                "the transaction holds the response key"
            );
        }
        let request = std::fs::read_to_string(run.path("request.txt")).unwrap();
        assert_eq!(request.starts_with("openid4vp://"), !dc_api, "{request}");
        let origin: &[&str] = if dc_api {
            &["--origin", "https://bank.kmid.invalid"]
        } else {
            &[]
        };
        let (code, out) = present("request.txt", "answer.txt", origin);
        assert_eq!(code, 0, "{mode}: {out}");
        let answer = std::fs::read_to_string(run.path("answer.txt")).unwrap();
        assert_eq!(
            answer.contains("response"),
            mode.ends_with("jwt"),
            "{mode}: {answer}"
        );
        let (code, result, out) = run.verify_json(&[
            "--keys",
            "keys",
            "--transaction",
            "tx.json",
            "--presentation",
            "answer.txt",
        ]);
        assert_eq!(code, 0, "{mode}: {out}");
        assert_eq!(result["presentations"][0]["card"], "kr.go.mois.rrc.1");
        assert_eq!(result["presentations"][0]["status"], "VALID");
        if dc_api {
            // Replayed from another Origin: the wallet refuses it.
            let (code, out) = present(
                "request.txt",
                "other.txt",
                &["--origin", "https://evil.kmid.invalid"],
            );
            assert_eq!(code, 2, "{out}");
            assert!(out.contains("expected_origins"), "{out}");
        }
    }
    // Consent to a transaction, asked with the presentation: an SD-JWT VC authorizes it (its
    // Key Binding JWT lists the hash, which `verify` prints); an mdoc cannot.
    for (mode, format, authorized) in [
        ("direct-post-jwt", "sd-jwt", true),
        ("dc-api-jwt", "sd-jwt", true),
        ("dc-api-jwt", "mdoc", false),
    ] {
        run.ok(&[
            "request",
            "--signed",
            "bank",
            "--response-mode",
            mode,
            "--origin",
            "https://bank.kmid.invalid",
            "--template",
            "age-check",
            "--card",
            "rrc",
            "--format",
            format,
            "--consent",
            "Open a savings account",
            "--consent-reference",
            "ACC-1",
            "--transaction",
            "tx.json",
            "--out",
            "request.txt",
        ]);
        let (code, out) = present(
            "request.txt",
            "answer.txt",
            &["--origin", "https://bank.kmid.invalid"],
        );
        if !authorized {
            assert_eq!(code, 2, "{mode} {format}: {out}");
            assert!(out.contains("transaction data"), "{out}");
            continue;
        }
        assert_eq!(code, 0, "{mode} {format}: {out}");
        let (code, result, out) = run.verify_json(&[
            "--keys",
            "keys",
            "--transaction",
            "tx.json",
            "--presentation",
            "answer.txt",
        ]);
        assert_eq!(code, 0, "{mode}: {out}");
        assert_eq!(
            result["presentations"][0]["transaction_data_hashes"]
                .as_array()
                .map(Vec::len),
            Some(1),
            "{mode}: {out}"
        );
    }
    // A wallet that does not trust the bank's access root refuses its request.
    run.ok(&[
        "request",
        "--signed",
        "bank",
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
    let (code, out) = run.kmid(&[
        "present",
        "--keys",
        "keys",
        "--holder",
        "holder.pem",
        "--credential",
        "creds/rrc.sd-jwt",
        "--request",
        "request.txt",
        "--out",
        "answer.txt",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("verifier certificate"), "{out}");
}
