//! OpenID4VCI conformance cases (issue 19): DPoP proofs (RFC 9449 Figure 2's, and kmid's at
//! the token endpoint and at a resource), Credential Offer URLs, and the `proofs` of a
//! Credential Request (a `jwt` proof, a batch under a key attestation), each positive case
//! with the negative mutations a server must refuse and the exact error codes. Keys are test
//! keys and signatures RFC 6979 deterministic, `jti`s from a seeded source: the files come out
//! the same on every run.

use std::sync::Arc;

use kmid::crypto::Signer;
use kmid::crypto::jose::{b64url, sign_compact};
use kmid::crypto::x509::chain_to_x5c;
use kmid::oid4vc::dpop::{DpopProof, DpopRequest};
use kmid::oid4vc::vci::offer::{CredentialOffer, OfferUrl};
use kmid_testkit::{Rfc6979Signer, SeededRandom, TestPki};
use serde_json::{Map, Value, json};
use time::Duration;

use crate::Error;
use crate::conformance::{AT, Out};

pub(crate) const ISSUER: &str = "https://issuer.kmid.invalid";
const RFC9449: &str = include_str!("../../../test-vectors/rfc9449/vectors.json");

fn valid() -> Value {
    json!({ "result": "valid" })
}

fn invalid(error: &str) -> Value {
    json!({ "result": "invalid", "error": error })
}

/// Adds the OpenID4VCI cases to `out`.
///
/// # Errors
/// Signing or encoding failures.
pub(crate) fn vci_cases(out: &mut Out) -> Result<(), Error> {
    dpop_cases(out)?;
    offer_cases(out)?;
    proof_cases(out)?;
    metadata_cases(out)?;
    client_attestation_cases(out)?;
    exchange_cases(out)?;
    Ok(())
}

