//! CBOR for mdoc: a span-keeping decoder for untrusted input, a preferred-serialization encoder
//! that splices received bytes, and typed element values.

mod decode;
mod encode;
mod value;

pub use decode::{
    CborError, CborErrorKind, CborLimits, DecodeBudget, Item, Kind, decode, decode_with,
};
pub use encode::{Encoder, embedded};
pub use value::ElementValue;
