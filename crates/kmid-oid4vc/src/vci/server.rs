//! The issuer's side of OpenID4VCI 1.0 as HAIP 1.0 §4 profiles it, as a state machine over an
//! [`IssuanceStore`]: offers, PAR (RFC 9126) with PKCE `S256` and attestation-based client
//! authentication, authorization codes with `iss` (RFC 9207), the token endpoint for the
//! pre-authorized code, the authorization code and the refresh token, DPoP-bound tokens (RFC
//! 9449) with server nonces and `jti` replay refused, the Nonce Endpoint, the Credential
//! Endpoint (key proofs, key attestations, batches) and the Notification Endpoint.
//!
//! Every input is bytes (a form or JSON body, header values) and the time; every record is in
//! the store by the hash of its secret; the credentials themselves are made by the caller's
//! [`CredentialMinter`], and who the holder is — an IC card's tap, an official at a counter —
//! is the caller's authenticator's to say ([`IssuanceServer::authorize`]). No I/O.

use std::collections::BTreeSet;

use kmid_crypto::jose::b64url;
use kmid_crypto::x509::TrustStore;
use kmid_crypto::{CryptoProvider, PublicKey, Random};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use super::client_attestation::{ClientAuthCheck, VerifiedClient, verify_client_attestation};
use super::metadata::CredentialIssuerMetadata;
use super::nonce::{C_NONCE_LIFETIME, DPOP_NONCE_LIFETIME, NonceKey, NonceUse};
use super::offer::{
    AuthorizationCodeGrant, CredentialOffer, Grants, PreAuthorizedCodeGrant, TxCode,
    TxCodeInputMode,
};
use super::proof::{KeyAttestation, ProofCheck, verify_proofs};
use super::{AUTHORIZATION_CODE_GRANT, PRE_AUTHORIZED_GRANT, REFRESH_TOKEN_GRANT, VciError};
use crate::dpop::{DpopCheck, DpopError, VerifiedDpop, verify_dpop_proof};
use crate::store::{IssuanceStore, RecordKind, handle};

/// Wrong Transaction Codes after which a pre-authorized code is burnt.
pub const MAX_TX_CODE_ATTEMPTS: u32 = 3;
/// The largest form or JSON body an endpoint reads.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The `request_uri` prefix of RFC 9126.
pub const PAR_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How long each thing lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// A pre-authorized code (the counter QR).
    pub pre_authorized_code: Duration,
    /// A PAR `request_uri`.
    pub par: Duration,
    /// An authorization code.
    pub authorization_code: Duration,
    /// An access token.
    pub access_token: Duration,
    /// A refresh token (HAIP 1.0 §4.4: renewal a long time after issuance is not
    /// recommended).
    pub refresh_token: Duration,
    /// A `notification_id`.
    pub notification: Duration,
    /// An authorization code offer's `issuer_state`.
    pub offer: Duration,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            pre_authorized_code: Duration::minutes(5),
            par: Duration::seconds(60),
            authorization_code: Duration::seconds(60),
            access_token: Duration::minutes(5),
            refresh_token: Duration::days(90),
            notification: Duration::days(1),
            offer: Duration::days(1),
        }
    }
}

/// The issuer's configuration.
pub struct IssuanceConfig {
    /// The Credential Issuer Metadata (its identifier is also the Authorization Server's).
    pub metadata: CredentialIssuerMetadata,
    /// The key of the stateless nonces, shared by the issuer's processes.
    pub nonce_key: NonceKey,
    /// Whether DPoP proofs must carry the server's nonce (RFC 9449 §8).
    pub require_dpop_nonce: bool,
    /// The wallet-provider anchors (wallet and key attestations).
    pub wallet_providers: TrustStore,
    /// Whether a pre-authorized code may be redeemed without client authentication (§12.3
    /// `pre-authorized_grant_anonymous_access_supported`).
    pub anonymous_pre_authorized: bool,
    /// The redirect URIs registered for each wallet solution's `client_id` (exact match):
    /// PAR serves no other.
    pub redirect_uris: std::collections::BTreeMap<String, Vec<String>>,
    /// The lifetimes.
    pub lifetimes: Lifetimes,
}

impl core::fmt::Debug for IssuanceConfig {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IssuanceConfig")
            .field("credential_issuer", &self.metadata.credential_issuer)
            .field("require_dpop_nonce", &self.require_dpop_nonce)
            .finish_non_exhaustive()
    }
}

/// What the Credential Endpoint asks the caller's issuer to make.
#[derive(Debug, Clone, Copy)]
pub struct MintRequest<'a> {
    /// The subject the grant was for (what the offer or the authenticator named).
    pub subject: &'a Value,
    /// The Credential Configuration.
    pub configuration: &'a str,
    /// One credential per key, in order.
    pub keys: &'a [PublicKey],
    /// The secure area the keys share, when a key attestation said so (the one-phone rule
    /// keys on it).
    pub attestation: Option<&'a KeyAttestation>,
    /// The keys renew credentials issued to them before (the refresh-token grant).
    pub renewal: bool,
    /// What an earlier request under the same access token was minted into
    /// ([`Minted::group`]): the other configurations of one token join that issuance rather
    /// than superseding it.
    pub group: Option<&'a str>,
    /// The time.
    pub at: OffsetDateTime,
}

/// What the caller's issuer made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Minted {
    /// The credentials, one per key, as the Credential Response carries them (an SD-JWT VC,
    /// or base64url of an mdoc IssuerSigned).
    pub credentials: Vec<String>,
    /// The issuance they belong to, handed back with the token's next request.
    pub group: Option<String>,
    /// The issuer's references of the credentials (registry ids), handed back with a
    /// notification about them.
    pub references: Vec<String>,
    /// What the refresh token and the notification keep of the grant's subject from now on:
    /// a reference the minter resolves again at a renewal (the issuer's current record of the
    /// card), so that a store does not keep the holder's data for the refresh token's
    /// lifetime. `None` keeps the subject (a minter that cannot look it up again needs it).
    pub renewal_subject: Option<Value>,
}

