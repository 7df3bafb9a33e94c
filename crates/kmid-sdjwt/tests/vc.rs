//! SD-JWT VC of each Korean card end to end, and every attack and mistake with its exact error.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kmid_crypto::{
    Algorithm, AlgorithmRefusal, CertificateError, CryptoError, Curve, PrivateKey, Signer,
};
use kmid_schema::catalogue::{self, ClaimId};
use kmid_schema::status::{
    StatusContext, StatusError, StatusReference, StatusResolver, TokenStatus,
};
use kmid_schema::{Card, CardType, IdentityCard};
use kmid_sdjwt::kb::KeyBindingPolicy;
use kmid_sdjwt::vc::{HeldSdJwtVc, IssuerKeys, SdJwtVcIssuer, SdJwtVcVerifier, VcOptions};
use kmid_sdjwt::{Disclosure, DisclosureError, IssuerKeyError, KeyBindingError, SdJwt, SdJwtError};
use kmid_testkit::samples;
use kmid_testkit::{Authority, REFERENCE_TIME, SeededRandom, TestPki};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

const NONCE: &str = "n-0S6_WzA2Mj";
const AUD: &str = "https://bank.example";

fn authority(card: CardType) -> Authority {
    match card {
        CardType::Resident => Authority::Mois,
        CardType::Foreigner => Authority::Moj,
        CardType::OverseasNational => Authority::Oka,
    }
}

struct Setup {
    pki: TestPki,
    holder: Arc<dyn Signer>,
    issued: SdJwt,
    card: Card,
}

fn issuer_for(pki: &TestPki, a: Authority, seed: &str) -> SdJwtVcIssuer {
    let signer: Arc<dyn Signer> = Arc::new(kmid_testkit::Rfc6979Signer::for_test_key(&format!(
        "{}-ds",
        a.slug()
    )));
    SdJwtVcIssuer::with_x5c(
        signer,
        vec![pki.issuer(a).ds.clone()],
        Arc::new(SeededRandom::new(seed.as_bytes())),
    )
    .unwrap()
}

fn options() -> VcOptions {
    VcOptions::new(
        REFERENCE_TIME - Duration::days(1),
        REFERENCE_TIME + Duration::days(90),
    )
}

fn setup_card(card: Card) -> Setup {
    let pki = TestPki::new();
    let holder: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let issued = issuer_for(&pki, authority(card.card_type()), "vc tests")
        .issue(&card, holder.public_key(), &options())
        .unwrap();
    Setup {
        pki,
        holder,
        issued,
        card,
    }
}

fn setup() -> Setup {
    setup_card(Card::from(samples::resident()))
}

fn policy() -> KeyBindingPolicy {
    KeyBindingPolicy {
        nonce: NONCE.into(),
        audience: AUD.into(),
        max_age: Duration::minutes(5),
    }
}

impl Setup {
    fn held(&self) -> HeldSdJwtVc {
        let trust = self.pki.trust_store();
        HeldSdJwtVc::receive(
            &self.issued.to_compact(),
            &SdJwtVcVerifier::new(IssuerKeys::X5c(&trust)),
            REFERENCE_TIME,
        )
        .unwrap()
    }

    fn presentation(&self, paths: &[&[&str]]) -> SdJwt {
        self.held()
            .present(paths, Some((&self.holder, NONCE, AUD, REFERENCE_TIME)))
            .unwrap()
    }

    fn verify(&self, presentation: &str) -> Result<kmid_sdjwt::vc::VerifiedSdJwtVc, SdJwtError> {
        self.verify_at(presentation, REFERENCE_TIME)
    }

    fn verify_at(
        &self,
        presentation: &str,
        at: OffsetDateTime,
    ) -> Result<kmid_sdjwt::vc::VerifiedSdJwtVc, SdJwtError> {
        let trust = self.pki.trust_store();
        SdJwtVcVerifier::new(IssuerKeys::X5c(&trust))
            .require_key_binding(policy())
            .verify(presentation, at)
    }

