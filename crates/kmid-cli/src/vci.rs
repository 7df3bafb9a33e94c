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
use kmid::IssuingAuthority;
use kmid::crypto::jose::b64url_decode;
use kmid::crypto::x509::{Certificate, TrustStore};
use kmid::crypto::{CryptoProvider, PrivateKey, Signer, SystemRandom};
use kmid::issuance::{IssuanceProfile, IssuerMinter, configuration_format, korean_metadata};
use kmid::oid4vc::store::{IssuanceStore, SqliteIssuanceStore};
use kmid::oid4vc::vci::client_attestation::{WalletAttestationClaims, issue_wallet_attestation};
use kmid::oid4vc::vci::http::{Handled, HttpClient, HttpRequest, HttpResponse};
use kmid::oid4vc::vci::nonce::NonceKey;
use kmid::oid4vc::vci::offer::OfferUrl;
use kmid::oid4vc::vci::server::{IssuanceConfig, IssuanceServer, Lifetimes, NotificationEvent};
use kmid::oid4vc::vci::wallet::{ClientCredentials, IssuanceClient, ProofKeys};
use kmid::schema::IdentityCard;
use kmid::status::registry::RegistryStore;
use kmid::trust::{TrustConfig, TrustPurpose};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use time::OffsetDateTime;

use crate::commands::{
    Error, authority_for, card, code_of, hex_decode, hex_encode, issuer, public_key, read_text,
    write, write_secret,
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
    Handle(HandleArgs),
    /// Register a wallet solution for the authorization code grant: its `client_id`, the
    /// redirect URIs PAR accepts for it, and the root of its provider's wallet attestations
    /// (kept in the state directory: `wallets.json`, `wallet-trust.toml` with the
    /// `wallet-provider` purpose, `wallet-providers/`).
    RegisterWallet(RegisterWalletArgs),
}

/// `kmid issuer handle`.
#[derive(Debug, Args)]
pub(crate) struct HandleArgs {
    #[command(flatten)]
    state: StateArgs,
    /// The card of the holder this counter has authenticated (by their IC card, or an
    /// official checking them): the authorization endpoint then approves pending
    /// authorizations for it (303 to the wallet's redirect URI with the code, `state` and
    /// `iss`). Without it the authorization endpoint refuses: the CLI has no login page.
    #[arg(long)]
    holder_card: Option<PathBuf>,
}

/// `kmid issuer register-wallet`.
#[derive(Debug, Args)]
pub(crate) struct RegisterWalletArgs {
    #[command(flatten)]
    state: StateArgs,
    /// The wallet's `client_id` (the `sub` of its attestations).
    #[arg(long)]
    client_id: String,
    /// A redirect URI of the wallet (repeat for several).
    #[arg(long, required = true)]
    redirect_uri: Vec<String>,
    /// The wallet provider's root certificate (PEM; `kmid keys wallet-provider` writes
    /// `wallet-provider-root.pem`).
    #[arg(long)]
    provider_root: PathBuf,
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
    /// `pre-authorized` (the counter has authenticated the holder: the code is the grant) or
    /// `authorization-code` (an `issuer_state` offer: the wallet runs PAR and the holder
    /// authenticates at the authorization endpoint).
    #[arg(long, default_value = "pre-authorized")]
    grant: String,
}

/// `kmid wallet`.
#[derive(Debug, Subcommand)]
pub(crate) enum WalletCommand {
    /// Receive credentials with the holder's key, and write them to `--out`: those of an offer
    /// (its URL; the pre-authorized grant), or, with `--scope`, by the authorization code
    /// grant (PAR, PKCE, `iss` checked) authenticated by a wallet attestation.
    Receive(ReceiveArgs),
    /// A wallet attestation (OAuth-Client-Attestation JWT) from a wallet provider
    /// (`kmid keys wallet-provider`) for a wallet instance's key.
    Attest(AttestArgs),
    /// Answer an OpenID4VP request URL (a QR code's content) over HTTPS: fetch the signed
    /// request (POSTing a `wallet_nonce`), verify it, present what it asks from the
    /// credentials held, and POST the response to its `response_uri`.
    Present(WalletPresentArgs),
}

