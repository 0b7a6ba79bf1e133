//! `loft devnet`: an L1 with loft's contracts deployed, for development and demos. Dev account 9
//! is the backup poster (it posts once a fraud proof has barred the sequencer); `--fault KIND`
//! (tests and demos only) makes the sequencer post one wrong batch on purpose.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use clap::Args;
use eyre::{Result, WrapErr, eyre};
use loft_config::ChainConfig;
use loft_contracts::{DeployOptions, Deployment, DevToken, deploy};
use loft_l1::{L1Client, send_and_confirm};
use loft_l1_embedded::{DevChain, DevChainConfig, EmbeddedL1};
use loft_l1_rpc::{RpcL1, RpcL1Config, load_signer};
use loft_node::{FaultKind, Node, NodeConfig, NodeOptions};
use serde::Serialize;

use crate::args::{ChainArgs, L1Args};
use crate::wallet::{AssetInfo, ClaimOutcome, Wallet};

/// The embedded L1.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Embedded L1")]
pub(crate) struct EmbeddedArgs {
    /// Loopback port of the embedded L1's JSON-RPC server (0 picks a free one). Default: the
    /// config's `devnet.rpc_port`.
    #[arg(long, env = "LOFT_L1_PORT")]
    pub(crate) l1_port: Option<u16>,
    /// Seconds between L1 blocks; 0 mines one block per transaction. Default: the config's
    /// `devnet.block_time_secs`.
    #[arg(long)]
    pub(crate) block_time: Option<u64>,
    /// Keep the chain and the L2 node's database in this directory so the devnet survives a
    /// restart (also `kill -9`). Without it, everything lives in a temporary directory.
    #[arg(long, env = "LOFT_DATA_DIR")]
    pub(crate) data_dir: Option<PathBuf>,
}

/// `loft devnet`.
#[derive(Debug, Clone, Args)]
pub(crate) struct DevnetArgs {
    #[command(flatten)]
    pub(crate) chain: ChainArgs,
    #[command(flatten)]
    pub(crate) l1: L1Args,
    #[command(flatten)]
    pub(crate) embedded: EmbeddedArgs,
    /// Which rollup to run: `eth` (optimistic, fraud proofs) or `zk` (validity proofs).
    /// Default: the config's `profile`.
    #[arg(long, value_parser = ["eth", "zk"])]
    pub(crate) profile: Option<String>,
    /// Also write the deployment (L1 RPC URL, chain id, contract addresses) as JSON to this file.
    #[arg(long)]
    pub(crate) deployment_out: Option<PathBuf>,
    /// Skip the demo on a fresh chain.
    #[arg(long)]
    pub(crate) no_demo: bool,
    /// Loopback port of the L2 JSON-RPC server (0 picks a free one). Default: the config's
    /// `l2.rpc_port`.
    #[arg(long, env = "LOFT_L2_PORT")]
    pub(crate) l2_port: Option<u16>,
    /// FOR TESTS AND DEMOS ONLY: the sequencer posts one batch wrong on purpose, the first that
    /// has what KIND needs, to exercise the fraud game (the L2 state stays honest). Dev account 9
    /// takes over posting once a challenger has proven it.
    #[arg(long, value_enum, value_name = "KIND")]
    fault: Option<FaultKind>,
}

/// The development account that posts once the sequencer is barred.
const BACKUP_POSTER_ACCOUNT: usize = 9;

/// What `--deployment-out` and `<data-dir>/deployment.json` hold.
#[derive(Debug, Serialize, serde::Deserialize)]
struct DeploymentFile {
    l1_rpc_url: String,
    /// The L2 node's JSON-RPC URL.
    #[serde(default)]
    l2_rpc_url: String,
    backend: String,
    /// The payment channels' adjudicator.
    #[serde(default)]
    adjudicator: Option<Address>,
    #[serde(flatten)]
    deployment: Deployment,
}

/// Deploys the payment channels' adjudicator with the config's parameters, unless `previous`
/// still has code (a restarted devnet keeps its contracts).
async fn deploy_adjudicator(
    l1: &dyn L1Client,
    config: &ChainConfig,
    previous: Option<Address>,
) -> Result<Address> {
    if let Some(a) = previous
        && !l1.code(a).await?.is_empty()
    {
        return Ok(a);
    }
    loft_channel::deploy(
        l1,
        config.channels.dispute_window_secs,
        config.channels.penalty_bps,
    )
    .await
    .wrap_err("deploying the payment channels' adjudicator")
}

