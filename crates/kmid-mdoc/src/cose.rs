//! COSE_Sign1 and COSE_Mac0 as ISO/IEC 18013-5 uses them, on coset, with signing through a
//! [`Signer`] and verification against an allow-list of algorithms.
//!
//! Emitted: protected header `{1: alg}` only; `x5chain` (label 33) in the unprotected header of
//! issuerAuth and readerAuth; an empty unprotected header for deviceSignature and deviceMac.
//! Verified: over the protected header bytes and payload exactly as received.

use coset::iana::{self, EnumI64};
use coset::{
    CborSerializable, CoseMac0, CoseMac0Builder, CoseSign1, CoseSign1Builder, Header,
    HeaderBuilder, RegisteredLabelWithPrivate,
};
use kmid_crypto::x509::Certificate;
use kmid_crypto::{Algorithm, AlgorithmRefusal, CryptoError, PublicKey, SignatureVerifier, Signer};

use crate::error::MdocError;

/// COSE algorithm 5: HMAC with SHA-256, 256-bit tag (RFC 9053 §3.1), for deviceMac.
pub(crate) const HMAC_256_256: i64 = 5;

/// The `alg` of a protected header, as a COSE identifier.
pub(crate) fn protected_alg(header: &Header) -> Option<i64> {
    match header.alg.as_ref()? {
        RegisteredLabelWithPrivate::Assigned(a) => Some(a.to_i64()),
        RegisteredLabelWithPrivate::PrivateUse(n) => Some(*n),
        RegisteredLabelWithPrivate::Text(_) => None,
    }
}

fn alg_header(alg: i64) -> Result<Header, MdocError> {
    let alg =
        iana::Algorithm::from_i64(alg).ok_or(MdocError::InvalidInput("unknown COSE algorithm"))?;
    Ok(HeaderBuilder::new().algorithm(alg).build())
}

/// The unprotected header with `x5chain`: one certificate as a byte string, several as an array.
pub(crate) fn x5chain_header(chain: &[Certificate]) -> Header {
    let value = match chain {
        [one] => ciborium::Value::Bytes(one.der().to_vec()),
        many => ciborium::Value::Array(
            many.iter()
                .map(|c| ciborium::Value::Bytes(c.der().to_vec()))
                .collect(),
        ),
    };
    HeaderBuilder::new().value(33, value).build()
}

/// Signs a COSE_Sign1 through `signer`; `payload` is carried, `detached` is signed but not
/// carried. Returns the structure and its bytes.
pub(crate) fn sign1(
    signer: &dyn Signer,
    unprotected: Header,
    payload: Option<Vec<u8>>,
    detached: Option<&[u8]>,
) -> Result<(CoseSign1, Vec<u8>), MdocError> {
    let builder = CoseSign1Builder::new()
        .protected(alg_header(signer.algorithm().cose_id())?)
        .unprotected(unprotected);
    let sign1 = match (payload, detached) {
        (Some(p), None) => builder
            .payload(p)
            .try_create_signature(b"", |tbs| signer.sign(tbs))?
            .build(),
        (None, Some(d)) => builder
            .try_create_detached_signature(d, b"", |tbs| signer.sign(tbs))?
            .build(),
        _ => {
            return Err(MdocError::InvalidInput(
                "a COSE_Sign1 has exactly one of an attached and a detached payload",
            ));
        }
    };
    let bytes = sign1
        .to_vec()
        .map_err(|_| MdocError::InvalidInput("COSE_Sign1 encoding"))?;
    // Parsed back, so a structure we built equals the same structure received (coset keeps
    // the protected header's original bytes only on parsing).
    let sign1 = CoseSign1::from_slice(&bytes)
        .map_err(|_| MdocError::InvalidInput("COSE_Sign1 encoding"))?;
    Ok((sign1, bytes))
}

