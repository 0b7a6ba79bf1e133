//! `loft bench rollup`: N L2 ETH transfers posted in batches, measured side by side with the same
//! transfers done directly on L1, in one run on the embedded L1.
//!
//! - Sequencer: N pre-signed transfers from M senders sent concurrently over the node's real
//!   JSON-RPC (HTTP); the time from send to the node's answer is the soft-confirmation latency
//!   (the answer comes once the transaction is executed and durable).
//! - L1 cost: the batch holding all N transfers is posted with `submitBatch`; its calldata bytes
//!   and L1 gas divided by N, against the same transfers (same keys, amounts and fresh
//!   recipients) sent to the L1 as plain ETH transfers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::{TransactionBuilder, TxSignerSync};
use alloy::primitives::{Address, Bytes, TxKind, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use loft_config::ChainConfig;
use loft_contracts::{L1Bridge, deploy};
use loft_l1::L1Client;
use loft_l1_embedded::{DevChain, DevChainConfig, EmbeddedL1};
use serde::Serialize;

use crate::BenchError;

/// Options of [`rollup_batch`].
#[derive(Debug, Clone)]
pub struct RollupBenchOptions {
    /// Number of L2 transfers (batches of up to 300,000 bytes; 1,000 transfers fit in one).
    pub transfers: usize,
    /// Number of sending accounts (dev accounts 1..=senders).
    pub senders: u32,
}

/// The report of [`rollup_batch`].
#[derive(Debug, Clone, Serialize)]
pub struct RollupBenchReport {
    /// What was measured.
    pub workload: String,
    /// Transfers in the batch.
    pub transfers: usize,
    /// Sequencer: accepted transactions per second over JSON-RPC (first send to last answer).
    pub sequencer_tx_per_sec: f64,
    /// Soft-confirmation latency percentiles, milliseconds.
    pub latency_ms_p50: f64,
    /// 99th percentile.
    pub latency_ms_p99: f64,
    /// Maximum.
    pub latency_ms_max: f64,
    /// Batches that hold the transfers.
    pub batches: usize,
    /// Batch data posted to L1, bytes.
    pub batch_bytes: u64,
    /// Transactions a fresh verifier replayed from L1 (every root matched).
    pub verifier_transactions: u64,
    /// The verifier's sync throughput from L1, transactions per second.
    pub verifier_tx_per_sec: f64,
    /// L1 gas of the `submitBatch` transaction.
    pub batch_l1_gas: u64,
    /// L1 bytes per L2 transfer.
    pub l1_bytes_per_transfer: f64,
    /// L1 gas per L2 transfer.
    pub l1_gas_per_transfer: f64,
    /// The same transfers on L1: bytes per transfer (signed transaction size).
    pub direct_bytes_per_transfer: f64,
    /// The same transfers on L1: gas per transfer (from receipts).
    pub direct_gas_per_transfer: f64,
    /// Direct L1 gas divided by rollup L1 gas per transfer.
    pub gas_ratio: f64,
    /// Direct L1 bytes divided by rollup L1 bytes per transfer.
    pub bytes_ratio: f64,
}

impl RollupBenchReport {
    /// A human-readable table.
    pub fn table(&self) -> String {
        format!(
            "{}\n\
             {:<40} {:>14} {:>14} {:>8}\n\
             {:<40} {:>14.1} {:>14.1} {:>7.1}x\n\
             {:<40} {:>14.1} {:>14.1} {:>7.1}x\n\
             sequencer: {:.0} tx/s accepted over JSON-RPC; soft confirmation p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms\n\
             batches: {} transfers in {} batches, {} bytes posted, {} L1 gas\n\
             verifier: {} transactions replayed from L1, every root matched, {:.0} tx/s\n",
            self.workload,
            "per transfer",
            "loft batch",
            "direct on L1",
            "ratio",
            "L1 bytes",
            self.l1_bytes_per_transfer,
            self.direct_bytes_per_transfer,
            self.bytes_ratio,
            "L1 gas",
            self.l1_gas_per_transfer,
            self.direct_gas_per_transfer,
            self.gas_ratio,
            self.sequencer_tx_per_sec,
            self.latency_ms_p50,
            self.latency_ms_p99,
            self.latency_ms_max,
            self.transfers,
            self.batches,
            self.batch_bytes,
            self.batch_l1_gas,
            self.verifier_transactions,
            self.verifier_tx_per_sec,
        )
    }
}

fn sign_transfers(
    chain_id: u64,
    keys: &[PrivateKeySigner],
    recipients: &[Address],
    max_fee: u128,
    mut nonces: Vec<u64>,
) -> Vec<(usize, Bytes)> {
    recipients
        .iter()
        .enumerate()
        .map(|(i, to)| {
            let s = i % keys.len();
            let mut tx = TxEip1559 {
                chain_id,
                nonce: nonces[s],
                gas_limit: 21_000,
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: 0,
                to: TxKind::Call(*to),
                value: U256::from(1_000_000_000u64 + i as u64),
                ..Default::default()
            };
            nonces[s] += 1;
            let sig = keys[s]
                .sign_transaction_sync(&mut tx)
                .expect("local signing cannot fail");
            (
                s,
                TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into(),
            )
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Runs the benchmark (see the module docs).
pub async fn rollup_batch(options: &RollupBenchOptions) -> Result<RollupBenchReport, BenchError> {
    let setup = |reason: String| BenchError::Setup {
        backend: "rollup",
        reason,
    };
    let mut config = ChainConfig::devnet();
    // One batch for the whole workload: posted by hand below, not on a timer.
    // Large batches, within one L1 transaction's gas cap (EIP-7825: 2^24 gas at the calldata floor
    // of 40 gas per byte).
    config.rollup.max_batch_bytes = 300_000;
    let dev = DevChainConfig::from_chain_config(&config, None).map_err(|e| setup(e.to_string()))?;
    let keys: Vec<PrivateKeySigner> =
        dev.dev_keys[1..=(options.senders as usize).min(dev.dev_keys.len() - 1)].to_vec();
    let deployer_key = dev.dev_keys[0].clone();
    let chain = DevChain::open(dev).map_err(|e| setup(e.to_string()))?;
    let sequencer: Arc<dyn L1Client> = Arc::new(EmbeddedL1::new(chain.clone(), deployer_key));
    let deployment = deploy(sequencer.as_ref(), loft_node::deploy_options(&config))
        .await
        .map_err(|e| setup(e.to_string()))?;
    let (node, _node_dir) = crate::start_node(&config, &deployment, sequencer, false).await?;

    // Fund the senders on L2 through the bridge.
    let ten_eth = U256::from(10u64) * U256::from(10u64).pow(U256::from(18u64));
    for key in &keys {
        let user = EmbeddedL1::new(chain.clone(), key.clone());
        loft_l1::send_and_confirm(
            &user,
            TransactionRequest::default()
                .with_to(deployment.bridge)
                .with_value(ten_eth)
                .with_input(
                    L1Bridge::depositETHCall {
                        l2Recipient: key.address(),
                    }
                    .abi_encode(),
                ),
        )
        .await
        .map_err(|e| setup(e.to_string()))?;
    }
    let funded = Instant::now();
    while keys.iter().any(|k| {
        node.shared
            .sequencer()
            .balance(k.address())
            .unwrap_or_default()
            < ten_eth
    }) {
        if funded.elapsed() > Duration::from_secs(30) {
            return Err(setup("deposits not credited on L2 after 30 s".into()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Seal and post the deposits' blocks first, so the measured batch holds only the transfers.
    tokio::time::sleep(Duration::from_millis(config.l2.block_time_ms * 2)).await;
    while loft_node::batcher::post_next(&node.shared)
        .await
        .map_err(|e| setup(e.to_string()))?
        .is_some()
    {}
    let first_transfer_block = node.shared.sequencer().head().number + 1;

    // Fresh, distinct recipients (the costliest case for the state: every transfer adds a leaf).
    let recipients: Vec<Address> = (0..options.transfers)
        .map(|i| {
            let h = alloy::primitives::keccak256((i as u64).to_be_bytes());
            Address::from_slice(&h[12..])
        })
        .collect();
    let l2_work = sign_transfers(
        config.l2.chain_id,
        &keys,
        &recipients,
        2 * config.l2.base_fee as u128,
        vec![0; keys.len()],
    );
    // On L1 each sender has already made its deposit.
    let l1_work = sign_transfers(
        config.l1.chain_id,
        &keys,
        &recipients,
        100_000_000_000,
        vec![1; keys.len()],
    );

    // Sequencer over JSON-RPC, one task per sender (nonces must arrive in order).
    let url = format!("http://{}", node.rpc_addr);
    let provider = ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect(&url)
        .await
        .map_err(|e| setup(e.to_string()))?;
    tracing::info!(target: "loft::bench", transfers = options.transfers, senders = keys.len(), "sending L2 transfers");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for s in 0..keys.len() {
        let mine: Vec<(usize, Bytes)> = l2_work
            .iter()
            .enumerate()
            .filter(|(_, w)| w.0 == s)
            .map(|(i, w)| (i, w.1.clone()))
            .collect();
        let provider = provider.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(mine.len());
            for (index, raw) in mine {
                let t = Instant::now();
                // The node answers once the transaction is executed and durable: that answer is
                // the soft confirmation; the receipt follows with the block.
                let _pending = provider.send_raw_transaction(&raw).await.map_err(|e| {
                    BenchError::Workload {
                        backend: "rollup",
                        index,
                        reason: e.to_string(),
                    }
                })?;
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, BenchError>(latencies)
        }));
    }
    let mut latencies = Vec::with_capacity(options.transfers);
    for t in tasks {
        latencies.extend(t.await.map_err(|e| setup(e.to_string()))??);
    }
    let seconds = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);

    // Wait for the open block to be sealed, then post its blocks.
    let sealing = Instant::now();
    while node.shared.sequencer().has_open_block() {
        if sealing.elapsed() > Duration::from_secs(30) {
            return Err(setup("the open block was not sealed within 30 s".into()));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut batches = Vec::new();
    while let Some(b) = loft_node::batcher::post_next(&node.shared)
        .await
        .map_err(|e| setup(e.to_string()))?
    {
        batches.push(b);
    }
    let batches: Vec<_> = batches
        .into_iter()
        .filter(|b| b.last_block >= first_transfer_block)
        .collect();
    let (Some(first_batch), Some(last_batch)) = (batches.first(), batches.last()) else {
        return Err(setup("no batch holds the transfers".into()));
    };
    let mut in_batch = 0usize;
    for n in first_transfer_block..=last_batch.last_block {
        in_batch += node
            .shared
            .db
            .block(n)
            .map_err(|e| setup(e.to_string()))?
            .map(|b| b.tx_hashes.len())
            .unwrap_or(0);
    }
    if in_batch != options.transfers || first_batch.first_block != first_transfer_block {
        return Err(setup(format!(
            "the batches hold blocks {}..={} with {in_batch} transfers, expected exactly the {} transfers",
            first_batch.first_block, last_batch.last_block, options.transfers
        )));
    }
    let batch_bytes: u64 = batches.iter().map(|b| b.data_len).sum();
    let batch_gas: u64 = batches.iter().map(|b| b.l1_gas_used).sum();
    let batch_count = batches.len();

    // A verifier that shares nothing with the sequencer but the L1 replays every batch.
    tracing::info!(target: "loft::bench", batches = batch_count, "verifier syncing from L1");
    let sync = crate::verify_from_l1(
        &config,
        &deployment,
        Arc::new(EmbeddedL1::new(chain.clone(), keys[0].clone())),
        &node,
    )
    .await?;

    // The same transfers directly on L1.
    tracing::info!(target: "loft::bench", "sending the same transfers on L1");
    let direct_bytes: usize = l1_work.iter().map(|(_, raw)| raw.len()).sum();
    let l1 = EmbeddedL1::new(chain.clone(), keys[0].clone());
    let mut hashes = Vec::with_capacity(l1_work.len());
    for (_, raw) in &l1_work {
        hashes.push(
            l1.send_raw_transaction(raw.clone())
                .await
                .map_err(|e| setup(e.to_string()))?,
        );
    }
    let mut direct_gas = 0u64;
    for h in &hashes {
        let receipt = crate::wait_receipt(&l1, *h, "direct L1").await?;
        direct_gas += receipt.gas_used;
    }

    let n = options.transfers as f64;
    let l1_bytes_per_transfer = batch_bytes as f64 / n;
    let l1_gas_per_transfer = batch_gas as f64 / n;
    let direct_bytes_per_transfer = direct_bytes as f64 / n;
    let direct_gas_per_transfer = direct_gas as f64 / n;
    drop(node);
    Ok(RollupBenchReport {
        workload: format!(
            "{} L2 ETH transfers to fresh accounts from {} senders, posted in batches, embedded L1 (Osaka)",
            options.transfers,
            keys.len()
        ),
        transfers: options.transfers,
        sequencer_tx_per_sec: n / seconds,
        latency_ms_p50: percentile(&latencies, 0.50),
        latency_ms_p99: percentile(&latencies, 0.99),
        latency_ms_max: latencies.last().copied().unwrap_or_default(),
        batches: batch_count,
        batch_bytes,
        batch_l1_gas: batch_gas,
        verifier_tx_per_sec: sync.tx_per_sec(),
        verifier_transactions: sync.transactions,
        l1_bytes_per_transfer,
        l1_gas_per_transfer,
        direct_bytes_per_transfer,
        direct_gas_per_transfer,
        gas_ratio: direct_gas_per_transfer / l1_gas_per_transfer,
        bytes_ratio: direct_bytes_per_transfer / l1_bytes_per_transfer,
    })
}
