//! `loft`: the command-line entry point. Parses arguments, wires the components together, and
//! reports errors with context; the work itself lives in the `loft-*` crates.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod args;
mod bench;
mod channel;
mod devnet;
mod exit;
mod force;
mod node;
mod revert;
mod scenario;
mod wallet;
mod zk;

/// loft: a layer-2 scaling stack for Ethereum.
#[derive(Debug, Parser)]
#[command(name = "loft", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info,loft::l1=debug`.
    #[arg(long, global = true, env = "LOFT_LOG", default_value = "info")]
    log: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a development network: an L1 (embedded, or an external node with --l1-rpc) with
    /// loft's contracts deployed, until Ctrl-C.
    Devnet(devnet::DevnetArgs),
    /// Run one role of the rollup against an external L1: the sequencer, or a verifier that
    /// rebuilds the L2 from L1 alone and checks every batch.
    Node(node::NodeArgs),
    /// Print a chain configuration as TOML (a preset, or a file after validation).
    Config(args::ConfigArgs),
    /// Measure loft against its alternative, side by side in one run.
    Bench(bench::BenchArgs),
    /// Deposit ETH or an ERC-20 from L1 into L2 (approving the bridge first for tokens).
    Deposit(wallet::DepositArgs),
    /// Send ETH or an L2 token to another account on L2.
    Transfer(wallet::TransferArgs),
    /// Start a withdrawal from L2 to L1 (claim it with `loft claim` once its batch is final).
    Withdraw(wallet::WithdrawArgs),
    /// Claim a withdrawal on L1 once its batch is final (or wait for it with --wait).
    Claim(wallet::ClaimArgs),
    /// Show an account's ETH (and token) balance on L2 and L1, side by side.
    Balance(wallet::BalanceArgs),
    /// Show the chain's status, or where one L2 transaction stands.
    Status(wallet::StatusArgs),
    /// Show a batch posted to L1 (the latest without an index).
    Batch(wallet::BatchArgs),
    /// Run a whole story on a devnet and narrate it (`fraud --fault KIND`: a wrong batch, the
    /// challenge, the slash, the revert, the honest chain continuing).
    Scenario(scenario::ScenarioArgs),
    /// Force a withdrawal of your own L2 balance through L1, past a censoring operator.
    ForceWithdraw(force::ForceWithdrawArgs),
    /// Force a signed L2 transfer through L1, past a censoring operator.
    ForceTransfer(force::ForceTransferArgs),
    /// Show where an L1->L2 queue message stands on L2 (consumed, its receipt, its withdrawal).
    Queue(force::QueueArgs),
    /// Kick the active operator once it missed the liveness window or a forced message's
    /// deadline; the next best bid takes over at once and the caller gets part of the slash.
    Kick(force::KickArgs),
    /// Payment channels: the daemon (`loft channel daemon`) and the commands that drive it
    /// (open, fund, pay, status, state, close, force-close, settle).
    Channel(channel::ChannelArgs),
    /// A watchtower: holds the newest signed state of the channels handed to it and answers a
    /// stale close on L1 while their owners are offline.
    Watchtower(channel::WatchtowerArgs),
    /// Escape hatch: once the rollup is frozen (or may be), withdraw one L2 balance on L1 with a
    /// state proof built from L1 data alone (freezing the rollup first if needed).
    Exit(exit::ExitArgs),
    /// The zk profile's wallet: key, register, deposit, transfer, withdraw, exit, claim,
    /// balance, status (against `loft devnet --profile zk` or a zk node).
    Zk(zk::ZkArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // arkworks' gadgets open `gr1cs` and `r1cs` spans whose fields Debug-format the whole constraint system:
    // with those spans enabled, a proving-key setup runs for minutes instead of seconds.
    let filter = tracing_subscriber::EnvFilter::try_new(format!("r1cs=off,gr1cs=off,{}", cli.log))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("r1cs=off,gr1cs=off,info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();

    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Devnet(args) => devnet::run(args).await,
            Command::Node(args) => node::run(args).await,
            Command::Config(args) => args::print_config(&args),
            Command::Bench(args) => bench::run(args).await,
            Command::Deposit(args) => wallet::deposit_cmd(args).await,
            Command::Transfer(args) => wallet::transfer_cmd(args).await,
            Command::Withdraw(args) => wallet::withdraw_cmd(args).await,
            Command::Claim(args) => wallet::claim_cmd(args).await,
            Command::Balance(args) => wallet::balance_cmd(args).await,
            Command::Status(args) => wallet::status_cmd(args).await,
            Command::Batch(args) => wallet::batch_cmd(args).await,
            Command::Scenario(args) => scenario::run(args).await,
            Command::Exit(args) => exit::exit_cmd(args).await,
            Command::Channel(args) => channel::run(args).await,
            Command::Watchtower(args) => channel::watchtower(args).await,
            Command::ForceWithdraw(args) => force::force_withdraw_cmd(args).await,
            Command::ForceTransfer(args) => force::force_transfer_cmd(args).await,
            Command::Queue(args) => force::queue_cmd(args).await,
            Command::Kick(args) => force::kick_cmd(args).await,
            Command::Zk(args) => zk::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::FAILURE
        }
    }
}
