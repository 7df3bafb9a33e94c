//! DPoP (RFC 9449): proofs of possession that bind an access token to the wallet's key, as
//! HAIP 1.0 §4 requires of every OpenID4VCI endpoint a token reaches.
//!
//! A wallet makes a proof per request with [`DpopProof::create`]; a server checks one with
//! [`verify_dpop_proof`] (RFC 9449 §4.3: `typ` `dpop+jwt`, an asymmetric `alg`, a public
//! `jwk`, the signature, `htm`, `htu` compared without query and fragment after RFC 3986
//! normalization, `iat` in a window, the server's `nonce`, and at a resource `ath` and the
//! token's key). Replay of a `jti` is the caller's store to refuse: the proof names the
//! [`VerifiedDpop::replay_handle`] to record until [`VerifiedDpop::replay_until`].

use std::sync::Arc;

use kmid_crypto::jose::{CompactJws, b64url, sign_compact};
use kmid_crypto::{Algorithm, CryptoError, CryptoProvider, Jwk, PublicKey, Random, Signer};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

/// The `typ` of a DPoP proof.
pub const DPOP_TYP: &str = "dpop+jwt";
/// The algorithms accepted for DPoP proofs (HAIP 1.0 §7: ES256 at least).
pub const DPOP_ALGORITHMS: [Algorithm; 3] = [Algorithm::Es256, Algorithm::Es384, Algorithm::EdDsa];
/// How old a proof's `iat` may be.
pub const DPOP_WINDOW: Duration = Duration::minutes(5);
/// How far ahead of the server's clock a proof's `iat` may be (clock skew only: a proof
/// dated in the future would stay replayable, and its `jti` stored, for longer).
pub const DPOP_FUTURE_SKEW: Duration = Duration::seconds(60);
/// The longest proof accepted (a header with a P-521 key and a long `htu` fit in 4 KiB).
pub const MAX_DPOP_BYTES: usize = 4 * 1024;
/// The longest `jti` accepted.
const MAX_JTI: usize = 256;

/// Why a DPoP proof was refused (RFC 9449 §4.3, §8, §9).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DpopError {
    /// Not a compact JWS of the right shape, or a claim is missing or mistyped.
    #[error("malformed DPoP proof: {0}")]
    Malformed(&'static str),
    /// `typ` is not `dpop+jwt`.
    #[error("the DPoP proof's typ is not dpop+jwt")]
    WrongType,
    /// `alg` is missing, `none`, symmetric or not accepted.
    #[error("the DPoP proof's alg is not accepted")]
    Algorithm,
    /// The `jwk` header is missing, unusable, or holds a private key.
    #[error("the DPoP proof's jwk: {0}")]
    Key(&'static str),
    /// The signature does not verify with the `jwk`.
    #[error("the DPoP proof's signature does not verify")]
    Signature,
    /// `htm` is not the request's method.
    #[error("the DPoP proof is for another HTTP method")]
    Method,
    /// `htu` is not the request's URL.
    #[error("the DPoP proof is for another URL")]
    Url,
    /// `iat` is outside the window.
    #[error("the DPoP proof's iat is outside the accepted window")]
    Stale,
    /// The server requires a nonce and the proof has none or an old one: the client retries
    /// with the `DPoP-Nonce` the server sends (`use_dpop_nonce`).
    #[error("the DPoP proof does not carry the server's current nonce")]
    UseNonce,
    /// `ath` is missing or not the hash of the access token presented.
    #[error("the DPoP proof's ath is not the access token's hash")]
    AccessTokenHash,
    /// The proof's key is not the key the access token is bound to.
    #[error("the DPoP proof is signed by another key than the token's")]
    KeyMismatch,
    /// The `jti` was seen before (reported by the caller's replay store).
    #[error("the DPoP proof was used before")]
    Replayed,
    /// A primitive failed (not a refusal of the input).
    #[error("crypto: {0}")]
    Crypto(CryptoError),
}

impl DpopError {
    /// The stable code: the variant's name.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "Malformed",
            Self::WrongType => "WrongType",
            Self::Algorithm => "Algorithm",
            Self::Key(_) => "Key",
            Self::Signature => "Signature",
            Self::Method => "Method",
            Self::Url => "Url",
            Self::Stale => "Stale",
            Self::UseNonce => "UseNonce",
            Self::AccessTokenHash => "AccessTokenHash",
            Self::KeyMismatch => "KeyMismatch",
            Self::Replayed => "Replayed",
            Self::Crypto(e) => e.code(),
        }
    }

    /// The OAuth error a server answers with: `use_dpop_nonce` for [`Self::UseNonce`]
    /// (RFC 9449 §8), `invalid_dpop_proof` otherwise (§7.1; at a resource, §7.1 sends it in
    /// `WWW-Authenticate`).
    #[must_use]
    pub const fn oauth_error(&self) -> &'static str {
        match self {
            Self::UseNonce => "use_dpop_nonce",
            _ => "invalid_dpop_proof",
        }
    }
}

