//! SessionTranscript (ISO/IEC 18013-5 §9.1.5.1) and its handovers: QR, NFC, ISO/IEC 18013-7
//! Annex B, and OpenID4VP 1.0 (redirects and the Digital Credentials API).
//!
//! ```cddl
//! SessionTranscript = [ DeviceEngagementBytes / null, EReaderKeyBytes / null, Handover ]
//! QRHandover = null
//! NFCHandover = [ HandoverSelect : bstr, HandoverRequest : bstr / null ]
//! OpenID4VPHandover = [ "OpenID4VPHandover", bstr ]       ; SHA-256 of OpenID4VPHandoverInfo
//! OpenID4VPHandoverInfo = [ clientId, nonce, jwkThumbprint / null, responseUri ]
//! OpenID4VPDCAPIHandover = [ "OpenID4VPDCAPIHandover", bstr ]
//! OpenID4VPDCAPIHandoverInfo = [ origin, nonce, jwkThumbprint / null ]
//! dcapiHandover = [ "dcapi", bstr ]    ; ISO/IEC 18013-7 Annex C: SHA-256 of dcapiInfo
//! dcapiInfo = [ encryptionInfo (base64url, as sent), origin ]
//! ```

use kmid_crypto::{CryptoProvider, PublicKey};

use super::engagement::DeviceEngagement;
use crate::cbor::{CborLimits, Encoder, embedded};
use crate::error::{MdocError, malformed};

/// How the session was set up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Handover {
    /// QR engagement: `null`.
    Qr,
    /// NFC negotiated handover.
    Nfc {
        /// The Handover Select message.
        handover_select: Vec<u8>,
        /// The Handover Request message, for negotiated handover.
        handover_request: Option<Vec<u8>>,
    },
    /// OpenID4VP 1.0 invoked by redirects.
    OpenId4Vp {
        /// `client_id`, with its prefix.
        client_id: String,
        /// `nonce`.
        nonce: String,
        /// SHA-256 JWK thumbprint of the verifier's encryption key, for encrypted responses.
        jwk_thumbprint: Option<Vec<u8>>,
        /// `response_uri` or `redirect_uri`.
        response_uri: String,
    },
    /// OpenID4VP 1.0 over the Digital Credentials API.
    OpenId4VpDcApi {
        /// The request's origin, without `origin:`.
        origin: String,
        /// `nonce`.
        nonce: String,
        /// SHA-256 JWK thumbprint of the verifier's encryption key, for `dc_api.jwt`.
        jwk_thumbprint: Option<Vec<u8>>,
    },
    /// ISO/IEC 18013-7 Annex C (`org-iso-mdoc` over the Digital Credentials API):
    /// `["dcapi", SHA-256(CBOR([encryptionInfo, origin]))]`.
    DcApi {
        /// The request's `encryptionInfo`, exactly the base64url string sent.
        encryption_info: String,
        /// The Origin the platform reports.
        origin: String,
    },
    /// ISO/IEC 18013-7 Annex B (OpenID4VP before 1.0): `[clientIdHash, responseUriHash, nonce]`.
    Iso18013_7AnnexB {
        /// `client_id`.
        client_id: String,
        /// `response_uri`.
        response_uri: String,
        /// `nonce`.
        nonce: String,
        /// The mdoc-generated nonce.
        mdoc_generated_nonce: String,
    },
}

fn thumbprint(e: &mut Encoder, t: Option<&Vec<u8>>) {
    match t {
        Some(t) => e.bytes(t),
        None => e.null(),
    };
}

impl Handover {
    /// The OpenID4VPHandoverInfo or OpenID4VPDCAPIHandoverInfo bytes, for the OpenID4VP kinds.
    #[must_use]
    pub fn info_bytes(&self) -> Option<Vec<u8>> {
        let mut e = Encoder::new();
        match self {
            Self::OpenId4Vp {
                client_id,
                nonce,
                jwk_thumbprint,
                response_uri,
            } => {
                e.array(4).text(client_id).text(nonce);
                thumbprint(&mut e, jwk_thumbprint.as_ref());
                e.text(response_uri);
            }
            Self::OpenId4VpDcApi {
                origin,
                nonce,
                jwk_thumbprint,
            } => {
                e.array(3).text(origin).text(nonce);
                thumbprint(&mut e, jwk_thumbprint.as_ref());
            }
            _ => return None,
        }
        Some(e.finish())
    }

