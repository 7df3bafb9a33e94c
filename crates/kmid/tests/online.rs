//! OpenID4VP online as HAIP 1.0 §5 profiles it, through the facade: a relying party's signed
//! request (x509_hash and x509_san_dns), by value and by reference with a `wallet_nonce`, the
//! wallet's answer in the clear and encrypted, and the verifier's transaction, for every
//! response mode × format × card; then the cross-transaction attacks, each with its code.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use kmid::crypto::x509::TrustStore;
use kmid::crypto::{CryptoProvider, Curve, PrivateKey};
use kmid::oid4vc::request::{RequestUrl, ResponseMode};
use kmid::schema::catalogue::ClaimId;
use kmid::schema::{Card, CardType};
use kmid::{Format, Formats, IssuingAuthority, Template, Verifier, VerifierAccess, Wallet};
use kmid_testkit::samples;
use time::Duration;

mod common;
use common::{AllValid, access_pki, issuer, now};

const RESPONSE_URI: &str = "https://bank.example/openid4vp/response";

fn sample(card: CardType) -> Card {
    match card {
        CardType::Resident => Card::from(samples::resident()),
        CardType::Foreigner => Card::from(samples::foreigner()),
        CardType::OverseasNational => Card::from(samples::overseas_national()),
    }
}

#[test]
fn every_response_mode_format_and_card_round_trips() {
    let (verifier_trust, signer, leaf) = access_pki();
    let provider = CryptoProvider::get_default();
    let accesses = [
        VerifierAccess::x509_hash(provider, Arc::clone(&signer), vec![leaf.clone()]).unwrap(),
        VerifierAccess::x509_san_dns(Arc::clone(&signer), vec![leaf.clone()], "bank.example")
            .unwrap(),
    ];
    for (card_type, authority) in [
        (CardType::Resident, IssuingAuthority::Mois),
        (CardType::Foreigner, IssuingAuthority::Moj),
        (CardType::OverseasNational, IssuingAuthority::Oka),
    ] {
        let issuer = issuer(authority);
        let trust = kmid::trust_store([issuer.keys()]).unwrap();
        let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), trust.clone())
            .with_verifier_trust(verifier_trust.clone());
        let issued = issuer
            .issue(
                &sample(card_type),
                wallet.device_key(),
                Formats::Both,
                now(),
            )
            .unwrap();
        wallet.store_issued(issued, now()).unwrap();
        let verifier = Verifier::new(trust, Arc::new(AllValid));
        for format in [Format::Mdoc, Format::SdJwtVc] {
            let query = Template::AgeCheck.dcql_query(card_type, format);
            for mode in [ResponseMode::DirectPost, ResponseMode::DirectPostJwt] {
                for (i, access) in accesses.iter().enumerate() {
                    let same_device = i == 0;
                    let mut online = verifier
                        .request_online(access, &query, mode, RESPONSE_URI, same_device, now())
                        .unwrap();
                    // By value through the URL, or by reference with the wallet's nonce.
                    let (object, url_client_id, wallet_nonce) = if same_device {
                        let url = online.url_by_value("haip-vp://").unwrap();
                        let RequestUrl::ByValue { client_id, request } =
                            RequestUrl::parse(&url).unwrap()
                        else {
                            panic!("by value")
                        };
                        (request, client_id, None)
                    } else {
                        let url = online.url_by_reference(
                            "openid4vp://",
                            "https://bank.example/request/1",
                            true,
                        );
                        let parsed = RequestUrl::parse(&url).unwrap();
                        let object = verifier
                            .request_object_for_wallet(access, &online, "wn-1")
                            .unwrap();
                        (object, parsed.client_id().to_owned(), Some("wn-1"))
                    };
                    let answer = wallet
                        .answer_online(&object, Some(&url_client_id), wallet_nonce, now())
                        .unwrap();
                    assert_eq!(answer.response_uri, RESPONSE_URI);
                    assert_eq!(
                        answer.body.starts_with("response="),
                        mode == ResponseMode::DirectPostJwt,
                        "{mode:?}"
                    );
                    let code = verifier
                        .complete_online(&mut online, answer.body.as_bytes(), now())
                        .unwrap();
                    assert_eq!(code.is_some(), same_device);
                    let seen = online.result(code.as_deref()).unwrap();
                    assert_eq!(seen.len(), 1, "{card_type:?} {format:?} {mode:?}");
                    let (id, credential) = &seen[0];
                    assert_eq!(id, "card");
                    assert_eq!(credential.card_type, Some(card_type));
                    assert_eq!(credential.format, format);
                    let claims = credential.catalogue_claims();
                    assert!(
                        claims.iter().any(|(c, _)| matches!(
                            c,
                            ClaimId::AgeOver19 | ClaimId::AgeOver14 | ClaimId::AgeOver18
                        )),
                        "{card_type:?} {format:?} {mode:?}: {claims:?}"
                    );
                }
            }
        }
    }
}

