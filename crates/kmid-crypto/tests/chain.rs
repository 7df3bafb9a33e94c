//! Chain validation against the test PKI and hand-made hostile certificates: each failure
//! asserts its exact error.

// Test code: helpers outside #[test] functions may unwrap and index freely.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kmid_crypto::x509::{Certificate, KeyPurpose, TrustStore, chain_from_x5c, chain_to_x5c};
use kmid_crypto::{CertificateError, CryptoError, PrivateKey};
use kmid_testkit::{Authority, REFERENCE_TIME, TestPki, test_key};
use openssl::asn1::{Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use openssl::x509::{X509, X509Extension, X509NameBuilder};

fn pkey(key: &PrivateKey) -> PKey<Private> {
    PKey::private_key_from_pkcs8(&key.to_pkcs8_der().unwrap()).unwrap()
}

/// What a hand-made certificate looks like.
struct Spec<'a> {
    cn: &'a str,
    subject: &'a PrivateKey,
    issuer_cn: &'a str,
    issuer: &'a PrivateKey,
    ca: Option<Option<u32>>,
    key_usage: &'a str,
    eku: Option<&'a str>,
    extra: Vec<X509Extension>,
    from: i64,
    to: i64,
}

fn make(spec: Spec<'_>) -> Certificate {
    let name = |cn: &str| {
        let mut b = X509NameBuilder::new().unwrap();
        b.append_entry_by_text("C", "KR").unwrap();
        b.append_entry_by_text("CN", cn).unwrap();
        b.build()
    };
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_serial_number(&BigNum::from_u32(7).unwrap().to_asn1_integer().unwrap())
        .unwrap();
    b.set_subject_name(&name(spec.cn)).unwrap();
    b.set_issuer_name(&name(spec.issuer_cn)).unwrap();
    b.set_pubkey(&pkey(spec.subject)).unwrap();
    b.set_not_before(&Asn1Time::from_unix(spec.from).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(spec.to).unwrap())
        .unwrap();
    if let Some(path_len) = spec.ca {
        let mut bc = BasicConstraints::new();
        bc.critical().ca();
        if let Some(n) = path_len {
            bc.pathlen(n);
        }
        b.append_extension(bc.build().unwrap()).unwrap();
    }
    let mut ku = KeyUsage::new();
    ku.critical();
    for usage in spec.key_usage.split(',').filter(|s| !s.is_empty()) {
        match usage {
            "sig" => ku.digital_signature(),
            "cert" => ku.key_cert_sign(),
            _ => unreachable!(),
        };
    }
    if !spec.key_usage.is_empty() {
        b.append_extension(ku.build().unwrap()).unwrap();
    }
    if let Some(eku) = spec.eku {
        b.append_extension(
            ExtendedKeyUsage::new()
                .critical()
                .other(eku)
                .build()
                .unwrap(),
        )
        .unwrap();
    }
    for e in spec.extra {
        b.append_extension(e).unwrap();
    }
    b.sign(&pkey(spec.issuer), MessageDigest::sha256()).unwrap();
    Certificate::from_der(&b.build().to_der().unwrap()).unwrap()
}

const FROM: i64 = 1_735_689_600; // 2025-01-01
const TO: i64 = 1_893_456_000; // 2030-01-01

fn root(cn: &str, key: &PrivateKey, path_len: Option<u32>) -> Certificate {
    make(Spec {
        cn,
        subject: key,
        issuer_cn: cn,
        issuer: key,
        ca: Some(path_len),
        key_usage: "cert",
        eku: None,
        extra: vec![],
        from: FROM,
        to: TO,
    })
}

fn leaf<'a>(
    cn: &'a str,
    key: &'a PrivateKey,
    issuer_cn: &'a str,
    issuer: &'a PrivateKey,
) -> Spec<'a> {
    Spec {
        cn,
        subject: key,
        issuer_cn,
        issuer,
        ca: None,
        key_usage: "sig",
        eku: Some("1.0.18013.5.1.2"),
        extra: vec![],
        from: FROM,
        to: TO,
    }
}

fn trust(root: &Certificate) -> TrustStore {
    let mut s = TrustStore::new();
    s.add(root.clone()).unwrap();
    s
}

