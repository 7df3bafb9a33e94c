//! Request Objects under HAIP 1.0 §5: a verifier signs with its access certificate under
//! `x509_hash` and `x509_san_dns`, the URL forms carry them by value and by reference, and a
//! wallet refuses, each with its own error, everything the issue lists: an untrusted or
//! self-signed certificate, the anchor inside `x5c`, a hash or SAN that is not the leaf's, an
//! altered or retyped object, another URL `client_id`, a `wallet_nonce` mismatch, `aud`,
//! expiry, and transaction data it does not support.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::sync::Arc;

use kmid_crypto::jose::{b64url, b64url_decode};
use kmid_crypto::x509::{CertificateKind, CertificateParams, TrustStore, issue_certificate};
use kmid_crypto::{CryptoProvider, Curve, PrivateKey, Signer, SystemRandom};
use kmid_oid4vc::Oid4vpError;
use kmid_oid4vc::jar::{
    RequestObjectSigner, WalletCheck, sign_request_object, verify_request_object,
};
use kmid_oid4vc::request::{
    AuthorizationRequest, ClientId, RequestUrl, ResponseMode, SELF_ISSUED_V2,
    parse_request_uri_post, request_uri_post_body,
};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

/// A verifier PKI: a root, and an access certificate for `bank.example` under it.
struct Pki {
    root: kmid_crypto::x509::Certificate,
    root_key: Arc<PrivateKey>,
    leaf: kmid_crypto::x509::Certificate,
    signer: Arc<dyn Signer>,
}

fn params(kind: CertificateKind, cn: &str, dns: &[&str]) -> CertificateParams {
    CertificateParams {
        kind,
        country: "KR".into(),
        organization: Some("Bank".into()),
        state_or_province: None,
        common_name: cn.into(),
        not_before: now() - Duration::days(1),
        not_after: now() + Duration::days(300),
        issuer_alt_name: None,
        crl_uri: None,
        dns_names: dns.iter().map(|d| (*d).to_owned()).collect(),
    }
}

fn pki() -> Pki {
    pki_named("Verifier access root")
}

fn pki_named(root_cn: &str) -> Pki {
    let root_key = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let root = issue_certificate(
        &params(CertificateKind::ReaderRoot, root_cn, &[]),
        root_key.public_key(),
        None,
        &*root_key,
        &SystemRandom,
    )
    .unwrap();
    let key = Arc::new(PrivateKey::generate(Curve::P256).unwrap());
    let leaf = issue_certificate(
        &params(
            CertificateKind::ReaderAuthentication,
            "bank.example",
            &["bank.example"],
        ),
        key.public_key(),
        Some(&root),
        &*root_key,
        &SystemRandom,
    )
    .unwrap();
    Pki {
        root,
        root_key,
        leaf,
        signer: key,
    }
}

fn trust(pki: &Pki) -> TrustStore {
    let mut store = TrustStore::new();
    store.add(pki.root.clone()).unwrap();
    store
}

fn request(client_id: &str, mode: ResponseMode) -> AuthorizationRequest {
    serde_json::from_value(json!({
        "client_id": client_id,
        "response_type": "vp_token",
        "response_mode": mode.as_str(),
        "response_uri": "https://bank.example/openid4vp/response",
        "nonce": "n-0S6_WzA2Mj-128bits",
        "state": "s-1",
        "dcql_query": { "credentials": [{ "id": "rrc", "format": "dc+sd-jwt",
            "meta": { "vct_values": ["kr.go.mois.rrc.1"] },
            "claims": [{ "path": ["age_over_19"] }] }] },
        "aud": SELF_ISSUED_V2,
        "iat": now().unix_timestamp(),
        "exp": (now() + Duration::minutes(5)).unix_timestamp(),
    }))
    .unwrap()
}

fn provider() -> &'static CryptoProvider {
    CryptoProvider::get_default()
}

fn hash_id(pki: &Pki) -> String {
    ClientId::x509_hash(provider(), &pki.leaf)
        .unwrap()
        .to_string()
}