/// `kmid wallet present`.
#[derive(Debug, Args)]
pub(crate) struct WalletPresentArgs {
    /// The request URL (`openid4vp://…`, `haip-vp://…`).
    url: String,
    /// The keys directory (its `trust.toml` names the issuers' roots the wallet accepts).
    #[arg(long, default_value = "kmid-keys")]
    keys: PathBuf,
    /// A trust configuration instead of `<keys>/trust.toml`.
    #[arg(long)]
    trust: Option<PathBuf>,
    /// The holder's device key (PKCS#8 PEM).
    #[arg(long)]
    holder: PathBuf,
    /// Credentials the wallet holds, repeatable.
    #[arg(long = "credential", required = true)]
    credentials: Vec<PathBuf>,
    /// The verifier access root (PEM) requests must chain to, besides the trust file's
    /// `verifier-access` anchors.
    #[arg(long)]
    verifier_trust: Option<PathBuf>,
    /// CA certificates (PEM) trusted for HTTPS besides the Mozilla roots.
    #[arg(long)]
    ca_file: Option<PathBuf>,
}

/// `kmid wallet receive`.
#[derive(Debug, Args)]
pub(crate) struct ReceiveArgs {
    /// The offer URL (`openid-credential-offer://…`): its pre-authorized code, or an
    /// authorization code offer (`issuer_state`); without it give `--issuer` and `--scope`.
    #[arg(required_unless_present = "issuer")]
    offer: Option<String>,
    /// The Credential Issuer Identifier, for a flow the wallet starts (no offer).
    #[arg(long, requires = "scope")]
    issuer: Option<String>,
    /// The holder's device key (PKCS#8 PEM): the credentials are bound to it.
    #[arg(long)]
    holder: PathBuf,
    /// The Transaction Code shown at the counter.
    #[arg(long)]
    tx_code: Option<String>,
    /// Run the authorization code grant for these scopes (space-separated; HAIP: one per
    /// credential configuration) instead of the offer's pre-authorized code.
    #[arg(long)]
    scope: Option<String>,
    /// The wallet attestation (`kmid wallet attest`): the client authentication PAR and the
    /// token endpoint need.
    #[arg(long, requires = "instance")]
    client_attestation: Option<PathBuf>,
    /// The wallet instance's key (PKCS#8 PEM), the one the attestation names.
    #[arg(long)]
    instance: Option<PathBuf>,
    /// The redirect URI registered for the wallet.
    #[arg(long, default_value = "https://wallet.kmid.invalid/callback")]
    redirect_uri: String,
    /// The issuer's keys directory: the issuer is reached through its files instead of over
    /// HTTPS.
    #[arg(long, conflicts_with = "issuer_command")]
    issuer_keys: Option<PathBuf>,
    /// CA certificates (PEM) trusted for HTTPS besides the Mozilla roots (`kmid serve`'s
    /// `<data>/tls/ca.pem`).
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// The issuer's state directory (default `<issuer-keys>/openid4vci`).
    #[arg(long)]
    issuer_state: Option<PathBuf>,
    /// Reach the issuer through a command instead (a JSON array: program and arguments), run
    /// once per HTTP request with the request as JSON on standard input
    /// (`{"method", "url", "headers": {…}, "body"}`) and the response as JSON on standard
    /// output (`{"status", "headers", "body"}`): the contract of `kmid issuer handle`.
    #[arg(long)]
    issuer_command: Option<String>,
    /// Seconds the command may take to answer one request (then it is killed).
    #[arg(long, default_value_t = 60)]
    issuer_timeout: u64,
    /// Where to write the credentials.
    #[arg(long)]
    out: PathBuf,
}

/// `kmid wallet attest`.
#[derive(Debug, Args)]
pub(crate) struct AttestArgs {
    /// The wallet provider's directory (`kmid keys wallet-provider`).
    #[arg(long, default_value = "kmid-wallet-provider")]
    provider: PathBuf,
    /// The wallet's `client_id`, shared by all its instances (HAIP 1.0 §4.3.1).
    #[arg(long)]
    client_id: String,
    /// The instance's key (PKCS#8 PEM, or its public key as SPKI PEM).
    #[arg(long)]
    instance: PathBuf,
    /// Hours it is valid.
    #[arg(long, default_value_t = 24)]
    hours: i64,
    /// The file to write (the JWT).
    #[arg(long)]
    out: PathBuf,
}