    /// The issuer-signed JWT's header and payload.
    fn parts(&self) -> (Value, Value) {
        let mut it = self.issued.issuer_jwt.split('.');
        let h =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
        let p =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap()).unwrap();
        (h, p)
    }

    /// Re-signs a modified header and payload with the real Document Signer key.
    fn resign(&self, header: &Value, payload: &Value) -> String {
        let signer = kmid_testkit::Rfc6979Signer::for_test_key("mois-ds");
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        );
        let sig = signer.sign(input.as_bytes()).unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// A presentation with the given issuer JWT and disclosures, bound by the holder.
    fn bound(&self, issuer_jwt: String, disclosures: Vec<String>) -> String {
        let mut sd = SdJwt {
            issuer_jwt,
            disclosures,
            kb_jwt: None,
        };
        sd.kb_jwt = Some(
            kmid_sdjwt::kb::create(
                kmid_crypto::CryptoProvider::get_default(),
                &sd,
                kmid_crypto::HashAlgorithm::Sha256,
                &self.holder,
                NONCE,
                AUD,
                REFERENCE_TIME,
            )
            .unwrap(),
        );
        sd.to_compact()
    }
}

#[test]
fn every_card_presents_exactly_the_chosen_claims() {
    for card in samples::all() {
        let s = setup_card(card.clone());
        // A bank asks for the name, the birth date, one address part and the Youth Act flag.
        let asked: &[&[&str]] = &[
            &["family_name"],
            &["birthdate"],
            &["address", "locality"],
            &["youth_act_adult"],
        ];
        let p = s.presentation(asked);
        let v = s.verify(&p.to_compact()).unwrap();
        assert!(v.key_bound);
        assert_eq!(v.card_type, Some(card.card_type()));
        assert_eq!(v.vct, card.card_type().vct());
        let disclosed: Vec<ClaimId> = v.catalogue_claims().into_iter().map(|(id, _)| id).collect();
        let expected: Vec<ClaimId> = catalogue::for_card(card.card_type())
            .filter(|spec| asked.contains(&spec.sd_jwt.path))
            .map(|spec| spec.id)
            .collect();
        assert_eq!(disclosed, expected, "{:?}", card.card_type());
        // The address object is revealed, with only the asked member.
        if let Some(address) = v.claims.get("address") {
            assert_eq!(
                address.as_object().unwrap().keys().collect::<Vec<_>>(),
                ["locality"]
            );
        }
        assert!(v.claim(ClaimId::RegistrationNumber).is_none());
        // Values are the card's (the age items as of the issue day, 2025-06-30 in KST).
        let issued_claims = Value::Object(
            kmid_sdjwt::vc::card_claims(&card, (REFERENCE_TIME - Duration::days(1)).date())
                .unwrap(),
        );
        for (id, value) in v.catalogue_claims() {
            let pointer = format!("/{}", catalogue::spec(id).sd_jwt.path.join("/"));
            assert_eq!(Some(value), issued_claims.pointer(&pointer), "{id:?}");
        }
        // Also through both JWS JSON serializations.
        for form in [p.to_flattened_json(), p.to_general_json()] {
            assert_eq!(s.verify(&form).unwrap().claims, v.claims);
        }
    }
}

#[test]
fn the_presentation_digest_is_the_sha256_of_the_text_as_given() {
    let s = setup();
    let sha = |text: &str| kmid_crypto::digest::sha256(text.as_bytes()).unwrap();
    let p = s.presentation(&[&["family_name"], &["birthdate"]]);
    // Compact with Key Binding: taken from the sd_hash pass, equal to a hash of the whole text.
    let compact = p.to_compact();
    assert_eq!(
        s.verify(&compact).unwrap().presentation_sha256,
        sha(&compact)
    );
    // The JWS JSON forms (and leading whitespace) are hashed as given, not as compact.
    for form in [p.to_flattened_json(), format!(" \n{}", p.to_general_json())] {
        let v = s.verify(&form).unwrap();
        assert_eq!(v.presentation_sha256, sha(&form));
        assert_ne!(v.presentation_sha256, sha(&compact));
    }
    // Without Key Binding (a holder's receipt), the issued text.
    let issued = s.issued.to_compact();
    assert_eq!(s.held().verified().presentation_sha256, sha(&issued));
}

