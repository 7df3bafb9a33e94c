//! `kmid`: Korea's mobile ID cards as mdoc and SD-JWT VC, from the command line.
//!
//! `kmid demo` issues one card of each type in both formats, presents an age check and an
//! identity request, verifies them, suspends one card's phone and shows the verification fail.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Parser, Subcommand};
use kmid::conformance;
use kmid::crypto::{Curve, PrivateKey, SystemRandom};
use kmid::mdoc::model::{Handover, SessionTranscript};
use kmid::schema::catalogue::{self, ClaimId};
use kmid::schema::status::{StatusResolver, TokenStatus};
use kmid::schema::{Card, IdentityCard};
use kmid::status::StatusListResolver;
use kmid::status::registry::{Actor, Durability, RegistryConfig, SqliteStore, StatusRegistry};
use kmid::status::token::{TokenKeys, TokenPolicy};
use kmid::{
    AuthorityKeys, CardKeySecret, Format, Formats, Issuer, IssuingAuthority, KmidError, Template,
    VerifiedPresentation, Verifier, Wallet,
};
use kmid_testkit::samples;
use serde_json::{Value, json};
use time::OffsetDateTime;

#[derive(Parser)]
#[command(
    name = "kmid",
    version,
    about = "Korea's mobile ID cards as ISO/IEC 18013-5 mdoc and SD-JWT VC"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Issue, present and verify each card type in both formats; suspend one and watch it fail.
    Demo {
        /// Where the issuers' status registries (SQLite) are kept; the demo's own registry
        /// files there are replaced, nothing else is touched.
        #[arg(long, default_value_os_t = std::env::temp_dir().join("kmid-demo"))]
        data_dir: PathBuf,
        /// Print the results as JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Generate a test PKI for the issuers, or a holder key.
    Keys {
        #[command(subcommand)]
        command: commands::KeysCommand,
    },
    /// Sample cards as JSON, for `kmid issue`.
    Card {
        #[command(subcommand)]
        command: CardCommand,
    },
    /// Issue a card (JSON) to a holder key as mdoc and/or SD-JWT VC files.
    Issue(commands::IssueArgs),
    /// Write a verifier's request from a template: OpenID4VP with DCQL, or a DeviceRequest.
    Request(commands::RequestArgs),
    /// Answer a request from the credentials a holder holds.
    Present(commands::PresentArgs),
    /// Verify a presentation against its request: exit 0 valid, 1 invalid, 2 unusable input.
    Verify(commands::VerifyArgs),
    /// Lifecycle: phone or card lost/found, re-issue, revoke, and publish the status lists.
    Status {
        #[command(subcommand)]
        command: commands::StatusCommand,
    },
    /// Run conformance vectors: a manifest.json, or a directory holding one (or holding
    /// conformance/manifest.json, like test-vectors/). Exit 0 when every case passes.
    Conformance {
        /// The manifest or its directory.
        #[arg(default_value = "test-vectors")]
        path: PathBuf,
        /// Print a JSON report instead of one line per case.
        #[arg(long)]
        json: bool,
    },
    /// OpenID4VCI issuer: counter offers, and its endpoints one request at a time.
    Issuer {
        #[command(subcommand)]
        command: vci::IssuerCommand,
    },
    /// OpenID4VCI wallet: receive the credentials of an offer.
    Wallet {
        #[command(subcommand)]
        command: vci::WalletCommand,
    },
    /// Run the issuer, status and verifier services over HTTPS (spec/services.md); without
    /// --config, the embedded demonstration on https://localhost:8443.
    Serve(serve::ServeArgs),
    /// Decode an mdoc (CBOR, binary or hex) or SD-JWT / JWS artifact to JSON; verifies nothing.
    Inspect {
        /// The file, or `-` for standard input.
        file: PathBuf,
    },
}

/// jemalloc rather than the system's allocator: `kmid serve` under load spent a fifth of its
/// CPU in glibc's malloc (the load generator, `spec/services.md`).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[macro_use]
mod output;
mod commands;
mod http;
mod inspect;
mod serve;
mod vci;

#[derive(Subcommand)]
enum CardCommand {
    /// Print a sample card: resident, resident-minor, foreigner, permanent-resident,
    /// overseas-national.
    Sample {
        /// Which sample.
        name: String,
    },
}

