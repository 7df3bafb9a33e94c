//! HPKE (RFC 9180) base mode, DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM: the RFC's
//! test vector for this suite (Appendix A.3.1, sequence number 0) to the byte, and the
//! refusals.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use kmid_crypto::hpke::{open, seal, seal_with_ephemeral};
use kmid_crypto::{CryptoError, CryptoProvider, Curve, PrivateKey, SystemRandom};

fn hex(text: &str) -> Vec<u8> {
    let text: String = text.split_whitespace().collect();
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn provider() -> &'static CryptoProvider {
    CryptoProvider::get_default()
}

#[test]
fn rfc9180_appendix_a3_base_mode_to_the_byte() {
    let info = hex("4f6465206f6e2061204772656369616e2055726e");
    let sk_e = PrivateKey::from_scalar(
        Curve::P256,
        &hex("4995788ef4b9d6132b249ce59a77281493eb39af373d236a1fe415cb0c2d7beb"),
    )
    .unwrap();
    let sk_r = PrivateKey::from_scalar(
        Curve::P256,
        &hex("f3ce7fdae57e1a310d87f1ebbde6f328be0a99cdbcadf4d6589cf29de4b8ffd2"),
    )
    .unwrap();
    assert_eq!(
        sk_r.public_key().to_sec1_uncompressed().unwrap(),
        hex(
            "04fe8c19ce0905191ebc298a9245792531f26f0cece2460639e8bc39cb7f70
             6a826a779b4cf969b8a0e539c7f62fb3d30ad6aa8f80e30f1d128aafd68a2ce72ea0"
        )
    );
    let pt = hex("4265617574792069732074727574682c20747275746820626561757479");
    let aad = hex("436f756e742d30");
    let sealed =
        seal_with_ephemeral(provider(), &sk_e, sk_r.public_key(), &info, &aad, &pt).unwrap();
    assert_eq!(
        sealed.enc,
        hex(
            "04a92719c6195d5085104f469a8b9814d5838ff72b60501e2c4466e5e67b325
             ac98536d7b61a1af4b78e5b7f951c0900be863c403ce65c9bfcb9382657222d18c4"
        )
    );
    assert_eq!(
        sealed.ciphertext,
        hex(
            "5ad590bb8baa577f8619db35a36311226a896e7342a6d836d8b7bcd2f20b6c7f
             9076ac232e3ab2523f39513434"
        )
    );
    let opened = open(
        provider(),
        &sk_r,
        &sealed.enc,
        &info,
        &aad,
        &sealed.ciphertext,
    )
    .unwrap();
    assert_eq!(opened.as_slice(), pt);
}

#[test]
fn a_sealed_message_opens_only_as_it_was_sealed() {
    let recipient = PrivateKey::generate(Curve::P256).unwrap();
    let sealed = seal(
        provider(),
        &SystemRandom,
        recipient.public_key(),
        b"transcript",
        b"",
        b"DeviceResponse",
    )
    .unwrap();
    assert_eq!(
        open(
            provider(),
            &recipient,
            &sealed.enc,
            b"transcript",
            b"",
            &sealed.ciphertext
        )
        .unwrap()
        .as_slice(),
        b"DeviceResponse"
    );
    // Another info (another SessionTranscript), another recipient, a flipped byte.
    assert_eq!(
        open(
            provider(),
            &recipient,
            &sealed.enc,
            b"other",
            b"",
            &sealed.ciphertext
        )
        .unwrap_err(),
        CryptoError::DecryptionFailed
    );
    let other = PrivateKey::generate(Curve::P256).unwrap();
    assert_eq!(
        open(
            provider(),
            &other,
            &sealed.enc,
            b"transcript",
            b"",
            &sealed.ciphertext
        )
        .unwrap_err(),
        CryptoError::DecryptionFailed
    );
    let mut flipped = sealed.ciphertext.clone();
    flipped[0] ^= 1;
    assert_eq!(
        open(
            provider(),
            &recipient,
            &sealed.enc,
            b"transcript",
            b"",
            &flipped
        )
        .unwrap_err(),
        CryptoError::DecryptionFailed
    );
    // An enc off the curve, or compressed.
    let mut off = sealed.enc.clone();
    off[64] ^= 1;
    assert!(matches!(
        open(
            provider(),
            &recipient,
            &off,
            b"transcript",
            b"",
            &sealed.ciphertext
        )
        .unwrap_err(),
        CryptoError::InvalidKey(_)
    ));
    assert!(matches!(
        open(
            provider(),
            &recipient,
            &sealed.enc[..33],
            b"transcript",
            b"",
            &sealed.ciphertext
        )
        .unwrap_err(),
        CryptoError::InvalidKey(_)
    ));
}
