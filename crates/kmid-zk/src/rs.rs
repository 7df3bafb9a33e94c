//! Reed-Solomon codewords as Ligero uses them (draft-google-cfrg-libzk §4.2): the row with values
//! `v_0 … v_{len−1}` at the points `x_t = of_scalar(t)` is the polynomial of degree `< len`
//! through them, and its codeword is its values at `x_0, x_1, …`. The verifier only needs that
//! polynomial at the few opened columns, so it interpolates there (barycentric form) instead of
//! transforming whole rows. The prover extends whole rows ([`extend`]) by a convolution.

use crate::field::{Field, batch_invert};

/// Lagrange interpolation on the nodes `x_0 … x_{len−1}`.
#[derive(Debug, Clone)]
pub struct Interpolation<F> {
    nodes: Vec<F>,
    /// `w_t = 1 / Π_{s≠t} (x_t − x_s)`.
    weights: Vec<F>,
}

impl<F: Field> Interpolation<F> {
    /// The nodes `of_scalar(0 … len−1)` and their barycentric weights (`O(len²)` products, once
    /// per circuit).
    #[must_use]
    pub fn new(len: usize) -> Self {
        let nodes: Vec<F> = (0..len)
            .map(|t| F::of_scalar(u64::try_from(t).unwrap_or(u64::MAX)))
            .collect();
        let mut weights: Vec<F> = nodes
            .iter()
            .enumerate()
            .map(|(t, &xt)| {
                nodes
                    .iter()
                    .enumerate()
                    .filter(|&(s, _)| s != t)
                    .fold(F::ONE, |acc, (_, &xs)| acc * (xt - xs))
            })
            .collect();
        batch_invert(&mut weights);
        Self { nodes, weights }
    }

    /// The number of nodes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no nodes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The coefficients `c_t` with `p(z) = Σ c_t v_t` for every polynomial `p` of degree `< len`
    /// with `p(x_t) = v_t`; `z` must not be a node (an opened column never is).
    #[must_use]
    pub fn coefficients(&self, z: F) -> Vec<F> {
        let mut d: Vec<F> = self.nodes.iter().map(|&x| z - x).collect();
        let vanishing = d.iter().fold(F::ONE, |acc, &v| acc * v);
        batch_invert(&mut d);
        d.iter()
            .zip(&self.weights)
            .map(|(&inv, &w)| vanishing * w * inv)
            .collect()
    }
}

/// Extends rows given by their first `n` values (at `x_0 … x_{n−1}`) to their first `m`
/// codeword values, in place (each row is resized to `m`; `m ≤ n` only truncates).
///
/// GF(2^128) ([`Field::XOR_POINTS`]: the points are a GF(2)-linear image of the bits of their
/// index): the values at the rest of the first power-of-two block of points are interpolated
/// (one set of coefficients per point serves every row), then the additive FFT of Lin, Chung
/// and Han (FOCS 2014) takes the block to its polynomial in their novel basis and evaluates it
/// on each further block — `O(m log m)` products per row, as google/longfellow-zk does.
///
/// The P-256 field: in barycentric form `p(x_u) = V(x_u) · Σ_t w_t v_t / (u − t)` (the points
/// are the integers), one linear convolution of `(w_t v_t)` with `h_k = 1/k` per row, by
/// Karatsuba's recursion (`O(m^1.58)`; the field has no large power-of-two roots of unity).
pub fn extend<F: Field>(rows: &mut [Vec<F>], n: usize, m: usize) {
    for row in rows.iter_mut() {
        row.resize(n.min(m), F::ZERO);
    }
    if m <= n || n == 0 {
        for row in rows.iter_mut() {
            row.resize(m, F::ZERO);
        }
        return;
    }
    if F::XOR_POINTS {
        extend_additive(rows, n, m);
    } else {
        extend_by_convolution(rows, n, m);
    }
}

/// `log2` of a power of two.
fn log2(v: usize) -> usize {
    usize::try_from(v.trailing_zeros()).unwrap_or(0)
}

fn point<F: Field>(u: usize) -> F {
    F::of_scalar(u64::try_from(u).unwrap_or(u64::MAX))
}

fn extend_by_convolution<F: Field>(rows: &mut [Vec<F>], n: usize, m: usize) {
    let interp = Interpolation::<F>::new(n);
    // h_k = 1/x_k = 1/k (k ≥ 1; h_0 is never used: u ≠ t).
    let mut h: Vec<F> = (0..m).map(point).collect();
    if let Some(h0) = h.first_mut() {
        *h0 = F::ZERO;
    }
    batch_invert(&mut h);
    // V(x_u) for the new points.
    let vanishing: Vec<F> = (n..m)
        .map(|u| {
            let xu = point::<F>(u);
            interp.nodes.iter().fold(F::ONE, |acc, &xs| acc * (xu - xs))
        })
        .collect();
    for row in rows.iter_mut() {
        let a: Vec<F> = row
            .iter()
            .zip(&interp.weights)
            .map(|(&v, &w)| v * w)
            .collect();
        let sums = linear_convolution(&a, &h, m);
        row.extend(
            vanishing
                .iter()
                .zip(sums.get(n..m).unwrap_or_default())
                .map(|(&v, &s)| v * s),
        );
    }
}

