//! The aws-lc-rs backend (the rustls default backend: no system OpenSSL, no headers). The one
//! module of this crate that names aws-lc-rs; it implements every table of
//! [`CryptoProvider`].

use aws_lc_rs::encoding::{AsBigEndian as _, EcPublicKeyUncompressedBin};
use aws_lc_rs::signature::{
    self as sig, EcdsaKeyPair, EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair as _,
    ParsedPublicKey, VerificationAlgorithm,
};
use aws_lc_rs::{aead, agreement, cipher, digest, hkdf, hmac, rand};
use zeroize::Zeroizing;

use crate::algorithm::{Algorithm, Curve};
use crate::digest::HashAlgorithm;
use crate::error::{CryptoError, KeyError};
use crate::key::{KeyProvider, PreparedKey, PrivateKey, PrivateParts, PublicKey, SecretKey};
use crate::provider::{Aead, CryptoProvider, Digests, HashContext, Kdf, KeyAgreement, Mac};
use crate::random::Random;
use crate::signature::SignatureVerifier;

/// The aws-lc-rs provider.
pub(crate) static PROVIDER: CryptoProvider = CryptoProvider {
    name: "aws-lc",
    signature_verifier: &AwsLc,
    digests: &AwsLc,
    mac: &AwsLc,
    kdf: &AwsLc,
    aead: &AwsLc,
    key_agreement: &AwsLc,
    random: &AwsLc,
    keys: &AwsLc,
};

/// The aws-lc-rs implementation of every table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AwsLc;

fn backend(what: &str) -> CryptoError {
    CryptoError::Backend(crate::error::BackendError::new(format!("aws-lc: {what}")))
}

const fn verification(algorithm: Algorithm) -> &'static dyn VerificationAlgorithm {
    match algorithm {
        Algorithm::Es384 => &sig::ECDSA_P384_SHA384_FIXED,
        Algorithm::Es512 => &sig::ECDSA_P521_SHA512_FIXED,
        Algorithm::EdDsa => &sig::ED25519,
        _ => &sig::ECDSA_P256_SHA256_FIXED,
    }
}

const fn signing(curve: Curve) -> &'static EcdsaSigningAlgorithm {
    match curve {
        Curve::P384 => &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
        Curve::P521 => &sig::ECDSA_P521_SHA512_FIXED_SIGNING,
        _ => &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
    }
}

const fn ecdh_algorithm(curve: Curve) -> &'static agreement::Algorithm {
    match curve {
        Curve::P384 => &agreement::ECDH_P384,
        Curve::P521 => &agreement::ECDH_P521,
        _ => &agreement::ECDH_P256,
    }
}

/// aws-lc's parsed form of a public key, kept in the [`PublicKey`].
struct AwsPublic(ParsedPublicKey);

impl AwsPublic {
    fn of(key: &PublicKey) -> Result<Self, CryptoError> {
        let bytes = key
            .to_sec1_uncompressed()
            .unwrap_or_else(|| key.x().to_vec());
        ParsedPublicKey::new(verification(key.algorithm()), bytes)
            .map(Self)
            .map_err(|_| KeyError::NotOnCurve.into())
    }
}

impl SignatureVerifier for AwsLc {
    fn verify(
        &self,
        algorithm: Algorithm,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        super::check_signature_shape(algorithm, key, signature)?;
        key.with_prepared(AwsPublic::of, |parsed| {
            parsed
                .0
                .verify_sig(message, signature)
                .map_err(|_| CryptoError::BadSignature)
        })
    }
}

fn digest_algorithm(algorithm: HashAlgorithm) -> &'static digest::Algorithm {
    match algorithm {
        HashAlgorithm::Sha384 => &digest::SHA384,
        HashAlgorithm::Sha512 => &digest::SHA512,
        _ => &digest::SHA256,
    }
}

#[derive(Clone)]
struct Context(digest::Context);

impl HashContext for Context {
    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    fn finish(self: Box<Self>) -> Vec<u8> {
        self.0.finish().as_ref().to_vec()
    }
    fn box_clone(&self) -> Box<dyn HashContext> {
        Box::new(self.clone())
    }
}

impl Digests for AwsLc {
    fn start(&self, algorithm: HashAlgorithm) -> Box<dyn HashContext> {
        Box::new(Context(digest::Context::new(digest_algorithm(algorithm))))
    }
}

impl Mac for AwsLc {
    fn hmac_sha256(&self, key: &[u8], data: &[u8]) -> Result<[u8; 32], CryptoError> {
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data);
        tag.as_ref()
            .try_into()
            .map_err(|_| backend("HMAC-SHA-256 length"))
    }
}

/// An output length for HKDF's expand.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

impl Kdf for AwsLc {
    fn hkdf_sha256(
        &self,
        ikm: &[u8],
        salt: &[u8],
        info: &[u8],
        okm: &mut [u8],
    ) -> Result<(), CryptoError> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
        prk.expand(&[info], Len(okm.len()))
            .and_then(|o| o.fill(okm))
            .map_err(|_| backend("HKDF output too long"))
    }
}

