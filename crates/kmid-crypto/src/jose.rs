//! Compact JWS (RFC 7515), with signing through a [`Signer`] and verification through a
//! [`SignatureVerifier`]: the JWT layer the SD-JWT VC issuer-signed JWT, the KB-JWT and the
//! Status List Token share.
//!
//! Our own code, small on purpose: a compact JWS is split once ([`CompactJws::parse`]), its
//! header read before verification (the key depends on it: `x5c`, `kid`), and the signature
//! checked over the signing input exactly as received. Nothing else reads the same bytes.
//! Signing writes `BASE64URL(header) . BASE64URL(payload) . BASE64URL(signature)` with `alg`
//! set from the signer.

use std::io::Write;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::{Algorithm, AlgorithmRefusal, PublicKey, SignatureVerifier, Signer};

/// Why a compact JWS was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoseError {
    /// Not three dot-separated parts, or an empty header.
    #[error("malformed JWS: {0}")]
    Malformed(&'static str),
    /// A part that is not base64url without padding.
    #[error("a JWS part is not base64url without padding")]
    Base64,
    /// The header is not a JSON object.
    #[error("the JWS header is not a JSON object")]
    HeaderJson,
    /// The payload is not a JSON object.
    #[error("the JWS payload is not a JSON object")]
    PayloadJson,
    /// The `alg` is `none`, symmetric, unknown or not allowed.
    #[error("signature algorithm not accepted: {0}")]
    AlgorithmNotAccepted(AlgorithmRefusal),
    /// The signature does not verify.
    #[error("the JWS signature does not verify")]
    BadSignature,
    /// Signing failed (the signer reported an error, or the header could not be used).
    #[error("JWS signing failed")]
    Signing,
    /// Writing a streamed JWS (or producing its payload) failed.
    #[error("writing the JWS failed: {0}")]
    Output(String),
}

impl JoseError {
    /// The stable code of this error (see `kmid_schema::error_code`).
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "Malformed",
            Self::Base64 => "Base64",
            Self::HeaderJson => "HeaderJson",
            Self::PayloadJson => "PayloadJson",
            Self::AlgorithmNotAccepted(_) => "AlgorithmNotAccepted",
            Self::BadSignature => "BadSignature",
            Self::Signing => "Signing",
            Self::Output(_) => "Output",
        }
    }
}

/// Strict base64url without padding.
///
/// # Errors
/// [`JoseError::Base64`].
pub fn b64url_decode(text: &str) -> Result<Vec<u8>, JoseError> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_to_vec(text)
        .map_err(|_| JoseError::Base64)
}

/// Appends the base64url (no padding) decoding of `text` to `out`; on an error `out` may hold
/// part of it.
///
/// # Errors
/// [`JoseError::Base64`] for text that is not canonical unpadded base64url.
pub fn b64url_decode_append(text: &str, out: &mut Vec<u8>) -> Result<(), JoseError> {
    base64_simd::URL_SAFE_NO_PAD
        .decode_append(text, out)
        .map_err(|_| JoseError::Base64)
}

/// base64url without padding.
#[must_use]
pub fn b64url(bytes: &[u8]) -> String {
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(bytes)
}

/// Signs `payload` as a compact JWS with the header members in `header` (`alg` is set from
/// the signer, after the members given), as [`write_compact`] writes it. The signer gets the
/// signing input whole (it is in memory anyway), so nothing is hashed here.
///
/// # Errors
/// [`JoseError::Signing`].
pub fn sign_compact(
    header: Map<String, Value>,
    payload: &[u8],
    signer: &Arc<dyn Signer>,
) -> Result<String, JoseError> {
    let header = header_json(header, signer)?;
    let mut out = token_buffer(header.len().div_ceil(3).saturating_mul(4), payload.len());
    base64_simd::URL_SAFE_NO_PAD.encode_append(&header, &mut out);
    finish_compact(out, payload, signer)
}

/// A protected header written once for many tokens of one signer ([`sign_compact_prepared`]):
/// its members and `alg` as [`sign_compact`] writes them, kept base64url-encoded. A service
/// that signs every token with the same header (a Request Object's `typ` and `x5c`) spares
/// writing and encoding it each time.
#[derive(Debug, Clone)]
pub struct PreparedHeader {
    encoded: String,
    algorithm: Algorithm,
}

