//! `loft scenario exodus` (`docs/escape-hatch.md`): users deposit, pay and withdraw; a batch
//! becomes final and Alice claims her withdrawal; then the only operator stops for good, and Dave
//! deposits into a rollup nobody runs. Nothing becomes final for the exodus delay, so anyone may
//! freeze the rollup. Every user (the operator too, for its fees) exits with `loft exit`'s code
//! from L1 data alone and gets exactly its L2 balance in the last final state; Dave's deposit,
//! which no final batch consumed, is refunded; a second exit and an exit of the wrong balance
//! are refused; the bridge ends holding nothing.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use eyre::{Result, WrapErr, bail, eyre};
use loft_contracts::{L1Rollup, rollup_call};
use loft_l1::{L1Client, send_and_confirm};
use loft_node::{Node, NodeConfig, NodeOptions};
use serde::Serialize;

use super::{Balance, Stage, StoryArgs, finish, l1_time_to, say, wait_for};
use crate::exit::{ExitReport, exit_account};
use crate::revert::rollup_revert;
use crate::wallet::{AssetInfo, ClaimOutcome, Wallet};

const OPERATOR: usize = 0;
const ALICE: usize = 1;
const BOB: usize = 2;
const CAROL: usize = 3;
const DAVE: usize = 4;

#[derive(Debug, Serialize)]
struct Report {
    l1: String,
    deposited_wei: U256,
    claimed_wei: U256,
    final_batches: u64,
    freeze_tx: Option<B256>,
    freeze_gas: Option<u64>,
    exits: Vec<ExitReport>,
    /// What each account was paid against what its L2 balance in the last final state was.
    paid: Vec<Balance>,
    dave_refund_wei: U256,
    second_exit_error: String,
    wrong_balance_error: String,
    bridge_before_wei: U256,
    bridge_after_wei: U256,
    seconds: f64,
}

