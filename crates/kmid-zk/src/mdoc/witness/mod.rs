//! The mdoc witness: the private inputs of the two published circuits (google/longfellow-zk
//! `lib/circuits/mdoc/mdoc_witness.h`). Checked against the circuits themselves: evaluating a
//! circuit on its witness leaves every output zero only if the witness is right.

mod ec;
pub(crate) mod hash;
pub(crate) mod scalar;
mod sha;
pub(crate) mod signature;

#[cfg(test)]
mod tests;
