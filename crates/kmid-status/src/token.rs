//! The Status List Token (draft-ietf-oauth-status-list §5): a status list signed as a JWT
//! (`typ` `statuslist+jwt`) or a CWT (COSE_Sign1_Tagged with `16: application/statuslist+cwt`,
//! claims 2 sub, 6 iat, 4 exp, 65534 ttl, 65533 status_list), signed through a [`Signer`] and
//! verified against a trust store (`x5c`/`x5chain`) or configured keys, at a given time.

use std::io::{Cursor, Write};
use std::sync::Arc;

use ciborium::Value as Cbor;
use coset::iana::{self, EnumI64};
use coset::{CoseSign1, CoseSign1Builder, HeaderBuilder, Label, TaggedCborSerializable};
use kmid_crypto::jose::{B64UrlWriter, CompactJws, JoseError, write_compact};
use kmid_crypto::x509::{Certificate, KeyPurpose, TrustStore, chain_from_x5c, chain_to_x5c};
use kmid_crypto::{
    Algorithm, AlgorithmRefusal, DefaultVerifier, PublicKey, SignatureVerifier, Signer,
};
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
const COSE_TYP: i64 = 16;

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
    write_compact(header, payload, signer.signer, out).map_err(|e| match e {
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
    let mut entries = vec![
        (Cbor::from(CWT_SUB), Cbor::Text(claims.sub.clone())),
        (Cbor::from(CWT_IAT), Cbor::from(claims.iat)),
    ];
    if let Some(exp) = claims.exp {
        entries.push((Cbor::from(CWT_EXP), Cbor::from(exp)));
    }
    if let Some(ttl) = claims.ttl {
        entries.push((Cbor::from(CWT_TTL), Cbor::from(ttl)));
    }
    entries.push((Cbor::from(CWT_STATUS_LIST), list.to_cbor_value()?));
    let mut payload = Vec::new();
    ciborium::into_writer(&Cbor::Map(entries), &mut payload)
        .map_err(|_| StatusListError::Malformed("CWT claims"))?;
    let alg = iana::Algorithm::from_i64(signer.signer.algorithm().cose_id()).ok_or(
        StatusListError::Algorithm(AlgorithmRefusal::UnknownCose(
            signer.signer.algorithm().cose_id(),
        )),
    )?;
    let protected = HeaderBuilder::new()
        .algorithm(alg)
        .value(COSE_TYP, Cbor::Text(CWT_TYP.into()))
        .build();
    let mut unprotected = HeaderBuilder::new();
    if let Some(kid) = signer.kid {
        unprotected = unprotected.key_id(kid.as_bytes().to_vec());
    }
    match signer.chain {
        [] => {}
        [one] => unprotected = unprotected.value(33, Cbor::Bytes(one.der().to_vec())),
        many => {
            unprotected = unprotected.value(
                33,
                Cbor::Array(many.iter().map(|c| Cbor::Bytes(c.der().to_vec())).collect()),
            )
        }
    }
    CoseSign1Builder::new()
        .protected(protected)
        .unprotected(unprotected.build())
        .payload(payload)
        .try_create_signature(b"", |tbs| signer.signer.sign(tbs))?
        .build()
        .to_tagged_vec()
        .map_err(|_| StatusListError::Malformed("COSE_Sign1 encoding"))
}

/// Where the keys that sign Status List Tokens come from.
#[derive(Debug, Clone)]
pub enum TokenKeys {
    /// From `x5c`/`x5chain`, validated to these roots for Document Signer use.
    X5c(TrustStore),
    /// Configured keys; the first that verifies is used.
    Keys(Vec<PublicKey>),
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
    /// The signature verification backend.
    pub signature_verifier: Arc<dyn SignatureVerifier>,
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
            signature_verifier: Arc::new(DefaultVerifier),
        }
    }
}