pub(crate) fn state_dir(keys: &Path, state: Option<&PathBuf>) -> PathBuf {
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

/// The authority of the keys directory whose Credential Issuer Identifier `url` is under,
/// or whose well-known documents it names (at the origin, with the identifier's path after
/// the well-known name: OpenID4VCI §12.2.2, RFC 8414 §3.1).
fn authority_of(keys: &Path, url: &str) -> Option<IssuingAuthority> {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    IssuingAuthority::ALL.into_iter().find(|a| {
        let Ok(id) = crate::commands::credential_issuer(keys, *a) else {
            return false;
        };
        let under = url
            .strip_prefix(id.as_str())
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        let (origin, path) = match id.match_indices('/').nth(2) {
            Some((i, _)) => id.split_at(i),
            None => (id.as_str(), ""),
        };
        under
            || [
                "openid-credential-issuer",
                "oauth-authorization-server",
                "jwt-vc-issuer",
            ]
            .iter()
            .any(|name| url == format!("{origin}/.well-known/{name}{path}"))
    })
}

/// The OpenID4VCI configuration of `issuer` over the state directory: its metadata, the
/// nonce key (made on first use), the wallets `kmid issuer register-wallet` registered.
pub(crate) fn issuance_config<S: RegistryStore>(
    issuer: &kmid::Issuer<S>,
    state: &Path,
    authority: IssuingAuthority,
) -> Result<IssuanceConfig, Error> {
    std::fs::create_dir_all(state)?;
    let wallets = Wallets::load(state)?;
    Ok(IssuanceConfig {
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
        // Wallets registered with `kmid issuer register-wallet` (none: PAR serves no one, as it
        // needs a wallet attestation); a counter's pre-authorized code is redeemed anonymously.
        wallet_providers: wallets.providers,
        anonymous_pre_authorized: true,
        redirect_uris: wallets.redirect_uris,
        lifetimes: Lifetimes::default(),
    })
}

/// The issuer's current record of a card by its key, from the state directory (`kmid issuer
/// offer` writes it): what a renewal issues, so that a refresh token holds the key, not the
/// card.
pub(crate) fn card_lookup(
    state: &Path,
) -> impl Fn(&str) -> Result<kmid::schema::Card, String> + Send + Sync + 'static {
    let cards = state.join("cards");
    move |key: &str| {
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("not a card key".into());
        }
        let text = std::fs::read_to_string(cards.join(format!("{key}.json")))
            .map_err(|_| "the issuer holds no record of this card".to_owned())?;
        serde_json::from_str(&text).map_err(|_| "the card record is not a card".to_owned())
    }
}

/// The issuance store of a state directory.
pub(crate) fn issuance_store(state: &Path) -> Result<SqliteIssuanceStore, Error> {
    std::fs::create_dir_all(state)?;
    Ok(SqliteIssuanceStore::open(&state.join("issuance.sqlite"))?)
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
    with_server_on(&issuer(keys, authority)?, state, &issuance_store(state)?, f)
}

/// [`with_server`] with the OpenID4VCI state in `store` (a running `kmid serve`'s, which may
/// be PostgreSQL) rather than the state directory's SQLite.
fn with_server_on<T, S: RegistryStore>(
    issuer: &kmid::Issuer<S>,
    state: &Path,
    store: &dyn IssuanceStore,
    f: impl FnOnce(&IssuanceServer<'_>, &IssuerMinter<'_, S>) -> Result<T, Error>,
) -> Result<T, Error> {
    let authority = issuer.keys().authority;
    let config = issuance_config(issuer, state, authority)?;
    let server = IssuanceServer::new(&config, store, CryptoProvider::get_default(), &SystemRandom);
    let minter = IssuerMinter::new(issuer).with_current_card(card_lookup(state));
    f(&server, &minter)
}

/// The wallet solutions an issuer's state directory registers.
struct Wallets {
    providers: TrustStore,
    redirect_uris: std::collections::BTreeMap<String, Vec<String>>,
}

impl Wallets {
    const CLIENTS: &'static str = "wallets.json";
    const TRUST: &'static str = "wallet-trust.toml";

    fn load(state: &Path) -> Result<Self, Error> {
        let clients = state.join(Self::CLIENTS);
        if !clients.exists() {
            return Ok(Self {
                providers: TrustStore::new(),
                redirect_uris: std::collections::BTreeMap::new(),
            });
        }
        let redirect_uris = serde_json::from_str(&read_text(&clients)?)
            .map_err(|e| format!("{}: {e}", clients.display()))?;
        let providers = TrustConfig::from_file(&state.join(Self::TRUST))?
            .trust_store(TrustPurpose::WalletProvider)?;
        Ok(Self {
            providers,
            redirect_uris,
        })
    }
}

