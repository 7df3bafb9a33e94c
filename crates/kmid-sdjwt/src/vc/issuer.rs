//! Issuing the SD-JWT VC of a Korean card.

use std::sync::Arc;

use kmid_crypto::x509::{Certificate, chain_to_x5c};
use kmid_crypto::{CryptoProvider, HashAlgorithm, PublicKey, Random, Signer};
use kmid_schema::status::StatusReference;
use kmid_schema::{Card, IdentityCard};
use serde_json::{Map, Value, json};
use time::{OffsetDateTime, UtcOffset};

use super::{CataloguePolicy, SD_JWT_VC_TYP, card_claims};
use crate::conceal::conceal_owned;
use crate::disclosure::Disclosure;
use crate::error::SdJwtError;
use crate::jws::sign_compact;
use crate::serialization::SdJwt;
use crate::type_metadata;

/// Korea Standard Time, in which the age claims are computed (spec D-9).
const KST: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// The time and status claims of one issuance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VcOptions {
    /// `iat`; the age claims are computed on this day in Korea Standard Time.
    pub iat: OffsetDateTime,
    /// `nbf`, if different from none.
    pub nbf: Option<OffsetDateTime>,
    /// `exp`.
    pub exp: OffsetDateTime,
    /// The status list entry, as `status.status_list`.
    pub status: Option<StatusReference>,
    /// Include `vct#integrity` over the profile's Type Metadata.
    pub vct_integrity: bool,
}

impl VcOptions {
    /// Issued at `iat`, valid until `exp`, no `nbf`, no status, with `vct#integrity`.
    #[must_use]
    pub const fn new(iat: OffsetDateTime, exp: OffsetDateTime) -> Self {
        Self {
            iat,
            nbf: None,
            exp,
            status: None,
            vct_integrity: true,
        }
    }
}

/// An SD-JWT VC issuer: a signer (perhaps an HSM) and how verifiers find its key.
pub struct SdJwtVcIssuer {
    signer: Arc<dyn Signer>,
    x5c: Vec<Certificate>,
    kid: Option<String>,
    iss: Option<String>,
    random: Arc<dyn Random>,
    sd_alg: HashAlgorithm,
    decoys: usize,
    provider: &'static CryptoProvider,
}

impl core::fmt::Debug for SdJwtVcIssuer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SdJwtVcIssuer")
            .field("iss", &self.iss)
            .field("kid", &self.kid)
            .field("x5c", &self.x5c)
            .finish_non_exhaustive()
    }
}

impl SdJwtVcIssuer {
    /// An issuer whose key verifiers find through `x5c`: the Document Signer chain, leaf first
    /// (the same certificates as the mdoc's `x5chain`).
    ///
    /// # Errors
    /// [`SdJwtError::InvalidInput`] for an empty chain or a leaf that is not the signer's key.
    pub fn with_x5c(
        signer: Arc<dyn Signer>,
        x5c: Vec<Certificate>,
        random: Arc<dyn Random>,
    ) -> Result<Self, SdJwtError> {
        match x5c.first() {
            Some(leaf) if leaf.public_key() == signer.public_key() => {}
            _ => {
                return Err(SdJwtError::InvalidInput(
                    "the x5c leaf certificate must be the signer's key",
                ));
            }
        }
        Ok(Self {
            signer,
            x5c,
            kid: None,
            iss: None,
            random,
            sd_alg: HashAlgorithm::Sha256,
            decoys: 2,
            provider: CryptoProvider::get_default(),
        })
    }

    /// An issuer whose key verifiers configure by `iss` and `kid`.
    #[must_use]
    pub fn with_key_id(
        signer: Arc<dyn Signer>,
        iss: String,
        kid: String,
        random: Arc<dyn Random>,
    ) -> Self {
        Self {
            signer,
            x5c: Vec::new(),
            kid: Some(kid),
            iss: Some(iss),
            random,
            sd_alg: HashAlgorithm::Sha256,
            decoys: 2,
            provider: CryptoProvider::get_default(),
        }
    }

    /// Hashes the Disclosures on `provider` (the default: [`CryptoProvider::get_default`]).
    #[must_use]
    pub const fn with_provider(mut self, provider: &'static CryptoProvider) -> Self {
        self.provider = provider;
        self
    }

    /// Adds an `iss` claim.
    #[must_use]
    pub fn with_iss(mut self, iss: String) -> Self {
        self.iss = Some(iss);
        self
    }

    /// Uses another `_sd_alg`.
    #[must_use]
    pub const fn with_hash_algorithm(mut self, alg: HashAlgorithm) -> Self {
        self.sd_alg = alg;
        self
    }

    /// Adds `n` decoy digests to each object with disclosable members.
    #[must_use]
    pub const fn with_decoys(mut self, n: usize) -> Self {
        self.decoys = n;
        self
    }

    /// Issues the card's SD-JWT VC, bound to `holder_key` (`cnf.jwk`).
    ///
    /// # Errors
    /// Signer failures; [`SdJwtError::InvalidInput`] when `exp` is not after `iat`.
    pub fn issue(
        &self,
        card: &Card,
        holder_key: &PublicKey,
        options: &VcOptions,
    ) -> Result<SdJwt, SdJwtError> {
        if options.exp <= options.iat {
            return Err(SdJwtError::InvalidInput("exp must be after iat"));
        }
        let card_type = card.card_type();
        let as_of = options.iat.to_offset(KST).date();
        let claims = card_claims(card, as_of)?;
        let concealed = conceal_owned(
            self.provider,
            claims,
            &CataloguePolicy {
                decoys: self.decoys,
            },
            self.sd_alg,
            self.random.as_ref(),
        )?;
        let mut payload = concealed.payload;
        if let Some(iss) = &self.iss {
            payload.insert("iss".into(), Value::String(iss.clone()));
        }
        payload.insert("iat".into(), Value::from(options.iat.unix_timestamp()));
        if let Some(nbf) = options.nbf {
            payload.insert("nbf".into(), Value::from(nbf.unix_timestamp()));
        }
        payload.insert("exp".into(), Value::from(options.exp.unix_timestamp()));
        payload.insert("vct".into(), Value::String(card_type.vct().into()));
        if options.vct_integrity {
            payload.insert(
                "vct#integrity".into(),
                Value::String(type_metadata::integrity(self.provider, card_type)?),
            );
        }
        payload.insert("cnf".into(), json!({ "jwk": holder_key.to_jwk() }));
        if let Some(status) = &options.status {
            payload.insert(
                "status".into(),
                json!({ "status_list": { "idx": status.idx, "uri": status.uri } }),
            );
        }
        let mut header = Map::new();
        header.insert("typ".into(), Value::String(SD_JWT_VC_TYP.into()));
        if let Some(kid) = &self.kid {
            header.insert("kid".into(), Value::String(kid.clone()));
        }
        if !self.x5c.is_empty() {
            header.insert("x5c".into(), json!(chain_to_x5c(&self.x5c)));
        }
        let payload_bytes =
            serde_json::to_vec(&payload).map_err(|_| SdJwtError::InvalidInput("payload"))?;
        let issuer_jwt = sign_compact(header, &payload_bytes, &self.signer)?;
        Ok(SdJwt {
            issuer_jwt,
            disclosures: concealed
                .disclosures
                .into_iter()
                .map(Disclosure::into_encoded)
                .collect(),
            kb_jwt: None,
        })
    }
}
