//! Interval mining: transactions wait in the pending pool until a block is mined.

use std::time::Duration;

use alloy::consensus::transaction::Recovered;
use alloy::consensus::{SignableTransaction, Transaction as _, TxEip1559, TxEip7702, TxEnvelope};
use alloy::eips::eip7702::Authorization;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, Bytes, TxKind, U256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use loft_l1_embedded::{ChainError, DEFAULT_PRIORITY_FEE, DevChain};

use crate::common::{self, interval_config};

#[tokio::test]
async fn pending_transactions_are_mined_together_in_order() {
    let chain = DevChain::open(interval_config()).unwrap();
    assert!(!chain.automine());
    let (a, b) = (common::key(&chain, 0), common::key(&chain, 1));
    let to = Address::repeat_byte(0x77);

    // (sender, to, value, input, gas): transfers, a creation, a call with calldata.
    let creation = common::burner_init_code();
    let plan: [(&PrivateKeySigner, TxKind, u64, &[u8], u64); 5] = [
        (&a, TxKind::Call(to), 1, &[], 21_000),
        (&b, TxKind::Create, 0, &creation, 100_000),
        (&a, TxKind::Call(to), 2, &[], 21_000),
        (&b, TxKind::Call(to), 3, &[1, 0, 2, 0, 3], 30_000),
        (&a, TxKind::Call(to), 4, &[], 21_000),
    ];
    let mut txs = Vec::new();
    for (i, (key, kind, value, input, gas)) in plan.into_iter().enumerate() {
        let tx = common::tx(
            &chain,
            key,
            kind,
            U256::from(value),
            Bytes::copy_from_slice(input),
            gas,
        );
        // Every second one as raw bytes, the way eth_sendRawTransaction delivers it.
        let hash = if i % 2 == 0 {
            chain.send_raw(&common::raw(&tx)).unwrap()
        } else {
            chain.submit(tx.clone()).unwrap()
        };
        assert_eq!(hash, *tx.tx_hash());
        assert_eq!(chain.lock().pending_count(), i + 1);
        txs.push(tx);
    }
    assert_eq!(chain.lock().block_number(), 0);
    assert_eq!(chain.lock().pending_nonce(a.address()), 3);
    assert_eq!(chain.lock().pending_nonce(b.address()), 2);
    assert_eq!(common::nonce(&chain, a.address()), 0);
    assert!(chain.lock().receipt(*txs[0].tx_hash()).is_none());
    assert!(
        chain
            .lock()
            .pending_transaction(*txs[1].tx_hash())
            .is_some()
    );

    // A gap, a duplicate and a used nonce are refused and leave the pool as it was.
    let gap = common::sign(
        &a,
        TxEip1559 {
            nonce: 4,
            ..txs[4].inner().as_eip1559().unwrap().tx().clone()
        },
    );
    assert!(matches!(
        chain.submit(gap),
        Err(ChainError::NonceTooHigh {
            got: 4,
            expected: 3
        })
    ));
    let hash0 = *txs[0].tx_hash();
    assert!(matches!(
        chain.send_raw(&common::raw(&txs[0])),
        Err(ChainError::AlreadyKnown(h)) if h == hash0
    ));
    let reused = common::sign(
        &a,
        TxEip1559 {
            nonce: 1,
            value: U256::from(99),
            ..txs[0].inner().as_eip1559().unwrap().tx().clone()
        },
    );
    assert!(matches!(
        chain.submit(reused),
        Err(ChainError::NonceTooLow {
            got: 1,
            expected: 3
        })
    ));
    assert_eq!(chain.lock().pending_count(), txs.len());

    chain.mine(1).unwrap();
    let c = chain.lock();
    assert_eq!(c.block_number(), 1);
    assert_eq!(c.pending_count(), 0);
    let block = c.rpc_block(1, false).unwrap();
    let hashes: Vec<_> = block.transactions.hashes().collect();
    assert_eq!(
        hashes,
        txs.iter().map(|t| *t.tx_hash()).collect::<Vec<_>>(),
        "one block, in submission order"
    );
    let mut cumulative = 0;
    for (i, hash) in hashes.iter().enumerate() {
        let receipt = c.receipt(*hash).unwrap();
        assert!(receipt.status());
        assert_eq!(receipt.block_number, Some(1));
        assert_eq!(receipt.transaction_index, Some(i as u64));
        assert!(receipt.gas_used >= 21_000);
        cumulative += receipt.gas_used;
        assert_eq!(receipt.inner.cumulative_gas_used(), cumulative);
    }
    // Calldata and a contract creation cost more than a transfer: the sums are not all alike.
    assert!(c.receipt(hashes[1]).unwrap().gas_used > 21_000);
    assert!(c.receipt(hashes[3]).unwrap().gas_used > 21_000);
    assert_eq!(block.header.gas_used, cumulative);
    drop(c);
    assert_eq!(common::nonce(&chain, a.address()), 3);
    assert_eq!(common::nonce(&chain, b.address()), 2);
    assert_eq!(common::balance(&chain, to), U256::from(1 + 2 + 3 + 4));
}

