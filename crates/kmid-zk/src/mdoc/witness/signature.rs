//! The signature circuit's private inputs (google/longfellow-zk `mdoc_signature.h`,
//! `ecdsa/verify_witness.h`, `mac/mac_witness.h`): the credential hash `e` and the device key,
//! the two ECDSA verification traces (the issuer's over `e`, the device's over the transcript
//! hash), and the three MAC witnesses.

use super::ec::Point;
use super::scalar::{N, U256};
use crate::error::ZkError;
use crate::field::{Field, Fp256, Gf2_128};

/// An ECDSA P-256 verification the circuit replays: key, message hash (as the 256-bit integer
/// of the SHA-256 digest), signature.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ecdsa {
    pub(crate) key: (Fp256, Fp256),
    pub(crate) hash: U256,
    pub(crate) r: U256,
    pub(crate) s: U256,
}

fn refuse(what: &'static str) -> ZkError {
    ZkError::Statement(what)
}

/// Appends the 1034 wires of one verification: `r`, `R`'s y, `r⁻¹`, `(−s)⁻¹`, `Qx⁻¹`, the
/// table `G+Q, G+R, Q+R, G+Q+R` (affine), then per bit (most significant first) the table index
/// `2b − 7` and, but for the last, the accumulator after it.
pub(crate) fn ecdsa(out: &mut Vec<Fp256>, v: &Ecdsa) -> Result<(), ZkError> {
    let bad = || refuse("a signature does not verify");
    let zero = U256::default();
    if v.r == zero || v.s == zero || v.r >= N || v.s >= N {
        return Err(bad());
    }
    if !Point::on_curve(v.key.0, v.key.1) {
        return Err(refuse("a key is not on P-256"));
    }
    let s_inv = v.s.inv_mod();
    let u1 = v.hash.reduce_once().mul_mod(s_inv);
    let u2 = v.r.mul_mod(s_inv);
    let g = Point::generator();
    let q = Point::affine(v.key.0, v.key.1);
    let (rx, ry) = g.mul(&u1).add(q.mul(&u2)).to_affine().ok_or_else(bad)?;
    if rx != v.r.to_fp() {
        return Err(bad());
    }
    let r = Point::affine(rx, ry);
    let neg_s = v.s.neg_mod();
    out.push(rx);
    out.push(ry);
    out.push(rx.inv().ok_or_else(bad)?);
    out.push(neg_s.to_fp().inv().ok_or_else(bad)?);
    out.push(v.key.0.inv().ok_or_else(|| refuse("a key with x = 0"))?);
    let normal = |p: Point| p.to_affine().map(|(x, y)| Point::affine(x, y));
    let gq = normal(g.add(q)).ok_or_else(bad)?;
    let gr = normal(g.add(r)).ok_or_else(bad)?;
    let qr = normal(q.add(r)).ok_or_else(bad)?;
    let gqr = normal(gr.add(q)).ok_or_else(bad)?;
    for p in [gq, gr, qr, gqr] {
        out.push(p.x);
        out.push(p.y);
    }
    let table = [Point::IDENTITY, g, q, gq, r, gr, qr, gqr];
    let mut acc = Point::IDENTITY;
    for i in 0..256 {
        let j = 255 - i;
        let b = usize::from(v.hash.bit(j))
            + 2 * usize::from(v.r.bit(j))
            + 4 * usize::from(neg_s.bit(j));
        out.push(Fp256::from_u64(u64::try_from(2 * b).unwrap_or(0)) - Fp256::from_u64(7));
        if i > 0 {
            acc = acc.double();
        }
        acc = acc.add(*table.get(b).ok_or_else(bad)?);
        if i < 255 {
            out.extend([acc.x, acc.y, acc.z]);
        }
    }
    if acc.x != Fp256::ZERO || acc.z != Fp256::ZERO {
        return Err(bad());
    }
    Ok(())
}

/// Two bits per wire: `2·(b₀ + 2·b₁) − 3` (the bit plucker's points `−3, −1, 1, 3`).
fn pack2(out: &mut Vec<Fp256>, bits: impl Iterator<Item = bool>) {
    let bits: Vec<bool> = bits.collect();
    for pair in bits.chunks(2) {
        let v = pair
            .iter()
            .enumerate()
            .fold(0u64, |a, (k, &b)| a | (u64::from(b) << k));
        out.push(Fp256::from_u64(2 * v) - Fp256::from_u64(3));
    }
}

fn gf_bits(e: Gf2_128) -> impl Iterator<Item = bool> {
    (0..128).map(move |j| (e.0 >> j) & 1 == 1)
}

/// The two GF(2^128) halves a shared value is MACed as: its 32-byte little-endian encoding,
/// low half then high half.
pub(crate) fn mac_halves(v: Fp256) -> [Gf2_128; 2] {
    let mut b = Vec::with_capacity(32);
    v.write_bytes(&mut b);
    let half = |r: core::ops::Range<usize>| {
        Gf2_128(u128::from_le_bytes(
            b.get(r).and_then(|s| s.try_into().ok()).unwrap_or([0; 16]),
        ))
    };
    [half(0..16), half(16..32)]
}

/// Appends the MAC witness of one shared value: its two prover keys' bits, then its own bits,
/// two to a wire.
pub(crate) fn mac(out: &mut Vec<Fp256>, keys: [Gf2_128; 2], value: Fp256) {
    pack2(out, gf_bits(keys[0]));
    pack2(out, gf_bits(keys[1]));
    let [lo, hi] = mac_halves(value);
    pack2(out, gf_bits(lo).chain(gf_bits(hi)));
}

/// The signature circuit's private inputs.
pub(crate) fn private_inputs(
    e: U256,
    device_key: (Fp256, Fp256),
    issuer: &Ecdsa,
    device: &Ecdsa,
    ap: &[Gf2_128; 6],
) -> Result<Vec<Fp256>, ZkError> {
    // The MAC circuit checks each shared value's bits are below n.
    if e >= N
        || U256(device_key.0.to_canonical_limbs()) >= N
        || U256(device_key.1.to_canonical_limbs()) >= N
    {
        return Err(refuse("a hash or key coordinate not below the group order"));
    }
    let mut out = Vec::with_capacity(2839);
    let e_fp = e.to_fp();
    out.extend([e_fp, device_key.0, device_key.1]);
    ecdsa(&mut out, issuer)?;
    ecdsa(&mut out, device)?;
    for (k, v) in [e_fp, device_key.0, device_key.1].into_iter().enumerate() {
        let keys = [
            ap.get(2 * k).copied().unwrap_or_default(),
            ap.get(2 * k + 1).copied().unwrap_or_default(),
        ];
        mac(&mut out, keys, v);
    }
    Ok(out)
}

/// The six MAC tags: `(av + ap_i)·m_i` over `e`, `dpkx`, `dpky`'s halves.
pub(crate) fn macs(
    e: Fp256,
    device_key: (Fp256, Fp256),
    ap: &[Gf2_128; 6],
    av: Gf2_128,
) -> [Gf2_128; 6] {
    let halves: Vec<Gf2_128> = [e, device_key.0, device_key.1]
        .into_iter()
        .flat_map(mac_halves)
        .collect();
    core::array::from_fn(|i| {
        (av + ap.get(i).copied().unwrap_or_default()) * halves.get(i).copied().unwrap_or_default()
    })
}
