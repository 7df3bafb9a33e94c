//! The Authorization Response (OpenID4VP 1.0 §8): plain `direct_post` bodies, responses
//! encrypted to the request's ephemeral key (§8.3, `direct_post.jwt` and `dc_api.jwt`, HAIP
//! 1.0 §5), and the verifier's transaction that accepts exactly one response for its own
//! request and hands the result only to whoever holds the `response_code` (§8.2, HAIP's
//! session binding for same-device flows).

use kmid_crypto::jose::b64url;
use kmid_crypto::jwe::{ContentEncryption, HeaderParams, decrypt_ecdh_es, encrypt_ecdh_es};
use kmid_crypto::session::constant_time_eq;
use kmid_crypto::{CryptoProvider, Curve, Jwk, PrivateKey, PublicKey, Random};
use serde_json::{Map, Value, json};

use crate::Oid4vpError;
use crate::request::{AuthorizationRequest, ClientMetadata, MAX_REQUEST_BYTES, ResponseMode};

/// The largest response body read (a VP Token of 16 presentations of 1 MiB, encrypted and
/// form-encoded).
pub const MAX_RESPONSE_BYTES: usize = kmid_crypto::jwe::MAX_JWE_BYTES + 64 * 1024;
/// Both `enc` values, as HAIP 1.0 §5 requires verifiers to list them.
pub const HAIP_ENC_VALUES: [ContentEncryption; 2] =
    [ContentEncryption::A128Gcm, ContentEncryption::A256Gcm];

/// An Authorization Response's content (§8.1, §8.5): the VP Token and `state`, or an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizationResponse {
    /// Presentations by Credential Query id.
    Success {
        /// `vp_token`: a JSON object of arrays of presentations.
        vp_token: Map<String, Value>,
        /// `state`, echoed.
        state: Option<String>,
    },
    /// An error response (§8.5).
    Error {
        /// `error` (`access_denied`, `invalid_request`, …).
        error: String,
        /// `error_description`, if any.
        description: Option<String>,
        /// `state`, echoed.
        state: Option<String>,
    },
}

impl AuthorizationResponse {
    /// `state`, of either kind.
    #[must_use]
    pub fn state(&self) -> Option<&str> {
        match self {
            Self::Success { state, .. } | Self::Error { state, .. } => state.as_deref(),
        }
    }

    /// The response as the JSON object an encrypted response carries (§8.3).
    #[must_use]
    pub fn to_json(&self) -> Value {
        let mut out = Map::new();
        match self {
            Self::Success { vp_token, state } => {
                out.insert("vp_token".into(), Value::Object(vp_token.clone()));
                if let Some(s) = state {
                    out.insert("state".into(), s.clone().into());
                }
            }
            Self::Error {
                error,
                description,
                state,
            } => {
                out.insert("error".into(), error.clone().into());
                if let Some(d) = description {
                    out.insert("error_description".into(), d.clone().into());
                }
                if let Some(s) = state {
                    out.insert("state".into(), s.clone().into());
                }
            }
        }
        Value::Object(out)
    }

    /// Reads a response from its parameters (decrypted JSON, or a form's fields with
    /// `vp_token` as its JSON text): `vp_token` an object, or `error` a string.
    ///
    /// # Errors
    /// [`Oid4vpError::Malformed`], [`Oid4vpError::Missing`].
    pub fn from_json(value: &Value) -> Result<Self, Oid4vpError> {
        let object = value
            .as_object()
            .ok_or_else(|| Oid4vpError::Malformed("the response is not a JSON object".into()))?;
        let text = |k: &str| -> Result<Option<String>, Oid4vpError> {
            match object.get(k) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(Oid4vpError::Malformed(format!("{k} is not a string"))),
            }
        };
        let state = text("state")?;
        match (object.get("vp_token"), text("error")?) {
            (Some(Value::Object(vp_token)), None) => Ok(Self::Success {
                vp_token: vp_token.clone(),
                state,
            }),
            (Some(_), None) => Err(Oid4vpError::Malformed(
                "vp_token is not a JSON object".into(),
            )),
            (None, Some(error)) => Ok(Self::Error {
                error,
                description: text("error_description")?,
                state,
            }),
            (Some(_), Some(_)) => Err(Oid4vpError::Malformed("both vp_token and error".into())),
            (None, None) => Err(Oid4vpError::Missing("vp_token or error")),
        }
    }
}

