//! Signing and verification for every algorithm, and the HSM seam.

// Test code: helpers outside #[test] functions may unwrap and index freely.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::{AtomicUsize, Ordering};

use kmid_crypto::x509::{
    CertificateKind, CertificateParams, KeyPurpose, TrustStore, issue_certificate,
};
use kmid_crypto::{
    Algorithm, CryptoError, Curve, DefaultVerifier, PrivateKey, PublicKey, SignatureVerifier,
    Signer, SystemRandom,
};
use time::macros::datetime;

#[test]
fn every_algorithm_signs_and_verifies() {
    for curve in [Curve::P256, Curve::P384, Curve::P521, Curve::Ed25519] {
        let key = PrivateKey::generate(curve).unwrap();
        let alg = key.algorithm();
        assert_eq!(alg, curve.algorithm());
        let sig = key.sign(b"kmid").unwrap();
        assert_eq!(sig.len(), alg.signature_len(), "{alg}");
        DefaultVerifier
            .verify(alg, key.public_key(), b"kmid", &sig)
            .unwrap();
        key.public_key().verify(alg, b"kmid", &sig).unwrap();

        assert_eq!(
            DefaultVerifier.verify(alg, key.public_key(), b"kmiD", &sig),
            Err(CryptoError::BadSignature)
        );
        let mut flipped = sig.clone();
        flipped[5] ^= 1;
        assert_eq!(
            DefaultVerifier.verify(alg, key.public_key(), b"kmid", &flipped),
            Err(CryptoError::BadSignature)
        );
        assert_eq!(
            DefaultVerifier.verify(alg, key.public_key(), b"kmid", &sig[1..]),
            Err(CryptoError::MalformedSignature {
                expected: alg.signature_len(),
                actual: alg.signature_len() - 1
            })
        );
        let other = PrivateKey::generate(curve).unwrap();
        assert_eq!(
            DefaultVerifier.verify(alg, other.public_key(), b"kmid", &sig),
            Err(CryptoError::BadSignature)
        );
    }
}

#[test]
fn the_algorithm_must_be_the_keys() {
    let p256 = PrivateKey::generate(Curve::P256).unwrap();
    let sig = p256.sign(b"m").unwrap();
    for wrong in [Algorithm::Es384, Algorithm::Es512, Algorithm::EdDsa] {
        assert!(matches!(
            DefaultVerifier.verify(wrong, p256.public_key(), b"m", &sig),
            Err(CryptoError::UnsupportedAlgorithm(_))
        ));
    }
}

#[test]
fn all_zero_and_out_of_range_ecdsa_signatures_fail_cleanly() {
    let key = PrivateKey::generate(Curve::P256).unwrap();
    for sig in [vec![0u8; 64], vec![0xFF; 64]] {
        assert_eq!(
            DefaultVerifier.verify(Algorithm::Es256, key.public_key(), b"m", &sig),
            Err(CryptoError::BadSignature)
        );
    }
}

/// A signer that lives outside kmid-crypto, as an HSM client would, and counts its calls.
struct CountingHsm {
    inner: PrivateKey,
    calls: AtomicUsize,
}

impl Signer for CountingHsm {
    fn algorithm(&self) -> Algorithm {
        self.inner.algorithm()
    }
    fn public_key(&self) -> &PublicKey {
        self.inner.public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.sign(message)
    }
}

/// A signer that always fails, as an unreachable HSM does.
struct DownHsm(PublicKey);

impl Signer for DownHsm {
    fn algorithm(&self) -> Algorithm {
        Algorithm::Es256
    }
    fn public_key(&self) -> &PublicKey {
        &self.0
    }
    fn sign(&self, _: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Err(CryptoError::Signer("HSM unreachable".into()))
    }
}

