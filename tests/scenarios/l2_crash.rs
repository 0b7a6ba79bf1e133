//! `kill -9` of a real `loft devnet --data-dir` in the middle of a stream of L2 transactions: every
//! transaction the node acknowledged survives the restart, lands in exactly one block and one L1
//! batch, and the batches on L1 and in the node agree.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, TxKind, U256};
use alloy::signers::local::PrivateKeySigner;
use loft_contracts::{L1Rollup, read_batches, rollup_call};
use loft_e2e::{Devnet, cast, dev_key, http_post, loft_bin, wait_until};
use loft_l1::L1Client;
use loft_l1_rpc::{RpcL1, RpcL1Config};
use serde_json::{Value, json};

const L2_CHAIN_ID: u64 = 42069;
const SENDERS: u32 = 4;
/// At most this many transactions per sender: the kill comes long before.
const PER_SENDER: u64 = 1_000;
/// Pause between a sender's transactions, so that the stream spans several L2 blocks and batches.
const PACE: Duration = Duration::from_millis(20);
/// The devnet is killed once this many transactions are acknowledged and an L1 batch holds some.
const KILL_AFTER: usize = 150;

fn body_of(response: &str) -> Option<&str> {
    response.find("\r\n\r\n").map(|i| &response[i + 4..])
}

fn rpc(url: &str, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let response = http_post(url, &body).expect("post");
    serde_json::from_str(body_of(&response).expect("http body"))
        .unwrap_or_else(|e| panic!("{e}: {response}"))
}

fn ok(url: &str, method: &str, params: Value) -> Value {
    let v = rpc(url, method, params.clone());
    assert!(v.get("error").is_none(), "{method} {params} failed: {v}");
    v["result"].clone()
}

fn u64_of(v: &Value) -> u64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a quantity: {v}"));
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or_else(|e| panic!("{e}: {v}"))
}

fn transfer(key: &PrivateKeySigner, nonce: u64, to: Address) -> TxEnvelope {
    let mut tx = TxEip1559 {
        chain_id: L2_CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 0,
        to: TxKind::Call(to),
        value: U256::from(1_000 + nonce),
        ..Default::default()
    };
    let sig = key.sign_transaction_sync(&mut tx).expect("sign");
    TxEnvelope::from(tx.into_signed(sig))
}

/// What one sender saw before the kill.
#[derive(Debug, Default)]
struct Stream {
    /// Hashes the node acknowledged, in nonce order (nonces 0..len).
    acked: Vec<B256>,
    /// How the stream stopped: the first request without an acknowledgement.
    stopped: Option<String>,
    /// JSON-RPC errors (refusals) before the kill: there must be none.
    refusals: Vec<String>,
}

fn stream(url: &str, key: &PrivateKeySigner, to: Address, acked_total: &AtomicUsize) -> Stream {
    let mut out = Stream::default();
    for nonce in 0..PER_SENDER {
        let tx = transfer(key, nonce, to);
        let body = json!({
            "jsonrpc": "2.0", "id": nonce, "method": "eth_sendRawTransaction",
            "params": [format!("0x{}", alloy::hex::encode(tx.encoded_2718()))],
        })
        .to_string();
        let response = match http_post(url, &body) {
            Ok(r) => r,
            Err(e) => {
                out.stopped = Some(format!("nonce {nonce}: transport error {e}"));
                break;
            }
        };
        let parsed: Option<Value> = body_of(&response).and_then(|b| serde_json::from_str(b).ok());
        match parsed {
            Some(v) if v["result"] == json!(tx.tx_hash()) => {
                out.acked.push(*tx.tx_hash());
                acked_total.fetch_add(1, Ordering::SeqCst);
                std::thread::sleep(PACE);
            }
            Some(v) if v.get("error").is_some() => {
                out.refusals.push(format!("nonce {nonce}: {v}"));
                out.stopped = Some(format!("nonce {nonce}: refused"));
                break;
            }
            _ => {
                out.stopped = Some(format!("nonce {nonce}: no answer ({response:?})"));
                break;
            }
        }
    }
    out
}

