//! kmid against two peers, on the same cards, in the same run: [isomdl] 0.2.0 (ISO/IEC 18013-5
//! mdoc) and [sd-jwt-rs] 0.7.1 (SD-JWT). The report at the end gives, per operation, both
//! medians and the peer's as a multiple of kmid's (`peer / kmid`: how many times faster kmid
//! is), then the artefacts' sizes and each crypto backend's raw P-256 speed.
//!
//! [isomdl]: https://crates.io/crates/isomdl
//! [sd-jwt-rs]: https://crates.io/crates/sd-jwt-rs
//!
//! # What is compared
//!
//! Every card of kmid's bench fixture (`crates/kmid/benches/fixture`) — resident, foreigner,
//! overseas national — and, per card (criterion ids `<card>/<row>_kmid` and
//! `<card>/<row>_isomdl` or `<card>/<row>_sd_jwt_rs`):
//!
//! | row | kmid | peer |
//! |---|---|---|
//! | `mdoc_issue` | `Fixture::issue_mdoc`: IssuerSigned bytes, 2 decoy digests per namespace | `isomdl::issuance::Mdoc::issue` with decoys off, then the IssuerSigned encoded |
//! | `mdoc_issue_decoys` (isomdl only) | `mdoc_issue_kmid` | the same with isomdl's default decoys (5 to 9 per namespace, each the SHA-256 of 512 random bytes) |
//! | `mdoc_present_session` | `Fixture::present_in_session`: ECDH + HKDF, decrypt the request, answer it (deviceSignature), encrypt | `SessionManagerEngaged::process_session_establishment` (ECDH + HKDF, decrypt, parse), `prepare_response`, device signature, `submit_next_signature` (encodes the DeviceResponse, decodes and re-encodes it to assert a round trip, encrypts), `retrieve_response` |
//! | `mdoc_verify_session` | `Fixture::verify_in_session`: ECDH + HKDF, decrypt, verify everything | `reader::SessionManager::handle_response`: decrypt, parse, device and issuer authentication, x5chain validation, the elements as JSON |
//! | `mdoc_session_keys` (kmid only) | `Session::reader` alone (ECDH + HKDF): the part of the row above isomdl's reader does earlier, in `establish_session` | — |
//! | `mdoc_transaction` | reader: fresh ephemeral key, keys, encrypted request; mdoc: keys, answer, encrypted answer; reader: decrypt and verify | `establish_session`, the device's answer as above, `handle_response` |
//! | `sd_jwt_issue` | `Fixture::issue_sd_jwt`: SD-JWT VC, every catalogue claim disclosable, 2 decoys per object, `cnf` | `SDJWTIssuer::issue_sd_jwt`, the same claims disclosable (a JSONPath list), decoys on (2 to 4 per object), `cnf` |
//! | `sd_jwt_present` | `Fixture::present_sd_jwt`: the identity paths (family and given name, birth date, picture) with a KB-JWT | `SDJWTHolder::create_presentation` on a holder built once (as kmid's wallet parses once when storing), the same claims, KB-JWT |
//! | `sd_jwt_verify` | `Fixture::verify_sd_jwt`: issuer JWS, KB-JWT (nonce, audience, `sd_hash`), digests, x5c chain (cache warm), status (cache warm), `vct` | `SDJWTVerifier::new` with audience and nonce: issuer JWS, digests, KB-JWT |
//!
//! isomdl always encrypts (its device and reader exist only as session managers), so its mdoc
//! rows are compared with kmid's session rows (`Fixture::*_in_session`), never with kmid's
//! plaintext `present_mdoc`/`verify_mdoc`.
//!
//! # The same inputs
//!
//! - mdoc: isomdl issues kmid's IssuerSigned elements — the same namespaces, element
//!   identifiers and CBOR values (tags 1004 included; the portrait as its ~20 KB bstr), taken
//!   from the fixture's issued bytes — under kmid's docType, ES256, with an x5chain of one
//!   Document Signer certificate that kmid's `AuthorityKeys` issued (a second authority of the
//!   same profile, whose private key is handed to isomdl as a RustCrypto `p256` key), and a
//!   P-256 device key. Setup checks that kmid decodes isomdl's IssuerSigned to the same elements.
//! - SD-JWT: sd-jwt-rs issues `kmid::sdjwt::vc::card_claims` (the claims kmid conceals) plus
//!   kmid's plain claims copied from its issued payload (`iat`, `exp`, `vct`, `vct#integrity`,
//!   `status`). Setup checks that both issued SD-JWTs disclose the same leaf claims.
//!
//! # What is not alike
//!
//! - Crypto backends differ: kmid uses OpenSSL; isomdl RustCrypto (`p256` for ECDSA and ECDH,
//!   `aes-gcm`); sd-jwt-rs `jsonwebtoken` on `ring`, which parses the PKCS#8 key on every
//!   signature. The `floor` group measures each backend's raw ES256 sign and verify so that the
//!   ratios can be read net of it.
//! - isomdl's reader hard-codes the docType `org.iso.18013.5.1.mDL` (its request and its
//!   response parser) and answers with nothing, unverified, unless the namespace
//!   `org.iso.18013.5.1` is present. Its present/verify/transaction rows therefore use an mdoc
//!   (issued once, in setup) whose docType is `org.iso.18013.5.1.mDL` and whose ISO/IEC 23220
//!   namespace is renamed `org.iso.18013.5.1`: same elements and values, a few bytes of names
//!   apart. The issue rows and the size table use kmid's own names.
//! - isomdl's reader checks less: it never compares the disclosed items with the MSO's value
//!   digests, nor the MSO's validity period or docType, nor status; its MSO carries no
//!   `status` (kmid's does). Its x5chain validation (validity, extensions, IACA match and
//!   signature) runs on every response; kmid caches the validated chain (the warm cache of a
//!   running verifier, as in kmid's own benchmarks).
//! - sd-jwt-rs cannot set the header's `typ` (`dc+sd-jwt`) nor add `x5c` (it panics on extra
//!   headers), so its issuer key is passed to the verifier directly: no chain validation, no
//!   status, no `vct` or `typ` check. It requires `iss`, which kmid's (x5c-keyed) SD-JWT VC
//!   omits: sd-jwt-rs's payload has an `iss` more. It escapes non-ASCII as `\uXXXX` in
//!   disclosures (Hangul names and addresses grow) and panics on characters outside the BMP:
//!   a card with one would be skipped, with a message.
//! - isomdl's reader hands the disclosed elements back as JSON, the portrait as an array of
//!   ~20 000 numbers; that conversion, not its cryptography, is most of its verification time.
//! - One `serde_json` serves the whole binary, with the features the peers' trees turn on:
//!   `preserve_order` (sd-jwt-rs) and `arbitrary_precision` (isomdl, through `ssi-jwk`). kmid
//!   runs here with both, which it does not elsewhere; the fixture's setup still verifies.
//!
//! Run with `cargo bench` in this directory; the report is printed at the end and written to
//! `target/criterion/compare-report.md`. A filter (`-- resident`) runs a subset; the report
//! then lists only what this run measured.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::as_conversions,
    clippy::cast_precision_loss,
    clippy::indexing_slicing,
    missing_docs
)]

