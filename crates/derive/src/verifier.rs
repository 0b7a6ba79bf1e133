//! [`Verifier`]: follows the rollup's events on L1 in log order, checks every posted batch with
//! [`derive_batch`], follows reverts (`BatchesReverted`) and L1 reorganizations, and keeps all of
//! it in redb so a restarted verifier resumes exactly where it stopped.
//!
//! The live batches mirror L1's: `BatchSubmitted` appends one (its index is always the number of
//! live batches), `BatchesReverted(k, ..)` deletes batch `k` and every later one. The verifier's
//! state is the tree after the leading valid batches; every batch after the first wrong one
//! builds on it ([`Verdict::BuildsOnFraud`]) and is not replayed. A revert or a reorg that drops
//! batches resets the state to the root after the last valid batch kept: tree nodes are
//! content-addressed and never deleted, so that root is still readable.
//!
//! **Reorgs.** The verifier remembers the hashes of the last [`REORG_WINDOW`] L1 blocks it read
//! (the blocks of the events it followed and the ends of the ranges it read). At each
//! [`Verifier::sync`] it checks the newest: if L1 no longer has it, it walks back to the newest
//! remembered block L1 still has, drops every batch posted after that block (and undoes the
//! reverts followed after it, by going back to before the batches they deleted were posted), drops
//! the queue messages of the orphaned blocks, and reads on from there. A reorg deeper than the
//! window replays from the deployment. With [`Verifier::with_confirmations`] only blocks that deep
//! are read at all.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{B256, Bytes};
use alloy::sol_types::SolEvent;
use loft_contracts::{BatchHeader, Deployment, L1Rollup, QueueMessage, SubmittedBatch};
use loft_l1::{BlockNumberOrTag, Filter, L1Client, Log};
use loft_state::{RedbStore, Smt};
use loft_stf::{ChainParams, QueueInput};

use crate::rpc::VerifierHandle;
use crate::store::{
    self, BATCHES, BatchEntry, Cursor, FRAUD_DATA, Head, L1_BLOCKS, REVERTS, RevertRecord, storage,
};
use crate::{CheckedBatch, DeriveError, Fault, SyncReport, Verdict, derive_batch};

/// How many L1 block hashes the verifier remembers to find where a reorganized L1 forked.
pub const REORG_WINDOW: usize = 64;

/// Most L1 blocks one `eth_getLogs` spans (public endpoints refuse wide ranges).
const LOG_RANGE: u64 = 2_000;

/// A long sync logs its progress this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// The first wrong live batch, with everything a challenger needs to prove it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FraudCase {
    /// Its header, as `BatchSubmitted` carried it (and L1 checks it against the stored hash).
    pub header: BatchHeader,
    /// Its data, from the `submitBatch` calldata.
    pub data: Bytes,
    /// What is wrong with it.
    pub fault: Fault,
    /// The verifier's state root before it (the root after the last valid batch; it equals
    /// `header.prev_state_root` unless the fault is [`Fault::PrevStateRoot`]). Open the tree there
    /// with [`Verifier::state_at`].
    pub prev_state_root: B256,
    /// The L1 transaction that posted it.
    pub l1_tx: Option<B256>,
    /// The L1 block that posted it.
    pub l1_block: u64,
}

/// What the verifier keeps in memory per live batch.
#[derive(Debug, Clone, Copy)]
struct Live {
    l1_block: u64,
    state_root: Option<B256>,
}

impl From<&BatchEntry> for Live {
    fn from(e: &BatchEntry) -> Self {
        Self {
            l1_block: e.l1_block,
            state_root: e.state_root,
        }
    }
}

/// Throughput since the last progress line.
#[derive(Debug)]
struct Progress {
    since: Instant,
    batches: u64,
    transactions: u64,
}

impl Progress {
    fn new() -> Self {
        Self {
            since: Instant::now(),
            batches: 0,
            transactions: 0,
        }
    }

