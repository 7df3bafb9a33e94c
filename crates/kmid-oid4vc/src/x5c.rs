//! The HAIP 1.0 rules for a JWS signer carried in `x5c` (§4 for signed metadata, wallet and
//! key attestations; §5 for Request Objects): the chain validates to an anchor of the given
//! purpose, the anchor itself is not inside `x5c`, and the signing certificate is not
//! self-signed. One function, so that every signed message of both protocols is held to the
//! same rules.

use kmid_crypto::CryptoError;
use kmid_crypto::x509::{Certificate, KeyPurpose, TrustStore, ValidatedChain};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Why an `x5c` signer was not authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum X5cError {
    /// No `x5c` header.
    Missing,
    /// `x5c` is not a non-empty array of strings.
    Malformed,
    /// The chain is too long, does not parse, or does not validate.
    Certificate(CryptoError),
    /// A trust anchor is inside `x5c`.
    AnchorInChain,
    /// The signing certificate is self-signed.
    SelfSigned,
}

/// Authenticates the `x5c` of a JWS header under `trust` for `purpose` at `at`.
pub(crate) fn authenticate(
    header: &Map<String, Value>,
    trust: &TrustStore,
    at: OffsetDateTime,
    purpose: KeyPurpose,
) -> Result<ValidatedChain, X5cError> {
    let entries: Vec<String> = match header.get("x5c") {
        Some(Value::Array(items)) if !items.is_empty() => {
            // No anchor inside, so at most the store's longest chain without it.
            let max = trust.max_chain_len();
            if items.len() > max {
                return Err(X5cError::Certificate(
                    kmid_crypto::CertificateError::ChainTooLong {
                        length: items.len(),
                        max,
                    }
                    .into(),
                ));
            }
            items
                .iter()
                .map(|i| i.as_str().map(str::to_owned).ok_or(X5cError::Malformed))
                .collect::<Result<_, _>>()?
        }
        Some(_) => return Err(X5cError::Malformed),
        None => return Err(X5cError::Missing),
    };
    // The DER as received: a chain validated before is neither parsed nor verified again
    // (the trust store's cache), so a wallet's second request from a verifier costs its
    // signature only.
    let ders = entries
        .iter()
        .map(|e| Certificate::x5c_entry_der(e))
        .collect::<Result<Vec<_>, _>>()
        .map_err(X5cError::Certificate)?;
    if ders
        .iter()
        .any(|d| trust.roots().iter().any(|r| r.der() == d.as_slice()))
    {
        return Err(X5cError::AnchorInChain);
    }
    let refs: Vec<&[u8]> = ders.iter().map(Vec::as_slice).collect();
    match trust.validate_der(&refs, at, purpose) {
        Ok(validated) if validated.leaf.is_self_issued() => Err(X5cError::SelfSigned),
        Ok(validated) => Ok(validated),
        Err(e) => {
            // A self-signed leaf is named as such, not by the chain check it also fails.
            let leaf = ders
                .first()
                .map(|d| Certificate::from_der(d))
                .ok_or(X5cError::Missing)?
                .map_err(X5cError::Certificate)?;
            if leaf.is_self_issued() {
                return Err(X5cError::SelfSigned);
            }
            Err(X5cError::Certificate(e))
        }
    }
}
