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

/// Products are batched this many at a time, in buffers on the stack (one pass over each
/// array, no array-sized temporaries).
const CHUNK: usize = 256;

/// The index of a key on `hand` and on the other hand.
#[inline(always)]
fn hands(key: (u32, u32), hand: usize) -> (u32, u32) {
    if hand == 0 { key } else { (key.1, key.0) }
}

/// Binds `hand`'s index of every key to `c`, in place: the index halves and the coefficient
/// becomes the line through its value at the even index and at the odd one, at `c` (a key
/// without its partner is zero there). Partners are neighbours in Morton order and the order
/// survives (see [`Wiring`]), so this is one pass; the products run in batches.
fn bind<F: Field>(terms: &mut Bound<F>, hand: usize, c: F) {
    let one_minus = F::ONE - c;
    let n = terms.keys.len();
    let (mut read, mut write) = (0, 0);
    let mut base = [F::ZERO; CHUNK];
    let mut slope = [F::ZERO; CHUNK];
    let mut factor = [F::ZERO; CHUNK];
    let mut product = [F::ZERO; CHUNK];
    while read < n {
        // Up to CHUNK outputs; each reads one or two keys at or after its own position, so
        // writing them back in place never overwrites a key still to be read.
        let first = write;
        let mut j = 0;
        for ((b, s), f) in base.iter_mut().zip(&mut slope).zip(&mut factor) {
            let Some(&key) = terms.keys.get(read) else {
                break;
            };
            let (mine, other) = hands(key, hand);
            let v = terms.coefficients.get(read).copied().unwrap_or(F::ZERO);
            let partner = terms.keys.get(read + 1).map(|&k| hands(k, hand));
            if mine & 1 == 0 && partner == Some((mine | 1, other)) {
                let v1 = terms.coefficients.get(read + 1).copied().unwrap_or(F::ZERO);
                (*b, *s, *f) = (v, v1 - v, c);
                read += 2;
            } else {
                (*b, *s, *f) = (F::ZERO, v, if mine & 1 == 1 { c } else { one_minus });
                read += 1;
            }
            if let Some(k) = terms.keys.get_mut(write) {
                *k = if hand == 0 {
                    (mine >> 1, other)
                } else {
                    (other, mine >> 1)
                };
            }
            write += 1;
            j += 1;
        }
        let (slope, factor, product) = (
            slope.get(..j).unwrap_or_default(),
            factor.get(..j).unwrap_or_default(),
            product.get_mut(..j).unwrap_or_default(),
        );
        F::mul_pairs(slope, factor, product);
        let out = terms.coefficients.get_mut(first..write).unwrap_or_default();
        for (o, (&b, &p)) in out.iter_mut().zip(base.iter().zip(product.iter())) {
            *o = b + p;
        }
    }
    terms.keys.truncate(write);
    terms.coefficients.truncate(write);
}

/// `QW[i] = Σ` over the keys whose index on `hand` is `i` of coefficient × the other hand's
/// wire `b` (one product per key, in batches), into `qw` (the length of this hand's wires).
fn gather<F: Field>(terms: &Bound<F>, hand: usize, b: &[F], qw: &mut Vec<F>, len: usize) {
    qw.clear();
    qw.resize(len, F::ZERO);
    let mut others = [F::ZERO; CHUNK];
    let mut products = [F::ZERO; CHUNK];
    for (keys, coefficients) in terms
        .keys
        .chunks(CHUNK)
        .zip(terms.coefficients.chunks(CHUNK))
    {
        for (o, &k) in others.iter_mut().zip(keys) {
            let (_, other) = hands(k, hand);
            *o = get(b, usize::try_from(other).unwrap_or(usize::MAX));
        }
        let j = keys.len();
        let products = products.get_mut(..j).unwrap_or_default();
        F::mul_pairs(coefficients, others.get(..j).unwrap_or_default(), products);
        for (&k, &p) in keys.iter().zip(products.iter()) {
            let (mine, _) = hands(k, hand);
            if let Some(slot) = qw.get_mut(usize::try_from(mine).unwrap_or(usize::MAX)) {
                *slot += p;
            }
        }
    }
}

