//! A CBOR (RFC 8949) decoder for untrusted input that keeps, for every data item, the exact
//! bytes it was decoded from: signatures and digests in ISO/IEC 18013-5 cover encoded bytes
//! (tag-24 items, protected headers, transcripts), and they must be checked over those bytes,
//! never over a re-encoding.
//!
//! It borrows from the input (no copies of strings), and it refuses — with the byte offset —
//! trailing bytes, truncation, indefinite lengths, invalid UTF-8, duplicate map keys, reserved
//! encodings, and anything past its [`CborLimits`]: nesting depth, item count, input size.
//! Declared lengths are checked against the bytes that remain before anything is allocated.

use core::fmt;

/// Bounds on what the decoder accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CborLimits {
    /// Largest input, in bytes.
    pub max_input_bytes: usize,
    /// Deepest nesting of arrays, maps and tags.
    pub max_depth: usize,
    /// Most data items in one input (every array element, map key and value, and tag counts).
    pub max_items: usize,
}

impl Default for CborLimits {
    fn default() -> Self {
        Self {
            max_input_bytes: 4 * 1024 * 1024,
            max_depth: 16,
            max_items: 32_768,
        }
    }
}

/// Why CBOR input was refused, and at which byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CBOR at byte {at}: {kind}")]
pub struct CborError {
    /// Byte offset in the input where the problem is.
    pub at: usize,
    /// The problem.
    pub kind: CborErrorKind,
}

impl CborError {
    /// The stable code of this error: the kind's name (`TooDeep`, `DuplicateMapKey`); a
    /// format that carries it prefixes its own (`Mdoc.Cbor.TooDeep`).
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self.kind {
            CborErrorKind::Truncated => "Truncated",
            CborErrorKind::TrailingBytes(_) => "TrailingBytes",
            CborErrorKind::IndefiniteLength => "IndefiniteLength",
            CborErrorKind::Reserved => "Reserved",
            CborErrorKind::UnexpectedBreak => "UnexpectedBreak",
            CborErrorKind::InvalidUtf8 => "InvalidUtf8",
            CborErrorKind::DuplicateMapKey => "DuplicateMapKey",
            CborErrorKind::LengthBeyondInput { .. } => "LengthBeyondInput",
            CborErrorKind::TooDeep(_) => "TooDeep",
            CborErrorKind::TooManyItems(_) => "TooManyItems",
            CborErrorKind::TooLarge { .. } => "TooLarge",
            CborErrorKind::UnassignedSimple(_) => "UnassignedSimple",
        }
    }
}

/// The kinds of [`CborError`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CborErrorKind {
    /// The input ends inside a data item.
    #[error("truncated input")]
    Truncated,
    /// Bytes follow the data item.
    #[error("{0} trailing bytes")]
    TrailingBytes(usize),
    /// An indefinite-length string, array or map (the profile requires definite lengths).
    #[error("indefinite length")]
    IndefiniteLength,
    /// Additional information 28–30, which RFC 8949 reserves.
    #[error("reserved additional information")]
    Reserved,
    /// A "break" outside an indefinite-length item.
    #[error("unexpected break")]
    UnexpectedBreak,
    /// A text string that is not UTF-8.
    #[error("text string is not valid UTF-8")]
    InvalidUtf8,
    /// The same key twice in one map.
    #[error("duplicate map key")]
    DuplicateMapKey,
    /// A length that runs past the end of the input.
    #[error("declared length {declared} exceeds the {remaining} bytes that remain")]
    LengthBeyondInput {
        /// The declared length (bytes or elements).
        declared: u64,
        /// Bytes left in the input.
        remaining: usize,
    },
    /// Nesting deeper than the limit.
    #[error("nesting deeper than {0}")]
    TooDeep(usize),
    /// More data items than the limit.
    #[error("more than {0} data items")]
    TooManyItems(usize),
    /// Input larger than the limit.
    #[error("input of {actual} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The limit.
        max: usize,
        /// The input's size.
        actual: usize,
    },
    /// A simple value that is not assigned (only false, true, null and undefined are).
    #[error("unassigned simple value {0}")]
    UnassignedSimple(u8),
}

/// A decoded data item with the bytes it came from.
#[derive(Clone, PartialEq)]
pub struct Item<'a> {
    /// The item's complete encoding, as received.
    pub raw: &'a [u8],
    /// Offset of `raw` in the input.
    pub offset: usize,
    /// What the item is.
    pub kind: Kind<'a>,
}

