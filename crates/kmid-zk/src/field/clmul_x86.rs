//! The x86-64 carry-less multiply (`pclmulqdq`) for GF(2^128), used when the CPU has it (every
//! x86-64 CPU since 2010), and its two-lane form (`vpclmulqdq` on AVX2 registers, two products
//! per instruction) for the batched products where the CPU has that too. The only `unsafe` in
//! this crate: calling functions compiled for a CPU feature, after checking at run time that
//! the CPU has that feature (six such calls).
//!
//! The kernels are whole loops compiled with the feature, their steps macros so that they
//! inline (a function compiled for a feature is not inlined into one compiled without it).
#![allow(unsafe_code)]

use core::arch::x86_64::{
    __m128i, __m256i, _mm_clmulepi64_si128, _mm_cvtsi128_si64, _mm_set_epi64x, _mm_slli_si128,
    _mm_srli_si128, _mm_unpackhi_epi64, _mm_xor_si128, _mm256_castsi256_si128,
    _mm256_clmulepi64_epi128, _mm256_extracti128_si256, _mm256_set_epi64x, _mm256_set_m128i,
    _mm256_slli_si256, _mm256_srli_si256, _mm256_xor_si256,
};

use super::Gf2_128;

/// Whether this CPU has the carry-less multiply (std caches the answer).
#[inline(always)]
fn available() -> bool {
    std::arch::is_x86_feature_detected!("pclmulqdq")
}

/// Whether this CPU has the two-lane carry-less multiply and AVX2 (std caches the answers).
#[inline(always)]
fn wide() -> bool {
    std::arch::is_x86_feature_detected!("vpclmulqdq")
        && std::arch::is_x86_feature_detected!("avx2")
        && available()
}

/// A u128 into a register.
macro_rules! load {
    ($v:expr) => {{
        let [
            l0,
            l1,
            l2,
            l3,
            l4,
            l5,
            l6,
            l7,
            h0,
            h1,
            h2,
            h3,
            h4,
            h5,
            h6,
            h7,
        ] = $v.to_le_bytes();
        _mm_set_epi64x(
            i64::from_le_bytes([h0, h1, h2, h3, h4, h5, h6, h7]),
            i64::from_le_bytes([l0, l1, l2, l3, l4, l5, l6, l7]),
        )
    }};
}

/// A register into a u128.
macro_rules! store {
    ($v:expr) => {{
        let v: __m128i = $v;
        let lo = _mm_cvtsi128_si64(v).to_le_bytes();
        let hi = _mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)).to_le_bytes();
        u128::from(u64::from_le_bytes(lo)) | (u128::from(u64::from_le_bytes(hi)) << 64)
    }};
}

/// The 256-bit product as (low, middle, high): `lo + mid·x^64 + hi·x^128`.
macro_rules! product3 {
    ($x:expr, $y:expr) => {{
        let (x, y): (__m128i, __m128i) = ($x, $y);
        (
            _mm_clmulepi64_si128::<0x00>(x, y),
            _mm_xor_si128(
                _mm_clmulepi64_si128::<0x01>(x, y),
                _mm_clmulepi64_si128::<0x10>(x, y),
            ),
            _mm_clmulepi64_si128::<0x11>(x, y),
        )
    }};
}

/// `lo + mid·x^64 + hi·x^128` modulo `x^128 + x^7 + x^2 + x + 1`: `x^128 ≡ 0x87`, folded twice
/// (the upper half of `hi` first, its overflow with the lower half).
macro_rules! reduce {
    ($lo:expr, $mid:expr, $hi:expr) => {{
        let (lo, mid, hi): (__m128i, __m128i, __m128i) = ($lo, $mid, $hi);
        let lo = _mm_xor_si128(lo, _mm_slli_si128::<8>(mid));
        let hi = _mm_xor_si128(hi, _mm_srli_si128::<8>(mid));
        let c = _mm_set_epi64x(0, 0x87);
        let t = _mm_clmulepi64_si128::<0x01>(hi, c);
        let lo = _mm_xor_si128(lo, _mm_slli_si128::<8>(t));
        let hi0 = _mm_xor_si128(hi, _mm_srli_si128::<8>(t));
        _mm_xor_si128(lo, _mm_clmulepi64_si128::<0x00>(hi0, c))
    }};
}

/// Two products at once, one per 128-bit lane: as `product3!`.
macro_rules! product3x2 {
    ($x:expr, $y:expr) => {{
        let (x, y): (__m256i, __m256i) = ($x, $y);
        (
            _mm256_clmulepi64_epi128::<0x00>(x, y),
            _mm256_xor_si256(
                _mm256_clmulepi64_epi128::<0x01>(x, y),
                _mm256_clmulepi64_epi128::<0x10>(x, y),
            ),
            _mm256_clmulepi64_epi128::<0x11>(x, y),
        )
    }};
}

