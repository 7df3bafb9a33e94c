//! The registration number only with a legal basis (PIPA Art. 24-2; issue 18, item 6): a
//! wallet releases it only to a verifier that authenticated (a signed Request Object, or an
//! mdoc readerAuth) and presented a registration attestation from a registrar it trusts,
//! naming that verifier and that claim. Everything else is withheld or refused by name.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use kmid::crypto::{CryptoProvider, Curve, PrivateKey, Signer};
use kmid::mdoc::model::{Handover, SessionTranscript};
use kmid::oid4vc::request::{ClientId, ResponseMode};
use kmid::schema::catalogue::ClaimId;
use kmid::schema::{Card, CardType, IdentityCard};
use kmid::{
    DcqlQuery, Format, Formats, IssuingAuthority, OnlineRequest, OpenId4VpRequest, Template,
    Verifier, VerifierAccess, Wallet,
};
use kmid_testkit::{Authority, TestPki, samples};

mod common;
use common::{AllValid, access_pki, hash_id, issuer, now, registrar, registration};

const RESPONSE_URI: &str = "https://bank.example/openid4vp/response";

fn full() -> Template {
    Template::FullIdentity {
        legal_basis: "Act on Real Name Financial Transactions and Confidentiality, Art. 3".into(),
    }
}

struct Bank {
    wallet: Wallet,
    verifier: Verifier,
    signer: Arc<dyn Signer>,
    leaf: kmid::crypto::x509::Certificate,
    registrar: Arc<dyn Signer>,
    card: Card,
}

fn bank() -> Bank {
    let (verifier_trust, signer, leaf) = access_pki();
    let (registrars, registrar) = registrar();
    let mois = issuer(IssuingAuthority::Mois);
    let trust = kmid::trust_store([mois.keys()]).unwrap();
    let card = Card::from(samples::resident());
    let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), trust.clone())
        .with_verifier_trust(verifier_trust)
        .with_registrars(registrars);
    let issued = mois
        .issue(&card, wallet.device_key(), Formats::Both, now())
        .unwrap();
    wallet.store_issued(issued, now()).unwrap();
    Bank {
        wallet,
        verifier: Verifier::new(trust, Arc::new(AllValid)),
        signer,
        leaf,
        registrar,
        card,
    }
}

impl Bank {
    fn access(&self, attestation: Option<String>) -> VerifierAccess {
        let access = VerifierAccess::x509_san_dns(
            Arc::clone(&self.signer),
            vec![self.leaf.clone()],
            "bank.example",
        )
        .unwrap();
        match attestation {
            Some(a) => access.with_registration(a),
            None => access,
        }
    }

    fn request(&self, access: &VerifierAccess, query: &DcqlQuery) -> OnlineRequest {
        self.verifier
            .request_online(
                access,
                query,
                ResponseMode::DirectPostJwt,
                RESPONSE_URI,
                false,
                now(),
            )
            .unwrap()
    }
}

#[test]
fn an_authenticated_registered_verifier_gets_the_number_in_both_formats() {
    let b = bank();
    let attestation = registration(&b.registrar, &hash_id(&b.leaf), &["registration_number"]);
    let access = b.access(Some(attestation));
    for format in [Format::SdJwtVc, Format::Mdoc] {
        let query = full().dcql_query(CardType::Resident, format);
        let mut online = b.request(&access, &query);
        let answer = b
            .wallet
            .answer_online(online.request_object.as_deref().unwrap(), None, None, now())
            .unwrap();
        b.verifier
            .complete_online(&mut online, answer.body.as_bytes(), now())
            .unwrap();
        let seen = online.result(None).unwrap();
        let claims = seen[0].1.catalogue_claims();
        let number = claims
            .iter()
            .find(|(c, _)| *c == ClaimId::RegistrationNumber)
            .and_then(|(_, v)| v.as_str());
        assert_eq!(
            number,
            Some(b.card.registration_number().expose().as_str()),
            "{format:?}"
        );
    }
}

