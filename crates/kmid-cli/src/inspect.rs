//! `kmid inspect`: any mdoc or SD-JWT artifact, decoded to readable JSON. Nothing is verified:
//! it shows what the bytes say, for people and conformance runners.
//!
//! - SD-JWT (compact, `~`-separated): the issuer-signed JWT's header and payload, each
//!   Disclosure decoded with its digest under the payload's `_sd_alg`, and the KB-JWT.
//! - A JWS or JWT: header and payload.
//! - CBOR (binary or hex): the data item as JSON, with byte strings in hex, tags as
//!   `{"tag": n, "value": …}`, and tag-24 embedded CBOR decoded in place.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kmid::crypto::HashAlgorithm;
use kmid_cbor::{CborLimits, DecodeBudget, Item, Kind};
use serde_json::{Map, Value, json};

/// The largest artifact `inspect` reads.
pub(crate) const MAX_INPUT: usize = 16 * 1024 * 1024;
/// How deep CBOR may nest.
const MAX_DEPTH: usize = 64;
/// The most CBOR data items an artifact may hold (the JSON shown costs far more per item).
const MAX_ITEMS: usize = 65_536;

/// Why an artifact could not be read.
#[derive(Debug)]
pub(crate) struct InspectError(pub(crate) String);

impl core::fmt::Display for InspectError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err(what: impl Into<String>) -> InspectError {
    InspectError(what.into())
}

fn b64_json(part: &str, what: &str) -> Result<Value, InspectError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| err(format!("{what} is not base64url")))?;
    serde_json::from_slice(&bytes).map_err(|_| err(format!("{what} is not JSON")))
}

fn jws(text: &str, what: &str) -> Result<Value, InspectError> {
    let mut parts = text.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(err(format!("{what} is not a compact JWS")));
    };
    Ok(
        json!({ "header": b64_json(h, &format!("{what} header"))?, "payload": b64_json(p, &format!("{what} payload"))?, "signature_bytes": URL_SAFE_NO_PAD.decode(s).map(|b| b.len()).unwrap_or(0) }),
    )
}

fn sd_jwt(text: &str) -> Result<Value, InspectError> {
    let parts: Vec<&str> = text.split('~').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return Err(err("empty SD-JWT"));
    };
    let issuer = jws(first, "issuer-signed JWT")?;
    let alg = match issuer
        .get("payload")
        .and_then(|p| p.get("_sd_alg"))
        .and_then(Value::as_str)
        .unwrap_or("sha-256")
    {
        "sha-384" => HashAlgorithm::Sha384,
        "sha-512" => HashAlgorithm::Sha512,
        _ => HashAlgorithm::Sha256,
    };
    let middle = parts
        .get(1..parts.len().saturating_sub(1))
        .unwrap_or_default();
    let mut disclosures = Vec::new();
    for d in middle {
        let digest = alg
            .digest(d.as_bytes())
            .map(|h| URL_SAFE_NO_PAD.encode(h))
            .unwrap_or_default();
        disclosures.push(
            json!({ "disclosure": d, "digest": digest, "decoded": b64_json(d, "a Disclosure")? }),
        );
    }
    let kb = if last.is_empty() || parts.len() < 2 {
        Value::Null
    } else {
        jws(last, "KB-JWT")?
    };
    Ok(
        json!({ "kind": "SD-JWT", "issuer_signed_jwt": issuer, "disclosures": disclosures, "kb_jwt": kb }),
    )
}

fn cbor_json(value: &Item<'_>, budget: &DecodeBudget) -> Result<Value, InspectError> {
    Ok(match &value.kind {
        Kind::Uint(n) => Value::from(*n),
        Kind::Nint(_) => value.as_i64().map_or(Value::Null, Value::from),
        Kind::Bytes(b) => Value::String(hex(b)),
        Kind::Float(f) => json!(f),
        Kind::Text(t) => Value::String((*t).to_owned()),
        Kind::Bool(b) => Value::Bool(*b),
        Kind::Null => Value::Null,
        Kind::Tag(24, inner) => match &inner.kind {
            Kind::Bytes(b) => match kmid_cbor::decode_with(b, budget) {
                Ok(embedded) => json!({ "tag": 24, "value": cbor_json(&embedded, budget)? }),
                Err(_) => json!({ "tag": 24, "value": hex(b) }),
            },
            _ => json!({ "tag": 24, "value": cbor_json(inner, budget)? }),
        },
        Kind::Tag(tag, inner) => json!({ "tag": tag, "value": cbor_json(inner, budget)? }),
        Kind::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| cbor_json(v, budget))
                .collect::<Result<_, _>>()?,
        ),
        Kind::Map(entries) => {
            let mut map = Map::new();
            for (k, v) in entries {
                let key = match &k.kind {
                    Kind::Text(t) => (*t).to_owned(),
                    _ => cbor_json(k, budget)?.to_string(),
                };
                map.insert(key, cbor_json(v, budget)?);
            }
            Value::Object(map)
        }
        Kind::Undefined => Value::String("(undefined)".into()),
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The workspace's one CBOR reader, with limits for a whole artifact: embedded tag-24 items
/// draw on the same item budget.
fn cbor_to_json(bytes: &[u8]) -> Result<Value, InspectError> {
    let budget = DecodeBudget::new(CborLimits {
        max_input_bytes: MAX_INPUT,
        max_depth: MAX_DEPTH,
        max_items: MAX_ITEMS,
    });
    let item = kmid_cbor::decode_with(bytes, &budget).map_err(|e| err(format!("not CBOR: {e}")))?;
    cbor_json(&item, &budget)
}

/// Decodes `input` (the artifact's bytes) to JSON.
pub(crate) fn inspect(input: &[u8]) -> Result<Value, InspectError> {
    if input.len() > MAX_INPUT {
        return Err(err("the artifact is larger than 16 MiB"));
    }
    if let Ok(text) = core::str::from_utf8(input) {
        let text = text.trim();
        if text.starts_with("ey") && text.contains('~') {
            return sd_jwt(text);
        }
        if text.starts_with("ey") {
            return Ok(json!({ "kind": "JWS", "jws": jws(text, "JWS")? }));
        }
        if !text.is_empty() && text.len() % 2 == 0 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            let bytes: Vec<u8> = (0..text.len())
                .step_by(2)
                .filter_map(|i| {
                    text.get(i..i + 2)
                        .and_then(|h| u8::from_str_radix(h, 16).ok())
                })
                .collect();
            return Ok(json!({ "kind": "CBOR (from hex)", "value": cbor_to_json(&bytes)? }));
        }
    }
    Ok(json!({ "kind": "CBOR", "value": cbor_to_json(input)? }))
}
