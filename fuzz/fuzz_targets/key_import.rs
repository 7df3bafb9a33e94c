#![no_main]
// Any bytes as COSE_Key CBOR, SPKI DER, PKCS#8 DER or JWK JSON: typed errors, never a panic;
// an imported COSE_Key re-encodes to a key that imports to the same key.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(key) = kmid_crypto::PublicKey::from_cose_key_bytes(data) {
        let again = kmid_crypto::PublicKey::from_cose_key_bytes(&key.to_cose_key_bytes().expect("encodes"));
        assert_eq!(again.ok(), Some(key));
    }
    let _ = kmid_crypto::PublicKey::from_spki_der(data);
    let _ = kmid_crypto::PrivateKey::from_pkcs8_der(data);
    if let Ok(text) = core::str::from_utf8(data) {
        if let Ok(jwk) = kmid_crypto::Jwk::from_json(text) {
            let _ = jwk.to_public_key();
            let _ = jwk.to_cose_key();
            let _ = jwk.thumbprint_sha256();
        }
    }
});
