//! A parsed X.509 certificate with the extensions path validation needs.
//!
//! Every certificate is decoded once, by RustCrypto's `x509-cert` (strict DER: minimal
//! lengths, no indefinite lengths, canonical BOOLEAN and INTEGER, no trailing bytes), and every
//! check reads what that decoder produced. The signature is checked over the TBSCertificate
//! bytes as received, through the [`SignatureVerifier`] the caller hands in.
//!
//! ```text
//! Certificate ::= SEQUENCE { tbsCertificate TBSCertificate,
//!                            signatureAlgorithm AlgorithmIdentifier,
//!                            signatureValue BIT STRING }            -- RFC 5280 §4.1
//! ```

use core::fmt;
use core::ops::Range;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::asn1::{ObjectIdentifier, UintRef};
use der::{Decode as _, DecodePem as _, Encode as _, EncodePem as _, Reader as _, SliceReader};

use super::der as der_writer;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage as X509KeyUsage, KeyUsages,
};

use crate::algorithm::Algorithm;
use crate::error::{CertificateError, CryptoError};
use crate::key::{OID_ED25519, PublicKey};
use crate::signature::SignatureVerifier;

/// The ISO/IEC 18013-5 extended key usage of a Document Signer certificate (Annex B.1.4).
pub const EKU_MDL_DS: &str = "1.0.18013.5.1.2";
/// The ISO/IEC 18013-5 extended key usage of an mdoc reader authentication certificate (Annex B.1.7).
pub const EKU_MDL_READER_AUTH: &str = "1.0.18013.5.1.6";
/// The extended key usage of a VICAL signer (ISO/IEC 18013-5 Annex C.1.7.2).
pub const EKU_MDL_VICAL_SIGNER: &str = "1.0.18013.5.1.8";
/// RFC 5280 §4.2.1.12 `id-kp-serverAuth`: TLS server authentication.
pub const EKU_SERVER_AUTH: &str = "1.3.6.1.5.5.7.3.1";
/// The largest certificate accepted, in bytes.
pub const MAX_CERTIFICATE_BYTES: usize = 16 * 1024;

/// `ecdsa-with-SHA256`, `-SHA384`, `-SHA512` (RFC 5758 §3.2); `id-Ed25519` is `key.rs`'s.
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_ECDSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
/// `commonName` and `countryName` (X.520).
const OID_CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_COUNTRY: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.6");

const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";
const OID_KEY_USAGE: &str = "2.5.29.15";
const OID_EXT_KEY_USAGE: &str = "2.5.29.37";
const OID_SUBJECT_KEY_ID: &str = "2.5.29.14";
const OID_CRL_DISTRIBUTION_POINTS: &str = "2.5.29.31";
const OID_SUBJECT_ALT_NAME: &str = "2.5.29.17";
const OID_AUTHORITY_KEY_ID: &str = "2.5.29.35";
/// More subject alternative names than any certificate of this profile carries.
const MAX_ALT_NAMES: usize = 64;
/// Extensions this validator understands or may safely ignore when critical: subject and
/// authority key identifiers, alternative names, CRL distribution points, policies, name
/// constraints are *not* here (a critical one is refused).
const KNOWN_EXTENSIONS: &[&str] = &[
    OID_BASIC_CONSTRAINTS,
    OID_KEY_USAGE,
    OID_EXT_KEY_USAGE,
    "2.5.29.14",         // subjectKeyIdentifier
    "2.5.29.35",         // authorityKeyIdentifier
    "2.5.29.17",         // subjectAltName
    "2.5.29.18",         // issuerAltName
    "2.5.29.31",         // cRLDistributionPoints
    "2.5.29.32",         // certificatePolicies
    "1.3.6.1.5.5.7.1.1", // authorityInfoAccess
];
/// More extensions than any certificate of this profile carries.
const MAX_EXTENSIONS: usize = 32;

/// Key usage bits (RFC 5280 §4.2.1.3) this crate checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyUsage {
    /// `digitalSignature` (bit 0).
    pub digital_signature: bool,
    /// `keyCertSign` (bit 5).
    pub key_cert_sign: bool,
    /// `cRLSign` (bit 6).
    pub crl_sign: bool,
}

