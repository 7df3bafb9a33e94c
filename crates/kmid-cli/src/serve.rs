//! `kmid serve`: the issuer, status and verifier services of `kmid-server` on one HTTPS
//! listener, from a TOML configuration (`spec/services.md`) or, without one, as the embedded
//! demonstration: a test PKI, a relying party's access certificate, a TLS CA and certificate
//! for `localhost` and an official's token, made once under the data directory; state in
//! SQLite there (issuance, registries, transactions), so a restart loses nothing.
//!
//! Layout under the public URL: `/issuer/<authority>` (OpenID4VCI, with its well-known
//! documents at the origin, and `/admin/…` for officials), `/status/<authority>/lists/<n>`,
//! `/verifier/…`, and `/healthz`, `/readyz`, `/metrics`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use kmid::IssuingAuthority;
use kmid::crypto::x509::Certificate;
use kmid::crypto::{CryptoProvider, PrivateKey, Signer, SystemRandom};
use kmid::oid4vc::vci::http::HttpRequest;
use kmid::oid4vc::vci::server::PendingAuthorization;
use kmid::schema::IdentityCard as _;
use kmid::status::registry::Actor;
use kmid_server::config::{Official, ServeConfig};
use kmid_server::ops::{self, OpsState, RateLimiter, Readiness, ServerLimits};
use kmid_server::registry::RegistryBackend;
use kmid_server::{
    FetchConfig, HolderAuthenticator, HttpFetcher, IssuerService, SqliteTransactionStore,
    StatusPublisher, StatusService, VerifierConfig, VerifierService,
};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::commands::{self, Error, KeysCommand, read_text, write, write_secret};

/// Which services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Which {
    /// The issuer (OpenID4VCI and its administration API).
    Issuer,
    /// The status lists.
    Status,
    /// The verifier (OpenID4VP).
    Verifier,
    /// All three.
    All,
}

/// `kmid serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Which services to run.
    #[arg(value_enum, default_value = "all")]
    which: Which,
    /// The configuration (TOML, spec/services.md); without it, the embedded demonstration.
    #[arg(long)]
    config: Option<PathBuf>,
    /// The data directory, over the configuration's.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The address to listen on, over the configuration's (port 0: any free port).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// A PostgreSQL database (`postgres://…`) for the state several instances share, over the
    /// configuration's: the verifier's transactions and the issuer's OpenID4VCI state.
    #[arg(long)]
    database: Option<String>,
}

/// Runs until SIGINT or SIGTERM.
pub(crate) fn serve(args: &ServeArgs) -> Result<(), Error> {
    let demo = args.config.is_none();
    let mut config = match &args.config {
        Some(file) => ServeConfig::from_toml(&read_text(file)?)
            .map_err(|e| format!("{}: {e}", file.display()))?,
        None => ServeConfig::demo(),
    };
    if let Some(dir) = &args.data_dir {
        config.data_dir.clone_from(dir);
    }
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(database) = &args.database {
        config.database = Some(database.clone());
    }
    if args.which != Which::All {
        config.issuer.enabled = args.which == Which::Issuer;
        config.status.enabled = args.which == Which::Status;
        config.verifier.enabled = args.which == Which::Verifier;
    }
    config.check()?;
    ops::init_logging(config.server.json_logs);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(config, demo))
}

/// An official's name for a bearer token, from the configured hashes.
/// The official a bearer token names, if they may act for `authority`.
fn official(
    officials: &[Official],
    authority: IssuingAuthority,
    headers: &axum::http::HeaderMap,
) -> Option<String> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    let digest = CryptoProvider::get_default()
        .sha256(token.as_bytes())
        .ok()?;
    let hex = commands::hex_encode(&digest);
    officials
        .iter()
        .find(|o| {
            kmid::crypto::session::constant_time_eq(o.token_sha256.as_bytes(), hex.as_bytes())
        })
        .filter(|o| o.authorities.is_empty() || o.authorities.iter().any(|a| a == authority.slug()))
        .map(|o| o.name.clone())
}

