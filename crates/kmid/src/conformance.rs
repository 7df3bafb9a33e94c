//! The conformance runner: runs the vectors of a `manifest.json` (the format is described in
//! `test-vectors/conformance/README.md`) through kmid's verifier and compares each outcome
//! with the expected one. `kmid conformance` drives it; a conformance runner of its own may
//! call it directly.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::crypto::x509::{Certificate, TrustStore};
use crate::mdoc::CborLimits;
use crate::mdoc::model::{DeviceRequest, SessionTranscript};
use crate::schema::catalogue::{self, ClaimId, ClaimValue};
use crate::status::StatusListResolver;
use crate::status::token::{TokenKeys, TokenPolicy};
use crate::{DcqlQuery, KmidError, OpenId4VpRequest, VerifiedPresentation, Verifier};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A conformance manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// The suite's name.
    pub suite: String,
    /// The manifest format version (1).
    pub version: u32,
    /// The default verification time, RFC 3339.
    pub at: String,
    /// The IACA roots a verifier trusts, each scoped to docTypes.
    pub trust: Vec<TrustAnchor>,
    /// Named snapshots of the status lists.
    pub status_sets: BTreeMap<String, Vec<StatusFile>>,
    /// Named sets of CRLs (DER files by distribution point) a case may name in `crl_set`.
    #[serde(default)]
    pub crl_sets: BTreeMap<String, Vec<CrlFile>>,
    /// The cases.
    pub cases: Vec<Case>,
}

/// A trusted root.
#[derive(Debug, Clone, Deserialize)]
pub struct TrustAnchor {
    /// PEM file, relative to the manifest.
    pub file: String,
    /// The docTypes (= vcts) it may vouch for.
    pub doc_types: Vec<String>,
}

/// One status list token, in both forms.
#[derive(Debug, Clone, Deserialize)]
pub struct StatusFile {
    /// Where it is served.
    pub uri: String,
    /// `application/statuslist+jwt` file.
    pub jwt: String,
    /// `application/statuslist+cwt` file.
    pub cwt: String,
}

/// One CRL, and where it is served.
#[derive(Debug, Clone, Deserialize)]
pub struct CrlFile {
    /// The distribution point it is fetched from.
    pub uri: String,
    /// The DER file.
    pub file: String,
}

/// A wallet given a signed Request Object (`openid4vp-wallet`): its device key, the
/// SD-JWT VC it holds, whom it trusts, and how the request reached it.
#[derive(Debug, Clone, Deserialize)]
pub struct WalletCase {
    /// The device key: a P-256 private scalar, base64url.
    pub device_key: String,
    /// The SD-JWT VC the wallet holds (issued to the device key), a file.
    pub sd_jwt_vc: String,
    /// The verifier access root (PEM, relative to the manifest) requests must chain to.
    pub verifier_root: String,
    /// The registrars whose registration attestations the wallet trusts.
    #[serde(default)]
    pub registrars: Vec<RegistrarKey>,
    /// The Request Object, a file.
    pub request_object: String,
    /// The `client_id` of the request URL that pointed to it.
    #[serde(default)]
    pub url_client_id: Option<String>,
    /// The `wallet_nonce` the wallet POSTed to the `request_uri`.
    #[serde(default)]
    pub wallet_nonce: Option<String>,
}

/// A trusted registrar key.
#[derive(Debug, Clone, Deserialize)]
pub struct RegistrarKey {
    /// `iss`.
    pub iss: String,
    /// `kid`, when the key is only for that `kid`.
    #[serde(default)]
    pub kid: Option<String>,
    /// The public key, a JWK.
    pub jwk: Value,
}

/// The OpenID4VP request parameters a case is verified with.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestParams {
    /// `client_id`.
    pub client_id: String,
    /// `nonce`.
    pub nonce: String,
    /// `response_uri`.
    pub response_uri: String,
}

/// A DPoP proof and the request it is checked for (RFC 9449 §4.3).
#[derive(Debug, Clone, Deserialize)]
pub struct DpopCase {
    /// The proof, a file.
    pub proof: String,
    /// The request's HTTP method.
    pub method: String,
    /// The request's URL.
    pub url: String,
    /// At a resource: the access token presented and the thumbprint of the key it is bound
    /// to.
    #[serde(default)]
    pub access_token: Option<(String, String)>,
}

/// What a Credential Request's proofs are checked against.
#[derive(Debug, Clone, Deserialize)]
pub struct ProofsCase {
    /// The `proofs` object, a file.
    pub file: String,
    /// The Credential Issuer Identifier (`aud`).
    pub credential_issuer: String,
    /// The wallet provider's root (PEM, relative to the manifest) key attestations chain to.
    pub wallet_provider: String,
    /// The proof type's metadata (`proof_signing_alg_values_supported`,
    /// `key_attestations_required`).
    pub metadata: Value,
    /// `batch_credential_issuance.batch_size`.
    #[serde(default)]
    pub batch_size: Option<u32>,
}

