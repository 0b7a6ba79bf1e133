//! `loft bench`: the eth profile end to end, every figure next to its alternative in one run.
//!
//! 1. An L1 (the embedded one, or any over JSON-RPC such as anvil) with loft's contracts and the
//!    dev token; a loft node (sequencer, batcher, database on disk, JSON-RPC over HTTP) on it.
//! 2. M accounts funded on L1 and, through the bridge, on L2 (ETH and the dev token).
//! 3. Transfers pre-signed (ETH and ERC-20 mixed, between the M accounts) and sent through the
//!    node's JSON-RPC by the load generator ([`crate::load`]): first as fast as it answers (peak
//!    throughput, soft-confirmation latency), then at half that rate (latency at half load), both
//!    posted in calldata batches, then as many again at that rate posted in blob batches (the
//!    poster's KZG work on the same cores).
//! 4. While they run, the batcher posts them; the time from each answer to its batch on L1, and
//!    to the last batch being final, is measured.
//! 5. The batches' L1 bytes and gas per transfer; the same transfers signed for L1 and executed
//!    there (gas from receipts); a fresh verifier syncing every batch from L1; the same transfers
//!    sent to a fresh anvil by the same load generator.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::{TransactionBuilder, TxSignerSync};
use alloy::primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use loft_config::ChainConfig;
use loft_contracts::{DevToken, L1Bridge, L1Rollup, bridge_call, deploy, rollup_call};
use loft_l1::L1Client;
use loft_l1_embedded::{DevChain, DevChainConfig, EmbeddedL1};
use loft_l1_rpc::{RpcL1, RpcL1Config};
use serde::Serialize;

use crate::chart::{Line, Panel};
use crate::fraud_gas::FraudProofFigures;
use crate::load::{self, Bucket, Latency, LoadPlan, LoadRun, Signed};
use crate::{BenchError, start_anvil, start_node, wait_receipt};

/// Options of [`eth_profile`].
#[derive(Debug, Clone)]
pub struct EthBenchOptions {
    /// Transfers of the peak-throughput run.
    pub transfers: usize,
    /// Transfers of the half-load run (sent at half the measured peak rate).
    pub half_load_transfers: usize,
    /// Transfers of the blob run (at the half-load rate, posted in blob batches).
    pub blob_transfers: usize,
    /// Accounts sending and receiving (each both).
    pub accounts: usize,
    /// Share of ERC-20 transfers, in percent (the rest are ETH transfers).
    pub erc20_percent: u32,
    /// Load generator connections.
    pub workers: usize,
    /// Use this L1 over JSON-RPC (anvil, say) instead of the embedded one.
    pub l1_rpc: Option<String>,
    /// The anvil binary of the L1-only comparison.
    pub anvil: PathBuf,
    /// Skip the anvil comparison (when no anvil is installed).
    pub skip_anvil: bool,
    /// anvil's block time in seconds (0: automine, a block per transaction as it arrives).
    pub anvil_block_time_secs: u64,
}

impl EthBenchOptions {
    /// `--quick`: a small run that still exercises every part (for tests and a first look).
    pub fn quick(anvil: PathBuf) -> Self {
        Self {
            transfers: 2_000,
            half_load_transfers: 1_000,
            blob_transfers: 1_000,
            accounts: 32,
            erc20_percent: 20,
            workers: 16,
            l1_rpc: None,
            anvil,
            skip_anvil: false,
            anvil_block_time_secs: 1,
        }
    }
}

/// Throughput and latency of one load run.
#[derive(Debug, Clone, Serialize)]
pub struct RunFigures {
    /// Transactions sent.
    pub transactions: usize,
    /// Seconds from the first send to the last answer.
    pub seconds: f64,
    /// Offered rate (open loop), transactions per second; `None` for as fast as answered.
    pub offered_tx_per_sec: Option<f64>,
    /// Answered (accepted: executed and durable) transactions per second.
    pub tx_per_sec: f64,
    /// Soft-confirmation latency (send to answer).
    pub latency: Latency,
}

impl RunFigures {
    fn of(run: &LoadRun, offered: Option<f64>) -> Self {
        Self {
            transactions: run.answered_at.len(),
            seconds: run.seconds,
            offered_tx_per_sec: offered,
            tx_per_sec: run.tx_per_sec(),
            latency: run.latency(),
        }
    }
}

/// L1 cost of the batches that carry the transfers.
#[derive(Debug, Clone, Serialize)]
pub struct BatchFigures {
    /// How the data went to L1.
    pub carrier: String,
    /// Batches.
    pub batches: usize,
    /// Transfers in them.
    pub transfers: usize,
    /// Batch data bytes in all.
    pub bytes: u64,
    /// L1 gas of the posting transactions in all (execution and calldata; blob gas apart).
    pub l1_gas: u64,
    /// Blobs of the posting transactions (0 for calldata).
    pub blobs: u64,
    /// Blob gas of the posting transactions (131,072 per blob; 0 for calldata).
    pub blob_gas: u64,
    /// Batch data bytes per transfer.
    pub bytes_per_transfer: f64,
    /// L1 (execution) gas per transfer.
    pub gas_per_transfer: f64,
    /// Blob gas per transfer.
    pub blob_gas_per_transfer: f64,
}