impl From<CryptoError> for DpopError {
    fn from(e: CryptoError) -> Self {
        Self::Crypto(e)
    }
}

/// The request a client makes a proof for.
#[derive(Debug, Clone, Copy)]
pub struct DpopRequest<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The URL (a query and fragment are left out of `htu`, as §4.2 says).
    pub url: &'a str,
    /// The server's nonce (`DPoP-Nonce`), when it gave one.
    pub nonce: Option<&'a str>,
    /// The access token the request carries, for `ath`.
    pub access_token: Option<&'a str>,
}

/// A DPoP proof a client sends.
pub struct DpopProof;

impl DpopProof {
    /// A proof for one request: `htm`, `htu`, `iat` `at`, a fresh 128-bit `jti` from
    /// `random`, the server's `nonce` when it gave one, and `ath` when the request carries an
    /// access token.
    ///
    /// # Errors
    /// [`DpopError::Crypto`] for a signer that fails; [`DpopError::Url`] for a URL that is not
    /// absolute `http(s)`.
    pub fn create(
        provider: &CryptoProvider,
        random: &dyn Random,
        signer: &Arc<dyn Signer>,
        request: &DpopRequest<'_>,
        at: OffsetDateTime,
    ) -> Result<String, DpopError> {
        let DpopRequest {
            method,
            url,
            nonce,
            access_token,
        } = *request;
        let htu = strip_query(url);
        normalize_url(htu).ok_or(DpopError::Url)?;
        let mut jti = [0u8; 16];
        random.fill(&mut jti)?;
        let mut header = Map::new();
        header.insert("typ".into(), json!(DPOP_TYP));
        header.insert(
            "jwk".into(),
            serde_json::to_value(signer.public_key().to_jwk())
                .map_err(|_| DpopError::Key("not serializable"))?,
        );
        let mut claims = Map::new();
        claims.insert("jti".into(), json!(b64url(&jti)));
        claims.insert("htm".into(), json!(method));
        claims.insert("htu".into(), json!(htu));
        claims.insert("iat".into(), json!(at.unix_timestamp()));
        if let Some(nonce) = nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        if let Some(token) = access_token {
            claims.insert("ath".into(), json!(access_token_hash(provider, token)?));
        }
        let payload = serde_json::to_vec(&Value::Object(claims))
            .map_err(|_| DpopError::Malformed("claims"))?;
        sign_compact(header, &payload, signer).map_err(|_| DpopError::Signature)
    }
}

/// `ath`: the base64url SHA-256 of the access token's ASCII (RFC 9449 §4.2).
///
/// # Errors
/// Backend failures.
pub fn access_token_hash(provider: &CryptoProvider, token: &str) -> Result<String, DpopError> {
    Ok(b64url(&provider.sha256(token.as_bytes())?))
}

