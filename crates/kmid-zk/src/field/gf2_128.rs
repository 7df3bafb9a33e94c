//! GF(2^128) as `GF(2)[x] / (x^128 + x^7 + x^2 + x + 1)`: the field of the hash circuit. An
//! element is the polynomial whose coefficient of `x^i` is bit `i` of a `u128`; it travels as
//! the 16 little-endian bytes of that integer.
// Addition in characteristic 2 is exclusive or.
#![allow(clippy::suspicious_arithmetic_impl, clippy::suspicious_op_assign_impl)]

use core::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use super::Field;

/// An element of GF(2^128).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct Gf2_128(pub u128);

/// Carry-less product of two 32-bit words. Each operand is split into four interleaved
/// quarters (every fourth bit) so that integer multiplication cannot carry between the bits kept:
/// a column of one partial product sums at most 8 ones, which fits in the 4-bit gap.
#[inline(always)]
fn clmul32(x: u32, y: u32) -> u64 {
    const M: [u64; 4] = [
        0x1111_1111_1111_1111,
        0x2222_2222_2222_2222,
        0x4444_4444_4444_4444,
        0x8888_8888_8888_8888,
    ];
    let (x, y) = (u64::from(x), u64::from(y));
    let [m0, m1, m2, m3] = M;
    let (x0, x1, x2, x3) = (x & m0, x & m1, x & m2, x & m3);
    let (y0, y1, y2, y3) = (y & m0, y & m1, y & m2, y & m3);
    let z0 = (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
    let z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
    let z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
    let z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);
    (z0 & m0) | (z1 & m1) | (z2 & m2) | (z3 & m3)
}

/// Carry-less product of two 64-bit words (Karatsuba over 32-bit halves).
#[inline(always)]
fn clmul64(x: u64, y: u64) -> u128 {
    let (xl, xh) = (low32(x), high32(x));
    let (yl, yh) = (low32(y), high32(y));
    let lo = clmul32(xl, yl);
    let hi = clmul32(xh, yh);
    let mid = clmul32(xl ^ xh, yl ^ yh) ^ lo ^ hi;
    u128::from(lo) ^ (u128::from(mid) << 32) ^ (u128::from(hi) << 64)
}

/// The low 32 bits (truncation intended).
#[inline(always)]
#[allow(clippy::as_conversions)]
fn low32(v: u64) -> u32 {
    v as u32
}

#[inline(always)]
fn high32(v: u64) -> u32 {
    low32(v >> 32)
}

/// The low 64 bits (truncation intended).
#[inline(always)]
#[allow(clippy::as_conversions)]
fn low64(v: u128) -> u64 {
    v as u64
}

/// Carry-less 128 × 128 → 256-bit product in portable code (the reference the hardware path is
/// tested against).
#[inline(always)]
fn clmul128_portable(a: u128, b: u128) -> (u128, u128) {
    let (al, ah) = (low64(a), low64(a >> 64));
    let (bl, bh) = (low64(b), low64(b >> 64));
    let lo = clmul64(al, bl);
    let hi = clmul64(ah, bh);
    let mid = clmul64(al ^ ah, bl ^ bh) ^ lo ^ hi;
    (lo ^ (mid << 64), hi ^ (mid >> 64))
}

/// Reduces `hi·x^128 + lo` modulo `x^128 + x^7 + x^2 + x + 1`.
#[inline(always)]
fn reduce(lo: u128, hi: u128) -> u128 {
    // x^128 ≡ x^7 + x^2 + x + 1: fold the high half down twice (the first fold overflows by at
    // most 7 bits, which the second absorbs).
    let fold = |h: u128| h ^ (h << 1) ^ (h << 2) ^ (h << 7);
    let spill = (hi >> 127) ^ (hi >> 126) ^ (hi >> 121);
    lo ^ fold(hi) ^ fold(spill)
}