impl BatchFigures {
    /// The figures of `batches` (all of one carrier), from their records and the transfers in
    /// their blocks.
    fn of(carrier: &str, batches: &[&loft_node::db::BatchRecord], db: &loft_node::db::Db) -> Self {
        let transfers: usize = batches
            .iter()
            .flat_map(|b| b.first_block..=b.last_block)
            .map(|n| db.block(n).ok().flatten().map_or(0, |b| b.tx_hashes.len()))
            .sum();
        let bytes: u64 = batches.iter().map(|b| b.data_len).sum();
        let l1_gas: u64 = batches.iter().map(|b| b.l1_gas_used).sum();
        let blob_gas: u64 = batches.iter().map(|b| b.blob_gas_used).sum();
        let n = transfers.max(1) as f64;
        Self {
            carrier: carrier.into(),
            batches: batches.len(),
            transfers,
            bytes,
            l1_gas,
            blobs: batches.iter().map(|b| b.blob_count).sum(),
            blob_gas,
            bytes_per_transfer: bytes as f64 / n,
            gas_per_transfer: l1_gas as f64 / n,
            blob_gas_per_transfer: blob_gas as f64 / n,
        }
    }
}

/// The same transfers executed on L1.
#[derive(Debug, Clone, Serialize)]
pub struct DirectL1Figures {
    /// Transfers executed.
    pub transfers: usize,
    /// Signed transaction bytes per transfer.
    pub bytes_per_transfer: f64,
    /// Gas per transfer, all kinds (from receipts).
    pub gas_per_transfer: f64,
    /// Gas per ETH transfer.
    pub gas_per_eth_transfer: f64,
    /// Gas per ERC-20 transfer.
    pub gas_per_erc20_transfer: f64,
}

/// The same transfers on a fresh anvil.
#[derive(Debug, Clone, Serialize)]
pub struct AnvilFigures {
    /// anvil's command line (mining mode).
    pub mode: String,
    /// Transfers sent.
    pub transactions: usize,
    /// Accepted into anvil's pool per second (send to answer).
    pub accepted_tx_per_sec: f64,
    /// Executed per second: from the first send to the last receipt.
    pub executed_tx_per_sec: f64,
}

/// Time from a transaction's soft confirmation to its batch on L1, and to finality.
#[derive(Debug, Clone, Serialize)]
pub struct InclusionFigures {
    /// The batcher's interval (milliseconds) and the L2 block time (milliseconds).
    pub batch_interval_ms: u64,
    /// L2 block time.
    pub block_time_ms: u64,
    /// Soft confirmation to the transaction's batch recorded as included on L1.
    pub to_l1: Latency,
    /// The challenge period on L1.
    pub challenge_period_secs: u64,
    /// Soft confirmation to final on L1, median, seconds: inclusion plus the challenge period.
    /// The challenge period runs on L1's clock, and a dev L1's clock runs ahead of the wall
    /// clock (each block is at least a second after its parent), so waiting it out on the wall
    /// clock would measure the dev chain, not the protocol.
    pub to_final_p50_secs: f64,
    /// The last batch was seen final on L1 (`L1Rollup.isFinal`) once its period had passed.
    pub final_on_l1: bool,
}

/// The verifier's replay from L1.
#[derive(Debug, Clone, Serialize)]
pub struct VerifierFigures {
    /// Transactions replayed (every root matched).
    pub transactions: u64,
    /// Batches replayed.
    pub batches: u64,
    /// Transactions per second.
    pub tx_per_sec: f64,
}

/// Ratios, each to its comparison in the same run (bigger is better for loft).
#[derive(Debug, Clone, Serialize)]
pub struct Ratios {
    /// Sequencer peak over anvil's executed throughput.
    pub sequencer_over_anvil: Option<f64>,
    /// L1 gas of a direct L1 transfer over L1 gas per transfer in calldata batches.
    pub l1_gas_direct_over_calldata: f64,
    /// L1 gas of a direct L1 transfer over L1 execution gas per transfer in blob batches.
    pub l1_gas_direct_over_blob: Option<f64>,
    /// L1 bytes of a direct L1 transfer over L1 bytes per transfer in batches.
    pub l1_bytes_direct_over_batch: f64,
    /// Verifier sync over sequencer peak.
    pub verifier_over_sequencer: f64,
}

/// Everything `loft bench` measured.
#[derive(Debug, Clone, Serialize)]
pub struct EthBenchReport {
    /// What ran, where.
    pub workload: String,
    /// Cores the run had.
    pub cores: usize,
    /// The L1 the node posted to.
    pub l1: String,
    /// Peak: as fast as the node answers.
    pub peak: RunFigures,
    /// At half the peak rate (batches in calldata).
    pub half_load: RunFigures,
    /// At the same rate, batches in blobs (the poster's KZG work shares the cores).
    pub half_load_blobs: RunFigures,
    /// Time to L1 and to finality.
    pub inclusion: InclusionFigures,
    /// Batches as calldata.
    pub calldata_batches: BatchFigures,
    /// Batches as EIP-4844 blobs (the blob run's batches; `None` when the L1 took none).
    pub blob_batches: Option<BatchFigures>,
    /// The same transfers on L1.
    pub direct_l1: DirectL1Figures,
    /// The same transfers on anvil.
    pub anvil: Option<AnvilFigures>,
    /// A fresh verifier's replay from L1.
    pub verifier: VerifierFigures,
    /// The worst-case fraud proof's gas on this L1, against a blob batch and a calldata batch.
    pub fraud_proof: FraudProofFigures,
    /// Ratios to the comparisons.
    pub ratios: Ratios,
    /// Throughput and latency per interval, both loft runs on one time axis.
    pub timeline: Vec<Bucket>,
    /// anvil's answers per interval.
    pub anvil_timeline: Vec<Bucket>,
}

/// What the chart and the table print for a missing measurement.
const NOT_YET: &str = "not measured";

