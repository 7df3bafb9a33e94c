//! COSE (RFC 9052) as both credential formats and the status tokens use it: COSE_Sign1 and
//! COSE_Mac0 with their header maps and `x5chain` (RFC 9360), read by the workspace's one
//! bounded CBOR reader (`kmid-cbor`) with one set of rules, signed through a [`Signer`] and
//! verified through a [`SignatureVerifier`].
//!
//! ```cddl
//! COSE_Sign1 = [ Headers, payload : bstr / nil, signature : bstr ]      ; RFC 9052 §4.2
//! COSE_Mac0  = [ Headers, payload : bstr / nil, tag : bstr ]            ; RFC 9052 §6.2
//! Headers = ( protected : empty_or_serialized_map, unprotected : header_map )
//! Sig_structure = [ "Signature1", body_protected : empty_or_serialized_map,
//!                   external_aad : bstr, payload : bstr ]                 ; RFC 9052 §4.4
//! ```
//!
//! The rules, for every caller:
//! - The protected header's bytes are kept as received; the signature is checked over them.
//! - A header map's labels are integers or text, each once, and not in both buckets
//!   (RFC 9052 §3); the parameters read here (`alg`, `crit`, `kid`, `typ`, `x5chain`) must
//!   have their types, and every other parameter is kept as its received bytes, never
//!   expanded.
//! - `x5chain` is one certificate as a byte string or several as a non-empty array of byte
//!   strings; anything else is refused, never dropped.
//! - Any `crit` is refused: this profile understands no critical parameter.

use kmid_cbor::{CborError, CborLimits, Encoder, Item, Kind};

use crate::algorithm::Algorithm;
use crate::error::{AlgorithmRefusal, CryptoError};
use crate::key::PublicKey;
use crate::signature::{SignatureVerifier, Signer};
use crate::x509::Certificate;

/// `alg` (RFC 9052 §3.1).
pub const ALG: i64 = 1;
/// `crit`.
pub const CRIT: i64 = 2;
/// `kid`.
pub const KID: i64 = 4;
/// `typ` (RFC 9596).
pub const TYP: i64 = 16;
/// `x5chain` (RFC 9360).
pub const X5CHAIN: i64 = 33;

/// More parameters than any header of this profile carries.
const MAX_HEADER_PARAMETERS: usize = 64;

/// Limits for a protected header's own map: a few parameters and a short certificate chain.
const PROTECTED_LIMITS: CborLimits = CborLimits {
    max_input_bytes: 64 * 1024,
    max_depth: 4,
    max_items: 256,
};

/// A header parameter label (RFC 9052 §3): an integer or a text string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Label {
    /// An integer label.
    Int(i64),
    /// A text label.
    Text(String),
}

/// Why a COSE structure could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CoseError {
    /// The bytes are not acceptable CBOR.
    #[error(transparent)]
    Cbor(#[from] CborError),
    /// Well-formed CBOR that is not the COSE structure (what was expected).
    #[error("malformed COSE: {0}")]
    Malformed(&'static str),
}

impl CoseError {
    /// The stable code of this error: `Cbor.<kind>` or `Malformed`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Cbor(_) => "Cbor",
            Self::Malformed(_) => "Malformed",
        }
    }
}

/// Why a COSE_Sign1 or COSE_Mac0 did not verify. Exhaustive: each format maps every reason
/// to its own error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoseFailure {
    /// The algorithm is missing, not implemented, not allowed, or not the key's.
    #[error("algorithm not accepted: {0}")]
    Algorithm(AlgorithmRefusal),
    /// `crit` names parameters (this profile understands none).
    #[error("unsupported critical header parameters")]
    Critical,
    /// The signature or tag does not verify.
    #[error("the signature does not verify")]
    BadSignature,
    /// A payload where a detached one was expected, or none where one is required.
    #[error("the payload is missing or not detached as required")]
    Payload,
    /// The backend or a signer failed.
    #[error("crypto: {0}")]
    Crypto(CryptoError),
}

/// A header map as received: the parameters this workspace reads, decoded, and every other
/// parameter as its received bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    /// `alg` (1) as a COSE algorithm identifier; a text `alg` is none this crate implements
    /// and reads as `None`.
    pub alg: Option<i64>,
    /// `crit` (2).
    pub crit: Vec<Label>,
    /// `kid` (4).
    pub kid: Option<Vec<u8>>,
    /// `typ` (16) as text (RFC 9596 also allows a CoAP content format; one stays in `rest`).
    pub typ: Option<String>,
    /// `x5chain` (33): the certificates' DER, leaf first.
    pub x5chain: Option<Vec<Vec<u8>>>,
    /// Every other parameter, with its value's CBOR as received, in order.
    pub rest: Vec<(Label, Vec<u8>)>,
}