/// The kinds of data items.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind<'a> {
    /// Major type 0.
    Uint(u64),
    /// Major type 1: the value is `-1 - n`.
    Nint(u64),
    /// Major type 2.
    Bytes(&'a [u8]),
    /// Major type 3.
    Text(&'a str),
    /// Major type 4.
    Array(Vec<Item<'a>>),
    /// Major type 5, in the order received.
    Map(Vec<(Item<'a>, Item<'a>)>),
    /// Major type 6.
    Tag(u64, Box<Item<'a>>),
    /// `false` / `true`.
    Bool(bool),
    /// `null`.
    Null,
    /// `undefined`.
    Undefined,
    /// A half, single or double precision float.
    Float(f64),
}

impl fmt::Debug for Item<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "@{} {:?}", self.offset, self.kind)
    }
}

/// Decodes exactly one data item from `input`.
///
/// # Errors
/// [`CborError`] naming the offset and the problem.
pub fn decode<'a>(input: &'a [u8], limits: &CborLimits) -> Result<Item<'a>, CborError> {
    decode_with(input, &DecodeBudget::new(*limits))
}

/// One allowance of data items shared by an input and every `#6.24` item embedded in it, so
/// nesting cannot multiply [`CborLimits::max_items`].
#[derive(Debug)]
pub struct DecodeBudget {
    limits: CborLimits,
    used: core::cell::Cell<usize>,
}

impl DecodeBudget {
    /// A fresh budget under `limits`.
    #[must_use]
    pub const fn new(limits: CborLimits) -> Self {
        Self {
            limits,
            used: core::cell::Cell::new(0),
        }
    }

    /// The limits.
    #[must_use]
    pub const fn limits(&self) -> &CborLimits {
        &self.limits
    }
}

/// Decodes exactly one data item from `input`, drawing items from `budget`.
///
/// # Errors
/// As [`decode`].
pub fn decode_with<'a>(input: &'a [u8], budget: &DecodeBudget) -> Result<Item<'a>, CborError> {
    let limits = &budget.limits;
    if input.len() > limits.max_input_bytes {
        return Err(CborError {
            at: 0,
            kind: CborErrorKind::TooLarge {
                max: limits.max_input_bytes,
                actual: input.len(),
            },
        });
    }
    let mut d = Decoder {
        input,
        pos: 0,
        items: budget.used.get(),
        limits,
    };
    let item = d.item(0);
    budget.used.set(d.items);
    let item = item?;
    if d.pos != input.len() {
        return Err(CborError {
            at: d.pos,
            kind: CborErrorKind::TrailingBytes(input.len().saturating_sub(d.pos)),
        });
    }
    Ok(item)
}

struct Decoder<'a, 'l> {
    input: &'a [u8],
    pos: usize,
    items: usize,
    limits: &'l CborLimits,
}

