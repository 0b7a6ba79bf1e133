//! `loft bench channels`: payments per second and latency between two channel daemons over
//! loopback, each committing every state to its database on disk before answering, side by side
//! with the same payments made as L1 transfers on the embedded L1 (throughput and gas).

use std::sync::Arc;
use std::time::Instant;

use alloy::network::TransactionBuilder;
use alloy::primitives::U256;
use alloy::rpc::types::TransactionRequest;
use loft_channel::ChannelKey;
use loft_channel::daemon::{Daemon, DaemonConfig, PayReport, control_call};
use loft_config::ChainConfig;
use loft_l1::L1Client;
use loft_l1_embedded::{DevChain, DevChainConfig, EmbeddedL1};
use serde::Serialize;
use serde_json::{Value, json};
use tracing::info;

use crate::BenchError;

/// Options of [`channel_payments`].
#[derive(Debug, Clone)]
pub struct ChannelBenchOptions {
    /// Payments in each direction (A pays B and B pays A at the same time).
    pub payments: u64,
    /// Most payments in flight per direction.
    pub window: usize,
    /// Plain L1 transfers to time for the comparison.
    pub l1_transfers: u64,
}

/// What [`channel_payments`] measured.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelBenchReport {
    /// The workload in words.
    pub workload: String,
    /// Payments made (both directions).
    pub payments: u64,
    /// Wall time of both streams.
    pub elapsed_ms: f64,
    /// Payments per second, both directions together.
    pub payments_per_sec: f64,
    /// A to B alone.
    pub a_to_b: PayReport,
    /// B to A alone (each needs one more message: B's request).
    pub b_to_a: PayReport,
    /// The same number of plain ETH transfers on the embedded L1, sent one after the other,
    /// each waited for: transfers per second.
    pub l1_transfers_per_sec: f64,
    /// Channel payments per second over L1 transfers per second.
    pub throughput_ratio: f64,
    /// L1 gas of the whole channel: open, B's top-up, cooperative close.
    pub channel_l1_gas: u64,
    /// That gas per payment.
    pub l1_gas_per_payment: f64,
    /// Gas of one plain L1 ETH transfer (measured).
    pub direct_gas_per_transfer: u64,
}

impl ChannelBenchReport {
    /// A human-readable table.
    pub fn table(&self) -> String {
        format!(
            "{}\n\
             {:<34} {:>16} {:>16} {:>9}\n\
             {:<34} {:>16.0} {:>16.0} {:>8.1}x\n\
             {:<34} {:>16.2} {:>16} {:>8.0}x\n\
             latency (submission to durable state both signed): A->B p50 {} us, p99 {} us; B->A p50 {} us, p99 {} us\n\
             A->B {:.0} payments/s, B->A {:.0} payments/s while both stream; channel L1 gas {} (open, top-up, close)\n",
            self.workload,
            "",
            "channel",
            "direct on L1",
            "ratio",
            "payments per second",
            self.payments_per_sec,
            self.l1_transfers_per_sec,
            self.throughput_ratio,
            "L1 gas per payment",
            self.l1_gas_per_payment,
            self.direct_gas_per_transfer,
            self.direct_gas_per_transfer as f64 / self.l1_gas_per_payment.max(1e-9),
            self.a_to_b.latency_p50_us,
            self.a_to_b.latency_p99_us,
            self.b_to_a.latency_p50_us,
            self.b_to_a.latency_p99_us,
            self.a_to_b.per_second,
            self.b_to_a.per_second,
            self.channel_l1_gas,
        )
    }
}

fn setup(reason: impl std::fmt::Display) -> BenchError {
    BenchError::Setup {
        backend: "channels",
        reason: reason.to_string(),
    }
}

async fn call(d: &Daemon, method: &'static str, params: Value) -> Result<Value, BenchError> {
    control_call(&format!("http://{}", d.rpc_addr()), method, params)
        .await
        .map_err(setup)
}

