//! The two ways a card reaches a phone (spec/README.md D-22):
//!
//! - **Counter QR** — an official who has seen the applicant and the physical card creates a
//!   one-time offer; the phone scans it as an OpenID4VCI 1.0 Credential Offer with a
//!   Pre-Authorized Code (§4.1), redeems it at the token endpoint with the Transaction Code
//!   shown separately (§6.1), and requests the credential with an `openid4vci-proof+jwt` key
//!   proof over the issuer's `c_nonce` (§8.2, Appendix F.1). The code is short-lived and
//!   single-use; three wrong Transaction Codes burn it. This path issues to a phone the card
//!   is not yet on only when the official marked the offer as a re-issue.
//! - **IC card tap** — the phone asks for a challenge, the card's chip signs it together with
//!   the phone's device key and the docType, and the issuer checks the signature with the
//!   chip key it enrolled when the card was made. Possession of the card is proven, so this
//!   path may move the card to a new phone without a visit.
//!
//! Pending offers, tokens and challenges are records of an `IssuanceStore` — by default in the
//! issuer's memory, bounded; `Issuer::with_issuance_store` shares them between processes
//! (SQLite, the server database) — found by the SHA-256 of their secret, and expire.

use kmid_crypto::jose::{CompactJws, b64url};
use kmid_crypto::{Algorithm, CryptoProvider, Jwk, PublicKey};
use kmid_oid4vc::store::RecordKind;
use kmid_schema::{Card, IdentityCard};
use kmid_status::registry::{Actor, RegistryStore};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::error::KmidError;
use crate::issuer::{Formats, Issued, Issuer};

/// The `typ` of an OpenID4VCI JWT key proof.
pub const KEY_PROOF_TYP: &str = "openid4vci-proof+jwt";
/// The Pre-Authorized Code grant type.
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
/// Wrong Transaction Codes after which an offer is burnt.
pub const MAX_TX_CODE_ATTEMPTS: u8 = 3;
/// Most pending offers, tokens or challenges an issuer holds at once.
pub const MAX_PENDING: usize = 65_536;
const KEY_PROOF_ALGORITHMS: [Algorithm; 3] = [Algorithm::Es256, Algorithm::Es384, Algorithm::EdDsa];
const MAX_PROOF_BYTES: usize = 8 * 1024;

/// Why a channel step was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// The pre-authorized code, access token or challenge is unknown, used or expired.
    #[error("unknown, used or expired {0}")]
    InvalidGrant(&'static str),
    /// The Transaction Code is missing or wrong.
    #[error("wrong or missing transaction code")]
    TxCode,
    /// A key proof is malformed, wrongly typed, signed badly, for another issuer, stale, or
    /// over another nonce (OpenID4VCI `invalid_proof` / `invalid_nonce`).
    #[error("invalid key proof: {0}")]
    InvalidProof(&'static str),
    /// The IC card's chip signature does not verify under the enrolled chip key.
    #[error("the IC card signature does not verify")]
    IcSignature,
    /// No chip key is enrolled for this card.
    #[error("no IC card is enrolled for this card")]
    IcNotEnrolled,
    /// The card type has no IC card (the overseas national ID is issued at a mission only).
    #[error("a {0:?} has no IC card")]
    NoIcCard(kmid_schema::CardType),
    /// The tap was signed by a retired chip (a card replaced after a loss, or re-enrolled):
    /// it never issues again.
    #[error("the IC card's chip was retired")]
    IcChipRetired,
    /// The card data presented with a tap differs from the card the chip was enrolled with.
    #[error("the card data is not the enrolled card's")]
    IcCardMismatch,
    /// The issuer holds as many pending items as it may.
    #[error("too many pending offers, tokens or challenges")]
    Busy,
}

impl ChannelError {
    /// The code of a channel error inside [`crate::KmidError`]: `Channel.` and the
    /// variant's name.
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::InvalidGrant(_) => "Channel.InvalidGrant",
            Self::TxCode => "Channel.TxCode",
            Self::InvalidProof(_) => "Channel.InvalidProof",
            Self::IcSignature => "Channel.IcSignature",
            Self::IcNotEnrolled => "Channel.IcNotEnrolled",
            Self::NoIcCard(_) => "Channel.NoIcCard",
            Self::IcChipRetired => "Channel.IcChipRetired",
            Self::IcCardMismatch => "Channel.IcCardMismatch",
            Self::Busy => "Channel.Busy",
        }
    }
}

