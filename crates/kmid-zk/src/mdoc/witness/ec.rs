//! P-256 over its base field, as the signature circuit computes it: projective points and the
//! complete formulas of Renes, Costello and Batina (IACR ePrint 2015/1060, Algorithms 4 and 6,
//! a = −3). The circuit checks every intermediate accumulator's three coordinates, so the
//! prover must compute them with exactly these formulas.

use crate::field::{Field, Fp256};

use super::scalar::U256;

/// `b` of `y² = x³ − 3x + b`.
fn b() -> Fp256 {
    fp_be("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b")
}

/// A big-endian hex constant (64 digits) as a field element.
fn fp_be(hex: &str) -> Fp256 {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        let start = 64 - 16 * (i + 1);
        *limb = hex
            .get(start..start + 16)
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .unwrap_or(0);
    }
    Fp256::from_canonical_limbs(limbs).unwrap_or(Fp256::ZERO)
}

/// A projective point `(X : Y : Z)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Point {
    pub(crate) x: Fp256,
    pub(crate) y: Fp256,
    pub(crate) z: Fp256,
}

impl Point {
    /// The point at infinity, `(0 : 1 : 0)`.
    pub(crate) const IDENTITY: Self = Self {
        x: Fp256::ZERO,
        y: Fp256::ONE,
        z: Fp256::ZERO,
    };

    /// The generator.
    pub(crate) fn generator() -> Self {
        Self::affine(
            fp_be("6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"),
            fp_be("4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"),
        )
    }

    /// `(x : y : 1)`.
    pub(crate) fn affine(x: Fp256, y: Fp256) -> Self {
        Self {
            x,
            y,
            z: Fp256::ONE,
        }
    }

    /// Whether `(x, y)` is on the curve.
    pub(crate) fn on_curve(x: Fp256, y: Fp256) -> bool {
        y * y == x * x * x - Fp256::from_u64(3) * x + b()
    }

    /// The affine coordinates; `None` at infinity.
    pub(crate) fn to_affine(self) -> Option<(Fp256, Fp256)> {
        let inv = self.z.inv()?;
        Some((self.x * inv, self.y * inv))
    }

    /// Algorithm 4: complete addition.
    pub(crate) fn add(self, rhs: Self) -> Self {
        let (x1, y1, z1) = (self.x, self.y, self.z);
        let (x2, y2, z2) = (rhs.x, rhs.y, rhs.z);
        let b = b();
        let t0 = x1 * x2;
        let t1 = y1 * y2;
        let t2 = z1 * z2;
        let t3 = (x1 + y1) * (x2 + y2);
        let t4 = t0 + t1;
        let t3 = t3 - t4;
        let t4 = (y1 + z1) * (y2 + z2);
        let x3 = t1 + t2;
        let t4 = t4 - x3;
        let x3 = (x1 + z1) * (x2 + z2);
        let y3 = t0 + t2;
        let y3 = x3 - y3;
        let z3 = b * t2;
        let x3 = y3 - z3;
        let z3 = x3 + x3;
        let x3 = x3 + z3;
        let z3 = t1 - x3;
        let x3 = t1 + x3;
        let y3 = b * y3;
        let t1 = t2 + t2;
        let t2 = t1 + t2;
        let y3 = y3 - t2;
        let y3 = y3 - t0;
        let t1 = y3 + y3;
        let y3 = t1 + y3;
        let t1 = t0 + t0;
        let t0 = t1 + t0;
        let t0 = t0 - t2;
        let t1 = t4 * y3;
        let t2 = t0 * y3;
        let y3 = x3 * z3;
        let y3 = y3 + t2;
        let x3 = t3 * x3;
        let x3 = x3 - t1;
        let z3 = t4 * z3;
        let t1 = t3 * t0;
        let z3 = z3 + t1;
        Self {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// Algorithm 6: doubling.
    pub(crate) fn double(self) -> Self {
        let (x, y, z) = (self.x, self.y, self.z);
        let b = b();
        let t0 = x * x;
        let t1 = y * y;
        let t2 = z * z;
        let t3 = x * y;
        let t3 = t3 + t3;
        let z3 = x * z;
        let z3 = z3 + z3;
        let y3 = b * t2;
        let y3 = y3 - z3;
        let x3 = y3 + y3;
        let y3 = x3 + y3;
        let x3 = t1 - y3;
        let y3 = t1 + y3;
        let y3 = x3 * y3;
        let x3 = x3 * t3;
        let t3 = t2 + t2;
        let t2 = t2 + t3;
        let z3 = b * z3;
        let z3 = z3 - t2;
        let z3 = z3 - t0;
        let t3 = z3 + z3;
        let z3 = z3 + t3;
        let t3 = t0 + t0;
        let t0 = t3 + t0;
        let t0 = t0 - t2;
        let t0 = t0 * z3;
        let y3 = y3 + t0;
        let t0 = y * z;
        let t0 = t0 + t0;
        let z3 = t0 * z3;
        let x3 = x3 - z3;
        let z3 = t0 * t1;
        let z3 = z3 + z3;
        let z3 = z3 + z3;
        Self {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// `k·self` (double and add, most significant bit first).
    pub(crate) fn mul(self, k: &U256) -> Self {
        let mut acc = Self::IDENTITY;
        for i in (0..256).rev() {
            acc = acc.double();
            if k.bit(i) {
                acc = acc.add(self);
            }
        }
        acc
    }
}