fn dpop_cases(out: &mut Out) -> Result<(), Error> {
    let mut case = |id: &str,
                    proof: &str,
                    method: &str,
                    url: &str,
                    token: Option<(&str, &str)>,
                    at: Option<String>,
                    expected: Value| {
        let file = out.file(format!("vci/dpop/{id}.jwt"), format!("{proof}\n"));
        let mut dpop = json!({ "proof": file, "method": method, "url": url });
        if let (Some((t, j)), Some(d)) = (token, dpop.as_object_mut()) {
            d.insert("access_token".into(), json!([t, j]));
        }
        let mut c = json!({
            "id": format!("vci-dpop-{id}"),
            "kind": "dpop-proof",
            "dpop": dpop,
            "status_set": "current",
            "expected": expected,
        });
        if let (Some(at), Some(fields)) = (at, c.as_object_mut()) {
            fields.insert("at".into(), json!(at));
        }
        out.cases.push(c);
    };
    // RFC 9449 Figure 2, at its own iat.
    let rfc: Value = serde_json::from_str(RFC9449)?;
    let rfc_at = time::OffsetDateTime::from_unix_timestamp(
        rfc.get("iat").and_then(Value::as_i64).unwrap_or_default(),
    )?
    .format(&time::format_description::well_known::Rfc3339)?;
    let rfc_proof = rfc
        .get("proof")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    case(
        "rfc9449-figure-2",
        &rfc_proof,
        "POST",
        "https://server.example.com/token",
        None,
        Some(rfc_at.clone()),
        valid(),
    );
    case(
        "rfc9449-figure-2-stale",
        &rfc_proof,
        "POST",
        "https://server.example.com/token",
        None,
        None,
        invalid("Vci.Dpop.Stale"),
    );

    let random = SeededRandom::new(b"kmid vectors dpop");
    let key: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("holder-rrc"));
    let other: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("holder-rc"));
    let provider = kmid::crypto::CryptoProvider::get_default();
    let proof = |signer: &Arc<dyn Signer>, method: &str, path: &str, token: Option<&str>, at| {
        DpopProof::create(
            provider,
            &random,
            signer,
            &DpopRequest {
                method,
                url: &format!("{ISSUER}/{path}"),
                nonce: None,
                access_token: token,
            },
            at,
        )
    };
    let token_url = format!("{ISSUER}/token");
    let credential_url = format!("{ISSUER}/credential");
    let at_token = proof(&key, "POST", "token", None, AT)?;
    case(
        "token-endpoint",
        &at_token,
        "POST",
        &token_url,
        None,
        None,
        valid(),
    );
    case(
        "other-method",
        &at_token,
        "GET",
        &token_url,
        None,
        None,
        invalid("Vci.Dpop.Method"),
    );
    case(
        "other-url",
        &at_token,
        "POST",
        &credential_url,
        None,
        None,
        invalid("Vci.Dpop.Url"),
    );
    let old = proof(&key, "POST", "token", None, AT - Duration::minutes(6))?;
    case(
        "stale-iat",
        &old,
        "POST",
        &token_url,
        None,
        None,
        invalid("Vci.Dpop.Stale"),
    );
    let jkt = key.public_key().thumbprint_sha256_on(provider)?;
    let at_resource = proof(&key, "POST", "credential", Some("token-1"), AT)?;
    case(
        "resource",
        &at_resource,
        "POST",
        &credential_url,
        Some(("token-1", &jkt)),
        None,
        valid(),
    );
    case(
        "resource-other-token",
        &at_resource,
        "POST",
        &credential_url,
        Some(("token-2", &jkt)),
        None,
        invalid("Vci.Dpop.AccessTokenHash"),
    );
    let thief = proof(&other, "POST", "credential", Some("token-1"), AT)?;
    case(
        "resource-other-key",
        &thief,
        "POST",
        &credential_url,
        Some(("token-1", &jkt)),
        None,
        invalid("Vci.Dpop.KeyMismatch"),
    );
    // Forged headers.
    let claims =
        json!({ "jti": "j-1", "htm": "POST", "htu": token_url, "iat": AT.unix_timestamp() });
    let jwk = serde_json::to_value(key.public_key().to_jwk())?;
    let none = format!(
        "{}.{}.",
        b64url(
            json!({ "typ": "dpop+jwt", "alg": "none", "jwk": jwk })
                .to_string()
                .as_bytes()
        ),
        b64url(claims.to_string().as_bytes())
    );
    case(
        "alg-none",
        &none,
        "POST",
        &token_url,
        None,
        None,
        invalid("Vci.Dpop.Algorithm"),
    );
    let mut header = Map::new();
    header.insert("typ".into(), json!("JWT"));
    header.insert("jwk".into(), jwk);
    let typ = sign_compact(header, claims.to_string().as_bytes(), &key)?;
    case(
        "typ-jwt",
        &typ,
        "POST",
        &token_url,
        None,
        None,
        invalid("Vci.Dpop.WrongType"),
    );
    Ok(())
}

fn offer_cases(out: &mut Out) -> Result<(), Error> {
    let mut case = |id: &str, url: &str, expected: Value| {
        let file = out.file(format!("vci/offers/{id}.txt"), format!("{url}\n"));
        out.cases.push(json!({
            "id": format!("vci-offer-{id}"),
            "kind": "vci-offer",
            "offer_url": file,
            "status_set": "current",
            "expected": expected,
        }));
    };
    let offer: CredentialOffer = serde_json::from_value(json!({
        "credential_issuer": "https://www.mois.go.kr/kmid",
        "credential_configuration_ids": ["kr.go.mois.rrc.1.mso_mdoc", "kr.go.mois.rrc.1.dc+sd-jwt"],
        "grants": { "urn:ietf:params:oauth:grant-type:pre-authorized_code": {
            "pre-authorized_code": "kmid-vectors-code-0001",
            "tx_code": { "input_mode": "numeric", "length": 6 },
        } },
    }))?;
    let by_value = OfferUrl::ByValue(Box::new(offer)).to_url("openid-credential-offer://");
    case("by-value", &by_value, valid());
    case(
        "by-reference",
        &OfferUrl::ByReference("https://www.mois.go.kr/kmid/offers/1".into()).to_url("haip-vci://"),
        valid(),
    );
    case(
        "both-parameters",
        &format!("{by_value}&credential_offer_uri=https%3A%2F%2Fwww.mois.go.kr%2Fo"),
        invalid("Vci.Malformed"),
    );
    case(
        "http-reference",
        "openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fwww.mois.go.kr%2Fo",
        invalid("Vci.Malformed"),
    );
    case(
        "no-configuration",
        "openid-credential-offer://?credential_offer=%7B%22credential_issuer%22%3A%22https%3A%2F%2Fwww.mois.go.kr%2Fkmid%22%2C%22credential_configuration_ids%22%3A%5B%5D%7D",
        invalid("Vci.Missing"),
    );
    case(
        "no-offer",
        "openid-credential-offer://?x=1",
        invalid("Vci.Missing"),
    );
    Ok(())
}

