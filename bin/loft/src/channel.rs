//! `loft channel ...` (the channel daemon and the commands that talk to it) and
//! `loft watchtower`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::utils::format_ether;
use alloy::primitives::{Address, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use clap::{Args, Subcommand};
use eyre::{Result, WrapErr, eyre};
use loft_channel::ChannelKey;
use loft_channel::daemon::{Daemon, DaemonConfig, PayReport, control_call};
use loft_channel::tower::{Tower, TowerConfig};
use loft_l1::L1Client;
use loft_l1_rpc::{KeySource, RpcL1, RpcL1Config, load_signer};
use serde_json::{Value, json};

use crate::args::ChainArgs;
use crate::wallet::parse_amount;

/// `loft channel`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ChannelArgs {
    #[command(subcommand)]
    command: ChannelCommand,
}

#[derive(Debug, Clone, Subcommand)]
enum ChannelCommand {
    /// Run the channel daemon of one account: peer connections, the control RPC the other
    /// commands use, and the L1 watcher that answers stale closes.
    Daemon(DaemonArgs),
    /// Open a channel to a peer daemon with a deposit (ETH, or an ERC-20 with --token).
    Open(OpenArgs),
    /// Add a deposit to an open channel (either party).
    Fund(FundArgs),
    /// Pay the counterparty (--count N: N payments of AMOUNT, pipelined).
    Pay(PayArgs),
    /// Show the daemon's channels.
    Status(StatusArgs),
    /// Print the newest fully signed state (what L1 would enforce) as JSON.
    State(StatusArgs),
    /// Close cooperatively: both sign a final state, paid out on L1 at once.
    Close(StatusArgs),
    /// Close unilaterally with the newest fully signed state; the dispute window starts.
    ForceClose(StatusArgs),
    /// Pay out a unilaterally closed channel after its dispute window.
    Settle(StatusArgs),
}

/// How to reach L1 and which key signs, for the daemon and the watchtower.
#[derive(Debug, Clone, Args)]
struct L1KeyArgs {
    /// JSON-RPC URL of the L1 node (`loft devnet` serves its embedded L1 at this default).
    #[arg(
        long = "l1-rpc",
        env = "LOFT_L1_RPC",
        default_value = "http://127.0.0.1:8545"
    )]
    l1_rpc: String,
    /// Hex private key of the account (it signs channel states and pays L1 gas).
    #[arg(long, env = "LOFT_KEY", hide_env_values = true)]
    key: Option<String>,
    /// Encrypted JSON keystore instead of --key.
    #[arg(long, env = "LOFT_KEYSTORE")]
    keystore: Option<PathBuf>,
    /// Password of --keystore.
    #[arg(
        long,
        env = "LOFT_KEYSTORE_PASSWORD",
        hide_env_values = true,
        default_value = ""
    )]
    password: String,
    /// Use development account N of the chain configuration's mnemonic (devnets only).
    #[arg(long, value_name = "N")]
    dev_account: Option<u32>,
    /// The adjudicator contract (`loft devnet` prints it).
    #[arg(long, env = "LOFT_ADJUDICATOR")]
    adjudicator: Address,
    #[command(flatten)]
    chain: ChainArgs,
}

impl L1KeyArgs {
    fn signer(&self, config: &loft_config::ChainConfig) -> Result<PrivateKeySigner> {
        if let Some(n) = self.dev_account {
            let keys = loft_l1_embedded::dev_keys(&config.devnet.mnemonic, n + 1)
                .map_err(|e| eyre!("deriving dev account {n}: {e}"))?;
            return keys
                .into_iter()
                .nth(n as usize)
                .ok_or_else(|| eyre!("no dev account {n}"));
        }
        let source = match (&self.key, &self.keystore) {
            (Some(k), _) => KeySource::PrivateKey(k.clone()),
            (None, Some(path)) => KeySource::Keystore {
                path: path.clone(),
                password: self.password.clone(),
            },
            (None, None) => {
                return Err(eyre!("a key is needed: --key, --keystore or --dev-account"));
            }
        };
        Ok(load_signer(&source)?)
    }

