//! `loft scenario fraud --fault KIND`: a sequencer whose batcher posts one wrong batch of the
//! given kind (`docs/fraud-proofs.md` §6); users deposit, pay and withdraw; a challenger that
//! follows L1 alone proves the batch wrong; L1 reverts it and its successors and slashes the bond;
//! the backup poster re-posts the honest blocks; a fresh verifier agrees with every batch left on
//! L1; every user's balance is what its own transactions made it; the withdrawal that was in the
//! reverted batch cannot be claimed from it, and is claimed once from its honest batch.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolEvent, SolInterface};
use clap::Args;
use eyre::{Result, WrapErr, bail, eyre};
use loft_challenger::{WatchConfig, watch};
use loft_config::ChainConfig;
use loft_contracts::{Deployment, L1Rollup, rollup_call};
use loft_derive::{Verdict, Verifier};
use loft_l1::{Filter, L1Client};
use loft_node::{FaultKind, Node, NodeConfig, NodeOptions};
use serde::Serialize;

use super::{Stage, StoryArgs, finish, l1_as, say};
use crate::wallet::{AssetInfo, ClaimOutcome, Wallet};

/// `loft scenario fraud`.
#[derive(Debug, Clone, Args)]
pub(crate) struct FraudArgs {
    #[command(flatten)]
    story: StoryArgs,
    /// What the sequencer gets wrong (`docs/fraud-proofs.md` §6).
    #[arg(long, value_enum)]
    fault: FaultKind,
}

impl FraudArgs {
    pub(super) fn timeout_secs(&self) -> u64 {
        self.story.timeout_secs
    }
}

/// Dev accounts by role.
const SEQUENCER: usize = 0;
const ALICE: usize = 1;
const BOB: usize = 2;
const CAROL: usize = 3;
const CHALLENGER: usize = 8;
const BACKUP: usize = 9;

/// One user's balance at the end, three ways.
#[derive(Debug, Serialize)]
struct UserBalance {
    who: &'static str,
    account: Address,
    /// From the user's own transactions: deposits, minus payments and fees, plus receipts.
    expected: U256,
    /// What the sequencer's L2 RPC says.
    l2: U256,
    /// What a fresh verifier rebuilt from L1 alone says.
    verified: U256,
}

/// The scenario's result.
#[derive(Debug, Serialize)]
struct Report {
    fault: String,
    l1: String,
    bad_batch: u64,
    bad_batch_tx: B256,
    proof_method: String,
    proof_tx: B256,
    proof_gas: u64,
    challenger: Address,
    bond_wei: U256,
    slashed_wei: U256,
    reward_wei: U256,
    sink_received_wei: U256,
    challenger_share_bps: u16,
    batches_reverted: u64,
    /// `BatchesReverted` events by the end: the honest batches were never challenged.
    reverts_total: u64,
    /// Opening requests the sequencer answered (`StepOpened`): each adds `request_bond_wei` to
    /// its bond, so to what a fraud proof slashes.
    openings_answered: u64,
    /// `L1Rollup.requestBond()`.
    request_bond_wei: U256,
    sequencer_barred: bool,
    sequencer_bond_after: U256,
    reposted_by: Address,
    batches_after: u64,
    verifier_all_valid: bool,
    verifier_state_root: B256,
    users: Vec<UserBalance>,
    withdrawal_l2_tx: B256,
    withdrawal_in_reverted_batch: bool,
    reverted_claim_error: String,
    withdrawal_claimed_from_batch: u64,
    withdrawal_claim_tx: B256,
    seconds: f64,
}

async fn reverted_events(
    l1: &dyn L1Client,
    d: &Deployment,
) -> Result<Vec<(L1Rollup::BatchesReverted, Option<B256>)>> {
    let logs = l1
        .logs(
            &Filter::new()
                .address(d.rollup)
                .event_signature(L1Rollup::BatchesReverted::SIGNATURE_HASH)
                .from_block(d.bridge_block),
        )
        .await?;
    Ok(logs
        .iter()
        .filter_map(|l| {
            L1Rollup::BatchesReverted::decode_log(&l.inner)
                .ok()
                .map(|e| (e.data, l.transaction_hash))
        })
        .collect())
}