#[path = "../../crates/kmid/benches/fixture/mod.rs"]
mod fixture;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use criterion::{BatchSize, Criterion};
use fixture::{Fixture, micros};
use isomdl::definitions::device_engagement::{CentralClientMode, DeviceRetrievalMethods};
use isomdl::definitions::device_request::Namespaces as RequestNamespaces;
use isomdl::definitions::helpers::{NonEmptyMap, NonEmptyVec};
use isomdl::definitions::x509::X5Chain;
use isomdl::definitions::x509::trust_anchor::{TrustAnchor, TrustAnchorRegistry, TrustPurpose};
use isomdl::definitions::x509::x5chain::CertificateWithDer;
use isomdl::definitions::{
    BleOptions, CoseKey, DeviceKeyInfo, DeviceRetrievalMethod, DigestAlgorithm, EC2Curve, EC2Y,
    IssuerSigned as IsoIssuerSigned, SessionEstablishment as IsoSessionEstablishment, ValidityInfo,
};
use isomdl::issuance::{Mdoc, Namespaces};
use isomdl::presentation::authentication::{AuthenticationStatus, ResponseAuthenticationOutcome};
use isomdl::presentation::device::{
    Document as IsoDocument, PermittedItems, SessionManagerEngaged, SessionManagerInit,
};
use isomdl::presentation::reader;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm as JwtAlgorithm, DecodingKey, EncodingKey};
use kmid::crypto::jose::{b64url, b64url_decode};
use kmid::crypto::{CryptoProvider, Curve, PrivateKey, Signer as _};
use kmid::mdoc::CborLimits;
use kmid::mdoc::model::{DeviceRequest, Handover, IssuerSigned};
use kmid::mdoc::session::{Session, SessionData, SessionEstablishment};
use kmid::schema::catalogue::ISO_23220_NAMESPACE;
use kmid::{AuthorityKeys, IssuingAuthority};
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey};
use sd_jwt_rs::issuer::ClaimsForSelectiveDisclosureStrategy;
use sd_jwt_rs::{SDJWTHolder, SDJWTIssuer, SDJWTSerializationFormat, SDJWTVerifier};
use serde_json::{Map, Value};
use time::UtcOffset;

/// The docType and namespace isomdl's reader insists on.
const MDL_DOC_TYPE: &str = "org.iso.18013.5.1.mDL";
const MDL_NAMESPACE: &str = "org.iso.18013.5.1";

