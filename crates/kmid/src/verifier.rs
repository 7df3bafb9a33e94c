//! The relying party: request templates for the checks Korean verifiers make, and one
//! verification result for either format.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use kmid_crypto::CryptoProvider;
use kmid_crypto::x509::{Certificate, TrustStore};
use kmid_mdoc::ElementValue;
use kmid_mdoc::model::{DeviceRequest, DocRequest, ItemsRequest, SessionTranscript};
use kmid_mdoc::verifier::MdocVerifier;
use kmid_schema::CardType;
use kmid_schema::catalogue::{self, ClaimId};
use kmid_schema::status::{StatusResolver, TokenStatus};
use kmid_sdjwt::kb::KeyBindingPolicy;
use kmid_sdjwt::vc::metadata::IssuerMetadataResolver;
use kmid_sdjwt::vc::{IssuerKeys, SdJwtVcVerifier};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::dcql::{
    ClaimsQuery, CredentialMeta, CredentialQuery, DcqlQuery, FORMAT_MSO_MDOC, FORMAT_SD_JWT_VC,
    OpenId4VpRequest, VpToken,
};
use crate::error::KmidError;
use crate::wallet::openid4vp_transcript;

/// What a verifier asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Template {
    /// A convenience store or a bar: is the holder an adult under the Youth Protection Act,
    /// and over 19? Nothing else.
    AgeCheck,
    /// A hospital or an office counter: name, photo and birth date, without the registration
    /// number.
    Identity,
    /// A bank opening an account: identity with the registration number, which may be asked
    /// for only with a legal basis (stated here, and kept in the verification record).
    FullIdentity {
        /// The law that allows collecting the number (e.g. the Act on Real Name Financial
        /// Transactions, Art. 3).
        legal_basis: String,
    },
    /// The age check as a zero-knowledge proof (Longfellow): the holder proves `age_over_19`
    /// from its mdoc without showing the signature, the MSO or its device key, so two checks
    /// cannot be linked (`spec/zk.md`). For mdoc only; an SD-JWT VC request is the plain
    /// one-claim request.
    AgeCheckZk,
}

impl Template {
    /// The catalogue items it asks for.
    #[must_use]
    pub fn claims(&self) -> &'static [ClaimId] {
        match self {
            Self::AgeCheck => &[ClaimId::YouthActAdult, ClaimId::AgeOver19],
            // One attribute: the one-attribute circuits.
            Self::AgeCheckZk => &[ClaimId::AgeOver19],
            Self::Identity => &[
                ClaimId::FamilyName,
                ClaimId::GivenName,
                ClaimId::BirthDate,
                ClaimId::Portrait,
            ],
            Self::FullIdentity { .. } => &[
                ClaimId::FamilyName,
                ClaimId::GivenName,
                ClaimId::BirthDate,
                ClaimId::Portrait,
                ClaimId::RegistrationNumber,
            ],
        }
    }

    /// A short name.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        match self {
            Self::AgeCheck => "age check",
            Self::Identity => "identity",
            Self::FullIdentity { .. } => "full identity",
            Self::AgeCheckZk => "age check (zero-knowledge)",
        }
    }

    fn claims_for(&self, card: CardType) -> impl Iterator<Item = &'static catalogue::ClaimSpec> {
        self.claims()
            .iter()
            .map(|id| catalogue::spec(*id))
            .filter(move |s| s.applies_to(card))
    }

    /// The mdoc DeviceRequest for `card` (no intent to retain: a reader that keeps a copy
    /// says so in its verification record).
    #[must_use]
    pub fn mdoc_request(&self, card: CardType) -> DeviceRequest {
        let mut items = ItemsRequest::for_doc_type(card.doc_type());
        for spec in self.claims_for(card) {
            items.ask(spec.mdoc.namespace, spec.mdoc.identifier, false);
        }
        if matches!(self, Self::AgeCheckZk) {
            items.request_info.push((
                crate::zk::ZK_REQUEST_KEY.to_owned(),
                crate::zk::zk_request(crate::zk::AGE_CHECK_SPECS),
            ));
        }
        DeviceRequest::new(vec![DocRequest::new(items)])
    }

    /// The mdoc DeviceRequest for `card`, its DocRequest signed by the reader over
    /// ReaderAuthentication for `transcript` (ISO/IEC 18013-5 §9.1.4), `chain` starting with
    /// the reader's certificate. A wallet that trusts the reader's root can then tell who
    /// asks before it answers.
    ///
    /// # Errors
    /// A chain whose first certificate is not `reader`'s; signer failures.
    pub fn mdoc_request_signed(
        &self,
        card: CardType,
        transcript: &SessionTranscript,
        reader: &dyn kmid_crypto::Signer,
        chain: &[Certificate],
    ) -> Result<DeviceRequest, KmidError> {
        let unsigned = self.mdoc_request(card);
        let mut requests = Vec::new();
        for doc in unsigned.doc_requests {
            requests.push(kmid_mdoc::reader::signed_doc_request(
                doc.items_request,
                transcript,
                reader,
                chain,
            )?);
        }
        Ok(DeviceRequest::new(requests))
    }

    /// [`Self::mdoc_request_signed`] with a registration attestation in each DocRequest's
    /// `requestInfo` (under `kr.kmid.registration`): what lets a wallet release the
    /// registration number to this reader (`crate::registration`; the attestation's `sub` is
    /// the `x509_hash` of the reader certificate, `chain`'s first).
    ///
    /// # Errors
    /// As [`Self::mdoc_request_signed`].
    pub fn mdoc_request_registered(
        &self,
        card: CardType,
        transcript: &SessionTranscript,
        reader: &dyn kmid_crypto::Signer,
        chain: &[Certificate],
        attestation: &str,
    ) -> Result<DeviceRequest, KmidError> {
        let unsigned = self.mdoc_request(card);
        let mut requests = Vec::new();
        for doc in unsigned.doc_requests {
            let mut items = doc.items_request;
            items.request_info.push((
                crate::registration::REQUEST_INFO_KEY.to_owned(),
                ElementValue::Text(attestation.to_owned()),
            ));
            requests.push(kmid_mdoc::reader::signed_doc_request(
                items, transcript, reader, chain,
            )?);
        }
        Ok(DeviceRequest::new(requests))
    }

    /// The SD-JWT VC request for `card`, bound to `nonce` and `audience`.
    #[must_use]
    pub fn sd_jwt_request(&self, card: CardType, nonce: &str, audience: &str) -> SdJwtRequest {
        SdJwtRequest {
            vct: card.doc_type().to_owned(),
            paths: self
                .claims_for(card)
                .map(|s| s.sd_jwt.path.iter().map(|p| (*p).to_owned()).collect())
                .collect(),
            nonce: nonce.to_owned(),
            audience: audience.to_owned(),
        }
    }
}