/// The embedded demonstration's files, made once: the issuers' PKI (status lists and
/// identifiers under `public`), a relying party's access certificate for the public host,
/// an official's token.
fn demo_files(config: &mut ServeConfig, public: &str) -> Result<Vec<String>, Error> {
    let dir = config.data_dir.clone();
    let mut notes = Vec::new();
    if !dir.join("mois-ds.key.pem").is_file() {
        commands::keys(&KeysCommand::Issuers {
            out: dir.clone(),
            status_base: format!("{public}/status"),
            issuer_base: Some(format!("{public}/issuer")),
        })?;
        notes.push(format!("made a test PKI in {}", dir.display()));
    }
    let verifier = dir.join("verifier");
    if !verifier.join("reader.key.pem").is_file() {
        commands::keys(&KeysCommand::Readers {
            out: verifier.clone(),
            name: "kmid demo relying party".into(),
            dns: kmid::oid4vc::request::https_host(public),
        })?;
    }
    let token_file = dir.join("admin-token");
    if config.issuer.officials.is_empty() {
        if !token_file.is_file() {
            let mut bytes = [0u8; 24];
            kmid::crypto::Random::fill_secret(&SystemRandom, &mut bytes)?;
            write_secret(
                &token_file,
                format!("{}\n", kmid::crypto::jose::b64url(&bytes)),
            )?;
        }
        let token = read_text(&token_file)?.trim().to_owned();
        let digest = CryptoProvider::get_default().sha256(token.as_bytes())?;
        config.issuer.officials.push(Official {
            name: "demo official".into(),
            token_sha256: commands::hex_encode(&digest),
            authorities: Vec::new(),
        });
        notes.push(format!("admin token   {}", token_file.display()));
    }
    Ok(notes)
}

/// The TLS files: configured, or a test CA and a certificate for the public host and
/// `localhost` made once under `<data_dir>/tls/`. Returns (chain, key, CA to trust).
fn tls_files(
    config: &ServeConfig,
    public: &str,
) -> Result<(PathBuf, PathBuf, Option<PathBuf>), Error> {
    if let (Some(chain), Some(key)) = (&config.server.tls_certificate, &config.server.tls_key) {
        return Ok((config.path(chain), config.path(key), None));
    }
    use kmid::crypto::x509::{CertificateKind, CertificateParams, issue_certificate};
    let dir = config.data_dir.join("tls");
    let (chain, key, ca) = (
        dir.join("server.pem"),
        dir.join("server.key.pem"),
        dir.join("ca.pem"),
    );
    // Made again (CA too: its key is not kept) when missing or within 30 days of expiry.
    let fresh = chain.is_file()
        && key.is_file()
        && ca.is_file()
        && read_text(&chain)
            .ok()
            .and_then(|pem| {
                // The leaf: the chain's first certificate.
                let end = "-----END CERTIFICATE-----";
                let first = pem.find(end).map(|i| &pem[..i + end.len()])?;
                Certificate::from_pem(first).ok()
            })
            .is_some_and(|leaf| {
                leaf.not_after()
                    > (OffsetDateTime::now_utc() + time::Duration::days(30)).unix_timestamp()
            });
    if !fresh {
        let now = OffsetDateTime::now_utc();
        let host = kmid::oid4vc::request::https_host(public).unwrap_or_else(|| "localhost".into());
        let mut dns = vec!["localhost".to_owned()];
        if host != "localhost" && host.parse::<std::net::IpAddr>().is_err() {
            dns.push(host);
        }
        let params = |kind, cn: &str, days: i64, dns_names: Vec<String>| CertificateParams {
            kind,
            country: "KR".into(),
            organization: Some("kmid serve (test)".into()),
            state_or_province: None,
            common_name: cn.into(),
            not_before: now - time::Duration::days(1),
            not_after: now + time::Duration::days(days),
            issuer_alt_name: None,
            crl_uri: None,
            dns_names,
        };
        let ca_key = PrivateKey::generate(kmid::crypto::Curve::P256)?;
        let root = issue_certificate(
            &params(
                CertificateKind::ReaderRoot,
                "kmid serve test CA",
                3650,
                Vec::new(),
            ),
            ca_key.public_key(),
            None,
            &ca_key,
            &SystemRandom,
        )?;
        let server_key = PrivateKey::generate(kmid::crypto::Curve::P256)?;
        let server = issue_certificate(
            &params(CertificateKind::TlsServer, "localhost", 365, dns),
            server_key.public_key(),
            Some(&root),
            &ca_key,
            &SystemRandom,
        )?;
        write(&ca, root.to_pem()?)?;
        write(&chain, format!("{}{}", server.to_pem()?, root.to_pem()?))?;
        write_secret(&key, server_key.to_pkcs8_pem()?.as_bytes())?;
    }
    Ok((chain, key, Some(ca)))
}

