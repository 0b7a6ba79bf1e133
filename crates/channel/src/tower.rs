//! The watchtower: answers a stale unilateral close for a channel whose owner is offline
//! (`docs/channels.md` §7).
//!
//! Owners hand it the newest state both parties signed (`tower_watch`). It keeps, per channel,
//! only that state and the two parties, checks both signatures against the parties the
//! adjudicator names, follows the adjudicator's `ChannelClosing` and `ChannelChallenged` events,
//! and calls `challenge` with its newer state whenever the recorded one is older. It learns the
//! balances of the newest state; it never learns payment logs, keys or peer addresses.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{Address, B256};
use jsonrpsee::server::{RpcModule, Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use loft_l1::L1Client;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::{debug, info, warn};

use crate::adjudicator::{AdjudicatorAt, AdjudicatorError, ChannelEventKind, OnChainStatus};
use crate::state::{ChannelDomain, SignedState};

const GUARDED: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("guarded");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// Stable error codes of the watchtower's JSON-RPC.
pub mod tower_codes {
    /// Parameters missing or malformed.
    pub const INVALID_PARAMS: i32 = -32602;
    /// The adjudicator has no such open or closing channel.
    pub const UNKNOWN_CHANNEL: i32 = -33010;
    /// A signature is missing, malformed, or not by the channel's party.
    pub const BAD_SIGNATURE: i32 = -33011;
    /// The tower already holds this version or a newer one.
    pub const NOT_NEWER: i32 = -33012;
    /// L1 or the tower's database failed.
    pub const INTERNAL: i32 = -33013;
}

/// How the watchtower runs.
#[derive(Debug, Clone)]
pub struct TowerConfig {
    /// Its database (`tower.redb` inside).
    pub data_dir: PathBuf,
    /// Address of its JSON-RPC server.
    pub rpc_listen: SocketAddr,
    /// How often L1 is read.
    pub poll_interval: Duration,
}

/// A channel the tower guards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Guarded {
    /// Party A.
    pub a: Address,
    /// Party B.
    pub b: Address,
    /// The newest fully signed state handed in.
    pub state: SignedState,
    /// Challenges this tower sent for the channel.
    #[serde(default)]
    pub challenges: u64,
}

