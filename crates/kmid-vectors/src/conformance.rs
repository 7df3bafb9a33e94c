//! The conformance vectors in `test-vectors/conformance/`.
//!
//! Everything is fixed: the test PKI's keys (RFC 6979 signatures), seeded salts and status
//! indices, the holder keys (`holder-rrc`, `holder-rc`, `holder-onid` test keys), and the
//! time, 2025-07-01T00:00:00Z. Each positive case is a real issue → present run; each negative
//! case is one small mutation of a positive one, with the error kmid must report. The
//! generator checks every case against kmid's verifier before writing it, so it cannot
//! write an expectation kmid does not meet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kmid::crypto::Signer;
use kmid::mdoc::model::{DeviceAuth, DeviceResponse, Handover, SessionTranscript};
use kmid::schema::catalogue::{self, ClaimId};
use kmid::schema::{Card, CardType, IdentityCard};
use kmid::status::registry::{Actor, MemoryStore, RegistryConfig, StatusRegistry};
use kmid::{
    AuthorityKeys, CardKeySecret, Format, Formats, Issuer, IssuingAuthority, OpenId4VpRequest,
    Template, Wallet,
};
use kmid_testkit::samples;
use kmid_testkit::{Authority, Rfc6979Signer, SeededRandom, TestPki};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime, macros::datetime};

use kmid::conformance::{self, Manifest, expected_claims};

/// The vectors' time.
pub(crate) const AT: OffsetDateTime = datetime!(2025-07-01 0:00 UTC);
/// How long the vectors' credentials are valid.
const VALIDITY_DAYS: i64 = 90;

pub(crate) type Error = Box<dyn std::error::Error>;

/// One card's issuer and holder.
pub(crate) struct Fixture {
    pub(crate) code: &'static str,
    pub(crate) card: Card,
    pub(crate) issuer: Issuer<MemoryStore>,
    pub(crate) wallet: Wallet,
    pub(crate) device: String,
    /// The test PKI's reader (a bank counter): its certificate and signer, which sign the
    /// full-identity requests (readerAuth, and OpenID4VP Request Objects as `x509_hash`).
    pub(crate) reader: kmid::crypto::x509::Certificate,
    pub(crate) reader_signer: Arc<dyn Signer>,
    /// The registrar whose attestation lets that reader collect the registration number.
    pub(crate) registrar: Arc<dyn Signer>,
}

/// The default provider with its random source replaced by a seeded one: what makes the
/// wallet's encrypted responses and the verifier's requests (nonce, state, response key)
/// reproducible. Leaked: a provider is `'static`, and the generator makes a handful.
pub(crate) fn seeded_provider(seed: &str) -> &'static kmid::crypto::CryptoProvider {
    let random: &'static SeededRandom = Box::leak(Box::new(SeededRandom::new(seed.as_bytes())));
    Box::leak(Box::new(kmid::crypto::CryptoProvider {
        random,
        ..*kmid::crypto::CryptoProvider::get_default()
    }))
}

/// The vectors' registrar (`iss`, and the `kid` of its key `registrar`).
pub(crate) const REGISTRAR: &str = "https://registrar.kmid.invalid";
pub(crate) const REGISTRAR_KID: &str = "registrar-1";
const FULL_IDENTITY_BASIS: &str =
    "Act on Real Name Financial Transactions and Confidentiality, Art. 3";

impl Fixture {
    /// The reader's Client Identifier: `x509_hash` of its certificate.
    pub(crate) fn reader_id(&self) -> Result<String, Error> {
        Ok(kmid::oid4vc::request::ClientId::x509_hash(
            kmid::crypto::CryptoProvider::get_default(),
            &self.reader,
        )?
        .to_string())
    }

    /// The registrar's attestation for the reader (deterministic: RFC 6979 and fixed times).
    pub(crate) fn registration(&self) -> Result<String, Error> {
        Ok(kmid::registration::RegistrationAttestation {
            registrar: REGISTRAR.into(),
            verifier: self.reader_id()?,
            claims: vec![kmid::registration::REGISTRATION_NUMBER.into()],
            legal_basis: FULL_IDENTITY_BASIS.into(),
            issued_at: AT - Duration::days(1),
            expires: AT + Duration::days(30),
        }
        .sign(&self.registrar, REGISTRAR_KID)?)
    }
}

fn authority_of(card: CardType) -> (IssuingAuthority, Authority) {
    match card {
        CardType::Resident => (IssuingAuthority::Mois, Authority::Mois),
        CardType::Foreigner => (IssuingAuthority::Moj, Authority::Moj),
        CardType::OverseasNational => (IssuingAuthority::Oka, Authority::Oka),
    }
}

/// The short code of a card type in file names and case ids.
pub(crate) fn card_code(card: CardType) -> &'static str {
    match card {
        CardType::Resident => "rrc",
        CardType::Foreigner => "rc",
        CardType::OverseasNational => "onid",
    }
}

