//! Proving an mdoc statement: the witness of both circuits from the credential, both
//! commitments, the MAC key from the transcript, then the hash circuit's proof and the
//! signature circuit's, on one transcript that starts with the session transcript.

use kmid_crypto::{CryptoProvider, HashAlgorithm, Random};

use super::circuits::{MdocCircuits, Spec};
use super::statement::{self, Statement, fp_from_be};
use super::witness::hash::{self, Mso};
use super::witness::scalar::U256;
use super::witness::signature::{self, Ecdsa};
use crate::error::ZkError;
use crate::field::{Field, Fp256, Gf2_128};
use crate::prove::Prover;
use crate::transcript::Transcript;

/// What the prover needs of a credential and of its presentation for this session, as they
/// are on the wire.
#[derive(Debug, Clone, Copy)]
pub struct Credential<'a> {
    /// The issuer's COSE_Sign1 protected header bytes (the circuit requires `A1 01 26`).
    pub issuer_protected: &'a [u8],
    /// The issuer's COSE_Sign1 payload: `#6.24(bstr .cbor MobileSecurityObject)`, encoded.
    pub issuer_payload: &'a [u8],
    /// The issuer's signature, `r ‖ s`.
    pub issuer_signature: &'a [u8],
    /// The device's signature over DeviceAuthentication for this session, `r ‖ s` (empty
    /// device-signed namespaces, ES256).
    pub device_signature: &'a [u8],
    /// Each disclosed attribute's `IssuerSignedItemBytes` (`#6.24(bstr)`, encoded), in the
    /// statement's order.
    pub items: &'a [&'a [u8]],
}

/// A prover for one published bundle.
#[derive(Debug, Clone)]
pub struct MdocProver {
    spec: Spec,
    signature: Prover<Fp256>,
    hash: Prover<Gf2_128>,
}

fn refuse(what: &'static str) -> ZkError {
    ZkError::Statement(what)
}

fn sha256(provider: &CryptoProvider, data: &[u8]) -> Result<[u8; 32], ZkError> {
    let mut h = HashAlgorithm::Sha256.hasher_on(provider);
    h.update(data);
    h.finish()
        .as_slice()
        .try_into()
        .map_err(|_| ZkError::Crypto)
}

fn rs(sig: &[u8]) -> Result<(U256, U256), ZkError> {
    let r: &[u8; 32] = sig
        .get(..32)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| refuse("a signature that is not r ‖ s"))?;
    let s: &[u8; 32] = sig
        .get(32..)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| refuse("a signature that is not r ‖ s"))?;
    Ok((U256::from_be(r), U256::from_be(s)))
}

impl MdocProver {
    /// Prepares both circuits' provers.
    ///
    /// # Errors
    /// [`ZkError::CircuitMismatch`] if the spec's parameters give no tableau.
    pub fn new(circuits: MdocCircuits) -> Result<Self, ZkError> {
        let spec = circuits.spec;
        Ok(Self {
            spec,
            signature: Prover::new(
                circuits.signature,
                spec.rateinv,
                spec.nreq,
                spec.block_enc_sig,
            )?,
            hash: Prover::new(circuits.hash, spec.rateinv, spec.nreq, spec.block_enc_hash)?,
        })
    }

    /// The bundle's parameters.
    #[must_use]
    pub fn spec(&self) -> &Spec {
        &self.spec
    }

    /// Proves `statement` about `credential`, drawing the MAC keys, the pads and the tableau's
    /// randomness from `random`. Nothing is proven unless the credential satisfies the
    /// statement: the witness is evaluated on both circuits first.
    ///
    /// # Errors
    /// [`ZkError::Statement`] for a credential the circuits cannot take (an MSO too large, an
    /// item too long, another protected header) or that does not satisfy the statement;
    /// [`ZkError::CircuitMismatch`] for the wrong number of attributes.
    pub fn prove(
        &self,
        provider: &CryptoProvider,
        random: &dyn Random,
        statement: &Statement<'_>,
        credential: &Credential<'_>,
    ) -> Result<Vec<u8>, ZkError> {
        let version = self.spec.version;
        if statement.attributes.len() != self.spec.attributes
            || credential.items.len() != self.spec.attributes
        {
            return Err(ZkError::CircuitMismatch("attribute count"));
        }
        if credential.issuer_protected != [0xa1, 0x01, 0x26] {
            return Err(refuse(
                "an issuer signature whose protected header is not {1: -7}",
            ));
        }
        let mso = Mso::read(credential.issuer_payload, version)?;
        let e = U256::from_be(&sha256(provider, &mso.msg)?);
        let device_key = (
            fp_from_be(&mso.device_key.0).ok_or_else(|| refuse("a device key coordinate ≥ p"))?,
            fp_from_be(&mso.device_key.1).ok_or_else(|| refuse("a device key coordinate ≥ p"))?,
        );
        let device_hash = sha256(provider, &statement::device_signed_bytes(statement))?;
        let issuer_key = (
            fp_from_be(statement.issuer_x).ok_or_else(|| refuse("an issuer key coordinate ≥ p"))?,
            fp_from_be(statement.issuer_y).ok_or_else(|| refuse("an issuer key coordinate ≥ p"))?,
        );
        let (ir, is) = rs(credential.issuer_signature)?;
        let (dr, ds) = rs(credential.device_signature)?;
        let issuer = Ecdsa {
            key: issuer_key,
            hash: e,
            r: ir,
            s: is,
        };
        let device = Ecdsa {
            key: device_key,
            hash: U256::from_be(&device_hash),
            r: dr,
            s: ds,
        };

        let mut seed = [0u8; 64];
        random.fill_secret(&mut seed).map_err(|_| ZkError::Crypto)?;
        let mut rng = Transcript::new(provider, &seed);
        let ap: [Gf2_128; 6] = {
            let v: Vec<Gf2_128> = rng.draw_n(6)?;
            core::array::from_fn(|i| v.get(i).copied().unwrap_or_default())
        };
        let items: Vec<(&str, &[u8])> = statement
            .attributes
            .iter()
            .zip(credential.items)
            .map(|(a, x)| (a.namespace, *x))
            .collect();
        let sig_private = signature::private_inputs(e, device_key, &issuer, &device, &ap)?;
        let hash_private = hash::private_inputs(version, &mso, e, device_key, &items, &ap)?;

        let hash_committed = self.hash.commit(provider, &hash_private, &mut rng)?;
        let sig_committed = self.signature.commit(provider, &sig_private, &mut rng)?;
        let mut t = Transcript::new(provider, statement.session_transcript);
        t.write_bytes(&hash_committed.root());
        t.write_bytes(&sig_committed.root());
        let mut av = [0u8; 16];
        t.read_bytes(&mut av)?;
        let av = Gf2_128(u128::from_le_bytes(av));
        let macs = signature::macs(e.to_fp(), device_key, &ap, av);
        let public = statement::public_inputs(version, statement, &macs, av, &device_hash)?;
        let hash_proof = self.hash.prove(&hash_committed, &public.hash, &mut t)?;
        let sig_proof = self
            .signature
            .prove(&sig_committed, &public.signature, &mut t)?;
        let mut out = Vec::with_capacity(400_000);
        for m in &macs {
            m.write_bytes(&mut out);
        }
        hash_proof.write(&mut out)?;
        sig_proof.write(&mut out)?;
        Ok(out)
    }
}
