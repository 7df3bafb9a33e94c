//! The structures device and reader authentication sign (ISO/IEC 18013-5 §9.1.3.4, §9.1.4),
//! and the EMacKey derivation (§9.1.3.5).
//!
//! ```cddl
//! DeviceAuthentication = [ "DeviceAuthentication", SessionTranscript, DocType,
//!                          DeviceNameSpacesBytes ]
//! ReaderAuthentication = [ "ReaderAuthentication", SessionTranscript, ItemsRequestBytes ]
//! ```
//! Each is signed as `#6.24(bstr .cbor …)`. The SessionTranscript goes in as the array itself,
//! DeviceNameSpacesBytes and ItemsRequestBytes as their tag-24 encodings, byte for byte.

use kmid_crypto::{CryptoProvider, PrivateKey, PublicKey};
use zeroize::Zeroizing;

use crate::cbor::{Encoder, embedded};
use crate::error::MdocError;
use crate::model::SessionTranscript;

/// DeviceAuthenticationBytes.
#[must_use]
pub fn device_authentication_bytes(
    transcript: &SessionTranscript,
    doc_type: &str,
    device_name_spaces_bytes: &[u8],
) -> Vec<u8> {
    let mut e = Encoder::with_capacity(
        transcript
            .bytes()
            .len()
            .saturating_add(device_name_spaces_bytes.len())
            .saturating_add(64),
    );
    e.array(4)
        .text("DeviceAuthentication")
        .raw(transcript.bytes())
        .text(doc_type)
        .raw(device_name_spaces_bytes);
    embedded(e.as_bytes())
}

/// ReaderAuthenticationBytes.
#[must_use]
pub fn reader_authentication_bytes(
    transcript: &SessionTranscript,
    items_request_bytes: &[u8],
) -> Vec<u8> {
    let mut e = Encoder::with_capacity(
        transcript
            .bytes()
            .len()
            .saturating_add(items_request_bytes.len())
            .saturating_add(32),
    );
    e.array(3)
        .text("ReaderAuthentication")
        .raw(transcript.bytes())
        .raw(items_request_bytes);
    embedded(e.as_bytes())
}

/// EMacKey = HKDF-SHA-256(ECDH(one side's private key, the other's public key),
/// salt = SHA-256(SessionTranscriptBytes), info = "EMacKey"): the mdoc uses its device key and
/// the reader's ephemeral key, the reader its ephemeral key and the MSO's device key.
///
/// # Errors
/// Keys on different curves, or backend failures.
pub fn emac_key(
    provider: &CryptoProvider,
    private: &PrivateKey,
    peer: &PublicKey,
    transcript: &SessionTranscript,
) -> Result<Zeroizing<[u8; 32]>, MdocError> {
    let z = provider.ecdh(private, peer)?;
    let salt = provider.sha256(&transcript.tagged_bytes())?;
    Ok(provider.hkdf_sha256_key(&z, &salt, b"EMacKey")?)
}
