//! The verifier's tables, in the same redb database as the state tree's nodes (so a batch's tree
//! nodes commit atomically with its verdict).
//!
//! - `verifier_meta["head"]`: the [`Head`]: how far L1 was read, how many leading batches are
//!   valid and the state root after them, how many live batches there are.
//! - `verifier_batches`: batch index -> [`BatchEntry`] (JSON), one per live batch on L1.
//! - `verifier_fraud_data`: batch index -> the data of a batch found wrong (for the challenger).
//! - `verifier_l1_blocks`: L1 block number -> hash, the last [`crate::REORG_WINDOW`] blocks read.
//! - `verifier_reverts`: (L1 block, log index) -> the `BatchesReverted` events followed (the
//!   reverted index and the L1 block that had posted it), to undo them when L1 reorganizes.

use alloy::primitives::B256;
use loft_contracts::BatchHeader;
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::{DeriveError, Verdict};

pub(crate) const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("verifier_meta");
pub(crate) const BATCHES: TableDefinition<'_, u64, &[u8]> =
    TableDefinition::new("verifier_batches");
pub(crate) const FRAUD_DATA: TableDefinition<'_, u64, &[u8]> =
    TableDefinition::new("verifier_fraud_data");
pub(crate) const L1_BLOCKS: TableDefinition<'_, u64, &[u8]> =
    TableDefinition::new("verifier_l1_blocks");
pub(crate) const REVERTS: TableDefinition<'_, (u64, u64), &[u8]> =
    TableDefinition::new("verifier_reverts");

/// Key of the [`Head`] in `verifier_meta` (the first verifier kept a `tip` there: a database
/// without `head` starts over from the deployment).
const HEAD: &str = "head";

pub(crate) fn storage(e: impl std::fmt::Display) -> DeriveError {
    DeriveError::Storage(e.to_string())
}

/// A position in L1's log order: every event up to and including `(block, log)` was followed.
/// `log == u64::MAX`: the whole block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Cursor {
    pub(crate) block: u64,
    pub(crate) log: u64,
}

impl Cursor {
    /// After every event of `block`.
    pub(crate) fn end_of(block: u64) -> Self {
        Self {
            block,
            log: u64::MAX,
        }
    }

    /// The first block with events not followed yet.
    pub(crate) fn next_block(&self) -> u64 {
        if self.log == u64::MAX {
            self.block + 1
        } else {
            self.block
        }
    }
}

/// What the verifier has verified: its persistent head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    /// How far L1's events were followed.
    pub(crate) cursor: Cursor,
    /// Leading live batches found valid (the index of the next batch to check).
    pub(crate) valid: u64,
    /// State root after them (the genesis root when none).
    pub(crate) root: B256,
    /// Live batches known (valid, wrong, and built on a wrong one).
    pub(crate) count: u64,
}

impl Head {
    fn encode(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..8].copy_from_slice(&self.cursor.block.to_be_bytes());
        out[8..16].copy_from_slice(&self.cursor.log.to_be_bytes());
        out[16..24].copy_from_slice(&self.valid.to_be_bytes());
        out[24..56].copy_from_slice(self.root.as_slice());
        out[56..].copy_from_slice(&self.count.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 64 {
            return None;
        }
        let word = |i: usize| u64::from_be_bytes(bytes[i..i + 8].try_into().expect("8 bytes"));
        Some(Self {
            cursor: Cursor {
                block: word(0),
                log: word(8),
            },
            valid: word(16),
            root: B256::from_slice(&bytes[24..56]),
            count: word(56),
        })
    }

    /// Index of the first wrong batch, if any (every live batch after the valid ones is the wrong
    /// one or builds on it).
    pub(crate) fn fraud_at(&self) -> Option<u64> {
        (self.count > self.valid).then_some(self.valid)
    }
}

/// One live batch as the verifier judged it (what `verifier_batches` holds per index).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchEntry {
    /// Its header, from `BatchSubmitted`.
    pub header: BatchHeader,
    /// `keccak256(abi.encode(header))`, as L1 stores it.
    pub header_hash: B256,
    /// L1 block of the `BatchSubmitted` log.
    pub l1_block: u64,
    /// Index of that log in its block.
    pub l1_log_index: u64,
    /// The L1 transaction that posted it (its calldata holds the batch data).
    pub l1_tx: Option<B256>,
    /// The verdict.
    pub verdict: Verdict,
    /// The state root after it, for a valid batch (the verifier's own, equal to the header's).
    pub state_root: Option<B256>,
    /// Steps replayed (0 unless valid).
    pub steps: u64,
    /// Transactions replayed (0 unless valid).
    pub transactions: u64,
}

