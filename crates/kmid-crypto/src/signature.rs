//! Signing through a [`Signer`] (so the key may live in an HSM) and verification through a
//! [`SignatureVerifier`]. Signatures are raw: `r ‖ s` for ECDSA, as JWS (RFC 7518 §3.4) and
//! COSE (RFC 9053 §2.1) both carry them, and the 64 bytes of Ed25519.

use crate::algorithm::Algorithm;
use crate::error::CryptoError;
use crate::key::PublicKey;

/// Something that signs with one key: a [`PrivateKey`](crate::PrivateKey) in memory, or a handle to a key held in
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

    /// Whether [`Self::sign`] may wait on something besides this machine's CPU: an HSM, a
    /// remote key service, a lock held elsewhere. A service calls a signer that may off its
    /// asynchronous workers (on a blocking pool); one that may not (a key in this process)
    /// is called where the work is. By default, `true`.
    fn may_block(&self) -> bool {
        true
    }

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

/// Verifies raw signatures. [`DefaultVerifier`] is the default provider's.
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

impl<V: SignatureVerifier + ?Sized> SignatureVerifier for std::sync::Arc<V> {
    fn verify(
        &self,
        algorithm: Algorithm,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        (**self).verify(algorithm, key, message, signature)
    }
}

/// Signature verification by the default provider ([`crate::CryptoProvider::get_default`]).
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
        crate::provider::default()
            .signature_verifier
            .verify(algorithm, key, message, signature)
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
