//! The lifecycle scenarios (`test-vectors/lifecycle/`): scripts of an issuing authority's
//! operations — issuance, renewal, IC chip enrolment and taps, loss, replacement — each step
//! with its expected outcome, for issuer implementations. Every step's keys are named test
//! keys (scalar = SHA-256("kmid test key v1: " ‖ name)), every random draw seeded, so a script
//! replays the same everywhere. `generate` writes the scripts after replaying each of them on
//! kmid's [`Issuer`]; `replay` checks a manifest as read back.

use std::path::Path;
use std::sync::Arc;

use kmid::crypto::{CryptoProvider, Signer};
use kmid::schema::status::TokenStatus;
use kmid::schema::{Card, CardType, IdentityCard};
use kmid::status::registry::{Actor, MemoryStore};
use kmid::{Formats, Issued, Issuer, Wallet, ic_tap_message};
use kmid_testkit::{Rfc6979Signer, TestPki, samples, test_key};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::Error;
use crate::conformance::{AT, fixture, rfc3339};

/// The scenarios, each a card and its steps.
fn scenarios() -> Value {
    let ok = "ok";
    json!([
        {
            "id": "chip-retired-after-replacement",
            "about": "The lost (perhaps stolen) card's chip never issues again once the card is replaced; a card found again keeps its chip.",
            "card": "rrc",
            "steps": [
                {"op": "enroll_chip", "chip": "chip-1", "expected": ok},
                {"op": "tap", "chip": "chip-1", "phone": "phone-1", "expected": ok},
                {"op": "report_card_lost", "expected": ok},
                {"op": "tap", "chip": "chip-1", "phone": "phone-1", "expected": "Status.Registry.CardLost"},
                {"op": "reinstate_card", "expected": ok},
                {"op": "tap", "chip": "chip-1", "phone": "phone-1", "expected": ok},
                {"op": "report_card_lost", "expected": ok},
                {"op": "replace_card", "expected": ok},
                {"op": "tap", "chip": "chip-1", "phone": "phone-2", "expected": "Channel.IcChipRetired"},
                {"op": "enroll_chip", "chip": "chip-2", "expected": ok},
                {"op": "tap", "chip": "chip-1", "phone": "phone-2", "expected": "Channel.IcChipRetired"},
                {"op": "tap", "chip": "chip-2", "phone": "phone-1", "expected": ok},
                {"op": "enroll_chip", "chip": "chip-1", "expected": "Status.Registry.ChipRetired"}
            ]
        },
        {
            "id": "reissue-same-phone",
            "about": "Issued again on the same phone (an address change): the earlier credentials are INVALID, the new ones VALID.",
            "card": "rrc",
            "steps": [
                {"op": "issue", "phone": "phone-1", "expected": ok},
                {"op": "issue", "phone": "phone-1", "expected": ok},
                {"op": "status", "of": 0, "expected": "INVALID"},
                {"op": "status", "of": 1, "expected": "VALID"}
            ]
        },
        {
            "id": "renewal",
            "about": "Renewal on the same phone with the grant given at issuance: single use; refused on a lost phone until it is found.",
            "card": "rc",
            "steps": [
                {"op": "issue", "phone": "phone-1", "expected": ok},
                {"op": "renew", "phone": "phone-1", "grant_of": 0, "expected": ok},
                {"op": "status", "of": 0, "expected": "INVALID"},
                {"op": "status", "of": 1, "expected": "VALID"},
                {"op": "renew", "phone": "phone-1", "grant_of": 0, "expected": "Status.Registry.Renewal.Used"},
                {"op": "report_phone_lost", "phone": "phone-1", "expected": ok},
                {"op": "renew", "phone": "phone-1", "grant_of": 1, "expected": "Status.Registry.DeviceLost"},
                {"op": "reinstate_phone", "phone": "phone-1", "expected": ok},
                {"op": "renew", "phone": "phone-2", "grant_of": 1, "expected": "Status.Registry.Renewal.OtherDevice"},
                {"op": "renew", "phone": "phone-1", "grant_of": 1, "expected": ok},
                {"op": "status", "of": 1, "expected": "INVALID"},
                {"op": "status", "of": 9, "expected": "VALID"}
            ]
        },
        {
            "id": "validity-ends-at-birthday",
            "about": "Issued 2025-07-01 to a holder born 1995-07-20: the credential ends at 00:00 KST on his birthday, not 90 days on (the mdoc's validUntil is its last valid second).",
            "card": "rc",
            "steps": [
                {"op": "issue", "phone": "phone-1", "expected": ok,
                 "valid_until": "2025-07-19T14:59:59Z", "exp": "2025-07-19T15:00:00Z"}
            ]
        },
        {
            "id": "overseas-no-ic-card",
            "about": "The overseas national ID has no IC card: the chip channel refuses it.",
            "card": "onid",
            "steps": [
                {"op": "enroll_chip", "chip": "chip-1", "expected": "Channel.NoIcCard"}
            ]
        }
    ])
}

