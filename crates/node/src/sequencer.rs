//! The sequencer: orders queue messages and transactions into L2 blocks, executing each with the
//! one state transition function ([`loft_stf`]) as it arrives, so a transaction's outcome is known
//! (soft-confirmed) the moment it is accepted.
//!
//! Durability: every accepted step is appended to an in-memory journal buffer under the sequencer
//! lock, and the caller is answered only after the journal flusher has committed (fsync) the
//! buffer to the database — many transactions share one commit (group commit). Sealing a block
//! writes the block, its transactions and receipts, the new state-tree nodes and the head marker
//! in one database transaction and drops the journal entries it covers; the node's block producer
//! does that write after releasing the sequencer ([`Sequencer::tick_deferred`]), so accepting
//! transactions into the next block does not wait for it. After a crash, [`Sequencer::open`]
//! reloads the last written block and replays the journal (sealing a replayed block where the
//! journal opens the next one): the same steps from the same state give the same results.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use alloy::consensus::{
    Eip658Value, Header, Receipt, ReceiptEnvelope, ReceiptWithBloom, TxEnvelope,
    proofs::{calculate_receipt_root, calculate_transaction_root},
};
use alloy::primitives::{Address, B256, Bloom, Bytes, U256};
use loft_state::{RedbStore, Smt, StateRead, StateWrite};
use loft_stf::{ChainParams, L2Tx, QueueInput, STEP_BLOCK, STEP_QUEUE, STEP_TX, TxError};
use tokio::sync::{oneshot, watch};

use crate::NodeError;
use crate::db::{
    BLOCK_HASHES, BLOCKS, BlockRecord, Db, JOURNAL, JournalEntry, META, META_HEAD, StepRecord, TXS,
    TxRecord, WithdrawalRecord, encode, storage,
};

/// Most queue messages one block consumes.
const MAX_QUEUE_PER_BLOCK: u64 = 1024;
/// Most transactions one block holds.
const MAX_TXS_PER_BLOCK: usize = 20_000;
/// Gas limit shown in L2 headers (L2 gas is a fixed price per operation, not a resource bound).
const L2_BLOCK_GAS_LIMIT: u64 = 1_000_000_000;

/// Why a transaction was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The state transition refused it.
    #[error(transparent)]
    Refused(#[from] TxError),
    /// The same transaction was already accepted.
    #[error("already known: transaction {0} was accepted before")]
    AlreadyKnown(B256),
    /// The open block is full; try again in a moment.
    #[error("the sequencer is at capacity ({0} transactions in the open block); retry shortly")]
    Busy(usize),
    /// The sender is censored (`--censor`, tests and demos only).
    #[error(
        "this sequencer censors {0} (--censor, a demo of misbehaviour): force the transaction through L1"
    )]
    Censored(Address),
    /// This node is not L1's active operator: send the transaction to the one that is.
    #[error("this node is not the active operator on L1 (the active operator is {}); send the transaction to its node", .0.map_or("nobody".to_string(), |a| a.to_string()))]
    NotActive(Option<Address>),
    /// The node failed.
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// A transaction of the open block.
#[derive(Debug, Clone)]
pub struct PendingTx {
    /// The decoded transaction.
    pub tx: L2Tx,
    /// EIP-2718 bytes.
    pub raw: Bytes,
    /// Receipt data.
    pub gas_used: u64,
    /// Price per gas.
    pub effective_gas_price: u128,
    /// Logs.
    pub logs: Vec<alloy::primitives::Log>,
}

/// The block being built.
#[derive(Debug)]
struct OpenBlock {
    number: u64,
    timestamp: u64,
    queue_start: u64,
    queue_end: u64,
    txs: Vec<PendingTx>,
    by_hash: HashMap<B256, usize>,
    steps: Vec<StepRecord>,
    withdrawals: Vec<WithdrawalRecord>,
    queue_receipts: Vec<crate::db::QueueReceipt>,
    /// Last journal sequence number of this block.
    last_seq: u64,
    /// The account index count before the block's first step.
    index_count: u64,
}