fn err(r: Result<impl core::fmt::Debug, CryptoError>) -> CertificateError {
    match r {
        Err(CryptoError::Certificate(e)) => e,
        other => panic!("expected a certificate error, got {other:?}"),
    }
}

#[test]
fn the_test_pki_validates_for_every_authority() {
    let pki = TestPki::new();
    let store = pki.trust_store();
    for a in Authority::ALL {
        let p = pki.issuer(a);
        let chain = store
            .validate(
                std::slice::from_ref(&p.ds),
                REFERENCE_TIME,
                KeyPurpose::DocumentSigner,
            )
            .unwrap();
        assert_eq!(store.roots()[chain.root_index], p.iaca);
        // Through x5c, as an SD-JWT VC header carries it.
        let x5c = chain_to_x5c(std::slice::from_ref(&p.ds));
        store
            .validate(
                &chain_from_x5c(&x5c).unwrap(),
                REFERENCE_TIME,
                KeyPurpose::DocumentSigner,
            )
            .unwrap();
    }
    pki.reader_trust_store()
        .validate(
            std::slice::from_ref(&pki.reader),
            REFERENCE_TIME,
            KeyPurpose::ReaderAuthentication,
        )
        .unwrap();
    // One authority's root does not vouch for another's Document Signer.
    let mut mois_only = TrustStore::new();
    mois_only
        .add(pki.issuer(Authority::Mois).iaca.clone())
        .unwrap();
    assert_eq!(
        err(mois_only.validate(
            &[pki.issuer(Authority::Moj).ds.clone()],
            REFERENCE_TIME,
            KeyPurpose::DocumentSigner
        )),
        CertificateError::UntrustedRoot
    );
}

#[test]
fn a_document_signer_without_the_eku_is_refused() {
    let (root_key, ds_key) = (test_key("t-root"), test_key("t-ds"));
    let root = root("T IACA", &root_key, Some(0));
    let mut spec = leaf("T DS", &ds_key, "T IACA", &root_key);
    spec.eku = None;
    assert_eq!(
        err(trust(&root).validate(&[make(spec)], REFERENCE_TIME, KeyPurpose::DocumentSigner)),
        CertificateError::ExtendedKeyUsage {
            required: "1.0.18013.5.1.2"
        }
    );
    let mut spec = leaf("T DS", &ds_key, "T IACA", &root_key);
    spec.key_usage = "cert";
    assert_eq!(
        err(trust(&root).validate(&[make(spec)], REFERENCE_TIME, KeyPurpose::DocumentSigner)),
        CertificateError::KeyUsage {
            index: 0,
            missing: "digitalSignature"
        }
    );
}

#[test]
fn a_document_signer_cannot_act_as_a_ca() {
    let pki = TestPki::new();
    let mois = pki.issuer(Authority::Mois);
    let ds_key = test_key("mois-ds");
    let rogue_key = test_key("rogue");
    let rogue = make(leaf("rogue DS", &rogue_key, "kmid test MOIS DS 1", &ds_key));
    // The names do not match the test PKI's DS subject (it has O=), so build the name check too:
    assert_eq!(
        err(pki.trust_store().validate(
            &[rogue, mois.ds.clone()],
            REFERENCE_TIME,
            KeyPurpose::DocumentSigner
        )),
        CertificateError::IssuerMismatch { index: 0 }
    );
    // A chain whose middle certificate is a non-CA leaf with a matching name.
    let (root_key, ds_key) = (test_key("t-root"), test_key("t-ds"));
    let root = root("T IACA", &root_key, None);
    let ds = make(leaf("T DS", &ds_key, "T IACA", &root_key));
    let under_ds = make(leaf("T rogue", &rogue_key, "T DS", &ds_key));
    assert_eq!(
        err(trust(&root).validate(&[under_ds, ds], REFERENCE_TIME, KeyPurpose::DocumentSigner)),
        CertificateError::NotCa { index: 1 }
    );
}

