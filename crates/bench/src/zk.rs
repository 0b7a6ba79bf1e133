//! `loft bench zk`: one full zk batch of N signed transfers at a given tree depth — its
//! constraints, the devnet setup, the proof (transfers/s on this machine), the L1 bytes, and
//! the L1 gas of `submitBatch` with the proof on the embedded L1 — side by side with the same
//! transfers as plain L1 ETH transfers and with the optimistic profile's batch
//! ([`crate::rollup_batch`]) in the same run.
//!
//! The rollup starts from a genesis in which the senders already hold keys and balances (the
//! contract takes any genesis root), so the measured batch is N real transfers.

use std::time::Instant;

use alloy::network::TransactionBuilder;
use alloy::primitives::U256;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use loft_config::ChainConfig;
use loft_contracts::{ZkDeployOptions, ZkRollup, deploy_zk};
use loft_l1::{L1Client, send_and_confirm};
use loft_l1_embedded::{DevChain, DevChainConfig, EmbeddedL1};
use loft_zk::{Account, AccountTree, BatchBuilder, ZkParams, testing};
use loft_zk_prover::circuit::BatchCircuit;
use loft_zk_prover::prover::Keys;
use loft_zk_prover::solidity::{proof_calldata, verifier_constructor_words};
use serde::Serialize;

use crate::{BenchError, RollupBenchOptions, rollup_batch};

/// What `loft bench zk` runs.
#[derive(Debug, Clone)]
pub struct ZkBenchOptions {
    /// Tree depth (2^depth accounts).
    pub tree_depth: u8,
    /// Transfer slots of the batch, all filled.
    pub transfers: usize,
    /// General slots of the batch (no-ops here).
    pub general: usize,
    /// L2 transfers of the optimistic profile's batch measured alongside (0 skips it).
    pub optimistic_transfers: usize,
}

/// The figures.
#[derive(Debug, Clone, Serialize)]
pub struct ZkBenchReport {
    /// What was measured.
    pub workload: String,
    /// Tree depth.
    pub tree_depth: u8,
    /// Transfer slots.
    pub transfers: usize,
    /// General slots.
    pub general: usize,
    /// Constraints of the whole batch.
    pub constraints: usize,
    /// Constraints of one transfer slot (Merkle paths, signature, range checks).
    pub constraints_per_transfer: f64,
    /// Constraints of one general slot.
    pub constraints_per_general: f64,
    /// Constraints of the public input (root bits and SHA-256 of the public data).
    pub constraints_public_input: usize,
    /// Seconds of the insecure devnet setup.
    pub setup_secs: f64,
    /// Size of the proving key, uncompressed.
    pub proving_key_bytes: usize,
    /// Seconds to prove the batch.
    pub prove_secs: f64,
    /// Transfers proved per second.
    pub transfers_per_sec: f64,
    /// Constraints proved per second.
    pub constraints_per_sec: f64,
    /// Bytes of public data per batch.
    pub pubdata_bytes: usize,
    /// L1 bytes per transfer: its chunk of the public data.
    pub l1_bytes_per_transfer: f64,
    /// Gas of `submitBatch` (proof verified, public data hashed and walked).
    pub submit_gas: u64,
    /// `submit_gas / transfers`.
    pub l1_gas_per_transfer: f64,
    /// Gas of the same transfer as a plain ETH transfer on L1.
    pub direct_gas_per_transfer: f64,
    /// The optimistic profile's L1 gas per transfer (its own batch of `optimistic_transfers`).
    pub optimistic_gas_per_transfer: Option<f64>,
    /// The optimistic profile's L1 bytes per transfer.
    pub optimistic_bytes_per_transfer: Option<f64>,
    /// Bytes of the same transfer signed as an L1 transaction (from the optimistic run).
    pub direct_bytes_per_transfer: Option<f64>,
    /// Transfers in the optimistic profile's batch.
    pub optimistic_transfers: usize,
}

