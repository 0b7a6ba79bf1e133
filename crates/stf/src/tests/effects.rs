//! Effects of queue messages, transactions and blocks.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::sol_types::SolEvent;
use loft_state::layout::{
    L2_BRIDGE, account_key, index_count_key, index_key, l2_token_address, token_balance_key,
    token_key,
};
use loft_state::{StateRead, StateWrite};

use super::util::*;
use crate::execute::events;
use crate::{
    BlockError, BlockInput, L2Tx, QueueInput, TxError, Withdrawal, apply_queue_message,
    execute_block, execute_tx, withdrawal_root_v2,
};

fn l1_token() -> Address {
    Address::repeat_byte(0x71)
}

fn queue(state: &mut State, msg: &QueueInput) -> Vec<(B256, Vec<u8>)> {
    let writes = apply_queue_message(state, &params(), msg).unwrap().writes;
    apply(state, writes.clone());
    writes
}

fn tx(state: &mut State, key: u8, t: alloy::consensus::TxEip1559) -> crate::TxOutcome {
    let tx = L2Tx::decode(&raw(&sign(key, t)), CHAIN_ID).unwrap();
    let out = execute_tx(state, &params(), &tx).unwrap();
    apply(state, out.writes.clone());
    out
}

#[test]
fn eth_deposit_credits_the_recipient() {
    let mut s = new_state();
    let w = queue(&mut s, &deposit(0, Address::ZERO, addr(1), U256::from(5)));
    // The new account gets index 0 (§1.2): its leaf, the index leaf, the count.
    let keys: Vec<_> = w.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys,
        vec![account_key(addr(1)), index_key(0), index_count_key()]
    );
    assert_eq!(s.account_at(0).unwrap(), Some(addr(1)));
    assert_eq!(s.index_count().unwrap(), 1);
    let w = queue(&mut s, &deposit(1, Address::ZERO, addr(1), U256::from(6)));
    assert_eq!(w.len(), 1, "an existing account gets no second index");
    let a = s.account(addr(1)).unwrap();
    assert_eq!((a.nonce, a.balance), (0, U256::from(11)));
}

#[test]
fn registration_then_token_deposit() {
    let mut s = new_state();
    let token = l2_token_address(l1_token());
    queue(&mut s, &register(0, l1_token(), "USD Coin", "USDC", 6));
    let info = s.token(token).unwrap().unwrap();
    assert_eq!(
        (info.name.as_str(), info.symbol.as_str(), info.decimals),
        ("USD Coin", "USDC", 6)
    );
    assert_eq!(info.l1_token, l1_token());
    // A second registration changes nothing.
    assert!(
        apply_queue_message(&s, &params(), &register(1, l1_token(), "X", "X", 1))
            .unwrap()
            .writes
            .is_empty()
    );
    let w = queue(&mut s, &deposit(2, l1_token(), addr(2), U256::from(40)));
    assert_eq!(
        w.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        vec![token_key(token), token_balance_key(addr(2), token)]
    );
    queue(&mut s, &deposit(3, l1_token(), addr(3), U256::from(2)));
    assert_eq!(
        s.token(token).unwrap().unwrap().total_supply,
        U256::from(42)
    );
    assert_eq!(s.token(token).unwrap().unwrap().name, "USD Coin");
    assert_eq!(s.token_balance(addr(2), token).unwrap(), U256::from(40));
}

#[test]
fn token_deposit_without_registration_registers_with_defaults() {
    let mut s = new_state();
    queue(&mut s, &deposit(0, l1_token(), addr(2), U256::from(3)));
    let info = s.token(l2_token_address(l1_token())).unwrap().unwrap();
    assert_eq!(
        (info.decimals, info.name.as_str(), info.symbol.as_str()),
        (18, "", "")
    );
    assert_eq!(info.total_supply, U256::from(3));
}

