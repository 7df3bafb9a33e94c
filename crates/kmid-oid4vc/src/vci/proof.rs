//! Key proofs of the Credential Request (OpenID4VCI 1.0 Appendix F) and key attestations
//! (Appendix D) as HAIP 1.0 §4.5.1 profiles them.
//!
//! - `jwt` proof type: `typ` `openid4vci-proof+jwt`, an accepted asymmetric `alg`, the key in
//!   `jwk` (or, with a `key_attestation` header, in `jwk` or as `kid` naming the index of an
//!   attested key, as the specification's example does), `aud` the Credential Issuer
//!   Identifier, `iss` when present the client's `client_id` (OPTIONAL in Appendix F.1; it
//!   must be absent after anonymous pre-authorized access),
//!   `iat` within five minutes, and the `nonce` handed back for the caller to check against
//!   the Nonce Endpoint and spend. With a key attestation the proof's key must be one of its
//!   `attested_keys`, and every attested key gets a credential.
//! - `attestation` proof type: a key attestation alone, its `nonce` the `c_nonce`.
//! - Key attestations: `typ` `key-attestation+jwt`, signed by a certificate in `x5c` under the
//!   wallet-provider anchors (no anchor inside, not self-signed), `iat` not ahead, `exp` not
//!   past (required with the `jwt` proof type), 1–[`MAX_ATTESTED_KEYS`] public keys from one
//!   key storage component, and the `key_storage` / `user_authentication` levels the issuer's
//!   `key_attestations_required` asks for.
//!
//! Keys attested together are one secure area of one phone: the issuer keys its one-phone rule
//! on the attestation, not on the keys.

use kmid_crypto::jose::CompactJws;
use kmid_crypto::x509::{Certificate, KeyPurpose, TrustStore};
use kmid_crypto::{Algorithm, CryptoProvider, Jwk, PublicKey};
use serde_json::{Map, Value};
use time::{Duration, OffsetDateTime};

use super::metadata::ProofTypeMetadata;
use super::{ProofRefusal, VciError};
use crate::x5c::X5cError;

/// The `typ` of a `jwt` key proof.
pub const PROOF_TYP: &str = "openid4vci-proof+jwt";
/// The `typ` of a key attestation.
pub const KEY_ATTESTATION_TYP: &str = "key-attestation+jwt";
/// The largest proof accepted (a key attestation with its `x5c` inside the header fits).
pub const MAX_PROOF_BYTES: usize = 32 * 1024;
/// The most keys one attestation may attest.
pub const MAX_ATTESTED_KEYS: usize = 64;
/// How far a proof's `iat` may be from the issuer's clock.
pub const PROOF_WINDOW: Duration = Duration::minutes(5);

fn refuse(r: ProofRefusal) -> VciError {
    VciError::InvalidProof(r)
}

/// What a proof is checked against.
#[derive(Debug, Clone, Copy)]
pub struct ProofCheck<'a> {
    /// The provider every signature goes through.
    pub provider: &'a CryptoProvider,
    /// The Credential Issuer Identifier (`aud`).
    pub credential_issuer: &'a str,
    /// The client's `client_id` (the proof's `iss`), or `None` after anonymous pre-authorized
    /// access, when `iss` must be absent.
    pub client_id: Option<&'a str>,
    /// The proof type's metadata: the accepted algorithms and `key_attestations_required`.
    pub metadata: &'a ProofTypeMetadata,
    /// The wallet-provider anchors key attestations must chain to.
    pub attestation_trust: &'a TrustStore,
    /// Whether every proof (and key attestation) must carry a `nonce`: the issuer has a
    /// Nonce Endpoint (Appendix F.1: it MUST be present then).
    pub nonce_required: bool,
    /// The issuer's time.
    pub at: OffsetDateTime,
}

impl ProofCheck<'_> {
    fn algorithms(&self) -> Vec<Algorithm> {
        self.metadata
            .proof_signing_alg_values_supported
            .iter()
            .filter_map(|name| Algorithm::from_jose_name(name).ok())
            .collect()
    }
}

/// A verified key attestation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttestation {
    /// Its `iss`, when given.
    pub issuer: Option<String>,
    /// The attested keys, in order.
    pub attested_keys: Vec<PublicKey>,
    /// `key_storage`.
    pub key_storage: Vec<String>,
    /// `user_authentication`.
    pub user_authentication: Vec<String>,
    /// `nonce`, for the caller to check as a `c_nonce`.
    pub nonce: Option<String>,
    /// `exp`.
    pub expires: Option<OffsetDateTime>,
    /// The certificate that signed it (the wallet provider's or the secure area's).
    pub certificate: Certificate,
}

