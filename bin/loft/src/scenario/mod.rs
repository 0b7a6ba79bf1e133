//! `loft scenario NAME`: whole stories run on a devnet and narrated, for demos and end-to-end
//! tests. Each checks every claim it makes and fails (non-zero exit, the problems listed) when one
//! does not hold; `--json` prints the report for tests.
//!
//! - `fraud --fault KIND` ([`fraud`]): a wrong batch, the challenge, the slash, the revert, the
//!   honest chain continuing.
//! - `censorship` ([`censorship`]): a censoring operator, a forced withdrawal through L1, the
//!   refused batch, the kick, the next operator including it, the claim.
//! - `operator-failover` ([`failover`]): the active operator's process is killed with SIGKILL
//!   mid-epoch; a standby operator takes over from L1; deposits and transfers continue.
//! - `exodus` ([`exodus`]): every operator stops; the rollup is frozen; every user exits with
//!   exactly its balance and every unconsumed deposit is refunded; the bridge ends empty.
//! - `channel-cheat` ([`channel_cheat`]): a payment channel closed with an old state while the
//!   other party is offline; its watchtower answers; the cheater pays the penalty.
//! - `zk-wrong-root`, `zk-prover-stops` ([`zk`]): the zk profile's L1 rejecting a lying prover,
//!   and anyone's prover taking a forced exit through once the operator stops.
//!
//! Everything goes over real sockets: the embedded L1's JSON-RPC server (or `--l1-rpc`, e.g.
//! anvil, whose default accounts are loft's dev accounts), the L2 nodes' JSON-RPC, the wallet.

mod censorship;
mod channel_cheat;
mod exodus;
mod failover;
mod fraud;
mod zk;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use clap::{Args, Subcommand};
use eyre::{Result, WrapErr, bail};
use loft_config::ChainConfig;
use loft_l1::{BlockNumberOrTag, DevControl, L1Client};
use loft_l1_embedded::{DevChain, DevChainConfig};
use loft_l1_rpc::{RpcL1, RpcL1Config};
use serde::Serialize;
use serde_json::json;

use crate::args::ChainArgs;

/// `loft scenario`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ScenarioArgs {
    #[command(subcommand)]
    which: Which,
}

#[derive(Debug, Clone, Subcommand)]
enum Which {
    /// A sequencer posts a wrong batch; a challenger proves it on L1; the bond is slashed, the
    /// bad batches reverted, the honest ones re-posted, and no honest user loses anything.
    Fraud(fraud::FraudArgs),
    /// The operator censors a user; the user forces a withdrawal through L1; L1 refuses the
    /// operator's batch that skips it; the operator is kicked; the next operator includes it; the
    /// user claims on L1.
    Censorship(StoryArgs),
    /// The active operator's process is killed (SIGKILL) mid-epoch; a standby operator that
    /// followed L1 kicks it and takes over; deposits and transfers continue; no balance is lost.
    OperatorFailover(StoryArgs),
    /// Every operator stops; the rollup is frozen; every user exits with exactly its balance from
    /// L1 data alone; unconsumed deposits are refunded; the bridge ends empty.
    Exodus(StoryArgs),
    /// A payment channel: one party closes with an old state while the other's daemon is
    /// offline; the watchtower answers with the newest state; the honest party receives its
    /// balance plus the penalty, the cheater loses it.
    ChannelCheat(StoryArgs),
    /// zk profile: a prover posts a wrong root, a tampered proof and public data that is not the
    /// proved one; L1's verifier rejects each and the state does not move; the honest batch is
    /// accepted.
    ZkWrongRoot(StoryArgs),
    /// zk profile: the operator's node stops; a user queues a forced exit; once it is overdue
    /// anyone's prover (rebuilt from L1 alone) proves and posts it; the user claims exactly its
    /// balance.
    ZkProverStops(StoryArgs),
}

/// What every story takes.
#[derive(Debug, Clone, Args)]
pub(crate) struct StoryArgs {
    #[command(flatten)]
    pub(crate) chain: ChainArgs,
    /// JSON-RPC URL of an external L1 whose funded accounts are the config's dev mnemonic (anvil's
    /// default) and which takes `evm_setNextBlockTimestamp`. Without it, an embedded L1.
    #[arg(long, env = "LOFT_L1_RPC")]
    pub(crate) l1_rpc: Option<String>,
    /// Print the report as JSON on stdout (the narration goes to stderr).
    #[arg(long)]
    pub(crate) json: bool,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 240)]
    pub(crate) timeout_secs: u64,
}

