//! The file-based commands a person or a conformance runner drives: `keys`, `card`, `issue`,
//! `request`, `present`, `verify` and `status`.
//!
//! A **keys directory** (`--keys`, default `kmid-keys`) holds, per authority (`mois`, `moj`,
//! `oka`): `<a>-iaca.pem`, `<a>-ds.pem`, `<a>-ds.key.pem` (PKCS#8), `<a>-card-key.secret`
//! (hex), `<a>-registry.sqlite`; and `status/` with the published Status List Tokens and
//! `status/index.json` (uri → files), which `verify` resolves statuses from.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand, ValueEnum};
use kmid::crypto::x509::{Certificate, TrustStore};
use kmid::crypto::{Curve, PrivateKey, PublicKey, Signer, SystemRandom};
use kmid::mdoc::CborLimits;
use kmid::mdoc::model::{DeviceRequest, Handover, IssuerSigned, SessionTranscript};
use kmid::schema::{Card, CardType, IdentityCard};
use kmid::status::StatusListResolver;
use kmid::status::registry::{
    Actor, Durability, RegistryConfig, RegistryStore, SqliteStore, StatusRegistry,
};
use kmid::status::token::{TokenKeys, TokenPolicy};
use kmid::{
    AuthorityKeys, CardKeySecret, DcqlQuery, Format, Formats, Issuer, IssuingAuthority, KmidError,
    OpenId4VpRequest, Template, TrustConfig, TrustPurpose, VerifiedCredential, Verifier, Wallet,
};
use kmid_testkit::samples;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub(crate) type Error = Box<dyn std::error::Error>;

const MAX_INPUT: u64 = 16 * 1024 * 1024;

/// Reads a file of at most 16 MiB; a larger one is an error.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_INPUT + 1), &mut out)?;
    if u64::try_from(out.len()).unwrap_or(u64::MAX) > MAX_INPUT {
        return Err(format!("{}: larger than 16 MiB", path.display()).into());
    }
    Ok(out)
}

pub(crate) fn read_text(path: &Path) -> Result<String, Error> {
    Ok(String::from_utf8(read(path)?).map_err(|_| format!("{}: not UTF-8", path.display()))?)
}

/// Writes a file whole or not at all: into a temporary file beside it, then renamed over it,
/// so a reader (a running `kmid serve` reading CRLs, a verifier reading status lists) never
/// sees half of it.
pub(crate) fn write(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), Error> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let fail = |e: std::io::Error| -> Error { format!("{}: {e}", path.display()).into() };
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", std::process::id()));
    let temporary = path.with_file_name(name);
    std::fs::write(&temporary, bytes).map_err(fail)?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        fail(e)
    })
}

/// Writes a private key or secret: readable by its owner only (mode 0600 where files have
/// modes), set before any byte is written, also over an existing file.
pub(crate) fn write_secret(path: &Path, bytes: impl AsRef<[u8]>) -> Result<(), Error> {
    use std::io::Write as _;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let fail = |e: std::io::Error| -> Error { format!("{}: {e}", path.display()).into() };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        options.mode(0o600);
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(fail)?;
        }
    }
    let mut file = options.open(path).map_err(fail)?;
    file.write_all(bytes.as_ref()).map_err(fail)?;
    file.sync_all().map_err(fail)
}

/// Reads a file of a keys directory, or says which command makes it.
fn read_key_file(dir: &Path, name: &str) -> Result<String, Error> {
    let path = dir.join(name);
    if !path.is_file() {
        return Err(format!(
            "no {}: run `kmid keys issuers --out {}` first",
            path.display(),
            dir.display()
        )
        .into());
    }
    read_text(&path)
}

fn parse_at(at: Option<&str>) -> Result<OffsetDateTime, Error> {
    Ok(match at {
        Some(t) => OffsetDateTime::parse(t, &Rfc3339)?,
        None => OffsetDateTime::now_utc(),
    }
    .replace_nanosecond(0)?)
}

/// Card type names on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CardArg {
    /// Mobile resident registration card.
    Rrc,
    /// Mobile foreigner registration card.
    Rc,
    /// Mobile overseas Korean national ID.
    Onid,
}

impl CardArg {
    const fn card_type(self) -> CardType {
        match self {
            Self::Rrc => CardType::Resident,
            Self::Rc => CardType::Foreigner,
            Self::Onid => CardType::OverseasNational,
        }
    }
}

/// Formats on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum FormatArg {
    /// ISO/IEC 18013-5 mdoc.
    Mdoc,
    /// SD-JWT VC.
    SdJwt,
    /// Both (issue only).
    Both,
}

/// Request templates on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TemplateArg {
    /// Youth-act adult and age over 19.
    AgeCheck,
    /// Name, photo and birth date.
    Identity,
    /// Identity with the registration number (needs --legal-basis).
    FullIdentity,
}

/// Signs each authority's CRL (the Document Signers in `<keys>/revoked/`, valid a week) into
/// `<keys>/crl/`, with `index.json` mapping each CRL distribution point to its file; returns
/// how many. Authorities without an IACA key in the directory publish none.
pub(crate) fn publish_crls(keys: &Path, at: OffsetDateTime) -> Result<usize, Error> {
    let crl_dir = keys.join("crl");
    let mut index = serde_json::Map::new();
    for authority in IssuingAuthority::ALL {
        let slug = authority.slug();
        let key_path = keys.join(format!("{slug}-iaca.key.pem"));
        if !key_path.is_file() {
            continue;
        }
        let iaca = Certificate::from_pem(&read_key_file(keys, &format!("{slug}-iaca.pem"))?)?;
        let iaca_key = PrivateKey::from_pem(&read_text(&key_path)?)?;
        let ds = Certificate::from_pem(&read_key_file(keys, &format!("{slug}-ds.pem"))?)?;
        let mut revoked = Vec::new();
        if let Ok(entries) = std::fs::read_dir(keys.join("revoked")) {
            let mut files: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&format!("{slug}-")) && n.ends_with(".pem"))
                })
                .collect();
            files.sort();
            for file in files {
                revoked.push(Certificate::from_pem(&read_text(&file)?)?);
            }
        }
        let refs: Vec<&Certificate> = revoked.iter().collect();
        let at = at.replace_nanosecond(0)?;
        let crl = kmid::crypto::x509::issue_crl(
            &iaca,
            &iaca_key,
            at,
            at + time::Duration::days(7),
            &refs,
            u64::try_from(at.unix_timestamp()).unwrap_or(0),
        )?;
        let file = format!("{slug}.crl");
        write(&crl_dir.join(&file), crl.der())?;
        let uri = ds
            .crl_uri()
            .map_or_else(|| format!("{}/kmid/crl", authority.uri()), str::to_owned);
        index.insert(uri, json!(file));
    }
    let n = index.len();
    write(
        &crl_dir.join("index.json"),
        format!("{}\n", serde_json::to_string_pretty(&index)?),
    )?;
    Ok(n)
}

/// The CRLs published in `<keys>/crl/`, by distribution point.
fn crl_source(keys: &Path) -> Arc<dyn kmid::crypto::x509::CrlSource> {
    let crl_dir = keys.join("crl");
    let index: BTreeMap<String, Value> = read(&crl_dir.join("index.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    Arc::new(move |uri: &str| {
        let file = index.get(uri)?.as_str()?;
        read(&crl_dir.join(file)).ok()
    })
}

/// `kmid status read`.
/// A token file's bytes without the newline a text (JWT) file ends with; a binary (CWT)
/// token is left whole — its last byte may well be 0x0A.
fn without_text_newline(bytes: Vec<u8>) -> Vec<u8> {
    if bytes.starts_with(b"ey") {
        let text = bytes.trim_ascii_end();
        text.to_vec()
    } else {
        bytes
    }
}

