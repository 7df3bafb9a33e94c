//! Issuing the certificates ISO/IEC 18013-5 Annex B profiles — IACA roots, Document Signer
//! certificates, reader roots and reader authentication certificates — signed through a
//! [`Signer`], so the issuing key may stay in an HSM.
//!
//! OpenSSL assembles the TBSCertificate (signed with a throwaway key of the same algorithm, so
//! the algorithm identifiers come out right); the real signature over those exact TBS bytes is
//! then made by the `Signer` and spliced in. The result is checked against the issuer's key
//! before it is returned.

use openssl::asn1::{Asn1Integer, Asn1Object, Asn1OctetString, Asn1Time};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Extension, X509Name, X509NameBuilder};
use time::OffsetDateTime;

use super::certificate::{self, Certificate, EKU_MDL_DS, EKU_MDL_READER_AUTH};
use super::der::{self, tag};
use crate::algorithm::Algorithm;
use crate::error::{CertificateError, CryptoError};
use crate::key::PublicKey;
use crate::random::Random;
use crate::signature::{Signer, raw_ecdsa_to_der};

/// Longest validity of an IACA certificate, in days (Annex B: 20 years).
pub const MAX_IACA_VALIDITY_DAYS: i64 = 20 * 366;
/// Longest validity of a Document Signer certificate, in days (Annex B: 457 days).
pub const MAX_DS_VALIDITY_DAYS: i64 = 457;

/// Which certificate of the Annex B profile to issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertificateKind {
    /// Issuing Authority CA root: self-signed, CA, `keyCertSign` + `cRLSign`, path length 0.
    Iaca,
    /// Document Signer: `digitalSignature`, EKU 1.0.18013.5.1.2, issued by an IACA.
    DocumentSigner,
    /// Reader root: self-signed CA for reader authentication certificates.
    ReaderRoot,
    /// Reader authentication: `digitalSignature`, EKU 1.0.18013.5.1.6, issued by a reader root.
    ReaderAuthentication,
}

impl CertificateKind {
    const fn is_ca(self) -> bool {
        matches!(self, Self::Iaca | Self::ReaderRoot)
    }
}

/// The subject and the parameters of a certificate to issue.
#[derive(Debug, Clone)]
pub struct CertificateParams {
    /// Which profile.
    pub kind: CertificateKind,
    /// Subject country (`C`), ISO 3166-1 alpha-2: `KR`.
    pub country: String,
    /// Subject organization (`O`), if any.
    pub organization: Option<String>,
    /// Subject state or province (`ST`): the issuing subdivision, if any.
    pub state_or_province: Option<String>,
    /// Subject common name (`CN`).
    pub common_name: String,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// The issuer's contact for the IssuerAlternativeName extension, as a URI
    /// (`https://…`) or an e-mail address (`mailto:` is not added; give the bare address).
    pub issuer_alt_name: Option<String>,
    /// CRL distribution point URI, if any.
    pub crl_uri: Option<String>,
}

fn name(params: &CertificateParams) -> Result<X509Name, CryptoError> {
    let mut b = X509NameBuilder::new()?;
    b.append_entry_by_text("C", &params.country)?;
    if let Some(st) = &params.state_or_province {
        b.append_entry_by_text("ST", st)?;
    }
    if let Some(o) = &params.organization {
        b.append_entry_by_text("O", o)?;
    }
    b.append_entry_by_text("CN", &params.common_name)?;
    Ok(b.build())
}

fn profile_error(what: &'static str) -> CryptoError {
    CryptoError::InvalidProfile(what)
}

/// `GeneralNames` with one name: a URI (`[6]`) or an rfc822Name (`[1]`).
fn general_names(text: &str) -> Vec<u8> {
    let name = if text.contains("://") {
        der::encode(0x86, text.as_bytes())
    } else {
        der::encode(0x81, text.as_bytes())
    };
    der::encode(tag::SEQUENCE, &name)
}

/// `CRLDistributionPoints` with one full-name URI.
fn crl_distribution_points(uri: &str) -> Vec<u8> {
    let full_name = der::encode(0xA0, &der::encode(0x86, uri.as_bytes()));
    let dp_name = der::encode(0xA0, &full_name);
    der::encode(tag::SEQUENCE, &der::encode(tag::SEQUENCE, &dp_name))
}

fn raw_extension(oid: &str, critical: bool, value: &[u8]) -> Result<X509Extension, CryptoError> {
    let oid = Asn1Object::from_str(oid)?;
    let value = Asn1OctetString::new_from_bytes(value)?;
    Ok(X509Extension::new_from_der(&oid, critical, &value)?)
}

/// A positive serial number of 16 random bytes (at least 63 bits of entropy, at most 20
/// octets, Annex B).
fn serial(random: &dyn Random) -> Result<Asn1Integer, CryptoError> {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes)?;
    if let Some(first) = bytes.first_mut() {
        *first = (*first & 0x7F) | 0x40;
    }
    Ok(BigNum::from_slice(&bytes)?.to_asn1_integer()?)
}

fn throwaway_key(algorithm: Algorithm) -> Result<(PKey<Private>, MessageDigest), CryptoError> {
    let (key, md) = match algorithm {
        Algorithm::Es256 => (Nid::X9_62_PRIME256V1, MessageDigest::sha256()),
        Algorithm::Es384 => (Nid::SECP384R1, MessageDigest::sha384()),
        Algorithm::Es512 => (Nid::SECP521R1, MessageDigest::sha512()),
        _ => return Ok((PKey::generate_ed25519()?, MessageDigest::null())),
    };
    let group = openssl::ec::EcGroup::from_curve_name(key)?;
    Ok((
        PKey::from_ec_key(openssl::ec::EcKey::generate(&group)?)?,
        md,
    ))
}

