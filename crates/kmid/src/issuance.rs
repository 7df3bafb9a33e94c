//! The Korean cards over OpenID4VCI (`kmid_oid4vc::vci`): the Credential Issuer Metadata of
//! an issuing authority — its card in both formats, with a scope each, displays in Korean and
//! English — and the [`Issuer`] as the Credential Endpoint's minter, so that what the protocol
//! state machine accepts is issued under the registry's rules (one phone, a lost card or phone
//! takes nothing, each issuance supersedes the last, the formats of one access token one
//! issuance).

use std::collections::BTreeMap;

use kmid_oid4vc::vci::metadata::{
    BatchIssuance, CredentialConfiguration, CredentialIssuerMetadata, Display,
    KeyAttestationsRequired, ProofTypeMetadata,
};
use kmid_oid4vc::vci::server::{
    CredentialMinter, MintRequest, Minted, Notification, NotificationEvent,
};
use kmid_schema::{Card, CardType, IdentityCard};
use kmid_status::registry::RegistryStore;
use serde_json::{Map, Value, json};

use crate::IssuingAuthority;
use crate::issuer::{Formats, Issuer};

/// The suffix of an mdoc Credential Configuration id (`<docType>.mso_mdoc`).
pub const MDOC_SUFFIX: &str = ".mso_mdoc";
/// The suffix of an SD-JWT VC Credential Configuration id (`<vct>.dc+sd-jwt`).
pub const SD_JWT_SUFFIX: &str = ".dc+sd-jwt";

/// The card's name in Korean and English.
const fn card_names(card: CardType) -> (&'static str, &'static str) {
    match card {
        CardType::Resident => ("모바일 주민등록증", "Mobile Resident Registration Card"),
        CardType::Foreigner => ("모바일 외국인등록증", "Mobile Foreigner Registration Card"),
        CardType::OverseasNational => (
            "모바일 재외국민 주민등록증",
            "Mobile Overseas Korean National ID",
        ),
    }
}

/// The authority's name in Korean.
const fn authority_name_ko(authority: IssuingAuthority) -> &'static str {
    match authority {
        IssuingAuthority::Mois => "행정안전부",
        IssuingAuthority::Moj => "법무부",
        IssuingAuthority::Oka => "재외동포청",
    }
}

/// How an authority issues over OpenID4VCI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IssuanceProfile {
    /// `batch_credential_issuance.batch_size` (2 or more), or no batches.
    pub batch_size: Option<u32>,
    /// The key attestations required (HAIP 1.0 §4.5.1), or none.
    pub key_attestations: Option<KeyAttestationsRequired>,
}

