//! ISO/IEC 18013-5 Annex D: the session key derivation, session encryption, deviceMac and the
//! issuer and reader certificate chains, reproduced exactly.

// Test code: helpers outside #[test] functions may unwrap and index freely.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use ciborium::Value;
use kmid_crypto::digest::sha256;
use kmid_crypto::session::{
    aes256gcm_open, ecdh, hkdf_sha256_key, hmac_sha256, hmac_sha256_verify,
};
use kmid_crypto::x509::{Certificate, KeyPurpose, TrustStore};
use kmid_crypto::{CertificateError, CryptoError, Curve, PrivateKey, PublicKey};
use time::macros::datetime;

fn vectors() -> serde_json::Value {
    serde_json::from_str(include_str!(
        "../../../test-vectors/iso18013-5-annex-d/vectors.json"
    ))
    .unwrap()
}

fn v(name: &str) -> Vec<u8> {
    hex::decode(vectors()[name].as_str().unwrap()).unwrap()
}

fn private(prefix: &str) -> PrivateKey {
    let key = PrivateKey::from_scalar(Curve::P256, &v(&format!("{prefix}_d"))).unwrap();
    let expected = PublicKey::from_coordinates(
        Curve::P256,
        &v(&format!("{prefix}_x")),
        Some(&v(&format!("{prefix}_y"))),
    )
    .unwrap();
    assert_eq!(key.public_key(), &expected, "{prefix}: d matches x, y");
    key
}

fn map_get<'a>(map: &'a Value, key: &str) -> &'a Value {
    map.as_map()
        .unwrap()
        .iter()
        .find(|(k, _)| k.as_text() == Some(key))
        .map(|(_, v)| v)
        .unwrap()
}

fn cbor(bytes: &[u8]) -> Value {
    ciborium::from_reader(bytes).unwrap()
}

const Z: &str = "6423502f843d8cda01fbd9fa46cb397534a740ab1ec3d1076fbcb12e1dca2589";
const SK_READER: &str = "58d277d8719e62a1561d248f403f477e9e6c37bf5d5fc5126f8f4c727c22dfc9";
const SK_DEVICE: &str = "81d170e07fbdac93c1a676242c2576124a380d87bb73ed9ce4834de2272cf409";
const ZAB: &str = "78d98a86fbbb82895874bfafcc161ba69f9b77662172c74b3b0d4643276cf991";
const EMAC_KEY: &str = "dc2b9566fdaaae3c06baa40993cd0451aeba15e7677ef5305f6531f3533c35dd";

#[test]
fn session_keys_are_reproduced() {
    let device = private("ephemeral_device_key");
    let reader = private("ephemeral_reader_key");
    let z = ecdh(&device, reader.public_key()).unwrap();
    assert_eq!(hex::encode(&*z), Z);
    assert_eq!(
        *ecdh(&reader, device.public_key()).unwrap(),
        *z,
        "ECDH is symmetric"
    );

    let salt = sha256(&v("session_transcript_bytes")).unwrap();
    let sk_reader = hkdf_sha256_key(&z, &salt, b"SKReader").unwrap();
    let sk_device = hkdf_sha256_key(&z, &salt, b"SKDevice").unwrap();
    assert_eq!(hex::encode(*sk_reader), SK_READER);
    assert_eq!(hex::encode(*sk_device), SK_DEVICE);

    let static_device = private("static_device_key");
    let zab = ecdh(&static_device, reader.public_key()).unwrap();
    assert_eq!(hex::encode(&*zab), ZAB);
    let emac = hkdf_sha256_key(&zab, &salt, b"EMacKey").unwrap();
    assert_eq!(hex::encode(*emac), EMAC_KEY);
}

