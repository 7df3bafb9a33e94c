//! Credential Issuer Metadata (OpenID4VCI 1.0 §12.2), signed (§12.2.3) with the HAIP 1.0 §4.2
//! `x5c` rules, and OAuth 2.0 Authorization Server Metadata (RFC 8414) with the parameters
//! OpenID4VCI and HAIP add.

use std::collections::BTreeMap;
use std::sync::Arc;

use kmid_crypto::jose::{CompactJws, sign_compact};
use kmid_crypto::x509::{Certificate, KeyPurpose, TrustStore, chain_to_x5c};
use kmid_crypto::{Algorithm, CryptoProvider, Signer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::{VciError, is_https_endpoint, is_issuer_identifier};

/// The `typ` of signed Credential Issuer Metadata.
pub const SIGNED_METADATA_TYP: &str = "openidvci-issuer-metadata+jwt";
/// The well-known path segment of Credential Issuer Metadata.
pub const ISSUER_WELL_KNOWN: &str = "/.well-known/openid-credential-issuer";
/// The well-known path segment of Authorization Server Metadata (RFC 8414 §3).
pub const AS_WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";
/// The largest metadata document accepted (the three Korean cards in two formats with their
/// claim display take about 20 KiB).
pub const MAX_METADATA_BYTES: usize = 256 * 1024;
/// The algorithms accepted for signed metadata.
const SIGNED_METADATA_ALGORITHMS: [Algorithm; 3] =
    [Algorithm::Es256, Algorithm::Es384, Algorithm::EdDsa];

/// The URL of the metadata of `identifier` under `well_known`: the segment inserted between
/// the host and the path (§12.2.2, RFC 8414 §3.1), so `https://issuer.example/tenant` has its
/// Credential Issuer Metadata at
/// `https://issuer.example/.well-known/openid-credential-issuer/tenant`.
///
/// # Errors
/// [`VciError::Malformed`] for an identifier that is not an `https` URL without query and
/// fragment.
pub fn well_known_url(identifier: &str, well_known: &str) -> Result<String, VciError> {
    if !is_issuer_identifier(identifier) {
        return Err(VciError::Malformed(
            "not an https identifier without query and fragment".into(),
        ));
    }
    let rest = identifier.get("https://".len()..).unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(i) => (
            rest.get(..i).unwrap_or_default(),
            rest.get(i..).unwrap_or_default(),
        ),
        None => (rest, ""),
    };
    let path = if path == "/" { "" } else { path };
    Ok(format!("https://{authority}{well_known}{path}"))
}

/// Display properties for one language.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Display {
    /// The name shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The BCP 47 language tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// The logo, `{uri, alt_text}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo: Option<Value>,
    /// Other display properties (`description`, colours, …).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// `batch_credential_issuance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchIssuance {
    /// The most key proofs one Credential Request may carry (2 or more).
    pub batch_size: u32,
}

/// What a key attestation must show (`key_attestations_required`, Appendix D).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyAttestationsRequired {
    /// Accepted `key_storage` values (attack potential resistance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_storage: Option<Vec<String>>,
    /// Accepted `user_authentication` values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_authentication: Option<Vec<String>>,
}

/// One proof type's metadata (`proof_types_supported.<type>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofTypeMetadata {
    /// The algorithms a proof may be signed with.
    pub proof_signing_alg_values_supported: Vec<String>,
    /// Present when the issuer requires key attestations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_attestations_required: Option<KeyAttestationsRequired>,
    /// Other parameters.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// One Credential Configuration (`credential_configurations_supported.<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialConfiguration {
    /// `mso_mdoc`, `dc+sd-jwt`, ….
    pub format: String,
    /// The OAuth scope that requests it (HAIP 1.0 §4.2: one for every configuration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The algorithms the issuer signs it with (strings for JOSE, COSE integers for mdoc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_signing_alg_values_supported: Option<Vec<Value>>,
    /// How it is bound to the holder's key (`jwk`, `cose_key`); absent: not bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cryptographic_binding_methods_supported: Option<Vec<String>>,
    /// The key proofs accepted, by proof type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof_types_supported: Option<BTreeMap<String, ProofTypeMetadata>>,
    /// mdoc: the docType.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub doctype: Option<String>,
    /// SD-JWT VC: the `vct`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vct: Option<String>,
    /// `display` and `claims`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_metadata: Option<Value>,
    /// Other parameters.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl CredentialConfiguration {
    /// Whether the credential is bound to a key the wallet proves.
    #[must_use]
    pub fn requires_binding(&self) -> bool {
        self.cryptographic_binding_methods_supported.is_some()
    }
}

