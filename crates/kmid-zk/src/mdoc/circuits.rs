//! The published mdoc circuits (google/longfellow-zk `lib/circuits/mdoc/`): one zstd frame
//! holding the signature circuit over the P-256 base field and then the hash circuit over
//! GF(2^128), nothing after. A bundle is named by `SHA-256(id(signature) ‖ id(hash))`.

use std::io::Read;

use kmid_crypto::{CryptoProvider, HashAlgorithm};

use crate::circuit::Circuit;
use crate::error::ZkError;
use crate::field::{Fp256, Gf2_128};

/// Most bytes a circuit bundle may decompress to (google/longfellow-zk's `kCircuitSizeMax`).
pub const MAX_DECOMPRESSED: usize = 130_000_000;

/// The Longfellow mdoc circuit versions this crate knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Version {
    /// Version 6 (one 96-byte buffer per attribute; Ligero rate 1/4, 128 columns opened).
    V6,
    /// Version 7 (32-byte identifier and 64-byte value buffers; rate 1/7, 132 columns).
    V7,
}

impl Version {
    /// The version's number.
    #[must_use]
    pub const fn number(self) -> u32 {
        match self {
            Self::V6 => 6,
            Self::V7 => 7,
        }
    }

    /// The version with this number.
    #[must_use]
    pub const fn from_number(n: u32) -> Option<Self> {
        match n {
            6 => Some(Self::V6),
            7 => Some(Self::V7),
            _ => None,
        }
    }
}

/// One published circuit bundle's parameters (google/longfellow-zk `zk_spec.cc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The version.
    pub version: Version,
    /// How many attributes the statement discloses.
    pub attributes: usize,
    /// The bundle's name.
    pub id: [u8; 32],
    /// Ligero's inverse rate.
    pub rateinv: usize,
    /// Columns opened.
    pub nreq: usize,
    /// Codeword length of the signature circuit's tableau.
    pub block_enc_sig: usize,
    /// Codeword length of the hash circuit's tableau.
    pub block_enc_hash: usize,
}

// Evaluated at compile time only (the table below): a bad literal fails the build.
#[allow(clippy::indexing_slicing, clippy::panic)]
const fn hex32(s: &str) -> [u8; 32] {
    let b = s.as_bytes();
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(b[2 * i]) << 4) | nibble(b[2 * i + 1]);
        i += 1;
    }
    out
}

#[allow(clippy::panic)]
const fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not lowercase hex"),
    }
}

const fn spec(version: Version, attributes: usize, id: &str, block_enc_hash: usize) -> Spec {
    let (rateinv, nreq, block_enc_sig) = match version {
        Version::V6 => (4, 128, 2945),
        Version::V7 => (7, 132, 4096),
    };
    Spec {
        version,
        attributes,
        id: hex32(id),
        rateinv,
        nreq,
        block_enc_sig,
        block_enc_hash,
    }
}

/// Every published bundle this crate verifies and proves with.
pub const SPECS: [Spec; 8] = [
    spec(
        Version::V6,
        1,
        "137e5a75ce72735a37c8a72da1a8a0a5df8d13365c2ae3d2c2bd6a0e7197c7c6",
        4096,
    ),
    spec(
        Version::V6,
        2,
        "b4bb6f01b7043f4f51d8302a30b36e3d4d2d0efc3c24557ab9212ad524a9764e",
        4025,
    ),
    spec(
        Version::V6,
        3,
        "b2211223b954b34a1081e3fbf71b8ea2de28efc888b4be510f532d6ba76c2010",
        4121,
    ),
    spec(
        Version::V6,
        4,
        "c70b5f44a1365c53847eb8948ad5b4fdc224251a2bc02d958c84c862823c49d6",
        4283,
    ),
    spec(
        Version::V7,
        1,
        "8d079211715200ff06c5109639245502bfe94aa869908d31176aae4016182121",
        4151,
    ),
    spec(
        Version::V7,
        2,
        "6a5810683e62b6d7766ebd0d7ca72518a2b8325418142adcadb10d51dbbcd5ad",
        4265,
    ),
    spec(
        Version::V7,
        3,
        "8ee4849ae1293ae6fe5f9082ce3e5e15c4f198f2998c682fa1b727237d6d252f",
        4307,
    ),
    spec(
        Version::V7,
        4,
        "5aebdaaafe17296a3ef3ca6c80c6e7505e09291897c39700410a365fb278e460",
        4415,
    ),
];

