//! The sumcheck verifier over layered circuits, in Longfellow's commit-and-prove form
//! (draft-google-cfrg-libzk §5; google/longfellow-zk `lib/zk/zk_common.h`).
//!
//! The prover sends each round polynomial and each layer's claims *minus* a random pad it has
//! committed in the Ligero witness. The verifier replays the transcript with the padded values
//! and, instead of checking each layer's sum itself, turns each check into a linear constraint
//! on the pads (and a quadratic one for the product of the two claim pads); the last
//! constraint ties the final claims to the circuit's inputs. Ligero then proves the committed
//! witness satisfies them.

use crate::circuit::Circuit;
use crate::error::ZkError;
use crate::field::Field;
use crate::ligero::{LinearTerm, Quadratic};
use crate::reader::Reader;
use crate::transcript::Transcript;

/// Challenges drawn for the (unused) copy variables and for the output wires.
const MAX_BINDINGS: usize = 40;
/// Terms summed per reduction when binding a layer.
const CHUNK: usize = 1024;

/// One round of one layer: the round polynomial at 0 and at the third point, for each hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Round<F> {
    pub(crate) p0: [F; 2],
    pub(crate) p2: [F; 2],
}

/// One layer's padded messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LayerProof<F> {
    pub(crate) rounds: Vec<Round<F>>,
    pub(crate) claims: [F; 2],
}

/// The sumcheck part of a proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof<F> {
    pub(crate) layers: Vec<LayerProof<F>>,
}

impl<F: Field> Proof<F> {
    /// Appends the wire form (what [`Self::read`] reads).
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        for layer in &self.layers {
            for r in &layer.rounds {
                for e in [r.p0[0], r.p0[1], r.p2[0], r.p2[1]] {
                    e.write_bytes(out);
                }
            }
            layer.claims[0].write_bytes(out);
            layer.claims[1].write_bytes(out);
        }
    }

    /// Reads it (per layer, per round: both hands at 0, both at the third point; then the two
    /// claims).
    pub(crate) fn read(circuit: &Circuit<F>, r: &mut Reader<'_>) -> Result<Self, ZkError> {
        let mut layers = Vec::with_capacity(circuit.layers.len());
        for layer in &circuit.layers {
            let mut rounds = Vec::with_capacity(layer.logw);
            for _ in 0..layer.logw {
                let a = r.element("sumcheck round")?;
                let b = r.element("sumcheck round")?;
                let c = r.element("sumcheck round")?;
                let d = r.element("sumcheck round")?;
                rounds.push(Round {
                    p0: [a, b],
                    p2: [c, d],
                });
            }
            let claims = [r.element("sumcheck claim")?, r.element("sumcheck claim")?];
            layers.push(LayerProof { rounds, claims });
        }
        Ok(Self { layers })
    }
}

/// What the sumcheck leaves for Ligero to prove.
#[derive(Debug, Clone)]
pub struct Constraints<F> {
    /// The terms of `A` (`A·W = b`).
    pub linear: Vec<LinearTerm<F>>,
    /// `b`: one entry per layer, then the input constraint.
    pub b: Vec<F>,
    /// One per layer: the product of its two claim pads.
    pub quadratic: Vec<Quadratic>,
    /// The witnesses: private inputs, then each layer's pads.
    pub nw: usize,
}

/// The quadratic constraints of a circuit's proof: per layer, its two claim pads' product
/// (witness indices: private inputs first, then each layer's `4·logw + 3` pads).
pub(crate) fn quadratic_constraints<F>(circuit: &Circuit<F>) -> Vec<Quadratic> {
    let mut pi = circuit.ninputs - circuit.npub_in;
    circuit
        .layers
        .iter()
        .map(|l| {
            let q = Quadratic {
                x: pi + 4 * l.logw,
                y: pi + 4 * l.logw + 1,
                z: pi + 4 * l.logw + 2,
            };
            pi += 4 * l.logw + 3;
            q
        })
        .collect()
}

/// `EQ(point, i)` for every `i < 2^point.len()`: `Π_k (point[k] if bit k of i else 1 − point[k])`.
pub(crate) fn eq_table<F: Field>(point: &[F]) -> Vec<F> {
    let mut t = vec![F::ZERO; 1usize << point.len()];
    if let Some(first) = t.first_mut() {
        *first = F::ONE;
    }
    let mut len = 1;
    for &x in point {
        // t[i + len] = t[i]·x and t[i] = t[i]·(1 − x) = t[i] − t[i + len], for i < len.
        let (lo, hi) = t.split_at_mut(len);
        let hi = hi.get_mut(..len).unwrap_or_default();
        crate::field::scale(lo, x, hi);
        for (l, &h) in lo.iter_mut().zip(hi.iter()) {
            *l -= h;
        }
        len *= 2;
    }
    t
}

