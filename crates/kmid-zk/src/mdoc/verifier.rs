//! Verifying an mdoc proof: six MAC tags, the hash circuit's proof, the signature circuit's
//! proof, over one transcript that starts with the session transcript.

use kmid_crypto::{CryptoProvider, HashAlgorithm};

use super::circuits::{MdocCircuits, Spec};
use super::statement::{self, Statement};
use crate::error::ZkError;
use crate::field::{Fp256, Gf2_128};
use crate::reader::Reader;
use crate::transcript::Transcript;
use crate::zk;

/// A verifier for one published circuit bundle (load once, verify many).
#[derive(Debug, Clone)]
pub struct MdocVerifier {
    spec: Spec,
    signature: zk::Verifier<Fp256>,
    hash: zk::Verifier<Gf2_128>,
}

/// A proof read against a bundle: the six MAC tags, the two circuits' proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdocProof {
    macs: [Gf2_128; 6],
    hash: zk::Proof<Gf2_128>,
    signature: zk::Proof<Fp256>,
}

impl MdocVerifier {
    /// Prepares the two circuits' verifiers.
    ///
    /// # Errors
    /// [`ZkError::CircuitMismatch`] if the spec's Ligero parameters give no tableau.
    pub fn new(circuits: MdocCircuits) -> Result<Self, ZkError> {
        let spec = circuits.spec;
        Ok(Self {
            spec,
            signature: zk::Verifier::new(
                circuits.signature,
                spec.rateinv,
                spec.nreq,
                spec.block_enc_sig,
            )?,
            hash: zk::Verifier::new(circuits.hash, spec.rateinv, spec.nreq, spec.block_enc_hash)?,
        })
    }

    /// The bundle's parameters.
    #[must_use]
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// Reads proof bytes against this bundle's shapes: six MAC tags, the hash circuit's proof,
    /// the signature circuit's proof, nothing after. Memory is bounded by the input's length.
    ///
    /// # Errors
    /// [`ZkError::MalformedProof`] naming the offset and what was expected there.
    pub fn read_proof(&self, proof: &[u8]) -> Result<MdocProof, ZkError> {
        let mut r = Reader::new(proof);
        let mut macs = [Gf2_128::ZERO; 6];
        for m in &mut macs {
            *m = r.element("MAC tag")?;
        }
        let hash = self.hash.read(&mut r)?;
        let signature = self.signature.read(&mut r)?;
        if r.remaining() != 0 {
            return Err(ZkError::MalformedProof {
                at: r.position(),
                what: "end of proof",
            });
        }
        Ok(MdocProof {
            macs,
            hash,
            signature,
        })
    }

    /// Verifies `proof` for `statement`.
    ///
    /// # Errors
    /// [`ZkError::MalformedProof`] for bytes that are not a proof for this bundle,
    /// [`ZkError::Statement`] for a statement the circuits cannot express,
    /// [`ZkError::CircuitMismatch`] for the wrong number of attributes, and
    /// [`ZkError::Refused`] (naming the check) for a proof that is false for this statement.
    pub fn verify(
        &self,
        provider: &CryptoProvider,
        statement: &Statement<'_>,
        proof: &[u8],
    ) -> Result<(), ZkError> {
        // A statement this circuit cannot take is refused before its proof is read.
        if statement.attributes.len() != self.spec.attributes {
            return Err(ZkError::CircuitMismatch("attribute count"));
        }
        let parts = self.read_proof(proof)?;
        self.verify_proof(provider, statement, &parts)
    }

    /// Verifies a proof already read with [`Self::read_proof`].
    ///
    /// # Errors
    /// As [`Self::verify`].
    pub fn verify_proof(
        &self,
        provider: &CryptoProvider,
        statement: &Statement<'_>,
        parts: &MdocProof,
    ) -> Result<(), ZkError> {
        if statement.attributes.len() != self.spec.attributes {
            return Err(ZkError::CircuitMismatch("attribute count"));
        }
        let device_hash: [u8; 32] = HashAlgorithm::Sha256
            .hasher_on(provider)
            .finish_with(&statement::device_signed_bytes(statement))?;
        let mut t = Transcript::new(provider, statement.session_transcript);
        t.write_bytes(&parts.hash.root);
        t.write_bytes(&parts.signature.root);
        let mut av = [0u8; 16];
        t.read_bytes(&mut av)?;
        let av = Gf2_128(u128::from_le_bytes(av));
        let public =
            statement::public_inputs(self.spec.version, statement, &parts.macs, av, &device_hash)?;
        self.hash
            .verify(provider, &public.hash, &parts.hash, &mut t)?;
        self.signature
            .verify(provider, &public.signature, &parts.signature, &mut t)
    }
}

trait FinishWith {
    fn finish_with(self, data: &[u8]) -> Result<[u8; 32], ZkError>;
}

impl FinishWith for kmid_crypto::Hasher {
    fn finish_with(mut self, data: &[u8]) -> Result<[u8; 32], ZkError> {
        self.update(data);
        self.finish()
            .as_slice()
            .try_into()
            .map_err(|_| ZkError::Crypto)
    }
}
