//! `loft node --role verifier` against a running devnet: it rebuilds the L2 from the L1 alone
//! (it never talks to the sequencer) and finds every posted batch valid.

use std::time::Duration;

use loft_e2e::{Devnet, cast, dev_address, dev_key, loft_bin, run_loft, wait_until};

fn key_hex(i: u32) -> String {
    format!("0x{}", alloy::hex::encode(dev_key(i).to_bytes()))
}

#[test]
fn a_verifier_replays_the_devnet_from_l1_alone() {
    let devnet = Devnet::start(&loft_bin!(), &["--no-demo"]);
    let (l1, l2) = (devnet.url.as_str(), devnet.l2_url.as_str());
    cast(&[
        "send",
        &devnet.deployment.bridge.to_string(),
        "depositETH(address)",
        &dev_address(1).to_string(),
        "--value",
        "3ether",
        "--private-key",
        &key_hex(1),
        "--rpc-url",
        l1,
    ]);
    wait_until(Duration::from_secs(60), "the deposit on L2", || {
        (cast(&["balance", &dev_address(1).to_string(), "--rpc-url", l2]) != "0").then_some(())
    });
    let mut last = String::new();
    for i in 0..5u8 {
        let out = cast(&[
            "send",
            "--json",
            &format!("0x00000000000000000000000000000000000000{:02x}", i + 1),
            "--value",
            "0.01ether",
            "--private-key",
            &key_hex(1),
            "--rpc-url",
            l2,
        ]);
        let receipt: serde_json::Value = serde_json::from_str(&out).unwrap();
        last = receipt["transactionHash"].as_str().unwrap().to_string();
    }
    wait_until(
        Duration::from_secs(60),
        "the transfers in an L1 batch",
        || {
            let status = cast(&["rpc", "loft_transactionStatus", &last, "--rpc-url", l2]);
            (status.contains("batched") || status.contains("final")).then_some(())
        },
    );

    let data = tempfile::tempdir().unwrap();
    let deployment = devnet.dir.path().join("deployment.json");
    let out = run_loft(
        &loft_bin!(),
        &[
            "node",
            "--role",
            "verifier",
            "--l1-rpc",
            l1,
            "--deployment",
            deployment.to_str().unwrap(),
            "--data-dir",
            data.path().to_str().unwrap(),
            "--once",
        ],
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("batches valid"), "{stdout}");
    assert!(!stdout.contains("WRONG"), "{stdout}");
    assert!(stdout.contains("transactions replayed from L1"), "{stdout}");
}