impl StoryArgs {
    /// The chain configuration the story runs with.
    pub(super) fn config(&self) -> Result<ChainConfig> {
        self.chain
            .load()
            .wrap_err("loading the chain configuration")
    }
}

pub(crate) async fn run(args: ScenarioArgs) -> Result<()> {
    let (timeout, story) = match args.which {
        Which::Fraud(a) => (a.timeout_secs(), Box::pin(fraud::run(a)) as StoryFuture),
        Which::Censorship(a) => (a.timeout_secs, Box::pin(censorship::run(a)) as StoryFuture),
        Which::OperatorFailover(a) => (a.timeout_secs, Box::pin(failover::run(a)) as StoryFuture),
        Which::Exodus(a) => (a.timeout_secs, Box::pin(exodus::run(a)) as StoryFuture),
        Which::ChannelCheat(a) => (
            a.timeout_secs,
            Box::pin(channel_cheat::run(a)) as StoryFuture,
        ),
        Which::ZkWrongRoot(a) => (a.timeout_secs, Box::pin(zk::wrong_root(a)) as StoryFuture),
        Which::ZkProverStops(a) => (a.timeout_secs, Box::pin(zk::prover_stops(a)) as StoryFuture),
    };
    match tokio::time::timeout(Duration::from_secs(timeout), story).await {
        Ok(r) => r,
        Err(_) => bail!("the scenario did not finish within {timeout} s"),
    }
}

type StoryFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send>>;

/// Narration: stdout, or stderr when stdout carries the JSON report.
pub(super) fn say(json: bool, text: impl AsRef<str>) {
    if json {
        eprintln!("{}", text.as_ref());
    } else {
        println!("{}", text.as_ref());
    }
}

/// The L1 with a dev key, over JSON-RPC.
pub(super) async fn l1_as(
    url: &str,
    config: &ChainConfig,
    key: &PrivateKeySigner,
) -> Result<Arc<RpcL1>> {
    let mut c = RpcL1Config::new(url);
    c.expected_chain_id = Some(config.l1.chain_id);
    c.tx_timeout = Duration::from_secs(config.l1.tx_timeout_secs);
    Ok(Arc::new(
        RpcL1::connect(c, key.clone())
            .await
            .wrap_err_with(|| format!("connecting to the L1 at {url}"))?,
    ))
}

/// The L1 a story runs on: the embedded one behind its JSON-RPC server, or an external node.
pub(super) struct Stage {
    /// JSON-RPC URL.
    pub(super) url: String,
    /// `embedded` or `external`.
    pub(super) backend: &'static str,
    /// The dev keys (10).
    pub(super) keys: Vec<PrivateKeySigner>,
    _embedded: Option<(DevChain, jsonrpsee::server::ServerHandle)>,
}

impl Stage {
    pub(super) async fn open(config: &ChainConfig, l1_rpc: Option<&str>) -> Result<Self> {
        let keys = loft_l1_embedded::dev_keys(&config.devnet.mnemonic, 10)?;
        Ok(match l1_rpc {
            Some(url) => Self {
                url: url.to_string(),
                backend: "external",
                keys,
                _embedded: None,
            },
            None => {
                let dev = DevChainConfig::from_chain_config(config, None)?;
                let chain = DevChain::open(dev).wrap_err("opening the embedded L1")?;
                let (addr, server) = loft_l1_embedded::rpc::serve(
                    chain.clone(),
                    SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                )
                .await?;
                Self {
                    url: format!("http://{addr}"),
                    backend: "embedded",
                    keys,
                    _embedded: Some((chain, server)),
                }
            }
        })
    }

    /// Deploys loft's contracts with dev account `n` (the sequencer, first operator and bond
    /// payer), and returns its L1 client with the deployment.
    pub(super) async fn deploy(
        &self,
        config: &ChainConfig,
        n: usize,
    ) -> Result<(Arc<RpcL1>, loft_contracts::Deployment)> {
        let l1 = self.l1(config, n).await?;
        let deployment = loft_contracts::deploy(l1.as_ref(), loft_node::deploy_options(config))
            .await
            .wrap_err("deploying loft's contracts")?;
        Ok((l1, deployment))
    }

