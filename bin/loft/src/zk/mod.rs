//! `loft zk ...`: the zk profile's wallet commands, and the zk devnet (`loft devnet --profile
//! zk`, [`devnet`]).

pub(crate) mod devnet;
pub(crate) mod wallet;

use std::time::Duration;

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use clap::{Args, Subcommand};
use eyre::{Result, WrapErr, eyre};
use loft_l1::L1Client;
use loft_l1_rpc::load_signer;

use crate::args::WalletArgs;
use crate::wallet::{format_amount, parse_amount};
use wallet::ZkWallet;

/// `loft zk`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ZkArgs {
    #[command(subcommand)]
    command: ZkCommand,
    #[command(flatten)]
    conn: WalletArgs,
}

#[derive(Debug, Clone, Subcommand)]
enum ZkCommand {
    /// Print the L2 key derived from your Ethereum key, and your accounts.
    Key,
    /// Create a zk account owned by your L1 address with your derived L2 key (through the L1
    /// queue), optionally depositing ETH into it in the same transaction.
    Register {
        /// ETH to deposit with the registration, e.g. `1.5`.
        #[arg(long)]
        deposit: Option<String>,
    },
    /// Deposit ETH from L1 into a zk account (yours by default).
    Deposit {
        /// ETH, e.g. `0.5`.
        amount: String,
        /// The account to credit. Default: yours.
        #[arg(long)]
        account: Option<u32>,
    },
    /// Send ETH to another zk account (a signed L2 transfer).
    Transfer {
        /// ETH, e.g. `0.25`; must be a packable amount (19 significant bits times a power of ten).
        amount: String,
        /// The recipient's account index.
        #[arg(long)]
        to: u32,
        /// Fee in wei to the operator (4 significant bits times a power of ten).
        #[arg(long, default_value_t = 0)]
        fee: u128,
        /// Wait until the batch holding it is verified on L1.
        #[arg(long)]
        wait: bool,
    },
    /// Withdraw ETH to your L1 address: claimable as soon as its batch's proof is verified.
    Withdraw {
        /// ETH, e.g. `0.2`.
        amount: String,
        /// Fee in wei to the operator.
        #[arg(long, default_value_t = 0)]
        fee: u128,
        /// Wait until the batch holding it is verified on L1.
        #[arg(long)]
        wait: bool,
    },
    /// Queue a forced exit of your whole balance on L1: the operator must include it within the
    /// force-inclusion delay, or anyone (`loft node --role prover`) may prove it instead.
    Exit,
    /// Claim on L1 what verified withdrawals and exits credited to your address.
    Claim,
    /// Show a zk account (yours by default) and what you can claim on L1.
    Balance {
        /// Account index. Default: yours.
        #[arg(long)]
        account: Option<u32>,
    },
    /// Show the zk node's status.
    Status,
}

/// The signer the connection flags name (`--dev-account` uses the devnet mnemonic).
fn signer(conn: &WalletArgs) -> Result<PrivateKeySigner> {
    if let Some(n) = conn.dev_account {
        let mnemonic = loft_config::ChainConfig::devnet().devnet.mnemonic;
        return loft_l1_embedded::dev_keys(&mnemonic, n + 1)
            .map_err(|e| eyre!("deriving dev account {n}: {e}"))?
            .into_iter()
            .nth(n as usize)
            .ok_or_else(|| eyre!("no dev account {n}"));
    }
    let source = conn
        .key_source()
        .ok_or_else(|| eyre!("pass --key, --keystore or --dev-account"))?;
    load_signer(&source).wrap_err("loading the key")
}

fn wei(amount: &str) -> Result<u128> {
    let v = parse_amount(amount, 18)?;
    u128::try_from(v).map_err(|_| eyre!("{amount} ETH is too large"))
}

fn eth(wei: u128) -> String {
    format!("{} ETH", format_amount(U256::from(wei), 18))
}

fn tx(r: &alloy::rpc::types::TransactionReceipt) -> String {
    format!("L1 tx {} ({} gas)", r.transaction_hash, r.gas_used)
}

