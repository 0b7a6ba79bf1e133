//! The L2 JSON-RPC of a real `loft devnet` (embedded L1) against bad input: every refusal has its
//! exact JSON-RPC code and message, and changes nothing (`docs/rollup.md` §2.2, `TxError::TABLE`,
//! `crates/node/src/rpc.rs`).

use std::time::Duration;

use alloy::consensus::{
    SignableTransaction, TxEip1559, TxEip2930, TxEip4844, TxEip7702, TxEnvelope, TxLegacy,
};
use alloy::eips::eip2718::Encodable2718;
use alloy::eips::eip2930::{AccessList, AccessListItem};
use alloy::eips::eip7702::Authorization;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, Signature, TxKind, U256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use loft_e2e::{Devnet, cast, dev_key, http_post, loft_bin, raw_request, wait_until};
use loft_state::layout::{L2_BRIDGE, l2_token_address};
use serde_json::{Value, json};

const L2_CHAIN_ID: u64 = 42069;
const GWEI: u128 = 1_000_000_000;
const BASE_FEE: u128 = GWEI;
/// Two L2 block times: long enough for a block opened by a request to be sealed.
const SETTLE: Duration = Duration::from_millis(400);

/// The secp256k1 group order n.
fn secp256k1_n() -> U256 {
    "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
        .parse()
        .unwrap()
}

alloy::sol! {
    function transfer(address to, uint256 amount) external returns (bool);
    function withdraw(address token, uint256 amount, address l1Recipient) external;
    function balanceOf(address account) external view returns (uint256);
}

/// The body of an HTTP response.
fn body_of(response: &str) -> &str {
    let start = response
        .find("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP body in {response:?}"));
    &response[start + 4..]
}

/// One JSON-RPC call over a fresh connection; the whole response object.
fn rpc(url: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let response = http_post(url, &body).expect("post");
    serde_json::from_str(body_of(&response)).unwrap_or_else(|e| panic!("{e}: {response}"))
}

/// The `result` of a call that must succeed.
fn ok(url: &str, method: &str, params: Value) -> Value {
    let v = rpc(url, method, params.clone());
    assert!(v.get("error").is_none(), "{method} {params} failed: {v}");
    v["result"].clone()
}

fn u256_of(v: &Value) -> U256 {
    v.as_str()
        .unwrap_or_else(|| panic!("not a quantity: {v}"))
        .parse()
        .unwrap_or_else(|e| panic!("{e}: {v}"))
}

fn u64_of(v: &Value) -> u64 {
    u256_of(v).to()
}

fn hex(bytes: &[u8]) -> String {
    format!("0x{}", alloy::hex::encode(bytes))
}

fn signed<T>(key: &PrivateKeySigner, mut tx: T) -> TxEnvelope
where
    T: SignableTransaction<Signature>,
    TxEnvelope: From<alloy::consensus::Signed<T>>,
{
    let sig = key.sign_transaction_sync(&mut tx).expect("sign");
    TxEnvelope::from(tx.into_signed(sig))
}

/// `tx` with signature `sig` instead of its own.
fn with_signature<T>(tx: T, sig: Signature) -> TxEnvelope
where
    T: SignableTransaction<Signature>,
    TxEnvelope: From<alloy::consensus::Signed<T>>,
{
    TxEnvelope::from(tx.into_signed(sig))
}

/// The expected refusal of a bad input.
struct Refusal {
    code: i64,
    /// Fragment of the message.
    message: &'static str,
    /// `data.reason`, if the node must send one.
    reason: Option<&'static str>,
}

const fn refused(code: i64, message: &'static str, reason: &'static str) -> Refusal {
    Refusal {
        code,
        message,
        reason: Some(reason),
    }
}

/// The refusal of transaction code `code` (`-38000 - code`, `data.reason` = the kind).
const fn tx_refused(code: u16, message: &'static str, kind: &'static str) -> Refusal {
    refused(-38000 - code as i64, message, kind)
}

/// What must not change on a refusal.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Snapshot {
    head: u64,
    nonce: u64,
    balances: Vec<(Address, U256)>,
    sender_tokens: U256,
}

struct L2 {
    url: String,
    sender: PrivateKeySigner,
    watched: Vec<Address>,
    token: Address,
    /// Hashes of refused transactions, checked against every block at the end.
    refused_hashes: Vec<B256>,
    failures: Vec<String>,
}