#[tokio::test]
async fn pending_transaction_made_invalid_is_dropped_and_reported() {
    let chain = DevChain::open(interval_config()).unwrap();
    let (authority, sponsor, other) = (
        common::key(&chain, 2),
        common::key(&chain, 3),
        common::key(&chain, 4),
    );
    // The sponsor's EIP-7702 transaction carries an authorization of `authority` at its current
    // nonce; executing it bumps that nonce, so `authority`'s own queued transaction with the same
    // nonce is stale by the time its turn comes.
    let auth = Authorization {
        chain_id: U256::from(chain.chain_id()),
        address: Address::repeat_byte(0xde),
        nonce: 0,
    };
    let signature = authority.sign_hash_sync(&auth.signature_hash()).unwrap();
    let mut delegation = TxEip7702 {
        chain_id: chain.chain_id(),
        nonce: 0,
        gas_limit: 100_000,
        max_fee_per_gas: common::max_fee(&chain),
        max_priority_fee_per_gas: DEFAULT_PRIORITY_FEE,
        to: sponsor.address(),
        authorization_list: vec![auth.into_signed(signature)],
        ..Default::default()
    };
    let sig = sponsor.sign_transaction_sync(&mut delegation).unwrap();
    let delegation: Recovered<TxEnvelope> =
        Recovered::new_unchecked(delegation.into_signed(sig).into(), sponsor.address());

    let to = Address::repeat_byte(0x55);
    // The sponsor's comes first in the pool, the authority's nonce 0 is queued behind it.
    chain.submit(delegation.clone()).unwrap();
    let stale = common::transfer(&chain, &authority, to, U256::from(1));
    assert_eq!(stale.nonce(), 0);
    chain.submit(stale.clone()).unwrap();
    let unrelated = common::transfer(&chain, &other, to, U256::from(2));
    chain.submit(unrelated.clone()).unwrap();
    assert_eq!(chain.lock().pending_count(), 3);

    let (number, rejected) = chain.lock().mine_pending().unwrap();
    assert_eq!(number, 1);
    assert_eq!(rejected.len(), 1, "{rejected:?}");
    assert_eq!(rejected[0].0, *stale.tx_hash());
    assert!(
        matches!(
            rejected[0].1,
            ChainError::NonceTooLow {
                got: 0,
                expected: 1
            }
        ),
        "{:?}",
        rejected[0].1
    );
    let c = chain.lock();
    let included: Vec<_> = c
        .rpc_block(1, false)
        .unwrap()
        .transactions
        .hashes()
        .collect();
    assert_eq!(included, vec![*delegation.tx_hash(), *unrelated.tx_hash()]);
    assert!(c.receipt(*stale.tx_hash()).is_none());
    assert!(c.pending_transaction(*stale.tx_hash()).is_none());
    assert_eq!(c.pending_count(), 0);
    drop(c);
    assert_eq!(common::nonce(&chain, authority.address()), 1);
    assert_eq!(common::balance(&chain, to), U256::from(2));
}