/// The sequencer's state. Wrapped in a mutex by the node; every method is short and synchronous.
#[derive(Debug)]
pub struct Sequencer {
    params: ChainParams,
    db: Db,
    state: Smt<RedbStore>,
    /// The latest block on disk: what readers see.
    head: BlockRecord,
    /// The latest block sealed, on disk or on its way ([`SealedBlock`]): what the next block
    /// builds on. Equal to `head` except between a deferred seal and its write.
    tip: BlockRecord,
    open: Option<OpenBlock>,
    /// The transactions of the sealed block not on disk yet: its number, them, by hash.
    sealing: Option<(u64, Vec<PendingTx>, HashMap<B256, usize>)>,
    next_queue: u64,
    seq: u64,
    unflushed: Vec<(u64, JournalEntry)>,
    waiters: Vec<oneshot::Sender<Result<(), String>>>,
    heads: watch::Sender<u64>,
    /// Whether this node may make blocks: L1 names one of its keys the active operator
    /// (`docs/liveness.md` §2). Off, it refuses transactions and only imports L1's blocks.
    sequencing: bool,
    /// Who L1 names active when this node is not (for the refusal's message).
    active: Option<Address>,
    /// Accounts this sequencer censors (tests and demos only, [`Sequencer::set_censored`]).
    censored: Vec<Address>,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The genesis block: empty state, timestamp 0.
pub fn genesis(params: &ChainParams) -> BlockRecord {
    let header = Header {
        beneficiary: params.fee_recipient,
        state_root: B256::ZERO,
        transactions_root: alloy::consensus::constants::EMPTY_ROOT_HASH,
        receipts_root: alloy::consensus::constants::EMPTY_ROOT_HASH,
        gas_limit: L2_BLOCK_GAS_LIMIT,
        base_fee_per_gas: Some(params.base_fee as u64),
        ..Default::default()
    };
    BlockRecord {
        number: 0,
        hash: header.hash_slow(),
        header,
        queue_start: 0,
        queue_end: 0,
        tx_hashes: vec![],
        steps: vec![],
        withdrawals: vec![],
        queue_receipts: vec![],
        index_count: 0,
    }
}

impl Sequencer {
    /// Opens the sequencer on `db`: reloads the last sealed block (or writes genesis) and replays
    /// the journal of acknowledged steps.
    pub fn open(db: Db, params: ChainParams) -> Result<(Self, watch::Receiver<u64>), NodeError> {
        let head = match db.meta(META_HEAD)? {
            Some(n) => db
                .block(n)?
                .ok_or_else(|| NodeError::Storage(format!("head block {n} is missing")))?,
            None => {
                let genesis = genesis(&params);
                write_blocks(&db, &genesis, &[], &[], None)?;
                genesis
            }
        };
        let store = RedbStore::new(db.raw().clone());
        let state = Smt::new(store, head.header.state_root);
        let (heads, heads_rx) = watch::channel(head.number);
        let journal = db.journal()?;
        let seq = journal.last().map(|(s, _)| s + 1).unwrap_or(0);
        let mut me = Self {
            params,
            next_queue: head.queue_end,
            db,
            state,
            tip: head.clone(),
            head,
            open: None,
            sealing: None,
            seq,
            unflushed: vec![],
            waiters: vec![],
            heads,
            sequencing: true,
            active: None,
            censored: Vec::new(),
        };
        let mut replayed = 0usize;
        for (seq, entry) in journal {
            // A block whose seal was not written yet when the node stopped: the next block's
            // opening in the journal is where it was sealed.
            if let JournalEntry::Open { number, .. } = &entry
                && *number == me.tip.number + 2
                && me.open.is_some()
            {
                me.seal_and_write()?;
            }
            match entry {
                JournalEntry::Open {
                    number,
                    timestamp,
                    queue_start,
                    queue_end,
                } if number == me.tip.number + 1 && me.open.is_none() => {
                    if queue_start != me.next_queue {
                        return Err(NodeError::Storage(format!(
                            "journal opens block {number} at queue index {queue_start}, expected {}",
                            me.next_queue
                        )));
                    }
                    me.open_block_at(timestamp, queue_end)?;
                    if let Some(open) = me.open.as_mut() {
                        open.last_seq = seq;
                    }
                }
                JournalEntry::Tx { number, raw } if number == me.tip.number + 1 => {
                    let tx = L2Tx::decode(&raw, me.params.chain_id).map_err(|e| {
                        NodeError::Storage(format!("journal holds an undecodable tx: {e}"))
                    })?;
                    if me
                        .open
                        .as_ref()
                        .is_some_and(|o| o.by_hash.contains_key(&tx.hash()))
                    {
                        continue;
                    }
                    me.execute(tx, raw)
                        .map_err(|e| NodeError::Storage(format!("journal replay diverged: {e}")))?;
                    if let Some(open) = me.open.as_mut() {
                        open.last_seq = seq;
                    }
                    replayed += 1;
                }
                // Entries of blocks already sealed (written by the flusher after the seal).
                _ => {}
            }
        }
        me.unflushed.clear();
        if replayed > 0 {
            tracing::info!(target: "loft::sequencer", replayed, block = me.tip.number + 1, "replayed acknowledged transactions from the journal");
        }
        Ok((me, heads_rx))
    }

