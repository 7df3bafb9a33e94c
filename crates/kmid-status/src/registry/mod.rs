//! The issuer's lifecycle registry: every issued credential with its status list entry, and
//! the Korean card rules as operations — a lost physical card suspends everything of the card,
//! a lost phone suspends only what is on that phone, a found card or phone is reinstated, a
//! re-issue to a new phone makes the old credentials INVALID, and a card lives on one phone at
//! a time. Every change is an append-only event, in the same transaction as the change.

mod memory;
#[cfg(feature = "sqlite")]
mod sqlite;
mod store;

pub use memory::MemoryStore;
#[cfg(feature = "sqlite")]
pub use sqlite::{Durability, SCHEMA_VERSION, SqliteStore};
pub use store::{RegistryStore, StoreTx};

use std::collections::BTreeMap;
use std::sync::Arc;

use kmid_crypto::Random;
use kmid_schema::status::{StatusReference, TokenStatus};
use time::OffsetDateTime;

use crate::error::{RegistryError, StatusListError};
use crate::list::StatusList;

/// Which format a credential is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CredentialFormat {
    /// ISO/IEC 18013-5 mdoc.
    Mdoc,
    /// SD-JWT VC.
    SdJwtVc,
}

/// The physical card's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhysicalStatus {
    /// In the holder's hands.
    Normal,
    /// Reported lost.
    Lost,
}

/// Why a credential is suspended — both reasons may hold at once, and a credential is VALID
/// again only when neither does (a found card does not reinstate what sits on a lost phone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Suspension {
    /// The physical card is reported lost.
    pub card: bool,
    /// The phone is reported lost.
    pub phone: bool,
}

impl Suspension {
    /// Neither reason.
    pub const NONE: Self = Self {
        card: false,
        phone: false,
    };

    /// Whether any reason holds.
    #[must_use]
    pub const fn any(self) -> bool {
        self.card || self.phone
    }

    /// The two reasons as bits (card = 1, phone = 2), as stores keep them.
    #[must_use]
    pub const fn bits(self) -> u8 {
        (if self.card { 1 } else { 0 }) | (if self.phone { 2 } else { 0 })
    }

    /// The reasons in `bits`; `None` when other bits are set.
    #[must_use]
    pub const fn from_bits(bits: u8) -> Option<Self> {
        if bits > 3 {
            return None;
        }
        Some(Self {
            card: bits & 1 != 0,
            phone: bits & 2 != 0,
        })
    }
}

/// A card, as the registry knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardRecord {
    /// The issuer's key for the card (an opaque identifier, e.g. a keyed hash of the
    /// registration number and card type; never the number itself).
    pub card_key: String,
    /// The physical card's state.
    pub physical: PhysicalStatus,
    /// The one device the card's mobile credentials live on.
    pub active_device: Option<String>,
}

/// An issued credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialRecord {
    /// Its id in the registry.
    pub id: u64,
    /// Its card.
    pub card_key: String,
    /// The holder device's key thumbprint (RFC 7638).
    pub device: String,
    /// Its format.
    pub format: CredentialFormat,
    /// Its status list.
    pub list_id: u64,
    /// Its index in that list.
    pub idx: u64,
    /// Its status value.
    pub status: u8,
    /// Why it is suspended (both false unless it is SUSPENDED).
    pub suspension: Suspension,
    /// The issuance it belongs to: the card's issuances are numbered from 1, and every
    /// credential of one issuance (both formats, a batch of keys) carries its number.
    /// Credentials registered before issuances were recorded carry 0.
    pub issuance: u64,
}

/// The IC chip enrolled for a card: the key its chip signs taps with, and a digest of the card
/// data it vouches for (the issuer's keyed digest, so the registry holds no personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChipRecord {
    /// The card.
    pub card_key: String,
    /// The chip's public key (SubjectPublicKeyInfo, DER).
    pub chip_key: Vec<u8>,
    /// The issuer's digest of the card data the chip vouches for.
    pub card_digest: Vec<u8>,
    /// When it was enrolled, Unix seconds.
    pub enrolled_at: i64,
}

/// A renewal grant's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantState {
    /// It may be redeemed once.
    Active,
    /// It was redeemed.
    Used,
    /// It was revoked.
    Revoked,
}

/// How the stores name the registry's enumerations in their rows (one spelling for SQLite and
/// PostgreSQL; the schemas' CHECK constraints allow only these). Reading is forgiving in the
/// safe direction only: an unknown grant state is spent.
// The names PostgreSQL stores (SQLite keeps its own encoding).
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
impl CredentialFormat {
    pub(crate) const fn stored_name(self) -> &'static str {
        match self {
            Self::Mdoc => "mdoc",
            Self::SdJwtVc => "sd-jwt-vc",
        }
    }

    pub(crate) fn from_stored(name: &str) -> Self {
        if name == "mdoc" {
            Self::Mdoc
        } else {
            Self::SdJwtVc
        }
    }
}

// The names PostgreSQL stores (SQLite keeps its own encoding).
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
impl PhysicalStatus {
    pub(crate) const fn stored_name(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Lost => "lost",
        }
    }

    pub(crate) fn from_stored(name: &str) -> Self {
        if name == "lost" {
            Self::Lost
        } else {
            Self::Normal
        }
    }
}

// The names PostgreSQL stores (SQLite keeps its own encoding).
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
impl GrantState {
    pub(crate) const fn stored_name(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Used => "used",
            Self::Revoked => "revoked",
        }
    }

    pub(crate) fn from_stored(name: &str) -> Self {
        match name {
            "active" => Self::Active,
            "used" => Self::Used,
            // Anything else is spent: a grant is never revived by a damaged row.
            _ => Self::Revoked,
        }
    }
}

