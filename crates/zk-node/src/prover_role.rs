//! The prover role (`loft node --role prover`): anyone's node. It rebuilds the state from L1
//! alone — the queue messages and the public data of every verified batch
//! ([`loft_zk::replay`]) — and checks each batch's root. Once the first unconsumed queue message
//! is overdue (the operator stopped or censors), `ZkRollup` lets anyone submit: this node then
//! proves a batch of the waiting messages (up to the general slots) and posts it, so deposits
//! and forced exits go through without the operator. It serves the read-only part of the zk
//! JSON-RPC over the state L1 verified.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{Address, U256};
use loft_contracts::ZkRollup;
use loft_l1::{BlockNumberOrTag, L1Client};
use loft_zk::{AccountTree, BatchBuilder, PublicKey, ZkParams};
use loft_zk_prover::prover::Keys;

use crate::poster::Posted;
use crate::rpc::{AccountInfo, StatusInfo, ZkView, account_info};
use crate::sequencer::{Accepted, Sealed, SubmitError};
use crate::store::QueueMessage;
use crate::{ZkNodeError, root_word, view};

/// What the prover role needs.
#[derive(Debug, Clone)]
pub struct ProverRoleConfig {
    /// The batch shape and chain id.
    pub params: ZkParams,
    /// The `ZkRollup` contract.
    pub rollup: Address,
    /// Its deployment block.
    pub deploy_block: u64,
    /// Account 0's key (genesis).
    pub fee_key: PublicKey,
    /// Where the read-only JSON-RPC listens.
    pub rpc_addr: SocketAddr,
    /// How often L1 is read.
    pub poll_interval: Duration,
}

/// The state rebuilt from L1.
#[derive(Debug)]
struct Follower {
    tree: AccountTree,
    verified: u64,
    queue_end: u64,
    /// Every queue message seen, by index.
    messages: Vec<QueueMessage>,
    next_block: u64,
    last_post: Option<Posted>,
}

/// The read-only view the RPC serves.
#[derive(Debug)]
struct ProverView {
    config: ProverRoleConfig,
    state: Arc<Mutex<Follower>>,
    proved: AtomicU64,
}

impl ZkView for ProverView {
    fn submit(&self, _raw: &[u8]) -> Result<Accepted, SubmitError> {
        Err(SubmitError::NotSequencer)
    }

    fn account(&self, index: u32) -> Option<AccountInfo> {
        account_info(
            &self.state.lock().unwrap_or_else(|e| e.into_inner()).tree,
            index,
        )
    }

    fn status(&self) -> StatusInfo {
        let f = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let p = self.config.params;
        StatusInfo {
            role: "prover",
            chain_id: p.chain_id,
            rollup: self.config.rollup,
            tree_depth: p.tree_depth,
            batch_transfers: p.batch_transfers,
            batch_general: p.batch_general,
            state_root: root_word(f.tree.root()),
            sealed_batches: f.verified,
            open_ops: 0,
            proved_batches: self.proved.load(Ordering::SeqCst),
            verified_batches: f.verified,
            queue_next: f.queue_end,
            last_post: f.last_post,
        }
    }
}

/// Reads what L1 added since the last call: verified batches (replayed and checked) and queue
/// messages.
async fn sync(
    config: &ProverRoleConfig,
    l1: &dyn L1Client,
    state: &Mutex<Follower>,
) -> Result<(), ZkNodeError> {
    let from = state.lock().unwrap_or_else(|e| e.into_inner()).next_block;
    let to = l1.block_number().await?;
    if to < from {
        return Ok(());
    }
    let batches = loft_contracts::zk_verified_batches(l1, config.rollup, from, to).await?;
    let messages = loft_contracts::zk_messages(l1, config.rollup, from, to).await?;
    let mut f = state.lock().unwrap_or_else(|e| e.into_inner());
    for m in &messages {
        if m.index == f.messages.len() as u64 {
            f.messages.push(m.into());
        }
    }
    for b in batches {
        if b.index != f.verified {
            continue;
        }
        let data = loft_zk::pubdata::decode(&config.params, &b.pubdata).map_err(|e| {
            ZkNodeError::Invalid(format!(
                "batch {}'s public data: {e} (wrong batch shape?)",
                b.index
            ))
        })?;
        // apply_pubdata leaves the tree as it was on an error; a root mismatch stops the role.
        loft_zk::replay::apply_pubdata(&mut f.tree, &data)
            .map_err(|e| ZkNodeError::Invalid(format!("batch {} does not replay: {e}", b.index)))?;
        if root_word(f.tree.root()) != b.new_root {
            return Err(ZkNodeError::Invalid(format!(
                "batch {}: the replayed root differs from L1's (wrong fee key or batch shape?)",
                b.index
            )));
        }
        f.verified += 1;
        f.queue_end = b.queue_end;
        tracing::info!(target: "loft::zk", batch = b.index, "verified batch replayed from L1");
    }
    f.next_block = to + 1;
    Ok(())
}

