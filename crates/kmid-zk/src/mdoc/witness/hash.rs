//! The hash circuit's private inputs (google/longfellow-zk `mdoc_hash.h`, `mdoc_witness.h`):
//! the three shared values as bits, the issuer's signed message (its SHA-256 blocks and their
//! witnesses), the positions in the MSO the circuit reads, each disclosed item with its blocks,
//! and the six MAC keys.

use kmid_cbor::{CborLimits, Item, decode};

use super::scalar::U256;
use super::sha::{BlockWitness, padded_witness};
use crate::error::ZkError;
use crate::field::{Field, Fp256, Gf2_128};
use crate::mdoc::Version;

/// The first 18 bytes of the issuer's `Sig_structure`, which the circuit supplies itself:
/// `["Signature1", h'A10126', h'', ` and the head of a payload of two length bytes.
pub(crate) const COSE1_PREFIX: [u8; 18] = [
    0x84, 0x6a, b'S', b'i', b'g', b'n', b'a', b't', b'u', b'r', b'e', b'1', 0x43, 0xa1, 0x01, 0x26,
    0x40, 0x59,
];

fn refuse(what: &'static str) -> ZkError {
    ZkError::Statement(what)
}

/// SHA-256 blocks the circuits take for the issuer's message.
pub(crate) fn max_blocks(version: Version) -> usize {
    match version {
        Version::V6 => 35,
        Version::V7 => 40,
    }
}

/// What the prover reads out of the issuer's payload.
#[derive(Debug, Clone)]
pub(crate) struct Mso {
    /// The whole signed message (prefix, length, payload).
    pub(crate) msg: Vec<u8>,
    /// Offsets (from the MSO map's first byte) of the keys `validFrom`, `validUntil`,
    /// `deviceKeyInfo`, `valueDigests`.
    pub(crate) offsets: [usize; 4],
    /// The device key, big-endian coordinates.
    pub(crate) device_key: ([u8; 32], [u8; 32]),
    payload: Vec<u8>,
}

fn key_offset(map: &Item<'_>, key: &str) -> Option<usize> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(k, _)| k.offset)
}

impl Mso {
    /// Reads the payload `D8 18 59 hi lo <MSO>` of the issuer's signature.
    pub(crate) fn read(payload: &[u8], version: Version) -> Result<Self, ZkError> {
        let len = payload.len();
        if len < 256
            || len + 29 > 64 * max_blocks(version)
            || payload.get(..3) != Some(&[0xd8, 0x18, 0x59])
        {
            return Err(refuse(
                "an MSO the circuit cannot take (its size or its encoding)",
            ));
        }
        let mut msg = COSE1_PREFIX.to_vec();
        msg.extend_from_slice(
            &u16::try_from(len)
                .map_err(|_| refuse("MSO too long"))?
                .to_be_bytes(),
        );
        msg.extend_from_slice(payload);
        let map_bytes = payload.get(5..).unwrap_or_default();
        let map = decode(map_bytes, &CborLimits::default())
            .map_err(|_| refuse("an MSO that does not decode"))?;
        let validity = map
            .get("validityInfo")
            .ok_or_else(|| refuse("an MSO without validityInfo"))?;
        // Item offsets count from the decoded input: the MSO map's first byte.
        let inner = |k| key_offset(validity, k);
        let offsets = [
            inner("validFrom").ok_or_else(|| refuse("no validFrom"))?,
            inner("validUntil").ok_or_else(|| refuse("no validUntil"))?,
            key_offset(&map, "deviceKeyInfo").ok_or_else(|| refuse("no deviceKeyInfo"))?,
            key_offset(&map, "valueDigests").ok_or_else(|| refuse("no valueDigests"))?,
        ];
        let cose_key = map
            .get("deviceKeyInfo")
            .and_then(|d| d.get("deviceKey"))
            .ok_or_else(|| refuse("no deviceKey"))?;
        let coord = |label: i64| -> Result<[u8; 32], ZkError> {
            cose_key
                .get_int(label)
                .and_then(|v| v.as_bytes())
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| refuse("a device key that is not P-256"))
        };
        Ok(Self {
            msg,
            offsets,
            device_key: (coord(-2)?, coord(-3)?),
            payload: payload.to_vec(),
        })
    }

    /// The offset (from the MSO map's first byte) of the digest of `digest_id` in namespace
    /// `ns`: its byte-string header.
    fn digest_offset(&self, ns: &str, digest_id: u64) -> Result<usize, ZkError> {
        let map = decode(
            self.payload.get(5..).unwrap_or_default(),
            &CborLimits::default(),
        )
        .map_err(|_| refuse("an MSO that does not decode"))?;
        map.get("valueDigests")
            .and_then(|v| v.get(ns))
            .and_then(|d| d.as_map())
            .and_then(|entries| entries.iter().find(|(k, _)| k.as_uint() == Some(digest_id)))
            .map(|(_, v)| v.offset)
            .ok_or_else(|| refuse("a disclosed item whose digest is not in the MSO"))
    }
}

fn bit(b: bool) -> Gf2_128 {
    if b { Gf2_128::ONE } else { Gf2_128::ZERO }
}

fn bits(out: &mut Vec<Gf2_128>, v: u64, n: usize) {
    out.extend((0..n).map(|i| bit((v >> i) & 1 == 1)));
}

