//! Longfellow zero-knowledge proofs over ISO/IEC 18013-5 mdocs (Frigo and shelat, "Anonymous
//! credentials from ECDSA", IACR ePrint 2024/2010; IETF draft-google-cfrg-libzk).
//!
//! Work in progress: the fields, the transcript.

pub mod circuit;
mod error;
pub mod field;
pub mod ligero;
pub mod mdoc;
pub mod merkle;
pub mod prove;
mod reader;
pub mod rs;
pub mod sumcheck;
pub mod transcript;
pub mod zk;

pub use error::{Check, ZkError};
