//! Layered arithmetic circuits as google/longfellow-zk serializes them (`proto/circuit_reader.h`):
//! a header of 3-byte little-endian sizes, a table of constants, then per layer its input size
//! and its terms `v·W[h0]·W[h1]` feeding output `g`, indices delta-coded against the previous
//! term (a delta's low bit is its sign), and the circuit's 32-byte ID.
//!
//! Layer 0 is the output layer (every output must be zero); the last layer reads the circuit's
//! inputs, the first `npub_in` of them public (input 0 is the constant one).

use kmid_crypto::{CryptoProvider, HashAlgorithm};

use crate::error::ZkError;
use crate::field::Field;

/// Bytes of every size and index in the format.
const SIZE_BYTES: usize = 3;
/// Most layers a circuit may have (`CircuitIO::kMaxLayers`).
const MAX_LAYERS: usize = 10_000;
/// Most input variables of a layer (`LayerProof::kMaxBindings`).
const MAX_BINDINGS: usize = 40;

/// One term of a layer: output `g` receives `v · W[h0] · W[h1]`; `v = 0` marks a term whose
/// product must be zero (its coefficient becomes the layer's challenge β when bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    /// The output wire.
    pub g: u32,
    /// The first input wire.
    pub h0: u32,
    /// The second input wire.
    pub h1: u32,
    /// The index of the coefficient in the circuit's constants.
    pub v: u32,
}

/// A layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layer {
    /// `log2` of the (padded) number of this layer's inputs.
    pub logw: usize,
    /// The number of this layer's inputs.
    pub nw: usize,
    /// The terms.
    pub terms: Vec<Term>,
}

/// A circuit over the field `F`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Circuit<F> {
    /// Outputs.
    pub nv: usize,
    /// `⌈log2 nv⌉`.
    pub logv: usize,
    /// Copies (always 1 in ZK proofs).
    pub nc: usize,
    /// `⌈log2 nc⌉`.
    pub logc: usize,
    /// Inputs (public first).
    pub ninputs: usize,
    /// Public inputs.
    pub npub_in: usize,
    /// Inputs below this index are known to lie in the subfield.
    pub subfield_boundary: usize,
    /// The coefficients terms refer to.
    pub constants: Vec<F>,
    /// The layers, output first.
    pub layers: Vec<Layer>,
    /// The ID stored after the circuit.
    pub id: [u8; 32],
}

/// `⌈log2 n⌉` (0 for n ≤ 1).
#[must_use]
pub fn ceil_log2(n: usize) -> usize {
    let mut l = 0;
    while (1usize << l) < n {
        l += 1;
    }
    l
}

/// A cursor over (trusted or not) circuit bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn fail(&self, what: &'static str) -> ZkError {
        ZkError::MalformedCircuit { at: self.at, what }
    }

    fn have(&self, n: usize) -> bool {
        self.bytes.len().saturating_sub(self.at) >= n
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&[u8], ZkError> {
        let end = self.at.checked_add(n).ok_or(self.fail(what))?;
        let out = self.bytes.get(self.at..end).ok_or(self.fail(what))?;
        self.at = end;
        Ok(out)
    }

    fn size(&mut self, what: &'static str) -> Result<usize, ZkError> {
        let b = self.take(SIZE_BYTES, what)?;
        Ok(b.iter()
            .rev()
            .fold(0usize, |acc, &byte| (acc << 8) | usize::from(byte)))
    }

    /// A delta-coded index: even deltas add, odd ones subtract. A "minus zero" (1) is refused,
    /// so that every circuit has one encoding (the writer never makes it, nor does Google's).
    fn index(&mut self, prev: usize, what: &'static str) -> Result<usize, ZkError> {
        let d = self.size(what)?;
        if d == 1 {
            return Err(self.fail("a canonical index delta"));
        }
        if d & 1 == 1 {
            prev.checked_sub(d >> 1).ok_or(self.fail(what))
        } else {
            Ok(prev + (d >> 1))
        }
    }
}

fn u32_of(v: usize) -> u32 {
    // Every index is read from 3 bytes.
    u32::try_from(v).unwrap_or(u32::MAX)
}