/// Runs the benchmark: an embedded L1 in this process, two daemons with their databases in a
/// temporary folder, real TCP between them.
pub async fn channel_payments(
    options: &ChannelBenchOptions,
) -> Result<ChannelBenchReport, BenchError> {
    let config = ChainConfig::devnet();
    let dev = DevChainConfig::from_chain_config(&config, None).map_err(setup)?;
    let keys = dev.dev_keys.clone();
    let chain = DevChain::open(dev).map_err(setup)?;
    let l1 = |n: usize| -> Arc<dyn L1Client> {
        Arc::new(EmbeddedL1::new(chain.clone(), keys[n].clone()))
    };
    let adjudicator = loft_channel::deploy(l1(0).as_ref(), 3600, 1_000)
        .await
        .map_err(setup)?;
    let dir = tempfile::tempdir().map_err(setup)?;
    let daemon = |n: usize, name: &str| {
        let mut c = DaemonConfig::new(dir.path().join(name));
        c.window = options.window;
        let key = ChannelKey::from_bytes(&keys[n].to_bytes()).expect("dev keys are valid");
        Daemon::start(key, l1(n), adjudicator, c)
    };
    let a = daemon(1, "a").await.map_err(setup)?;
    let b = daemon(2, "b").await.map_err(setup)?;
    let deposit = U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64));
    let open = call(
        &a,
        "channel_open",
        json!({"peer": b.peer_addr().to_string(), "counterparty": b.address(), "amount": deposit}),
    )
    .await?;
    let fund = call(&b, "channel_fund", json!({"amount": deposit})).await?;
    info!(
        payments = options.payments,
        "channel open; streaming payments both ways"
    );
    let amount = U256::from(1_000_000_000u64);
    let started = Instant::now();
    let (ra, rb) = tokio::join!(
        call(
            &a,
            "channel_pay",
            json!({"amount": amount, "count": options.payments})
        ),
        call(
            &b,
            "channel_pay",
            json!({"amount": amount, "count": options.payments})
        ),
    );
    let elapsed = started.elapsed();
    let a_to_b: PayReport = serde_json::from_value(ra?).map_err(setup)?;
    let b_to_a: PayReport = serde_json::from_value(rb?).map_err(setup)?;
    for r in [&a_to_b, &b_to_a] {
        if r.failed > 0 || r.paid != options.payments {
            return Err(BenchError::Workload {
                backend: "channels",
                index: r.paid as usize,
                reason: format!("{} payments failed: {:?}", r.failed, r.first_error),
            });
        }
    }
    let close = call(&b, "channel_close", json!({})).await?;
    let gas = |v: &Value| v["gasUsed"].as_u64().unwrap_or(0);
    let channel_l1_gas = gas(&open) + gas(&fund) + gas(&close);
    a.stop().await;
    b.stop().await;
    let payments = 2 * options.payments;
    info!(
        transfers = options.l1_transfers,
        "timing the same payments as L1 transfers"
    );
    let payer = l1(3);
    let to = keys[4].address();
    let l1_started = Instant::now();
    let mut direct_gas = 0;
    for i in 0..options.l1_transfers {
        let r = payer
            .send_transaction(TransactionRequest::default().with_to(to).with_value(amount))
            .await
            .map_err(|e| BenchError::Workload {
                backend: "embedded L1",
                index: i as usize,
                reason: e.to_string(),
            })?;
        direct_gas = r.gas_used;
    }
    let l1_secs = l1_started.elapsed().as_secs_f64().max(1e-9);
    let l1_transfers_per_sec = options.l1_transfers as f64 / l1_secs;
    let payments_per_sec = payments as f64 / elapsed.as_secs_f64().max(1e-9);
    Ok(ChannelBenchReport {
        workload: format!(
            "{payments} payments ({} each way at once, window {}), two daemons over TCP loopback, every state on disk (redb, fsync) before it is answered",
            options.payments, options.window
        ),
        payments,
        elapsed_ms: elapsed.as_secs_f64() * 1e3,
        payments_per_sec,
        a_to_b,
        b_to_a,
        l1_transfers_per_sec,
        throughput_ratio: payments_per_sec / l1_transfers_per_sec.max(1e-9),
        channel_l1_gas,
        l1_gas_per_payment: channel_l1_gas as f64 / payments as f64,
        direct_gas_per_transfer: direct_gas,
    })
}
