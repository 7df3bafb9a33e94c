//! DeviceResponse and Document (ISO/IEC 18013-5 §8.3.2.1.2.2).
//!
//! ```cddl
//! DeviceResponse = { "version" : tstr, ? "documents" : [+ Document],
//!                    ? "zkDocuments" : [+ ZkDocument],      ; second edition draft
//!                    ? "documentErrors" : [+ DocumentError], "status" : uint }
//! Document = { "docType" : DocType, "issuerSigned" : IssuerSigned,
//!              "deviceSigned" : DeviceSigned, ? "errors" : Errors }
//! Errors = { + NameSpace => { + DataElementIdentifier => ErrorCode } }
//! DocumentError = { DocType => ErrorCode }
//! ```

use super::device_signed::DeviceSigned;
use super::issuer_signed::IssuerSigned;
use super::zk::ZkDocument;
use super::{Fields, array, text_keyed};
use crate::cbor::{CborLimits, DecodeBudget, Encoder, Item};
use crate::error::{MdocError, malformed};

/// ErrorCode 0: the data was not returned (§8.3.2.1.2.3).
pub const ERROR_DATA_NOT_RETURNED: i64 = 0;

/// Error codes by namespace and element.
pub type ErrorsByNamespace = Vec<(String, Vec<(String, i64)>)>;

/// DeviceResponse status codes (§8.3.2.1.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseStatus {
    /// 0: OK.
    Ok,
    /// 10: general error.
    GeneralError,
    /// 11: CBOR decoding error.
    CborDecodingError,
    /// 12: CBOR validation error.
    CborValidationError,
    /// Another code.
    Other(u64),
}

impl ResponseStatus {
    /// The code.
    #[must_use]
    pub const fn code(self) -> u64 {
        match self {
            Self::Ok => 0,
            Self::GeneralError => 10,
            Self::CborDecodingError => 11,
            Self::CborValidationError => 12,
            Self::Other(c) => c,
        }
    }

    /// The status of a code.
    #[must_use]
    pub const fn from_code(c: u64) -> Self {
        match c {
            0 => Self::Ok,
            10 => Self::GeneralError,
            11 => Self::CborDecodingError,
            12 => Self::CborValidationError,
            other => Self::Other(other),
        }
    }
}

/// One returned document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The document type.
    pub doc_type: String,
    /// Issuer-signed items and the issuer's signature.
    pub issuer_signed: IssuerSigned,
    /// Device-signed items and the device authentication.
    pub device_signed: DeviceSigned,
    /// Elements requested and not returned, with their error codes.
    pub errors: ErrorsByNamespace,
}

/// The mdoc's answer to a request.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceResponse {
    /// `"1.0"`.
    pub version: String,
    /// The documents returned.
    pub documents: Vec<Document>,
    /// Documents returned as zero-knowledge proofs (ISO/IEC 18013-5 second edition draft).
    pub zk_documents: Vec<ZkDocument>,
    /// Document types requested and not returned, with error codes.
    pub document_errors: Vec<(String, i64)>,
    /// The status.
    pub status: ResponseStatus,
}

fn int(item: &Item<'_>, path: &str) -> Result<i64, MdocError> {
    item.as_i64()
        .ok_or_else(|| malformed(path, "an integer error code"))
}

impl Document {
    fn from_item(item: &Item<'_>, path: &str, limits: &DecodeBudget) -> Result<Self, MdocError> {
        let f = Fields::new(item, path)?;
        let errors = match f.opt("errors") {
            None => Vec::new(),
            Some(e) => {
                let p = f.path("errors");
                text_keyed(e, &p)?
                    .into_iter()
                    .map(|(ns, items)| {
                        let ip = format!("{p}.{ns}");
                        let items = text_keyed(items, &ip)?
                            .into_iter()
                            .map(|(id, code)| {
                                Ok((id.to_owned(), int(code, &format!("{ip}.{id}"))?))
                            })
                            .collect::<Result<Vec<_>, MdocError>>()?;
                        Ok((ns.to_owned(), items))
                    })
                    .collect::<Result<Vec<_>, MdocError>>()?
            }
        };
        Ok(Self {
            doc_type: f.text("docType")?.to_owned(),
            issuer_signed: IssuerSigned::from_item(
                f.req("issuerSigned")?,
                &f.path("issuerSigned"),
                limits,
            )?,
            device_signed: DeviceSigned::from_item(
                f.req("deviceSigned")?,
                &f.path("deviceSigned"),
                limits,
            )?,
            errors,
        })
    }

