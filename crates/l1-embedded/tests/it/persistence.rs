//! A chain with a data directory is the same chain after a restart, and refuses another chain's
//! directory.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::sol_types::SolCall;
use loft_contracts::{DeployOptions, L1Bridge, deploy};
use loft_l1::L1Client;
use loft_l1_embedded::{ChainError, DevChain, EmbeddedL1, StateAt};
use serde_json::Value;

use crate::common::{self, config};

/// Everything a client can read about the chain, as JSON so it can be compared whole.
fn snapshot(chain: &DevChain, accounts: &[Address], slots: &[(Address, U256)]) -> Value {
    let c = chain.lock();
    let head = c.block_number();
    let blocks: Vec<_> = (0..=head).map(|n| c.rpc_block(n, true).unwrap()).collect();
    let receipts: Vec<_> = blocks
        .iter()
        .flat_map(|b| b.transactions.hashes().collect::<Vec<_>>())
        .map(|h| c.receipt(h).expect("every mined transaction has a receipt"))
        .collect();
    let logs = c.logs(&Filter::new().from_block(0).to_block(head)).unwrap();
    let state: Vec<_> = accounts
        .iter()
        .map(|a| {
            (
                *a,
                c.balance(*a, StateAt::Latest).unwrap(),
                c.nonce(*a, StateAt::Latest).unwrap(),
                c.code(*a, StateAt::Latest).unwrap(),
            )
        })
        .collect();
    let storage: Vec<_> = slots
        .iter()
        .map(|(a, s)| c.storage(*a, *s, StateAt::Latest).unwrap())
        .collect();
    serde_json::json!({
        "head": head,
        "blocks": blocks,
        "receipts": receipts,
        "logs": logs,
        "state": state,
        "storage": storage,
        "next_base_fee": c.next_base_fee(),
    })
}

#[tokio::test]
async fn reopened_chain_is_the_same_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = Some(dir.path().to_path_buf());
    let chain = DevChain::open(config(path.clone())).unwrap();
    let key = common::key(&chain, 0);
    let depositor = common::key(&chain, 1);
    let l1 = EmbeddedL1::new(chain.clone(), key.clone());

    // A transfer, two contract deployments, an ETH deposit and a plain transfer into the bridge.
    let recipient = Address::repeat_byte(0x42);
    l1.send_transaction(
        TransactionRequest::default()
            .with_to(recipient)
            .with_value(U256::from(12_345u64)),
    )
    .await
    .unwrap();
    let deployment = deploy(
        &l1,
        DeployOptions {
            dev_token: true,
            ..DeployOptions::default()
        },
    )
    .await
    .unwrap();
    let bridge = deployment.bridge;
    let token = deployment.dev_token.unwrap();
    let depositor_l1 = EmbeddedL1::new(chain.clone(), depositor.clone());
    let deposit = depositor_l1
        .send_transaction(
            TransactionRequest::default()
                .with_to(bridge)
                .with_value(U256::from(10u64).pow(U256::from(18)))
                .with_input(
                    L1Bridge::depositETHCall {
                        l2Recipient: recipient,
                    }
                    .abi_encode(),
                ),
        )
        .await
        .unwrap();
    assert!(deposit.status());
    assert_eq!(deposit.inner.logs().len(), 1);
    let receive = depositor_l1
        .send_transaction(
            TransactionRequest::default()
                .with_to(bridge)
                .with_value(U256::from(7u64)),
        )
        .await
        .unwrap();
    assert!(receive.status());
    // A block without transactions in the log too.
    chain.mine(1).unwrap();

    let accounts = [key.address(), depositor.address(), recipient, bridge, token];
    // The queue's array: its length in slot 0 and its elements from keccak256(0).
    let first = U256::from_be_bytes(keccak256(B256::ZERO).0);
    let slots = [
        (bridge, U256::ZERO),
        (bridge, first),
        (bridge, first + U256::from(1)),
        (bridge, first + U256::from(2)),
    ];
    let before = snapshot(&chain, &accounts, &slots);
    assert_eq!(before["head"], 6);
    assert_eq!(
        chain
            .lock()
            .storage(bridge, U256::ZERO, StateAt::Latest)
            .unwrap(),
        B256::from(U256::from(2)),
        "the queue holds the two deposits"
    );
    drop((l1, depositor_l1, chain));

    // The same configuration derived anew has another genesis time; the stored chain keeps its own.
    let mut again = config(path);
    again.genesis.timestamp += 1_000;
    let reopened = DevChain::open(again).unwrap();
    assert_eq!(snapshot(&reopened, &accounts, &slots), before);

    // And it goes on from there: the next block's parent is the last stored block.
    let parent = reopened.lock().header(6).unwrap().0;
    let next = common::transfer(&reopened, &key, recipient, U256::from(1));
    reopened.submit(next).unwrap();
    assert_eq!(reopened.lock().header(7).unwrap().1.parent_hash, parent);
    assert_eq!(common::balance(&reopened, recipient), U256::from(12_346u64));
}