/// A pending transaction with a gas limit near `u64::MAX` is affordable when the base fee is
/// zero; mining it after another transaction must neither overflow nor include it.
#[tokio::test]
async fn huge_gas_limit_in_the_pool_does_not_break_mining() {
    let mut config = interval_config();
    config.genesis.initial_base_fee = 0;
    let chain = DevChain::open(config).unwrap();
    let (a, b) = (common::key(&chain, 0), common::key(&chain, 1));
    let first = common::transfer(&chain, &a, Address::repeat_byte(1), U256::from(1));
    let huge = common::sign(
        &b,
        TxEip1559 {
            chain_id: chain.chain_id(),
            gas_limit: u64::MAX,
            to: TxKind::Call(Address::repeat_byte(2)),
            value: U256::from(1),
            ..Default::default()
        },
    );
    chain.submit(first.clone()).unwrap();
    // Refused at once, as in automine mode, or at the latest left out of the block.
    let queued = chain.submit(huge.clone()).is_ok();
    let (_, rejected) = chain.lock().mine_pending().unwrap();
    let c = chain.lock();
    assert!(c.receipt(*first.tx_hash()).unwrap().status());
    assert!(c.receipt(*huge.tx_hash()).is_none());
    assert_eq!(c.pending_count(), 0);
    assert_eq!(
        rejected.iter().map(|(h, _)| *h).collect::<Vec<_>>(),
        if queued {
            vec![*huge.tx_hash()]
        } else {
            vec![]
        }
    );
}

/// What no block can ever include is refused when it is sent, in interval mode as in automine
/// mode, instead of being accepted and silently dropped later.
#[tokio::test]
async fn never_includable_transactions_are_refused_at_submission() {
    let automine = common::open();
    let interval = DevChain::open(interval_config()).unwrap();
    for chain in [&automine, &interval] {
        let key = common::key(chain, 0);
        let template = common::transfer(chain, &key, Address::repeat_byte(3), U256::from(1));
        let base = template.inner().as_eip1559().unwrap().tx().clone();
        let cases = [
            // Below the intrinsic gas of a transfer.
            TxEip1559 {
                gas_limit: 20_999,
                ..base.clone()
            },
            // Above Osaka's per-transaction gas cap (EIP-7825).
            TxEip1559 {
                gas_limit: (1 << 24) + 1,
                ..base.clone()
            },
            // A tip above the fee cap.
            TxEip1559 {
                max_priority_fee_per_gas: base.max_fee_per_gas + 1,
                ..base.clone()
            },
        ];
        for case in cases {
            let tx = common::sign(&key, case);
            let err = chain.submit(tx).unwrap_err();
            assert!(
                matches!(err, ChainError::InvalidTransaction(_)),
                "automine {}: {err}",
                chain.automine()
            );
            assert_eq!(chain.lock().pending_count(), 0);
            assert_eq!(chain.lock().block_number(), 0);
        }
        // The same transaction with sound fields goes through.
        chain.submit(template).unwrap();
    }
}

