//! Censorship resistance and liveness end to end (`docs/liveness.md`): `loft scenario censorship`
//! on the embedded L1 and on anvil (where `cast` checks the outcome on L1 independently),
//! `loft scenario operator-failover` (the active operator's process SIGKILLed, a standby taking
//! over), `loft scenario exodus` (a frozen rollup emptied by its users), and the commands a user
//! types against a censoring or dead operator: `loft force-withdraw`, `loft force-transfer`,
//! `loft queue`, `loft claim --queue-index`, `loft kick`.

use std::str::FromStr;
use std::time::Duration;

use alloy::primitives::U256;
use loft_e2e::{Anvil, Devnet, cast, dev_address, loft_bin, run_loft};
use serde_json::Value;

const ETHER: u128 = 1_000_000_000_000_000_000;

fn u(v: &Value) -> U256 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|e| panic!("{s}: {e}")),
        Value::Number(n) => U256::from(n.as_u64().expect("u64")),
        v => panic!("not a number: {v}"),
    }
}

fn lower(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_lowercase()
}

/// Runs `loft scenario NAME --json` and returns its report, failing with its output if it fails.
fn scenario(name: &str, extra: &[&str]) -> Value {
    let mut args = vec!["scenario", name, "--json"];
    args.extend_from_slice(extra);
    let out = run_loft(&loft_bin!(), &args, Duration::from_secs(300));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "loft scenario {name} failed\nstdout: {stdout}\nstderr: {stderr}"
    );
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("the report is not JSON ({e}): {stdout}\n{stderr}"));
    println!("{stderr}");
    assert_eq!(v["problems"], Value::Array(vec![]), "{name}: {v}");
    v
}

fn assert_balances(r: &Value, field: &str) {
    for b in r[field].as_array().expect("balances") {
        assert_eq!(u(&b["actual"]), u(&b["expected"]), "{field}: {b}");
    }
}

/// What the censorship story must show, on any L1.
fn assert_censorship(v: &Value) {
    let r = &v["report"];
    assert!(
        r["censored_error"].as_str().unwrap().contains("censors"),
        "{r}"
    );
    assert!(
        r["early_kick_error"]
            .as_str()
            .unwrap()
            .contains("OperatorLive")
    );
    assert!(
        r["refused_batch_error"]
            .as_str()
            .unwrap()
            .contains("ForcedMessageSkipped")
    );
    assert_eq!(
        lower(&r["kicked"]),
        dev_address(0).to_string().to_lowercase()
    );
    assert_eq!(
        lower(&r["active_after"]),
        dev_address(9).to_string().to_lowercase()
    );
    // The kick slashed half the 1 ETH bond, half of that to the kicker.
    assert_eq!(u(&r["slashed_wei"]), U256::from(ETHER / 2));
    assert_eq!(u(&r["reward_wei"]), U256::from(ETHER / 4));
    assert_eq!(r["dave_receipt"]["status"], "applied");
    // Mallory's forced withdrawal of Dave's 3 ETH took nothing: only her own (empty) balance.
    assert_eq!(r["mallory_receipt"]["status"], "ignored");
    assert!(
        r["mallory_receipt"]["reason"]
            .as_str()
            .unwrap()
            .contains("insufficient funds")
    );
    assert!(r["old_operator_error"].as_str().unwrap().contains("-32006"));
    assert_eq!(u(&r["dave_l1_gain_wei"]), U256::from(2 * ETHER));
    assert_eq!(r["verifier_all_valid"], true);
    assert_balances(r, "balances");
    assert_balances(r, "verified_balances");
    println!(
        "forceWithdrawal {} gas; kick {} gas; claim {} gas",
        r["force_withdrawal_gas"], r["kick_gas"], r["claim_gas"]
    );
}

#[test]
fn censorship_on_the_embedded_l1() {
    let v = scenario("censorship", &[]);
    assert_eq!(v["report"]["l1"], "embedded");
    assert_censorship(&v);
}

/// The same story on anvil; `cast` reads the outcome back from L1.
#[test]
fn censorship_on_anvil() {
    let anvil = Anvil::start(loft_config::ChainConfig::devnet().l1.chain_id);
    let v = scenario("censorship", &["--l1-rpc", &anvil.url]);
    let r = &v["report"];
    assert_eq!(r["l1"], "external");
    assert_censorship(&v);
    let kick: Value = serde_json::from_str(&cast(&[
        "receipt",
        r["kick_tx"].as_str().unwrap(),
        "--rpc-url",
        &anvil.url,
        "--json",
    ]))
    .unwrap();
    assert_eq!(kick["status"], "0x1");
    let rollup = kick["to"].as_str().unwrap().to_string();
    let active = cast(&[
        "call",
        &rollup,
        "activeOperator()(address,uint256,uint64,uint64)",
        "--rpc-url",
        &anvil.url,
    ]);
    assert!(
        active
            .to_lowercase()
            .starts_with(&dev_address(9).to_string().to_lowercase()),
        "{active}"
    );
    let bond = cast(&[
        "call",
        &rollup,
        "bondOf(address)(uint256)",
        &dev_address(0).to_string(),
        "--rpc-url",
        &anvil.url,
    ]);
    assert!(bond.starts_with("500000000000000000"), "{bond}");
    let claim: Value = serde_json::from_str(&cast(&[
        "receipt",
        r["claim_tx"].as_str().unwrap(),
        "--rpc-url",
        &anvil.url,
        "--json",
    ]))
    .unwrap();
    assert_eq!(claim["status"], "0x1");
}

