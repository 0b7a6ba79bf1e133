//! The channel daemon: one party's channels, their peer connections over TCP, the control
//! JSON-RPC server the `loft channel` commands talk to, and the L1 watcher (`docs/channels.md` §5).
//!
//! Each connection runs one loop: read whatever frames arrived, let the channel's [`Engine`]
//! check and apply them, start queued work, commit everything in one durable write, and only then
//! send the answers and report finished payments. A refused message is logged and answered with
//! an error frame, and the connection is closed; the channel is unchanged by it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alloy::primitives::{Address, B256, U256};
use alloy::rpc::types::TransactionReceipt;
use jsonrpsee::server::{RpcModule, Server, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use loft_l1::L1Client;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};
use tracing::{debug, info, warn};

use crate::adjudicator::{AdjudicatorAt, AdjudicatorError, ChannelEventKind, OnChainStatus};
use crate::engine::{Effects, Engine, Local, Outcome};
use crate::state::{ChannelDomain, ChannelKey, ChannelState, SignedState};
use crate::store::{ChannelRecord, Phase, Role, Store, StoreError, WriteBatch};
use crate::wire::{Code, Msg, NOTICE_FUNDED, Refusal, Update, split_frames};

/// How the daemon runs.
#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// Where its database lives (`channels.redb` inside).
    pub data_dir: PathBuf,
    /// Address for peer connections (loopback by default).
    pub peer_listen: SocketAddr,
    /// Address of the control JSON-RPC server.
    pub rpc_listen: SocketAddr,
    /// Most payments in flight per channel.
    pub window: usize,
    /// A peer that leaves work unanswered this long gets a unilateral close.
    pub peer_timeout: Duration,
    /// How often L1 is read for the adjudicator's events.
    pub poll_interval: Duration,
    /// A watchtower's JSON-RPC URL to hand the newest states to.
    pub watchtower: Option<String>,
}

impl DaemonConfig {
    /// Defaults for a data directory: ephemeral loopback ports, window 128, 60 s peer time-out.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            peer_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            rpc_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            window: 128,
            peer_timeout: Duration::from_secs(60),
            poll_interval: Duration::from_millis(250),
            watchtower: None,
        }
    }
}

/// Errors that stop the daemon from starting.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// L1.
    #[error(transparent)]
    L1(#[from] AdjudicatorError),
    /// A socket.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

struct Chan {
    engine: Mutex<Engine>,
    /// Local work queued: the connection loop should pump.
    wake: Notify,
    /// The record changed (for waiters such as a cooperative close).
    changed: Notify,
    /// Generation of the live connection; an older connection stops.
    conn_gen: AtomicU64,
    connected: AtomicBool,
    /// Last time the peer answered, or nothing was outstanding.
    last_progress: Mutex<Instant>,
    /// Version last handed to the watchtower.
    pushed: AtomicU64,
}

impl Chan {
    fn new(engine: Engine) -> Arc<Self> {
        Arc::new(Self {
            engine: Mutex::new(engine),
            wake: Notify::new(),
            changed: Notify::new(),
            conn_gen: AtomicU64::new(0),
            connected: AtomicBool::new(false),
            last_progress: Mutex::new(Instant::now()),
            pushed: AtomicU64::new(0),
        })
    }

    fn engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self) -> ChannelRecord {
        self.engine().record().clone()
    }
}

struct Inner {
    key: ChannelKey,
    domain: ChannelDomain,
    adjudicator: AdjudicatorAt,
    l1: Arc<dyn L1Client>,
    store: Store,
    config: DaemonConfig,
    peer_addr: SocketAddr,
    channels: Mutex<HashMap<B256, Arc<Chan>>>,
    next_id: AtomicU64,
    /// One L1 transaction at a time from this daemon's account (nonces stay in order).
    l1_lock: tokio::sync::Mutex<()>,
}

/// A running daemon.
pub struct Daemon {
    inner: Arc<Inner>,
    rpc_addr: SocketAddr,
    rpc: ServerHandle,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Daemon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Daemon")
            .field("address", &self.inner.key.address())
            .field("peer_addr", &self.inner.peer_addr)
            .field("rpc_addr", &self.rpc_addr)
            .finish()
    }
}