impl PreparedHeader {
    /// The header of `header`'s members and `alg` from `signer`.
    ///
    /// # Errors
    /// [`JoseError::Signing`] for a header with `crit` or `b64`.
    pub fn new(header: Map<String, Value>, signer: &Arc<dyn Signer>) -> Result<Self, JoseError> {
        let json = header_json(header, signer)?;
        Ok(Self {
            encoded: base64_simd::URL_SAFE_NO_PAD.encode_to_string(&json),
            algorithm: signer.algorithm(),
        })
    }
}

/// [`sign_compact`] with a header written before: the same token.
///
/// # Errors
/// [`JoseError::Signing`], also when `signer` is not of the header's `alg`.
pub fn sign_compact_prepared(
    header: &PreparedHeader,
    payload: &[u8],
    signer: &Arc<dyn Signer>,
) -> Result<String, JoseError> {
    if signer.algorithm() != header.algorithm {
        return Err(JoseError::Signing);
    }
    let mut out = token_buffer(header.encoded.len(), payload.len());
    out.push_str(&header.encoded);
    finish_compact(out, payload, signer)
}

/// A token's buffer, for a header of `header_chars` base64url characters and a payload of
/// `payload_len` bytes: both parts, the two dots and the longest signature (ES512's 132
/// bytes).
fn token_buffer(header_chars: usize, payload_len: usize) -> String {
    let encoded = |n: usize| n.div_ceil(3).saturating_mul(4);
    String::with_capacity(
        header_chars
            .saturating_add(encoded(payload_len))
            .saturating_add(2 + encoded(132)),
    )
}

/// Completes a compact JWS whose encoded header is in `out`: the signing input is written
/// once, where the token will be (no chunked encoder, no second copy, no UTF-8 check of what
/// base64 wrote), then signed whole.
fn finish_compact(
    mut out: String,
    payload: &[u8],
    signer: &Arc<dyn Signer>,
) -> Result<String, JoseError> {
    out.push('.');
    base64_simd::URL_SAFE_NO_PAD.encode_append(payload, &mut out);
    let signature = signer
        .sign(out.as_bytes())
        .map_err(|_| JoseError::Signing)?;
    out.push('.');
    base64_simd::URL_SAFE_NO_PAD.encode_append(&signature, &mut out);
    Ok(out)
}

/// The protected header's JSON: the members of `header` and `alg` from the signer; `crit`
/// and `b64` are refused (RFC 7797's unencoded payload is not written here).
fn header_json(
    mut header: Map<String, Value>,
    signer: &Arc<dyn Signer>,
) -> Result<Vec<u8>, JoseError> {
    if header.contains_key("crit") || header.contains_key("b64") {
        return Err(JoseError::Signing);
    }
    header.insert(
        "alg".into(),
        Value::String(signer.algorithm().jose_name().into()),
    );
    serde_json::to_vec(&header).map_err(|_| JoseError::Signing)
}

/// Writes a compact JWS to `out` whose payload `payload` writes in pieces: the header members
/// in `header` with `alg` set from the signer (as [`sign_compact`] and josekit make it), the
/// payload base64url-encoded as it is produced, then the signature.
///
/// With a signer that [signs prehashed digests](Signer::signs_prehashed), the signing input is
/// hashed on `provider` as it goes to `out` and never held: a Status List Token of megabytes streams to a
/// file or a socket in the memory of its compressor. Any other signer gets the signing input
/// whole, so it is buffered first. The header may not carry `crit` or `b64` (RFC 7797's
/// unencoded payload is not written here). `out` is flushed at the end.
///
/// On an error, what reached `out` is a truncated or unsigned token and must be discarded
/// (write to a temporary file and rename it on success); after the first failed write,
/// nothing more is written to `out`.
///
/// # Errors
/// [`JoseError::Output`] when `payload` or `out` fails; [`JoseError::Signing`].
pub fn write_compact(
    provider: &crate::CryptoProvider,
    header: Map<String, Value>,
    payload: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    signer: &Arc<dyn Signer>,
    out: &mut dyn Write,
) -> Result<(), JoseError> {
    let output = |e: std::io::Error| JoseError::Output(e.to_string());
    let header = header_json(header, signer)?;
    let out = &mut Fused {
        inner: out,
        failed: false,
    };
    let alg = signer.algorithm();
    let write_input = |sink: &mut dyn Write| -> std::io::Result<()> {
        sink.write_all(b64url(&header).as_bytes())?;
        sink.write_all(b".")?;
        let mut encoder = B64UrlWriter::new(sink);
        payload(&mut encoder)?;
        encoder.finish()?;
        Ok(())
    };
    let signature = match alg.prehash() {
        Some(hash) if signer.signs_prehashed() => {
            let mut sink = HashingWriter {
                inner: out,
                hasher: hash.hasher_on(provider),
            };
            write_input(&mut sink).map_err(output)?;
            let digest = sink.hasher.finish();
            signer
                .sign_prehashed(&digest)
                .map_err(|_| JoseError::Signing)?
        }
        _ => {
            let mut input = Vec::new();
            write_input(&mut input).map_err(output)?;
            let signature = signer.sign(&input).map_err(|_| JoseError::Signing)?;
            out.write_all(&input).map_err(output)?;
            signature
        }
    };
    out.write_all(b".").map_err(output)?;
    out.write_all(b64url(&signature).as_bytes())
        .map_err(output)?;
    out.flush().map_err(output)
}

