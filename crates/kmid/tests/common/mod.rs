//! What the facade's tests share: the clock, an issuer with runtime keys and an in-memory
//! registry, a wallet trusting it, and a resolver that reports every credential VALID (the
//! status path itself is tested in kmid-status and by the conformance vectors).

#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use kmid::crypto::{Curve, PrivateKey, SystemRandom};
use kmid::schema::status::{
    StatusContext, StatusError, StatusReference, StatusResolver, TokenStatus,
};
use kmid::status::registry::{MemoryStore, RegistryConfig, StatusRegistry};
use kmid::{AuthorityKeys, CardKeySecret, Issuer, IssuingAuthority, Wallet};
use time::OffsetDateTime;

/// Every credential is VALID.
pub(crate) struct AllValid;

impl StatusResolver for AllValid {
    fn resolve(
        &self,
        _: &StatusReference,
        _: &StatusContext<'_>,
        _: OffsetDateTime,
    ) -> Result<TokenStatus, StatusError> {
        Ok(TokenStatus::Valid)
    }
}

/// Now, to the second.
pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

/// An issuer for `authority` with keys made now and an in-memory registry.
pub(crate) fn issuer(authority: IssuingAuthority) -> Issuer<MemoryStore> {
    let random = Arc::new(SystemRandom);
    let keys = AuthorityKeys::generate(authority, now(), &*random).unwrap();
    let registry = StatusRegistry::new(
        MemoryStore::new(),
        RegistryConfig::new("https://status.example/lists"),
        random.clone(),
    );
    Issuer::new(
        keys,
        registry,
        CardKeySecret::generate(&*random).unwrap(),
        random,
    )
}

/// A wallet with a fresh P-256 device key, trusting `issuer`.
pub(crate) fn wallet(issuer: &Issuer<MemoryStore>) -> Wallet {
    Wallet::new(
        PrivateKey::generate(Curve::P256).unwrap(),
        kmid::trust_store([issuer.keys()]).unwrap(),
    )
}
