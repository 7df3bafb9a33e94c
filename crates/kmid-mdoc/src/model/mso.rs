//! The MobileSecurityObject (ISO/IEC 18013-5 §9.1.2.4), with the Token Status List reference
//! (draft-ietf-oauth-status-list §6.3).
//!
//! ```cddl
//! MobileSecurityObject = {
//!   "version" : tstr, "digestAlgorithm" : tstr, "valueDigests" : ValueDigests,
//!   "deviceKeyInfo" : DeviceKeyInfo, "docType" : tstr, "validityInfo" : ValidityInfo,
//!   ? "status" : { "status_list" : { "idx" : uint, "uri" : tstr } }
//! }
//! ValueDigests = { + NameSpace => { + DigestID => Digest } }
//! DeviceKeyInfo = { "deviceKey" : COSE_Key, ? "keyAuthorizations" : KeyAuthorizations,
//!                   ? "keyInfo" : { * int => any } }
//! KeyAuthorizations = { ? "nameSpaces" : [+ NameSpace],
//!                       ? "dataElements" : { + NameSpace => [+ DataElementIdentifier] } }
//! ValidityInfo = { "signed" : tdate, "validFrom" : tdate, "validUntil" : tdate,
//!                  ? "expectedUpdate" : tdate }
//! ```

use kmid_crypto::{HashAlgorithm, PublicKey};
use kmid_schema::status::StatusReference;
use time::OffsetDateTime;

use super::{Fields, array, format_tdate, parse_tdate, text_keyed};
use crate::cbor::{ElementValue, Encoder, Item};
use crate::error::{MdocError, malformed};

/// Digests by namespace, then by digestID.
pub type ValueDigests = Vec<(String, Vec<(u64, Vec<u8>)>)>;

/// The validity window of an MSO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidityInfo {
    /// When the MSO was signed.
    pub signed: OffsetDateTime,
    /// Valid from.
    pub valid_from: OffsetDateTime,
    /// Valid until.
    pub valid_until: OffsetDateTime,
    /// When the issuer expects to update the MSO, if it says.
    pub expected_update: Option<OffsetDateTime>,
}

/// Which data elements the device key may sign (§9.1.2.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KeyAuthorizations {
    /// Whole namespaces the device may sign.
    pub name_spaces: Vec<String>,
    /// Single elements, by namespace.
    pub data_elements: Vec<(String, Vec<String>)>,
}

impl KeyAuthorizations {
    /// Whether `namespace`/`element` may be device-signed.
    #[must_use]
    pub fn allows(&self, namespace: &str, element: &str) -> bool {
        self.name_spaces.iter().any(|n| n == namespace)
            || self
                .data_elements
                .iter()
                .any(|(n, els)| n == namespace && els.iter().any(|e| e == element))
    }
}

/// The holder's device key and what it may sign.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceKeyInfo {
    /// The device key.
    pub device_key: PublicKey,
    /// Key authorizations, if any (none: the device may sign nothing).
    pub key_authorizations: Option<KeyAuthorizations>,
    /// keyInfo, as received.
    pub key_info: Option<ElementValue>,
}

/// The Mobile Security Object.
#[derive(Debug, Clone, PartialEq)]
pub struct MobileSecurityObject {
    /// `"1.0"`.
    pub version: String,
    /// The digest algorithm.
    pub digest_algorithm: HashAlgorithm,
    /// Digests by namespace and digestID, in the order received.
    pub value_digests: ValueDigests,
    /// The device key.
    pub device_key_info: DeviceKeyInfo,
    /// The document type.
    pub doc_type: String,
    /// The validity window.
    pub validity_info: ValidityInfo,
    /// The status list entry, if the issuer keeps one.
    pub status: Option<StatusReference>,
}

/// Parses `"SHA-256"`, `"SHA-384"`, `"SHA-512"`.
pub(crate) fn digest_algorithm(name: &str) -> Option<HashAlgorithm> {
    [
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ]
    .into_iter()
    .find(|h| h.mdoc_name() == name)
}

