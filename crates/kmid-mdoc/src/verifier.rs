//! The reader's verification of a DeviceResponse (ISO/IEC 18013-5 §9.3): every check, in a
//! fixed order, each failure its own error.
//!
//! For each Document:
//! 1. issuerAuth: `alg` allowed; `x5chain` present; the chain valid to a trusted IACA at the
//!    given time for Document Signer use; the signature over the MSO as received.
//! 2. The MSO's docType equals the Document's.
//! 3. validityInfo: `signed <= validFrom < validUntil`, `signed` inside the DS certificate's
//!    validity, and the verification time inside the window (with the configured skew).
//! 4. Every disclosed item: its digestID and element unique in its namespace, its digest over
//!    the received tag-24 bytes present in the MSO and equal.
//! 5. Device authentication over DeviceAuthentication built from *our* SessionTranscript:
//!    deviceSignature by the MSO's device key, or deviceMac under EMacKey.
//! 6. keyAuthorizations for every device-signed element.
//! 7. Status, through the [`StatusResolver`], when the MSO has a reference.

use kmid_crypto::x509::{Certificate, KeyPurpose, TrustStore};
use kmid_crypto::{Algorithm, CryptoProvider, PrivateKey};
use kmid_schema::status::{
    StatusContext, StatusPolicy, StatusRefusal, StatusResolver, StatusTokenForm, TokenStatus,
};
use time::{Duration, OffsetDateTime};

use crate::auth::{device_authentication_bytes, emac_key};
use crate::cbor::{CborLimits, ElementValue};
use crate::cose::{Sign1Failure, verify_mac0, verify_sign1};
use crate::error::{DeviceAuthError, DigestError, IssuerAuthError, MdocError, ValidityError};
use crate::model::{
    DeviceAuth, DeviceRequest, DeviceResponse, Document, ElementsByNamespace, ErrorsByNamespace,
    IssuerSigned, ResponseStatus, SessionTranscript, ValidityInfo, x5chain,
};

/// How the device authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceAuthMode {
    /// deviceSignature.
    Signature,
    /// deviceMac.
    Mac,
}

/// A Document that passed every check.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedDocument {
    /// The document type.
    pub doc_type: String,
    /// The Document Signer certificate that signed the MSO.
    pub document_signer: Certificate,
    /// Index of the trusted IACA root in the verifier's trust store.
    pub root_index: usize,
    /// The MSO validity window.
    pub validity: ValidityInfo,
    /// The status the resolver reported, if the MSO has a reference and a resolver was used.
    pub status: Option<TokenStatus>,
    /// Issuer-signed elements by namespace, in the order disclosed, typed.
    pub issuer_signed: ElementsByNamespace,
    /// Device-signed elements by namespace.
    pub device_signed: ElementsByNamespace,
    /// Elements the mdoc reported as not returned.
    pub errors: ErrorsByNamespace,
    /// How the device authenticated.
    pub device_auth: DeviceAuthMode,
    /// The chain positions whose revocation could not be checked, under a soft-fail
    /// revocation policy of the trust store (empty otherwise).
    pub revocation_unknown: Vec<usize>,
}

impl VerifiedDocument {
    /// The issuer-signed value of `namespace`/`element`, if disclosed.
    #[must_use]
    pub fn element(&self, namespace: &str, element: &str) -> Option<&ElementValue> {
        self.issuer_signed
            .iter()
            .find(|(ns, _)| ns == namespace)
            .and_then(|(_, els)| els.iter().find(|(id, _)| id == element))
            .map(|(_, v)| v)
    }
}

/// A verified DeviceResponse, bound to its request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedResponse {
    /// The documents, each verified.
    pub documents: Vec<VerifiedDocument>,
    /// docTypes the mdoc could not return, with their error codes.
    pub document_errors: Vec<(String, i64)>,
}

/// What an issuer signed, verified as a wallet receives it ([`MdocVerifier::verify_issuer_signed`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifiedIssuerSigned {
    /// The MSO's docType.
    pub doc_type: String,
    /// The Document Signer certificate.
    pub document_signer: Certificate,
    /// Which trust root the chain ended at.
    pub root_index: usize,
    /// The MSO's validity.
    pub validity: ValidityInfo,
    /// Every item, by namespace, checked against its digest.
    pub issuer_signed: Vec<(String, Vec<(String, ElementValue)>)>,
}