/// The sample card of `code`.
fn card(code: &str) -> Result<Card, Error> {
    Ok(match code {
        "rrc" => Card::from(samples::resident()),
        "rc" => Card::from(samples::foreigner()),
        "onid" => Card::from(samples::overseas_national()),
        other => return Err(format!("unknown card {other:?}").into()),
    })
}

fn text<'a>(step: &'a Value, key: &str) -> Result<&'a str, Error> {
    step.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("step without {key:?}: {step}").into())
}

fn index(step: &Value, key: &str) -> Result<usize, Error> {
    step.get(key)
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("step without {key:?}: {step}").into())
}

fn device(phone: &str) -> Arc<dyn Signer> {
    Arc::new(Rfc6979Signer::for_test_key(phone))
}

/// Replays one scenario on a fresh issuer of its card; `Err` names the first step that did
/// not have its expected outcome.
fn replay_one(pki: &TestPki, scenario: &Value) -> Result<(), Error> {
    let id = text(scenario, "id")?;
    let card = card(text(scenario, "card")?)?;
    let f = fixture(pki, card.clone())?;
    let issuer: &Issuer<MemoryStore> = &f.issuer;
    let actor = |reason| Actor {
        who: "lifecycle vectors",
        at: AT,
        reason,
    };
    let steps = scenario
        .get("steps")
        .and_then(Value::as_array)
        .ok_or("scenario without steps")?;
    // What each step issued (issue, renew, tap), by step index.
    let mut issued: Vec<Option<Issued>> = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        let op = text(step, "op")?;
        let expected = text(step, "expected")?;
        let phone = || text(step, "phone");
        let outcome: Result<Option<Issued>, kmid::KmidError> = match op {
            "enroll_chip" => {
                let chip = test_key(text(step, "chip")?);
                issuer
                    .enroll_ic_card(&card, chip.public_key(), AT)
                    .map(|()| None)
            }
            "tap" => {
                let chip = Rfc6979Signer::for_test_key(text(step, "chip")?);
                let device = device(phone()?);
                let challenge = issuer.ic_challenge(AT)?;
                let message = ic_tap_message(
                    CryptoProvider::get_default(),
                    &challenge.nonce,
                    device.public_key(),
                    card.card_type().doc_type(),
                )?;
                issuer
                    .issue_by_ic_card(
                        &card,
                        &challenge.nonce,
                        &chip.sign(&message)?,
                        device.public_key(),
                        Formats::Both,
                        AT,
                    )
                    .map(Some)
            }
            "issue" => issuer
                .issue(&card, device(phone()?).public_key(), Formats::Both, AT)
                .map(Some),
            "renew" => {
                let of = index(step, "grant_of")?;
                let grant = issued
                    .get(of)
                    .and_then(Option::as_ref)
                    .and_then(|i| i.renewal.clone())
                    .ok_or_else(|| format!("{id} step {n}: step {of} gave no grant"))?;
                let wallet = Wallet::with_signer(device(phone()?), pki.trust_store());
                let nonce = kmid::renewal_nonce(CryptoProvider::get_default(), &grant)?;
                let proof = wallet.key_proof(&issuer.credential_issuer(), &nonce, AT)?;
                issuer
                    .renew(&grant, &proof, &card, Formats::Both, AT)
                    .map(Some)
            }
            "report_card_lost" => issuer
                .registry()
                .report_card_lost(&issuer.card_key(&card)?, &actor("card lost"))
                .map(|_| None)
                .map_err(Into::into),
            "reinstate_card" => issuer
                .registry()
                .reinstate_card(&issuer.card_key(&card)?, &actor("card found"))
                .map(|_| None)
                .map_err(Into::into),
            "replace_card" => issuer
                .registry()
                .replace_card(&issuer.card_key(&card)?, &actor("replacement"))
                .map(|_| None)
                .map_err(Into::into),
            "report_phone_lost" | "reinstate_phone" => {
                let thumbprint = device(phone()?).public_key().thumbprint_sha256()?;
                let registry = issuer.registry();
                if op == "report_phone_lost" {
                    registry.report_phone_lost(&thumbprint, &actor("phone lost"))
                } else {
                    registry.reinstate_phone(&thumbprint, &actor("phone found"))
                }
                .map(|_| None)
                .map_err(Into::into)
            }
            "status" => {
                let of = index(step, "of")?;
                let credentials = issued
                    .get(of)
                    .and_then(Option::as_ref)
                    .ok_or_else(|| format!("{id} step {n}: step {of} issued nothing"))?;
                let mut names = Vec::new();
                for c in [
                    credentials.mdoc.as_ref().map(|m| m.credential),
                    credentials.sd_jwt.as_ref().map(|s| s.credential),
                ]
                .into_iter()
                .flatten()
                {
                    names.push(status_name(issuer.registry().status(c)?));
                }
                if names.iter().any(|s| s != expected) {
                    return Err(
                        format!("{id} step {n}: statuses {names:?}, expected {expected}").into(),
                    );
                }
                issued.push(None);
                continue;
            }
            other => return Err(format!("{id} step {n}: unknown op {other:?}").into()),
        };
        let got = match &outcome {
            Ok(_) => "ok",
            Err(e) => e.code(),
        };
        if got != expected {
            return Err(format!("{id} step {n} ({op}): {got}, expected {expected}").into());
        }
        let result = outcome.ok().flatten();
        if let Some(i) = &result {
            check_validity(id, n, step, i)?;
        }
        issued.push(result);
    }
    Ok(())
}

