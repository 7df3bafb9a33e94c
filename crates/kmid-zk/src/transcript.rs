//! The Fiat-Shamir transcript (draft-google-cfrg-libzk §3; google/longfellow-zk
//! `lib/random/transcript.h`): a running SHA-256 over everything written, and challenges read
//! from AES-256 of a counter under a key that is the SHA-256 of what was written so far.
//!
//! Writes are tagged: a byte string is `0x00 ‖ u64le(len) ‖ bytes`, one field element is
//! `0x01 ‖ element`, an array of field elements is `0x02 ‖ u64le(n) ‖ elements`. Any write ends
//! the current challenge stream; consecutive draws continue it.

use kmid_crypto::{CryptoProvider, HashAlgorithm, Hasher};

use crate::error::ZkError;
use crate::field::Field;

const TAG_BYTES: u8 = 0;
const TAG_ELEMENT: u8 = 1;
const TAG_ARRAY: u8 = 2;

/// The challenge stream: AES-256 under `key` of the blocks `u64le(i) ‖ 0^8`, i = 0, 1, ….
#[derive(Clone)]
struct Stream {
    key: [u8; 32],
    counter: u64,
    buffer: [u8; 16 * STREAM_BLOCKS],
    used: usize,
}

/// Blocks produced per call into the provider.
const STREAM_BLOCKS: usize = 16;

/// A Fiat-Shamir transcript.
#[derive(Clone)]
pub struct Transcript<'p> {
    provider: &'p CryptoProvider,
    state: Hasher,
    stream: Option<Box<Stream>>,
}

impl core::fmt::Debug for Transcript<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Transcript").finish_non_exhaustive()
    }
}

fn u64_le(n: usize) -> [u8; 8] {
    // usize is at most 64 bits on every target this builds for.
    u64::try_from(n).unwrap_or(u64::MAX).to_le_bytes()
}

impl<'p> Transcript<'p> {
    /// A transcript that begins with `init` written as a byte string (for the mdoc proof, the
    /// session transcript).
    pub fn new(provider: &'p CryptoProvider, init: &[u8]) -> Self {
        let mut t = Self {
            provider,
            state: HashAlgorithm::Sha256.hasher_on(provider),
            stream: None,
        };
        t.write_bytes(init);
        t
    }

    fn absorb(&mut self, data: &[u8]) {
        self.stream = None;
        self.state.update(data);
    }

    /// Writes a byte string.
    pub fn write_bytes(&mut self, data: &[u8]) {
        self.absorb(&[TAG_BYTES]);
        self.absorb(&u64_le(data.len()));
        self.absorb(data);
    }

    /// Writes `n` zero bytes as a byte string.
    pub fn write_zeros(&mut self, n: usize) {
        self.absorb(&[TAG_BYTES]);
        self.absorb(&u64_le(n));
        let zeros = [0u8; 256];
        let mut left = n;
        while left > 0 {
            let k = left.min(zeros.len());
            self.absorb(zeros.get(..k).unwrap_or_default());
            left -= k;
        }
    }

    /// Writes one field element.
    pub fn write_element<F: Field>(&mut self, e: F) {
        let mut buf = Vec::with_capacity(1 + F::BYTES);
        buf.push(TAG_ELEMENT);
        e.write_bytes(&mut buf);
        self.absorb(&buf);
    }

    /// Writes an array of field elements.
    pub fn write_elements<F: Field>(&mut self, es: &[F]) {
        let mut buf = Vec::with_capacity(9 + F::BYTES * es.len());
        buf.push(TAG_ARRAY);
        buf.extend_from_slice(&u64_le(es.len()));
        for e in es {
            e.write_bytes(&mut buf);
        }
        self.absorb(&buf);
    }

    /// Reads `out.len()` challenge bytes.
    ///
    /// # Errors
    /// Only a failure of the provider's AES.
    pub fn read_bytes(&mut self, out: &mut [u8]) -> Result<(), ZkError> {
        if self.stream.is_none() {
            let digest = self.state.clone().finish();
            let key: [u8; 32] = digest.as_slice().try_into().map_err(|_| ZkError::Crypto)?;
            self.stream = Some(Box::new(Stream {
                key,
                counter: 0,
                buffer: [0; 16 * STREAM_BLOCKS],
                used: 16 * STREAM_BLOCKS,
            }));
        }
        let provider = self.provider;
        let stream = self.stream.as_mut().ok_or(ZkError::Crypto)?;
        for byte in out.iter_mut() {
            if stream.used == stream.buffer.len() {
                for block in stream.buffer.chunks_exact_mut(16) {
                    block.fill(0);
                    if let Some(head) = block.get_mut(..8) {
                        head.copy_from_slice(&stream.counter.to_le_bytes());
                    }
                    stream.counter += 1;
                }
                provider
                    .aes256_blocks(&stream.key, &mut stream.buffer)
                    .map_err(|_| ZkError::Crypto)?;
                stream.used = 0;
            }
            *byte = stream.buffer.get(stream.used).copied().unwrap_or_default();
            stream.used += 1;
        }
        Ok(())
    }