/// How a counter offer is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferOptions {
    /// How long the QR code can be redeemed.
    pub ttl: Duration,
    /// Whether a 6-digit Transaction Code, shown to the applicant apart from the QR code, is
    /// required.
    pub tx_code: bool,
    /// The formats the offer is for.
    pub formats: Formats,
    /// The official re-issues the card to a new phone (the old phone's credentials become
    /// INVALID). Without it, a card already on another phone is refused.
    pub reissue: bool,
}

impl Default for OfferOptions {
    fn default() -> Self {
        Self {
            ttl: Duration::minutes(5),
            tx_code: true,
            formats: Formats::Both,
            reissue: false,
        }
    }
}

/// A counter offer: the QR code's content and the Transaction Code for the applicant.
#[derive(Clone)]
pub struct CounterOffer {
    /// The Credential Offer object (OpenID4VCI §4.1.1).
    pub offer: Value,
    /// `openid-credential-offer://?credential_offer=…`, what the QR code encodes.
    pub uri: String,
    /// The Transaction Code to show the applicant on another channel (the counter's screen).
    pub tx_code: Option<String>,
    /// When the offer lapses.
    pub expires_at: OffsetDateTime,
}

impl core::fmt::Debug for CounterOffer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CounterOffer")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl CounterOffer {
    /// The pre-authorized code in the offer.
    #[must_use]
    pub fn pre_authorized_code(&self) -> Option<&str> {
        self.offer
            .get("grants")?
            .get(PRE_AUTHORIZED_GRANT)?
            .get("pre-authorized_code")?
            .as_str()
    }
}

/// A successful token response (OpenID4VCI §6.2, with the `c_nonce` of §7).
#[derive(Clone, PartialEq, Eq)]
pub struct TokenResponse {
    /// The access token for the credential endpoint (single use).
    pub access_token: String,
    /// The nonce the key proofs must carry.
    pub c_nonce: String,
    /// Seconds until the token lapses.
    pub expires_in: i64,
}

impl core::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// A challenge for an IC card tap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcChallenge {
    /// 32 random bytes, base64url.
    pub nonce: String,
    /// When it lapses.
    pub expires_at: OffsetDateTime,
}

/// The message an IC card's chip signs for a tap: binds the issuer's challenge, the phone's
/// device key (by RFC 7638 thumbprint) and the docType, so a signature cannot be replayed
/// for another phone or card type.
///
/// `"kmid-ic-tap-v1" 0x00 challenge 0x00 thumbprint 0x00 docType`
///
/// # Errors
/// Only backend failures computing the thumbprint.
pub fn ic_tap_message(
    provider: &CryptoProvider,
    challenge: &str,
    device_key: &PublicKey,
    doc_type: &str,
) -> Result<Vec<u8>, KmidError> {
    let thumbprint = device_key.thumbprint_sha256_on(provider)?;
    let mut message = b"kmid-ic-tap-v1\0".to_vec();
    for (i, part) in [challenge, thumbprint.as_str(), doc_type]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            message.push(0);
        }
        message.extend_from_slice(part.as_bytes());
    }
    Ok(message)
}

/// A pending counter offer, as the store keeps it (the Transaction Code by its hash only).
#[derive(serde::Serialize, serde::Deserialize)]
struct PendingOffer {
    card: Card,
    formats: String,
    reissue: bool,
    tx_code: Option<String>,
}

/// A pending access token, as the store keeps it.
#[derive(serde::Serialize, serde::Deserialize)]
struct PendingToken {
    card: Card,
    formats: String,
    reissue: bool,
    c_nonce: String,
}

const fn formats_name(formats: Formats) -> &'static str {
    match formats {
        Formats::Mdoc => "mdoc",
        Formats::SdJwtVc => "sd-jwt",
        Formats::Both => "both",
    }
}

fn formats_of(name: &str) -> Formats {
    match name {
        "mdoc" => Formats::Mdoc,
        "sd-jwt" => Formats::SdJwtVc,
        _ => Formats::Both,
    }
}

fn stored<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, KmidError> {
    serde_json::from_slice(bytes)
        .map_err(|_| crate::issuer::registry_fault("a pending channel record does not parse"))
}

fn store_error(e: kmid_oid4vc::store::StoreError) -> KmidError {
    match e {
        kmid_oid4vc::store::StoreError::Full => ChannelError::Busy.into(),
        other => crate::issuer::registry_fault(&format!("issuance store: {other}")),
    }
}

