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
/// are the integers), one linear convolution of `(w_t v_t)` with `h_k = 1/k` per row, by the
/// FFT over the field's quadratic extension ([`Field::convolve_tail`]; `O(m log m)`).
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
    // The points are the integers 0 … m−1, so every table is one of factorials: the weights
    // w_t = 1/(t!·(n−1−t)!·(−1)^(n−1−t)), V(x_u) = Π_{s<n}(u − s) = u!/(u−n)!, h_k = 1/k.
    let mut fact = Vec::with_capacity(m);
    let mut acc = F::ONE;
    for k in 0..m {
        if k > 0 {
            acc *= point::<F>(k);
        }
        fact.push(acc);
    }
    let mut inv_fact = fact.clone();
    batch_invert(&mut inv_fact);
    let at = |v: &[F], i: usize| v.get(i).copied().unwrap_or(F::ZERO);
    let weights: Vec<F> = (0..n)
        .map(|t| {
            let w = at(&inv_fact, t) * at(&inv_fact, n - 1 - t);
            if (n - 1 - t) % 2 == 1 { -w } else { w }
        })
        .collect();
    // h_0 is never used: u ≥ n > t.
    let h: Vec<F> = (0..m)
        .map(|k| match k {
            0 => F::ZERO,
            _ => at(&inv_fact, k) * at(&fact, k - 1),
        })
        .collect();
    let scaled: Vec<Vec<F>> = rows
        .iter()
        .map(|row| row.iter().zip(&weights).map(|(&v, &w)| v * w).collect())
        .collect();
    let sums = F::convolve_tail(&scaled, &h, n, m);
    for (row, tail) in rows.iter_mut().zip(sums) {
        row.extend(
            (n..m)
                .zip(tail)
                .map(|(u, s)| at(&fact, u) * at(&inv_fact, u - n) * s),
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
            count in 1usize..4,
        ) {
            // `count` rows (the P-256 field transforms them two at a time), each its own.
            let m = values.len() + more;
            let row = |r: usize| -> Vec<u128> {
                values.iter().map(|&c| c.rotate_left(u32::try_from(r * 17).unwrap())).collect()
            };
            let gf: Vec<Vec<Gf2_128>> =
                (0..count).map(|r| row(r).iter().map(|&c| Gf2_128(c)).collect()).collect();
            let mut rows = gf.clone();
            super::extend(&mut rows, values.len(), m);
            for (got, original) in rows.iter().zip(&gf) {
                prop_assert_eq!(got, &extend_pointwise(original, m));
            }
            let fp: Vec<Vec<Fp256>> = (0..count)
                .map(|r| {
                    row(r)
                        .iter()
                        .map(|&c| {
                            Fp256::from_canonical_limbs([c as u64, (c >> 64) as u64, 3, 0]).unwrap()
                        })
                        .collect()
                })
                .collect();
            let mut rows = fp.clone();
            super::extend(&mut rows, values.len(), m);
            for (got, original) in rows.iter().zip(&fp) {
                prop_assert_eq!(got, &extend_pointwise(original, m));
            }
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