impl<'a> Decoder<'a, '_> {
    fn err(&self, at: usize, kind: CborErrorKind) -> CborError {
        CborError { at, kind }
    }

    fn remaining(&self) -> usize {
        self.input.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CborError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.input.len());
        let end = end.ok_or_else(|| self.err(self.pos, CborErrorKind::Truncated))?;
        let out = self
            .input
            .get(self.pos..end)
            .ok_or_else(|| self.err(self.pos, CborErrorKind::Truncated))?;
        self.pos = end;
        Ok(out)
    }

    fn argument(&mut self, info: u8, start: usize) -> Result<u64, CborError> {
        let be = |b: &[u8]| b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x));
        match info {
            0..=23 => Ok(u64::from(info)),
            24 => Ok(be(self.take(1)?)),
            25 => Ok(be(self.take(2)?)),
            26 => Ok(be(self.take(4)?)),
            27 => Ok(be(self.take(8)?)),
            31 => Err(self.err(start, CborErrorKind::IndefiniteLength)),
            _ => Err(self.err(start, CborErrorKind::Reserved)),
        }
    }

    /// A length that must fit in what remains (each element or byte needs at least one byte).
    fn length(&self, declared: u64, start: usize) -> Result<usize, CborError> {
        usize::try_from(declared)
            .ok()
            .filter(|&n| n <= self.remaining())
            .ok_or_else(|| {
                self.err(
                    start,
                    CborErrorKind::LengthBeyondInput {
                        declared,
                        remaining: self.remaining(),
                    },
                )
            })
    }

    fn count_item(&mut self, at: usize) -> Result<(), CborError> {
        self.items = self.items.saturating_add(1);
        if self.items > self.limits.max_items {
            return Err(self.err(at, CborErrorKind::TooManyItems(self.limits.max_items)));
        }
        Ok(())
    }

    fn item(&mut self, depth: usize) -> Result<Item<'a>, CborError> {
        let start = self.pos;
        self.count_item(start)?;
        let initial = *self
            .take(1)?
            .first()
            .ok_or_else(|| self.err(start, CborErrorKind::Truncated))?;
        let (major, info) = (initial >> 5, initial & 0x1F);
        if major == 7 {
            return self.simple(info, start);
        }
        let arg = self.argument(info, start)?;
        let kind = match major {
            0 => Kind::Uint(arg),
            1 => Kind::Nint(arg),
            2 => {
                let n = self.length(arg, start)?;
                Kind::Bytes(self.take(n)?)
            }
            3 => {
                let n = self.length(arg, start)?;
                let at = self.pos;
                let bytes = self.take(n)?;
                Kind::Text(
                    core::str::from_utf8(bytes)
                        .map_err(|_| self.err(at, CborErrorKind::InvalidUtf8))?,
                )
            }
            4..=6 => {
                if depth >= self.limits.max_depth {
                    return Err(self.err(start, CborErrorKind::TooDeep(self.limits.max_depth)));
                }
                match major {
                    4 => {
                        let n = self.length(arg, start)?;
                        let mut items = Vec::with_capacity(n.min(1024));
                        for _ in 0..n {
                            items.push(self.item(depth.saturating_add(1))?);
                        }
                        Kind::Array(items)
                    }
                    5 => {
                        // Each entry needs at least two bytes.
                        let n = self.length(arg.saturating_mul(2), start)? / 2;
                        let mut entries = Vec::with_capacity(n.min(1024));
                        for _ in 0..n {
                            let key = self.item(depth.saturating_add(1))?;
                            let value = self.item(depth.saturating_add(1))?;
                            entries.push((key, value));
                        }
                        check_unique_keys(&entries)
                            .map_err(|at| self.err(at, CborErrorKind::DuplicateMapKey))?;
                        Kind::Map(entries)
                    }
                    _ => Kind::Tag(arg, Box::new(self.item(depth.saturating_add(1))?)),
                }
            }
            _ => return Err(self.err(start, CborErrorKind::Reserved)),
        };
        Ok(Item {
            raw: self.input.get(start..self.pos).unwrap_or_default(),
            offset: start,
            kind,
        })
    }

    fn simple(&mut self, info: u8, start: usize) -> Result<Item<'a>, CborError> {
        let kind = match info {
            20 => Kind::Bool(false),
            21 => Kind::Bool(true),
            22 => Kind::Null,
            23 => Kind::Undefined,
            24 => {
                let v = *self.take(1)?.first().unwrap_or(&0);
                return Err(self.err(start, CborErrorKind::UnassignedSimple(v)));
            }
            25 => {
                let b = self.take(2)?;
                let bits = u16::from_be_bytes([*b.first().unwrap_or(&0), *b.get(1).unwrap_or(&0)]);
                Kind::Float(half_to_f64(bits))
            }
            26 => {
                let b: [u8; 4] = self.take(4)?.try_into().unwrap_or([0; 4]);
                Kind::Float(f64::from(f32::from_be_bytes(b)))
            }
            27 => {
                let b: [u8; 8] = self.take(8)?.try_into().unwrap_or([0; 8]);
                Kind::Float(f64::from_be_bytes(b))
            }
            31 => return Err(self.err(start, CborErrorKind::UnexpectedBreak)),
            28..=30 => return Err(self.err(start, CborErrorKind::Reserved)),
            other => return Err(self.err(start, CborErrorKind::UnassignedSimple(other))),
        };
        Ok(Item {
            raw: self.input.get(start..self.pos).unwrap_or_default(),
            offset: start,
            kind,
        })
    }
}

/// IEEE 754 half precision to double.
fn half_to_f64(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1F);
    let mant = f64::from(bits & 0x3FF);
    let magnitude = match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + mant / 1024.0) * 2f64.powi(e - 15),
    };
    sign * magnitude
}

