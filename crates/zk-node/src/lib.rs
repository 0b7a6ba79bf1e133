//! loft's zk rollup node (`docs/zk-rollup.md`).
//!
//! Two roles over the same state transition ([`loft_zk`]) and prover ([`loft_zk_prover`]):
//! - **sequencer** ([`ZkNode::start`]): takes signed L2 operations over JSON-RPC
//!   ([`rpc`]), journals each before it answers ([`store`]), follows the L1 queue, cuts
//!   batches ([`sequencer`]), proves them on a worker thread while it keeps sequencing
//!   ([`prover`]) and posts each proof with its public data ([`poster`]). A batch is final as
//!   soon as L1 verifies it.
//! - **prover** ([`prover_role::run`]): rebuilds the state from L1 alone (queue messages and the
//!   public data of every verified batch), and once a queue message is overdue proves and posts
//!   a batch of the waiting messages itself: a forced exit needs no operator.
//!
//! Seams: L1 through [`loft_l1::L1Client`], storage through [`store::Journal`], the state
//! transition through [`loft_zk::BatchBuilder`], proofs through [`loft_zk_prover::prover::Keys`].

pub mod poster;
pub mod prover;
pub mod prover_role;
pub mod rpc;
pub mod sequencer;
pub mod store;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use loft_contracts::ZkRollup;
use loft_l1::L1Client;
use loft_zk::{Fr, PublicKey, ZkParams};
use loft_zk_prover::prover::Keys;
use tokio::task::JoinHandle;

use crate::sequencer::{Sealed, Sequencer};

