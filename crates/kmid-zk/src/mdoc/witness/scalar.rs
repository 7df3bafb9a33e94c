//! 256-bit integers and arithmetic modulo the P-256 group order `n`, for the few scalar
//! operations an ECDSA witness needs (`s⁻¹`, `e·s⁻¹`, `r·s⁻¹`): simple and exact rather than
//! fast.

/// A 256-bit unsigned integer, little-endian 64-bit limbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct U256(pub(crate) [u64; 4]);

impl Ord for U256 {
    /// Numeric order: the most significant limb first.
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        self.0.iter().rev().cmp(other.0.iter().rev())
    }
}

impl PartialOrd for U256 {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The order of the P-256 group.
pub(crate) const N: U256 = U256([
    0xf3b9_cac2_fc63_2551,
    0xbce6_faad_a717_9e84,
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_0000_0000,
]);

impl U256 {
    /// From 32 big-endian bytes.
    pub(crate) fn from_be(bytes: &[u8; 32]) -> Self {
        let mut limbs = [0u64; 4];
        for (i, limb) in limbs.iter_mut().enumerate() {
            let start = 32 - 8 * (i + 1);
            let mut b = [0u8; 8];
            b.copy_from_slice(bytes.get(start..start + 8).unwrap_or(&[0; 8]));
            *limb = u64::from_be_bytes(b);
        }
        Self(limbs)
    }

    /// Bit `i` (0 = least significant).
    pub(crate) fn bit(&self, i: usize) -> bool {
        self.0.get(i / 64).is_some_and(|l| (l >> (i % 64)) & 1 == 1)
    }

    fn add_carry(self, rhs: Self) -> (Self, bool) {
        let mut out = [0u64; 4];
        let mut carry = false;
        for (o, (a, b)) in out.iter_mut().zip(self.0.iter().zip(rhs.0)) {
            let (s1, c1) = a.overflowing_add(b);
            let (s2, c2) = s1.overflowing_add(u64::from(carry));
            *o = s2;
            carry = c1 || c2;
        }
        (Self(out), carry)
    }

    fn sub_borrow(self, rhs: Self) -> (Self, bool) {
        let mut out = [0u64; 4];
        let mut borrow = false;
        for (o, (a, b)) in out.iter_mut().zip(self.0.iter().zip(rhs.0)) {
            let (d1, b1) = a.overflowing_sub(b);
            let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
            *o = d2;
            borrow = b1 || b2;
        }
        (Self(out), borrow)
    }

    /// `self mod n` for `self < 2n` (one subtraction).
    pub(crate) fn reduce_once(self) -> Self {
        let (d, borrow) = self.sub_borrow(N);
        if borrow { self } else { d }
    }

    /// `(self + rhs) mod n` for both below `n`.
    fn add_mod(self, rhs: Self) -> Self {
        let (s, carry) = self.add_carry(rhs);
        let (d, borrow) = s.sub_borrow(N);
        if carry || !borrow { d } else { s }
    }

    /// `n − self` (for `0 < self < n`).
    pub(crate) fn neg_mod(self) -> Self {
        N.sub_borrow(self).0
    }

    /// `(self · rhs) mod n` by double-and-add (both below `n`).
    pub(crate) fn mul_mod(self, rhs: Self) -> Self {
        let mut acc = Self::default();
        for i in (0..256).rev() {
            acc = acc.add_mod(acc);
            if rhs.bit(i) {
                acc = acc.add_mod(self);
            }
        }
        acc
    }

    /// `self⁻¹ mod n` (Fermat; `self` non-zero below `n`).
    pub(crate) fn inv_mod(self) -> Self {
        let e = N.sub_borrow(Self([2, 0, 0, 0])).0;
        let mut acc = Self([1, 0, 0, 0]);
        for i in (0..256).rev() {
            acc = acc.mul_mod(acc);
            if e.bit(i) {
                acc = acc.mul_mod(self);
            }
        }
        acc
    }

    /// As a P-256 base-field element (every value below `n` is below `p`).
    pub(crate) fn to_fp(self) -> crate::field::Fp256 {
        crate::field::Fp256::from_canonical_limbs(self.0).unwrap_or(crate::field::Fp256::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::{N, U256};

    #[test]
    fn order_and_inverse() {
        let small = U256([u64::MAX, 0, 0, 1]);
        let big = U256([0, 0, 0, 2]);
        assert!(small < big, "compared by the most significant limb");
        assert!(N > small);
        let a = U256([12345, 678, 9, 10]);
        assert_eq!(a.mul_mod(a.inv_mod()), U256([1, 0, 0, 0]));
        assert_eq!(
            a.neg_mod().reduce_once().mul_mod(U256([1, 0, 0, 0])),
            a.neg_mod()
        );
    }
}