#[test]
fn path_length_and_chain_length_are_bounded() {
    let (root_key, mid_key, ds_key) = (test_key("t-root"), test_key("t-mid"), test_key("t-ds"));
    let ds = make(leaf("T DS", &ds_key, "T MID", &mid_key));
    let mid = make(Spec {
        cn: "T MID",
        subject: &mid_key,
        issuer_cn: "T IACA",
        issuer: &root_key,
        ca: Some(Some(0)),
        key_usage: "cert",
        eku: None,
        extra: vec![],
        from: FROM,
        to: TO,
    });
    // A root with pathLen 0 may not have an intermediate under it.
    assert_eq!(
        err(trust(&root("T IACA", &root_key, Some(0))).validate(
            &[ds.clone(), mid.clone()],
            REFERENCE_TIME,
            KeyPurpose::DocumentSigner
        )),
        CertificateError::PathLenExceeded { index: 2 }
    );
    // With pathLen 1 it may.
    let open_root = root("T IACA", &root_key, Some(1));
    trust(&open_root)
        .validate(
            &[ds.clone(), mid.clone()],
            REFERENCE_TIME,
            KeyPurpose::DocumentSigner,
        )
        .unwrap();
    // And the store's chain length bound applies.
    assert_eq!(
        err(trust(&open_root).with_max_chain_len(1).validate(
            &[ds.clone(), mid],
            REFERENCE_TIME,
            KeyPurpose::DocumentSigner
        )),
        CertificateError::ChainTooLong { length: 2, max: 1 }
    );
    assert_eq!(
        err(trust(&open_root).validate(&[], REFERENCE_TIME, KeyPurpose::DocumentSigner)),
        CertificateError::EmptyChain
    );
}

#[test]
fn an_expired_root_fails_with_the_roots_index() {
    let (root_key, ds_key) = (test_key("t-root"), test_key("t-ds"));
    let mut spec = leaf("T IACA", &root_key, "T IACA", &root_key);
    spec.ca = Some(None);
    spec.key_usage = "cert";
    spec.eku = None;
    spec.to = 1_746_057_600; // 2025-05-01, before the reference time
    let old_root = make(spec);
    let ds = make(leaf("T DS", &ds_key, "T IACA", &root_key));
    assert_eq!(
        err(trust(&old_root).validate(&[ds], REFERENCE_TIME, KeyPurpose::DocumentSigner)),
        CertificateError::Expired {
            index: 1,
            not_after: 1_746_057_600
        }
    );
}

#[test]
fn unknown_critical_extensions_are_refused() {
    let (root_key, ds_key) = (test_key("t-root"), test_key("t-ds"));
    let root = root("T IACA", &root_key, Some(0));
    let mut spec = leaf("T DS", &ds_key, "T IACA", &root_key);
    let oid = Asn1Object::from_str("1.2.3.4.5").unwrap();
    spec.extra = vec![
        X509Extension::new_from_der(
            &oid,
            true,
            &Asn1OctetString::new_from_bytes(&[5, 0]).unwrap(),
        )
        .unwrap(),
    ];
    assert_eq!(
        err(trust(&root).validate(&[make(spec)], REFERENCE_TIME, KeyPurpose::DocumentSigner)),
        CertificateError::UnsupportedCriticalExtension {
            index: 0,
            oid: "1.2.3.4.5".into()
        }
    );
    // The same extension, not critical, is ignored.
    let mut spec = leaf("T DS", &ds_key, "T IACA", &root_key);
    spec.extra = vec![
        X509Extension::new_from_der(
            &oid,
            false,
            &Asn1OctetString::new_from_bytes(&[5, 0]).unwrap(),
        )
        .unwrap(),
    ];
    trust(&root)
        .validate(&[make(spec)], REFERENCE_TIME, KeyPurpose::DocumentSigner)
        .unwrap();
}

#[test]
fn the_test_pki_is_deterministic_and_fits_annex_b() {
    let (a, b) = (TestPki::new(), TestPki::new());
    for auth in Authority::ALL {
        assert_eq!(a.issuer(auth).iaca.der(), b.issuer(auth).iaca.der());
        assert_eq!(a.issuer(auth).ds.der(), b.issuer(auth).ds.der());
        let ds = &a.issuer(auth).ds;
        assert_eq!(ds.country().as_deref(), Some("KR"));
        assert!(!ds.is_ca());
        assert_eq!(ds.extended_key_usage().unwrap(), ["1.0.18013.5.1.2"]);
        assert!((ds.not_after() - ds.not_before()) / 86_400 <= 457);
    }
    assert_eq!(a.reader.der(), b.reader.der());
    assert_eq!(a.reader.extended_key_usage().unwrap(), ["1.0.18013.5.1.6"]);
}

