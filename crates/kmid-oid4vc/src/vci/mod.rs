//! OpenID for Verifiable Credential Issuance 1.0 as OpenID4VC HAIP 1.0 §4 profiles it: the
//! messages and their checks, with no I/O (bytes in, bytes out, time as a parameter).
//!
//! - [`offer`]: Credential Offers, by value and by reference, and the URLs that carry them
//!   (`openid-credential-offer://`, `haip-vci://`, QR content).
//! - [`metadata`]: Credential Issuer Metadata (§12.2) and its signed form (§12.2.3, `x5c`
//!   under HAIP's rules), OAuth Authorization Server Metadata (RFC 8414), and their
//!   well-known URLs.
//! - [`client`]: the wallet's PKCE pair and its check of the authorization response (`iss`).
//! - [`client_attestation`]: client authentication by wallet attestation (HAIP 1.0 §4.3.1):
//!   the wallet provider's attestation under its anchors and the instance's PoP.
//! - [`nonce`]: `c_nonce` and DPoP nonces that need no state until used.
//! - [`proof`]: key proofs (`jwt`, `attestation`) and key attestations (Appendix D, HAIP 1.0
//!   §4.5.1), checked against the issuer's metadata and the wallet-provider anchors.
//! - [`http`]: the endpoints' HTTP semantics as values (status codes, `DPoP-Nonce`,
//!   `WWW-Authenticate`), for a web framework to carry and a wallet client to send.
//! - [`server`]: the issuer's endpoints as a state machine over an
//!   [`IssuanceStore`](crate::store::IssuanceStore): offers, PAR, authorization, token
//!   (pre-authorized code, authorization code with PKCE, refresh), nonce, credential and
//!   notification, DPoP-bound and attestation-authenticated.
//! - [`wallet`]: the wallet's client over the caller's HTTP client: offer, metadata, both
//!   grants, DPoP nonces, key proofs and batches, notification, renewal.

pub mod client;
pub mod client_attestation;
mod error;
pub mod http;
pub mod metadata;
pub mod nonce;
pub mod offer;
pub mod proof;
pub mod server;
pub mod wallet;

pub use error::{ProofRefusal, VciError};

/// The Pre-Authorized Code grant type.
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
/// The Authorization Code grant type.
pub const AUTHORIZATION_CODE_GRANT: &str = "authorization_code";
/// The Refresh Token grant type.
pub const REFRESH_TOKEN_GRANT: &str = "refresh_token";

/// Whether `url` is an `https` URL with a host and no userinfo, query or fragment — what a
/// Credential Issuer Identifier and an Authorization Server issuer are (§12.2.1, RFC 8414 §2).
#[must_use]
pub fn is_issuer_identifier(url: &str) -> bool {
    crate::request::https_host(url).is_some() && !url.contains(['?', '#'])
}

/// Whether `url` is an `https` URL with a host (an endpoint; a query is allowed).
#[must_use]
pub fn is_https_endpoint(url: &str) -> bool {
    crate::request::https_host(url).is_some() && !url.contains('#')
}
