//! The provider test suite: every provider this build has (`openssl`, `aws-lc`) against Project
//! Wycheproof's ECDSA P-256 (P1363, the raw `r ‖ s` that COSE and JWS carry), ECDH P-256 and
//! AES-GCM vectors, through the same tables the rest of the workspace uses. CI runs it once per
//! provider feature.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kmid_crypto::{Algorithm, CryptoError, CryptoProvider, Curve, PublicKey};
use wycheproof::TestResult;

fn providers() -> Vec<&'static CryptoProvider> {
    [
        #[cfg(feature = "openssl")]
        CryptoProvider::openssl(),
        #[cfg(feature = "aws-lc")]
        CryptoProvider::aws_lc(),
    ]
    .to_vec()
}

#[test]
fn the_default_is_the_feature_chosen_provider() {
    let expected = if cfg!(feature = "openssl") {
        "openssl"
    } else {
        "aws-lc"
    };
    assert_eq!(CryptoProvider::get_default().name, expected);
}

#[test]
fn wycheproof_ecdsa_p256_sha256_p1363() {
    let set =
        wycheproof::ecdsa::TestSet::load(wycheproof::ecdsa::TestName::EcdsaSecp256r1Sha256P1363)
            .unwrap();
    for provider in providers() {
        let mut checked = 0;
        for group in &set.test_groups {
            // Keys the provider refuses to import (not on the curve) fail every test of the group.
            let key = PublicKey::from_spki_der(&group.der);
            for test in &group.tests {
                let outcome = key.as_ref().map_err(|_| ()).and_then(|k| {
                    provider
                        .signature_verifier
                        .verify(Algorithm::Es256, k, &test.msg, &test.sig)
                        .map_err(|_| ())
                });
                match test.result {
                    TestResult::Valid => assert!(
                        outcome.is_ok(),
                        "{}: tc {} ({}) must verify",
                        provider.name,
                        test.tc_id,
                        test.comment
                    ),
                    TestResult::Invalid => assert!(
                        outcome.is_err(),
                        "{}: tc {} ({}) must not verify",
                        provider.name,
                        test.tc_id,
                        test.comment
                    ),
                    TestResult::Acceptable => {}
                }
                checked += 1;
            }
        }
        assert!(checked > 200, "{checked} ECDSA cases");
    }
}

#[test]
fn wycheproof_ecdh_p256() {
    let set = wycheproof::ecdh::TestSet::load(wycheproof::ecdh::TestName::EcdhSecp256r1).unwrap();
    for provider in providers() {
        let mut checked = 0;
        for group in &set.test_groups {
            for test in &group.tests {
                // The private scalar as this crate takes it: exactly 32 bytes.
                let d: &[u8] = &test.private_key;
                let d = if d.len() > 32 { &d[d.len() - 32..] } else { d };
                let mut padded = vec![0u8; 32 - d.len()];
                padded.extend_from_slice(d);
                let outcome = PublicKey::from_spki_der(&test.public_key)
                    .map_err(|_| ())
                    .and_then(|peer| {
                        let ours = kmid_crypto::PrivateKey::from_scalar(Curve::P256, &padded)
                            .map_err(|_| ())?;
                        provider
                            .key_agreement
                            .ecdh(&ours, &peer)
                            .map(|z| z.to_vec())
                            .map_err(|_| ())
                    });
                match test.result {
                    TestResult::Valid => assert_eq!(
                        outcome.as_deref(),
                        Ok(&test.shared_secret[..]),
                        "{}: tc {} ({})",
                        provider.name,
                        test.tc_id,
                        test.comment
                    ),
                    TestResult::Invalid => assert!(
                        outcome.is_err(),
                        "{}: tc {} ({}) must fail",
                        provider.name,
                        test.tc_id,
                        test.comment
                    ),
                    TestResult::Acceptable => {}
                }
                checked += 1;
            }
        }
        assert!(checked > 200, "{checked} ECDH cases");
    }
}

#[test]
fn wycheproof_aes_gcm() {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::AesGcm).unwrap();
    for provider in providers() {
        let mut checked = 0;
        for group in &set.test_groups {
            // This profile uses 96-bit IVs, 16-byte tags, and 128- or 256-bit keys.
            if group.nonce_size != 96 || group.tag_size != 128 || group.key_size == 192 {
                continue;
            }
            for test in &group.tests {
                let iv: [u8; 12] = test.nonce[..].try_into().unwrap();
                let mut sealed = test.ct.to_vec();
                sealed.extend_from_slice(&test.tag);
                let opened = provider
                    .aead
                    .aes_gcm_open(&test.key, &iv, &test.aad, &sealed);
                match test.result {
                    TestResult::Valid => {
                        assert_eq!(
                            opened.as_deref().map(Vec::as_slice),
                            Ok(&test.pt[..]),
                            "{}: tc {}",
                            provider.name,
                            test.tc_id
                        );
                        let again = provider
                            .aead
                            .aes_gcm_seal(&test.key, &iv, &test.aad, &test.pt)
                            .unwrap();
                        assert_eq!(again, sealed, "{}: tc {}", provider.name, test.tc_id);
                    }
                    TestResult::Invalid => assert!(
                        opened.is_err(),
                        "{}: tc {} ({}) must fail",
                        provider.name,
                        test.tc_id,
                        test.comment
                    ),
                    TestResult::Acceptable => {}
                }
                checked += 1;
            }
        }
        assert!(checked > 100, "{checked} AES-GCM cases");
    }
}

/// FIPS 197 Appendix C.3 (AES-256), twice in one call, and a length that is not whole blocks.
#[test]
fn fips197_aes256_block() {
    let key: [u8; 32] = core::array::from_fn(|i| u8::try_from(i).unwrap());
    let plain = hex::decode("00112233445566778899aabbccddeeff").unwrap();
    let cipher = hex::decode("8ea2b7ca516745bfeafc49904b496089").unwrap();
    for provider in providers() {
        let mut blocks = [plain.clone(), plain.clone()].concat();
        provider.aes256_blocks(&key, &mut blocks).unwrap();
        assert_eq!(
            blocks,
            [cipher.clone(), cipher.clone()].concat(),
            "{}",
            provider.name
        );
        let err = provider.aes256_blocks(&key, &mut [0u8; 17]).unwrap_err();
        assert!(
            matches!(&err, CryptoError::Backend(e) if e.to_string().contains("AES blocks")),
            "{}: {err:?}",
            provider.name
        );
        provider.aes256_blocks(&key, &mut []).unwrap();
    }
}