impl MobileSecurityObject {
    /// The digest of `namespace`/`digest_id`, if the MSO has one.
    #[must_use]
    pub fn digest(&self, namespace: &str, digest_id: u64) -> Option<&[u8]> {
        self.value_digests
            .iter()
            .find(|(ns, _)| ns == namespace)
            .and_then(|(_, ds)| ds.iter().find(|(id, _)| *id == digest_id))
            .map(|(_, d)| d.as_slice())
    }

    pub(crate) fn from_item(item: &Item<'_>, path: &str) -> Result<Self, MdocError> {
        let f = Fields::new(item, path)?;
        let version = f.text("version")?;
        if version != "1.0" && version != "1.1" {
            return Err(MdocError::UnsupportedVersion {
                what: "MobileSecurityObject",
                version: version.to_owned(),
            });
        }
        let alg_name = f.text("digestAlgorithm")?;
        let digest_algorithm = digest_algorithm(alg_name).ok_or_else(|| {
            MdocError::UnsupportedDigestAlgorithm(alg_name.chars().take(32).collect())
        })?;
        let vd_path = f.path("valueDigests");
        let mut value_digests = Vec::new();
        for (ns, digests) in text_keyed(f.req("valueDigests")?, &vd_path)? {
            let entries = digests
                .as_map()
                .ok_or_else(|| malformed(format!("{vd_path}.{ns}"), "a map"))?;
            if entries.is_empty() {
                return Err(malformed(format!("{vd_path}.{ns}"), "at least one digest"));
            }
            let mut ids = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let id = k
                    .as_uint()
                    .ok_or_else(|| malformed(format!("{vd_path}.{ns}"), "uint digestIDs"))?;
                let digest = v
                    .as_bytes()
                    .filter(|d| d.len() == digest_algorithm.output_len())
                    .ok_or_else(|| {
                        malformed(
                            format!("{vd_path}.{ns}.{id}"),
                            "a digest of the algorithm's length",
                        )
                    })?;
                ids.push((id, digest.to_vec()));
            }
            value_digests.push((ns.to_owned(), ids));
        }
        let dki = Fields::new(f.req("deviceKeyInfo")?, &f.path("deviceKeyInfo"))?;
        let device_key = PublicKey::from_cose_key_bytes(dki.req("deviceKey")?.raw)
            .map_err(|_| malformed(dki.path("deviceKey"), "a COSE_Key of a supported curve"))?;
        let key_authorizations = dki
            .opt("keyAuthorizations")
            .map(|ka| key_authorizations(ka, &dki.path("keyAuthorizations")))
            .transpose()?;
        let key_info = dki
            .opt("keyInfo")
            .map(|ki| ElementValue::from_item(ki, &dki.path("keyInfo")))
            .transpose()?;
        let vi = Fields::new(f.req("validityInfo")?, &f.path("validityInfo"))?;
        let validity_info = ValidityInfo {
            signed: parse_tdate(vi.req("signed")?, &vi.path("signed"))?,
            valid_from: parse_tdate(vi.req("validFrom")?, &vi.path("validFrom"))?,
            valid_until: parse_tdate(vi.req("validUntil")?, &vi.path("validUntil"))?,
            expected_update: vi
                .opt("expectedUpdate")
                .map(|t| parse_tdate(t, &vi.path("expectedUpdate")))
                .transpose()?,
        };
        let status = f
            .opt("status")
            .map(|s| status_reference(s, &f.path("status")))
            .transpose()?
            .flatten();
        Ok(Self {
            version: version.to_owned(),
            digest_algorithm,
            value_digests,
            device_key_info: DeviceKeyInfo {
                device_key,
                key_authorizations,
                key_info,
            },
            doc_type: f.text("docType")?.to_owned(),
            validity_info,
            status,
        })
    }

    /// Encodes the MSO (the content of MobileSecurityObjectBytes).
    ///
    /// # Errors
    /// Only a failure to encode the device key.
    pub fn to_bytes(&self) -> Result<Vec<u8>, MdocError> {
        let mut e = Encoder::with_capacity(256);
        e.map(6 + usize::from(self.status.is_some()));
        e.text("version").text(&self.version);
        e.text("digestAlgorithm")
            .text(self.digest_algorithm.mdoc_name());
        e.text("valueDigests").map(self.value_digests.len());
        for (ns, digests) in &self.value_digests {
            e.text(ns).map(digests.len());
            for (id, d) in digests {
                e.uint(*id).bytes(d);
            }
        }
        let dki = &self.device_key_info;
        e.text("deviceKeyInfo").map(
            1 + usize::from(dki.key_authorizations.is_some()) + usize::from(dki.key_info.is_some()),
        );
        e.text("deviceKey")
            .raw(&dki.device_key.to_cose_key_bytes()?);
        if let Some(ka) = &dki.key_authorizations {
            let n =
                usize::from(!ka.name_spaces.is_empty()) + usize::from(!ka.data_elements.is_empty());
            e.text("keyAuthorizations").map(n);
            if !ka.name_spaces.is_empty() {
                e.text("nameSpaces").array(ka.name_spaces.len());
                for ns in &ka.name_spaces {
                    e.text(ns);
                }
            }
            if !ka.data_elements.is_empty() {
                e.text("dataElements").map(ka.data_elements.len());
                for (ns, els) in &ka.data_elements {
                    e.text(ns).array(els.len());
                    for el in els {
                        e.text(el);
                    }
                }
            }
        }
        if let Some(ki) = &dki.key_info {
            e.text("keyInfo");
            ki.encode(&mut e);
        }
        e.text("docType").text(&self.doc_type);
        let vi = &self.validity_info;
        e.text("validityInfo")
            .map(3 + usize::from(vi.expected_update.is_some()));
        e.text("signed").tag(0).text(&format_tdate(vi.signed));
        e.text("validFrom")
            .tag(0)
            .text(&format_tdate(vi.valid_from));
        e.text("validUntil")
            .tag(0)
            .text(&format_tdate(vi.valid_until));
        if let Some(u) = vi.expected_update {
            e.text("expectedUpdate").tag(0).text(&format_tdate(u));
        }
        if let Some(s) = &self.status {
            e.text("status").map(1).text("status_list").map(2);
            e.text("idx").uint(s.idx).text("uri").text(&s.uri);
        }
        Ok(e.finish())
    }
}

