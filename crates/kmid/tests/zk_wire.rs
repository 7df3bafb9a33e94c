//! Zero-knowledge presentations as Google Wallet sends them: the two DeviceResponses with
//! `zkDocuments` (an `age_over_18` proof over the v6 and the v7 circuits) of
//! google/longfellow-zk's reference verifier service (test-vectors/longfellow-wire/), verified
//! by kmid against that service's trust anchors — and refused for another session, outside
//! the timestamp window, under other anchors, or without the circuit they name.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kmid::Verifier;
use kmid::crypto::x509::{Certificate, TrustStore};
use kmid::kmid_zk::mdoc::{Spec, Version, find_spec};
use kmid::mdoc::model::{DeviceRequest, DocRequest, ItemsRequest};
use kmid::zk::{AGE_CHECK_SPECS, ZkCircuits, ZkPolicy};
use time::macros::datetime;

mod common;
use common::AllValid;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../test-vectors")
}

fn anchors() -> TrustStore {
    let pem = std::fs::read_to_string(root().join("longfellow-wire/certs.pem")).unwrap();
    let mut store = TrustStore::new();
    // Upstream's file runs some END and BEGIN lines together: split on the END marker. It
    // also holds certificates that are not CAs, which a trust store refuses as anchors.
    let mut added = 0;
    for block in pem.split_inclusive("-----END CERTIFICATE-----") {
        if let Some(start) = block.find("-----BEGIN CERTIFICATE-----") {
            let cert = Certificate::from_pem(&block[start..]).unwrap();
            added += usize::from(store.add(cert).is_ok());
        }
    }
    assert!(added >= 10, "{added} anchors");
    store
}

fn circuits() -> ZkCircuits {
    let mut c = ZkCircuits::new();
    for (v, name) in [
        (Version::V6, "google-v6-1attr"),
        (Version::V7, "google-v7-1attr"),
    ] {
        let bytes =
            std::fs::read(root().join(format!("longfellow/mdoc/circuits/{name}.circuit"))).unwrap();
        c.add(*find_spec(v, 1).unwrap(), bytes);
    }
    c
}

/// What Google's reader asked: `age_over_18` of an mDL, as a proof over the one-attribute
/// circuits in `offered`.
fn request(element: &str, offered: &[Spec]) -> DeviceRequest {
    let mut items = ItemsRequest::for_doc_type("org.iso.18013.5.1.mDL");
    items.ask("org.iso.18013.5.1", element, false);
    items.request_info.push((
        kmid::zk::ZK_REQUEST_KEY.to_owned(),
        kmid::zk::zk_request(offered),
    ));
    DeviceRequest::new(vec![DocRequest::new(items)])
}

fn post(n: u8) -> (Vec<u8>, Vec<u8>) {
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root().join(format!("longfellow-wire/post{n}.json"))).unwrap(),
    )
    .unwrap();
    let b = |k: &str| STANDARD.decode(json[k].as_str().unwrap()).unwrap();
    (b("ZKDeviceResponseCBOR"), b("Transcript"))
}

