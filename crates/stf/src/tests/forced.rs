//! Forced messages (`docs/liveness.md` §1): what they do, and what they refuse without effect.

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::sol_types::SolValue;
use loft_state::layout::l2_token_address;
use loft_state::{StateRead, StateWrite};

use super::util::*;
use crate::{
    BlockInput, KIND_FORCED_TX, KIND_FORCED_WITHDRAWAL, QueueInput, QueueStatus, Withdrawal,
    apply_queue_message, encode_forced_tx, execute_block,
};

fn l1_token() -> Address {
    Address::repeat_byte(0x71)
}

fn forced_withdrawal(sender: Address, l1: Address, amount: U256, to: Address) -> QueueInput {
    QueueInput {
        index: 5,
        kind: KIND_FORCED_WITHDRAWAL,
        sender,
        payload: (l1, amount, to).abi_encode_params().into(),
    }
}

fn forced_tx(payload: Vec<u8>) -> QueueInput {
    QueueInput {
        index: 6,
        kind: KIND_FORCED_TX,
        // The L1 sender does not matter: the L2 signature authenticates a forced transaction.
        sender: Address::repeat_byte(0xee),
        payload: payload.into(),
    }
}

fn funded() -> State {
    let mut s = new_state();
    set_account(&mut s, addr(1), 4, U256::from(1_000_000_000u64));
    let token = l2_token_address(l1_token());
    set_token(&mut s, token, l1_token(), U256::from(500u64));
    set_token_balance(&mut s, addr(1), token, U256::from(300u64));
    s
}

#[test]
fn a_forced_withdrawal_takes_the_senders_balance_without_fee() {
    let mut s = funded();
    let to = Address::repeat_byte(0x33);
    let msg = forced_withdrawal(addr(1), Address::ZERO, U256::from(400_000_000u64), to);
    let out = apply_queue_message(&s, &params(), &msg).unwrap();
    assert_eq!(out.status, QueueStatus::Applied);
    assert_eq!(
        out.withdrawal,
        Some(Withdrawal {
            l2_sender: addr(1),
            nonce: 4,
            l1_recipient: to,
            l1_token: Address::ZERO,
            amount: U256::from(400_000_000u64),
        })
    );
    apply(&mut s, out.writes);
    let account = s.account(addr(1)).unwrap();
    assert_eq!(account.balance, U256::from(600_000_000u64));
    assert_eq!(account.nonce, 5, "the withdrawal nonce is used up");
    // The same message again is a different withdrawal (nonce 5).
    let again = apply_queue_message(&s, &params(), &msg).unwrap();
    assert_eq!(again.withdrawal.unwrap().nonce, 5);
}

#[test]
fn a_forced_token_withdrawal_burns_the_l2_supply() {
    let mut s = funded();
    let token = l2_token_address(l1_token());
    let msg = forced_withdrawal(addr(1), l1_token(), U256::from(300u64), addr(9));
    let out = apply_queue_message(&s, &params(), &msg).unwrap();
    assert_eq!(out.status, QueueStatus::Applied);
    assert_eq!(out.withdrawal.unwrap().l1_token, l1_token());
    apply(&mut s, out.writes);
    assert_eq!(s.token_balance(addr(1), token).unwrap(), U256::ZERO);
    assert_eq!(
        s.token(token).unwrap().unwrap().total_supply,
        U256::from(200u64)
    );
}

#[test]
fn a_forced_withdrawal_it_cannot_pay_changes_nothing_and_says_why() {
    let s = funded();
    let to = Address::repeat_byte(0x33);
    let cases = [
        (
            forced_withdrawal(addr(1), Address::ZERO, U256::from(1_000_000_001u64), to),
            "insufficient funds",
        ),
        (
            forced_withdrawal(addr(1), l1_token(), U256::from(301u64), to),
            "insufficient token funds",
        ),
        (
            forced_withdrawal(addr(2), Address::ZERO, U256::ONE, to),
            "insufficient funds",
        ),
        (
            forced_withdrawal(addr(1), Address::repeat_byte(0x99), U256::ONE, to),
            "no L2 token",
        ),
        (
            forced_withdrawal(addr(1), Address::ZERO, U256::ZERO, to),
            "of nothing",
        ),
        (
            forced_withdrawal(addr(1), Address::ZERO, U256::ONE, Address::ZERO),
            "zero address",
        ),
        (
            QueueInput {
                payload: Bytes::from_static(&[1, 2, 3]),
                ..forced_withdrawal(addr(1), Address::ZERO, U256::ONE, to)
            },
            "does not decode",
        ),
    ];
    for (msg, why) in cases {
        let out = apply_queue_message(&s, &params(), &msg).unwrap();
        assert!(out.writes.is_empty() && out.withdrawal.is_none(), "{why}");
        match out.status {
            QueueStatus::Ignored(reason) => assert!(reason.contains(why), "{reason} / {why}"),
            other => panic!("{why}: {other:?}"),
        }
    }
}