fn gcm_key(key: &[u8]) -> Result<aead::LessSafeKey, CryptoError> {
    let algorithm = match key.len() {
        16 => &aead::AES_128_GCM,
        32 => &aead::AES_256_GCM,
        _ => {
            return Err(KeyError::WrongLength {
                member: "AES key",
                expected: 32,
                actual: key.len(),
            }
            .into());
        }
    };
    aead::UnboundKey::new(algorithm, key)
        .map(aead::LessSafeKey::new)
        .map_err(|_| backend("AES key"))
}

impl Aead for AwsLc {
    fn aes_gcm_seal(
        &self,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let key = gcm_key(key)?;
        // The plaintext is copied once into a buffer with room for the tag (so appending it
        // never reallocates and leaves a copy behind), wiped if sealing fails.
        let mut out = Zeroizing::new(Vec::with_capacity(
            plaintext.len().saturating_add(crate::session::GCM_TAG_LEN),
        ));
        out.extend_from_slice(plaintext);
        key.seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(*iv),
            aead::Aad::from(aad),
            &mut *out,
        )
        .map_err(|_| backend("AES-GCM seal"))?;
        Ok(core::mem::take(&mut *out))
    }

    fn aes_gcm_open(
        &self,
        key: &[u8],
        iv: &[u8; 12],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let key = gcm_key(key)?;
        let mut buf = Zeroizing::new(sealed.to_vec());
        let len = key
            .open_in_place(
                aead::Nonce::assume_unique_for_key(*iv),
                aead::Aad::from(aad),
                &mut buf,
            )
            .map_err(|_| CryptoError::DecryptionFailed)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }

    fn aes256_blocks(&self, key: &[u8; 32], blocks: &mut [u8]) -> Result<(), CryptoError> {
        if !blocks.len().is_multiple_of(16) {
            return Err(backend("AES blocks"));
        }
        if blocks.is_empty() {
            return Ok(());
        }
        let key =
            cipher::UnboundCipherKey::new(&cipher::AES_256, key).map_err(|_| backend("AES key"))?;
        cipher::EncryptingKey::ecb(key)
            .and_then(|key| key.encrypt(blocks))
            .map(|_| ())
            .map_err(|_| backend("AES-256 block"))
    }
}

/// aws-lc's parsed form of a private key for ECDH, kept in the [`PrivateKey`].
struct AwsAgreementKey(agreement::PrivateKey);

impl KeyAgreement for AwsLc {
    fn ecdh(
        &self,
        private: &PrivateKey,
        peer: &PublicKey,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if private.curve() == Curve::Ed25519 || private.curve() != peer.curve() {
            return Err(KeyError::WrongAlgorithm("ECDH").into());
        }
        let algorithm = ecdh_algorithm(private.curve());
        // The parsed key is kept with the private key: importing the scalar makes aws-lc-rs
        // compute the public point and check the pair again, each time.
        private.with_prepared(
            |key| {
                let scalar = key.scalar()?;
                agreement::PrivateKey::from_private_key(algorithm, &scalar)
                    .map(AwsAgreementKey)
                    .map_err(|_| KeyError::Malformed("d").into())
            },
            |ours: &AwsAgreementKey| {
                let theirs = agreement::UnparsedPublicKey::new(
                    algorithm,
                    peer.to_sec1_uncompressed().unwrap_or_default(),
                );
                agreement::agree(&ours.0, theirs, backend("ECDH"), |z| {
                    Ok(Zeroizing::new(z.to_vec()))
                })
            },
        )
    }
}

/// aws-lc's generator, with small public requests served from a per-thread block as the
/// OpenSSL provider does (`super::pool`); secrets straight from the generator.
impl Random for AwsLc {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        super::pool::fill(buf, |b| rand::fill(b).map_err(|_| backend("random")))
    }

    fn fill_secret(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        rand::fill(buf).map_err(|_| backend("random"))
    }
}

/// An aws-lc private key.
enum AwsSecret {
    /// The signing pair is made on the first signature: aws-lc checks a pair by computing the
    /// public point again, a second scalar multiplication that a key used only for ECDH (a
    /// response key, a JWE or HPKE ephemeral) never needs.
    Ecdsa {
        pair: std::sync::OnceLock<EcdsaKeyPair>,
        scalar: Zeroizing<Vec<u8>>,
        point: Vec<u8>,
        curve: Curve,
    },
    Ed25519 {
        pair: Ed25519KeyPair,
        seed: Zeroizing<Vec<u8>>,
    },
}

impl AwsSecret {
    /// The ECDSA pair, made once.
    fn ecdsa_pair(&self) -> Result<&EcdsaKeyPair, CryptoError> {
        let Self::Ecdsa {
            pair,
            scalar,
            point,
            curve,
        } = self
        else {
            return Err(KeyError::WrongAlgorithm("ECDSA").into());
        };
        if let Some(made) = pair.get() {
            return Ok(made);
        }
        let made = EcdsaKeyPair::from_private_key_and_public_key(signing(*curve), scalar, point)
            .map_err(|_| KeyError::Malformed("d (zero or not below the group order)"))?;
        // Another thread may have made it meanwhile: either is the same pair.
        let _ = pair.set(made);
        pair.get().ok_or_else(|| backend("ECDSA key pair"))
    }
}

