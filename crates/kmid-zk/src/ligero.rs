//! Ligero's commitment and its verifier (Ames, Hazay, Ishai, Venkitasubramaniam, CCS 2017, as
//! draft-google-cfrg-libzk §4 and google/longfellow-zk `lib/ligero/` specify it).
//!
//! The prover commits to a tableau of rows, each the Reed-Solomon codeword of a block of `block`
//! values (`nreq` random, then `w` witnesses): three rows that mask the tests (low-degree, linear,
//! quadratic), the witness rows, and three rows per group of quadratic constraints holding
//! copies of their factors and products. The verifier draws random combinations, receives the
//! combined rows in the clear, opens `nreq` random columns through the Merkle tree, and checks
//! that the combinations agree there.

use kmid_crypto::{CryptoProvider, HashAlgorithm};

use crate::error::{Check, ZkError};
use crate::field::Field;
use crate::merkle::{self, Digest};
use crate::reader::Reader;
use crate::rs::{Interpolation, dot};
use crate::transcript::Transcript;

/// Ligero's shape for one circuit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Random values opening each row (and columns opened).
    pub nreq: usize,
    /// Codeword length.
    pub block_enc: usize,
    /// Values per row.
    pub block: usize,
    /// Witnesses per row.
    pub w: usize,
    /// `2·block − 1`: the length of a product of two rows.
    pub dblock: usize,
    /// The columns that can be opened (`block_enc − dblock`); the Merkle tree's leaves.
    pub block_ext: usize,
    /// Witnesses (private inputs and sumcheck pads).
    pub nw: usize,
    /// Quadratic constraints.
    pub nq: usize,
    /// Witness rows.
    pub nwrow: usize,
    /// Groups of quadratic constraints (three rows each).
    pub nqtriples: usize,
}

impl Params {
    /// The shape for `nw` witnesses and `nq` quadratic constraints at inverse rate `rateinv`
    /// with `nreq` opened columns and codewords of `block_enc` (ligero_param.h).
    ///
    /// # Errors
    /// [`ZkError::CircuitMismatch`] for parameters that give no valid tableau.
    pub fn new(
        nw: usize,
        nq: usize,
        rateinv: usize,
        nreq: usize,
        block_enc: usize,
    ) -> Result<Self, ZkError> {
        let bad = ZkError::CircuitMismatch("Ligero parameters");
        let block = block_enc.checked_add(1).ok_or(bad.clone())?
            / rateinv.checked_add(2).ok_or(bad.clone())?;
        let w = block.checked_sub(nreq).ok_or(bad.clone())?;
        let dblock = (2 * block).checked_sub(1).ok_or(bad.clone())?;
        let block_ext = block_enc.checked_sub(dblock).ok_or(bad.clone())?;
        if w < nreq || block_ext < nreq || block_enc >= 1 << 16 {
            return Err(bad);
        }
        Ok(Self {
            nreq,
            block_enc,
            block,
            w,
            dblock,
            block_ext,
            nw,
            nq,
            nwrow: nw.div_ceil(w),
            nqtriples: nq.div_ceil(w),
        })
    }

    /// Witness and quadratic rows.
    #[must_use]
    pub fn nwqrow(&self) -> usize {
        self.nwrow + 3 * self.nqtriples
    }

    /// All rows.
    #[must_use]
    pub fn nrow(&self) -> usize {
        self.nwqrow() + 3
    }

    /// The shape for `circuit`'s proof: its witnesses (private inputs and sumcheck pads) and
    /// one quadratic constraint per layer.
    ///
    /// # Errors
    /// As [`Self::new`].
    pub fn for_circuit<F: Field>(
        circuit: &crate::circuit::Circuit<F>,
        rateinv: usize,
        nreq: usize,
        block_enc: usize,
    ) -> Result<Self, ZkError> {
        Self::new(
            crate::zk::witness_count(circuit),
            circuit.layers.len(),
            rateinv,
            nreq,
            block_enc,
        )
    }
}