#[test]
fn a_ca_is_never_a_leaf() {
    let pki = TestPki::new();
    let mois = pki.issuer(Authority::Mois);
    let store = pki.trust_store();
    // A root presented alone, or any CA in the leaf position, is refused.
    assert_eq!(
        err(store.validate(
            std::slice::from_ref(&mois.iaca),
            REFERENCE_TIME,
            KeyPurpose::DocumentSigner
        )),
        CertificateError::LeafIsCa
    );
}

#[test]
fn roots_can_be_scoped_to_what_they_vouch_for() {
    let pki = TestPki::new();
    let store = pki.trust_store();
    let chain = store
        .validate(
            std::slice::from_ref(&pki.issuer(Authority::Moj).ds),
            REFERENCE_TIME,
            KeyPurpose::DocumentSigner,
        )
        .unwrap();
    assert!(store.allows(chain.root_index, "kr.go.moj.rc.1"));
    assert!(!store.allows(chain.root_index, "kr.go.mois.rrc.1"));
    let mut open = TrustStore::new();
    open.add(pki.issuer(Authority::Moj).iaca.clone()).unwrap();
    assert!(open.allows(0, "anything"));
    assert!(!open.allows(1, "anything"));
}

/// The chain cache: a hit only for the same bytes and purpose while every certificate is
/// valid; bounded; emptied when the store changes; never filled by a failure.
#[test]
fn validated_chains_are_cached_within_their_validity_only() {
    let pki = TestPki::new();
    let trust = pki.trust_store().with_chain_cache(2);
    let ders = |a: Authority| vec![pki.issuer(a).ds.der().to_vec()];
    let mois = ders(Authority::Mois);
    let purpose = KeyPurpose::DocumentSigner;

    let first = trust
        .validate_der(&refs(&mois), REFERENCE_TIME, purpose)
        .unwrap();
    assert_eq!(trust.cached_chains(), 1);
    let again = trust
        .validate_der(&refs(&mois), REFERENCE_TIME, purpose)
        .unwrap();
    assert_eq!(again.leaf, first.leaf);
    assert_eq!(again.root_index, first.root_index);
    // The parsed-certificate entry point shares the cache.
    trust
        .validate(
            &[pki.issuer(Authority::Mois).ds.clone()],
            REFERENCE_TIME,
            purpose,
        )
        .unwrap();
    assert_eq!(trust.cached_chains(), 1);

    // After the Document Signer expires, the cached entry does not answer.
    let late = REFERENCE_TIME + time::Duration::days(400);
    assert!(matches!(
        trust.validate_der(&refs(&mois), late, purpose),
        Err(CryptoError::Certificate(CertificateError::Expired {
            index: 0,
            ..
        }))
    ));
    // The entry outside its window is dropped, not kept at the front; a valid time caches
    // the chain again.
    assert_eq!(trust.cached_chains(), 0);
    trust
        .validate_der(&refs(&mois), REFERENCE_TIME, purpose)
        .unwrap();
    assert_eq!(trust.cached_chains(), 1);
    // Nor for another purpose.
    assert!(matches!(
        trust.validate_der(
            &refs(&mois),
            REFERENCE_TIME,
            KeyPurpose::ReaderAuthentication
        ),
        Err(CryptoError::Certificate(
            CertificateError::ExtendedKeyUsage { .. }
        ))
    ));
    // A chain that fails is not remembered; one byte changed is another key.
    let mut forged = mois.clone();
    let last = forged[0].len() - 1;
    forged[0][last] ^= 1;
    // The last byte is the signature's: the certificate parses and its signature fails.
    assert!(matches!(
        trust.validate_der(&refs(&forged), REFERENCE_TIME, purpose),
        Err(CryptoError::Certificate(CertificateError::BadSignature {
            index: 0
        }))
    ));
    assert_eq!(trust.cached_chains(), 1);

    // Bounded: three chains, two kept.
    for a in [Authority::Moj, Authority::Oka] {
        trust
            .validate_der(&refs(&ders(a)), REFERENCE_TIME, purpose)
            .unwrap();
    }
    assert_eq!(trust.cached_chains(), 2);

    // Changing the store empties the cache; a capacity of 0 keeps nothing.
    let mut changed = trust.clone();
    changed.add(pki.reader_root.clone()).unwrap();
    assert_eq!(changed.cached_chains(), 0);
    let off = pki.trust_store().with_chain_cache(0);
    off.validate_der(&refs(&mois), REFERENCE_TIME, purpose)
        .unwrap();
    assert_eq!(off.cached_chains(), 0);
    // More certificates than the longest chain and its anchor are refused unparsed.
    let long: Vec<&[u8]> = vec![b"x"; trust.max_chain_len() + 2];
    assert!(matches!(
        trust.validate_der(&long, REFERENCE_TIME, purpose),
        Err(CryptoError::Certificate(
            CertificateError::ChainTooLong { .. }
        ))
    ));
}

