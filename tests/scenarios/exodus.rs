//! The escape hatch end to end: a user of a `loft devnet` whose batches stopped becoming final gets
//! its L2 balance out with `loft exit` and nothing but the L1 URL, the deployment file and its
//! key: the command rebuilds the L2 from L1, proves the balance in the last final state, freezes
//! the rollup, and exits once; `cast` checks the payout.

use std::time::Duration;

use alloy::primitives::U256;
use loft_e2e::{Devnet, cast, dev_address, loft_bin, run_loft, wait_until};

#[test]
fn a_user_exits_with_its_exact_balance_from_l1_alone() {
    let devnet = Devnet::start(&loft_bin!(), &["--no-demo"]);
    let deployment = devnet.dir.path().join("deployment.json");
    let deployment = deployment.to_str().unwrap();
    let loft = |args: &[&str]| {
        let out = run_loft(&loft_bin!(), args, Duration::from_secs(120));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let user = dev_address(3).to_string();
    let (ok, out, err) = loft(&[
        "deposit",
        "3",
        "--wait",
        "--dev-account",
        "3",
        "--rpc",
        &devnet.l2_url,
        "--l1-rpc",
        &devnet.url,
    ]);
    assert!(ok, "deposit: {out}\n{err}");
    let rollup = devnet.deployment.rollup.to_string();
    let final_count = || -> u64 {
        cast(&[
            "call",
            &rollup,
            "finalizedBatchCount()(uint64)",
            "--rpc-url",
            &devnet.url,
        ])
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap()
    };
    // The deposit's batch becomes final (a new block makes the dev chain's clock count).
    wait_until(
        Duration::from_secs(60),
        "the deposit's batch to be final",
        || {
            cast(&["rpc", "evm_mine", "--rpc-url", &devnet.url]);
            (final_count() >= 1).then_some(())
        },
    );
    let exit = || {
        loft(&[
            "exit",
            "--l1-rpc",
            &devnet.url,
            "--deployment",
            deployment,
            "--dev-account",
            "3",
        ])
    };
    // While batches still become final, the rollup cannot be frozen.
    let (ok, out, err) = exit();
    assert!(!ok, "an exit before the freeze must fail: {out}");
    assert!(err.contains("cannot be frozen before"), "{err}");

    // Nothing final for longer than the exodus delay (twice over: a batch posted just before the
    // jump still becomes final after it): the user exits with exactly its balance.
    let l2_balance: U256 = cast(&["balance", &user, "--rpc-url", &devnet.l2_url])
        .parse()
        .unwrap();
    assert_eq!(l2_balance, U256::from(3_000_000_000_000_000_000u128));
    let delay = loft_config::ChainConfig::devnet().rollup.exodus_delay_secs;
    cast(&[
        "rpc",
        "evm_increaseTime",
        &(2 * delay).to_string(),
        "--rpc-url",
        &devnet.url,
    ]);
    cast(&["rpc", "evm_mine", "--rpc-url", &devnet.url]);
    let l1_before: U256 = cast(&["balance", &user, "--rpc-url", &devnet.url])
        .parse()
        .unwrap();
    let (ok, out, err) = exit();
    assert!(ok, "exit: {out}\n{err}");
    assert!(out.contains("froze the rollup"), "{out}");
    assert!(out.contains("exited: paid 3000000000000000000"), "{out}");
    let l1_after: U256 = cast(&["balance", &user, "--rpc-url", &devnet.url])
        .parse()
        .unwrap();
    // Paid exactly the balance, minus the gas of the freeze and exit transactions (under 0.01 ETH
    // at devnet fees).
    let gained = l1_after - l1_before;
    assert!(
        gained <= l2_balance && l2_balance - gained < U256::from(10_000_000_000_000_000u128),
        "gained {gained} of {l2_balance}"
    );
    let exited = cast(&[
        "call",
        &rollup,
        "frozenAt()(uint64)",
        "--rpc-url",
        &devnet.url,
    ]);
    assert_ne!(exited, "0", "the rollup is frozen");

    // Once only.
    let (ok, out, err) = exit();
    assert!(!ok, "a second exit must fail: {out}");
    assert!(
        err.contains("already exited") || err.contains("AlreadyExited"),
        "{err}"
    );
}
