//! Making claims selectively disclosable (RFC 9901 §4.2): object properties and array
//! elements, recursively, with decoy digests and salts from an injectable [`Random`].

use kmid_crypto::{CryptoProvider, HashAlgorithm, Random};
use serde_json::{Map, Value};

use crate::disclosure::Disclosure;
use crate::error::SdJwtError;
use crate::jws::b64;

/// Salt length in bytes: 128 bits, as RFC 9901 §9.3 recommends.
pub const SALT_BYTES: usize = 16;

/// One step of a claim path: an object member or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathSegment {
    /// An object member.
    Key(String),
    /// An array element.
    Index(usize),
}

/// What the issuer decides about each claim.
pub trait DisclosurePolicy {
    /// Whether the claim at `path` (from the payload root) is selectively disclosable.
    fn is_disclosable(&self, path: &[PathSegment]) -> bool;

    /// How many decoy digests to add to the object at `path` when it has any disclosable
    /// member.
    fn decoys(&self, path: &[PathSegment]) -> usize {
        let _ = path;
        0
    }
}

/// The concealed payload and the Disclosures that reveal it.
#[derive(Debug, Clone)]
pub struct Concealed {
    /// The payload with `_sd`, `...` digests and `_sd_alg`.
    pub payload: Map<String, Value>,
    /// Every Disclosure, in the order made (children before parents).
    pub disclosures: Vec<Disclosure>,
}

struct Ctx<'a> {
    provider: &'a CryptoProvider,
    policy: &'a dyn DisclosurePolicy,
    alg: HashAlgorithm,
    random: &'a dyn Random,
    disclosures: Vec<Disclosure>,
}

impl Ctx<'_> {
    fn salt(&self) -> Result<String, SdJwtError> {
        let mut s = [0u8; SALT_BYTES];
        self.random.fill(&mut s)?;
        Ok(b64(&s))
    }

    fn decoy(&self) -> Result<String, SdJwtError> {
        let mut seed = [0u8; 32];
        self.random.fill(&mut seed)?;
        Ok(b64(&self.provider.digest(self.alg, &seed)?))
    }

    fn value(&mut self, value: Value, path: &mut Vec<PathSegment>) -> Result<Value, SdJwtError> {
        match value {
            Value::Object(map) => Ok(Value::Object(self.object(map, path)?)),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    path.push(PathSegment::Index(i));
                    let inner = self.value(item, path)?;
                    if self.policy.is_disclosable(path) {
                        let d = Disclosure::element(&self.salt()?, inner);
                        let mut wrapper = Map::new();
                        wrapper.insert(
                            "...".into(),
                            Value::String(d.digest(self.provider, self.alg)?),
                        );
                        out.push(Value::Object(wrapper));
                        self.disclosures.push(d);
                    } else {
                        out.push(inner);
                    }
                    path.pop();
                }
                Ok(Value::Array(out))
            }
            other => Ok(other),
        }
    }

    fn object(
        &mut self,
        map: Map<String, Value>,
        path: &mut Vec<PathSegment>,
    ) -> Result<Map<String, Value>, SdJwtError> {
        let mut out = Map::new();
        let mut digests = Vec::new();
        for (key, value) in map {
            if key == "_sd" || key == "..." || (path.is_empty() && key == "_sd_alg") {
                return Err(SdJwtError::InvalidInput(
                    "claims must not use the names _sd, ... or _sd_alg",
                ));
            }
            path.push(PathSegment::Key(key.clone()));
            let inner = self.value(value, path)?;
            if self.policy.is_disclosable(path) {
                let d = Disclosure::property(&self.salt()?, &key, inner)?;
                digests.push(d.digest(self.provider, self.alg)?);
                self.disclosures.push(d);
            } else {
                out.insert(key, inner);
            }
            path.pop();
        }
        if !digests.is_empty() {
            for _ in 0..self.policy.decoys(path) {
                digests.push(self.decoy()?);
            }
            // Sorted, so the order says nothing about the claims (RFC 9901 §4.2.4.1).
            digests.sort();
            out.insert(
                "_sd".into(),
                Value::Array(digests.into_iter().map(Value::String).collect()),
            );
        }
        Ok(out)
    }
}

/// Conceals `claims` by `policy`, hashing with `alg` on `provider` and drawing salts and
/// decoys from `random`. Adds `_sd_alg`.
///
/// # Errors
/// [`SdJwtError::InvalidInput`] when the claims use a reserved name; failures of `random`.
pub fn conceal(
    provider: &CryptoProvider,
    claims: &Map<String, Value>,
    policy: &dyn DisclosurePolicy,
    alg: HashAlgorithm,
    random: &dyn Random,
) -> Result<Concealed, SdJwtError> {
    conceal_owned(provider, claims.clone(), policy, alg, random)
}

/// [`conceal`], consuming `claims`: their values move into the payload and the Disclosures
/// instead of being copied (a portrait is 27 KB).
///
/// # Errors
/// As [`conceal`].
pub fn conceal_owned(
    provider: &CryptoProvider,
    claims: Map<String, Value>,
    policy: &dyn DisclosurePolicy,
    alg: HashAlgorithm,
    random: &dyn Random,
) -> Result<Concealed, SdJwtError> {
    let mut ctx = Ctx {
        provider,
        policy,
        alg,
        random,
        disclosures: Vec::new(),
    };
    let mut payload = ctx.object(claims, &mut Vec::new())?;
    payload.insert("_sd_alg".into(), Value::String(alg.iana_name().into()));
    Ok(Concealed {
        payload,
        disclosures: ctx.disclosures,
    })
}
