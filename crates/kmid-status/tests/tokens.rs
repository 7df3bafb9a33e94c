//! Status List Tokens: signed and verified as JWT and CWT under the test PKI, and every broken
//! or hostile token refused with its own error.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ciborium::Value as Cbor;
use coset::{CoseSign1, TaggedCborSerializable};
use kmid_crypto::{AlgorithmRefusal, CertificateError, CryptoError, Signer};
use kmid_status::token::{
    TokenClaims, TokenKeys, TokenPolicy, TokenSigner, VerifiedStatusList, sign_cwt, sign_jwt,
    verify_token,
};
use kmid_status::{StatusList, StatusListError};
use kmid_testkit::{Authority, REFERENCE_TIME, TestPki};
use serde_json::{Value, json};
use time::Duration;

type ClaimsMap = Vec<(Cbor, Cbor)>;

const URI: &str = "https://status.mois.go.kr/lists/1";

fn list() -> StatusList {
    let mut l = StatusList::new(2, 1 << 16).unwrap();
    l.set(7, 2).unwrap();
    l.set(65_535, 1).unwrap();
    l
}

struct Fixture {
    pki: TestPki,
    signer: Arc<dyn Signer>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            pki: TestPki::new(),
            signer: common::ds_signer(Authority::Mois),
        }
    }

    fn token_signer(&self) -> (Arc<dyn Signer>, Vec<kmid_crypto::x509::Certificate>) {
        (
            Arc::clone(&self.signer),
            vec![self.pki.issuer(Authority::Mois).ds.clone()],
        )
    }

    fn jwt(&self, claims: &TokenClaims) -> String {
        let (signer, chain) = self.token_signer();
        sign_jwt(
            &list(),
            claims,
            &TokenSigner {
                signer: &signer,
                chain: &chain,
                kid: None,
                provider: kmid_crypto::CryptoProvider::get_default(),
            },
        )
        .unwrap()
    }

    fn cwt(&self, claims: &TokenClaims) -> Vec<u8> {
        let (signer, chain) = self.token_signer();
        sign_cwt(
            &list(),
            claims,
            &TokenSigner {
                signer: &signer,
                chain: &chain,
                kid: None,
                provider: kmid_crypto::CryptoProvider::get_default(),
            },
        )
        .unwrap()
    }

    fn verify(&self, token: &[u8]) -> Result<VerifiedStatusList, StatusListError> {
        verify_token(
            token,
            URI,
            REFERENCE_TIME,
            &TokenKeys::X5c(self.pki.trust_store()),
            &TokenPolicy::default(),
        )
    }

    /// Re-signs a JWT header and payload with the real Document Signer.
    fn resign_jwt(&self, header: &Value, payload: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        );
        let sig = self.signer.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    fn jwt_parts(&self) -> (Value, Value) {
        let jwt = self.jwt(&common::claims(URI, REFERENCE_TIME));
        let mut it = jwt.split('.');
        let h =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
        let p =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
        (h, p)
    }

    /// Re-signs a CWT whose claims map was changed by `edit`.
    fn resign_cwt(&self, edit: impl FnOnce(&mut Vec<(Cbor, Cbor)>)) -> Vec<u8> {
        let token = self.cwt(&common::claims(URI, REFERENCE_TIME));
        let mut sign1 = CoseSign1::from_tagged_slice(&token).unwrap();
        let mut claims: Cbor = ciborium::from_reader(sign1.payload.as_deref().unwrap()).unwrap();
        if let Cbor::Map(m) = &mut claims {
            edit(m);
        }
        let mut payload = Vec::new();
        ciborium::into_writer(&claims, &mut payload).unwrap();
        sign1.payload = Some(payload);
        let tbs = sign1.tbs_data(b"");
        sign1.signature = self.signer.sign(&tbs).unwrap();
        sign1.to_tagged_vec().unwrap()
    }
}