/// Credential Issuer Metadata and what it is checked for.
#[derive(Debug, Clone, Deserialize)]
pub struct MetadataCase {
    /// The metadata (JSON), or the signed metadata JWT, a file.
    pub file: String,
    /// The Credential Issuer Identifier it was fetched for.
    pub credential_issuer: String,
    /// For signed metadata: the root (PEM, relative to the manifest) its signer chains to;
    /// absent: the file is unsigned JSON.
    #[serde(default)]
    pub signer_root: Option<String>,
}

/// A Client Attestation with its PoP and what they are checked against.
#[derive(Debug, Clone, Deserialize)]
pub struct ClientAttestationCase {
    /// The `OAuth-Client-Attestation` JWT, a file.
    pub attestation: String,
    /// The `OAuth-Client-Attestation-PoP` JWT, a file.
    pub pop: String,
    /// The Authorization Server's issuer identifier (the PoP's `aud`).
    pub authorization_server: String,
    /// The wallet provider's root (PEM, relative to the manifest).
    pub wallet_provider: String,
}

/// An OpenID4VCI exchange: a fresh issuer's endpoints driven through `steps` (the format in
/// `test-vectors/conformance/README.md`). The server's random source is seeded so that the
/// pre-authorized code, Transaction Code, access token and nonces the steps carry are the ones
/// kmid's server makes for this seed; the requests and their refusals are the test material
/// for other implementations.
#[derive(Debug, Clone, Deserialize)]
pub struct Exchange {
    /// The Credential Issuer Metadata.
    pub metadata: Value,
    /// The nonce key (32 bytes, hex).
    pub nonce_key: String,
    /// The seed of the server's random source: SHA-256(seed ‖ counter as 8 bytes big-endian)
    /// for counter = 0, 1, …, concatenated.
    pub random_seed: String,
    /// The pre-authorized code offer made first: its subject and configurations, and whether
    /// it has a Transaction Code; absent: no offer (an authorization code flow).
    #[serde(default)]
    pub offer: Option<ExchangeOffer>,
    /// The wallet provider root (PEM, relative to the manifest) wallet and key attestations
    /// must chain to; absent: none trusted.
    #[serde(default)]
    pub wallet_provider: Option<String>,
    /// The redirect URIs registered for each wallet solution (`client_id`).
    #[serde(default)]
    pub redirect_uris: BTreeMap<String, Vec<String>>,
    /// The requests, in order; all but the last must succeed.
    pub steps: Vec<ExchangeStep>,
}

/// The offer an exchange starts with.
#[derive(Debug, Clone, Deserialize)]
pub struct ExchangeOffer {
    /// The grant's subject (what the minter issues from).
    pub subject: Value,
    /// The configurations offered.
    pub configurations: Vec<String>,
    /// Whether a Transaction Code is required.
    pub tx_code: bool,
}

/// One request of an exchange.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct ExchangeStep {
    /// `par`, `authorize` (the holder approving a pushed request: `request_uri`,
    /// `client_id`, `subject`), `token`, `nonce` or `credential`.
    pub endpoint: String,
    /// The body (form-encoded for the token endpoint, JSON for the credential endpoint).
    #[serde(default)]
    pub body: String,
    /// The `DPoP` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop: Option<String>,
    /// The access token of the `Authorization: DPoP` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    /// The `OAuth-Client-Attestation` and `OAuth-Client-Attestation-PoP` headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_attestation: Option<(String, String)>,
    /// `authorize`: the PAR's `request_uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_uri: Option<String>,
    /// `authorize`: the client the authorization page was opened for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// `authorize`: the holder who logged in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Value>,
    /// A step before the last that must be refused, with this error code (a guessing
    /// attempt); the last step's outcome is the case's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

