//! The batcher: packs sealed L2 blocks into batches (`docs/rollup.md` §3) and posts them to
//! `L1Rollup.submitBatch` (data in calldata) or `submitBatchBlobs` (data in EIP-4844 blobs) with
//! the claimed roots; `rollup.batch_data` chooses, `auto` by the L1's prices batch by batch.
//!
//! L1 is the source of truth for what has been posted: before every batch the batcher reads the
//! rollup's tip (`lastBatch()`) and starts after its last block, so a restart (even after a crash
//! between posting and recording) never posts a block twice; the contract refuses a
//! non-contiguous batch anyway. When a fraud proof reverted batches (`BatchesReverted`), the tip
//! went back: the batcher drops its records (and step leaves) of the reverted batches and posts
//! the honest blocks again from the tip.
//!
//! Who posts: the sequencer's key while it is not barred; once a fraud proof barred it, the
//! backup poster (`--backup-poster-key`), which deposits its bond first if it has none
//! (`docs/fraud-proofs.md` §5.3: any bonded account that is not barred may post then).
//!
//! With `--fault KIND` (tests and demos only) the first batch that has what the fault needs is
//! posted wrong on purpose ([`crate::fault`]); every other batch is honest.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use alloy::consensus::TxEnvelope;
use alloy::eips::eip2718::Decodable2718;
use alloy::network::{TransactionBuilder, TransactionBuilder4844};
use alloy::primitives::{Address, B256, Bytes};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use loft_config::BatchData;
use loft_contracts::{L1Rollup, rollup_call};
use loft_l1::L1Client;
use loft_state::StateRead;
use loft_stf::{
    DataStep, QueueInput, STEP_QUEUE, STEP_TX, StepLeaf, StepOutcome, Withdrawal, WithdrawalTree,
};

use crate::db::{BatchRecord, BlockRecord, LeavesRecord, META_FAULT_FIRED, WithdrawalRecord};
use crate::fault::{Commitments, FaultKeys, FaultKind, HonestBatch, Injected, Injector};
use crate::{NodeError, Shared};

