//! DeviceEngagement (ISO/IEC 18013-5 §8.2.1.1) and its QR form (§8.2.2.3).
//!
//! ```cddl
//! DeviceEngagement = { 0 : tstr, 1 : Security, ? 2 : DeviceRetrievalMethods,
//!                      ? 3 : ServerRetrievalMethods, ? 4 : ProtocolInfo, * int => any }
//! Security = [ 1, EDeviceKeyBytes ]  ; cipher suite 1
//! EDeviceKeyBytes = #6.24(bstr .cbor COSE_Key)
//! DeviceRetrievalMethod = [ type : uint, version : uint, RetrievalOptions ]
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kmid_crypto::PublicKey;

use super::{Fields, array, decode_embedded};
use crate::cbor::{CborLimits, DecodeBudget, ElementValue, Encoder, Item, Kind, embedded};
use crate::error::{MdocError, SessionError, malformed};

/// The QR code prefix of a DeviceEngagement.
pub const QR_PREFIX: &str = "mdoc:";

/// A device retrieval method: NFC (1), BLE (2), Wi-Fi Aware (3), with its options.
#[derive(Debug, Clone, PartialEq)]
pub struct RetrievalMethod {
    /// Transfer method type.
    pub method_type: u64,
    /// Its version.
    pub version: u64,
    /// RetrievalOptions, as received.
    pub options: ElementValue,
}

/// The mdoc's engagement: its ephemeral key and how to reach it, with the bytes it was
/// received as (SessionTranscript embeds them).
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceEngagement {
    raw: Vec<u8>,
    /// `"1.0"` or `"1.1"`.
    pub version: String,
    /// The mdoc's ephemeral key, EDeviceKey.
    pub e_device_key: PublicKey,
    /// Device retrieval methods.
    pub retrieval_methods: Vec<RetrievalMethod>,
}

impl DeviceEngagement {
    /// An engagement for `e_device_key` with the given retrieval methods.
    ///
    /// # Errors
    /// Only a failure to encode the key.
    pub fn new(
        e_device_key: PublicKey,
        retrieval_methods: Vec<RetrievalMethod>,
    ) -> Result<Self, MdocError> {
        let mut e = Encoder::with_capacity(128);
        e.map(2 + usize::from(!retrieval_methods.is_empty()));
        e.uint(0).text("1.0");
        e.uint(1)
            .array(2)
            .uint(1)
            .raw(&embedded(&e_device_key.to_cose_key_bytes()?));
        if !retrieval_methods.is_empty() {
            e.uint(2).array(retrieval_methods.len());
            for m in &retrieval_methods {
                e.array(3).uint(m.method_type).uint(m.version);
                m.options.encode(&mut e);
            }
        }
        Ok(Self {
            raw: e.finish(),
            version: "1.0".into(),
            e_device_key,
            retrieval_methods,
        })
    }

    /// The DeviceEngagement bytes.
    #[must_use]
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Decodes a DeviceEngagement (untrusted input).
    ///
    /// # Errors
    /// [`MdocError::Cbor`], [`MdocError::Malformed`], [`MdocError::UnsupportedVersion`], or
    /// [`SessionError::CipherSuite`] for a cipher suite other than 1.
    pub fn from_bytes(bytes: &[u8], limits: &CborLimits) -> Result<Self, MdocError> {
        let limits = &DecodeBudget::new(*limits);
        let item = crate::cbor::decode_with(bytes, limits)?;
        let path = "DeviceEngagement";
        Fields::new(&item, path)?;
        let version = item
            .get_int(0)
            .and_then(Item::as_text)
            .ok_or_else(|| malformed(format!("{path}.0"), "a version"))?;
        if !version.starts_with("1.") {
            return Err(MdocError::UnsupportedVersion {
                what: "DeviceEngagement",
                version: version.to_owned(),
            });
        }
        let security = item
            .get_int(1)
            .ok_or_else(|| malformed(format!("{path}.1"), "Security"))?;
        let [suite, key_bytes] = array(security, &format!("{path}.1"))? else {
            return Err(malformed(
                format!("{path}.1"),
                "[cipher suite, EDeviceKeyBytes]",
            ));
        };
        let suite = suite
            .as_i64()
            .ok_or_else(|| malformed(format!("{path}.1[0]"), "an integer"))?;
        if suite != 1 {
            return Err(MdocError::Session(SessionError::CipherSuite(suite)));
        }
        let key_item = decode_embedded(key_bytes, &format!("{path}.1[1]"), limits)?;
        let e_device_key = PublicKey::from_cose_key_bytes(key_item.raw)
            .map_err(|_| malformed(format!("{path}.1[1]"), "a COSE_Key of a supported curve"))?;
        let retrieval_methods = match item.get_int(2) {
            None => Vec::new(),
            Some(methods) => array(methods, &format!("{path}.2"))?
                .iter()
                .map(|m| match &m.kind {
                    Kind::Array(parts) => match parts.as_slice() {
                        [t, v, options] => Ok(RetrievalMethod {
                            method_type: t
                                .as_uint()
                                .ok_or_else(|| malformed(format!("{path}.2"), "a uint type"))?,
                            version: v
                                .as_uint()
                                .ok_or_else(|| malformed(format!("{path}.2"), "a uint version"))?,
                            options: ElementValue::from_item(options, &format!("{path}.2"))?,
                        }),
                        _ => Err(malformed(format!("{path}.2"), "[type, version, options]")),
                    },
                    _ => Err(malformed(format!("{path}.2"), "[type, version, options]")),
                })
                .collect::<Result<Vec<_>, MdocError>>()?,
        };
        Ok(Self {
            raw: bytes.to_vec(),
            version: version.to_owned(),
            e_device_key,
            retrieval_methods,
        })
    }

    /// The QR code content: `mdoc:` and the base64url (no padding) of the bytes.
    #[must_use]
    pub fn to_qr_uri(&self) -> String {
        format!("{QR_PREFIX}{}", URL_SAFE_NO_PAD.encode(&self.raw))
    }

    /// Reads a QR code's content.
    ///
    /// # Errors
    /// [`MdocError::Malformed`] without the prefix or with bad base64url; otherwise as
    /// [`Self::from_bytes`].
    pub fn from_qr_uri(uri: &str, limits: &CborLimits) -> Result<Self, MdocError> {
        let data = uri
            .strip_prefix(QR_PREFIX)
            .ok_or_else(|| malformed("DeviceEngagement QR", "the mdoc: prefix"))?;
        if data.len() > limits.max_input_bytes.saturating_mul(4) / 3 + 4 {
            return Err(MdocError::Limit {
                what: "DeviceEngagement QR",
                max: limits.max_input_bytes,
                actual: data.len(),
            });
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(data)
            .map_err(|_| malformed("DeviceEngagement QR", "base64url without padding"))?;
        Self::from_bytes(&bytes, limits)
    }
}
