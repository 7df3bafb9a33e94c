//! ISO/IEC 18013-7 Annex C: mdoc over the Digital Credentials API (`org-iso-mdoc`). The
//! request `data` is `{"deviceRequest": b64url(DeviceRequest), "encryptionInfo":
//! b64url(EncryptionInfo)}`; the response `data` is `{"response": b64url(EncryptedResponse)}`,
//! the DeviceResponse sealed with HPKE (RFC 9180 base mode, DHKEM(P-256, HKDF-SHA256),
//! HKDF-SHA256, AES-128-GCM; `info` the SessionTranscript, no `aad`) to the verifier's key, and
//! the SessionTranscript is `[null, null, ["dcapi", SHA-256(CBOR([encryptionInfo, origin]))]]`
//! with `encryptionInfo` exactly the base64url string sent.
//!
//! ```cddl
//! EncryptionInfo = [ "dcapi", { "nonce": bstr, "recipientPublicKey": COSE_Key } ]
//! EncryptedResponse = [ "dcapi", { "enc": bstr, "cipherText": bstr } ]
//! ```

use kmid_crypto::{CryptoProvider, PrivateKey, PublicKey, Random};
use zeroize::Zeroizing;

use crate::cbor::{CborLimits, Encoder};
use crate::error::{MdocError, malformed};
use crate::model::{Handover, SessionTranscript};

/// The DC API exchange protocol of Annex C.
pub const PROTOCOL: &str = "org-iso-mdoc";
/// The smallest nonce a verifier sends (16 bytes).
pub const MIN_NONCE_BYTES: usize = 16;

/// The verifier's EncryptionInfo: a fresh nonce and the key the response is sealed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionInfo {
    /// `nonce`.
    pub nonce: Vec<u8>,
    /// `recipientPublicKey`: a P-256 key.
    pub recipient: PublicKey,
}

impl EncryptionInfo {
    /// The CBOR encoding.
    ///
    /// # Errors
    /// A key without a COSE_Key form.
    pub fn to_bytes(&self) -> Result<Vec<u8>, MdocError> {
        let key = self.recipient.to_cose_key_bytes()?;
        let mut e = Encoder::new();
        e.array(2).text("dcapi").map(2);
        e.text("nonce").bytes(&self.nonce);
        e.text("recipientPublicKey").raw(&key);
        Ok(e.finish())
    }

    /// Reads an EncryptionInfo: `"dcapi"`, a nonce of at least 16 bytes, a P-256 COSE_Key
    /// (on the curve).
    ///
    /// # Errors
    /// [`MdocError::Malformed`], [`MdocError::Cbor`].
    pub fn from_bytes(bytes: &[u8], limits: &CborLimits) -> Result<Self, MdocError> {
        let item = crate::cbor::decode(bytes, limits)?;
        let (tag, map) = match item.as_array() {
            Some([tag, map]) => (tag, map),
            _ => return Err(malformed("EncryptionInfo", "[\"dcapi\", map]")),
        };
        if tag.as_text() != Some("dcapi") {
            return Err(malformed("EncryptionInfo[0]", "\"dcapi\""));
        }
        let nonce = map
            .get("nonce")
            .and_then(|n| n.as_bytes())
            .filter(|n| n.len() >= MIN_NONCE_BYTES)
            .ok_or_else(|| malformed("EncryptionInfo.nonce", "a bstr of at least 16 bytes"))?;
        let key = map
            .get("recipientPublicKey")
            .ok_or_else(|| malformed("EncryptionInfo.recipientPublicKey", "a COSE_Key"))?;
        let recipient = PublicKey::from_cose_key_bytes(key.raw)
            .ok()
            .filter(|k| k.curve() == kmid_crypto::Curve::P256)
            .ok_or_else(|| malformed("EncryptionInfo.recipientPublicKey", "a P-256 COSE_Key"))?;
        Ok(Self {
            nonce: nonce.to_vec(),
            recipient,
        })
    }
}

/// The wallet's sealed DeviceResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedResponse {
    /// `enc`: the HPKE encapsulated key (an uncompressed P-256 point).
    pub enc: Vec<u8>,
    /// `cipherText`.
    pub cipher_text: Vec<u8>,
}

impl EncryptedResponse {
    /// The CBOR encoding.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.array(2).text("dcapi").map(2);
        e.text("enc").bytes(&self.enc);
        e.text("cipherText").bytes(&self.cipher_text);
        e.finish()
    }

    /// Reads an EncryptedResponse.
    ///
    /// # Errors
    /// [`MdocError::Malformed`], [`MdocError::Cbor`].
    pub fn from_bytes(bytes: &[u8], limits: &CborLimits) -> Result<Self, MdocError> {
        let item = crate::cbor::decode(bytes, limits)?;
        let (tag, map) = match item.as_array() {
            Some([tag, map]) => (tag, map),
            _ => return Err(malformed("EncryptedResponse", "[\"dcapi\", map]")),
        };
        if tag.as_text() != Some("dcapi") {
            return Err(malformed("EncryptedResponse[0]", "\"dcapi\""));
        }
        let field = |k: &'static str| {
            map.get(k)
                .and_then(|v| v.as_bytes())
                .map(<[u8]>::to_vec)
                .ok_or_else(|| malformed(format!("EncryptedResponse.{k}"), "a bstr"))
        };
        Ok(Self {
            enc: field("enc")?,
            cipher_text: field("cipherText")?,
        })
    }
}

/// The Annex C SessionTranscript for `encryption_info` (the base64url string exactly as sent)
/// and the Origin.
///
/// # Errors
/// Encoding failures.
pub fn transcript(
    provider: &CryptoProvider,
    encryption_info: &str,
    origin: &str,
) -> Result<SessionTranscript, MdocError> {
    SessionTranscript::new_on(
        provider,
        None,
        None,
        &Handover::DcApi {
            encryption_info: encryption_info.to_owned(),
            origin: origin.to_owned(),
        },
    )
}

/// Seals a DeviceResponse to the verifier's key, `info` the SessionTranscript.
///
/// # Errors
/// HPKE failures.
pub fn seal_response(
    provider: &CryptoProvider,
    random: &dyn Random,
    recipient: &PublicKey,
    transcript: &SessionTranscript,
    device_response: &[u8],
) -> Result<EncryptedResponse, MdocError> {
    let sealed = kmid_crypto::hpke::seal(
        provider,
        random,
        recipient,
        transcript.bytes(),
        b"",
        device_response,
    )?;
    Ok(EncryptedResponse {
        enc: sealed.enc,
        cipher_text: sealed.ciphertext,
    })
}

/// Opens a sealed DeviceResponse with the verifier's key.
///
/// # Errors
/// [`MdocError::Crypto`]: another key or transcript, an altered ciphertext, an `enc` off the
/// curve.
pub fn open_response(
    provider: &CryptoProvider,
    key: &PrivateKey,
    transcript: &SessionTranscript,
    response: &EncryptedResponse,
) -> Result<Zeroizing<Vec<u8>>, MdocError> {
    Ok(kmid_crypto::hpke::open(
        provider,
        key,
        &response.enc,
        transcript.bytes(),
        b"",
        &response.cipher_text,
    )?)
}