fn read_status(
    token: &str,
    keys: &Path,
    trust_file: Option<&Path>,
    uri: Option<&str>,
    at: Option<&str>,
) -> Result<String, Error> {
    let at = parse_at(at)?;
    let (bytes, uri) = if Path::new(token).is_file() {
        (read(Path::new(token))?, uri.map(str::to_owned))
    } else {
        let status_dir = keys.join("status");
        let index: BTreeMap<String, Value> = match read(&status_dir.join("index.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes)?,
            Err(_) => {
                return Err(format!(
                    "no status lists in {}: run `kmid status publish --keys {}`",
                    status_dir.display(),
                    keys.display()
                )
                .into());
            }
        };
        let file = index
            .get(token)
            .and_then(|e| e.get("jwt"))
            .and_then(Value::as_str)
            .ok_or_else(|| {
                format!(
                    "{token} is neither a file nor a list published in {}",
                    status_dir.display()
                )
            })?;
        (read(&status_dir.join(file))?, Some(token.to_owned()))
    };
    let bytes = without_text_newline(bytes);
    let config = trust_config(keys, trust_file)?;
    if config
        .trust_store(TrustPurpose::StatusListSigner)?
        .roots()
        .is_empty()
        && config
            .issuer_keys(TrustPurpose::StatusListSigner)?
            .is_empty()
    {
        return Err("the trust configuration has no anchor or key for status-list-signer".into());
    }
    let signers = status_keys(&config)?;
    // The URI the token must be for: the given one, else the token's own `sub`.
    let uri = match uri {
        Some(u) => u,
        None => token_subject(&bytes).ok_or("the token names no subject: pass --uri")?,
    };
    let verified =
        kmid::status::token::verify_token(&bytes, &uri, at, &signers, &TokenPolicy::default())?;
    let list = &verified.list;
    let mut lines = vec![format!(
        "{uri}: {} entries of {} bits, signed {}{}",
        list.len(),
        list.bits(),
        verified.claims.iat,
        verified
            .claims
            .exp
            .map_or_else(String::new, |e| format!(", expires {e}"))
    )];
    let mut not_valid = 0u64;
    for index in 0..list.len() {
        let value = list.get(index)?;
        if value != 0 {
            not_valid += 1;
            let name = kmid::schema::status::TokenStatus::from_value(value);
            lines.push(format!("  {index}: {name}"));
        }
    }
    lines.push(format!("{not_valid} entries not VALID"));
    Ok(lines.join("\n"))
}

/// The `sub` of a JWT Status List Token, read without trusting it (only to know which URI
/// to check it for).
fn token_subject(token: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(token).ok()?;
    let payload = text.split('.').nth(1)?;
    let payload = kmid::crypto::jose::b64url_decode(payload).ok()?;
    let claims: Value = serde_json::from_slice(&payload).ok()?;
    claims.get("sub")?.as_str().map(str::to_owned)
}

/// `kmid keys`.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// A fresh test PKI for the three issuing authorities (IACA 10 years, Document Signer 1
    /// year), their card-key secrets and empty registries.
    Issuers {
        /// The keys directory.
        #[arg(long, default_value = "kmid-keys")]
        out: PathBuf,
        /// Where the status lists will be served: each authority's lists are at
        /// `<base>/<authority>/lists/<n>` (kept in `<keys>/issuers.toml`).
        #[arg(long, default_value = DEFAULT_STATUS_BASE)]
        status_base: String,
        /// Where the issuers serve OpenID4VCI: each authority's Credential Issuer Identifier
        /// is `<base>/<authority>` (kept in `<keys>/issuers.toml`); by default the
        /// authority's own `<authority URI>/kmid`.
        #[arg(long)]
        issuer_base: Option<String>,
    },
    /// Revoke an authority's Document Signer: it goes on the authority's CRL, published at
    /// once to `<keys>/crl/` (verifiers then refuse everything it signed).
    RevokeDs {
        /// The keys directory.
        #[arg(long, default_value = "kmid-keys")]
        keys: PathBuf,
        /// The authority, by the card it issues.
        #[arg(long, value_enum)]
        card_type: CardArg,
    },
    /// Sign a VICAL (ISO/IEC 18013-5 Annex C.1.7) of the keys directory's IACAs, each for its
    /// card, valid 30 days: `<keys>/korea.vical`, with the VICAL provider's root and signer
    /// (made on first use: `vical-root.pem`, `vical-signer.pem`, `vical-signer.key.pem`) and
    /// `vical-trust.toml`, a trust configuration that takes its anchors from the VICAL.
    Vical {
        /// The keys directory.
        #[arg(long, default_value = "kmid-keys")]
        keys: PathBuf,
    },
    /// A relying parties' reader root and one reader (ISO 18013-5 reader authentication):
    /// `reader-root.pem`, `reader.pem`, `reader.key.pem`.
    Readers {
        /// The directory.
        #[arg(long, default_value = "kmid-readers")]
        out: PathBuf,
        /// The reader's name (its certificate's CN).
        #[arg(long, default_value = "kmid reader")]
        name: String,
        /// A DNS name of the reader's certificate (subjectAltName): as an OpenID4VP verifier
        /// access certificate it makes the `x509_san_dns` Client Identifier.
        #[arg(long)]
        dns: Option<String>,
    },
    /// A registrar: the authority that attests which verifiers may collect the registration
    /// number under which statute (PIPA Art. 24-2). Writes `registrar.key.pem` (0600) and
    /// `registrar.jwks.json`, and prints the `[[issuer]]` entry a wallet's trust file needs.
    Registrar {
        /// The directory.
        #[arg(long, default_value = "kmid-registrar")]
        out: PathBuf,
        /// The registrar's identifier (`iss`).
        #[arg(long, default_value = "https://registrar.kmid.invalid")]
        iss: String,
    },
    /// A registration attestation: the registrar in `--registrar` attests that the reader in
    /// `--reader` (or the OpenID4VP verifier `--client-id`) may collect the registration
    /// number under `--legal-basis`.
    Register {
        /// The registrar's directory (`kmid keys registrar`).
        #[arg(long, default_value = "kmid-registrar")]
        registrar: PathBuf,
        /// A reader directory (`kmid keys readers`): the attestation names its certificate
        /// (`x509_hash:`).
        #[arg(
            long,
            conflicts_with = "client_id",
            required_unless_present = "client_id"
        )]
        reader: Option<PathBuf>,
        /// An OpenID4VP Client Identifier, with its prefix.
        #[arg(long)]
        client_id: Option<String>,
        /// The statute that allows collecting the number.
        #[arg(long)]
        legal_basis: String,
        /// Days it is valid.
        #[arg(long, default_value_t = 365)]
        days: i64,
        /// The file to write (the JWT).
        #[arg(long)]
        out: PathBuf,
    },
    /// A wallet provider: its root (`wallet-provider-root.pem`, what an issuer trusts) and
    /// the signer of its wallet attestations (`wallet-provider.pem`, `wallet-provider.key.pem`,
    /// a JWT signer certificate with no extended key usage). `kmid wallet attest` uses them.
    WalletProvider {
        /// The directory.
        #[arg(long, default_value = "kmid-wallet-provider")]
        out: PathBuf,
        /// The provider's identifier (`iss` of its attestations).
        #[arg(long, default_value = "https://wallet-provider.kmid.invalid")]
        iss: String,
    },
    /// A holder (phone) device key, P-256, as PKCS#8 PEM.
    Holder {
        /// The file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `kmid issue`.
#[derive(Debug, Args)]
pub(crate) struct IssueArgs {
    /// The keys directory.
    #[arg(long, default_value = "kmid-keys")]
    keys: PathBuf,
    /// The card, as JSON (`kmid card sample` writes one).
    #[arg(long)]
    card: PathBuf,
    /// The holder's device key: a public key (SPKI PEM) or the holder's PKCS#8 PEM.
    #[arg(long)]
    holder: PathBuf,
    /// Which formats.
    #[arg(long, value_enum, default_value = "both")]
    format: FormatArg,
    /// Output directory: `<card>.mdoc.cbor` (IssuerSigned) and `<card>.sd-jwt`.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Issuance time (RFC 3339), default now.
    #[arg(long)]
    at: Option<String>,
}

/// `kmid request`.
#[derive(Debug, Args)]
pub(crate) struct RequestArgs {
    /// The template (or give `--dcql` or `--device-request` instead).
    #[arg(long, value_enum, required_unless_present_any = ["dcql", "device_request"])]
    template: Option<TemplateArg>,
    /// The card type asked for (with `--template`).
    #[arg(long, value_enum, required_unless_present_any = ["dcql", "device_request"])]
    card: Option<CardArg>,
    /// The format asked for (with `--template`).
    #[arg(long, value_enum, required_unless_present_any = ["dcql", "device_request"])]
    format: Option<FormatArg>,
    /// An OpenID4VP request for any credential type: the DCQL query in this JSON file
    /// (OpenID4VP 1.0 §6), checked before it is written.
    #[arg(long, conflicts_with_all = ["template", "card", "format", "device_request", "proximity"])]
    dcql: Option<PathBuf>,
    /// A proximity DeviceRequest for any docType, from this JSON file:
    /// `{"docRequests": [{"docType": "...", "nameSpaces": {"ns": {"element": intentToRetain}}}]}`
    /// (ISO/IEC 18013-5 §8.3.2.1.2.1); signed with `--reader` when given.
    #[arg(long, conflicts_with_all = ["template", "card", "format", "dcql"])]
    device_request: Option<PathBuf>,
    /// The legal basis for collecting the registration number (full-identity only).
    #[arg(long)]
    legal_basis: Option<String>,
    /// OpenID4VP `client_id`.
    #[arg(long, default_value = "x509_san_dns:verifier.kmid.invalid")]
    client_id: String,
    /// OpenID4VP `response_uri`.
    #[arg(
        long,
        default_value = "https://verifier.kmid.invalid/openid4vp/response"
    )]
    response_uri: String,
    /// OpenID4VP `nonce`; random when absent.
    #[arg(long)]
    nonce: Option<String>,
    /// Write an ISO 18013-5 DeviceRequest (CBOR) for proximity instead (mdoc only).
    #[arg(long)]
    proximity: bool,
    /// Proximity: sign the request with the reader in this directory (`kmid keys readers`).
    #[arg(long)]
    reader: Option<PathBuf>,
    /// Proximity: SessionTranscriptBytes the readerAuth covers; default a QR transcript.
    #[arg(long)]
    transcript: Option<PathBuf>,
    /// Proximity, full-identity: the reader's registration attestation (`kmid keys
    /// register`), sent in requestInfo so the wallet may release the registration number.
    /// With `--signed`, sent in `verifier_info`.
    #[arg(long)]
    registration: Option<PathBuf>,
    /// OpenID4VP, signed (HAIP 1.0): sign the request with the access certificate in this
    /// directory (`kmid keys readers --dns NAME`); writes the request URL (redirect modes) or
    /// the DC API request (`{"protocol", "data"}`) to `--out`, and the pending transaction to
    /// `--transaction`.
    #[arg(long, conflicts_with = "proximity", requires = "transaction")]
    signed: Option<PathBuf>,
    /// An ISO/IEC 18013-7 Annex C request (`org-iso-mdoc` over the DC API, mdoc only) from
    /// the page at `--origin`: writes `{"protocol", "data"}` to `--out` and the pending request
    /// (its HPKE key) to `--transaction`; `--reader` signs it (readerAuth over the `dcapi`
    /// SessionTranscript), `--registration` adds the reader's registration attestation.
    #[arg(long, conflicts_with_all = ["proximity", "signed"], requires_all = ["origin", "transaction"])]
    annex_c: bool,
    /// With `--signed`: the Client Identifier Prefix.
    #[arg(long, value_enum, default_value = "x509-hash")]
    client_id_prefix: PrefixArg,
    /// With `--signed`: the response mode (HAIP: direct-post-jwt, dc-api-jwt).
    #[arg(long, value_enum, default_value = "direct-post-jwt")]
    response_mode: ModeArg,
    /// With `--signed` and a DC API mode, or `--annex-c`: the verifier's Origin.
    #[arg(long)]
    origin: Option<String>,
    /// With `--signed`: where the pending transaction goes (it holds the response key; 0600).
    #[arg(long)]
    transaction: Option<PathBuf>,
    /// With `--signed`: ask the holder to consent to this transaction with the presentation
    /// (`transaction_data` of type `kr.kmid.transaction-consent`, for every Credential Query;
    /// only an SD-JWT VC can authorize it). Needs `--consent-reference`.
    #[arg(long, requires_all = ["signed", "consent_reference"])]
    consent: Option<String>,
    /// With `--consent`: the verifier's reference for the transaction.
    #[arg(long, requires = "consent")]
    consent_reference: Option<String>,
    /// The file to write.
    #[arg(long)]
    out: PathBuf,
}

/// Client Identifier Prefixes on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PrefixArg {
    /// `x509_hash` (HAIP's MUST).
    X509Hash,
    /// `x509_san_dns`, the certificate's DNS name.
    X509SanDns,
}

/// Response modes on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModeArg {
    /// `direct_post`.
    DirectPost,
    /// `direct_post.jwt`.
    DirectPostJwt,
    /// `dc_api`.
    DcApi,
    /// `dc_api.jwt`.
    DcApiJwt,
}

