//! A minimal DER writer (ITU-T X.690), for what this crate builds itself: the extensions it
//! writes into certificates and the assembly of a certificate around a signature made by an
//! external [`Signer`](crate::Signer). Reading DER is `x509-cert`'s alone (one decoder per
//! input).

/// Universal tags used here.
pub(crate) mod tag {
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const SEQUENCE: u8 = 0x30;
}

/// Appends a DER length.
pub(crate) fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(u8::try_from(len).unwrap_or(0));
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let significant = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | u8::try_from(significant.len()).unwrap_or(0));
        out.extend_from_slice(significant);
    }
}

/// Encodes one TLV.
pub(crate) fn encode(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len().saturating_add(6));
    out.push(tag);
    push_len(&mut out, value.len());
    out.extend_from_slice(value);
    out
}

/// Encodes a non-negative big-endian integer (leading zeros stripped, a zero byte added when the
/// high bit is set).
pub(crate) fn encode_unsigned_integer(be: &[u8]) -> Vec<u8> {
    let skip = be.iter().take_while(|&&b| b == 0).count();
    let digits = be.get(skip..).unwrap_or_default();
    let mut value = Vec::with_capacity(digits.len().saturating_add(1));
    if digits.first().is_none_or(|&b| b & 0x80 != 0) {
        value.push(0);
    }
    value.extend_from_slice(digits);
    encode(tag::INTEGER, &value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_lengths_and_integers() {
        assert_eq!(encode(0x04, &[1, 2]), [0x04, 0x02, 1, 2]);
        let long = encode(0x04, &[0u8; 200]);
        assert_eq!(long.get(..3), Some(&[0x04, 0x81, 200][..]));
        let longer = encode(0x04, &[0u8; 300]);
        assert_eq!(longer.get(..4), Some(&[0x04, 0x82, 0x01, 0x2C][..]));
        assert_eq!(
            encode_unsigned_integer(&[0x00, 0x00, 0x7F]),
            [0x02, 0x01, 0x7F]
        );
        assert_eq!(encode_unsigned_integer(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(encode_unsigned_integer(&[0, 0]), [0x02, 0x01, 0x00]);
    }
}
