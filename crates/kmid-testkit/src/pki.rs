//! The deterministic test PKI.

use kmid_crypto::x509::{
    Certificate, CertificateKind, CertificateParams, TrustStore, issue_certificate,
};
use kmid_crypto::{PrivateKey, Signer};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::{Rfc6979Signer, SeededRandom, test_key};

/// The time the test PKI and the conformance vectors are valid at: 2025-07-01T00:00:00Z.
pub const REFERENCE_TIME: OffsetDateTime = datetime!(2025-07-01 0:00 UTC);

/// The three issuing authorities of the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Authority {
    /// Ministry of the Interior and Safety: resident cards.
    Mois,
    /// Ministry of Justice: foreigner cards.
    Moj,
    /// Overseas Koreans Agency: overseas national IDs.
    Oka,
}

impl Authority {
    /// All three.
    pub const ALL: [Self; 3] = [Self::Mois, Self::Moj, Self::Oka];

    /// Short name used in key names and file names.
    #[must_use]
    pub const fn slug(self) -> &'static str {
        match self {
            Self::Mois => "mois",
            Self::Moj => "moj",
            Self::Oka => "oka",
        }
    }

    /// The card type the authority issues.
    #[must_use]
    pub const fn card_type(self) -> kmid_schema::CardType {
        match self {
            Self::Mois => kmid_schema::CardType::Resident,
            Self::Moj => kmid_schema::CardType::Foreigner,
            Self::Oka => kmid_schema::CardType::OverseasNational,
        }
    }

    fn organization(self) -> &'static str {
        match self {
            Self::Mois => "Ministry of the Interior and Safety",
            Self::Moj => "Ministry of Justice",
            Self::Oka => "Overseas Koreans Agency",
        }
    }

    fn uri(self) -> &'static str {
        match self {
            Self::Mois => "https://www.mois.go.kr",
            Self::Moj => "https://www.moj.go.kr",
            Self::Oka => "https://www.oka.go.kr",
        }
    }
}

/// One issuing authority's test root and Document Signer, with their signers.
pub struct IssuerPki {
    /// The IACA root certificate.
    pub iaca: Certificate,
    /// The IACA key's signer.
    pub iaca_signer: Rfc6979Signer,
    /// The Document Signer certificate.
    pub ds: Certificate,
    /// The Document Signer key's signer.
    pub ds_signer: Rfc6979Signer,
}

/// The whole test PKI.
pub struct TestPki {
    issuers: Vec<(Authority, IssuerPki)>,
    /// Reader root certificate.
    pub reader_root: Certificate,
    /// Reader authentication certificate (a bank counter's reader).
    pub reader: Certificate,
    /// The reader key's signer.
    pub reader_signer: Rfc6979Signer,
}

fn params(
    kind: CertificateKind,
    org: &str,
    cn: String,
    uri: &str,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> CertificateParams {
    CertificateParams {
        kind,
        country: "KR".into(),
        organization: Some(org.into()),
        state_or_province: None,
        common_name: cn,
        not_before: from,
        not_after: to,
        issuer_alt_name: Some(uri.into()),
        crl_uri: Some(format!("{uri}/kmid-test/crl")),
        dns_names: Vec::new(),
    }
}

fn issue(
    p: &CertificateParams,
    subject: &PrivateKey,
    issuer: Option<&Certificate>,
    signer: &dyn Signer,
    seed: &str,
) -> Certificate {
    let random = SeededRandom::new(format!("kmid test pki v1: {seed}").as_bytes());
    issue_certificate(p, subject.public_key(), issuer, signer, &random).expect("test certificate")
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

impl TestPki {
    /// Builds the PKI. Certificates: IACA 2025-01-01 to 2035-01-01; Document Signers and the
    /// reader 2025-01-01 to 2026-03-31 (455 days, within Annex B's 457).
    #[must_use]
    pub fn new() -> Self {
        let root_from = datetime!(2025-01-01 0:00 UTC);
        let root_to = datetime!(2035-01-01 0:00 UTC);
        let leaf_to = datetime!(2026-03-31 0:00 UTC);
        let issuers = Authority::ALL
            .into_iter()
            .map(|a| {
                let iaca_key = test_key(&format!("{}-iaca", a.slug()));
                let iaca_signer = Rfc6979Signer::new(&iaca_key).expect("P-256");
                let iaca = issue(
                    &params(
                        CertificateKind::Iaca,
                        a.organization(),
                        format!("kmid test {} IACA", a.slug().to_uppercase()),
                        a.uri(),
                        root_from,
                        root_to,
                    ),
                    &iaca_key,
                    None,
                    &iaca_signer,
                    &format!("{}-iaca", a.slug()),
                );
                let ds_key = test_key(&format!("{}-ds", a.slug()));
                let ds = issue(
                    &params(
                        CertificateKind::DocumentSigner,
                        a.organization(),
                        format!("kmid test {} DS 1", a.slug().to_uppercase()),
                        a.uri(),
                        root_from,
                        leaf_to,
                    ),
                    &ds_key,
                    Some(&iaca),
                    &iaca_signer,
                    &format!("{}-ds", a.slug()),
                );
                let ds_signer = Rfc6979Signer::new(&ds_key).expect("P-256");
                (
                    a,
                    IssuerPki {
                        iaca,
                        iaca_signer,
                        ds,
                        ds_signer,
                    },
                )
            })
            .collect();
        let root_key = test_key("reader-root");
        let root_signer = Rfc6979Signer::new(&root_key).expect("P-256");
        let reader_root = issue(
            &params(
                CertificateKind::ReaderRoot,
                "kmid test relying parties",
                "kmid test reader root".into(),
                "https://reader.kmid.invalid",
                root_from,
                root_to,
            ),
            &root_key,
            None,
            &root_signer,
            "reader-root",
        );
        let reader_key = test_key("reader");
        let reader = issue(
            &params(
                CertificateKind::ReaderAuthentication,
                "kmid test bank",
                "kmid test bank counter reader".into(),
                "https://reader.kmid.invalid",
                root_from,
                leaf_to,
            ),
            &reader_key,
            Some(&reader_root),
            &root_signer,
            "reader",
        );
        let reader_signer = Rfc6979Signer::new(&reader_key).expect("P-256");
        Self {
            issuers,
            reader_root,
            reader,
            reader_signer,
        }
    }

    /// The PKI of one authority.
    #[must_use]
    pub fn issuer(&self, authority: Authority) -> &IssuerPki {
        self.issuers
            .iter()
            .find(|(a, _)| *a == authority)
            .map(|(_, p)| p)
            .expect("every authority has a PKI")
    }

    /// A trust store of the three IACA roots, each scoped to the document type its authority
    /// issues (a MOJ Document Signer cannot vouch for a resident card).
    #[must_use]
    pub fn trust_store(&self) -> TrustStore {
        let mut store = TrustStore::new();
        for (a, p) in &self.issuers {
            store
                .add_scoped(p.iaca.clone(), vec![a.card_type().doc_type().to_owned()])
                .expect("test IACA is a CA");
        }
        store
    }

    /// A trust store of the reader root.
    #[must_use]
    pub fn reader_trust_store(&self) -> TrustStore {
        let mut store = TrustStore::new();
        store
            .add(self.reader_root.clone())
            .expect("test reader root is a CA");
        store
    }
}
