//! An in-memory [`RegistryStore`] for unit tests: every transaction works on a copy and
//! swaps it in on success.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::error::RegistryError;

use super::store::{RegistryStore, StoreTx};
use super::{
    CardRecord, ChipRecord, CredentialRecord, Event, GrantRecord, GrantState, ListRecord,
    NewCredential, Suspension,
};

/// The in-memory store.
#[derive(Debug, Default)]
pub struct MemoryStore {
    data: Mutex<MemoryData>,
}

impl Clone for MemoryStore {
    fn clone(&self) -> Self {
        Self {
            data: Mutex::new(self.snapshot()),
        }
    }
}

/// The records (a transaction works on a copy).
#[derive(Debug, Clone, Default)]
struct MemoryData {
    cards: BTreeMap<String, CardRecord>,
    credentials: BTreeMap<u64, CredentialRecord>,
    taken: BTreeMap<(u64, u64), u64>,
    lists: Vec<ListRecord>,
    events: Vec<Event>,
    lost_devices: std::collections::BTreeSet<String>,
    chips: BTreeMap<String, ChipRecord>,
    /// Retired chip keys, with their card.
    retired_chips: BTreeMap<Vec<u8>, String>,
    grants: BTreeMap<String, GrantRecord>,
    persons: BTreeMap<String, String>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, MemoryData>, RegistryError> {
        self.data
            .lock()
            .map_err(|_| RegistryError::Storage("memory store lock poisoned".into()))
    }

    fn snapshot(&self) -> MemoryData {
        self.data
            .lock()
            .map_or_else(|p| p.into_inner().clone(), |d| d.clone())
    }
}

