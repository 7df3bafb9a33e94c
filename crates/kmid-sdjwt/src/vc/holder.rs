//! The holder's side: receiving an SD-JWT VC (verifying it as RFC 9901 §7.2 requires) and
//! presenting a chosen subset of claims with a Key Binding JWT.

use std::sync::Arc;

use kmid_crypto::{CryptoProvider, HashAlgorithm, Signer};
use time::OffsetDateTime;

use super::verifier::{SdJwtVcVerifier, Stage, VerifiedSdJwtVc};
use crate::conceal::PathSegment;
use crate::error::SdJwtError;
use crate::kb;
use crate::serialization::SdJwt;

/// An SD-JWT VC the holder received and checked, with where each Disclosure goes.
#[derive(Debug, Clone)]
pub struct HeldSdJwtVc {
    sd_jwt: SdJwt,
    paths: Vec<Vec<PathSegment>>,
    sd_alg: HashAlgorithm,
    verified: VerifiedSdJwtVc,
    /// The receiving verifier's provider, which the KB-JWT's `sd_hash` is computed on.
    provider: &'static CryptoProvider,
}

/// Which of `paths` (Disclosure paths) a request for `requested` needs: a Disclosure goes when
/// it reveals a requested claim or a part of one (`address` brings its members), and then the
/// Disclosures of the objects that contain those (`address.locality` brings the `address`
/// Disclosure) — but an object is never revealed empty, for a member the credential lacks.
#[must_use]
pub fn present_paths(paths: &[Vec<PathSegment>], requested: &[&[&str]]) -> Vec<usize> {
    let keys = |p: &[PathSegment]| -> Option<Vec<String>> {
        p.iter()
            .map(|s| match s {
                PathSegment::Key(k) => Some(k.clone()),
                PathSegment::Index(_) => None,
            })
            .collect()
    };
    let keyed: Vec<Option<Vec<String>>> = paths.iter().map(|p| keys(p)).collect();
    let starts_with = |long: &[String], short: &[&str]| {
        long.len() >= short.len() && long.iter().zip(short).all(|(a, b)| a == b)
    };
    // Disclosures at or beneath a requested path.
    let selected: Vec<&Vec<String>> = keyed
        .iter()
        .flatten()
        .filter(|p| requested.iter().any(|r| starts_with(p, r)))
        .collect();
    keyed
        .iter()
        .enumerate()
        .filter(|(_, p)| {
            p.as_ref().is_some_and(|p| {
                let asked = requested.iter().any(|r| starts_with(p, r));
                // An ancestor of something selected.
                let holds = selected
                    .iter()
                    .any(|s| s.len() > p.len() && s.iter().zip(p.iter()).all(|(a, b)| a == b));
                asked || holds
            })
        })
        .map(|(i, _)| i)
        .collect()
}

impl HeldSdJwtVc {
    /// What the holder verified on receipt: `vct`, issuer, every claim.
    #[must_use]
    pub const fn verified(&self) -> &VerifiedSdJwtVc {
        &self.verified
    }

    /// Receives an issued SD-JWT VC: verifies it with `verifier`'s issuer keys and policy at
    /// `at` (a KB-JWT is refused: an issuer sends none).
    ///
    /// # Errors
    /// Any verification failure.
    pub fn receive(
        issued: &str,
        verifier: &SdJwtVcVerifier<'_>,
        at: OffsetDateTime,
    ) -> Result<Self, SdJwtError> {
        let sd_jwt = SdJwt::parse(issued, verifier.limits())?;
        let v = verifier.verify_parsed(sd_jwt, issued, at, Stage::Issuance)?;
        Ok(Self {
            sd_jwt: v.sd_jwt,
            paths: v.paths,
            sd_alg: v.sd_alg,
            verified: v.result,
            provider: verifier.provider(),
        })
    }

    /// All claims of the credential, as the holder sees them.
    #[must_use]
    pub const fn claims(&self) -> &VerifiedSdJwtVc {
        &self.verified
    }

    /// The issued SD-JWT.
    #[must_use]
    pub const fn sd_jwt(&self) -> &SdJwt {
        &self.sd_jwt
    }

    /// A presentation disclosing the claims at `requested` (paths from the payload root,
    /// e.g. `&["address", "locality"]`) and nothing else, with a KB-JWT by `holder` for
    /// `nonce` and `audience` when `holder` is given.
    ///
    /// # Errors
    /// Signer failures.
    pub fn present(
        &self,
        requested: &[&[&str]],
        key_binding: Option<(&Arc<dyn Signer>, &str, &str, OffsetDateTime)>,
    ) -> Result<SdJwt, SdJwtError> {
        let chosen = present_paths(&self.paths, requested);
        let mut presentation = SdJwt {
            issuer_jwt: self.sd_jwt.issuer_jwt.clone(),
            disclosures: chosen
                .iter()
                .filter_map(|&i| self.sd_jwt.disclosures.get(i).cloned())
                .collect(),
            kb_jwt: None,
        };
        if let Some((holder, nonce, audience, iat)) = key_binding {
            presentation.kb_jwt = Some(kb::create(
                self.provider,
                &presentation,
                self.sd_alg,
                holder,
                nonce,
                audience,
                iat,
            )?);
        }
        Ok(presentation)
    }

    /// [`Self::present`] with a Key Binding JWT carrying `extra` claims besides `iat`, `aud`,
    /// `nonce` and `sd_hash` (OpenID4VP's `transaction_data_hashes`, Appendix B.3.3).
    ///
    /// # Errors
    /// As [`Self::present`].
    pub fn present_bound(
        &self,
        requested: &[&[&str]],
        (holder, nonce, audience, iat): (&Arc<dyn Signer>, &str, &str, OffsetDateTime),
        extra: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<SdJwt, SdJwtError> {
        let mut presentation = self.present(requested, None)?;
        presentation.kb_jwt = Some(kb::create_with(
            self.provider,
            &presentation,
            self.sd_alg,
            holder,
            (nonce, audience, iat),
            extra,
        )?);
        Ok(presentation)
    }
}
