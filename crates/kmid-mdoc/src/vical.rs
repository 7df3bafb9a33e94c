//! VICAL: the Verified Issuer Certificate Authority List of ISO/IEC 18013-5 Annex C.1.7, a
//! signed list of IACA certificates with the docTypes each may vouch for, which a reader
//! anywhere can take as its mdoc trust anchors. kmid writes one of the Korean IACAs and reads
//! any, checking its signer's chain (EKU 1.0.18013.5.1.8) to a configured VICAL anchor.
//!
//! ```cddl
//! VICAL = { "version": tstr, "vicalProvider": tstr, "date": tdate,
//!           ? "vicalIssueID": uint, ? "nextUpdate": tdate,
//!           "certificateInfos": [* CertificateInfo], ? "extensions": {* tstr => any} }
//! CertificateInfo = { "certificate": bstr, "serialNumber": biguint, "ski": bstr,
//!           "docType": [+ tstr], ? "certificateProfile": [+ tstr],
//!           ? "issuingAuthority": tstr, ? "issuingCountry": tstr, ...}
//! ```

use kmid_crypto::x509::{Certificate, KeyPurpose, TrustStore};
use kmid_crypto::{Algorithm, CryptoProvider, Signer};
use time::OffsetDateTime;

use crate::cbor::{CborLimits, Encoder};
use crate::cose::{Sign1Failure, sign1, verify_sign1, x5chain_header};
use crate::error::{MdocError, malformed};
use crate::model::{Fields, array, format_tdate, parse_sign1, parse_tdate, x5chain};

/// The largest VICAL read: some hundreds of IACA certificates.
pub const MAX_VICAL_BYTES: usize = 4 << 20;

/// One trusted IACA of a VICAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VicalEntry {
    /// The IACA certificate.
    pub certificate: Certificate,
    /// The docTypes it may vouch for (at least one).
    pub doc_types: Vec<String>,
    /// The issuing authority's name, when given.
    pub issuing_authority: Option<String>,
    /// Its country (ISO 3166-1 or 3166-2), when given.
    pub issuing_country: Option<String>,
}

/// A VICAL's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vical {
    /// `version` ("1.0").
    pub version: String,
    /// `vicalProvider`.
    pub provider: String,
    /// `date`: when it was issued.
    pub date: OffsetDateTime,
    /// `vicalIssueID`, when given (monotonically increasing).
    pub issue_id: Option<u64>,
    /// `nextUpdate`, when given: after it the list is stale and refused.
    pub next_update: Option<OffsetDateTime>,
    /// The IACAs.
    pub entries: Vec<VicalEntry>,
}

impl Vical {
    /// Signs the list as a COSE_Sign1 by `signer`, whose certificate (with EKU
    /// 1.0.18013.5.1.8) leads `chain` in the unprotected `x5chain`.
    ///
    /// # Errors
    /// [`MdocError::InvalidInput`] for an empty chain, a chain not led by the signer's key, an
    /// entry without a docType or a subject key identifier; signer failures.
    pub fn sign(&self, signer: &dyn Signer, chain: &[Certificate]) -> Result<Vec<u8>, MdocError> {
        match chain.first() {
            Some(leaf) if leaf.public_key() == signer.public_key() => {}
            _ => {
                return Err(MdocError::InvalidInput(
                    "the VICAL signer's certificate must lead the chain",
                ));
            }
        }
        let mut e = Encoder::with_capacity(1024);
        let fields =
            4 + usize::from(self.issue_id.is_some()) + usize::from(self.next_update.is_some());
        e.map(fields)
            .text("version")
            .text(&self.version)
            .text("vicalProvider")
            .text(&self.provider)
            .text("date")
            .tag(0)
            .text(&format_tdate(self.date));
        if let Some(id) = self.issue_id {
            e.text("vicalIssueID").uint(id);
        }
        if let Some(next) = self.next_update {
            e.text("nextUpdate").tag(0).text(&format_tdate(next));
        }
        e.text("certificateInfos").array(self.entries.len());
        for entry in &self.entries {
            if entry.doc_types.is_empty() {
                return Err(MdocError::InvalidInput("a VICAL entry needs a docType"));
            }
            let ski = entry
                .certificate
                .subject_key_identifier()
                .ok_or(MdocError::InvalidInput(
                    "a VICAL entry's certificate needs a subject key identifier",
                ))?;
            let n = 4
                + usize::from(entry.issuing_authority.is_some())
                + usize::from(entry.issuing_country.is_some());
            e.map(n)
                .text("certificate")
                .bytes(entry.certificate.der())
                .text("serialNumber")
                .tag(2)
                .bytes(entry.certificate.serial())
                .text("ski")
                .bytes(ski)
                .text("docType")
                .array(entry.doc_types.len());
            for doc_type in &entry.doc_types {
                e.text(doc_type);
            }
            if let Some(authority) = &entry.issuing_authority {
                e.text("issuingAuthority").text(authority);
            }
            if let Some(country) = &entry.issuing_country {
                e.text("issuingCountry").text(country);
            }
        }
        let (_, bytes) = sign1(signer, x5chain_header(chain), Some(e.finish()), None)?;
        Ok(bytes)
    }