impl Template {
    /// The DCQL query (OpenID4VP 1.0 §6) for `card` in `format`: one Credential Query, id
    /// `card`, asking for exactly the template's claims (mdoc elements without intent to
    /// retain).
    #[must_use]
    pub fn dcql_query(&self, card: CardType, format: Format) -> DcqlQuery {
        let claims = self
            .claims_for(card)
            .map(|spec| match format {
                Format::Mdoc => ClaimsQuery {
                    id: None,
                    path: vec![json!(spec.mdoc.namespace), json!(spec.mdoc.identifier)],
                    values: None,
                    intent_to_retain: Some(false),
                },
                Format::SdJwtVc => ClaimsQuery {
                    id: None,
                    path: spec.sd_jwt.path.iter().map(|p| json!(p)).collect(),
                    values: None,
                    intent_to_retain: None,
                },
            })
            .collect();
        let (format_id, meta) = match format {
            Format::Mdoc => (
                FORMAT_MSO_MDOC,
                CredentialMeta {
                    vct_values: None,
                    doctype_value: Some(card.doc_type().to_owned()),
                    zk_system_type: None,
                },
            ),
            Format::SdJwtVc => (
                FORMAT_SD_JWT_VC,
                CredentialMeta {
                    vct_values: Some(vec![card.vct().to_owned()]),
                    doctype_value: None,
                    zk_system_type: None,
                },
            ),
        };
        // A zero-knowledge template asks for the mdoc as a proof over the published circuits.
        let (format_id, meta) = match (self, format) {
            (Self::AgeCheckZk, Format::Mdoc) => (
                crate::dcql::FORMAT_MSO_MDOC_ZK,
                CredentialMeta {
                    zk_system_type: Some(
                        crate::zk::AGE_CHECK_SPECS
                            .iter()
                            .map(crate::zk::zk_system_type)
                            .collect(),
                    ),
                    ..meta
                },
            ),
            _ => (format_id, meta),
        };
        DcqlQuery {
            credentials: vec![CredentialQuery {
                id: "card".to_owned(),
                format: format_id.to_owned(),
                multiple: false,
                meta,
                claims: Some(claims),
                claim_sets: None,
                require_cryptographic_holder_binding: None,
                trusted_authorities: None,
            }],
            credential_sets: None,
        }
    }
}

/// An SD-JWT VC presentation request: which credential, which claims, bound to what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdJwtRequest {
    /// The `vct` asked for.
    pub vct: String,
    /// The claim paths asked for.
    pub paths: Vec<Vec<String>>,
    /// The verifier's nonce for this transaction.
    pub nonce: String,
    /// The verifier's identifier (the KB-JWT's `aud`).
    pub audience: String,
}

/// Which format a presentation came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// ISO/IEC 18013-5 mdoc.
    Mdoc,
    /// SD-JWT VC.
    SdJwtVc,
}

/// A verified presentation of either format.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedPresentation {
    /// The format.
    pub format: Format,
    /// The card type.
    pub card_type: CardType,
    /// The disclosed catalogue items: text, booleans, numbers, dates as `YYYY-MM-DD`, the
    /// portrait as standard base64 (mdoc) or a data URL (SD-JWT VC).
    pub claims: Vec<(ClaimId, Value)>,
    /// The common name of the Document Signer that signed it.
    pub issuer: Option<String>,
    /// The status the resolver reported.
    pub status: Option<TokenStatus>,
    /// `sha-256:` and the base64url SHA-256 of the presentation exactly as verified (the
    /// DeviceResponse bytes, or the SD-JWT text).
    pub presentation_digest: String,
    /// The issuer chain positions whose revocation could not be checked (a soft-fail
    /// revocation policy, `spec/trust.md`); empty when every CRL was checked or none is asked
    /// for.
    pub revocation_unknown: Vec<usize>,
}