/// A renewal grant: the handle (a digest) of a secret given to the holder, bound to a card,
/// a device and an issuance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRecord {
    /// The grant's handle.
    pub handle: String,
    /// Its card.
    pub card_key: String,
    /// The device it was given to.
    pub device: String,
    /// The issuance it renews.
    pub issuance: u64,
    /// Its state.
    pub state: GrantState,
}

/// Why a renewal was refused (besides a lost card or phone, or a card on another phone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RenewalRefusal {
    /// No such grant.
    Unknown,
    /// The grant was redeemed already (single use).
    Used,
    /// The grant was revoked.
    Revoked,
    /// The renewal is asked for another card than the grant's.
    OtherCard,
    /// The renewal is asked for by another device than the grant's.
    OtherDevice,
    /// The card was issued again since: the grant's issuance is not the latest.
    Superseded,
    /// Every credential of the grant's issuance is INVALID (revoked).
    CredentialsInvalid,
}

impl RenewalRefusal {
    /// Its name in error codes.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Unknown => "Unknown",
            Self::Used => "Used",
            Self::Revoked => "Revoked",
            Self::OtherCard => "OtherCard",
            Self::OtherDevice => "OtherDevice",
            Self::Superseded => "Superseded",
            Self::CredentialsInvalid => "CredentialsInvalid",
        }
    }
}

/// A credential to insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    /// Its card.
    pub card_key: String,
    /// Its device.
    pub device: String,
    /// Its format.
    pub format: CredentialFormat,
    /// Its list.
    pub list_id: u64,
    /// Its index.
    pub idx: u64,
    /// Its issuance (see [`CredentialRecord::issuance`]).
    pub issuance: u64,
}

/// A status list the registry publishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRecord {
    /// Its id.
    pub id: u64,
    /// The URI it is published at (the token's `sub`).
    pub uri: String,
    /// Bits per entry.
    pub bits: u8,
    /// Entries.
    pub size: u64,
    /// Entries allocated.
    pub used: u64,
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// A credential was issued.
    Register,
    /// The physical card was reported lost.
    CardLost,
    /// The phone was reported lost.
    PhoneLost,
    /// A card or phone was found again.
    Reinstate,
    /// The card moved to a new phone.
    Reissue,
    /// A new physical card replaced a lost one.
    Replace,
    /// A credential was revoked.
    Revoke,
    /// A credential expired.
    Expire,
    /// A newer issuance of the card made a credential INVALID.
    Supersede,
    /// An IC chip was enrolled for a card.
    ChipEnroll,
    /// An IC chip was retired for good.
    ChipRetire,
    /// A renewal grant was redeemed.
    Renew,
    /// A card's renewal grants were revoked.
    RenewalRevoke,
    /// A person's mobile IDs were bound to a phone, or moved to another.
    PersonPhone,
}

impl Operation {
    /// Its name in the event log.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::CardLost => "card_lost",
            Self::PhoneLost => "phone_lost",
            Self::Reinstate => "reinstate",
            Self::Reissue => "reissue",
            Self::Replace => "replace",
            Self::Revoke => "revoke",
            Self::Expire => "expire",
            Self::Supersede => "supersede",
            Self::ChipEnroll => "chip_enroll",
            Self::ChipRetire => "chip_retire",
            Self::Renew => "renew",
            Self::RenewalRevoke => "renewal_revoke",
            Self::PersonPhone => "person_phone",
        }
    }

    /// The operation named `name`.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Register,
            Self::CardLost,
            Self::PhoneLost,
            Self::Reinstate,
            Self::Reissue,
            Self::Replace,
            Self::Revoke,
            Self::Expire,
            Self::Supersede,
            Self::ChipEnroll,
            Self::ChipRetire,
            Self::Renew,
            Self::RenewalRevoke,
            Self::PersonPhone,
        ]
        .into_iter()
        .find(|o| o.name() == name)
    }
}

/// One entry of the append-only log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Sequence number (set by the store).
    pub seq: u64,
    /// When, Unix seconds.
    pub at: i64,
    /// Who (an officer, a holder's app, the system).
    pub actor: String,
    /// What.
    pub operation: Operation,
    /// Which card.
    pub card_key: Option<String>,
    /// Which device.
    pub device: Option<String>,
    /// Which credential (none for card-level events).
    pub credential: Option<u64>,
    /// Why.
    pub reason: String,
    /// Status before.
    pub old_status: Option<u8>,
    /// Status after.
    pub new_status: Option<u8>,
}

/// Who did something, when, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor<'a> {
    /// Who.
    pub who: &'a str,
    /// When.
    pub at: OffsetDateTime,
    /// Why.
    pub reason: &'a str,
}

/// How the registry lays out its status lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryConfig {
    /// Lists are published at `{base_uri}/{list id}`.
    pub base_uri: String,
    /// Bits per entry (2: VALID, INVALID, SUSPENDED).
    pub bits: u8,
    /// Entries per list.
    pub list_size: u64,
    /// A list takes new credentials until this many entries are allocated (a half-full list
    /// keeps random allocation cheap and indices uninformative).
    pub list_capacity: u64,
}

impl RegistryConfig {
    /// Lists of 2^20 two-bit entries, each filled to half, under `base_uri`.
    #[must_use]
    pub fn new(base_uri: impl Into<String>) -> Self {
        Self {
            base_uri: base_uri.into(),
            bits: 2,
            list_size: 1 << 20,
            list_capacity: 1 << 19,
        }
    }
}

/// A registered credential's status entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// The credential's id in the registry.
    pub credential: u64,
    /// What to put in the credential's `status.status_list`.
    pub reference: StatusReference,
}

