//! Issuing an mdoc: the IssuerSigned of a Korean card, built from the claim catalogue, with a
//! fresh salt and a random digestID per element, optional decoy digests, and an MSO signed as
//! COSE_Sign1 through a [`Signer`] with the Document Signer certificate in `x5chain`.

use kmid_crypto::x509::Certificate;
use kmid_crypto::{CryptoProvider, HashAlgorithm, PublicKey, Random, Signer};
use kmid_schema::Card;
use kmid_schema::catalogue;
use kmid_schema::status::StatusReference;
use time::{OffsetDateTime, UtcOffset};

use crate::cbor::{ElementValue, embedded};
use crate::cose::{sign1, x5chain_header};
use crate::error::MdocError;
use crate::model::{
    DeviceKeyInfo, ElementsByNamespace, IssuerAuth, IssuerNameSpaces, IssuerSigned,
    IssuerSignedItem, IssuerSignedItemBytes, KeyAuthorizations, MobileSecurityObject, ValidityInfo,
};

/// The most decoy digests per namespace.
pub const MAX_DECOYS: usize = 1024;

/// Length of each element's salt (`random`), in bytes; ISO/IEC 18013-5 asks for at least 16.
pub const SALT_LEN: usize = 16;
/// Korea Standard Time, in which the age items are computed (spec D-9).
const KST: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// What the MSO says besides the digests: its time window, digest algorithm, decoys, status
/// reference and device key authorizations.
#[derive(Debug, Clone, PartialEq)]
pub struct MsoOptions {
    /// When the MSO is signed; the age items are computed on this day in Korea Standard Time.
    pub signed: OffsetDateTime,
    /// Valid from; not before `signed`.
    pub valid_from: OffsetDateTime,
    /// Valid until; after `valid_from`.
    pub valid_until: OffsetDateTime,
    /// When the issuer expects to refresh the MSO.
    pub expected_update: Option<OffsetDateTime>,
    /// Digest algorithm.
    pub digest_algorithm: HashAlgorithm,
    /// Random decoy digests added to each namespace.
    pub decoys_per_namespace: usize,
    /// The status list entry of this credential.
    pub status: Option<StatusReference>,
    /// What the device key may sign (default: nothing).
    pub key_authorizations: Option<KeyAuthorizations>,
}

impl MsoOptions {
    /// An MSO signed at `signed`, valid from then until `valid_until`, SHA-256, no decoys,
    /// no status reference, no key authorizations.
    #[must_use]
    pub const fn new(signed: OffsetDateTime, valid_until: OffsetDateTime) -> Self {
        Self {
            signed,
            valid_from: signed,
            valid_until,
            expected_update: None,
            digest_algorithm: HashAlgorithm::Sha256,
            decoys_per_namespace: 0,
            status: None,
            key_authorizations: None,
        }
    }
}

/// An issuer of mdocs: a signer (perhaps an HSM) and its Document Signer certificate chain.
pub struct MdocIssuer<'a> {
    signer: &'a dyn Signer,
    x5chain: Vec<Certificate>,
    random: &'a dyn Random,
    provider: &'a CryptoProvider,
}

impl core::fmt::Debug for MdocIssuer<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MdocIssuer")
            .field("x5chain", &self.x5chain)
            .finish_non_exhaustive()
    }
}