fn proof_cases(out: &mut Out) -> Result<(), Error> {
    let pki = TestPki::new();
    let provider_signer: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("reader"));
    let signer = |name: &str| -> Arc<dyn Signer> { Arc::new(Rfc6979Signer::for_test_key(name)) };
    let (k0, k1, k2) = (
        signer("holder-rrc"),
        signer("holder-rc"),
        signer("holder-onc"),
    );
    let keys = [k0.clone(), k1.clone(), k2.clone()];
    let attestation = |keys: &[&Arc<dyn Signer>],
                       exp: i64,
                       signer: &Arc<dyn Signer>,
                       chain: &[kmid::crypto::x509::Certificate]|
     -> Result<String, Error> {
        let mut header = Map::new();
        header.insert("typ".into(), json!("key-attestation+jwt"));
        header.insert("x5c".into(), json!(chain_to_x5c(chain)));
        Ok(sign_compact(
            header,
            json!({
                "iat": AT.unix_timestamp(),
                "exp": exp,
                "nonce": "c-nonce-1",
                "attested_keys": keys.iter().map(|k| k.public_key().to_jwk()).collect::<Vec<_>>(),
                "key_storage": ["iso_18045_high"],
            })
            .to_string()
            .as_bytes(),
            signer,
        )?)
    };
    let proof = |signer: &Arc<dyn Signer>, aud: &str, att: Option<&str>| -> Result<String, Error> {
        let mut header = Map::new();
        header.insert("typ".into(), json!("openid4vci-proof+jwt"));
        header.insert("jwk".into(), json!(signer.public_key().to_jwk()));
        if let Some(att) = att {
            header.insert("key_attestation".into(), json!(att));
        }
        Ok(sign_compact(
            header,
            json!({ "aud": aud, "iat": AT.unix_timestamp(), "nonce": "c-nonce-1" })
                .to_string()
                .as_bytes(),
            signer,
        )?)
    };
    let reader_chain = [pki.reader.clone()];
    let exp = AT.unix_timestamp() + 3600;
    let three: Vec<&Arc<dyn Signer>> = keys.iter().collect();
    let att = attestation(&three, exp, &provider_signer, &reader_chain)?;
    let metadata = json!({ "proof_signing_alg_values_supported": ["ES256"] });
    let mut case = |id: &str, proofs: Value, batch: Option<u32>, expected: Value| {
        let file = out.file(format!("vci/proofs/{id}.json"), format!("{proofs:#}\n"));
        out.cases.push(json!({
            "id": format!("vci-proofs-{id}"),
            "kind": "vci-proofs",
            "proofs": {
                "file": file,
                "credential_issuer": ISSUER,
                "wallet_provider": "../pki/reader-root.pem",
                "metadata": metadata,
                "batch_size": batch,
            },
            "status_set": "current",
            "expected": expected,
        }));
    };
    case(
        "one-key",
        json!({ "jwt": [proof(&k0, ISSUER, None)?] }),
        None,
        valid(),
    );
    case(
        "other-aud",
        json!({ "jwt": [proof(&k0, "https://other.kmid.invalid", None)?] }),
        None,
        invalid("Vci.InvalidProof.Audience"),
    );
    case(
        "batch-under-attestation",
        json!({ "jwt": [proof(&k0, ISSUER, Some(&att))?] }),
        Some(3),
        valid(),
    );
    case(
        "attestation-proof-type",
        json!({ "attestation": [att.clone()] }),
        Some(3),
        valid(),
    );
    case(
        "batch-over-size",
        json!({ "jwt": [proof(&k0, ISSUER, Some(&att))?] }),
        Some(2),
        invalid("Vci.InvalidProof.BatchSize"),
    );
    let two: Vec<&Arc<dyn Signer>> = keys.iter().take(2).collect();
    let att_two = attestation(&two, exp, &provider_signer, &reader_chain)?;
    case(
        "key-not-attested",
        json!({ "jwt": [proof(&k2, ISSUER, Some(&att_two))?] }),
        Some(3),
        invalid("Vci.InvalidProof.NotAttested"),
    );
    case(
        "two-plain-proofs",
        json!({ "jwt": [proof(&k0, ISSUER, None)?, proof(&k1, ISSUER, None)?] }),
        Some(3),
        invalid("Vci.InvalidProof.Requirements"),
    );
    let expired = attestation(
        &three,
        AT.unix_timestamp() - 1,
        &provider_signer,
        &reader_chain,
    )?;
    case(
        "attestation-expired",
        json!({ "jwt": [proof(&k0, ISSUER, Some(&expired))?] }),
        Some(3),
        invalid("Vci.InvalidProof.Time"),
    );
    // An attestation by a certificate under another root (the MOIS Document Signer).
    let rogue_signer: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("mois-ds"));
    let rogue = attestation(
        &three,
        exp,
        &rogue_signer,
        &[pki.issuer(kmid_testkit::Authority::Mois).ds.clone()],
    )?;
    case(
        "attestation-untrusted",
        json!({ "attestation": [rogue] }),
        Some(3),
        invalid("Vci.InvalidProof.AttestationSigner"),
    );
    Ok(())
}