/// What a server checks a proof against.
#[derive(Clone, Copy)]
pub struct DpopCheck<'a> {
    /// The request's HTTP method.
    pub method: &'a str,
    /// The request's URL as the server is reached (scheme, host, port, path).
    pub url: &'a str,
    /// The nonces the server currently accepts (the one it last sent and, while a new one
    /// spreads, the one before); empty when the server does not require one.
    pub nonces: &'a [&'a str],
    /// For a server whose nonces need no list (they carry their own expiry under a MAC):
    /// whether a nonce is one it accepts. With `nonces` empty and this `None`, no nonce is
    /// required.
    pub nonce_valid: Option<&'a dyn Fn(&str) -> bool>,
    /// At a resource (the credential or notification endpoint): the access token presented
    /// and the thumbprint of the key it is bound to (`cnf.jkt`).
    pub access_token: Option<(&'a str, &'a str)>,
    /// The server's time.
    pub at: OffsetDateTime,
}

impl core::fmt::Debug for DpopCheck<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DpopCheck")
            .field("method", &self.method)
            .field("url", &self.url)
            .field(
                "nonce_required",
                &(!self.nonces.is_empty() || self.nonce_valid.is_some()),
            )
            .field("at", &self.at)
            .finish_non_exhaustive()
    }
}

/// A proof that holds; its `jti` is still to be recorded against replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDpop {
    /// The proof's public key.
    pub key: PublicKey,
    /// Its RFC 7638 SHA-256 thumbprint (base64url): `dpop_jkt`, the token's `cnf.jkt`.
    pub jkt: String,
    /// The handle to record in the replay store: base64url SHA-256 over the key's thumbprint
    /// and the `jti`, so one client's `jti` cannot collide with another's.
    pub replay_handle: String,
    /// Until when the handle must be kept: past it, `iat` is out of the window anyway.
    pub replay_until: OffsetDateTime,
}

/// Checks a DPoP proof (RFC 9449 §4.3) for a request.
///
/// # Errors
/// [`DpopError`]: the first check that fails.
pub fn verify_dpop_proof(
    provider: &CryptoProvider,
    proof: &str,
    check: &DpopCheck<'_>,
) -> Result<VerifiedDpop, DpopError> {
    if proof.len() > MAX_DPOP_BYTES {
        return Err(DpopError::Malformed("larger than 4 KiB"));
    }
    let jws = CompactJws::parse(proof).map_err(|_| DpopError::Malformed("not a compact JWS"))?;
    if !jws.typ_is(DPOP_TYP) {
        return Err(DpopError::WrongType);
    }
    let alg = jws
        .algorithm(&DPOP_ALGORITHMS)
        .map_err(|_| DpopError::Algorithm)?;
    // The key travels in `jwk` alone (§4.2); a `kid` or `x5c` beside it names another.
    if jws.header.contains_key("kid") || jws.header.contains_key("x5c") {
        return Err(DpopError::Key("kid or x5c beside jwk"));
    }
    let jwk: Jwk = jws
        .header
        .get("jwk")
        .cloned()
        .and_then(|j| serde_json::from_value(j).ok())
        .ok_or(DpopError::Key("missing or not a JWK"))?;
    if jwk.d.is_some() {
        return Err(DpopError::Key("a private key"));
    }
    let key = jwk
        .to_public_key()
        .map_err(|_| DpopError::Key("unusable"))?;
    jws.verify(&key, alg, provider.signature_verifier)
        .map_err(|_| DpopError::Signature)?;
    let claims = jws
        .payload_object()
        .map_err(|_| DpopError::Malformed("the payload is not a JSON object"))?;
    let text = |name: &'static str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .ok_or(DpopError::Malformed(name))
    };
    let jti = text("jti")?;
    if jti.is_empty() || jti.len() > MAX_JTI {
        return Err(DpopError::Malformed("jti"));
    }
    if text("htm")? != check.method {
        return Err(DpopError::Method);
    }
    let expected = normalize_url(strip_query(check.url)).ok_or(DpopError::Url)?;
    let htu = text("htu")?;
    // §4.3 item 9: compared without query and fragment; a proof that carries them is for
    // another resource anyway.
    if htu.contains(['?', '#']) || normalize_url(htu).as_deref() != Some(expected.as_str()) {
        return Err(DpopError::Url);
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(DpopError::Malformed("iat"))?;
    let iat = OffsetDateTime::from_unix_timestamp(iat).map_err(|_| DpopError::Malformed("iat"))?;
    if iat < check.at - DPOP_WINDOW || iat > check.at + DPOP_FUTURE_SKEW {
        return Err(DpopError::Stale);
    }
    if !check.nonces.is_empty() || check.nonce_valid.is_some() {
        let nonce = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
        let listed = check
            .nonces
            .iter()
            .any(|n| kmid_crypto::session::constant_time_eq(n.as_bytes(), nonce.as_bytes()));
        if !listed && !check.nonce_valid.is_some_and(|valid| valid(nonce)) {
            return Err(DpopError::UseNonce);
        }
    }
    let jkt = key.thumbprint_sha256_on(provider)?;
    if let Some((token, bound)) = check.access_token {
        let ath = claims.get("ath").and_then(Value::as_str).unwrap_or("");
        let expected = access_token_hash(provider, token)?;
        if !kmid_crypto::session::constant_time_eq(ath.as_bytes(), expected.as_bytes()) {
            return Err(DpopError::AccessTokenHash);
        }
        if !kmid_crypto::session::constant_time_eq(jkt.as_bytes(), bound.as_bytes()) {
            return Err(DpopError::KeyMismatch);
        }
    }
    let mut handle = jkt.as_bytes().to_vec();
    handle.push(0);
    handle.extend_from_slice(jti.as_bytes());
    Ok(VerifiedDpop {
        replay_handle: b64url(&provider.sha256(&handle)?),
        // Past this, the proof is stale anyway.
        replay_until: iat + DPOP_WINDOW,
        key,
        jkt,
    })
}