/// One case.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    /// Unique id.
    pub id: String,
    /// `mdoc-proximity` or `openid4vp`.
    pub kind: String,
    /// What the negative case changed.
    #[serde(default)]
    pub mutation: Option<String>,
    /// mdoc: the DeviceRequest file.
    #[serde(default)]
    pub device_request: Option<String>,
    /// mdoc: the DeviceResponse file.
    #[serde(default)]
    pub device_response: Option<String>,
    /// mdoc: the SessionTranscriptBytes file.
    #[serde(default)]
    pub session_transcript: Option<String>,
    /// OpenID4VP: the DCQL query file.
    #[serde(default)]
    pub dcql_query: Option<String>,
    /// OpenID4VP: the VP Token file.
    #[serde(default)]
    pub vp_token: Option<String>,
    /// OpenID4VP: the request parameters.
    #[serde(default)]
    pub request: Option<RequestParams>,
    /// `openid4vp-signed`: the verifier's pending transaction as
    /// [`crate::OnlineRequest::export`] writes it (with the response key), a file.
    #[serde(default)]
    pub transaction: Option<String>,
    /// `openid4vp-signed`: the body the wallet POSTed to the `response_uri`, a file.
    #[serde(default)]
    pub response_body: Option<String>,
    /// `openid4vp-signed`: bodies POSTed before `response_body` (files), each of which must
    /// be taken (a replay case posts the same body twice).
    #[serde(default)]
    pub earlier_responses: Vec<String>,
    /// `openid4vp-signed`: the `response_code` presented for the result, instead of the one
    /// the verifier returned (a same-device transaction's result goes only with its own).
    #[serde(default)]
    pub response_code: Option<String>,
    /// `openid4vp-wallet`: the wallet and the request it is given.
    #[serde(default)]
    pub wallet: Option<WalletCase>,
    /// The CRL set (a name in the manifest's `crl_sets`) the verifier fetches certificate
    /// revocation from, refusing a chain whose revocation it cannot establish; absent: no
    /// revocation checking.
    #[serde(default)]
    pub crl_set: Option<String>,
    /// status-token: the Status List Token file.
    #[serde(default)]
    pub status_token: Option<String>,
    /// status-token: the URI the token is verified for.
    #[serde(default)]
    pub status_uri: Option<String>,
    /// `dpop-proof`: the proof (a file) and the request it is checked for.
    #[serde(default)]
    pub dpop: Option<DpopCase>,
    /// `vci-offer`: the Credential Offer URL, a file.
    #[serde(default)]
    pub offer_url: Option<String>,
    /// `vci-proofs`: the Credential Request's `proofs` object (JSON), a file, and what it is
    /// checked against.
    #[serde(default)]
    pub proofs: Option<ProofsCase>,
    /// `vci-metadata`: Credential Issuer Metadata, plain or signed.
    #[serde(default)]
    pub metadata: Option<MetadataCase>,
    /// `client-attestation`: a wallet attestation and its PoP.
    #[serde(default)]
    pub client_attestation: Option<ClientAttestationCase>,
    /// `vci-exchange`: the exchange (see [`Exchange`]), a file.
    #[serde(default)]
    pub exchange: Option<String>,
    /// Which status snapshot the verifier sees.
    pub status_set: String,
    /// Verification time, when not the manifest's.
    #[serde(default)]
    pub at: Option<String>,
    /// Roots (by file) the verifier does not trust in this case.
    #[serde(default)]
    pub exclude_trust: Vec<String>,
    /// The expected outcome.
    pub expected: Expected,
}

/// An expected outcome.
#[derive(Debug, Clone, Deserialize)]
pub struct Expected {
    /// `valid` or `invalid`.
    pub result: String,
    /// For `invalid`: kmid's error code, or a prefix of it ending at a dot boundary.
    #[serde(default)]
    pub error: Option<String>,
    /// For `valid`: the status (`VALID`).
    #[serde(default)]
    pub status: Option<String>,
    /// For `valid`: exactly the disclosed claims, by mdoc element identifier.
    #[serde(default)]
    pub claims: Option<Value>,
}

/// One case's result.
#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    /// The case.
    pub id: String,
    /// Whether the outcome was the expected one.
    pub passed: bool,
    /// The outcome (`valid` or the error code) and, on failure, why it differs.
    pub detail: String,
}

/// Loads a file named in the manifest.
pub type Loader<'a> = dyn Fn(&str) -> Option<Vec<u8>> + 'a;

/// The SHA-256 (base64url) of a portrait given as standard base64 or a `data:` URL.
pub fn portrait_digest(value: &Value) -> Option<String> {
    let text = value.as_str()?;
    let b64 = text.strip_prefix("data:image/jpeg;base64,").unwrap_or(text);
    let bytes = STANDARD.decode(b64).ok()?;
    let digest = crate::crypto::HashAlgorithm::Sha256.digest(&bytes).ok()?;
    Some(crate::crypto::jose::b64url(&digest))
}

/// A card's claim value as the manifest writes it (the portrait as its digest).
pub fn claim_json(value: &ClaimValue<'_>) -> Value {
    match value {
        ClaimValue::Text(t) => json!(t),
        ClaimValue::Date(d) => json!(d.to_string()),
        ClaimValue::Bool(b) => json!(b),
        ClaimValue::Uint(n) => json!(n),
        ClaimValue::Jpeg(bytes) => crate::crypto::HashAlgorithm::Sha256.digest(bytes).map_or(
            Value::Null,
            |d| json!({ "sha-256": crate::crypto::jose::b64url(&d) }),
        ),
    }
}

fn actual_claims(seen: &VerifiedPresentation) -> Value {
    let claims: Vec<(ClaimId, Value)> = seen.claims.clone();
    expected_claims(&claims)
}