/// Approves, at the authorization endpoint, exactly the holder an official's
/// authorization-code offer named: the official checked the holder and the card when making
/// it (the offer's `issuer_state` is the counter's session). A wallet that starts the flow
/// itself needs a login this demonstration does not have, and is refused.
struct OfferedHolder;

impl HolderAuthenticator for OfferedHolder {
    fn authenticate(&self, pending: &PendingAuthorization, _: &HttpRequest) -> Option<Value> {
        pending.offered_subject.clone()
    }
}

/// What the administration API needs.
#[derive(Clone)]
struct Admin {
    state: PathBuf,
    authority: IssuingAuthority,
    issuer: Arc<kmid::Issuer<RegistryBackend>>,
    officials: Arc<Vec<Official>>,
    /// The status publisher, run after a change.
    changed: Option<Arc<dyn Fn() + Send + Sync>>,
    /// The OpenID4VCI state the issuer service uses (offers go there).
    store: Arc<dyn kmid::oid4vc::store::IssuanceStore>,
}

fn admin_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(json!({ "error": message })),
    )
        .into_response()
}

/// `POST /issuer/<authority>/admin/<action>`: an official's lifecycle step, recorded with
/// their name. `offers` makes a counter offer for `card`; `card-lost`, `card-found` take the
/// `card`; `phone-lost`, `phone-found` the `holder` key (PEM); `reissue` the `card` and the
/// new phone's `holder`; `revoke` a `credential` (its registry index).
async fn admin(
    State(admin): State<Admin>,
    UrlPath(action): UrlPath<String>,
    request: Request,
) -> Response {
    let Some(official) = official(&admin.officials, admin.authority, request.headers()) else {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            axum::Json(json!({ "error": "invalid_token" })),
        )
            .into_response();
    };
    let body = match ops::read_body(request.into_body(), kmid_server::issuer::MAX_BODY).await {
        Ok(body) => body,
        Err(refused) => return refused,
    };
    let (who, what, slug) = (official.clone(), action.clone(), admin.authority.slug());
    let answered = tokio::task::spawn_blocking(move || {
        let body: Value = serde_json::from_slice(&body)
            .map_err(|e| (StatusCode::BAD_REQUEST, format!("not JSON: {e}")))?;
        let done = admin_step(&admin, &official, &action, &body);
        if done.is_ok()
            && let Some(changed) = &admin.changed
        {
            changed();
        }
        done
    })
    .await;
    match answered {
        Ok(Ok(value)) => {
            // The official (staff, not a holder) and the step are the audit trail; the card
            // and the holder are not logged.
            tracing::info!(target: "kmid::admin", official = %who, action = %what, authority = slug, "an official's step was recorded");
            (
                StatusCode::OK,
                [(header::CACHE_CONTROL, "no-store")],
                axum::Json(value),
            )
                .into_response()
        }
        Ok(Err((status, message))) => admin_error(status, &message),
        Err(_) => admin_error(StatusCode::INTERNAL_SERVER_ERROR, "the step failed"),
    }
}

type AdminResult = Result<Value, (StatusCode, String)>;