/// Credential Issuer Metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialIssuerMetadata {
    /// The Credential Issuer Identifier.
    pub credential_issuer: String,
    /// The Authorization Servers it relies on; absent: the issuer is its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_servers: Option<Vec<String>>,
    /// The Credential Endpoint.
    pub credential_endpoint: String,
    /// The Nonce Endpoint (required when a configuration binds to a key, HAIP 1.0 §4.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce_endpoint: Option<String>,
    /// The Deferred Credential Endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferred_credential_endpoint: Option<String>,
    /// The Notification Endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_endpoint: Option<String>,
    /// Batch issuance: present when a request may carry several proofs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_credential_issuance: Option<BatchIssuance>,
    /// The issuer's display, per language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<Vec<Display>>,
    /// The credentials it issues, by configuration id.
    pub credential_configurations_supported: BTreeMap<String, CredentialConfiguration>,
    /// Other parameters (`credential_request_encryption`, `credential_response_encryption`,
    /// extensions): kept, and ignored by kmid's checks.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl CredentialIssuerMetadata {
    /// Parses metadata fetched for `expected_issuer` and checks it ([`Self::check`]).
    ///
    /// # Errors
    /// [`VciError::Malformed`]; what [`Self::check`] refuses.
    pub fn from_json(bytes: &[u8], expected_issuer: &str) -> Result<Self, VciError> {
        if bytes.len() > MAX_METADATA_BYTES {
            return Err(VciError::Malformed("metadata larger than 256 KiB".into()));
        }
        let metadata: Self = serde_json::from_slice(bytes)
            .map_err(|e| VciError::Malformed(format!("credential issuer metadata: {e}")))?;
        metadata.check(expected_issuer)?;
        Ok(metadata)
    }

    /// The checks of §12.2 and HAIP 1.0 §4.2: `credential_issuer` is the identifier the
    /// metadata was fetched for (a plain string comparison), the endpoints are `https`,
    /// `batch_size` is at least 2, every configuration has a `scope`, proof types exactly when
    /// a configuration binds to a key, and a Nonce Endpoint when any does.
    ///
    /// # Errors
    /// [`VciError::IssuerMismatch`], [`VciError::Malformed`], [`VciError::Missing`].
    pub fn check(&self, expected_issuer: &str) -> Result<(), VciError> {
        let bad = |why: String| Err(VciError::Malformed(format!("issuer metadata: {why}")));
        if self.credential_issuer != expected_issuer {
            return Err(VciError::IssuerMismatch);
        }
        if !is_issuer_identifier(&self.credential_issuer) {
            return bad("credential_issuer is not an https identifier".into());
        }
        for (name, url) in [
            ("credential_endpoint", Some(&self.credential_endpoint)),
            ("nonce_endpoint", self.nonce_endpoint.as_ref()),
            (
                "deferred_credential_endpoint",
                self.deferred_credential_endpoint.as_ref(),
            ),
            ("notification_endpoint", self.notification_endpoint.as_ref()),
        ] {
            if url.is_some_and(|u| !is_https_endpoint(u)) {
                return bad(format!("{name} is not an https URL"));
            }
        }
        if let Some(servers) = &self.authorization_servers
            && (servers.is_empty() || servers.iter().any(|s| !is_issuer_identifier(s)))
        {
            return bad("authorization_servers is empty or holds a non-https identifier".into());
        }
        if self
            .batch_credential_issuance
            .is_some_and(|b| b.batch_size < 2)
        {
            return bad("batch_size below 2".into());
        }
        if self.credential_configurations_supported.is_empty() {
            return Err(VciError::Missing("credential_configurations_supported"));
        }
        for (id, config) in &self.credential_configurations_supported {
            if config.scope.as_deref().is_none_or(str::is_empty) {
                return bad(format!("{id} has no scope (HAIP 1.0 section 4.2)"));
            }
            if config.requires_binding() != config.proof_types_supported.is_some() {
                return bad(format!(
                    "{id}: proof_types_supported exactly when cryptographic_binding_methods_supported"
                ));
            }
            if config.requires_binding() && self.nonce_endpoint.is_none() {
                return bad(format!(
                    "{id} binds to a key and there is no nonce_endpoint"
                ));
            }
        }
        Ok(())
    }

    /// The Authorization Server to use: the offer's `authorization_server` hint, which must be
    /// one of `authorization_servers`, or the first of them, or the issuer itself.
    ///
    /// # Errors
    /// [`VciError::Malformed`] for a hint not among `authorization_servers` (§4.1.1: the
    /// wallet MUST NOT proceed).
    pub fn authorization_server(&self, hint: Option<&str>) -> Result<String, VciError> {
        match (&self.authorization_servers, hint) {
            (Some(servers), Some(hint)) if servers.iter().any(|s| s == hint) => Ok(hint.to_owned()),
            (_, Some(_)) => Err(VciError::Malformed(
                "the offer's authorization_server is not one of the issuer's".into(),
            )),
            (Some(servers), None) => servers
                .first()
                .cloned()
                .ok_or(VciError::Missing("authorization_servers")),
            (None, None) => Ok(self.credential_issuer.clone()),
        }
    }

    /// Signs the metadata (§12.2.3): `typ` `openidvci-issuer-metadata+jwt`, `x5c` `chain`
    /// (leaf first, no anchor), every parameter a top-level claim with `sub` the issuer's
    /// identifier, `iat` `at` and `exp` `expires`.
    ///
    /// # Errors
    /// [`VciError::Jws`] for a signer that fails.
    pub fn sign(
        &self,
        signer: &Arc<dyn Signer>,
        chain: &[Certificate],
        at: OffsetDateTime,
        expires: OffsetDateTime,
    ) -> Result<String, VciError> {
        let mut header = Map::new();
        header.insert("typ".into(), json!(SIGNED_METADATA_TYP));
        header.insert("x5c".into(), json!(chain_to_x5c(chain)));
        let Value::Object(mut claims) =
            serde_json::to_value(self).map_err(|e| VciError::Malformed(e.to_string()))?
        else {
            return Err(VciError::Malformed("metadata is not an object".into()));
        };
        claims.insert("sub".into(), json!(self.credential_issuer));
        claims.insert("iat".into(), json!(at.unix_timestamp()));
        claims.insert("exp".into(), json!(expires.unix_timestamp()));
        let payload = serde_json::to_vec(&Value::Object(claims))
            .map_err(|e| VciError::Malformed(e.to_string()))?;
        sign_compact(header, &payload, signer).map_err(VciError::Jws)
    }

    /// Verifies signed metadata fetched for `expected_issuer` (§12.2.3, HAIP 1.0 §4.2): the
    /// `typ`, an asymmetric `alg`, the `x5c` signer under `trust` (no anchor inside, not
    /// self-signed), `sub` the identifier, `iat` not ahead and `exp` not past, then the
    /// metadata's own checks.
    ///
    /// # Errors
    /// [`VciError`]: the first check that fails.
    pub fn verify_signed(
        provider: &CryptoProvider,
        jwt: &str,
        expected_issuer: &str,
        trust: &TrustStore,
        at: OffsetDateTime,
    ) -> Result<Self, VciError> {
        if jwt.len() > MAX_METADATA_BYTES {
            return Err(VciError::Malformed("metadata larger than 256 KiB".into()));
        }
        let jws = CompactJws::parse(jwt).map_err(VciError::Jws)?;
        if !jws.typ_is(SIGNED_METADATA_TYP) {
            return Err(VciError::WrongType(SIGNED_METADATA_TYP));
        }
        let alg = jws
            .algorithm(&SIGNED_METADATA_ALGORITHMS)
            .map_err(VciError::Jws)?;
        let chain = crate::x5c::authenticate(&jws.header, trust, at, KeyPurpose::JwtSigner)?;
        jws.verify(chain.leaf.public_key(), alg, provider.signature_verifier)
            .map_err(VciError::Jws)?;
        let mut claims = jws.payload_object().map_err(VciError::Jws)?;
        if claims.get("sub").and_then(Value::as_str) != Some(expected_issuer) {
            return Err(VciError::IssuerMismatch);
        }
        let iat = claims
            .get("iat")
            .and_then(Value::as_i64)
            .ok_or(VciError::Missing("iat"))?;
        if iat > at.unix_timestamp() + 60 {
            return Err(VciError::Expired);
        }
        if claims
            .get("exp")
            .and_then(Value::as_i64)
            .is_some_and(|exp| exp <= at.unix_timestamp())
        {
            return Err(VciError::Expired);
        }
        for claim in ["sub", "iat", "exp", "iss"] {
            claims.remove(claim);
        }
        let metadata: Self = serde_json::from_value(Value::Object(claims))
            .map_err(|e| VciError::Malformed(format!("signed metadata: {e}")))?;
        metadata.check(expected_issuer)?;
        Ok(metadata)
    }
}

