//! Fraud proofs end to end: for every way a batch can be wrong, `loft scenario fraud --fault KIND`
//! runs the real binary on the embedded L1 (behind its JSON-RPC server): a sequencer posts the
//! wrong batch, a challenger that follows L1 alone proves it, L1 reverts it and slashes the bond,
//! the backup poster re-posts the honest blocks, and every user keeps exactly its balance. Once
//! more on anvil, where `cast` checks the slash and the revert independently.

use std::time::Duration;

use alloy::primitives::U256;
use loft_e2e::{Anvil, cast, dev_address, loft_bin, run_loft};
use serde_json::Value;

/// The chain configuration's defaults the scenario runs with (`ChainConfig::devnet()`).
const BOND_WEI: u128 = 1_000_000_000_000_000_000;
const CHALLENGER_SHARE_BPS: u128 = 5_000;
const SLASH_SINK: &str = "0x000000000000000000000000000000000000dEaD";

fn u(v: &Value) -> U256 {
    match v {
        Value::String(s) => s.parse().unwrap_or_else(|e| panic!("{s}: {e}")),
        Value::Number(n) => U256::from(n.as_u64().expect("u64")),
        v => panic!("not a number: {v}"),
    }
}

/// Runs the scenario and returns its report, failing with its whole output if it fails.
fn scenario(fault: &str, extra: &[&str]) -> Value {
    let mut args = vec!["scenario", "fraud", "--fault", fault, "--json"];
    args.extend_from_slice(extra);
    let out = run_loft(&loft_bin!(), &args, Duration::from_secs(240));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "loft scenario fraud --fault {fault} failed\nstdout: {stdout}\nstderr: {stderr}"
    );
    let v: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("the report is not JSON ({e}): {stdout}\n{stderr}"));
    println!("{stderr}");
    v
}

/// What every fault's story must show.
fn assert_story(fault: &str, v: &Value, method: &str) {
    let r = &v["report"];
    assert_eq!(v["problems"], Value::Array(vec![]), "{fault}: {v}");
    assert_eq!(r["fault"], fault);
    assert_eq!(
        r["proof_method"], method,
        "{fault}: proved with {} ({r})",
        r["proof_method"]
    );
    // The challenger won, the bond went exactly where the configuration says.
    assert_eq!(
        r["challenger"].as_str().unwrap().to_lowercase(),
        dev_address(8).to_string().to_lowercase()
    );
    // The bond, and the request bond (a tenth of it) of every opening the sequencer answered:
    // a challenger that asks for openings pays them into the poster's bond.
    let bond = U256::from(BOND_WEI);
    let openings = r["openings_answered"].as_u64().unwrap();
    assert_eq!(u(&r["request_bond_wei"]), bond / U256::from(10u64));
    let stake = bond + bond / U256::from(10u64) * U256::from(openings);
    let reward = stake * U256::from(CHALLENGER_SHARE_BPS) / U256::from(10_000u64);
    assert_eq!(u(&r["slashed_wei"]), stake, "{fault}");
    assert_eq!(u(&r["reward_wei"]), reward, "{fault}");
    assert_eq!(u(&r["sink_received_wei"]), stake - reward, "{fault}");
    assert_eq!(r["sequencer_barred"], true);
    assert_eq!(u(&r["sequencer_bond_after"]), U256::ZERO);
    // The bad batch and its successors are gone; the honest chain continues from the backup
    // poster; a verifier from L1 alone accepts every batch left.
    assert!(r["batches_reverted"].as_u64().unwrap() >= 1);
    assert_eq!(
        r["reverts_total"], 1,
        "{fault}: the challenger also watched the honest batches and challenged none"
    );
    assert_eq!(
        r["reposted_by"].as_str().unwrap().to_lowercase(),
        dev_address(9).to_string().to_lowercase()
    );
    assert!(r["batches_after"].as_u64().unwrap() > r["bad_batch"].as_u64().unwrap());
    assert_eq!(r["verifier_all_valid"], true);
    // No honest user's balance changed: what their own transactions made it, on L2 and rebuilt
    // from L1.
    for user in r["users"].as_array().unwrap() {
        assert_eq!(u(&user["l2"]), u(&user["expected"]), "{fault}: {user}");
        assert_eq!(
            u(&user["verified"]),
            u(&user["expected"]),
            "{fault}: {user}"
        );
    }
    // The withdrawal in the reverted batch cannot be claimed from it; it is claimed once from
    // its honest batch.
    assert_eq!(r["withdrawal_in_reverted_batch"], true, "{fault}: {r}");
    let refused = r["reverted_claim_error"].as_str().unwrap();
    assert!(
        ["UnknownBatch", "BatchNotFinal", "InvalidWithdrawalProof"]
            .iter()
            .any(|e| refused.contains(e)),
        "{fault}: {refused}"
    );
    assert!(
        r["withdrawal_claimed_from_batch"].as_u64().unwrap() >= r["bad_batch"].as_u64().unwrap()
    );
}