fn admin_step(admin: &Admin, official: &str, action: &str, body: &Value) -> AdminResult {
    let bad = |m: String| (StatusCode::BAD_REQUEST, m);
    let card = || -> Result<kmid::schema::Card, (StatusCode, String)> {
        let card: kmid::schema::Card =
            serde_json::from_value(body.get("card").cloned().unwrap_or_default())
                .map_err(|e| bad(format!("card: {e}")))?;
        if commands::authority_for(card.card_type()) != admin.authority {
            return Err(bad("the card is another authority's".into()));
        }
        Ok(card)
    };
    let device = || -> Result<String, (StatusCode, String)> {
        let pem = body
            .get("holder")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("holder: the phone's key, PEM".into()))?;
        let key = kmid::crypto::PublicKey::from_spki_pem(pem)
            .or_else(|_| PrivateKey::from_pem(pem).map(|k| k.public_key().clone()))
            .map_err(|e| bad(format!("holder: {e}")))?;
        key.thumbprint_sha256().map_err(|e| bad(e.to_string()))
    };
    let at = OffsetDateTime::now_utc();
    let actor = |reason: &'static str| Actor {
        who: official,
        at,
        reason,
    };
    let registry = admin.issuer.registry();
    let failed = |e: &dyn std::fmt::Display| (StatusCode::CONFLICT, e.to_string());
    let changed = match action {
        "offers" => {
            let card = card()?;
            let formats = body
                .get("formats")
                .and_then(Value::as_str)
                .unwrap_or("both");
            let grant = body
                .get("grant")
                .and_then(Value::as_str)
                .unwrap_or("pre-authorized");
            let tx_code = body.get("tx_code").and_then(Value::as_bool).unwrap_or(true);
            let (url, code) = crate::vci::make_offer_in(
                &admin.issuer,
                &admin.state,
                &*admin.store,
                &card,
                formats,
                grant,
                tx_code,
            )
            .map_err(|e| bad(e.to_string()))?;
            return Ok(json!({ "offer_url": url, "tx_code": code }));
        }
        "card-lost" => registry.report_card_lost(
            &admin.issuer.card_key(&card()?).map_err(|e| failed(&e))?,
            &actor("card lost"),
        ),
        "card-found" => registry.reinstate_card(
            &admin.issuer.card_key(&card()?).map_err(|e| failed(&e))?,
            &actor("card found"),
        ),
        "phone-lost" => registry.report_phone_lost(&device()?, &actor("phone lost")),
        "phone-found" => registry.reinstate_phone(&device()?, &actor("phone found")),
        "reissue" => {
            let key = admin.issuer.card_key(&card()?).map_err(|e| failed(&e))?;
            registry.reissue_to_new_device(&key, &device()?, &actor("re-issue"))
        }
        "revoke" => {
            let credential = body
                .get("credential")
                .and_then(Value::as_u64)
                .ok_or_else(|| bad("credential: its registry index".into()))?;
            registry.revoke(credential, &actor("revoked")).map(|()| 1)
        }
        _ => return Err((StatusCode::NOT_FOUND, format!("no action {action}"))),
    }
    .map_err(|e| failed(&e))?;
    Ok(json!({ "changed": changed }))
}

/// A status fetcher that reads the lists this process serves from its status service, and
/// fetches any other over HTTPS.
struct LocalFirst {
    local: Option<StatusService>,
    origin: String,
    http: kmid_server::BlockingFetcher,
}

impl kmid::status::StatusListFetcher for LocalFirst {
    fn fetch(
        &self,
        uri: &str,
        accept: &str,
    ) -> Result<Vec<u8>, kmid::schema::status::FetchFailure> {
        if let (Some(local), Some(path)) = (&self.local, uri.strip_prefix(&self.origin))
            && path.starts_with('/')
        {
            return local
                .token(path, !accept.contains("statuslist+jwt"))
                .map(|token| token.to_vec())
                .ok_or(kmid::schema::status::FetchFailure::HttpStatus(404));
        }
        self.http.fetch(uri, accept)
    }
}

/// How far behind the highest event number seen the change detector looks again. With
/// several instances on one PostgreSQL database an event's number is drawn before its
/// transaction commits, so an event can appear below one already seen; its transaction was in
/// flight when that one was drawn, so it is at most the number of concurrent transactions
/// behind (spec/status.md §4.1). A straggler further behind is published within
/// `republish_secs`.
const EVENT_WINDOW: u64 = 4096;

