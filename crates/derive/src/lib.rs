//! Derivation: the L2 rebuilt from L1 data alone. The queue comes from `MessageQueued` events
//! (checked against the queue's hash chain), every batch from its `submitBatch` calldata, and each
//! batch is replayed step by step with the one state transition function ([`loft_stf`]). Every
//! commitment the poster made is compared with the replay: the steps root (and so every step
//! leaf), the final state root, the withdrawal root, the queue end and the step count. The first
//! disagreement is a [`Fault`] naming the step a fraud proof opens (`docs/fraud-proofs.md`).
//!
//! [`derive_batch`] is the pure part (data + queue + state in, leaves or a fault out);
//! [`Verifier`] drives it from an [`L1Client`](loft_l1::L1Client) and keeps its state in redb:
//! it follows `BatchSubmitted` and `BatchesReverted` in L1 log order, survives L1 reorgs, and
//! hands a challenger the first wrong live batch ([`Verifier::pending_fraud`]). [`rpc`] serves
//! the verified state read-only over JSON-RPC.

pub mod rpc;
mod store;
mod verifier;

pub use store::BatchEntry;
pub use verifier::{FraudCase, REORG_WINDOW, Verifier};

use alloy::primitives::B256;
use loft_contracts::BatchHeader;
use loft_l1::L1Error;
use loft_state::{Smt, StateError, StateWrite};
use loft_stf::{
    ChainParams, DataStep, L2Tx, QueueInput, STEP_BLOCK, STEP_QUEUE, STEP_TX, StepLeaf,
    StepOutcome, Withdrawal,
};

/// What is wrong with a batch: the first disagreement between the poster's commitments and the
/// replay. `step` is the step a fraud proof re-executes, when one is to blame.
///
/// Serialized (in the verifier's database and its RPC) as an object tagged by `kind`, in camel case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Fault {
    /// A step's bytes do not decode (or run past the data).
    #[error("step {step}: undecodable data at offset {offset}: {reason}")]
    Undecodable {
        /// Step index.
        step: u64,
        /// Byte offset in the batch data.
        offset: u64,
        /// Decoder message.
        reason: String,
    },
    /// A transaction that must have been refused.
    #[error("step {step}: transaction {hash} must be refused: {reason}")]
    InvalidTransaction {
        /// Step index.
        step: u64,
        /// Transaction hash (zero for a compact transaction naming an unknown account index).
        hash: B256,
        /// The refusal.
        reason: String,
    },
    /// A queue step beyond the batch's claimed queue end, or a batch that stops short of it.
    #[error("queue position {derived} does not match the batch's queue end {claimed}")]
    QueueEnd {
        /// Where the replay ended.
        derived: u64,
        /// What the header claims.
        claimed: u64,
    },
    /// A queue step whose message is not on L1 yet.
    #[error("step {step}: queue message {index} does not exist on L1")]
    MissingQueueMessage {
        /// Step index.
        step: u64,
        /// Queue index.
        index: u64,
    },
    /// The first step is not a block marker.
    #[error("the batch does not start with a block marker")]
    NoBlockMarker,
    /// The step count differs.
    #[error("the batch claims {claimed} steps, its data holds {derived}")]
    StepCount {
        /// From the header.
        claimed: u64,
        /// From the replay.
        derived: u64,
    },
    /// The steps root differs: some step leaf is wrong (found by openings, §5.4).
    #[error("steps root {claimed} differs from the replay's {derived}")]
    StepsRoot {
        /// From the header.
        claimed: B256,
        /// From the replay.
        derived: B256,
    },
    /// The final state root differs.
    #[error("state root {claimed} differs from the replay's {derived}")]
    StateRoot {
        /// From the header.
        claimed: B256,
        /// From the replay.
        derived: B256,
    },
    /// The withdrawal root differs.
    #[error("withdrawal root {claimed} differs from the replay's {derived}")]
    WithdrawalRoot {
        /// From the header.
        claimed: B256,
        /// From the replay.
        derived: B256,
    },
    /// The batch does not start from the previous batch's state.
    #[error("previous state root {claimed} differs from the replay's {derived}")]
    PrevStateRoot {
        /// From the header.
        claimed: B256,
        /// The verifier's.
        derived: B256,
    },
}