/// `kmid present`.
#[derive(Debug, Args)]
pub(crate) struct PresentArgs {
    /// The keys directory (its `trust.toml` names the issuers' roots the wallet accepts).
    #[arg(long, default_value = "kmid-keys")]
    keys: PathBuf,
    /// A trust configuration (TOML or JSON, spec/trust.md) instead of `<keys>/trust.toml`.
    #[arg(long)]
    trust: Option<PathBuf>,
    /// The holder's device key (PKCS#8 PEM).
    #[arg(long)]
    holder: PathBuf,
    /// Credentials the wallet holds (`.mdoc.cbor` IssuerSigned or `.sd-jwt`), repeatable.
    #[arg(long = "credential", required = true)]
    credentials: Vec<PathBuf>,
    /// The request: an OpenID4VP request (JSON) or a DeviceRequest (CBOR).
    #[arg(long)]
    request: PathBuf,
    /// Proximity only: SessionTranscriptBytes; default a QR-engagement transcript.
    #[arg(long)]
    transcript: Option<PathBuf>,
    /// Proximity only: answer only requests signed by a reader under this root (PEM).
    #[arg(long)]
    reader_trust: Option<PathBuf>,
    /// Signed OpenID4VP requests: the verifier access root (PEM) they must chain to, besides
    /// the trust file's `verifier-access` anchors.
    #[arg(long)]
    verifier_trust: Option<PathBuf>,
    /// A DC API request: the Origin the platform reports for it.
    #[arg(long)]
    origin: Option<String>,
    /// Where to write the VP Token (JSON), the DeviceResponse (CBOR), the form body for the
    /// `response_uri` (a signed request), or the DC API response `data` (JSON).
    #[arg(long)]
    out: PathBuf,
    /// Presentation time (RFC 3339), default now.
    #[arg(long)]
    at: Option<String>,
}

/// `kmid verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The keys directory: `trust.toml` and the published statuses (`status/`).
    #[arg(long, default_value = "kmid-keys")]
    keys: PathBuf,
    /// A trust configuration (TOML or JSON, spec/trust.md) instead of `<keys>/trust.toml`.
    #[arg(long)]
    trust: Option<PathBuf>,
    /// The request the presentation answers: DeviceRequest CBOR, or OpenID4VP JSON with
    /// `dcql_query`, `nonce` and either `client_id` + `response_uri` or, over the DC API,
    /// `origin`; `jwk_thumbprint` (base64url) when an mdoc was answered encrypted.
    #[arg(long, required_unless_present = "transaction")]
    request: Option<PathBuf>,
    /// A signed request's pending transaction (`kmid request --signed --transaction`): the
    /// presentation is then the body POSTed to the `response_uri` or the DC API response
    /// `data`, decrypted with the transaction's key.
    #[arg(long, conflicts_with = "request")]
    transaction: Option<PathBuf>,
    /// The VP Token (JSON), DeviceResponse (CBOR), response body or DC API response data.
    #[arg(long)]
    presentation: PathBuf,
    /// Proximity only: SessionTranscriptBytes; default a QR-engagement transcript.
    #[arg(long)]
    transcript: Option<PathBuf>,
    /// Verification time (RFC 3339), default now.
    #[arg(long)]
    at: Option<String>,
    /// Print a JSON result on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// CA certificates (PEM) trusted besides the Mozilla roots when a status list is fetched
    /// over HTTPS (`kmid serve`'s `<data>/tls/ca.pem`).
    #[arg(long)]
    ca_file: Option<PathBuf>,
}

/// `kmid status`.
#[derive(Debug, Subcommand)]
pub(crate) enum StatusCommand {
    /// Sign every list of every authority into `<keys>/status/` (JWT and CWT).
    Publish {
        /// The keys directory.
        #[arg(long, default_value = "kmid-keys")]
        keys: PathBuf,
        /// Cache lifetime (`ttl`) in seconds.
        #[arg(long, default_value_t = 300)]
        ttl: u64,
        /// Signing time (RFC 3339), default now.
        #[arg(long)]
        at: Option<String>,
    },
    /// The holder lost the phone: suspend its mobile cards.
    PhoneLost(DeviceArgs),
    /// The phone was found: reinstate what only the phone loss suspended.
    PhoneFound(DeviceArgs),
    /// The physical card was lost: suspend it and its mobile cards.
    CardLost(CardArgs),
    /// The physical card was found.
    CardFound(CardArgs),
    /// Move the card to a new phone (the old phone's credentials become INVALID).
    Reissue {
        #[command(flatten)]
        card: CardArgs,
        /// The new phone's device key (public SPKI PEM or PKCS#8 PEM).
        #[arg(long)]
        holder: PathBuf,
    },
    /// Revoke one credential for good.
    Revoke {
        /// The keys directory.
        #[arg(long, default_value = "kmid-keys")]
        keys: PathBuf,
        /// The authority.
        #[arg(long, value_enum)]
        card_type: CardArg,
        /// The credential's registry id.
        #[arg(long)]
        credential: u64,
    },
    /// Read a Status List Token: a file (JWT or CWT), or a URI published in `<keys>/status/`;
    /// its signature is checked against the status-list-signer roots of the trust
    /// configuration, and every entry that is not VALID is printed.
    Read {
        /// A token file, or the URI of a list published with `kmid status publish`.
        token: String,
        /// The keys directory (its `trust.toml` and `status/`).
        #[arg(long, default_value = "kmid-keys")]
        keys: PathBuf,
        /// A trust configuration instead of `<keys>/trust.toml`.
        #[arg(long)]
        trust: Option<PathBuf>,
        /// The list's URI (its `sub`), when `token` is a file; default: the token's own.
        #[arg(long)]
        uri: Option<String>,
        /// Reading time (RFC 3339), default now.
        #[arg(long)]
        at: Option<String>,
    },
}

/// A device-level status action.
#[derive(Debug, Args)]
pub(crate) struct DeviceArgs {
    /// The keys directory.
    #[arg(long, default_value = "kmid-keys")]
    keys: PathBuf,
    /// The phone's device key (public SPKI PEM or PKCS#8 PEM).
    #[arg(long)]
    holder: PathBuf,
}

/// A card-level status action.
#[derive(Debug, Args)]
pub(crate) struct CardArgs {
    /// The keys directory.
    #[arg(long, default_value = "kmid-keys")]
    keys: PathBuf,
    /// The card (JSON).
    #[arg(long)]
    card: PathBuf,
}

/// Where `kmid keys issuers` puts status lists unless told: a reserved `.invalid` name (RFC
/// 2606), never a real authority's domain.
const DEFAULT_STATUS_BASE: &str = "https://status.kmid.invalid";

/// The issuers' settings `kmid keys issuers` writes beside the keys.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IssuersFile {
    /// The status lists' base URI.
    pub(crate) status_base: String,
    /// The base of the Credential Issuer Identifiers (`<base>/<authority>`), when not the
    /// authorities' own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) issuer_base: Option<String>,
}

/// The settings of a keys directory (`issuers.toml`; the defaults for a directory made
/// before it existed).
pub(crate) fn issuers_file(dir: &Path) -> Result<IssuersFile, Error> {
    let path = dir.join("issuers.toml");
    if !path.is_file() {
        return Ok(IssuersFile {
            status_base: DEFAULT_STATUS_BASE.to_owned(),
            issuer_base: None,
        });
    }
    Ok(toml::from_str(&read_text(&path)?)
        .map_err(|e| format!("{}: {}", path.display(), e.message()))?)
}

/// The status base of a keys directory.
fn status_base(dir: &Path) -> Result<String, Error> {
    Ok(issuers_file(dir)?.status_base)
}

/// The Credential Issuer Identifier of `authority` in a keys directory.
pub(crate) fn credential_issuer(dir: &Path, authority: IssuingAuthority) -> Result<String, Error> {
    Ok(match issuers_file(dir)?.issuer_base {
        Some(base) => format!("{}/{}", base.trim_end_matches('/'), authority.slug()),
        None => format!("{}/kmid", authority.uri()),
    })
}

pub(crate) fn authority_for(card: CardType) -> IssuingAuthority {
    IssuingAuthority::for_card(card)
}

fn load_keys(dir: &Path, authority: IssuingAuthority) -> Result<AuthorityKeys, Error> {
    let slug = authority.slug();
    let cert = |name: &str| -> Result<Certificate, Error> {
        Ok(Certificate::from_pem(&read_key_file(dir, name)?)?)
    };
    let key = PrivateKey::from_pem(&read_key_file(dir, &format!("{slug}-ds.key.pem"))?)?;
    Ok(AuthorityKeys {
        authority,
        iaca: cert(&format!("{slug}-iaca.pem"))?,
        document_signer: cert(&format!("{slug}-ds.pem"))?,
        signer: Arc::new(key),
    })
}

pub(crate) fn issuer(
    dir: &Path,
    authority: IssuingAuthority,
) -> Result<Issuer<SqliteStore>, Error> {
    // The keys first: without them, the error names the command that makes them.
    let keys = load_keys(dir, authority)?;
    let store = SqliteStore::open(
        &dir.join(format!("{}-registry.sqlite", authority.slug())),
        Durability::Full,
    )?;
    issuer_with(dir, authority, keys, store)
}

/// The issuer of `authority` from the key files in `dir`, its registry in `store` (the SQLite
/// file beside the keys, or a shared PostgreSQL database for `kmid serve --database`).
pub(crate) fn issuer_over<S: RegistryStore>(
    dir: &Path,
    authority: IssuingAuthority,
    store: S,
) -> Result<Issuer<S>, Error> {
    issuer_with(dir, authority, load_keys(dir, authority)?, store)
}

fn issuer_with<S: RegistryStore>(
    dir: &Path,
    authority: IssuingAuthority,
    keys: AuthorityKeys,
    store: S,
) -> Result<Issuer<S>, Error> {
    let slug = authority.slug();
    let secret = hex_decode(read_key_file(dir, &format!("{slug}-card-key.secret"))?.trim())?;
    let secret: [u8; 32] = secret
        .try_into()
        .map_err(|_| "the card-key secret is 32 bytes of hex")?;
    let registry = StatusRegistry::new(
        store,
        RegistryConfig::new(format!(
            "{}/{slug}/lists",
            status_base(dir)?.trim_end_matches('/')
        )),
        Arc::new(SystemRandom),
    );
    Ok(Issuer::new(
        keys,
        registry,
        CardKeySecret::from_bytes(secret),
        Arc::new(SystemRandom),
    )
    .with_credential_issuer(&credential_issuer(dir, authority)?))
}