fn params(kind: CertificateKind, cn: &str) -> CertificateParams {
    CertificateParams {
        kind,
        country: "KR".into(),
        organization: Some("Ministry of Justice".into()),
        state_or_province: None,
        common_name: cn.into(),
        not_before: datetime!(2026-01-01 0:00 UTC),
        not_after: datetime!(2027-01-01 0:00 UTC),
        issuer_alt_name: Some("https://www.moj.go.kr".into()),
        crl_uri: Some("https://www.moj.go.kr/crl".into()),
        dns_names: Vec::new(),
    }
}

#[test]
fn an_external_signer_issues_the_pki_and_signs() {
    let hsm = CountingHsm {
        inner: PrivateKey::generate(Curve::P256).unwrap(),
        calls: AtomicUsize::new(0),
    };
    let iaca = issue_certificate(
        &params(CertificateKind::Iaca, "MOJ IACA"),
        hsm.public_key(),
        None,
        &hsm,
        &SystemRandom,
    )
    .unwrap();
    let ds_hsm = CountingHsm {
        inner: PrivateKey::generate(Curve::P256).unwrap(),
        calls: AtomicUsize::new(0),
    };
    let ds = issue_certificate(
        &params(CertificateKind::DocumentSigner, "MOJ DS"),
        ds_hsm.public_key(),
        Some(&iaca),
        &hsm,
        &SystemRandom,
    )
    .unwrap();
    assert_eq!(
        hsm.calls.load(Ordering::SeqCst),
        2,
        "one signature per certificate, made by the HSM"
    );

    let mut trust = TrustStore::new();
    trust.add(iaca.clone()).unwrap();
    let chain = trust
        .validate(
            &[ds],
            datetime!(2026-06-01 0:00 UTC),
            KeyPurpose::DocumentSigner,
        )
        .unwrap();
    let sig = ds_hsm.sign(b"MSO").unwrap();
    assert_eq!(ds_hsm.calls.load(Ordering::SeqCst), 1);
    DefaultVerifier
        .verify(Algorithm::Es256, &chain.leaf_key, b"MSO", &sig)
        .unwrap();

    let down = DownHsm(hsm.public_key().clone());
    assert_eq!(
        issue_certificate(
            &params(CertificateKind::DocumentSigner, "x"),
            ds_hsm.public_key(),
            Some(&iaca),
            &down,
            &SystemRandom
        )
        .unwrap_err(),
        CryptoError::Signer("HSM unreachable".into())
    );
}

#[test]
fn certificate_profiles_are_enforced() {
    let key = PrivateKey::generate(Curve::P256).unwrap();
    let other = PrivateKey::generate(Curve::P256).unwrap();
    let iaca = issue_certificate(
        &params(CertificateKind::Iaca, "IACA"),
        key.public_key(),
        None,
        &key,
        &SystemRandom,
    )
    .unwrap();
    let profile = |r: Result<_, CryptoError>| match r {
        Err(CryptoError::InvalidProfile(why)) => why,
        other => panic!("expected a profile error, got {other:?}"),
    };
    let mut long = params(CertificateKind::DocumentSigner, "DS");
    long.not_after = datetime!(2027-04-04 0:00 UTC);
    assert!(
        profile(issue_certificate(
            &long,
            other.public_key(),
            Some(&iaca),
            &key,
            &SystemRandom
        ))
        .contains("457 days")
    );
    assert!(
        profile(issue_certificate(
            &params(CertificateKind::Iaca, "IACA"),
            other.public_key(),
            None,
            &key,
            &SystemRandom
        ))
        .contains("own key")
    );
    assert!(
        profile(issue_certificate(
            &params(CertificateKind::DocumentSigner, "DS"),
            other.public_key(),
            None,
            &key,
            &SystemRandom
        ))
        .contains("needs an issuer")
    );
    assert!(
        profile(issue_certificate(
            &params(CertificateKind::DocumentSigner, "DS"),
            other.public_key(),
            Some(&iaca),
            &other,
            &SystemRandom
        ))
        .contains("not the issuer")
    );
    let mut country = params(CertificateKind::Iaca, "IACA");
    country.country = "KOR".into();
    assert!(
        profile(issue_certificate(
            &country,
            key.public_key(),
            None,
            &key,
            &SystemRandom
        ))
        .contains("alpha-2")
    );
}