/// Errors that stop derivation (not faults of a batch): L1 access, storage.
#[derive(Debug, thiserror::Error)]
pub enum DeriveError {
    /// L1 access failed.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// Reading contracts' events or calldata failed.
    #[error(transparent)]
    Contracts(#[from] loft_contracts::ContractsError),
    /// The state failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The verifier's database failed.
    #[error("verifier database: {0}")]
    Storage(String),
}

/// A batch replayed without fault.
#[derive(Debug, Clone)]
pub struct DerivedBatch {
    /// The leaf after every step.
    pub leaves: Vec<StepLeaf>,
    /// The withdrawals, in step order.
    pub withdrawals: Vec<Withdrawal>,
    /// Transactions replayed.
    pub transactions: u64,
}

/// What happened at one step of a [`replay`], shown to its hook before the step's leaf is taken.
#[derive(Debug, Clone, Copy)]
pub struct StepEvent<'a> {
    /// Step index in the batch.
    pub step: u64,
    /// Its kind (`STEP_BLOCK`, `STEP_QUEUE`, `STEP_TX`).
    pub kind: u8,
    /// Offset of its bytes in the batch data.
    pub offset: u64,
    /// For a queue step, the message it consumed.
    pub message: Option<&'a QueueInput>,
    /// For a transaction step, the transaction (`None` when it was refused).
    pub tx: Option<&'a L2Tx>,
    /// Whether the step is valid (a refused transaction is not).
    pub valid: bool,
}

/// A hook called after each step's writes and before its leaf: what a misbehaving sequencer uses
/// to claim another state (`loft node --fault`). It may change the state.
pub type StepHook<'h, S> = dyn FnMut(&StepEvent<'_>, &mut Smt<S>) -> Result<(), StateError> + 'h;

/// Options of a [`replay`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ReplayOptions {
    /// Keep going past a transaction that must be refused, as a step that changes nothing (what a
    /// sequencer that wrongly accepted it would claim); otherwise the replay stops with a fault.
    pub accept_invalid: bool,
}

/// A batch's steps replayed from its data: the leaf after every step and the withdrawals, up to
/// the first fault (if any).
#[derive(Debug, Clone)]
pub struct Replay {
    /// The leaf after every step replayed (before the faulty step, if any).
    pub leaves: Vec<StepLeaf>,
    /// The withdrawals, in step order.
    pub withdrawals: Vec<Withdrawal>,
    /// Transactions replayed.
    pub transactions: u64,
    /// Where and why the replay stopped early; `None` when the whole data was replayed.
    pub stopped: Option<Fault>,
}

