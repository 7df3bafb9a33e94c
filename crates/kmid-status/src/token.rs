//! The Status List Token (draft-ietf-oauth-status-list §5): a status list signed as a JWT
//! (`typ` `statuslist+jwt`) or a CWT (COSE_Sign1_Tagged with `16: application/statuslist+cwt`,
//! claims 2 sub, 6 iat, 4 exp, 65534 ttl, 65533 status_list), signed through a [`Signer`] and
//! verified against a trust store (`x5c`/`x5chain`) or configured keys, at a given time.

use std::io::Write;
use std::sync::Arc;

use kmid_crypto::cose::{CoseError, CoseFailure, CoseSign1, Header, SIGN1_TAG, sig_structure};
use kmid_crypto::jose::{B64UrlWriter, CompactJws, JoseError, write_compact};
use kmid_crypto::x509::{Certificate, KeyPurpose, TrustStore, chain_from_x5c, chain_to_x5c};
use kmid_crypto::{Algorithm, AlgorithmRefusal, CryptoProvider, PublicKey, Signer};
use kmid_schema::status::StatusTokenForm;
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use crate::error::StatusListError;
use crate::list::{DEFAULT_MAX_DECOMPRESSED, StatusList};

/// The JWT `typ` of a Status List Token.
pub const JWT_TYP: &str = "statuslist+jwt";
/// The CWT type (COSE header 16) of a Status List Token.
pub const CWT_TYP: &str = "application/statuslist+cwt";
const CWT_SUB: i64 = 2;
const CWT_EXP: i64 = 4;
const CWT_IAT: i64 = 6;
const CWT_NBF: i64 = 5;
const CWT_TTL: i64 = 65534;
const CWT_STATUS_LIST: i64 = 65533;

/// The claims of a Status List Token besides the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// `sub`: the URI the list is published at, as credentials name it.
    pub sub: String,
    /// `iat`, Unix seconds.
    pub iat: i64,
    /// `exp`, Unix seconds.
    pub exp: Option<i64>,
    /// `ttl`, seconds a consumer may cache the token.
    pub ttl: Option<u64>,
}

/// How the signer of a token is identified in its header.
#[derive(Clone, Copy)]
pub struct TokenSigner<'a> {
    /// The signer (the issuer's Document Signer key, perhaps in an HSM).
    pub signer: &'a Arc<dyn Signer>,
    /// Its certificate chain, leaf first, for `x5c` / `x5chain`; may be empty.
    pub chain: &'a [Certificate],
    /// A key identifier, if the verifiers configure keys by it.
    pub kid: Option<&'a str>,
    /// Where a JWT's signing input is hashed for a signer that signs prehashed digests.
    pub provider: &'a CryptoProvider,
}

impl std::fmt::Debug for TokenSigner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("algorithm", &self.signer.algorithm())
            .field("chain_len", &self.chain.len())
            .field("kid", &self.kid)
            .finish()
    }
}

/// Signs `list` as a JWT Status List Token.
///
/// # Errors
/// Compression or signer failures.
pub fn sign_jwt(
    list: &StatusList,
    claims: &TokenClaims,
    signer: &TokenSigner<'_>,
) -> Result<String, StatusListError> {
    let mut token = Vec::new();
    write_jwt(list, claims, signer, &mut token)?;
    String::from_utf8(token).map_err(|_| StatusListError::Malformed("JWT is not ASCII"))
}

