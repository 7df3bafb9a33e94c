//! CBOR for mdoc: the workspace's bounded reader and writer (`kmid-cbor`), and typed element
//! values.

mod value;

pub use kmid_cbor::{CborError, CborErrorKind, CborLimits};
pub(crate) use kmid_cbor::{DecodeBudget, Encoder, Item, Kind, decode, decode_with, embedded};
pub use value::ElementValue;