fn register_wallet(args: &RegisterWalletArgs) -> Result<String, Error> {
    let state = state_dir(&args.state.keys, args.state.state.as_ref());
    let root = Certificate::from_pem(&read_text(&args.provider_root)?)?;
    let dir = state.join("wallet-providers");
    std::fs::create_dir_all(&dir)?;
    let name = format!(
        "{}.pem",
        hex_encode(&CryptoProvider::get_default().sha256(root.der())?)
            .get(..16)
            .unwrap_or_default()
    );
    write(&dir.join(&name), root.to_pem()?)?;
    let config = TrustConfig {
        anchors: vec![kmid::trust::AnchorConfig {
            file: "wallet-providers".into(),
            purposes: vec![TrustPurpose::WalletProvider],
            scopes: vec!["*".into()],
            crl: None,
        }],
        ..TrustConfig::default()
    };
    write(&state.join(Wallets::TRUST), config.to_toml()?)?;
    let path = state.join(Wallets::CLIENTS);
    let mut clients: std::collections::BTreeMap<String, Vec<String>> = if path.exists() {
        serde_json::from_str(&read_text(&path)?)?
    } else {
        std::collections::BTreeMap::new()
    };
    for uri in &args.redirect_uri {
        // HTTPS, or a private-use scheme of a wallet app (RFC 8252 §7.1); never plain HTTP, and
        // no fragment (RFC 6749 §3.1.2).
        let scheme = uri.split_once(':').map(|(s, _)| s).unwrap_or_default();
        let private_use = !scheme.is_empty()
            && scheme.contains('.')
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
        let https = kmid::oid4vc::request::https_host(uri).is_some();
        if uri.contains('#') || !(https || private_use) {
            return Err(format!(
                "--redirect-uri {uri}: give an https:// URI or a private-use scheme (com.example.app:/cb)"
            )
            .into());
        }
        let entry = clients.entry(args.client_id.clone()).or_default();
        if !entry.contains(uri) {
            entry.push(uri.clone());
        }
    }
    write(
        &path,
        format!("{}\n", serde_json::to_string_pretty(&clients)?),
    )?;
    Ok(format!(
        "wallet {} registered with {} redirect URI(s); its provider's root is {}",
        args.client_id,
        clients.get(&args.client_id).map_or(0, Vec::len),
        dir.join(name).display()
    ))
}

/// The authorization endpoint as the counter runs it: the holder in front of the official has
/// been authenticated as `card`, so a pending authorization for its wallet is approved.
fn authorize(
    server: &IssuanceServer<'_>,
    request: &HttpRequest,
    card: Option<&Value>,
) -> Result<HttpResponse, Error> {
    let query = request
        .url
        .split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default();
    let mut client_id = None;
    let mut request_uri = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "client_id" => client_id = Some(v.into_owned()),
            "request_uri" => request_uri = Some(v.into_owned()),
            _ => {}
        }
    }
    let refuse = |status: u16, error: &str, description: &str| {
        HttpResponse::json(
            status,
            &json!({ "error": error, "error_description": description }),
        )
    };
    let (Some(client_id), Some(request_uri)) = (client_id, request_uri) else {
        return Ok(refuse(
            400,
            "invalid_request",
            "client_id and request_uri are needed",
        ));
    };
    let Some(card) = card else {
        return Ok(refuse(
            403,
            "access_denied",
            "no holder is authenticated at this counter",
        ));
    };
    // The counter approves what it offered: a request from one of its authorization code
    // offers, for the card the offer was made for (checked by `authorize`). A request a wallet
    // started itself would need the holder's own login, which the CLI does not have.
    match server.pending_authorization(&request_uri, &client_id, now()) {
        Ok(pending) if pending.offered_subject.is_some() => {}
        Ok(_) => {
            return Ok(refuse(
                403,
                "access_denied",
                "the counter approves its own offers only: this request needs the holder's login",
            ));
        }
        Err(e) => return Ok(refuse(400, e.oauth_error(), &e.to_string())),
    }
    Ok(
        match server.authorize(&request_uri, &client_id, card, now()) {
            Ok(approved) => HttpResponse {
                status: 303,
                headers: vec![
                    ("Location".into(), approved.redirect),
                    ("Cache-Control".into(), "no-store".into()),
                ],
                body: Vec::new(),
            },
            Err(e) => refuse(400, e.oauth_error(), &e.to_string()),
        },
    )
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
            let card = args
                .holder_card
                .as_deref()
                .map(|path| -> Result<Value, Error> { Ok(serde_json::to_value(card(path)?)?) })
                .transpose()?;
            let response = handle_json(
                &args.state.keys,
                &state_dir(&args.state.keys, args.state.state.as_ref()),
                &input,
                card.as_ref(),
            )?;
            Ok(response.to_string())
        }
        IssuerCommand::RegisterWallet(args) => register_wallet(args),
    }
}