/// Writes `list` as a JWT Status List Token to `out` (a file, a socket) as it is produced:
/// ZLIB, base64url for `lst`, the payload's base64url and, with a signer that
/// [signs prehashed digests](kmid_crypto::Signer::signs_prehashed), the signature's hash run
/// as one pipeline, so beyond the list only the compressor's state is in memory (a
/// 2^26-entry list's token is about 1.8 MiB; none of it is held). Byte for byte what
/// [`sign_jwt`] returns, signature aside.
///
/// # Errors
/// Compression, output or signer failures.
pub fn write_jwt(
    list: &StatusList,
    claims: &TokenClaims,
    signer: &TokenSigner<'_>,
    out: &mut dyn Write,
) -> Result<(), StatusListError> {
    let mut header = Map::new();
    header.insert("typ".into(), Value::String(JWT_TYP.into()));
    if let Some(kid) = signer.kid {
        header.insert("kid".into(), Value::String(kid.into()));
    }
    if !signer.chain.is_empty() {
        header.insert("x5c".into(), json!(chain_to_x5c(signer.chain)));
    }
    // {"sub":…,"iat":…[,"exp":…][,"ttl":…],"status_list":{"bits":…,"lst":"…"}}
    let mut head = format!(
        "{{\"sub\":{},\"iat\":{}",
        Value::String(claims.sub.clone()),
        claims.iat
    );
    if let Some(exp) = claims.exp {
        head.push_str(&format!(",\"exp\":{exp}"));
    }
    if let Some(ttl) = claims.ttl {
        head.push_str(&format!(",\"ttl\":{ttl}"));
    }
    head.push_str(&format!(
        ",\"status_list\":{{\"bits\":{},\"lst\":\"",
        list.bits()
    ));
    let payload = |w: &mut dyn Write| -> std::io::Result<()> {
        w.write_all(head.as_bytes())?;
        let lst = B64UrlWriter::new(&mut *w);
        list.compress_into(lst)?.finish()?;
        w.write_all(b"\"}}")
    };
    write_compact(signer.provider, header, payload, signer.signer, out).map_err(|e| match e {
        JoseError::Output(why) => StatusListError::Output(why),
        _ => StatusListError::Crypto(kmid_crypto::CryptoError::Signer("JWS signing".into())),
    })
}

/// Signs `list` as a CWT Status List Token (COSE_Sign1_Tagged).
///
/// # Errors
/// Compression or signer failures.
pub fn sign_cwt(
    list: &StatusList,
    claims: &TokenClaims,
    signer: &TokenSigner<'_>,
) -> Result<Vec<u8>, StatusListError> {
    let lst = list.compress()?;
    let entries = 3 + usize::from(claims.exp.is_some()) + usize::from(claims.ttl.is_some());
    let mut e = kmid_cbor::Encoder::with_capacity(
        lst.len()
            .saturating_add(claims.sub.len())
            .saturating_add(64),
    );
    e.map(entries)
        .int(CWT_SUB)
        .text(&claims.sub)
        .int(CWT_IAT)
        .int(claims.iat);
    if let Some(exp) = claims.exp {
        e.int(CWT_EXP).int(exp);
    }
    if let Some(ttl) = claims.ttl {
        e.int(CWT_TTL).uint(ttl);
    }
    e.int(CWT_STATUS_LIST);
    list.encode_cbor(&mut e, &lst);
    let payload = e.finish();
    let protected = Header {
        typ: Some(CWT_TYP.into()),
        ..Header::default()
    };
    let unprotected = Header {
        kid: signer.kid.map(|k| k.as_bytes().to_vec()),
        x5chain: (!signer.chain.is_empty())
            .then(|| signer.chain.iter().map(|c| c.der().to_vec()).collect()),
        ..Header::default()
    };
    let sign1 = CoseSign1::sign(
        &**signer.signer,
        protected,
        unprotected,
        Some(payload),
        None,
    )?;
    Ok(sign1.to_tagged_vec())
}

/// Where the keys that sign Status List Tokens come from.
#[derive(Debug, Clone)]
pub enum TokenKeys {
    /// From `x5c`/`x5chain`, validated to these roots for Document Signer use.
    X5c(TrustStore),
    /// Configured keys; the first that verifies is used.
    Keys(Vec<PublicKey>),
    /// Both, as a trust configuration gives them (`spec/trust.md`): a token carrying
    /// `x5c`/`x5chain` is validated to `roots` (never to a configured key); one without is
    /// verified with the configured keys for its `kid` (a key configured without a kid
    /// matches any token, one with a kid only a token naming it; a token without `kid`
    /// matches only keys configured without one).
    KeySet {
        /// Roots of signer chains.
        roots: TrustStore,
        /// Configured keys, each with its `kid` if it has one.
        keys: Vec<(Option<String>, PublicKey)>,
    },
}