/// The Credential Issuer Metadata of `authority` at `credential_issuer` (its endpoints under
/// it: `/credential`, `/nonce`, `/notification`): its card as `<docType>.mso_mdoc` (`cose_key`
/// binding, ES256) and `<docType>.dc+sd-jwt` (`jwk` binding, ES256), a scope per
/// configuration (HAIP 1.0 §4.2), `jwt` and `attestation` proofs, the issuer's and the
/// card's names in Korean and English.
#[must_use]
pub fn korean_metadata(
    authority: IssuingAuthority,
    credential_issuer: &str,
    profile: &IssuanceProfile,
) -> CredentialIssuerMetadata {
    let card = authority.card_type();
    let doc_type = card.doc_type();
    let (ko, en) = card_names(card);
    let display = json!({ "display": [
        { "name": ko, "locale": "ko-KR" },
        { "name": en, "locale": "en-US" },
    ] });
    let proof = ProofTypeMetadata {
        proof_signing_alg_values_supported: vec!["ES256".into()],
        key_attestations_required: profile.key_attestations.clone(),
        other: Map::new(),
    };
    let proofs: BTreeMap<String, ProofTypeMetadata> = [
        ("jwt".to_owned(), proof.clone()),
        ("attestation".to_owned(), proof),
    ]
    .into_iter()
    .collect();
    let configuration = |format: &str, binding: &str, algs: Value| CredentialConfiguration {
        format: format.to_owned(),
        scope: None,
        credential_signing_alg_values_supported: algs.as_array().cloned(),
        cryptographic_binding_methods_supported: Some(vec![binding.to_owned()]),
        proof_types_supported: Some(proofs.clone()),
        doctype: None,
        vct: None,
        credential_metadata: Some(display.clone()),
        other: Map::new(),
    };
    let mdoc_id = format!("{doc_type}{MDOC_SUFFIX}");
    let sd_id = format!("{doc_type}{SD_JWT_SUFFIX}");
    let mdoc = CredentialConfiguration {
        scope: Some(mdoc_id.clone()),
        doctype: Some(doc_type.to_owned()),
        ..configuration("mso_mdoc", "cose_key", json!([-7]))
    };
    let sd_jwt = CredentialConfiguration {
        scope: Some(sd_id.clone()),
        vct: Some(doc_type.to_owned()),
        ..configuration("dc+sd-jwt", "jwk", json!(["ES256"]))
    };
    let locale = |name: &str, locale: &str| Display {
        name: Some(name.to_owned()),
        locale: Some(locale.to_owned()),
        logo: None,
        other: Map::new(),
    };
    CredentialIssuerMetadata {
        credential_issuer: credential_issuer.to_owned(),
        authorization_servers: None,
        credential_endpoint: format!("{credential_issuer}/credential"),
        nonce_endpoint: Some(format!("{credential_issuer}/nonce")),
        deferred_credential_endpoint: None,
        notification_endpoint: Some(format!("{credential_issuer}/notification")),
        batch_credential_issuance: profile
            .batch_size
            .map(|batch_size| BatchIssuance { batch_size }),
        display: Some(vec![
            locale(authority_name_ko(authority), "ko-KR"),
            locale(authority.name(), "en-US"),
        ]),
        credential_configurations_supported: [(mdoc_id, mdoc), (sd_id, sd_jwt)]
            .into_iter()
            .collect(),
        other: Map::new(),
    }
}

/// The configuration's docType and format (`<docType>.mso_mdoc`, `<docType>.dc+sd-jwt`).
#[must_use]
pub fn configuration_format(configuration: &str) -> Option<(&str, Formats)> {
    configuration
        .strip_suffix(MDOC_SUFFIX)
        .map(|d| (d, Formats::Mdoc))
        .or_else(|| {
            configuration
                .strip_suffix(SD_JWT_SUFFIX)
                .map(|d| (d, Formats::SdJwtVc))
        })
}

/// Looks up the issuer's current record of a card by its card key ([`Issuer::card_key`]).
type CurrentCard<'a> = dyn Fn(&str) -> Result<Card, String> + 'a;

/// The member of a grant's subject that names a card by its card key instead of holding it.
pub const CARD_KEY_SUBJECT: &str = "card_key";

/// An [`Issuer`] as the Credential Endpoint's minter. The grant's subject is the card as the
/// issuer holds it (its JSON, `kmid_schema::Card`): the counter official's offer or the
/// authenticator's (an IC card's enrolled data) names it, never the wallet.
pub struct IssuerMinter<'a, S: RegistryStore> {
    issuer: &'a Issuer<S>,
    current: Option<Box<CurrentCard<'a>>>,
}

impl<'a, S: RegistryStore> IssuerMinter<'a, S> {
    /// The minter of `issuer`, issuing the card as the grant's subject holds it.
    #[must_use]
    pub fn new(issuer: &'a Issuer<S>) -> Self {
        Self {
            issuer,
            current: None,
        }
    }

    /// Issues the issuer's current record of the card (`current` looks it up by its card
    /// key, [`Issuer::card_key`]: a keyed hash of the docType and registration number) rather
    /// than the subject as it was when the offer was made: what a renewal by the
    /// refresh-token grant, weeks later, must do after an address change or a replacement.
    /// Its refusal (the card is gone) is the mint's. With it, the refresh token and the
    /// notification keep only `{"card_key": …}` once a credential is issued, not the card.
    #[must_use]
    pub fn with_current_card(
        mut self,
        current: impl Fn(&str) -> Result<Card, String> + 'a,
    ) -> Self {
        self.current = Some(Box::new(current));
        self
    }
}