impl Header {
    /// A header with `alg` only: what every protected header this workspace signs holds first.
    #[must_use]
    pub fn with_alg(alg: Algorithm) -> Self {
        Self {
            alg: Some(alg.cose_id()),
            ..Self::default()
        }
    }

    /// A header with `x5chain` (one certificate as a byte string, several as an array).
    #[must_use]
    pub fn with_x5chain(chain: &[Certificate]) -> Self {
        Self {
            x5chain: Some(chain.iter().map(|c| c.der().to_vec()).collect()),
            ..Self::default()
        }
    }

    fn labels(&self) -> Vec<Label> {
        let mut out = Vec::new();
        let mut known = |present: bool, label: i64| {
            if present {
                out.push(Label::Int(label));
            }
        };
        known(self.alg.is_some(), ALG);
        known(!self.crit.is_empty(), CRIT);
        known(self.kid.is_some(), KID);
        known(self.typ.is_some(), TYP);
        known(self.x5chain.is_some(), X5CHAIN);
        out.extend(self.rest.iter().map(|(l, _)| l.clone()));
        out
    }

    /// Whether no parameter is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.labels().is_empty()
    }

    /// Reads a header map.
    ///
    /// # Errors
    /// [`CoseError::Malformed`] naming the parameter.
    pub fn from_item(item: &Item<'_>) -> Result<Self, CoseError> {
        let entries = item.as_map().ok_or(CoseError::Malformed("a header map"))?;
        if entries.len() > MAX_HEADER_PARAMETERS {
            return Err(CoseError::Malformed("more than 64 header parameters"));
        }
        let mut header = Self::default();
        // The reader already refused equal keys (by value, whatever their encoding), so the
        // labels are distinct.
        for (key, value) in entries {
            let label = match &key.kind {
                Kind::Uint(_) | Kind::Nint(_) => Label::Int(
                    key.as_i64()
                        .ok_or(CoseError::Malformed("a header label beyond 64 bits"))?,
                ),
                Kind::Text(t) => Label::Text((*t).to_owned()),
                _ => return Err(CoseError::Malformed("a header label (int or tstr)")),
            };
            match label {
                Label::Int(ALG) => match &value.kind {
                    Kind::Uint(_) | Kind::Nint(_) => {
                        header.alg = Some(value.as_i64().ok_or(CoseError::Malformed("alg"))?);
                    }
                    // A text alg names nothing this crate implements: kept as received, so
                    // it still counts as present (in both buckets, say), and `alg` stays
                    // unset.
                    Kind::Text(_) => header.rest.push((Label::Int(ALG), value.raw.to_vec())),
                    _ => return Err(CoseError::Malformed("alg")),
                },
                Label::Int(CRIT) => {
                    let labels = value
                        .as_array()
                        .filter(|a| !a.is_empty())
                        .ok_or(CoseError::Malformed("crit"))?;
                    for l in labels {
                        header.crit.push(match &l.kind {
                            Kind::Text(t) => Label::Text((*t).to_owned()),
                            _ => Label::Int(l.as_i64().ok_or(CoseError::Malformed("crit"))?),
                        });
                    }
                }
                Label::Int(KID) => {
                    header.kid = Some(
                        value
                            .as_bytes()
                            .ok_or(CoseError::Malformed("kid"))?
                            .to_vec(),
                    );
                }
                Label::Int(TYP) if value.as_text().is_some() => {
                    header.typ = value.as_text().map(str::to_owned);
                }
                Label::Int(X5CHAIN) => header.x5chain = Some(read_x5chain(value)?),
                other => header.rest.push((other, value.raw.to_vec())),
            }
        }
        Ok(header)
    }

    /// Encodes the header map: `alg`, `crit`, `kid`, `typ`, `x5chain`, then the rest in order
    /// (the order coset writes, so tokens and vectors stay byte-identical).
    pub fn encode(&self, e: &mut Encoder) {
        e.map(self.labels().len());
        if let Some(alg) = self.alg {
            e.uint(1).int(alg);
        }
        if !self.crit.is_empty() {
            e.uint(2).array(self.crit.len());
            for l in &self.crit {
                encode_label(e, l);
            }
        }
        if let Some(kid) = &self.kid {
            e.uint(4).bytes(kid);
        }
        if let Some(typ) = &self.typ {
            e.uint(16).text(typ);
        }
        if let Some(chain) = &self.x5chain {
            e.uint(33);
            match chain.as_slice() {
                [one] => {
                    e.bytes(one);
                }
                many => {
                    e.array(many.len());
                    for der in many {
                        e.bytes(der);
                    }
                }
            }
        }
        for (label, raw) in &self.rest {
            encode_label(e, label);
            e.raw(raw);
        }
    }

    /// The header map's bytes.
    #[must_use]
    pub fn to_vec(&self) -> Vec<u8> {
        let mut e = Encoder::with_capacity(64);
        self.encode(&mut e);
        e.finish()
    }
}