/// The extensions read from a certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Extensions {
    /// `Some((ca, path_len))` when basicConstraints is present.
    pub(crate) basic_constraints: Option<(bool, Option<u32>)>,
    pub(crate) key_usage: Option<KeyUsage>,
    pub(crate) extended_key_usage: Option<Vec<String>>,
    /// The first critical extension this validator does not understand.
    pub(crate) unknown_critical: Option<String>,
    /// The first extension that appears twice.
    pub(crate) duplicate: Option<String>,
    /// subjectKeyIdentifier, when present.
    pub(crate) subject_key_id: Option<Vec<u8>>,
    /// The first full-name URI of cRLDistributionPoints, when present.
    pub(crate) crl_uri: Option<String>,
    /// The dNSName entries of subjectAltName.
    pub(crate) dns_names: Vec<String>,
    /// The keyIdentifier of authorityKeyIdentifier, when present.
    pub(crate) authority_key_id: Option<Vec<u8>>,
}

/// An X.509 certificate, decoded once: the DER as received, the TBSCertificate's place in it,
/// the signature, the names, the public key and the extensions validation needs.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    /// Where TBSCertificate is in `der`: the signed bytes, as received.
    tbs: Range<usize>,
    /// `None` for a signature algorithm this crate does not verify (refused when the
    /// signature is checked, with the certificate's place in its chain).
    signature_algorithm: Option<Algorithm>,
    /// The signature, raw (`r ‖ s` for ECDSA, as [`SignatureVerifier`] takes it); empty when
    /// the ECDSA-Sig-Value does not fit the algorithm (it cannot verify).
    signature: Vec<u8>,
    /// The DER of the issuer and subject Names, compared byte for byte (RFC 5280 §7.1 allows
    /// a stricter comparison than its case-folding rules; a chain's issuer writes the subject
    /// of the certificate above it by copying it).
    issuer: Vec<u8>,
    subject: Vec<u8>,
    common_name: Option<String>,
    country: Option<String>,
    public_key: PublicKey,
    pub(crate) extensions: Extensions,
    /// The serial number's content octets, as encoded.
    serial: Vec<u8>,
    not_before: i64,
    not_after: i64,
}

/// `der` errors as this crate's, with the byte offset the decoder reached.
pub(crate) fn der_error(e: der::Error) -> CryptoError {
    let at = e
        .position()
        .and_then(|p| usize::try_from(u32::from(p)).ok())
        .unwrap_or(0);
    let what = match e.kind() {
        der::ErrorKind::TrailingData { decoded, remaining } => {
            let _ = decoded;
            return CertificateError::TrailingData(
                usize::try_from(u32::from(remaining)).unwrap_or(usize::MAX),
            )
            .into();
        }
        // der reports a length in more octets than needed as `Length { tag }`.
        der::ErrorKind::Overlength | der::ErrorKind::Overflow | der::ErrorKind::Length { .. } => {
            "non-minimal or too long DER length"
        }
        der::ErrorKind::IndefiniteLength => "indefinite length in DER",
        der::ErrorKind::Noncanonical { .. } => "a value not in its canonical DER form",
        der::ErrorKind::Incomplete { .. } => "truncated DER",
        der::ErrorKind::TagUnexpected { .. } | der::ErrorKind::TagUnknown { .. } => {
            "an unexpected DER tag"
        }
        der::ErrorKind::OidMalformed => "a malformed OBJECT IDENTIFIER",
        der::ErrorKind::DateTime => "a malformed time",
        der::ErrorKind::NestingDepth => "DER nested too deep",
        _ => "DER that is not a certificate",
    };
    CertificateError::Malformed { at, what }.into()
}

pub(crate) fn malformed(at: usize, what: &'static str) -> CryptoError {
    CertificateError::Malformed { at, what }.into()
}