fn status_name(seen: &VerifiedPresentation) -> String {
    // The status's Display: VALID, INVALID, SUSPENDED, or 0xNN.
    seen.status.map_or_else(|| "NONE".into(), |s| s.to_string())
}

/// Runs every case of `manifest`, loading files with `load`.
pub fn run_manifest(manifest: &Manifest, load: &Loader<'_>) -> Vec<CaseReport> {
    if manifest.version != 1 {
        return vec![CaseReport {
            id: "manifest".into(),
            passed: false,
            detail: format!("manifest version {} is not 1", manifest.version),
        }];
    }
    manifest
        .cases
        .iter()
        .map(|case| {
            let outcome = run_case(manifest, case, load);
            judge(case, outcome)
        })
        .collect()
}

fn judge(
    case: &Case,
    outcome: Result<Result<Option<VerifiedPresentation>, KmidError>, String>,
) -> CaseReport {
    let report = |passed: bool, detail: String| CaseReport {
        id: case.id.clone(),
        passed,
        detail,
    };
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(setup) => return report(false, format!("case could not run: {setup}")),
    };
    let report = |passed: bool, detail: String| match (&case.mutation, passed) {
        (Some(m), false) => report(false, format!("{detail} [mutation: {m}]")),
        _ => report(passed, detail),
    };
    match (case.expected.result.as_str(), outcome) {
        ("valid", Ok(None)) => {
            if case.expected.claims.is_some() {
                report(false, "valid, but nothing was disclosed".into())
            } else {
                report(true, "valid".into())
            }
        }
        ("valid", Ok(Some(seen))) => {
            let claims = actual_claims(&seen);
            let status = status_name(&seen);
            if case.expected.claims.as_ref().is_some_and(|c| *c != claims) {
                report(
                    false,
                    format!(
                        "valid, but disclosed {claims}, expected {}",
                        case.expected.claims.clone().unwrap_or_default()
                    ),
                )
            } else if case.expected.status.as_ref().is_some_and(|s| *s != status) {
                report(false, format!("valid, but status {status}"))
            } else {
                report(true, "valid".into())
            }
        }
        ("valid", Err(e)) => report(false, format!("{}: {e}", e.code())),
        ("invalid", Ok(_)) => report(false, "valid, but should have been refused".into()),
        ("invalid", Err(e)) => {
            let code = e.code();
            let want = case.expected.error.clone().unwrap_or_default();
            let matches = code == want || code.starts_with(&format!("{want}."));
            if matches {
                report(true, code.to_owned())
            } else {
                report(false, format!("{code} ({e}), expected {want}"))
            }
        }
        (other, _) => report(false, format!("unknown expected result {other:?}")),
    }
}

fn file(load: &Loader<'_>, name: Option<&String>, what: &str) -> Result<Vec<u8>, String> {
    let name = name.ok_or_else(|| format!("no {what}"))?;
    load(name).ok_or_else(|| format!("cannot read {name}"))
}

fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| format!("time {text:?}: {e}"))
}

