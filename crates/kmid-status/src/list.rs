//! The status list itself (draft-ietf-oauth-status-list §4): a bit-packed array of 1, 2, 4 or
//! 8 bits per entry, packed from the least significant bit, compressed with DEFLATE in the ZLIB
//! format. Lookups and updates are O(1); decompression of untrusted input is capped.

use std::io::{Read, Write};

use flate2::Compression;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;

use crate::error::StatusListError;

/// Default cap on a decompressed list: 32 MiB, enough for 2^27 entries of 2 bits.
pub const DEFAULT_MAX_DECOMPRESSED: usize = 32 * 1024 * 1024;

/// Lists up to this many bytes are compressed at the best level by [`StatusList::compress`].
pub const BEST_COMPRESSION_MAX_BYTES: usize = 1024 * 1024;

/// The largest list [`StatusList::new`] makes: 512 MiB, 2^32 entries of one bit.
pub const MAX_LIST_BYTES: usize = 512 * 1024 * 1024;

/// A status list: `bits` per entry, `len` entries.
#[derive(Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: u8,
    len: u64,
    bytes: Vec<u8>,
}

impl core::fmt::Debug for StatusList {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "StatusList({} entries of {} bits)", self.len, self.bits)
    }
}

fn check_bits(bits: u64) -> Result<u8, StatusListError> {
    match bits {
        1 | 2 | 4 | 8 => u8::try_from(bits).map_err(|_| StatusListError::Bits(bits)),
        other => Err(StatusListError::Bits(other)),
    }
}

impl StatusList {
    /// A list of `len` entries, all 0 (VALID).
    ///
    /// # Errors
    /// [`StatusListError::Bits`], or [`StatusListError::TooLarge`] when the list would take
    /// more than [`MAX_LIST_BYTES`].
    pub fn new(bits: u8, len: u64) -> Result<Self, StatusListError> {
        let bits = check_bits(u64::from(bits))?;
        let bytes = len.checked_mul(u64::from(bits)).map(|b| b.div_ceil(8));
        let bytes = bytes
            .and_then(|b| usize::try_from(b).ok())
            .filter(|b| *b <= MAX_LIST_BYTES)
            .ok_or(StatusListError::TooLarge {
                max: MAX_LIST_BYTES,
            })?;
        Ok(Self {
            bits,
            len,
            bytes: vec![0; bytes],
        })
    }

    /// Bits per entry.
    #[must_use]
    pub const fn bits(&self) -> u8 {
        self.bits
    }

    /// Number of entries.
    #[must_use]
    pub const fn len(&self) -> u64 {
        self.len
    }