#[test]
fn jwt_and_cwt_round_trip_under_the_test_pki() {
    let f = Fixture::new();
    let claims = common::claims(URI, REFERENCE_TIME);
    for token in [f.jwt(&claims).into_bytes(), f.cwt(&claims)] {
        let v = f.verify(&token).unwrap();
        assert_eq!(v.claims, claims);
        assert_eq!(v.list, list());
        assert_eq!(v.list.get(7).unwrap(), 2);
        assert_eq!(
            v.signer_anchor.as_deref(),
            Some(f.pki.issuer(Authority::Mois).iaca.der())
        );
    }
    // Compression does its job: 64 Ki two-bit entries (16 KiB) with two set.
    let jwt = f.jwt(&claims);
    assert!(jwt.len() < 2_500, "{} bytes", jwt.len());
}

#[test]
fn signatures_and_signers() {
    let f = Fixture::new();
    let claims = common::claims(URI, REFERENCE_TIME);
    // A flipped signature bit.
    let mut jwt = f.jwt(&claims).into_bytes();
    let last = jwt.len() - 2;
    jwt[last] = if jwt[last] == b'A' { b'B' } else { b'A' };
    assert_eq!(f.verify(&jwt).unwrap_err(), StatusListError::BadSignature);
    let mut cwt = f.cwt(&claims);
    let last = cwt.len() - 1;
    cwt[last] ^= 1;
    assert_eq!(f.verify(&cwt).unwrap_err(), StatusListError::BadSignature);
    // Signed by a key whose certificate is not trusted (MOJ's DS key, MOIS's certificate).
    let moj = common::ds_signer(Authority::Moj);
    let chain = [f.pki.issuer(Authority::Mois).ds.clone()];
    let forged = sign_jwt(
        &list(),
        &claims,
        &TokenSigner {
            signer: &moj,
            chain: &chain,
            kid: None,
            provider: kmid_crypto::CryptoProvider::get_default(),
        },
    )
    .unwrap();
    assert_eq!(
        f.verify(forged.as_bytes()).unwrap_err(),
        StatusListError::BadSignature
    );
    // No x5c at all, with X5c trust.
    let bare = sign_cwt(
        &list(),
        &claims,
        &TokenSigner {
            signer: &f.signer,
            chain: &[],
            kid: Some("k"),
            provider: kmid_crypto::CryptoProvider::get_default(),
        },
    )
    .unwrap();
    assert_eq!(
        f.verify(&bare).unwrap_err(),
        StatusListError::Malformed("no x5c/x5chain")
    );
    // A certificate outside its validity at verification time.
    let late = REFERENCE_TIME + Duration::days(400);
    let err = verify_token(
        f.jwt(&common::claims(URI, late)).as_bytes(),
        URI,
        late,
        &TokenKeys::X5c(f.pki.trust_store()),
        &TokenPolicy::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            StatusListError::Signer(CryptoError::Certificate(CertificateError::Expired { .. }))
        ),
        "{err:?}"
    );
    // Configured keys: the right key verifies, another does not.
    let keys = TokenKeys::Keys(vec![f.signer.public_key().clone()]);
    assert!(verify_token(&bare, URI, REFERENCE_TIME, &keys, &TokenPolicy::default()).is_ok());
    let wrong = TokenKeys::Keys(vec![moj.public_key().clone()]);
    assert_eq!(
        verify_token(&bare, URI, REFERENCE_TIME, &wrong, &TokenPolicy::default()).unwrap_err(),
        StatusListError::BadSignature
    );
}