fn run_case(
    manifest: &Manifest,
    case: &Case,
    load: &Loader<'_>,
) -> Result<Result<Option<VerifiedPresentation>, KmidError>, String> {
    let at = parse_time(case.at.as_deref().unwrap_or(&manifest.at))?;
    let mut trust = TrustStore::new();
    for anchor in &manifest.trust {
        if case.exclude_trust.contains(&anchor.file) {
            continue;
        }
        let pem = load(&anchor.file).ok_or_else(|| format!("cannot read {}", anchor.file))?;
        let pem = String::from_utf8(pem).map_err(|e| e.to_string())?;
        let cert = Certificate::from_pem(&pem).map_err(|e| e.to_string())?;
        trust
            .add_scoped(cert, anchor.doc_types.clone())
            .map_err(|e| e.to_string())?;
    }
    let lists = manifest
        .status_sets
        .get(&case.status_set)
        .ok_or_else(|| format!("no status set {:?}", case.status_set))?;
    let mut tokens: Vec<(String, Vec<u8>, Vec<u8>)> = Vec::new();
    for list in lists {
        let jwt = load(&list.jwt).ok_or_else(|| format!("cannot read {}", list.jwt))?;
        let cwt = load(&list.cwt).ok_or_else(|| format!("cannot read {}", list.cwt))?;
        let jwt = jwt.strip_suffix(b"\n").map(<[u8]>::to_vec).unwrap_or(jwt);
        let cwt = if cwt.first() == Some(&0xD2) {
            cwt
        } else {
            // A text token given for the CWT form: the same trailing newline rule.
            cwt.strip_suffix(b"\n").map(<[u8]>::to_vec).unwrap_or(cwt)
        };
        tokens.push((list.uri.clone(), jwt, cwt));
    }
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
    if let Some(name) = &case.crl_set {
        let set = manifest
            .crl_sets
            .get(name)
            .ok_or_else(|| format!("no CRL set {name:?}"))?;
        let mut crls: Vec<(String, Vec<u8>)> = Vec::new();
        for crl in set {
            let der = load(&crl.file).ok_or_else(|| format!("cannot read {}", crl.file))?;
            crls.push((crl.uri.clone(), der));
        }
        let source = move |uri: &str| {
            crls.iter()
                .find(|(u, _)| u == uri)
                .map(|(_, der)| der.clone())
        };
        trust = trust.with_revocation(
            Arc::new(source),
            crate::crypto::x509::RevocationPolicy::HardFail,
        );
    }
    let issuer_trust = trust.clone();
    let trust_for_tokens = trust.clone();
    let resolver =
        StatusListResolver::new(fetch, TokenKeys::X5c(trust.clone()), TokenPolicy::default());
    let verifier = Verifier::new(trust, Arc::new(resolver));
    let limits = CborLimits::default();
    match case.kind.as_str() {
        "mdoc-proximity" => {
            let request = file(load, case.device_request.as_ref(), "device_request")?;
            let request =
                DeviceRequest::from_bytes(&request, &limits).map_err(|e| e.to_string())?;
            let transcript = file(load, case.session_transcript.as_ref(), "session_transcript")?;
            let transcript = SessionTranscript::from_tagged_bytes(&transcript, &limits)
                .map_err(|e| e.to_string())?;
            let response = file(load, case.device_response.as_ref(), "device_response")?;
            Ok(verifier
                .verify_mdoc(&request, &response, &transcript, at)
                .and_then(|mut docs| {
                    docs.pop()
                        .map(Some)
                        .ok_or(KmidError::NotHeld("document in the response"))
                }))
        }
        "openid4vp" => {
            let query = file(load, case.dcql_query.as_ref(), "dcql_query")?;
            let query = DcqlQuery::from_json(&query).map_err(|e| e.to_string())?;
            let token = file(load, case.vp_token.as_ref(), "vp_token")?;
            let token: Value = serde_json::from_slice(&token).map_err(|e| e.to_string())?;
            let token = token
                .as_object()
                .cloned()
                .ok_or("vp_token is not an object")?;
            let params = case.request.as_ref().ok_or("no request parameters")?;
            let request = OpenId4VpRequest {
                client_id: params.client_id.clone(),
                nonce: params.nonce.clone(),
                response_uri: params.response_uri.clone(),
                origin: None,
                jwk_thumbprint: None,
            };
            Ok(verifier
                .verify_vp_token(&query, &request, &token, at)
                .and_then(|mut seen| {
                    seen.pop()
                        .map(|(_, p)| Some(p))
                        .ok_or(KmidError::NotHeld("presentation in the VP Token"))
                }))
        }
        "openid4vp-signed" => {
            let saved = file(load, case.transaction.as_ref(), "transaction")?;
            let saved: Value = serde_json::from_slice(&saved).map_err(|e| e.to_string())?;
            let mut pending = crate::OnlineRequest::import(&saved).map_err(|e| e.to_string())?;
            let text = |name: &String| -> Result<Vec<u8>, String> {
                let body = file(load, Some(name), "response body")?;
                Ok(body.strip_suffix(b"\n").map(<[u8]>::to_vec).unwrap_or(body))
            };
            for (i, earlier) in case.earlier_responses.iter().enumerate() {
                verifier
                    .complete_online(&mut pending, &text(earlier)?, at)
                    .map_err(|e| format!("earlier response {i} was refused: {}", e.code()))?;
            }
            let body = text(case.response_body.as_ref().ok_or("no response_body")?)?;
            Ok(verifier
                .complete_online(&mut pending, &body, at)
                .and_then(|code| {
                    let code = case.response_code.clone().or(code);
                    let seen = pending.result(code.as_deref())?;
                    seen.first()
                        .and_then(|(_, c)| c.presentation())
                        .map(Some)
                        .ok_or(KmidError::NotHeld("presentation in the VP Token"))
                }))
        }
        "openid4vp-wallet" => {
            let w = case.wallet.as_ref().ok_or("no wallet")?;
            run_wallet(w, issuer_trust, load, at)
        }
        "status-token" => {
            let token = file(load, case.status_token.as_ref(), "status_token")?;
            let token = token
                .strip_suffix(b"\n")
                .map(<[u8]>::to_vec)
                .unwrap_or(token);
            let uri = case.status_uri.as_deref().ok_or("no status_uri")?;
            Ok(crate::status::token::verify_token(
                &token,
                uri,
                at,
                &TokenKeys::X5c(trust_for_tokens),
                &TokenPolicy::default(),
            )
            .map(|_| None)
            .map_err(KmidError::from))
        }
        "dpop-proof" => {
            let d = case.dpop.as_ref().ok_or("no dpop")?;
            let proof = file(load, Some(&d.proof), "dpop.proof")?;
            let proof = String::from_utf8(proof).map_err(|e| e.to_string())?;
            let check = kmid_oid4vc::dpop::DpopCheck {
                method: &d.method,
                url: &d.url,
                nonces: &[],
                nonce_valid: None,
                access_token: d
                    .access_token
                    .as_ref()
                    .map(|(t, j)| (t.as_str(), j.as_str())),
                at,
            };
            Ok(kmid_oid4vc::dpop::verify_dpop_proof(
                crate::crypto::CryptoProvider::get_default(),
                proof.trim(),
                &check,
            )
            .map(|_| None)
            .map_err(|e| KmidError::Vci(e.into())))
        }
        "vci-offer" => {
            let url = file(load, case.offer_url.as_ref(), "offer_url")?;
            let url = String::from_utf8(url).map_err(|e| e.to_string())?;
            Ok(kmid_oid4vc::vci::offer::OfferUrl::parse(url.trim())
                .map(|_| None)
                .map_err(KmidError::Vci))
        }
        "vci-proofs" => {
            let p = case.proofs.as_ref().ok_or("no proofs")?;
            let proofs = file(load, Some(&p.file), "proofs.file")?;
            let proofs: Value = serde_json::from_slice(&proofs).map_err(|e| e.to_string())?;
            let root = file(load, Some(&p.wallet_provider), "proofs.wallet_provider")?;
            let root = Certificate::from_pem(&String::from_utf8(root).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?;
            let mut anchors = TrustStore::new();
            anchors.add(root).map_err(|e| e.to_string())?;
            let metadata: kmid_oid4vc::vci::metadata::ProofTypeMetadata =
                serde_json::from_value(p.metadata.clone()).map_err(|e| e.to_string())?;
            let check = kmid_oid4vc::vci::proof::ProofCheck {
                provider: crate::crypto::CryptoProvider::get_default(),
                credential_issuer: &p.credential_issuer,
                client_id: None,
                metadata: &metadata,
                attestation_trust: &anchors,
                nonce_required: false,
                at,
            };
            Ok(
                kmid_oid4vc::vci::proof::verify_proofs(&proofs, &check, p.batch_size)
                    .map(|_| None)
                    .map_err(KmidError::Vci),
            )
        }
        "vci-metadata" => {
            let m = case.metadata.as_ref().ok_or("no metadata")?;
            let bytes = file(load, Some(&m.file), "metadata.file")?;
            let outcome = match &m.signer_root {
                None => kmid_oid4vc::vci::metadata::CredentialIssuerMetadata::from_json(
                    &bytes,
                    &m.credential_issuer,
                ),
                Some(root) => {
                    let anchors = anchors_of(load, root, "metadata.signer_root")?;
                    let jwt = String::from_utf8(bytes).map_err(|e| e.to_string())?;
                    kmid_oid4vc::vci::metadata::CredentialIssuerMetadata::verify_signed(
                        crate::crypto::CryptoProvider::get_default(),
                        jwt.trim(),
                        &m.credential_issuer,
                        &anchors,
                        at,
                    )
                }
            };
            Ok(outcome.map(|_| None).map_err(KmidError::Vci))
        }
        "client-attestation" => {
            let c = case
                .client_attestation
                .as_ref()
                .ok_or("no client_attestation")?;
            let text = |name: &String, what: &str| -> Result<String, String> {
                let bytes = file(load, Some(name), what)?;
                Ok(String::from_utf8(bytes)
                    .map_err(|e| e.to_string())?
                    .trim()
                    .to_owned())
            };
            let attestation = text(&c.attestation, "client_attestation.attestation")?;
            let pop = text(&c.pop, "client_attestation.pop")?;
            let anchors = anchors_of(
                load,
                &c.wallet_provider,
                "client_attestation.wallet_provider",
            )?;
            let check = kmid_oid4vc::vci::client_attestation::ClientAuthCheck {
                provider: crate::crypto::CryptoProvider::get_default(),
                trust: &anchors,
                authorization_server: &c.authorization_server,
                challenge: None,
                at,
            };
            Ok(
                kmid_oid4vc::vci::client_attestation::verify_client_attestation(
                    &attestation,
                    &pop,
                    &check,
                )
                .map(|_| None)
                .map_err(KmidError::Vci),
            )
        }
        "vci-exchange" => {
            let bytes = file(load, case.exchange.as_ref(), "exchange")?;
            let exchange: Exchange = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
            run_exchange(&exchange, load, at)
        }
        other => Err(format!("unknown case kind {other:?}")),
    }
}

/// Gives `w`'s request to a wallet holding its SD-JWT VC: the outcome is the wallet's
/// answer (valid) or its refusal.
fn run_wallet(
    w: &WalletCase,
    issuer_trust: TrustStore,
    load: &Loader<'_>,
    at: OffsetDateTime,
) -> Result<Result<Option<VerifiedPresentation>, KmidError>, String> {
    let scalar = crate::crypto::jose::b64url_decode(&w.device_key).map_err(|e| e.to_string())?;
    let device = crate::crypto::PrivateKey::from_scalar(crate::crypto::Curve::P256, &scalar)
        .map_err(|e| e.to_string())?;
    let mut registrars = Vec::new();
    for r in &w.registrars {
        let jwk: crate::crypto::Jwk =
            serde_json::from_value(r.jwk.clone()).map_err(|e| e.to_string())?;
        registrars.push((
            r.iss.clone(),
            r.kid.clone(),
            jwk.to_public_key().map_err(|e| e.to_string())?,
        ));
    }
    let mut wallet = crate::Wallet::new(device, issuer_trust)
        .with_verifier_trust(anchors_of(load, &w.verifier_root, "verifier_root")?)
        .with_registrars(registrars);
    let credential = file(load, Some(&w.sd_jwt_vc), "sd_jwt_vc")?;
    let credential = String::from_utf8(credential).map_err(|e| e.to_string())?;
    wallet
        .store_sd_jwt(credential.trim_end(), at)
        .map_err(|e| format!("the wallet's credential: {}", e.code()))?;
    let object = file(load, Some(&w.request_object), "request_object")?;
    let object = String::from_utf8(object).map_err(|e| e.to_string())?;
    Ok(wallet
        .answer_online(
            object.trim_end(),
            w.url_client_id.as_deref(),
            w.wallet_nonce.as_deref(),
            at,
        )
        .map(|_| None))
}

/// The random source of an exchange's server (see [`Exchange::random_seed`]).
struct SeededRandom {
    seed: Vec<u8>,
    state: std::sync::Mutex<(u64, Vec<u8>)>,
}

impl kmid_crypto::Random for SeededRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), kmid_crypto::CryptoError> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (counter, pool) = &mut *state;
        while pool.len() < buf.len() {
            let mut input = self.seed.clone();
            input.extend_from_slice(&counter.to_be_bytes());
            pool.extend_from_slice(&crate::crypto::CryptoProvider::get_default().sha256(&input)?);
            *counter = counter.wrapping_add(1);
        }
        let rest = pool.split_off(buf.len());
        buf.copy_from_slice(pool);
        *pool = rest;
        Ok(())
    }
}

