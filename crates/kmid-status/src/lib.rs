//! # kmid-status
//!
//! Token Status Lists (draft-ietf-oauth-status-list-20) and the issuer's card lifecycle.
//!
//! - [`StatusList`]: 1, 2, 4 or 8 bits per entry, ZLIB-compressed, O(1) lookups, capped
//!   decompression.
//! - [`token`]: the Status List Token as JWT and CWT, signed through a `Signer`, verified at a
//!   given time.
//! - [`StatusListResolver`]: the verifier side, behind `kmid_schema::status::StatusResolver`,
//!   so the mdoc and SD-JWT VC verifiers fail a SUSPENDED or INVALID credential with its own
//!   error.
//! - [`registry`]: the lifecycle registry with its Korean rules, on SQLite by default.
//!
//! ```
//! use std::sync::Arc;
//! use kmid_schema::status::TokenStatus;
//! use kmid_status::registry::{Actor, CredentialFormat, RegistryConfig, SqliteStore, StatusRegistry};
//! use kmid_testkit::SeededRandom;
//! use time::macros::datetime;
//!
//! let registry = StatusRegistry::new(
//!     SqliteStore::open_in_memory()?,
//!     RegistryConfig::new("https://status.mois.go.kr/lists"),
//!     Arc::new(SeededRandom::new(b"doc")),
//! );
//! let officer = Actor { who: "jongno-1", at: datetime!(2025-06-01 9:00 UTC), reason: "issuance" };
//! // One issuance, both formats: they stand together (a later issuance supersedes both).
//! let issued = registry.register_issuance(
//!     "card-1",
//!     "phone-A",
//!     &[CredentialFormat::Mdoc, CredentialFormat::SdJwtVc],
//!     &officer,
//! )?;
//! let (mdoc, sdjwt) = (&issued[0], &issued[1]);
//!
//! // The holder reports the phone lost: both credentials on it are suspended.
//! registry.report_phone_lost("phone-A", &Actor { reason: "phone lost", ..officer.clone() })?;
//! assert_eq!(registry.status(mdoc.credential)?, TokenStatus::Suspended);
//!
//! // The published list says so at the credential's index.
//! let (_, list) = registry.publish(1)?;
//! assert_eq!(list.get(sdjwt.reference.idx)?, 2);
//! # Ok::<(), kmid_status::StatusListError>(())
//! ```

mod error;
mod list;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod registry;
mod resolver;
pub mod token;

pub use error::{RegistryError, StatusListError};
pub use list::{BEST_COMPRESSION_MAX_BYTES, DEFAULT_MAX_DECOMPRESSED, MAX_LIST_BYTES, StatusList};
pub use resolver::{DEFAULT_TTL, MAX_CACHED_LISTS, StatusListFetcher, StatusListResolver};
