//! Zero-knowledge age checks over OpenID4VP (issue 23): an `mso_mdoc_zk` Credential Query
//! (`Template::AgeCheckZk`) answered by the wallet with a Longfellow proof in a DeviceResponse
//! `zkDocuments` entry, as Google Wallet and multipaz answer it, over a signed request with an
//! encrypted `direct_post.jwt` response and over the Digital Credentials API; and the
//! refusals: a proof made for another transaction, a verifier without circuits, a wallet
//! without circuits, a zero-knowledge answer to a plain query, a query without
//! `zk_system_type`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, OnceLock};

use kmid::crypto::{Curve, PrivateKey};
use kmid::oid4vc::request::ResponseMode;
use kmid::schema::catalogue::ClaimId;
use kmid::schema::{Card, CardType};
use kmid::zk::{ZkCircuits, ZkPolicy};
use kmid::{Format, Formats, IssuingAuthority, Template, Verifier, VerifierAccess, Wallet};
use kmid_testkit::samples;
use serde_json::{Value, json};

mod common;
use common::{AllValid, access_pki, issuer, now};

const RESPONSE_URI: &str = "https://bank.example/response";
const ORIGIN: &str = "https://bank.example";

/// One set of circuits for the whole test binary: each loads once (about half a second).
fn circuits() -> Arc<ZkCircuits> {
    static CIRCUITS: OnceLock<Arc<ZkCircuits>> = OnceLock::new();
    Arc::clone(CIRCUITS.get_or_init(|| Arc::new(ZkCircuits::age_check())))
}

struct World {
    wallet: Wallet,
    plain_wallet: Wallet,
    verifier: Verifier,
    plain_verifier: Verifier,
    access: VerifierAccess,
}

fn world() -> World {
    let (verifier_trust, signer, leaf) = access_pki();
    let mois = issuer(IssuingAuthority::Mois);
    let trust = kmid::trust_store([mois.keys()]).unwrap();
    // One card, one phone: the wallet without circuits holds a card of another issuer.
    let other = issuer(IssuingAuthority::Mois);
    let holder = |issuer: &kmid::Issuer<kmid::status::registry::MemoryStore>, zk: bool| {
        let trust = kmid::trust_store([issuer.keys()]).unwrap();
        let mut wallet = Wallet::new(PrivateKey::generate(Curve::P256).unwrap(), trust)
            .with_verifier_trust(verifier_trust.clone());
        if zk {
            wallet = wallet.with_zk_circuits(circuits());
        }
        let issued = issuer
            .issue(
                &Card::from(samples::resident()),
                wallet.device_key(),
                Formats::Both,
                now(),
            )
            .unwrap();
        wallet.store_issued(issued, now()).unwrap();
        wallet
    };
    World {
        wallet: holder(&mois, true),
        plain_wallet: holder(&other, false),
        verifier: Verifier::new(trust.clone(), Arc::new(AllValid))
            .with_zk_circuits(circuits(), ZkPolicy::default()),
        plain_verifier: Verifier::new(trust, Arc::new(AllValid)),
        access: VerifierAccess::x509_san_dns(signer, vec![leaf], "bank.example").unwrap(),
    }
}

/// `verifier`'s request for `query`, signed with `access`, answered in `mode` to
/// [`RESPONSE_URI`].
fn ask(
    access: &VerifierAccess,
    verifier: &Verifier,
    query: &kmid::DcqlQuery,
    mode: ResponseMode,
) -> Result<kmid::OnlineRequest, kmid::KmidError> {
    verifier.request_online(access, query, mode, RESPONSE_URI, false, now())
}

fn query() -> kmid::DcqlQuery {
    Template::AgeCheckZk.dcql_query(CardType::Resident, Format::Mdoc)
}