/// A verified Status List Token.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    at: OffsetDateTime,
    alg: Algorithm,
) -> Result<Candidates, StatusListError> {
    match keys {
        TokenKeys::X5c(trust) => {
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
            let anchor = trust
                .roots()
                .get(validated.root_index)
                .map(|r| r.der().to_vec());
            Ok((vec![validated.leaf_key], anchor))
        }
        TokenKeys::Keys(keys) => Ok((
            keys.iter()
                .filter(|k| k.algorithm() == alg)
                .cloned()
                .collect(),
            None,
        )),
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
        (Some(Value::Array(items)), TokenKeys::X5c(trust)) => {
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
            let entries: Vec<String> = items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_owned))
                .collect();
            Some(
                chain_from_x5c(&entries)
                    .map_err(StatusListError::Signer)?
                    .iter()
                    .map(|c| c.der().to_vec())
                    .collect(),
            )
        }
        _ => None,
    };
    let (candidates, signer_anchor) = resolve_key(keys, chain, at, alg)?;
    if !candidates
        .iter()
        .any(|k| jws.verify(k, alg, &policy.signature_verifier).is_ok())
    {
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

fn cbor_int(v: &Cbor) -> Option<i64> {
    v.as_integer().and_then(|i| i64::try_from(i).ok())
}

fn verify_cwt(
    token: &[u8],
    uri: &str,
    at: OffsetDateTime,
    keys: &TokenKeys,
    policy: &TokenPolicy,
) -> Result<VerifiedStatusList, StatusListError> {
    let sign1 = CoseSign1::from_tagged_slice(token)
        .map_err(|_| StatusListError::Malformed("not a COSE_Sign1_Tagged"))?;
    let typ = sign1
        .protected
        .header
        .rest
        .iter()
        .find(|(l, _)| *l == Label::Int(COSE_TYP))
        .map(|(_, v)| v);
    if typ.and_then(Cbor::as_text) != Some(CWT_TYP) {
        return Err(StatusListError::WrongType(CWT_TYP));
    }
    if !sign1.protected.header.crit.is_empty() {
        return Err(StatusListError::Malformed(
            "unsupported critical header parameters",
        ));
    }
    let alg_id = match &sign1.protected.header.alg {
        Some(coset::RegisteredLabelWithPrivate::Assigned(a)) => a.to_i64(),
        Some(coset::RegisteredLabelWithPrivate::PrivateUse(id)) => {
            return Err(StatusListError::Algorithm(AlgorithmRefusal::UnknownCose(
                *id,
            )));
        }
        _ => return Err(StatusListError::Algorithm(AlgorithmRefusal::Missing)),
    };
    let alg = Algorithm::from_cose_id(alg_id)
        .map_err(|_| StatusListError::Algorithm(AlgorithmRefusal::UnknownCose(alg_id)))?;
    if !policy.allowed_algorithms.contains(&alg) {
        return Err(StatusListError::Algorithm(AlgorithmRefusal::NotAllowed(
            alg,
        )));
    }
    let find = |rest: &[(Label, Cbor)]| {
        rest.iter()
            .find(|(l, _)| *l == Label::Int(33))
            .map(|(_, v)| v.clone())
    };
    let chain = find(&sign1.protected.header.rest)
        .or_else(|| find(&sign1.unprotected.rest))
        .map(|v| match v {
            Cbor::Bytes(b) => vec![b],
            Cbor::Array(items) => items
                .into_iter()
                .filter_map(|i| i.into_bytes().ok())
                .collect(),
            _ => Vec::new(),
        });
    let (candidates, signer_anchor) = resolve_key(keys, chain, at, alg)?;
    let ok = candidates.iter().any(|key| {
        sign1
            .verify_signature(b"", |sig, data| {
                policy.signature_verifier.verify(alg, key, data, sig)
            })
            .is_ok()
    });
    if !ok {
        return Err(StatusListError::BadSignature);
    }
    let payload = sign1
        .payload
        .as_deref()
        .ok_or(StatusListError::Malformed("no payload"))?;
    let mut cursor = Cursor::new(payload);
    let claims: Cbor = ciborium::de::from_reader_with_recursion_limit(&mut cursor, 16)
        .map_err(|_| StatusListError::Malformed("CWT claims are not CBOR"))?;
    if usize::try_from(cursor.position()).ok() != Some(payload.len()) {
        return Err(StatusListError::Malformed("bytes after the CWT claims"));
    }
    let map = claims
        .as_map()
        .ok_or(StatusListError::Malformed("CWT claims are not a map"))?;
    let get = |k: i64| {
        map.iter()
            .find(|(key, _)| cbor_int(key) == Some(k))
            .map(|(_, v)| v)
    };
    let sub = get(CWT_SUB)
        .and_then(Cbor::as_text)
        .ok_or(StatusListError::Malformed("no sub (2)"))?;
    let iat = get(CWT_IAT)
        .and_then(cbor_int)
        .ok_or(StatusListError::Malformed("no iat (6)"))?;
    let exp = get(CWT_EXP)
        .map(|v| cbor_int(v).ok_or(StatusListError::Malformed("exp (4)")))
        .transpose()?;
    let nbf = get(CWT_NBF)
        .map(|v| cbor_int(v).ok_or(StatusListError::Malformed("nbf (5)")))
        .transpose()?;
    let ttl = get(CWT_TTL)
        .map(|v| {
            cbor_int(v)
                .and_then(|t| u64::try_from(t).ok())
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
        StatusList::from_cbor_value(sl, max)
    })?;
    Ok(VerifiedStatusList {
        list,
        claims,
        signer_anchor,
        form: StatusTokenForm::Cwt,
    })
}
