//! Property tests: every structure survives encode → decode unchanged (and encode again
//! gives the same bytes); no decoder panics on arbitrary input.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kmid_cbor::{Encoder, decode};
use kmid_crypto::{Curve, PrivateKey};
use kmid_mdoc::holder::{DeviceKeyAuth, HeldMdoc, HolderPolicy, respond};
use kmid_mdoc::issuer::{MdocIssuer, MsoOptions};
use kmid_mdoc::model::{
    DeviceEngagement, DeviceRequest, DeviceResponse, DocRequest, Handover, IssuerSigned,
    ItemsRequest, SessionTranscript,
};
use kmid_mdoc::session::{SessionData, SessionEstablishment};
use kmid_mdoc::{CborLimits, ElementValue};
use kmid_testkit::{Authority, REFERENCE_TIME, SeededRandom, TestPki};
use proptest::prelude::*;
use time::Duration;

fn element_value() -> impl Strategy<Value = ElementValue> {
    let leaf = prop_oneof![
        Just(ElementValue::Null),
        any::<bool>().prop_map(ElementValue::Bool),
        any::<u64>().prop_map(ElementValue::Uint),
        (i64::MIN..0).prop_map(ElementValue::Int),
        proptest::collection::vec(any::<u8>(), 0..40).prop_map(ElementValue::Bytes),
        "\\PC{0,20}".prop_map(ElementValue::Text),
        // Years 0000 to 9999: what an RFC 3339 full-date can write.
        (0i64..3_652_000).prop_map(|d| ElementValue::FullDate(
            time::macros::date!(0000 - 01 - 01) + Duration::days(d)
        )),
        (-62_000_000_000i64..250_000_000_000).prop_map(|s| ElementValue::DateTime(
            time::OffsetDateTime::from_unix_timestamp(s).unwrap()
        )),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(ElementValue::Array),
            proptest::collection::vec(("[a-z]{1,8}".prop_map(ElementValue::Text), inner), 0..4)
                .prop_map(|entries| {
                    let mut seen = Vec::new();
                    ElementValue::Map(
                        entries
                            .into_iter()
                            .filter(|(k, _)| {
                                if seen.contains(k) {
                                    false
                                } else {
                                    seen.push(k.clone());
                                    true
                                }
                            })
                            .collect(),
                    )
                }),
        ]
    })
}

fn name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_.]{0,15}"
}

fn elements() -> impl Strategy<Value = Vec<(String, Vec<(String, ElementValue)>)>> {
    proptest::collection::btree_map(
        name(),
        proptest::collection::btree_map(name(), element_value(), 1..5),
        1..3,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(ns, els)| (ns, els.into_iter().collect()))
            .collect()
    })
}