/// Credential Issuer Metadata: the MOIS issuer's, plain and signed (`x5c` by the test reader
/// certificate, a JWT signer under the reader root), and what a wallet must refuse.
fn metadata_cases(out: &mut Out) -> Result<(), Error> {
    let pki = TestPki::new();
    let issuer = "https://www.mois.go.kr/kmid";
    let metadata = kmid::issuance::korean_metadata(
        kmid::IssuingAuthority::Mois,
        issuer,
        &kmid::issuance::IssuanceProfile {
            batch_size: Some(3),
            key_attestations: None,
        },
    );
    let signer: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("reader"));
    let chain = [pki.reader.clone()];
    let hour = Duration::hours(1);
    let mut case = |id: &str, body: String, signed: bool, expected: Value| {
        let ext = if signed { "jwt" } else { "json" };
        let file = out.file(format!("vci/metadata/{id}.{ext}"), format!("{body}\n"));
        let mut m = json!({ "file": file, "credential_issuer": issuer });
        if signed && let Some(m) = m.as_object_mut() {
            m.insert("signer_root".into(), json!("../pki/reader-root.pem"));
        }
        out.cases.push(json!({
            "id": format!("vci-metadata-{id}"),
            "kind": "vci-metadata",
            "metadata": m,
            "status_set": "current",
            "expected": expected,
        }));
    };
    let plain = serde_json::to_value(&metadata)?;
    case("plain", format!("{plain:#}"), false, valid());
    let mut other = plain.clone();
    if let Some(o) = other.as_object_mut() {
        o.insert(
            "credential_issuer".into(),
            json!("https://other.kmid.invalid"),
        );
    }
    case(
        "plain-other-issuer",
        format!("{other:#}"),
        false,
        invalid("Vci.IssuerMismatch"),
    );
    case(
        "signed",
        metadata.sign(&signer, &chain, AT, AT + hour)?,
        true,
        valid(),
    );
    case(
        "signed-expired",
        metadata.sign(&signer, &chain, AT - hour * 2, AT - hour)?,
        true,
        invalid("Vci.Expired"),
    );
    // The root inside x5c (HAIP: the anchor is never sent).
    let with_root = [pki.reader.clone(), pki.reader_root.clone()];
    case(
        "signed-anchor-in-x5c",
        metadata.sign(&signer, &with_root, AT, AT + hour)?,
        true,
        invalid("Vci.AnchorInChain"),
    );
    // Signed by a Document Signer: a chain to the MOIS IACA, not the trusted root.
    let ds: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("mois-ds"));
    case(
        "signed-untrusted",
        metadata.sign(
            &ds,
            &[pki.issuer(kmid_testkit::Authority::Mois).ds.clone()],
            AT,
            AT + hour,
        )?,
        true,
        invalid("Vci.Certificate"),
    );
    // Another issuer's metadata served under this identifier.
    let mut foreign = metadata.clone();
    foreign.credential_issuer = "https://other.kmid.invalid".into();
    case(
        "signed-other-sub",
        foreign.sign(&signer, &chain, AT, AT + hour)?,
        true,
        invalid("Vci.IssuerMismatch"),
    );
    // The right signature over another `typ`.
    let mut header = Map::new();
    header.insert("typ".into(), json!("JWT"));
    header.insert("x5c".into(), json!(chain_to_x5c(&chain)));
    let mut claims = plain.clone();
    if let Some(c) = claims.as_object_mut() {
        c.insert("sub".into(), json!(issuer));
        c.insert("iat".into(), json!(AT.unix_timestamp()));
    }
    case(
        "signed-wrong-typ",
        sign_compact(header, claims.to_string().as_bytes(), &signer)?,
        true,
        invalid("Vci.WrongType"),
    );
    Ok(())
}

