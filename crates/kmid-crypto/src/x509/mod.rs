//! X.509 for ISO/IEC 18013-5: the issuer PKI (Annex B), trust stores and chain validation.

mod certificate;
mod crl;
pub(crate) mod der;
mod issue;
mod trust;

pub use certificate::{
    Certificate, EKU_MDL_DS, EKU_MDL_READER_AUTH, EKU_MDL_VICAL_SIGNER, EKU_SERVER_AUTH, KeyUsage,
    MAX_CERTIFICATE_BYTES,
};
pub use crl::{Crl, MAX_CRL_BYTES, issue_crl};
pub use issue::{
    CertificateKind, CertificateParams, MAX_DS_VALIDITY_DAYS, MAX_IACA_VALIDITY_DAYS,
    issue_certificate,
};
pub use trust::{
    CrlSource, DEFAULT_CHAIN_CACHE, DEFAULT_MAX_CHAIN_LEN, KeyPurpose, RevocationPolicy,
    TrustStore, ValidatedChain,
};

/// Parses an `x5c` header value (RFC 7515 §4.1.6): a list of standard-base64 DER certificates.
///
/// # Errors
/// As [`Certificate::from_x5c_entry`], for the first entry that fails.
pub fn chain_from_x5c(entries: &[String]) -> Result<Vec<Certificate>, crate::CryptoError> {
    entries
        .iter()
        .map(|e| Certificate::from_x5c_entry(e))
        .collect()
}

/// The `x5c` header value of a chain.
#[must_use]
pub fn chain_to_x5c(chain: &[Certificate]) -> Vec<String> {
    chain.iter().map(Certificate::to_x5c_entry).collect()
}