/// The most presentations read per Credential Query id, and ids per VP Token.
pub const MAX_PRESENTATIONS: usize = 16;
/// The most Credential Query ids a VP Token may answer.
pub const MAX_QUERY_IDS: usize = 64;

/// A VP Token read as kmid reads one: an object of arrays of strings (SD-JWT VC compact
/// presentations, base64url DeviceResponses). Deserialized into strings, not a JSON tree, so
/// a hostile token costs about its own size, not tens of times more.
type RawVpToken = std::collections::BTreeMap<String, Vec<String>>;

/// The members of a response (§8.1, §8.5), typed for the same reason.
#[derive(serde::Deserialize)]
struct RawResponse {
    #[serde(default)]
    vp_token: Option<RawVpToken>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

fn vp_token_map(token: RawVpToken) -> Result<Map<String, Value>, Oid4vpError> {
    if token.len() > MAX_QUERY_IDS
        || token
            .values()
            .any(|p| p.is_empty() || p.len() > MAX_PRESENTATIONS)
    {
        return Err(Oid4vpError::Malformed(
            "vp_token (1 to 16 presentations for each of at most 64 ids)".into(),
        ));
    }
    Ok(token
        .into_iter()
        .map(|(id, presentations)| {
            (
                id,
                Value::Array(presentations.into_iter().map(Value::String).collect()),
            )
        })
        .collect())
}

impl RawResponse {
    fn into_response(self) -> Result<AuthorizationResponse, Oid4vpError> {
        match (self.vp_token, self.error) {
            (Some(token), None) => Ok(AuthorizationResponse::Success {
                vp_token: vp_token_map(token)?,
                state: self.state,
            }),
            (None, Some(error)) => Ok(AuthorizationResponse::Error {
                error,
                description: self.error_description,
                state: self.state,
            }),
            (Some(_), Some(_)) => Err(Oid4vpError::Malformed("both vp_token and error".into())),
            (None, None) => Err(Oid4vpError::Missing("vp_token or error")),
        }
    }
}

/// A verifier's ephemeral response encryption key: one per request (HAIP 1.0 §5), P-256,
/// with a random `kid`.
pub struct ResponseKey {
    key: PrivateKey,
    kid: String,
}

impl core::fmt::Debug for ResponseKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ResponseKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl ResponseKey {
    /// A fresh key from `random`.
    ///
    /// # Errors
    /// [`Oid4vpError::Crypto`].
    pub fn generate(random: &dyn Random) -> Result<Self, Oid4vpError> {
        let key = PrivateKey::generate_with(Curve::P256, random).map_err(Oid4vpError::Crypto)?;
        let mut id = [0u8; 12];
        random.fill(&mut id).map_err(Oid4vpError::Crypto)?;
        Ok(Self {
            key,
            kid: b64url(&id),
        })
    }

    /// A key from its private JWK (a stored transaction, or a published test vector).
    ///
    /// # Errors
    /// [`Oid4vpError::Crypto`] for a JWK that is not a private P-256 key;
    /// [`Oid4vpError::Missing`] without a `kid`.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, Oid4vpError> {
        let key = jwk.to_private_key().map_err(Oid4vpError::Crypto)?;
        if key.curve() != Curve::P256 {
            return Err(Oid4vpError::Unsupported {
                what: "response key curve",
                value: format!("{:?}", key.curve()),
            });
        }
        let kid = jwk.kid.clone().ok_or(Oid4vpError::Missing("kid"))?;
        Ok(Self { key, kid })
    }

    /// The private JWK (with its `kid`), to keep a pending transaction across processes: a
    /// secret, to be stored as one.
    ///
    /// # Errors
    /// [`Oid4vpError::Crypto`] for a key that cannot export its scalar (a hardware key).
    pub fn private_jwk(&self) -> Result<Jwk, Oid4vpError> {
        let mut jwk = self.key.to_jwk().map_err(Oid4vpError::Crypto)?;
        jwk.kid = Some(self.kid.clone());
        Ok(jwk)
    }

    /// The key's `kid`.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key.
    #[must_use]
    pub fn public_key(&self) -> &PublicKey {
        self.key.public_key()
    }

