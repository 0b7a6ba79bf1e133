//! The node's database: one redb file holding L2 blocks, transactions and receipts, the journal of
//! acknowledged but unsealed steps, the L1 queue as seen, posted batches, and the state tree's
//! nodes (through [`loft_state::RedbStore`], in the same file so a block and its state commit
//! atomically).
//!
//! Records are JSON (serde): they are written once per block or transaction and read rarely, and
//! JSON keeps the database inspectable. Keys are big-endian integers or 32-byte hashes.

use std::path::Path;
use std::sync::Arc;

use alloy::primitives::{Address, B256, Bytes, Log, U256};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::NodeError;

/// Block number -> [`BlockRecord`].
pub(crate) const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");
/// Block hash -> block number.
pub(crate) const BLOCK_HASHES: TableDefinition<'_, &[u8; 32], u64> =
    TableDefinition::new("block_hashes");
/// Transaction hash -> [`TxRecord`].
pub(crate) const TXS: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new("txs");
/// Journal sequence number -> [`JournalEntry`] (acknowledged steps of the open block).
pub(crate) const JOURNAL: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("journal");
/// Queue index -> [`QueueRecord`].
pub(crate) const QUEUE: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("queue");
/// Batch index -> [`BatchRecord`].
pub(crate) const BATCHES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("batches");
/// Batch index -> [`LeavesRecord`]: the step leaves this node committed in a batch it posted.
pub(crate) const LEAVES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("step_leaves");
/// Small counters and markers.
pub(crate) const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");

/// `META` key: number of the last sealed block.
pub(crate) const META_HEAD: &str = "head";
/// `META` key: L1 block up to which the queue has been read.
pub(crate) const META_QUEUE_L1_BLOCK: &str = "queue_l1_block";
/// `META` key: index of the batch an injected fault (`--fault`) made wrong (it fires once).
pub(crate) const META_FAULT_FIRED: &str = "fault_fired";
/// `META` key: L1 block up to which opening requests have been handled.
pub(crate) const META_OPENER_L1_BLOCK: &str = "opener_l1_block";

/// A sealed L2 block.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BlockRecord {
    /// Block number (genesis is 0).
    pub number: u64,
    /// Header hash.
    pub hash: B256,
    /// The Ethereum-style header (RLP-encodable) the hash is computed from.
    pub header: alloy::consensus::Header,
    /// Queue messages consumed: `[queue_start, queue_end)`.
    pub queue_start: u64,
    /// End (exclusive) of the consumed queue range.
    pub queue_end: u64,
    /// Transaction hashes in order.
    pub tx_hashes: Vec<B256>,
    /// Every step of the block in order (`docs/fraud-proofs.md` §2): its block marker, its
    /// queue messages, then its transactions, each with the state root after it.
    pub steps: Vec<StepRecord>,
    /// Withdrawals made in this block, in order.
    pub withdrawals: Vec<WithdrawalRecord>,
    /// What each consumed queue message did, in queue order (`queue_start..queue_end`).
    #[serde(default)]
    pub queue_receipts: Vec<QueueReceipt>,
    /// The account index count before the block's first step (`docs/rollup.md` §1.2): the
    /// batcher posts a transaction of this block compact only with indexes below it. 0 in
    /// records written before indexes existed (their transactions go in the full encoding).
    #[serde(default)]
    pub index_count: u64,
}

/// The receipt of one queue message: what [`loft_stf::apply_queue_message`] said about it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum QueueReceipt {
    /// It took effect (a deposit credited, a token registered, a forced withdrawal taken).
    Applied,
    /// A forced transaction that executed (an L2 transaction never reverts): its hash.
    Executed {
        /// The transaction's hash.
        hash: B256,
    },
    /// Consumed without effect, and why.
    Ignored {
        /// Why.
        reason: String,
    },
}

impl From<&loft_stf::QueueStatus> for QueueReceipt {
    fn from(s: &loft_stf::QueueStatus) -> Self {
        match s {
            loft_stf::QueueStatus::Applied => Self::Applied,
            loft_stf::QueueStatus::Executed { hash, .. } => Self::Executed { hash: *hash },
            loft_stf::QueueStatus::Ignored(reason) => Self::Ignored {
                reason: reason.clone(),
            },
        }
    }
}

/// One step of a sealed block: what the sequencer records so the batcher can compute the step
/// leaves (queue position, data offset and withdrawals run across a batch, so they are computed
/// when a batch is cut).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct StepRecord {
    /// `loft_stf::STEP_BLOCK`, `STEP_QUEUE` or `STEP_TX`.
    pub kind: u8,
    /// State root after the step.
    pub state_root: B256,
}

