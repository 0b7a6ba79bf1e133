//! `loft node`: one role of the rollup against an external L1.
//!
//! - `--role sequencer`: the sequencer node (`crates/node`) over the L1 of a deployment, posting
//!   batches with `--l1-key`, answering opening requests on them, and handing posting to
//!   `--backup-poster-key` once a fraud proof has barred the sequencer. `--fault KIND` (tests and
//!   demos only) posts one wrong batch on purpose.
//! - `--role verifier`: rebuilds the L2 from L1 alone (`crates/derive`), checks every batch as it
//!   is posted, and reports progress, sync throughput and every fault it finds.
//! - `--role challenger`: a verifier that also proves every wrong batch on L1 with `--l1-key`
//!   (`crates/challenger`), asking the poster's `--leaves-rpc` for its step leaves first.

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
    /// A verifier that proves every wrong batch on L1 (needs --l1-key, which pays for proofs
    /// and opening requests, and receives the challenger's share of a slashed bond).
    Challenger,
    /// A standby operator (needs --l1-key, its operator account): registers as an operator
    /// bidding `l2.base_fee` (with the bond), follows L1 by importing the active operator's
    /// batches, kicks it when it fails the liveness rule, and sequences and posts from the last
    /// batch on L1 as soon as L1 names it active (`docs/liveness.md` §3).
    Operator,
    /// zk profile: anyone's prover. Rebuilds the zk rollup's state from L1 alone (queue messages
    /// and every verified batch's public data), serves it read-only over the zk JSON-RPC, and
    /// once a queue message is overdue proves and posts a batch of the waiting messages itself
    /// (needs --l1-key, which pays for the submission; --deployment is `zk-deployment.json`).
    Prover,
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
    /// Hex private key of the sequencer (sequencer role) or of the challenger (challenger role).
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
    /// Verifier and challenger roles: serve the verifier's read-only JSON-RPC (the verified
    /// state: eth_getBalance, eth_getTransactionCount, eth_call on L2 tokens, and
    /// loft_verifierStatus) on this loopback port (0: any free port).
    #[arg(long)]
    verifier_rpc_port: Option<u16>,
    /// Verifier and challenger roles: act only on L1 blocks this many blocks deep (reorgs
    /// shallower than this are never seen; deeper ones are followed).
    #[arg(long, default_value_t = 0)]
    confirmations: u64,
    /// Challenger role: the poster's L2 JSON-RPC, asked for a wrong batch's step leaves
    /// (`loft_stepLeaves`; untrusted, used only if they hash to the batch's stepsRoot). Without
    /// it, or when it does not answer, the challenger asks for openings on L1.
    #[arg(long)]
    leaves_rpc: Option<String>,
    /// Challenger role: milliseconds between rounds.
    #[arg(long, default_value_t = 500)]
    poll_ms: u64,
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
    if args.role == Role::Prover {
        return zk_prover(&args, &config, &text).await;
    }
    let deployment: Deployment = serde_json::from_str(&text)
        .wrap_err_with(|| format!("{} is not a loft deployment", args.deployment.display()))?;
    std::fs::create_dir_all(&args.data_dir)
        .wrap_err_with(|| format!("creating {}", args.data_dir.display()))?;
    let mut rpc_config = RpcL1Config::new(args.l1_rpc.clone());
    rpc_config.expected_chain_id = Some(config.l1.chain_id);
    rpc_config.confirmations = config.l1.confirmations;
    rpc_config.tx_timeout = Duration::from_secs(config.l1.tx_timeout_secs);
    match args.role {
        Role::Sequencer | Role::Operator => {
            let standby = matches!(args.role, Role::Operator);
            let key = args.l1_key.clone().ok_or_else(|| {
                eyre!(if standby {
                    "the operator role needs --l1-key (the operator's account, which holds its bond)"
                } else {
                    "the sequencer role needs --l1-key (the deployment's sequencer)"
                })
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
                    standby,
                    censor: Vec::new(),
                },
            )
            .await
            .wrap_err("starting the sequencer")?;
            println!(
                "loft {}: L2 JSON-RPC http://{}",
                if standby { "operator" } else { "sequencer" },
                node.rpc_addr
            );
            let _ = tokio::signal::ctrl_c().await;
            Ok(())
        }
        Role::Prover => unreachable!("handled above"),
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
            )?
            .with_confirmations(args.confirmations);
            let _rpc = serve_verifier(&verifier, args.verifier_rpc_port).await?;
            verify(&mut verifier, args.once).await
        }
        Role::Challenger => {
            if args.fault.is_some() || args.backup_poster_key.is_some() {
                return Err(eyre!(
                    "--fault and --backup-poster-key are for the sequencer role"
                ));
            }
            let key = args.l1_key.clone().ok_or_else(|| {
                eyre!(
                    "the challenger role needs --l1-key (it pays for proofs and opening requests)"
                )
            })?;
            let signer = load_signer(&loft_l1_rpc::KeySource::PrivateKey(key))?;
            let l1 = RpcL1::connect(rpc_config, signer)
                .await
                .wrap_err_with(|| format!("connecting to the L1 at {}", args.l1_rpc))?;
            let l1: Arc<dyn L1Client> = Arc::new(l1);
            let params = loft_node::chain_params(&config);
            let verifier = Verifier::open(
                &args.data_dir.join("verifier.redb"),
                l1.clone(),
                deployment.clone(),
                params,
            )?
            .with_confirmations(args.confirmations);
            let _rpc = serve_verifier(&verifier, args.verifier_rpc_port).await?;
            println!(
                "loft challenger {}: watching rollup {} from L1 block {}",
                l1.sender(),
                deployment.rollup,
                deployment.bridge_block
            );
            loft_challenger::watch(
                verifier,
                l1,
                loft_challenger::WatchConfig {
                    rollup: deployment.rollup,
                    from_block: deployment.bridge_block,
                    params,
                    leaves_rpc: args.leaves_rpc.clone(),
                    poll: Duration::from_millis(args.poll_ms.max(50)),
                },
                async {
                    let _ = tokio::signal::ctrl_c().await;
                },
            )
            .await;
            Ok(())
        }
    }
}