/// The lifecycle registry over a store.
pub struct StatusRegistry<S> {
    store: S,
    config: RegistryConfig,
    random: Arc<dyn Random>,
}

impl<S> core::fmt::Debug for StatusRegistry<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StatusRegistry")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

const VALID: u8 = 0;
const INVALID: u8 = 1;
const SUSPENDED: u8 = 2;

fn event(
    actor: &Actor<'_>,
    operation: Operation,
    card: Option<&str>,
    device: Option<&str>,
    credential: Option<u64>,
    old: Option<u8>,
    new: Option<u8>,
) -> Event {
    Event {
        seq: 0,
        at: actor.at.unix_timestamp(),
        actor: actor.who.to_owned(),
        operation,
        card_key: card.map(str::to_owned),
        device: device.map(str::to_owned),
        credential,
        reason: actor.reason.to_owned(),
        old_status: old,
        new_status: new,
    }
}

/// Logs a card- or device-level change (no credential, no status).
fn log_change(
    tx: &mut dyn StoreTx,
    actor: &Actor<'_>,
    operation: Operation,
    card: Option<&str>,
    device: Option<&str>,
) -> Result<(), RegistryError> {
    tx.append_event(&event(actor, operation, card, device, None, None, None))
        .map(drop)
}

/// The status a credential that is not INVALID has under `suspension`.
const fn status_under(suspension: Suspension) -> u8 {
    if suspension.any() { SUSPENDED } else { VALID }
}

/// Applies `change` to the suspension of every credential that is not INVALID, stores the
/// result and logs one event for each credential whose record changed; returns how many
/// credentials changed status.
fn resuspend(
    tx: &mut dyn StoreTx,
    credentials: &[CredentialRecord],
    change: impl Fn(Suspension) -> Suspension,
    operation: Operation,
    actor: &Actor<'_>,
) -> Result<usize, RegistryError> {
    let mut changed = 0usize;
    for c in credentials.iter().filter(|c| c.status != INVALID) {
        let suspension = change(c.suspension);
        if suspension == c.suspension {
            continue;
        }
        let to = status_under(suspension);
        tx.set_status(c.id, to, suspension)?;
        tx.append_event(&event(
            actor,
            operation,
            Some(&c.card_key),
            Some(&c.device),
            Some(c.id),
            Some(c.status),
            Some(to),
        ))?;
        if to != c.status {
            changed = changed.saturating_add(1);
        }
    }
    Ok(changed)
}

/// Retires `chip` for good, with its event.
fn retire(tx: &mut dyn StoreTx, chip: &ChipRecord, actor: &Actor<'_>) -> Result<(), RegistryError> {
    tx.retire_chip(&chip.card_key, &chip.chip_key)?;
    log_change(tx, actor, Operation::ChipRetire, Some(&chip.card_key), None)
}

/// Makes every credential in `credentials` that is not yet INVALID INVALID; returns how many.
fn invalidate_all(
    tx: &mut dyn StoreTx,
    credentials: &[CredentialRecord],
    operation: Operation,
    actor: &Actor<'_>,
) -> Result<usize, RegistryError> {
    let mut changed = 0usize;
    for c in credentials.iter().filter(|c| c.status != INVALID) {
        tx.set_status(c.id, INVALID, Suspension::NONE)?;
        tx.append_event(&event(
            actor,
            operation,
            Some(&c.card_key),
            Some(&c.device),
            Some(c.id),
            Some(c.status),
            Some(INVALID),
        ))?;
        changed = changed.saturating_add(1);
    }
    Ok(changed)
}

impl<S: RegistryStore> StatusRegistry<S> {
    /// A registry over `store`, drawing indices from `random`.
    pub fn new(store: S, config: RegistryConfig, random: Arc<dyn Random>) -> Self {
        Self {
            store,
            config,
            random,
        }
    }

    /// The store (for what only it knows: a server database's conflict count, say).
    pub const fn store(&self) -> &S {
        &self.store
    }

    fn with<R>(&self, f: impl FnOnce(&S) -> Result<R, RegistryError>) -> Result<R, RegistryError> {
        f(&self.store)
    }

    /// Places a new credential of `card_key` on `device` at a random free index of the open
    /// list (opening one when none has room): the list, the index and the credential's id.
    fn allocate(
        &self,
        tx: &mut dyn StoreTx,
        card_key: &str,
        device: &str,
        format: CredentialFormat,
        issuance: u64,
    ) -> Result<(ListRecord, u64, u64), RegistryError> {
        let lists = tx.lists()?;
        let open = lists
            .iter()
            .rev()
            .find(|l| l.used < self.config.list_capacity.min(l.size))
            .cloned();
        let list = match open {
            Some(l) => l,
            None => {
                let next = u64::try_from(lists.len())
                    .unwrap_or(u64::MAX)
                    .saturating_add(1);
                let uri = format!("{}/{next}", self.config.base_uri.trim_end_matches('/'));
                let id = tx.insert_list(&uri, self.config.bits, self.config.list_size)?;
                ListRecord {
                    id,
                    uri,
                    bits: self.config.bits,
                    size: self.config.list_size,
                    used: 0,
                }
            }
        };
        // Random, not sequential: an index tells nothing about the order of issue
        // (draft-ietf-oauth-status-list §12.4, §13.2). The list is at most half full, so a few draws do.
        for _ in 0..128 {
            let mut b = [0u8; 8];
            self.random
                .fill(&mut b)
                .map_err(|e| RegistryError::Storage(e.to_string()))?;
            let idx = u64::from_be_bytes(b)
                .checked_rem(list.size)
                .ok_or(RegistryError::Full)?;
            // The store inserts only at a free index (a unique key), so two issuers drawing
            // the same index cannot both have it.
            if let Some(id) = tx.insert_credential(&NewCredential {
                card_key: card_key.to_owned(),
                device: device.to_owned(),
                format,
                list_id: list.id,
                idx,
                issuance,
            })? {
                return Ok((list, idx, id));
            }
        }
        Err(RegistryError::Full)
    }