/// Replays batch data on `state` (the tree at the batch's `prevStateRoot`) from queue position
/// `queue_start`, with at most `queue_end` queue messages consumed. Stops at the first step that
/// cannot be in a batch: undecodable bytes, a first step that is no block marker, a queue step
/// beyond `queue_end` or before its message exists, a transaction that must be refused (unless
/// `options.accept_invalid`). `hook` sees every step.
#[allow(clippy::too_many_arguments)]
pub fn replay<S: loft_state::NodeStore>(
    state: &mut Smt<S>,
    params: &ChainParams,
    queue_start: u64,
    queue_end: u64,
    data: &[u8],
    queue: &dyn Fn(u64) -> Option<QueueInput>,
    options: ReplayOptions,
    hook: &mut StepHook<'_, S>,
) -> Result<Replay, StateError> {
    let prev_root = state.root()?;
    let mut outcomes = Vec::new();
    let mut withdrawals = Vec::new();
    let mut queue_pos = queue_start;
    let mut offset = 1usize;
    let mut transactions = 0u64;
    let mut stopped = None;
    if data.first() != Some(&loft_stf::batch::BATCH_VERSION_V1) {
        stopped = Some(Fault::Undecodable {
            step: 0,
            offset: 0,
            reason: "not batch data version 1".into(),
        });
        offset = data.len();
    }
    while offset < data.len() {
        let step = outcomes.len() as u64;
        let (decoded, end) = match loft_stf::decode_step_at(data, offset, params.chain_id) {
            Ok(x) => x,
            Err(e) => {
                stopped = Some(Fault::Undecodable {
                    step,
                    offset: offset as u64,
                    reason: e.to_string(),
                });
                break;
            }
        };
        if step == 0 && !matches!(decoded, DataStep::Block { .. }) {
            stopped = Some(Fault::NoBlockMarker);
            break;
        }
        let mut withdrawal = None;
        let mut message = None;
        let mut executed = None;
        let mut valid = true;
        let kind = match decoded {
            DataStep::Block { .. } => STEP_BLOCK,
            DataStep::Queue => {
                if queue_pos >= queue_end {
                    stopped = Some(Fault::QueueEnd {
                        derived: queue_pos + 1,
                        claimed: queue_end,
                    });
                    break;
                }
                let Some(m) = queue(queue_pos) else {
                    stopped = Some(Fault::MissingQueueMessage {
                        step,
                        index: queue_pos,
                    });
                    break;
                };
                let outcome = loft_stf::apply_queue_message(&*state, params, &m)?;
                for (key, value) in outcome.writes {
                    state.set(key, value)?;
                }
                if let Some(w) = outcome.withdrawal {
                    withdrawals.push(w);
                    withdrawal = Some(w);
                }
                message = Some(m);
                queue_pos += 1;
                STEP_QUEUE
            }
            step_tx @ (DataStep::Tx(_) | DataStep::Compact(_)) => {
                // A compact transaction names its accounts by index: it is the transaction
                // they resolve to in the state before the step (refused if one does not).
                let resolved = match step_tx {
                    DataStep::Compact(c) => c.resolve(&*state, params.chain_id),
                    DataStep::Tx(envelope) => Ok(envelope),
                    _ => unreachable!("matched above"),
                };
                // Zero for a compact transaction whose accounts do not resolve.
                let hash = resolved.as_ref().map_or(B256::ZERO, |e| *e.tx_hash());
                let result = match resolved.and_then(|e| L2Tx::from_envelope(e, params.chain_id)) {
                    Ok(tx) => match loft_stf::execute_tx(&*state, params, &tx) {
                        Ok(o) => Ok((tx, o)),
                        Err(loft_stf::TxError::State(e)) => return Err(e),
                        Err(e) => Err(e.to_string()),
                    },
                    Err(loft_stf::TxError::State(e)) => return Err(e),
                    Err(e) => Err(e.to_string()),
                };
                match result {
                    Ok((tx, outcome)) => {
                        for (key, value) in outcome.writes {
                            state.set(key, value)?;
                        }
                        if let Some(w) = outcome.withdrawal {
                            withdrawals.push(w);
                            withdrawal = Some(w);
                        }
                        executed = Some(tx);
                        transactions += 1;
                    }
                    Err(reason) if !options.accept_invalid => {
                        stopped = Some(Fault::InvalidTransaction { step, hash, reason });
                        break;
                    }
                    Err(_) => valid = false,
                }
                STEP_TX
            }
        };
        hook(
            &StepEvent {
                step,
                kind,
                offset: offset as u64,
                message: message.as_ref(),
                tx: executed.as_ref(),
                valid,
            },
            state,
        )?;
        outcomes.push(StepOutcome {
            kind,
            data_end: end as u64,
            state_root: state.root()?,
            withdrawal,
        });
        offset = end;
    }
    let leaves = match loft_stf::step_leaves(queue_start, prev_root, &outcomes) {
        Ok(l) => l,
        Err(e) => {
            // Only past 2^16 withdrawals: the step that overflows the tree is the faulty one.
            let step = outcomes.len() as u64 - 1;
            outcomes.pop();
            stopped = Some(Fault::Undecodable {
                step,
                offset: outcomes.last().map(|o| o.data_end).unwrap_or(1),
                reason: e.to_string(),
            });
            loft_stf::step_leaves(queue_start, prev_root, &outcomes)
                .expect("one withdrawal fewer fits")
        }
    };
    Ok(Replay {
        leaves,
        withdrawals,
        transactions,
        stopped,
    })
}

/// The chain parameters a batch executes with: the chain's, with the base fee its header names
/// (the poster's claim, capped on L1 by its bid; `docs/liveness.md` §2).
pub fn batch_params(params: &ChainParams, header: &BatchHeader) -> ChainParams {
    ChainParams {
        base_fee: header.base_fee,
        ..*params
    }
}

