//! SHA-256 (FIPS 180-4) with the per-block witness the hash circuit checks: the message
//! schedule words 16–63, the new `e` and `a` after each round, and the block's output.

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// The initial hash value.
pub(crate) const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// One block's witness.
#[derive(Debug, Clone)]
pub(crate) struct BlockWitness {
    /// Schedule words 16..64.
    pub(crate) schedule: [u32; 48],
    /// `(e, a)` after each round.
    pub(crate) rounds: [(u32, u32); 64],
    /// The chaining value after the block.
    pub(crate) output: [u32; 8],
}

/// Compresses one 64-byte block into `h`, recording the witness.
pub(crate) fn compress(h: [u32; 8], block: &[u8; 64]) -> BlockWitness {
    let mut w = [0u32; 64];
    for (i, word) in w.iter_mut().take(16).enumerate() {
        let mut b = [0u8; 4];
        b.copy_from_slice(block.get(4 * i..4 * i + 4).unwrap_or(&[0; 4]));
        *word = u32::from_be_bytes(b);
    }
    for t in 16..64 {
        let at = |i: usize| w.get(i).copied().unwrap_or(0);
        let s0 = at(t - 15).rotate_right(7) ^ at(t - 15).rotate_right(18) ^ (at(t - 15) >> 3);
        let s1 = at(t - 2).rotate_right(17) ^ at(t - 2).rotate_right(19) ^ (at(t - 2) >> 10);
        let v = at(t - 16)
            .wrapping_add(s0)
            .wrapping_add(at(t - 7))
            .wrapping_add(s1);
        if let Some(slot) = w.get_mut(t) {
            *slot = v;
        }
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
    let mut rounds = [(0u32, 0u32); 64];
    for (t, (round, (&k, &wt))) in rounds.iter_mut().zip(K.iter().zip(w.iter())).enumerate() {
        let _ = t;
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = hh
            .wrapping_add(s1)
            .wrapping_add(ch)
            .wrapping_add(k)
            .wrapping_add(wt);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = s0.wrapping_add(maj);
        hh = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
        *round = (e, a);
    }
    let mut output = h;
    for (o, v) in output.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
        *o = o.wrapping_add(v);
    }
    let mut schedule = [0u32; 48];
    schedule.copy_from_slice(w.get(16..).unwrap_or(&[0; 48]));
    BlockWitness {
        schedule,
        rounds,
        output,
    }
}

/// `msg` padded (FIPS 180-4 §5.1.1) and zero-filled to `blocks` blocks, its block count, and
/// every block's witness (the chain continues through the zero blocks). `None` if the
/// padded message does not fit.
pub(crate) fn padded_witness(
    msg: &[u8],
    blocks: usize,
) -> Option<(Vec<u8>, usize, Vec<BlockWitness>)> {
    let nb = (msg.len() + 9).div_ceil(64);
    if nb > blocks {
        return None;
    }
    let mut pad = msg.to_vec();
    pad.push(0x80);
    pad.resize(64 * nb - 8, 0);
    pad.extend_from_slice(&(u64::try_from(msg.len()).ok()? * 8).to_be_bytes());
    pad.resize(64 * blocks, 0);
    let mut h = IV;
    let mut witnesses = Vec::with_capacity(blocks);
    for chunk in pad.chunks_exact(64) {
        let block: &[u8; 64] = chunk.try_into().ok()?;
        let w = compress(h, block);
        h = w.output;
        witnesses.push(w);
    }
    Some((pad, nb, witnesses))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::padded_witness;

    #[test]
    fn the_chain_is_sha256() {
        for msg in [&b""[..], b"abc", &[7u8; 119], &[9u8; 300]] {
            let (_, nb, w) = padded_witness(msg, 8).unwrap();
            let digest: Vec<u8> = w[nb - 1]
                .output
                .iter()
                .flat_map(|v| v.to_be_bytes())
                .collect();
            let expected = kmid_crypto::HashAlgorithm::Sha256.digest(msg).unwrap();
            assert_eq!(digest, expected);
        }
        assert!(padded_witness(&[0; 120], 2).is_none());
        assert!(padded_witness(&[0; 119], 2).is_some());
    }
}
