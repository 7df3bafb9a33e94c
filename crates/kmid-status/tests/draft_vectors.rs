//! The examples and Appendix C test vectors of draft-ietf-oauth-status-list, extracted into
//! `test-vectors/status-list-draft/vectors.json` by its `extract.py`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use coset::{CborSerializable, CoseSign1, TaggedCborSerializable};
use kmid_crypto::jose::b64url_decode;
use kmid_crypto::{Curve, PrivateKey, Signer};
use kmid_status::token::{
    TokenClaims, TokenKeys, TokenPolicy, TokenSigner, sign_cwt, sign_jwt, verify_token,
};
use kmid_status::{DEFAULT_MAX_DECOMPRESSED, StatusList, StatusListError};
use serde_json::Value;
use time::OffsetDateTime;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../test-vectors/status-list-draft/vectors.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn statuses(v: &Value) -> Vec<(u64, u8)> {
    v["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_u64().unwrap(),
                u8::try_from(p[1].as_u64().unwrap()).unwrap(),
            )
        })
        .collect()
}

fn build(v: &Value) -> StatusList {
    let bits = u8::try_from(v["bits"].as_u64().unwrap()).unwrap();
    let mut list = StatusList::new(bits, v["size"].as_u64().unwrap()).unwrap();
    for (i, s) in statuses(v) {
        list.set(i, s).unwrap();
    }
    list
}

#[test]
fn section_4_encodings_are_reproduced_byte_for_byte() {
    let v = vectors();
    let encoding = v["encoding"].as_array().unwrap();
    assert_eq!(encoding.len(), 2);
    for case in encoding {
        let list = build(case);
        assert_eq!(
            hex::encode(list.as_bytes()),
            case["bytes"].as_str().unwrap(),
            "{}",
            case["id"]
        );
        assert_eq!(
            hex::encode(list.compress().unwrap()),
            case["compressed"].as_str().unwrap()
        );
        assert_eq!(list.to_json().unwrap(), case["json"], "{}", case["id"]);
        let back = StatusList::from_json(&case["json"], 1024).unwrap();
        // The decompressed list has whole bytes of entries: 16 one-bit or 12 two-bit entries
        // fill them exactly here.
        assert_eq!(back, list);
        if let Some(cbor) = case["cbor"].as_str() {
            assert_eq!(hex::encode(list.to_cbor().unwrap()), cbor);
        }
    }
}

#[test]
fn appendix_c_lists_decode_to_exactly_the_listed_statuses() {
    let v = vectors();
    let cases = v["appendix_c"].as_array().unwrap();
    assert_eq!(cases.len(), 4);
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let expected = build(case);
        let from_json = StatusList::from_json(&case["json"], DEFAULT_MAX_DECOMPRESSED).unwrap();
        let cbor = hex::decode(case["cbor"].as_str().unwrap()).unwrap();
        let from_cbor = StatusList::from_cbor(&cbor, DEFAULT_MAX_DECOMPRESSED).unwrap();
        assert_eq!(from_json, expected, "{id}: JSON");
        assert_eq!(from_cbor, expected, "{id}: CBOR");
        assert_eq!(from_json.len(), 1 << 20, "{id}");
        for (i, s) in statuses(case) {
            assert_eq!(from_json.get(i).unwrap(), s, "{id}[{i}]");
        }
        // Our own compression decompresses to the same list (the draft's bytes come from
        // another zlib; identical output is not required, the content is).
        let ours = expected.compress().unwrap();
        assert_eq!(
            StatusList::decompress(u64::from(expected.bits()), &ours, DEFAULT_MAX_DECOMPRESSED)
                .unwrap(),
            expected
        );
    }
}

fn test_signer() -> Arc<dyn Signer> {
    Arc::new(kmid_testkit::Rfc6979Signer::for_test_key("mois-ds"))
}