    /// The chain parameters.
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// The last sealed block.
    pub fn head(&self) -> &BlockRecord {
        &self.head
    }

    /// The current state, including the open block's steps (soft-confirmed).
    pub fn state(&self) -> &Smt<RedbStore> {
        &self.state
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Next queue index to be consumed.
    pub fn next_queue(&self) -> u64 {
        self.next_queue
    }

    /// A transaction of the open block (or of a sealed block not on disk yet) by hash.
    pub fn pending_tx(&self, hash: &B256) -> Option<(u64, &PendingTx)> {
        if let Some(open) = &self.open
            && let Some(i) = open.by_hash.get(hash)
        {
            return Some((open.number, &open.txs[*i]));
        }
        let (number, txs, by_hash) = self.sealing.as_ref()?;
        Some((*number, &txs[*by_hash.get(hash)?]))
    }

    /// Whether a block is open (it has steps, queue messages or transactions, not sealed yet) or
    /// sealed but not on disk yet: whether the head lacks something this sequencer accepted.
    pub fn has_open_block(&self) -> bool {
        self.open.is_some() || self.has_unwritten_block()
    }

    /// Turns sequencing on (one of this node's keys is L1's active operator) or off (`active` is,
    /// or nobody). Off, [`Sequencer::submit`] refuses transactions and [`Sequencer::tick`] seals
    /// an open block but opens none.
    pub fn set_sequencing(&mut self, on: bool, active: Option<Address>) {
        self.sequencing = on;
        self.active = active;
    }

    /// FOR TESTS AND DEMOS ONLY: misbehave by censoring `accounts`: refuse their L2 transactions
    /// and consume no queue message from the first one they sent on (so their forced messages
    /// wait, and L1 refuses this node's batches once the force-inclusion deadline passes).
    pub fn set_censored(&mut self, accounts: Vec<Address>) {
        self.censored = accounts;
    }

    /// Whether this node makes blocks (see [`Sequencer::set_sequencing`]).
    pub fn sequencing(&self) -> bool {
        self.sequencing
    }

    /// Number of transactions in the open block.
    pub fn pending_count(&self) -> usize {
        self.open.as_ref().map(|o| o.txs.len()).unwrap_or(0)
    }

    /// Validates and executes a raw transaction into the open block. On success the returned
    /// receiver fires once the transaction is durable; only then may it be acknowledged.
    pub fn submit(
        &mut self,
        raw: Bytes,
    ) -> Result<(B256, oneshot::Receiver<Result<(), String>>), SubmitError> {
        if !self.sequencing {
            return Err(SubmitError::NotActive(self.active));
        }
        let tx = L2Tx::decode(&raw, self.params.chain_id)?;
        self.submit_decoded(tx, raw)
    }

    /// [`Sequencer::submit`] for a transaction already decoded (and its sender recovered) with
    /// [`L2Tx::decode`] for this chain: the RPC server decodes before it takes the sequencer lock,
    /// so signature recovery, the costliest part of a transfer, runs on every core at once.
    pub fn submit_decoded(
        &mut self,
        tx: L2Tx,
        raw: Bytes,
    ) -> Result<(B256, oneshot::Receiver<Result<(), String>>), SubmitError> {
        if !self.sequencing {
            return Err(SubmitError::NotActive(self.active));
        }
        let hash = tx.hash();
        if self.censored.contains(&tx.sender()) {
            return Err(SubmitError::Censored(tx.sender()));
        }
        if self.pending_tx(&hash).is_some() || self.db.tx(&hash)?.is_some() {
            return Err(SubmitError::AlreadyKnown(hash));
        }
        if self.pending_count() >= MAX_TXS_PER_BLOCK {
            return Err(SubmitError::Busy(MAX_TXS_PER_BLOCK));
        }
        let opened = self.open.is_none();
        if opened {
            self.open_block()?;
        }
        if let Err(e) = self.execute(tx, raw.clone()) {
            // A refused transaction leaves nothing behind: not even the block it opened, unless
            // that block already consumes queue messages (then it is sealed for them).
            if opened
                && self
                    .open
                    .as_ref()
                    .is_some_and(|o| o.queue_start == o.queue_end)
            {
                self.open = None;
                self.unflushed.pop();
            }
            return Err(e);
        }
        let number = self.open.as_ref().map(|o| o.number).unwrap_or_default();
        self.journal(JournalEntry::Tx { number, raw });
        let (done, wait) = oneshot::channel();
        self.waiters.push(done);
        Ok((hash, wait))
    }

    fn journal(&mut self, entry: JournalEntry) {
        let seq = self.seq;
        self.seq += 1;
        self.unflushed.push((seq, entry));
        if let Some(open) = self.open.as_mut() {
            open.last_seq = seq;
        }
    }

    /// Takes the journal entries and waiters to flush (the flusher commits them, then answers).
    #[allow(clippy::type_complexity)]
    pub fn take_unflushed(
        &mut self,
    ) -> (
        Vec<(u64, JournalEntry)>,
        Vec<oneshot::Sender<Result<(), String>>>,
    ) {
        (
            std::mem::take(&mut self.unflushed),
            std::mem::take(&mut self.waiters),
        )
    }

    /// Whether anything waits to be flushed.
    pub fn has_unflushed(&self) -> bool {
        !self.unflushed.is_empty() || !self.waiters.is_empty()
    }

    fn execute(&mut self, tx: L2Tx, raw: Bytes) -> Result<(), SubmitError> {
        let outcome = loft_stf::execute_tx(&self.state, &self.params, &tx)?;
        for (key, value) in outcome.writes {
            self.state.set(key, value).map_err(NodeError::from)?;
        }
        let root = self.state.root().map_err(NodeError::from)?;
        let open = self.open.as_mut().expect("a block is open while executing");
        if let Some(w) = outcome.withdrawal {
            open.withdrawals.push(WithdrawalRecord {
                tx_hash: tx.hash(),
                l2_sender: w.l2_sender,
                nonce: w.nonce,
                l1_recipient: w.l1_recipient,
                l1_token: w.l1_token,
                amount: w.amount,
            });
        }
        open.steps.push(StepRecord {
            kind: STEP_TX,
            state_root: root,
        });
        open.by_hash.insert(tx.hash(), open.txs.len());
        open.txs.push(PendingTx {
            tx,
            raw,
            gas_used: outcome.receipt.gas_used,
            effective_gas_price: outcome.receipt.effective_gas_price,
            logs: outcome.receipt.logs,
        });
        Ok(())
    }

    /// Messages of the queue this sequencer will consume: all it has read, or (censoring) up to
    /// the first one a censored account sent.
    fn uncensored_queue_len(&self) -> Result<u64, NodeError> {
        let available = self.db.queue_len()?;
        if self.censored.is_empty() {
            return Ok(available);
        }
        for index in self.next_queue..available {
            if let Some(m) = self.db.queue(index)?
                && self.censored.contains(&m.sender)
            {
                return Ok(index);
            }
        }
        Ok(available)
    }

    /// Opens a block now, consuming the queue messages read so far.
    fn open_block(&mut self) -> Result<(), NodeError> {
        let available = self.uncensored_queue_len()?;
        let queue_end = available.min(self.next_queue + MAX_QUEUE_PER_BLOCK);
        let timestamp = now_secs().max(self.tip.header.timestamp);
        let (number, queue_start) = (self.tip.number + 1, self.next_queue);
        self.open_block_at(timestamp, queue_end)?;
        self.journal(JournalEntry::Open {
            number,
            timestamp,
            queue_start,
            queue_end,
        });
        Ok(())
    }

    fn open_block_at(&mut self, timestamp: u64, queue_end: u64) -> Result<(), NodeError> {
        let mut open = OpenBlock {
            number: self.tip.number + 1,
            timestamp,
            queue_start: self.next_queue,
            queue_end,
            txs: vec![],
            by_hash: HashMap::new(),
            steps: vec![StepRecord {
                kind: STEP_BLOCK,
                state_root: self.state.root()?,
            }],
            withdrawals: vec![],
            queue_receipts: vec![],
            last_seq: 0,
            index_count: self.state.index_count()?,
        };
        for index in self.next_queue..queue_end {
            let m = self
                .db
                .queue(index)?
                .ok_or_else(|| NodeError::Storage(format!("queue message {index} is missing")))?;
            let input = QueueInput {
                index: m.index,
                kind: m.kind,
                sender: m.sender,
                payload: m.payload.clone(),
            };
            let outcome = loft_stf::apply_queue_message(&self.state, &self.params, &input)?;
            match &outcome.status {
                loft_stf::QueueStatus::Ignored(reason)
                    if input.kind >= loft_stf::KIND_FORCED_TX =>
                {
                    tracing::info!(index, kind = input.kind, sender = %input.sender, %reason, "forced message consumed without effect");
                }
                loft_stf::QueueStatus::Executed { hash, .. } => {
                    tracing::info!(index, %hash, sender = %input.sender, "forced transaction executed");
                }
                _ => {}
            }
            open.queue_receipts.push((&outcome.status).into());
            for (key, value) in outcome.writes {
                self.state.set(key, value)?;
            }
            if let Some(w) = outcome.withdrawal {
                open.withdrawals.push(WithdrawalRecord {
                    // A queue message's withdrawal (forced withdrawal or transaction) is named
                    // by the queue head after the message: unique, and found on L1.
                    tx_hash: m.head,
                    l2_sender: w.l2_sender,
                    nonce: w.nonce,
                    l1_recipient: w.l1_recipient,
                    l1_token: w.l1_token,
                    amount: w.amount,
                });
            }
            open.steps.push(StepRecord {
                kind: STEP_QUEUE,
                state_root: self.state.root()?,
            });
        }
        self.next_queue = queue_end;
        self.open = Some(open);
        Ok(())
    }

    /// Called every block time: seals the open block, or makes a block for waiting queue
    /// messages. Returns the sealed block's number.
    pub fn tick(&mut self) -> Result<Option<u64>, NodeError> {
        match self.tick_deferred()? {
            Some(sealed) => self.write_sealed(sealed).map(Some),
            None => Ok(None),
        }
    }

    /// [`Sequencer::tick`] without the write: returns the sealed block for the caller to
    /// [`SealedBlock::write`] after releasing the sequencer (the write is most of a seal's
    /// time: while it runs, transactions keep being accepted into the next block) and then
    /// hand to [`Sequencer::sealed_written`]. Until then [`Sequencer::head`] is the block
    /// before it. The caller writes sealed blocks in order, each before the next tick.
    pub fn tick_deferred(&mut self) -> Result<Option<SealedBlock>, NodeError> {
        if self.open.is_none() {
            if !self.sequencing || self.uncensored_queue_len()? <= self.next_queue {
                return Ok(None);
            }
            self.open_block()?;
        }
        self.seal().map(Some)
    }

    /// A sealed block of [`Sequencer::tick_deferred`] is on disk: it becomes the head.
    pub fn sealed_written(&mut self, sealed: SealedBlock) {
        self.state.store().committed(&sealed.nodes);
        self.sealing = None;
        self.head = sealed.block;
        self.heads.send_replace(self.head.number);
    }

    /// Whether a sealed block is not on disk yet (sealed by [`Sequencer::tick_deferred`]).
    pub fn has_unwritten_block(&self) -> bool {
        self.tip.number != self.head.number
    }

    fn write_sealed(&mut self, sealed: SealedBlock) -> Result<u64, NodeError> {
        sealed.write(&self.db)?;
        let number = sealed.block.number;
        self.sealed_written(sealed);
        Ok(number)
    }

    fn seal_and_write(&mut self) -> Result<u64, NodeError> {
        let sealed = self.seal()?;
        self.write_sealed(sealed)
    }

    fn seal(&mut self) -> Result<SealedBlock, NodeError> {
        let open = self.open.take().expect("seal needs an open block");
        let envelopes: Vec<TxEnvelope> = open.txs.iter().map(|p| p.tx.envelope().clone()).collect();
        let mut cumulative = 0u64;
        let mut receipts = Vec::with_capacity(open.txs.len());
        let mut records = Vec::with_capacity(open.txs.len());
        let mut bloom = Bloom::default();
        let mut log_index = 0u64;
        for (i, p) in open.txs.iter().enumerate() {
            cumulative += p.gas_used;
            let receipt = Receipt {
                status: Eip658Value::Eip658(true),
                cumulative_gas_used: cumulative,
                logs: p.logs.clone(),
            };
            let with_bloom = ReceiptWithBloom::from(receipt);
            bloom |= with_bloom.logs_bloom;
            receipts.push(receipt_envelope(p.tx.envelope(), with_bloom));
            records.push((
                p.tx.hash(),
                TxRecord {
                    block: open.number,
                    index: i as u64,
                    raw: p.raw.clone(),
                    sender: p.tx.sender(),
                    gas_used: p.gas_used,
                    cumulative_gas_used: cumulative,
                    effective_gas_price: p.effective_gas_price,
                    first_log_index: log_index,
                    logs: p.logs.clone(),
                },
            ));
            log_index += p.logs.len() as u64;
        }
        let state_root = self.state.root()?;
        let header = Header {
            parent_hash: self.tip.hash,
            beneficiary: self.params.fee_recipient,
            state_root,
            transactions_root: calculate_transaction_root(&envelopes),
            receipts_root: calculate_receipt_root(&receipts),
            logs_bloom: bloom,
            number: open.number,
            gas_limit: L2_BLOCK_GAS_LIMIT,
            gas_used: cumulative,
            timestamp: open.timestamp,
            base_fee_per_gas: Some(self.params.base_fee as u64),
            ..Default::default()
        };
        let block = BlockRecord {
            number: open.number,
            hash: header.hash_slow(),
            header,
            queue_start: open.queue_start,
            queue_end: open.queue_end,
            tx_hashes: open.txs.iter().map(|p| p.tx.hash()).collect(),
            steps: open.steps,
            withdrawals: open.withdrawals,
            queue_receipts: open.queue_receipts,
            index_count: open.index_count,
        };
        let nodes = self.state.take_new_nodes();
        // The next updates read these nodes before they are on disk.
        self.state.store().stage(&nodes);
        tracing::debug!(target: "loft::sequencer", number = block.number, txs = block.tx_hashes.len(), queue = block.queue_end - block.queue_start, "sealed block");
        self.tip = block.clone();
        self.sealing = Some((block.number, open.txs, open.by_hash));
        Ok(SealedBlock {
            block,
            records,
            nodes,
            journal_end: open.last_seq,
        })
    }

    /// Executes and seals a block another operator sequenced and posted on L1 (`docs/liveness.md`
    /// §3): its timestamp, the queue messages it consumes and its transactions, each of which
    /// must be valid. Refuses while a block of this node is open. On a refused transaction the
    /// block is dropped and the state is back at the head.
    pub fn import_block(
        &mut self,
        timestamp: u64,
        queue_end: u64,
        txs: Vec<(L2Tx, Bytes)>,
    ) -> Result<u64, NodeError> {
        if self.open.is_some() || self.has_unwritten_block() {
            return Err(NodeError::Storage(
                "cannot import a block while this node has a block open".into(),
            ));
        }
        let available = self.db.queue_len()?;
        if queue_end > available || queue_end < self.next_queue {
            return Err(NodeError::Storage(format!(
                "the imported block consumes the queue up to {queue_end}; this node has {available} messages and is at {}",
                self.next_queue
            )));
        }
        self.open_block_at(timestamp, queue_end)?;
        for (tx, raw) in txs {
            let hash = tx.hash();
            if let Err(e) = self.execute(tx, raw) {
                self.open = None;
                self.next_queue = self.tip.queue_end;
                self.state = Smt::new(self.state.store().clone(), self.tip.header.state_root);
                return Err(NodeError::Storage(format!(
                    "imported transaction {hash} is refused: {e}"
                )));
            }
        }
        self.seal_and_write()
    }

    /// The state as of the end of sealed block `number` (historical roots stay provable).
    pub fn state_at(&self, number: u64) -> Result<Option<Smt<RedbStore>>, NodeError> {
        if number == self.head.number {
            return Ok(Some(Smt::new(
                self.state.store().clone(),
                self.head.header.state_root,
            )));
        }
        Ok(self
            .db
            .block(number)?
            .map(|b| Smt::new(self.state.store().clone(), b.header.state_root)))
    }

    /// The pending nonce of `address` (open block included).
    pub fn nonce(&self, address: Address) -> Result<u64, NodeError> {
        Ok(self.state.account(address)?.nonce)
    }

    /// The soft-confirmed ETH balance of `address`.
    pub fn balance(&self, address: Address) -> Result<U256, NodeError> {
        Ok(self.state.account(address)?.balance)
    }
}

fn receipt_envelope(tx: &TxEnvelope, receipt: ReceiptWithBloom) -> ReceiptEnvelope {
    match tx {
        TxEnvelope::Legacy(_) => ReceiptEnvelope::Legacy(receipt),
        _ => ReceiptEnvelope::Eip1559(receipt),
    }
}

/// A sealed block's receipt as an Ethereum receipt envelope (for roots and RPC).
pub fn envelope_for(raw_type: u8, receipt: ReceiptWithBloom) -> ReceiptEnvelope {
    if raw_type == 0 {
        ReceiptEnvelope::Legacy(receipt)
    } else {
        ReceiptEnvelope::Eip1559(receipt)
    }
}

/// A block sealed by [`Sequencer::tick_deferred`], to be written outside the sequencer's lock.
#[derive(Debug)]
pub struct SealedBlock {
    block: BlockRecord,
    records: Vec<(B256, TxRecord)>,
    nodes: Vec<(B256, loft_state::Node)>,
    journal_end: u64,
}

impl SealedBlock {
    /// Its number.
    pub fn number(&self) -> u64 {
        self.block.number
    }