/// Refuses every write after the first failed one: a compressor dropped after an error tries
/// to finish its stream, and nothing of it may reach an output that already failed.
struct Fused<'a> {
    inner: &'a mut dyn Write,
    failed: bool,
}

impl Write for Fused<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.failed {
            return Err(std::io::Error::other("the output failed earlier"));
        }
        self.inner.write(buf).inspect_err(|_| self.failed = true)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        if self.failed {
            return Err(std::io::Error::other("the output failed earlier"));
        }
        self.inner.flush().inspect_err(|_| self.failed = true)
    }
}

/// Passes bytes through to `inner`, hashing them.
struct HashingWriter<'a> {
    inner: &'a mut dyn Write,
    hasher: crate::Hasher,
}

impl Write for HashingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let written = buf.get(..n).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the output claims more bytes than it was given",
            )
        })?;
        self.hasher.update(written);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Input bytes held before they are encoded: a multiple of 3, so each chunk encodes without
/// padding in the middle of the text.
const B64_CHUNK: usize = 3 * 1024;

/// base64url without padding, as a writer: what is written to it reaches `inner` encoded, in
/// chunks of 4 KiB. Every `write` takes all of its input (it never returns a short count);
/// [`Self::finish`] encodes what is held (up to 3 KiB) and must be called: dropped
/// unfinished, the writer loses it.
#[must_use = "call finish(), or the last bytes are lost"]
pub struct B64UrlWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
    encoded: String,
}

impl<W: Write> core::fmt::Debug for B64UrlWriter<W> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("B64UrlWriter")
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl<W: Write> B64UrlWriter<W> {
    /// Encodes into `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            pending: Vec::with_capacity(B64_CHUNK),
            encoded: String::with_capacity(B64_CHUNK / 3 * 4),
        }
    }

    fn emit(&mut self) -> std::io::Result<()> {
        self.encoded.clear();
        base64_simd::URL_SAFE_NO_PAD.encode_append(&self.pending, &mut self.encoded);
        self.pending.clear();
        self.inner.write_all(self.encoded.as_bytes())
    }

    /// Encodes what is left and returns `inner`.
    ///
    /// # Errors
    /// Errors of `inner`.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.emit()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for B64UrlWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while !rest.is_empty() {
            let room = B64_CHUNK.saturating_sub(self.pending.len());
            let (now, later) = rest.split_at(room.min(rest.len()));
            self.pending.extend_from_slice(now);
            rest = later;
            if self.pending.len() == B64_CHUNK {
                self.emit()?;
            }
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The longest JWS header accepted, in base64url characters (48 KiB of JSON: a certificate
/// chain of four in `x5c` fits; the JSON tree of the worst 48 KiB is under 1 MiB).
pub const MAX_HEADER_CHARS: usize = 64 * 1024;

/// A compact JWS split into its parts, header and payload decoded, not yet verified.
#[derive(Debug, Clone)]
pub struct CompactJws<'a> {
    /// The JWS as received.
    pub text: &'a str,
    /// The decoded header.
    pub header: Map<String, Value>,
    /// The decoded payload.
    pub payload: Vec<u8>,
}