/// The one presentation of a VP Token in a `direct_post.jwt` answer is a base64url
/// DeviceResponse with a zkDocument and no document; `age_over_19` verified, nothing else.
#[test]
fn an_age_check_proven_in_zero_knowledge_over_openid4vp() {
    let w = world();
    let mut online = ask(
        &w.access,
        &w.verifier,
        &query(),
        ResponseMode::DirectPostJwt,
    )
    .unwrap();
    let answer = w
        .wallet
        .answer_online(online.request_object.as_deref().unwrap(), None, None, now())
        .unwrap();
    w.verifier
        .complete_online(&mut online, answer.body.as_bytes(), now())
        .unwrap();
    let seen = online.result(None).unwrap();
    let [(id, credential)] = seen else {
        panic!("one presentation: {seen:?}")
    };
    assert_eq!(id, "card");
    let json = credential.to_json();
    assert_eq!(json["format"], "mso_mdoc_zk", "{json}");
    assert_eq!(json["card"], "kr.go.mois.rrc.1");
    assert_eq!(json["status"], Value::Null, "no status is known: {json}");
    assert_eq!(
        json["zk_system_id"].as_str().map(str::len),
        Some(64),
        "{json}"
    );
    assert_eq!(json["claims"], json!({"age_over_19": true}), "{json}");
    let presented = credential.presentation().unwrap();
    assert_eq!(presented.claims, vec![(ClaimId::AgeOver19, json!(true))]);
    assert_eq!(credential.issuer.as_deref().map(str::is_empty), Some(false));
}

/// Over the DC API, signed with `dc_api.jwt` and unsigned with `dc_api`: the SessionTranscript
/// is the DC API handover over the Origin, the nonce and the key's thumbprint, and the proof
/// is made for it. An answer in the clear replayed to another transaction of the same Origin
/// is refused by the proof.
#[test]
fn an_age_check_proven_in_zero_knowledge_over_the_dc_api() {
    let w = world();
    let answer = |p: &kmid::DcApiPresentation| {
        w.wallet
            .answer_dc_api(p.protocol.as_str(), &p.data, ORIGIN, now())
            .unwrap()
    };
    let mut signed = w
        .verifier
        .request_dc_api(&[&w.access], &query(), true, ORIGIN, now())
        .unwrap();
    let data = answer(&signed);
    w.verifier
        .complete_dc_api(&mut signed, &data, now())
        .unwrap();
    let seen = signed.result().unwrap();
    assert_eq!(seen[0].1.to_json()["format"], "mso_mdoc_zk");
    assert_eq!(
        seen[0].1.catalogue_claims(),
        vec![(ClaimId::AgeOver19, json!(true))]
    );

    let mut clear = w
        .verifier
        .request_dc_api(&[], &query(), false, ORIGIN, now())
        .unwrap();
    let mut other = w
        .verifier
        .request_dc_api(&[], &query(), false, ORIGIN, now())
        .unwrap();
    let data = answer(&clear);
    w.verifier
        .complete_dc_api(&mut other, &data, now())
        .unwrap();
    let err = other.result().unwrap_err();
    assert_eq!(err.code(), "Zk.Refused.MerkleRoot", "{err:?}");
    w.verifier
        .complete_dc_api(&mut clear, &data, now())
        .unwrap();
    assert_eq!(
        clear.result().unwrap()[0].1.to_json()["format"],
        "mso_mdoc_zk"
    );
}

