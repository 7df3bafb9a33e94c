//! The HAIP 1.0 rules for a JWS signer carried in `x5c` (§4 for signed metadata, wallet and
//! key attestations; §5 for Request Objects): the chain validates to an anchor of the given
//! purpose, the anchor itself is not inside `x5c`, and the signing certificate is not
//! self-signed. One function, so that every signed message of both protocols is held to the
//! same rules.

use kmid_crypto::CryptoError;
use kmid_crypto::x509::{KeyPurpose, TrustStore, ValidatedChain, chain_from_x5c};
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
    let chain = chain_from_x5c(&entries).map_err(X5cError::Certificate)?;
    if chain
        .iter()
        .any(|c| trust.roots().iter().any(|r| r.der() == c.der()))
    {
        return Err(X5cError::AnchorInChain);
    }
    let leaf = chain.first().ok_or(X5cError::Missing)?;
    if leaf.is_self_issued() {
        return Err(X5cError::SelfSigned);
    }
    trust
        .validate(&chain, at, purpose)
        .map_err(X5cError::Certificate)
}