#[test]
fn queue_messages_never_fail() {
    let mut s = new_state();
    let mut unknown = deposit(0, Address::ZERO, addr(1), U256::from(5));
    unknown.kind = 7;
    assert!(
        apply_queue_message(&s, &params(), &unknown)
            .unwrap()
            .writes
            .is_empty()
    );
    let mut garbage = deposit(0, Address::ZERO, addr(1), U256::from(5));
    garbage.payload = Bytes::from_static(&[1, 2, 3]);
    assert!(
        apply_queue_message(&s, &params(), &garbage)
            .unwrap()
            .writes
            .is_empty()
    );
    // Dirty address padding does not decode.
    let mut dirty = deposit(0, Address::ZERO, addr(1), U256::from(5))
        .payload
        .to_vec();
    dirty[0] = 1;
    garbage.payload = dirty.into();
    assert!(
        apply_queue_message(&s, &params(), &garbage)
            .unwrap()
            .writes
            .is_empty()
    );
    // Overflowing deposits change nothing.
    queue(&mut s, &deposit(0, Address::ZERO, addr(1), U256::MAX));
    assert!(
        apply_queue_message(
            &s,
            &params(),
            &deposit(1, Address::ZERO, addr(1), U256::from(1))
        )
        .unwrap()
        .writes
        .is_empty()
    );
    queue(&mut s, &deposit(2, l1_token(), addr(1), U256::MAX));
    assert!(
        apply_queue_message(
            &s,
            &params(),
            &deposit(3, l1_token(), addr(2), U256::from(1))
        )
        .unwrap()
        .writes
        .is_empty()
    );
}

#[test]
fn eth_transfer_moves_value_and_fee() {
    let mut s = new_state();
    set_account(&mut s, addr(1), 0, U256::from(1_000_000));
    let out = tx(
        &mut s,
        1,
        eip1559(0, addr(2), U256::from(1000), Bytes::new()),
    );
    // Price min(20, 7 + 3) = 10, fee 210,000.
    assert_eq!(out.receipt.effective_gas_price, 10);
    assert_eq!(out.receipt.gas_used, 21_000);
    assert!(out.receipt.status && out.receipt.logs.is_empty() && out.withdrawal.is_none());
    let keys: Vec<_> = out.writes.iter().map(|(k, _)| *k).collect();
    // The recipient and the fee recipient are new: indexes 0 and 1, in write order.
    assert_eq!(
        keys,
        vec![
            account_key(addr(1)),
            account_key(addr(2)),
            account_key(params().fee_recipient),
            index_key(0),
            index_key(1),
            index_count_key(),
        ]
    );
    assert_eq!(s.account_at(0).unwrap(), Some(addr(2)));
    assert_eq!(s.account_at(1).unwrap(), Some(params().fee_recipient));
    assert_eq!(s.index_count().unwrap(), 2);
    let a = s.account(addr(1)).unwrap();
    assert_eq!(
        (a.nonce, a.balance),
        (1, U256::from(1_000_000 - 1000 - 210_000))
    );
    assert_eq!(s.account(addr(2)).unwrap().balance, U256::from(1000));
    assert_eq!(
        s.account(params().fee_recipient).unwrap().balance,
        U256::from(210_000)
    );
}

#[test]
fn self_transfer_only_costs_the_fee_and_fee_recipient_may_be_the_sender() {
    let mut s = new_state();
    set_account(&mut s, addr(1), 0, U256::from(1_000_000));
    let out = tx(
        &mut s,
        1,
        eip1559(0, addr(1), U256::from(1000), Bytes::new()),
    );
    // Sender, fee recipient, and the fee recipient's new index with the count.
    assert_eq!(out.writes.len(), 4);
    assert_eq!(
        s.account(addr(1)).unwrap().balance,
        U256::from(1_000_000 - 210_000)
    );
    // Sender is the fee recipient: only the nonce changes.
    let mut p = params();
    p.fee_recipient = addr(1);
    let t = L2Tx::decode(
        &raw(&sign(1, eip1559(1, addr(2), U256::from(1), Bytes::new()))),
        CHAIN_ID,
    )
    .unwrap();
    let out = execute_tx(&s, &p, &t).unwrap();
    let keys: Vec<_> = out.writes.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        keys,
        vec![
            account_key(addr(1)),
            account_key(addr(2)),
            index_key(1),
            index_count_key()
        ]
    );
    apply(&mut s, out.writes);
    let a = s.account(addr(1)).unwrap();
    assert_eq!(
        (a.nonce, a.balance),
        (2, U256::from(1_000_000 - 210_000 - 1))
    );
}