fn criterion_dir() -> PathBuf {
    fixture::criterion_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn median(group: &str, function: &str, since: SystemTime) -> Option<f64> {
    fixture::median(&criterion_dir(), group, function, since)
}

fn configured() -> Criterion {
    Criterion::default()
        .output_directory(&criterion_dir())
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args()
}

/// The IssuerSigned elements of kmid's issued mdoc, in order: namespace, identifier, value
/// exactly as encoded (decoded from the item's own bytes, so tags and byte strings are kept).
fn kmid_elements(issued: &[u8]) -> Vec<(String, String, ciborium::Value)> {
    let signed = IssuerSigned::from_bytes(issued, &CborLimits::default()).unwrap();
    let mut out = Vec::new();
    for (ns, items) in &signed.name_spaces {
        for item in items {
            let value = element_value(item.raw()).expect("#6.24(bstr .cbor IssuerSignedItem)");
            out.push((ns.clone(), item.item().element_identifier.clone(), value));
        }
    }
    out
}

/// The `elementValue` of an IssuerSignedItemBytes.
fn element_value(raw: &[u8]) -> Option<ciborium::Value> {
    let ciborium::Value::Tag(24, inner) = ciborium::from_reader(raw).ok()? else {
        return None;
    };
    let bytes = inner.into_bytes().ok()?;
    ciborium::from_reader::<ciborium::Value, _>(bytes.as_slice())
        .ok()?
        .into_map()
        .ok()?
        .into_iter()
        .find(|(k, _)| k.as_text() == Some("elementValue"))
        .map(|(_, v)| v)
}

/// The elements of an IssuerSigned as kmid decodes them, for comparing two issuers' output.
fn decoded_elements(issued: &[u8]) -> BTreeSet<String> {
    IssuerSigned::from_bytes(issued, &CborLimits::default())
        .unwrap()
        .name_spaces
        .iter()
        .flat_map(|(ns, items)| {
            items.iter().map(move |i| {
                format!(
                    "{ns} {} {:?}",
                    i.item().element_identifier,
                    i.item().element_value
                )
            })
        })
        .collect()
}

fn rename_namespace(ns: &str) -> String {
    if ns == ISO_23220_NAMESPACE {
        MDL_NAMESPACE.to_owned()
    } else {
        ns.to_owned()
    }
}

/// What isomdl's issuer is given: the card's elements under kmid's names, and the keys.
struct IsoIssuer {
    doc_type: String,
    namespaces: Namespaces,
    validity: ValidityInfo,
    device_key_info: DeviceKeyInfo,
    x5chain: X5Chain,
    signer: SigningKey,
}

impl IsoIssuer {
    fn mdoc(&self, doc_type: &str, namespaces: Namespaces, decoys: bool) -> Mdoc {
        Mdoc::builder()
            .doc_type(doc_type.to_owned())
            .namespaces(namespaces)
            .validity_info(self.validity.clone())
            .digest_algorithm(DigestAlgorithm::SHA256)
            .device_key_info(self.device_key_info.clone())
            .enable_decoy_digests(decoys)
            .issue::<SigningKey, Signature>(self.x5chain.clone(), self.signer.clone())
            .unwrap()
    }

    /// Issues under kmid's names and encodes the IssuerSigned, as kmid's issue does.
    fn issue(&self, decoys: bool) -> Vec<u8> {
        let mdoc = self.mdoc(&self.doc_type, self.namespaces.clone(), decoys);
        isomdl::cbor::to_vec(&IsoIssuerSigned {
            namespaces: Some(mdoc.namespaces),
            issuer_auth: mdoc.issuer_auth,
        })
        .unwrap()
    }
}

/// isomdl's side of one card: its issuer, and a session engaged with its reader.
struct Isomdl {
    issuer: IsoIssuer,
    /// IssuerSigned under kmid's names, decoys off and on (for the sizes).
    issued: Vec<u8>,
    issued_decoys: Vec<u8>,
    device_key: SigningKey,
    /// The mdoc side after QR engagement, holding the renamed mdoc.
    engaged: SessionManagerEngaged,
    qr: String,
    request: RequestNamespaces,
    trust: TrustAnchorRegistry,
    permitted: PermittedItems,
    /// The reader's SessionEstablishment, the reader after sending it, and the mdoc's answer.
    establishment: Vec<u8>,
    reader: reader::SessionManager,
    sealed_response: Vec<u8>,
}

impl Isomdl {
    fn new(f: &Fixture, authority: IssuingAuthority) -> Self {
        // The fixture's certificate profile, from a second authority: isomdl needs the key.
        let (keys, ds_key) = AuthorityKeys::generate_with_key(authority, f.at, &*f.random).unwrap();
        let trust = TrustAnchorRegistry {
            anchors: vec![TrustAnchor {
                certificate: CertificateWithDer::from_der(keys.iaca.der()).unwrap().inner,
                purpose: TrustPurpose::Iaca,
            }],
        };
        let device = PrivateKey::generate(Curve::P256).unwrap();
        let device_key = SigningKey::from_slice(&device.scalar().unwrap()).unwrap();
        let mut namespaces = Namespaces::new();
        let mut renamed = Namespaces::new();
        for (ns, id, value) in kmid_elements(&f.mdoc_issued) {
            renamed
                .entry(rename_namespace(&ns))
                .or_default()
                .insert(id.clone(), value.clone());
            namespaces.entry(ns).or_default().insert(id, value);
        }
        let issuer = IsoIssuer {
            doc_type: fixture::card_type(f).doc_type().to_owned(),
            namespaces,
            validity: ValidityInfo {
                signed: f.at,
                valid_from: f.at,
                valid_until: f.at + time::Duration::days(365),
                expected_update: None,
            },
            device_key_info: DeviceKeyInfo {
                device_key: CoseKey::EC2 {
                    crv: EC2Curve::P256,
                    x: device.public_key().x().to_vec(),
                    y: EC2Y::Value(device.public_key().y().unwrap().to_vec()),
                },
                key_authorizations: None,
                key_info: None,
            },
            x5chain: X5Chain::builder()
                .with_der_certificate(keys.document_signer.der())
                .unwrap()
                .build()
                .unwrap(),
            signer: SigningKey::from_slice(&ds_key.scalar().unwrap()).unwrap(),
        };
        let issued = issuer.issue(false);
        let issued_decoys = issuer.issue(true);
        assert_eq!(
            decoded_elements(&issued),
            decoded_elements(&f.mdoc_issued),
            "isomdl's IssuerSigned holds other elements than kmid's"
        );

        // The session's mdoc: isomdl's reader accepts only the mDL docType and namespace.
        let mdoc = issuer.mdoc(MDL_DOC_TYPE, renamed.clone(), false);
        let documents = NonEmptyMap::new(MDL_DOC_TYPE.to_owned(), IsoDocument::from(mdoc));
        // One BLE retrieval method, as kmid's fixture engages with.
        let methods: DeviceRetrievalMethods =
            NonEmptyVec::new(DeviceRetrievalMethod::BLE(BleOptions {
                peripheral_server_mode: None,
                central_client_mode: Some(CentralClientMode {
                    uuid: uuid::Uuid::from_u128(0x2a9c_b3d1_0f6e_4c55_9a7e_61d0_4b8f_c3e2),
                }),
            }));
        let (engaged, qr) = SessionManagerInit::initialise(documents, Some(methods), None)
            .unwrap()
            .qr_engagement()
            .unwrap();
        // kmid's identity request, renamed.
        let items = &f.mdoc_request.doc_requests[0].items_request;
        let mut asked: BTreeMap<String, BTreeMap<String, bool>> = BTreeMap::new();
        for (ns, elements) in &items.name_spaces {
            asked
                .entry(rename_namespace(ns))
                .or_default()
                .extend(elements.iter().cloned());
        }
        let asked_count = asked.values().map(BTreeMap::len).sum();
        let request: RequestNamespaces = asked
            .into_iter()
            .map(|(ns, els)| (ns, els.try_into().unwrap()))
            .collect::<BTreeMap<_, _>>()
            .try_into()
            .unwrap();
        // The holder consents to anything the card holds; the request narrows it.
        let permitted = BTreeMap::from([(
            MDL_DOC_TYPE.to_owned(),
            renamed
                .iter()
                .map(|(ns, els)| (ns.clone(), els.keys().cloned().collect()))
                .collect(),
        )]);
        let (reader, establishment, _ble_ident) =
            reader::SessionManager::establish_session(qr.clone(), request.clone(), trust.clone())
                .unwrap();
        let mut iso = Self {
            issuer,
            issued,
            issued_decoys,
            device_key,
            engaged,
            qr,
            request,
            trust,
            permitted,
            establishment,
            reader,
            sealed_response: Vec::new(),
        };
        iso.sealed_response = iso.present(iso.engaged.clone());
        check(&iso.verify(iso.reader.clone()), asked_count);
        check(&iso.transaction(iso.engaged.clone()), asked_count);
        iso
    }

    /// The mdoc's side: keys, decrypt and parse the request, answer, sign, encrypt.
    fn present(&self, engaged: SessionManagerEngaged) -> Vec<u8> {
        self.answer(engaged, &self.establishment)
    }

    fn answer(&self, engaged: SessionManagerEngaged, establishment: &[u8]) -> Vec<u8> {
        let establishment: IsoSessionEstablishment =
            isomdl::cbor::from_slice(establishment).unwrap();
        let (mut session, outcome) = engaged
            .process_session_establishment(establishment, TrustAnchorRegistry::default())
            .unwrap();
        session.prepare_response(&outcome.items_request, self.permitted.clone());
        let (_, payload) = session.get_next_signature_payload().unwrap();
        let signature: Signature = self.device_key.sign(payload);
        session.submit_next_signature(signature.to_vec()).unwrap();
        session.retrieve_response().unwrap()
    }

    /// The reader's side: decrypt, parse, authenticate.
    fn verify(&self, mut reader: reader::SessionManager) -> ResponseAuthenticationOutcome {
        reader.handle_response(&self.sealed_response)
    }

    /// A whole transaction after engagement: request, answer, verification.
    fn transaction(&self, engaged: SessionManagerEngaged) -> ResponseAuthenticationOutcome {
        let (mut reader, establishment, _) = reader::SessionManager::establish_session(
            self.qr.clone(),
            self.request.clone(),
            self.trust.clone(),
        )
        .unwrap();
        let sealed = self.answer(engaged, &establishment);
        reader.handle_response(&sealed)
    }
}

/// Setup's check that isomdl verified everything it verifies and returned what was asked.
fn check(outcome: &ResponseAuthenticationOutcome, asked: usize) {
    assert!(outcome.errors.is_empty(), "isomdl: {:?}", outcome.errors);
    assert_eq!(outcome.issuer_authentication, AuthenticationStatus::Valid);
    assert_eq!(outcome.device_authentication, AuthenticationStatus::Valid);
    let returned = outcome.response[MDL_NAMESPACE].as_object().unwrap().len();
    assert_eq!(returned, asked, "isomdl returned {:?}", outcome.response);
}

/// kmid's whole transaction after engagement, as isomdl's: the reader's fresh ephemeral key,
/// keys and encrypted request; the mdoc's keys, answer and encrypted answer; the reader's
/// decryption and verification.
fn kmid_transaction(f: &Fixture) -> usize {
    let limits = CborLimits::default();
    let e_reader = PrivateKey::generate(Curve::P256).unwrap();
    let mut reader = Session::reader(
        CryptoProvider::get_default(),
        &e_reader,
        &f.engagement,
        &Handover::Qr,
    )
    .unwrap();
    let establishment = reader
        .establish(&f.mdoc_request.to_bytes())
        .unwrap()
        .to_bytes();

    let establishment = SessionEstablishment::from_bytes(&establishment, &limits).unwrap();
    let mut mdoc = Session::mdoc(
        CryptoProvider::get_default(),
        &f.e_device,
        &f.engagement,
        &establishment,
        &Handover::Qr,
    )
    .unwrap();
    let request =
        DeviceRequest::from_bytes(&mdoc.decrypt(&establishment.data).unwrap(), &limits).unwrap();
    let response = f
        .wallet
        .respond_mdoc(&request, mdoc.transcript(), f.at)
        .unwrap()
        .to_bytes();
    let sealed = mdoc.seal(&response).unwrap().to_bytes();

    let data = SessionData::from_bytes(&sealed, &limits).unwrap();
    let response = reader.open(&data).unwrap().unwrap();
    f.verifier
        .verify_mdoc(&f.mdoc_request, &response, reader.transcript(), f.at)
        .unwrap()
        .len()
}

/// Every JSONPath of `claims`, objects and their members (arrays whole), as kmid's catalogue
/// policy makes them disclosable.
fn disclosable_paths(prefix: &str, claims: &Map<String, Value>, out: &mut Vec<String>) {
    for (key, value) in claims {
        let path = format!("{prefix}.{key}");
        if let Value::Object(members) = value {
            disclosable_paths(&path, members, out);
        }
        out.push(path);
    }
}

/// The leaf claims (name and value) an SD-JWT's Disclosures carry, objects left out.
fn disclosed_leaves(sd_jwt: &str) -> BTreeSet<String> {
    sd_jwt
        .split('~')
        .skip(1)
        .filter(|d| !d.is_empty())
        .map(|d| serde_json::from_slice::<Value>(&b64url_decode(d).unwrap()).unwrap())
        .filter_map(|d| match d.as_array().map(Vec::as_slice) {
            Some([_, name, value]) if !value.is_object() => Some(format!("{name}={value}")),
            _ => None,
        })
        .collect()
}

/// A compact JWS's payload, decoded.
fn jws_payload(jws: &str) -> Map<String, Value> {
    let payload = jws.split('.').nth(1).unwrap();
    serde_json::from_slice(&b64url_decode(payload).unwrap()).unwrap()
}

/// sd-jwt-rs's side of one card.
struct SdJwtRs {
    claims: Value,
    paths: Vec<String>,
    issuer_key: EncodingKey,
    issuer_public: DecodingKey,
    holder_jwk: Jwk,
    holder_key: EncodingKey,
    /// The claims to disclose, in sd-jwt-rs's form (`{"family_name": true, ...}`).
    disclose: Map<String, Value>,
    nonce: String,
    audience: String,
    issued: String,
    presentation: String,
}

impl SdJwtRs {
    /// `None` when a claim holds a character sd-jwt-rs would panic on.
    fn new(f: &Fixture, authority: IssuingAuthority) -> Option<Self> {
        let (keys, ds_key) = AuthorityKeys::generate_with_key(authority, f.at, &*f.random).unwrap();
        let issuer_key = EncodingKey::from_ec_der(&ds_key.to_pkcs8_der().unwrap());
        let ds_public = keys.signer.public_key();
        let issuer_public = DecodingKey::from_ec_components(
            &b64url(ds_public.x()),
            &b64url(ds_public.y().unwrap()),
        )
        .unwrap();
        let holder = PrivateKey::generate(Curve::P256).unwrap();
        let holder_key = EncodingKey::from_ec_der(&holder.to_pkcs8_der().unwrap());
        let holder_jwk: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(holder.public_key().x()),
            "y": b64url(holder.public_key().y().unwrap()),
        }))
        .unwrap();

        // kmid's concealed claims, then its plain ones as its issuer wrote them, and the `iss`
        // sd-jwt-rs cannot do without.
        let kst = UtcOffset::from_hms(9, 0, 0).unwrap();
        let card_claims =
            kmid::sdjwt::vc::card_claims(&f.card, f.at.to_offset(kst).date()).unwrap();
        let mut paths = Vec::new();
        disclosable_paths("$", &card_claims, &mut paths);
        let mut claims = card_claims;
        let kmid_payload = jws_payload(f.sd_issued.split('~').next().unwrap());
        for (name, value) in kmid_payload {
            if !matches!(name.as_str(), "_sd" | "_sd_alg" | "cnf") {
                claims.insert(name, value);
            }
        }
        claims.insert("iss".into(), Value::String(authority.uri().into()));
        let claims = Value::Object(claims);
        if claims.to_string().chars().any(|c| u32::from(c) > 0xFFFF) {
            println!(
                "{}: a claim holds a character outside the BMP; sd-jwt-rs would panic",
                f.name
            );
            return None;
        }

        let mut disclose = Map::new();
        for path in &f.sd_request.paths {
            let (last, parents) = path.split_last().unwrap();
            let mut node = &mut disclose;
            for parent in parents {
                node = node
                    .entry(parent.clone())
                    .or_insert_with(|| Value::Object(Map::new()))
                    .as_object_mut()
                    .unwrap();
            }
            node.insert(last.clone(), Value::Bool(true));
        }

        let mut sd = Self {
            claims,
            paths,
            issuer_key,
            issuer_public,
            holder_jwk,
            holder_key,
            disclose,
            nonce: f.sd_request.nonce.clone(),
            audience: f.sd_request.audience.clone(),
            issued: String::new(),
            presentation: String::new(),
        };
        sd.issued = sd.issue();
        assert_eq!(
            disclosed_leaves(&sd.issued),
            disclosed_leaves(&f.sd_issued),
            "sd-jwt-rs discloses other claims than kmid"
        );
        sd.presentation = sd.present(&mut sd.holder());
        let verified = sd.verify();
        let disclosed = f
            .sd_request
            .paths
            .iter()
            .filter(|p| p.iter().try_fold(&verified, |v, k| v.get(k)).is_some())
            .count();
        assert_eq!(
            disclosed,
            f.sd_request.paths.len(),
            "sd-jwt-rs verified {verified}"
        );
        Some(sd)
    }

    fn issue(&self) -> String {
        let paths = self.paths.iter().map(String::as_str).collect();
        SDJWTIssuer::new(self.issuer_key.clone(), Some("ES256".into()))
            .issue_sd_jwt(
                self.claims.clone(),
                ClaimsForSelectiveDisclosureStrategy::Custom(paths),
                Some(self.holder_jwk.clone()),
                true,
                SDJWTSerializationFormat::Compact,
            )
            .unwrap()
    }

    /// The holder, parsed once (as kmid's wallet parses the SD-JWT VC once when storing it).
    fn holder(&self) -> SDJWTHolder {
        SDJWTHolder::new(self.issued.clone(), SDJWTSerializationFormat::Compact).unwrap()
    }

    fn present(&self, holder: &mut SDJWTHolder) -> String {
        holder
            .create_presentation(
                self.disclose.clone(),
                Some(self.nonce.clone()),
                Some(self.audience.clone()),
                Some(self.holder_key.clone()),
                Some("ES256".into()),
            )
            .unwrap()
    }

    /// Verifies the presentation with its KB-JWT; returns the disclosed claims.
    fn verify(&self) -> Value {
        let key = self.issuer_public.clone();
        SDJWTVerifier::new(
            self.presentation.clone(),
            Box::new(move |_, _| key.clone()),
            Some(self.audience.clone()),
            Some(self.nonce.clone()),
            SDJWTSerializationFormat::Compact,
        )
        .unwrap()
        .verified_claims
    }
}