/// A counter offer for `card` (`formats`: mdoc, sd-jwt or both; `grant`: pre-authorized or
/// authorization-code) by the issuer of the keys directory over the state directory: the
/// offer URL and, for a pre-authorized offer with one, the Transaction Code. The issuer's
/// record of the card is kept by card key for renewals.
pub(crate) fn make_offer(
    keys: &Path,
    state: &Path,
    card: &kmid::schema::Card,
    formats: &str,
    grant: &str,
    tx_code: bool,
) -> Result<(String, Option<String>), Error> {
    make_offer_in(
        &issuer(keys, authority_for(card.card_type()))?,
        state,
        &issuance_store(state)?,
        card,
        formats,
        grant,
        tx_code,
    )
}

/// [`make_offer`] into `store` (a running `kmid serve`'s OpenID4VCI state).
pub(crate) fn make_offer_in<S: RegistryStore>(
    issuer: &kmid::Issuer<S>,
    state: &Path,
    store: &dyn IssuanceStore,
    card: &kmid::schema::Card,
    formats: &str,
    grant: &str,
    tx_code: bool,
) -> Result<(String, Option<String>), Error> {
    let authority = authority_for(card.card_type());
    let doc_type = card.card_type().doc_type();
    let configurations: Vec<String> = match formats {
        "mdoc" => vec![format!("{doc_type}.mso_mdoc")],
        "sd-jwt" => vec![format!("{doc_type}.dc+sd-jwt")],
        "both" => vec![
            format!("{doc_type}.mso_mdoc"),
            format!("{doc_type}.dc+sd-jwt"),
        ],
        other => return Err(format!("formats {other}: give mdoc, sd-jwt or both").into()),
    };
    let subject = serde_json::to_value(card)?;
    // The issuer's record of the card, by card key, for renewals (0600: it is the holder's
    // data); an offer for the same card replaces it with the card as it is now.
    let key = issuer.card_key(card)?;
    write_secret(
        &state.join("cards").join(format!("{key}.json")),
        serde_json::to_string(&subject)?,
    )?;
    if issuer.keys().authority != authority {
        return Err(format!("the card is {}'s to issue", authority.slug()).into());
    }
    let (offer, tx_code) = with_server_on(issuer, state, store, |server, _| {
        Ok(match grant {
            "pre-authorized" => {
                let issued =
                    server.offer_pre_authorized(&subject, &configurations, tx_code, now())?;
                (issued.offer, issued.tx_code)
            }
            "authorization-code" => (
                server.offer_authorization_code(Some(&subject), &configurations, now())?,
                None,
            ),
            other => {
                return Err(
                    format!("grant {other}: give pre-authorized or authorization-code").into(),
                );
            }
        })
    })?;
    Ok((
        OfferUrl::ByValue(Box::new(offer)).to_url("openid-credential-offer://"),
        tx_code,
    ))
}

fn offer(args: &OfferArgs) -> Result<String, Error> {
    let card = card(&args.card)?;
    let state = state_dir(&args.state.keys, args.state.state.as_ref());
    let (url, tx_code) = make_offer(
        &args.state.keys,
        &state,
        &card,
        &args.formats,
        &args.grant,
        !args.no_tx_code,
    )?;
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
    Ok(match tx_code {
        Some(code) => format!("{shown}\ntransaction code: {code} (show it apart from the QR code)"),
        None => shown,
    })
}

