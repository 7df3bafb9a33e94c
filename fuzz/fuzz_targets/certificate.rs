#![no_main]
// Any bytes as a DER certificate, then as a one-certificate chain against an empty store.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(cert) = kmid_crypto::x509::Certificate::from_der(data) {
        let store = kmid_crypto::x509::TrustStore::new();
        let at = time::OffsetDateTime::UNIX_EPOCH;
        let _ = store.validate(&[cert], at, kmid_crypto::x509::KeyPurpose::DocumentSigner);
    }
});
