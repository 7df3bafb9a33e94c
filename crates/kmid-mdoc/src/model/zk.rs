//! Zero-knowledge documents in a DeviceResponse (ISO/IEC 18013-5 second edition draft, as
//! Google Wallet and multipaz put them on the wire; google/longfellow-zk
//! `docs/content/en/docs/zk-system-spec.md`):
//!
//! ```cddl
//! ZkDocument = { "documentData" : #6.24(bstr .cbor ZkDocumentData), "proof" : bstr }
//! ZkDocumentData = { "zkSystemId" : tstr, "docType" : DocType, "timestamp" : tdate,
//!                    ? "issuerSigned" : { + NameSpace => [+ ZkSignedItem] },
//!                    ? "deviceSigned" : { * NameSpace => [+ ZkSignedItem] },
//!                    ? "msoX5chain" : COSE_X509 }
//! ZkSignedItem = { "elementIdentifier" : DataElementIdentifier, "elementValue" : any }
//! ```
//!
//! The proof is over the values' encodings exactly as received, and over the timestamp's
//! 20 characters: both are kept as they came.

use super::{Fields, array, decode_embedded, text_keyed};
use crate::cbor::{DecodeBudget, Encoder, Item};
use crate::error::{MdocError, malformed};

/// One disclosed element of a ZK document: its identifier and its value's CBOR encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkSignedItem {
    /// The `elementIdentifier`.
    pub identifier: String,
    /// The `elementValue`, encoded, as received.
    pub value: Vec<u8>,
}

/// Elements by namespace, in the order received (the proof's statement lists them so).
pub type ZkItemsByNamespace = Vec<(String, Vec<ZkSignedItem>)>;

/// What a ZK document claims: the statement its proof is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkDocumentData {
    /// Which proof system and circuit (a spec ID the reader offered, or a circuit hash).
    pub zk_system_id: String,
    /// The document type.
    pub doc_type: String,
    /// The time the proof checks validity at, `YYYY-MM-DDTHH:MM:SSZ` as received.
    pub timestamp: String,
    /// The disclosed issuer-signed elements.
    pub issuer_signed: ZkItemsByNamespace,
    /// Device-signed elements (Longfellow's circuits take none).
    pub device_signed: ZkItemsByNamespace,
    /// The issuer's certificate chain, DER, Document Signer first.
    pub mso_x5chain: Vec<Vec<u8>>,
}

/// One ZK document: its data (the tag-24 bytes as received) and the proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkDocument {
    /// The decoded data.
    pub data: ZkDocumentData,
    /// The proof.
    pub proof: Vec<u8>,
}

fn items(item: &Item<'_>, path: &str) -> Result<ZkItemsByNamespace, MdocError> {
    text_keyed(item, path)?
        .into_iter()
        .map(|(ns, list)| {
            let p = format!("{path}.{ns}");
            let elements = array(list, &p)?
                .iter()
                .map(|e| {
                    let f = Fields::new(e, &p)?;
                    Ok(ZkSignedItem {
                        identifier: f.text("elementIdentifier")?.to_owned(),
                        value: f.req("elementValue")?.raw.to_vec(),
                    })
                })
                .collect::<Result<Vec<_>, MdocError>>()?;
            Ok((ns.to_owned(), elements))
        })
        .collect()
}

/// The timestamp: `#6.0(tstr)` (multipaz also wrote it untagged once; both are read), exactly
/// `YYYY-MM-DDTHH:MM:SSZ`.
fn timestamp(item: &Item<'_>, path: &str) -> Result<String, MdocError> {
    let text = match item.as_tag() {
        Some((0, inner)) => inner.as_text(),
        Some(_) => None,
        None => item.as_text(),
    }
    .ok_or_else(|| malformed(path, "a tdate"))?;
    super::parse_tdate_text(text).ok_or_else(|| malformed(path, "YYYY-MM-DDTHH:MM:SSZ"))?;
    Ok(text.to_owned())
}

impl ZkDocumentData {
    fn from_item(item: &Item<'_>, path: &str) -> Result<Self, MdocError> {
        let f = Fields::new(item, path)?;
        let mso_x5chain = match f.opt("msoX5chain") {
            None => Vec::new(),
            Some(c) => match (c.as_bytes(), c.as_array()) {
                (Some(one), _) => vec![one.to_vec()],
                (None, Some(many)) => many
                    .iter()
                    .map(|d| {
                        d.as_bytes()
                            .map(<[u8]>::to_vec)
                            .ok_or_else(|| malformed(f.path("msoX5chain"), "DER certificates"))
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(malformed(f.path("msoX5chain"), "a COSE_X509")),
            },
        };
        Ok(Self {
            zk_system_id: f.text("zkSystemId")?.to_owned(),
            doc_type: f.text("docType")?.to_owned(),
            timestamp: timestamp(f.req("timestamp")?, &f.path("timestamp"))?,
            issuer_signed: match f.opt("issuerSigned") {
                None => Vec::new(),
                Some(i) => items(i, &f.path("issuerSigned"))?,
            },
            device_signed: match f.opt("deviceSigned") {
                None => Vec::new(),
                Some(i) => items(i, &f.path("deviceSigned"))?,
            },
            mso_x5chain,
        })
    }

    /// Encodes it as Google Wallet and multipaz do (the values spliced as held).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut e = Encoder::with_capacity(1024);
        e.map(5 + usize::from(!self.mso_x5chain.is_empty()));
        e.text("zkSystemId").text(&self.zk_system_id);
        e.text("docType").text(&self.doc_type);
        e.text("timestamp").tag(0).text(&self.timestamp);
        for (key, groups) in [
            ("issuerSigned", &self.issuer_signed),
            ("deviceSigned", &self.device_signed),
        ] {
            e.text(key).map(groups.len());
            for (ns, list) in groups {
                e.text(ns).array(list.len());
                for i in list {
                    e.map(2).text("elementIdentifier").text(&i.identifier);
                    e.text("elementValue").raw(&i.value);
                }
            }
        }
        if let [one] = self.mso_x5chain.as_slice() {
            e.text("msoX5chain").bytes(one);
        } else if !self.mso_x5chain.is_empty() {
            e.text("msoX5chain").array(self.mso_x5chain.len());
            for c in &self.mso_x5chain {
                e.bytes(c);
            }
        }
        e.finish()
    }
}

impl ZkDocument {
    pub(crate) fn from_item(
        item: &Item<'_>,
        path: &str,
        limits: &DecodeBudget,
    ) -> Result<Self, MdocError> {
        let f = Fields::new(item, path)?;
        let data_item =
            decode_embedded(f.embedded("documentData")?, &f.path("documentData"), limits)?;
        Ok(Self {
            data: ZkDocumentData::from_item(&data_item, &f.path("documentData"))?,
            proof: f.bytes("proof")?.to_vec(),
        })
    }

    pub(crate) fn encode(&self, e: &mut Encoder) {
        e.map(2);
        e.text("documentData").tag(24).bytes(&self.data.to_bytes());
        e.text("proof").bytes(&self.proof);
    }
}