/// The trust configuration: `--trust FILE` when given, else the keys directory's
/// `trust.toml` (which `kmid keys issuers` writes).
fn trust_config(dir: &Path, file: Option<&Path>) -> Result<TrustConfig, Error> {
    let path = file.map_or_else(|| dir.join("trust.toml"), Path::to_path_buf);
    if file.is_none() && !path.is_file() {
        return Err(format!(
            "no trust configuration: {} does not exist; pass --trust FILE, or run `kmid keys issuers --out {}` first",
            path.display(),
            dir.display()
        )
        .into());
    }
    Ok(TrustConfig::from_file(&path)?)
}

/// Who may sign status lists: the `status-list-signer` anchors (for tokens with a chain) and
/// configured keys (for tokens naming a `kid`). With neither, every status list is refused
/// (a relying party of credentials without status references needs none).
fn status_keys(config: &TrustConfig) -> Result<TokenKeys, Error> {
    let roots = config.trust_store(TrustPurpose::StatusListSigner)?;
    let keys: Vec<_> = config
        .issuer_keys(TrustPurpose::StatusListSigner)?
        .into_iter()
        .map(|(_, kid, key)| (kid, key))
        .collect();
    Ok(if keys.is_empty() {
        TokenKeys::X5c(roots)
    } else {
        TokenKeys::KeySet { roots, keys }
    })
}

pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn hex_decode(text: &str) -> Result<Vec<u8>, Error> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("not hex".into());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| "not hex".into())
        })
        .collect()
}

pub(crate) fn public_key(path: &Path) -> Result<PublicKey, Error> {
    let pem = read_text(path)?;
    if let Ok(key) = PublicKey::from_spki_pem(&pem) {
        return Ok(key);
    }
    Ok(PrivateKey::from_pem(&pem)?.public_key().clone())
}

pub(crate) fn card(path: &Path) -> Result<Card, Error> {
    Ok(serde_json::from_slice(&read(path)?)?)
}

/// `kmid keys`.
pub(crate) fn keys(command: &KeysCommand) -> Result<String, Error> {
    match command {
        KeysCommand::Issuers {
            out,
            status_base,
            issuer_base,
        } => {
            if !(status_base.starts_with("https://") || status_base.starts_with("http://")) {
                return Err(format!("--status-base {status_base:?} is not an http(s) URI").into());
            }
            if let Some(base) = issuer_base
                && kmid::oid4vc::request::https_host(base).is_none()
            {
                return Err(format!("--issuer-base {base:?} is not an https URL").into());
            }
            write(
                &out.join("issuers.toml"),
                toml::to_string(&IssuersFile {
                    status_base: status_base.clone(),
                    issuer_base: issuer_base.clone(),
                })?,
            )?;
            let now = OffsetDateTime::now_utc();
            let random = SystemRandom;
            for authority in IssuingAuthority::ALL {
                let slug = authority.slug();
                let (keys, iaca_key, ds_key) =
                    AuthorityKeys::generate_with_keys(authority, now, &random)?;
                write(&out.join(format!("{slug}-iaca.pem")), keys.iaca.to_pem()?)?;
                // The IACA's key signs the authority's CRLs (kmid status publish).
                write_secret(
                    &out.join(format!("{slug}-iaca.key.pem")),
                    iaca_key.to_pkcs8_pem()?.as_bytes(),
                )?;
                write(
                    &out.join(format!("{slug}-ds.pem")),
                    keys.document_signer.to_pem()?,
                )?;
                write_secret(
                    &out.join(format!("{slug}-ds.key.pem")),
                    ds_key.to_pkcs8_pem()?.as_bytes(),
                )?;
                let mut secret = [0u8; 32];
                kmid::crypto::Random::fill(&random, &mut secret)?;
                write_secret(
                    &out.join(format!("{slug}-card-key.secret")),
                    format!("{}\n", hex_encode(&secret)),
                )?;
                let _ = std::fs::remove_file(out.join(format!("{slug}-registry.sqlite")));
            }
            // The trust configuration of this PKI: each IACA for its own card, as mdoc and
            // SD-JWT VC issuer and as status list signer.
            let config = TrustConfig {
                anchors: IssuingAuthority::ALL
                    .iter()
                    .map(|a| kmid::trust::AnchorConfig {
                        file: format!("{}-iaca.pem", a.slug()).into(),
                        purposes: vec![
                            TrustPurpose::MdocIssuer,
                            TrustPurpose::SdJwtVcIssuer,
                            TrustPurpose::StatusListSigner,
                        ],
                        scopes: vec![a.card_type().doc_type().to_owned()],
                        crl: Some(kmid::CrlPolicy::HardFail),
                    })
                    .collect(),
                ..TrustConfig::default()
            };
            write(&out.join("trust.toml"), config.to_toml()?)?;
            Ok(format!(
                "a test PKI for MOIS, MOJ and OKA in {} (test material: keep the keys private)",
                out.display()
            ))
        }
        KeysCommand::RevokeDs { keys, card_type } => {
            let authority = authority_for(card_type.card_type());
            let slug = authority.slug();
            let ds = Certificate::from_pem(&read_key_file(keys, &format!("{slug}-ds.pem"))?)?;
            write(
                &keys
                    .join("revoked")
                    .join(format!("{slug}-{}.pem", hex_encode(ds.serial()))),
                ds.to_pem()?,
            )?;
            let n = publish_crls(keys, OffsetDateTime::now_utc())?;
            Ok(format!(
                "{} Document Signer {} revoked; {n} CRLs published to {}",
                authority.slug().to_uppercase(),
                hex_encode(ds.serial()),
                keys.join("crl").display()
            ))
        }
        KeysCommand::Vical { keys } => {
            use kmid::crypto::x509::{CertificateKind, CertificateParams, issue_certificate};
            let now = OffsetDateTime::now_utc().replace_nanosecond(0)?;
            let (root_path, signer_path, key_path) = (
                keys.join("vical-root.pem"),
                keys.join("vical-signer.pem"),
                keys.join("vical-signer.key.pem"),
            );
            if !key_path.is_file() {
                let params = |kind, cn: &str, days| CertificateParams {
                    kind,
                    country: "KR".into(),
                    organization: Some("kmid VICAL provider (test)".into()),
                    state_or_province: None,
                    common_name: cn.into(),
                    not_before: now - time::Duration::days(1),
                    not_after: now + time::Duration::days(days),
                    issuer_alt_name: Some("https://vical.kmid.invalid".into()),
                    crl_uri: None,
                    dns_names: Vec::new(),
                };
                let root_key = PrivateKey::generate(Curve::P256)?;
                let root = issue_certificate(
                    &params(CertificateKind::Iaca, "kmid VICAL root", 3650),
                    root_key.public_key(),
                    None,
                    &root_key,
                    &SystemRandom,
                )?;
                let signer_key = PrivateKey::generate(Curve::P256)?;
                let signer = issue_certificate(
                    &params(CertificateKind::VicalSigner, "kmid VICAL signer", 365),
                    signer_key.public_key(),
                    Some(&root),
                    &root_key,
                    &SystemRandom,
                )?;
                write(&root_path, root.to_pem()?)?;
                write(&signer_path, signer.to_pem()?)?;
                write_secret(&key_path, signer_key.to_pkcs8_pem()?.as_bytes())?;
            }
            let signer = Certificate::from_pem(&read_text(&signer_path)?)?;
            let signer_key = PrivateKey::from_pem(&read_text(&key_path)?)?;
            let mut entries = Vec::new();
            for authority in IssuingAuthority::ALL {
                let path = keys.join(format!("{}-iaca.pem", authority.slug()));
                if !path.is_file() {
                    continue;
                }
                entries.push(kmid::mdoc::vical::VicalEntry {
                    certificate: Certificate::from_pem(&read_text(&path)?)?,
                    doc_types: vec![authority.card_type().doc_type().to_owned()],
                    issuing_authority: Some(authority.name().to_owned()),
                    issuing_country: Some("KR".into()),
                });
            }
            if entries.is_empty() {
                return Err(format!(
                    "no *-iaca.pem in {}: run `kmid keys issuers --out {}` first",
                    keys.display(),
                    keys.display()
                )
                .into());
            }
            let n = entries.len();
            let list = kmid::mdoc::vical::Vical {
                version: "1.0".into(),
                provider: "kmid VICAL provider (test)".into(),
                date: now,
                issue_id: Some(u64::try_from(now.unix_timestamp()).unwrap_or(0)),
                next_update: Some(now + time::Duration::days(30)),
                entries,
            };
            write(
                &keys.join("korea.vical"),
                list.sign(&signer_key, std::slice::from_ref(&signer))?,
            )?;
            let config = TrustConfig {
                vicals: vec![kmid::trust::VicalConfig {
                    file: "korea.vical".into(),
                    anchor: "vical-root.pem".into(),
                    purposes: vec![
                        TrustPurpose::MdocIssuer,
                        TrustPurpose::SdJwtVcIssuer,
                        TrustPurpose::StatusListSigner,
                    ],
                }],
                ..TrustConfig::default()
            };
            write(&keys.join("vical-trust.toml"), config.to_toml()?)?;
            Ok(format!(
                "a VICAL of {n} IACAs in {} (trust it with --trust {})",
                keys.join("korea.vical").display(),
                keys.join("vical-trust.toml").display()
            ))
        }
        KeysCommand::Readers { out, name, dns } => {
            use kmid::crypto::x509::{CertificateKind, CertificateParams, issue_certificate};
            let now = OffsetDateTime::now_utc();
            let params = |kind, cn: String, years: i64| CertificateParams {
                kind,
                country: "KR".into(),
                organization: Some("kmid relying parties".into()),
                state_or_province: None,
                common_name: cn,
                not_before: now - time::Duration::days(1),
                not_after: now + time::Duration::days(365 * years),
                issuer_alt_name: Some("https://reader.kmid.invalid".into()),
                crl_uri: Some("https://reader.kmid.invalid/crl".into()),
                dns_names: Vec::new(),
            };
            let root_key = PrivateKey::generate(Curve::P256)?;
            let root = issue_certificate(
                &params(CertificateKind::ReaderRoot, format!("{name} root"), 10),
                root_key.public_key(),
                None,
                &root_key,
                &SystemRandom,
            )?;
            let reader_key = PrivateKey::generate(Curve::P256)?;
            let reader = issue_certificate(
                &CertificateParams {
                    dns_names: dns.iter().cloned().collect(),
                    ..params(CertificateKind::ReaderAuthentication, name.clone(), 1)
                },
                reader_key.public_key(),
                Some(&root),
                &root_key,
                &SystemRandom,
            )?;
            write(&out.join("reader-root.pem"), root.to_pem()?)?;
            write(&out.join("reader.pem"), reader.to_pem()?)?;
            write_secret(
                &out.join("reader.key.pem"),
                reader_key.to_pkcs8_pem()?.as_bytes(),
            )?;
            Ok(format!("reader root and reader in {}", out.display()))
        }
        KeysCommand::Registrar { out, iss } => {
            let key = PrivateKey::generate(Curve::P256)?;
            let mut jwk = key.public_key().to_jwk();
            jwk.kid = Some("registrar-1".into());
            write_secret(
                &out.join("registrar.key.pem"),
                key.to_pkcs8_pem()?.as_bytes(),
            )?;
            write(
                &out.join("registrar.jwks.json"),
                format!(
                    "{}\n",
                    serde_json::to_string_pretty(&json!({ "keys": [jwk] }))?
                ),
            )?;
            write(&out.join("registrar.iss"), format!("{iss}\n"))?;
            Ok(format!(
                "registrar {iss} in {dir}; a wallet trusts it with:\n[[issuer]]\niss = \"{iss}\"\njwks = \"{jwks}\"\npurposes = [\"registrar\"]",
                dir = out.display(),
                jwks = out.join("registrar.jwks.json").display()
            ))
        }
        KeysCommand::Register {
            registrar,
            reader,
            client_id,
            legal_basis,
            days,
            out,
        } => {
            let key = PrivateKey::from_pem(&read_text(&registrar.join("registrar.key.pem"))?)?;
            let iss = read_text(&registrar.join("registrar.iss"))?
                .trim()
                .to_owned();
            let verifier = match (reader, client_id) {
                (Some(dir), _) => {
                    let reader = Certificate::from_pem(&read_text(&dir.join("reader.pem"))?)?;
                    kmid::oid4vc::request::ClientId::x509_hash(
                        kmid::crypto::CryptoProvider::get_default(),
                        &reader,
                    )?
                    .to_string()
                }
                (None, Some(id)) => id.clone(),
                (None, None) => return Err("give --reader or --client-id".into()),
            };
            let now = OffsetDateTime::now_utc().replace_nanosecond(0)?;
            let signer: Arc<dyn Signer> = Arc::new(key);
            let jwt = kmid::registration::RegistrationAttestation {
                registrar: iss,
                verifier: verifier.clone(),
                claims: vec![kmid::registration::REGISTRATION_NUMBER.into()],
                legal_basis: legal_basis.clone(),
                issued_at: now,
                expires: now + time::Duration::days(*days),
            }
            .sign(&signer, "registrar-1")?;
            write(out, format!("{jwt}\n"))?;
            Ok(format!(
                "registration attestation for {verifier} in {}",
                out.display()
            ))
        }
        KeysCommand::WalletProvider { out, iss } => {
            use kmid::crypto::x509::{CertificateKind, CertificateParams, issue_certificate};
            let now = OffsetDateTime::now_utc();
            let params = |kind, cn: &str, years: i64| CertificateParams {
                kind,
                country: "KR".into(),
                organization: Some("kmid wallet provider".into()),
                state_or_province: None,
                common_name: cn.into(),
                not_before: now - time::Duration::days(1),
                not_after: now + time::Duration::days(365 * years),
                issuer_alt_name: Some(iss.clone()),
                crl_uri: None,
                dns_names: Vec::new(),
            };
            let root_key = PrivateKey::generate(Curve::P256)?;
            let root = issue_certificate(
                &params(CertificateKind::ReaderRoot, "kmid wallet provider root", 10),
                root_key.public_key(),
                None,
                &root_key,
                &SystemRandom,
            )?;
            let signer_key = PrivateKey::generate(Curve::P256)?;
            let signer = issue_certificate(
                &params(CertificateKind::JwtSigner, "kmid wallet attestations", 1),
                signer_key.public_key(),
                Some(&root),
                &root_key,
                &SystemRandom,
            )?;
            write(&out.join("wallet-provider-root.pem"), root.to_pem()?)?;
            write(&out.join("wallet-provider.pem"), signer.to_pem()?)?;
            write_secret(
                &out.join("wallet-provider.key.pem"),
                signer_key.to_pkcs8_pem()?.as_bytes(),
            )?;
            write(&out.join("wallet-provider.iss"), format!("{iss}\n"))?;
            Ok(format!(
                "wallet provider {iss} in {} (issuers trust wallet-provider-root.pem)",
                out.display()
            ))
        }
        KeysCommand::Holder { out } => {
            let key = PrivateKey::generate(Curve::P256)?;
            write_secret(out, key.to_pkcs8_pem()?.as_bytes())?;
            Ok(format!(
                "holder key {} (thumbprint {})",
                out.display(),
                key.public_key().thumbprint_sha256()?
            ))
        }
    }
}