/// One card: kmid's fixture and both peers' sides.
struct Card {
    f: Fixture,
    iso: Isomdl,
    sd: Option<SdJwtRs>,
}

fn cards() -> Vec<Card> {
    fixture::CARDS
        .iter()
        .map(|(name, authority)| {
            let f = Fixture::new(name, *authority);
            let iso = Isomdl::new(&f, *authority);
            let sd = SdJwtRs::new(&f, *authority);
            Card { f, iso, sd }
        })
        .collect()
}

/// Each backend's raw ES256: OpenSSL (kmid), RustCrypto `p256` (isomdl), `ring` through
/// `jsonwebtoken` (sd-jwt-rs; it parses the PKCS#8 key on every signature).
fn floor_benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("floor");
    let message = [0x5Au8; 128];
    let key = PrivateKey::generate(Curve::P256).unwrap();
    let public = key.public_key().clone();
    g.bench_function("es256_sign_openssl", |b| {
        b.iter(|| key.sign(black_box(&message)).unwrap());
    });
    let sig = key.sign(&message).unwrap();
    g.bench_function("es256_verify_openssl", |b| {
        b.iter(|| {
            public
                .verify(public.algorithm(), black_box(&message), &sig)
                .unwrap();
        });
    });
    let rc = SigningKey::from_slice(&key.scalar().unwrap()).unwrap();
    let rc_public = *rc.verifying_key();
    g.bench_function("es256_sign_rustcrypto", |b| {
        b.iter(|| -> Signature { rc.sign(black_box(&message)) });
    });
    let rc_sig: Signature = rc.sign(&message);
    g.bench_function("es256_verify_rustcrypto", |b| {
        b.iter(|| rc_public.verify(black_box(&message), &rc_sig).unwrap());
    });
    let jwt_key = EncodingKey::from_ec_der(&key.to_pkcs8_der().unwrap());
    let jwt_public =
        DecodingKey::from_ec_components(&b64url(public.x()), &b64url(public.y().unwrap())).unwrap();
    g.bench_function("es256_sign_jsonwebtoken", |b| {
        b.iter(|| {
            jsonwebtoken::crypto::sign(black_box(&message), &jwt_key, JwtAlgorithm::ES256).unwrap()
        });
    });
    let jwt_sig = jsonwebtoken::crypto::sign(&message, &jwt_key, JwtAlgorithm::ES256).unwrap();
    g.bench_function("es256_verify_jsonwebtoken", |b| {
        b.iter(|| {
            assert!(
                jsonwebtoken::crypto::verify(
                    &jwt_sig,
                    black_box(&message),
                    &jwt_public,
                    JwtAlgorithm::ES256
                )
                .unwrap()
            );
        });
    });
    g.finish();
}

