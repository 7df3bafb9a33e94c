//! Client authentication by wallet attestation (OAuth 2.0 Attestation-Based Client
//! Authentication draft -07 as OpenID4VCI 1.0 Appendix E and HAIP 1.0 §4.3.1 use it): the
//! wallet provider's Client Attestation JWT (`OAuth-Client-Attestation`), bound by `cnf.jwk` to
//! a key of the wallet instance, and the instance's PoP JWT (`OAuth-Client-Attestation-PoP`)
//! over the Authorization Server's identifier.
//!
//! The attestation's signer is in `x5c` under the wallet-provider anchors of the trust
//! configuration, with HAIP's rules (no anchor inside, not self-signed); `sub` is the
//! `client_id`, shared by every instance of the wallet (HAIP: no per-instance identifier). The
//! PoP is signed by the attested key, for this Authorization Server (`aud`), with a fresh `jti`
//! (the caller records [`VerifiedClient::replay_handle`]), recent `iat`, and the server's
//! challenge when it gave one (`challenge`, or `nonce` as earlier drafts and the
//! `@openid4vc/oauth2` library write it). `iss` and `exp` in the PoP, which earlier drafts
//! required, are checked when present.

use std::sync::Arc;

use kmid_crypto::jose::{CompactJws, b64url, sign_compact};
use kmid_crypto::x509::{Certificate, KeyPurpose, TrustStore, chain_to_x5c};
use kmid_crypto::{Algorithm, CryptoProvider, Jwk, PublicKey, Random, Signer};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use super::VciError;
use crate::x5c::X5cError;

/// The `typ` of a Client Attestation JWT.
pub const CLIENT_ATTESTATION_TYP: &str = "oauth-client-attestation+jwt";
/// The `typ` of a Client Attestation PoP JWT.
pub const CLIENT_ATTESTATION_POP_TYP: &str = "oauth-client-attestation-pop+jwt";
/// The HTTP header carrying the attestation.
pub const ATTESTATION_HEADER: &str = "OAuth-Client-Attestation";
/// The HTTP header carrying the PoP.
pub const ATTESTATION_POP_HEADER: &str = "OAuth-Client-Attestation-PoP";
/// The `token_endpoint_auth_method` of attestation-based client authentication.
pub const AUTH_METHOD: &str = "attest_jwt_client_auth";
/// How far a PoP's `iat` may be from the server's clock.
pub const POP_WINDOW: Duration = Duration::minutes(5);
const MAX_JWT_BYTES: usize = 32 * 1024;
const ALGORITHMS: [Algorithm; 3] = [Algorithm::Es256, Algorithm::Es384, Algorithm::EdDsa];

fn refuse(why: &'static str) -> VciError {
    VciError::InvalidClient(why)
}

/// What a server checks a client's attestation against.
#[derive(Clone, Copy)]
pub struct ClientAuthCheck<'a> {
    /// The provider every signature goes through.
    pub provider: &'a CryptoProvider,
    /// The wallet-provider anchors.
    pub trust: &'a TrustStore,
    /// The Authorization Server's issuer identifier (the PoP's `aud`).
    pub authorization_server: &'a str,
    /// When the server handed out challenges: whether the PoP's is a live one.
    pub challenge: Option<&'a dyn Fn(&str) -> bool>,
    /// The server's time.
    pub at: OffsetDateTime,
}

impl core::fmt::Debug for ClientAuthCheck<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientAuthCheck")
            .field("authorization_server", &self.authorization_server)
            .field("challenge", &self.challenge.is_some())
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

/// An authenticated wallet instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedClient {
    /// The `client_id` (the attestation's `sub`).
    pub client_id: String,
    /// The wallet provider (the attestation's `iss`).
    pub provider: String,
    /// `wallet_name`, when given.
    pub wallet_name: Option<String>,
    /// The instance key (`cnf.jwk`).
    pub instance_key: PublicKey,
    /// The certificate that signed the attestation.
    pub certificate: Certificate,
    /// The PoP's replay handle (SHA-256 over the instance key's thumbprint and `jti`), to be
    /// recorded until [`Self::replay_until`].
    pub replay_handle: String,
    /// Until when.
    pub replay_until: OffsetDateTime,
}

fn int(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, VciError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or(refuse(name)),
    }
}