fn key_authorizations(item: &Item<'_>, path: &str) -> Result<KeyAuthorizations, MdocError> {
    let f = Fields::new(item, path)?;
    let name_spaces = f
        .opt("nameSpaces")
        .map(|ns| {
            array(ns, &f.path("nameSpaces"))?
                .iter()
                .map(|n| {
                    n.as_text()
                        .map(str::to_owned)
                        .ok_or_else(|| malformed(f.path("nameSpaces"), "text"))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let data_elements = f
        .opt("dataElements")
        .map(|de| {
            text_keyed(de, &f.path("dataElements"))?
                .into_iter()
                .map(|(ns, els)| {
                    let els = array(els, &f.path("dataElements"))?
                        .iter()
                        .map(|e| {
                            e.as_text()
                                .map(str::to_owned)
                                .ok_or_else(|| malformed(f.path("dataElements"), "text"))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok((ns.to_owned(), els))
                })
                .collect::<Result<Vec<_>, MdocError>>()
        })
        .transpose()?
        .unwrap_or_default();
    Ok(KeyAuthorizations {
        name_spaces,
        data_elements,
    })
}

/// `status.status_list`, if the MSO uses the Token Status List; other status mechanisms
/// (draft-ietf-oauth-status-list §6.3 allows them) are not understood and are ignored.
fn status_reference(item: &Item<'_>, path: &str) -> Result<Option<StatusReference>, MdocError> {
    let f = Fields::new(item, path)?;
    let Some(list) = f.opt("status_list") else {
        return Ok(None);
    };
    let list = Fields::new(list, &f.path("status_list"))?;
    Ok(Some(StatusReference {
        idx: list.uint("idx")?,
        uri: list.text("uri")?.to_owned(),
    }))
}
