//! `kmid issuer` and `kmid wallet`: OpenID4VCI through the CLI.
//!
//! The issuer's endpoints run on files — its keys directory (keys, registry) and a state
//! directory (`issuance.sqlite`, the shared `IssuanceStore`; `nonce.key`, 0600) — so that
//! every command sees the same offers, tokens and nonces. Until `kmid serve` gives the issuer
//! an HTTP address (issue 20), a wallet reaches it in-process through those files
//! (`kmid wallet receive --issuer-keys`), and a bridge (the npm peer) through `kmid issuer
//! handle`, one HTTP request as JSON per call.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use kmid::crypto::jose::b64url_decode;
use kmid::crypto::x509::TrustStore;
use kmid::crypto::{CryptoProvider, PrivateKey, Signer, SystemRandom};
use kmid::issuance::{IssuanceProfile, IssuerMinter, configuration_format, korean_metadata};
use kmid::oid4vc::store::SqliteIssuanceStore;
use kmid::oid4vc::vci::http::{Handled, HttpClient, HttpRequest, HttpResponse};
use kmid::oid4vc::vci::nonce::NonceKey;
use kmid::oid4vc::vci::offer::OfferUrl;
use kmid::oid4vc::vci::server::{IssuanceConfig, IssuanceServer, Lifetimes, NotificationEvent};
use kmid::oid4vc::vci::wallet::{IssuanceClient, ProofKeys};
use kmid::schema::IdentityCard;
use kmid::{Formats, IssuingAuthority};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use time::OffsetDateTime;

use crate::commands::{
    Error, authority_for, card, code_of, hex_decode, hex_encode, issuer, read_text, write,
    write_secret,
};

/// `kmid issuer`.
#[derive(Debug, Subcommand)]
pub(crate) enum IssuerCommand {
    /// A counter offer (OpenID4VCI pre-authorized code) for a card: prints the offer URL (what
    /// the QR code carries) and the Transaction Code to show on another channel.
    Offer(OfferArgs),
    /// Answer one HTTP request to the issuer's endpoints: the request as JSON on standard
    /// input (`{"method", "url", "headers": {…}, "body"}`), the response as JSON on standard
    /// output. For bridges until `kmid serve`.
    Handle(StateArgs),
}

/// Where an issuer's files are.
#[derive(Debug, Args)]
pub(crate) struct StateArgs {
    /// The keys directory (`kmid keys issuers`).
    #[arg(long, default_value = "kmid-keys")]
    keys: PathBuf,
    /// The issuance state directory (default `<keys>/openid4vci`).
    #[arg(long)]
    state: Option<PathBuf>,
}

/// `kmid issuer offer`.
#[derive(Debug, Args)]
pub(crate) struct OfferArgs {
    #[command(flatten)]
    state: StateArgs,
    /// The card (JSON) the official has in front of them.
    #[arg(long)]
    card: PathBuf,
    /// `mdoc`, `sd-jwt` or `both`.
    #[arg(long, default_value = "both")]
    formats: String,
    /// Offer without a Transaction Code (not recommended: anyone who scans the QR code can
    /// redeem it).
    #[arg(long)]
    no_tx_code: bool,
    /// Also write the offer URL to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the offer as a QR code in text (what the counter's screen shows the phone).
    #[arg(long)]
    qr: bool,
}

/// `kmid wallet`.
#[derive(Debug, Subcommand)]
pub(crate) enum WalletCommand {
    /// Receive the credentials of an offer (its URL) with the holder's key, and write them to
    /// `--out`.
    Receive(ReceiveArgs),
}

/// `kmid wallet receive`.
#[derive(Debug, Args)]
pub(crate) struct ReceiveArgs {
    /// The offer URL (`openid-credential-offer://…`).
    offer: String,
    /// The holder's device key (PKCS#8 PEM): the credentials are bound to it.
    #[arg(long)]
    holder: PathBuf,
    /// The Transaction Code shown at the counter.
    #[arg(long)]
    tx_code: Option<String>,
    /// The issuer's keys directory: the issuer is reached through its files (there is no
    /// HTTP issuer before `kmid serve`).
    #[arg(long)]
    issuer_keys: PathBuf,
    /// The issuer's state directory (default `<issuer-keys>/openid4vci`).
    #[arg(long)]
    issuer_state: Option<PathBuf>,
    /// Where to write the credentials.
    #[arg(long)]
    out: PathBuf,
}

fn state_dir(keys: &Path, state: Option<&PathBuf>) -> PathBuf {
    state.cloned().unwrap_or_else(|| keys.join("openid4vci"))
}

