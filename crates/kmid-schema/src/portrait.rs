//! The holder's facial image.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{InvalidValue, SchemaError};

/// The largest portrait accepted, in bytes. ISO/IEC 18013-5 portraits are typically 10–30 KB.
pub const MAX_PORTRAIT_BYTES: usize = 512 * 1024;

/// A JPEG facial image (ISO/IEC 18013-5 `portrait`, SD-JWT VC `picture`).
///
/// Construction checks that the bytes start with the JPEG SOI marker and end with the EOI
/// marker and are at most [`MAX_PORTRAIT_BYTES`] long; the image itself is not decoded. In card
/// JSON the portrait is standard base64 (RFC 4648 §4, padded).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Portrait(Vec<u8>);

impl Portrait {
    /// Wraps JPEG bytes.
    ///
    /// # Errors
    /// [`SchemaError::InvalidField`] for `portrait`: [`InvalidValue::TooLong`] or
    /// [`InvalidValue::NotJpeg`].
    pub fn from_jpeg(bytes: impl Into<Vec<u8>>) -> Result<Self, SchemaError> {
        let bytes = bytes.into();
        if bytes.len() > MAX_PORTRAIT_BYTES {
            return Err(SchemaError::field(
                "portrait",
                InvalidValue::TooLong {
                    max: MAX_PORTRAIT_BYTES,
                    actual: bytes.len(),
                },
            ));
        }
        if !(bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && bytes.ends_with(&[0xFF, 0xD9])) {
            return Err(SchemaError::field("portrait", InvalidValue::NotJpeg));
        }
        Ok(Self(bytes))
    }

    /// The JPEG bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The media type, always `image/jpeg`.
    #[must_use]
    pub const fn media_type(&self) -> &'static str {
        "image/jpeg"
    }

    /// The portrait as an RFC 2397 data URL, `data:image/jpeg;base64,…`: the SD-JWT VC
    /// `picture` claim.
    #[must_use]
    pub fn data_url(&self) -> String {
        const PREFIX: &str = "data:image/jpeg;base64,";
        let mut url = String::with_capacity(
            PREFIX
                .len()
                .saturating_add(self.0.len().saturating_mul(4) / 3 + 4),
        );
        url.push_str(PREFIX);
        STANDARD.encode_string(&self.0, &mut url);
        url
    }
}

impl fmt::Debug for Portrait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Portrait({} bytes of image/jpeg)", self.0.len())
    }
}

impl Serialize for Portrait {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Portrait {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        // Refuse before decoding anything that could not fit.
        if text.len() > MAX_PORTRAIT_BYTES.saturating_mul(4) / 3 + 4 {
            return Err(D::Error::custom(SchemaError::field(
                "portrait",
                InvalidValue::TooLong {
                    max: MAX_PORTRAIT_BYTES,
                    actual: text.len().saturating_mul(3) / 4,
                },
            )));
        }
        let bytes = STANDARD
            .decode(text.as_bytes())
            .map_err(|_| D::Error::custom("field `portrait`: expected standard padded base64"))?;
        Self::from_jpeg(bytes).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TINY: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0xFF, 0xD9];

    #[test]
    fn accepts_jpeg_markers_only() {
        let p = Portrait::from_jpeg(TINY).unwrap();
        assert_eq!(p.as_bytes(), TINY);
        assert_eq!(p.data_url(), "data:image/jpeg;base64,/9j/4AAQ/9k=");
        for bad in [
            &b"\x89PNG\r\n\x1a\n"[..],
            &[0xFF, 0xD8, 0xFF][..],
            &[][..],
            &[0xFF, 0xD8, 0xFF, 0x00][..],
        ] {
            assert_eq!(
                Portrait::from_jpeg(bad),
                Err(SchemaError::field("portrait", InvalidValue::NotJpeg))
            );
        }
    }

    #[test]
    fn size_is_capped() {
        let mut big = vec![0u8; MAX_PORTRAIT_BYTES + 1];
        big[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
        assert!(matches!(
            Portrait::from_jpeg(big),
            Err(SchemaError::InvalidField {
                field: "portrait",
                kind: InvalidValue::TooLong { .. }
            })
        ));
    }

    #[test]
    fn json_is_base64_and_round_trips() {
        let p = Portrait::from_jpeg(TINY).unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(json, "\"/9j/4AAQ/9k=\"");
        assert_eq!(serde_json::from_str::<Portrait>(&json).unwrap(), p);
        assert!(serde_json::from_str::<Portrait>("\"/9j/4AAQ/9k\"").is_err());
        assert!(serde_json::from_str::<Portrait>("\"iVBORw0KGgo=\"").is_err());
    }
}
