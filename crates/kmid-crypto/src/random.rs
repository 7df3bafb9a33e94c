//! Randomness as a parameter: salts, nonces, serial numbers and keys come from a [`Random`],
//! so tests and conformance vectors can be deterministic while production uses the system's
//! secure generator.

use core::cell::RefCell;

use zeroize::{Zeroize, Zeroizing};

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

/// The operating system's cryptographically secure generator, through OpenSSL's `RAND_bytes`.
///
/// Small public requests (salts, decoy seeds, digest IDs: up to 64 bytes) are served from a
/// per-thread block of 512 bytes drawn in one `RAND_bytes` call, since each call costs about a
/// microsecond whatever its size and an issuance asks for dozens of salts. Bytes are wiped from
/// the block as they are handed out, and a block drawn in another process (a `fork` without
/// `exec`, detected by process id) is discarded. Secrets ([`Random::fill_secret`]) and large
/// requests always come straight from `RAND_bytes`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemRandom;

/// Requests above this size go straight to `RAND_bytes`.
const POOLED_MAX: usize = 64;
const POOL_LEN: usize = 512;

struct Pool {
    bytes: Zeroizing<[u8; POOL_LEN]>,
    /// The next unused byte; `POOL_LEN` when the block is used up.
    next: usize,
    /// The process the block was drawn in.
    pid: u32,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool {
        bytes: Zeroizing::new([0; POOL_LEN]),
        next: POOL_LEN,
        pid: 0,
    });
}

impl Pool {
    fn take(&mut self, buf: &mut [u8]) -> Result<(), CryptoError> {
        let pid = std::process::id();
        let end = self.next.saturating_add(buf.len());
        if self.pid != pid || end > POOL_LEN {
            openssl::rand::rand_bytes(&mut *self.bytes)?;
            self.pid = pid;
            self.next = 0;
        }
        let end = self.next.saturating_add(buf.len());
        let block = self
            .bytes
            .get_mut(self.next..end)
            .ok_or_else(|| CryptoError::Signer("random pool".into()))?;
        buf.copy_from_slice(block);
        block.zeroize();
        self.next = end;
        Ok(())
    }
}

impl Random for SystemRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        if buf.len() > POOLED_MAX {
            return Ok(openssl::rand::rand_bytes(buf)?);
        }
        let pooled = POOL.try_with(|pool| match pool.try_borrow_mut() {
            Ok(mut pool) => Some(pool.take(buf)),
            Err(_) => None,
        });
        match pooled {
            Ok(Some(result)) => result,
            // Re-entered, or called while the thread's locals are being destroyed.
            Ok(None) | Err(_) => Ok(openssl::rand::rand_bytes(buf)?),
        }
    }

    fn fill_secret(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        Ok(openssl::rand::rand_bytes(buf)?)
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