fn encode_label(e: &mut Encoder, label: &Label) {
    match label {
        Label::Int(i) => {
            e.int(*i);
        }
        Label::Text(t) => {
            e.text(t);
        }
    }
}

fn read_x5chain(value: &Item<'_>) -> Result<Vec<Vec<u8>>, CoseError> {
    const WRONG: CoseError = CoseError::Malformed("x5chain (a bstr, or a non-empty array of bstr)");
    match &value.kind {
        Kind::Bytes(b) => Ok(vec![b.to_vec()]),
        Kind::Array(items) if !items.is_empty() => items
            .iter()
            .map(|i| i.as_bytes().map(<[u8]>::to_vec).ok_or(WRONG))
            .collect(),
        _ => Err(WRONG),
    }
}

/// A protected header: its bytes as received (or as encoded when this crate built it), and
/// what they hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtectedHeader {
    /// The content of the `bstr`: the serialized map, or nothing for an empty header.
    pub original: Vec<u8>,
    /// The decoded map.
    pub header: Header,
}

impl ProtectedHeader {
    /// A protected header holding `header`, serialized (empty when `header` is).
    #[must_use]
    pub fn new(header: Header) -> Self {
        let original = if header.is_empty() {
            Vec::new()
        } else {
            header.to_vec()
        };
        Self { original, header }
    }

    fn from_item(item: &Item<'_>) -> Result<Self, CoseError> {
        let bytes = item
            .as_bytes()
            .ok_or(CoseError::Malformed("the protected header (a bstr)"))?;
        let header = if bytes.is_empty() {
            Header::default()
        } else {
            Header::from_item(&kmid_cbor::decode(bytes, &PROTECTED_LIMITS)?)?
        };
        Ok(Self {
            original: bytes.to_vec(),
            header,
        })
    }
}

/// The array of a COSE structure, tagged with `tag` or not.
fn structure<'i, 'a>(item: &'i Item<'a>, tag: u64) -> Option<&'i [Item<'a>]> {
    match &item.kind {
        Kind::Tag(t, inner) if *t == tag => inner.as_array(),
        Kind::Array(items) => Some(items),
        _ => None,
    }
}

/// The two header buckets, checked against each other (no label in both, RFC 9052 §3).
fn headers(
    protected: &Item<'_>,
    unprotected: &Item<'_>,
) -> Result<(ProtectedHeader, Header), CoseError> {
    let protected = ProtectedHeader::from_item(protected)?;
    let unprotected = Header::from_item(unprotected)?;
    // RFC 9052 §3.1: crit is a protected parameter.
    if !unprotected.crit.is_empty() {
        return Err(CoseError::Malformed("crit in the unprotected header"));
    }
    let unprotected_labels = unprotected.labels();
    let in_both = protected
        .header
        .labels()
        .iter()
        .any(|l| unprotected_labels.contains(l));
    if in_both {
        return Err(CoseError::Malformed(
            "a header parameter in both the protected and unprotected header",
        ));
    }
    Ok((protected, unprotected))
}

fn payload_of(item: &Item<'_>) -> Result<Option<Vec<u8>>, CoseError> {
    match &item.kind {
        Kind::Bytes(b) => Ok(Some(b.to_vec())),
        Kind::Null => Ok(None),
        _ => Err(CoseError::Malformed("the payload (a bstr or nil)")),
    }
}

/// A COSE_Sign1 (RFC 9052 §4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoseSign1 {
    /// The protected header, as received.
    pub protected: ProtectedHeader,
    /// The unprotected header.
    pub unprotected: Header,
    /// The payload, or `None` when detached.
    pub payload: Option<Vec<u8>>,
    /// The signature (raw `r ‖ s` for ECDSA, RFC 9053 §2.1).
    pub signature: Vec<u8>,
}

