//! loft's rollup node (eth profile, sequencer role): accepts wallet transactions over JSON-RPC,
//! executes them with the one state transition function ([`loft_stf`]) into L2 blocks, follows
//! the L1->L2 queue, and posts batches with their claimed state roots to L1.
//!
//! Services and what they need (the seams):
//! - [`sequencer::Sequencer`]: the database ([`db::Db`]) and [`loft_stf`]; synchronous.
//! - [`follower`]: reads `MessageQueued` events through [`loft_l1::L1Client`].
//! - [`batcher`]: reads sealed blocks, posts `submitBatch` through [`loft_l1::L1Client`], keeps
//!   the step leaves it committed, follows reverts, and hands posting to a backup poster once the
//!   sequencer is barred.
//! - [`opener`]: answers opening requests (`OpeningRequested`) on the batches this node posted.
//! - [`rpc`]: the Ethereum and `loft_` JSON-RPC over the sequencer, the database and L1.
//! - [`fault`]: fault injection for tests and demos (`--fault`): one batch posted wrong on purpose.
//!
//! [`Node::start`] wires them and returns a handle; everything stops when it is dropped.

pub mod batcher;
pub mod db;
pub mod fault;
pub mod follower;
pub mod opener;
pub mod operator;
pub mod rpc;
pub mod sequencer;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use alloy::primitives::Address;
use loft_config::ChainConfig;
use loft_contracts::Deployment;
use loft_l1::L1Client;
use loft_stf::ChainParams;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

pub use crate::fault::FaultKind;

use crate::db::Db;
use crate::sequencer::Sequencer;

