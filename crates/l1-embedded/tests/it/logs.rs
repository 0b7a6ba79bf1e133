//! `eth_getLogs`: every filter returns exactly the matching logs, with their positions.

use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::{SolCall, SolEvent};
use loft_contracts::{DevToken, L1Bridge};
use loft_l1_embedded::{ChainError, DevChain};

use crate::common;

/// Queues calls (dev key, contract or account, value, input) and mines them in one block.
fn block(chain: &DevChain, calls: &[(usize, Address, u64, Vec<u8>)]) -> u64 {
    for (from, to, value, input) in calls {
        let key = common::key(chain, *from);
        let tx = common::tx(
            chain,
            &key,
            TxKind::Call(*to),
            U256::from(*value),
            Bytes::from(input.clone()),
            300_000,
        );
        chain.lock().submit(tx, false).unwrap();
    }
    chain.mine(1).unwrap();
    let c = chain.lock();
    let number = c.block_number();
    for hash in c.rpc_block(number, false).unwrap().transactions.hashes() {
        assert!(c.receipt(hash).unwrap().status());
    }
    number
}

/// All logs of the chain, from the receipts, with their positions checked against the receipts.
fn all_logs(chain: &DevChain) -> Vec<Log> {
    let c = chain.lock();
    let mut out = Vec::new();
    for n in 0..=c.block_number() {
        let block = c.rpc_block(n, false).unwrap();
        let mut log_index = 0;
        for (i, hash) in block.transactions.hashes().enumerate() {
            let receipt = c.receipt(hash).unwrap();
            assert_eq!(receipt.transaction_index, Some(i as u64));
            for log in receipt.inner.logs() {
                assert_eq!(log.block_number, Some(n));
                assert_eq!(log.block_hash, Some(block.header.hash));
                assert_eq!(log.block_timestamp, Some(block.header.timestamp));
                assert_eq!(log.transaction_hash, Some(hash));
                assert_eq!(log.transaction_index, Some(i as u64));
                assert_eq!(
                    log.log_index,
                    Some(log_index),
                    "log indexes count within the block"
                );
                assert!(!log.removed);
                log_index += 1;
                out.push(log.clone());
            }
        }
    }
    out
}

fn topic(address: Address) -> B256 {
    address.into_word()
}