/// The COSE tag of COSE_Sign1.
pub const SIGN1_TAG: u64 = 18;
/// The COSE tag of COSE_Mac0.
pub const MAC0_TAG: u64 = 17;

impl CoseSign1 {
    /// Reads a COSE_Sign1, untagged or with tag 18, from an item the bounded reader decoded.
    ///
    /// # Errors
    /// [`CoseError`] naming what is wrong.
    pub fn from_item(item: &Item<'_>) -> Result<Self, CoseError> {
        let [protected, unprotected, payload, signature] = structure(item, SIGN1_TAG)
            .ok_or(CoseError::Malformed("a COSE_Sign1 (an array of four)"))?
        else {
            return Err(CoseError::Malformed("a COSE_Sign1 (an array of four)"));
        };
        let (protected, unprotected) = headers(protected, unprotected)?;
        Ok(Self {
            protected,
            unprotected,
            payload: payload_of(payload)?,
            signature: signature
                .as_bytes()
                .ok_or(CoseError::Malformed("the signature (a bstr)"))?
                .to_vec(),
        })
    }

    /// Reads a COSE_Sign1 from bytes, tagged or not, under `limits`; trailing bytes are
    /// refused.
    ///
    /// # Errors
    /// As [`Self::from_item`], or the reader's [`CborError`].
    pub fn from_slice(bytes: &[u8], limits: &CborLimits) -> Result<Self, CoseError> {
        Self::from_item(&kmid_cbor::decode(bytes, limits)?)
    }

    /// Signs through `signer`: `payload` is carried, `detached` is signed but not carried
    /// (exactly one of them). The protected header gets `alg` first, then what `protected`
    /// holds.
    ///
    /// # Errors
    /// [`CryptoError::Signer`] for a wrong payload combination, and the signer's failures.
    pub fn sign(
        signer: &dyn Signer,
        mut protected: Header,
        unprotected: Header,
        payload: Option<Vec<u8>>,
        detached: Option<&[u8]>,
    ) -> Result<Self, CryptoError> {
        protected.alg = Some(signer.algorithm().cose_id());
        let protected = ProtectedHeader::new(protected);
        let content = match (&payload, detached) {
            (Some(p), None) => p.as_slice(),
            (None, Some(d)) => d,
            _ => {
                return Err(CryptoError::Signer(
                    "a COSE_Sign1 has exactly one of an attached and a detached payload".into(),
                ));
            }
        };
        let signature = signer.sign(&sig_structure(&protected.original, b"", content))?;
        Ok(Self {
            protected,
            unprotected,
            payload,
            signature,
        })
    }

    /// The `x5chain` of the structure: the protected bucket's, else the unprotected one's.
    #[must_use]
    pub fn x5chain(&self) -> Option<&[Vec<u8>]> {
        self.protected
            .header
            .x5chain
            .as_deref()
            .or(self.unprotected.x5chain.as_deref())
    }

    /// The protected `alg`, checked: present, implemented, in `allowed`.
    ///
    /// # Errors
    /// [`CoseFailure::Critical`] for any `crit`; [`CoseFailure::Algorithm`].
    pub fn algorithm(&self, allowed: &[Algorithm]) -> Result<Algorithm, CoseFailure> {
        if !self.protected.header.crit.is_empty() {
            return Err(CoseFailure::Critical);
        }
        let id = self
            .protected
            .header
            .alg
            .ok_or(CoseFailure::Algorithm(AlgorithmRefusal::Missing))?;
        let alg = Algorithm::from_cose_id(id)
            .map_err(|_| CoseFailure::Algorithm(AlgorithmRefusal::UnknownCose(id)))?;
        if allowed.contains(&alg) {
            Ok(alg)
        } else {
            Err(CoseFailure::Algorithm(AlgorithmRefusal::NotAllowed(alg)))
        }
    }