    fn encode(&self, e: &mut Encoder) {
        e.map(3 + usize::from(!self.errors.is_empty()));
        e.text("docType").text(&self.doc_type);
        e.text("issuerSigned");
        self.issuer_signed.encode(e);
        e.text("deviceSigned");
        self.device_signed.encode(e);
        if !self.errors.is_empty() {
            e.text("errors").map(self.errors.len());
            for (ns, items) in &self.errors {
                e.text(ns).map(items.len());
                for (id, code) in items {
                    e.text(id).int(*code);
                }
            }
        }
    }
}

impl DeviceResponse {
    /// Decodes a DeviceResponse. Untrusted input: never panics; trailing bytes, truncation and
    /// anything past `limits` are errors.
    ///
    /// # Errors
    /// [`MdocError::Cbor`], [`MdocError::Malformed`], [`MdocError::UnsupportedVersion`].
    pub fn from_bytes(bytes: &[u8], limits: &CborLimits) -> Result<Self, MdocError> {
        let limits = &DecodeBudget::new(*limits);
        let item = crate::cbor::decode_with(bytes, limits)?;
        let path = "DeviceResponse";
        let f = Fields::new(&item, path)?;
        let version = f.text("version")?;
        // 1.1 is the second edition's (multipaz writes it with zkDocuments).
        if version != "1.0" && version != "1.1" {
            return Err(MdocError::UnsupportedVersion {
                what: "DeviceResponse",
                version: version.to_owned(),
            });
        }
        let documents = match f.opt("documents") {
            None => Vec::new(),
            Some(docs) => array(docs, &f.path("documents"))?
                .iter()
                .enumerate()
                .map(|(i, d)| Document::from_item(d, &format!("{path}.documents[{i}]"), limits))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let zk_documents = match f.opt("zkDocuments") {
            None => Vec::new(),
            Some(docs) => array(docs, &f.path("zkDocuments"))?
                .iter()
                .enumerate()
                .map(|(i, d)| ZkDocument::from_item(d, &format!("{path}.zkDocuments[{i}]"), limits))
                .collect::<Result<Vec<_>, _>>()?,
        };
        let document_errors = match f.opt("documentErrors") {
            None => Vec::new(),
            Some(errs) => {
                let p = f.path("documentErrors");
                let mut out = Vec::new();
                for e in array(errs, &p)? {
                    for (doc_type, code) in text_keyed(e, &p)? {
                        out.push((doc_type.to_owned(), int(code, &p)?));
                    }
                }
                out
            }
        };
        Ok(Self {
            version: version.to_owned(),
            documents,
            zk_documents,
            document_errors,
            status: ResponseStatus::from_code(f.uint("status")?),
        })
    }

    /// Encodes the DeviceResponse in the CDDL's member order, splicing every signed structure
    /// as received or as signed.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut e = Encoder::with_capacity(4096);
        let n = 2
            + usize::from(!self.documents.is_empty())
            + usize::from(!self.zk_documents.is_empty())
            + usize::from(!self.document_errors.is_empty());
        e.map(n);
        e.text("version").text(&self.version);
        if !self.documents.is_empty() {
            e.text("documents").array(self.documents.len());
            for d in &self.documents {
                d.encode(&mut e);
            }
        }
        if !self.zk_documents.is_empty() {
            e.text("zkDocuments").array(self.zk_documents.len());
            for d in &self.zk_documents {
                d.encode(&mut e);
            }
        }
        if !self.document_errors.is_empty() {
            e.text("documentErrors").array(self.document_errors.len());
            for (doc_type, code) in &self.document_errors {
                e.map(1).text(doc_type).int(*code);
            }
        }
        e.text("status").uint(self.status.code());
        e.finish()
    }
}
