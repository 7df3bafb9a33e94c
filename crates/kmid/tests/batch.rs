//! Batch verification gives each item the result verifying it alone gives, at its index,
//! whatever the number of threads.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use std::sync::Arc;

use common::{AllValid, now};
use kmid::mdoc::model::{Handover, SessionTranscript};
use kmid::{BatchItem, Formats, IssuingAuthority, Template, Verifier};

#[test]
fn a_batch_answers_each_item_as_alone_in_order() {
    let at = now();
    let issuer = common::issuer(IssuingAuthority::Mois);
    let mut wallet = common::wallet(&issuer);
    let card = kmid::schema::Card::from(kmid_testkit::samples::resident());
    let issued = issuer
        .issue(&card, wallet.device_key(), Formats::Both, at)
        .unwrap();
    wallet
        .store_mdoc(issued.mdoc.unwrap().issuer_signed, at)
        .unwrap();
    wallet
        .store_sd_jwt(&issued.sd_jwt.unwrap().sd_jwt.to_compact(), at)
        .unwrap();
    let verifier = Verifier::new(
        kmid::trust_store([issuer.keys()]).unwrap(),
        Arc::new(AllValid),
    );
    let card_type = kmid::schema::CardType::Resident;
    let mdoc_request = Template::Identity.mdoc_request(card_type);
    let transcript = SessionTranscript::new(None, None, &Handover::Qr).unwrap();
    let response = wallet
        .respond_mdoc(&mdoc_request, &transcript, at)
        .unwrap()
        .to_bytes();
    let mut tampered = response.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x01;
    let sd_request = Template::AgeCheck.sd_jwt_request(card_type, "n-1", "https://rp.example");
    let presentation = wallet.present_sd_jwt(&sd_request, at).unwrap();
    let other_nonce = Template::AgeCheck.sd_jwt_request(card_type, "n-2", "https://rp.example");

    let mut items = Vec::new();
    for _ in 0..5 {
        items.push(BatchItem::Mdoc {
            request: &mdoc_request,
            response: &response,
            transcript: &transcript,
        });
        items.push(BatchItem::SdJwt {
            request: &sd_request,
            presentation: &presentation,
        });
        items.push(BatchItem::Mdoc {
            request: &mdoc_request,
            response: &tampered,
            transcript: &transcript,
        });
        items.push(BatchItem::SdJwt {
            request: &other_nonce,
            presentation: &presentation,
        });
    }
    let alone: Vec<_> = items
        .iter()
        .map(|item| verifier.verify_item(item, at).map_err(|e| e.code()))
        .collect();
    assert!(alone[0].is_ok() && alone[1].is_ok());
    // The middle byte of the response lies in the 20 KB portrait.
    assert_eq!(
        alone[2].as_ref().err().copied(),
        Some("Mdoc.Digest.Mismatch")
    );
    assert_eq!(
        alone[3].as_ref().err().copied(),
        Some("SdJwt.KeyBinding.NonceMismatch")
    );
    for threads in [1, 2, 3, 8] {
        let batch: Vec<_> = verifier
            .verify_batch_on(&items, at, threads)
            .into_iter()
            .map(|r| r.map_err(|e| e.code()))
            .collect();
        assert_eq!(batch.len(), items.len());
        for (i, (b, a)) in batch.iter().zip(&alone).enumerate() {
            match (b, a) {
                (Ok(b), Ok(a)) => assert_eq!(
                    b.iter().map(|p| &p.claims).collect::<Vec<_>>(),
                    a.iter().map(|p| &p.claims).collect::<Vec<_>>(),
                    "item {i} on {threads} threads"
                ),
                (Err(b), Err(a)) => assert_eq!(b, a, "item {i} on {threads} threads"),
                _ => panic!("item {i} on {threads} threads: {b:?} alone {a:?}"),
            }
        }
    }
    assert!(verifier.verify_batch(&[], at).is_empty());

    // A resolver that panics on SD-JWT VC status (a caller's code): those items are
    // Unverified, on every thread count, and every other item keeps its own result.
    let panicking = Verifier::new(
        kmid::trust_store([issuer.keys()]).unwrap(),
        Arc::new(PanicsOnJwt),
    );
    let unverified = kmid::KmidError::Unverified.code();
    for threads in [1, 2] {
        let batch: Vec<_> = panicking
            .verify_batch_on(&items, at, threads)
            .into_iter()
            .map(|r| r.map_err(|e| e.code()))
            .collect();
        for (i, (b, a)) in batch.iter().zip(&alone).enumerate() {
            match i % 4 {
                1 => assert_eq!(b.as_ref().err(), Some(&unverified), "item {i}"),
                _ => assert_eq!(b.as_ref().map(|p| p.len()), a.as_ref().map(|p| p.len())),
            }
        }
    }
}

/// Panics when asked for a JWT Status List Token (the SD-JWT VC's), as a buggy fetcher might.
struct PanicsOnJwt;

impl kmid::schema::status::StatusResolver for PanicsOnJwt {
    fn resolve(
        &self,
        _: &kmid::schema::status::StatusReference,
        context: &kmid::schema::status::StatusContext<'_>,
        _: time::OffsetDateTime,
    ) -> Result<kmid::schema::status::TokenStatus, kmid::schema::status::StatusError> {
        assert!(
            context.form != kmid::schema::status::StatusTokenForm::Jwt,
            "a resolver bug"
        );
        Ok(kmid::schema::status::TokenStatus::Valid)
    }
}
