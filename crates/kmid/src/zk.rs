//! Zero-knowledge mdoc presentations (Longfellow): a verifier accepts a DeviceResponse's
//! `zkDocuments` — a proof that the holder has an mdoc signed by a Document Signer it trusts,
//! valid at the document's timestamp, whose disclosed elements have the values stated, bound
//! to this session — and learns nothing else (not the signature, the MSO, the device key or
//! any digest that would link two presentations). See `spec/zk.md`.

use std::sync::{Arc, OnceLock};

use kmid_crypto::x509::KeyPurpose;
use kmid_mdoc::CborLimits;
use kmid_mdoc::model::{DeviceResponse, ZkDocument};
use kmid_zk::mdoc::{
    Attribute, Credential, MdocCircuits, MdocProver, MdocVerifier, SPECS, Spec, Statement,
    Timestamp,
};
use time::{Duration, OffsetDateTime};

use crate::error::KmidError;
use crate::verifier::Verifier;

/// The proof system's name in ZkSystemSpecs (google/longfellow-zk `zk_spec.cc`).
pub const LONGFELLOW_SYSTEM: &str = "longfellow-libzk-v1";

/// One published circuit bundle, loaded on first use (a bundle is ~300 KB compressed, ~130 MB
/// loaded for verifying, as much again for proving).
pub(crate) struct Bundle {
    spec: Spec,
    compressed: Vec<u8>,
    loaded: OnceLock<Result<Arc<MdocVerifier>, kmid_zk::ZkError>>,
    prover: OnceLock<Result<Arc<MdocProver>, kmid_zk::ZkError>>,
}

/// The published v7 one-attribute bundle (google/longfellow-zk, Apache-2.0; the copy in
/// `test-vectors/longfellow/`), built in: what [`crate::Template::AgeCheckZk`] needs.
const V7_ONE_ATTRIBUTE: &[u8] =
    include_bytes!("../../../test-vectors/longfellow/mdoc/circuits/google-v7-1attr.circuit");

/// The circuits a verifier accepts proofs over.
#[derive(Default)]
pub struct ZkCircuits {
    bundles: Vec<Bundle>,
}

impl core::fmt::Debug for ZkCircuits {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list()
            .entries(
                self.bundles
                    .iter()
                    .map(|b| (b.spec.version, b.spec.attributes)),
            )
            .finish()
    }
}

impl ZkCircuits {
    /// No circuits.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a published bundle (a circuit file) for `spec`; it is loaded, and checked to be
    /// that spec's, on first use.
    pub fn add(&mut self, spec: Spec, compressed: Vec<u8>) {
        self.bundles.push(Bundle {
            spec,
            compressed,
            loaded: OnceLock::new(),
            prover: OnceLock::new(),
        });
    }

    /// The circuits of [`crate::Template::AgeCheckZk`]: the v7 one-attribute bundle, built in.
    #[must_use]
    pub fn age_check() -> Self {
        let mut c = Self::new();
        c.add(SPECS[4], V7_ONE_ATTRIBUTE.to_vec());
        c
    }

    /// The specs a reader may offer (`zkRequest.systemSpecs`).
    #[must_use]
    pub fn specs(&self) -> Vec<Spec> {
        self.bundles.iter().map(|b| b.spec).collect()
    }

    /// The bundle a `zkSystemId` names: a circuit hash (Google Wallet's IDs), or multipaz's
    /// `longfellow-libzk-v1_<version>_<attributes>_<blockEncHash>_<blockEncSig>_<hash>`.
    fn resolve(&self, zk_system_id: &str) -> Option<&Bundle> {
        let hash = circuit_hash_of(zk_system_id)?;
        self.bundles.iter().find(|b| hex_eq(&b.spec.id, &hash))
    }