/// One term of the linear system `A·W = b`: `A[constraint][witness] = k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinearTerm<F> {
    /// The constraint (row of `A`).
    pub constraint: usize,
    /// The witness (column of `A`).
    pub witness: usize,
    /// The coefficient.
    pub k: F,
}

/// A quadratic constraint `W[x]·W[y] = W[z]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quadratic {
    /// First factor.
    pub x: usize,
    /// Second factor.
    pub y: usize,
    /// Product.
    pub z: usize,
}

/// The Ligero part of a proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof<F> {
    pub(crate) y_ldt: Vec<F>,
    pub(crate) y_dot: Vec<F>,
    pub(crate) y_quad_0: Vec<F>,
    pub(crate) y_quad_2: Vec<F>,
    pub(crate) nonces: Vec<Digest>,
    /// The opened columns, row-major: `req[row·nreq + j]`.
    pub(crate) req: Vec<F>,
    pub(crate) path: Vec<Digest>,
}

/// Longest run of opened values the format allows.
const MAX_RUN: u32 = 1 << 25;

impl<F: Field> Proof<F> {
    /// Appends the wire form: the opened columns in runs, subfield values in the subfield's
    /// shorter encoding.
    pub(crate) fn write(&self, out: &mut Vec<u8>) -> Result<(), ZkError> {
        for v in [&self.y_ldt, &self.y_dot, &self.y_quad_0, &self.y_quad_2] {
            for e in v {
                e.write_bytes(out);
            }
        }
        for n in &self.nonces {
            out.extend_from_slice(n);
        }
        // Runs alternating full and subfield encodings, full first (empty when the first
        // value is a subfield one). The count of values is far below 2^25 (checked on reading).
        let mut subfield = false;
        let mut run: Vec<u8> = Vec::new();
        let mut count = 0u32;
        for e in &self.req {
            let mut bytes = Vec::with_capacity(F::BYTES);
            let small = e.write_subfield_bytes(&mut bytes);
            if small != subfield {
                out.extend_from_slice(&count.to_le_bytes());
                out.append(&mut run);
                count = 0;
                subfield = small;
            }
            if !small {
                e.write_bytes(&mut bytes);
            }
            run.extend_from_slice(&bytes);
            count += 1;
        }
        out.extend_from_slice(&count.to_le_bytes());
        out.append(&mut run);
        let npath = u32::try_from(self.path.len()).map_err(|_| ZkError::CircuitTooLarge {
            what: "Merkle path",
        })?;
        out.extend_from_slice(&npath.to_le_bytes());
        for d in &self.path {
            out.extend_from_slice(d);
        }
        Ok(())
    }

    /// Reads the Ligero part of a proof (zk_proof.h): the combined rows, the nonces, the
    /// opened columns (runs alternating full and subfield encodings, full first) and the Merkle
    /// path.
    pub(crate) fn read(params: &Params, r: &mut Reader<'_>) -> Result<Self, ZkError> {
        let y_ldt = r.elements(params.block, "y_ldt")?;
        let y_dot = r.elements(params.dblock, "y_dot")?;
        let y_quad_0 = r.elements(params.nreq, "y_quad")?;
        let y_quad_2 = r.elements(params.dblock - params.block, "y_quad")?;
        let nonces = (0..params.nreq)
            .map(|_| r.digest("Merkle nonce"))
            .collect::<Result<Vec<_>, _>>()?;
        let total = params.nrow() * params.nreq;
        let mut req = Vec::with_capacity(total.min(r.remaining()));
        let mut subfield = false;
        while req.len() < total {
            let run = r.u32_le("opened-column run")?;
            if run >= MAX_RUN {
                return Err(r.error("opened-column run"));
            }
            let run = usize::try_from(run).map_err(|_| r.error("opened-column run"))?;
            if run > total - req.len() {
                return Err(r.error("opened-column run"));
            }
            for _ in 0..run {
                req.push(if subfield {
                    r.subfield_element("opened column")?
                } else {
                    r.element("opened column")?
                });
            }
            subfield = !subfield;
        }
        let npath = r.u32_le("Merkle path length")?;
        let npath = usize::try_from(npath).map_err(|_| r.error("Merkle path length"))?;
        if npath > r.remaining() / 32 {
            return Err(r.error("Merkle path length"));
        }
        let path = (0..npath)
            .map(|_| r.digest("Merkle path"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            y_ldt,
            y_dot,
            y_quad_0,
            y_quad_2,
            nonces,
            req,
            path,
        })
    }

