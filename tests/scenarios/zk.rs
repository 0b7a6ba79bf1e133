//! The zk profile end to end: `loft devnet` with the zk profile (a depth-8 tree, batches of two
//! transfer and two general slots, the insecure devnet proving key) driven by its demo, by the
//! `loft zk` wallet commands and by raw JSON-RPC; a `kill -9` in the middle of acknowledged
//! operations; and the `zk-wrong-root` and `zk-prover-stops` stories.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use loft_e2e::{
    ZkDevnet, cast, dev_address, dev_key, http_post, loft_bin, raw_request, wait_until,
};
use loft_zk::testing::{signed_transfer, signed_withdraw};
use loft_zk::{GeneralOp, L2Op, SecretKey};
use serde_json::{Value, json};

/// One ETH in wei.
const ETH: u128 = 1_000_000_000_000_000_000;
/// How long anything that needs a proof may take: proving a batch takes seconds alone, and the
/// tests share two cores with each other.
const LONG: Duration = Duration::from_secs(600);
/// How long one wallet command may take (without `--wait`).
const SHORT: Duration = Duration::from_secs(120);

/// The account index in `loft zk register`'s output.
fn registered_account(out: &str) -> u32 {
    let rest = out
        .split("registered account ")
        .nth(1)
        .unwrap_or_else(|| panic!("no account in {out:?}"));
    rest.split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no account in {out:?}"))
}

/// The `L1 tx 0x...` hash in a wallet command's output.
fn l1_tx(out: &str) -> String {
    let rest = out
        .split("L1 tx ")
        .nth(1)
        .unwrap_or_else(|| panic!("no L1 tx in {out:?}"));
    rest.split_whitespace().next().expect("hash").to_string()
}

/// `(balance, nonce, registered)` of a zk account as the node reports it.
fn account(d: &ZkDevnet, index: u32) -> (u128, u32, bool) {
    let a = d.rpc("loft_zkAccount", json!([index]));
    assert_eq!(a["index"], index, "{a}");
    let balance = a["balance"]
        .as_str()
        .and_then(|b| b.parse().ok())
        .unwrap_or_else(|| panic!("balance: {a}"));
    let nonce = a["nonce"].as_u64().unwrap_or_else(|| panic!("nonce: {a}"));
    let registered = a["registered"]
        .as_bool()
        .unwrap_or_else(|| panic!("registered: {a}"));
    (balance, nonce.try_into().expect("u32 nonce"), registered)
}

fn status(d: &ZkDevnet) -> Value {
    d.rpc("loft_zkStatus", json!([]))
}

fn count(status: &Value, field: &str) -> u64 {
    status[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field}: {status}"))
}

fn word(v: &Value) -> U256 {
    match v {
        Value::String(s) => U256::from_str(s).unwrap_or_else(|e| panic!("{e}: {v}")),
        other => panic!("not a word: {other}"),
    }
}

/// What refused operations must not change: the sequenced state and the journal's view of it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    state_root: U256,
    sealed_batches: u64,
    open_ops: u64,
    queue_next: u64,
    accounts: Vec<(u32, (u128, u32, bool))>,
}

fn snapshot(d: &ZkDevnet, accounts: &[u32]) -> Snapshot {
    let s = status(d);
    Snapshot {
        state_root: word(&s["stateRoot"]),
        sealed_batches: count(&s, "sealedBatches"),
        open_ops: count(&s, "openOps"),
        queue_next: count(&s, "queueNext"),
        accounts: accounts.iter().map(|&i| (i, account(d, i))).collect(),
    }
}

/// Waits until nothing is open and L1 verified every sealed batch (at least `sealed` of them).
fn wait_all_verified(d: &ZkDevnet, sealed: u64) -> Value {
    wait_until(LONG, "every sealed batch verified on L1", || {
        let s = status(d);
        let n = count(&s, "sealedBatches");
        (count(&s, "openOps") == 0 && n >= sealed && count(&s, "verifiedBatches") == n).then_some(s)
    })
}

fn l1_balance(d: &ZkDevnet, who: Address) -> U256 {
    U256::from_str(&cast(&[
        "balance",
        &who.to_string(),
        "--rpc-url",
        &d.l1_url,
    ]))
    .expect("cast balance")
}