    /// Registers one credential of `card_key` issued to `device`, as an issuance of its own:
    /// [`Self::register_issuance`] with one format.
    ///
    /// # Errors
    /// As [`Self::register_issuance`].
    pub fn register(
        &self,
        card_key: &str,
        device: &str,
        format: CredentialFormat,
        actor: &Actor<'_>,
    ) -> Result<Registration, StatusListError> {
        self.register_issuance(card_key, device, &[format], actor)?
            .pop()
            .ok_or_else(|| StatusListError::from(RegistryError::Storage("no credential".into())))
    }

    /// Registers one issuance of `card_key` to `device`: a credential for each of `formats`
    /// (both formats, a batch of device keys), in one transaction. The card's one active device
    /// must be this one (or none yet); a lost physical card or a lost phone takes no new
    /// credential. Every earlier credential of the card that is not INVALID becomes INVALID
    /// (D-14: a new issuance — an address change, a re-issue on the same phone — makes the old
    /// credential stop working), while the credentials of this issuance stand together.
    /// Returns the registrations in the order of `formats`.
    ///
    /// # Errors
    /// [`RegistryError::SecondDevice`], [`RegistryError::CardLost`],
    /// [`RegistryError::DeviceLost`], storage failures.
    pub fn register_issuance(
        &self,
        card_key: &str,
        device: &str,
        formats: &[CredentialFormat],
        actor: &Actor<'_>,
    ) -> Result<Vec<Registration>, StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| {
                self.issuance(tx, card_key, device, formats, None, actor)
                    .map(|(_, r)| r)
            })
        })?)
    }

    /// [`Self::register_issuance`], and a renewal grant for it: `grant` is the handle (a
    /// digest) of a secret the issuer gives the holder with the credentials, bound to the card,
    /// `device` and this issuance, which [`Self::redeem_renewal`] accepts once.
    ///
    /// # Errors
    /// As [`Self::register_issuance`].
    pub fn register_renewable_issuance(
        &self,
        card_key: &str,
        device: &str,
        formats: &[CredentialFormat],
        grant: &str,
        actor: &Actor<'_>,
    ) -> Result<Vec<Registration>, StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| {
                self.issuance(tx, card_key, device, formats, Some(grant), actor)
                    .map(|(_, r)| r)
            })
        })?)
    }

    /// [`Self::register_renewable_issuance`] (or without a grant), returning the issuance's
    /// number too, so that credentials asked for separately for the same issuance — the other
    /// format of one OpenID4VCI access token, which comes in its own Credential Request — can
    /// join it with [`Self::extend_issuance`] instead of superseding it.
    ///
    /// # Errors
    /// As [`Self::register_issuance`].
    pub fn open_issuance(
        &self,
        card_key: &str,
        device: &str,
        formats: &[CredentialFormat],
        grant: Option<&str>,
        actor: &Actor<'_>,
    ) -> Result<(u64, Vec<Registration>), StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| self.issuance(tx, card_key, device, formats, grant, actor))
        })?)
    }

    /// Adds a credential for each of `formats` to `issuance` of `card_key` on `device`,
    /// superseding nothing. Refused unless that issuance is the card's latest and not all
    /// INVALID ([`RegistryError::Superseded`]), the card is on `device`
    /// ([`RegistryError::SecondDevice`]) and not lost, and the device is not lost.
    ///
    /// # Errors
    /// As above; [`RegistryError::UnknownCard`]; storage failures.
    pub fn extend_issuance(
        &self,
        card_key: &str,
        device: &str,
        issuance: u64,
        formats: &[CredentialFormat],
        actor: &Actor<'_>,
    ) -> Result<Vec<Registration>, StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| {
                let card = tx.card(card_key)?.ok_or(RegistryError::UnknownCard)?;
                if card.physical == PhysicalStatus::Lost {
                    return Err(RegistryError::CardLost);
                }
                if tx.device_lost(device)? {
                    return Err(RegistryError::DeviceLost);
                }
                if card.active_device.as_deref() != Some(device) {
                    return Err(RegistryError::SecondDevice);
                }
                let credentials = tx.credentials_of_card(card_key)?;
                let latest = credentials.iter().map(|c| c.issuance).max().unwrap_or(0);
                let mut of_issuance = credentials.iter().filter(|c| c.issuance == issuance);
                if issuance != latest || of_issuance.all(|c| c.status == INVALID) {
                    return Err(RegistryError::Superseded);
                }
                self.register_credentials(tx, card_key, device, issuance, formats, actor)
            })
        })?)
    }

    /// Renews on the same phone without a visit: the grant `grant` (its handle) for
    /// `card_key` is spent and
    /// a new issuance of its card is registered to its device, with `next_grant` as the new
    /// issuance's grant (superseding the old credentials, as every issuance does). Refused
    /// unless the grant is unspent and unrevoked, `device` is the one it was given to, its
    /// issuance is the card's latest and not all INVALID (a revoked credential is not renewed),
    /// the card is not lost and is still on that device (not moved to another phone, not
    /// replaced), and the device is not lost. Returns the card key and the registrations.
    ///
    /// # Errors
    /// [`RegistryError::Renewal`] naming the refusal, [`RegistryError::CardLost`],
    /// [`RegistryError::DeviceLost`], [`RegistryError::SecondDevice`] (the card is on another
    /// phone, or on none after a replacement), storage failures.
    pub fn redeem_renewal(
        &self,
        grant: &str,
        card_key: &str,
        device: &str,
        formats: &[CredentialFormat],
        next_grant: &str,
        actor: &Actor<'_>,
    ) -> Result<(String, Vec<Registration>), StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| {
                let record = tx
                    .grant(grant)?
                    .ok_or(RegistryError::Renewal(RenewalRefusal::Unknown))?;
                match record.state {
                    GrantState::Active => {}
                    GrantState::Used => return Err(RegistryError::Renewal(RenewalRefusal::Used)),
                    GrantState::Revoked => {
                        return Err(RegistryError::Renewal(RenewalRefusal::Revoked));
                    }
                }
                if record.card_key != card_key {
                    return Err(RegistryError::Renewal(RenewalRefusal::OtherCard));
                }
                if record.device != device {
                    return Err(RegistryError::Renewal(RenewalRefusal::OtherDevice));
                }
                let card = tx
                    .card(&record.card_key)?
                    .ok_or(RegistryError::UnknownCard)?;
                if card.physical == PhysicalStatus::Lost {
                    return Err(RegistryError::CardLost);
                }
                if card.active_device.as_deref() != Some(device) {
                    return Err(RegistryError::SecondDevice);
                }
                let credentials = tx.credentials_of_card(&record.card_key)?;
                let latest = credentials.iter().map(|c| c.issuance).max().unwrap_or(0);
                if record.issuance != latest {
                    return Err(RegistryError::Renewal(RenewalRefusal::Superseded));
                }
                if credentials
                    .iter()
                    .filter(|c| c.issuance == record.issuance)
                    .all(|c| c.status == INVALID)
                {
                    return Err(RegistryError::Renewal(RenewalRefusal::CredentialsInvalid));
                }
                tx.set_grant_state(grant, GrantState::Used)?;
                log_change(
                    tx,
                    actor,
                    Operation::Renew,
                    Some(&record.card_key),
                    Some(device),
                )?;
                let (_, registrations) = self.issuance(
                    tx,
                    &record.card_key,
                    device,
                    formats,
                    Some(next_grant),
                    actor,
                )?;
                Ok((record.card_key, registrations))
            })
        })?)
    }

    /// Revokes every unspent renewal grant of `card_key` (the holder or the issuer stops
    /// renewal without touching the credentials); returns how many.
    ///
    /// # Errors
    /// Storage failures.
    pub fn revoke_renewals(
        &self,
        card_key: &str,
        actor: &Actor<'_>,
    ) -> Result<usize, StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| {
                let mut revoked = 0usize;
                for g in tx.grants_of_card(card_key)? {
                    if g.state == GrantState::Active {
                        tx.set_grant_state(&g.handle, GrantState::Revoked)?;
                        revoked = revoked.saturating_add(1);
                    }
                }
                if revoked > 0 {
                    log_change(tx, actor, Operation::RenewalRevoke, Some(card_key), None)?;
                }
                Ok(revoked)
            })
        })?)
    }

    /// One issuance inside `tx`: the checks, the supersession, the credentials and, with
    /// `grant`, its renewal grant. Returns the issuance number and the registrations.
    fn issuance(
        &self,
        tx: &mut dyn StoreTx,
        card_key: &str,
        device: &str,
        formats: &[CredentialFormat],
        grant: Option<&str>,
        actor: &Actor<'_>,
    ) -> Result<(u64, Vec<Registration>), RegistryError> {
        let card = match tx.card(card_key)? {
            Some(card) => card,
            None => CardRecord {
                card_key: card_key.to_owned(),
                physical: PhysicalStatus::Normal,
                active_device: None,
            },
        };
        if card.physical == PhysicalStatus::Lost {
            return Err(RegistryError::CardLost);
        }
        if tx.device_lost(device)? {
            return Err(RegistryError::DeviceLost);
        }
        match &card.active_device {
            Some(d) if d != device => return Err(RegistryError::SecondDevice),
            Some(_) => {}
            None => tx.put_card(&CardRecord {
                active_device: Some(device.to_owned()),
                ..card.clone()
            })?,
        }
        let earlier = tx.credentials_of_card(card_key)?;
        let issuance = earlier
            .iter()
            .map(|c| c.issuance)
            .max()
            .unwrap_or(0)
            .saturating_add(1);
        invalidate_all(tx, &earlier, Operation::Supersede, actor)?;
        let registrations =
            self.register_credentials(tx, card_key, device, issuance, formats, actor)?;
        if let Some(handle) = grant {
            if tx.grant(handle)?.is_some() {
                return Err(RegistryError::Renewal(RenewalRefusal::Used));
            }
            tx.put_grant(&GrantRecord {
                handle: handle.to_owned(),
                card_key: card_key.to_owned(),
                device: device.to_owned(),
                issuance,
                state: GrantState::Active,
            })?;
        }
        Ok((issuance, registrations))
    }

    /// A credential for each of `formats`, of `issuance`, allocated and logged.
    fn register_credentials(
        &self,
        tx: &mut dyn StoreTx,
        card_key: &str,
        device: &str,
        issuance: u64,
        formats: &[CredentialFormat],
        actor: &Actor<'_>,
    ) -> Result<Vec<Registration>, RegistryError> {
        let mut registrations = Vec::with_capacity(formats.len());
        for &format in formats {
            let (list, idx, id) = self.allocate(tx, card_key, device, format, issuance)?;
            tx.append_event(&event(
                actor,
                Operation::Register,
                Some(card_key),
                Some(device),
                Some(id),
                None,
                Some(VALID),
            ))?;
            registrations.push(Registration {
                credential: id,
                reference: StatusReference { idx, uri: list.uri },
            });
        }
        Ok(registrations)
    }

    /// The physical card is lost: the card is marked lost and every VALID credential of it,
    /// on any device, becomes SUSPENDED.
    ///
    /// # Errors
    /// [`RegistryError::UnknownCard`], storage failures.
    pub fn report_card_lost(
        &self,
        card_key: &str,
        actor: &Actor<'_>,
    ) -> Result<usize, StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| {
                let card = tx.card(card_key)?.ok_or(RegistryError::UnknownCard)?;
                tx.put_card(&CardRecord {
                    physical: PhysicalStatus::Lost,
                    ..card
                })?;
                log_change(tx, actor, Operation::CardLost, Some(card_key), None)?;
                let credentials = tx.credentials_of_card(card_key)?;
                resuspend(
                    tx,
                    &credentials,
                    |s| Suspension { card: true, ..s },
                    Operation::CardLost,
                    actor,
                )
            })
        })?)
    }

    /// Only the phone is lost: the device is marked lost (it takes no new credential) and
    /// every credential on it that is not INVALID is suspended; the physical card's record is
    /// not touched.
    ///
    /// # Errors
    /// Storage failures.
    pub fn report_phone_lost(
        &self,
        device: &str,
        actor: &Actor<'_>,
    ) -> Result<usize, StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| {
                tx.set_device_lost(device, true)?;
                let credentials = tx.credentials_of_device(device)?;
                log_change(tx, actor, Operation::PhoneLost, None, Some(device))?;
                resuspend(
                    tx,
                    &credentials,
                    |s| Suspension { phone: true, ..s },
                    Operation::PhoneLost,
                    actor,
                )
            })
        })?)
    }

    /// The physical card is found: it is marked normal and the credentials it suspended
    /// become VALID again (those suspended by a lost phone stay suspended).
    ///
    /// # Errors
    /// [`RegistryError::UnknownCard`], storage failures.
    pub fn reinstate_card(
        &self,
        card_key: &str,
        actor: &Actor<'_>,
    ) -> Result<usize, StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| {
                let card = tx.card(card_key)?.ok_or(RegistryError::UnknownCard)?;
                tx.put_card(&CardRecord {
                    physical: PhysicalStatus::Normal,
                    ..card
                })?;
                log_change(tx, actor, Operation::Reinstate, Some(card_key), None)?;
                let credentials = tx.credentials_of_card(card_key)?;
                resuspend(
                    tx,
                    &credentials,
                    |s| Suspension { card: false, ..s },
                    Operation::Reinstate,
                    actor,
                )
            })
        })?)
    }

    /// The phone is found: the credentials its loss suspended become VALID again.
    ///
    /// # Errors
    /// Storage failures.
    pub fn reinstate_phone(
        &self,
        device: &str,
        actor: &Actor<'_>,
    ) -> Result<usize, StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| {
                tx.set_device_lost(device, false)?;
                let credentials = tx.credentials_of_device(device)?;
                log_change(tx, actor, Operation::Reinstate, None, Some(device))?;
                resuspend(
                    tx,
                    &credentials,
                    |s| Suspension { phone: false, ..s },
                    Operation::Reinstate,
                    actor,
                )
            })
        })?)
    }

    /// The card moves to `new_device`: every credential of the card that is not INVALID
    /// becomes INVALID at once, and `new_device` becomes the one device that may hold it.
    /// Re-issue needs the physical card (an IC tap or the counter), so a card reported lost
    /// is refused until it is found or replaced.
    ///
    /// # Errors
    /// [`RegistryError::UnknownCard`], [`RegistryError::CardLost`],
    /// [`RegistryError::DeviceLost`], storage failures.
    pub fn reissue_to_new_device(
        &self,
        card_key: &str,
        new_device: &str,
        actor: &Actor<'_>,
    ) -> Result<usize, StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| {
                let card = tx.card(card_key)?.ok_or(RegistryError::UnknownCard)?;
                if card.physical == PhysicalStatus::Lost {
                    return Err(RegistryError::CardLost);
                }
                if tx.device_lost(new_device)? {
                    return Err(RegistryError::DeviceLost);
                }
                tx.put_card(&CardRecord {
                    active_device: Some(new_device.to_owned()),
                    ..card
                })?;
                log_change(
                    tx,
                    actor,
                    Operation::Reissue,
                    Some(card_key),
                    Some(new_device),
                )?;
                let credentials = tx.credentials_of_card(card_key)?;
                invalidate_all(tx, &credentials, Operation::Reissue, actor)
            })
        })?)
    }
    /// A new physical card replaces a lost (or damaged) one. It carries the same registration
    /// number, so the same card key: in one transaction every credential of the card that is
    /// not INVALID becomes INVALID, the card is normal again, and it is bound to no device, so
    /// the holder's phone may take new credentials. Returns how many were invalidated.
    ///
    /// # Errors
    /// [`RegistryError::UnknownCard`], storage failures.
    pub fn replace_card(
        &self,
        card_key: &str,
        actor: &Actor<'_>,
    ) -> Result<usize, StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| {
                let card = tx.card(card_key)?.ok_or(RegistryError::UnknownCard)?;
                tx.put_card(&CardRecord {
                    physical: PhysicalStatus::Normal,
                    active_device: None,
                    ..card
                })?;
                log_change(tx, actor, Operation::Replace, Some(card_key), None)?;
                // The lost card's chip never vouches again; the new card's is enrolled anew.
                if let Some(chip) = tx.chip(card_key)? {
                    retire(tx, &chip, actor)?;
                }
                let credentials = tx.credentials_of_card(card_key)?;
                invalidate_all(tx, &credentials, Operation::Replace, actor)
            })
        })?)
    }

    /// Enrolls `chip_key` (SubjectPublicKeyInfo, DER) as the IC chip of `card_key`, vouching
    /// for the card data whose issuer digest is `card_digest` (done when the physical card is
    /// made, or when it is re-enrolled). Any other chip of the card is retired for good; the
    /// same chip enrolled again takes the new digest (the chip's data was updated).
    ///
    /// # Errors
    /// [`RegistryError::ChipRetired`] for a retired chip key, [`RegistryError::CardLost`]
    /// while the card is reported lost (a replacement card is enrolled after
    /// [`Self::replace_card`]), storage failures.
    pub fn enroll_chip(
        &self,
        card_key: &str,
        chip_key: &[u8],
        card_digest: &[u8],
        actor: &Actor<'_>,
    ) -> Result<(), StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| {
                if tx.chip_retired(chip_key)? {
                    return Err(RegistryError::ChipRetired);
                }
                match tx.card(card_key)? {
                    Some(card) if card.physical == PhysicalStatus::Lost => {
                        return Err(RegistryError::CardLost);
                    }
                    Some(_) => {}
                    None => tx.put_card(&CardRecord {
                        card_key: card_key.to_owned(),
                        physical: PhysicalStatus::Normal,
                        active_device: None,
                    })?,
                }
                if let Some(old) = tx.chip(card_key)?
                    && old.chip_key != chip_key
                {
                    retire(tx, &old, actor)?;
                }
                tx.put_chip(&ChipRecord {
                    card_key: card_key.to_owned(),
                    chip_key: chip_key.to_vec(),
                    card_digest: card_digest.to_vec(),
                    enrolled_at: actor.at.unix_timestamp(),
                })?;
                log_change(tx, actor, Operation::ChipEnroll, Some(card_key), None)?;
                Ok(())
            })
        })?)
    }

    /// The chip that may vouch for a tap of `card_key`'s IC card now.
    ///
    /// # Errors
    /// [`RegistryError::ChipNotEnrolled`] (none, or the card was replaced and its new chip not
    /// yet enrolled), [`RegistryError::CardLost`] while the card is reported lost (the chip is
    /// kept: a card found again taps as before), storage failures.
    pub fn chip_for_tap(&self, card_key: &str) -> Result<ChipRecord, StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| {
                if tx
                    .card(card_key)?
                    .is_some_and(|c| c.physical == PhysicalStatus::Lost)
                {
                    return Err(RegistryError::CardLost);
                }
                tx.chip(card_key)?.ok_or(RegistryError::ChipNotEnrolled)
            })
        })?)
    }

    /// The chip keys retired for `card_key` (to tell a retired chip's tap from a forgery).
    ///
    /// # Errors
    /// Storage failures.
    pub fn retired_chips(&self, card_key: &str) -> Result<Vec<Vec<u8>>, StatusListError> {
        Ok(self.with(|store| store.transaction(|tx| tx.retired_chips(card_key)))?)
    }

    fn invalidate(
        &self,
        credential: u64,
        operation: Operation,
        actor: &Actor<'_>,
    ) -> Result<(), StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| {
                let c = tx
                    .credential(credential)?
                    .ok_or(RegistryError::UnknownCredential(credential))?;
                if c.status == INVALID {
                    return Err(RegistryError::AlreadyInvalid(credential));
                }
                invalidate_all(tx, std::slice::from_ref(&c), operation, actor).map(drop)
            })
        })?)
    }

    /// Revokes one credential for good.
    ///
    /// # Errors
    /// [`RegistryError::UnknownCredential`], [`RegistryError::AlreadyInvalid`].
    pub fn revoke(&self, credential: u64, actor: &Actor<'_>) -> Result<(), StatusListError> {
        self.invalidate(credential, Operation::Revoke, actor)
    }

    /// Marks one credential expired (INVALID).
    ///
    /// # Errors
    /// [`RegistryError::UnknownCredential`], [`RegistryError::AlreadyInvalid`].
    pub fn expire(&self, credential: u64, actor: &Actor<'_>) -> Result<(), StatusListError> {
        self.invalidate(credential, Operation::Expire, actor)
    }

    /// The status of one credential.
    ///
    /// # Errors
    /// [`RegistryError::UnknownCredential`].
    pub fn status(&self, credential: u64) -> Result<TokenStatus, StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| {
                tx.credential(credential)?
                    .map(|c| TokenStatus::from_value(c.status))
                    .ok_or(RegistryError::UnknownCredential(credential))
            })
        })?)
    }

    /// One credential's record.
    ///
    /// # Errors
    /// [`RegistryError::UnknownCredential`].
    pub fn credential(&self, credential: u64) -> Result<CredentialRecord, StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| {
                tx.credential(credential)?
                    .ok_or(RegistryError::UnknownCredential(credential))
            })
        })?)
    }

    /// Whether `device` is reported lost.
    ///
    /// # Errors
    /// Storage failures.
    pub fn device_lost(&self, device: &str) -> Result<bool, StatusListError> {
        Ok(self.with(|store| store.transaction(|tx| tx.device_lost(device)))?)
    }

    /// The card's record.
    ///
    /// # Errors
    /// [`RegistryError::UnknownCard`].
    pub fn card(&self, card_key: &str) -> Result<CardRecord, StatusListError> {
        Ok(self.with(|store| {
            store.transaction(|tx| tx.card(card_key)?.ok_or(RegistryError::UnknownCard))
        })?)
    }

    /// Every status list.
    ///
    /// # Errors
    /// Storage failures.
    pub fn lists(&self) -> Result<Vec<ListRecord>, StatusListError> {
        Ok(self.with(|store| store.transaction(|tx| tx.lists()))?)
    }

    /// The list `list_id` as it stands, ready to compress and sign.
    ///
    /// # Errors
    /// Storage failures; an unknown list.
    pub fn publish(&self, list_id: u64) -> Result<(ListRecord, StatusList), StatusListError> {
        let (record, nonzero) = self.with(|store| {
            let record = store
                .transaction(|tx| tx.lists())?
                .into_iter()
                .find(|l| l.id == list_id)
                .ok_or(RegistryError::UnknownList(list_id))?;
            Ok((record, store.nonzero_statuses(list_id)?))
        })?;
        let mut list = StatusList::new(record.bits, record.size)?;
        for (idx, status) in nonzero {
            list.set(idx, status)?;
        }
        Ok((record, list))
    }

    /// Every event from sequence number `from` on.
    ///
    /// # Errors
    /// Storage failures.
    pub fn events(&self, from: u64) -> Result<Vec<Event>, StatusListError> {
        Ok(self.with(|store| store.events(from))?)
    }

    /// The number of events from sequence number `from` on and the highest sequence number
    /// among them ([`RegistryStore::event_mark`]). A change detector that looks again from a
    /// window behind the highest number it saw also sees an event committed after one with a
    /// higher number (several processes on one PostgreSQL database: spec/status.md §4.1).
    ///
    /// # Errors
    /// Storage failures.
    pub fn event_mark(&self, from: u64) -> Result<(u64, u64), StatusListError> {
        Ok(self.store.event_mark(from)?)
    }

    /// Replays the event log and compares it with the stored statuses: every credential's
    /// status must be its last event's. Returns the number of credentials checked.
    ///
    /// # Errors
    /// [`RegistryError::Corrupt`] naming the first credential whose status and events disagree.
    pub fn audit(&self) -> Result<usize, StatusListError> {
        Ok(self.with(|store| {
            let mut replayed: BTreeMap<u64, u8> = BTreeMap::new();
            for e in store.events(0)? {
                if let (Some(c), Some(s)) = (e.credential, e.new_status) {
                    replayed.insert(c, s);
                }
            }
            let credentials = store.all_credentials()?;
            for c in &credentials {
                if replayed.get(&c.id) != Some(&c.status) {
                    return Err(RegistryError::Corrupt(format!(
                        "credential {} has status {} but its events say {:?}",
                        c.id,
                        c.status,
                        replayed.get(&c.id)
                    )));
                }
            }
            if replayed.len() != credentials.len() {
                return Err(RegistryError::Corrupt(
                    "events name credentials the table does not have".into(),
                ));
            }
            Ok(credentials.len())
        })?)
    }
}