/// One issuer, one wallet, one verifier and its access, for the attacks.
struct World {
    wallet: Wallet,
    verifier: Verifier,
    access: VerifierAccess,
}

impl World {
    /// A signed `direct_post.jwt` request for `query`.
    fn age_request(&self, query: &kmid::DcqlQuery, same_device: bool) -> kmid::OnlineRequest {
        self.verifier
            .request_online(
                &self.access,
                query,
                ResponseMode::DirectPostJwt,
                RESPONSE_URI,
                same_device,
                now(),
            )
            .unwrap()
    }
}

fn world() -> World {
    let (verifier_trust, signer, leaf) = access_pki();
    let issuer = issuer(IssuingAuthority::Mois);
    let trust = kmid::trust_store([issuer.keys()]).unwrap();
    let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), trust.clone())
        .with_verifier_trust(verifier_trust);
    let issued = issuer
        .issue(
            &sample(CardType::Resident),
            wallet.device_key(),
            Formats::Both,
            now(),
        )
        .unwrap();
    wallet.store_issued(issued, now()).unwrap();
    World {
        wallet,
        verifier: Verifier::new(trust, Arc::new(AllValid)),
        access: VerifierAccess::x509_san_dns(signer, vec![leaf], "bank.example").unwrap(),
    }
}

#[test]
fn responses_are_bound_to_their_own_transaction() {
    let w = world();
    for format in [Format::Mdoc, Format::SdJwtVc] {
        let query = Template::AgeCheck.dcql_query(CardType::Resident, format);
        let request = |mode| {
            w.verifier
                .request_online(&w.access, &query, mode, RESPONSE_URI, true, now())
                .unwrap()
        };
        let answer = |online: &kmid::OnlineRequest| {
            w.wallet
                .answer_online(online.request_object.as_deref().unwrap(), None, None, now())
                .unwrap()
        };
        // A response made for another transaction (substitution): another key.
        let mut first = request(ResponseMode::DirectPostJwt);
        let second = request(ResponseMode::DirectPostJwt);
        let for_second = answer(&second);
        assert_eq!(
            w.verifier
                .complete_online(&mut first, for_second.body.as_bytes(), now())
                .unwrap_err()
                .code(),
            "Oid4vp.Jwe.KeyId"
        );
        // A downgrade: the answer to a plain request posted to an encrypted transaction.
        let plain = request(ResponseMode::DirectPost);
        let in_clear = answer(&plain);
        assert_eq!(
            w.verifier
                .complete_online(&mut first, in_clear.body.as_bytes(), now())
                .unwrap_err()
                .code(),
            "Oid4vp.ResponseMode"
        );
        // Between two plain transactions, another state.
        let mut other_plain = request(ResponseMode::DirectPost);
        assert_eq!(
            w.verifier
                .complete_online(&mut other_plain, in_clear.body.as_bytes(), now())
                .unwrap_err()
                .code(),
            "Oid4vp.StateMismatch"
        );
        // The right answer is still taken, once; the result needs the response code.
        let right = answer(&first);
        let code = w
            .verifier
            .complete_online(&mut first, right.body.as_bytes(), now())
            .unwrap()
            .unwrap();
        assert_eq!(
            w.verifier
                .complete_online(&mut first, right.body.as_bytes(), now())
                .unwrap_err()
                .code(),
            "Oid4vp.Replayed"
        );
        assert_eq!(
            first.result(None).unwrap_err().code(),
            "Oid4vp.ResponseCode"
        );
        assert_eq!(first.result(Some(&code)).unwrap().len(), 1);
    }
}