/// Makes the credentials: the caller's issuer (mdoc, SD-JWT VC, its registry).
pub trait CredentialMinter {
    /// Makes what `request` asks for.
    ///
    /// # Errors
    /// The issuer's refusal (a card suspended, on another phone, …), answered as
    /// `credential_request_denied`.
    fn mint(&self, request: &MintRequest<'_>) -> Result<Minted, String>;
}

/// What a wallet's request carried besides its body.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestContext<'a> {
    /// The `DPoP` header.
    pub dpop: Option<&'a str>,
    /// The `OAuth-Client-Attestation` and `OAuth-Client-Attestation-PoP` headers.
    pub client_attestation: Option<(&'a str, &'a str)>,
    /// The `Authorization: DPoP <token>` header's token.
    pub access_token: Option<&'a str>,
    /// The URL the request reached (for DPoP's `htu`).
    pub url: &'a str,
    /// The HTTP method.
    pub method: &'a str,
}

/// A pre-authorized code offer's response: the offer and the Transaction Code to show on
/// another channel.
#[derive(Clone)]
pub struct IssuedOffer {
    /// The offer.
    pub offer: CredentialOffer,
    /// The Transaction Code, when one is required.
    pub tx_code: Option<String>,
}

impl core::fmt::Debug for IssuedOffer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IssuedOffer")
            .field("credential_issuer", &self.offer.credential_issuer)
            .finish_non_exhaustive()
    }
}

/// A PAR response (RFC 9126 §2.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParResponse {
    /// `urn:ietf:params:oauth:request_uri:…`.
    pub request_uri: String,
    /// Seconds.
    pub expires_in: i64,
}

/// What a pushed authorization request asked for, for the authorization page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAuthorization {
    /// The client.
    pub client_id: String,
    /// Where to send the holder back.
    pub redirect_uri: String,
    /// The configurations the scopes name.
    pub configurations: Vec<String>,
    /// The client's `state`.
    pub state: Option<String>,
    /// The offer's `issuer_state`.
    pub issuer_state: Option<String>,
    /// The subject the offer named, when the offer was the issuer's (an official's).
    pub offered_subject: Option<Value>,
    code_challenge: String,
    dpop_jkt: Option<String>,
}

/// The authorization response (with `iss`, RFC 9207).
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationResponse {
    /// `redirect_uri?code=…&state=…&iss=…`.
    pub redirect: String,
}

impl core::fmt::Debug for AuthorizationResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuthorizationResponse")
            .finish_non_exhaustive()
    }
}

/// A token response (RFC 6749 §5.1 with `token_type` `DPoP`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The DPoP-bound access token.
    pub access_token: String,
    /// `DPoP`.
    pub token_type: String,
    /// Seconds.
    pub expires_in: i64,
    /// The refresh token (renewal), bound to the same DPoP key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl core::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// A Credential Response (§8.3).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialResponse {
    /// `[{"credential": …}]`, one per key.
    pub credentials: Vec<Value>,
    /// For the Notification Endpoint.
    pub notification_id: String,
}

impl core::fmt::Debug for CredentialResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CredentialResponse")
            .field("credentials", &self.credentials.len())
            .finish_non_exhaustive()
    }
}

/// A notification event (§11.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationEvent {
    /// Stored by the wallet.
    CredentialAccepted,
    /// Not stored (another reason than the user's).
    CredentialFailure,
    /// Deleted by the user: the issuer makes it INVALID.
    CredentialDeleted,
}

/// A notification, for the caller's registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The event.
    pub event: NotificationEvent,
    /// The subject the credentials were issued for.
    pub subject: Value,
    /// The configuration.
    pub configuration: String,
    /// The RFC 7638 thumbprints of the keys the credentials are bound to.
    pub keys: Vec<String>,
    /// The issuer's references of the credentials ([`Minted::references`]).
    pub references: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct CodeRecord {
    subject: Value,
    configurations: Vec<String>,
    tx_code: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct AuthorizationCodeRecord {
    subject: Value,
    pending: PendingAuthorization,
}

#[derive(Serialize, Deserialize)]
struct TokenRecord {
    subject: Value,
    configurations: Vec<String>,
    jkt: String,
    client_id: Option<String>,
    refresh_handle: Option<String>,
    /// For a renewal: the keys (thumbprints) whose credentials it renews.
    renews: Option<Vec<String>>,
    /// What the minter made of the token's first configuration.
    #[serde(default)]
    group: Option<String>,
}

fn token_record_bytes(bytes: &Option<Vec<u8>>) -> Result<TokenRecord, VciError> {
    from_bytes(
        bytes
            .as_deref()
            .ok_or(VciError::InvalidToken("the access token expired"))?,
    )
}

#[derive(Serialize, Deserialize)]
struct RefreshRecord {
    subject: Value,
    configurations: Vec<String>,
    jkt: String,
    client_id: Option<String>,
    keys: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct NotificationRecord {
    subject: Value,
    configuration: String,
    keys: Vec<String>,
    token_handle: String,
    #[serde(default)]
    references: Vec<String>,
}

fn form(body: &[u8]) -> Result<Map<String, Value>, VciError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(VciError::Malformed("the body is too large".into()));
    }
    let mut out = Map::new();
    for (k, v) in form_urlencoded::parse(body) {
        if out
            .insert(k.to_string(), Value::String(v.into_owned()))
            .is_some()
        {
            return Err(VciError::Malformed(format!("{k} appears twice")));
        }
    }
    Ok(out)
}

/// A wallet's `redirect_uri`: an `https` URL without a fragment, or an app's private-use
/// scheme in reverse-domain form (RFC 8252 §7.1, `kr.example.wallet:/cb`) — never `http`,
/// `javascript:`, `data:` or another scheme without a dot, where a code could leak or run.
fn redirect_uri_acceptable(uri: &str) -> bool {
    if uri.contains('#') {
        return false;
    }
    if uri.starts_with("https://") {
        return super::is_https_endpoint(uri);
    }
    let Some((scheme, _)) = uri.split_once(':') else {
        return false;
    };
    scheme.contains('.')
        && scheme
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".+-".contains(&b))
        && scheme
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase())
}

fn text<'a>(params: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, VciError> {
    params
        .get(name)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .ok_or(VciError::Missing(name))
}

fn to_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, VciError> {
    serde_json::to_vec(value).map_err(|e| VciError::Malformed(e.to_string()))
}

fn from_bytes<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, VciError> {
    serde_json::from_slice(bytes).map_err(|e| VciError::Malformed(format!("stored record: {e}")))
}