/// Where each person's one phone is recorded (DOMAIN: "one active phone per person"): shared
/// by the issuing authorities, since one person may hold cards of two (a national abroad with
/// a resident card marked 재외국민 from MOIS and the overseas national ID from a mission).
pub trait PersonPhones: Send + Sync {
    /// Binds `person` to `device` when the person has no phone yet; accepts the phone the
    /// person already has.
    ///
    /// # Errors
    /// [`RegistryError::OtherPhone`] when the person's mobile IDs are on another phone;
    /// storage failures.
    fn bind(&self, person: &str, device: &str, actor: &Actor<'_>) -> Result<(), StatusListError>;

    /// The person moves to `device` (a re-issue of one of their cards to a new phone, which
    /// needs the physical card or a visit): the other cards follow when they are issued again.
    ///
    /// # Errors
    /// Storage failures.
    fn move_to(&self, person: &str, device: &str, actor: &Actor<'_>)
    -> Result<(), StatusListError>;
}

/// [`PersonPhones`] over a [`RegistryStore`] of its own (a SQLite file the authorities share,
/// or memory), with each change in that store's event log.
pub struct PersonRegistry<S> {
    store: S,
}

impl<S> core::fmt::Debug for PersonRegistry<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PersonRegistry").finish_non_exhaustive()
    }
}

