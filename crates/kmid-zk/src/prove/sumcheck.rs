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

/// A sparse bound wiring: `(h0, h1, coefficient)` sorted by `(h0, h1)`, duplicates merged.
fn merge<F: Field>(terms: &mut Vec<(usize, usize, F)>) {
    terms.sort_unstable_by_key(|&(a, b, _)| (a, b));
    let mut out: Vec<(usize, usize, F)> = Vec::with_capacity(terms.len());
    for &(a, b, c) in terms.iter() {
        match out.last_mut() {
            Some(last) if last.0 == a && last.1 == b => last.2 += c,
            _ => out.push((a, b, c)),
        }
    }
    out.retain(|t| t.2 != F::ZERO);
    *terms = out;
}

/// Binds `hand`'s index of every term of a canonical wiring ([`merge`]'s order) to `c`: the
/// index halves and the coefficient takes `c` (odd index) or `1 − c` (even). The terms whose
/// index was even stay in order among themselves, and so do the odd ones, so one merge of the
/// two runs (adding coefficients that meet, dropping zeros) gives the canonical wiring again,
/// with no sort.
fn bind<F: Field>(terms: &[(usize, usize, F)], hand: usize, c: F) -> Vec<(usize, usize, F)> {
    let one_minus = F::ONE - c;
    let odd = |t: &(usize, usize, F)| if hand == 0 { t.0 & 1 } else { t.1 & 1 } == 1;
    let bound = |t: &(usize, usize, F)| {
        let (i0, i1, v) = *t;
        let k = if odd(t) { c } else { one_minus };
        if hand == 0 {
            (i0 >> 1, i1, v * k)
        } else {
            (i0, i1 >> 1, v * k)
        }
    };
    let mut evens = terms.iter().filter(|t| !odd(t)).map(bound).peekable();
    let mut odds = terms.iter().filter(|t| odd(t)).map(bound).peekable();
    let mut out: Vec<(usize, usize, F)> = Vec::with_capacity(terms.len());
    loop {
        let next = match (evens.peek(), odds.peek()) {
            (Some(e), Some(o)) => {
                if (e.0, e.1) <= (o.0, o.1) {
                    evens.next()
                } else {
                    odds.next()
                }
            }
            (Some(_), None) => evens.next(),
            (None, Some(_)) => odds.next(),
            (None, None) => break,
        };
        let Some((a, b, v)) = next else { break };
        match out.last_mut() {
            Some(last) if last.0 == a && last.1 == b => last.2 += v,
            _ => out.push((a, b, v)),
        }
    }
    out.retain(|t| t.2 != F::ZERO);
    out
}

/// An entry of a wire array (indices come from the circuit, checked when it was read, and
/// halve with the arrays).
fn get<F: Field>(v: &[F], i: usize) -> F {
    v.get(i).copied().unwrap_or(F::ZERO)
}

/// Runs the sumcheck over `wires` with `pads`, writing and drawing on `transcript` exactly as
/// the verifier does; returns the padded proof.
///
/// # Errors
/// [`ZkError::Statement`] if a round does not sum to its claim (a witness that does not satisfy
/// the circuit).
pub(crate) fn prove<F: Field>(
    circuit: &Circuit<F>,
    public: &[F],
    wires: &Wires<F>,
    pads: &[F],
    transcript: &mut Transcript<'_>,
) -> Result<Proof<F>, ZkError> {
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
        let mut terms: Vec<(usize, usize, F)> = layer
            .terms
            .iter()
            .map(|t| {
                let v = circuit.constant(t);
                let c = if v == F::ZERO { beta } else { v };
                let gi = usize::try_from(t.g).unwrap_or(usize::MAX);
                (
                    usize::try_from(t.h0).unwrap_or(usize::MAX),
                    usize::try_from(t.h1).unwrap_or(usize::MAX),
                    c * eqg.get(gi).copied().unwrap_or(F::ZERO),
                )
            })
            .collect();
        merge(&mut terms);
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
                for &(i0, i1, c) in &terms {
                    let (mine, other) = if hand == 0 { (i0, i1) } else { (i1, i0) };
                    if let Some(slot) = sums.get_mut(mine & 1).and_then(|s| s.get_mut(mine >> 1)) {
                        *slot += c * get(b, other);
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
                    let bound: Vec<F> = (0..half)
                        .map(|k| {
                            let (lo, hi) = (get(arr, 2 * k), get(arr, 2 * k + 1));
                            lo + c * (hi - lo)
                        })
                        .collect();
                    *arr = bound;
                }
                terms = bind(&terms, hand, c);
            }
            rounds.push(r);
        }
        let [wa, wb] = &w;
        let (v0, v1) = (get(wa, 0), get(wb, 0));
        let q = terms.first().map_or(F::ZERO, |t| t.2);
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
        points = Some(h);
        pad_base += 4 * logw + 3;
    }
    Ok(Proof { layers })
}
