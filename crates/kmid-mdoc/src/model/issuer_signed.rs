//! IssuerSigned (ISO/IEC 18013-5 §8.3.2.1.2.2) and the issuer's COSE_Sign1 over the MSO.
//!
//! ```cddl
//! IssuerSigned = { ? "nameSpaces" : IssuerNameSpaces, "issuerAuth" : IssuerAuth }
//! IssuerNameSpaces = { + NameSpace => [ + IssuerSignedItemBytes ] }
//! IssuerSignedItemBytes = #6.24(bstr .cbor IssuerSignedItem)
//! IssuerSignedItem = { "digestID" : uint, "random" : bstr,
//!                      "elementIdentifier" : DataElementIdentifier,
//!                      "elementValue" : DataElementValue }
//! IssuerAuth = COSE_Sign1 ; payload: MobileSecurityObjectBytes
//! ```

use kmid_crypto::cose::CoseSign1;

use super::mso::MobileSecurityObject;
use super::{Fields, array, decode_embedded, parse_sign1, text_keyed};
use crate::cbor::{CborLimits, DecodeBudget, ElementValue, Encoder, Item, embedded};
use crate::error::{IssuerAuthError, MdocError, malformed};

/// One issuer-signed data element.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuerSignedItem {
    /// Its digestID in the MSO.
    pub digest_id: u64,
    /// The salt: at least 16 random bytes.
    pub random: Vec<u8>,
    /// DataElementIdentifier.
    pub element_identifier: String,
    /// DataElementValue.
    pub element_value: ElementValue,
}

impl IssuerSignedItem {
    /// Encodes the item (the content of its tag-24 wrapper).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut e = Encoder::with_capacity(64);
        e.map(4);
        e.text("digestID").uint(self.digest_id);
        e.text("random").bytes(&self.random);
        e.text("elementIdentifier").text(&self.element_identifier);
        e.text("elementValue");
        self.element_value.encode(&mut e);
        e.finish()
    }
}

/// An IssuerSignedItem with the exact `#6.24(bstr)` bytes it came in: the MSO digest is over
/// these bytes, whatever key order or encoding the issuer chose.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuerSignedItemBytes {
    raw: Vec<u8>,
    item: IssuerSignedItem,
}

impl IssuerSignedItemBytes {
    /// Wraps an item the caller built, encoding it now.
    #[must_use]
    pub fn new(item: IssuerSignedItem) -> Self {
        Self {
            raw: embedded(&item.to_bytes()),
            item,
        }
    }

    /// The whole `#6.24(bstr)` encoding, as received or as built.
    #[must_use]
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The decoded item.
    #[must_use]
    pub const fn item(&self) -> &IssuerSignedItem {
        &self.item
    }

    pub(crate) fn from_item(
        item: &Item<'_>,
        path: &str,
        limits: &DecodeBudget,
    ) -> Result<Self, MdocError> {
        let inner = decode_embedded(item, path, limits)?;
        let f = Fields::new(&inner, path)?;
        let random = f.bytes("random")?;
        Ok(Self {
            raw: item.raw.to_vec(),
            item: IssuerSignedItem {
                digest_id: f.uint("digestID")?,
                random: random.to_vec(),
                element_identifier: f.text("elementIdentifier")?.to_owned(),
                element_value: ElementValue::from_item(
                    f.req("elementValue")?,
                    &f.path("elementValue"),
                )?,
            },
        })
    }
}

/// Issuer-signed items by namespace, in the order received.
pub type IssuerNameSpaces = Vec<(String, Vec<IssuerSignedItemBytes>)>;

/// The issuer's signature: the COSE_Sign1 as received, parsed, and its MSO.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuerAuth {
    raw: Vec<u8>,
    sign1: CoseSign1,
    mso: MobileSecurityObject,
}

impl IssuerAuth {
    /// The certificates of the unprotected `x5chain`, DER, leaf (the Document Signer) first.
    #[must_use]
    pub fn x5chain(&self) -> &[Vec<u8>] {
        super::x5chain(&self.sign1).unwrap_or_default()
    }

