//! A provider assembled by the application and installed for the process is the one every
//! check without a provider of its own goes through — certificate signatures included. Its own
//! test binary: the installation is process-wide.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};

use kmid_crypto::x509::KeyPurpose;
use kmid_crypto::{Algorithm, CryptoError, CryptoProvider, PublicKey, SignatureVerifier};
use kmid_testkit::{Authority, REFERENCE_TIME, TestPki};

/// An "HSM" verifier: counts its calls and forwards to the feature-chosen provider.
struct Hsm(AtomicUsize);

impl SignatureVerifier for Hsm {
    fn verify(
        &self,
        algorithm: Algorithm,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        CryptoProvider::feature_default()
            .signature_verifier
            .verify(algorithm, key, message, signature)
    }
}

static HSM: Hsm = Hsm(AtomicUsize::new(0));

#[test]
fn an_installed_provider_sees_every_check() {
    static ASSEMBLED: std::sync::OnceLock<CryptoProvider> = std::sync::OnceLock::new();
    let assembled = ASSEMBLED.get_or_init(|| CryptoProvider {
        name: "hsm + default",
        signature_verifier: &HSM,
        ..*CryptoProvider::feature_default()
    });
    CryptoProvider::install_default(assembled).unwrap();
    assert_eq!(CryptoProvider::get_default().name, "hsm + default");
    // Once per process.
    assert_eq!(
        CryptoProvider::install_default(CryptoProvider::feature_default())
            .unwrap_err()
            .name,
        "hsm + default"
    );

    // A chain validated by a store that was given no verifier: the installed one checks its
    // certificate signature.
    let pki = TestPki::new();
    let before = HSM.0.load(Ordering::SeqCst);
    pki.trust_store()
        .with_chain_cache(0)
        .validate(
            &[pki.issuer(Authority::Mois).ds.clone()],
            REFERENCE_TIME,
            KeyPurpose::DocumentSigner,
        )
        .unwrap();
    assert!(
        HSM.0.load(Ordering::SeqCst) > before,
        "the certificate signature reached the HSM"
    );
}