impl<S: RegistryStore> core::fmt::Debug for IssuerMinter<'_, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IssuerMinter").finish_non_exhaustive()
    }
}

impl<S: RegistryStore> CredentialMinter for IssuerMinter<'_, S> {
    fn mint(&self, request: &MintRequest<'_>) -> Result<Minted, String> {
        // The subject is the card, or (after a first issuance, with a lookup) its card key.
        let reference = request
            .subject
            .as_object()
            .filter(|o| o.len() == 1)
            .and_then(|o| o.get(CARD_KEY_SUBJECT))
            .and_then(Value::as_str);
        let (card, key) = match (reference, &self.current) {
            (Some(key), Some(current)) => (current(key)?, key.to_owned()),
            (Some(_), None) => {
                return Err(
                    "the grant names a card by its key and this minter looks up none".into(),
                );
            }
            (None, current) => {
                let card: Card = serde_json::from_value(request.subject.clone())
                    .map_err(|_| "the grant's subject is not a card".to_owned())?;
                let key = self
                    .issuer
                    .card_key(&card)
                    .map_err(|e| format!("{}: {e}", e.code()))?;
                match current {
                    Some(current) => (current(&key)?, key),
                    None => (card, key),
                }
            }
        };
        // The looked-up card must be the one the grant named.
        if self.current.is_some()
            && self
                .issuer
                .card_key(&card)
                .map_err(|e| format!("{}: {e}", e.code()))?
                != key
        {
            return Err("the issuer's current record is of another card".into());
        }
        let (doc_type, formats) = configuration_format(request.configuration)
            .ok_or_else(|| "not a configuration of this issuer".to_owned())?;
        if doc_type != card.card_type().doc_type() {
            return Err("the configuration is for another card".into());
        }
        let group = request
            .group
            .map(str::parse::<u64>)
            .transpose()
            .map_err(|_| "the issuance is unknown".to_owned())?;
        let (number, issued) = self
            .issuer
            .issue_part(&card, request.keys, formats, group, request.at)
            .map_err(|e| format!("{}: {e}", e.code()))?;
        let mut credentials = Vec::with_capacity(issued.len());
        let mut references = Vec::with_capacity(issued.len());
        for one in issued {
            if let Some(mdoc) = one.mdoc {
                credentials.push(kmid_crypto::jose::b64url(&mdoc.issuer_signed.to_bytes()));
                references.push(mdoc.credential.to_string());
            }
            if let Some(sd) = one.sd_jwt {
                credentials.push(sd.sd_jwt.to_compact());
                references.push(sd.credential.to_string());
            }
        }
        Ok(Minted {
            credentials,
            group: Some(number.to_string()),
            references,
            renewal_subject: self
                .current
                .as_ref()
                .map(|_| json!({ CARD_KEY_SUBJECT: key })),
        })
    }
}

impl<S: RegistryStore> IssuerMinter<'_, S> {
    /// What a notification means for the registry (OpenID4VCI §11): a credential the holder
    /// deleted, or one the wallet failed to store, becomes INVALID (it must not go on working
    /// somewhere); an accepted one stays. Returns how many credentials changed.
    ///
    /// # Errors
    /// Registry failures (a credential already INVALID is not one).
    pub fn apply_notification(
        &self,
        notification: &Notification,
        at: time::OffsetDateTime,
    ) -> Result<usize, crate::KmidError> {
        let reason = match notification.event {
            NotificationEvent::CredentialAccepted => return Ok(0),
            NotificationEvent::CredentialDeleted => "deleted by the holder (notification)",
            NotificationEvent::CredentialFailure => "not stored by the wallet (notification)",
        };
        let actor = kmid_status::registry::Actor {
            who: "openid4vci notification",
            at,
            reason,
        };
        let mut changed = 0;
        for reference in &notification.references {
            let Ok(id) = reference.parse::<u64>() else {
                continue;
            };
            match self.issuer.registry().revoke(id, &actor) {
                Ok(()) => changed += 1,
                Err(kmid_status::StatusListError::Registry(
                    kmid_status::RegistryError::AlreadyInvalid(_),
                )) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(changed)
    }
}
