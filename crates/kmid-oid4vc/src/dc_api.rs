//! OpenID4VP over the Digital Credentials API (OpenID4VP 1.0 Appendix A; HAIP 1.0 §5.2): the
//! `data` of a request for each exchange protocol — unsigned (`openid4vp-v1-unsigned`), signed
//! (`openid4vp-v1-signed`, a compact Request Object) and multi-signed (`openid4vp-v1-multisigned`,
//! JWS JSON Serialization with one signature per Client Identifier) — and the wallet's
//! verification of one for the Origin the platform reports.

use std::sync::Arc;

use kmid_crypto::jose::{CompactJws, b64url, b64url_decode};
use kmid_crypto::x509::{Certificate, chain_to_x5c};
use kmid_crypto::{CryptoProvider, Signer};
use serde_json::{Map, Value};

use crate::Oid4vpError;
use crate::jar::{
    VerifiedRequest, WalletCheck, authenticate_x5c, check_payload, sign_request_object,
    verify_request_object,
};
use crate::request::{AuthorizationRequest, MAX_REQUEST_BYTES, REQUEST_OBJECT_TYP};

/// The most signatures a multi-signed request may carry.
pub const MAX_SIGNATURES: usize = 8;

/// The exchange protocol of a DC API request (Appendix A.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DcApiProtocol {
    /// `openid4vp-v1-unsigned`: the parameters themselves; the wallet relies on the Origin.
    Unsigned,
    /// `openid4vp-v1-signed`: a Request Object (JWS Compact Serialization) in `request`.
    Signed,
    /// `openid4vp-v1-multisigned`: JWS JSON Serialization, one signature per Client Identifier.
    MultiSigned,
}

impl DcApiProtocol {
    /// The protocol identifier.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unsigned => "openid4vp-v1-unsigned",
            Self::Signed => "openid4vp-v1-signed",
            Self::MultiSigned => "openid4vp-v1-multisigned",
        }
    }

    /// The protocol `name` names.
    ///
    /// # Errors
    /// [`Oid4vpError::Unsupported`] for any other.
    pub fn parse(name: &str) -> Result<Self, Oid4vpError> {
        match name {
            "openid4vp-v1-unsigned" => Ok(Self::Unsigned),
            "openid4vp-v1-signed" => Ok(Self::Signed),
            "openid4vp-v1-multisigned" => Ok(Self::MultiSigned),
            other => Err(Oid4vpError::Unsupported {
                what: "DC API protocol",
                value: other.to_owned(),
            }),
        }
    }
}

/// The `data` of an unsigned request: the parameters, without `client_id` (Appendix A.3.1:
/// it MUST be omitted) or `expected_origins` (not for unsigned requests).
///
/// # Errors
/// [`Oid4vpError`] for a request in a redirect response mode, or one that does not serialize.
pub fn unsigned_request(request: &AuthorizationRequest) -> Result<Value, Oid4vpError> {
    if request.response_mode.is_direct_post() {
        return Err(Oid4vpError::Unsupported {
            what: "response_mode over the DC API",
            value: request.response_mode.as_str().into(),
        });
    }
    let mut value = serde_json::to_value(request)
        .map_err(|e| Oid4vpError::Malformed(format!("the request does not serialize: {e}")))?;
    if let Some(map) = value.as_object_mut() {
        for k in [
            "client_id",
            "expected_origins",
            "aud",
            "state",
            "response_uri",
        ] {
            map.remove(k);
        }
    }
    Ok(value)
}

/// The `data` of a signed request: `{"request": <Request Object>}`, signed as
/// [`sign_request_object`] signs, which needs `expected_origins` here.
///
/// # Errors
/// [`Oid4vpError::Missing`] without `expected_origins`; what signing refuses.
pub fn signed_request(
    provider: &CryptoProvider,
    request: &AuthorizationRequest,
    signer: &Arc<dyn Signer>,
    chain: &[Certificate],
) -> Result<Value, Oid4vpError> {
    require_origins(request)?;
    let jws = sign_request_object(provider, request, signer, chain)?;
    let mut data = Map::new();
    data.insert("request".into(), jws.into());
    Ok(Value::Object(data))
}

fn require_origins(request: &AuthorizationRequest) -> Result<(), Oid4vpError> {
    if request.expected_origins.as_ref().is_none_or(Vec::is_empty) {
        return Err(Oid4vpError::Missing("expected_origins"));
    }
    Ok(())
}

/// One signer of a multi-signed request: its key, its certificate chain (leaf first, no
/// anchor), its Client Identifier and the attestations that go with it.
pub struct MultiSigner<'a> {
    /// The key.
    pub signer: &'a Arc<dyn Signer>,
    /// The chain.
    pub chain: &'a [Certificate],
    /// `client_id`, with its prefix, bound to the chain's leaf.
    pub client_id: String,
    /// `verifier_info` for this Client Identifier, if any.
    pub verifier_info: Option<Vec<Value>>,
}

