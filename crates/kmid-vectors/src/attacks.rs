//! The attack suite (`test-vectors/negative/`): hostile presentations and status lists, each
//! with the exact error kmid must report. Written with the conformance manifest format (so
//! `kmid conformance` runs it) and generated deterministically like the conformance vectors.
//!
//! Forgeries that must get past one check to reach the next are re-signed with the test
//! issuer's (or holder's) deterministic key: a case then fails for its one defect, not for a
//! broken signature.

use std::path::Path;
use std::sync::Arc;

use ciborium::Value as Cbor;
use kmid::crypto::jose::{b64url, b64url_decode};
use kmid::crypto::x509::{Certificate, CertificateKind, CertificateParams, issue_certificate};
use kmid::crypto::{HashAlgorithm, Signer};
use kmid::mdoc::device_authentication_bytes;
use kmid::mdoc::model::{Handover, SessionTranscript};
use kmid::schema::{Card, CardType};
use kmid::sdjwt::SdJwt;
use kmid::status::StatusList;
use kmid::status::registry::Actor;
use kmid::status::token::{TokenClaims, TokenSigner, sign_cwt, sign_jwt};
use kmid::{Formats, OpenId4VpRequest, Template};
use kmid_testkit::samples;
use kmid_testkit::{Rfc6979Signer, SeededRandom, TestPki};
use serde_json::{Map, Value, json};
use time::{Duration, OffsetDateTime};

use crate::conformance::{
    AT, Error, Fixture, Out, check_and_write, expected_invalid, fixture, pki_trust, pretty,
};

const CLIENT_ID: &str = "x509_san_dns:bank.kmid.invalid";
const NONCE: &str = "kmid-attacks-nonce";
const RESPONSE_URI: &str = "https://bank.kmid.invalid/openid4vp/response";

fn cbor_bytes(value: &Cbor) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out)?;
    Ok(out)
}

fn cbor_value(bytes: &[u8]) -> Result<Cbor, Error> {
    Ok(ciborium::from_reader(bytes)?)
}

fn get<'a>(map: &'a Cbor, key: &str) -> Result<&'a Cbor, Error> {
    map.as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.as_text() == Some(key)))
        .map(|(_, v)| v)
        .ok_or_else(|| format!("no {key}").into())
}

fn get_mut<'a>(map: &'a mut Cbor, key: &str) -> Result<&'a mut Cbor, Error> {
    map.as_map_mut()
        .and_then(|m| m.iter_mut().find(|(k, _)| k.as_text() == Some(key)))
        .map(|(_, v)| v)
        .ok_or_else(|| format!("no {key}").into())
}

fn set(map: &mut Cbor, key: &str, value: Cbor) -> Result<(), Error> {
    *get_mut(map, key)? = value;
    Ok(())
}

/// A COSE_Sign1 (untagged) signed by `signer`, with `x5chain` when a chain is given.
fn sign1(
    signer: &dyn Signer,
    chain: &[&Certificate],
    payload: Option<Vec<u8>>,
    detached: Option<&[u8]>,
    alg: i64,
) -> Result<Cbor, Error> {
    let protected = cbor_bytes(&Cbor::Map(vec![(Cbor::from(1), Cbor::from(alg))]))?;
    let signed_payload = payload.as_deref().or(detached).unwrap_or_default();
    let tbs = cbor_bytes(&Cbor::Array(vec![
        Cbor::Text("Signature1".into()),
        Cbor::Bytes(protected.clone()),
        Cbor::Bytes(Vec::new()),
        Cbor::Bytes(signed_payload.to_vec()),
    ]))?;
    let signature = signer.sign(&tbs)?;
    let unprotected = match chain {
        [] => Vec::new(),
        [one] => vec![(Cbor::from(33), Cbor::Bytes(one.der().to_vec()))],
        many => vec![(
            Cbor::from(33),
            Cbor::Array(many.iter().map(|c| Cbor::Bytes(c.der().to_vec())).collect()),
        )],
    };
    Ok(Cbor::Array(vec![
        Cbor::Bytes(protected),
        Cbor::Map(unprotected),
        payload.map_or(Cbor::Null, Cbor::Bytes),
        Cbor::Bytes(signature),
    ]))
}

/// A DeviceResponse taken apart so that any part can be changed and signed again.
#[derive(Clone)]
struct MdocForge {
    response: Cbor,
}

impl MdocForge {
    fn new(bytes: &[u8]) -> Result<Self, Error> {
        Ok(Self {
            response: cbor_value(bytes)?,
        })
    }

    fn doc(&mut self) -> Result<&mut Cbor, Error> {
        get_mut(&mut self.response, "documents")?
            .as_array_mut()
            .and_then(|a| a.first_mut())
            .ok_or_else(|| "no document".into())
    }

    fn issuer_auth(&mut self) -> Result<&mut Vec<Cbor>, Error> {
        get_mut(get_mut(self.doc()?, "issuerSigned")?, "issuerAuth")?
            .as_array_mut()
            .ok_or_else(|| "issuerAuth is not an array".into())
    }

    /// The MSO as a CBOR value.
    fn mso(&mut self) -> Result<Cbor, Error> {
        let payload = self
            .issuer_auth()?
            .get(2)
            .and_then(Cbor::as_bytes)
            .ok_or("no payload")?
            .clone();
        match cbor_value(&payload)? {
            Cbor::Tag(24, inner) => cbor_value(inner.as_bytes().ok_or("tag 24 without bytes")?),
            _ => Err("MSO is not tag 24".into()),
        }
    }

    /// Replaces the MSO and signs issuerAuth again with `signer` and `chain`.
    fn resign_mso(
        &mut self,
        mso: &Cbor,
        signer: &dyn Signer,
        chain: &[&Certificate],
    ) -> Result<(), Error> {
        let payload = cbor_bytes(&Cbor::Tag(24, Box::new(Cbor::Bytes(cbor_bytes(mso)?))))?;
        let signed = sign1(signer, chain, Some(payload), None, -7)?;
        *self.issuer_auth()? = match signed {
            Cbor::Array(parts) => parts,
            _ => return Err("COSE_Sign1 is an array".into()),
        };
        Ok(())
    }

    /// Signs deviceAuth again for `transcript` with `holder`.
    fn resign_device(
        &mut self,
        holder: &dyn Signer,
        transcript: &SessionTranscript,
    ) -> Result<(), Error> {
        let doc = self.doc()?;
        let doc_type = get(doc, "docType")?.as_text().ok_or("docType")?.to_owned();
        let device_signed = get_mut(doc, "deviceSigned")?;
        let ns_bytes = cbor_bytes(get(device_signed, "nameSpaces")?)?;
        let to_sign = device_authentication_bytes(transcript, &doc_type, &ns_bytes);
        let signature = sign1(holder, &[], None, Some(&to_sign), -7)?;
        set(
            device_signed,
            "deviceAuth",
            Cbor::Map(vec![(Cbor::Text("deviceSignature".into()), signature)]),
        )
    }