#[test]
fn the_wallet_refuses_what_it_cannot_authenticate() {
    let w = world();
    let query = Template::AgeCheck.dcql_query(CardType::Resident, Format::SdJwtVc);
    let online = w.age_request(&query, true);
    // A wallet that trusts no verifier access root.
    let issuer_trust = TrustStore::new();
    let stranger = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), issuer_trust);
    assert_eq!(
        stranger
            .answer_online(online.request_object.as_deref().unwrap(), None, None, now())
            .unwrap_err()
            .code(),
        "Oid4vp.Certificate.Certificate.UntrustedRoot"
    );
    // Another URL client_id, a wallet_nonce the object does not carry, an expired object.
    assert_eq!(
        w.wallet
            .answer_online(
                online.request_object.as_deref().unwrap(),
                Some("x509_san_dns:evil.example"),
                None,
                now()
            )
            .unwrap_err()
            .code(),
        "Oid4vp.ClientIdMismatch"
    );
    assert_eq!(
        w.wallet
            .answer_online(
                online.request_object.as_deref().unwrap(),
                None,
                Some("wn-mine"),
                now()
            )
            .unwrap_err()
            .code(),
        "Oid4vp.WalletNonce"
    );
    assert_eq!(
        w.wallet
            .answer_online(
                online.request_object.as_deref().unwrap(),
                None,
                None,
                now() + Duration::minutes(6)
            )
            .unwrap_err()
            .code(),
        "Oid4vp.Expired"
    );
}

/// A pending request kept across processes (the CLI's transaction file): exported, imported,
/// and completed; an answered one cannot be exported again.
/// A request made to be signed when fetched carries no Request Object and no URL by value,
/// saves and reads back without one, and is answered with the object `sign_for_fetch` signs.
#[test]
fn a_request_signed_when_fetched() {
    let w = world();
    let query = Template::AgeCheck.dcql_query(CardType::Resident, Format::SdJwtVc);
    let online = w
        .verifier
        .request_online_by_reference(
            &w.access,
            &query,
            ResponseMode::DirectPostJwt,
            RESPONSE_URI,
            &kmid::RequestOptions::default(),
            now(),
        )
        .unwrap();
    assert_eq!(online.request_object, None);
    assert_eq!(online.url_by_value("haip-vp://"), None);
    let text = online.export_json().unwrap().get().to_owned();
    assert!(
        !text.contains("request_object"),
        "a Request Object is saved"
    );
    let (authorization, object) = kmid::OnlineRequest::import_request_json(&text).unwrap();
    assert_eq!((&authorization, object), (&online.authorization, None));
    let mut restored = kmid::OnlineRequest::import_json(&text).unwrap();
    assert_eq!(restored.request_object, None);
    let signed = w
        .verifier
        .sign_for_fetch(&w.access, &authorization, None)
        .unwrap();
    let answer = w.wallet.answer_online(&signed, None, None, now()).unwrap();
    w.verifier
        .complete_online(&mut restored, answer.body.as_bytes(), now())
        .unwrap();
    assert_eq!(restored.result(None).unwrap().len(), 1);
    // A request its wallets would refuse is refused when it is made, as a signed one is:
    // here a response_uri off the host of the x509_san_dns Client Identifier.
    for signed in [false, true] {
        let options = kmid::RequestOptions::default();
        let elsewhere = "https://elsewhere.example/response";
        let make = if signed {
            Verifier::request_online_with
        } else {
            Verifier::request_online_by_reference
        };
        let made = make(
            &w.verifier,
            &w.access,
            &query,
            ResponseMode::DirectPostJwt,
            elsewhere,
            &options,
            now(),
        );
        assert_eq!(
            made.unwrap_err().code(),
            "Oid4vp.SanMismatch",
            "signed: {signed}"
        );
    }
}

