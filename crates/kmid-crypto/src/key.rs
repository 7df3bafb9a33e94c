//! Public and private keys on the supported curves, backed by OpenSSL.

use core::cmp::Ordering;
use core::fmt;
use std::sync::OnceLock;

use openssl::bn::{BigNum, BigNumContext};
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private, Public};
use zeroize::Zeroizing;

use crate::algorithm::{Algorithm, Curve};
use crate::error::{CryptoError, KeyError};
use crate::random::{Random, SystemRandom};

fn group(curve: Curve) -> Result<EcGroup, CryptoError> {
    let nid = match curve {
        Curve::P256 => Nid::X9_62_PRIME256V1,
        Curve::P384 => Nid::SECP384R1,
        Curve::P521 => Nid::SECP521R1,
        Curve::Ed25519 => {
            return Err(
                KeyError::UnsupportedCurve("Ed25519 is not a Weierstrass curve".into()).into(),
            );
        }
    };
    Ok(EcGroup::from_curve_name(nid)?)
}

/// A curve's group and field prime, built once per process.
struct CurveParams {
    group: EcGroup,
    p: BigNum,
}

fn curve_params(curve: Curve) -> Result<&'static CurveParams, CryptoError> {
    static P256: OnceLock<CurveParams> = OnceLock::new();
    static P384: OnceLock<CurveParams> = OnceLock::new();
    static P521: OnceLock<CurveParams> = OnceLock::new();
    let cell = match curve {
        Curve::P256 => &P256,
        Curve::P384 => &P384,
        Curve::P521 => &P521,
        Curve::Ed25519 => {
            return Err(
                KeyError::UnsupportedCurve("Ed25519 is not a Weierstrass curve".into()).into(),
            );
        }
    };
    if let Some(params) = cell.get() {
        return Ok(params);
    }
    let group = group(curve)?;
    let mut ctx = BigNumContext::new()?;
    let (mut p, mut a, mut b) = (BigNum::new()?, BigNum::new()?, BigNum::new()?);
    group.components_gfp(&mut p, &mut a, &mut b, &mut ctx)?;
    Ok(cell.get_or_init(|| CurveParams { group, p }))
}

fn curve_of_group(group: &openssl::ec::EcGroupRef) -> Result<Curve, KeyError> {
    match group.curve_name() {
        Some(Nid::X9_62_PRIME256V1) => Ok(Curve::P256),
        Some(Nid::SECP384R1) => Ok(Curve::P384),
        Some(Nid::SECP521R1) => Ok(Curve::P521),
        other => Err(KeyError::UnsupportedCurve(format!("{other:?}"))),
    }
}

fn check_len(member: &'static str, bytes: &[u8], curve: Curve) -> Result<(), KeyError> {
    let expected = curve.coordinate_len();
    if bytes.len() == expected {
        Ok(())
    } else {
        Err(KeyError::WrongLength {
            member,
            expected,
            actual: bytes.len(),
        })
    }
}

/// A public key on one of the supported curves.
///
/// A value of this type is always a valid point on its curve (checked on construction). It keeps
/// both its raw coordinates (for JWK and COSE_Key) and the parsed backend key, so verifying with
/// it parses nothing.
#[derive(Clone)]
pub struct PublicKey {
    curve: Curve,
    x: Vec<u8>,
    /// `None` for Ed25519.
    y: Option<Vec<u8>>,
    pub(crate) pkey: PKey<Public>,
    /// The same key as an `EC_KEY`, for the low-level ECDSA path.
    pub(crate) ec: Option<EcKey<Public>>,
}

