//! The base field of NIST P-256, `p = 2^256 − 2^224 + 2^192 + 2^96 − 1`: the field of the
//! signature circuit. Elements are kept in Montgomery form (`a·2^256 mod p`) in four 64-bit
//! little-endian limbs; they travel as 32 little-endian bytes of the canonical value.

use core::fmt;
use core::ops::{Add, AddAssign, Mul, MulAssign, Neg, Sub, SubAssign};

use super::Field;

/// `p`, little-endian limbs.
const P: [u64; 4] = [
    0xffff_ffff_ffff_ffff,
    0x0000_0000_ffff_ffff,
    0x0000_0000_0000_0000,
    0xffff_ffff_0000_0001,
];
/// `2^256 mod p`: one, in Montgomery form.
const R: [u64; 4] = [
    0x1,
    0xffff_ffff_0000_0000,
    0xffff_ffff_ffff_ffff,
    0xffff_fffe,
];
/// `2^512 mod p`: multiplying by it enters Montgomery form.
const R2: [u64; 4] = [
    0x3,
    0xffff_fffb_ffff_ffff,
    0xffff_ffff_ffff_fffe,
    0x4_ffff_fffd,
];

/// An element of the P-256 base field.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Fp256([u64; 4]);

// The limb helpers truncate a u128 to its halves on purpose.
#[inline(always)]
#[allow(clippy::as_conversions)]
fn adc(a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = u128::from(a) + u128::from(b) + u128::from(carry);
    (t as u64, (t >> 64) as u64)
}

#[inline(always)]
#[allow(clippy::as_conversions)]
fn sbb(a: u64, b: u64, borrow: u64) -> (u64, u64) {
    let t = u128::from(a).wrapping_sub(u128::from(b) + u128::from(borrow >> 63));
    (t as u64, (t >> 64) as u64)
}

#[inline(always)]
#[allow(clippy::as_conversions)]
fn mac(acc: u64, a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = u128::from(acc) + u128::from(a) * u128::from(b) + u128::from(carry);
    (t as u64, (t >> 64) as u64)
}

/// `a − p` if `a ≥ p` (with `hi` the bit above the limbs), else `a`, without a branch on `a`.
#[inline(always)]
fn reduce_once(a: [u64; 4], hi: u64) -> [u64; 4] {
    let (d0, b) = sbb(a[0], P[0], 0);
    let (d1, b) = sbb(a[1], P[1], b);
    let (d2, b) = sbb(a[2], P[2], b);
    let (d3, b) = sbb(a[3], P[3], b);
    let (_, b) = sbb(hi, 0, b);
    // b is all ones when a − p borrowed (a < p): keep a.
    [
        (a[0] & b) | (d0 & !b),
        (a[1] & b) | (d1 & !b),
        (a[2] & b) | (d2 & !b),
        (a[3] & b) | (d3 & !b),
    ]
}

/// Montgomery multiplication, `a·b·2^-256 mod p` (CIOS; `−p^-1 mod 2^64` is 1 for this `p`).
#[inline(always)]
#[allow(clippy::indexing_slicing)] // fixed-size limb arrays indexed by constants
fn mont_mul(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let mut t = [0u64; 6];
    for &bi in b {
        let mut c = 0;
        for j in 0..4 {
            let (v, cc) = mac(t[j], a[j], bi, c);
            t[j] = v;
            c = cc;
        }
        let (v, cc) = adc(t[4], c, 0);
        t[4] = v;
        t[5] = cc;
        let m = t[0];
        let (_, mut c) = mac(t[0], m, P[0], 0);
        for j in 1..4 {
            let (v, cc) = mac(t[j], m, P[j], c);
            t[j - 1] = v;
            c = cc;
        }
        let (v, cc) = adc(t[4], c, 0);
        t[3] = v;
        t[4] = t[5] + cc;
    }
    reduce_once([t[0], t[1], t[2], t[3]], t[4])
}

impl Fp256 {
    /// Zero.
    pub const ZERO: Self = Self([0; 4]);
    /// One.
    pub const ONE: Self = Self(R);

    /// The element whose canonical value is `limbs` (little-endian), if it is below `p`.
    pub fn from_canonical_limbs(limbs: [u64; 4]) -> Option<Self> {
        let (_, b) = sbb(limbs[0], P[0], 0);
        let (_, b) = sbb(limbs[1], P[1], b);
        let (_, b) = sbb(limbs[2], P[2], b);
        let (_, b) = sbb(limbs[3], P[3], b);
        (b != 0).then(|| Self(mont_mul(&limbs, &R2)))
    }

    /// The canonical value, little-endian limbs.
    pub fn to_canonical_limbs(self) -> [u64; 4] {
        mont_mul(&self.0, &[1, 0, 0, 0])
    }