    /// Verifies the signature by `key` over the carried payload, or over `detached` when the
    /// payload is detached: the protected `alg` must be allowed and be the key's.
    ///
    /// # Errors
    /// [`CoseFailure`] naming the failed check.
    pub fn verify(
        &self,
        key: &PublicKey,
        detached: Option<&[u8]>,
        allowed: &[Algorithm],
        verifier: &dyn SignatureVerifier,
    ) -> Result<Algorithm, CoseFailure> {
        let alg = self.algorithm(allowed)?;
        if alg != key.algorithm() {
            return Err(CoseFailure::Algorithm(AlgorithmRefusal::KeyMismatch {
                algorithm: alg,
                curve: key.curve(),
            }));
        }
        let content = match (&self.payload, detached) {
            (Some(p), None) => p.as_slice(),
            (None, Some(d)) => d,
            _ => return Err(CoseFailure::Payload),
        };
        let tbs = sig_structure(&self.protected.original, b"", content);
        match verifier.verify(alg, key, &tbs, &self.signature) {
            Ok(()) => Ok(alg),
            Err(CryptoError::BadSignature | CryptoError::MalformedSignature { .. }) => {
                Err(CoseFailure::BadSignature)
            }
            Err(other) => Err(CoseFailure::Crypto(other)),
        }
    }

    /// The untagged encoding.
    #[must_use]
    pub fn to_vec(&self) -> Vec<u8> {
        let mut e = Encoder::with_capacity(
            self.payload
                .as_ref()
                .map_or(0, Vec::len)
                .saturating_add(self.signature.len())
                .saturating_add(self.protected.original.len())
                .saturating_add(64),
        );
        self.encode(&mut e);
        e.finish()
    }

    /// The encoding with tag 18 (COSE_Sign1_Tagged).
    #[must_use]
    pub fn to_tagged_vec(&self) -> Vec<u8> {
        let mut e = Encoder::new();
        e.tag(SIGN1_TAG);
        self.encode(&mut e);
        e.finish()
    }

    fn encode(&self, e: &mut Encoder) {
        e.array(4).bytes(&self.protected.original);
        self.unprotected.encode(e);
        match &self.payload {
            Some(p) => e.bytes(p),
            None => e.null(),
        };
        e.bytes(&self.signature);
    }
}

/// The Sig_structure of a COSE_Sign1 (RFC 9052 §4.4): what is signed.
#[must_use]
pub fn sig_structure(protected: &[u8], external_aad: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut e = Encoder::with_capacity(
        payload
            .len()
            .saturating_add(protected.len())
            .saturating_add(external_aad.len())
            .saturating_add(32),
    );
    e.array(4)
        .text("Signature1")
        .bytes(protected)
        .bytes(external_aad)
        .bytes(payload);
    e.finish()
}

/// The MAC_structure of a COSE_Mac0 (RFC 9052 §6.3): what is MACed.
#[must_use]
pub fn mac_structure(protected: &[u8], external_aad: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut e = Encoder::with_capacity(payload.len().saturating_add(32));
    e.array(4)
        .text("MAC0")
        .bytes(protected)
        .bytes(external_aad)
        .bytes(payload);
    e.finish()
}

/// A COSE_Mac0 (RFC 9052 §6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoseMac0 {
    /// The protected header, as received.
    pub protected: ProtectedHeader,
    /// The unprotected header.
    pub unprotected: Header,
    /// The payload, or `None` when detached.
    pub payload: Option<Vec<u8>>,
    /// The tag.
    pub tag: Vec<u8>,
}

impl CoseMac0 {
    /// Reads a COSE_Mac0, untagged or with tag 17.
    ///
    /// # Errors
    /// [`CoseError`] naming what is wrong.
    pub fn from_item(item: &Item<'_>) -> Result<Self, CoseError> {
        let [protected, unprotected, payload, tag] = structure(item, MAC0_TAG)
            .ok_or(CoseError::Malformed("a COSE_Mac0 (an array of four)"))?
        else {
            return Err(CoseError::Malformed("a COSE_Mac0 (an array of four)"));
        };
        let (protected, unprotected) = headers(protected, unprotected)?;
        Ok(Self {
            protected,
            unprotected,
            payload: payload_of(payload)?,
            tag: tag
                .as_bytes()
                .ok_or(CoseError::Malformed("the tag (a bstr)"))?
                .to_vec(),
        })
    }

    /// The untagged encoding.
    #[must_use]
    pub fn to_vec(&self) -> Vec<u8> {
        let mut e = Encoder::with_capacity(self.tag.len().saturating_add(32));
        e.array(4).bytes(&self.protected.original);
        self.unprotected.encode(&mut e);
        match &self.payload {
            Some(p) => e.bytes(p),
            None => e.null(),
        };
        e.bytes(&self.tag);
        e.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(bytes: &[u8]) -> Item<'_> {
        kmid_cbor::decode(bytes, &CborLimits::default()).unwrap()
    }