impl EthBenchReport {
    /// The report as a Markdown table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "{}\nL1: {}; {} cores\n\n| figure | loft | comparison | ratio |\n| --- | ---: | ---: | ---: |\n",
            self.workload, self.l1, self.cores
        );
        let anvil = self.anvil.as_ref();
        out += &format!(
            "| sequencer peak, tx/s over JSON-RPC (accepted = executed + durable) | {:.0} | anvil {} | {} |\n",
            self.peak.tx_per_sec,
            anvil.map_or(NOT_YET.into(), |a| format!("{:.0}", a.executed_tx_per_sec)),
            self.ratios
                .sequencer_over_anvil
                .map_or(NOT_YET.into(), |r| format!("{r:.1}x")),
        );
        out += &format!(
            "| soft confirmation at peak, p50 / p99 / max ms | {:.2} / {:.2} / {:.2} | | |\n",
            self.peak.latency.p50_ms, self.peak.latency.p99_ms, self.peak.latency.max_ms
        );
        out += &format!(
            "| soft confirmation at half load ({:.0} tx/s offered, {:.0} answered), p50 / p99 / max ms | {:.2} / {:.2} / {:.2} | | |\n",
            self.half_load.offered_tx_per_sec.unwrap_or_default(),
            self.half_load.tx_per_sec,
            self.half_load.latency.p50_ms,
            self.half_load.latency.p99_ms,
            self.half_load.latency.max_ms
        );
        out += &format!(
            "| soft confirmation at half load, batches in blobs (KZG on the same cores), p50 / p99 / max ms | {:.2} / {:.2} / {:.2} | | |\n",
            self.half_load_blobs.latency.p50_ms,
            self.half_load_blobs.latency.p99_ms,
            self.half_load_blobs.latency.max_ms
        );
        out += &format!(
            "| soft confirmation to L1 inclusion, p50 / p99 / max ms (block {} ms, batch interval {} ms) | {:.0} / {:.0} / {:.0} | | |\n",
            self.inclusion.block_time_ms,
            self.inclusion.batch_interval_ms,
            self.inclusion.to_l1.p50_ms,
            self.inclusion.to_l1.p99_ms,
            self.inclusion.to_l1.max_ms
        );
        out += &format!(
            "| soft confirmation to final on L1, p50 s (inclusion + challenge period {} s; seen final: {}) | {:.1} | | |\n",
            self.inclusion.challenge_period_secs,
            self.inclusion.final_on_l1,
            self.inclusion.to_final_p50_secs
        );
        let c = &self.calldata_batches;
        let d = &self.direct_l1;
        out += &format!(
            "| L1 bytes per transfer, calldata batches | {:.1} | L1 {:.1} | {:.2}x |\n",
            c.bytes_per_transfer, d.bytes_per_transfer, self.ratios.l1_bytes_direct_over_batch
        );
        out += &format!(
            "| L1 gas per transfer, calldata batches | {:.0} | L1 {:.0} (ETH {:.0}, ERC-20 {:.0}) | {:.1}x |\n",
            c.gas_per_transfer,
            d.gas_per_transfer,
            d.gas_per_eth_transfer,
            d.gas_per_erc20_transfer,
            self.ratios.l1_gas_direct_over_calldata
        );
        match &self.blob_batches {
            Some(b) => {
                out += &format!(
                    "| L1 execution gas per transfer, blob batches ({} batches, {} blobs, {} transfers) | {:.0} | L1 {:.0} | {} |\n",
                    b.batches,
                    b.blobs,
                    b.transfers,
                    b.gas_per_transfer,
                    d.gas_per_transfer,
                    self.ratios
                        .l1_gas_direct_over_blob
                        .map_or(NOT_YET.into(), |r| format!("{r:.0}x")),
                );
                out += &format!(
                    "| blob gas per transfer, blob batches (data bytes per transfer {:.1}) | {:.0} | | |\n",
                    b.bytes_per_transfer, b.blob_gas_per_transfer
                );
            }
            None => out += &format!("| L1 gas per transfer, blob batches | {NOT_YET} | | |\n"),
        }
        out += &format!(
            "| verifier sync from L1, tx/s (every root matched) | {:.0} | sequencer {:.0} | {:.2}x |\n",
            self.verifier.tx_per_sec, self.peak.tx_per_sec, self.ratios.verifier_over_sequencer
        );
        let f = &self.fraud_proof;
        out += &format!(
            "| fraud proof, worst case: proveStep gas, blob batch ({} elements of {} blobs opened, step tree depth {}) | {} | one L1 transaction: cap {} | {:.1}% of it |\n",
            f.blob_elements_opened,
            f.blob_blobs,
            f.blob_step_tree_depth,
            f.blob_prove_step_gas,
            f.tx_gas_cap,
            100.0 * f.blob_prove_step_gas as f64 / f.tx_gas_cap as f64,
        );
        out += &format!(
            "| fraud proof, worst case: proveStep gas, calldata batch ({} chunks of a {}-byte batch opened, step tree depth {}) | {} | one L1 transaction: cap {} | {:.1}% of it |\n",
            f.calldata_chunks_opened,
            f.calldata_batch_bytes,
            f.calldata_step_tree_depth,
            f.calldata_prove_step_gas,
            f.tx_gas_cap,
            100.0 * f.calldata_prove_step_gas as f64 / f.tx_gas_cap as f64,
        );
        out += &format!(
            "\nbatches: {} transfers in {} calldata batches, {} bytes, {} L1 gas\n",
            c.transfers, c.batches, c.bytes, c.l1_gas
        );
        if let Some(a) = anvil {
            out += &format!(
                "anvil ({}): {} transfers, {:.0} tx/s accepted into its pool, {:.0} tx/s executed\n",
                a.mode, a.transactions, a.accepted_tx_per_sec, a.executed_tx_per_sec
            );
        }
        out += &format!("fraud proof: {}\n", f.measured);
        out
    }

    /// The chart: throughput and latency over time.
    pub fn chart(&self) -> Result<String, String> {
        let mut throughput = vec![Line {
            label: "loft sequencer, answered tx/s".into(),
            points: self
                .timeline
                .iter()
                .map(|b| (b.at_secs, b.tx_per_sec))
                .collect(),
        }];
        if !self.anvil_timeline.is_empty() {
            throughput.push(Line {
                label: "anvil, accepted tx/s (same transfers)".into(),
                points: self
                    .anvil_timeline
                    .iter()
                    .map(|b| (b.at_secs, b.tx_per_sec))
                    .collect(),
            });
        }
        let busy = || self.timeline.iter().filter(|b| b.tx_per_sec > 0.0);
        crate::chart::svg(&[
            Panel {
                title: "throughput (peak, half load, half load with blob batches)".into(),
                y_desc: "transactions per second".into(),
                lines: throughput,
            },
            Panel {
                title: "loft soft-confirmation latency".into(),
                y_desc: "milliseconds".into(),
                lines: vec![
                    Line {
                        label: "p50".into(),
                        points: busy().map(|b| (b.at_secs, b.latency.p50_ms)).collect(),
                    },
                    Line {
                        label: "p99".into(),
                        points: busy().map(|b| (b.at_secs, b.latency.p99_ms)).collect(),
                    },
                ],
            },
        ])
    }
}

