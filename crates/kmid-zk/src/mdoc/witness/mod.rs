//! The mdoc witness: the private inputs of the two published circuits (google/longfellow-zk
//! `lib/circuits/mdoc/mdoc_witness.h`). Checked against the circuits themselves: evaluating a
//! circuit on its witness leaves every output zero only if the witness is right.
// The mdoc prover that uses it is being written (issue 23); the tests use it already.
#![cfg_attr(not(test), allow(dead_code))]

mod ec;
mod scalar;
pub(crate) mod signature;

#[cfg(test)]
mod tests;