/// Steps 1 to 4: the validated chain and the checked items.
struct IssuerChecked {
    validated: kmid_crypto::x509::ValidatedChain,
    issuer_signed: Vec<(String, Vec<(String, ElementValue)>)>,
}

/// A reader's verifier: trusted IACA roots and the policy to apply.
pub struct MdocVerifier<'a> {
    trust: &'a TrustStore,
    provider: &'a CryptoProvider,
    allowed_algorithms: Vec<Algorithm>,
    clock_skew: Duration,
    status: StatusPolicy<'a>,
    limits: CborLimits,
}

impl core::fmt::Debug for MdocVerifier<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MdocVerifier")
            .field("allowed_algorithms", &self.allowed_algorithms)
            .field("clock_skew", &self.clock_skew)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl<'a> MdocVerifier<'a> {
    /// A verifier trusting `trust`'s IACA roots (each root vouches only for the docTypes it is
    /// scoped to, see [`TrustStore::add_scoped`]); ES256, ES384, ES512 and EdDSA allowed; no
    /// clock skew; a credential with a status reference refused unless a resolver is set;
    /// default CBOR limits.
    #[must_use]
    pub fn new(trust: &'a TrustStore) -> Self {
        Self {
            trust,
            provider: CryptoProvider::get_default(),
            allowed_algorithms: Algorithm::ALL.to_vec(),
            clock_skew: Duration::ZERO,
            status: StatusPolicy::new(),
            limits: CborLimits::default(),
        }
    }

    /// Tolerates this much clock difference on the MSO validity window.
    #[must_use]
    pub const fn with_clock_skew(mut self, skew: Duration) -> Self {
        self.clock_skew = skew;
        self
    }

    /// Restricts the accepted signature algorithms.
    #[must_use]
    pub fn with_algorithms(mut self, allowed: &[Algorithm]) -> Self {
        self.allowed_algorithms = allowed.to_vec();
        self
    }

    /// Checks status references through `resolver`.
    #[must_use]
    pub fn with_status_resolver(mut self, resolver: &'a dyn StatusResolver) -> Self {
        self.status = self.status.with_resolver(resolver);
        self
    }

    /// **Dangerous**: accepts credentials that carry a status reference without checking it
    /// when no resolver is set. By default such a credential is refused with
    /// [`StatusError::NoResolver`](kmid_schema::status::StatusError::NoResolver), so that a suspended or revoked card never passes because
    /// the verifier was not configured.
    #[must_use]
    pub const fn danger_accept_unchecked_status(mut self) -> Self {
        self.status = self.status.danger_accept_unchecked();
        self
    }

    /// Verifies on `provider` (the default: [`CryptoProvider::get_default`]): the COSE
    /// signatures, value digests and the device MAC. Certificate chains are checked by the
    /// [`TrustStore`], on the provider it was given.
    #[must_use]
    pub const fn with_provider(mut self, provider: &'a CryptoProvider) -> Self {
        self.provider = provider;
        self
    }

    /// Uses other CBOR limits.
    #[must_use]
    pub const fn with_limits(mut self, limits: CborLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Decodes and verifies a DeviceResponse for the session `transcript` at time `at`.
    /// `e_reader_key` is the reader's ephemeral key, needed only for deviceMac.
    ///
    /// # Errors
    /// The first failed check, as [`MdocError`].
    pub fn verify_response(
        &self,
        response: &[u8],
        transcript: &SessionTranscript,
        e_reader_key: Option<&PrivateKey>,
        at: OffsetDateTime,
    ) -> Result<Vec<VerifiedDocument>, MdocError> {
        let response = DeviceResponse::from_bytes(response, &self.limits)?;
        if response.status != ResponseStatus::Ok {
            return Err(MdocError::ResponseStatus(response.status.code()));
        }
        response
            .documents
            .iter()
            .map(|d| self.verify_document(d, transcript, e_reader_key, at))
            .collect()
    }

    /// As [`Self::verify_response`], and binds the answer to `request`: at least one
    /// document, every document of a requested docType, every disclosed element requested,
    /// and every requested element disclosed unless the request marks it optional
    /// ([`ItemsRequest::optional`](crate::model::ItemsRequest::optional)). The documents the
    /// mdoc could not return come back in [`VerifiedResponse::document_errors`].
    ///
    /// # Errors
    /// [`MdocError::NoDocuments`], [`MdocError::NotRequested`], [`MdocError::NotReturned`],
    /// or the first failed check.
    pub fn verify_response_for(
        &self,
        request: &DeviceRequest,
        response: &[u8],
        transcript: &SessionTranscript,
        e_reader_key: Option<&PrivateKey>,
        at: OffsetDateTime,
    ) -> Result<VerifiedResponse, MdocError> {
        let response = DeviceResponse::from_bytes(response, &self.limits)?;
        if response.status != ResponseStatus::Ok {
            return Err(MdocError::ResponseStatus(response.status.code()));
        }
        if response.documents.is_empty() {
            return Err(MdocError::NoDocuments);
        }
        let mut documents = Vec::with_capacity(response.documents.len());
        for doc in &response.documents {
            let not_requested = |ns: &str, el: &str| MdocError::NotRequested {
                doc_type: doc.doc_type.clone(),
                namespace: ns.to_owned(),
                element: el.to_owned(),
            };
            let items = request
                .doc_requests
                .iter()
                .map(|r| &r.items_request)
                .find(|r| r.doc_type == doc.doc_type)
                .ok_or_else(|| not_requested("", ""))?;
            let verified = self.verify_document(doc, transcript, e_reader_key, at)?;
            for (ns, elements) in verified.issuer_signed.iter().chain(&verified.device_signed) {
                for (element, _) in elements {
                    if items.intent_to_retain(ns, element).is_none() {
                        return Err(not_requested(ns, element));
                    }
                }
            }
            // Every element asked for and not marked optional came back (a minor's genuine
            // `age_over_19: false` is an answer; a missing element is not).
            let returned = |ns: &str, el: &str| {
                verified
                    .issuer_signed
                    .iter()
                    .chain(&verified.device_signed)
                    .any(|(n, els)| n == ns && els.iter().any(|(e, _)| e == el))
            };
            for (ns, elements) in &items.name_spaces {
                for (element, _) in elements {
                    if !returned(ns, element) && !items.is_optional(ns, element) {
                        return Err(MdocError::NotReturned {
                            doc_type: doc.doc_type.clone(),
                            namespace: ns.clone(),
                            element: element.clone(),
                        });
                    }
                }
            }
            documents.push(verified);
        }
        Ok(VerifiedResponse {
            documents,
            document_errors: response.document_errors,
        })
    }

    /// Verifies what an issuer signed, as a wallet receives it: the issuer's signature and
    /// chain (to a root scoped to the MSO's docType), the validity window at `at`, and the
    /// digest of every item. No device authentication (there is no session) and no status (the
    /// wallet keeps a suspended credential; verifiers check the status).
    ///
    /// # Errors
    /// The first failed check, as [`MdocError`].
    pub fn verify_issuer_signed(
        &self,
        received: &IssuerSigned,
        at: OffsetDateTime,
    ) -> Result<VerifiedIssuerSigned, MdocError> {
        let mso = received.issuer_auth.mso();
        let IssuerChecked {
            validated,
            issuer_signed,
        } = self.check_issuer_signed(received, &mso.doc_type, at)?;
        Ok(VerifiedIssuerSigned {
            doc_type: mso.doc_type.clone(),
            document_signer: validated.leaf,
            root_index: validated.root_index,
            validity: mso.validity_info,
            issuer_signed,
        })
    }

    /// Steps 1 to 4 of a Document's verification, over `received` presented as `doc_type`.
    fn check_issuer_signed(
        &self,
        received: &IssuerSigned,
        doc_type: &str,
        at: OffsetDateTime,
    ) -> Result<IssuerChecked, MdocError> {
        let issuer_auth = &received.issuer_auth;
        let mso = issuer_auth.mso();
        let ia = |e| MdocError::IssuerAuth(e);

        // 1. The issuer's signature and certificate chain.
        let ders = x5chain(issuer_auth.sign1()).ok_or(ia(IssuerAuthError::MissingX5Chain))?;
        crate::reader::check_chain_length(ders.len(), self.trust)
            .map_err(|e| ia(IssuerAuthError::Chain(e)))?;
        let ders: Vec<&[u8]> = ders.iter().map(Vec::as_slice).collect();
        let validated = self
            .trust
            .validate_der(&ders, at, KeyPurpose::DocumentSigner)
            .map_err(|e| ia(IssuerAuthError::Chain(e)))?;
        verify_sign1(
            issuer_auth.sign1(),
            &validated.leaf_key,
            None,
            &self.allowed_algorithms,
            self.provider.signature_verifier,
        )
        .map_err(|f| match f {
            Sign1Failure::Algorithm(a) => ia(IssuerAuthError::Algorithm(a)),
            Sign1Failure::Critical => ia(IssuerAuthError::CriticalHeader),
            Sign1Failure::BadSignature => ia(IssuerAuthError::BadSignature),
            Sign1Failure::Payload => ia(IssuerAuthError::MissingPayload),
            Sign1Failure::Crypto(e) => MdocError::Crypto(e),
        })?;

        // 2. docType binding.
        if mso.doc_type != doc_type {
            return Err(MdocError::DocTypeMismatch {
                mso: mso.doc_type.clone(),
                document: doc_type.to_owned(),
            });
        }

        if !self.trust.allows(validated.root_index, &mso.doc_type) {
            return Err(ia(IssuerAuthError::DocTypeNotAuthorized {
                doc_type: mso.doc_type.clone(),
            }));
        }

        // 3. Validity.
        self.check_validity(&mso.validity_info, &validated.leaf, at)?;

        // 4. Digests of the disclosed items.
        let mut issuer_signed = Vec::with_capacity(received.name_spaces.len());
        for (ns, items) in &received.name_spaces {
            let mut seen_ids: Vec<u64> = Vec::with_capacity(items.len());
            let mut elements: Vec<(String, ElementValue)> = Vec::with_capacity(items.len());
            for bytes in items {
                let item = bytes.item();
                let fail = |kind| MdocError::Digest {
                    namespace: ns.clone(),
                    element: item.element_identifier.clone(),
                    kind,
                };
                if seen_ids.contains(&item.digest_id) {
                    return Err(fail(DigestError::DuplicateDigestId {
                        digest_id: item.digest_id,
                    }));
                }
                if elements
                    .iter()
                    .any(|(id, _)| *id == item.element_identifier)
                {
                    return Err(fail(DigestError::DuplicateElement));
                }
                let expected = mso.digest(ns, item.digest_id).ok_or_else(|| {
                    fail(DigestError::Missing {
                        digest_id: item.digest_id,
                    })
                })?;
                let actual = self.provider.digest(mso.digest_algorithm, bytes.raw())?;
                if !kmid_crypto::session::constant_time_eq(expected, &actual) {
                    return Err(fail(DigestError::Mismatch {
                        digest_id: item.digest_id,
                    }));
                }
                seen_ids.push(item.digest_id);
                elements.push((item.element_identifier.clone(), item.element_value.clone()));
            }
            issuer_signed.push((ns.clone(), elements));
        }

        Ok(IssuerChecked {
            validated,
            issuer_signed,
        })
    }

    /// Verifies one Document.
    ///
    /// # Errors
    /// The first failed check, as [`MdocError`].
    pub fn verify_document(
        &self,
        doc: &Document,
        transcript: &SessionTranscript,
        e_reader_key: Option<&PrivateKey>,
        at: OffsetDateTime,
    ) -> Result<VerifiedDocument, MdocError> {
        let IssuerChecked {
            validated,
            issuer_signed,
        } = self.check_issuer_signed(&doc.issuer_signed, &doc.doc_type, at)?;
        let document_signer = validated.leaf.clone();
        let mso = doc.issuer_signed.issuer_auth.mso();

        // 5. Device authentication over our own transcript.
        let device_key = &mso.device_key_info.device_key;
        let signed = device_authentication_bytes(
            transcript,
            &doc.doc_type,
            doc.device_signed.name_spaces_bytes(),
        );
        let da = |e| MdocError::DeviceAuth(e);
        let device_auth = match &doc.device_signed.device_auth {
            DeviceAuth::Signature { sign1, .. } => {
                verify_sign1(
                    sign1,
                    device_key,
                    Some(&signed),
                    &self.allowed_algorithms,
                    self.provider.signature_verifier,
                )
                .map_err(|f| match f {
                    Sign1Failure::Algorithm(a) => da(DeviceAuthError::Algorithm(a)),
                    Sign1Failure::Critical => da(DeviceAuthError::CriticalHeader),
                    Sign1Failure::BadSignature | Sign1Failure::Payload => {
                        da(DeviceAuthError::BadSignature)
                    }
                    Sign1Failure::Crypto(e) => MdocError::Crypto(e),
                })?;
                DeviceAuthMode::Signature
            }
            DeviceAuth::Mac { mac0, .. } => {
                let reader_key = e_reader_key.ok_or(da(DeviceAuthError::MacNeedsReaderKey))?;
                let key = emac_key(self.provider, reader_key, device_key, transcript)
                    .map_err(|_| da(DeviceAuthError::BadMac))?;
                verify_mac0(self.provider, mac0, key.as_ref(), &signed).map_err(|f| match f {
                    Sign1Failure::Algorithm(a) => da(DeviceAuthError::Algorithm(a)),
                    Sign1Failure::Critical => da(DeviceAuthError::CriticalHeader),
                    _ => da(DeviceAuthError::BadMac),
                })?;
                DeviceAuthMode::Mac
            }
        };

        // 6. Key authorizations for device-signed elements.
        for (ns, elements) in &doc.device_signed.name_spaces {
            for (element, _) in elements {
                let allowed = mso
                    .device_key_info
                    .key_authorizations
                    .as_ref()
                    .is_some_and(|ka| ka.allows(ns, element));
                if !allowed {
                    return Err(da(DeviceAuthError::NotAuthorized {
                        namespace: ns.clone(),
                        element: element.clone(),
                    }));
                }
            }
        }

        // 7. Status.
        let context = StatusContext {
            issuer_anchor: self
                .trust
                .roots()
                .get(validated.root_index)
                .map(Certificate::der),
            issuer: None,
            form: StatusTokenForm::Any,
        };
        let status = self
            .status
            .check(mso.status.as_ref(), &context, at)
            .map_err(|refusal| match refusal {
                StatusRefusal::NotValid(s) => MdocError::Status(s),
                StatusRefusal::Unavailable(e) => MdocError::StatusUnavailable(e),
            })?;

        Ok(VerifiedDocument {
            revocation_unknown: validated.revocation_unknown.clone(),
            doc_type: doc.doc_type.clone(),
            document_signer,
            root_index: validated.root_index,
            validity: mso.validity_info,
            status,
            issuer_signed,
            device_signed: doc.device_signed.name_spaces.clone(),
            errors: doc.errors.clone(),
            device_auth,
        })
    }

    fn check_validity(
        &self,
        v: &ValidityInfo,
        ds: &Certificate,
        at: OffsetDateTime,
    ) -> Result<(), MdocError> {
        let fail = |e| MdocError::Validity(e);
        if v.valid_from < v.signed {
            return Err(fail(ValidityError::Inconsistent(
                "validFrom is before signed",
            )));
        }
        if v.valid_until <= v.valid_from {
            return Err(fail(ValidityError::Inconsistent(
                "validUntil is not after validFrom",
            )));
        }
        let signed = v.signed.unix_timestamp();
        if signed < ds.not_before() || signed > ds.not_after() {
            return Err(fail(ValidityError::SignedOutsideCertificate { signed }));
        }
        let latest = at
            .checked_add(self.clock_skew)
            .unwrap_or(OffsetDateTime::new_utc(
                time::Date::MAX,
                time::Time::MIDNIGHT,
            ));
        let earliest = at
            .checked_sub(self.clock_skew)
            .unwrap_or(OffsetDateTime::new_utc(
                time::Date::MIN,
                time::Time::MIDNIGHT,
            ));
        if latest < v.valid_from {
            return Err(fail(ValidityError::NotYetValid {
                valid_from: v.valid_from.unix_timestamp(),
                at: at.unix_timestamp(),
            }));
        }
        if earliest > v.valid_until {
            return Err(fail(ValidityError::Expired {
                valid_until: v.valid_until.unix_timestamp(),
                at: at.unix_timestamp(),
            }));
        }
        Ok(())
    }
}
