//! Playing the game on L1 for one wrong batch: learn what the poster revealed (its served leaves,
//! its answers to opening requests), then open, prove or claim an unanswered request.
//!
//! Everything the challenger knows about a game is read back from L1 (and the poster's RPC) on
//! every round, so a restarted challenger picks the game up where it was.

use std::collections::HashMap;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolEvent, SolInterface};
use loft_contracts::{BatchHeader, L1Rollup, QueueMessage};
use loft_derive::{ReplayOptions, replay};
use loft_fraud::{StepInput, build_step_witness};
use loft_l1::{Filter, L1Client, L1Error};
use loft_state::{NodeStore, Smt};
use loft_stf::{ChainParams, QueueInput, StepLeaf};

use crate::game::{Knowledge, Plan};

/// Why a round failed (the game itself goes on at the next round).
#[derive(Debug, thiserror::Error)]
pub enum ChallengerError {
    /// L1 access failed.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// Reading or calling the contracts failed.
    #[error(transparent)]
    Contracts(#[from] loft_contracts::ContractsError),
    /// The state failed.
    #[error(transparent)]
    State(#[from] loft_state::StateError),
    /// Building a witness failed.
    #[error(transparent)]
    Fraud(#[from] loft_fraud::FraudError),
    /// The challenger's own inputs disagree (a bug, not the poster's fault).
    #[error("{0}")]
    Inconsistent(String),
}

/// One bad batch to prove: everything L1 says about it and the honest state before it.
#[derive(Debug, Clone)]
pub struct Case<S: NodeStore> {
    /// Its header, as `BatchSubmitted` carried it.
    pub header: BatchHeader,
    /// Its data, from the `submitBatch` calldata or its blobs.
    pub data: Bytes,
    /// Its blobs, in order, for a blob batch (empty for calldata): a step proof opens them.
    pub blobs: Vec<alloy::eips::eip4844::Blob>,
    /// The honest state at `header.prev_state_root`.
    pub state: Smt<S>,
}

/// What a round did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A fraud proof landed and reverted the batch.
    Proved {
        /// The entry point used.
        method: &'static str,
        /// The step it is about.
        step: u64,
        /// L1 transaction.
        tx: B256,
        /// Its gas.
        gas_used: u64,
    },
    /// An unanswered opening request reverted the batch.
    ClaimedUnanswered {
        /// The step asked for.
        step: u64,
        /// L1 transaction.
        tx: B256,
    },
    /// Asked the poster to open a leaf.
    Requested {
        /// The leaf.
        step: u64,
        /// L1 transaction.
        tx: B256,
    },
    /// Waiting for the poster to answer a request (until `deadline`, L1 time).
    Waiting {
        /// The leaf asked for.
        step: u64,
        /// Its deadline.
        deadline: u64,
    },
    /// The poster's RPC does not serve the batch's leaves yet: the batch may have landed on L1
    /// before the node recorded them. Asks again before paying for openings, until `until` (L1
    /// time).
    AwaitingLeaves {
        /// Until when.
        until: u64,
    },
    /// The batch is no longer live on L1 (reverted by someone else, or final).
    Gone,
    /// Nothing can be proven (see [`Plan::NothingToProve`] and [`Plan::Unprovable`]).
    Stuck(String),
}

/// The challenger's view of L1 and the chain.
#[derive(Debug, Clone)]
pub struct Challenger<'a> {
    /// L1, with the challenger's key (it pays for proofs and request bonds).
    pub l1: &'a dyn L1Client,
    /// The rollup contract.
    pub rollup: Address,
    /// Where the rollup's logs start.
    pub from_block: u64,
    /// The L2 chain parameters (as the step verifier has them).
    pub params: ChainParams,
    /// The whole L1 queue read so far, by index.
    pub queue: &'a [QueueMessage],
    /// The poster's L2 RPC, asked for `loft_stepLeaves` first (untrusted: checked against
    /// `stepsRoot`). `None`: openings only.
    pub leaves_rpc: Option<String>,
}

/// `loft_stf::StepLeaf` as the rollup's ABI has it.
pub fn to_sol(l: &StepLeaf) -> L1Rollup::StepLeaf {
    (*l).into()
}

/// The rollup's `StepLeaf` as `loft_stf` has it.
pub fn from_sol(l: &L1Rollup::StepLeaf) -> StepLeaf {
    l.clone().into()
}

/// The honest state before a step and the batch's withdrawal leaves so far.
type Before<S> = (Smt<S>, Vec<B256>);

/// An opening request as L1 recorded it.
#[derive(Debug, Clone, Copy)]
struct Request {
    deadline: u64,
}

impl Challenger<'_> {
    fn queue_input(&self, i: u64) -> Option<QueueInput> {
        self.queue.get(i as usize).map(|m| QueueInput {
            index: m.index,
            kind: m.kind,
            sender: m.sender,
            payload: m.payload.clone(),
        })
    }

