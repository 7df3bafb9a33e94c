//! Randomness as a parameter: salts, nonces, serial numbers and keys come from a [`Random`],
//! so tests and conformance vectors can be deterministic while production uses the system's
//! secure generator.

use crate::error::CryptoError;

/// A source of random bytes.
pub trait Random: Send + Sync {
    /// Fills `buf` with random bytes.
    ///
    /// # Errors
    /// When the source cannot deliver (a seeded source never fails).
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError>;
}

/// The operating system's cryptographically secure generator, through OpenSSL's `RAND_bytes`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemRandom;

impl Random for SystemRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        Ok(openssl::rand::rand_bytes(buf)?)
    }
}

impl<R: Random + ?Sized> Random for &R {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        (**self).fill(buf)
    }
}