/// The URL without its query and fragment.
fn strip_query(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url.get(..end).unwrap_or(url)
}

/// An absolute `http(s)` URL (no query or fragment) in RFC 3986 §6.2.2–6.2.3 normal form:
/// scheme and host in lower case, the scheme's default port dropped, an empty path as `/`,
/// percent-encodings in upper case and unreserved characters decoded, dot segments left as
/// they are (a proof that uses them is refused, not reinterpreted). `None` for anything
/// else, userinfo included.
fn normalize_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => "443",
        "http" => "80",
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let (host, port) = match authority.rsplit_once(':') {
        // An IPv6 literal's colons sit inside brackets.
        Some((h, p)) if !p.contains(']') => (h, Some(p)),
        _ => (authority, None),
    };
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-[]:".contains(&b))
    {
        return None;
    }
    let port = match port {
        Some(p) if p.is_empty() || p == default_port => None,
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) && p.len() <= 5 => Some(p),
        Some(_) => return None,
        None => None,
    };
    let mut out = format!("{scheme}://{}", host.to_ascii_lowercase());
    if let Some(p) = port {
        out.push(':');
        out.push_str(p);
    }
    let bytes = path.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = path.get(i + 1..i + 3)?;
            let value = u8::from_str_radix(hex, 16).ok()?;
            if value.is_ascii_alphanumeric() || b"-._~".contains(&value) {
                out.push(char::from(value));
            } else {
                out.push('%');
                out.push_str(&hex.to_ascii_uppercase());
            }
            i += 3;
        } else if b.is_ascii_graphic() {
            out.push(char::from(b));
            i += 1;
        } else {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::normalize_url;

    #[test]
    fn urls_compare_in_rfc_3986_normal_form() {
        let n = |u| normalize_url(u);
        assert_eq!(
            n("HTTPS://Issuer.Example:443/token"),
            n("https://issuer.example/token")
        );
        assert_eq!(n("https://issuer.example"), n("https://issuer.example/"));
        assert_eq!(
            n("https://issuer.example/%7etoken"),
            n("https://issuer.example/~token")
        );
        assert_eq!(
            n("https://issuer.example/a%2fb").unwrap(),
            "https://issuer.example/a%2Fb"
        );
        assert_ne!(
            n("https://issuer.example:8443/token"),
            n("https://issuer.example/token")
        );
        assert_ne!(
            n("http://issuer.example/token"),
            n("https://issuer.example/token")
        );
        assert_eq!(n("https://user@issuer.example/token"), None);
        assert_eq!(n("ftp://issuer.example/token"), None);
        assert_eq!(n("https://issuer.example/%zz"), None);
        assert_eq!(n("https://issuer.example:x/token"), None);
    }
}