/// Builds the batch of waiting queue messages, if any is overdue.
async fn overdue_batch(
    config: &ProverRoleConfig,
    l1: &dyn L1Client,
    state: &Mutex<Follower>,
) -> Result<Option<Sealed>, ZkNodeError> {
    let deadline = view(l1, config.rollup, ZkRollup::nextDeadlineCall {}).await?;
    if deadline == U256::MAX {
        return Ok(None);
    }
    let now = l1
        .block(BlockNumberOrTag::Latest)
        .await?
        .map_or(0, |b| b.timestamp);
    if U256::from(now) < deadline {
        return Ok(None);
    }
    let f = state.lock().unwrap_or_else(|e| e.into_inner());
    let start = usize::try_from(f.queue_end).unwrap_or(usize::MAX);
    let waiting: Vec<QueueMessage> = f
        .messages
        .iter()
        .skip(start)
        .take(config.params.batch_general)
        .copied()
        .collect();
    if waiting.is_empty() {
        // The queue events have not been read yet; the next round will have them.
        return Ok(None);
    }
    let mut tree = f.tree.clone();
    let mut b = BatchBuilder::new(config.params, &tree);
    for m in &waiting {
        let op = crate::sequencer::general_of(m)?;
        b.push_general(&mut tree, op)
            .map_err(|e| ZkNodeError::Invalid(format!("queue message {}: {e}", m.index)))?;
    }
    let batch = b
        .finish(&mut tree)
        .map_err(|e| ZkNodeError::Invalid(format!("sealing: {e}")))?;
    tracing::info!(
        target: "loft::zk",
        batch = f.verified,
        messages = waiting.len(),
        first = waiting[0].index,
        "a queue message is overdue: proving a batch without the operator"
    );
    Ok(Some(Sealed {
        index: f.verified,
        batch,
        queue_end: f.queue_end + waiting.len() as u64,
    }))
}

/// Runs the prover role until the task is dropped or L1 shows something that does not replay.
pub async fn run(
    config: ProverRoleConfig,
    l1: Arc<dyn L1Client>,
    keys: Arc<Keys>,
) -> Result<(), ZkNodeError> {
    let state = Arc::new(Mutex::new(Follower {
        tree: loft_zk::replay::genesis(config.params.tree_depth, &config.fee_key),
        verified: 0,
        queue_end: 0,
        messages: Vec::new(),
        next_block: config.deploy_block,
        last_post: None,
    }));
    let view = Arc::new(ProverView {
        config: config.clone(),
        state: state.clone(),
        proved: AtomicU64::new(0),
    });
    let (addr, _server) = crate::rpc::serve(view.clone(), config.rpc_addr)
        .await
        .map_err(|e| ZkNodeError::Rpc(e.to_string()))?;
    tracing::info!(target: "loft::zk", rpc = %addr, "prover role: zk JSON-RPC (read-only) listening");
    loop {
        let round = async {
            sync(&config, l1.as_ref(), &state).await?;
            let Some(sealed) = overdue_batch(&config, l1.as_ref(), &state).await? else {
                return Ok::<_, ZkNodeError>(());
            };
            let (params, k) = (config.params, keys.clone());
            let proved =
                tokio::task::spawn_blocking(move || crate::prover::prove(params, &k, &sealed))
                    .await
                    .map_err(|e| ZkNodeError::Invalid(format!("the proving task failed: {e}")))??;
            view.proved.fetch_max(proved.index + 1, Ordering::SeqCst);
            tracing::info!(target: "loft::zk", batch = proved.index, secs = format!("{:.1}", proved.secs), "batch proved");
            match crate::poster::submit(l1.as_ref(), config.rollup, &proved).await {
                Ok(Some(p)) => {
                    tracing::info!(target: "loft::zk", batch = p.index, tx = %p.tx, gas = p.gas_used, "batch verified on L1");
                    state.lock().unwrap_or_else(|e| e.into_inner()).last_post = Some(p);
                }
                // Someone else posted first: the next sync replays theirs.
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(target: "loft::zk", error = %e, "posting failed; will retry")
                }
            }
            Ok(())
        };
        if let Err(e) = round.await {
            if matches!(e, ZkNodeError::Invalid(_)) {
                return Err(e);
            }
            tracing::warn!(target: "loft::zk", error = %e, "prover round failed; retrying");
        }
        tokio::time::sleep(config.poll_interval).await;
    }
}
