//! COSE_Key (RFC 9052 §7, RFC 9053 §7.1–7.2): the form of mdoc's `deviceKey` and `eReaderKey`,
//! read by the workspace's one CBOR reader, and lossless conversion to and from [`Jwk`].
//!
//! ```cddl
//! COSE_Key = { 1 => tstr / int,          ; kty: 1 OKP, 2 EC2
//!              ? 2 => bstr,              ; kid
//!              ? 3 => tstr / int,        ; alg
//!              -1 => int, -2 => bstr,    ; crv, x
//!              ? -3 => bstr / bool,      ; y (EC2), or its sign bit
//!              ? -4 => bstr,             ; d
//!              * label => values }
//! ```

use core::fmt;

use kmid_cbor::{CborLimits, Encoder, Item, Kind};
use zeroize::Zeroizing;

use crate::algorithm::{Algorithm, Curve};
use crate::error::{AlgorithmRefusal, CryptoError, KeyError};
use crate::jwk::Jwk;
use crate::key::{PrivateKey, PublicKey};

const KTY: i64 = 1;
const KID: i64 = 2;
const ALG: i64 = 3;
const CRV: i64 = -1;
const X: i64 = -2;
const Y: i64 = -3;
const D: i64 = -4;
/// `kty` values (RFC 9053 §7).
const KTY_OKP: i64 = 1;
const KTY_EC2: i64 = 2;

/// A COSE_Key is a few hundred bytes at most.
const KEY_LIMITS: CborLimits = CborLimits {
    max_input_bytes: 4096,
    max_depth: 4,
    max_items: 64,
};

/// The COSE curve identifier (RFC 9053 §7.1).
const fn cose_curve(curve: Curve) -> i64 {
    match curve {
        Curve::P256 => 1,
        Curve::P384 => 2,
        Curve::P521 => 3,
        Curve::Ed25519 => 6,
    }
}

/// The `y` of an EC2 key: the coordinate, or the sign bit of a compressed point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoseKeyY {
    /// The y coordinate.
    Coordinate(Vec<u8>),
    /// The sign of y (RFC 9053 §7.1.1: point compression).
    Sign(bool),
}

/// A COSE_Key: the parameters this crate reads and writes. Other parameters of a received
/// key are not kept.
#[derive(Clone, PartialEq, Eq)]
pub struct CoseKey {
    /// `kty` (1): 1 OKP, 2 EC2.
    pub kty: i64,
    /// `kid` (2).
    pub kid: Option<Vec<u8>>,
    /// `alg` (3), a COSE algorithm identifier.
    pub alg: Option<i64>,
    /// `crv` (-1).
    pub crv: Option<i64>,
    /// `x` (-2).
    pub x: Option<Vec<u8>>,
    /// `y` (-3).
    pub y: Option<CoseKeyY>,
    /// `d` (-4), the private scalar, wiped on drop.
    pub d: Option<Zeroizing<Vec<u8>>>,
}

impl fmt::Debug for CoseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoseKey")
            .field("kty", &self.kty)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("crv", &self.crv)
            .field("private", &self.d.is_some())
            .finish_non_exhaustive()
    }
}

impl CoseKey {
    /// Reads a COSE_Key map.
    ///
    /// # Errors
    /// [`KeyError`] naming the parameter; an unsupported `alg`.
    pub fn from_item(item: &Item<'_>) -> Result<Self, CryptoError> {
        let entries = item.as_map().ok_or(KeyError::Encoding("COSE_Key CBOR"))?;
        let mut key = Self {
            kty: 0,
            kid: None,
            alg: None,
            crv: None,
            x: None,
            y: None,
            d: None,
        };
        // The key type first: the negative labels mean other things for other key types
        // (-1 is a symmetric key's `k`).
        let kty = entries
            .iter()
            .find(|(label, _)| label.as_i64() == Some(KTY))
            .map(|(_, value)| value)
            .ok_or(KeyError::Missing("kty"))?;
        key.kty = match &kty.kind {
            Kind::Text(t) => {
                return Err(KeyError::UnsupportedKeyType(t.chars().take(32).collect()).into());
            }
            _ => kty.as_i64().ok_or(KeyError::Malformed("kty"))?,
        };
        if key.kty != KTY_OKP && key.kty != KTY_EC2 {
            return Err(KeyError::UnsupportedKeyType(key.kty.to_string()).into());
        }
        for (label, value) in entries {
            let Some(label) = label.as_i64() else {
                continue;
            };
            match label {
                KID => key.kid = Some(value.as_bytes().ok_or(KeyError::Malformed("kid"))?.to_vec()),
                ALG => match &value.kind {
                    Kind::Text(_) => {
                        return Err(CryptoError::UnsupportedAlgorithm(AlgorithmRefusal::Missing));
                    }
                    _ => key.alg = Some(value.as_i64().ok_or(KeyError::Malformed("alg"))?),
                },
                CRV => key.crv = Some(value.as_i64().ok_or(KeyError::Malformed("crv"))?),
                X => key.x = Some(value.as_bytes().ok_or(KeyError::Malformed("x"))?.to_vec()),
                Y => {
                    key.y = Some(match &value.kind {
                        Kind::Bytes(b) => CoseKeyY::Coordinate(b.to_vec()),
                        Kind::Bool(sign) => CoseKeyY::Sign(*sign),
                        _ => return Err(KeyError::Malformed("y").into()),
                    });
                }
                D => {
                    key.d = Some(Zeroizing::new(
                        value.as_bytes().ok_or(KeyError::Malformed("d"))?.to_vec(),
                    ));
                }
                _ => {}
            }
        }
        Ok(key)
    }