    fn opened(&self, params: &Params, row: usize, j: usize) -> F {
        self.req
            .get(row * params.nreq + j)
            .copied()
            .unwrap_or(F::ZERO)
    }
}

/// The barycentric tables a verifier keeps per circuit.
#[derive(Debug, Clone)]
pub struct Tables<F> {
    block: Interpolation<F>,
    dblock: Interpolation<F>,
}

impl<F: Field> Tables<F> {
    /// The tables for `params`.
    #[must_use]
    pub fn new(params: &Params) -> Self {
        Self {
            block: Interpolation::new(params.block),
            dblock: Interpolation::new(params.dblock),
        }
    }
}

/// The constant "hash of A" the transcript receives (google/longfellow-zk writes a fixed string:
/// the linear system is fixed by the circuit and the transcript already holds it).
pub(crate) const HASH_OF_A: [u8; 32] = {
    let mut h = [0u8; 32];
    h[0] = 0xde;
    h[1] = 0xad;
    h[2] = 0xbe;
    h[3] = 0xef;
    h
};

/// What the Ligero verifier checks a proof against.
#[derive(Debug)]
pub struct Statement<'a, F> {
    /// The commitment (Merkle root).
    pub root: &'a Digest,
    /// The terms of `A`.
    pub linear: &'a [LinearTerm<F>],
    /// `b`, one entry per linear constraint.
    pub b: &'a [F],
    /// The quadratic constraints.
    pub quadratic: &'a [Quadratic],
}

/// `Avec`: the linear constraints combined by `alphal`, and the quadratic rows' copies of
/// their factors tied to the witnesses by `alphaq`, one entry per witness-and-quadratic slot
/// (`nwqrow · w`).
pub(crate) fn combined_constraints<F: Field>(
    p: &Params,
    statement: &Statement<'_, F>,
    alphal: &[F],
    alphaq: &[F],
) -> Result<Vec<F>, ZkError> {
    let w = p.w;
    let mut avec = vec![F::ZERO; p.nwqrow() * w];
    for term in statement.linear {
        let alpha = alphal
            .get(term.constraint)
            .ok_or(ZkError::CircuitMismatch("linear constraint index"))?;
        let slot = avec
            .get_mut(term.witness)
            .ok_or(ZkError::CircuitMismatch("linear witness index"))?;
        *slot += term.k * *alpha;
    }
    let ax = p.nwrow * w;
    let (ay, az) = (ax + p.nqtriples * w, ax + 2 * p.nqtriples * w);
    for (q, c) in statement.quadratic.iter().enumerate() {
        for (hand, (base, wire)) in [(ax, c.x), (ay, c.y), (az, c.z)].into_iter().enumerate() {
            let a = alphaq
                .get(3 * q + hand)
                .copied()
                .ok_or(ZkError::CircuitMismatch("quadratic constraint index"))?;
            *avec
                .get_mut(base + q)
                .ok_or(ZkError::CircuitMismatch("quadratic row"))? += a;
            *avec
                .get_mut(wire)
                .ok_or(ZkError::CircuitMismatch("quadratic witness index"))? -= a;
        }
    }
    Ok(avec)
}

