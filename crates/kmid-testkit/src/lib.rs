//! # kmid-testkit
//!
//! Deterministic material for kmid's tests, conformance vectors and demo. **Never use any of
//! it in production**: every private key here is derived from a public seed.
//!
//! - [`SeededRandom`]: a [`Random`] whose output is a pure function of its seed.
//! - [`Rfc6979Signer`]: ECDSA P-256 with deterministic nonces (RFC 6979), through the
//!   [`Signer`] trait, so signatures — and so certificates and credentials — come out the same
//!   on every run. It is also a signer implemented outside `kmid-crypto`, which is the HSM seam.
//! - [`test_key`]: a P-256 key derived from a name.
//! - [`samples`]: fictional people, one or more per card type, with synthetic portraits.
//! - [`TestPki`]: an IACA and a Document Signer for each of the three issuing authorities, a
//!   reader root and a reader certificate, all at fixed times.
//!
//! ```
//! use kmid_crypto::x509::KeyPurpose;
//! use kmid_testkit::{Authority, TestPki};
//!
//! let pki = TestPki::new();
//! let mois = pki.issuer(Authority::Mois);
//! let chain = pki.trust_store().validate(&[mois.ds.clone()], kmid_testkit::REFERENCE_TIME, KeyPurpose::DocumentSigner)?;
//! assert_eq!(&chain.leaf_key, mois.ds.public_key());
//! // Deterministic: the same PKI on every run.
//! assert_eq!(TestPki::new().issuer(Authority::Mois).ds.der(), mois.ds.der());
//! # Ok::<(), kmid_crypto::CryptoError>(())
//! ```

// Test material: derivation from fixed seeds cannot fail except through a bug here.
#![allow(clippy::expect_used)]

pub mod pg;
mod pki;
pub mod samples;

use std::sync::Mutex;

use kmid_crypto::digest::sha256;
use kmid_crypto::{Algorithm, CryptoError, Curve, PrivateKey, PublicKey, Random, Signer};
use p256::ecdsa::signature::Signer as _;

pub use pki::{Authority, IssuerPki, REFERENCE_TIME, TestPki};

/// Randomness that is a pure function of a seed: the concatenation of
/// `SHA-256(seed ‖ counter)` for counter = 0, 1, 2 … (64-bit big-endian).
pub struct SeededRandom {
    seed: Vec<u8>,
    state: Mutex<(u64, Vec<u8>)>,
}

impl SeededRandom {
    /// A stream for `seed`.
    #[must_use]
    pub fn new(seed: &[u8]) -> Self {
        Self {
            seed: seed.to_vec(),
            state: Mutex::new((0, Vec::new())),
        }
    }
}

impl core::fmt::Debug for SeededRandom {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SeededRandom({:?})", String::from_utf8_lossy(&self.seed))
    }
}

impl Random for SeededRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| CryptoError::Signer("seeded random poisoned".into()))?;
        let (counter, pool) = &mut *state;
        while pool.len() < buf.len() {
            let mut input = self.seed.clone();
            input.extend_from_slice(&counter.to_be_bytes());
            pool.extend_from_slice(&sha256(&input)?);
            *counter = counter.wrapping_add(1);
        }
        let rest = pool.split_off(buf.len());
        buf.copy_from_slice(pool);
        *pool = rest;
        Ok(())
    }
}

/// The P-256 test key named `name`: its scalar is `SHA-256("kmid test key v1: " ‖ name)`
/// (hashed again in the negligible case that it is not below the group order).
#[must_use]
pub fn test_key(name: &str) -> PrivateKey {
    let mut d = sha256(format!("kmid test key v1: {name}").as_bytes()).expect("SHA-256");
    loop {
        match PrivateKey::from_scalar(Curve::P256, &d) {
            Ok(key) => return key,
            Err(_) => d = sha256(&d).expect("SHA-256"),
        }
    }
}

/// ECDSA P-256 with SHA-256 and RFC 6979 deterministic nonces, by the RustCrypto `p256`
/// crate. Verifiable by any ES256 verifier; the same key and message always give the same
/// signature.
pub struct Rfc6979Signer {
    key: p256::ecdsa::SigningKey,
    public: PublicKey,
}