pub(crate) fn fixture(pki: &TestPki, card: Card) -> Result<Fixture, Error> {
    let card_type = card.card_type();
    let code = card_code(card_type);
    let (authority, test_authority) = authority_of(card_type);
    let ipki = pki.issuer(test_authority);
    let keys = AuthorityKeys {
        authority,
        iaca: ipki.iaca.clone(),
        document_signer: ipki.ds.clone(),
        signer: Arc::new(Rfc6979Signer::for_test_key(&format!(
            "{}-ds",
            authority.slug()
        ))),
    };
    let mut config = RegistryConfig::new(format!(
        "https://status.kmid.invalid/{}/lists",
        authority.slug()
    ));
    config.list_size = 1 << 12;
    config.list_capacity = 1 << 11;
    let registry = StatusRegistry::new(
        MemoryStore::new(),
        config,
        Arc::new(SeededRandom::new(
            format!("kmid vectors v1: registry {code}").as_bytes(),
        )),
    );
    let secret = kmid::crypto::HashAlgorithm::Sha256
        .digest(format!("kmid vectors v1: card key secret {code}").as_bytes())?;
    let secret: [u8; 32] = secret
        .try_into()
        .map_err(|_| "SHA-256 is 32 bytes".to_owned())?;
    let issuer = Issuer::new(
        keys,
        registry,
        CardKeySecret::from_bytes(secret),
        Arc::new(SeededRandom::new(
            format!("kmid vectors v1: issuer {code}").as_bytes(),
        )),
    )
    .with_validity(Duration::days(VALIDITY_DAYS));
    let holder = Rfc6979Signer::for_test_key(&format!("holder-{code}"));
    let device = holder.public_key().thumbprint_sha256()?;
    let registrar: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("registrar"));
    // The wallet checks readers (proximity) and verifiers (OpenID4VP) against the test PKI's
    // reader root, and trusts the registrar: what releases the registration number.
    let wallet = Wallet::with_signer(Arc::new(holder), pki.trust_store())
        .with_provider(seeded_provider(&format!("kmid vectors v1: wallet {code}")))
        .trust_readers(pki.reader_trust_store())
        .with_verifier_trust(pki.reader_trust_store())
        .with_registrars(vec![(
            REGISTRAR.into(),
            Some(REGISTRAR_KID.into()),
            registrar.public_key().clone(),
        )]);
    Ok(Fixture {
        code,
        card,
        issuer,
        wallet,
        device,
        reader: pki.reader.clone(),
        reader_signer: Arc::new(Rfc6979Signer::for_test_key("reader")),
        registrar,
    })
}

/// The files and cases being built.
#[derive(Default)]
pub(crate) struct Out {
    pub(crate) files: BTreeMap<PathBuf, Vec<u8>>,
    pub(crate) cases: Vec<Value>,
}

impl Out {
    pub(crate) fn file(&mut self, path: String, bytes: impl Into<Vec<u8>>) -> String {
        self.files.insert(PathBuf::from(&path), bytes.into());
        path
    }
}

fn templates(card: CardType) -> Vec<(&'static str, Template)> {
    let mut out = vec![
        ("age-check", Template::AgeCheck),
        ("identity", Template::Identity),
    ];
    if catalogue::spec(ClaimId::RegistrationNumber).applies_to(card) {
        out.push((
            "full-identity",
            Template::FullIdentity {
                legal_basis: FULL_IDENTITY_BASIS.into(),
            },
        ));
    }
    out
}

/// Flips the lowest bit of the last byte of the first occurrence of `needle` in `bytes`.
fn flip_in(bytes: &[u8], needle: &[u8]) -> Result<Vec<u8>, Error> {
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .ok_or("mutation target not found")?;
    let mut out = bytes.to_vec();
    let last = out
        .get_mut(at + needle.len() - 1)
        .ok_or("mutation target out of range")?;
    *last ^= 1;
    Ok(out)
}

/// Replaces the CBOR `true` that follows the text `elementValue` in the IssuerSignedItem
/// naming `element` with `false`: same length, so only the digest betrays it.
fn falsify_element(response: &[u8], element: &str) -> Result<Vec<u8>, Error> {
    let parsed = DeviceResponse::from_bytes(response, &kmid::mdoc::CborLimits::default())?;
    let item = parsed
        .documents
        .iter()
        .flat_map(|d| d.issuer_signed.name_spaces.iter())
        .flat_map(|(_, items)| items)
        .find(|i| i.item().element_identifier == element)
        .ok_or("element not in response")?;
    let raw = item.raw();
    let key = b"\x6celementValue\xf5";
    let pos = raw
        .windows(key.len())
        .position(|w| w == key)
        .ok_or("elementValue true not found")?;
    let mut forged = raw.to_vec();
    if let Some(b) = forged.get_mut(pos + key.len() - 1) {
        *b = 0xf4;
    }
    let at = response
        .windows(raw.len())
        .position(|w| w == raw)
        .ok_or("item not found")?;
    let mut out = response.to_vec();
    out.splice(at..at + raw.len(), forged);
    Ok(out)
}

fn issuer_signature(response: &[u8]) -> Result<Vec<u8>, Error> {
    let parsed = DeviceResponse::from_bytes(response, &kmid::mdoc::CborLimits::default())?;
    let doc = parsed.documents.first().ok_or("no document")?;
    Ok(doc.issuer_signed.issuer_auth.sign1().signature.clone())
}

fn device_signature(response: &[u8]) -> Result<Vec<u8>, Error> {
    let parsed = DeviceResponse::from_bytes(response, &kmid::mdoc::CborLimits::default())?;
    let doc = parsed.documents.first().ok_or("no document")?;
    match &doc.device_signed.device_auth {
        DeviceAuth::Signature { sign1, .. } => Ok(sign1.signature.clone()),
        DeviceAuth::Mac { .. } => Err("device MAC".into()),
    }
}

pub(crate) fn rfc3339(t: OffsetDateTime) -> Result<String, Error> {
    Ok(t.format(&time::format_description::well_known::Rfc3339)?)
}