impl BatchEntry {
    pub(crate) fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a batch entry serializes")
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, DeriveError> {
        serde_json::from_slice(bytes).map_err(|e| storage(format!("malformed batch entry: {e}")))
    }
}

/// A followed `BatchesReverted`: batches from `from_index` on were deleted; the first of them had
/// been posted in L1 block `posted_in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RevertRecord {
    pub(crate) from_index: u64,
    pub(crate) posted_in: u64,
}

impl RevertRecord {
    pub(crate) fn encode(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.from_index.to_be_bytes());
        out[8..].copy_from_slice(&self.posted_in.to_be_bytes());
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<Self> {
        (bytes.len() == 16).then(|| Self {
            from_index: u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes")),
            posted_in: u64::from_be_bytes(bytes[8..].try_into().expect("8 bytes")),
        })
    }
}

/// Reads the head; `None` for a new database (or one of the first verifier).
pub(crate) fn read_head(txn: &redb::ReadTransaction) -> Result<Option<Head>, DeriveError> {
    let table = match txn.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(storage(e)),
    };
    match table.get(HEAD).map_err(storage)? {
        None => Ok(None),
        Some(v) => Head::decode(v.value())
            .map(Some)
            .ok_or_else(|| storage("malformed verifier head")),
    }
}

pub(crate) fn write_head(txn: &redb::WriteTransaction, head: &Head) -> Result<(), DeriveError> {
    let mut meta = txn.open_table(META).map_err(storage)?;
    meta.insert(HEAD, head.encode().as_slice())
        .map_err(storage)?;
    Ok(())
}

/// Every live batch, in index order.
pub(crate) fn read_batches(txn: &redb::ReadTransaction) -> Result<Vec<BatchEntry>, DeriveError> {
    let table = match txn.open_table(BATCHES) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(storage(e)),
    };
    let mut out = Vec::new();
    for row in table.iter().map_err(storage)? {
        let (k, v) = row.map_err(storage)?;
        let entry = BatchEntry::decode(v.value())?;
        if entry.header.index != k.value() || k.value() != out.len() as u64 {
            return Err(storage(format!(
                "verifier_batches: entry {} out of place",
                k.value()
            )));
        }
        out.push(entry);
    }
    Ok(out)
}

/// Batches `from .. from + limit` (those that exist), in index order.
pub(crate) fn read_batch_range(
    txn: &redb::ReadTransaction,
    from: u64,
    limit: u64,
) -> Result<Vec<BatchEntry>, DeriveError> {
    let table = match txn.open_table(BATCHES) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(storage(e)),
    };
    let mut out = Vec::new();
    for row in table
        .range(from..from.saturating_add(limit))
        .map_err(storage)?
    {
        let (_, v) = row.map_err(storage)?;
        out.push(BatchEntry::decode(v.value())?);
    }
    Ok(out)
}

/// One batch, if live.
pub(crate) fn read_batch(
    db: &redb::Database,
    index: u64,
) -> Result<Option<BatchEntry>, DeriveError> {
    let txn = db.begin_read().map_err(storage)?;
    Ok(read_batch_range(&txn, index, 1)?.pop())
}

/// The data of a wrong batch, if stored.
pub(crate) fn read_fraud_data(
    txn: &redb::ReadTransaction,
    index: u64,
) -> Result<Option<Vec<u8>>, DeriveError> {
    let table = match txn.open_table(FRAUD_DATA) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(storage(e)),
    };
    Ok(table
        .get(index)
        .map_err(storage)?
        .map(|v| v.value().to_vec()))
}

/// The remembered L1 block hashes, newest first.
pub(crate) fn read_l1_blocks(txn: &redb::ReadTransaction) -> Result<Vec<(u64, B256)>, DeriveError> {
    let table = match txn.open_table(L1_BLOCKS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(storage(e)),
    };
    let mut out = Vec::new();
    for row in table.iter().map_err(storage)?.rev() {
        let (k, v) = row.map_err(storage)?;
        if v.value().len() != 32 {
            return Err(storage(format!("malformed hash of L1 block {}", k.value())));
        }
        out.push((k.value(), B256::from_slice(v.value())));
    }
    Ok(out)
}

/// A followed revert at its (L1 block, log index).
pub(crate) type RevertAt = ((u64, u64), RevertRecord);