/// Over the pairs `(2k, 2k + 1)` where `qw` is not zero, with `s0, s1` its values there, `lo,
/// hi` the wires', `ds = s1 − s0` and `da = hi − lo`: `(Σ s0·lo, Σ s0·da + ds·lo, Σ ds·da)`, the
/// round polynomial's value at 0 and its two higher coefficients — each line through a pair is
/// `lo + x·da`. Dot products in batches, one reduction each.
fn round_sums<F: Field>(qw: &[F], a: &[F]) -> (F, F, F) {
    let (mut s0s, mut los, mut dss, mut das) = (
        [F::ZERO; CHUNK],
        [F::ZERO; CHUNK],
        [F::ZERO; CHUNK],
        [F::ZERO; CHUNK],
    );
    let (mut at0, mut cross, mut square) = (F::ZERO, F::ZERO, F::ZERO);
    let mut pairs = qw.chunks_exact(2).zip(a.chunks_exact(2)).peekable();
    while pairs.peek().is_some() {
        let mut j = 0;
        for (q, x) in pairs.by_ref() {
            let (s0, s1, lo, hi) = (get(q, 0), get(q, 1), get(x, 0), get(x, 1));
            if s0 == F::ZERO && s1 == F::ZERO {
                continue;
            }
            if let (Some(a), Some(b), Some(c), Some(d)) = (
                s0s.get_mut(j),
                los.get_mut(j),
                dss.get_mut(j),
                das.get_mut(j),
            ) {
                (*a, *b, *c, *d) = (s0, lo, s1 - s0, hi - lo);
            }
            j += 1;
            if j == CHUNK {
                break;
            }
        }
        let (s0, lo, ds, da) = (
            s0s.get(..j).unwrap_or_default(),
            los.get(..j).unwrap_or_default(),
            dss.get(..j).unwrap_or_default(),
            das.get(..j).unwrap_or_default(),
        );
        at0 += F::dot(s0, lo);
        cross += F::dot(s0, da) + F::dot(ds, lo);
        square += F::dot(ds, da);
    }
    (at0, cross, square)
}

