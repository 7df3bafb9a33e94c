//! JSON Web Keys (RFC 7517) for the supported curves (RFC 7518 §6.2, RFC 8037 §2), and the
//! JWK thumbprint (RFC 7638).

use core::fmt;
use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::algorithm::Curve;
use crate::error::{CryptoError, KeyError};
use crate::key::{PrivateKey, PublicKey};

/// A JSON Web Key.
///
/// Members this crate uses are fields; any others (RSA's `n` and `e`, `x5c`, `key_ops` …) are
/// kept in `other` so a key passes through unchanged. The private member `d` is wiped on drop
/// and never shown by `Debug`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Jwk {
    /// Key type: `EC` or `OKP` for the keys this crate imports.
    pub kty: String,
    /// Curve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// x coordinate (or the Ed25519 public key), base64url without padding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// y coordinate, base64url without padding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Private scalar, base64url without padding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    /// Key identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Intended algorithm.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Public key use (`sig`).
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// Other members, unchanged.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// Private members of other key types (RFC 7518 §6.3.2, §6.4.1), wiped with `d`.
const SECRET_MEMBERS: &[&str] = &["p", "q", "dp", "dq", "qi", "oth", "k"];

impl Drop for Jwk {
    fn drop(&mut self) {
        if let Some(d) = self.d.as_mut() {
            d.zeroize();
        }
        for name in SECRET_MEMBERS {
            if let Some(serde_json::Value::String(s)) = self.other.get_mut(*name) {
                s.zeroize();
            }
        }
    }
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("crv", &self.crv)
            .field("x", &self.x)
            .field("y", &self.y)
            .field("d", &self.d.as_ref().map(|_| "<redacted>"))
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(member: &'static str, text: &str) -> Result<Vec<u8>, KeyError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| KeyError::Malformed(member))
}

impl Jwk {
    /// Parses a JWK from JSON text.
    ///
    /// # Errors
    /// [`KeyError::Encoding`] when the text is not a JSON object of JWK shape.
    pub fn from_json(text: &str) -> Result<Self, CryptoError> {
        serde_json::from_str(text).map_err(|_| KeyError::Encoding("JWK JSON").into())
    }

    /// The curve named by `crv`, for `EC` and `OKP` keys.
    ///
    /// # Errors
    /// [`KeyError::UnsupportedKeyType`], [`KeyError::Missing`] or [`KeyError::UnsupportedCurve`].
    pub fn curve(&self) -> Result<Curve, KeyError> {
        if self.kty != "EC" && self.kty != "OKP" {
            return Err(KeyError::UnsupportedKeyType(
                self.kty.chars().take(16).collect(),
            ));
        }
        let crv = self.crv.as_deref().ok_or(KeyError::Missing("crv"))?;
        let curve = Curve::from_jwk_name(crv)
            .ok_or_else(|| KeyError::UnsupportedCurve(crv.chars().take(16).collect()))?;
        let kty_ok = if curve == Curve::Ed25519 {
            self.kty == "OKP"
        } else {
            self.kty == "EC"
        };
        if kty_ok {
            Ok(curve)
        } else {
            Err(KeyError::Malformed("kty (does not match crv)"))
        }
    }

    /// The public key this JWK describes (a `d` member, if present, is ignored).
    ///
    /// # Errors
    /// Any [`KeyError`]: unsupported type or curve, missing or malformed members, wrong
    /// lengths, a point not on the curve.
    pub fn to_public_key(&self) -> Result<PublicKey, CryptoError> {
        let curve = self.curve()?;
        let x = unb64("x", self.x.as_deref().ok_or(KeyError::Missing("x"))?)?;
        let y = match (curve, self.y.as_deref()) {
            (Curve::Ed25519, None) => None,
            (Curve::Ed25519, Some(_)) => {
                return Err(KeyError::Malformed("y (an OKP key has none)").into());
            }
            (_, Some(y)) => Some(unb64("y", y)?),
            (_, None) => return Err(KeyError::Missing("y").into()),
        };
        PublicKey::from_coordinates(curve, &x, y.as_deref())
    }