/// Kind of a workload transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Eth,
    Erc20,
}

/// One transfer of the workload, before it is signed for a chain.
#[derive(Debug, Clone, Copy)]
struct Transfer {
    sender: usize,
    recipient: usize,
    kind: Kind,
    amount: u64,
}

/// The workload: `n` transfers round-robin over the senders, each to another account, every
/// `erc20_percent`-th in a hundred an ERC-20 transfer.
fn transfers(n: usize, accounts: usize, erc20_percent: u32) -> Vec<Transfer> {
    (0..n)
        .map(|i| {
            let sender = i % accounts;
            let step = 1 + (i / accounts) % (accounts - 1);
            Transfer {
                sender,
                recipient: (sender + step) % accounts,
                kind: if ((i % 100) as u32) < erc20_percent {
                    Kind::Erc20
                } else {
                    Kind::Eth
                },
                amount: 1_000_000_000 + i as u64,
            }
        })
        .collect()
}

/// How to sign the workload for one chain.
struct SignFor {
    chain_id: u64,
    token: Address,
    max_fee: u128,
    eth_gas: u64,
    erc20_gas: u64,
}

/// Signs every transfer (nonces from 0 per sender), on every core.
fn sign(work: &[Transfer], keys: &[PrivateKeySigner], to: &SignFor) -> Vec<Signed> {
    let mut nonces = vec![0u64; keys.len()];
    let jobs: Vec<(Transfer, u64)> = work
        .iter()
        .map(|t| {
            let nonce = nonces[t.sender];
            nonces[t.sender] += 1;
            (*t, nonce)
        })
        .collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = jobs.len().div_ceil(cores).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|(t, nonce)| sign_one(t, *nonce, keys, to))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("signing does not panic"))
            .collect()
    })
}

fn sign_one(t: &Transfer, nonce: u64, keys: &[PrivateKeySigner], to: &SignFor) -> Signed {
    let recipient = keys[t.recipient].address();
    let (target, value, input, gas_limit) = match t.kind {
        Kind::Eth => (recipient, U256::from(t.amount), Bytes::new(), to.eth_gas),
        Kind::Erc20 => (
            to.token,
            U256::ZERO,
            DevToken::transferCall {
                to: recipient,
                value: U256::from(t.amount),
            }
            .abi_encode()
            .into(),
            to.erc20_gas,
        ),
    };
    let mut tx = TxEip1559 {
        chain_id: to.chain_id,
        nonce,
        gas_limit,
        max_fee_per_gas: to.max_fee,
        max_priority_fee_per_gas: 0,
        to: TxKind::Call(target),
        value,
        input,
        ..Default::default()
    };
    let sig = keys[t.sender]
        .sign_transaction_sync(&mut tx)
        .expect("local signing cannot fail");
    let envelope = TxEnvelope::from(tx.into_signed(sig));
    Signed {
        sender: t.sender,
        raw: envelope.encoded_2718().into(),
        hash: *envelope.tx_hash(),
    }
}

/// The benchmark's accounts: fixed keys, so runs are comparable.
fn accounts(n: usize) -> Vec<PrivateKeySigner> {
    (0..n)
        .map(|i| {
            PrivateKeySigner::from_bytes(&keccak256(format!("loft bench account {i}")))
                .expect("a keccak hash is a valid key with overwhelming probability")
        })
        .collect()
}

/// Sends `requests` from `l1`'s key one after the other, each confirmed.
async fn send_all(
    l1: &dyn L1Client,
    requests: impl IntoIterator<Item = TransactionRequest>,
) -> Result<(), BenchError> {
    for r in requests {
        let receipt = loft_l1::send_and_confirm(l1, r)
            .await
            .map_err(|e| setup(e.to_string()))?;
        if !receipt.status() {
            return Err(setup(format!(
                "setup transaction {} reverted",
                receipt.transaction_hash
            )));
        }
    }
    Ok(())
}

fn setup(reason: String) -> BenchError {
    BenchError::Setup {
        backend: "loft",
        reason,
    }
}

