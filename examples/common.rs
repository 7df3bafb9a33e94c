//! What both examples need and a real deployment gets elsewhere: an issuing authority (with
//! its status registry) and a phone that already holds a card. A relying party has only the
//! IACA roots (`trust`) and the published status lists (`fetch`).

use std::sync::Arc;

use kmid::crypto::{Curve, PrivateKey, SystemRandom};
use kmid::schema::Card;
use kmid::status::StatusListResolver;
use kmid::status::registry::{MemoryStore, RegistryConfig, StatusRegistry};
use kmid::status::token::{TokenKeys, TokenPolicy};
use kmid::{AuthorityKeys, CardKeySecret, Formats, Issuer, IssuingAuthority, Verifier, Wallet};
use time::OffsetDateTime;

pub(crate) type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The authority that issues `card`, a wallet holding it in both formats, and a verifier
/// trusting that authority and resolving statuses from its published lists.
pub(crate) fn setup(
    card: &Card,
    now: OffsetDateTime,
) -> Result<(Issuer<MemoryStore>, Wallet, Verifier)> {
    use kmid::schema::IdentityCard;
    let random = Arc::new(SystemRandom);
    let authority = IssuingAuthority::for_card(card.card_type());
    let keys = AuthorityKeys::generate(authority, now, &*random)?;
    let registry = StatusRegistry::new(
        MemoryStore::new(),
        RegistryConfig::new(format!("{}/kmid/status", authority.uri())),
        random.clone(),
    );
    let trust = kmid::trust_store([&keys])?;
    let issuer = Issuer::new(keys, registry, CardKeySecret::generate(&*random)?, random);

    let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256)?, trust.clone());
    let issued = issuer.issue(card, wallet.device_key(), Formats::Both, now)?;
    if let Some(mdoc) = issued.mdoc {
        wallet.store_mdoc(mdoc.issuer_signed, now)?;
    }
    if let Some(sd_jwt) = issued.sd_jwt {
        wallet.store_sd_jwt(&sd_jwt.sd_jwt.to_compact(), now)?;
    }

    // The lists as the issuer publishes them; a real verifier fetches them over HTTPS.
    let lists = issuer.publish(now, 300)?;
    let fetch = move |uri: &str, _accept: &str| {
        lists
            .iter()
            .find(|l| l.uri == uri)
            .map(|l| l.jwt.clone().into_bytes())
    };
    let resolver =
        StatusListResolver::new(fetch, TokenKeys::X5c(trust.clone()), TokenPolicy::default());
    Ok((issuer, wallet, Verifier::new(trust, Arc::new(resolver))))
}