/// `kmid card sample NAME`.
pub(crate) fn sample_card(name: &str) -> Result<String, Error> {
    let card = match name {
        "resident" => Card::from(samples::resident()),
        "resident-minor" => Card::from(samples::resident_minor()),
        "foreigner" => Card::from(samples::foreigner()),
        "permanent-resident" => Card::from(samples::permanent_resident()),
        "overseas-national" => Card::from(samples::overseas_national()),
        other => {
            return Err(format!(
                "no sample {other:?}: resident, resident-minor, foreigner, permanent-resident, overseas-national"
            )
            .into());
        }
    };
    Ok(serde_json::to_string_pretty(&card)?)
}

pub(crate) fn code_of(card: CardType) -> &'static str {
    card_code(card)
}

/// `kmid issue`.
pub(crate) fn issue(args: &IssueArgs) -> Result<String, Error> {
    let card = card(&args.card)?;
    let issuer = issuer(&args.keys, authority_for(card.card_type()))?;
    let holder = public_key(&args.holder)?;
    let formats = match args.format {
        FormatArg::Mdoc => Formats::Mdoc,
        FormatArg::SdJwt => Formats::SdJwtVc,
        FormatArg::Both => Formats::Both,
    };
    let issued = issuer.issue(&card, &holder, formats, parse_at(args.at.as_deref())?)?;
    let code = code_of(card.card_type());
    let mut lines = Vec::new();
    if let Some(m) = issued.mdoc {
        let path = args.out.join(format!("{code}.mdoc.cbor"));
        write(&path, m.issuer_signed.to_bytes())?;
        lines.push(format!(
            "{} (registry credential {}, status index {})",
            path.display(),
            m.credential,
            m.status.idx
        ));
    }
    if let Some(s) = issued.sd_jwt {
        let path = args.out.join(format!("{code}.sd-jwt"));
        write(&path, format!("{}\n", s.sd_jwt.to_compact()))?;
        lines.push(format!(
            "{} (registry credential {}, status index {})",
            path.display(),
            s.credential,
            s.status.idx
        ));
    }
    Ok(lines.join("\n"))
}

fn template(arg: TemplateArg, legal_basis: Option<&String>) -> Result<Template, Error> {
    Ok(match arg {
        TemplateArg::AgeCheck => Template::AgeCheck,
        TemplateArg::Identity => Template::Identity,
        TemplateArg::FullIdentity => Template::FullIdentity {
            legal_basis: legal_basis
                .cloned()
                .ok_or("full-identity needs --legal-basis")?,
        },
    })
}

/// A DeviceRequest described in JSON (`kmid request --device-request`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DeviceRequestJson {
    doc_requests: Vec<DocRequestJson>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DocRequestJson {
    doc_type: String,
    name_spaces: BTreeMap<String, BTreeMap<String, bool>>,
}

/// The ItemsRequests of a `--device-request` file.
fn items_requests(path: &Path) -> Result<Vec<kmid::mdoc::model::ItemsRequest>, Error> {
    let parsed: DeviceRequestJson = serde_json::from_slice(&read(path)?)
        .map_err(|e| format!("{}: not a DeviceRequest description: {e}", path.display()))?;
    if parsed.doc_requests.is_empty() {
        return Err(format!("{}: no docRequests", path.display()).into());
    }
    let mut out = Vec::new();
    for doc in parsed.doc_requests {
        if doc.doc_type.is_empty() || doc.name_spaces.values().all(BTreeMap::is_empty) {
            return Err(format!(
                "{}: a docRequest needs a docType and at least one element",
                path.display()
            )
            .into());
        }
        let mut items = kmid::mdoc::model::ItemsRequest::for_doc_type(doc.doc_type);
        for (namespace, elements) in &doc.name_spaces {
            for (element, retain) in elements {
                items.ask(namespace, element, *retain);
            }
        }
        out.push(items);
    }
    Ok(out)
}