    /// The first bundle held that one of `offered` (circuit hashes) names and that takes
    /// `attributes` elements.
    pub(crate) fn pick(&self, offered: &[String], attributes: usize) -> Option<&Bundle> {
        self.bundles.iter().find(|b| {
            b.spec.attributes == attributes && offered.iter().any(|h| hex_eq(&b.spec.id, h))
        })
    }

    fn prover(
        bundle: &Bundle,
        provider: &'static kmid_crypto::CryptoProvider,
    ) -> Result<Arc<MdocProver>, KmidError> {
        bundle
            .prover
            .get_or_init(|| {
                MdocCircuits::load(provider, &bundle.spec, &bundle.compressed)
                    .and_then(MdocProver::new)
                    .map(Arc::new)
            })
            .clone()
            .map_err(KmidError::Zk)
    }

    fn verifier(
        bundle: &Bundle,
        provider: &'static kmid_crypto::CryptoProvider,
    ) -> Result<Arc<MdocVerifier>, KmidError> {
        bundle
            .loaded
            .get_or_init(|| {
                MdocCircuits::load(provider, &bundle.spec, &bundle.compressed)
                    .and_then(MdocVerifier::new)
                    .map(Arc::new)
            })
            .clone()
            .map_err(KmidError::Zk)
    }
}

/// The circuit hash (lower-case hex) a `zkSystemId` or a `zk_system_type` `id` names: the hash
/// itself (Google), or the last field of multipaz's
/// `longfellow-libzk-v1_<version>_<attributes>_<blockEncHash>_<blockEncSig>_<hash>`.
fn circuit_hash_of(id: &str) -> Option<String> {
    let hash = match id.rsplit_once('_') {
        Some((_, hash)) if id.starts_with(LONGFELLOW_SYSTEM) => hash,
        Some(_) => return None,
        None => id,
    };
    (hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| hash.to_ascii_lowercase())
}

/// Whether the elements `ids` of `namespace` are exactly one claim option (OpenID4VP 1.0
/// §6.4.1): all of it and nothing outside it — equal as sets both ways, since an option may
/// name a path twice.
fn discloses_one_option(
    options: &[Vec<&crate::dcql::ClaimsQuery>],
    namespace: &str,
    ids: &[&str],
) -> bool {
    options.iter().any(|option| {
        let paths: Vec<Option<(&str, &str)>> =
            option.iter().map(|claim| claim.mdoc_path()).collect();
        paths
            .iter()
            .all(|p| p.is_some_and(|(ns, el)| ns == namespace && ids.contains(&el)))
            && ids.iter().all(|id| paths.contains(&Some((namespace, *id))))
    })
}

/// The circuit hashes an `mso_mdoc_zk` Credential Query accepts: each Longfellow entry of
/// its `zk_system_type`, by `circuit_hash`, else by `id`.
pub(crate) fn offered_in_dcql(meta: &crate::dcql::CredentialMeta) -> Vec<String> {
    meta.zk_system_type
        .iter()
        .flatten()
        .filter(|t| t.get("system").and_then(serde_json::Value::as_str) == Some(LONGFELLOW_SYSTEM))
        .filter_map(|t| {
            t.get("circuit_hash")
                .or_else(|| t.get("id"))
                .and_then(serde_json::Value::as_str)
                .and_then(circuit_hash_of)
        })
        .collect()
}

fn hex_eq(bytes: &[u8; 32], hex: &str) -> bool {
    let h = hex.as_bytes();
    h.len() == 64
        && bytes.iter().enumerate().all(|(i, &b)| {
            let nib = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                b'A'..=b'F' => Some(c - b'A' + 10),
                _ => None,
            };
            match (
                h.get(2 * i).copied().and_then(nib),
                h.get(2 * i + 1).copied().and_then(nib),
            ) {
                (Some(hi), Some(lo)) => (hi << 4 | lo) == b,
                _ => false,
            }
        })
}