    fn log_if_due(&mut self, next_batch: u64, live: u64, l1_block: u64, l1_target: u64) {
        let elapsed = self.since.elapsed();
        if elapsed < PROGRESS_EVERY {
            return;
        }
        let secs = elapsed.as_secs_f64();
        tracing::info!(
            target: "loft::verifier",
            next_batch,
            live_batches = live,
            l1_block,
            l1_target,
            batches = self.batches,
            batches_per_sec = format!("{:.1}", self.batches as f64 / secs),
            tx_per_sec = format!("{:.0}", self.transactions as f64 / secs),
            "syncing"
        );
        *self = Self::new();
    }
}

/// One rollup event, at its place in L1's log order.
enum Event {
    Submitted(Box<SubmittedBatch>),
    Reverted(L1Rollup::BatchesReverted),
}

/// Follows L1, replays every batch and keeps the verdicts. Its state lives in redb next to the
/// tree's nodes; a restarted verifier continues from the last L1 event it followed.
#[derive(Debug)]
pub struct Verifier {
    l1: Arc<dyn L1Client>,
    deployment: Deployment,
    params: ChainParams,
    db: Arc<redb::Database>,
    /// The tree at `head.root`.
    state: Smt<RedbStore>,
    head: Head,
    /// Per live batch, by index.
    live: Vec<Live>,
    /// The first wrong live batch.
    fraud: Option<FraudCase>,
    queue: Vec<QueueMessage>,
    queue_read_to: u64,
    checked: Vec<CheckedBatch>,
    confirmations: u64,
    progress: Progress,
}

impl Verifier {
    /// Opens (or creates) the verifier's database at `path`. A database of the first verifier
    /// (before reverts were followed) starts over from the deployment.
    pub fn open(
        path: &std::path::Path,
        l1: Arc<dyn L1Client>,
        deployment: Deployment,
        params: ChainParams,
    ) -> Result<Self, DeriveError> {
        let db = Arc::new(redb::Database::create(path).map_err(storage)?);
        let start = deployment.bridge_block.saturating_sub(1);
        let txn = store::begin_read(&db)?;
        let (head, entries) = match store::read_head(&txn)? {
            Some(head) => (head, store::read_batches(&txn)?),
            None => (
                Head {
                    cursor: Cursor::end_of(start),
                    valid: 0,
                    root: deployment.genesis_state_root,
                    count: 0,
                },
                Vec::new(),
            ),
        };
        let consistent = entries.len() as u64 == head.count
            && head.valid <= head.count
            && entries[..head.valid as usize]
                .iter()
                .all(|e| e.verdict == Verdict::Valid)
            && (head.valid == 0 || entries[head.valid as usize - 1].state_root == Some(head.root));
        if !consistent {
            return Err(storage(format!(
                "verifier database {} is inconsistent: {} batch entries, head {:?}",
                path.display(),
                entries.len(),
                head
            )));
        }
        let fraud = match head.fraud_at() {
            None => None,
            Some(k) => {
                let entry = &entries[k as usize];
                let Verdict::Fraud(fault) = &entry.verdict else {
                    return Err(storage(format!(
                        "batch {k} follows the valid ones but is not marked wrong"
                    )));
                };
                let data = store::read_fraud_data(&txn, k)?
                    .ok_or_else(|| storage(format!("the data of wrong batch {k} is missing")))?;
                Some(FraudCase {
                    header: entry.header,
                    data: data.into(),
                    fault: fault.clone(),
                    prev_state_root: head.root,
                    l1_tx: entry.l1_tx,
                    l1_block: entry.l1_block,
                })
            }
        };
        drop(txn);
        let state = Smt::new(RedbStore::new(db.clone()), head.root);
        Ok(Self {
            l1,
            params,
            db,
            state,
            head,
            live: entries.iter().map(Live::from).collect(),
            fraud,
            queue: Vec::new(),
            queue_read_to: start,
            checked: Vec::new(),
            confirmations: 0,
            progress: Progress::new(),
            deployment,
        })
    }

