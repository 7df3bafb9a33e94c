//! Longfellow zero-knowledge proofs over ISO/IEC 18013-5 mdocs (Frigo and shelat, "Anonymous
//! credentials from ECDSA", IACR ePrint 2024/2010; IETF draft-google-cfrg-libzk).
//!
//! Work in progress: the fields, the transcript.

mod error;
pub mod field;
pub mod merkle;
pub mod rs;
pub mod transcript;

pub use error::{Check, ZkError};