    /// `self^e` for a little-endian exponent.
    pub fn pow(self, e: &[u64; 4]) -> Self {
        let mut acc = Self::ONE;
        for limb in e.iter().rev() {
            for bit in (0..64).rev() {
                acc = acc * acc;
                if (limb >> bit) & 1 == 1 {
                    acc *= self;
                }
            }
        }
        acc
    }
}

impl Field for Fp256 {
    const ZERO: Self = Self::ZERO;
    const ONE: Self = Self::ONE;
    const BYTES: usize = 32;
    const CIRCUIT_FIELD_ID: u64 = 1;

    fn circuit_id_prefix() -> Vec<u8> {
        let mut out = 1u64.to_le_bytes().to_vec();
        (-Self::ONE).write_bytes(&mut out);
        out
    }

    fn from_u64(v: u64) -> Self {
        Self(mont_mul(&[v, 0, 0, 0], &R2))
    }

    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; 32] = bytes.try_into().ok()?;
        let mut limbs = [0u64; 4];
        for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
            *limb = u64::from_le_bytes(chunk.try_into().ok()?);
        }
        Self::from_canonical_limbs(limbs)
    }

    fn write_bytes(&self, out: &mut Vec<u8>) {
        for limb in self.to_canonical_limbs() {
            out.extend_from_slice(&limb.to_le_bytes());
        }
    }

    const SUBFIELD_BYTES: usize = 32;

    fn from_subfield_bytes(bytes: &[u8]) -> Option<Self> {
        Self::from_bytes(bytes)
    }

    fn of_scalar(u: u64) -> Self {
        Self::from_u64(u)
    }

    fn convolve_tail(rows: &[Vec<Self>], h: &[Self], from: usize, to: usize) -> Vec<Vec<Self>> {
        // By the FFT over the quadratic extension (term by term only past its roots of unity,
        // 2^96 entries).
        super::fp2::convolve_tail(rows, h, from, to)
            .unwrap_or_else(|| super::schoolbook_tail(rows, h, from, to))
    }

    fn inv(self) -> Option<Self> {
        // Fermat: a^(p−2).
        (self != Self::ZERO).then(|| {
            let e = [P[0] - 2, P[1], P[2], P[3]];
            self.pow(&e)
        })
    }
}

impl Add for Fp256 {
    type Output = Self;
    #[inline]
    fn add(self, rhs: Self) -> Self {
        let (s0, c) = adc(self.0[0], rhs.0[0], 0);
        let (s1, c) = adc(self.0[1], rhs.0[1], c);
        let (s2, c) = adc(self.0[2], rhs.0[2], c);
        let (s3, c) = adc(self.0[3], rhs.0[3], c);
        Self(reduce_once([s0, s1, s2, s3], c))
    }
}

impl Sub for Fp256 {
    type Output = Self;
    #[inline]
    fn sub(self, rhs: Self) -> Self {
        let (d0, b) = sbb(self.0[0], rhs.0[0], 0);
        let (d1, b) = sbb(self.0[1], rhs.0[1], b);
        let (d2, b) = sbb(self.0[2], rhs.0[2], b);
        let (d3, b) = sbb(self.0[3], rhs.0[3], b);
        // Add p back when the subtraction borrowed (b all ones).
        let (r0, c) = adc(d0, P[0] & b, 0);
        let (r1, c) = adc(d1, P[1] & b, c);
        let (r2, c) = adc(d2, P[2] & b, c);
        let (r3, _) = adc(d3, P[3] & b, c);
        Self([r0, r1, r2, r3])
    }
}

impl Neg for Fp256 {
    type Output = Self;
    #[inline]
    fn neg(self) -> Self {
        Self::ZERO - self
    }
}

impl Mul for Fp256 {
    type Output = Self;
    #[inline]
    fn mul(self, rhs: Self) -> Self {
        Self(mont_mul(&self.0, &rhs.0))
    }
}

impl AddAssign for Fp256 {
    #[inline]
    fn add_assign(&mut self, rhs: Self) {
        *self = *self + rhs;
    }
}
impl SubAssign for Fp256 {
    #[inline]
    fn sub_assign(&mut self, rhs: Self) {
        *self = *self - rhs;
    }
}
impl MulAssign for Fp256 {
    #[inline]
    fn mul_assign(&mut self, rhs: Self) {
        *self = *self * rhs;
    }
}

impl fmt::Debug for Fp256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.to_canonical_limbs();
        write!(
            f,
            "Fp256(0x{:016x}{:016x}{:016x}{:016x})",
            v[3], v[2], v[1], v[0]
        )
    }
}