#[test]
fn another_chain_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = Some(dir.path().to_path_buf());
    let chain = DevChain::open(config(path.clone())).unwrap();
    let key = common::key(&chain, 0);
    chain
        .submit(common::transfer(
            &chain,
            &key,
            Address::repeat_byte(1),
            U256::from(1),
        ))
        .unwrap();
    drop(chain);

    let mut other_id = config(path.clone());
    other_id.genesis.chain_id += 1;
    let mut fewer_accounts = config(path.clone());
    fewer_accounts.genesis.alloc.truncate(3);
    let mut other_gas_limit = config(path.clone());
    other_gas_limit.genesis.gas_limit -= 1;
    for other in [other_id, fewer_accounts, other_gas_limit] {
        match DevChain::open(other) {
            Err(ChainError::Storage(msg)) => {
                assert!(
                    msg.contains("holds another chain")
                        && msg.contains("chain id 31337")
                        && msg.contains("10 prefunded accounts"),
                    "unclear message: {msg}"
                );
            }
            Err(e) => panic!("expected a storage error, got {e}"),
            Ok(_) => panic!("another chain's data directory was accepted"),
        }
    }

    // The refusals left the directory as it was.
    let reopened = DevChain::open(config(path)).unwrap();
    assert_eq!(reopened.lock().block_number(), 1);
    assert_eq!(common::nonce(&reopened, key.address()), 1);
}

#[test]
fn clock_offset_survives_a_restart() {
    const OFFSET: u64 = 10 * 365 * 24 * 3600;
    let dir = tempfile::tempdir().unwrap();
    let path = Some(dir.path().to_path_buf());
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let chain = DevChain::open(config(path.clone())).unwrap();
    // Without a block after it: the offset alone must be stored.
    chain.lock().advance_time(OFFSET).unwrap();
    drop(chain);

    let reopened = DevChain::open(config(path)).unwrap();
    assert!(reopened.lock().next_timestamp() >= wall + OFFSET);
    reopened.mine(1).unwrap();
    let block = {
        let c = reopened.lock();
        c.rpc_block(c.block_number(), false).unwrap()
    };
    assert_eq!(block.header.number, 1);
    assert!(block.header.timestamp >= wall + OFFSET);
}

#[test]
fn tampered_block_log_is_refused() {
    const BLOCKS: redb::TableDefinition<'_, u64, &[u8]> = redb::TableDefinition::new("blocks");
    let dir = tempfile::tempdir().unwrap();
    let path = Some(dir.path().to_path_buf());
    let chain = DevChain::open(config(path.clone())).unwrap();
    let key = common::key(&chain, 0);
    for value in [1u64, 2] {
        chain
            .submit(common::transfer(
                &chain,
                &key,
                Address::repeat_byte(1),
                U256::from(value),
            ))
            .unwrap();
    }
    drop(chain);

    // Move block 1 by a second: it no longer hashes to what was stored.
    let db = redb::Database::open(dir.path().join(loft_l1_embedded::store::DB_FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    {
        use redb::ReadableTable;
        let mut table = txn.open_table(BLOCKS).unwrap();
        let mut block: Value =
            serde_json::from_slice(table.get(1).unwrap().unwrap().value()).unwrap();
        block["timestamp"] = (block["timestamp"].as_u64().unwrap() + 1).into();
        table
            .insert(1, serde_json::to_vec(&block).unwrap().as_slice())
            .unwrap();
    }
    txn.commit().unwrap();
    drop(db);

    match DevChain::open(config(path)) {
        Err(ChainError::Storage(msg)) => assert!(
            msg.contains("stored block 1 does not re-execute"),
            "unclear message: {msg}"
        ),
        Err(e) => panic!("expected a storage error, got {e}"),
        Ok(_) => panic!("a tampered block log was served"),
    }
}
