//! Known answers (computed independently with Python's integers) and the field laws.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::as_conversions)]

use proptest::prelude::*;

use super::{Field, Fp256, Gf2_128};

fn fp(hex_be: &str) -> Fp256 {
    let mut bytes = hex::decode(hex_be).unwrap();
    bytes.reverse();
    Fp256::from_bytes(&bytes).unwrap()
}

fn fp_hex(v: Fp256) -> String {
    let mut out = Vec::new();
    v.write_bytes(&mut out);
    out.reverse();
    hex::encode(out)
}

#[test]
fn fp256_known_answers() {
    let a = fp("0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff");
    let b = fp("fedcba98765432100123456789abcdef8899aabbccddeeff0011223344556677");
    assert_eq!(
        fp_hex(a * b),
        "bea8be0dd54797c73c86b6bb5317a100d0f3620dbfe0f216ad0cd8bb6d0d798e"
    );
    assert_eq!(
        fp_hex(a.inv().unwrap()),
        "3f0d7039f27cc30e5b292fb9d2fa6c76049e3c734f1c67e7d44c78c54c97a546"
    );
    assert_eq!(Fp256::ZERO.inv(), None);
    assert_eq!(Fp256::from_u64(7) * Fp256::from_u64(6), Fp256::from_u64(42));
    assert_eq!(Fp256::ZERO - Fp256::ONE + Fp256::ONE, Fp256::ZERO);
}

#[test]
fn fp256_wire_form_is_canonical() {
    let p = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff";
    let mut bytes = hex::decode(p).unwrap();
    bytes.reverse();
    assert_eq!(Fp256::from_bytes(&bytes), None, "p itself is not canonical");
    bytes[0] -= 1;
    assert_eq!(Fp256::from_bytes(&bytes), Some(-Fp256::ONE));
    assert_eq!(Fp256::from_bytes(&bytes[..31]), None);
    assert_eq!(Fp256::from_bytes(&[0; 33]), None);
}

#[test]
fn gf2_128_known_answers() {
    let x = Gf2_128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
    let y = Gf2_128(0xdead_beef_cafe_babe_0011_2233_4455_6677);
    assert_eq!(x * y, Gf2_128(0xfa99_0997_bd53_944d_1a15_76f8_0d93_b1dd));
    // x^128 = x^7 + x^2 + x + 1.
    assert_eq!(Gf2_128::X.square_times(7), Gf2_128(0x87));
    assert_eq!(x * x.inv().unwrap(), Gf2_128::ONE);
    assert_eq!(Gf2_128::ZERO.inv(), None);
    assert_eq!(Gf2_128::from_bytes(&[0; 15]), None);
}

#[test]
fn gf2_128_subfield_basis() {
    // g = x^((2^128 − 1) / (2^16 − 1)) = x^(Π_{i=4..6} (2^(2^i) + 1)).
    let mut g = Gf2_128::X;
    for i in [4u32, 5, 6] {
        g = g.square_times(1 << i) * g;
    }
    assert_eq!(Gf2_128::of_subfield(2), g);
    assert_eq!(g.square_times(16), g, "g lies in GF(2^16)");
    let mut power = Gf2_128::ONE;
    for k in 0..16 {
        assert_eq!(Gf2_128::of_subfield(1 << k), power);
        power *= g;
    }
    assert_eq!(Gf2_128::of_scalar(3), Gf2_128::ONE + g);
    assert_eq!(Fp256::of_scalar(3), Fp256::from_u64(3));
}

#[test]
fn subfield_membership() {
    for u in [0u16, 1, 2, 3, 0x1234, 0xffff, 0x8000] {
        assert_eq!(Gf2_128::of_subfield(u).to_subfield(), Some(u));
    }
    // x itself is not in GF(2^16), nor is a typical element.
    assert_eq!(Gf2_128::X.to_subfield(), None);
    assert_eq!(
        Gf2_128(0x0123_4567_89ab_cdef_0011_2233_4455_6677).to_subfield(),
        None
    );
    // Closed under products.
    let (a, b) = (Gf2_128::of_subfield(0xbeef), Gf2_128::of_subfield(0x1357));
    assert!((a * b).to_subfield().is_some());
}

#[test]
fn batch_inversion() {
    let mut values: Vec<Fp256> = (0..10).map(Fp256::from_u64).collect();
    super::batch_invert(&mut values);
    assert_eq!(values[0], Fp256::ZERO);
    for (i, v) in values.iter().enumerate().skip(1) {
        assert_eq!(*v * Fp256::from_u64(i as u64), Fp256::ONE);
    }
}

fn any_fp() -> impl Strategy<Value = Fp256> {
    any::<[u64; 4]>().prop_map(|l| {
        // Clear the top bit: every such value is below p.
        Fp256::from_canonical_limbs([l[0], l[1], l[2], l[3] >> 1]).unwrap()
    })
}

fn any_gf() -> impl Strategy<Value = Gf2_128> {
    any::<u128>().prop_map(Gf2_128)
}

proptest! {
    #[test]
    fn fp256_laws(a in any_fp(), b in any_fp(), c in any_fp()) {
        prop_assert_eq!((a * b) * c, a * (b * c));
        prop_assert_eq!(a * (b + c), a * b + a * c);
        prop_assert_eq!(a - b + b, a);
        prop_assert_eq!(a + (-a), Fp256::ZERO);
        if a != Fp256::ZERO {
            prop_assert_eq!(a * a.inv().unwrap(), Fp256::ONE);
        }
        let mut bytes = Vec::new();
        a.write_bytes(&mut bytes);
        prop_assert_eq!(Fp256::from_bytes(&bytes), Some(a));
    }

    #[test]
    fn gf2_128_hardware_and_portable_products_agree(a in any_gf(), b in any_gf()) {
        prop_assert_eq!(a * b, a.mul_portable(b));
    }

    #[test]
    fn gf2_128_batched_products_agree(
        a in proptest::collection::vec(any::<u128>(), 0..9),
        b in proptest::collection::vec(any::<u128>(), 0..9),
    ) {
        // Odd and even lengths, unequal ones: the two-lane kernels' remainders.
        let (a, b): (Vec<Gf2_128>, Vec<Gf2_128>) = (
            a.into_iter().map(Gf2_128).collect(),
            b.into_iter().map(Gf2_128).collect(),
        );
        let n = a.len().min(b.len());
        let mut out = vec![Gf2_128::ZERO; n];
        Gf2_128::mul_pairs(&a, &b, &mut out);
        let want: Vec<Gf2_128> = a.iter().zip(&b).map(|(&x, &y)| x.mul_portable(y)).collect();
        prop_assert_eq!(&out, &want);
        let sum = want.iter().fold(Gf2_128::ZERO, |acc, &v| acc + v);
        prop_assert_eq!(Gf2_128::dot(&a, &b), sum);
    }

    #[test]
    fn gf2_128_laws(a in any_gf(), b in any_gf(), c in any_gf()) {
        prop_assert_eq!((a * b) * c, a * (b * c));
        prop_assert_eq!(a * (b + c), a * b + a * c);
        prop_assert_eq!(a * b, b * a);
        if a != Gf2_128::ZERO {
            prop_assert_eq!(a * a.inv().unwrap(), Gf2_128::ONE);
        }
    }
}
