//! Shared test setup: issue a sample card with the test PKI.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code,
    unreachable_pub
)]

use kmid_crypto::PrivateKey;
use kmid_mdoc::issuer::{MdocIssuer, MsoOptions};
use kmid_mdoc::model::IssuerSigned;
use kmid_schema::{Card, CardType, IdentityCard};
use kmid_testkit::{Authority, REFERENCE_TIME, SeededRandom, TestPki};
use time::Duration;

/// The authority that issues `card`.
pub fn authority(card: CardType) -> Authority {
    match card {
        CardType::Resident => Authority::Mois,
        CardType::Foreigner => Authority::Moj,
        CardType::OverseasNational => Authority::Oka,
    }
}

/// MSO options valid around the reference time, with two decoys per namespace.
pub fn options() -> MsoOptions {
    let mut o = MsoOptions::new(
        REFERENCE_TIME - Duration::days(1),
        REFERENCE_TIME + Duration::days(90),
    );
    o.decoys_per_namespace = 2;
    o
}

/// Issues `card` to `device_key` under its authority's Document Signer.
pub fn issue(
    pki: &TestPki,
    card: &Card,
    device_key: &PrivateKey,
    options: &MsoOptions,
) -> IssuerSigned {
    issue_seeded(
        pki,
        card,
        device_key,
        options,
        &format!("issue {:?}", card.card_type()),
    )
}

/// As [`issue`], with salts and digestIDs from `seed`.
pub fn issue_seeded(
    pki: &TestPki,
    card: &Card,
    device_key: &PrivateKey,
    options: &MsoOptions,
    seed: &str,
) -> IssuerSigned {
    let p = pki.issuer(authority(card.card_type()));
    let random = SeededRandom::new(seed.as_bytes());
    MdocIssuer::new(&p.ds_signer, vec![p.ds.clone()], &random)
        .unwrap()
        .issue(card, device_key.public_key(), options)
        .unwrap()
}