#[test]
fn a_forced_transaction_runs_like_a_sequenced_one() {
    let mut s = funded();
    let t = sign(1, eip1559(4, addr(2), U256::from(1000u64), Bytes::new()));
    let payload = encode_forced_tx(&t, CHAIN_ID).unwrap();
    let out = apply_queue_message(&s, &params(), &forced_tx(payload)).unwrap();
    let QueueStatus::Executed { hash, receipt } = &out.status else {
        panic!("{:?}", out.status);
    };
    assert_eq!(*hash, *t.tx_hash());
    assert!(receipt.status);
    let fee = U256::from(21_000u64) * U256::from(receipt.effective_gas_price);
    assert!(receipt.effective_gas_price >= BASE_FEE);
    apply(&mut s, out.writes);
    assert_eq!(s.account(addr(2)).unwrap().balance, U256::from(1000u64));
    assert_eq!(s.account(addr(1)).unwrap().nonce, 5);
    assert_eq!(
        s.account(params().fee_recipient).unwrap().balance,
        fee,
        "a forced transaction pays its fee like any other"
    );
}

#[test]
fn a_forced_transaction_l2_refuses_is_consumed_without_effect() {
    let s = funded();
    let good = sign(1, eip1559(4, addr(2), U256::ONE, Bytes::new()));
    let mut trailing = encode_forced_tx(&good, CHAIN_ID).unwrap();
    trailing.push(0);
    let payloads: Vec<(Vec<u8>, &str)> = vec![
        (
            encode_forced_tx(
                &sign(1, eip1559(9, addr(2), U256::ONE, Bytes::new())),
                CHAIN_ID,
            )
            .unwrap(),
            "nonce",
        ),
        (
            encode_forced_tx(
                &sign(2, eip1559(0, addr(1), U256::ONE, Bytes::new())),
                CHAIN_ID,
            )
            .unwrap(),
            "insufficient funds",
        ),
        (trailing, "refused transaction"),
        (raw(&good), "refused transaction"),
        (Vec::new(), "refused transaction"),
    ];
    for (payload, why) in payloads {
        let out = apply_queue_message(&s, &params(), &forced_tx(payload)).unwrap();
        assert!(out.writes.is_empty() && out.withdrawal.is_none(), "{why}");
        match out.status {
            QueueStatus::Ignored(reason) => assert!(reason.contains(why), "{reason} / {why}"),
            other => panic!("{why}: {other:?}"),
        }
    }
}

#[test]
fn a_block_collects_forced_withdrawals_in_step_order() {
    let mut s = funded();
    let t = sign(
        1,
        eip1559(
            5,
            loft_state::layout::L2_BRIDGE,
            U256::ZERO,
            withdraw_data(Address::ZERO, U256::from(7u64), addr(8)),
        ),
    );
    let block = BlockInput {
        timestamp: 10,
        queue: vec![forced_withdrawal(
            addr(1),
            Address::ZERO,
            U256::from(5u64),
            addr(7),
        )],
        txs: vec![crate::L2Tx::decode(&raw(&t), CHAIN_ID).unwrap()],
    };
    let out = execute_block(&mut s, &params(), &block).unwrap();
    assert_eq!(out.withdrawals.len(), 2);
    assert_eq!(
        (out.withdrawals[0].nonce, out.withdrawals[0].l1_recipient),
        (4, addr(7))
    );
    assert_eq!(
        (out.withdrawals[1].nonce, out.withdrawals[1].l1_recipient),
        (5, addr(8))
    );
    let _ = s.root().unwrap();
    let _: B256 = out.state_root;
}