/// Runs until aborted; failures are logged and retried at the next interval.
///
/// Each interval posts what is sealed, then keeps posting only while more than an interval's
/// worth of blocks waits (a backlog): otherwise the blocks sealed while a batch was being posted
/// would each go alone, in a batch (and a blob) of their own.
pub(crate) async fn run(shared: Arc<Shared>) {
    let interval = Duration::from_millis(shared.config.rollup.batch_interval_ms);
    let backlog =
        (shared.config.rollup.batch_interval_ms / shared.config.l2.block_time_ms.max(1)).max(1);
    loop {
        tokio::time::sleep(interval).await;
        loop {
            match post_next(&shared).await {
                Ok(Some(batch)) => {
                    tracing::info!(target: "loft::batcher", index = batch.index, blocks = %format!("{}..={}", batch.first_block, batch.last_block), steps = batch.step_count, bytes = batch.data_len, l1_gas = batch.l1_gas_used, blobs = batch.blob_count, l1_tx = %batch.l1_tx, "batch posted");
                    if batch.data_kind == loft_contracts::DATA_BLOBS
                        && shared.sequencer().head().number < batch.last_block + backlog
                    {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::warn!(target: "loft::batcher", error = %e, "posting a batch failed; retrying");
                    break;
                }
            }
        }
    }
}

/// A withdrawal record as the state transition's type.
pub fn withdrawal_of(w: &WithdrawalRecord) -> Withdrawal {
    Withdrawal {
        l2_sender: w.l2_sender,
        nonce: w.nonce,
        l1_recipient: w.l1_recipient,
        l1_token: w.l1_token,
        amount: w.amount,
    }
}

/// The withdrawals of a run of blocks as the state transition's type, in step order (their
/// positions in the batch's withdrawal tree).
pub fn withdrawals_of(blocks: &[BlockRecord]) -> Vec<Withdrawal> {
    blocks
        .iter()
        .flat_map(|b| b.withdrawals.iter())
        .map(withdrawal_of)
        .collect()
}

/// A batch ready to post.
#[derive(Debug)]
pub struct PreparedBatch {
    /// Its blocks.
    pub blocks: Vec<BlockRecord>,
    /// Batch data v1.
    pub data: Bytes,
    /// The state root before the first block.
    pub prev_state_root: B256,
    /// The leaf after every step.
    pub leaves: Vec<StepLeaf>,
    /// `stepsRoot`: root of the step leaves.
    pub steps_root: B256,
    /// `withdrawalRoot`: the positional withdrawal tree's root.
    pub withdrawal_root: B256,
    /// Number of steps.
    pub step_count: u64,
}

/// The account indexes (`docs/rollup.md` §1.2) the batcher knows, by address: the first
/// `loaded` index leaves of the state. Index leaves never change, so the map only grows.
#[derive(Debug, Default)]
pub(crate) struct AccountIndex {
    by_address: HashMap<Address, u64>,
    loaded: u64,
}

impl AccountIndex {
    /// Reads the index leaves from `loaded` up to `count` from the sequencer's state.
    fn load_to(&mut self, shared: &Shared, count: u64) -> Result<(), NodeError> {
        if self.loaded >= count {
            return Ok(());
        }
        let sequencer = shared.sequencer();
        let state = sequencer.state();
        while self.loaded < count {
            let index = self.loaded;
            let address = state.account_at(index)?.ok_or_else(|| {
                NodeError::Storage(format!("account index {index} missing from the state"))
            })?;
            // An address with two indexes (account and token leaf) keeps its first.
            self.by_address.entry(address).or_insert(index);
            self.loaded += 1;
        }
        Ok(())
    }

    /// `address`'s index if it is below `count`.
    fn below(&self, address: Address, count: u64) -> Option<u64> {
        self.by_address
            .get(&address)
            .copied()
            .filter(|i| *i < count)
    }
}

/// The data steps of one sealed block: its marker, its queue steps, its transactions, each
/// compact (`docs/rollup.md` §3.2) when its accounts had indexes before the block.
fn block_steps(shared: &Shared, block: &BlockRecord) -> Result<Vec<DataStep>, NodeError> {
    let chain_id = shared.config.l2.chain_id;
    let mut index = shared
        .account_index
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    index.load_to(shared, block.index_count)?;
    let mut steps = Vec::with_capacity(block.steps.len());
    steps.push(DataStep::Block {
        timestamp: block.header.timestamp,
    });
    steps.extend((block.queue_start..block.queue_end).map(|_| DataStep::Queue));
    for h in &block.tx_hashes {
        let record = shared
            .db
            .tx(h)?
            .ok_or_else(|| NodeError::Storage(format!("transaction {h} missing")))?;
        // The sequencer checked it (signature included) when it accepted it: only the envelope
        // is needed here, and recovering the signer again cost as much as executing it.
        let envelope = TxEnvelope::decode_2718_exact(&record.raw)
            .map_err(|e| NodeError::Storage(format!("stored transaction {h}: {e}")))?;
        let compact =
            loft_stf::CompactTx::of(&envelope, chain_id, |a| index.below(a, block.index_count));
        steps.push(compact.map_or(DataStep::Tx(envelope), DataStep::Compact));
    }
    let kinds_agree = steps.len() == block.steps.len()
        && steps
            .iter()
            .zip(&block.steps)
            .all(|(d, s)| d.kind() == s.kind);
    if !kinds_agree {
        return Err(NodeError::Storage(format!(
            "block {} records steps that do not match its queue range and transactions",
            block.number
        )));
    }
    Ok(steps)
}

/// Packs sealed blocks from `first` on into batch data v1 of at most `max_batch_bytes` (a single
/// larger block is packed alone) and at most 2^16 withdrawals, and computes the step leaves.
pub fn prepare(shared: &Shared, first: u64, head: u64) -> Result<Option<PreparedBatch>, NodeError> {
    prepare_within(
        shared,
        first,
        head,
        shared.config.rollup.max_batch_bytes as usize,
    )
}

/// [`prepare`] with at most `max` bytes of data.
pub fn prepare_within(
    shared: &Shared,
    first: u64,
    head: u64,
    max: usize,
) -> Result<Option<PreparedBatch>, NodeError> {
    let chain_id = shared.config.l2.chain_id;
    let db = &shared.db;
    let prev = db
        .block(first - 1)?
        .ok_or_else(|| NodeError::Storage(format!("block {} missing", first - 1)))?;
    let encoding = |e| NodeError::Storage(format!("encoding batch: {e}"));
    let mut data = vec![loft_stf::BATCH_VERSION_V1];
    let mut blocks = Vec::new();
    let mut outcomes = Vec::new();
    let mut withdrawals = 0usize;
    for n in first..=head {
        let block = db
            .block(n)?
            .ok_or_else(|| NodeError::Storage(format!("block {n} missing")))?;
        let mut block_data = Vec::new();
        let mut ends = Vec::with_capacity(block.steps.len());
        for step in block_steps(shared, &block)? {
            loft_stf::batch::encode_step(&mut block_data, &step, chain_id).map_err(encoding)?;
            ends.push(block_data.len());
        }
        if !blocks.is_empty()
            && (data.len() + block_data.len() > max
                || withdrawals + block.withdrawals.len() > WithdrawalTree::CAPACITY)
        {
            break;
        }
        let mut block_withdrawals = block.withdrawals.iter().peekable();
        let mut tx_hashes = block.tx_hashes.iter();
        let mut queue_index = block.queue_start;
        for (step, end) in block.steps.iter().zip(ends) {
            // A withdrawal record names its step: a transaction's hash, or for a queue message
            // (a forced withdrawal or transaction) the queue head after it.
            let name = match step.kind {
                STEP_TX => tx_hashes.next().copied(),
                STEP_QUEUE => {
                    let m = shared.db.queue(queue_index)?.ok_or_else(|| {
                        NodeError::Storage(format!("queue message {queue_index} is missing"))
                    })?;
                    queue_index += 1;
                    Some(m.head)
                }
                _ => None,
            };
            let withdrawal = name.and_then(|name| {
                block_withdrawals
                    .next_if(|w| w.tx_hash == name)
                    .map(withdrawal_of)
            });
            outcomes.push(StepOutcome {
                kind: step.kind,
                data_end: (data.len() + end) as u64,
                state_root: step.state_root,
                withdrawal,
            });
        }
        withdrawals += block.withdrawals.len();
        data.extend_from_slice(&block_data);
        blocks.push(block);
    }
    let Some(last) = blocks.last() else {
        return Ok(None);
    };
    let leaves = loft_stf::step_leaves(blocks[0].queue_start, prev.header.state_root, &outcomes)
        .map_err(encoding)?;
    let end = leaves.last().copied().unwrap_or_default();
    if end.state_root != last.header.state_root
        || end.queue_pos != last.queue_end
        || end.data_end != data.len() as u64
    {
        return Err(NodeError::Storage(format!(
            "the step leaves of blocks {first}..={} disagree with the blocks",
            last.number
        )));
    }
    Ok(Some(PreparedBatch {
        step_count: leaves.len() as u64,
        steps_root: loft_stf::steps_root(&leaves),
        withdrawal_root: end.w_root,
        prev_state_root: prev.header.state_root,
        data: data.into(),
        leaves,
        blocks,
    }))
}

/// Most data one blob batch holds: six blobs (`loft_stf::blob::MAX_BLOBS_PER_TX`).
const BLOB_BATCH_MAX: usize = loft_stf::blob::MAX_BLOBS_PER_TX * loft_stf::blob::DATA_PER_BLOB;

/// Most data one calldata batch holds: its transaction must fit the per-transaction gas cap
/// (EIP-7825: 2^24) at the calldata floor of 40 gas per non-zero byte (EIP-7623), with room left
/// for the execution.
const CALLDATA_BATCH_MAX: usize = 400_000;

/// The KZG sidecar of `data`, computed on a thread of its own at the lowest scheduling priority:
/// about 115 ms of CPU per blob on this project's 2-core machine (`cargo bench -p loft-stf --bench
/// hot_paths -- blob`), which at normal priority took a core from the sequencer and the RPC and
/// showed as 190 ms in the soft-confirmation p99. Posting can wait; confirmations should not.
async fn build_sidecar(
    data: Bytes,
) -> Result<alloy::eips::eip4844::BlobTransactionSidecar, String> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("loft-kzg".into())
        .spawn(move || {
            #[cfg(target_os = "linux")]
            if let Err(e) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), 19)
            {
                tracing::debug!(target: "loft::batcher", error = %e, "could not lower the KZG thread's priority");
            }
            let _ = tx.send(loft_stf::blob::sidecar(&data).map_err(|e| e.to_string()));
        })
        .map_err(|e| e.to_string())?;
    rx.await.map_err(|e| e.to_string())?
}