#[test]
fn token_transfer_moves_tokens_and_logs() {
    let mut s = new_state();
    let token = l2_token_address(l1_token());
    set_account(&mut s, addr(1), 0, U256::from(1_000_000));
    queue(&mut s, &deposit(0, l1_token(), addr(1), U256::from(50)));
    let out = tx(
        &mut s,
        1,
        eip1559(0, token, U256::ZERO, transfer_data(addr(2), U256::from(20))),
    );
    assert_eq!(out.receipt.gas_used, 40_000);
    let keys: Vec<_> = out.writes.iter().map(|(k, _)| *k).collect();
    // The token took index 0 at its deposit; the new fee recipient takes 1. A token balance
    // creates no index.
    assert_eq!(
        keys,
        vec![
            account_key(addr(1)),
            token_balance_key(addr(1), token),
            token_balance_key(addr(2), token),
            account_key(params().fee_recipient),
            index_key(1),
            index_count_key(),
        ]
    );
    assert_eq!(s.account_at(0).unwrap(), Some(token));
    assert_eq!(s.token_balance(addr(1), token).unwrap(), U256::from(30));
    assert_eq!(s.token_balance(addr(2), token).unwrap(), U256::from(20));
    assert_eq!(
        s.account(addr(1)).unwrap().balance,
        U256::from(1_000_000 - 400_000)
    );
    let [log] = &out.receipt.logs[..] else {
        panic!("one log")
    };
    assert_eq!(log.address, token);
    let ev = events::Transfer::decode_log_data(&log.data).unwrap();
    assert_eq!(
        (ev.from, ev.to, ev.value),
        (addr(1), addr(2), U256::from(20))
    );
    assert_eq!(
        log.data.topics()[0],
        alloy::primitives::keccak256("Transfer(address,address,uint256)")
    );
    // To oneself: balance unchanged.
    tx(
        &mut s,
        1,
        eip1559(1, token, U256::ZERO, transfer_data(addr(1), U256::from(30))),
    );
    assert_eq!(s.token_balance(addr(1), token).unwrap(), U256::from(30));
}

#[test]
fn withdrawals_debit_and_are_recorded() {
    let mut s = new_state();
    let token = l2_token_address(l1_token());
    set_account(&mut s, addr(1), 0, U256::from(10_000_000));
    queue(&mut s, &deposit(0, l1_token(), addr(1), U256::from(50)));
    let out = tx(
        &mut s,
        1,
        eip1559(
            0,
            L2_BRIDGE,
            U256::ZERO,
            withdraw_data(Address::ZERO, U256::from(1000), addr(9)),
        ),
    );
    assert_eq!(out.receipt.gas_used, 60_000);
    assert_eq!(
        out.withdrawal,
        Some(Withdrawal {
            l2_sender: addr(1),
            nonce: 0,
            l1_recipient: addr(9),
            l1_token: Address::ZERO,
            amount: U256::from(1000)
        })
    );
    assert_eq!(
        s.account(addr(1)).unwrap().balance,
        U256::from(10_000_000 - 1000 - 600_000)
    );
    let out2 = tx(
        &mut s,
        1,
        eip1559(
            1,
            L2_BRIDGE,
            U256::ZERO,
            withdraw_data(token, U256::from(20), addr(9)),
        ),
    );
    let w = out2.withdrawal.unwrap();
    assert_eq!(
        (w.l1_token, w.amount, w.nonce),
        (l1_token(), U256::from(20), 1)
    );
    assert_eq!(s.token_balance(addr(1), token).unwrap(), U256::from(30));
    assert_eq!(
        s.token(token).unwrap().unwrap().total_supply,
        U256::from(30)
    );
    let [log] = &out2.receipt.logs[..] else {
        panic!("one log")
    };
    assert_eq!(log.address, L2_BRIDGE);
    let ev = events::WithdrawalInitiated::decode_log_data(&log.data).unwrap();
    assert_eq!(
        (ev.nonce, ev.sender, ev.l1Recipient, ev.l1Token, ev.amount),
        (U256::from(1), addr(1), addr(9), l1_token(), U256::from(20))
    );
    assert_eq!(
        log.data.topics()[0],
        alloy::primitives::keccak256(
            "WithdrawalInitiated(uint256,address,address,address,uint256)"
        )
    );
}