/// `kmid request`.
pub(crate) fn request(args: &RequestArgs) -> Result<String, Error> {
    if let Some(path) = &args.device_request {
        let items = items_requests(path)?;
        let request = match &args.reader {
            Some(dir) => {
                let key = PrivateKey::from_pem(&read_text(&dir.join("reader.key.pem"))?)?;
                let chain = [Certificate::from_pem(&read_text(&dir.join("reader.pem"))?)?];
                let transcript = transcript(args.transcript.as_ref())?;
                let mut signed = Vec::new();
                for items in items {
                    signed.push(kmid::mdoc::reader::signed_doc_request(
                        items,
                        &transcript,
                        &key,
                        &chain,
                    )?);
                }
                DeviceRequest::new(signed)
            }
            None => DeviceRequest::new(
                items
                    .into_iter()
                    .map(kmid::mdoc::model::DocRequest::new)
                    .collect(),
            ),
        };
        write(&args.out, request.to_bytes())?;
        return Ok(format!("DeviceRequest {}", args.out.display()));
    }
    let nonce = match &args.nonce {
        Some(n) => n.clone(),
        None => {
            let mut bytes = [0u8; 16];
            kmid::crypto::Random::fill(&SystemRandom, &mut bytes)?;
            kmid::crypto::jose::b64url(&bytes)
        }
    };
    let openid4vp = |query: Value| {
        json!({
            "response_type": "vp_token",
            "response_mode": "direct_post",
            "client_id": args.client_id,
            "response_uri": args.response_uri,
            "nonce": nonce,
            "dcql_query": query,
        })
    };
    if let Some(dir) = &args.signed {
        let query = match &args.dcql {
            Some(path) => DcqlQuery::from_json(&read(path)?)?,
            None => {
                let (Some(template_arg), Some(card), Some(format)) =
                    (args.template, args.card, args.format)
                else {
                    return Err("give --template, --card and --format, or --dcql".into());
                };
                let format = match format {
                    FormatArg::Mdoc => Format::Mdoc,
                    FormatArg::SdJwt => Format::SdJwtVc,
                    FormatArg::Both => return Err("a request asks for one format".into()),
                };
                template(template_arg, args.legal_basis.as_ref())?
                    .dcql_query(card.card_type(), format)
            }
        };
        return signed_request(args, dir, &query);
    }
    if let Some(path) = &args.dcql {
        let bytes = read(path)?;
        let query = DcqlQuery::from_json(&bytes)?;
        query.validate()?;
        let request = openid4vp(serde_json::from_slice(&bytes)?);
        write(
            &args.out,
            format!("{}\n", serde_json::to_string_pretty(&request)?),
        )?;
        return Ok(format!("OpenID4VP request {}", args.out.display()));
    }
    let (Some(template_arg), Some(card), Some(format)) = (args.template, args.card, args.format)
    else {
        return Err("give --template, --card and --format, or --dcql, or --device-request".into());
    };
    let template = template(template_arg, args.legal_basis.as_ref())?;
    let card = card.card_type();
    // The registration number goes only to an authenticated verifier with a registration
    // attestation (spec/protocols.md): a full-identity request without one could never be
    // answered.
    if matches!(template, Template::FullIdentity { .. }) {
        if !args.proximity && !args.annex_c {
            return Err("full-identity over OpenID4VP needs a signed request with a registration attestation: pass --signed DIR --registration FILE --transaction FILE".into());
        }
        if args.registration.is_none() {
            return Err("full-identity needs the reader's registration attestation: run `kmid keys registrar`, then `kmid keys register --reader DIR`, and pass --reader DIR --registration FILE".into());
        }
    }
    if args.annex_c {
        if format != FormatArg::Mdoc {
            return Err("--annex-c is for --format mdoc".into());
        }
        return annex_c_request(args, template, card);
    }
    if args.proximity {
        if format != FormatArg::Mdoc {
            return Err("--proximity is for --format mdoc".into());
        }
        let request = match (&args.reader, &args.registration) {
            (Some(dir), registration) => {
                let key = PrivateKey::from_pem(&read_text(&dir.join("reader.key.pem"))?)?;
                let chain = [Certificate::from_pem(&read_text(&dir.join("reader.pem"))?)?];
                let transcript = transcript(args.transcript.as_ref())?;
                match registration {
                    Some(file) => template.mdoc_request_registered(
                        card,
                        &transcript,
                        &key,
                        &chain,
                        read_text(file)?.trim(),
                    )?,
                    None => template.mdoc_request_signed(card, &transcript, &key, &chain)?,
                }
            }
            (None, _) => template.mdoc_request(card),
        };
        write(&args.out, request.to_bytes())?;
        return Ok(format!("DeviceRequest {}", args.out.display()));
    }
    let format = match format {
        FormatArg::Mdoc => Format::Mdoc,
        FormatArg::SdJwt => Format::SdJwtVc,
        FormatArg::Both => return Err("a request asks for one format".into()),
    };
    let request = openid4vp(serde_json::to_value(template.dcql_query(card, format))?);
    write(
        &args.out,
        format!("{}\n", serde_json::to_string_pretty(&request)?),
    )?;
    Ok(format!("OpenID4VP request {}", args.out.display()))
}

/// A status resolver for a verifier that only makes requests (it never resolves).
struct NoStatus;

impl kmid::schema::status::StatusResolver for NoStatus {
    fn resolve(
        &self,
        reference: &kmid::schema::status::StatusReference,
        _: &kmid::schema::status::StatusContext<'_>,
        _: OffsetDateTime,
    ) -> Result<kmid::schema::status::TokenStatus, kmid::schema::status::StatusError> {
        Err(kmid::schema::status::StatusError::Unavailable {
            uri: reference.uri.clone(),
            reason: kmid::schema::status::FetchFailure::NotAvailable,
        })
    }
}

/// `kmid request --signed`: a signed OpenID4VP request (HAIP 1.0) and its pending transaction.
fn signed_request(args: &RequestArgs, dir: &Path, query: &DcqlQuery) -> Result<String, Error> {
    use kmid::oid4vc::request::ResponseMode;
    let key = PrivateKey::from_pem(&read_text(&dir.join("reader.key.pem"))?)?;
    let leaf = Certificate::from_pem(&read_text(&dir.join("reader.pem"))?)?;
    let signer: Arc<dyn Signer> = Arc::new(key);
    let access = match args.client_id_prefix {
        PrefixArg::X509Hash => kmid::VerifierAccess::x509_hash(
            kmid::crypto::CryptoProvider::get_default(),
            signer,
            vec![leaf],
        )?,
        PrefixArg::X509SanDns => {
            let dns = leaf
                .dns_names()
                .first()
                .cloned()
                .ok_or("the access certificate has no DNS name: make it with `kmid keys readers --dns NAME`")?;
            kmid::VerifierAccess::x509_san_dns(signer, vec![leaf], &dns)?
        }
    };
    let access = match &args.registration {
        Some(file) => access.with_registration(read_text(file)?.trim().to_owned()),
        None => access,
    };
    let verifier = Verifier::new(TrustStore::new(), Arc::new(NoStatus));
    let at = OffsetDateTime::now_utc().replace_nanosecond(0)?;
    let transaction_file = args
        .transaction
        .as_ref()
        .ok_or("--signed needs --transaction FILE")?;
    let options = kmid::RequestOptions {
        same_device: false,
        transactions: match (&args.consent, &args.consent_reference) {
            (Some(description), Some(reference)) => {
                vec![kmid::oid4vc::transaction::TransactionConsent {
                    credential_ids: query.credentials.iter().map(|c| c.id.clone()).collect(),
                    description: description.clone(),
                    reference: reference.clone(),
                }]
            }
            _ => Vec::new(),
        },
    };
    let (out, saved, what) = match args.response_mode {
        ModeArg::DirectPost | ModeArg::DirectPostJwt => {
            let mode = if args.response_mode == ModeArg::DirectPost {
                ResponseMode::DirectPost
            } else {
                ResponseMode::DirectPostJwt
            };
            let online = verifier.request_online_with(
                &access,
                query,
                mode,
                &args.response_uri,
                &options,
                at,
            )?;
            (
                format!(
                    "{}\n",
                    online
                        .url_by_value("openid4vp://")
                        .ok_or("the request was not signed")?
                ),
                online.export()?,
                "request URL",
            )
        }
        ModeArg::DcApi | ModeArg::DcApiJwt => {
            let origin = args
                .origin
                .as_deref()
                .ok_or("a DC API request needs --origin (the verifier's web Origin)")?;
            let presentation = verifier.request_dc_api_with(
                &[&access],
                query,
                args.response_mode == ModeArg::DcApiJwt,
                origin,
                &options,
                at,
            )?;
            let request = json!({
                "protocol": presentation.protocol.as_str(),
                "data": presentation.data,
            });
            (
                format!("{}\n", serde_json::to_string_pretty(&request)?),
                presentation.export()?,
                "DC API request",
            )
        }
    };
    write(&args.out, out)?;
    write_secret(
        transaction_file,
        format!("{}\n", serde_json::to_string_pretty(&saved)?),
    )?;
    Ok(format!(
        "signed OpenID4VP {what} {} (transaction {})",
        args.out.display(),
        transaction_file.display()
    ))
}

/// `kmid request --annex-c`: an `org-iso-mdoc` request over the DC API and its pending state.
fn annex_c_request(
    args: &RequestArgs,
    template: Template,
    card: CardType,
) -> Result<String, Error> {
    let origin = args
        .origin
        .as_deref()
        .ok_or("--annex-c needs --origin (the verifier's web Origin)")?;
    let transaction_file = args
        .transaction
        .as_ref()
        .ok_or("--annex-c needs --transaction FILE")?;
    let reader = match &args.reader {
        Some(dir) => Some((
            PrivateKey::from_pem(&read_text(&dir.join("reader.key.pem"))?)?,
            [Certificate::from_pem(&read_text(&dir.join("reader.pem"))?)?],
        )),
        None => None,
    };
    let registration = match &args.registration {
        Some(_) if reader.is_none() => {
            return Err(
                "--registration needs --reader: the attestation names the reader's certificate"
                    .into(),
            );
        }
        Some(file) => Some(read_text(file)?.trim().to_owned()),
        None => None,
    };
    let verifier = Verifier::new(TrustStore::new(), Arc::new(NoStatus));
    let pending =
        verifier.request_annex_c(origin, |transcript| match (&reader, &registration) {
            (Some((key, chain)), Some(attestation)) => {
                template.mdoc_request_registered(card, transcript, key, chain, attestation)
            }
            (Some((key, chain)), None) => {
                template.mdoc_request_signed(card, transcript, key, chain)
            }
            (None, _) => Ok(template.mdoc_request(card)),
        })?;
    let request = json!({ "protocol": kmid::mdoc::annex_c::PROTOCOL, "data": pending.data });
    write(
        &args.out,
        format!("{}\n", serde_json::to_string_pretty(&request)?),
    )?;
    write_secret(
        transaction_file,
        format!("{}\n", serde_json::to_string_pretty(&pending.export()?)?),
    )?;
    Ok(format!(
        "Annex C request {} (transaction {})",
        args.out.display(),
        transaction_file.display()
    ))
}

/// A parsed request file.
enum Request {
    OpenId4Vp(DcqlQuery, OpenId4VpRequest),
    /// A request URL (a signed Request Object by value).
    Url(kmid::oid4vc::request::RequestUrl),
    /// A DC API request: `protocol` and `data`.
    DcApi(String, Value),
    Proximity(DeviceRequest),
}