fn refs(ders: &[Vec<u8>]) -> Vec<&[u8]> {
    ders.iter().map(Vec::as_slice).collect()
}

/// Where the first occurrence of `needle` starts in `haystack`, searching from `from`.
fn find(haystack: &[u8], needle: &[u8], from: usize) -> usize {
    from + haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap()
}

#[test]
fn certificates_are_decoded_once_and_strictly() {
    let pki = TestPki::new();
    let good = pki.issuer(Authority::Mois).ds.der().to_vec();
    let decode = |der: &[u8]| err(Certificate::from_der(der));
    // The outer SEQUENCE is `30 82 LL LL`; TBSCertificate starts at byte 4 with `30 82`.
    assert_eq!(&good[..2], [0x30, 0x82]);
    assert_eq!(&good[4..6], [0x30, 0x82]);

    // Trailing bytes.
    let mut trailing = good.clone();
    trailing.extend_from_slice(&[0x05, 0x00]);
    assert_eq!(decode(&trailing), CertificateError::TrailingData(2));

    // A non-minimal length: the outer length in three bytes (`83 00 LL LL`) where two do.
    let mut long = vec![0x30, 0x83, 0x00];
    long.extend_from_slice(&good[2..]);
    assert_eq!(
        decode(&long),
        CertificateError::Malformed {
            at: 5,
            what: "non-minimal or too long DER length"
        }
    );
    // A short length in long form (`81 05`) inside: the TBSCertificate's version `[0]`.
    let version = find(&good, &[0xA0, 0x03, 0x02, 0x01, 0x02], 4);
    let mut inner = good.clone();
    inner.splice(version + 1..version + 2, [0x81, 0x03]);
    // Keep every enclosing length right: TBS and outer grow by one byte.
    let grow = |der: &mut Vec<u8>, at: usize| {
        let len = u16::from_be_bytes([der[at + 2], der[at + 3]]) + 1;
        der[at + 2..at + 4].copy_from_slice(&len.to_be_bytes());
    };
    grow(&mut inner, 0);
    grow(&mut inner, 4);
    assert_eq!(
        decode(&inner),
        CertificateError::Malformed {
            at: version + 3,
            what: "non-minimal or too long DER length"
        }
    );

    // signatureAlgorithm differs from the TBSCertificate's signature (ecdsa-with-SHA256 in the
    // TBS, ecdsa-with-SHA384 outside): refused before any signature is checked.
    let sha256 = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
    let inner_alg = find(&good, &sha256, 4);
    let outer_alg = find(&good, &sha256, inner_alg + 1);
    let mut mismatch = good.clone();
    mismatch[outer_alg + 7] = 0x03;
    assert_eq!(
        decode(&mismatch),
        CertificateError::SignatureAlgorithmMismatch
    );

    // A negative serial number: the serial's first content byte with its high bit set (an
    // `80` start is canonical whatever follows).
    let serial = version + 5;
    assert_eq!(good[serial], 0x02, "INTEGER serialNumber");
    let mut negative = good.clone();
    negative[serial + 2] = 0x80;
    assert_eq!(decode(&negative), CertificateError::NegativeSerial);

    // An indefinite length.
    let mut indefinite = good.clone();
    indefinite.splice(1..4, [0x80]);
    indefinite.extend_from_slice(&[0, 0]);
    assert!(matches!(
        decode(&indefinite),
        CertificateError::Malformed {
            what: "indefinite length in DER",
            ..
        }
    ));

    // The good certificate decodes, and its signed bytes are exactly the TBSCertificate.
    let cert = Certificate::from_der(&good).unwrap();
    let tbs_len = usize::from(u16::from_be_bytes([good[6], good[7]])) + 4;
    assert_eq!(cert.tbs_der(), &good[4..4 + tbs_len]);
}

