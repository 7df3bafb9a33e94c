//! Reed-Solomon codewords as Ligero uses them (draft-google-cfrg-libzk §4.2): the row with values
//! `v_0 … v_{len−1}` at the points `x_t = of_scalar(t)` is the polynomial of degree `< len`
//! through them, and its codeword is its values at `x_0, x_1, …`. The verifier only needs that
//! polynomial at the few opened columns, so it interpolates there (barycentric form) instead of
//! transforming whole rows.

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

    proptest! {
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