fn load_request(path: &Path) -> Result<Request, Error> {
    let bytes = read(path)?;
    let text = core::str::from_utf8(&bytes).unwrap_or_default().trim();
    if ["openid4vp:", "haip-vp:", "https:"]
        .iter()
        .any(|scheme| text.starts_with(scheme))
    {
        return Ok(Request::Url(kmid::oid4vc::request::RequestUrl::parse(
            text,
        )?));
    }
    if bytes.first() == Some(&b'{') {
        let value: Value = serde_json::from_slice(&bytes)?;
        if let (Some(protocol), Some(data)) = (
            value.get("protocol").and_then(Value::as_str),
            value.get("data"),
        ) {
            return Ok(Request::DcApi(protocol.to_owned(), data.clone()));
        }
        let text = |k: &str| -> Result<String, Error> {
            Ok(value
                .get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("the request has no {k}"))?
                .to_owned())
        };
        let query = value
            .get("dcql_query")
            .ok_or("the request has no dcql_query")?;
        let query = DcqlQuery::from_json(query.to_string().as_bytes())?;
        // The response encryption key's thumbprint (base64url), for an mdoc answered encrypted.
        let jwk_thumbprint = match value.get("jwk_thumbprint").and_then(Value::as_str) {
            Some(t) => Some(
                kmid::crypto::jose::b64url_decode(t)
                    .map_err(|_| "the request's jwk_thumbprint is not base64url")?,
            ),
            None => None,
        };
        // Over the DC API the Origin binds the answer: the audience is `origin:<Origin>` even
        // for a signed request, and there is no response_uri (OpenID4VP Appendix A.4).
        if let Some(origin) = value.get("origin").and_then(Value::as_str) {
            let request = OpenId4VpRequest::dc_api(origin, &text("nonce")?, jwk_thumbprint);
            if let Some(client_id) = value.get("client_id").and_then(Value::as_str)
                && client_id != request.client_id
            {
                return Err(format!(
                    "over the DC API the audience is {} even for a signed request (OpenID4VP A.4), not the client_id {client_id}: leave client_id out",
                    request.client_id
                )
                .into());
            }
            return Ok(Request::OpenId4Vp(query, request));
        }
        Ok(Request::OpenId4Vp(
            query,
            OpenId4VpRequest {
                client_id: text("client_id")?,
                nonce: text("nonce")?,
                response_uri: text("response_uri")?,
                origin: None,
                jwk_thumbprint,
            },
        ))
    } else {
        Ok(Request::Proximity(DeviceRequest::from_bytes(
            &bytes,
            &CborLimits::default(),
        )?))
    }
}

fn transcript(path: Option<&PathBuf>) -> Result<SessionTranscript, Error> {
    Ok(match path {
        Some(p) => SessionTranscript::from_tagged_bytes(&read(p)?, &CborLimits::default())?,
        None => SessionTranscript::new(None, None, &Handover::Qr)?,
    })
}

/// `kmid present`.
/// A holder's wallet: the trust of the keys directory (or a trust file), the verifier access
/// root when given, and the credentials in `credentials` (mdoc IssuerSigned or SD-JWT VC
/// files), each checked as it is stored.
pub(crate) fn holder_wallet(
    keys: &Path,
    trust: Option<&Path>,
    holder: &Path,
    verifier_trust: Option<&Path>,
    credentials: &[PathBuf],
    at: OffsetDateTime,
) -> Result<Wallet, Error> {
    let key = PrivateKey::from_pem(&read_text(holder)?)?;
    let signer: Arc<dyn Signer> = Arc::new(key);
    let config = trust_config(keys, trust)?;
    // `mso_mdoc_zk` queries are answered over the built-in circuit (loaded only when one is).
    let mut wallet = Wallet::from_trust_config(signer, &config)?
        .with_zk_circuits(Arc::new(kmid::zk::ZkCircuits::age_check()));
    if let Some(root) = verifier_trust {
        let mut verifiers = config.trust_store(TrustPurpose::VerifierAccess)?;
        verifiers.add(Certificate::from_pem(&read_text(root)?)?)?;
        wallet = wallet.with_verifier_trust(verifiers);
    }
    for path in credentials {
        let bytes = read(path)?;
        if bytes.starts_with(b"ey") {
            let text = String::from_utf8(bytes)?;
            wallet.store_sd_jwt(text.trim(), at)?;
        } else {
            wallet.store_mdoc(
                IssuerSigned::from_bytes(&bytes, &CborLimits::default())?,
                at,
            )?;
        }
    }
    Ok(wallet)
}

pub(crate) fn present(args: &PresentArgs) -> Result<String, Error> {
    let at = parse_at(args.at.as_deref())?;
    let mut wallet = holder_wallet(
        &args.keys,
        args.trust.as_deref(),
        &args.holder,
        args.verifier_trust.as_deref(),
        &args.credentials,
        at,
    )?;
    if let Some(root) = &args.reader_trust {
        let mut readers = TrustStore::new();
        readers.add(Certificate::from_pem(&read_text(root)?)?)?;
        wallet = wallet.require_reader_auth(readers);
    }
    match load_request(&args.request)? {
        Request::OpenId4Vp(query, request) => {
            let token = wallet.answer_dcql(&query, &request, at)?;
            write(
                &args.out,
                format!("{}\n", serde_json::to_string_pretty(&token)?),
            )?;
            Ok(format!("VP Token {}", args.out.display()))
        }
        Request::Proximity(request) => {
            let transcript = transcript(args.transcript.as_ref())?;
            let response = wallet.respond_mdoc(&request, &transcript, at)?;
            write(&args.out, response.to_bytes())?;
            Ok(format!("DeviceResponse {}", args.out.display()))
        }
        Request::Url(url) => match url {
            kmid::oid4vc::request::RequestUrl::ByValue { client_id, request } => {
                let answer = wallet.answer_online(&request, Some(&client_id), None, at)?;
                write(&args.out, format!("{}\n", answer.body))?;
                Ok(format!(
                    "response body {} (POST it to {})",
                    args.out.display(),
                    answer.response_uri
                ))
            }
            kmid::oid4vc::request::RequestUrl::ByReference { request_uri, .. } => Err(format!(
                "the request is at {request_uri}: the CLI fetches nothing over the network; pass the request by value"
            )
            .into()),
        },
        Request::DcApi(protocol, data) => {
            let origin = args
                .origin
                .as_deref()
                .ok_or("a DC API request needs --origin (the Origin the platform reports)")?;
            let response = if protocol == kmid::mdoc::annex_c::PROTOCOL {
                wallet.answer_annex_c(&data, origin, at)?
            } else {
                wallet.answer_dc_api(&protocol, &data, origin, at)?
            };
            write(
                &args.out,
                format!("{}\n", serde_json::to_string_pretty(&response)?),
            )?;
            Ok(format!("DC API response data {}", args.out.display()))
        }
    }
}

/// The certificates of a PEM file (a CA bundle), DER.
pub(crate) fn pem_certificates(file: &Path) -> Result<Vec<Vec<u8>>, Error> {
    let text = read_text(file)?;
    let mut certificates = Vec::new();
    for block in text.split_inclusive("-----END CERTIFICATE-----") {
        if block.contains("-----BEGIN CERTIFICATE-----") {
            certificates.push(Certificate::from_pem(block.trim())?.der().to_vec());
        }
    }
    if certificates.is_empty() {
        return Err(format!("{}: no certificate", file.display()).into());
    }
    Ok(certificates)
}

/// Status lists from a keys directory's published index, and any other `https` list over
/// the network (kmid-server's fetcher: bounded in size and time, the failure's reason kept),
/// its runtime started only when a list is fetched.
struct LocalThenHttps {
    status_dir: PathBuf,
    index: BTreeMap<String, Value>,
    extra_roots: Vec<Vec<u8>>,
    https: std::sync::OnceLock<Result<(tokio::runtime::Runtime, kmid_server::HttpFetcher), String>>,
}

impl kmid::status::StatusListFetcher for LocalThenHttps {
    fn fetch(
        &self,
        uri: &str,
        accept: &str,
    ) -> Result<Vec<u8>, kmid::schema::status::FetchFailure> {
        use kmid::schema::status::FetchFailure;
        if let Some(entry) = self.index.get(uri) {
            let file = if accept.contains("cwt") {
                entry.get("cwt")
            } else {
                entry.get("jwt")
            }
            .and_then(Value::as_str)
            .ok_or(FetchFailure::NotAvailable)?;
            return read(&self.status_dir.join(file))
                .map(without_text_newline)
                .map_err(|_| FetchFailure::NotAvailable);
        }
        // Only https, and never the names reserved never to resolve (RFC 6761: `.invalid`,
        // `.test`, `.example`; the test PKIs' `status.kmid.invalid`): those stay unpublished,
        // with no lookup.
        let host = uri
            .strip_prefix("https://")
            .and_then(|rest| rest.split(['/', ':', '?', '#']).next())
            .unwrap_or_default()
            .to_ascii_lowercase();
        if host.is_empty()
            || [".invalid", ".test", ".example"]
                .iter()
                .any(|tld| host.ends_with(tld))
        {
            return Err(FetchFailure::NotAvailable);
        }
        let https = self.https.get_or_init(|| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            let fetcher = kmid_server::HttpFetcher::new(kmid_server::FetchConfig {
                extra_roots: self.extra_roots.clone(),
                ..kmid_server::FetchConfig::default()
            })
            .map_err(|e| e.to_string())?;
            Ok((runtime, fetcher))
        });
        match https {
            Ok((runtime, fetcher)) => runtime.block_on(fetcher.get(uri, accept)),
            Err(_) => Err(FetchFailure::Transport),
        }
    }
}

/// A verifier over the configured roots and a keys directory's published statuses; a list
/// not published there is fetched when its URI is `https` (trusting `ca_file` too).
fn verifier(
    keys: &Path,
    trust_file: Option<&Path>,
    ca_file: Option<&Path>,
) -> Result<Verifier, Error> {
    let status_dir = keys.join("status");
    let index: BTreeMap<String, Value> = match read(&status_dir.join("index.json")) {
        Ok(bytes) => serde_json::from_slice(&bytes)?,
        Err(_) => BTreeMap::new(),
    };
    let extra_roots = match ca_file {
        Some(file) => pem_certificates(file)?,
        None => Vec::new(),
    };
    let fetch = LocalThenHttps {
        status_dir,
        index,
        extra_roots,
        https: std::sync::OnceLock::new(),
    };
    verifier_over(keys, trust_file, fetch)
}

/// The verifier of a keys directory (or a trust file) fetching status lists through `fetch`.
pub(crate) fn verifier_over(
    keys: &Path,
    trust_file: Option<&Path>,
    fetch: impl kmid::status::StatusListFetcher + 'static,
) -> Result<Verifier, Error> {
    let config = trust_config(keys, trust_file)?;
    if !config.metadata_issuers.is_empty() {
        // Never silently dropped: the CLI has no HTTPS client to fetch metadata with.
        return Err("the trust configuration lists metadata_issuers, but the CLI fetches nothing over the network: configure those issuers' keys as [[issuer]] JWK Sets (the library resolves metadata through TrustConfig::metadata_resolver)".into());
    }
    let issuers = [TrustPurpose::MdocIssuer, TrustPurpose::SdJwtVcIssuer];
    let mut has_issuers = false;
    for purpose in issuers {
        has_issuers |= !config.trust_store(purpose)?.roots().is_empty()
            || !config.issuer_keys(purpose)?.is_empty();
    }
    if !has_issuers {
        return Err(
            "the trust configuration has no anchor or key for mdoc or SD-JWT VC issuers".into(),
        );
    }
    let status_signers = status_keys(&config)?;
    let resolver = StatusListResolver::new(fetch, status_signers, TokenPolicy::default());
    Ok(Verifier::from_trust_config(
        &config,
        Arc::new(resolver),
        Some(crl_source(keys)),
    )?)
}