impl core::fmt::Debug for MultiSigner<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MultiSigner")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The `data` of a multi-signed request (Appendix A.3.2.2): JWS JSON Serialization whose
/// payload holds every parameter but `client_id` and `verifier_info`, which go in each
/// signature's protected header with its `x5c`. Each signer's `client_id` must be bound to its
/// leaf.
///
/// # Errors
/// [`Oid4vpError`]: no signer, more than [`MAX_SIGNATURES`], a `client_id` not bound to its
/// leaf, a signing failure.
pub fn multisigned_request(
    provider: &CryptoProvider,
    request: &AuthorizationRequest,
    signers: &[MultiSigner<'_>],
) -> Result<Value, Oid4vpError> {
    require_origins(request)?;
    if signers.is_empty() || signers.len() > MAX_SIGNATURES {
        return Err(Oid4vpError::Malformed(
            "a multi-signed request has 1 to 8 signatures".into(),
        ));
    }
    let mut payload = serde_json::to_value(request)
        .map_err(|e| Oid4vpError::Malformed(format!("the request does not serialize: {e}")))?;
    if let Some(map) = payload.as_object_mut() {
        map.remove("client_id");
        map.remove("verifier_info");
    }
    let payload_b64 = b64url(payload.to_string().as_bytes());
    let mut signatures = Vec::new();
    for s in signers {
        let leaf = s
            .chain
            .first()
            .ok_or(Oid4vpError::Missing("x5c (the verifier's certificate)"))?;
        if leaf.public_key() != s.signer.public_key() {
            return Err(Oid4vpError::Malformed(
                "the signer's key is not the leaf certificate's".into(),
            ));
        }
        let mut bound = request.clone();
        bound.client_id.clone_from(&s.client_id);
        crate::jar::client_binding(provider, &bound.client()?, leaf, &bound)?;
        let mut header = Map::new();
        header.insert("alg".into(), s.signer.algorithm().jose_name().into());
        header.insert("typ".into(), REQUEST_OBJECT_TYP.into());
        header.insert("x5c".into(), chain_to_x5c(s.chain).into());
        header.insert("client_id".into(), s.client_id.clone().into());
        if let Some(info) = &s.verifier_info {
            header.insert("verifier_info".into(), Value::Array(info.clone()));
        }
        let protected = b64url(Value::Object(header).to_string().as_bytes());
        let signature = s
            .signer
            .sign(format!("{protected}.{payload_b64}").as_bytes())
            .map_err(Oid4vpError::Crypto)?;
        let mut entry = Map::new();
        entry.insert("protected".into(), protected.into());
        entry.insert("signature".into(), b64url(&signature).into());
        signatures.push(Value::Object(entry));
    }
    let mut data = Map::new();
    data.insert("payload".into(), payload_b64.into());
    data.insert("signatures".into(), Value::Array(signatures));
    Ok(Value::Object(data))
}

/// A DC API request the wallet verified.
#[derive(Debug, Clone)]
pub enum DcApiRequest {
    /// Unsigned: the verifier is only its Origin (no registration number, no Client
    /// Identifier; `client_id` and `expected_origins` ignored).
    Unsigned(Box<AuthorizationRequest>),
    /// Signed or multi-signed: authenticated by the certificate of the signature the wallet
    /// verified.
    Signed(Box<VerifiedRequest>),
}

impl DcApiRequest {
    /// The request.
    #[must_use]
    pub const fn request(&self) -> &AuthorizationRequest {
        match self {
            Self::Unsigned(r) => r,
            Self::Signed(v) => &v.request,
        }
    }
}

/// Verifies the `data` of a DC API request of `protocol` for `check.origin` (required): an
/// unsigned request is read and checked (a DC API response mode, the DCQL query, the nonce);
/// a signed one as [`verify_request_object`] with its Origin among `expected_origins`; a
/// multi-signed one signature by signature, the first that authenticates under the wallet's
/// anchors giving the `client_id` and `verifier_info` of its protected header.
///
/// # Errors
/// [`Oid4vpError`]: for a multi-signed request none of whose signatures authenticates, the
/// first signature's refusal.
pub fn verify_dc_api_request(
    protocol: DcApiProtocol,
    data: &Value,
    check: &WalletCheck<'_>,
) -> Result<DcApiRequest, Oid4vpError> {
    if check.origin.is_none() {
        return Err(Oid4vpError::Missing("the request's Origin"));
    }
    let size = data.to_string().len();
    if size > MAX_REQUEST_BYTES {
        return Err(Oid4vpError::Malformed("the request is too large".into()));
    }
    let dc_api_mode = |r: &AuthorizationRequest| {
        if r.response_mode.is_direct_post() {
            Err(Oid4vpError::Unsupported {
                what: "response_mode over the DC API",
                value: r.response_mode.as_str().into(),
            })
        } else {
            Ok(())
        }
    };
    match protocol {
        DcApiProtocol::Unsigned => {
            let mut request: AuthorizationRequest = serde_json::from_value(data.clone())
                .map_err(|e| Oid4vpError::Malformed(format!("the request: {e}")))?;
            // Ignored in an unsigned request (Appendix A.2).
            request.client_id.clear();
            request.expected_origins = None;
            dc_api_mode(&request)?;
            request.check()?;
            crate::jar::check_transaction_data(&request, check)?;
            Ok(DcApiRequest::Unsigned(Box::new(request)))
        }
        DcApiProtocol::Signed => {
            let jws = data
                .get("request")
                .and_then(Value::as_str)
                .ok_or(Oid4vpError::Missing("request"))?;
            let verified = verify_request_object(jws, check)?;
            dc_api_mode(&verified.request)?;
            Ok(DcApiRequest::Signed(Box::new(verified)))
        }
        DcApiProtocol::MultiSigned => {
            let payload_b64 = data
                .get("payload")
                .and_then(Value::as_str)
                .ok_or(Oid4vpError::Missing("payload"))?;
            let signatures = data
                .get("signatures")
                .and_then(Value::as_array)
                .filter(|s| !s.is_empty() && s.len() <= MAX_SIGNATURES)
                .ok_or_else(|| Oid4vpError::Malformed("signatures (1 to 8 objects)".into()))?;
            let payload: Map<String, Value> = serde_json::from_slice(
                &b64url_decode(payload_b64)
                    .map_err(|_| Oid4vpError::Malformed("payload (base64url)".into()))?,
            )
            .map_err(|_| Oid4vpError::Malformed("payload (a JSON object)".into()))?;
            if payload.contains_key("client_id") || payload.contains_key("verifier_info") {
                return Err(Oid4vpError::Malformed(
                    "client_id and verifier_info belong in the protected headers".into(),
                ));
            }
            let mut first_error = None;
            for entry in signatures {
                match verify_one_signature(entry, payload_b64, &payload, check) {
                    Ok(verified) => {
                        dc_api_mode(&verified.request)?;
                        return Ok(DcApiRequest::Signed(Box::new(verified)));
                    }
                    Err(e) => {
                        first_error.get_or_insert(e);
                    }
                }
            }
            Err(first_error.unwrap_or(Oid4vpError::Missing("signatures")))
        }
    }
}

/// One signature of a multi-signed request: its protected header (`typ`, `alg`, `x5c`,
/// `client_id`, `verifier_info`) authenticated and its signature over `protected.payload`
/// verified, then the request it makes checked.
fn verify_one_signature(
    entry: &Value,
    payload_b64: &str,
    payload: &Map<String, Value>,
    check: &WalletCheck<'_>,
) -> Result<VerifiedRequest, Oid4vpError> {
    let protected = entry
        .get("protected")
        .and_then(Value::as_str)
        .ok_or(Oid4vpError::Missing("protected"))?;
    let signature = entry
        .get("signature")
        .and_then(Value::as_str)
        .ok_or(Oid4vpError::Missing("signature"))?;
    if entry.get("header").is_some() {
        return Err(Oid4vpError::Malformed(
            "an unprotected header (only protected parameters count)".into(),
        ));
    }
    // The signature entry as a compact JWS: one parser for headers and signatures.
    let compact = format!("{protected}.{payload_b64}.{signature}");
    let jws = CompactJws::parse(&compact).map_err(Oid4vpError::Jws)?;
    if !jws.typ_is(REQUEST_OBJECT_TYP) {
        return Err(Oid4vpError::WrongType);
    }
    let alg = jws.algorithm(check.algorithms).map_err(Oid4vpError::Jws)?;
    let validated = authenticate_x5c(&jws.header, check)?;
    jws.verify(&validated.leaf_key, alg, check.provider.signature_verifier)
        .map_err(Oid4vpError::Jws)?;
    let mut params = payload.clone();
    for k in ["client_id", "verifier_info"] {
        if let Some(v) = jws.header.get(k) {
            params.insert(k.into(), v.clone());
        }
    }
    let request: AuthorizationRequest = serde_json::from_value(Value::Object(params))
        .map_err(|e| Oid4vpError::Malformed(format!("the request: {e}")))?;
    let client = check_payload(&request, &validated.leaf, check)?;
    Ok(VerifiedRequest {
        client,
        certificate: validated.leaf,
        root_index: validated.root_index,
        request,
    })
}