#[test]
fn header_attacks() {
    let f = Fixture::new();
    let (h, p) = f.jwt_parts();
    // Wrong typ, or none.
    for typ in [json!("JWT"), json!("statuslist+cwt"), Value::Null] {
        let mut h2 = h.clone();
        if typ.is_null() {
            h2.as_object_mut().unwrap().remove("typ");
        } else {
            h2["typ"] = typ;
        }
        assert_eq!(
            f.verify(f.resign_jwt(&h2, &p).as_bytes()).unwrap_err(),
            StatusListError::WrongType("statuslist+jwt")
        );
    }
    // alg none, HS256, unknown.
    for alg in ["none", "HS256", "ES999"] {
        let mut h2 = h.clone();
        h2["alg"] = json!(alg);
        let forged = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(h2.to_string()),
            URL_SAFE_NO_PAD.encode(p.to_string())
        );
        assert_eq!(
            f.verify(forged.as_bytes()).unwrap_err(),
            StatusListError::Algorithm(AlgorithmRefusal::UnknownJose(alg.into())),
            "{alg}"
        );
    }
    // An x5c longer than the trust store allows is refused before any certificate is parsed.
    let mut long = h.clone();
    long["x5c"] = json!(vec!["not even base64"; 12]);
    assert!(matches!(
        f.verify(f.resign_jwt(&long, &p).as_bytes()).unwrap_err(),
        StatusListError::Signer(CryptoError::Certificate(CertificateError::ChainTooLong {
            length: 12,
            ..
        }))
    ));
    // A policy that does not accept ES256.
    let policy = TokenPolicy {
        allowed_algorithms: vec![kmid_crypto::Algorithm::Es384],
        ..TokenPolicy::default()
    };
    let jwt = f.jwt(&common::claims(URI, REFERENCE_TIME));
    assert_eq!(
        verify_token(
            jwt.as_bytes(),
            URI,
            REFERENCE_TIME,
            &TokenKeys::X5c(f.pki.trust_store()),
            &policy
        )
        .unwrap_err(),
        StatusListError::Algorithm(AlgorithmRefusal::NotAllowed(kmid_crypto::Algorithm::Es256))
    );
    // CWT: wrong type, and a critical header we do not understand.
    let cwt = f.cwt(&common::claims(URI, REFERENCE_TIME));
    let mut sign1 = CoseSign1::from_tagged_slice(&cwt).unwrap();
    sign1.protected.header.rest[0].1 = Cbor::Text("application/cwt".into());
    sign1.protected.original_data = None;
    let tbs = sign1.tbs_data(b"");
    sign1.signature = f.signer.sign(&tbs).unwrap();
    assert_eq!(
        f.verify(&sign1.clone().to_tagged_vec().unwrap())
            .unwrap_err(),
        StatusListError::WrongType("application/statuslist+cwt")
    );
    let mut sign1 = CoseSign1::from_tagged_slice(&cwt).unwrap();
    sign1
        .protected
        .header
        .crit
        .push(coset::RegisteredLabelWithPrivate::Text("urgent".into()));
    sign1.protected.original_data = None;
    assert_eq!(
        f.verify(&sign1.to_tagged_vec().unwrap()).unwrap_err(),
        StatusListError::Malformed("unsupported critical header parameters")
    );
}

