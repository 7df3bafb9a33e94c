//! A parsed X.509 certificate with the extensions path validation needs.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::nid::Nid;
use openssl::x509::X509;

use super::der::{self, Reader, Tlv, tag};
use crate::error::{CertificateError, CryptoError, KeyError};
use crate::key::PublicKey;

/// The ISO/IEC 18013-5 extended key usage of a Document Signer certificate (Annex B.1.4).
pub const EKU_MDL_DS: &str = "1.0.18013.5.1.2";
/// The ISO/IEC 18013-5 extended key usage of an mdoc reader authentication certificate (Annex B.1.7).
pub const EKU_MDL_READER_AUTH: &str = "1.0.18013.5.1.6";
/// The largest certificate accepted, in bytes.
pub const MAX_CERTIFICATE_BYTES: usize = 16 * 1024;

/// `id-Ed25519` (RFC 8410); the binding names no constant for it.
const NID_ED25519: Nid = Nid::from_raw(1087);

const OID_BASIC_CONSTRAINTS: &str = "2.5.29.19";
const OID_KEY_USAGE: &str = "2.5.29.15";
const OID_EXT_KEY_USAGE: &str = "2.5.29.37";
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
}

/// An X.509 certificate, parsed once: the DER as received, the OpenSSL object, the public key
/// and the extensions validation needs.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    pub(crate) x509: X509,
    public_key: PublicKey,
    pub(crate) extensions: Extensions,
    not_before: i64,
    not_after: i64,
}

fn unix_seconds(t: &Asn1TimeRef) -> Result<i64, CryptoError> {
    let epoch = Asn1Time::from_unix(0)?;
    let diff = epoch.diff(t)?;
    Ok(i64::from(diff.days)
        .saturating_mul(86_400)
        .saturating_add(i64::from(diff.secs)))
}

fn malformed(at: usize, what: &'static str) -> CryptoError {
    CertificateError::Malformed { at, what }.into()
}

impl Certificate {
    /// Parses one DER certificate; bytes after it are refused.
    ///
    /// # Errors
    /// [`CertificateError::Malformed`], [`CertificateError::TrailingData`], or
    /// [`CertificateError::Key`] for a key this crate does not support.
    pub fn from_der(der: &[u8]) -> Result<Self, CryptoError> {
        if der.len() > MAX_CERTIFICATE_BYTES {
            return Err(malformed(0, "certificate larger than 16 KiB"));
        }
        let mut outer = Reader::new(der);
        let cert = outer.expect(tag::SEQUENCE, "Certificate SEQUENCE")?;
        if !outer.is_empty() {
            return Err(
                CertificateError::TrailingData(der.len().saturating_sub(cert.raw.len())).into(),
            );
        }
        let extensions = read_extensions(&cert)?;
        let x509 = X509::from_der(der)
            .map_err(|_| malformed(0, "certificate that OpenSSL cannot parse"))?;
        let pkey = x509.public_key().map_err(|_| CertificateError::Key {
            index: 0,
            source: KeyError::Encoding("SubjectPublicKeyInfo"),
        })?;
        let public_key = PublicKey::from_pkey(&pkey).map_err(|e| match e {
            CryptoError::InvalidKey(source) => CertificateError::Key { index: 0, source }.into(),
            other => other,
        })?;
        let not_before = unix_seconds(x509.not_before())?;
        let not_after = unix_seconds(x509.not_after())?;
        Ok(Self {
            der: der.to_vec(),
            x509,
            public_key,
            extensions,
            not_before,
            not_after,
        })
    }

    /// Parses a PEM `CERTIFICATE` block.
    ///
    /// # Errors
    /// As [`Self::from_der`].
    pub fn from_pem(pem: &str) -> Result<Self, CryptoError> {
        let x509 =
            X509::from_pem(pem.as_bytes()).map_err(|_| malformed(0, "PEM CERTIFICATE block"))?;
        Self::from_der(&x509.to_der()?)
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
        STANDARD.encode(&self.der)
    }

    /// PEM `CERTIFICATE`.
    ///
    /// # Errors
    /// Only backend failures.
    pub fn to_pem(&self) -> Result<String, CryptoError> {
        String::from_utf8(self.x509.to_pem()?).map_err(|_| malformed(0, "PEM"))
    }