macro_rules! fault_tests {
    ($($name:ident: $kind:literal => $method:literal,)*) => {
        $(
            #[test]
            fn $name() {
                let v = scenario($kind, &[]);
                assert_story($kind, &v, $method);
            }
        )*
    };
}

fault_tests! {
    credit_from_nowhere: "credit" => "proveStep",
    wrong_fee: "fee" => "proveStep",
    wrong_nonce_update: "nonce" => "proveStep",
    transfer_to_the_wrong_account: "recipient" => "proveStep",
    invalid_signature: "bad-signature" => "proveStep",
    wrong_chain_id: "wrong-chain-id" => "proveStep",
    nonce_gap: "nonce-gap" => "proveStep",
    insufficient_funds: "insufficient-funds" => "proveStep",
    unsupported_call: "unsupported-call" => "proveStep",
    undecodable_data: "undecodable" => "proveStep",
    oversized_step: "oversized-step" => "proveStep",
    queue_message_skipped: "queue-skip" => "proveStep",
    queue_message_altered: "queue-alter" => "proveStep",
    queue_message_duplicated: "queue-duplicate" => "proveStep",
    queue_messages_out_of_order: "queue-reorder" => "proveStep",
    wrong_withdrawal_root: "withdrawal-root" => "proveLastLeaf",
    final_root_contradicts_the_leaves: "state-root" => "proveLastLeaf",
    wrong_intermediate_root: "intermediate-root" => "proveStep",
    wrong_step_count: "step-count" => "proveStepCount",
    leaves_withheld: "withhold" => "claimUnanswered",
}

/// The same story on anvil; `cast` checks the outcome on L1 independently of loft.
#[test]
fn credit_from_nowhere_on_anvil() {
    let chain_id = loft_config::ChainConfig::devnet().l1.chain_id;
    let anvil = Anvil::start(chain_id);
    let sink_before: U256 = cast(&["balance", SLASH_SINK, "--rpc-url", &anvil.url])
        .parse()
        .unwrap();
    let v = scenario("credit", &["--l1-rpc", &anvil.url]);
    assert_story("credit", &v, "proveStep");
    let r = &v["report"];
    assert_eq!(r["l1"], "external");
    // Read back from anvil with cast: the rollup's batch count, the slashed bond, the bar.
    let rollup_tx = r["proof_tx"].as_str().unwrap();
    let receipt = cast(&["receipt", rollup_tx, "--rpc-url", &anvil.url, "--json"]);
    let receipt: Value = serde_json::from_str(&receipt).unwrap();
    assert_eq!(receipt["status"], "0x1");
    let rollup = receipt["to"].as_str().unwrap().to_string();
    let sequencer = dev_address(0).to_string();
    let bond = cast(&[
        "call",
        &rollup,
        "bondOf(address)(uint256)",
        &sequencer,
        "--rpc-url",
        &anvil.url,
    ]);
    assert_eq!(bond, "0");
    let barred = cast(&[
        "call",
        &rollup,
        "barred(address)(bool)",
        &sequencer,
        "--rpc-url",
        &anvil.url,
    ]);
    assert_eq!(barred, "true");
    let sink_after: U256 = cast(&["balance", SLASH_SINK, "--rpc-url", &anvil.url])
        .parse()
        .unwrap();
    // What the report says was slashed (the bond and answered request bonds, checked by
    // `assert_story`) reached the sink, less the challenger's share, as cast sees it.
    let slashed = u(&r["slashed_wei"]);
    let reward = slashed * U256::from(CHALLENGER_SHARE_BPS) / U256::from(10_000u64);
    assert_eq!(sink_after - sink_before, slashed - reward);
    let count = cast(&[
        "call",
        &rollup,
        "batchCount()(uint64)",
        "--rpc-url",
        &anvil.url,
    ]);
    assert_eq!(
        count.parse::<u64>().unwrap(),
        r["batches_after"].as_u64().unwrap()
    );
}