/// How far a ZK document's timestamp (the time its validity was proven at) may be from the
/// verifier's clock. Google Wallet rounds it to the end of the current day, so the defaults
/// accept a day either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZkPolicy {
    /// Oldest accepted: `now − max_age`.
    pub max_age: Duration,
    /// Latest accepted: `now + max_ahead`.
    pub max_ahead: Duration,
}

impl Default for ZkPolicy {
    fn default() -> Self {
        Self {
            max_age: Duration::days(1),
            max_ahead: Duration::days(1),
        }
    }
}

/// What a verified ZK document establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedZkDocument {
    /// The document type.
    pub doc_type: String,
    /// When its validity was proven.
    pub timestamp: OffsetDateTime,
    /// The circuit bundle the proof is over.
    pub spec: Spec,
    /// The namespace of the disclosed elements.
    pub namespace: String,
    /// The disclosed elements: identifier and CBOR-encoded value.
    pub claims: Vec<(String, Vec<u8>)>,
    /// The Document Signer certificate (DER) the proof is under, validated to a trust anchor.
    pub document_signer: Vec<u8>,
}

impl Verifier {
    /// Verifies every `zkDocuments` entry of a DeviceResponse answering `request`, for the
    /// session whose SessionTranscript encodes to `transcript`, at `at`: that the document
    /// was asked for, discloses exactly the elements asked for, over a circuit the request
    /// offered and `circuits` holds; the Document Signer chain in `msoX5chain` against this
    /// verifier's mdoc trust anchors; the timestamp against `policy`; and the proof.
    ///
    /// The issuer's revocation status is not part of the statement (the MSO stays hidden), so
    /// none is checked; the Document Signer certificate's is, under the trust store's policy.
    ///
    /// # Errors
    /// [`KmidError::Mdoc`] for a response that does not decode, [`KmidError::ZkDocument`] for
    /// a document outside what is accepted, [`KmidError::Crypto`] for a chain that does not
    /// validate, [`KmidError::Zk`] for a proof refused (the failed check in its code).
    pub fn verify_mdoc_zk(
        &self,
        request: &kmid_mdoc::model::DeviceRequest,
        response: &[u8],
        transcript: &[u8],
        circuits: &ZkCircuits,
        policy: &ZkPolicy,
        at: OffsetDateTime,
    ) -> Result<Vec<VerifiedZkDocument>, KmidError> {
        let response = DeviceResponse::from_bytes(response, &CborLimits::default())?;
        if response.zk_documents.is_empty() {
            return Err(KmidError::ZkDocument("no zkDocuments"));
        }
        response
            .zk_documents
            .iter()
            .map(|doc| {
                let asked = request
                    .doc_requests
                    .iter()
                    .map(|d| &d.items_request)
                    .find(|i| i.doc_type == doc.data.doc_type)
                    .ok_or(KmidError::ZkDocument("a document that was not asked for"))?;
                // Exactly the elements asked for: each disclosed one was requested, and as many.
                let requested: Vec<(&str, &str)> = asked
                    .name_spaces
                    .iter()
                    .flat_map(|(ns, els)| els.iter().map(move |(id, _)| (ns.as_str(), id.as_str())))
                    .collect();
                let exactly = |namespace: &str, ids: &[&str]| {
                    requested.len() == ids.len()
                        && ids.iter().all(|id| requested.contains(&(namespace, *id)))
                };
                self.verify_zk_document(
                    doc,
                    &offered_hashes(asked),
                    &exactly,
                    transcript,
                    circuits,
                    policy,
                    at,
                )
            })
            .collect()
    }