/// The signature algorithm of an AlgorithmIdentifier whose parameters must be absent
/// (RFC 5758 §3.2, RFC 8410 §3); `None` for any other.
pub(crate) fn signature_algorithm(
    id: &x509_cert::spki::AlgorithmIdentifierOwned,
) -> Option<Algorithm> {
    if id.parameters.is_some() {
        return None;
    }
    match id.oid {
        OID_ECDSA_SHA256 => Some(Algorithm::Es256),
        OID_ECDSA_SHA384 => Some(Algorithm::Es384),
        OID_ECDSA_SHA512 => Some(Algorithm::Es512),
        OID_ED25519 => Some(Algorithm::EdDsa),
        _ => None,
    }
}

/// The raw `r ‖ s` of a DER ECDSA-Sig-Value (RFC 5480 §2.2.3), each integer left-padded to the
/// curve's coordinate length; `None` when it is not exactly one such SEQUENCE or an integer
/// is too long (such a signature cannot verify).
pub(crate) fn raw_ecdsa(der: &[u8], algorithm: Algorithm) -> Option<Vec<u8>> {
    let half = algorithm.signature_len() / 2;
    let mut reader = SliceReader::new(der).ok()?;
    let (r, s) = reader
        .sequence(|seq| Ok::<_, der::Error>((UintRef::decode(seq)?, UintRef::decode(seq)?)))
        .ok()?;
    reader.finish().ok()?;
    let mut out = vec![0u8; algorithm.signature_len()];
    for (value, slot) in [(r, 0..half), (s, half..half.saturating_mul(2))] {
        let bytes = value.as_bytes();
        let target = out.get_mut(slot)?;
        let start = target.len().checked_sub(bytes.len())?;
        target.get_mut(start..)?.copy_from_slice(bytes);
    }
    Some(out)
}

/// The first value of attribute `oid` in `name`, as text (any of the DirectoryString forms, or
/// PrintableString for a country).
fn attribute(name: &x509_cert::name::Name, oid: ObjectIdentifier) -> Option<String> {
    let value = &name.iter().find(|atv| atv.oid == oid)?.value;
    if let Ok(s) = value.decode_as::<x509_cert::ext::pkix::name::DirectoryString>() {
        return Some(String::from(s));
    }
    value
        .decode_as::<der::asn1::Ia5StringRef<'_>>()
        .ok()
        .map(|s| s.to_string())
}