/// `loft node --role challenger` as its own process against `loft devnet --fault withhold`: it
/// asks the poster to open a leaf, is killed with SIGKILL while it waits for the answer, and the
/// restarted process reads the game back from L1 and claims the unanswered request.
#[test]
fn a_challenger_killed_mid_game_resumes_from_l1() {
    use loft_e2e::{Devnet, dev_key, wait_until};
    use std::process::{Command, Stdio};

    let devnet = Devnet::start(&loft_bin!(), &["--no-demo", "--fault", "withhold"]);
    let deployment = devnet.dir.path().join("deployment.json");
    let data = tempfile::tempdir().unwrap();
    let key = alloy::hex::encode_prefixed(dev_key(8).to_bytes());
    let spawn = |log: &str| {
        Command::new(loft_bin!())
            .args(["node", "--role", "challenger", "--l1-rpc", &devnet.url])
            .arg("--deployment")
            .arg(&deployment)
            .arg("--data-dir")
            .arg(data.path())
            .args([
                "--l1-key",
                &key,
                "--leaves-rpc",
                &devnet.l2_url,
                "--poll-ms",
                "200",
            ])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(data.path().join(log)).unwrap())
            .spawn()
            .expect("spawn the challenger")
    };
    let mut challenger = spawn("first.log");
    let wallet = |args: &[&str]| {
        let mut full = args.to_vec();
        full.extend(["--rpc", &devnet.l2_url, "--l1-rpc", &devnet.url]);
        let out = run_loft(&loft_bin!(), &full, Duration::from_secs(120));
        assert!(
            out.status.success(),
            "loft {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    wallet(&["deposit", "1", "--wait", "--dev-account", "1"]);
    wallet(&[
        "transfer",
        &dev_address(2).to_string(),
        "0.1",
        "--dev-account",
        "1",
    ]);
    let rollup = devnet.deployment.rollup.to_string();
    let logs = |event: &str| -> usize {
        let out = cast(&[
            "logs",
            "--from-block",
            "0",
            "--address",
            &rollup,
            event,
            "--rpc-url",
            &devnet.url,
            "--json",
        ]);
        serde_json::from_str::<Vec<Value>>(&out).unwrap().len()
    };
    let log_of = |name: &str| {
        let text = std::fs::read_to_string(data.path().join(name)).unwrap_or_default();
        let devnet_log =
            std::fs::read_to_string(devnet.dir.path().join("devnet.log")).unwrap_or_default();
        format!(
            "challenger log:\n{text}\ndevnet log (end):\n{}",
            tail(&devnet_log, 60)
        )
    };
    loft_e2e::wait_until_explained(
        Duration::from_secs(60),
        "the challenger to ask for an opening",
        || (logs("OpeningRequested(uint64,bytes32,uint64,address,uint64)") > 0).then_some(()),
        || log_of("first.log"),
    );
    let _ = challenger.kill();
    let _ = challenger.wait();
    assert_eq!(
        logs("BatchesReverted(uint64,uint64,address,address,uint256,uint256)"),
        0,
        "the response window is still open"
    );
    let mut challenger = spawn("second.log");
    wait_until(
        Duration::from_secs(60),
        "the restarted challenger to claim the unanswered request",
        || {
            (logs("BatchesReverted(uint64,uint64,address,address,uint256,uint256)") > 0)
                .then_some(())
        },
    );
    let _ = challenger.kill();
    let _ = challenger.wait();
    let barred = cast(&[
        "call",
        &rollup,
        "barred(address)(bool)",
        &dev_address(0).to_string(),
        "--rpc-url",
        &devnet.url,
    ]);
    assert_eq!(barred, "true");
    let second = std::fs::read_to_string(data.path().join("second.log")).unwrap();
    assert!(
        second.contains("did not open the leaf in time"),
        "the restarted challenger made the claim:\n{second}"
    );
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
