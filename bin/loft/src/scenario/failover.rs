//! `loft scenario operator-failover` (`docs/liveness.md` §3): two operators run as their own
//! processes (`loft node --role sequencer` and `loft node --role operator`); users deposit and
//! pay; the active operator's process is killed with SIGKILL in the middle of its epoch; a user
//! deposits into the queue; once the liveness window passes the standby (which followed L1 all
//! along) kicks the dead operator on its own and continues from the last batch on L1; deposits,
//! payments and a withdrawal go on through the new operator; every balance is exact on the new
//! operator and in a verifier rebuilt from L1 alone, and no ETH is lost: the L2 balances add up to
//! what was deposited minus what was withdrawn.
//!
//! A payment the dead operator soft-confirmed but never posted is not on the new operator's
//! chain (that is all a soft confirmation is worth, `docs/liveness.md` §3): its sender still has
//! the money and sends it again.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use eyre::{Result, WrapErr, bail, eyre};
use loft_contracts::{L1Rollup, rollup_call};
use loft_l1::L1Client;
use serde::Serialize;
use tokio::process::{Child, Command};

use super::{
    Balance, Stage, StoryArgs, balances_on_l2_and_l1, finish, l1_now, l1_time_to, say, wait_for,
};
use crate::wallet::{AssetInfo, ClaimOutcome, Wallet};

const SEQUENCER: usize = 0;
const ALICE: usize = 1;
const BOB: usize = 2;
const CAROL: usize = 3;
const DAVE: usize = 4;
const STANDBY: usize = 9;

#[derive(Debug, Serialize)]
struct Report {
    l1: String,
    killed_pid: u32,
    killed_at_l1_time: u64,
    epoch_end: u64,
    soft_confirmed_payment: B256,
    soft_confirmed_payment_lost: bool,
    kicked_by: Address,
    active_after: Address,
    batches_by_sequencer: u64,
    batches_by_standby: u64,
    withdrawal_claim_tx: B256,
    withdrawal_l1_gain_wei: U256,
    balances: Vec<Balance>,
    verified_balances: Vec<Balance>,
    l2_total_wei: U256,
    deposited_minus_withdrawn_wei: U256,
    verifier_all_valid: bool,
    seconds: f64,
}

/// One `loft node` process; killed when dropped.
struct Operator {
    child: Child,
    url: String,
    log: PathBuf,
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn spawn_operator(
    args: &StoryArgs,
    role: &str,
    l1_url: &str,
    deployment: &Path,
    key: &alloy::signers::local::PrivateKeySigner,
    dir: &Path,
) -> Result<Operator> {
    let port = free_port()?;
    let log = dir.join(format!("{role}.log"));
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["node", "--role", role, "--l1-rpc", l1_url])
        .arg("--deployment")
        .arg(deployment)
        .arg("--data-dir")
        .arg(dir.join(role))
        .args(["--l2-port", &port.to_string(), "--log", "info"])
        .env("LOFT_L1_KEY", alloy::hex::encode(key.to_bytes()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log)?)
        .stderr(std::fs::File::create(dir.join(format!("{role}.err")))?)
        .kill_on_drop(true);
    match &args.chain.config {
        Some(path) => cmd.arg("--config").arg(path),
        None => cmd.args(["--preset", &args.chain.preset]),
    };
    let child = cmd.spawn().wrap_err("starting loft node")?;
    Ok(Operator {
        child,
        url: format!("http://127.0.0.1:{port}"),
        log,
    })
}

