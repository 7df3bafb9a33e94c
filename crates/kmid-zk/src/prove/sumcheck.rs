//! The sumcheck prover in Longfellow's commit-and-prove form: it sends every round polynomial
//! and every layer's claims minus pads committed beforehand (the verifier's side is
//! `crate::sumcheck`).

use crate::circuit::Circuit;
use crate::error::ZkError;
use crate::field::Field;
use crate::sumcheck::{LayerProof, Proof, Round, eq_table};
use crate::transcript::Transcript;

use super::eval::Wires;

/// The pads of every layer, in the witness order the verifier expects: per layer, per round
/// and hand the pads of the polynomial at 0 and at the third point, then the two claim pads
/// and their product.
pub(crate) fn pad_count<F>(circuit: &Circuit<F>) -> usize {
    circuit.layers.iter().map(|l| 4 * l.logw + 3).sum()
}

/// A layer's wiring in canonical order, fixed by the circuit: its distinct `(h0, h1)` in Morton
/// order (the bits of `h0` and `h1` interleaved, bit 0 of `h0` lowest), and for each the terms
/// (indices into the layer's terms) that have it. A proof only sums the terms' coefficients per
/// key (no sort per proof).
///
/// Why Morton order: binding bit 0 of `h0` maps each key to the key shifted right by one bit
/// (which interleaves the hands the other way round, bit 0 of `h1` lowest, the next round's
/// hand), so the order survives every round, the two keys a round merges are neighbours, and
/// both hands' wire indices move locally through memory (google/longfellow-zk orders its
/// quads so too).
#[derive(Debug, Clone)]
pub(crate) struct Wiring {
    keys: Vec<(u32, u32)>,
    /// `order[starts[i]..starts[i + 1]]` are key `i`'s terms.
    starts: Vec<u32>,
    order: Vec<u32>,
}

/// `h0` and `h1` interleaved, bit `k` of `h0` at bit `2k`, of `h1` at bit `2k + 1`.
fn morton(h0: u32, h1: u32) -> u64 {
    let spread = |v: u32| {
        let mut x = u64::from(v);
        x = (x | (x << 16)) & 0x0000_ffff_0000_ffff;
        x = (x | (x << 8)) & 0x00ff_00ff_00ff_00ff;
        x = (x | (x << 4)) & 0x0f0f_0f0f_0f0f_0f0f;
        x = (x | (x << 2)) & 0x3333_3333_3333_3333;
        (x | (x << 1)) & 0x5555_5555_5555_5555
    };
    spread(h0) | (spread(h1) << 1)
}

/// The canonical wiring of every layer of `circuit`.
pub(crate) fn wirings<F>(circuit: &Circuit<F>) -> Vec<Wiring> {
    circuit
        .layers
        .iter()
        .map(|layer| {
            let key = |i: u32| {
                let t = layer.terms.get(usize::try_from(i).unwrap_or(usize::MAX));
                t.map_or((u32::MAX, u32::MAX), |t| (t.h0, t.h1))
            };
            let mut order: Vec<u32> =
                (0..u32::try_from(layer.terms.len()).unwrap_or(u32::MAX)).collect();
            order.sort_unstable_by_key(|&i| {
                let (h0, h1) = key(i);
                morton(h0, h1)
            });
            let mut keys = Vec::new();
            let mut starts = Vec::new();
            for (at, &i) in (0u32..).zip(&order) {
                if keys.last() != Some(&key(i)) {
                    keys.push(key(i));
                    starts.push(at);
                }
            }
            starts.push(u32::try_from(order.len()).unwrap_or(u32::MAX));
            Wiring {
                keys,
                starts,
                order,
            }
        })
        .collect()
}

/// A bound wiring: `(h0, h1)` in canonical order (no two alike) and each key's coefficient,
/// side by side so that the products run in batches.
#[derive(Debug, Clone, Default)]
struct Bound<F> {
    keys: Vec<(u32, u32)>,
    coefficients: Vec<F>,
}

