//! `loft`: the command-line entry point. Parses arguments, wires the components together, and
//! reports errors with context; the work itself lives in the `loft-*` crates.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod args;
mod bench;
mod devnet;

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
    /// Print a chain configuration as TOML (a preset, or a file after validation).
    Config(args::ConfigArgs),
    /// Measure loft against its alternative, side by side in one run.
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_new(&cli.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
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
            Command::Config(args) => args::print_config(&args),
            Command::Bench(args) => bench::run(args).await,
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
