//! The two serializations of an SD-JWT (RFC 9901 §4 and §8): compact
//! `<JWT>~<D1>~…~<Dn>~[<KB-JWT>]`, and JWS JSON (flattened and general) with `disclosures` and
//! `kb_jwt` in the (first) unprotected header.

use kmid_crypto::{HashAlgorithm, Hasher};
use serde_json::{Map, Value, json};

use crate::error::{SdJwtError, malformed};
use crate::limits::SdJwtLimits;

/// An SD-JWT or SD-JWT+KB, split into its parts as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdJwt {
    /// The issuer-signed JWT, compact.
    pub issuer_jwt: String,
    /// The Disclosures, encoded, in order.
    pub disclosures: Vec<String>,
    /// The Key Binding JWT, if any.
    pub kb_jwt: Option<String>,
}

/// Whether `s` is non-empty base64url text. Branch-free within 64-byte blocks, so the
/// compiler vectorizes it: this runs over every byte of every presentation.
fn is_base64url(s: &str) -> bool {
    const fn byte_ok(b: u8) -> bool {
        b.is_ascii_uppercase()
            | b.is_ascii_lowercase()
            | b.is_ascii_digit()
            | (b == b'-')
            | (b == b'_')
    }
    !s.is_empty()
        && s.as_bytes()
            .chunks(64)
            .all(|block| block.iter().fold(true, |ok, &b| ok & byte_ok(b)))
}

fn is_jwt(s: &str) -> bool {
    let mut parts = s.split('.');
    matches!((parts.next(), parts.next(), parts.next(), parts.next()), (Some(a), Some(b), Some(c), None)
        if is_base64url(a) && (b.is_empty() || is_base64url(b)) && (c.is_empty() || is_base64url(c)))
}

/// Whether [`SdJwt::parse`] reads `input` as the JWS JSON serialization (otherwise it is
/// compact, and a parsed compact input is byte for byte [`SdJwt::to_compact`]).
pub(crate) fn is_json_serialization(input: &str) -> bool {
    input.trim_start().starts_with('{')
}

impl SdJwt {
    /// Parses either serialization: a JSON object (JWS JSON) or the compact form.
    ///
    /// # Errors
    /// [`SdJwtError::Limit`] for oversized input or too many Disclosures;
    /// [`SdJwtError::Malformed`] for anything that is not an SD-JWT.
    pub fn parse(input: &str, limits: &SdJwtLimits) -> Result<Self, SdJwtError> {
        if input.len() > limits.max_input_bytes {
            return Err(SdJwtError::Limit {
                kind: crate::limits::SdJwtLimit::InputBytes,
                max: limits.max_input_bytes,
                actual: input.len(),
            });
        }
        if is_json_serialization(input) {
            Self::parse_json(input, limits)
        } else {
            Self::parse_compact(input, limits)
        }
    }

    /// Parses the compact serialization.
    ///
    /// # Errors
    /// As [`Self::parse`].
    pub fn parse_compact(input: &str, limits: &SdJwtLimits) -> Result<Self, SdJwtError> {
        // Bounded while collecting: a megabyte of '~' must not become a million slices. The
        // issuer JWT, the Disclosures and the KB-JWT part make at most max + 2 parts.
        let max_parts = limits.max_disclosures.saturating_add(2);
        let mut parts: Vec<&str> = Vec::new();
        for part in input.split('~') {
            if parts.len() == max_parts {
                return Err(SdJwtError::Limit {
                    kind: crate::limits::SdJwtLimit::Disclosures,
                    max: limits.max_disclosures,
                    actual: input
                        .bytes()
                        .filter(|b| *b == b'~')
                        .count()
                        .saturating_sub(1),
                });
            }
            parts.push(part);
        }
        let (Some((first, rest)), Some(last)) = (parts.split_first(), parts.last()) else {
            return Err(malformed("SD-JWT", "empty input"));
        };
        if rest.is_empty() {
            return Err(malformed("SD-JWT", "no '~' after the issuer-signed JWT"));
        }
        if !is_jwt(first) {
            return Err(malformed("issuer-signed JWT", "not a compact JWS"));
        }
        // At most max + 2 parts were collected, so at most max Disclosures are in between.
        let middle = rest.get(..rest.len().saturating_sub(1)).unwrap_or_default();
        for (i, d) in middle.iter().enumerate() {
            if !is_base64url(d) {
                return Err(malformed(
                    format!("disclosure {i}"),
                    "empty or not base64url",
                ));
            }
        }
        let kb_jwt = if last.is_empty() {
            None
        } else if is_jwt(last) {
            Some((*last).to_owned())
        } else {
            return Err(malformed(
                "KB-JWT",
                "the part after the last '~' is neither empty nor a JWT",
            ));
        };
        Ok(Self {
            issuer_jwt: (*first).to_owned(),
            disclosures: middle.iter().map(|d| (*d).to_owned()).collect(),
            kb_jwt,
        })
    }

