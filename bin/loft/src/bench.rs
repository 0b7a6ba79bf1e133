//! `loft bench`: loft's own benchmarks, each side by side with its alternative in one run.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use eyre::{Result, WrapErr};
use loft_bench::{
    ChannelBenchOptions, L1ThroughputOptions, RollupBenchOptions, ZkBenchOptions, channel_payments,
    l1_throughput, rollup_batch, zk_batch,
};

/// `loft bench`.
#[derive(Debug, Clone, Args)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    what: BenchCommand,
}

#[derive(Debug, Clone, Subcommand)]
enum BenchCommand {
    /// L1 throughput: the same pre-signed deposits on the embedded L1 and on a fresh anvil.
    L1(L1BenchArgs),
    /// One rollup batch of N L2 transfers: sequencer throughput and soft-confirmation latency over
    /// JSON-RPC, and L1 bytes and gas per transfer against the same transfers done on L1.
    Rollup(RollupBenchArgs),
    /// Payment channels: payments per second and latency between two daemons over loopback
    /// with every state on disk, against the same payments as L1 transfers.
    Channels(ChannelBenchArgs),
    /// One zk batch of N signed transfers: constraints per transfer, devnet setup and proving
    /// time (transfers/s), L1 bytes and gas per transfer with the proof verified on L1, against
    /// the same transfers done on L1 and the optimistic profile's batch.
    Zk(ZkBenchArgs),
}

#[derive(Debug, Clone, Args)]
struct ZkBenchArgs {
    /// Transfer slots of the batch (all filled). Proving memory grows with it: 64 needs ~6 GB.
    #[arg(long, default_value_t = 16)]
    transfers: usize,
    /// Tree depth (even, 8..=24): 2^depth accounts.
    #[arg(long, default_value_t = 24)]
    tree_depth: u8,
    /// General slots of the batch.
    #[arg(long, default_value_t = 1)]
    general: usize,
    /// L2 transfers of the optimistic profile's batch measured alongside (0 skips it).
    #[arg(long, default_value_t = 1000)]
    optimistic_transfers: usize,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
struct ChannelBenchArgs {
    /// Payments in each direction (both directions stream at once).
    #[arg(long, default_value_t = 50_000)]
    payments: u64,
    /// Most payments in flight per direction.
    #[arg(long, default_value_t = 128)]
    window: usize,
    /// Plain L1 transfers to time for the comparison.
    #[arg(long, default_value_t = 2_000)]
    l1_transfers: u64,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
struct RollupBenchArgs {
    /// Number of L2 transfers (batches of up to 300,000 bytes; 1,000 transfers fit in one).
    #[arg(long, default_value_t = 1000)]
    transfers: usize,
    /// Number of sending accounts.
    #[arg(long, default_value_t = 8)]
    senders: u32,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
struct L1BenchArgs {
    /// Number of deposits.
    #[arg(long, default_value_t = 1000)]
    txs: usize,
    /// Number of sending accounts.
    #[arg(long, default_value_t = 8)]
    senders: u32,
    /// The anvil binary to compare against (default: $ANVIL, else the one scripts/install-tools.sh
    /// installs).
    #[arg(
        long,
        env = "ANVIL",
        default_value = "contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
    )]
    anvil: PathBuf,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
}

pub(crate) async fn run(args: BenchArgs) -> Result<()> {
    match args.what {
        BenchCommand::Channels(a) => {
            let report = channel_payments(&ChannelBenchOptions {
                payments: a.payments,
                window: a.window,
                l1_transfers: a.l1_transfers,
            })
            .await
            .wrap_err("running the payment channel benchmark")?;
            show(report.table(), &report, a.json_out.as_deref())
        }
        BenchCommand::Zk(a) => {
            let report = zk_batch(&ZkBenchOptions {
                tree_depth: a.tree_depth,
                transfers: a.transfers,
                general: a.general,
                optimistic_transfers: a.optimistic_transfers,
            })
            .await
            .wrap_err("running the zk benchmark")?;
            show(report.table(), &report, a.json_out.as_deref())
        }
        BenchCommand::Rollup(a) => {
            let report = rollup_batch(&RollupBenchOptions {
                transfers: a.transfers,
                senders: a.senders,
            })
            .await
            .wrap_err("running the rollup batch benchmark")?;
            show(report.table(), &report, a.json_out.as_deref())
        }
        BenchCommand::L1(a) => {
            let report = l1_throughput(&L1ThroughputOptions {
                txs: a.txs,
                senders: a.senders,
                anvil: a.anvil,
            })
            .await
            .wrap_err("running the L1 throughput benchmark")?;
            show(report.table(), &report, a.json_out.as_deref())
        }
    }
}

/// Prints a report's table and writes it as JSON to `json_out`, if given.
fn show(
    table: String,
    report: &impl serde::Serialize,
    json_out: Option<&std::path::Path>,
) -> Result<()> {
    print!("{table}");
    if let Some(path) = json_out {
        std::fs::write(path, serde_json::to_string_pretty(report)? + "\n")
            .wrap_err_with(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