/// Buffers a layer's rounds reuse (each round's are at most the last one's size).
#[derive(Debug, Default)]
struct Scratch<F> {
    a: Vec<F>,
    b: Vec<F>,
    c: Vec<F>,
    d: Vec<F>,
}

impl<F: Field> Scratch<F> {
    /// The four buffers, each cleared.
    fn take(&mut self) -> [&mut Vec<F>; 4] {
        for v in [&mut self.a, &mut self.b, &mut self.c, &mut self.d] {
            v.clear();
        }
        [&mut self.a, &mut self.b, &mut self.c, &mut self.d]
    }
}

/// The index of a key on `hand` and on the other hand.
#[inline(always)]
fn hands(key: (u32, u32), hand: usize) -> (u32, u32) {
    if hand == 0 { key } else { (key.1, key.0) }
}

/// Binds `hand`'s index of every key to `c`, in place: the index halves and the coefficient
/// becomes the line through its value at the even index and at the odd one, at `c` (a key
/// without its partner is zero there). Partners are neighbours in Morton order and the order
/// survives (see [`Wiring`]), so this is one pass; the products run in one batch.
fn bind<F: Field>(terms: &mut Bound<F>, hand: usize, c: F, scratch: &mut Scratch<F>) {
    let one_minus = F::ONE - c;
    let [base, slope, factor, product] = scratch.take();
    let n = terms.keys.len();
    let mut read = 0;
    let mut write = 0;
    while let Some(&key) = terms.keys.get(read) {
        let (mine, other) = hands(key, hand);
        let v = terms.coefficients.get(read).copied().unwrap_or(F::ZERO);
        let partner = terms.keys.get(read + 1).map(|&k| hands(k, hand));
        let halved = if hand == 0 {
            (mine >> 1, other)
        } else {
            (other, mine >> 1)
        };
        if mine & 1 == 0 && partner == Some((mine | 1, other)) {
            let v1 = terms.coefficients.get(read + 1).copied().unwrap_or(F::ZERO);
            base.push(v);
            slope.push(v1 - v);
            factor.push(c);
            read += 2;
        } else {
            base.push(F::ZERO);
            slope.push(v);
            factor.push(if mine & 1 == 1 { c } else { one_minus });
            read += 1;
        }
        if let Some(k) = terms.keys.get_mut(write) {
            *k = halved;
        }
        write += 1;
    }
    debug_assert!(write <= n);
    terms.keys.truncate(write);
    product.resize(write, F::ZERO);
    F::mul_pairs(slope, factor, product);
    terms.coefficients.clear();
    terms
        .coefficients
        .extend(base.iter().zip(product.iter()).map(|(&b, &p)| b + p));
}

/// An entry of a wire array (indices come from the circuit, checked when it was read, and
/// halve with the arrays).
fn get<F: Field>(v: &[F], i: usize) -> F {
    v.get(i).copied().unwrap_or(F::ZERO)
}