/// Errors of the node's services.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The database failed or holds something unexpected.
    #[error("node database: {0}")]
    Storage(String),
    /// The state failed.
    #[error(transparent)]
    State(#[from] loft_state::StateError),
    /// L1 access failed.
    #[error(transparent)]
    L1(#[from] loft_l1::L1Error),
    /// Reading or writing L1 contracts failed.
    #[error(transparent)]
    Contracts(#[from] loft_contracts::ContractsError),
    /// The RPC server could not start.
    #[error("L2 JSON-RPC server: {0}")]
    Rpc(String),
}

/// What a node needs to start.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The chain configuration.
    pub chain: ChainConfig,
    /// The L1 contracts.
    pub deployment: Deployment,
    /// Directory of the node's database.
    pub data_dir: PathBuf,
    /// Where the L2 JSON-RPC listens.
    pub rpc_addr: SocketAddr,
    /// Post batches (the sequencer's poster). Off: the node sequences but never posts.
    pub post_batches: bool,
}

/// What a node may do besides [`NodeConfig`]: the misbehaviour of tests and demos, and the
/// backup poster.
#[derive(Debug, Clone, Default)]
pub struct NodeOptions {
    /// Post one batch wrong on purpose (**tests and demos only**, [`fault`]).
    pub fault: Option<FaultKind>,
    /// A second operator key: registered as an operator at start (bidding `l2.base_fee`), it
    /// posts this node's batches whenever L1 names it active (after the sequencer is barred by a
    /// fraud proof or kicked).
    pub backup_poster: Option<Arc<dyn L1Client>>,
    /// Run as a standby operator (`loft node --role operator`): register the node's key as an
    /// operator, follow L1 by importing the active operator's batches, and sequence only once L1
    /// names this node active (`docs/liveness.md` §3).
    pub standby: bool,
    /// FOR TESTS AND DEMOS ONLY: censor these accounts ([`Sequencer::set_censored`]).
    pub censor: Vec<Address>,
}

/// The chain parameters of the state transition, from the chain configuration.
pub fn chain_params(config: &ChainConfig) -> ChainParams {
    ChainParams {
        chain_id: config.l2.chain_id,
        base_fee: config.l2.base_fee as u128,
        fee_recipient: config.l2.fee_recipient,
    }
}

/// What to deploy for a chain configuration: the rollup with the config's challenge period, bond,
/// slashing and opening parameters, and a step verifier with the L2's chain parameters (the ones
/// the sequencer executes with, so correct steps verify). The dev token is off; genesis is the
/// empty state.
pub fn deploy_options(config: &ChainConfig) -> loft_contracts::DeployOptions {
    let r = &config.rollup;
    loft_contracts::DeployOptions {
        challenge_period_secs: r.challenge_period_secs,
        bond_wei: alloy::primitives::U256::from(r.bond_gwei)
            * alloy::primitives::U256::from(1_000_000_000u64),
        challenger_share_bps: r.challenger_share_bps,
        slash_sink: r.slash_sink,
        response_window_secs: r.response_window_secs,
        max_batch_data: r.max_batch_bytes,
        exodus_delay_secs: r.exodus_delay_secs,
        sequencer_bid: alloy::primitives::U256::from(config.l2.base_fee),
        epoch_secs: r.epoch_secs,
        liveness_window_secs: r.liveness_window_secs,
        force_inclusion_delay_secs: r.force_inclusion_delay_secs,
        kick_slash_bps: r.kick_slash_bps,
        step_verifier: Some(loft_contracts::VerifierParams {
            l2_chain_id: config.l2.chain_id,
            fee_recipient: config.l2.fee_recipient,
        }),
        ..loft_contracts::DeployOptions::default()
    }
}

/// Shared by the services.
#[derive(Debug)]
pub struct Shared {
    /// The chain configuration.
    pub config: ChainConfig,
    /// The L1 contracts.
    pub deployment: Deployment,
    /// The database.
    pub db: Db,
    /// The L1.
    pub l1: Arc<dyn L1Client>,
    sequencer: Mutex<Sequencer>,
    /// Wakes the journal flusher.
    flush: Notify,
    /// Latest L2 block number sealed.
    pub heads: watch::Receiver<u64>,
    /// Latest L1 block seen by the follower.
    pub l1_head: watch::Sender<L1Head>,
    /// The fault to inject (tests and demos only).
    pub fault: Option<FaultKind>,
    /// The backup poster.
    pub backup_poster: Option<Arc<dyn L1Client>>,
    /// Who posted last, as the batcher logged it (`Some(None)`: nobody may post).
    poster_note: Mutex<Option<Option<Address>>>,
    /// A standby operator ([`NodeOptions::standby`]).
    pub standby: bool,
    /// Where the batcher puts batch data (starts as `rollup.batch_data`).
    batch_data: Mutex<loft_config::BatchData>,
    /// Account indexes the batcher has read from the state, by address.
    pub(crate) account_index: Mutex<crate::batcher::AccountIndex>,
}

/// The latest L1 block the follower saw.
#[derive(Debug, Clone, Copy)]
pub struct L1Head {
    /// Block number.
    pub number: u64,
    /// Its timestamp.
    pub timestamp: u64,
}

impl L1Head {
    /// The L1 time a transaction sent now would see, estimated as the later of the head's
    /// timestamp and the wall clock. A quiet dev chain makes no blocks, but its next block takes
    /// the current time; a chain whose blocks came faster than one per second runs ahead of the
    /// wall clock and its next block is at least the head's time. On a real chain the next block
    /// can be up to one slot older than the wall clock, so a claim sent at the first "claimable"
    /// may still be refused as not final; the wallet then waits and retries.
    pub fn now(&self) -> u64 {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.timestamp.max(wall)
    }
}

impl Shared {
    /// Locks the sequencer. Never held across an await.
    pub fn sequencer(&self) -> MutexGuard<'_, Sequencer> {
        self.sequencer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks the flusher to commit the journal.
    pub fn request_flush(&self) {
        self.flush.notify_one();
    }

    /// The rollup contract.
    pub fn rollup(&self) -> Address {
        self.deployment.rollup
    }

    /// Where the batcher puts the data of the next batches.
    pub fn batch_data(&self) -> loft_config::BatchData {
        *self.batch_data.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes where the batcher puts the data of the next batches (`loft bench` measures both).
    pub fn set_batch_data(&self, mode: loft_config::BatchData) {
        *self.batch_data.lock().unwrap_or_else(|p| p.into_inner()) = mode;
    }

    /// Records who posts now; returns who posted before (`None` before the first call).
    pub(crate) fn note_poster(&self, now: Option<Address>) -> Option<Option<Address>> {
        let mut note = self.poster_note.lock().unwrap_or_else(|p| p.into_inner());
        note.replace(now)
    }
}

/// A running node. Dropping it stops every service.
#[derive(Debug)]
pub struct Node {
    /// Shared state of the services.
    pub shared: Arc<Shared>,
    /// Where the L2 JSON-RPC listens.
    pub rpc_addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
    rpc: jsonrpsee::server::ServerHandle,
}

impl Drop for Node {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        let _ = self.rpc.stop();
    }
}

impl Node {
    /// Opens the database (replaying the journal), starts the sequencer, the queue follower, the
    /// batcher, the opening answerer and the RPC server.
    pub async fn start(config: NodeConfig, l1: Arc<dyn L1Client>) -> Result<Self, NodeError> {
        Self::start_with(config, l1, NodeOptions::default()).await
    }

    /// [`Node::start`] with [`NodeOptions`].
    pub async fn start_with(
        config: NodeConfig,
        l1: Arc<dyn L1Client>,
        options: NodeOptions,
    ) -> Result<Self, NodeError> {
        if let Some(kind) = options.fault {
            tracing::warn!(target: "loft::fault", fault = %kind, "FAULT INJECTION IS ON (tests and demos only): the batcher will post one wrong batch on purpose: {}", kind.description());
        }
        std::fs::create_dir_all(&config.data_dir)
            .map_err(|e| NodeError::Storage(format!("{}: {e}", config.data_dir.display())))?;
        let db = Db::open(&config.data_dir.join("l2.redb"))?;
        let params = chain_params(&config.chain);
        let (sequencer, heads) = Sequencer::open(db.clone(), params)?;
        let l1_block = l1.block_number().await?;
        let l1_time = l1
            .block(loft_l1::BlockNumberOrTag::Latest)
            .await?
            .map(|b| b.timestamp)
            .unwrap_or_default();
        let (l1_head, _) = watch::channel(L1Head {
            number: l1_block,
            timestamp: l1_time,
        });
        let shared = Arc::new(Shared {
            config: config.chain.clone(),
            deployment: config.deployment.clone(),
            db,
            l1,
            sequencer: Mutex::new(sequencer),
            flush: Notify::new(),
            heads,
            l1_head,
            fault: options.fault,
            backup_poster: options.backup_poster,
            poster_note: Mutex::new(None),
            standby: options.standby,
            batch_data: Mutex::new(config.chain.rollup.batch_data),
            account_index: Mutex::default(),
        });
        if options.standby {
            shared.sequencer().set_sequencing(false, None);
        }
        if !options.censor.is_empty() {
            tracing::warn!(target: "loft::fault", censored = ?options.censor, "CENSORSHIP IS ON (tests and demos only): this sequencer ignores these accounts' transactions and queue messages");
            shared.sequencer().set_censored(options.censor.clone());
        }
        let mut tasks = vec![
            tokio::spawn(flusher(shared.clone())),
            tokio::spawn(block_producer(shared.clone())),
            tokio::spawn(follower::run(shared.clone())),
        ];
        if config.post_batches {
            // Load the KZG trusted setup (and its precomputed tables, a second or two of CPU) now
            // rather than inside the first blob batch, where it would stall the posting.
            tokio::task::spawn_blocking(|| {
                alloy::eips::eip4844::env_settings::EnvKzgSettings::Default.get();
            });
            tasks.push(tokio::spawn(batcher::run(shared.clone())));
            tasks.push(tokio::spawn(opener::run(shared.clone())));
        }
        let (rpc_addr, rpc) = rpc::serve(shared.clone(), config.rpc_addr)
            .await
            .map_err(|e| NodeError::Rpc(e.to_string()))?;
        tracing::info!(target: "loft::node", %rpc_addr, chain_id = config.chain.l2.chain_id, "L2 JSON-RPC listening");
        Ok(Self {
            shared,
            rpc_addr,
            tasks,
            rpc,
        })
    }
}

/// Commits the journal of accepted steps and then answers the waiting submitters (group commit:
/// all transactions accepted while one commit runs share the next).
async fn flusher(shared: Arc<Shared>) {
    loop {
        shared.flush.notified().await;
        loop {
            let (entries, waiters) = shared.sequencer().take_unflushed();
            if entries.is_empty() && waiters.is_empty() {
                break;
            }
            let db = shared.db.clone();
            let result = tokio::task::spawn_blocking(move || db.append_journal(&entries))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()));
            if let Err(e) = &result {
                tracing::error!(target: "loft::sequencer", error = %e, "journal commit failed; transactions are not acknowledged");
            }
            for w in waiters {
                let _ = w.send(result.clone());
            }
        }
    }
}