impl<F: Field> Circuit<F> {
    /// Reads one circuit from the front of `bytes`; returns it and the bytes it used. Memory is
    /// bounded by the input: the constants and the terms are counted against the bytes left
    /// before anything is allocated.
    ///
    /// # Errors
    /// [`ZkError::MalformedCircuit`] naming the offset and what was expected there.
    pub fn read(bytes: &[u8]) -> Result<(Self, usize), ZkError> {
        let mut c = Cursor { bytes, at: 0 };
        if c.take(1, "version")? != [1] {
            return Err(ZkError::MalformedCircuit {
                at: 0,
                what: "version 1",
            });
        }
        let field_id = c.size("field ID")?;
        let nv = c.size("nv")?;
        let nc = c.size("nc")?;
        let npub_in = c.size("npub_in")?;
        let subfield_boundary = c.size("subfield boundary")?;
        let ninputs = c.size("ninputs")?;
        let nl = c.size("nl")?;
        let numconst = c.size("constants")?;
        if u64::try_from(field_id).ok() != Some(F::CIRCUIT_FIELD_ID) {
            return Err(ZkError::MalformedCircuit {
                at: 1,
                what: "this field's ID",
            });
        }
        if nv == 0 || nc == 0 || nl == 0 || nl > MAX_LAYERS || npub_in > ninputs {
            return Err(c.fail("sizes in range"));
        }
        if subfield_boundary > ninputs || npub_in == 0 {
            return Err(c.fail("sizes in range"));
        }
        if !c.have(numconst.saturating_mul(F::BYTES)) {
            return Err(c.fail("constants"));
        }
        let mut constants = Vec::with_capacity(numconst);
        for _ in 0..numconst {
            let at = c.at;
            let b = c.take(F::BYTES, "constant")?;
            constants.push(F::from_bytes(b).ok_or(ZkError::MalformedCircuit {
                at,
                what: "canonical constant",
            })?);
        }
        let mut layers = Vec::with_capacity(nl);
        let mut max_g = nv;
        for _ in 0..nl {
            let logw = c.size("layer logw")?;
            if logw == 0 || logw > MAX_BINDINGS {
                return Err(c.fail("layer logw in 1..=40"));
            }
            let nw = c.size("layer nw")?;
            if nw == 0 || nw < logw || nw > 1 << logw {
                return Err(c.fail("layer nw in range"));
            }
            let nq = c.size("layer terms")?;
            if nq == 0 || !c.have(nq.saturating_mul(4 * SIZE_BYTES)) {
                return Err(c.fail("layer terms"));
            }
            let mut terms = Vec::with_capacity(nq);
            let (mut pg, mut ph0, mut ph1) = (0, 0, 0);
            for _ in 0..nq {
                let g = c.index(pg, "term output")?;
                if g >= max_g {
                    return Err(c.fail("term output in range"));
                }
                let h0 = c.index(ph0, "term input")?;
                let h1 = c.index(ph1, "term input")?;
                if h0 >= nw || h1 >= nw {
                    return Err(c.fail("term inputs in range"));
                }
                let v = c.size("term constant")?;
                if v >= numconst {
                    return Err(c.fail("term constant in range"));
                }
                terms.push(Term {
                    g: u32_of(g),
                    h0: u32_of(h0),
                    h1: u32_of(h1),
                    v: u32_of(v),
                });
                (pg, ph0, ph1) = (g, h0, h1);
            }
            layers.push(Layer { logw, nw, terms });
            max_g = nw;
        }
        let id: [u8; 32] = c
            .take(32, "circuit ID")?
            .try_into()
            .map_err(|_| c.fail("circuit ID"))?;
        // The last layer reads the inputs.
        if layers.last().is_some_and(|l| l.nw != ninputs) {
            return Err(c.fail("last layer reads the inputs"));
        }
        Ok((
            Self {
                nv,
                logv: ceil_log2(nv),
                nc,
                logc: ceil_log2(nc),
                ninputs,
                npub_in,
                subfield_boundary,
                constants,
                layers,
                id,
            },
            c.at,
        ))
    }

    /// The coefficient of a term.
    #[must_use]
    pub fn constant(&self, term: &Term) -> F {
        usize::try_from(term.v)
            .ok()
            .and_then(|i| self.constants.get(i))
            .copied()
            .unwrap_or(F::ZERO)
    }

    /// The circuit's ID recomputed from its contents (`sumcheck/circuit_id.h`): SHA-256 over
    /// the field, the sizes, and every term, each number as 8 little-endian bytes.
    ///
    /// # Errors
    /// A provider failure.
    pub fn compute_id(&self, provider: &CryptoProvider) -> Result<[u8; 32], ZkError> {
        let mut h = HashAlgorithm::Sha256.hasher_on(provider);
        let n = |v: usize| u64::try_from(v).unwrap_or(u64::MAX).to_le_bytes();
        h.update(&F::circuit_id_prefix());
        for v in [
            self.nv,
            self.logv,
            self.nc,
            self.logc,
            self.layers.len(),
            self.ninputs,
            self.npub_in,
            self.subfield_boundary,
        ] {
            h.update(&n(v));
        }
        let mut buf = Vec::with_capacity(1 << 16);
        for layer in &self.layers {
            h.update(&buf);
            buf.clear();
            h.update(&n(layer.nw));
            h.update(&n(layer.logw));
            h.update(&n(layer.terms.len()));
            for t in &layer.terms {
                for v in [t.g, t.h0, t.h1] {
                    buf.extend_from_slice(&u64::from(v).to_le_bytes());
                }
                self.constant(t).write_bytes(&mut buf);
                if buf.len() > (1 << 16) - 64 {
                    h.update(&buf);
                    buf.clear();
                }
            }
        }
        h.update(&buf);
        h.finish()
            .as_slice()
            .try_into()
            .map_err(|_| ZkError::Crypto)
    }

