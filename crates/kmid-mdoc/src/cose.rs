//! COSE_Sign1 and COSE_Mac0 as ISO/IEC 18013-5 uses them, on the workspace's COSE
//! (`kmid_crypto::cose`, read by the one bounded CBOR reader), with signing through a
//! [`Signer`] and verification against an allow-list of algorithms.
//!
//! Emitted: protected header `{1: alg}` only; `x5chain` (label 33) in the unprotected header of
//! issuerAuth and readerAuth; an empty unprotected header for deviceSignature and deviceMac.
//! Verified: over the protected header bytes and payload exactly as received.

use kmid_crypto::cose::{CoseMac0, CoseSign1, Header, ProtectedHeader, mac_structure};
use kmid_crypto::x509::Certificate;
use kmid_crypto::{
    Algorithm, AlgorithmRefusal, CryptoProvider, PublicKey, SignatureVerifier, Signer,
};

use crate::error::MdocError;

/// Why a COSE_Sign1 or COSE_Mac0 did not verify; callers map it to their error family.
pub(crate) use kmid_crypto::cose::CoseFailure as Sign1Failure;

/// COSE algorithm 5: HMAC with SHA-256, 256-bit tag (RFC 9053 §3.1), for deviceMac.
pub(crate) const HMAC_256_256: i64 = 5;

/// The unprotected header with `x5chain`: one certificate as a byte string, several as an array.
pub(crate) fn x5chain_header(chain: &[Certificate]) -> Header {
    Header::with_x5chain(chain)
}

/// Signs a COSE_Sign1 through `signer`; `payload` is carried, `detached` is signed but not
/// carried. Returns the structure and its bytes.
pub(crate) fn sign1(
    signer: &dyn Signer,
    unprotected: Header,
    payload: Option<Vec<u8>>,
    detached: Option<&[u8]>,
) -> Result<(CoseSign1, Vec<u8>), MdocError> {
    let sign1 = CoseSign1::sign(signer, Header::default(), unprotected, payload, detached)?;
    let bytes = sign1.to_vec();
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
    sign1.verify(key, detached, allowed, verifier).map(|_| ())
}

/// A COSE_Mac0 with detached payload and HMAC 256/256 under `key`.
pub(crate) fn mac0(
    provider: &CryptoProvider,
    key: &[u8],
    detached: &[u8],
) -> Result<(CoseMac0, Vec<u8>), MdocError> {
    let protected = ProtectedHeader::new(Header {
        alg: Some(HMAC_256_256),
        ..Header::default()
    });
    let tag = provider.hmac_sha256(key, &mac_structure(&protected.original, b"", detached))?;
    let mac0 = CoseMac0 {
        protected,
        unprotected: Header::default(),
        payload: None,
        tag: tag.to_vec(),
    };
    let bytes = mac0.to_vec();
    Ok((mac0, bytes))
}

/// Checks a COSE_Mac0 over a detached payload: the protected `alg` must be HMAC 256/256 and
/// the tag must match, compared in constant time.
pub(crate) fn verify_mac0(
    provider: &CryptoProvider,
    mac0: &CoseMac0,
    key: &[u8],
    detached: &[u8],
) -> Result<(), Sign1Failure> {
    if !mac0.protected.header.crit.is_empty() {
        return Err(Sign1Failure::Critical);
    }
    match mac0.protected.header.alg {
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
    provider
        .hmac_sha256_verify(
            key,
            &mac_structure(&mac0.protected.original, b"", detached),
            &mac0.tag,
        )
        .map_err(|_| Sign1Failure::BadSignature)
}