/// `g^k` for `k < 16`, `g = x^((2^128 − 1)/(2^16 − 1))` the generator of the subfield GF(2^16)
/// (checked against its definition in the tests).
const SUBFIELD_BASIS: [u128; 16] = [
    0x0000_0000_0000_0000_0000_0000_0000_0001,
    0x5c59_7187_7501_d4b8_f187_1e01_b64f_da4c,
    0x8bb9_9658_eaf2_cae0_a6e3_10fb_6e17_6ea8,
    0xb61e_08da_12f9_665c_3f8d_e8a2_f9ff_7eed,
    0xa76c_2e63_4c64_83ae_9ba3_2820_87a3_f827,
    0x5494_4ff4_a526_9ced_f7af_4e93_629f_689e,
    0x5439_ecfd_75a9_50d8_d076_5f18_7330_9b88,
    0x49ec_dfbe_0677_7b02_e566_f9fc_3d9b_58a2,
    0x97a4_01b7_33e6_6a93_19af_2054_97f8_e2d0,
    0x789f_d779_3ce7_5238_60e4_dbdc_e977_7814,
    0xaa44_0b2d_4b54_6256_c0f1_5718_7adb_c05b,
    0x79f2_cadb_70b6_115d_222f_207d_0d8a_d9f9,
    0xae72_af78_94ce_037d_f6d1_f84f_b66c_52b8,
    0xd6f2_26d7_83d4_54db_4af9_4ef0_56d2_8a30,
    0x057d_918d_4949_25fc_0f37_a0a4_d91b_4220,
    0x18d4_bbb6_833c_5ae8_b683_0123_50e5_5753,
];

/// The subfield basis in echelon form: for each basis vector, its pivot bit and the
/// coordinates (over `g^0 … g^15`) it stands for, so that membership and coordinates are a
/// 16-step elimination.
fn subfield_echelon() -> &'static [(u128, u32, u16); 16] {
    static TABLE: std::sync::OnceLock<[(u128, u32, u16); 16]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut rows: Vec<(u128, u16)> = SUBFIELD_BASIS
            .iter()
            .enumerate()
            .map(|(k, &b)| (b, 1u16 << k))
            .collect();
        let mut out = [(0u128, 0u32, 0u16); 16];
        for (slot, i) in out.iter_mut().zip(0..16) {
            // The basis is linearly independent: every remaining row has a highest bit.
            let (v, c) = rows.get(i).copied().unwrap_or((1, 0));
            let pivot = 127 - v.leading_zeros();
            for r in rows.iter_mut().skip(i + 1) {
                if (r.0 >> pivot) & 1 == 1 {
                    r.0 ^= v;
                    r.1 ^= c;
                }
            }
            *slot = (v, pivot, c);
        }
        out
    })
}

impl Gf2_128 {
    /// The coordinates `u` with `self = of_subfield(u)`, if the element lies in GF(2^16).
    #[must_use]
    pub fn to_subfield(self) -> Option<u16> {
        let mut v = self.0;
        let mut u = 0u16;
        for &(row, pivot, coords) in subfield_echelon() {
            if (v >> pivot) & 1 == 1 {
                v ^= row;
                u ^= coords;
            }
        }
        (v == 0).then_some(u)
    }

    /// The product computed by the portable code whatever the build (for tests).
    #[doc(hidden)]
    #[must_use]
    pub fn mul_portable(self, rhs: Self) -> Self {
        let (lo, hi) = clmul128_portable(self.0, rhs.0);
        Self(reduce(lo, hi))
    }

    /// The subfield element with coordinates `u` in the basis `g^0 … g^15`.
    #[must_use]
    pub fn of_subfield(u: u16) -> Self {
        let mut acc = 0u128;
        for (k, b) in SUBFIELD_BASIS.iter().enumerate() {
            if (u >> k) & 1 == 1 {
                acc ^= b;
            }
        }
        Self(acc)
    }

    /// Zero.
    pub const ZERO: Self = Self(0);
    /// One.
    pub const ONE: Self = Self(1);
    /// The generator `x`.
    pub const X: Self = Self(2);

    /// `self^(2^k)`.
    pub fn square_times(self, k: u32) -> Self {
        (0..k).fold(self, |a, _| a * a)
    }
}

impl Field for Gf2_128 {
    const ZERO: Self = Self::ZERO;
    const ONE: Self = Self::ONE;
    const BYTES: usize = 16;
    const CIRCUIT_FIELD_ID: u64 = 4;

