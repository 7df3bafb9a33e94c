//! The fixed world the bodies run in, built once from the checked-in vectors: the
//! conformance suite's trust anchors, status lists, request and transcript for the resident
//! card, a wallet holding that card, and the ISO 18013-5 Annex D session keys.

use std::sync::{Arc, OnceLock};

use kmid::crypto::x509::{Certificate, TrustStore};
use kmid::crypto::{Curve, PrivateKey, PublicKey};
use kmid::mdoc::CborLimits;
use kmid::mdoc::model::{DeviceRequest, IssuerSigned, SessionTranscript};
use kmid::schema::CardType;
use kmid::status::StatusListResolver;
use kmid::status::token::{TokenKeys, TokenPolicy};
use kmid::{SdJwtRequest, Template, Verifier, Wallet};
use kmid_testkit::Rfc6979Signer;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

macro_rules! vector {
    ($path:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../test-vectors/",
            $path
        ))
        .as_slice()
    };
}

const MANIFEST: &[u8] = vector!("conformance/manifest.json");
const ANNEX_D: &[u8] = vector!("iso18013-5-annex-d/vectors.json");
/// The conformance files the context reads, by their path in the manifest.
const FILES: &[(&str, &[u8])] = &[
    ("../pki/mois-iaca.pem", vector!("pki/mois-iaca.pem")),
    ("../pki/moj-iaca.pem", vector!("pki/moj-iaca.pem")),
    ("../pki/oka-iaca.pem", vector!("pki/oka-iaca.pem")),
    (
        "status/current/rrc-0.jwt",
        vector!("conformance/status/current/rrc-0.jwt"),
    ),
    (
        "status/current/rrc-0.cwt",
        vector!("conformance/status/current/rrc-0.cwt"),
    ),
    (
        "status/current/rc-0.jwt",
        vector!("conformance/status/current/rc-0.jwt"),
    ),
    (
        "status/current/rc-0.cwt",
        vector!("conformance/status/current/rc-0.cwt"),
    ),
    (
        "status/current/onid-0.jwt",
        vector!("conformance/status/current/onid-0.jwt"),
    ),
    (
        "status/current/onid-0.cwt",
        vector!("conformance/status/current/onid-0.cwt"),
    ),
    (
        "rrc/mdoc/age-check.device-request.cbor",
        vector!("conformance/rrc/mdoc/age-check.device-request.cbor"),
    ),
    (
        "rrc/mdoc/session-transcript.cbor",
        vector!("conformance/rrc/mdoc/session-transcript.cbor"),
    ),
    (
        "rrc/openid4vp/sd-jwt-vc/age-check.vp-token.json",
        vector!("conformance/rrc/openid4vp/sd-jwt-vc/age-check.vp-token.json"),
    ),
];
const RRC_ISSUER_SIGNED: &[u8] = vector!("conformance/rrc/issued/mdoc-issuer-signed.cbor");
const READER_ROOT: &[u8] = vector!("pki/reader-root.pem");

/// What every body may use.
pub(crate) struct Context {
    /// The conformance suite's verification time.
    pub(crate) at: OffsetDateTime,
    /// A verifier trusting the three issuers, with the suite's current status lists.
    pub(crate) verifier: Verifier,
    /// The same trust anchors.
    pub(crate) issuer_trust: TrustStore,
    /// The resident card's age-check DeviceRequest and its SessionTranscript.
    pub(crate) mdoc_request: DeviceRequest,
    pub(crate) mdoc_transcript: SessionTranscript,
    /// The resident card's age-check SD-JWT VC request.
    pub(crate) sd_jwt_request: SdJwtRequest,
    /// The resident card's age-check presentation up to and including its last `~`.
    pub(crate) sd_jwt_without_kb: String,
    /// A wallet holding the resident card's mdoc.
    pub(crate) wallet: Wallet,
    /// Status list tokens: the URI, keys and policy of the resident card's list.
    pub(crate) status_uri: String,
    pub(crate) status_keys: TokenKeys,
    pub(crate) status_policy: TokenPolicy,
    /// Annex D: the session's keys and transcript, and the reader roots (Annex D's and ours).
    pub(crate) e_device: PrivateKey,
    pub(crate) e_device_public: PublicKey,
    pub(crate) e_reader: PrivateKey,
    pub(crate) annex_transcript: SessionTranscript,
    pub(crate) reader_trust: TrustStore,
    pub(crate) annex_at: OffsetDateTime,
}