#[test]
fn claim_attacks() {
    let f = Fixture::new();
    let (h, p) = f.jwt_parts();
    let bad = |edit: &dyn Fn(&mut Value)| {
        let mut p2 = p.clone();
        edit(&mut p2);
        f.verify(f.resign_jwt(&h, &p2).as_bytes()).unwrap_err()
    };
    // The list at another URI (a valid list replayed for this credential's URI).
    assert_eq!(
        bad(&|p| p["sub"] = json!("https://status.mois.go.kr/lists/2")),
        StatusListError::SubjectMismatch {
            sub: "https://status.mois.go.kr/lists/2".into(),
            uri: URI.into()
        }
    );
    let now = REFERENCE_TIME.unix_timestamp();
    assert_eq!(
        bad(&|p| p["exp"] = json!(now - 1)),
        StatusListError::Expired {
            exp: now - 1,
            at: now
        }
    );
    assert_eq!(
        bad(&|p| p["iat"] = json!(now + 10)),
        StatusListError::IssuedInFuture {
            iat: now + 10,
            at: now
        }
    );
    for (field, err) in [
        ("sub", "no sub"),
        ("iat", "no iat"),
        ("status_list", "no status_list"),
    ] {
        assert_eq!(
            bad(&|p| {
                p.as_object_mut().unwrap().remove(field);
            }),
            StatusListError::Malformed(err)
        );
    }
    assert_eq!(
        bad(&|p| p["nbf"] = json!(now + 10)),
        StatusListError::NotYetValid {
            nbf: now + 10,
            at: now
        }
    );
    assert_eq!(
        bad(&|p| p["ttl"] = json!(0)),
        StatusListError::Malformed("ttl")
    );
    assert_eq!(
        bad(&|p| p["ttl"] = json!(-5)),
        StatusListError::Malformed("ttl")
    );
    assert_eq!(
        bad(&|p| p["exp"] = json!("soon")),
        StatusListError::Malformed("exp")
    );
    assert_eq!(
        bad(&|p| p["status_list"]["bits"] = json!(3)),
        StatusListError::Bits(3)
    );
    assert_eq!(
        bad(&|p| p["status_list"]["lst"] = json!("eNrbuRgAAhcBXQ==")),
        StatusListError::Malformed("status_list.lst is not base64url")
    );
    assert_eq!(
        bad(&|p| p["status_list"]["lst"] = json!("bm90IHpsaWI")),
        StatusListError::Decompression
    );
    // The same for CWT claims.
    let bad_cwt = |edit: &dyn Fn(&mut ClaimsMap)| f.verify(&f.resign_cwt(|m| edit(m))).unwrap_err();
    assert_eq!(
        bad_cwt(&|m| m[0].1 = Cbor::Text("https://elsewhere.example/1".into())),
        StatusListError::SubjectMismatch {
            sub: "https://elsewhere.example/1".into(),
            uri: URI.into()
        }
    );
    assert_eq!(
        bad_cwt(&|m| m.retain(|(k, _)| k != &Cbor::from(65533))),
        StatusListError::Malformed("no status_list (65533)")
    );
    assert_eq!(
        bad_cwt(&|m| m.retain(|(k, _)| k != &Cbor::from(6))),
        StatusListError::Malformed("no iat (6)")
    );
}

#[test]
fn decompression_bombs_and_size_limits() {
    let f = Fixture::new();
    // 40 MiB of zeros (8-bit entries) compress to a few tens of KiB: a bomb.
    let bomb = StatusList::new(8, 40 << 20).unwrap();
    let claims = common::claims(URI, REFERENCE_TIME);
    let (signer, chain) = f.token_signer();
    let token = sign_cwt(
        &bomb,
        &claims,
        &TokenSigner {
            signer: &signer,
            chain: &chain,
            kid: None,
            provider: kmid_crypto::CryptoProvider::get_default(),
        },
    )
    .unwrap();
    assert!(token.len() < 64 * 1024, "{}", token.len());
    assert_eq!(
        f.verify(&token).unwrap_err(),
        StatusListError::TooLarge {
            max: kmid_status::DEFAULT_MAX_DECOMPRESSED
        }
    );
    // The claims are checked before the list is inflated: the same bomb for another URI is a
    // subject mismatch, decided without decompressing anything.
    assert!(matches!(
        verify_token(
            &token,
            "https://status.mois.go.kr/lists/2",
            REFERENCE_TIME,
            &TokenKeys::X5c(f.pki.trust_store()),
            &TokenPolicy::default()
        )
        .unwrap_err(),
        StatusListError::SubjectMismatch { .. }
    ));
    // A token over the byte limit is refused before it is parsed.
    let policy = TokenPolicy {
        max_token_bytes: 1024,
        ..TokenPolicy::default()
    };
    assert_eq!(
        verify_token(
            &token,
            URI,
            REFERENCE_TIME,
            &TokenKeys::X5c(f.pki.trust_store()),
            &policy
        )
        .unwrap_err(),
        StatusListError::Malformed("token larger than the limit")
    );
    // A list too large to make.
    assert!(matches!(
        StatusList::new(1, u64::MAX).unwrap_err(),
        StatusListError::TooLarge { .. }
    ));
}