    /// Whether the list has no entries.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The uncompressed byte array.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn locate(&self, index: u64) -> Result<(usize, u32), StatusListError> {
        if index >= self.len {
            return Err(StatusListError::IndexOutOfRange {
                index,
                size: self.len,
            });
        }
        let bit =
            index
                .checked_mul(u64::from(self.bits))
                .ok_or(StatusListError::IndexOutOfRange {
                    index,
                    size: self.len,
                })?;
        let byte = usize::try_from(bit / 8).map_err(|_| StatusListError::IndexOutOfRange {
            index,
            size: self.len,
        })?;
        let shift = u32::try_from(bit % 8).unwrap_or(0);
        Ok((byte, shift))
    }

    fn mask(&self) -> u8 {
        u8::try_from((1u16 << self.bits) - 1).unwrap_or(u8::MAX)
    }

    /// The status value at `index`.
    ///
    /// # Errors
    /// [`StatusListError::IndexOutOfRange`].
    pub fn get(&self, index: u64) -> Result<u8, StatusListError> {
        let (byte, shift) = self.locate(index)?;
        let b = *self
            .bytes
            .get(byte)
            .ok_or(StatusListError::IndexOutOfRange {
                index,
                size: self.len,
            })?;
        Ok((b >> shift) & self.mask())
    }

    /// Sets the status value at `index`.
    ///
    /// # Errors
    /// [`StatusListError::IndexOutOfRange`] or [`StatusListError::ValueTooLarge`].
    pub fn set(&mut self, index: u64, value: u8) -> Result<(), StatusListError> {
        if value > self.mask() {
            return Err(StatusListError::ValueTooLarge {
                value,
                bits: self.bits,
            });
        }
        let (byte, shift) = self.locate(index)?;
        let mask = self.mask() << shift;
        let size = self.len;
        let b = self
            .bytes
            .get_mut(byte)
            .ok_or(StatusListError::IndexOutOfRange { index, size })?;
        *b = (*b & !mask) | (value << shift);
        Ok(())
    }

    /// The ZLIB-compressed byte array (`lst` before base64url).
    ///
    /// Lists up to [`BEST_COMPRESSION_MAX_BYTES`] (1 MiB uncompressed: 2^22 two-bit entries)
    /// are compressed at the best level, as draft-ietf-oauth-status-list §4.1 recommends. Larger
    /// ones at level 6: for a list of 2^26 two-bit entries with 1 % set, level 9 takes about 2 s
    /// and level 6 about 0.29 s for an 18 % larger result (1.07 MB instead of 0.91 MB; `cargo
    /// bench -p kmid-status`). [`Self::compress_with`] chooses the level explicitly.
    ///
    /// # Errors
    /// Only I/O errors of the in-memory compressor, which do not occur.
    pub fn compress(&self) -> Result<Vec<u8>, StatusListError> {
        self.compress_with(self.compression())
    }

    /// The level [`Self::compress`] uses for this list.
    fn compression(&self) -> Compression {
        if self.bytes.len() <= BEST_COMPRESSION_MAX_BYTES {
            Compression::best()
        } else {
            Compression::new(6)
        }
    }

    /// Compresses as [`Self::compress`] does into `out`, as the compressor produces its output
    /// (nothing of it is held here), and returns `out`.
    ///
    /// # Errors
    /// Errors of `out`.
    pub fn compress_into<W: Write>(&self, out: W) -> std::io::Result<W> {
        let mut e = ZlibEncoder::new(out, self.compression());
        e.write_all(&self.bytes)?;
        e.finish()
    }

    /// The ZLIB-compressed byte array at `level`.
    ///
    /// # Errors
    /// As [`Self::compress`].
    pub fn compress_with(&self, level: Compression) -> Result<Vec<u8>, StatusListError> {
        let mut e = ZlibEncoder::new(Vec::with_capacity(self.bytes.len() / 16 + 64), level);
        e.write_all(&self.bytes)
            .map_err(|_| StatusListError::Decompression)?;
        e.finish().map_err(|_| StatusListError::Decompression)
    }

    /// The JSON `StatusList` object (§4.2): `{"bits": …, "lst": base64url(ZLIB(list))}`.
    ///
    /// # Errors
    /// As [`Self::compress`].
    pub fn to_json(&self) -> Result<serde_json::Value, StatusListError> {
        Ok(
            serde_json::json!({ "bits": self.bits, "lst": kmid_crypto::jose::b64url(&self.compress()?) }),
        )
    }

    /// The CBOR `StatusList` map (§4.3): `{"bits": uint, "lst": bstr}`, in that order.
    ///
    /// # Errors
    /// As [`Self::compress`].
    pub fn to_cbor(&self) -> Result<Vec<u8>, StatusListError> {
        let lst = self.compress()?;
        let mut e = kmid_cbor::Encoder::with_capacity(lst.len().saturating_add(16));
        self.encode_cbor(&mut e, &lst);
        Ok(e.finish())
    }

    /// Writes the `StatusList` map with `lst` already compressed.
    pub(crate) fn encode_cbor(&self, e: &mut kmid_cbor::Encoder, lst: &[u8]) {
        e.map(2)
            .text("bits")
            .uint(u64::from(self.bits))
            .text("lst")
            .bytes(lst);
    }

    /// The list in a JSON `StatusList` object; unknown members (`aggregation_uri`) are
    /// ignored.
    ///
    /// # Errors
    /// [`StatusListError::Malformed`] for a missing or mistyped member, then as
    /// [`Self::decompress`].
    pub fn from_json(value: &serde_json::Value, max_bytes: usize) -> Result<Self, StatusListError> {
        let bits = value
            .get("bits")
            .and_then(serde_json::Value::as_u64)
            .ok_or(StatusListError::Malformed("status_list.bits"))?;
        let lst = value
            .get("lst")
            .and_then(serde_json::Value::as_str)
            .ok_or(StatusListError::Malformed("status_list.lst"))?;
        let lst = kmid_crypto::jose::b64url_decode(lst)
            .map_err(|_| StatusListError::Malformed("status_list.lst is not base64url"))?;
        Self::decompress(bits, &lst, max_bytes)
    }

    /// The list in a CBOR `StatusList` map, as the workspace's CBOR reader decoded it;
    /// unknown entries are ignored.
    ///
    /// # Errors
    /// As [`Self::from_json`].
    pub fn from_cbor_item(
        value: &kmid_cbor::Item<'_>,
        max_bytes: usize,
    ) -> Result<Self, StatusListError> {
        if value.as_map().is_none() {
            return Err(StatusListError::Malformed("status_list is not a map"));
        }
        let bits = value
            .get("bits")
            .and_then(kmid_cbor::Item::as_uint)
            .ok_or(StatusListError::Malformed("status_list.bits"))?;
        let lst = value
            .get("lst")
            .and_then(kmid_cbor::Item::as_bytes)
            .ok_or(StatusListError::Malformed("status_list.lst"))?;
        Self::decompress(bits, lst, max_bytes)
    }

    /// The list in the CBOR bytes of a `StatusList` map.
    ///
    /// # Errors
    /// [`StatusListError::Malformed`] for bytes that are not one small CBOR map; as
    /// [`Self::from_cbor_item`].
    pub fn from_cbor(bytes: &[u8], max_bytes: usize) -> Result<Self, StatusListError> {
        let limits = kmid_cbor::CborLimits {
            max_input_bytes: bytes.len(),
            max_depth: 4,
            max_items: 64,
        };
        let item = kmid_cbor::decode(bytes, &limits)
            .map_err(|_| StatusListError::Malformed("status_list is not CBOR"))?;
        Self::from_cbor_item(&item, max_bytes)
    }

    /// Decompresses `lst` into a list of `bits` per entry, reading at most `max_bytes`
    /// decompressed bytes: a ZLIB bomb is an error, never an allocation of what it claims.
    /// The list's length is the number of entries the bytes hold.
    ///
    /// # Errors
    /// [`StatusListError::Bits`], [`StatusListError::Decompression`] (not ZLIB, truncated,
    /// trailing data), [`StatusListError::TooLarge`].
    pub fn decompress(bits: u64, lst: &[u8], max_bytes: usize) -> Result<Self, StatusListError> {
        let bits = check_bits(bits)?;
        let mut decoder = ZlibDecoder::new(lst);
        let mut bytes = Vec::with_capacity(lst.len().saturating_mul(4).min(max_bytes));
        let limit = u64::try_from(max_bytes)
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        (&mut decoder)
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|_| StatusListError::Decompression)?;
        if bytes.len() > max_bytes {
            return Err(StatusListError::TooLarge { max: max_bytes });
        }
        // The whole input must be one ZLIB stream.
        if decoder.total_in() != u64::try_from(lst.len()).unwrap_or(u64::MAX) {
            return Err(StatusListError::Decompression);
        }
        let len = u64::try_from(bytes.len())
            .unwrap_or(u64::MAX)
            .saturating_mul(8)
            / u64::from(bits);
        Ok(Self { bits, len, bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drafts_section_4_1_examples() {
        // 1 bit: statuses 1,0,0,1,1,1,0,1, 1,1,0,0,0,1,0,1 pack to B9 A3.
        let mut l = StatusList::new(1, 16).unwrap();
        for (i, v) in [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
            .into_iter()
            .enumerate()
        {
            l.set(u64::try_from(i).unwrap(), v).unwrap();
        }
        assert_eq!(l.as_bytes(), [0xB9, 0xA3]);
        assert_eq!(hex::encode(l.compress().unwrap()), "78dadbb918000217015d");
        // 2 bits: 1,2,0,3, 0,1,0,1, 1,2,3,3 pack to C9 44 F9.
        let mut l = StatusList::new(2, 12).unwrap();
        for (i, v) in [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3].into_iter().enumerate() {
            l.set(u64::try_from(i).unwrap(), v).unwrap();
        }
        assert_eq!(l.as_bytes(), [0xC9, 0x44, 0xF9]);
        assert_eq!(hex::encode(l.compress().unwrap()), "78da3be9f2130003df0207");
        let back = StatusList::decompress(2, &hex::decode("78da3be9f2130003df0207").unwrap(), 1024)
            .unwrap();
        assert_eq!(back.get(1).unwrap(), 2);
        assert_eq!(back.get(10).unwrap(), 3);
    }

    #[test]
    fn bounds_bits_and_values() {
        assert_eq!(StatusList::new(3, 8).unwrap_err(), StatusListError::Bits(3));
        let mut l = StatusList::new(2, 5).unwrap();
        assert_eq!(
            l.set(5, 1).unwrap_err(),
            StatusListError::IndexOutOfRange { index: 5, size: 5 }
        );
        assert_eq!(
            l.set(0, 4).unwrap_err(),
            StatusListError::ValueTooLarge { value: 4, bits: 2 }
        );
        assert_eq!(
            l.get(7).unwrap_err(),
            StatusListError::IndexOutOfRange { index: 7, size: 5 }
        );
        l.set(4, 3).unwrap();
        assert_eq!(l.get(4).unwrap(), 3);
        assert_eq!(l.get(3).unwrap(), 0);
    }

    #[test]
    fn bombs_and_broken_streams_are_refused() {
        let zeros = StatusList::new(8, 1 << 20).unwrap().compress().unwrap();
        assert!(
            zeros.len() < 2048,
            "1 MiB of zeros compresses to {} bytes",
            zeros.len()
        );
        assert_eq!(
            StatusList::decompress(8, &zeros, 64 * 1024).unwrap_err(),
            StatusListError::TooLarge { max: 64 * 1024 }
        );
        assert!(StatusList::decompress(8, &zeros, 1 << 20).is_ok());
        assert_eq!(
            StatusList::decompress(8, &zeros[..zeros.len() - 4], 1 << 20).unwrap_err(),
            StatusListError::Decompression
        );
        let mut trailing = zeros.clone();
        trailing.push(0);
        assert_eq!(
            StatusList::decompress(8, &trailing, 1 << 20).unwrap_err(),
            StatusListError::Decompression
        );
        assert_eq!(
            StatusList::decompress(8, b"not zlib", 1 << 20).unwrap_err(),
            StatusListError::Decompression
        );
        assert_eq!(
            StatusList::decompress(3, &zeros, 1 << 20).unwrap_err(),
            StatusListError::Bits(3)
        );
    }
}