    /// The IssuerSignedItemBytes of `namespace`.
    fn items(&mut self, namespace: &str) -> Result<&mut Vec<Cbor>, Error> {
        get_mut(
            get_mut(get_mut(self.doc()?, "issuerSigned")?, "nameSpaces")?,
            namespace,
        )?
        .as_array_mut()
        .ok_or_else(|| "namespace is not an array".into())
    }

    fn bytes(&self) -> Result<Vec<u8>, Error> {
        cbor_bytes(&self.response)
    }
}

fn item_of(tagged: &Cbor) -> Result<Cbor, Error> {
    match tagged {
        Cbor::Tag(24, inner) => cbor_value(inner.as_bytes().ok_or("tag 24 without bytes")?),
        _ => Err("item is not tag 24".into()),
    }
}

fn tag24(value: &Cbor) -> Result<Cbor, Error> {
    Ok(Cbor::Tag(24, Box::new(Cbor::Bytes(cbor_bytes(value)?))))
}

/// Sets the MSO's `valueDigests[namespace][digestID]` to the SHA-256 of `item`'s bytes.
fn redigest(mso: &mut Cbor, namespace: &str, item: &Cbor) -> Result<(), Error> {
    let bytes = cbor_bytes(item)?;
    let digest = HashAlgorithm::Sha256.digest(&bytes)?;
    let id = get(&item_of(item)?, "digestID")?.clone();
    let digests = get_mut(get_mut(mso, "valueDigests")?, namespace)?
        .as_map_mut()
        .ok_or("digests are a map")?;
    match digests.iter_mut().find(|(k, _)| *k == id) {
        Some((_, v)) => *v = Cbor::Bytes(digest),
        None => digests.push((id, Cbor::Bytes(digest))),
    }
    Ok(())
}

/// An SD-JWT taken apart: header and payload of the issuer-signed JWT, the Disclosures.
struct SdJwtForge {
    header: Map<String, Value>,
    payload: Map<String, Value>,
    disclosures: Vec<String>,
}

impl SdJwtForge {
    fn new(compact: &str) -> Result<Self, Error> {
        let sd_jwt = SdJwt::parse_compact(compact, &kmid::sdjwt::SdJwtLimits::default())?;
        let mut parts = sd_jwt.issuer_jwt.split('.');
        let mut part = || -> Result<Map<String, Value>, Error> {
            let bytes = b64url_decode(parts.next().ok_or("JWT part")?)?;
            Ok(serde_json::from_slice(&bytes)?)
        };
        let header = part()?;
        let payload = part()?;
        Ok(Self {
            header,
            payload,
            disclosures: sd_jwt.disclosures,
        })
    }

    /// The issuer-signed JWT signed again by `signer` (the header's `alg` is the signer's).
    fn issuer_jwt(&self, signer: &Arc<dyn Signer>) -> Result<String, Error> {
        let mut header = self.header.clone();
        header.remove("alg");
        Ok(kmid::crypto::jose::sign_compact(
            header,
            Value::Object(self.payload.clone()).to_string().as_bytes(),
            signer,
        )?)
    }

    /// The presentation: `issuer_jwt`, the Disclosures, and a fresh KB-JWT by `holder`.
    fn present(
        &self,
        issuer_jwt: String,
        holder: &Arc<dyn Signer>,
        nonce: &str,
        audience: &str,
    ) -> Result<String, Error> {
        let mut sd_jwt = SdJwt {
            issuer_jwt,
            disclosures: self.disclosures.clone(),
            kb_jwt: None,
        };
        sd_jwt.kb_jwt = Some(kmid::sdjwt::kb::create(
            kmid::crypto::CryptoProvider::get_default(),
            &sd_jwt,
            HashAlgorithm::Sha256,
            holder,
            nonce,
            audience,
            AT,
        )?);
        Ok(sd_jwt.to_compact())
    }

    /// Signs with `signer` and presents with `holder` for the suite's request.
    fn resign_and_present(
        &self,
        signer: &Arc<dyn Signer>,
        holder: &Arc<dyn Signer>,
    ) -> Result<String, Error> {
        self.present(self.issuer_jwt(signer)?, holder, NONCE, CLIENT_ID)
    }
}

/// An unsigned JWS with `header` over the forge's payload, with `signature`.
fn raw_jws(header: &Value, payload: &Map<String, Value>, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(Value::Object(payload.clone()).to_string().as_bytes()),
        b64url(signature)
    )
}

/// HMAC-SHA-256, for the algorithm-confusion case (the verifier's public key as the secret).
fn hmac_sha256(key: &[u8], message: &[u8]) -> Result<Vec<u8>, Error> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        let digest = HashAlgorithm::Sha256.digest(key)?;
        block
            .get_mut(..digest.len())
            .ok_or("digest length")?
            .copy_from_slice(&digest);
    } else {
        block
            .get_mut(..key.len())
            .ok_or("key length")?
            .copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let mut inner = pad(0x36);
    inner.extend_from_slice(message);
    let mut outer = pad(0x5c);
    outer.extend(HashAlgorithm::Sha256.digest(&inner)?);
    Ok(HashAlgorithm::Sha256.digest(&outer)?)
}

/// A disclosure for `name` = `value` with a fixed salt.
fn disclosure(salt: &str, name: &str, value: &Value) -> String {
    b64url(json!([salt, name, value]).to_string().as_bytes())
}

fn sd_digest(encoded: &str) -> Result<String, Error> {
    Ok(b64url(&HashAlgorithm::Sha256.digest(encoded.as_bytes())?))
}

/// Appends `digest` to the top-level `_sd` array.
fn add_sd(payload: &mut Map<String, Value>, digest: String) -> Result<(), Error> {
    payload
        .get_mut("_sd")
        .and_then(Value::as_array_mut)
        .ok_or("no _sd")?
        .push(Value::String(digest));
    Ok(())
}

struct Suite {
    out: Out,
    request_file: String,
    transcript_file: String,
    query_file: String,
}

impl Suite {
    #[allow(clippy::too_many_arguments)]
    fn mdoc(
        &mut self,
        id: &str,
        attack: &str,
        response: Vec<u8>,
        extra: Value,
        expected: Value,
    ) -> Result<(), Error> {
        let file = self
            .out
            .file(format!("mdoc/{id}.device-response.cbor"), response);
        let mut case = json!({
            "id": format!("mdoc-{id}"),
            "kind": "mdoc-proximity",
            "card": CardType::Resident.doc_type(),
            "format": "mso_mdoc",
            "template": "age-check",
            "mutation": attack,
            "device_request": self.request_file,
            "device_response": file,
            "session_transcript": self.transcript_file,
            "status_set": "current",
            "expected": expected,
        });
        merge(&mut case, extra);
        self.out.cases.push(case);
        Ok(())
    }