impl Context {
    /// A wallet with the resident card's device key and nothing stored.
    pub(crate) fn empty_wallet(&self) -> Wallet {
        Wallet::with_signer(holder(), self.issuer_trust.clone())
    }
}

fn holder() -> Arc<Rfc6979Signer> {
    Arc::new(Rfc6979Signer::for_test_key("holder-rrc"))
}

/// The context; built on first use.
///
/// # Panics
/// When the checked-in vectors are missing or inconsistent: nothing can be fuzzed then.
pub(crate) fn get() -> &'static Context {
    static CONTEXT: OnceLock<Context> = OnceLock::new();
    CONTEXT.get_or_init(|| build().unwrap_or_else(|e| panic!("fuzz context: {e}")))
}

fn file(name: &str) -> Result<&'static [u8], String> {
    FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
        .ok_or_else(|| format!("{name} is not embedded"))
}

fn text(bytes: &[u8]) -> Result<&str, String> {
    core::str::from_utf8(bytes).map_err(|e| e.to_string())
}

fn annex(vectors: &Value, name: &str) -> Result<Vec<u8>, String> {
    vectors
        .get(name)
        .and_then(Value::as_str)
        .and_then(crate::seeds::hex)
        .ok_or_else(|| format!("Annex D has no hex {name}"))
}

/// ISO/IEC 18013-5 Annex D's DeviceResponse (empty if the vectors could not be read), for
/// the targets that need a DeviceResponse to seal.
pub(crate) fn device_response_seed() -> Vec<u8> {
    serde_json::from_slice::<Value>(ANNEX_D)
        .ok()
        .and_then(|vectors| annex(&vectors, "device_response").ok())
        .unwrap_or_default()
}

