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

/// The base64url of `[salt, name, value]` (or `[salt, value]`) as compact JSON, byte for byte
/// what serde_json writes for that array, without building it.
fn encode(salt: &str, name: Option<&str>, value: &Value) -> String {
    let mut json = Vec::with_capacity(
        salt.len() + name.map_or(0, str::len) + value.as_str().map_or(64, str::len) + 12,
    );
    json.push(b'[');
    push_json_string(&mut json, salt);
    if let Some(name) = name {
        json.push(b',');
        push_json_string(&mut json, name);
    }
    json.push(b',');
    match value {
        Value::String(s) => push_json_string(&mut json, s),
        other => json.extend_from_slice(other.to_string().as_bytes()),
    }
    json.push(b']');
    b64(&json)
}

/// Appends `s` as a JSON string. Text with nothing to escape (no control character, `"` or
/// `\`; serde_json escapes nothing else) is copied after a branch-free scan that the compiler
/// vectorizes, instead of serde_json's byte-by-byte escape loop: a portrait's data URL is
/// 27 KB of base64.
fn push_json_string(out: &mut Vec<u8>, s: &str) {
    const fn plain(b: u8) -> bool {
        (b >= 0x20) & (b != b'"') & (b != b'\\')
    }
    let all_plain = s
        .as_bytes()
        .chunks(64)
        .all(|block| block.iter().fold(true, |ok, &b| ok & plain(b)));
    if all_plain {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(Value::from(s).to_string().as_bytes());
    }
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
        Ok(Self {
            encoded: encode(salt, Some(name), &value),
            salt: salt.to_owned(),
            name: Some(name.to_owned()),
            value,
        })
    }

    /// A Disclosure for an array element.
    #[must_use]
    pub fn element(salt: &str, value: Value) -> Self {
        Self {
            encoded: encode(salt, None, &value),
            salt: salt.to_owned(),
            name: None,
            value,
        }
    }

    /// The encoded form, taken out (the issuer's SD-JWT keeps only this).
    #[must_use]
    pub fn into_encoded(self) -> String {
        self.encoded
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

    /// The digest: base64url of the hash of the encoded text's ASCII bytes (RFC 9901 §4.2.3),
    /// on `provider`.
    ///
    /// # Errors
    /// Only backend failures.
    pub fn digest(
        &self,
        provider: &kmid_crypto::CryptoProvider,
        alg: HashAlgorithm,
    ) -> Result<String, SdJwtError> {
        Ok(b64(&provider.digest(alg, self.encoded.as_bytes())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reference(salt: &str, name: Option<&str>, value: &Value) -> String {
        let mut parts = vec![Value::from(salt)];
        parts.extend(name.map(Value::from));
        parts.push(value.clone());
        b64(Value::Array(parts).to_string().as_bytes())
    }

    #[test]
    fn encoding_is_byte_for_byte_serde_json() {
        // Every ASCII character and some that are not, alone and inside text.
        let mut texts: Vec<String> = (0u8..=0x7F).map(|b| char::from(b).to_string()).collect();
        texts.extend(
            [
                "",
                "김민준",
                "\u{20000}",
                "a\"b",
                "a\\b",
                "line\nbreak",
                "é\u{7f}\u{2028}",
            ]
            .map(str::to_owned),
        );
        texts.push(format!("data:image/jpeg;base64,{}", "AbC+/=".repeat(5000)));
        let mut values: Vec<Value> = texts.iter().map(|t| Value::from(t.as_str())).collect();
        values.extend([
            json!(null),
            json!(true),
            json!(-12.5),
            json!(19),
            json!(["a\"", 1]),
            json!({"_sd": ["x"], "locality": "서울 \"중구\""}),
        ]);
        for text in &texts {
            for value in &values {
                assert_eq!(
                    Disclosure::property("c2FsdA", text, value.clone())
                        .map(Disclosure::into_encoded)
                        .ok(),
                    (text != "_sd" && text != "...").then(|| reference(
                        "c2FsdA",
                        Some(text),
                        value
                    )),
                );
                assert_eq!(
                    Disclosure::element(text, value.clone()).encoded(),
                    reference(text, None, value)
                );
            }
        }
    }
}
