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

/// A relying party's access PKI: a root the wallet trusts for verifier access, and the
/// access certificate of `bank.example`.
pub(crate) fn access_pki() -> (
    kmid::crypto::x509::TrustStore,
    Arc<dyn kmid::crypto::Signer>,
    kmid::crypto::x509::Certificate,
) {
    let params = |kind, cn: &str, dns: Vec<String>| kmid::crypto::x509::CertificateParams {
        kind,
        country: "KR".into(),
        organization: Some("Example Bank".into()),
        state_or_province: None,
        common_name: cn.into(),
        not_before: now() - time::Duration::days(1),
        not_after: now() + time::Duration::days(300),
        issuer_alt_name: None,
        crl_uri: None,
        dns_names: dns,
    };
    let root_key = PrivateKey::generate(Curve::P256).unwrap();
    let root = kmid::crypto::x509::issue_certificate(
        &params(
            kmid::crypto::x509::CertificateKind::ReaderRoot,
            "Relying party access CA",
            vec![],
        ),
        root_key.public_key(),
        None,
        &root_key,
        &SystemRandom,
    )
    .unwrap();
    let key = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let leaf = kmid::crypto::x509::issue_certificate(
        &params(
            kmid::crypto::x509::CertificateKind::ReaderAuthentication,
            "Example Bank",
            vec!["bank.example".into()],
        ),
        key.public_key(),
        Some(&root),
        &root_key,
        &SystemRandom,
    )
    .unwrap();
    let mut trust = kmid::crypto::x509::TrustStore::new();
    trust.add(root).unwrap();
    (trust, key, leaf)
}

/// A registrar (`iss` `https://registrar.example`, `kid` `r1`): the keys a wallet trusts, and
/// its signer.
pub(crate) fn registrar() -> (kmid::trust::ConfiguredKeys, Arc<dyn kmid::crypto::Signer>) {
    let key = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    (
        vec![(
            "https://registrar.example".into(),
            Some("r1".into()),
            key.public_key().clone(),
        )],
        key,
    )
}

/// A registration attestation from `signer` (as `https://registrar.example`, `r1`) for
/// `verifier` to collect `claims` under `legal_basis`, valid a year from `now()`.
pub(crate) fn registration(
    signer: &Arc<dyn kmid::crypto::Signer>,
    verifier: &str,
    claims: &[&str],
) -> String {
    kmid::registration::RegistrationAttestation {
        registrar: "https://registrar.example".into(),
        verifier: verifier.into(),
        claims: claims.iter().map(|c| (*c).to_owned()).collect(),
        legal_basis: "Act on Real Name Financial Transactions and Confidentiality, Art. 3".into(),
        issued_at: now() - time::Duration::minutes(1),
        expires: now() + time::Duration::days(365),
    }
    .sign(signer, "r1")
    .unwrap()
}

/// The `x509_hash` Client Identifier of a verifier's access certificate: what a registration
/// attestation names.
pub(crate) fn hash_id(leaf: &kmid::crypto::x509::Certificate) -> String {
    kmid::oid4vc::request::ClientId::x509_hash(kmid::crypto::CryptoProvider::get_default(), leaf)
        .unwrap()
        .to_string()
}