#[test]
fn everything_disclosed_equals_the_card_and_hanja_outside_the_bmp_round_trips() {
    let s = setup_card(Card::from(samples::resident_minor()));
    let all: Vec<&[&str]> = catalogue::for_card(CardType::Resident)
        .map(|spec| spec.sd_jwt.path)
        .collect();
    let v = s.verify(&s.presentation(&all).to_compact()).unwrap();
    let expected =
        kmid_sdjwt::vc::card_claims(&s.card, (REFERENCE_TIME - Duration::days(1)).date()).unwrap();
    for (k, value) in &expected {
        assert_eq!(v.claims.get(k), Some(value), "{k}");
    }
    assert_eq!(
        v.claim(ClaimId::NameHanja).and_then(Value::as_str),
        Some("李\u{20BB7}娟")
    );
    // The issued SD-JWT writes Hangul and Hanja as UTF-8, not \u escapes.
    let disclosure = s
        .issued
        .disclosures
        .iter()
        .map(|d| URL_SAFE_NO_PAD.decode(d).unwrap())
        .find(|d| String::from_utf8_lossy(d).contains("name_hanja"))
        .unwrap();
    assert!(String::from_utf8(disclosure).unwrap().contains('\u{20BB7}'));
}

fn err(r: Result<impl core::fmt::Debug, SdJwtError>) -> SdJwtError {
    r.expect_err("must be refused")
}

#[test]
fn disclosure_attacks() {
    let s = setup();
    let p = s.presentation(&[&["family_name"], &["given_name"]]);
    // Tampered: a Disclosure re-encoded with another value is referenced by nothing.
    let original = Disclosure::parse(&p.disclosures[0], 0).unwrap();
    let forged =
        Disclosure::property(original.salt(), original.name().unwrap(), json!("박")).unwrap();
    let mut d = p.disclosures.clone();
    d[0] = forged.encoded().to_owned();
    assert_eq!(
        err(s.verify(&s.bound(p.issuer_jwt.clone(), d))),
        SdJwtError::Disclosure {
            index: 0,
            kind: DisclosureError::NotReferenced
        }
    );
    // From another credential.
    let other = setup_card(Card::from(samples::resident_minor()));
    let mut d = p.disclosures.clone();
    d.push(other.issued.disclosures[0].clone());
    let n = d.len() - 1;
    assert_eq!(
        err(s.verify(&s.bound(p.issuer_jwt.clone(), d))),
        SdJwtError::Disclosure {
            index: n,
            kind: DisclosureError::NotReferenced
        }
    );
    // The same Disclosure twice.
    let mut d = p.disclosures.clone();
    d.push(d[0].clone());
    let n = d.len() - 1;
    assert_eq!(
        err(s.verify(&s.bound(p.issuer_jwt.clone(), d))),
        SdJwtError::Disclosure {
            index: n,
            kind: DisclosureError::Repeated
        }
    );
    // Malformed base64: a character outside the alphabet, and a length no encoding has.
    let mut d = p.disclosures.clone();
    d[0] = "abc$".into();
    assert_eq!(
        err(s.verify(&s.bound(p.issuer_jwt.clone(), d))),
        SdJwtError::Malformed {
            part: "disclosure 0".into(),
            what: "empty or not base64url"
        }
    );
    let mut d = p.disclosures.clone();
    d[0] = "A".into();
    assert_eq!(
        err(s.verify(&s.bound(p.issuer_jwt.clone(), d))),
        SdJwtError::Base64 {
            part: "disclosure 0".into()
        }
    );
}