/// Runs the benchmark (see the module docs).
pub async fn eth_profile(options: &EthBenchOptions) -> Result<EthBenchReport, BenchError> {
    if options.accounts < 2
        || options.transfers == 0
        || options.half_load_transfers == 0
        || options.blob_transfers == 0
    {
        return Err(setup(
            "need at least 2 accounts and some transfers in both runs".into(),
        ));
    }
    // Fail now, not after the loft part, when the comparison cannot run.
    if !options.skip_anvil && !options.anvil.is_file() {
        return Err(BenchError::Setup {
            backend: "anvil",
            reason: format!(
                "no anvil at {} (run scripts/install-tools.sh, pass --anvil PATH, or --no-anvil)",
                options.anvil.display()
            ),
        });
    }
    let mut config = ChainConfig::devnet();
    // Batches up to six blobs (761,856 bytes); the batcher keeps a calldata batch within one L1
    // transaction's gas cap (400,000 bytes). Calldata first: the blob run posts blobs.
    config.rollup.max_batch_bytes =
        (loft_stf::blob::MAX_BLOBS_PER_TX * loft_stf::blob::DATA_PER_BLOB) as u64;
    config.rollup.batch_data = loft_config::BatchData::Calldata;
    config.rollup.batch_interval_ms = 1_000;
    let dev = DevChainConfig::from_chain_config(&config, None).map_err(|e| setup(e.to_string()))?;
    let deployer_key = dev.dev_keys[0].clone();
    let funder_key = dev.dev_keys[1].clone();

    // The L1, and a client of it for the operator (deploys, posts) and one for the funder.
    let (operator, funder, l1_name): (Arc<dyn L1Client>, Arc<dyn L1Client>, String) =
        match &options.l1_rpc {
            None => {
                let chain = DevChain::open(dev).map_err(|e| setup(e.to_string()))?;
                (
                    Arc::new(EmbeddedL1::new(chain.clone(), deployer_key.clone())),
                    Arc::new(EmbeddedL1::new(chain, funder_key.clone())),
                    "embedded (revm, Osaka, a block per transaction)".into(),
                )
            }
            Some(url) => {
                let connect = |key: PrivateKeySigner| {
                    let mut c = RpcL1Config::new(url.clone());
                    c.expected_chain_id = Some(config.l1.chain_id);
                    RpcL1::connect(c, key)
                };
                (
                    Arc::new(
                        connect(deployer_key.clone())
                            .await
                            .map_err(|e| setup(e.to_string()))?,
                    ),
                    Arc::new(
                        connect(funder_key.clone())
                            .await
                            .map_err(|e| setup(e.to_string()))?,
                    ),
                    format!("JSON-RPC at {url}"),
                )
            }
        };
    let mut deploy_options = loft_node::deploy_options(&config);
    deploy_options.dev_token = true;
    let deployment = deploy(operator.as_ref(), deploy_options)
        .await
        .map_err(|e| setup(e.to_string()))?;
    let token = deployment
        .dev_token
        .ok_or_else(|| setup("no dev token deployed".into()))?;
    let (node, _node_dir) = start_node(&config, &deployment, operator.clone(), true).await?;

    // Accounts: ETH and tokens on L1 (for the direct comparison) and on L2 (through the bridge).
    let keys = accounts(options.accounts);
    let eth = U256::from(10u64).pow(U256::from(18u64));
    let tokens = U256::from(1_000_000u64) * eth;
    tracing::info!(target: "loft::bench", accounts = keys.len(), "funding accounts on L1 and L2");
    let mut setup_txs = vec![
        TransactionRequest::default().with_to(token).with_input(
            DevToken::mintCall {
                to: funder_key.address(),
                amount: tokens * U256::from(keys.len()),
            }
            .abi_encode(),
        ),
        TransactionRequest::default().with_to(token).with_input(
            DevToken::approveCall {
                spender: deployment.bridge,
                value: tokens * U256::from(keys.len()),
            }
            .abi_encode(),
        ),
    ];
    for key in &keys {
        let a = key.address();
        setup_txs.push(TransactionRequest::default().with_to(a).with_value(eth));
        setup_txs.push(
            TransactionRequest::default().with_to(token).with_input(
                DevToken::mintCall {
                    to: a,
                    amount: tokens,
                }
                .abi_encode(),
            ),
        );
        setup_txs.push(
            TransactionRequest::default()
                .with_to(deployment.bridge)
                .with_value(eth)
                .with_input(L1Bridge::depositETHCall { l2Recipient: a }.abi_encode()),
        );
        setup_txs.push(
            TransactionRequest::default()
                .with_to(deployment.bridge)
                .with_input(
                    L1Bridge::depositERC20Call {
                        token,
                        l2Recipient: a,
                        amount: tokens,
                    }
                    .abi_encode(),
                ),
        );
    }
    send_all(funder.as_ref(), setup_txs).await?;
    let queue_len: U256 = bridge_call(
        funder.as_ref(),
        deployment.bridge,
        L1Bridge::queueLengthCall {},
    )
    .await
    .map_err(|e| setup(e.to_string()))?;
    let queue_len: u64 = queue_len.to();
    wait_for(
        Duration::from_secs(60),
        "the deposits credited on L2",
        || node.shared.sequencer().next_queue() >= queue_len,
    )
    .await?;
    // Post the deposits' blocks first, so the measured batches hold only the transfers.
    let first_transfer_block = wait_posted(&node, "the deposits' batches on L1").await? + 1;

    // The workload, signed for L2 and for L1.
    let all = transfers(
        options.transfers + options.half_load_transfers + options.blob_transfers,
        keys.len(),
        options.erc20_percent,
    );
    tracing::info!(target: "loft::bench", transfers = all.len(), "signing the workload for L2 and L1");
    let l2_work = sign(
        &all,
        &keys,
        &SignFor {
            chain_id: config.l2.chain_id,
            token: loft_state::layout::l2_token_address(token),
            max_fee: 2 * config.l2.base_fee as u128,
            eth_gas: 21_000,
            erc20_gas: 40_000,
        },
    );
    let l1_sign = SignFor {
        chain_id: config.l1.chain_id,
        token,
        max_fee: 200_000_000_000,
        eth_gas: 21_000,
        erc20_gas: 100_000,
    };
    let l1_work = sign(&all, &keys, &l1_sign);

    // Which batch carried which block, and when the batch was seen on L1.
    let included: Arc<Mutex<BTreeMap<u64, Instant>>> = Arc::default();
    let watcher = {
        let included = included.clone();
        let shared = node.shared.clone();
        tokio::spawn(async move {
            let mut next = shared
                .db
                .last_batch()
                .ok()
                .flatten()
                .map_or(0, |b| b.index + 1);
            loop {
                while let Ok(Some(b)) = shared.db.batch(next) {
                    included
                        .lock()
                        .expect("not poisoned")
                        .insert(b.last_block, Instant::now());
                    next += 1;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    // Peak, then half load.
    let url = format!("http://{}", node.rpc_addr);
    let (peak_work, rest) = l2_work.split_at(options.transfers);
    let (half_work, blob_work) = rest.split_at(options.half_load_transfers);
    tracing::info!(target: "loft::bench", transfers = peak_work.len(), workers = options.workers, "peak: as fast as the sequencer answers");
    let peak = load::run(
        &LoadPlan {
            backend: "loft",
            url: url.clone(),
            workers: options.workers,
            rate: None,
        },
        peak_work,
    )
    .await?;
    let half_rate = peak.tx_per_sec() / 2.0;
    tracing::info!(target: "loft::bench", transfers = half_work.len(), rate = half_rate as u64, "half load: open loop at half the peak rate");
    let half = load::run(
        &LoadPlan {
            backend: "loft",
            url: url.clone(),
            workers: options.workers,
            rate: Some(half_rate),
        },
        half_work,
    )
    .await?;
    // The blob run: the same rate, its blocks posted in blob batches (the earlier ones all in
    // calldata first).
    wait_posted(&node, "the calldata batches on L1").await?;
    node.shared.set_batch_data(loft_config::BatchData::Blobs);
    tracing::info!(target: "loft::bench", transfers = blob_work.len(), rate = half_rate as u64, "half load with blob batches");
    let blobs_run = load::run(
        &LoadPlan {
            backend: "loft",
            url: url.clone(),
            workers: options.workers,
            rate: Some(half_rate),
        },
        blob_work,
    )
    .await?;

    // Every transfer's block on L1, then the last one final.
    tracing::info!(target: "loft::bench", "waiting for every transfer's batch on L1");
    wait_for(Duration::from_secs(120), "the transfers sealed", || {
        let s = node.shared.sequencer();
        !s.has_open_block()
    })
    .await?;
    let last_block = node.shared.sequencer().head().number;
    wait_for(
        Duration::from_secs(300),
        "the transfers' batches on L1",
        || {
            included
                .lock()
                .expect("not poisoned")
                .range(last_block..)
                .next()
                .is_some()
        },
    )
    .await?;
    watcher.abort();
    let included = included.lock().expect("not poisoned").clone();
    let mut to_l1 = Vec::with_capacity(l2_work.len());
    for (run, work) in [
        (&peak, peak_work),
        (&half, half_work),
        (&blobs_run, blob_work),
    ] {
        for (i, w) in work.iter().enumerate() {
            let block = node
                .shared
                .db
                .tx(&w.hash)
                .map_err(|e| setup(e.to_string()))?
                .ok_or_else(|| setup(format!("transfer {} not in a block", w.hash)))?
                .block;
            let seen = included
                .range(block..)
                .next()
                .map(|(_, at)| *at)
                .ok_or_else(|| setup(format!("block {block} in no batch")))?;
            let answered = run.started + Duration::from_secs_f64(run.answered_at[i]);
            to_l1.push(seen.saturating_duration_since(answered).as_secs_f64() * 1000.0);
        }
    }
    let batches: Vec<_> = (0..)
        .map_while(|i| node.shared.db.batch(i).ok().flatten())
        .filter(|b| b.last_block >= first_transfer_block)
        .collect();
    let last_batch = batches
        .last()
        .ok_or_else(|| setup("no batch holds the transfers".into()))?
        .clone();
    tracing::info!(target: "loft::bench", batch = last_batch.index, challenge_period_secs = config.rollup.challenge_period_secs, "waiting for the last batch to be final on L1");
    let finality_started = Instant::now();
    loop {
        // A quiet dev chain makes no blocks, and finality is judged at the latest block's time:
        // a transfer of nothing to oneself makes one on any L1.
        send_all(
            funder.as_ref(),
            [TransactionRequest::default().with_to(funder_key.address())],
        )
        .await?;
        let fin = rollup_call(
            operator.as_ref(),
            deployment.rollup,
            L1Rollup::isFinalCall {
                index: last_batch.index,
            },
        )
        .await
        .map_err(|e| setup(e.to_string()))?;
        if fin {
            break;
        }
        if finality_started.elapsed()
            > Duration::from_secs(config.rollup.challenge_period_secs + 60)
        {
            return Err(setup("the last batch did not become final".into()));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let transfers_in_batches: usize = (first_transfer_block..=last_batch.last_block)
        .map(|n| {
            node.shared
                .db
                .block(n)
                .ok()
                .flatten()
                .map_or(0, |b| b.tx_hashes.len())
        })
        .sum();
    if transfers_in_batches != l2_work.len() {
        return Err(setup(format!(
            "the batches hold {transfers_in_batches} transactions, expected the {} transfers",
            l2_work.len()
        )));
    }
    let (blob_records, calldata_records): (Vec<_>, Vec<_>) = batches
        .iter()
        .partition(|b| b.data_kind == loft_contracts::DATA_BLOBS);
    let calldata_batches =
        BatchFigures::of("calldata (submitBatch)", &calldata_records, &node.shared.db);
    let blob_batches = (!blob_records.is_empty()).then(|| {
        BatchFigures::of(
            "EIP-4844 blobs (submitBatchBlobs)",
            &blob_records,
            &node.shared.db,
        )
    });

    // A fresh verifier replays every batch from L1.
    tracing::info!(target: "loft::bench", batches = last_batch.index + 1, "verifier syncing from L1");
    let sync = crate::verify_from_l1(&config, &deployment, funder.clone(), &node).await?;
    let verifier = VerifierFigures {
        transactions: sync.transactions,
        batches: sync.batches,
        tx_per_sec: sync.tx_per_sec(),
    };
    drop(node);

    // The same transfers on this L1, one after the other, gas from the receipts.
    tracing::info!(target: "loft::bench", transfers = l1_work.len(), "the same transfers on L1");
    let mut hashes = Vec::with_capacity(l1_work.len());
    for w in &l1_work {
        hashes.push(
            funder
                .send_raw_transaction(w.raw.clone())
                .await
                .map_err(|e| setup(e.to_string()))?,
        );
    }
    let (mut eth_gas, mut eth_n, mut erc20_gas, mut erc20_n) = (0u64, 0u64, 0u64, 0u64);
    for (h, t) in hashes.iter().zip(&all) {
        let receipt = wait_receipt(funder.as_ref(), *h, "direct L1").await?;
        if !receipt.status() {
            return Err(setup(format!("direct L1 transfer {h} reverted")));
        }
        match t.kind {
            Kind::Eth => (eth_gas, eth_n) = (eth_gas + receipt.gas_used, eth_n + 1),
            Kind::Erc20 => (erc20_gas, erc20_n) = (erc20_gas + receipt.gas_used, erc20_n + 1),
        }
    }
    let n = l1_work.len() as f64;
    let direct_l1 = DirectL1Figures {
        transfers: l1_work.len(),
        bytes_per_transfer: l1_work.iter().map(|w| w.raw.len()).sum::<usize>() as f64 / n,
        gas_per_transfer: (eth_gas + erc20_gas) as f64 / n,
        gas_per_eth_transfer: eth_gas as f64 / eth_n.max(1) as f64,
        gas_per_erc20_transfer: erc20_gas as f64 / erc20_n.max(1) as f64,
    };

    // The worst-case fraud proof on this L1: the operator posts lying batches, the funder proves.
    tracing::info!(target: "loft::bench", "fraud proof: the worst-case proveStep on L1, blob and calldata batches");
    let fraud_proof =
        crate::fraud_gas::worst_case_fraud_gas(operator.as_ref(), funder.as_ref()).await?;

    // The same (peak) transfers on a fresh anvil, by the same load generator.
    let (anvil, anvil_timeline) = if options.skip_anvil {
        (None, Vec::new())
    } else {
        let (figures, run) = on_anvil(options, &keys, token, &l1_work[..options.transfers]).await?;
        (Some(figures), load::timeline(&run, bucket_width(&run), 0.0))
    };

    let peak_figures = RunFigures::of(&peak, None);
    let half_figures = RunFigures::of(&half, Some(half_rate));
    let blobs_figures = RunFigures::of(&blobs_run, Some(half_rate));
    let width = bucket_width(&peak);
    let mut timeline = load::timeline(&peak, width, 0.0);
    let gap = (half.started - peak.started).as_secs_f64();
    timeline.extend(load::timeline(&half, width, gap));
    let gap = (blobs_run.started - peak.started).as_secs_f64();
    timeline.extend(load::timeline(&blobs_run, width, gap));
    Ok(EthBenchReport {
        workload: format!(
            "{} transfers between {} accounts ({}% ERC-20), pre-signed, sent over JSON-RPC by {} connections: {} as fast as answered, then {} at half that rate, then {} at that rate with blob batches",
            l2_work.len(),
            keys.len(),
            options.erc20_percent,
            options.workers,
            options.transfers,
            options.half_load_transfers,
            options.blob_transfers
        ),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        l1: l1_name,
        ratios: Ratios {
            sequencer_over_anvil: anvil
                .as_ref()
                .map(|a| peak_figures.tx_per_sec / a.executed_tx_per_sec),
            l1_gas_direct_over_calldata: direct_l1.gas_per_transfer
                / calldata_batches.gas_per_transfer,
            l1_gas_direct_over_blob: blob_batches
                .as_ref()
                .map(|b| direct_l1.gas_per_transfer / b.gas_per_transfer),
            l1_bytes_direct_over_batch: direct_l1.bytes_per_transfer
                / calldata_batches.bytes_per_transfer,
            verifier_over_sequencer: verifier.tx_per_sec / peak_figures.tx_per_sec,
        },
        peak: peak_figures,
        half_load: half_figures,
        half_load_blobs: blobs_figures,
        inclusion: InclusionFigures {
            batch_interval_ms: config.rollup.batch_interval_ms,
            block_time_ms: config.l2.block_time_ms,
            to_final_p50_secs: Latency::of(&to_l1).p50_ms / 1000.0
                + config.rollup.challenge_period_secs as f64,
            to_l1: Latency::of(&to_l1),
            challenge_period_secs: config.rollup.challenge_period_secs,
            final_on_l1: true,
        },
        calldata_batches,
        blob_batches,
        direct_l1,
        anvil,
        verifier,
        fraud_proof,
        timeline,
        anvil_timeline,
    })
}

/// Waits until every block the node holds is sealed and posted in a batch; returns the last one.
async fn wait_posted(node: &loft_node::Node, what: &str) -> Result<u64, BenchError> {
    wait_for(Duration::from_secs(60), what, || {
        !node.shared.sequencer().has_open_block()
    })
    .await?;
    let head = node.shared.sequencer().head().number;
    wait_for(Duration::from_secs(120), what, || {
        node.shared
            .db
            .last_batch()
            .ok()
            .flatten()
            .is_some_and(|b| b.last_block >= head)
    })
    .await?;
    Ok(head)
}

/// Timeline intervals: about 40 per run, at least 50 ms.
fn bucket_width(run: &LoadRun) -> f64 {
    (run.seconds / 40.0).max(0.05)
}

async fn wait_for(
    limit: Duration,
    what: &str,
    mut done: impl FnMut() -> bool,
) -> Result<(), BenchError> {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > limit {
            return Err(setup(format!("{what}: not within {} s", limit.as_secs())));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Raw JSON-RPC call (anvil's own methods have no binding in the L1 client).
async fn rpc(url: &str, method: &str, params: serde_json::Value) -> Result<(), BenchError> {
    let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let answer: serde_json::Value = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| setup(e.to_string()))?
        .text()
        .await
        .map_err(|e| setup(e.to_string()))
        .and_then(|t| serde_json::from_str(&t).map_err(|e| setup(e.to_string())))?;
    match answer.get("error") {
        Some(e) => Err(setup(format!("{method}: {e}"))),
        None => Ok(()),
    }
}

/// The same transfers on a fresh anvil: the accounts get their ETH with `anvil_setBalance`, the
/// dev token's code goes to the same address with `anvil_setCode` and mints their tokens, so the
/// very bytes executed on the embedded L1 run here.
async fn on_anvil(
    options: &EthBenchOptions,
    keys: &[PrivateKeySigner],
    token: Address,
    work: &[Signed],
) -> Result<(AnvilFigures, LoadRun), BenchError> {
    let anvil_setup = |reason: String| BenchError::Setup {
        backend: "anvil",
        reason,
    };
    // A block gas limit high enough for every transfer of a run in one block: anvil's default
    // (30 M, about 1,400 ETH transfers) would measure the limit, not anvil. Set up in automine;
    // the transfers run with interval mining (`evm_setIntervalMining`), because automine under
    // concurrent load leaves ready transactions unmined (foundry-rs/foundry#10122).
    let anvil = start_anvil(&options.anvil, &["--gas-limit", "10000000000"]).await?;
    let dev = DevChainConfig::from_chain_config(&ChainConfig::devnet(), None)
        .map_err(|e| anvil_setup(e.to_string()))?;
    let mut c = RpcL1Config::new(anvil.url.clone());
    c.retries = 0;
    let minter = RpcL1::connect(c, dev.dev_keys[0].clone())
        .await
        .map_err(|e| anvil_setup(e.to_string()))?;
    let eth = U256::from(10u64).pow(U256::from(18u64));
    for key in keys {
        rpc(
            &anvil.url,
            "anvil_setBalance",
            serde_json::json!([key.address(), format!("{eth:#x}")]),
        )
        .await?;
    }
    rpc(
        &anvil.url,
        "anvil_setCode",
        serde_json::json!([token, DevToken::DEPLOYED_BYTECODE.clone()]),
    )
    .await?;
    send_all(
        &minter,
        keys.iter().map(|k| {
            TransactionRequest::default().with_to(token).with_input(
                DevToken::mintCall {
                    to: k.address(),
                    amount: U256::from(1_000_000u64) * eth,
                }
                .abi_encode(),
            )
        }),
    )
    .await?;
    let mode = if options.anvil_block_time_secs > 0 {
        rpc(
            &anvil.url,
            "evm_setIntervalMining",
            serde_json::json!([options.anvil_block_time_secs]),
        )
        .await?;
        format!(
            "{}, then a block every {} s",
            anvil.mode, options.anvil_block_time_secs
        )
    } else {
        anvil.mode.clone()
    };
    tracing::info!(target: "loft::bench", transfers = work.len(), %mode, "the same transfers on anvil");
    let run = load::run(
        &LoadPlan {
            backend: "anvil",
            url: anvil.url.clone(),
            workers: options.workers,
            rate: None,
        },
        work,
    )
    .await?;
    // Executed: each sender's transactions run in nonce order, so once every sender's last one
    // has a receipt, all have run. Polled together, so polling does not add to the time.
    let mut last: BTreeMap<usize, B256> = BTreeMap::new();
    for w in work {
        last.insert(w.sender, w.hash);
    }
    let waiting = Instant::now();
    loop {
        let mut missing = 0;
        for h in last.values() {
            if minter
                .receipt(*h)
                .await
                .map_err(|e| anvil_setup(e.to_string()))?
                .is_none()
            {
                missing += 1;
            }
        }
        if missing == 0 {
            break;
        }
        if waiting.elapsed() > Duration::from_secs(300) {
            return Err(anvil_setup(format!(
                "{missing} senders' last transfers not mined after 300 s"
            )));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let executed = run.started.elapsed().as_secs_f64();
    for w in work {
        let receipt = wait_receipt(&minter, w.hash, "anvil").await?;
        if !receipt.status() {
            return Err(anvil_setup(format!(
                "transfer {} reverted on anvil",
                w.hash
            )));
        }
    }
    Ok((
        AnvilFigures {
            mode,
            transactions: work.len(),
            accepted_tx_per_sec: run.tx_per_sec(),
            executed_tx_per_sec: work.len() as f64 / executed,
        },
        run,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workload_never_sends_to_oneself_and_mixes_kinds() {
        let work = transfers(1_000, 8, 20);
        assert!(
            work.iter()
                .all(|t| t.sender != t.recipient && t.recipient < 8)
        );
        let erc20 = work.iter().filter(|t| t.kind == Kind::Erc20).count();
        assert_eq!(erc20, 200);
        // Every sender sends in turn.
        assert!(
            work.chunks(8)
                .all(|c| c.iter().enumerate().all(|(i, t)| t.sender == i))
        );
    }
}
