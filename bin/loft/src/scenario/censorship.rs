//! `loft scenario censorship` (`docs/liveness.md`): the active operator censors Dave; Dave forces
//! a withdrawal of 2 of his 3 ETH through L1; Mallory tries to force out Dave's balance and gets
//! nothing (a forced withdrawal only ever takes the L1 sender's own L2 balance); the operator keeps
//! posting batches that skip the message until its deadline, then L1 refuses its batch; a kick
//! before the deadline fails; a standby operator that followed L1 kicks it, takes over from the
//! last batch on L1 and includes both messages; Dave claims exactly 2 ETH on L1; a fresh verifier
//! rebuilt from L1 alone agrees with every balance.
//!
//! Both operators' batcher rounds (registration, kick, import, posting: what `loft node --role
//! operator` runs every batch interval) are driven by the story, so that each refusal is seen and
//! the standby cannot kick in the instant between the deadline and the refused batch; their
//! sequencers seal blocks on their own. `loft scenario operator-failover` runs the operators as
//! free-running processes.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolEvent};
use eyre::{Result, WrapErr, bail, eyre};
use loft_contracts::{L1Rollup, rollup_call};
use loft_l1::{Filter, L1Client, L1Error, send_and_confirm};
use loft_node::{Node, NodeConfig, NodeError, NodeOptions, batcher};
use serde::Serialize;

use super::{Balance, Stage, StoryArgs, balances_on_l2_and_l1, finish, l1_time_to, say, wait_for};
use crate::revert::rollup_revert;
use crate::wallet::{AssetInfo, ClaimOutcome, Wallet, WithdrawalRef};

const SEQUENCER: usize = 0;
const ALICE: usize = 1;
const DAVE: usize = 3;
const MALLORY: usize = 4;
const WATCHER: usize = 5;
const STANDBY: usize = 9;

#[derive(Debug, Serialize)]
struct Report {
    l1: String,
    censored_error: String,
    force_withdrawal_tx: B256,
    force_withdrawal_gas: u64,
    dave_queue_index: u64,
    mallory_queue_index: u64,
    early_kick_error: String,
    batches_skipping: u64,
    refused_batch_error: String,
    kicked: Address,
    kicker: Address,
    kick_tx: B256,
    kick_gas: u64,
    slashed_wei: U256,
    reward_wei: U256,
    sequencer_bond_before: U256,
    sequencer_bond_after: U256,
    active_after: Address,
    mallory_receipt: serde_json::Value,
    dave_receipt: serde_json::Value,
    old_operator_error: String,
    soft_confirmed_lost: B256,
    soft_confirmed_lost_on_new_operator: serde_json::Value,
    claim_tx: B256,
    claim_gas: u64,
    claim_batch: u64,
    dave_l1_gain_wei: U256,
    balances: Vec<Balance>,
    verifier_all_valid: bool,
    verified_balances: Vec<Balance>,
    seconds: f64,
}

/// An L1 revert inside a node error, named by the rollup's error.
fn rollup_refusal(e: &NodeError) -> String {
    let l1 = match e {
        NodeError::L1(e) => Some(e),
        NodeError::Contracts(loft_contracts::ContractsError::L1(e)) => Some(e),
        _ => None,
    };
    l1.and_then(rollup_revert).unwrap_or_else(|| e.to_string())
}

fn l1_refusal(e: &L1Error) -> String {
    rollup_revert(e).unwrap_or_else(|| e.to_string())
}