/// A transaction that does not fit in this block waits for the next one (with its sender's later
/// transactions) instead of being dropped.
#[tokio::test]
async fn transactions_beyond_the_block_gas_limit_wait_for_the_next_block() {
    let mut config = interval_config();
    config.genesis.gas_limit = 100_000;
    let chain = DevChain::open(config).unwrap();
    let (a, b) = (common::key(&chain, 0), common::key(&chain, 1));
    let to = Address::repeat_byte(9);
    // Four transfers fit in 100 000 gas, the fifth does not; `b`'s second must stay behind its first.
    let mut txs = Vec::new();
    for key in [&a, &a, &b, &a, &b, &a] {
        let tx = common::transfer(&chain, key, to, U256::from(1));
        chain.submit(tx.clone()).unwrap();
        txs.push(tx);
    }
    let (_, rejected) = chain.lock().mine_pending().unwrap();
    assert!(rejected.is_empty(), "{rejected:?}");
    let hashes = |n| -> Vec<_> {
        chain
            .lock()
            .rpc_block(n, false)
            .unwrap()
            .transactions
            .hashes()
            .collect()
    };
    assert_eq!(
        hashes(1),
        txs[..4].iter().map(|t| *t.tx_hash()).collect::<Vec<_>>()
    );
    assert_eq!(chain.lock().pending_count(), 2);
    chain.mine(1).unwrap();
    assert_eq!(
        hashes(2),
        txs[4..].iter().map(|t| *t.tx_hash()).collect::<Vec<_>>()
    );
    assert_eq!(chain.lock().pending_count(), 0);
    assert_eq!(common::balance(&chain, to), U256::from(6));
}

#[tokio::test]
async fn background_miner_includes_a_transaction() {
    let mut config = common::config(None);
    config.block_time = Some(Duration::from_secs(1));
    let chain = DevChain::open(config).unwrap();
    let key = common::key(&chain, 0);
    let tx = common::transfer(&chain, &key, Address::repeat_byte(4), U256::from(5));
    let hash = chain.submit(tx).unwrap();
    assert_eq!(chain.lock().pending_count(), 1);
    let receipt = chain
        .wait_for_receipt(hash, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(receipt.status());
    let number = receipt.block_number.unwrap();
    assert!(number >= 1);
    assert_eq!(
        chain
            .lock()
            .rpc_block(number, false)
            .unwrap()
            .transactions
            .hashes()
            .collect::<Vec<_>>(),
        vec![hash]
    );
    assert_eq!(
        common::balance(&chain, Address::repeat_byte(4)),
        U256::from(5)
    );
}

/// A transaction left for the next block is checked again there: priced out by the base fee the
/// full block raised, it is dropped and reported.
#[tokio::test]
async fn waiting_transaction_priced_out_is_dropped_and_reported() {
    let mut config = interval_config();
    config.genesis.gas_limit = 100_000;
    let chain = DevChain::open(config).unwrap();
    let (a, b) = (common::key(&chain, 0), common::key(&chain, 1));
    let to = Address::repeat_byte(9);
    for _ in 0..4 {
        chain
            .submit(common::transfer(&chain, &a, to, U256::from(1)))
            .unwrap();
    }
    let base_fee = chain.lock().next_base_fee() as u128;
    let exact = common::sign(
        &b,
        TxEip1559 {
            chain_id: chain.chain_id(),
            nonce: 0,
            gas_limit: 21_000,
            max_fee_per_gas: base_fee,
            max_priority_fee_per_gas: 0,
            to: TxKind::Call(to),
            value: U256::from(1),
            ..Default::default()
        },
    );
    chain.submit(exact.clone()).unwrap();

    let (_, rejected) = chain.lock().mine_pending().unwrap();
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(chain.lock().pending_count(), 1, "it waits");
    assert!(chain.lock().next_base_fee() as u128 > base_fee);

    let (_, rejected) = chain.lock().mine_pending().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].0, *exact.tx_hash());
    assert!(
        matches!(&rejected[0].1, ChainError::InvalidTransaction(m) if m.contains("basefee")),
        "{}",
        rejected[0].1
    );
    let c = chain.lock();
    assert_eq!(c.pending_count(), 0);
    assert!(c.receipt(*exact.tx_hash()).is_none());
    assert_eq!(c.rpc_block(2, false).unwrap().transactions.len(), 0);
    drop(c);
    assert_eq!(common::nonce(&chain, b.address()), 0);
}