#[test]
fn operator_failover_on_the_embedded_l1() {
    let v = scenario("operator-failover", &[]);
    let r = &v["report"];
    assert!(
        r["killed_at_l1_time"].as_u64() < r["epoch_end"].as_u64(),
        "{r}"
    );
    assert_eq!(
        lower(&r["kicked_by"]),
        dev_address(9).to_string().to_lowercase()
    );
    assert!(r["batches_by_sequencer"].as_u64().unwrap() >= 1);
    assert!(r["batches_by_standby"].as_u64().unwrap() >= 1);
    assert_eq!(u(&r["withdrawal_l1_gain_wei"]), U256::from(ETHER));
    assert_eq!(u(&r["l2_total_wei"]), U256::from(7 * ETHER));
    assert_eq!(r["verifier_all_valid"], true);
    assert_balances(r, "balances");
    assert_balances(r, "verified_balances");
}

#[test]
fn exodus_empties_the_bridge() {
    let v = scenario("exodus", &[]);
    let r = &v["report"];
    assert_balances(r, "paid");
    assert_eq!(u(&r["dave_refund_wei"]), U256::from(ETHER));
    assert_eq!(u(&r["bridge_after_wei"]), U256::ZERO);
    assert!(u(&r["bridge_before_wei"]) > U256::ZERO);
    assert!(
        r["wrong_balance_error"]
            .as_str()
            .unwrap()
            .contains("InvalidExitProof")
    );
    assert!(
        r["second_exit_error"]
            .as_str()
            .unwrap()
            .contains("already exited")
    );
    let exit_gas = r["exits"][0]["exits"][0]["gas"].as_u64().unwrap();
    println!("exit {exit_gas} gas; freeze {} gas", r["freeze_gas"]);
}

/// The commands a user types, against `loft devnet`: a forced withdrawal, its receipt and its
/// claim by queue index; a forced transfer; a kick of a live operator refused with the reason.
#[test]
fn forced_messages_and_kick_through_the_cli() {
    let devnet = Devnet::start(&loft_bin!(), &["--no-demo"]);
    let loft = |args: &[&str]| {
        let mut full = args.to_vec();
        full.extend(["--rpc", &devnet.l2_url, "--l1-rpc", &devnet.url]);
        let out = run_loft(&loft_bin!(), &full, Duration::from_secs(180));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let l2_balance =
        |who: &str| U256::from_str(&cast(&["balance", who, "--rpc-url", &devnet.l2_url])).unwrap();
    let (ok, out, err) = loft(&["deposit", "3", "--wait", "--dev-account", "3"]);
    assert!(ok, "{out}{err}");
    let user = dev_address(3).to_string();
    let carol = dev_address(5).to_string();

    // A forced withdrawal of 1 ETH: queued on L1, consumed by the sequencer, claimed by index.
    let (ok, out, err) = loft(&["force-withdraw", "1", "--dev-account", "3"]);
    assert!(ok, "{out}{err}");
    let index: u64 = out
        .split("queue message ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no queue index in {out}"));
    let (ok, out, err) = loft(&[
        "claim",
        "--queue-index",
        &index.to_string(),
        "--wait",
        "--timeout",
        "120",
        "--dev-account",
        "3",
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("claimed 1 ETH"), "{out}");
    let (ok, out, err) = loft(&["queue", &index.to_string()]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("forced-withdrawal") && out.contains("applied"),
        "{out}"
    );
    assert!(out.contains("claimed"), "{out}");
    assert_eq!(l2_balance(&user), U256::from(2 * ETHER));

    // A forced transfer of 0.5 ETH to Carol: executed like a sequenced one.
    let (ok, out, err) = loft(&["force-transfer", &carol, "0.5", "--dev-account", "3"]);
    assert!(ok, "{out}{err}");
    let index = out
        .split("queue message ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_string();
    let mut shown = String::new();
    for _ in 0..100 {
        let (ok, out, _) = loft(&["queue", &index]);
        if ok && out.contains("executed as L2 transaction") {
            shown = out;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(!shown.is_empty(), "the forced transfer was not executed");
    assert_eq!(l2_balance(&carol), U256::from(ETHER / 2));

    // The sequencer is live: a kick is refused with when it would be allowed.
    let (ok, out, err) = loft(&["kick", "--dev-account", "6"]);
    assert!(!ok, "a kick of a live operator succeeded: {out}");
    assert!(err.contains("is live"), "{err}");

    // Bad input: a queue index nobody queued.
    let (ok, _, err) = loft(&["queue", "999"]);
    assert!(!ok);
    assert!(err.contains("not read from L1"), "{err}");
}
