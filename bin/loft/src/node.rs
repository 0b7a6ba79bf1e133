//! `loft node`: one role of the rollup against an external L1.
//!
//! - `--role sequencer`: the sequencer node (`crates/node`) over the L1 of a deployment, posting
//!   batches with `--l1-key`, answering opening requests on them, and handing posting to
//!   `--backup-poster-key` once a fraud proof has barred the sequencer. `--fault KIND` (tests and
//!   demos only) posts one wrong batch on purpose.
//! - `--role verifier`: rebuilds the L2 from L1 alone (`crates/derive`), checks every batch as it
//!   is posted, and reports progress, sync throughput and every fault it finds.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use eyre::{Result, WrapErr, eyre};
use loft_contracts::Deployment;
use loft_derive::{Verdict, Verifier};
use loft_l1::L1Client;
use loft_l1_rpc::{RpcL1, RpcL1Config, load_signer};
use loft_node::{FaultKind, Node, NodeConfig, NodeOptions};

use crate::args::ChainArgs;

/// What the node does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Role {
    /// Sequence transactions and post batches (needs --l1-key, the deployment's sequencer).
    Sequencer,
    /// Rebuild the L2 from L1 alone and check every posted batch.
    Verifier,
}

/// `loft node`.
#[derive(Debug, Clone, Args)]
pub(crate) struct NodeArgs {
    #[command(flatten)]
    chain: ChainArgs,
    /// The role to run.
    #[arg(long, value_enum)]
    role: Role,
    /// JSON-RPC URL of the L1 node.
    #[arg(long, env = "LOFT_L1_RPC")]
    l1_rpc: String,
    /// The deployment (as `loft devnet --deployment-out` writes it): contract addresses and the
    /// block the queue starts at.
    #[arg(long, env = "LOFT_DEPLOYMENT")]
    deployment: PathBuf,
    /// Hex private key of the sequencer (sequencer role).
    #[arg(long, env = "LOFT_L1_KEY", hide_env_values = true)]
    l1_key: Option<String>,
    /// Directory of the node's database.
    #[arg(long, env = "LOFT_DATA_DIR")]
    data_dir: PathBuf,
    /// Loopback port of the L2 JSON-RPC (sequencer role). Default: the config's `l2.rpc_port`.
    #[arg(long)]
    l2_port: Option<u16>,
    /// Verifier: check what is on L1 now, print the summary and exit (non-zero if a batch is
    /// wrong) instead of following L1.
    #[arg(long)]
    once: bool,
    /// Hex private key of a backup poster (sequencer role): once the sequencer is barred on L1
    /// (slashed by a fraud proof), it deposits its bond if it has none and posts the honest
    /// batches.
    #[arg(long, env = "LOFT_BACKUP_POSTER_KEY", hide_env_values = true)]
    backup_poster_key: Option<String>,
    /// FOR TESTS AND DEMOS ONLY (sequencer role): post one batch wrong on purpose, the first that
    /// has what KIND needs, to exercise the fraud game. The L2 state stays honest; the
    /// sequencer's bond is slashed when a challenger proves the fault.
    #[arg(long, value_enum, value_name = "KIND")]
    fault: Option<FaultKind>,
}

/// The loud notice of `--fault`, on stderr before anything starts.
pub(crate) fn warn_fault(kind: FaultKind) {
    let line = "!".repeat(78);
    eprintln!("{line}");
    eprintln!("!! FAULT INJECTION: --fault {kind} (for tests and demos only)");
    eprintln!(
        "!! This sequencer will post ONE WRONG BATCH ON PURPOSE: {}",
        kind.description()
    );
    eprintln!("!! Its bond is slashed and it is barred from posting once a challenger proves it.");
    eprintln!("{line}");
}

