//! The three issuing authorities and their keys.

use std::sync::Arc;

use kmid_crypto::x509::{
    Certificate, CertificateKind, CertificateParams, TrustStore, issue_certificate,
};
use kmid_crypto::{Curve, PrivateKey, Random, Signer};
use kmid_schema::CardType;
use time::{Duration, OffsetDateTime};

use crate::error::KmidError;

/// Who issues which card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssuingAuthority {
    /// Ministry of the Interior and Safety (행정안전부): the mobile resident registration card.
    Mois,
    /// Ministry of Justice (법무부): the mobile foreigner registration card.
    Moj,
    /// Overseas Koreans Agency (재외동포청), through embassies and consulates: the mobile
    /// overseas Korean national ID.
    Oka,
}

impl IssuingAuthority {
    /// All three.
    pub const ALL: [Self; 3] = [Self::Mois, Self::Moj, Self::Oka];

    /// The authority that issues `card`.
    #[must_use]
    pub const fn for_card(card: CardType) -> Self {
        match card {
            CardType::Resident => Self::Mois,
            CardType::Foreigner => Self::Moj,
            CardType::OverseasNational => Self::Oka,
        }
    }

    /// The card it issues.
    #[must_use]
    pub const fn card_type(self) -> CardType {
        match self {
            Self::Mois => CardType::Resident,
            Self::Moj => CardType::Foreigner,
            Self::Oka => CardType::OverseasNational,
        }
    }

    /// Its English name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Mois => "Ministry of the Interior and Safety",
            Self::Moj => "Ministry of Justice",
            Self::Oka => "Overseas Koreans Agency",
        }
    }

    /// A short lowercase name (`mois`, `moj`, `oka`).
    #[must_use]
    pub const fn slug(self) -> &'static str {
        match self {
            Self::Mois => "mois",
            Self::Moj => "moj",
            Self::Oka => "oka",
        }
    }

    /// Its web origin, as certificates name it.
    #[must_use]
    pub const fn uri(self) -> &'static str {
        match self {
            Self::Mois => "https://www.mois.go.kr",
            Self::Moj => "https://www.moj.go.kr",
            Self::Oka => "https://www.oka.go.kr",
        }
    }
}

/// An authority's IACA root and Document Signer, with the Document Signer's signer.
#[derive(Clone)]
pub struct AuthorityKeys {
    /// The authority.
    pub authority: IssuingAuthority,
    /// The IACA root certificate verifiers trust.
    pub iaca: Certificate,
    /// The Document Signer certificate, issued by the IACA.
    pub document_signer: Certificate,
    /// The Document Signer's key (software here; an HSM implements [`Signer`] the same way).
    pub signer: Arc<dyn Signer>,
}

impl core::fmt::Debug for AuthorityKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AuthorityKeys")
            .field("authority", &self.authority)
            .field("iaca", &self.iaca.common_name())
            .field("document_signer", &self.document_signer.common_name())
            .finish_non_exhaustive()
    }
}

impl AuthorityKeys {
    /// Generates a fresh P-256 IACA (valid ten years) and Document Signer (valid one year)
    /// from `at` — for demonstrations and self-contained test beds; a real authority loads
    /// its certificates and an HSM-backed signer instead. The IACA key is dropped once it
    /// has signed.
    ///
    /// # Errors
    /// Key generation or certificate issuance failures.
    pub fn generate(
        authority: IssuingAuthority,
        at: OffsetDateTime,
        random: &dyn Random,
    ) -> Result<Self, KmidError> {
        Self::generate_with_key(authority, at, random).map(|(keys, _)| keys)
    }

    /// As [`Self::generate`], also returning the Document Signer's private key, for a test
    /// bed that must keep it between runs (`kmid keys` writes it as PKCS#8 PEM).
    ///
    /// # Errors
    /// Key generation or certificate issuance failures.
    pub fn generate_with_key(
        authority: IssuingAuthority,
        at: OffsetDateTime,
        random: &dyn Random,
    ) -> Result<(Self, Arc<PrivateKey>), KmidError> {
        Self::generate_with_keys(authority, at, random).map(|(keys, _, ds)| (keys, ds))
    }

    /// As [`Self::generate_with_key`], also returning the IACA's private key, which signs the
    /// authority's CRLs (`kmid keys issuers` keeps it, readable by its owner only).
    ///
    /// # Errors
    /// Key generation or certificate issuance failures.
    pub fn generate_with_keys(
        authority: IssuingAuthority,
        at: OffsetDateTime,
        random: &dyn Random,
    ) -> Result<(Self, PrivateKey, Arc<PrivateKey>), KmidError> {
        let params = |kind, cn: String, to: OffsetDateTime| CertificateParams {
            kind,
            country: "KR".into(),
            organization: Some(authority.name().into()),
            state_or_province: None,
            common_name: cn,
            not_before: at - Duration::days(1),
            not_after: to,
            issuer_alt_name: Some(authority.uri().into()),
            crl_uri: Some(format!("{}/kmid/crl", authority.uri())),
            dns_names: Vec::new(),
        };
        let iaca_key = PrivateKey::generate(Curve::P256)?;
        let iaca = issue_certificate(
            &params(
                CertificateKind::Iaca,
                format!("{} IACA (kmid)", authority.name()),
                at + Duration::days(3650),
            ),
            iaca_key.public_key(),
            None,
            &iaca_key,
            random,
        )?;
        let ds_key = PrivateKey::generate(Curve::P256)?;
        let document_signer = issue_certificate(
            &params(
                CertificateKind::DocumentSigner,
                format!("{} DS (kmid)", authority.name()),
                at + Duration::days(365),
            ),
            ds_key.public_key(),
            Some(&iaca),
            &iaca_key,
            random,
        )?;
        let ds_key = Arc::new(ds_key);
        let signer: Arc<dyn Signer> = ds_key.clone();
        Ok((
            Self {
                authority,
                iaca,
                document_signer,
                signer,
            },
            iaca_key,
            ds_key,
        ))
    }
}

/// A trust store holding each authority's IACA, each scoped to the one card type it issues
/// (so one ministry's root vouches for none of another's cards).
///
/// # Errors
/// A certificate that is not a usable root.
pub fn trust_store<'a>(
    authorities: impl IntoIterator<Item = &'a AuthorityKeys>,
) -> Result<TrustStore, KmidError> {
    let mut trust = TrustStore::new();
    for keys in authorities {
        trust.add_scoped(
            keys.iaca.clone(),
            vec![keys.authority.card_type().doc_type().to_owned()],
        )?;
    }
    Ok(trust)
}