const DEPLOYMENT_FILE: &str = "deployment.json";

/// Dev token on; the deployer (dev account 0 on the embedded L1) posts batches (its bond paid
/// with the deployment); the rollup parameters and a step verifier from the chain config.
fn deploy_options(config: &ChainConfig) -> DeployOptions {
    DeployOptions {
        dev_token: true,
        ..loft_node::deploy_options(config)
    }
}

pub(crate) async fn run(args: DevnetArgs) -> Result<()> {
    let started = Instant::now();
    let config = args
        .chain
        .load()
        .wrap_err("loading the chain configuration")?;
    let zk = match args.profile.as_deref() {
        Some(p) => p == "zk",
        None => config.profile == loft_config::Profile::Zk,
    };
    if zk {
        return crate::zk::devnet::run(&args, &config, started).await;
    }
    match args.l1.l1_rpc.clone() {
        Some(url) => run_external(&args, &config, url, started).await,
        None => run_embedded(&args, &config, started).await,
    }
}

async fn run_external(
    args: &DevnetArgs,
    config: &ChainConfig,
    url: String,
    started: Instant,
) -> Result<()> {
    let source = args.l1.key_source().ok_or_else(|| {
        eyre!("--l1-rpc needs a key that pays for the deployment: --l1-key or --l1-keystore")
    })?;
    let signer = load_signer(&source)?;
    let mut rpc_config = RpcL1Config::new(url.clone());
    rpc_config.expected_chain_id = Some(config.l1.chain_id);
    rpc_config.confirmations = config.l1.confirmations;
    rpc_config.tx_timeout = Duration::from_secs(config.l1.tx_timeout_secs);
    let l1 = RpcL1::connect(rpc_config, signer)
        .await
        .wrap_err_with(|| format!("connecting to the L1 at {url}"))?;
    let deployment = deploy(&l1, deploy_options(config))
        .await
        .wrap_err_with(|| format!("deploying loft's contracts on {url} from {}", l1.sender()))?;
    let adjudicator = deploy_adjudicator(&l1, config, None).await?;
    let l1: Arc<dyn L1Client> = Arc::new(l1);
    // Dev account 9 of the config's mnemonic (funded on anvil) as the backup poster.
    let backup: Option<Arc<dyn L1Client>> =
        match loft_l1_embedded::dev_keys(&config.devnet.mnemonic, BACKUP_POSTER_ACCOUNT as u32 + 1)
            .ok()
            .and_then(|keys| keys.get(BACKUP_POSTER_ACCOUNT).cloned())
        {
            Some(key) => {
                let mut backup_config = RpcL1Config::new(url.clone());
                backup_config.expected_chain_id = Some(config.l1.chain_id);
                backup_config.confirmations = config.l1.confirmations;
                backup_config.tx_timeout = Duration::from_secs(config.l1.tx_timeout_secs);
                Some(Arc::new(
                    RpcL1::connect(backup_config, key).await.wrap_err_with(|| {
                        format!("connecting the backup poster to the L1 at {url}")
                    })?,
                ))
            }
            None => None,
        };
    let (node, _tmp) = start_node(args, config, &deployment, l1, backup).await?;
    let file = DeploymentFile {
        l1_rpc_url: url,
        l2_rpc_url: format!("http://{}", node.rpc_addr),
        backend: "json-rpc".into(),
        adjudicator: Some(adjudicator),
        deployment,
    };
    write_deployment(args.deployment_out.as_deref(), &file)?;
    print_summary(&file, config, started);
    wait_for_shutdown().await;
    drop(node);
    Ok(())
}

/// The embedded L1 and its JSON-RPC server.
pub(crate) struct EmbeddedL1Parts {
    pub(crate) chain: DevChain,
    pub(crate) server: jsonrpsee::server::ServerHandle,
    pub(crate) url: String,
    pub(crate) dev_keys: Vec<PrivateKeySigner>,
}

