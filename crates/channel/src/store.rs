//! The daemon's database on disk (redb): each channel's record with its newest fully signed
//! state, the log of updates by version, and the payment ids already settled in a state.
//!
//! Everything a batch of protocol messages changes goes into one write transaction, committed
//! (fsync) before any answer to those messages leaves: a state is durable before it is
//! acknowledged, and many payments share one fsync.

use std::path::Path;

use alloy::primitives::{Address, B256};
use alloy_rlp::{Decodable, Encodable};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::state::SignedState;
use crate::wire::{LogEntry, Update};

const CHANNELS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("channels");
/// channel id ‖ version (big-endian) -> RLP of the [`LogEntry`].
const LOG: TableDefinition<&[u8; 40], &[u8]> = TableDefinition::new("log");
/// channel id ‖ payer (0 = A, 1 = B) ‖ payment id (big-endian) -> version that settled it.
const PAID: TableDefinition<&[u8; 41], u64> = TableDefinition::new("paid");

/// Errors of the channel database.
#[derive(Debug, thiserror::Error)]
#[error("channel database: {0}")]
pub struct StoreError(String);

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

/// Which side of a channel this daemon is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The opener; it numbers the versions (proposes every state).
    A,
    /// The other party; it countersigns and asks A for its own payments.
    B,
}

/// Where a channel stands on L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Open: payments flow.
    Open,
    /// A unilateral close is pending on L1 until `closes_at`.
    Closing,
    /// Settled or closed cooperatively on L1.
    Closed,
}

/// A channel as the daemon keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRecord {
    /// The adjudicator's channel id.
    pub id: B256,
    /// This daemon's side.
    pub role: Role,
    /// Party A.
    pub a: Address,
    /// Party B.
    pub b: Address,
    /// `Address::ZERO` for ETH, else the ERC-20.
    pub token: Address,
    /// The peer daemon's TCP address (known to A, which dials).
    pub peer_addr: Option<String>,
    /// Newest state both parties signed.
    pub latest: SignedState,
    /// L1 phase.
    pub phase: Phase,
    /// When a unilateral close ends (unix seconds), while closing.
    #[serde(default)]
    pub closes_at: Option<u64>,
    /// The version recorded on L1 by the pending close or the last challenge.
    #[serde(default)]
    pub closing_version: Option<u64>,
}

impl ChannelRecord {
    /// The counterparty's address.
    pub fn peer(&self) -> Address {
        match self.role {
            Role::A => self.b,
            Role::B => self.a,
        }
    }

    /// This side's address.
    pub fn me(&self) -> Address {
        match self.role {
            Role::A => self.a,
            Role::B => self.b,
        }
    }
}

/// What one batch of protocol work writes, committed together.
#[derive(Debug, Default)]
pub struct WriteBatch {
    /// Channel records to (over)write.
    pub records: Vec<ChannelRecord>,
    /// `(channel, entry)` log entries.
    pub log: Vec<(B256, LogEntry)>,
}

impl WriteBatch {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.log.is_empty()
    }
}

/// The database.
#[derive(Debug)]
pub struct Store {
    db: Database,
}

fn log_key(id: &B256, version: u64) -> [u8; 40] {
    let mut k = [0; 40];
    k[..32].copy_from_slice(id.as_slice());
    k[32..].copy_from_slice(&version.to_be_bytes());
    k
}

fn paid_key(id: &B256, payer: Role, pid: u64) -> [u8; 41] {
    let mut k = [0; 41];
    k[..32].copy_from_slice(id.as_slice());
    k[32] = u8::from(payer == Role::B);
    k[33..].copy_from_slice(&pid.to_be_bytes());
    k
}

