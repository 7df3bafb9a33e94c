//! The default [`RegistryStore`]: SQLite (bundled), in WAL mode, one transaction per lifecycle
//! operation, a versioned schema migrated on open, and an integrity check on open so a
//! corrupted file is an error rather than silently trusted.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use crate::error::RegistryError;

use super::store::{RegistryStore, StoreTx};
use super::{
    CardRecord, ChipRecord, CredentialFormat, CredentialRecord, Event, GrantRecord, GrantState,
    ListRecord, NewCredential, Operation, PhysicalStatus, Suspension,
};

/// The newest schema version this library writes.
pub const SCHEMA_VERSION: i64 = 5;

const MIGRATIONS: &[&str] = &[
    // Version 1.
    "CREATE TABLE lists (
        id INTEGER PRIMARY KEY,
        uri TEXT NOT NULL UNIQUE,
        bits INTEGER NOT NULL CHECK (bits IN (1, 2, 4, 8)),
        size INTEGER NOT NULL CHECK (size > 0),
        used INTEGER NOT NULL DEFAULT 0
     );
     CREATE TABLE cards (
        card_key TEXT PRIMARY KEY,
        physical TEXT NOT NULL CHECK (physical IN ('normal', 'lost')),
        active_device TEXT
     );
     CREATE TABLE lost_devices (
        device TEXT PRIMARY KEY
     );
     CREATE TABLE credentials (
        id INTEGER PRIMARY KEY,
        card_key TEXT NOT NULL REFERENCES cards(card_key),
        device TEXT NOT NULL,
        format TEXT NOT NULL CHECK (format IN ('mdoc', 'sd-jwt-vc')),
        list_id INTEGER NOT NULL REFERENCES lists(id),
        idx INTEGER NOT NULL,
        status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 255),
        suspension INTEGER NOT NULL DEFAULT 0 CHECK (suspension BETWEEN 0 AND 3),
        UNIQUE (list_id, idx)
     );
     CREATE INDEX credentials_card ON credentials(card_key);
     CREATE INDEX credentials_device ON credentials(device);
     CREATE INDEX credentials_nonzero ON credentials(list_id, idx) WHERE status != 0;
     CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        actor TEXT NOT NULL,
        operation TEXT NOT NULL,
        card_key TEXT,
        device TEXT,
        credential INTEGER,
        reason TEXT NOT NULL,
        old_status INTEGER,
        new_status INTEGER
     );",
    // Version 2: the issuance each credential belongs to (0 for those registered before).
    "ALTER TABLE credentials ADD COLUMN issuance INTEGER NOT NULL DEFAULT 0 CHECK (issuance >= 0);",
    // Version 3: IC chips, enrolled and retired.
    "CREATE TABLE chips (
        card_key TEXT PRIMARY KEY REFERENCES cards(card_key),
        chip_key BLOB NOT NULL,
        card_digest BLOB NOT NULL,
        enrolled_at INTEGER NOT NULL
     );
     CREATE TABLE retired_chips (
        chip_key BLOB PRIMARY KEY,
        card_key TEXT NOT NULL
     );
     CREATE INDEX retired_chips_card ON retired_chips(card_key);",
    // Version 4: renewal grants (the handle is a digest of the holder's secret).
    "CREATE TABLE grants (
        handle TEXT PRIMARY KEY,
        card_key TEXT NOT NULL REFERENCES cards(card_key),
        device TEXT NOT NULL,
        issuance INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('active', 'used', 'revoked'))
     );
     CREATE INDEX grants_card ON grants(card_key);",
    // Version 5: the one phone of each person (a keyed digest of the registration number).
    "CREATE TABLE persons (
        person_key TEXT PRIMARY KEY,
        device TEXT NOT NULL
     );",
];

/// How hard SQLite works to keep committed transactions across a power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: a committed operation survives a power loss (one fsync per commit).
    Full,
    /// `synchronous=NORMAL`: a committed operation survives a process crash; the last ones may
    /// be lost on a power loss.
    Normal,
}

/// The SQLite store.
#[derive(Debug)]
pub struct SqliteStore {
    /// One connection; the threads of a process take turns (SQLite has one writer anyway).
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (or creates) the registry at `path`: WAL mode, the given durability, foreign keys
    /// on, an integrity check, and the schema migrated to [`SCHEMA_VERSION`].
    ///
    /// # Errors
    /// [`RegistryError::Corrupt`] for a file that is not a registry or fails its integrity
    /// check; [`RegistryError::SchemaTooNew`]; storage failures.
    pub fn open(path: &Path, durability: Durability) -> Result<Self, RegistryError> {
        Self::setup(Connection::open(path)?, durability)
    }