impl PublicKey {
    /// An EC public key from its affine coordinates, each exactly the curve's coordinate length
    /// (RFC 7518 §6.2.1.2), or an Ed25519 key from its 32 bytes (`y` must be `None`).
    ///
    /// # Errors
    /// [`KeyError::WrongLength`], [`KeyError::Missing`] or [`KeyError::NotOnCurve`].
    pub fn from_coordinates(curve: Curve, x: &[u8], y: Option<&[u8]>) -> Result<Self, CryptoError> {
        check_len("x", x, curve)?;
        if curve == Curve::Ed25519 {
            if y.is_some() {
                return Err(KeyError::Malformed("y (an Ed25519 key has none)").into());
            }
            let pkey = PKey::public_key_from_raw_bytes(x, Id::ED25519)
                .map_err(|_| KeyError::NotOnCurve)?;
            return Ok(Self {
                curve,
                x: x.to_vec(),
                y: None,
                pkey,
                ec: None,
            });
        }
        let y = y.ok_or(KeyError::Missing("y"))?;
        check_len("y", y, curve)?;
        let CurveParams { group, p } = curve_params(curve)?;
        let (bx, by) = (BigNum::from_slice(x)?, BigNum::from_slice(y)?);
        // Coordinates are field elements: below p (x + p would name the same point again).
        if bx.ucmp(p) != Ordering::Less || by.ucmp(p) != Ordering::Less {
            return Err(KeyError::NotOnCurve.into());
        }
        let mut ctx = BigNumContext::new()?;
        let mut point = EcPoint::new(group)?;
        point
            .set_affine_coordinates_gfp(group, &bx, &by, &mut ctx)
            .map_err(|_| KeyError::NotOnCurve)?;
        if !point
            .is_on_curve(group, &mut ctx)
            .map_err(|_| KeyError::NotOnCurve)?
        {
            return Err(KeyError::NotOnCurve.into());
        }
        // P-256, P-384 and P-521 have cofactor 1: every point on the curve with affine
        // coordinates (the point at infinity has none) is in the prime-order group, so the
        // n·Q = O multiplication of EC_KEY_check_key would only repeat the check above at the
        // cost of a signature verification.
        let ec = EcKey::from_public_key(group, &point).map_err(|_| KeyError::NotOnCurve)?;
        let pkey = PKey::from_ec_key(ec.clone())?;
        Ok(Self {
            curve,
            x: x.to_vec(),
            y: Some(y.to_vec()),
            pkey,
            ec: Some(ec),
        })
    }

    /// An EC public key from a SEC 1 point: uncompressed (`04 ‖ x ‖ y`) or compressed
    /// (`02`/`03 ‖ x`).
    ///
    /// # Errors
    /// [`KeyError::Encoding`] or [`KeyError::NotOnCurve`].
    pub fn from_sec1(curve: Curve, point: &[u8]) -> Result<Self, CryptoError> {
        let group = group(curve)?;
        let mut ctx = BigNumContext::new()?;
        let expected = match point.first() {
            Some(4) => 1 + 2 * curve.coordinate_len(),
            Some(2 | 3) => 1 + curve.coordinate_len(),
            _ => return Err(KeyError::Encoding("SEC 1 point").into()),
        };
        if point.len() != expected {
            return Err(KeyError::Encoding("SEC 1 point").into());
        }
        let p = EcPoint::from_bytes(&group, point, &mut ctx).map_err(|_| KeyError::NotOnCurve)?;
        let ec = EcKey::from_public_key(&group, &p).map_err(|_| KeyError::NotOnCurve)?;
        Self::from_ec_key(curve, &ec)
    }

    fn from_ec_key<T: openssl::pkey::HasPublic>(
        curve: Curve,
        ec: &EcKey<T>,
    ) -> Result<Self, CryptoError> {
        let group = ec.group();
        let mut ctx = BigNumContext::new()?;
        let (mut bx, mut by) = (BigNum::new()?, BigNum::new()?);
        ec.public_key()
            .affine_coordinates(group, &mut bx, &mut by, &mut ctx)?;
        let len =
            i32::try_from(curve.coordinate_len()).map_err(|_| KeyError::Malformed("curve"))?;
        Self::from_coordinates(
            curve,
            &bx.to_vec_padded(len)?,
            Some(&by.to_vec_padded(len)?),
        )
    }

    /// The key in a parsed OpenSSL key (from a certificate or a private key).
    pub(crate) fn from_pkey(
        pkey: &PKey<impl openssl::pkey::HasPublic>,
    ) -> Result<Self, CryptoError> {
        match pkey.id() {
            Id::ED25519 => {
                let raw = pkey.raw_public_key()?;
                Self::from_coordinates(Curve::Ed25519, &raw, None)
            }
            Id::EC => {
                let ec = pkey.ec_key()?;
                let curve = curve_of_group(ec.group())?;
                Self::from_ec_key(curve, &ec)
            }
            other => Err(KeyError::UnsupportedKeyType(format!("{other:?}")).into()),
        }
    }

    /// A key from DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
    ///
    /// # Errors
    /// [`KeyError::Encoding`], or any error of [`Self::from_coordinates`].
    pub fn from_spki_der(der: &[u8]) -> Result<Self, CryptoError> {
        let pkey = PKey::public_key_from_der(der)
            .map_err(|_| KeyError::Encoding("SubjectPublicKeyInfo DER"))?;
        let key = Self::from_pkey(&pkey)?;
        // d2i stops after one object: refuse anything after it.
        if key.to_spki_der()?.len() != der.len() {
            return Err(KeyError::Encoding("SubjectPublicKeyInfo DER (trailing bytes)").into());
        }
        Ok(key)
    }

