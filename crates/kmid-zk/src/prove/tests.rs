//! Proofs of small circuits, checked by the verifier.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use kmid_crypto::CryptoProvider;

use super::Prover;
use crate::circuit::{Circuit, Layer, Term, ceil_log2};
use crate::error::ZkError;
use crate::field::{Field, Fp256, Gf2_128};
use crate::transcript::Transcript;
use crate::zk::Verifier;

/// `y = x²` with `x` public and `y` private: inputs `[1, x, y]`; layer 1 computes
/// `[1·1, x·x, y·1, x·x − y·1]`, layer 0 `x·x·1 − y·1` (which must be zero), and asserts
/// `(x·x − y)·1 = 0` once more with a zero-coefficient term.
fn square<F: Field>() -> Circuit<F> {
    let t = |g, h0, h1, v| Term { g, h0, h1, v };
    Circuit {
        nv: 1,
        logv: 0,
        nc: 1,
        logc: 0,
        ninputs: 3,
        npub_in: 2,
        subfield_boundary: 0,
        constants: vec![F::ONE, -F::ONE, F::ZERO],
        layers: vec![
            Layer {
                logw: 2,
                nw: 4,
                terms: vec![t(0, 1, 0, 0), t(0, 2, 0, 1), t(0, 3, 0, 2)],
            },
            Layer {
                logw: 2,
                nw: 3,
                terms: vec![
                    t(0, 0, 0, 0),
                    t(1, 1, 1, 0),
                    t(2, 2, 0, 0),
                    t(3, 1, 1, 0),
                    t(3, 2, 0, 1),
                ],
            },
        ],
        id: [3; 32],
    }
}

/// A wider random circuit whose outputs are zero by construction: random products over the
/// inputs, then each output is one of them minus its value (a constant), times the one wire.
fn random_circuit<F: Field>(seed: u64, inputs: &[F], layers: usize) -> Circuit<F> {
    let mut x = seed;
    let mut next = |bound: usize| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        usize::try_from(x >> 33).unwrap() % bound
    };
    let t = |g: usize, h0: usize, h1: usize, v: usize| Term {
        g: u32::try_from(g).unwrap(),
        h0: u32::try_from(h0).unwrap(),
        h1: u32::try_from(h1).unwrap(),
        v: u32::try_from(v).unwrap(),
    };
    let mut constants = vec![F::ONE, F::from_u64(3), F::ZERO - F::from_u64(5)];
    // Build from the inputs upwards, evaluating as we go; wire 0 of every layer is one.
    let mut values = inputs.to_vec();
    let mut built = Vec::new();
    for _ in 0..layers {
        let width = 2 + next(12);
        let mut terms = vec![t(0, 0, 0, 0)];
        let mut out = vec![F::ONE];
        for g in 1..width {
            let mut value = F::ZERO;
            for _ in 0..1 + next(3) {
                let (a, b, v) = (next(values.len()), next(values.len()), next(3));
                terms.push(t(g, a, b, v));
                value += constants[v] * values[a] * values[b];
            }
            out.push(value);
        }
        built.push(Layer {
            logw: ceil_log2(values.len()).max(1),
            nw: values.len(),
            terms,
        });
        values = out;
    }
    // The output layer: out_g = values[g]·1 − value_g·1·1.
    let mut terms = Vec::new();
    for (g, &v) in values.iter().enumerate() {
        terms.push(t(g, g, 0, 0));
        // (A zero coefficient would make the term an assertion that 1·1 = 0.)
        if v != F::ZERO {
            constants.push(-v);
            terms.push(t(g, 0, 0, constants.len() - 1));
        }
    }
    built.push(Layer {
        logw: ceil_log2(values.len()).max(1),
        nw: values.len(),
        terms,
    });
    built.reverse();
    Circuit {
        nv: values.len(),
        logv: ceil_log2(values.len()),
        nc: 1,
        logc: 0,
        ninputs: inputs.len(),
        npub_in: 2,
        subfield_boundary: 0,
        constants,
        layers: built,
        id: [9; 32],
    }
}

fn prove_and_verify<F: Field>(
    circuit: Circuit<F>,
    public: &[F],
    private: &[F],
) -> Result<(), ZkError> {
    let provider = CryptoProvider::get_default();
    let (rateinv, nreq, block_enc) = (3, 6, 99);
    let prover = Prover::new(circuit.clone(), rateinv, nreq, block_enc)?;
    let mut rng = Transcript::new(provider, b"test randomness");
    let committed = prover.commit(provider, private, &mut rng)?;
    let mut t = Transcript::new(provider, b"session");
    t.write_bytes(&committed.root());
    let proof = prover.prove(&committed, public, &mut t)?;
    let verifier = Verifier::new(circuit, rateinv, nreq, block_enc)?;
    let mut t = Transcript::new(provider, b"session");
    t.write_bytes(&proof.root);
    let mut bytes = Vec::new();
    proof.write(&mut bytes)?;
    let read = verifier.read_bytes(&bytes)?;
    assert_eq!(read, proof);
    verifier.verify(provider, public, &proof, &mut t)
}

#[test]
fn squares_prove_and_verify() {
    let x = Fp256::from_u64(12345);
    assert_eq!(
        prove_and_verify(square(), &[Fp256::ONE, x], &[x * x]),
        Ok(())
    );
    let g = Gf2_128(0xdead_beef);
    assert_eq!(
        prove_and_verify(square(), &[Gf2_128::ONE, g], &[g * g]),
        Ok(())
    );
    // A false witness: the prover refuses.
    assert_eq!(
        prove_and_verify(square(), &[Fp256::ONE, x], &[x])
            .unwrap_err()
            .code(),
        "Zk.Statement"
    );
}

#[test]
fn random_circuits_prove_and_verify() {
    for seed in 0..6u64 {
        let inputs: Vec<Fp256> = (0..20)
            .map(|i| {
                if i == 0 {
                    Fp256::ONE
                } else {
                    Fp256::from_u64(seed * 100 + i)
                }
            })
            .collect();
        let c = random_circuit(seed, &inputs, 1 + usize::try_from(seed % 3).unwrap());
        assert_eq!(
            prove_and_verify(c, &inputs[..2], &inputs[2..]),
            Ok(()),
            "Fp256 seed {seed}"
        );
        let inputs: Vec<Gf2_128> = (0..20)
            .map(|i| {
                if i == 0 {
                    Gf2_128::ONE
                } else {
                    Gf2_128(u128::from(seed) << 64 | i)
                }
            })
            .collect();
        let c = random_circuit(seed, &inputs, 1 + usize::try_from(seed % 3).unwrap());
        assert_eq!(
            prove_and_verify(c, &inputs[..2], &inputs[2..]),
            Ok(()),
            "GF seed {seed}"
        );
    }
}
