//! EIP-1559: each block's base fee follows from its parent's gas use.

use alloy::consensus::TxEip1559;
use alloy::eips::eip1559::{BaseFeeParams, calc_next_block_base_fee};
use alloy::primitives::{Address, Bytes, TxKind, U256};
use loft_l1_embedded::{ChainError, DevChain};

use crate::common::{self, interval_config};

const GAS_LIMIT: u64 = 3_000_000;

#[tokio::test]
async fn base_fee_follows_parent_gas_use() {
    // A small block gas limit keeps the blocks cheap to fill; the rule does not depend on its size.
    let mut config = interval_config();
    config.genesis.gas_limit = GAS_LIMIT;
    let chain = DevChain::open(config).unwrap();
    let burner = common::deploy_code(&chain, common::burner_init_code());
    let keys: Vec<_> = (0..3).map(|i| common::key(&chain, i)).collect();

    // Gas of each block, as calls to the burner (which use exactly their gas limit).
    let target = GAS_LIMIT / 2;
    let blocks: [&[u64]; 8] = [
        &[],                             // empty: falls by 1/8
        &[GAS_LIMIT],                    // full: rises by 1/8
        &[GAS_LIMIT / 2, GAS_LIMIT / 2], // full in two transactions
        &[target],                       // at the target: unchanged
        &[target + 300_000],             // above the target
        &[100_000, 200_000, 300_000],    // below the target
        &[target - 1],                   // just below
        &[],
    ];
    for calls in blocks {
        for (i, gas) in calls.iter().enumerate() {
            let tx = common::tx(
                &chain,
                &keys[i],
                TxKind::Call(burner),
                U256::ZERO,
                Bytes::new(),
                *gas,
            );
            chain.submit(tx).unwrap();
        }
        chain.mine(1).unwrap();
        let c = chain.lock();
        let (_, header) = c.header(c.block_number()).unwrap();
        assert_eq!(header.gas_used, calls.iter().sum::<u64>());
    }

    let c = chain.lock();
    let (_, genesis) = c.header(0).unwrap();
    assert_eq!(genesis.base_fee_per_gas, Some(1_000_000_000));
    let mut rose = 0;
    for n in 1..=c.block_number() {
        let (_, parent) = c.header(n - 1).unwrap();
        let (_, header) = c.header(n).unwrap();
        let (parent_fee, fee) = (
            parent.base_fee_per_gas.unwrap(),
            header.base_fee_per_gas.unwrap(),
        );
        assert_eq!(
            fee,
            calc_next_block_base_fee(
                parent.gas_used,
                parent.gas_limit,
                parent_fee,
                BaseFeeParams::ethereum()
            ),
            "block {n}"
        );
        // The direction the rule gives, checked independently of the formula.
        match parent.gas_used.cmp(&target) {
            std::cmp::Ordering::Greater => {
                assert!(fee > parent_fee, "block {n}");
                rose += 1;
            }
            std::cmp::Ordering::Equal => assert_eq!(fee, parent_fee, "block {n}"),
            std::cmp::Ordering::Less => assert!(fee < parent_fee, "block {n}"),
        }
        if parent.gas_used == GAS_LIMIT {
            assert_eq!(fee, parent_fee + parent_fee / 8, "block {n}");
        }
        if parent.gas_used == 0 {
            assert_eq!(fee, parent_fee - parent_fee / 8, "block {n}");
        }
    }
    assert_eq!(rose, 3);
    let (_, last) = c.header(c.block_number()).unwrap();
    assert_eq!(
        c.next_base_fee(),
        calc_next_block_base_fee(
            last.gas_used,
            last.gas_limit,
            last.base_fee_per_gas.unwrap(),
            BaseFeeParams::ethereum()
        )
    );
}

/// Refused whether it would be mined at once or queued, and nothing changes.
#[tokio::test]
async fn fee_cap_below_next_base_fee_is_refused() {
    let automine = common::open();
    let interval = DevChain::open(interval_config()).unwrap();
    for chain in [&automine, &interval] {
        let key = common::key(chain, 0);
        // Make the next base fee differ from the genesis one first.
        chain
            .submit(common::transfer(
                chain,
                &key,
                Address::repeat_byte(1),
                U256::from(1),
            ))
            .unwrap();
        chain.mine(1).unwrap();
        let next = chain.lock().next_base_fee() as u128;
        let number = chain.lock().block_number();
        let balance = common::balance(chain, key.address());
        let nonce = common::nonce(chain, key.address());
        let tx = common::sign(
            &key,
            TxEip1559 {
                chain_id: chain.chain_id(),
                nonce,
                gas_limit: 21_000,
                max_fee_per_gas: next - 1,
                max_priority_fee_per_gas: 0,
                to: TxKind::Call(Address::repeat_byte(2)),
                value: U256::from(1),
                ..Default::default()
            },
        );
        let err = chain.send_raw(&common::raw(&tx)).unwrap_err();
        assert!(
            matches!(&err, ChainError::InvalidTransaction(msg) if msg.contains("base fee") || msg.contains("basefee")),
            "automine {}: {err}",
            chain.automine()
        );
        assert_eq!(err.rpc_code(), -32000);
        let c = chain.lock();
        assert_eq!(c.block_number(), number);
        assert_eq!(c.pending_count(), 0);
        assert!(c.receipt(*tx.tx_hash()).is_none());
        drop(c);
        assert_eq!(common::balance(chain, key.address()), balance);
        assert_eq!(common::nonce(chain, key.address()), nonce);

        // At exactly the base fee it is accepted.
        let at_base = common::sign(
            &key,
            TxEip1559 {
                max_fee_per_gas: next,
                ..tx.inner().as_eip1559().unwrap().tx().clone()
            },
        );
        chain.submit(at_base).unwrap();
    }
}
