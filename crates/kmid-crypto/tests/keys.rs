//! Keys in JWK, COSE_Key, PEM and DER: round trips, the RFC 7638 example, and malformed input.

// Test code: helpers outside #[test] functions may unwrap and index freely.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kmid_crypto::{
    Algorithm, CoseKey, CryptoError, Curve, DefaultVerifier, Jwk, KeyError, PrivateKey, PublicKey,
    SignatureVerifier, Signer,
};
use proptest::prelude::*;

const CURVES: [Curve; 4] = [Curve::P256, Curve::P384, Curve::P521, Curve::Ed25519];

fn key_error(r: Result<impl core::fmt::Debug, CryptoError>) -> KeyError {
    match r {
        Err(CryptoError::InvalidKey(k)) => k,
        other => panic!("expected a key error, got {other:?}"),
    }
}

#[test]
fn jwk_cose_key_and_pem_round_trips() {
    for curve in CURVES {
        let private = PrivateKey::generate(curve).unwrap();
        let public = private.public_key();

        // JWK.
        let jwk = public.to_jwk();
        assert_eq!(&jwk.to_public_key().unwrap(), public);
        let private_jwk = private.to_jwk().unwrap();
        assert_eq!(
            private_jwk.to_private_key().unwrap().scalar().unwrap(),
            private.scalar().unwrap()
        );
        let json = serde_json::to_string(&private_jwk).unwrap();
        assert_eq!(Jwk::from_json(&json).unwrap(), private_jwk);

        // COSE_Key.
        assert_eq!(
            &PublicKey::from_cose_key(&public.to_cose_key()).unwrap(),
            public
        );
        let bytes = public.to_cose_key_bytes().unwrap();
        assert_eq!(&PublicKey::from_cose_key_bytes(&bytes).unwrap(), public);
        let private_cose = private.to_cose_key().unwrap();
        assert_eq!(
            PrivateKey::from_cose_key(&private_cose)
                .unwrap()
                .public_key(),
            public
        );

        // JWK ↔ COSE_Key, lossless with kid and alg, public and private.
        for mut jwk in [public.to_jwk(), private.to_jwk().unwrap()] {
            jwk.kid = Some("mois-ds-2026-01".into());
            jwk.alg = Some(curve.algorithm().jose_name().into());
            let cose = jwk.to_cose_key().unwrap();
            assert_eq!(cose.kid.as_deref(), Some(&b"mois-ds-2026-01"[..]));
            assert_eq!(Jwk::from_cose_key(&cose).unwrap(), jwk, "{curve:?}");
        }

        // PEM and DER.
        assert_eq!(
            &PublicKey::from_spki_pem(&public.to_spki_pem().unwrap()).unwrap(),
            public
        );
        assert_eq!(
            &PublicKey::from_spki_der(&public.to_spki_der().unwrap()).unwrap(),
            public
        );
        let pem = private.to_pkcs8_pem().unwrap();
        assert_eq!(PrivateKey::from_pem(&pem).unwrap().public_key(), public);
        let der = private.to_pkcs8_der().unwrap();
        assert_eq!(
            PrivateKey::from_pkcs8_der(&der).unwrap().public_key(),
            public
        );
    }
}

#[test]
fn cose_key_bytes_are_deterministic_cbor() {
    let x =
        hex::decode("5a88d182bce5f42efa59943f33359d2e8a968ff289d93e5fa444b624343167fe").unwrap();
    let y =
        hex::decode("b16e8cf858ddc7690407ba61d4c338237a8cfcf3de6aa672fc60a557aa32fc67").unwrap();
    let key = PublicKey::from_coordinates(Curve::P256, &x, Some(&y)).unwrap();
    // The ISO/IEC 18013-5 Annex D eDeviceKey, byte for byte: {1: 2, -1: 1, -2: x, -3: y}.
    let expected = hex::decode(concat!(
        "a4010220012158205a88d182bce5f42efa59943f33359d2e8a968ff289d93e5fa444b624343167fe",
        "225820b16e8cf858ddc7690407ba61d4c338237a8cfcf3de6aa672fc60a557aa32fc67"
    ))
    .unwrap();
    assert_eq!(key.to_cose_key_bytes().unwrap(), expected);
}