/// The issuer's endpoints over `store`.
pub struct IssuanceServer<'a> {
    config: &'a IssuanceConfig,
    store: &'a dyn IssuanceStore,
    provider: &'a CryptoProvider,
    random: &'a dyn Random,
}

impl core::fmt::Debug for IssuanceServer<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IssuanceServer")
            .field("config", self.config)
            .finish_non_exhaustive()
    }
}

impl<'a> IssuanceServer<'a> {
    /// The endpoints of `config` over `store`, every primitive through `provider`.
    #[must_use]
    pub fn new(
        config: &'a IssuanceConfig,
        store: &'a dyn IssuanceStore,
        provider: &'a CryptoProvider,
        random: &'a dyn Random,
    ) -> Self {
        Self {
            config,
            store,
            provider,
            random,
        }
    }

    fn issuer(&self) -> &str {
        &self.config.metadata.credential_issuer
    }

    /// The Credential Issuer Identifier (also the Authorization Server's issuer).
    #[must_use]
    pub fn issuer_id(&self) -> &str {
        self.issuer()
    }

    /// The Credential Issuer Metadata.
    #[must_use]
    pub fn metadata(&self) -> &CredentialIssuerMetadata {
        &self.config.metadata
    }

    /// The token endpoint: `<issuer>/token`.
    #[must_use]
    pub fn token_endpoint(&self) -> String {
        format!("{}/token", self.issuer())
    }

    /// The PAR endpoint: `<issuer>/par`.
    #[must_use]
    pub fn par_endpoint(&self) -> String {
        format!("{}/par", self.issuer())
    }

    /// The authorization endpoint (the caller's authorization page): `<issuer>/authorize`.
    #[must_use]
    pub fn authorization_endpoint(&self) -> String {
        format!("{}/authorize", self.issuer())
    }

    /// The Authorization Server Metadata (RFC 8414) of this issuer, its own Authorization
    /// Server: PAR required, PKCE `S256`, DPoP, attestation-based client authentication, `iss`
    /// in the authorization response, the three grants.
    #[must_use]
    pub fn authorization_server_metadata(&self) -> Value {
        json!({
            "issuer": self.issuer(),
            "authorization_endpoint": self.authorization_endpoint(),
            "token_endpoint": self.token_endpoint(),
            "pushed_authorization_request_endpoint": self.par_endpoint(),
            "require_pushed_authorization_requests": true,
            "code_challenge_methods_supported": ["S256"],
            "dpop_signing_alg_values_supported": ["ES256", "ES384", "EdDSA"],
            "grant_types_supported": [AUTHORIZATION_CODE_GRANT, PRE_AUTHORIZED_GRANT, REFRESH_TOKEN_GRANT],
            "token_endpoint_auth_methods_supported": [super::client_attestation::AUTH_METHOD],
            "response_types_supported": ["code"],
            "authorization_response_iss_parameter_supported": true,
            "pre-authorized_grant_anonymous_access_supported": self.config.anonymous_pre_authorized,
        })
    }

    fn secret(&self) -> Result<String, VciError> {
        let mut bytes = [0u8; 32];
        self.random.fill_secret(&mut bytes)?;
        Ok(b64url(&bytes))
    }

    fn hash_handle(&self, secret: &str) -> Result<String, VciError> {
        Ok(handle(self.provider, secret)?)
    }

    fn check_configurations(&self, ids: &[String]) -> Result<(), VciError> {
        if ids.is_empty() {
            return Err(VciError::Missing("credential_configuration_ids"));
        }
        match ids.iter().find(|id| {
            !self
                .config
                .metadata
                .credential_configurations_supported
                .contains_key(*id)
        }) {
            Some(_) => Err(VciError::UnknownCredentialConfiguration),
            None => Ok(()),
        }
    }

    /// A pre-authorized code offer for `subject` (what the caller's minter will issue from:
    /// a card, a reference to one) and `configurations`, with a 6-digit Transaction Code when
    /// `tx_code`. The offer names the code; the code's record holds the Transaction Code's
    /// hash, never the code.
    ///
    /// # Errors
    /// [`VciError::UnknownCredentialConfiguration`]; store failures.
    pub fn offer_pre_authorized(
        &self,
        subject: &Value,
        configurations: &[String],
        tx_code: bool,
        at: OffsetDateTime,
    ) -> Result<IssuedOffer, VciError> {
        self.check_configurations(configurations)?;
        let code = self.secret()?;
        let tx = if tx_code {
            let mut digits = [0u8; 8];
            self.random.fill_secret(&mut digits)?;
            Some(format!("{:06}", u64::from_be_bytes(digits) % 1_000_000))
        } else {
            None
        };
        let record = CodeRecord {
            subject: subject.clone(),
            configurations: configurations.to_vec(),
            tx_code: tx.as_deref().map(|t| self.hash_handle(t)).transpose()?,
        };
        self.store.insert(
            RecordKind::PreAuthorizedCode,
            &self.hash_handle(&code)?,
            &to_bytes(&record)?,
            at + self.config.lifetimes.pre_authorized_code,
            at,
        )?;
        Ok(IssuedOffer {
            offer: CredentialOffer {
                credential_issuer: self.issuer().to_owned(),
                credential_configuration_ids: configurations.to_vec(),
                grants: Grants {
                    pre_authorized_code: Some(PreAuthorizedCodeGrant {
                        code,
                        tx_code: tx_code.then(|| TxCode {
                            input_mode: Some(TxCodeInputMode::Numeric),
                            length: Some(6),
                            description: Some(
                                "The 6-digit code shown on the counter's screen".into(),
                            ),
                        }),
                        authorization_server: None,
                    }),
                    ..Grants::default()
                },
                other: Map::new(),
            },
            tx_code: tx,
        })
    }

    /// An authorization code offer (`issuer_state`), optionally naming the `subject` it was
    /// made for; the holder still authenticates at the authorization page.
    ///
    /// # Errors
    /// As [`Self::offer_pre_authorized`].
    pub fn offer_authorization_code(
        &self,
        subject: Option<&Value>,
        configurations: &[String],
        at: OffsetDateTime,
    ) -> Result<CredentialOffer, VciError> {
        self.check_configurations(configurations)?;
        let state = self.secret()?;
        self.store.insert(
            RecordKind::Offer,
            &self.hash_handle(&state)?,
            &to_bytes(&json!({ "subject": subject, "configurations": configurations }))?,
            at + self.config.lifetimes.offer,
            at,
        )?;
        Ok(CredentialOffer {
            credential_issuer: self.issuer().to_owned(),
            credential_configuration_ids: configurations.to_vec(),
            grants: Grants {
                authorization_code: Some(AuthorizationCodeGrant {
                    issuer_state: Some(state),
                    authorization_server: None,
                }),
                ..Grants::default()
            },
            other: Map::new(),
        })
    }