/// Verifies a Client Attestation and its PoP.
///
/// # Errors
/// [`VciError::InvalidClient`] with what failed.
pub fn verify_client_attestation(
    attestation: &str,
    pop: &str,
    check: &ClientAuthCheck<'_>,
) -> Result<VerifiedClient, VciError> {
    if attestation.len() > MAX_JWT_BYTES || pop.len() > MAX_JWT_BYTES {
        return Err(refuse("larger than 32 KiB"));
    }
    let now = check.at.unix_timestamp();
    // The attestation, by the wallet provider.
    let jws = CompactJws::parse(attestation).map_err(|_| refuse("attestation is not a JWS"))?;
    if !jws.typ_is(CLIENT_ATTESTATION_TYP) {
        return Err(refuse("attestation typ"));
    }
    let alg = jws
        .algorithm(&ALGORITHMS)
        .map_err(|_| refuse("attestation alg"))?;
    let chain = crate::x5c::authenticate(&jws.header, check.trust, check.at, KeyPurpose::JwtSigner)
        .map_err(|e| {
            refuse(match e {
                X5cError::Missing | X5cError::Malformed => "attestation x5c",
                X5cError::Certificate(_) => {
                    "attestation signer not under the wallet-provider anchors"
                }
                X5cError::AnchorInChain => "the anchor is inside the attestation's x5c",
                X5cError::SelfSigned => "the attestation signer is self-signed",
            })
        })?;
    jws.verify(
        chain.leaf.public_key(),
        alg,
        check.provider.signature_verifier,
    )
    .map_err(|_| refuse("attestation signature"))?;
    let claims = jws
        .payload_object()
        .map_err(|_| refuse("attestation payload"))?;
    let text = |name: &'static str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or(refuse(name))
    };
    let provider = text("iss")?;
    let client_id = text("sub")?;
    let exp = int(&claims, "exp")?.ok_or(refuse("attestation exp"))?;
    if exp <= now {
        return Err(refuse("the attestation expired"));
    }
    if int(&claims, "nbf")?.is_some_and(|nbf| nbf > now + 60) {
        return Err(refuse("the attestation is not valid yet"));
    }
    let jwk: Jwk = claims
        .get("cnf")
        .and_then(|c| c.get("jwk"))
        .cloned()
        .and_then(|j| serde_json::from_value(j).ok())
        .ok_or(refuse("attestation cnf.jwk"))?;
    if jwk.d.is_some() {
        return Err(refuse("attestation cnf.jwk is a private key"));
    }
    let instance_key = jwk
        .to_public_key()
        .map_err(|_| refuse("attestation cnf.jwk"))?;

    // The PoP, by the instance.
    let pop = CompactJws::parse(pop).map_err(|_| refuse("PoP is not a JWS"))?;
    if !pop.typ_is(CLIENT_ATTESTATION_POP_TYP) {
        return Err(refuse("PoP typ"));
    }
    let pop_alg = pop.algorithm(&ALGORITHMS).map_err(|_| refuse("PoP alg"))?;
    pop.verify(&instance_key, pop_alg, check.provider.signature_verifier)
        .map_err(|_| refuse("PoP signature (not the attested key)"))?;
    let pop_claims = pop.payload_object().map_err(|_| refuse("PoP payload"))?;
    let audience_ok = match pop_claims.get("aud") {
        Some(Value::String(aud)) => aud == check.authorization_server,
        Some(Value::Array(auds)) => auds
            .iter()
            .any(|a| a.as_str() == Some(check.authorization_server)),
        _ => false,
    };
    if !audience_ok {
        return Err(refuse("PoP aud is not this authorization server"));
    }
    if pop_claims
        .get("iss")
        .is_some_and(|iss| iss.as_str() != Some(client_id.as_str()))
    {
        return Err(refuse("PoP iss is not the attested client_id"));
    }
    let jti = pop_claims
        .get("jti")
        .and_then(Value::as_str)
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or(refuse("PoP jti"))?;
    let iat = int(&pop_claims, "iat")?.ok_or(refuse("PoP iat"))?;
    if iat.abs_diff(now) > POP_WINDOW.whole_seconds().unsigned_abs() {
        return Err(refuse("PoP iat outside the window"));
    }
    if int(&pop_claims, "exp")?.is_some_and(|exp| exp <= now) {
        return Err(refuse("the PoP expired"));
    }
    if let Some(live) = check.challenge {
        let challenge = pop_claims
            .get("challenge")
            .or_else(|| pop_claims.get("nonce"))
            .and_then(Value::as_str)
            .unwrap_or("");
        if !live(challenge) {
            return Err(VciError::UseAttestationChallenge);
        }
    }
    let mut handle = instance_key
        .thumbprint_sha256_on(check.provider)?
        .into_bytes();
    handle.push(0);
    handle.extend_from_slice(jti.as_bytes());
    let iat_time = OffsetDateTime::from_unix_timestamp(iat).unwrap_or(check.at);
    Ok(VerifiedClient {
        client_id,
        provider,
        wallet_name: claims
            .get("wallet_name")
            .and_then(Value::as_str)
            .map(str::to_owned),
        instance_key,
        certificate: chain.leaf,
        replay_handle: b64url(&check.provider.sha256(&handle)?),
        replay_until: iat_time.max(check.at) + POP_WINDOW,
    })
}