    #[test]
    fn headers_keep_one_rule_set() {
        let cases: [(&[u8], CoseError); 5] = [
            // {33: 5}: x5chain of the wrong type is refused, not dropped.
            (
                &[0xA1, 0x18, 0x21, 0x05],
                CoseError::Malformed("x5chain (a bstr, or a non-empty array of bstr)"),
            ),
            // {33: [h'01', 5]}
            (
                &[0xA1, 0x18, 0x21, 0x82, 0x41, 0x01, 0x05],
                CoseError::Malformed("x5chain (a bstr, or a non-empty array of bstr)"),
            ),
            // {33: []}
            (
                &[0xA1, 0x18, 0x21, 0x80],
                CoseError::Malformed("x5chain (a bstr, or a non-empty array of bstr)"),
            ),
            // {1: h''}
            (&[0xA1, 0x01, 0x40], CoseError::Malformed("alg")),
            // {4: "k"}
            (&[0xA1, 0x04, 0x61, 0x6B], CoseError::Malformed("kid")),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                Header::from_item(&item(bytes)),
                Err(expected),
                "{bytes:02x?}"
            );
        }
        // {1: -7, 0x18 0x01: -7}: the same label in a longer encoding is the reader's
        // duplicate.
        assert_eq!(
            kmid_cbor::decode(
                &[0xA2, 0x01, 0x26, 0x18, 0x01, 0x26],
                &CborLimits::default()
            )
            .unwrap_err()
            .kind,
            kmid_cbor::CborErrorKind::DuplicateMapKey
        );
        // Unknown parameters are kept as their bytes.
        let h = Header::from_item(&item(&[
            0xA2, 0x01, 0x26, 0x63, 0x61, 0x62, 0x63, 0x82, 1, 2,
        ]))
        .unwrap();
        assert_eq!(h.alg, Some(-7));
        assert_eq!(h.rest, vec![(Label::Text("abc".into()), vec![0x82, 1, 2])]);
        assert_eq!(
            h.to_vec(),
            [0xA2, 0x01, 0x26, 0x63, 0x61, 0x62, 0x63, 0x82, 1, 2]
        );
    }

    #[test]
    fn a_label_in_both_buckets_is_refused() {
        // [h'A10126', {1: -7}, h'', h'']
        let bytes = [0x84, 0x43, 0xA1, 0x01, 0x26, 0xA1, 0x01, 0x26, 0x40, 0x40];
        assert_eq!(
            CoseSign1::from_slice(&bytes, &CborLimits::default()),
            Err(CoseError::Malformed(
                "a header parameter in both the protected and unprotected header"
            ))
        );
        // crit belongs in the protected header (RFC 9052 §3.1): [h'A10126', {2: [99]}, h'', h'']
        let bytes = [
            0x84, 0x43, 0xA1, 0x01, 0x26, 0xA1, 0x02, 0x81, 0x18, 0x63, 0x40, 0x40,
        ];
        assert_eq!(
            CoseSign1::from_slice(&bytes, &CborLimits::default()),
            Err(CoseError::Malformed("crit in the unprotected header"))
        );
        // A text alg still counts as present: [h'A10126', {1: "x"}, h'', h''] has alg twice.
        let bytes = [
            0x84, 0x43, 0xA1, 0x01, 0x26, 0xA1, 0x01, 0x61, 0x78, 0x40, 0x40,
        ];
        assert_eq!(
            CoseSign1::from_slice(&bytes, &CborLimits::default()),
            Err(CoseError::Malformed(
                "a header parameter in both the protected and unprotected header"
            ))
        );
        // More than 64 parameters in a header.
        let mut e = Encoder::new();
        e.array(4).bytes(&[]).map(65);
        for i in 0..65 {
            e.int(-100 - i).uint(0);
        }
        e.bytes(&[]).bytes(&[]);
        assert_eq!(
            CoseSign1::from_slice(&e.finish(), &CborLimits::default()),
            Err(CoseError::Malformed("more than 64 header parameters"))
        );
        // Tag 17 around a COSE_Sign1 is not a COSE_Sign1.
        let mut tagged = vec![0xD1];
        tagged.extend_from_slice(&[0x84, 0x40, 0xA0, 0xF6, 0x40]);
        assert!(CoseSign1::from_slice(&tagged, &CborLimits::default()).is_err());
        // With tag 18 it is.
        tagged[0] = 0xD2;
        let s = CoseSign1::from_slice(&tagged, &CborLimits::default()).unwrap();
        assert_eq!(s.payload, None);
        assert_eq!(s.to_tagged_vec(), tagged);
    }
}