/// Errors that stop the tower from starting.
#[derive(Debug, thiserror::Error)]
pub enum TowerError {
    /// Its database.
    #[error("watchtower database: {0}")]
    Store(String),
    /// L1.
    #[error(transparent)]
    L1(#[from] AdjudicatorError),
    /// Its RPC socket.
    #[error("binding the watchtower RPC on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

fn store_err(e: impl std::fmt::Display) -> TowerError {
    TowerError::Store(e.to_string())
}

struct Inner {
    l1: Arc<dyn L1Client>,
    adjudicator: AdjudicatorAt,
    domain: ChannelDomain,
    db: Database,
    guarded: Mutex<HashMap<B256, Guarded>>,
    challenges: AtomicU64,
}

impl Inner {
    fn save(&self, id: &B256, g: &Guarded) -> Result<(), TowerError> {
        let tx = self.db.begin_write().map_err(store_err)?;
        {
            let mut t = tx.open_table(GUARDED).map_err(store_err)?;
            let json = serde_json::to_vec(g).map_err(store_err)?;
            t.insert(&id.0, json.as_slice()).map_err(store_err)?;
        }
        tx.commit().map_err(store_err)
    }

    fn save_next_block(&self, n: u64) -> Result<(), TowerError> {
        let tx = self.db.begin_write().map_err(store_err)?;
        tx.open_table(META)
            .map_err(store_err)?
            .insert("next_block", n)
            .map_err(store_err)?;
        tx.commit().map_err(store_err)
    }

    fn held(&self, id: &B256) -> Option<Guarded> {
        self.guarded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
    }
}

/// A running watchtower.
pub struct Tower {
    inner: Arc<Inner>,
    rpc_addr: SocketAddr,
    rpc: ServerHandle,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Tower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tower")
            .field("account", &self.inner.l1.sender())
            .field("rpc_addr", &self.rpc_addr)
            .finish()
    }
}

impl Tower {
    /// Opens the database, answers any stale close pending for a guarded channel, and starts
    /// watching and serving. `l1`'s account pays for challenges.
    pub async fn start(
        l1: Arc<dyn L1Client>,
        adjudicator: Address,
        config: TowerConfig,
    ) -> Result<Self, TowerError> {
        std::fs::create_dir_all(&config.data_dir).map_err(store_err)?;
        let db = Database::create(config.data_dir.join("tower.redb")).map_err(store_err)?;
        let mut guarded = HashMap::new();
        let stored_next;
        {
            let tx = db.begin_write().map_err(store_err)?;
            tx.open_table(GUARDED).map_err(store_err)?;
            tx.open_table(META).map_err(store_err)?;
            tx.commit().map_err(store_err)?;
            let rx = db.begin_read().map_err(store_err)?;
            let t = rx.open_table(GUARDED).map_err(store_err)?;
            for row in t.iter().map_err(store_err)? {
                let (k, v) = row.map_err(store_err)?;
                let g: Guarded = serde_json::from_slice(v.value()).map_err(store_err)?;
                guarded.insert(B256::from(*k.value()), g);
            }
            stored_next = rx
                .open_table(META)
                .map_err(store_err)?
                .get("next_block")
                .map_err(store_err)?
                .map(|v| v.value());
        }
        let chain_id = l1.chain_id().await.map_err(AdjudicatorError::from)?;
        let inner = Arc::new(Inner {
            l1,
            adjudicator: AdjudicatorAt {
                address: adjudicator,
            },
            domain: ChannelDomain {
                chain_id,
                adjudicator,
            },
            db,
            guarded: Mutex::new(guarded),
            challenges: AtomicU64::new(0),
        });
        // Closes that happened while the tower was down.
        let ids: Vec<B256> = inner
            .guarded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .copied()
            .collect();
        for id in ids {
            match inner.adjudicator.channel(&*inner.l1, id).await {
                Ok(c) if c.status == OnChainStatus::Closing => respond(&inner, id, c.version).await,
                Ok(_) => {}
                Err(e) => warn!(channel = %id, "reading a guarded channel failed: {e}"),
            }
        }
        let next = match stored_next {
            Some(n) => n,
            None => inner
                .l1
                .block_number()
                .await
                .map_err(AdjudicatorError::from)?,
        };
        let server = Server::builder()
            .build(config.rpc_listen)
            .await
            .map_err(|source| TowerError::Bind {
                addr: config.rpc_listen,
                source,
            })?;
        let rpc_addr = server.local_addr().map_err(|source| TowerError::Bind {
            addr: config.rpc_listen,
            source,
        })?;
        let rpc = server.start(module(inner.clone()));
        let task = tokio::spawn(watch(inner.clone(), next, config.poll_interval));
        info!(account = %inner.l1.sender(), rpc = %rpc_addr, %adjudicator, "watchtower ready");
        Ok(Self {
            inner,
            rpc_addr,
            rpc,
            task,
        })
    }

    /// The JSON-RPC address.
    pub fn rpc_addr(&self) -> SocketAddr {
        self.rpc_addr
    }

    /// Challenges sent since start.
    pub fn challenges(&self) -> u64 {
        self.inner.challenges.load(Ordering::SeqCst)
    }

    /// Stops watching and serving.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.rpc.stop();
        self.rpc.stopped().await;
    }

    /// Waits until the server stops.
    pub async fn stopped(&self) {
        self.rpc.clone().stopped().await
    }
}

/// Challenges the close of `id` if the tower holds a newer state than the recorded `version`.
async fn respond(inner: &Arc<Inner>, id: B256, version: u64) {
    let Some(g) = inner.held(&id) else { return };
    if g.state.state.version <= version {
        return;
    }
    match inner.adjudicator.challenge(&*inner.l1, &g.state).await {
        Ok(r) => {
            inner.challenges.fetch_add(1, Ordering::SeqCst);
            let mut updated = g.clone();
            updated.challenges += 1;
            inner
                .guarded
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, updated.clone());
            if let Err(e) = inner.save(&id, &updated) {
                warn!(channel = %id, "recording the challenge failed: {e}");
            }
            warn!(
                channel = %id,
                stale = version,
                newer = g.state.state.version,
                tx = %r.transaction_hash,
                gas = r.gas_used,
                "answered a stale close with the newer state"
            );
        }
        Err(e) => warn!(channel = %id, "the challenge failed: {e}"),
    }
}

