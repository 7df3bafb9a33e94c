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

/// A layer's wiring in canonical order, fixed by the circuit: its distinct `(h0, h1)` sorted,
/// and for each the terms (indices into the layer's terms) that have it. A proof only sums the
/// terms' coefficients per key (no sort per proof).
#[derive(Debug, Clone)]
pub(crate) struct Wiring {
    keys: Vec<(u32, u32)>,
    /// `order[starts[i]..starts[i + 1]]` are key `i`'s terms.
    starts: Vec<u32>,
    order: Vec<u32>,
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
            order.sort_unstable_by_key(|&i| key(i));
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

/// A bound wiring: `(h0, h1)` in canonical order (sorted, no two alike) and each key's
/// coefficient, side by side so that the products run in batches.
#[derive(Debug, Clone, Default)]
struct Bound<F> {
    keys: Vec<(usize, usize)>,
    coefficients: Vec<F>,
}

/// Binds `hand`'s index of every term of a canonical wiring to `c`: the index halves and the
/// coefficient takes `c` (odd index) or `1 − c` (even). The terms whose index was even stay in
/// order among themselves, and so do the odd ones, so one merge of the two runs (adding
/// coefficients that meet, dropping zeros) gives the canonical wiring again, with no sort.
fn bind<F: Field>(terms: &Bound<F>, hand: usize, c: F) -> Bound<F> {
    let one_minus = F::ONE - c;
    let odd = |k: &(usize, usize)| if hand == 0 { k.0 & 1 } else { k.1 & 1 } == 1;
    let factors: Vec<F> = terms
        .keys
        .iter()
        .map(|k| if odd(k) { c } else { one_minus })
        .collect();
    let mut scaled = vec![F::ZERO; factors.len()];
    F::mul_pairs(&terms.coefficients, &factors, &mut scaled);
    let halve = |k: &(usize, usize)| {
        if hand == 0 {
            (k.0 >> 1, k.1)
        } else {
            (k.0, k.1 >> 1)
        }
    };
    let run = |want_odd: bool| {
        terms
            .keys
            .iter()
            .zip(&scaled)
            .filter(move |(k, _)| odd(k) == want_odd)
            .map(|(k, &v)| (halve(k), v))
            .peekable()
    };
    let (mut evens, mut odds) = (run(false), run(true));
    let mut out = Bound {
        keys: Vec::with_capacity(scaled.len()),
        coefficients: Vec::with_capacity(scaled.len()),
    };
    loop {
        let next = match (evens.peek(), odds.peek()) {
            (Some(e), Some(o)) => {
                if e.0 <= o.0 {
                    evens.next()
                } else {
                    odds.next()
                }
            }
            (Some(_), None) => evens.next(),
            (None, Some(_)) => odds.next(),
            (None, None) => break,
        };
        let Some((key, v)) = next else { break };
        match (out.keys.last(), out.coefficients.last_mut()) {
            (Some(last), Some(sum)) if *last == key => *sum += v,
            _ => {
                out.keys.push(key);
                out.coefficients.push(v);
            }
        }
    }
    // Keys whose coefficients cancelled are dropped.
    if out.coefficients.contains(&F::ZERO) {
        let (keys, coefficients) = out
            .keys
            .iter()
            .zip(&out.coefficients)
            .filter(|(_, v)| **v != F::ZERO)
            .map(|(k, v)| (*k, *v))
            .unzip();
        out = Bound { keys, coefficients };
    }
    out
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
        for (&(h0, h1), bounds) in wiring.keys.iter().zip(wiring.starts.windows(2)) {
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
            if sum != F::ZERO {
                terms.keys.push((
                    usize::try_from(h0).unwrap_or(usize::MAX),
                    usize::try_from(h1).unwrap_or(usize::MAX),
                ));
                terms.coefficients.push(sum);
            }
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
                // Each term's coefficient times the other hand's wire, gathered by the pair
                // (2k, 2k + 1) of this hand's index: one product per term, then the round
                // polynomial's three values per pair.
                let half = a.len() / 2;
                let mut sums = [vec![F::ZERO; half], vec![F::ZERO; half]];
                let others: Vec<F> = terms
                    .keys
                    .iter()
                    .map(|&(i0, i1)| get(b, if hand == 0 { i1 } else { i0 }))
                    .collect();
                let mut products = vec![F::ZERO; others.len()];
                F::mul_pairs(&terms.coefficients, &others, &mut products);
                for (&(i0, i1), &p) in terms.keys.iter().zip(&products) {
                    let mine = if hand == 0 { i0 } else { i1 };
                    if let Some(slot) = sums.get_mut(mine & 1).and_then(|s| s.get_mut(mine >> 1)) {
                        *slot += p;
                    }
                }
                let (mut at0, mut at1, mut at2) = (F::ZERO, F::ZERO, F::ZERO);
                let one_minus_p2 = F::ONE - p2;
                let [even, odd] = &sums;
                for (k, (&s0, &s1)) in even.iter().zip(odd).enumerate() {
                    if s0 == F::ZERO && s1 == F::ZERO {
                        continue;
                    }
                    let (lo, hi) = (get(a, 2 * k), get(a, 2 * k + 1));
                    at0 += s0 * lo;
                    at1 += s1 * hi;
                    at2 += (s0 * one_minus_p2 + s1 * p2) * (lo + p2 * (hi - lo));
                }
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
                // Bind the variable to c.
                if let Some(arr) = w.get_mut(hand) {
                    let half = arr.len() / 2;
                    let differences: Vec<F> = arr
                        .chunks_exact(2)
                        .map(|pair| get(pair, 1) - get(pair, 0))
                        .collect();
                    let mut scaled = vec![F::ZERO; half];
                    F::mul_pairs(&differences, &vec![c; half], &mut scaled);
                    let bound: Vec<F> = arr
                        .chunks_exact(2)
                        .zip(&scaled)
                        .map(|(pair, &d)| get(pair, 0) + d)
                        .collect();
                    *arr = bound;
                }
                terms = bind(&terms, hand, c);
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
