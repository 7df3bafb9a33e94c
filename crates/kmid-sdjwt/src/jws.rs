//! The JOSE layer, from `kmid_crypto::jose`, with errors labelled by the SD-JWT part they
//! concern.

use kmid_crypto::Algorithm;
pub(crate) use kmid_crypto::jose::{CompactJws, b64url as b64};
use kmid_crypto::jose::{JoseError, b64url_decode};
use serde_json::{Map, Value};

use crate::error::{SdJwtError, malformed};

fn label(part: &str, e: JoseError) -> SdJwtError {
    match e {
        JoseError::Malformed(what) => malformed(part, what),
        JoseError::Base64 => SdJwtError::Base64 {
            part: part.to_owned(),
        },
        JoseError::HeaderJson => SdJwtError::Json {
            part: format!("{part} header"),
        },
        JoseError::PayloadJson => SdJwtError::Json {
            part: format!("{part} payload"),
        },
        JoseError::AlgorithmNotAccepted(alg) => SdJwtError::AlgorithmNotAccepted(alg),
        JoseError::BadSignature => SdJwtError::BadIssuerSignature,
        _ => SdJwtError::InvalidInput("JWS signing failed"),
    }
}

/// Strict base64url without padding, for `part`.
pub(crate) fn b64_decode(part: &str, text: &str) -> Result<Vec<u8>, SdJwtError> {
    b64url_decode(text).map_err(|e| label(part, e))
}

/// Parses the compact JWS `part`.
pub(crate) fn parse_jws<'a>(text: &'a str, part: &str) -> Result<CompactJws<'a>, SdJwtError> {
    CompactJws::parse(text).map_err(|e| label(part, e))
}

/// Signs a compact JWS.
pub(crate) fn sign_compact(
    header: Map<String, Value>,
    payload: &[u8],
    signer: &std::sync::Arc<dyn kmid_crypto::Signer>,
) -> Result<String, SdJwtError> {
    kmid_crypto::jose::sign_compact(header, payload, signer)
        .map_err(|_| SdJwtError::InvalidInput("JWS signing failed"))
}

/// The checks of [`CompactJws`] with SD-JWT errors.
pub(crate) trait JwsExt {
    /// The header's `alg`, within `allowed`.
    fn algorithm_in(&self, allowed: &[Algorithm]) -> Result<Algorithm, SdJwtError>;
    /// The payload as a JSON object.
    fn payload_json(&self, part: &str) -> Result<Map<String, Value>, SdJwtError>;
}

impl JwsExt for CompactJws<'_> {
    fn algorithm_in(&self, allowed: &[Algorithm]) -> Result<Algorithm, SdJwtError> {
        self.algorithm(allowed).map_err(|e| label("JWS", e))
    }
    fn payload_json(&self, part: &str) -> Result<Map<String, Value>, SdJwtError> {
        self.payload_object().map_err(|e| label(part, e))
    }
}