pub(crate) async fn run(args: NodeArgs) -> Result<()> {
    let config = args
        .chain
        .load()
        .wrap_err("loading the chain configuration")?;
    let text = std::fs::read_to_string(&args.deployment)
        .wrap_err_with(|| format!("reading {}", args.deployment.display()))?;
    let deployment: Deployment = serde_json::from_str(&text)
        .wrap_err_with(|| format!("{} is not a loft deployment", args.deployment.display()))?;
    std::fs::create_dir_all(&args.data_dir)
        .wrap_err_with(|| format!("creating {}", args.data_dir.display()))?;
    let mut rpc_config = RpcL1Config::new(args.l1_rpc.clone());
    rpc_config.expected_chain_id = Some(config.l1.chain_id);
    rpc_config.confirmations = config.l1.confirmations;
    rpc_config.tx_timeout = Duration::from_secs(config.l1.tx_timeout_secs);
    match args.role {
        Role::Sequencer => {
            let key = args.l1_key.clone().ok_or_else(|| {
                eyre!("the sequencer role needs --l1-key (the deployment's sequencer)")
            })?;
            if let Some(kind) = args.fault {
                warn_fault(kind);
            }
            let signer = load_signer(&loft_l1_rpc::KeySource::PrivateKey(key))?;
            let l1 = RpcL1::connect(rpc_config.clone(), signer)
                .await
                .wrap_err_with(|| format!("connecting to the L1 at {}", args.l1_rpc))?;
            let backup_poster: Option<Arc<dyn L1Client>> = match &args.backup_poster_key {
                Some(key) => {
                    let signer = load_signer(&loft_l1_rpc::KeySource::PrivateKey(key.clone()))
                        .wrap_err("--backup-poster-key")?;
                    let backup = RpcL1::connect(rpc_config, signer)
                        .await
                        .wrap_err_with(|| format!("connecting to the L1 at {}", args.l1_rpc))?;
                    println!(
                        "loft sequencer: backup poster {} (posts once the sequencer is barred)",
                        backup.sender()
                    );
                    Some(Arc::new(backup))
                }
                None => None,
            };
            let port = args.l2_port.unwrap_or(config.l2.rpc_port);
            let node = Node::start_with(
                NodeConfig {
                    chain: config,
                    deployment,
                    data_dir: args.data_dir,
                    rpc_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
                    post_batches: true,
                },
                Arc::new(l1),
                NodeOptions {
                    fault: args.fault,
                    backup_poster,
                },
            )
            .await
            .wrap_err("starting the sequencer")?;
            println!("loft sequencer: L2 JSON-RPC http://{}", node.rpc_addr);
            let _ = tokio::signal::ctrl_c().await;
            Ok(())
        }
        Role::Verifier => {
            if args.fault.is_some() || args.backup_poster_key.is_some() {
                return Err(eyre!(
                    "--fault and --backup-poster-key are for the sequencer role"
                ));
            }
            // A verifier signs nothing; the L1 client needs a key only for its type.
            let l1 = RpcL1::connect(
                rpc_config,
                alloy::signers::local::PrivateKeySigner::random(),
            )
            .await
            .wrap_err_with(|| format!("connecting to the L1 at {}", args.l1_rpc))?;
            let l1: Arc<dyn L1Client> = Arc::new(l1);
            let mut verifier = Verifier::open(
                &args.data_dir.join("verifier.redb"),
                l1,
                deployment,
                loft_node::chain_params(&config),
            )?;
            verify(&mut verifier, args.once).await
        }
    }
}

async fn verify(verifier: &mut Verifier, once: bool) -> Result<()> {
    let started = Instant::now();
    let (mut batches, mut txs) = (0u64, 0u64);
    let mut reported = 0usize;
    loop {
        let report = verifier.sync().await.wrap_err("syncing from L1")?;
        batches += report.batches;
        txs += report.transactions;
        if report.batches > 0 {
            println!(
                "verifier: batch {} checked; {batches} batches, {txs} transactions replayed from L1 in {:.2} s ({:.0} tx/s this round)",
                verifier.next_batch().saturating_sub(1),
                started.elapsed().as_secs_f64(),
                report.tx_per_sec()
            );
        }
        for b in &verifier.checked()[reported..] {
            match &b.verdict {
                Verdict::Valid => {}
                Verdict::Fraud(fault) => println!(
                    "verifier: batch {} (L1 tx {}) is WRONG: {fault}",
                    b.header.index,
                    b.l1_tx.unwrap_or_default()
                ),
                Verdict::BuildsOnFraud(bad) => println!(
                    "verifier: batch {} builds on wrong batch {bad}",
                    b.header.index
                ),
            }
        }
        reported = verifier.checked().len();
        if once {
            println!(
                "verifier: {} batches valid, state root {}",
                verifier.next_batch(),
                verifier.state_root()
            );
            return match verifier.fraud_at() {
                Some(bad) => Err(eyre!("batch {bad} is wrong")),
                None => Ok(()),
            };
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}
