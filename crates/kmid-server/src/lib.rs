//! kmid's HTTP services (issue 20), at the edge of the workspace: axum routers that turn
//! requests into calls of the synchronous, I/O-free protocol crates below, and back.
//!
//! - [`status`]: Status List Tokens as the Token Status List draft's §8 serves them.
//! - [`issuer`]: the OpenID4VCI endpoints of an issuer, and its authorization endpoint.
//! - [`verifier`]: OpenID4VP for relying parties: transactions made through an API, the
//!   wallet's request and response endpoints, the Digital Credentials API's response.
//! - [`config`]: `kmid serve`'s TOML configuration.
//! - [`page`]: the relying party's page of the demonstration.
//! - `postgres` (feature `postgres`): the verifier's transactions in PostgreSQL.
//! - [`ops`]: logs, metrics, health, rate and time limits, and the HTTP(S) server loop.
//! - [`fetch`]: the HTTPS fetcher of status lists, bounded in size and time, keeping why a
//!   fetch failed.
//!
//! Every router is a plain [`axum::Router`] a service mounts where it likes; the `kmid serve`
//! command runs them.

pub mod config;
pub mod fetch;
pub mod issuer;
pub mod ops;
pub mod page;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod registry;
pub mod status;
pub mod verifier;

pub use fetch::{
    BlockingFetcher, FetchConfig, FetcherError, HttpFetcher, tls_client_config,
    tls_client_config_with,
};
pub use issuer::{
    CardLookup, HolderAuthenticator, IssuerService, IssuerServiceError, NoHolderLogin,
};

pub use status::{StatusPublisher, StatusService, StatusServiceError};
pub use verifier::{
    MemoryTransactionStore, PendingRequest, SqliteTransactionStore, TransactionRecord,
    TransactionStore, TransactionStoreError, VerifierConfig, VerifierService, VerifierServiceError,
};