/// Whether `len` bytes of batch data cost less in blobs than in calldata at L1's prices now:
/// blobs pay 131,072 blob gas per blob at the blob base fee, calldata at least 16 gas per
/// (non-zero) byte at the base fee (more under the EIP-7623 floor, so this leans to calldata).
async fn blobs_cheaper(l1: &dyn L1Client, len: usize) -> Result<bool, NodeError> {
    let blob_fee = l1.blob_base_fee().await?;
    let base_fee = l1
        .block(loft_l1::BlockNumberOrTag::Latest)
        .await?
        .and_then(|b| b.base_fee_per_gas)
        .unwrap_or_default();
    let blobs = loft_stf::blob::blobs_for(len) as u128;
    let blob_cost = blobs * u128::from(alloy::eips::eip4844::DATA_GAS_PER_BLOB) * blob_fee;
    let calldata_cost = len as u128 * 16 * u128::from(base_fee);
    Ok(blob_cost < calldata_cost)
}

/// Posts the next batch if there are unposted sealed blocks (and someone may post).
pub async fn post_next(shared: &Shared) -> Result<Option<BatchRecord>, NodeError> {
    let rollup = shared.rollup();
    let poster = crate::operator::refresh(shared).await?;
    let tip = sync_with_l1(shared).await?;
    let head = shared.sequencer().head().number;
    let first = tip.lastBlock + 1;
    if first > head {
        return Ok(None);
    }
    let Some(poster) = poster else {
        return Ok(None);
    };
    let pending = pending_fault(shared)?;
    let mode = shared.batch_data();
    let mut use_blobs = match mode {
        BatchData::Calldata => false,
        BatchData::Blobs => true,
        BatchData::Auto => blobs_cheaper(poster.as_ref(), BLOB_BATCH_MAX).await?,
    };
    let mut max = shared.config.rollup.max_batch_bytes as usize;
    max = max.min(if use_blobs {
        BLOB_BATCH_MAX
    } else {
        CALLDATA_BATCH_MAX
    });
    if pending.is_some() {
        max = max.saturating_sub(crate::fault::FAULT_ROOM).max(1);
    }
    let Some(batch) = prepare_within(shared, first, head, max)? else {
        return Ok(None);
    };
    let last = batch.blocks.last().expect("a batch has blocks");
    let honest = Commitments::honest(batch.data.clone(), batch.leaves.clone());
    let injected = match pending {
        Some(kind) => match inject(shared, kind, &batch, &honest) {
            Ok(i) => i,
            Err(e) => {
                tracing::error!(target: "loft::fault", fault = %kind, error = %e, "could not build the faulty batch; posting this one honestly");
                None
            }
        },
        None => None,
    };
    let posted = injected.as_ref().map(|i| &i.commitments).unwrap_or(&honest);
    // A short batch may cost less in calldata than in a whole blob.
    if mode == BatchData::Auto && use_blobs && posted.data.len() <= CALLDATA_BATCH_MAX {
        use_blobs = blobs_cheaper(poster.as_ref(), posted.data.len()).await?;
    }
    // A single block too large for six blobs goes in calldata (L1 still bounds it).
    use_blobs &= posted.data.len() <= BLOB_BATCH_MAX;
    let input = loft_contracts::BatchInput {
        state_root: posted.state_root,
        withdrawal_root: posted.withdrawal_root,
        step_roots_root: posted.steps_root,
        queue_end: last.queue_end,
        first_block: first,
        last_block: last.number,
        step_count: posted.step_count,
        base_fee: shared.config.l2.base_fee.into(),
    };
    let (request, blob_count) = if use_blobs {
        let sidecar = build_sidecar(posted.data.clone())
            .await
            .map_err(|e| NodeError::Storage(format!("building the blob sidecar: {e}")))?;
        let count = sidecar.blobs.len() as u64;
        let calldata = L1Rollup::submitBatchBlobsCall {
            input: input.into(),
            dataLength: posted.data.len() as u64,
        }
        .abi_encode();
        let request = TransactionRequest::default()
            .with_to(rollup)
            .with_input(calldata)
            .with_blob_sidecar_4844(sidecar);
        (request, count)
    } else {
        let calldata = loft_contracts::submit_batch_calldata(&input, &posted.data);
        let request = TransactionRequest::default()
            .with_to(rollup)
            .with_input(calldata);
        (request, 0)
    };
    let receipt = poster.send_transaction(request).await?;
    if !receipt.status() {
        return Err(NodeError::Storage(format!(
            "{} reverted in L1 transaction {}",
            if use_blobs {
                "submitBatchBlobs"
            } else {
                "submitBatch"
            },
            receipt.transaction_hash
        )));
    }
    let submitted = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| loft_contracts::SubmittedBatch::from_log(log).ok())
        .ok_or_else(|| NodeError::Storage("submitBatch emitted no BatchSubmitted".into()))?;
    let header = &submitted.header;
    let record = BatchRecord {
        index: header.index,
        first_block: first,
        last_block: last.number,
        queue_end: last.queue_end,
        step_count: posted.step_count,
        state_root: posted.state_root,
        withdrawal_root: posted.withdrawal_root,
        steps_root: posted.steps_root,
        data_len: posted.data.len() as u64,
        raw_len: posted.data.len() as u64,
        l1_tx: receipt.transaction_hash,
        l1_block: receipt.block_number.unwrap_or_default(),
        l1_gas_used: receipt.gas_used,
        posted_at: header.posted_at,
        final_at: header.final_at(shared.config.rollup.challenge_period_secs),
        header_hash: submitted.header_hash,
        poster: header.poster,
        data_kind: header.data_kind,
        blob_count,
        blob_gas_used: receipt.blob_gas_used.unwrap_or_default(),
    };
    let mut leaves = LeavesRecord::new(
        *header,
        submitted.header_hash,
        &posted.leaves,
        posted.step_count,
    );
    if let Some(i) = &injected {
        leaves.fault = Some(i.kind);
        leaves.withheld = i.kind.withholds();
    }
    shared.db.store_posted(&record, Some(&leaves))?;
    if let Some(i) = &injected {
        shared.db.set_meta(META_FAULT_FIRED, header.index)?;
        tracing::warn!(
            target: "loft::fault",
            fault = %i.kind,
            batch = header.index,
            step = ?i.step,
            l1_tx = %receipt.transaction_hash,
            "FAULT INJECTED ON PURPOSE: batch {} is wrong: {}",
            header.index,
            i.detail
        );
    }
    Ok(Some(record))
}

