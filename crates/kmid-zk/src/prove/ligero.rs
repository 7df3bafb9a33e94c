//! The Ligero prover: the tableau, its Merkle commitment, and the responses to the verifier's
//! challenges (the verifier's side is `crate::ligero`).

use kmid_crypto::{CryptoProvider, HashAlgorithm};

use crate::error::ZkError;
use crate::field::Field;
use crate::ligero::{HASH_OF_A, Params, Proof, Quadratic, Statement, combined_constraints};
use crate::merkle::{Digest, Tree};
use crate::rs::extend;
use crate::transcript::Transcript;

/// A commitment: the tableau, its tree and the nonces of its leaves.
#[derive(Debug, Clone)]
pub(crate) struct Commitment<F> {
    rows: Vec<Vec<F>>,
    tree: Tree,
    nonces: Vec<Digest>,
}

impl<F: Field> Commitment<F> {
    /// The Merkle root.
    pub(crate) fn root(&self) -> Digest {
        self.tree.root()
    }
}

/// Commits to `witness` (private inputs and pads) with the quadratic constraints `quadratic`,
/// drawing the tableau's randomness from `rng`.
pub(crate) fn commit<F: Field>(
    provider: &CryptoProvider,
    p: &Params,
    witness: &[F],
    subfield_witnesses: usize,
    quadratic: &[Quadratic],
    rng: &mut Transcript<'_>,
) -> Result<Commitment<F>, ZkError> {
    let (r, w) = (p.nreq, p.w);
    let random = |rng: &mut Transcript<'_>, n: usize| -> Result<Vec<F>, ZkError> { rng.draw_n(n) };
    let at = |i: usize| witness.get(i).copied().unwrap_or(F::ZERO);

    // The three masking rows.
    let ildt = random(rng, p.block)?;
    let mut idot = random(rng, p.dblock)?;
    let sum = idot
        .get(r..r + w)
        .unwrap_or_default()
        .iter()
        .fold(F::ZERO, |acc, &v| acc + v);
    if let Some(first) = idot.get_mut(r) {
        *first -= sum;
    }
    let mut iquad = random(rng, p.dblock)?;
    for v in iquad.get_mut(r..r + w).unwrap_or_default() {
        *v = F::ZERO;
    }
    let mut block_rows = vec![ildt];
    for i in 0..p.nwrow {
        // A row of subfield witnesses gets a subfield prefix: its codeword then stays in the
        // subfield, and its opened values travel in the subfield's encoding.
        let mut row = if F::SUBFIELD_BYTES < F::BYTES && (i + 1) * w <= subfield_witnesses {
            let mut bytes = vec![0u8; F::SUBFIELD_BYTES];
            let mut prefix = Vec::with_capacity(r);
            for _ in 0..r {
                rng.read_bytes(&mut bytes)?;
                prefix.push(F::from_subfield_bytes(&bytes).ok_or(ZkError::Crypto)?);
            }
            prefix
        } else {
            random(rng, r)?
        };
        row.extend((0..w).map(|j| at(i * w + j)));
        block_rows.push(row);
    }
    let picks: [fn(&Quadratic) -> usize; 3] = [|q| q.x, |q| q.y, |q| q.z];
    for pick in picks {
        for i in 0..p.nqtriples {
            let mut row = random(rng, r)?;
            row.extend((0..w).map(|j| quadratic.get(i * w + j).map_or(F::ZERO, |q| at(pick(q)))));
            block_rows.push(row);
        }
    }
    extend(&mut block_rows, p.block, p.block_enc);
    let mut dblock_rows = vec![idot, iquad];
    extend(&mut dblock_rows, p.dblock, p.block_enc);
    // Rows in the verifier's order: LDT, DOT, QUAD, witnesses, quadratic copies.
    let mut rows = Vec::with_capacity(p.nrow());
    let mut block_iter = block_rows.into_iter();
    rows.push(block_iter.next().unwrap_or_default());
    rows.extend(dblock_rows);
    rows.extend(block_iter);

    let mut nonces = Vec::with_capacity(p.block_ext);
    let mut leaves = Vec::with_capacity(p.block_ext);
    let mut column = Vec::with_capacity(32 + rows.len() * F::BYTES);
    for c in 0..p.block_ext {
        let mut nonce = [0u8; 32];
        rng.read_bytes(&mut nonce)?;
        column.clear();
        column.extend_from_slice(&nonce);
        for row in &rows {
            row.get(p.dblock + c)
                .copied()
                .unwrap_or(F::ZERO)
                .write_bytes(&mut column);
        }
        let mut h = HashAlgorithm::Sha256.hasher_on(provider);
        h.update(&column);
        leaves.push(<Digest>::try_from(h.finish().as_slice()).map_err(|_| ZkError::Crypto)?);
        nonces.push(nonce);
    }
    Ok(Commitment {
        tree: Tree::new(provider, &leaves)?,
        rows,
        nonces,
    })
}

