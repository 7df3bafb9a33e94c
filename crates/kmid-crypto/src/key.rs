//! Public and private keys on the supported curves, backend-neutral: a public key is its curve
//! and coordinates (checked on the curve by the provider when it is made), a private key is a
//! provider's handle. Their encodings (SubjectPublicKeyInfo, PKCS#8, SEC 1, PEM) are written and
//! read here, with RustCrypto's `der` and `pem-rfc7468`, not by a backend.

use core::any::Any;
use core::fmt;
use std::sync::{Arc, OnceLock};

use der::asn1::ObjectIdentifier;
use der::{Decode as _, Encode as _, Reader as _, SliceReader, Tagged as _};
use zeroize::Zeroizing;

use crate::algorithm::{Algorithm, Curve};
use crate::error::{CryptoError, KeyError};
use crate::random::{Random, SystemRandom};
use crate::x509::der as der_writer;

/// `id-ecPublicKey` (RFC 5480 §2.1.1), its named curves, and `id-Ed25519` (RFC 8410 §3).
pub(crate) const OID_EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
pub(crate) const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
pub(crate) const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
pub(crate) const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
pub(crate) const OID_ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// A provider's parsed form of a public key, made once and shared by a key's clones.
pub type PreparedKey = Box<dyn Any + Send + Sync>;

/// The key operations a provider implements.
pub trait KeyProvider: Send + Sync {
    /// Checks that `(x, y)` is a point of `curve` with coordinates below the field prime (or
    /// that `x` is an Ed25519 key), and returns the provider's parsed form of it, if it keeps
    /// one. P-256, P-384 and P-521 have cofactor 1: a point on the curve with affine
    /// coordinates is in the prime-order group.
    ///
    /// # Errors
    /// [`KeyError::NotOnCurve`].
    fn check_public(
        &self,
        curve: Curve,
        x: &[u8],
        y: Option<&[u8]>,
    ) -> Result<Option<PreparedKey>, CryptoError>;

    /// The y coordinate of the point of `curve` with `x` whose y is odd (`y_odd`) or even
    /// (SEC 1 §2.3.4).
    ///
    /// # Errors
    /// [`KeyError::NotOnCurve`].
    fn decompress(&self, curve: Curve, x: &[u8], y_odd: bool) -> Result<Vec<u8>, CryptoError>;

    /// A private key from its scalar (EC: big-endian, the coordinate length; Ed25519: the
    /// 32-byte seed), with its public coordinates.
    ///
    /// # Errors
    /// [`KeyError::Malformed`] when the scalar is zero or not below the group order.
    fn private_key(&self, curve: Curve, d: &[u8]) -> Result<PrivateParts, CryptoError>;
}

/// What [`KeyProvider::private_key`] makes.
pub struct PrivateParts {
    /// The provider's key.
    pub secret: Box<dyn SecretKey>,
    /// The public x coordinate (the whole key for Ed25519).
    pub x: Vec<u8>,
    /// The public y coordinate (`None` for Ed25519).
    pub y: Option<Vec<u8>>,
    /// The provider's form of the key for its [`PrivateKey::with_prepared`] users, when
    /// making the key made one anyway (aws-lc parses the scalar into its ECDH key to compute
    /// the public point): kept, so that the first use does not parse it again.
    pub prepared: Option<PreparedKey>,
}

