//! The fixed world of the trust targets (issue 17's parsers), deterministic so that the seeds
//! `fuzz-seeds` writes are valid in the fuzzing process too: the test PKI's MOIS IACA and
//! Document Signer, a CRL by that IACA revoking that Document Signer, and a VICAL of the three
//! test IACAs signed by a VICAL signer under a root made from the reader test keys (any fixed
//! P-256 key does; these are the test PKI's spare ones).

use std::sync::OnceLock;

use kmid::crypto::x509::{
    Certificate, CertificateKind, CertificateParams, TrustStore, issue_certificate, issue_crl,
};
use kmid::mdoc::vical::{Vical, VicalEntry};
use kmid_testkit::{Authority, REFERENCE_TIME, Rfc6979Signer, SeededRandom, TestPki, test_key};
use time::Duration;

/// What the trust bodies use.
pub(crate) struct TrustWorld {
    /// When everything is checked.
    pub(crate) at: time::OffsetDateTime,
    /// The CRL issuer (the MOIS IACA) and a certificate it issued (the MOIS DS).
    pub(crate) crl_issuer: Certificate,
    pub(crate) ds: Certificate,
    /// The test roots, for chains checked against a CRL.
    pub(crate) roots: TrustStore,
    /// The VICAL provider's root.
    pub(crate) vical_anchors: TrustStore,
    /// Seeds: a CRL revoking the DS, and the signed VICAL.
    pub(crate) crl_seed: Vec<u8>,
    pub(crate) vical_seed: Vec<u8>,
}

pub(crate) fn get() -> &'static TrustWorld {
    static WORLD: OnceLock<TrustWorld> = OnceLock::new();
    WORLD.get_or_init(|| build().unwrap_or_else(|e| panic!("trust fuzz world: {e}")))
}

fn build() -> Result<TrustWorld, String> {
    let e = |e: &dyn core::fmt::Display| e.to_string();
    let pki = TestPki::new();
    let mois = pki.issuer(Authority::Mois);
    let at = REFERENCE_TIME;
    let crl = issue_crl(
        &mois.iaca,
        &Rfc6979Signer::for_test_key("mois-iaca"),
        at - Duration::days(1),
        at + Duration::days(6),
        &[&mois.ds],
        1,
    )
    .map_err(|x| e(&x))?;
    let random = SeededRandom::new(b"kmid-fuzz-trust-world");
    let params = |kind, cn: &str| CertificateParams {
        kind,
        country: "KR".into(),
        organization: Some("kmid fuzz VICAL".into()),
        state_or_province: None,
        common_name: cn.into(),
        not_before: at - Duration::days(1),
        not_after: at + Duration::days(300),
        issuer_alt_name: Some("https://vical.kmid.invalid".into()),
        crl_uri: None,
        dns_names: Vec::new(),
    };
    let root_key = test_key("reader-root");
    let root = issue_certificate(
        &params(CertificateKind::Iaca, "kmid fuzz VICAL root"),
        root_key.public_key(),
        None,
        &Rfc6979Signer::new(&root_key).map_err(|x| e(&x))?,
        &random,
    )
    .map_err(|x| e(&x))?;
    let signer_key = test_key("reader");
    let signer = issue_certificate(
        &params(CertificateKind::VicalSigner, "kmid fuzz VICAL signer"),
        signer_key.public_key(),
        Some(&root),
        &Rfc6979Signer::new(&root_key).map_err(|x| e(&x))?,
        &random,
    )
    .map_err(|x| e(&x))?;
    let list = Vical {
        version: "1.0".into(),
        provider: "kmid fuzz VICAL".into(),
        date: at,
        issue_id: Some(1),
        next_update: Some(at + Duration::days(30)),
        entries: [Authority::Mois, Authority::Moj, Authority::Oka]
            .into_iter()
            .map(|a| VicalEntry {
                certificate: pki.issuer(a).iaca.clone(),
                doc_types: vec![a.card_type().doc_type().to_owned()],
                issuing_authority: None,
                issuing_country: Some("KR".into()),
            })
            .collect(),
    };
    let vical_seed = list
        .sign(
            &Rfc6979Signer::new(&signer_key).map_err(|x| e(&x))?,
            &[signer],
        )
        .map_err(|x| e(&x))?;
    let mut vical_anchors = TrustStore::new();
    vical_anchors.add(root).map_err(|x| e(&x))?;
    Ok(TrustWorld {
        at,
        crl_issuer: mois.iaca.clone(),
        ds: mois.ds.clone(),
        roots: pki.trust_store(),
        vical_anchors,
        crl_seed: crl.der().to_vec(),
        vical_seed,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use kmid::crypto::DefaultVerifier;
    use kmid::crypto::x509::{Crl, KeyPurpose, RevocationPolicy};

    /// The seeds reach past the signatures: the VICAL verifies in the fuzzing world, and the
    /// CRL verifies under its issuer and revokes the Document Signer a chain then fails on.
    #[test]
    fn the_seeds_are_valid_in_the_world_they_are_fuzzed_in() {
        let world = super::get();
        let list = kmid::mdoc::vical::Vical::verify(
            &world.vical_seed,
            &world.vical_anchors,
            world.at,
            kmid::crypto::CryptoProvider::get_default(),
        )
        .unwrap();
        assert_eq!(list.entries.len(), 3);
        let crl = Crl::from_der(&world.crl_seed).unwrap();
        crl.verify(&world.crl_issuer, &DefaultVerifier).unwrap();
        assert!(crl.revokes(&world.ds));
        let bytes = world.crl_seed.clone();
        let store = world.roots.clone().with_revocation(
            std::sync::Arc::new(move |_: &str| Some(bytes.clone())),
            RevocationPolicy::HardFail,
        );
        assert_eq!(
            store
                .validate(
                    std::slice::from_ref(&world.ds),
                    world.at,
                    KeyPurpose::DocumentSigner
                )
                .unwrap_err()
                .code(),
            "Certificate.Revoked"
        );
    }
}
