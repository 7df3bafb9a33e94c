//! A per-thread block of random bytes for small public requests (salts, decoy seeds, digest
//! IDs: up to 64 bytes), drawn from the provider's generator in one call of 512 bytes, since
//! each call costs about a microsecond whatever its size and an issuance asks for dozens of
//! salts. Bytes are wiped from the block as they are handed out, and a block drawn in another
//! process (a `fork` without `exec`, detected by process id) is discarded. Secrets
//! ([`crate::Random::fill_secret`]) and large requests never go through it.

use core::cell::RefCell;

use zeroize::{Zeroize, Zeroizing};

use crate::error::CryptoError;

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
    fn take(
        &mut self,
        buf: &mut [u8],
        draw: &dyn Fn(&mut [u8]) -> Result<(), CryptoError>,
    ) -> Result<(), CryptoError> {
        let pid = std::process::id();
        let end = self.next.saturating_add(buf.len());
        if self.pid != pid || end > POOL_LEN {
            draw(&mut *self.bytes)?;
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

/// Fills `buf` from this thread's block (refilled by `draw`), or straight from `draw` for a
/// large request, a re-entered call or a thread being torn down.
pub(crate) fn fill(
    buf: &mut [u8],
    draw: impl Fn(&mut [u8]) -> Result<(), CryptoError>,
) -> Result<(), CryptoError> {
    if buf.len() > POOLED_MAX {
        return draw(buf);
    }
    let pooled = POOL.try_with(|pool| match pool.try_borrow_mut() {
        Ok(mut pool) => Some(pool.take(buf, &draw)),
        Err(_) => None,
    });
    match pooled {
        Ok(Some(result)) => result,
        Ok(None) | Err(_) => draw(buf),
    }
}