/// The followed reverts, in L1 order.
pub(crate) fn read_reverts(txn: &redb::ReadTransaction) -> Result<Vec<RevertAt>, DeriveError> {
    let table = match txn.open_table(REVERTS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(storage(e)),
    };
    let mut out = Vec::new();
    for row in table.iter().map_err(storage)? {
        let (k, v) = row.map_err(storage)?;
        let record =
            RevertRecord::decode(v.value()).ok_or_else(|| storage("malformed revert record"))?;
        out.push((k.value(), record));
    }
    Ok(out)
}

/// Remembers the hash of L1 block `number`, keeping the newest `window` blocks.
pub(crate) fn remember_block(
    txn: &redb::WriteTransaction,
    number: u64,
    hash: B256,
    window: usize,
) -> Result<(), DeriveError> {
    let mut table = txn.open_table(L1_BLOCKS).map_err(storage)?;
    table.insert(number, hash.as_slice()).map_err(storage)?;
    let len = redb::ReadableTableMetadata::len(&table).map_err(storage)? as usize;
    if len > window {
        let old: Vec<u64> = table
            .iter()
            .map_err(storage)?
            .take(len - window)
            .map(|row| row.map(|(k, _)| k.value()))
            .collect::<Result<_, _>>()
            .map_err(storage)?;
        for n in old {
            table.remove(n).map_err(storage)?;
        }
    }
    Ok(())
}

/// A read transaction on `db`.
pub(crate) fn begin_read(db: &redb::Database) -> Result<redb::ReadTransaction, DeriveError> {
    db.begin_read().map_err(storage)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Fault;

    #[test]
    fn head_and_revert_records_round_trip() {
        let head = Head {
            cursor: Cursor {
                block: 7,
                log: u64::MAX,
            },
            valid: 3,
            root: B256::repeat_byte(5),
            count: 4,
        };
        assert_eq!(Head::decode(&head.encode()), Some(head));
        assert_eq!(head.fraud_at(), Some(3));
        assert_eq!(
            Head::decode(&[0; 40]),
            None,
            "the first verifier's tip is no head"
        );
        let r = RevertRecord {
            from_index: 9,
            posted_in: 1234,
        };
        assert_eq!(RevertRecord::decode(&r.encode()), Some(r));
        assert_eq!(Cursor::end_of(7).next_block(), 8);
        assert_eq!(Cursor { block: 7, log: 2 }.next_block(), 7);
        assert!(Cursor { block: 7, log: 2 } < Cursor::end_of(7));
    }

    #[test]
    fn every_verdict_survives_the_database() {
        let root = B256::repeat_byte(1);
        let faults = [
            Fault::Undecodable {
                step: 1,
                offset: 2,
                reason: "x".into(),
            },
            Fault::InvalidTransaction {
                step: 1,
                hash: root,
                reason: "nonce".into(),
            },
            Fault::QueueEnd {
                derived: 1,
                claimed: 2,
            },
            Fault::MissingQueueMessage { step: 3, index: 4 },
            Fault::NoBlockMarker,
            Fault::StepCount {
                claimed: 1,
                derived: 2,
            },
            Fault::StepsRoot {
                claimed: root,
                derived: B256::ZERO,
            },
            Fault::StateRoot {
                claimed: root,
                derived: B256::ZERO,
            },
            Fault::WithdrawalRoot {
                claimed: root,
                derived: B256::ZERO,
            },
            Fault::PrevStateRoot {
                claimed: root,
                derived: B256::ZERO,
            },
        ];
        let verdicts = faults
            .into_iter()
            .map(Verdict::Fraud)
            .chain([Verdict::Valid, Verdict::BuildsOnFraud(3)]);
        for verdict in verdicts {
            let entry = BatchEntry {
                header: BatchHeader {
                    index: 3,
                    ..Default::default()
                },
                header_hash: root,
                l1_block: 10,
                l1_log_index: 2,
                l1_tx: Some(root),
                verdict,
                state_root: None,
                steps: 0,
                transactions: 0,
            };
            assert_eq!(BatchEntry::decode(&entry.encode()).unwrap(), entry);
        }
        let json = serde_json::to_value(Fault::StateRoot {
            claimed: root,
            derived: B256::ZERO,
        })
        .unwrap();
        assert_eq!(json["kind"], "stateRoot");
        assert_eq!(json["claimed"], serde_json::json!(root));
    }
}