#[test]
fn debug_never_prints_private_material() {
    let key = PrivateKey::generate(Curve::P256).unwrap();
    let d = kmid_crypto::Jwk::from(key.public_key());
    let debug = format!("{key:?}");
    let jwk = key.to_jwk().unwrap();
    let secret = jwk.d.clone().unwrap();
    assert!(!debug.contains(&secret), "{debug}");
    assert!(debug.contains("redacted"));
    let jwk_debug = format!("{jwk:?}");
    assert!(!jwk_debug.contains(&secret), "{jwk_debug}");
    assert!(d.d.is_none());
}

/// A signer that hashes itself (as a remote signing service may): no prehashed signing.
struct WholeMessageOnly(PrivateKey);

impl Signer for WholeMessageOnly {
    fn algorithm(&self) -> Algorithm {
        self.0.algorithm()
    }
    fn public_key(&self) -> &PublicKey {
        self.0.public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.0.sign(message)
    }
}

#[test]
fn prehashed_signatures_verify_and_are_refused_where_they_cannot_be() {
    for curve in [Curve::P256, Curve::P384, Curve::P521] {
        let key = PrivateKey::generate(curve).unwrap();
        let alg = key.algorithm();
        let hash = alg.prehash().unwrap();
        assert!(key.signs_prehashed());
        let sig = key.sign_prehashed(&hash.digest(b"kmid").unwrap()).unwrap();
        key.public_key().verify(alg, b"kmid", &sig).unwrap();
        // A digest of another length (SHA-256 for P-384, say) is refused, not truncated.
        let wrong = if hash == kmid_crypto::HashAlgorithm::Sha256 {
            kmid_crypto::HashAlgorithm::Sha384
        } else {
            kmid_crypto::HashAlgorithm::Sha256
        };
        assert!(matches!(
            key.sign_prehashed(&wrong.digest(b"kmid").unwrap()),
            Err(CryptoError::Signer(_))
        ));
    }
    let ed = PrivateKey::generate(Curve::Ed25519).unwrap();
    assert!(!ed.signs_prehashed());
    assert_eq!(Algorithm::EdDsa.prehash(), None);
    assert!(matches!(
        ed.sign_prehashed(&[0; 32]),
        Err(CryptoError::Signer(_))
    ));
    let whole = WholeMessageOnly(PrivateKey::generate(Curve::P256).unwrap());
    assert!(!whole.signs_prehashed());
    assert!(matches!(
        whole.sign_prehashed(&[0; 32]),
        Err(CryptoError::Signer(_))
    ));
}

