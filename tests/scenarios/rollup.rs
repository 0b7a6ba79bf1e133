//! The rollup end to end, as users drive it with standard tools: `loft devnet` (embedded L1, and
//! anvil through `--l1-rpc`), deposits on L1, transfers and withdrawals on L2, and claims on L1,
//! all sent with `cast` (and, in one test, viem and ethers from node). After every step the
//! bridge's L1 holdings must equal what L2 owes: L2 balances + withdrawals not yet claimed +
//! deposits not yet consumed.

use std::process::Command;
use std::str::FromStr;
use std::time::Duration;

use alloy::primitives::{Address, U256, keccak256};
use alloy::sol_types::SolError;
use loft_contracts::L1Rollup;
use loft_e2e::{Anvil, Devnet, cast, dev_address, dev_key, foundry_tool, loft_bin, wait_until};
use serde_json::Value;

/// The L2 bridge that takes withdrawals (`"Loft"` followed by 1).
const L2_BRIDGE: &str = "0x4c6f667400000000000000000000000000000001";
/// Fixed L2 gas of each operation (docs/rollup.md §2.2).
const GAS_ETH_TRANSFER: u64 = 21_000;
const GAS_TOKEN_TRANSFER: u64 = 40_000;
const GAS_WITHDRAWAL: u64 = 60_000;
/// `claimWithdrawal` as cast spells it.
const CLAIM_SIG: &str =
    "claimWithdrawal(uint64,(address,uint256,address,address,uint256),uint256,bytes32[16])";
/// Generous bound for anything the node does on its own (blocks every 200 ms, batches every 2 s,
/// a 10 s challenge period): the tests never assert on timing.
const PATIENCE: Duration = Duration::from_secs(90);

fn key_hex(i: u32) -> String {
    format!("0x{}", alloy::hex::encode(dev_key(i).to_bytes()))
}

fn ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}

/// `n / 100` ether.
fn centi_ether(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(16u64))
}