impl ZkBenchReport {
    /// A human-readable table.
    pub fn table(&self) -> String {
        let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1}"));
        format!(
            "{}\n\
             circuit: {} constraints: {:.0} per transfer slot, {:.0} per general slot, {} for the public input\n\
             prover: setup {:.1} s (proving key {} MB), proof {:.1} s = {:.2} transfers/s, {:.0} constraints/s\n\
             {:<34} {:>12} {:>12} {:>14}\n\
             {:<34} {:>12.1} {:>12} {:>14}\n\
             {:<34} {:>12.1} {:>12.1} {:>14}\n\
             zk batch: {} public data bytes, submitBatch {} gas (proof included); optimistic batch of {} transfers\n",
            self.workload,
            self.constraints,
            self.constraints_per_transfer,
            self.constraints_per_general,
            self.constraints_public_input,
            self.setup_secs,
            self.proving_key_bytes / 1_000_000,
            self.prove_secs,
            self.transfers_per_sec,
            self.constraints_per_sec,
            "per transfer",
            "zk batch",
            "direct L1",
            "optimistic",
            "L1 bytes",
            self.l1_bytes_per_transfer,
            opt(self.direct_bytes_per_transfer),
            opt(self.optimistic_bytes_per_transfer),
            "L1 gas",
            self.l1_gas_per_transfer,
            self.direct_gas_per_transfer,
            opt(self.optimistic_gas_per_transfer),
            self.pubdata_bytes,
            self.submit_gas,
            self.optimistic_transfers,
        )
    }
}