pub(super) async fn run(args: StoryArgs) -> Result<()> {
    let started = Instant::now();
    let json = args.json;
    let config = args.config()?;
    let stage = Stage::open(&config, args.l1_rpc.as_deref()).await?;
    let keys = &stage.keys;
    let eth = AssetInfo::eth();
    let (dave, mallory) = (keys[DAVE].address(), keys[MALLORY].address());

    let (sequencer_l1, deployment) = stage.deploy(&config, SEQUENCER).await?;
    let rollup = deployment.rollup;
    let l1 = stage.l1(&config, WATCHER).await?;
    say(
        json,
        format!(
            "[1] L1 ({}, {}): rollup {rollup}; operator {} bids {} per gas",
            stage.backend,
            stage.url,
            keys[SEQUENCER].address(),
            config.l2.base_fee
        ),
    );

    // The censoring operator and a standby operator (their batcher rounds driven by the story)
    // runs on its own.
    let dir = tempfile::tempdir()?;
    let node_config = |name: &str, post_batches: bool| NodeConfig {
        chain: config.clone(),
        deployment: deployment.clone(),
        data_dir: dir.path().join(name),
        rpc_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        post_batches,
    };
    let sequencer = Node::start_with(
        node_config("sequencer", false),
        sequencer_l1.clone(),
        NodeOptions {
            censor: vec![dave],
            ..NodeOptions::default()
        },
    )
    .await
    .wrap_err("starting the censoring operator")?;
    let standby = Node::start_with(
        node_config("standby", false),
        stage.l1(&config, STANDBY).await?,
        NodeOptions {
            standby: true,
            ..NodeOptions::default()
        },
    )
    .await
    .wrap_err("starting the standby operator")?;
    let seq_url = format!("http://{}", sequencer.rpc_addr);
    let standby_url = format!("http://{}", standby.rpc_addr);
    say(
        json,
        format!(
            "[2] operator on {seq_url} censors Dave {dave}; standby operator {} on {standby_url} registers with the same bid and follows L1",
            keys[STANDBY].address()
        ),
    );

    // Alice funds Dave on L2; the operator posts it.
    let wallet = |url: &String, k: usize| {
        let url = url.clone();
        let key = keys[k].clone();
        let l1_url = stage.url.clone();
        async move { Wallet::connect(&url, &l1_url, Some(key)).await }
    };
    let alice = wallet(&seq_url, ALICE).await?;
    let d = alice.deposit_eth(eth.parse("10")?, None).await?;
    alice.wait_for_deposit(&d, Duration::from_secs(60)).await?;
    let t = alice.transfer(&eth, dave, eth.parse("3")?).await?;
    let alice_spent = eth.parse("3")? + t.fee;
    wait_sealed(&sequencer).await?;
    let first = batcher::post_next(&sequencer.shared)
        .await?
        .ok_or_else(|| eyre!("the operator had nothing to post"))?;
    let target = sequencer.shared.sequencer().head().number;
    wait_for(
        "the standby to import the operator's batch",
        Duration::from_secs(60),
        || async {
            batcher::post_next(&standby.shared).await?;
            Ok((standby.shared.sequencer().head().number >= target).then_some(()))
        },
    )
    .await?;
    say(
        json,
        format!(
            "[3] Alice deposits 10 ETH and pays Dave 3 ETH (L2 {}); batch {} on L1 ({}); the standby imported it from L1",
            t.hash, first.index, first.l1_tx
        ),
    );

    // Dave is censored.
    let dave_seq = wallet(&seq_url, DAVE).await?;
    let censored_error = match dave_seq.withdraw(&eth, eth.parse("2")?, None).await {
        Ok(r) => bail!(
            "the censoring operator accepted Dave's withdrawal {}",
            r.hash
        ),
        Err(e) => format!("{e:#}"),
    };
    say(
        json,
        format!("[4] Dave's L2 withdrawal is refused: {censored_error}"),
    );

    // Dave forces a withdrawal through L1; Mallory tries to take Dave's balance the same way.
    let forced = dave_seq.force_withdraw(&eth, eth.parse("2")?, None).await?;
    let mallory_w = wallet(&seq_url, MALLORY).await?;
    let mallory_forced = mallory_w
        .force_withdraw(&eth, eth.parse("3")?, None)
        .await?;
    say(
        json,
        format!(
            "[5] Dave forces a withdrawal of 2 ETH on L1 (queue message {}, L1 {}, {} gas, deadline L1 time {}); Mallory forces one of 3 ETH (message {})",
            forced.index, forced.l1_tx, forced.gas_used, forced.deadline, mallory_forced.index
        ),
    );

    // Nobody may kick an operator that is live.
    let kick = TransactionRequest::default()
        .with_to(rollup)
        .with_input(L1Rollup::kickCall {}.abi_encode());
    let early_kick_error = match send_and_confirm(l1.as_ref(), kick.clone()).await {
        Ok(r) => bail!(
            "a kick of a live operator succeeded: L1 {}",
            r.transaction_hash
        ),
        Err(e) => l1_refusal(&e),
    };
    say(json, format!("[6] a kick now fails: {early_kick_error}"));

    // The operator keeps posting batches that skip the forced messages while the deadline allows.
    let bob = keys[2].address();
    let t2 = alice.transfer(&eth, bob, eth.parse("0.1")?).await?;
    wait_sealed(&sequencer).await?;
    let skipping = batcher::post_next(&sequencer.shared)
        .await?
        .ok_or_else(|| eyre!("the operator had nothing to post"))?;
    // Then the deadline passes: L1 refuses its next batch.
    let t3 = alice.transfer(&eth, bob, eth.parse("0.1")?).await?;
    let alice_spent = alice_spent + eth.parse("0.1")? + t2.fee;
    wait_sealed(&sequencer).await?;
    l1_time_to(&l1, forced.deadline).await?;
    let refused_batch_error = match batcher::post_next(&sequencer.shared).await {
        Ok(b) => bail!("L1 took a batch that skips a forced message past its deadline: {b:?}"),
        Err(e) => rollup_refusal(&e),
    };
    say(
        json,
        format!(
            "[7] the operator posted batch {} without the forced messages (before their deadline); past it, L1 refuses its next batch: {refused_batch_error}",
            skipping.index
        ),
    );

    // Kickable now; the standby kicks it on its own and takes over.
    let bond_before = rollup_call(
        l1.as_ref(),
        rollup,
        L1Rollup::bondOfCall {
            poster: keys[SEQUENCER].address(),
        },
    )
    .await?;
    let kickable = rollup_call(l1.as_ref(), rollup, L1Rollup::kickableAtCall {}).await?;
    l1_time_to(&l1, kickable).await?;
    let (kicked, kick_tx) = wait_for(
        "the standby to kick the operator",
        Duration::from_secs(60),
        || async {
            batcher::post_next(&standby.shared).await?;
            let logs = l1
                .logs(
                    &Filter::new()
                        .address(rollup)
                        .event_signature(L1Rollup::OperatorKicked::SIGNATURE_HASH)
                        .from_block(deployment.bridge_block),
                )
                .await?;
            Ok(logs.first().and_then(|l| {
                L1Rollup::OperatorKicked::decode_log(&l.inner)
                    .ok()
                    .map(|e| (e.data, l.transaction_hash.unwrap_or_default()))
            }))
        },
    )
    .await?;
    let kick_gas = l1
        .receipt(kick_tx)
        .await?
        .map(|r| r.gas_used)
        .unwrap_or_default();
    let bond_after = rollup_call(
        l1.as_ref(),
        rollup,
        L1Rollup::bondOfCall {
            poster: keys[SEQUENCER].address(),
        },
    )
    .await?;
    let active_after = rollup_call(l1.as_ref(), rollup, L1Rollup::activeOperatorCall {})
        .await?
        .operator;
    say(
        json,
        format!(
            "[8] {} kicked operator {} (L1 {kick_tx}, {kick_gas} gas): {} of its bond slashed, {} to the kicker; active now: {active_after}",
            kicked.caller,
            kicked.operator,
            eth.format(kicked.slashed),
            eth.format(kicked.reward)
        ),
    );

    // The standby includes both forced messages.
    let dave_w = wallet(&standby_url, DAVE).await?;
    let receipt_of = |index: u64| {
        let (w, standby) = (&dave_w, &standby);
        async move {
            batcher::post_next(&standby.shared).await?;
            let m = w.queue_message(index).await?;
            Ok((m["status"] == "consumed").then_some(m))
        }
    };
    let mallory_m = wait_for(
        "the standby to consume Mallory's message",
        Duration::from_secs(60),
        || receipt_of(mallory_forced.index),
    )
    .await?;
    let dave_m = receipt_of(forced.index)
        .await?
        .ok_or_else(|| eyre!("Mallory's message was consumed before Dave's"))?;
    say(
        json,
        format!(
            "[9] the standby consumed Dave's message in L2 block {} ({}) and Mallory's in block {} ({})",
            dave_m["block"], dave_m["receipt"], mallory_m["block"], mallory_m["receipt"]
        ),
    );

    // The old operator sends users to the new one.
    let _ = batcher::post_next(&sequencer.shared).await;
    let old_operator_error = match dave_seq.transfer(&eth, bob, U256::from(1u64)).await {
        Ok(r) => bail!("the kicked operator still accepts transactions: {}", r.hash),
        Err(e) => format!("{e:#}"),
    };
    // What a soft confirmation is worth: Alice's last payment was in the refused batch; the new
    // operator continued from L1, so it never happened. Alice still has the money and pays again.
    let alice_new = wallet(&standby_url, ALICE).await?;
    let lost_payment_on_new_operator = alice_new
        .l2_request("eth_getTransactionReceipt", serde_json::json!([t3.hash]))
        .await?;
    let t4 = alice_new.transfer(&eth, bob, eth.parse("0.1")?).await?;
    let alice_spent = alice_spent + eth.parse("0.1")? + t4.fee;
    say(
        json,
        format!(
            "[10] the kicked operator refuses transactions: {old_operator_error}\n     Alice's payment {} was soft-confirmed by it but in the refused batch: the new operator's chain has no such transaction ({lost_payment_on_new_operator}); Alice pays again there (L2 {})",
            t3.hash, t4.hash
        ),
    );

    // Dave claims once the standby's batch is final.
    let status = wait_for(
        "the standby to post Dave's withdrawal",
        Duration::from_secs(60),
        || async {
            batcher::post_next(&standby.shared).await?;
            let st = dave_w
                .withdrawal_status(WithdrawalRef::Queue(forced.index))
                .await?;
            Ok(st.claimable_at.map(|at| (st, at)))
        },
    )
    .await?;
    l1_time_to(&l1, status.1).await?;
    let dave_l1_before = l1.balance(dave).await?;
    let (claim_tx, claim_gas, claim_batch, claim_price) = match dave_w
        .claim_wait(
            WithdrawalRef::Queue(forced.index),
            Duration::from_secs(60),
            |_| {},
        )
        .await?
    {
        ClaimOutcome::Claimed(c) => {
            let price = l1
                .receipt(c.l1_tx)
                .await?
                .map(|r| r.effective_gas_price)
                .unwrap_or_default();
            (c.l1_tx, c.gas_used, c.batch, price)
        }
        other => bail!("Dave's forced withdrawal was not claimed: {other:?}"),
    };
    let dave_l1_gain =
        l1.balance(dave).await? + U256::from(claim_gas) * U256::from(claim_price) - dave_l1_before;
    say(
        json,
        format!(
            "[11] Dave claimed {} on L1 from batch {claim_batch} (L1 {claim_tx}, {claim_gas} gas)",
            eth.format(dave_l1_gain)
        ),
    );

    // Balances on the new operator and rebuilt from L1 alone.
    let expected = [
        (
            "Alice",
            keys[ALICE].address(),
            eth.parse("10")? - alice_spent,
        ),
        ("Dave", dave, eth.parse("1")?),
        ("Mallory", mallory, U256::ZERO),
        ("Bob", bob, eth.parse("0.2")?),
    ];
    let (balances, verified_balances, verifier_all_valid) =
        balances_on_l2_and_l1(&dave_w, l1.clone(), &deployment, &config, expected.to_vec()).await?;
    for (b, v) in balances.iter().zip(&verified_balances) {
        say(
            json,
            format!(
                "[12] {}: {} expected, {} on the new operator, {} rebuilt from L1",
                b.who,
                eth.format(b.expected),
                eth.format(b.actual),
                eth.format(v.actual)
            ),
        );
    }

    let report = Report {
        l1: stage.backend.into(),
        censored_error,
        force_withdrawal_tx: forced.l1_tx,
        force_withdrawal_gas: forced.gas_used,
        dave_queue_index: forced.index,
        mallory_queue_index: mallory_forced.index,
        early_kick_error,
        batches_skipping: skipping.index,
        refused_batch_error,
        kicked: kicked.operator,
        kicker: kicked.caller,
        kick_tx,
        kick_gas,
        slashed_wei: kicked.slashed,
        reward_wei: kicked.reward,
        sequencer_bond_before: bond_before,
        sequencer_bond_after: bond_after,
        active_after,
        mallory_receipt: mallory_m["receipt"].clone(),
        dave_receipt: dave_m["receipt"].clone(),
        old_operator_error,
        soft_confirmed_lost: t3.hash,
        soft_confirmed_lost_on_new_operator: lost_payment_on_new_operator,
        claim_tx,
        claim_gas,
        claim_batch,
        dave_l1_gain_wei: dave_l1_gain,
        balances,
        verifier_all_valid,
        verified_balances,
        seconds: started.elapsed().as_secs_f64(),
    };
    let problems = check(&report, &config, keys);
    finish(json, &report, problems)?;
    say(
        json,
        format!(
            "done in {:.1} s: Dave got his money out past a censoring operator",
            report.seconds
        ),
    );
    drop((sequencer, standby));
    Ok(())
}

