//! Credential Offers (OpenID4VCI 1.0 §4.1; HAIP 1.0 §4.1): the object, its checks, and the URL
//! that carries it by value (`credential_offer`) or by reference (`credential_offer_uri`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{VciError, is_https_endpoint, is_issuer_identifier};

/// The longest offer URL (or offer object) accepted: a QR code holds under 3 KiB, an offer by
/// value with a long `issuer_state` fits in 16.
pub const MAX_OFFER_BYTES: usize = 16 * 1024;
/// The most Credential Configurations one offer may name.
pub const MAX_OFFERED: usize = 32;
/// The custom URL scheme of §4.1.
pub const OFFER_SCHEME: &str = "openid-credential-offer://";
/// HAIP 1.0's URL scheme for issuance.
pub const HAIP_SCHEME: &str = "haip-vci://";

/// The Credential Offer object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialOffer {
    /// The Credential Issuer Identifier.
    pub credential_issuer: String,
    /// The offered Credential Configurations (keys of the issuer's
    /// `credential_configurations_supported`).
    pub credential_configuration_ids: Vec<String>,
    /// The grants the issuer is prepared to process.
    #[serde(default, skip_serializing_if = "Grants::is_empty")]
    pub grants: Grants,
    /// Parameters this profile does not use (a wallet ignores them).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// The grants of an offer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    /// `authorization_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_code: Option<AuthorizationCodeGrant>,
    /// `urn:ietf:params:oauth:grant-type:pre-authorized_code`.
    #[serde(
        rename = "urn:ietf:params:oauth:grant-type:pre-authorized_code",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pre_authorized_code: Option<PreAuthorizedCodeGrant>,
    /// Grant types this profile does not know.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl Grants {
    /// No grant at all (the wallet then reads the Authorization Server's metadata).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.authorization_code.is_none()
            && self.pre_authorized_code.is_none()
            && self.other.is_empty()
    }
}

/// The Authorization Code grant of an offer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCodeGrant {
    /// Binds the Authorization Request to the issuer's context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer_state: Option<String>,
    /// Which of the issuer's Authorization Servers to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
}

/// The Pre-Authorized Code grant of an offer.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreAuthorizedCodeGrant {
    /// The code (short-lived, single use).
    #[serde(rename = "pre-authorized_code")]
    pub code: String,
    /// Present (even empty) when a Transaction Code is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<TxCode>,
    /// Which of the issuer's Authorization Servers to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_server: Option<String>,
}

impl core::fmt::Debug for PreAuthorizedCodeGrant {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PreAuthorizedCodeGrant")
            .field("tx_code", &self.tx_code)
            .finish_non_exhaustive()
    }
}

/// What the Transaction Code looks like.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxCode {
    /// `numeric` (the default) or `text`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_mode: Option<TxCodeInputMode>,
    /// Its length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u32>,
    /// How the holder gets it (at most 300 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A Transaction Code's character set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TxCodeInputMode {
    /// Digits only.
    Numeric,
    /// Any characters.
    Text,
}

impl CredentialOffer {
    /// Parses and checks an offer object.
    ///
    /// # Errors
    /// [`VciError::Malformed`] for JSON that is not an offer or an offer that fails
    /// [`Self::check`].
    pub fn from_json(bytes: &[u8]) -> Result<Self, VciError> {
        if bytes.len() > MAX_OFFER_BYTES {
            return Err(VciError::Malformed(
                "the offer is larger than 16 KiB".into(),
            ));
        }
        let offer: Self = serde_json::from_slice(bytes)
            .map_err(|e| VciError::Malformed(format!("credential offer: {e}")))?;
        offer.check()?;
        Ok(offer)
    }