fn card_benches(c: &mut Criterion, card: &Card) {
    let Card { f, iso, sd } = card;
    let mut g = c.benchmark_group(f.name);

    g.bench_function("mdoc_issue_kmid", |b| b.iter(|| f.issue_mdoc()));
    g.bench_function("mdoc_issue_isomdl", |b| b.iter(|| iso.issuer.issue(false)));
    g.bench_function("mdoc_issue_decoys_isomdl", |b| {
        b.iter(|| iso.issuer.issue(true));
    });
    g.bench_function("mdoc_present_session_kmid", |b| {
        b.iter(|| f.present_in_session());
    });
    g.bench_function("mdoc_present_session_isomdl", |b| {
        b.iter_batched(
            || iso.engaged.clone(),
            |engaged| iso.present(engaged),
            BatchSize::SmallInput,
        );
    });
    g.bench_function("mdoc_verify_session_kmid", |b| {
        b.iter(|| f.verify_in_session());
    });
    g.bench_function("mdoc_verify_session_isomdl", |b| {
        b.iter_batched(
            || iso.reader.clone(),
            |reader| iso.verify(reader),
            BatchSize::SmallInput,
        );
    });
    g.bench_function("mdoc_session_keys_kmid", |b| {
        b.iter(|| {
            Session::reader(
                CryptoProvider::get_default(),
                &f.e_reader,
                &f.engagement,
                &Handover::Qr,
            )
            .unwrap()
        });
    });
    g.bench_function("mdoc_transaction_kmid", |b| b.iter(|| kmid_transaction(f)));
    g.bench_function("mdoc_transaction_isomdl", |b| {
        b.iter_batched(
            || iso.engaged.clone(),
            |engaged| iso.transaction(engaged),
            BatchSize::SmallInput,
        );
    });

    g.bench_function("sd_jwt_issue_kmid", |b| b.iter(|| f.issue_sd_jwt()));
    g.bench_function("sd_jwt_present_kmid", |b| b.iter(|| f.present_sd_jwt()));
    g.bench_function("sd_jwt_verify_kmid", |b| b.iter(|| f.verify_sd_jwt()));
    if let Some(sd) = sd {
        g.bench_function("sd_jwt_issue_sd_jwt_rs", |b| b.iter(|| sd.issue()));
        let mut holder = sd.holder();
        g.bench_function("sd_jwt_present_sd_jwt_rs", |b| {
            b.iter(|| sd.present(&mut holder));
        });
        g.bench_function("sd_jwt_verify_sd_jwt_rs", |b| b.iter(|| sd.verify()));
    }
    g.finish();
}

