//! The OpenSSL backend: the one module of this crate that names OpenSSL. It implements every
//! table of [`CryptoProvider`], with OpenSSL's low-level paths where the EVP layer costs
//! (ECDSA on `EC_KEY`, SHA-2 on `SHA256_CTX` and friends, a per-thread block of random bytes).

use openssl::bn::BigNum;
use openssl::bn::BigNumContext;
use openssl::derive::Deriver;
use openssl::ec::{EcGroup, EcKey, EcPoint};
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::md::Md;
use openssl::nid::Nid;
use openssl::pkey::{Id, PKey, Private, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::symm::{Cipher, Crypter, Mode, decrypt_aead, encrypt_aead};
use zeroize::Zeroizing;

use crate::algorithm::{Algorithm, Curve};
use crate::digest::HashAlgorithm;
use crate::error::{CryptoError, KeyError};
use crate::key::{KeyProvider, PreparedKey, PrivateParts, SecretKey};
use crate::key::{PrivateKey, PublicKey};
use crate::provider::{Aead, CryptoProvider, Digests, HashContext, Kdf, KeyAgreement, Mac};
use crate::random::Random;
use crate::signature::SignatureVerifier;

/// The OpenSSL provider.
pub(crate) static PROVIDER: CryptoProvider = CryptoProvider {
    name: "openssl",
    signature_verifier: &OpenSsl,
    digests: &OpenSsl,
    mac: &OpenSsl,
    kdf: &OpenSsl,
    aead: &OpenSsl,
    key_agreement: &OpenSsl,
    random: &OpenSsl,
    keys: &OpenSsl,
};

/// The OpenSSL implementation of every table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenSsl;

/// Length of an AES-GCM tag.
const GCM_TAG_LEN: usize = 16;

/// The message digest ECDSA signs for `algorithm`, on OpenSSL's low-level SHA-2 contexts
/// (no EVP fetch per signature; see [`crate::Hasher`]), never another provider's.
fn digest_for(algorithm: Algorithm, message: &[u8]) -> Vec<u8> {
    let hash = algorithm.prehash().unwrap_or(HashAlgorithm::Sha256);
    let mut hasher = hash.hasher_on(&PROVIDER);
    hasher.update(message);
    hasher.finish()
}

fn verify(
    key: &PublicKey,
    algorithm: Algorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    super::check_signature_shape(algorithm, key, signature)?;
    let expected = algorithm.signature_len();
    let ok = key.with_prepared(OsslPublic::of, |prepared| {
        Ok(match &prepared.ec {
            Some(ec) => {
                let (r, s) = signature.split_at(expected / 2);
                let sig = EcdsaSig::from_private_components(
                    BigNum::from_slice(r)?,
                    BigNum::from_slice(s)?,
                )?;
                let digest = digest_for(algorithm, message);
                // An error here means a malformed (r, s), which is a failed verification.
                sig.verify(&digest, ec).unwrap_or(false)
            }
            None => {
                let mut verifier = openssl::sign::Verifier::new_without_digest(&prepared.pkey)?;
                verifier.verify_oneshot(signature, message).unwrap_or(false)
            }
        })
    })?;
    if ok {
        Ok(())
    } else {
        Err(CryptoError::BadSignature)
    }
}

impl SignatureVerifier for OpenSsl {
    fn verify(
        &self,
        algorithm: Algorithm,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        verify(key, algorithm, message, signature)
    }
}

/// SHA-2 on OpenSSL's low-level contexts (`SHA256_Init` and friends): nothing is fetched,
/// and cloning copies the state. OpenSSL 3's one-shot `SHA256()` fetches the digest through
/// `EVP_Q_digest` on every call, about 340 ns, three times the hash of a 100-byte Disclosure.
#[derive(Clone)]
enum Sha {
    Sha256(openssl::sha::Sha256),
    Sha384(openssl::sha::Sha384),
    Sha512(openssl::sha::Sha512),
}

impl HashContext for Sha {
    fn update(&mut self, data: &[u8]) {
        match self {
            Self::Sha256(h) => h.update(data),
            Self::Sha384(h) => h.update(data),
            Self::Sha512(h) => h.update(data),
        }
    }
    fn finish(self: Box<Self>) -> Vec<u8> {
        match *self {
            Self::Sha256(h) => h.finish().to_vec(),
            Self::Sha384(h) => h.finish().to_vec(),
            Self::Sha512(h) => h.finish().to_vec(),
        }
    }
    fn box_clone(&self) -> Box<dyn HashContext> {
        Box::new(self.clone())
    }
}

impl Digests for OpenSsl {
    fn start(&self, algorithm: HashAlgorithm) -> Box<dyn HashContext> {
        Box::new(match algorithm {
            HashAlgorithm::Sha256 => Sha::Sha256(openssl::sha::Sha256::new()),
            HashAlgorithm::Sha384 => Sha::Sha384(openssl::sha::Sha384::new()),
            HashAlgorithm::Sha512 => Sha::Sha512(openssl::sha::Sha512::new()),
        })
    }
}

impl Mac for OpenSsl {
    fn hmac_sha256(&self, key: &[u8], data: &[u8]) -> Result<[u8; 32], CryptoError> {
        let pkey = PKey::hmac(key)?;
        let mut signer = openssl::sign::Signer::new(MessageDigest::sha256(), &pkey)?;
        signer.update(data)?;
        let mut tag = [0u8; 32];
        signer.sign(&mut tag)?;
        Ok(tag)
    }
}

impl Kdf for OpenSsl {
    fn hkdf_sha256(
        &self,
        ikm: &[u8],
        salt: &[u8],
        info: &[u8],
        okm: &mut [u8],
    ) -> Result<(), CryptoError> {
        let mut ctx = PkeyCtx::new_id(Id::HKDF)?;
        ctx.derive_init()?;
        ctx.set_hkdf_md(Md::sha256())?;
        ctx.set_hkdf_key(ikm)?;
        ctx.set_hkdf_salt(salt)?;
        ctx.add_hkdf_info(info)?;
        ctx.derive(Some(okm))?;
        Ok(())
    }
}

fn gcm(key: &[u8]) -> Result<Cipher, CryptoError> {
    match key.len() {
        16 => Ok(Cipher::aes_128_gcm()),
        32 => Ok(Cipher::aes_256_gcm()),
        _ => Err(KeyError::WrongLength {
            member: "AES key",
            expected: 32,
            actual: key.len(),
        }
        .into()),
    }
}

impl Aead for OpenSsl {
    fn aes_gcm_seal(
        &self,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let mut tag = [0u8; GCM_TAG_LEN];
        let mut out = encrypt_aead(gcm(key)?, key, Some(iv), aad, plaintext, &mut tag)?;
        out.extend_from_slice(&tag);
        Ok(out)
    }

    fn aes_gcm_open(
        &self,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let split = sealed
            .len()
            .checked_sub(GCM_TAG_LEN)
            .ok_or(CryptoError::DecryptionFailed)?;
        let (ciphertext, tag) = sealed.split_at(split);
        decrypt_aead(gcm(key)?, key, Some(iv), aad, ciphertext, tag)
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::DecryptionFailed)
    }

    fn aes256_blocks(&self, key: &[u8; 32], blocks: &mut [u8]) -> Result<(), CryptoError> {
        if !blocks.len().is_multiple_of(16) {
            return Err(CryptoError::Backend(crate::error::BackendError::new(
                "openssl: AES blocks".into(),
            )));
        }
        if blocks.is_empty() {
            return Ok(());
        }
        let mut crypter = Crypter::new(Cipher::aes_256_ecb(), Mode::Encrypt, key, None)?;
        crypter.pad(false);
        // OpenSSL asks for one block of slack in the output.
        let mut out = vec![0u8; blocks.len() + 16];
        let n = crypter.update(blocks, &mut out)?;
        let tail = crypter.finalize(out.get_mut(n..).unwrap_or_default())?;
        if n + tail != blocks.len() {
            return Err(CryptoError::Backend(crate::error::BackendError::new(
                "openssl: AES-256 block".into(),
            )));
        }
        blocks.copy_from_slice(out.get(..blocks.len()).unwrap_or_default());
        Ok(())
    }
}

