//! # kmid-cbor
//!
//! The one CBOR (RFC 8949) reader of the workspace, for untrusted input: mdoc structures,
//! COSE_Sign1 / COSE_Mac0 / COSE_Key, and CWT Status List Tokens are all read by it.
//!
//! - [`decode`] keeps, for every data item, the exact bytes it was decoded from
//!   ([`Item::raw`]), so signatures and digests are checked over what was received, never over
//!   a re-encoding. It borrows strings from the input, and refuses — with the byte offset —
//!   trailing bytes, truncation, indefinite lengths, invalid UTF-8, duplicate map keys,
//!   reserved encodings, and anything past its [`CborLimits`] (nesting depth, item count,
//!   input size). Declared lengths are checked against the bytes that remain before anything
//!   is allocated, so the tree an input costs is bounded by `max_items` whatever it claims.
//! - [`Encoder`] writes the preferred serialization (RFC 8949 §4.1) and splices bytes that
//!   already are CBOR.
//!
//! ```
//! use kmid_cbor::{CborLimits, Encoder, Kind, decode};
//!
//! let mut e = Encoder::new();
//! e.map(1).text("docType").text("kr.go.mois.rrc.1");
//! let bytes = e.finish();
//! let item = decode(&bytes, &CborLimits::default())?;
//! let Kind::Map(entries) = &item.kind else { unreachable!() };
//! assert_eq!(entries[0].1.as_text(), Some("kr.go.mois.rrc.1"));
//! assert_eq!(item.raw, &bytes[..]);
//!
//! // A duplicate key is refused, with where it is.
//! let dup = [0xA2, 0x01, 0x01, 0x01, 0x02];
//! assert_eq!(decode(&dup, &CborLimits::default()).unwrap_err().kind, kmid_cbor::CborErrorKind::DuplicateMapKey);
//! # Ok::<(), kmid_cbor::CborError>(())
//! ```

mod decode;
mod encode;

pub use decode::{
    CborError, CborErrorKind, CborLimits, DecodeBudget, Item, Kind, decode, decode_with,
};
pub use encode::{Encoder, embedded};