#[test]
fn a_streamed_jws_equals_sign_compact_up_to_the_signature() {
    use kmid_crypto::jose::{CompactJws, sign_compact, write_compact};
    use std::sync::Arc;

    let payload: Vec<u8> = (0..=255u8).cycle().take(70_001).collect();
    let signers: Vec<Arc<dyn Signer>> = vec![
        Arc::new(PrivateKey::generate(Curve::P256).unwrap()), // hashed while written
        Arc::new(PrivateKey::generate(Curve::P384).unwrap()),
        Arc::new(PrivateKey::generate(Curve::Ed25519).unwrap()), // buffered
        Arc::new(WholeMessageOnly(PrivateKey::generate(Curve::P256).unwrap())), // buffered
    ];
    let verifier: Arc<dyn SignatureVerifier> = Arc::new(DefaultVerifier);
    for signer in &signers {
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), "statuslist+jwt".into());
        let whole = sign_compact(header.clone(), &payload, signer).unwrap();
        let mut streamed = Vec::new();
        write_compact(
            kmid_crypto::CryptoProvider::get_default(),
            header,
            |w| {
                // In uneven pieces, as a compressor writes.
                for piece in payload.chunks(997) {
                    w.write_all(piece)?;
                }
                Ok(())
            },
            signer,
            &mut streamed,
        )
        .unwrap();
        let streamed = String::from_utf8(streamed).unwrap();
        let signed_part = |t: &str| t.rsplit_once('.').unwrap().0.to_owned();
        assert_eq!(signed_part(&streamed), signed_part(&whole));
        // With the header written once beforehand: the same signing input, and a signer of
        // another algorithm refused.
        let mut typ = serde_json::Map::new();
        typ.insert("typ".into(), "statuslist+jwt".into());
        let prepared = kmid_crypto::jose::PreparedHeader::new(typ, signer).unwrap();
        let again = kmid_crypto::jose::sign_compact_prepared(&prepared, &payload, signer).unwrap();
        assert_eq!(signed_part(&again), signed_part(&whole));
        CompactJws::parse(&again)
            .unwrap()
            .verify(signer.public_key(), signer.algorithm(), &verifier)
            .unwrap();
        let other = signers
            .iter()
            .find(|o| o.algorithm() != signer.algorithm())
            .unwrap();
        assert_eq!(
            kmid_crypto::jose::sign_compact_prepared(&prepared, &payload, other),
            Err(kmid_crypto::jose::JoseError::Signing)
        );
        let jws = CompactJws::parse(&streamed).unwrap();
        assert_eq!(jws.payload, payload);
        jws.verify(signer.public_key(), signer.algorithm(), &verifier)
            .unwrap();
        // The signature covers what was written: one changed payload byte fails.
        let mut tampered = streamed.into_bytes();
        let i = tampered.len() / 2;
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(
            CompactJws::parse(&tampered).unwrap().verify(
                signer.public_key(),
                signer.algorithm(),
                &verifier
            ),
            Err(kmid_crypto::jose::JoseError::BadSignature)
        );
    }
}

#[test]
fn the_base64url_writer_equals_one_shot_encoding_for_any_split() {
    use kmid_crypto::jose::{B64UrlWriter, b64url};
    use std::io::Write as _;
    let data: Vec<u8> = (0..=255u8).cycle().take(9_000).collect();
    for len in (0..40).chain([3071, 3072, 3073, 6144, 9_000]) {
        for piece in [1, 2, 3, 7, 1000, 4096] {
            let mut w = B64UrlWriter::new(Vec::new());
            for chunk in data[..len].chunks(piece) {
                assert_eq!(w.write(chunk).unwrap(), chunk.len());
            }
            assert_eq!(
                String::from_utf8(w.finish().unwrap()).unwrap(),
                b64url(&data[..len]),
                "{len} in pieces of {piece}"
            );
        }
    }
}

#[test]
fn a_failing_payload_or_output_is_an_error() {
    use kmid_crypto::jose::{JoseError, write_compact};
    use std::sync::Arc;
    let signer: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let failing = |_: &mut dyn std::io::Write| Err(std::io::Error::other("compressor failed"));
    assert!(matches!(
        write_compact(
            kmid_crypto::CryptoProvider::get_default(),
            serde_json::Map::new(),
            failing,
            &signer,
            &mut Vec::new()
        ),
        Err(JoseError::Output(_))
    ));
    // No unencoded payloads (RFC 7797) and no crit: the payload is always base64url here.
    for member in ["crit", "b64"] {
        let mut header = serde_json::Map::new();
        header.insert(member.into(), serde_json::json!(["b64"]));
        assert_eq!(
            write_compact(
                kmid_crypto::CryptoProvider::get_default(),
                header,
                |w| w.write_all(b"{}"),
                &signer,
                &mut Vec::new()
            ),
            Err(JoseError::Signing)
        );
    }
    let mut full = [0u8; 10];
    assert!(matches!(
        write_compact(
            kmid_crypto::CryptoProvider::get_default(),
            serde_json::Map::new(),
            |w| w.write_all(&[1; 100]),
            &signer,
            &mut &mut full[..]
        ),
        Err(JoseError::Output(_))
    ));
}