#[test]
fn a_pending_request_survives_export_and_import() {
    let w = world();
    for mode in [ResponseMode::DirectPost, ResponseMode::DirectPostJwt] {
        let query = Template::AgeCheck.dcql_query(CardType::Resident, Format::Mdoc);
        let online = w
            .verifier
            .request_online(&w.access, &query, mode, RESPONSE_URI, false, now())
            .unwrap();
        let saved = online.export().unwrap();
        // The text form is the tree's text, member for member, and reads back the same.
        let text = online.export_json().unwrap().get().to_owned();
        assert_eq!(text, saved.to_string());
        let (authorization, object) = kmid::OnlineRequest::import_request_json(&text).unwrap();
        assert_eq!(authorization, online.authorization);
        assert_eq!(object, online.request_object);
        let answer = w
            .wallet
            .answer_online(online.request_object.as_deref().unwrap(), None, None, now())
            .unwrap();
        for mut restored in [
            kmid::OnlineRequest::import(&saved).unwrap(),
            kmid::OnlineRequest::import_json(&text).unwrap(),
        ] {
            w.verifier
                .complete_online(&mut restored, answer.body.as_bytes(), now())
                .unwrap();
            assert_eq!(restored.result(None).unwrap().len(), 1);
            assert_eq!(restored.export().unwrap_err().code(), "Oid4vp.Replayed");
        }
    }
    // Not a saved request, and saved requests with a member missing or of the wrong type:
    // each refused, naming the member.
    assert_eq!(
        kmid::OnlineRequest::import(&serde_json::json!({ "kind": "dc_api" }))
            .unwrap_err()
            .code(),
        "Oid4vp.Malformed"
    );
    let query = Template::AgeCheck.dcql_query(CardType::Resident, Format::Mdoc);
    let saved = w.age_request(&query, false).export().unwrap();
    for (member, value, code, message) in [
        (
            "kind",
            serde_json::json!(7),
            "Oid4vp.Malformed",
            "saved request: kind",
        ),
        (
            "authorization",
            serde_json::json!("x"),
            "Oid4vp.Malformed",
            "saved request: authorization",
        ),
        (
            "request_object",
            serde_json::json!(7),
            "Oid4vp.Malformed",
            "saved request: request_object",
        ),
        // The transaction's own import names what it lacks.
        (
            "transaction",
            serde_json::json!([]),
            "Oid4vp.Missing",
            "no response_mode",
        ),
    ] {
        let mut broken = saved.clone();
        broken[member] = value;
        let e = kmid::OnlineRequest::import_json(&broken.to_string()).unwrap_err();
        assert_eq!(e.code(), code, "{member}: {e}");
        assert!(e.to_string().contains(message), "{member}: {e}");
    }
    for text in [
        "",
        "[]",
        "{\"kind\": \"openid4vp\"} x",
        "{\"kind\": \"openid4vp\", \"kind\": 1}",
    ] {
        let e = kmid::OnlineRequest::import_json(text).unwrap_err();
        assert_eq!(e.code(), "Oid4vp.Malformed", "{text}");
        assert!(
            e.to_string()
                .contains("saved request: not one JSON object of distinct members"),
            "{text}: {e}"
        );
    }
}

/// The `state` and the response key are in the public request: whoever saw it can post a
/// forged error or a junk response. The transaction stays open for the real answer (a few
/// times), reporting the failure meanwhile.
#[test]
fn forged_responses_do_not_lock_out_the_real_wallet() {
    let w = world();
    let query = Template::AgeCheck.dcql_query(CardType::Resident, Format::SdJwtVc);
    let mut online = w.age_request(&query, false);
    let forged = format!("error=access_denied&state={}", online.state());
    for _ in 0..kmid::oid4vc::response::MAX_FAILED_RESPONSES {
        w.verifier
            .complete_online(&mut online, forged.as_bytes(), now())
            .unwrap();
        assert_eq!(online.result(None).unwrap_err().code(), "WalletError");
    }
    let answer = w
        .wallet
        .answer_online(online.request_object.as_deref().unwrap(), None, None, now())
        .unwrap();
    w.verifier
        .complete_online(&mut online, answer.body.as_bytes(), now())
        .unwrap();
    assert_eq!(online.result(None).unwrap().len(), 1);
}