#[test]
fn a_disclosure_that_claims_sd_or_a_registered_claim_is_refused() {
    let s = setup();
    let (header, mut payload) = s.parts();
    let evil = Disclosure::element("c2FsdHNhbHRzYWx0", json!(1));
    let array = json!(["c2FsdHNhbHRzYWx0", "_sd", ["x"]]);
    let reserved = URL_SAFE_NO_PAD.encode(array.to_string());
    let reserved_digest = URL_SAFE_NO_PAD.encode(
        kmid_crypto::HashAlgorithm::Sha256
            .digest(reserved.as_bytes())
            .unwrap(),
    );
    payload["_sd"]
        .as_array_mut()
        .unwrap()
        .push(json!(reserved_digest));
    let jwt = s.resign(&header, &payload);
    assert_eq!(
        err(s.verify(&s.bound(jwt, vec![reserved]))),
        SdJwtError::Disclosure {
            index: 0,
            kind: DisclosureError::ReservedName("_sd".into())
        }
    );
    // An array-element Disclosure referenced from _sd.
    let (header, mut payload) = s.parts();
    payload["_sd"].as_array_mut().unwrap().push(json!(
        evil.digest(
            kmid_crypto::CryptoProvider::get_default(),
            kmid_crypto::HashAlgorithm::Sha256
        )
        .unwrap()
    ));
    let jwt = s.resign(&header, &payload);
    assert_eq!(
        err(s.verify(&s.bound(jwt, vec![evil.encoded().into()]))),
        SdJwtError::Disclosure {
            index: 0,
            kind: DisclosureError::NotAnObjectProperty
        }
    );
    // exp moved into a Disclosure: never allowed for SD-JWT VC.
    let (header, mut payload) = s.parts();
    let exp = payload.as_object_mut().unwrap().remove("exp").unwrap();
    let d = Disclosure::property("c2FsdHNhbHRzYWx0", "exp", exp).unwrap();
    payload["_sd"].as_array_mut().unwrap().push(json!(
        d.digest(
            kmid_crypto::CryptoProvider::get_default(),
            kmid_crypto::HashAlgorithm::Sha256
        )
        .unwrap()
    ));
    let jwt = s.resign(&header, &payload);
    assert_eq!(
        err(s.verify(&s.bound(jwt, vec![d.encoded().into()]))),
        SdJwtError::DisclosedRegisteredClaim("exp".into())
    );
    // aka_vcts is never selectively disclosable either (SD-JWT VC §2.2.2.3).
    let (header, mut payload) = s.parts();
    let d =
        Disclosure::property("c2FsdHNhbHRzYWx0", "aka_vcts", json!(["urn:eudi:pid:1"])).unwrap();
    payload["_sd"].as_array_mut().unwrap().push(json!(
        d.digest(
            kmid_crypto::CryptoProvider::get_default(),
            kmid_crypto::HashAlgorithm::Sha256
        )
        .unwrap()
    ));
    let jwt = s.resign(&header, &payload);
    assert_eq!(
        err(s.verify(&s.bound(jwt, vec![d.encoded().into()]))),
        SdJwtError::DisclosedRegisteredClaim("aka_vcts".into())
    );
    // The same digest twice in the payload.
    let (header, mut payload) = s.parts();
    let first = payload["_sd"][0].clone();
    payload["_sd"].as_array_mut().unwrap().push(first.clone());
    let jwt = s.resign(&header, &payload);
    assert_eq!(
        err(s.verify(&s.bound(jwt, vec![]))),
        SdJwtError::DuplicateDigest(first.as_str().unwrap().into())
    );
}

#[test]
fn algorithm_attacks() {
    let s = setup();
    let (mut header, payload) = s.parts();
    let body = URL_SAFE_NO_PAD.encode(payload.to_string());
    // alg: none, unsigned.
    header["alg"] = json!("none");
    let none = format!("{}.{body}.", URL_SAFE_NO_PAD.encode(header.to_string()));
    assert_eq!(
        err(s.verify(&format!("{none}~"))),
        SdJwtError::AlgorithmNotAccepted(AlgorithmRefusal::UnknownJose("none".into()))
    );
    // HS256 with the issuer's public key as the HMAC secret.
    header["alg"] = json!("HS256");
    let input = format!("{}.{body}", URL_SAFE_NO_PAD.encode(header.to_string()));
    let secret = s
        .pki
        .issuer(Authority::Mois)
        .ds
        .public_key()
        .to_spki_der()
        .unwrap();
    let mac = kmid_crypto::session::hmac_sha256(&secret, input.as_bytes()).unwrap();
    let hs = format!("{input}.{}~", URL_SAFE_NO_PAD.encode(mac));
    assert_eq!(
        err(s.verify(&hs)),
        SdJwtError::AlgorithmNotAccepted(AlgorithmRefusal::UnknownJose("HS256".into()))
    );
    // A valid ES256 token when the verifier allows ES384 only.
    let trust = s.pki.trust_store();
    let p = s.presentation(&[&["family_name"]]);
    assert_eq!(
        err(SdJwtVcVerifier::new(IssuerKeys::X5c(&trust))
            .with_algorithms(&[Algorithm::Es384])
            .verify(&p.to_compact(), REFERENCE_TIME)),
        SdJwtError::AlgorithmNotAccepted(AlgorithmRefusal::NotAllowed(Algorithm::Es256))
    );
}