/// A time as Unix seconds.
pub(crate) fn unix_seconds(t: x509_cert::time::Time) -> i64 {
    i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

impl Certificate {
    /// Decodes one DER certificate; bytes after it are refused.
    ///
    /// # Errors
    /// [`CertificateError::Malformed`] (with the byte offset the decoder reached),
    /// [`CertificateError::TrailingData`], [`CertificateError::SignatureAlgorithmMismatch`],
    /// [`CertificateError::NegativeSerial`], or [`CertificateError::Key`] for a key this
    /// crate does not support.
    pub fn from_der(der: &[u8]) -> Result<Self, CryptoError> {
        if der.len() > MAX_CERTIFICATE_BYTES {
            return Err(malformed(0, "certificate larger than 16 KiB"));
        }
        let cert = x509_cert::Certificate::from_der(der).map_err(der_error)?;
        // The TBSCertificate bytes as received: the first TLV inside the outer SEQUENCE.
        let tbs = {
            let mut reader = SliceReader::new(der).map_err(der_error)?;
            let header = der::Header::decode(&mut reader).map_err(der_error)?;
            let _ = header;
            let start = usize::try_from(u32::from(reader.position())).unwrap_or(0);
            let raw = reader.tlv_bytes().map_err(der_error)?;
            start..start.saturating_add(raw.len())
        };
        let tbs_cert = cert.tbs_certificate();
        // RFC 5280 §4.1.1.2: signatureAlgorithm MUST equal the TBSCertificate's signature.
        if cert.signature_algorithm() != tbs_cert.signature() {
            return Err(CertificateError::SignatureAlgorithmMismatch.into());
        }
        // RFC 5280 §4.1.2.2: a positive integer (x509-cert keeps the sign as encoded).
        if tbs_cert
            .serial_number()
            .as_bytes()
            .first()
            .is_some_and(|b| b & 0x80 != 0)
        {
            return Err(CertificateError::NegativeSerial.into());
        }
        let signature_algorithm = signature_algorithm(cert.signature_algorithm());
        let signature_bits = cert
            .signature()
            .as_bytes()
            .ok_or_else(|| malformed(0, "signatureValue with unused bits"))?;
        let signature = match signature_algorithm {
            Some(Algorithm::EdDsa) | None => signature_bits.to_vec(),
            Some(ecdsa) => raw_ecdsa(signature_bits, ecdsa).unwrap_or_default(),
        };
        let public_key = PublicKey::from_spki(tbs_cert.subject_public_key_info())
            .map_err(|source| CertificateError::Key { index: 0, source })?;
        let extensions = read_extensions(tbs_cert.extensions().map(Vec::as_slice))?;
        let validity = tbs_cert.validity();
        Ok(Self {
            der: der.to_vec(),
            tbs,
            signature_algorithm,
            signature,
            issuer: tbs_cert.issuer().to_der().map_err(der_error)?,
            subject: tbs_cert.subject().to_der().map_err(der_error)?,
            common_name: attribute(tbs_cert.subject(), OID_CN),
            country: attribute(tbs_cert.subject(), OID_COUNTRY),
            public_key,
            extensions,
            serial: tbs_cert.serial_number().as_bytes().to_vec(),
            not_before: unix_seconds(validity.not_before),
            not_after: unix_seconds(validity.not_after),
        })
    }

    /// The serial number's content octets, as encoded.
    #[must_use]
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// The CRL distribution point (the first full-name URI of cRLDistributionPoints).
    #[must_use]
    pub fn crl_uri(&self) -> Option<&str> {
        self.extensions.crl_uri.as_deref()
    }

    /// The dNSName entries of subjectAltName, as written (OpenID4VP's `x509_san_dns` Client
    /// Identifier Prefix matches one of them).
    #[must_use]
    pub fn dns_names(&self) -> &[String] {
        &self.extensions.dns_names
    }

    /// The keyIdentifier of authorityKeyIdentifier, when present (DCQL `trusted_authorities`
    /// of type `aki` match it).
    #[must_use]
    pub fn authority_key_identifier(&self) -> Option<&[u8]> {
        self.extensions.authority_key_id.as_deref()
    }

    /// Whether the subject and the issuer are the same name: a root, or a certificate HAIP
    /// refuses as a request signer ("MUST NOT be self-signed").
    #[must_use]
    pub fn is_self_issued(&self) -> bool {
        self.subject == self.issuer
    }

    /// Parses a PEM `CERTIFICATE` block.
    ///
    /// # Errors
    /// As [`Self::from_der`], or PEM that does not decode.
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let cert = x509_cert::Certificate::from_pem(pem.trim().as_bytes())
            .map_err(|_| malformed(0, "PEM CERTIFICATE block"))?;
        Self::from_der(&cert.to_der().map_err(der_error)?)
    }

    /// Parses one `x5c` entry: standard base64 of the DER (RFC 7515 §4.1.6).
    ///
    /// # Errors
    /// As [`Self::from_der`], or malformed base64.
    pub fn from_x5c_entry(entry: &str) -> Result<Self, CryptoError> {
        Self::from_der(&Self::x5c_entry_der(entry)?)
    }

    /// The DER bytes of one `x5c` entry, not parsed (for [`TrustStore::validate_der`], which
    /// parses only what it has not validated before).
    ///
    /// [`TrustStore::validate_der`]: super::TrustStore::validate_der
    ///
    /// # Errors
    /// An entry over the certificate size limit, or malformed base64.
    pub fn x5c_entry_der(entry: &str) -> Result<Vec<u8>, CryptoError> {
        if entry.len() > MAX_CERTIFICATE_BYTES.saturating_mul(4) / 3 + 4 {
            return Err(malformed(0, "certificate larger than 16 KiB"));
        }
        STANDARD
            .decode(entry)
            .map_err(|_| malformed(0, "x5c entry that is not standard base64"))
    }

    /// The certificate as an `x5c` entry.
    #[must_use]
    pub fn to_x5c_entry(&self) -> String {
        base64_simd::STANDARD.encode_to_string(&self.der)
    }

    /// PEM `CERTIFICATE` (RFC 7468).
    ///
    /// # Errors
    /// Only encoding failures.
    pub fn to_pem(&self) -> Result<String, CryptoError> {
        x509_cert::Certificate::from_der(&self.der)
            .and_then(|c| c.to_pem(der::pem::LineEnding::LF))
            .map_err(der_error)
    }

    /// The DER as received.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The TBSCertificate as received: the bytes the issuer signed.
    #[must_use]
    pub fn tbs_der(&self) -> &[u8] {
        self.der.get(self.tbs.clone()).unwrap_or_default()
    }

    /// The subject's public key.
    #[must_use]
    pub const fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// notBefore, as Unix seconds.
    #[must_use]
    pub const fn not_before(&self) -> i64 {
        self.not_before
    }

    /// notAfter, as Unix seconds.
    #[must_use]
    pub const fn not_after(&self) -> i64 {
        self.not_after
    }

    /// Whether basicConstraints says this is a CA.
    #[must_use]
    pub fn is_ca(&self) -> bool {
        matches!(self.extensions.basic_constraints, Some((true, _)))
    }

    /// The key usage bits, if the extension is present.
    #[must_use]
    pub const fn key_usage(&self) -> Option<KeyUsage> {
        self.extensions.key_usage
    }

    /// The extended key usage OIDs, if the extension is present.
    #[must_use]
    pub fn extended_key_usage(&self) -> Option<&[String]> {
        self.extensions.extended_key_usage.as_deref()
    }

    /// The subject's common name, if any.
    #[must_use]
    pub fn common_name(&self) -> Option<String> {
        self.common_name.clone()
    }

    /// The subject's country (`C`), if any.
    #[must_use]
    pub fn country(&self) -> Option<String> {
        self.country.clone()
    }

    /// The subjectKeyIdentifier (RFC 5280 §4.2.1.2), if the extension is present.
    #[must_use]
    pub fn subject_key_identifier(&self) -> Option<&[u8]> {
        self.extensions.subject_key_id.as_deref()
    }

    /// The DER of the subject Name.
    #[must_use]
    pub fn subject_der(&self) -> &[u8] {
        &self.subject
    }

    /// The DER of the issuer Name.
    #[must_use]
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer
    }

    /// Whether the issuer name of `self` equals the subject name of `issuer`.
    pub(crate) fn issued_by_name(&self, issuer: &Self) -> bool {
        self.issuer == issuer.subject
    }

    /// Whether `issuer`'s key verifies this certificate's signature, with an accepted
    /// algorithm, through `verifier`.
    pub(crate) fn signature_verifies(
        &self,
        issuer: &Self,
        index: usize,
        verifier: &dyn SignatureVerifier,
    ) -> Result<bool, CryptoError> {
        let algorithm = self
            .signature_algorithm
            .ok_or(CertificateError::UnsupportedSignatureAlgorithm { index })?;
        if issuer.public_key.algorithm() != algorithm {
            return Ok(false);
        }
        match verifier.verify(
            algorithm,
            &issuer.public_key,
            self.tbs_der(),
            &self.signature,
        ) {
            Ok(()) => Ok(true),
            Err(CryptoError::BadSignature | CryptoError::MalformedSignature { .. }) => Ok(false),
            Err(other) => Err(other),
        }
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject_cn", &self.common_name())
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("ca", &self.is_ca())
            .finish_non_exhaustive()
    }
}