    async fn connect(
        &self,
    ) -> Result<(
        Arc<dyn L1Client>,
        PrivateKeySigner,
        loft_config::ChainConfig,
    )> {
        let config = self
            .chain
            .load()
            .wrap_err("loading the chain configuration")?;
        let signer = self.signer(&config)?;
        let mut rpc = RpcL1Config::new(self.l1_rpc.clone());
        rpc.confirmations = config.l1.confirmations;
        rpc.tx_timeout = Duration::from_secs(config.l1.tx_timeout_secs);
        let l1 = RpcL1::connect(rpc, signer.clone())
            .await
            .wrap_err_with(|| format!("connecting to the L1 at {}", self.l1_rpc))?;
        if l1.code(self.adjudicator).await?.is_empty() {
            return Err(eyre!(
                "no contract at --adjudicator {} on {}",
                self.adjudicator,
                self.l1_rpc
            ));
        }
        Ok((Arc::new(l1), signer, config))
    }
}

/// `loft channel daemon`.
#[derive(Debug, Clone, Args)]
struct DaemonArgs {
    #[command(flatten)]
    l1: L1KeyArgs,
    /// Folder of the daemon's database (channel states, logs, payment ids).
    #[arg(long, env = "LOFT_CHANNEL_DIR")]
    data_dir: PathBuf,
    /// Address peers connect to.
    #[arg(long, default_value = "127.0.0.1:9735")]
    listen: SocketAddr,
    /// Address of the control JSON-RPC server (`loft channel ... --daemon`).
    #[arg(long, default_value = "127.0.0.1:9736")]
    rpc: SocketAddr,
    /// Most payments in flight per channel.
    #[arg(long, default_value_t = 128)]
    window: usize,
    /// Seconds a peer may leave payments unanswered before a unilateral close. Default: the
    /// config's `channels.peer_timeout_secs`.
    #[arg(long)]
    peer_timeout_secs: Option<u64>,
    /// A watchtower's JSON-RPC URL: the newest signed state is handed to it every second.
    #[arg(long, env = "LOFT_WATCHTOWER")]
    watchtower: Option<String>,
}

/// `loft watchtower`.
#[derive(Debug, Clone, Args)]
pub(crate) struct WatchtowerArgs {
    #[command(flatten)]
    l1: L1KeyArgs,
    /// Folder of the tower's database.
    #[arg(long, env = "LOFT_TOWER_DIR")]
    data_dir: PathBuf,
    /// Address of its JSON-RPC server (`tower_watch`, `tower_status`).
    #[arg(long, default_value = "127.0.0.1:9737")]
    rpc: SocketAddr,
}

/// Which daemon the commands talk to.
#[derive(Debug, Clone, Args)]
struct DaemonUrl {
    /// Control JSON-RPC URL of the channel daemon.
    #[arg(
        long,
        env = "LOFT_CHANNEL_RPC",
        default_value = "http://127.0.0.1:9736"
    )]
    daemon: String,
    /// The channel (optional when the daemon has exactly one that is not closed).
    #[arg(long)]
    channel: Option<B256>,
    /// Print the daemon's JSON answer instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Args)]
struct OpenArgs {
    #[command(flatten)]
    to: DaemonUrl,
    /// The peer daemon's address (its --listen).
    #[arg(long)]
    peer: String,
    /// The counterparty's account.
    #[arg(long)]
    counterparty: Address,
    /// Deposit, e.g. `1.5` (ETH, or tokens by --decimals).
    amount: String,
    /// ERC-20 token instead of ETH.
    #[arg(long)]
    token: Option<Address>,
    /// Decimals of --token's amounts.
    #[arg(long, default_value_t = 18)]
    decimals: u8,
}

#[derive(Debug, Clone, Args)]
struct FundArgs {
    #[command(flatten)]
    to: DaemonUrl,
    /// Amount to add, e.g. `0.5`.
    amount: String,
    /// Decimals of the channel token's amounts.
    #[arg(long, default_value_t = 18)]
    decimals: u8,
}

#[derive(Debug, Clone, Args)]
struct PayArgs {
    #[command(flatten)]
    to: DaemonUrl,
    /// Amount of each payment, e.g. `0.001`.
    amount: String,
    /// Number of payments (each its own signed state), pipelined.
    #[arg(long, default_value_t = 1)]
    count: u64,
    /// Id of the first payment (ids first..first+count). Rerunning with the same ids after a
    /// crash pays only those not yet settled. Default: fresh ids.
    #[arg(long)]
    first_id: Option<u64>,
    /// Decimals of the channel token's amounts.
    #[arg(long, default_value_t = 18)]
    decimals: u8,
}