/// The verifier's `request_uri` endpoint as a fetcher: GET serves the Request Object as made;
/// POST reads the wallet's `wallet_nonce` and signs the request again with it (§5.10.1). A
/// `replay` fetcher serves an object made for another nonce.
struct Endpoint<'a> {
    world: &'a World,
    online: &'a kmid::OnlineRequest,
    replay: bool,
    seen_nonce: std::cell::RefCell<Option<String>>,
}

impl kmid::RequestObjectFetcher for Endpoint<'_> {
    fn get(&self, request_uri: &str) -> Result<Vec<u8>, String> {
        assert_eq!(request_uri, "https://bank.example/request/7");
        Ok(self.online.request_object.clone().unwrap().into_bytes())
    }

    fn post(&self, request_uri: &str, body: &str) -> Result<Vec<u8>, String> {
        assert_eq!(request_uri, "https://bank.example/request/7");
        let (nonce, _) = kmid::oid4vc::request::parse_request_uri_post(body.as_bytes())
            .map_err(|e| e.to_string())?;
        let nonce = nonce.ok_or("no wallet_nonce")?;
        self.seen_nonce.replace(Some(nonce.clone()));
        let signed_for = if self.replay {
            "an-earlier-nonce"
        } else {
            nonce.as_str()
        };
        self.world
            .verifier
            .request_object_for_wallet(&self.world.access, self.online, signed_for)
            .map(String::into_bytes)
            .map_err(|e| e.to_string())
    }
}

#[test]
fn a_wallet_fetches_requests_by_reference_through_its_fetcher() {
    let w = world();
    let query = Template::AgeCheck.dcql_query(CardType::Resident, Format::SdJwtVc);
    for post in [false, true] {
        let mut online = w.age_request(&query, false);
        let url = online.url_by_reference("openid4vp://", "https://bank.example/request/7", post);
        let endpoint = Endpoint {
            world: &w,
            online: &online,
            replay: false,
            seen_nonce: std::cell::RefCell::new(None),
        };
        let answer = w.wallet.answer_request_url(&url, &endpoint, now()).unwrap();
        // With POST the wallet sent a fresh 128-bit nonce.
        let nonce = endpoint.seen_nonce.borrow().clone();
        assert_eq!(nonce.is_some(), post);
        if let Some(n) = nonce {
            assert_eq!(kmid::crypto::jose::b64url_decode(&n).unwrap().len(), 16);
        }
        w.verifier
            .complete_online(&mut online, answer.body.as_bytes(), now())
            .unwrap();
        assert_eq!(online.result(None).unwrap().len(), 1);
    }
    // An object signed for another wallet_nonce (a replay) is refused; so is a failed fetch.
    let online = w.age_request(&query, false);
    let url = online.url_by_reference("openid4vp://", "https://bank.example/request/7", true);
    let replaying = Endpoint {
        world: &w,
        online: &online,
        replay: true,
        seen_nonce: std::cell::RefCell::new(None),
    };
    assert_eq!(
        w.wallet
            .answer_request_url(&url, &replaying, now())
            .unwrap_err()
            .code(),
        "Oid4vp.WalletNonce"
    );
    struct Down;
    impl kmid::RequestObjectFetcher for Down {
        fn get(&self, _: &str) -> Result<Vec<u8>, String> {
            Err("503".into())
        }
        fn post(&self, _: &str, _: &str) -> Result<Vec<u8>, String> {
            Err("503".into())
        }
    }
    assert_eq!(
        w.wallet
            .answer_request_url(&url, &Down, now())
            .unwrap_err()
            .code(),
        "Oid4vp.Malformed"
    );
    // By value, the fetcher is not used.
    let by_value = online.url_by_value("haip-vp://").unwrap();
    w.wallet
        .answer_request_url(&by_value, &Down, now())
        .unwrap();
}