/// The endpoints an exchange's steps may name.
const KNOWN_ENDPOINTS: [&str; 5] = ["par", "authorize", "token", "nonce", "credential"];

/// Runs one step of an exchange on `server` (the issuer `issuer`, its endpoints under it) at
/// `at`, minting with [`PlaceholderMinter`]: what the endpoint answered, as JSON
/// (`request_uri`; `redirect`; `access_token` and `refresh_token`; `c_nonce`; nothing for a
/// credential). kmid's vector generator records its exchanges with it, the runner replays
/// them with it.
///
/// # Errors
/// The endpoint's refusal; an unknown endpoint is [`kmid_oid4vc::vci::VciError::InvalidRequest`].
pub fn run_step(
    server: &kmid_oid4vc::vci::server::IssuanceServer<'_>,
    step: &ExchangeStep,
    issuer: &str,
    at: OffsetDateTime,
) -> Result<Value, kmid_oid4vc::vci::VciError> {
    use kmid_oid4vc::vci::server::RequestContext;
    let url = format!("{issuer}/{}", step.endpoint);
    let ctx = RequestContext {
        dpop: step.dpop.as_deref(),
        client_attestation: step
            .client_attestation
            .as_ref()
            .map(|(a, p)| (a.as_str(), p.as_str())),
        access_token: step.access_token.as_deref(),
        url: &url,
        method: "POST",
    };
    let body = step.body.as_bytes();
    match step.endpoint.as_str() {
        "par" => server
            .par(body, &ctx, at)
            .map(|r| json!({ "request_uri": r.request_uri })),
        "authorize" => server
            .authorize(
                step.request_uri.as_deref().unwrap_or_default(),
                step.client_id.as_deref().unwrap_or_default(),
                step.subject.as_ref().unwrap_or(&Value::Null),
                at,
            )
            .map(|r| json!({ "redirect": r.redirect })),
        "token" => server
            .token(body, &ctx, at)
            .map(|t| json!({ "access_token": t.access_token, "refresh_token": t.refresh_token })),
        "nonce" => server.nonce(at).map(|n| json!({ "c_nonce": n })),
        "credential" => server
            .credential(body, &ctx, &PlaceholderMinter, at)
            .map(|_| json!({})),
        _ => Err(kmid_oid4vc::vci::VciError::InvalidRequest(
            "an endpoint the exchange format does not have",
        )),
    }
}