/// One line of the timing table.
struct Row {
    op: &'static str,
    kmid: &'static str,
    /// A kmid row to subtract from `kmid` (work the peer's row does not hold).
    kmid_minus: Option<&'static str>,
    peer: &'static str,
    peer_id: &'static str,
    /// The peer's ES256 backend, as the `floor` ids name it.
    backend: &'static str,
    /// ES256 signatures and verifications in kmid's and in the peer's median, where they are
    /// all its public-key operations: the table then also gives both net of them.
    es256: Option<([f64; 2], [f64; 2])>,
}

const fn row(
    op: &'static str,
    kmid: &'static str,
    peer: &'static str,
    peer_id: &'static str,
) -> Row {
    Row {
        op,
        kmid,
        kmid_minus: None,
        peer,
        peer_id,
        backend: "rustcrypto",
        es256: None,
    }
}

const ROWS: [Row; 9] = [
    Row {
        es256: Some(([1.0, 0.0], [1.0, 0.0])),
        ..row(
            "mdoc issue",
            "mdoc_issue_kmid",
            "isomdl, no decoys",
            "mdoc_issue_isomdl",
        )
    },
    Row {
        es256: Some(([1.0, 0.0], [1.0, 0.0])),
        ..row(
            "mdoc issue",
            "mdoc_issue_kmid",
            "isomdl, its default decoys",
            "mdoc_issue_decoys_isomdl",
        )
    },
    row(
        "mdoc present (session)",
        "mdoc_present_session_kmid",
        "isomdl",
        "mdoc_present_session_isomdl",
    ),
    row(
        "mdoc verify (session)",
        "mdoc_verify_session_kmid",
        "isomdl",
        "mdoc_verify_session_isomdl",
    ),
    // isomdl's reader derives its session keys in establish_session, outside its verify row;
    // its verification checks three signatures (the Document Signer certificate's, uncached).
    Row {
        kmid_minus: Some("mdoc_session_keys_kmid"),
        es256: Some(([0.0, 2.0], [0.0, 3.0])),
        ..row(
            "mdoc verify (session), kmid's ECDH + HKDF taken out",
            "mdoc_verify_session_kmid",
            "isomdl",
            "mdoc_verify_session_isomdl",
        )
    },
    row(
        "mdoc transaction",
        "mdoc_transaction_kmid",
        "isomdl",
        "mdoc_transaction_isomdl",
    ),
    Row {
        backend: "jsonwebtoken",
        es256: Some(([1.0, 0.0], [1.0, 0.0])),
        ..row(
            "SD-JWT issue",
            "sd_jwt_issue_kmid",
            "sd-jwt-rs",
            "sd_jwt_issue_sd_jwt_rs",
        )
    },
    Row {
        backend: "jsonwebtoken",
        es256: Some(([1.0, 0.0], [1.0, 0.0])),
        ..row(
            "SD-JWT present (KB-JWT)",
            "sd_jwt_present_kmid",
            "sd-jwt-rs",
            "sd_jwt_present_sd_jwt_rs",
        )
    },
    Row {
        backend: "jsonwebtoken",
        es256: Some(([0.0, 2.0], [0.0, 2.0])),
        ..row(
            "SD-JWT verify (KB-JWT)",
            "sd_jwt_verify_kmid",
            "sd-jwt-rs",
            "sd_jwt_verify_sd_jwt_rs",
        )
    },
];