    /// The honest leaves of the batch (up to where the honest replay stops), and the honest state
    /// and withdrawal leaves after step `upto - 1` (before step `upto`).
    fn honest<S: NodeStore + Clone>(
        &self,
        case: &Case<S>,
        upto: Option<u64>,
    ) -> Result<(Vec<StepLeaf>, Option<Before<S>>), ChallengerError> {
        let h = &case.header;
        let mut state = case.state.clone();
        let mut snapshot = (upto == Some(0)).then(|| case.state.clone());
        let lookup = |i: u64| self.queue_input(i);
        let replayed = replay(
            &mut state,
            &loft_derive::batch_params(&self.params, h),
            h.queue_start,
            h.queue_end,
            &case.data,
            &lookup,
            ReplayOptions::default(),
            &mut |ev, s| {
                if upto == Some(ev.step + 1) {
                    snapshot = Some(s.clone());
                }
                Ok(())
            },
        )?;
        let before = match (upto, snapshot) {
            (Some(0), Some(s)) => Some((s, Vec::new())),
            (Some(j), Some(s)) => {
                let w_count = replayed.leaves[j as usize - 1].w_count as usize;
                let leaves = replayed.withdrawals[..w_count]
                    .iter()
                    .map(|w| w.leaf())
                    .collect();
                Some((s, leaves))
            }
            _ => None,
        };
        Ok((replayed.leaves, before))
    }

    fn filter(&self, signature: B256, header_hash: B256) -> Filter {
        Filter::new()
            .address(self.rollup)
            .event_signature(signature)
            .topic2(header_hash)
            .from_block(self.from_block)
    }

    /// What L1 says of the game on this batch: opened leaves (with the paths from their
    /// `openStep` calldata) and requests.
    async fn read_game(
        &self,
        knowledge: &mut Knowledge,
        header: &BatchHeader,
    ) -> Result<HashMap<u64, Request>, ChallengerError> {
        let hash = header.hash();
        let mut requests = HashMap::new();
        for log in self
            .l1
            .logs(&self.filter(L1Rollup::OpeningRequested::SIGNATURE_HASH, hash))
            .await?
        {
            if let Ok(e) = L1Rollup::OpeningRequested::decode_log(&log.inner) {
                requests.insert(
                    e.step,
                    Request {
                        deadline: e.deadline,
                    },
                );
            }
        }
        for log in self
            .l1
            .logs(&self.filter(L1Rollup::StepOpened::SIGNATURE_HASH, hash))
            .await?
        {
            let Ok(e) = L1Rollup::StepOpened::decode_log(&log.inner) else {
                continue;
            };
            if knowledge.is_opened(e.step) {
                continue;
            }
            let Some(tx_hash) = log.transaction_hash else {
                continue;
            };
            let Some(tx) = self.l1.transaction(tx_hash).await? else {
                continue;
            };
            // The path is in the answer's calldata (the event carries only the leaf). An answer
            // made through another contract is not read here; its request then stays unusable.
            match L1Rollup::openStepCall::abi_decode(&tx.input) {
                Ok(call) if call.i == e.step => {
                    knowledge.learn_opening(e.step, from_sol(&e.leaf), &call.proof);
                }
                _ => {
                    tracing::warn!(target: "loft::challenger", step = e.step, tx = %tx_hash, "an opening not made by a direct openStep call; its path is unknown")
                }
            }
        }
        Ok(requests)
    }