#[test]
fn a_duplicate_extension_is_refused_with_its_place() {
    let (root_key, ds_key) = (test_key("t-root"), test_key("t-ds"));
    let root = root("T IACA", &root_key, Some(0));
    let mut spec = leaf("T DS", &ds_key, "T IACA", &root_key);
    let oid = Asn1Object::from_str("1.2.3.4.5").unwrap();
    let ext = || {
        X509Extension::new_from_der(
            &oid,
            false,
            &Asn1OctetString::new_from_bytes(&[5, 0]).unwrap(),
        )
        .unwrap()
    };
    spec.extra = vec![ext(), ext()];
    assert_eq!(
        err(trust(&root).validate(&[make(spec)], REFERENCE_TIME, KeyPurpose::DocumentSigner)),
        CertificateError::DuplicateExtension {
            index: 0,
            oid: "1.2.3.4.5".into()
        }
    );
}

/// A signature verifier that counts its calls and may refuse everything.
struct Counting {
    calls: std::sync::atomic::AtomicUsize,
    refuse: bool,
}

impl kmid_crypto::SignatureVerifier for Counting {
    fn verify(
        &self,
        algorithm: kmid_crypto::Algorithm,
        key: &kmid_crypto::PublicKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if self.refuse {
            return Err(CryptoError::BadSignature);
        }
        kmid_crypto::DefaultVerifier.verify(algorithm, key, message, signature)
    }
}

#[test]
fn certificate_signatures_go_through_the_verifier_handed_in() {
    let pki = TestPki::new();
    let chain = [pki.issuer(Authority::Mois).ds.clone()];
    for refuse in [false, true] {
        let counting = std::sync::Arc::new(Counting {
            calls: std::sync::atomic::AtomicUsize::new(0),
            refuse,
        });
        let store = pki.trust_store().with_signature_verifier(counting.clone());
        let outcome = store.validate(&chain, REFERENCE_TIME, KeyPurpose::DocumentSigner);
        // The Document Signer's signature, under its IACA: one call, by the verifier given.
        assert_eq!(counting.calls.load(std::sync::atomic::Ordering::SeqCst), 1);
        if refuse {
            assert_eq!(err(outcome), CertificateError::BadSignature { index: 0 });
        } else {
            outcome.unwrap();
        }
    }
}

#[test]
fn a_root_scoped_to_two_doc_types_vouches_for_both_and_scopes_never_drop_silently() {
    let pki = TestPki::new();
    let mois = pki.issuer(Authority::Mois);
    let chain = [mois.ds.der(), mois.iaca.der()];
    // One root for two docTypes at once.
    let mut trust = TrustStore::new();
    trust
        .add_scoped(
            mois.iaca.clone(),
            vec!["kr.go.mois.rrc.1".into(), "org.iso.18013.5.1.mDL".into()],
        )
        .unwrap();
    let validated = trust
        .validate_der(&chain, REFERENCE_TIME, KeyPurpose::DocumentSigner)
        .unwrap();
    assert!(trust.allows(validated.root_index, "kr.go.mois.rrc.1"));
    assert!(trust.allows(validated.root_index, "org.iso.18013.5.1.mDL"));
    assert!(!trust.allows(validated.root_index, "kr.go.moj.rc.1"));
    // The same root added again for another scope vouches for the union, not the last only.
    let mut trust = TrustStore::new();
    trust
        .add_scoped(mois.iaca.clone(), vec!["kr.go.mois.rrc.1".into()])
        .unwrap();
    trust
        .add_scoped(mois.iaca.clone(), vec!["kr.go.oka.onid.1".into()])
        .unwrap();
    assert_eq!(trust.roots().len(), 1);
    assert!(trust.allows(0, "kr.go.mois.rrc.1"));
    assert!(trust.allows(0, "kr.go.oka.onid.1"));
    // "Anything" and "these scopes" for one root conflict, either way round.
    assert_eq!(
        trust.add(mois.iaca.clone()).unwrap_err(),
        CryptoError::Certificate(CertificateError::ScopeConflict)
    );
    let mut any = TrustStore::new();
    any.add(mois.iaca.clone()).unwrap();
    any.add(mois.iaca.clone()).unwrap();
    assert_eq!(
        any.add_scoped(mois.iaca.clone(), vec!["kr.go.mois.rrc.1".into()])
            .unwrap_err(),
        CryptoError::Certificate(CertificateError::ScopeConflict)
    );
    assert!(any.allows(0, "anything at all"));
}

