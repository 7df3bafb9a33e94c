//! JWE with ECDH-ES (OpenID4VP encrypted responses): the RFC 7518 Appendix C key agreement
//! example to the byte, round trips with both `enc` values, every refusal by its error, and
//! jwcrypto (the JOSE library under the Python SD-JWT reference) both ways.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::print_stderr
)]

use std::path::PathBuf;
use std::process::Command;

use kmid_crypto::jose::{b64url, b64url_decode};
use kmid_crypto::jwe::{
    ContentEncryption, HeaderParams, JweError, concat_kdf, decrypt_ecdh_es, encrypt_ecdh_es,
};
use kmid_crypto::{CryptoProvider, Curve, Jwk, PrivateKey, SystemRandom};
use serde_json::{Map, Value, json};

const BOTH: [ContentEncryption; 2] = [ContentEncryption::A128Gcm, ContentEncryption::A256Gcm];

fn provider() -> &'static CryptoProvider {
    CryptoProvider::get_default()
}

fn jwk(value: Value) -> Jwk {
    serde_json::from_value(value).unwrap()
}

/// RFC 7518 Appendix C: Alice's ephemeral key, Bob's key, `apu` "Alice", `apv` "Bob",
/// A128GCM: the shared secret Z and the derived key `VqqN6vgjbSBcIijNcacQGg`.
#[test]
fn rfc7518_appendix_c_key_agreement() {
    let alice = jwk(json!({
        "kty": "EC", "crv": "P-256",
        "x": "gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0",
        "y": "SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps",
        "d": "0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo",
    }))
    .to_private_key()
    .unwrap();
    let bob = jwk(json!({
        "kty": "EC", "crv": "P-256",
        "x": "weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ",
        "y": "e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck",
        "d": "VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw",
    }))
    .to_private_key()
    .unwrap();
    let z = provider().ecdh(&alice, bob.public_key()).unwrap();
    assert_eq!(
        z.as_slice(),
        [
            158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49,
            110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196
        ]
    );
    // Alice's key again (its parsed form now kept with it), and with another peer: the form
    // is the key's, not the agreement's.
    assert_eq!(
        provider()
            .ecdh(&alice, bob.public_key())
            .unwrap()
            .as_slice(),
        z.as_slice()
    );
    let carol = PrivateKey::generate(Curve::P256).unwrap();
    assert_eq!(
        provider()
            .ecdh(&alice, carol.public_key())
            .unwrap()
            .as_slice(),
        provider()
            .ecdh(&carol, alice.public_key())
            .unwrap()
            .as_slice()
    );
    // Bob derives the same Z from his key and Alice's public key.
    assert_eq!(
        provider()
            .ecdh(&bob, alice.public_key())
            .unwrap()
            .as_slice(),
        z.as_slice()
    );
    let key = concat_kdf(provider(), &z, ContentEncryption::A128Gcm, b"Alice", b"Bob").unwrap();
    assert_eq!(b64url(&key), "VqqN6vgjbSBcIijNcacQGg");
}

