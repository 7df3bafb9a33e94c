//! A minimal DER reader and writer (ITU-T X.690), for what the OpenSSL binding does not expose:
//! the extensions of a certificate (custom EKU OIDs, the basicConstraints CA flag) and the
//! assembly of a certificate around a signature made by an external [`Signer`](crate::Signer).
//!
//! The reader accepts definite lengths in their shortest form only (DER), caps nothing it does
//! not need to (every read is bounded by the input slice) and never panics.

use crate::error::{CertificateError, CryptoError};

/// Universal tags used here.
pub(crate) mod tag {
    pub(crate) const BOOLEAN: u8 = 0x01;
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const SEQUENCE: u8 = 0x30;
    /// `[3] EXPLICIT` in a TBSCertificate: the extensions.
    pub(crate) const EXTENSIONS: u8 = 0xA3;
}

fn malformed(at: usize, what: &'static str) -> CryptoError {
    CryptoError::Certificate(CertificateError::Malformed { at, what })
}

/// One TLV: its tag, the offset of its first byte in the outermost input, and its value.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    /// The whole encoding, tag and length included.
    pub(crate) raw: &'a [u8],
    pub(crate) value: &'a [u8],
    /// Offset of `value` in the outermost input, for error messages.
    pub(crate) value_at: usize,
}

/// Reads TLVs one after another from a slice.
pub(crate) struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    /// Offset of `input` in the outermost input.
    base: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Self {
            input,
            pos: 0,
            base: 0,
        }
    }

    /// A reader over the value of `tlv`.
    pub(crate) fn inside(tlv: &Tlv<'a>) -> Self {
        Self {
            input: tlv.value,
            pos: 0,
            base: tlv.value_at,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.input.len()
    }

    fn at(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    fn byte(&mut self) -> Result<u8, CryptoError> {
        let b = *self
            .input
            .get(self.pos)
            .ok_or_else(|| malformed(self.at(), "truncated DER"))?;
        self.pos = self.pos.saturating_add(1);
        Ok(b)
    }

    /// Reads the next TLV.
    pub(crate) fn read(&mut self) -> Result<Tlv<'a>, CryptoError> {
        let start = self.pos;
        let tag = self.byte()?;
        if tag & 0x1F == 0x1F {
            return Err(malformed(self.at(), "multi-byte DER tag"));
        }
        let first = self.byte()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7F);
            if count == 0 {
                return Err(malformed(self.at(), "indefinite length in DER"));
            }
            if count > 4 {
                return Err(malformed(self.at(), "DER length too large"));
            }
            let mut len = 0usize;
            for _ in 0..count {
                len = (len << 8) | usize::from(self.byte()?);
            }
            // DER: the shortest form only.
            if len < 0x80 || (count > 1 && len >> ((count - 1) * 8) == 0) {
                return Err(malformed(self.at(), "non-minimal DER length"));
            }
            len
        };
        let value_start = self.pos;
        let end = value_start
            .checked_add(len)
            .filter(|&e| e <= self.input.len());
        let end = end.ok_or_else(|| malformed(self.at(), "DER length beyond the input"))?;
        self.pos = end;
        Ok(Tlv {
            tag,
            raw: self.input.get(start..end).unwrap_or_default(),
            value: self.input.get(value_start..end).unwrap_or_default(),
            value_at: self.base.saturating_add(value_start),
        })
    }

    /// Reads the next TLV and checks its tag.
    pub(crate) fn expect(&mut self, tag: u8, what: &'static str) -> Result<Tlv<'a>, CryptoError> {
        let at = self.at();
        let tlv = self.read()?;
        if tlv.tag == tag {
            Ok(tlv)
        } else {
            Err(malformed(at, what))
        }
    }

    /// Checks that nothing is left.
    pub(crate) fn finish(&self, what: &'static str) -> Result<(), CryptoError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(malformed(self.at(), what))
        }
    }
}