    /// Reads only L1 blocks at least `confirmations` below the latest (0: up to the latest).
    pub fn with_confirmations(mut self, confirmations: u64) -> Self {
        self.confirmations = confirmations;
        self
    }

    /// See [`Verifier::with_confirmations`].
    pub fn set_confirmations(&mut self, confirmations: u64) {
        self.confirmations = confirmations;
    }

    /// How deep a block must be before the verifier reads it.
    pub fn confirmations(&self) -> u64 {
        self.confirmations
    }

    /// The verifier's state root (after the last valid batch).
    pub fn state_root(&self) -> B256 {
        self.head.root
    }

    /// The state after the last valid batch (read-only use).
    pub fn state(&self) -> &Smt<RedbStore> {
        &self.state
    }

    /// The tree at an older root of the verifier's (the root after any valid batch it checked, or
    /// the genesis root). Nodes are never deleted, so every such root stays readable; reads of a
    /// root the verifier never had fail with a state error.
    pub fn state_at(&self, root: B256) -> Smt<RedbStore> {
        Smt::new(self.state.store().clone(), root)
    }

    /// Index of the next batch to check: the number of leading live batches found valid.
    pub fn next_batch(&self) -> u64 {
        self.head.valid
    }

    /// Live batches on L1 (as far as the verifier has read).
    pub fn batch_count(&self) -> u64 {
        self.live.len() as u64
    }

    /// The last L1 block whose events the verifier followed.
    pub fn l1_block(&self) -> u64 {
        self.head.cursor.block
    }

    /// Every batch checked since this verifier was opened, in the order checked, including ones
    /// L1 later reverted or a reorg dropped ([`Verifier::batches`] has the live ones).
    pub fn checked(&self) -> &[CheckedBatch] {
        &self.checked
    }

    /// The verdicts on the live batches, by index (from the database: also the ones checked
    /// before a restart).
    pub fn batches(&self) -> Result<Vec<BatchEntry>, DeriveError> {
        store::read_batches(&store::begin_read(&self.db)?)
    }

    /// The verdict on live batch `index`.
    pub fn batch(&self, index: u64) -> Result<Option<BatchEntry>, DeriveError> {
        store::read_batch(&self.db, index)
    }

    /// The first wrong live batch, if any.
    pub fn fraud_at(&self) -> Option<u64> {
        self.head.fraud_at()
    }

    /// The first wrong live batch with its header, data, fault and the state root before it.
    pub fn pending_fraud(&self) -> Option<FraudCase> {
        self.fraud.clone()
    }

    /// The L1 -> L2 queue as far as read (message `i` at position `i`).
    pub fn queue(&self) -> &[QueueMessage] {
        &self.queue
    }

    /// Queue message `index`, if read.
    pub fn queue_message(&self, index: u64) -> Option<&QueueMessage> {
        self.queue.get(usize::try_from(index).ok()?)
    }

    /// A read-only view for [`crate::rpc::serve`]: it reads the verifier's database, so it sees
    /// each batch as soon as its verdict is committed, while [`Verifier::sync`] goes on.
    pub fn handle(&self) -> VerifierHandle {
        VerifierHandle::new(
            self.db.clone(),
            self.params,
            self.deployment.genesis_state_root,
        )
    }

    fn start_block(&self) -> u64 {
        self.deployment.bridge_block.saturating_sub(1)
    }

    /// Reads the queue up to L1 block `to`, checking its hash chain.
    async fn read_queue(&mut self, to: u64) -> Result<(), DeriveError> {
        while self.queue_read_to < to {
            let from = self.queue_read_to + 1;
            let end = to.min(from + LOG_RANGE - 1);
            let mut previous = self.queue.last().map(|m| m.head).unwrap_or_default();
            for m in loft_contracts::read_queue(self.l1.as_ref(), self.deployment.bridge, from, end)
                .await?
            {
                if m.index != self.queue.len() as u64 || m.chain_head(previous) != m.head {
                    return Err(DeriveError::Storage(format!(
                        "queue message {} does not extend the hash chain of the {} read so far",
                        m.index,
                        self.queue.len()
                    )));
                }
                previous = m.head;
                self.queue.push(m);
            }
            self.queue_read_to = end;
        }
        Ok(())
    }