/// `--role prover` (zk profile).
async fn zk_prover(
    args: &NodeArgs,
    config: &loft_config::ChainConfig,
    deployment: &str,
) -> Result<()> {
    let file: crate::zk::devnet::ZkDeploymentFile = serde_json::from_str(deployment)
        .wrap_err_with(|| {
            format!(
                "{} is not a zk deployment (zk-deployment.json)",
                args.deployment.display()
            )
        })?;
    let key = args
        .l1_key
        .clone()
        .ok_or_else(|| eyre!("the prover role needs --l1-key (it pays for submitting proofs)"))?;
    let signer = load_signer(&loft_l1_rpc::KeySource::PrivateKey(key))?;
    let mut rpc_config = RpcL1Config::new(args.l1_rpc.clone());
    rpc_config.expected_chain_id = Some(config.l1.chain_id);
    rpc_config.confirmations = config.l1.confirmations;
    rpc_config.tx_timeout = Duration::from_secs(config.l1.tx_timeout_secs);
    let l1 = RpcL1::connect(rpc_config, signer)
        .await
        .wrap_err_with(|| format!("connecting to the L1 at {}", args.l1_rpc))?;
    std::fs::create_dir_all(&args.data_dir)
        .wrap_err_with(|| format!("creating {}", args.data_dir.display()))?;
    let keys = crate::zk::devnet::proving_keys(config, &args.data_dir).await?;
    // Account 0's key is part of genesis: the configured one, or the one the devnet derived
    // from dev account 0 (the operator).
    let operator = loft_l1_embedded::dev_keys(&config.devnet.mnemonic, 1)
        .map_err(|e| eyre!("deriving dev account 0: {e}"))?
        .remove(0);
    let fee_key = crate::zk::devnet::fee_key(config, &operator)?;
    let port = args.l2_port.unwrap_or(0);
    println!(
        "loft zk prover {}: following ZkRollup {} from L1 block {}",
        l1.sender(),
        file.zk.rollup,
        file.zk.deploy_block
    );
    let run = loft_zk_node::prover_role::run(
        loft_zk_node::prover_role::ProverRoleConfig {
            params: crate::zk::devnet::params(config),
            rollup: file.zk.rollup,
            deploy_block: file.zk.deploy_block,
            fee_key,
            rpc_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            poll_interval: Duration::from_millis(args.poll_ms.max(50)),
        },
        Arc::new(l1),
        keys,
    );
    tokio::select! {
        r = run => r.wrap_err("the prover role stopped"),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// Starts the verifier's read-only JSON-RPC on a loopback port, if asked; it stops when the
/// returned handle drops.
async fn serve_verifier(
    verifier: &Verifier,
    port: Option<u16>,
) -> Result<Option<jsonrpsee::server::ServerHandle>> {
    let Some(port) = port else {
        return Ok(None);
    };
    let (addr, handle) = loft_derive::rpc::serve(
        verifier.handle(),
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
    )
    .await
    .wrap_err_with(|| format!("starting the verifier JSON-RPC on 127.0.0.1:{port}"))?;
    println!("loft verifier: JSON-RPC http://{addr}");
    Ok(Some(handle))
}

async fn verify(verifier: &mut Verifier, once: bool) -> Result<()> {
    let started = Instant::now();
    let (mut batches, mut txs) = (0u64, 0u64);
    let mut reported = 0usize;
    loop {
        let report = verifier.sync().await.wrap_err("syncing from L1")?;
        batches += report.batches;
        txs += report.transactions;
        if report.reverted + report.orphaned > 0 {
            println!(
                "verifier: {} batches reverted on L1, {} dropped by {} L1 reorgs",
                report.reverted, report.orphaned, report.reorgs
            );
        }
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