impl<'a> CompactJws<'a> {
    /// Splits and decodes. An empty signature (as `alg: none` has) parses, so that the `alg`
    /// check can refuse it by name.
    ///
    /// # Errors
    /// [`JoseError::Malformed`], [`JoseError::Base64`], [`JoseError::HeaderJson`].
    pub fn parse(text: &'a str) -> Result<Self, JoseError> {
        let mut pieces = text.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (pieces.next(), pieces.next(), pieces.next(), pieces.next())
        else {
            return Err(JoseError::Malformed("a JWS has three dot-separated parts"));
        };
        if h.is_empty() {
            return Err(JoseError::Malformed("empty header"));
        }
        // The header is read before the signature is checked: bounded, so the JSON tree it
        // becomes stays small whatever the token's size.
        if h.len() > MAX_HEADER_CHARS {
            return Err(JoseError::Malformed("header larger than 64 KiB"));
        }
        b64url_decode(s)?;
        let header: Map<String, Value> =
            serde_json::from_slice(&b64url_decode(h)?).map_err(|_| JoseError::HeaderJson)?;
        let payload = b64url_decode(p)?;
        Ok(Self {
            text,
            header,
            payload,
        })
    }

    /// The header's `alg`, which must be an asymmetric algorithm in `allowed`.
    ///
    /// # Errors
    /// [`JoseError::AlgorithmNotAccepted`].
    pub fn algorithm(&self, allowed: &[Algorithm]) -> Result<Algorithm, JoseError> {
        let name = self
            .header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(JoseError::AlgorithmNotAccepted(AlgorithmRefusal::Missing))?;
        let alg = Algorithm::from_jose_name(name).map_err(|_| {
            JoseError::AlgorithmNotAccepted(AlgorithmRefusal::UnknownJose(
                name.chars().take(32).collect(),
            ))
        })?;
        if allowed.contains(&alg) {
            Ok(alg)
        } else {
            Err(JoseError::AlgorithmNotAccepted(
                AlgorithmRefusal::NotAllowed(alg),
            ))
        }
    }

    /// The header's `typ`.
    #[must_use]
    pub fn typ(&self) -> Option<&str> {
        self.header.get("typ").and_then(Value::as_str)
    }

    /// Whether `typ` names the media type `expected` (given without `application/`): RFC 7515
    /// §4.1.9 compares media types case-insensitively and lets the `application/` prefix be
    /// left out, so `dc+sd-jwt`, `DC+SD-JWT` and `application/dc+sd-jwt` are one type.
    #[must_use]
    pub fn typ_is(&self, expected: &str) -> bool {
        self.typ().is_some_and(|typ| {
            let prefix = "application/";
            let bare = match typ.get(..prefix.len()) {
                Some(head) if head.eq_ignore_ascii_case(prefix) => {
                    typ.get(prefix.len()..).unwrap_or_default()
                }
                _ => typ,
            };
            !bare.contains('/') && bare.eq_ignore_ascii_case(expected)
        })
    }

    /// The payload as a JSON object.
    ///
    /// # Errors
    /// [`JoseError::PayloadJson`].
    pub fn payload_object(&self) -> Result<Map<String, Value>, JoseError> {
        match serde_json::from_slice::<Value>(&self.payload) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(JoseError::PayloadJson),
        }
    }

    /// Verifies the signature with `key` and `alg` through `verifier`, over the signing input
    /// as received (RFC 7515 §5.2: the header and payload parts, dot-joined). The header's
    /// `alg` must be `alg`, and a header with `crit` is refused (this profile understands no
    /// critical extension; RFC 7515 §4.1.11).
    ///
    /// # Errors
    /// [`JoseError::AlgorithmNotAccepted`] when the header names another algorithm;
    /// [`JoseError::BadSignature`].
    pub fn verify(
        &self,
        key: &PublicKey,
        alg: Algorithm,
        verifier: &dyn SignatureVerifier,
    ) -> Result<(), JoseError> {
        if key.algorithm() != alg {
            return Err(JoseError::AlgorithmNotAccepted(
                AlgorithmRefusal::KeyMismatch {
                    algorithm: alg,
                    curve: key.curve(),
                },
            ));
        }
        if self.header.get("alg").and_then(Value::as_str) != Some(alg.jose_name()) {
            return Err(JoseError::AlgorithmNotAccepted(
                AlgorithmRefusal::NotAllowed(alg),
            ));
        }
        if self.header.contains_key("crit") {
            return Err(JoseError::BadSignature);
        }
        let end = self
            .text
            .rfind('.')
            .ok_or(JoseError::Malformed("a JWS has three dot-separated parts"))?;
        let (input, signature) = self.text.split_at(end);
        let signature = b64url_decode(signature.get(1..).unwrap_or_default())?;
        verifier
            .verify(alg, key, input.as_bytes(), &signature)
            .map_err(|_| JoseError::BadSignature)
    }
}