    /// Writes the block, its transactions and state nodes and the new head marker, and drops
    /// its journal entries, in one commit. Until it commits, a restart replays the block from
    /// the journal.
    pub fn write(&self, db: &Db) -> Result<(), NodeError> {
        write_blocks(
            db,
            &self.block,
            &self.records,
            &self.nodes,
            Some(self.journal_end),
        )?;
        db.drop_journal(self.journal_end);
        Ok(())
    }
}

/// Writes a sealed block with its transactions and state nodes, advances the head and drops the
/// journal up to `journal_end`, all in one commit.
fn write_blocks(
    db: &Db,
    block: &BlockRecord,
    txs: &[(B256, TxRecord)],
    nodes: &[(B256, loft_state::Node)],
    journal_end: Option<u64>,
) -> Result<(), NodeError> {
    let txn = db.raw().begin_write().map_err(storage)?;
    {
        let mut blocks = txn.open_table(BLOCKS).map_err(storage)?;
        blocks
            .insert(block.number, encode(block).as_slice())
            .map_err(storage)?;
        let mut hashes = txn.open_table(BLOCK_HASHES).map_err(storage)?;
        hashes
            .insert(&block.hash.0, block.number)
            .map_err(storage)?;
        let mut table = txn.open_table(TXS).map_err(storage)?;
        for (hash, record) in txs {
            table
                .insert(&hash.0, encode(record).as_slice())
                .map_err(storage)?;
        }
        let mut meta = txn.open_table(META).map_err(storage)?;
        meta.insert(META_HEAD, block.number).map_err(storage)?;
        if let Some(end) = journal_end {
            let mut journal = txn.open_table(JOURNAL).map_err(storage)?;
            journal.retain_in(..=end, |_, _| false).map_err(storage)?;
        }
    }
    RedbStore::write_nodes(&txn, nodes)?;
    txn.commit().map_err(storage)?;
    Ok(())
}