impl KeyAgreement for OpenSsl {
    fn ecdh(
        &self,
        private: &PrivateKey,
        peer: &PublicKey,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if private.curve() == Curve::Ed25519 || private.curve() != peer.curve() {
            return Err(KeyError::WrongAlgorithm("ECDH").into());
        }
        // A key another provider made (in an assembled provider) is imported from its scalar.
        let imported;
        let secret = match private.secret.as_any().downcast_ref::<OsslSecret>() {
            Some(own) => own,
            None => {
                imported = OpenSsl.private_key(private.curve(), &private.scalar()?)?;
                imported
                    .secret
                    .as_any()
                    .downcast_ref::<OsslSecret>()
                    .ok_or(KeyError::WrongAlgorithm("ECDH"))?
            }
        };
        peer.with_prepared(OsslPublic::of, |prepared| {
            let mut deriver = Deriver::new(&secret.pkey)?;
            deriver.set_peer(&prepared.pkey)?;
            let mut z = Zeroizing::new(vec![0u8; private.curve().coordinate_len()]);
            let n = deriver.derive(&mut z)?;
            z.truncate(n);
            Ok(z)
        })
    }
}

/// `RAND_bytes`, with small public requests (salts, decoy seeds, digest IDs: up to 64 bytes)
/// served from a per-thread block of 512 bytes drawn in one call, since each call costs about
/// a microsecond whatever its size and an issuance asks for dozens of salts. Bytes are wiped
/// from the block as they are handed out, and a block drawn in another process (a `fork`
/// without `exec`, detected by process id) is discarded. Secrets and large requests always
/// come straight from `RAND_bytes`.
impl Random for OpenSsl {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        super::pool::fill(buf, |b| Ok(openssl::rand::rand_bytes(b)?))
    }

    fn fill_secret(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        Ok(openssl::rand::rand_bytes(buf)?)
    }
}