#[test]
fn signed_requests_verify_under_both_prefixes_and_travel_in_urls() {
    let pki = pki();
    let trust = trust(&pki);
    for client_id in [hash_id(&pki), "x509_san_dns:bank.example".to_owned()] {
        let req = request(&client_id, ResponseMode::DirectPostJwt);
        let jws = sign_request_object(
            provider(),
            &req,
            &pki.signer,
            std::slice::from_ref(&pki.leaf),
        )
        .unwrap();
        // The header carries the type and the leaf, never the anchor.
        let header: Value =
            serde_json::from_slice(&b64url_decode(jws.split('.').next().unwrap()).unwrap())
                .unwrap();
        assert_eq!(header["typ"], "oauth-authz-req+jwt");
        assert_eq!(header["x5c"].as_array().unwrap().len(), 1);
        // By value and by reference, through the URL forms.
        let by_value = RequestUrl::ByValue {
            client_id: client_id.clone(),
            request: jws.clone(),
        }
        .to_url("openid4vp://");
        let parsed = RequestUrl::parse(&by_value).unwrap();
        let RequestUrl::ByValue {
            request: carried, ..
        } = &parsed
        else {
            panic!("by value: {parsed:?}")
        };
        let mut check = WalletCheck::new(&trust, now());
        check.url_client_id = Some(parsed.client_id());
        let seen = verify_request_object(carried, &check).unwrap();
        assert_eq!(seen.request, req);
        assert_eq!(seen.client.to_string(), client_id);
        assert_eq!(seen.certificate, pki.leaf);
        let by_reference = RequestUrl::ByReference {
            client_id: client_id.clone(),
            request_uri: "https://bank.example/request/abc".into(),
            post: true,
        }
        .to_url("haip-vp://");
        assert!(
            by_reference.starts_with("haip-vp://?client_id="),
            "{by_reference}"
        );
        assert_eq!(
            RequestUrl::parse(&by_reference).unwrap(),
            RequestUrl::ByReference {
                client_id,
                request_uri: "https://bank.example/request/abc".into(),
                post: true,
            }
        );
    }
}

/// A `RequestObjectSigner` (certificate checks and header made once, as a relying party
/// keeps one) signs what `sign_request_object` signs and refuses what it refuses.
#[test]
fn a_prepared_signer_signs_and_refuses_as_the_one_shot_function() {
    let pki = pki();
    let trust = trust(&pki);
    let chain = vec![pki.leaf.clone()];
    let prepared =
        RequestObjectSigner::new(provider(), Arc::clone(&pki.signer), chain.clone()).unwrap();
    let signed_part = |t: &str| t.rsplit_once('.').unwrap().0.to_owned();
    for client_id in [hash_id(&pki), "x509_san_dns:bank.example".to_owned()] {
        let req = request(&client_id, ResponseMode::DirectPostJwt);
        let once = sign_request_object(provider(), &req, &pki.signer, &chain).unwrap();
        let kept = prepared.sign(provider(), &req).unwrap();
        assert_eq!(signed_part(&kept), signed_part(&once));
        let seen = verify_request_object(&kept, &WalletCheck::new(&trust, now())).unwrap();
        assert_eq!(seen.request, req);
    }
    // The same refusals: another leaf's hash, a response_uri off the DNS name's host, a
    // request that is not one.
    let other = pki_named("Another root");
    let mut off_host = request("x509_san_dns:bank.example", ResponseMode::DirectPostJwt);
    off_host.response_uri = Some("https://elsewhere.example/response".into());
    let mut no_nonce = request(&hash_id(&pki), ResponseMode::DirectPostJwt);
    no_nonce.nonce = String::new();
    for req in [
        request(&hash_id(&other), ResponseMode::DirectPostJwt),
        off_host,
        no_nonce,
    ] {
        let once = sign_request_object(provider(), &req, &pki.signer, &chain).unwrap_err();
        let kept = prepared.sign(provider(), &req).unwrap_err();
        assert_eq!(kept.code(), once.code());
        assert_eq!(kept.to_string(), once.to_string());
    }
    // A signer that is not the leaf's key, a self-issued leaf.
    assert_eq!(
        RequestObjectSigner::new(provider(), Arc::clone(&other.signer), chain)
            .unwrap_err()
            .code(),
        "Malformed"
    );
    let root_signer: Arc<dyn Signer> = pki.root_key.clone();
    assert_eq!(
        RequestObjectSigner::new(provider(), root_signer, vec![pki.root.clone()])
            .unwrap_err()
            .code(),
        "SelfSigned"
    );
}

