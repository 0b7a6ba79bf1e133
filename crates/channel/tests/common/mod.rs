//! A test world: the embedded L1 in this process, an adjudicator, and channel daemons that talk
//! over real loopback sockets with their databases on disk.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use loft_channel::daemon::{Daemon, DaemonConfig};
use loft_channel::{AdjudicatorAt, ChannelKey};
use loft_config::ChainConfig;
use loft_l1::L1Client;
use loft_l1_embedded::{DevChain, DevChainConfig, EmbeddedL1};
use serde_json::{Value, json};

pub const DISPUTE_WINDOW: u64 = 3_600;
pub const PENALTY_BPS: u16 = 1_000;

pub fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}

pub fn gwei(n: u64) -> U256 {
    U256::from(n) * U256::from(1_000_000_000u64)
}

pub struct World {
    pub chain: DevChain,
    pub keys: Vec<PrivateKeySigner>,
    pub adjudicator: Address,
    pub dir: tempfile::TempDir,
}

impl World {
    pub async fn new() -> Self {
        let config = ChainConfig::devnet();
        let dev = DevChainConfig::from_chain_config(&config, None).expect("dev chain config");
        let keys = dev.dev_keys.clone();
        let chain = DevChain::open(dev).expect("embedded L1");
        let deployer = EmbeddedL1::new(chain.clone(), keys[0].clone());
        let adjudicator = loft_channel::deploy(&deployer, DISPUTE_WINDOW, PENALTY_BPS)
            .await
            .expect("deploy the adjudicator");
        Self {
            chain,
            keys,
            adjudicator,
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn l1(&self, account: usize) -> Arc<dyn L1Client> {
        Arc::new(EmbeddedL1::new(
            self.chain.clone(),
            self.keys[account].clone(),
        ))
    }

    pub fn key(&self, account: usize) -> ChannelKey {
        ChannelKey::from_bytes(&self.keys[account].to_bytes()).expect("valid key")
    }

    pub fn adj(&self) -> AdjudicatorAt {
        AdjudicatorAt {
            address: self.adjudicator,
        }
    }

    pub fn config(&self, name: &str) -> DaemonConfig {
        let mut c = DaemonConfig::new(self.dir.path().join(name));
        c.poll_interval = Duration::from_millis(50);
        c
    }

    pub async fn daemon(&self, account: usize, config: DaemonConfig) -> Daemon {
        Daemon::start(
            self.key(account),
            self.l1(account),
            self.adjudicator,
            config,
        )
        .await
        .expect("start the daemon")
    }

    pub async fn balance(&self, who: Address) -> U256 {
        self.l1(0).balance(who).await.expect("balance")
    }
}

pub async fn rpc(d: &Daemon, method: &str, params: Value) -> Result<Value, String> {
    loft_channel::daemon::control_call(&format!("http://{}", d.rpc_addr()), method, params).await
}

pub async fn open(a: &Daemon, b: &Daemon, amount: U256) -> B256 {
    let r = rpc(
        a,
        "channel_open",
        json!({"peer": b.peer_addr().to_string(), "counterparty": b.address(), "amount": amount}),
    )
    .await
    .expect("open");
    assert_eq!(
        r["ready"],
        json!(true),
        "the peer signed the opening deposit: {r}"
    );
    serde_json::from_value(r["channel"].clone()).expect("channel id")
}

pub fn u(v: &Value) -> U256 {
    serde_json::from_value(v.clone()).expect("a U256")
}

// ---------------------------------------------------------------------------------------------
// Logs: what the daemons under test logged, per test.

/// One event a daemon logged: its level, target and fields (the text under `message`).
#[derive(Debug, Clone)]
pub struct LogEvent {
    pub level: tracing::Level,
    pub target: String,
    pub fields: std::collections::BTreeMap<String, String>,
}

impl LogEvent {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
}

/// The `loft*` events logged on the threads of one test's runtime (see [`run_logged`]), so tests
/// running in parallel in one process do not see each other's.
#[derive(Debug, Clone, Default)]
pub struct Logs(Arc<std::sync::Mutex<Vec<LogEvent>>>);

impl Logs {
    /// How many events were logged so far (a mark for [`Logs::since`]).
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The events logged after `mark`.
    pub fn since(&self, mark: usize) -> Vec<LogEvent> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())[mark..].to_vec()
    }

    /// Waits up to `within` for an event after `mark` that `pred` picks.
    pub async fn wait_for(
        &self,
        mark: usize,
        within: Duration,
        pred: impl Fn(&LogEvent) -> bool,
    ) -> Option<LogEvent> {
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Some(e) = self.since(mark).into_iter().find(|e| pred(e)) {
                return Some(e);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

struct Collector(Logs);

struct FieldsVisitor<'a>(&'a mut std::collections::BTreeMap<String, String>);

impl tracing::field::Visit for FieldsVisitor<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl tracing::Subscriber for Collector {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target().starts_with("loft")
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = std::collections::BTreeMap::new();
        event.record(&mut FieldsVisitor(&mut fields));
        let e = LogEvent {
            level: *event.metadata().level(),
            target: event.metadata().target().to_string(),
            fields,
        };
        (self.0).0.lock().unwrap_or_else(|p| p.into_inner()).push(e);
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

/// Runs `test` on a multi-threaded runtime of its own (two workers) whose threads log into the
/// [`Logs`] it is given.
pub fn run_logged<F, Fut>(test: F)
where
    F: FnOnce(Logs) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let logs = Logs::default();
    let dispatch = tracing::Dispatch::new(Collector(logs.clone()));
    let for_workers = dispatch.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(move || {
            // The runtime's threads end with it; the guard may live as long.
            std::mem::forget(tracing::dispatcher::set_default(&for_workers));
        })
        .build()
        .expect("a tokio runtime");
    let _guard = tracing::dispatcher::set_default(&dispatch);
    runtime.block_on(test(logs));
}
