//! The backends: the only modules that name a crypto library, each behind the feature of its
//! name (`aws-lc`, the default, and `openssl`), as rustls ships its `aws_lc_rs` and `ring`
//! providers.

#[cfg(feature = "aws-lc")]
pub(crate) mod aws_lc;
#[cfg(feature = "openssl")]
pub(crate) mod openssl;
mod pool;

#[cfg(not(any(feature = "openssl", feature = "aws-lc")))]
compile_error!("kmid-crypto needs a crypto provider: enable the `openssl` or the `aws-lc` feature");

use crate::algorithm::Algorithm;
use crate::digest::HashAlgorithm;
use crate::error::{AlgorithmRefusal, CryptoError};
use crate::key::PublicKey;

/// What every provider checks before it verifies: the algorithm is the key's, and the raw
/// signature has the algorithm's length.
fn check_signature_shape(
    algorithm: Algorithm,
    key: &PublicKey,
    signature: &[u8],
) -> Result<(), CryptoError> {
    if key.algorithm() != algorithm {
        return Err(CryptoError::UnsupportedAlgorithm(
            AlgorithmRefusal::KeyMismatch {
                algorithm,
                curve: key.curve(),
            },
        ));
    }
    let expected = algorithm.signature_len();
    if signature.len() == expected {
        Ok(())
    } else {
        Err(CryptoError::MalformedSignature {
            expected,
            actual: signature.len(),
        })
    }
}

/// The hash a prehashed ECDSA signature takes, once `digest` is checked to be its length.
fn check_prehashed(algorithm: Algorithm, digest: &[u8]) -> Result<HashAlgorithm, CryptoError> {
    let hash = algorithm
        .prehash()
        .ok_or_else(|| CryptoError::Signer("Ed25519 does not sign prehashed digests".into()))?;
    if digest.len() == hash.output_len() {
        Ok(hash)
    } else {
        Err(CryptoError::Signer(format!(
            "a {algorithm} digest is {} bytes, not {}",
            hash.output_len(),
            digest.len()
        )))
    }
}