/// Verifies a COSE_Sign1 by `key`: the protected `alg` must be allowed and be the key's.
/// `detached` is the payload when the structure carries none.
pub(crate) fn verify_sign1(
    sign1: &CoseSign1,
    key: &PublicKey,
    detached: Option<&[u8]>,
    allowed: &[Algorithm],
    verifier: &dyn SignatureVerifier,
) -> Result<(), Sign1Failure> {
    if !sign1.protected.header.crit.is_empty() {
        return Err(Sign1Failure::Critical);
    }
    let id = protected_alg(&sign1.protected.header)
        .ok_or(Sign1Failure::Algorithm(AlgorithmRefusal::Missing))?;
    let alg = Algorithm::from_cose_id(id)
        .map_err(|_| Sign1Failure::Algorithm(AlgorithmRefusal::UnknownCose(id)))?;
    if !allowed.contains(&alg) {
        return Err(Sign1Failure::Algorithm(AlgorithmRefusal::NotAllowed(alg)));
    }
    if alg != key.algorithm() {
        return Err(Sign1Failure::Algorithm(AlgorithmRefusal::KeyMismatch {
            algorithm: alg,
            curve: key.curve(),
        }));
    }
    let check = |sig: &[u8], data: &[u8]| verifier.verify(alg, key, data, sig);
    let result = match (&sign1.payload, detached) {
        (Some(_), None) => sign1.verify_signature(b"", check),
        (None, Some(d)) => sign1.verify_detached_signature(d, b"", check),
        _ => return Err(Sign1Failure::Payload),
    };
    result.map_err(|e| match e {
        CryptoError::BadSignature | CryptoError::MalformedSignature { .. } => {
            Sign1Failure::BadSignature
        }
        other => Sign1Failure::Crypto(other),
    })
}

/// Why a COSE_Sign1 did not verify; callers map it to their error family.
#[derive(Debug)]
pub(crate) enum Sign1Failure {
    Algorithm(AlgorithmRefusal),
    /// `crit` names parameters this profile does not understand (RFC 9052 §3.1).
    Critical,
    BadSignature,
    Payload,
    Crypto(CryptoError),
}

/// The MAC_structure of a COSE_Mac0 over a detached payload (RFC 9052 §6.3). coset's own
/// tag functions require an attached payload (and panic without one), so this crate builds
/// the structure itself with coset's public `mac_structure_data`.
fn mac_input(protected: &coset::ProtectedHeader, detached: &[u8]) -> Vec<u8> {
    coset::mac_structure_data(
        coset::MacContext::CoseMac0,
        protected.clone(),
        b"",
        detached,
    )
}

/// A COSE_Mac0 with detached payload and HMAC 256/256 under `key`.
pub(crate) fn mac0(key: &[u8], detached: &[u8]) -> Result<(CoseMac0, Vec<u8>), MdocError> {
    let unsigned = CoseMac0Builder::new()
        .protected(alg_header(HMAC_256_256)?)
        .build();
    let tag = kmid_crypto::session::hmac_sha256(key, &mac_input(&unsigned.protected, detached))?;
    let mac0 = CoseMac0 {
        tag: tag.to_vec(),
        ..unsigned
    };
    let bytes = mac0
        .to_vec()
        .map_err(|_| MdocError::InvalidInput("COSE_Mac0 encoding"))?;
    let mac0 =
        CoseMac0::from_slice(&bytes).map_err(|_| MdocError::InvalidInput("COSE_Mac0 encoding"))?;
    Ok((mac0, bytes))
}

/// Checks a COSE_Mac0 over a detached payload: the protected `alg` must be HMAC 256/256 and
/// the tag must match, compared in constant time.
pub(crate) fn verify_mac0(
    mac0: &CoseMac0,
    key: &[u8],
    detached: &[u8],
) -> Result<(), Sign1Failure> {
    if !mac0.protected.header.crit.is_empty() {
        return Err(Sign1Failure::Critical);
    }
    match protected_alg(&mac0.protected.header) {
        Some(HMAC_256_256) => {}
        Some(other) => {
            return Err(Sign1Failure::Algorithm(AlgorithmRefusal::UnknownCose(
                other,
            )));
        }
        None => return Err(Sign1Failure::Algorithm(AlgorithmRefusal::Missing)),
    }
    if mac0.payload.is_some() {
        return Err(Sign1Failure::Payload);
    }
    kmid_crypto::session::hmac_sha256_verify(key, &mac_input(&mac0.protected, detached), &mac0.tag)
        .map_err(|_| Sign1Failure::BadSignature)
}