    fn sd_jwt(
        &mut self,
        id: &str,
        attack: &str,
        presentation: String,
        extra: Value,
        expected: Value,
    ) -> Result<(), Error> {
        let file = self.out.file(
            format!("sd-jwt-vc/{id}.vp-token.json"),
            pretty(&json!({ "card": [presentation] }))?,
        );
        let mut case = json!({
            "id": format!("sd-jwt-vc-{id}"),
            "kind": "openid4vp",
            "card": CardType::Resident.doc_type(),
            "format": "dc+sd-jwt",
            "template": "age-check",
            "mutation": attack,
            "dcql_query": self.query_file,
            "vp_token": file,
            "request": { "client_id": CLIENT_ID, "nonce": NONCE, "response_uri": RESPONSE_URI },
            "status_set": "current",
            "expected": expected,
        });
        merge(&mut case, extra);
        self.out.cases.push(case);
        Ok(())
    }

    fn status_token(&mut self, id: &str, attack: &str, uri: &str, token: Vec<u8>, expected: Value) {
        let file = self.out.file(format!("status/{id}.token"), token);
        self.out.cases.push(json!({
            "id": format!("status-{id}"),
            "kind": "status-token",
            "mutation": attack,
            "status_token": file,
            "status_uri": uri,
            "status_set": "current",
            "expected": expected,
        }));
    }
}

fn merge(case: &mut Value, extra: Value) {
    if let (Some(case), Value::Object(extra)) = (case.as_object_mut(), extra) {
        case.extend(extra);
    }
}

fn valid() -> Value {
    json!({ "result": "valid", "status": "VALID" })
}