    /// Parses the JWS JSON serialization, flattened or general. With several signatures, the
    /// first one (which carries `disclosures` and `kb_jwt`) is the one used.
    ///
    /// # Errors
    /// As [`Self::parse`].
    pub fn parse_json(input: &str, limits: &SdJwtLimits) -> Result<Self, SdJwtError> {
        // One typed pass: only the members the serialization defines are built, each string
        // borrowed from the input (base64url has nothing to unescape), and every other member
        // is skipped as it is read; no JSON tree of the whole input is made.
        let Object(outer): Object<JwsJson<'_>> =
            serde_json::from_str(input).map_err(|_| SdJwtError::Json {
                part: "JWS JSON serialization".into(),
            })?;
        let payload = outer
            .payload
            .ok_or_else(|| malformed("JWS JSON", "no payload"))?;
        let flattened = JwsSignature {
            protected: outer.protected,
            signature: outer.signature,
            header: outer.header,
        };
        let signature_object = match &outer.signatures {
            Some(sigs) => {
                if sigs.iter().skip(1).any(|later| {
                    later
                        .header
                        .as_ref()
                        .is_some_and(|h| h.disclosures.is_some() || h.kb_jwt.is_some())
                }) {
                    return Err(malformed(
                        "JWS JSON",
                        "disclosures or kb_jwt outside the first signature",
                    ));
                }
                &sigs
                    .first()
                    .ok_or_else(|| malformed("JWS JSON", "empty signatures"))?
                    .0
            }
            None => &flattened,
        };
        let protected = signature_object
            .protected
            .ok_or_else(|| malformed("JWS JSON", "no protected header"))?;
        let signature = signature_object
            .signature
            .ok_or_else(|| malformed("JWS JSON", "no signature"))?;
        let header = signature_object.header.as_ref();
        let disclosures = match header.and_then(|h| h.disclosures.as_ref()) {
            None => Vec::new(),
            Some(ds) => {
                if ds.len() > limits.max_disclosures {
                    return Err(SdJwtError::Limit {
                        kind: crate::limits::SdJwtLimit::Disclosures,
                        max: limits.max_disclosures,
                        actual: ds.len(),
                    });
                }
                ds.iter()
                    .enumerate()
                    .map(|(i, d)| {
                        Some(*d)
                            .filter(|s| is_base64url(s))
                            .map(str::to_owned)
                            .ok_or_else(|| {
                                malformed(format!("disclosure {i}"), "not a base64url string")
                            })
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
        };
        let kb_jwt = match header.and_then(|h| h.kb_jwt.as_ref()) {
            None => None,
            Some(KbJwtMember::Text(kb)) if is_jwt(kb) => Some((*kb).to_owned()),
            Some(_) => return Err(malformed("KB-JWT", "kb_jwt is not a compact JWS")),
        };
        let issuer_jwt = format!("{protected}.{payload}.{signature}");
        if !is_jwt(&issuer_jwt) {
            return Err(malformed("issuer-signed JWT", "not a JWS"));
        }
        Ok(Self {
            issuer_jwt,
            disclosures,
            kb_jwt,
        })
    }

    /// The compact serialization.
    #[must_use]
    pub fn to_compact(&self) -> String {
        let mut out = self.sd_hash_input();
        if let Some(kb) = &self.kb_jwt {
            out.push_str(kb);
        }
        out
    }

    /// The SD-JWT part as the KB-JWT's `sd_hash` covers it: `<JWT>~<D1>~…~<Dn>~`.
    #[must_use]
    pub fn sd_hash_input(&self) -> String {
        let len =
            self.issuer_jwt.len() + self.disclosures.iter().map(|d| d.len() + 1).sum::<usize>() + 1;
        let mut out = String::with_capacity(len);
        out.push_str(&self.issuer_jwt);
        out.push('~');
        for d in &self.disclosures {
            out.push_str(d);
            out.push('~');
        }
        out
    }

    /// The hash of [`Self::sd_hash_input`], fed piece by piece (the presentation is not
    /// copied).
    #[must_use]
    pub fn sd_hash_digest(
        &self,
        provider: &kmid_crypto::CryptoProvider,
        alg: HashAlgorithm,
    ) -> Vec<u8> {
        self.sd_hash_hasher(provider, alg).finish()
    }

    /// The `sd_hash` digest with `alg` and, when `alg` is SHA-256, the SHA-256 of the whole
    /// compact serialization from the same pass (the KB-JWT fed after the state is cloned).
    pub(crate) fn sd_hash_and_compact_sha256(
        &self,
        provider: &kmid_crypto::CryptoProvider,
        alg: HashAlgorithm,
    ) -> (Vec<u8>, Option<[u8; 32]>) {
        let hasher = self.sd_hash_hasher(provider, alg);
        if alg != HashAlgorithm::Sha256 {
            return (hasher.finish(), None);
        }
        let mut whole = hasher.clone();
        if let Some(kb) = &self.kb_jwt {
            whole.update(kb.as_bytes());
        }
        let compact = <[u8; 32]>::try_from(whole.finish().as_slice()).ok();
        (hasher.finish(), compact)
    }

    fn sd_hash_hasher(&self, provider: &kmid_crypto::CryptoProvider, alg: HashAlgorithm) -> Hasher {
        let mut hasher = alg.hasher_on(provider);
        hasher.update(self.issuer_jwt.as_bytes());
        hasher.update(b"~");
        for d in &self.disclosures {
            hasher.update(d.as_bytes());
            hasher.update(b"~");
        }
        hasher
    }

    fn jws_parts(&self) -> (&str, &str, &str) {
        let mut parts = self.issuer_jwt.splitn(3, '.');
        (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        )
    }

    fn header(&self) -> Map<String, Value> {
        let mut header = Map::new();
        header.insert("disclosures".into(), json!(self.disclosures));
        if let Some(kb) = &self.kb_jwt {
            header.insert("kb_jwt".into(), Value::String(kb.clone()));
        }
        header
    }

    /// The flattened JWS JSON serialization (RFC 9901 §8.2).
    #[must_use]
    pub fn to_flattened_json(&self) -> String {
        let (protected, payload, signature) = self.jws_parts();
        json!({ "header": self.header(), "payload": payload, "protected": protected, "signature": signature }).to_string()
    }

    /// The general JWS JSON serialization with one signature (RFC 9901 §8.3).
    #[must_use]
    pub fn to_general_json(&self) -> String {
        let (protected, payload, signature) = self.jws_parts();
        json!({ "payload": payload, "signatures": [{ "header": self.header(), "protected": protected, "signature": signature }] })
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::SdJwtLimit;

    #[test]
    fn the_json_serialization_takes_objects_only() {
        let limits = SdJwtLimits::default();
        let parts = r#""payload":"eyJi","protected":"eyJh","signature":"c2ln""#;
        // The same members as objects parse; as arrays of their fields (which serde's derived
        // structs would take in order) they are refused.
        let good = [
            format!(r#"{{{parts},"header":{{"disclosures":["WyJh"]}}}}"#),
            r#"{"payload":"eyJi","signatures":[{"protected":"eyJh","signature":"c2ln","header":{"disclosures":["WyJh"]}}]}"#
                .to_owned(),
        ];
        for input in &good {
            let parsed = SdJwt::parse_json(input, &limits).unwrap();
            assert_eq!(parsed.disclosures, ["WyJh"], "{input}");
        }
        let bad = [
            r#"["eyJi","eyJh","c2ln"]"#.to_owned(),
            format!(r#"{{{parts},"header":[["WyJh"],null]}}"#),
            r#"{"payload":"eyJi","signatures":[["eyJh","c2ln",null]]}"#.to_owned(),
        ];
        for input in &bad {
            assert!(
                matches!(
                    SdJwt::parse_json(input, &limits),
                    Err(SdJwtError::Json { .. })
                ),
                "{input}"
            );
        }
    }

    #[test]
    fn the_disclosure_limit_is_exact_with_and_without_a_kb_jwt() {
        let limits = SdJwtLimits {
            max_disclosures: 3,
            ..SdJwtLimits::default()
        };
        let jwt = "eyJh.eyJi.c2ln";
        for kb in ["", "eyJh.eyJi.c2ln"] {
            for n in 0..=5 {
                let input = format!("{jwt}~{}{kb}", "WyJh~".repeat(n));
                match SdJwt::parse_compact(&input, &limits) {
                    Ok(parsed) => {
                        assert!(n <= 3, "{input}");
                        assert_eq!(parsed.disclosures.len(), n);
                        assert_eq!(parsed.to_compact(), input);
                    }
                    Err(SdJwtError::Limit {
                        kind: SdJwtLimit::Disclosures,
                        max: 3,
                        actual,
                    }) => assert!(n > 3 && actual == n, "{input}: {actual}"),
                    Err(other) => panic!("{input}: {other:?}"),
                }
            }
        }
    }
}

/// The JWS JSON serialization (RFC 7515 §7.2) with the SD-JWT members of RFC 9901 §8: what
/// [`SdJwt::parse_json`] reads, and nothing else.
#[derive(serde::Deserialize)]
struct JwsJson<'a> {
    #[serde(borrow, default)]
    payload: Option<&'a str>,
    #[serde(borrow, default)]
    protected: Option<&'a str>,
    #[serde(borrow, default)]
    signature: Option<&'a str>,
    #[serde(borrow, default)]
    header: Option<Object<JwsUnprotected<'a>>>,
    #[serde(borrow, default)]
    signatures: Option<Vec<Object<JwsSignature<'a>>>>,
}

/// One signature of the general serialization (or the flattened one's members).
#[derive(serde::Deserialize)]
struct JwsSignature<'a> {
    #[serde(borrow, default)]
    protected: Option<&'a str>,
    #[serde(borrow, default)]
    signature: Option<&'a str>,
    #[serde(borrow, default)]
    header: Option<Object<JwsUnprotected<'a>>>,
}

/// A member that must be a JSON object. serde's derived structs also take a JSON array of
/// their fields in order; the JWS JSON serialization has objects only, so an array is refused.
struct Object<T>(T);

impl<T> core::ops::Deref for Object<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::Deserialize<'de> for Object<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(core::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = T;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(V(core::marker::PhantomData)).map(Object)
    }
}

/// The unprotected header's SD-JWT members; others are skipped.
#[derive(serde::Deserialize)]
struct JwsUnprotected<'a> {
    #[serde(borrow, default)]
    disclosures: Option<Vec<&'a str>>,
    #[serde(borrow, default)]
    kb_jwt: Option<KbJwtMember<'a>>,
}

/// `kb_jwt`: a string, or any other value (refused by name, skipped without being built).
enum KbJwtMember<'a> {
    Text(&'a str),
    Other,
}

impl<'de: 'a, 'a> serde::Deserialize<'de> for KbJwtMember<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = KbJwtMember<'de>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> Result<Self::Value, E> {
                Ok(KbJwtMember::Text(v))
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(KbJwtMember::Other)
            }
            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(KbJwtMember::Other)
            }
            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(KbJwtMember::Other)
            }
            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(KbJwtMember::Other)
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(KbJwtMember::Other)
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(KbJwtMember::Other)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(KbJwtMember::Other)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(KbJwtMember::Other)
            }
        }
        d.deserialize_any(V)
    }
}