/// What a token verifier accepts.
#[derive(Clone)]
pub struct TokenPolicy {
    /// Accepted algorithms.
    pub allowed_algorithms: Vec<Algorithm>,
    /// Cap on the decompressed list, in bytes.
    pub max_decompressed: usize,
    /// Cap on the token, in bytes.
    pub max_token_bytes: usize,
    /// Clock skew tolerated on `iat`, `nbf` and `exp`.
    pub clock_skew: Duration,
    /// The longest a resolver caches a token, whatever its `ttl` says (draft §11.5: clients
    /// bound `ttl` so a careless or hostile issuer cannot make revocations invisible).
    pub max_ttl: u64,
    /// The crypto provider the token's signature is checked on
    /// ([`CryptoProvider::get_default`] unless set).
    pub provider: &'static CryptoProvider,
}

impl core::fmt::Debug for TokenPolicy {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TokenPolicy")
            .field("allowed_algorithms", &self.allowed_algorithms)
            .field("max_decompressed", &self.max_decompressed)
            .finish_non_exhaustive()
    }
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            allowed_algorithms: Algorithm::ALL.to_vec(),
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
            max_token_bytes: 16 * 1024 * 1024,
            clock_skew: Duration::ZERO,
            max_ttl: 86_400,
            provider: CryptoProvider::get_default(),
        }
    }
}

/// A verified Status List Token.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedStatusList {
    /// The list.
    pub list: StatusList,
    /// Its claims.
    pub claims: TokenClaims,
    /// The DER of the trust anchor its signer's chain ended at, when the key came from
    /// `x5c`/`x5chain`.
    pub signer_anchor: Option<Vec<u8>>,
    /// Which form it came in: [`StatusTokenForm::Jwt`] or [`StatusTokenForm::Cwt`].
    pub form: StatusTokenForm,
}

/// The candidate keys for a token, and the anchor they were validated to.
type Candidates = (Vec<PublicKey>, Option<Vec<u8>>);

fn resolve_key(
    keys: &TokenKeys,
    chain: Option<Vec<Vec<u8>>>,
    kid: Option<&str>,
    at: OffsetDateTime,
    alg: Algorithm,
) -> Result<Candidates, StatusListError> {
    let trust = match keys {
        TokenKeys::X5c(trust) => trust,
        TokenKeys::KeySet { roots, .. } if chain.is_some() => roots,
        TokenKeys::KeySet { keys, .. } => {
            let candidates: Vec<PublicKey> = keys
                .iter()
                .filter(|(k, key)| (k.is_none() || k.as_deref() == kid) && key.algorithm() == alg)
                .map(|(_, key)| key.clone())
                .collect();
            if candidates.is_empty() {
                return Err(StatusListError::UnknownKey(kid.map(str::to_owned)));
            }
            return Ok((candidates, None));
        }
        TokenKeys::Keys(keys) => {
            return Ok((
                keys.iter()
                    .filter(|k| k.algorithm() == alg)
                    .cloned()
                    .collect(),
                None,
            ));
        }
    };
    {
        {
            let ders = chain.ok_or(StatusListError::Malformed("no x5c/x5chain"))?;
            if ders.len() > trust.max_chain_len().saturating_add(1) {
                return Err(StatusListError::Signer(
                    kmid_crypto::CertificateError::ChainTooLong {
                        length: ders.len(),
                        max: trust.max_chain_len().saturating_add(1),
                    }
                    .into(),
                ));
            }
            let ders: Vec<&[u8]> = ders.iter().map(AsRef::as_ref).collect();
            let validated = trust
                .validate_der(&ders, at, KeyPurpose::DocumentSigner)
                .map_err(StatusListError::Signer)?;
            if validated.leaf_key.algorithm() != alg {
                return Err(StatusListError::Algorithm(AlgorithmRefusal::KeyMismatch {
                    algorithm: alg,
                    curve: validated.leaf_key.curve(),
                }));
            }
            let anchor = trust
                .roots()
                .get(validated.root_index)
                .map(|r| r.der().to_vec());
            Ok((vec![validated.leaf_key], anchor))
        }
    }
}

