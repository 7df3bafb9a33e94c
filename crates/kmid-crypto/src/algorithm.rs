//! Signature algorithms, with their JOSE names (RFC 7518 §3.1, RFC 8037) and COSE identifiers
//! (RFC 9053 §2.1, §2.2).

use core::fmt;

use crate::error::{AlgorithmRefusal, CryptoError};

/// A signature algorithm this crate signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256. Required by ISO/IEC 18013-5 and the profile's default.
    Es256,
    /// ECDSA on P-384 with SHA-384.
    Es384,
    /// ECDSA on P-521 with SHA-512.
    Es512,
    /// EdDSA with Ed25519 (RFC 8032), JOSE `EdDSA` (RFC 8037), COSE `EdDSA` (-8).
    EdDsa,
}

/// An elliptic curve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Curve {
    /// NIST P-256 (secp256r1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
    /// Ed25519 (RFC 8032).
    Ed25519,
}

impl Curve {
    /// Length in bytes of a coordinate (and of a private scalar).
    #[must_use]
    pub const fn coordinate_len(self) -> usize {
        match self {
            Self::P256 | Self::Ed25519 => 32,
            Self::P384 => 48,
            Self::P521 => 66,
        }
    }

    /// The JWK `crv` name (RFC 7518 §6.2.1.1, RFC 8037 §2).
    #[must_use]
    pub const fn jwk_name(self) -> &'static str {
        match self {
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
            Self::Ed25519 => "Ed25519",
        }
    }

    /// The curve with JWK name `name`.
    #[must_use]
    pub fn from_jwk_name(name: &str) -> Option<Self> {
        [Self::P256, Self::P384, Self::P521, Self::Ed25519]
            .into_iter()
            .find(|c| c.jwk_name() == name)
    }

    /// The signature algorithm that goes with keys on this curve.
    #[must_use]
    pub const fn algorithm(self) -> Algorithm {
        match self {
            Self::P256 => Algorithm::Es256,
            Self::P384 => Algorithm::Es384,
            Self::P521 => Algorithm::Es512,
            Self::Ed25519 => Algorithm::EdDsa,
        }
    }
}

impl Algorithm {
    /// Every algorithm, strongest-first is not implied: this is declaration order.
    pub const ALL: [Self; 4] = [Self::Es256, Self::Es384, Self::Es512, Self::EdDsa];

    /// The JOSE `alg` value.
    #[must_use]
    pub const fn jose_name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Es512 => "ES512",
            Self::EdDsa => "EdDSA",
        }
    }

    /// The COSE `alg` value.
    #[must_use]
    pub const fn cose_id(self) -> i64 {
        match self {
            Self::Es256 => -7,
            Self::Es384 => -35,
            Self::Es512 => -36,
            Self::EdDsa => -8,
        }
    }

    /// The algorithm with JOSE name `name`.
    ///
    /// # Errors
    /// [`CryptoError::UnsupportedAlgorithm`] for anything else, `none` and `HS256` included.
    pub fn from_jose_name(name: &str) -> Result<Self, CryptoError> {
        Self::ALL
            .into_iter()
            .find(|a| a.jose_name() == name)
            .ok_or_else(|| {
                CryptoError::UnsupportedAlgorithm(AlgorithmRefusal::UnknownJose(
                    name.chars().take(32).collect(),
                ))
            })
    }

    /// The algorithm with COSE identifier `id`.
    ///
    /// # Errors
    /// [`CryptoError::UnsupportedAlgorithm`] for anything else.
    pub fn from_cose_id(id: i64) -> Result<Self, CryptoError> {
        Self::ALL
            .into_iter()
            .find(|a| a.cose_id() == id)
            .ok_or(CryptoError::UnsupportedAlgorithm(
                AlgorithmRefusal::UnknownCose(id),
            ))
    }

    /// The curve of the keys this algorithm uses.
    #[must_use]
    pub const fn curve(self) -> Curve {
        match self {
            Self::Es256 => Curve::P256,
            Self::Es384 => Curve::P384,
            Self::Es512 => Curve::P521,
            Self::EdDsa => Curve::Ed25519,
        }
    }

    /// The hash ECDSA signs with this algorithm (SHA-256, -384, -512; RFC 7518 §3.4), or
    /// `None` for Ed25519, which hashes inside the signature scheme and cannot sign a digest.
    #[must_use]
    pub const fn prehash(self) -> Option<crate::HashAlgorithm> {
        match self {
            Self::Es256 => Some(crate::HashAlgorithm::Sha256),
            Self::Es384 => Some(crate::HashAlgorithm::Sha384),
            Self::Es512 => Some(crate::HashAlgorithm::Sha512),
            Self::EdDsa => None,
        }
    }

    /// Length of a raw signature: `r ‖ s` for ECDSA (RFC 7518 §3.4, RFC 9053 §2.1), 64 bytes for
    /// Ed25519.
    #[must_use]
    pub const fn signature_len(self) -> usize {
        match self {
            Self::EdDsa => 64,
            other => other.curve().coordinate_len() * 2,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.jose_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_round_trip() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_jose_name(alg.jose_name()), Ok(alg));
            assert_eq!(Algorithm::from_cose_id(alg.cose_id()), Ok(alg));
            assert_eq!(alg.curve().algorithm(), alg);
            assert_eq!(
                Curve::from_jwk_name(alg.curve().jwk_name()),
                Some(alg.curve())
            );
        }
        assert_eq!(Algorithm::Es512.signature_len(), 132);
        for refused in ["none", "HS256", "RS256", "es256", ""] {
            assert_eq!(
                Algorithm::from_jose_name(refused),
                Err(CryptoError::UnsupportedAlgorithm(
                    AlgorithmRefusal::UnknownJose(refused.into())
                ))
            );
        }
        assert!(Algorithm::from_cose_id(-257).is_err());
    }
}