#[test]
fn issuer_key_attacks() {
    let s = setup();
    let p = s.presentation(&[&["family_name"]]).to_compact();
    // A configured key for the issuer that is not the one that signed.
    let impostor = PrivateKey::generate(Curve::P256).unwrap();
    let (_, payload) = s.parts();
    let _ = payload;
    let keyset = IssuerKeys::KeySet(vec![(
        "https://www.mois.go.kr".into(),
        None,
        impostor.public_key().clone(),
    )]);
    let issued_with_iss = {
        let signer: Arc<dyn Signer> =
            Arc::new(kmid_testkit::Rfc6979Signer::for_test_key("mois-ds"));
        SdJwtVcIssuer::with_x5c(
            signer,
            vec![s.pki.issuer(Authority::Mois).ds.clone()],
            Arc::new(SeededRandom::new(b"iss")),
        )
        .unwrap()
        .with_iss("https://www.mois.go.kr".into())
        .issue(&s.card, s.holder.public_key(), &options())
        .unwrap()
    };
    assert_eq!(
        err(SdJwtVcVerifier::new(keyset).verify(&issued_with_iss.to_compact(), REFERENCE_TIME)),
        SdJwtError::BadIssuerSignature
    );
    // An x5c chain to a root the verifier does not trust.
    let mut moj_only = kmid_crypto::x509::TrustStore::new();
    moj_only
        .add(s.pki.issuer(Authority::Moj).iaca.clone())
        .unwrap();
    assert_eq!(
        err(SdJwtVcVerifier::new(IssuerKeys::X5c(&moj_only)).verify(&p, REFERENCE_TIME)),
        SdJwtError::IssuerKey(IssuerKeyError::Chain(CryptoError::Certificate(
            CertificateError::UntrustedRoot
        )))
    );
    // One ministry's signer cannot issue another ministry's card.
    let cross = issuer_for(&s.pki, Authority::Moj, "cross")
        .issue(&s.card, s.holder.public_key(), &options())
        .unwrap();
    let trust = s.pki.trust_store();
    assert_eq!(
        err(SdJwtVcVerifier::new(IssuerKeys::X5c(&trust))
            .verify(&cross.to_compact(), REFERENCE_TIME)),
        SdJwtError::IssuerKey(IssuerKeyError::VctNotAuthorized {
            vct: "kr.go.mois.rrc.1".into()
        })
    );
}