/// Opens the embedded L1 (in `--data-dir` or in memory) and serves its JSON-RPC.
pub(crate) async fn start_embedded_l1(
    args: &DevnetArgs,
    config: &ChainConfig,
) -> Result<EmbeddedL1Parts> {
    let mut chain_config =
        DevChainConfig::from_chain_config(config, args.embedded.data_dir.clone())?;
    if let Some(secs) = args.embedded.block_time {
        chain_config.block_time = (secs > 0).then(|| Duration::from_secs(secs));
    }
    let dev_keys = chain_config.dev_keys.clone();
    let chain = DevChain::open(chain_config).wrap_err("opening the embedded L1")?;
    let port = args.embedded.l1_port.unwrap_or(config.devnet.rpc_port);
    let (addr, server) = loft_l1_embedded::rpc::serve(
        chain.clone(),
        SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
    )
    .await
    .wrap_err_with(|| {
        format!(
            "starting the L1 JSON-RPC server on 127.0.0.1:{port} (use --l1-port 0 for a free port)"
        )
    })?;
    Ok(EmbeddedL1Parts {
        chain,
        server,
        url: format!("http://{addr}"),
        dev_keys,
    })
}

async fn run_embedded(args: &DevnetArgs, config: &ChainConfig, started: Instant) -> Result<()> {
    let EmbeddedL1Parts {
        chain,
        server,
        url,
        dev_keys,
    } = start_embedded_l1(args, config).await?;
    let deployer: Arc<dyn L1Client> = Arc::new(
        EmbeddedL1::new(chain.clone(), dev_keys[0].clone())
            .with_timeout(Duration::from_secs(config.l1.tx_timeout_secs)),
    );

    // A restarted devnet keeps its contracts.
    let previous = args.embedded.data_dir.as_ref().and_then(|dir| {
        let text = std::fs::read_to_string(dir.join(DEPLOYMENT_FILE)).ok()?;
        serde_json::from_str::<DeploymentFile>(&text).ok()
    });
    let previous_adjudicator = previous.as_ref().and_then(|p| p.adjudicator);
    let reused = match previous {
        Some(p) if !deployer.code(p.deployment.bridge).await?.is_empty() => Some(p.deployment),
        _ => None,
    };
    let fresh = reused.is_none();
    let deployment = match reused {
        Some(d) => d,
        None => deploy(deployer.as_ref(), deploy_options(config))
            .await
            .wrap_err("deploying loft's contracts")?,
    };
    let adjudicator = deploy_adjudicator(deployer.as_ref(), config, previous_adjudicator).await?;
    let backup: Option<Arc<dyn L1Client>> = dev_keys.get(BACKUP_POSTER_ACCOUNT).map(|key| {
        Arc::new(
            EmbeddedL1::new(chain.clone(), key.clone())
                .with_timeout(Duration::from_secs(config.l1.tx_timeout_secs)),
        ) as Arc<dyn L1Client>
    });
    let (node, _tmp) = start_node(args, config, &deployment, deployer.clone(), backup).await?;
    let file = DeploymentFile {
        l1_rpc_url: url,
        l2_rpc_url: format!("http://{}", node.rpc_addr),
        backend: "embedded".into(),
        adjudicator: Some(adjudicator),
        deployment,
    };
    if let Some(dir) = &args.embedded.data_dir {
        write_deployment(Some(&dir.join(DEPLOYMENT_FILE)), &file)?;
    }
    write_deployment(args.deployment_out.as_deref(), &file)?;

    print_summary(&file, config, started);
    let demo_task = (fresh && !args.no_demo).then(|| {
        let (l2_url, l1_url) = (file.l2_rpc_url.clone(), file.l1_rpc_url.clone());
        let user = dev_keys.get(1).unwrap_or(&dev_keys[0]).clone();
        let friend = dev_keys.get(2).unwrap_or(&dev_keys[0]).address();
        let token = file.deployment.dev_token;
        tokio::spawn(async move {
            if let Err(e) = demo(l2_url, l1_url, user, friend, token).await {
                eprintln!("demo failed: {e:#}");
            }
        })
    });
    wait_for_shutdown().await;
    if let Some(t) = demo_task {
        t.abort();
    }
    drop(node);
    server.stop().ok();
    server.stopped().await;
    Ok(())
}

