//! The OpenID4VP Authorization Request (OpenID4VP 1.0 §5), typed: what a verifier builds and a
//! wallet reads out of a verified Request Object, and the URL forms that carry it.

use kmid_crypto::CryptoProvider;
use kmid_crypto::jose::b64url;
use kmid_crypto::x509::Certificate;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Oid4vpError;

/// The `aud` of a Request Object under static discovery (OpenID4VP 1.0 §5.8).
pub const SELF_ISSUED_V2: &str = "https://self-issued.me/v2";
/// The `typ` of a Request Object (RFC 9101, OpenID4VP 1.0 §5).
pub const REQUEST_OBJECT_TYP: &str = "oauth-authz-req+jwt";
/// The largest request URL or Request Object read.
pub const MAX_REQUEST_BYTES: usize = 256 * 1024;

/// How the wallet returns the response (OpenID4VP 1.0 §8.2, §8.3, Appendix A.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ResponseMode {
    /// An HTTP POST of the form-encoded response to `response_uri`.
    #[serde(rename = "direct_post")]
    DirectPost,
    /// As `direct_post`, the response a JWE in `response` (HAIP 1.0 §5.1 requires it).
    #[serde(rename = "direct_post.jwt")]
    DirectPostJwt,
    /// Returned through the Digital Credentials API.
    #[serde(rename = "dc_api")]
    DcApi,
    /// Through the Digital Credentials API, encrypted (HAIP 1.0 §5.2 requires it).
    #[serde(rename = "dc_api.jwt")]
    DcApiJwt,
}

impl ResponseMode {
    /// The parameter value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::DirectPost => "direct_post",
            Self::DirectPostJwt => "direct_post.jwt",
            Self::DcApi => "dc_api",
            Self::DcApiJwt => "dc_api.jwt",
        }
    }

    /// Whether the response is a JWE encrypted to the request's key.
    #[must_use]
    pub const fn is_encrypted(self) -> bool {
        matches!(self, Self::DirectPostJwt | Self::DcApiJwt)
    }

    /// Whether the response goes to a `response_uri`.
    #[must_use]
    pub const fn is_direct_post(self) -> bool {
        matches!(self, Self::DirectPost | Self::DirectPostJwt)
    }
}

/// A Client Identifier with its prefix (OpenID4VP 1.0 §5.9), for the prefixes kmid accepts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientId {
    /// `x509_hash:` the base64url SHA-256 of the leaf certificate's DER (HAIP's MUST).
    X509Hash(String),
    /// `x509_san_dns:` a dNSName of the leaf certificate.
    X509SanDns(String),
    /// `redirect_uri:` an unsigned request answered at this URI (not for HAIP; a wallet
    /// refuses it where a signed request is required).
    RedirectUri(String),
}

impl ClientId {
    /// The `x509_hash` Client Identifier of `leaf`.
    ///
    /// # Errors
    /// [`Oid4vpError::Crypto`].
    pub fn x509_hash(provider: &CryptoProvider, leaf: &Certificate) -> Result<Self, Oid4vpError> {
        Ok(Self::X509Hash(b64url(
            &provider.sha256(leaf.der()).map_err(Oid4vpError::Crypto)?,
        )))
    }

    /// Parses `prefix:value`.
    ///
    /// # Errors
    /// [`Oid4vpError::ClientIdPrefix`] for another prefix, none, or an empty value.
    pub fn parse(text: &str) -> Result<Self, Oid4vpError> {
        let refuse = || Oid4vpError::ClientIdPrefix(text.to_owned());
        let (prefix, value) = text.split_once(':').ok_or_else(refuse)?;
        if value.is_empty() {
            return Err(refuse());
        }
        match prefix {
            "x509_hash" => Ok(Self::X509Hash(value.to_owned())),
            "x509_san_dns" => Ok(Self::X509SanDns(value.to_owned())),
            "redirect_uri" => Ok(Self::RedirectUri(value.to_owned())),
            _ => Err(refuse()),
        }
    }

    /// Whether the prefix binds the request to a certificate (a signed request).
    #[must_use]
    pub const fn is_x509(&self) -> bool {
        matches!(self, Self::X509Hash(_) | Self::X509SanDns(_))
    }
}

impl core::fmt::Display for ClientId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::X509Hash(v) => write!(f, "x509_hash:{v}"),
            Self::X509SanDns(v) => write!(f, "x509_san_dns:{v}"),
            Self::RedirectUri(v) => write!(f, "redirect_uri:{v}"),
        }
    }
}

/// The verifier's metadata sent with the request (OpenID4VP 1.0 §5.1, §8.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientMetadata {
    /// The public keys the response may be encrypted to: for HAIP, one ephemeral P-256 ECDH
    /// key per request, with a `kid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Value>,
    /// The `enc` values the verifier decrypts (HAIP: both `A128GCM` and `A256GCM`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub encrypted_response_enc_values_supported: Vec<String>,
    /// The formats and algorithms the verifier accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vp_formats_supported: Option<Value>,
    /// Other members, kept.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// An Authorization Request (OpenID4VP 1.0 §5), as the verifier sends it in a Request Object.