    /// The Nonce Endpoint (§7): a fresh `c_nonce`. Stores nothing.
    ///
    /// # Errors
    /// The random source's failure.
    pub fn nonce(&self, at: OffsetDateTime) -> Result<String, VciError> {
        self.config.nonce_key.issue(
            self.provider,
            self.random,
            NonceUse::CNonce,
            at,
            C_NONCE_LIFETIME,
        )
    }

    /// A DPoP nonce for the `DPoP-Nonce` response header. Stores nothing.
    ///
    /// # Errors
    /// The random source's failure.
    pub fn dpop_nonce(&self, at: OffsetDateTime) -> Result<String, VciError> {
        self.config.nonce_key.issue(
            self.provider,
            self.random,
            NonceUse::Dpop,
            at,
            DPOP_NONCE_LIFETIME,
        )
    }

    /// Checks the request's DPoP proof and records its `jti`.
    fn dpop(
        &self,
        ctx: &RequestContext<'_>,
        bound: Option<(&str, &str)>,
        at: OffsetDateTime,
    ) -> Result<VerifiedDpop, VciError> {
        let proof = ctx
            .dpop
            .ok_or(VciError::Dpop(DpopError::Malformed("no DPoP header")))?;
        let valid = |nonce: &str| {
            self.config
                .nonce_key
                .check(self.provider, NonceUse::Dpop, nonce, at)
                .is_ok()
        };
        let nonce_valid: Option<&dyn Fn(&str) -> bool> = if self.config.require_dpop_nonce {
            Some(&valid)
        } else {
            None
        };
        let verified = verify_dpop_proof(
            self.provider,
            proof,
            &DpopCheck {
                method: ctx.method,
                url: ctx.url,
                nonces: &[],
                nonce_valid,
                access_token: bound,
                at,
            },
        )?;
        self.spend_dpop(&verified, at)?;
        Ok(verified)
    }

    /// Checks the request's DPoP proof without recording its `jti` (the caller records it
    /// with [`Self::spend_dpop`] once the request holds, so that refused requests fill no
    /// store).
    fn dpop_unspent(
        &self,
        ctx: &RequestContext<'_>,
        at: OffsetDateTime,
    ) -> Result<VerifiedDpop, VciError> {
        let proof = ctx
            .dpop
            .ok_or(VciError::Dpop(DpopError::Malformed("no DPoP header")))?;
        let valid = |nonce: &str| {
            self.config
                .nonce_key
                .check(self.provider, NonceUse::Dpop, nonce, at)
                .is_ok()
        };
        let nonce_valid: Option<&dyn Fn(&str) -> bool> = if self.config.require_dpop_nonce {
            Some(&valid)
        } else {
            None
        };
        Ok(verify_dpop_proof(
            self.provider,
            proof,
            &DpopCheck {
                method: ctx.method,
                url: ctx.url,
                nonces: &[],
                nonce_valid,
                access_token: None,
                at,
            },
        )?)
    }

    /// Records a DPoP proof's `jti`: a replay is refused.
    fn spend_dpop(&self, verified: &VerifiedDpop, at: OffsetDateTime) -> Result<(), VciError> {
        if !self.store.insert(
            RecordKind::DpopJti,
            &verified.replay_handle,
            b"",
            verified.replay_until,
            at,
        )? {
            return Err(VciError::Dpop(DpopError::Replayed));
        }
        Ok(())
    }

    /// Authenticates the client by its wallet attestation (its PoP's `jti` is recorded by
    /// [`Self::spend_client`] once the request holds).
    fn client(
        &self,
        ctx: &RequestContext<'_>,
        at: OffsetDateTime,
    ) -> Result<Option<VerifiedClient>, VciError> {
        let Some((attestation, pop)) = ctx.client_attestation else {
            return Ok(None);
        };
        let client = verify_client_attestation(
            attestation,
            pop,
            &ClientAuthCheck {
                provider: self.provider,
                trust: &self.config.wallet_providers,
                authorization_server: self.issuer(),
                challenge: None,
                at,
            },
        )?;
        Ok(Some(client))
    }

    /// Records a client attestation PoP's `jti`: a replay is refused.
    fn spend_client(&self, client: &VerifiedClient, at: OffsetDateTime) -> Result<(), VciError> {
        if !self.store.insert(
            RecordKind::AttestationJti,
            &client.replay_handle,
            b"",
            client.replay_until,
            at,
        )? {
            return Err(VciError::InvalidClient("the PoP was used before"));
        }
        Ok(())
    }