/// Two reductions at once, one per lane: as `reduce!` (the byte shifts work per lane).
macro_rules! reducex2 {
    ($lo:expr, $mid:expr, $hi:expr) => {{
        let (lo, mid, hi): (__m256i, __m256i, __m256i) = ($lo, $mid, $hi);
        let lo = _mm256_xor_si256(lo, _mm256_slli_si256::<8>(mid));
        let hi = _mm256_xor_si256(hi, _mm256_srli_si256::<8>(mid));
        let c = _mm256_set_epi64x(0, 0x87, 0, 0x87);
        let t = _mm256_clmulepi64_epi128::<0x01>(hi, c);
        let lo = _mm256_xor_si256(lo, _mm256_slli_si256::<8>(t));
        let hi0 = _mm256_xor_si256(hi, _mm256_srli_si256::<8>(t));
        _mm256_xor_si256(lo, _mm256_clmulepi64_epi128::<0x00>(hi0, c))
    }};
}

/// Two u128s into the lanes of a register (the first in the low lane).
macro_rules! load2 {
    ($first:expr, $second:expr) => {{ _mm256_set_m128i(load!($second), load!($first)) }};
}

macro_rules! mul_reduce {
    ($x:expr, $y:expr) => {{
        let (lo, mid, hi) = product3!($x, $y);
        reduce!(lo, mid, hi)
    }};
}

/// `a·b` in GF(2^128), or `None` without the instruction.
#[inline(always)]
pub(super) fn mul(a: u128, b: u128) -> Option<u128> {
    // SAFETY: `mul_kernel` needs pclmulqdq and sse2; `available` checked the first, the second
    // is part of x86-64.
    available().then(|| unsafe { mul_kernel(a, b) })
}

/// `Σ a_i·b_i` with one reduction, or `None` without the instruction.
pub(super) fn dot(a: &[Gf2_128], b: &[Gf2_128]) -> Option<Gf2_128> {
    if wide() {
        // SAFETY: as in `mul_pairs`.
        return Some(unsafe { dot_wide_kernel(a, b) });
    }
    // SAFETY: as in `mul`.
    available().then(|| unsafe { dot_kernel(a, b) })
}

/// `out_i = a_i·b_i`; `false` (nothing written) without the instruction.
pub(super) fn mul_pairs(a: &[Gf2_128], b: &[Gf2_128], out: &mut [Gf2_128]) -> bool {
    if wide() {
        // SAFETY: `mul_pairs_wide_kernel` needs vpclmulqdq, avx2 and pclmulqdq (for its
        // remainder), which `wide` checked, and sse2, part of x86-64.
        unsafe { mul_pairs_wide_kernel(a, b, out) };
        return true;
    }
    if !available() {
        return false;
    }
    // SAFETY: as in `mul`.
    unsafe { mul_pairs_kernel(a, b, out) };
    true
}

/// `Σ a_i·b_i·c_i·d_i`, the last product of each term summed unreduced, or `None` without the
/// instruction.
pub(super) fn dot4(a: &[Gf2_128], b: &[Gf2_128], c: &[Gf2_128], d: &[Gf2_128]) -> Option<Gf2_128> {
    // SAFETY: as in `mul`.
    available().then(|| unsafe { dot4_kernel(a, b, c, d) })
}

#[target_feature(enable = "pclmulqdq,sse2")]
fn mul_kernel(a: u128, b: u128) -> u128 {
    store!(mul_reduce!(load!(a), load!(b)))
}

#[target_feature(enable = "pclmulqdq,sse2")]
fn mul_pairs_kernel(a: &[Gf2_128], b: &[Gf2_128], out: &mut [Gf2_128]) {
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        o.0 = store!(mul_reduce!(load!(x.0), load!(y.0)));
    }
}

#[target_feature(enable = "vpclmulqdq,avx2,pclmulqdq,sse2")]
fn mul_pairs_wide_kernel(a: &[Gf2_128], b: &[Gf2_128], out: &mut [Gf2_128]) {
    let n = out.len().min(a.len()).min(b.len());
    let pairs = n / 2;
    let (out2, rest) = out.split_at_mut(2 * pairs);
    for ((o, x), y) in out2
        .chunks_exact_mut(2)
        .zip(a.chunks_exact(2))
        .zip(b.chunks_exact(2))
    {
        if let ([o0, o1], [x0, x1], [y0, y1]) = (o, x, y) {
            let (lo, mid, hi) = product3x2!(load2!(x0.0, x1.0), load2!(y0.0, y1.0));
            let r = reducex2!(lo, mid, hi);
            o0.0 = store!(_mm256_castsi256_si128(r));
            o1.0 = store!(_mm256_extracti128_si256::<1>(r));
        }
    }
    let skip = 2 * pairs;
    for ((o, x), y) in rest
        .iter_mut()
        .zip(a.iter().skip(skip))
        .zip(b.iter().skip(skip))
        .take(n - skip)
    {
        o.0 = store!(mul_reduce!(load!(x.0), load!(y.0)));
    }
}

