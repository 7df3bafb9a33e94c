//! Proving: one circuit's commit-and-prove proof (a Ligero commitment to the private inputs
//! and the sumcheck's pads, the padded sumcheck, the Ligero responses).

pub(crate) mod eval;
mod ligero;
mod sumcheck;

use kmid_crypto::CryptoProvider;

use crate::circuit::Circuit;
use crate::error::ZkError;
use crate::field::Field;
use crate::ligero::{Params, Statement};
use crate::merkle::Digest;
use crate::transcript::Transcript;
use crate::zk::Proof;

/// A prover for one circuit.
#[derive(Debug, Clone)]
pub struct Prover<F> {
    circuit: Circuit<F>,
    params: Params,
    /// Each layer's wiring in the sumcheck's canonical order.
    wirings: Vec<sumcheck::Wiring>,
}

/// What a prover committed to, kept until it proves.
#[derive(Debug, Clone)]
pub struct Committed<F> {
    private: Vec<F>,
    pads: Vec<F>,
    commitment: ligero::Commitment<F>,
}

impl<F: Field> Committed<F> {
    /// The commitment's Merkle root (what the transcript receives first).
    #[must_use]
    pub fn root(&self) -> Digest {
        self.commitment.root()
    }
}

impl<F: Field> Prover<F> {
    /// The prover of `circuit` with Ligero at inverse rate `rateinv`, `nreq` opened columns and
    /// codewords of `block_enc` (the verifier's parameters).
    ///
    /// # Errors
    /// [`ZkError::CircuitMismatch`] for parameters that give no tableau.
    pub fn new(
        circuit: Circuit<F>,
        rateinv: usize,
        nreq: usize,
        block_enc: usize,
    ) -> Result<Self, ZkError> {
        let params = Params::for_circuit(&circuit, rateinv, nreq, block_enc)?;
        let wirings = sumcheck::wirings(&circuit);
        Ok(Self {
            circuit,
            params,
            wirings,
        })
    }

    /// The circuit.
    #[must_use]
    pub fn circuit(&self) -> &Circuit<F> {
        &self.circuit
    }

    /// Commits to the private inputs, with fresh pads and tableau randomness from `rng`.
    ///
    /// # Errors
    /// [`ZkError::CircuitMismatch`] for the wrong number of private inputs.
    pub fn commit(
        &self,
        provider: &CryptoProvider,
        private: &[F],
        rng: &mut Transcript<'_>,
    ) -> Result<Committed<F>, ZkError> {
        let c = &self.circuit;
        if private.len() != c.ninputs - c.npub_in {
            return Err(ZkError::CircuitMismatch("private input count"));
        }
        let mut pads = Vec::with_capacity(sumcheck::pad_count(c));
        for layer in &c.layers {
            pads.extend(rng.draw_n::<F>(4 * layer.logw + 2)?);
            let n = pads.len();
            let product = pads.get(n - 2).copied().unwrap_or(F::ZERO)
                * pads.get(n - 1).copied().unwrap_or(F::ZERO);
            pads.push(product);
        }
        let mut witness = private.to_vec();
        witness.extend_from_slice(&pads);
        let quadratic = crate::sumcheck::quadratic_constraints(c);
        // Private inputs below the circuit's subfield boundary lie in the subfield.
        let subfield_witnesses = c.subfield_boundary.saturating_sub(c.npub_in);
        let commitment = ligero::commit(
            provider,
            &self.params,
            &witness,
            subfield_witnesses,
            &quadratic,
            rng,
        )?;
        Ok(Committed {
            private: private.to_vec(),
            pads,
            commitment,
        })
    }

    /// Proves, for `public` inputs, that the committed private inputs satisfy the circuit,
    /// continuing `transcript` (which already holds the commitment's root).
    ///
    /// # Errors
    /// [`ZkError::Statement`] if they do not satisfy it (no proof is made).
    pub fn prove(
        &self,
        committed: &Committed<F>,
        public: &[F],
        transcript: &mut Transcript<'_>,
    ) -> Result<Proof<F>, ZkError> {
        let c = &self.circuit;
        if public.len() != c.npub_in {
            return Err(ZkError::CircuitMismatch("public input count"));
        }
        let mut inputs = public.to_vec();
        inputs.extend_from_slice(&committed.private);
        let wires = eval::evaluate(c, &inputs)?;
        let mut replay = transcript.clone();
        let (sumcheck, wirings) = sumcheck::prove(
            c,
            &self.wirings,
            public,
            wires,
            &committed.pads,
            &mut replay,
        )?;
        let constraints =
            crate::sumcheck::constraints_at(c, public, &sumcheck, transcript, &wirings)?;
        let root = committed.root();
        let statement = Statement {
            root: &root,
            linear: &constraints.linear,
            b: &constraints.b,
            quadratic: &constraints.quadratic,
        };
        let ligero = ligero::respond(&self.params, &committed.commitment, &statement, transcript)?;
        Ok(Proof {
            root,
            sumcheck,
            ligero,
        })
    }
}

#[cfg(test)]
mod tests;