#[test]
fn garbage_is_an_error_never_a_panic() {
    let f = Fixture::new();
    let jwt = f.jwt(&common::claims(URI, REFERENCE_TIME)).into_bytes();
    let cwt = f.cwt(&common::claims(URI, REFERENCE_TIME));
    for token in [&jwt, &cwt] {
        for cut in 0..token.len() {
            assert!(f.verify(&token[..cut]).is_err(), "cut at {cut}");
        }
    }
    for junk in [&b""[..], b"ey", b"ey..", b"\xd2", b"\xd2\x84", &[0xff; 64]] {
        assert!(f.verify(junk).is_err());
    }
}

/// A writer that takes `room` bytes, then fails.
struct FailingAfter {
    room: usize,
}

impl std::io::Write for FailingAfter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.room == 0 {
            return Err(std::io::Error::other("disk full"));
        }
        let n = buf.len().min(self.room);
        self.room -= n;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_streamed_jwt_is_sign_jwt_byte_for_byte_up_to_the_signature() {
    use kmid_status::token::write_jwt;
    let pki = TestPki::new();
    let chain = vec![pki.issuer(Authority::Mois).ds.clone()];
    let claims = common::claims(URI, REFERENCE_TIME);
    // A large list (more than one compressor and encoder chunk), with some entries set.
    let mut big = StatusList::new(2, 1 << 20).unwrap();
    for i in (0..1u64 << 20).step_by(97) {
        big.set(i, 1 + u8::from(i % 2 == 0)).unwrap();
    }
    // The in-memory DS key signs prehashed digests (the token is hashed as it is written);
    // the RFC 6979 test signer does not (the signing input is buffered). Both paths.
    let prehashing: Arc<dyn Signer> = Arc::new(kmid_testkit::test_key("mois-ds"));
    let whole: Arc<dyn Signer> = common::ds_signer(Authority::Mois);
    assert!(prehashing.signs_prehashed() && !whole.signs_prehashed());
    for signer in [&prehashing, &whole] {
        for l in [list(), big.clone()] {
            let ts = TokenSigner {
                signer,
                chain: &chain,
                kid: Some("ds-1"),
                provider: kmid_crypto::CryptoProvider::get_default(),
            };
            let returned = sign_jwt(&l, &claims, &ts).unwrap();
            let mut streamed = Vec::new();
            write_jwt(&l, &claims, &ts, &mut streamed).unwrap();
            let signed_part = |t: &[u8]| t[..t.iter().rposition(|&b| b == b'.').unwrap()].to_vec();
            assert_eq!(signed_part(&streamed), signed_part(returned.as_bytes()));
            // And as built in one piece, independently: header and payload as JSON maps
            // (insertion order: josekit turns on serde_json's preserve_order), signed whole.
            let mut header = serde_json::Map::new();
            header.insert("typ".into(), json!("statuslist+jwt"));
            header.insert("kid".into(), json!("ds-1"));
            header.insert("x5c".into(), json!(kmid_crypto::x509::chain_to_x5c(&chain)));
            let payload = json!({
                "sub": claims.sub,
                "iat": claims.iat,
                "exp": claims.exp,
                "ttl": claims.ttl,
                "status_list": l.to_json().unwrap(),
            });
            let one_piece =
                kmid_crypto::jose::sign_compact(header, payload.to_string().as_bytes(), signer)
                    .unwrap();
            assert_eq!(signed_part(&streamed), signed_part(one_piece.as_bytes()));
            let verified = verify_token(
                &streamed,
                URI,
                REFERENCE_TIME,
                &TokenKeys::X5c(pki.trust_store()),
                &TokenPolicy::default(),
            )
            .unwrap();
            assert_eq!(verified.list, l);
            // The payload is the claims and the list, in this order.
            let payload: Value = serde_json::from_slice(
                &URL_SAFE_NO_PAD
                    .decode(returned.split('.').nth(1).unwrap())
                    .unwrap(),
            )
            .unwrap();
            let keys: Vec<&String> = payload.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["sub", "iat", "exp", "ttl", "status_list"]);
            assert_eq!(
                payload["status_list"]["lst"],
                json!(URL_SAFE_NO_PAD.encode(l.compress().unwrap()))
            );
        }
    }
    // An output that fails part way is an error, never a panic or a partial success.
    let ts = TokenSigner {
        signer: &prehashing,
        chain: &chain,
        kid: None,
        provider: kmid_crypto::CryptoProvider::get_default(),
    };
    let len = sign_jwt(&big, &claims, &ts).unwrap().len();
    for room in [0, 10, len / 2, len - 1] {
        assert!(matches!(
            write_jwt(&big, &claims, &ts, &mut FailingAfter { room }),
            Err(StatusListError::Output(_))
        ));
    }
}

