//! DeviceRequest (ISO/IEC 18013-5 §8.3.2.1.2.1, with the version 1.1 additions).
//!
//! ```cddl
//! DeviceRequest = { "version" : tstr, "docRequests" : [+ DocRequest],
//!                   ? "deviceRequestInfo" : #6.24(bstr .cbor DeviceRequestInfo),
//!                   ? "readerAuthAll" : [+ ReaderAuthAll] }
//! DocRequest = { "itemsRequest" : ItemsRequestBytes, ? "readerAuth" : ReaderAuth }
//! ItemsRequestBytes = #6.24(bstr .cbor ItemsRequest)
//! ItemsRequest = { "docType" : DocType, "nameSpaces" : NameSpaces,
//!                  ? "requestInfo" : { * tstr => any } }
//! NameSpaces = { + NameSpace => { + DataElementIdentifier => IntentToRetain } }
//! ReaderAuth = COSE_Sign1 ; detached payload: ReaderAuthenticationBytes
//! ```

use kmid_crypto::cose::CoseSign1;

use super::{Fields, array, decode_embedded, parse_sign1, text_keyed};
use crate::cbor::{CborLimits, DecodeBudget, ElementValue, Encoder, Item, embedded};
use crate::error::{MdocError, malformed};

/// What a reader asks of one document type.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemsRequest {
    /// The document type asked for.
    pub doc_type: String,
    /// Elements by namespace, each with the reader's intent to retain it.
    pub name_spaces: Vec<(String, Vec<(String, bool)>)>,
    /// requestInfo, as received.
    pub request_info: Vec<(String, ElementValue)>,
    /// The verifier's own note of the elements it accepts an answer without, as
    /// `(namespace, element)`. Every other element asked for must come back: a response that
    /// leaves one out is refused ([`MdocError::NotReturned`]), as OpenID4VP refuses a VP Token
    /// that leaves out a claim its query requires. Never encoded: ISO/IEC 18013-5 has no
    /// place for it in ItemsRequest, and a decoded request has none.
    pub optional: Vec<(String, String)>,
}

impl ItemsRequest {
    /// An ItemsRequest for `doc_type` that asks for nothing yet.
    #[must_use]
    pub fn for_doc_type(doc_type: impl Into<String>) -> Self {
        Self {
            doc_type: doc_type.into(),
            name_spaces: Vec::new(),
            request_info: Vec::new(),
            optional: Vec::new(),
        }
    }

    /// Asks for `namespace`/`element` and accepts an answer without it.
    pub fn ask_optional(&mut self, namespace: &str, element: &str, intent_to_retain: bool) {
        self.ask(namespace, element, intent_to_retain);
        self.optional
            .push((namespace.to_owned(), element.to_owned()));
    }

    /// Whether an answer may leave out `namespace`/`element`.
    #[must_use]
    pub fn is_optional(&self, namespace: &str, element: &str) -> bool {
        self.optional
            .iter()
            .any(|(ns, el)| ns == namespace && el == element)
    }

    /// Asks for `namespace`/`element`, grouped with the namespace's other elements.
    pub fn ask(&mut self, namespace: &str, element: &str, intent_to_retain: bool) {
        let entry = (element.to_owned(), intent_to_retain);
        match self.name_spaces.iter_mut().find(|(ns, _)| ns == namespace) {
            Some((_, elements)) => elements.push(entry),
            None => self.name_spaces.push((namespace.to_owned(), vec![entry])),
        }
    }