/// Generates every vector into `dir` (normally `test-vectors/conformance`), replacing the
/// files it owns and leaving `README.md`. Returns the number of cases.
///
/// # Errors
/// A case whose outcome differs from its expectation, or I/O failures.
pub(crate) fn generate(dir: &Path) -> Result<usize, Error> {
    let pki = TestPki::new();
    let mut out = Out::default();
    let mut fixtures = Vec::new();
    for card in [
        Card::from(samples::resident()),
        Card::from(samples::foreigner()),
        Card::from(samples::overseas_national()),
    ] {
        fixtures.push(fixture(&pki, card)?);
    }
    // Issue.
    for f in &mut fixtures {
        let issued = f
            .issuer
            .issue(&f.card, f.wallet.device_key(), Formats::Both, AT)?;
        let mdoc = issued.mdoc.as_ref().ok_or("no mdoc")?;
        let sd_jwt = issued.sd_jwt.as_ref().ok_or("no SD-JWT VC")?;
        out.file(
            format!("{}/issued/mdoc-issuer-signed.cbor", f.code),
            mdoc.issuer_signed.to_bytes(),
        );
        let compact = sd_jwt.sd_jwt.to_compact();
        out.file(
            format!("{}/issued/sd-jwt-vc.txt", f.code),
            format!("{compact}\n"),
        );
        f.wallet.store_issued(issued, AT)?;
    }
    // Publish the status lists as they are, then after each phone is reported lost.
    let mut status_sets = serde_json::Map::new();
    publish_set(&fixtures, &mut out, &mut status_sets, "current", AT)?;
    for f in &fixtures {
        f.issuer.registry().report_phone_lost(
            &f.device,
            &Actor {
                who: "vectors",
                at: AT,
                reason: "phone lost",
            },
        )?;
    }
    publish_set(&fixtures, &mut out, &mut status_sets, "phones-lost", AT)?;
    for f in &fixtures {
        mdoc_cases(f, &mut out)?;
        openid4vp_cases(f, &mut out)?;
        signed_cases(f, &mut out)?;
    }
    lifecycle_cases(&mut fixtures, &mut out, &mut status_sets)?;
    crate::vci::vci_cases(&mut out)?;
    let mut manifest = json!({
        "suite": "kmid conformance vectors",
        "version": 1,
        "profile": "spec/README.md",
        "at": rfc3339(AT)?,
        "trust": pki_trust(),
        "status_sets": status_sets,
    });
    if let Some(m) = manifest.as_object_mut() {
        m.insert("cases".into(), Value::Array(std::mem::take(&mut out.cases)));
    }
    check_and_write(dir, &manifest, out.files)
}

/// Runs every case of `manifest` over `files` (and the PKI beside `dir`), and only when each
/// has its expected outcome writes the files and the manifest into `dir`. Returns the number
/// of cases.
///
/// # Errors
/// The cases that do not hold, or I/O failures.
pub(crate) fn check_and_write(
    dir: &Path,
    manifest: &Value,
    mut files: BTreeMap<PathBuf, Vec<u8>>,
) -> Result<usize, Error> {
    let parsed: Manifest = serde_json::from_value(manifest.clone())?;
    let pki = dir.join("..").join("pki");
    let report = conformance::run_manifest(&parsed, &|path: &str| {
        if let Some(rel) = path.strip_prefix("../pki/") {
            return std::fs::read(pki.join(rel)).ok();
        }
        files.get(Path::new(path)).cloned()
    });
    let failed: Vec<String> = report
        .iter()
        .filter(|r| !r.passed)
        .map(|r| format!("{}: {}", r.id, r.detail))
        .collect();
    if !failed.is_empty() {
        return Err(format!("cases that do not hold:\n{}", failed.join("\n")).into());
    }
    files.insert(PathBuf::from("manifest.json"), pretty(manifest)?);
    write_tree(dir, &files)?;
    Ok(report.len())
}

pub(crate) fn pki_trust() -> Value {
    json!([
        {"file": "../pki/mois-iaca.pem", "doc_types": [CardType::Resident.doc_type()]},
        {"file": "../pki/moj-iaca.pem", "doc_types": [CardType::Foreigner.doc_type()]},
        {"file": "../pki/oka-iaca.pem", "doc_types": [CardType::OverseasNational.doc_type()]},
    ])
}

/// Writes `files` under `dir` and removes every other file there except `README.md`.
pub(crate) fn write_tree(dir: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) -> Result<(), Error> {
    fn walk(root: &Path, rel: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let here = root.join(rel);
        if !here.is_dir() {
            return Ok(());
        }
        for entry in std::fs::read_dir(here)? {
            let entry = entry?;
            let rel = rel.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                walk(root, &rel, found)?;
            } else {
                found.push(rel);
            }
        }
        Ok(())
    }
    let mut existing = Vec::new();
    walk(dir, Path::new(""), &mut existing)?;
    for old in existing {
        if old != Path::new("README.md") && !files.contains_key(&old) {
            std::fs::remove_file(dir.join(old))?;
        }
    }
    for (path, bytes) in files {
        let full = dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if std::fs::read(&full).ok().as_deref() != Some(bytes.as_slice()) {
            std::fs::write(full, bytes)?;
        }
    }
    Ok(())
}

