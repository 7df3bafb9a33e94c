//! A bank opening an account: the teller's reader asks the customer's phone, over ISO
//! 18013-5 proximity, for name, photo, birth date and — because the Act on Real Name
//! Financial Transactions requires it — the resident registration number. The phone releases
//! the number only because the reader authenticates (readerAuth) and carries the bank's
//! registration attestation, signed by a registrar the wallet trusts, naming the reader and
//! the statute (PIPA Art. 24-2; without it the number is withheld). The bank then
//! keeps a signed verification record (진위확인·사본저장): what it saw, when, why, under
//! which law, and the digest of the exact presentation, which it can check later.
//!
//! Run: `cargo run -p kmid --example bank_counter`

#![allow(clippy::print_stdout)]

#[path = "common.rs"]
mod common;

use std::sync::Arc;

use kmid::crypto::x509::{CertificateKind, CertificateParams, TrustStore, issue_certificate};
use kmid::crypto::{CryptoProvider, Curve, PrivateKey, Signer, SystemRandom};
use kmid::mdoc::model::{Handover, SessionTranscript};
use kmid::oid4vc::request::ClientId;
use kmid::registration::RegistrationAttestation;
use kmid::schema::catalogue::ClaimId;
use kmid::schema::{Card, IdentityCard};
use kmid::{Template, VerificationRecord};
use kmid_testkit::samples;

const LEGAL_BASIS: &str = "Act on Real Name Financial Transactions and Confidentiality, Art. 3";

fn main() -> common::Result<()> {
    let now = time::OffsetDateTime::now_utc();
    let card = Card::from(samples::resident());
    let (issuer, wallet, verifier) = common::setup(&card, now)?;

    // The bank's reader certificate, under the banking sector's reader root.
    let params = |kind, cn: &str| CertificateParams {
        kind,
        country: "KR".into(),
        organization: Some("KMID Test Bank".into()),
        state_or_province: None,
        common_name: cn.into(),
        not_before: now - time::Duration::days(1),
        not_after: now + time::Duration::days(365),
        issuer_alt_name: None,
        crl_uri: None,
        dns_names: Vec::new(),
    };
    let root_key = PrivateKey::generate(Curve::P256)?;
    let root = issue_certificate(
        &params(CertificateKind::ReaderRoot, "Banking sector reader root"),
        root_key.public_key(),
        None,
        &root_key,
        &SystemRandom,
    )?;
    let reader_key = PrivateKey::generate(Curve::P256)?;
    let reader = issue_certificate(
        &params(
            CertificateKind::ReaderAuthentication,
            "Myeongdong branch counter",
        ),
        reader_key.public_key(),
        Some(&root),
        &root_key,
        &SystemRandom,
    )?;
    // The registrar attests that this reader may collect the number, and under which law.
    let registrar: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256)?);
    let attestation = RegistrationAttestation {
        registrar: "https://registrar.kmid.invalid".into(),
        verifier: ClientId::x509_hash(CryptoProvider::get_default(), &reader)?.to_string(),
        claims: vec!["registration_number".into()],
        legal_basis: LEGAL_BASIS.into(),
        issued_at: now,
        expires: now + time::Duration::days(365),
    }
    .sign(&registrar, "registrar-2026")?;
    // The phone trusts the reader root and the registrar.
    let mut readers = TrustStore::new();
    readers.add(root)?;
    let wallet = wallet.trust_readers(readers).with_registrars(vec![(
        "https://registrar.kmid.invalid".into(),
        Some("registrar-2026".into()),
        registrar.public_key().clone(),
    )]);

    // The reader's request, signed, with the attestation; the session both sides derived at
    // engagement (QR here).
    let template = Template::FullIdentity {
        legal_basis: LEGAL_BASIS.into(),
    };
    let transcript = SessionTranscript::new(None, None, &Handover::Qr)?;
    let request = template.mdoc_request_registered(
        card.card_type(),
        &transcript,
        &reader_key,
        &[reader],
        &attestation,
    )?;

    // The customer consents; the phone returns exactly the requested elements.
    let response = wallet.respond_mdoc(&request, &transcript, now)?.to_bytes();

    let seen = verifier.verify_mdoc(&request, &response, &transcript, now)?;
    let seen = seen.first().ok_or("no document")?;
    println!(
        "verified {} from {}: {} {}, born {}",
        seen.card_type.name_en(),
        seen.issuer.as_deref().unwrap_or("?"),
        seen.claim(ClaimId::FamilyName)
            .and_then(|v| v.as_str())
            .unwrap_or("?"),
        seen.claim(ClaimId::GivenName)
            .and_then(|v| v.as_str())
            .unwrap_or("?"),
        seen.claim(ClaimId::BirthDate)
            .and_then(|v| v.as_str())
            .unwrap_or("?"),
    );

    // The record the bank keeps, signed with its own key.
    let bank_key: Arc<dyn Signer> = Arc::new(PrivateKey::generate(Curve::P256)?);
    let record = VerificationRecord::new(
        seen,
        "KMID Test Bank, Myeongdong branch",
        "account opening (customer due diligence)",
        Some(LEGAL_BASIS),
        now,
    )?;
    let signed = record.sign(&bank_key)?;
    println!("record: a {}-byte JWS (kmid-record+jwt)", signed.len());

    // Months later, an audit checks it; one changed character and it fails.
    let checked = VerificationRecord::verify(&signed, bank_key.public_key())?;
    assert_eq!(checked, record);
    let mut tampered = signed.clone().into_bytes();
    let middle = tampered.len() / 2;
    if let Some(b) = tampered.get_mut(middle) {
        *b = if *b == b'A' { b'B' } else { b'A' };
    }
    let tampered = String::from_utf8(tampered)?;
    assert!(VerificationRecord::verify(&tampered, bank_key.public_key()).is_err());
    println!("record verifies; a tampered copy does not");

    // The customer reports the phone lost: the same presentation now fails at any verifier
    // that refreshes the list.
    let device = wallet.device_key().thumbprint_sha256()?;
    let actor = kmid::status::registry::Actor {
        who: "call centre",
        at: now,
        reason: "phone lost",
    };
    issuer.registry().report_phone_lost(&device, &actor)?;
    println!(
        "phone reported lost: {} list(s) republished",
        issuer.publish(now, 300)?.len()
    );
    Ok(())
}