    /// Reads COSE_Key bytes; trailing bytes are refused.
    ///
    /// # Errors
    /// [`KeyError::Encoding`] for CBOR that is not one COSE_Key; as [`Self::from_item`].
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        let item = kmid_cbor::decode(bytes, &KEY_LIMITS)
            .map_err(|_| KeyError::Encoding("COSE_Key CBOR"))?;
        Self::from_item(&item)
    }

    /// The key's CBOR: `kty`, `kid`, `alg`, then `crv`, `x`, `y`, `d` (the order coset writes,
    /// and for these labels the deterministic order of RFC 8949 §4.2.1 too).
    #[must_use]
    pub fn to_vec(&self) -> Vec<u8> {
        let count = 1
            + usize::from(self.kid.is_some())
            + usize::from(self.alg.is_some())
            + usize::from(self.crv.is_some())
            + usize::from(self.x.is_some())
            + usize::from(self.y.is_some())
            + usize::from(self.d.is_some());
        let mut e = Encoder::with_capacity(160);
        e.map(count).int(KTY).int(self.kty);
        if let Some(kid) = &self.kid {
            e.int(KID).bytes(kid);
        }
        if let Some(alg) = self.alg {
            e.int(ALG).int(alg);
        }
        if let Some(crv) = self.crv {
            e.int(CRV).int(crv);
        }
        if let Some(x) = &self.x {
            e.int(X).bytes(x);
        }
        match &self.y {
            Some(CoseKeyY::Coordinate(y)) => {
                e.int(Y).bytes(y);
            }
            Some(CoseKeyY::Sign(sign)) => {
                e.int(Y).bool(*sign);
            }
            None => {}
        }
        if let Some(d) = &self.d {
            e.int(D).bytes(d);
        }
        e.finish()
    }
}

/// The parts of a COSE_Key this crate reads.
struct Parts<'k> {
    curve: Curve,
    x: &'k [u8],
    y: Option<&'k CoseKeyY>,
    d: Option<&'k [u8]>,
}

fn parts(key: &CoseKey) -> Result<Parts<'_>, KeyError> {
    let okp = match key.kty {
        KTY_EC2 => false,
        KTY_OKP => true,
        other => return Err(KeyError::UnsupportedKeyType(other.to_string())),
    };
    let crv = key.crv.ok_or(KeyError::Missing("crv"))?;
    let curve = [Curve::P256, Curve::P384, Curve::P521, Curve::Ed25519]
        .into_iter()
        .find(|c| cose_curve(*c) == crv)
        .ok_or_else(|| KeyError::UnsupportedCurve(crv.to_string()))?;
    if okp != (curve == Curve::Ed25519) {
        return Err(KeyError::Malformed("kty (does not match crv)"));
    }
    Ok(Parts {
        curve,
        x: key.x.as_deref().ok_or(KeyError::Missing("x"))?,
        y: key.y.as_ref(),
        d: key.d.as_deref().map(Vec::as_slice),
    })
}

fn public_from_parts(p: &Parts<'_>) -> Result<PublicKey, CryptoError> {
    match p.y {
        None if p.curve == Curve::Ed25519 => PublicKey::from_coordinates(p.curve, p.x, None),
        None => Err(KeyError::Missing("y").into()),
        Some(_) if p.curve == Curve::Ed25519 => {
            Err(KeyError::Malformed("y (an OKP key has none)").into())
        }
        Some(CoseKeyY::Coordinate(y)) => PublicKey::from_coordinates(p.curve, p.x, Some(y)),
        Some(CoseKeyY::Sign(sign)) => {
            if p.x.len() != p.curve.coordinate_len() {
                return Err(KeyError::WrongLength {
                    member: "x",
                    expected: p.curve.coordinate_len(),
                    actual: p.x.len(),
                }
                .into());
            }
            let mut point = Vec::with_capacity(p.x.len().saturating_add(1));
            point.push(if *sign { 3 } else { 2 });
            point.extend_from_slice(p.x);
            PublicKey::from_sec1(p.curve, &point)
        }
    }
}

