//! # kmid-crypto
//!
//! Keys, signatures and the issuer PKI that both credential formats share.
//!
//! - [`Signer`] and [`SignatureVerifier`]: signing never needs a private key in memory (a
//!   ministry's issuer key lives in an HSM); [`PrivateKey`] is the software signer and
//!   [`DefaultVerifier`] the OpenSSL verifier. ES256 (required), ES384, ES512 and EdDSA, with
//!   raw `r ‖ s` signatures as JWS and COSE carry them.
//! - [`PublicKey`] and [`PrivateKey`] as [`Jwk`] (RFC 7517, thumbprints per RFC 7638) and as
//!   COSE_Key (RFC 9052 §7), and PEM/DER.
//! - [`x509`]: the ISO/IEC 18013-5 Annex B certificates (IACA, Document Signer, reader root,
//!   reader), issued through a `Signer`, and a [`TrustStore`](x509::TrustStore) that validates
//!   a chain at a **given** time.
//! - [`session`]: ECDH, HKDF-SHA-256, AES-256-GCM and HMAC-SHA-256 for mdoc sessions.
//! - [`Random`]: injectable randomness.
//!
//! ```
//! use kmid_crypto::{Curve, DefaultVerifier, PrivateKey, SignatureVerifier, Signer};
//! use kmid_crypto::x509::{CertificateKind, CertificateParams, KeyPurpose, TrustStore, issue_certificate};
//! use kmid_crypto::SystemRandom;
//! use time::macros::datetime;
//!
//! // An issuing authority's root and a Document Signer under it.
//! let iaca_key = PrivateKey::generate(Curve::P256)?;
//! let params = |kind, cn: &str| CertificateParams {
//!     kind,
//!     country: "KR".into(),
//!     organization: Some("Ministry of the Interior and Safety".into()),
//!     state_or_province: None,
//!     common_name: cn.into(),
//!     not_before: datetime!(2026-01-01 0:00 UTC),
//!     not_after: datetime!(2027-01-01 0:00 UTC),
//!     issuer_alt_name: Some("https://www.mois.go.kr".into()),
//!     crl_uri: None,
//!     dns_names: Vec::new(),
//! };
//! let iaca = issue_certificate(&params(CertificateKind::Iaca, "MOIS IACA"), iaca_key.public_key(), None, &iaca_key, &SystemRandom)?;
//! let ds_key = PrivateKey::generate(Curve::P256)?;
//! let ds = issue_certificate(&params(CertificateKind::DocumentSigner, "MOIS DS 1"), ds_key.public_key(), Some(&iaca), &iaca_key, &SystemRandom)?;
//!
//! // A verifier trusts the root and validates the chain at a time it chooses.
//! let mut trust = TrustStore::new();
//! trust.add(iaca)?;
//! let chain = trust.validate(&[ds], datetime!(2026-06-01 0:00 UTC), KeyPurpose::DocumentSigner)?;
//!
//! // The Document Signer signs; the verifier checks with the key the chain vouched for.
//! let signature = ds_key.sign(b"mobile security object")?;
//! DefaultVerifier.verify(ds_key.algorithm(), &chain.leaf_key, b"mobile security object", &signature)?;
//! # Ok::<(), kmid_crypto::CryptoError>(())
//! ```

mod algorithm;
mod backend;
pub mod cose;
mod cose_key;
pub mod digest;
mod error;
pub mod hpke;
pub mod jose;
pub mod jwe;
mod jwk;
mod key;
pub mod provider;
mod random;
pub mod session;
mod signature;
pub mod x509;

pub use algorithm::{Algorithm, Curve};
pub use cose_key::{CoseKey, CoseKeyY};
pub use digest::{HashAlgorithm, Hasher};
pub use error::{AlgorithmRefusal, BackendError, CertificateError, CryptoError, KeyError};
pub use jwk::Jwk;
pub use key::{KeyProvider, PreparedKey, PrivateKey, PrivateParts, PublicKey, SecretKey};
pub use provider::CryptoProvider;
pub use random::{Random, SystemRandom};
pub use signature::{DefaultVerifier, SignatureVerifier, Signer};