/// A verified presentation of any credential type, with its claims as they are (issue 17):
/// what [`Verifier::verify_mdoc_any`] returns for a foreign mDL, an EU PID or any docType a
/// root is scoped to. The Korean profile's typed checks are not applied.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedCredential {
    /// The format.
    pub format: Format,
    /// The docType (mdoc) or `vct` (SD-JWT VC).
    pub doc_type: String,
    /// The card type, when the docType or `vct` is one of the Korean profile's.
    pub card_type: Option<CardType>,
    /// The claims as they are. mdoc: every disclosed element, by namespace,
    /// `{"namespace": {"element": value}}`, values as `kmid inspect` writes CBOR (text,
    /// numbers, booleans, dates as `YYYY-MM-DD`, bytes as standard base64). SD-JWT VC: the
    /// processed payload (every Disclosure applied, `_sd` and `_sd_alg` removed).
    pub claims: serde_json::Map<String, Value>,
    /// The common name of the Document Signer that signed it; for an SD-JWT VC whose key was
    /// configured or came from metadata, its `iss`.
    pub issuer: Option<String>,
    /// The status the resolver reported.
    pub status: Option<TokenStatus>,
    /// As [`VerifiedPresentation::presentation_digest`].
    pub presentation_digest: String,
    /// As [`VerifiedPresentation::revocation_unknown`].
    pub revocation_unknown: Vec<usize>,
    /// The `transaction_data_hashes` of an SD-JWT VC's Key Binding JWT (OpenID4VP Appendix
    /// B.3.3): the transactions the holder authorized with this presentation.
    pub transaction_data_hashes: Vec<String>,
    /// For an mdoc presented as a zero-knowledge proof (`mso_mdoc_zk`, `spec/zk.md`): the
    /// circuit hash the proof is over, in hex. The claims are then the disclosed elements and
    /// nothing else; no status is known (the MSO, with its status reference, stays hidden).
    pub zk_system_id: Option<String>,
}

impl VerifiedCredential {
    /// The Korean profile's catalogue items among the claims, in catalogue order; empty for
    /// any other type.
    #[must_use]
    pub fn catalogue_claims(&self) -> Vec<(ClaimId, Value)> {
        if self.card_type.is_none() {
            return Vec::new();
        }
        ClaimId::ALL
            .iter()
            .filter_map(|&id| {
                let spec = catalogue::spec(id);
                let value = match self.format {
                    Format::Mdoc => self
                        .claims
                        .get(spec.mdoc.namespace)?
                        .get(spec.mdoc.identifier)?,
                    Format::SdJwtVc => {
                        let (first, rest) = spec.sd_jwt.path.split_first()?;
                        rest.iter()
                            .try_fold(self.claims.get(*first)?, |v, k| v.get(*k))?
                    }
                };
                Some((id, value.clone()))
            })
            .collect()
    }

    /// The verification result of this credential as JSON, the form `kmid verify` prints and
    /// the verifier service returns: `format`, `card` (docType or `vct`), `korean`, `issuer`,
    /// `status`, `revocation_unknown`, `presentation_digest`, and `claims` — for a Korean card
    /// its catalogue items by element identifier (the portrait as `{"sha-256": digest}`),
    /// for any other type the claims as they are; `transaction_data_hashes` when the holder
    /// authorized transactions.
    #[must_use]
    pub fn to_json(&self) -> Value {
        let korean = self.card_type.is_some();
        let mut out = json!({
            "format": match (self.format, &self.zk_system_id) {
                (Format::Mdoc, Some(_)) => crate::dcql::FORMAT_MSO_MDOC_ZK,
                (Format::Mdoc, None) => "mso_mdoc",
                (Format::SdJwtVc, _) => "dc+sd-jwt",
            },
            "card": self.doc_type,
            "korean": korean,
            "issuer": self.issuer,
            "status": self.status.map(|s| s.to_string()),
            "revocation_unknown": self.revocation_unknown,
            "claims": if korean {
                crate::conformance::expected_claims(&self.catalogue_claims())
            } else {
                Value::Object(self.claims.clone())
            },
            "presentation_digest": self.presentation_digest,
        });
        // Only when there are some, so that the conformance vectors' outputs stay as they are.
        if !self.transaction_data_hashes.is_empty()
            && let Some(fields) = out.as_object_mut()
        {
            fields.insert(
                "transaction_data_hashes".into(),
                json!(self.transaction_data_hashes),
            );
        }
        if let (Some(id), Some(fields)) = (&self.zk_system_id, out.as_object_mut()) {
            fields.insert("zk_system_id".into(), json!(id));
        }
        out
    }

    /// The presentation of a Korean card, with its catalogue items; `None` for any other
    /// type.
    #[must_use]
    pub fn presentation(&self) -> Option<VerifiedPresentation> {
        Some(VerifiedPresentation {
            format: self.format,
            card_type: self.card_type?,
            claims: self.catalogue_claims(),
            issuer: self.issuer.clone(),
            status: self.status,
            presentation_digest: self.presentation_digest.clone(),
            revocation_unknown: self.revocation_unknown.clone(),
        })
    }

    fn from_mdoc(doc: &kmid_mdoc::verifier::VerifiedDocument, digest: &str) -> Self {
        let mut claims = serde_json::Map::new();
        for (ns, elements) in &doc.issuer_signed {
            let entry = claims
                .entry(ns.clone())
                .or_insert_with(|| Value::Object(serde_json::Map::new()));
            if let Value::Object(map) = entry {
                for (element, value) in elements {
                    map.insert(element.clone(), element_json(value));
                }
            }
        }
        Self {
            format: Format::Mdoc,
            doc_type: doc.doc_type.clone(),
            card_type: CardType::from_doc_type(&doc.doc_type),
            claims,
            issuer: doc.document_signer.common_name(),
            status: doc.status,
            presentation_digest: digest.to_owned(),
            revocation_unknown: doc.revocation_unknown.clone(),
            transaction_data_hashes: Vec::new(),
            zk_system_id: None,
        }
    }