    /// Encodes the ItemsRequest (the content of ItemsRequestBytes).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut e = Encoder::with_capacity(256);
        e.map(2 + usize::from(!self.request_info.is_empty()));
        e.text("docType").text(&self.doc_type);
        e.text("nameSpaces").map(self.name_spaces.len());
        for (ns, elements) in &self.name_spaces {
            e.text(ns).map(elements.len());
            for (id, retain) in elements {
                e.text(id).bool(*retain);
            }
        }
        if !self.request_info.is_empty() {
            e.text("requestInfo").map(self.request_info.len());
            for (k, v) in &self.request_info {
                e.text(k);
                v.encode(&mut e);
            }
        }
        e.finish()
    }

    /// Whether `namespace`/`element` is asked for, and if so with which intent to retain.
    #[must_use]
    pub fn intent_to_retain(&self, namespace: &str, element: &str) -> Option<bool> {
        self.name_spaces
            .iter()
            .find(|(ns, _)| ns == namespace)
            .and_then(|(_, els)| els.iter().find(|(id, _)| id == element))
            .map(|(_, r)| *r)
    }

    fn from_item(item: &Item<'_>, path: &str) -> Result<Self, MdocError> {
        let f = Fields::new(item, path)?;
        let ns_path = f.path("nameSpaces");
        let name_spaces = text_keyed(f.req("nameSpaces")?, &ns_path)?
            .into_iter()
            .map(|(ns, elements)| {
                let p = format!("{ns_path}.{ns}");
                let elements = text_keyed(elements, &p)?
                    .into_iter()
                    .map(|(id, retain)| {
                        Ok((
                            id.to_owned(),
                            retain
                                .as_bool()
                                .ok_or_else(|| malformed(format!("{p}.{id}"), "a boolean"))?,
                        ))
                    })
                    .collect::<Result<Vec<_>, MdocError>>()?;
                Ok((ns.to_owned(), elements))
            })
            .collect::<Result<Vec<_>, MdocError>>()?;
        if name_spaces.is_empty() || name_spaces.iter().any(|(_, els)| els.is_empty()) {
            return Err(malformed(
                ns_path,
                "at least one namespace, each with at least one element",
            ));
        }
        let request_info = match f.opt("requestInfo") {
            None => Vec::new(),
            Some(ri) => text_keyed(ri, &f.path("requestInfo"))?
                .into_iter()
                .map(|(k, v)| {
                    Ok((
                        k.to_owned(),
                        ElementValue::from_item(v, &f.path("requestInfo"))?,
                    ))
                })
                .collect::<Result<Vec<_>, MdocError>>()?,
        };
        Ok(Self {
            doc_type: f.text("docType")?.to_owned(),
            name_spaces,
            request_info,
            optional: Vec::new(),
        })
    }
}

/// One document request, with ItemsRequestBytes as received (reader authentication signs
/// them) and the reader's signature.
#[derive(Debug, Clone, PartialEq)]
pub struct DocRequest {
    items_request_bytes: Vec<u8>,
    /// The decoded request.
    pub items_request: ItemsRequest,
    /// readerAuth as received and parsed, if present.
    pub reader_auth: Option<(Vec<u8>, CoseSign1)>,
}

impl DocRequest {
    /// A request the caller built, without reader authentication (see
    /// [`crate::reader`] for signed requests).
    #[must_use]
    pub fn new(items_request: ItemsRequest) -> Self {
        Self {
            items_request_bytes: embedded(&items_request.to_bytes()),
            items_request,
            reader_auth: None,
        }
    }

    pub(crate) fn with_reader_auth(mut self, raw: Vec<u8>, sign1: CoseSign1) -> Self {
        self.reader_auth = Some((raw, sign1));
        self
    }

    /// ItemsRequestBytes: the whole tag-24 encoding.
    #[must_use]
    pub fn items_request_bytes(&self) -> &[u8] {
        &self.items_request_bytes
    }
}

/// A reader's request.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRequest {
    /// `"1.0"` or `"1.1"`.
    pub version: String,
    /// The document requests.
    pub doc_requests: Vec<DocRequest>,
    /// deviceRequestInfo (1.1), the whole tag-24 encoding, if present.
    pub device_request_info: Option<Vec<u8>>,
    /// readerAuthAll (1.1), as received and parsed.
    pub reader_auth_all: Vec<(Vec<u8>, CoseSign1)>,
}

