//! The two fields of Longfellow's mdoc circuits: the P-256 base field ([`Fp256`]), in which the
//! signature circuit computes, and GF(2^128) ([`Gf2_128`]), in which the hash circuit computes.

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

    /// The image of a small integer.
    fn from_u64(v: u64) -> Self;
    /// An element from its wire form; `None` unless exactly [`Self::BYTES`] long and canonical.
    fn from_bytes(bytes: &[u8]) -> Option<Self>;
    /// Appends the wire form.
    fn write_bytes(&self, out: &mut Vec<u8>);
    /// The multiplicative inverse; `None` for zero.
    fn inv(self) -> Option<Self>;
}

#[cfg(test)]
mod tests;