/// Runs the sumcheck over `wires` with `pads`, writing and drawing on `transcript` exactly as
/// the verifier does; returns the padded proof and each layer's wiring at its sumcheck point
/// (the bound wiring's last coefficient, which the verifier's replay would compute again).
///
/// # Errors
/// [`ZkError::Statement`] if a round does not sum to its claim (a witness that does not satisfy
/// the circuit).
pub(crate) fn prove<F: Field>(
    circuit: &Circuit<F>,
    wirings: &[Wiring],
    public: &[F],
    wires: &Wires<F>,
    pads: &[F],
    transcript: &mut Transcript<'_>,
) -> Result<(Proof<F>, Vec<F>), ZkError> {
    let unsatisfied = ZkError::Statement("the witness does not satisfy the circuit");
    transcript.write_bytes(&circuit.id);
    for &x in public {
        transcript.write_element(x);
    }
    transcript.write_element(F::ZERO);
    transcript.write_zeros(circuit.term_count());
    let _copies: Vec<F> = transcript.draw_n(40)?;
    let g: Vec<F> = transcript.draw_n(40)?;
    let g0: Vec<F> = g.get(..circuit.logv).unwrap_or_default().to_vec();
    let p2 = F::of_scalar(2);

    let mut layers = Vec::with_capacity(circuit.layers.len());
    let mut quads = Vec::with_capacity(circuit.layers.len());
    let mut claims = [F::ZERO; 2];
    let mut points: Option<[Vec<F>; 2]> = None;
    let mut pad_base = 0;
    let mut scratch = Scratch::default();
    let mut qw = Vec::new();
    for (ly, layer) in circuit.layers.iter().enumerate() {
        let logw = layer.logw;
        let alpha: F = transcript.draw()?;
        let beta: F = transcript.draw()?;
        let eqg: Vec<F> = match &points {
            Some([a, b]) => eq_table(a)
                .into_iter()
                .zip(eq_table(b))
                .map(|(x, y)| x + alpha * y)
                .collect(),
            None => eq_table(&g0).into_iter().map(|e| e + alpha * e).collect(),
        };
        // The bound wiring: per (h0, h1), the sum of its terms' coefficients times eq(g).
        let wiring = wirings.get(ly).ok_or(ZkError::CircuitMismatch("wiring"))?;
        let mut terms = Bound {
            keys: Vec::with_capacity(wiring.keys.len()),
            coefficients: Vec::with_capacity(wiring.keys.len()),
        };
        for (&key, bounds) in wiring.keys.iter().zip(wiring.starts.windows(2)) {
            let (from, to) = match bounds {
                [from, to] => (
                    usize::try_from(*from).unwrap_or(usize::MAX),
                    usize::try_from(*to).unwrap_or(usize::MAX),
                ),
                _ => continue,
            };
            let mut sum = F::ZERO;
            for &i in wiring.order.get(from..to).unwrap_or_default() {
                let Some(t) = layer.terms.get(usize::try_from(i).unwrap_or(usize::MAX)) else {
                    continue;
                };
                let v = circuit.constant(t);
                let c = if v == F::ZERO { beta } else { v };
                let gi = usize::try_from(t.g).unwrap_or(usize::MAX);
                sum += c * eqg.get(gi).copied().unwrap_or(F::ZERO);
            }
            terms.keys.push(key);
            terms.coefficients.push(sum);
        }
        let size = 1usize << logw;
        let mut w = [
            wires.inputs.get(ly).cloned().unwrap_or_default(),
            wires.inputs.get(ly).cloned().unwrap_or_default(),
        ];
        for a in &mut w {
            a.resize(size, F::ZERO);
        }
        let mut claim = claims[0] + alpha * claims[1];
        let mut rounds = Vec::with_capacity(logw);
        let mut h: [Vec<F>; 2] = [Vec::with_capacity(logw), Vec::with_capacity(logw)];
        for round in 0..logw {
            let mut r = Round {
                p0: [F::ZERO; 2],
                p2: [F::ZERO; 2],
            };
            for hand in 0..2 {
                let [w_a, w_b] = &w;
                let (a, b) = if hand == 0 { (w_a, w_b) } else { (w_b, w_a) };
                // QW[i] = Σ over the keys whose index on this hand is i: coefficient × the other
                // hand's wire (one product per key, in one batch).
                {
                    let [others, products, _, _] = scratch.take();
                    others.extend(terms.keys.iter().map(|&k| {
                        let (_, other) = hands(k, hand);
                        get(b, usize::try_from(other).unwrap_or(usize::MAX))
                    }));
                    products.resize(others.len(), F::ZERO);
                    F::mul_pairs(&terms.coefficients, others, products);
                    qw.clear();
                    qw.resize(a.len(), F::ZERO);
                    for (&k, &p) in terms.keys.iter().zip(products.iter()) {
                        let (mine, _) = hands(k, hand);
                        if let Some(slot) = qw.get_mut(usize::try_from(mine).unwrap_or(usize::MAX))
                        {
                            *slot += p;
                        }
                    }
                }
                // The round polynomial Σ_k QW(x)·A(x) over the pairs (2k, 2k + 1), both lines
                // through their even and odd values: at 0, at 1, and at the third point p2,
                // where each line is lo + p2·(hi − lo) — so p(p2) = p(0) + p2·(Σ s0·da + ds·lo)
                // + p2²·Σ ds·da, five dot products over the pairs where QW is not zero.
                let (at0, at1, at2) = {
                    let [s0s, los, dss, das] = scratch.take();
                    for (q, x) in qw.chunks_exact(2).zip(a.chunks_exact(2)) {
                        let (s0, s1, lo, hi) = (get(q, 0), get(q, 1), get(x, 0), get(x, 1));
                        if s0 == F::ZERO && s1 == F::ZERO {
                            continue;
                        }
                        s0s.push(s0);
                        los.push(lo);
                        dss.push(s1 - s0);
                        das.push(hi - lo);
                    }
                    let at0 = F::dot(s0s, los);
                    let cross = F::dot(s0s, das) + F::dot(dss, los);
                    let square = F::dot(dss, das);
                    // p(1) = Σ s1·hi = Σ (s0 + ds)(lo + da).
                    let at1 = at0 + cross + square;
                    (at0, at1, at0 + p2 * cross + p2 * p2 * square)
                };
                if at0 + at1 != claim {
                    return Err(unsatisfied);
                }
                let base = pad_base + 4 * round + 2 * hand;
                let sent0 = at0 - pads.get(base).copied().unwrap_or(F::ZERO);
                let sent2 = at2 - pads.get(base + 1).copied().unwrap_or(F::ZERO);
                transcript.write_element(sent0);
                transcript.write_element(sent2);
                let c: F = transcript.draw()?;
                if let (Some(p0), Some(p2s)) = (r.p0.get_mut(hand), r.p2.get_mut(hand)) {
                    *p0 = sent0;
                    *p2s = sent2;
                }
                if let Some(hv) = h.get_mut(hand) {
                    hv.push(c);
                }
                // The new claim: the round polynomial at c (through 0, 1, p2).
                let inv = |v: F| v.inv().unwrap_or(F::ZERO);
                let l0 = (c - F::ONE) * (c - p2) * inv(p2);
                let l1 = c * (c - p2) * inv(F::ONE - p2);
                let l2 = c * (c - F::ONE) * inv(p2 * (p2 - F::ONE));
                claim = l0 * at0 + l1 * at1 + l2 * at2;
                // Bind the variable to c, in place: A'[k] = A[2k] + c·(A[2k+1] − A[2k]).
                if let Some(arr) = w.get_mut(hand) {
                    let [differences, scalar, scaled, _] = scratch.take();
                    differences.extend(arr.chunks_exact(2).map(|pair| get(pair, 1) - get(pair, 0)));
                    scalar.resize(differences.len(), c);
                    scaled.resize(differences.len(), F::ZERO);
                    F::mul_pairs(differences, scalar, scaled);
                    let half = scaled.len();
                    for (k, &d) in scaled.iter().enumerate() {
                        let lo = get(arr, 2 * k);
                        if let Some(slot) = arr.get_mut(k) {
                            *slot = lo + d;
                        }
                    }
                    arr.truncate(half.max(1));
                }
                bind(&mut terms, hand, c, &mut scratch);
            }
            rounds.push(r);
        }
        let [wa, wb] = &w;
        let (v0, v1) = (get(wa, 0), get(wb, 0));
        let q = terms.coefficients.first().copied().unwrap_or(F::ZERO);
        if q * v0 * v1 != claim {
            return Err(unsatisfied);
        }
        let c0 = pad_base + 4 * logw;
        let sent = [
            v0 - pads.get(c0).copied().unwrap_or(F::ZERO),
            v1 - pads.get(c0 + 1).copied().unwrap_or(F::ZERO),
        ];
        transcript.write_elements(&sent);
        layers.push(LayerProof {
            rounds,
            claims: sent,
        });
        claims = [v0, v1];
        quads.push(q);
        points = Some(h);
        pad_base += 4 * logw + 3;
    }
    Ok((Proof { layers }, quads))
}
