//! Hash functions: SHA-256, SHA-384 and SHA-512 (the mdoc `digestAlgorithm` values and the
//! SD-JWT `_sd_alg` values).

use core::fmt;

use crate::error::CryptoError;

/// A hash algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// The ISO/IEC 18013-5 `digestAlgorithm` text: `SHA-256`, `SHA-384`, `SHA-512`.
    #[must_use]
    pub const fn mdoc_name(self) -> &'static str {
        match self {
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }

    /// The IANA "Named Information Hash Algorithm" name that SD-JWT's `_sd_alg` uses:
    /// `sha-256`, `sha-384`, `sha-512`.
    #[must_use]
    pub const fn iana_name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha-256",
            Self::Sha384 => "sha-384",
            Self::Sha512 => "sha-512",
        }
    }

    /// Output length in bytes.
    #[must_use]
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// Hashes `data`.
    ///
    /// # Errors
    /// Only backend failures.
    pub fn digest(self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        // OpenSSL's one-shot SHA-2 functions: no digest fetched and no context allocated per
        // call, which the EVP interface costs on every small input.
        Ok(match self {
            Self::Sha256 => openssl::sha::sha256(data).to_vec(),
            Self::Sha384 => openssl::sha::sha384(data).to_vec(),
            Self::Sha512 => openssl::sha::sha512(data).to_vec(),
        })
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mdoc_name())
    }
}

/// SHA-256 of `data`.
///
/// # Errors
/// Only backend failures.
pub fn sha256(data: &[u8]) -> Result<[u8; 32], CryptoError> {
    Ok(openssl::sha::sha256(data))
}