mod revocation {
    use std::sync::Arc;

    use kmid_crypto::x509::{Crl, RevocationPolicy, TrustStore, issue_crl};
    use kmid_crypto::{CertificateError, CryptoError, DefaultVerifier};
    use kmid_testkit::{Authority, REFERENCE_TIME, TestPki};
    use time::Duration;

    use super::KeyPurpose;

    fn store(pki: &TestPki, crl: Option<Vec<u8>>, policy: RevocationPolicy) -> TrustStore {
        let mois = pki.issuer(Authority::Mois);
        let uri = mois.ds.crl_uri().unwrap().to_owned();
        let mut trust = TrustStore::new().with_revocation(
            Arc::new(move |asked: &str| if asked == uri { crl.clone() } else { None }),
            policy,
        );
        trust
            .add_scoped(mois.iaca.clone(), vec!["kr.go.mois.rrc.1".into()])
            .unwrap();
        trust
    }

    fn validate(trust: &TrustStore, pki: &TestPki) -> Result<Vec<usize>, CryptoError> {
        let mois = pki.issuer(Authority::Mois);
        trust
            .validate_der(&[mois.ds.der()], REFERENCE_TIME, KeyPurpose::DocumentSigner)
            .map(|v| v.revocation_unknown)
    }

    #[test]
    fn a_crl_round_trips_and_a_revoked_document_signer_is_refused() {
        let pki = TestPki::new();
        let mois = pki.issuer(Authority::Mois);
        let from = REFERENCE_TIME - Duration::days(1);
        let crl = issue_crl(
            &mois.iaca,
            &mois.iaca_signer,
            from,
            from + Duration::days(7),
            &[&mois.ds],
            1,
        )
        .unwrap();
        let parsed = Crl::from_der(crl.der()).unwrap();
        parsed.verify(&mois.iaca, &DefaultVerifier).unwrap();
        // OpenSSL reads the same CRL: the signature under the IACA, the one revoked serial.
        let ossl = openssl::x509::X509Crl::from_der(crl.der()).unwrap();
        let iaca = openssl::x509::X509::from_der(mois.iaca.der()).unwrap();
        assert!(ossl.verify(&iaca.public_key().unwrap()).unwrap());
        let listed = ossl.get_revoked().unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(
            listed[0].serial_number().to_bn().unwrap().to_vec(),
            mois.ds.serial()
        );
        assert!(parsed.revokes(&mois.ds));
        assert!(!parsed.revokes(&pki.issuer(Authority::Moj).ds));
        // Another issuer's key and name do not make a MOIS CRL.
        assert_eq!(
            parsed
                .verify(&pki.issuer(Authority::Moj).iaca, &DefaultVerifier)
                .unwrap_err(),
            CryptoError::Certificate(CertificateError::CrlIssuer("the CRL names another issuer"))
        );
        // A flipped signature bit.
        let mut forged = crl.der().to_vec();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert_eq!(
            Crl::from_der(&forged)
                .and_then(|c| c.verify(&mois.iaca, &DefaultVerifier))
                .unwrap_err(),
            CryptoError::Certificate(CertificateError::CrlIssuer("the signature does not verify"))
        );

        let revoked = store(&pki, Some(crl.der().to_vec()), RevocationPolicy::HardFail);
        assert_eq!(
            validate(&revoked, &pki).unwrap_err(),
            CryptoError::Certificate(CertificateError::Revoked { index: 0 })
        );
        // Checked every time, not answered from the chain cache.
        assert_eq!(
            validate(&revoked, &pki).unwrap_err(),
            CryptoError::Certificate(CertificateError::Revoked { index: 0 })
        );
        // A CRL that lists nothing: the chain stands, nothing left unchecked.
        let empty = issue_crl(
            &mois.iaca,
            &mois.iaca_signer,
            from,
            from + Duration::days(7),
            &[],
            2,
        )
        .unwrap();
        let clean = store(&pki, Some(empty.der().to_vec()), RevocationPolicy::HardFail);
        assert_eq!(validate(&clean, &pki).unwrap(), Vec::<usize>::new());
    }

