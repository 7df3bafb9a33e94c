//! COSE_Key (RFC 9052 §7, RFC 9053 §7.1–7.2): the form of mdoc's `deviceKey` and `eReaderKey`,
//! and lossless conversion to and from [`Jwk`].

use ciborium::Value;
use coset::iana::{self, EnumI64};
use coset::{
    CborSerializable, CoseKey, CoseKeyBuilder, KeyType, Label, RegisteredLabelWithPrivate,
};

use crate::algorithm::{Algorithm, Curve};
use crate::error::{AlgorithmRefusal, CryptoError, KeyError};
use crate::jwk::Jwk;
use crate::key::{PrivateKey, PublicKey};

const CRV: i64 = -1;
const X: i64 = -2;
const Y: i64 = -3;
const D: i64 = -4;

fn cose_curve(curve: Curve) -> iana::EllipticCurve {
    match curve {
        Curve::P256 => iana::EllipticCurve::P_256,
        Curve::P384 => iana::EllipticCurve::P_384,
        Curve::P521 => iana::EllipticCurve::P_521,
        Curve::Ed25519 => iana::EllipticCurve::Ed25519,
    }
}

/// The parts of a COSE_Key this crate reads.
struct Parts {
    curve: Curve,
    x: Vec<u8>,
    /// `Err(sign)` for a compressed point (`y` given as a bool).
    y: Option<Result<Vec<u8>, bool>>,
    d: Option<zeroize::Zeroizing<Vec<u8>>>,
}

fn parts(key: &CoseKey) -> Result<Parts, KeyError> {
    let okp = match key.kty {
        KeyType::Assigned(iana::KeyType::EC2) => false,
        KeyType::Assigned(iana::KeyType::OKP) => true,
        ref other => {
            return Err(KeyError::UnsupportedKeyType(
                format!("{other:?}").chars().take(32).collect(),
            ));
        }
    };
    let mut crv = None;
    let (mut x, mut y, mut d) = (None, None, None);
    for (label, value) in &key.params {
        let Label::Int(label) = label else { continue };
        match (*label, value) {
            (CRV, Value::Integer(i)) => {
                crv = Some(i64::try_from(*i).map_err(|_| KeyError::Malformed("crv"))?)
            }
            (CRV, _) => return Err(KeyError::Malformed("crv")),
            (X, Value::Bytes(b)) => x = Some(b.clone()),
            (X, _) => return Err(KeyError::Malformed("x")),
            (Y, Value::Bytes(b)) => y = Some(Ok(b.clone())),
            (Y, Value::Bool(sign)) => y = Some(Err(*sign)),
            (Y, _) => return Err(KeyError::Malformed("y")),
            (D, Value::Bytes(b)) => d = Some(zeroize::Zeroizing::new(b.clone())),
            (D, _) => return Err(KeyError::Malformed("d")),
            _ => {}
        }
    }
    let crv = crv.ok_or(KeyError::Missing("crv"))?;
    let curve = [Curve::P256, Curve::P384, Curve::P521, Curve::Ed25519]
        .into_iter()
        .find(|c| cose_curve(*c).to_i64() == crv)
        .ok_or_else(|| KeyError::UnsupportedCurve(crv.to_string()))?;
    if okp != (curve == Curve::Ed25519) {
        return Err(KeyError::Malformed("kty (does not match crv)"));
    }
    Ok(Parts {
        curve,
        x: x.ok_or(KeyError::Missing("x"))?,
        y,
        d,
    })
}

fn public_from_parts(p: &Parts) -> Result<PublicKey, CryptoError> {
    match &p.y {
        None if p.curve == Curve::Ed25519 => PublicKey::from_coordinates(p.curve, &p.x, None),
        None => Err(KeyError::Missing("y").into()),
        Some(_) if p.curve == Curve::Ed25519 => {
            Err(KeyError::Malformed("y (an OKP key has none)").into())
        }
        Some(Ok(y)) => PublicKey::from_coordinates(p.curve, &p.x, Some(y)),
        Some(Err(sign)) => {
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
            point.extend_from_slice(&p.x);
            PublicKey::from_sec1(p.curve, &point)
        }
    }
}