impl L2 {
    fn snapshot(&self) -> Snapshot {
        let url = &self.url;
        let balances = self
            .watched
            .iter()
            .map(|a| {
                (
                    *a,
                    u256_of(&ok(url, "eth_getBalance", json!([a, "latest"]))),
                )
            })
            .collect();
        let data = balanceOfCall {
            account: self.sender.address(),
        }
        .abi_encode();
        let sender_tokens = u256_of(&ok(
            url,
            "eth_call",
            json!([{"to": self.token, "data": hex(&data)}, "latest"]),
        ));
        Snapshot {
            head: u64_of(&ok(url, "eth_blockNumber", json!([]))),
            nonce: u64_of(&ok(
                url,
                "eth_getTransactionCount",
                json!([self.sender.address(), "latest"]),
            )),
            balances,
            sender_tokens,
        }
    }

    /// Sends a raw request body and checks the refusal; records a mismatch instead of panicking so
    /// that one run reports every finding.
    fn expect_refusal(&mut self, what: &str, method: &str, params: Value, want: &Refusal) -> Value {
        let before = self.snapshot();
        let v = rpc(&self.url, method, params);
        self.check(what, &v, want);
        self.unchanged(what, &before);
        v
    }

    /// Checks that nothing changed since `before`, including no new L2 block, after two block
    /// times (a block opened by a refused transaction would be sealed by then).
    fn unchanged(&mut self, what: &str, before: &Snapshot) {
        std::thread::sleep(SETTLE);
        let after = self.snapshot();
        if after.head != before.head {
            let mut txs = Vec::new();
            for n in before.head + 1..=after.head {
                let block = ok(
                    &self.url,
                    "eth_getBlockByNumber",
                    json!([format!("{n:#x}"), true]),
                );
                txs.extend(block["transactions"].as_array().unwrap().iter().cloned());
            }
            let line = format!(
                "{what}: the head moved from block {} to {} (new blocks hold {} transactions: {txs:?})",
                before.head,
                after.head,
                txs.len()
            );
            println!("FAIL {line}");
            self.failures.push(line);
        }
        let (mut a, mut b) = (after, before.clone());
        (a.head, b.head) = (0, 0);
        if a != b {
            let line = format!("{what}: state changed:\n  before {b:?}\n  after  {a:?}");
            println!("FAIL {line}");
            self.failures.push(line);
        }
    }

    fn check(&mut self, what: &str, v: &Value, want: &Refusal) {
        let code = v["error"]["code"].as_i64();
        let message = v["error"]["message"].as_str().unwrap_or_default();
        let mut bad = Vec::new();
        if code != Some(want.code) {
            bad.push(format!("code {code:?}, expected {}", want.code));
        }
        if !message.contains(want.message) {
            bad.push(format!("message lacks {:?}", want.message));
        }
        if let Some(reason) = want.reason
            && v["error"]["data"]["reason"] != reason
        {
            bad.push(format!("data.reason is not {reason:?}"));
        }
        if bad.is_empty() {
            println!("ok   {what}: {}", v["error"]);
        } else {
            let line = format!("{what}: {}; response {v}", bad.join(", "));
            println!("FAIL {line}");
            self.failures.push(line);
        }
    }

    /// Sends a signed transaction that must be refused with `want`; checks nothing changed and
    /// that the node does not know its hash.
    fn refuse_tx(&mut self, what: &str, tx: &TxEnvelope, want: Refusal) -> Value {
        let v = self.refuse_raw(what, &tx.encoded_2718(), want);
        let hash = *tx.tx_hash();
        self.refused_hashes.push(hash);
        for method in ["eth_getTransactionReceipt", "eth_getTransactionByHash"] {
            let found = ok(&self.url, method, json!([hash]));
            if !found.is_null() {
                self.failures
                    .push(format!("{what}: {method}({hash}) answers {found}"));
            }
        }
        v
    }

    fn refuse_raw(&mut self, what: &str, raw: &[u8], want: Refusal) -> Value {
        self.expect_refusal(what, "eth_sendRawTransaction", json!([hex(raw)]), &want)
    }

    fn nonce(&self) -> u64 {
        u64_of(&ok(
            &self.url,
            "eth_getTransactionCount",
            json!([self.sender.address(), "latest"]),
        ))
    }

    /// A valid ETH transfer of `value` wei to `to` at the sender's next nonce.
    fn eth_transfer(&self, to: Address, value: U256) -> TxEip1559 {
        TxEip1559 {
            chain_id: L2_CHAIN_ID,
            nonce: self.nonce(),
            gas_limit: 21_000,
            max_fee_per_gas: 2 * GWEI,
            max_priority_fee_per_gas: 0,
            to: TxKind::Call(to),
            value,
            ..Default::default()
        }
    }
}