/// OAuth 2.0 Authorization Server Metadata (RFC 8414), with the parameters of PAR (RFC 9126),
/// DPoP (RFC 9449), RFC 9207, attestation-based client authentication and OpenID4VCI §12.3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    /// The Authorization Server's issuer identifier.
    pub issuer: String,
    /// The Authorization Endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    /// The Token Endpoint.
    pub token_endpoint: String,
    /// The PAR endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pushed_authorization_request_endpoint: Option<String>,
    /// Whether every authorization request must be pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
    /// PKCE methods (HAIP: `S256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// DPoP algorithms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_signing_alg_values_supported: Option<Vec<String>>,
    /// Grant types.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_types_supported: Option<Vec<String>>,
    /// Client authentication methods (`attest_jwt_client_auth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Response types (`code`); may be absent for a pre-authorized-only server (§12.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_types_supported: Option<Vec<String>>,
    /// RFC 9207: `iss` in the authorization response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    /// §12.3: a Token Request with a Pre-Authorized Code but no `client_id`.
    #[serde(
        rename = "pre-authorized_grant_anonymous_access_supported",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_authorized_grant_anonymous_access_supported: Option<bool>,
    /// Other parameters.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl AuthorizationServerMetadata {
    /// Parses metadata fetched for `expected_issuer` and checks it: `issuer` equal to it (RFC
    /// 8414 §3.3), `https` endpoints.
    ///
    /// # Errors
    /// [`VciError::Malformed`], [`VciError::IssuerMismatch`].
    pub fn from_json(bytes: &[u8], expected_issuer: &str) -> Result<Self, VciError> {
        if bytes.len() > MAX_METADATA_BYTES {
            return Err(VciError::Malformed("metadata larger than 256 KiB".into()));
        }
        let metadata: Self = serde_json::from_slice(bytes)
            .map_err(|e| VciError::Malformed(format!("authorization server metadata: {e}")))?;
        if metadata.issuer != expected_issuer {
            return Err(VciError::IssuerMismatch);
        }
        for url in [
            Some(&metadata.token_endpoint),
            metadata.authorization_endpoint.as_ref(),
            metadata.pushed_authorization_request_endpoint.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            if !is_https_endpoint(url) {
                return Err(VciError::Malformed(
                    "authorization server metadata: an endpoint is not https".into(),
                ));
            }
        }
        Ok(metadata)
    }
}