#[test]
fn google_wallet_zk_presentations_verify() {
    let verifier = Verifier::new(anchors(), Arc::new(AllValid));
    let circuits = circuits();
    let policy = ZkPolicy::default();
    let asked = request("age_over_18", AGE_CHECK_SPECS);
    for (n, at, version) in [
        (1, datetime!(2025-12-01 12:00 UTC), 6),
        (2, datetime!(2026-01-12 12:00 UTC), 7),
    ] {
        let (response, transcript) = post(n);
        let docs = verifier
            .verify_mdoc_zk(&asked, &response, &transcript, &circuits, &policy, at)
            .unwrap();
        assert_eq!(docs.len(), 1);
        let d = &docs[0];
        assert_eq!(d.doc_type, "org.iso.18013.5.1.mDL");
        assert_eq!(d.namespace, "org.iso.18013.5.1");
        assert_eq!(d.claims, vec![("age_over_18".to_owned(), vec![0xf5])]);
        assert_eq!(d.spec.version.number(), version);

        // Another session's transcript.
        let mut other = transcript.clone();
        *other.last_mut().unwrap() ^= 1;
        let e = verifier
            .verify_mdoc_zk(&asked, &response, &other, &circuits, &policy, at)
            .unwrap_err();
        assert_eq!(e.code(), "Zk.Refused.MerkleRoot", "post{n}: {e}");
        // A week later: the timestamp is outside the window.
        let e = verifier
            .verify_mdoc_zk(
                &asked,
                &response,
                &transcript,
                &circuits,
                &policy,
                at + time::Duration::days(7),
            )
            .unwrap_err();
        assert_eq!(e.code(), "Zk.Document", "post{n}: {e}");
        // Under other trust anchors.
        let e = Verifier::new(TrustStore::new(), Arc::new(AllValid))
            .verify_mdoc_zk(&asked, &response, &transcript, &circuits, &policy, at)
            .unwrap_err();
        assert_eq!(e.code(), "Crypto.Certificate.UntrustedRoot", "post{n}: {e}");
        // Asked for another element, or offering only the other version's circuit.
        let e = verifier
            .verify_mdoc_zk(
                &request("age_over_21", AGE_CHECK_SPECS),
                &response,
                &transcript,
                &circuits,
                &policy,
                at,
            )
            .unwrap_err();
        assert_eq!(e.code(), "Zk.Document", "post{n}: {e}");
        let other_version = if version == 7 {
            &AGE_CHECK_SPECS[1..]
        } else {
            &AGE_CHECK_SPECS[..1]
        };
        let e = verifier
            .verify_mdoc_zk(
                &request("age_over_18", other_version),
                &response,
                &transcript,
                &circuits,
                &policy,
                at,
            )
            .unwrap_err();
        assert_eq!(e.code(), "Zk.Document", "post{n}: {e}");
        // Without the circuit the document names.
        let e = verifier
            .verify_mdoc_zk(
                &asked,
                &response,
                &transcript,
                &ZkCircuits::new(),
                &policy,
                at,
            )
            .unwrap_err();
        assert_eq!(e.code(), "Zk.Document", "post{n}: {e}");
    }
}

/// The zero-knowledge age check asks as Google's and multipaz's readers do: a `zkRequest` in
/// the DocRequest's `requestInfo` (ISO/IEC 18013-5 second edition draft) and, over OpenID4VP,
/// an `mso_mdoc_zk` Credential Query with `zk_system_type` — both offering the published
/// one-attribute circuits, for `age_over_19` alone.
#[test]
fn the_zk_age_check_request() {
    use kmid::Template;
    use kmid::mdoc::ElementValue;
    use kmid::schema::CardType;
    let request = Template::AgeCheckZk.mdoc_request(CardType::Resident);
    let items = &request.doc_requests[0].items_request;
    let asked: Vec<&str> = items
        .name_spaces
        .iter()
        .flat_map(|(_, e)| e.iter().map(|(id, _)| id.as_str()))
        .collect();
    assert_eq!(asked, ["age_over_19"]);
    let (key, zk) = &items.request_info[0];
    assert_eq!(key, "zkRequest");
    let ElementValue::Map(zk) = zk else {
        panic!("{zk:?}")
    };
    let ElementValue::Array(specs) = &zk[0].1 else {
        panic!()
    };
    assert_eq!(specs.len(), 2);
    assert_eq!(
        zk[1],
        (
            ElementValue::Text("zkRequired".into()),
            ElementValue::Bool(true)
        )
    );
    // It survives the wire.
    let bytes = request.to_bytes();
    let back = DeviceRequest::from_bytes(&bytes, &Default::default()).unwrap();
    assert_eq!(
        back.doc_requests[0].items_request.request_info,
        items.request_info
    );

    let dcql = serde_json::to_value(
        Template::AgeCheckZk.dcql_query(CardType::Resident, kmid::Format::Mdoc),
    )
    .unwrap();
    let q = &dcql["credentials"][0];
    assert_eq!(q["format"], "mso_mdoc_zk");
    let systems = q["meta"]["zk_system_type"].as_array().unwrap();
    assert_eq!(systems[0]["system"], "longfellow-libzk-v1");
    assert_eq!(
        systems[0]["circuit_hash"],
        "8d079211715200ff06c5109639245502bfe94aa869908d31176aae4016182121"
    );
    assert_eq!(systems[0]["version"], 7);
    assert_eq!(systems[1]["version"], 6);
    assert_eq!(q["claims"].as_array().unwrap().len(), 1);
}