/// The nonce a renewal's key proof signs, and the registry's handle of the renewal grant:
/// base64url of the SHA-256 of the grant, so neither the proof nor the registry carries the
/// secret itself.
///
/// # Errors
/// Only backend failures.
pub fn renewal_nonce(provider: &CryptoProvider, grant: &str) -> Result<String, KmidError> {
    handle(provider, grant)
}

/// Looked up by the SHA-256 of the secret, so the map never holds a usable code and the
/// lookup does not compare secrets byte by byte.
fn handle(provider: &CryptoProvider, secret: &str) -> Result<String, KmidError> {
    Ok(b64url(&provider.sha256(secret.as_bytes())?))
}

impl<S: RegistryStore> Issuer<S> {
    pub(crate) fn secret(&self, bytes: usize) -> Result<String, KmidError> {
        let mut buf = vec![0u8; bytes];
        self.random.fill_secret(&mut buf)?;
        Ok(b64url(&buf))
    }

    /// The Credential Issuer Identifier (`aud` of key proofs): `<authority URI>/kmid`, or
    /// what [`Issuer::with_credential_issuer`] set.
    #[must_use]
    pub fn credential_issuer(&self) -> String {
        self.identifier
            .clone()
            .unwrap_or_else(|| format!("{}/kmid", self.keys.authority.uri()))
    }

    /// The counter official's step: a one-time Credential Offer for `card` (the applicant
    /// and the physical card are in front of them), redeemable until `at + options.ttl`.
    ///
    /// # Errors
    /// [`KmidError::WrongAuthority`], [`KmidError::NotEligible`], [`KmidError::CardExpired`];
    /// [`ChannelError::Busy`].
    pub fn counter_offer(
        &self,
        card: &Card,
        options: &OfferOptions,
        at: OffsetDateTime,
    ) -> Result<CounterOffer, KmidError> {
        self.check_card(card, at)?;
        let code = self.secret(32)?;
        let tx_code = if options.tx_code {
            let mut digits = [0u8; 8];
            self.random.fill_secret(&mut digits)?;
            let n = u64::from_be_bytes(digits) % 1_000_000;
            Some(format!("{n:06}"))
        } else {
            None
        };
        let expires_at = at + options.ttl;
        let record = PendingOffer {
            card: card.clone(),
            formats: formats_name(options.formats).to_owned(),
            reissue: options.reissue,
            tx_code: tx_code
                .as_deref()
                .map(|t| handle(self.provider, t))
                .transpose()?,
        };
        self.channels
            .insert(
                RecordKind::PreAuthorizedCode,
                &handle(self.provider, &code)?,
                &serde_json::to_vec(&record)
                    .map_err(|_| crate::issuer::registry_fault("the card does not serialize"))?,
                expires_at,
                at,
            )
            .map_err(store_error)?;
        let doc_type = card.card_type().doc_type();
        let configurations: Vec<String> = match options.formats {
            Formats::Mdoc => vec![format!("{doc_type}.mso_mdoc")],
            Formats::SdJwtVc => vec![format!("{doc_type}.dc+sd-jwt")],
            Formats::Both => vec![
                format!("{doc_type}.mso_mdoc"),
                format!("{doc_type}.dc+sd-jwt"),
            ],
        };
        let mut grant = serde_json::Map::new();
        grant.insert("pre-authorized_code".into(), json!(code));
        if options.tx_code {
            grant.insert(
                "tx_code".into(),
                json!({
                    "input_mode": "numeric",
                    "length": 6,
                    "description": "The 6-digit code shown on the counter's screen",
                }),
            );
        }
        let offer = json!({
            "credential_issuer": self.credential_issuer(),
            "credential_configuration_ids": configurations,
            "grants": { PRE_AUTHORIZED_GRANT: grant },
        });
        let uri = format!(
            "openid-credential-offer://?credential_offer={}",
            percent_encode(&offer.to_string())
        );
        Ok(CounterOffer {
            offer,
            uri,
            tx_code,
            expires_at,
        })
    }

