//! What a user can do through L1 alone when the operator censors it or stops
//! (`docs/liveness.md`): `loft force-withdraw`, `loft force-transfer` (a signed L2 transaction
//! put into the L1->L2 queue), `loft queue` (where a queue message stands on L2) and `loft kick`
//! (replace an operator that missed its duties).

use alloy::network::TransactionBuilder;
use alloy::primitives::Address;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use clap::Args;
use eyre::{Result, WrapErr, bail, eyre};
use loft_contracts::L1Rollup;
use loft_l1::{BlockNumberOrTag, L1Client, send_and_confirm};

use crate::args::WalletArgs;
use crate::wallet::{Asset, ForcedResult};

/// `loft force-withdraw`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ForceWithdrawArgs {
    /// Amount in token units, of the key's own L2 balance.
    amount: String,
    /// Token to withdraw (its L1 or L2 address, or `dev`). Default: ETH.
    #[arg(long)]
    token: Option<String>,
    /// L1 account to pay. Default: the key's address.
    #[arg(long)]
    to: Option<Address>,
    #[command(flatten)]
    conn: WalletArgs,
}

/// `loft force-transfer`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ForceTransferArgs {
    /// L2 recipient.
    to: Address,
    /// Amount in token units.
    amount: String,
    /// Token to send (its L1 or L2 address, or `dev`). Default: ETH.
    #[arg(long)]
    token: Option<String>,
    /// L2 nonce to sign with. Default: the account's nonce as the L2 node reports it.
    #[arg(long)]
    nonce: Option<u64>,
    #[command(flatten)]
    conn: WalletArgs,
}

/// `loft queue`.
#[derive(Debug, Clone, Args)]
pub(crate) struct QueueArgs {
    /// Index of the message in the L1->L2 queue.
    index: u64,
    #[command(flatten)]
    conn: WalletArgs,
}

/// `loft kick`.
#[derive(Debug, Clone, Args)]
pub(crate) struct KickArgs {
    #[command(flatten)]
    conn: WalletArgs,
}

fn print_forced(what: &str, r: &ForcedResult) {
    println!("{what}: queue message {}", r.index);
    println!("  L1 tx     {} ({} gas)", r.l1_tx, r.gas_used);
    println!(
        "  deadline  L1 time {}: L1 refuses any batch that leaves it unconsumed after that, and the operator can then be kicked",
        r.deadline
    );
}

pub(crate) async fn force_withdraw_cmd(args: ForceWithdrawArgs) -> Result<()> {
    let wallet = args.conn.connect().await?;
    let asset = wallet.resolve_asset(args.token.as_deref()).await?;
    let amount = asset.parse(&args.amount)?;
    let r = wallet.force_withdraw(&asset, amount, args.to).await?;
    print_forced(
        &format!("forced a withdrawal of {} through L1", asset.format(amount)),
        &r,
    );
    println!(
        "next: once a batch holding it is final, run\n  loft claim --queue-index {} --wait\n(a withdrawal of more than the L2 balance withdraws nothing; `loft queue {}` shows its receipt)",
        r.index, r.index
    );
    Ok(())
}

pub(crate) async fn force_transfer_cmd(args: ForceTransferArgs) -> Result<()> {
    let wallet = args.conn.connect().await?;
    let asset = wallet.resolve_asset(args.token.as_deref()).await?;
    let amount = asset.parse(&args.amount)?;
    let (to, value, input) = match asset.asset {
        Asset::Eth => (args.to, amount, Vec::new()),
        Asset::Token { l2, .. } => (
            l2,
            alloy::primitives::U256::ZERO,
            crate::wallet::erc20_transfer_calldata(args.to, amount),
        ),
    };
    let r = wallet
        .force_transaction(to, value, input, args.nonce)
        .await?;
    print_forced(
        &format!(
            "forced a transfer of {} to {} through L1",
            asset.format(amount),
            args.to
        ),
        &r,
    );
    println!(
        "next: `loft queue {}` shows whether L2 executed it (and why not, if it refused it)",
        r.index
    );
    Ok(())
}