impl Daemon {
    /// Opens the database, binds both sockets, resumes the stored channels and starts serving.
    pub async fn start(
        key: ChannelKey,
        l1: Arc<dyn L1Client>,
        adjudicator: Address,
        config: DaemonConfig,
    ) -> Result<Self, DaemonError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| DaemonError::Io {
            what: format!("creating {}", config.data_dir.display()),
            source,
        })?;
        let store = Store::open(&config.data_dir.join("channels.redb"))?;
        let chain_id = l1.chain_id().await.map_err(AdjudicatorError::from)?;
        let domain = ChannelDomain {
            chain_id,
            adjudicator,
        };
        let listener = TcpListener::bind(config.peer_listen)
            .await
            .map_err(|source| DaemonError::Io {
                what: format!("listening for peers on {}", config.peer_listen),
                source,
            })?;
        let peer_addr = listener.local_addr().map_err(|source| DaemonError::Io {
            what: "reading the peer address".into(),
            source,
        })?;
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        let inner = Arc::new(Inner {
            key,
            domain,
            adjudicator: AdjudicatorAt {
                address: adjudicator,
            },
            l1,
            store,
            config: config.clone(),
            peer_addr,
            channels: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(nanos),
            l1_lock: tokio::sync::Mutex::new(()),
        });
        let mut tasks = Vec::new();
        // Resume stored channels: check each against L1 first (a close may have happened while
        // this daemon was down; a stale one is answered now).
        for record in inner.store.channels()? {
            if record.phase == Phase::Closed {
                continue;
            }
            let chan = Chan::new(Engine::new(
                record.clone(),
                inner.domain,
                inner.key.clone(),
                config.window,
            ));
            inner
                .channels
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(record.id, chan.clone());
            if let Err(e) = reconcile(&inner, &chan).await {
                warn!(channel = %record.id, "checking the channel on L1 failed: {e}");
            }
            if record.role == Role::A {
                tasks.push(tokio::spawn(dial_loop(inner.clone(), chan)));
            }
            info!(channel = %record.id, version = record.latest.state.version, "resumed channel");
        }
        tasks.push(tokio::spawn(accept_loop(inner.clone(), listener)));
        tasks.push(tokio::spawn(watch_loop(inner.clone())));
        let server = Server::builder()
            .build(config.rpc_listen)
            .await
            .map_err(|source| DaemonError::Io {
                what: format!("binding the control RPC on {}", config.rpc_listen),
                source,
            })?;
        let rpc_addr = server.local_addr().map_err(|source| DaemonError::Io {
            what: "reading the control RPC address".into(),
            source,
        })?;
        let rpc = server.start(rpc_module(inner.clone()));
        info!(address = %inner.key.address(), peer = %peer_addr, rpc = %rpc_addr, "channel daemon ready");
        Ok(Self {
            inner,
            rpc_addr,
            rpc,
            tasks,
        })
    }

    /// The address peers connect to.
    pub fn peer_addr(&self) -> SocketAddr {
        self.inner.peer_addr
    }

    /// The control JSON-RPC address.
    pub fn rpc_addr(&self) -> SocketAddr {
        self.rpc_addr
    }

    /// This party's account.
    pub fn address(&self) -> Address {
        self.inner.key.address()
    }

    /// Stops serving (the database stays as committed).
    pub async fn stop(self) {
        let _ = self.rpc.stop();
        for t in &self.tasks {
            t.abort();
        }
        let chans: Vec<Arc<Chan>> = self
            .inner
            .channels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for c in chans {
            c.conn_gen.fetch_add(1, Ordering::SeqCst);
            c.wake.notify_one();
        }
        self.rpc.stopped().await;
    }

    /// Waits until the control server stops.
    pub async fn stopped(&self) {
        self.rpc.clone().stopped().await
    }
}

/// Reads a channel's L1 record and brings the local one in line: deposits this side made that
/// no state accounts for, and a close that happened while the daemon was away.
async fn reconcile(inner: &Arc<Inner>, chan: &Arc<Chan>) -> Result<(), DaemonError> {
    let id = chan.record().id;
    let on_chain = inner.adjudicator.channel(&*inner.l1, id).await?;
    let mut fx = Effects::default();
    let stale_close;
    {
        let mut e = chan.engine();
        e.l1_deposits = (on_chain.deposited_a, on_chain.deposited_b);
        let latest = e.record().latest.state;
        let role = e.record().role;
        let (mine_l1, mine_state) = match role {
            Role::A => (on_chain.deposited_a, latest.deposited_a),
            Role::B => (on_chain.deposited_b, latest.deposited_b),
        };
        if e.record().phase == Phase::Open
            && on_chain.status == OnChainStatus::Open
            && mine_l1 > mine_state
        {
            e.funded(mine_l1 - mine_state);
        }
        stale_close = apply_status(
            &mut e,
            &on_chain.status,
            on_chain.version,
            on_chain.closes_at,
            &mut fx,
        );
        e.flush(&mut fx);
    }
    inner.store.commit(&fx.batch)?;
    finish(fx.done);
    if stale_close {
        answer_stale_close(inner, chan).await;
    }
    Ok(())
}

/// Sets the phase from an L1 status; returns whether a pending close is older than our state.
fn apply_status(
    e: &mut Engine,
    status: &OnChainStatus,
    version: u64,
    closes_at: u64,
    fx: &mut Effects,
) -> bool {
    let phase = match status {
        OnChainStatus::Closing => Phase::Closing,
        OnChainStatus::Closed => Phase::Closed,
        _ => return false,
    };
    let r = e.record_mut();
    let changed = r.phase != phase || r.closing_version != Some(version);
    r.phase = phase;
    if phase == Phase::Closing {
        r.closes_at = Some(closes_at);
        r.closing_version = Some(version);
    }
    let stale = phase == Phase::Closing && r.latest.state.version > version;
    if changed {
        fx.dirty = true;
        e.fail_all(fx, "the channel is closing on L1");
    }
    stale
}

/// Sets a channel's phase from its L1 status, durably, and fails the payments it ends; returns
/// whether a pending close is older than our newest state.
fn record_status(
    inner: &Inner,
    chan: &Chan,
    status: OnChainStatus,
    version: u64,
    closes_at: u64,
) -> Result<bool, StoreError> {
    let mut fx = Effects::default();
    let stale = {
        let mut e = chan.engine();
        let stale = apply_status(&mut e, &status, version, closes_at, &mut fx);
        e.flush(&mut fx);
        stale
    };
    inner.store.commit(&fx.batch)?;
    finish(fx.done);
    Ok(stale)
}

fn finish(done: Vec<(Local, Result<u64, Refusal>)>) {
    for (l, r) in done {
        l.finish(r);
    }
}

/// Challenges a pending close with this side's newer state.
async fn answer_stale_close(inner: &Arc<Inner>, chan: &Arc<Chan>) {
    let latest = chan.record().latest;
    let _l1 = inner.l1_lock.lock().await;
    match inner.adjudicator.challenge(&*inner.l1, &latest).await {
        Ok(r) => warn!(
            channel = %latest.state.channel_id,
            version = latest.state.version,
            tx = %r.transaction_hash,
            "answered a stale close with the newer state"
        ),
        Err(e) => warn!(channel = %latest.state.channel_id, "answering a stale close failed: {e}"),
    }
}