/// The issuer's nonce key: created (0600) on first use.
fn nonce_key(state: &Path) -> Result<NonceKey, Error> {
    let path = state.join("nonce.key");
    if !path.exists() {
        std::fs::create_dir_all(state)?;
        let key = {
            let mut bytes = [0u8; 32];
            kmid::crypto::Random::fill_secret(&SystemRandom, &mut bytes)?;
            bytes
        };
        write_secret(&path, format!("{}\n", hex_encode(&key)))?;
    }
    let bytes: [u8; 32] = hex_decode(read_text(&path)?.trim())?
        .try_into()
        .map_err(|_| "nonce.key is 32 bytes of hex")?;
    Ok(NonceKey::from_bytes(bytes))
}

/// The authority whose issuer identifier `url` is under.
fn authority_of(url: &str) -> Option<IssuingAuthority> {
    [
        IssuingAuthority::Mois,
        IssuingAuthority::Moj,
        IssuingAuthority::Oka,
    ]
    .into_iter()
    .find(|a| url.starts_with(&format!("{}/kmid", a.uri())) || url.starts_with(a.uri()))
}

/// Runs `f` with the issuer of `authority` and its endpoints over the state directory.
fn with_server<T>(
    keys: &Path,
    state: &Path,
    authority: IssuingAuthority,
    f: impl FnOnce(
        &IssuanceServer<'_>,
        &IssuerMinter<'_, kmid::status::registry::SqliteStore>,
    ) -> Result<T, Error>,
) -> Result<T, Error> {
    let issuer = issuer(keys, authority)?;
    std::fs::create_dir_all(state)?;
    let store = SqliteIssuanceStore::open(&state.join("issuance.sqlite"))?;
    let config = IssuanceConfig {
        metadata: korean_metadata(
            authority,
            &issuer.credential_issuer(),
            // No batches: without key attestations (no wallet provider is configured) nothing
            // shows that several keys share a phone.
            &IssuanceProfile {
                batch_size: None,
                key_attestations: None,
            },
        ),
        nonce_key: nonce_key(state)?,
        require_dpop_nonce: true,
        // No wallet provider is configured for the CLI: a pre-authorized code is redeemed
        // anonymously, and PAR (which needs a wallet attestation) is refused.
        wallet_providers: TrustStore::new(),
        anonymous_pre_authorized: true,
        // No wallet solution is registered: PAR serves none.
        redirect_uris: std::collections::BTreeMap::new(),
        lifetimes: Lifetimes::default(),
    };
    let server = IssuanceServer::new(
        &config,
        &store,
        CryptoProvider::get_default(),
        &SystemRandom,
    );
    let minter = IssuerMinter::new(&issuer);
    f(&server, &minter)
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// `kmid issuer …`.
pub(crate) fn issuer_command(command: &IssuerCommand) -> Result<String, Error> {
    match command {
        IssuerCommand::Offer(args) => offer(args),
        IssuerCommand::Handle(args) => {
            let mut input = Vec::new();
            std::io::Read::read_to_end(
                &mut std::io::Read::take(std::io::stdin(), 1 << 20),
                &mut input,
            )?;
            let response = handle_json(
                &args.keys,
                &state_dir(&args.keys, args.state.as_ref()),
                &input,
            )?;
            Ok(response.to_string())
        }
    }
}

fn offer(args: &OfferArgs) -> Result<String, Error> {
    let card = card(&args.card)?;
    let authority = authority_for(card.card_type());
    let doc_type = card.card_type().doc_type();
    let configurations: Vec<String> = match args.formats.as_str() {
        "mdoc" => vec![format!("{doc_type}.mso_mdoc")],
        "sd-jwt" => vec![format!("{doc_type}.dc+sd-jwt")],
        "both" => vec![
            format!("{doc_type}.mso_mdoc"),
            format!("{doc_type}.dc+sd-jwt"),
        ],
        other => return Err(format!("--formats {other}: give mdoc, sd-jwt or both").into()),
    };
    let state = state_dir(&args.state.keys, args.state.state.as_ref());
    let issued = with_server(&args.state.keys, &state, authority, |server, _| {
        Ok(server.offer_pre_authorized(
            &serde_json::to_value(&card)?,
            &configurations,
            !args.no_tx_code,
            now(),
        )?)
    })?;
    let url = OfferUrl::ByValue(Box::new(issued.offer)).to_url("openid-credential-offer://");
    if let Some(out) = &args.out {
        write(out, format!("{url}\n"))?;
    }
    let mut shown = url.clone();
    if args.qr {
        let code = qrcode::QrCode::new(url.as_bytes())
            .map_err(|e| format!("the offer does not fit a QR code: {e}"))?;
        shown = format!(
            "{}\n{url}",
            code.render::<qrcode::render::unicode::Dense1x2>()
                .quiet_zone(true)
                .build()
        );
    }
    Ok(match issued.tx_code {
        Some(code) => format!("{shown}\ntransaction code: {code} (show it apart from the QR code)"),
        None => shown,
    })
}

/// One HTTP request as JSON to the issuer whose identifier its URL is under.
fn handle_json(keys: &Path, state: &Path, input: &[u8]) -> Result<Value, Error> {
    let request: Value = serde_json::from_slice(input)?;
    let text = |k: &str| {
        request
            .get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("the request has no {k}"))
    };
    let method = match text("method")?.to_ascii_uppercase().as_str() {
        "GET" => "GET",
        "POST" => "POST",
        other => return Err(format!("method {other} is not served").into()),
    };
    let url = text("url")?.to_owned();
    let headers = match request.get("headers") {
        Some(Value::Object(map)) => map
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
            .collect(),
        _ => Vec::new(),
    };
    let body = request
        .get("body")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .as_bytes()
        .to_vec();
    let request = HttpRequest {
        method,
        url: url.clone(),
        headers,
        body,
    };
    let authority =
        authority_of(&url).ok_or("the URL is under no issuer of this keys directory")?;
    let response = with_server(keys, state, authority, |server, minter| {
        let (response, handled) = server.handle(&request, minter, now());
        if let Handled::Notification(n) = handled {
            minter.apply_notification(&n, now())?;
        }
        Ok(response)
    })?;
    let headers: Map<String, Value> = response
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    Ok(json!({
        "status": response.status,
        "headers": headers,
        "body": String::from_utf8_lossy(&response.body),
    }))
}