impl Rfc6979Signer {
    /// A signer for a P-256 private key.
    ///
    /// # Errors
    /// [`CryptoError::InvalidKey`] when the key is not on P-256.
    pub fn new(private: &PrivateKey) -> Result<Self, CryptoError> {
        if private.curve() != Curve::P256 {
            return Err(CryptoError::UnsupportedAlgorithm(
                kmid_crypto::AlgorithmRefusal::NotAllowed(private.curve().algorithm()),
            ));
        }
        let scalar = private.scalar()?;
        let key = p256::ecdsa::SigningKey::from_slice(&scalar)
            .map_err(|_| CryptoError::Signer("p256 rejected the scalar".into()))?;
        Ok(Self {
            key,
            public: private.public_key().clone(),
        })
    }

    /// The signer of [`test_key`]`(name)`.
    #[must_use]
    pub fn for_test_key(name: &str) -> Self {
        Self::new(&test_key(name)).expect("P-256 test key")
    }
}

impl core::fmt::Debug for Rfc6979Signer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Rfc6979Signer({:?})", self.public)
    }
}

impl Signer for Rfc6979Signer {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Es256
    }

    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let signature: p256::ecdsa::Signature = self.key.sign(message);
        Ok(signature.to_bytes().to_vec())
    }
}

/// The names of every test key, as [`test_key`] takes them: the issuers' IACA and Document
/// Signer keys, the reader root and reader, and the holders' device keys of the sample people.
pub const TEST_KEY_NAMES: &[&str] = &[
    "mois-iaca",
    "mois-ds",
    "moj-iaca",
    "moj-ds",
    "oka-iaca",
    "oka-ds",
    "reader-root",
    "reader",
    "holder-resident",
    "holder-resident-minor",
    "holder-foreigner",
    "holder-permanent-resident",
    "holder-overseas-national",
];

#[cfg(test)]
mod tests {
    use super::*;
    use kmid_crypto::{DefaultVerifier, SignatureVerifier};

    #[test]
    fn rfc6979_a_2_5_vector() {
        // RFC 6979 Appendix A.2.5: P-256, SHA-256, message "sample".
        let d = hex::decode("C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721")
            .unwrap();
        let key = PrivateKey::from_scalar(Curve::P256, &d).unwrap();
        let signer = Rfc6979Signer::new(&key).unwrap();
        let sig = signer.sign(b"sample").unwrap();
        assert_eq!(
            hex::encode_upper(&sig),
            concat!(
                "EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716",
                "F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8"
            )
        );
        DefaultVerifier
            .verify(Algorithm::Es256, key.public_key(), b"sample", &sig)
            .unwrap();
        assert_eq!(signer.sign(b"sample").unwrap(), sig, "deterministic");
    }

    #[test]
    fn seeded_random_is_a_function_of_its_seed() {
        let (a, b, c) = (
            SeededRandom::new(b"x"),
            SeededRandom::new(b"x"),
            SeededRandom::new(b"y"),
        );
        let (mut x1, mut x2, mut y) = ([0u8; 50], [0u8; 50], [0u8; 50]);
        a.fill(&mut x1).unwrap();
        b.fill(&mut x2[..20]).unwrap();
        b.fill(&mut x2[20..]).unwrap();
        c.fill(&mut y).unwrap();
        assert_eq!(x1, x2, "the stream does not depend on how it is read");
        assert_ne!(x1, y);
        let first = sha256(&[b"x".as_slice(), &0u64.to_be_bytes()].concat()).unwrap();
        assert_eq!(&x1[..32], &first);
    }

    #[test]
    fn test_keys_are_stable() {
        assert_eq!(
            test_key("reader").public_key(),
            test_key("reader").public_key()
        );
        assert_ne!(
            test_key("reader").public_key(),
            test_key("reader-root").public_key()
        );
        let unique: std::collections::BTreeSet<_> = TEST_KEY_NAMES
            .iter()
            .map(|n| test_key(n).public_key().thumbprint_sha256().unwrap())
            .collect();
        assert_eq!(unique.len(), TEST_KEY_NAMES.len());
    }
}