    /// Verifies the VP Token presentation of an `mso_mdoc_zk` Credential Query (OpenID4VP,
    /// as Google Wallet and multipaz answer one): a base64url DeviceResponse holding one
    /// `zkDocuments` entry and no documents, of the query's docType, over a circuit its
    /// `zk_system_type` accepts, disclosing exactly one of its claim options, for the
    /// OpenID4VP SessionTranscript of `request`.
    pub(crate) fn verify_dcql_zk(
        &self,
        cq: &crate::dcql::CredentialQuery,
        request: &crate::dcql::OpenId4VpRequest,
        presentation: &str,
        at: OffsetDateTime,
    ) -> Result<crate::verifier::VerifiedCredential, KmidError> {
        let mismatch = |why: &str| KmidError::VpTokenMismatch(format!("{:?}: {why}", cq.id));
        let Some((circuits, policy)) = &self.zk else {
            return Err(mismatch(
                "this verifier holds no circuits for mso_mdoc_zk (Verifier::with_zk_circuits)",
            ));
        };
        let bytes = kmid_crypto::jose::b64url_decode(presentation)
            .map_err(|_| mismatch("an mdoc presentation is base64url without padding"))?;
        let response = DeviceResponse::from_bytes(&bytes, &CborLimits::default())?;
        let doc_type = cq.meta.doctype_value.as_deref().unwrap_or_default();
        let doc = match (
            response.documents.as_slice(),
            response.zk_documents.as_slice(),
        ) {
            ([], [doc]) if doc.data.doc_type == doc_type => doc,
            _ => {
                return Err(mismatch(&format!(
                    "one zkDocument of {doc_type} and no other document expected"
                )));
            }
        };
        let offered = offered_in_dcql(&cq.meta);
        let options = cq.options();
        let one_option =
            |namespace: &str, ids: &[&str]| discloses_one_option(&options, namespace, ids);
        let transcript = crate::wallet::openid4vp_transcript(self.provider, request)?;
        let verified = self.verify_zk_document(
            doc,
            &offered,
            &one_option,
            transcript.bytes(),
            circuits,
            policy,
            at,
        )?;
        let digest = crate::verifier::presentation_digest(self.provider, &bytes)?;
        Ok(crate::verifier::VerifiedCredential::from_zk(
            &verified, digest,
        ))
    }

    /// Verifies `mso_mdoc_zk` presentations over `circuits` (loaded on first use), their
    /// timestamps within `policy`: what [`Self::verify_vp_token_any`] and the online flows
    /// need for a Credential Query of that format (without, such a query's answer is refused).
    #[must_use]
    pub fn with_zk_circuits(mut self, circuits: Arc<ZkCircuits>, policy: ZkPolicy) -> Self {
        self.zk = Some((circuits, policy));
        self
    }