/// Parameters this profile does not read are kept in `other` (a wallet ignores them, §5),
/// except `transaction_data`, which a wallet checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The Client Identifier with its prefix (empty in an unsigned DC API request, where a
    /// wallet ignores it: Appendix A.2).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    /// `vp_token`.
    pub response_type: String,
    /// How the response comes back.
    pub response_mode: ResponseMode,
    /// Where a `direct_post(.jwt)` response goes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_uri: Option<String>,
    /// The nonce every presentation binds (≥ 128 bits from the provider's random source).
    pub nonce: String,
    /// The verifier's transaction state, echoed in the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The DCQL query (OpenID4VP 1.0 §6), as JSON.
    pub dcql_query: Value,
    /// The verifier's metadata: response encryption keys and algorithms, formats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<ClientMetadata>,
    /// Transaction data, each a base64url-encoded JSON object (§5.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_data: Option<Vec<String>>,
    /// Attestations about the verifier (§5.11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verifier_info: Option<Vec<Value>>,
    /// The origins a DC API request may come from (Appendix A.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_origins: Option<Vec<String>>,
    /// The wallet's nonce, when it POSTed one to the `request_uri` (§5.10.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet_nonce: Option<String>,
    /// `https://self-issued.me/v2` under static discovery (§5.8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    /// When the Request Object was made and until when it may be used (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// See `iat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Every other parameter, kept as received.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl AuthorizationRequest {
    /// The Client Identifier, parsed.
    ///
    /// # Errors
    /// As [`ClientId::parse`].
    pub fn client(&self) -> Result<ClientId, Oid4vpError> {
        ClientId::parse(&self.client_id)
    }

    /// The checks every request must pass whoever reads it: `response_type` `vp_token`, a
    /// `dcql_query` object and no `scope` beside it, a `response_uri` exactly for the
    /// `direct_post` modes (HTTPS), a nonce.
    ///
    /// # Errors
    /// [`Oid4vpError::Unsupported`], [`Oid4vpError::Missing`], [`Oid4vpError::Malformed`].
    pub fn check(&self) -> Result<(), Oid4vpError> {
        if self.response_type != "vp_token" {
            return Err(Oid4vpError::Unsupported {
                what: "response_type",
                value: self.response_type.clone(),
            });
        }
        if !self.dcql_query.is_object() {
            return Err(Oid4vpError::Missing("dcql_query"));
        }
        if self.other.contains_key("scope") {
            return Err(Oid4vpError::Malformed(
                "both dcql_query and scope (one or the other)".into(),
            ));
        }
        if self.nonce.is_empty() {
            return Err(Oid4vpError::Missing("nonce"));
        }
        if self.response_mode.is_direct_post() && self.client_id.is_empty() {
            return Err(Oid4vpError::Missing("client_id"));
        }
        match (self.response_mode.is_direct_post(), &self.response_uri) {
            (true, None) => return Err(Oid4vpError::Missing("response_uri")),
            (true, Some(uri)) if https_host(uri).is_none() => {
                return Err(Oid4vpError::Malformed(
                    "response_uri is not an https URL with a host".into(),
                ));
            }
            (false, Some(_)) => {
                return Err(Oid4vpError::Malformed(
                    "response_uri is only for the direct_post modes".into(),
                ));
            }
            _ => {}
        }
        Ok(())
    }
}