async fn accept_loop(inner: Arc<Inner>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, from)) => {
                let inner = inner.clone();
                tokio::spawn(async move {
                    if let Err(r) = incoming(inner, stream).await {
                        warn!(%from, code = r.code.name(), "refused a peer connection: {}", r.message);
                    }
                });
            }
            Err(e) => {
                warn!("accepting a peer connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A new incoming connection: its first frame must be a Hello for a channel of ours (a channel
/// we do not know yet is checked on L1: open, opened by the sender, towards us).
async fn incoming(inner: Arc<Inner>, mut stream: TcpStream) -> Result<(), Refusal> {
    let _ = stream.set_nodelay(true);
    let mut buf = Vec::with_capacity(4096);
    let first = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let (mut msgs, _) = split_frames(&buf);
            if let Some(m) = msgs.drain(..).next() {
                // Only the first frame is consumed here; frames behind it in the same read stay
                // in `buf` for the connection loop.
                let first = 4 + u32::from_be_bytes(
                    buf[..4].try_into().expect("a frame has 4 bytes of length"),
                ) as usize;
                buf.drain(..first.min(buf.len()));
                return m;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => {
                    return Err(Refusal::new(
                        Code::Malformed,
                        "connection closed before hello",
                    ));
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await
    .unwrap_or_else(|_| Err(Refusal::new(Code::Unexpected, "no hello within 10 s")));
    let refuse = |stream: &mut TcpStream, r: Refusal| {
        let mut out = Vec::new();
        Engine::error_msg(&r).encode_frame(&mut out);
        let _ = stream.try_write(&out);
        r
    };
    let hello = match first {
        Ok(Msg::Hello(h)) => h,
        Ok(other) => {
            return Err(refuse(
                &mut stream,
                Refusal::new(Code::Unexpected, format!("{} before hello", other.name())),
            ));
        }
        Err(r) => return Err(refuse(&mut stream, r)),
    };
    let known = inner
        .channels
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&hello.channel_id)
        .cloned();
    let chan = match known {
        Some(c) => {
            // A Hello this channel refuses must not disturb the live connection.
            let checked = c.engine().check_hello(&hello);
            if let Err(r) = checked {
                return Err(refuse(&mut stream, r));
            }
            c
        }
        None => {
            if hello.chain_id != inner.domain.chain_id
                || hello.adjudicator != inner.domain.adjudicator
            {
                return Err(refuse(
                    &mut stream,
                    Refusal::new(Code::WrongChannel, "another chain or adjudicator"),
                ));
            }
            let on_chain = inner
                .adjudicator
                .channel(&*inner.l1, hello.channel_id)
                .await
                .map_err(|e| {
                    refuse(
                        &mut stream,
                        Refusal::new(
                            Code::WrongChannel,
                            format!("reading the channel on L1: {e}"),
                        ),
                    )
                })?;
            if on_chain.status != OnChainStatus::Open
                || on_chain.a != hello.sender
                || on_chain.b != inner.key.address()
            {
                return Err(refuse(
                    &mut stream,
                    Refusal::new(
                        Code::WrongChannel,
                        format!(
                            "channel {} is not an open channel from {} to us",
                            hello.channel_id, hello.sender
                        ),
                    ),
                ));
            }
            let record = ChannelRecord {
                id: hello.channel_id,
                role: Role::B,
                a: on_chain.a,
                b: on_chain.b,
                token: on_chain.token,
                peer_addr: None,
                latest: SignedState::opening(ChannelState::opening(hello.channel_id)),
                phase: Phase::Open,
                closes_at: None,
                closing_version: None,
            };
            inner
                .store
                .commit(&WriteBatch {
                    records: vec![record.clone()],
                    log: Vec::new(),
                })
                .map_err(|e| Refusal::new(Code::Unexpected, e.to_string()))?;
            let mut engine =
                Engine::new(record, inner.domain, inner.key.clone(), inner.config.window);
            engine.l1_deposits = (on_chain.deposited_a, on_chain.deposited_b);
            if !on_chain.deposited_b.is_zero() {
                engine.funded(on_chain.deposited_b);
            }
            let chan = Chan::new(engine);
            let mut map = inner.channels.lock().unwrap_or_else(|p| p.into_inner());
            let chan = map.entry(hello.channel_id).or_insert(chan).clone();
            info!(channel = %hello.channel_id, peer = %hello.sender, "new channel from a peer");
            chan
        }
    };
    run_conn(inner, chan, stream, buf, Some(Msg::Hello(hello))).await;
    Ok(())
}

/// A: keeps a connection to the peer while the channel is open.
async fn dial_loop(inner: Arc<Inner>, chan: Arc<Chan>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let record = chan.record();
        if record.phase != Phase::Open {
            return;
        }
        let Some(addr) = record.peer_addr.clone() else {
            return;
        };
        match tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(&addr)).await {
            Ok(Ok(stream)) => {
                backoff = Duration::from_millis(100);
                run_conn(inner.clone(), chan.clone(), stream, Vec::new(), None).await;
            }
            Ok(Err(e)) => debug!(channel = %record.id, %addr, "peer unreachable: {e}"),
            Err(_) => debug!(channel = %record.id, %addr, "connecting to the peer timed out"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

/// Whether processing `msgs` needs fresh deposit totals from L1 (a top-up to check).
fn needs_deposits(msgs: &[Result<Msg, Refusal>]) -> bool {
    msgs.iter().any(|m| {
        matches!(
            m,
            Ok(Msg::Propose(p)) if matches!(p.update, Update::FundA { .. } | Update::FundB { .. })
        ) || matches!(m, Ok(Msg::Notice(n)) if n.kind == NOTICE_FUNDED)
    })
}

async fn run_conn(
    inner: Arc<Inner>,
    chan: Arc<Chan>,
    stream: TcpStream,
    mut buf: Vec<u8>,
    first: Option<Msg>,
) {
    let _ = stream.set_nodelay(true);
    let gen_ = chan.conn_gen.fetch_add(1, Ordering::SeqCst) + 1;
    let id = chan.record().id;
    let (mut rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        while let Some(mut out) = rx.recv().await {
            while let Ok(more) = rx.try_recv() {
                out.extend_from_slice(&more);
            }
            if wr.write_all(&out).await.is_err() {
                return;
            }
        }
        let _ = wr.shutdown().await;
    });
    {
        let mut out = Vec::new();
        chan.engine().hello().encode_frame(&mut out);
        let _ = tx.send(out);
    }
    chan.connected.store(true, Ordering::SeqCst);
    let mut pending_first = first.map(Ok);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let mut msgs = Vec::new();
        if let Some(m) = pending_first.take() {
            msgs.push(m);
        } else {
            tokio::select! {
                r = rd.read(&mut chunk) => match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                },
                _ = chan.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
        }
        let (more, used) = split_frames(&buf);
        buf.drain(..used.min(buf.len()));
        msgs.extend(more);
        if needs_deposits(&msgs)
            && let Ok(c) = inner.adjudicator.channel(&*inner.l1, id).await
        {
            chan.engine().l1_deposits = (c.deposited_a, c.deposited_b);
        }
        let heard = !msgs.is_empty();
        let mut fx = Effects::default();
        let mut refusal = None;
        let mut peer_error = false;
        {
            let mut e = chan.engine();
            if chan.conn_gen.load(Ordering::SeqCst) != gen_ {
                break;
            }
            for m in msgs {
                let res = match m {
                    Ok(m) => {
                        peer_error = matches!(m, Msg::Error(_));
                        debug!(channel = %id, msg = m.name(), "received");
                        e.on_msg(m, &inner.store, &mut fx)
                    }
                    Err(r) => Err(r),
                };
                if let Err(r) = res {
                    refusal = Some(r);
                    break;
                }
            }
            e.pump(&mut fx);
            e.flush(&mut fx);
        }
        if heard {
            *chan.last_progress.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
        }
        let dirty = !fx.batch.is_empty();
        if let Err(err) = inner.store.commit(&fx.batch) {
            // Nothing may be acknowledged that is not on disk: drop the connection; the peer
            // resends what we did not answer.
            warn!(channel = %id, "committing channel state failed: {err}");
            break;
        }
        finish(fx.done);
        if !fx.send.is_empty() {
            let mut out = Vec::with_capacity(fx.send.len() * 256);
            for m in &fx.send {
                m.encode_frame(&mut out);
            }
            let _ = tx.send(out);
        }
        if dirty {
            chan.changed.notify_waiters();
        }
        if let Some(r) = refusal {
            if peer_error {
                warn!(channel = %id, code = r.code.name(), "the peer closed the connection: {}", r.message);
            } else {
                warn!(channel = %id, code = r.code.name(), "refused a message from the peer: {}", r.message);
                let mut out = Vec::new();
                Engine::error_msg(&r).encode_frame(&mut out);
                let _ = tx.send(out);
            }
            break;
        }
    }
    {
        let mut e = chan.engine();
        if chan.conn_gen.load(Ordering::SeqCst) == gen_ {
            e.disconnected();
            chan.connected.store(false, Ordering::SeqCst);
        }
    }
    drop(tx);
    let _ = writer.await;
    debug!(channel = %id, "peer connection closed");
}

/// Follows the adjudicator's events, answers stale closes, closes on peer time-out, and hands
/// new states to the watchtower.
async fn watch_loop(inner: Arc<Inner>) {
    let mut next_block = inner.l1.block_number().await.unwrap_or(0);
    let tower = inner
        .config
        .watchtower
        .as_ref()
        .and_then(|url| url.parse().ok())
        .map(alloy::rpc::client::RpcClient::new_http);
    let mut last_push = Instant::now();
    loop {
        tokio::time::sleep(inner.config.poll_interval).await;
        if let Err(e) = watch_round(&inner, &mut next_block).await {
            debug!("reading the adjudicator's events failed: {e}");
        }
        let chans: Vec<Arc<Chan>> = inner
            .channels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for chan in &chans {
            peer_timeout_check(&inner, chan).await;
        }
        if let Some(tower) = &tower
            && last_push.elapsed() >= Duration::from_secs(1)
        {
            last_push = Instant::now();
            for chan in &chans {
                let r = chan.record();
                let v = r.latest.state.version;
                if r.phase == Phase::Closed || v == 0 || chan.pushed.load(Ordering::SeqCst) >= v {
                    continue;
                }
                match tower
                    .request::<_, Value>("tower_watch", (r.latest.clone(),))
                    .await
                {
                    Ok(_) => chan.pushed.store(v, Ordering::SeqCst),
                    // The tower holds this version already (e.g. after this daemon restarted).
                    Err(e)
                        if e.as_error_resp().is_some_and(|p| {
                            p.code == i64::from(crate::tower::tower_codes::NOT_NEWER)
                        }) =>
                    {
                        chan.pushed.store(v, Ordering::SeqCst)
                    }
                    Err(e) => {
                        debug!(channel = %r.id, "handing the state to the watchtower failed: {e}")
                    }
                }
            }
        }
    }
}

async fn watch_round(inner: &Arc<Inner>, next_block: &mut u64) -> Result<(), DaemonError> {
    let head = inner
        .l1
        .block_number()
        .await
        .map_err(AdjudicatorError::from)?;
    if head < *next_block {
        return Ok(());
    }
    let events = inner
        .adjudicator
        .events(&*inner.l1, *next_block, head)
        .await?;
    *next_block = head + 1;
    for ev in events {
        let Some(chan) = inner
            .channels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&ev.channel)
            .cloned()
        else {
            continue;
        };
        let mut fx = Effects::default();
        let mut stale = false;
        {
            let mut e = chan.engine();
            match ev.kind {
                ChannelEventKind::Funded {
                    deposited_a,
                    deposited_b,
                } => {
                    e.l1_deposits = (
                        deposited_a.max(e.l1_deposits.0),
                        deposited_b.max(e.l1_deposits.1),
                    );
                }
                ChannelEventKind::Closing {
                    closer,
                    version,
                    closes_at,
                } => {
                    stale =
                        apply_status(&mut e, &OnChainStatus::Closing, version, closes_at, &mut fx);
                    info!(channel = %ev.channel, %closer, version, closes_at, "unilateral close on L1");
                }
                ChannelEventKind::Challenged { version, .. } => {
                    let closes_at = e.record().closes_at.unwrap_or_default();
                    stale =
                        apply_status(&mut e, &OnChainStatus::Closing, version, closes_at, &mut fx);
                }
                ChannelEventKind::Settled {
                    payout_a,
                    payout_b,
                    penalty,
                } => {
                    apply_status(&mut e, &OnChainStatus::Closed, 0, 0, &mut fx);
                    info!(channel = %ev.channel, %payout_a, %payout_b, %penalty, "channel settled on L1");
                }
                ChannelEventKind::Opened { .. } => {}
            }
            e.flush(&mut fx);
        }
        inner.store.commit(&fx.batch)?;
        finish(fx.done);
        chan.changed.notify_waiters();
        if stale {
            answer_stale_close(inner, &chan).await;
        }
    }
    Ok(())
}

async fn peer_timeout_check(inner: &Arc<Inner>, chan: &Arc<Chan>) {
    let (outstanding, phase, id) = {
        let e = chan.engine();
        (e.outstanding(), e.record().phase, e.record().id)
    };
    let silent = {
        let mut last = chan.last_progress.lock().unwrap_or_else(|p| p.into_inner());
        if outstanding == 0 || phase != Phase::Open {
            *last = Instant::now();
            return;
        }
        let silent = last.elapsed();
        if silent < inner.config.peer_timeout {
            return;
        }
        *last = Instant::now();
        silent
    };
    warn!(
        channel = %id,
        outstanding,
        silent_secs = silent.as_secs(),
        "the peer left work unanswered past the time-out: closing unilaterally with the latest state"
    );
    if let Err(e) = force_close(inner, chan).await {
        warn!(channel = %id, "the unilateral close failed: {e}");
    }
}

async fn force_close(
    inner: &Arc<Inner>,
    chan: &Arc<Chan>,
) -> Result<TransactionReceipt, AdjudicatorError> {
    let latest = chan.record().latest;
    let receipt = {
        let _l1 = inner.l1_lock.lock().await;
        inner.adjudicator.force_close(&*inner.l1, &latest).await?
    };
    let on_chain = inner
        .adjudicator
        .channel(&*inner.l1, latest.state.channel_id)
        .await?;
    record_status(
        inner,
        chan,
        on_chain.status,
        on_chain.version,
        on_chain.closes_at,
    )
    .map_err(|e| AdjudicatorError::Decode(e.to_string()))?;
    Ok(receipt)
}

// ---------------------------------------------------------------------------------------------
// Control JSON-RPC (`docs/channels.md` §6).

/// Calls `method` with one parameter object on a daemon's control JSON-RPC (or a watchtower's) at
/// `url` (`http://host:port`); the error is the transport's or the server's, as text.
pub async fn control_call(url: &str, method: &str, params: Value) -> Result<Value, String> {
    let parsed = url.parse().map_err(|e| format!("invalid URL {url}: {e}"))?;
    alloy::rpc::client::RpcClient::new_http(parsed)
        .request::<_, Value>(method.to_string(), (params,))
        .await
        .map_err(|e| format!("{method} at {url}: {e}"))
}

/// Stable error codes of the control RPC.
pub mod rpc_codes {
    /// Parameters missing or malformed.
    pub const INVALID_PARAMS: i32 = -32602;
    /// No such channel (or several, and none named).
    pub const UNKNOWN_CHANNEL: i32 = -33001;
    /// The channel is not in a phase that allows this.
    pub const WRONG_PHASE: i32 = -33002;
    /// L1 refused or failed.
    pub const L1: i32 = -33003;
    /// The daemon's database failed.
    pub const STORAGE: i32 = -33004;
    /// Waited too long (for the peer, for a close).
    pub const TIMEOUT: i32 = -33005;
}

fn rpc_err(code: i32, msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, msg.into(), None::<()>)
}

fn l1_err(e: AdjudicatorError) -> ErrorObjectOwned {
    rpc_err(rpc_codes::L1, e.to_string())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OpenParams {
    peer: String,
    counterparty: Address,
    amount: U256,
    #[serde(default)]
    token: Address,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ChannelParam {
    #[serde(default)]
    channel: Option<B256>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PayParams {
    #[serde(default)]
    channel: Option<B256>,
    amount: U256,
    #[serde(default)]
    count: Option<u64>,
    #[serde(default)]
    first_id: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FundParams {
    #[serde(default)]
    channel: Option<B256>,
    amount: U256,
}

/// What `channel_pay` reports.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PayReport {
    /// Payments asked for.
    pub requested: u64,
    /// Payments settled by this call.
    pub paid: u64,
    /// Payment ids already settled before (a retried call): skipped, not paid twice.
    pub already_paid: u64,
    /// Payments refused.
    pub failed: u64,
    /// The first refusal, if any.
    pub first_error: Option<String>,
    /// The channel's newest fully signed version afterwards.
    pub version: u64,
    /// This side's balance afterwards.
    pub balance: U256,
    /// The peer's balance afterwards.
    pub peer_balance: U256,
    /// Wall time of the call.
    pub elapsed_ms: f64,
    /// Settled payments per second over the call.
    pub per_second: f64,
    /// Latency percentiles (submission to durable, fully signed state), microseconds.
    pub latency_p50_us: u64,
    /// 99th percentile.
    pub latency_p99_us: u64,
    /// Largest.
    pub latency_max_us: u64,
}

/// What `channel_status` reports per channel.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChannelStatus {
    /// Channel id.
    pub channel: B256,
    /// This side.
    pub role: Role,
    /// This party.
    pub me: Address,
    /// The counterparty.
    pub peer: Address,
    /// Token (zero for ETH).
    pub token: Address,
    /// L1 phase.
    pub phase: Phase,
    /// Newest fully signed version.
    pub version: u64,
    /// This side's balance in it.
    pub balance: U256,
    /// The peer's balance in it.
    pub peer_balance: U256,
    /// This side's deposits it accounts for.
    pub deposited: U256,
    /// The peer's deposits it accounts for.
    pub peer_deposited: U256,
    /// Whether a peer connection is up.
    pub connected: bool,
    /// Payments or requests queued or in flight.
    pub outstanding: usize,
    /// Whether the newest state is the final one (cooperative close).
    pub is_final: bool,
    /// End of the dispute window while closing.
    pub closes_at: Option<u64>,
    /// Version recorded on L1 while closing.
    pub closing_version: Option<u64>,
}

fn status_of(chan: &Chan) -> ChannelStatus {
    let e = chan.engine();
    let r = e.record();
    let s = r.latest.state;
    let (balance, peer_balance, deposited, peer_deposited) = match r.role {
        Role::A => (s.balance_a, s.balance_b, s.deposited_a, s.deposited_b),
        Role::B => (s.balance_b, s.balance_a, s.deposited_b, s.deposited_a),
    };
    ChannelStatus {
        channel: r.id,
        role: r.role,
        me: r.me(),
        peer: r.peer(),
        token: r.token,
        phase: r.phase,
        version: s.version,
        balance,
        peer_balance,
        deposited,
        peer_deposited,
        connected: chan.connected.load(Ordering::SeqCst),
        outstanding: e.outstanding(),
        is_final: s.is_final,
        closes_at: r.closes_at,
        closing_version: r.closing_version,
    }
}

fn pick(inner: &Inner, channel: Option<B256>) -> Result<Arc<Chan>, ErrorObjectOwned> {
    let map = inner.channels.lock().unwrap_or_else(|p| p.into_inner());
    match channel {
        Some(id) => map
            .get(&id)
            .cloned()
            .ok_or_else(|| rpc_err(rpc_codes::UNKNOWN_CHANNEL, format!("no channel {id}"))),
        None => {
            let mut live = map.values().filter(|c| c.record().phase != Phase::Closed);
            match (live.next(), live.next()) {
                (Some(c), None) => Ok(c.clone()),
                (None, _) => Err(rpc_err(rpc_codes::UNKNOWN_CHANNEL, "no channel")),
                _ => Err(rpc_err(
                    rpc_codes::UNKNOWN_CHANNEL,
                    "several channels: name one",
                )),
            }
        }
    }
}

fn params<T: serde::de::DeserializeOwned + Default>(
    p: jsonrpsee::types::Params<'_>,
) -> Result<T, ErrorObjectOwned> {
    if p.as_str().is_none() {
        return Ok(T::default());
    }
    p.one::<T>()
        .or_else(|_| p.parse::<T>())
        .map_err(|e| rpc_err(rpc_codes::INVALID_PARAMS, e.message().to_string()))
}

fn params_req<T: serde::de::DeserializeOwned>(
    p: jsonrpsee::types::Params<'_>,
) -> Result<T, ErrorObjectOwned> {
    p.one::<T>()
        .or_else(|_| p.parse::<T>())
        .map_err(|e| rpc_err(rpc_codes::INVALID_PARAMS, e.message().to_string()))
}

/// What the receipts' transactions cost their sender, in wei.
fn fees(receipts: &[TransactionReceipt]) -> U256 {
    receipts
        .iter()
        .map(|r| U256::from(r.gas_used) * U256::from(r.effective_gas_price))
        .sum()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Waits until `done` holds for the channel, or the time runs out.
async fn wait_for(chan: &Chan, within: Duration, done: impl Fn(&ChannelRecord) -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        let notified = chan.changed.notified();
        if done(&chan.record()) {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), notified).await;
    }
}

fn rpc_module(inner: Arc<Inner>) -> RpcModule<Arc<Inner>> {
    let mut m = RpcModule::new(inner);
    m.register_method("channel_info", |_, inner, _| {
        json!({
            "address": inner.key.address(),
            "peerListen": inner.peer_addr.to_string(),
            "chainId": inner.domain.chain_id,
            "adjudicator": inner.domain.adjudicator,
        })
    })
    .expect("unique method name");
    m.register_method(
        "channel_status",
        |p, inner, _| -> Result<Value, ErrorObjectOwned> {
            let ChannelParam { channel } = params(p)?;
            let map = inner.channels.lock().unwrap_or_else(|p| p.into_inner());
            let mut all: Vec<ChannelStatus> = map
                .values()
                .map(|c| status_of(c))
                .filter(|s| channel.is_none_or(|id| id == s.channel))
                .collect();
            all.sort_by_key(|s| s.channel);
            Ok(serde_json::to_value(all).expect("serializable"))
        },
    )
    .expect("unique method name");
    m.register_method(
        "channel_state",
        |p, inner, _| -> Result<SignedState, ErrorObjectOwned> {
            let ChannelParam { channel } = params(p)?;
            Ok(pick(inner, channel)?.record().latest)
        },
    )
    .expect("unique method name");
    m.register_async_method("channel_open", |p, inner, _| async move {
        let o: OpenParams = params_req(p)?;
        if o.counterparty == inner.key.address() || o.counterparty.is_zero() {
            return Err(rpc_err(
                rpc_codes::INVALID_PARAMS,
                "the counterparty must be another account",
            ));
        }
        let (id, receipts) = {
            let _l1 = inner.l1_lock.lock().await;
            inner
                .adjudicator
                .open(&*inner.l1, o.counterparty, o.token, o.amount)
                .await
                .map_err(l1_err)?
        };
        let record = ChannelRecord {
            id,
            role: Role::A,
            a: inner.key.address(),
            b: o.counterparty,
            token: o.token,
            peer_addr: Some(o.peer.clone()),
            latest: SignedState::opening(ChannelState::opening(id)),
            phase: Phase::Open,
            closes_at: None,
            closing_version: None,
        };
        inner
            .store
            .commit(&WriteBatch {
                records: vec![record.clone()],
                log: Vec::new(),
            })
            .map_err(|e| rpc_err(rpc_codes::STORAGE, e.to_string()))?;
        let mut engine = Engine::new(record, inner.domain, inner.key.clone(), inner.config.window);
        engine.l1_deposits = (o.amount, U256::ZERO);
        if !o.amount.is_zero() {
            engine.funded(o.amount);
        }
        let chan = Chan::new(engine);
        inner
            .channels
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, chan.clone());
        tokio::spawn(dial_loop((*inner).clone(), chan.clone()));
        info!(channel = %id, peer = %o.peer, amount = %o.amount, "opened a channel");
        // Wait until the peer has signed the state holding the deposit.
        let amount = o.amount;
        let ready = wait_for(&chan, Duration::from_secs(30), |r| {
            r.latest.state.deposited_a >= amount
        })
        .await;
        let gas: u64 = receipts.iter().map(|r| r.gas_used).sum();
        Ok::<Value, ErrorObjectOwned>(json!({
            "channel": id,
            "tx": receipts.last().map(|r| r.transaction_hash),
            "gasUsed": gas,
            "feeWei": fees(&receipts),
            "ready": ready,
            "status": status_of(&chan),
        }))
    })
    .expect("unique method name");
    m.register_async_method("channel_fund", |p, inner, _| async move {
        let f: FundParams = params_req(p)?;
        let chan = pick(&inner, f.channel)?;
        let r = chan.record();
        if r.phase != Phase::Open {
            return Err(rpc_err(rpc_codes::WRONG_PHASE, "the channel is not open"));
        }
        let receipts = {
            let _l1 = inner.l1_lock.lock().await;
            inner
                .adjudicator
                .fund(&*inner.l1, r.id, r.token, f.amount)
                .await
                .map_err(l1_err)?
        };
        let on_chain = inner
            .adjudicator
            .channel(&*inner.l1, r.id)
            .await
            .map_err(l1_err)?;
        let mine_before = match r.role {
            Role::A => r.latest.state.deposited_a,
            Role::B => r.latest.state.deposited_b,
        };
        {
            let mut e = chan.engine();
            e.l1_deposits = (on_chain.deposited_a, on_chain.deposited_b);
            e.funded(f.amount);
        }
        chan.wake.notify_one();
        let target = mine_before + f.amount;
        let role = r.role;
        let ready = wait_for(&chan, Duration::from_secs(30), |r| match role {
            Role::A => r.latest.state.deposited_a >= target,
            Role::B => r.latest.state.deposited_b >= target,
        })
        .await;
        Ok::<Value, ErrorObjectOwned>(json!({
            "tx": receipts.last().map(|r| r.transaction_hash),
            "gasUsed": receipts.iter().map(|r| r.gas_used).sum::<u64>(),
            "feeWei": fees(&receipts),
            "ready": ready,
            "status": status_of(&chan),
        }))
    })
    .expect("unique method name");
    m.register_async_method("channel_pay", |p, inner, _| async move {
        let pp: PayParams = params_req(p)?;
        let chan = pick(&inner, pp.channel)?;
        let count = pp.count.unwrap_or(1);
        if count == 0 || count > 10_000_000 {
            return Err(rpc_err(
                rpc_codes::INVALID_PARAMS,
                "count must be between 1 and 10,000,000",
            ));
        }
        if pp.amount.is_zero() {
            return Err(rpc_err(
                rpc_codes::INVALID_PARAMS,
                "amount must be positive",
            ));
        }
        let first = pp
            .first_id
            .unwrap_or_else(|| inner.next_id.fetch_add(count, Ordering::SeqCst));
        let started = Instant::now();
        let (tx, mut rx) = mpsc::unbounded_channel::<Outcome>();
        let mut already = 0u64;
        let mut submitted = 0u64;
        {
            let mut e = chan.engine();
            let role = e.record().role;
            let id = e.record().id;
            for pid in first..first.saturating_add(count) {
                let settled = inner
                    .store
                    .paid(&id, role, pid)
                    .map_err(|e| rpc_err(rpc_codes::STORAGE, e.to_string()))?;
                if settled.is_some() {
                    already += 1;
                    continue;
                }
                e.submit(Local {
                    id: pid,
                    amount: pp.amount,
                    submitted: started,
                    reply: Some(tx.clone()),
                });
                submitted += 1;
            }
        }
        drop(tx);
        chan.wake.notify_one();
        let mut latencies = Vec::with_capacity(submitted as usize);
        let mut failed = 0u64;
        let mut first_error = None;
        while let Some(o) = rx.recv().await {
            match o.result {
                Ok(_) => latencies.push(o.latency_us),
                Err(r) => {
                    failed += 1;
                    first_error.get_or_insert_with(|| r.to_string());
                }
            }
        }
        let elapsed = started.elapsed();
        // Per-payment latency: from when each payment entered the pipeline (the window), so a
        // long call does not count queueing behind its own earlier payments.
        let st = status_of(&chan);
        latencies.sort_unstable();
        let paid = latencies.len() as u64;
        let report = PayReport {
            requested: count,
            paid,
            already_paid: already,
            failed,
            first_error,
            version: st.version,
            balance: st.balance,
            peer_balance: st.peer_balance,
            elapsed_ms: elapsed.as_secs_f64() * 1e3,
            per_second: paid as f64 / elapsed.as_secs_f64().max(1e-9),
            latency_p50_us: percentile(&latencies, 0.50),
            latency_p99_us: percentile(&latencies, 0.99),
            latency_max_us: latencies.last().copied().unwrap_or(0),
        };
        Ok::<PayReport, ErrorObjectOwned>(report)
    })
    .expect("unique method name");
    m.register_async_method("channel_close", |p, inner, _| async move {
        let ChannelParam { channel } = params(p)?;
        let chan = pick(&inner, channel)?;
        if chan.record().phase != Phase::Open {
            return Err(rpc_err(rpc_codes::WRONG_PHASE, "the channel is not open"));
        }
        chan.engine().request_close();
        chan.wake.notify_one();
        let ok = wait_for(&chan, Duration::from_secs(60), |r| {
            r.latest.state.is_final || r.phase != Phase::Open
        })
        .await;
        let r = chan.record();
        if r.phase == Phase::Closing {
            return Err(rpc_err(
                rpc_codes::WRONG_PHASE,
                "a unilateral close is pending on L1: wait for its window and use channel_settle",
            ));
        }
        if !ok || !r.latest.state.is_final {
            return Err(rpc_err(
                rpc_codes::TIMEOUT,
                "the peer did not sign a final state; use channel_forceClose",
            ));
        }
        let receipt = if r.phase == Phase::Open {
            let _l1 = inner.l1_lock.lock().await;
            match inner
                .adjudicator
                .cooperative_close(&*inner.l1, &r.latest)
                .await
            {
                Ok(receipt) => Some(receipt),
                // The peer submitted the same final state first.
                Err(e)
                    if matches!(
                        e.revert(),
                        Some(crate::adjudicator::Adjudicator::AdjudicatorErrors::WrongStatus(_))
                    ) =>
                {
                    None
                }
                Err(e) => return Err(l1_err(e)),
            }
        } else {
            None
        };
        record_status(&inner, &chan, OnChainStatus::Closed, 0, 0)
            .map_err(|e| rpc_err(rpc_codes::STORAGE, e.to_string()))?;
        let s = r.latest.state;
        Ok::<Value, ErrorObjectOwned>(json!({
            "channel": r.id,
            "version": s.version,
            "payoutA": s.balance_a,
            "payoutB": s.balance_b,
            "tx": receipt.as_ref().map(|r| r.transaction_hash),
            "gasUsed": receipt.as_ref().map(|r| r.gas_used),
            "feeWei": fees(receipt.as_slice()),
        }))
    })
    .expect("unique method name");
    m.register_async_method("channel_forceClose", |p, inner, _| async move {
        let ChannelParam { channel } = params(p)?;
        let chan = pick(&inner, channel)?;
        if chan.record().phase != Phase::Open {
            return Err(rpc_err(rpc_codes::WRONG_PHASE, "the channel is not open"));
        }
        let receipt = force_close(&inner, &chan).await.map_err(l1_err)?;
        let r = chan.record();
        Ok::<Value, ErrorObjectOwned>(json!({
            "channel": r.id,
            "version": r.latest.state.version,
            "closesAt": r.closes_at,
            "tx": receipt.transaction_hash,
            "gasUsed": receipt.gas_used,
            "feeWei": fees(std::slice::from_ref(&receipt)),
        }))
    })
    .expect("unique method name");
    m.register_async_method("channel_settle", |p, inner, _| async move {
        let ChannelParam { channel } = params(p)?;
        let chan = pick(&inner, channel)?;
        let r = chan.record();
        if r.phase != Phase::Closing {
            return Err(rpc_err(
                rpc_codes::WRONG_PHASE,
                "the channel is not closing",
            ));
        }
        let receipt = {
            let _l1 = inner.l1_lock.lock().await;
            inner
                .adjudicator
                .settle(&*inner.l1, r.id)
                .await
                .map_err(l1_err)?
        };
        let settled = receipt.inner.logs().iter().find_map(|l| {
            crate::adjudicator::Adjudicator::ChannelSettled::decode_log(&l.inner).ok()
        });
        record_status(&inner, &chan, OnChainStatus::Closed, 0, 0)
            .map_err(|e| rpc_err(rpc_codes::STORAGE, e.to_string()))?;
        Ok::<Value, ErrorObjectOwned>(json!({
            "channel": r.id,
            "tx": receipt.transaction_hash,
            "gasUsed": receipt.gas_used,
            "feeWei": fees(std::slice::from_ref(&receipt)),
            "payoutA": settled.as_ref().map(|s| s.payoutA),
            "payoutB": settled.as_ref().map(|s| s.payoutB),
            "penalty": settled.as_ref().map(|s| s.penalty),
        }))
    })
    .expect("unique method name");
    m
}

use alloy::sol_types::SolEvent as _;