fn check_claims(
    claims: &TokenClaims,
    uri: &str,
    at: OffsetDateTime,
    skew: Duration,
) -> Result<(), StatusListError> {
    let now = at.unix_timestamp();
    let skew = skew.whole_seconds();
    if claims.sub != uri {
        return Err(StatusListError::SubjectMismatch {
            sub: claims.sub.clone(),
            uri: uri.to_owned(),
        });
    }
    if claims.iat > now.saturating_add(skew) {
        return Err(StatusListError::IssuedInFuture {
            iat: claims.iat,
            at: now,
        });
    }
    // RFC 7519 §4.1.4: the current time must be before `exp`.
    if let Some(exp) = claims.exp
        && now.saturating_sub(skew) >= exp
    {
        return Err(StatusListError::Expired { exp, at: now });
    }
    Ok(())
}

/// The tail both forms share: the time claims and `sub` are checked first, and only then is
/// the list inflated (capped), so a token for another URI, or one outside its validity, costs
/// no decompression.
fn checked_then_inflated(
    claims: &TokenClaims,
    nbf: Option<i64>,
    uri: &str,
    at: OffsetDateTime,
    policy: &TokenPolicy,
    inflate: impl FnOnce(usize) -> Result<StatusList, StatusListError>,
) -> Result<StatusList, StatusListError> {
    check_nbf(nbf, at, policy.clock_skew)?;
    check_claims(claims, uri, at, policy.clock_skew)?;
    inflate(policy.max_decompressed)
}

/// RFC 7519 §4.1.5 / RFC 8392 §3.1.5: a token is not accepted before its `nbf`.
fn check_nbf(nbf: Option<i64>, at: OffsetDateTime, skew: Duration) -> Result<(), StatusListError> {
    let now = at.unix_timestamp();
    match nbf {
        Some(nbf) if now.saturating_add(skew.whole_seconds()) < nbf => {
            Err(StatusListError::NotYetValid { nbf, at: now })
        }
        _ => Ok(()),
    }
}

/// Verifies a Status List Token — a JWT (text starting with `ey`) or a CWT — for the list at
/// `uri`, at time `at`: type, algorithm, signer, signature, `sub` = `uri`, `iat`, `exp`, and the
/// list (decompression capped).
///
/// # Errors
/// [`StatusListError`] naming the failed check.
pub fn verify_token(
    token: &[u8],
    uri: &str,
    at: OffsetDateTime,
    keys: &TokenKeys,
    policy: &TokenPolicy,
) -> Result<VerifiedStatusList, StatusListError> {
    if token.len() > policy.max_token_bytes {
        return Err(StatusListError::Malformed("token larger than the limit"));
    }
    // A CWT is a COSE_Sign1_Tagged: it starts with tag 18 (0xD2); anything else is read as a JWT.
    // The claims are checked inside, before the list is inflated: a token for another URI or
    // an expired one costs no decompression.
    if token.first() != Some(&0xD2) {
        verify_jwt(token, uri, at, keys, policy)
    } else {
        verify_cwt(token, uri, at, keys, policy)
    }
}