    /// One ZK document: `offered` (circuit hashes) names the circuits the request accepted,
    /// `claims_ok` whether the disclosed elements (one namespace, their identifiers) are
    /// what it asked for.
    #[allow(clippy::too_many_arguments)]
    fn verify_zk_document(
        &self,
        doc: &ZkDocument,
        offered: &[String],
        claims_ok: &dyn Fn(&str, &[&str]) -> bool,
        transcript: &[u8],
        circuits: &ZkCircuits,
        policy: &ZkPolicy,
        at: OffsetDateTime,
    ) -> Result<VerifiedZkDocument, KmidError> {
        let data = &doc.data;
        let bundle = circuits
            .resolve(&data.zk_system_id)
            .filter(|b| offered.iter().any(|h| hex_eq(&b.spec.id, h)))
            .ok_or(KmidError::ZkDocument(
                "a proof system this verifier did not offer",
            ))?;
        if !data.device_signed.iter().all(|(_, items)| items.is_empty()) {
            return Err(KmidError::ZkDocument("device-signed elements"));
        }
        let [(namespace, items)] = data.issuer_signed.as_slice() else {
            return Err(KmidError::ZkDocument(
                "elements from other than one namespace",
            ));
        };
        if items.len() != bundle.spec.attributes {
            return Err(KmidError::ZkDocument(
                "an element count the circuit does not take",
            ));
        }
        let ids: Vec<&str> = items.iter().map(|i| i.identifier.as_str()).collect();
        let repeated = ids
            .iter()
            .enumerate()
            .any(|(i, id)| ids.iter().take(i).any(|other| other == id));
        if repeated || !claims_ok(namespace, &ids) {
            return Err(KmidError::ZkDocument("elements other than those asked for"));
        }
        let now = Timestamp::parse(&data.timestamp)?;
        let timestamp = time::PrimitiveDateTime::parse(
            &data.timestamp,
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z"),
        )
        .map_err(|_| KmidError::ZkDocument("a timestamp that does not parse"))?
        .assume_utc();
        if timestamp < at - policy.max_age || timestamp > at + policy.max_ahead {
            return Err(KmidError::ZkDocument(
                "a timestamp outside the accepted window",
            ));
        }
        let ders: Vec<&[u8]> = data.mso_x5chain.iter().map(Vec::as_slice).collect();
        if ders.is_empty() {
            return Err(KmidError::ZkDocument("no msoX5chain"));
        }
        let chain = self
            .trust
            .validate_der(&ders, at, KeyPurpose::DocumentSigner)?;
        let sec1 = chain
            .leaf_key
            .to_sec1_uncompressed()
            .filter(|k| k.len() == 65)
            .ok_or(KmidError::ZkDocument(
                "a Document Signer key other than P-256",
            ))?;
        let (x, y): ([u8; 32], [u8; 32]) = (
            sec1.get(1..33)
                .and_then(|s| s.try_into().ok())
                .unwrap_or([0; 32]),
            sec1.get(33..65)
                .and_then(|s| s.try_into().ok())
                .unwrap_or([0; 32]),
        );
        let attributes: Vec<Attribute<'_>> = items
            .iter()
            .map(|i| Attribute {
                namespace,
                identifier: &i.identifier,
                value: &i.value,
            })
            .collect();
        let statement = Statement {
            issuer_x: &x,
            issuer_y: &y,
            session_transcript: transcript,
            doc_type: &data.doc_type,
            device_namespaces: &[0xa0],
            attributes: &attributes,
            now,
        };
        ZkCircuits::verifier(bundle, self.provider)?.verify(
            self.provider,
            &statement,
            &doc.proof,
        )?;
        Ok(VerifiedZkDocument {
            doc_type: data.doc_type.clone(),
            timestamp,
            spec: bundle.spec,
            namespace: namespace.clone(),
            claims: items
                .iter()
                .map(|i| (i.identifier.clone(), i.value.clone()))
                .collect(),
            document_signer: chain.leaf.der().to_vec(),
        })
    }
}

/// The `requestInfo` key of a DocRequest's ZK request (ISO/IEC 18013-5 second edition draft).
pub const ZK_REQUEST_KEY: &str = "zkRequest";

/// What [`crate::Template::AgeCheckZk`] offers: the one-attribute circuits, newest first.
pub const AGE_CHECK_SPECS: &[Spec] = &[SPECS[4], SPECS[0]];

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A spec as a DCQL `zk_system_type` entry (flat: its ID is the circuit hash, as Google's
/// verifier writes it).
#[must_use]
pub fn zk_system_type(spec: &Spec) -> serde_json::Value {
    serde_json::json!({
        "system": LONGFELLOW_SYSTEM,
        "id": hex(&spec.id),
        "circuit_hash": hex(&spec.id),
        "num_attributes": spec.attributes,
        "version": spec.version.number(),
        "block_enc_hash": spec.block_enc_hash,
        "block_enc_sig": spec.block_enc_sig,
    })
}

/// A DocRequest's `zkRequest`: `{"systemSpecs": [+ {"zkSystemId", "system", "params"}],
/// "zkRequired": true}`.
#[must_use]
pub fn zk_request(specs: &[Spec]) -> kmid_mdoc::ElementValue {
    use kmid_mdoc::ElementValue as V;
    let text = |s: &str| V::Text(s.to_owned());
    let uint = |n: usize| V::Uint(u64::try_from(n).unwrap_or(u64::MAX));
    let system_specs = specs
        .iter()
        .map(|spec| {
            V::Map(vec![
                (text("zkSystemId"), text(&hex(&spec.id))),
                (text("system"), text(LONGFELLOW_SYSTEM)),
                (
                    text("params"),
                    V::Map(vec![
                        (text("circuit_hash"), text(&hex(&spec.id))),
                        (text("num_attributes"), uint(spec.attributes)),
                        (text("version"), V::Uint(u64::from(spec.version.number()))),
                        (text("block_enc_hash"), uint(spec.block_enc_hash)),
                        (text("block_enc_sig"), uint(spec.block_enc_sig)),
                    ]),
                ),
            ])
        })
        .collect();
    V::Map(vec![
        (text("systemSpecs"), V::Array(system_specs)),
        (text("zkRequired"), V::Bool(true)),
    ])
}

/// Every published spec (for a reader's `zkRequest`).
#[must_use]
pub fn published_specs() -> &'static [Spec] {
    &SPECS
}

