//! Secrets hygiene: no `Debug` rendering shows a private key, a card key secret, a session
//! key or a registration number (so logs and panics cannot leak them).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use kmid::CardKeySecret;
use kmid::crypto::jose::b64url;
use kmid::crypto::{Curve, PrivateKey};
use kmid::mdoc::model::{DeviceEngagement, Handover};
use kmid::mdoc::session::Session;
use kmid::schema::{Card, IdentityCard};
use kmid_testkit::samples;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn private_keys_and_card_secrets_are_redacted() {
    let key = PrivateKey::generate(Curve::P256).unwrap();
    let d = key.scalar().unwrap();
    let shown = format!("{key:?} {key:#?}");
    assert!(!shown.contains(&hex(&d)), "{shown}");
    assert!(!shown.contains(&b64url(&d)), "{shown}");
    let secret = CardKeySecret::from_bytes([0xA5; 32]);
    let shown = format!("{secret:?}");
    assert!(!shown.contains("a5a5"), "{shown}");
    assert!(!shown.contains("165"), "{shown}");
}

#[test]
fn registration_numbers_are_redacted_in_cards() {
    for card in samples::all() {
        let number = card.registration_number().expose();
        let digits = number.replace('-', "");
        let shown = format!("{card:?} {card:#?} {:?}", card.registration_number());
        assert!(!shown.contains(&number), "{shown}");
        assert!(!shown.contains(&digits), "{shown}");
        // The last seven digits (sex/origin and serial) never show.
        let tail = number.split('-').nth(1).unwrap();
        assert!(!shown.contains(tail), "{shown}");
        let _: &Card = &card;
    }
}

#[test]
fn session_keys_are_redacted() {
    let device = PrivateKey::generate(Curve::P256).unwrap();
    let reader = PrivateKey::generate(Curve::P256).unwrap();
    let engagement = DeviceEngagement::new(device.public_key().clone(), Vec::new()).unwrap();
    let session = Session::reader(
        kmid::crypto::CryptoProvider::get_default(),
        &reader,
        &engagement,
        &Handover::Qr,
    )
    .unwrap();
    let shown = format!("{session:?}");
    assert!(shown.contains("redacted"), "{shown}");
    let d = reader.scalar().unwrap();
    assert!(!shown.contains(&hex(&d)), "{shown}");
}