fn verify_jwt(
    token: &[u8],
    uri: &str,
    at: OffsetDateTime,
    keys: &TokenKeys,
    policy: &TokenPolicy,
) -> Result<VerifiedStatusList, StatusListError> {
    let text =
        core::str::from_utf8(token).map_err(|_| StatusListError::Malformed("JWT is not ASCII"))?;
    let jws =
        CompactJws::parse(text).map_err(|_| StatusListError::Malformed("not a compact JWS"))?;
    if !jws.typ_is(JWT_TYP) {
        return Err(StatusListError::WrongType(JWT_TYP));
    }
    let alg = jws
        .algorithm(&policy.allowed_algorithms)
        .map_err(|e| match e {
            JoseError::AlgorithmNotAccepted(refusal) => StatusListError::Algorithm(refusal),
            _ => StatusListError::Algorithm(AlgorithmRefusal::Missing),
        })?;
    let chain = match (jws.header.get("x5c"), keys) {
        // Configured keys: an x5c is not read at all.
        (_, TokenKeys::Keys(_)) => None,
        (
            Some(Value::Array(items)),
            TokenKeys::X5c(trust) | TokenKeys::KeySet { roots: trust, .. },
        ) => {
            // Bound the chain before parsing any certificate of it.
            let max = trust.max_chain_len().saturating_add(1);
            if items.len() > max {
                return Err(StatusListError::Signer(
                    kmid_crypto::CertificateError::ChainTooLong {
                        length: items.len(),
                        max,
                    }
                    .into(),
                ));
            }
            // One rule for every x5c/x5chain: an entry of the wrong type is refused, never
            // dropped.
            let entries: Vec<String> = items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .ok_or(StatusListError::Malformed("x5c (an array of strings)"))
                })
                .collect::<Result<_, _>>()?;
            Some(
                chain_from_x5c(&entries)
                    .map_err(StatusListError::Signer)?
                    .iter()
                    .map(|c| c.der().to_vec())
                    .collect(),
            )
        }
        // A chain is never set aside for a configured key.
        (Some(_), TokenKeys::KeySet { .. }) => {
            return Err(StatusListError::Malformed("x5c (an array of strings)"));
        }
        _ => None,
    };
    let kid = jws.header.get("kid").and_then(Value::as_str);
    let (candidates, signer_anchor) = resolve_key(keys, chain, kid, at, alg)?;
    if !candidates.iter().any(|k| {
        jws.verify(k, alg, policy.provider.signature_verifier)
            .is_ok()
    }) {
        return Err(StatusListError::BadSignature);
    }
    let claims = jws
        .payload_object()
        .map_err(|_| StatusListError::Malformed("JWT payload is not a JSON object"))?;
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .ok_or(StatusListError::Malformed("no sub"))?;
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(StatusListError::Malformed("no iat"))?;
    let exp = claims
        .get("exp")
        .map(|v| v.as_i64().ok_or(StatusListError::Malformed("exp")))
        .transpose()?;
    let nbf = claims
        .get("nbf")
        .map(|v| v.as_i64().ok_or(StatusListError::Malformed("nbf")))
        .transpose()?;
    let ttl = claims
        .get("ttl")
        .map(|v| {
            v.as_u64()
                .filter(|t| *t > 0)
                .ok_or(StatusListError::Malformed("ttl"))
        })
        .transpose()?;
    let sl = claims
        .get("status_list")
        .ok_or(StatusListError::Malformed("no status_list"))?;
    let claims = TokenClaims {
        sub: sub.to_owned(),
        iat,
        exp,
        ttl,
    };
    let list = checked_then_inflated(&claims, nbf, uri, at, policy, |max| {
        StatusList::from_json(sl, max)
    })?;
    Ok(VerifiedStatusList {
        list,
        claims,
        signer_anchor,
        form: StatusTokenForm::Jwt,
    })
}

/// What a CWT Status List Token's structure may hold: a handful of header parameters, a
/// certificate chain, the claims. The CBOR reader stops at these, so the tree an attacker's
/// token costs before its signature is checked is a few tens of kilobytes, whatever its size.
const CWT_LIMITS: kmid_cbor::CborLimits = kmid_cbor::CborLimits {
    max_input_bytes: usize::MAX,
    max_depth: 8,
    max_items: 256,
};

