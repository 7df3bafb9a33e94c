//! Processing an SD-JWT payload with its Disclosures (RFC 9901 §7.1, step 3 to 5): every
//! embedded digest found, every Disclosure referenced exactly once, no digest twice, reserved
//! names and name collisions refused, undisclosed array elements removed, `_sd` and `_sd_alg`
//! removed. The result records where each Disclosure went, which a holder needs to choose what
//! to present.

use std::collections::{HashMap, HashSet};

use kmid_crypto::HashAlgorithm;
use serde_json::{Map, Value};

use crate::conceal::PathSegment;
use crate::disclosure::Disclosure;
use crate::error::{DisclosureError, SdJwtError, malformed};
use crate::limits::SdJwtLimits;

/// The Processed SD-JWT Payload and where each Disclosure was inserted.
#[derive(Debug, Clone, PartialEq)]
pub struct Processed {
    /// The processed payload.
    pub claims: Map<String, Value>,
    /// For each Disclosure (by index), the path of the claim it revealed.
    pub paths: Vec<Vec<PathSegment>>,
}

struct Ctx<'a> {
    disclosures: &'a [Disclosure],
    by_digest: HashMap<String, usize>,
    seen: HashSet<String>,
    paths: Vec<Option<Vec<PathSegment>>>,
    limits: &'a SdJwtLimits,
}

impl Ctx<'_> {
    fn check_digest(&mut self, digest: &str) -> Result<Option<usize>, SdJwtError> {
        if self.seen.len() >= self.limits.max_digests {
            return Err(SdJwtError::Limit {
                kind: crate::limits::SdJwtLimit::Digests,
                max: self.limits.max_digests,
                actual: self.seen.len() + 1,
            });
        }
        if !self.seen.insert(digest.to_owned()) {
            return Err(SdJwtError::DuplicateDigest(digest.to_owned()));
        }
        Ok(self.by_digest.get(digest).copied())
    }

    fn value(&mut self, value: Value, path: &mut Vec<PathSegment>) -> Result<Value, SdJwtError> {
        if path.len() > self.limits.max_depth {
            return Err(SdJwtError::Limit {
                kind: crate::limits::SdJwtLimit::Depth,
                max: self.limits.max_depth,
                actual: path.len(),
            });
        }
        match value {
            Value::Object(map) => Ok(Value::Object(self.object(map, path)?)),
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    path.push(PathSegment::Index(out.len()));
                    let digest = match &item {
                        Value::Object(m) if m.len() == 1 => {
                            m.get("...").and_then(Value::as_str).map(str::to_owned)
                        }
                        _ => None,
                    };
                    match digest {
                        Some(digest) => {
                            if let Some(index) = self.check_digest(&digest)? {
                                let d = self
                                    .disclosures
                                    .get(index)
                                    .ok_or(SdJwtError::InvalidInput("disclosure index"))?;
                                if d.name().is_some() {
                                    return Err(SdJwtError::Disclosure {
                                        index,
                                        kind: DisclosureError::NotAnArrayElement,
                                    });
                                }
                                if let Some(slot) = self.paths.get_mut(index) {
                                    *slot = Some(path.clone());
                                }
                                let inner = self.value(d.value().clone(), path)?;
                                out.push(inner);
                            }
                            // A digest with no Disclosure (a decoy or an undisclosed element) is removed.
                        }
                        None => {
                            let inner = self.value(item, path)?;
                            out.push(inner);
                        }
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
        mut map: Map<String, Value>,
        path: &mut Vec<PathSegment>,
    ) -> Result<Map<String, Value>, SdJwtError> {
        let sd = map.remove("_sd");
        let mut out = Map::new();
        for (key, value) in map {
            path.push(PathSegment::Key(key.clone()));
            let inner = self.value(value, path)?;
            path.pop();
            out.insert(key, inner);
        }
        let Some(sd) = sd else { return Ok(out) };
        let Value::Array(digests) = sd else {
            return Err(malformed(
                format!("_sd at {}", display(path)),
                "not an array of strings",
            ));
        };
        for digest in digests {
            let Value::String(digest) = digest else {
                return Err(malformed(
                    format!("_sd at {}", display(path)),
                    "not an array of strings",
                ));
            };
            let Some(index) = self.check_digest(&digest)? else {
                continue;
            };
            let d = self
                .disclosures
                .get(index)
                .ok_or(SdJwtError::InvalidInput("disclosure index"))?;
            let Some(name) = d.name() else {
                return Err(SdJwtError::Disclosure {
                    index,
                    kind: DisclosureError::NotAnObjectProperty,
                });
            };
            if name == "_sd" || name == "..." {
                return Err(SdJwtError::Disclosure {
                    index,
                    kind: DisclosureError::ReservedName(name.to_owned()),
                });
            }
            if out.contains_key(name) {
                return Err(SdJwtError::Disclosure {
                    index,
                    kind: DisclosureError::NameCollision(name.to_owned()),
                });
            }
            path.push(PathSegment::Key(name.to_owned()));
            if let Some(slot) = self.paths.get_mut(index) {
                *slot = Some(path.clone());
            }
            let inner = self.value(d.value().clone(), path)?;
            path.pop();
            out.insert(name.to_owned(), inner);
        }
        Ok(out)
    }
}

fn display(path: &[PathSegment]) -> String {
    if path.is_empty() {
        return "the root".into();
    }
    path.iter()
        .map(|s| match s {
            PathSegment::Key(k) => k.clone(),
            PathSegment::Index(i) => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Processes `payload` (the issuer-signed JWT's claims) with `disclosures`.
///
/// # Errors
/// [`SdJwtError::Disclosure`] (not referenced, repeated, wrong shape, reserved name,
/// collision), [`SdJwtError::DuplicateDigest`], [`SdJwtError::Limit`], [`SdJwtError::Malformed`].
pub fn process(
    provider: &kmid_crypto::CryptoProvider,
    mut payload: Map<String, Value>,
    disclosures: &[Disclosure],
    alg: HashAlgorithm,
    limits: &SdJwtLimits,
) -> Result<Processed, SdJwtError> {
    let mut by_digest = HashMap::with_capacity(disclosures.len());
    for (index, d) in disclosures.iter().enumerate() {
        if by_digest.insert(d.digest(provider, alg)?, index).is_some() {
            return Err(SdJwtError::Disclosure {
                index,
                kind: DisclosureError::Repeated,
            });
        }
    }
    payload.remove("_sd_alg");
    let mut ctx = Ctx {
        disclosures,
        by_digest,
        seen: HashSet::new(),
        paths: vec![None; disclosures.len()],
        limits,
    };
    let claims = ctx.object(payload, &mut Vec::new())?;
    let paths = ctx
        .paths
        .into_iter()
        .enumerate()
        .map(|(index, p)| {
            p.ok_or(SdJwtError::Disclosure {
                index,
                kind: DisclosureError::NotReferenced,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Processed { claims, paths })
}