/// A verifier's access certificate names its hosts in subjectAltName (OpenID4VP
/// `x509_san_dns`): written by `issue_certificate`, read back by kmid and by OpenSSL; its
/// authorityKeyIdentifier is the root's subjectKeyIdentifier (DCQL `trusted_authorities` by
/// `aki`); a root is self-issued and a leaf is not.
#[test]
fn subject_alt_dns_names_and_authority_key_ids_round_trip() {
    let root_key = PrivateKey::generate(Curve::P256).unwrap();
    let root = issue_certificate(
        &params(CertificateKind::ReaderRoot, "Verifier root"),
        root_key.public_key(),
        None,
        &root_key,
        &SystemRandom,
    )
    .unwrap();
    let leaf_key = PrivateKey::generate(Curve::P256).unwrap();
    let mut leaf_params = params(CertificateKind::ReaderAuthentication, "bank.example");
    leaf_params.dns_names = vec!["bank.example".into(), "www.bank.example".into()];
    let leaf = issue_certificate(
        &leaf_params,
        leaf_key.public_key(),
        Some(&root),
        &root_key,
        &SystemRandom,
    )
    .unwrap();
    assert_eq!(leaf.dns_names(), ["bank.example", "www.bank.example"]);
    assert!(root.dns_names().is_empty());
    assert_eq!(
        leaf.authority_key_identifier(),
        root.subject_key_identifier()
    );
    assert!(leaf.authority_key_identifier().is_some());
    assert!(root.is_self_issued());
    assert!(!leaf.is_self_issued());
    let theirs = openssl::x509::X509::from_der(leaf.der()).unwrap();
    let names: Vec<String> = theirs
        .subject_alt_names()
        .unwrap()
        .iter()
        .filter_map(|n| n.dnsname().map(str::to_owned))
        .collect();
    assert_eq!(names, ["bank.example", "www.bank.example"]);
    // A DNS name that is not a host name is refused when issuing.
    leaf_params.dns_names = vec!["bank example".into()];
    assert!(matches!(
        issue_certificate(
            &leaf_params,
            leaf_key.public_key(),
            Some(&root),
            &root_key,
            &SystemRandom
        )
        .unwrap_err(),
        CryptoError::InvalidProfile("a DNS name must be an ASCII host name")
    ));
}

/// A JWT signer certificate (wallet attestations, signed metadata) carries
/// `digitalSignature` and no extended key usage: it validates for `KeyPurpose::JwtSigner` and
/// for no purpose that needs an EKU.
#[test]
fn a_jwt_signer_certificate_has_no_extended_key_usage() {
    let root_key = PrivateKey::generate(Curve::P256).unwrap();
    let root = issue_certificate(
        &params(CertificateKind::ReaderRoot, "wallet provider root"),
        root_key.public_key(),
        None,
        &root_key,
        &SystemRandom,
    )
    .unwrap();
    let key = PrivateKey::generate(Curve::P256).unwrap();
    let leaf = issue_certificate(
        &params(CertificateKind::JwtSigner, "wallet attestations"),
        key.public_key(),
        Some(&root),
        &root_key,
        &SystemRandom,
    )
    .unwrap();
    assert_eq!(leaf.extended_key_usage(), None);
    let mut trust = TrustStore::new();
    trust.add(root).unwrap();
    let at = datetime!(2026-06-01 0:00 UTC);
    trust
        .validate(std::slice::from_ref(&leaf), at, KeyPurpose::JwtSigner)
        .unwrap();
    for purpose in [KeyPurpose::DocumentSigner, KeyPurpose::ReaderAuthentication] {
        assert!(
            trust
                .validate(std::slice::from_ref(&leaf), at, purpose)
                .is_err(),
            "{purpose:?}"
        );
    }
}
