//! The ISO/IEC 18013-5 data structures (§8.3.2, §9.1), as types that keep the bytes that
//! signatures and digests cover.
//!
//! Decoding takes a [`CborLimits`](crate::cbor::CborLimits), refuses trailing bytes and reports
//! structural problems with a path (`DeviceResponse.documents[0].issuerSigned`). Map keys not
//! defined by the standard are ignored, as the standard asks of readers; keys it defines must
//! have the right types.

mod device_signed;
mod engagement;
mod issuer_signed;
mod mso;
mod request;
pub(crate) mod response;
mod transcript;
mod zk;

pub(crate) use device_signed::encode_name_spaces as device_signed_encode_name_spaces;
pub use device_signed::{DeviceAuth, DeviceNameSpaces, DeviceSigned, ElementsByNamespace};
pub use engagement::{DeviceEngagement, QR_PREFIX, RetrievalMethod};
pub use issuer_signed::{
    IssuerAuth, IssuerNameSpaces, IssuerSigned, IssuerSignedItem, IssuerSignedItemBytes,
};
pub use mso::{DeviceKeyInfo, KeyAuthorizations, MobileSecurityObject, ValidityInfo, ValueDigests};
pub use request::{DeviceRequest, DocRequest, ItemsRequest};
pub use response::{
    DeviceResponse, Document, ERROR_DATA_NOT_RETURNED, ErrorsByNamespace, ResponseStatus,
};
pub use transcript::{Handover, SessionTranscript};
pub use zk::{ZkDocument, ZkDocumentData, ZkItemsByNamespace, ZkSignedItem};

use kmid_crypto::cose::{CoseMac0, CoseSign1};
use time::OffsetDateTime;

use crate::cbor::Item;
use crate::error::{MdocError, malformed};