    /// A zero-knowledge document: its disclosed elements (values decoded from their CBOR as
    /// for an mdoc; one that does not decode is kept as `null`), the Document Signer's name,
    /// no status.
    pub(crate) fn from_zk(doc: &crate::zk::VerifiedZkDocument, digest: String) -> Self {
        let limits = kmid_mdoc::CborLimits::default();
        let elements: serde_json::Map<String, Value> = doc
            .claims
            .iter()
            .map(|(id, cbor)| {
                let value = kmid_cbor::decode(cbor, &limits)
                    .ok()
                    .and_then(|item| ElementValue::from_item(&item, id).ok())
                    .map_or(Value::Null, |v| element_json(&v));
                (id.clone(), value)
            })
            .collect();
        let mut claims = serde_json::Map::new();
        claims.insert(doc.namespace.clone(), Value::Object(elements));
        Self {
            format: Format::Mdoc,
            doc_type: doc.doc_type.clone(),
            card_type: CardType::from_doc_type(&doc.doc_type),
            claims,
            issuer: Certificate::from_der(&doc.document_signer)
                .ok()
                .and_then(|c| c.common_name()),
            status: None,
            presentation_digest: digest,
            revocation_unknown: Vec::new(),
            transaction_data_hashes: Vec::new(),
            zk_system_id: Some(crate::zk::hex(&doc.spec.id)),
        }
    }

    fn from_sd_jwt(verified: &kmid_sdjwt::vc::VerifiedSdJwtVc) -> Self {
        Self {
            format: Format::SdJwtVc,
            doc_type: verified.vct.clone(),
            card_type: verified.card_type,
            claims: verified.claims.clone(),
            issuer: verified
                .issuer_certificate
                .as_ref()
                .and_then(Certificate::common_name)
                .or_else(|| verified.iss.clone()),
            status: verified.status,
            presentation_digest: digest_text(&verified.presentation_sha256),
            revocation_unknown: verified.revocation_unknown.clone(),
            transaction_data_hashes: verified
                .key_binding_claims
                .as_ref()
                .and_then(|c| c.get("transaction_data_hashes"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
            zk_system_id: None,
        }
    }
}

impl VerifiedPresentation {
    /// The value of one item, if disclosed.
    #[must_use]
    pub fn claim(&self, id: ClaimId) -> Option<&Value> {
        self.claims.iter().find(|(c, _)| *c == id).map(|(_, v)| v)
    }
}

pub(crate) fn element_json(value: &ElementValue) -> Value {
    match value {
        ElementValue::Null => Value::Null,
        ElementValue::Bool(b) => json!(b),
        ElementValue::Uint(n) => json!(n),
        ElementValue::Int(n) => json!(n),
        ElementValue::Bytes(b) => json!(STANDARD.encode(b)),
        ElementValue::Text(t) => json!(t),
        ElementValue::FullDate(d) => json!(d.to_string()),
        ElementValue::DateTime(t) => json!(t.unix_timestamp()),
        ElementValue::Array(items) => Value::Array(items.iter().map(element_json).collect()),
        ElementValue::Map(entries) => Value::Array(
            entries
                .iter()
                .map(|(k, v)| json!([element_json(k), element_json(v)]))
                .collect(),
        ),
        ElementValue::Tagged(_, inner) => element_json(inner),
        ElementValue::Float(f) => json!(f),
    }
}

/// One presentation to verify in a batch ([`Verifier::verify_batch`]).
#[derive(Debug, Clone, Copy)]
pub enum BatchItem<'a> {
    /// An mdoc DeviceResponse (bytes as received) answering `request` over `transcript`.
    Mdoc {
        /// The request it answers.
        request: &'a DeviceRequest,
        /// The DeviceResponse.
        response: &'a [u8],
        /// The session's transcript.
        transcript: &'a SessionTranscript,
    },
    /// An SD-JWT VC presentation made for `request`.
    SdJwt {
        /// The request it answers (vct, claims, nonce, audience).
        request: &'a SdJwtRequest,
        /// The presentation, compact.
        presentation: &'a str,
    },
}

/// A relying party's verifier: the issuers it trusts and how it learns statuses.
pub struct Verifier {
    pub(crate) trust: TrustStore,
    /// SD-JWT VC issuers' `x5c` roots, when not the mdoc issuers' (`trust`).
    sd_jwt_roots: Option<TrustStore>,
    /// SD-JWT VC issuers' configured keys: `(iss, kid, key)`.
    sd_jwt_keys: Vec<(String, Option<String>, kmid_crypto::PublicKey)>,
    /// SD-JWT VC issuers' keys from JWT VC Issuer Metadata.
    sd_jwt_metadata: Option<Arc<IssuerMetadataResolver>>,
    resolver: Arc<dyn StatusResolver>,
    key_binding_window: Duration,
    pub(crate) provider: &'static CryptoProvider,
    /// The circuits and time window `mso_mdoc_zk` presentations are verified with, when any.
    pub(crate) zk: Option<(Arc<crate::zk::ZkCircuits>, crate::zk::ZkPolicy)>,
}

impl core::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Verifier")
            .field("roots", &self.trust.roots().len())
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier trusting `trust`'s IACA roots and checking every status through `resolver`.
    #[must_use]
    pub fn new(trust: TrustStore, resolver: Arc<dyn StatusResolver>) -> Self {
        Self {
            trust,
            sd_jwt_roots: None,
            sd_jwt_keys: Vec::new(),
            sd_jwt_metadata: None,
            resolver,
            key_binding_window: Duration::minutes(5),
            provider: CryptoProvider::get_default(),
            zk: None,
        }
    }