    /// The circuit in its file format (what [`Self::read`] reads back, byte for byte).
    ///
    /// # Errors
    /// [`ZkError::CircuitTooLarge`] for a size or index that does not fit in 3 bytes.
    pub fn write(&self) -> Result<Vec<u8>, ZkError> {
        let too_large = || ZkError::CircuitTooLarge {
            what: "a size beyond 3 bytes",
        };
        let mut out = vec![1u8];
        let put = |out: &mut Vec<u8>, v: usize| -> Result<(), ZkError> {
            if v >= 1 << 24 {
                return Err(too_large());
            }
            out.extend_from_slice(v.to_le_bytes().get(..SIZE_BYTES).ok_or_else(too_large)?);
            Ok(())
        };
        let field = usize::try_from(F::CIRCUIT_FIELD_ID).map_err(|_| too_large())?;
        for v in [
            field,
            self.nv,
            self.nc,
            self.npub_in,
            self.subfield_boundary,
            self.ninputs,
            self.layers.len(),
            self.constants.len(),
        ] {
            put(&mut out, v)?;
        }
        for c in &self.constants {
            c.write_bytes(&mut out);
        }
        let delta = |prev: usize, v: usize| {
            if v >= prev {
                2 * (v - prev)
            } else {
                2 * (prev - v) + 1
            }
        };
        for layer in &self.layers {
            put(&mut out, layer.logw)?;
            put(&mut out, layer.nw)?;
            put(&mut out, layer.terms.len())?;
            let (mut pg, mut ph0, mut ph1) = (0usize, 0usize, 0usize);
            for t in &layer.terms {
                let (g, h0, h1) = (
                    usize::try_from(t.g).map_err(|_| too_large())?,
                    usize::try_from(t.h0).map_err(|_| too_large())?,
                    usize::try_from(t.h1).map_err(|_| too_large())?,
                );
                put(&mut out, delta(pg, g))?;
                put(&mut out, delta(ph0, h0))?;
                put(&mut out, delta(ph1, h1))?;
                put(&mut out, usize::try_from(t.v).map_err(|_| too_large())?)?;
                (pg, ph0, ph1) = (g, h0, h1);
            }
        }
        out.extend_from_slice(&self.id);
        Ok(out)
    }

    /// The number of terms of all layers.
    #[must_use]
    pub fn term_count(&self) -> usize {
        self.layers.iter().map(|l| l.terms.len()).sum()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::as_conversions)]
mod tests {
    use proptest::prelude::*;

    use super::{Circuit, Layer, Term, ceil_log2};
    use crate::field::{Field, Fp256, Gf2_128};

    /// A small well-formed circuit: `layers` layers of the given input widths.
    fn circuit<F: Field>(widths: &[usize], seed: u64, constants: usize) -> Circuit<F> {
        let mut layers = Vec::new();
        let mut outputs = 3usize;
        let mut x = seed;
        let mut next = |bound: usize| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            usize::try_from(x >> 33).unwrap() % bound
        };
        for &nw in widths {
            let terms = (0..1 + next(20))
                .map(|_| Term {
                    g: u32::try_from(next(outputs)).unwrap(),
                    h0: u32::try_from(next(nw)).unwrap(),
                    h1: u32::try_from(next(nw)).unwrap(),
                    v: u32::try_from(next(constants)).unwrap(),
                })
                .collect();
            layers.push(Layer {
                logw: ceil_log2(nw).max(1),
                nw,
                terms,
            });
            outputs = nw;
        }
        let ninputs = *widths.last().unwrap();
        Circuit {
            nv: 3,
            logv: ceil_log2(3),
            nc: 1,
            logc: 0,
            ninputs,
            npub_in: 1,
            subfield_boundary: 0,
            constants: (0..constants).map(|i| F::from_u64(i as u64)).collect(),
            layers,
            id: [7; 32],
        }
    }

    proptest! {
        #[test]
        fn write_then_read_is_the_same_circuit(
            widths in proptest::collection::vec(2usize..300, 1..5),
            seed: u64,
            constants in 1usize..9,
        ) {
            let c = circuit::<Fp256>(&widths, seed, constants);
            let bytes = c.write().unwrap();
            let (back, used) = Circuit::<Fp256>::read(&bytes).unwrap();
            prop_assert_eq!(used, bytes.len());
            prop_assert_eq!(&back, &c);
            // The same bytes are not a circuit over the other field.
            let other_field = matches!(
                Circuit::<Gf2_128>::read(&bytes),
                Err(crate::ZkError::MalformedCircuit { at: 1, what: "this field's ID" })
            );
            prop_assert!(other_field);
            // Every proper prefix is refused with an offset inside it.
            for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
                match Circuit::<Fp256>::read(&bytes[..cut]) {
                    Err(crate::ZkError::MalformedCircuit { at, .. }) => prop_assert!(at <= cut),
                    other => prop_assert!(false, "prefix {} read as {:?}", cut, other.map(|_| ())),
                }
            }
        }
    }
}