/// The host of an `https` URL (lower-cased, without port or user information), if it is one.
#[must_use]
pub fn https_host(url: &str) -> Option<String> {
    let rest = url.strip_prefix("https://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// How the Request Object travels (OpenID4VP 1.0 §5, RFC 9101 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestUrl {
    /// By value: the Request Object in `request`.
    ByValue {
        /// `client_id`, which must equal the Request Object's.
        client_id: String,
        /// The compact JWS.
        request: String,
    },
    /// By reference: fetched from `request_uri` (GET, or POST with `wallet_nonce` when
    /// `request_uri_method` is `post`).
    ByReference {
        /// `client_id`, which must equal the Request Object's.
        client_id: String,
        /// Where to fetch the Request Object.
        request_uri: String,
        /// Whether the wallet may POST to it (`request_uri_method=post`).
        post: bool,
    },
}

impl RequestUrl {
    /// The URL with `scheme` (`openid4vp://`, `haip-vp://`, or an https universal link), as a
    /// QR code carries it.
    #[must_use]
    pub fn to_url(&self, scheme: &str) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        match self {
            Self::ByValue { client_id, request } => {
                query.append_pair("client_id", client_id);
                query.append_pair("request", request);
            }
            Self::ByReference {
                client_id,
                request_uri,
                post,
            } => {
                query.append_pair("client_id", client_id);
                query.append_pair("request_uri", request_uri);
                if *post {
                    query.append_pair("request_uri_method", "post");
                }
            }
        }
        let separator = if scheme.contains('?') { '&' } else { '?' };
        format!("{scheme}{separator}{}", query.finish())
    }

    /// Parses a request URL of any scheme: exactly one of `request` and `request_uri`, a
    /// `client_id`, `request_uri_method` `get` or `post` if present. Other parameters are
    /// ignored: only the Request Object's count (§5.10.2).
    ///
    /// # Errors
    /// [`Oid4vpError::Malformed`], [`Oid4vpError::Missing`].
    pub fn parse(url: &str) -> Result<Self, Oid4vpError> {
        if url.len() > MAX_REQUEST_BYTES {
            return Err(Oid4vpError::Malformed("the URL is too long".into()));
        }
        let query = url
            .split_once('?')
            .map(|(_, q)| q.split('#').next().unwrap_or_default())
            .ok_or(Oid4vpError::Missing("query"))?;
        let mut client_id = None;
        let mut request = None;
        let mut request_uri = None;
        let mut method = None;
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match k.as_ref() {
                "client_id" => &mut client_id,
                "request" => &mut request,
                "request_uri" => &mut request_uri,
                "request_uri_method" => &mut method,
                _ => continue,
            };
            if slot.replace(v.into_owned()).is_some() {
                return Err(Oid4vpError::Malformed(format!("{k} appears twice")));
            }
        }
        let client_id = client_id.ok_or(Oid4vpError::Missing("client_id"))?;
        match (request, request_uri) {
            (Some(request), None) => {
                if method.is_some() {
                    return Err(Oid4vpError::Malformed(
                        "request_uri_method without request_uri".into(),
                    ));
                }
                Ok(Self::ByValue { client_id, request })
            }
            (None, Some(request_uri)) => {
                if https_host(&request_uri).is_none() {
                    return Err(Oid4vpError::Malformed(
                        "request_uri is not an https URL with a host".into(),
                    ));
                }
                let post = match method.as_deref() {
                    None | Some("get") => false,
                    Some("post") => true,
                    Some(other) => {
                        return Err(Oid4vpError::Unsupported {
                            what: "request_uri_method",
                            value: other.to_owned(),
                        });
                    }
                };
                Ok(Self::ByReference {
                    client_id,
                    request_uri,
                    post,
                })
            }
            (Some(_), Some(_)) => Err(Oid4vpError::Malformed(
                "both request and request_uri".into(),
            )),
            (None, None) => Err(Oid4vpError::Missing("request or request_uri")),
        }
    }

    /// The URL's `client_id`.
    #[must_use]
    pub fn client_id(&self) -> &str {
        match self {
            Self::ByValue { client_id, .. } | Self::ByReference { client_id, .. } => client_id,
        }
    }
}

/// The form body a wallet POSTs to a `request_uri` with `request_uri_method=post`
/// (OpenID4VP 1.0 §5.10.1): its `wallet_nonce` and, when given, its metadata.
#[must_use]
pub fn request_uri_post_body(wallet_nonce: &str, wallet_metadata: Option<&Value>) -> String {
    let mut body = form_urlencoded::Serializer::new(String::new());
    if let Some(metadata) = wallet_metadata {
        body.append_pair("wallet_metadata", &metadata.to_string());
    }
    body.append_pair("wallet_nonce", wallet_nonce);
    body.finish()
}

/// What a verifier's `request_uri` endpoint reads from the wallet's POST: `wallet_nonce` and
/// `wallet_metadata` (a JSON object), other parameters ignored (§5.10.1).
///
/// # Errors
/// [`Oid4vpError::Malformed`] for a body too large, a parameter twice, or metadata that is not
/// a JSON object.
pub fn parse_request_uri_post(body: &[u8]) -> Result<(Option<String>, Option<Value>), Oid4vpError> {
    if body.len() > MAX_REQUEST_BYTES {
        return Err(Oid4vpError::Malformed("the body is too large".into()));
    }
    let mut nonce = None;
    let mut metadata = None;
    for (k, v) in form_urlencoded::parse(body) {
        let slot = match k.as_ref() {
            "wallet_nonce" => &mut nonce,
            "wallet_metadata" => &mut metadata,
            _ => continue,
        };
        if slot.replace(v.into_owned()).is_some() {
            return Err(Oid4vpError::Malformed(format!("{k} appears twice")));
        }
    }
    let metadata = match metadata {
        Some(text) => match serde_json::from_str::<Value>(&text) {
            Ok(v @ Value::Object(_)) => Some(v),
            _ => {
                return Err(Oid4vpError::Malformed(
                    "wallet_metadata is not a JSON object".into(),
                ));
            }
        },
        None => None,
    };
    Ok((nonce, metadata))
}