/// The L1 `stateRoot()` of the rollup.
fn l1_state_root(d: &ZkDevnet) -> U256 {
    let out = cast(&[
        "call",
        &d.rollup.to_string(),
        "stateRoot()(uint256)",
        "--rpc-url",
        &d.l1_url,
    ]);
    // cast prints large numbers as `<decimal> [<scientific>]`.
    U256::from_str(out.split_whitespace().next().expect("a number"))
        .unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Sends `loft_zkSendOp([raw])` and returns the whole response.
fn send_raw(d: &ZkDevnet, raw: &str) -> Value {
    d.try_rpc("loft_zkSendOp", json!([raw]))
        .unwrap_or_else(|e| panic!("loft_zkSendOp {raw}: {e}"))
}

fn send_op(d: &ZkDevnet, op: &L2Op) -> Value {
    send_raw(d, &format!("0x{}", alloy::hex::encode(op.encode())))
}

/// `what` must be refused with the zk code `c` (`-38100 - c`, `data.code = c`).
fn assert_refused(what: &str, response: &Value, c: i64) {
    let e = response
        .get("error")
        .unwrap_or_else(|| panic!("{what}: accepted, expected refusal {c}: {response}"));
    assert_eq!(
        (e["code"].as_i64(), e["data"]["code"].as_i64()),
        (Some(-38100 - c), Some(c)),
        "{what}: {response}"
    );
}

#[test]
fn zk_devnet_demo_runs_and_balances_are_exact() {
    let loft = loft_bin!();
    let started = std::time::Instant::now();
    let mut d = ZkDevnet::start(&loft, &[]);
    let out = wait_until(LONG, "the demo's last line", || {
        let out = d.stdout();
        let log = d.log();
        assert!(
            !out.contains("demo failed") && !log.contains("demo failed"),
            "the demo failed:\nstdout:\n{out}\nlog:\n{log}"
        );
        if !d.running() {
            panic!("loft devnet exited during the demo:\nstdout:\n{out}\nlog:\n{log}");
        }
        // The demo ends with "demo done" once it checked every balance, "demo failed" if not.
        out.lines()
            .any(|l| l.starts_with("demo done"))
            .then_some(out)
    });
    let last = out
        .lines()
        .find(|l| l.starts_with("demo [6/6]"))
        .expect("the last line");
    assert!(last.contains("(exact: true)"), "{out}");
    for step in 1..=6 {
        assert!(
            out.contains(&format!("demo [{step}/6]")),
            "step {step} missing:\n{out}"
        );
    }
    let (out, log) = (d.stdout(), d.log());
    assert!(
        !out.contains("demo failed") && !log.contains("demo failed"),
        "stdout:\n{out}\nlog:\n{log}"
    );
    assert!(d.running(), "loft devnet exited after the demo:\n{log}");
    eprintln!(
        "zk demo: deployed after {:.1} s, demo done after {:.1} s",
        d.ready_after.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn zk_wallet_cli_and_bad_input() {
    let loft = loft_bin!();
    let d = ZkDevnet::start(&loft, &["--no-demo"]);
    let chain_id = count(&status(&d), "chainId");
    let (alice, bob) = (3u32, 4u32);

    // Register both through L1, alice with a deposit.
    let out = d.wallet(&loft, alice, &["register", "--deposit", "1"], SHORT);
    let a = registered_account(&out);
    let out = d.wallet(&loft, bob, &["register"], SHORT);
    let b = registered_account(&out);
    assert_ne!(a, b);
    assert!(a != 0 && b != 0, "account 0 is the fee account: {a} {b}");
    wait_until(LONG, "both registrations and the deposit on L2", || {
        let (ab, _, ar) = account(&d, a);
        let (_, _, br) = account(&d, b);
        (ar && br && ab == ETH).then_some(())
    });
    let balance = d.wallet(&loft, alice, &["balance"], SHORT);
    assert!(
        balance.contains(&format!("account {a}: 1 ETH on L2")),
        "{balance}"
    );

    // A transfer, then a withdrawal waited for until L1 verified it, then the claim.
    let out = d.wallet(
        &loft,
        alice,
        &["transfer", "0.25", "--to", &b.to_string()],
        SHORT,
    );
    assert!(out.contains("accepted in batch"), "{out}");
    let out = d.wallet(&loft, alice, &["withdraw", "0.1", "--wait"], LONG);
    assert!(out.contains("verified on L1: 0.1 ETH claimable"), "{out}");
    let before = l1_balance(&d, dev_address(alice));
    let out = d.wallet(&loft, alice, &["claim"], SHORT);
    assert!(out.contains("claimed 0.1 ETH"), "{out}");
    let receipt: Value = serde_json::from_str(&cast(&[
        "receipt",
        &l1_tx(&out),
        "--rpc-url",
        &d.l1_url,
        "--json",
    ]))
    .expect("receipt JSON");
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    let gas = word(&receipt["gasUsed"]) * word(&receipt["effectiveGasPrice"]);
    let after = l1_balance(&d, dev_address(alice));
    assert_eq!(
        after,
        before + U256::from(ETH / 10) - gas,
        "L1 balance after the claim (before {before}, gas cost {gas})"
    );
    let out = d.wallet(&loft, alice, &["claim"], SHORT);
    assert!(out.contains("nothing to claim"), "{out}");

    // L2 balances and nonces are exact (no fees were paid).
    assert_eq!(account(&d, a), (ETH - ETH / 4 - ETH / 10, 2, true));
    assert_eq!(account(&d, b), (ETH / 4, 0, true));
    assert_eq!(account(&d, 0).0, 0, "no fees were paid");

    // Bad input over raw JSON-RPC changes nothing.
    wait_until(LONG, "nothing open", || {
        (count(&status(&d), "openOps") == 0).then_some(())
    });
    let watched = [0, a, b];
    let before = snapshot(&d, &watched);
    let alice_key = SecretKey::from_eth_key(&dev_key(alice), chain_id).expect("alice's key");
    let bob_key = SecretKey::from_eth_key(&dev_key(bob), chain_id).expect("bob's key");
    let (balance, nonce, _) = account(&d, a);
    let good = signed_transfer(chain_id, &alice_key, a, b, ETH / 100, 0, nonce);
    let good_bytes = L2Op::Transfer(good).encode();

    let not_hex = send_raw(&d, "0xzz");
    assert_eq!(not_hex["error"]["code"], -32602, "not hex: {not_hex}");
    assert_refused("empty", &send_raw(&d, "0x"), 20);
    let mut unknown = good_bytes.clone();
    unknown[0] = 7;
    assert_refused(
        "unknown kind",
        &send_raw(&d, &format!("0x{}", alloy::hex::encode(&unknown))),
        21,
    );
    assert_refused(
        "short transfer",
        &send_raw(&d, &format!("0x{}", alloy::hex::encode(&good_bytes[..20]))),
        22,
    );
    let mut long = good_bytes.clone();
    long.push(0);
    assert_refused(
        "long transfer",
        &send_raw(&d, &format!("0x{}", alloy::hex::encode(&long))),
        22,
    );
    let mut bad_sig = good_bytes.clone();
    let n = bad_sig.len();
    bad_sig[n - 96..].fill(0xff);
    assert_refused(
        "malformed signature",
        &send_raw(&d, &format!("0x{}", alloy::hex::encode(&bad_sig))),
        23,
    );
    let mut bad_amount = good_bytes.clone();
    bad_amount[9..13].copy_from_slice(&(1u32 << 24).to_be_bytes());
    assert_refused(
        "packed amount of 2^24",
        &send_raw(&d, &format!("0x{}", alloy::hex::encode(&bad_amount))),
        24,
    );
    let foreign = signed_transfer(chain_id, &bob_key, a, b, ETH / 100, 0, nonce);
    assert_refused(
        "signed by another key",
        &send_op(&d, &L2Op::Transfer(foreign)),
        5,
    );
    let other_chain = signed_transfer(chain_id + 1, &alice_key, a, b, ETH / 100, 0, nonce);
    assert_refused(
        "signed for another chain",
        &send_op(&d, &L2Op::Transfer(other_chain)),
        5,
    );
    let gap = signed_transfer(chain_id, &alice_key, a, b, ETH / 100, 0, nonce + 1);
    assert_refused("nonce gap", &send_op(&d, &L2Op::Transfer(gap)), 3);
    let replay = signed_transfer(chain_id, &alice_key, a, b, ETH / 100, 0, nonce - 1);
    assert_refused("old nonce", &send_op(&d, &L2Op::Transfer(replay)), 3);
    let too_much = signed_transfer(chain_id, &alice_key, a, b, ETH, 0, nonce);
    assert_refused(
        "transfer beyond the balance",
        &send_op(&d, &L2Op::Transfer(too_much)),
        6,
    );
    let GeneralOp::Withdraw {
        account: wa,
        amount,
        fee,
        nonce: wn,
        sig,
    } = signed_withdraw(chain_id, &alice_key, a, balance + 1, 0, nonce)
    else {
        unreachable!("signed_withdraw signs a withdrawal")
    };
    let too_much = L2Op::Withdraw {
        account: wa,
        amount,
        fee,
        nonce: wn,
        sig,
    };
    assert_refused("withdrawal beyond the balance", &send_op(&d, &too_much), 6);
    let zero = signed_transfer(chain_id, &alice_key, 0, 0, 0, 0, 0);
    assert_refused("transfer 0 -> 0", &send_op(&d, &L2Op::Transfer(zero)), 30);
    let nobody = signed_transfer(chain_id, &alice_key, a, 200, ETH / 100, 0, nonce);
    assert_refused(
        "transfer to an unregistered account",
        &send_op(&d, &L2Op::Transfer(nobody)),
        2,
    );
    let beyond = signed_transfer(chain_id, &alice_key, a, 1 << 8, ETH / 100, 0, nonce);
    assert_refused(
        "transfer to an account beyond the tree",
        &send_op(&d, &L2Op::Transfer(beyond)),
        1,
    );

    // Oversized body: refused (or the connection dropped), the node stays up.
    let big = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"loft_zkSendOp","params":["0x{}"]}}"#,
        "01".repeat(40 * 1024)
    );
    assert!(big.len() > 64 * 1024);
    if let Ok(response) = http_post(&d.l2_url, &big) {
        assert!(
            response.is_empty()
                || (response.starts_with("HTTP/1.1 413") && response.contains("-32007")),
            "a body over 64 KiB: {response}"
        );
    }
    // More calls in one batch than allowed.
    let calls: Vec<Value> = (0..101)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "loft_zkStatus", "params": []}))
        .collect();
    let response = http_post(&d.l2_url, &Value::Array(calls).to_string()).expect("post");
    assert!(
        response.contains("-32010"),
        "101 calls in a batch: {response}"
    );
    // Accounts beyond the tree and indices that are not indices.
    for index in [json!(256), json!(-1), json!("0x01"), json!(u64::MAX)] {
        let v = d
            .try_rpc("loft_zkAccount", json!([index]))
            .expect("loft_zkAccount");
        assert_eq!(v["error"]["code"], -32602, "loft_zkAccount({index}): {v}");
    }
    // Raw garbage on the socket.
    let _ = raw_request(
        &d.l2_url,
        b"\x16\x03\x01\x02\x00\x01\x00\xff\xfe garbage\r\n\r\n\0\0",
    );
    let _ = raw_request(
        &d.l2_url,
        b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n{",
    );
    let _ = raw_request(&d.l2_url, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");

    assert_eq!(
        snapshot(&d, &watched),
        before,
        "bad input changed the state"
    );
    // The good transfer still goes through afterwards.
    let ok = send_raw(&d, &format!("0x{}", alloy::hex::encode(&good_bytes)));
    assert!(ok.get("error").is_none(), "{ok}");
    wait_until(SHORT, "the good transfer applied", || {
        (account(&d, b).0 == ETH / 4 + ETH / 100).then_some(())
    });
    assert_eq!(account(&d, a), (balance - ETH / 100, nonce + 1, true));
}

#[test]
fn zk_kill_9_keeps_acknowledged_operations() {
    let loft = loft_bin!();
    let data = tempfile::tempdir().expect("data dir");
    let mut d = ZkDevnet::start_in(&loft, data.path(), &["--no-demo"]);
    let rollup = d.rollup;
    let (payer, payee) = (1u32, 2u32);
    let a = registered_account(&d.wallet(&loft, payer, &["register", "--deposit", "1"], SHORT));
    let b = registered_account(&d.wallet(&loft, payee, &["register"], SHORT));
    wait_until(LONG, "both registrations and the deposit on L2", || {
        let (ab, _, ar) = account(&d, a);
        (ar && account(&d, b).2 && ab == ETH).then_some(())
    });

    // Each wallet command returns once the node journaled the transfer.
    let amounts = ["0.01", "0.02", "0.03", "0.04", "0.05"];
    let mut batches = Vec::new();
    for amount in amounts {
        let out = d.wallet(
            &loft,
            payer,
            &["transfer", amount, "--to", &b.to_string()],
            SHORT,
        );
        let batch: u64 = out
            .split("accepted in batch ")
            .nth(1)
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| panic!("no batch in {out:?}"));
        batches.push(batch);
    }
    d.kill_9();
    let sent = ETH / 100 * 15;
    let want = ((ETH - sent, 5, true), (sent, 0, true));

    let d = ZkDevnet::start_in(&loft, data.path(), &["--no-demo"]);
    assert_eq!(d.rollup, rollup, "the restart deployed again");
    assert_eq!(
        (account(&d, a), account(&d, b)),
        want,
        "right after the restart (acknowledged in batches {batches:?})"
    );
    let last = *batches.iter().max().expect("batches");
    eprintln!(
        "after the restart: {} (acknowledged in batches {batches:?})",
        status(&d)
    );
    let s = wait_all_verified(&d, last + 1);
    assert_eq!(
        (account(&d, a), account(&d, b)),
        want,
        "once verified (acknowledged in batches {batches:?}): {s}"
    );
    let root = word(&s["stateRoot"]);
    assert_eq!(l1_state_root(&d), root, "L1's root and the node's: {s}");
    assert_eq!(word(&status(&d)["stateRoot"]), root);
}