#[test]
fn acknowledged_l2_transactions_survive_kill_9_and_are_batched_once() {
    let loft = loft_bin!();
    let data = tempfile::tempdir().expect("tempdir");
    let mut devnet = Devnet::start_in(&loft, data.path(), &["--no-demo"]);
    let first_l2_url = devnet.l2_url.clone();
    let deployment = devnet.deployment.clone();

    // Dev account 0 deploys and posts batches on L1; the senders are 1..=SENDERS.
    let senders: Vec<PrivateKeySigner> = (1..=SENDERS).map(dev_key).collect();
    for key in &senders {
        cast(&[
            "send",
            "--rpc-url",
            &devnet.url,
            "--private-key",
            &format!("0x{}", alloy::hex::encode(key.to_bytes())),
            &deployment.bridge.to_string(),
            "depositETH(address)",
            &key.address().to_string(),
            "--value",
            "10ether",
        ]);
    }
    for key in &senders {
        wait_until(Duration::from_secs(60), "the deposits on L2", || {
            let b = ok(
                &first_l2_url,
                "eth_getBalance",
                json!([key.address(), "latest"]),
            );
            (b != "0x0").then_some(())
        });
    }

    // The stream: each sender sends its nonces in order, one request at a time, and stops at the
    // first request that gets no acknowledgement.
    let acked_total = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = senders
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let (url, key, acked_total) = (first_l2_url.clone(), key.clone(), acked_total.clone());
            let to = Address::repeat_byte(0x10 + i as u8);
            std::thread::spawn(move || stream(&url, &key, to, &acked_total))
        })
        .collect();
    let deposits_head = u64_of(&ok(&first_l2_url, "eth_blockNumber", json!([])));
    wait_until(
        Duration::from_secs(300),
        "acknowledgements and a batch of them before the kill",
        || {
            if acked_total.load(Ordering::SeqCst) < KILL_AFTER {
                return None;
            }
            let last = rpc(&first_l2_url, "loft_getBatch", json!([]));
            (last["result"]["last_block"].as_u64()? > deposits_head).then_some(())
        },
    );
    devnet.kill_9();
    let at_kill = acked_total.load(Ordering::SeqCst);
    let streams: Vec<Stream> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let acked: usize = streams.iter().map(|s| s.acked.len()).sum();
    println!(
        "kill -9 after {at_kill} acknowledgements; {acked} acknowledged in all ({} senders)",
        SENDERS
    );
    for (key, s) in senders.iter().zip(&streams) {
        println!(
            "  {}: {} acknowledged, stopped: {}",
            key.address(),
            s.acked.len(),
            s.stopped.as_deref().unwrap_or("finished")
        );
        assert!(
            s.refusals.is_empty(),
            "the node refused a valid transaction: {:?}",
            s.refusals
        );
    }
    assert!(
        acked < SENDERS as usize * PER_SENDER as usize,
        "the kill came after the stream ended: not a crash in the middle"
    );
    drop(devnet);

    // Restart on the same data.
    let devnet = Devnet::start_in(&loft, data.path(), &["--no-demo"]);
    assert_eq!(
        devnet.deployment.rollup, deployment.rollup,
        "the restarted devnet keeps its contracts"
    );
    let url = devnet.l2_url.clone();

    // Every acknowledged transaction has a successful receipt from its sender.
    for (key, s) in senders.iter().zip(&streams) {
        for hash in &s.acked {
            let receipt = wait_until(
                Duration::from_secs(60),
                "receipts of acknowledged transactions",
                || {
                    let r = ok(&url, "eth_getTransactionReceipt", json!([hash]));
                    (!r.is_null()).then_some(r)
                },
            );
            assert_eq!(receipt["status"], "0x1", "{receipt}");
            assert_eq!(receipt["from"], json!(key.address()), "{receipt}");
        }
    }

    // ... and all of them reach an L1 batch.
    let all_acked: Vec<B256> = streams.iter().flat_map(|s| s.acked.clone()).collect();
    wait_until(
        Duration::from_secs(180),
        "every acknowledged transaction in an L1 batch",
        || {
            all_acked
                .iter()
                .all(|h| {
                    let s = ok(&url, "loft_transactionStatus", json!([h]));
                    matches!(s["status"].as_str(), Some("batched" | "final"))
                })
                .then_some(())
        },
    );

    // Nothing more is sent: wait until the batches cover the head on L1 and in the node.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let l1 = rt
        .block_on(RpcL1::connect(
            RpcL1Config::new(&devnet.url),
            PrivateKeySigner::random(),
        ))
        .expect("connect to L1");
    let (head, last_batch) = wait_until(
        Duration::from_secs(120),
        "the last L2 block in a batch, on L1 and in the node",
        || {
            let head = u64_of(&ok(&url, "eth_blockNumber", json!([])));
            let last = ok(&url, "loft_getBatch", json!([]));
            let l1_last = rt
                .block_on(rollup_call(
                    &l1,
                    deployment.rollup,
                    L1Rollup::lastBlockCall {},
                ))
                .ok()?;
            (last["last_block"] == head && l1_last == head).then_some((head, last))
        },
    );
    let count = last_batch["index"].as_u64().expect("index") + 1;
    let l1_count = rt
        .block_on(rollup_call(
            &l1,
            deployment.rollup,
            L1Rollup::batchCountCall {},
        ))
        .unwrap();
    assert_eq!(l1_count, count, "L1 and the node count the same batches");

    // Batches are contiguous and never overlap, in the node and on L1 alike.
    let l1_head = rt.block_on(l1.block_number()).unwrap();
    let posted = rt
        .block_on(read_batches(&l1, deployment.rollup, 0, l1_head))
        .unwrap();
    assert_eq!(posted.len() as u64, count, "one BatchSubmitted per batch");
    let mut next_block = 1u64;
    for i in 0..count {
        let b = ok(&url, "loft_getBatch", json!([i]));
        let (first, last) = (
            b["first_block"].as_u64().unwrap(),
            b["last_block"].as_u64().unwrap(),
        );
        assert_eq!(b["index"], i, "{b}");
        assert_eq!(
            first, next_block,
            "batch {i} starts right after the previous: {b}"
        );
        assert!(first <= last, "{b}");
        let on_l1 = &posted[i as usize].header;
        assert_eq!(
            (on_l1.index, on_l1.first_block, on_l1.last_block),
            (i, first, last),
            "batch {i} on L1"
        );
        assert_eq!(b["state_root"], json!(on_l1.state_root), "batch {i}");
        let block = ok(
            &url,
            "eth_getBlockByNumber",
            json!([format!("{last:#x}"), false]),
        );
        assert_eq!(
            block["stateRoot"],
            json!(on_l1.state_root),
            "batch {i} claims the state root of its last block"
        );
        next_block = last + 1;
    }
    assert_eq!(next_block, head + 1);
    println!("{count} batches cover L2 blocks 1..={head}");

    // Every hash once in the blocks; each sender's transactions are its nonces 0..n in order.
    let mut seen = HashSet::new();
    let mut by_sender: BTreeMap<Address, Vec<u64>> = BTreeMap::new();
    for n in 1..=head {
        let block = ok(
            &url,
            "eth_getBlockByNumber",
            json!([format!("{n:#x}"), true]),
        );
        for tx in block["transactions"].as_array().unwrap() {
            let hash: B256 = serde_json::from_value(tx["hash"].clone()).unwrap();
            assert!(
                seen.insert(hash),
                "{hash} appears twice (again in block {n})"
            );
            let from: Address = serde_json::from_value(tx["from"].clone()).unwrap();
            by_sender
                .entry(from)
                .or_default()
                .push(u64_of(&tx["nonce"]));
        }
    }
    for h in &all_acked {
        assert!(seen.contains(h), "acknowledged {h} is in no block");
    }
    let mut landed = 0usize;
    for (key, s) in senders.iter().zip(&streams) {
        let nonces = by_sender.remove(&key.address()).unwrap_or_default();
        let n = nonces.len() as u64;
        assert_eq!(
            nonces,
            (0..n).collect::<Vec<_>>(),
            "{}: nonces in block order",
            key.address()
        );
        let nonce = u64_of(&ok(
            &url,
            "eth_getTransactionCount",
            json!([key.address(), "latest"]),
        ));
        assert_eq!(
            nonce,
            n,
            "{}: state nonce = transactions in blocks",
            key.address()
        );
        assert!(
            nonce >= s.acked.len() as u64,
            "{}: nonce {nonce} < {} acknowledged",
            key.address(),
            s.acked.len()
        );
        landed += n as usize;
    }
    assert!(by_sender.is_empty(), "unexpected senders: {by_sender:?}");
    println!(
        "{acked} acknowledged before the kill, {landed} in blocks after the restart ({} unacknowledged landed)",
        landed - acked
    );

    // The restarted node goes on: each sender's next nonce is accepted and executed.
    for key in &senders {
        let nonce = u64_of(&ok(
            &url,
            "eth_getTransactionCount",
            json!([key.address(), "latest"]),
        ));
        let tx = transfer(key, nonce, Address::repeat_byte(0x77));
        let hash = ok(
            &url,
            "eth_sendRawTransaction",
            json!([format!("0x{}", alloy::hex::encode(tx.encoded_2718()))]),
        );
        assert_eq!(hash, json!(tx.tx_hash()));
        let receipt = wait_until(
            Duration::from_secs(60),
            "a receipt after the restart",
            || {
                let r = ok(&url, "eth_getTransactionReceipt", json!([hash]));
                (!r.is_null()).then_some(r)
            },
        );
        assert_eq!(receipt["status"], "0x1", "{receipt}");
    }
}
