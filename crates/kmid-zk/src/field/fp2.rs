//! Convolutions over the P-256 base field by the FFT over its quadratic extension.
//!
//! `p − 1` has a single factor 2, so the P-256 field has no roots of unity for an FFT; but
//! `p ≡ 3 (mod 4)` makes `Fp2 = Fp[i]/(i² + 1)` a field whose multiplicative group has order
//! `p² − 1 = (p − 1)(p + 1)` with `2^97 | p + 1`, so it has roots of unity of every power-of-two
//! order the prover needs. A convolution of vectors over `Fp` is the same over `Fp2`; and as
//! the kernel is real, two rows ride in one transform, one as the real part, one as the
//! imaginary (google/longfellow-zk convolves over the same extension).

use super::{Field, Fp256};

/// `re + im·i` with `i² = −1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct Fp2 {
    re: Fp256,
    im: Fp256,
}

impl Fp2 {
    const ZERO: Self = Self {
        re: Fp256::ZERO,
        im: Fp256::ZERO,
    };
    const ONE: Self = Self {
        re: Fp256::ONE,
        im: Fp256::ZERO,
    };

    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Self {
            re: self.re + o.re,
            im: self.im + o.im,
        }
    }

    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Self {
            re: self.re - o.re,
            im: self.im - o.im,
        }
    }

    /// Three products of the base field (Karatsuba).
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        let ac = self.re * o.re;
        let bd = self.im * o.im;
        let cross = (self.re + self.im) * (o.re + o.im);
        Self {
            re: ac - bd,
            im: cross - ac - bd,
        }
    }

    /// By an element of the base field: two products.
    #[inline(always)]
    fn scale(self, k: Fp256) -> Self {
        Self {
            re: self.re * k,
            im: self.im * k,
        }
    }

    fn conj(self) -> Self {
        Self {
            re: self.re,
            im: -self.im,
        }
    }

    /// `None` for zero.
    fn inv(self) -> Option<Self> {
        // 1/(a + bi) = (a − bi)/(a² + b²); a² + b² ≠ 0 for non-zero a + bi as −1 is no square.
        let norm = (self.re * self.re + self.im * self.im).inv()?;
        Some(self.conj().scale(norm))
    }

    /// `self^e` for a little-endian exponent.
    fn pow(self, e: &[u64; 4]) -> Self {
        let mut acc = Self::ONE;
        for limb in e.iter().rev() {
            for bit in (0..64).rev() {
                acc = acc.mul(acc);
                if (limb >> bit) & 1 == 1 {
                    acc = acc.mul(self);
                }
            }
        }
        acc
    }
}

/// `p + 1`, little-endian limbs.
const P_PLUS_ONE: [u64; 4] = [0, 0x0000_0001_0000_0000, 0, 0xffff_ffff_0000_0001];
/// `2^TWO_ADICITY` divides `p + 1`, so `Fp2` has roots of unity of order up to it.
const TWO_ADICITY: u32 = 96;

/// A primitive `2^log_n`-th root of unity of `Fp2` (`log_n ≤ 96`): for `z` outside `Fp`,
/// `u = z^(p−1) = conj(z)/z` has order dividing `p + 1`, so `u^((p+1)/2^log_n)` has order
/// dividing `2^log_n`; the first `z = k + i` for which it is exactly that order is taken.
fn root_of_unity(log_n: u32) -> Option<Fp2> {
    if log_n == 0 || log_n > TWO_ADICITY {
        return (log_n == 0).then_some(Fp2::ONE);
    }
    let exponent = shift_right(P_PLUS_ONE, log_n);
    (1u64..64).find_map(|k| {
        let z = Fp2 {
            re: Fp256::from_u64(k),
            im: Fp256::ONE,
        };
        let u = z.conj().mul(z.inv()?);
        let root = u.pow(&exponent);
        // Order exactly 2^log_n: its 2^(log_n − 1)-th power is −1, not 1.
        let mut half = root;
        for _ in 1..log_n {
            half = half.mul(half);
        }
        (half != Fp2::ONE).then_some(root)
    })
}

/// A 256-bit little-endian value shifted right by `k` bits.
fn shift_right(mut v: [u64; 4], k: u32) -> [u64; 4] {
    for _ in 0..k {
        let mut carry = 0;
        for limb in v.iter_mut().rev() {
            let next = *limb & 1;
            *limb = (*limb >> 1) | (carry << 63);
            carry = next;
        }
    }
    v
}