    /// The PAR endpoint (RFC 9126; HAIP 1.0 §4.3): the client authenticates by wallet
    /// attestation and its `client_id` is the attestation's `sub`; `response_type` `code`,
    /// PKCE `S256`, an https or custom-scheme `redirect_uri`, `scope` naming configurations;
    /// a DPoP proof, when sent, binds the code to its key (RFC 9449 §10).
    ///
    /// # Errors
    /// [`VciError::InvalidClient`], [`VciError::Missing`], [`VciError::Unsupported`],
    /// [`VciError::InvalidScope`], DPoP refusals.
    pub fn par(
        &self,
        body: &[u8],
        ctx: &RequestContext<'_>,
        at: OffsetDateTime,
    ) -> Result<ParResponse, VciError> {
        let params = form(body)?;
        let client = self
            .client(ctx, at)?
            .ok_or(VciError::InvalidClient("no wallet attestation"))?;
        if text(&params, "client_id")? != client.client_id {
            return Err(VciError::InvalidClient(
                "client_id is not the attestation's sub",
            ));
        }
        if text(&params, "response_type")? != "code" {
            return Err(VciError::Unsupported {
                what: "response_type",
                value: text(&params, "response_type")?.chars().take(32).collect(),
            });
        }
        if text(&params, "code_challenge_method")? != "S256" {
            return Err(VciError::Unsupported {
                what: "code_challenge_method",
                value: text(&params, "code_challenge_method")?
                    .chars()
                    .take(32)
                    .collect(),
            });
        }
        let challenge = text(&params, "code_challenge")?;
        if challenge.len() != 43 {
            return Err(VciError::Malformed(
                "code_challenge is not an S256 value".into(),
            ));
        }
        let redirect_uri = text(&params, "redirect_uri")?;
        if !redirect_uri_acceptable(redirect_uri) {
            return Err(VciError::Malformed(
                "redirect_uri: an https URL or an app's private-use scheme".into(),
            ));
        }
        // The client_id is shared by every instance of a wallet solution and nothing else
        // binds the redirect to it: only the redirect URIs registered for the wallet solution
        // are served, or an attacker with any attested wallet could have a victim's code sent
        // to them.
        if !self
            .config
            .redirect_uris
            .get(&client.client_id)
            .is_some_and(|uris| uris.iter().any(|u| u == redirect_uri))
        {
            return Err(VciError::InvalidRequest(
                "redirect_uri is not registered for this wallet",
            ));
        }
        let mut configurations = Vec::new();
        for scope in text(&params, "scope")?.split(' ').filter(|s| !s.is_empty()) {
            let found: Vec<String> = self
                .config
                .metadata
                .credential_configurations_supported
                .iter()
                .filter(|(_, c)| c.scope.as_deref() == Some(scope))
                .map(|(id, _)| id.clone())
                .collect();
            if found.is_empty() {
                return Err(VciError::InvalidScope);
            }
            configurations.extend(found);
        }
        if configurations.is_empty() {
            return Err(VciError::InvalidScope);
        }
        // RFC 9449 §10: the code binds to the key of the DPoP header or of `dpop_jkt`, and
        // both must name the same key.
        let header_dpop = match ctx.dpop {
            Some(_) => Some(self.dpop_unspent(ctx, at)?),
            None => None,
        };
        let param_jkt = params.get("dpop_jkt").and_then(Value::as_str);
        let dpop_jkt = match (&header_dpop, param_jkt) {
            (Some(d), Some(jkt)) if d.jkt != jkt => {
                return Err(VciError::Dpop(DpopError::KeyMismatch));
            }
            (Some(d), _) => Some(d.jkt.clone()),
            (None, Some(jkt)) => Some(jkt.to_owned()),
            (None, None) => None,
        };
        let issuer_state = params
            .get("issuer_state")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let offered_subject = match &issuer_state {
            Some(state) => {
                let record: Value = from_bytes(
                    &self
                        .store
                        .get(RecordKind::Offer, &self.hash_handle(state)?, at)?
                        .ok_or(VciError::InvalidRequest("unknown or expired issuer_state"))?,
                )?;
                // The request asks for no more than the offer offered.
                let offered: Vec<String> = record
                    .get("configurations")
                    .cloned()
                    .and_then(|c| serde_json::from_value(c).ok())
                    .unwrap_or_default();
                if configurations.iter().any(|c| !offered.contains(c)) {
                    return Err(VciError::InvalidScope);
                }
                record.get("subject").filter(|s| !s.is_null()).cloned()
            }
            None => None,
        };
        // The request holds: its PoP and DPoP proof are spent now, so refused ones fill no
        // store.
        self.spend_client(&client, at)?;
        if let Some(d) = &header_dpop {
            self.spend_dpop(d, at)?;
        }
        let pending = PendingAuthorization {
            client_id: client.client_id,
            redirect_uri: redirect_uri.to_owned(),
            configurations,
            state: params
                .get("state")
                .and_then(Value::as_str)
                .map(str::to_owned),
            issuer_state,
            offered_subject,
            code_challenge: challenge.to_owned(),
            dpop_jkt,
        };
        let request_uri = format!("{PAR_URI_PREFIX}{}", self.secret()?);
        self.store.insert(
            RecordKind::ParRequest,
            &self.hash_handle(&request_uri)?,
            &to_bytes(&pending)?,
            at + self.config.lifetimes.par,
            at,
        )?;
        Ok(ParResponse {
            request_uri,
            expires_in: self.config.lifetimes.par.whole_seconds(),
        })
    }

    /// What the pushed request `request_uri` asks for, for the authorization page (the
    /// holder's consent); the request stays pending.
    ///
    /// # Errors
    /// [`VciError::InvalidRequest`] for an unknown, used or expired `request_uri` or another
    /// client's.
    pub fn pending_authorization(
        &self,
        request_uri: &str,
        client_id: &str,
        at: OffsetDateTime,
    ) -> Result<PendingAuthorization, VciError> {
        let record = self
            .store
            .get(RecordKind::ParRequest, &self.hash_handle(request_uri)?, at)?
            .ok_or(VciError::InvalidRequest(
                "unknown, used or expired request_uri",
            ))?;
        let pending: PendingAuthorization = from_bytes(&record)?;
        if pending.client_id != client_id {
            return Err(VciError::InvalidRequest(
                "the request_uri is another client's",
            ));
        }
        Ok(pending)
    }

    /// The authorization endpoint, once the caller's authenticator has established who the
    /// holder is (`subject`): consumes the pushed request (single use) and answers with a
    /// code, the client's `state` and `iss` (RFC 9207) at its `redirect_uri`. A request that
    /// comes from an offer made for a subject (an official's `issuer_state` offer) is approved
    /// for that subject only: another holder who reached the page with it is refused, and the
    /// request stays pending.
    ///
    /// # Errors
    /// As [`Self::pending_authorization`]; [`VciError::AccessDenied`] for a subject other than
    /// the offer's.
    pub fn authorize(
        &self,
        request_uri: &str,
        client_id: &str,
        subject: &Value,
        at: OffsetDateTime,
    ) -> Result<AuthorizationResponse, VciError> {
        // Checked before it is consumed: another client's attempt must not burn it.
        let pending = self.pending_authorization(request_uri, client_id, at)?;
        if pending
            .offered_subject
            .as_ref()
            .is_some_and(|offered| offered != subject)
        {
            return Err(VciError::AccessDenied(
                "the offer was made for another holder",
            ));
        }
        let record = self
            .store
            .take(RecordKind::ParRequest, &self.hash_handle(request_uri)?, at)?
            .ok_or(VciError::InvalidRequest(
                "unknown, used or expired request_uri",
            ))?;
        let pending: PendingAuthorization = from_bytes(&record)?;
        // An offer's issuer_state is single use: it was for one authorization.
        if let Some(state) = &pending.issuer_state
            && self
                .store
                .take(RecordKind::Offer, &self.hash_handle(state)?, at)?
                .is_none()
        {
            return Err(VciError::InvalidRequest(
                "the offer's issuer_state was used",
            ));
        }
        let code = self.secret()?;
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("code", &code);
        if let Some(state) = &pending.state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", self.issuer());
        let separator = if pending.redirect_uri.contains('?') {
            '&'
        } else {
            '?'
        };
        let redirect = format!("{}{separator}{}", pending.redirect_uri, query.finish());
        self.store.insert(
            RecordKind::AuthorizationCode,
            &self.hash_handle(&code)?,
            &to_bytes(&AuthorizationCodeRecord {
                subject: subject.clone(),
                pending,
            })?,
            at + self.config.lifetimes.authorization_code,
            at,
        )?;
        Ok(AuthorizationResponse { redirect })
    }