    /// The DER as received.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        &self.der
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
        self.x509
            .subject_name()
            .entries_by_nid(Nid::COMMONNAME)
            .next()
            .and_then(|e| e.data().to_string().ok())
    }

    /// The subject's country (`C`), if any.
    #[must_use]
    pub fn country(&self) -> Option<String> {
        self.x509
            .subject_name()
            .entries_by_nid(Nid::COUNTRYNAME)
            .next()
            .and_then(|e| e.data().to_string().ok())
    }

    /// Whether the issuer name of `self` equals the subject name of `issuer`.
    pub(crate) fn issued_by_name(&self, issuer: &Self) -> bool {
        self.x509
            .issuer_name()
            .try_cmp(issuer.x509.subject_name())
            .map(|o| o.is_eq())
            .unwrap_or(false)
    }

    /// Whether `issuer`'s key verifies this certificate's signature, with an accepted algorithm.
    pub(crate) fn signature_verifies(
        &self,
        issuer: &Self,
        index: usize,
    ) -> Result<bool, CryptoError> {
        let nid = self.x509.signature_algorithm().object().nid();
        if ![
            Nid::ECDSA_WITH_SHA256,
            Nid::ECDSA_WITH_SHA384,
            Nid::ECDSA_WITH_SHA512,
            NID_ED25519,
        ]
        .contains(&nid)
        {
            return Err(CertificateError::UnsupportedSignatureAlgorithm { index }.into());
        }
        Ok(self.x509.verify(&issuer.public_key.pkey).unwrap_or(false))
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

/// Walks TBSCertificate to its `[3]` extensions and reads the ones validation needs.
fn read_extensions(cert: &Tlv<'_>) -> Result<Extensions, CryptoError> {
    let mut inside = Reader::inside(cert);
    let tbs = inside.expect(tag::SEQUENCE, "TBSCertificate SEQUENCE")?;
    let mut fields = Reader::inside(&tbs);
    let mut ext = Extensions::default();
    while !fields.is_empty() {
        let field = fields.read()?;
        if field.tag != tag::EXTENSIONS {
            continue;
        }
        let mut wrapper = Reader::inside(&field);
        let list = wrapper.expect(tag::SEQUENCE, "Extensions SEQUENCE")?;
        wrapper.finish("bytes after Extensions")?;
        let mut seen: Vec<String> = Vec::new();
        let mut items = Reader::inside(&list);
        while !items.is_empty() {
            let item = items.expect(tag::SEQUENCE, "Extension SEQUENCE")?;
            let mut parts = Reader::inside(&item);
            let oid_tlv = parts.expect(tag::OID, "extnID")?;
            let oid = der::oid_to_string(oid_tlv.value, oid_tlv.value_at)?;
            let mut next = parts.read()?;
            let mut critical = false;
            if next.tag == tag::BOOLEAN {
                critical = match next.value {
                    [0xFF] => true,
                    [0x00] => false,
                    _ => {
                        return Err(malformed(
                            next.value_at,
                            "a BOOLEAN that is neither 00 nor FF",
                        ));
                    }
                };
                next = parts.read()?;
            }
            if next.tag != tag::OCTET_STRING {
                return Err(malformed(next.value_at, "extnValue OCTET STRING"));
            }
            parts.finish("bytes after extnValue")?;
            if seen.contains(&oid) {
                ext.duplicate.get_or_insert(oid.clone());
            }
            match oid.as_str() {
                OID_BASIC_CONSTRAINTS => {
                    ext.basic_constraints = Some(read_basic_constraints(&next)?)
                }
                OID_KEY_USAGE => ext.key_usage = Some(read_key_usage(&next)?),
                OID_EXT_KEY_USAGE => ext.extended_key_usage = Some(read_eku(&next)?),
                other if critical && !KNOWN_EXTENSIONS.contains(&other) => {
                    ext.unknown_critical.get_or_insert_with(|| other.to_owned());
                }
                _ => {}
            }
            seen.push(oid);
        }
    }
    Ok(ext)
}

fn read_basic_constraints(value: &Tlv<'_>) -> Result<(bool, Option<u32>), CryptoError> {
    let mut r = Reader::inside(value);
    let seq = r.expect(tag::SEQUENCE, "BasicConstraints SEQUENCE")?;
    r.finish("bytes after BasicConstraints")?;
    let mut f = Reader::inside(&seq);
    let mut ca = false;
    let mut path_len = None;
    while !f.is_empty() {
        let t = f.read()?;
        match t.tag {
            tag::BOOLEAN => {
                ca = match t.value {
                    [0xFF] => true,
                    [0x00] => false,
                    _ => return Err(malformed(t.value_at, "a BOOLEAN that is neither 00 nor FF")),
                }
            }
            tag::INTEGER => {
                if t.value.len() > 4 || t.value.first().is_some_and(|b| b & 0x80 != 0) {
                    return Err(malformed(t.value_at, "pathLenConstraint"));
                }
                path_len = Some(
                    t.value
                        .iter()
                        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b)),
                );
            }
            _ => return Err(malformed(t.value_at, "BasicConstraints field")),
        }
    }
    Ok((ca, path_len))
}

fn read_key_usage(value: &Tlv<'_>) -> Result<KeyUsage, CryptoError> {
    let mut r = Reader::inside(value);
    let bits = r.expect(tag::BIT_STRING, "KeyUsage BIT STRING")?;
    r.finish("bytes after KeyUsage")?;
    let first = bits.value.get(1).copied().unwrap_or(0);
    if bits.value.is_empty() {
        return Err(malformed(bits.value_at, "empty KeyUsage BIT STRING"));
    }
    Ok(KeyUsage {
        digital_signature: first & 0x80 != 0,
        key_cert_sign: first & 0x04 != 0,
        crl_sign: first & 0x02 != 0,
    })
}

fn read_eku(value: &Tlv<'_>) -> Result<Vec<String>, CryptoError> {
    let mut r = Reader::inside(value);
    let seq = r.expect(tag::SEQUENCE, "ExtKeyUsageSyntax SEQUENCE")?;
    r.finish("bytes after ExtKeyUsageSyntax")?;
    let mut oids = Reader::inside(&seq);
    let mut out = Vec::new();
    while !oids.is_empty() {
        let oid = oids.expect(tag::OID, "KeyPurposeId")?;
        out.push(der::oid_to_string(oid.value, oid.value_at)?);
        if out.len() > 64 {
            return Err(malformed(oid.value_at, "more than 64 extended key usages"));
        }
    }
    Ok(out)
}

/// Splits a DER certificate into TBSCertificate and signatureAlgorithm (both raw).
pub(crate) fn split_for_resigning(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
    let mut outer = Reader::new(der);
    let cert = outer.expect(tag::SEQUENCE, "Certificate SEQUENCE")?;
    let mut parts = Reader::inside(&cert);
    let tbs = parts.expect(tag::SEQUENCE, "TBSCertificate")?;
    let alg = parts.expect(tag::SEQUENCE, "signatureAlgorithm")?;
    Ok((tbs.raw.to_vec(), alg.raw.to_vec()))
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
    body.extend(der::encode(tag::BIT_STRING, &bits));
    der::encode(tag::SEQUENCE, &body)
}