fn group(curve: Curve) -> Result<EcGroup, CryptoError> {
    let nid = match curve {
        Curve::P256 => Nid::X9_62_PRIME256V1,
        Curve::P384 => Nid::SECP384R1,
        Curve::P521 => Nid::SECP521R1,
        _ => {
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
    static P256: std::sync::OnceLock<CurveParams> = std::sync::OnceLock::new();
    static P384: std::sync::OnceLock<CurveParams> = std::sync::OnceLock::new();
    static P521: std::sync::OnceLock<CurveParams> = std::sync::OnceLock::new();
    let cell = match curve {
        Curve::P256 => &P256,
        Curve::P384 => &P384,
        Curve::P521 => &P521,
        _ => {
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

/// OpenSSL's parsed form of a public key, kept in the [`PublicKey`].
struct OsslPublic {
    pkey: PKey<Public>,
    /// The same key as an `EC_KEY`, for the low-level ECDSA path.
    ec: Option<EcKey<Public>>,
}

impl OsslPublic {
    fn of(key: &PublicKey) -> Result<Self, CryptoError> {
        Self::checked(key.curve(), key.x(), key.y())
    }

    fn checked(curve: Curve, x: &[u8], y: Option<&[u8]>) -> Result<Self, CryptoError> {
        let Some(y) = y else {
            let pkey = PKey::public_key_from_raw_bytes(x, Id::ED25519)
                .map_err(|_| KeyError::NotOnCurve)?;
            return Ok(Self { pkey, ec: None });
        };
        let CurveParams { group, p } = curve_params(curve)?;
        let (bx, by) = (BigNum::from_slice(x)?, BigNum::from_slice(y)?);
        // Coordinates are field elements: below p (x + p would name the same point again).
        if bx.ucmp(p) != core::cmp::Ordering::Less || by.ucmp(p) != core::cmp::Ordering::Less {
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
        // coordinates is in the prime-order group, so EC_KEY_check_key's n·Q = O would only
        // repeat the check above at the cost of a signature verification.
        let ec = EcKey::from_public_key(group, &point).map_err(|_| KeyError::NotOnCurve)?;
        let pkey = PKey::from_ec_key(ec.clone())?;
        Ok(Self { pkey, ec: Some(ec) })
    }
}

/// An OpenSSL private key.
struct OsslSecret {
    curve: Curve,
    pkey: PKey<Private>,
    ec: Option<EcKey<Private>>,
}

impl SecretKey for OsslSecret {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if self.ec.is_some() {
            self.sign_prehashed(&digest_for(self.curve.algorithm(), message))
        } else {
            let mut signer = openssl::sign::Signer::new_without_digest(&self.pkey)?;
            Ok(signer.sign_oneshot_to_vec(message)?)
        }
    }

    fn signs_prehashed(&self) -> bool {
        self.ec.is_some()
    }

    fn sign_prehashed(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let algorithm = self.curve.algorithm();
        super::check_prehashed(algorithm, digest)?;
        let Some(ec) = &self.ec else {
            return Err(CryptoError::Signer(
                "Ed25519 does not sign prehashed digests".into(),
            ));
        };
        let sig = EcdsaSig::sign(digest, ec)?;
        let half = i32::try_from(algorithm.signature_len() / 2)
            .map_err(|_| CryptoError::Signer("signature length".into()))?;
        let mut out = sig.r().to_vec_padded(half)?;
        out.extend_from_slice(&sig.s().to_vec_padded(half)?);
        Ok(out)
    }

    fn scalar(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        match &self.ec {
            Some(ec) => {
                let len = i32::try_from(self.curve.coordinate_len())
                    .map_err(|_| KeyError::Malformed("curve"))?;
                Ok(Zeroizing::new(ec.private_key().to_vec_padded(len)?))
            }
            None => Ok(Zeroizing::new(self.pkey.raw_private_key()?)),
        }
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}

impl KeyProvider for OpenSsl {
    fn check_public(
        &self,
        curve: Curve,
        x: &[u8],
        y: Option<&[u8]>,
    ) -> Result<Option<PreparedKey>, CryptoError> {
        Ok(Some(Box::new(OsslPublic::checked(curve, x, y)?)))
    }

    fn decompress(&self, curve: Curve, x: &[u8], y_odd: bool) -> Result<Vec<u8>, CryptoError> {
        let CurveParams { group, .. } = curve_params(curve)?;
        let mut ctx = BigNumContext::new()?;
        let mut encoded = Vec::with_capacity(x.len().saturating_add(1));
        encoded.push(if y_odd { 3 } else { 2 });
        encoded.extend_from_slice(x);
        let point =
            EcPoint::from_bytes(group, &encoded, &mut ctx).map_err(|_| KeyError::NotOnCurve)?;
        let (mut bx, mut by) = (BigNum::new()?, BigNum::new()?);
        point.affine_coordinates(group, &mut bx, &mut by, &mut ctx)?;
        let len =
            i32::try_from(curve.coordinate_len()).map_err(|_| KeyError::Malformed("curve"))?;
        Ok(by.to_vec_padded(len)?)
    }

    fn private_key(&self, curve: Curve, d: &[u8]) -> Result<PrivateParts, CryptoError> {
        if curve == Curve::Ed25519 {
            let pkey = PKey::private_key_from_raw_bytes(d, Id::ED25519)?;
            let x = pkey.raw_public_key()?;
            return Ok(PrivateParts {
                secret: Box::new(OsslSecret {
                    curve,
                    pkey,
                    ec: None,
                }),
                x,
                y: None,
                prepared: None,
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
        let (mut bx, mut by) = (BigNum::new()?, BigNum::new()?);
        ec.public_key()
            .affine_coordinates(&group, &mut bx, &mut by, &mut ctx)?;
        let len =
            i32::try_from(curve.coordinate_len()).map_err(|_| KeyError::Malformed("curve"))?;
        let pkey = PKey::from_ec_key(ec.clone())?;
        Ok(PrivateParts {
            secret: Box::new(OsslSecret {
                curve,
                pkey,
                ec: Some(ec),
            }),
            x: bx.to_vec_padded(len)?,
            y: Some(by.to_vec_padded(len)?),
            prepared: None,
        })
    }
}