    /// Asks the poster's RPC for its leaves; learns them if they hash to `stepsRoot`. Returns
    /// whether an RPC is set and did not serve them.
    async fn learn_served(&self, knowledge: &mut Knowledge, header: &BatchHeader) -> bool {
        let Some(url) = &self.leaves_rpc else {
            return false;
        };
        match fetch_leaves(url, header.index).await {
            Ok(leaves) => {
                if !knowledge.learn_all(&leaves) {
                    tracing::info!(target: "loft::challenger", batch = header.index, served = leaves.len(), "the poster's served leaves do not hash to its stepsRoot; using openings");
                }
                false
            }
            Err(e) => {
                tracing::info!(target: "loft::challenger", batch = header.index, error = %e, "the poster serves no leaves (yet)");
                true
            }
        }
    }

    /// Until when (L1 time) a batch whose leaves are not served yet is given before openings:
    /// a sixth of the time requests may be made in (`challengePeriod - responseWindow`), at
    /// least 1 s and at most 60 s. A node records a batch's leaves once its transaction is
    /// mined, so a challenger polling L1 can see the batch first.
    async fn leaves_grace_end(&self, header: &BatchHeader) -> Result<u64, ChallengerError> {
        let period =
            loft_contracts::rollup_call(self.l1, self.rollup, L1Rollup::challengePeriodCall {})
                .await?;
        let window =
            loft_contracts::rollup_call(self.l1, self.rollup, L1Rollup::responseWindowCall {})
                .await?;
        let grace = (period.saturating_sub(window) / 6).clamp(1, 60);
        Ok(header.posted_at.saturating_add(grace))
    }

    /// The L1 time a transaction sent now would see, estimated as the later of the head's
    /// timestamp and the wall clock: a quiet dev chain mines no blocks but its next block takes
    /// the current time, and a chain whose blocks came fast runs ahead of the wall clock. (L1
    /// has the last word: a claim sent early reverts `ResponseWindowOpen` and is retried.)
    async fn l1_time(&self) -> Result<u64, ChallengerError> {
        let head = self
            .l1
            .block(loft_l1::BlockNumberOrTag::Latest)
            .await?
            .map(|b| b.timestamp)
            .unwrap_or_default();
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        Ok(head.max(wall))
    }

    async fn send(&self, data: Vec<u8>, value: U256) -> Result<(B256, u64), ChallengerError> {
        let receipt = loft_l1::send_and_confirm(
            self.l1,
            TransactionRequest::default()
                .with_to(self.rollup)
                .with_input(Bytes::from(data))
                .with_value(value),
        )
        .await?;
        Ok((receipt.transaction_hash, receipt.gas_used))
    }