/// A status list signed by a configured key named by `kid` (no certificate), as a trust
/// configuration's `[[issuer]]` entry for `status-list-signer` gives it: the key for that
/// `kid` verifies, another `kid` is refused by name, and a token that carries a chain is still
/// validated to the roots, never matched to a configured key.
#[test]
fn a_token_signed_by_kid_verifies_with_the_configured_key_for_that_kid() {
    let f = Fixture::new();
    let claims = common::claims(URI, REFERENCE_TIME);
    let sign = |kid: Option<&str>, chain: &[kmid_crypto::x509::Certificate]| {
        let signer = TokenSigner {
            signer: &f.signer,
            chain,
            kid,
            provider: kmid_crypto::CryptoProvider::get_default(),
        };
        [
            sign_jwt(&list(), &claims, &signer).unwrap().into_bytes(),
            sign_cwt(&list(), &claims, &signer).unwrap(),
        ]
    };
    let moj = common::ds_signer(Authority::Moj);
    let keys = TokenKeys::KeySet {
        roots: f.pki.trust_store(),
        keys: vec![
            (Some("other".into()), moj.public_key().clone()),
            (Some("status-1".into()), f.signer.public_key().clone()),
        ],
    };
    let verify =
        |token: &[u8]| verify_token(token, URI, REFERENCE_TIME, &keys, &TokenPolicy::default());
    for token in sign(Some("status-1"), &[]) {
        let v = verify(&token).unwrap();
        assert_eq!(v.list, list());
        assert_eq!(v.signer_anchor, None, "no certificate, no anchor");
    }
    for token in sign(Some("status-2"), &[]) {
        assert_eq!(
            verify(&token).unwrap_err(),
            StatusListError::UnknownKey(Some("status-2".into()))
        );
    }
    // Without a kid, only a key configured without one would do.
    for token in sign(None, &[]) {
        assert_eq!(
            verify(&token).unwrap_err(),
            StatusListError::UnknownKey(None)
        );
    }
    // A key named "other" that did not sign it: the signature decides.
    for token in sign(Some("other"), &[]) {
        assert_eq!(verify(&token).unwrap_err(), StatusListError::BadSignature);
    }
    // With a chain: validated to the roots, as with TokenKeys::X5c.
    let chain = [f.pki.issuer(Authority::Mois).ds.clone()];
    for token in sign(Some("status-1"), &chain) {
        assert_eq!(
            verify(&token).unwrap().signer_anchor.as_deref(),
            Some(f.pki.issuer(Authority::Mois).iaca.der())
        );
    }
    let untrusted = TokenKeys::KeySet {
        roots: kmid_crypto::x509::TrustStore::new(),
        keys: vec![(None, f.signer.public_key().clone())],
    };
    for token in sign(None, &chain) {
        assert_eq!(
            verify_token(
                &token,
                URI,
                REFERENCE_TIME,
                &untrusted,
                &TokenPolicy::default()
            )
            .unwrap_err()
            .code(),
            "Signer.Certificate.UntrustedRoot",
            "a chain is not set aside for a configured key"
        );
    }
    // An x5c that is not an array is refused, not ignored.
    let (mut h, p) = f.jwt_parts();
    h["x5c"] = json!("not-an-array");
    h["kid"] = json!("status-1");
    let jwt = kmid_crypto::jose::sign_compact(
        h.as_object().unwrap().clone(),
        p.to_string().as_bytes(),
        &f.signer,
    )
    .unwrap();
    assert_eq!(
        verify(jwt.as_bytes()).unwrap_err(),
        StatusListError::Malformed("x5c (an array of strings)")
    );
}
