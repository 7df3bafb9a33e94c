//! Disclosures (RFC 9901 §4.2): `[salt, name, value]` for object properties and
//! `[salt, value]` for array elements, base64url-encoded; the digest is over the encoded text
//! exactly as received.

use kmid_crypto::HashAlgorithm;
use serde_json::Value;

use crate::error::{DisclosureError, SdJwtError};
use crate::jws::{b64, b64_decode};

/// One Disclosure, with its encoded form kept for hashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disclosure {
    encoded: String,
    salt: String,
    name: Option<String>,
    value: Value,
}

fn disclosure_error(index: usize, kind: DisclosureError) -> SdJwtError {
    SdJwtError::Disclosure { index, kind }
}

impl Disclosure {
    /// A Disclosure for an object property.
    ///
    /// # Errors
    /// [`SdJwtError::InvalidInput`] for the reserved names `_sd` and `...`.
    pub fn property(salt: &str, name: &str, value: Value) -> Result<Self, SdJwtError> {
        if name == "_sd" || name == "..." {
            return Err(SdJwtError::InvalidInput(
                "the claim names _sd and ... are reserved",
            ));
        }
        let array = Value::Array(vec![
            Value::String(salt.to_owned()),
            Value::String(name.to_owned()),
            value.clone(),
        ]);
        Ok(Self {
            encoded: b64(array.to_string().as_bytes()),
            salt: salt.to_owned(),
            name: Some(name.to_owned()),
            value,
        })
    }

    /// A Disclosure for an array element.
    #[must_use]
    pub fn element(salt: &str, value: Value) -> Self {
        let array = Value::Array(vec![Value::String(salt.to_owned()), value.clone()]);
        Self {
            encoded: b64(array.to_string().as_bytes()),
            salt: salt.to_owned(),
            name: None,
            value,
        }
    }

    /// Decodes a received Disclosure (the `index`-th of its SD-JWT, for errors).
    ///
    /// # Errors
    /// [`SdJwtError::Base64`] or [`DisclosureError::Malformed`].
    pub fn parse(encoded: &str, index: usize) -> Result<Self, SdJwtError> {
        let bytes = b64_decode(&format!("disclosure {index}"), encoded)?;
        let Ok(Value::Array(parts)) = serde_json::from_slice::<Value>(&bytes) else {
            return Err(disclosure_error(
                index,
                DisclosureError::Malformed("not a JSON array"),
            ));
        };
        let mut parts = parts.into_iter();
        let (salt, name, value) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(Value::String(salt)), Some(value), None, None) => (salt, None, value),
            (Some(Value::String(salt)), Some(Value::String(name)), Some(value), None) => {
                (salt, Some(name), value)
            }
            (Some(Value::String(_)), Some(_), Some(_), None) => {
                return Err(disclosure_error(
                    index,
                    DisclosureError::Malformed("the claim name is not a string"),
                ));
            }
            _ => {
                return Err(disclosure_error(
                    index,
                    DisclosureError::Malformed("not [salt, value] or [salt, name, value]"),
                ));
            }
        };
        Ok(Self {
            encoded: encoded.to_owned(),
            salt,
            name,
            value,
        })
    }

    /// The encoded form, as received or as built.
    #[must_use]
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// The salt.
    #[must_use]
    pub fn salt(&self) -> &str {
        &self.salt
    }

    /// The claim name (`None` for an array element).
    #[must_use]
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The claim value.
    #[must_use]
    pub const fn value(&self) -> &Value {
        &self.value
    }

    /// The digest: base64url of the hash of the encoded text's ASCII bytes (RFC 9901 §4.2.3).
    ///
    /// # Errors
    /// Only backend failures.
    pub fn digest(&self, alg: HashAlgorithm) -> Result<String, SdJwtError> {
        Ok(b64(&alg.digest(self.encoded.as_bytes())?))
    }
}