/// Verifies the Ligero part of a proof, continuing `transcript` (after the sumcheck).
///
/// # Errors
/// [`ZkError::Refused`] naming the failed check; [`ZkError::MalformedProof`] for an opening of
/// the wrong shape.
pub fn verify<F: Field>(
    provider: &CryptoProvider,
    params: &Params,
    tables: &Tables<F>,
    statement: &Statement<'_, F>,
    proof: &Proof<F>,
    transcript: &mut Transcript<'_>,
) -> Result<(), ZkError> {
    let p = params;
    let (r, w, nreq) = (p.nreq, p.w, p.nreq);
    transcript.write_bytes(&HASH_OF_A);
    let u_ldt: Vec<F> = transcript.draw_n(p.nwqrow())?;
    let alphal: Vec<F> = transcript.draw_n(statement.b.len())?;
    let alphaq: Vec<F> = transcript.draw_n(3 * p.nq)?;
    let u_quad: Vec<F> = transcript.draw_n(p.nqtriples)?;
    transcript.write_elements(&proof.y_ldt);
    transcript.write_elements(&proof.y_dot);
    transcript.write_elements(&proof.y_quad_0);
    transcript.write_elements(&proof.y_quad_2);
    let idx = transcript.choose(p.block_ext, nreq)?;

    // 1. The opened columns are the committed ones.
    let mut leaves = Vec::with_capacity(nreq);
    let mut column = Vec::with_capacity(p.nrow() * F::BYTES + 32);
    for (j, nonce) in proof.nonces.iter().enumerate() {
        column.clear();
        column.extend_from_slice(nonce);
        for row in 0..p.nrow() {
            proof.opened(p, row, j).write_bytes(&mut column);
        }
        let mut h = HashAlgorithm::Sha256.hasher_on(provider);
        h.update(&column);
        leaves.push(<Digest>::try_from(h.finish().as_slice()).map_err(|_| ZkError::Crypto)?);
    }
    merkle::verify(
        provider,
        statement.root,
        p.block_ext,
        &idx,
        &leaves,
        &proof.path,
    )?;

    // The interpolation coefficients at each opened column's point.
    let points: Vec<F> = idx
        .iter()
        .map(|&i| F::of_scalar(u64::try_from(p.dblock + i).unwrap_or(u64::MAX)))
        .collect();
    let lb: Vec<Vec<F>> = points
        .iter()
        .map(|&z| tables.block.coefficients(z))
        .collect();
    let ld: Vec<Vec<F>> = points
        .iter()
        .map(|&z| tables.dblock.coefficients(z))
        .collect();

    // 2. Low-degree test.
    for (j, lbj) in lb.iter().enumerate() {
        let mut lhs = proof.opened(p, 0, j);
        for (i, &u) in u_ldt.iter().enumerate() {
            lhs += u * proof.opened(p, 3 + i, j);
        }
        if lhs != dot(lbj, &proof.y_ldt) {
            return Err(ZkError::Refused(Check::LowDegree));
        }
    }

    // 3. Linear test: the rows of the combined constraint vector `Avec`.
    let avec = combined_constraints(p, statement, &alphal, &alphaq)?;
    for (j, (lbj, ldj)) in lb.iter().zip(&ld).enumerate() {
        let tail = lbj.get(r..).unwrap_or_default();
        let mut lhs = proof.opened(p, 1, j);
        for (i, row) in avec.chunks(w).enumerate() {
            lhs += dot(tail, row) * proof.opened(p, 3 + i, j);
        }
        if lhs != dot(ldj, &proof.y_dot) {
            return Err(ZkError::Refused(Check::Linear));
        }
    }
    // 4. The value the linear test claims.
    let want = dot(statement.b, &alphal);
    let got = proof
        .y_dot
        .get(r..r + w)
        .unwrap_or_default()
        .iter()
        .fold(F::ZERO, |acc, &v| acc + v);
    if want != got {
        return Err(ZkError::Refused(Check::LinearValue));
    }

    // 5. Quadratic test.
    let iq = 3 + p.nwrow;
    let mut yquad = proof.y_quad_0.clone();
    yquad.resize(r + w, F::ZERO);
    yquad.extend_from_slice(&proof.y_quad_2);
    for (j, ldj) in ld.iter().enumerate() {
        let mut lhs = proof.opened(p, 2, j);
        for (i, &u) in u_quad.iter().enumerate() {
            let x = proof.opened(p, iq + i, j);
            let y = proof.opened(p, iq + p.nqtriples + i, j);
            let z = proof.opened(p, iq + 2 * p.nqtriples + i, j);
            lhs += u * (z - x * y);
        }
        if lhs != dot(ldj, &yquad) {
            return Err(ZkError::Refused(Check::Quadratic));
        }
    }
    Ok(())
}