/// The spec of a version and attribute count.
#[must_use]
pub fn find_spec(version: Version, attributes: usize) -> Option<&'static Spec> {
    SPECS
        .iter()
        .find(|s| s.version == version && s.attributes == attributes)
}

/// A loaded bundle: its spec and its two circuits.
#[derive(Debug, Clone)]
pub struct MdocCircuits {
    /// The published parameters it was loaded under.
    pub spec: Spec,
    /// The signature circuit (P-256 base field).
    pub signature: Circuit<Fp256>,
    /// The hash circuit (GF(2^128)).
    pub hash: Circuit<Gf2_128>,
}

/// Decompresses a zstd frame (a circuit file), refusing output beyond `limit` bytes.
///
/// # Errors
/// [`ZkError::MalformedCircuit`] for bytes that are not a zstd frame,
/// [`ZkError::CircuitTooLarge`] beyond `limit`.
pub fn decompress(compressed: &[u8], limit: usize) -> Result<Vec<u8>, ZkError> {
    let bad = |what| ZkError::MalformedCircuit { at: 0, what };
    let decoder =
        ruzstd::decoding::StreamingDecoder::new(compressed).map_err(|_| bad("a zstd frame"))?;
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    decoder
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|_| bad("a valid zstd frame"))?;
    if out.len() > limit {
        return Err(ZkError::CircuitTooLarge {
            what: "decompressed size",
        });
    }
    Ok(out)
}

impl MdocCircuits {
    /// Loads a compressed bundle and checks that it is the one `spec` names (the stored IDs;
    /// [`Self::check_ids`] recomputes them from the circuits, which costs a hash of every term).
    ///
    /// # Errors
    /// [`ZkError::MalformedCircuit`], [`ZkError::CircuitTooLarge`], or
    /// [`ZkError::CircuitMismatch`] when the bundle is not `spec`'s.
    pub fn load(
        provider: &CryptoProvider,
        spec: &Spec,
        compressed: &[u8],
    ) -> Result<Self, ZkError> {
        let bytes = decompress(compressed, MAX_DECOMPRESSED)?;
        let (signature, used) = Circuit::<Fp256>::read(&bytes)?;
        let rest = bytes.get(used..).unwrap_or_default();
        let (hash, used_hash) = Circuit::<Gf2_128>::read(rest).map_err(|e| match e {
            ZkError::MalformedCircuit { at, what } => ZkError::MalformedCircuit {
                at: at + used,
                what,
            },
            other => other,
        })?;
        if used_hash != rest.len() {
            return Err(ZkError::MalformedCircuit {
                at: used + used_hash,
                what: "end of bundle",
            });
        }
        let circuits = Self {
            spec: *spec,
            signature,
            hash,
        };
        if circuits.bundle_id(provider)? != spec.id {
            return Err(ZkError::CircuitMismatch("bundle ID"));
        }
        Ok(circuits)
    }

    /// `SHA-256(id(signature) ‖ id(hash))` from the stored IDs.
    ///
    /// # Errors
    /// A provider failure.
    pub fn bundle_id(&self, provider: &CryptoProvider) -> Result<[u8; 32], ZkError> {
        let mut h = HashAlgorithm::Sha256.hasher_on(provider);
        h.update(&self.signature.id);
        h.update(&self.hash.id);
        h.finish()
            .as_slice()
            .try_into()
            .map_err(|_| ZkError::Crypto)
    }

    /// Recomputes both circuits' IDs from their contents and compares them with the stored ones.
    ///
    /// # Errors
    /// [`ZkError::CircuitMismatch`] when either differs.
    pub fn check_ids(&self, provider: &CryptoProvider) -> Result<(), ZkError> {
        if self.signature.compute_id(provider)? != self.signature.id
            || self.hash.compute_id(provider)? != self.hash.id
        {
            return Err(ZkError::CircuitMismatch("circuit ID"));
        }
        Ok(())
    }
}