/// The fault still to inject: configured and not fired yet.
fn pending_fault(shared: &Shared) -> Result<Option<FaultKind>, NodeError> {
    match shared.fault {
        Some(kind) if shared.db.meta(META_FAULT_FIRED)?.is_none() => Ok(Some(kind)),
        _ => Ok(None),
    }
}

/// Tampers with the prepared batch as `kind` says, if it has what the fault needs.
fn inject(
    shared: &Shared,
    kind: FaultKind,
    batch: &PreparedBatch,
    honest: &Commitments,
) -> Result<Option<Injected>, NodeError> {
    let first = batch.blocks[0].number;
    let state = shared
        .sequencer()
        .state_at(first - 1)?
        .ok_or_else(|| NodeError::Storage(format!("block {} missing", first - 1)))?;
    let params = *shared.sequencer().params();
    let keys = FaultKeys::new(&shared.config.devnet.mnemonic);
    let db = &shared.db;
    let queue = |i: u64| {
        db.queue(i).ok().flatten().map(|m| QueueInput {
            index: m.index,
            kind: m.kind,
            sender: m.sender,
            payload: m.payload,
        })
    };
    let injector = Injector {
        params: &params,
        keys: &keys,
        state: &state,
        queue: &queue,
    };
    let honest_batch = HonestBatch {
        commitments: honest,
        queue_start: batch.blocks[0].queue_start,
        prev_state_root: batch.prev_state_root,
    };
    let injected = injector
        .inject(kind, &honest_batch)
        .map_err(|e| NodeError::Storage(format!("fault {kind}: {e}")))?;
    if injected.is_none() {
        tracing::debug!(target: "loft::fault", fault = %kind, blocks = %format!("{}..={}", first, batch.blocks.last().map(|b| b.number).unwrap_or(first)), "this batch lacks what the fault needs; posting it honestly");
    }
    Ok(injected)
}