    /// The public JWK the request carries: `kty`, `crv`, `x`, `y`, `kid`, `use` `enc`, `alg`
    /// `ECDH-ES` (§8.3: `alg` MUST be present).
    #[must_use]
    pub fn public_jwk(&self) -> Value {
        let jwk = self.key.public_key().to_jwk();
        json!({
            "kty": jwk.kty,
            "crv": jwk.crv,
            "x": jwk.x,
            "y": jwk.y,
            "kid": self.kid,
            "use": "enc",
            "alg": "ECDH-ES",
        })
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key, raw: the `jwkThumbprint` of the mdoc
    /// OpenID4VP handover when the response is encrypted (Appendix B.2.6.1).
    ///
    /// # Errors
    /// [`Oid4vpError::Crypto`].
    pub fn thumbprint(&self, provider: &CryptoProvider) -> Result<Vec<u8>, Oid4vpError> {
        let text = self
            .key
            .public_key()
            .thumbprint_sha256_on(provider)
            .map_err(Oid4vpError::Crypto)?;
        kmid_crypto::jose::b64url_decode(&text)
            .map_err(|_| Oid4vpError::Malformed("thumbprint".into()))
    }

    /// The client metadata of a request whose response is encrypted to this key: `jwks`
    /// with its public JWK, both `enc` values (HAIP 1.0 §5), and `vp_formats_supported`.
    #[must_use]
    pub fn client_metadata(&self, vp_formats_supported: Value) -> ClientMetadata {
        ClientMetadata {
            jwks: Some(json!({ "keys": [self.public_jwk()] })),
            encrypted_response_enc_values_supported: HAIP_ENC_VALUES
                .iter()
                .map(|e| e.name().to_owned())
                .collect(),
            vp_formats_supported: Some(vp_formats_supported),
            other: Map::new(),
        }
    }

    /// Decrypts a response encrypted to this key: `kid` (when the header has one) must be
    /// this key's, `enc` one of `accepted`.
    ///
    /// # Errors
    /// [`Oid4vpError::Jwe`] for the JWE's refusal (`Jwe.KeyId` for another `kid`, before any
    /// key agreement), and what [`AuthorizationResponse::from_json`] refuses.
    pub fn decrypt(
        &self,
        provider: &CryptoProvider,
        jwe: &str,
        accepted: &[ContentEncryption],
    ) -> Result<AuthorizationResponse, Oid4vpError> {
        let opened = decrypt_ecdh_es(provider, jwe, &self.key, Some(&self.kid), accepted)
            .map_err(Oid4vpError::Jwe)?;
        serde_json::from_slice::<RawResponse>(&opened.plaintext)
            .map_err(|_| {
                Oid4vpError::Malformed(
                    "the decrypted response is not a JSON object of a VP Token (arrays of strings) or an error".into(),
                )
            })?
            .into_response()
    }
}

/// The key and `enc` a wallet encrypts a response to (§8.3): the first key in
/// `client_metadata.jwks` that is an EC P-256 public key with `alg` `ECDH-ES` and `use` `enc`
/// (or no `use`); `enc` `A256GCM` when the verifier lists it (HAIP's SHOULD), else `A128GCM`
/// when listed or when nothing is listed (the default).
#[derive(Debug, Clone)]
pub struct ResponseEncryption {
    /// The verifier's key, as its JWK (with its `kid`).
    pub jwk: Jwk,
    /// The key.
    pub key: PublicKey,
    /// The content encryption.
    pub enc: ContentEncryption,
}

impl ResponseEncryption {
    /// What `request` asks the response to be encrypted to.
    ///
    /// # Errors
    /// [`Oid4vpError::Missing`] without a usable key; [`Oid4vpError::Unsupported`] when the
    /// verifier lists only `enc` values kmid does not implement.
    pub fn for_request(request: &AuthorizationRequest) -> Result<Self, Oid4vpError> {
        let metadata = request
            .client_metadata
            .as_ref()
            .ok_or(Oid4vpError::Missing("client_metadata (the response key)"))?;
        let keys = metadata
            .jwks
            .as_ref()
            .and_then(|j| j.get("keys"))
            .and_then(Value::as_array)
            .ok_or(Oid4vpError::Missing("client_metadata.jwks"))?;
        let (jwk, key) = keys
            .iter()
            .filter(|k| {
                k.get("kty").and_then(Value::as_str) == Some("EC")
                    && k.get("crv").and_then(Value::as_str) == Some("P-256")
                    && k.get("alg").and_then(Value::as_str) == Some("ECDH-ES")
                    && k.get("use").is_none_or(|u| u.as_str() == Some("enc"))
                    && k.get("d").is_none()
            })
            .find_map(|k| {
                let parsed: Jwk = serde_json::from_value(k.clone()).ok()?;
                let key = parsed.to_public_key().ok()?;
                Some((parsed, key))
            })
            .ok_or(Oid4vpError::Missing(
                "a P-256 ECDH-ES key in client_metadata.jwks",
            ))?;
        let listed = &metadata.encrypted_response_enc_values_supported;
        let enc = if listed.is_empty() {
            ContentEncryption::A128Gcm
        } else if listed.iter().any(|e| e == "A256GCM") {
            ContentEncryption::A256Gcm
        } else if listed.iter().any(|e| e == "A128GCM") {
            ContentEncryption::A128Gcm
        } else {
            return Err(Oid4vpError::Unsupported {
                what: "encrypted_response_enc_values_supported",
                value: listed.join(","),
            });
        };
        Ok(Self { jwk, key, enc })
    }