    /// An in-memory SQLite registry (for tests and benchmarks).
    ///
    /// # Errors
    /// Storage failures.
    pub fn open_in_memory() -> Result<Self, RegistryError> {
        Self::setup(Connection::open_in_memory()?, Durability::Normal)
    }

    fn setup(conn: Connection, durability: Durability) -> Result<Self, RegistryError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        if check != "ok" {
            return Err(RegistryError::Corrupt(check));
        }
        let _: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        conn.execute_batch(match durability {
            Durability::Full => "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
            Durability::Normal => "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        })?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let supported = SCHEMA_VERSION;
        if version > supported {
            return Err(RegistryError::SchemaTooNew {
                found: version,
                supported,
            });
        }
        let mut conn = conn;
        let start = usize::try_from(version)
            .map_err(|_| RegistryError::Corrupt(format!("user_version {version}")))?;
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(start) {
            let tx = conn.transaction()?;
            tx.execute_batch(migration)?;
            tx.pragma_update(
                None,
                "user_version",
                i64::try_from(i).unwrap_or(i64::MAX).saturating_add(1),
            )?;
            tx.commit()?;
        }
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>, RegistryError> {
        self.conn
            .lock()
            .map_err(|_| RegistryError::Storage("SQLite connection lock poisoned".into()))
    }
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn to_i64(v: u64) -> Result<i64, RegistryError> {
    i64::try_from(v)
        .map_err(|_| RegistryError::Storage("value beyond SQLite's integer range".into()))
}

fn credential_row(r: &Row<'_>) -> rusqlite::Result<CredentialRecord> {
    let format: String = r.get(3)?;
    let suspension: u8 = r.get(7)?;
    Ok(CredentialRecord {
        id: to_u64(r.get(0)?),
        card_key: r.get(1)?,
        device: r.get(2)?,
        format: CredentialFormat::from_stored(&format),
        list_id: to_u64(r.get(4)?),
        idx: to_u64(r.get(5)?),
        status: u8::try_from(r.get::<_, i64>(6)?).unwrap_or(u8::MAX),
        suspension: Suspension::from_bits(suspension).unwrap_or(Suspension {
            card: true,
            phone: true,
        }),
        issuance: to_u64(r.get(8)?),
    })
}

fn grant_row(r: &Row<'_>) -> rusqlite::Result<GrantRecord> {
    let state: String = r.get(4)?;
    Ok(GrantRecord {
        handle: r.get(0)?,
        card_key: r.get(1)?,
        device: r.get(2)?,
        issuance: to_u64(r.get(3)?),
        state: GrantState::from_stored(&state),
    })
}

const CREDENTIAL_COLUMNS: &str =
    "id, card_key, device, format, list_id, idx, status, suspension, issuance";

fn event_row(r: &Row<'_>) -> rusqlite::Result<Event> {
    let op: String = r.get(3)?;
    Ok(Event {
        seq: to_u64(r.get(0)?),
        at: r.get(1)?,
        actor: r.get(2)?,
        operation: Operation::from_name(&op).unwrap_or(Operation::Register),
        card_key: r.get(4)?,
        device: r.get(5)?,
        credential: r.get::<_, Option<i64>>(6)?.map(to_u64),
        reason: r.get(7)?,
        old_status: r
            .get::<_, Option<i64>>(8)?
            .and_then(|s| u8::try_from(s).ok()),
        new_status: r
            .get::<_, Option<i64>>(9)?
            .and_then(|s| u8::try_from(s).ok()),
    })
}

struct Tx<'c>(Transaction<'c>);

impl StoreTx for Tx<'_> {
    fn card(&mut self, card_key: &str) -> Result<Option<CardRecord>, RegistryError> {
        Ok(self
            .0
            .query_row(
                "SELECT card_key, physical, active_device FROM cards WHERE card_key = ?1",
                [card_key],
                |r| {
                    let physical: String = r.get(1)?;
                    Ok(CardRecord {
                        card_key: r.get(0)?,
                        physical: PhysicalStatus::from_stored(&physical),
                        active_device: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }

    fn put_card(&mut self, card: &CardRecord) -> Result<(), RegistryError> {
        let physical = card.physical.stored_name();
        self.0.execute(
            "INSERT INTO cards (card_key, physical, active_device) VALUES (?1, ?2, ?3)
             ON CONFLICT(card_key) DO UPDATE SET physical = excluded.physical, active_device = excluded.active_device",
            params![card.card_key, physical, card.active_device],
        )?;
        Ok(())
    }

    fn credential(&mut self, id: u64) -> Result<Option<CredentialRecord>, RegistryError> {
        let sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE id = ?1");
        Ok(self
            .0
            .query_row(&sql, [to_i64(id)?], credential_row)
            .optional()?)
    }

    fn credentials_of_card(
        &mut self,
        card_key: &str,
    ) -> Result<Vec<CredentialRecord>, RegistryError> {
        let sql =
            format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE card_key = ?1 ORDER BY id");
        let mut stmt = self.0.prepare_cached(&sql)?;
        let rows = stmt.query_map([card_key], credential_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn credentials_of_device(
        &mut self,
        device: &str,
    ) -> Result<Vec<CredentialRecord>, RegistryError> {
        let sql =
            format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials WHERE device = ?1 ORDER BY id");
        let mut stmt = self.0.prepare_cached(&sql)?;
        let rows = stmt.query_map([device], credential_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn insert_credential(&mut self, c: &NewCredential) -> Result<Option<u64>, RegistryError> {
        let format = c.format.stored_name();
        let inserted = self.0.prepare_cached(
            "INSERT INTO credentials (card_key, device, format, list_id, idx, status, issuance) VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)
             ON CONFLICT (list_id, idx) DO NOTHING",
        )?
        .execute(params![c.card_key, c.device, format, to_i64(c.list_id)?, to_i64(c.idx)?, to_i64(c.issuance)?])?;
        if inserted == 0 {
            return Ok(None);
        }
        let id = self.0.last_insert_rowid();
        self.0
            .prepare_cached("UPDATE lists SET used = used + 1 WHERE id = ?1")?
            .execute([to_i64(c.list_id)?])?;
        Ok(Some(to_u64(id)))
    }

    fn set_status(
        &mut self,
        id: u64,
        status: u8,
        suspension: Suspension,
    ) -> Result<(), RegistryError> {
        let n = self
            .0
            .prepare_cached("UPDATE credentials SET status = ?1, suspension = ?2 WHERE id = ?3")?
            .execute(params![
                i64::from(status),
                i64::from(suspension.bits()),
                to_i64(id)?
            ])?;
        if n == 1 {
            Ok(())
        } else {
            Err(RegistryError::UnknownCredential(id))
        }
    }

    fn append_event(&mut self, e: &Event) -> Result<u64, RegistryError> {
        self.0
            .prepare_cached(
                "INSERT INTO events (at, actor, operation, card_key, device, credential, reason, old_status, new_status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                e.at,
                e.actor,
                e.operation.name(),
                e.card_key,
                e.device,
                e.credential.map(to_i64).transpose()?,
                e.reason,
                e.old_status.map(i64::from),
                e.new_status.map(i64::from)
            ])?;
        Ok(to_u64(self.0.last_insert_rowid()))
    }

    fn lists(&mut self) -> Result<Vec<ListRecord>, RegistryError> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT id, uri, bits, size, used FROM lists ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok(ListRecord {
                id: to_u64(r.get(0)?),
                uri: r.get(1)?,
                bits: u8::try_from(r.get::<_, i64>(2)?).unwrap_or(2),
                size: to_u64(r.get(3)?),
                used: to_u64(r.get(4)?),
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn insert_list(&mut self, uri: &str, bits: u8, size: u64) -> Result<u64, RegistryError> {
        self.0.execute(
            "INSERT INTO lists (uri, bits, size) VALUES (?1, ?2, ?3)",
            params![uri, i64::from(bits), to_i64(size)?],
        )?;
        Ok(to_u64(self.0.last_insert_rowid()))
    }

    fn device_lost(&mut self, device: &str) -> Result<bool, RegistryError> {
        Ok(self
            .0
            .prepare_cached("SELECT 1 FROM lost_devices WHERE device = ?1")?
            .query_row([device], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn set_device_lost(&mut self, device: &str, lost: bool) -> Result<(), RegistryError> {
        let sql = if lost {
            "INSERT OR IGNORE INTO lost_devices (device) VALUES (?1)"
        } else {
            "DELETE FROM lost_devices WHERE device = ?1"
        };
        self.0.prepare_cached(sql)?.execute([device])?;
        Ok(())
    }

    fn chip(&mut self, card_key: &str) -> Result<Option<ChipRecord>, RegistryError> {
        Ok(self
            .0
            .query_row(
                "SELECT card_key, chip_key, card_digest, enrolled_at FROM chips WHERE card_key = ?1",
                [card_key],
                |r| {
                    Ok(ChipRecord {
                        card_key: r.get(0)?,
                        chip_key: r.get(1)?,
                        card_digest: r.get(2)?,
                        enrolled_at: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    fn put_chip(&mut self, chip: &ChipRecord) -> Result<(), RegistryError> {
        self.0.execute(
            "INSERT INTO chips (card_key, chip_key, card_digest, enrolled_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(card_key) DO UPDATE SET chip_key = excluded.chip_key,
                card_digest = excluded.card_digest, enrolled_at = excluded.enrolled_at",
            params![chip.card_key, chip.chip_key, chip.card_digest, chip.enrolled_at],
        )?;
        Ok(())
    }

    fn retire_chip(&mut self, card_key: &str, chip_key: &[u8]) -> Result<(), RegistryError> {
        self.0.execute(
            "DELETE FROM chips WHERE card_key = ?1 AND chip_key = ?2",
            params![card_key, chip_key],
        )?;
        self.0.execute(
            "INSERT OR IGNORE INTO retired_chips (chip_key, card_key) VALUES (?1, ?2)",
            params![chip_key, card_key],
        )?;
        Ok(())
    }

    fn chip_retired(&mut self, chip_key: &[u8]) -> Result<bool, RegistryError> {
        Ok(self
            .0
            .query_row(
                "SELECT 1 FROM retired_chips WHERE chip_key = ?1",
                [chip_key],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    fn retired_chips(&mut self, card_key: &str) -> Result<Vec<Vec<u8>>, RegistryError> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT chip_key FROM retired_chips WHERE card_key = ?1")?;
        let rows = stmt.query_map([card_key], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn grant(&mut self, handle: &str) -> Result<Option<GrantRecord>, RegistryError> {
        Ok(self
            .0
            .query_row(
                "SELECT handle, card_key, device, issuance, state FROM grants WHERE handle = ?1",
                [handle],
                grant_row,
            )
            .optional()?)
    }

    fn put_grant(&mut self, g: &GrantRecord) -> Result<(), RegistryError> {
        self.0.execute(
            "INSERT INTO grants (handle, card_key, device, issuance, state) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![g.handle, g.card_key, g.device, to_i64(g.issuance)?, g.state.stored_name()],
        )?;
        Ok(())
    }

    fn set_grant_state(&mut self, handle: &str, state: GrantState) -> Result<(), RegistryError> {
        let n = self.0.execute(
            "UPDATE grants SET state = ?1 WHERE handle = ?2",
            params![state.stored_name(), handle],
        )?;
        if n == 1 {
            Ok(())
        } else {
            Err(RegistryError::Storage("unknown grant".into()))
        }
    }

    fn grants_of_card(&mut self, card_key: &str) -> Result<Vec<GrantRecord>, RegistryError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT handle, card_key, device, issuance, state FROM grants WHERE card_key = ?1",
        )?;
        let rows = stmt.query_map([card_key], grant_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn person_device(&mut self, person: &str) -> Result<Option<String>, RegistryError> {
        Ok(self
            .0
            .query_row(
                "SELECT device FROM persons WHERE person_key = ?1",
                [person],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn put_person_device(&mut self, person: &str, device: &str) -> Result<(), RegistryError> {
        self.0.execute(
            "INSERT INTO persons (person_key, device) VALUES (?1, ?2)
             ON CONFLICT(person_key) DO UPDATE SET device = excluded.device",
            params![person, device],
        )?;
        Ok(())
    }
}

impl RegistryStore for SqliteStore {
    fn transaction<R>(
        &self,
        mut f: impl FnMut(&mut dyn StoreTx) -> Result<R, RegistryError>,
    ) -> Result<R, RegistryError> {
        let mut conn = self.conn()?;
        // IMMEDIATE: take the write lock at BEGIN, so two processes on one file serialise (with
        // the busy timeout) instead of failing on a stale read snapshot.
        let mut tx = Tx(conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?);
        let result = f(&mut tx)?;
        tx.0.commit()?;
        Ok(result)
    }

    fn nonzero_statuses(&self, list_id: u64) -> Result<Vec<(u64, u8)>, RegistryError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT idx, status FROM credentials WHERE list_id = ?1 AND status != 0",
        )?;
        let rows = stmt.query_map([to_i64(list_id)?], |r| {
            Ok((
                to_u64(r.get(0)?),
                u8::try_from(r.get::<_, i64>(1)?).unwrap_or(u8::MAX),
            ))
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn events(&self, from: u64) -> Result<Vec<Event>, RegistryError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(
            "SELECT seq, at, actor, operation, card_key, device, credential, reason, old_status, new_status
             FROM events WHERE seq >= ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([to_i64(from)?], event_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn event_mark(&self, from: u64) -> Result<(u64, u64), RegistryError> {
        let conn = self.conn()?;
        let (max, count): (i64, i64) = conn
            .prepare_cached("SELECT coalesce(max(seq), 0), count(*) FROM events WHERE seq >= ?1")?
            .query_row([to_i64(from)?], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok((to_u64(max), to_u64(count)))
    }

    fn all_credentials(&self) -> Result<Vec<CredentialRecord>, RegistryError> {
        let sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials ORDER BY id");
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map([], credential_row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}