impl DeviceRequest {
    /// A version 1.0 request.
    #[must_use]
    pub fn new(doc_requests: Vec<DocRequest>) -> Self {
        Self {
            version: "1.0".into(),
            doc_requests,
            device_request_info: None,
            reader_auth_all: Vec::new(),
        }
    }

    /// Decodes a DeviceRequest (untrusted input).
    ///
    /// # Errors
    /// [`MdocError::Cbor`], [`MdocError::Malformed`], [`MdocError::UnsupportedVersion`].
    pub fn from_bytes(bytes: &[u8], limits: &CborLimits) -> Result<Self, MdocError> {
        let limits = &DecodeBudget::new(*limits);
        let item = crate::cbor::decode_with(bytes, limits)?;
        let path = "DeviceRequest";
        let f = Fields::new(&item, path)?;
        let version = f.text("version")?;
        if version != "1.0" && version != "1.1" {
            return Err(MdocError::UnsupportedVersion {
                what: "DeviceRequest",
                version: version.to_owned(),
            });
        }
        let dr_path = f.path("docRequests");
        let doc_requests = array(f.req("docRequests")?, &dr_path)?
            .iter()
            .enumerate()
            .map(|(i, dr)| {
                let p = format!("{dr_path}[{i}]");
                let d = Fields::new(dr, &p)?;
                let irb = d.embedded("itemsRequest")?;
                let items_request = ItemsRequest::from_item(
                    &decode_embedded(irb, &d.path("itemsRequest"), limits)?,
                    &d.path("itemsRequest"),
                )?;
                let reader_auth = d
                    .opt("readerAuth")
                    .map(|ra| {
                        Ok::<_, MdocError>((
                            ra.raw.to_vec(),
                            parse_sign1(ra, &d.path("readerAuth"))?,
                        ))
                    })
                    .transpose()?;
                Ok(DocRequest {
                    items_request_bytes: irb.raw.to_vec(),
                    items_request,
                    reader_auth,
                })
            })
            .collect::<Result<Vec<_>, MdocError>>()?;
        if doc_requests.is_empty() {
            return Err(malformed(dr_path, "at least one DocRequest"));
        }
        let device_request_info = f.opt("deviceRequestInfo").map(|i| {
            i.as_embedded_cbor()
                .map(|_| i.raw.to_vec())
                .ok_or_else(|| malformed(f.path("deviceRequestInfo"), "#6.24(bstr)"))
        });
        let reader_auth_all = match f.opt("readerAuthAll") {
            None => Vec::new(),
            Some(all) => array(all, &f.path("readerAuthAll"))?
                .iter()
                .map(|ra| Ok((ra.raw.to_vec(), parse_sign1(ra, &f.path("readerAuthAll"))?)))
                .collect::<Result<Vec<_>, MdocError>>()?,
        };
        Ok(Self {
            version: version.to_owned(),
            doc_requests,
            device_request_info: device_request_info.transpose()?,
            reader_auth_all,
        })
    }

    /// Encodes the request, splicing ItemsRequestBytes and signatures as built or received.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut e = Encoder::with_capacity(512);
        e.map(
            2 + usize::from(self.device_request_info.is_some())
                + usize::from(!self.reader_auth_all.is_empty()),
        );
        e.text("version").text(&self.version);
        e.text("docRequests").array(self.doc_requests.len());
        for dr in &self.doc_requests {
            e.map(1 + usize::from(dr.reader_auth.is_some()));
            e.text("itemsRequest").raw(&dr.items_request_bytes);
            if let Some((raw, _)) = &dr.reader_auth {
                e.text("readerAuth").raw(raw);
            }
        }
        if let Some(info) = &self.device_request_info {
            e.text("deviceRequestInfo").raw(info);
        }
        if !self.reader_auth_all.is_empty() {
            e.text("readerAuthAll").array(self.reader_auth_all.len());
            for (raw, _) in &self.reader_auth_all {
                e.raw(raw);
            }
        }
        e.finish()
    }
}