/// Publishes every fixture's lists at `at` as the status set `set`.
fn publish_set(
    fixtures: &[Fixture],
    out: &mut Out,
    status_sets: &mut serde_json::Map<String, Value>,
    set: &str,
    at: OffsetDateTime,
) -> Result<(), Error> {
    let mut lists = Vec::new();
    for f in fixtures {
        for (n, list) in f.issuer.publish(at, 300)?.into_iter().enumerate() {
            let stem = format!("status/{set}/{}-{n}", f.code);
            let jwt = out.file(format!("{stem}.jwt"), format!("{}\n", list.jwt));
            let cwt = out.file(format!("{stem}.cwt"), list.cwt);
            lists.push(json!({ "uri": list.uri, "jwt": jwt, "cwt": cwt }));
        }
    }
    status_sets.insert(set.to_owned(), Value::Array(lists));
    Ok(())
}

/// The lifecycle (D-14, D-24): a credential ends at its holder's next derived-claim change;
/// renewal on the same phone and a re-issue at the counter each make the credentials before
/// them INVALID while the new ones are VALID.
fn lifecycle_cases(
    fixtures: &mut [Fixture],
    out: &mut Out,
    status_sets: &mut serde_json::Map<String, Value>,
) -> Result<(), Error> {
    let officer = |reason| Actor {
        who: "vectors",
        at: AT,
        reason,
    };
    for f in fixtures.iter() {
        f.issuer
            .registry()
            .report_phone_lost(&f.device, &officer("phone lost"))
            .map(drop)
            .or_else(|_| Ok::<(), Error>(()))?;
        f.issuer
            .registry()
            .reinstate_phone(&f.device, &officer("phone found"))?;
    }
    let case = |f: &Fixture, id: &str, response: &str, extra: Value, expected: Value| {
        let code = f.code;
        let mut case = json!({
            "id": format!("{code}-lifecycle-{id}"),
            "kind": "mdoc-proximity",
            "card": f.card.card_type().doc_type(),
            "format": "mso_mdoc",
            "template": "age-check",
            "device_request": format!("{code}/mdoc/age-check.device-request.cbor"),
            "device_response": response,
            "session_transcript": format!("{code}/mdoc/session-transcript.cbor"),
            "expected": expected,
        });
        if let (Some(c), Some(e)) = (case.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        case
    };
    let age_claims = |f: &Fixture| claims_of(&Template::AgeCheck, f.card.card_type(), &f.card);
    let transcript = SessionTranscript::new(None, None, &Handover::Qr)?;
    let respond = |f: &Fixture| -> Result<Vec<u8>, Error> {
        let request = Template::AgeCheck.mdoc_request(f.card.card_type());
        Ok(f.wallet.respond_mdoc(&request, &transcript, AT)?.to_bytes())
    };

    // The foreigner sample, born 1995-07-20, gets a credential that ends when he turns 30:
    // 2025-07-20T00:00 KST = 2025-07-19T15:00:00Z, not 90 days after issuance.
    let birthday = datetime!(2025-07-19 15:00:00 UTC);
    publish_set(
        fixtures,
        out,
        status_sets,
        "birthday-eve",
        birthday - Duration::hours(1),
    )?;
    for f in fixtures
        .iter()
        .filter(|f| f.card.card_type() == CardType::Foreigner)
    {
        let original = format!("{}/mdoc/age-check.device-response.cbor", f.code);
        let last = rfc3339(birthday - Duration::seconds(1))?;
        out.cases.push(case(
            f,
            "validity-ends-before-birthday",
            &original,
            json!({ "status_set": "birthday-eve", "at": last }),
            json!({ "result": "valid", "status": "VALID", "claims": age_claims(f)? }),
        ));
        out.cases.push(case(
            f,
            "validity-ended-at-birthday",
            &original,
            json!({ "status_set": "birthday-eve", "at": rfc3339(birthday)? }),
            expected_invalid("Mdoc.Validity.Expired"),
        ));
    }

    // Renewal on the same phone: the holder spends its grant with a proof of its device key.
    let mut renewed_files = Vec::new();
    for f in fixtures.iter_mut() {
        let card_type = f.card.card_type();
        let (grant, proof) = f
            .wallet
            .renewal_request(card_type, &f.issuer.credential_issuer(), AT)?
            .ok_or("the wallet holds no renewal grant")?;
        let renewed = f.issuer.renew(&grant, &proof, &f.card, Formats::Both, AT)?;
        f.wallet.store_issued(renewed, AT)?;
        let file = out.file(
            format!(
                "{}/lifecycle/renewed.age-check.device-response.cbor",
                f.code
            ),
            respond(f)?,
        );
        renewed_files.push(file);
    }
    publish_set(fixtures, out, status_sets, "renewed", AT)?;
    // Re-issued at the counter, on the same phone (an address change, say).
    let mut reissued_files = Vec::new();
    for f in fixtures.iter_mut() {
        let issued = f
            .issuer
            .issue(&f.card, f.wallet.device_key(), Formats::Both, AT)?;
        f.wallet.store_issued(issued, AT)?;
        let file = out.file(
            format!(
                "{}/lifecycle/reissued.age-check.device-response.cbor",
                f.code
            ),
            respond(f)?,
        );
        reissued_files.push(file);
    }
    publish_set(fixtures, out, status_sets, "reissued", AT)?;
    for ((f, renewed), reissued) in fixtures.iter().zip(&renewed_files).zip(&reissued_files) {
        let original = format!("{}/mdoc/age-check.device-response.cbor", f.code);
        let valid = json!({ "result": "valid", "status": "VALID", "claims": age_claims(f)? });
        let invalid = expected_invalid("Mdoc.Status.Invalid");
        out.cases.push(case(
            f,
            "renewed-old-credential",
            &original,
            json!({"status_set": "renewed"}),
            invalid.clone(),
        ));
        out.cases.push(case(
            f,
            "renewed-new-credential",
            renewed,
            json!({"status_set": "renewed"}),
            valid.clone(),
        ));
        out.cases.push(case(
            f,
            "reissued-same-phone-old-credential",
            renewed,
            json!({"status_set": "reissued"}),
            invalid,
        ));
        out.cases.push(case(
            f,
            "reissued-same-phone-new-credential",
            reissued,
            json!({"status_set": "reissued"}),
            valid,
        ));
    }
    Ok(())
}

pub(crate) fn expected_invalid(error: &str) -> Value {
    json!({ "result": "invalid", "error": error })
}

fn mdoc_cases(f: &Fixture, out: &mut Out) -> Result<(), Error> {
    let card = f.card.card_type();
    let code = f.code;
    let transcript = SessionTranscript::new(None, None, &Handover::Qr)?;
    let transcript_file = out.file(
        format!("{code}/mdoc/session-transcript.cbor"),
        transcript.tagged_bytes(),
    );
    let mut age = (String::new(), Vec::new());
    let mut identity = Vec::new();
    for (name, template) in templates(card) {
        // The registration number goes only to an authenticated reader with a registration
        // attestation: the full-identity request is signed and carries one.
        let request = if matches!(template, Template::FullIdentity { .. }) {
            template.mdoc_request_registered(
                card,
                &transcript,
                &*f.reader_signer,
                std::slice::from_ref(&f.reader),
                &f.registration()?,
            )?
        } else {
            template.mdoc_request(card)
        };
        let response = f.wallet.respond_mdoc(&request, &transcript, AT)?.to_bytes();
        let request_file = out.file(
            format!("{code}/mdoc/{name}.device-request.cbor"),
            request.to_bytes(),
        );
        let response_file = out.file(
            format!("{code}/mdoc/{name}.device-response.cbor"),
            response.clone(),
        );
        let claims = claims_of(&template, card, &f.card)?;
        out.cases.push(json!({
            "id": format!("{code}-mdoc-{name}"),
            "kind": "mdoc-proximity",
            "card": card.doc_type(),
            "format": "mso_mdoc",
            "template": name,
            "device_request": request_file,
            "device_response": response_file,
            "session_transcript": transcript_file,
            "status_set": "current",
            "expected": { "result": "valid", "status": "VALID", "claims": claims },
        }));
        if name == "age-check" {
            age = (request_file, response);
        } else if name == "identity" {
            identity = f.wallet.respond_mdoc(&request, &transcript, AT)?.to_bytes();
        }
    }
    let (age_request, age_response) = age;
    let other = SessionTranscript::new(
        None,
        None,
        &Handover::Nfc {
            handover_select: b"another session".to_vec(),
            handover_request: None,
        },
    )?;
    let other_file = out.file(
        format!("{code}/mdoc/negative/other-session-transcript.cbor"),
        other.tagged_bytes(),
    );
    let mut negative = |id: &str, mutation: &str, response: Vec<u8>, extra: Value, error: &str| {
        let file = out.file(
            format!("{code}/mdoc/negative/{id}.device-response.cbor"),
            response,
        );
        let mut case = json!({
            "id": format!("{code}-mdoc-neg-{id}"),
            "kind": "mdoc-proximity",
            "card": card.doc_type(),
            "format": "mso_mdoc",
            "template": "age-check",
            "mutation": mutation,
            "device_request": age_request,
            "device_response": file,
            "session_transcript": transcript_file,
            "status_set": "current",
            "expected": expected_invalid(error),
        });
        if let (Some(c), Some(e)) = (case.as_object_mut(), extra.as_object()) {
            c.extend(e.clone());
        }
        out.cases.push(case);
    };
    let issuer_sig = issuer_signature(&age_response)?;
    let device_sig = device_signature(&age_response)?;
    negative(
        "issuer-signature",
        "one bit of the issuerAuth signature flipped",
        flip_in(&age_response, &issuer_sig)?,
        json!({}),
        "Mdoc.IssuerAuth.BadSignature",
    );
    negative(
        "element-value",
        "age_over_19 changed from true to false inside its IssuerSignedItem",
        falsify_element(&age_response, "age_over_19")?,
        json!({}),
        "Mdoc.Digest",
    );
    negative(
        "device-signature",
        "one bit of the DeviceSignature flipped",
        flip_in(&age_response, &device_sig)?,
        json!({}),
        "Mdoc.DeviceAuth.BadSignature",
    );
    negative(
        "truncated",
        "the last byte removed",
        age_response
            .split_last()
            .map(|(_, rest)| rest.to_vec())
            .unwrap_or_default(),
        json!({}),
        "Mdoc.Cbor",
    );
    negative(
        "unrequested-elements",
        "the response to the identity request, checked against the age-check request",
        identity,
        json!({}),
        "Mdoc.NotRequested",
    );
    negative(
        "session-transcript",
        "unchanged response, verified over another session's transcript",
        age_response.clone(),
        json!({ "session_transcript": other_file }),
        "Mdoc.DeviceAuth.BadSignature",
    );
    negative(
        "suspended",
        "unchanged response; the status list after the holder reported the phone lost",
        age_response.clone(),
        json!({ "status_set": "phones-lost" }),
        "Mdoc.Status.Suspended",
    );
    negative(
        "expired",
        "unchanged response, verified one day after the MSO's validUntil",
        age_response.clone(),
        json!({ "at": rfc3339(AT + Duration::days(VALIDITY_DAYS + 1))? }),
        "Mdoc.Validity.Expired",
    );
    negative(
        "untrusted-issuer",
        "unchanged response; the verifier does not trust this authority's IACA",
        age_response,
        json!({ "exclude_trust": [format!("../pki/{}-iaca.pem", authority_of(card).0.slug())] }),
        "Mdoc.IssuerAuth.Chain",
    );
    Ok(())
}

fn claims_of(template: &Template, card: CardType, full: &Card) -> Result<Value, Error> {
    let values = full.claims(AT.date());
    let mut claims = Vec::new();
    for id in template.claims() {
        if !catalogue::spec(*id).applies_to(card) {
            continue;
        }
        let value = values
            .iter()
            .find(|c| c.id == *id)
            .map(|c| conformance::claim_json(&c.value))
            .ok_or("claim missing from card")?;
        claims.push((*id, value));
    }
    Ok(expected_claims(&claims))
}

/// A verifier that only makes requests (the signed and online cases' requests never resolve a
/// status).
pub(crate) struct NoStatus;

impl kmid::schema::status::StatusResolver for NoStatus {
    fn resolve(
        &self,
        reference: &kmid::schema::status::StatusReference,
        _: &kmid::schema::status::StatusContext<'_>,
        _: OffsetDateTime,
    ) -> Result<kmid::schema::status::TokenStatus, kmid::schema::status::StatusError> {
        Err(kmid::schema::status::StatusError::Unavailable {
            uri: reference.uri.clone(),
            reason: kmid::schema::status::FetchFailure::NotAvailable,
        })
    }
}

/// Signed requests and encrypted responses (HAIP 1.0 §5): for each format, a request signed
/// by the reader certificate as `x509_hash` in `direct_post` and `direct_post.jwt`, the
/// verifier's pending transaction (its response key included: test material), and the
/// wallet's response body; then two attacks on the encrypted one: the body made for another
/// transaction (another key) and a downgrade to the clear.
fn signed_cases(f: &Fixture, out: &mut Out) -> Result<(), Error> {
    use kmid::oid4vc::request::ResponseMode;
    let card = f.card.card_type();
    let code = f.code;
    let verifier = kmid::Verifier::new(kmid::crypto::x509::TrustStore::new(), Arc::new(NoStatus))
        .with_provider(seeded_provider(&format!(
            "kmid vectors v1: verifier {code}"
        )));
    let access = kmid::VerifierAccess::x509_hash(
        kmid::crypto::CryptoProvider::get_default(),
        Arc::clone(&f.reader_signer),
        vec![f.reader.clone()],
    )?;
    const RESPONSE_URI: &str = "https://bank.kmid.invalid/openid4vp/response";
    for (format, fid) in [(Format::SdJwtVc, "sd-jwt-vc"), (Format::Mdoc, "mdoc")] {
        let query = Template::AgeCheck.dcql_query(card, format);
        let mut encrypted = None;
        for (mode, mid) in [
            (ResponseMode::DirectPost, "direct-post"),
            (ResponseMode::DirectPostJwt, "direct-post-jwt"),
        ] {
            let online = verifier.request_online(&access, &query, mode, RESPONSE_URI, false, AT)?;
            let answer = f.wallet.answer_online(
                online.request_object.as_deref().ok_or("a signed request")?,
                None,
                None,
                AT,
            )?;
            let base = format!("{code}/openid4vp-signed/{fid}/{mid}");
            let transaction = out.file(
                format!("{base}.transaction.json"),
                pretty(&online.export()?)?,
            );
            let body = out.file(format!("{base}.response.txt"), format!("{}\n", answer.body));
            out.cases.push(json!({
                "id": format!("{code}-openid4vp-signed-{fid}-{mid}"),
                "kind": "openid4vp-signed",
                "card": card.doc_type(),
                "format": query.credentials.first().map(|c| c.format.clone()),
                "template": "age-check",
                "transaction": transaction,
                "response_body": body,
                "status_set": "current",
                "expected": {
                    "result": "valid",
                    "status": "VALID",
                    "claims": claims_of(&Template::AgeCheck, card, &f.card)?,
                },
            }));
            if mode == ResponseMode::DirectPostJwt {
                encrypted = Some(transaction);
            }
        }
        let Some(encrypted_tx) = encrypted else {
            return Err("no encrypted transaction".into());
        };
        // The full identity, with the registration number: a registered verifier, answered
        // encrypted (the number never travels in the clear).
        if templates(card)
            .iter()
            .any(|(_, t)| matches!(t, Template::FullIdentity { .. }))
        {
            let full = Template::FullIdentity {
                legal_basis: FULL_IDENTITY_BASIS.into(),
            };
            let registered = kmid::VerifierAccess::x509_hash(
                kmid::crypto::CryptoProvider::get_default(),
                Arc::clone(&f.reader_signer),
                vec![f.reader.clone()],
            )?
            .with_registration(f.registration()?);
            let full_query = full.dcql_query(card, format);
            let online = verifier.request_online(
                &registered,
                &full_query,
                ResponseMode::DirectPostJwt,
                RESPONSE_URI,
                false,
                AT,
            )?;
            let answer = f.wallet.answer_online(
                online.request_object.as_deref().ok_or("a signed request")?,
                None,
                None,
                AT,
            )?;
            let base = format!("{code}/openid4vp-signed/{fid}/full-identity");
            let transaction = out.file(
                format!("{base}.transaction.json"),
                pretty(&online.export()?)?,
            );
            let body = out.file(format!("{base}.response.txt"), format!("{}\n", answer.body));
            out.cases.push(json!({
                "id": format!("{code}-openid4vp-signed-{fid}-full-identity"),
                "kind": "openid4vp-signed",
                "card": card.doc_type(),
                "format": full_query.credentials.first().map(|c| c.format.clone()),
                "template": "full-identity",
                "transaction": transaction,
                "response_body": body,
                "status_set": "current",
                "expected": {
                    "result": "valid",
                    "status": "VALID",
                    "claims": claims_of(&full, card, &f.card)?,
                },
            }));
        }
        // The body made for another transaction (another key), and the clear body of the
        // direct_post request, each against the encrypted transaction.
        let other = verifier.request_online(
            &access,
            &query,
            ResponseMode::DirectPostJwt,
            RESPONSE_URI,
            false,
            AT,
        )?;
        let other_answer = f.wallet.answer_online(
            other.request_object.as_deref().ok_or("a signed request")?,
            None,
            None,
            AT,
        )?;
        let base = format!("{code}/openid4vp-signed/{fid}/negative");
        let other_body = out.file(
            format!("{base}/another-transactions-key.response.txt"),
            format!("{}\n", other_answer.body),
        );
        let clear_body = format!("{code}/openid4vp-signed/{fid}/direct-post.response.txt");
        for (name, body, error, mutation) in [
            (
                "another-transactions-key",
                other_body,
                "Oid4vp.Jwe.KeyId",
                "the response encrypted to another request's key",
            ),
            (
                "downgrade-to-clear",
                clear_body,
                "Oid4vp.ResponseMode",
                "a response in the clear to a direct_post.jwt request",
            ),
        ] {
            out.cases.push(json!({
                "id": format!("{code}-openid4vp-signed-{fid}-neg-{name}"),
                "kind": "openid4vp-signed",
                "card": card.doc_type(),
                "format": query.credentials.first().map(|c| c.format.clone()),
                "template": "age-check",
                "mutation": mutation,
                "transaction": encrypted_tx,
                "response_body": body,
                "status_set": "current",
                "expected": expected_invalid(error),
            }));
        }
    }
    Ok(())
}

fn openid4vp_cases(f: &Fixture, out: &mut Out) -> Result<(), Error> {
    let card = f.card.card_type();
    let code = f.code;
    let request = OpenId4VpRequest {
        client_id: "x509_san_dns:bank.kmid.invalid".into(),
        nonce: format!("kmid-vectors-nonce-{code}"),
        response_uri: "https://bank.kmid.invalid/openid4vp/response".into(),
        origin: None,
        jwk_thumbprint: None,
    };
    let params = json!({
        "client_id": request.client_id,
        "nonce": request.nonce,
        "response_uri": request.response_uri,
    });
    for (format, fid) in [(Format::SdJwtVc, "sd-jwt-vc"), (Format::Mdoc, "mdoc")] {
        let mut age = None;
        for (name, template) in templates(card) {
            let query = template.dcql_query(card, format);
            // The registration number goes only to a signed request with a registration
            // attestation, answered encrypted: those vectors are signed_cases'.
            if matches!(template, Template::FullIdentity { .. }) {
                continue;
            }
            let (token, params) = (f.wallet.answer_dcql(&query, &request, AT)?, params.clone());
            let query_file = out.file(
                format!("{code}/openid4vp/{fid}/{name}.dcql.json"),
                pretty(&serde_json::to_value(&query)?)?,
            );
            let token_file = out.file(
                format!("{code}/openid4vp/{fid}/{name}.vp-token.json"),
                pretty(&Value::Object(token.clone()))?,
            );
            out.cases.push(json!({
                "id": format!("{code}-openid4vp-{fid}-{name}"),
                "kind": "openid4vp",
                "card": card.doc_type(),
                "format": query.credentials.first().map(|c| c.format.clone()),
                "template": name,
                "dcql_query": query_file,
                "vp_token": token_file,
                "request": params,
                "status_set": "current",
                "expected": {
                    "result": "valid",
                    "status": "VALID",
                    "claims": claims_of(&template, card, &f.card)?,
                },
            }));
            if name == "age-check" {
                age = Some((query_file, token, query));
            } else if name == "identity" && format == Format::SdJwtVc {
                let file = out.file(
                    format!("{code}/openid4vp/{fid}/negative/identity-for-age-check.vp-token.json"),
                    pretty(&Value::Object(token))?,
                );
                if let Some((q, _, _)) = age.as_ref() {
                    out.cases.push(json!({
                        "id": format!("{code}-openid4vp-{fid}-neg-unrequested-claims"),
                        "kind": "openid4vp",
                        "card": card.doc_type(),
                        "format": "dc+sd-jwt",
                        "template": "age-check",
                        "mutation": "the VP Token answering the identity query, checked against the age-check query",
                        "dcql_query": q,
                        "vp_token": file,
                        "request": params,
                        "status_set": "current",
                        "expected": expected_invalid("NotRequested"),
                    }));
                }
            }
        }
        let (query_file, token, age_query) = age.ok_or("no age check")?;
        let presentation = token
            .get("card")
            .and_then(|v| v.get(0))
            .and_then(Value::as_str)
            .ok_or("no presentation")?
            .to_owned();
        let mut negatives: Vec<(&str, &str, Option<String>, Value, &str)> = Vec::new();
        let other_nonce = json!({ "request": {
            "client_id": request.client_id, "nonce": "another-nonce", "response_uri": request.response_uri } });
        let other_client = json!({ "request": {
            "client_id": "x509_san_dns:evil.kmid.invalid", "nonce": request.nonce, "response_uri": request.response_uri } });
        let suspended = json!({ "status_set": "phones-lost" });
        let expired = json!({ "at": rfc3339(AT + Duration::days(VALIDITY_DAYS + 1))? });
        match format {
            Format::SdJwtVc => {
                let parts: Vec<&str> = presentation.split('~').collect();
                let jwt = parts.first().copied().unwrap_or_default();
                let signature = jwt.rsplit('.').next().unwrap_or_default();
                let mut flipped_sig: Vec<u8> = signature.bytes().collect();
                if let Some(b) = flipped_sig.get_mut(2) {
                    *b = if *b == b'A' { b'B' } else { b'A' };
                }
                let bad_jwt = format!(
                    "{}.{}",
                    jwt.rsplit_once('.').map(|(h, _)| h).unwrap_or_default(),
                    String::from_utf8(flipped_sig)?
                );
                let mut tampered = parts.clone();
                if let Some(first) = tampered.first_mut() {
                    *first = &bad_jwt;
                }
                negatives.push((
                    "issuer-signature",
                    "one character of the issuer-signed JWT's signature changed",
                    Some(tampered.join("~")),
                    json!({}),
                    "SdJwt.BadIssuerSignature",
                ));
                let forged =
                    kmid::crypto::jose::b64url(br#"["kmid-forged-salt","age_over_19",true]"#);
                let mut forged_parts = parts.clone();
                if let Some(p) = forged_parts.get_mut(1) {
                    *p = &forged;
                }
                negatives.push((
                    "foreign-disclosure",
                    "a Disclosure the issuer never signed put in place of a real one",
                    Some(forged_parts.join("~")),
                    json!({}),
                    "SdJwt.Disclosure",
                ));
                let without_kb = format!(
                    "{}~",
                    parts
                        .split_last()
                        .map(|(_, r)| r.join("~"))
                        .unwrap_or_default()
                );
                negatives.push((
                    "key-binding-missing",
                    "the KB-JWT removed",
                    Some(without_kb),
                    json!({}),
                    "SdJwt.KeyBinding.Missing",
                ));
                let mut dropped = parts.clone();
                if dropped.len() > 2 {
                    dropped.remove(1);
                }
                negatives.push((
                    "disclosure-dropped",
                    "one Disclosure removed after the KB-JWT was made",
                    Some(dropped.join("~")),
                    json!({}),
                    "SdJwt.KeyBinding.SdHashMismatch",
                ));
                negatives.push((
                    "nonce",
                    "unchanged presentation, verified for another nonce",
                    None,
                    other_nonce,
                    "SdJwt.KeyBinding.NonceMismatch",
                ));
                negatives.push((
                    "audience",
                    "unchanged presentation, verified by another client_id",
                    None,
                    other_client,
                    "SdJwt.KeyBinding.AudienceMismatch",
                ));
                negatives.push((
                    "suspended",
                    "unchanged presentation; the status list after the phone was reported lost",
                    None,
                    suspended,
                    "SdJwt.Status.Suspended",
                ));
                let late = AT + Duration::days(VALIDITY_DAYS + 1);
                let late = f.wallet.answer_dcql(&age_query, &request, late)?;
                let late = late
                    .get("card")
                    .and_then(|v| v.get(0))
                    .and_then(Value::as_str)
                    .ok_or("no presentation")?
                    .to_owned();
                negatives.push((
                    "expired",
                    "presented (fresh KB-JWT) and verified a day after the credential's exp",
                    Some(late),
                    expired,
                    "SdJwt.Expired",
                ));
            }
            Format::Mdoc => {
                negatives.push((
                    "nonce",
                    "unchanged DeviceResponse, verified for another nonce (another SessionTranscript)",
                    None,
                    other_nonce,
                    "Mdoc.DeviceAuth.BadSignature",
                ));
                negatives.push((
                    "client-id",
                    "unchanged DeviceResponse, verified by another client_id",
                    None,
                    other_client,
                    "Mdoc.DeviceAuth.BadSignature",
                ));
                negatives.push((
                    "suspended",
                    "unchanged DeviceResponse; the status list after the phone was reported lost",
                    None,
                    suspended,
                    "Mdoc.Status.Suspended",
                ));
                negatives.push((
                    "padded-base64url",
                    "the DeviceResponse base64url-encoded with padding",
                    Some(format!("{presentation}==")),
                    json!({}),
                    "VpTokenMismatch",
                ));
            }
        }
        for (id, mutation, replaced, extra, error) in negatives {
            let token_file = match replaced {
                Some(p) => out.file(
                    format!("{code}/openid4vp/{fid}/negative/{id}.vp-token.json"),
                    pretty(&json!({ "card": [p] }))?,
                ),
                None => format!("{code}/openid4vp/{fid}/age-check.vp-token.json"),
            };
            let mut case = json!({
                "id": format!("{code}-openid4vp-{fid}-neg-{id}"),
                "kind": "openid4vp",
                "card": card.doc_type(),
                "format": if format == Format::Mdoc { "mso_mdoc" } else { "dc+sd-jwt" },
                "template": "age-check",
                "mutation": mutation,
                "dcql_query": query_file,
                "vp_token": token_file,
                "request": params,
                "status_set": "current",
                "expected": expected_invalid(error),
            });
            if let (Some(c), Some(e)) = (case.as_object_mut(), extra.as_object()) {
                c.extend(e.clone());
            }
            out.cases.push(case);
        }
    }
    Ok(())
}

pub(crate) fn pretty(value: &Value) -> Result<Vec<u8>, Error> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    Ok(text.into_bytes())
}