/// Binds a wire array's lowest index variable to `c`, in place: `A'[k] = A[2k] + c·(A[2k+1] −
/// A[2k])`.
fn bind_wires<F: Field>(arr: &mut Vec<F>, c: F) {
    let scalar = [c; CHUNK];
    let mut differences = [F::ZERO; CHUNK];
    let mut scaled = [F::ZERO; CHUNK];
    let half = arr.len() / 2;
    let mut k = 0;
    while k < half {
        let j = (half - k).min(CHUNK);
        let pairs = arr.get(2 * k..2 * (k + j)).unwrap_or_default();
        for (d, pair) in differences.iter_mut().zip(pairs.chunks_exact(2)) {
            *d = get(pair, 1) - get(pair, 0);
        }
        let scaled = scaled.get_mut(..j).unwrap_or_default();
        F::mul_pairs(
            differences.get(..j).unwrap_or_default(),
            scalar.get(..j).unwrap_or_default(),
            scaled,
        );
        for (i, &d) in scaled.iter().enumerate() {
            let lo = get(arr, 2 * (k + i));
            if let Some(slot) = arr.get_mut(k + i) {
                *slot = lo + d;
            }
        }
        k += j;
    }
    arr.truncate(half.max(1));
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
    mut wires: Wires<F>,
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
    let mut qw = Vec::new();
    for (ly, layer) in circuit.layers.iter().enumerate() {
        let logw = layer.logw;
        let alpha: F = transcript.draw()?;
        let beta: F = transcript.draw()?;
        // EQ(g0) + α·EQ(g1), the two claims' points (one point, twice, at the outputs).
        let (mut eqg, other) = match &points {
            Some([a, b]) => (eq_table(a), eq_table(b)),
            None => (eq_table(&g0), eq_table(&g0)),
        };
        let mut scaled = vec![F::ZERO; other.len()];
        crate::field::scale(&other, alpha, &mut scaled);
        for (e, &s) in eqg.iter_mut().zip(&scaled) {
            *e += s;
        }
        // The bound wiring: per (h0, h1), the sum of its terms' coefficients times eq(g).
        let wiring = wirings.get(ly).ok_or(ZkError::CircuitMismatch("wiring"))?;
        let mut terms = Bound {
            keys: Vec::with_capacity(wiring.keys.len()),
            coefficients: Vec::with_capacity(wiring.keys.len()),
        };
        terms.keys.extend_from_slice(&wiring.keys);
        terms.coefficients.resize(wiring.keys.len(), F::ZERO);
        {
            // Per term, coefficient × eq_g[g] in batches, each added to its key's sum.
            let (mut cs, mut es, mut products) =
                ([F::ZERO; CHUNK], [F::ZERO; CHUNK], [F::ZERO; CHUNK]);
            let mut owners = [0usize; CHUNK];
            let mut j = 0;
            let mut flush = |j: usize, cs: &[F], es: &[F], owners: &[usize], sums: &mut [F]| {
                let products = products.get_mut(..j).unwrap_or_default();
                F::mul_pairs(cs, es, products);
                for (&o, &p) in owners.iter().zip(products.iter()) {
                    if let Some(s) = sums.get_mut(o) {
                        *s += p;
                    }
                }
            };
            for (owner, bounds) in wiring.starts.windows(2).enumerate() {
                let (from, to) = match bounds {
                    [from, to] => (
                        usize::try_from(*from).unwrap_or(usize::MAX),
                        usize::try_from(*to).unwrap_or(usize::MAX),
                    ),
                    _ => continue,
                };
                for &i in wiring.order.get(from..to).unwrap_or_default() {
                    let Some(t) = layer.terms.get(usize::try_from(i).unwrap_or(usize::MAX)) else {
                        continue;
                    };
                    let v = circuit.constant(t);
                    let gi = usize::try_from(t.g).unwrap_or(usize::MAX);
                    if let (Some(c), Some(e), Some(o)) =
                        (cs.get_mut(j), es.get_mut(j), owners.get_mut(j))
                    {
                        *c = if v == F::ZERO { beta } else { v };
                        *e = eqg.get(gi).copied().unwrap_or(F::ZERO);
                        *o = owner;
                    }
                    j += 1;
                    if j == CHUNK {
                        flush(j, &cs, &es, &owners, &mut terms.coefficients);
                        j = 0;
                    }
                }
            }
            flush(
                j,
                cs.get(..j).unwrap_or_default(),
                es.get(..j).unwrap_or_default(),
                owners.get(..j).unwrap_or_default(),
                &mut terms.coefficients,
            );
        }
        let size = 1usize << logw;
        let inputs = wires
            .inputs
            .get_mut(ly)
            .map(core::mem::take)
            .unwrap_or_default();
        let mut w = [inputs.clone(), inputs];
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
                gather(&terms, hand, b, &mut qw, a.len());
                // The round polynomial Σ_k QW(x)·A(x) over the pairs (2k, 2k + 1), both lines
                // through their even and odd values: at 0, at 1, and at the third point p2,
                // where each line is lo + p2·(hi − lo) — so p(p2) = p(0) + p2·(Σ s0·da + ds·lo)
                // + p2²·Σ ds·da, five dot products over the pairs where QW is not zero.
                let (at0, cross, square) = round_sums(&qw, a);
                // p(1) = Σ s1·hi = Σ (s0 + ds)(lo + da).
                let at1 = at0 + cross + square;
                let at2 = at0 + p2 * cross + p2 * p2 * square;
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
                // Bind the variable to c, in place.
                if let Some(arr) = w.get_mut(hand) {
                    bind_wires(arr, c);
                }
                bind(&mut terms, hand, c);
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn morton_interleaves(h0 in any::<u32>(), h1 in any::<u32>()) {
            let m = super::morton(h0, h1);
            for k in 0..32 {
                prop_assert_eq!((m >> (2 * k)) & 1, u64::from((h0 >> k) & 1));
                prop_assert_eq!((m >> (2 * k + 1)) & 1, u64::from((h1 >> k) & 1));
            }
        }
    }
}