/// A withdrawal, with the L2 transaction that made it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WithdrawalRecord {
    /// The L2 transaction that withdrew; for a queue message (forced withdrawal or forced
    /// transaction), the queue head after the message.
    pub tx_hash: B256,
    /// L2 sender.
    pub l2_sender: Address,
    /// The transaction's nonce.
    pub nonce: u64,
    /// L1 recipient.
    pub l1_recipient: Address,
    /// L1 token, zero for ETH.
    pub l1_token: Address,
    /// Amount.
    pub amount: U256,
}

/// A transaction in a sealed block, with its receipt.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TxRecord {
    /// Block number.
    pub block: u64,
    /// Index in the block.
    pub index: u64,
    /// EIP-2718 bytes as signed.
    pub raw: Bytes,
    /// Recovered sender.
    pub sender: Address,
    /// L2 gas charged.
    pub gas_used: u64,
    /// Cumulative gas in the block up to and including this one.
    pub cumulative_gas_used: u64,
    /// Price paid per gas.
    pub effective_gas_price: u128,
    /// Block-wide index of this transaction's first log.
    pub first_log_index: u64,
    /// Logs.
    pub logs: Vec<Log>,
}

/// An acknowledged step of the open block, replayed after a restart.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub enum JournalEntry {
    /// A block was opened with this timestamp, consuming queue messages `[queue_start, queue_end)`.
    Open {
        /// Block number.
        number: u64,
        /// Block timestamp.
        timestamp: u64,
        /// First queue message.
        queue_start: u64,
        /// End (exclusive).
        queue_end: u64,
    },
    /// A transaction was accepted into the open block.
    Tx {
        /// Block number.
        number: u64,
        /// EIP-2718 bytes.
        raw: Bytes,
    },
}

/// A queue message as read from L1.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct QueueRecord {
    /// Queue index.
    pub index: u64,
    /// Kind.
    pub kind: u8,
    /// L1 sender.
    pub sender: Address,
    /// Queue head after it.
    pub head: B256,
    /// L1 block.
    pub l1_block_number: u64,
    /// L1 timestamp.
    pub timestamp: u64,
    /// Payload.
    pub payload: Bytes,
    /// The L1 transaction that queued it.
    pub l1_tx: Option<B256>,
}

/// A batch this node posted (or found posted) on L1.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BatchRecord {
    /// Batch index on L1.
    pub index: u64,
    /// First L2 block.
    pub first_block: u64,
    /// Last L2 block.
    pub last_block: u64,
    /// Queue range end.
    pub queue_end: u64,
    /// Steps.
    pub step_count: u64,
    /// Claimed state root.
    pub state_root: B256,
    /// Withdrawal root.
    pub withdrawal_root: B256,
    /// Root of the step leaves (`stepsRoot`).
    #[serde(alias = "step_roots_root")]
    pub steps_root: B256,
    /// Posted data size in bytes.
    pub data_len: u64,
    /// Encoded size of the blocks (equal to `data_len` since batch data v1, which is not
    /// compressed).
    pub raw_len: u64,
    /// The L1 transaction.
    pub l1_tx: B256,
    /// The L1 block it landed in.
    pub l1_block: u64,
    /// L1 gas used by the posting transaction.
    pub l1_gas_used: u64,
    /// L1 timestamp of posting.
    pub posted_at: u64,
    /// When the batch becomes final (posted_at + challenge period).
    pub final_at: u64,
    /// `keccak256(abi.encode(header))` as L1 stores it (zero in records written before it was
    /// kept).
    #[serde(default)]
    pub header_hash: B256,
    /// The L1 account that posted it.
    #[serde(default)]
    pub poster: Address,
    /// Where its data went: `loft_contracts::DATA_CALLDATA` or `DATA_BLOBS`.
    #[serde(default)]
    pub data_kind: u8,
    /// Blobs of the posting transaction (0 for calldata).
    #[serde(default)]
    pub blob_count: u64,
    /// Blob gas the posting transaction paid for (0 for calldata).
    #[serde(default)]
    pub blob_gas_used: u64,
}

/// The step leaves this node committed in a batch (`docs/fraud-proofs.md` §2), with the batch's
/// full header (an opening answer needs it). For a batch made wrong on purpose (`--fault`), the
/// tampered leaves, as posted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LeavesRecord {
    /// The header, from the `BatchSubmitted` event.
    pub header: loft_contracts::BatchHeader,
    /// Its hash, as emitted.
    pub header_hash: B256,
    /// The committed step count (for the `step-count` fault, one more than the leaves: the extra
    /// leaf is zero in the tree).
    pub step_count: u64,
    /// The leaves, [`LEAF_BYTES`] each: kind, queuePos, dataEnd, wCount (big-endian), wRoot,
    /// stateRoot.
    pub packed: Bytes,
    /// The node keeps these leaves to itself (`--fault withhold`): not served, not opened.
    #[serde(default)]
    pub withheld: bool,
    /// The fault injected into this batch, if any.
    #[serde(default)]
    pub fault: Option<crate::fault::FaultKind>,
}