fn run_story(loft: &Path, config: &Path, story: &str) -> Value {
    let started = std::time::Instant::now();
    let out = loft_e2e::run_loft(
        loft,
        &[
            "scenario",
            story,
            "--config",
            config.to_str().expect("UTF-8 path"),
            "--json",
            "--timeout-secs",
            "900",
        ],
        Duration::from_secs(960),
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{story}: {e}: stdout {stdout}\nstderr {stderr}"));
    assert_eq!(
        report["problems"],
        json!([]),
        "{story}: {report}\nstderr {stderr}"
    );
    assert!(
        out.status.success(),
        "{story} exited {}: {stderr}",
        out.status
    );
    eprintln!(
        "{story}: {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        report["report"]
    );
    report
}

#[test]
fn zk_scenarios_wrong_root_and_prover_stops() {
    let loft = loft_bin!();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = loft_e2e::write_small_zk_config(&dir.path().join("zk.toml"));
    let r = &run_story(&loft, &config, "zk-wrong-root")["report"];
    let attempts = r["attempts"].as_array().expect("attempts");
    let accepted: Vec<(&str, bool)> = attempts
        .iter()
        .map(|a| (a["what"].as_str().unwrap_or("?"), a["accepted"] == true))
        .collect();
    assert_eq!(
        accepted,
        [
            ("wrong new root", false),
            ("tampered proof", false),
            ("public data that is not the proved one", false),
            ("honest batch", true),
        ],
        "{r}"
    );
    assert_eq!(r["root_unchanged_after_rejections"], true, "{r}");
    assert_eq!(r["verified_batches"], 1, "{r}");

    let r = &run_story(&loft, &config, "zk-prover-stops")["report"];
    let wei = |field: &str| -> u128 {
        r[field]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{field}: {r}"))
    };
    assert!(wei("l2_balance_at_stop") > 0, "{r}");
    assert_eq!(wei("claimed"), wei("l2_balance_at_stop"), "{r}");
    assert_eq!(wei("l1_gain_after_gas"), wei("l2_balance_at_stop"), "{r}");
}
