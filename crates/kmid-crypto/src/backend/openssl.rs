//! The OpenSSL backend: the one module of this crate that names OpenSSL. It implements every
//! table of [`CryptoProvider`], with OpenSSL's low-level paths where the EVP layer costs
//! (ECDSA on `EC_KEY`, SHA-2 on `SHA256_CTX` and friends, a per-thread block of random bytes).

use core::cell::RefCell;

use openssl::bn::BigNum;
use openssl::derive::Deriver;
use openssl::ecdsa::EcdsaSig;
use openssl::hash::MessageDigest;
use openssl::md::Md;
use openssl::pkey::{Id, PKey};
use openssl::pkey_ctx::PkeyCtx;
use openssl::symm::{Cipher, decrypt_aead, encrypt_aead};
use zeroize::{Zeroize, Zeroizing};

use crate::algorithm::{Algorithm, Curve};
use crate::digest::HashAlgorithm;
use crate::error::{AlgorithmRefusal, CryptoError, KeyError};
use crate::key::{PrivateKey, PublicKey};
use crate::provider::{Aead, CryptoProvider, Digests, HashContext, Kdf, KeyAgreement, Mac};
use crate::random::Random;
use crate::signature::{SignatureVerifier, Signer};

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
};

/// The OpenSSL implementation of every table.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpenSsl;

/// Length of an AES-GCM tag.
const GCM_TAG_LEN: usize = 16;

/// The message digest ECDSA signs for `algorithm`, on OpenSSL's low-level SHA-2 contexts
/// (no EVP fetch per signature; see [`crate::Hasher`]).
fn digest_for(algorithm: Algorithm, message: &[u8]) -> Vec<u8> {
    let hash = algorithm.prehash().unwrap_or(HashAlgorithm::Sha256);
    let mut hasher = hash.hasher();
    hasher.update(message);
    hasher.finish()
}

fn verify(
    key: &PublicKey,
    algorithm: Algorithm,
    message: &[u8],
    signature: &[u8],
) -> Result<(), CryptoError> {
    if key.algorithm() != algorithm {
        return Err(CryptoError::UnsupportedAlgorithm(
            AlgorithmRefusal::KeyMismatch {
                algorithm,
                curve: key.curve(),
            },
        ));
    }
    let expected = algorithm.signature_len();
    if signature.len() != expected {
        return Err(CryptoError::MalformedSignature {
            expected,
            actual: signature.len(),
        });
    }
    let ok = match &key.ec {
        Some(ec) => {
            let (r, s) = signature.split_at(expected / 2);
            let sig =
                EcdsaSig::from_private_components(BigNum::from_slice(r)?, BigNum::from_slice(s)?)?;
            let digest = digest_for(algorithm, message);
            // An error here means a malformed (r, s), which is a failed verification.
            sig.verify(&digest, ec).unwrap_or(false)
        }
        None => {
            let mut verifier = openssl::sign::Verifier::new_without_digest(&key.pkey)?;
            verifier.verify_oneshot(signature, message).unwrap_or(false)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(CryptoError::BadSignature)
    }
}

impl Signer for PrivateKey {
    fn algorithm(&self) -> Algorithm {
        self.curve().algorithm()
    }

    fn public_key(&self) -> &PublicKey {
        PrivateKey::public_key(self)
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        if self.ec.is_some() {
            self.sign_prehashed(&digest_for(self.curve().algorithm(), message))
        } else {
            let mut signer = openssl::sign::Signer::new_without_digest(&self.pkey)?;
            Ok(signer.sign_oneshot_to_vec(message)?)
        }
    }

    fn signs_prehashed(&self) -> bool {
        self.ec.is_some()
    }

    fn sign_prehashed(&self, digest: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let algorithm = self.curve().algorithm();
        let (Some(ec), Some(hash)) = (&self.ec, algorithm.prehash()) else {
            return Err(CryptoError::Signer(
                "Ed25519 does not sign prehashed digests".into(),
            ));
        };
        if digest.len() != hash.output_len() {
            return Err(CryptoError::Signer(format!(
                "a {algorithm} digest is {} bytes, not {}",
                hash.output_len(),
                digest.len()
            )));
        }
        let sig = EcdsaSig::sign(digest, ec)?;
        let half = i32::try_from(algorithm.signature_len() / 2)
            .map_err(|_| CryptoError::Signer("signature length".into()))?;
        let mut out = sig.r().to_vec_padded(half)?;
        out.extend_from_slice(&sig.s().to_vec_padded(half)?);
        Ok(out)
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
        let mut deriver = Deriver::new(&private.pkey)?;
        deriver.set_peer(&peer.pkey)?;
        let mut z = Zeroizing::new(vec![0u8; private.curve().coordinate_len()]);
        let n = deriver.derive(&mut z)?;
        z.truncate(n);
        Ok(z)
    }
}

/// Requests above this size go straight to `RAND_bytes`.
const POOLED_MAX: usize = 64;
const POOL_LEN: usize = 512;

struct Pool {
    bytes: Zeroizing<[u8; POOL_LEN]>,
    /// The next unused byte; `POOL_LEN` when the block is used up.
    next: usize,
    /// The process the block was drawn in.
    pid: u32,
}

thread_local! {
    static POOL: RefCell<Pool> = RefCell::new(Pool {
        bytes: Zeroizing::new([0; POOL_LEN]),
        next: POOL_LEN,
        pid: 0,
    });
}

impl Pool {
    fn take(&mut self, buf: &mut [u8]) -> Result<(), CryptoError> {
        let pid = std::process::id();
        let end = self.next.saturating_add(buf.len());
        if self.pid != pid || end > POOL_LEN {
            openssl::rand::rand_bytes(&mut *self.bytes)?;
            self.pid = pid;
            self.next = 0;
        }
        let end = self.next.saturating_add(buf.len());
        let block = self
            .bytes
            .get_mut(self.next..end)
            .ok_or_else(|| CryptoError::Signer("random pool".into()))?;
        buf.copy_from_slice(block);
        block.zeroize();
        self.next = end;
        Ok(())
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
        if buf.len() > POOLED_MAX {
            return Ok(openssl::rand::rand_bytes(buf)?);
        }
        let pooled = POOL.try_with(|pool| match pool.try_borrow_mut() {
            Ok(mut pool) => Some(pool.take(buf)),
            Err(_) => None,
        });
        match pooled {
            Ok(Some(result)) => result,
            // Re-entered, or called while the thread's locals are being destroyed.
            Ok(None) | Err(_) => Ok(openssl::rand::rand_bytes(buf)?),
        }
    }

    fn fill_secret(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        Ok(openssl::rand::rand_bytes(buf)?)
    }
}