fn main() -> ExitCode {
    let code = run(Cli::parse().command);
    match output::failed() {
        // The command's output is incomplete: whatever it decided, its reader did not get it.
        Some(kind) => {
            errln!("kmid: cannot write to standard output: {kind}");
            ExitCode::from(2)
        }
        None => code,
    }
}

fn run(command: Command) -> ExitCode {
    match command {
        Command::Inspect { file } => {
            let mut input = Vec::new();
            let limit = u64::try_from(inspect::MAX_INPUT)
                .unwrap_or(u64::MAX)
                .saturating_add(1);
            let read = if file.as_os_str() == "-" {
                std::io::Read::read_to_end(
                    &mut std::io::Read::take(std::io::stdin(), limit),
                    &mut input,
                )
            } else {
                std::fs::File::open(&file).and_then(|f| {
                    std::io::Read::read_to_end(&mut std::io::Read::take(f, limit), &mut input)
                })
            };
            if let Err(e) = read {
                errln!("kmid inspect: {}: {e}", file.display());
                return ExitCode::from(2);
            }
            match inspect::inspect(&input) {
                Ok(value) => {
                    outln!(
                        "{}",
                        serde_json::to_string_pretty(&value).unwrap_or_default()
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    errln!("kmid inspect: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Command::Conformance { path, json } => run_conformance(&path, json),
        Command::Keys { command } => report("keys", commands::keys(&command)),
        Command::Card {
            command: CardCommand::Sample { name },
        } => report("card", commands::sample_card(&name)),
        Command::Issue(args) => report("issue", commands::issue(&args)),
        Command::Request(args) => report("request", commands::request(&args)),
        Command::Present(args) => report("present", commands::present(&args)),
        Command::Status { command } => report("status", commands::status(&command)),
        Command::Issuer { command } => report("issuer", vci::issuer_command(&command)),
        Command::Serve(args) => match serve::serve(&args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                errln!("kmid serve: {e}");
                ExitCode::from(2)
            }
        },
        Command::Wallet { command } => report("wallet", vci::wallet_command(&command)),
        Command::Verify(args) => match commands::verify(&args) {
            Ok((valid, result)) => {
                if args.json {
                    outln!(
                        "{}",
                        serde_json::to_string_pretty(&result).unwrap_or_default()
                    );
                } else {
                    outln!("{}", commands::verify_summary(&result));
                }
                if valid {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(e) => {
                errln!("kmid verify: {e}");
                ExitCode::from(2)
            }
        },
        Command::Demo { data_dir, json } => match demo(&data_dir, json) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => {
                errln!("kmid demo: {e}");
                ExitCode::from(2)
            }
        },
    }
}

/// One verification the demo made.
struct Row {
    card: &'static str,
    format: Format,
    template: &'static str,
    step: &'static str,
    outcome: Result<VerifiedPresentation, String>,
    as_expected: bool,
}

impl Row {
    fn as_expected(&self) -> bool {
        self.as_expected
    }

    /// A row that should verify.
    fn valid(
        card: &'static str,
        format: Format,
        template: &'static str,
        step: &'static str,
        outcome: Result<VerifiedPresentation, KmidError>,
    ) -> Self {
        let as_expected = outcome
            .as_ref()
            .is_ok_and(|p| p.status == Some(TokenStatus::Valid));
        Self::with(card, format, template, step, outcome, as_expected)
    }

    /// A row that should be refused because its Document Signer is revoked.
    fn revoked(
        card: &'static str,
        format: Format,
        template: &'static str,
        step: &'static str,
        outcome: Result<VerifiedPresentation, KmidError>,
    ) -> Self {
        let as_expected = outcome
            .as_ref()
            .is_err_and(|e| e.code().ends_with("Chain.Certificate.Revoked"));
        Self::with(card, format, template, step, outcome, as_expected)
    }

    fn with(
        card: &'static str,
        format: Format,
        template: &'static str,
        step: &'static str,
        outcome: Result<VerifiedPresentation, KmidError>,
        as_expected: bool,
    ) -> Self {
        Self {
            card,
            format,
            template,
            step,
            outcome: outcome.map_err(|e| e.to_string()),
            as_expected,
        }
    }

    /// A row that should be refused as SUSPENDED, and for no other reason.
    fn suspended(
        card: &'static str,
        format: Format,
        template: &'static str,
        step: &'static str,
        outcome: Result<VerifiedPresentation, KmidError>,
    ) -> Self {
        Self::refused(
            card,
            format,
            template,
            step,
            outcome,
            TokenStatus::Suspended,
        )
    }

    /// A row that should be refused with `status`, and for no other reason.
    fn refused(
        card: &'static str,
        format: Format,
        template: &'static str,
        step: &'static str,
        outcome: Result<VerifiedPresentation, KmidError>,
        status: TokenStatus,
    ) -> Self {
        let as_expected = matches!(
            &outcome,
            Err(KmidError::Mdoc(kmid::mdoc::MdocError::Status(s))) |
            Err(KmidError::SdJwt(kmid::sdjwt::SdJwtError::Status(s))) if *s == status
        );
        Self::with(card, format, template, step, outcome, as_expected)
    }

    fn json(&self) -> Value {
        json!({
            "card": self.card,
            "format": format_name(self.format),
            "request": self.template,
            "step": self.step,
            "valid": self.outcome.is_ok(),
            "as_expected": self.as_expected(),
            "claims": self.outcome.as_ref().ok().map(|p| p.claims.iter().map(|(id, v)| (catalogue::spec(*id).mdoc.identifier.to_owned(), v.clone())).collect::<serde_json::Map<_, _>>()),
            "issuer": self.outcome.as_ref().ok().and_then(|p| p.issuer.clone()),
            "error": self.outcome.as_ref().err(),
        })
    }
}

const fn format_name(f: Format) -> &'static str {
    match f {
        Format::Mdoc => "mdoc",
        Format::SdJwtVc => "SD-JWT VC",
    }
}

fn short(id: ClaimId, v: &Value) -> String {
    let name = catalogue::spec(id).mdoc.identifier;
    match v {
        Value::String(s) if id == ClaimId::Portrait => {
            format!("{name}=<JPEG, {} base64 chars>", s.len())
        }
        Value::String(s) => format!("{name}={s}"),
        other => format!("{name}={other}"),
    }
}

type Served = Arc<Mutex<HashMap<String, (String, Vec<u8>)>>>;

#[allow(clippy::too_many_lines)]
/// One card's zero-knowledge age check in the demo: the card, what the verifier made of the
/// proof (and the proof's size), the time to prove and verify.
type ZkRow = (
    &'static str,
    Result<(Vec<kmid::zk::VerifiedZkDocument>, usize), String>,
    std::time::Duration,
);

fn demo(data_dir: &Path, as_json: bool) -> Result<bool, KmidError> {
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| OffsetDateTime::now_utc());
    let random = Arc::new(SystemRandom);
    std::fs::create_dir_all(data_dir).map_err(|e| {
        KmidError::Status(kmid::status::RegistryError::Storage(e.to_string()).into())
    })?;

    // The three issuers, each with fresh keys and its own registry file.
    let mut issuers = Vec::new();
    let mut iaca_keys = Vec::new();
    for authority in IssuingAuthority::ALL {
        let (keys, iaca_key, _) = AuthorityKeys::generate_with_keys(authority, now, &*random)?;
        iaca_keys.push(iaca_key);
        let path = data_dir.join(format!("{}-registry.sqlite3", authority.slug()));
        // A fresh registry each run: remove only this file and its WAL companions.
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
        let store =
            SqliteStore::open(&path, Durability::Full).map_err(|e| KmidError::Status(e.into()))?;
        let registry = StatusRegistry::new(
            store,
            RegistryConfig::new(format!(
                "https://status.kmid.invalid/{}/lists",
                authority.slug()
            )),
            random.clone(),
        );
        issuers.push(Issuer::new(
            keys,
            registry,
            CardKeySecret::generate(&*random)?,
            random.clone(),
        ));
    }
    let trust = kmid::trust_store(issuers.iter().map(Issuer::keys))?;

    // The status provider: what each issuer published, served by content negotiation.
    let served: Served = Arc::default();
    let publish = |issuer: &Issuer<SqliteStore>| -> Result<(), KmidError> {
        for list in issuer.publish(now, 300)? {
            served
                .lock()
                .map_err(|_| KmidError::NotHeld("status provider"))?
                .insert(list.uri, (list.jwt, list.cwt));
        }
        Ok(())
    };
    let provider = Arc::clone(&served);
    let fetch = move |uri: &str, accept: &str| {
        let served = provider.lock().ok()?;
        let (jwt, cwt) = served.get(uri)?;
        // An mdoc verifier takes either form; this provider answers it with the CWT.
        if accept.contains("statuslist+cwt") {
            Some(cwt.clone())
        } else {
            Some(jwt.clone().into_bytes())
        }
    };
    let resolver = Arc::new(StatusListResolver::new(
        fetch,
        TokenKeys::X5c(trust.clone()),
        TokenPolicy::default(),
    ));
    let shared: Arc<dyn StatusResolver> = resolver.clone();

    // Each authority's CRL, signed by its IACA and served at its Document Signer's CRL
    // distribution point; the verifier checks them (hard-fail), the wallets do not.
    let crls: Arc<Mutex<HashMap<String, Vec<u8>>>> = Arc::default();
    let publish_crl = |index: usize, revoked: &[&kmid::crypto::x509::Certificate]| {
        let (Some(issuer), Some(iaca_key)) = (issuers.get(index), iaca_keys.get(index)) else {
            return Err(KmidError::NotHeld("an authority's IACA key"));
        };
        let keys = issuer.keys();
        let crl = kmid::crypto::x509::issue_crl(
            &keys.iaca,
            iaca_key,
            now,
            now + time::Duration::days(7),
            revoked,
            1,
        )?;
        let uri = keys
            .document_signer
            .crl_uri()
            .ok_or(KmidError::NotHeld("a CRL distribution point"))?
            .to_owned();
        crls.lock()
            .map_err(|_| KmidError::NotHeld("CRL provider"))?
            .insert(uri, crl.der().to_vec());
        Ok(())
    };
    for index in 0..issuers.len() {
        publish_crl(index, &[])?;
    }
    let crl_provider = Arc::clone(&crls);
    let verifier_trust = trust.clone().with_revocation(
        Arc::new(move |uri: &str| crl_provider.lock().ok()?.get(uri).cloned()),
        kmid::crypto::x509::RevocationPolicy::HardFail,
    );
    let verifier = Verifier::new(verifier_trust.clone(), shared);

    // One holder per card type, each with a phone of its own.
    let cards = [
        Card::from(samples::resident()),
        Card::from(samples::foreigner()),
        Card::from(samples::overseas_national()),
    ];
    let mut wallets = Vec::new();
    for (card, issuer) in cards.iter().zip(&issuers) {
        let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256)?, trust.clone());
        let issued = issuer.issue(card, wallet.device_key(), Formats::Both, now)?;
        wallet.store_issued(issued, now)?;
        wallets.push(wallet);
    }
    for issuer in &issuers {
        publish(issuer)?;
    }

    let present = |card: &Card,
                   wallet: &Wallet,
                   template: &Template,
                   format: Format|
     -> Result<VerifiedPresentation, KmidError> {
        match format {
            Format::Mdoc => {
                let request = template.mdoc_request(card.card_type());
                let transcript = SessionTranscript::new(None, None, &Handover::Qr)?;
                let response = wallet.respond_mdoc(&request, &transcript, now)?;
                let mut docs =
                    verifier.verify_mdoc(&request, &response.to_bytes(), &transcript, now)?;
                docs.pop().ok_or(KmidError::NotHeld("mdoc"))
            }
            Format::SdJwtVc => {
                let request = template.sd_jwt_request(
                    card.card_type(),
                    "demo-nonce-7f3a",
                    "https://verifier.kmid.invalid",
                );
                let presentation = wallet.present_sd_jwt(&request, now)?;
                verifier.verify_sd_jwt(&request, &presentation, now)
            }
        }
    };

    let mut rows = Vec::new();
    for (card, wallet) in cards.iter().zip(&wallets) {
        for template in [Template::AgeCheck, Template::Identity] {
            for format in [Format::Mdoc, Format::SdJwtVc] {
                rows.push(Row::valid(
                    card.card_type().name_en(),
                    format,
                    template.name(),
                    "issued",
                    present(card, wallet, &template, format),
                ));
            }
        }
    }

    // The zero-knowledge age check: each holder proves age_over_19 over its mdoc (Longfellow,
    // the v7 one-attribute circuit) without sending the credential, its signature or its device
    // key; the verifier checks the proof and the Document Signer's chain.
    let zk_circuits = kmid::zk::ZkCircuits::age_check();
    let mut zk_rows = Vec::new();
    for (card, wallet) in cards.iter().zip(&wallets) {
        let request = Template::AgeCheckZk.mdoc_request(card.card_type());
        let transcript = SessionTranscript::new(None, None, &Handover::Qr)?;
        let started = std::time::Instant::now();
        let outcome = wallet
            .respond_mdoc_zk(&request, &transcript, &zk_circuits, &*random, now)
            .and_then(|response| {
                let size = response.zk_documents.first().map_or(0, |d| d.proof.len());
                verifier
                    .verify_mdoc_zk(
                        &request,
                        &response.to_bytes(),
                        transcript.bytes(),
                        &zk_circuits,
                        &kmid::zk::ZkPolicy::default(),
                        now,
                    )
                    .map(|docs| (docs, size))
            })
            .map_err(|e| e.to_string());
        zk_rows.push((card.card_type().name_en(), outcome, started.elapsed()));
    }
    let zk_as_expected = zk_rows.iter().all(|(_, o, _)| {
        o.as_ref().is_ok_and(|(docs, _)| {
            docs.iter()
                .all(|d| d.claims == [("age_over_19".to_owned(), vec![0xf5])])
        })
    });

    // The foreigner renews on the same phone without a visit (grant + device-key proof), then
    // is issued again at the counter on that phone (an address change): each time the
    // credentials before stop working and the new ones work.
    let [_, foreigner, _] = &cards;
    let (Some(moj), Some(foreigner_wallet)) = (issuers.get(1), wallets.get_mut(1)) else {
        return Err(KmidError::NotHeld("the foreigner's wallet"));
    };
    let transcript = SessionTranscript::new(None, None, &Handover::Qr)?;
    let age_request = Template::AgeCheck.mdoc_request(foreigner.card_type());
    let check_old = |response: &[u8]| -> Result<VerifiedPresentation, KmidError> {
        let mut docs = verifier.verify_mdoc(&age_request, response, &transcript, now)?;
        docs.pop().ok_or(KmidError::NotHeld("mdoc"))
    };
    let lifecycle_name = foreigner.card_type().name_en();
    for step in ["renewed", "re-issued"] {
        let before = foreigner_wallet
            .respond_mdoc(&age_request, &transcript, now)?
            .to_bytes();
        let issued = if step == "renewed" {
            let (grant, proof) = foreigner_wallet
                .renewal_request(foreigner.card_type(), &moj.credential_issuer(), now)?
                .ok_or(KmidError::NotHeld("a renewal grant"))?;
            moj.renew(&grant, &proof, foreigner, Formats::Both, now)?
        } else {
            moj.issue(foreigner, foreigner_wallet.device_key(), Formats::Both, now)?
        };
        foreigner_wallet.store_issued(issued, now)?;
        publish(moj)?;
        resolver.clear_cache();
        rows.push(Row::refused(
            lifecycle_name,
            Format::Mdoc,
            Template::AgeCheck.name(),
            if step == "renewed" {
                "before renewal"
            } else {
                "before re-issue"
            },
            check_old(&before),
            TokenStatus::Invalid,
        ));
        for format in [Format::Mdoc, Format::SdJwtVc] {
            rows.push(Row::valid(
                lifecycle_name,
                format,
                Template::AgeCheck.name(),
                step,
                present(foreigner, foreigner_wallet, &Template::AgeCheck, format),
            ));
        }
    }

    // The resident reports the phone lost: the MOIS registry suspends what is on it, the
    // list is republished, and both credentials now fail.
    let [resident, _, _] = &cards;
    let (Some(resident_wallet), Some(mois)) = (wallets.first(), issuers.first()) else {
        return Err(KmidError::NotHeld("the resident's wallet"));
    };
    let phone = resident_wallet.device_key().thumbprint_sha256()?;
    let suspended = mois.registry().report_phone_lost(
        &phone,
        &Actor {
            who: "demo: the holder, by phone",
            at: now,
            reason: "phone lost",
        },
    )?;
    publish(mois)?;
    resolver.clear_cache();
    for format in [Format::Mdoc, Format::SdJwtVc] {
        rows.push(Row::suspended(
            resident.card_type().name_en(),
            format,
            Template::Identity.name(),
            "phone lost",
            present(resident, resident_wallet, &Template::Identity, format),
        ));
    }
    // The overseas Koreans agency's Document Signer is revoked (a key compromise, say): its
    // CRL lists it, and everything it signed is refused.
    let [_, _, overseas] = &cards;
    let (Some(oka), Some(overseas_wallet)) = (issuers.get(2), wallets.get(2)) else {
        return Err(KmidError::NotHeld("the overseas national's wallet"));
    };
    publish_crl(2, &[&oka.keys().document_signer])?;
    // The verifier cached the CRL of the first presentations (until its nextUpdate, a week):
    // told of the new one, it drops the old.
    verifier_trust.forget_crls();
    for format in [Format::Mdoc, Format::SdJwtVc] {
        rows.push(Row::revoked(
            overseas.card_type().name_en(),
            format,
            Template::AgeCheck.name(),
            "DS revoked",
            present(overseas, overseas_wallet, &Template::AgeCheck, format),
        ));
    }
    let all_as_expected = rows.iter().all(Row::as_expected) && zk_as_expected;
    let zk_line = |(card, outcome, took): &ZkRow| match outcome {
        Ok((docs, size)) => format!(
            "{card:<42} VALID  age_over_19 = true, nothing else (proof {} KB over circuit v{}, proven and verified in {} ms)",
            size / 1000,
            docs.first().map_or(0, |d| d.spec.version.number()),
            took.as_millis()
        ),
        Err(e) => format!("{card:<42} REFUSED: {e}   <-- NOT AS EXPECTED"),
    };

    if as_json {
        let out = json!({
            "data_dir": data_dir.display().to_string(),
            "at": now.unix_timestamp(),
            "rows": rows.iter().map(Row::json).collect::<Vec<_>>(),
            "suspended_credentials": suspended,
            "zero_knowledge_age_check": zk_rows.iter().map(|r| json!({
                "card": r.0,
                "valid": r.1.is_ok(),
                "result": zk_line(r),
            })).collect::<Vec<_>>(),
            "all_as_expected": all_as_expected,
        });
        outln!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(all_as_expected);
    }

    outln!(
        "kmid demo: Korea's three mobile ID cards, issued, presented and verified as mdoc and SD-JWT VC"
    );
    outln!("status registries (SQLite): {}", data_dir.display());
    outln!("");
    for issuer in &issuers {
        let k = issuer.keys();
        outln!(
            "issuer  {:<4}  {:<36}  IACA {:?}, Document Signer {:?}",
            k.authority.slug().to_uppercase(),
            k.authority.name(),
            k.iaca.common_name().unwrap_or_default(),
            k.document_signer.common_name().unwrap_or_default()
        );
    }
    outln!("");
    outln!(
        "{:<42} {:<10} {:<14} {:<15} result",
        "card",
        "format",
        "request",
        "step"
    );
    for row in &rows {
        let result = match &row.outcome {
            Ok(p) => format!(
                "VALID ({})  {}",
                p.status
                    .map_or_else(|| "no status".to_owned(), |s| format!("status {s}")),
                p.claims
                    .iter()
                    .map(|(id, v)| short(*id, v))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Err(e) => format!("REFUSED: {e}"),
        };
        let mark = if row.as_expected() {
            ""
        } else {
            "   <-- NOT AS EXPECTED"
        };
        outln!(
            "{:<42} {:<10} {:<14} {:<15} {result}{mark}",
            row.card,
            format_name(row.format),
            row.template,
            row.step
        );
    }
    outln!("");
    outln!(
        "zero-knowledge age check (Longfellow; the credential, its signature and the device key stay on the phone):"
    );
    for row in &zk_rows {
        outln!("{}", zk_line(row));
    }
    outln!("");
    outln!(
        "The foreigner renewed on the same phone (grant + device-key proof, no visit) and was then issued again at the counter on it: each time the credential before was refused with status {} and the new ones verified.",
        TokenStatus::Invalid
    );
    outln!(
        "The resident reported the phone lost: {suspended} credential(s) suspended, the MOIS list republished, and both presentations refused with status {}.",
        TokenStatus::Suspended
    );
    outln!(
        "The OKA's Document Signer was revoked: its IACA's CRL lists it, and the overseas national's credentials it signed are refused in both formats."
    );
    outln!(
        "{}",
        if all_as_expected {
            "Every outcome is as expected."
        } else {
            "Some outcomes are NOT as expected."
        }
    );
    Ok(all_as_expected)
}

/// The manifests at `path`: the file itself, its `manifest.json`, or else the
/// `manifest.json` of each folder in it that is a kmid suite (test-vectors/ holds
/// `conformance/` and `negative/`; the standards' example folders have manifests of their own
/// kind, which the cargo tests check).
fn manifests_at(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    if path.join("manifest.json").is_file() {
        return vec![path.join("manifest.json")];
    }
    // A manifest that cannot be read or parsed is kept, so that it fails the run; only one
    // that parses and is of another kind (no `suite`) is left out.
    let is_suite = |p: &Path| {
        commands::read(p)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .is_none_or(|v| v.get("suite").is_some_and(Value::is_string))
    };
    let mut found: Vec<PathBuf> = std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path().join("manifest.json"))
                .filter(|p| p.is_file() && is_suite(p))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

use output::out;

fn run_conformance(path: &Path, json: bool) -> ExitCode {
    let manifests = manifests_at(path);
    if manifests.is_empty() {
        errln!("kmid conformance: no manifest.json at {}", path.display());
        return ExitCode::from(2);
    }
    let mut suites = Vec::new();
    let mut worst = 0u8;
    for manifest in &manifests {
        let (code, summary) = run_manifest_file(manifest, json);
        worst = worst.max(code);
        suites.extend(summary);
    }
    if json {
        let text = match suites.as_slice() {
            [one] => serde_json::to_string_pretty(one),
            _ => serde_json::to_string_pretty(&json!({
                "cases": suites.iter().filter_map(|s| s["cases"].as_u64()).sum::<u64>(),
                "failed": suites.iter().filter_map(|s| s["failed"].as_u64()).sum::<u64>(),
                "suites": suites,
            })),
        };
        out(&text.unwrap_or_default());
    }
    ExitCode::from(worst)
}

/// Runs one manifest: the exit code (0 pass, 1 a case failed, 2 unusable) and, with `json`,
/// its JSON summary.
fn run_manifest_file(manifest_path: &Path, json: bool) -> (u8, Option<Value>) {
    let base = manifest_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    // Each file bounded at 16 MiB; a larger one is refused, not cut short.
    let read = |p: &Path| commands::read(p).ok();
    let manifest: conformance::Manifest = match read(manifest_path)
        .ok_or_else(|| "cannot read".to_owned())
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string()))
    {
        Ok(m) => m,
        Err(e) => {
            errln!("kmid conformance: {}: {e}", manifest_path.display());
            return (2, None);
        }
    };
    let report = conformance::run_manifest(&manifest, &|name: &str| read(&base.join(name)));
    let failed = report.iter().filter(|r| !r.passed).count();
    let summary = json.then(|| {
        json!({
            "suite": manifest.suite,
            "cases": report.len(),
            "failed": failed,
            "results": report,
        })
    });
    if !json {
        for r in &report {
            out(&format!(
                "{} {}  {}",
                if r.passed { "pass" } else { "FAIL" },
                r.id,
                r.detail
            ));
        }
        out(&format!(
            "kmid conformance: {} cases, {} passed, {failed} failed ({})",
            report.len(),
            report.len() - failed,
            manifest.suite
        ));
    }
    if report.is_empty() {
        errln!(
            "kmid conformance: {}: the manifest has no cases",
            manifest_path.display()
        );
        return (1, summary);
    }
    (u8::from(failed != 0), summary)
}

fn report(command: &str, result: Result<String, commands::Error>) -> ExitCode {
    match result {
        Ok(text) => {
            outln!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            errln!("kmid {command}: {e}");
            ExitCode::from(2)
        }
    }
}