/// A DocRequest's offered specs (`requestInfo.zkRequest.systemSpecs[*].params.circuit_hash`,
/// or the `zkSystemId` when it is a hash), as circuit hashes in hex.
fn offered_hashes(items: &kmid_mdoc::model::ItemsRequest) -> Vec<String> {
    use kmid_mdoc::ElementValue as V;
    let text = |v: &V| match v {
        V::Text(t) => Some(t.clone()),
        _ => None,
    };
    let get = |m: &[(V, V)], k: &str| {
        m.iter()
            .find(|(key, _)| key == &V::Text(k.to_owned()))
            .map(|(_, v)| v.clone())
    };
    let mut out = Vec::new();
    for (key, value) in &items.request_info {
        let V::Map(zk) = value else { continue };
        if key != ZK_REQUEST_KEY {
            continue;
        }
        let Some(V::Array(specs)) = get(zk, "systemSpecs") else {
            continue;
        };
        for spec in specs {
            let V::Map(spec) = spec else { continue };
            if get(&spec, "system").and_then(|v| text(&v)).as_deref() != Some(LONGFELLOW_SYSTEM) {
                continue;
            }
            let hash = match get(&spec, "params") {
                Some(V::Map(params)) => {
                    get(&params, "circuit_hash").or_else(|| get(&params, "circuitHash"))
                }
                _ => None,
            };
            if let Some(h) = hash
                .and_then(|v| text(&v))
                .or_else(|| get(&spec, "zkSystemId").and_then(|v| text(&v)))
            {
                out.push(h.to_ascii_lowercase());
            }
        }
    }
    out
}

/// The pieces of a DeviceResponse's document a prover needs, read from its encoding.
struct DocumentParts {
    doc_type: String,
    protected: Vec<u8>,
    payload: Vec<u8>,
    issuer_signature: Vec<u8>,
    x5chain: Vec<Vec<u8>>,
    device_signature: Vec<u8>,
    /// (namespace, identifier, value encoding, IssuerSignedItemBytes).
    items: Vec<(String, String, Vec<u8>, Vec<u8>)>,
}