/// Reads the extensions validation needs, each decoded by `x509-cert`'s own types.
fn read_extensions(list: Option<&[x509_cert::ext::Extension]>) -> Result<Extensions, CryptoError> {
    let mut ext = Extensions::default();
    let Some(list) = list else {
        return Ok(ext);
    };
    if list.len() > MAX_EXTENSIONS {
        return Err(malformed(0, "more than 32 extensions"));
    }
    let mut seen: Vec<ObjectIdentifier> = Vec::with_capacity(list.len());
    for item in list {
        let oid = item.extn_id;
        if seen.contains(&oid) {
            ext.duplicate.get_or_insert_with(|| oid.to_string());
        }
        seen.push(oid);
        let value = item.extn_value.as_bytes();
        let text = oid.to_string();
        match text.as_str() {
            OID_BASIC_CONSTRAINTS => {
                let bc = BasicConstraints::from_der(value).map_err(der_error)?;
                ext.basic_constraints = Some((bc.ca, bc.path_len_constraint.map(u32::from)));
            }
            OID_KEY_USAGE => {
                let ku = X509KeyUsage::from_der(value).map_err(der_error)?;
                ext.key_usage = Some(KeyUsage {
                    digital_signature: ku.0.contains(KeyUsages::DigitalSignature),
                    key_cert_sign: ku.0.contains(KeyUsages::KeyCertSign),
                    crl_sign: ku.0.contains(KeyUsages::CRLSign),
                });
            }
            OID_EXT_KEY_USAGE => {
                let eku = ExtendedKeyUsage::from_der(value).map_err(der_error)?;
                if eku.0.len() > 64 {
                    return Err(malformed(0, "more than 64 extended key usages"));
                }
                ext.extended_key_usage = Some(eku.0.iter().map(ToString::to_string).collect());
            }
            OID_SUBJECT_KEY_ID => {
                let id = x509_cert::ext::pkix::SubjectKeyIdentifier::from_der(value)
                    .map_err(der_error)?;
                ext.subject_key_id = Some(id.0.as_bytes().to_vec());
            }
            OID_CRL_DISTRIBUTION_POINTS => {
                use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
                let points = x509_cert::ext::pkix::CrlDistributionPoints::from_der(value)
                    .map_err(der_error)?;
                ext.crl_uri = points
                    .0
                    .iter()
                    .filter_map(|p| match &p.distribution_point {
                        Some(DistributionPointName::FullName(names)) => {
                            names.iter().find_map(|n| match n {
                                GeneralName::UniformResourceIdentifier(uri) => {
                                    Some(uri.to_string())
                                }
                                _ => None,
                            })
                        }
                        _ => None,
                    })
                    .next();
            }
            OID_SUBJECT_ALT_NAME => {
                use x509_cert::ext::pkix::name::GeneralName;
                let names =
                    x509_cert::ext::pkix::SubjectAltName::from_der(value).map_err(der_error)?;
                if names.0.len() > MAX_ALT_NAMES {
                    return Err(malformed(0, "more than 64 subject alternative names"));
                }
                ext.dns_names = names
                    .0
                    .iter()
                    .filter_map(|n| match n {
                        GeneralName::DnsName(dns) => Some(dns.to_string()),
                        _ => None,
                    })
                    .collect();
            }
            OID_AUTHORITY_KEY_ID => {
                let aki = x509_cert::ext::pkix::AuthorityKeyIdentifier::from_der(value)
                    .map_err(der_error)?;
                ext.authority_key_id = aki.key_identifier.map(|k| k.as_bytes().to_vec());
            }
            other if item.critical && !KNOWN_EXTENSIONS.contains(&other) => {
                ext.unknown_critical.get_or_insert(text);
            }
            _ => {}
        }
    }
    Ok(ext)
}

/// Assembles a certificate from TBSCertificate, signatureAlgorithm and a DER signature value.
pub(crate) fn assemble(tbs: &[u8], alg: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut bits = Vec::with_capacity(signature.len().saturating_add(1));
    bits.push(0);
    bits.extend_from_slice(signature);
    let mut body = Vec::with_capacity(
        tbs.len()
            .saturating_add(alg.len())
            .saturating_add(bits.len())
            .saturating_add(8),
    );
    body.extend_from_slice(tbs);
    body.extend_from_slice(alg);
    body.extend(der_writer::encode(der_writer::tag::BIT_STRING, &bits));
    der_writer::encode(der_writer::tag::SEQUENCE, &body)
}