pub(super) async fn run(args: FraudArgs) -> Result<()> {
    let started = Instant::now();
    let json = args.story.json;
    let mut config = args.story.config()?;
    // Every user action lands in the first batch, so the wrong one holds all of them.
    config.rollup.batch_interval_ms = config.rollup.batch_interval_ms.max(4_000);
    let fault = args.fault;
    let stage = Stage::open(&config, args.story.l1_rpc.as_deref()).await?;
    let (url, backend, keys) = (stage.url.clone(), stage.backend, &stage.keys);
    let (sequencer_l1, deployment) = stage.deploy(&config, SEQUENCER).await?;
    let bond = loft_node::deploy_options(&config).bond_wei;
    say(
        json,
        format!(
            "[1] L1 ({backend}, {url}): rollup {} with a step verifier; sequencer {} bonded {}",
            deployment.rollup,
            keys[SEQUENCER].address(),
            AssetInfo::eth().format(bond)
        ),
    );

    // The misbehaving sequencer, with its backup poster.
    let dir = tempfile::tempdir()?;
    let backup_l1 = l1_as(&url, &config, &keys[BACKUP]).await?;
    let node = Node::start_with(
        NodeConfig {
            chain: config.clone(),
            deployment: deployment.clone(),
            data_dir: dir.path().join("l2"),
            rpc_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            post_batches: true,
        },
        sequencer_l1.clone(),
        NodeOptions {
            fault: Some(fault),
            backup_poster: Some(backup_l1.clone()),
            standby: false,
            censor: Vec::new(),
        },
    )
    .await
    .wrap_err("starting the sequencer")?;
    let l2_url = format!("http://{}", node.rpc_addr);
    say(
        json,
        format!(
            "[2] sequencer on {l2_url} told to post one wrong batch: --fault {} ({}); backup poster {}",
            fault.name(),
            fault.description(),
            keys[BACKUP].address()
        ),
    );

    // The challenger: a verifier from L1 alone, and a key that pays for proofs.
    let challenger_l1 = l1_as(&url, &config, &keys[CHALLENGER]).await?;
    let params = loft_node::chain_params(&config);
    let verifier = Verifier::open(
        &dir.path().join("challenger.redb"),
        challenger_l1.clone(),
        deployment.clone(),
        params,
    )?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let watcher = tokio::spawn(watch(
        verifier,
        challenger_l1.clone(),
        WatchConfig {
            rollup: deployment.rollup,
            from_block: deployment.bridge_block,
            params,
            leaves_rpc: Some(l2_url.clone()),
            poll: Duration::from_millis(250),
        },
        async move {
            let _ = stop_rx.await;
        },
    ));
    say(
        json,
        format!(
            "[3] challenger {} follows L1 alone and asks the sequencer for its leaves (checked against stepsRoot)",
            keys[CHALLENGER].address()
        ),
    );

    // Users.
    let eth = AssetInfo::eth();
    let wallet = |k: usize| Wallet::connect(&l2_url, &url, Some(keys[k].clone()));
    let (alice, bob) = (wallet(ALICE).await?, wallet(BOB).await?);
    let (a, b, c) = (
        keys[ALICE].address(),
        keys[BOB].address(),
        keys[CAROL].address(),
    );
    // Two deposits at once: two queue messages in one batch.
    let (da, db) = tokio::try_join!(
        alice.deposit_eth(eth.parse("2")?, None),
        bob.deposit_eth(eth.parse("1")?, None)
    )?;
    alice.wait_for_deposit(&da, Duration::from_secs(60)).await?;
    bob.wait_for_deposit(&db, Duration::from_secs(60)).await?;
    let t1 = alice.transfer(&eth, c, eth.parse("0.1")?).await?;
    let t2 = bob.transfer(&eth, c, eth.parse("0.05")?).await?;
    let w = alice.withdraw(&eth, eth.parse("0.25")?, None).await?;
    let expected = [
        eth.parse("2")? - eth.parse("0.1")? - t1.fee - eth.parse("0.25")? - w.fee,
        eth.parse("1")? - eth.parse("0.05")? - t2.fee,
        eth.parse("0.15")?,
    ];
    say(
        json,
        format!(
            "[4] users: Alice deposits 2 ETH and Bob 1 ETH (L1 {} and {}); Alice pays Carol 0.1 ETH (L2 {}), Bob pays Carol 0.05 ETH (L2 {}); Alice withdraws 0.25 ETH (L2 {})",
            da.l1_tx, db.l1_tx, t1.hash, t2.hash, w.hash
        ),
    );

    // The wrong batch, the proof, the slash.
    let l1 = challenger_l1.as_ref();
    let (event, proof_tx) = loop {
        if let Some(e) = reverted_events(l1, &deployment).await?.into_iter().next() {
            break e;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let proof_tx =
        proof_tx.ok_or_else(|| eyre!("a BatchesReverted log without its transaction"))?;
    let bad = event.fromIndex;
    let latest = l1.block_number().await?;
    let posted =
        loft_contracts::read_batches(l1, deployment.rollup, deployment.bridge_block, latest)
            .await?;
    let bad_submission = posted
        .iter()
        .find(|s| s.header.index == bad && s.header.poster == keys[SEQUENCER].address())
        .ok_or_else(|| eyre!("no BatchSubmitted for the reverted batch {bad}"))?
        .clone();
    let proof = l1
        .transaction(proof_tx)
        .await?
        .ok_or_else(|| eyre!("L1 does not know the proof transaction {proof_tx}"))?;
    let method = L1Rollup::L1RollupCalls::abi_decode(&proof.input)
        .map(|c| call_name(&c).to_string())
        .unwrap_or_else(|_| "unknown".into());
    let proof_gas = l1
        .receipt(proof_tx)
        .await?
        .map(|r| r.gas_used)
        .unwrap_or_default();
    say(
        json,
        format!(
            "[5] the sequencer posted wrong batch {bad} (L1 {}, {} steps); the challenger proved it with {method} (L1 {proof_tx}, {proof_gas} gas)",
            bad_submission.transaction_hash.unwrap_or_default(),
            bad_submission.header.step_count
        ),
    );
    let sink_balance = l1.balance(config.rollup.slash_sink).await?;
    let barred = rollup_call(
        l1,
        deployment.rollup,
        L1Rollup::barredCall {
            poster: keys[SEQUENCER].address(),
        },
    )
    .await?;
    let bond_after = rollup_call(
        l1,
        deployment.rollup,
        L1Rollup::bondOfCall {
            poster: keys[SEQUENCER].address(),
        },
    )
    .await?;
    say(
        json,
        format!(
            "[6] L1 reverted {} batch(es) from {bad}; the sequencer's bond of {} was slashed: {} to the challenger ({} bps), {} to the sink {}; the sequencer is barred: {barred}",
            event.count,
            eth.format(event.slashed),
            eth.format(event.reward),
            config.rollup.challenger_share_bps,
            eth.format(event.slashed - event.reward),
            config.rollup.slash_sink
        ),
    );
    if event.challenger != keys[CHALLENGER].address() {
        bail!(
            "the revert was won by {}, not the challenger",
            event.challenger
        );
    }

    // A claim of the withdrawal against the reverted batch fails. It is the story's only
    // withdrawal, so in the batch that holds it it has position 0.
    let status = alice.withdrawal_status(w.hash).await?;
    let winfo = status
        .withdrawal
        .clone()
        .ok_or_else(|| eyre!("the node does not know Alice's withdrawal"))?;
    let withdrawal = loft_stf::Withdrawal {
        l2_sender: winfo.l2_sender,
        nonce: u64::try_from(winfo.nonce)?,
        l1_recipient: winfo.l1_recipient,
        l1_token: winfo.l1_token,
        amount: winfo.amount,
    };
    let h = &bad_submission.header;
    let w_block = w.block.unwrap_or_default();
    let w_in_bad = (h.first_block..=h.last_block).contains(&w_block)
        || (w_block > h.last_block && event.count > 1);
    let reverted_claim_error = if w_in_bad {
        let siblings = loft_stf::withdrawal_siblings(&[withdrawal], 0);
        let call = loft_contracts::claim_withdrawal_calldata(
            bad,
            &loft_contracts::Withdrawal {
                l2_sender: withdrawal.l2_sender,
                nonce: withdrawal.nonce,
                l1_recipient: withdrawal.l1_recipient,
                l1_token: withdrawal.l1_token,
                amount: withdrawal.amount,
            },
            0,
            &siblings,
        );
        let alice_l1 = l1_as(&url, &config, &keys[ALICE]).await?;
        match loft_l1::send_and_confirm(
            alice_l1.as_ref(),
            TransactionRequest::default()
                .with_to(deployment.rollup)
                .with_input(call),
        )
        .await
        {
            Ok(r) => bail!(
                "a withdrawal of the reverted batch was claimed from it: L1 {}",
                r.transaction_hash
            ),
            Err(e) => match crate::revert::rollup_revert(&e) {
                Some(why) => why,
                None => return Err(e.into()),
            },
        }
    } else {
        "the withdrawal was not in a reverted batch".into()
    };
    say(
        json,
        format!(
            "[7] Alice's withdrawal {} the reverted batch; claiming it from batch {bad} on L1 fails: {reverted_claim_error}",
            if w_in_bad { "was in" } else { "was not in" }
        ),
    );

    // The honest chain continues: the backup poster re-posts, every batch verifies.
    let head = node.shared.sequencer().head().number;
    let reposted_by = loop {
        let last_block = rollup_call(l1, deployment.rollup, L1Rollup::lastBlockCall {}).await?;
        if last_block >= head {
            let latest = l1.block_number().await?;
            let posted = loft_contracts::read_batches(
                l1,
                deployment.rollup,
                deployment.bridge_block,
                latest,
            )
            .await?;
            let poster = posted
                .iter()
                .rev()
                .find(|s| s.header.index == bad)
                .map(|s| s.header.poster)
                .unwrap_or_default();
            break poster;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let batches_after = rollup_call(l1, deployment.rollup, L1Rollup::batchCountCall {}).await?;
    let fresh_dir = tempfile::tempdir()?;
    let mut fresh = Verifier::open(
        &fresh_dir.path().join("verifier.redb"),
        challenger_l1.clone(),
        deployment.clone(),
        params,
    )?;
    fresh.sync().await?;
    // The verdict on each batch still on L1: the last one the verifier gave for its index (it
    // also saw the reverted batches, and the revert).
    let mut live = std::collections::BTreeMap::new();
    for b in fresh.checked() {
        live.insert(b.header.index, b.verdict.clone());
    }
    live.retain(|index, _| *index < batches_after);
    let all_valid = live.len() as u64 == batches_after
        && live.values().all(|v| *v == Verdict::Valid)
        && fresh.fraud_at().is_none();
    say(
        json,
        format!(
            "[8] the backup poster {reposted_by} re-posted the honest blocks: {batches_after} batch(es) on L1, a fresh verifier from L1 alone finds them all valid: {all_valid} (state root {})",
            fresh.state_root()
        ),
    );

    // Balances: expected = sequencer = verifier.
    let mut users = Vec::new();
    for ((who, account), expected) in [("Alice", a), ("Bob", b), ("Carol", c)]
        .into_iter()
        .zip(expected)
    {
        let l2 = alice.l2_balance(account, crate::wallet::Asset::Eth).await?;
        let verified = match fresh
            .state()
            .get(&loft_state::layout::account_key(account))?
        {
            Some(bytes) => {
                loft_state::layout::Account::decode(&bytes)
                    .map_err(|e| eyre!("account {account} in the verified state: {e}"))?
                    .balance
            }
            None => U256::ZERO,
        };
        users.push(UserBalance {
            who,
            account,
            expected,
            l2,
            verified,
        });
    }
    for u in &users {
        say(
            json,
            format!(
                "[9] {}: {} expected, {} on L2, {} rebuilt from L1",
                u.who,
                eth.format(u.expected),
                eth.format(u.l2),
                eth.format(u.verified)
            ),
        );
    }

    // The withdrawal, claimed once from its honest batch.
    let outcome = alice
        .claim_wait(w.hash, Duration::from_secs(300), |_| {})
        .await?;
    let (claimed_from, claim_tx) = match outcome {
        ClaimOutcome::Claimed(r) => (r.batch, r.l1_tx),
        other => bail!("Alice's withdrawal was not claimed: {other:?}"),
    };
    say(
        json,
        format!(
            "[10] Alice claimed her 0.25 ETH once, from honest batch {claimed_from} (L1 {claim_tx})"
        ),
    );
    // The challenger watched the honest batches too and challenged none of them.
    let _ = stop_tx.send(());
    let _ = watcher.await;
    let reverts_total = reverted_events(l1, &deployment).await?.len() as u64;
    // A challenger that asked for openings (when it could not read the leaves from the node in
    // time, say) paid request bonds that the answers moved into the sequencer's bond.
    let openings_answered = l1
        .logs(
            &Filter::new()
                .address(deployment.rollup)
                .event_signature(L1Rollup::StepOpened::SIGNATURE_HASH)
                .from_block(deployment.bridge_block),
        )
        .await?
        .len() as u64;
    let request_bond = rollup_call(l1, deployment.rollup, L1Rollup::requestBondCall {}).await?;

    let report = Report {
        fault: fault.name().to_string(),
        l1: backend.into(),
        bad_batch: bad,
        bad_batch_tx: bad_submission.transaction_hash.unwrap_or_default(),
        proof_method: method,
        proof_tx,
        proof_gas,
        challenger: event.challenger,
        bond_wei: bond,
        slashed_wei: event.slashed,
        reward_wei: event.reward,
        sink_received_wei: sink_balance,
        challenger_share_bps: config.rollup.challenger_share_bps,
        batches_reverted: event.count,
        reverts_total,
        openings_answered,
        request_bond_wei: request_bond,
        sequencer_barred: barred,
        sequencer_bond_after: bond_after,
        reposted_by,
        batches_after,
        verifier_all_valid: all_valid,
        verifier_state_root: fresh.state_root(),
        users,
        withdrawal_l2_tx: w.hash,
        withdrawal_in_reverted_batch: w_in_bad,
        reverted_claim_error,
        withdrawal_claimed_from_batch: claimed_from,
        withdrawal_claim_tx: claim_tx,
        seconds: started.elapsed().as_secs_f64(),
    };
    let problems = check(&report, &config, bond);
    finish(json, &report, problems)?;
    say(
        json,
        format!(
            "done in {:.1} s: the challenger won, no honest user lost anything",
            report.seconds
        ),
    );
    drop(node);
    Ok(())
}

/// Every claim the story makes, checked.
fn check(r: &Report, config: &ChainConfig, bond: U256) -> Vec<String> {
    let mut p = Vec::new();
    // The bond, plus the request bonds of the openings the sequencer answered.
    let stake = bond + r.request_bond_wei * U256::from(r.openings_answered);
    let reward = stake * U256::from(config.rollup.challenger_share_bps) / U256::from(10_000u64);
    if r.slashed_wei != stake {
        p.push(format!(
            "slashed {} instead of the bond {bond} and {} answered request bond(s)",
            r.slashed_wei, r.openings_answered
        ));
    }
    if r.reward_wei != reward {
        p.push(format!("reward {} instead of {reward}", r.reward_wei));
    }
    if r.sink_received_wei != stake - reward {
        p.push(format!(
            "the sink holds {} instead of {}",
            r.sink_received_wei,
            stake - reward
        ));
    }
    if !r.sequencer_barred || r.sequencer_bond_after != U256::ZERO {
        p.push("the sequencer is not barred with an empty bond".into());
    }
    if r.reverts_total != 1 {
        p.push(format!(
            "{} reverts: an honest batch was challenged",
            r.reverts_total
        ));
    }
    if !r.verifier_all_valid {
        p.push("a batch left on L1 does not verify".into());
    }
    for u in &r.users {
        if u.l2 != u.expected || u.verified != u.expected {
            p.push(format!(
                "{}: expected {}, L2 {}, rebuilt {}",
                u.who, u.expected, u.l2, u.verified
            ));
        }
    }
    if r.withdrawal_in_reverted_batch && r.withdrawal_claimed_from_batch < r.bad_batch {
        p.push("the withdrawal was claimed from a batch before the bad one".into());
    }
    p
}

fn call_name(c: &L1Rollup::L1RollupCalls) -> &'static str {
    match c {
        L1Rollup::L1RollupCalls::proveStep(_) => "proveStep",
        L1Rollup::L1RollupCalls::proveLastLeaf(_) => "proveLastLeaf",
        L1Rollup::L1RollupCalls::proveStepCount(_) => "proveStepCount",
        L1Rollup::L1RollupCalls::claimUnanswered(_) => "claimUnanswered",
        _ => "another call",
    }
}