    fn circuit_id_prefix() -> Vec<u8> {
        [2u64.to_le_bytes(), 128u64.to_le_bytes()].concat()
    }

    fn from_u64(v: u64) -> Self {
        // The image of an integer in a field of characteristic 2 is its parity.
        Self(u128::from(v & 1))
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        Some(Self(u128::from_le_bytes(bytes.try_into().ok()?)))
    }

    fn write_bytes(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_le_bytes());
    }

    const XOR_POINTS: bool = true;
    const SUBFIELD_BYTES: usize = 2;

    fn from_subfield_bytes(bytes: &[u8]) -> Option<Self> {
        Some(Self::of_subfield(u16::from_le_bytes(
            bytes.try_into().ok()?,
        )))
    }

    fn write_subfield_bytes(&self, out: &mut Vec<u8>) -> bool {
        match self.to_subfield() {
            Some(u) => {
                out.extend_from_slice(&u.to_le_bytes());
                true
            }
            None => false,
        }
    }

    fn dot(a: &[Self], b: &[Self]) -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(sum) = super::clmul_x86::dot(a, b) {
            return sum;
        }
        a.iter()
            .zip(b)
            .fold(Self::ZERO, |acc, (&x, &y)| acc + x * y)
    }

    fn mul_pairs(a: &[Self], b: &[Self], out: &mut [Self]) {
        #[cfg(target_arch = "x86_64")]
        if super::clmul_x86::mul_pairs(a, b, out) {
            return;
        }
        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
            *o = x * y;
        }
    }

    fn dot4(a: &[Self], b: &[Self], c: &[Self], d: &[Self]) -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(sum) = super::clmul_x86::dot4(a, b, c, d) {
            return sum;
        }
        a.iter()
            .zip(b)
            .zip(c.iter().zip(d))
            .fold(Self::ZERO, |acc, ((&w, &x), (&y, &z))| acc + w * x * y * z)
    }

    fn of_scalar(u: u64) -> Self {
        Self::of_subfield(u16::try_from(u & 0xffff).unwrap_or_default())
    }

    fn inv(self) -> Option<Self> {
        // a^(2^128 − 2) = (a^(2^127 − 1))^2, by an addition chain on the exponent's ones.
        if self.0 == 0 {
            return None;
        }
        // t_k = a^(2^k − 1); t_{2k} = t_k^(2^k) · t_k; t_{k+1} = t_k^2 · a.
        let mut t = self; // k = 1
        let mut k = 1u32;
        // 127 = 0b1111111: from k = 1, double and add one, six times.
        for _ in 0..6 {
            t = t.square_times(k) * t;
            k *= 2;
            t = t * t * self;
            k += 1;
        }
        debug_assert_eq!(k, 127);
        Some(t * t)
    }
}

impl Add for Gf2_128 {
    type Output = Self;
    #[inline]
    fn add(self, rhs: Self) -> Self {
        Self(self.0 ^ rhs.0)
    }
}
impl Sub for Gf2_128 {
    type Output = Self;
    #[inline]
    fn sub(self, rhs: Self) -> Self {
        Self(self.0 ^ rhs.0)
    }
}
impl Neg for Gf2_128 {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        self
    }
}
impl Mul for Gf2_128 {
    type Output = Self;
    #[inline]
    fn mul(self, rhs: Self) -> Self {
        #[cfg(target_arch = "x86_64")]
        if let Some(product) = super::clmul_x86::mul(self.0, rhs.0) {
            return Self(product);
        }
        self.mul_portable(rhs)
    }
}
impl AddAssign for Gf2_128 {
    #[inline]
    fn add_assign(&mut self, rhs: Self) {
        self.0 ^= rhs.0;
    }
}
impl SubAssign for Gf2_128 {
    #[inline]
    fn sub_assign(&mut self, rhs: Self) {
        self.0 ^= rhs.0;
    }
}
impl MulAssign for Gf2_128 {
    #[inline]
    fn mul_assign(&mut self, rhs: Self) {
        *self = *self * rhs;
    }
}