#[test]
fn session_messages_decrypt_to_the_request_and_response() {
    let key = |h: &str| -> [u8; 32] { hex::decode(h).unwrap().try_into().unwrap() };
    // §9.1.1.5: IV = identifier (8 bytes; 0 for the reader, 1 for the mdoc) ‖ message counter.
    let reader_iv: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let device_iv: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1];

    let establishment = cbor(&v("session_establishment"));
    let sealed = map_get(&establishment, "data").as_bytes().unwrap();
    let request = aes256gcm_open(&key(SK_READER), &reader_iv, b"", sealed).unwrap();
    assert_eq!(*request, v("device_request"));

    let session_data = cbor(&v("session_data"));
    let sealed = map_get(&session_data, "data").as_bytes().unwrap();
    let response = aes256gcm_open(&key(SK_DEVICE), &device_iv, b"", sealed).unwrap();
    assert_eq!(*response, v("device_response"));

    // The wrong key, IV or a flipped bit fails as a decryption failure.
    assert_eq!(
        aes256gcm_open(&key(SK_READER), &device_iv, b"", sealed),
        Err(CryptoError::DecryptionFailed)
    );
    let mut tampered = sealed.clone();
    tampered[10] ^= 1;
    assert_eq!(
        aes256gcm_open(&key(SK_DEVICE), &device_iv, b"", &tampered),
        Err(CryptoError::DecryptionFailed)
    );
    assert_eq!(
        aes256gcm_open(&key(SK_DEVICE), &device_iv, b"", &[0u8; 15]),
        Err(CryptoError::DecryptionFailed)
    );
}

#[test]
fn device_mac_is_reproduced() {
    // documents[0].deviceSigned.deviceAuth.deviceMac = COSE_Mac0 [protected, unprotected, nil, tag].
    let response = cbor(&v("device_response"));
    let doc = &map_get(&response, "documents").as_array().unwrap()[0];
    let device_auth = map_get(map_get(doc, "deviceSigned"), "deviceAuth");
    let mac0 = map_get(device_auth, "deviceMac").as_array().unwrap();
    let protected = mac0[0].as_bytes().unwrap().clone();
    let tag = mac0[3].as_bytes().unwrap().clone();
    assert!(mac0[2].is_null(), "detached payload");

    // RFC 9052 §6.3: MAC_structure = ["MAC0", protected, external_aad, payload]; the payload is
    // DeviceAuthenticationBytes.
    let structure = Value::Array(vec![
        Value::Text("MAC0".into()),
        Value::Bytes(protected),
        Value::Bytes(vec![]),
        Value::Bytes(v("device_authentication_bytes")),
    ]);
    let mut to_mac = Vec::new();
    ciborium::into_writer(&structure, &mut to_mac).unwrap();
    let emac = hex::decode(EMAC_KEY).unwrap();
    assert_eq!(hmac_sha256(&emac, &to_mac).unwrap().to_vec(), tag);
    hmac_sha256_verify(&emac, &to_mac, &tag).unwrap();
    let mut wrong = tag.clone();
    wrong[0] ^= 1;
    assert_eq!(
        hmac_sha256_verify(&emac, &to_mac, &wrong),
        Err(CryptoError::BadMac)
    );
    assert_eq!(
        hmac_sha256_verify(&emac, &to_mac, &tag[..31]),
        Err(CryptoError::BadMac)
    );
}

fn cert(name: &str) -> Certificate {
    Certificate::from_der(&v(name)).unwrap()
}

fn store(root: &str) -> TrustStore {
    let mut s = TrustStore::new();
    s.add(cert(root)).unwrap();
    s
}

fn cert_error(r: Result<impl core::fmt::Debug, CryptoError>) -> CertificateError {
    match r {
        Err(CryptoError::Certificate(e)) => e,
        other => panic!("expected a certificate error, got {other:?}"),
    }
}