/// What a wallet provider attests of a wallet instance.
#[derive(Debug, Clone)]
pub struct WalletAttestationClaims<'a> {
    /// The provider's identifier (`iss`).
    pub provider: &'a str,
    /// The wallet's `client_id` (`sub`), shared by its instances.
    pub client_id: &'a str,
    /// `wallet_name`.
    pub wallet_name: Option<&'a str>,
    /// The instance key (`cnf.jwk`).
    pub instance_key: &'a PublicKey,
    /// Issued at.
    pub at: OffsetDateTime,
    /// How long it is valid.
    pub lifetime: Duration,
}

/// A wallet provider's Client Attestation JWT, signed with `x5c` `chain` (leaf first, no
/// anchor).
///
/// # Errors
/// [`VciError::Jws`] for a signer that fails.
pub fn issue_wallet_attestation(
    signer: &Arc<dyn Signer>,
    chain: &[Certificate],
    claims: &WalletAttestationClaims<'_>,
) -> Result<String, VciError> {
    let mut header = Map::new();
    header.insert("typ".into(), json!(CLIENT_ATTESTATION_TYP));
    header.insert("x5c".into(), json!(chain_to_x5c(chain)));
    let mut payload = Map::new();
    payload.insert("iss".into(), json!(claims.provider));
    payload.insert("sub".into(), json!(claims.client_id));
    payload.insert("iat".into(), json!(claims.at.unix_timestamp()));
    payload.insert(
        "exp".into(),
        json!((claims.at + claims.lifetime).unix_timestamp()),
    );
    payload.insert("cnf".into(), json!({ "jwk": claims.instance_key.to_jwk() }));
    if let Some(name) = claims.wallet_name {
        payload.insert("wallet_name".into(), json!(name));
    }
    sign_compact(
        header,
        Value::Object(payload).to_string().as_bytes(),
        signer,
    )
    .map_err(VciError::Jws)
}

/// The wallet instance's PoP for `authorization_server`: `iss` the attested `client_id`,
/// `aud`, a fresh 128-bit `jti`, `iat`, `exp` a minute later, and the server's `challenge`.
///
/// # Errors
/// [`VciError::Jws`], the random source's failure.
pub fn client_attestation_pop(
    instance: &Arc<dyn Signer>,
    random: &dyn Random,
    client_id: &str,
    authorization_server: &str,
    challenge: Option<&str>,
    at: OffsetDateTime,
) -> Result<String, VciError> {
    let mut jti = [0u8; 16];
    random.fill(&mut jti)?;
    let mut header = Map::new();
    header.insert("typ".into(), json!(CLIENT_ATTESTATION_POP_TYP));
    let mut payload = Map::new();
    payload.insert("iss".into(), json!(client_id));
    payload.insert("aud".into(), json!(authorization_server));
    payload.insert("jti".into(), json!(b64url(&jti)));
    payload.insert("iat".into(), json!(at.unix_timestamp()));
    payload.insert(
        "exp".into(),
        json!((at + Duration::minutes(1)).unix_timestamp()),
    );
    if let Some(challenge) = challenge {
        payload.insert("challenge".into(), json!(challenge));
    }
    sign_compact(
        header,
        Value::Object(payload).to_string().as_bytes(),
        instance,
    )
    .map_err(VciError::Jws)
}