    /// The RFC 7638 SHA-256 thumbprint of the key, raw: the mdoc handover's `jwkThumbprint`.
    ///
    /// # Errors
    /// [`Oid4vpError::Crypto`].
    pub fn thumbprint(&self, provider: &CryptoProvider) -> Result<Vec<u8>, Oid4vpError> {
        let text = self
            .key
            .thumbprint_sha256_on(provider)
            .map_err(Oid4vpError::Crypto)?;
        kmid_crypto::jose::b64url_decode(&text)
            .map_err(|_| Oid4vpError::Malformed("thumbprint".into()))
    }

    /// Encrypts `response` (the JWE's `kid` is the key's).
    ///
    /// # Errors
    /// [`Oid4vpError::Jwe`].
    pub fn encrypt(
        &self,
        provider: &CryptoProvider,
        random: &dyn Random,
        response: &AuthorizationResponse,
    ) -> Result<String, Oid4vpError> {
        let mut other = Map::new();
        if let Some(kid) = &self.jwk.kid {
            other.insert("kid".into(), kid.clone().into());
        }
        encrypt_ecdh_es(
            provider,
            random,
            &self.key,
            self.enc,
            &HeaderParams {
                other,
                ..HeaderParams::default()
            },
            response.to_json().to_string().as_bytes(),
        )
        .map_err(Oid4vpError::Jwe)
    }
}

/// The wallet's side of §8.3: encrypts `response` to the key `request` names
/// ([`ResponseEncryption::for_request`]).
///
/// # Errors
/// As [`ResponseEncryption::for_request`] and [`ResponseEncryption::encrypt`].
pub fn encrypt_response(
    provider: &CryptoProvider,
    random: &dyn Random,
    request: &AuthorizationRequest,
    response: &AuthorizationResponse,
) -> Result<String, Oid4vpError> {
    ResponseEncryption::for_request(request)?.encrypt(provider, random, response)
}

/// The `data` of a DC API response (Appendix A.4): `{"response": <JWE>}` when `encryption`
/// is given (`dc_api.jwt`), else the response's parameters.
///
/// # Errors
/// [`Oid4vpError::Jwe`].
pub fn dc_api_response(
    provider: &CryptoProvider,
    random: &dyn Random,
    response: &AuthorizationResponse,
    encryption: Option<&ResponseEncryption>,
) -> Result<Value, Oid4vpError> {
    Ok(match encryption {
        Some(e) => json!({ "response": e.encrypt(provider, random, response)? }),
        None => response.to_json(),
    })
}

/// The form body of a `direct_post` response (§8.2): `vp_token` as its JSON text, `state`; or
/// `error`, `error_description`, `state`.
#[must_use]
pub fn direct_post_body(response: &AuthorizationResponse) -> String {
    let mut body = form_urlencoded::Serializer::new(String::new());
    match response {
        AuthorizationResponse::Success { vp_token, state } => {
            body.append_pair("vp_token", &Value::Object(vp_token.clone()).to_string());
            if let Some(s) = state {
                body.append_pair("state", s);
            }
        }
        AuthorizationResponse::Error {
            error,
            description,
            state,
        } => {
            body.append_pair("error", error);
            if let Some(d) = description {
                body.append_pair("error_description", d);
            }
            if let Some(s) = state {
                body.append_pair("state", s);
            }
        }
    }
    body.finish()
}

/// The form body of a `direct_post.jwt` response (§8.3.1): `response` and the JWE.
#[must_use]
pub fn direct_post_jwt_body(jwe: &str) -> String {
    // A compact JWE is base64url parts and dots, none of which the form encoding changes: the
    // body is written as is (the encoder goes byte by byte), and only anything else encoded.
    if jwe
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return format!("response={jwe}");
    }
    form_urlencoded::Serializer::new(String::new())
        .append_pair("response", jwe)
        .finish()
}