/// Client authentication by wallet attestation (OpenID4VCI Appendix E, HAIP 1.0 §4.3.1): a
/// wallet provider (the test reader certificate under the reader root) attests an instance
/// key; the instance's PoP is for the Authorization Server. Every refusal is
/// `Vci.InvalidClient` (`invalid_client` on the wire).
fn client_attestation_cases(out: &mut Out) -> Result<(), Error> {
    use kmid::oid4vc::vci::client_attestation::{
        WalletAttestationClaims, client_attestation_pop, issue_wallet_attestation,
    };
    let pki = TestPki::new();
    let server = "https://www.mois.go.kr/kmid";
    let client_id = "https://wallet.kmid.invalid";
    let provider: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("reader"));
    let instance: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("holder-rrc"));
    let other_key: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("holder-rc"));
    let random = SeededRandom::new(b"kmid vectors client attestation");
    let chain = [pki.reader.clone()];
    let attest = |signer: &Arc<dyn Signer>,
                  chain: &[kmid::crypto::x509::Certificate],
                  at: time::OffsetDateTime|
     -> Result<String, Error> {
        Ok(issue_wallet_attestation(
            signer,
            chain,
            &WalletAttestationClaims {
                provider: "https://wallet-provider.kmid.invalid",
                client_id,
                wallet_name: Some("kmid"),
                instance_key: instance.public_key(),
                at,
                lifetime: Duration::hours(24),
            },
        )?)
    };
    let pop = |key: &Arc<dyn Signer>, aud: &str| -> Result<String, Error> {
        Ok(client_attestation_pop(
            key, &random, client_id, aud, None, AT,
        )?)
    };
    let mut case = |id: &str, attestation: String, pop: String, expected: Value| {
        let attestation = out.file(
            format!("vci/client-attestation/{id}.attestation.jwt"),
            format!("{attestation}\n"),
        );
        let pop = out.file(
            format!("vci/client-attestation/{id}.pop.jwt"),
            format!("{pop}\n"),
        );
        out.cases.push(json!({
            "id": format!("vci-client-attestation-{id}"),
            "kind": "client-attestation",
            "client_attestation": {
                "attestation": attestation,
                "pop": pop,
                "authorization_server": server,
                "wallet_provider": "../pki/reader-root.pem",
            },
            "status_set": "current",
            "expected": expected,
        }));
    };
    let good = attest(&provider, &chain, AT)?;
    case("valid", good.clone(), pop(&instance, server)?, valid());
    case(
        "pop-other-audience",
        good.clone(),
        pop(&instance, "https://other.kmid.invalid")?,
        invalid("Vci.InvalidClient"),
    );
    case(
        "pop-other-key",
        good,
        pop(&other_key, server)?,
        invalid("Vci.InvalidClient"),
    );
    case(
        "attestation-expired",
        attest(&provider, &chain, AT - Duration::hours(25))?,
        pop(&instance, server)?,
        invalid("Vci.InvalidClient"),
    );
    let ds: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("mois-ds"));
    case(
        "attestation-untrusted",
        attest(
            &ds,
            &[pki.issuer(kmid_testkit::Authority::Mois).ds.clone()],
            AT,
        )?,
        pop(&instance, server)?,
        invalid("Vci.InvalidClient"),
    );
    Ok(())
}