pub(crate) async fn queue_cmd(args: QueueArgs) -> Result<()> {
    let wallet = args.conn.connect().await?;
    let m = wallet.queue_message(args.index).await?;
    let field = |name: &str| {
        m[name]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| m[name].to_string())
    };
    println!(
        "queue message {}: {} from {}",
        args.index,
        field("kind"),
        field("sender")
    );
    let l1_tx = m["l1Transaction"]
        .as_str()
        .map(|tx| format!("L1 tx {tx}, "))
        .unwrap_or_default();
    println!(
        "  queued    {l1_tx}L1 block {}, L1 time {}; deadline L1 time {}",
        m["l1Block"], m["queuedAt"], m["deadline"]
    );
    match m["status"].as_str() {
        Some("consumed") => {
            let receipt = &m["receipt"];
            let outcome = match receipt["status"].as_str() {
                Some("ignored") => format!(
                    "consumed without effect: {}",
                    receipt["reason"].as_str().unwrap_or("?")
                ),
                Some("executed") => format!(
                    "executed as L2 transaction {}",
                    receipt["hash"].as_str().unwrap_or("?")
                ),
                Some(s) => s.to_string(),
                None => "consumed".into(),
            };
            println!("  L2 block  {}: {outcome}", m["block"]);
            println!(
                "  on L1     {}",
                m["inclusion"]["detail"].as_str().unwrap_or("?")
            );
            if let Some(w) = m.get("withdrawal") {
                println!(
                    "  withdrawal {} ({})",
                    w["status"].as_str().unwrap_or("?"),
                    w["detail"].as_str().unwrap_or("")
                );
            }
        }
        _ => println!("  {}", field("detail")),
    }
    Ok(())
}

pub(crate) async fn kick_cmd(args: KickArgs) -> Result<()> {
    let wallet = args.conn.connect().await?;
    let me = wallet.require_address()?;
    let rollup = wallet
        .chain()
        .rollup
        .ok_or_else(|| eyre!("the L2 node names no L1 rollup contract"))?;
    let l1 = wallet.l1().await?;
    let active = loft_contracts::view_call(l1, rollup, L1Rollup::activeOperatorCall {})
        .await
        .wrap_err("reading the active operator")?;
    if active.operator.is_zero() {
        bail!("no operator is active: nobody to kick");
    }
    let at = loft_contracts::view_call(l1, rollup, L1Rollup::kickableAtCall {}).await?;
    let now = l1
        .block(BlockNumberOrTag::Latest)
        .await?
        .map(|b| b.timestamp)
        .unwrap_or_default();
    if at == u64::MAX {
        bail!(
            "operator {} is live: the queue holds no unconsumed message, so it cannot be kicked",
            active.operator
        );
    }
    if at > now {
        bail!(
            "operator {} is live: it can be kicked only from L1 time {at} (now {now}, {} s to go)",
            active.operator,
            at - now
        );
    }
    let receipt = match send_and_confirm(
        l1,
        TransactionRequest::default()
            .with_to(rollup)
            .with_input(L1Rollup::kickCall {}.abi_encode()),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => match crate::revert::rollup_revert(&e) {
            Some(why) => bail!("the rollup refused the kick: {why}"),
            None => return Err(eyre::Report::new(e).wrap_err("kicking the operator")),
        },
    };
    let kicked = receipt
        .inner
        .logs()
        .iter()
        .filter(|l| l.address() == rollup)
        .find_map(|l| {
            <L1Rollup::OperatorKicked as alloy::sol_types::SolEvent>::decode_log(&l.inner).ok()
        })
        .ok_or_else(|| eyre!("the kick emitted no OperatorKicked"))?;
    let next = loft_contracts::view_call(l1, rollup, L1Rollup::activeOperatorCall {}).await?;
    println!(
        "kicked operator {}: slashed {} wei of its bond, {} wei to {me}",
        kicked.operator, kicked.slashed, kicked.reward
    );
    println!(
        "  L1 tx     {} ({} gas)",
        receipt.transaction_hash, receipt.gas_used
    );
    if next.operator.is_zero() {
        println!(
            "  no operator is left: once nothing becomes final for the exodus delay, `loft exit` gets every balance out"
        );
    } else {
        println!(
            "  active    {} (bid {} wei) from now",
            next.operator, next.bid
        );
    }
    Ok(())
}