    #[test]
    fn a_crl_is_kept_until_its_next_update_or_until_the_store_forgets_it() {
        let pki = TestPki::new();
        let mois = pki.issuer(Authority::Mois);
        let from = REFERENCE_TIME - Duration::days(1);
        let crl = |revoked: &[&kmid_crypto::x509::Certificate]| {
            issue_crl(
                &mois.iaca,
                &mois.iaca_signer,
                from,
                from + Duration::days(7),
                revoked,
                1,
            )
            .unwrap()
            .der()
            .to_vec()
        };
        let served = Arc::new(std::sync::Mutex::new(crl(&[])));
        let source = Arc::clone(&served);
        let mut trust = TrustStore::new().with_revocation(
            Arc::new(move |_: &str| Some(source.lock().unwrap().clone())),
            RevocationPolicy::HardFail,
        );
        trust.add(mois.iaca.clone()).unwrap();
        assert_eq!(validate(&trust, &pki).unwrap(), Vec::<usize>::new());
        // The issuer publishes a new CRL before the cached one's nextUpdate: still the old.
        *served.lock().unwrap() = crl(&[&mois.ds]);
        assert!(validate(&trust, &pki).is_ok());
        // Told of it, the store (and its clones) fetch again.
        trust.clone().forget_crls();
        assert_eq!(
            validate(&trust, &pki).unwrap_err(),
            CryptoError::Certificate(CertificateError::Revoked { index: 0 })
        );
    }

    #[test]
    fn an_unavailable_crl_fails_hard_by_policy_or_is_reported_under_soft_fail() {
        let pki = TestPki::new();
        let mois = pki.issuer(Authority::Mois);
        let moj = pki.issuer(Authority::Moj);
        let from = REFERENCE_TIME - Duration::days(1);
        let unavailable = |why: &'static str| {
            CryptoError::Certificate(CertificateError::RevocationUnavailable { index: 0, why })
        };
        // Not served at all.
        assert_eq!(
            validate(&store(&pki, None, RevocationPolicy::HardFail), &pki).unwrap_err(),
            unavailable("the CRL cannot be fetched")
        );
        assert_eq!(
            validate(&store(&pki, None, RevocationPolicy::SoftFail), &pki).unwrap(),
            [0]
        );
        // Served, but another authority's (it cannot speak for MOIS's Document Signer).
        let theirs = issue_crl(
            &moj.iaca,
            &moj.iaca_signer,
            from,
            from + Duration::days(7),
            &[],
            1,
        )
        .unwrap();
        assert_eq!(
            validate(
                &store(
                    &pki,
                    Some(theirs.der().to_vec()),
                    RevocationPolicy::HardFail
                ),
                &pki
            )
            .unwrap_err(),
            unavailable("the CRL is not its issuer's")
        );
        // Stale: its nextUpdate has passed.
        let stale = issue_crl(
            &mois.iaca,
            &mois.iaca_signer,
            from - Duration::days(30),
            from - Duration::days(23),
            &[],
            1,
        )
        .unwrap();
        assert_eq!(
            validate(
                &store(&pki, Some(stale.der().to_vec()), RevocationPolicy::HardFail),
                &pki
            )
            .unwrap_err(),
            unavailable("the CRL is not current (thisUpdate/nextUpdate)")
        );
        // Not a CRL.
        assert_eq!(
            validate(
                &store(&pki, Some(b"garbage".to_vec()), RevocationPolicy::HardFail),
                &pki
            )
            .unwrap_err(),
            unavailable("the CRL does not parse")
        );
    }
}
