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

    /// Fills `buf` with bytes that become a secret (a private scalar, a card-key secret, an
    /// offer code). A source that buffers (as [`SystemRandom`] does for salts) draws these
    /// straight from the generator, so a secret never waits in a buffer. The default is
    /// [`Self::fill`].
    ///
    /// # Errors
    /// As [`Self::fill`].
    fn fill_secret(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        self.fill(buf)
    }
}

/// The default provider's secure random source ([`crate::CryptoProvider::random`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemRandom;

impl Random for SystemRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        crate::provider::default().random.fill(buf)
    }

    fn fill_secret(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        crate::provider::default().random.fill_secret(buf)
    }
}

impl<R: Random + ?Sized> Random for &R {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        (**self).fill(buf)
    }
    fn fill_secret(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        (**self).fill_secret(buf)
    }
}