/// Starts the L2 node (sequencer, queue follower, batcher, JSON-RPC) over `l1`, whose key posts
/// batches. Its database lives in `<data-dir>/l2`, or in a temporary directory returned alongside
/// (removed when dropped).
async fn start_node(
    args: &DevnetArgs,
    config: &ChainConfig,
    deployment: &Deployment,
    l1: Arc<dyn L1Client>,
    backup_poster: Option<Arc<dyn L1Client>>,
) -> Result<(Node, Option<tempfile::TempDir>)> {
    if let Some(kind) = args.fault {
        crate::node::warn_fault(kind);
    }
    if let Some(b) = &backup_poster {
        tracing::info!(target: "loft::devnet", poster = %b.sender(), "dev account {BACKUP_POSTER_ACCOUNT} is the backup poster (posts once the sequencer is barred)");
    }
    let (data_dir, tmp) = match &args.embedded.data_dir {
        Some(dir) => (dir.join("l2"), None),
        None => {
            let tmp = tempfile::Builder::new()
                .prefix("loft-devnet-")
                .tempdir()
                .wrap_err("creating a temporary directory for the L2 node")?;
            (tmp.path().to_path_buf(), Some(tmp))
        }
    };
    let port = args.l2_port.unwrap_or(config.l2.rpc_port);
    let node = Node::start_with(
        NodeConfig {
            chain: config.clone(),
            deployment: deployment.clone(),
            data_dir,
            rpc_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            post_batches: true,
        },
        l1,
        NodeOptions {
            fault: args.fault,
            backup_poster,
            standby: false,
            censor: Vec::new(),
        },
    )
    .await
    .wrap_err_with(|| {
        format!(
            "starting the L2 node (JSON-RPC on 127.0.0.1:{port}; use --l2-port 0 for a free port)"
        )
    })?;
    Ok((node, tmp))
}

/// The demo, as a user would do it with the wallet commands: deposit ETH and the dev token on L1,
/// pay on L2, withdraw, wait for the batch and its challenge period, claim on L1. Prints each
/// step with its transaction as it happens.
async fn demo(
    l2_url: String,
    l1_url: String,
    user: PrivateKeySigner,
    friend: Address,
    dev_token: Option<Address>,
) -> Result<()> {
    let w = Wallet::connect(&l2_url, &l1_url, Some(user)).await?;
    let me = w.address().unwrap_or_default();
    let eth = AssetInfo::eth();
    let step = |n: u32, text: String| println!("demo [{n}/6] {text}");

    let d = w.deposit_eth(eth.parse("1")?, None).await?;
    let (took, balance) = w.wait_for_deposit(&d, Duration::from_secs(60)).await?;
    step(
        1,
        format!(
            "deposit 1 ETH on L1 from {me}: L1 tx {} ({} gas); credited on L2 after {} ms, L2 balance {}",
            d.l1_tx,
            d.gas_used,
            took.as_millis(),
            eth.format(balance)
        ),
    );
    if let Some(token) = dev_token {
        let amount = U256::from(100u64) * U256::from(10u64).pow(U256::from(18u64));
        send_and_confirm(
            w.l1().await?,
            TransactionRequest::default()
                .with_to(token)
                .with_input(DevToken::mintCall { to: me, amount }.abi_encode()),
        )
        .await?;
        let ldt = w.resolve_asset(Some("dev")).await?;
        let d = w.deposit_token(&ldt, amount, None).await?;
        let (took, balance) = w.wait_for_deposit(&d, Duration::from_secs(60)).await?;
        step(
            2,
            format!(
                "deposit 100 LDT on L1 (after minting): L1 tx {} ({} gas); credited on L2 after {} ms, L2 balance {}",
                d.l1_tx,
                d.gas_used,
                took.as_millis(),
                ldt.format(balance)
            ),
        );
        let t = w.transfer(&ldt, friend, ldt.parse("5")?).await?;
        step(
            3,
            format!(
                "L2 transfer of 5 LDT to {friend}: tx {} in L2 block {}, fee {} wei, confirmed in {} ms",
                t.hash,
                t.block.unwrap_or_default(),
                t.fee,
                t.elapsed.as_millis()
            ),
        );
    }
    let t = w.transfer(&eth, friend, eth.parse("0.1")?).await?;
    step(
        3,
        format!(
            "L2 transfer of 0.1 ETH to {friend}: tx {} in L2 block {}, fee {} wei, confirmed in {} ms",
            t.hash,
            t.block.unwrap_or_default(),
            t.fee,
            t.elapsed.as_millis()
        ),
    );
    let t = w.withdraw(&eth, eth.parse("0.25")?, None).await?;
    step(
        4,
        format!(
            "L2 withdrawal of 0.25 ETH to {me} on L1: tx {} in L2 block {}",
            t.hash,
            t.block.unwrap_or_default()
        ),
    );
    let mut last = None;
    let outcome = w
        .claim_wait(t.hash, Duration::from_secs(600), |status| {
            if last != Some(status.status) {
                last = Some(status.status);
                step(5, format!("withdrawal: {}", status.detail));
            }
        })
        .await?;
    match outcome {
        ClaimOutcome::Claimed(c) => step(
            6,
            format!(
                "claimed on L1 from final batch {}: L1 tx {} ({} gas), {} paid to {}",
                c.batch,
                c.l1_tx,
                c.gas_used,
                eth.format(c.amount),
                c.recipient
            ),
        ),
        ClaimOutcome::AlreadyClaimed(_) => step(6, "the withdrawal was already claimed".into()),
        ClaimOutcome::NotYet(s) => step(6, format!("not claimable: {}", s.detail)),
    }
    println!("demo done: try `cast balance {friend} --rpc-url {l2_url}`");
    Ok(())
}