    /// The checks of §4.1.1: an `https` Credential Issuer Identifier, a non-empty list of
    /// distinct configuration ids (at most [`MAX_OFFERED`]), a non-empty pre-authorized code,
    /// a `tx_code` description of at most 300 characters and a length of 1–64.
    ///
    /// # Errors
    /// [`VciError::Malformed`], [`VciError::Missing`].
    pub fn check(&self) -> Result<(), VciError> {
        let bad = |why: &str| Err(VciError::Malformed(format!("credential offer: {why}")));
        if !is_issuer_identifier(&self.credential_issuer) {
            return bad("credential_issuer is not an https URL without query and fragment");
        }
        let ids = &self.credential_configuration_ids;
        if ids.is_empty() {
            return Err(VciError::Missing("credential_configuration_ids"));
        }
        if ids.len() > MAX_OFFERED {
            return bad("too many credential_configuration_ids");
        }
        let mut seen = std::collections::BTreeSet::new();
        if ids.iter().any(|id| id.is_empty() || !seen.insert(id)) {
            return bad("credential_configuration_ids are empty or repeated");
        }
        if let Some(grant) = &self.grants.pre_authorized_code {
            if grant.code.is_empty() {
                return Err(VciError::Missing("pre-authorized_code"));
            }
            if let Some(tx) = &grant.tx_code {
                if tx
                    .description
                    .as_ref()
                    .is_some_and(|d| d.chars().count() > 300)
                {
                    return bad("tx_code description longer than 300 characters");
                }
                if tx.length.is_some_and(|l| !(1..=64).contains(&l)) {
                    return bad("tx_code length outside 1..=64");
                }
            }
        }
        Ok(())
    }
}

/// How a wallet receives an offer (§4.1): the object itself, or where to fetch it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferUrl {
    /// `credential_offer`: the offer by value.
    ByValue(Box<CredentialOffer>),
    /// `credential_offer_uri`: an `https` URL the wallet GETs (as `application/json`).
    ByReference(String),
}

impl OfferUrl {
    /// Parses the URL a wallet is invoked with (a QR code's content, a link): any scheme
    /// (`openid-credential-offer://`, `haip-vci://`, a claimed `https` URL) with exactly one of
    /// `credential_offer` and `credential_offer_uri`.
    ///
    /// # Errors
    /// [`VciError::Malformed`], [`VciError::Missing`].
    pub fn parse(url: &str) -> Result<Self, VciError> {
        if url.len() > MAX_OFFER_BYTES {
            return Err(VciError::Malformed("the offer URL is too long".into()));
        }
        let query = url
            .split_once('?')
            .map(|(_, q)| q.split('#').next().unwrap_or_default())
            .ok_or(VciError::Missing("query"))?;
        let mut by_value = None;
        let mut by_reference = None;
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match k.as_ref() {
                "credential_offer" => &mut by_value,
                "credential_offer_uri" => &mut by_reference,
                _ => continue,
            };
            if slot.replace(v.into_owned()).is_some() {
                return Err(VciError::Malformed(format!("{k} appears twice")));
            }
        }
        match (by_value, by_reference) {
            (Some(offer), None) => Ok(Self::ByValue(Box::new(CredentialOffer::from_json(
                offer.as_bytes(),
            )?))),
            (None, Some(uri)) if is_https_endpoint(&uri) => Ok(Self::ByReference(uri)),
            (None, Some(_)) => Err(VciError::Malformed(
                "credential_offer_uri is not an https URL".into(),
            )),
            (Some(_), Some(_)) => Err(VciError::Malformed(
                "both credential_offer and credential_offer_uri".into(),
            )),
            (None, None) => Err(VciError::Missing("credential_offer")),
        }
    }

    /// The URL with `scheme` (e.g. [`OFFER_SCHEME`], [`HAIP_SCHEME`], or a claimed `https`
    /// URL ending in `?`-less path).
    #[must_use]
    pub fn to_url(&self, scheme: &str) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        match self {
            Self::ByValue(offer) => {
                query.append_pair(
                    "credential_offer",
                    &serde_json::to_string(offer).unwrap_or_default(),
                );
            }
            Self::ByReference(uri) => {
                query.append_pair("credential_offer_uri", uri);
            }
        }
        format!("{scheme}?{}", query.finish())
    }
}