/// Reads the rollup's tip and brings the batch records in line with it ([`post_next`] does this
/// first): drops the records of reverted batches, records live batches it misses.
pub async fn sync_with_l1(shared: &Shared) -> Result<L1Rollup::BatchTip, NodeError> {
    let tip = rollup_call(
        shared.l1.as_ref(),
        shared.rollup(),
        L1Rollup::lastBatchCall {},
    )
    .await?;
    reconcile(shared, &tip).await?;
    Ok(tip)
}

/// Brings the batch records in line with L1: drops the records (and leaves) of batches L1 no
/// longer holds (reverted by a fraud proof) and records live batches the database misses (posted
/// just before a crash, or by another poster).
async fn reconcile(shared: &Shared, tip: &L1Rollup::BatchTip) -> Result<(), NodeError> {
    let l1 = shared.l1.as_ref();
    let rollup = shared.rollup();
    let count = tip.batchCount;
    // The first record to drop: everything at or past L1's batch count, and any record whose
    // header L1 does not hold (a batch reverted and replaced by another before we looked).
    let mut keep = shared
        .db
        .last_batch()?
        .map(|b| b.index + 1)
        .unwrap_or(0)
        .min(count);
    while keep > 0 {
        let Some(record) = shared.db.batch(keep - 1)? else {
            break;
        };
        if record.header_hash.is_zero() {
            break; // a record from before header hashes were kept: trust it
        }
        let onchain = if keep == count {
            tip.headerHash
        } else {
            rollup_call(
                l1,
                rollup,
                L1Rollup::batchHeaderHashCall { index: keep - 1 },
            )
            .await?
        };
        if onchain == record.header_hash {
            break;
        }
        keep -= 1;
    }
    let dropped = shared.db.drop_batches_from(keep)?;
    if dropped > 0 {
        tracing::warn!(
            target: "loft::batcher",
            from = keep,
            dropped,
            l1_batches = count,
            l1_last_block = tip.lastBlock,
            "L1 reverted batches (BatchesReverted): dropped their records and step leaves; posting L2 blocks again from {}",
            tip.lastBlock + 1
        );
    }
    let known = shared.db.last_batch()?.map(|b| b.index + 1).unwrap_or(0);
    if known < count {
        recover_records(shared, known, count).await?;
    }
    Ok(())
}