fn write_deployment(path: Option<&std::path::Path>, file: &DeploymentFile) -> Result<()> {
    let Some(path) = path else { return Ok(()) };
    let text = serde_json::to_string_pretty(file)?;
    // Write then rename, so a reader never sees half a file.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text + "\n").wrap_err_with(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).wrap_err_with(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn print_summary(file: &DeploymentFile, config: &ChainConfig, started: Instant) {
    let d = &file.deployment;
    println!("loft devnet ready in {} ms", started.elapsed().as_millis());
    println!(
        "  L1 JSON-RPC   {}  (chain id {}, {} L1)",
        file.l1_rpc_url, d.l1_chain_id, file.backend
    );
    println!(
        "  L2 JSON-RPC   {}  (chain id {}, blocks every {} ms, batches every {} ms)",
        file.l2_rpc_url,
        config.l2.chain_id,
        config.l2.block_time_ms,
        config.rollup.batch_interval_ms
    );
    println!(
        "  L1Rollup      {}  (sequencer {}, challenge period {} s)",
        d.rollup, d.sequencer, d.challenge_period_secs
    );
    println!(
        "  L1Bridge      {}  (deployed in block {})",
        d.bridge, d.bridge_block
    );
    if let Some(verifier) = d.step_verifier {
        println!(
            "  StepVerifier  {verifier}  (one-step fraud proofs; bond {} gwei, challenger share {} bps)",
            config.rollup.bond_gwei, config.rollup.challenger_share_bps
        );
    }
    if let Some(token) = d.dev_token {
        println!("  DevToken      {token}  (LDT, anyone may mint)");
    }
    if let Some(adjudicator) = file.adjudicator {
        println!(
            "  Adjudicator   {adjudicator}  (payment channels; dispute window {} s, penalty {} bps)",
            config.channels.dispute_window_secs, config.channels.penalty_bps
        );
    }
    if file.backend == "embedded" {
        let keys = loft_l1_embedded::dev_keys(&config.devnet.mnemonic, config.devnet.accounts)
            .unwrap_or_default();
        println!(
            "  Dev accounts  ({} ETH each, mnemonic \"{}\")",
            config.devnet.balance_eth, config.devnet.mnemonic
        );
        for (i, key) in keys.iter().enumerate() {
            println!(
                "    ({i}) {}  key 0x{}",
                key.address(),
                alloy::hex::encode(key.to_bytes())
            );
        }
    }
    println!("Press Ctrl-C to stop.");
}

pub(crate) async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!(target: "loft::devnet", "shutting down");
}