/// Bytes of one packed leaf in a [`LeavesRecord`].
pub const LEAF_BYTES: usize = 1 + 3 * 8 + 2 * 32;

impl LeavesRecord {
    /// A record of `leaves` committed with `step_count` steps under `header`.
    pub fn new(
        header: loft_contracts::BatchHeader,
        header_hash: B256,
        leaves: &[loft_stf::StepLeaf],
        step_count: u64,
    ) -> Self {
        let mut packed = Vec::with_capacity(leaves.len() * LEAF_BYTES);
        for l in leaves {
            packed.push(l.kind);
            packed.extend_from_slice(&l.queue_pos.to_be_bytes());
            packed.extend_from_slice(&l.data_end.to_be_bytes());
            packed.extend_from_slice(&l.w_count.to_be_bytes());
            packed.extend_from_slice(l.w_root.as_slice());
            packed.extend_from_slice(l.state_root.as_slice());
        }
        Self {
            header,
            header_hash,
            step_count,
            packed: packed.into(),
            withheld: false,
            fault: None,
        }
    }

    /// The leaves.
    pub fn leaves(&self) -> Vec<loft_stf::StepLeaf> {
        let word = |b: &[u8]| u64::from_be_bytes(b.try_into().expect("8 bytes"));
        self.packed
            .chunks_exact(LEAF_BYTES)
            .map(|c| loft_stf::StepLeaf {
                kind: c[0],
                queue_pos: word(&c[1..9]),
                data_end: word(&c[9..17]),
                w_count: word(&c[17..25]),
                w_root: B256::from_slice(&c[25..57]),
                state_root: B256::from_slice(&c[57..89]),
            })
            .collect()
    }

    /// The committed leaf hashes: `step_count` of them, zero past the leaves.
    pub fn leaf_hashes(&self) -> Vec<B256> {
        let mut hashes: Vec<B256> = self.leaves().iter().map(|l| l.hash()).collect();
        let n = (self.step_count as usize).max(hashes.len());
        hashes.resize(n, B256::ZERO);
        hashes
    }

    /// Leaf `i` with its path under the batch's `stepsRoot` (`None` past the leaves: a zero leaf
    /// cannot be opened).
    pub fn opening(&self, i: u64) -> Option<(loft_stf::StepLeaf, Vec<B256>)> {
        let i = usize::try_from(i).ok()?;
        let leaf = *self.leaves().get(i)?;
        let proof = loft_stf::positional_proof(&self.leaf_hashes(), i)?;
        Some((leaf, proof))
    }
}

/// The opened database.
#[derive(Debug, Clone)]
pub struct Db {
    db: Arc<Database>,
    /// The journal of acknowledged steps, in a database file of its own: redb lets one write
    /// transaction run at a time per file, and a block's write (thousands of records) must not
    /// hold up the commits that acknowledge transactions.
    journal: Arc<Database>,
    /// Journal entries up to this sequence number belong to written blocks: the next journal
    /// commit drops them ([`Db::drop_journal`]).
    journal_drop: Arc<std::sync::Mutex<Option<u64>>>,
}

pub(crate) fn storage(e: impl std::fmt::Display) -> NodeError {
    NodeError::Storage(e.to_string())
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("records always serialize")
}

pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, NodeError> {
    serde_json::from_slice(bytes).map_err(|e| NodeError::Storage(format!("corrupt record: {e}")))
}

impl Db {
    /// Opens or creates the database file and its tables.
    ///
    /// The journal lives next to it, in `<name>-journal.redb`.
    pub fn open(path: &Path) -> Result<Self, NodeError> {
        let journal_path = path.with_file_name(format!(
            "{}-journal.redb",
            path.file_stem().unwrap_or_default().to_string_lossy()
        ));
        let journal = Database::create(&journal_path).map_err(storage)?;
        let txn = journal.begin_write().map_err(storage)?;
        txn.open_table(JOURNAL).map_err(storage)?;
        txn.commit().map_err(storage)?;
        let db = Database::create(path).map_err(storage)?;
        let txn = db.begin_write().map_err(storage)?;
        {
            txn.open_table(BLOCKS).map_err(storage)?;
            txn.open_table(BLOCK_HASHES).map_err(storage)?;
            txn.open_table(TXS).map_err(storage)?;
            txn.open_table(JOURNAL).map_err(storage)?;
            txn.open_table(QUEUE).map_err(storage)?;
            txn.open_table(BATCHES).map_err(storage)?;
            txn.open_table(LEAVES).map_err(storage)?;
            txn.open_table(META).map_err(storage)?;
        }
        txn.commit().map_err(storage)?;
        Ok(Self {
            db: Arc::new(db),
            journal: Arc::new(journal),
            journal_drop: Default::default(),
        })
    }