fn byte_bits(out: &mut Vec<Gf2_128>, bytes: &[u8]) {
    for &b in bytes {
        bits(out, u64::from(b), 8);
    }
}

fn fp_bits(out: &mut Vec<Gf2_128>, v: Fp256) {
    let mut b = Vec::with_capacity(32);
    v.write_bytes(&mut b);
    byte_bits(out, &b);
}

/// A 32-bit word as 8 wires, 4 bits each, low first, at the plucker's points
/// `of_scalar(2v) − of_scalar(15)`.
fn word(out: &mut Vec<Gf2_128>, w: u32) {
    for k in 0..8 {
        let v = (w >> (4 * k)) & 0xf;
        out.push(Gf2_128::of_subfield(
            u16::try_from((2 * v) ^ 15).unwrap_or(0),
        ));
    }
}

fn block(out: &mut Vec<Gf2_128>, b: &BlockWitness) {
    for &w in &b.schedule {
        word(out, w);
    }
    for &(e, a) in &b.rounds {
        word(out, e);
        word(out, a);
    }
    for &w in &b.output {
        word(out, w);
    }
}

fn offset12(out: &mut Vec<Gf2_128>, v: usize) -> Result<(), ZkError> {
    if v >= 1 << 12 {
        return Err(refuse("an offset beyond the circuit's 12 bits"));
    }
    bits(out, u64::try_from(v).unwrap_or(0), 12);
    Ok(())
}

/// One disclosed item's wires: `x` is its `IssuerSignedItemBytes` (`D8 18 58 LL <item>`).
fn item(
    out: &mut Vec<Gf2_128>,
    version: Version,
    mso: &Mso,
    ns: &str,
    x: &[u8],
) -> Result<(), ZkError> {
    if x.len() < 56 || x.len() > 119 || x.get(..3) != Some(&[0xd8, 0x18, 0x58]) {
        return Err(refuse(
            "a disclosed item the circuit cannot take (56 to 119 bytes)",
        ));
    }
    let (pad, nb, blocks) =
        padded_witness(x, 2).ok_or_else(|| refuse("a disclosed item too long"))?;
    if nb != 2 {
        return Err(refuse("a disclosed item too short"));
    }
    byte_bits(out, &pad);
    for b in &blocks {
        block(out, b);
    }
    let map = decode(x.get(4..).unwrap_or_default(), &CborLimits::default())
        .map_err(|_| refuse("a disclosed item that does not decode"))?;
    let entries = map
        .as_map()
        .ok_or_else(|| refuse("a disclosed item that is not a map"))?;
    let digest_id = map
        .get("digestID")
        .and_then(Item::as_uint)
        .ok_or_else(|| refuse("no digestID"))?;
    offset12(out, mso.digest_offset(ns, digest_id)?)?;
    match version {
        Version::V6 => {
            let ei = map
                .get("elementIdentifier")
                .ok_or_else(|| refuse("no elementIdentifier"))?;
            offset12(out, ei.offset + 4)?;
            out.extend(core::iter::repeat_n(Gf2_128::ZERO, 36));
        }
        Version::V7 => {
            if entries.len() != 4 {
                return Err(refuse("a disclosed item that is not four members"));
            }
            out.extend(core::iter::repeat_n(Gf2_128::ZERO, 48));
            let starts: Vec<usize> = entries.iter().map(|(k, _)| k.offset + 4).collect();
            let lens: Vec<usize> = entries
                .iter()
                .map(|(k, v)| v.offset + v.raw.len() - k.offset)
                .collect();
            for &s in starts.get(1..).unwrap_or_default() {
                offset12(out, s)?;
            }
            for &l in &lens {
                offset12(out, l)?;
            }
            let mut perm = 0u64;
            for (field, name) in ["digestID", "random", "elementIdentifier", "elementValue"]
                .iter()
                .enumerate()
            {
                let rank = entries
                    .iter()
                    .position(|(k, _)| k.as_text() == Some(name))
                    .ok_or_else(|| refuse("a disclosed item without its four members"))?;
                perm |= u64::try_from(rank).unwrap_or(0) << (2 * field);
            }
            bits(out, perm, 8);
        }
    }
    Ok(())
}

/// The hash circuit's private inputs.
pub(crate) fn private_inputs(
    version: Version,
    mso: &Mso,
    e: U256,
    device_key: (Fp256, Fp256),
    items: &[(&str, &[u8])],
    ap: &[Gf2_128; 6],
) -> Result<Vec<Gf2_128>, ZkError> {
    let m = max_blocks(version);
    let (pad, nb, blocks) = padded_witness(&mso.msg, m).ok_or_else(|| refuse("an MSO too long"))?;
    let mut out = Vec::with_capacity(90_000);
    for v in [e.to_fp(), device_key.0, device_key.1] {
        fp_bits(&mut out, v);
    }
    bits(&mut out, u64::try_from(nb).unwrap_or(0), 8);
    byte_bits(&mut out, pad.get(COSE1_PREFIX.len()..).unwrap_or_default());
    for b in &blocks {
        block(&mut out, b);
    }
    for &o in &mso.offsets {
        offset12(&mut out, o)?;
    }
    for &(ns, x) in items {
        item(&mut out, version, mso, ns, x)?;
    }
    out.extend_from_slice(ap);
    Ok(out)
}