pub(super) async fn run(args: StoryArgs) -> Result<()> {
    let started = Instant::now();
    let json = args.json;
    let config = args.config()?;
    let stage = Stage::open(&config, args.l1_rpc.as_deref()).await?;
    let keys = &stage.keys;
    let eth = AssetInfo::eth();
    let (operator_l1, deployment) = stage.deploy(&config, OPERATOR).await?;
    let (rollup, bridge) = (deployment.rollup, deployment.bridge);
    let l1 = stage.l1(&config, DAVE).await?;
    let dir = tempfile::tempdir()?;
    let node = Node::start_with(
        NodeConfig {
            chain: config.clone(),
            deployment: deployment.clone(),
            data_dir: dir.path().join("operator"),
            rpc_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            post_batches: true,
        },
        operator_l1.clone(),
        NodeOptions::default(),
    )
    .await
    .wrap_err("starting the operator")?;
    let l2_url = format!("http://{}", node.rpc_addr);
    say(
        json,
        format!(
            "[1] L1 ({}, {}): rollup {rollup}, bridge {bridge}; the only operator {} runs on {l2_url} (its fees go to {})",
            stage.backend,
            stage.url,
            keys[OPERATOR].address(),
            config.l2.fee_recipient
        ),
    );

    // Users.
    let wallet = |k: usize| {
        let (url, l1_url, key) = (l2_url.clone(), stage.url.clone(), keys[k].clone());
        async move { Wallet::connect(&url, &l1_url, Some(key)).await }
    };
    let (alice, bob) = (wallet(ALICE).await?, wallet(BOB).await?);
    let carol = keys[CAROL].address();
    let (da, db) = tokio::try_join!(
        alice.deposit_eth(eth.parse("5")?, None),
        bob.deposit_eth(eth.parse("2")?, None)
    )?;
    alice.wait_for_deposit(&da, Duration::from_secs(60)).await?;
    bob.wait_for_deposit(&db, Duration::from_secs(60)).await?;
    let t1 = alice.transfer(&eth, carol, eth.parse("1")?).await?;
    let t2 = bob.transfer(&eth, carol, eth.parse("0.5")?).await?;
    let w = alice.withdraw(&eth, eth.parse("0.5")?, None).await?;
    say(
        json,
        format!(
            "[2] Alice deposits 5 ETH, Bob 2 ETH; Alice pays Carol 1 ETH (L2 {}), Bob pays Carol 0.5 ETH (L2 {}); Alice withdraws 0.5 ETH (L2 {})",
            t1.hash, t2.hash, w.hash
        ),
    );

    // Everything is posted and becomes final; Alice claims her withdrawal.
    let head = node.shared.sequencer().head().number;
    wait_for(
        "the operator to post every block",
        Duration::from_secs(60),
        || async {
            let last = rollup_call(l1.as_ref(), rollup, L1Rollup::lastBlockCall {}).await?;
            Ok((last >= head).then_some(()))
        },
    )
    .await?;
    let claimable_at = wait_for(
        "Alice's withdrawal to be posted",
        Duration::from_secs(60),
        || async { Ok(alice.withdrawal_status(w.hash).await?.claimable_at) },
    )
    .await?;
    l1_time_to(&l1, claimable_at).await?;
    let claimed = match alice
        .claim_wait(w.hash, Duration::from_secs(60), |_| {})
        .await?
    {
        ClaimOutcome::Claimed(c) => c,
        other => bail!("Alice's withdrawal was not claimed: {other:?}"),
    };
    let final_batches =
        rollup_call(l1.as_ref(), rollup, L1Rollup::finalizedBatchCountCall {}).await?;
    say(
        json,
        format!(
            "[3] the operator posted every block; {final_batches} batch(es) final; Alice claimed her 0.5 ETH (L1 {})",
            claimed.l1_tx
        ),
    );

    // The operator stops for good; Dave deposits into a rollup nobody runs.
    drop(node);
    let dave = wallet(DAVE).await;
    let dave_deposit = match dave {
        Ok(w) => w.deposit_eth(eth.parse("1")?, None).await?.l1_tx,
        // The operator's RPC is gone: deposit straight on L1, as any wallet would.
        Err(_) => {
            let r = send_and_confirm(
                l1.as_ref(),
                TransactionRequest::default()
                    .with_to(bridge)
                    .with_value(eth.parse("1")?)
                    .with_input(
                        loft_contracts::L1Bridge::depositETHCall {
                            l2Recipient: keys[DAVE].address(),
                        }
                        .abi_encode(),
                    ),
            )
            .await?;
            r.transaction_hash
        }
    };
    let freezable_at = rollup_call(l1.as_ref(), rollup, L1Rollup::freezableAtCall {}).await?;
    l1_time_to(&l1, freezable_at).await?;
    let bridge_before = l1.balance(bridge).await?;
    say(
        json,
        format!(
            "[4] the operator stops; Dave deposits 1 ETH anyway (L1 {dave_deposit}); nothing becomes final until L1 time {freezable_at}, when anyone may freeze; the bridge holds {}",
            eth.format(bridge_before)
        ),
    );

    // Everyone exits from L1 alone.
    let expected = [
        (
            "Alice",
            ALICE,
            eth.parse("5")? - eth.parse("1")? - t1.fee - eth.parse("0.5")? - w.fee,
        ),
        ("Bob", BOB, eth.parse("2")? - eth.parse("0.5")? - t2.fee),
        ("Carol", CAROL, eth.parse("1.5")?),
        ("operator (fees)", OPERATOR, t1.fee + t2.fee + w.fee),
        ("Dave (refund)", DAVE, eth.parse("1")?),
    ];
    let mut exits = Vec::new();
    let mut paid = Vec::new();
    let mut wrong_balance_error = String::new();
    for (who, k, expected) in expected {
        if k == BOB {
            // Once frozen, before his real exit: Bob asks for 1 wei more than his balance.
            wrong_balance_error =
                wrong_balance_exit(&deployment, keys[BOB].address(), &stage, &config).await?;
        }
        let signer = stage.l1(&config, k).await?;
        let before = signer.balance(keys[k].address()).await?;
        let report = exit_account(signer.clone(), &deployment, None, &|line| {
            say(json, format!("    {who}: {line}"))
        })
        .await
        .wrap_err_with(|| format!("{who}'s exit"))?;
        let mut gas_cost = U256::ZERO;
        for p in report
            .froze
            .iter()
            .chain(&report.exits)
            .chain(&report.refunds)
        {
            let r = signer
                .receipt(p.tx)
                .await?
                .ok_or_else(|| eyre!("no receipt for {}", p.tx))?;
            gas_cost += U256::from(r.gas_used) * U256::from(r.effective_gas_price);
        }
        let gained = signer.balance(keys[k].address()).await? + gas_cost - before;
        say(
            json,
            format!(
                "[5] {who} got {} on L1 ({} expected)",
                eth.format(gained),
                eth.format(expected)
            ),
        );
        paid.push(Balance {
            who,
            account: keys[k].address(),
            expected,
            actual: gained,
        });
        exits.push(report);
    }
    let dave_refund = exits
        .last()
        .map(|r| r.refunds.iter().map(|p| p.amount).sum())
        .unwrap_or_default();

    // Refusals: a second exit, and an exit of more than the balance.
    let alice_l1 = stage.l1(&config, ALICE).await?;
    let second_exit_error = match exit_account(alice_l1.clone(), &deployment, None, &|_| {}).await {
        Ok(r) => bail!("a second exit paid again: {r:?}"),
        Err(e) => format!("{e:#}"),
    };
    say(
        json,
        format!(
            "[6] Alice's second exit is refused ({second_exit_error}); Bob claiming 1 wei more than his balance is refused ({wrong_balance_error})"
        ),
    );
    let bridge_after = l1.balance(bridge).await?;
    say(
        json,
        format!(
            "[7] the bridge holds {} at the end",
            eth.format(bridge_after)
        ),
    );

    let first = &exits[0];
    let report = Report {
        l1: stage.backend.into(),
        deposited_wei: eth.parse("8")?,
        claimed_wei: claimed.amount,
        final_batches,
        freeze_tx: first.froze.as_ref().map(|p| p.tx),
        freeze_gas: first.froze.as_ref().map(|p| p.gas),
        exits,
        paid,
        dave_refund_wei: dave_refund,
        second_exit_error,
        wrong_balance_error,
        bridge_before_wei: bridge_before,
        bridge_after_wei: bridge_after,
        seconds: started.elapsed().as_secs_f64(),
    };
    let problems = check(&report);
    finish(json, &report, problems)?;
    say(
        json,
        format!(
            "done in {:.1} s: every user left with exactly its balance; the bridge is empty",
            report.seconds
        ),
    );
    Ok(())
}