impl<S: RegistryStore> PersonRegistry<S> {
    /// A person registry over `store`.
    pub fn new(store: S) -> Self {
        Self { store }
    }

    /// The phone `person`'s mobile IDs are on.
    ///
    /// # Errors
    /// Storage failures.
    pub fn device(&self, person: &str) -> Result<Option<String>, StatusListError> {
        self.set(|tx| tx.person_device(person))
    }

    /// The store's event log from `from` on.
    ///
    /// # Errors
    /// Storage failures.
    pub fn events(&self, from: u64) -> Result<Vec<Event>, StatusListError> {
        Ok(self.store.events(from)?)
    }

    fn set<R>(
        &self,
        f: impl FnMut(&mut dyn StoreTx) -> Result<R, RegistryError>,
    ) -> Result<R, StatusListError> {
        Ok(self.store.transaction(f)?)
    }
}

/// Records `person` on `device`, with its event.
fn put_person(
    tx: &mut dyn StoreTx,
    person: &str,
    device: &str,
    actor: &Actor<'_>,
) -> Result<(), RegistryError> {
    tx.put_person_device(person, device)?;
    log_change(tx, actor, Operation::PersonPhone, None, Some(device))
}

impl<S: RegistryStore> PersonPhones for PersonRegistry<S> {
    fn bind(&self, person: &str, device: &str, actor: &Actor<'_>) -> Result<(), StatusListError> {
        self.set(|tx| match tx.person_device(person)? {
            Some(d) if d == device => Ok(()),
            Some(_) => Err(RegistryError::OtherPhone),
            None => put_person(tx, person, device, actor),
        })
    }

    fn move_to(
        &self,
        person: &str,
        device: &str,
        actor: &Actor<'_>,
    ) -> Result<(), StatusListError> {
        self.set(|tx| {
            if tx.person_device(person)?.as_deref() == Some(device) {
                return Ok(());
            }
            put_person(tx, person, device, actor)
        })
    }
}