impl Operator {
    /// The last lines of its output, for a failure report.
    fn tail(&self) -> String {
        let err = self.log.with_extension("err");
        let text = std::fs::read_to_string(&err).unwrap_or_default()
            + &std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<_> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

async fn connect(
    op: &mut Operator,
    l1_url: &str,
    key: &alloy::signers::local::PrivateKeySigner,
) -> Result<Wallet> {
    let started = Instant::now();
    loop {
        if let Ok(w) = Wallet::connect(&op.url, l1_url, Some(key.clone())).await {
            return Ok(w);
        }
        if let Some(status) = op.child.try_wait()? {
            bail!("the operator process exited ({status}):\n{}", op.tail());
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!(
                "the operator's RPC did not answer within 60 s:\n{}",
                op.tail()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn l2_block(w: &Wallet) -> Result<u64> {
    let v = w
        .l2_request("eth_blockNumber", serde_json::json!([]))
        .await?;
    let hex = v.as_str().ok_or_else(|| eyre!("eth_blockNumber: {v}"))?;
    Ok(u64::from_str_radix(hex.trim_start_matches("0x"), 16)?)
}

pub(super) async fn run(args: StoryArgs) -> Result<()> {
    let started = Instant::now();
    let json = args.json;
    let config = args.config()?;
    let stage = Stage::open(&config, args.l1_rpc.as_deref()).await?;
    let keys = &stage.keys;
    let eth = AssetInfo::eth();
    let (_, deployment) = stage.deploy(&config, SEQUENCER).await?;
    let rollup = deployment.rollup;
    let l1 = stage.l1(&config, DAVE).await?;
    let dir = tempfile::tempdir()?;
    let deployment_file = dir.path().join("deployment.json");
    std::fs::write(&deployment_file, serde_json::to_string_pretty(&deployment)?)?;

    // Two operators, each its own process.
    let mut sequencer = spawn_operator(
        &args,
        "sequencer",
        &stage.url,
        &deployment_file,
        &keys[SEQUENCER],
        dir.path(),
    )
    .await?;
    let mut standby = spawn_operator(
        &args,
        "operator",
        &stage.url,
        &deployment_file,
        &keys[STANDBY],
        dir.path(),
    )
    .await?;
    let alice = connect(&mut sequencer, &stage.url, &keys[ALICE]).await?;
    let watcher = connect(&mut standby, &stage.url, &keys[DAVE]).await?;
    say(
        json,
        format!(
            "[1] L1 ({}, {}): rollup {rollup}; operator {} (pid {}) on {}; standby operator {} (pid {}) on {} follows L1",
            stage.backend,
            stage.url,
            keys[SEQUENCER].address(),
            sequencer.child.id().unwrap_or_default(),
            sequencer.url,
            keys[STANDBY].address(),
            standby.child.id().unwrap_or_default(),
            standby.url
        ),
    );

    // Users deposit and pay through the first operator; it posts; the standby imports.
    let bob = connect(&mut sequencer, &stage.url, &keys[BOB]).await?;
    let (a, b, c, d) = (
        keys[ALICE].address(),
        keys[BOB].address(),
        keys[CAROL].address(),
        keys[DAVE].address(),
    );
    let (da, db) = tokio::try_join!(
        alice.deposit_eth(eth.parse("5")?, None),
        bob.deposit_eth(eth.parse("2")?, None)
    )?;
    alice.wait_for_deposit(&da, Duration::from_secs(60)).await?;
    bob.wait_for_deposit(&db, Duration::from_secs(60)).await?;
    let t1 = alice.transfer(&eth, b, eth.parse("1")?).await?;
    let head = l2_block(&alice).await?;
    wait_for(
        "the operator to post and the standby to import",
        Duration::from_secs(60),
        || async {
            let posted =
                rollup_call(l1.as_ref(), rollup, L1Rollup::lastBlockCall {}).await? >= head;
            Ok((posted && l2_block(&watcher).await? >= head).then_some(()))
        },
    )
    .await?;
    say(
        json,
        format!(
            "[2] Alice deposits 5 ETH, Bob 2 ETH; Alice pays Bob 1 ETH (L2 {}); posted to L1 up to L2 block {head}; the standby imported it",
            t1.hash
        ),
    );

    // A payment soft-confirmed by the operator, and the operator killed right after.
    let t2 = alice.transfer(&eth, c, eth.parse("0.5")?).await?;
    let pid = sequencer.child.id().unwrap_or_default();
    sequencer.child.start_kill()?;
    let _ = sequencer.child.wait().await;
    // Its users' connections to it go with it (their providers would keep polling it).
    drop((alice, bob));
    let killed_at = l1_now(l1.as_ref()).await?;
    let active = rollup_call(l1.as_ref(), rollup, L1Rollup::activeOperatorCall {}).await?;
    say(
        json,
        format!(
            "[3] Alice pays Carol 0.5 ETH (L2 {}, soft-confirmed); the operator's process {pid} is killed with SIGKILL at L1 time {killed_at}, mid-epoch (its epoch runs to {})",
            t2.hash, active.epochEnd
        ),
    );

    // Dave deposits; nobody consumes it; past the liveness window the standby kicks.
    let dave = connect(&mut standby, &stage.url, &keys[DAVE]).await?;
    let dd = dave.deposit_eth(eth.parse("1")?, None).await?;
    let kickable = rollup_call(l1.as_ref(), rollup, L1Rollup::kickableAtCall {}).await?;
    l1_time_to(&l1, kickable).await?;
    let (kicked_by, active_after) = wait_for("the standby to take over", Duration::from_secs(60), || async {
        let now = rollup_call(l1.as_ref(), rollup, L1Rollup::activeOperatorCall {}).await?;
        if now.operator != keys[STANDBY].address() {
            return Ok(None);
        }
        let logs = l1
            .logs(
                &loft_l1::Filter::new()
                    .address(rollup)
                    .event_signature(<L1Rollup::OperatorKicked as alloy::sol_types::SolEvent>::SIGNATURE_HASH)
                    .from_block(deployment.bridge_block),
            )
            .await?;
        let by = logs
            .iter()
            .find_map(|l| {
                <L1Rollup::OperatorKicked as alloy::sol_types::SolEvent>::decode_log(&l.inner).ok()
            })
            .map(|e| e.caller)
            .unwrap_or_default();
        Ok(Some((by, now.operator)))
    })
    .await?;
    dave.wait_for_deposit(&dd, Duration::from_secs(60)).await?;
    say(
        json,
        format!(
            "[4] Dave deposits 1 ETH (L1 {}); at L1 time {kickable} the dead operator is kickable; {kicked_by} kicked it and {active_after} is active; the new operator credited Dave's deposit",
            dd.l1_tx
        ),
    );

    // Users carry on with the new operator; the lost soft confirmation is sent again.
    let alice2 = connect(&mut standby, &stage.url, &keys[ALICE]).await?;
    let bob2 = connect(&mut standby, &stage.url, &keys[BOB]).await?;
    let lost = alice2
        .l2_request("eth_getTransactionReceipt", serde_json::json!([t2.hash]))
        .await?
        .is_null();
    let t2_fee = if lost {
        alice2.transfer(&eth, c, eth.parse("0.5")?).await?.fee
    } else {
        t2.fee
    };
    let t3 = bob2.transfer(&eth, c, eth.parse("0.25")?).await?;
    let w = alice2.withdraw(&eth, eth.parse("1")?, None).await?;
    say(
        json,
        format!(
            "[5] Alice's soft-confirmed payment {}; Bob pays Carol 0.25 ETH (L2 {}); Alice withdraws 1 ETH (L2 {}), all through the new operator",
            if lost {
                "never reached L1: the new operator does not have it, and Alice sends it again"
            } else {
                "had been posted before the kill: the new operator has it"
            },
            t3.hash,
            w.hash
        ),
    );
    let claimable_at = wait_for(
        "the new operator to post the withdrawal",
        Duration::from_secs(60),
        || async { Ok(alice2.withdrawal_status(w.hash).await?.claimable_at) },
    )
    .await?;
    l1_time_to(&l1, claimable_at).await?;
    let alice_l1 = l1.balance(a).await?;
    let claim = match alice2
        .claim_wait(w.hash, Duration::from_secs(60), |_| {})
        .await?
    {
        ClaimOutcome::Claimed(c) => c,
        other => bail!("Alice's withdrawal was not claimed: {other:?}"),
    };
    let price = l1
        .receipt(claim.l1_tx)
        .await?
        .map(|r| r.effective_gas_price)
        .unwrap_or_default();
    let gain = l1.balance(a).await? + U256::from(claim.gas_used) * U256::from(price) - alice_l1;
    say(
        json,
        format!(
            "[6] Alice claimed {} on L1 from the new operator's batch {} (L1 {})",
            eth.format(gain),
            claim.batch,
            claim.l1_tx
        ),
    );

    // Balances: expected, on the new operator, rebuilt from L1.
    let fees = t1.fee + t2_fee + t3.fee + w.fee;
    let expected = [
        (
            "Alice",
            a,
            eth.parse("5")? - eth.parse("1.5")? - t1.fee - t2_fee - eth.parse("1")? - w.fee,
        ),
        ("Bob", b, eth.parse("3")? - eth.parse("0.25")? - t3.fee),
        ("Carol", c, eth.parse("0.75")?),
        ("Dave", d, eth.parse("1")?),
        ("fee recipient", config.l2.fee_recipient, fees),
    ];
    let (balances, verified_balances, verifier_all_valid) =
        balances_on_l2_and_l1(&alice2, l1.clone(), &deployment, &config, expected.to_vec()).await?;
    let latest = l1.block_number().await?;
    let posted =
        loft_contracts::read_batches(l1.as_ref(), rollup, deployment.bridge_block, latest).await?;
    let by = |who: Address| posted.iter().filter(|s| s.header.poster == who).count() as u64;
    for (bal, v) in balances.iter().zip(&verified_balances) {
        say(
            json,
            format!(
                "[7] {}: {} expected, {} on the new operator, {} rebuilt from L1",
                bal.who,
                eth.format(bal.expected),
                eth.format(bal.actual),
                eth.format(v.actual)
            ),
        );
    }
    let l2_total: U256 = balances.iter().map(|b| b.actual).sum();
    let report = Report {
        l1: stage.backend.into(),
        killed_pid: pid,
        killed_at_l1_time: killed_at,
        epoch_end: active.epochEnd,
        soft_confirmed_payment: t2.hash,
        soft_confirmed_payment_lost: lost,
        kicked_by,
        active_after,
        batches_by_sequencer: by(keys[SEQUENCER].address()),
        batches_by_standby: by(keys[STANDBY].address()),
        withdrawal_claim_tx: claim.l1_tx,
        withdrawal_l1_gain_wei: gain,
        balances,
        verified_balances,
        l2_total_wei: l2_total,
        deposited_minus_withdrawn_wei: eth.parse("7")?,
        verifier_all_valid,
        seconds: started.elapsed().as_secs_f64(),
    };
    say(
        json,
        format!(
            "[8] L2 holds {} in all, deposits minus withdrawals are {}; {} batch(es) by the first operator, {} by the new one, all valid: {}",
            eth.format(report.l2_total_wei),
            eth.format(report.deposited_minus_withdrawn_wei),
            report.batches_by_sequencer,
            report.batches_by_standby,
            report.verifier_all_valid
        ),
    );
    let problems = check(&report, keys);
    if !problems.is_empty() {
        say(json, format!("new operator's log:\n{}", standby.tail()));
    }
    finish(json, &report, problems)?;
    say(
        json,
        format!(
            "done in {:.1} s: the standby took over from L1 and no balance was lost",
            report.seconds
        ),
    );
    Ok(())
}

fn check(r: &Report, keys: &[alloy::signers::local::PrivateKeySigner]) -> Vec<String> {
    let mut p = Vec::new();
    if r.killed_at_l1_time >= r.epoch_end {
        p.push("the operator was not killed mid-epoch".into());
    }
    if r.active_after != keys[STANDBY].address() || r.kicked_by != keys[STANDBY].address() {
        p.push(format!(
            "active {} kicked by {}, not the standby",
            r.active_after, r.kicked_by
        ));
    }
    if r.batches_by_sequencer == 0 || r.batches_by_standby == 0 {
        p.push("both operators should have posted".into());
    }
    if r.withdrawal_l1_gain_wei != U256::from(1_000_000_000_000_000_000u128) {
        p.push(format!("Alice's claim paid {}", r.withdrawal_l1_gain_wei));
    }
    for b in r.balances.iter().chain(&r.verified_balances) {
        if b.actual != b.expected {
            p.push(format!(
                "{}: expected {}, got {}",
                b.who, b.expected, b.actual
            ));
        }
    }
    if r.l2_total_wei != r.deposited_minus_withdrawn_wei {
        p.push(format!(
            "L2 holds {} but deposits minus withdrawals are {}",
            r.l2_total_wei, r.deposited_minus_withdrawn_wei
        ));
    }
    if !r.verifier_all_valid {
        p.push("a batch on L1 does not verify".into());
    }
    p
}