    /// A verifier configured from `config` (`spec/trust.md`): its `mdoc-issuer` anchors for
    /// mdoc, its `sd-jwt-vc-issuer` anchors and `[[issuer]]` keys for SD-JWT VC, each anchor
    /// with a `crl` policy checked against CRLs from `crls`; statuses through `resolver`
    /// (whose status-list signers the caller builds from the `status-list-signer` purpose).
    ///
    /// # Errors
    /// [`KmidError::Trust`]: the configuration's exact refusal.
    pub fn from_trust_config(
        config: &crate::TrustConfig,
        resolver: Arc<dyn StatusResolver>,
        crls: Option<Arc<dyn kmid_crypto::x509::CrlSource>>,
    ) -> Result<Self, KmidError> {
        let store = |purpose| match &crls {
            Some(crls) => config.trust_store_with_crls(purpose, Arc::clone(crls)),
            None => config.trust_store(purpose),
        };
        let purpose = crate::TrustPurpose::SdJwtVcIssuer;
        Ok(Self::new(store(crate::TrustPurpose::MdocIssuer)?, resolver)
            .with_sd_jwt_issuer_roots(store(purpose)?)
            .with_sd_jwt_issuer_keys(config.issuer_keys(purpose)?))
    }

    /// Validates SD-JWT VC `x5c` chains to `roots` instead of the mdoc issuers' roots given
    /// to [`Self::new`] (the default, for issuers whose IACA signs both formats).
    #[must_use]
    pub fn with_sd_jwt_issuer_roots(mut self, roots: TrustStore) -> Self {
        self.sd_jwt_roots = Some(roots);
        self
    }

    /// Trusts SD-JWT VC issuers' configured keys, `(iss, kid, key)`: a key with a `kid`
    /// matches only a header with that `kid`. Used for an SD-JWT VC without `x5c`.
    #[must_use]
    pub fn with_sd_jwt_issuer_keys(
        mut self,
        keys: Vec<(String, Option<String>, kmid_crypto::PublicKey)>,
    ) -> Self {
        self.sd_jwt_keys = keys;
        self
    }

    /// Resolves the keys of SD-JWT VC issuers without `x5c` and without a configured key
    /// through JWT VC Issuer Metadata, for the issuers `resolver` allows.
    #[must_use]
    pub fn with_issuer_metadata(mut self, resolver: Arc<IssuerMetadataResolver>) -> Self {
        self.sd_jwt_metadata = Some(resolver);
        self
    }