/// A wallet's transport to an issuer on this machine's files.
struct LocalIssuer {
    keys: PathBuf,
    state: PathBuf,
}

impl HttpClient for LocalIssuer {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        let authority = authority_of(&request.url).ok_or("no such issuer")?;
        with_server(&self.keys, &self.state, authority, |server, minter| {
            let (response, handled) = server.handle(request, minter, now());
            if let Handled::Notification(n) = handled {
                minter.apply_notification(&n, now())?;
            }
            Ok(response)
        })
        .map_err(|e| e.to_string())
    }
}

/// `kmid wallet …`.
pub(crate) fn wallet_command(command: &WalletCommand) -> Result<String, Error> {
    match command {
        WalletCommand::Receive(args) => receive(args),
    }
}

fn receive(args: &ReceiveArgs) -> Result<String, Error> {
    let transport = LocalIssuer {
        keys: args.issuer_keys.clone(),
        state: state_dir(&args.issuer_keys, args.issuer_state.as_ref()),
    };
    let holder: Arc<dyn Signer> = Arc::new(PrivateKey::from_pem(&read_text(&args.holder)?)?);
    let dpop: Arc<dyn Signer> = Arc::new(PrivateKey::generate_with(
        kmid::crypto::Curve::P256,
        &SystemRandom,
    )?);
    let client = IssuanceClient::new(
        &transport,
        CryptoProvider::get_default(),
        &SystemRandom,
        dpop,
        None,
    );
    let offer = client.offer(&args.offer)?;
    let info = client.issuer(&offer.credential_issuer, None)?;
    let session = client.pre_authorized(&info, &offer, args.tx_code.as_deref(), now())?;
    std::fs::create_dir_all(&args.out)?;
    let mut lines = Vec::new();
    for configuration in &offer.credential_configuration_ids {
        let response = client.credential(
            &info,
            &session,
            configuration,
            &ProofKeys::One(&holder),
            now(),
        )?;
        let (doc_type, formats) = configuration_format(configuration)
            .ok_or("an offered configuration is not a Korean card's")?;
        let card_type = [
            kmid::schema::CardType::Resident,
            kmid::schema::CardType::Foreigner,
            kmid::schema::CardType::OverseasNational,
        ]
        .into_iter()
        .find(|c| c.doc_type() == doc_type)
        .ok_or("an offered configuration is for an unknown card")?;
        for credential in &response.credentials {
            let text = credential
                .get("credential")
                .and_then(Value::as_str)
                .ok_or("a credential in the response is not a string")?;
            let path = match formats {
                Formats::Mdoc => {
                    let path = args.out.join(format!("{}.mdoc.cbor", code_of(card_type)));
                    write(
                        &path,
                        b64url_decode(text).map_err(|_| "the mdoc is not base64url")?,
                    )?;
                    path
                }
                _ => {
                    let path = args.out.join(format!("{}.sd-jwt", code_of(card_type)));
                    write(&path, format!("{text}\n"))?;
                    path
                }
            };
            lines.push(path.display().to_string());
        }
        client.notify(
            &info,
            &session,
            &response.notification_id,
            NotificationEvent::CredentialAccepted,
            now(),
        )?;
    }
    Ok(format!("received {}", lines.join(", ")))
}