#[test]
fn the_wallet_nonce_goes_out_in_the_post_and_must_come_back_in_the_object() {
    let pki = pki();
    let trust = trust(&pki);
    let body = request_uri_post_body("wn-123", Some(&json!({ "vp_formats_supported": {} })));
    let (nonce, metadata) = parse_request_uri_post(body.as_bytes()).unwrap();
    assert_eq!(nonce.as_deref(), Some("wn-123"));
    assert_eq!(metadata, Some(json!({ "vp_formats_supported": {} })));
    let mut req = request(&hash_id(&pki), ResponseMode::DirectPostJwt);
    req.wallet_nonce = nonce;
    let jws = sign_request_object(
        provider(),
        &req,
        &pki.signer,
        std::slice::from_ref(&pki.leaf),
    )
    .unwrap();
    let mut check = WalletCheck::new(&trust, now());
    check.wallet_nonce = Some("wn-123");
    verify_request_object(&jws, &check).unwrap();
    // A replayed object made for another wallet's POST.
    check.wallet_nonce = Some("wn-456");
    assert_eq!(
        verify_request_object(&jws, &check).unwrap_err(),
        Oid4vpError::WalletNonce
    );
    // Metadata that is not an object, and a nonce twice, are refused.
    assert!(parse_request_uri_post(b"wallet_metadata=%5B%5D").is_err());
    assert!(parse_request_uri_post(b"wallet_nonce=a&wallet_nonce=b").is_err());
}

/// Signs `payload` with `header` as given (for objects a correct verifier would not make).
fn forge(header: Map<String, Value>, payload: &Value, signer: &Arc<dyn Signer>) -> String {
    kmid_crypto::jose::sign_compact(header, payload.to_string().as_bytes(), signer).unwrap()
}

fn header(chain: &[&kmid_crypto::x509::Certificate]) -> Map<String, Value> {
    let mut h = Map::new();
    h.insert("typ".into(), json!("oauth-authz-req+jwt"));
    h.insert(
        "x5c".into(),
        json!(chain.iter().map(|c| c.to_x5c_entry()).collect::<Vec<_>>()),
    );
    h
}