/// Runs the zk benchmark.
pub async fn zk_batch(options: &ZkBenchOptions) -> Result<ZkBenchReport, BenchError> {
    let setup_err = |reason: String| BenchError::Setup {
        backend: "zk",
        reason,
    };
    let n = options.transfers;
    let params = ZkParams {
        tree_depth: options.tree_depth,
        batch_general: options.general.max(1),
        batch_transfers: n,
        chain_id: 42069,
    };
    // Senders spread over the index space so their paths share little, as real accounts would.
    let accounts = (n + 1).min(1 << 20) as u32;
    let shift = 32 - u32::from(options.tree_depth);
    let index = |i: u32| -> u32 {
        match i {
            0 => 0,
            i => (i.wrapping_mul(2_654_435_761) >> shift).max(1),
        }
    };
    let mut tree = AccountTree::new(options.tree_depth);
    let mut used = std::collections::HashSet::new();
    let mut slots = Vec::new();
    for i in 0..accounts {
        let mut at = index(i);
        while !used.insert(at) {
            at += 1;
        }
        let (ax, ay) = testing::dev_key(i).public().xy();
        tree.set(
            at,
            Account {
                ax,
                ay,
                balance: 10u128.pow(21),
                nonce: 0,
            },
        );
        slots.push(at);
    }
    let genesis = tree.clone();
    let mut b = BatchBuilder::new(params, &tree);
    for j in 0..n {
        let s = 1 + j % (accounts as usize - 1);
        let r = 1 + (s % (accounts as usize - 1));
        let op = testing::signed_transfer(
            params.chain_id,
            &testing::dev_key(s as u32),
            slots[s],
            slots[r],
            1_000_000_000_000_000,
            1_000_000_000_000,
            (j / (accounts as usize - 1)) as u32,
        );
        b.push_transfer(&mut tree, Some(op))
            .map_err(|e| setup_err(format!("transfer {j}: {e}")))?;
    }
    let batch = b
        .finish(&mut tree)
        .map_err(|e| setup_err(format!("sealing: {e}")))?;

    tracing::info!(target: "loft::bench", transfers = n, depth = options.tree_depth, "measuring the circuit");
    let (report, ok) = BatchCircuit::new(params, batch.clone())
        .measure()
        .map_err(|e| setup_err(e.to_string()))?;
    if !ok {
        return Err(setup_err("the batch does not satisfy the circuit".into()));
    }
    tracing::info!(target: "loft::bench", constraints = report.total, "generating the devnet proving key");
    let t = Instant::now();
    let keys = tokio::task::spawn_blocking(move || Keys::devnet_setup(params, 1))
        .await
        .map_err(|e| setup_err(e.to_string()))?
        .map_err(|e| setup_err(e.to_string()))?;
    let setup_secs = t.elapsed().as_secs_f64();
    tracing::info!(target: "loft::bench", secs = format!("{setup_secs:.1}"), "proving the batch");
    let t = Instant::now();
    let (keys, proof) = {
        let batch = batch.clone();
        tokio::task::spawn_blocking(move || {
            let proof = keys.prove(params, &batch);
            (keys, proof)
        })
        .await
        .map_err(|e| setup_err(e.to_string()))?
    };
    let proof = proof.map_err(|e| setup_err(e.to_string()))?;
    let prove_secs = t.elapsed().as_secs_f64();

    tracing::info!(target: "loft::bench", secs = format!("{prove_secs:.1}"), "posting on the embedded L1");
    let config = ChainConfig::devnet();
    let dev =
        DevChainConfig::from_chain_config(&config, None).map_err(|e| setup_err(e.to_string()))?;
    let keys_l1 = dev.dev_keys.clone();
    let chain = DevChain::open(dev).map_err(|e| setup_err(e.to_string()))?;
    let operator = EmbeddedL1::new(chain.clone(), keys_l1[0].clone());
    let zk = deploy_zk(
        &operator,
        &ZkDeployOptions {
            verifying_key: verifier_constructor_words(keys.vk()).map(U256::from_be_bytes),
            genesis_root: U256::from_be_bytes(loft_zk::keys::fr_to_be(&genesis.root())),
            tree_depth: params.tree_depth,
            batch_transfers: n as u32,
            batch_general: params.batch_general as u32,
            chain_id: params.chain_id,
            operator: operator.sender(),
            force_inclusion_delay_secs: 3600,
        },
    )
    .await
    .map_err(|e| setup_err(e.to_string()))?;
    let call = ZkRollup::submitBatchCall {
        newRoot: U256::from_be_bytes(loft_zk::keys::fr_to_be(&batch.new_root)),
        pubdata: batch.pubdata.clone().into(),
        proof: proof_calldata(&proof).map(U256::from_be_bytes),
    };
    let submit = send_and_confirm(
        &operator,
        TransactionRequest::default()
            .with_to(zk.rollup)
            .with_input(call.abi_encode()),
    )
    .await
    .map_err(|e| BenchError::Workload {
        backend: "zk",
        index: 0,
        reason: e.to_string(),
    })?;
    let direct = send_and_confirm(
        &EmbeddedL1::new(chain.clone(), keys_l1[1].clone()),
        TransactionRequest::default()
            .with_to(keys_l1[2].address())
            .with_value(U256::from(1_000_000_000_000_000u64)),
    )
    .await
    .map_err(|e| BenchError::Workload {
        backend: "direct",
        index: 0,
        reason: e.to_string(),
    })?;

    let optimistic = if options.optimistic_transfers > 0 {
        tracing::info!(target: "loft::bench", transfers = options.optimistic_transfers, "the optimistic profile's batch");
        Some(
            rollup_batch(&RollupBenchOptions {
                transfers: options.optimistic_transfers,
                senders: 8,
            })
            .await?,
        )
    } else {
        None
    };
    Ok(ZkBenchReport {
        workload: format!(
            "zk batch: {n} signed transfers, tree depth {} (2^{} accounts), {} general slot(s), Groth16 over BN254 on this machine",
            options.tree_depth, options.tree_depth, params.batch_general
        ),
        tree_depth: options.tree_depth,
        transfers: n,
        general: params.batch_general,
        constraints: report.total,
        constraints_per_transfer: report.transfers as f64 / n as f64,
        constraints_per_general: report.general as f64 / params.batch_general as f64,
        constraints_public_input: report.public_input,
        setup_secs,
        proving_key_bytes: keys.proving_key_bytes(),
        prove_secs,
        transfers_per_sec: n as f64 / prove_secs,
        constraints_per_sec: report.total as f64 / prove_secs,
        pubdata_bytes: batch.pubdata.len(),
        l1_bytes_per_transfer: params.transfer_chunk_len() as f64,
        submit_gas: submit.gas_used,
        l1_gas_per_transfer: submit.gas_used as f64 / n as f64,
        direct_gas_per_transfer: direct.gas_used as f64,
        optimistic_gas_per_transfer: optimistic.as_ref().map(|o| o.l1_gas_per_transfer),
        optimistic_bytes_per_transfer: optimistic.as_ref().map(|o| o.l1_bytes_per_transfer),
        direct_bytes_per_transfer: optimistic.as_ref().map(|o| o.direct_bytes_per_transfer),
        optimistic_transfers: options.optimistic_transfers,
    })
}
