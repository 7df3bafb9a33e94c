//! One circuit's zero-knowledge proof: the Merkle root of the Ligero commitment, the padded
//! sumcheck, and the Ligero opening (google/longfellow-zk `lib/zk/zk_proof.h`).

use kmid_crypto::CryptoProvider;

use crate::circuit::Circuit;
use crate::error::ZkError;
use crate::field::Field;
use crate::ligero::{self, Params, Tables};
use crate::merkle::Digest;
use crate::reader::Reader;
use crate::sumcheck;
use crate::transcript::Transcript;

/// A circuit ready to verify with: its Ligero shape and interpolation tables.
#[derive(Debug, Clone)]
pub struct Verifier<F> {
    circuit: Circuit<F>,
    params: Params,
    tables: Tables<F>,
}

/// The witnesses of a circuit's proof: its private inputs and every layer's pads.
#[must_use]
pub fn witness_count<F: Field>(circuit: &Circuit<F>) -> usize {
    circuit.ninputs - circuit.npub_in + circuit.layers.iter().map(|l| 4 * l.logw + 3).sum::<usize>()
}

impl<F: Field> Verifier<F> {
    /// The verifier of `circuit` with Ligero at inverse rate `rateinv`, `nreq` opened columns
    /// and codewords of `block_enc`.
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
        Ok(Self {
            circuit,
            params,
            tables: Tables::new(&params),
        })
    }

    /// The circuit.
    #[must_use]
    pub fn circuit(&self) -> &Circuit<F> {
        &self.circuit
    }

    /// The Ligero shape.
    #[must_use]
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Verifies `proof` for `public` inputs, continuing `transcript` (which already holds the
    /// commitment's root).
    ///
    /// # Errors
    /// [`ZkError::Refused`] naming the failed check.
    pub fn verify(
        &self,
        provider: &CryptoProvider,
        public: &[F],
        proof: &Proof<F>,
        transcript: &mut Transcript<'_>,
    ) -> Result<(), ZkError> {
        let c = sumcheck::constraints(&self.circuit, public, &proof.sumcheck, transcript)?;
        if c.nw != self.params.nw {
            return Err(ZkError::CircuitMismatch("witness count"));
        }
        let statement = ligero::Statement {
            root: &proof.root,
            linear: &c.linear,
            b: &c.b,
            quadratic: &c.quadratic,
        };
        ligero::verify(
            provider,
            &self.params,
            &self.tables,
            &statement,
            &proof.ligero,
            transcript,
        )
    }

    /// Reads a whole proof for this circuit (nothing may follow it).
    ///
    /// # Errors
    /// [`ZkError::MalformedProof`].
    pub fn read_bytes(&self, bytes: &[u8]) -> Result<Proof<F>, ZkError> {
        let mut r = Reader::new(bytes);
        let proof = self.read(&mut r)?;
        if r.remaining() != 0 {
            return Err(r.error("end of proof"));
        }
        Ok(proof)
    }

    /// Reads a proof for this circuit from the front of `r`.
    pub(crate) fn read(&self, r: &mut Reader<'_>) -> Result<Proof<F>, ZkError> {
        let root = r.digest("commitment root")?;
        let sumcheck = sumcheck::Proof::read(&self.circuit, r)?;
        let ligero = ligero::Proof::read(&self.params, r)?;
        Ok(Proof {
            root,
            sumcheck,
            ligero,
        })
    }
}

/// One circuit's proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof<F> {
    /// The Merkle root of the Ligero commitment.
    pub root: Digest,
    pub(crate) sumcheck: sumcheck::Proof<F>,
    pub(crate) ligero: ligero::Proof<F>,
}

impl<F: Field> Proof<F> {
    /// Appends the wire form.
    ///
    /// # Errors
    /// A proof too large for the format's 32-bit counts.
    pub fn write(&self, out: &mut Vec<u8>) -> Result<(), ZkError> {
        out.extend_from_slice(&self.root);
        self.sumcheck.write(out);
        self.ligero.write(out)
    }
}