/// The outcome of `kmid verify`, for people or as JSON.
pub(crate) fn verify(args: &VerifyArgs) -> Result<(bool, Value), Error> {
    let at = parse_at(args.at.as_deref())?;
    let verifier = verifier(&args.keys, args.trust.as_deref(), args.ca_file.as_deref())?;
    let presentation = read(&args.presentation)?;
    let outcome: Result<Vec<VerifiedCredential>, KmidError> = if let Some(file) = &args.transaction
    {
        let saved: Value = serde_json::from_slice(&read(file)?)?;
        match saved.get("kind").and_then(Value::as_str) {
            Some("annex_c") => {
                let pending = kmid::AnnexCRequest::import(&saved)?;
                let data: Value = serde_json::from_slice(&presentation)
                    .map_err(|e| format!("{}: not JSON: {e}", args.presentation.display()))?;
                verifier.complete_annex_c(&pending, &data, at)
            }
            Some("dc_api") => {
                let mut pending = kmid::DcApiPresentation::import(&saved)?;
                let data: Value = serde_json::from_slice(&presentation)
                    .map_err(|e| format!("{}: not JSON: {e}", args.presentation.display()))?;
                verifier
                    .complete_dc_api(&mut pending, &data, at)
                    .and_then(|()| pending.result().map(<[_]>::to_vec))
                    .map(|seen| seen.into_iter().map(|(_, p)| p).collect())
            }
            _ => {
                let mut pending = kmid::OnlineRequest::import(&saved)?;
                let body = presentation
                    .strip_suffix(b"\n")
                    .unwrap_or(&presentation)
                    .to_vec();
                verifier
                    .complete_online(&mut pending, &body, at)
                    .and_then(|code| pending.result(code.as_deref()).map(<[_]>::to_vec))
                    .map(|seen| seen.into_iter().map(|(_, p)| p).collect())
            }
        }
    } else {
        let request_file = args
            .request
            .as_ref()
            .ok_or("give --request or --transaction")?;
        match load_request(request_file)? {
            Request::OpenId4Vp(query, request) => {
                // A file that is not JSON at all is unusable input (exit 2: the runner passed
                // the wrong file); JSON that is not a VP Token is an invalid presentation
                // (exit 1). Both read without building a JSON tree.
                serde_json::from_slice::<serde::de::IgnoredAny>(&presentation).map_err(|e| {
                    format!(
                        "{}: not JSON (line {}, column {}), so not a VP Token",
                        args.presentation.display(),
                        e.line(),
                        e.column()
                    )
                })?;
                kmid::parse_vp_token(&presentation).and_then(|token| {
                    verifier
                        .verify_vp_token_any(&query, &request, &token, at)
                        .map(|seen| seen.into_iter().map(|(_, p)| p).collect())
                })
            }
            Request::Proximity(request) => {
                let transcript = transcript(args.transcript.as_ref())?;
                verifier.verify_mdoc_any(&request, &presentation, &transcript, at)
            }
            Request::Url(_) | Request::DcApi(..) => {
                return Err(
                    "a signed request is verified with its --transaction file, not --request"
                        .into(),
                );
            }
        }
    };
    Ok(match outcome {
        Ok(seen) => (
            true,
            json!({
                "valid": true,
                "presentations": seen.iter().map(VerifiedCredential::to_json).collect::<Vec<_>>(),
            }),
        ),
        Err(e) => {
            let mut result = json!({ "valid": false, "error": e.code(), "message": e.to_string() });
            // A status or a CRL nobody published: say what publishes it (not for a list that
            // was fetched and failed: its reason is in the code).
            let unpublished = [
                ("StatusUnavailable.Unavailable", "status", "status lists"),
                ("RevocationUnavailable", "crl", "CRLs"),
            ]
            .into_iter()
            .find(|(code, dir, _)| {
                (e.code().ends_with(code) || (*dir == "crl" && e.code().contains(code)))
                    && !args.keys.join(dir).join("index.json").is_file()
            });
            if let (Some((_, dir, what)), Some(object)) = (unpublished, result.as_object_mut()) {
                object.insert(
                    "hint".into(),
                    json!(format!(
                        "no {what} in {}: run `kmid status publish --keys {}`",
                        args.keys.join(dir).display(),
                        args.keys.display()
                    )),
                );
            }
            (false, result)
        }
    })
}

/// `kmid status`.
pub(crate) fn status(command: &StatusCommand) -> Result<String, Error> {
    let actor = |reason| Actor {
        who: "kmid-cli",
        at: OffsetDateTime::now_utc(),
        reason,
    };
    match command {
        StatusCommand::Read {
            token,
            keys,
            trust: trust_file,
            uri,
            at,
        } => read_status(
            token,
            keys,
            trust_file.as_deref(),
            uri.as_deref(),
            at.as_deref(),
        ),
        StatusCommand::Publish { keys, ttl, at } => {
            let at = parse_at(at.as_deref())?;
            let status_dir = keys.join("status");
            let mut index = serde_json::Map::new();
            let mut n = 0usize;
            for authority in IssuingAuthority::ALL {
                if !keys
                    .join(format!("{}-ds.key.pem", authority.slug()))
                    .is_file()
                {
                    continue;
                }
                let issuer = issuer(keys, authority)?;
                for list in issuer.publish(at, *ttl)? {
                    let stem = format!(
                        "{}-{}",
                        authority.slug(),
                        list.uri.rsplit('/').next().unwrap_or("list")
                    );
                    write(
                        &status_dir.join(format!("{stem}.jwt")),
                        format!("{}\n", list.jwt),
                    )?;
                    write(&status_dir.join(format!("{stem}.cwt")), &list.cwt)?;
                    index.insert(
                        list.uri.clone(),
                        json!({ "jwt": format!("{stem}.jwt"), "cwt": format!("{stem}.cwt") }),
                    );
                    n += 1;
                }
            }
            write(
                &status_dir.join("index.json"),
                format!("{}\n", serde_json::to_string_pretty(&index)?),
            )?;
            let crls = publish_crls(keys, at)?;
            Ok(format!(
                "{n} status lists published to {}, {crls} CRLs to {}",
                status_dir.display(),
                keys.join("crl").display()
            ))
        }
        StatusCommand::PhoneLost(d) | StatusCommand::PhoneFound(d) => {
            let device = public_key(&d.holder)?.thumbprint_sha256()?;
            let lost = matches!(command, StatusCommand::PhoneLost(_));
            let mut changed = 0;
            for authority in IssuingAuthority::ALL {
                if !d
                    .keys
                    .join(format!("{}-ds.key.pem", authority.slug()))
                    .is_file()
                {
                    continue;
                }
                let registry = issuer(&d.keys, authority)?;
                changed += if lost {
                    registry
                        .registry()
                        .report_phone_lost(&device, &actor("phone lost"))?
                } else {
                    registry
                        .registry()
                        .reinstate_phone(&device, &actor("phone found"))?
                };
            }
            Ok(format!(
                "{changed} credentials changed (publish to make it visible)"
            ))
        }
        StatusCommand::CardLost(c) | StatusCommand::CardFound(c) => {
            let card = card(&c.card)?;
            let issuer = issuer(&c.keys, authority_for(card.card_type()))?;
            let key = issuer.card_key(&card)?;
            let changed = if matches!(command, StatusCommand::CardLost(_)) {
                issuer
                    .registry()
                    .report_card_lost(&key, &actor("card lost"))?
            } else {
                issuer
                    .registry()
                    .reinstate_card(&key, &actor("card found"))?
            };
            Ok(format!(
                "{changed} credentials changed (publish to make it visible)"
            ))
        }
        StatusCommand::Reissue { card: c, holder } => {
            let card = card(&c.card)?;
            let issuer = issuer(&c.keys, authority_for(card.card_type()))?;
            let device = public_key(holder)?.thumbprint_sha256()?;
            let changed = issuer.registry().reissue_to_new_device(
                &issuer.card_key(&card)?,
                &device,
                &actor("re-issue"),
            )?;
            Ok(format!(
                "{changed} credentials of the old phone are INVALID; issue to the new phone now"
            ))
        }
        StatusCommand::Revoke {
            keys,
            card_type,
            credential,
        } => {
            let issuer = issuer(keys, authority_for(card_type.card_type()))?;
            issuer.registry().revoke(*credential, &actor("revoked"))?;
            Ok(format!(
                "credential {credential} revoked (publish to make it visible)"
            ))
        }
    }
}

/// `kmid verify`'s summary for people.
pub(crate) fn verify_summary(result: &Value) -> String {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("?").to_owned();
    if result.get("valid") != Some(&Value::Bool(true)) {
        let hint = result
            .get("hint")
            .and_then(Value::as_str)
            .map(|h| format!("\n  {h}"))
            .unwrap_or_default();
        return format!(
            "INVALID: {} ({}){hint}",
            text(result, "message"),
            text(result, "error")
        );
    }
    let mut lines = vec!["VALID".to_owned()];
    for p in result
        .get("presentations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        lines.push(format!(
            "  {} {} from {}, status {}",
            text(p, "card"),
            text(p, "format"),
            text(p, "issuer"),
            text(p, "status")
        ));
        lines.push(format!(
            "  claims: {}",
            p.get("claims").cloned().unwrap_or_default()
        ));
    }
    lines.join("\n")
}

/// The short code of a card type in file names.
const fn card_code(card: CardType) -> &'static str {
    match card {
        CardType::Resident => "rrc",
        CardType::Foreigner => "rc",
        CardType::OverseasNational => "onid",
    }
}

#[cfg(test)]
mod tests {
    use super::without_text_newline;

    /// A published CWT whose signature ends in 0x0A is read whole (it was cut by a byte once,
    /// one token in 256); a JWT file loses its newline.
    #[test]
    fn only_text_tokens_lose_their_newline() {
        let cwt = vec![0xd2, 0x84, 0x43, 0x0a];
        assert_eq!(without_text_newline(cwt.clone()), cwt);
        assert_eq!(without_text_newline(b"eyJ.a.b\n".to_vec()), b"eyJ.a.b");
        assert_eq!(without_text_newline(b"eyJ.a.b\r\n".to_vec()), b"eyJ.a.b");
    }
}