#[derive(Debug, Clone, Args)]
struct StatusArgs {
    #[command(flatten)]
    to: DaemonUrl,
}

pub(crate) async fn run(args: ChannelArgs) -> Result<()> {
    match args.command {
        ChannelCommand::Daemon(a) => daemon(a).await,
        ChannelCommand::Open(a) => {
            let amount = parse_amount(&a.amount, a.decimals)?;
            let mut params =
                json!({"peer": a.peer, "counterparty": a.counterparty, "amount": amount});
            if let Some(t) = a.token {
                params["token"] = json!(t);
            }
            let r = call(&a.to.daemon, "channel_open", params).await?;
            if a.to.json {
                return print_json(&r);
            }
            println!("opened channel {}", r["channel"].as_str().unwrap_or("?"));
            println!(
                "  deposit {} in L1 transaction {} ({} gas)",
                format_ether(amount),
                r["tx"].as_str().unwrap_or("?"),
                r["gasUsed"]
            );
            if r["ready"] != json!(true) {
                println!("  the peer has not yet signed the deposit (is its daemon running?)");
            }
            Ok(())
        }
        ChannelCommand::Fund(a) => {
            let amount = parse_amount(&a.amount, a.decimals)?;
            let r = call(
                &a.to.daemon,
                "channel_fund",
                with_channel(json!({"amount": amount}), &a.to),
            )
            .await?;
            if a.to.json {
                return print_json(&r);
            }
            println!(
                "added {} in L1 transaction {}; the channel {} it",
                format_ether(amount),
                r["tx"].as_str().unwrap_or("?"),
                if r["ready"] == json!(true) {
                    "accounts for"
                } else {
                    "does not yet account for"
                }
            );
            Ok(())
        }
        ChannelCommand::Pay(a) => {
            let amount = parse_amount(&a.amount, a.decimals)?;
            let mut params = with_channel(json!({"amount": amount, "count": a.count}), &a.to);
            if let Some(id) = a.first_id {
                params["firstId"] = json!(id);
            }
            let r = call(&a.to.daemon, "channel_pay", params).await?;
            if a.to.json {
                return print_json(&r);
            }
            let p: PayReport = serde_json::from_value(r).wrap_err("reading the daemon's answer")?;
            println!(
                "paid {} of {} payment(s) of {} in {:.1} ms ({:.0}/s); latency p50 {} us, p99 {} us",
                p.paid,
                p.requested,
                format_ether(amount),
                p.elapsed_ms,
                p.per_second,
                p.latency_p50_us,
                p.latency_p99_us
            );
            if p.already_paid > 0 {
                println!(
                    "  {} already settled before (not paid again)",
                    p.already_paid
                );
            }
            println!(
                "  version {}: you {}, peer {}",
                p.version,
                format_ether(p.balance),
                format_ether(p.peer_balance)
            );
            if p.failed > 0 {
                return Err(eyre!(
                    "{} payment(s) refused: {}",
                    p.failed,
                    p.first_error.unwrap_or_default()
                ));
            }
            Ok(())
        }
        ChannelCommand::Status(a) => {
            let r = call(
                &a.to.daemon,
                "channel_status",
                with_channel(json!({}), &a.to),
            )
            .await?;
            if a.to.json {
                return print_json(&r);
            }
            let list = r.as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                println!("no channels");
            }
            for c in list {
                let bal = |k: &str| {
                    serde_json::from_value::<U256>(c[k].clone())
                        .map(format_ether)
                        .unwrap_or_default()
                };
                println!(
                    "{}  {} ({}), peer {}  {}",
                    c["channel"].as_str().unwrap_or("?"),
                    c["phase"].as_str().unwrap_or("?"),
                    if c["connected"] == json!(true) {
                        "connected"
                    } else {
                        "not connected"
                    },
                    c["peer"].as_str().unwrap_or("?"),
                    if c["role"] == json!("a") {
                        "(you opened it)"
                    } else {
                        ""
                    }
                );
                println!(
                    "  version {}: you {}, peer {}; outstanding {}{}",
                    c["version"],
                    bal("balance"),
                    bal("peerBalance"),
                    c["outstanding"],
                    match c["closesAt"].as_u64() {
                        Some(t) => format!(
                            "; dispute window ends at {t} (version {} on L1)",
                            c["closingVersion"]
                        ),
                        None => String::new(),
                    }
                );
            }
            Ok(())
        }
        ChannelCommand::State(a) => {
            let r = call(
                &a.to.daemon,
                "channel_state",
                with_channel(json!({}), &a.to),
            )
            .await?;
            print_json(&r)
        }
        ChannelCommand::Close(a) => {
            let r = call(
                &a.to.daemon,
                "channel_close",
                with_channel(json!({}), &a.to),
            )
            .await?;
            if a.to.json {
                return print_json(&r);
            }
            println!(
                "closed cooperatively at version {}: A gets {}, B gets {}{}",
                r["version"],
                eth_of(&r["payoutA"]),
                eth_of(&r["payoutB"]),
                match r["tx"].as_str() {
                    Some(tx) => format!(" (L1 transaction {tx}, {} gas)", r["gasUsed"]),
                    None => " (the peer submitted it)".into(),
                }
            );
            Ok(())
        }
        ChannelCommand::ForceClose(a) => {
            let r = call(
                &a.to.daemon,
                "channel_forceClose",
                with_channel(json!({}), &a.to),
            )
            .await?;
            if a.to.json {
                return print_json(&r);
            }
            println!(
                "closing unilaterally with version {} (L1 transaction {}); `loft channel settle` after {}",
                r["version"],
                r["tx"].as_str().unwrap_or("?"),
                r["closesAt"]
            );
            Ok(())
        }
        ChannelCommand::Settle(a) => {
            let r = call(
                &a.to.daemon,
                "channel_settle",
                with_channel(json!({}), &a.to),
            )
            .await?;
            if a.to.json {
                return print_json(&r);
            }
            println!(
                "settled: A gets {}, B gets {}, penalty {} (L1 transaction {})",
                eth_of(&r["payoutA"]),
                eth_of(&r["payoutB"]),
                eth_of(&r["penalty"]),
                r["tx"].as_str().unwrap_or("?")
            );
            Ok(())
        }
    }
}

