//! DeviceSigned (ISO/IEC 18013-5 §8.3.2.1.2.2) and device authentication (§9.1.3).
//!
//! ```cddl
//! DeviceSigned = { "nameSpaces" : DeviceNameSpacesBytes, "deviceAuth" : DeviceAuth }
//! DeviceNameSpacesBytes = #6.24(bstr .cbor DeviceNameSpaces)
//! DeviceNameSpaces = { * NameSpace => { + DataElementIdentifier => DataElementValue } }
//! DeviceAuth = { "deviceSignature" : COSE_Sign1 // "deviceMac" : COSE_Mac0 }
//! ```

use kmid_crypto::cose::{CoseMac0, CoseSign1};

use super::{Fields, decode_embedded, parse_mac0, parse_sign1, text_keyed};
use crate::cbor::{DecodeBudget, ElementValue, Encoder, Item, embedded};
use crate::error::{MdocError, malformed};

/// Element values by namespace, in order.
pub type ElementsByNamespace = Vec<(String, Vec<(String, ElementValue)>)>;

/// Device-signed items by namespace.
pub type DeviceNameSpaces = ElementsByNamespace;

/// How the device authenticated, with the COSE structure as received.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceAuth {
    /// A COSE_Sign1 with detached payload, by the device key.
    Signature {
        /// The bytes as received.
        raw: Vec<u8>,
        /// Parsed.
        sign1: CoseSign1,
    },
    /// A COSE_Mac0 with detached payload, under EMacKey.
    Mac {
        /// The bytes as received.
        raw: Vec<u8>,
        /// Parsed.
        mac0: CoseMac0,
    },
}

/// The device-signed half of a Document.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceSigned {
    /// The `#6.24(bstr)` of DeviceNameSpaces, as received: DeviceAuthentication covers it.
    name_spaces_bytes: Vec<u8>,
    /// The decoded device-signed items.
    pub name_spaces: DeviceNameSpaces,
    /// The device authentication.
    pub device_auth: DeviceAuth,
}

impl DeviceSigned {
    /// Builds DeviceSigned from device-signed items and their authentication.
    #[must_use]
    pub fn new(name_spaces: DeviceNameSpaces, device_auth: DeviceAuth) -> Self {
        Self {
            name_spaces_bytes: embedded(&encode_name_spaces(&name_spaces)),
            name_spaces,
            device_auth,
        }
    }

    /// `DeviceNameSpacesBytes`, the whole tag-24 encoding.
    #[must_use]
    pub fn name_spaces_bytes(&self) -> &[u8] {
        &self.name_spaces_bytes
    }

    pub(crate) fn from_item(
        item: &Item<'_>,
        path: &str,
        limits: &DecodeBudget,
    ) -> Result<Self, MdocError> {
        let f = Fields::new(item, path)?;
        let nsb = f.embedded("nameSpaces")?;
        let ns_path = f.path("nameSpaces");
        let decoded = decode_embedded(nsb, &ns_path, limits)?;
        let mut name_spaces = Vec::new();
        for (ns, elements) in text_keyed(&decoded, &ns_path)? {
            let el_path = format!("{ns_path}.{ns}");
            let elements = text_keyed(elements, &el_path)?
                .into_iter()
                .map(|(id, v)| {
                    Ok((
                        id.to_owned(),
                        ElementValue::from_item(v, &format!("{el_path}.{id}"))?,
                    ))
                })
                .collect::<Result<Vec<_>, MdocError>>()?;
            name_spaces.push((ns.to_owned(), elements));
        }
        let auth = Fields::new(f.req("deviceAuth")?, &f.path("deviceAuth"))?;
        let device_auth = match (auth.opt("deviceSignature"), auth.opt("deviceMac")) {
            (Some(sig), None) => DeviceAuth::Signature {
                raw: sig.raw.to_vec(),
                sign1: parse_sign1(sig, &auth.path("deviceSignature"))?,
            },
            (None, Some(mac)) => DeviceAuth::Mac {
                raw: mac.raw.to_vec(),
                mac0: parse_mac0(mac, &auth.path("deviceMac"))?,
            },
            _ => {
                return Err(malformed(
                    f.path("deviceAuth"),
                    "exactly one of deviceSignature and deviceMac",
                ));
            }
        };
        Ok(Self {
            name_spaces_bytes: nsb.raw.to_vec(),
            name_spaces,
            device_auth,
        })
    }

    pub(crate) fn encode(&self, e: &mut Encoder) {
        e.map(2);
        e.text("nameSpaces").raw(&self.name_spaces_bytes);
        e.text("deviceAuth").map(1);
        match &self.device_auth {
            DeviceAuth::Signature { raw, .. } => e.text("deviceSignature").raw(raw),
            DeviceAuth::Mac { raw, .. } => e.text("deviceMac").raw(raw),
        };
    }
}

/// Encodes DeviceNameSpaces (the content of DeviceNameSpacesBytes).
pub(crate) fn encode_name_spaces(name_spaces: &DeviceNameSpaces) -> Vec<u8> {
    let mut e = Encoder::new();
    e.map(name_spaces.len());
    for (ns, elements) in name_spaces {
        e.text(ns).map(elements.len());
        for (id, v) in elements {
            e.text(id);
            v.encode(&mut e);
        }
    }
    e.finish()
}