/// Under a presentation policy of one presentation per credential, a zero-knowledge answer
/// neither needs an unpresented credential nor uses one up (nothing in it links two
/// presentations); a plain answer does.
#[test]
fn zero_knowledge_answers_are_not_limited_by_the_presentation_policy() {
    let w = world();
    let wallet = w
        .wallet
        .with_presentation_policy(kmid::PresentationPolicy::Once);
    let request = |query: &kmid::DcqlQuery| {
        ask(&w.access, &w.verifier, query, ResponseMode::DirectPostJwt).unwrap()
    };
    let plain = Template::AgeCheck.dcql_query(CardType::Resident, Format::Mdoc);
    // The plain answer uses the one mdoc up; the proof is still made; a plain one is not.
    wallet
        .answer_online(
            request(&plain).request_object.as_deref().unwrap(),
            None,
            None,
            now(),
        )
        .unwrap();
    let mut zk = request(&query());
    let answer = wallet
        .answer_online(zk.request_object.as_deref().unwrap(), None, None, now())
        .unwrap();
    w.verifier
        .complete_online(&mut zk, answer.body.as_bytes(), now())
        .unwrap();
    assert_eq!(
        zk.result(None).unwrap()[0].1.to_json()["format"],
        "mso_mdoc_zk"
    );
    let err = wallet
        .answer_online(
            request(&plain).request_object.as_deref().unwrap(),
            None,
            None,
            now(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "NotHeld", "{err:?}");
}

/// A proof relayed from one transaction to another (same verifier, same query) is over the
/// first transaction's SessionTranscript: refused by the proof itself.
#[test]
fn a_proof_for_another_transaction_is_refused() {
    let w = world();
    let request = || ask(&w.access, &w.verifier, &query(), ResponseMode::DirectPost).unwrap();
    let first = request();
    let answer = w
        .wallet
        .answer_online(first.request_object.as_deref().unwrap(), None, None, now())
        .unwrap();
    // The clear body's vp_token, replayed as the answer to a second transaction: its state
    // is the second's, its proof the first's.
    let mut second = request();
    let body = carried_over(&answer.body, second.state());
    w.verifier
        .complete_online(&mut second, body.as_bytes(), now())
        .unwrap();
    let err = second.result(None).unwrap_err();
    assert_eq!(err.code(), "Zk.Refused.MerkleRoot", "{err:?}");
}

/// What is refused before any proof: a verifier holding no circuits, a wallet holding none
/// (it has nothing to answer with), a zero-knowledge answer to a plain `mso_mdoc` query, and
/// an `mso_mdoc_zk` query without `zk_system_type`.
#[test]
fn what_a_zero_knowledge_query_needs() {
    let w = world();
    let signed = |verifier: &Verifier, query: &kmid::DcqlQuery| {
        ask(&w.access, verifier, query, ResponseMode::DirectPostJwt).unwrap()
    };
    // A verifier without circuits asks (the query is only JSON) but cannot verify.
    let mut online = signed(&w.plain_verifier, &query());
    let answer = w
        .wallet
        .answer_online(online.request_object.as_deref().unwrap(), None, None, now())
        .unwrap();
    w.plain_verifier
        .complete_online(&mut online, answer.body.as_bytes(), now())
        .unwrap();
    let err = online.result(None).unwrap_err();
    assert_eq!(err.code(), "VpTokenMismatch", "{err:?}");
    assert!(err.to_string().contains("no circuits"), "{err}");

    // A wallet without circuits holds nothing that answers the query.
    let online = signed(&w.verifier, &query());
    let err = w
        .plain_wallet
        .answer_online(online.request_object.as_deref().unwrap(), None, None, now())
        .unwrap_err();
    assert_eq!(err.code(), "NotHeld", "{err:?}");

    // The zero-knowledge answer sent for a plain mso_mdoc query (in the clear, so that it
    // can be carried over): a DeviceResponse without the document asked for.
    let clear = |query: &kmid::DcqlQuery| {
        ask(&w.access, &w.verifier, query, ResponseMode::DirectPost).unwrap()
    };
    let zk = clear(&query());
    let zk_answer = w
        .wallet
        .answer_online(zk.request_object.as_deref().unwrap(), None, None, now())
        .unwrap();
    let mut plain = clear(&Template::AgeCheck.dcql_query(CardType::Resident, Format::Mdoc));
    let body = carried_over(&zk_answer.body, plain.state());
    w.verifier
        .complete_online(&mut plain, body.as_bytes(), now())
        .unwrap();
    let err = plain.result(None).unwrap_err();
    assert_eq!(err.code(), "Mdoc.NoDocuments", "{err:?}");

    // mso_mdoc_zk without zk_system_type is not a valid query.
    let mut bad = query();
    bad.credentials[0].meta.zk_system_type = None;
    let err = ask(&w.access, &w.verifier, &bad, ResponseMode::DirectPostJwt).unwrap_err();
    assert_eq!(err.code(), "InvalidDcql", "{err:?}");
}

/// A clear `direct_post` body's `vp_token` with another transaction's `state`.
fn carried_over(body: &str, state: &str) -> String {
    let vp_token = form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "vp_token")
        .unwrap()
        .1
        .into_owned();
    form_urlencoded::Serializer::new(String::new())
        .append_pair("vp_token", &vp_token)
        .append_pair("state", state)
        .finish()
}