    /// Forgets the queue messages of L1 blocks after `block`.
    fn forget_queue_after(&mut self, block: u64) {
        let keep = self.queue.partition_point(|m| m.l1_block_number <= block);
        self.queue.truncate(keep);
        self.queue_read_to = self.queue_read_to.min(block);
    }

    /// Follows every rollup event up to the latest L1 block (less the confirmation depth) and
    /// checks each batch posted; follows reverts and reorganizations. Logs progress every ~2 s.
    pub async fn sync(&mut self) -> Result<SyncReport, DeriveError> {
        let started = Instant::now();
        let mut report = SyncReport::default();
        self.progress = Progress::new();
        let latest = self.l1.block_number().await?;
        self.follow_reorg(&mut report).await?;
        let target = latest.saturating_sub(self.confirmations);
        loop {
            let from = self.head.cursor.next_block();
            if from > target {
                break;
            }
            let to = target.min(from + LOG_RANGE - 1);
            if !self.follow_range(from, to, target, &mut report).await? {
                break;
            }
        }
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Checks that L1 still has the newest block the verifier read; if not, rewinds to the newest
    /// remembered block it still has.
    async fn follow_reorg(&mut self, report: &mut SyncReport) -> Result<(), DeriveError> {
        let remembered = store::read_l1_blocks(&store::begin_read(&self.db)?)?;
        let Some(&(newest, hash)) = remembered.first() else {
            return Ok(());
        };
        if self.hash_of(newest).await? == Some(hash) {
            return Ok(());
        }
        let mut fork = self.start_block();
        for &(number, hash) in &remembered[1..] {
            if self.hash_of(number).await? == Some(hash) {
                fork = number;
                break;
            }
        }
        if fork == self.start_block() {
            tracing::warn!(target: "loft::verifier", newest, window = remembered.len(), "L1 reorganized deeper than the blocks remembered: replaying from the deployment");
        }
        self.rewind(fork, report)
    }

    async fn hash_of(&self, number: u64) -> Result<Option<B256>, DeriveError> {
        Ok(self
            .l1
            .block(BlockNumberOrTag::Number(number))
            .await?
            .map(|b| b.hash))
    }

    /// Forgets everything L1 blocks after `fork` did: the batches they posted, the reverts they
    /// made (going further back, to before the batches those reverts deleted were posted, so that
    /// reading on posts them again), their queue messages.
    fn rewind(&mut self, fork: u64, report: &mut SyncReport) -> Result<(), DeriveError> {
        let reverts = store::read_reverts(&store::begin_read(&self.db)?)?;
        let mut to = fork;
        loop {
            let before = to;
            for ((block, _), r) in &reverts {
                if *block > to {
                    to = to.min(r.posted_in.saturating_sub(1));
                }
            }
            if to == before {
                break;
            }
        }
        let to = to.max(self.start_block());
        let keep = self.live.partition_point(|b| b.l1_block <= to) as u64;
        let (valid, root) = self.after_truncation(keep);
        let head = Head {
            cursor: Cursor::end_of(to),
            valid,
            root,
            count: keep,
        };
        let txn = self.db.begin_write().map_err(storage)?;
        self.delete_batches_from(&txn, keep)?;
        txn.open_table(REVERTS)
            .map_err(storage)?
            .retain(|(block, _), _| block <= to)
            .map_err(storage)?;
        txn.open_table(L1_BLOCKS)
            .map_err(storage)?
            .retain(|block, _| block <= to)
            .map_err(storage)?;
        store::write_head(&txn, &head)?;
        txn.commit().map_err(storage)?;
        let dropped = self.live.len() as u64 - keep;
        self.apply_truncation(head);
        self.forget_queue_after(to);
        report.reorgs += 1;
        report.orphaned += dropped;
        tracing::warn!(target: "loft::verifier", fork, rewound_to = to, dropped_batches = dropped, live_batches = keep, state_root = %root, "L1 reorganized: dropped what the orphaned blocks posted; reading on from the fork");
        Ok(())
    }

    /// The valid count and state root once only batches `0 .. len` are live.
    fn after_truncation(&self, len: u64) -> (u64, B256) {
        let valid = self.head.valid.min(len);
        let root = match valid {
            0 => self.deployment.genesis_state_root,
            n => self.live[n as usize - 1]
                .state_root
                .expect("a valid batch has a state root"),
        };
        (valid, root)
    }

    /// Deletes the entries of batches `from ..` in `txn`.
    fn delete_batches_from(
        &self,
        txn: &redb::WriteTransaction,
        from: u64,
    ) -> Result<(), DeriveError> {
        let mut batches = txn.open_table(BATCHES).map_err(storage)?;
        let mut data = txn.open_table(FRAUD_DATA).map_err(storage)?;
        for index in from..self.live.len() as u64 {
            batches.remove(index).map_err(storage)?;
            data.remove(index).map_err(storage)?;
        }
        Ok(())
    }

    /// After a commit that kept only batches `0 .. head.count`: memory follows.
    fn apply_truncation(&mut self, head: Head) {
        self.live.truncate(head.count as usize);
        if head.root != self.head.root {
            self.state = Smt::new(self.state.store().clone(), head.root);
        }
        if self
            .fraud
            .as_ref()
            .is_some_and(|f| f.header.index >= head.count)
        {
            self.fraud = None;
        }
        self.head = head;
    }

    /// Follows the rollup's events in L1 blocks `from ..= to`. Returns `false` when L1 changed
    /// under the read (nothing was followed; the next sync sorts it out).
    async fn follow_range(
        &mut self,
        from: u64,
        to: u64,
        target: u64,
        report: &mut SyncReport,
    ) -> Result<bool, DeriveError> {
        let Some(end_hash) = self.hash_of(to).await? else {
            return Ok(false);
        };
        self.read_queue(to).await?;
        let filter = Filter::new()
            .address(self.deployment.rollup)
            .event_signature(vec![
                L1Rollup::BatchSubmitted::SIGNATURE_HASH,
                L1Rollup::BatchesReverted::SIGNATURE_HASH,
            ])
            .from_block(from)
            .to_block(to);
        let logs = self.l1.logs(&filter).await?;
        let consistent = self.hash_of(to).await? == Some(end_hash)
            && logs.iter().all(|l| {
                !l.removed && (l.block_number != Some(to) || l.block_hash == Some(end_hash))
            });
        if !consistent {
            tracing::warn!(target: "loft::verifier", from, to, "L1 changed while it was read; reading again at the next sync");
            self.forget_queue_after(self.head.cursor.block);
            return Ok(false);
        }
        let mut events = Vec::with_capacity(logs.len());
        for log in logs {
            let (Some(block), Some(index), Some(hash)) =
                (log.block_number, log.log_index, log.block_hash)
            else {
                return Err(storage(format!(
                    "a rollup log without its block or position (transaction {:?})",
                    log.transaction_hash
                )));
            };
            events.push((Cursor { block, log: index }, hash, decode_event(&log)?));
        }
        events.sort_by_key(|(at, _, _)| *at);
        for (at, hash, event) in events {
            if at <= self.head.cursor {
                continue;
            }
            match event {
                Event::Submitted(b) => self.on_submitted(*b, at, hash, report).await?,
                Event::Reverted(r) => self.on_reverted(&r, at, hash, report)?,
            }
            self.progress
                .log_if_due(self.head.valid, self.live.len() as u64, at.block, target);
        }
        let head = Head {
            cursor: Cursor::end_of(to),
            ..self.head
        };
        let txn = self.db.begin_write().map_err(storage)?;
        store::remember_block(&txn, to, end_hash, REORG_WINDOW)?;
        store::write_head(&txn, &head)?;
        txn.commit().map_err(storage)?;
        self.head = head;
        self.progress
            .log_if_due(self.head.valid, self.live.len() as u64, to, target);
        Ok(true)
    }

    async fn batch_data(&self, b: &SubmittedBatch) -> Result<Bytes, DeriveError> {
        Ok(b.data(self.l1.as_ref()).await?)
    }

    /// A batch was posted (at `at`, in a block with hash `block_hash`): check it and commit its
    /// verdict.
    async fn on_submitted(
        &mut self,
        b: SubmittedBatch,
        at: Cursor,
        block_hash: B256,
        report: &mut SyncReport,
    ) -> Result<(), DeriveError> {
        let header = b.header;
        let index = header.index;
        let len = self.live.len() as u64;
        // A batch at an index already live: L1 reverted without an event the verifier saw. Follow
        // it as a revert to `index` (L1 appends at the number of live batches, always).
        let replaces = index < len;
        if replaces {
            tracing::warn!(target: "loft::verifier", batch = index, live = len, "batch posted again at a live index without a BatchesReverted: dropping the batches from it");
        } else if index > len {
            return Err(storage(format!(
                "L1 posted batch {index} but the verifier knows only {len} live batches: events are missing"
            )));
        }
        let (valid, root) = self.after_truncation(index);
        let fraud_at = (index > valid).then_some(valid);
        let mut entry = BatchEntry {
            header,
            header_hash: b.header_hash,
            l1_block: at.block,
            l1_log_index: at.log,
            l1_tx: b.transaction_hash,
            verdict: Verdict::BuildsOnFraud(fraud_at.unwrap_or_default()),
            state_root: None,
            steps: 0,
            transactions: 0,
        };
        let mut nodes = Vec::new();
        let mut new_state = None;
        let mut fraud = None;
        if fraud_at.is_none() {
            let data = self.batch_data(&b).await?;
            let queue = &self.queue;
            let lookup = |i: u64| {
                queue.get(i as usize).map(|m| QueueInput {
                    index: m.index,
                    kind: m.kind,
                    sender: m.sender,
                    payload: m.payload.clone(),
                })
            };
            let mut scratch = self.state_at(root);
            match derive_batch(&mut scratch, &self.params, &header, &data, &lookup)? {
                Ok(derived) => {
                    nodes = scratch.take_new_nodes();
                    entry.verdict = Verdict::Valid;
                    entry.state_root = Some(scratch.root_hash());
                    entry.steps = derived.leaves.len() as u64;
                    entry.transactions = derived.transactions;
                    new_state = Some(scratch);
                }
                Err(fault) => {
                    tracing::warn!(target: "loft::verifier", batch = index, l1_tx = ?b.transaction_hash, %fault, "fraudulent batch");
                    entry.verdict = Verdict::Fraud(fault.clone());
                    fraud = Some(FraudCase {
                        header,
                        data,
                        fault,
                        prev_state_root: root,
                        l1_tx: b.transaction_hash,
                        l1_block: at.block,
                    });
                }
            }
        }
        let head = Head {
            cursor: at,
            valid: valid + u64::from(entry.verdict == Verdict::Valid),
            root: entry.state_root.unwrap_or(root),
            count: index + 1,
        };
        let txn = self.db.begin_write().map_err(storage)?;
        RedbStore::write_nodes(&txn, &nodes)?;
        if replaces {
            self.delete_batches_from(&txn, index)?;
            let record = RevertRecord {
                from_index: index,
                posted_in: self.live[index as usize].l1_block,
            };
            txn.open_table(REVERTS)
                .map_err(storage)?
                .insert((at.block, at.log), record.encode().as_slice())
                .map_err(storage)?;
        }
        txn.open_table(BATCHES)
            .map_err(storage)?
            .insert(index, entry.encode().as_slice())
            .map_err(storage)?;
        if let Some(f) = &fraud {
            txn.open_table(FRAUD_DATA)
                .map_err(storage)?
                .insert(index, f.data.as_ref())
                .map_err(storage)?;
        }
        store::write_head(&txn, &head)?;
        store::remember_block(&txn, at.block, block_hash, REORG_WINDOW)?;
        txn.commit().map_err(storage)?;

        if replaces {
            self.apply_truncation(Head {
                count: index,
                valid,
                root,
                cursor: at,
            });
        }
        if let Some(state) = new_state {
            state.store().cache(&nodes);
            self.state = state;
        }
        if fraud.is_some() {
            self.fraud = fraud;
        }
        self.live.push(Live::from(&entry));
        self.head = head;
        report.batches += 1;
        report.steps += entry.steps;
        report.transactions += entry.transactions;
        self.progress.batches += 1;
        self.progress.transactions += entry.transactions;
        self.checked.push(CheckedBatch {
            header,
            l1_tx: entry.l1_tx,
            verdict: entry.verdict,
            steps: entry.steps,
            transactions: entry.transactions,
        });
        Ok(())
    }

    /// L1 deleted batches `fromIndex ..`: forget them and go back to the state before them.
    fn on_reverted(
        &mut self,
        event: &L1Rollup::BatchesReverted,
        at: Cursor,
        block_hash: B256,
        report: &mut SyncReport,
    ) -> Result<(), DeriveError> {
        let from = event.fromIndex;
        let len = self.live.len() as u64;
        let keep = from.min(len);
        if len - keep != event.count {
            tracing::warn!(target: "loft::verifier", from, count = event.count, live = len, "BatchesReverted names another number of batches than the verifier has live");
        }
        let (valid, root) = self.after_truncation(keep);
        let head = Head {
            cursor: at,
            valid,
            root,
            count: keep,
        };
        let txn = self.db.begin_write().map_err(storage)?;
        if keep < len {
            self.delete_batches_from(&txn, keep)?;
            let record = RevertRecord {
                from_index: keep,
                posted_in: self.live[keep as usize].l1_block,
            };
            txn.open_table(REVERTS)
                .map_err(storage)?
                .insert((at.block, at.log), record.encode().as_slice())
                .map_err(storage)?;
        }
        store::write_head(&txn, &head)?;
        store::remember_block(&txn, at.block, block_hash, REORG_WINDOW)?;
        txn.commit().map_err(storage)?;
        self.apply_truncation(head);
        report.reverted += len - keep;
        tracing::info!(target: "loft::verifier", from, reverted = len - keep, poster = %event.poster, challenger = %event.challenger, slashed = %event.slashed, state_root = %root, "L1 reverted batches (fraud proof); the next batch is checked from the state before them");
        Ok(())
    }
}

fn decode_event(log: &Log) -> Result<Event, DeriveError> {
    let malformed = |event: &'static str, reason: String| {
        DeriveError::Contracts(loft_contracts::ContractsError::MalformedLog {
            event,
            tx: log.transaction_hash,
            reason,
        })
    };
    match log.topic0() {
        Some(&L1Rollup::BatchSubmitted::SIGNATURE_HASH) => {
            Ok(Event::Submitted(Box::new(SubmittedBatch::from_log(log)?)))
        }
        Some(&L1Rollup::BatchesReverted::SIGNATURE_HASH) => {
            L1Rollup::BatchesReverted::decode_log(&log.inner)
                .map(|e| Event::Reverted(e.data))
                .map_err(|e| malformed("BatchesReverted", e.to_string()))
        }
        other => Err(malformed(
            "rollup event",
            format!("unexpected topic {other:?}"),
        )),
    }
}
