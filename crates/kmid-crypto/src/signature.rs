//! Signing through a [`Signer`] (so the key may live in an HSM) and verification through a
//! [`SignatureVerifier`]. Signatures are raw: `r ‖ s` for ECDSA, as JWS (RFC 7518 §3.4) and
//! COSE (RFC 9053 §2.1) both carry them, and the 64 bytes of Ed25519.

use openssl::bn::BigNum;
use openssl::ecdsa::EcdsaSig;

use crate::algorithm::Algorithm;
use crate::digest::HashAlgorithm;
use crate::error::{AlgorithmRefusal, CryptoError};
use crate::key::{PrivateKey, PublicKey};

/// Something that signs with one key: a [`PrivateKey`] in memory, or a handle to a key held in
/// an HSM or a remote signing service. No API of this workspace needs a private key in memory.
pub trait Signer: Send + Sync {
    /// The algorithm this signer signs with.
    fn algorithm(&self) -> Algorithm;

    /// The public key matching the signing key.
    fn public_key(&self) -> &PublicKey;

    /// Signs `message` (the whole message; the signer hashes it as the algorithm requires) and
    /// returns the raw signature of [`Algorithm::signature_len`] bytes.
    ///
    /// # Errors
    /// Whatever the signer reports, typically [`CryptoError::Signer`].
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError>;

    /// Whether [`Self::sign_prehashed`] works. With it, a large message (a Status List Token
    /// of megabytes) can be hashed as it is written out and never held whole in memory. An HSM
    /// signing a digest (PKCS #11 `CKM_ECDSA`) can; Ed25519 cannot. By default, `false`.
    fn signs_prehashed(&self) -> bool {
        false
    }

    /// Signs `digest`, the message already hashed with the algorithm's hash
    /// ([`Algorithm::prehash`]), and returns the raw signature as [`Self::sign`] would.
    ///
    /// # Errors
    /// [`CryptoError::Signer`] when unsupported (the default) or the digest has the wrong
    /// length; whatever the signer reports.
    fn sign_prehashed(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let _ = digest;
        Err(CryptoError::Signer(
            "this signer does not sign prehashed digests".into(),
        ))
    }
}

impl<S: Signer + ?Sized> Signer for &S {
    fn algorithm(&self) -> Algorithm {
        (**self).algorithm()
    }
    fn public_key(&self) -> &PublicKey {
        (**self).public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        (**self).sign(message)
    }
    fn signs_prehashed(&self) -> bool {
        (**self).signs_prehashed()
    }
    fn sign_prehashed(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        (**self).sign_prehashed(digest)
    }
}

/// Verifies raw signatures. [`DefaultVerifier`] is the OpenSSL implementation.
pub trait SignatureVerifier: Send + Sync {
    /// Checks `signature` over `message` by `key` with `algorithm`; the algorithm must be the
    /// key's (a P-256 key verifies only ES256).
    ///
    /// # Errors
    /// [`CryptoError::UnsupportedAlgorithm`], [`CryptoError::MalformedSignature`] or
    /// [`CryptoError::BadSignature`].
    fn verify(
        &self,
        algorithm: Algorithm,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError>;
}

/// Signature verification by OpenSSL, with the low-level ECDSA path.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultVerifier;

impl SignatureVerifier for DefaultVerifier {
    fn verify(
        &self,
        algorithm: Algorithm,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        verify_with_openssl(key, algorithm, message, signature)
    }
}

/// The message digest ECDSA signs for `algorithm`, on OpenSSL's low-level SHA-2 contexts
/// (no EVP fetch per signature; see [`crate::Hasher`]).
fn digest_for(algorithm: Algorithm, message: &[u8]) -> Vec<u8> {
    let hash = algorithm.prehash().unwrap_or(HashAlgorithm::Sha256);
    let mut hasher = hash.hasher();
    hasher.update(message);
    hasher.finish()
}

pub(crate) fn verify_with_openssl(
    key: &PublicKey,
    algorithm: Algorithm,
    message: &[u8],
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
    if signature.len() != expected {
        return Err(CryptoError::MalformedSignature {
            expected,
            actual: signature.len(),
        });
    }
    let ok = match &key.ec {
        Some(ec) => {
            let (r, s) = signature.split_at(expected / 2);
            let sig =
                EcdsaSig::from_private_components(BigNum::from_slice(r)?, BigNum::from_slice(s)?)?;
            let digest = digest_for(algorithm, message);
            // An error here means a malformed (r, s), which is a failed verification.
            sig.verify(&digest, ec).unwrap_or(false)
        }
        None => {
            let mut verifier = openssl::sign::Verifier::new_without_digest(&key.pkey)?;
            verifier.verify_oneshot(signature, message).unwrap_or(false)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(CryptoError::BadSignature)
    }
}

impl Signer for PrivateKey {
    fn algorithm(&self) -> Algorithm {
        self.curve().algorithm()
    }

    fn public_key(&self) -> &PublicKey {
        PrivateKey::public_key(self)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if self.ec.is_some() {
            self.sign_prehashed(&digest_for(self.curve().algorithm(), message))
        } else {
            let mut signer = openssl::sign::Signer::new_without_digest(&self.pkey)?;
            Ok(signer.sign_oneshot_to_vec(message)?)
        }
    }

    fn signs_prehashed(&self) -> bool {
        self.ec.is_some()
    }

    fn sign_prehashed(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let algorithm = self.curve().algorithm();
        let (Some(ec), Some(hash)) = (&self.ec, algorithm.prehash()) else {
            return Err(CryptoError::Signer(
                "Ed25519 does not sign prehashed digests".into(),
            ));
        };
        if digest.len() != hash.output_len() {
            return Err(CryptoError::Signer(format!(
                "a {algorithm} digest is {} bytes, not {}",
                hash.output_len(),
                digest.len()
            )));
        }
        let sig = EcdsaSig::sign(digest, ec)?;
        let half = i32::try_from(algorithm.signature_len() / 2)
            .map_err(|_| CryptoError::Signer("signature length".into()))?;
        let mut out = sig.r().to_vec_padded(half)?;
        out.extend_from_slice(&sig.s().to_vec_padded(half)?);
        Ok(out)
    }
}

/// Converts a raw `r ‖ s` ECDSA signature to the DER `ECDSA-Sig-Value` that X.509 carries.
pub(crate) fn raw_ecdsa_to_der(raw: &[u8]) -> Vec<u8> {
    use crate::x509::der;
    let (r, s) = raw.split_at(raw.len() / 2);
    let mut body = der::encode_unsigned_integer(r);
    body.extend(der::encode_unsigned_integer(s));
    der::encode(der::tag::SEQUENCE, &body)
}