#[test]
fn document_signer_chain_validates_at_a_given_time() {
    let ds = cert("ds_cert");
    let at = datetime!(2021-01-01 0:00 UTC);
    let chain = store("iaca_cert")
        .validate(std::slice::from_ref(&ds), at, KeyPurpose::DocumentSigner)
        .unwrap();
    assert_eq!(&chain.leaf_key, ds.public_key());
    // With the root appended, as some x5chains carry it.
    store("iaca_cert")
        .validate(
            &[ds.clone(), cert("iaca_cert")],
            at,
            KeyPurpose::DocumentSigner,
        )
        .unwrap();

    // Expired a year later.
    assert_eq!(
        cert_error(store("iaca_cert").validate(
            std::slice::from_ref(&ds),
            datetime!(2022-01-01 0:00 UTC),
            KeyPurpose::DocumentSigner
        )),
        CertificateError::Expired {
            index: 0,
            not_after: ds.not_after()
        }
    );
    // Not yet valid before 2020-10-01.
    assert_eq!(
        cert_error(store("iaca_cert").validate(
            std::slice::from_ref(&ds),
            datetime!(2020-09-30 0:00 UTC),
            KeyPurpose::DocumentSigner
        )),
        CertificateError::NotYetValid {
            index: 0,
            not_before: ds.not_before()
        }
    );
    // Under the wrong root.
    assert_eq!(
        cert_error(store("reader_root_cert").validate(
            std::slice::from_ref(&ds),
            at,
            KeyPurpose::DocumentSigner
        )),
        CertificateError::UntrustedRoot
    );
    // Used for reader authentication: wrong EKU.
    assert_eq!(
        cert_error(store("iaca_cert").validate(&[ds], at, KeyPurpose::ReaderAuthentication)),
        CertificateError::ExtendedKeyUsage {
            required: "1.0.18013.5.1.6"
        }
    );
}

#[test]
fn a_tampered_signature_is_rejected() {
    let mut der = v("ds_cert");
    // The last byte is inside the signature's s INTEGER: still well-formed DER.
    *der.last_mut().unwrap() ^= 0x01;
    let tampered = Certificate::from_der(&der).unwrap();
    assert_eq!(
        cert_error(store("iaca_cert").validate(
            &[tampered],
            datetime!(2021-01-01 0:00 UTC),
            KeyPurpose::DocumentSigner
        )),
        CertificateError::BadSignature { index: 0 }
    );
}

#[test]
fn reader_certificate_chains_to_the_reader_root() {
    let reader = cert("reader_cert");
    let at = datetime!(2021-01-01 0:00 UTC);
    store("reader_root_cert")
        .validate(
            std::slice::from_ref(&reader),
            at,
            KeyPurpose::ReaderAuthentication,
        )
        .unwrap();
    assert_eq!(
        cert_error(store("reader_root_cert").validate(&[reader], at, KeyPurpose::DocumentSigner)),
        CertificateError::ExtendedKeyUsage {
            required: "1.0.18013.5.1.2"
        }
    );
}

#[test]
fn annex_d_certificates_expose_their_profile() {
    let ds = cert("ds_cert");
    assert!(!ds.is_ca());
    assert!(ds.key_usage().unwrap().digital_signature);
    assert_eq!(ds.extended_key_usage().unwrap(), ["1.0.18013.5.1.2"]);
    assert_eq!(ds.common_name().as_deref(), Some("utopia ds"));
    let iaca = cert("iaca_cert");
    assert!(iaca.is_ca());
    assert!(iaca.key_usage().unwrap().key_cert_sign);
    // x5c round trip.
    assert_eq!(Certificate::from_x5c_entry(&ds.to_x5c_entry()).unwrap(), ds);
    // Trailing bytes after a certificate are refused.
    let mut der = v("ds_cert");
    der.extend_from_slice(&[0, 0]);
    assert_eq!(
        cert_error(Certificate::from_der(&der)),
        CertificateError::TrailingData(2)
    );
    // A DS cannot be a trust anchor.
    assert_eq!(
        cert_error(TrustStore::new().add(ds)),
        CertificateError::NotCa { index: 0 }
    );
}
