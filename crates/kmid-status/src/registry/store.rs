//! The storage seam of the registry: a transaction of small primitives, which SQLite (the
//! default), an in-memory map (for unit tests) and PostgreSQL (`kmid_status::postgres`, for
//! several issuer processes on one database) implement.

use crate::error::RegistryError;

use super::{
    CardRecord, ChipRecord, CredentialRecord, Event, GrantRecord, GrantState, ListRecord,
    NewCredential, Suspension,
};

/// The operations the registry performs inside one transaction.
pub trait StoreTx {
    /// The card, if registered.
    fn card(&mut self, card_key: &str) -> Result<Option<CardRecord>, RegistryError>;
    /// Inserts or replaces the card.
    fn put_card(&mut self, card: &CardRecord) -> Result<(), RegistryError>;
    /// The credential, if it exists.
    fn credential(&mut self, id: u64) -> Result<Option<CredentialRecord>, RegistryError>;
    /// Every credential of the card.
    fn credentials_of_card(
        &mut self,
        card_key: &str,
    ) -> Result<Vec<CredentialRecord>, RegistryError>;
    /// Every credential on the device.
    fn credentials_of_device(
        &mut self,
        device: &str,
    ) -> Result<Vec<CredentialRecord>, RegistryError>;
    /// Inserts a credential at its index and returns its id; `None` when another credential
    /// holds that index (nothing is inserted: the caller draws another).
    fn insert_credential(
        &mut self,
        credential: &NewCredential,
    ) -> Result<Option<u64>, RegistryError>;
    /// Sets a credential's status and suspension reasons.
    fn set_status(
        &mut self,
        id: u64,
        status: u8,
        suspension: Suspension,
    ) -> Result<(), RegistryError>;
    /// Appends an event and returns its sequence number.
    fn append_event(&mut self, event: &Event) -> Result<u64, RegistryError>;
    /// Every status list.
    fn lists(&mut self) -> Result<Vec<ListRecord>, RegistryError>;
    /// Opens a new status list and returns its id.
    fn insert_list(&mut self, uri: &str, bits: u8, size: u64) -> Result<u64, RegistryError>;
    /// Whether `device` is reported lost.
    fn device_lost(&mut self, device: &str) -> Result<bool, RegistryError>;
    /// Marks `device` lost or found.
    fn set_device_lost(&mut self, device: &str, lost: bool) -> Result<(), RegistryError>;
    /// The card's enrolled IC chip, if any.
    fn chip(&mut self, card_key: &str) -> Result<Option<ChipRecord>, RegistryError>;
    /// Enrolls `chip` as its card's chip, replacing any other.
    fn put_chip(&mut self, chip: &ChipRecord) -> Result<(), RegistryError>;
    /// Retires `chip_key` of `card_key` for good (and un-enrolls it if it is the card's chip).
    fn retire_chip(&mut self, card_key: &str, chip_key: &[u8]) -> Result<(), RegistryError>;
    /// Whether `chip_key` was retired (for any card).
    fn chip_retired(&mut self, chip_key: &[u8]) -> Result<bool, RegistryError>;
    /// The chip keys retired for `card_key`.
    fn retired_chips(&mut self, card_key: &str) -> Result<Vec<Vec<u8>>, RegistryError>;
    /// The renewal grant with `handle`, if any.
    fn grant(&mut self, handle: &str) -> Result<Option<GrantRecord>, RegistryError>;
    /// Inserts a renewal grant.
    fn put_grant(&mut self, grant: &GrantRecord) -> Result<(), RegistryError>;
    /// Sets a grant's state.
    fn set_grant_state(&mut self, handle: &str, state: GrantState) -> Result<(), RegistryError>;
    /// Every renewal grant of `card_key`.
    fn grants_of_card(&mut self, card_key: &str) -> Result<Vec<GrantRecord>, RegistryError>;
    /// The phone a person's mobile IDs are on, if any.
    fn person_device(&mut self, person: &str) -> Result<Option<String>, RegistryError>;
    /// Sets the phone a person's mobile IDs are on.
    fn put_person_device(&mut self, person: &str, device: &str) -> Result<(), RegistryError>;
}

/// A place the registry keeps its records, shared by the threads of a process (a store
/// serialises them itself, or, for a server database, runs them side by side).
pub trait RegistryStore: Send + Sync {
    /// Runs `f` in one transaction: everything it did is kept when it returns `Ok`, nothing
    /// when it returns `Err` (or the process dies before the commit). The transactions a
    /// store runs are serializable: each sees what it would see had they run one at a time.
    /// A store that detects conflicts instead of preventing them (PostgreSQL at SERIALIZABLE)
    /// rolls back and calls `f` again, a bounded number of times, so `f` must do nothing but
    /// through the transaction it is given.
    ///
    /// # Errors
    /// What `f` returns, or a storage failure.
    fn transaction<R>(
        &self,
        f: impl FnMut(&mut dyn StoreTx) -> Result<R, RegistryError>,
    ) -> Result<R, RegistryError>;

    /// The `(index, status)` pairs of `list_id` whose status is not 0.
    ///
    /// # Errors
    /// Storage failures.
    fn nonzero_statuses(&self, list_id: u64) -> Result<Vec<(u64, u8)>, RegistryError>;

    /// Every event from sequence number `from` on, in order.
    ///
    /// # Errors
    /// Storage failures.
    fn events(&self, from: u64) -> Result<Vec<Event>, RegistryError>;

    /// How many events there are from sequence number `from` on, and the highest sequence
    /// number among them (0 when none): what a change detector compares between two looks.
    ///
    /// # Errors
    /// Storage failures.
    fn event_mark(&self, from: u64) -> Result<(u64, u64), RegistryError> {
        let events = self.events(from)?;
        Ok((
            events.iter().map(|e| e.seq).max().unwrap_or(0),
            u64::try_from(events.len()).unwrap_or(u64::MAX),
        ))
    }

    /// Every credential (for audits).
    ///
    /// # Errors
    /// Storage failures.
    fn all_credentials(&self) -> Result<Vec<CredentialRecord>, RegistryError>;
}