fn report(cards: &[Card], since: SystemTime) -> String {
    let mut out = String::new();
    let floor = |id: &str| median("floor", id, since);
    // A median net of its ES256 operations on `backend`, when the floor was measured.
    let net = |median: f64, backend: &str, [signs, verifies]: [f64; 2]| {
        let sign = floor(&format!("es256_sign_{backend}"))?;
        let verify = floor(&format!("es256_verify_{backend}"))?;
        Some(median - signs * sign - verifies * verify)
    };
    let _ = writeln!(
        out,
        "| card | operation | kmid | peer | peer median | peer / kmid | kmid net of ES256 | peer net of ES256 | net peer / kmid |\n\
         |---|---|---:|---|---:|---:|---:|---:|---:|"
    );
    for Card { f, .. } in cards {
        let m = |id: &str| median(f.name, id, since);
        for r in &ROWS {
            let kmid = match r.kmid_minus {
                Some(minus) => m(r.kmid).zip(m(minus)).map(|(all, part)| all - part),
                None => m(r.kmid),
            };
            let Some(k) = kmid else { continue };
            let Some(p) = m(r.peer_id) else {
                if r.kmid_minus.is_none() {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} | — | — |  |  |  |",
                        f.name,
                        r.op,
                        micros(k),
                        r.peer
                    );
                }
                continue;
            };
            let nets = r.es256.and_then(|(kmid_ops, peer_ops)| {
                net(k, "openssl", kmid_ops).zip(net(p, r.backend, peer_ops))
            });
            let nets = nets.map_or_else(
                || " |  | ".to_owned(),
                |(kn, pn)| format!("{} | {} | {:.2}×", micros(kn), micros(pn), pn / kn),
            );
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {:.2}× | {nets} |",
                f.name,
                r.op,
                micros(k),
                r.peer,
                micros(p),
                p / k
            );
        }
    }

    let _ = writeln!(
        out,
        "\n| card | artefact | kmid bytes | peer | peer bytes | peer / kmid |\n|---|---|---:|---|---:|---:|"
    );
    for Card { f, iso, sd } in cards {
        let mut size = |what: &str, kmid: usize, peer: &str, theirs: usize| {
            let _ = writeln!(
                out,
                "| {} | {what} | {kmid} | {peer} | {theirs} | {:.2}× |",
                f.name,
                theirs as f64 / kmid as f64
            );
        };
        size(
            "mdoc IssuerSigned",
            f.mdoc_issued.len(),
            "isomdl, no decoys",
            iso.issued.len(),
        );
        size(
            "mdoc IssuerSigned",
            f.mdoc_issued.len(),
            "isomdl, its default decoys",
            iso.issued_decoys.len(),
        );
        size(
            "mdoc SessionData (encrypted answer)",
            f.sealed_response.len(),
            "isomdl (mDL names)",
            iso.sealed_response.len(),
        );
        if let Some(sd) = sd {
            size(
                "SD-JWT issued",
                f.sd_issued.len(),
                "sd-jwt-rs",
                sd.issued.len(),
            );
            size(
                "SD-JWT presentation",
                f.sd_presentation.len(),
                "sd-jwt-rs",
                sd.presentation.len(),
            );
        }
    }

    let backends = [
        ("OpenSSL (kmid)", "openssl"),
        ("RustCrypto p256 (isomdl)", "rustcrypto"),
        ("ring via jsonwebtoken (sd-jwt-rs)", "jsonwebtoken"),
    ];
    let mut floors = String::new();
    for (name, id) in backends {
        if let (Some(sign), Some(verify)) = (
            floor(&format!("es256_sign_{id}")),
            floor(&format!("es256_verify_{id}")),
        ) {
            let _ = writeln!(floors, "| {name} | {} | {} |", micros(sign), micros(verify));
        }
    }
    if !floors.is_empty() {
        let _ = writeln!(
            out,
            "\n| ES256 backend | sign | verify |\n|---|---:|---:|\n{}",
            floors.trim_end()
        );
    }
    out
}

fn main() {
    let since = SystemTime::now();
    let cards = cards();
    let mut c = configured();
    floor_benches(&mut c);
    for card in &cards {
        card_benches(&mut c, card);
    }
    c.final_summary();
    let table = report(&cards, since);
    println!("\n{table}");
    let _ = std::fs::create_dir_all(criterion_dir());
    let _ = std::fs::write(criterion_dir().join("compare-report.md"), table);
}