    /// A key from a PEM `PUBLIC KEY` block.
    ///
    /// # Errors
    /// [`KeyError::Encoding`], or any error of [`Self::from_coordinates`].
    pub fn from_spki_pem(pem: &str) -> Result<Self, CryptoError> {
        let pkey = PKey::public_key_from_pem(pem.as_bytes())
            .map_err(|_| KeyError::Encoding("PUBLIC KEY PEM"))?;
        Self::from_pkey(&pkey)
    }

    /// DER SubjectPublicKeyInfo.
    ///
    /// # Errors
    /// Only backend failures.
    pub fn to_spki_der(&self) -> Result<Vec<u8>, CryptoError> {
        Ok(self.pkey.public_key_to_der()?)
    }

    /// PEM `PUBLIC KEY`.
    ///
    /// # Errors
    /// Only backend failures.
    pub fn to_spki_pem(&self) -> Result<String, CryptoError> {
        let pem = self.pkey.public_key_to_pem()?;
        String::from_utf8(pem).map_err(|_| KeyError::Encoding("PEM").into())
    }

    /// The curve.
    #[must_use]
    pub const fn curve(&self) -> Curve {
        self.curve
    }

    /// The signature algorithm for this key.
    #[must_use]
    pub const fn algorithm(&self) -> Algorithm {
        self.curve.algorithm()
    }

    /// The x coordinate (the whole key for Ed25519).
    #[must_use]
    pub fn x(&self) -> &[u8] {
        &self.x
    }

    /// The y coordinate (`None` for Ed25519).
    #[must_use]
    pub fn y(&self) -> Option<&[u8]> {
        self.y.as_deref()
    }

    /// The uncompressed SEC 1 point `04 ‖ x ‖ y`, for EC keys.
    #[must_use]
    pub fn to_sec1_uncompressed(&self) -> Option<Vec<u8>> {
        let y = self.y.as_ref()?;
        let mut out =
            Vec::with_capacity(1usize.saturating_add(self.x.len()).saturating_add(y.len()));
        out.push(4);
        out.extend_from_slice(&self.x);
        out.extend_from_slice(y);
        Some(out)
    }

    /// Verifies `signature` (raw `r ‖ s`, or 64 Ed25519 bytes) over `message` with `algorithm`.
    ///
    /// # Errors
    /// [`CryptoError::UnsupportedAlgorithm`] when `algorithm` is not this key's,
    /// [`CryptoError::MalformedSignature`] on a wrong length, [`CryptoError::BadSignature`].
    pub fn verify(
        &self,
        algorithm: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        crate::provider::default()
            .signature_verifier
            .verify(algorithm, self, message, signature)
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.curve == other.curve && self.x == other.x && self.y == other.y
    }
}

impl Eq for PublicKey {}

impl core::hash::Hash for PublicKey {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.curve.hash(state);
        self.x.hash(state);
        self.y.hash(state);
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let thumb = crate::jwk::Jwk::from(self)
            .thumbprint_sha256()
            .unwrap_or_default();
        write!(
            f,
            "PublicKey({}, thumbprint {thumb})",
            self.curve.jwk_name()
        )
    }
}

/// A private key held in memory by the software backend.
///
/// Use it for holders, readers, tests and development; a production issuer keeps its key in an
/// HSM behind its own [`Signer`](crate::Signer). The scalar never appears in `Debug` output, and
/// the exports return [`Zeroizing`] buffers; OpenSSL clears its copy when the key is dropped.
pub struct PrivateKey {
    curve: Curve,
    pub(crate) pkey: PKey<Private>,
    pub(crate) ec: Option<EcKey<Private>>,
    public: PublicKey,
}

impl PrivateKey {
    /// A new random key from the system's secure random source.
    ///
    /// # Errors
    /// Only backend failures.
    pub fn generate(curve: Curve) -> Result<Self, CryptoError> {
        Self::generate_with(curve, &SystemRandom)
    }

    /// A new key whose private scalar is drawn from `random` (rejection sampling below the
    /// group order), so tests and vectors can make the same key again.
    ///
    /// # Errors
    /// Failures of `random`, or a backend failure.
    pub fn generate_with(curve: Curve, random: &dyn Random) -> Result<Self, CryptoError> {
        let mut d = Zeroizing::new(vec![0u8; curve.coordinate_len()]);
        for _ in 0..64 {
            random.fill_secret(&mut d)?;
            if curve == Curve::P521
                && let Some(top) = d.first_mut()
            {
                *top &= 0x01;
            }
            match Self::from_scalar(curve, &d) {
                Ok(key) => return Ok(key),
                Err(CryptoError::InvalidKey(KeyError::Malformed(
                    "d (zero or not below the group order)",
                ))) => {}
                Err(other) => return Err(other),
            }
        }
        Err(CryptoError::Signer(
            "random source produced no valid scalar in 64 draws".into(),
        ))
    }