/// Waits until every step the node acknowledged is in a sealed block.
pub(super) async fn wait_sealed(node: &Node) -> Result<()> {
    wait_for(
        "the operator to seal its block",
        Duration::from_secs(30),
        || async { Ok((!node.shared.sequencer().has_open_block()).then_some(())) },
    )
    .await
}

/// Every claim the story makes, checked.
fn check(
    r: &Report,
    config: &loft_config::ChainConfig,
    keys: &[alloy::signers::local::PrivateKeySigner],
) -> Vec<String> {
    let mut p = Vec::new();
    if !r.censored_error.contains("censor") {
        p.push(format!(
            "Dave's refusal does not say censored: {}",
            r.censored_error
        ));
    }
    if !r.early_kick_error.contains("OperatorLive") {
        p.push(format!(
            "the early kick failed for another reason: {}",
            r.early_kick_error
        ));
    }
    if !r.refused_batch_error.contains("ForcedMessageSkipped") {
        p.push(format!(
            "the late batch was refused for another reason: {}",
            r.refused_batch_error
        ));
    }
    let slashed =
        r.sequencer_bond_before * U256::from(config.rollup.kick_slash_bps) / U256::from(10_000u64);
    let reward = slashed * U256::from(config.rollup.challenger_share_bps) / U256::from(10_000u64);
    if r.kicked != keys[SEQUENCER].address() || r.slashed_wei != slashed || r.reward_wei != reward {
        p.push(format!(
            "kick: {} slashed {} reward {} (expected {} slashed {slashed} reward {reward})",
            r.kicked,
            r.slashed_wei,
            r.reward_wei,
            keys[SEQUENCER].address()
        ));
    }
    if r.sequencer_bond_after != r.sequencer_bond_before - slashed {
        p.push("the kicked operator's bond is not its bond minus the slash".into());
    }
    if r.active_after != keys[STANDBY].address() {
        p.push(format!(
            "active after the kick: {}, not the standby",
            r.active_after
        ));
    }
    if r.dave_receipt["status"] != "applied" {
        p.push(format!("Dave's forced withdrawal: {}", r.dave_receipt));
    }
    if r.mallory_receipt["status"] != "ignored"
        || !r.mallory_receipt["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("insufficient funds")
    {
        p.push(format!(
            "Mallory's forced withdrawal: {}",
            r.mallory_receipt
        ));
    }
    if !r.old_operator_error.contains("not-active")
        && !r.old_operator_error.contains("not the active")
    {
        p.push(format!(
            "the kicked operator's refusal: {}",
            r.old_operator_error
        ));
    }
    if !r.soft_confirmed_lost_on_new_operator.is_null() {
        p.push("the payment in the refused batch is on the new operator's chain".into());
    }
    let two = U256::from(2_000_000_000_000_000_000u128);
    if r.dave_l1_gain_wei != two {
        p.push(format!(
            "Dave gained {} wei on L1, not 2 ETH",
            r.dave_l1_gain_wei
        ));
    }
    for b in r.balances.iter().chain(&r.verified_balances) {
        if b.actual != b.expected {
            p.push(format!(
                "{}: expected {}, got {}",
                b.who, b.expected, b.actual
            ));
        }
    }
    if !r.verifier_all_valid {
        p.push("a batch on L1 does not verify".into());
    }
    p
}