impl StoreTx for MemoryData {
    fn card(&mut self, card_key: &str) -> Result<Option<CardRecord>, RegistryError> {
        Ok(self.cards.get(card_key).cloned())
    }
    fn put_card(&mut self, card: &CardRecord) -> Result<(), RegistryError> {
        self.cards.insert(card.card_key.clone(), card.clone());
        Ok(())
    }
    fn credential(&mut self, id: u64) -> Result<Option<CredentialRecord>, RegistryError> {
        Ok(self.credentials.get(&id).cloned())
    }
    fn credentials_of_card(
        &mut self,
        card_key: &str,
    ) -> Result<Vec<CredentialRecord>, RegistryError> {
        Ok(self
            .credentials
            .values()
            .filter(|c| c.card_key == card_key)
            .cloned()
            .collect())
    }
    fn credentials_of_device(
        &mut self,
        device: &str,
    ) -> Result<Vec<CredentialRecord>, RegistryError> {
        Ok(self
            .credentials
            .values()
            .filter(|c| c.device == device)
            .cloned()
            .collect())
    }
    fn insert_credential(&mut self, c: &NewCredential) -> Result<Option<u64>, RegistryError> {
        if self.taken.contains_key(&(c.list_id, c.idx)) {
            return Ok(None);
        }
        let id = u64::try_from(self.credentials.len())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        self.taken.insert((c.list_id, c.idx), id);
        self.credentials.insert(
            id,
            CredentialRecord {
                id,
                card_key: c.card_key.clone(),
                device: c.device.clone(),
                format: c.format,
                list_id: c.list_id,
                idx: c.idx,
                status: 0,
                suspension: Suspension::NONE,
                issuance: c.issuance,
            },
        );
        if let Some(list) = self.lists.iter_mut().find(|l| l.id == c.list_id) {
            list.used = list.used.saturating_add(1);
        }
        Ok(Some(id))
    }
    fn set_status(
        &mut self,
        id: u64,
        status: u8,
        suspension: Suspension,
    ) -> Result<(), RegistryError> {
        let c = self
            .credentials
            .get_mut(&id)
            .ok_or(RegistryError::UnknownCredential(id))?;
        c.status = status;
        c.suspension = suspension;
        Ok(())
    }
    fn append_event(&mut self, event: &Event) -> Result<u64, RegistryError> {
        let seq = u64::try_from(self.events.len())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        self.events.push(Event {
            seq,
            ..event.clone()
        });
        Ok(seq)
    }
    fn lists(&mut self) -> Result<Vec<ListRecord>, RegistryError> {
        Ok(self.lists.clone())
    }
    fn insert_list(&mut self, uri: &str, bits: u8, size: u64) -> Result<u64, RegistryError> {
        let id = u64::try_from(self.lists.len())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        self.lists.push(ListRecord {
            id,
            uri: uri.to_owned(),
            bits,
            size,
            used: 0,
        });
        Ok(id)
    }
    fn device_lost(&mut self, device: &str) -> Result<bool, RegistryError> {
        Ok(self.lost_devices.contains(device))
    }
    fn set_device_lost(&mut self, device: &str, lost: bool) -> Result<(), RegistryError> {
        if lost {
            self.lost_devices.insert(device.to_owned());
        } else {
            self.lost_devices.remove(device);
        }
        Ok(())
    }
    fn chip(&mut self, card_key: &str) -> Result<Option<ChipRecord>, RegistryError> {
        Ok(self.chips.get(card_key).cloned())
    }
    fn put_chip(&mut self, chip: &ChipRecord) -> Result<(), RegistryError> {
        self.chips.insert(chip.card_key.clone(), chip.clone());
        Ok(())
    }
    fn retire_chip(&mut self, card_key: &str, chip_key: &[u8]) -> Result<(), RegistryError> {
        if self
            .chips
            .get(card_key)
            .is_some_and(|c| c.chip_key == chip_key)
        {
            self.chips.remove(card_key);
        }
        self.retired_chips
            .insert(chip_key.to_vec(), card_key.to_owned());
        Ok(())
    }
    fn chip_retired(&mut self, chip_key: &[u8]) -> Result<bool, RegistryError> {
        Ok(self.retired_chips.contains_key(chip_key))
    }
    fn retired_chips(&mut self, card_key: &str) -> Result<Vec<Vec<u8>>, RegistryError> {
        Ok(self
            .retired_chips
            .iter()
            .filter(|(_, card)| *card == card_key)
            .map(|(key, _)| key.clone())
            .collect())
    }
    fn grant(&mut self, handle: &str) -> Result<Option<GrantRecord>, RegistryError> {
        Ok(self.grants.get(handle).cloned())
    }
    fn put_grant(&mut self, grant: &GrantRecord) -> Result<(), RegistryError> {
        self.grants.insert(grant.handle.clone(), grant.clone());
        Ok(())
    }
    fn set_grant_state(&mut self, handle: &str, state: GrantState) -> Result<(), RegistryError> {
        let grant = self
            .grants
            .get_mut(handle)
            .ok_or_else(|| RegistryError::Storage("unknown grant".into()))?;
        grant.state = state;
        Ok(())
    }
    fn grants_of_card(&mut self, card_key: &str) -> Result<Vec<GrantRecord>, RegistryError> {
        Ok(self
            .grants
            .values()
            .filter(|g| g.card_key == card_key)
            .cloned()
            .collect())
    }
    fn person_device(&mut self, person: &str) -> Result<Option<String>, RegistryError> {
        Ok(self.persons.get(person).cloned())
    }
    fn put_person_device(&mut self, person: &str, device: &str) -> Result<(), RegistryError> {
        self.persons.insert(person.to_owned(), device.to_owned());
        Ok(())
    }
}

impl RegistryStore for MemoryStore {
    fn transaction<R>(
        &self,
        mut f: impl FnMut(&mut dyn StoreTx) -> Result<R, RegistryError>,
    ) -> Result<R, RegistryError> {
        let mut data = self.lock()?;
        let mut copy = data.clone();
        let result = f(&mut copy)?;
        *data = copy;
        Ok(result)
    }

    fn nonzero_statuses(&self, list_id: u64) -> Result<Vec<(u64, u8)>, RegistryError> {
        Ok(self
            .lock()?
            .credentials
            .values()
            .filter(|c| c.list_id == list_id && c.status != 0)
            .map(|c| (c.idx, c.status))
            .collect())
    }

    fn events(&self, from: u64) -> Result<Vec<Event>, RegistryError> {
        Ok(self
            .lock()?
            .events
            .iter()
            .filter(|e| e.seq >= from)
            .cloned()
            .collect())
    }

    fn all_credentials(&self) -> Result<Vec<CredentialRecord>, RegistryError> {
        Ok(self.lock()?.credentials.values().cloned().collect())
    }
}