/// A private key held by a provider.
pub trait SecretKey: Send + Sync {
    /// Signs `message` (hashing it as the algorithm requires); a raw signature.
    ///
    /// # Errors
    /// Backend failures.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError>;
    /// Whether [`Self::sign_prehashed`] works (ECDSA: yes; Ed25519: no).
    fn signs_prehashed(&self) -> bool;
    /// Signs a digest of the algorithm's hash.
    ///
    /// # Errors
    /// [`CryptoError::Signer`] when unsupported or of the wrong length.
    fn sign_prehashed(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError>;
    /// The scalar (EC, big-endian, padded to the coordinate length) or Ed25519 seed.
    ///
    /// # Errors
    /// Backend failures.
    fn scalar(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError>;
    /// The provider's own type, for its key agreement.
    fn as_any(&self) -> &dyn Any;
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

/// A key's kept parsed form of type `T` in `cell`, or one `make` makes now and keeps (or uses
/// once, when the cell holds another provider's form).
fn prepared_with<K, T: Any + Send + Sync, R>(
    cell: &OnceLock<PreparedKey>,
    key: &K,
    make: impl Fn(&K) -> Result<T, CryptoError>,
    with: impl FnOnce(&T) -> Result<R, CryptoError>,
) -> Result<R, CryptoError> {
    if let Some(t) = cell.get().and_then(|p| p.downcast_ref::<T>()) {
        return with(t);
    }
    if cell.get().is_some() {
        return with(&make(key)?);
    }
    let made: PreparedKey = Box::new(make(key)?);
    let _ = cell.set(made);
    match cell.get().and_then(|p| p.downcast_ref::<T>()) {
        Some(t) => with(t),
        None => with(&make(key)?),
    }
}

fn keys() -> &'static dyn KeyProvider {
    crate::provider::default().keys
}

/// A public key on one of the supported curves.
///
/// A value of this type is always a valid point on its curve (the provider checked it on
/// construction). It keeps its raw coordinates (for JWK, COSE_Key and SPKI) and, made on first
/// use and shared by its clones, a provider's parsed form, so verifying with it parses nothing.
#[derive(Clone)]
pub struct PublicKey {
    curve: Curve,
    x: Vec<u8>,
    /// `None` for Ed25519.
    y: Option<Vec<u8>>,
    prepared: Arc<OnceLock<PreparedKey>>,
}

impl PublicKey {
    /// An EC public key from its affine coordinates, each exactly the curve's coordinate length
    /// (RFC 7518 §6.2.1.2), or an Ed25519 key from its 32 bytes (`y` must be `None`).
    ///
    /// # Errors
    /// [`KeyError::WrongLength`], [`KeyError::Missing`] or [`KeyError::NotOnCurve`].
    pub fn from_coordinates(curve: Curve, x: &[u8], y: Option<&[u8]>) -> Result<Self, CryptoError> {
        check_len("x", x, curve)?;
        match (curve, y) {
            (Curve::Ed25519, Some(_)) => {
                return Err(KeyError::Malformed("y (an Ed25519 key has none)").into());
            }
            (Curve::Ed25519, None) => {}
            (_, None) => return Err(KeyError::Missing("y").into()),
            (_, Some(y)) => check_len("y", y, curve)?,
        }
        let prepared = keys().check_public(curve, x, y)?;
        let cell = OnceLock::new();
        if let Some(p) = prepared {
            let _ = cell.set(p);
        }
        Ok(Self {
            curve,
            x: x.to_vec(),
            y: y.map(<[u8]>::to_vec),
            prepared: Arc::new(cell),
        })
    }

    /// An EC public key from a SEC 1 point: uncompressed (`04 ‖ x ‖ y`) or compressed
    /// (`02`/`03 ‖ x`).
    ///
    /// # Errors
    /// [`KeyError::Encoding`] or [`KeyError::NotOnCurve`].
    pub fn from_sec1(curve: Curve, point: &[u8]) -> Result<Self, CryptoError> {
        if curve == Curve::Ed25519 {
            return Err(KeyError::Encoding("SEC 1 point").into());
        }
        let len = curve.coordinate_len();
        match point.split_first() {
            Some((4, xy)) if xy.len() == 2 * len => {
                let (x, y) = xy.split_at(len);
                Self::from_coordinates(curve, x, Some(y))
            }
            Some((tag @ (2 | 3), x)) if x.len() == len => {
                let y = keys().decompress(curve, x, *tag == 3)?;
                Self::from_coordinates(curve, x, Some(&y))
            }
            _ => Err(KeyError::Encoding("SEC 1 point").into()),
        }
    }

    /// A key from DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7); trailing bytes are refused.
    ///
    /// # Errors
    /// [`KeyError::Encoding`], or any error of [`Self::from_coordinates`].
    pub fn from_spki_der(der: &[u8]) -> Result<Self, CryptoError> {
        let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(der)
            .map_err(|_| KeyError::Encoding("SubjectPublicKeyInfo DER"))?;
        Self::from_spki(&spki).map_err(CryptoError::from)
    }

    /// The key of a decoded SubjectPublicKeyInfo: an EC point on a named curve (RFC 5480
    /// §2.1.1) or Ed25519 (RFC 8410 §4).
    pub(crate) fn from_spki(
        spki: &x509_cert::spki::SubjectPublicKeyInfoOwned,
    ) -> Result<Self, KeyError> {
        let bits = spki
            .subject_public_key
            .as_bytes()
            .ok_or(KeyError::Encoding("SubjectPublicKeyInfo BIT STRING"))?;
        let algorithm = &spki.algorithm;
        let into_key = |e: CryptoError| match e {
            CryptoError::InvalidKey(k) => k,
            _ => KeyError::Encoding("public key"),
        };
        if algorithm.oid == OID_ED25519 {
            if algorithm.parameters.is_some() {
                return Err(KeyError::Encoding("Ed25519 parameters"));
            }
            return Self::from_coordinates(Curve::Ed25519, bits, None).map_err(into_key);
        }
        if algorithm.oid != OID_EC_PUBLIC_KEY {
            return Err(KeyError::UnsupportedKeyType(algorithm.oid.to_string()));
        }
        let curve_oid = algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            .ok_or(KeyError::Encoding("EC parameters (a named curve)"))?;
        Self::from_sec1(curve_of_oid(curve_oid)?, bits).map_err(into_key)
    }

    /// A key from a PEM `PUBLIC KEY` block.
    ///
    /// # Errors
    /// [`KeyError::Encoding`], or any error of [`Self::from_coordinates`].
    pub fn from_spki_pem(pem: &str) -> Result<Self, CryptoError> {
        let der = pem_block(pem, &["PUBLIC KEY"], "PUBLIC KEY PEM")?;
        Self::from_spki_der(&der)
    }

    /// DER SubjectPublicKeyInfo.
    ///
    /// # Errors
    /// Only encoding failures.
    pub fn to_spki_der(&self) -> Result<Vec<u8>, CryptoError> {
        let mut algorithm = oid_der(self.algorithm_oid())?;
        let key = match &self.y {
            Some(_) => {
                algorithm.extend(oid_der(curve_oid(self.curve))?);
                self.to_sec1_uncompressed().unwrap_or_default()
            }
            None => self.x.clone(),
        };
        let mut bits = Vec::with_capacity(key.len().saturating_add(1));
        bits.push(0);
        bits.extend_from_slice(&key);
        let mut body = der_writer::encode(der_writer::tag::SEQUENCE, &algorithm);
        body.extend(der_writer::encode(der_writer::tag::BIT_STRING, &bits));
        Ok(der_writer::encode(der_writer::tag::SEQUENCE, &body))
    }

    /// PEM `PUBLIC KEY`.
    ///
    /// # Errors
    /// Only encoding failures.
    pub fn to_spki_pem(&self) -> Result<String, CryptoError> {
        pem_encode("PUBLIC KEY", &self.to_spki_der()?)
    }

    fn algorithm_oid(&self) -> ObjectIdentifier {
        if self.curve == Curve::Ed25519 {
            OID_ED25519
        } else {
            OID_EC_PUBLIC_KEY
        }
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

    /// Runs `with` on a provider's parsed form of this key of type `T`: the one made before
    /// (by [`KeyProvider::check_public`] or an earlier call), or one `make` makes now and
    /// keeps. A key first used with another provider keeps that provider's form, and `make`'s
    /// is used once and dropped.
    ///
    /// # Errors
    /// What `make` or `with` returns.
    pub fn with_prepared<T: Any + Send + Sync, R>(
        &self,
        make: impl Fn(&Self) -> Result<T, CryptoError>,
        with: impl FnOnce(&T) -> Result<R, CryptoError>,
    ) -> Result<R, CryptoError> {
        prepared_with(&self.prepared, self, make, with)
    }

    /// Verifies `signature` (raw `r ‖ s`, or 64 Ed25519 bytes) over `message` with `algorithm`,
    /// on the default provider.
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

/// A private key held by the provider that made it.
///
/// Use it for holders, readers, tests and development; a production issuer keeps its key in an
/// HSM behind its own [`Signer`](crate::Signer). The scalar never appears in `Debug` output,
/// and the exports return [`Zeroizing`] buffers.
pub struct PrivateKey {
    curve: Curve,
    pub(crate) secret: Box<dyn SecretKey>,
    public: PublicKey,
    /// A provider's parsed form for key agreement: the one the provider made with the key
    /// (`PrivateParts::prepared`), or made on first use (see [`PrivateKey::with_prepared`]).
    prepared: OnceLock<PreparedKey>,
}

impl PrivateKey {
    /// Runs `with` on a provider's parsed form of this key of type `T` (for key agreement): the
    /// one made by an earlier call, or one `make` makes now and keeps (aws-lc-rs recomputes and
    /// checks the public point on every import of a scalar: a quarter of an ECDH). A key first
    /// used with another provider keeps that provider's form, and `make`'s is used once and
    /// dropped.
    ///
    /// # Errors
    /// What `make` or `with` returns.
    pub fn with_prepared<T: Any + Send + Sync, R>(
        &self,
        make: impl Fn(&Self) -> Result<T, CryptoError>,
        with: impl FnOnce(&T) -> Result<R, CryptoError>,
    ) -> Result<R, CryptoError> {
        prepared_with(&self.prepared, self, make, with)
    }

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
        let parts = keys().private_key(curve, d)?;
        let public = PublicKey::from_coordinates(curve, &parts.x, parts.y.as_deref())?;
        let prepared = OnceLock::new();
        if let Some(made) = parts.prepared {
            let _ = prepared.set(made);
        }
        Ok(Self {
            curve,
            secret: parts.secret,
            public,
            prepared,
        })
    }

    /// A key from DER PKCS#8 (RFC 5208 / RFC 5958): EC (with its SEC 1 ECPrivateKey) or
    /// Ed25519 (RFC 8410). A public key given with it must be the scalar's.
    ///
    /// # Errors
    /// [`KeyError::Encoding`], [`KeyError::Mismatch`] or an unsupported key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, CryptoError> {
        let bad = || CryptoError::from(KeyError::Encoding("PKCS#8 DER"));
        let mut reader = SliceReader::new(der).map_err(|_| bad())?;
        let (algorithm, private, public) = reader
            .sequence(|r| {
                let version = u8::decode(r)?;
                if version > 1 {
                    return Err(der::Tag::Integer.value_error().into());
                }
                let algorithm = x509_cert::spki::AlgorithmIdentifierOwned::decode(r)?;
                let private = <&der::asn1::OctetStringRef>::decode(r)?.as_bytes().to_vec();
                // RFC 5958: [0] IMPLICIT attributes (not read), then [1] IMPLICIT publicKey
                // (a BIT STRING), checked against the scalar below.
                let mut public = None;
                while !r.is_finished() {
                    let field = der::asn1::AnyRef::decode(r)?;
                    if field.tag().number() == der::TagNumber(1)
                        && field.tag().class() == der::Class::ContextSpecific
                    {
                        public = match field.value().split_first() {
                            Some((0, bits)) => Some(bits.to_vec()),
                            _ => return Err(der::Tag::BitString.value_error().into()),
                        };
                    }
                }
                Ok::<_, der::Error>((algorithm, Zeroizing::new(private), public))
            })
            .map_err(|_| bad())?;
        reader.finish().map_err(|_| bad())?;
        let key = Self::from_pkcs8_parts(&algorithm, &private)?;
        if let Some(public) = public {
            let ours = key
                .public
                .to_sec1_uncompressed()
                .unwrap_or_else(|| key.public.x().to_vec());
            if ours != public {
                return Err(KeyError::Mismatch.into());
            }
        }
        Ok(key)
    }

    /// The key of a PKCS#8 AlgorithmIdentifier and privateKey OCTET STRING's content.
    fn from_pkcs8_parts(
        algorithm: &x509_cert::spki::AlgorithmIdentifierOwned,
        private: &[u8],
    ) -> Result<Self, CryptoError> {
        let bad = || CryptoError::from(KeyError::Encoding("PKCS#8 DER"));
        if algorithm.oid == OID_ED25519 {
            // RFC 8410 §3: the parameters are absent.
            if algorithm.parameters.is_some() {
                return Err(bad());
            }
            let seed = Zeroizing::new(
                <&der::asn1::OctetStringRef>::from_der(private)
                    .map_err(|_| bad())?
                    .as_bytes()
                    .to_vec(),
            );
            return Self::from_scalar(Curve::Ed25519, &seed);
        }
        if algorithm.oid != OID_EC_PUBLIC_KEY {
            return Err(KeyError::UnsupportedKeyType(algorithm.oid.to_string()).into());
        }
        let curve = algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            .ok_or_else(|| CryptoError::from(KeyError::Encoding("EC parameters")))
            .and_then(|oid| Ok(curve_of_oid(oid)?))?;
        Self::from_sec1_der(private, Some(curve))
    }

    /// A key from a SEC 1 ECPrivateKey (RFC 5915): `version 1`, the scalar, the curve (given
    /// or from the structure), and, when present, a public key that must be the scalar's.
    fn from_sec1_der(der: &[u8], curve: Option<Curve>) -> Result<Self, CryptoError> {
        let bad = || CryptoError::from(KeyError::Encoding("SEC 1 ECPrivateKey DER"));
        let mut reader = SliceReader::new(der).map_err(|_| bad())?;
        let (d, params, public) = reader
            .sequence(|r| {
                if u8::decode(r)? != 1 {
                    return Err(der::Tag::Integer.value_error().into());
                }
                let d =
                    Zeroizing::new(<&der::asn1::OctetStringRef>::decode(r)?.as_bytes().to_vec());
                let params = der::asn1::ContextSpecific::<ObjectIdentifier>::decode_explicit(
                    r,
                    der::TagNumber(0),
                )?
                .map(|c| c.value);
                let public = der::asn1::ContextSpecific::<der::asn1::BitString>::decode_explicit(
                    r,
                    der::TagNumber(1),
                )?
                .and_then(|c| c.value.as_bytes().map(<[u8]>::to_vec));
                Ok::<_, der::Error>((d, params, public))
            })
            .map_err(|_| bad())?;
        reader.finish().map_err(|_| bad())?;
        let curve = match (curve, params) {
            (Some(c), None) => c,
            (Some(c), Some(oid)) if curve_of_oid(oid)? == c => c,
            (None, Some(oid)) => curve_of_oid(oid)?,
            _ => return Err(KeyError::Encoding("EC parameters").into()),
        };
        let key = Self::from_scalar(curve, &d)?;
        if let Some(point) = public
            && key.public.to_sec1_uncompressed().as_deref() != Some(point.as_slice())
        {
            return Err(KeyError::Mismatch.into());
        }
        Ok(key)
    }

    /// A key from a PEM `PRIVATE KEY` (PKCS#8) or `EC PRIVATE KEY` (SEC 1) block.
    ///
    /// # Errors
    /// [`KeyError::Encoding`] or an unsupported key.
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let text = pem.trim();
        let (label, der) = pem_rfc7468::decode_vec(text.as_bytes())
            .map_err(|_| KeyError::Encoding("private key PEM"))?;
        let der = Zeroizing::new(der);
        match label {
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "EC PRIVATE KEY" => Self::from_sec1_der(&der, None),
            _ => Err(KeyError::Encoding("private key PEM").into()),
        }
    }

    /// DER PKCS#8: for EC, the SEC 1 ECPrivateKey with its public key and without parameters
    /// (they are in the AlgorithmIdentifier), as OpenSSL writes it; for Ed25519, RFC 8410's
    /// CurvePrivateKey.
    ///
    /// # Errors
    /// Only backend failures.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        use der_writer::tag::{BIT_STRING, INTEGER, SEQUENCE};
        const OCTET_STRING: u8 = 0x04;
        let scalar = self.scalar()?;
        let mut algorithm = oid_der(self.public.algorithm_oid())?;
        // Every buffer that holds the scalar is wiped, and none reallocates (so no unwiped
        // copy is left behind): each is sized before it is written.
        let private = match self.public.to_sec1_uncompressed() {
            Some(point) => {
                algorithm.extend(oid_der(curve_oid(self.curve))?);
                let mut bits = vec![0u8];
                bits.extend_from_slice(&point);
                let public = der_writer::encode(0xA1, &der_writer::encode(BIT_STRING, &bits));
                let mut body = secret_buffer(scalar.len().saturating_add(public.len()));
                secret_tlv(&mut body, INTEGER, &[1]);
                secret_tlv(&mut body, OCTET_STRING, &scalar);
                body.extend_from_slice(&public);
                let mut ec = secret_buffer(body.len());
                secret_tlv(&mut ec, SEQUENCE, &body);
                ec
            }
            None => {
                let mut seed = secret_buffer(scalar.len());
                secret_tlv(&mut seed, OCTET_STRING, &scalar);
                seed
            }
        };
        let algorithm = der_writer::encode(SEQUENCE, &algorithm);
        let mut body = secret_buffer(private.len().saturating_add(algorithm.len()));
        secret_tlv(&mut body, INTEGER, &[0]);
        body.extend_from_slice(&algorithm);
        secret_tlv(&mut body, OCTET_STRING, &private);
        let mut out = secret_buffer(body.len());
        secret_tlv(&mut out, SEQUENCE, &body);
        Ok(out)
    }

