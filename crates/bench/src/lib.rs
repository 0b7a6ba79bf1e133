//! loft's own benchmarks. Every figure is measured next to its alternative in the same run.
//!
//! [`l1_throughput`]: the same pre-signed L1 deposits sent over JSON-RPC to the embedded L1 and to
//! a fresh anvil, plus the embedded L1 without the HTTP layer.

mod channels;
pub mod chart;
mod eth;
pub mod fraud_gas;
pub mod load;
mod rollup;
mod zk;

pub use channels::{ChannelBenchOptions, ChannelBenchReport, channel_payments};
pub use eth::{EthBenchOptions, EthBenchReport, eth_profile};
pub use rollup::{RollupBenchOptions, RollupBenchReport, rollup_batch};
pub use zk::{ZkBenchOptions, ZkBenchReport, zk_batch};

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use loft_config::ChainConfig;
use loft_contracts::{DeployOptions, L1Bridge, deploy};
use loft_l1_embedded::{DevChain, DevChainConfig, EmbeddedL1};
use loft_l1_rpc::{RpcL1, RpcL1Config};
use serde::Serialize;

/// Errors of a benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Setting up a backend failed.
    #[error("setting up {backend}: {reason}")]
    Setup {
        /// Which backend.
        backend: &'static str,
        /// What failed.
        reason: String,
    },
    /// A transaction of the workload failed: the figures would be meaningless.
    #[error("{backend}: transaction {index} failed: {reason}")]
    Workload {
        /// Which backend.
        backend: &'static str,
        /// Position in the workload.
        index: usize,
        /// What failed.
        reason: String,
    },
}

/// Starts a loft node for a benchmark on `l1` with its database in a fresh temporary folder
/// (returned: the node's data lives as long as it), JSON-RPC on a free loopback port.
pub(crate) async fn start_node(
    config: &ChainConfig,
    deployment: &loft_contracts::Deployment,
    l1: std::sync::Arc<dyn loft_l1::L1Client>,
    post_batches: bool,
) -> Result<(loft_node::Node, tempfile::TempDir), BenchError> {
    let setup = |reason: String| BenchError::Setup {
        backend: "loft",
        reason,
    };
    let dir = tempfile::tempdir().map_err(|e| setup(e.to_string()))?;
    let node = loft_node::Node::start(
        loft_node::NodeConfig {
            chain: config.clone(),
            deployment: deployment.clone(),
            data_dir: dir.path().to_path_buf(),
            rpc_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            post_batches,
        },
        l1,
    )
    .await
    .map_err(|e| setup(e.to_string()))?;
    Ok((node, dir))
}

/// A fresh verifier (its own temporary database, nothing shared with the sequencer but `l1`)
/// replays every batch posted so far; an error unless it found no fraud and ends on the state
/// root of `node`'s sequencer head.
pub(crate) async fn verify_from_l1(
    config: &ChainConfig,
    deployment: &loft_contracts::Deployment,
    l1: std::sync::Arc<dyn loft_l1::L1Client>,
    node: &loft_node::Node,
) -> Result<loft_derive::SyncReport, BenchError> {
    let setup = |reason: String| BenchError::Setup {
        backend: "loft",
        reason,
    };
    let dir = tempfile::tempdir().map_err(|e| setup(e.to_string()))?;
    let mut verifier = loft_derive::Verifier::open(
        &dir.path().join("verifier.redb"),
        l1,
        deployment.clone(),
        loft_node::chain_params(config),
    )
    .map_err(|e| setup(e.to_string()))?;
    let sync = verifier.sync().await.map_err(|e| setup(e.to_string()))?;
    if verifier.fraud_at().is_some()
        || verifier.state_root() != node.shared.sequencer().head().header.state_root
    {
        return Err(setup(format!(
            "the verifier disagrees with the sequencer: {:?}",
            verifier
                .checked()
                .iter()
                .map(|b| &b.verdict)
                .collect::<Vec<_>>()
        )));
    }
    Ok(sync)
}