fn issue(
    elements: Vec<(String, Vec<(String, ElementValue)>)>,
    decoys: usize,
    seed: u64,
) -> (IssuerSigned, PrivateKey) {
    let pki = TestPki::new();
    let p = pki.issuer(Authority::Mois);
    let random = SeededRandom::new(&seed.to_be_bytes());
    let device = PrivateKey::generate(Curve::P256).unwrap();
    let mut options = MsoOptions::new(REFERENCE_TIME, REFERENCE_TIME + Duration::days(10));
    options.decoys_per_namespace = decoys;
    let issued = MdocIssuer::new(&p.ds_signer, vec![p.ds.clone()], &random)
        .unwrap()
        .issue_elements("test.doc.1", elements, device.public_key(), &options)
        .unwrap();
    (issued, device)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn element_values_round_trip(v in element_value()) {
        let mut e = Encoder::new();
        v.encode(&mut e);
        let bytes = e.finish();
        let item = decode(&bytes, &CborLimits::default()).unwrap();
        let back = ElementValue::from_item(&item, "v").unwrap();
        prop_assert_eq!(&back, &v);
        let mut again = Encoder::new();
        back.encode(&mut again);
        prop_assert_eq!(again.finish(), bytes);
    }

    #[test]
    fn issuer_signed_round_trips(els in elements(), decoys in 0usize..3, seed in any::<u64>()) {
        let (issued, _) = issue(els.clone(), decoys, seed);
        let bytes = issued.to_bytes();
        let back = IssuerSigned::from_bytes(&bytes, &CborLimits::default()).unwrap();
        prop_assert_eq!(&back, &issued);
        prop_assert_eq!(back.to_bytes(), bytes);
        // What was issued is what decodes.
        let decoded: Vec<(String, Vec<(String, ElementValue)>)> = back.name_spaces.iter()
            .map(|(ns, items)| (ns.clone(), items.iter().map(|i| (i.item().element_identifier.clone(), i.item().element_value.clone())).collect()))
            .collect();
        prop_assert_eq!(decoded, els.clone());
        let mso = back.issuer_auth.mso();
        for (ns, items) in &els {
            let digests = &mso.value_digests.iter().find(|(n, _)| n == ns).unwrap().1;
            prop_assert_eq!(digests.len(), items.len() + decoys);
        }
    }

    #[test]
    fn requests_and_responses_round_trip(els in elements(), pick in proptest::collection::vec(any::<bool>(), 8), retain in any::<bool>(), seed in any::<u64>()) {
        let (issued, device) = issue(els.clone(), 1, seed);
        let mut flags = pick.iter().cycle();
        let name_spaces: Vec<(String, Vec<(String, bool)>)> = els.iter()
            .map(|(ns, items)| (ns.clone(), items.iter().filter(|_| *flags.next().unwrap()).map(|(id, _)| (id.clone(), retain)).collect::<Vec<_>>()))
            .filter(|(_, items)| !items.is_empty())
            .collect();
        prop_assume!(!name_spaces.is_empty());
        let request = DeviceRequest::new(vec![DocRequest::new(ItemsRequest { doc_type: "test.doc.1".into(), name_spaces, request_info: vec![("purpose".into(), ElementValue::Text("test".into()))], optional: vec![] })]);
        let limits = CborLimits::default();
        let request_bytes = request.to_bytes();
        let decoded_request = DeviceRequest::from_bytes(&request_bytes, &limits).unwrap();
        prop_assert_eq!(&decoded_request, &request);
        prop_assert_eq!(decoded_request.to_bytes(), request_bytes);

        let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
        let held = HeldMdoc { issuer_signed: &issued, device_auth: DeviceKeyAuth::Signature(&device), device_signed: &vec![] };
        let response = respond(&request, &transcript, &[held], &HolderPolicy::new(REFERENCE_TIME)).unwrap();
        let bytes = response.to_bytes();
        let back = DeviceResponse::from_bytes(&bytes, &limits).unwrap();
        prop_assert_eq!(&back, &response);
        prop_assert_eq!(back.to_bytes(), bytes);
    }

    #[test]
    fn session_structures_round_trip(data in proptest::collection::vec(any::<u8>(), 0..200), status in proptest::option::of(0u64..30)) {
        let limits = CborLimits::default();
        let key = PrivateKey::generate(Curve::P256).unwrap();
        let est = SessionEstablishment { e_reader_key: key.public_key().clone(), e_reader_key_bytes: key.public_key().to_cose_key_bytes().unwrap(), data: data.clone() };
        prop_assert_eq!(SessionEstablishment::from_bytes(&est.to_bytes(), &limits).unwrap(), est);
        let sd = SessionData { data: Some(data), status };
        prop_assert_eq!(SessionData::from_bytes(&sd.to_bytes(), &limits).unwrap(), sd);
        let de = DeviceEngagement::new(key.public_key().clone(), vec![]).unwrap();
        prop_assert_eq!(DeviceEngagement::from_bytes(de.raw(), &limits).unwrap(), de.clone());
        let transcript = SessionTranscript::new(Some(&de), Some(key.public_key()), &Handover::Nfc { handover_select: vec![1, 2], handover_request: None }).unwrap();
        prop_assert_eq!(SessionTranscript::from_tagged_bytes(&transcript.tagged_bytes(), &limits).unwrap(), transcript);
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), text in "mdoc:[A-Za-z0-9_-]{0,200}") {
        let limits = CborLimits::default();
        let _ = DeviceResponse::from_bytes(&bytes, &limits);
        let _ = DeviceRequest::from_bytes(&bytes, &limits);
        let _ = IssuerSigned::from_bytes(&bytes, &limits);
        let _ = DeviceEngagement::from_bytes(&bytes, &limits);
        let _ = DeviceEngagement::from_qr_uri(&text, &limits);
        let _ = SessionEstablishment::from_bytes(&bytes, &limits);
        let _ = SessionData::from_bytes(&bytes, &limits);
        let _ = SessionTranscript::from_tagged_bytes(&bytes, &limits);
        if let Ok(item) = decode(&bytes, &limits) {
            prop_assert_eq!(item.raw, &bytes[..]);
        }
    }
}
