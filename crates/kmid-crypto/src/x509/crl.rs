//! Certificate revocation lists (RFC 5280 §5): decoded once by RustCrypto `x509-cert`, the
//! signature checked over the TBSCertList as received through a [`SignatureVerifier`], and
//! written by kmid's own DER writer for the issuers it runs.

use core::ops::Range;

use der::{Decode as _, Encode as _, Reader as _, SliceReader};
use time::OffsetDateTime;

use super::certificate::{
    Certificate, assemble, der_error, malformed, raw_ecdsa, signature_algorithm, unix_seconds,
};
use super::der as der_writer;
use crate::algorithm::Algorithm;
use crate::error::{CertificateError, CryptoError};
use crate::signature::{SignatureVerifier, Signer, raw_ecdsa_to_der};

/// The largest CRL read: a list of some thousands of revoked Document Signers.
pub const MAX_CRL_BYTES: usize = 1 << 20;

/// CRL extensions understood (RFC 5280 §5.2): authorityKeyIdentifier and cRLNumber. Any
/// other critical one (an issuing distribution point, a delta-CRL indicator) makes the CRL
/// unusable here rather than misread.
const KNOWN_CRL_EXTENSIONS: [&str; 2] = ["2.5.29.35", "2.5.29.20"];
/// CRL entry extensions understood: the reason code and the invalidity date.
const KNOWN_ENTRY_EXTENSIONS: [&str; 2] = ["2.5.29.21", "2.5.29.24"];

/// A decoded CRL.
#[derive(Clone)]
pub struct Crl {
    der: Vec<u8>,
    tbs: Range<usize>,
    signature_algorithm: Option<Algorithm>,
    signature: Vec<u8>,
    issuer: Vec<u8>,
    this_update: i64,
    next_update: Option<i64>,
    /// The revoked serial numbers' content octets, sorted.
    revoked: Vec<Vec<u8>>,
}

impl core::fmt::Debug for Crl {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Crl")
            .field("this_update", &self.this_update)
            .field("next_update", &self.next_update)
            .field("revoked", &self.revoked.len())
            .finish_non_exhaustive()
    }
}

impl Crl {
    /// Decodes one DER CRL; bytes after it are refused.
    ///
    /// # Errors
    /// [`CertificateError::Malformed`], [`CertificateError::TrailingData`],
    /// [`CertificateError::SignatureAlgorithmMismatch`], and
    /// [`CertificateError::UnsupportedCriticalExtension`] for a critical CRL or entry extension this
    /// crate does not understand.
    pub fn from_der(der: &[u8]) -> Result<Self, CryptoError> {
        if der.len() > MAX_CRL_BYTES {
            return Err(malformed(0, "CRL larger than 1 MiB"));
        }
        let crl: x509_cert::crl::CertificateList =
            x509_cert::crl::CertificateList::from_der(der).map_err(der_error)?;
        let tbs = {
            let mut reader = SliceReader::new(der).map_err(der_error)?;
            let _ = der::Header::decode(&mut reader).map_err(der_error)?;
            let start = usize::try_from(u32::from(reader.position())).unwrap_or(0);
            let raw = reader.tlv_bytes().map_err(der_error)?;
            start..start.saturating_add(raw.len())
        };
        let list = &crl.tbs_cert_list;
        if crl.signature_algorithm != list.signature {
            return Err(CertificateError::SignatureAlgorithmMismatch.into());
        }
        let critical_unknown = |ext: &x509_cert::ext::Extension, known: &[&str]| {
            let oid = ext.extn_id.to_string();
            (ext.critical && !known.contains(&oid.as_str())).then_some(oid)
        };
        for ext in list.crl_extensions.iter().flatten() {
            if let Some(oid) = critical_unknown(ext, &KNOWN_CRL_EXTENSIONS) {
                return Err(
                    CertificateError::UnsupportedCriticalExtension { index: 0, oid }.into(),
                );
            }
        }
        let mut revoked: Vec<Vec<u8>> = Vec::new();
        for entry in list.revoked_certificates.iter().flatten() {
            for ext in entry.crl_entry_extensions.iter().flatten() {
                if let Some(oid) = critical_unknown(ext, &KNOWN_ENTRY_EXTENSIONS) {
                    return Err(
                        CertificateError::UnsupportedCriticalExtension { index: 0, oid }.into(),
                    );
                }
            }
            revoked.push(entry.serial_number.as_bytes().to_vec());
        }
        revoked.sort();
        let signature_algorithm = signature_algorithm(&crl.signature_algorithm);
        let bits = crl
            .signature
            .as_bytes()
            .ok_or_else(|| malformed(0, "signatureValue with unused bits"))?;
        let signature = match signature_algorithm {
            Some(Algorithm::EdDsa) | None => bits.to_vec(),
            Some(ecdsa) => raw_ecdsa(bits, ecdsa).unwrap_or_default(),
        };
        Ok(Self {
            der: der.to_vec(),
            tbs,
            signature_algorithm,
            signature,
            issuer: list.issuer.to_der().map_err(der_error)?,
            this_update: unix_seconds(list.this_update),
            next_update: list.next_update.map(unix_seconds),
            revoked,
        })
    }

    /// The DER as received.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// `thisUpdate`, Unix seconds.
    #[must_use]
    pub const fn this_update(&self) -> i64 {
        self.this_update
    }