    fn encode(&self, provider: &CryptoProvider, e: &mut Encoder) -> Result<(), MdocError> {
        let sha =
            |bytes: &[u8]| -> Result<Vec<u8>, MdocError> { Ok(provider.sha256(bytes)?.to_vec()) };
        match self {
            Self::Qr => {
                e.null();
            }
            Self::Nfc {
                handover_select,
                handover_request,
            } => {
                e.array(2).bytes(handover_select);
                match handover_request {
                    Some(r) => e.bytes(r),
                    None => e.null(),
                };
            }
            Self::OpenId4VpDcApi { origin, .. } if origin.starts_with("origin:") => {
                return Err(MdocError::InvalidInput(
                    "the DC API origin is written without the origin: prefix",
                ));
            }
            Self::OpenId4Vp { .. } | Self::OpenId4VpDcApi { .. } => {
                let name = if matches!(self, Self::OpenId4Vp { .. }) {
                    "OpenID4VPHandover"
                } else {
                    "OpenID4VPDCAPIHandover"
                };
                let info = self.info_bytes().unwrap_or_default();
                e.array(2).text(name).bytes(&sha(&info)?);
            }
            Self::DcApi {
                encryption_info,
                origin,
            } => {
                let mut info = Encoder::new();
                info.array(2).text(encryption_info).text(origin);
                e.array(2).text("dcapi").bytes(&sha(info.as_bytes())?);
            }
            Self::Iso18013_7AnnexB {
                client_id,
                response_uri,
                nonce,
                mdoc_generated_nonce,
            } => {
                let hash_pair = |a: &str| -> Result<Vec<u8>, MdocError> {
                    let mut p = Encoder::new();
                    p.array(2).text(a).text(mdoc_generated_nonce);
                    sha(p.as_bytes())
                };
                e.array(3)
                    .bytes(&hash_pair(client_id)?)
                    .bytes(&hash_pair(response_uri)?)
                    .text(nonce);
            }
        }
        Ok(())
    }
}

/// A SessionTranscript, kept as its encoded array: DeviceAuthentication embeds the array,
/// and the session key derivation hashes `#6.24` around it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTranscript {
    bytes: Vec<u8>,
}

impl SessionTranscript {
    /// Builds the transcript. Proximity flows give the DeviceEngagement and the reader's
    /// ephemeral key; OpenID4VP flows give neither (both `null`). The OpenID4VP handovers hash
    /// on the default provider ([`Self::new_on`] takes one).
    ///
    /// # Errors
    /// Only encoding failures of the reader key.
    pub fn new(
        device_engagement: Option<&DeviceEngagement>,
        e_reader_key: Option<&PublicKey>,
        handover: &Handover,
    ) -> Result<Self, MdocError> {
        Self::new_on(
            CryptoProvider::get_default(),
            device_engagement,
            e_reader_key,
            handover,
        )
    }

    /// [`Self::new`], hashing the handover on `provider`.
    ///
    /// # Errors
    /// Only encoding failures of the reader key.
    pub fn new_on(
        provider: &CryptoProvider,
        device_engagement: Option<&DeviceEngagement>,
        e_reader_key: Option<&PublicKey>,
        handover: &Handover,
    ) -> Result<Self, MdocError> {
        let key_bytes = e_reader_key.map(PublicKey::to_cose_key_bytes).transpose()?;
        Self::with_reader_key_bytes_on(provider, device_engagement, key_bytes.as_deref(), handover)
    }

    /// Builds the transcript with the reader's ephemeral COSE_Key exactly as received in
    /// SessionEstablishment (the mdoc's side of a session), on the default provider.
    ///
    /// # Errors
    /// Only encoding failures.
    pub fn with_reader_key_bytes(
        device_engagement: Option<&DeviceEngagement>,
        e_reader_key: Option<&[u8]>,
        handover: &Handover,
    ) -> Result<Self, MdocError> {
        Self::with_reader_key_bytes_on(
            CryptoProvider::get_default(),
            device_engagement,
            e_reader_key,
            handover,
        )
    }

    /// [`Self::with_reader_key_bytes`], hashing the handover on `provider`.
    ///
    /// # Errors
    /// Only encoding failures.
    pub fn with_reader_key_bytes_on(
        provider: &CryptoProvider,
        device_engagement: Option<&DeviceEngagement>,
        e_reader_key: Option<&[u8]>,
        handover: &Handover,
    ) -> Result<Self, MdocError> {
        let mut e = Encoder::with_capacity(256);
        e.array(3);
        match device_engagement {
            Some(de) => e.embedded(de.raw()),
            None => e.null(),
        };
        match e_reader_key {
            Some(k) => e.embedded(k),
            None => e.null(),
        };
        handover.encode(provider, &mut e)?;
        Ok(Self { bytes: e.finish() })
    }

    /// A transcript from `SessionTranscriptBytes` (`#6.24(bstr .cbor SessionTranscript)`), as
    /// both sides of a session hold it.
    ///
    /// # Errors
    /// [`MdocError::Cbor`] or [`MdocError::Malformed`] when it is not a tag-24 three-element array.
    pub fn from_tagged_bytes(bytes: &[u8], limits: &CborLimits) -> Result<Self, MdocError> {
        let item = crate::cbor::decode(bytes, limits)?;
        let inner = item
            .as_embedded_cbor()
            .ok_or_else(|| malformed("SessionTranscriptBytes", "#6.24(bstr)"))?;
        let array = crate::cbor::decode(inner, limits)?;
        match array.as_array() {
            Some(parts) if parts.len() == 3 => Ok(Self {
                bytes: inner.to_vec(),
            }),
            _ => Err(malformed("SessionTranscript", "an array of three elements")),
        }
    }

    /// The encoded SessionTranscript array.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `SessionTranscriptBytes`: `#6.24` around the array, the input of the HKDF salt.
    #[must_use]
    pub fn tagged_bytes(&self) -> Vec<u8> {
        embedded(&self.bytes)
    }
}
