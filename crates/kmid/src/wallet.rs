//! The holder's wallet: keeps the credentials issued to its device key and answers requests
//! with only what was asked, bound to the verifier's session.

use std::sync::Arc;

use kmid_crypto::x509::TrustStore;
use kmid_crypto::{CryptoProvider, PrivateKey, Signer};
use kmid_mdoc::holder::{DeviceKeyAuth, HeldMdoc, HolderPolicy, respond};
use kmid_mdoc::model::{
    DeviceRequest, DeviceResponse, DocRequest, Handover, IssuerSigned, ItemsRequest,
    SessionTranscript,
};
use kmid_mdoc::verifier::MdocVerifier;
use kmid_schema::catalogue::{self, ClaimId};
use kmid_sdjwt::vc::{HeldSdJwtVc, IssuerKeys, SdJwtVcVerifier};
use time::OffsetDateTime;

use crate::dcql::{
    ClaimsQuery, CredentialQuery, DcqlQuery, FORMAT_MSO_MDOC, FORMAT_MSO_MDOC_ZK, FORMAT_SD_JWT_VC,
    OpenId4VpRequest, VpToken, value_matches,
};
use crate::error::KmidError;
use crate::verifier::{SdJwtRequest, element_json};

/// A wallet on one device, with one device key.
pub struct Wallet {
    device: Arc<dyn Signer>,
    issuer_trust: TrustStore,
    /// SD-JWT VC issuers' `x5c` roots, when not `issuer_trust`.
    sd_jwt_roots: Option<TrustStore>,
    /// SD-JWT VC issuers' configured keys: `(iss, kid, key)`.
    sd_jwt_keys: Vec<(String, Option<String>, kmid_crypto::PublicKey)>,
    mdocs: Vec<IssuerSigned>,
    sd_jwts: Vec<HeldSdJwtVc>,
    reader_trust: Option<TrustStore>,
    /// The verifier access anchors signed OpenID4VP requests must chain to.
    verifier_trust: TrustStore,
    /// Reader roots a readerAuth is checked against when present (proximity; a registration
    /// attestation binds to the reader it authenticates).
    reader_roots: Option<TrustStore>,
    /// The registrars whose attestations let a verifier collect the registration number:
    /// `(iss, kid, key)`.
    registrars: Vec<(String, Option<String>, kmid_crypto::PublicKey)>,
    provider: &'static CryptoProvider,
    /// Renewal grants, by docType: secrets, never logged.
    renewals: Vec<(String, String)>,
    /// More device keys (one per credential of a batch, for unlinkability).
    batch_keys: Vec<Arc<dyn Signer>>,
    /// When a held credential may be presented again.
    policy: PresentationPolicy,
    /// Which credentials (by digest) were presented to which verifiers.
    presented: std::sync::Mutex<PresentationRecord>,
    /// The circuits `mso_mdoc_zk` Credential Queries are answered over, when any.
    zk_circuits: Option<Arc<crate::zk::ZkCircuits>>,
}

/// What a wallet presented under its [`PresentationPolicy`]: each credential (by the SHA-256
/// of its issuer-signed part) and the verifiers (`client_id`s, `proximity`) it went to. A
/// wallet app keeps it with its credentials, in the same protected storage (it is a history
/// of where the holder showed their card), and gives it back when the wallet is built again,
/// so that a credential presented once is not presented again after a restart.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct PresentationRecord(
    std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
);

impl PresentationRecord {
    /// How many credentials were presented.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing was presented.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// When a held credential may be presented again. Credentials issued in a batch to keys of
/// one secure area are the same card; presenting each only once (or each to one verifier)
/// keeps two presentations from being linked by the credential's signature, salts or key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PresentationPolicy {
    /// Any held credential, as often as asked.
    #[default]
    Reuse,
    /// Each credential once; when none is left the wallet needs a new batch.
    Once,
    /// Each credential to one verifier (`client_id`, or the proximity reader) only: the same
    /// verifier sees the same credential, no two verifiers see the same one.
    OncePerVerifier,
}

impl core::fmt::Debug for Wallet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Wallet")
            .field("mdocs", &self.mdocs.len())
            .field("sd_jwts", &self.sd_jwts.len())
            .finish_non_exhaustive()
    }
}

impl Wallet {
    /// A wallet holding `device` (its key pair), accepting credentials whose issuers chain to
    /// `issuer_trust`.
    #[must_use]
    pub fn new(device: PrivateKey, issuer_trust: TrustStore) -> Self {
        Self::with_signer(Arc::new(device), issuer_trust)
    }

    /// A wallet whose device key is any [`Signer`]: a secure element, an HSM, or a
    /// deterministic signer for conformance vectors.
    #[must_use]
    pub fn with_signer(device: Arc<dyn Signer>, issuer_trust: TrustStore) -> Self {
        Self {
            device,
            issuer_trust,
            sd_jwt_roots: None,
            sd_jwt_keys: Vec::new(),
            mdocs: Vec::new(),
            sd_jwts: Vec::new(),
            reader_trust: None,
            verifier_trust: TrustStore::new(),
            reader_roots: None,
            registrars: Vec::new(),
            provider: CryptoProvider::get_default(),
            renewals: Vec::new(),
            batch_keys: Vec::new(),
            policy: PresentationPolicy::Reuse,
            presented: std::sync::Mutex::new(PresentationRecord::default()),
            zk_circuits: None,
        }
    }