/// The in-place radix-2 transform of `d` (length `n`, a power of two) with `twiddles[j] = ω^j`
/// for `j < n/2`, `ω` a primitive `n`-th root: afterwards `d[k] = Σ_t d_t·ω^(tk)`.
fn fft(d: &mut [Fp2], twiddles: &[Fp2]) {
    let n = d.len();
    if n <= 1 {
        return;
    }
    let bits = n.trailing_zeros();
    for i in 0..n {
        let j = i.reverse_bits() >> (usize::BITS - bits);
        if i < j {
            d.swap(i, j);
        }
    }
    let mut len = 2;
    while len <= n {
        let half = len / 2;
        let step = n / len;
        for block in d.chunks_exact_mut(len) {
            let (lo, hi) = block.split_at_mut(half);
            for (k, (l, h)) in lo.iter_mut().zip(hi.iter_mut()).enumerate() {
                let t = if k == 0 {
                    *h
                } else {
                    h.mul(twiddles.get(k * step).copied().unwrap_or(Fp2::ZERO))
                };
                *h = l.sub(t);
                *l = l.add(t);
            }
        }
        len *= 2;
    }
}

/// For each row `a` of `rows`, `c_u = Σ_t a_t·h_{u−t}` for `from ≤ u < to`, given that every
/// row is at most `from + 1` long (so `u − t ≥ 0` always, and a cyclic convolution of any size
/// `≥ to` gives these entries exactly). `None` if no root of unity serves (sizes beyond
/// `2^96`).
pub(super) fn convolve_tail(
    rows: &[Vec<Fp256>],
    h: &[Fp256],
    from: usize,
    to: usize,
) -> Option<Vec<Vec<Fp256>>> {
    let n = to.next_power_of_two().max(2);
    let log_n = n.trailing_zeros();
    let omega = root_of_unity(log_n)?;
    let omega_inv = omega.inv()?;
    let powers = |w: Fp2| {
        let mut t = Vec::with_capacity(n / 2);
        let mut acc = Fp2::ONE;
        for _ in 0..n / 2 {
            t.push(acc);
            acc = acc.mul(w);
        }
        t
    };
    let (forward, inverse) = (powers(omega), powers(omega_inv));
    let n_inv = Fp256::from_u64(u64::try_from(n).ok()?).inv()?;
    // The kernel's transform, scaled by 1/n for the inverse transform to come.
    let mut kernel: Vec<Fp2> = h
        .iter()
        .take(to)
        .map(|&re| Fp2 {
            re,
            im: Fp256::ZERO,
        })
        .collect();
    kernel.resize(n, Fp2::ZERO);
    fft(&mut kernel, &forward);
    for k in &mut kernel {
        *k = k.scale(n_inv);
    }
    let mut out = Vec::with_capacity(rows.len());
    let mut d = vec![Fp2::ZERO; n];
    for pair in rows.chunks(2) {
        d.fill(Fp2::ZERO);
        let (first, second) = (pair.first()?, pair.get(1));
        for (slot, &re) in d.iter_mut().zip(first) {
            slot.re = re;
        }
        if let Some(second) = second {
            for (slot, &im) in d.iter_mut().zip(second) {
                slot.im = im;
            }
        }
        fft(&mut d, &forward);
        for (x, &k) in d.iter_mut().zip(&kernel) {
            *x = x.mul(k);
        }
        fft(&mut d, &inverse);
        let tail = d.get(from..to)?;
        out.push(tail.iter().map(|x| x.re).collect());
        if second.is_some() {
            out.push(tail.iter().map(|x| x.im).collect());
        }
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn roots_have_their_order() {
        for log_n in [1, 2, 5, 12, 20, 96] {
            let w = root_of_unity(log_n).unwrap();
            let mut x = w;
            for _ in 1..log_n {
                x = x.mul(x);
            }
            // w^(2^(log_n − 1)) = −1, so w^(2^log_n) = 1.
            assert_eq!(x, Fp2::ONE.sub(Fp2::ONE).sub(Fp2::ONE), "{log_n}");
        }
        assert_eq!(root_of_unity(97), None);
    }

    #[test]
    fn convolution_matches_the_definition() {
        let v = |k: u64| Fp256::from_u64(k.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 3);
        let rows: Vec<Vec<Fp256>> = (0..3)
            .map(|r| (0..37).map(|t| v(r * 100 + t + 1)).collect())
            .collect();
        let h: Vec<Fp256> = (0..150).map(|k| v(1000 + k)).collect();
        let got = convolve_tail(&rows, &h, 36, 150).unwrap();
        assert_eq!(got.len(), 3);
        for (row, tail) in rows.iter().zip(&got) {
            let want: Vec<Fp256> = (36..150)
                .map(|u| {
                    row.iter()
                        .enumerate()
                        .fold(Fp256::ZERO, |acc, (t, &a)| acc + a * h[u - t])
                })
                .collect();
            assert_eq!(tail, &want);
        }
        assert_eq!(got, super::super::schoolbook_tail(&rows, &h, 36, 150));
    }
}