#[test]
fn every_refusal_is_its_own_error() {
    let pki = pki();
    let trust = trust(&pki);
    let check = WalletCheck::new(&trust, now());
    let code = |text: &str| verify_request_object(text, &check).unwrap_err().code();
    let good = request(&hash_id(&pki), ResponseMode::DirectPostJwt);
    let payload = serde_json::to_value(&good).unwrap();

    // Signed by a certificate under a root the wallet does not know, and under an impostor
    // root of the trusted root's name.
    let stranger = pki_named("Some other root");
    let untrusted = forge(header(&[&stranger.leaf]), &payload, &stranger.signer);
    assert_eq!(code(&untrusted), "Certificate.Certificate.UntrustedRoot");
    let other = self::pki();
    let impostor = forge(header(&[&other.leaf]), &payload, &other.signer);
    assert_eq!(code(&impostor), "Certificate.Certificate.BadSignature");
    // The anchor inside x5c.
    let with_anchor = forge(header(&[&pki.leaf, &pki.root]), &payload, &pki.signer);
    assert_eq!(code(&with_anchor), "AnchorInChain");
    // Self-signed: the root itself signs, carrying only itself (another wallet's anchor).
    let root_signer: Arc<dyn Signer> = pki.root_key.clone();
    let self_signed = forge(header(&[&pki.root]), &payload, &root_signer);
    let mut other_trust = TrustStore::new();
    other_trust.add(other.root.clone()).unwrap();
    assert_eq!(
        verify_request_object(&self_signed, &WalletCheck::new(&other_trust, now())).unwrap_err(),
        Oid4vpError::SelfSigned
    );
    // A hash that is not the leaf's.
    let mut wrong_hash = payload.clone();
    wrong_hash["client_id"] = json!(format!("x509_hash:{}", b64url(&[7; 32])));
    assert_eq!(
        code(&forge(header(&[&pki.leaf]), &wrong_hash, &pki.signer)),
        "HashMismatch"
    );
    // A DNS name the leaf does not carry; and the right name with a response_uri elsewhere.
    let mut wrong_dns = payload.clone();
    wrong_dns["client_id"] = json!("x509_san_dns:evil.example");
    assert_eq!(
        code(&forge(header(&[&pki.leaf]), &wrong_dns, &pki.signer)),
        "SanMismatch"
    );
    let mut elsewhere = payload.clone();
    elsewhere["client_id"] = json!("x509_san_dns:bank.example");
    elsewhere["response_uri"] = json!("https://evil.example/openid4vp/response");
    assert_eq!(
        verify_request_object(
            &forge(header(&[&pki.leaf]), &elsewhere, &pki.signer),
            &check
        )
        .unwrap_err(),
        Oid4vpError::SanMismatch("the response_uri host is not the client_id's DNS name")
    );
    // An altered object: one payload character changed after signing.
    let jws = sign_request_object(
        provider(),
        &good,
        &pki.signer,
        std::slice::from_ref(&pki.leaf),
    )
    .unwrap();
    let mut parts: Vec<String> = jws.split('.').map(str::to_owned).collect();
    let altered = serde_json::to_vec(&{
        let mut p = payload.clone();
        p["nonce"] = json!("n-attacker");
        p
    })
    .unwrap();
    parts[1] = b64url(&altered);
    assert_eq!(code(&parts.join(".")), "Jws.BadSignature");
    // No typ, or another typ.
    let mut untyped = header(&[&pki.leaf]);
    untyped.remove("typ");
    assert_eq!(code(&forge(untyped, &payload, &pki.signer)), "WrongType");
    let mut jwt = header(&[&pki.leaf]);
    jwt.insert("typ".into(), json!("JWT"));
    assert_eq!(code(&forge(jwt, &payload, &pki.signer)), "WrongType");
    // No x5c.
    let mut bare = header(&[&pki.leaf]);
    bare.remove("x5c");
    assert_eq!(code(&forge(bare, &payload, &pki.signer)), "Missing");
    // The URL's client_id is another verifier's.
    let mut url_check = check;
    url_check.url_client_id = Some("x509_san_dns:other.example");
    assert_eq!(
        verify_request_object(&jws, &url_check).unwrap_err(),
        Oid4vpError::ClientIdMismatch
    );
    // aud, expiry, a prefix without a certificate.
    let mut no_aud = payload.clone();
    no_aud.as_object_mut().unwrap().remove("aud");
    assert_eq!(
        code(&forge(header(&[&pki.leaf]), &no_aud, &pki.signer)),
        "Audience"
    );
    let mut expired = payload.clone();
    expired["exp"] = json!((now() - Duration::seconds(1)).unix_timestamp());
    assert_eq!(
        code(&forge(header(&[&pki.leaf]), &expired, &pki.signer)),
        "Expired"
    );
    // No exp (good forever once captured), or valid for a day.
    let mut forever = payload.clone();
    forever.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        code(&forge(header(&[&pki.leaf]), &forever, &pki.signer)),
        "Missing"
    );
    let mut long = payload.clone();
    long["exp"] = json!((now() + Duration::days(1)).unix_timestamp());
    assert_eq!(
        code(&forge(header(&[&pki.leaf]), &long, &pki.signer)),
        "Malformed"
    );
    let mut redirect = payload.clone();
    redirect["client_id"] = json!("redirect_uri:https://bank.example/cb");
    assert_eq!(
        code(&forge(header(&[&pki.leaf]), &redirect, &pki.signer)),
        "ClientIdPrefix"
    );
    // Transaction data of a type the wallet does not support: refused (§5), and accepted
    // once the wallet supports it.
    let mut with_td = payload.clone();
    with_td["transaction_data"] = json!([b64url(
        json!({ "type": "kr.bank.account-opening", "credential_ids": ["rrc"] })
            .to_string()
            .as_bytes()
    )]);
    let td = forge(header(&[&pki.leaf]), &with_td, &pki.signer);
    assert_eq!(
        verify_request_object(&td, &check).unwrap_err(),
        Oid4vpError::TransactionData("kr.bank.account-opening".into())
    );
    let mut supporting = check;
    supporting.transaction_data_types = &["kr.bank.account-opening"];
    verify_request_object(&td, &supporting).unwrap();
    // The verifier itself refuses to sign what wallets would refuse.
    assert_eq!(
        sign_request_object(
            provider(),
            &{
                let mut r = good.clone();
                r.client_id = "x509_san_dns:evil.example".into();
                r
            },
            &pki.signer,
            std::slice::from_ref(&pki.leaf)
        )
        .unwrap_err()
        .code(),
        "SanMismatch"
    );
}

#[test]
fn request_urls_are_parsed_strictly() {
    for (url, code) in [
        ("openid4vp://?request_uri=https://a.example/r", "Missing"),
        (
            "openid4vp://?client_id=x&request=a&request_uri=https://a.example/r",
            "Malformed",
        ),
        ("openid4vp://?client_id=x", "Missing"),
        (
            "openid4vp://?client_id=x&request_uri=http://a.example/r",
            "Malformed",
        ),
        (
            "openid4vp://?client_id=x&client_id=y&request=a",
            "Malformed",
        ),
        (
            "openid4vp://?client_id=x&request_uri=https://a.example/r&request_uri_method=put",
            "Unsupported",
        ),
        ("openid4vp://", "Missing"),
    ] {
        assert_eq!(RequestUrl::parse(url).unwrap_err().code(), code, "{url}");
    }
}