const EXCHANGE_SEED: &str = "kmid vectors vci exchange";
const EXCHANGE_NONCE_KEY: [u8; 32] = [0x5a; 32];

/// An exchange being written: the live server it is run against (seeded as the runner seeds
/// its own), and the steps so far.
struct Script<'a> {
    server: kmid::oid4vc::vci::server::IssuanceServer<'a>,
    code: String,
    tx_code: Option<String>,
    steps: Vec<Value>,
}

impl Script<'_> {
    /// Runs a step on the live server and records it; the access token or `c_nonce` it gave.
    fn step(
        &mut self,
        endpoint: &str,
        body: &str,
        dpop: Option<&str>,
        access_token: Option<&str>,
    ) -> Result<Option<String>, kmid::oid4vc::vci::VciError> {
        let step = kmid::conformance::ExchangeStep {
            endpoint: endpoint.to_owned(),
            body: body.to_owned(),
            dpop: dpop.map(str::to_owned),
            access_token: access_token.map(str::to_owned),
            ..kmid::conformance::ExchangeStep::default()
        };
        let answered = kmid::conformance::run_step(&self.server, &step, ISSUER, AT);
        self.steps
            .push(serde_json::to_value(&step).unwrap_or_default());
        let answered = answered?;
        Ok(["access_token", "c_nonce"]
            .iter()
            .find_map(|k| answered.get(*k).and_then(Value::as_str))
            .map(str::to_owned))
    }
}

pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        out.append_pair(k, v);
    }
    out.finish()
}