    /// The token endpoint for the Pre-Authorized Code grant: consumes the code (single use)
    /// when the Transaction Code is right; a wrong one counts, and the third burns the code.
    ///
    /// # Errors
    /// [`ChannelError::InvalidGrant`], [`ChannelError::TxCode`], [`ChannelError::Busy`].
    pub fn token(
        &self,
        pre_authorized_code: &str,
        tx_code: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<TokenResponse, KmidError> {
        let key = handle(self.provider, pre_authorized_code)?;
        let access_token = self.secret(32)?;
        let c_nonce = self.secret(16)?;
        let offer: PendingOffer = stored(
            &self
                .channels
                .get(RecordKind::PreAuthorizedCode, &key, at)
                .map_err(store_error)?
                .ok_or(ChannelError::InvalidGrant("pre-authorized code"))?,
        )?;
        if offer.tx_code.is_none() && tx_code.is_some() {
            return Err(ChannelError::TxCode.into());
        }
        if let Some(expected) = &offer.tx_code {
            let given = handle(self.provider, tx_code.unwrap_or_default())?;
            if tx_code.is_none()
                || !kmid_crypto::session::constant_time_eq(expected.as_bytes(), given.as_bytes())
            {
                let failures = self
                    .channels
                    .count_failure(RecordKind::PreAuthorizedCode, &key, at)
                    .map_err(store_error)?
                    .unwrap_or(u32::from(MAX_TX_CODE_ATTEMPTS));
                if failures >= u32::from(MAX_TX_CODE_ATTEMPTS) {
                    self.channels
                        .take(RecordKind::PreAuthorizedCode, &key, at)
                        .map_err(store_error)?;
                }
                return Err(ChannelError::TxCode.into());
            }
        }
        // Single use: of two racing redemptions, one takes it.
        self.channels
            .take(RecordKind::PreAuthorizedCode, &key, at)
            .map_err(store_error)?
            .ok_or(ChannelError::InvalidGrant("pre-authorized code"))?;
        let ttl = Duration::minutes(5);
        let token = PendingToken {
            card: offer.card,
            formats: offer.formats,
            reissue: offer.reissue,
            c_nonce: c_nonce.clone(),
        };
        self.channels
            .insert(
                RecordKind::AccessToken,
                &handle(self.provider, &access_token)?,
                &serde_json::to_vec(&token)
                    .map_err(|_| crate::issuer::registry_fault("the card does not serialize"))?,
                at + ttl,
                at,
            )
            .map_err(store_error)?;
        Ok(TokenResponse {
            access_token,
            c_nonce,
            expires_in: ttl.whole_seconds(),
        })
    }

    /// The credential endpoint: checks the key proof (typ, algorithm, `jwk` header,
    /// signature, `aud` = this issuer, `iat` within five minutes, `nonce` = the token's
    /// `c_nonce`) and issues one credential set to the proven key. Exactly one proof is
    /// accepted: batch issuance over this channel needs a key attestation showing the keys
    /// share one device, which is not implemented ([`Issuer::issue_batch`] is for an
    /// issuer that knows). The access token is single-use.
    ///
    /// # Errors
    /// [`ChannelError::InvalidGrant`], [`ChannelError::InvalidProof`], and
    /// [`Issuer::issue`]'s refusals (a card on another phone without `reissue`:
    /// `SecondDevice`).
    pub fn credential(
        &self,
        access_token: &str,
        proofs: &[String],
        at: OffsetDateTime,
    ) -> Result<Vec<Issued>, KmidError> {
        let token: PendingToken = stored(
            &self
                .channels
                .take(
                    RecordKind::AccessToken,
                    &handle(self.provider, access_token)?,
                    at,
                )
                .map_err(store_error)?
                .ok_or(ChannelError::InvalidGrant("access token"))?,
        )?;
        // One proof per token: without a key attestation nothing shows that several keys
        // are on one phone, and the one-phone rule and loss reports key on the device.
        if proofs.len() != 1 {
            return Err(ChannelError::InvalidProof("exactly one proof").into());
        }
        let keys = proofs
            .iter()
            .map(|p| self.check_key_proof(p, &token.c_nonce, at))
            .collect::<Result<Vec<_>, _>>()?;
        let first = keys.first().ok_or(ChannelError::InvalidProof("no proof"))?;
        let device = first.thumbprint_sha256_on(self.provider)?;
        if token.reissue {
            self.move_to_device(&token.card, &device, "counter re-issue", at)?;
        }
        self.issue_to(&token.card, &device, &keys, formats_of(&token.formats), at)
    }

    pub(crate) fn check_key_proof(
        &self,
        proof: &str,
        c_nonce: &str,
        at: OffsetDateTime,
    ) -> Result<PublicKey, KmidError> {
        let bad = |why| KmidError::from(ChannelError::InvalidProof(why));
        if proof.len() > MAX_PROOF_BYTES {
            return Err(bad("too large"));
        }
        let jws = CompactJws::parse(proof).map_err(|_| bad("not a compact JWS"))?;
        if !jws.typ_is(KEY_PROOF_TYP) {
            return Err(bad("typ is not openid4vci-proof+jwt"));
        }
        let alg = jws
            .algorithm(&KEY_PROOF_ALGORITHMS)
            .map_err(|_| bad("algorithm not accepted"))?;
        if jws.header.contains_key("kid") || jws.header.contains_key("x5c") {
            return Err(bad("the key must be a jwk header alone"));
        }
        let jwk: Jwk = jws
            .header
            .get("jwk")
            .cloned()
            .and_then(|j| serde_json::from_value(j).ok())
            .ok_or_else(|| bad("no jwk header"))?;
        if jwk.d.is_some() {
            return Err(bad("the jwk holds a private key"));
        }
        let key = jwk.to_public_key().map_err(|_| bad("unusable jwk"))?;
        jws.verify(&key, alg, self.provider.signature_verifier)
            .map_err(|_| bad("signature"))?;
        let claims = jws.payload_object().map_err(|_| bad("payload"))?;
        if claims.get("aud").and_then(Value::as_str) != Some(self.credential_issuer().as_str()) {
            return Err(bad("aud is not this credential issuer"));
        }
        let nonce = claims.get("nonce").and_then(Value::as_str).unwrap_or("");
        if !kmid_crypto::session::constant_time_eq(nonce.as_bytes(), c_nonce.as_bytes()) {
            return Err(bad("nonce is not the c_nonce"));
        }
        let iat = claims
            .get("iat")
            .and_then(Value::as_i64)
            .ok_or_else(|| bad("no iat"))?;
        if iat.abs_diff(at.unix_timestamp()) > 300 {
            return Err(bad("iat outside five minutes"));
        }
        Ok(key)
    }

    /// Enrolls the chip key of `card`'s IC card in the registry, with a keyed digest of the
    /// card's data as issued (done when the physical card is made, or re-enrolled at `at`). A
    /// tap issues this data and nothing the phone supplies. Another chip enrolled for the card
    /// before is retired for good.
    ///
    /// # Errors
    /// [`ChannelError::NoIcCard`] for a card type without one; the registry's
    /// `ChipRetired` (a retired chip is never enrolled again) and `CardLost`; backend failures.
    pub fn enroll_ic_card(
        &self,
        card: &Card,
        chip_key: &PublicKey,
        at: OffsetDateTime,
    ) -> Result<(), KmidError> {
        if !card.card_type().has_ic_card() {
            return Err(ChannelError::NoIcCard(card.card_type()).into());
        }
        let card_key = self.card_key(card)?;
        self.registry.enroll_chip(
            &card_key,
            &chip_key.to_spki_der()?,
            &self.card_digest(card)?,
            &Actor {
                who: self.keys.authority.slug(),
                at,
                reason: "IC card enrolment",
            },
        )?;
        Ok(())
    }

    /// The keyed digest of `card`'s data that an enrolled chip vouches for: HMAC-SHA-256 under
    /// the card-key secret of a label and the card's JSON, so the registry holds no personal
    /// data and the digest cannot be tried against guessed cards without the secret.
    fn card_digest(&self, card: &Card) -> Result<[u8; 32], KmidError> {
        let json = serde_json::to_vec(card)
            .map_err(|_| crate::issuer::registry_fault("the card does not serialize"))?;
        let mut input = b"kmid-ic-card-data-v1\0".to_vec();
        input.extend_from_slice(&json);
        self.card_key_mac(&input)
    }

    /// A fresh challenge for an IC card tap, valid for two minutes.
    ///
    /// # Errors
    /// [`ChannelError::Busy`]; `random` failing.
    pub fn ic_challenge(&self, at: OffsetDateTime) -> Result<IcChallenge, KmidError> {
        let nonce = self.secret(32)?;
        let expires_at = at + Duration::minutes(2);
        self.channels
            .insert(
                RecordKind::IcChallenge,
                &handle(self.provider, &nonce)?,
                b"",
                expires_at,
                at,
            )
            .map_err(store_error)?;
        Ok(IcChallenge { nonce, expires_at })
    }

    /// Issues `card` to `device_key` on the proof of an IC card tap: `chip_signature` is the
    /// chip's signature over [`ic_tap_message`] of `challenge`. The challenge is single-use.
    /// When the card is on another phone it moves here (re-issue without a visit; the old
    /// phone's credentials become INVALID).
    ///
    /// # Errors
    /// [`ChannelError::NoIcCard`], [`ChannelError::InvalidGrant`] (challenge),
    /// [`ChannelError::IcNotEnrolled`],
    /// [`ChannelError::IcSignature`], and [`Issuer::issue`]'s refusals.
    pub fn issue_by_ic_card(
        &self,
        card: &Card,
        challenge: &str,
        chip_signature: &[u8],
        device_key: &PublicKey,
        formats: Formats,
        at: OffsetDateTime,
    ) -> Result<Issued, KmidError> {
        if !card.card_type().has_ic_card() {
            return Err(ChannelError::NoIcCard(card.card_type()).into());
        }
        self.check_card(card, at)?;
        let card_key = self.card_key(card)?;
        self.channels
            .take(
                RecordKind::IcChallenge,
                &handle(self.provider, challenge)?,
                at,
            )
            .map_err(store_error)?
            .ok_or(ChannelError::InvalidGrant("IC challenge"))?;
        let chip = match self.registry.chip_for_tap(&card_key) {
            Ok(chip) => chip,
            Err(kmid_status::StatusListError::Registry(
                kmid_status::RegistryError::ChipNotEnrolled,
            )) => {
                // A card replaced after a loss has no chip until the new one is enrolled; a
                // tap of the old card is the retired chip's.
                return Err(self
                    .retired_or(
                        &card_key,
                        device_key,
                        challenge,
                        card,
                        chip_signature,
                        ChannelError::IcNotEnrolled,
                    )?
                    .into());
            }
            Err(e) => return Err(e.into()),
        };
        let chip_key = PublicKey::from_spki_der(&chip.chip_key)?;
        // The chip vouches for the enrolled card only: the data issued is the enrolled data.
        if !kmid_crypto::session::constant_time_eq(&self.card_digest(card)?, &chip.card_digest) {
            return Err(ChannelError::IcCardMismatch.into());
        }
        let message = ic_tap_message(
            self.provider,
            challenge,
            device_key,
            card.card_type().doc_type(),
        )?;
        let alg = chip_key.algorithm();
        if self
            .provider
            .verify(alg, &chip_key, &message, chip_signature)
            .is_err()
        {
            return Err(self
                .retired_or(
                    &card_key,
                    device_key,
                    challenge,
                    card,
                    chip_signature,
                    ChannelError::IcSignature,
                )?
                .into());
        }
        let device = device_key.thumbprint_sha256_on(self.provider)?;
        self.move_to_device(card, &device, "IC card re-issue", at)?;
        self.issue_to(
            card,
            &device,
            core::slice::from_ref(device_key),
            formats,
            at,
        )?
        .pop()
        .ok_or_else(|| crate::issuer::registry_fault("no credential was issued"))
    }

    /// Moves a registered card to `device` when it is on another one; a new card or one
    /// already on `device` is left as is.
    /// [`ChannelError::IcChipRetired`] when `signature` is a retired chip's of the card over
    /// this tap, else `otherwise`.
    fn retired_or(
        &self,
        card_key: &str,
        device_key: &PublicKey,
        challenge: &str,
        card: &Card,
        signature: &[u8],
        otherwise: ChannelError,
    ) -> Result<ChannelError, KmidError> {
        let message = ic_tap_message(
            self.provider,
            challenge,
            device_key,
            card.card_type().doc_type(),
        )?;
        for der in self.registry.retired_chips(card_key)? {
            if let Ok(key) = PublicKey::from_spki_der(&der)
                && self
                    .provider
                    .verify(key.algorithm(), &key, &message, signature)
                    .is_ok()
            {
                return Ok(ChannelError::IcChipRetired);
            }
        }
        Ok(otherwise)
    }

    fn move_to_device(
        &self,
        card: &Card,
        device: &str,
        reason: &'static str,
        at: OffsetDateTime,
    ) -> Result<(), KmidError> {
        let card_key = self.card_key(card)?;
        let current = match self.registry.card(&card_key) {
            Ok(record) => record,
            Err(kmid_status::StatusListError::Registry(
                kmid_status::RegistryError::UnknownCard,
            )) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if current
            .active_device
            .as_deref()
            .is_some_and(|d| d != device)
        {
            self.bind_person(card, device, true, at)?;
            self.registry.reissue_to_new_device(
                &card_key,
                device,
                &Actor {
                    who: self.keys.authority.slug(),
                    at,
                    reason,
                },
            )?;
        }
        Ok(())
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
