//! OpenID for Verifiable Presentations 1.0 as OpenID4VC HAIP 1.0 §5 profiles it: the messages
//! and their checks, with no I/O (bytes in, bytes out, time as a parameter; `spec/protocols.md`).
//!
//! - [`request`]: the typed Authorization Request, its Client Identifier Prefixes and Response
//!   Modes, and the URL forms a verifier shows (`openid4vp://…`, `haip-vp://…`, QR content) and
//!   a wallet parses.
//! - [`jar`]: Request Objects (RFC 9101, `typ` `oauth-authz-req+jwt`) signed by a verifier's
//!   access certificate in `x5c` under `x509_hash` or `x509_san_dns`, and the wallet's
//!   verification of one: chain to the verifier anchors (the anchor never inside `x5c`, the
//!   signer never self-signed), the prefix's binding to the leaf, `aud`, `wallet_nonce`, the
//!   URL's `client_id`.
//! - [`dc_api`]: OpenID4VP over the Digital Credentials API (Appendix A): unsigned, signed and
//!   multi-signed requests and their verification for the Origin the platform reports.
//! - [`response`]: Authorization Responses in the clear and encrypted to the request's
//!   ephemeral key (JWE ECDH-ES, A128GCM/A256GCM), and the verifier's [`response::Transaction`]:
//!   one response, in the request's mode, with its `state`, its result only for the holder of
//!   the `response_code`.
//!
//! - [`dpop`]: DPoP proofs (RFC 9449) made by a wallet and checked by a server, for the
//!   sender-constrained tokens of OpenID4VCI (HAIP 1.0 §4).
//! - [`vci`]: OpenID4VCI 1.0 as HAIP 1.0 §4 profiles it: offers, issuer and authorization
//!   server metadata (signed under HAIP's `x5c` rules).
//! - [`store`]: the issuer's state between OpenID4VCI steps behind [`store::IssuanceStore`]
//!   (memory, SQLite), records by the hash of their secret, single use and failure counts
//!   atomic.
//!
//! Errors are typed and have stable codes ([`Oid4vpError::code`], [`dpop::DpopError::code`]).

pub mod dc_api;
pub mod dpop;
mod error;
pub mod jar;
pub mod request;
pub mod response;
pub mod store;
pub mod transaction;
pub mod vci;
mod x5c;

pub use error::Oid4vpError;
