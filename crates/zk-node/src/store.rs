//! The zk sequencer's journal: one redb file holding, in order, every decision the sequencer
//! acknowledged (an L2 operation taken, an L1 queue message taken, a batch sealed). Replaying it
//! from the genesis tree rebuilds the exact state, the open batch and every sealed batch's
//! witness, so nothing acknowledged is lost to a crash (`kill -9`) and a restarted node proves
//! and posts the same batches it would have.
//!
//! Each append commits with redb's default durability (fsync) before the sequencer answers.
//! Records are JSON: written once, read at start-up, inspectable.

use std::path::Path;

use alloy::primitives::{B256, Bytes};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::ZkNodeError;

/// Sequence number -> [`Entry`].
const JOURNAL: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("zk_journal");

/// One acknowledged decision of the sequencer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "kebab-case")]
pub enum Entry {
    /// A signed L2 operation in its wire encoding (`loft_zk::wire`), as accepted.
    Op {
        /// The bytes the wallet sent.
        raw: Bytes,
    },
    /// An L1 queue message taken into the open batch.
    Queue(QueueMessage),
    /// The open batch was sealed (padded, fees credited): it goes to the prover.
    Seal,
}

/// A `ZkRollup` queue message (`MessageQueued`), as the sequencer takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueMessage {
    /// Queue index.
    pub index: u64,
    /// 1 deposit, 2 set key, 3 forced exit.
    pub kind: u8,
    /// Account.
    pub account: u32,
    /// Wei (deposits). A decimal string in the journal: serde's tagged enums cannot carry
    /// `u128` through JSON.
    #[serde(with = "decimal")]
    pub amount: u128,
    /// The compressed key (set key).
    pub data: B256,
    /// L1 timestamp it was queued at.
    pub timestamp: u64,
}

impl From<&loft_contracts::ZkQueueMessage> for QueueMessage {
    fn from(m: &loft_contracts::ZkQueueMessage) -> Self {
        Self {
            index: m.index,
            kind: m.kind,
            account: m.account,
            amount: m.amount,
            data: m.data,
            timestamp: m.timestamp,
        }
    }
}

mod decimal {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// The journal file.
#[derive(Debug)]
pub struct Journal {
    db: Database,
    next: u64,
}

fn storage(e: impl std::fmt::Display) -> ZkNodeError {
    ZkNodeError::Storage(e.to_string())
}

impl Journal {
    /// Opens or creates the journal at `path`.
    pub fn open(path: &Path) -> Result<Self, ZkNodeError> {
        let db = Database::create(path).map_err(storage)?;
        let txn = db.begin_write().map_err(storage)?;
        txn.open_table(JOURNAL).map_err(storage)?;
        txn.commit().map_err(storage)?;
        let next = {
            let read = db.begin_read().map_err(storage)?;
            let table = read.open_table(JOURNAL).map_err(storage)?;
            table
                .last()
                .map_err(storage)?
                .map_or(0, |(k, _)| k.value() + 1)
        };
        Ok(Self { db, next })
    }

    /// Every entry, in order.
    pub fn entries(&self) -> Result<Vec<Entry>, ZkNodeError> {
        let read = self.db.begin_read().map_err(storage)?;
        let table = read.open_table(JOURNAL).map_err(storage)?;
        let mut out = Vec::with_capacity(usize::try_from(self.next).unwrap_or(0));
        for row in table.iter().map_err(storage)? {
            let (k, v) = row.map_err(storage)?;
            let entry = serde_json::from_slice(v.value()).map_err(|e| {
                ZkNodeError::Storage(format!("journal entry {} is corrupt: {e}", k.value()))
            })?;
            out.push(entry);
        }
        Ok(out)
    }

    /// Appends entries and commits them durably (fsync) before returning.
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), ZkNodeError> {
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let mut table = txn.open_table(JOURNAL).map_err(storage)?;
            for (i, e) in entries.iter().enumerate() {
                let bytes = serde_json::to_vec(e).expect("entries always serialize");
                table
                    .insert(self.next + i as u64, bytes.as_slice())
                    .map_err(storage)?;
            }
        }
        txn.commit().map_err(storage)?;
        self.next += entries.len() as u64;
        Ok(())
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.next
    }

    /// Whether the journal is empty.
    pub fn is_empty(&self) -> bool {
        self.next == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_reopening_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("zk.redb");
        let q = QueueMessage {
            index: 0,
            kind: 1,
            account: 3,
            amount: u128::MAX,
            data: B256::ZERO,
            timestamp: 9,
        };
        {
            let mut j = Journal::open(&path).expect("open");
            j.append(&[Entry::Queue(q)]).expect("append");
            j.append(&[
                Entry::Op {
                    raw: Bytes::from_static(&[1, 2]),
                },
                Entry::Seal,
            ])
            .expect("append");
        }
        let j = Journal::open(&path).expect("reopen");
        assert_eq!(j.len(), 3);
        assert_eq!(
            j.entries().expect("read"),
            vec![
                Entry::Queue(q),
                Entry::Op {
                    raw: Bytes::from_static(&[1, 2])
                },
                Entry::Seal
            ]
        );
    }
}