    /// The token endpoint (RFC 6749 §3.2 with DPoP; OpenID4VCI §6): every grant needs a DPoP
    /// proof, and the token is bound to its key.
    /// - pre-authorized code: single use; the Transaction Code when the offer asked for one,
    ///   three wrong ones burn the code; client authentication unless anonymous access is on.
    /// - authorization code: single use, the client that pushed the request, PKCE `S256`,
    ///   the same `redirect_uri`, and the PAR's DPoP key if it had one; a refresh token too.
    /// - refresh token: the same client and DPoP key; it is rotated.
    ///
    /// # Errors
    /// [`VciError::InvalidGrant`], [`VciError::InvalidClient`],
    /// [`VciError::UnsupportedGrantType`], DPoP refusals.
    pub fn token(
        &self,
        body: &[u8],
        ctx: &RequestContext<'_>,
        at: OffsetDateTime,
    ) -> Result<TokenResponse, VciError> {
        let params = form(body)?;
        let grant = text(&params, "grant_type")?;
        // The proof first (a wallet retrying on use_dpop_nonce must not find its PoP spent);
        // both are recorded against replay only once the request holds.
        let dpop = self.dpop_unspent(ctx, at)?;
        let client = self.client(ctx, at)?;
        let client_for_spend = client.clone();
        let (subject, configurations, client_id, refresh, renews) = match grant {
            PRE_AUTHORIZED_GRANT => {
                if client.is_none() && !self.config.anonymous_pre_authorized {
                    return Err(VciError::InvalidClient("no wallet attestation"));
                }
                let code = text(&params, "pre-authorized_code")?;
                let key = self.hash_handle(code)?;
                let record: CodeRecord = from_bytes(
                    &self
                        .store
                        .get(RecordKind::PreAuthorizedCode, &key, at)?
                        .ok_or(VciError::InvalidGrant(
                            "unknown, used or expired pre-authorized code",
                        ))?,
                )?;
                let given = params.get("tx_code").and_then(Value::as_str);
                match (&record.tx_code, given) {
                    (None, None) => {}
                    (None, Some(_)) => {
                        return Err(VciError::InvalidRequest(
                            "a tx_code the offer did not ask for",
                        ));
                    }
                    (Some(_), None) => {
                        return Err(VciError::InvalidRequest("the offer asks for a tx_code"));
                    }
                    (Some(expected), Some(given)) => {
                        // Each attempt is counted before it is compared, atomically: racing
                        // requests cannot try more codes than the limit between them.
                        let attempts = self
                            .store
                            .count_failure(RecordKind::PreAuthorizedCode, &key, at)?
                            .unwrap_or(u32::MAX);
                        let right = kmid_crypto::session::constant_time_eq(
                            expected.as_bytes(),
                            self.hash_handle(given)?.as_bytes(),
                        );
                        if attempts > MAX_TX_CODE_ATTEMPTS || !right {
                            if attempts >= MAX_TX_CODE_ATTEMPTS {
                                self.store.take(RecordKind::PreAuthorizedCode, &key, at)?;
                            }
                            return Err(VciError::InvalidGrant("wrong tx_code"));
                        }
                    }
                }
                // Single use: of two racing redemptions, one takes it.
                self.store
                    .take(RecordKind::PreAuthorizedCode, &key, at)?
                    .ok_or(VciError::InvalidGrant(
                        "unknown, used or expired pre-authorized code",
                    ))?;
                let client_id = client.map(|c| c.client_id);
                (record.subject, record.configurations, client_id, true, None)
            }
            AUTHORIZATION_CODE_GRANT => {
                let client = client.ok_or(VciError::InvalidClient("no wallet attestation"))?;
                let code = text(&params, "code")?;
                let record: AuthorizationCodeRecord = from_bytes(
                    &self
                        .store
                        .take(RecordKind::AuthorizationCode, &self.hash_handle(code)?, at)?
                        .ok_or(VciError::InvalidGrant("unknown, used or expired code"))?,
                )?;
                let pending = record.pending;
                if pending.client_id != client.client_id {
                    return Err(VciError::InvalidGrant("the code is another client's"));
                }
                if text(&params, "redirect_uri")? != pending.redirect_uri {
                    return Err(VciError::InvalidGrant("redirect_uri differs"));
                }
                let verifier = text(&params, "code_verifier")?;
                if !(43..=128).contains(&verifier.len())
                    || !kmid_crypto::session::constant_time_eq(
                        self.hash_handle(verifier)?.as_bytes(),
                        pending.code_challenge.as_bytes(),
                    )
                {
                    return Err(VciError::InvalidGrant("PKCE code_verifier"));
                }
                if pending
                    .dpop_jkt
                    .as_ref()
                    .is_some_and(|jkt| *jkt != dpop.jkt)
                {
                    return Err(VciError::InvalidGrant("the DPoP key is not the PAR's"));
                }
                (
                    record.subject,
                    pending.configurations,
                    Some(client.client_id),
                    true,
                    None,
                )
            }
            REFRESH_TOKEN_GRANT => {
                let token = text(&params, "refresh_token")?;
                let key = self.hash_handle(token)?;
                let record: RefreshRecord =
                    from_bytes(&self.store.get(RecordKind::RefreshToken, &key, at)?.ok_or(
                        VciError::InvalidGrant("unknown, used or expired refresh token"),
                    )?)?;
                // Checked before it is spent: a thief holding the token but not the DPoP key
                // must not be able to burn it.
                if record.jkt != dpop.jkt {
                    return Err(VciError::InvalidGrant(
                        "the DPoP key is not the refresh token's",
                    ));
                }
                if record.client_id.is_some()
                    && record.client_id != client.as_ref().map(|c| c.client_id.clone())
                {
                    return Err(VciError::InvalidClient("not the refresh token's client"));
                }
                // Rotation: single use.
                self.store.take(RecordKind::RefreshToken, &key, at)?.ok_or(
                    VciError::InvalidGrant("unknown, used or expired refresh token"),
                )?;
                (
                    record.subject,
                    record.configurations,
                    record.client_id,
                    true,
                    Some(record.keys),
                )
            }
            other => {
                return Err(VciError::UnsupportedGrantType(
                    other.chars().take(64).collect(),
                ));
            }
        };
        if let Some(client) = &client_for_spend {
            self.spend_client(client, at)?;
        }
        self.spend_dpop(&dpop, at)?;
        let access_token = self.secret()?;
        let refresh_token = if refresh { Some(self.secret()?) } else { None };
        let refresh_handle = refresh_token
            .as_deref()
            .map(|t| self.hash_handle(t))
            .transpose()?;
        if let (Some(handle), Some(_)) = (&refresh_handle, &refresh_token) {
            self.store.insert(
                RecordKind::RefreshToken,
                handle,
                &to_bytes(&RefreshRecord {
                    subject: subject.clone(),
                    configurations: configurations.clone(),
                    jkt: dpop.jkt.clone(),
                    client_id: client_id.clone(),
                    keys: renews.clone().unwrap_or_default(),
                })?,
                at + self.config.lifetimes.refresh_token,
                at,
            )?;
        }
        self.store.insert(
            RecordKind::AccessToken,
            &self.hash_handle(&access_token)?,
            &to_bytes(&TokenRecord {
                subject,
                configurations,
                jkt: dpop.jkt,
                client_id,
                refresh_handle,
                renews,
                group: None,
            })?,
            at + self.config.lifetimes.access_token,
            at,
        )?;
        Ok(TokenResponse {
            access_token,
            token_type: "DPoP".into(),
            expires_in: self.config.lifetimes.access_token.whole_seconds(),
            refresh_token,
        })
    }