/// Replays one batch on `state` (the state after the previous batch) and compares every
/// commitment of `header`, with the base fee of its header ([`batch_params`]). On success the state holds the batch's writes; on a fault it may hold
/// part of them: replay on a clone.
pub fn derive_batch<S: loft_state::NodeStore>(
    state: &mut Smt<S>,
    params: &ChainParams,
    header: &BatchHeader,
    data: &[u8],
    queue: &dyn Fn(u64) -> Option<QueueInput>,
) -> Result<Result<DerivedBatch, Fault>, StateError> {
    let prev_root = state.root()?;
    if prev_root != header.prev_state_root {
        return Ok(Err(Fault::PrevStateRoot {
            claimed: header.prev_state_root,
            derived: prev_root,
        }));
    }
    let params = &batch_params(params, header);
    let replayed = replay(
        state,
        params,
        header.queue_start,
        header.queue_end,
        data,
        queue,
        ReplayOptions::default(),
        &mut |_, _| Ok(()),
    )?;
    if let Some(fault) = replayed.stopped {
        return Ok(Err(fault));
    }
    let leaves = replayed.leaves;
    let withdrawals = replayed.withdrawals;
    let queue_pos = leaves
        .last()
        .map(|l| l.queue_pos)
        .unwrap_or(header.queue_start);
    if queue_pos != header.queue_end {
        return Ok(Err(Fault::QueueEnd {
            derived: queue_pos,
            claimed: header.queue_end,
        }));
    }
    if leaves.len() as u64 != header.step_count {
        return Ok(Err(Fault::StepCount {
            claimed: header.step_count,
            derived: leaves.len() as u64,
        }));
    }
    let steps_root = loft_stf::steps_root(&leaves);
    if steps_root != header.step_roots_root {
        return Ok(Err(Fault::StepsRoot {
            claimed: header.step_roots_root,
            derived: steps_root,
        }));
    }
    let state_root = state.root()?;
    if state_root != header.state_root {
        return Ok(Err(Fault::StateRoot {
            claimed: header.state_root,
            derived: state_root,
        }));
    }
    let w_root = loft_stf::withdrawal_root_v2(&withdrawals);
    if w_root != header.withdrawal_root {
        return Ok(Err(Fault::WithdrawalRoot {
            claimed: header.withdrawal_root,
            derived: w_root,
        }));
    }
    Ok(Ok(DerivedBatch {
        leaves,
        withdrawals,
        transactions: replayed.transactions,
    }))
}

/// The verdict on one posted batch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Verdict {
    /// Every commitment matches the replay.
    Valid,
    /// The batch is wrong.
    Fraud(Fault),
    /// The batch builds on an earlier wrong batch (it falls with it).
    BuildsOnFraud(u64),
}

/// One batch as the verifier saw it.
#[derive(Debug, Clone)]
pub struct CheckedBatch {
    /// Its header on L1.
    pub header: BatchHeader,
    /// The L1 transaction that posted it.
    pub l1_tx: Option<B256>,
    /// The verdict.
    pub verdict: Verdict,
    /// Steps replayed (0 unless valid).
    pub steps: u64,
    /// Transactions replayed.
    pub transactions: u64,
}

/// Progress of a [`Verifier::sync`] call.
#[derive(Debug, Clone, Default)]
pub struct SyncReport {
    /// Batches checked in this call.
    pub batches: u64,
    /// L2 steps replayed.
    pub steps: u64,
    /// L2 transactions replayed.
    pub transactions: u64,
    /// Seconds spent.
    pub seconds: f64,
    /// Batches dropped because L1 reverted them (`BatchesReverted`, a successful fraud proof).
    pub reverted: u64,
    /// L1 reorganizations followed.
    pub reorgs: u64,
    /// Batches dropped because the L1 blocks that posted them were orphaned.
    pub orphaned: u64,
}

impl SyncReport {
    /// Batches checked per second.
    pub fn batches_per_sec(&self) -> f64 {
        if self.seconds > 0.0 {
            self.batches as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// Transactions replayed per second.
    pub fn tx_per_sec(&self) -> f64 {
        if self.seconds > 0.0 {
            self.transactions as f64 / self.seconds
        } else {
            0.0
        }
    }
}