#[test]
fn compressed_cose_points_decompress() {
    let key = PrivateKey::generate(Curve::P256).unwrap();
    let public = key.public_key();
    let y_odd = public.y().unwrap().last().unwrap() & 1 == 1;
    let compressed = coset::CoseKeyBuilder::new_ec2_pub_key_y_sign(
        coset::iana::EllipticCurve::P_256,
        public.x().to_vec(),
        y_odd,
    )
    .build();
    // Built by coset (an independent encoder), read by ours.
    let bytes = coset::CborSerializable::to_vec(compressed).unwrap();
    assert_eq!(&PublicKey::from_cose_key_bytes(&bytes).unwrap(), public);
}

#[test]
fn rfc7638_thumbprint_example() {
    // RFC 7638 §3.1: the RSA key of RFC 7517 Appendix A.1.
    let jwk = Jwk::from_json(
        r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#,
    )
    .unwrap();
    assert_eq!(
        jwk.thumbprint_sha256().unwrap(),
        "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    );
    // RSA is thumbprinted but not imported.
    assert_eq!(
        key_error(jwk.to_public_key()),
        KeyError::UnsupportedKeyType("RSA".into())
    );
}

#[test]
fn ec_thumbprint_ignores_optional_members() {
    let key = PrivateKey::generate(Curve::P256).unwrap();
    let mut jwk = key.to_jwk().unwrap();
    let plain = key.public_key().thumbprint_sha256().unwrap();
    jwk.kid = Some("k".into());
    jwk.key_use = Some("sig".into());
    assert_eq!(jwk.thumbprint_sha256().unwrap(), plain);
    assert_eq!(plain.len(), 43);
}

#[test]
fn malformed_jwks_name_what_is_wrong() {
    let good = PrivateKey::generate(Curve::P256).unwrap().to_jwk().unwrap();
    let with = |f: &dyn Fn(&mut Jwk)| {
        let mut j = good.clone();
        f(&mut j);
        j
    };
    let cases: Vec<(Jwk, KeyError)> = vec![
        (
            with(&|j| j.kty = "oct".into()),
            KeyError::UnsupportedKeyType("oct".into()),
        ),
        (with(&|j| j.crv = None), KeyError::Missing("crv")),
        (
            with(&|j| j.crv = Some("secp256k1".into())),
            KeyError::UnsupportedCurve("secp256k1".into()),
        ),
        (
            with(&|j| j.crv = Some("Ed25519".into())),
            KeyError::Malformed("kty (does not match crv)"),
        ),
        (with(&|j| j.x = None), KeyError::Missing("x")),
        (with(&|j| j.y = None), KeyError::Missing("y")),
        (
            with(&|j| j.x = Some("not base64!".into())),
            KeyError::Malformed("x"),
        ),
        (
            with(&|j| j.x = Some("AAAA".into())),
            KeyError::WrongLength {
                member: "x",
                expected: 32,
                actual: 3,
            },
        ),
        (
            with(&|j| j.y = Some(j.x.clone().unwrap())),
            KeyError::NotOnCurve,
        ),
    ];
    for (jwk, expected) in cases {
        assert_eq!(key_error(jwk.to_public_key()), expected, "{jwk:?}");
    }
    // A private JWK whose d belongs to another key.
    let other = PrivateKey::generate(Curve::P256).unwrap().to_jwk().unwrap();
    let mismatched = with(&|j| j.d = other.d.clone());
    assert_eq!(key_error(mismatched.to_private_key()), KeyError::Mismatch);
    assert_eq!(
        key_error(with(&|j| j.d = None).to_private_key()),
        KeyError::Missing("d")
    );
    assert_eq!(
        key_error(Jwk::from_json("[1,2]")),
        KeyError::Encoding("JWK JSON")
    );
}

#[test]
fn malformed_cose_keys_name_what_is_wrong() {
    use ciborium::Value;
    use coset::{CoseKeyBuilder, iana};
    let key = PrivateKey::generate(Curve::P256).unwrap();
    let (x, y) = (
        key.public_key().x().to_vec(),
        key.public_key().y().unwrap().to_vec(),
    );
    // Built by coset (an independent encoder), read by ours.
    let cases: Vec<(coset::CoseKey, KeyError)> = vec![
        (
            CoseKeyBuilder::new_symmetric_key(vec![1; 32]).build(),
            KeyError::UnsupportedKeyType("4".into()),
        ),
        (
            CoseKeyBuilder::new_okp_key()
                .param(-2, Value::Bytes(x.clone()))
                .build(),
            KeyError::Missing("crv"),
        ),
        (
            CoseKeyBuilder::new_ec2_pub_key(iana::EllipticCurve::P_256, x.clone(), vec![0; 31])
                .build(),
            KeyError::WrongLength {
                member: "y",
                expected: 32,
                actual: 31,
            },
        ),
        (
            CoseKeyBuilder::new_ec2_pub_key(iana::EllipticCurve::P_256, x.clone(), x.clone())
                .build(),
            KeyError::NotOnCurve,
        ),
        (
            CoseKeyBuilder::new_ec2_pub_key(iana::EllipticCurve::Secp256k1, x.clone(), y.clone())
                .build(),
            KeyError::UnsupportedCurve("8".into()),
        ),
        (
            CoseKeyBuilder::new_ec2_pub_key(iana::EllipticCurve::Ed25519, x.clone(), y.clone())
                .build(),
            KeyError::Malformed("kty (does not match crv)"),
        ),
        (
            CoseKeyBuilder::new_okp_key()
                .param(-1, Value::from(6))
                .param(-2, Value::Text("x".into()))
                .build(),
            KeyError::Malformed("x"),
        ),
    ];
    for (cose, expected) in cases {
        let bytes = coset::CborSerializable::to_vec(cose.clone()).unwrap();
        assert_eq!(
            key_error(PublicKey::from_cose_key_bytes(&bytes)),
            expected,
            "{cose:?}"
        );
    }
    let mut bytes = key.public_key().to_cose_key_bytes().unwrap();
    bytes.push(0);
    assert_eq!(
        key_error(PublicKey::from_cose_key_bytes(&bytes)),
        KeyError::Encoding("COSE_Key CBOR")
    );
    let kid_not_utf8 = CoseKeyBuilder::new_ec2_pub_key(iana::EllipticCurve::P_256, x, y)
        .key_id(vec![0xFF, 0xFE])
        .build();
    let kid_not_utf8 =
        CoseKey::from_slice(&coset::CborSerializable::to_vec(kid_not_utf8).unwrap()).unwrap();
    assert_eq!(
        key_error(Jwk::from_cose_key(&kid_not_utf8)),
        KeyError::Malformed("kid (not UTF-8)")
    );
}

#[test]
fn malformed_pem_and_der_are_typed_errors() {
    assert_eq!(
        key_error(PublicKey::from_spki_pem(
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
        )),
        // Good PEM around three zero bytes: the DER inside is refused.
        KeyError::Encoding("SubjectPublicKeyInfo DER")
    );
    assert_eq!(
        key_error(PublicKey::from_spki_pem(
            "-----BEGIN PUBLIC KEY-----\nAAA\n-----END PUBLIC KEY-----\n"
        )),
        KeyError::Encoding("PUBLIC KEY PEM")
    );
    assert_eq!(
        key_error(PrivateKey::from_pem("hello")),
        KeyError::Encoding("private key PEM")
    );
    assert_eq!(
        key_error(PrivateKey::from_pkcs8_der(&[0x30, 0x00])),
        KeyError::Encoding("PKCS#8 DER")
    );
    let mut spki = PrivateKey::generate(Curve::P256)
        .unwrap()
        .public_key()
        .to_spki_der()
        .unwrap();
    spki.push(0);
    assert!(matches!(
        key_error(PublicKey::from_spki_der(&spki)),
        KeyError::Encoding(_)
    ));
    assert_eq!(
        key_error(PrivateKey::from_scalar(Curve::P256, &[0u8; 32])),
        KeyError::Malformed("d (zero or not below the group order)")
    );
    assert_eq!(
        key_error(PrivateKey::from_scalar(Curve::P256, &[0xFF; 32])),
        KeyError::Malformed("d (zero or not below the group order)")
    );
}

proptest! {
    #[test]
    fn arbitrary_key_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), text in "\\PC{0,200}") {
        let _ = PublicKey::from_cose_key_bytes(&bytes);
        let _ = PublicKey::from_spki_der(&bytes);
        let _ = PrivateKey::from_pkcs8_der(&bytes);
        let _ = kmid_crypto::x509::Certificate::from_der(&bytes);
        let _ = Jwk::from_json(&text).map(|j| (j.to_public_key().is_ok(), j.thumbprint_sha256().is_ok()));
        let _ = PublicKey::from_spki_pem(&text);
        for curve in CURVES {
            let _ = PublicKey::from_sec1(curve, &bytes);
            let _ = PrivateKey::from_scalar(curve, &bytes);
        }
    }

    #[test]
    fn jwk_json_fields_never_panic(x in "[A-Za-z0-9_-]{0,90}", y in "[A-Za-z0-9_-]{0,90}", crv in prop_oneof![Just("P-256"), Just("P-384"), Just("P-521"), Just("Ed25519"), Just("X")]) {
        let jwk = Jwk::from_json(&format!(r#"{{"kty":"EC","crv":"{crv}","x":"{x}","y":"{y}"}}"#)).unwrap();
        let _ = jwk.to_public_key();
        let _ = jwk.to_cose_key();
    }
}

/// The point checks that replace EC_KEY_check_key: coordinates below the field prime, the
/// point on the curve; and a point that passes them verifies as before.
#[test]
fn public_points_must_be_field_elements_on_the_curve() {
    // P-256's field prime.
    let p =
        hex::decode("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff").unwrap();
    let key = PrivateKey::generate(Curve::P256).unwrap();
    let (x, y) = (
        key.public_key().x().to_vec(),
        key.public_key().y().unwrap().to_vec(),
    );
    let not_on_curve =
        |x: &[u8], y: &[u8]| key_error(PublicKey::from_coordinates(Curve::P256, x, Some(y)));
    assert_eq!(not_on_curve(&p, &y), KeyError::NotOnCurve, "x = p");
    assert_eq!(not_on_curve(&x, &p), KeyError::NotOnCurve, "y = p");
    assert_eq!(not_on_curve(&[0xFF; 32], &y), KeyError::NotOnCurve, "x > p");
    assert_eq!(
        not_on_curve(&[0; 32], &[0; 32]),
        KeyError::NotOnCurve,
        "(0, 0)"
    );
    let mut y_off = y.clone();
    y_off[31] ^= 1;
    assert_eq!(
        not_on_curve(&x, &y_off),
        KeyError::NotOnCurve,
        "y off by one bit"
    );
    // p - y is the other point with this x: valid, and a different key.
    let (bp, by) = (
        openssl::bn::BigNum::from_slice(&p).unwrap(),
        openssl::bn::BigNum::from_slice(&y).unwrap(),
    );
    let mut neg = openssl::bn::BigNum::new().unwrap();
    neg.checked_sub(&bp, &by).unwrap();
    let neg_y = neg.to_vec_padded(32).unwrap();
    let other = PublicKey::from_coordinates(Curve::P256, &x, Some(&neg_y)).unwrap();
    assert_ne!(&other, key.public_key());
    let same = PublicKey::from_coordinates(Curve::P256, &x, Some(&y)).unwrap();
    let sig = Signer::sign(&key, b"m").unwrap();
    DefaultVerifier
        .verify(Algorithm::Es256, &same, b"m", &sig)
        .unwrap();
    assert!(matches!(
        DefaultVerifier.verify(Algorithm::Es256, &other, b"m", &sig),
        Err(CryptoError::BadSignature)
    ));
}

#[test]
fn pkcs8_is_written_as_openssl_writes_it_and_read_back() {
    for curve in [Curve::P256, Curve::P384, Curve::P521, Curve::Ed25519] {
        let key = PrivateKey::generate(curve).unwrap();
        let ours = key.to_pkcs8_der().unwrap();
        // An independent encoder of the same key.
        let theirs = openssl::pkey::PKey::private_key_from_pkcs8(&ours)
            .unwrap()
            .private_key_to_pkcs8()
            .unwrap();
        assert_eq!(&ours[..], &theirs[..], "{curve:?}");
        let back = PrivateKey::from_pkcs8_der(&ours).unwrap();
        assert_eq!(back.public_key(), key.public_key(), "{curve:?}");
    }
}

#[test]
fn a_pkcs8_public_key_must_be_the_scalars() {
    // RFC 5958 OneAsymmetricKey v2 with [1] publicKey: an Ed25519 key with another key's public
    // part is refused; with its own, it is read.
    let key = PrivateKey::generate(Curve::Ed25519).unwrap();
    let other = PrivateKey::generate(Curve::Ed25519).unwrap();
    let v2 = |public: &[u8]| {
        let seed = key.scalar().unwrap();
        let mut body = vec![0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70];
        body.extend([0x04, 0x22, 0x04, 0x20]);
        body.extend_from_slice(&seed);
        body.extend([0x81, 0x21, 0x00]);
        body.extend_from_slice(public);
        let mut der = vec![0x30, u8::try_from(body.len()).unwrap()];
        der.extend(body);
        der
    };
    assert_eq!(
        PrivateKey::from_pkcs8_der(&v2(key.public_key().x()))
            .unwrap()
            .public_key(),
        key.public_key()
    );
    assert_eq!(
        key_error(PrivateKey::from_pkcs8_der(&v2(other.public_key().x()))),
        KeyError::Mismatch
    );
}