/// The Lagrange basis of the points `0, 1, of_scalar(2)` at `c`.
fn lagrange<F: Field>(c: F) -> Result<[F; 3], ZkError> {
    let p2 = F::of_scalar(2);
    let inv = |v: F| v.inv().ok_or(ZkError::Crypto);
    Ok([
        (c - F::ONE) * (c - p2) * inv(p2)?,
        c * (c - p2) * inv(F::ONE - p2)?,
        c * (c - F::ONE) * inv(p2 * (p2 - F::ONE))?,
    ])
}

fn get<F: Copy>(v: &[F], i: usize) -> Result<F, ZkError> {
    v.get(i).copied().ok_or(ZkError::CircuitMismatch("index"))
}

/// Replays the sumcheck on `transcript` and returns the constraints Ligero must check.
///
/// # Errors
/// [`ZkError::CircuitMismatch`] for a circuit the ZK protocol does not take (copies) or public
/// inputs of the wrong count.
pub fn constraints<F: Field>(
    circuit: &Circuit<F>,
    public: &[F],
    proof: &Proof<F>,
    transcript: &mut Transcript<'_>,
) -> Result<Constraints<F>, ZkError> {
    replay(circuit, public, proof, transcript, None)
}

/// [`constraints`] with each layer's wiring at its sumcheck point given (`wirings[ly]`): the
/// prover has it from binding the wiring round by round, and evaluating it again is the most
/// expensive part of the replay. Given values the proof's challenges do not yield make
/// constraints the committed witness does not satisfy, so a wrong one is caught by Ligero.
///
/// # Errors
/// As [`constraints`], and [`ZkError::CircuitMismatch`] for a count other than one per layer.
pub(crate) fn constraints_at<F: Field>(
    circuit: &Circuit<F>,
    public: &[F],
    proof: &Proof<F>,
    transcript: &mut Transcript<'_>,
    wirings: &[F],
) -> Result<Constraints<F>, ZkError> {
    if wirings.len() != circuit.layers.len() {
        return Err(ZkError::CircuitMismatch("layer count"));
    }
    replay(circuit, public, proof, transcript, Some(wirings))
}

fn replay<F: Field>(
    circuit: &Circuit<F>,
    public: &[F],
    proof: &Proof<F>,
    transcript: &mut Transcript<'_>,
    known: Option<&[F]>,
) -> Result<Constraints<F>, ZkError> {
    if circuit.nc != 1 {
        return Err(ZkError::CircuitMismatch("circuits with copies"));
    }
    if public.len() != circuit.npub_in {
        return Err(ZkError::CircuitMismatch("public input count"));
    }
    if circuit.logv > MAX_BINDINGS || proof.layers.len() != circuit.layers.len() {
        return Err(ZkError::CircuitMismatch("layer count"));
    }
    transcript.write_bytes(&circuit.id);
    for &x in public {
        transcript.write_element(x);
    }
    transcript.write_element(F::ZERO);
    transcript.write_zeros(circuit.term_count());
    let _copies: Vec<F> = transcript.draw_n(MAX_BINDINGS)?;
    let g: Vec<F> = transcript.draw_n(MAX_BINDINGS)?;
    let g0: Vec<F> = g.get(..circuit.logv).unwrap_or_default().to_vec();

    let private = circuit.ninputs - circuit.npub_in;
    let mut linear = Vec::new();
    let mut b = Vec::with_capacity(circuit.layers.len() + 1);
    let mut quadratic = Vec::with_capacity(circuit.layers.len());
    let mut claims = [F::ZERO; 2];
    let mut pi = private;
    let mut h = [Vec::new(), Vec::new()];
    // The previous layer's eq tables at its (h0, h1): this layer's at (g) for both claims.
    let mut eqh_prev: Option<(Vec<F>, Vec<F>)> = None;

    for (ly, (layer, lp)) in circuit.layers.iter().zip(&proof.layers).enumerate() {
        let logw = layer.logw;
        let alpha: F = transcript.draw()?;
        let beta: F = transcript.draw()?;
        // E = k + Σ s[v]·d[v] over the frame: the previous claim pads (0..3), this layer's
        // round pads (3 + 4·round + 2·hand + {0: at 0, 1: at the third point}), its claim pads.
        let frame = 3 + 4 * logw + 3;
        let mut s = vec![F::ZERO; frame];
        let mut k = claims[0] + alpha * claims[1];
        if let [s0, s1, ..] = s.as_mut_slice() {
            *s0 = F::ONE;
            *s1 = alpha;
        }
        h = [Vec::with_capacity(logw), Vec::with_capacity(logw)];
        for (round, rp) in lp.rounds.iter().enumerate() {
            for hand in 0..2 {
                let (p0, p2) = (get(&rp.p0, hand)?, get(&rp.p2, hand)?);
                transcript.write_element(p0);
                transcript.write_element(p2);
                let c: F = transcript.draw()?;
                if let Some(hv) = h.get_mut(hand) {
                    hv.push(c);
                }
                let [l0, l1, l2] = lagrange(c)?;
                let v0 = 3 + 4 * round + 2 * hand;
                // p(1) = claim − p(0); then the claim becomes p(c).
                k = l1 * (k - p0) + l0 * p0 + l2 * p2;
                if let Some(x) = s.get_mut(v0) {
                    *x -= F::ONE;
                }
                for x in &mut s {
                    *x *= l1;
                }
                if let Some(x) = s.get_mut(v0) {
                    *x += l0;
                }
                if let Some(x) = s.get_mut(v0 + 1) {
                    *x += l2;
                }
            }
        }
        let quad = match known {
            Some(q) => get(q, ly)?,
            None => {
                let (quad, eqh) =
                    wiring_at(circuit, layer, &g0, eqh_prev.as_ref(), alpha, beta, &h)?;
                eqh_prev = Some(eqh);
                quad
            }
        };
        let [w0, w1] = lp.claims;
        // The true claims are w + pad; the layer's check `E = quad·W0·W1` is linear in the pads
        // once the product of the two claim pads is its own committed variable.
        let c0 = 3 + 4 * logw;
        if let Some(x) = s.get_mut(c0) {
            *x -= quad * w1;
        }
        if let Some(x) = s.get_mut(c0 + 1) {
            *x -= quad * w0;
        }
        if let Some(x) = s.get_mut(c0 + 2) {
            *x -= quad;
        }
        let first = if ly == 0 { 3 } else { 0 };
        for (v, &coefficient) in s.iter().enumerate().skip(first) {
            linear.push(LinearTerm {
                constraint: ly,
                witness: pi + v - 3,
                k: coefficient,
            });
        }
        b.push(quad * w0 * w1 - k);
        quadratic.push(Quadratic {
            x: pi + 4 * logw,
            y: pi + 4 * logw + 1,
            z: pi + 4 * logw + 2,
        });
        transcript.write_elements(&[w0, w1]);
        claims = [w0, w1];
        pi += 4 * logw + 3;
    }

    // The inputs: the last claims are the input polynomial at (h0, h1).
    let alpha: F = transcript.draw()?;
    let e0 = eq_table(&h[0]);
    let e1 = eq_table(&h[1]);
    let nl = circuit.layers.len();
    let mut public_part = F::ZERO;
    for i in 0..circuit.ninputs {
        let bi = get(&e0, i)? + alpha * get(&e1, i)?;
        if i < circuit.npub_in {
            public_part += bi * get(public, i)?;
        } else {
            linear.push(LinearTerm {
                constraint: nl,
                witness: i - circuit.npub_in,
                k: bi,
            });
        }
    }
    linear.push(LinearTerm {
        constraint: nl,
        witness: pi - 3,
        k: -F::ONE,
    });
    linear.push(LinearTerm {
        constraint: nl,
        witness: pi - 2,
        k: -alpha,
    });
    b.push(claims[0] + alpha * claims[1] - public_part);
    Ok(Constraints {
        linear,
        b,
        quadratic,
        nw: pi,
    })
}