    /// A key from its private scalar (EC: big-endian, exactly the coordinate length; Ed25519:
    /// the 32-byte seed).
    ///
    /// # Errors
    /// [`KeyError::WrongLength`], or [`KeyError::Malformed`] when the scalar is zero or not
    /// below the group order.
    pub fn from_scalar(curve: Curve, d: &[u8]) -> Result<Self, CryptoError> {
        check_len("d", d, curve)?;
        if curve == Curve::Ed25519 {
            let pkey = PKey::private_key_from_raw_bytes(d, Id::ED25519)?;
            let public = PublicKey::from_pkey(&pkey)?;
            return Ok(Self {
                curve,
                pkey,
                ec: None,
                public,
            });
        }
        let group = group(curve)?;
        let mut ctx = BigNumContext::new()?;
        let mut scalar = BigNum::from_slice(d)?;
        let mut order = BigNum::new()?;
        group.order(&mut order, &mut ctx)?;
        if scalar.num_bits() == 0 || scalar >= order {
            scalar.clear();
            return Err(KeyError::Malformed("d (zero or not below the group order)").into());
        }
        let mut point = EcPoint::new(&group)?;
        point.mul_generator2(&group, &scalar, &mut ctx)?;
        let ec = EcKey::from_private_components(&group, &scalar, &point);
        // EC_KEY_set_private_key copies the scalar; wipe this copy before it is freed.
        scalar.clear();
        let ec = ec?;
        ec.check_key()?;
        Self::from_ec(curve, ec)
    }

    fn from_ec(curve: Curve, ec: EcKey<Private>) -> Result<Self, CryptoError> {
        let public = PublicKey::from_ec_key(curve, &ec)?;
        let pkey = PKey::from_ec_key(ec.clone())?;
        Ok(Self {
            curve,
            pkey,
            ec: Some(ec),
            public,
        })
    }

    fn from_pkey(pkey: PKey<Private>) -> Result<Self, CryptoError> {
        match pkey.id() {
            Id::ED25519 => {
                let public = PublicKey::from_pkey(&pkey)?;
                Ok(Self {
                    curve: Curve::Ed25519,
                    pkey,
                    ec: None,
                    public,
                })
            }
            Id::EC => {
                let ec = pkey.ec_key()?;
                ec.check_key().map_err(|_| KeyError::NotOnCurve)?;
                let curve = curve_of_group(ec.group())?;
                Self::from_ec(curve, ec)
            }
            other => Err(KeyError::UnsupportedKeyType(format!("{other:?}")).into()),
        }
    }

    /// A key from DER PKCS#8 (RFC 5208 / RFC 5958).
    ///
    /// # Errors
    /// [`KeyError::Encoding`] or an unsupported key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        let pkey =
            PKey::private_key_from_pkcs8(der).map_err(|_| KeyError::Encoding("PKCS#8 DER"))?;
        Self::from_pkey(pkey)
    }

    /// A key from a PEM `PRIVATE KEY` (PKCS#8) or `EC PRIVATE KEY` (SEC 1) block.
    ///
    /// # Errors
    /// [`KeyError::Encoding`] or an unsupported key.
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let pkey = PKey::private_key_from_pem(pem.as_bytes())
            .map_err(|_| KeyError::Encoding("private key PEM"))?;
        Self::from_pkey(pkey)
    }

    /// DER PKCS#8.
    ///
    /// # Errors
    /// Only backend failures.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        Ok(Zeroizing::new(self.pkey.private_key_to_pkcs8()?))
    }

    /// PEM `PRIVATE KEY` (PKCS#8).
    ///
    /// # Errors
    /// Only backend failures.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, CryptoError> {
        let pem = Zeroizing::new(self.pkey.private_key_to_pem_pkcs8()?);
        let text = core::str::from_utf8(&pem).map_err(|_| KeyError::Encoding("PEM"))?;
        Ok(Zeroizing::new(text.to_owned()))
    }

    /// The private scalar (EC, big-endian, padded to the coordinate length) or Ed25519 seed.
    ///
    /// # Errors
    /// Only backend failures.
    pub fn scalar(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        match &self.ec {
            Some(ec) => {
                let len = i32::try_from(self.curve.coordinate_len())
                    .map_err(|_| KeyError::Malformed("curve"))?;
                Ok(Zeroizing::new(ec.private_key().to_vec_padded(len)?))
            }
            None => Ok(Zeroizing::new(self.pkey.raw_private_key()?)),
        }
    }

    /// The curve.
    #[must_use]
    pub const fn curve(&self) -> Curve {
        self.curve
    }

    /// The matching public key.
    #[must_use]
    pub const fn public_key(&self) -> &PublicKey {
        &self.public
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PrivateKey({}, public {:?}, private part redacted)",
            self.curve.jwk_name(),
            self.public
        )
    }
}
