//! Transaction data (OpenID4VP 1.0 §5.1, §8.4, Appendix B.3.3): kmid's type for a holder's
//! consent to a transaction — opening a bank account, signing a contract — bound to the
//! presentation that authorizes it: the SD-JWT VC's Key Binding JWT carries
//! `transaction_data_hashes`, the base64url SHA-256 of each `transaction_data` string as sent.
//! No Korean docType authorizes transaction data in its mdoc (no data element for it in
//! `KeyAuthorizations`), so a wallet refuses it for an mdoc credential (Appendix B.2.3).

use kmid_crypto::CryptoProvider;
use kmid_crypto::jose::{b64url, b64url_decode};
use serde_json::{Map, Value, json};

use crate::Oid4vpError;

/// The type of kmid's consent to a transaction.
pub const CONSENT_TYPE: &str = "kr.kmid.transaction-consent";
/// The longest description a consent may carry.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// The longest reference.
pub const MAX_REFERENCE_CHARS: usize = 128;

/// A holder's consent to a transaction: what the wallet shows and the presentation binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionConsent {
    /// The Credential Query ids whose credential may authorize it (one of them is used).
    pub credential_ids: Vec<String>,
    /// What the holder consents to, as the wallet shows it.
    pub description: String,
    /// The verifier's reference of the transaction.
    pub reference: String,
}

impl TransactionConsent {
    /// The `transaction_data` string: base64url of the JSON object `type`, `credential_ids`,
    /// `description`, `reference`.
    #[must_use]
    pub fn encode(&self) -> String {
        b64url(
            json!({
                "type": CONSENT_TYPE,
                "credential_ids": self.credential_ids,
                "description": self.description,
                "reference": self.reference,
            })
            .to_string()
            .as_bytes(),
        )
    }

    /// Reads and checks a `transaction_data` string of this type: `credential_ids` 1 to 16
    /// strings, a description of 1 to 1024 characters, a reference of 1 to 128, and
    /// `transaction_data_hashes_alg`, when present, offering `sha-256`.
    ///
    /// # Errors
    /// [`Oid4vpError::TransactionData`] for another type, [`Oid4vpError::Malformed`] for one
    /// that does not conform.
    pub fn decode(item: &str) -> Result<Self, Oid4vpError> {
        let bad = |what: &str| Oid4vpError::Malformed(format!("transaction data: {what}"));
        let object: Map<String, Value> =
            serde_json::from_slice(&b64url_decode(item).map_err(|_| bad("not base64url"))?)
                .map_err(|_| bad("not a JSON object"))?;
        let kind = object
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if kind != CONSENT_TYPE {
            return Err(Oid4vpError::TransactionData(kind.to_owned()));
        }
        let credential_ids: Vec<String> = object
            .get("credential_ids")
            .and_then(Value::as_array)
            .filter(|ids| !ids.is_empty() && ids.len() <= 16)
            .and_then(|ids| ids.iter().map(|i| i.as_str().map(str::to_owned)).collect())
            .ok_or_else(|| bad("credential_ids"))?;
        let text = |k: &str, max: usize| {
            object
                .get(k)
                .and_then(Value::as_str)
                .filter(|t| !t.trim().is_empty() && t.chars().count() <= max)
                .map(str::to_owned)
                .ok_or_else(|| bad(k))
        };
        if let Some(algs) = object.get("transaction_data_hashes_alg") {
            let offers = algs
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some("sha-256")));
            if !offers {
                return Err(bad("transaction_data_hashes_alg without sha-256"));
            }
        }
        Ok(Self {
            credential_ids,
            description: text("description", MAX_DESCRIPTION_CHARS)?,
            reference: text("reference", MAX_REFERENCE_CHARS)?,
        })
    }
}

/// The hash of one `transaction_data` string as sent (not decoded first), base64url SHA-256:
/// an element of `transaction_data_hashes` (Appendix B.3.3).
///
/// # Errors
/// [`Oid4vpError::Crypto`].
pub fn transaction_data_hash(provider: &CryptoProvider, item: &str) -> Result<String, Oid4vpError> {
    Ok(b64url(
        &provider
            .sha256(item.as_bytes())
            .map_err(Oid4vpError::Crypto)?,
    ))
}
