//! The public inputs of the two mdoc circuits (google/longfellow-zk
//! `lib/circuits/mdoc/mdoc_zk.cc`, `mdoc_witness.h`; ISRG zk-cred-longfellow
//! `src/mdoc_zk/circuit_interface.md`).
//!
//! Signature circuit (P-256 base field): `1, issuer x, issuer y, e, 6 MAC tags as 128 bits each,
//! the MAC key as 128 bits`, where `e` is the SHA-256 (read big-endian) of the COSE
//! `Sig_structure` the device signs: `["Signature1", h'A10126', h'', bstr(tag24(
//! ["DeviceAuthentication", SessionTranscript, docType, tag24(DeviceNameSpaces)]))]`.
//!
//! Hash circuit (GF(2^128)): `1`, per disclosed attribute its identifier and value as bits, the
//! time as 20 ASCII bytes of bits, the 6 MAC tags, the MAC key.

use crate::error::ZkError;
use crate::field::{Field, Fp256, Gf2_128};
use crate::mdoc::Version;

/// One disclosed attribute: its namespace, identifier and CBOR-encoded value (the
/// `elementValue` bytes exactly as in the `IssuerSignedItem`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// The namespace (all attributes of one proof share it; the circuit does not see it).
    pub namespace: &'a str,
    /// The `elementIdentifier`.
    pub identifier: &'a str,
    /// The `elementValue`, CBOR-encoded.
    pub value: &'a [u8],
}

/// The time a proof is checked against, as the circuit compares it: `YYYY-MM-DDTHH:MM:SSZ`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp([u8; 20]);

impl Timestamp {
    /// Parses `YYYY-MM-DDTHH:MM:SSZ` (UTC, no fraction).
    ///
    /// # Errors
    /// [`ZkError::Statement`] for anything else.
    pub fn parse(s: &str) -> Result<Self, ZkError> {
        let b: [u8; 20] = s
            .as_bytes()
            .try_into()
            .map_err(|_| ZkError::Statement("time is not YYYY-MM-DDTHH:MM:SSZ"))?;
        let shape = b"dddd-dd-ddTdd:dd:ddZ";
        if b.iter().zip(shape).all(|(&c, &s)| match s {
            b'd' => c.is_ascii_digit(),
            _ => c == s,
        }) {
            Ok(Self(b))
        } else {
            Err(ZkError::Statement("time is not YYYY-MM-DDTHH:MM:SSZ"))
        }
    }

    /// The 20 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

/// What a proof is about.
#[derive(Debug, Clone, Copy)]
pub struct Statement<'a> {
    /// The issuer's (document signer's) P-256 key, affine `x` and `y`, big-endian.
    pub issuer_x: &'a [u8; 32],
    /// See `issuer_x`.
    pub issuer_y: &'a [u8; 32],
    /// The session transcript, CBOR, as both parties hold it.
    pub session_transcript: &'a [u8],
    /// The `docType`.
    pub doc_type: &'a str,
    /// The device-signed namespaces, CBOR (`A0`, an empty map, for every current prover).
    pub device_namespaces: &'a [u8],
    /// The disclosed attributes, in the order the circuit takes them.
    pub attributes: &'a [Attribute<'a>],
    /// The time validity is checked at.
    pub now: Timestamp,
}