    /// Reads and verifies a signed VICAL: its signer's chain validated by `anchors` at `at`
    /// for VICAL signing (EKU 1.0.18013.5.1.8), the COSE signature under the signer's key
    /// through `provider`, then the list itself (every entry a CA certificate whose serial and
    /// subject key identifier are the ones listed, at least one docType); a list past its
    /// `nextUpdate` is refused.
    ///
    /// # Errors
    /// [`MdocError::Vical`] naming what failed, [`MdocError::Cbor`] and
    /// [`MdocError::Malformed`] for what does not parse.
    pub fn verify(
        bytes: &[u8],
        anchors: &TrustStore,
        at: OffsetDateTime,
        provider: &CryptoProvider,
    ) -> Result<Self, MdocError> {
        if bytes.len() > MAX_VICAL_BYTES {
            return Err(MdocError::Vical("larger than 4 MiB"));
        }
        let limits = CborLimits {
            max_input_bytes: MAX_VICAL_BYTES,
            ..CborLimits::default()
        };
        let item = crate::cbor::decode(bytes, &limits)?;
        let signed = parse_sign1(&item, "VICAL")?;
        let chain = x5chain(&signed).ok_or(MdocError::Vical("no x5chain"))?;
        let chain: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
        let validated = anchors
            .validate_der(&chain, at, KeyPurpose::VicalSigner)
            .map_err(|_| MdocError::Vical("the signer does not chain to a VICAL anchor"))?;
        verify_sign1(
            &signed,
            &validated.leaf_key,
            None,
            &Algorithm::ALL,
            provider.signature_verifier,
        )
        .map_err(|f| match f {
            Sign1Failure::Crypto(e) => MdocError::Crypto(e),
            _ => MdocError::Vical("the signature does not verify"),
        })?;
        let payload = signed
            .payload
            .as_deref()
            .ok_or(MdocError::Vical("no payload"))?;
        let item = crate::cbor::decode(payload, &limits)?;
        let f = Fields::new(&item, "VICAL")?;
        let next_update = f
            .opt("nextUpdate")
            .map(|t| parse_tdate(t, &f.path("nextUpdate")))
            .transpose()?;
        if next_update.is_some_and(|next| next <= at) {
            return Err(MdocError::Vical("past its nextUpdate"));
        }
        let mut entries = Vec::new();
        let infos_path = f.path("certificateInfos");
        for (i, info) in array(f.req("certificateInfos")?, &infos_path)?
            .iter()
            .enumerate()
        {
            let path = format!("{infos_path}[{i}]");
            let e = Fields::new(info, &path)?;
            let certificate = Certificate::from_der(e.bytes("certificate")?)
                .map_err(|_| malformed(e.path("certificate"), "an X.509 certificate"))?;
            if !certificate.is_ca() {
                return Err(MdocError::Vical("an entry is not a CA certificate"));
            }
            let serial = e
                .req("serialNumber")?
                .as_tag()
                .filter(|(tag, _)| *tag == 2)
                .and_then(|(_, inner)| inner.as_bytes())
                .ok_or_else(|| malformed(e.path("serialNumber"), "a biguint"))?;
            if serial != certificate.serial() {
                return Err(MdocError::Vical(
                    "an entry's serialNumber is not its certificate's",
                ));
            }
            if Some(e.bytes("ski")?) != certificate.subject_key_identifier() {
                return Err(MdocError::Vical("an entry's ski is not its certificate's"));
            }
            let doc_types = array(e.req("docType")?, &e.path("docType"))?
                .iter()
                .map(|d| {
                    d.as_text()
                        .map(str::to_owned)
                        .ok_or_else(|| malformed(e.path("docType"), "text"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            if doc_types.is_empty() {
                return Err(MdocError::Vical("an entry without a docType"));
            }
            let text = |key: &str| e.opt(key).and_then(|t| t.as_text()).map(str::to_owned);
            entries.push(VicalEntry {
                certificate,
                doc_types,
                issuing_authority: text("issuingAuthority"),
                issuing_country: text("issuingCountry"),
            });
        }
        Ok(Self {
            version: f.text("version")?.to_owned(),
            provider: f.text("vicalProvider")?.to_owned(),
            date: parse_tdate(f.req("date")?, &f.path("date"))?,
            issue_id: f.opt("vicalIssueID").and_then(|i| i.as_uint()),
            next_update,
            entries,
        })
    }

    /// Adds every entry to `store`, scoped to its docTypes (the union with any scope the same
    /// root already has).
    ///
    /// # Errors
    /// What [`TrustStore::add_scoped`] refuses (a root already trusted for anything).
    pub fn add_to(&self, store: &mut TrustStore) -> Result<(), MdocError> {
        for entry in &self.entries {
            store.add_scoped(entry.certificate.clone(), entry.doc_types.clone())?;
        }
        Ok(())
    }
}