#[test]
fn without_a_valid_attestation_the_number_is_withheld_or_refused_by_name() {
    let b = bank();
    let query = full().dcql_query(CardType::Resident, Format::SdJwtVc);
    let answer = |access: &VerifierAccess| {
        let online = b.request(access, &query);
        b.wallet
            .answer_online(online.request_object.as_deref().unwrap(), None, None, now())
            .unwrap_err()
            .code()
    };
    // No attestation at all: withheld, and the query cannot be answered without it.
    assert_eq!(answer(&b.access(None)), "Withheld");
    // Signed by a registrar the wallet does not trust.
    let (_, stranger) = registrar();
    assert_eq!(
        answer(&b.access(Some(registration(
            &stranger,
            &hash_id(&b.leaf),
            &["registration_number"]
        )))),
        "Registration.BadSignature",
        "same iss and kid, another key"
    );
    let forged = kmid::registration::RegistrationAttestation {
        registrar: "https://someone-else.example".into(),
        verifier: hash_id(&b.leaf),
        claims: vec!["registration_number".into()],
        legal_basis: "none".into(),
        issued_at: now(),
        expires: now() + time::Duration::days(1),
    }
    .sign(&stranger, "r1")
    .unwrap();
    assert_eq!(
        answer(&b.access(Some(forged))),
        "Registration.UnknownRegistrar"
    );
    // Another verifier's attestation, one for another claim, and an expired one.
    assert_eq!(
        answer(&b.access(Some(registration(
            &b.registrar,
            "x509_san_dns:other-bank.example",
            &["registration_number"]
        )))),
        "Registration.OtherVerifier"
    );
    assert_eq!(
        answer(&b.access(Some(registration(
            &b.registrar,
            &hash_id(&b.leaf),
            &["portrait"]
        )))),
        "Registration.OtherClaim"
    );
    let expired = kmid::registration::RegistrationAttestation {
        registrar: "https://registrar.example".into(),
        verifier: hash_id(&b.leaf),
        claims: vec!["registration_number".into()],
        legal_basis: "Act on Real Name Financial Transactions and Confidentiality, Art. 3".into(),
        issued_at: now() - time::Duration::days(400),
        expires: now() - time::Duration::days(35),
    }
    .sign(&b.registrar, "r1")
    .unwrap();
    assert_eq!(answer(&b.access(Some(expired))), "Registration.Expired");
    // An attestation naming the request's DNS Client Identifier: attestations travel in
    // public and another certificate could carry the name, so it must name the certificate.
    assert_eq!(
        answer(&b.access(Some(registration(
            &b.registrar,
            "x509_san_dns:bank.example",
            &["registration_number"],
        )))),
        "Registration.OtherVerifier"
    );
    // Guessing the number with `values`: the answer is the same whether the guess is right
    // or wrong, so an unregistered verifier learns nothing from it.
    for guess in [
        b.card.registration_number().expose(),
        "000000-0000000".into(),
    ] {
        let guessing = DcqlQuery::from_json(
            serde_json::json!({ "credentials": [{
                "id": "card",
                "format": "dc+sd-jwt",
                "meta": { "vct_values": ["kr.go.mois.rrc.1"] },
                "claims": [{ "path": ["registration_number"], "values": [guess] }],
            }] })
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        let request = OpenId4VpRequest::new("x509_san_dns:bank.example", "n-g", RESPONSE_URI);
        assert_eq!(
            b.wallet
                .answer_dcql(&guessing, &request, now())
                .unwrap_err()
                .code(),
            "Withheld"
        );
    }
    // A registered, authenticated verifier asking for an answer in the clear (direct_post):
    // the number never travels unencrypted.
    let clear = b
        .verifier
        .request_online(
            &b.access(Some(registration(
                &b.registrar,
                &hash_id(&b.leaf),
                &["registration_number"],
            ))),
            &query,
            ResponseMode::DirectPost,
            RESPONSE_URI,
            false,
            now(),
        )
        .unwrap();
    assert_eq!(
        b.wallet
            .answer_online(clear.request_object.as_deref().unwrap(), None, None, now())
            .unwrap_err()
            .code(),
        "Withheld"
    );
    // A valid attestation, but the request is not authenticated (parameters, not a signed
    // Request Object): never released.
    let request = OpenId4VpRequest::new("x509_san_dns:bank.example", "n-1", RESPONSE_URI);
    assert_eq!(
        b.wallet
            .answer_dcql(&query, &request, now())
            .unwrap_err()
            .code(),
        "Withheld"
    );
    assert_eq!(
        b.wallet
            .present_sd_jwt(
                &full().sd_jwt_request(CardType::Resident, "n", "https://bank.example"),
                now()
            )
            .unwrap_err()
            .code(),
        "Withheld"
    );
}

#[test]
fn the_dcql_rules_decide_when_the_number_is_withheld() {
    let b = bank();
    // The number, or else the name: without an attestation the wallet answers the second
    // option (OpenID4VP 1.0 §6.4.1 claim sets).
    let query = DcqlQuery::from_json(
        serde_json::json!({ "credentials": [{
            "id": "card",
            "format": "dc+sd-jwt",
            "meta": { "vct_values": ["kr.go.mois.rrc.1"] },
            "claims": [
                { "id": "rrn", "path": ["registration_number"] },
                { "id": "name", "path": ["family_name"] },
            ],
            "claim_sets": [["rrn"], ["name"]],
        }] })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let mut online = b.request(&b.access(None), &query);
    let answer = b
        .wallet
        .answer_online(online.request_object.as_deref().unwrap(), None, None, now())
        .unwrap();
    b.verifier
        .complete_online(&mut online, answer.body.as_bytes(), now())
        .unwrap();
    let seen = online.result(None).unwrap();
    let claims: Vec<ClaimId> = seen[0]
        .1
        .catalogue_claims()
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    assert_eq!(claims, [ClaimId::FamilyName]);
}

#[test]
fn in_proximity_the_reader_authenticates_and_carries_the_attestation() {
    use kmid::status::registry::{MemoryStore, RegistryConfig, StatusRegistry};
    use kmid_testkit::{REFERENCE_TIME as AT, Rfc6979Signer, SeededRandom};
    // Everything at the test PKI's reference time, when its reader certificate is valid.
    let pki = TestPki::new();
    let ipki = pki.issuer(Authority::Mois);
    let keys = kmid::AuthorityKeys {
        authority: IssuingAuthority::Mois,
        iaca: ipki.iaca.clone(),
        document_signer: ipki.ds.clone(),
        signer: Arc::new(Rfc6979Signer::for_test_key("mois-ds")),
    };
    let random = Arc::new(SeededRandom::new(b"registration"));
    let issuer = kmid::Issuer::new(
        keys,
        StatusRegistry::new(
            MemoryStore::new(),
            RegistryConfig::new("https://status.kmid.invalid/mois/lists"),
            random.clone(),
        ),
        kmid::CardKeySecret::from_bytes([2; 32]),
        random,
    );
    let (registrars, registrar) = registrar();
    let card = Card::from(samples::resident());
    let mut wallet = Wallet::new(
        PrivateKey::generate(Curve::P256).unwrap(),
        pki.trust_store(),
    )
    .trust_readers(pki.reader_trust_store())
    .with_registrars(registrars);
    let issued = issuer
        .issue(&card, wallet.device_key(), Formats::Mdoc, AT)
        .unwrap();
    wallet.store_issued(issued, AT).unwrap();
    let verifier = Verifier::new(pki.trust_store(), Arc::new(AllValid));
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    let attest = |verifier_id: &str| {
        kmid::registration::RegistrationAttestation {
            registrar: "https://registrar.example".into(),
            verifier: verifier_id.into(),
            claims: vec!["registration_number".into()],
            legal_basis: "Act on Real Name Financial Transactions and Confidentiality, Art. 3"
                .into(),
            issued_at: AT - time::Duration::days(1),
            expires: AT + time::Duration::days(30),
        }
        .sign(&registrar, "r1")
        .unwrap()
    };
    let reader_id = ClientId::x509_hash(CryptoProvider::get_default(), &pki.reader)
        .unwrap()
        .to_string();
    let chain = [pki.reader.clone()];
    let registered = full()
        .mdoc_request_registered(
            CardType::Resident,
            &transcript,
            &pki.reader_signer,
            &chain,
            &attest(&reader_id),
        )
        .unwrap();
    let response = wallet.respond_mdoc(&registered, &transcript, AT).unwrap();
    let seen = verifier
        .verify_mdoc(&registered, &response.to_bytes(), &transcript, AT)
        .unwrap();
    assert_eq!(
        seen[0]
            .claim(ClaimId::RegistrationNumber)
            .and_then(|v| v.as_str()),
        Some(card.registration_number().expose().as_str())
    );
    // Unsigned, or signed without an attestation: the number is withheld (reported as not
    // returned), and a verifier that asked for it refuses the answer.
    let signed = full()
        .mdoc_request_signed(CardType::Resident, &transcript, &pki.reader_signer, &chain)
        .unwrap();
    for request in [full().mdoc_request(CardType::Resident), signed] {
        let response = wallet.respond_mdoc(&request, &transcript, AT).unwrap();
        assert_eq!(
            verifier
                .verify_mdoc(&request, &response.to_bytes(), &transcript, AT)
                .unwrap_err()
                .code(),
            "Mdoc.NotReturned"
        );
    }
    // An attestation for another reader: refused by name.
    let other = full()
        .mdoc_request_registered(
            CardType::Resident,
            &transcript,
            &pki.reader_signer,
            &chain,
            &attest("x509_hash:another-reader"),
        )
        .unwrap();
    assert_eq!(
        wallet
            .respond_mdoc(&other, &transcript, AT)
            .unwrap_err()
            .code(),
        "Registration.OtherVerifier"
    );
}
