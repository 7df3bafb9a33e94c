//! A CBOR writer with preferred serialization (RFC 8949 §4.1: shortest argument encoding,
//! definite lengths) that can splice in bytes already encoded — a tag-24 item or a COSE
//! structure exactly as received or signed.

/// Writes CBOR into a buffer.
#[derive(Debug, Default, Clone)]
pub struct Encoder {
    buf: Vec<u8>,
}

impl Encoder {
    /// An empty encoder.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty encoder with room for `n` bytes.
    #[must_use]
    pub fn with_capacity(n: usize) -> Self {
        Self {
            buf: Vec::with_capacity(n),
        }
    }

    fn head(&mut self, major: u8, arg: u64) -> &mut Self {
        let m = major << 5;
        if arg < 24 {
            self.buf.push(m | u8::try_from(arg).unwrap_or(0));
        } else if let Ok(a) = u8::try_from(arg) {
            self.buf.extend_from_slice(&[m | 24, a]);
        } else if let Ok(a) = u16::try_from(arg) {
            self.buf.push(m | 25);
            self.buf.extend_from_slice(&a.to_be_bytes());
        } else if let Ok(a) = u32::try_from(arg) {
            self.buf.push(m | 26);
            self.buf.extend_from_slice(&a.to_be_bytes());
        } else {
            self.buf.push(m | 27);
            self.buf.extend_from_slice(&arg.to_be_bytes());
        }
        self
    }

    fn len(n: usize) -> u64 {
        u64::try_from(n).unwrap_or(u64::MAX)
    }

    /// An unsigned integer.
    pub fn uint(&mut self, n: u64) -> &mut Self {
        self.head(0, n)
    }

    /// A signed integer.
    pub fn int(&mut self, n: i64) -> &mut Self {
        match u64::try_from(n) {
            Ok(u) => self.head(0, u),
            // -1 - n for negative n, without overflow: !n as u64.
            Err(_) => self.head(1, u64::from_ne_bytes((!n).to_ne_bytes())),
        }
    }

    /// A byte string.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.head(2, Self::len(b.len()));
        self.buf.extend_from_slice(b);
        self
    }

    /// A text string.
    pub fn text(&mut self, t: &str) -> &mut Self {
        self.head(3, Self::len(t.len()));
        self.buf.extend_from_slice(t.as_bytes());
        self
    }

    /// The head of an array of `n` elements; write them next.
    pub fn array(&mut self, n: usize) -> &mut Self {
        self.head(4, Self::len(n))
    }

    /// The head of a map of `n` entries; write key, value, key, value … next.
    pub fn map(&mut self, n: usize) -> &mut Self {
        self.head(5, Self::len(n))
    }

    /// A tag; write its content next.
    pub fn tag(&mut self, n: u64) -> &mut Self {
        self.head(6, n)
    }

    /// `false` or `true`.
    pub fn bool(&mut self, b: bool) -> &mut Self {
        self.buf.push(if b { 0xF5 } else { 0xF4 });
        self
    }

    /// `null`.
    pub fn null(&mut self) -> &mut Self {
        self.buf.push(0xF6);
        self
    }

    /// Bytes that already are one complete CBOR data item.
    pub fn raw(&mut self, encoded: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(encoded);
        self
    }

    /// `#6.24(bstr)` around already-encoded CBOR.
    pub fn embedded(&mut self, encoded: &[u8]) -> &mut Self {
        self.tag(24).bytes(encoded)
    }

    /// A double-precision float (major type 7, additional information 27). No item this
    /// workspace writes is a float; a decoded float is written back as a double.
    pub fn float64(&mut self, f: f64) -> &mut Self {
        self.buf.push(0xFB);
        self.buf.extend_from_slice(&f.to_be_bytes());
        self
    }

    /// The bytes written.
    #[must_use]
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }

    /// The bytes written so far.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }
}

/// `#6.24(bstr .cbor x)` around already-encoded `inner`.
#[must_use]
pub fn embedded(inner: &[u8]) -> Vec<u8> {
    let mut e = Encoder::with_capacity(inner.len().saturating_add(12));
    e.embedded(inner);
    e.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(e: &Encoder) -> String {
        hex::encode(e.as_bytes())
    }

    #[test]
    fn preferred_serialization() {
        let mut e = Encoder::new();
        e.uint(0)
            .uint(23)
            .uint(24)
            .uint(255)
            .uint(256)
            .uint(65536)
            .uint(1 << 32);
        assert_eq!(hex(&e), "0017181818ff1901001a000100001b0000000100000000");
        let mut e = Encoder::new();
        e.int(-1).int(-24).int(-25).int(i64::MIN);
        assert_eq!(hex(&e), "20373818".to_owned() + "3b7fffffffffffffff");
        let mut e = Encoder::new();
        e.map(2).text("a").bool(true).text("b").array(1).null();
        assert_eq!(hex(&e), "a26161f5616281f6");
        assert_eq!(hex::encode(embedded(&[0xF6])), "d81841f6");
    }
}
