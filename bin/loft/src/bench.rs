//! `loft bench`: loft's own benchmarks, each side by side with its alternative in one run.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use eyre::{Result, WrapErr};
use loft_bench::{
    ChannelBenchOptions, EthBenchOptions, L1ThroughputOptions, RollupBenchOptions, ZkBenchOptions,
    channel_payments, eth_profile, l1_throughput, rollup_batch, zk_batch,
};

/// `loft bench`: without a subcommand, the eth profile end to end (sequencer throughput and
/// latency over JSON-RPC, time to L1 and to finality, L1 bytes and gas per transfer, verifier sync)
/// side by side with the same transfers on L1 and on anvil.
#[derive(Debug, Clone, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    what: Option<BenchCommand>,
    #[command(flatten)]
    eth: EthBenchArgs,
}

/// The anvil binary a benchmark compares against.
#[derive(Debug, Clone, Args)]
struct AnvilPath {
    /// The anvil binary to compare against (default: $ANVIL, else the one
    /// scripts/install-tools.sh installs).
    #[arg(
        long = "anvil",
        env = "ANVIL",
        default_value = "contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
    )]
    path: PathBuf,
}

#[derive(Debug, Clone, Args)]
struct EthBenchArgs {
    /// A small run that still measures every figure (2,000 + 1,000 transfers, 32 accounts).
    #[arg(long)]
    quick: bool,
    /// Transfers of the peak run (as fast as the sequencer answers).
    #[arg(long, default_value_t = 20_000)]
    transfers: usize,
    /// Transfers of the half-load run (open loop at half the measured peak).
    #[arg(long, default_value_t = 10_000)]
    half_load_transfers: usize,
    /// Transfers of the blob run (at the half-load rate, batches in EIP-4844 blobs).
    #[arg(long, default_value_t = 10_000)]
    blob_transfers: usize,
    /// Accounts, each sending to the others.
    #[arg(long, default_value_t = 256)]
    accounts: usize,
    /// Share of ERC-20 transfers in percent; the rest are ETH transfers.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=100))]
    erc20_percent: u32,
    /// Load generator connections (each owns a fixed set of senders).
    #[arg(long, default_value_t = 64)]
    workers: usize,
    /// Post to this L1 over JSON-RPC (anvil, say; chain id 31337 with the dev accounts) instead
    /// of the embedded one.
    #[arg(long)]
    l1_rpc: Option<String>,
    #[command(flatten)]
    anvil: AnvilPath,
    /// Leave out the anvil comparison.
    #[arg(long)]
    no_anvil: bool,
    /// anvil's block time in seconds for the comparison (0: automine).
    #[arg(long, default_value_t = 1)]
    anvil_block_time: u64,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// Also draw throughput and latency over time to this SVG file.
    #[arg(long)]
    chart: Option<PathBuf>,
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
    #[command(flatten)]
    anvil: AnvilPath,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    json_out: Option<PathBuf>,
}

pub(crate) async fn run(args: BenchArgs) -> Result<()> {
    let Some(what) = args.what else {
        let a = args.eth;
        let mut options = EthBenchOptions {
            transfers: a.transfers,
            half_load_transfers: a.half_load_transfers,
            blob_transfers: a.blob_transfers,
            accounts: a.accounts,
            erc20_percent: a.erc20_percent,
            workers: a.workers,
            l1_rpc: a.l1_rpc,
            anvil: a.anvil.path.clone(),
            skip_anvil: a.no_anvil,
            anvil_block_time_secs: a.anvil_block_time,
        };
        if a.quick {
            options = EthBenchOptions {
                l1_rpc: options.l1_rpc,
                skip_anvil: options.skip_anvil,
                anvil_block_time_secs: options.anvil_block_time_secs,
                ..EthBenchOptions::quick(a.anvil.path)
            };
        }
        let report = eth_profile(&options)
            .await
            .wrap_err("running the benchmark")?;
        if let Some(path) = &a.chart {
            let svg = report
                .chart()
                .map_err(|e| eyre::eyre!("drawing the chart: {e}"))?;
            std::fs::write(path, svg).wrap_err_with(|| format!("writing {}", path.display()))?;
        }
        return show(report.table(), &report, a.json_out.as_deref());
    };
    match what {
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
                anvil: a.anvil.path,
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
