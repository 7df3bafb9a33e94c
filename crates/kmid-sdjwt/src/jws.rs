//! Compact JWS for the issuer-signed JWT and the KB-JWT, on josekit, with signing through a
//! [`Signer`] and verification through a [`SignatureVerifier`].
//!
//! josekit serializes and checks the JWS (alg header against the verifier, `crit`, base64url);
//! this module adapts kmid's signer and verifier traits to josekit's, and splits a compact JWS
//! to read its header before verification (the key depends on it: `x5c`, `kid`).

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jws::{JwsAlgorithm, JwsHeader, JwsSigner, JwsVerifier};
use kmid_crypto::{Algorithm, PublicKey, SignatureVerifier, Signer};
use serde_json::{Map, Value};

use crate::error::{SdJwtError, malformed};

/// Strict base64url without padding.
pub(crate) fn b64_decode(part: &str, text: &str) -> Result<Vec<u8>, SdJwtError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| SdJwtError::Base64 {
            part: part.to_owned(),
        })
}

/// base64url without padding.
pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn jose_algorithm(alg: Algorithm) -> &'static dyn JwsAlgorithm {
    match alg {
        Algorithm::Es384 => &josekit::jws::ES384,
        Algorithm::Es512 => &josekit::jws::ES512,
        Algorithm::EdDsa => &josekit::jws::EdDSA,
        _ => &josekit::jws::ES256,
    }
}

/// A kmid [`Signer`] seen as a josekit signer.
#[derive(Clone)]
struct SignerAdapter {
    signer: Arc<dyn Signer>,
}

impl core::fmt::Debug for SignerAdapter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "SignerAdapter({})", self.signer.algorithm())
    }
}

impl JwsSigner for SignerAdapter {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        jose_algorithm(self.signer.algorithm())
    }
    fn key_id(&self) -> Option<&str> {
        None
    }
    fn signature_len(&self) -> usize {
        self.signer.algorithm().signature_len()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, josekit::JoseError> {
        self.signer
            .sign(message)
            .map_err(|e| josekit::JoseError::InvalidSignature(e.into()))
    }
    fn box_clone(&self) -> Box<dyn JwsSigner> {
        Box::new(self.clone())
    }
}

/// A kmid key and [`SignatureVerifier`] seen as a josekit verifier.
#[derive(Clone)]
struct VerifierAdapter {
    key: PublicKey,
    alg: Algorithm,
    verifier: Arc<dyn SignatureVerifier>,
}

impl core::fmt::Debug for VerifierAdapter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "VerifierAdapter({}, {:?})", self.alg, self.key)
    }
}

impl JwsVerifier for VerifierAdapter {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        jose_algorithm(self.alg)
    }
    fn key_id(&self) -> Option<&str> {
        None
    }
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), josekit::JoseError> {
        self.verifier
            .verify(self.alg, &self.key, message, signature)
            .map_err(|e| josekit::JoseError::InvalidSignature(e.into()))
    }
    fn box_clone(&self) -> Box<dyn JwsVerifier> {
        Box::new(self.clone())
    }
}

/// Signs `payload` as a compact JWS with the header members in `header` (`alg` is set from
/// the signer).
pub(crate) fn sign_compact(
    header: Map<String, Value>,
    payload: &[u8],
    signer: &Arc<dyn Signer>,
) -> Result<String, SdJwtError> {
    let header = JwsHeader::from_map(header).map_err(|_| SdJwtError::InvalidInput("JWS header"))?;
    josekit::jws::serialize_compact(
        payload,
        &header,
        &SignerAdapter {
            signer: Arc::clone(signer),
        },
    )
    .map_err(|_| SdJwtError::InvalidInput("JWS signing failed"))
}

/// A compact JWS split into its parts, header and payload decoded, not yet verified.
#[derive(Debug, Clone)]
pub(crate) struct CompactJws<'a> {
    pub(crate) text: &'a str,
    pub(crate) header: Map<String, Value>,
    pub(crate) payload: Vec<u8>,
}

impl<'a> CompactJws<'a> {
    /// Splits and decodes; `part` names the JWS in errors.
    pub(crate) fn parse(text: &'a str, part: &str) -> Result<Self, SdJwtError> {
        let mut pieces = text.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (pieces.next(), pieces.next(), pieces.next(), pieces.next())
        else {
            return Err(malformed(part, "a JWS has three dot-separated parts"));
        };
        // An empty signature (as `alg: none` has) parses, so the `alg` check can refuse it by name.
        if h.is_empty() {
            return Err(malformed(part, "empty header"));
        }
        b64_decode(part, s)?;
        let header_bytes = b64_decode(part, h)?;
        let header: Map<String, Value> =
            serde_json::from_slice(&header_bytes).map_err(|_| SdJwtError::Json {
                part: format!("{part} header"),
            })?;
        let payload = b64_decode(part, p)?;
        Ok(Self {
            text,
            header,
            payload,
        })
    }

    /// The header's `alg`, which must be an asymmetric algorithm in `allowed`.
    pub(crate) fn algorithm(&self, allowed: &[Algorithm]) -> Result<Algorithm, SdJwtError> {
        let name = self.header.get("alg").and_then(Value::as_str).unwrap_or("");
        let alg = Algorithm::from_jose_name(name)
            .map_err(|_| SdJwtError::AlgorithmNotAccepted(name.chars().take(32).collect()))?;
        if allowed.contains(&alg) {
            Ok(alg)
        } else {
            Err(SdJwtError::AlgorithmNotAccepted(name.to_owned()))
        }
    }

    /// The header's `typ`.
    pub(crate) fn typ(&self) -> Option<&str> {
        self.header.get("typ").and_then(Value::as_str)
    }

    /// The payload as a JSON object.
    pub(crate) fn payload_object(&self, part: &str) -> Result<Map<String, Value>, SdJwtError> {
        match serde_json::from_slice::<Value>(&self.payload) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(SdJwtError::Json {
                part: format!("{part} payload"),
            }),
        }
    }

    /// Verifies the signature with `key` and `alg` through josekit (which also checks that the
    /// header's `alg` is `alg` and refuses unknown `crit` members).
    pub(crate) fn verify(
        &self,
        key: &PublicKey,
        alg: Algorithm,
        verifier: &Arc<dyn SignatureVerifier>,
    ) -> Result<(), ()> {
        let adapter = VerifierAdapter {
            key: key.clone(),
            alg,
            verifier: Arc::clone(verifier),
        };
        josekit::jws::deserialize_compact(self.text, &adapter)
            .map(drop)
            .map_err(drop)
    }
}