fn build() -> Result<Context, String> {
    let err = |e: &dyn core::fmt::Display| e.to_string();
    let manifest: Value = serde_json::from_slice(MANIFEST).map_err(|e| err(&e))?;
    let at = manifest
        .get("at")
        .and_then(Value::as_str)
        .ok_or("manifest without at")?;
    let at = OffsetDateTime::parse(at, &Rfc3339).map_err(|e| err(&e))?;

    let mut trust = TrustStore::new();
    for anchor in manifest
        .get("trust")
        .and_then(Value::as_array)
        .ok_or("manifest without trust")?
    {
        let name = anchor.get("file").and_then(Value::as_str).unwrap_or("");
        let doc_types: Vec<String> = anchor
            .get("doc_types")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let cert = Certificate::from_pem(text(file(name)?)?).map_err(|e| err(&e))?;
        trust.add_scoped(cert, doc_types).map_err(|e| err(&e))?;
    }

    let mut tokens: Vec<(String, Vec<u8>, Vec<u8>)> = Vec::new();
    for list in manifest
        .pointer("/status_sets/current")
        .and_then(Value::as_array)
        .ok_or("manifest without the current status set")?
    {
        let field = |k: &str| list.get(k).and_then(Value::as_str).unwrap_or("");
        let jwt = file(field("jwt"))?;
        let jwt = jwt.strip_suffix(b"\n").unwrap_or(jwt).to_vec();
        tokens.push((field("uri").to_owned(), jwt, file(field("cwt"))?.to_vec()));
    }
    let status_uri = tokens
        .first()
        .map(|(uri, _, _)| uri.clone())
        .ok_or("no status lists")?;
    let fetch = move |uri: &str, accept: &str| {
        tokens
            .iter()
            .find(|(u, _, _)| u == uri)
            .map(|(_, jwt, cwt)| {
                if accept.contains("cwt") {
                    cwt.clone()
                } else {
                    jwt.clone()
                }
            })
    };
    let resolver =
        StatusListResolver::new(fetch, TokenKeys::X5c(trust.clone()), TokenPolicy::default());
    let verifier = Verifier::new(trust.clone(), Arc::new(resolver));

    let limits = CborLimits::default();
    let mdoc_request =
        DeviceRequest::from_bytes(file("rrc/mdoc/age-check.device-request.cbor")?, &limits)
            .map_err(|e| err(&e))?;
    let mdoc_transcript =
        SessionTranscript::from_tagged_bytes(file("rrc/mdoc/session-transcript.cbor")?, &limits)
            .map_err(|e| err(&e))?;

    let case = manifest
        .get("cases")
        .and_then(Value::as_array)
        .and_then(|cases| {
            cases.iter().find(|c| {
                c.get("id").and_then(Value::as_str) == Some("rrc-openid4vp-sd-jwt-vc-age-check")
            })
        })
        .ok_or("no rrc SD-JWT VC age-check case")?;
    let param = |k: &str| {
        case.pointer(&format!("/request/{k}"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let sd_jwt_request =
        Template::AgeCheck.sd_jwt_request(CardType::Resident, &param("nonce"), &param("client_id"));
    let token: Value =
        serde_json::from_slice(file("rrc/openid4vp/sd-jwt-vc/age-check.vp-token.json")?)
            .map_err(|e| err(&e))?;
    let presentation = token
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .ok_or("the VP Token holds no presentation")?;
    let cut = presentation.rfind('~').ok_or("not an SD-JWT")?;
    let sd_jwt_without_kb = presentation.get(..=cut).unwrap_or_default().to_owned();

    let mut wallet = Wallet::with_signer(holder(), trust.clone());
    wallet
        .store_mdoc(
            IssuerSigned::from_bytes(RRC_ISSUER_SIGNED, &limits).map_err(|e| err(&e))?,
            at,
        )
        .map_err(|e| err(&e))?;

    let vectors: Value = serde_json::from_slice(ANNEX_D).map_err(|e| err(&e))?;
    let scalar = |name: &str| -> Result<PrivateKey, String> {
        PrivateKey::from_scalar(Curve::P256, &annex(&vectors, name)?).map_err(|e| err(&e))
    };
    let e_device = scalar("ephemeral_device_key_d")?;
    let e_reader = scalar("ephemeral_reader_key_d")?;
    let e_device_public = e_device.public_key().clone();
    let annex_transcript = SessionTranscript::from_tagged_bytes(
        &annex(&vectors, "session_transcript_bytes")?,
        &limits,
    )
    .map_err(|e| err(&e))?;
    let mut reader_trust = TrustStore::new();
    reader_trust
        .add(Certificate::from_der(&annex(&vectors, "reader_root_cert")?).map_err(|e| err(&e))?)
        .map_err(|e| err(&e))?;
    reader_trust
        .add(Certificate::from_pem(text(READER_ROOT)?).map_err(|e| err(&e))?)
        .map_err(|e| err(&e))?;
    let annex_at = OffsetDateTime::parse("2021-01-01T00:00:00Z", &Rfc3339).map_err(|e| err(&e))?;

    Ok(Context {
        at,
        verifier,
        issuer_trust: trust.clone(),
        mdoc_request,
        mdoc_transcript,
        sd_jwt_request,
        sd_jwt_without_kb,
        wallet,
        status_uri,
        status_keys: TokenKeys::X5c(trust),
        status_policy: TokenPolicy::default(),
        e_device,
        e_device_public,
        e_reader,
        annex_transcript,
        reader_trust,
        annex_at,
    })
}