    /// The provider every primitive runs on.
    pub(crate) const fn provider(&self) -> &'static CryptoProvider {
        self.provider
    }

    /// Verifies on `provider` (the default: [`CryptoProvider::get_default`]): every signature,
    /// digest and transcript hash. Certificate chains are checked by the trust store, on the
    /// provider it was given ([`TrustStore::with_provider`]).
    #[must_use]
    pub const fn with_provider(mut self, provider: &'static CryptoProvider) -> Self {
        self.provider = provider;
        self
    }

    /// Verifies an mdoc DeviceResponse (bytes as received) against the `request` it answers,
    /// over `transcript`, at `at`: issuer signature and chain, docType scope, digests,
    /// validity, device signature, that nothing unrequested came back, and status.
    ///
    /// # Errors
    /// The mdoc layer's exact refusal.
    pub fn verify_mdoc(
        &self,
        request: &DeviceRequest,
        response: &[u8],
        transcript: &SessionTranscript,
        at: OffsetDateTime,
    ) -> Result<Vec<VerifiedPresentation>, KmidError> {
        let (digest, verified) = self.check_mdoc(request, response, transcript, at)?;
        Ok(verified
            .documents
            .iter()
            .filter_map(|doc| VerifiedCredential::from_mdoc(doc, &digest).presentation())
            .collect())
    }

    /// Every check of an mdoc DeviceResponse, and its presentation digest.
    fn check_mdoc(
        &self,
        request: &DeviceRequest,
        response: &[u8],
        transcript: &SessionTranscript,
        at: OffsetDateTime,
    ) -> Result<(String, kmid_mdoc::verifier::VerifiedResponse), KmidError> {
        let digest = presentation_digest(self.provider, response)?;
        let verified = MdocVerifier::new(&self.trust)
            .with_provider(self.provider)
            .with_status_resolver(&*self.resolver)
            .verify_response_for(request, response, transcript, None, at)?;
        Ok((digest, verified))
    }

    /// Verifies an mdoc DeviceResponse of any docType against the `request` it answers, as
    /// [`Self::verify_mdoc`] does every check (issuer signature and chain to a root scoped to
    /// the docType, digests, validity, device signature, nothing unrequested, every requested
    /// element present unless optional, status), and returns each document's claims as they
    /// are. [`Self::verify_mdoc`] reports only the Korean cards, as catalogue items.
    ///
    /// # Errors
    /// The mdoc layer's exact refusal.
    pub fn verify_mdoc_any(
        &self,
        request: &DeviceRequest,
        response: &[u8],
        transcript: &SessionTranscript,
        at: OffsetDateTime,
    ) -> Result<Vec<VerifiedCredential>, KmidError> {
        let (digest, verified) = self.check_mdoc(request, response, transcript, at)?;
        Ok(verified
            .documents
            .iter()
            .map(|doc| VerifiedCredential::from_mdoc(doc, &digest))
            .collect())
    }

    /// Verifies one presentation of either format: [`Self::verify_mdoc`] or
    /// [`Self::verify_sd_jwt`] (whose one result comes back as a one-element list).
    ///
    /// # Errors
    /// As the format's verification.
    pub fn verify_item(
        &self,
        item: &BatchItem<'_>,
        at: OffsetDateTime,
    ) -> Result<Vec<VerifiedPresentation>, KmidError> {
        match *item {
            BatchItem::Mdoc {
                request,
                response,
                transcript,
            } => self.verify_mdoc(request, response, transcript, at),
            BatchItem::SdJwt {
                request,
                presentation,
            } => self
                .verify_sd_jwt(request, presentation, at)
                .map(|p| vec![p]),
        }
    }

    /// Verifies many presentations at once, spread over the machine's cores (one thread per
    /// core, each taking the next unverified item, so a slow item does not hold up the rest),
    /// and returns each item's result at its index. The status lists and validated chains
    /// are shared: a list fetched or a chain validated for one item serves the others.
    #[must_use]
    pub fn verify_batch(
        &self,
        items: &[BatchItem<'_>],
        at: OffsetDateTime,
    ) -> Vec<Result<Vec<VerifiedPresentation>, KmidError>> {
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(items.len());
        self.verify_batch_on(items, at, threads)
    }

    /// As [`Self::verify_batch`], on at most `threads` threads (1: on the calling thread).
    /// An item whose verification panics (in a resolver, fetcher or signature backend the
    /// caller supplied) is [`KmidError::Unverified`] and the others go on; built with
    /// `panic = "abort"`, a panic ends the process instead.
    #[must_use]
    pub fn verify_batch_on(
        &self,
        items: &[BatchItem<'_>],
        at: OffsetDateTime,
        threads: usize,
    ) -> Vec<Result<Vec<VerifiedPresentation>, KmidError>> {
        // A panic while verifying one item (in a caller's resolver, fetcher or signature
        // backend; kmid's lints keep panics out of its own code) makes that item
        // `Unverified`, on whichever thread it ran, and the others go on.
        let verify = |item: &BatchItem<'_>| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.verify_item(item, at)))
                .unwrap_or(Err(KmidError::Unverified))
        };
        let threads = threads.min(items.len());
        if threads <= 1 {
            return items.iter().map(verify).collect();
        }
        let next = AtomicUsize::new(0);
        let work = || {
            let mut done = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else {
                    return done;
                };
                done.push((i, verify(item)));
            }
        };
        let mut results: Vec<Option<Result<Vec<VerifiedPresentation>, KmidError>>> =
            std::iter::repeat_with(|| None).take(items.len()).collect();
        std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(work)).collect();
            let mut finished = vec![work()];
            // A helper that panicked leaves its items unverified; they are reported below.
            finished.extend(helpers.into_iter().filter_map(|h| h.join().ok()));
            for (i, result) in finished.into_iter().flatten() {
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(result);
                }
            }
        });
        results
            .into_iter()
            .map(|r| r.unwrap_or(Err(KmidError::Unverified)))
            .collect()
    }

    /// Verifies an SD-JWT VC presentation made for `request` at `at`: issuer signature and
    /// chain, `vct` scope, Disclosures, time, Key Binding over the request's nonce and
    /// audience, and status.
    ///
    /// # Errors
    /// The SD-JWT VC layer's exact refusal.
    pub fn verify_sd_jwt(
        &self,
        request: &SdJwtRequest,
        presentation: &str,
        at: OffsetDateTime,
    ) -> Result<VerifiedPresentation, KmidError> {
        self.verify_sd_jwt_for(
            &[request.vct.as_str()],
            &request.paths,
            &request.nonce,
            &request.audience,
            presentation,
            at,
        )
        .map(|(seen, _)| seen)
    }

    /// Verifies an SD-JWT VC presentation of any `vct` in `vcts` with every check
    /// [`Self::verify_sd_jwt`] makes (issuer key and chain to a root scoped to the `vct`,
    /// Disclosures, Key Binding over `nonce` and `audience`, nothing disclosed beyond the
    /// claim paths `asked`, status), and returns its claims as processed (every Disclosure
    /// applied, `_sd` and `_sd_alg` gone). [`Self::verify_sd_jwt`] maps the Korean cards to
    /// catalogue items and refuses any other `vct`.
    ///
    /// # Errors
    /// The SD-JWT VC layer's refusal; [`KmidError::NotRequested`].
    pub fn verify_sd_jwt_any(
        &self,
        vcts: &[&str],
        asked: &[Vec<String>],
        nonce: &str,
        audience: &str,
        presentation: &str,
        at: OffsetDateTime,
    ) -> Result<VerifiedCredential, KmidError> {
        let verified = self.check_sd_jwt(vcts, asked, nonce, audience, presentation, at)?;
        Ok(VerifiedCredential::from_sd_jwt(&verified))
    }

    fn verify_sd_jwt_for(
        &self,
        vcts: &[&str],
        asked: &[Vec<String>],
        nonce: &str,
        audience: &str,
        presentation: &str,
        at: OffsetDateTime,
    ) -> Result<(VerifiedPresentation, kmid_sdjwt::vc::VerifiedSdJwtVc), KmidError> {
        let verified = self.check_sd_jwt(vcts, asked, nonce, audience, presentation, at)?;
        let seen = VerifiedCredential::from_sd_jwt(&verified)
            .presentation()
            .ok_or_else(|| {
                KmidError::SdJwt(kmid_sdjwt::SdJwtError::UnknownVct(verified.vct.clone()))
            })?;
        Ok((seen, verified))
    }

    /// Every check of an SD-JWT VC presentation, for any `vct` in `vcts`.
    fn check_sd_jwt(
        &self,
        vcts: &[&str],
        asked: &[Vec<String>],
        nonce: &str,
        audience: &str,
        presentation: &str,
        at: OffsetDateTime,
    ) -> Result<kmid_sdjwt::vc::VerifiedSdJwtVc, KmidError> {
        let roots = IssuerKeys::X5c(self.sd_jwt_roots.as_ref().unwrap_or(&self.trust));
        // Resolution order (spec/trust.md): x5c to the roots; without it, a configured key
        // for iss/kid; else the issuer's metadata. With roots alone, no choice is made.
        let keys = if self.sd_jwt_keys.is_empty() && self.sd_jwt_metadata.is_none() {
            roots
        } else {
            let mut sources = vec![roots];
            if !self.sd_jwt_keys.is_empty() {
                sources.push(IssuerKeys::KeySet(self.sd_jwt_keys.clone()));
            }
            if let Some(metadata) = &self.sd_jwt_metadata {
                sources.push(IssuerKeys::Metadata(metadata));
            }
            IssuerKeys::Any(sources)
        };
        let verified = SdJwtVcVerifier::new(keys)
            .with_provider(self.provider)
            .with_vcts(vcts)
            .require_key_binding(KeyBindingPolicy {
                nonce: nonce.to_owned(),
                audience: audience.to_owned(),
                max_age: self.key_binding_window,
            })
            .with_status_resolver(&*self.resolver)
            .verify(presentation, at)?;
        // Nothing beyond the request: every disclosed claim is one asked for, or an object
        // that contains one (its Disclosure must travel with the member's).
        for keys in disclosed_keys(&verified) {
            if !covered(asked, &keys) {
                return Err(KmidError::NotRequested(keys.join(".")));
            }
        }
        Ok(verified)
    }

    /// Verifies an OpenID4VP VP Token (OpenID4VP 1.0 §8.1) against the DCQL `query` and
    /// `request` it answers: it answers only queries that were asked and every credential
    /// the query (or its credential sets) requires; each presentation verifies in full —
    /// SD-JWT VC with a KB-JWT over `nonce` and `client_id`, mdoc over the OpenID4VP
    /// SessionTranscript — discloses nothing beyond the query's claims, and satisfies one
    /// of its claim options.
    ///
    /// # Errors
    /// [`KmidError::VpTokenMismatch`], [`KmidError::NotRequested`], or the layer's refusal.
    pub fn verify_vp_token(
        &self,
        query: &DcqlQuery,
        request: &OpenId4VpRequest,
        vp_token: &VpToken,
        at: OffsetDateTime,
    ) -> Result<Vec<(String, VerifiedPresentation)>, KmidError> {
        self.verify_vp_token_any(query, request, vp_token, at)?
            .into_iter()
            .map(|(id, seen)| match seen.presentation() {
                Some(p) => Ok((id, p)),
                None if seen.format == Format::SdJwtVc => Err(KmidError::SdJwt(
                    kmid_sdjwt::SdJwtError::UnknownVct(seen.doc_type),
                )),
                None => Err(KmidError::VpTokenMismatch(format!(
                    "{id:?}: {} is not a Korean card (verify_vp_token_any verifies any type)",
                    seen.doc_type
                ))),
            })
            .collect()
    }

    /// [`Self::verify_vp_token`] for credentials of any docType or `vct` a root (or a
    /// configured key) vouches for, with every check it makes, each returned with its claims
    /// as they are ([`VerifiedCredential`]); a Korean card's catalogue items are
    /// [`VerifiedCredential::catalogue_claims`].
    ///
    /// # Errors
    /// As [`Self::verify_vp_token`].
    pub fn verify_vp_token_any(
        &self,
        query: &DcqlQuery,
        request: &OpenId4VpRequest,
        vp_token: &VpToken,
        at: OffsetDateTime,
    ) -> Result<Vec<(String, VerifiedCredential)>, KmidError> {
        query.validate()?;
        let mismatch = |why: String| KmidError::VpTokenMismatch(why);
        if let Some(id) = vp_token.keys().find(|id| query.credential(id).is_none()) {
            return Err(mismatch(format!("it answers {id:?}, which was not asked")));
        }
        if query.select(&|id| vp_token.contains_key(id)).is_none() {
            return Err(mismatch("a required credential is missing".into()));
        }
        let mut out = Vec::new();
        for (id, value) in vp_token {
            let Some(cq) = query.credential(id) else {
                continue;
            };
            let presentations = value
                .as_array()
                .filter(|a| {
                    !a.is_empty()
                        && a.len() <= crate::dcql::MAX_PRESENTATIONS
                        && (cq.multiple || a.len() == 1)
                })
                .ok_or_else(|| mismatch(format!("{id:?} must be an array of presentations")))?;
            for presentation in presentations {
                let presentation = presentation
                    .as_str()
                    .ok_or_else(|| mismatch(format!("{id:?} holds a non-string")))?;
                let seen = self.verify_one(cq, request, presentation, at)?;
                out.push((id.clone(), seen));
            }
        }
        Ok(out)
    }

    fn verify_one(
        &self,
        cq: &CredentialQuery,
        request: &OpenId4VpRequest,
        presentation: &str,
        at: OffsetDateTime,
    ) -> Result<VerifiedCredential, KmidError> {
        let asked: Vec<Vec<String>> = cq
            .all_claims()
            .iter()
            .filter_map(|c| {
                c.key_path()
                    .map(|p| p.into_iter().map(str::to_owned).collect())
            })
            .collect();
        let unsatisfied = || {
            KmidError::VpTokenMismatch(format!("{:?} satisfies none of its claim options", cq.id))
        };
        match cq.format.as_str() {
            FORMAT_SD_JWT_VC => {
                let vcts: Vec<&str> = cq
                    .meta
                    .vct_values
                    .iter()
                    .flatten()
                    .map(String::as_str)
                    .collect();
                let verified = self.check_sd_jwt(
                    &vcts,
                    &asked,
                    &request.nonce,
                    &request.client_id,
                    presentation,
                    at,
                )?;
                // One claim option (§6.4.1), all of it and nothing outside it.
                let disclosed = disclosed_keys(&verified);
                let satisfied = cq.options().iter().any(|option| {
                    let paths: Vec<Vec<String>> = option
                        .iter()
                        .filter_map(|c| {
                            c.key_path()
                                .map(|p| p.into_iter().map(str::to_owned).collect())
                        })
                        .collect();
                    option
                        .iter()
                        .all(|claim| claim.key_path().is_some_and(|p| verified.get(&p).is_some()))
                        && disclosed.iter().all(|keys| covered(&paths, keys))
                });
                if satisfied {
                    Ok(VerifiedCredential::from_sd_jwt(&verified))
                } else {
                    Err(unsatisfied())
                }
            }
            FORMAT_MSO_MDOC => {
                let doc_type = cq.meta.doctype_value.clone().unwrap_or_default();
                let mut items = ItemsRequest::for_doc_type(doc_type.clone());
                for claim in cq.all_claims() {
                    if let Some([ns, el]) = claim.key_path().as_deref() {
                        items.ask(ns, el, claim.intent_to_retain.unwrap_or(false));
                    }
                }
                let device_request = DeviceRequest::new(vec![DocRequest::new(items)]);
                let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(presentation)
                    .map_err(|_| {
                        KmidError::VpTokenMismatch(format!(
                            "{:?}: an mdoc presentation is base64url without padding",
                            cq.id
                        ))
                    })?;
                let transcript = openid4vp_transcript(self.provider, request)?;
                let (digest, verified) =
                    self.check_mdoc(&device_request, &bytes, &transcript, at)?;
                let doc = match verified.documents.as_slice() {
                    [doc] if doc.doc_type == doc_type => doc,
                    _ => {
                        return Err(KmidError::VpTokenMismatch(format!(
                            "{:?}: one document of {doc_type} expected",
                            cq.id
                        )));
                    }
                };
                // One claim option (§6.4.1), all of it and nothing outside it.
                let disclosed: Vec<(&str, &str)> = doc
                    .issuer_signed
                    .iter()
                    .flat_map(|(ns, elements)| {
                        elements
                            .iter()
                            .map(move |(el, _)| (ns.as_str(), el.as_str()))
                    })
                    .collect();
                let satisfied = cq.options().iter().any(|option| {
                    let paths: Option<Vec<(&str, &str)>> =
                        option.iter().map(|claim| claim.mdoc_path()).collect();
                    paths.is_some_and(|paths| {
                        paths.iter().all(|p| disclosed.contains(p))
                            && disclosed.iter().all(|d| paths.contains(d))
                    })
                });
                if satisfied {
                    Ok(VerifiedCredential::from_mdoc(doc, &digest))
                } else {
                    Err(unsatisfied())
                }
            }
            crate::dcql::FORMAT_MSO_MDOC_ZK => self.verify_dcql_zk(cq, request, presentation, at),
            other => Err(KmidError::VpTokenMismatch(format!(
                "format {other:?} is not supported"
            ))),
        }
    }
}