    /// A wallet trusting what `config` says (`spec/trust.md`): its `mdoc-issuer` anchors for
    /// mdoc, its `sd-jwt-vc-issuer` anchors and `[[issuer]]` keys for SD-JWT VC, and, when
    /// it has `reader` anchors, answering only mdoc readers that authenticate to them.
    ///
    /// # Errors
    /// [`KmidError::Trust`]: the configuration's exact refusal.
    pub fn from_trust_config(
        device: Arc<dyn Signer>,
        config: &crate::TrustConfig,
    ) -> Result<Self, KmidError> {
        use crate::TrustPurpose;
        let readers = config.trust_store(TrustPurpose::Reader)?;
        let mut wallet = Self::with_signer(device, config.trust_store(TrustPurpose::MdocIssuer)?)
            .with_sd_jwt_issuer_roots(config.trust_store(TrustPurpose::SdJwtVcIssuer)?)
            .with_sd_jwt_issuer_keys(config.issuer_keys(TrustPurpose::SdJwtVcIssuer)?);
        if !readers.roots().is_empty() {
            wallet = wallet.require_reader_auth(readers);
        }
        Ok(wallet
            .with_verifier_trust(config.trust_store(TrustPurpose::VerifierAccess)?)
            .with_registrars(config.issuer_keys(TrustPurpose::Registrar)?))
    }

    /// Trusts the verifier access certificates that chain to `trust` to sign OpenID4VP
    /// requests ([`Wallet::answer_online`]); with none, every signed request is refused.
    #[must_use]
    pub fn with_verifier_trust(mut self, trust: TrustStore) -> Self {
        self.verifier_trust = trust;
        self
    }

    /// Trusts the registrars whose attestations let a verifier collect the registration
    /// number (`(iss, kid, key)`; `spec/protocols.md`, "The registration number"). Without
    /// any, the wallet never releases it.
    #[must_use]
    pub fn with_registrars(
        mut self,
        registrars: Vec<(String, Option<String>, kmid_crypto::PublicKey)>,
    ) -> Self {
        self.registrars = registrars;
        self
    }

    /// Checks a readerAuth against `roots` whenever a request carries one (a registration
    /// attestation in proximity binds to that reader), without requiring one
    /// ([`Self::require_reader_auth`] requires it).
    #[must_use]
    pub fn trust_readers(mut self, roots: TrustStore) -> Self {
        self.reader_roots = Some(roots);
        self
    }

    /// Whether this wallet answers only authenticated verifiers ([`Self::require_reader_auth`]).
    pub(crate) const fn authenticated_only(&self) -> bool {
        self.reader_trust.is_some()
    }

    /// The registrars.
    pub(crate) fn registrars(&self) -> &[(String, Option<String>, kmid_crypto::PublicKey)] {
        &self.registrars
    }

    /// The verifier access anchors.
    pub(crate) fn verifier_trust(&self) -> TrustStore {
        self.verifier_trust.clone()
    }