fn document_parts(response: &[u8]) -> Option<DocumentParts> {
    use kmid_cbor::decode;
    let limits = CborLimits::default();
    let r = decode(response, &limits).ok()?;
    let doc = r.get("documents")?.as_array()?.first()?;
    let issuer_signed = doc.get("issuerSigned")?;
    let auth = issuer_signed.get("issuerAuth")?.as_array()?;
    let x5 = auth.get(1)?.get_int(33)?;
    let x5chain = match (x5.as_bytes(), x5.as_array()) {
        (Some(one), _) => vec![one.to_vec()],
        (None, Some(many)) => many
            .iter()
            .filter_map(|c| c.as_bytes().map(<[u8]>::to_vec))
            .collect(),
        _ => return None,
    };
    let mut items = Vec::new();
    for (ns, list) in issuer_signed.get("nameSpaces")?.as_map()? {
        for x in list.as_array()? {
            let inner = decode(x.as_embedded_cbor()?, &limits).ok()?;
            items.push((
                ns.as_text()?.to_owned(),
                inner.get("elementIdentifier")?.as_text()?.to_owned(),
                inner.get("elementValue")?.raw.to_vec(),
                x.raw.to_vec(),
            ));
        }
    }
    let signature = doc
        .get("deviceSigned")?
        .get("deviceAuth")?
        .get("deviceSignature")?;
    Some(DocumentParts {
        doc_type: doc.get("docType")?.as_text()?.to_owned(),
        protected: auth.first()?.as_bytes()?.to_vec(),
        payload: auth.get(2)?.as_bytes()?.to_vec(),
        issuer_signature: auth.get(3)?.as_bytes()?.to_vec(),
        x5chain,
        device_signature: signature.as_array()?.get(3)?.as_bytes()?.to_vec(),
        items,
    })
}

impl crate::Wallet {
    /// Answers a DeviceRequest whose DocRequest asks for a zero-knowledge proof
    /// (`requestInfo.zkRequest`, as [`crate::Template::AgeCheckZk`] makes it) with a
    /// DeviceResponse holding a `zkDocuments` entry instead of the document: a Longfellow proof
    /// over one of the offered circuits that `circuits` holds, made at `at` (the document's
    /// timestamp) for the session `transcript`. The credential itself, its signature and the
    /// device key stay with the wallet.
    ///
    /// # Errors
    /// [`KmidError::ZkDocument`] when no offered circuit is available or the request asks for
    /// more elements than it takes; as [`crate::Wallet::respond_mdoc`]; [`KmidError::Zk`] when
    /// the credential cannot be proven over (an MSO larger than the circuit takes, …).
    pub fn respond_mdoc_zk(
        &self,
        request: &kmid_mdoc::model::DeviceRequest,
        transcript: &kmid_mdoc::model::SessionTranscript,
        circuits: &ZkCircuits,
        random: &dyn kmid_crypto::Random,
        at: OffsetDateTime,
    ) -> Result<DeviceResponse, KmidError> {
        let doc_request = request
            .doc_requests
            .first()
            .ok_or(KmidError::InvalidRequest("no DocRequest"))?;
        let offered = offered_hashes(&doc_request.items_request);
        let asked: usize = doc_request
            .items_request
            .name_spaces
            .iter()
            .map(|(_, e)| e.len())
            .sum();
        let bundle = circuits.pick(&offered, asked).ok_or(KmidError::ZkDocument(
            "none of the offered circuits is available",
        ))?;
        let at = at
            .replace_nanosecond(0)
            .map_err(|_| KmidError::ZkDocument("a time"))?;
        let plain = self
            .respond_mdoc_linkable(request, transcript, at, false)?
            .to_bytes();
        self.prove_response(&plain, transcript, bundle, random, at)
    }