/// Generates the attack suite into `dir` (normally `test-vectors/negative`). Returns the
/// number of cases.
///
/// # Errors
/// A case whose outcome differs from its expectation, or I/O failures.
#[allow(clippy::too_many_lines)]
pub(crate) fn generate(dir: &Path) -> Result<usize, Error> {
    let pki = TestPki::new();
    let mut f: Fixture = fixture(&pki, Card::from(samples::resident()))?;
    let other: Fixture = fixture(&pki, Card::from(samples::foreigner()))?;
    let card = CardType::Resident;
    let issued = f
        .issuer
        .issue(&f.card, f.wallet.device_key(), Formats::Both, AT)?;
    let mdoc = issued.mdoc.ok_or("no mdoc")?;
    let sd = issued.sd_jwt.ok_or("no SD-JWT VC")?;
    let compact = sd.sd_jwt.to_compact();
    f.wallet.store_mdoc(mdoc.issuer_signed.clone(), AT)?;
    f.wallet.store_sd_jwt(&compact, AT)?;
    let other_issued =
        other
            .issuer
            .issue(&other.card, other.wallet.device_key(), Formats::Both, AT)?;
    let other_sd = other_issued.sd_jwt.ok_or("no SD-JWT VC")?;

    let ds_signer: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("mois-ds"));
    let holder: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("holder-rrc"));
    let attacker: Arc<dyn Signer> = Arc::new(Rfc6979Signer::for_test_key("attacker"));
    let mois = pki.issuer(kmid_testkit::Authority::Mois);
    let ds_cert = mois.ds.clone();
    let iaca = mois.iaca.clone();

    let mut suite = Suite {
        out: Out::default(),
        request_file: String::new(),
        transcript_file: String::new(),
        query_file: String::new(),
    };

    // Status sets: as issued, after the phone was lost (suspended), after revocation, and a
    // list whose token inflates past the verifier's cap (a ZLIB bomb).
    let uri = mdoc.status.uri.clone();
    let mut status_sets = Map::new();
    let actor = Actor {
        who: "attacks",
        at: AT,
        reason: "attack suite",
    };
    let mut publish = |name: &str, suite: &mut Suite| -> Result<(), Error> {
        let mut lists = Vec::new();
        for (n, list) in f.issuer.publish(AT, 300)?.into_iter().enumerate() {
            let stem = format!("status/{name}-{n}");
            let jwt = suite
                .out
                .file(format!("{stem}.jwt"), format!("{}\n", list.jwt));
            let cwt = suite.out.file(format!("{stem}.cwt"), list.cwt);
            lists.push(json!({ "uri": list.uri, "jwt": jwt, "cwt": cwt }));
        }
        status_sets.insert(name.to_owned(), Value::Array(lists));
        Ok(())
    };
    publish("current", &mut suite)?;
    // For the validity edges, weeks later: a list published an hour before the credentials
    // expire (the mdoc's validUntil and the SD-JWT VC's exp are the same instant).
    let until = mdoc
        .issuer_signed
        .issuer_auth
        .mso()
        .validity_info
        .valid_until;
    let late_lists = f.issuer.publish(until - Duration::hours(1), 86_400)?;
    let mut lists = Vec::new();
    for (n, list) in late_lists.into_iter().enumerate() {
        let jwt = suite
            .out
            .file(format!("status/late-{n}.jwt"), format!("{}\n", list.jwt));
        let cwt = suite.out.file(format!("status/late-{n}.cwt"), list.cwt);
        lists.push(json!({ "uri": list.uri, "jwt": jwt, "cwt": cwt }));
    }
    f.issuer.registry().report_phone_lost(&f.device, &actor)?;
    publish("suspended", &mut suite)?;
    f.issuer.registry().reinstate_phone(&f.device, &actor)?;
    f.issuer.registry().revoke(mdoc.credential, &actor)?;
    f.issuer.registry().revoke(sd.credential, &actor)?;
    publish("revoked", &mut suite)?;
    status_sets.insert("late".into(), Value::Array(lists));
    // 40 MiB of zeros: a few tens of KiB compressed, over the 32 MiB default cap.
    let bomb_list = StatusList::new(1, 40 * 1024 * 1024 * 8)?;
    let chain = [ds_cert.clone()];
    let token_signer = TokenSigner {
        signer: &ds_signer,
        chain: &chain,
        kid: None,
        provider: kmid::crypto::CryptoProvider::get_default(),
    };
    let bomb_claims = TokenClaims {
        sub: uri.clone(),
        iat: AT.unix_timestamp(),
        exp: Some((AT + Duration::days(1)).unix_timestamp()),
        ttl: Some(300),
    };
    let bomb = sign_jwt(&bomb_list, &bomb_claims, &token_signer)?;
    let bomb_cwt = sign_cwt(&bomb_list, &bomb_claims, &token_signer)?;
    let bomb_file = suite
        .out
        .file("status/zlib-bomb.jwt".into(), format!("{bomb}\n"));
    let bomb_cwt_file = suite
        .out
        .file("status/zlib-bomb.cwt".into(), bomb_cwt.clone());
    status_sets.insert(
        "zlib-bomb".into(),
        json!([{ "uri": uri, "jwt": bomb_file, "cwt": bomb_cwt_file }]),
    );

    // --- mdoc ---------------------------------------------------------------------------
    let transcript = SessionTranscript::new(None, None, &Handover::Qr)?;
    suite.transcript_file = suite.out.file(
        "mdoc/session-transcript.cbor".into(),
        transcript.tagged_bytes(),
    );
    let request = Template::AgeCheck.mdoc_request(card);
    suite.request_file = suite.out.file(
        "mdoc/age-check.device-request.cbor".into(),
        request.to_bytes(),
    );
    let response = f.wallet.respond_mdoc(&request, &transcript, AT)?.to_bytes();
    let base = MdocForge::new(&response)?;
    let ns_kmid = "kr.go.mobileid.1";
    let ns_iso = "org.iso.23220.1";

    suite.mdoc(
        "baseline",
        "none: the presentation as the wallet made it",
        response.clone(),
        json!({}),
        valid(),
    )?;

    // Signature stripping and algorithm confusion.
    let mut forge = base.clone();
    if let Some(sig) = forge.issuer_auth()?.get_mut(3) {
        *sig = Cbor::Bytes(Vec::new());
    }
    suite.mdoc(
        "issuer-signature-stripped",
        "issuerAuth's signature replaced by an empty byte string",
        forge.bytes()?,
        json!({}),
        expected_invalid("Mdoc.IssuerAuth.BadSignature"),
    )?;
    let mut forge = base.clone();
    let mso = forge.mso()?;
    let payload = cbor_bytes(&Cbor::Tag(24, Box::new(Cbor::Bytes(cbor_bytes(&mso)?))))?;
    let protected = cbor_bytes(&Cbor::Map(vec![(Cbor::from(1), Cbor::from(5))]))?;
    if let Some(p) = forge.issuer_auth()?.get_mut(0) {
        *p = Cbor::Bytes(protected);
    }
    let tbs = cbor_bytes(&Cbor::Array(vec![
        Cbor::Text("Signature1".into()),
        forge.issuer_auth()?.first().cloned().ok_or("protected")?,
        Cbor::Bytes(Vec::new()),
        Cbor::Bytes(payload),
    ]))?;
    let mac = hmac_sha256(&ds_cert.public_key().to_spki_der()?, &tbs)?;
    if let Some(sig) = forge.issuer_auth()?.get_mut(3) {
        *sig = Cbor::Bytes(mac);
    }
    suite.mdoc("issuer-alg-hmac", "issuerAuth with alg HMAC 256/256 (5), tagged with the Document Signer's public key as the MAC key", forge.bytes()?, json!({}), expected_invalid("Mdoc.IssuerAuth.Algorithm"))?;
    let mut forge = base.clone();
    let doc = forge.doc()?;
    let device_signed = get_mut(doc, "deviceSigned")?;
    let auth = get_mut(device_signed, "deviceAuth")?;
    if let Some(Cbor::Array(parts)) = auth
        .as_map_mut()
        .and_then(|m| m.first_mut())
        .map(|(_, v)| v)
        && let Some(sig) = parts.get_mut(3)
    {
        *sig = Cbor::Bytes(Vec::new());
    }
    suite.mdoc(
        "device-signature-stripped",
        "deviceSignature's signature replaced by an empty byte string",
        forge.bytes()?,
        json!({}),
        expected_invalid("Mdoc.DeviceAuth.BadSignature"),
    )?;

    // Key substitution: the attacker's device key in the MSO.
    let attacker_key = attacker.public_key().to_cose_key_bytes()?;
    let mut forge = base.clone();
    let mut mso = forge.mso()?;
    set(
        get_mut(&mut mso, "deviceKeyInfo")?,
        "deviceKey",
        cbor_value(&attacker_key)?,
    )?;
    let mut unsigned = forge.clone();
    let payload = cbor_bytes(&Cbor::Tag(24, Box::new(Cbor::Bytes(cbor_bytes(&mso)?))))?;
    if let Some(p) = unsigned.issuer_auth()?.get_mut(2) {
        *p = Cbor::Bytes(payload);
    }
    unsigned.resign_device(&*attacker, &transcript)?;
    suite.mdoc("device-key-substituted", "the MSO's deviceKey replaced by the attacker's (issuerAuth not re-signed), deviceSignature by the attacker", unsigned.bytes()?, json!({}), expected_invalid("Mdoc.IssuerAuth.BadSignature"))?;
    // ...and signed by the attacker's own Document Signer under the attacker's root.
    let attacker_root_key = Rfc6979Signer::for_test_key("attacker-iaca");
    let random = SeededRandom::new(b"kmid attacks v1: certificates");
    let params = |kind, cn: &str, from: OffsetDateTime, days: i64| CertificateParams {
        kind,
        country: "KR".into(),
        organization: Some("Ministry of the Interior and Safety".into()),
        state_or_province: None,
        common_name: cn.into(),
        not_before: from,
        not_after: from + Duration::days(days),
        issuer_alt_name: None,
        crl_uri: None,
        dns_names: Vec::new(),
    };
    let start = AT - Duration::days(30);
    let attacker_root = issue_certificate(
        &params(CertificateKind::Iaca, "MOIS IACA", start, 3650),
        attacker_root_key.public_key(),
        None,
        &attacker_root_key,
        &random,
    )?;
    let attacker_ds = issue_certificate(
        &params(CertificateKind::DocumentSigner, "MOIS DS", start, 365),
        attacker.public_key(),
        Some(&attacker_root),
        &attacker_root_key,
        &random,
    )?;
    forge.resign_mso(&mso, &*attacker, &[&attacker_ds])?;
    forge.resign_device(&*attacker, &transcript)?;
    suite.mdoc("device-key-substituted-own-issuer", "the attacker's deviceKey, the MSO signed by the attacker's Document Signer under a look-alike root", forge.bytes()?, json!({}), expected_invalid("Mdoc.IssuerAuth.Chain.Certificate.UntrustedRoot"))?;

    // x5chain: expired Document Signer, a non-CA intermediate, a chain that is too long.
    let iaca_key = Rfc6979Signer::for_test_key("mois-iaca");
    let old_ds = issue_certificate(
        &params(
            CertificateKind::DocumentSigner,
            "MOIS DS 2023",
            AT - Duration::days(800),
            400,
        ),
        ds_signer.public_key(),
        Some(&iaca),
        &iaca_key,
        &random,
    );
    match old_ds {
        Ok(old_ds) => {
            let mut forge = base.clone();
            let mso = forge.mso()?;
            forge.resign_mso(&mso, &*ds_signer, &[&old_ds])?;
            suite.mdoc("x5chain-expired-ds", "issuerAuth's x5chain is a Document Signer certificate that expired before the verification time (same key)", forge.bytes()?, json!({}), expected_invalid("Mdoc.IssuerAuth.Chain.Certificate.Expired"))?;
        }
        Err(e) => return Err(format!("expired DS: {e}").into()),
    }
    let intermediate = issue_certificate(
        &params(
            CertificateKind::DocumentSigner,
            "MOIS DS as intermediate",
            start,
            365,
        ),
        attacker.public_key(),
        Some(&iaca),
        &iaca_key,
        &random,
    )?;
    let leaf = issue_certificate(
        &params(
            CertificateKind::DocumentSigner,
            "MOIS DS under a leaf",
            start,
            365,
        ),
        ds_signer.public_key(),
        Some(&intermediate),
        &*attacker,
        &random,
    )?;
    let mut forge = base.clone();
    let mso = forge.mso()?;
    forge.resign_mso(&mso, &*ds_signer, &[&leaf, &intermediate])?;
    suite.mdoc("x5chain-non-ca-intermediate", "a Document Signer certificate issued by another Document Signer (not a CA) under the real root", forge.bytes()?, json!({}), expected_invalid("Mdoc.IssuerAuth.Chain.Certificate.NotCa"))?;
    let mut forge = base.clone();
    let mso = forge.mso()?;
    forge.resign_mso(&mso, &*ds_signer, &[&ds_cert, &iaca, &iaca, &iaca, &iaca])?;
    suite.mdoc("x5chain-path-too-long", "an x5chain of the Document Signer and four copies of the root: within the length limit, but the root's pathLenConstraint is 0", forge.bytes()?, json!({}), expected_invalid("Mdoc.IssuerAuth.Chain.Certificate.PathLenExceeded"))?;
    let mut forge = base.clone();
    let mso = forge.mso()?;
    forge.resign_mso(
        &mso,
        &*ds_signer,
        &[&ds_cert, &iaca, &iaca, &iaca, &iaca, &iaca],
    )?;
    suite.mdoc("x5chain-too-long", "an x5chain of six certificates: refused by count before any is parsed (the limit is the trust store's path length, 4, plus the leaf)", forge.bytes()?, json!({}), expected_invalid("Mdoc.IssuerAuth.Chain.Certificate.ChainTooLong"))?;

    // Digests: a duplicated item, two items under one digestID, an item moved to another
    // namespace.
    let mut forge = base.clone();
    let items = forge.items(ns_kmid)?;
    let first = items.first().cloned().ok_or("no item")?;
    items.push(first);
    forge.resign_device(&*holder, &transcript)?;
    suite.mdoc(
        "digest-duplicate-item",
        "the same IssuerSignedItem presented twice",
        forge.bytes()?,
        json!({}),
        expected_invalid("Mdoc.Digest.DuplicateDigestId"),
    )?;
    let mut forge = base.clone();
    let kmid_item = forge.items(ns_kmid)?.first().cloned().ok_or("no item")?;
    let iso_items = forge.items(ns_iso)?;
    let iso_item = iso_items.first().cloned().ok_or("no item")?;
    let mut changed = item_of(&iso_item)?;
    set(
        &mut changed,
        "digestID",
        get(&item_of(&kmid_item)?, "digestID")?.clone(),
    )?;
    let changed = tag24(&changed)?;
    if let Some(slot) = iso_items.first_mut() {
        *slot = changed.clone();
    }
    let mut mso = forge.mso()?;
    redigest(&mut mso, ns_iso, &changed)?;
    forge.resign_mso(&mso, &*ds_signer, &[&ds_cert])?;
    forge.resign_device(&*holder, &transcript)?;
    suite.mdoc("digest-id-reused", "an item re-numbered to the digestID another namespace's item uses (MSO re-signed with its digest): accepted, digestIDs are unique per namespace only", forge.bytes()?, json!({}), valid())?;
    let mut forge = base.clone();
    let copied = forge.items(ns_iso)?.first().cloned().ok_or("no item")?;
    forge.items(ns_kmid)?.push(copied);
    forge.resign_device(&*holder, &transcript)?;
    suite.mdoc(
        "digest-wrong-namespace",
        "an element copied into another namespace, whose digests it is not among",
        forge.bytes()?,
        json!({}),
        expected_invalid("Mdoc.Digest.Missing"),
    )?;

    // docType: the Document says another card than the MSO.
    let mut forge = base.clone();
    set(
        forge.doc()?,
        "docType",
        Cbor::Text(CardType::Foreigner.doc_type().into()),
    )?;
    forge.resign_device(&*holder, &transcript)?;
    suite.mdoc("doctype-not-requested", "the Document's docType changed to the foreigner card (device signature redone), the MSO still says the resident card", forge.bytes()?, json!({}), expected_invalid("Mdoc.NotRequested"))?;
    let mut forge = base.clone();
    let mut mso = forge.mso()?;
    set(
        &mut mso,
        "docType",
        Cbor::Text(CardType::Foreigner.doc_type().into()),
    )?;
    forge.resign_mso(&mso, &*ds_signer, &[&ds_cert])?;
    suite.mdoc("doctype-mismatch", "the MSO's docType changed to the foreigner card (re-signed by the resident card's issuer); the Document still says the resident card", forge.bytes()?, json!({}), expected_invalid("Mdoc.DocTypeMismatch"))?;

    // Validity edges.
    let vi = get(&base.clone().mso()?, "validityInfo")?.clone();
    let tdate = |key: &str| -> Result<OffsetDateTime, Error> {
        let text = match get(&vi, key)? {
            Cbor::Tag(0, t) => t.as_text().ok_or("tdate")?.to_owned(),
            _ => return Err("tdate".into()),
        };
        Ok(OffsetDateTime::parse(
            &text,
            &time::format_description::well_known::Rfc3339,
        )?)
    };
    let from = tdate("validFrom")?;
    let until = tdate("validUntil")?;
    let at = |t: OffsetDateTime| -> Result<Value, Error> {
        Ok(json!({ "at": crate::conformance::rfc3339(t)? }))
    };
    let at_late = |t: OffsetDateTime| -> Result<Value, Error> {
        Ok(json!({ "at": crate::conformance::rfc3339(t)?, "status_set": "late" }))
    };
    suite.mdoc(
        "validity-at-valid-from",
        "verified at exactly validFrom",
        response.clone(),
        at(from)?,
        valid(),
    )?;
    suite.mdoc(
        "validity-before-valid-from",
        "verified one second before validFrom",
        response.clone(),
        at(from - Duration::seconds(1))?,
        expected_invalid("Mdoc.Validity.NotYetValid"),
    )?;
    suite.mdoc(
        "validity-at-valid-until",
        "verified at exactly validUntil",
        response.clone(),
        at_late(until)?,
        valid(),
    )?;
    suite.mdoc(
        "validity-after-valid-until",
        "verified one second after validUntil",
        response.clone(),
        at_late(until + Duration::seconds(1))?,
        expected_invalid("Mdoc.Validity.Expired"),
    )?;

    // Status.
    let mut forge = base.clone();
    let mut mso = forge.mso()?;
    let status = get_mut(get_mut(&mut mso, "status")?, "status_list")?;
    set(status, "idx", Cbor::from(1u64 << 40))?;
    forge.resign_mso(&mso, &*ds_signer, &[&ds_cert])?;
    suite.mdoc(
        "status-index-out-of-range",
        "the MSO's status idx set to 2^40 (re-signed)",
        forge.bytes()?,
        json!({}),
        expected_invalid("Mdoc.StatusUnavailable.IndexOutOfRange"),
    )?;
    suite.mdoc(
        "status-suspended",
        "unchanged; the list after the phone was reported lost",
        response.clone(),
        json!({ "status_set": "suspended" }),
        expected_invalid("Mdoc.Status.Suspended"),
    )?;
    suite.mdoc(
        "status-revoked",
        "unchanged; the list after the credential was revoked",
        response.clone(),
        json!({ "status_set": "revoked" }),
        expected_invalid("Mdoc.Status.Invalid"),
    )?;
    suite.mdoc(
        "status-zlib-bomb",
        "unchanged; the status list token's list inflates to 40 MiB (cap 32 MiB)",
        response.clone(),
        json!({ "status_set": "zlib-bomb" }),
        expected_invalid("Mdoc.StatusUnavailable.InvalidToken.TooLarge"),
    )?;

    // Replay under another session.
    let other_transcript = SessionTranscript::new(
        None,
        None,
        &Handover::Nfc {
            handover_select: b"another session".to_vec(),
            handover_request: None,
        },
    )?;
    let other_file = suite.out.file(
        "mdoc/other-session-transcript.cbor".into(),
        other_transcript.tagged_bytes(),
    );
    suite.mdoc(
        "replay-other-session",
        "unchanged DeviceResponse replayed into another session",
        response.clone(),
        json!({ "session_transcript": other_file }),
        expected_invalid("Mdoc.DeviceAuth.BadSignature"),
    )?;

    // CBOR encodings the profile forbids, and hostile lengths and nesting.
    // `version` is the first top-level key, `status` the last: the documents lie between.
    let splice = |from: &[u8], to: &[u8]| -> Result<Vec<u8>, Error> {
        let found = if from.ends_with(b"1.0") || from.starts_with(b"\x67version") {
            response.windows(from.len()).position(|w| w == from)
        } else {
            response.windows(from.len()).rposition(|w| w == from)
        };
        let at = found.ok_or("splice target")?;
        let mut out = response.clone();
        out.splice(at..at + from.len(), to.iter().copied());
        Ok(out)
    };
    let status_key = b"\x66status\x00";
    suite.mdoc("cbor-non-shortest-integer", "the top-level status 0 written as 0x18 0x00: accepted by design (spec/mdoc.md section 2.2: digests and signatures cover the bytes as received, so a non-minimal head changes nothing that is checked)", splice(status_key, b"\x66status\x18\x00")?, json!({}), valid())?;
    let mut indefinite = response.clone();
    if let Some(first) = indefinite.first_mut() {
        *first = 0xBF;
    }
    indefinite.push(0xFF);
    suite.mdoc(
        "cbor-indefinite-length-map",
        "the top-level map as an indefinite-length map",
        indefinite,
        json!({}),
        expected_invalid("Mdoc.Cbor.IndefiniteLength"),
    )?;
    let mut duplicate = response.clone();
    if let Some(first) = duplicate.first_mut() {
        *first += 1;
    }
    duplicate.extend_from_slice(b"\x66status\x00");
    suite.mdoc(
        "cbor-duplicate-map-key",
        "the top-level map with status twice",
        duplicate,
        json!({}),
        expected_invalid("Mdoc.Cbor.DuplicateMapKey"),
    )?;
    let mut forge = base.clone();
    let items = forge.items(ns_kmid)?;
    let first = items.first().cloned().ok_or("no item")?;
    if let Some(slot) = items.first_mut() {
        *slot = item_of(&first)?;
    }
    suite.mdoc(
        "cbor-tag24-missing",
        "an IssuerSignedItem as a plain map, not IssuerSignedItemBytes (tag 24)",
        forge.bytes()?,
        json!({}),
        expected_invalid("Mdoc.Malformed"),
    )?;
    let mut forge = base.clone();
    let items = forge.items(ns_kmid)?;
    let first = items.first().cloned().ok_or("no item")?;
    if let Some(slot) = items.first_mut() {
        *slot = Cbor::Tag(24, Box::new(first));
    }
    suite.mdoc(
        "cbor-tag24-doubled",
        "an IssuerSignedItemBytes wrapped in a second tag 24",
        forge.bytes()?,
        json!({}),
        expected_invalid("Mdoc.Malformed"),
    )?;
    suite.mdoc(
        "cbor-length-overflow",
        "the top-level status key's length as 2^64-1",
        splice(b"\x66status", b"\x7B\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFFstatus")?,
        json!({}),
        expected_invalid("Mdoc.Cbor.LengthBeyondInput"),
    )?;
    suite.mdoc(
        "cbor-huge-declared-length",
        "the version text declared 2^31 bytes long, followed by 3",
        splice(b"\x67version\x631.0", b"\x67version\x7A\x80\x00\x00\x001.0")?,
        json!({}),
        expected_invalid("Mdoc.Cbor.LengthBeyondInput"),
    )?;
    let mut nested = vec![0x81u8; 1024 * 1024];
    nested.push(0x00);
    suite.mdoc(
        "cbor-deep-nesting",
        "one million nested one-element arrays (1 MiB)",
        nested,
        json!({}),
        expected_invalid("Mdoc.Cbor.TooDeep"),
    )?;
    suite.mdoc(
        "cbor-invalid-utf8",
        "the top-level key version with an invalid UTF-8 byte",
        splice(b"\x67version", b"\x67versio\xFF")?,
        json!({}),
        expected_invalid("Mdoc.Cbor.InvalidUtf8"),
    )?;
    let mut trailing = response.clone();
    trailing.push(0x00);
    suite.mdoc(
        "cbor-trailing-bytes",
        "one byte after the DeviceResponse",
        trailing,
        json!({}),
        expected_invalid("Mdoc.Cbor.TrailingBytes"),
    )?;

    // --- SD-JWT VC -----------------------------------------------------------------------
    let query = Template::AgeCheck.dcql_query(card, kmid::Format::SdJwtVc);
    suite.query_file = suite.out.file(
        "sd-jwt-vc/age-check.dcql.json".into(),
        pretty(&serde_json::to_value(&query)?)?,
    );
    let vp_request = OpenId4VpRequest {
        client_id: CLIENT_ID.into(),
        nonce: NONCE.into(),
        response_uri: RESPONSE_URI.into(),
        origin: None,
        jwk_thumbprint: None,
    };
    let token = f.wallet.answer_dcql(&query, &vp_request, AT)?;
    let presentation = token
        .get("card")
        .and_then(|v| v.get(0))
        .and_then(Value::as_str)
        .ok_or("no presentation")?
        .to_owned();
    let (issuer_jwt, _) = presentation.split_once('~').ok_or("not an SD-JWT")?;
    let kb_cut = presentation.rfind('~').ok_or("not an SD-JWT")?;
    let presented = SdJwtForge::new(presentation.get(..=kb_cut).ok_or("cut")?)?;
    suite.sd_jwt(
        "baseline",
        "none: the presentation as the wallet made it",
        presentation.clone(),
        json!({}),
        valid(),
    )?;

    let with_issuer_jwt = |jwt: &str| presentation.replacen(issuer_jwt, jwt, 1);
    let parts: Vec<&str> = issuer_jwt.split('.').collect();
    let (h, p) = (
        parts.first().copied().unwrap_or(""),
        parts.get(1).copied().unwrap_or(""),
    );
    suite.sd_jwt(
        "signature-stripped",
        "the issuer-signed JWT's signature removed (empty third part)",
        with_issuer_jwt(&format!("{h}.{p}.")),
        json!({}),
        expected_invalid("SdJwt.BadIssuerSignature"),
    )?;
    let mut none_header = presented.header.clone();
    none_header.insert("alg".into(), json!("none"));
    let none = raw_jws(&Value::Object(none_header), &presented.payload, b"");
    suite.sd_jwt(
        "alg-none",
        "the issuer-signed JWT with alg none and no signature (KB-JWT redone)",
        presented.present(none, &holder, NONCE, CLIENT_ID)?,
        json!({}),
        expected_invalid("SdJwt.AlgorithmNotAccepted"),
    )?;
    let mut hs_header = presented.header.clone();
    hs_header.insert("alg".into(), json!("HS256"));
    let signing_input = format!(
        "{}.{}",
        b64url(Value::Object(hs_header.clone()).to_string().as_bytes()),
        b64url(
            Value::Object(presented.payload.clone())
                .to_string()
                .as_bytes()
        )
    );
    let secret = ds_cert.public_key().to_spki_pem()?;
    let mac = hmac_sha256(secret.as_bytes(), signing_input.as_bytes())?;
    let hs = format!("{signing_input}.{}", b64url(&mac));
    suite.sd_jwt("alg-hs256-public-key", "the issuer-signed JWT with alg HS256, MACed with the Document Signer's public key PEM as the secret", presented.present(hs, &holder, NONCE, CLIENT_ID)?, json!({}), expected_invalid("SdJwt.AlgorithmNotAccepted"))?;

    // Key substitution in cnf.
    let mut swapped = SdJwtForge::new(presentation.get(..=kb_cut).ok_or("cut")?)?;
    swapped.payload.insert(
        "cnf".into(),
        json!({ "jwk": attacker.public_key().to_jwk() }),
    );
    let kept_signature = parts.get(2).copied().unwrap_or("");
    let unsigned = format!(
        "{}.{}.{kept_signature}",
        h,
        b64url(
            Value::Object(swapped.payload.clone())
                .to_string()
                .as_bytes()
        )
    );
    suite.sd_jwt(
        "cnf-substituted",
        "cnf.jwk replaced by the attacker's key (issuer signature kept), KB-JWT by the attacker",
        swapped.present(unsigned, &attacker, NONCE, CLIENT_ID)?,
        json!({}),
        expected_invalid("SdJwt.BadIssuerSignature"),
    )?;
    let mut own = SdJwtForge::new(presentation.get(..=kb_cut).ok_or("cut")?)?;
    own.payload.insert(
        "cnf".into(),
        json!({ "jwk": attacker.public_key().to_jwk() }),
    );
    own.header
        .insert("x5c".into(), json!([attacker_ds.to_x5c_entry()]));
    suite.sd_jwt(
        "cnf-substituted-own-issuer",
        "the attacker's cnf, signed by the attacker's Document Signer under a look-alike root",
        own.resign_and_present(&attacker, &attacker)?,
        json!({}),
        expected_invalid("SdJwt.IssuerKey.Chain.Certificate.UntrustedRoot"),
    )?;

    // Digests and Disclosures.
    let mut dup = SdJwtForge::new(presentation.get(..=kb_cut).ok_or("cut")?)?;
    let first_digest = dup
        .payload
        .get("_sd")
        .and_then(|v| v.get(0))
        .cloned()
        .ok_or("no _sd")?;
    add_sd(
        &mut dup.payload,
        first_digest.as_str().unwrap_or("").to_owned(),
    )?;
    suite.sd_jwt(
        "digest-duplicate",
        "one _sd digest listed twice (re-signed)",
        dup.resign_and_present(&ds_signer, &holder)?,
        json!({}),
        expected_invalid("SdJwt.DuplicateDigest"),
    )?;
    let mut repeated = SdJwtForge::new(presentation.get(..=kb_cut).ok_or("cut")?)?;
    let first = repeated
        .disclosures
        .first()
        .cloned()
        .ok_or("no disclosure")?;
    repeated.disclosures.push(first);
    suite.sd_jwt(
        "disclosure-repeated",
        "one Disclosure presented twice (KB-JWT redone)",
        repeated.present(issuer_jwt.to_owned(), &holder, NONCE, CLIENT_ID)?,
        json!({}),
        expected_invalid("SdJwt.Disclosure.Repeated"),
    )?;
    let mut replayed = SdJwtForge::new(presentation.get(..=kb_cut).ok_or("cut")?)?;
    let foreign = other_sd
        .sd_jwt
        .disclosures
        .iter()
        .find(|d| {
            kmid::sdjwt::Disclosure::parse(d, 0)
                .ok()
                .and_then(|d| d.name().map(str::to_owned))
                .as_deref()
                == Some("age_over_19")
        })
        .or(other_sd.sd_jwt.disclosures.first())
        .cloned()
        .ok_or("no foreign disclosure")?;
    replayed.disclosures.push(foreign);
    suite.sd_jwt(
        "disclosure-replayed",
        "a Disclosure from another person's credential added (KB-JWT redone)",
        replayed.present(issuer_jwt.to_owned(), &holder, NONCE, CLIENT_ID)?,
        json!({}),
        expected_invalid("SdJwt.Disclosure.NotReferenced"),
    )?;
    let mut bad_utf8 = SdJwtForge::new(presentation.get(..=kb_cut).ok_or("cut")?)?;
    let raw = b64url(b"[\"c2FsdA\", \"age_over_19\", \"\xFF\xFE\"]");
    add_sd(&mut bad_utf8.payload, sd_digest(&raw)?)?;
    bad_utf8.disclosures.push(raw);
    suite.sd_jwt(
        "disclosure-invalid-utf8",
        "a Disclosure whose JSON holds invalid UTF-8 (its digest signed in _sd)",
        bad_utf8.resign_and_present(&ds_signer, &holder)?,
        json!({}),
        expected_invalid("SdJwt.Disclosure.Malformed"),
    )?;
    let mut deep = SdJwtForge::new(presentation.get(..=kb_cut).ok_or("cut")?)?;
    let mut value = json!(true);
    for _ in 0..100 {
        value = json!([value]);
    }
    let nested = disclosure("c2FsdA", "nested", &value);
    add_sd(&mut deep.payload, sd_digest(&nested)?)?;
    deep.disclosures.push(nested);
    suite.sd_jwt(
        "disclosure-deep-nesting",
        "a Disclosure whose value nests 100 arrays (its digest signed in _sd)",
        deep.resign_and_present(&ds_signer, &holder)?,
        json!({}),
        expected_invalid("SdJwt.Limit.Depth"),
    )?;
    let mut many = SdJwtForge::new(presentation.get(..=kb_cut).ok_or("cut")?)?;
    for i in 0..600 {
        let d = disclosure(&format!("salt{i}"), &format!("extra_{i}"), &json!(i));
        add_sd(&mut many.payload, sd_digest(&d)?)?;
        many.disclosures.push(d);
    }
    suite.sd_jwt(
        "too-many-disclosures",
        "600 Disclosures (the limit is 512), all signed in _sd",
        many.resign_and_present(&ds_signer, &holder)?,
        json!({}),
        expected_invalid("SdJwt.Limit.Disclosures"),
    )?;

    // Replay with another nonce or audience.
    suite.sd_jwt(
        "replay-other-nonce",
        "presented for another nonce",
        presented.present(issuer_jwt.to_owned(), &holder, "another-nonce", CLIENT_ID)?,
        json!({}),
        expected_invalid("SdJwt.KeyBinding.NonceMismatch"),
    )?;
    suite.sd_jwt(
        "replay-other-audience",
        "presented to another verifier",
        presented.present(
            issuer_jwt.to_owned(),
            &holder,
            NONCE,
            "x509_san_dns:shop.kmid.invalid",
        )?,
        json!({}),
        expected_invalid("SdJwt.KeyBinding.AudienceMismatch"),
    )?;

    // vct confusion: the credential re-signed as another card type.
    let mut vct = SdJwtForge::new(presentation.get(..=kb_cut).ok_or("cut")?)?;
    vct.payload
        .insert("vct".into(), json!(CardType::Foreigner.doc_type()));
    suite.sd_jwt(
        "vct-other-card",
        "vct changed to the foreigner card (re-signed by the resident card's issuer)",
        vct.resign_and_present(&ds_signer, &holder)?,
        json!({}),
        expected_invalid("SdJwt.IssuerKey.VctNotAuthorized"),
    )?;

    // Validity edges.
    let exp = presented
        .payload
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or("no exp")?;
    let exp = OffsetDateTime::from_unix_timestamp(exp)?;
    suite.sd_jwt(
        "validity-at-exp",
        "verified at exactly exp (KB-JWT made then)",
        kb_at(&presented, issuer_jwt, &holder, exp)?,
        at_late(exp)?,
        expected_invalid("SdJwt.Expired"),
    )?;
    suite.sd_jwt(
        "validity-before-exp",
        "verified one second before exp (KB-JWT made then)",
        kb_at(&presented, issuer_jwt, &holder, exp - Duration::seconds(1))?,
        at_late(exp - Duration::seconds(1))?,
        valid(),
    )?;

    // Status.
    let mut idx = SdJwtForge::new(presentation.get(..=kb_cut).ok_or("cut")?)?;
    if let Some(status) = idx
        .payload
        .get_mut("status")
        .and_then(|s| s.get_mut("status_list"))
        .and_then(Value::as_object_mut)
    {
        status.insert("idx".into(), json!(1u64 << 40));
    }
    suite.sd_jwt(
        "status-index-out-of-range",
        "status idx set to 2^40 (re-signed)",
        idx.resign_and_present(&ds_signer, &holder)?,
        json!({}),
        expected_invalid("SdJwt.StatusUnavailable.IndexOutOfRange"),
    )?;
    suite.sd_jwt(
        "status-suspended",
        "unchanged; the list after the phone was reported lost",
        presentation.clone(),
        json!({ "status_set": "suspended" }),
        expected_invalid("SdJwt.Status.Suspended"),
    )?;
    suite.sd_jwt(
        "status-revoked",
        "unchanged; the list after the credential was revoked",
        presentation.clone(),
        json!({ "status_set": "revoked" }),
        expected_invalid("SdJwt.Status.Invalid"),
    )?;
    suite.sd_jwt(
        "status-zlib-bomb",
        "unchanged; the status list token's list inflates to 40 MiB (cap 32 MiB)",
        presentation.clone(),
        json!({ "status_set": "zlib-bomb" }),
        expected_invalid("SdJwt.StatusUnavailable.InvalidToken.TooLarge"),
    )?;

    // --- Status List Tokens on their own --------------------------------------------------
    suite.status_token(
        "zlib-bomb",
        "a signed token whose list inflates to 40 MiB",
        &uri,
        format!("{bomb}\n").into_bytes(),
        expected_invalid("Status.TooLarge"),
    );
    let bomb_parts: Vec<&str> = bomb.split('.').collect();
    let bomb_payload: Map<String, Value> =
        serde_json::from_slice(&b64url_decode(bomb_parts.get(1).copied().unwrap_or(""))?)?;
    suite.status_token(
        "alg-none",
        "a token with alg none",
        &uri,
        raw_jws(
            &json!({"alg": "none", "typ": "statuslist+jwt"}),
            &bomb_payload,
            b"",
        )
        .into_bytes(),
        expected_invalid("Status.Algorithm"),
    );
    suite.status_token(
        "zlib-bomb-cwt",
        "a signed CWT whose list inflates to 40 MiB",
        &uri,
        bomb_cwt,
        expected_invalid("Status.TooLarge"),
    );
    let current = f.issuer.publish(AT, 300)?;
    let current = current.first().ok_or("no list")?;
    suite.status_token(
        "other-uri",
        "a valid token (the list as it stands) verified for another list's URI",
        "https://status.kmid.invalid/mois/lists/2",
        format!("{}\n", current.jwt).into_bytes(),
        expected_invalid("Status.SubjectMismatch"),
    );

    // The online protocols (the suite's second part).
    crate::online_attacks::online_cases(&pki, &f, &compact, &mut suite.out)?;
    crate::online_vci::vci_cases(&pki, &mut suite.out)?;

    let mut crl_sets = Map::new();
    crate::online_attacks::substitution_cases(
        &pki,
        &uri,
        &mut suite.out,
        &mut status_sets,
        &mut crl_sets,
    )?;

    // Manifest, check, write.
    let manifest = json!({
        "suite": "kmid attack suite",
        "version": 1,
        "profile": "spec/README.md",
        "at": crate::conformance::rfc3339(AT)?,
        "trust": pki_trust(),
        "status_sets": status_sets,
        "crl_sets": crl_sets,
        "cases": std::mem::take(&mut suite.out.cases),
    });
    check_and_write(dir, &manifest, suite.out.files)
}

/// The presentation with a KB-JWT made at `at`.
fn kb_at(
    forge: &SdJwtForge,
    issuer_jwt: &str,
    holder: &Arc<dyn Signer>,
    at: OffsetDateTime,
) -> Result<String, Error> {
    let mut sd_jwt = SdJwt {
        issuer_jwt: issuer_jwt.to_owned(),
        disclosures: forge.disclosures.clone(),
        kb_jwt: None,
    };
    sd_jwt.kb_jwt = Some(kmid::sdjwt::kb::create(
        kmid::crypto::CryptoProvider::get_default(),
        &sd_jwt,
        HashAlgorithm::Sha256,
        holder,
        NONCE,
        CLIENT_ID,
        at,
    )?);
    Ok(sd_jwt.to_compact())
}