/// A CBOR head of major type `major` for `len`.
fn cbor_head(out: &mut Vec<u8>, major: u8, len: usize) {
    let m = major << 5;
    match u64::try_from(len).unwrap_or(u64::MAX) {
        n @ 0..=23 => out.push(m | u8::try_from(n).unwrap_or(0)),
        n @ 24..=0xff => {
            out.push(m | 24);
            out.push(u8::try_from(n).unwrap_or(0));
        }
        n @ 0x100..=0xffff => {
            out.push(m | 25);
            out.extend_from_slice(&u16::try_from(n).unwrap_or(0).to_be_bytes());
        }
        n @ 0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend_from_slice(&u32::try_from(n).unwrap_or(0).to_be_bytes());
        }
        n => {
            out.push(m | 27);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

/// The bytes the device signs (its COSE `Sig_structure` over the detached
/// `DeviceAuthenticationBytes`, ISO/IEC 18013-5 §9.1.3.4).
#[must_use]
pub fn device_signed_bytes(statement: &Statement<'_>) -> Vec<u8> {
    let mut da = vec![0x84];
    cbor_head(&mut da, 3, 20);
    da.extend_from_slice(b"DeviceAuthentication");
    da.extend_from_slice(statement.session_transcript);
    cbor_head(&mut da, 3, statement.doc_type.len());
    da.extend_from_slice(statement.doc_type.as_bytes());
    da.extend_from_slice(&[0xd8, 0x18]);
    cbor_head(&mut da, 2, statement.device_namespaces.len());
    da.extend_from_slice(statement.device_namespaces);
    let mut tagged = vec![0xd8, 0x18];
    cbor_head(&mut tagged, 2, da.len());
    tagged.extend_from_slice(&da);
    let mut msg = vec![0x84, 0x6a];
    msg.extend_from_slice(b"Signature1");
    msg.extend_from_slice(&[0x43, 0xa1, 0x01, 0x26, 0x40]);
    cbor_head(&mut msg, 2, tagged.len());
    msg.extend_from_slice(&tagged);
    msg
}

/// A big-endian 32-byte integer as a P-256 field element, if below `p`.
pub(crate) fn fp_from_be(bytes: &[u8; 32]) -> Option<Fp256> {
    let mut le = *bytes;
    le.reverse();
    Fp256::from_bytes(&le)
}

/// Appends the 8 bits of `byte`, least significant first, as 0/1.
fn push_byte<F: Field>(out: &mut Vec<F>, byte: u8) {
    for i in 0..8 {
        out.push(if (byte >> i) & 1 == 1 {
            F::ONE
        } else {
            F::ZERO
        });
    }
}

/// Appends `bytes` zero-padded (or cut) to `len`, as bits.
fn push_buffer<F: Field>(out: &mut Vec<F>, bytes: &[u8], len: usize) {
    for i in 0..len {
        push_byte(out, bytes.get(i).copied().unwrap_or(0));
    }
}

/// Appends a GF(2^128) element's 128 coefficients as 0/1 in the P-256 field.
fn push_gf_bits(out: &mut Vec<Fp256>, e: Gf2_128) {
    for j in 0..128 {
        out.push(if (e.0 >> j) & 1 == 1 {
            Fp256::ONE
        } else {
            Fp256::ZERO
        });
    }
}

/// Checks an attribute value is one the circuits can compare: one CBOR text or byte string,
/// unsigned or negative integer, `true`/`false`, or a tagged date (tag 1004 `full-date`, 14 bytes
/// in all; tag 0 `tdate`, 22 bytes) — google/longfellow-zk's `cbor_validate`.
fn check_value(v: &[u8]) -> Result<(), ZkError> {
    let bad = ZkError::Statement("attribute value is not a comparable CBOR item");
    let item_len = |b: &[u8]| -> Option<usize> {
        let first = *b.first()?;
        let major = first >> 5;
        let info = first & 0x1f;
        let (arg, head) = match info {
            0..=23 => (u64::from(info), 1),
            24 => (u64::from(*b.get(1)?), 2),
            25 => (
                u64::from(u16::from_be_bytes(b.get(1..3)?.try_into().ok()?)),
                3,
            ),
            26 => (
                u64::from(u32::from_be_bytes(b.get(1..5)?.try_into().ok()?)),
                5,
            ),
            27 => (u64::from_be_bytes(b.get(1..9)?.try_into().ok()?), 9),
            _ => return None,
        };
        match major {
            0 | 1 => Some(head),
            2 | 3 => usize::try_from(arg).ok()?.checked_add(head),
            7 if first == 0xf4 || first == 0xf5 => Some(1),
            _ => None,
        }
    };
    match v {
        [0xd9, 0x03, 0xec, rest @ ..]
            if v.len() == 14 && rest.first().is_some_and(|b| b >> 5 == 3) =>
        {
            (item_len(rest) == Some(rest.len()))
                .then_some(())
                .ok_or(bad)
        }
        [0xc0, rest @ ..] if v.len() == 22 && rest.first().is_some_and(|b| b >> 5 == 3) => {
            (item_len(rest) == Some(rest.len()))
                .then_some(())
                .ok_or(bad)
        }
        _ => (item_len(v) == Some(v.len())).then_some(()).ok_or(bad),
    }
}

/// The hash circuit's inputs for one attribute.
fn push_attribute(
    out: &mut Vec<Gf2_128>,
    version: Version,
    a: &Attribute<'_>,
) -> Result<(), ZkError> {
    check_value(a.value)?;
    if a.identifier.len() > 32 || a.value.len() > 64 || a.namespace.len() > 64 {
        return Err(ZkError::Statement("attribute too long for the circuit"));
    }
    let mut id = Vec::with_capacity(34);
    cbor_head(&mut id, 3, a.identifier.len());
    id.extend_from_slice(a.identifier.as_bytes());
    match version {
        Version::V6 => {
            let mut buf = id;
            buf.push(0x6c);
            buf.extend_from_slice(b"elementValue");
            buf.extend_from_slice(a.value);
            if buf.len() > 96 {
                return Err(ZkError::Statement("attribute too long for the circuit"));
            }
            push_buffer(out, &buf, 96);
            push_byte(out, u8::try_from(buf.len()).unwrap_or(0));
        }
        Version::V7 => {
            push_buffer(out, &id, 32);
            push_buffer(out, a.value, 64);
            // The lengths of the `elementIdentifier` and `elementValue` key-value pairs
            // (18 bytes of key; 13 of key).
            push_byte(
                out,
                u8::try_from(18 + id.len())
                    .map_err(|_| ZkError::Statement("attribute too long"))?,
            );
            push_byte(
                out,
                u8::try_from(13 + a.value.len())
                    .map_err(|_| ZkError::Statement("attribute too long"))?,
            );
        }
    }
    Ok(())
}

/// The public inputs of both circuits.
pub(crate) struct PublicInputs {
    pub(crate) signature: Vec<Fp256>,
    pub(crate) hash: Vec<Gf2_128>,
}

/// Builds both circuits' public inputs for `statement`, the tags and the verifier's MAC key.
pub(crate) fn public_inputs(
    version: Version,
    statement: &Statement<'_>,
    macs: &[Gf2_128; 6],
    av: Gf2_128,
    device_hash: &[u8; 32],
) -> Result<PublicInputs, ZkError> {
    let x =
        fp_from_be(statement.issuer_x).ok_or(ZkError::Statement("issuer key coordinate ≥ p"))?;
    let y =
        fp_from_be(statement.issuer_y).ok_or(ZkError::Statement("issuer key coordinate ≥ p"))?;
    let e = fp_from_be(device_hash).ok_or(ZkError::Statement("transcript hash ≥ p"))?;
    let mut signature = Vec::with_capacity(900);
    signature.extend_from_slice(&[Fp256::ONE, x, y, e]);
    for &m in macs {
        push_gf_bits(&mut signature, m);
    }
    push_gf_bits(&mut signature, av);

    let mut hash = vec![Gf2_128::ONE];
    let namespace = statement.attributes.first().map(|a| a.namespace);
    for a in statement.attributes {
        if Some(a.namespace) != namespace {
            return Err(ZkError::Statement(
                "attributes from more than one namespace",
            ));
        }
        push_attribute(&mut hash, version, a)?;
    }
    push_buffer(&mut hash, statement.now.as_bytes(), 20);
    hash.extend_from_slice(macs);
    hash.push(av);
    Ok(PublicInputs { signature, hash })
}