/// The exchange's minter: the protocol is under test, not the credential formats (they have
/// vectors of their own), so each key gets a placeholder naming the configuration and the
/// key's thumbprint.
pub struct PlaceholderMinter;

impl kmid_oid4vc::vci::server::CredentialMinter for PlaceholderMinter {
    fn mint(
        &self,
        request: &kmid_oid4vc::vci::server::MintRequest<'_>,
    ) -> Result<kmid_oid4vc::vci::server::Minted, String> {
        let credentials = request
            .keys
            .iter()
            .map(|k| {
                k.thumbprint_sha256()
                    .map(|t| format!("placeholder:{}:{t}", request.configuration))
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(kmid_oid4vc::vci::server::Minted {
            credentials,
            group: None,
            references: Vec::new(),
            renewal_subject: None,
        })
    }
}

/// Runs an exchange: the first refusal is the outcome (it must be the last step's).
fn run_exchange(
    exchange: &Exchange,
    load: &Loader<'_>,
    at: OffsetDateTime,
) -> Result<Result<Option<VerifiedPresentation>, KmidError>, String> {
    use kmid_oid4vc::vci::server::{IssuanceConfig, IssuanceServer, Lifetimes};
    let metadata: kmid_oid4vc::vci::metadata::CredentialIssuerMetadata =
        serde_json::from_value(exchange.metadata.clone()).map_err(|e| e.to_string())?;
    let key: [u8; 32] = hex_bytes(&exchange.nonce_key)
        .and_then(|b| b.try_into().ok())
        .ok_or("nonce_key is 32 bytes of hex")?;
    let issuer = metadata.credential_issuer.clone();
    let wallet_providers = match &exchange.wallet_provider {
        Some(root) => anchors_of(load, root, "wallet_provider")?,
        None => TrustStore::new(),
    };
    let config = IssuanceConfig {
        metadata,
        nonce_key: kmid_oid4vc::vci::nonce::NonceKey::from_bytes(key),
        require_dpop_nonce: false,
        wallet_providers,
        anonymous_pre_authorized: true,
        redirect_uris: exchange.redirect_uris.clone(),
        lifetimes: Lifetimes::default(),
    };
    let store = kmid_oid4vc::store::MemoryIssuanceStore::default();
    let random = SeededRandom {
        seed: exchange.random_seed.as_bytes().to_vec(),
        state: std::sync::Mutex::new((0, Vec::new())),
    };
    let server = IssuanceServer::new(
        &config,
        &store,
        crate::crypto::CryptoProvider::get_default(),
        &random,
    );
    if let Some(offer) = &exchange.offer {
        server
            .offer_pre_authorized(&offer.subject, &offer.configurations, offer.tx_code, at)
            .map_err(|e| format!("the exchange's offer: {e}"))?;
    }
    let last = exchange.steps.len().checked_sub(1).ok_or("no steps")?;
    for (i, step) in exchange.steps.iter().enumerate() {
        if !KNOWN_ENDPOINTS.contains(&step.endpoint.as_str()) {
            return Err(format!("step {i}: unknown endpoint {:?}", step.endpoint));
        }
        let outcome = run_step(&server, step, &issuer, at).map(|_| ());
        match (outcome, &step.refused) {
            (Err(e), _) if i == last => return Ok(Err(KmidError::Vci(e))),
            (Ok(()), None) => {}
            (Err(e), Some(want)) if KmidError::Vci(e.clone()).code() == want => {}
            (Err(e), _) => {
                return Err(format!("step {i} ({}) was refused: {e}", step.endpoint));
            }
            (Ok(()), Some(want)) => {
                return Err(format!(
                    "step {i} ({}) was not refused ({want})",
                    step.endpoint
                ));
            }
        }
    }
    Ok(Ok(None))
}

fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A trust store of the one root (PEM) in the manifest's file `name`.
fn anchors_of(load: &Loader<'_>, name: &String, what: &str) -> Result<TrustStore, String> {
    let root = file(load, Some(name), what)?;
    let root = Certificate::from_pem(&String::from_utf8(root).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let mut anchors = TrustStore::new();
    anchors.add(root).map_err(|e| e.to_string())?;
    Ok(anchors)
}

/// A claim's expected value in the manifest: as kmid reports it, with the portrait (bytes)
/// replaced by the SHA-256 of its bytes so the manifest stays small.
pub fn expected_claims(claims: &[(ClaimId, Value)]) -> Value {
    let mut out = serde_json::Map::new();
    for (id, value) in claims {
        let spec = catalogue::spec(*id);
        let value = if *id == ClaimId::Portrait && value.is_string() {
            portrait_digest(value).map_or(Value::Null, |d| json!({ "sha-256": d }))
        } else {
            value.clone()
        };
        out.insert(spec.mdoc.identifier.to_owned(), value);
    }
    Value::Object(out)
}