pub(crate) async fn run(args: ZkArgs) -> Result<()> {
    let signer = signer(&args.conn)?;
    let mut w = ZkWallet::connect(&args.conn.rpc, &args.conn.l1_rpc, signer).await?;
    match args.command {
        ZkCommand::Key => {
            println!("L1 address  {}", w.address());
            println!(
                "L2 key      {}  (derived from the L1 key for chain {})",
                w.public_key(),
                w.status.chain_id
            );
            println!("accounts    {:?}", w.owned_accounts().await?);
        }
        ZkCommand::Register { deposit } => {
            let value = deposit.as_deref().map(wei).transpose()?.unwrap_or(0);
            let (account, r) = w.register(U256::from(value)).await?;
            println!(
                "registered account {account} with key {}: {}; the key{} is applied when the sequencer takes the queue message",
                w.public_key(),
                tx(&r),
                if value > 0 {
                    format!(" and a deposit of {}", eth(value))
                } else {
                    String::new()
                }
            );
        }
        ZkCommand::Deposit { amount, account } => {
            let account = match account {
                Some(a) => a,
                None => w.my_account().await?,
            };
            let value = wei(&amount)?;
            let r = w.deposit(account, U256::from(value)).await?;
            println!(
                "deposited {} into account {account}: {}",
                eth(value),
                tx(&r)
            );
        }
        ZkCommand::Transfer {
            amount,
            to,
            fee,
            wait,
        } => {
            let value = wei(&amount)?;
            let a = w.transfer(to, value, fee).await?;
            println!(
                "transfer of {} to account {to} accepted in batch {}",
                eth(value),
                a.batch
            );
            if wait {
                w.wait_verified(a.batch, Duration::from_secs(600)).await?;
                println!("batch {} verified on L1", a.batch);
            }
        }
        ZkCommand::Withdraw { amount, fee, wait } => {
            let value = wei(&amount)?;
            let a = w.withdraw(value, fee).await?;
            println!(
                "withdrawal of {} accepted in batch {}; claim it with `loft zk claim` once the batch is verified",
                eth(value),
                a.batch
            );
            if wait {
                w.wait_verified(a.batch, Duration::from_secs(600)).await?;
                println!(
                    "batch {} verified on L1: {} claimable",
                    a.batch,
                    eth(w.claimable().await?.to::<u128>())
                );
            }
        }
        ZkCommand::Exit => {
            let account = w.my_account().await?;
            let r = w.force_exit(account).await?;
            println!("forced exit of account {account} queued: {}", tx(&r));
        }
        ZkCommand::Claim => {
            let due = w.claimable().await?;
            if due.is_zero() {
                println!("nothing to claim for {}", w.address());
                return Ok(());
            }
            let r = w.claim().await?;
            println!(
                "claimed {} to {}: {}",
                eth(due.to::<u128>()),
                w.address(),
                tx(&r)
            );
        }
        ZkCommand::Balance { account } => {
            let account = match account {
                Some(a) => a,
                None => w.my_account().await?,
            };
            let a = w.account(account).await?;
            println!(
                "account {account}: {} on L2 (nonce {}, {}), {} claimable on L1, {} on L1",
                eth(a.balance()?),
                a.nonce,
                if a.registered {
                    "registered"
                } else {
                    "not registered yet"
                },
                eth(w.claimable().await?.to::<u128>()),
                eth(w.l1().balance(w.address()).await?.to::<u128>()),
            );
        }
        ZkCommand::Status => {
            let s = w.refresh().await?.clone();
            println!(
                "zk {} for rollup {} (chain id {}): depth {}, {} transfer + {} general slots per batch",
                s.role, s.rollup, s.chain_id, s.tree_depth, s.batch_transfers, s.batch_general
            );
            println!(
                "batches: {} sealed, {} proved, {} verified on L1; {} operations in the open batch; queue next {}; state root {:#x}",
                s.sealed_batches,
                s.proved_batches,
                s.verified_batches,
                s.open_ops,
                s.queue_next,
                s.state_root
            );
        }
    }
    Ok(())
}