/// `Ŵ_i(x_{2^b})` for `i < levels`, `b < bits`: the normalised vanishing polynomials of the
/// subspaces `S_i = {x_0 … x_{2^i − 1}}` (linear maps, so their value at any `x_s` is the sum
/// over the bits of `s`).
fn subspace_table<F: Field>(levels: usize, bits: usize) -> Vec<Vec<F>> {
    (0..levels)
        .map(|i| {
            let w = |x: F| (0..1usize << i).fold(F::ONE, |acc, v| acc * (x - point::<F>(v)));
            let norm = w(point(1 << i)).inv().unwrap_or(F::ZERO);
            (0..bits).map(|b| w(point(1 << b)) * norm).collect()
        })
        .collect()
}

/// `Ŵ_i(x_s)`.
fn w_hat<F: Field>(table: &[Vec<F>], i: usize, s: usize) -> F {
    let row = table.get(i).map(Vec::as_slice).unwrap_or_default();
    row.iter()
        .enumerate()
        .filter(|(b, _)| (s >> b) & 1 == 1)
        .fold(F::ZERO, |acc, (_, &v)| acc + v)
}

/// The additive FFT: `d` (a power-of-two length `2^k`) holds a polynomial's coefficients in
/// the novel basis; afterwards its values at `x_{offset} … x_{offset + 2^k − 1}` (`offset` a
/// multiple of `2^k`).
fn additive_fft<F: Field>(d: &mut [F], offset: usize, table: &[Vec<F>]) {
    let k = log2(d.len());
    for i in (0..k).rev() {
        let half = 1usize << i;
        for (j, block) in d.chunks_mut(2 * half).enumerate() {
            let lambda = w_hat(table, i, offset + j * 2 * half);
            let (lo, hi) = block.split_at_mut(half);
            for (l, h) in lo.iter_mut().zip(hi.iter_mut()) {
                *l += lambda * *h;
                *h += *l;
            }
        }
    }
}

/// The inverse of [`additive_fft`] at offset 0: values at `x_0 … x_{2^k − 1}` to coefficients.
fn additive_ifft<F: Field>(d: &mut [F], table: &[Vec<F>]) {
    let k = log2(d.len());
    for i in 0..k {
        let half = 1usize << i;
        for (j, block) in d.chunks_mut(2 * half).enumerate() {
            let lambda = w_hat(table, i, j * 2 * half);
            let (lo, hi) = block.split_at_mut(half);
            for (l, h) in lo.iter_mut().zip(hi.iter_mut()) {
                *h -= *l;
                *l -= lambda * *h;
            }
        }
    }
}

fn extend_additive<F: Field>(rows: &mut [Vec<F>], n: usize, m: usize) {
    let block = n.next_power_of_two();
    let interp = Interpolation::<F>::new(n);
    // The rest of the first block, interpolated.
    let filling: Vec<Vec<F>> = (n..block.min(m))
        .map(|u| interp.coefficients(point(u)))
        .collect();
    let levels = log2(block);
    let bits = log2(m.next_power_of_two()) + 1;
    let table = subspace_table::<F>(levels, bits);
    for row in rows.iter_mut() {
        let filled: Vec<F> = filling.iter().map(|c| dot(c, row)).collect();
        row.extend(filled);
        if m <= block {
            continue;
        }
        let mut coefficients = row.clone();
        additive_ifft(&mut coefficients, &table);
        let mut offset = block;
        while offset < m {
            let mut values = coefficients.clone();
            additive_fft(&mut values, offset, &table);
            row.extend(values.iter().take(m - offset));
            offset += block;
        }
    }
}

/// Products below this length are done term by term.
const KARATSUBA_BASE: usize = 16;

/// `c_u = Σ_{t ≤ u} a_t h_{u−t}` for `u < need` (`a` and `h` zero beyond their lengths).
fn linear_convolution<F: Field>(a: &[F], h: &[F], need: usize) -> Vec<F> {
    let block = a.len().next_power_of_two().max(KARATSUBA_BASE);
    let mut padded = a.to_vec();
    padded.resize(block, F::ZERO);
    let mut out = vec![F::ZERO; need + 2 * block];
    // H in blocks of a's padded length: each block's product lands at its offset.
    let mut start = 0;
    while start < need {
        let mut chunk: Vec<F> = h
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take(block)
            .copied()
            .collect();
        chunk.resize(block, F::ZERO);
        let product = karatsuba(&padded, &chunk);
        for (o, p) in out.iter_mut().skip(start).zip(product) {
            *o += p;
        }
        start += block;
    }
    out.truncate(need);
    out
}