/// One HTTP request as JSON to the issuer whose identifier its URL is under.
fn handle_json(
    keys: &Path,
    state: &Path,
    input: &[u8],
    holder_card: Option<&Value>,
) -> Result<Value, Error> {
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
        authority_of(keys, &url).ok_or("the URL is under no issuer of this keys directory")?;
    let response = with_server(keys, state, authority, |server, minter| {
        let path = request.url.split(['?', '#']).next().unwrap_or_default();
        if request.method == "GET" && path == server.authorization_endpoint() {
            return authorize(server, &request, holder_card);
        }
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
        let authority = authority_of(&self.keys, &request.url).ok_or("no such issuer")?;
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

/// A wallet's transport to an issuer behind a command (`--issuer-command`): one process per
/// request, the request and response as JSON (the contract of `kmid issuer handle`).
struct CommandIssuer {
    program: String,
    args: Vec<String>,
    timeout: std::time::Duration,
}

/// The most a command's response may be.
const MAX_BRIDGE_RESPONSE: usize = 8 << 20;

impl CommandIssuer {
    fn parse(spec: &str, timeout: std::time::Duration) -> Result<Self, Error> {
        let parts: Vec<String> = serde_json::from_str(spec)
            .map_err(|e| format!("--issuer-command is a JSON array of strings: {e}"))?;
        let (program, args) = parts
            .split_first()
            .ok_or("--issuer-command names no program")?;
        Ok(Self {
            program: program.clone(),
            args: args.to_vec(),
            timeout,
        })
    }
}

impl HttpClient for CommandIssuer {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, String> {
        use std::io::{Read, Write};
        let headers: Map<String, Value> = request
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let input = json!({
            "method": request.method,
            "url": request.url,
            "headers": headers,
            "body": String::from_utf8_lossy(&request.body),
        })
        .to_string();
        let mut child = std::process::Command::new(&self.program)
            .args(&self.args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .map_err(|e| format!("{}: {e}", self.program))?;
        // The request is written and the response read on threads of their own, so a command
        // that answers before it has read everything cannot deadlock us on a full pipe; the
        // command gets its timeout, and is killed (and reaped) on every way out.
        let stdin = child.stdin.take();
        let writer =
            std::thread::spawn(move || stdin.map_or(Ok(()), |mut s| s.write_all(input.as_bytes())));
        let stdout = child.stdout.take();
        let reader = std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(s) = stdout {
                // One byte over the limit says it was over; dropping the pipe then stops the
                // command.
                s.take(u64::try_from(MAX_BRIDGE_RESPONSE + 1).unwrap_or(u64::MAX))
                    .read_to_end(&mut out)?;
            }
            Ok::<_, std::io::Error>(out)
        });
        let deadline = std::time::Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ok(status),
                Ok(None) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Ok(None) => break Err(format!("{} did not answer in time", self.program)),
                Err(e) => break Err(e.to_string()),
            }
        };
        let status = status.inspect_err(|_| {
            let _ = child.kill();
            let _ = child.wait();
        })?;
        let out = reader
            .join()
            .map_err(|_| "reading the response failed".to_owned())?
            .map_err(|e| format!("reading the response: {e}"))?;
        // A command that exits without reading the request is judged by its answer.
        let _ = writer.join();
        if out.len() > MAX_BRIDGE_RESPONSE {
            return Err("the response is larger than 8 MiB".into());
        }
        if !status.success() {
            return Err(format!("{} failed ({status})", self.program));
        }
        let response: Value =
            serde_json::from_slice(&out).map_err(|e| format!("the response is not JSON: {e}"))?;
        let status = response
            .get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .filter(|s| (100..600).contains(s))
            .ok_or("the response has no status")?;
        let headers = match response.get("headers") {
            Some(Value::Object(map)) => map
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect(),
            _ => Vec::new(),
        };
        let body = response
            .get("body")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .as_bytes()
            .to_vec();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }
}

/// `kmid wallet …`.
pub(crate) fn wallet_command(command: &WalletCommand) -> Result<String, Error> {
    match command {
        WalletCommand::Receive(args) => receive(args),
        WalletCommand::Attest(args) => attest(args),
        WalletCommand::Present(args) => present(args),
    }
}