/// A mark of the registries' event logs that moves when any of them gains an event: each
/// log's highest number and its count of events in the window behind it.
fn latest_events(
    issuers: &[Arc<kmid::Issuer<RegistryBackend>>],
    last: &mut Vec<(u64, u64)>,
) -> u64 {
    last.resize(issuers.len(), (0, 0));
    for (issuer, seen) in issuers.iter().zip(last.iter_mut()) {
        let from = seen.0.saturating_sub(EVENT_WINDOW);
        if let Ok((highest, count)) = issuer.registry().event_mark(from) {
            *seen = (highest.max(seen.0), count);
        }
    }
    last.iter().fold(0u64, |mark, (highest, count)| {
        mark.wrapping_mul(1_000_003)
            .wrapping_add(*highest)
            .wrapping_mul(1_000_003)
            .wrapping_add(*count)
    })
}

async fn run(mut config: ServeConfig, demo: bool) -> Result<(), Error> {
    // The data directory holds keys and holders' data (SQLite files are created with the
    // process's umask): made private when the server makes it.
    if !config.data_dir.exists() {
        std::fs::create_dir_all(&config.data_dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&config.data_dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    let listener = tokio::net::TcpListener::bind(config.server.listen).await?;
    let port = listener.local_addr()?.port();
    let public = config.public_url(port);
    let mut notes = if demo {
        demo_files(&mut config, &public)?
    } else {
        Vec::new()
    };
    let dir = config.data_dir.clone();
    let tls = if config.server.plain_http {
        None
    } else {
        Some(tls_files(&config, &public)?)
    };
    let tls_config = match &tls {
        Some((chain, key, _)) => Some(ops::tls_server_config(chain, key)?),
        None => None,
    };
    let extra_roots = match tls.as_ref().and_then(|t| t.2.as_ref()) {
        Some(ca) => {
            notes.push(format!("TLS CA        {}", ca.display()));
            vec![Certificate::from_pem(&read_text(ca)?)?.der().to_vec()]
        }
        None => Vec::new(),
    };
    let metrics = ops::install_metrics().ok();
    let ready = Readiness::default();
    let limiter = (config.server.rate_limit_per_second > 0).then(|| {
        Arc::new(RateLimiter::new(
            config.server.rate_limit_per_second,
            config.server.rate_limit_burst,
        ))
    });
    let ops_state = |service: &'static str| OpsState {
        service,
        request_timeout: Duration::from_secs(config.server.request_timeout_secs),
        limiter: limiter.clone(),
    };
    let mut app = Router::new();
    let mut lines = vec![format!("kmid serve: {public} (data in {})", dir.display())];
    // The shared database, over TLS when its CA is configured.
    let database = match &config.database {
        Some(url) => {
            let database = kmid_server::postgres::Database::new(url.clone());
            Some(match &config.database_ca {
                Some(ca) => {
                    database.with_tls(Arc::new(kmid_server::fetch::tls_client_config_only(
                        &commands::pem_certificates(&config.path(ca))?,
                    )?))
                }
                None => database,
            })
        }
        None => None,
    };
    let mut issuers: Vec<Arc<kmid::Issuer<RegistryBackend>>> = Vec::new();
    let state = crate::vci::state_dir(&dir, None);
    let files = commands::issuers_file(&dir)?;
    for authority in IssuingAuthority::ALL {
        let slug = authority.slug();
        let wanted = config.issuer.authorities.is_empty()
            || config.issuer.authorities.iter().any(|a| a == slug);
        if !wanted || !dir.join(format!("{slug}-ds.key.pem")).is_file() {
            continue;
        }
        // Its registry: the SQLite file beside its keys, or its schema on the shared
        // database (connected on a blocking thread: rust-postgres runs a runtime of its own).
        let (database, sqlite) = (
            database.clone(),
            dir.join(format!("{slug}-registry.sqlite")),
        );
        let store = tokio::task::spawn_blocking(move || {
            RegistryBackend::open(database.as_ref(), slug, 16, &sqlite)
        })
        .await
        .map_err(|e| e.to_string())??;
        issuers.push(Arc::new(commands::issuer_over(&dir, authority, store)?));
    }
    if (config.issuer.enabled || config.status.enabled) && issuers.is_empty() {
        return Err(format!(
            "no issuer keys in {}: run `kmid keys issuers --out {0}`",
            dir.display()
        )
        .into());
    }
    let mut background = Vec::new();
    let mut issuance_store_in_use: Option<Arc<dyn kmid::oid4vc::store::IssuanceStore>> = None;
    // The status lists: published before the service is ready, right after every request
    // that may have changed a registry (the issuer's hook, the administration API) and every
    // `poll_secs` (changes made by other processes on the same registries).
    let mut publish_now: Option<Arc<dyn Fn() + Send + Sync>> = None;
    let mut status_service: Option<StatusService> = None;
    if config.status.enabled {
        let service = StatusService::new(config.status.ttl_secs);
        let ttl = config.status.ttl_secs;
        let publisher = Arc::new(std::sync::Mutex::new((
            StatusPublisher::new(time::Duration::seconds(
                i64::try_from(config.status.republish_secs).unwrap_or(i64::MAX),
            )),
            Vec::new(),
        )));
        // Each authority's last good lists: one that fails to publish keeps serving what it
        // had (valid a day) instead of taking the others' down with it.
        let good: Arc<std::sync::Mutex<Vec<Option<Vec<kmid::PublishedList>>>>> =
            Arc::new(std::sync::Mutex::new(vec![None; issuers.len()]));
        let publish: Arc<dyn Fn() + Send + Sync> = {
            let (issuers, served, good) = (issuers.clone(), service.clone(), Arc::clone(&good));
            Arc::new(move || {
                let mut guard = publisher
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let (publisher, last) = &mut *guard;
                let latest = latest_events(&issuers, last);
                let all = |at: OffsetDateTime| -> Result<Vec<kmid::PublishedList>, String> {
                    let mut good = good
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    let mut lists = Vec::new();
                    for (issuer, kept) in issuers.iter().zip(good.iter_mut()) {
                        match issuer.publish(at, ttl) {
                            Ok(fresh) => *kept = Some(fresh),
                            Err(e) => tracing::error!(
                                target: "kmid::status",
                                authority = issuer.keys().authority.slug(),
                                error = %e,
                                "publishing an authority's status lists failed; its last lists stay"
                            ),
                        }
                        lists.extend(kept.iter().flatten().cloned());
                    }
                    Ok(lists)
                };
                if let Err(e) = publisher.tick(&served, latest, OffsetDateTime::now_utc(), all) {
                    tracing::error!(target: "kmid::status", error = %e, "publishing the status lists failed");
                }
            })
        };
        // On a blocking thread, as every registry call of the server (a PostgreSQL registry's
        // synchronous client runs a runtime of its own).
        let first = Arc::clone(&publish);
        tokio::task::spawn_blocking(move || first())
            .await
            .map_err(|e| e.to_string())?;
        // Ready only once every authority's lists are out.
        if good
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .any(Option::is_none)
        {
            return Err("the first publication of the status lists failed (see the log)".into());
        }
        let poll = Duration::from_secs(config.status.poll_secs);
        let periodic = Arc::clone(&publish);
        background.push(tokio::spawn(async move {
            loop {
                tokio::time::sleep(poll).await;
                let periodic = Arc::clone(&periodic);
                if tokio::task::spawn_blocking(move || periodic())
                    .await
                    .is_err()
                {
                    break;
                }
            }
        }));
        publish_now = Some(publish);
        status_service = Some(service.clone());
        app = app.nest_service(
            "/status",
            ops::with_operations(service.router(), ops_state("status")),
        );
        lines.push(format!("  status      {public}/status"));
    }
    if config.issuer.enabled {
        let expected = format!("{public}/issuer");
        if files.issuer_base.as_deref() != Some(expected.as_str()) {
            tracing::warn!(
                "the issuers' identifiers are not under this server's public URL; wallets will not find them here"
            );
        }
        // The OpenID4VCI state: the shared database when there is one (connected on a
        // blocking thread: rust-postgres runs a runtime of its own), else SQLite.
        let store: Arc<dyn kmid::oid4vc::store::IssuanceStore> = match &database {
            Some(database) => {
                let database = database.clone();
                Arc::new(
                    tokio::task::spawn_blocking(move || {
                        kmid_server::postgres::PostgresIssuanceStore::connect(&database)
                            .map_err(|e| e.to_string())
                    })
                    .await
                    .map_err(|e| e.to_string())??,
                )
            }
            None => Arc::new(crate::vci::issuance_store(&state)?),
        };
        issuance_store_in_use = Some(Arc::clone(&store));
        let officials = Arc::new(config.issuer.officials.clone());
        for issuer in &issuers {
            let authority = issuer.keys().authority;
            let slug = authority.slug();
            let service = IssuerService::new(
                crate::vci::issuance_config(issuer, &state, authority)?,
                Arc::clone(&store),
                Arc::clone(issuer),
                Arc::new(OfferedHolder),
                Some(Arc::new(crate::vci::card_lookup(&state))),
            )?;
            let service = match &publish_now {
                Some(hook) => service.with_change_hook(Arc::clone(hook)),
                None => service,
            };
            let admin_state = Admin {
                state: state.clone(),
                authority,
                issuer: Arc::clone(issuer),
                officials: Arc::clone(&officials),
                changed: publish_now.clone(),
                store: Arc::clone(&store),
            };
            let router = Router::new()
                .route("/admin/{action}", post(admin))
                .with_state(admin_state)
                .merge(service.router());
            let router = ops::with_operations(router, ops_state("issuer"));
            let base = format!("/issuer/{slug}");
            app = app.nest_service(&base, router.clone());
            for name in [
                "openid-credential-issuer",
                "oauth-authorization-server",
                "jwt-vc-issuer",
            ] {
                app = app.nest_service(&format!("/.well-known/{name}{base}"), router.clone());
            }
            lines.push(format!("  issuer      {public}{base}"));
        }
    }
    if config.issuer.enabled || config.status.enabled {
        // The authorities' CRLs (their Document Signers' revocation), valid a week: at
        // start and daily, where verifiers of this data directory read them.
        commands::publish_crls(&dir, OffsetDateTime::now_utc())?;
        let dir = dir.clone();
        background.push(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
                let dir = dir.clone();
                let published = tokio::task::spawn_blocking(move || {
                    commands::publish_crls(&dir, OffsetDateTime::now_utc())
                        .map_err(|e| e.to_string())
                })
                .await;
                if !matches!(published, Ok(Ok(_))) {
                    tracing::error!(target: "kmid::status", "publishing the CRLs failed");
                }
            }
        }));
    }
    if config.verifier.enabled {
        let access_dir = dir.join("verifier");
        let certificate = config
            .verifier
            .access_certificate
            .as_ref()
            .map_or_else(|| access_dir.join("reader.pem"), |p| config.path(p));
        let key = config
            .verifier
            .access_key
            .as_ref()
            .map_or_else(|| access_dir.join("reader.key.pem"), |p| config.path(p));
        let leaf = Certificate::from_pem(&read_text(&certificate)?)?;
        let signer: Arc<dyn Signer> = Arc::new(PrivateKey::from_pem(&read_text(&key)?)?);
        let access =
            kmid::VerifierAccess::x509_hash(CryptoProvider::get_default(), signer, vec![leaf])?;
        let fetcher = HttpFetcher::new(FetchConfig {
            extra_roots: extra_roots.clone(),
            ..FetchConfig::default()
        })?
        .blocking(tokio::runtime::Handle::current());
        // Lists this process serves are read from it, not fetched through its own listener
        // (which closes first at shutdown, and whose connections and rate limits are the
        // clients').
        let fetcher = LocalFirst {
            local: status_service.clone(),
            origin: public.clone(),
            http: fetcher,
        };
        let trust = config.verifier.trust.as_ref().map(|p| config.path(p));
        let verifier = commands::verifier_over(&dir, trust.as_deref(), fetcher)?;
        let mut settings = VerifierConfig::new(&format!("{public}/verifier"));
        settings.api_keys.clone_from(&config.verifier.api_keys);
        settings.open_api = config.verifier.open_api;
        settings.allow_unencrypted = config.verifier.allow_unencrypted;
        settings.transaction_lifetime = time::Duration::seconds(config.verifier.transaction_secs);
        std::fs::create_dir_all(&access_dir)?;
        let store: Arc<dyn kmid_server::TransactionStore> = match &database {
            // rust-postgres's synchronous client runs a runtime of its own: it connects on
            // a blocking thread, never on this runtime's.
            Some(database) => {
                let database = database.clone();
                let store = tokio::task::spawn_blocking(move || {
                    kmid_server::postgres::PostgresTransactionStore::connect(&database)
                        .map_err(|e| e.to_string())
                })
                .await
                .map_err(|e| e.to_string())??;
                Arc::new(store)
            }
            None => Arc::new(SqliteTransactionStore::open(
                &access_dir.join("transactions.sqlite"),
            )?),
        };
        // The published circuit of `age-check-zk`, loaded on the first proof it verifies.
        let verifier = verifier.with_zk_circuits(
            Arc::new(kmid::zk::ZkCircuits::age_check()),
            kmid::zk::ZkPolicy::default(),
        );
        let service = VerifierService::new(settings, Arc::new(verifier), Arc::new(access), store)?;
        let purger = service.clone();
        background.push(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                let purger = purger.clone();
                let _ = tokio::task::spawn_blocking(move || purger.purge()).await;
            }
        }));
        app = app.nest_service(
            "/verifier",
            ops::with_operations(service.router(), ops_state("verifier")),
        );
        lines.push(format!("  verifier    {public}/verifier"));
        // The relying party's page calls the API from the browser: only where it is open.
        if config.verifier.open_api {
            app = app.merge(ops::with_operations(
                kmid_server::page::router(),
                ops_state("page"),
            ));
            lines.push(format!("  page        {public}/"));
        }
    }
    if let Some(store) = issuance_store_in_use {
        // The issuance store's expired offers, codes, tokens and nonces.
        background.push(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(60)).await;
                let store = Arc::clone(&store);
                let _ = tokio::task::spawn_blocking(move || {
                    kmid::oid4vc::store::IssuanceStore::purge(&*store, OffsetDateTime::now_utc())
                })
                .await;
            }
        }));
    }
    app = app.merge(ops::with_operations(
        ops::ops_router(metrics, ready.clone()),
        ops_state("ops"),
    ));
    lines.push(format!(
        "  health      {public}/healthz, {public}/readyz, {public}/metrics"
    ));
    lines.extend(notes.into_iter().map(|n| format!("  {n}")));
    // Flushed line by line: whoever started the server reads its URL from the first.
    for line in &lines {
        banner(line);
    }
    tracing::info!(target: "kmid::serve", port, "serving");
    ready.set(true);
    let limits = ServerLimits {
        header_timeout: Duration::from_secs(config.server.header_timeout_secs),
        max_header_bytes: config.server.max_header_bytes,
        max_connections: config.server.max_connections,
        max_connections_per_client: config.server.max_connections_per_client,
        shutdown_grace: Duration::from_secs(config.server.shutdown_grace_secs),
        ..ServerLimits::default()
    };
    let drain = Duration::from_secs(config.server.drain_secs);
    let shutdown = {
        let ready = ready.clone();
        async move {
            shutdown_signal().await;
            ready.set(false);
            tracing::info!(target: "kmid::serve", "shutting down");
            // Not ready, still serving: a load balancer stops sending first.
            tokio::time::sleep(drain).await;
        }
    };
    ops::serve(listener, tls_config, app, limits, shutdown).await?;
    for task in background {
        task.abort();
    }
    tracing::info!(target: "kmid::serve", "stopped");
    Ok(())
}

/// A line of the banner on standard output: a reader that stops after the URL (a supervisor)
/// is not an error of the server's.
fn banner(line: &str) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