/// Waits for `hash`'s receipt on `l1` (polling, at most two minutes).
pub(crate) async fn wait_receipt(
    l1: &dyn loft_l1::L1Client,
    hash: B256,
    backend: &'static str,
) -> Result<alloy::rpc::types::TransactionReceipt, BenchError> {
    let started = Instant::now();
    loop {
        let found = l1.receipt(hash).await.map_err(|e| BenchError::Setup {
            backend,
            reason: e.to_string(),
        })?;
        if let Some(r) = found {
            return Ok(r);
        }
        if started.elapsed() > Duration::from_secs(120) {
            return Err(BenchError::Setup {
                backend,
                reason: format!("no receipt for {hash} after 120 s"),
            });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Options of [`l1_throughput`].
#[derive(Debug, Clone)]
pub struct L1ThroughputOptions {
    /// Number of deposits.
    pub txs: usize,
    /// Number of sending accounts (dev accounts 1..=senders), each sending its deposits in order.
    pub senders: u32,
    /// The anvil binary to compare against.
    pub anvil: PathBuf,
}

/// One backend's result.
#[derive(Debug, Clone, Serialize)]
pub struct BackendResult {
    /// Backend name.
    pub backend: String,
    /// Deposits sent.
    pub txs: usize,
    /// Seconds from the first send to the last receipt.
    pub seconds: f64,
    /// Deposits per second.
    pub tx_per_sec: f64,
    /// Total gas of all deposits.
    pub total_gas: u64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct L1ThroughputReport {
    /// What was measured.
    pub workload: String,
    /// Results, embedded first.
    pub results: Vec<BackendResult>,
    /// Embedded L1 over JSON-RPC throughput divided by anvil's.
    pub embedded_over_anvil: f64,
}

const CHAIN_ID: u64 = 31337;

/// Signs the workload: `txs` deposits of 1 gwei to the bridge, round-robin over the senders.
fn sign_workload(
    bridge: Address,
    keys: &[PrivateKeySigner],
    txs: usize,
) -> Vec<(usize, Bytes, B256)> {
    let mut nonces = vec![0u64; keys.len()];
    (0..txs)
        .map(|i| {
            let s = i % keys.len();
            let key = &keys[s];
            let mut tx = TxEip1559 {
                chain_id: CHAIN_ID,
                nonce: nonces[s],
                gas_limit: 150_000,
                max_fee_per_gas: 200_000_000_000,
                max_priority_fee_per_gas: 1_000_000_000,
                to: TxKind::Call(bridge),
                value: U256::from(1_000_000_000u64),
                input: L1Bridge::depositETHCall {
                    l2Recipient: key.address(),
                }
                .abi_encode()
                .into(),
                ..Default::default()
            };
            nonces[s] += 1;
            let sig = key
                .sign_transaction_sync(&mut tx)
                .expect("local signing cannot fail");
            let envelope = TxEnvelope::from(tx.into_signed(sig));
            (s, envelope.encoded_2718().into(), *envelope.tx_hash())
        })
        .collect()
}

/// Sends the workload over JSON-RPC (one task per sender, each in nonce order), then collects every
/// receipt.
async fn run_over_rpc(
    backend: &'static str,
    url: &str,
    workload: &[(usize, Bytes, B256)],
    senders: usize,
) -> Result<BackendResult, BenchError> {
    let setup = |reason: String| BenchError::Setup { backend, reason };
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect(url)
        .await
        .map_err(|e| setup(e.to_string()))?;
    let started = Instant::now();
    let sent = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let total = workload.len();
    let mut tasks = Vec::new();
    for s in 0..senders {
        let sent = sent.clone();
        let mine: Vec<(usize, Bytes)> = workload
            .iter()
            .enumerate()
            .filter(|(_, w)| w.0 == s)
            .map(|(i, w)| (i, w.1.clone()))
            .collect();
        let provider = provider.clone();
        tasks.push(tokio::spawn(async move {
            for (index, raw) in mine {
                // Receipts are collected after all sends; the pending handle is not needed. A
                // dropped connection is retried: resending the same signed bytes is idempotent.
                let mut attempts = 0;
                loop {
                    match provider.send_raw_transaction(&raw).await {
                        Ok(_pending) => {
                            let n = sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                            if n.is_multiple_of((total / 10).max(1)) {
                                tracing::info!(target: "loft::bench", backend, sent = n, total, elapsed_ms = started.elapsed().as_millis() as u64, "sending");
                            }
                            break;
                        }
                        Err(e) if e.to_string().contains("already known") => break,
                        Err(e) if e.is_transport_error() && attempts < 5 => {
                            attempts += 1;
                            tracing::warn!(target: "loft::bench", backend, index, error = %e, "send failed, retrying");
                        }
                        Err(e) => return Err(BenchError::Workload { backend, index, reason: e.to_string() }),
                    }
                }
            }
            Ok::<_, BenchError>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| setup(e.to_string()))??;
    }
    tracing::info!(target: "loft::bench", backend, elapsed_ms = started.elapsed().as_millis() as u64, "all sent, collecting receipts");
    let mut total_gas = 0;
    for (index, (_, _, hash)) in workload.iter().enumerate() {
        let waiting = Instant::now();
        let receipt = loop {
            match provider.get_transaction_receipt(*hash).await {
                Ok(Some(r)) => break r,
                Ok(None) if waiting.elapsed() > Duration::from_secs(60) => {
                    return Err(BenchError::Workload {
                        backend,
                        index,
                        reason: format!("no receipt for {hash} after 60 s"),
                    });
                }
                Ok(None) => tokio::time::sleep(Duration::from_millis(1)).await,
                Err(e) => {
                    return Err(BenchError::Workload {
                        backend,
                        index,
                        reason: e.to_string(),
                    });
                }
            }
        };
        if !receipt.status() {
            return Err(BenchError::Workload {
                backend,
                index,
                reason: "reverted".into(),
            });
        }
        total_gas += receipt.gas_used;
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(BackendResult {
        backend: backend.into(),
        txs: workload.len(),
        seconds,
        tx_per_sec: workload.len() as f64 / seconds,
        total_gas,
    })
}

struct AnvilProcess {
    child: Child,
    url: String,
    /// The mining mode it runs with, as its flags.
    mode: String,
    _home: tempfile::TempDir,
}

impl Drop for AnvilProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a fresh anvil with `mining` flags (none: a block per transaction as it arrives).
async fn start_anvil(bin: &Path, mining: &[&str]) -> Result<AnvilProcess, BenchError> {
    let setup = |reason: String| BenchError::Setup {
        backend: "anvil",
        reason,
    };
    let home = tempfile::tempdir().map_err(|e| setup(e.to_string()))?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| setup(e.to_string()))?
        .port();
    let child = Command::new(bin)
        .args([
            "--port",
            &port.to_string(),
            "--chain-id",
            &CHAIN_ID.to_string(),
            "--hardfork",
            "osaka",
            "--silent",
        ])
        // No state snapshots on disk (anvil's default writes them and slows down badly); the
        // chain history, receipts included, stays available.
        .args(["--max-persisted-states", "0"])
        .args(mining)
        .env("HOME", home.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            setup(format!(
                "cannot start {}: {e} (run scripts/install-tools.sh or pass --anvil)",
                bin.display()
            ))
        })?;
    let anvil = AnvilProcess {
        child,
        url: format!("http://127.0.0.1:{port}"),
        mode: if mining.is_empty() {
            "automine".into()
        } else {
            mining.join(" ")
        },
        _home: home,
    };
    let started = Instant::now();
    loop {
        let mut config = RpcL1Config::new(anvil.url.clone());
        config.retries = 0;
        if RpcL1::connect(config, PrivateKeySigner::random())
            .await
            .is_ok()
        {
            return Ok(anvil);
        }
        if started.elapsed() > Duration::from_secs(20) {
            return Err(setup("anvil did not answer within 20 s".into()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends the same deposits to the embedded L1 and to anvil, over JSON-RPC, and reports throughput.
pub async fn l1_throughput(
    options: &L1ThroughputOptions,
) -> Result<L1ThroughputReport, BenchError> {
    let config = ChainConfig::devnet();
    let dev = DevChainConfig::from_chain_config(&config, None).map_err(|e| BenchError::Setup {
        backend: "embedded",
        reason: e.to_string(),
    })?;
    let keys: Vec<PrivateKeySigner> =
        dev.dev_keys[1..=(options.senders as usize).min(dev.dev_keys.len() - 1)].to_vec();
    let deployer_key = dev.dev_keys[0].clone();
    let senders = keys.len();

    // Embedded, over its JSON-RPC server.
    let embedded_setup = |reason: String| BenchError::Setup {
        backend: "embedded",
        reason,
    };
    let chain = DevChain::open(dev).map_err(|e| embedded_setup(e.to_string()))?;
    let bridge = deploy(
        &EmbeddedL1::new(chain.clone(), deployer_key.clone()),
        DeployOptions::default(),
    )
    .await
    .map_err(|e| embedded_setup(e.to_string()))?
    .bridge;
    let workload = sign_workload(bridge, &keys, options.txs);
    let (addr, server) =
        loft_l1_embedded::rpc::serve(chain.clone(), SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(|e| embedded_setup(e.to_string()))?;
    tracing::info!(target: "loft::bench", txs = options.txs, senders, "embedded L1 over JSON-RPC");
    let embedded = run_over_rpc(
        "embedded L1 (JSON-RPC)",
        &format!("http://{addr}"),
        &workload,
        senders,
    )
    .await?;
    server.stop().ok();

    // Embedded, in process (no HTTP): what the node itself gets.
    let direct_chain = DevChain::open(
        DevChainConfig::from_chain_config(&config, None)
            .map_err(|e| embedded_setup(e.to_string()))?,
    )
    .map_err(|e| embedded_setup(e.to_string()))?;
    deploy(
        &EmbeddedL1::new(direct_chain.clone(), deployer_key.clone()),
        DeployOptions::default(),
    )
    .await
    .map_err(|e| embedded_setup(e.to_string()))?;
    tracing::info!(target: "loft::bench", txs = options.txs, "embedded L1 in process");
    let started = Instant::now();
    for (index, (_, raw, _)) in workload.iter().enumerate() {
        direct_chain
            .send_raw(raw)
            .map_err(|e| BenchError::Workload {
                backend: "embedded L1 (in process)",
                index,
                reason: e.to_string(),
            })?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let direct_gas = workload
        .iter()
        .filter_map(|(_, _, h)| direct_chain.lock().receipt(*h))
        .map(|r| r.gas_used)
        .sum();
    let direct = BackendResult {
        backend: "embedded L1 (in process)".into(),
        txs: workload.len(),
        seconds,
        tx_per_sec: workload.len() as f64 / seconds,
        total_gas: direct_gas,
    };

    // anvil, fresh, same deployer and nonce: the bridge lands at the same address.
    let anvil = start_anvil(&options.anvil, &[]).await?;
    let mut rpc_config = RpcL1Config::new(anvil.url.clone());
    rpc_config.expected_chain_id = Some(CHAIN_ID);
    let anvil_l1 = RpcL1::connect(rpc_config, deployer_key)
        .await
        .map_err(|e| BenchError::Setup {
            backend: "anvil",
            reason: e.to_string(),
        })?;
    let anvil_bridge = deploy(&anvil_l1, DeployOptions::default())
        .await
        .map_err(|e| BenchError::Setup {
            backend: "anvil",
            reason: e.to_string(),
        })?
        .bridge;
    if anvil_bridge != bridge {
        return Err(BenchError::Setup {
            backend: "anvil",
            reason: format!("bridge at {anvil_bridge}, expected {bridge}"),
        });
    }
    tracing::info!(target: "loft::bench", txs = options.txs, senders, "anvil over JSON-RPC");
    let on_anvil = run_over_rpc("anvil 1.7.1 (JSON-RPC)", &anvil.url, &workload, senders).await?;

    let embedded_over_anvil = embedded.tx_per_sec / on_anvil.tx_per_sec;
    Ok(L1ThroughputReport {
        workload: format!(
            "{} pre-signed depositETH transactions from {senders} accounts, automine, one block per transaction",
            options.txs
        ),
        results: vec![embedded, direct, on_anvil],
        embedded_over_anvil,
    })
}

impl L1ThroughputReport {
    /// The report as a table.
    pub fn table(&self) -> String {
        let mut out = format!("{}\n\n", self.workload);
        out += "| backend | txs | seconds | tx/s | gas per deposit |\n|---|---:|---:|---:|---:|\n";
        for r in &self.results {
            out += &format!(
                "| {} | {} | {:.2} | {:.0} | {} |\n",
                r.backend,
                r.txs,
                r.seconds,
                r.tx_per_sec,
                r.total_gas / r.txs.max(1) as u64
            );
        }
        out += &format!(
            "\nembedded L1 / anvil over JSON-RPC: {:.1}x\n",
            self.embedded_over_anvil
        );
        out
    }
}