    /// `nextUpdate`, Unix seconds, when given.
    #[must_use]
    pub const fn next_update(&self) -> Option<i64> {
        self.next_update
    }

    /// Whether `issuer` issued this CRL: its name is the CRL's issuer, its key usage (when
    /// present) allows `cRLSign`, and its key verifies the signature through `verifier`.
    ///
    /// # Errors
    /// [`CertificateError::CrlIssuer`] naming what does not hold; verifier failures other than
    /// a bad signature.
    pub fn verify(
        &self,
        issuer: &Certificate,
        verifier: &dyn SignatureVerifier,
    ) -> Result<(), CryptoError> {
        if self.issuer != issuer.subject_der() {
            return Err(CertificateError::CrlIssuer("the CRL names another issuer").into());
        }
        if issuer.key_usage().is_some_and(|ku| !ku.crl_sign) {
            return Err(CertificateError::CrlIssuer("the issuer may not sign CRLs").into());
        }
        let algorithm = self.signature_algorithm.ok_or(CertificateError::CrlIssuer(
            "an unsupported signature algorithm",
        ))?;
        if issuer.public_key().algorithm() != algorithm {
            return Err(
                CertificateError::CrlIssuer("the algorithm is not the issuer key's").into(),
            );
        }
        let tbs = self.der.get(self.tbs.clone()).unwrap_or_default();
        match verifier.verify(algorithm, issuer.public_key(), tbs, &self.signature) {
            Ok(()) => Ok(()),
            Err(CryptoError::BadSignature | CryptoError::MalformedSignature { .. }) => {
                Err(CertificateError::CrlIssuer("the signature does not verify").into())
            }
            Err(other) => Err(other),
        }
    }

    /// Whether `cert` (issued by this CRL's issuer) is on the list.
    #[must_use]
    pub fn revokes(&self, cert: &Certificate) -> bool {
        self.revoked
            .binary_search_by(|s| s.as_slice().cmp(cert.serial()))
            .is_ok()
    }

    /// Whether the CRL may be relied on at `now`: issued by then, and `nextUpdate` (required
    /// here: a CRL without one never says when it is stale) not passed.
    #[must_use]
    pub fn current_at(&self, now: i64) -> bool {
        self.this_update <= now && self.next_update.is_some_and(|next| now < next)
    }
}

/// Issues a CRL by `issuer` (whose key `signer` holds) valid from `this_update` to
/// `next_update`, revoking `revoked` (certificates `issuer` issued), numbered `number`.
///
/// # Errors
/// [`CryptoError::InvalidProfile`] for `next_update` not after `this_update`, a signer that is
/// not `issuer`'s key, or a revoked certificate `issuer` did not issue; signer failures.
pub fn issue_crl(
    issuer: &Certificate,
    signer: &dyn Signer,
    this_update: OffsetDateTime,
    next_update: OffsetDateTime,
    revoked: &[&Certificate],
    number: u64,
) -> Result<Crl, CryptoError> {
    use der_writer::tag;
    let profile = |why: &'static str| CryptoError::InvalidProfile(why);
    if next_update <= this_update {
        return Err(profile("nextUpdate must be after thisUpdate"));
    }
    if issuer.public_key() != signer.public_key() {
        return Err(profile("the signer is not the CRL issuer's key"));
    }
    if revoked.iter().any(|c| !c.issued_by_name(issuer)) {
        return Err(profile("a revoked certificate the issuer did not issue"));
    }
    let algorithm = signer.algorithm();
    let alg = super::issue::signature_algorithm(algorithm)?;
    // version v2, signature, issuer, thisUpdate, nextUpdate, revokedCertificates,
    // crlExtensions [0] { cRLNumber }.
    let mut body = der_writer::encode(tag::INTEGER, &[1]);
    body.extend_from_slice(&alg);
    body.extend_from_slice(issuer.subject_der());
    body.extend(super::issue::time(this_update)?);
    body.extend(super::issue::time(next_update)?);
    if !revoked.is_empty() {
        let mut entries = Vec::new();
        for cert in revoked {
            let mut entry = der_writer::encode(tag::INTEGER, cert.serial());
            entry.extend(super::issue::time(this_update)?);
            entries.extend(der_writer::encode(tag::SEQUENCE, &entry));
        }
        body.extend(der_writer::encode(tag::SEQUENCE, &entries));
    }
    let number_bytes = {
        let be = number.to_be_bytes();
        let first = be.iter().position(|b| *b != 0).unwrap_or(be.len() - 1);
        let mut v = be.get(first..).unwrap_or(&[0]).to_vec();
        if v.first().is_some_and(|b| b & 0x80 != 0) {
            v.insert(0, 0);
        }
        v
    };
    let extensions = super::issue::extension(
        "2.5.29.20",
        false,
        &der_writer::encode(tag::INTEGER, &number_bytes),
    )?;
    body.extend(der_writer::encode(
        0xA0,
        &der_writer::encode(tag::SEQUENCE, &extensions),
    ));
    let tbs = der_writer::encode(tag::SEQUENCE, &body);
    let raw = signer.sign(&tbs)?;
    let signature = if algorithm == Algorithm::EdDsa {
        raw
    } else {
        raw_ecdsa_to_der(&raw)
    };
    Crl::from_der(&assemble(&tbs, &alg, &signature))
}