fn eth_of(v: &Value) -> String {
    serde_json::from_value::<U256>(v.clone())
        .map(format_ether)
        .unwrap_or_else(|_| "?".into())
}

fn with_channel(mut params: Value, to: &DaemonUrl) -> Value {
    if let Some(c) = to.channel {
        params["channel"] = json!(c);
    }
    params
}

fn print_json(v: &Value) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// Calls the daemon's control RPC.
async fn call(url: &str, method: &'static str, params: Value) -> Result<Value> {
    control_call(url, method, params)
        .await
        .map_err(|e| eyre!(e))
}

async fn daemon(args: DaemonArgs) -> Result<()> {
    let (l1, signer, config) = args.l1.connect().await?;
    let key = ChannelKey::from_bytes(&signer.to_bytes()).ok_or_else(|| eyre!("invalid key"))?;
    let mut c = DaemonConfig::new(args.data_dir.clone());
    c.peer_listen = args.listen;
    c.rpc_listen = args.rpc;
    c.window = args.window;
    c.peer_timeout = Duration::from_secs(
        args.peer_timeout_secs
            .unwrap_or(config.channels.peer_timeout_secs),
    );
    c.watchtower = args.watchtower.clone();
    let d = Daemon::start(key, l1, args.l1.adjudicator, c)
        .await
        .wrap_err("starting the channel daemon")?;
    println!(
        "loft channel daemon for {}: peers at {}, control RPC at http://{}",
        d.address(),
        d.peer_addr(),
        d.rpc_addr()
    );
    tokio::select! {
        _ = crate::devnet::wait_for_shutdown() => {}
        _ = d.stopped() => {}
    }
    d.stop().await;
    Ok(())
}

pub(crate) async fn watchtower(args: WatchtowerArgs) -> Result<()> {
    let (l1, _, _) = args.l1.connect().await?;
    let account = l1.sender();
    let tower = Tower::start(
        l1,
        args.l1.adjudicator,
        TowerConfig {
            data_dir: args.data_dir.clone(),
            rpc_listen: args.rpc,
            poll_interval: Duration::from_millis(500),
        },
    )
    .await
    .wrap_err("starting the watchtower")?;
    println!(
        "loft watchtower (account {account}, pays for challenges): JSON-RPC at http://{}",
        tower.rpc_addr()
    );
    tokio::select! {
        _ = crate::devnet::wait_for_shutdown() => {}
        _ = tower.stopped() => {}
    }
    tower.stop().await;
    Ok(())
}