/// What a `response_uri` received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PostedResponse {
    /// `response`: a JWE to decrypt.
    Encrypted(String),
    /// A response in the clear: `vp_token` and `state`, or an error.
    Plain(AuthorizationResponse),
}

/// Reads a body POSTed to a `response_uri`: `response` alone, or the plain parameters; a
/// parameter twice is refused; unknown parameters are ignored (§8.2).
///
/// # Errors
/// [`Oid4vpError::Malformed`], [`Oid4vpError::Missing`].
pub fn parse_direct_post(body: &[u8]) -> Result<PostedResponse, Oid4vpError> {
    if body.len() > MAX_RESPONSE_BYTES {
        return Err(Oid4vpError::Malformed("the body is too large".into()));
    }
    let mut fields: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        if ![
            "response",
            "vp_token",
            "state",
            "error",
            "error_description",
        ]
        .contains(&k.as_ref())
        {
            continue;
        }
        if fields.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(Oid4vpError::Malformed(format!("{k} appears twice")));
        }
    }
    if let Some(jwe) = fields.remove("response") {
        if !fields.is_empty() {
            return Err(Oid4vpError::Malformed(
                "response beside parameters in the clear".into(),
            ));
        }
        return Ok(PostedResponse::Encrypted(jwe));
    }
    let vp_token = match fields.remove("vp_token") {
        Some(text) => Some(serde_json::from_str::<RawVpToken>(&text).map_err(|_| {
            Oid4vpError::Malformed("vp_token is not a JSON object of arrays of strings".into())
        })?),
        None => None,
    };
    RawResponse {
        vp_token,
        state: fields.remove("state"),
        error: fields.remove("error"),
        error_description: fields.remove("error_description"),
    }
    .into_response()
    .map(PostedResponse::Plain)
}

/// Where a verifier's transaction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransactionState {
    /// Waiting for the wallet's response.
    Pending,
    /// A response was accepted; its result waits for the `response_code` (same-device) or is
    /// ready (cross-device).
    Answered,
}

/// One request's verifier-side state (OpenID4VP 1.0 §8.2, §13.3; HAIP 1.0 §5.1): its `state`
/// and `nonce`, its response mode, the ephemeral key an encrypted response must use, and,
/// once answered in a same-device flow, the `response_code` the front end must present to
/// get the result.
#[derive(Debug)]
pub struct Transaction {
    /// `state`, 128 bits from the provider's random source.
    pub state: String,
    /// `nonce`, 128 bits.
    pub nonce: String,
    /// The response mode the request named.
    pub response_mode: ResponseMode,
    /// The ephemeral key, for the encrypted modes.
    pub key: Option<ResponseKey>,
    /// Whether the wallet is sent back with a `redirect_uri` carrying a `response_code`.
    pub same_device: bool,
    response_code: Option<String>,
    status: TransactionState,
    response: Option<AuthorizationResponse>,
    /// Responses taken and then found not to hold (see [`Transaction::reopen`]).
    failed: u8,
}

/// How many responses that do not hold a transaction takes before it stays answered: its
/// `state` and response key are in the public request, so anyone who saw it can post junk
/// that decrypts and echoes the `state`; the real wallet's response must still get in.
pub const MAX_FAILED_RESPONSES: u8 = 3;

/// 128 bits, base64url.
fn random_text(random: &dyn Random) -> Result<String, Oid4vpError> {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes).map_err(Oid4vpError::Crypto)?;
    Ok(b64url(&bytes))
}