#[target_feature(enable = "vpclmulqdq,avx2,pclmulqdq,sse2")]
fn dot_wide_kernel(a: &[Gf2_128], b: &[Gf2_128]) -> Gf2_128 {
    let n = a.len().min(b.len());
    let pairs = n / 2;
    let zero = _mm256_set_epi64x(0, 0, 0, 0);
    let (mut lo, mut mid, mut hi) = (zero, zero, zero);
    for (x, y) in a.chunks_exact(2).zip(b.chunks_exact(2)).take(pairs) {
        if let ([x0, x1], [y0, y1]) = (x, y) {
            let (l, m, h) = product3x2!(load2!(x0.0, x1.0), load2!(y0.0, y1.0));
            lo = _mm256_xor_si256(lo, l);
            mid = _mm256_xor_si256(mid, m);
            hi = _mm256_xor_si256(hi, h);
        }
    }
    // The two lanes' sums, then the odd element out.
    let fold =
        |v: __m256i| _mm_xor_si128(_mm256_castsi256_si128(v), _mm256_extracti128_si256::<1>(v));
    let (mut lo, mut mid, mut hi) = (fold(lo), fold(mid), fold(hi));
    if let (Some(x), Some(y)) = (a.get(2 * pairs..n), b.get(2 * pairs..n)) {
        for (x, y) in x.iter().zip(y) {
            let (l, m, h) = product3!(load!(x.0), load!(y.0));
            lo = _mm_xor_si128(lo, l);
            mid = _mm_xor_si128(mid, m);
            hi = _mm_xor_si128(hi, h);
        }
    }
    Gf2_128(store!(reduce!(lo, mid, hi)))
}

#[target_feature(enable = "pclmulqdq,sse2")]
fn dot_kernel(a: &[Gf2_128], b: &[Gf2_128]) -> Gf2_128 {
    let zero = _mm_set_epi64x(0, 0);
    let (mut lo, mut mid, mut hi) = (zero, zero, zero);
    for (x, y) in a.iter().zip(b) {
        let (l, m, h) = product3!(load!(x.0), load!(y.0));
        lo = _mm_xor_si128(lo, l);
        mid = _mm_xor_si128(mid, m);
        hi = _mm_xor_si128(hi, h);
    }
    Gf2_128(store!(reduce!(lo, mid, hi)))
}

#[target_feature(enable = "pclmulqdq,sse2")]
fn dot4_kernel(a: &[Gf2_128], b: &[Gf2_128], c: &[Gf2_128], d: &[Gf2_128]) -> Gf2_128 {
    let zero = _mm_set_epi64x(0, 0);
    let (mut lo, mut mid, mut hi) = (zero, zero, zero);
    for ((w, x), (y, z)) in a.iter().zip(b).zip(c.iter().zip(d)) {
        let wx = mul_reduce!(load!(w.0), load!(x.0));
        let wxy = mul_reduce!(wx, load!(y.0));
        let (l, m, h) = product3!(wxy, load!(z.0));
        lo = _mm_xor_si128(lo, l);
        mid = _mm_xor_si128(mid, m);
        hi = _mm_xor_si128(hi, h);
    }
    Gf2_128(store!(reduce!(lo, mid, hi)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Both widths of the batched kernels against the portable product, where this CPU has
    /// them (the dispatch takes only the widest).
    #[test]
    fn narrow_and_wide_kernels_agree_with_the_portable_product() {
        let mut x = 0x0123_4567_89ab_cdef_u128;
        let mut next = || {
            x = x.wrapping_mul(0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645) ^ (x >> 67);
            Gf2_128(x)
        };
        for n in 0..7 {
            let a: Vec<Gf2_128> = (0..n).map(|_| next()).collect();
            let b: Vec<Gf2_128> = (0..n).map(|_| next()).collect();
            let want: Vec<Gf2_128> = a.iter().zip(&b).map(|(&p, &q)| p.mul_portable(q)).collect();
            let sum = want.iter().fold(Gf2_128(0), |acc, v| Gf2_128(acc.0 ^ v.0));
            let mut out = vec![Gf2_128(0); n];
            if available() {
                // SAFETY: `available` checked pclmulqdq.
                unsafe { mul_pairs_kernel(&a, &b, &mut out) };
                assert_eq!(out, want);
                // SAFETY: as above.
                assert_eq!(unsafe { dot_kernel(&a, &b) }, sum);
            }
            if wide() {
                out.fill(Gf2_128(0));
                // SAFETY: `wide` checked vpclmulqdq, avx2 and pclmulqdq.
                unsafe { mul_pairs_wide_kernel(&a, &b, &mut out) };
                assert_eq!(out, want);
                // SAFETY: as above.
                assert_eq!(unsafe { dot_wide_kernel(&a, &b) }, sum);
            }
        }
    }
}