#[tokio::test]
async fn filters_return_exactly_the_matching_logs() {
    let chain = common::open();
    let deployment = common::deploy_contracts(&chain, true).await;
    let (bridge, token) = (deployment.bridge, deployment.dev_token.unwrap());
    let k2 = common::key(&chain, 2).address();
    let deposit_eth = |to: u8| {
        L1Bridge::depositETHCall {
            l2Recipient: Address::repeat_byte(to),
        }
        .abi_encode()
    };

    // Block x: a deposit, a mint, a plain transfer into the bridge (a deposit too), a transfer
    // without logs.
    let x = block(
        &chain,
        &[
            (1, bridge, 1, deposit_eth(0xa1)),
            (
                0,
                token,
                0,
                DevToken::mintCall {
                    to: k2,
                    amount: U256::from(100),
                }
                .abi_encode(),
            ),
            (2, bridge, 2, vec![]),
            (3, Address::repeat_byte(0xee), 3, vec![]),
        ],
    );
    // Block y: an approval, a deposit, and an ERC-20 deposit that logs from two contracts.
    let y = block(
        &chain,
        &[
            (
                2,
                token,
                0,
                DevToken::approveCall {
                    spender: bridge,
                    value: U256::from(50),
                }
                .abi_encode(),
            ),
            (1, bridge, 4, deposit_eth(0xa2)),
            (
                2,
                bridge,
                0,
                L1Bridge::depositERC20Call {
                    token,
                    l2Recipient: Address::repeat_byte(0xa3),
                    amount: U256::from(50),
                }
                .abi_encode(),
            ),
        ],
    );
    // An empty block after them.
    chain.mine(1).unwrap();
    let head = chain.lock().block_number();
    assert_eq!((y, head), (x + 1, x + 2));

    let logs = all_logs(&chain);
    let queued = L1Bridge::MessageQueued::SIGNATURE_HASH;
    let transfer = DevToken::Transfer::SIGNATURE_HASH;
    let approval = DevToken::Approval::SIGNATURE_HASH;
    let y_hash = chain.lock().header(y).unwrap().0;
    let index = |i: u64| B256::from(U256::from(i));
    let select = |pred: &dyn Fn(&Log) -> bool| -> Vec<Log> {
        logs.iter().filter(|l| pred(l)).cloned().collect()
    };
    let topics = |l: &Log, i: usize| l.topics().get(i).copied();

    let cases: Vec<(&str, Filter, Vec<Log>)> = vec![
        (
            "bridge address",
            Filter::new().address(bridge).from_block(0),
            select(&|l| l.address() == bridge),
        ),
        (
            "token address",
            Filter::new().address(token).from_block(0),
            select(&|l| l.address() == token),
        ),
        (
            "either address",
            Filter::new().address(vec![bridge, token]).from_block(0),
            select(&|l| l.address() == bridge || l.address() == token),
        ),
        (
            "topic0 MessageQueued",
            Filter::new().event_signature(queued).from_block(0),
            select(&|l| topics(l, 0) == Some(queued)),
        ),
        (
            "topic0 Transfer or Approval",
            Filter::new()
                .event_signature(vec![transfer, approval])
                .from_block(0),
            select(&|l| l.address() == token),
        ),
        (
            "topic1 = 1: queue index 1 only",
            Filter::new().topic1(index(1)).from_block(0),
            select(&|l| topics(l, 0) == Some(queued) && topics(l, 1) == Some(index(1))),
        ),
        (
            // Queue index 0 and the mint's zero `from` have the same topic.
            "topic1 = 0: index 0 and the mint",
            Filter::new().topic1(B256::ZERO).from_block(0),
            select(&|l| topics(l, 1) == Some(B256::ZERO)),
        ),
        (
            "topic3 = sender k2",
            Filter::new().topic3(topic(k2)).from_block(0),
            select(&|l| topics(l, 3) == Some(topic(k2))),
        ),
        (
            "block x only",
            Filter::new().from_block(x).to_block(x),
            select(&|l| l.block_number == Some(x)),
        ),
        (
            "from y to the head",
            Filter::new().from_block(y),
            select(&|l| l.block_number >= Some(y)),
        ),
        (
            "before x",
            Filter::new().from_block(0).to_block(x - 1),
            select(&|l| l.block_number < Some(x)),
        ),
        (
            "block hash of y",
            Filter::new().at_block_hash(y_hash),
            select(&|l| l.block_number == Some(y)),
        ),
        (
            "bridge, sender k2, block y",
            Filter::new()
                .address(bridge)
                .topic3(topic(k2))
                .at_block_hash(y_hash),
            select(&|l| {
                l.address() == bridge
                    && topics(l, 3) == Some(topic(k2))
                    && l.block_number == Some(y)
            }),
        ),
        ("no filter: the latest block only", Filter::new(), vec![]),
        (
            "beyond the head",
            Filter::new().from_block(head + 1).to_block(head + 10),
            vec![],
        ),
    ];
    // The cases are not vacuous: the ground truth has the logs they pick out.
    // Four deposits and the token's registration before its first deposit.
    assert_eq!(select(&|l| topics(l, 0) == Some(queued)).len(), 5);
    assert_eq!(select(&|l| l.address() == token).len(), 3);
    assert_eq!(select(&|l| topics(l, 1) == Some(B256::ZERO)).len(), 2);
    assert_eq!(select(&|l| topics(l, 3) == Some(topic(k2))).len(), 3);
    assert_eq!(select(&|l| l.block_number == Some(y)).len(), 5);

    for (name, filter, expected) in cases {
        let got = chain.lock().logs(&filter).unwrap();
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn bad_ranges_are_refused() {
    let chain = common::open();
    chain.mine(3).unwrap();
    let err = chain
        .lock()
        .logs(&Filter::new().from_block(3).to_block(2))
        .unwrap_err();
    assert!(matches!(err, ChainError::InvalidParams(_)), "{err}");
    assert_eq!(err.rpc_code(), -32602);
    let err = chain
        .lock()
        .logs(&Filter::new().at_block_hash(B256::repeat_byte(1)))
        .unwrap_err();
    assert!(matches!(err, ChainError::UnknownBlock(_)), "{err}");
}