async fn watch(inner: Arc<Inner>, mut next: u64, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let head = match inner.l1.block_number().await {
            Ok(h) => h,
            Err(e) => {
                debug!("reading the L1 head failed: {e}");
                continue;
            }
        };
        if head < next {
            continue;
        }
        let events = match inner.adjudicator.events(&*inner.l1, next, head).await {
            Ok(ev) => ev,
            Err(e) => {
                debug!("reading the adjudicator's events failed: {e}");
                continue;
            }
        };
        for ev in events {
            match ev.kind {
                ChannelEventKind::Closing { version, .. }
                | ChannelEventKind::Challenged { version, .. } => {
                    respond(&inner, ev.channel, version).await
                }
                _ => {}
            }
        }
        next = head + 1;
        if let Err(e) = inner.save_next_block(next) {
            warn!("recording the scanned L1 height failed: {e}");
        }
    }
}

fn err(code: i32, msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, msg.into(), None::<()>)
}

fn module(inner: Arc<Inner>) -> RpcModule<Arc<Inner>> {
    let mut m = RpcModule::new(inner);
    m.register_async_method("tower_watch", |p, inner, _| async move {
        let signed: SignedState = p
            .one::<SignedState>()
            .map_err(|e| err(tower_codes::INVALID_PARAMS, e.message().to_string()))?;
        let id = signed.state.channel_id;
        let c = inner
            .adjudicator
            .channel(&*inner.l1, id)
            .await
            .map_err(|e| err(tower_codes::INTERNAL, e.to_string()))?;
        if !matches!(c.status, OnChainStatus::Open | OnChainStatus::Closing) {
            return Err(err(
                tower_codes::UNKNOWN_CHANNEL,
                format!("channel {id} is not open or closing"),
            ));
        }
        if signed.state.version == 0 || !signed.state.is_balanced() {
            return Err(err(
                tower_codes::INVALID_PARAMS,
                "a signed state of version 1 or later whose balances add up",
            ));
        }
        signed
            .verify(&inner.domain, c.a, c.b)
            .map_err(|e| err(tower_codes::BAD_SIGNATURE, e.to_string()))?;
        let version = signed.state.version;
        {
            // Check and replace under one lock, so a late older state never overwrites a newer.
            let mut map = inner.guarded.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(held) = map.get(&id)
                && held.state.state.version >= version
            {
                return Err(err(
                    tower_codes::NOT_NEWER,
                    format!("holding version {} already", held.state.state.version),
                ));
            }
            let challenges = map.get(&id).map(|g| g.challenges).unwrap_or(0);
            let g = Guarded {
                a: c.a,
                b: c.b,
                state: signed,
                challenges,
            };
            inner
                .save(&id, &g)
                .map_err(|e| err(tower_codes::INTERNAL, e.to_string()))?;
            map.insert(id, g);
        }
        debug!(channel = %id, version, "guarding a newer state");
        // A close may already be pending with an older state.
        if c.status == OnChainStatus::Closing && c.version < version {
            respond(&inner, id, c.version).await;
        }
        Ok::<Value, ErrorObjectOwned>(json!({ "channel": id, "version": version }))
    })
    .expect("unique method name");
    m.register_method("tower_status", |_, inner, _| {
        let map = inner.guarded.lock().unwrap_or_else(|p| p.into_inner());
        let mut channels: Vec<Value> = map
            .iter()
            .map(|(id, g)| {
                json!({
                    "channel": id,
                    "a": g.a,
                    "b": g.b,
                    "version": g.state.state.version,
                    "challenges": g.challenges,
                })
            })
            .collect();
        channels.sort_by_key(|v| v["channel"].as_str().unwrap_or_default().to_string());
        json!({
            "account": inner.l1.sender(),
            "adjudicator": inner.adjudicator.address,
            "channels": channels,
            "challengesSinceStart": inner.challenges.load(Ordering::SeqCst),
        })
    })
    .expect("unique method name");
    m
}