    /// Draws a field element: `F::BYTES` bytes read as the element, drawing again while they are
    /// not canonical (only possible in the P-256 field).
    ///
    /// # Errors
    /// Only a failure of the provider's AES.
    pub fn draw<F: Field>(&mut self) -> Result<F, ZkError> {
        let mut buf = [0u8; 32];
        let buf = buf.get_mut(..F::BYTES).ok_or(ZkError::Crypto)?;
        loop {
            self.read_bytes(buf)?;
            if let Some(e) = F::from_bytes(buf) {
                return Ok(e);
            }
        }
    }

    /// Draws `n` field elements.
    ///
    /// # Errors
    /// Only a failure of the provider's AES.
    pub fn draw_n<F: Field>(&mut self, n: usize) -> Result<Vec<F>, ZkError> {
        (0..n).map(|_| self.draw()).collect()
    }

    /// A natural number uniform in `[0, n)`, `n > 0`: the fewest bytes that hold `n`, masked to
    /// `n`'s bit length, drawn again until below `n` (the C++ rule; for a power of two it keeps
    /// one bit more than needed, which only costs draws).
    ///
    /// # Errors
    /// Only a failure of the provider's AES.
    pub fn draw_below(&mut self, n: u64) -> Result<u64, ZkError> {
        if n == 0 {
            return Err(ZkError::Crypto);
        }
        let bits = 64 - n.leading_zeros();
        let bytes = usize::try_from(bits.div_ceil(8)).map_err(|_| ZkError::Crypto)?;
        let mask = if bits == 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        let mut buf = [0u8; 8];
        loop {
            self.read_bytes(buf.get_mut(..bytes).ok_or(ZkError::Crypto)?)?;
            let r = u64::from_le_bytes(buf) & mask;
            if r < n {
                return Ok(r);
            }
        }
    }

    /// `k` distinct indices below `n`, in the order a partial Fisher-Yates shuffle of
    /// `0..n` puts them (the order matters: opened columns follow it).
    ///
    /// # Errors
    /// `k > n`; a failure of the provider's AES.
    pub fn choose(&mut self, n: usize, k: usize) -> Result<Vec<usize>, ZkError> {
        if k > n {
            return Err(ZkError::Crypto);
        }
        let mut a: Vec<usize> = (0..n).collect();
        let mut out = Vec::with_capacity(k);
        for i in 0..k {
            let left = u64::try_from(n - i).map_err(|_| ZkError::Crypto)?;
            let j = i + usize::try_from(self.draw_below(left)?).map_err(|_| ZkError::Crypto)?;
            a.swap(i, j);
            out.push(a.get(i).copied().ok_or(ZkError::Crypto)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use kmid_crypto::CryptoProvider;
    use proptest::prelude::*;

    use super::Transcript;
    use crate::field::{Field, Fp256, Gf2_128};

    fn provider() -> &'static CryptoProvider {
        CryptoProvider::get_default()
    }

    /// Known answers computed independently (Python's hashlib and `cryptography`'s AES-256-ECB
    /// from the construction in the module docs).
    #[test]
    fn known_answer() {
        let mut t = Transcript::new(provider(), b"session transcript");
        t.write_element(Fp256::from_u64(5));
        t.write_elements(&[Gf2_128(1), Gf2_128(2)]);
        // Draws continue one stream across calls and across block boundaries.
        let mut a = [0u8; 20];
        let mut b = [0u8; 28];
        t.read_bytes(&mut a).unwrap();
        t.read_bytes(&mut b).unwrap();
        assert_eq!(
            hex::encode([a.as_slice(), b.as_slice()].concat()),
            "a717115f09ee214bbb76570046fb631efae0feca34021211340dfd31259f73c6\
             a8fd509abc886e0cdf8eaafe27512c26"
        );
        // A write starts a new stream under a new key.
        t.write_zeros(3);
        let mut c = [0u8; 16];
        t.read_bytes(&mut c).unwrap();
        assert_eq!(hex::encode(c), "d946f81e900c03375a930078f7566523");
    }

    #[test]
    fn the_stream_crosses_its_buffer() {
        let mut t = Transcript::new(provider(), b"x");
        let mut whole = vec![0u8; 1000];
        t.read_bytes(&mut whole).unwrap();
        let mut t = Transcript::new(provider(), b"x");
        let mut parts = vec![0u8; 1000];
        for chunk in parts.chunks_mut(7) {
            t.read_bytes(chunk).unwrap();
        }
        assert_eq!(whole, parts);
    }

    proptest! {
        #[test]
        fn draws_are_in_range(seed: Vec<u8>, n in 1u64..100_000, k in 0usize..50) {
            let mut t = Transcript::new(provider(), &seed);
            prop_assert!(t.draw_below(n).unwrap() < n);
            let n = usize::try_from(n).unwrap().max(k);
            let picked = t.choose(n, k).unwrap();
            let mut sorted = picked.clone();
            sorted.sort_unstable();
            sorted.dedup();
            prop_assert_eq!(sorted.len(), k);
            prop_assert!(picked.iter().all(|&i| i < n));
            let e: Fp256 = t.draw().unwrap();
            let mut bytes = Vec::new();
            e.write_bytes(&mut bytes);
            prop_assert!(Fp256::from_bytes(&bytes).is_some());
        }
    }
}