    /// The shared redb handle.
    pub fn raw(&self) -> &Arc<Database> {
        &self.db
    }

    /// A `META` value.
    pub fn meta(&self, key: &str) -> Result<Option<u64>, NodeError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(META).map_err(storage)?;
        Ok(table.get(key).map_err(storage)?.map(|v| v.value()))
    }

    /// Block `number`.
    pub fn block(&self, number: u64) -> Result<Option<BlockRecord>, NodeError> {
        self.get_u64(BLOCKS, number)
    }

    /// The number of the block with hash `hash`.
    pub fn block_number_by_hash(&self, hash: &B256) -> Result<Option<u64>, NodeError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(BLOCK_HASHES).map_err(storage)?;
        Ok(table.get(&hash.0).map_err(storage)?.map(|v| v.value()))
    }

    /// A sealed transaction.
    pub fn tx(&self, hash: &B256) -> Result<Option<TxRecord>, NodeError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(TXS).map_err(storage)?;
        match table.get(&hash.0).map_err(storage)? {
            Some(v) => decode(v.value()).map(Some),
            None => Ok(None),
        }
    }

    /// The sealed block (at most `head`) that consumed queue message `index`, if one did. Blocks
    /// consume the queue in order, so a binary search over their ranges finds it.
    pub fn block_of_queue(&self, index: u64, head: u64) -> Result<Option<u64>, NodeError> {
        let end_of = |n: u64| -> Result<u64, NodeError> {
            Ok(self
                .block(n)?
                .ok_or_else(|| NodeError::Storage(format!("block {n} missing")))?
                .queue_end)
        };
        if end_of(head)? <= index {
            return Ok(None);
        }
        // The first block whose queue range ends past `index`.
        let (mut lo, mut hi) = (1, head);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if end_of(mid)? > index {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok(Some(lo))
    }

    /// Queue message `index`, if read from L1.
    pub fn queue(&self, index: u64) -> Result<Option<QueueRecord>, NodeError> {
        self.get_u64(QUEUE, index)
    }

    /// Batch `index`, if recorded.
    pub fn batch(&self, index: u64) -> Result<Option<BatchRecord>, NodeError> {
        self.get_u64(BATCHES, index)
    }

    /// The last recorded batch.
    pub fn last_batch(&self) -> Result<Option<BatchRecord>, NodeError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(BATCHES).map_err(storage)?;
        match table.last().map_err(storage)? {
            Some((_, v)) => decode(v.value()).map(Some),
            None => Ok(None),
        }
    }

    /// Number of queue messages stored (they are stored contiguously from 0).
    pub fn queue_len(&self) -> Result<u64, NodeError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(QUEUE).map_err(storage)?;
        Ok(table
            .last()
            .map_err(storage)?
            .map(|(k, _)| k.value() + 1)
            .unwrap_or(0))
    }

    /// The journal, in order.
    ///
    /// Databases written before the journal had its own file keep it in the main file: those
    /// entries come first (they are older), and are dropped with the blocks they belong to.
    pub fn journal(&self) -> Result<Vec<(u64, JournalEntry)>, NodeError> {
        let mut out = Vec::new();
        for db in [&self.db, &self.journal] {
            let txn = db.begin_read().map_err(storage)?;
            let table = txn.open_table(JOURNAL).map_err(storage)?;
            for item in table.iter().map_err(storage)? {
                let (k, v) = item.map_err(storage)?;
                out.push((k.value(), decode(v.value())?));
            }
        }
        out.sort_by_key(|(seq, _)| *seq);
        Ok(out)
    }

    /// Drops the journal entries up to `end` (their block is written) with the next journal
    /// commit, rather than in a commit of its own that acknowledgements would wait behind.
    /// Entries of written blocks left behind by a crash are skipped by replay.
    pub fn drop_journal(&self, end: u64) {
        let mut drop = self.journal_drop.lock().unwrap_or_else(|e| e.into_inner());
        *drop = Some(drop.map_or(end, |d| d.max(end)));
    }

    /// Appends journal entries and commits (fsync) before returning.
    pub fn append_journal(&self, entries: &[(u64, JournalEntry)]) -> Result<(), NodeError> {
        if entries.is_empty() {
            return Ok(());
        }
        let drop = self
            .journal_drop
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let txn = self.journal.begin_write().map_err(storage)?;
        {
            let mut table = txn.open_table(JOURNAL).map_err(storage)?;
            if let Some(end) = drop {
                table.retain_in(..=end, |_, _| false).map_err(storage)?;
            }
            for (seq, entry) in entries {
                table
                    .insert(*seq, encode(entry).as_slice())
                    .map_err(storage)?;
            }
        }
        txn.commit().map_err(storage)
    }

    /// Stores queue messages and how far L1 was read, atomically.
    pub fn store_queue(&self, messages: &[QueueRecord], l1_block: u64) -> Result<(), NodeError> {
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let mut table = txn.open_table(QUEUE).map_err(storage)?;
            for m in messages {
                table
                    .insert(m.index, encode(m).as_slice())
                    .map_err(storage)?;
            }
            let mut meta = txn.open_table(META).map_err(storage)?;
            meta.insert(META_QUEUE_L1_BLOCK, l1_block)
                .map_err(storage)?;
        }
        txn.commit().map_err(storage)
    }

    /// Records a batch.
    pub fn store_batch(&self, batch: &BatchRecord) -> Result<(), NodeError> {
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let mut table = txn.open_table(BATCHES).map_err(storage)?;
            table
                .insert(batch.index, encode(batch).as_slice())
                .map_err(storage)?;
        }
        txn.commit().map_err(storage)
    }

    /// Records a batch this node posted with the step leaves it committed, in one commit.
    pub fn store_posted(
        &self,
        batch: &BatchRecord,
        leaves: Option<&LeavesRecord>,
    ) -> Result<(), NodeError> {
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let mut table = txn.open_table(BATCHES).map_err(storage)?;
            table
                .insert(batch.index, encode(batch).as_slice())
                .map_err(storage)?;
            let mut table = txn.open_table(LEAVES).map_err(storage)?;
            match leaves {
                Some(l) => {
                    table
                        .insert(batch.index, encode(l).as_slice())
                        .map_err(storage)?;
                }
                None => {
                    table.remove(batch.index).map_err(storage)?;
                }
            }
        }
        txn.commit().map_err(storage)
    }

    /// The step leaves this node committed in batch `index`.
    pub fn leaves(&self, index: u64) -> Result<Option<LeavesRecord>, NodeError> {
        self.get_u64(LEAVES, index)
    }

    /// Drops the records (and leaves) of batches `index` and later: L1 reverted them. Returns how
    /// many batch records were dropped.
    pub fn drop_batches_from(&self, index: u64) -> Result<u64, NodeError> {
        let txn = self.db.begin_write().map_err(storage)?;
        let mut dropped = 0;
        {
            let mut table = txn.open_table(BATCHES).map_err(storage)?;
            table
                .retain_in(index.., |_, _| {
                    dropped += 1;
                    false
                })
                .map_err(storage)?;
            let mut table = txn.open_table(LEAVES).map_err(storage)?;
            table.retain_in(index.., |_, _| false).map_err(storage)?;
        }
        txn.commit().map_err(storage)?;
        Ok(dropped)
    }

    /// Sets a `META` value.
    pub fn set_meta(&self, key: &str, value: u64) -> Result<(), NodeError> {
        let txn = self.db.begin_write().map_err(storage)?;
        {
            let mut meta = txn.open_table(META).map_err(storage)?;
            meta.insert(key, value).map_err(storage)?;
        }
        txn.commit().map_err(storage)
    }

    /// The batch that holds L2 block `number`, if it has been posted.
    pub fn batch_of_block(&self, number: u64) -> Result<Option<BatchRecord>, NodeError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(BATCHES).map_err(storage)?;
        // Batches are few and ordered by block range: walk back from the last one.
        for item in table.iter().map_err(storage)?.rev() {
            let (_, v) = item.map_err(storage)?;
            let batch: BatchRecord = decode(v.value())?;
            if batch.first_block <= number && number <= batch.last_block {
                return Ok(Some(batch));
            }
            if batch.last_block < number {
                return Ok(None);
            }
        }
        Ok(None)
    }

    fn get_u64<T: DeserializeOwned>(
        &self,
        def: TableDefinition<'_, u64, &[u8]>,
        key: u64,
    ) -> Result<Option<T>, NodeError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(def).map_err(storage)?;
        match table.get(key).map_err(storage)? {
            Some(v) => decode(v.value()).map(Some),
            None => Ok(None),
        }
    }
}
