//! The batcher: packs sealed L2 blocks into batches (`docs/rollup.md` §3) and posts them to
//! `L1Rollup.submitBatch` with the claimed roots.
//!
//! L1 is the source of truth for what has been posted: before every batch the batcher reads the
//! rollup's `lastBlock()` and starts after it, so a restart (even after a crash between posting
//! and recording) never posts a block twice; the contract refuses a non-contiguous batch anyway.

use std::sync::Arc;
use std::time::Duration;

use alloy::network::TransactionBuilder;
use alloy::primitives::{B256, Bytes};
use alloy::rpc::types::TransactionRequest;
use loft_contracts::L1Rollup;
use loft_stf::{DataStep, L2Tx, STEP_TX, StepLeaf, StepOutcome, Withdrawal, WithdrawalTree};

use crate::db::{BatchRecord, BlockRecord, WithdrawalRecord};
use crate::{NodeError, Shared};

/// Runs until aborted; failures are logged and retried at the next interval.
pub(crate) async fn run(shared: Arc<Shared>) {
    let interval = Duration::from_millis(shared.config.rollup.batch_interval_ms);
    loop {
        tokio::time::sleep(interval).await;
        loop {
            match post_next(&shared).await {
                Ok(Some(batch)) => {
                    tracing::info!(target: "loft::batcher", index = batch.index, blocks = %format!("{}..={}", batch.first_block, batch.last_block), steps = batch.step_count, bytes = batch.data_len, l1_gas = batch.l1_gas_used, l1_tx = %batch.l1_tx, "batch posted");
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

/// The data steps of one sealed block: its marker, its queue steps, its transactions.
fn block_steps(shared: &Shared, block: &BlockRecord) -> Result<Vec<DataStep>, NodeError> {
    let chain_id = shared.config.l2.chain_id;
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
        let tx = L2Tx::decode(&record.raw, chain_id)
            .map_err(|e| NodeError::Storage(format!("stored transaction {h}: {e}")))?;
        steps.push(DataStep::Tx(tx.into_envelope()));
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
    let max = shared.config.rollup.max_batch_bytes as usize;
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
        for (step, end) in block.steps.iter().zip(ends) {
            let withdrawal = if step.kind == STEP_TX {
                let hash = tx_hashes.next();
                block_withdrawals
                    .next_if(|w| Some(&w.tx_hash) == hash)
                    .map(withdrawal_of)
            } else {
                None
            };
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

/// Posts the next batch if there are unposted sealed blocks.
pub async fn post_next(shared: &Shared) -> Result<Option<BatchRecord>, NodeError> {
    let l1 = shared.l1.as_ref();
    let rollup = shared.rollup();
    let last_posted = loft_contracts::rollup_call(l1, rollup, L1Rollup::lastBlockCall {}).await?;
    let recorded = shared.db.last_batch()?.map(|b| b.last_block).unwrap_or(0);
    if recorded < last_posted {
        recover_records(shared).await?;
    }
    let head = shared.sequencer().head().number;
    let first = last_posted + 1;
    if first > head {
        return Ok(None);
    }
    let Some(batch) = prepare(shared, first, head)? else {
        return Ok(None);
    };
    let last = batch.blocks.last().expect("a batch has blocks");
    let input = loft_contracts::BatchInput {
        state_root: last.header.state_root,
        withdrawal_root: batch.withdrawal_root,
        step_roots_root: batch.steps_root,
        queue_end: last.queue_end,
        first_block: first,
        last_block: last.number,
        step_count: batch.step_count,
    };
    let calldata = loft_contracts::submit_batch_calldata(&input, &batch.data);
    let receipt = l1
        .send_transaction(
            TransactionRequest::default()
                .with_to(rollup)
                .with_input(calldata),
        )
        .await?;
    if !receipt.status() {
        return Err(NodeError::Storage(format!(
            "submitBatch reverted in L1 transaction {}",
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
        step_count: batch.step_count,
        state_root: last.header.state_root,
        withdrawal_root: input.withdrawal_root,
        steps_root: batch.steps_root,
        data_len: batch.data.len() as u64,
        raw_len: batch.data.len() as u64,
        l1_tx: receipt.transaction_hash,
        l1_block: receipt.block_number.unwrap_or_default(),
        l1_gas_used: receipt.gas_used,
        posted_at: header.posted_at,
        final_at: header.final_at(shared.config.rollup.challenge_period_secs),
    };
    shared.db.store_batch(&record)?;
    Ok(Some(record))
}

/// Records batches that are on L1 but not in the database: posted just before a crash, after
/// the L1 transaction landed but before its record was written.
async fn recover_records(shared: &Shared) -> Result<(), NodeError> {
    let l1 = shared.l1.as_ref();
    let latest = l1.block_number().await?;
    let known = shared.db.last_batch()?.map(|b| b.index + 1).unwrap_or(0);
    let batches =
        loft_contracts::read_batches(l1, shared.rollup(), shared.deployment.bridge_block, latest)
            .await?;
    for b in batches.into_iter().filter(|b| b.header.index >= known) {
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
            data_len: 0,
            raw_len: 0,
            l1_tx: b.transaction_hash.unwrap_or_default(),
            l1_block: b.l1_block_number.unwrap_or_default(),
            l1_gas_used: receipt.map(|r| r.gas_used).unwrap_or_default(),
            posted_at: h.posted_at,
            final_at: h.final_at(shared.config.rollup.challenge_period_secs),
        };
        tracing::info!(target: "loft::batcher", index = h.index, l1_tx = %record.l1_tx, "recorded a batch found on L1 (posted before a restart)");
        shared.db.store_batch(&record)?;
    }
    Ok(())
}
