//! Renewal without a visit (D-24): a holder whose card is still valid renews on the same phone
//! with the single-use grant the issuer gave with the credentials and a proof of the same
//! device key; the old credentials stop working, the new ones come with a new grant. Refused,
//! each with its exact code, for a spent, revoked or superseded grant, another card or phone,
//! a lost card or phone, a card moved to another phone, revoked credentials and an expired card.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{issuer, now, wallet};
use kmid::schema::status::TokenStatus;
use kmid::schema::{Card, CardType};
use kmid::status::registry::{Actor, MemoryStore};
use kmid::{Formats, Issued, Issuer, IssuingAuthority, Wallet};
use kmid_testkit::samples;
use time::{Duration, OffsetDateTime};

struct Setup {
    issuer: Issuer<MemoryStore>,
    wallet: Wallet,
    card: Card,
    at: OffsetDateTime,
    first: Vec<u64>,
}

fn ids(issued: &Issued) -> Vec<u64> {
    [
        issued.mdoc.as_ref().map(|m| m.credential),
        issued.sd_jwt.as_ref().map(|s| s.credential),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn setup() -> Setup {
    let issuer = issuer(IssuingAuthority::Mois);
    let mut wallet = wallet(&issuer);
    let card = Card::from(samples::resident());
    let at = now();
    let issued = issuer
        .issue(&card, wallet.device_key(), Formats::Both, at)
        .unwrap();
    let first = ids(&issued);
    wallet.store_issued(issued, at).unwrap();
    Setup {
        issuer,
        wallet,
        card,
        at,
        first,
    }
}

fn actor(reason: &'static str) -> Actor<'static> {
    Actor {
        who: "jongno-1",
        at: now(),
        reason,
    }
}

impl Setup {
    fn request(&self, at: OffsetDateTime) -> (String, String) {
        self.wallet
            .renewal_request(CardType::Resident, &self.issuer.credential_issuer(), at)
            .unwrap()
            .expect("the wallet holds a grant")
    }

    fn renew(&self, at: OffsetDateTime) -> Result<Issued, kmid::KmidError> {
        let (grant, proof) = self.request(at);
        self.issuer
            .renew(&grant, &proof, &self.card, Formats::Both, at)
    }

    fn status(&self, id: u64) -> TokenStatus {
        self.issuer.registry().status(id).unwrap()
    }

    fn card_key(&self) -> String {
        self.issuer.card_key(&self.card).unwrap()
    }

    fn phone(&self) -> String {
        self.wallet.device_key().thumbprint_sha256().unwrap()
    }
}

fn code(r: Result<Issued, kmid::KmidError>) -> &'static str {
    r.unwrap_err().code()
}

#[test]
fn a_holder_renews_on_the_same_phone_before_expiry_and_the_grant_is_single_use() {
    let mut s = setup();
    // A 90-day credential is due for renewal in its last quarter, not before.
    assert!(
        !s.wallet
            .renewal_due(CardType::Resident, s.at + Duration::days(60))
    );
    let later = s.at + Duration::days(70);
    assert!(s.wallet.renewal_due(CardType::Resident, later));
    let (grant, proof) = s.request(later);
    let renewed = s
        .issuer
        .renew(&grant, &proof, &s.card, Formats::Both, later)
        .unwrap();
    let second = ids(&renewed);
    assert_eq!(second.len(), 2);
    assert!(
        s.first
            .iter()
            .all(|&id| s.status(id) == TokenStatus::Invalid)
    );
    assert!(second.iter().all(|&id| s.status(id) == TokenStatus::Valid));
    // The same grant again, even with a fresh proof, is spent.
    let proof = s
        .wallet
        .key_proof(
            &s.issuer.credential_issuer(),
            &kmid::renewal_nonce(kmid::crypto::CryptoProvider::get_default(), &grant).unwrap(),
            later,
        )
        .unwrap();
    assert_eq!(
        code(
            s.issuer
                .renew(&grant, &proof, &s.card, Formats::Both, later)
        ),
        "Status.Registry.Renewal.Used"
    );
    // The wallet keeps the renewed credentials and the new grant, and renews again later.
    s.wallet.store_issued(renewed, later).unwrap();
    assert!(!s.wallet.renewal_due(CardType::Resident, later));
    let third = s.renew(later + Duration::days(80)).unwrap();
    assert!(
        second
            .iter()
            .all(|&id| s.status(id) == TokenStatus::Invalid)
    );
    assert!(
        ids(&third)
            .iter()
            .all(|&id| s.status(id) == TokenStatus::Valid)
    );
}

#[test]
fn renewal_is_refused_for_a_lost_phone_or_card_until_found() {
    let s = setup();
    let at = s.at + Duration::days(70);
    s.issuer
        .registry()
        .report_phone_lost(&s.phone(), &actor("phone lost"))
        .unwrap();
    assert_eq!(code(s.renew(at)), "Status.Registry.DeviceLost");
    s.issuer
        .registry()
        .reinstate_phone(&s.phone(), &actor("phone found"))
        .unwrap();
    s.issuer
        .registry()
        .report_card_lost(&s.card_key(), &actor("card lost"))
        .unwrap();
    assert_eq!(code(s.renew(at)), "Status.Registry.CardLost");
    s.issuer
        .registry()
        .reinstate_card(&s.card_key(), &actor("card found"))
        .unwrap();
    // A refused renewal did not spend the grant.
    s.renew(at).unwrap();
}

#[test]
fn renewal_is_refused_for_a_card_moved_to_another_phone_or_replaced() {
    let s = setup();
    let at = s.at + Duration::days(70);
    s.issuer
        .registry()
        .reissue_to_new_device(&s.card_key(), "another-phone", &actor("re-issue"))
        .unwrap();
    assert_eq!(code(s.renew(at)), "Status.Registry.SecondDevice");
    let s = setup();
    s.issuer
        .registry()
        .report_card_lost(&s.card_key(), &actor("card lost"))
        .unwrap();
    s.issuer
        .registry()
        .replace_card(&s.card_key(), &actor("replacement"))
        .unwrap();
    assert_eq!(code(s.renew(at)), "Status.Registry.SecondDevice");
}

#[test]
fn renewal_is_refused_for_revoked_credentials_a_revoked_grant_and_a_superseded_issuance() {
    let s = setup();
    let at = s.at + Duration::days(70);
    for &id in &s.first {
        s.issuer.registry().revoke(id, &actor("revoked")).unwrap();
    }
    assert_eq!(
        code(s.renew(at)),
        "Status.Registry.Renewal.CredentialsInvalid"
    );

    let s = setup();
    assert_eq!(
        s.issuer
            .registry()
            .revoke_renewals(&s.card_key(), &actor("holder asked"))
            .unwrap(),
        1
    );
    assert_eq!(code(s.renew(at)), "Status.Registry.Renewal.Revoked");
    // The credentials themselves are untouched.
    assert!(s.first.iter().all(|&id| s.status(id) == TokenStatus::Valid));

    // Issued again at the counter: the old grant renews nothing.
    let s = setup();
    s.issuer
        .issue(&s.card, s.wallet.device_key(), Formats::Both, s.at)
        .unwrap();
    assert_eq!(code(s.renew(at)), "Status.Registry.Renewal.Superseded");
}

#[test]
fn renewal_is_refused_for_another_phone_another_card_a_bad_proof_and_an_expired_card() {
    let s = setup();
    let at = s.at + Duration::days(70);
    let (grant, _) = s.request(at);
    let nonce = kmid::renewal_nonce(kmid::crypto::CryptoProvider::get_default(), &grant).unwrap();
    // The grant stolen to another phone: its proof is of another key.
    let thief = wallet(&s.issuer);
    let proof = thief
        .key_proof(&s.issuer.credential_issuer(), &nonce, at)
        .unwrap();
    assert_eq!(
        code(s.issuer.renew(&grant, &proof, &s.card, Formats::Both, at)),
        "Status.Registry.Renewal.OtherDevice"
    );
    // Another card's record with this grant.
    let proof = s
        .wallet
        .key_proof(&s.issuer.credential_issuer(), &nonce, at)
        .unwrap();
    let mut other = samples::resident().into_fields();
    other.registration_number = kmid::schema::RegistrationNumber::parse("900315-1234575").unwrap();
    let other = Card::from(kmid::schema::ResidentCard::new(other).unwrap());
    assert_eq!(
        code(s.issuer.renew(&grant, &proof, &other, Formats::Both, at)),
        "Status.Registry.Renewal.OtherCard"
    );
    // A proof over another nonce, or too old.
    let wrong = s
        .wallet
        .key_proof(&s.issuer.credential_issuer(), "another-nonce", at)
        .unwrap();
    assert_eq!(
        code(s.issuer.renew(&grant, &wrong, &s.card, Formats::Both, at)),
        "Channel.InvalidProof"
    );
    assert_eq!(
        code(s.issuer.renew(
            &grant,
            &proof,
            &s.card,
            Formats::Both,
            at + Duration::hours(1)
        )),
        "Channel.InvalidProof"
    );
    // An unknown grant.
    let forged = "A".repeat(43);
    let forged_proof = s
        .wallet
        .key_proof(
            &s.issuer.credential_issuer(),
            &kmid::renewal_nonce(kmid::crypto::CryptoProvider::get_default(), &forged).unwrap(),
            at,
        )
        .unwrap();
    assert_eq!(
        code(
            s.issuer
                .renew(&forged, &forged_proof, &s.card, Formats::Both, at)
        ),
        "Status.Registry.Renewal.Unknown"
    );
    // The card expired (2028-03-28): nothing renews it.
    let expired = OffsetDateTime::new_utc(
        time::macros::date!(2028 - 03 - 29),
        time::macros::time!(12:00),
    );
    let proof = s
        .wallet
        .key_proof(&s.issuer.credential_issuer(), &nonce, expired)
        .unwrap();
    assert_eq!(
        code(
            s.issuer
                .renew(&grant, &proof, &s.card, Formats::Both, expired)
        ),
        "CardExpired"
    );
    // And the grant still works for its holder.
    s.renew(at).unwrap();
}