#[test]
fn round_trips_with_both_enc_values_and_keeps_the_header() {
    let recipient = PrivateKey::generate(Curve::P256).unwrap();
    for enc in BOTH {
        let mut other = Map::new();
        other.insert("kid".into(), json!("request-key-1"));
        let params = HeaderParams {
            apu: b"wallet-nonce".to_vec(),
            apv: b"verifier-nonce".to_vec(),
            other,
        };
        let compact = encrypt_ecdh_es(
            provider(),
            &SystemRandom,
            recipient.public_key(),
            enc,
            &params,
            br#"{"vp_token":{}}"#,
        )
        .unwrap();
        let parts: Vec<&str> = compact.split('.').collect();
        assert_eq!(parts.len(), 5);
        assert_eq!(parts[1], "", "ECDH-ES carries no encrypted key");
        let opened = decrypt_ecdh_es(provider(), &compact, &recipient, None, &BOTH).unwrap();
        assert_eq!(opened.plaintext.as_slice(), br#"{"vp_token":{}}"#);
        assert_eq!(opened.header["enc"], enc.name());
        assert_eq!(opened.header["kid"], "request-key-1");
        // Decrypted for its key id, and refused for another before any key agreement.
        decrypt_ecdh_es(
            provider(),
            &compact,
            &recipient,
            Some("request-key-1"),
            &BOTH,
        )
        .unwrap();
        assert_eq!(
            decrypt_ecdh_es(provider(), &compact, &recipient, Some("another-key"), &BOTH)
                .unwrap_err(),
            JweError::KeyId
        );
        assert_eq!(opened.header["apv"], b64url(b"verifier-nonce"));
        // A recipient accepting only the other enc refuses it before any key agreement.
        let other = BOTH.into_iter().find(|e| *e != enc).unwrap();
        assert_eq!(
            decrypt_ecdh_es(provider(), &compact, &recipient, None, &[other]).unwrap_err(),
            JweError::Encryption(enc.name().to_owned())
        );
    }
}

/// Re-encodes the protected header of `compact` after `edit` (the tag no longer matches an
/// honest header, but header checks come first).
fn with_header(compact: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> String {
    let mut parts: Vec<String> = compact.split('.').map(str::to_owned).collect();
    let mut header: Map<String, Value> =
        serde_json::from_slice(&b64url_decode(&parts[0]).unwrap()).unwrap();
    edit(&mut header);
    parts[0] = b64url(Value::Object(header).to_string().as_bytes());
    parts.join(".")
}

#[test]
fn every_refusal_is_its_own_error() {
    let recipient = PrivateKey::generate(Curve::P256).unwrap();
    let compact = encrypt_ecdh_es(
        provider(),
        &SystemRandom,
        recipient.public_key(),
        ContentEncryption::A256Gcm,
        &HeaderParams::default(),
        b"secret",
    )
    .unwrap();
    let open = |text: &str| decrypt_ecdh_es(provider(), text, &recipient, None, &BOTH).unwrap_err();
    // Encrypted to another key.
    let other = PrivateKey::generate(Curve::P256).unwrap();
    assert_eq!(
        decrypt_ecdh_es(provider(), &compact, &other, None, &BOTH).unwrap_err(),
        JweError::Decryption
    );
    // An altered tag, ciphertext or IV.
    for part in [2, 3, 4] {
        let mut parts: Vec<String> = compact.split('.').map(str::to_owned).collect();
        let mut bytes = b64url_decode(&parts[part]).unwrap();
        bytes[0] ^= 1;
        parts[part] = b64url(&bytes);
        assert_eq!(open(&parts.join(".")), JweError::Decryption, "part {part}");
    }
    // An altered header that still passes its checks: the tag covers it.
    assert_eq!(
        open(&with_header(&compact, |h| {
            h.insert("kid".into(), json!("swapped"));
        })),
        JweError::Decryption
    );
    // alg none, a key-wrapping alg, no alg.
    for (alg, name) in [
        (json!("none"), "none"),
        (json!("ECDH-ES+A128KW"), "ECDH-ES+A128KW"),
    ] {
        assert_eq!(
            open(&with_header(&compact, |h| {
                h.insert("alg".into(), alg);
            })),
            JweError::Algorithm(name.into())
        );
    }
    assert_eq!(
        open(&with_header(&compact, |h| {
            h.remove("alg");
        })),
        JweError::Algorithm("(none)".into())
    );
    // An enc nobody accepts.
    assert_eq!(
        open(&with_header(&compact, |h| {
            h.insert("enc".into(), json!("A192GCM"));
        })),
        JweError::Encryption("A192GCM".into())
    );
    // zip and crit change processing: refused.
    for k in ["zip", "crit"] {
        assert_eq!(
            open(&with_header(&compact, |h| {
                h.insert(k.into(), json!("DEF"));
            })),
            JweError::Unsupported(k.into())
        );
    }
    // An epk off the curve (y + 1), on another curve, missing, or carrying a private key.
    let epk = |h: &Map<String, Value>| h["epk"].clone();
    assert_eq!(
        open(&with_header(&compact, |h| {
            let mut e = epk(h);
            let mut y = b64url_decode(e["y"].as_str().unwrap()).unwrap();
            y[31] ^= 1;
            e["y"] = json!(b64url(&y));
            h.insert("epk".into(), e);
        })),
        JweError::EphemeralKey("not a point on its curve")
    );
    let p384 = PrivateKey::generate(Curve::P384)
        .unwrap()
        .public_key()
        .to_jwk();
    assert_eq!(
        open(&with_header(&compact, |h| {
            h.insert("epk".into(), serde_json::to_value(&p384).unwrap());
        })),
        JweError::EphemeralKey("on another curve than the recipient key")
    );
    assert_eq!(
        open(&with_header(&compact, |h| {
            h.remove("epk");
        })),
        JweError::EphemeralKey("missing")
    );
    let private =
        serde_json::to_value(PrivateKey::generate(Curve::P256).unwrap().to_jwk().unwrap()).unwrap();
    assert_eq!(
        open(&with_header(&compact, |h| {
            h.insert("epk".into(), private);
        })),
        JweError::EphemeralKey("not an EC public key")
    );
    // Shape: four parts, an encrypted key, a short IV or tag.
    let parts: Vec<&str> = compact.split('.').collect();
    assert_eq!(
        open(&parts[..4].join(".")),
        JweError::Malformed("not five parts")
    );
    assert_eq!(
        open(&[parts[0], "AAAA", parts[2], parts[3], parts[4]].join(".")),
        JweError::Malformed("ECDH-ES has no encrypted key")
    );
    assert_eq!(
        open(&[parts[0], "", "AAAA", parts[3], parts[4]].join(".")),
        JweError::Malformed("iv (96 bits)")
    );
    assert_eq!(
        open(&[parts[0], "", parts[2], parts[3], "AAAA"].join(".")),
        JweError::Malformed("tag (128 bits)")
    );
    // Too large, before anything is decoded.
    let huge = "A".repeat(kmid_crypto::jwe::MAX_JWE_BYTES + 1);
    assert_eq!(open(&huge), JweError::TooLarge);
}

fn python() -> Option<PathBuf> {
    let python = std::env::var_os("KMID_INTEROP_PYTHON").map(PathBuf::from);
    if python.is_none() {
        eprintln!("KMID_INTEROP_PYTHON is not set: the jwcrypto interop test checks nothing");
    }
    python
}

#[test]
fn jwcrypto_decrypts_ours_and_we_decrypt_jwcryptos() {
    let Some(python) = python() else { return };
    let dir = std::env::temp_dir().join(format!("kmid-jwe-interop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../interop/jwe_peer.py");
    let recipient = PrivateKey::generate(Curve::P256).unwrap();
    let run = |verb: &str| {
        let out = Command::new(&python)
            .args([script, verb, dir.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "jwe_peer.py {verb}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    for enc in BOTH {
        // kmid encrypts, jwcrypto decrypts (with apu/apv, as OpenID4VP wallets may send).
        std::fs::write(
            dir.join("recipient.jwk.json"),
            serde_json::to_string(&recipient.to_jwk().unwrap()).unwrap(),
        )
        .unwrap();
        let compact = encrypt_ecdh_es(
            provider(),
            &SystemRandom,
            recipient.public_key(),
            enc,
            &HeaderParams {
                apu: b"mdoc-nonce".to_vec(),
                apv: b"request-nonce".to_vec(),
                other: Map::new(),
            },
            "{\"vp_token\":{\"rrc\":[\"민준\"]}}".as_bytes(),
        )
        .unwrap();
        std::fs::write(dir.join("jwe.txt"), &compact).unwrap();
        let theirs: Value = serde_json::from_slice(&run("decrypt")).unwrap();
        assert_eq!(theirs["plaintext"], "{\"vp_token\":{\"rrc\":[\"민준\"]}}");
        assert_eq!(theirs["header"]["enc"], enc.name());
        // jwcrypto encrypts, kmid decrypts.
        std::fs::write(
            dir.join("recipient.jwk.json"),
            serde_json::to_string(&recipient.public_key().to_jwk()).unwrap(),
        )
        .unwrap();
        std::fs::write(dir.join("plaintext.txt"), "{\"state\":\"s-1\"}").unwrap();
        std::fs::write(dir.join("enc.txt"), enc.name()).unwrap();
        run("encrypt");
        let peer = std::fs::read_to_string(dir.join("peer-jwe.txt")).unwrap();
        let opened = decrypt_ecdh_es(provider(), peer.trim(), &recipient, None, &BOTH).unwrap();
        assert_eq!(opened.plaintext.as_slice(), b"{\"state\":\"s-1\"}");
        assert_eq!(opened.header["kid"], "peer");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