    /// Plays one round on `case`: learns, then opens, proves or claims.
    pub async fn round<S: NodeStore + Clone>(
        &self,
        case: &Case<S>,
    ) -> Result<Progress, ChallengerError> {
        let h = &case.header;
        let sol_header: L1Rollup::BatchHeader = (*h).into();
        let live = loft_contracts::rollup_call(self.l1, self.rollup, L1Rollup::batchCountCall {})
            .await?
            > h.index
            && loft_contracts::rollup_call(
                self.l1,
                self.rollup,
                L1Rollup::batchHeaderHashCall { index: h.index },
            )
            .await?
                == h.hash();
        if !live
            || loft_contracts::rollup_call(
                self.l1,
                self.rollup,
                L1Rollup::isFinalCall { index: h.index },
            )
            .await?
        {
            return Ok(Progress::Gone);
        }
        let (honest, _) = self.honest(case, None)?;
        let initial = StepLeaf::initial(h.queue_start, h.prev_state_root);
        let mut knowledge = Knowledge::new(h.step_roots_root, h.step_count, initial, honest);
        let unserved = self.learn_served(&mut knowledge, h).await;
        let requests = self.read_game(&mut knowledge, h).await?;
        let plan = knowledge.next();
        tracing::debug!(target: "loft::challenger", batch = h.index, ?plan, "plan");
        match plan {
            Plan::Open(step) => {
                if let Some(r) = requests.get(&step) {
                    let now = self.l1_time().await?;
                    if now < r.deadline {
                        return Ok(Progress::Waiting {
                            step,
                            deadline: r.deadline,
                        });
                    }
                    let call = L1Rollup::claimUnansweredCall {
                        h: sol_header,
                        i: step,
                    };
                    let (tx, _) = match self.send(call.abi_encode(), U256::ZERO).await {
                        Err(ChallengerError::L1(L1Error::Reverted { data, .. }))
                            if matches!(
                                L1Rollup::L1RollupErrors::abi_decode(&data),
                                Ok(L1Rollup::L1RollupErrors::ResponseWindowOpen(_))
                            ) =>
                        {
                            return Ok(Progress::Waiting {
                                step,
                                deadline: r.deadline,
                            });
                        }
                        other => other?,
                    };
                    tracing::info!(target: "loft::challenger", batch = h.index, step, %tx, "the poster did not open the leaf in time: batch reverted");
                    return Ok(Progress::ClaimedUnanswered { step, tx });
                }
                if unserved {
                    let until = self.leaves_grace_end(h).await?;
                    if self.l1_time().await? < until {
                        return Ok(Progress::AwaitingLeaves { until });
                    }
                    tracing::info!(target: "loft::challenger", batch = h.index, "the poster still serves no leaves; using openings");
                }
                let bond =
                    loft_contracts::rollup_call(self.l1, self.rollup, L1Rollup::requestBondCall {})
                        .await?;
                let call = L1Rollup::requestOpeningCall {
                    h: sol_header,
                    i: step,
                };
                let (tx, _) = self.send(call.abi_encode(), bond).await?;
                tracing::info!(target: "loft::challenger", batch = h.index, step, %tx, "asked the poster to open a leaf");
                Ok(Progress::Requested { step, tx })
            }
            Plan::ProveStep {
                step,
                prev,
                prev_proof,
                leaf,
                leaf_proof,
            } => {
                let (_, before) = self.honest(case, Some(step))?;
                let (state, withdrawals) = before.ok_or_else(|| {
                    ChallengerError::Inconsistent(format!(
                        "no honest state before step {step} of batch {}",
                        h.index
                    ))
                })?;
                let message =
                    self.queue
                        .get(prev.queue_pos as usize)
                        .map(|m| loft_fraud::QueueMessage {
                            kind: m.kind,
                            sender: m.sender,
                            l1_block_number: m.l1_block_number,
                            timestamp: m.timestamp,
                            payload: m.payload.clone(),
                        });
                let built = build_step_witness(
                    &state,
                    &loft_derive::batch_params(&self.params, h),
                    &prev,
                    &StepInput {
                        data: &case.data,
                        blobs: (h.data_kind == loft_contracts::DATA_BLOBS)
                            .then_some(&case.blobs[..]),
                        queue_end: h.queue_end,
                        message: message.as_ref(),
                        withdrawals: &withdrawals,
                    },
                )?;
                if built.valid && built.next == leaf {
                    return Err(ChallengerError::Inconsistent(format!(
                        "step {step} of batch {} re-executes to the poster's own leaf",
                        h.index
                    )));
                }
                let call = L1Rollup::proveStepCall {
                    h: sol_header,
                    i: step,
                    prev: to_sol(&prev),
                    prevProof: prev_proof,
                    leaf: to_sol(&leaf),
                    leafProof: leaf_proof,
                    witness: built.witness.into(),
                };
                let (tx, gas_used) = self.send(call.abi_encode(), U256::ZERO).await?;
                tracing::info!(target: "loft::challenger", batch = h.index, step, %tx, gas_used, valid = built.valid, "proved a wrong step: batch reverted");
                Ok(Progress::Proved {
                    method: "proveStep",
                    step,
                    tx,
                    gas_used,
                })
            }
            Plan::ProveLastLeaf { leaf, proof } => {
                if leaf.queue_pos == h.queue_end
                    && leaf.data_end == h.data_length
                    && leaf.w_root == h.withdrawal_root
                    && leaf.state_root == h.state_root
                {
                    return Ok(Progress::Stuck(
                        "the poster's leaves and header agree with the replay".into(),
                    ));
                }
                let call = L1Rollup::proveLastLeafCall {
                    h: sol_header,
                    leaf: to_sol(&leaf),
                    proof,
                };
                let (tx, gas_used) = self.send(call.abi_encode(), U256::ZERO).await?;
                tracing::info!(target: "loft::challenger", batch = h.index, %tx, gas_used, "proved the last leaf contradicts the header: batch reverted");
                Ok(Progress::Proved {
                    method: "proveLastLeaf",
                    step: h.step_count - 1,
                    tx,
                    gas_used,
                })
            }
            Plan::ProveStepCount {
                step,
                leaf_hash,
                proof,
            } => {
                let call = L1Rollup::proveStepCountCall {
                    h: sol_header,
                    i: step,
                    leafHash: leaf_hash,
                    proof,
                };
                let (tx, gas_used) = self.send(call.abi_encode(), U256::ZERO).await?;
                tracing::info!(target: "loft::challenger", batch = h.index, step, %tx, gas_used, "proved the step count wrong: batch reverted");
                Ok(Progress::Proved {
                    method: "proveStepCount",
                    step,
                    tx,
                    gas_used,
                })
            }
            Plan::NothingToProve => Ok(Progress::Stuck(
                "the poster's leaves and header agree with the replay".into(),
            )),
            Plan::Unprovable(n) => Ok(Progress::Stuck(format!(
                "the trees differ only in padding node {n:?}, which no opening can reveal"
            ))),
        }
    }
}

