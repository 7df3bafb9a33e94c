//! SD-JWT VC Type Metadata (draft-ietf-oauth-sd-jwt-vc §5) of the profile's three `vct`s,
//! embedded from `spec/type-metadata/`, and the `#integrity` check (§6, W3C SRI syntax).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kmid_crypto::HashAlgorithm;
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
/// the SHA-256 of the document's bytes.
///
/// # Errors
/// Only backend failures.
pub fn integrity(card: CardType) -> Result<String, SdJwtError> {
    Ok(format!(
        "sha256-{}",
        STANDARD.encode(HashAlgorithm::Sha256.digest(document(card).as_bytes())?)
    ))
}

/// Checks an integrity metadata string against `document`: of its hash expressions, those
/// with the strongest supported algorithm are used, and one must match (§6).
///
/// # Errors
/// [`SdJwtError::VctIntegrity`] when none matches or no algorithm is supported.
pub fn check_integrity(vct: &str, integrity: &str, document: &[u8]) -> Result<(), SdJwtError> {
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
        if kmid_crypto::session::constant_time_eq(&expected, &alg.digest(document)?) {
            return Ok(());
        }
    }
    Err(fail())
}
