//! Issuing the certificates ISO/IEC 18013-5 Annex B profiles — IACA roots, Document Signer
//! certificates, reader roots and reader authentication certificates — signed through a
//! [`Signer`], so the issuing key may stay in an HSM.
//!
//! The TBSCertificate is written with our DER writer, field for field as RFC 5280 §4.1 lays it
//! out (and byte for byte as OpenSSL's builder wrote it before: the test PKI did not change);
//! the `Signer` signs those bytes, and the result is decoded and checked against the issuer's
//! key before it is returned. No backend is involved but the signer's and the verifier's.

use sha1::Digest as _;
use time::OffsetDateTime;

use super::certificate::{
    self, Certificate, EKU_MDL_DS, EKU_MDL_READER_AUTH, EKU_MDL_VICAL_SIGNER, EKU_SERVER_AUTH,
};
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
    /// VICAL signer: `digitalSignature`, EKU 1.0.18013.5.1.8 (ISO/IEC 18013-5 Annex C.1.7.2),
    /// issued by the VICAL provider's root (an [`Self::Iaca`]-profile CA).
    VicalSigner,
    /// A JWT signer (a wallet provider's attestation signer, a Credential Issuer's metadata
    /// signer): `digitalSignature` and no extended key usage (HAIP 1.0 leaves these profiles
    /// out of scope; the anchor, trusted for one purpose, is what limits it). Issued by a CA
    /// of the [`Self::Iaca`] or [`Self::ReaderRoot`] profile.
    JwtSigner,
    /// A TLS server (RFC 5280 `id-kp-serverAuth`, `digitalSignature`), named by its
    /// `dns_names`: a test deployment's HTTPS certificate (`kmid serve`'s generated one),
    /// issued by a CA of the [`Self::Iaca`] or [`Self::ReaderRoot`] profile.
    TlsServer,
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
    /// subjectAltName dNSName entries (a verifier's access certificate names its hosts:
    /// OpenID4VP `x509_san_dns`); empty for none.
    pub dns_names: Vec<String>,
}

const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const UTF8_STRING: u8 = 0x0C;
const PRINTABLE_STRING: u8 = 0x13;
const SET: u8 = 0x31;

/// The DER of a dotted OID.
pub(crate) fn oid(dotted: &str) -> Result<Vec<u8>, CryptoError> {
    let oid = der_oid(dotted)?;
    Ok(der::encode(OID, oid.as_bytes()))
}

fn der_oid(dotted: &str) -> Result<::der::asn1::ObjectIdentifier, CryptoError> {
    ::der::asn1::ObjectIdentifier::new(dotted).map_err(|_| profile_error("an OID"))
}

/// One RDN with one attribute: `SET { SEQUENCE { type, value } }`.
fn rdn(attribute: &str, string_tag: u8, value: &str) -> Result<Vec<u8>, CryptoError> {
    let mut atv = oid(attribute)?;
    atv.extend(der::encode(string_tag, value.as_bytes()));
    Ok(der::encode(SET, &der::encode(tag::SEQUENCE, &atv)))
}

/// The subject Name: `C` as PrintableString (X.520 requires it), then `ST`, `O` and `CN` as
/// UTF8String (RFC 5280 §4.1.2.6).
fn name(params: &CertificateParams) -> Result<Vec<u8>, CryptoError> {
    if !params
        .country
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b" '()+,-./:=?".contains(&b))
    {
        return Err(profile_error("country must be a PrintableString"));
    }
    let mut body = rdn("2.5.4.6", PRINTABLE_STRING, &params.country)?;
    if let Some(st) = &params.state_or_province {
        body.extend(rdn("2.5.4.8", UTF8_STRING, st)?);
    }
    if let Some(o) = &params.organization {
        body.extend(rdn("2.5.4.10", UTF8_STRING, o)?);
    }
    body.extend(rdn("2.5.4.3", UTF8_STRING, &params.common_name)?);
    Ok(der::encode(tag::SEQUENCE, &body))
}

/// A Time (RFC 5280 §4.1.2.5): UTCTime through 2049, GeneralizedTime from 2050, in seconds,
/// with `Z`.
pub(crate) fn time(t: OffsetDateTime) -> Result<Vec<u8>, CryptoError> {
    let t = t.to_offset(time::UtcOffset::UTC);
    let (y, mo, d, h, mi, s) = (
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    );
    // From 1970: a time before the Unix epoch does not decode back (RFC 5280 allows it; no
    // certificate of this profile needs it).
    if !(1970..=9999).contains(&y) {
        return Err(profile_error("a validity time between 1970 and 9999"));
    }
    Ok(if y < 2050 {
        der::encode(
            0x17,
            format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100).as_bytes(),
        )
    } else {
        der::encode(
            0x18,
            format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z").as_bytes(),
        )
    })
}

/// One Extension: `SEQUENCE { extnID, critical (only when TRUE), extnValue }`.
pub(crate) fn extension(id: &str, critical: bool, value: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut body = oid(id)?;
    if critical {
        body.extend([0x01, 0x01, 0xFF]);
    }
    body.extend(der::encode(OCTET_STRING, value));
    Ok(der::encode(tag::SEQUENCE, &body))
}

/// The key identifier of RFC 5280 §4.2.1.2 method (1): the SHA-1 of the subjectPublicKey BIT
/// STRING's bits. An identifier, not a security function.
fn key_identifier(key: &PublicKey) -> Vec<u8> {
    let bits = key
        .to_sec1_uncompressed()
        .unwrap_or_else(|| key.x().to_vec());
    sha1::Sha1::digest(&bits).to_vec()
}