#[test]
fn section_5_1_jwt_header_and_payload_are_reproduced() {
    let v = vectors();
    let case = &v["tokens"][0];
    assert_eq!(case["id"], "5.1-jwt");
    let p = &case["payload"];
    let claims = TokenClaims {
        sub: p["sub"].as_str().unwrap().into(),
        iat: p["iat"].as_i64().unwrap(),
        exp: p["exp"].as_i64(),
        ttl: p["ttl"].as_u64(),
    };
    let list = StatusList::from_json(&p["status_list"], 1024).unwrap();
    let signer = test_signer();
    let jwt = sign_jwt(
        &list,
        &claims,
        &TokenSigner {
            signer: &signer,
            chain: &[],
            kid: Some("12"),
            provider: kmid_crypto::CryptoProvider::get_default(),
        },
    )
    .unwrap();
    let mut parts = jwt.split('.');
    let header: Value =
        serde_json::from_slice(&b64url_decode(parts.next().unwrap()).unwrap()).unwrap();
    let payload: Value =
        serde_json::from_slice(&b64url_decode(parts.next().unwrap()).unwrap()).unwrap();
    assert_eq!(header, case["header"]);
    assert_eq!(&payload, p);
    // And it verifies with the signer's key for that URI, at a time inside [iat, exp].
    let at = OffsetDateTime::from_unix_timestamp(claims.iat + 60).unwrap();
    let verified = verify_token(
        jwt.as_bytes(),
        &claims.sub,
        at,
        &TokenKeys::Keys(vec![signer.public_key().clone()]),
        &TokenPolicy::default(),
    )
    .unwrap();
    assert_eq!(verified.claims, claims);
    assert_eq!(verified.list, list);
}

#[test]
fn section_5_2_cwt_is_reproduced_up_to_the_signature() {
    let v = vectors();
    let case = &v["tokens"][1];
    assert_eq!(case["id"], "5.2-cwt");
    let draft = hex::decode(case["token"].as_str().unwrap()).unwrap();
    let c = &case["claims"];
    let claims = TokenClaims {
        sub: c["sub"].as_str().unwrap().into(),
        iat: c["iat"].as_i64().unwrap(),
        exp: c["exp"].as_i64(),
        ttl: c["ttl"].as_u64(),
    };
    let list =
        StatusList::decompress(1, &hex::decode(c["lst"].as_str().unwrap()).unwrap(), 1024).unwrap();
    let signer = test_signer();
    let ours = sign_cwt(
        &list,
        &claims,
        &TokenSigner {
            signer: &signer,
            chain: &[],
            kid: Some("12"),
            provider: kmid_crypto::CryptoProvider::get_default(),
        },
    )
    .unwrap();
    let theirs = CoseSign1::from_tagged_slice(&draft).unwrap();
    let mine = CoseSign1::from_tagged_slice(&ours).unwrap();
    // Protected header, unprotected header and claims are the draft's bytes; only the
    // signature differs (the draft's key is not published).
    assert_eq!(
        mine.protected.clone().to_vec().unwrap(),
        theirs.protected.clone().to_vec().unwrap()
    );
    assert_eq!(mine.unprotected, theirs.unprotected);
    assert_eq!(mine.payload, theirs.payload);
    assert_eq!(ours.len(), draft.len());
    assert_eq!(ours[..ours.len() - 64], draft[..draft.len() - 64]);
    // The draft's token parses through every check up to its signature, which no key we
    // hold verifies.
    let at = OffsetDateTime::from_unix_timestamp(claims.iat + 60).unwrap();
    let other = PrivateKey::generate(Curve::P256).unwrap();
    assert_eq!(
        verify_token(
            &draft,
            &claims.sub,
            at,
            &TokenKeys::Keys(vec![other.public_key().clone()]),
            &TokenPolicy::default()
        )
        .unwrap_err(),
        StatusListError::BadSignature
    );
    // Ours verifies, with the draft's claims.
    let verified = verify_token(
        &ours,
        &claims.sub,
        at,
        &TokenKeys::Keys(vec![signer.public_key().clone()]),
        &TokenPolicy::default(),
    )
    .unwrap();
    assert_eq!(verified.claims, claims);
}
