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

    /// Hashes `data` on the default provider ([`crate::CryptoProvider::digest`] on a given one).
    ///
    /// # Errors
    /// Only backend failures.
    pub fn digest(self, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        crate::provider::default().digest(self, data)
    }
}

impl HashAlgorithm {
    /// An incremental hasher on the default provider, for input that arrives in pieces or
    /// whose prefix is hashed for two purposes (clone it after the prefix).
    #[must_use]
    pub fn hasher(self) -> Hasher {
        self.hasher_on(crate::provider::default())
    }

    /// An incremental hasher on `provider`.
    #[must_use]
    pub fn hasher_on(self, provider: &crate::CryptoProvider) -> Hasher {
        Hasher {
            algorithm: self,
            context: provider.digests.start(self),
        }
    }
}

/// An incremental hash, on a provider's [`Digests`](crate::provider::Digests). Cloning copies
/// the state. The digests of credentials, Disclosures, signatures and certificates go through
/// these.
pub struct Hasher {
    algorithm: HashAlgorithm,
    context: Box<dyn crate::provider::HashContext>,
}

impl Clone for Hasher {
    fn clone(&self) -> Self {
        Self {
            algorithm: self.algorithm,
            context: self.context.box_clone(),
        }
    }
}

impl Hasher {
    /// The algorithm.
    #[must_use]
    pub const fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.context.update(data);
    }

    /// The digest of everything fed.
    #[must_use]
    pub fn finish(self) -> Vec<u8> {
        self.context.finish()
    }
}

impl fmt::Debug for Hasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Hasher").field(&self.algorithm).finish()
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mdoc_name())
    }
}

/// SHA-256 of `data`, on the default provider.
///
/// # Errors
/// Only backend failures.
pub fn sha256(data: &[u8]) -> Result<[u8; 32], CryptoError> {
    crate::provider::default().sha256(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // FIPS 180-4 examples ("abc"), independent of the code under test.
        let hex = |d: Vec<u8>| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
        let abc = |alg: HashAlgorithm| {
            let mut h = alg.hasher();
            h.update(b"a");
            h.update(b"bc");
            let pieces = h.finish();
            assert_eq!(alg.digest(b"abc").unwrap(), pieces);
            hex(pieces)
        };
        assert_eq!(
            abc(HashAlgorithm::Sha256),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            abc(HashAlgorithm::Sha384),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed\
             8086072ba1e7cc2358baeca134c825a7"
        );
        assert_eq!(
            abc(HashAlgorithm::Sha512),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
        assert_eq!(
            hex(sha256(b"abc").unwrap().to_vec()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn hasher_in_pieces_and_cloned_equals_one_shot() {
        let data: Vec<u8> = (0..=250u8).cycle().take(1000).collect();
        for alg in [
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ] {
            let (head, tail) = data.split_at(333);
            let mut h = alg.hasher();
            h.update(head);
            let prefix = h.clone();
            h.update(tail);
            assert_eq!(h.algorithm(), alg);
            assert_eq!(h.finish(), alg.digest(&data).unwrap());
            assert_eq!(prefix.finish(), alg.digest(head).unwrap());
        }
    }
}