    /// PEM `PRIVATE KEY` (PKCS#8).
    ///
    /// # Errors
    /// Only backend failures.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, CryptoError> {
        Ok(Zeroizing::new(pem_encode(
            "PRIVATE KEY",
            &self.to_pkcs8_der()?,
        )?))
    }

    /// The private scalar (EC, big-endian, padded to the coordinate length) or Ed25519 seed.
    ///
    /// # Errors
    /// Only backend failures.
    pub fn scalar(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.secret.scalar()
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

impl crate::signature::Signer for PrivateKey {
    fn algorithm(&self) -> Algorithm {
        self.curve.algorithm()
    }

    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.secret.sign(message)
    }

    /// A key in this process signs on the CPU alone.
    fn may_block(&self) -> bool {
        false
    }

    fn signs_prehashed(&self) -> bool {
        self.secret.signs_prehashed()
    }

    fn sign_prehashed(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.secret.sign_prehashed(digest)
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

/// A buffer for secret DER with room for `content` bytes and the headers around them.
fn secret_buffer(content: usize) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(Vec::with_capacity(content.saturating_add(32)))
}

/// Appends one TLV to a buffer sized by [`secret_buffer`] (a DER length is at most 5 bytes
/// here, so it never reallocates).
fn secret_tlv(out: &mut Zeroizing<Vec<u8>>, tag: u8, value: &[u8]) {
    out.push(tag);
    der_writer::push_len(out, value.len());
    out.extend_from_slice(value);
}

/// The named curve of an OID.
pub(crate) fn curve_of_oid(oid: ObjectIdentifier) -> Result<Curve, KeyError> {
    match oid {
        OID_P256 => Ok(Curve::P256),
        OID_P384 => Ok(Curve::P384),
        OID_P521 => Ok(Curve::P521),
        other => Err(KeyError::UnsupportedCurve(other.to_string())),
    }
}

const fn curve_oid(curve: Curve) -> ObjectIdentifier {
    match curve {
        Curve::P384 => OID_P384,
        Curve::P521 => OID_P521,
        _ => OID_P256,
    }
}

fn oid_der(oid: ObjectIdentifier) -> Result<Vec<u8>, CryptoError> {
    oid.to_der()
        .map_err(|_| KeyError::Encoding("OBJECT IDENTIFIER").into())
}

/// The DER of a PEM block whose label is one of `labels`.
fn pem_block(pem: &str, labels: &[&str], what: &'static str) -> Result<Vec<u8>, CryptoError> {
    let (label, der) =
        pem_rfc7468::decode_vec(pem.trim().as_bytes()).map_err(|_| KeyError::Encoding(what))?;
    if labels.contains(&label) {
        Ok(der)
    } else {
        Err(KeyError::Encoding(what).into())
    }
}

/// A PEM block (RFC 7468), lines of 64 characters, LF.
fn pem_encode(label: &str, der: &[u8]) -> Result<String, CryptoError> {
    let mut out = pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, der)
        .map_err(|_| KeyError::Encoding("PEM"))?;
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}