#[test]
fn type_and_shape_attacks() {
    let s = setup();
    let (mut header, payload) = s.parts();
    header["typ"] = json!("vc+sd-jwt");
    let jwt = s.resign(&header, &payload);
    assert_eq!(
        err(s.verify(&s.bound(jwt, vec![]))),
        SdJwtError::WrongType {
            expected: "dc+sd-jwt",
            found: Some("vc+sd-jwt".into())
        }
    );
    // RFC 7515 §4.1.9: typ is a media type, compared without case and with or without
    // "application/".
    for typ in [
        "application/dc+sd-jwt",
        "DC+SD-JWT",
        "Application/Dc+Sd-Jwt",
    ] {
        header["typ"] = json!(typ);
        let jwt = s.resign(&header, &payload);
        assert!(s.verify(&s.bound(jwt, vec![])).is_ok(), "{typ}");
    }
    for typ in [
        "application/dc+sd-jwt+x",
        "text/dc+sd-jwt",
        "application/application/dc+sd-jwt",
    ] {
        header["typ"] = json!(typ);
        let jwt = s.resign(&header, &payload);
        assert!(
            matches!(
                err(s.verify(&s.bound(jwt, vec![]))),
                SdJwtError::WrongType { .. }
            ),
            "{typ}"
        );
    }
    // Trailing garbage after the KB-JWT.
    let p = s.presentation(&[&["family_name"]]).to_compact();
    assert_eq!(
        err(s.verify(&format!("{p}garbage"))),
        SdJwtError::Base64 {
            part: "KB-JWT".into()
        }
    );
    assert_eq!(
        err(s.verify(&format!("{p} garbage!"))),
        SdJwtError::Malformed {
            part: "KB-JWT".into(),
            what: "the part after the last '~' is neither empty nor a JWT"
        }
    );
    assert_eq!(
        err(s.verify(&format!("{p}~"))),
        SdJwtError::Malformed {
            part: "disclosure 1".into(),
            what: "empty or not base64url"
        }
    );
    // An issued SD-JWT with a KB-JWT is refused by the holder.
    let trust = s.pki.trust_store();
    assert_eq!(
        err(HeldSdJwtVc::receive(
            &p,
            &SdJwtVcVerifier::new(IssuerKeys::X5c(&trust)),
            REFERENCE_TIME
        )),
        SdJwtError::KeyBinding(KeyBindingError::Unexpected)
    );
    // An unknown vct.
    let trust = s.pki.trust_store();
    assert_eq!(
        err(SdJwtVcVerifier::new(IssuerKeys::X5c(&trust))
            .with_vcts(&["kr.go.moj.rc.1"])
            .verify(&p, REFERENCE_TIME)),
        SdJwtError::UnknownVct("kr.go.mois.rrc.1".into())
    );
    // vct#integrity that does not match the Type Metadata.
    let (header, mut payload) = s.parts();
    payload["vct#integrity"] = json!("sha256-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let jwt = s.resign(&header, &payload);
    assert_eq!(
        err(s.verify(&s.bound(jwt, vec![]))),
        SdJwtError::VctIntegrity("kr.go.mois.rrc.1".into())
    );
}

#[test]
fn time_attacks() {
    let s = setup();
    let p = s.presentation(&[&["family_name"]]).to_compact();
    let (_, payload) = s.parts();
    let exp = payload["exp"].as_i64().unwrap();
    let after = OffsetDateTime::from_unix_timestamp(exp + 1).unwrap();
    let trust = s.pki.trust_store();
    let verifier = SdJwtVcVerifier::new(IssuerKeys::X5c(&trust)).danger_accept_unchecked_status();
    assert_eq!(
        err(verifier.verify(&s.issued.to_compact(), after)),
        SdJwtError::Expired { exp, at: exp + 1 }
    );
    // RFC 7519 §4.1.4: at exp itself it has expired; a second before, it has not.
    let at_exp = OffsetDateTime::from_unix_timestamp(exp).unwrap();
    assert_eq!(
        err(verifier.verify(&s.issued.to_compact(), at_exp)),
        SdJwtError::Expired { exp, at: exp }
    );
    let before = OffsetDateTime::from_unix_timestamp(exp - 1).unwrap();
    assert!(verifier.verify(&s.issued.to_compact(), before).is_ok());
    // Not yet valid: nbf in the future.
    let (header, mut payload) = s.parts();
    let nbf = REFERENCE_TIME.unix_timestamp() + 3600;
    payload["nbf"] = json!(nbf);
    let jwt = s.resign(&header, &payload);
    assert_eq!(
        err(s.verify(&s.bound(jwt, vec![]))),
        SdJwtError::NotYetValid {
            nbf,
            at: REFERENCE_TIME.unix_timestamp()
        }
    );
    let _ = p;
}

#[test]
fn key_binding_attacks() {
    let s = setup();
    let held = s.held();
    // Missing when required.
    let bare = held.present(&[&["family_name"]], None).unwrap();
    assert_eq!(
        err(s.verify(&bare.to_compact())),
        SdJwtError::KeyBinding(KeyBindingError::Missing)
    );
    // Signed by another key than cnf.
    let thief: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let stolen = held
        .present(
            &[&["family_name"]],
            Some((&thief, NONCE, AUD, REFERENCE_TIME)),
        )
        .unwrap();
    assert_eq!(
        err(s.verify(&stolen.to_compact())),
        SdJwtError::KeyBinding(KeyBindingError::BadSignature)
    );
    // sd_hash over another set of Disclosures: a Disclosure dropped after binding.
    let mut p = held
        .present(
            &[&["family_name"], &["given_name"]],
            Some((&s.holder, NONCE, AUD, REFERENCE_TIME)),
        )
        .unwrap();
    p.disclosures.pop();
    assert_eq!(
        err(s.verify(&p.to_compact())),
        SdJwtError::KeyBinding(KeyBindingError::SdHashMismatch)
    );
    // Another transaction's nonce, another verifier's audience, a stale KB-JWT.
    let other_nonce = held
        .present(
            &[&["family_name"]],
            Some((&s.holder, "another", AUD, REFERENCE_TIME)),
        )
        .unwrap();
    assert_eq!(
        err(s.verify(&other_nonce.to_compact())),
        SdJwtError::KeyBinding(KeyBindingError::NonceMismatch)
    );
    let other_aud = held
        .present(
            &[&["family_name"]],
            Some((&s.holder, NONCE, "https://evil.example", REFERENCE_TIME)),
        )
        .unwrap();
    assert_eq!(
        err(s.verify(&other_aud.to_compact())),
        SdJwtError::KeyBinding(KeyBindingError::AudienceMismatch)
    );
    let old = REFERENCE_TIME - Duration::minutes(6);
    let stale = held
        .present(&[&["family_name"]], Some((&s.holder, NONCE, AUD, old)))
        .unwrap();
    assert_eq!(
        err(s.verify(&stale.to_compact())),
        SdJwtError::KeyBinding(KeyBindingError::Stale {
            iat: old.unix_timestamp(),
            at: REFERENCE_TIME.unix_timestamp()
        })
    );
    // A KB-JWT with the wrong typ.
    let good = held
        .present(
            &[&["family_name"]],
            Some((&s.holder, NONCE, AUD, REFERENCE_TIME)),
        )
        .unwrap();
    let kb = good.kb_jwt.clone().unwrap();
    let mut kb_parts = kb.split('.');
    let mut kb_header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(kb_parts.next().unwrap()).unwrap()).unwrap();
    kb_header["typ"] = json!("JWT");
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(kb_header.to_string()),
        kb_parts.next().unwrap()
    );
    let sig = s.holder.sign(input.as_bytes()).unwrap();
    let wrong_typ = SdJwt {
        kb_jwt: Some(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))),
        ..good.clone()
    };
    assert_eq!(
        err(s.verify(&wrong_typ.to_compact())),
        SdJwtError::KeyBinding(KeyBindingError::WrongType)
    );
    // A KB-JWT with its own exp (passed) or nbf (to come): checked when present.
    let now = REFERENCE_TIME.unix_timestamp();
    for (claim, value) in [("exp", now), ("nbf", now + 60)] {
        let mut parts = good.kb_jwt.as_deref().unwrap().split('.');
        let h = parts.next().unwrap();
        let mut kb_payload: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts.next().unwrap()).unwrap())
                .unwrap();
        kb_payload[claim] = json!(value);
        let input = format!("{h}.{}", URL_SAFE_NO_PAD.encode(kb_payload.to_string()));
        let sig = s.holder.sign(input.as_bytes()).unwrap();
        let timed = SdJwt {
            kb_jwt: Some(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))),
            ..good.clone()
        };
        assert_eq!(
            err(s.verify(&timed.to_compact())),
            SdJwtError::KeyBinding(KeyBindingError::OutsideValidity {
                claim,
                value,
                at: now
            })
        );
    }
}