    /// The zero-knowledge form of `plain`, a DeviceResponse of one document this wallet made
    /// over `transcript` at `at` (whole seconds): a proof over `bundle` that its disclosed
    /// elements are issuer-signed, and its DeviceAuthentication device-signed, in a
    /// DeviceResponse holding that `zkDocuments` entry alone.
    pub(crate) fn prove_response(
        &self,
        plain: &[u8],
        transcript: &kmid_mdoc::model::SessionTranscript,
        bundle: &Bundle,
        random: &dyn kmid_crypto::Random,
        at: OffsetDateTime,
    ) -> Result<DeviceResponse, KmidError> {
        let parts =
            document_parts(plain).ok_or(KmidError::ZkDocument("a response it cannot read"))?;
        let ds = kmid_crypto::x509::Certificate::from_der(
            parts
                .x5chain
                .first()
                .ok_or(KmidError::ZkDocument("no x5chain"))?,
        )?;
        let sec1 = ds
            .public_key()
            .to_sec1_uncompressed()
            .filter(|k| k.len() == 65)
            .ok_or(KmidError::ZkDocument(
                "a Document Signer key other than P-256",
            ))?;
        let x: [u8; 32] = sec1
            .get(1..33)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; 32]);
        let y: [u8; 32] = sec1
            .get(33..65)
            .and_then(|s| s.try_into().ok())
            .unwrap_or([0; 32]);
        let namespace = parts.items.first().map(|i| i.0.clone()).unwrap_or_default();
        let attributes: Vec<Attribute<'_>> = parts
            .items
            .iter()
            .map(|(ns, id, value, _)| Attribute {
                namespace: ns,
                identifier: id,
                value,
            })
            .collect();
        let timestamp = kmid_mdoc::model::format_tdate(at);
        let statement = Statement {
            issuer_x: &x,
            issuer_y: &y,
            session_transcript: transcript.bytes(),
            doc_type: &parts.doc_type,
            device_namespaces: &[0xa0],
            attributes: &attributes,
            now: Timestamp::parse(&timestamp)?,
        };
        let items: Vec<&[u8]> = parts.items.iter().map(|i| i.3.as_slice()).collect();
        let credential = Credential {
            issuer_protected: &parts.protected,
            issuer_payload: &parts.payload,
            issuer_signature: &parts.issuer_signature,
            device_signature: &parts.device_signature,
            items: &items,
        };
        let prover = ZkCircuits::prover(bundle, self.provider())?;
        let proof = prover.prove(self.provider(), random, &statement, &credential)?;
        Ok(DeviceResponse {
            version: "1.1".to_owned(),
            documents: Vec::new(),
            zk_documents: vec![ZkDocument {
                data: kmid_mdoc::model::ZkDocumentData {
                    zk_system_id: hex(&bundle.spec.id),
                    doc_type: parts.doc_type.clone(),
                    timestamp,
                    issuer_signed: vec![(
                        namespace,
                        parts
                            .items
                            .iter()
                            .map(|(_, id, value, _)| kmid_mdoc::model::ZkSignedItem {
                                identifier: id.clone(),
                                value: value.clone(),
                            })
                            .collect(),
                    )],
                    device_signed: Vec::new(),
                    mso_x5chain: parts.x5chain.into_iter().take(1).collect(),
                },
                proof,
            }],
            document_errors: Vec::new(),
            status: kmid_mdoc::model::ResponseStatus::Ok,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::discloses_one_option;
    use crate::dcql::ClaimsQuery;

    fn claim(ns: &str, el: &str) -> ClaimsQuery {
        ClaimsQuery {
            id: None,
            path: vec![ns.into(), el.into()],
            values: None,
            intent_to_retain: None,
        }
    }

    /// Exactly one option's elements, in any order; not fewer, not more, not another
    /// namespace — and an option naming a path twice is not satisfied by that path and another.
    #[test]
    fn one_claim_option_exactly() {
        let (a, b, c) = (claim("ns", "a"), claim("ns", "b"), claim("ns", "c"));
        let options = vec![vec![&a, &b], vec![&c]];
        assert!(discloses_one_option(&options, "ns", &["b", "a"]));
        assert!(discloses_one_option(&options, "ns", &["c"]));
        assert!(!discloses_one_option(&options, "ns", &["a"]));
        assert!(!discloses_one_option(&options, "ns", &["a", "b", "c"]));
        assert!(!discloses_one_option(&options, "other", &["c"]));
        let twice = vec![vec![&a, &a]];
        assert!(!discloses_one_option(&twice, "ns", &["a", "b"]));
        assert!(discloses_one_option(&twice, "ns", &["a"]));
    }
}