/// The product of two polynomials of one power-of-two length `k`: `2k` coefficients (the last
/// zero).
fn karatsuba<F: Field>(a: &[F], b: &[F]) -> Vec<F> {
    let k = a.len();
    if k <= KARATSUBA_BASE {
        // Term by term, each coefficient one dot product (with b reversed).
        let reversed: Vec<F> = b.iter().rev().copied().collect();
        return (0..2 * k)
            .map(|s| {
                let lo = s.saturating_sub(k - 1);
                let hi = s.min(k - 1);
                if lo > hi {
                    return F::ZERO;
                }
                let from = k - 1 + lo - s;
                F::dot(
                    a.get(lo..=hi).unwrap_or_default(),
                    reversed.get(from..=from + (hi - lo)).unwrap_or_default(),
                )
            })
            .collect();
    }
    let half = k / 2;
    let (a0, a1) = a.split_at(half);
    let (b0, b1) = b.split_at(half);
    let p = karatsuba(a0, b0);
    let q = karatsuba(a1, b1);
    let sa: Vec<F> = a0.iter().zip(a1).map(|(&x, &y)| x + y).collect();
    let sb: Vec<F> = b0.iter().zip(b1).map(|(&x, &y)| x + y).collect();
    let r = karatsuba(&sa, &sb);
    let mut out = vec![F::ZERO; 2 * k];
    for (i, ((&pi, &qi), &ri)) in p.iter().zip(&q).zip(&r).enumerate() {
        if let Some(o) = out.get_mut(i) {
            *o += pi;
        }
        if let Some(o) = out.get_mut(i + k) {
            *o += qi;
        }
        if let Some(o) = out.get_mut(i + half) {
            *o += ri - pi - qi;
        }
    }
    out
}

/// `Σ c_t v_t` over the common length.
#[must_use]
pub fn dot<F: Field>(c: &[F], v: &[F]) -> F {
    F::dot(c, v)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::as_conversions)]
mod tests {
    use proptest::prelude::*;

    use super::{Interpolation, dot};
    use crate::field::{Field, Fp256, Gf2_128};

    /// Horner evaluation of a polynomial given by its coefficients.
    fn eval<F: Field>(coefficients: &[F], x: F) -> F {
        coefficients
            .iter()
            .rev()
            .fold(F::ZERO, |acc, &c| acc * x + c)
    }

    fn check<F: Field>(poly: &[F], at: u64) {
        let interp = Interpolation::<F>::new(poly.len());
        let values: Vec<F> = (0..poly.len())
            .map(|t| eval(poly, F::of_scalar(t as u64)))
            .collect();
        let z = F::of_scalar(at);
        assert_eq!(dot(&interp.coefficients(z), &values), eval(poly, z));
    }

    /// Row extension as it was: each new point interpolated.
    fn extend_pointwise<F: Field>(row: &[F], m: usize) -> Vec<F> {
        let interp = Interpolation::<F>::new(row.len());
        let mut out = row.to_vec();
        out.extend((row.len()..m).map(|u| dot(&interp.coefficients(F::of_scalar(u as u64)), row)));
        out
    }

    proptest! {
        #[test]
        fn extension_by_convolution_is_interpolation(
            values in proptest::collection::vec(any::<u128>(), 1..80),
            more in 0usize..300,
        ) {
            let m = values.len() + more;
            let gf: Vec<Gf2_128> = values.iter().map(|&c| Gf2_128(c)).collect();
            let mut rows = vec![gf.clone()];
            super::extend(&mut rows, gf.len(), m);
            prop_assert_eq!(&rows[0], &extend_pointwise(&gf, m));
            let fp: Vec<Fp256> = values
                .iter()
                .map(|&c| Fp256::from_canonical_limbs([c as u64, (c >> 64) as u64, 3, 0]).unwrap())
                .collect();
            let mut rows = vec![fp.clone()];
            super::extend(&mut rows, fp.len(), m);
            prop_assert_eq!(&rows[0], &extend_pointwise(&fp, m));
        }

        #[test]
        fn interpolation_recovers_polynomials(
            coefficients in proptest::collection::vec(any::<u128>(), 1..40),
            at in 40u64..5000,
        ) {
            let gf: Vec<Gf2_128> = coefficients.iter().map(|&c| Gf2_128(c)).collect();
            check(&gf, at);
            let fp: Vec<Fp256> = coefficients
                .iter()
                .map(|&c| Fp256::from_canonical_limbs([c as u64, (c >> 64) as u64, 7, 0]).unwrap())
                .collect();
            check(&fp, at);
        }
    }
}