fn verify_cwt(
    token: &[u8],
    uri: &str,
    at: OffsetDateTime,
    keys: &TokenKeys,
    policy: &TokenPolicy,
) -> Result<VerifiedStatusList, StatusListError> {
    let item = kmid_cbor::decode(token, &CWT_LIMITS)
        .map_err(|_| StatusListError::Malformed("not a COSE_Sign1_Tagged"))?;
    if !matches!(item.as_tag(), Some((SIGN1_TAG, _))) {
        return Err(StatusListError::Malformed("not a COSE_Sign1_Tagged"));
    }
    let sign1 = CoseSign1::from_item(&item).map_err(|e| match e {
        CoseError::Malformed(what) if what.starts_with("x5chain") => {
            StatusListError::Malformed("x5chain (a bstr, or a non-empty array of bstr)")
        }
        _ => StatusListError::Malformed("not a COSE_Sign1_Tagged"),
    })?;
    drop(item);
    if sign1.protected.header.typ.as_deref() != Some(CWT_TYP) {
        return Err(StatusListError::WrongType(CWT_TYP));
    }
    let alg = sign1
        .algorithm(&policy.allowed_algorithms)
        .map_err(|f| match f {
            CoseFailure::Critical => {
                StatusListError::Malformed("unsupported critical header parameters")
            }
            CoseFailure::Algorithm(refusal) => StatusListError::Algorithm(refusal),
            CoseFailure::BadSignature | CoseFailure::Payload => StatusListError::BadSignature,
            CoseFailure::Crypto(e) => StatusListError::Crypto(e),
        })?;
    let payload = sign1
        .payload
        .as_deref()
        .ok_or(StatusListError::Malformed("no payload"))?;
    let kid = sign1
        .protected
        .header
        .kid
        .as_deref()
        .or(sign1.unprotected.kid.as_deref())
        .and_then(|k| core::str::from_utf8(k).ok());
    let (candidates, signer_anchor) =
        resolve_key(keys, sign1.x5chain().map(<[Vec<u8>]>::to_vec), kid, at, alg)?;
    let tbs = sig_structure(&sign1.protected.original, b"", payload);
    let ok = candidates.iter().any(|key| {
        policy
            .provider
            .verify(alg, key, &tbs, &sign1.signature)
            .is_ok()
    });
    drop(tbs);
    if !ok {
        return Err(StatusListError::BadSignature);
    }
    let claim_limits = kmid_cbor::CborLimits {
        max_input_bytes: payload.len(),
        max_depth: 8,
        max_items: 256,
    };
    let claims = kmid_cbor::decode(payload, &claim_limits)
        .map_err(|_| StatusListError::Malformed("CWT claims are not CBOR"))?;
    if claims.as_map().is_none() {
        return Err(StatusListError::Malformed("CWT claims are not a map"));
    }
    let get = |k: i64| claims.get_int(k);
    let int = |v: &kmid_cbor::Item<'_>| v.as_i64();
    let sub = get(CWT_SUB)
        .and_then(kmid_cbor::Item::as_text)
        .ok_or(StatusListError::Malformed("no sub (2)"))?;
    let iat = get(CWT_IAT)
        .and_then(int)
        .ok_or(StatusListError::Malformed("no iat (6)"))?;
    let exp = get(CWT_EXP)
        .map(|v| int(v).ok_or(StatusListError::Malformed("exp (4)")))
        .transpose()?;
    let nbf = get(CWT_NBF)
        .map(|v| int(v).ok_or(StatusListError::Malformed("nbf (5)")))
        .transpose()?;
    let ttl = get(CWT_TTL)
        .map(|v| {
            v.as_uint()
                .filter(|t| *t > 0)
                .ok_or(StatusListError::Malformed("ttl (65534)"))
        })
        .transpose()?;
    let sl = get(CWT_STATUS_LIST).ok_or(StatusListError::Malformed("no status_list (65533)"))?;
    let claims = TokenClaims {
        sub: sub.to_owned(),
        iat,
        exp,
        ttl,
    };
    let list = checked_then_inflated(&claims, nbf, uri, at, policy, |max| {
        StatusList::from_cbor_item(sl, max)
    })?;
    Ok(VerifiedStatusList {
        list,
        claims,
        signer_anchor,
        form: StatusTokenForm::Cwt,
    })
}