/// A number as cast prints it: decimal (`cast balance`), possibly followed by a scientific
/// annotation (`cast call ...(uint256)`: `1000 [1e3]`), or 0x-hex (JSON fields).
fn num(s: &str) -> U256 {
    let first = s.split_whitespace().next().unwrap_or_default();
    U256::from_str(first).unwrap_or_else(|e| panic!("not a number: {s:?}: {e}"))
}

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// Runs cast and expects it to FAIL; returns its stderr and stdout for the caller to inspect.
fn cast_fails(args: &[&str]) -> String {
    let out = Command::new(foundry_tool("cast"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run cast: {e}"));
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        !out.status.success(),
        "cast {args:?} should have failed but succeeded:\n{text}"
    );
    text
}

/// Runs cast, `None` when it fails (for polling).
fn cast_try(args: &[&str]) -> Option<String> {
    let out = Command::new(foundry_tool("cast"))
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn selector_hex<E: SolError>() -> String {
    alloy::hex::encode(E::SELECTOR)
}

/// The L2 address of an L1 token, computed here from the spec (docs/rollup.md §1.2) and checked
/// against loft's own function.
fn l2_token_of(l1_token: Address) -> Address {
    let salt = keccak256("loft.l2-token");
    let mut buf = salt.to_vec();
    buf.extend_from_slice(l1_token.as_slice());
    let ours = Address::from_slice(&keccak256(&buf)[12..]);
    assert_eq!(ours, loft_state::l2_token_address(l1_token));
    ours
}

/// Which L1 the devnet runs on.
#[derive(Clone, Copy, Debug, PartialEq)]
enum L1Kind {
    Embedded,
    Anvil,
}

/// A running devnet and what the tests need to talk to it.
struct Net {
    kind: L1Kind,
    devnet: Devnet,
    l1: String,
    l2: String,
    bridge: String,
    rollup: String,
    l1_token: String,
    l2_token: String,
    /// Keeps anvil alive as long as the devnet (dropped after it: fields drop in order).
    _anvil: Option<Anvil>,
}

impl Net {
    fn start(kind: L1Kind) -> Self {
        let (devnet, anvil) = match kind {
            L1Kind::Embedded => (Devnet::start(&loft_bin!(), &["--no-demo"]), None),
            L1Kind::Anvil => {
                let anvil = Anvil::start(31337);
                let devnet = Devnet::start(
                    &loft_bin!(),
                    &["--l1-rpc", &anvil.url, "--l1-key", &key_hex(0), "--no-demo"],
                );
                (devnet, Some(anvil))
            }
        };
        let d = &devnet.deployment;
        let l1_token = d.dev_token.expect("loft devnet deploys a DevToken");
        println!(
            "[{kind:?}] devnet ready after {:?}: L1 {} L2 {} rollup {} bridge {} token {l1_token}",
            devnet.ready_after, devnet.url, devnet.l2_url, d.rollup, d.bridge
        );
        Self {
            kind,
            l1: devnet.url.clone(),
            l2: devnet.l2_url.clone(),
            bridge: d.bridge.to_string(),
            rollup: d.rollup.to_string(),
            l1_token: l1_token.to_string(),
            l2_token: l2_token_of(l1_token).to_string(),
            devnet,
            _anvil: anvil,
        }
    }

    /// The devnet's log, for failure messages.
    fn log(&self) -> String {
        std::fs::read_to_string(self.devnet.dir.path().join("devnet.log")).unwrap_or_default()
    }

    fn l1_eth(&self, who: &str) -> U256 {
        num(&cast(&["balance", who, "--rpc-url", &self.l1]))
    }

    fn l2_eth(&self, who: &str) -> U256 {
        num(&cast(&["balance", who, "--rpc-url", &self.l2]))
    }

    fn l1_tokens(&self, who: &str) -> U256 {
        num(&cast(&[
            "call",
            &self.l1_token,
            "balanceOf(address)(uint256)",
            who,
            "--rpc-url",
            &self.l1,
        ]))
    }

    fn l2_tokens(&self, who: &str) -> U256 {
        num(&cast(&[
            "call",
            &self.l2_token,
            "balanceOf(address)(uint256)",
            who,
            "--rpc-url",
            &self.l2,
        ]))
    }

    fn l2_rpc(&self, method: &str, params: &[&str]) -> Value {
        let mut args = vec!["rpc", "--rpc-url", &self.l2, method];
        args.extend_from_slice(params);
        json(&cast(&args))
    }

    fn queue_length(&self) -> u64 {
        num(&cast(&[
            "call",
            &self.bridge,
            "queueLength()(uint256)",
            "--rpc-url",
            &self.l1,
        ]))
        .to::<u64>()
    }

    fn consumed(&self) -> u64 {
        self.l2_rpc("loft_queueStatus", &[])["consumed"]
            .as_u64()
            .expect("loft_queueStatus.consumed")
    }

    /// `cast send --json` on L1 from dev account `from`; the receipt, status checked.
    fn l1_send(&self, from: u32, args: &[&str]) -> Value {
        send(&self.l1, from, args)
    }

    /// `cast send --json` on L2 from dev account `from`; the receipt, status checked.
    fn l2_send(&self, from: u32, args: &[&str]) -> Value {
        send(&self.l2, from, args)
    }

    /// L1 time moves on its own on the embedded L1 (each block takes the wall clock) but only with
    /// blocks on anvil; there, jump past the challenge period and mine.
    fn let_challenge_period_pass(&self, secs: u64) {
        if self.kind == L1Kind::Anvil {
            cast(&[
                "rpc",
                "--rpc-url",
                &self.l1,
                "evm_increaseTime",
                &secs.to_string(),
            ]);
            cast(&["rpc", "--rpc-url", &self.l1, "evm_mine"]);
        }
    }
}

fn send(url: &str, from: u32, args: &[&str]) -> Value {
    try_send(url, from, args).unwrap_or_else(|e| panic!("cast send {args:?} failed: {e}"))
}

/// `cast send --json`; the receipt (status checked) or cast's error output.
fn try_send(url: &str, from: u32, args: &[&str]) -> Result<Value, String> {
    let key = key_hex(from);
    let mut all = vec!["send", "--json", "--rpc-url", url, "--private-key", &key];
    all.extend_from_slice(args);
    let out = Command::new(foundry_tool("cast"))
        .args(&all)
        .output()
        .unwrap_or_else(|e| panic!("cannot run cast: {e}"));
    if !out.status.success() {
        return Err(format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    let receipt = json(String::from_utf8_lossy(&out.stdout).trim());
    assert_eq!(receipt["status"], "0x1", "cast {args:?}: {receipt}");
    Ok(receipt)
}

/// The fee an L2 receipt says was paid: gasUsed × effectiveGasPrice; gasUsed must be the
/// operation's fixed L2 gas.
fn fee_of(receipt: &Value, expected_gas: u64) -> U256 {
    let gas = num(receipt["gasUsed"].as_str().expect("gasUsed"));
    assert_eq!(gas, U256::from(expected_gas), "L2 gas of {receipt}");
    let price = num(receipt["effectiveGasPrice"]
        .as_str()
        .expect("effectiveGasPrice"));
    assert!(
        price >= U256::from(1_000_000_000u64),
        "effective price below the 1 gwei base fee: {receipt}"
    );
    gas * price
}

/// One asset the bridge holds: ETH or the DevToken.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Asset {
    Eth,
    Token,
}

/// What the test knows is in flight: deposits queued on L1 (with the queue length right after
/// them, so they are consumed once `consumed` reaches it) and withdrawals made on L2 and not yet
/// claimed on L1.
#[derive(Default)]
struct Ledger {
    deposits: Vec<(Asset, u64, U256)>,
    withdrawals: Vec<(Asset, String, U256)>,
    /// Whether the token is known to exist on L2 (before its first deposit is consumed,
    /// balanceOf may have nothing to call and every L2 balance is 0).
    token_on_l2: bool,
    /// Every account whose L2 balance may be non-zero (the fee recipient, dev account 0, always).
    accounts: Vec<String>,
}

impl Ledger {
    fn new(accounts: &[Address]) -> Self {
        let mut accounts: Vec<String> = accounts.iter().map(|a| a.to_string()).collect();
        let fee_recipient = dev_address(0).to_string();
        if !accounts.contains(&fee_recipient) {
            accounts.insert(0, fee_recipient);
        }
        Self {
            accounts,
            ..Self::default()
        }
    }
}

/// The bridge's invariant, for ETH and the token: its L1 holdings equal the sum of the L2
/// balances of every account involved + withdrawals made on L2 and not yet claimed + deposits
/// queued on L1 and not yet consumed on L2. Prints the terms. The terms are read one after the
/// other while the node keeps running, so a read that straddles a queue message being consumed
/// or a block being sealed is retried (for a few seconds); a persistent difference fails.
fn assert_invariant(net: &Net, ledger: &Ledger, step: &str) {
    for asset in [Asset::Eth, Asset::Token] {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let consumed_before = net.consumed();
            let held = match asset {
                Asset::Eth => net.l1_eth(&net.bridge),
                Asset::Token => net.l1_tokens(&net.bridge),
            };
            let mut balances = Vec::new();
            for who in &ledger.accounts {
                let b = match asset {
                    Asset::Eth => net.l2_eth(who),
                    Asset::Token if ledger.token_on_l2 => net.l2_tokens(who),
                    // Not known to be registered yet: a call may fail (nothing at that address).
                    Asset::Token => cast_try(&[
                        "call",
                        &net.l2_token,
                        "balanceOf(address)(uint256)",
                        who,
                        "--rpc-url",
                        &net.l2,
                    ])
                    .map(|b| num(&b))
                    .unwrap_or_default(),
                };
                balances.push((who.clone(), b));
            }
            let consumed_after = net.consumed();
            let on_l2: U256 = balances.iter().map(|(_, b)| *b).sum();
            let withdrawing: U256 = ledger
                .withdrawals
                .iter()
                .filter(|(a, _, _)| *a == asset)
                .map(|(_, _, x)| *x)
                .sum();
            let queued: U256 = ledger
                .deposits
                .iter()
                .filter(|(a, end, _)| *a == asset && consumed_after < *end)
                .map(|(_, _, x)| *x)
                .sum();
            let owed = on_l2 + withdrawing + queued;
            let terms = format!(
                "[{:?}] invariant after {step}, {asset:?}: bridge holds {held} on L1; owed {owed} = L2 balances {on_l2} {balances:?} + unclaimed withdrawals {withdrawing} + unconsumed deposits {queued} (queue consumed {consumed_after})",
                net.kind
            );
            if consumed_before == consumed_after && held == owed {
                println!("{terms}");
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "INVARIANT BROKEN: {terms}\n--- devnet log ---\n{}",
                net.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Waits for `loft_withdrawalStatus(tx)` to report `status`, failing early on a status that may
/// not come before it.
fn wait_withdrawal_status(net: &Net, tx: &str, status: &str, allowed_before: &[&str]) -> Value {
    wait_until(PATIENCE, &format!("withdrawal {tx} to be {status}"), || {
        let s = net.l2_rpc("loft_withdrawalStatus", &[tx]);
        let now = s["status"].as_str().unwrap_or_default().to_string();
        if now == status {
            return Some(s);
        }
        assert!(
            allowed_before.contains(&now.as_str()),
            "withdrawal {tx}: status {now:?} while waiting for {status:?}: {s}"
        );
        None
    })
}

/// The arguments of `claimWithdrawal` from a `loft_withdrawalStatus` answer.
fn claim_args(status: &Value) -> (String, String, String, String) {
    let w = &status["withdrawal"];
    let tuple = format!(
        "({},{},{},{},{})",
        w["l2Sender"].as_str().expect("l2Sender"),
        w["nonce"],
        w["l1Recipient"].as_str().expect("l1Recipient"),
        w["l1Token"].as_str().expect("l1Token"),
        num(w["amount"].as_str().expect("amount")),
    );
    let siblings: Vec<&str> = status["siblings"]
        .as_array()
        .expect("siblings")
        .iter()
        .map(|p| p.as_str().expect("sibling word"))
        .collect();
    assert_eq!(siblings.len(), 16, "a withdrawal has 16 siblings: {status}");
    (
        status["batch"].to_string(),
        tuple,
        status["index"].to_string(),
        format!("[{}]", siblings.join(",")),
    )
}

/// Checks what `loft_withdrawalStatus` says was withdrawn.
fn assert_withdrawal(
    status: &Value,
    sender: Address,
    recipient: Address,
    token: &str,
    amount: U256,
) {
    let w = &status["withdrawal"];
    let addr = |k: &str| Address::from_str(w[k].as_str().expect(k)).expect(k);
    assert_eq!(addr("l2Sender"), sender, "{status}");
    assert_eq!(addr("l1Recipient"), recipient, "{status}");
    assert_eq!(
        addr("l1Token"),
        Address::from_str(token).unwrap(),
        "{status}"
    );
    assert_eq!(num(w["amount"].as_str().unwrap()), amount, "{status}");
}

/// The whole acceptance flow against one devnet.
fn full_flow(kind: L1Kind) {
    let net = Net::start(kind);
    let user = dev_address(1);
    let friend = dev_address(2);
    let claimer = 3;
    // Fresh L1 recipients: their balances are 0 and they never pay gas, so a claim must raise them
    // by exactly the amount.
    let eth_recipient = Address::repeat_byte(0xe1);
    let token_recipient = Address::repeat_byte(0x7e);
    let mut ledger = Ledger::new(&[user, friend, eth_recipient, token_recipient]);
    let user_s = user.to_string();
    let friend_s = friend.to_string();
    let fee_recipient = dev_address(0).to_string();
    assert_invariant(&net, &ledger, "start");

    // 1. Deposit ETH on L1 with cast.
    let eth_in = ether(5);
    net.l1_send(
        1,
        &[
            &net.bridge,
            "depositETH(address)",
            &user_s,
            "--value",
            &eth_in.to_string(),
        ],
    );
    ledger
        .deposits
        .push((Asset::Eth, net.queue_length(), eth_in));
    assert_invariant(&net, &ledger, "ETH deposit sent on L1");
    wait_until(PATIENCE, "the ETH deposit on L2", || {
        (net.l2_eth(&user_s) == eth_in).then_some(())
    });
    assert_invariant(&net, &ledger, "ETH deposit credited on L2");

    // 2. Mint, approve and deposit the DevToken.
    let minted = ether(1000);
    let tokens_in = ether(400);
    net.l1_send(
        1,
        &[
            &net.l1_token,
            "mint(address,uint256)",
            &user_s,
            &minted.to_string(),
        ],
    );
    net.l1_send(
        1,
        &[
            &net.l1_token,
            "approve(address,uint256)",
            &net.bridge,
            &tokens_in.to_string(),
        ],
    );
    assert_invariant(&net, &ledger, "mint and approve");
    net.l1_send(
        1,
        &[
            &net.bridge,
            "depositERC20(address,address,uint256)",
            &net.l1_token,
            &user_s,
            &tokens_in.to_string(),
        ],
    );
    assert_eq!(net.l1_tokens(&user_s), minted - tokens_in);
    ledger
        .deposits
        .push((Asset::Token, net.queue_length(), tokens_in));
    assert_invariant(&net, &ledger, "token deposit sent on L1");
    wait_until(PATIENCE, "the token deposit on L2", || {
        cast_try(&[
            "call",
            &net.l2_token,
            "balanceOf(address)(uint256)",
            &user_s,
            "--rpc-url",
            &net.l2,
        ])
        .filter(|b| num(b) == tokens_in)
    });
    ledger.token_on_l2 = true;
    assert_invariant(&net, &ledger, "token deposit credited on L2");

    // 3. An ETH transfer on L2 with cast: exact balances, fee from the receipt to dev account 0.
    let (u0, f0, r0) = (
        net.l2_eth(&user_s),
        net.l2_eth(&friend_s),
        net.l2_eth(&fee_recipient),
    );
    let sent = centi_ether(125);
    let receipt = net.l2_send(1, &[&friend_s, "--value", &sent.to_string()]);
    let fee = fee_of(&receipt, GAS_ETH_TRANSFER);
    assert_eq!(
        net.l2_eth(&user_s),
        u0 - sent - fee,
        "sender pays amount + fee"
    );
    assert_eq!(
        net.l2_eth(&friend_s),
        f0 + sent,
        "recipient gets the amount"
    );
    assert_eq!(
        net.l2_eth(&fee_recipient),
        r0 + fee,
        "fee recipient gets the fee"
    );
    assert_invariant(&net, &ledger, "L2 ETH transfer");

    // 4. A token transfer on L2.
    let (u0, r0) = (net.l2_eth(&user_s), net.l2_eth(&fee_recipient));
    let (ut0, ft0) = (net.l2_tokens(&user_s), net.l2_tokens(&friend_s));
    let moved = ether(150);
    let receipt = net.l2_send(
        1,
        &[
            &net.l2_token,
            "transfer(address,uint256)",
            &friend_s,
            &moved.to_string(),
        ],
    );
    let fee = fee_of(&receipt, GAS_TOKEN_TRANSFER);
    let logs = receipt["logs"].as_array().expect("logs");
    assert!(
        logs.len() == 1
            && logs[0]["address"].as_str().map(str::to_lowercase)
                == Some(net.l2_token.to_lowercase()),
        "one Transfer log from the L2 token: {receipt}"
    );
    assert_eq!(net.l2_tokens(&user_s), ut0 - moved);
    assert_eq!(net.l2_tokens(&friend_s), ft0 + moved);
    assert_eq!(
        net.l2_eth(&user_s),
        u0 - fee,
        "a token transfer costs only the fee in ETH"
    );
    assert_eq!(net.l2_eth(&fee_recipient), r0 + fee);
    assert_invariant(&net, &ledger, "L2 token transfer");

    // 5. Withdraw ETH (from the user) and the token (from the friend) on L2.
    let eth_out = ether(2);
    let (u0, r0) = (net.l2_eth(&user_s), net.l2_eth(&fee_recipient));
    let receipt = net.l2_send(
        1,
        &[
            L2_BRIDGE,
            "withdraw(address,uint256,address)",
            &Address::ZERO.to_string(),
            &eth_out.to_string(),
            &eth_recipient.to_string(),
        ],
    );
    let fee = fee_of(&receipt, GAS_WITHDRAWAL);
    let eth_tx = receipt["transactionHash"].as_str().unwrap().to_string();
    assert_eq!(net.l2_eth(&user_s), u0 - eth_out - fee);
    assert_eq!(net.l2_eth(&fee_recipient), r0 + fee);
    ledger
        .withdrawals
        .push((Asset::Eth, eth_tx.clone(), eth_out));
    assert_invariant(&net, &ledger, "L2 ETH withdrawal");

    let tokens_out = ether(100);
    let (f0, ft0, r0) = (
        net.l2_eth(&friend_s),
        net.l2_tokens(&friend_s),
        net.l2_eth(&fee_recipient),
    );
    let receipt = net.l2_send(
        2,
        &[
            L2_BRIDGE,
            "withdraw(address,uint256,address)",
            &net.l2_token,
            &tokens_out.to_string(),
            &token_recipient.to_string(),
        ],
    );
    let fee = fee_of(&receipt, GAS_WITHDRAWAL);
    let token_tx = receipt["transactionHash"].as_str().unwrap().to_string();
    assert_eq!(net.l2_eth(&friend_s), f0 - fee);
    assert_eq!(net.l2_tokens(&friend_s), ft0 - tokens_out);
    assert_eq!(net.l2_eth(&fee_recipient), r0 + fee);
    ledger
        .withdrawals
        .push((Asset::Token, token_tx.clone(), tokens_out));
    assert_invariant(&net, &ledger, "L2 token withdrawal");

    // 6. Both reach a batch on L1 and sit in the challenge period: a claim fails (not final).
    let early = ["pending-block", "pending-batch"];
    let not_final = selector_hex::<L1Rollup::BatchNotFinal>();
    let mut statuses = Vec::new();
    for (tx, sender, recipient, token, amount) in [
        (
            &eth_tx,
            user,
            eth_recipient,
            Address::ZERO.to_string(),
            eth_out,
        ),
        (
            &token_tx,
            friend,
            token_recipient,
            net.l1_token.clone(),
            tokens_out,
        ),
    ] {
        let s = wait_withdrawal_status(&net, tx, "challenge-period", &early);
        println!("[{kind:?}] withdrawal {tx}: {s}");
        assert_withdrawal(&s, sender, recipient, &token, amount);
        assert_eq!(
            s["rollup"].as_str().map(str::to_lowercase),
            Some(net.rollup.to_lowercase())
        );
        let (batch, tuple, index, siblings) = claim_args(&s);
        let err = cast_fails(&[
            "send",
            "--rpc-url",
            &net.l1,
            "--private-key",
            &key_hex(claimer),
            &net.rollup,
            CLAIM_SIG,
            &batch,
            &tuple,
            &index,
            &siblings,
        ]);
        assert!(
            err.contains(&not_final),
            "a claim in the challenge period must revert with BatchNotFinal (0x{not_final}): {err}"
        );
        statuses.push(s);
    }
    assert_eq!(net.l1_eth(&eth_recipient.to_string()), U256::ZERO);
    assert_eq!(net.l1_tokens(&token_recipient.to_string()), U256::ZERO);
    assert_invariant(&net, &ledger, "claims refused in the challenge period");

    // 7. After the challenge period: claimable; claim from another account; exact payouts; a
    //    second claim fails; status claimed.
    net.let_challenge_period_pass(net.devnet.deployment.challenge_period_secs + 1);
    let already = selector_hex::<L1Rollup::AlreadyClaimed>();
    for (i, (tx, asset, recipient, amount)) in [
        (&eth_tx, Asset::Eth, eth_recipient, eth_out),
        (&token_tx, Asset::Token, token_recipient, tokens_out),
    ]
    .into_iter()
    .enumerate()
    {
        let s = wait_withdrawal_status(&net, tx, "claimable", &["challenge-period"]);
        assert_eq!(s["leaf"], statuses[i]["leaf"], "the leaf does not change");
        let (batch, tuple, index, siblings) = claim_args(&s);
        let recipient_s = recipient.to_string();
        let balance = |who: &str| match asset {
            Asset::Eth => net.l1_eth(who),
            Asset::Token => net.l1_tokens(who),
        };
        let before = balance(&recipient_s);
        let claim = [
            net.rollup.as_str(),
            CLAIM_SIG,
            &batch,
            &tuple,
            &index,
            &siblings,
        ];
        // "claimable" must mean a claim passes on L1 now: the node takes the later of the L1
        // head's time and the wall clock, which the next dev-chain block never precedes.
        if let Err(e) = try_send(&net.l1, claimer, &claim) {
            let status = net.l2_rpc("loft_withdrawalStatus", &[tx]);
            panic!("[{kind:?}] {tx} was claimable ({status}) but the claim failed on L1: {e}");
        }
        assert_eq!(
            balance(&recipient_s),
            before + amount,
            "{asset:?} claim pays the recipient exactly the amount"
        );
        ledger.withdrawals.retain(|(_, t, _)| t != tx);
        assert_invariant(&net, &ledger, &format!("{asset:?} claim"));

        let key = key_hex(claimer);
        let mut again = vec!["send", "--rpc-url", &net.l1, "--private-key", &key];
        again.extend_from_slice(&claim);
        let err = cast_fails(&again);
        assert!(
            err.contains(&already),
            "a second claim must revert with AlreadyClaimed (0x{already}): {err}"
        );
        assert_eq!(balance(&recipient_s), before + amount);
        let s = wait_withdrawal_status(&net, tx, "claimed", &["claimable"]);
        println!("[{kind:?}] withdrawal {tx}: {}", s["status"]);
        assert_invariant(&net, &ledger, &format!("{asset:?} second claim refused"));
    }

    // What is left in the bridge is exactly what stayed on L2.
    assert_eq!(net.l1_eth(&net.bridge), eth_in - eth_out);
    assert_eq!(net.l1_tokens(&net.bridge), tokens_in - tokens_out);
    assert!(ledger.withdrawals.is_empty());
}

#[test]
fn deposit_transfer_withdraw_claim_on_the_embedded_l1() {
    full_flow(L1Kind::Embedded);
}

#[test]
fn deposit_transfer_withdraw_claim_on_anvil() {
    full_flow(L1Kind::Anvil);
}

#[test]
fn viem_and_ethers_transfer_on_l2() {
    let net = Net::start(L1Kind::Embedded);
    let sender = dev_address(4);
    let sender_s = sender.to_string();
    let recipient = Address::repeat_byte(0x5a);
    let mut ledger = Ledger::new(&[sender, recipient]);
    let deposited = ether(3);
    net.l1_send(
        4,
        &[
            &net.bridge,
            "depositETH(address)",
            &sender_s,
            "--value",
            &deposited.to_string(),
        ],
    );
    ledger
        .deposits
        .push((Asset::Eth, net.queue_length(), deposited));
    wait_until(PATIENCE, "the deposit on L2", || {
        (net.l2_eth(&sender_s) == deposited).then_some(())
    });
    assert_invariant(&net, &ledger, "deposit");

    let amount = centi_ether(50);
    let script = loft_e2e::repo_root().join("contracts/clients/l2_smoke.mjs");
    let out = loft_e2e::run_ok(Command::new("node").arg(&script).args([
        net.l2.as_str(),
        &key_hex(4),
        &recipient.to_string(),
        &amount.to_string(),
    ]));
    println!("l2_smoke.mjs: {out}");
    let report = json(out.lines().last().unwrap_or_default());
    assert_eq!(report["chainId"], 42069, "{report}");
    assert_eq!(report["status"], "success", "{report}");
    assert_eq!(report["gasUsed"], GAS_ETH_TRANSFER.to_string(), "{report}");
    let field = |k: &str| {
        num(report[k]
            .as_str()
            .unwrap_or_else(|| panic!("{k} in {report}")))
    };
    let fee = field("gasUsed") * field("effectiveGasPrice");
    assert_eq!(field("recipientBefore"), U256::ZERO, "{report}");
    assert_eq!(field("recipientAfter"), amount, "{report}");
    assert_eq!(field("senderBefore"), deposited, "{report}");
    assert_eq!(field("senderAfter"), deposited - amount - fee, "{report}");

    // cast sees the same transaction, block and balances.
    let tx = report["tx"].as_str().expect("tx");
    let receipt = json(&cast(&["receipt", "--json", tx, "--rpc-url", &net.l2]));
    assert_eq!(
        num(receipt["blockNumber"].as_str().unwrap()),
        field("blockNumber"),
        "{receipt}"
    );
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(net.l2_eth(&recipient.to_string()), amount);
    assert_eq!(net.l2_eth(&sender_s), deposited - amount - fee);
    assert_eq!(net.l2_eth(&dev_address(0).to_string()), fee);
    assert_invariant(&net, &ledger, "viem transfer");
}
