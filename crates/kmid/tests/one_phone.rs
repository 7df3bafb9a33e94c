//! One active phone per person (DOMAIN.md; spec/README.md D-25): a national abroad who holds
//! a resident card marked 재외국민 (MOIS) and the overseas national ID (a mission, for the
//! Overseas Koreans Agency) keeps both on one phone. The authorities share a person registry;
//! a re-issue to a new phone moves the person, and the other card follows only there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::{issuer, now};
use kmid::crypto::{Curve, PrivateKey, Signer};
use kmid::schema::status::TokenStatus;
use kmid::schema::{Card, IdentityCard, ResidentCard};
use kmid::status::registry::{MemoryStore, PersonRegistry};
use kmid::{CardKeySecret, Formats, IssuingAuthority, ic_tap_message};
use kmid_testkit::samples;

/// 박지우's resident card, marked 재외국민: the same registration number as her overseas ID.
fn resident_card_abroad() -> Card {
    let overseas = samples::overseas_national();
    let mut fields = samples::resident().into_fields();
    fields.registration_number = *overseas.registration_number();
    fields.overseas_national = true;
    Card::from(ResidentCard::new(fields).unwrap())
}

#[test]
fn a_persons_cards_of_two_authorities_live_on_one_phone() {
    let persons = Arc::new(PersonRegistry::new(MemoryStore::new()));
    let secret = CardKeySecret::from_bytes([7; 32]);
    let mois = issuer(IssuingAuthority::Mois).with_person_phones(persons.clone(), secret.clone());
    let oka = issuer(IssuingAuthority::Oka).with_person_phones(persons.clone(), secret);
    let resident = resident_card_abroad();
    let overseas = Card::from(samples::overseas_national());
    let phone_a = PrivateKey::generate(Curve::P256).unwrap();
    let phone_b = PrivateKey::generate(Curve::P256).unwrap();

    mois.issue(&resident, phone_a.public_key(), Formats::Both, now())
        .unwrap();
    // The overseas ID may not go to a second phone…
    assert_eq!(
        oka.issue(&overseas, phone_b.public_key(), Formats::Both, now())
            .unwrap_err()
            .code(),
        "Status.Registry.OtherPhone"
    );
    // …only to the phone her resident card is on.
    let overseas_on_a = oka
        .issue(&overseas, phone_a.public_key(), Formats::Both, now())
        .unwrap();

    // She moves to phone B by tapping her resident IC card there (a re-issue, which needs the
    // physical card): the person moves, and the resident card's credentials on A die.
    let chip = PrivateKey::generate(Curve::P256).unwrap();
    mois.enroll_ic_card(&resident, chip.public_key(), now())
        .unwrap();
    let challenge = mois.ic_challenge(now()).unwrap();
    let message = ic_tap_message(
        kmid::crypto::CryptoProvider::get_default(),
        &challenge.nonce,
        phone_b.public_key(),
        "kr.go.mois.rrc.1",
    )
    .unwrap();
    mois.issue_by_ic_card(
        &resident,
        &challenge.nonce,
        &chip.sign(&message).unwrap(),
        phone_b.public_key(),
        Formats::Both,
        now(),
    )
    .unwrap();
    // The overseas ID is no longer issued or renewed on phone A; on phone B it is.
    assert_eq!(
        oka.issue(&overseas, phone_a.public_key(), Formats::Both, now())
            .unwrap_err()
            .code(),
        "Status.Registry.OtherPhone"
    );
    let a_wallet = {
        let mut w = kmid::Wallet::new(phone_a, kmid::trust_store([oka.keys()]).unwrap());
        w.store_issued(overseas_on_a.clone(), now()).unwrap();
        w
    };
    let (grant, proof) = a_wallet
        .renewal_request(
            kmid::schema::CardType::OverseasNational,
            &oka.credential_issuer(),
            now(),
        )
        .unwrap()
        .unwrap();
    assert_eq!(
        oka.renew(&grant, &proof, &overseas, Formats::Both, now())
            .unwrap_err()
            .code(),
        "Status.Registry.OtherPhone"
    );
    // Issued on phone B at the mission, the overseas ID's credentials on A stop working.
    let overseas_key = oka.card_key(&overseas).unwrap();
    oka.registry()
        .reissue_to_new_device(
            &overseas_key,
            &phone_b.public_key().thumbprint_sha256().unwrap(),
            &kmid::status::registry::Actor {
                who: "mission",
                at: now(),
                reason: "re-issue to the new phone",
            },
        )
        .unwrap();
    oka.issue(&overseas, phone_b.public_key(), Formats::Both, now())
        .unwrap();
    for id in [
        overseas_on_a.mdoc.as_ref().unwrap().credential,
        overseas_on_a.sd_jwt.as_ref().unwrap().credential,
    ] {
        assert_eq!(oka.registry().status(id).unwrap(), TokenStatus::Invalid);
    }
    // Each change of phone is in the person registry's log, which holds no number.
    let events = persons.events(0).unwrap();
    assert_eq!(events.len(), 2, "bound to A, moved to B");
    let number = overseas.registration_number().expose();
    assert!(events.iter().all(|e| !format!("{e:?}").contains(&number)));
}

#[test]
fn without_a_shared_person_registry_each_authority_keeps_its_own_rule() {
    // An issuer not configured with a person registry enforces one phone per card only, as
    // before: the configuration is what makes the rule span authorities.
    let mois = issuer(IssuingAuthority::Mois);
    let oka = issuer(IssuingAuthority::Oka);
    let phone_a = PrivateKey::generate(Curve::P256).unwrap();
    let phone_b = PrivateKey::generate(Curve::P256).unwrap();
    mois.issue(
        &resident_card_abroad(),
        phone_a.public_key(),
        Formats::Mdoc,
        now(),
    )
    .unwrap();
    oka.issue(
        &Card::from(samples::overseas_national()),
        phone_b.public_key(),
        Formats::Mdoc,
        now(),
    )
    .unwrap();
}