/// The keys a proof (or a batch of them) proves, and the nonces it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvenKeys {
    /// The keys to issue to, one credential each.
    pub keys: Vec<PublicKey>,
    /// Every `nonce` the proofs and attestations carried: each must be a live `c_nonce`, and
    /// is spent when the credentials are issued.
    pub nonces: Vec<String>,
    /// The key attestation, when there was one.
    pub attestation: Option<KeyAttestation>,
}

fn time_claim(claims: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, VciError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or(refuse(ProofRefusal::Malformed(name))),
    }
}

fn strings(claims: &Map<String, Value>, name: &'static str) -> Result<Vec<String>, VciError> {
    match claims.get(name) {
        None => Ok(Vec::new()),
        Some(Value::Array(items)) if !items.is_empty() && items.len() <= 16 => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or(refuse(ProofRefusal::Malformed(name)))
            })
            .collect(),
        Some(_) => Err(refuse(ProofRefusal::Malformed(name))),
    }
}

fn public_jwk(value: &Value) -> Result<PublicKey, VciError> {
    let jwk: Jwk = serde_json::from_value(value.clone())
        .map_err(|_| refuse(ProofRefusal::Key("not a JWK")))?;
    if jwk.d.is_some() {
        return Err(refuse(ProofRefusal::Key("a private key")));
    }
    jwk.to_public_key()
        .map_err(|_| refuse(ProofRefusal::Key("unusable")))
}

/// Verifies a key attestation (Appendix D, HAIP 1.0 §4.5.1). `with_jwt_proof`: it travels in
/// a `jwt` proof's header, and `exp` is then required.
///
/// # Errors
/// [`VciError::InvalidProof`].
pub fn verify_key_attestation(
    jwt: &str,
    check: &ProofCheck<'_>,
    with_jwt_proof: bool,
) -> Result<KeyAttestation, VciError> {
    if jwt.len() > MAX_PROOF_BYTES {
        return Err(refuse(ProofRefusal::Malformed("larger than 32 KiB")));
    }
    let jws = CompactJws::parse(jwt).map_err(|_| refuse(ProofRefusal::Malformed("not a JWS")))?;
    if !jws.typ_is(KEY_ATTESTATION_TYP) {
        return Err(refuse(ProofRefusal::Type));
    }
    let alg = jws
        .algorithm(&check.algorithms())
        .map_err(|_| refuse(ProofRefusal::Algorithm))?;
    let chain = crate::x5c::authenticate(
        &jws.header,
        check.attestation_trust,
        check.at,
        KeyPurpose::JwtSigner,
    )
    .map_err(|e| {
        refuse(ProofRefusal::AttestationSigner(match e {
            X5cError::Missing => "no x5c",
            X5cError::Malformed => "x5c malformed",
            X5cError::Certificate(_) => "not under the wallet-provider anchors",
            X5cError::AnchorInChain => "the anchor is inside x5c",
            X5cError::SelfSigned => "self-signed",
        }))
    })?;
    jws.verify(
        chain.leaf.public_key(),
        alg,
        check.provider.signature_verifier,
    )
    .map_err(|_| refuse(ProofRefusal::Signature))?;
    let claims = jws
        .payload_object()
        .map_err(|_| refuse(ProofRefusal::Malformed("payload")))?;
    let now = check.at.unix_timestamp();
    let iat = time_claim(&claims, "iat")?.ok_or(refuse(ProofRefusal::Malformed("iat")))?;
    if iat > now + PROOF_WINDOW.whole_seconds() {
        return Err(refuse(ProofRefusal::Time));
    }
    let exp = time_claim(&claims, "exp")?;
    match exp {
        Some(exp) if exp <= now => return Err(refuse(ProofRefusal::Time)),
        None if with_jwt_proof => return Err(refuse(ProofRefusal::Malformed("exp"))),
        _ => {}
    }
    let attested_keys = match claims.get("attested_keys") {
        Some(Value::Array(keys)) if !keys.is_empty() && keys.len() <= MAX_ATTESTED_KEYS => {
            keys.iter().map(public_jwk).collect::<Result<Vec<_>, _>>()?
        }
        Some(Value::Array(keys)) if keys.len() > MAX_ATTESTED_KEYS => {
            return Err(refuse(ProofRefusal::Malformed("too many attested_keys")));
        }
        _ => return Err(refuse(ProofRefusal::Malformed("attested_keys"))),
    };
    if check.nonce_required && !claims.get("nonce").is_some_and(Value::is_string) {
        return Err(refuse(ProofRefusal::Malformed("nonce")));
    }
    let attestation = KeyAttestation {
        issuer: claims.get("iss").and_then(Value::as_str).map(str::to_owned),
        attested_keys,
        key_storage: strings(&claims, "key_storage")?,
        user_authentication: strings(&claims, "user_authentication")?,
        nonce: claims
            .get("nonce")
            .and_then(Value::as_str)
            .map(str::to_owned),
        expires: exp.and_then(|e| OffsetDateTime::from_unix_timestamp(e).ok()),
        certificate: chain.leaf,
    };
    if let Some(required) = &check.metadata.key_attestations_required {
        let meets = |accepted: &Option<Vec<String>>, given: &[String]| {
            accepted
                .as_ref()
                .is_none_or(|a| given.iter().any(|g| a.contains(g)))
        };
        if !meets(&required.key_storage, &attestation.key_storage) {
            return Err(refuse(ProofRefusal::Requirements("key_storage")));
        }
        if !meets(
            &required.user_authentication,
            &attestation.user_authentication,
        ) {
            return Err(refuse(ProofRefusal::Requirements("user_authentication")));
        }
    }
    Ok(attestation)
}