    /// The access token of a resource request: present, known, and the DPoP proof by its key
    /// with its hash.
    fn resource(
        &self,
        ctx: &RequestContext<'_>,
        at: OffsetDateTime,
    ) -> Result<(String, TokenRecord), VciError> {
        let token = ctx
            .access_token
            .ok_or(VciError::InvalidToken("no access token"))?;
        let token_handle = self.hash_handle(token)?;
        let record: TokenRecord = from_bytes(
            &self
                .store
                .get(RecordKind::AccessToken, &token_handle, at)?
                .ok_or(VciError::InvalidToken("unknown or expired access token"))?,
        )?;
        self.dpop(ctx, Some((token, &record.jkt)), at)?;
        Ok((token_handle, record))
    }

    /// The Credential Endpoint (§8): a DPoP-bound access token, a configuration it covers
    /// (each once per token), the key proofs ([`verify_proofs`]; their `c_nonce`s live and
    /// spent here, single use), and for a renewal only the keys it renews; then one credential
    /// per proven key from `minter`, and a `notification_id`.
    ///
    /// # Errors
    /// [`VciError::InvalidToken`], [`VciError::InvalidCredentialRequest`],
    /// [`VciError::UnknownCredentialConfiguration`], [`VciError::InvalidProof`],
    /// [`VciError::InvalidNonce`], [`VciError::CredentialRequestDenied`], DPoP refusals.
    pub fn credential(
        &self,
        body: &[u8],
        ctx: &RequestContext<'_>,
        minter: &dyn CredentialMinter,
        at: OffsetDateTime,
    ) -> Result<CredentialResponse, VciError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(VciError::InvalidCredentialRequest("the body is too large"));
        }
        let (token_handle, token) = self.resource(ctx, at)?;
        let request: Map<String, Value> = serde_json::from_slice(body)
            .map_err(|_| VciError::InvalidCredentialRequest("not a JSON object"))?;
        if request.contains_key("credential_response_encryption") {
            return Err(VciError::InvalidEncryptionParameters);
        }
        if request.contains_key("credential_identifier") {
            return Err(VciError::InvalidCredentialRequest(
                "credential_identifier: this issuer grants configurations, not identifiers",
            ));
        }
        let configuration = request
            .get("credential_configuration_id")
            .and_then(Value::as_str)
            .ok_or(VciError::InvalidCredentialRequest(
                "no credential_configuration_id",
            ))?;
        let config = self
            .config
            .metadata
            .credential_configurations_supported
            .get(configuration)
            .ok_or(VciError::UnknownCredentialConfiguration)?;
        if !token.configurations.iter().any(|c| c == configuration) {
            return Err(VciError::InvalidCredentialRequest(
                "the access token does not cover this configuration",
            ));
        }
        let jwt_metadata = config
            .proof_types_supported
            .as_ref()
            .and_then(|p| p.get("jwt").or_else(|| p.get("attestation")))
            .ok_or(VciError::InvalidCredentialRequest(
                "the configuration binds no key",
            ))?;
        let proofs =
            request
                .get("proofs")
                .ok_or(VciError::InvalidProof(super::ProofRefusal::Malformed(
                    "no proofs",
                )))?;
        let proven = verify_proofs(
            proofs,
            &ProofCheck {
                provider: self.provider,
                credential_issuer: self.issuer(),
                client_id: token.client_id.as_deref(),
                metadata: jwt_metadata,
                attestation_trust: &self.config.wallet_providers,
                nonce_required: true,
                at,
            },
            self.config
                .metadata
                .batch_credential_issuance
                .map(|b| b.batch_size),
        )?;
        // The c_nonces: required (the issuer has a Nonce Endpoint), this issuer's, live.
        if proven.nonces.is_empty() {
            return Err(VciError::InvalidProof(super::ProofRefusal::Malformed(
                "nonce",
            )));
        }
        let mut spend = Vec::new();
        for nonce in &proven.nonces {
            let expires =
                self.config
                    .nonce_key
                    .check(self.provider, NonceUse::CNonce, nonce, at)?;
            spend.push((self.hash_handle(nonce)?, expires));
        }
        let thumbprints: Vec<String> = proven
            .keys
            .iter()
            .map(|k| k.thumbprint_sha256_on(self.provider))
            .collect::<Result<_, _>>()?;
        if let Some(renews) = &token.renews
            && thumbprints.iter().any(|t| !renews.contains(t))
        {
            return Err(VciError::InvalidProof(super::ProofRefusal::Requirements(
                "a renewal is for the keys it renews",
            )));
        }
        // Spend the nonces, then the configuration under this token: both single use.
        for (handle, expires) in &spend {
            if !self
                .store
                .insert(RecordKind::CNonce, handle, b"", *expires, at)?
            {
                return Err(VciError::InvalidNonce("used"));
            }
        }
        let issued_key = self.hash_handle(&format!("{token_handle}\0{configuration}"))?;
        if !self.store.insert(
            RecordKind::IssuedConfiguration,
            &issued_key,
            b"",
            at + self.config.lifetimes.access_token,
            at,
        )? {
            return Err(VciError::InvalidCredentialRequest(
                "this configuration was issued under this token already",
            ));
        }
        // The token's first credential opens the issuance its others join: one request
        // claims that, and a request racing it is asked to come again.
        let claim = self.hash_handle(&format!("{token_handle}\0group"))?;
        let claimed = token.group.is_none()
            && self.store.insert(
                RecordKind::IssuedConfiguration,
                &claim,
                b"",
                at + self.config.lifetimes.access_token,
                at,
            )?;
        if token.group.is_none() && !claimed {
            self.store
                .take(RecordKind::IssuedConfiguration, &issued_key, at)?;
            return Err(VciError::InvalidCredentialRequest(
                "another credential request under this token is being answered: send this one again",
            ));
        }
        let minted = minter
            .mint(&MintRequest {
                subject: &token.subject,
                configuration,
                keys: &proven.keys,
                attestation: proven.attestation.as_ref(),
                renewal: token.renews.is_some(),
                group: token.group.as_deref(),
                at,
            })
            .map_err(|e| {
                // Nothing was issued: the configuration may be asked for again, and the next
                // request may open the issuance.
                let _ = self
                    .store
                    .take(RecordKind::IssuedConfiguration, &issued_key, at);
                if claimed {
                    let _ = self.store.take(RecordKind::IssuedConfiguration, &claim, at);
                }
                VciError::CredentialRequestDenied(e)
            })?;
        let credentials = minted.credentials;
        let references = minted.references;
        let kept_subject = minted.renewal_subject.unwrap_or(token.subject);
        // A minter that groups nothing leaves the next request free to mint as it likes.
        if claimed && minted.group.is_none() {
            self.store
                .take(RecordKind::IssuedConfiguration, &claim, at)?;
        }
        // The token's later configurations join this issuance.
        if minted.group.is_some() && minted.group != token.group {
            let mut updated =
                token_record_bytes(&self.store.get(RecordKind::AccessToken, &token_handle, at)?)?;
            updated.group = minted.group;
            self.store.replace(
                RecordKind::AccessToken,
                &token_handle,
                &to_bytes(&updated)?,
                at,
            )?;
        }
        // The refresh token renews these keys from now on.
        if let Some(refresh) = &token.refresh_handle
            && let Some(bytes) = self.store.get(RecordKind::RefreshToken, refresh, at)?
        {
            let mut record: RefreshRecord = from_bytes(&bytes)?;
            record.subject = kept_subject.clone();
            let keys: BTreeSet<String> = record
                .keys
                .iter()
                .cloned()
                .chain(thumbprints.iter().cloned())
                .collect();
            record.keys = keys.into_iter().collect();
            self.store
                .replace(RecordKind::RefreshToken, refresh, &to_bytes(&record)?, at)?;
        }
        let notification_id = self.secret()?;
        self.store.insert(
            RecordKind::Notification,
            &self.hash_handle(&notification_id)?,
            &to_bytes(&NotificationRecord {
                subject: kept_subject,
                configuration: configuration.to_owned(),
                keys: thumbprints,
                token_handle,
                references,
            })?,
            at + self.config.lifetimes.notification,
            at,
        )?;
        Ok(CredentialResponse {
            credentials: credentials
                .into_iter()
                .map(|c| json!({ "credential": c }))
                .collect(),
            notification_id,
        })
    }

    /// The Notification Endpoint (§11): the token the credentials were issued under (by its
    /// DPoP key), a live `notification_id` (a repeated notification succeeds again), a known
    /// event. Returns the event for
    /// the caller's registry (a deleted credential becomes INVALID there).
    ///
    /// # Errors
    /// [`VciError::InvalidToken`], [`VciError::InvalidNotificationId`],
    /// [`VciError::InvalidNotificationRequest`], DPoP refusals.
    pub fn notification(
        &self,
        body: &[u8],
        ctx: &RequestContext<'_>,
        at: OffsetDateTime,
    ) -> Result<Notification, VciError> {
        if body.len() > MAX_BODY_BYTES {
            return Err(VciError::InvalidNotificationRequest(
                "the body is too large",
            ));
        }
        let (token_handle, _) = self.resource(ctx, at)?;
        let request: Map<String, Value> = serde_json::from_slice(body)
            .map_err(|_| VciError::InvalidNotificationRequest("not a JSON object"))?;
        let event: NotificationEvent = request
            .get("event")
            .cloned()
            .and_then(|e| serde_json::from_value(e).ok())
            .ok_or(VciError::InvalidNotificationRequest("event"))?;
        let id = request
            .get("notification_id")
            .and_then(Value::as_str)
            .ok_or(VciError::InvalidNotificationRequest("notification_id"))?;
        let key = self.hash_handle(id)?;
        let record: NotificationRecord = from_bytes(
            &self
                .store
                .get(RecordKind::Notification, &key, at)?
                .ok_or(VciError::InvalidNotificationId)?,
        )?;
        if record.token_handle != token_handle {
            return Err(VciError::InvalidNotificationId);
        }
        // Kept until it expires: §11.1 asks that a repeated notification succeed (a wallet
        // retrying after a lost response); what it triggers in the registry is idempotent.
        Ok(Notification {
            event,
            subject: record.subject,
            configuration: record.configuration,
            keys: record.keys,
            references: record.references,
        })
    }
}