    /// The L1 signing as dev account `n`.
    pub(super) async fn l1(&self, config: &ChainConfig, n: usize) -> Result<Arc<RpcL1>> {
        l1_as(&self.url, config, &self.keys[n]).await
    }
}

/// L1 time (the latest block's timestamp).
pub(super) async fn l1_now(l1: &dyn L1Client) -> Result<u64> {
    Ok(l1
        .block(BlockNumberOrTag::Latest)
        .await?
        .map(|b| b.timestamp)
        .unwrap_or_default())
}

/// Moves L1 time to `at` (if it is not there yet) by mining a block with that timestamp.
pub(super) async fn l1_time_to(l1: &RpcL1, at: u64) -> Result<()> {
    let now = l1_now(l1).await?;
    if at > now {
        l1.set_next_block_timestamp(at).await?;
        l1.mine(1).await?;
    }
    Ok(())
}

/// One account's balance at the end, as the story expects it and as each source reports it.
#[derive(Debug, Serialize)]
pub(super) struct Balance {
    pub(super) who: &'static str,
    pub(super) account: Address,
    pub(super) expected: U256,
    pub(super) actual: U256,
}

/// Each account's ETH balance on an L2 node (through `wallet`) and in a fresh verifier rebuilt
/// from L1 alone, against what the story expects; and whether that verifier found every batch on
/// L1 valid.
pub(super) async fn balances_on_l2_and_l1(
    wallet: &crate::wallet::Wallet,
    l1: Arc<dyn L1Client>,
    deployment: &loft_contracts::Deployment,
    config: &ChainConfig,
    expected: Vec<(&'static str, Address, U256)>,
) -> Result<(Vec<Balance>, Vec<Balance>, bool)> {
    let dir = tempfile::tempdir()?;
    let mut fresh = loft_derive::Verifier::open(
        &dir.path().join("verifier.redb"),
        l1.clone(),
        deployment.clone(),
        loft_node::chain_params(config),
    )?
    .with_confirmations(0);
    fresh.sync().await?;
    let batches = loft_contracts::rollup_call(
        l1.as_ref(),
        deployment.rollup,
        loft_contracts::L1Rollup::batchCountCall {},
    )
    .await?;
    let all_valid = fresh.checked().len() as u64 == batches
        && fresh
            .checked()
            .iter()
            .all(|b| b.verdict == loft_derive::Verdict::Valid);
    let (mut on_l2, mut rebuilt) = (Vec::new(), Vec::new());
    for (who, account, expected) in expected {
        let l2 = wallet
            .l2_balance(account, crate::wallet::Asset::Eth)
            .await?;
        let verified = match fresh
            .state()
            .get(&loft_state::layout::account_key(account))?
        {
            Some(bytes) => {
                loft_state::layout::Account::decode(&bytes)
                    .map_err(|e| eyre::eyre!("account {account} in the verified state: {e}"))?
                    .balance
            }
            None => U256::ZERO,
        };
        on_l2.push(Balance {
            who,
            account,
            expected,
            actual: l2,
        });
        rebuilt.push(Balance {
            who,
            account,
            expected,
            actual: verified,
        });
    }
    Ok((on_l2, rebuilt, all_valid))
}

/// Prints the report (as JSON with `--json`) and fails when the story's checks found problems.
pub(super) fn finish(json: bool, report: &impl Serialize, problems: Vec<String>) -> Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "report": report, "problems": problems }))?
        );
    }
    if !problems.is_empty() {
        bail!("the story went wrong: {}", problems.join("; "));
    }
    Ok(())
}

/// Polls `f` every 200 ms until it yields a value, failing after `within` with what it waited for.
pub(super) async fn wait_for<T, F, Fut>(what: &str, within: Duration, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let started = std::time::Instant::now();
    loop {
        if let Some(v) = f().await? {
            return Ok(v);
        }
        if started.elapsed() > within {
            bail!("waited {} s for {what}", within.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