impl SecretKey for AwsSecret {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        match self {
            Self::Ecdsa { .. } => self
                .ecdsa_pair()?
                .sign(&rand::SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| backend("ECDSA signing")),
            Self::Ed25519 { pair, .. } => Ok(pair.sign(message).as_ref().to_vec()),
        }
    }

    fn signs_prehashed(&self) -> bool {
        matches!(self, Self::Ecdsa { .. })
    }

    fn sign_prehashed(&self, digest_bytes: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let Self::Ecdsa { curve, .. } = self else {
            return Err(CryptoError::Signer(
                "Ed25519 does not sign prehashed digests".into(),
            ));
        };
        let pair = self.ecdsa_pair()?;
        let hash = super::check_prehashed(curve.algorithm(), digest_bytes)?;
        let digest = digest::Digest::import_less_safe(digest_bytes, digest_algorithm(hash))
            .map_err(|_| backend("digest import"))?;
        pair.sign_digest(&digest)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| backend("ECDSA signing"))
    }

    fn scalar(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        Ok(match self {
            Self::Ecdsa { scalar, .. } => scalar.clone(),
            Self::Ed25519 { seed, .. } => seed.clone(),
        })
    }

    fn as_any(&self) -> &dyn core::any::Any {
        self
    }
}

impl KeyProvider for AwsLc {
    fn check_public(
        &self,
        curve: Curve,
        x: &[u8],
        y: Option<&[u8]>,
    ) -> Result<Option<PreparedKey>, CryptoError> {
        let bytes = match y {
            Some(y) => {
                let mut point = Vec::with_capacity(x.len().saturating_mul(2).saturating_add(1));
                point.push(4);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                point
            }
            None => x.to_vec(),
        };
        let parsed = ParsedPublicKey::new(verification(curve.algorithm()), bytes)
            .map_err(|_| KeyError::NotOnCurve)?;
        Ok(Some(Box::new(AwsPublic(parsed))))
    }

    fn decompress(&self, curve: Curve, x: &[u8], y_odd: bool) -> Result<Vec<u8>, CryptoError> {
        use aws_lc_rs::encoding::AsDer as _;
        use der::Decode as _;
        // aws-lc parses (and checks) the compressed point; the SubjectPublicKeyInfo it writes
        // back carries the point uncompressed.
        let mut point = Vec::with_capacity(x.len().saturating_add(1));
        point.push(if y_odd { 3 } else { 2 });
        point.extend_from_slice(x);
        let parsed = ParsedPublicKey::new(verification(curve.algorithm()), point)
            .map_err(|_| KeyError::NotOnCurve)?;
        let spki = parsed.as_der().map_err(|_| KeyError::NotOnCurve)?;
        let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(spki.as_ref())
            .map_err(|_| KeyError::NotOnCurve)?;
        let len = curve.coordinate_len();
        match spki
            .subject_public_key
            .as_bytes()
            .and_then(|b| b.split_first())
        {
            Some((4, xy)) if xy.len() == 2 * len => Ok(xy.get(len..).unwrap_or_default().to_vec()),
            _ => Err(KeyError::Encoding("compressed point").into()),
        }
    }

    fn private_key(&self, curve: Curve, d: &[u8]) -> Result<PrivateParts, CryptoError> {
        if curve == Curve::Ed25519 {
            let pair = Ed25519KeyPair::from_seed_unchecked(d)
                .map_err(|_| KeyError::Malformed("d (zero or not below the group order)"))?;
            let x = pair.public_key().as_ref().to_vec();
            return Ok(PrivateParts {
                secret: Box::new(AwsSecret::Ed25519 {
                    pair,
                    seed: Zeroizing::new(d.to_vec()),
                }),
                x,
                y: None,
                prepared: None,
            });
        }
        let malformed = || KeyError::Malformed("d (zero or not below the group order)");
        let ours = agreement::PrivateKey::from_private_key(ecdh_algorithm(curve), d)
            .map_err(|_| malformed())?;
        let public = ours.compute_public_key().map_err(|_| malformed())?;
        let uncompressed: EcPublicKeyUncompressedBin<'_> =
            public.as_be_bytes().map_err(|_| malformed())?;
        let point = uncompressed.as_ref().to_vec();
        drop(uncompressed);
        drop(public);
        let len = curve.coordinate_len();
        let (x, y) = point
            .get(1..)
            .map(|xy| xy.split_at(len.min(xy.len())))
            .ok_or_else(malformed)?;
        Ok(PrivateParts {
            x: x.to_vec(),
            y: Some(y.to_vec()),
            secret: Box::new(AwsSecret::Ecdsa {
                pair: std::sync::OnceLock::new(),
                scalar: Zeroizing::new(d.to_vec()),
                point,
                curve,
            }),
            // The ECDH key the public point was computed with: the first agreement uses it
            // instead of parsing the scalar (and checking the pair) again.
            prepared: Some(Box::new(AwsAgreementKey(ours))),
        })
    }
}
