//! Evaluating a circuit on its inputs: every layer's input wires, and the outputs.

use crate::circuit::Circuit;
use crate::error::ZkError;
use crate::field::Field;

/// The wires of an evaluated circuit: `inputs[ly]` are layer `ly`'s inputs (the circuit's
/// inputs for the last layer, layer `ly + 1`'s outputs otherwise). The outputs are all zero.
#[derive(Debug, Clone)]
pub(crate) struct Wires<F> {
    pub(crate) inputs: Vec<Vec<F>>,
}

fn at<F: Copy>(v: &[F], i: u32) -> Result<F, ZkError> {
    usize::try_from(i)
        .ok()
        .and_then(|i| v.get(i))
        .copied()
        .ok_or(ZkError::CircuitMismatch("wire index"))
}

/// Evaluates `circuit` on `inputs` (public then private). Terms with a zero coefficient assert
/// their product is zero; a witness that breaks one, or leaves an output non-zero, does not
/// satisfy the circuit.
///
/// # Errors
/// [`ZkError::Statement`] when the inputs do not satisfy the circuit.
pub(crate) fn evaluate<F: Field>(circuit: &Circuit<F>, inputs: &[F]) -> Result<Wires<F>, ZkError> {
    if inputs.len() != circuit.ninputs {
        return Err(ZkError::CircuitMismatch("input count"));
    }
    let mut layer_inputs = vec![Vec::new(); circuit.layers.len()];
    let mut current = inputs.to_vec();
    let mut outputs = Vec::new();
    for (ly, layer) in circuit.layers.iter().enumerate().rev() {
        let out_len = match ly {
            0 => circuit.nv,
            _ => circuit.layers.get(ly - 1).map_or(0, |l| l.nw),
        };
        let mut out = vec![F::ZERO; out_len];
        // In batches: both hands' wires, their products, then the coefficients' products.
        const CHUNK: usize = 256;
        let (mut left, mut right) = ([F::ZERO; CHUNK], [F::ZERO; CHUNK]);
        let (mut products, mut coefficients, mut terms) =
            ([F::ZERO; CHUNK], [F::ZERO; CHUNK], [F::ZERO; CHUNK]);
        for chunk in layer.terms.chunks(CHUNK) {
            let j = chunk.len();
            for ((t, l), (r, v)) in chunk
                .iter()
                .zip(&mut left)
                .zip(right.iter_mut().zip(&mut coefficients))
            {
                (*l, *r, *v) = (
                    at(&current, t.h0)?,
                    at(&current, t.h1)?,
                    circuit.constant(t),
                );
            }
            let products = products.get_mut(..j).unwrap_or_default();
            F::mul_pairs(&left, &right, products);
            let terms = terms.get_mut(..j).unwrap_or_default();
            F::mul_pairs(&coefficients, products, terms);
            for ((t, &v), (&product, &term)) in chunk
                .iter()
                .zip(&coefficients)
                .zip(products.iter().zip(terms.iter()))
            {
                if v == F::ZERO {
                    if product != F::ZERO {
                        return Err(ZkError::Statement(
                            "the witness does not satisfy the circuit",
                        ));
                    }
                    continue;
                }
                let g = usize::try_from(t.g).map_err(|_| ZkError::CircuitMismatch("wire index"))?;
                *out.get_mut(g)
                    .ok_or(ZkError::CircuitMismatch("wire index"))? += term;
            }
        }
        if let Some(slot) = layer_inputs.get_mut(ly) {
            *slot = core::mem::replace(&mut current, out);
        }
        if ly == 0 {
            outputs = current.clone();
        }
    }
    if outputs.iter().any(|&o| o != F::ZERO) {
        return Err(ZkError::Statement(
            "the witness does not satisfy the circuit",
        ));
    }
    Ok(Wires {
        inputs: layer_inputs,
    })
}
