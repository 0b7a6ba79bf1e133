//! `loft devnet` as a user runs it: the real binary, the real `cast`, real sockets.

use std::time::Duration;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, Signature, TxKind, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use loft_contracts::{L1Bridge, read_queue};
use loft_e2e::{
    Anvil, Devnet, cast, dev_address, dev_key, free_port, http_post, loft_bin, raw_request,
    run_loft,
};
use loft_l1::L1Client;
use loft_l1_rpc::{RpcL1, RpcL1Config};

fn key_hex(i: u32) -> String {
    format!("0x{}", alloy::hex::encode(dev_key(i).to_bytes()))
}

async fn client(url: &str, key: PrivateKeySigner) -> RpcL1 {
    RpcL1::connect(RpcL1Config::new(url), key)
        .await
        .expect("connect")
}

/// The bridge's runtime code with its `rollup` immutable zeroed again, as in the artifact.
fn without_immutable(code: &str, rollup: Address) -> String {
    let word = format!("{:0>64}", alloy::hex::encode(rollup));
    code.replace(&word, &"0".repeat(64))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_serves_cast_and_loft_reads_a_cast_deposit() {
    // No demo: its deposits would interleave with this test's.
    let devnet = Devnet::start(&loft_bin!(), &["--no-demo"]);
    println!(
        "loft devnet deployed and answered after {:?}",
        devnet.ready_after
    );
    let url = devnet.url.as_str();
    let bridge = devnet.deployment.bridge.to_string();

    assert_eq!(cast(&["chain-id", "--rpc-url", url]), "31337");
    let code = cast(&["code", &bridge, "--rpc-url", url]);
    assert_eq!(
        without_immutable(&code, devnet.deployment.rollup),
        L1Bridge::DEPLOYED_BYTECODE.to_string(),
        "cast code shows the bridge's runtime code"
    );

    let loft = client(url, dev_key(0)).await;
    let before = loft.block_number().await.unwrap();
    let queued_before = read_queue(&loft, devnet.deployment.bridge, 0, before)
        .await
        .unwrap()
        .len();

    // A user deposits with cast: EIP-1559, then legacy (EIP-155).
    let user = dev_address(2);
    let receipt: serde_json::Value = serde_json::from_str(&cast(&[
        "send",
        "--json",
        "--rpc-url",
        url,
        "--private-key",
        &key_hex(2),
        &bridge,
        "depositETH(address)",
        &user.to_string(),
        "--value",
        "1ether",
    ]))
    .unwrap();
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    let legacy: serde_json::Value = serde_json::from_str(&cast(&[
        "send",
        "--json",
        "--legacy",
        "--rpc-url",
        url,
        "--private-key",
        &key_hex(2),
        &bridge,
        "depositETH(address)",
        &Address::repeat_byte(0x77).to_string(),
        "--value",
        "2",
    ]))
    .unwrap();
    assert_eq!(legacy["status"], "0x1", "{legacy}");
    assert_eq!(legacy["type"], "0x0", "{legacy}");

    // loft sees both deposits in the queue, in order, with the right amounts.
    let latest = loft.block_number().await.unwrap();
    let queue = read_queue(&loft, devnet.deployment.bridge, 0, latest)
        .await
        .unwrap();
    let new: Vec<_> = queue[queued_before..]
        .iter()
        .map(|m| m.deposit().expect("a deposit"))
        .collect();
    assert_eq!(new.len(), 2);
    assert_eq!(
        (new[0].from, new[0].to, new[0].token),
        (user, user, Address::ZERO)
    );
    assert_eq!(new[0].amount, U256::from(10u64).pow(U256::from(18u64)));
    assert_eq!(
        (new[1].to, new[1].amount),
        (Address::repeat_byte(0x77), U256::from(2u64))
    );

    // An EIP-4844 blob transaction from cast, with its sidecar, is accepted and priced in blob gas.
    let blob_file = devnet.dir.path().join("blob.bin");
    std::fs::write(&blob_file, b"loft batch data in a blob").unwrap();
    let blob: serde_json::Value = serde_json::from_str(&cast(&[
        "send",
        "--json",
        "--blob",
        "--path",
        blob_file.to_str().unwrap(),
        "--rpc-url",
        url,
        "--private-key",
        &key_hex(3),
        &dev_address(4).to_string(),
    ]))
    .unwrap();
    assert_eq!(blob["status"], "0x1", "{blob}");
    assert_eq!(blob["type"], "0x3", "{blob}");
    assert_eq!(blob["blobGasUsed"], "0x20000", "{blob}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_l1_refuses_bad_input_with_stable_codes_and_changes_nothing() {
    let devnet = Devnet::start(&loft_bin!(), &["--no-demo"]);
    let url = devnet.url.as_str();
    let loft = client(url, dev_key(0)).await;
    let height = loft.block_number().await.unwrap();
    let rpc = |method: &str, params: &str| {
        let body = format!(r#"{{"jsonrpc":"2.0","id":7,"method":"{method}","params":{params}}}"#);
        http_post(url, &body).expect("post")
    };
    let code_of = |response: &str| -> i64 {
        let body = &response[response.find("\r\n\r\n").expect("http body") + 4..];
        let v: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {response}"));
        v["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("no error in {v}"))
    };

    // Malformed JSON, unknown method, wrong parameter types.
    assert_eq!(code_of(&http_post(url, "{not json").unwrap()), -32700);
    assert_eq!(code_of(&rpc("eth_doesNotExist", "[]")), -32601);
    assert_eq!(
        code_of(&rpc("eth_getBalance", r#"["not an address"]"#)),
        -32602
    );
    assert_eq!(code_of(&rpc("eth_getBalance", "[]")), -32602);

    // Malformed transaction bytes.
    let r = rpc("eth_sendRawTransaction", r#"["0xdeadbeef"]"#);
    assert_eq!(code_of(&r), -32602, "{r}");
    assert!(r.contains("malformed transaction"), "{r}");

    // Signed for another chain, a nonce gap, an account without funds, a bad signature.
    let sign = |key: &PrivateKeySigner, chain_id: u64, nonce: u64| {
        let mut tx = TxEip1559 {
            chain_id,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(Address::repeat_byte(1)),
            value: U256::from(1u64),
            ..Default::default()
        };
        let sig = key.sign_transaction_sync(&mut tx).unwrap();
        format!(
            "0x{}",
            alloy::hex::encode(TxEnvelope::from(tx.into_signed(sig)).encoded_2718())
        )
    };
    let key = dev_key(5);
    let r = rpc(
        "eth_sendRawTransaction",
        &format!(r#"["{}"]"#, sign(&key, 1, 0)),
    );
    assert_eq!(code_of(&r), -32000, "{r}");
    assert!(r.contains("wrong chain id"), "{r}");
    let r = rpc(
        "eth_sendRawTransaction",
        &format!(r#"["{}"]"#, sign(&key, 31337, 5)),
    );
    assert_eq!(code_of(&r), -32000, "{r}");
    assert!(r.contains("nonce too high"), "{r}");
    let r = rpc(
        "eth_sendRawTransaction",
        &format!(r#"["{}"]"#, sign(&PrivateKeySigner::random(), 31337, 0)),
    );
    assert_eq!(code_of(&r), -32000, "{r}");
    assert!(r.contains("insufficient funds"), "{r}");
    let unprotected = {
        let tx = TxLegacy {
            chain_id: None,
            nonce: 0,
            gas_price: 10_000_000_000,
            gas_limit: 21_000,
            to: TxKind::Call(Address::ZERO),
            ..Default::default()
        };
        let sig = dev_key(5).sign_transaction_sync(&mut tx.clone()).unwrap();
        format!(
            "0x{}",
            alloy::hex::encode(TxEnvelope::from(tx.into_signed(sig)).encoded_2718())
        )
    };
    let r = rpc("eth_sendRawTransaction", &format!(r#"["{unprotected}"]"#));
    assert!(r.contains("replay-protected"), "{r}");
    let forged = {
        let tx = TxEip1559 {
            chain_id: 31337,
            gas_limit: 21_000,
            max_fee_per_gas: 10_000_000_000,
            to: TxKind::Call(Address::ZERO),
            ..Default::default()
        };
        let sig = Signature::new(U256::ZERO, U256::ZERO, false);
        format!(
            "0x{}",
            alloy::hex::encode(TxEnvelope::from(tx.into_signed(sig)).encoded_2718())
        )
    };
    let r = rpc("eth_sendRawTransaction", &format!(r#"["{forged}"]"#));
    assert_eq!(code_of(&r), -32000, "{r}");
    assert!(r.contains("invalid transaction signature"), "{r}");

    // A call that reverts: code 3 with the revert data.
    let data = L1Bridge::depositETHCall {
        l2Recipient: Address::ZERO,
    }
    .abi_encode();
    let r = rpc(
        "eth_call",
        &format!(
            r#"[{{"to":"{}","data":"0x{}","value":"0x1"}}]"#,
            devnet.deployment.bridge,
            alloy::hex::encode(data)
        ),
    );
    assert_eq!(code_of(&r), 3, "{r}");

    // An oversized request is refused; garbage on the socket gets no answer but does no harm.
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":["{}"]}}"#,
        "a".repeat(17 * 1024 * 1024)
    );
    let r = http_post(url, &huge).unwrap_or_default();
    assert!(
        r.is_empty()
            || r.starts_with("HTTP/1.1 413")
            || r.contains("-32007")
            || r.contains("too big"),
        "{}",
        &r[..r.len().min(300)]
    );
    let _ = raw_request(url, b"\x00\x01\x02garbage\r\n\r\n\xff\xfe");

    // Still serving, and nothing changed.
    assert_eq!(loft.chain_id().await.unwrap(), 31337);
    assert_eq!(loft.block_number().await.unwrap(), height);
    assert_eq!(loft.nonce(key.address()).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_survives_kill_9_with_its_data_dir() {
    let data = tempfile::tempdir().unwrap();
    let data_dir = data.path().to_str().unwrap();
    let (bridge, height, queue_len) = {
        let devnet = Devnet::start(&loft_bin!(), &["--data-dir", data_dir, "--no-demo"]);
        let url = devnet.url.as_str();
        cast(&[
            "send",
            "--rpc-url",
            url,
            "--private-key",
            &key_hex(2),
            &devnet.deployment.bridge.to_string(),
            "depositETH(address)",
            &dev_address(2).to_string(),
            "--value",
            "3ether",
        ]);
        let loft = client(url, dev_key(0)).await;
        let height = loft.block_number().await.unwrap();
        let queue = read_queue(&loft, devnet.deployment.bridge, 0, height)
            .await
            .unwrap();
        // `Devnet` kills the process with SIGKILL when dropped: no shutdown path runs.
        (devnet.deployment.bridge, height, queue.len())
    };
    let devnet = Devnet::start(&loft_bin!(), &["--data-dir", data_dir]);
    assert_eq!(
        devnet.deployment.bridge, bridge,
        "the restarted devnet keeps its contracts"
    );
    let loft = client(&devnet.url, dev_key(0)).await;
    // The L2 node keeps posting batches, so L1 may have grown since; it never shrinks.
    assert!(
        loft.block_number().await.unwrap() >= height,
        "no L1 block lost"
    );
    let queue = read_queue(&loft, bridge, 0, height).await.unwrap();
    assert_eq!(queue.len(), queue_len);
    assert_eq!(
        queue.last().unwrap().deposit().unwrap().amount,
        U256::from(3u64) * U256::from(10u64).pow(U256::from(18u64))
    );
    assert!(
        loft.balance(bridge).await.unwrap()
            >= U256::from(3u64) * U256::from(10u64).pow(U256::from(18u64))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devnet_deploys_onto_anvil_with_l1_rpc() {
    let anvil = Anvil::start(31337);
    let devnet = Devnet::start(
        &loft_bin!(),
        &["--l1-rpc", &anvil.url, "--l1-key", &key_hex(0)],
    );
    assert_eq!(devnet.url, anvil.url);
    let bridge = devnet.deployment.bridge.to_string();
    assert_eq!(
        without_immutable(
            &cast(&["code", &bridge, "--rpc-url", &anvil.url]),
            devnet.deployment.rollup
        ),
        L1Bridge::DEPLOYED_BYTECODE.to_string()
    );
    drop(devnet);

    // The same from an encrypted keystore made by cast and funded by a dev account.
    let dir = tempfile::tempdir().unwrap();
    let made: serde_json::Value = serde_json::from_str(&cast(&[
        "wallet",
        "new",
        dir.path().to_str().unwrap(),
        "--unsafe-password",
        "s3cret",
        "--json",
    ]))
    .unwrap();
    let address = made[0]["address"].as_str().unwrap();
    let keystore = made[0]["path"].as_str().unwrap();
    cast(&[
        "send",
        "--rpc-url",
        &anvil.url,
        "--private-key",
        &key_hex(1),
        address,
        "--value",
        // The deployment pays the sequencer's 1 ETH bond, plus gas.
        "2ether",
    ]);
    let devnet = Devnet::start(
        &loft_bin!(),
        &[
            "--l1-rpc",
            &anvil.url,
            "--l1-keystore",
            keystore,
            "--l1-keystore-password",
            "s3cret",
        ],
    );
    assert_ne!(devnet.deployment.bridge.to_string(), bridge);
    assert_eq!(
        cast(&["nonce", address, "--rpc-url", &anvil.url]),
        "4",
        "the keystore's key deployed the step verifier, the rollup (which creates the bridge), the token and the payment channels' adjudicator"
    );
    drop(devnet);

    // A wrong password is a clear error.
    let out = run_loft(
        &loft_bin!(),
        &[
            "devnet",
            "--l1-rpc",
            &anvil.url,
            "--l1-keystore",
            keystore,
            "--l1-keystore-password",
            "wrong",
        ],
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("cannot open keystore"), "{stderr}");
}

fn assert_fails(args: &[&str], expect: &[&str]) {
    let started = std::time::Instant::now();
    let out = run_loft(&loft_bin!(), args, Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "loft {args:?} should fail; stderr:\n{stderr}"
    );
    for e in expect {
        assert!(
            stderr.contains(e),
            "loft {args:?}: stderr lacks {e:?}:\n{stderr}"
        );
    }
    println!(
        "loft {args:?} failed as expected after {:?}: {}",
        started.elapsed(),
        stderr.lines().last().unwrap_or("")
    );
}

#[test]
fn devnet_refuses_bad_setups_with_clear_errors() {
    // Nothing listens on the port.
    let closed = format!("http://127.0.0.1:{}", free_port());
    assert_fails(
        &["devnet", "--l1-rpc", &closed, "--l1-key", &key_hex(0)],
        &["unreachable", &closed],
    );

    // A node of another chain.
    let anvil = Anvil::start(1337);
    assert_fails(
        &["devnet", "--l1-rpc", &anvil.url, "--l1-key", &key_hex(0)],
        &["chain id mismatch", "31337", "1337"],
    );

    // A deployer without funds: nothing is sent.
    let anvil = Anvil::start(31337);
    let broke = PrivateKeySigner::random();
    let broke_hex = format!("0x{}", alloy::hex::encode(broke.to_bytes()));
    assert_fails(
        &["devnet", "--l1-rpc", &anvil.url, "--l1-key", &broke_hex],
        &["has 0 wei", &broke.address().to_string()],
    );
    assert_eq!(
        cast(&[
            "nonce",
            &broke.address().to_string(),
            "--rpc-url",
            &anvil.url
        ]),
        "0"
    );
    assert_eq!(
        cast(&["block-number", "--rpc-url", &anvil.url]),
        "0",
        "no transaction reached the node"
    );

    // A key that is not a key, and no key at all.
    assert_fails(
        &["devnet", "--l1-rpc", &anvil.url, "--l1-key", "0x1234"],
        &["invalid private key"],
    );
    assert_fails(&["devnet", "--l1-rpc", &anvil.url], &["--l1-key"]);

    // A malformed config file, and one with a bad value.
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "name = \"x\"\n[l1\nchain_id = 1\n").unwrap();
    assert_fails(
        &["devnet", "--config", bad.to_str().unwrap()],
        &["malformed config file", "bad.toml", "line 2"],
    );
    let same_ids = dir.path().join("same.toml");
    let text = loft_config::ChainConfig::devnet()
        .to_toml()
        .replace("chain_id = 42069", "chain_id = 31337");
    std::fs::write(&same_ids, text).unwrap();
    assert_fails(
        &["devnet", "--config", same_ids.to_str().unwrap()],
        &["l2.chain_id", "must differ"],
    );

    // The L1 port is taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    assert_fails(&["devnet", "--l1-port", &port], &[&port, "--l1-port 0"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viem_and_ethers_work_against_the_devnet() {
    let devnet = Devnet::start(&loft_bin!(), &["--no-demo"]);
    let script = loft_e2e::repo_root().join("contracts/clients/smoke.mjs");
    let out = loft_e2e::run_ok(std::process::Command::new("node").arg(&script).args([
        devnet.url.as_str(),
        &devnet.deployment.bridge.to_string(),
        &key_hex(6),
    ]));
    let report: serde_json::Value = serde_json::from_str(&out).expect("json line");

    // loft reads the two deposits the libraries made, with their amounts.
    let loft = client(&devnet.url, dev_key(0)).await;
    let latest = loft.block_number().await.unwrap();
    let queue = read_queue(&loft, devnet.deployment.bridge, 0, latest)
        .await
        .unwrap();
    let amounts: Vec<U256> = queue
        .iter()
        .filter_map(|m| m.deposit())
        .filter(|d| d.from == dev_address(6))
        .map(|d| d.amount)
        .collect();
    assert_eq!(
        amounts,
        vec![U256::from(11u64), U256::from(13u64)],
        "{report}"
    );
}

#[test]
fn devnet_demo_walks_from_deposit_to_claim() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("stdout.txt");
    let mut child = std::process::Command::new(loft_bin!())
        // Killed below, it cannot remove its temporary L2 folder: keep that inside `dir`.
        .env("TMPDIR", dir.path())
        .args(["devnet", "--l1-port", "0", "--l2-port", "0"])
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(dir.path().join("stderr.txt")).unwrap())
        .spawn()
        .expect("spawn loft devnet");
    let out = loft_e2e::wait_until(Duration::from_secs(120), "the demo to finish", || {
        let text = std::fs::read_to_string(&out_path).unwrap_or_default();
        (text.contains("demo done") || text.contains("demo failed")).then_some(text)
    });
    let _ = child.kill();
    let _ = child.wait();
    println!("{out}");
    assert!(!out.contains("demo failed"), "{out}");
    for step in 1..=6 {
        assert!(
            out.contains(&format!("demo [{step}/6]")),
            "step {step} missing:\n{out}"
        );
    }
    assert!(
        out.contains("claimed on L1 from final batch"),
        "the demo ends with a claim on L1:\n{out}"
    );
}