/// A layer's wiring at `(g, h0, h1)`: `Σ coefficient · eq_g[g] · eq(h0) · eq(h1)`, the last
/// product summed with one reduction per chunk; also the eq tables at `(h0, h1)` (the next
/// layer's `g`).
#[allow(clippy::type_complexity)]
fn wiring_at<F: Field>(
    circuit: &Circuit<F>,
    layer: &crate::circuit::Layer,
    g0: &[F],
    eqh_prev: Option<&(Vec<F>, Vec<F>)>,
    alpha: F,
    beta: F,
    h: &[Vec<F>; 2],
) -> Result<(F, (Vec<F>, Vec<F>)), ZkError> {
    let eqg: Vec<F> = match eqh_prev {
        Some((e0, e1)) => e0.iter().zip(e1).map(|(&a, &b)| a + alpha * b).collect(),
        None => eq_table(g0).into_iter().map(|e| e + alpha * e).collect(),
    };
    let eqh0 = eq_table(&h[0]);
    let eqh1 = eq_table(&h[1]);
    let mut quad = F::ZERO;
    let mut chunk: [Vec<F>; 4] = core::array::from_fn(|_| Vec::with_capacity(CHUNK));
    for t in &layer.terms {
        let coefficient = match circuit.constant(t) {
            v if v == F::ZERO => beta,
            v => v,
        };
        let (gi, h0, h1) = (
            usize::try_from(t.g).unwrap_or(usize::MAX),
            usize::try_from(t.h0).unwrap_or(usize::MAX),
            usize::try_from(t.h1).unwrap_or(usize::MAX),
        );
        let [c, x, y, z] = &mut chunk;
        c.push(coefficient);
        x.push(get(&eqg, gi)?);
        y.push(get(&eqh0, h0)?);
        z.push(get(&eqh1, h1)?);
        if c.len() == CHUNK {
            quad += F::dot4(c, x, y, z);
            chunk.iter_mut().for_each(Vec::clear);
        }
    }
    let [c, x, y, z] = &chunk;
    quad += F::dot4(c, x, y, z);
    Ok((quad, (eqh0, eqh1)))
}