/// OpenID4VCI exchanges against a fresh issuer (`vci-exchange`): the token endpoint's
/// pre-authorized grant and the credential endpoint, each with the refusals a server must
/// give (exact codes).
#[allow(clippy::too_many_lines)]
fn exchange_cases(out: &mut Out) -> Result<(), Error> {
    use kmid::oid4vc::store::MemoryIssuanceStore;
    use kmid::oid4vc::vci::nonce::NonceKey;
    use kmid::oid4vc::vci::server::{IssuanceConfig, IssuanceServer, Lifetimes};
    let provider = kmid::crypto::CryptoProvider::get_default();
    let metadata = kmid::issuance::korean_metadata(
        kmid::IssuingAuthority::Mois,
        ISSUER,
        &kmid::issuance::IssuanceProfile::default(),
    );
    let sd_id = "kr.go.mois.rrc.1.dc+sd-jwt";
    let subject = json!({ "holder": "the sample resident" });
    let dpop_key: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("holder-rrc"));
    let other_key: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("holder-rc"));
    let device: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("holder-onc"));
    let wallet_random = SeededRandom::new(b"kmid vectors vci exchange wallet");
    let dpop =
        |key: &Arc<dyn Signer>, endpoint: &str, token: Option<&str>| -> Result<String, Error> {
            Ok(DpopProof::create(
                provider,
                &wallet_random,
                key,
                &DpopRequest {
                    method: "POST",
                    url: &format!("{ISSUER}/{endpoint}"),
                    nonce: None,
                    access_token: token,
                },
                AT,
            )?)
        };
    let key_proof = |nonce: &str| -> Result<String, Error> {
        let mut header = Map::new();
        header.insert("typ".into(), json!("openid4vci-proof+jwt"));
        header.insert("jwk".into(), json!(device.public_key().to_jwk()));
        Ok(sign_compact(
            header,
            json!({ "aud": ISSUER, "iat": AT.unix_timestamp(), "nonce": nonce })
                .to_string()
                .as_bytes(),
            &device,
        )?)
    };
    let config = IssuanceConfig {
        metadata: metadata.clone(),
        nonce_key: NonceKey::from_bytes(EXCHANGE_NONCE_KEY),
        require_dpop_nonce: false,
        wallet_providers: kmid::crypto::x509::TrustStore::new(),
        anonymous_pre_authorized: true,
        redirect_uris: std::collections::BTreeMap::new(),
        lifetimes: Lifetimes::default(),
    };
    let nonce_key: String = EXCHANGE_NONCE_KEY
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let mut case =
        |id: &str, script: &dyn Fn(&mut Script<'_>) -> Result<Value, Error>| -> Result<(), Error> {
            let store = MemoryIssuanceStore::default();
            let random = SeededRandom::new(EXCHANGE_SEED.as_bytes());
            let server = IssuanceServer::new(&config, &store, provider, &random);
            let offer = server.offer_pre_authorized(&subject, &[sd_id.to_owned()], true, AT)?;
            let code = offer
                .offer
                .grants
                .pre_authorized_code
                .as_ref()
                .map(|g| g.code.clone())
                .ok_or("the offer has no code")?;
            let mut s = Script {
                server,
                code,
                tx_code: offer.tx_code,
                steps: Vec::new(),
            };
            let expected = script(&mut s)?;
            let file = out.file(
                format!("vci/exchange/{id}.json"),
                format!(
                    "{:#}\n",
                    json!({
                        "metadata": metadata,
                        "nonce_key": nonce_key,
                        "random_seed": EXCHANGE_SEED,
                        "offer": { "subject": subject, "configurations": [sd_id], "tx_code": true },
                        "steps": s.steps,
                    })
                ),
            );
            out.cases.push(json!({
                "id": format!("vci-exchange-{id}"),
                "kind": "vci-exchange",
                "exchange": file,
                "status_set": "current",
                "expected": expected,
            }));
            Ok(())
        };
    let token_body = |s: &Script<'_>, tx: Option<&str>| {
        form(&[
            (
                "grant_type",
                "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            ),
            ("pre-authorized_code", &s.code),
            ("tx_code", tx.or(s.tx_code.as_deref()).unwrap_or_default()),
        ])
    };
    // The token endpoint.
    case("token", &|s| {
        let body = token_body(s, None);
        s.step("token", &body, Some(&dpop(&dpop_key, "token", None)?), None)?;
        Ok(valid())
    })?;
    case("token-wrong-tx-code", &|s| {
        let wrong = if s.tx_code.as_deref() == Some("00000") {
            "11111"
        } else {
            "00000"
        };
        let body = token_body(s, Some(wrong));
        let _ = s.step("token", &body, Some(&dpop(&dpop_key, "token", None)?), None);
        Ok(invalid("Vci.InvalidGrant"))
    })?;
    case("token-code-reused", &|s| {
        let body = token_body(s, None);
        s.step("token", &body, Some(&dpop(&dpop_key, "token", None)?), None)?;
        let _ = s.step("token", &body, Some(&dpop(&dpop_key, "token", None)?), None);
        Ok(invalid("Vci.InvalidGrant"))
    })?;
    case("token-no-dpop", &|s| {
        let body = token_body(s, None);
        let _ = s.step("token", &body, None, None);
        Ok(invalid("Vci.Dpop.Malformed"))
    })?;
    case("token-dpop-for-another-url", &|s| {
        let body = token_body(s, None);
        let _ = s.step(
            "token",
            &body,
            Some(&dpop(&dpop_key, "credential", None)?),
            None,
        );
        Ok(invalid("Vci.Dpop.Url"))
    })?;
    case("token-unsupported-grant", &|s| {
        let body = form(&[("grant_type", "client_credentials")]);
        let _ = s.step("token", &body, Some(&dpop(&dpop_key, "token", None)?), None);
        Ok(invalid("Vci.UnsupportedGrantType"))
    })?;
    // The credential endpoint, after a token and a c_nonce.
    let credential = |s: &mut Script<'_>,
                      body: &dyn Fn(&str) -> Result<Value, Error>,
                      key: &Arc<dyn Signer>,
                      with_token: bool|
     -> Result<(), Error> {
        let form_body = token_body(s, None);
        let token = s
            .step(
                "token",
                &form_body,
                Some(&dpop(&dpop_key, "token", None)?),
                None,
            )?
            .ok_or("no access token")?;
        let c_nonce = s.step("nonce", "", None, None)?.ok_or("no c_nonce")?;
        let request = body(&c_nonce)?.to_string();
        let proof = dpop(key, "credential", Some(&token))?;
        let _ = s.step(
            "credential",
            &request,
            Some(&proof),
            with_token.then_some(token.as_str()),
        );
        Ok(())
    };
    let one = |c_nonce: &str| -> Result<Value, Error> {
        Ok(
            json!({ "credential_configuration_id": sd_id, "proofs": { "jwt": [key_proof(c_nonce)?] } }),
        )
    };
    case("credential", &|s| {
        credential(s, &one, &dpop_key, true)?;
        Ok(valid())
    })?;
    case("credential-unknown-configuration", &|s| {
        credential(
            s,
            &|n| {
                Ok(json!({
                    "credential_configuration_id": "kr.go.mois.rrc.1.jwt_vc_json",
                    "proofs": { "jwt": [key_proof(n)?] }
                }))
            },
            &dpop_key,
            true,
        )?;
        Ok(invalid("Vci.UnknownCredentialConfiguration"))
    })?;
    // OpenID4VCI 1.0 has `proofs` only, and an issuer ignores parameters it does not know: a
    // draft's singular `proof` beside `proofs` is ignored; alone it is no proof.
    case("credential-unknown-proof-parameter-ignored", &|s| {
        credential(
            s,
            &|n| {
                let proof = key_proof(n)?;
                Ok(json!({
                    "credential_configuration_id": sd_id,
                    "proof": { "proof_type": "jwt", "jwt": proof },
                    "proofs": { "jwt": [proof] }
                }))
            },
            &dpop_key,
            true,
        )?;
        Ok(valid())
    })?;
    case("credential-draft-singular-proof", &|s| {
        credential(
            s,
            &|n| {
                Ok(json!({
                    "credential_configuration_id": sd_id,
                    "proof": { "proof_type": "jwt", "jwt": key_proof(n)? }
                }))
            },
            &dpop_key,
            true,
        )?;
        Ok(invalid("Vci.InvalidProof.Malformed"))
    })?;
    case("credential-nonce-not-issued", &|s| {
        credential(
            s,
            &|_| {
                Ok(json!({
                    "credential_configuration_id": sd_id,
                    "proofs": { "jwt": [key_proof("not-a-nonce-of-this-issuer")?] }
                }))
            },
            &dpop_key,
            true,
        )?;
        Ok(invalid("Vci.InvalidNonce"))
    })?;
    case("credential-without-token", &|s| {
        credential(s, &one, &dpop_key, false)?;
        Ok(invalid("Vci.InvalidToken"))
    })?;
    case("credential-dpop-by-another-key", &|s| {
        credential(s, &one, &other_key, true)?;
        Ok(invalid("Vci.Dpop.KeyMismatch"))
    })?;
    Ok(())
}