#[test]
fn block_runs_queue_then_txs_and_records_every_root() {
    let mut s = new_state();
    let txs = vec![
        L2Tx::decode(
            &raw(&sign(1, eip1559(0, addr(2), U256::from(1), Bytes::new()))),
            CHAIN_ID,
        )
        .unwrap(),
        L2Tx::decode(
            &raw(&sign(
                1,
                eip1559(
                    1,
                    L2_BRIDGE,
                    U256::ZERO,
                    withdraw_data(Address::ZERO, U256::from(2), addr(9)),
                ),
            )),
            CHAIN_ID,
        )
        .unwrap(),
    ];
    let block = BlockInput {
        timestamp: 1,
        queue: vec![deposit(0, Address::ZERO, addr(1), U256::from(10_000_000))],
        txs,
    };
    let out = execute_block(&mut s, &params(), &block).unwrap();
    assert_eq!(out.step_roots.len(), 3);
    assert_eq!(out.state_root, s.root().unwrap());
    assert_eq!(out.step_roots[2], out.state_root);
    assert!(out.step_roots.windows(2).all(|w| w[0] != w[1]));
    assert_eq!(out.receipts.len(), 2);
    assert_eq!(out.withdrawals.len(), 1);
    assert_ne!(
        withdrawal_root_v2(&out.withdrawals),
        crate::empty_withdrawal_root()
    );

    // The same transaction again is invalid: reported with its step.
    let bad = BlockInput {
        timestamp: 2,
        queue: vec![deposit(1, Address::ZERO, addr(3), U256::from(1))],
        txs: block.txs[..1].to_vec(),
    };
    match execute_block(&mut s, &params(), &bad) {
        Err(BlockError::InvalidTx {
            step: 1,
            tx_index: 0,
            source,
            ..
        }) if matches!(*source, TxError::NonceTooLow { .. }) => {}
        other => panic!("{other:?}"),
    }
    // An empty block's root is the current root.
    let root = s.root().unwrap();
    let out = execute_block(
        &mut s,
        &params(),
        &BlockInput {
            timestamp: 3,
            queue: vec![],
            txs: vec![],
        },
    )
    .unwrap();
    assert_eq!((out.state_root, out.step_roots.len()), (root, 0));
}

#[test]
fn map_state_and_tree_agree_on_writes() {
    // The same steps on the flat test state give the same leaves.
    let mut a = new_state();
    let mut b = MapState::default();
    for (i, msg) in [
        deposit(0, Address::ZERO, addr(1), U256::from(9_000_000)),
        deposit(1, l1_token(), addr(1), U256::from(9)),
    ]
    .iter()
    .enumerate()
    {
        let wa = apply_queue_message(&a, &params(), msg).unwrap().writes;
        let wb = apply_queue_message(&b, &params(), msg).unwrap().writes;
        assert_eq!(wa, wb, "{i}");
        apply(&mut a, wa);
        apply(&mut b, wb);
    }
    let t = L2Tx::decode(
        &raw(&sign(1, eip1559(0, addr(2), U256::from(1), Bytes::new()))),
        CHAIN_ID,
    )
    .unwrap();
    assert_eq!(
        execute_tx(&a, &params(), &t).unwrap(),
        execute_tx(&b, &params(), &t).unwrap()
    );
}