/// Verifies one `jwt` key proof.
///
/// # Errors
/// [`VciError::InvalidProof`].
pub fn verify_jwt_proof(proof: &str, check: &ProofCheck<'_>) -> Result<ProvenKeys, VciError> {
    if proof.len() > MAX_PROOF_BYTES {
        return Err(refuse(ProofRefusal::Malformed("larger than 32 KiB")));
    }
    let jws = CompactJws::parse(proof).map_err(|_| refuse(ProofRefusal::Malformed("not a JWS")))?;
    if !jws.typ_is(PROOF_TYP) {
        return Err(refuse(ProofRefusal::Type));
    }
    let alg = jws
        .algorithm(&check.algorithms())
        .map_err(|_| refuse(ProofRefusal::Algorithm))?;
    let attestation = match jws.header.get("key_attestation") {
        Some(Value::String(jwt)) => Some(verify_key_attestation(jwt, check, true)?),
        Some(_) => return Err(refuse(ProofRefusal::Malformed("key_attestation"))),
        None if check.metadata.key_attestations_required.is_some() => {
            return Err(refuse(ProofRefusal::Requirements("a key attestation")));
        }
        None => None,
    };
    let members = ["jwk", "kid", "x5c", "trust_chain"]
        .iter()
        .filter(|m| jws.header.contains_key(**m))
        .count();
    if members != 1 {
        return Err(refuse(ProofRefusal::Key("exactly one of jwk, kid, x5c")));
    }
    let key = match (jws.header.get("jwk"), jws.header.get("kid"), &attestation) {
        (Some(jwk), _, _) => public_jwk(jwk)?,
        // With a key attestation, `kid` names an attested key by its index.
        (None, Some(Value::String(kid)), Some(att)) => kid
            .parse::<usize>()
            .ok()
            .and_then(|i| att.attested_keys.get(i))
            .cloned()
            .ok_or(refuse(ProofRefusal::Key("kid names no attested key")))?,
        (None, Some(_), _) => {
            return Err(refuse(ProofRefusal::Key(
                "kid without a key attestation (DIDs are not resolved)",
            )));
        }
        _ => {
            return Err(refuse(ProofRefusal::Key(
                "x5c and trust_chain are not accepted",
            )));
        }
    };
    if let Some(att) = &attestation
        && !att.attested_keys.contains(&key)
    {
        return Err(refuse(ProofRefusal::NotAttested));
    }
    jws.verify(&key, alg, check.provider.signature_verifier)
        .map_err(|_| refuse(ProofRefusal::Signature))?;
    let claims = jws
        .payload_object()
        .map_err(|_| refuse(ProofRefusal::Malformed("payload")))?;
    if claims.get("aud").and_then(Value::as_str) != Some(check.credential_issuer) {
        return Err(refuse(ProofRefusal::Audience));
    }
    let iss = claims.get("iss");
    let iss_ok = match (check.client_id, iss) {
        // Appendix F.1: `iss` is OPTIONAL, and when present the client's `client_id` (the
        // `@openid4vc/openid4vci` client omits it; refusing that broke interop).
        (Some(client), Some(Value::String(iss))) => iss == client,
        (Some(_), None) | (None, None) => true,
        _ => false,
    };
    if !iss_ok {
        return Err(refuse(ProofRefusal::Issuer));
    }
    let iat = time_claim(&claims, "iat")?.ok_or(refuse(ProofRefusal::Malformed("iat")))?;
    if iat.abs_diff(check.at.unix_timestamp()) > PROOF_WINDOW.whole_seconds().unsigned_abs() {
        return Err(refuse(ProofRefusal::Time));
    }
    let mut nonces = Vec::new();
    match claims.get("nonce") {
        Some(Value::String(n)) => nonces.push(n.clone()),
        None if !check.nonce_required => {}
        _ => return Err(refuse(ProofRefusal::Malformed("nonce"))),
    }
    let keys = match &attestation {
        Some(att) => {
            if let Some(n) = &att.nonce
                && !nonces.contains(n)
            {
                nonces.push(n.clone());
            }
            att.attested_keys.clone()
        }
        None => vec![key],
    };
    Ok(ProvenKeys {
        keys,
        nonces,
        attestation,
    })
}