/// What makes two map keys the same: equal values, whatever their encoding.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum KeyIdentity<'a> {
    Uint(u64),
    Nint(u64),
    Bytes(&'a [u8]),
    Text(&'a str),
    Other(&'a [u8]),
}

fn check_unique_keys(entries: &[(Item<'_>, Item<'_>)]) -> Result<(), usize> {
    if entries.len() < 2 {
        return Ok(());
    }
    let mut keys: Vec<(KeyIdentity<'_>, usize)> = entries
        .iter()
        .map(|(k, _)| {
            let id = match &k.kind {
                Kind::Uint(n) => KeyIdentity::Uint(*n),
                Kind::Nint(n) => KeyIdentity::Nint(*n),
                Kind::Bytes(b) => KeyIdentity::Bytes(b),
                Kind::Text(t) => KeyIdentity::Text(t),
                _ => KeyIdentity::Other(k.raw),
            };
            (id, k.offset)
        })
        .collect();
    keys.sort();
    for pair in keys.windows(2) {
        if let [(a, _), (b, at)] = pair
            && a == b
        {
            return Err(*at);
        }
    }
    Ok(())
}

impl<'a> Item<'a> {
    /// The text, if this is a text string.
    #[must_use]
    pub fn as_text(&self) -> Option<&'a str> {
        match self.kind {
            Kind::Text(t) => Some(t),
            _ => None,
        }
    }

    /// The bytes, if this is a byte string.
    #[must_use]
    pub fn as_bytes(&self) -> Option<&'a [u8]> {
        match self.kind {
            Kind::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// The value, if this is an unsigned integer.
    #[must_use]
    pub fn as_uint(&self) -> Option<u64> {
        match self.kind {
            Kind::Uint(n) => Some(n),
            _ => None,
        }
    }

    /// The value, if this is an integer that fits an `i64`.
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        match self.kind {
            Kind::Uint(n) => i64::try_from(n).ok(),
            Kind::Nint(n) => i64::try_from(n).ok().map(|n| -1 - n),
            _ => None,
        }
    }

    /// The value, if this is a boolean.
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self.kind {
            Kind::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// Whether this is `null`.
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }

    /// The elements, if this is an array.
    #[must_use]
    pub fn as_array(&self) -> Option<&[Item<'a>]> {
        match &self.kind {
            Kind::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The entries, if this is a map.
    #[must_use]
    pub fn as_map(&self) -> Option<&[(Item<'a>, Item<'a>)]> {
        match &self.kind {
            Kind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The tag number and content, if this is a tag.
    #[must_use]
    pub fn as_tag(&self) -> Option<(u64, &Item<'a>)> {
        match &self.kind {
            Kind::Tag(n, inner) => Some((*n, inner)),
            _ => None,
        }
    }

    /// The value of text key `key`, if this is a map that has it.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Item<'a>> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_text() == Some(key))
            .map(|(_, v)| v)
    }

    /// The value of integer key `key`, if this is a map that has it.
    #[must_use]
    pub fn get_int(&self, key: i64) -> Option<&Item<'a>> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_i64() == Some(key))
            .map(|(_, v)| v)
    }

    /// The content bytes of `#6.24(bstr)`: an embedded CBOR data item.
    #[must_use]
    pub fn as_embedded_cbor(&self) -> Option<&'a [u8]> {
        match self.as_tag()? {
            (24, inner) => inner.as_bytes(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(hex: &str) -> Result<Item<'static>, CborError> {
        let bytes: &'static [u8] = Box::leak(hex::decode(hex).unwrap().into_boxed_slice());
        decode(bytes, &CborLimits::default())
    }

    fn kind(hex: &str) -> (usize, CborErrorKind) {
        let e = d(hex).unwrap_err();
        (e.at, e.kind)
    }

    #[test]
    fn decodes_rfc8949_appendix_a_examples() {
        assert_eq!(d("00").unwrap().kind, Kind::Uint(0));
        assert_eq!(d("1864").unwrap().kind, Kind::Uint(100));
        assert_eq!(d("1bffffffffffffffff").unwrap().kind, Kind::Uint(u64::MAX));
        assert_eq!(d("3903e7").unwrap().as_i64(), Some(-1000));
        assert_eq!(d("f93c00").unwrap().kind, Kind::Float(1.0));
        assert_eq!(d("f97bff").unwrap().kind, Kind::Float(65504.0));
        assert_eq!(d("fa47c35000").unwrap().kind, Kind::Float(100000.0));
        assert_eq!(d("f4").unwrap().kind, Kind::Bool(false));
        assert_eq!(d("f6").unwrap().kind, Kind::Null);
        assert_eq!(d("6449455446").unwrap().as_text(), Some("IETF"));
        assert_eq!(d("62c3bc").unwrap().as_text(), Some("ü"));
        assert_eq!(d("64f0908591").unwrap().as_text(), Some("\u{10151}"));
        assert_eq!(d("4401020304").unwrap().as_bytes(), Some(&[1, 2, 3, 4][..]));
        let arr = d("8301820203820405").unwrap();
        assert_eq!(arr.as_array().unwrap().len(), 3);
        assert_eq!(arr.as_array().unwrap()[1].raw, [0x82, 0x02, 0x03]);
        let map = d("a26161016162820203").unwrap();
        assert_eq!(map.get("a").unwrap().as_uint(), Some(1));
        assert_eq!(map.get("b").unwrap().offset, 6);
        let tag = d("d818456449455446").unwrap();
        assert_eq!(
            tag.as_embedded_cbor(),
            Some(&hex::decode("6449455446").unwrap()[..])
        );
    }

    #[test]
    fn refuses_what_the_profile_forbids() {
        assert_eq!(
            kind("5f42010243030405ff"),
            (0, CborErrorKind::IndefiniteLength)
        );
        assert_eq!(kind("9fff"), (0, CborErrorKind::IndefiniteLength));
        assert_eq!(kind("bf6161f5ff"), (0, CborErrorKind::IndefiniteLength));
        assert_eq!(kind("0000"), (1, CborErrorKind::TrailingBytes(1)));
        assert_eq!(kind("1c"), (0, CborErrorKind::Reserved));
        assert_eq!(kind("ff"), (0, CborErrorKind::UnexpectedBreak));
        assert_eq!(kind("f820"), (0, CborErrorKind::UnassignedSimple(32)));
        assert_eq!(kind("f0"), (0, CborErrorKind::UnassignedSimple(16)));
        assert_eq!(kind("62c328"), (1, CborErrorKind::InvalidUtf8));
        assert_eq!(kind("a2616101616102"), (4, CborErrorKind::DuplicateMapKey));
        // The same key with a non-minimal encoding is still the same key.
        assert_eq!(kind("a2010018010a"), (3, CborErrorKind::DuplicateMapKey));
        assert_eq!(kind("19"), (1, CborErrorKind::Truncated));
        assert_eq!(
            kind("8201"),
            (
                0,
                CborErrorKind::LengthBeyondInput {
                    declared: 2,
                    remaining: 1
                }
            )
        );
        assert_eq!(kind("821801"), (3, CborErrorKind::Truncated));
    }

    #[test]
    fn declared_lengths_are_checked_before_allocating() {
        // A byte string and an array that claim 2^63 entries with three bytes behind them.
        assert_eq!(
            kind("5b8000000000000000010203"),
            (
                0,
                CborErrorKind::LengthBeyondInput {
                    declared: 1 << 63,
                    remaining: 3
                }
            )
        );
        assert_eq!(
            kind("9b7fffffffffffffff000000"),
            (
                0,
                CborErrorKind::LengthBeyondInput {
                    declared: 0x7fff_ffff_ffff_ffff,
                    remaining: 3
                }
            )
        );
        assert!(matches!(
            kind("bb4000000000000000"),
            (0, CborErrorKind::LengthBeyondInput { .. })
        ));
    }

    #[test]
    fn depth_items_and_size_are_capped() {
        let deep = "81".repeat(17) + "00";
        assert_eq!(kind(&deep), (16, CborErrorKind::TooDeep(16)));
        let ok = "81".repeat(16) + "00";
        assert!(d(&ok).is_ok());
        let limits = CborLimits {
            max_items: 3,
            ..CborLimits::default()
        };
        let bytes = hex::decode("83010203").unwrap();
        assert_eq!(
            decode(&bytes, &limits).unwrap_err().kind,
            CborErrorKind::TooManyItems(3)
        );
        let limits = CborLimits {
            max_input_bytes: 2,
            ..CborLimits::default()
        };
        assert_eq!(
            decode(&bytes, &limits).unwrap_err().kind,
            CborErrorKind::TooLarge { max: 2, actual: 4 }
        );
    }
}