/// Appends a DER length.
fn push_len(out: &mut Vec<u8>, len: usize) {
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

/// Decodes a DER OBJECT IDENTIFIER value to dotted text (`1.0.18013.5.1.2`).
pub(crate) fn oid_to_string(value: &[u8], at: usize) -> Result<String, CryptoError> {
    let mut arcs: Vec<u64> = Vec::new();
    let mut current: u64 = 0;
    let mut in_arc = false;
    for &b in value {
        if !in_arc && b == 0x80 {
            return Err(malformed(at, "non-minimal OID arc"));
        }
        current = current
            .checked_mul(128)
            .and_then(|c| c.checked_add(u64::from(b & 0x7F)))
            .ok_or_else(|| malformed(at, "OID arc too large"))?;
        in_arc = b & 0x80 != 0;
        if !in_arc {
            arcs.push(current);
            current = 0;
        }
    }
    if in_arc || arcs.is_empty() {
        return Err(malformed(at, "truncated OID"));
    }
    let first = arcs.first().copied().unwrap_or(0);
    let (a, b) = match first {
        0..=39 => (0, first),
        40..=79 => (1, first - 40),
        _ => (2, first - 80),
    };
    let mut text = format!("{a}.{b}");
    for arc in arcs.iter().skip(1) {
        text.push('.');
        text.push_str(&arc.to_string());
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nested_tlvs_and_rejects_bad_lengths() {
        let data = [0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xAA];
        let mut r = Reader::new(&data);
        let seq = r.expect(tag::SEQUENCE, "seq").unwrap();
        assert!(r.is_empty());
        let mut inner = Reader::inside(&seq);
        assert_eq!(inner.expect(tag::INTEGER, "int").unwrap().value, [5]);
        let oct = inner.expect(tag::OCTET_STRING, "oct").unwrap();
        assert_eq!((oct.value, oct.value_at), (&[0xAA][..], 7));
        inner.finish("end").unwrap();

        for bad in [
            &[0x30, 0x80, 0x00, 0x00][..],          // indefinite
            &[0x30, 0x81, 0x05, 1, 2, 3, 4, 5][..], // long form for a short length
            &[0x30, 0x05, 0x00][..],                // beyond input
            &[0x30][..],                            // truncated
            &[0x1F, 0x01, 0x00][..],                // multi-byte tag
            &[0x30, 0x85, 1, 0, 0, 0, 0][..],       // more than four length bytes
        ] {
            assert!(
                matches!(
                    Reader::new(bad).read(),
                    Err(CryptoError::Certificate(CertificateError::Malformed { .. }))
                ),
                "{bad:02x?}"
            );
        }
    }

    #[test]
    fn encodes_lengths_and_integers() {
        assert_eq!(encode(0x04, &[1, 2]), [0x04, 0x02, 1, 2]);
        let long = encode(0x04, &[0u8; 200]);
        assert_eq!(long.get(..3), Some(&[0x04, 0x81, 200][..]));
        let longer = encode(0x04, &[0u8; 300]);
        assert_eq!(longer.get(..4), Some(&[0x04, 0x82, 0x01, 0x2C][..]));
        assert_eq!(Reader::new(&longer).read().unwrap().value.len(), 300);
        assert_eq!(
            encode_unsigned_integer(&[0x00, 0x00, 0x7F]),
            [0x02, 0x01, 0x7F]
        );
        assert_eq!(encode_unsigned_integer(&[0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(encode_unsigned_integer(&[0, 0]), [0x02, 0x01, 0x00]);
    }

    #[test]
    fn decodes_oids() {
        // 1.0.18013.5.1.2, the mdoc Document Signer EKU.
        assert_eq!(
            oid_to_string(&[0x28, 0x81, 0x8C, 0x5D, 0x05, 0x01, 0x02], 0).unwrap(),
            "1.0.18013.5.1.2"
        );
        // 2.5.29.37, extKeyUsage.
        assert_eq!(oid_to_string(&[0x55, 0x1D, 0x25], 0).unwrap(), "2.5.29.37");
        assert!(oid_to_string(&[0x28, 0x81], 0).is_err());
        assert!(oid_to_string(&[0x28, 0x80, 0x01], 0).is_err());
        assert!(oid_to_string(&[], 0).is_err());
    }
}