/// Answers the verifier's challenges (continuing `transcript` after the sumcheck).
pub(crate) fn respond<F: Field>(
    p: &Params,
    commitment: &Commitment<F>,
    statement: &Statement<'_, F>,
    transcript: &mut Transcript<'_>,
) -> Result<Proof<F>, ZkError> {
    let (r, w) = (p.nreq, p.w);
    transcript.write_bytes(&HASH_OF_A);
    let u_ldt: Vec<F> = transcript.draw_n(p.nwqrow())?;
    let alphal: Vec<F> = transcript.draw_n(statement.b.len())?;
    let alphaq: Vec<F> = transcript.draw_n(3 * p.nq)?;
    let u_quad: Vec<F> = transcript.draw_n(p.nqtriples)?;
    let row = |i: usize| {
        commitment
            .rows
            .get(i)
            .map(Vec::as_slice)
            .unwrap_or_default()
    };
    let val = |i: usize, t: usize| row(i).get(t).copied().unwrap_or(F::ZERO);

    let y_ldt: Vec<F> = (0..p.block)
        .map(|t| {
            u_ldt
                .iter()
                .enumerate()
                .fold(val(0, t), |acc, (i, &u)| acc + u * val(3 + i, t))
        })
        .collect();

    // The combined constraint rows, extended from block to dblock points.
    let avec = combined_constraints(p, statement, &alphal, &alphaq)?;
    let mut aext: Vec<Vec<F>> = avec
        .chunks(w)
        .map(|chunk| {
            let mut v = vec![F::ZERO; r];
            v.extend_from_slice(chunk);
            v
        })
        .collect();
    extend(&mut aext, p.block, p.dblock);
    let y_dot: Vec<F> = (0..p.dblock)
        .map(|t| {
            aext.iter().enumerate().fold(val(1, t), |acc, (i, a)| {
                acc + a.get(t).copied().unwrap_or(F::ZERO) * val(3 + i, t)
            })
        })
        .collect();

    let iq = 3 + p.nwrow;
    let y_quad: Vec<F> = (0..p.dblock)
        .map(|t| {
            u_quad.iter().enumerate().fold(val(2, t), |acc, (i, &u)| {
                let x = val(iq + i, t);
                let y = val(iq + p.nqtriples + i, t);
                let z = val(iq + 2 * p.nqtriples + i, t);
                acc + u * (z - x * y)
            })
        })
        .collect();
    if y_quad
        .get(r..r + w)
        .unwrap_or_default()
        .iter()
        .any(|&v| v != F::ZERO)
    {
        return Err(ZkError::Statement(
            "the witness does not satisfy the circuit",
        ));
    }
    let y_quad_0 = y_quad.get(..r).unwrap_or_default().to_vec();
    let y_quad_2 = y_quad.get(r + w..).unwrap_or_default().to_vec();
    transcript.write_elements(&y_ldt);
    transcript.write_elements(&y_dot);
    transcript.write_elements(&y_quad_0);
    transcript.write_elements(&y_quad_2);
    let idx = transcript.choose(p.block_ext, p.nreq)?;
    let mut req = Vec::with_capacity(p.nrow() * p.nreq);
    for i in 0..p.nrow() {
        for &c in &idx {
            req.push(val(i, p.dblock + c));
        }
    }
    let nonces = idx
        .iter()
        .map(|&c| commitment.nonces.get(c).copied().unwrap_or_default())
        .collect();
    Ok(Proof {
        y_ldt,
        y_dot,
        y_quad_0,
        y_quad_2,
        nonces,
        req,
        path: commitment.tree.open(&idx)?,
    })
}