/// Formats a `tdate` as ISO/IEC 18013-5 wants it: UTC, `YYYY-MM-DDTHH:MM:SSZ`, no fraction.
#[must_use]
pub fn format_tdate(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses a `tdate` (`#6.0(tstr)`) strictly: UTC with `Z` and no fractional seconds.
pub(crate) fn parse_tdate(item: &Item<'_>, path: &str) -> Result<OffsetDateTime, MdocError> {
    const EXPECTED: &str =
        "a tdate #6.0(\"YYYY-MM-DDTHH:MM:SSZ\") in UTC without fractional seconds";
    let text = match item.as_tag() {
        Some((0, inner)) => inner.as_text(),
        _ => None,
    }
    .ok_or_else(|| malformed(path, EXPECTED))?;
    strict_tdate(text).ok_or_else(|| malformed(path, EXPECTED))
}

/// A `tdate`'s text, strictly (see [`parse_tdate`]).
pub(crate) fn parse_tdate_text(text: &str) -> Option<OffsetDateTime> {
    strict_tdate(text)
}

/// `YYYY-MM-DDTHH:MM:SSZ` exactly: digits where digits belong, `T` and `Z` literal, a real
/// date, hours 00–23, minutes and seconds 00–59 (no leap second).
fn strict_tdate(text: &str) -> Option<OffsetDateTime> {
    let b = text.as_bytes();
    let [
        y0,
        y1,
        y2,
        y3,
        b'-',
        mo0,
        mo1,
        b'-',
        d0,
        d1,
        b'T',
        h0,
        h1,
        b':',
        mi0,
        mi1,
        b':',
        s0,
        s1,
        b'Z',
    ] = *b
    else {
        return None;
    };
    let num = |ds: &[u8]| -> Option<u16> {
        ds.iter().try_fold(0u16, |acc, &d| {
            d.is_ascii_digit().then(|| acc * 10 + u16::from(d - b'0'))
        })
    };
    let date = kmid_schema::date::parse_full_date(core::str::from_utf8(b.get(..10)?).ok()?)?;
    let _ = (y0, y1, y2, y3, mo0, mo1, d0, d1);
    let hour = u8::try_from(num(&[h0, h1])?).ok()?;
    let minute = u8::try_from(num(&[mi0, mi1])?).ok()?;
    let second = u8::try_from(num(&[s0, s1])?).ok()?;
    let time = time::Time::from_hms(hour, minute, second).ok()?;
    Some(time::PrimitiveDateTime::new(date, time).assume_utc())
}

/// Field access on a decoded map, with paths in errors.
pub(crate) struct Fields<'i, 'a> {
    item: &'i Item<'a>,
    path: String,
}

impl<'i, 'a> Fields<'i, 'a> {
    pub(crate) fn new(item: &'i Item<'a>, path: &str) -> Result<Self, MdocError> {
        if item.as_map().is_none() {
            return Err(malformed(path, "a map"));
        }
        Ok(Self {
            item,
            path: path.to_owned(),
        })
    }

    pub(crate) fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    pub(crate) fn opt(&self, key: &str) -> Option<&'i Item<'a>> {
        self.item.get(key)
    }

    pub(crate) fn req(&self, key: &'static str) -> Result<&'i Item<'a>, MdocError> {
        self.item
            .get(key)
            .ok_or_else(|| malformed(self.path(key), "a required member"))
    }

    pub(crate) fn text(&self, key: &'static str) -> Result<&'a str, MdocError> {
        self.req(key)?
            .as_text()
            .ok_or_else(|| malformed(self.path(key), "a text string"))
    }

    pub(crate) fn bytes(&self, key: &'static str) -> Result<&'a [u8], MdocError> {
        self.req(key)?
            .as_bytes()
            .ok_or_else(|| malformed(self.path(key), "a byte string"))
    }

    pub(crate) fn uint(&self, key: &'static str) -> Result<u64, MdocError> {
        self.req(key)?
            .as_uint()
            .ok_or_else(|| malformed(self.path(key), "an unsigned integer"))
    }

    pub(crate) fn embedded(&self, key: &'static str) -> Result<&'i Item<'a>, MdocError> {
        let item = self.req(key)?;
        item.as_embedded_cbor()
            .ok_or_else(|| malformed(self.path(key), "#6.24(bstr .cbor …)"))?;
        Ok(item)
    }
}

/// The entries of a map item whose keys must be text.
pub(crate) fn text_keyed<'i, 'a>(
    item: &'i Item<'a>,
    path: &str,
) -> Result<Vec<(&'a str, &'i Item<'a>)>, MdocError> {
    let entries = item.as_map().ok_or_else(|| malformed(path, "a map"))?;
    entries
        .iter()
        .map(|(k, v)| {
            k.as_text()
                .map(|k| (k, v))
                .ok_or_else(|| malformed(path, "text keys"))
        })
        .collect()
}

/// The elements of an array item.
pub(crate) fn array<'i, 'a>(item: &'i Item<'a>, path: &str) -> Result<&'i [Item<'a>], MdocError> {
    item.as_array().ok_or_else(|| malformed(path, "an array"))
}

/// Decodes the content of a `#6.24(bstr)` item, with the same limits as the outer input.
pub(crate) fn decode_embedded<'a>(
    item: &Item<'a>,
    path: &str,
    limits: &crate::cbor::DecodeBudget,
) -> Result<Item<'a>, MdocError> {
    let bytes = item
        .as_embedded_cbor()
        .ok_or_else(|| malformed(path, "#6.24(bstr .cbor …)"))?;
    Ok(crate::cbor::decode_with(bytes, limits)?)
}

/// A COSE_Sign1 as received: the untagged array (RFC 9052 §4.2), or tag 18 around it, read
/// from the item the bounded reader already decoded (its bytes are not parsed again).
pub(crate) fn parse_sign1(item: &Item<'_>, path: &str) -> Result<CoseSign1, MdocError> {
    CoseSign1::from_item(item).map_err(|_| malformed(path, "a COSE_Sign1"))
}

/// A COSE_Mac0 as received: untagged, or tag 17 around it.
pub(crate) fn parse_mac0(item: &Item<'_>, path: &str) -> Result<CoseMac0, MdocError> {
    CoseMac0::from_item(item).map_err(|_| malformed(path, "a COSE_Mac0"))
}

/// The `x5chain` (label 33, RFC 9360) of a COSE_Sign1: one certificate as a byte string,
/// or several as an array of byte strings; the protected header wins over the unprotected one
/// (RFC 9052 §3).
pub(crate) fn x5chain(sign1: &CoseSign1) -> Option<&[Vec<u8>]> {
    sign1.x5chain()
}