/// The public COSE_Key of `key`: EC2 `{1: 2, -1: crv, -2: x, -3: y}` or OKP
/// `{1: 1, -1: 6, -2: x}`.
fn public_cose_key(key: &PublicKey) -> CoseKey {
    CoseKey {
        kty: if key.y().is_some() { KTY_EC2 } else { KTY_OKP },
        kid: None,
        alg: None,
        crv: Some(cose_curve(key.curve())),
        x: Some(key.x().to_vec()),
        y: key.y().map(|y| CoseKeyY::Coordinate(y.to_vec())),
        d: None,
    }
}

impl PublicKey {
    /// The key as a COSE_Key: EC2 `{1: 2, -1: crv, -2: x, -3: y}` or OKP `{1: 1, -1: 6, -2: x}`.
    #[must_use]
    pub fn to_cose_key(&self) -> CoseKey {
        public_cose_key(self)
    }

    /// The COSE_Key in CBOR. Map keys come out in the order above, which is also the
    /// deterministic (RFC 8949 §4.2.1) order.
    ///
    /// # Errors
    /// Only encoding failures, which do not occur for these keys.
    pub fn to_cose_key_bytes(&self) -> Result<Vec<u8>, CryptoError> {
        Ok(self.to_cose_key().to_vec())
    }

    /// The public key of a COSE_Key (EC2 with `y` as bytes or as a sign bit, or OKP Ed25519).
    /// A private `d`, if present, is ignored.
    ///
    /// # Errors
    /// Any [`KeyError`].
    pub fn from_cose_key(key: &CoseKey) -> Result<Self, CryptoError> {
        public_from_parts(&parts(key)?)
    }

    /// The public key of CBOR COSE_Key bytes; trailing bytes are refused.
    ///
    /// # Errors
    /// [`KeyError::Encoding`] for CBOR that is not one COSE_Key, and any [`KeyError`].
    pub fn from_cose_key_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        Self::from_cose_key(&CoseKey::from_slice(bytes)?)
    }
}

impl PrivateKey {
    /// The key as a private COSE_Key, with `d` (-4).
    ///
    /// # Errors
    /// Only backend failures.
    pub fn to_cose_key(&self) -> Result<CoseKey, CryptoError> {
        let mut key = public_cose_key(self.public_key());
        key.d = Some(self.scalar()?);
        Ok(key)
    }

    /// The private key of a COSE_Key with `d`; the public parameters must match it.
    ///
    /// # Errors
    /// [`KeyError::Missing`] without `d`, [`KeyError::Mismatch`], and any other [`KeyError`].
    pub fn from_cose_key(key: &CoseKey) -> Result<Self, CryptoError> {
        let p = parts(key)?;
        let public = public_from_parts(&p)?;
        let d = p.d.ok_or(KeyError::Missing("d"))?;
        let private = Self::from_scalar(p.curve, d)?;
        if *private.public_key() != public {
            return Err(KeyError::Mismatch.into());
        }
        Ok(private)
    }
}

impl Jwk {
    /// The same key as a COSE_Key, losing nothing this crate understands: key material
    /// (public and private), `kid` (as its UTF-8 bytes) and `alg` (JOSE name to COSE id).
    ///
    /// # Errors
    /// Any [`KeyError`] of the key material, or an `alg` that is not a supported algorithm.
    pub fn to_cose_key(&self) -> Result<CoseKey, CryptoError> {
        let public = self.to_public_key()?;
        let mut key = public_cose_key(&public);
        if self.d.is_some() {
            key.d = Some(self.to_private_key()?.scalar()?);
        }
        // An empty kid is no kid (as coset writes it).
        key.kid = self
            .kid
            .as_ref()
            .filter(|k| !k.is_empty())
            .map(|k| k.as_bytes().to_vec());
        if let Some(alg) = &self.alg {
            key.alg = Some(Algorithm::from_jose_name(alg)?.cose_id());
        }
        Ok(key)
    }

    /// The same key as a JWK: the inverse of [`Self::to_cose_key`]. A `kid` must be UTF-8 to
    /// become a JWK `kid` string.
    ///
    /// # Errors
    /// Any [`KeyError`], [`KeyError::Malformed`] for a non-UTF-8 `kid`.
    pub fn from_cose_key(key: &CoseKey) -> Result<Self, CryptoError> {
        let p = parts(key)?;
        let public = public_from_parts(&p)?;
        let mut jwk = Jwk::from(&public);
        if let Some(d) = p.d {
            let private = PrivateKey::from_scalar(p.curve, d)?;
            if *private.public_key() != public {
                return Err(KeyError::Mismatch.into());
            }
            jwk.d = Some(crate::jwk::b64(d));
        }
        if let Some(kid) = key.kid.as_ref().filter(|k| !k.is_empty()) {
            let kid = String::from_utf8(kid.clone())
                .map_err(|_| KeyError::Malformed("kid (not UTF-8)"))?;
            jwk.kid = Some(kid);
        }
        if let Some(alg) = key.alg {
            jwk.alg = Some(Algorithm::from_cose_id(alg)?.jose_name().to_owned());
        }
        Ok(jwk)
    }
}
