//! Payment channels end to end (`docs/channels.md`): two `loft channel daemon` processes talking
//! over loopback, driven by the `loft channel` commands, on `loft devnet`'s embedded L1 and on
//! anvil; `cast` checks L1. Also `kill -9` of either daemon in the middle of a payment stream,
//! and `loft scenario channel-cheat` (a stale close answered by the watchtower).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use alloy::primitives::{Address, U256};
use loft_e2e::{
    Anvil, Devnet, cast, dev_address, dev_key, free_port, loft_bin, run_loft, wait_until,
};
use serde_json::{Value, json};

const ETHER: u128 = 1_000_000_000_000_000_000;

fn u(v: &Value) -> U256 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|e| panic!("{s}: {e}")),
        Value::Number(n) => U256::from(n.as_u64().expect("u64")),
        v => panic!("not a number: {v}"),
    }
}

/// One `loft channel daemon` process, killed on drop.
struct ChannelDaemon {
    child: Option<Child>,
    args: Vec<String>,
    log: PathBuf,
    rpc: String,
    peer: String,
    address: Address,
}

impl ChannelDaemon {
    fn start(l1_url: &str, adjudicator: &str, account: u32, dir: &Path, extra: &[&str]) -> Self {
        let peer = format!("127.0.0.1:{}", free_port());
        let rpc_addr = format!("127.0.0.1:{}", free_port());
        let data = dir.join(format!("daemon-{account}"));
        let mut args: Vec<String> = [
            "channel",
            "daemon",
            "--l1-rpc",
            l1_url,
            "--adjudicator",
            adjudicator,
            "--dev-account",
            &account.to_string(),
            "--listen",
            &peer,
            "--rpc",
            &rpc_addr,
            "--data-dir",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(data.display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut d = Self {
            child: None,
            args,
            log: dir.join(format!("daemon-{account}.log")),
            rpc: format!("http://{rpc_addr}"),
            peer,
            address: dev_address(account),
        };
        d.spawn();
        d
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log file");
        let child = Command::new(loft_bin!())
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn loft channel daemon");
        self.child = Some(child);
        let rpc = self.rpc.clone();
        wait_until(Duration::from_secs(30), "the channel daemon's RPC", || {
            loft_e2e::http_post(
                &rpc,
                r#"{"jsonrpc":"2.0","id":1,"method":"channel_info","params":[]}"#,
            )
            .ok()
            .filter(|r| r.contains("peerListen"))
        });
    }

    fn kill_9(&mut self) {
        if let Some(mut c) = self.child.take() {
            loft_e2e::run_ok(Command::new("kill").args(["-9", &c.id().to_string()]));
            let _ = c.wait();
        }
    }

    /// Runs `loft channel ARGS --daemon <this> --json` and returns its JSON answer.
    fn cli(&self, args: &[&str]) -> Value {
        let (ok, v) = self.try_cli(args);
        assert!(ok, "loft channel {args:?} failed: {v}\n{}", self.log());
        v
    }

    fn try_cli(&self, args: &[&str]) -> (bool, Value) {
        let mut full = vec!["channel"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["--daemon", &self.rpc, "--json"]);
        let out = run_loft(&loft_bin!(), &full, Duration::from_secs(300));
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        if !out.status.success() {
            return (false, json!({ "stderr": stderr, "stdout": stdout }));
        }
        (
            true,
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}")),
        )
    }

    fn status(&self) -> Value {
        self.cli(&["status"])[0].clone()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ChannelDaemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn balance(l1: &str, who: Address) -> U256 {
    cast(&["balance", &who.to_string(), "--rpc-url", l1])
        .parse()
        .expect("wei")
}

fn adjudicator_of(devnet: &Devnet) -> String {
    let text = std::fs::read_to_string(devnet.dir.path().join("deployment.json"))
        .expect("deployment file");
    let v: Value = serde_json::from_str(&text).expect("json");
    v["adjudicator"]
        .as_str()
        .expect("the devnet deployed an adjudicator")
        .to_string()
}

/// Open with 10 ETH from A, 5 ETH top-up from B, 5,000 payments each way at the same time, a
/// cooperative close asked by B: both L1 balances move by exactly the final state minus the
/// deposits and the fees each paid; the adjudicator ends empty.
fn ten_thousand_payments_both_ways_then_cooperative_close(l1: &str, adjudicator: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = ChannelDaemon::start(l1, adjudicator, 1, dir.path(), &[]);
    let b = ChannelDaemon::start(l1, adjudicator, 2, dir.path(), &[]);
    let (a_before, b_before) = (balance(l1, a.address), balance(l1, b.address));
    let open = a.cli(&[
        "open",
        "10",
        "--peer",
        &b.peer,
        "--counterparty",
        &b.address.to_string(),
    ]);
    assert_eq!(open["ready"], json!(true), "{open}");
    let fund = b.cli(&["fund", "5"]);
    assert_eq!(fund["ready"], json!(true), "{fund}");
    let (ra, rb) = std::thread::scope(|s| {
        let ta = s.spawn(|| a.cli(&["pay", "0.0003", "--count", "5000"]));
        let tb = s.spawn(|| b.cli(&["pay", "0.0002", "--count", "5000"]));
        (
            ta.join().expect("A's stream"),
            tb.join().expect("B's stream"),
        )
    });
    assert_eq!(
        (ra["paid"].clone(), ra["failed"].clone()),
        (json!(5000), json!(0)),
        "{ra}"
    );
    assert_eq!(
        (rb["paid"].clone(), rb["failed"].clone()),
        (json!(5000), json!(0)),
        "{rb}"
    );
    println!(
        "A: {} payments/s, p50 {} us, p99 {} us; B: {} payments/s, p50 {} us, p99 {} us",
        ra["perSecond"],
        ra["latencyP50Us"],
        ra["latencyP99Us"],
        rb["perSecond"],
        rb["latencyP50Us"],
        rb["latencyP99Us"]
    );
    let (sa, sb) = (a.status(), b.status());
    // The two deposits and 10,000 payments: one version each.
    assert_eq!(sa["version"], json!(10_002), "{sa}");
    assert_eq!(sb["version"], json!(10_002), "{sb}");
    let milli = U256::from(ETHER / 10_000);
    let want_a = U256::from(10 * ETHER) - U256::from(5000) * milli * U256::from(3)
        + U256::from(5000) * milli * U256::from(2);
    let want_b = U256::from(5 * ETHER) + U256::from(5000) * milli * U256::from(3)
        - U256::from(5000) * milli * U256::from(2);
    assert_eq!((u(&sa["balance"]), u(&sa["peerBalance"])), (want_a, want_b));
    assert_eq!((u(&sb["balance"]), u(&sb["peerBalance"])), (want_b, want_a));
    let close = b.cli(&["close"]);
    assert_eq!(
        (u(&close["payoutA"]), u(&close["payoutB"])),
        (want_a, want_b),
        "{close}"
    );
    assert_eq!(
        balance(l1, adjudicator.parse().unwrap()),
        U256::ZERO,
        "the adjudicator is empty"
    );
    let a_fees = u(&open["feeWei"]);
    let b_fees = u(&fund["feeWei"]) + u(&close["feeWei"]);
    assert_eq!(
        balance(l1, a.address) + U256::from(10 * ETHER) + a_fees,
        a_before + want_a
    );
    assert_eq!(
        balance(l1, b.address) + U256::from(5 * ETHER) + b_fees,
        b_before + want_b
    );
    // A's daemon saw the close on L1.
    wait_until(Duration::from_secs(20), "A to see the close", || {
        (a.status()["phase"] == json!("closed")).then_some(())
    });
}

#[test]
fn ten_thousand_payments_on_the_embedded_l1() {
    let devnet = Devnet::start(&loft_bin!(), &["--no-demo"]);
    let adjudicator = adjudicator_of(&devnet);
    ten_thousand_payments_both_ways_then_cooperative_close(&devnet.url, &adjudicator);
}

#[test]
fn ten_thousand_payments_on_anvil() {
    let anvil = Anvil::start(31337);
    let key = format!("0x{}", alloy::hex::encode(dev_key(0).to_bytes()));
    let devnet = Devnet::start(
        &loft_bin!(),
        &["--no-demo", "--l1-rpc", &anvil.url, "--l1-key", &key],
    );
    let adjudicator = adjudicator_of(&devnet);
    ten_thousand_payments_both_ways_then_cooperative_close(&anvil.url, &adjudicator);
}

/// `kill -9` of the receiving daemon in the middle of A's stream, then of the paying daemon in
/// the middle of B's stream: each restarts, the stream finishes (A's daemon resends what the dead
/// peer never signed; B reruns its command with the same payment ids, which pays only what was
/// not settled), and both sides agree on the version and on balances that count every payment
/// exactly once.
#[test]
fn kill_9_in_the_middle_of_a_payment_stream_loses_and_repeats_nothing() {
    let devnet = Devnet::start(&loft_bin!(), &["--no-demo"]);
    let adjudicator = adjudicator_of(&devnet);
    let dir = tempfile::tempdir().expect("tempdir");
    let a = ChannelDaemon::start(
        &devnet.url,
        &adjudicator,
        3,
        dir.path(),
        &["--peer-timeout-secs", "600"],
    );
    let mut b = ChannelDaemon::start(
        &devnet.url,
        &adjudicator,
        4,
        dir.path(),
        &["--peer-timeout-secs", "600"],
    );
    a.cli(&[
        "open",
        "10",
        "--peer",
        &b.peer,
        "--counterparty",
        &b.address.to_string(),
    ]);
    b.cli(&["fund", "10"]);
    const N: u64 = 20_000;
    let n = N.to_string();

    // 1. B (the receiver) dies while A pays.
    let ra = std::thread::scope(|s| {
        let stream = s.spawn(|| a.cli(&["pay", "0.0001", "--count", &n, "--first-id", "1"]));
        wait_until(
            Duration::from_secs(60),
            "B to sign 3,000 of A's payments",
            || (b.status()["version"].as_u64().unwrap_or(0) > 3_000).then_some(()),
        );
        b.kill_9();
        let at_kill = a.status()["version"].as_u64().unwrap();
        assert!(at_kill < N, "the kill came after the stream ended");
        println!("B killed at A's version {at_kill}");
        b.spawn();
        stream.join().expect("A's stream")
    });
    assert_eq!(
        (ra["paid"].clone(), ra["failed"].clone()),
        (json!(N), json!(0)),
        "{ra}"
    );

    // 2. B (the payer now) dies while it pays; rerun with the same ids.
    let (ok, _) = std::thread::scope(|s| {
        let stream = s.spawn(|| b.try_cli(&["pay", "0.0001", "--count", &n, "--first-id", "1"]));
        wait_until(Duration::from_secs(60), "3,000 of B's payments", || {
            (a.status()["version"].as_u64().unwrap_or(0) > 2 + N + 3_000).then_some(())
        });
        // Not `b.kill_9()`: the stream thread borrows `b`; kill by pid from the log-free path.
        let pid = b.child.as_ref().unwrap().id();
        loft_e2e::run_ok(Command::new("kill").args(["-9", &pid.to_string()]));
        stream.join().expect("B's stream")
    });
    assert!(!ok, "the CLI of a killed daemon reports a failure");
    if let Some(mut c) = b.child.take() {
        let _ = c.wait();
    }
    b.spawn();
    let again = b.cli(&["pay", "0.0001", "--count", &n, "--first-id", "1"]);
    let (paid, already) = (
        again["paid"].as_u64().unwrap(),
        again["alreadyPaid"].as_u64().unwrap(),
    );
    println!("after the restart B paid {paid}, {already} were settled before the kill");
    assert_eq!(paid + already, N, "{again}");
    assert!(already > 3_000 && paid > 0, "{again}");

    let (sa, sb) = (a.status(), b.status());
    assert_eq!(
        sa["version"],
        json!(2 + 2 * N),
        "one version per payment: {sa}"
    );
    assert_eq!(sa["version"], sb["version"], "{sa} {sb}");
    // Both streams had the same size and amount: balances are back to the deposits.
    assert_eq!(u(&sa["balance"]), U256::from(10 * ETHER), "{sa}");
    assert_eq!(u(&sb["balance"]), U256::from(10 * ETHER), "{sb}");
    assert_eq!(sa["outstanding"], json!(0));
    assert_eq!(sb["outstanding"], json!(0));
}

/// `loft scenario channel-cheat`: Alice closes with an old state while Bob's daemon is offline;
/// the watchtower answers within the window; Bob receives his balance plus the penalty.
#[test]
fn a_stale_close_is_answered_by_the_watchtower() {
    let out = run_loft(
        &loft_bin!(),
        &["scenario", "channel-cheat", "--json"],
        Duration::from_secs(300),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    let v: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(v["problems"], json!([]), "{v}");
    let r = &v["report"];
    assert!(
        r["stale_version"].as_u64() < r["latest_version"].as_u64(),
        "{r}"
    );
    assert_eq!(r["recorded_version"], r["latest_version"], "{r}");
    let (alice, bob) = (u(&r["latest_balances"][0]), u(&r["latest_balances"][1]));
    let penalty = alice * U256::from(r["penalty_bps"].as_u64().unwrap()) / U256::from(10_000);
    assert!(!penalty.is_zero());
    assert_eq!(u(&r["penalty"]), penalty);
    assert_eq!(u(&r["bob_gain"]), bob + penalty, "{r}");
    assert_eq!(u(&r["payout_alice"]), alice - penalty, "{r}");
}