fn status_name(status: TokenStatus) -> String {
    match status {
        TokenStatus::Valid => "VALID".into(),
        TokenStatus::Invalid => "INVALID".into(),
        TokenStatus::Suspended => "SUSPENDED".into(),
        other => format!("{other}"),
    }
}

/// The step's `valid_until` (the mdoc's) and `exp` (the SD-JWT VC's), when it names them.
fn check_validity(id: &str, n: usize, step: &Value, issued: &Issued) -> Result<(), Error> {
    if let Some(want) = step.get("valid_until").and_then(Value::as_str) {
        let mso = issued
            .mdoc
            .as_ref()
            .ok_or("no mdoc")?
            .issuer_signed
            .issuer_auth
            .mso();
        let got = rfc3339(mso.validity_info.valid_until)?;
        if got != want {
            return Err(format!("{id} step {n}: validUntil {got}, expected {want}").into());
        }
    }
    if let Some(want) = step.get("exp").and_then(Value::as_str) {
        let sd_jwt = &issued.sd_jwt.as_ref().ok_or("no SD-JWT VC")?.sd_jwt;
        let payload = sd_jwt
            .issuer_jwt
            .split('.')
            .nth(1)
            .ok_or("no JWT payload")?;
        let claims: Value = serde_json::from_slice(&kmid::crypto::jose::b64url_decode(payload)?)?;
        let exp = claims.get("exp").and_then(Value::as_i64).ok_or("no exp")?;
        let got = rfc3339(OffsetDateTime::from_unix_timestamp(exp)?)?;
        if got != want {
            return Err(format!("{id} step {n}: exp {got}, expected {want}").into());
        }
    }
    Ok(())
}

/// Replays every scenario of `manifest`.
///
/// # Errors
/// The first scenario step whose outcome is not the expected one.
pub(crate) fn replay(manifest: &Value) -> Result<usize, Error> {
    let pki = TestPki::new();
    let scenarios = manifest
        .get("scenarios")
        .and_then(Value::as_array)
        .ok_or("no scenarios")?;
    for s in scenarios {
        replay_one(&pki, s)?;
    }
    Ok(scenarios.len())
}

/// Writes `dir/manifest.json` after replaying every scenario on kmid; returns their number.
///
/// # Errors
/// A scenario that does not hold, or I/O failures.
pub(crate) fn generate(dir: &Path) -> Result<usize, Error> {
    let manifest = json!({
        "lifecycle": "kmid lifecycle scenarios",
        "version": 1,
        "profile": "spec/README.md (D-14, D-24, D-25), spec/status.md section 4",
        "at": rfc3339(AT)?,
        "cards": {
            "rrc": CardType::Resident.doc_type(),
            "rc": CardType::Foreigner.doc_type(),
            "onid": CardType::OverseasNational.doc_type(),
        },
        "keys": "every chip and phone is the P-256 test key of its name (scalar = SHA-256(\"kmid test key v1: \" || name)); the issuers are the test PKI's",
        "scenarios": scenarios(),
    });
    let n = replay(&manifest)?;
    std::fs::create_dir_all(dir)?;
    let mut text = serde_json::to_string_pretty(&manifest)?;
    text.push('\n');
    let path = dir.join("manifest.json");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(path, text)?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scenario whose expectation is wrong fails, naming the step.
    #[test]
    fn a_wrong_expectation_is_caught() {
        let pki = TestPki::new();
        let wrong = json!({
            "id": "wrong", "card": "rrc",
            "steps": [
                {"op": "issue", "phone": "phone-1", "expected": "ok"},
                {"op": "issue", "phone": "phone-1", "expected": "ok"},
                {"op": "status", "of": 0, "expected": "VALID"}
            ]
        });
        let err = replay_one(&pki, &wrong).unwrap_err().to_string();
        assert!(err.contains("wrong step 2"), "{err}");
    }
}