/// The key paths of the claims a verified SD-JWT disclosed (up to the first array index).
fn disclosed_keys(verified: &kmid_sdjwt::vc::VerifiedSdJwtVc) -> Vec<Vec<&str>> {
    verified
        .disclosed
        .iter()
        .map(|path| {
            path.iter()
                .map_while(|s| match s {
                    kmid_sdjwt::PathSegment::Key(k) => Some(k.as_str()),
                    kmid_sdjwt::PathSegment::Index(_) => None,
                })
                .collect()
        })
        .collect()
}

/// Whether a disclosed claim at `keys` is one of `asked`, inside one, or an object that
/// contains one.
fn covered(asked: &[Vec<String>], keys: &[&str]) -> bool {
    asked.iter().any(|r| {
        let under = keys.len() >= r.len() && r.iter().zip(keys).all(|(a, b)| a == b);
        let ancestor = keys.len() < r.len() && keys.iter().zip(r).all(|(a, b)| a == b);
        under || ancestor
    })
}

pub(crate) fn presentation_digest(
    provider: &CryptoProvider,
    bytes: &[u8],
) -> Result<String, KmidError> {
    Ok(digest_text(&provider.sha256(bytes)?))
}

/// A presentation digest as the record writes it: `sha-256:` and base64url.
fn digest_text(sha256: &[u8; 32]) -> String {
    format!("sha-256:{}", kmid_crypto::jose::b64url(sha256))
}