/// Seals a block every block time.
async fn block_producer(shared: Arc<Shared>) {
    let mut interval =
        tokio::time::interval(Duration::from_millis(shared.config.l2.block_time_ms.max(1)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // A sealed block whose write failed: written again (before anything is sealed on top of it)
    // at the next tick.
    let mut unwritten: Option<sequencer::SealedBlock> = None;
    loop {
        interval.tick().await;
        let s = shared.clone();
        let pending = unwritten.take();
        // Sealing holds the sequencer only to cut the block; the write (most of the time) runs
        // after, while transactions keep arriving for the next block.
        let result = tokio::task::spawn_blocking(move || {
            let sealed = match pending {
                Some(sealed) => sealed,
                None => match s.sequencer().tick_deferred() {
                    Ok(Some(sealed)) => sealed,
                    Ok(None) => return Ok(None),
                    Err(e) => return Err((e, None::<Box<sequencer::SealedBlock>>)),
                },
            };
            match sealed.write(&s.db) {
                Ok(()) => {
                    let n = sealed.number();
                    s.sequencer().sealed_written(sealed);
                    Ok(Some(n))
                }
                Err(e) => Err((e, Some(Box::new(sealed)))),
            }
        })
        .await;
        match result {
            Ok(Ok(Some(n))) => tracing::trace!(target: "loft::sequencer", block = n, "sealed"),
            Ok(Ok(None)) => {}
            Ok(Err((e, sealed))) => {
                tracing::error!(target: "loft::sequencer", error = %e, "sealing a block failed");
                unwritten = sealed.map(|b| *b);
            }
            Err(e) => tracing::error!(target: "loft::sequencer", error = %e, "sealing task failed"),
        }
    }
}
