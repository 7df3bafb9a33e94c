//! The mdoc statement: Longfellow's published circuits for ISO/IEC 18013-5 credentials.

mod circuits;
mod prover;
mod statement;
mod verifier;
mod witness;

pub use circuits::{MAX_DECOMPRESSED, MdocCircuits, SPECS, Spec, Version, decompress, find_spec};
pub use prover::{Credential, MdocProver};
pub use statement::{Attribute, Statement, Timestamp, device_signed_bytes};
pub use verifier::{MdocProof, MdocVerifier};