/// `loft_stepLeaves(index)` from a poster's L2 RPC.
async fn fetch_leaves(url: &str, index: u64) -> Result<Vec<StepLeaf>, String> {
    use alloy::providers::{Provider, ProviderBuilder};
    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Leaf {
        kind: u8,
        queue_pos: u64,
        data_end: u64,
        w_count: u64,
        w_root: B256,
        state_root: B256,
    }
    #[derive(Debug, serde::Deserialize)]
    struct Answer {
        leaves: Vec<Leaf>,
    }
    let url = url.parse().map_err(|e| format!("{e}"))?;
    let provider = ProviderBuilder::new().connect_http(url);
    let answer: Answer = provider
        .raw_request("loft_stepLeaves".into(), (index,))
        .await
        .map_err(|e| e.to_string())?;
    Ok(answer
        .leaves
        .into_iter()
        .map(|l| StepLeaf {
            kind: l.kind,
            queue_pos: l.queue_pos,
            data_end: l.data_end,
            w_count: l.w_count,
            w_root: l.w_root,
            state_root: l.state_root,
        })
        .collect())
}

/// The custom error a rollup call reverted with, named, for logs.
pub fn rollup_error(data: &[u8]) -> Option<String> {
    L1Rollup::L1RollupErrors::abi_decode(data)
        .ok()
        .map(|e| format!("{e:?}"))
}