/// Deposits on L1 with cast: `amount_eth` ETH and 1000 dev tokens for `key`'s own L2 account.
fn deposit(devnet: &Devnet, key: &PrivateKeySigner, amount_eth: &str) {
    let url = devnet.url.as_str();
    let pk = hex(&key.to_bytes()[..]);
    let me = key.address().to_string();
    let bridge = devnet.deployment.bridge.to_string();
    let token = devnet
        .deployment
        .dev_token
        .expect("the devnet deploys a dev token")
        .to_string();
    let send = |to: &str, sig: &str, args: &[&str], value: Option<&str>| {
        let mut all = vec!["send", "--rpc-url", url, "--private-key", &pk, to, sig];
        all.extend_from_slice(args);
        if let Some(v) = value {
            all.extend_from_slice(&["--value", v]);
        }
        cast(&all);
    };
    send(&bridge, "depositETH(address)", &[&me], Some(amount_eth));
    let amount = "1000000000000000000000";
    send(&token, "mint(address,uint256)", &[&me, amount], None);
    send(&token, "approve(address,uint256)", &[&bridge, amount], None);
    send(
        &bridge,
        "depositERC20(address,address,uint256)",
        &[&token, &me, amount],
        None,
    );
}

#[test]
fn l2_rpc_refuses_bad_input_with_exact_codes_and_changes_nothing() {
    let devnet = Devnet::start(&loft_bin!(), &["--no-demo"]);
    let url = devnet.l2_url.clone();
    let sender = dev_key(3);
    let recipient = Address::repeat_byte(0x42);
    let l1_token = devnet.deployment.dev_token.expect("dev token");
    let token = l2_token_address(l1_token);

    deposit(&devnet, &sender, "5ether");
    wait_until(Duration::from_secs(60), "the deposits on L2", || {
        let code = ok(&url, "eth_getCode", json!([token, "latest"]));
        let balance = u256_of(&ok(
            &url,
            "eth_getBalance",
            json!([sender.address(), "latest"]),
        ));
        (code == "0xfe" && !balance.is_zero()).then_some(())
    });
    let config = ok(&url, "loft_chainConfig", json!([]));
    assert_eq!(config["config"]["l2"]["chain_id"], L2_CHAIN_ID, "{config}");
    let fee_recipient: Address =
        serde_json::from_value(config["config"]["l2"]["fee_recipient"].clone()).unwrap();

    let mut l2 = L2 {
        url: url.clone(),
        sender: sender.clone(),
        watched: vec![
            sender.address(),
            recipient,
            fee_recipient,
            L2_BRIDGE,
            token,
            Address::ZERO,
        ],
        token,
        refused_hashes: vec![],
        failures: vec![],
    };

    // One valid transfer (nonce 0), to replay later.
    let first = signed(&sender, l2.eth_transfer(recipient, U256::from(1000u64)));
    let r = rpc(
        &url,
        "eth_sendRawTransaction",
        json!([hex(&first.encoded_2718())]),
    );
    assert_eq!(r["result"], json!(first.tx_hash()), "{r}");
    let first_receipt = wait_until(Duration::from_secs(30), "the first receipt", || {
        let r = ok(&url, "eth_getTransactionReceipt", json!([first.tx_hash()]));
        (!r.is_null()).then_some(r)
    });
    assert_eq!(first_receipt["status"], "0x1");
    let baseline_head = u64_of(&ok(&url, "eth_blockNumber", json!([])));
    assert_eq!(l2.nonce(), 1);
    let balance = u256_of(&ok(
        &url,
        "eth_getBalance",
        json!([sender.address(), "latest"]),
    ));

    // --- Malformed RLP.
    l2.refuse_raw(
        "random bytes",
        &[
            0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x55, 0xaa, 0x17, 0x99, 0x00, 0x42, 0xc3,
        ],
        tx_refused(1, "malformed transaction", "malformed"),
    );
    l2.refuse_raw(
        "random bytes with a list prefix",
        &[0xf8, 0x6b, 0x01, 0x02, 0x03, 0x04, 0x05],
        tx_refused(1, "malformed transaction", "malformed"),
    );
    l2.refuse_raw(
        "empty transaction",
        &[],
        tx_refused(1, "malformed transaction: empty transaction", "malformed"),
    );
    let good = signed(&sender, l2.eth_transfer(recipient, U256::from(7u64))).encoded_2718();
    l2.refuse_raw(
        "truncated EIP-1559 transaction",
        &good[..good.len() - 9],
        tx_refused(1, "malformed transaction", "malformed"),
    );
    l2.refuse_raw(
        "EIP-1559 transaction cut to its type byte",
        &good[..1],
        tx_refused(1, "malformed transaction", "malformed"),
    );
    let mut trailing = good.clone();
    trailing.push(0x00);
    l2.refuse_raw(
        "valid transaction followed by a byte",
        &trailing,
        tx_refused(1, "malformed transaction", "malformed"),
    );
    let legacy_good = signed(
        &sender,
        TxLegacy {
            chain_id: Some(L2_CHAIN_ID),
            nonce: 1,
            gas_price: 2 * GWEI,
            gas_limit: 21_000,
            to: TxKind::Call(recipient),
            value: U256::from(7u64),
            ..Default::default()
        },
    )
    .encoded_2718();
    l2.refuse_raw(
        "truncated legacy transaction",
        &legacy_good[..legacy_good.len() - 20],
        tx_refused(1, "malformed transaction", "malformed"),
    );

    // --- Bad signatures.
    let base = l2.eth_transfer(recipient, U256::from(7u64));
    let sig = sender.sign_transaction_sync(&mut base.clone()).unwrap();
    for (what, bad) in [
        (
            "signature with r = 0",
            Signature::new(U256::ZERO, sig.s(), sig.v()),
        ),
        (
            "signature with s = 0",
            Signature::new(sig.r(), U256::ZERO, sig.v()),
        ),
        (
            "signature with r = secp256k1n",
            Signature::new(secp256k1_n(), sig.s(), sig.v()),
        ),
        (
            "signature with r = 2^256 - 1",
            Signature::new(U256::MAX, sig.s(), sig.v()),
        ),
        (
            "high-s signature (EIP-2)",
            Signature::new(sig.r(), secp256k1_n() - sig.s(), !sig.v()),
        ),
    ] {
        l2.refuse_tx(
            what,
            &with_signature(base.clone(), bad),
            tx_refused(3, "invalid signature", "invalid_signature"),
        );
    }
    // A corrupted r that still recovers is another (unfunded) signer's transaction: refused for
    // that account, never charged to the sender. (Nonce 0 so that the other account's nonce
    // matches and the funds check is what refuses it.)
    let mut base0 = base.clone();
    base0.nonce = 0;
    let sig0 = sender.sign_transaction_sync(&mut base0.clone()).unwrap();
    let hash = base0.signature_hash();
    let corrupted = (1u64..)
        .map(|i| Signature::new(sig0.r() ^ U256::from(i), sig0.s(), sig0.v()))
        .find(|s| s.recover_address_from_prehash(&hash).is_ok())
        .unwrap();
    let other = corrupted.recover_address_from_prehash(&hash).unwrap();
    assert_ne!(other, sender.address());
    let v = l2.refuse_tx(
        "corrupted r recovering to an unfunded account",
        &with_signature(base0, corrupted),
        tx_refused(10, "insufficient funds", "insufficient_funds"),
    );
    let message = v["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&other.to_string()), "{v}");
    assert!(!message.contains(&sender.address().to_string()), "{v}");

    // --- Wrong chain id.
    let mut tx = l2.eth_transfer(recipient, U256::from(7u64));
    tx.chain_id = 31337;
    l2.refuse_tx(
        "EIP-1559 for the L1 chain id 31337",
        &signed(&sender, tx),
        tx_refused(
            4,
            "wrong chain id: expected 42069, transaction has 31337",
            "wrong_chain_id",
        ),
    );
    l2.refuse_tx(
        "legacy EIP-155 for chain id 31337",
        &signed(
            &sender,
            TxLegacy {
                chain_id: Some(31337),
                nonce: 1,
                gas_price: 2 * GWEI,
                gas_limit: 21_000,
                to: TxKind::Call(recipient),
                value: U256::from(7u64),
                ..Default::default()
            },
        ),
        tx_refused(4, "wrong chain id", "wrong_chain_id"),
    );

    // --- Nonces. Replaying the accepted transaction: "already known", the same every time.
    for attempt in 1..=3 {
        l2.expect_refusal(
            &format!("replay of an accepted transaction (attempt {attempt})"),
            "eth_sendRawTransaction",
            json!([hex(&first.encoded_2718())]),
            &refused(-32000, "already known", "already-known"),
        );
    }
    let mut tx = l2.eth_transfer(recipient, U256::from(8u64));
    tx.nonce = 0;
    l2.refuse_tx(
        "another transaction with a used nonce",
        &signed(&sender, tx),
        tx_refused(5, "has nonce 1, transaction has 0", "nonce_too_low"),
    );
    let mut tx = l2.eth_transfer(recipient, U256::from(8u64));
    tx.nonce = 6;
    l2.refuse_tx(
        "nonce too far ahead",
        &signed(&sender, tx),
        tx_refused(6, "nonce too far ahead", "nonce_too_high"),
    );
    let mut tx = l2.eth_transfer(recipient, U256::from(8u64));
    tx.nonce = u64::MAX;
    l2.refuse_tx(
        "nonce 2^64 - 1",
        &signed(&sender, tx),
        tx_refused(6, "nonce too far ahead", "nonce_too_high"),
    );

    // --- Funds: value + fee one wei above the balance (the fee is 21,000 x the effective price,
    // here the base fee with no tip).
    let fee = U256::from(21_000u128 * BASE_FEE);
    let tx = l2.eth_transfer(recipient, balance - fee + U256::from(1u64));
    l2.refuse_tx(
        "value + fee one wei above the balance",
        &signed(&sender, tx),
        tx_refused(10, "insufficient funds", "insufficient_funds"),
    );
    let tx = l2.eth_transfer(recipient, U256::MAX);
    l2.refuse_tx(
        "value 2^256 - 1",
        &signed(&sender, tx),
        tx_refused(10, "insufficient funds", "insufficient_funds"),
    );
    let mut tx = l2.eth_transfer(recipient, U256::ZERO);
    tx.input = transferCall {
        to: recipient,
        amount: U256::from(10u64).pow(U256::from(30u64)),
    }
    .abi_encode()
    .into();
    tx.to = TxKind::Call(token);
    tx.gas_limit = 40_000;
    l2.refuse_tx(
        "token transfer above the token balance",
        &signed(&sender, tx),
        tx_refused(11, "insufficient token funds", "insufficient_token_funds"),
    );

    // --- Calls L2 does not support.
    let mut tx = l2.eth_transfer(recipient, U256::ZERO);
    tx.input = Bytes::from_static(&[0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    tx.gas_limit = 100_000;
    l2.refuse_tx(
        "random selector to a plain address",
        &signed(&sender, tx),
        tx_refused(12, "unsupported call: unknown selector", "unsupported_call"),
    );
    let mut tx = l2.eth_transfer(recipient, U256::ZERO);
    tx.to = TxKind::Create;
    tx.input = Bytes::from_static(&[0x60, 0x00, 0x60, 0x00, 0xf3]);
    tx.gas_limit = 100_000;
    l2.refuse_tx(
        "contract creation",
        &signed(&sender, tx),
        tx_refused(
            12,
            "unsupported call: contract creation",
            "unsupported_call",
        ),
    );
    let mut tx = l2.eth_transfer(recipient, U256::from(5u64));
    tx.input = Bytes::from_static(&[0xa9, 0x05, 0x9c, 0xbb]);
    l2.refuse_tx(
        "value sent with calldata",
        &signed(&sender, tx),
        tx_refused(12, "value sent with calldata", "unsupported_call"),
    );
    let tx = l2.eth_transfer(L2_BRIDGE, U256::from(5u64));
    l2.refuse_tx(
        "ETH to the L2 bridge with empty data",
        &signed(&sender, tx),
        tx_refused(
            12,
            "ETH sent to the L2 bridge without a withdraw call",
            "unsupported_call",
        ),
    );
    let tx = l2.eth_transfer(token, U256::from(5u64));
    l2.refuse_tx(
        "ETH to an L2 token",
        &signed(&sender, tx),
        tx_refused(12, "ETH sent to an L2 token", "unsupported_call"),
    );
    let mut tx = l2.eth_transfer(Address::repeat_byte(0x99), U256::ZERO);
    tx.input = transferCall {
        to: recipient,
        amount: U256::from(1u64),
    }
    .abi_encode()
    .into();
    tx.gas_limit = 40_000;
    l2.refuse_tx(
        "ERC-20 transfer on an address that is not an L2 token",
        &signed(&sender, tx),
        tx_refused(
            12,
            "calldata to an address that is not an L2 token",
            "unsupported_call",
        ),
    );
    let unknown = Address::repeat_byte(0x99);
    let withdraw_tx = |nonce: u64, token: Address, amount: u64, l1: Address| TxEip1559 {
        chain_id: L2_CHAIN_ID,
        nonce,
        gas_limit: 60_000,
        max_fee_per_gas: 2 * GWEI,
        to: TxKind::Call(L2_BRIDGE),
        input: withdrawCall {
            token,
            amount: U256::from(amount),
            l1Recipient: l1,
        }
        .abi_encode()
        .into(),
        ..Default::default()
    };
    let n = l2.nonce();
    l2.refuse_tx(
        "withdrawal of an unknown token",
        &signed(&sender, withdraw_tx(n, unknown, 1, recipient)),
        tx_refused(
            13,
            "unknown token 0x9999999999999999999999999999999999999999",
            "unknown_token",
        ),
    );
    l2.refuse_tx(
        "withdrawal to the zero L1 address",
        &signed(&sender, withdraw_tx(n, Address::ZERO, 1, Address::ZERO)),
        tx_refused(14, "invalid recipient", "invalid_recipient"),
    );
    l2.refuse_tx(
        "withdrawal of zero",
        &signed(&sender, withdraw_tx(n, Address::ZERO, 0, recipient)),
        tx_refused(15, "withdrawal amount is zero", "zero_amount"),
    );
    let mut tx = l2.eth_transfer(token, U256::ZERO);
    tx.input = transferCall {
        to: Address::ZERO,
        amount: U256::from(1u64),
    }
    .abi_encode()
    .into();
    tx.gas_limit = 40_000;
    l2.refuse_tx(
        "token transfer to the zero address",
        &signed(&sender, tx),
        tx_refused(14, "invalid recipient", "invalid_recipient"),
    );

    // --- Fees and gas.
    let mut tx = l2.eth_transfer(recipient, U256::from(5u64));
    tx.max_fee_per_gas = BASE_FEE - 1;
    l2.refuse_tx(
        "max fee one wei below the base fee",
        &signed(&sender, tx),
        tx_refused(
            7,
            "fee too low: max fee per gas 999999999 is below the base fee 1000000000",
            "fee_below_base_fee",
        ),
    );
    l2.refuse_tx(
        "legacy gas price below the base fee",
        &signed(
            &sender,
            TxLegacy {
                chain_id: Some(L2_CHAIN_ID),
                nonce: 1,
                gas_price: BASE_FEE / 2,
                gas_limit: 21_000,
                to: TxKind::Call(recipient),
                value: U256::from(7u64),
                ..Default::default()
            },
        ),
        tx_refused(7, "fee too low", "fee_below_base_fee"),
    );
    let mut tx = l2.eth_transfer(recipient, U256::from(5u64));
    tx.max_fee_per_gas = 2 * GWEI;
    tx.max_priority_fee_per_gas = 3 * GWEI;
    l2.refuse_tx(
        "priority fee above the max fee",
        &signed(&sender, tx),
        tx_refused(
            8,
            "max priority fee per gas 3000000000 is above max fee per gas 2000000000",
            "priority_above_max",
        ),
    );
    let mut tx = l2.eth_transfer(recipient, U256::from(5u64));
    tx.gas_limit = 20_999;
    l2.refuse_tx(
        "gas limit 20,999 for an ETH transfer",
        &signed(&sender, tx),
        tx_refused(
            9,
            "gas limit too low: 20999, the operation costs 21000",
            "gas_limit_too_low",
        ),
    );
    l2.refuse_tx(
        "gas limit 59,999 for a withdrawal",
        &signed(&sender, {
            let mut w = withdraw_tx(n, Address::ZERO, 1, recipient);
            w.gas_limit = 59_999;
            w
        }),
        tx_refused(9, "gas limit too low", "gas_limit_too_low"),
    );

    // --- Transaction types.
    l2.refuse_tx(
        "legacy without EIP-155",
        &signed(
            &sender,
            TxLegacy {
                chain_id: None,
                nonce: 1,
                gas_price: 2 * GWEI,
                gas_limit: 21_000,
                to: TxKind::Call(recipient),
                value: U256::from(7u64),
                ..Default::default()
            },
        ),
        tx_refused(
            2,
            "unsupported transaction type 0: legacy transaction without EIP-155",
            "unsupported_type",
        ),
    );
    let access_list = AccessList(vec![AccessListItem {
        address: recipient,
        storage_keys: vec![B256::ZERO],
    }]);
    let mut tx = l2.eth_transfer(recipient, U256::from(5u64));
    tx.access_list = access_list.clone();
    l2.refuse_tx(
        "EIP-1559 with an access list",
        &signed(&sender, tx),
        tx_refused(
            2,
            "unsupported transaction type 2: non-empty access list",
            "unsupported_type",
        ),
    );
    l2.refuse_tx(
        "EIP-2930",
        &signed(
            &sender,
            TxEip2930 {
                chain_id: L2_CHAIN_ID,
                nonce: 1,
                gas_price: 2 * GWEI,
                gas_limit: 21_000,
                to: TxKind::Call(recipient),
                value: U256::from(7u64),
                access_list: AccessList::default(),
                input: Bytes::new(),
            },
        ),
        tx_refused(2, "unsupported transaction type 1", "unsupported_type"),
    );
    l2.refuse_tx(
        "EIP-4844",
        &signed(
            &sender,
            TxEip4844 {
                chain_id: L2_CHAIN_ID,
                nonce: 1,
                gas_limit: 21_000,
                max_fee_per_gas: 2 * GWEI,
                max_priority_fee_per_gas: 0,
                to: recipient,
                value: U256::from(7u64),
                access_list: AccessList::default(),
                blob_versioned_hashes: vec![B256::with_last_byte(1)],
                max_fee_per_blob_gas: GWEI,
                input: Bytes::new(),
            },
        ),
        tx_refused(2, "unsupported transaction type 3", "unsupported_type"),
    );
    let auth = Authorization {
        chain_id: U256::from(L2_CHAIN_ID),
        address: recipient,
        nonce: 2,
    };
    let auth_sig = sender.sign_hash_sync(&auth.signature_hash()).unwrap();
    l2.refuse_tx(
        "EIP-7702",
        &signed(
            &sender,
            TxEip7702 {
                chain_id: L2_CHAIN_ID,
                nonce: 1,
                gas_limit: 100_000,
                max_fee_per_gas: 2 * GWEI,
                max_priority_fee_per_gas: 0,
                to: recipient,
                value: U256::from(7u64),
                access_list: AccessList::default(),
                authorization_list: vec![auth.into_signed(auth_sig)],
                input: Bytes::new(),
            },
        ),
        tx_refused(2, "unsupported transaction type 4", "unsupported_type"),
    );

    // --- Sizes. A transaction above 128 KiB (the body is still below 1 MiB).
    let mut tx = l2.eth_transfer(recipient, U256::ZERO);
    tx.input = vec![0xab; 131_072].into();
    tx.gas_limit = 10_000_000;
    l2.refuse_tx(
        "transaction above 128 KiB",
        &signed(&sender, tx),
        tx_refused(16, "is above the limit of 131072", "oversized"),
    );
    // A request body above 1 MiB: HTTP 413 with JSON-RPC -32007.
    let before = l2.snapshot();
    let big = json!({
        "jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction",
        "params": [hex(&vec![0xab; 600 * 1024])],
    })
    .to_string();
    assert!(big.len() > 1024 * 1024);
    let response = http_post(&url, &big).unwrap_or_else(|e| format!("transport error: {e}"));
    println!(
        "oversized body answer: {}",
        &response[..response.len().min(300)]
    );
    if !response.starts_with("HTTP/1.1 413") {
        l2.failures.push(format!(
            "body above 1 MiB: expected HTTP 413, got {:?}",
            &response[..response.len().min(300)]
        ));
    } else {
        let v: Value = serde_json::from_str(body_of(&response)).unwrap();
        l2.check(
            "body above 1 MiB",
            &v,
            &Refusal {
                code: -32007,
                message: "Request is too big",
                reason: None,
            },
        );
    }
    l2.unchanged("body above 1 MiB", &before);

    // --- A JSON-RPC batch of 10,000 garbage calls is refused as a whole.
    let before = l2.snapshot();
    let batch: Vec<Value> = (0..10_000)
        .map(|i| json!({"jsonrpc": "2.0", "id": i, "method": "garbage_garbage", "params": ["x"]}))
        .collect();
    let batch = Value::Array(batch).to_string();
    assert!(
        batch.len() < 1024 * 1024,
        "the body limit is not what refuses it"
    );
    let response = http_post(&url, &batch).expect("post");
    let v: Value = serde_json::from_str(body_of(&response))
        .unwrap_or_else(|e| panic!("{e}: {}", &response[..response.len().min(500)]));
    assert!(
        v.is_object(),
        "one error for the whole batch, not per call: {}",
        &response[..response.len().min(500)]
    );
    l2.check(
        "batch of 10,000 garbage calls",
        &v,
        &Refusal {
            code: -32010,
            message: "The batch request was too large",
            reason: None,
        },
    );
    assert_eq!(v["error"]["data"], "Exceeded max limit of 1000", "{v}");
    // A batch of 1,001 valid transactions of the sender is refused as a whole too: none executes.
    let template = l2.eth_transfer(recipient, U256::from(1u64));
    let txs: Vec<Value> = (0..1_001u64)
        .map(|i| {
            let mut tx = template.clone();
            tx.nonce += i;
            json!({"jsonrpc": "2.0", "id": i, "method": "eth_sendRawTransaction",
                   "params": [hex(&signed(&sender, tx).encoded_2718())]})
        })
        .collect();
    let response = http_post(&url, &Value::Array(txs).to_string()).expect("post");
    let v: Value = serde_json::from_str(body_of(&response)).unwrap();
    l2.check(
        "batch of 1,001 valid transactions",
        &v,
        &Refusal {
            code: -32010,
            message: "The batch request was too large",
            reason: None,
        },
    );
    l2.unchanged("refused JSON-RPC batches", &before);
    // ... while a small batch is served call by call.
    let response = http_post(
        &url,
        r#"[{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]},{"jsonrpc":"2.0","id":2,"method":"nope","params":[]}]"#,
    )
    .expect("post");
    let v: Value = serde_json::from_str(body_of(&response)).unwrap();
    let answers = v.as_array().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(answers.len(), 2, "{v}");
    assert!(answers.iter().any(|a| a["result"] == "0xa455"), "{v}");
    assert!(answers.iter().any(|a| a["error"]["code"] == -32601), "{v}");

    // --- Garbage on the socket: no JSON-RPC, and no harm.
    let before = l2.snapshot();
    let response = raw_request(&url, b"\x00\x01\x02garbage\r\n\r\n\xff\xfe\x16\x03\x01")
        .unwrap_or_else(|e| format!("transport error: {e}"));
    println!("garbage answer: {:?}", &response[..response.len().min(200)]);
    assert!(
        response.starts_with("HTTP/1.1 400 Bad Request"),
        "{response:?}"
    );
    let response = raw_request(
        &url,
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .expect("get");
    println!("GET answer: {:?}", &response[..response.len().min(200)]);
    assert!(!response.contains("\"result\""), "{response}");
    let response = http_post(&url, "{not json").expect("post");
    let v: Value = serde_json::from_str(body_of(&response)).unwrap();
    l2.check(
        "malformed JSON",
        &v,
        &Refusal {
            code: -32700,
            message: "Parse error",
            reason: None,
        },
    );
    l2.unchanged("garbage on the socket", &before);

    // --- Invalid params.
    for (what, method, params) in [
        (
            "eth_getBalance with a non-address",
            "eth_getBalance",
            json!(["not an address", "latest"]),
        ),
        (
            "eth_getBalance with a short address",
            "eth_getBalance",
            json!(["0x1234", "latest"]),
        ),
        ("eth_getBalance without params", "eth_getBalance", json!([])),
        (
            "eth_sendRawTransaction with non-hex",
            "eth_sendRawTransaction",
            json!(["0xzz"]),
        ),
        (
            "eth_sendRawTransaction without params",
            "eth_sendRawTransaction",
            json!([]),
        ),
        (
            "eth_sendRawTransaction with a number",
            "eth_sendRawTransaction",
            json!([12]),
        ),
    ] {
        l2.expect_refusal(
            what,
            method,
            params,
            &Refusal {
                code: -32602,
                message: "Invalid params",
                reason: None,
            },
        );
    }

    // Still serving, and no refused transaction is in any block; the sender's only transaction
    // is the first one.
    assert_eq!(ok(&url, "eth_chainId", json!([])), "0xa455");
    let head = u64_of(&ok(&url, "eth_blockNumber", json!([])));
    if head != baseline_head {
        l2.failures.push(format!(
            "refused input made {} new L2 block(s) in all ({baseline_head} -> {head})",
            head - baseline_head
        ));
    }
    for n in 1..=head {
        let block = ok(
            &url,
            "eth_getBlockByNumber",
            json!([format!("{n:#x}"), true]),
        );
        for tx in block["transactions"].as_array().unwrap() {
            let hash: B256 = serde_json::from_value(tx["hash"].clone()).unwrap();
            assert!(
                !l2.refused_hashes.contains(&hash),
                "refused {hash} is in block {n}"
            );
            if tx["from"] == json!(sender.address()) {
                assert_eq!(hash, *first.tx_hash(), "block {n}: {tx}");
            }
        }
    }
    assert_eq!(l2.nonce(), 1);
    // A valid transaction at the right nonce still goes through.
    let next = signed(&sender, l2.eth_transfer(recipient, U256::from(1u64)));
    let r = rpc(
        &url,
        "eth_sendRawTransaction",
        json!([hex(&next.encoded_2718())]),
    );
    assert_eq!(r["result"], json!(next.tx_hash()), "{r}");
    assert_eq!(l2.nonce(), 2);

    assert!(
        l2.failures.is_empty(),
        "{} finding(s):\n{}",
        l2.failures.len(),
        l2.failures.join("\n")
    );
}
