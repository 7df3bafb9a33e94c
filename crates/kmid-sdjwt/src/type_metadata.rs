//! SD-JWT VC Type Metadata (draft-ietf-oauth-sd-jwt-vc §5) of the profile's three `vct`s,
//! embedded from `spec/type-metadata/`, and the `#integrity` check (§6, W3C SRI syntax).

use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kmid_crypto::{CryptoProvider, HashAlgorithm};
use kmid_schema::CardType;

use crate::error::SdJwtError;

/// The Type Metadata document of `card`, byte for byte as published in `spec/`.
#[must_use]
pub const fn document(card: CardType) -> &'static str {
    match card {
        CardType::Resident => include_str!("../../../spec/type-metadata/kr.go.mois.rrc.1.json"),
        CardType::Foreigner => include_str!("../../../spec/type-metadata/kr.go.moj.rc.1.json"),
        CardType::OverseasNational => {
            include_str!("../../../spec/type-metadata/kr.go.oka.onid.1.json")
        }
    }
}

/// The `vct#integrity` value of `card`'s Type Metadata: `sha256-` and the standard base64 of
/// the SHA-256 of the document's bytes, on `provider`.
///
/// # Errors
/// Only backend failures.
pub fn integrity(provider: &CryptoProvider, card: CardType) -> Result<String, SdJwtError> {
    Ok(format!(
        "sha256-{}",
        STANDARD.encode(document_digest(provider, card, HashAlgorithm::Sha256)?)
    ))
}

const ALGORITHMS: [HashAlgorithm; 3] = [
    HashAlgorithm::Sha256,
    HashAlgorithm::Sha384,
    HashAlgorithm::Sha512,
];

/// The digest of `card`'s document with `alg`: the documents are compiled in, so each digest
/// is computed once per process (on the first caller's provider: the same bytes on any)
/// rather than once per credential (7 KB of hashing each).
fn document_digest(
    provider: &CryptoProvider,
    card: CardType,
    alg: HashAlgorithm,
) -> Result<Vec<u8>, SdJwtError> {
    type Digests = Vec<(CardType, HashAlgorithm, Vec<u8>)>;
    static DIGESTS: OnceLock<Digests> = OnceLock::new();
    let digests = DIGESTS.get_or_init(|| {
        CardType::ALL
            .iter()
            .flat_map(|&c| ALGORITHMS.iter().map(move |&a| (c, a)))
            .filter_map(|(c, a)| Some((c, a, provider.digest(a, document(c).as_bytes()).ok()?)))
            .collect()
    });
    match digests.iter().find(|(c, a, _)| *c == card && *a == alg) {
        Some((_, _, digest)) => Ok(digest.clone()),
        None => Ok(provider.digest(alg, document(card).as_bytes())?),
    }
}

/// [`check_integrity`] against the profile's own document for `card`, with its digests
/// computed once per process.
///
/// # Errors
/// As [`check_integrity`].
pub fn check_card_integrity(
    provider: &CryptoProvider,
    card: CardType,
    vct: &str,
    integrity: &str,
) -> Result<(), SdJwtError> {
    check_with(vct, integrity, |alg| document_digest(provider, card, alg))
}

/// Checks an integrity metadata string against `document`: of its hash expressions, those
/// with the strongest supported algorithm are used, and one must match (§6); hashed on
/// `provider`.
///
/// # Errors
/// [`SdJwtError::VctIntegrity`] when none matches or no algorithm is supported.
pub fn check_integrity(
    provider: &CryptoProvider,
    vct: &str,
    integrity: &str,
    document: &[u8],
) -> Result<(), SdJwtError> {
    check_with(vct, integrity, |alg| Ok(provider.digest(alg, document)?))
}

fn check_with(
    vct: &str,
    integrity: &str,
    digest_of: impl Fn(HashAlgorithm) -> Result<Vec<u8>, SdJwtError>,
) -> Result<(), SdJwtError> {
    let fail = || SdJwtError::VctIntegrity(vct.chars().take(128).collect());
    let parsed: Vec<(HashAlgorithm, &str)> = integrity
        .split_ascii_whitespace()
        .filter_map(|expr| {
            let (alg, rest) = expr.split_once('-')?;
            let digest = rest.split('?').next().unwrap_or(rest);
            let alg = match alg {
                "sha256" => HashAlgorithm::Sha256,
                "sha384" => HashAlgorithm::Sha384,
                "sha512" => HashAlgorithm::Sha512,
                _ => return None,
            };
            Some((alg, digest))
        })
        .collect();
    let strength = |a: HashAlgorithm| a.output_len();
    let strongest = parsed
        .iter()
        .map(|(a, _)| strength(*a))
        .max()
        .ok_or_else(fail)?;
    for (alg, digest) in parsed.iter().filter(|(a, _)| strength(*a) == strongest) {
        let expected = STANDARD.decode(digest).map_err(|_| fail())?;
        if kmid_crypto::session::constant_time_eq(&expected, &digest_of(*alg)?) {
            return Ok(());
        }
    }
    Err(fail())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expression(alg: HashAlgorithm, name: &str, document: &[u8]) -> String {
        format!("{name}-{}", STANDARD.encode(alg.digest(document).unwrap()))
    }

    #[test]
    fn cached_digests_check_as_the_document_does() {
        for card in CardType::ALL {
            let doc = document(card).as_bytes();
            let vct = card.vct();
            let other = document(match card {
                CardType::Resident => CardType::Foreigner,
                _ => CardType::Resident,
            })
            .as_bytes();
            for (alg, name) in ALGORITHMS.iter().zip(["sha256", "sha384", "sha512"]) {
                let good = expression(*alg, name, doc);
                let bad = expression(*alg, name, other);
                for (text, ok) in [
                    (good.clone(), true),
                    (bad.clone(), false),
                    (format!("{bad} {good}"), true),
                ] {
                    for result in [
                        check_card_integrity(CryptoProvider::get_default(), card, vct, &text),
                        check_integrity(CryptoProvider::get_default(), vct, &text, doc),
                    ] {
                        match result {
                            Ok(()) => assert!(ok, "{text}"),
                            Err(SdJwtError::VctIntegrity(named)) => {
                                assert!(!ok && named == vct, "{text}");
                            }
                            Err(other) => panic!("{text}: {other:?}"),
                        }
                    }
                }
            }
            // Only the strongest algorithm counts: a good SHA-256 beside a bad SHA-512 fails.
            let mixed = format!(
                "{} {}",
                expression(HashAlgorithm::Sha256, "sha256", doc),
                expression(HashAlgorithm::Sha512, "sha512", other)
            );
            assert!(matches!(
                check_card_integrity(CryptoProvider::get_default(), card, vct, &mixed),
                Err(SdJwtError::VctIntegrity(_))
            ));
            assert_eq!(
                integrity(CryptoProvider::get_default(), card).unwrap(),
                expression(HashAlgorithm::Sha256, "sha256", doc)
            );
        }
    }
}