/// Errors of the zk node.
#[derive(Debug, thiserror::Error)]
pub enum ZkNodeError {
    /// The journal failed or holds something that does not replay.
    #[error("zk node storage: {0}")]
    Storage(String),
    /// Something that should hold does not (a queue message out of order, a root mismatch).
    #[error("{0}")]
    Invalid(String),
    /// The sequencer stopped taking operations.
    #[error("the sequencer stopped: {0}")]
    Stopped(String),
    /// L1 access failed.
    #[error(transparent)]
    L1(#[from] loft_l1::L1Error),
    /// Reading L1 contracts failed.
    #[error(transparent)]
    Contracts(#[from] loft_contracts::ContractsError),
    /// Proving failed.
    #[error(transparent)]
    Prover(#[from] loft_zk_prover::prover::ProverError),
    /// The RPC server could not start.
    #[error("zk JSON-RPC server: {0}")]
    Rpc(String),
}

/// What a zk node needs to run.
#[derive(Debug, Clone)]
pub struct ZkNodeConfig {
    /// The batch shape and chain id (from the chain config's `[zk]` and `l2.chain_id`).
    pub params: ZkParams,
    /// The `ZkRollup` contract.
    pub rollup: Address,
    /// The L1 block it was deployed in (where reading its events starts).
    pub deploy_block: u64,
    /// Account 0's key (the fee account; part of the genesis state).
    pub fee_key: PublicKey,
    /// Directory of the journal (`zk-journal.redb`).
    pub data_dir: PathBuf,
    /// Where the JSON-RPC listens.
    pub rpc_addr: SocketAddr,
    /// A batch with something in it is sealed after this long.
    pub batch_interval: Duration,
    /// How often L1 is read for queue messages.
    pub poll_interval: Duration,
}

/// Progress shared by the services, for the RPC and the logs.
#[derive(Debug, Default)]
pub struct Progress {
    /// Batches proved (count, in order).
    pub proved: AtomicU64,
    /// Batches verified on L1 (its `batchCount`).
    pub verified: AtomicU64,
    /// The last posted batch's L1 transaction and gas.
    pub last_post: Mutex<Option<poster::Posted>>,
}

impl Progress {
    /// Batches verified on L1.
    pub fn verified(&self) -> u64 {
        self.verified.load(Ordering::SeqCst)
    }
}

/// State shared by the sequencer's services.
#[derive(Debug)]
pub struct Shared {
    /// The configuration.
    pub config: ZkNodeConfig,
    sequencer: Mutex<Sequencer>,
    to_prover: Mutex<std::sync::mpsc::Sender<Sealed>>,
    /// Proving and posting progress.
    pub progress: Arc<Progress>,
}

impl Shared {
    /// Locks the sequencer (a panic elsewhere does not make the state unreadable).
    pub fn sequencer(&self) -> MutexGuard<'_, Sequencer> {
        self.sequencer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Hands sealed batches to the prover.
    pub fn prove(&self, sealed: Vec<Sealed>) {
        let tx = self.to_prover.lock().unwrap_or_else(|p| p.into_inner());
        for s in sealed {
            tracing::info!(
                target: "loft::zk",
                batch = s.index,
                queue_end = s.queue_end,
                "batch sealed"
            );
            // The prover thread lives as long as the node; a send error means it is shutting down.
            let _ = tx.send(s);
        }
    }
}

/// Reads a `ZkRollup` view.
pub(crate) async fn view<C: SolCall>(
    l1: &dyn L1Client,
    rollup: Address,
    call: C,
) -> Result<C::Return, ZkNodeError> {
    let out = l1
        .call(
            TransactionRequest::default()
                .to(rollup)
                .input(call.abi_encode().into()),
        )
        .await?;
    C::abi_decode_returns(&out)
        .map_err(|e| ZkNodeError::Invalid(format!("ZkRollup answered something unexpected: {e}")))
}

/// The rollup's state root and verified batch count on L1.
pub async fn l1_head(l1: &dyn L1Client, rollup: Address) -> Result<(U256, u64), ZkNodeError> {
    let root = view(l1, rollup, ZkRollup::stateRootCall {}).await?;
    let count = view(l1, rollup, ZkRollup::batchCountCall {}).await?;
    Ok((root, count))
}

/// A root as the `uint256` L1 stores.
pub fn root_word(root: Fr) -> U256 {
    U256::from_be_bytes(loft_zk::keys::fr_to_be(&root))
}

/// A running sequencer; its services stop when it is dropped.
#[derive(Debug)]
pub struct ZkNode {
    /// Where the JSON-RPC listens.
    pub rpc_addr: SocketAddr,
    /// Shared state.
    pub shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
    rpc: jsonrpsee::server::ServerHandle,
}

impl Drop for ZkNode {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        let _ = self.rpc.stop();
    }
}

impl ZkNode {
    /// Replays the journal, checks it against L1, and starts the services: the prover worker,
    /// the poster, the queue follower, the batch timer and the JSON-RPC.
    pub async fn start(
        config: ZkNodeConfig,
        l1: Arc<dyn L1Client>,
        keys: Arc<Keys>,
    ) -> Result<Self, ZkNodeError> {
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| ZkNodeError::Storage(format!("{}: {e}", config.data_dir.display())))?;
        let (l1_root, l1_count) = l1_head(l1.as_ref(), config.rollup).await?;
        let path = config.data_dir.join("zk-journal.redb");
        let restored = Sequencer::open(config.params, &config.fee_key, &path, l1_count)?;
        let seq = restored.sequencer;
        if l1_count > seq.sealed() {
            return Err(ZkNodeError::Invalid(format!(
                "L1 has {l1_count} verified batches but this journal ({}) sealed only {}: it is not this rollup's sequencer journal, or someone else proved batches (run the prover role to follow L1)",
                path.display(),
                seq.sealed()
            )));
        }
        let ours = match l1_count.checked_sub(1) {
            Some(last) => seq.root_after(last).map(root_word),
            None => Some(root_word(
                loft_zk::replay::genesis(config.params.tree_depth, &config.fee_key).root(),
            )),
        };
        if ours != Some(l1_root) {
            return Err(ZkNodeError::Invalid(format!(
                "the journal's root after batch {l1_count} differs from L1's state root {l1_root}: wrong data directory, fee key or batch shape"
            )));
        }
        tracing::info!(
            target: "loft::zk",
            replayed = restored.replayed,
            sealed = seq.sealed(),
            verified = l1_count,
            to_prove = restored.unposted.len(),
            "journal replayed"
        );

        let progress = Arc::new(Progress::default());
        progress.verified.store(l1_count, Ordering::SeqCst);
        progress.proved.store(l1_count, Ordering::SeqCst);
        let (to_prover, from_sequencer) = std::sync::mpsc::channel::<Sealed>();
        let (to_poster, from_prover) = tokio::sync::mpsc::unbounded_channel();
        prover::spawn(
            config.params,
            keys,
            from_sequencer,
            to_poster,
            progress.clone(),
        );
        let shared = Arc::new(Shared {
            config: config.clone(),
            sequencer: Mutex::new(seq),
            to_prover: Mutex::new(to_prover),
            progress: progress.clone(),
        });
        shared.prove(restored.unposted);

        let tasks = vec![
            tokio::spawn(poster::run(
                l1.clone(),
                config.rollup,
                from_prover,
                progress.clone(),
            )),
            tokio::spawn(follow_queue(shared.clone(), l1.clone())),
            tokio::spawn(seal_timer(shared.clone())),
        ];
        let (rpc_addr, rpc) = rpc::serve(
            Arc::new(rpc::SequencerView(shared.clone())),
            config.rpc_addr,
        )
        .await
        .map_err(|e| ZkNodeError::Rpc(e.to_string()))?;
        tracing::info!(target: "loft::zk", %rpc_addr, "zk JSON-RPC listening");
        Ok(Self {
            rpc_addr,
            shared,
            tasks,
            rpc,
        })
    }
}

/// Reads `MessageQueued` events and takes each message in order.
async fn follow_queue(shared: Arc<Shared>, l1: Arc<dyn L1Client>) {
    let config = shared.config.clone();
    let mut from = config.deploy_block;
    loop {
        match step_queue(&shared, l1.as_ref(), from).await {
            Ok(next) => from = next,
            Err(e) => {
                tracing::warn!(target: "loft::zk", error = %e, "reading the L1 queue failed; retrying")
            }
        }
        tokio::time::sleep(config.poll_interval).await;
    }
}

async fn step_queue(shared: &Shared, l1: &dyn L1Client, from: u64) -> Result<u64, ZkNodeError> {
    let to = l1.block_number().await?;
    if to < from {
        return Ok(from);
    }
    let messages = loft_contracts::zk_messages(l1, shared.config.rollup, from, to).await?;
    for m in &messages {
        let sealed = {
            let mut seq = shared.sequencer();
            if m.index < seq.next_queue() {
                continue;
            }
            seq.push_queue(&m.into())?
        };
        tracing::info!(target: "loft::zk", index = m.index, kind = m.kind, account = m.account, "queue message taken");
        shared.prove(sealed);
    }
    Ok(to + 1)
}

/// Seals a batch once it has been open for the batch interval.
async fn seal_timer(shared: Arc<Shared>) {
    let interval = shared.config.batch_interval;
    let tick = (interval / 4).clamp(Duration::from_millis(20), Duration::from_millis(250));
    loop {
        tokio::time::sleep(tick).await;
        let sealed = shared.sequencer().seal_if_due(interval);
        match sealed {
            Ok(Some(s)) => shared.prove(vec![s]),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(target: "loft::zk", error = %e, "the sequencer stopped");
                return;
            }
        }
    }
}
