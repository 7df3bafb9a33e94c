//! The two fields of Longfellow's mdoc circuits: the P-256 base field ([`Fp256`]), in which the
//! signature circuit computes, and GF(2^128) ([`Gf2_128`]), in which the hash circuit computes.

#[cfg(target_arch = "x86_64")]
mod clmul_x86;
mod fp2;
mod fp256;
mod gf2_128;

use core::fmt::Debug;
use core::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub, SubAssign};

pub use fp256::Fp256;
pub use gf2_128::Gf2_128;

/// What the proof system needs of a field.
pub trait Field:
    Copy
    + Eq
    + Debug
    + Default
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
{
    /// The additive identity.
    const ZERO: Self;
    /// The multiplicative identity.
    const ONE: Self;
    /// The length of an element on the wire.
    const BYTES: usize;
    /// The field's number in circuit files (google/longfellow-zk `proto/circuit_io.h`).
    const CIRCUIT_FIELD_ID: u64;
    /// What a circuit ID hashes to name the field: `u64le(1) ‖ bytes(−1)` for a prime field,
    /// `u64le(2) ‖ u64le(bits)` for a binary one (`sumcheck/circuit_id.h`).
    fn circuit_id_prefix() -> Vec<u8>;

    /// The image of a small integer.
    fn from_u64(v: u64) -> Self;
    /// An element from its wire form; `None` unless exactly [`Self::BYTES`] long and canonical.
    fn from_bytes(bytes: &[u8]) -> Option<Self>;
    /// Appends the wire form.
    fn write_bytes(&self, out: &mut Vec<u8>);
    /// The multiplicative inverse; `None` for zero.
    fn inv(self) -> Option<Self>;
    /// The `u`-th element of the field's sequence of small points: the integer `u` in the P-256
    /// field; in GF(2^128), the sum of `g^k` over the bits `k` of `u` (`g` generating the subfield
    /// GF(2^16); `u < 2^16`). Reed-Solomon codewords are evaluations at `of_scalar(0), …` and the
    /// sumcheck's third point is `of_scalar(2)`.
    fn of_scalar(u: u64) -> Self;
    /// How two small points differ: `of_scalar(u) − of_scalar(t)` is `of_scalar(u ⊕ t)` when
    /// `true` (GF(2^128): the points are a GF(2)-linear image of the bits of `u`), and
    /// `of_scalar(u − t)` for `u > t` when `false` (the P-256 field: the points are integers).
    /// What lets the prover extend Reed-Solomon rows by a convolution (`crate::rs::extend`).
    const XOR_POINTS: bool = false;
    /// The length of a subfield element on the wire (the whole element where there is no
    /// proper subfield).
    const SUBFIELD_BYTES: usize;
    /// A subfield element from its wire form.
    fn from_subfield_bytes(bytes: &[u8]) -> Option<Self>;
    /// Appends the subfield wire form and returns `true` if the element lies in a proper
    /// subfield; otherwise appends nothing (fields without one never do).
    fn write_subfield_bytes(&self, _out: &mut Vec<u8>) -> bool {
        false
    }

    /// `Σ a_i·b_i` over the common length (fields may do it with fewer reductions).
    #[must_use]
    fn dot(a: &[Self], b: &[Self]) -> Self {
        a.iter()
            .zip(b)
            .fold(Self::ZERO, |acc, (&x, &y)| acc + x * y)
    }

    /// `out_i = a_i·b_i` over the common length (fields may batch the products).
    fn mul_pairs(a: &[Self], b: &[Self], out: &mut [Self]) {
        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
            *o = x * y;
        }
    }

    /// For each row `a` of `rows`, `c_u = Σ_t a_t·h_{u−t}` for `from ≤ u < to`, where no row
    /// is longer than `from + 1` (every `u − t` is in range). Fields may convolve by a
    /// transform; the default sums term by term.
    fn convolve_tail(rows: &[Vec<Self>], h: &[Self], from: usize, to: usize) -> Vec<Vec<Self>> {
        schoolbook_tail(rows, h, from, to)
    }

    /// `Σ a_i·b_i·c_i·d_i` over the common length.
    #[must_use]
    fn dot4(a: &[Self], b: &[Self], c: &[Self], d: &[Self]) -> Self {
        a.iter()
            .zip(b)
            .zip(c.iter().zip(d))
            .fold(Self::ZERO, |acc, ((&w, &x), (&y, &z))| acc + w * x * y * z)
    }
}

/// `out_i = c·a_i` over the common length, the products batched ([`Field::mul_pairs`]).
pub(crate) fn scale<F: Field>(a: &[F], c: F, out: &mut [F]) {
    const CHUNK: usize = 256;
    let scalar = [c; CHUNK];
    for (a, out) in a.chunks(CHUNK).zip(out.chunks_mut(CHUNK)) {
        F::mul_pairs(a, &scalar, out);
    }
}

/// [`Field::convolve_tail`] term by term (`O(rows · len · (to − from))`).
fn schoolbook_tail<F: Field>(rows: &[Vec<F>], h: &[F], from: usize, to: usize) -> Vec<Vec<F>> {
    rows.iter()
        .map(|a| {
            (from..to)
                .map(|u| {
                    a.iter()
                        .enumerate()
                        .filter(|&(t, _)| t <= u)
                        .fold(F::ZERO, |acc, (t, &x)| {
                            acc + x * h.get(u - t).copied().unwrap_or(F::ZERO)
                        })
                })
                .collect()
        })
        .collect()
}

/// Inverts every non-zero element of `values` in place with one inversion (Montgomery's trick);
/// zeros stay zero.
pub fn batch_invert<F: Field>(values: &mut [F]) {
    let mut prefix = Vec::with_capacity(values.len());
    let mut acc = F::ONE;
    for &v in values.iter() {
        prefix.push(acc);
        if v != F::ZERO {
            acc *= v;
        }
    }
    let mut inv = acc.inv().unwrap_or(F::ZERO);
    for (v, p) in values.iter_mut().zip(prefix).rev() {
        if *v != F::ZERO {
            let next = inv * *v;
            *v = inv * p;
            inv = next;
        }
    }
}

#[cfg(test)]
mod tests;