/// Issues a certificate of `params.kind` for `subject_key`.
///
/// For the two root kinds the certificate is self-signed: `issuer` must be `None` and
/// `signer.public_key()` must be `subject_key`. For the two leaf kinds `issuer` is the root's
/// certificate and `signer` signs with the root's key.
///
/// # Errors
/// [`CryptoError::InvalidProfile`] when the parameters break the Annex B profile (validity too
/// long, a root with an issuer, a leaf without one, a signer that is not the issuer's key);
/// signer and backend failures.
pub fn issue_certificate(
    params: &CertificateParams,
    subject_key: &PublicKey,
    issuer: Option<&Certificate>,
    signer: &dyn Signer,
    random: &dyn Random,
) -> Result<Certificate, CryptoError> {
    let kind = params.kind;
    let days = (params.not_after - params.not_before).whole_days();
    if params.not_after <= params.not_before {
        return Err(profile_error("notAfter must be after notBefore"));
    }
    let max_days = if kind.is_ca() {
        MAX_IACA_VALIDITY_DAYS
    } else {
        MAX_DS_VALIDITY_DAYS
    };
    if days > max_days {
        return Err(profile_error(
            "validity longer than Annex B allows (20 years for roots, 457 days for leaves)",
        ));
    }
    if params.country.len() != 2 || !params.country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(profile_error("country must be an ISO 3166-1 alpha-2 code"));
    }
    match (kind.is_ca(), issuer) {
        (true, Some(_)) => return Err(profile_error("a root certificate has no issuer")),
        (true, None) if signer.public_key() != subject_key => {
            return Err(profile_error("a root certificate is signed by its own key"));
        }
        (false, None) => return Err(profile_error("a leaf certificate needs an issuer")),
        (false, Some(issuer)) if issuer.public_key() != signer.public_key() => {
            return Err(profile_error(
                "the signer is not the issuer certificate's key",
            ));
        }
        _ => {}
    }

    let subject = name(params)?;
    // The issuing side still builds with OpenSSL (it reads only this issuer's own
    // certificate, never untrusted input); verification reads every certificate with
    // x509-cert.
    let issuer_x509 = issuer.map(|i| X509::from_der(i.der())).transpose()?;
    let mut b = X509::builder()?;
    b.set_version(2)?;
    let serial = serial(random)?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&subject)?;
    match issuer {
        Some(_) => match &issuer_x509 {
            Some(x) => b.set_issuer_name(x.subject_name())?,
            None => b.set_issuer_name(&subject)?,
        },
        None => b.set_issuer_name(&subject)?,
    }
    let subject_pkey = PKey::public_key_from_der(&subject_key.to_spki_der()?)?;
    b.set_pubkey(&subject_pkey)?;
    let asn1_time = |t: OffsetDateTime| -> Result<Asn1Time, CryptoError> {
        // time_t is 64 bits on every target this workspace builds for.
        Ok(Asn1Time::from_unix(t.unix_timestamp())?)
    };
    let (not_before, not_after) = (asn1_time(params.not_before)?, asn1_time(params.not_after)?);
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;

    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(issuer_x509.as_deref(), None))?;
    b.append_extension(ski)?;
    if let Some(issuer) = &issuer_x509 {
        let aki = AuthorityKeyIdentifier::new()
            .keyid(true)
            .build(&b.x509v3_context(Some(issuer), None))?;
        b.append_extension(aki)?;
    }
    if kind.is_ca() {
        b.append_extension(BasicConstraints::new().critical().ca().pathlen(0).build()?)?;
        b.append_extension(
            KeyUsage::new()
                .critical()
                .key_cert_sign()
                .crl_sign()
                .build()?,
        )?;
    } else {
        b.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
        let eku = if kind == CertificateKind::DocumentSigner {
            EKU_MDL_DS
        } else {
            EKU_MDL_READER_AUTH
        };
        b.append_extension(ExtendedKeyUsage::new().critical().other(eku).build()?)?;
    }
    if let Some(ian) = &params.issuer_alt_name {
        b.append_extension(raw_extension("2.5.29.18", false, &general_names(ian))?)?;
    }
    if let Some(uri) = &params.crl_uri {
        b.append_extension(raw_extension(
            "2.5.29.31",
            false,
            &crl_distribution_points(uri),
        )?)?;
    }

    let algorithm = signer.algorithm();
    let (throwaway, md) = throwaway_key(algorithm)?;
    b.sign(&throwaway, md)?;
    let draft = b.build().to_der()?;
    let (tbs, alg) = certificate::split_for_resigning(&draft)?;
    let raw = signer.sign(&tbs)?;
    if raw.len() != algorithm.signature_len() {
        return Err(CryptoError::MalformedSignature {
            expected: algorithm.signature_len(),
            actual: raw.len(),
        });
    }
    let signature = if algorithm == Algorithm::EdDsa {
        raw
    } else {
        raw_ecdsa_to_der(&raw)
    };
    let cert = Certificate::from_der(&certificate::assemble(&tbs, &alg, &signature))?;
    let verifies_under = issuer.unwrap_or(&cert);
    if !cert.signature_verifies(verifies_under, 0, &crate::DefaultVerifier)? {
        return Err(CertificateError::BadSignature { index: 0 }.into());
    }
    Ok(cert)
}