/// `kmid wallet present`: the whole OpenID4VP flow against a live verifier.
fn present(args: &WalletPresentArgs) -> Result<String, Error> {
    let at = now();
    let wallet = crate::commands::holder_wallet(
        &args.keys,
        args.trust.as_deref(),
        &args.holder,
        args.verifier_trust.as_deref(),
        &args.credentials,
        at,
    )?;
    let http = crate::http::Https::new(args.ca_file.as_deref())?;
    let answer = wallet.answer_request_url(&args.url, &http, at)?;
    let response = http
        .post_form(&answer.response_uri, &answer.body)
        .map_err(|e| format!("posting the response to {}: {e}", answer.response_uri))?;
    let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    if response.status != 200 {
        return Err(format!(
            "the verifier refused the response: {} {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        )
        .into());
    }
    let asked: Vec<String> = answer
        .request
        .request
        .dcql_query
        .get("credentials")
        .and_then(Value::as_array)
        .map(|c| {
            c.iter()
                .filter_map(|q| q.get("id").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let mut out = format!(
        "presented to {} ({}) for {}",
        answer.request.request.client_id,
        answer.response_uri,
        asked.join(", ")
    );
    if let Some(redirect) = body.get("redirect_uri").and_then(Value::as_str) {
        out.push_str(&format!("\nredirect: {redirect}"));
    }
    Ok(out)
}

fn attest(args: &AttestArgs) -> Result<String, Error> {
    let key = PrivateKey::from_pem(&read_text(&args.provider.join("wallet-provider.key.pem"))?)?;
    let chain = vec![Certificate::from_pem(&read_text(
        &args.provider.join("wallet-provider.pem"),
    )?)?];
    let provider = read_text(&args.provider.join("wallet-provider.iss"))?
        .trim()
        .to_owned();
    let instance = public_key(&args.instance)?;
    let signer: Arc<dyn Signer> = Arc::new(key);
    let jwt = issue_wallet_attestation(
        &signer,
        &chain,
        &WalletAttestationClaims {
            provider: &provider,
            client_id: &args.client_id,
            wallet_name: Some("kmid"),
            instance_key: &instance,
            at: now(),
            lifetime: time::Duration::hours(args.hours),
        },
    )?;
    write(&args.out, format!("{jwt}\n"))?;
    Ok(format!(
        "wallet attestation for {} in {}",
        args.client_id,
        args.out.display()
    ))
}

/// The `sub` of a JWT (the attested `client_id`), read without verifying: the issuer
/// verifies it.
fn jwt_subject(jwt: &str) -> Option<String> {
    let payload = jwt.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&b64url_decode(payload).ok()?).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// Where the holder's user agent is sent back to after the issuer's authorization page:
/// the transport follows the authorization URL, and the issuer (one that authenticates the
/// holder without a page of its own, as a counter that already did) answers with a redirect.
fn follow_authorization(http: &dyn HttpClient, url: &str) -> Result<String, Error> {
    let response = http.send(&HttpRequest {
        method: "GET",
        url: url.to_owned(),
        headers: Vec::new(),
        body: Vec::new(),
    })?;
    let location = response
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("location"))
        .map(|(_, v)| v.clone());
    match (response.status, location) {
        (302 | 303, Some(location)) => Ok(location),
        (status, _) => Err(format!(
            "the authorization endpoint answered {status} without a redirect: the holder \
             must authenticate at {url} (an interactive step the CLI does not run)"
        )
        .into()),
    }
}

/// The file a received credential goes to: the Korean cards by their code, any other by its
/// configuration id (filename-safe), numbered within a batch.
fn credential_path(
    out: &Path,
    configuration: &str,
    format: &str,
    index: usize,
    count: usize,
) -> Result<(PathBuf, bool), Error> {
    let is_mdoc = match format {
        "mso_mdoc" => true,
        "dc+sd-jwt" | "vc+sd-jwt" => false,
        other => return Err(format!("{configuration}: format {other} is not stored").into()),
    };
    let korean = configuration_format(configuration).and_then(|(doc_type, _)| {
        [
            kmid::schema::CardType::Resident,
            kmid::schema::CardType::Foreigner,
            kmid::schema::CardType::OverseasNational,
        ]
        .into_iter()
        .find(|c| c.doc_type() == doc_type)
    });
    let stem = korean.map_or_else(
        || {
            configuration
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect::<String>()
        },
        |card| code_of(card).to_owned(),
    );
    let numbered = if count > 1 {
        format!("{stem}.{}", index + 1)
    } else {
        stem
    };
    let name = if is_mdoc {
        format!("{numbered}.mdoc.cbor")
    } else {
        format!("{numbered}.sd-jwt")
    };
    Ok((out.join(name), is_mdoc))
}

fn receive(args: &ReceiveArgs) -> Result<String, Error> {
    let transport: Box<dyn HttpClient> = match (&args.issuer_command, &args.issuer_keys) {
        (Some(command), _) => Box::new(CommandIssuer::parse(
            command,
            std::time::Duration::from_secs(args.issuer_timeout),
        )?),
        (None, Some(keys)) => Box::new(LocalIssuer {
            keys: keys.clone(),
            state: state_dir(keys, args.issuer_state.as_ref()),
        }),
        (None, None) => Box::new(crate::http::Https::new(args.ca_file.as_deref())?),
    };
    let holder: Arc<dyn Signer> = Arc::new(PrivateKey::from_pem(&read_text(&args.holder)?)?);
    let dpop: Arc<dyn Signer> = Arc::new(PrivateKey::generate_with(
        kmid::crypto::Curve::P256,
        &SystemRandom,
    )?);
    let client_credentials = match (&args.client_attestation, &args.instance) {
        (Some(attestation), Some(instance)) => {
            let attestation = read_text(attestation)?.trim().to_owned();
            let client_id = jwt_subject(&attestation)
                .ok_or("the wallet attestation names no client_id (sub)")?;
            Some(ClientCredentials {
                client_id,
                instance: Arc::new(PrivateKey::from_pem(&read_text(instance)?)?),
                attestation,
            })
        }
        _ => None,
    };
    let client = IssuanceClient::new(
        transport.as_ref(),
        CryptoProvider::get_default(),
        &SystemRandom,
        dpop,
        client_credentials,
    );
    let offer = args.offer.as_deref().map(|o| client.offer(o)).transpose()?;
    let credential_issuer = match (&offer, &args.issuer) {
        (Some(offer), _) => offer.credential_issuer.clone(),
        (None, Some(issuer)) => issuer.clone(),
        (None, None) => return Err("give an offer or --issuer".into()),
    };
    let hint = offer.as_ref().and_then(|o| {
        o.grants
            .authorization_code
            .as_ref()
            .and_then(|g| g.authorization_server.clone())
            .or_else(|| {
                o.grants
                    .pre_authorized_code
                    .as_ref()
                    .and_then(|g| g.authorization_server.clone())
            })
    });
    let info = client.issuer(&credential_issuer, hint.as_deref())?;
    // The authorization code grant when asked for (`--scope`), or when the offer has no
    // pre-authorized code; its scopes are then those of the offered configurations.
    let pre_authorized = offer
        .as_ref()
        .filter(|o| args.scope.is_none() && o.grants.pre_authorized_code.is_some());
    let (session, configurations) = if let Some(offer) = pre_authorized {
        (
            client.pre_authorized(&info, offer, args.tx_code.as_deref(), now())?,
            offer.credential_configuration_ids.clone(),
        )
    } else {
        let supported = &info.metadata.credential_configurations_supported;
        let (scope, configurations) = match (&args.scope, &offer) {
            (Some(scope), _) => {
                let configurations: Vec<String> = supported
                    .iter()
                    .filter(|(_, c)| {
                        c.scope
                            .as_deref()
                            .is_some_and(|s| scope.split(' ').any(|asked| asked == s))
                    })
                    .map(|(id, _)| id.clone())
                    .collect();
                (scope.clone(), configurations)
            }
            (None, Some(offer)) => {
                let scopes: Vec<&str> = offer
                    .credential_configuration_ids
                    .iter()
                    .filter_map(|id| supported.get(id).and_then(|c| c.scope.as_deref()))
                    .collect();
                (scopes.join(" "), offer.credential_configuration_ids.clone())
            }
            (None, None) => return Err("give an offer or --scope".into()),
        };
        if configurations.is_empty() || scope.is_empty() {
            return Err("no credential configuration of the issuer has the scope asked".into());
        }
        let issuer_state = offer.as_ref().and_then(|o| {
            o.grants
                .authorization_code
                .as_ref()
                .and_then(|g| g.issuer_state.clone())
        });
        let start = client.start_authorization(
            &info,
            &scope,
            &args.redirect_uri,
            issuer_state.as_deref(),
            now(),
        )?;
        let redirect = follow_authorization(transport.as_ref(), &start.url)?;
        (
            client.finish_authorization(&info, &start, &redirect, now())?,
            configurations,
        )
    };
    std::fs::create_dir_all(&args.out)?;
    let mut lines = Vec::new();
    for configuration in &configurations {
        let format = info
            .metadata
            .credential_configurations_supported
            .get(configuration)
            .map(|c| c.format.clone())
            .ok_or("an offered configuration is not in the issuer's metadata")?;
        let response = client.credential(
            &info,
            &session,
            configuration,
            &ProofKeys::One(&holder),
            now(),
        )?;
        let count = response.credentials.len();
        for (index, credential) in response.credentials.iter().enumerate() {
            let text = credential
                .get("credential")
                .and_then(Value::as_str)
                .ok_or("a credential in the response is not a string")?;
            let (path, is_mdoc) = credential_path(&args.out, configuration, &format, index, count)?;
            if is_mdoc {
                write(
                    &path,
                    b64url_decode(text).map_err(|_| "the mdoc is not base64url")?,
                )?;
            } else {
                write(&path, format!("{text}\n"))?;
            }
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