fn builder(key: &PublicKey) -> CoseKeyBuilder {
    match key.y() {
        Some(y) => {
            CoseKeyBuilder::new_ec2_pub_key(cose_curve(key.curve()), key.x().to_vec(), y.to_vec())
        }
        None => CoseKeyBuilder::new_okp_key()
            .param(CRV, Value::from(cose_curve(key.curve()).to_i64()))
            .param(X, Value::Bytes(key.x().to_vec())),
    }
}

impl PublicKey {
    /// The key as a COSE_Key: EC2 `{1: 2, -1: crv, -2: x, -3: y}` or OKP `{1: 1, -1: 6, -2: x}`.
    #[must_use]
    pub fn to_cose_key(&self) -> CoseKey {
        builder(self).build()
    }

    /// The COSE_Key in CBOR. Map keys come out in the order above, which is also the
    /// deterministic (RFC 8949 §4.2.1) order.
    ///
    /// # Errors
    /// Only encoding failures, which do not occur for these keys.
    pub fn to_cose_key_bytes(&self) -> Result<Vec<u8>, CryptoError> {
        self.to_cose_key()
            .to_vec()
            .map_err(|_| KeyError::Encoding("COSE_Key").into())
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
        let key = CoseKey::from_slice(bytes).map_err(|_| KeyError::Encoding("COSE_Key CBOR"))?;
        Self::from_cose_key(&key)
    }
}

impl PrivateKey {
    /// The key as a private COSE_Key, with `d` (-4).
    ///
    /// # Errors
    /// Only backend failures.
    pub fn to_cose_key(&self) -> Result<CoseKey, CryptoError> {
        Ok(builder(self.public_key())
            .param(D, Value::Bytes(self.scalar()?.to_vec()))
            .build())
    }

    /// The private key of a COSE_Key with `d`; the public parameters must match it.
    ///
    /// # Errors
    /// [`KeyError::Missing`] without `d`, [`KeyError::Mismatch`], and any other [`KeyError`].
    pub fn from_cose_key(key: &CoseKey) -> Result<Self, CryptoError> {
        let p = parts(key)?;
        let public = public_from_parts(&p)?;
        let d = p.d.as_ref().ok_or(KeyError::Missing("d"))?;
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
        let mut b = builder(&public);
        if self.d.is_some() {
            let private = self.to_private_key()?;
            b = b.param(D, Value::Bytes(private.scalar()?.to_vec()));
        }
        if let Some(kid) = &self.kid {
            b = b.key_id(kid.as_bytes().to_vec());
        }
        if let Some(alg) = &self.alg {
            let alg = Algorithm::from_jose_name(alg)?;
            b = b.algorithm(iana::Algorithm::from_i64(alg.cose_id()).ok_or(
                CryptoError::UnsupportedAlgorithm(AlgorithmRefusal::UnknownCose(alg.cose_id())),
            )?);
        }
        Ok(b.build())
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
        if let Some(d) = &p.d {
            let private = PrivateKey::from_scalar(p.curve, d)?;
            if *private.public_key() != public {
                return Err(KeyError::Mismatch.into());
            }
            jwk.d = Some(crate::jwk::b64(d));
        }
        if !key.key_id.is_empty() {
            let kid = String::from_utf8(key.key_id.clone())
                .map_err(|_| KeyError::Malformed("kid (not UTF-8)"))?;
            jwk.kid = Some(kid);
        }
        if let Some(alg) = &key.alg {
            let alg = match alg {
                RegisteredLabelWithPrivate::Assigned(alg) => alg,
                RegisteredLabelWithPrivate::PrivateUse(id) => {
                    return Err(CryptoError::UnsupportedAlgorithm(
                        AlgorithmRefusal::UnknownCose(*id),
                    ));
                }
                RegisteredLabelWithPrivate::Text(_) => {
                    return Err(CryptoError::UnsupportedAlgorithm(AlgorithmRefusal::Missing));
                }
            };
            jwk.alg = Some(
                Algorithm::from_cose_id(alg.to_i64())?
                    .jose_name()
                    .to_owned(),
            );
        }
        Ok(jwk)
    }
}