/// The AlgorithmIdentifier of `algorithm`'s signatures, parameters absent (RFC 5758 §3.2,
/// RFC 8410 §3).
pub(crate) fn signature_algorithm(algorithm: Algorithm) -> Result<Vec<u8>, CryptoError> {
    let id = match algorithm {
        Algorithm::Es256 => "1.2.840.10045.4.3.2",
        Algorithm::Es384 => "1.2.840.10045.4.3.3",
        Algorithm::Es512 => "1.2.840.10045.4.3.4",
        _ => "1.3.101.112",
    };
    Ok(der::encode(tag::SEQUENCE, &oid(id)?))
}

fn profile_error(what: &'static str) -> CryptoError {
    CryptoError::InvalidProfile(what)
}

/// `GeneralNames` with one name: a URI (`[6]`) or an rfc822Name (`[1]`), both IA5String.
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

/// A positive serial number of 16 random bytes (at least 63 bits of entropy, at most 20
/// octets, Annex B), its first bit clear and its second set, so it needs no padding.
fn serial(random: &dyn Random) -> Result<Vec<u8>, CryptoError> {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes)?;
    if let Some(first) = bytes.first_mut() {
        *first = (*first & 0x7F) | 0x40;
    }
    Ok(der::encode(tag::INTEGER, &bytes))
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
    // IssuerAlternativeName and the CRL distribution point are IA5String: ASCII only.
    let ia5 = |t: &Option<String>| t.as_deref().is_none_or(|t| t.is_ascii() && !t.is_empty());
    let dns = |d: &String| {
        !d.is_empty()
            && d.len() <= 253
            && d.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    };
    if !params.dns_names.iter().all(dns) {
        return Err(profile_error("a DNS name must be an ASCII host name"));
    }
    if !ia5(&params.issuer_alt_name) || !ia5(&params.crl_uri) {
        return Err(profile_error(
            "the issuer's alternative name and the CRL URI must be non-empty ASCII",
        ));
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
    let issuer_name = issuer.map_or_else(|| subject.clone(), |i| i.subject_der().to_vec());
    let algorithm = signer.algorithm();
    let alg = signature_algorithm(algorithm)?;

    let mut extensions = extension(
        "2.5.29.14",
        false,
        &der::encode(OCTET_STRING, &key_identifier(subject_key)),
    )?;
    if let Some(issuer) = issuer {
        let id = issuer
            .subject_key_identifier()
            .map_or_else(|| key_identifier(issuer.public_key()), <[u8]>::to_vec);
        extensions.extend(extension(
            "2.5.29.35",
            false,
            &der::encode(tag::SEQUENCE, &der::encode(0x80, &id)),
        )?);
    }
    if kind.is_ca() {
        // cA TRUE, pathLenConstraint 0; keyCertSign (bit 5) and cRLSign (bit 6).
        extensions.extend(extension(
            "2.5.29.19",
            true,
            &[0x30, 0x06, 0x01, 0x01, 0xFF, 0x02, 0x01, 0x00],
        )?);
        extensions.extend(extension("2.5.29.15", true, &[0x03, 0x02, 0x01, 0x06])?);
    } else {
        // digitalSignature (bit 0).
        extensions.extend(extension("2.5.29.15", true, &[0x03, 0x02, 0x07, 0x80])?);
        let eku = match kind {
            CertificateKind::DocumentSigner => Some(EKU_MDL_DS),
            CertificateKind::VicalSigner => Some(EKU_MDL_VICAL_SIGNER),
            CertificateKind::JwtSigner => None,
            CertificateKind::TlsServer => Some(EKU_SERVER_AUTH),
            _ => Some(EKU_MDL_READER_AUTH),
        };
        if let Some(eku) = eku {
            extensions.extend(extension(
                "2.5.29.37",
                true,
                &der::encode(tag::SEQUENCE, &oid(eku)?),
            )?);
        }
    }
    if let Some(ian) = &params.issuer_alt_name {
        extensions.extend(extension("2.5.29.18", false, &general_names(ian))?);
    }
    if !params.dns_names.is_empty() {
        let mut names = Vec::new();
        for dns in &params.dns_names {
            names.extend(der::encode(0x82, dns.as_bytes()));
        }
        extensions.extend(extension(
            "2.5.29.17",
            false,
            &der::encode(tag::SEQUENCE, &names),
        )?);
    }
    if let Some(uri) = &params.crl_uri {
        extensions.extend(extension(
            "2.5.29.31",
            false,
            &crl_distribution_points(uri),
        )?);
    }

    let mut validity = time(params.not_before)?;
    validity.extend(time(params.not_after)?);
    // version [0] EXPLICIT v3, serialNumber, signature, issuer, validity, subject,
    // subjectPublicKeyInfo, extensions [3] EXPLICIT.
    let mut body = vec![0xA0, 0x03, 0x02, 0x01, 0x02];
    body.extend(serial(random)?);
    body.extend_from_slice(&alg);
    body.extend(issuer_name);
    body.extend(der::encode(tag::SEQUENCE, &validity));
    body.extend(subject);
    body.extend(subject_key.to_spki_der()?);
    body.extend(der::encode(0xA3, &der::encode(tag::SEQUENCE, &extensions)));
    let tbs = der::encode(tag::SEQUENCE, &body);
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
