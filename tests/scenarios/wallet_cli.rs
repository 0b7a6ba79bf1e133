//! The wallet commands a user types (`loft deposit`, `transfer`, `withdraw`, `claim`, `balance`,
//! `status`, `batch`) against a real `loft devnet`, with every effect checked through `cast`;
//! and `eth_subscribe("newHeads")` over WebSocket from a node client.

use std::process::{Command, Output, Stdio};
use std::str::FromStr;
use std::time::Duration;

use alloy::primitives::{Address, U256};
use loft_e2e::{Devnet, cast, dev_address, dev_key, loft_bin, repo_root, run_loft};

const TIMEOUT: Duration = Duration::from_secs(180);

fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a wallet command against the devnet and returns its stdout, failing on a non-zero exit.
fn wallet_ok(devnet: &Devnet, args: &[&str]) -> String {
    let out = wallet(devnet, args);
    let (stdout, stderr) = text(&out);
    assert!(
        out.status.success(),
        "loft {args:?} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

fn wallet(devnet: &Devnet, args: &[&str]) -> Output {
    let mut full: Vec<&str> = args.to_vec();
    full.extend(["--rpc", &devnet.l2_url, "--l1-rpc", &devnet.url]);
    run_loft(&loft_bin!(), &full, TIMEOUT)
}

fn l2_balance(devnet: &Devnet, who: Address) -> U256 {
    U256::from_str(&cast(&[
        "balance",
        &who.to_string(),
        "--rpc-url",
        &devnet.l2_url,
    ]))
    .unwrap()
}

fn l1_balance(devnet: &Devnet, who: Address) -> U256 {
    U256::from_str(&cast(&[
        "balance",
        &who.to_string(),
        "--rpc-url",
        &devnet.url,
    ]))
    .unwrap()
}

/// The first 32-byte hash printed after `label` (or anywhere when `label` is empty).
fn hash_in(text: &str) -> String {
    let start = text.find("0x").expect("a hash in the output");
    let rest = &text[start..];
    let mut end = 2;
    for (i, c) in rest.char_indices().skip(2) {
        if !c.is_ascii_hexdigit() {
            break;
        }
        end = i + 1;
    }
    let hash = &rest[..end];
    if hash.len() == 66 {
        hash.to_string()
    } else {
        hash_in(&rest[end..])
    }
}

#[test]
fn wallet_commands_deposit_transfer_withdraw_claim() {
    let devnet = Devnet::start(&loft_bin!(), &["--no-demo"]);
    let user = dev_address(1);
    let friend = dev_address(2);
    let l1_recipient = Address::repeat_byte(0x77);

    // Deposit ETH and wait for the L2 credit.
    let out = wallet_ok(&devnet, &["deposit", "2", "--wait", "--dev-account", "1"]);
    println!("{out}");
    assert_eq!(l2_balance(&devnet, user), ether(2));

    // The dev token: mint on L1 with cast, deposit with the CLI.
    let token = devnet.deployment.dev_token.expect("dev token").to_string();
    let key1 = format!("0x{}", alloy::hex::encode(dev_key(1).to_bytes()));
    cast(&[
        "send",
        &token,
        "mint(address,uint256)",
        &user.to_string(),
        &ether(100).to_string(),
        "--private-key",
        &key1,
        "--rpc-url",
        &devnet.url,
    ]);
    wallet_ok(
        &devnet,
        &[
            "deposit",
            "40",
            "--token",
            "dev",
            "--wait",
            "--dev-account",
            "1",
        ],
    );

    // Transfers on L2.
    let out = wallet_ok(
        &devnet,
        &["transfer", &friend.to_string(), "0.5", "--dev-account", "1"],
    );
    println!("{out}");
    assert_eq!(l2_balance(&devnet, friend), ether(1) / U256::from(2u64));
    wallet_ok(
        &devnet,
        &[
            "transfer",
            &friend.to_string(),
            "5",
            "--token",
            "dev",
            "--dev-account",
            "1",
        ],
    );
    let out = wallet_ok(&devnet, &["balance", &friend.to_string(), "--token", "dev"]);
    println!("{out}");
    assert!(out.contains('5'), "balance shows the 5 LDT: {out}");

    // A refused transfer: the node's code and message reach the user, and the exit is non-zero.
    let out = wallet(
        &devnet,
        &[
            "transfer",
            &friend.to_string(),
            "1000",
            "--dev-account",
            "1",
        ],
    );
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "an overdraft must fail: {stdout}");
    assert!(
        stderr.contains("-38010") && stderr.contains("insufficient funds"),
        "{stderr}"
    );

    // Withdraw to a fresh L1 address, claim too early (refused with the reason), then wait.
    let out = wallet_ok(
        &devnet,
        &[
            "withdraw",
            "1",
            "--to",
            &l1_recipient.to_string(),
            "--dev-account",
            "1",
        ],
    );
    println!("{out}");
    let withdrawal = hash_in(&out);
    let early = wallet(&devnet, &["claim", &withdrawal, "--dev-account", "3"]);
    let (stdout, stderr) = text(&early);
    assert!(
        !early.status.success(),
        "a claim before finality must not succeed: {stdout}{stderr}"
    );
    assert_eq!(l1_balance(&devnet, l1_recipient), U256::ZERO);
    let out = wallet_ok(
        &devnet,
        &["claim", &withdrawal, "--wait", "--dev-account", "3"],
    );
    println!("{out}");
    assert_eq!(
        l1_balance(&devnet, l1_recipient),
        ether(1),
        "the L1 recipient got exactly the amount"
    );
    let again = wallet_ok(&devnet, &["claim", &withdrawal, "--dev-account", "3"]);
    assert!(again.to_lowercase().contains("already claimed"), "{again}");
    assert_eq!(l1_balance(&devnet, l1_recipient), ether(1));

    // Status and batch views.
    let status = wallet_ok(&devnet, &["status"]);
    println!("{status}");
    assert!(status.to_lowercase().contains("batch"), "{status}");
    let tx_status = wallet_ok(&devnet, &["status", &withdrawal]);
    assert!(tx_status.to_lowercase().contains("final"), "{tx_status}");
    let batch = wallet_ok(&devnet, &["batch", "0"]);
    assert!(batch.to_lowercase().contains("batch 0"), "{batch}");
}

#[test]
fn new_heads_arrive_over_websocket() {
    let devnet = Devnet::start(&loft_bin!(), &["--no-demo"]);
    let ws = devnet.l2_url.replace("http://", "ws://");
    let script = repo_root().join("contracts/clients/l2_heads.mjs");
    let child = Command::new("node")
        .arg(&script)
        .args([ws.as_str(), "60000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node (run scripts/install-tools.sh and . scripts/env.sh)");
    // Give the client a moment to subscribe, then make a block: a deposit consumed on L2.
    std::thread::sleep(Duration::from_secs(2));
    let key = format!("0x{}", alloy::hex::encode(dev_key(5).to_bytes()));
    cast(&[
        "send",
        &devnet.deployment.bridge.to_string(),
        "depositETH(address)",
        &dev_address(5).to_string(),
        "--value",
        "1ether",
        "--private-key",
        &key,
        "--rpc-url",
        &devnet.url,
    ]);
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let header: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert!(header["number"].as_str().is_some(), "{header}");
    assert!(header["stateRoot"].as_str().is_some(), "{header}");
    let number = u64::from_str_radix(
        header["number"].as_str().unwrap().trim_start_matches("0x"),
        16,
    )
    .unwrap();
    let block: serde_json::Value = serde_json::from_str(&cast(&[
        "rpc",
        "eth_getBlockByNumber",
        &format!("0x{number:x}"),
        "false",
        "--rpc-url",
        &devnet.l2_url,
    ]))
    .unwrap();
    assert_eq!(
        block["hash"], header["hash"],
        "the pushed header is the block's"
    );
}