impl Transaction {
    /// A transaction for a request answered in `mode`: fresh `state` and `nonce`, and for the
    /// encrypted modes a fresh [`ResponseKey`].
    ///
    /// # Errors
    /// [`Oid4vpError::Crypto`].
    pub fn new(
        random: &dyn Random,
        mode: ResponseMode,
        same_device: bool,
    ) -> Result<Self, Oid4vpError> {
        Ok(Self {
            state: random_text(random)?,
            nonce: random_text(random)?,
            response_mode: mode,
            key: if mode.is_encrypted() {
                Some(ResponseKey::generate(random)?)
            } else {
                None
            },
            same_device,
            response_code: None,
            status: TransactionState::Pending,
            response: None,
            failed: 0,
        })
    }

    /// A pending transaction as JSON, to keep it between processes (the `kmid` CLI writes it
    /// to a file between `request` and `verify`): `state`, `nonce`, `response_mode`,
    /// `same_device` and the response key's private JWK. It holds a secret.
    ///
    /// # Errors
    /// [`Oid4vpError::Replayed`] for a transaction that already has a response;
    /// [`Oid4vpError::Crypto`].
    pub fn export_pending(&self) -> Result<Value, Oid4vpError> {
        if self.status != TransactionState::Pending {
            return Err(Oid4vpError::Replayed);
        }
        let key = match &self.key {
            Some(k) => Some(
                serde_json::to_value(k.private_jwk()?)
                    .map_err(|e| Oid4vpError::Malformed(e.to_string()))?,
            ),
            None => None,
        };
        Ok(json!({
            "state": self.state,
            "nonce": self.nonce,
            "response_mode": self.response_mode.as_str(),
            "same_device": self.same_device,
            "key": key,
        }))
    }