struct FixedStatus(Result<TokenStatus, StatusError>);

impl StatusResolver for FixedStatus {
    fn resolve(
        &self,
        r: &StatusReference,
        context: &StatusContext<'_>,
        _: OffsetDateTime,
    ) -> Result<TokenStatus, StatusError> {
        assert_eq!(r.idx, 77);
        let pki = TestPki::new();
        assert_eq!(
            context.issuer_anchor,
            Some(pki.issuer(Authority::Mois).iaca.der())
        );
        self.0.clone()
    }
}

#[test]
fn status_is_checked_and_fails_closed() {
    let pki = TestPki::new();
    let holder: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let mut o = options();
    o.status = Some(StatusReference {
        idx: 77,
        uri: "https://status.mois.go.kr/lists/3".into(),
    });
    let issued = issuer_for(&pki, Authority::Mois, "status")
        .issue(&Card::from(samples::resident()), holder.public_key(), &o)
        .unwrap();
    let trust = pki.trust_store();
    let v = |r: Option<&dyn StatusResolver>| {
        let mut verifier = SdJwtVcVerifier::new(IssuerKeys::X5c(&trust));
        if let Some(r) = r {
            verifier = verifier.with_status_resolver(r);
        }
        verifier.verify(&issued.to_compact(), REFERENCE_TIME)
    };
    assert_eq!(
        v(Some(&FixedStatus(Ok(TokenStatus::Valid))))
            .unwrap()
            .status,
        Some(TokenStatus::Valid)
    );
    assert_eq!(
        err(v(Some(&FixedStatus(Ok(TokenStatus::Suspended))))),
        SdJwtError::Status(TokenStatus::Suspended)
    );
    assert_eq!(
        err(v(None)),
        SdJwtError::StatusUnavailable(StatusError::NoResolver)
    );
}