fn random_digest_ids(random: &dyn Random, n: usize) -> Result<Vec<u64>, MdocError> {
    let mut ids: Vec<u64> = Vec::with_capacity(n);
    while ids.len() < n {
        let mut b = [0u8; 4];
        random.fill(&mut b)?;
        // Below 2^31, so every CBOR library's int type holds it.
        let id = u64::from(u32::from_be_bytes(b) & 0x7FFF_FFFF);
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

impl<'a> MdocIssuer<'a> {
    /// An issuer that signs with `signer`, whose certificate is the first of `x5chain`.
    ///
    /// # Errors
    /// [`MdocError::InvalidInput`] for an empty chain or a leaf certificate that is not the
    /// signer's key.
    pub fn new(
        signer: &'a dyn Signer,
        x5chain: Vec<Certificate>,
        random: &'a dyn Random,
    ) -> Result<Self, MdocError> {
        match x5chain.first() {
            None => Err(MdocError::InvalidInput(
                "x5chain needs the Document Signer certificate",
            )),
            Some(ds) if ds.public_key() != signer.public_key() => Err(MdocError::InvalidInput(
                "the Document Signer certificate is not the signer's key",
            )),
            Some(_) => Ok(Self {
                signer,
                x5chain,
                random,
                provider: CryptoProvider::get_default(),
            }),
        }
    }

    /// Hashes the elements on `provider` (the default: [`CryptoProvider::get_default`]).
    #[must_use]
    pub const fn with_provider(mut self, provider: &'a CryptoProvider) -> Self {
        self.provider = provider;
        self
    }

    /// Issues the mdoc of a Korean card: every catalogue item of the card, in its namespace.
    ///
    /// # Errors
    /// [`MdocError::InvalidInput`] for inconsistent options; signer failures.
    pub fn issue(
        &self,
        card: &Card,
        device_key: &PublicKey,
        options: &MsoOptions,
    ) -> Result<IssuerSigned, MdocError> {
        let as_of = options.signed.to_offset(KST).date();
        let mut elements: ElementsByNamespace = Vec::new();
        for claim in card.claims(as_of) {
            let spec = catalogue::spec(claim.id);
            let value = ElementValue::from_claim(&claim.value, spec.mdoc.cbor)?;
            let ns = spec.mdoc.namespace;
            match elements.iter_mut().find(|(n, _)| n == ns) {
                Some((_, els)) => els.push((spec.mdoc.identifier.to_owned(), value)),
                None => elements.push((
                    ns.to_owned(),
                    vec![(spec.mdoc.identifier.to_owned(), value)],
                )),
            }
        }
        let doc_type = kmid_schema::IdentityCard::card_type(card).doc_type();
        self.issue_elements(doc_type, elements, device_key, options)
    }

    /// Issues an mdoc of any document type from its elements.
    ///
    /// # Errors
    /// [`MdocError::InvalidInput`] for inconsistent options or an empty namespace; signer
    /// failures.
    pub fn issue_elements(
        &self,
        doc_type: &str,
        elements: ElementsByNamespace,
        device_key: &PublicKey,
        options: &MsoOptions,
    ) -> Result<IssuerSigned, MdocError> {
        // tdate has whole seconds: truncate first, so what is checked is what is signed.
        let whole = |t: OffsetDateTime| t.replace_nanosecond(0).unwrap_or(t);
        let (signed, valid_from, valid_until) = (
            whole(options.signed),
            whole(options.valid_from),
            whole(options.valid_until),
        );
        let expected_update = options.expected_update.map(whole);
        let in_range =
            |t: &OffsetDateTime| (0..=9999).contains(&t.to_offset(UtcOffset::UTC).year());
        if ![signed, valid_from, valid_until]
            .iter()
            .chain(expected_update.iter())
            .all(in_range)
        {
            return Err(MdocError::InvalidInput(
                "validity times must lie in years 0000-9999",
            ));
        }
        if valid_from < signed || valid_until <= valid_from {
            return Err(MdocError::InvalidInput(
                "validity must satisfy signed <= validFrom < validUntil",
            ));
        }
        if options.decoys_per_namespace > MAX_DECOYS {
            return Err(MdocError::InvalidInput("too many decoy digests"));
        }
        for (i, (ns, els)) in elements.iter().enumerate() {
            if elements.iter().skip(i + 1).any(|(other, _)| other == ns) {
                return Err(MdocError::InvalidInput("a namespace appears twice"));
            }
            for (j, (id, _)) in els.iter().enumerate() {
                if els.iter().skip(j + 1).any(|(other, _)| other == id) {
                    return Err(MdocError::InvalidInput(
                        "an element appears twice in its namespace",
                    ));
                }
            }
        }
        if elements.iter().any(|(_, els)| els.is_empty()) {
            return Err(MdocError::InvalidInput(
                "every namespace needs at least one element",
            ));
        }
        for (_, els) in &elements {
            for (_, value) in els {
                value.check_encodable()?;
            }
        }
        let mut name_spaces: IssuerNameSpaces = Vec::with_capacity(elements.len());
        let mut value_digests = Vec::with_capacity(elements.len());
        for (ns, els) in elements {
            let ids = random_digest_ids(
                self.random,
                els.len().saturating_add(options.decoys_per_namespace),
            )?;
            let (item_ids, decoy_ids) = ids.split_at(els.len());
            let mut digests = Vec::with_capacity(ids.len());
            let mut items = Vec::with_capacity(els.len());
            for ((identifier, value), &digest_id) in els.into_iter().zip(item_ids) {
                let mut random = vec![0u8; SALT_LEN];
                self.random.fill(&mut random)?;
                let item = IssuerSignedItemBytes::new(IssuerSignedItem {
                    digest_id,
                    random,
                    element_identifier: identifier,
                    element_value: value,
                });
                digests.push((
                    digest_id,
                    self.provider.digest(options.digest_algorithm, item.raw())?,
                ));
                items.push(item);
            }
            for &decoy in decoy_ids {
                let mut d = vec![0u8; options.digest_algorithm.output_len()];
                self.random.fill(&mut d)?;
                digests.push((decoy, d));
            }
            // Sorted by digestID, which is random: the order says nothing about the items.
            digests.sort_by_key(|(id, _)| *id);
            value_digests.push((ns.clone(), digests));
            name_spaces.push((ns, items));
        }
        let mso = MobileSecurityObject {
            version: "1.0".into(),
            digest_algorithm: options.digest_algorithm,
            value_digests,
            device_key_info: DeviceKeyInfo {
                device_key: device_key.clone(),
                key_authorizations: options.key_authorizations.clone(),
                key_info: None,
            },
            doc_type: doc_type.to_owned(),
            validity_info: ValidityInfo {
                signed,
                valid_from,
                valid_until,
                expected_update,
            },
            status: options.status.clone(),
        };
        let payload = embedded(&mso.to_bytes()?);
        let (cose, raw) = sign1(
            self.signer,
            x5chain_header(&self.x5chain),
            Some(payload),
            None,
        )?;
        Ok(IssuerSigned {
            name_spaces,
            issuer_auth: IssuerAuth::from_parts(raw, cose, mso),
        })
    }
}