    /// A pending transaction from [`Self::export_pending`].
    ///
    /// # Errors
    /// [`Oid4vpError::Malformed`], [`Oid4vpError::Missing`] for a document that is not one;
    /// the key's refusal.
    pub fn import_pending(value: &Value) -> Result<Self, Oid4vpError> {
        let text = |k: &'static str| {
            value
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or(Oid4vpError::Missing(k))
        };
        let response_mode: ResponseMode =
            serde_json::from_value(value.get("response_mode").cloned().unwrap_or_default())
                .map_err(|_| Oid4vpError::Missing("response_mode"))?;
        let key = match value.get("key") {
            Some(Value::Null) | None => None,
            Some(jwk) => Some(ResponseKey::from_jwk(
                &serde_json::from_value::<Jwk>(jwk.clone())
                    .map_err(|_| Oid4vpError::Malformed("key".into()))?,
            )?),
        };
        if key.is_some() != response_mode.is_encrypted() {
            return Err(Oid4vpError::Malformed(
                "a key exactly for the encrypted modes".into(),
            ));
        }
        Ok(Self {
            state: text("state")?,
            nonce: text("nonce")?,
            response_mode,
            key,
            same_device: value
                .get("same_device")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            response_code: None,
            status: TransactionState::Pending,
            response: None,
            failed: 0,
        })
    }

    /// Opens a transaction again after the response it took did not hold (its presentations
    /// failed, or it was an error response, which anyone who saw the request could forge),
    /// at most [`MAX_FAILED_RESPONSES`] times; then it stays answered with that response.
    /// Returns whether it is open again.
    pub fn reopen(&mut self) -> bool {
        if self.status != TransactionState::Answered || self.failed >= MAX_FAILED_RESPONSES {
            return false;
        }
        self.failed = self.failed.saturating_add(1);
        self.status = TransactionState::Pending;
        self.response = None;
        self.response_code = None;
        true
    }

    /// Where it stands.
    #[must_use]
    pub const fn status(&self) -> TransactionState {
        self.status
    }

    /// Accepts the body POSTed to the `response_uri`: the response must come in the request's
    /// mode (an encrypted request refuses a response in the clear, and the reverse), decrypt
    /// with this transaction's key only, and echo this transaction's `state`; a second
    /// response is refused. For a same-device flow, returns the `response_code` to put in the
    /// `redirect_uri` (128 bits).
    ///
    /// # Errors
    /// [`Oid4vpError::ResponseMode`], [`Oid4vpError::StateMismatch`],
    /// [`Oid4vpError::Replayed`], and what decryption and parsing refuse.
    pub fn accept(
        &mut self,
        provider: &CryptoProvider,
        random: &dyn Random,
        body: &[u8],
    ) -> Result<Option<String>, Oid4vpError> {
        if self.status != TransactionState::Pending {
            return Err(Oid4vpError::Replayed);
        }
        let response = match (parse_direct_post(body)?, &self.key) {
            (PostedResponse::Encrypted(jwe), Some(key)) => {
                key.decrypt(provider, &jwe, &HAIP_ENC_VALUES)?
            }
            // An error response may come in the clear (§8.3.1: a wallet unable to encrypt).
            (PostedResponse::Plain(r @ AuthorizationResponse::Error { .. }), _) => r,
            (PostedResponse::Plain(_), Some(_)) => {
                return Err(Oid4vpError::ResponseMode("a response in the clear"));
            }
            (PostedResponse::Encrypted(_), None) => {
                return Err(Oid4vpError::ResponseMode("an encrypted response"));
            }
            (PostedResponse::Plain(r), None) => r,
        };
        if !response
            .state()
            .is_some_and(|s| constant_time_eq(s.as_bytes(), self.state.as_bytes()))
        {
            return Err(Oid4vpError::StateMismatch);
        }
        self.status = TransactionState::Answered;
        self.response = Some(response);
        if self.same_device {
            let code = random_text(random)?;
            self.response_code = Some(code.clone());
            Ok(Some(code))
        } else {
            Ok(None)
        }
    }

    /// Accepts the `data` of a DC API response (Appendix A.4) for a request in a `dc_api`
    /// mode: `{"response": <JWE>}` decrypted with this transaction's key for `dc_api.jwt`, or
    /// the parameters in the clear for `dc_api` (an error response may come in the clear
    /// either way). The DC API has no `state`: the response is bound to the request by the
    /// nonce and, in the presentations, the Origin. A second response is refused.
    ///
    /// # Errors
    /// [`Oid4vpError::ResponseMode`], [`Oid4vpError::Replayed`], and what decryption and
    /// parsing refuse.
    pub fn accept_dc_api(
        &mut self,
        provider: &CryptoProvider,
        data: &Value,
    ) -> Result<(), Oid4vpError> {
        if self.response_mode.is_direct_post() {
            return Err(Oid4vpError::ResponseMode("a DC API response"));
        }
        if self.status != TransactionState::Pending {
            return Err(Oid4vpError::Replayed);
        }
        if data.to_string().len() > MAX_RESPONSE_BYTES {
            return Err(Oid4vpError::Malformed("the response is too large".into()));
        }
        let encrypted = data.get("response");
        let response = match (encrypted, &self.key) {
            (Some(jwe), Some(key)) => {
                if data.as_object().is_some_and(|m| m.len() != 1) {
                    return Err(Oid4vpError::Malformed(
                        "response beside parameters in the clear".into(),
                    ));
                }
                let jwe = jwe
                    .as_str()
                    .ok_or_else(|| Oid4vpError::Malformed("response is not a string".into()))?;
                key.decrypt(provider, jwe, &HAIP_ENC_VALUES)?
            }
            (Some(_), None) => return Err(Oid4vpError::ResponseMode("an encrypted response")),
            (None, key) => {
                let response = AuthorizationResponse::from_json(data)?;
                if key.is_some() && matches!(response, AuthorizationResponse::Success { .. }) {
                    return Err(Oid4vpError::ResponseMode("a response in the clear"));
                }
                response
            }
        };
        self.status = TransactionState::Answered;
        self.response = Some(response);
        Ok(())
    }

    /// The accepted response, for whoever may see it: in a same-device flow only with the
    /// `response_code` the wallet was redirected with (HAIP 1.0 §5.1: a redirect that did
    /// not come back to this session gets nothing).
    ///
    /// # Errors
    /// [`Oid4vpError::Pending`] before a response; [`Oid4vpError::ResponseCode`] for a
    /// missing or wrong code.
    pub fn result(
        &self,
        response_code: Option<&str>,
    ) -> Result<&AuthorizationResponse, Oid4vpError> {
        let response = self.response.as_ref().ok_or(Oid4vpError::Pending)?;
        if let Some(expected) = &self.response_code
            && !response_code.is_some_and(|c| constant_time_eq(c.as_bytes(), expected.as_bytes()))
        {
            return Err(Oid4vpError::ResponseCode);
        }
        Ok(response)
    }
}

// The request side's size limit applies to the POST to a request_uri as well.
const _: () = assert!(MAX_REQUEST_BYTES < MAX_RESPONSE_BYTES);