impl Store {
    /// Opens (or creates) the database file.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(err)?;
        let tx = db.begin_write().map_err(err)?;
        tx.open_table(CHANNELS).map_err(err)?;
        tx.open_table(LOG).map_err(err)?;
        tx.open_table(PAID).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Self { db })
    }

    /// Writes a batch in one durable transaction.
    pub fn commit(&self, batch: &WriteBatch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let tx = self.db.begin_write().map_err(err)?;
        {
            let mut channels = tx.open_table(CHANNELS).map_err(err)?;
            for r in &batch.records {
                let json = serde_json::to_vec(r).map_err(err)?;
                channels.insert(&r.id.0, json.as_slice()).map_err(err)?;
            }
            let mut log = tx.open_table(LOG).map_err(err)?;
            let mut paid = tx.open_table(PAID).map_err(err)?;
            let mut buf = Vec::with_capacity(64);
            for (id, entry) in &batch.log {
                buf.clear();
                entry.encode(&mut buf);
                log.insert(&log_key(id, entry.version), buf.as_slice())
                    .map_err(err)?;
                let payer = match entry.update {
                    Update::PayAtoB { id: pid, .. } => Some((Role::A, pid)),
                    Update::PayBtoA { id: pid, .. } => Some((Role::B, pid)),
                    _ => None,
                };
                if let Some((payer, pid)) = payer {
                    paid.insert(&paid_key(id, payer, pid), entry.version)
                        .map_err(err)?;
                }
            }
        }
        tx.commit().map_err(err)
    }

    /// Every channel record.
    pub fn channels(&self) -> Result<Vec<ChannelRecord>, StoreError> {
        let tx = self.db.begin_read().map_err(err)?;
        let table = tx.open_table(CHANNELS).map_err(err)?;
        let mut out = Vec::new();
        for row in table.iter().map_err(err)? {
            let (_, v) = row.map_err(err)?;
            out.push(serde_json::from_slice(v.value()).map_err(err)?);
        }
        Ok(out)
    }

    /// The log entries of versions `from..=to` of a channel, in order.
    pub fn log_range(&self, id: &B256, from: u64, to: u64) -> Result<Vec<LogEntry>, StoreError> {
        let tx = self.db.begin_read().map_err(err)?;
        let table = tx.open_table(LOG).map_err(err)?;
        let mut out = Vec::new();
        if from > to {
            return Ok(out);
        }
        for row in table
            .range::<&[u8; 40]>(&log_key(id, from)..=&log_key(id, to))
            .map_err(err)?
        {
            let (_, v) = row.map_err(err)?;
            out.push(LogEntry::decode(&mut v.value()).map_err(err)?);
        }
        Ok(out)
    }

    /// The version that settled payment `pid` of `payer`, if any.
    pub fn paid(&self, id: &B256, payer: Role, pid: u64) -> Result<Option<u64>, StoreError> {
        let tx = self.db.begin_read().map_err(err)?;
        let table = tx.open_table(PAID).map_err(err)?;
        Ok(table
            .get(&paid_key(id, payer, pid))
            .map_err(err)?
            .map(|v| v.value()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ChannelState;
    use alloy::primitives::U256;

    #[test]
    fn a_committed_batch_is_there_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("channels.redb");
        let id = B256::repeat_byte(4);
        let state = ChannelState::opening(id);
        let record = ChannelRecord {
            id,
            role: Role::A,
            a: Address::repeat_byte(1),
            b: Address::repeat_byte(2),
            token: Address::ZERO,
            peer_addr: Some("127.0.0.1:1".into()),
            latest: SignedState::opening(state),
            phase: Phase::Open,
            closes_at: None,
            closing_version: None,
        };
        {
            let store = Store::open(&path).unwrap();
            let mut batch = WriteBatch::default();
            batch.records.push(record.clone());
            for v in 1..=3 {
                batch.log.push((
                    id,
                    LogEntry {
                        version: v,
                        update: Update::PayBtoA {
                            id: 100 + v,
                            amount: U256::from(v),
                        },
                    },
                ));
            }
            store.commit(&batch).unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.channels().unwrap(), vec![record]);
        let log = store.log_range(&id, 2, 3).unwrap();
        assert_eq!(
            log.iter().map(|e| e.version).collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert_eq!(store.paid(&id, Role::B, 102).unwrap(), Some(2));
        assert_eq!(store.paid(&id, Role::A, 102).unwrap(), None);
        assert!(store.log_range(&B256::ZERO, 0, 10).unwrap().is_empty());
    }
}