    /// The provider every primitive runs on.
    pub(crate) const fn provider(&self) -> &'static CryptoProvider {
        self.provider
    }

    /// Validates SD-JWT VC `x5c` chains to `roots` instead of the mdoc issuers' roots.
    #[must_use]
    pub fn with_sd_jwt_issuer_roots(mut self, roots: TrustStore) -> Self {
        self.sd_jwt_roots = Some(roots);
        self
    }

    /// Accepts SD-JWT VCs without `x5c` signed by these configured keys, `(iss, kid, key)`.
    #[must_use]
    pub fn with_sd_jwt_issuer_keys(
        mut self,
        keys: Vec<(String, Option<String>, kmid_crypto::PublicKey)>,
    ) -> Self {
        self.sd_jwt_keys = keys;
        self
    }

    /// Does every digest, MAC, key agreement and signature check on `provider` (the default:
    /// [`CryptoProvider::get_default`]); the device key signs as it is.
    #[must_use]
    pub const fn with_provider(mut self, provider: &'static CryptoProvider) -> Self {
        self.provider = provider;
        self
    }

    /// Answers only mdoc requests whose readerAuth chains to `reader_trust` (ISO/IEC 18013-5
    /// reader authentication): an unsigned request, or one from an unknown reader, is
    /// refused before anything is released. OpenID4VP requests, which kmid does not yet
    /// authenticate, are then refused too.
    #[must_use]
    pub fn require_reader_auth(mut self, reader_trust: TrustStore) -> Self {
        self.reader_trust = Some(reader_trust);
        self
    }

    /// The device's public key, to send to the issuer.
    #[must_use]
    pub fn device_key(&self) -> &kmid_crypto::PublicKey {
        self.device.public_key()
    }

    /// Answers `mso_mdoc_zk` Credential Queries (OpenID4VP, `spec/zk.md`) with a Longfellow
    /// proof over one of `circuits` the query accepts; without circuits such a query finds
    /// nothing to answer with.
    #[must_use]
    pub fn with_zk_circuits(mut self, circuits: Arc<crate::zk::ZkCircuits>) -> Self {
        self.zk_circuits = Some(circuits);
        self
    }

    /// More device keys, for credentials issued in a batch (one credential per key, each
    /// presented under [`Self::with_presentation_policy`]); credentials bound to any of the
    /// wallet's keys are accepted.
    #[must_use]
    pub fn with_batch_keys(mut self, keys: Vec<Arc<dyn Signer>>) -> Self {
        self.batch_keys = keys;
        self
    }

    /// When a held credential may be presented again (default [`PresentationPolicy::Reuse`]).
    #[must_use]
    pub const fn with_presentation_policy(mut self, policy: PresentationPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// What the wallet has presented so far under its policy, to persist (see
    /// [`PresentationRecord`]).
    #[must_use]
    pub fn presentation_record(&self) -> PresentationRecord {
        self.presented
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Restores what an earlier run of this wallet presented (its
    /// [`Self::presentation_record`]), so that the policy holds across restarts.
    #[must_use]
    pub fn with_presentation_record(self, record: PresentationRecord) -> Self {
        *self
            .presented
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = record;
        self
    }

    /// How many held credentials of `card_type` can still be presented to `verifier` under
    /// the policy (when it reaches 0, it is time for a new batch).
    #[must_use]
    pub fn presentable(&self, card_type: kmid_schema::CardType, verifier: &str) -> usize {
        let mdocs = self
            .mdocs
            .iter()
            .filter(|m| m.issuer_auth.mso().doc_type == card_type.doc_type())
            .filter(|m| self.usable(|| mdoc_digest(self.provider, m), verifier))
            .count();
        let sd_jwts = self
            .sd_jwts
            .iter()
            .filter(|h| h.verified().card_type == Some(card_type))
            .filter(|h| self.usable(|| sd_jwt_digest(self.provider, h), verifier))
            .count();
        mdocs + sd_jwts
    }

    /// The signer of `key`: the device key or a batch key.
    fn signer_for(&self, key: &kmid_crypto::PublicKey) -> Option<&Arc<dyn Signer>> {
        core::iter::once(&self.device)
            .chain(self.batch_keys.iter())
            .find(|s| s.public_key() == key)
    }

    /// Whether the credential whose digest `digest` computes may be presented to `verifier`
    /// under the policy (the digest is not computed when every credential may be reused).
    fn usable(&self, digest: impl FnOnce() -> String, verifier: &str) -> bool {
        if self.policy == PresentationPolicy::Reuse {
            return true;
        }
        let digest = digest();
        let presented = self
            .presented
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let seen = presented.0.get(&digest);
        match self.policy {
            PresentationPolicy::Reuse => true,
            PresentationPolicy::Once => seen.is_none_or(std::collections::BTreeSet::is_empty),
            PresentationPolicy::OncePerVerifier => {
                seen.is_none_or(|v| v.iter().all(|seen| seen == verifier))
            }
        }
    }

    /// Records that the credential whose digest `digest` computes was presented to
    /// `verifier` (nothing to record when every credential may be reused).
    fn mark_presented(&self, digest: impl FnOnce() -> String, verifier: &str) {
        if self.policy == PresentationPolicy::Reuse {
            return;
        }
        let digest = digest();
        self.presented
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0
            .entry(digest)
            .or_default()
            .insert(verifier.to_owned());
    }

    /// Keeps everything an issuance or a renewal gave: the credentials (replacing those held
    /// of the same card type, which the issuance superseded) and the renewal grant.
    ///
    /// # Errors
    /// As [`Self::store_mdoc`] and [`Self::store_sd_jwt`].
    pub fn store_issued(
        &mut self,
        issued: crate::Issued,
        at: OffsetDateTime,
    ) -> Result<(), KmidError> {
        let mut doc_type = None;
        if let Some(m) = issued.mdoc {
            let dt = m.issuer_signed.issuer_auth.mso().doc_type.clone();
            // Verified and stored first; only then are the older ones of its docType dropped.
            let older = self.mdocs.len();
            self.store_mdoc(m.issuer_signed, at)?;
            let mut index = 0usize;
            self.mdocs.retain(|held| {
                index += 1;
                index > older || held.issuer_auth.mso().doc_type != dt
            });
            doc_type = Some(dt);
        }
        if let Some(s) = issued.sd_jwt {
            let compact = s.sd_jwt.to_compact();
            let held = self.receive_sd_jwt(&compact, at)?;
            let card_type = held.verified().card_type;
            self.sd_jwts
                .retain(|h| h.verified().card_type != card_type || card_type.is_none());
            if doc_type.is_none() {
                doc_type = card_type.map(|c| c.doc_type().to_owned());
            }
            self.sd_jwts.push(held);
        }
        if let (Some(doc_type), Some(grant)) = (doc_type, issued.renewal) {
            self.renewals.retain(|(d, _)| *d != doc_type);
            self.renewals.push((doc_type, grant));
        }
        Ok(())
    }

    /// Whether the credentials of `card_type` should be renewed at `at`: three quarters of the
    /// shortest validity among them have passed (a credential that ends at a birthday is
    /// renewed before it, one of 90 days in its last 22 days), or one has ended.
    #[must_use]
    pub fn renewal_due(&self, card_type: kmid_schema::CardType, at: OffsetDateTime) -> bool {
        self.validity_windows(card_type)
            .into_iter()
            .any(|(from, until)| at >= from + (until - from) * 3 / 4)
    }

    /// The request that renews `card_type` on this phone without a visit: the renewal grant
    /// and a key proof of the device key over [`crate::renewal_nonce`] of it, for
    /// `credential_issuer`. `None` without a grant for the card.
    ///
    /// # Errors
    /// Signing failures.
    pub fn renewal_request(
        &self,
        card_type: kmid_schema::CardType,
        credential_issuer: &str,
        at: OffsetDateTime,
    ) -> Result<Option<(String, String)>, KmidError> {
        let Some((_, grant)) = self
            .renewals
            .iter()
            .find(|(d, _)| d == card_type.doc_type())
        else {
            return Ok(None);
        };
        let nonce = crate::channels::renewal_nonce(self.provider, grant)?;
        let proof = self.key_proof(credential_issuer, &nonce, at)?;
        Ok(Some((grant.clone(), proof)))
    }

    /// The (from, until) of every held credential of `card_type`.
    fn validity_windows(
        &self,
        card_type: kmid_schema::CardType,
    ) -> Vec<(OffsetDateTime, OffsetDateTime)> {
        let mut windows: Vec<_> = self
            .mdocs
            .iter()
            .map(|m| m.issuer_auth.mso())
            .filter(|mso| mso.doc_type == card_type.doc_type())
            .map(|mso| (mso.validity_info.valid_from, mso.validity_info.valid_until))
            .collect();
        let time = |held: &HeldSdJwtVc, name: &str| {
            held.verified()
                .claims
                .get(name)
                .and_then(serde_json::Value::as_i64)
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        };
        windows.extend(
            self.sd_jwts
                .iter()
                .filter(|h| h.verified().card_type == Some(card_type))
                .filter_map(|h| Some((time(h, "iat")?, time(h, "exp")?))),
        );
        windows
    }

    /// Verifies an issued mdoc as [`Self::store_sd_jwt`] verifies an SD-JWT VC — the issuer's
    /// signature and certificate chain (to a root scoped to its docType), its validity at `at`,
    /// the digest of every item — checks its MSO is bound to this wallet's device key, and
    /// keeps it. Its status is not checked (verifiers do, at presentation time).
    ///
    /// # Errors
    /// The mdoc layer's refusal; [`KmidError::NotOurKey`].
    pub fn store_mdoc(
        &mut self,
        issuer_signed: IssuerSigned,
        at: OffsetDateTime,
    ) -> Result<(), KmidError> {
        MdocVerifier::new(&self.issuer_trust)
            .with_provider(self.provider)
            .verify_issuer_signed(&issuer_signed, at)?;
        let mso = issuer_signed.issuer_auth.mso();
        if self.signer_for(&mso.device_key_info.device_key).is_none() {
            return Err(KmidError::NotOurKey);
        }
        self.mdocs.push(issuer_signed);
        Ok(())
    }

    /// Verifies an issued SD-JWT VC (issuer signature, chain, `vct`, time; not its status,
    /// which is the verifier's to check), checks its `cnf` is this wallet's device key, and
    /// keeps it.
    ///
    /// # Errors
    /// The SD-JWT VC layer's refusal; [`KmidError::NotOurKey`].
    pub fn store_sd_jwt(&mut self, issued: &str, at: OffsetDateTime) -> Result<(), KmidError> {
        let held = self.receive_sd_jwt(issued, at)?;
        self.sd_jwts.push(held);
        Ok(())
    }

    /// Verifies an issued SD-JWT VC for this wallet (see [`Self::store_sd_jwt`]).
    fn receive_sd_jwt(&self, issued: &str, at: OffsetDateTime) -> Result<HeldSdJwtVc, KmidError> {
        // The wallet keeps what the issuer gave it even if it is suspended today: the status is
        // checked by every verifier at presentation time.
        let roots = IssuerKeys::X5c(self.sd_jwt_roots.as_ref().unwrap_or(&self.issuer_trust));
        let keys = if self.sd_jwt_keys.is_empty() {
            roots
        } else {
            IssuerKeys::Any(vec![roots, IssuerKeys::KeySet(self.sd_jwt_keys.clone())])
        };
        // Any type its trusted issuers issue (a foreign PID as well as the Korean cards): the
        // trust configuration's scopes decide, and each verifier names what it asks for.
        let verifier = SdJwtVcVerifier::new(keys)
            .with_provider(self.provider)
            .accept_any_vct()
            .danger_accept_unchecked_status();
        let held = HeldSdJwtVc::receive(issued, &verifier, at)?;
        let cnf = held
            .verified()
            .claims
            .get("cnf")
            .and_then(|c| c.get("jwk"))
            .and_then(|j| serde_json::from_value::<kmid_crypto::Jwk>(j.clone()).ok())
            .and_then(|j| j.to_public_key().ok());
        if cnf.as_ref().and_then(|k| self.signer_for(k)).is_none() {
            return Err(KmidError::NotOurKey);
        }
        Ok(held)
    }

    /// Answers an mdoc DeviceRequest over `transcript`: for each requested docType it holds,
    /// exactly the requested elements, signed with the device key.
    ///
    /// # Errors
    /// The mdoc layer's refusal.
    pub fn respond_mdoc(
        &self,
        request: &DeviceRequest,
        transcript: &SessionTranscript,
        at: OffsetDateTime,
    ) -> Result<DeviceResponse, KmidError> {
        self.respond_mdoc_linkable(request, transcript, at, true)
    }

    /// [`Self::respond_mdoc`]; `linkable: false` for an answer only a zero-knowledge proof
    /// will carry (nothing in it links two presentations), which the presentation policy
    /// neither limits nor records.
    pub(crate) fn respond_mdoc_linkable(
        &self,
        request: &DeviceRequest,
        transcript: &SessionTranscript,
        at: OffsetDateTime,
        linkable: bool,
    ) -> Result<DeviceResponse, KmidError> {
        let empty = Vec::new();
        // One usable credential per docType, each signed by its own key.
        let mut held: Vec<HeldMdoc<'_>> = Vec::new();
        for m in &self.mdocs {
            let doc_type = &m.issuer_auth.mso().doc_type;
            if held
                .iter()
                .any(|h| &h.issuer_signed.issuer_auth.mso().doc_type == doc_type)
                || linkable && !self.usable(|| mdoc_digest(self.provider, m), PROXIMITY)
            {
                continue;
            }
            let Some(signer) = self.signer_for(&m.issuer_auth.mso().device_key_info.device_key)
            else {
                continue;
            };
            held.push(HeldMdoc {
                issuer_signed: m,
                device_auth: DeviceKeyAuth::Signature(&**signer),
                device_signed: &empty,
            });
        }
        let mut policy = HolderPolicy::new(at);
        policy.provider = self.provider;
        if let Some(trust) = &self.reader_trust {
            policy.reader_trust = Some(trust.clone());
            policy.require_reader_auth = true;
        } else if let Some(roots) = &self.reader_roots {
            policy.reader_trust = Some(roots.clone());
        }
        // The registration number goes only to a reader that authenticated and presented a
        // registration attestation for it (PIPA Art. 24-2; crate::registration).
        let rrn = catalogue::spec(ClaimId::RegistrationNumber).mdoc;
        for doc in &request.doc_requests {
            let asks = doc.items_request.name_spaces.iter().any(|(ns, els)| {
                ns == rrn.namespace && els.iter().any(|(e, _)| e == rrn.identifier)
            });
            if asks && !self.reader_registered(doc, transcript, policy.reader_trust.as_ref(), at)? {
                policy
                    .withheld
                    .push((rrn.namespace.to_owned(), rrn.identifier.to_owned()));
            }
        }
        let response = respond(request, transcript, &held, &policy)?;
        for doc in response.documents.iter().filter(|_| linkable) {
            if let Some(m) = held
                .iter()
                .find(|h| h.issuer_signed.issuer_auth.mso().doc_type == doc.doc_type)
            {
                self.mark_presented(|| mdoc_digest(self.provider, m.issuer_signed), PROXIMITY);
            }
        }
        Ok(response)
    }

    /// Whether a DocRequest's reader may collect the registration number: its readerAuth
    /// verifies under `roots`, and its `requestInfo` carries a registration attestation from
    /// a trusted registrar for that reader (`x509_hash` of its certificate). No attestation,
    /// no readerAuth or no roots: `false` (withheld). An attestation that fails: its error.
    fn reader_registered(
        &self,
        doc: &DocRequest,
        transcript: &SessionTranscript,
        roots: Option<&TrustStore>,
        at: OffsetDateTime,
    ) -> Result<bool, KmidError> {
        let Some(jwt) = doc
            .items_request
            .request_info
            .iter()
            .find(|(k, _)| k == crate::registration::REQUEST_INFO_KEY)
            .and_then(|(_, v)| match v {
                kmid_mdoc::ElementValue::Text(t) => Some(t.as_str()),
                _ => None,
            })
        else {
            return Ok(false);
        };
        let (Some(roots), Some(_)) = (roots, doc.reader_auth.as_ref()) else {
            return Ok(false);
        };
        let validated = kmid_mdoc::reader::verify_reader_auth(
            doc,
            transcript,
            roots,
            at,
            &kmid_crypto::Algorithm::ALL,
            self.provider.signature_verifier,
        )?;
        let client_id =
            kmid_oid4vc::request::ClientId::x509_hash(self.provider, &validated.leaf)?.to_string();
        crate::registration::RegistrationAttestation::verify(
            jwt,
            &self.registrars,
            &client_id,
            crate::registration::REGISTRATION_NUMBER,
            at,
            self.provider,
        )?;
        Ok(true)
    }

    /// Presents the SD-JWT VC of `request.vct` with exactly the requested claims and a Key
    /// Binding JWT over the verifier's nonce and audience.
    ///
    /// # Errors
    /// [`KmidError::NotHeld`], or the SD-JWT layer's refusal.
    pub fn present_sd_jwt(
        &self,
        request: &SdJwtRequest,
        at: OffsetDateTime,
    ) -> Result<String, KmidError> {
        if request.paths.iter().any(Vec::is_empty) {
            return Err(KmidError::InvalidRequest(
                "an empty claim path would disclose everything",
            ));
        }
        // An unauthenticated request: the registration number is never released.
        let rrn = catalogue::spec(ClaimId::RegistrationNumber).sd_jwt.path;
        if request
            .paths
            .iter()
            .any(|p| p.iter().map(String::as_str).eq(rrn.iter().copied()))
        {
            return Err(KmidError::Withheld(
                "the registration number: the verifier presented no valid registration attestation",
            ));
        }
        let held = self
            .sd_jwts
            .iter()
            .find(|h| {
                h.verified().vct == request.vct
                    && self.usable(|| sd_jwt_digest(self.provider, h), &request.audience)
            })
            .ok_or(KmidError::NotHeld("SD-JWT VC"))?;
        let paths: Vec<Vec<&str>> = request
            .paths
            .iter()
            .map(|p| p.iter().map(String::as_str).collect())
            .collect();
        let paths: Vec<&[&str]> = paths.iter().map(Vec::as_slice).collect();
        let signer: Arc<dyn Signer> = Arc::clone(
            sd_jwt_cnf(held)
                .as_ref()
                .and_then(|k| self.signer_for(k))
                .ok_or(KmidError::NotOurKey)?,
        );
        let presented = held
            .present(
                &paths,
                Some((&signer, &request.nonce, &request.audience, at)),
            )?
            .to_compact();
        self.mark_presented(|| sd_jwt_digest(self.provider, held), &request.audience);
        Ok(presented)
    }

    /// An OpenID4VCI key proof (`openid4vci-proof+jwt`, Appendix F.1) of this wallet's
    /// device key for `credential_issuer`, over the issuer's `c_nonce`, at `at`.
    ///
    /// # Errors
    /// Signing failures.
    pub fn key_proof(
        &self,
        credential_issuer: &str,
        c_nonce: &str,
        at: OffsetDateTime,
    ) -> Result<String, KmidError> {
        let mut header = serde_json::Map::new();
        header.insert("typ".into(), crate::channels::KEY_PROOF_TYP.into());
        header.insert(
            "jwk".into(),
            serde_json::to_value(self.device.public_key().to_jwk())
                .map_err(|_| KmidError::InvalidRequest("the device key has no JWK form"))?,
        );
        let payload = serde_json::json!({
            "aud": credential_issuer,
            "iat": at.unix_timestamp(),
            "nonce": c_nonce,
        });
        kmid_crypto::jose::sign_compact(header, payload.to_string().as_bytes(), &self.device)
            .map_err(|e| KmidError::Crypto(kmid_crypto::CryptoError::Signer(e.to_string())))
    }

    /// Answers an OpenID4VP request carrying a DCQL query (OpenID4VP 1.0 §6, §8.1): picks, for
    /// each Credential Query the credential sets require, a held credential of the asked
    /// type and the first claim option it satisfies (values matched), and presents exactly
    /// those claims — SD-JWT VC with a KB-JWT over the request's `nonce` and `client_id`,
    /// mdoc as a base64url DeviceResponse signed over the OpenID4VP SessionTranscript.
    ///
    /// # Errors
    /// [`KmidError::InvalidDcql`]; [`KmidError::NotHeld`] when the wallet cannot satisfy
    /// the query (then it returns nothing, §6.4.2); the layers' signing failures.
    pub fn answer_dcql(
        &self,
        query: &DcqlQuery,
        request: &OpenId4VpRequest,
        at: OffsetDateTime,
    ) -> Result<VpToken, KmidError> {
        if self.reader_trust.is_some() {
            // The wallet was told to answer only authenticated verifiers, and these request
            // parameters are not authenticated (a signed request goes to answer_online).
            return Err(KmidError::InvalidRequest(
                "this wallet answers only authenticated verifiers; the OpenID4VP request is not",
            ));
        }
        // Unauthenticated: the registration number is never released here.
        self.answer_authenticated(query, request, &|_| false, &[], at)
    }

    /// [`Self::answer_dcql`] for a request whose verifier was authenticated (a verified
    /// Request Object); `registered` says for which Credential Query ids a registration
    /// attestation allows the registration number.
    pub(crate) fn answer_authenticated(
        &self,
        query: &DcqlQuery,
        request: &OpenId4VpRequest,
        registered: &dyn Fn(&str) -> bool,
        transaction_data: &[String],
        at: OffsetDateTime,
    ) -> Result<VpToken, KmidError> {
        query.validate()?;
        let consents = transaction_data
            .iter()
            .map(|item| {
                kmid_oid4vc::transaction::TransactionConsent::decode(item)
                    .map(|consent| (item.as_str(), consent))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let plans: Vec<(&str, Option<Plan<'_>>)> = query
            .credentials
            .iter()
            .map(|cq| {
                let rrn = if registered(&cq.id) {
                    Rrn::Released
                } else {
                    Rrn::Withheld
                };
                (cq.id.as_str(), self.plan(cq, rrn, &request.client_id))
            })
            .collect();
        // Say so when only the registration number stands in the way (the DCQL rules found no
        // answer without it, and one with it).
        let unanswerable = query
            .select(&|id| plans.iter().any(|(i, p)| *i == id && p.is_some()))
            .is_none();
        if unanswerable
            && query
                .select(&|id| {
                    query.credential(id).is_some_and(|cq| {
                        self.plan(cq, Rrn::Hypothetical, &request.client_id)
                            .is_some()
                    })
                })
                .is_some()
        {
            return Err(KmidError::Withheld(
                "the registration number: the verifier presented no valid registration attestation",
            ));
        }
        let plan_for = |id: &str| {
            plans
                .iter()
                .find(|(i, _)| *i == id)
                .and_then(|(_, p)| p.as_ref())
        };
        let chosen = query
            .select(&|id| plan_for(id).is_some())
            .ok_or(KmidError::NotHeld("credential the DCQL query asks for"))?;
        // Each transaction is authorized by one presented credential: the first of its
        // credential_ids the wallet answers (§5.1).
        let mut bound: Vec<(&str, &str)> = Vec::new();
        for (item, consent) in &consents {
            let id = consent
                .credential_ids
                .iter()
                .find(|id| chosen.contains(&id.as_str()))
                .ok_or(KmidError::InvalidRequest(
                    "transaction data for no credential the wallet presents",
                ))?;
            bound.push((id.as_str(), item));
        }
        let mut token = VpToken::new();
        let mut presented = Vec::new();
        for id in chosen {
            let Some(plan) = plan_for(id) else { continue };
            let items: Vec<&str> = bound
                .iter()
                .filter(|(i, _)| *i == id)
                .map(|(_, item)| *item)
                .collect();
            let presentation = match plan {
                Plan::SdJwt { held, paths } => {
                    let paths: Vec<&[&str]> = paths.iter().map(Vec::as_slice).collect();
                    let signer: Arc<dyn Signer> = Arc::clone(
                        sd_jwt_cnf(held)
                            .as_ref()
                            .and_then(|k| self.signer_for(k))
                            .ok_or(KmidError::NotOurKey)?,
                    );
                    if self.policy != PresentationPolicy::Reuse {
                        presented.push(sd_jwt_digest(self.provider, held));
                    }
                    let mut extra = serde_json::Map::new();
                    if !items.is_empty() {
                        let hashes = items
                            .iter()
                            .map(|item| {
                                kmid_oid4vc::transaction::transaction_data_hash(self.provider, item)
                            })
                            .collect::<Result<Vec<_>, _>>()?;
                        extra.insert("transaction_data_hashes".into(), hashes.into());
                        extra.insert("transaction_data_hashes_alg".into(), "sha-256".into());
                    }
                    held.present_bound(
                        &paths,
                        (&signer, &request.nonce, &request.client_id, at),
                        &extra,
                    )?
                    .to_compact()
                }
                // No Korean docType authorizes transaction data in its mdoc (Appendix B.2.3).
                Plan::Mdoc { .. } if !items.is_empty() => {
                    return Err(kmid_oid4vc::Oid4vpError::TransactionData(
                        kmid_oid4vc::transaction::CONSENT_TYPE.to_owned(),
                    )
                    .into());
                }
                Plan::Mdoc {
                    issuer_signed,
                    items,
                    zk,
                } => {
                    let device_request = DeviceRequest::new(vec![DocRequest::new(items.clone())]);
                    let transcript = openid4vp_transcript(self.provider, request)?;
                    let empty = Vec::new();
                    let signer = self
                        .signer_for(&issuer_signed.issuer_auth.mso().device_key_info.device_key)
                        .ok_or(KmidError::NotOurKey)?;
                    if self.policy != PresentationPolicy::Reuse && zk.is_none() {
                        presented.push(mdoc_digest(self.provider, issuer_signed));
                    }
                    let held = [HeldMdoc {
                        issuer_signed,
                        device_auth: DeviceKeyAuth::Signature(&**signer),
                        device_signed: &empty,
                    }];
                    let mut policy = HolderPolicy::new(at);
                    policy.provider = self.provider;
                    let response = match zk {
                        None => respond(&device_request, &transcript, &held, &policy)?,
                        // The proof's timestamp is in whole seconds.
                        Some(bundle) => {
                            let at = at
                                .replace_nanosecond(0)
                                .map_err(|_| KmidError::ZkDocument("a time"))?;
                            let plain = respond(&device_request, &transcript, &held, &policy)?;
                            self.prove_response(
                                &plain.to_bytes(),
                                &transcript,
                                bundle,
                                self.provider.random,
                                at,
                            )?
                        }
                    };
                    kmid_crypto::jose::b64url(&response.to_bytes())
                }
            };
            token.insert(
                id.to_owned(),
                serde_json::Value::Array(vec![presentation.into()]),
            );
        }
        for digest in presented {
            self.mark_presented(|| digest, &request.client_id);
        }
        Ok(token)
    }

    /// The first held credential and claim option that satisfy `cq`.
    fn plan<'w>(&'w self, cq: &'w CredentialQuery, rrn: Rrn, verifier: &str) -> Option<Plan<'w>> {
        let rrn_allowed = rrn != Rrn::Withheld;
        let spec = catalogue::spec(ClaimId::RegistrationNumber);
        let is_rrn = |claim: &ClaimsQuery| {
            claim.key_path().is_some_and(|p| {
                p.as_slice() == spec.sd_jwt.path
                    || p.as_slice() == [spec.mdoc.namespace, spec.mdoc.identifier]
            })
        };
        // Whether a held value answers a claim; for the "would it be answerable with the
        // number" question the number's own `values` are never compared (that would tell an
        // unauthenticated verifier whether its guess of the number is right).
        let matches = |claim: &ClaimsQuery, value: &serde_json::Value| {
            (rrn == Rrn::Hypothetical && is_rrn(claim)) || value_matches(claim, value)
        };
        let trusted_akis = cq.trusted_akis();
        let options: Vec<_> = cq
            .options()
            .into_iter()
            .filter(|option| rrn_allowed || !option.iter().any(|claim| is_rrn(claim)))
            .collect();
        match cq.format.as_str() {
            FORMAT_SD_JWT_VC => self
                .sd_jwts
                .iter()
                .filter(|h| {
                    cq.meta
                        .vct_values
                        .as_ref()
                        .is_none_or(|v| v.contains(&h.verified().vct))
                        && trusted(
                            trusted_akis.as_deref(),
                            h.verified().issuer_certificate.iter().cloned(),
                        )
                        && self.usable(|| sd_jwt_digest(self.provider, h), verifier)
                })
                .find_map(|held| {
                    options.iter().find_map(|option| {
                        let paths: Option<Vec<Vec<&str>>> = option
                            .iter()
                            .map(|claim| {
                                let path = claim.key_path()?;
                                let value = held.verified().get(&path)?;
                                matches(claim, value).then_some(path)
                            })
                            .collect();
                        paths.map(|paths| Plan::SdJwt { held, paths })
                    })
                }),
            FORMAT_MSO_MDOC | FORMAT_MSO_MDOC_ZK => {
                let doc_type = cq.meta.doctype_value.as_deref()?;
                // A zero-knowledge answer: over a circuit the query accepts and the wallet
                // holds, all elements of one namespace (what the circuits take).
                let zk = if cq.format == FORMAT_MSO_MDOC_ZK {
                    Some((
                        self.zk_circuits.as_deref()?,
                        crate::zk::offered_in_dcql(&cq.meta),
                    ))
                } else {
                    None
                };
                self.mdocs
                    .iter()
                    .filter(|m| {
                        // A zero-knowledge answer links to nothing: the presentation
                        // policy does not limit it.
                        m.issuer_auth.mso().doc_type == doc_type
                            && (zk.is_some()
                                || self.usable(|| mdoc_digest(self.provider, m), verifier))
                            && trusted(
                                trusted_akis.as_deref(),
                                m.issuer_auth.x5chain().iter().filter_map(|der| {
                                    kmid_crypto::x509::Certificate::from_der(der).ok()
                                }),
                            )
                    })
                    .find_map(|issuer_signed| {
                        options.iter().find_map(|option| {
                            let mut items = ItemsRequest::for_doc_type(doc_type);
                            for claim in option {
                                let path = claim.key_path()?;
                                let [namespace, element] = path.as_slice() else {
                                    return None;
                                };
                                let value = issuer_signed
                                    .name_spaces
                                    .iter()
                                    .filter(|(ns, _)| ns == namespace)
                                    .flat_map(|(_, items)| items)
                                    .map(|item| item.item())
                                    .find(|item| item.element_identifier == *element)?;
                                if !matches(claim, &element_json(&value.element_value)) {
                                    return None;
                                }
                                items.ask(
                                    namespace,
                                    element,
                                    claim.intent_to_retain.unwrap_or(false),
                                );
                            }
                            let zk = match &zk {
                                None => None,
                                Some((circuits, offered)) => {
                                    let count: usize =
                                        items.name_spaces.iter().map(|(_, e)| e.len()).sum();
                                    if items.name_spaces.len() != 1 {
                                        return None;
                                    }
                                    Some(circuits.pick(offered, count)?)
                                }
                            };
                            Some(Plan::Mdoc {
                                issuer_signed,
                                items,
                                zk,
                            })
                        })
                    })
            }
            _ => None,
        }
    }
}

/// Whether a credential whose issuer chain is `chain` matches a query's `trusted_authorities`
/// of type `aki` (OpenID4VP 1.0 §6.1.1.1, HAIP 1.0 §5): no such constraint, or a certificate
/// of the chain whose AuthorityKeyIdentifier is one of them.
fn trusted(
    akis: Option<&[Vec<u8>]>,
    chain: impl Iterator<Item = kmid_crypto::x509::Certificate>,
) -> bool {
    let Some(akis) = akis else {
        return true;
    };
    chain
        .filter_map(|c| c.authority_key_identifier().map(<[u8]>::to_vec))
        .any(|aki| akis.contains(&aki))
}

/// What the wallet does with the registration number while planning an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rrn {
    /// Withheld: options that need it are not candidates.
    Withheld,
    /// Released (a registered, authenticated verifier).
    Released,
    /// Only to tell "withheld" from "not held": the number counts as present whatever
    /// `values` the query gives it.
    Hypothetical,
}

/// How the wallet will answer one Credential Query.
enum Plan<'w> {
    SdJwt {
        held: &'w HeldSdJwtVc,
        paths: Vec<Vec<&'w str>>,
    },
    Mdoc {
        issuer_signed: &'w IssuerSigned,
        items: ItemsRequest,
        /// For `mso_mdoc_zk`: the circuit the answer is proven over.
        zk: Option<&'w crate::zk::Bundle>,
    },
}

/// The SessionTranscript of an mdoc presented over OpenID4VP (OpenID4VP 1.0 Appendix B.2.6):
/// `[null, null, Handover]`, the `OpenID4VPHandover` over `client_id`, `nonce`, the thumbprint
/// of the response encryption key when the response is encrypted, and `response_uri`; over the
/// DC API (`request.origin`), the `OpenID4VPDCAPIHandover` over the Origin, `nonce` and the
/// thumbprint. Hashed on `provider`.
///
/// # Errors
/// CBOR encoding failures.
pub fn openid4vp_transcript(
    provider: &CryptoProvider,
    request: &OpenId4VpRequest,
) -> Result<SessionTranscript, KmidError> {
    let handover = match &request.origin {
        // Over the DC API (Appendix B.2.6.2): the Origin, the nonce and the thumbprint.
        Some(origin) => Handover::OpenId4VpDcApi {
            origin: origin.clone(),
            nonce: request.nonce.clone(),
            jwk_thumbprint: request.jwk_thumbprint.clone(),
        },
        None => Handover::OpenId4Vp {
            client_id: request.client_id.clone(),
            nonce: request.nonce.clone(),
            jwk_thumbprint: request.jwk_thumbprint.clone(),
            response_uri: request.response_uri.clone(),
        },
    };
    Ok(SessionTranscript::new_on(provider, None, None, &handover)?)
}

/// The verifier name proximity presentations are recorded under.
const PROXIMITY: &str = "proximity";

/// A held mdoc's identity: the SHA-256 of its IssuerSigned (on the wallet's provider).
fn mdoc_digest(provider: &CryptoProvider, m: &IssuerSigned) -> String {
    provider
        .sha256(&m.to_bytes())
        .map(|d| kmid_crypto::jose::b64url(&d))
        .unwrap_or_default()
}

/// A held SD-JWT VC's identity: the SHA-256 of its verified claims (its `cnf` key among them,
/// so each credential of a batch is its own).
fn sd_jwt_digest(provider: &CryptoProvider, held: &HeldSdJwtVc) -> String {
    let bytes = serde_json::to_vec(&held.verified().claims).unwrap_or_default();
    provider
        .sha256(&bytes)
        .map(|d| kmid_crypto::jose::b64url(&d))
        .unwrap_or_default()
}

/// The key an SD-JWT VC is bound to (`cnf.jwk`).
fn sd_jwt_cnf(held: &HeldSdJwtVc) -> Option<kmid_crypto::PublicKey> {
    held.verified()
        .claims
        .get("cnf")
        .and_then(|c| c.get("jwk"))
        .and_then(|j| serde_json::from_value::<kmid_crypto::Jwk>(j.clone()).ok())
        .and_then(|j| j.to_public_key().ok())
}