    /// The COSE_Sign1 bytes.
    #[must_use]
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The parsed COSE_Sign1 (its protected header keeps its original bytes).
    #[must_use]
    pub const fn sign1(&self) -> &CoseSign1 {
        &self.sign1
    }

    /// The MSO the signature covers.
    #[must_use]
    pub const fn mso(&self) -> &MobileSecurityObject {
        &self.mso
    }

    pub(crate) fn from_parts(raw: Vec<u8>, sign1: CoseSign1, mso: MobileSecurityObject) -> Self {
        Self { raw, sign1, mso }
    }

    pub(crate) fn from_item(
        item: &Item<'_>,
        path: &str,
        limits: &DecodeBudget,
    ) -> Result<Self, MdocError> {
        let sign1 = parse_sign1(item, path)?;
        let payload = sign1
            .payload
            .as_deref()
            .ok_or(MdocError::IssuerAuth(IssuerAuthError::MissingPayload))?;
        let mso_bytes = crate::cbor::decode_with(payload, limits)?;
        let mso_item = decode_embedded(&mso_bytes, &format!("{path}.payload"), limits)?;
        let mso = MobileSecurityObject::from_item(&mso_item, &format!("{path}.payload(MSO)"))?;
        Ok(Self {
            raw: item.raw.to_vec(),
            sign1,
            mso,
        })
    }
}

/// The issuer-signed half of a Document.
#[derive(Debug, Clone, PartialEq)]
pub struct IssuerSigned {
    /// Disclosed items by namespace.
    pub name_spaces: IssuerNameSpaces,
    /// The issuer's signature over the MSO.
    pub issuer_auth: IssuerAuth,
}

impl IssuerSigned {
    pub(crate) fn from_item(
        item: &Item<'_>,
        path: &str,
        limits: &DecodeBudget,
    ) -> Result<Self, MdocError> {
        let f = Fields::new(item, path)?;
        let mut name_spaces = Vec::new();
        if let Some(ns_item) = f.opt("nameSpaces") {
            let ns_path = f.path("nameSpaces");
            for (ns, items) in text_keyed(ns_item, &ns_path)? {
                let item_path = format!("{ns_path}.{ns}");
                let items = array(items, &item_path)?
                    .iter()
                    .enumerate()
                    .map(|(i, it)| {
                        IssuerSignedItemBytes::from_item(it, &format!("{item_path}[{i}]"), limits)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if items.is_empty() {
                    return Err(malformed(item_path, "at least one IssuerSignedItemBytes"));
                }
                name_spaces.push((ns.to_owned(), items));
            }
            if name_spaces.is_empty() {
                return Err(malformed(ns_path, "at least one namespace"));
            }
        }
        let issuer_auth =
            IssuerAuth::from_item(f.req("issuerAuth")?, &f.path("issuerAuth"), limits)?;
        Ok(Self {
            name_spaces,
            issuer_auth,
        })
    }

    /// Decodes IssuerSigned bytes (as OpenID4VCI's `mso_mdoc` credential carries them).
    ///
    /// # Errors
    /// [`MdocError::Cbor`] or [`MdocError::Malformed`].
    pub fn from_bytes(bytes: &[u8], limits: &CborLimits) -> Result<Self, MdocError> {
        let limits = &DecodeBudget::new(*limits);
        let item = crate::cbor::decode_with(bytes, limits)?;
        Self::from_item(&item, "IssuerSigned", limits)
    }

    pub(crate) fn encode(&self, e: &mut Encoder) {
        e.map(1 + usize::from(!self.name_spaces.is_empty()));
        if !self.name_spaces.is_empty() {
            e.text("nameSpaces").map(self.name_spaces.len());
            for (ns, items) in &self.name_spaces {
                e.text(ns).array(items.len());
                for it in items {
                    e.raw(it.raw());
                }
            }
        }
        e.text("issuerAuth").raw(self.issuer_auth.raw());
    }

    /// Encodes IssuerSigned, splicing every item and the issuerAuth as received.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut e = Encoder::with_capacity(self.issuer_auth.raw().len().saturating_mul(2));
        self.encode(&mut e);
        e.finish()
    }
}