    /// The private key this JWK describes; its public members must match `d`.
    ///
    /// # Errors
    /// [`KeyError::Missing`] without `d`, [`KeyError::Mismatch`] when `d` does not belong to
    /// `x`/`y`, and everything [`Self::to_public_key`] reports.
    pub fn to_private_key(&self) -> Result<PrivateKey, CryptoError> {
        let public = self.to_public_key()?;
        let d = zeroize::Zeroizing::new(unb64(
            "d",
            self.d.as_deref().ok_or(KeyError::Missing("d"))?,
        )?);
        let private = PrivateKey::from_scalar(public.curve(), &d)?;
        if *private.public_key() != public {
            return Err(KeyError::Mismatch.into());
        }
        Ok(private)
    }

    /// The RFC 7638 thumbprint with SHA-256, base64url: the hash of the required members in
    /// lexicographic order with no white space (`EC`: crv, kty, x, y; `OKP`: crv, kty, x;
    /// `RSA`: e, kty, n; `oct`: k, kty).
    ///
    /// # Errors
    /// [`KeyError::Missing`] for a missing required member, [`KeyError::UnsupportedKeyType`].
    pub fn thumbprint_sha256(&self) -> Result<String, CryptoError> {
        self.thumbprint_sha256_on(crate::CryptoProvider::get_default())
    }

    /// [`Self::thumbprint_sha256`], hashed on `provider`.
    ///
    /// # Errors
    /// As [`Self::thumbprint_sha256`].
    pub fn thumbprint_sha256_on(
        &self,
        provider: &crate::CryptoProvider,
    ) -> Result<String, CryptoError> {
        let member = |name: &'static str| -> Result<String, KeyError> {
            let value = match name {
                "crv" => self.crv.clone(),
                "x" => self.x.clone(),
                "y" => self.y.clone(),
                other => self
                    .other
                    .get(other)
                    .and_then(|v| v.as_str())
                    .map(str::to_owned),
            };
            value.ok_or(KeyError::Missing(name))
        };
        let required: &[&'static str] = match self.kty.as_str() {
            "EC" => &["crv", "kty", "x", "y"],
            "OKP" => &["crv", "kty", "x"],
            "RSA" => &["e", "kty", "n"],
            "oct" => &["k", "kty"],
            other => {
                return Err(KeyError::UnsupportedKeyType(other.chars().take(16).collect()).into());
            }
        };
        let mut canonical = serde_json::Map::new();
        for &name in required {
            let value = if name == "kty" {
                self.kty.clone()
            } else {
                member(name)?
            };
            canonical.insert(name.to_owned(), serde_json::Value::String(value));
        }
        // serde_json's Map is ordered by key, and to_string writes no white space.
        let text = serde_json::Value::Object(canonical).to_string();
        Ok(b64(&provider.sha256(text.as_bytes())?))
    }
}

impl From<&PublicKey> for Jwk {
    fn from(key: &PublicKey) -> Self {
        let kty = if key.curve() == Curve::Ed25519 {
            "OKP"
        } else {
            "EC"
        };
        Self {
            kty: kty.to_owned(),
            crv: Some(key.curve().jwk_name().to_owned()),
            x: Some(b64(key.x())),
            y: key.y().map(b64),
            d: None,
            kid: None,
            alg: None,
            key_use: None,
            other: BTreeMap::new(),
        }
    }
}

impl PublicKey {
    /// The key as a JWK (no `kid`, `alg` or `use`).
    #[must_use]
    pub fn to_jwk(&self) -> Jwk {
        Jwk::from(self)
    }

    /// The RFC 7638 SHA-256 thumbprint of the key's JWK.
    ///
    /// # Errors
    /// Only backend failures.
    pub fn thumbprint_sha256(&self) -> Result<String, CryptoError> {
        self.to_jwk().thumbprint_sha256()
    }

    /// [`Self::thumbprint_sha256`], hashed on `provider`.
    ///
    /// # Errors
    /// As [`Self::thumbprint_sha256`].
    pub fn thumbprint_sha256_on(
        &self,
        provider: &crate::CryptoProvider,
    ) -> Result<String, CryptoError> {
        self.to_jwk().thumbprint_sha256_on(provider)
    }
}

impl PrivateKey {
    /// The key as a private JWK, with `d`.
    ///
    /// # Errors
    /// Only backend failures.
    pub fn to_jwk(&self) -> Result<Jwk, CryptoError> {
        let mut jwk = Jwk::from(self.public_key());
        jwk.d = Some(b64(&self.scalar()?));
        Ok(jwk)
    }
}