/// Bob's exit proof with his balance raised by 1 wei, sent by Bob: L1 must refuse it.
async fn wrong_balance_exit(
    deployment: &loft_contracts::Deployment,
    bob: Address,
    stage: &Stage,
    config: &loft_config::ChainConfig,
) -> Result<String> {
    let l1 = stage.l1(config, BOB).await?;
    let params = loft_stf::ChainParams {
        chain_id: config.l2.chain_id,
        base_fee: 0,
        fee_recipient: config.l2.fee_recipient,
    };
    let dir = tempfile::tempdir()?;
    let mut verifier = loft_derive::Verifier::open(
        &dir.path().join("v.redb"),
        l1.clone(),
        deployment.clone(),
        params,
    )?
    .with_confirmations(0);
    verifier.sync().await?;
    let root = rollup_call(
        l1.as_ref(),
        deployment.rollup,
        L1Rollup::lastFinalizedStateRootCall {},
    )
    .await?;
    let state = verifier.state_at(root);
    let key = loft_state::account_key(bob);
    let account = state
        .get(&key)?
        .map(|v| loft_state::Account::decode(&v))
        .transpose()
        .map_err(|e| eyre!("Bob's leaf: {e}"))?
        .unwrap_or_default();
    let call = crate::exit::exit_call(
        bob,
        Address::ZERO,
        U256::from(account.nonce),
        account.balance + U256::from(1u64),
        &state.prove(&key)?,
    );
    match send_and_confirm(
        l1.as_ref(),
        TransactionRequest::default()
            .with_to(deployment.rollup)
            .with_input(call.abi_encode()),
    )
    .await
    {
        Ok(r) => bail!(
            "an exit of the wrong balance was paid: L1 {}",
            r.transaction_hash
        ),
        Err(e) => rollup_revert(&e).ok_or_else(|| e.into()),
    }
}

fn check(r: &Report) -> Vec<String> {
    let mut p = Vec::new();
    for b in &r.paid {
        if b.actual != b.expected {
            p.push(format!(
                "{} got {} instead of {}",
                b.who, b.actual, b.expected
            ));
        }
    }
    if r.dave_refund_wei != U256::from(1_000_000_000_000_000_000u128) {
        p.push(format!("Dave's refund: {}", r.dave_refund_wei));
    }
    if r.freeze_tx.is_none() {
        p.push("the first exit did not freeze the rollup".into());
    }
    if !r.second_exit_error.contains("already exited") {
        p.push(format!("second exit: {}", r.second_exit_error));
    }
    if !r.wrong_balance_error.contains("InvalidExitProof") {
        p.push(format!("wrong-balance exit: {}", r.wrong_balance_error));
    }
    if !r.bridge_after_wei.is_zero() {
        p.push(format!("the bridge still holds {} wei", r.bridge_after_wei));
    }
    if r.final_batches == 0 {
        p.push("no batch was final before the freeze".into());
    }
    p
}