/// Verifies an `attestation` proof: a key attestation alone, each attested key to be issued
/// to.
///
/// # Errors
/// [`VciError::InvalidProof`].
pub fn verify_attestation_proof(jwt: &str, check: &ProofCheck<'_>) -> Result<ProvenKeys, VciError> {
    let attestation = verify_key_attestation(jwt, check, false)?;
    Ok(ProvenKeys {
        keys: attestation.attested_keys.clone(),
        nonces: attestation.nonce.iter().cloned().collect(),
        attestation: Some(attestation),
    })
}

/// The `proofs` of a Credential Request (§8.2): exactly one proof type, `jwt` with 1 or more
/// proofs or `attestation` with exactly one, and at most `batch_size` keys in all (1 without
/// batch issuance). Proofs without a key attestation prove one key each; keys proven by
/// several proofs of one request must come from one attestation (or the request is one proof),
/// since nothing else shows the keys share a phone.
///
/// # Errors
/// [`VciError::InvalidProof`]: a proof's refusal, `BatchSize`, or `Malformed` for `proofs`
/// of the wrong shape.
pub fn verify_proofs(
    proofs: &Value,
    check: &ProofCheck<'_>,
    batch_size: Option<u32>,
) -> Result<ProvenKeys, VciError> {
    let max = usize::try_from(batch_size.unwrap_or(1)).unwrap_or(usize::MAX);
    let Some(object) = proofs.as_object() else {
        return Err(refuse(ProofRefusal::Malformed("proofs is not an object")));
    };
    let (kind, list) = match (object.len(), object.iter().next()) {
        (1, Some((kind, Value::Array(list)))) if !list.is_empty() => (kind.as_str(), list),
        _ => {
            return Err(refuse(ProofRefusal::Malformed(
                "proofs holds one proof type with a non-empty array",
            )));
        }
    };
    if list.len() > max {
        return Err(refuse(ProofRefusal::BatchSize));
    }
    let texts: Vec<&str> = list
        .iter()
        .map(|p| {
            p.as_str()
                .ok_or(refuse(ProofRefusal::Malformed("a proof is not a string")))
        })
        .collect::<Result<_, _>>()?;
    let proven = match (kind, texts.as_slice()) {
        ("attestation", [one]) => verify_attestation_proof(one, check)?,
        ("attestation", _) => {
            return Err(refuse(ProofRefusal::Malformed(
                "the attestation proof type holds exactly one attestation",
            )));
        }
        ("jwt", [one]) => verify_jwt_proof(one, check)?,
        ("jwt", many) => {
            let mut all = ProvenKeys {
                keys: Vec::new(),
                nonces: Vec::new(),
                attestation: None,
            };
            for proof in many {
                let one = verify_jwt_proof(proof, check)?;
                // Several proofs bind one batch only through one key attestation.
                match (&all.attestation, one.attestation) {
                    (None, Some(att)) if all.keys.is_empty() => {
                        all.keys.clone_from(&att.attested_keys);
                        all.attestation = Some(att);
                    }
                    (Some(first), Some(att)) if *first == att => {}
                    _ => {
                        return Err(refuse(ProofRefusal::Requirements(
                            "several proofs need one key attestation covering them",
                        )));
                    }
                }
                for n in one.nonces {
                    if !all.nonces.contains(&n) {
                        all.nonces.push(n);
                    }
                }
            }
            all
        }
        // The credential endpoint answers with its own codes (§8.3.1.2): invalid_proof.
        _ => return Err(refuse(ProofRefusal::Malformed("proof type not supported"))),
    };
    if proven.keys.len() > max {
        return Err(refuse(ProofRefusal::BatchSize));
    }
    Ok(proven)
}