/// Records the live batches `from..count` that are on L1 but not in the database.
/// The `BatchSubmitted` event of batch `index` that is live on L1: reverted batches keep their
/// events, so it is the one whose header hash L1 holds now.
pub(crate) async fn live_submission<'a>(
    l1: &dyn L1Client,
    rollup: Address,
    batches: &'a [loft_contracts::SubmittedBatch],
    index: u64,
) -> Result<&'a loft_contracts::SubmittedBatch, NodeError> {
    let onchain = rollup_call(l1, rollup, L1Rollup::batchHeaderHashCall { index }).await?;
    batches
        .iter()
        .rev()
        .find(|b| b.header.index == index && b.header_hash == onchain)
        .ok_or_else(|| {
            NodeError::Storage(format!(
                "batch {index} is live on L1 but no BatchSubmitted event has its header hash {onchain}"
            ))
        })
}

async fn recover_records(shared: &Shared, from: u64, count: u64) -> Result<(), NodeError> {
    let l1 = shared.l1.as_ref();
    let rollup = shared.rollup();
    let latest = l1.block_number().await?;
    let batches =
        loft_contracts::read_batches(l1, rollup, shared.deployment.bridge_block, latest).await?;
    for index in from..count {
        let b = live_submission(l1, rollup, &batches, index).await?;
        let h = &b.header;
        let receipt = match b.transaction_hash {
            Some(tx) => l1.receipt(tx).await?,
            None => None,
        };
        let record = BatchRecord {
            index: h.index,
            first_block: h.first_block,
            last_block: h.last_block,
            queue_end: h.queue_end,
            step_count: h.step_count,
            state_root: h.state_root,
            withdrawal_root: h.withdrawal_root,
            steps_root: h.step_roots_root,
            data_len: h.data_length,
            raw_len: h.data_length,
            l1_tx: b.transaction_hash.unwrap_or_default(),
            l1_block: b.l1_block_number.unwrap_or_default(),
            l1_gas_used: receipt.as_ref().map(|r| r.gas_used).unwrap_or_default(),
            posted_at: h.posted_at,
            final_at: h.final_at(shared.config.rollup.challenge_period_secs),
            header_hash: b.header_hash,
            poster: h.poster,
            data_kind: h.data_kind,
            blob_count: receipt
                .as_ref()
                .and_then(|r| r.blob_gas_used)
                .map(|g| g / alloy::eips::eip4844::DATA_GAS_PER_BLOB)
                .unwrap_or_default(),
            blob_gas_used: receipt
                .as_ref()
                .and_then(|r| r.blob_gas_used)
                .unwrap_or_default(),
        };
        // The honest leaves of its blocks, if they are what the batch committed to.
        let leaves = match prepare_within(shared, h.first_block, h.last_block, usize::MAX) {
            Ok(Some(p))
                if p.blocks.last().map(|x| x.number) == Some(h.last_block)
                    && p.steps_root == h.step_roots_root
                    && p.step_count == h.step_count =>
            {
                Some(LeavesRecord::new(
                    *h,
                    b.header_hash,
                    &p.leaves,
                    p.step_count,
                ))
            }
            _ => None,
        };
        tracing::info!(target: "loft::batcher", index = h.index, l1_tx = %record.l1_tx, poster = %h.poster, leaves = leaves.is_some(), "recorded a batch found on L1 (posted before a restart, or by another poster)");
        shared.db.store_posted(&record, leaves.as_ref())?;
    }
    Ok(())
}
