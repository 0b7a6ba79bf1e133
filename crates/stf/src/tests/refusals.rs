//! One test (at least) per `TxError` variant, from real signed transactions.

use alloy::consensus::{SignableTransaction, TxEip1559, TxEip2930, TxEnvelope, TxLegacy};
use alloy::eips::eip2930::{AccessList, AccessListItem};
use alloy::primitives::{Address, B256, Bytes, Signature, TxKind, U256};
use loft_state::layout::{L2_BRIDGE, account_key};
use loft_state::{StateError, StateRead};

use super::util::*;
use crate::params::MAX_TX_SIZE;
use crate::{L2Tx, TxError, execute_tx};

const ETH: u128 = 1_000_000_000_000_000_000;

/// A funded sender 1 (nonce 0, 1 ETH) and a token at 0x70.. with sender 1 holding 100.
fn funded() -> State {
    let mut s = new_state();
    set_account(&mut s, addr(1), 0, U256::from(ETH));
    set_token(&mut s, token(), Address::repeat_byte(0x71), U256::from(100));
    set_token_balance(&mut s, addr(1), token(), U256::from(100));
    s
}

fn token() -> Address {
    Address::repeat_byte(0x70)
}

/// Decodes and executes `tx` against `state`.
fn run(state: &State, tx: &TxEnvelope) -> Result<crate::TxOutcome, TxError> {
    let tx = L2Tx::decode(&raw(tx), CHAIN_ID)?;
    execute_tx(state, &params(), &tx)
}

fn err(state: &State, tx: &TxEnvelope) -> TxError {
    run(state, tx).expect_err("transaction should be refused")
}

#[test]
fn codes_and_kinds_are_a_stable_table() {
    for (i, (code, kind)) in TxError::TABLE.iter().enumerate() {
        assert_eq!(usize::from(*code), i + 1);
        assert!(!kind.is_empty());
    }
    assert_eq!(TxError::InvalidSignature.code(), 3);
    assert_eq!(TxError::InvalidSignature.kind(), "invalid_signature");
    assert_eq!(TxError::ZeroAmount.kind(), "zero_amount");
    assert!(!TxError::State(StateError::Storage("x".into())).is_invalid_tx());
}

#[test]
fn malformed() {
    for bytes in [&b""[..], &[0x02][..], &[0xc0][..], &[0x7f, 1, 2][..]] {
        let e = L2Tx::decode(bytes, CHAIN_ID).unwrap_err();
        assert!(
            matches!(e, TxError::Malformed(_) | TxError::UnsupportedType { .. }),
            "{e}"
        );
    }
    let mut bytes = raw(&sign(1, eip1559(0, addr(2), U256::from(1), Bytes::new())));
    bytes.push(0);
    assert!(matches!(
        L2Tx::decode(&bytes, CHAIN_ID),
        Err(TxError::Malformed(_))
    ));
    assert_eq!(TxError::Malformed(String::new()).code(), 1);
}

#[test]
fn unsupported_types() {
    let mut pre155 = legacy(0, addr(2), U256::from(1), Bytes::new());
    pre155.chain_id = None;
    let e = L2Tx::decode(&raw(&sign(1, pre155)), CHAIN_ID).unwrap_err();
    assert!(matches!(e, TxError::UnsupportedType { ty: 0, .. }), "{e}");
    assert_eq!(e.code(), 2);

    let t2930 = TxEip2930 {
        chain_id: CHAIN_ID,
        nonce: 0,
        gas_price: 10,
        gas_limit: 100_000,
        to: TxKind::Call(addr(2)),
        value: U256::from(1),
        access_list: AccessList::default(),
        input: Bytes::new(),
    };
    let e = L2Tx::decode(&raw(&sign(1, t2930)), CHAIN_ID).unwrap_err();
    assert!(matches!(e, TxError::UnsupportedType { ty: 1, .. }), "{e}");

    let mut with_list = eip1559(0, addr(2), U256::from(1), Bytes::new());
    with_list.access_list = AccessList(vec![AccessListItem {
        address: addr(3),
        storage_keys: vec![B256::ZERO],
    }]);
    let e = L2Tx::decode(&raw(&sign(1, with_list)), CHAIN_ID).unwrap_err();
    assert!(matches!(e, TxError::UnsupportedType { ty: 2, .. }), "{e}");
}

#[test]
fn invalid_signature() {
    let tx = eip1559(0, addr(2), U256::from(1), Bytes::new());
    // r = 0 is not a curve point.
    let bad = TxEnvelope::from(tx.clone().into_signed(Signature::new(
        U256::ZERO,
        U256::from(1),
        false,
    )));
    assert!(matches!(
        L2Tx::decode(&raw(&bad), CHAIN_ID),
        Err(TxError::InvalidSignature)
    ));
    // High s (EIP-2): the same signature mirrored recovers on paper but is refused.
    let good = sign(1, tx.clone());
    let sig = *good.signature();
    let n = U256::from_str_radix(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        16,
    )
    .unwrap();
    let high = Signature::new(sig.r(), n - sig.s(), !sig.v());
    let bad = TxEnvelope::from(tx.into_signed(high));
    let e = L2Tx::decode(&raw(&bad), CHAIN_ID).unwrap_err();
    assert!(matches!(e, TxError::InvalidSignature));
    assert_eq!(e.code(), 3);
}

#[test]
fn wrong_chain_id() {
    let mut tx = eip1559(0, addr(2), U256::from(1), Bytes::new());
    tx.chain_id = 1;
    let e = L2Tx::decode(&raw(&sign(1, tx)), CHAIN_ID).unwrap_err();
    assert!(matches!(
        e,
        TxError::WrongChainId {
            expected: CHAIN_ID,
            got: 1
        }
    ));
    assert_eq!(
        e.to_string(),
        format!("wrong chain id: expected {CHAIN_ID}, transaction has 1")
    );
    let mut tx = legacy(0, addr(2), U256::from(1), Bytes::new());
    tx.chain_id = Some(5);
    let e = L2Tx::decode(&raw(&sign(1, tx)), CHAIN_ID).unwrap_err();
    assert!(matches!(e, TxError::WrongChainId { got: 5, .. }));
}

#[test]
fn nonce_too_low_and_too_high() {
    let mut s = funded();
    set_account(&mut s, addr(1), 5, U256::from(ETH));
    let e = err(
        &s,
        &sign(1, eip1559(3, addr(2), U256::from(1), Bytes::new())),
    );
    assert!(matches!(
        e,
        TxError::NonceTooLow {
            expected: 5,
            got: 3,
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        format!(
            "nonce too low: account {} has nonce 5, transaction has 3",
            addr(1)
        )
    );
    assert_eq!(e.code(), 5);
    let e = err(
        &s,
        &sign(1, eip1559(6, addr(2), U256::from(1), Bytes::new())),
    );
    assert!(matches!(
        e,
        TxError::NonceTooHigh {
            expected: 5,
            got: 6,
            ..
        }
    ));
    assert_eq!(e.code(), 6);
    // EIP-2681: the last nonce can never be used.
    set_account(&mut s, addr(1), u64::MAX, U256::from(ETH));
    let e = err(
        &s,
        &sign(1, eip1559(u64::MAX, addr(2), U256::from(1), Bytes::new())),
    );
    assert!(matches!(e, TxError::NonceTooHigh { .. }));
}

#[test]
fn fee_below_base_fee() {
    let s = funded();
    let mut tx = eip1559(0, addr(2), U256::from(1), Bytes::new());
    tx.max_fee_per_gas = BASE_FEE - 1;
    tx.max_priority_fee_per_gas = 0;
    let e = err(&s, &sign(1, tx));
    assert!(
        matches!(
            e,
            TxError::FeeBelowBaseFee {
                max_fee: 6,
                base_fee: BASE_FEE
            }
        ),
        "{e}"
    );
    assert_eq!(e.code(), 7);
    let mut tx = legacy(0, addr(2), U256::from(1), Bytes::new());
    tx.gas_price = 1;
    assert!(matches!(
        err(&s, &sign(1, tx)),
        TxError::FeeBelowBaseFee { max_fee: 1, .. }
    ));
}

#[test]
fn priority_above_max() {
    let s = funded();
    let mut tx = eip1559(0, addr(2), U256::from(1), Bytes::new());
    tx.max_priority_fee_per_gas = 21;
    let e = err(&s, &sign(1, tx));
    assert!(matches!(
        e,
        TxError::PriorityAboveMax {
            priority: 21,
            max_fee: 20
        }
    ));
    assert_eq!(e.code(), 8);
}

#[test]
fn gas_limit_too_low() {
    let s = funded();
    let mut tx = eip1559(0, addr(2), U256::from(1), Bytes::new());
    tx.gas_limit = 20_999;
    let e = err(&s, &sign(1, tx));
    assert!(matches!(
        e,
        TxError::GasLimitTooLow {
            gas_limit: 20_999,
            needed: 21_000
        }
    ));
    assert_eq!(e.code(), 9);
    // The operation decides: 21,000 is enough for ETH, not for a token transfer.
    let mut tx = eip1559(
        0,
        token(),
        U256::ZERO,
        transfer_data(addr(2), U256::from(1)),
    );
    tx.gas_limit = 21_000;
    assert!(matches!(
        err(&s, &sign(1, tx)),
        TxError::GasLimitTooLow { needed: 40_000, .. }
    ));
    let mut tx = eip1559(
        0,
        L2_BRIDGE,
        U256::ZERO,
        withdraw_data(Address::ZERO, U256::from(1), addr(3)),
    );
    tx.gas_limit = 59_999;
    assert!(matches!(
        err(&s, &sign(1, tx)),
        TxError::GasLimitTooLow { needed: 60_000, .. }
    ));
}

#[test]
fn insufficient_funds() {
    let s = funded();
    // fee = 21,000 × min(20, 7 + 3) = 210,000.
    let fee = 210_000u128;
    let e = err(
        &s,
        &sign(
            1,
            eip1559(0, addr(2), U256::from(ETH - fee + 1), Bytes::new()),
        ),
    );
    assert!(
        matches!(e, TxError::InsufficientFunds { have, need, .. } if have == U256::from(ETH) && need == U256::from(ETH + 1)),
        "{e}"
    );
    assert_eq!(e.code(), 10);
    assert!(
        run(
            &s,
            &sign(1, eip1559(0, addr(2), U256::from(ETH - fee), Bytes::new()))
        )
        .is_ok()
    );
    // value + fee above 2^256: need saturates.
    let e = err(&s, &sign(1, eip1559(0, addr(2), U256::MAX, Bytes::new())));
    assert!(matches!(
        e,
        TxError::InsufficientFunds {
            need: U256::MAX,
            ..
        }
    ));
    // No ETH for the fee of a token transfer.
    let e = err(
        &s,
        &sign(
            2,
            eip1559(0, token(), U256::ZERO, transfer_data(addr(3), U256::ZERO)),
        ),
    );
    assert!(matches!(
        e,
        TxError::InsufficientFunds {
            have: U256::ZERO,
            ..
        }
    ));
    // An ETH withdrawal pays amount + fee.
    let w = withdraw_data(Address::ZERO, U256::from(ETH), addr(3));
    assert!(matches!(
        err(&s, &sign(1, eip1559(0, L2_BRIDGE, U256::ZERO, w))),
        TxError::InsufficientFunds { .. }
    ));
}

#[test]
fn insufficient_token_funds() {
    let s = funded();
    let e = err(
        &s,
        &sign(
            1,
            eip1559(
                0,
                token(),
                U256::ZERO,
                transfer_data(addr(2), U256::from(101)),
            ),
        ),
    );
    assert!(
        matches!(e, TxError::InsufficientTokenFunds { have, need, .. } if have == U256::from(100) && need == U256::from(101))
    );
    assert_eq!(e.code(), 11);
    let w = withdraw_data(token(), U256::from(101), addr(3));
    let e = err(&s, &sign(1, eip1559(0, L2_BRIDGE, U256::ZERO, w)));
    assert!(matches!(e, TxError::InsufficientTokenFunds { .. }));
}

#[test]
fn unsupported_calls() {
    let s = funded();
    let one = U256::from(1);
    let mut create = eip1559(0, addr(2), U256::ZERO, Bytes::from_static(&[0x60, 0x00]));
    create.to = TxKind::Create;
    let mut long_transfer = transfer_data(addr(2), one).to_vec();
    long_transfer.push(0);
    let mut dirty = transfer_data(addr(2), one).to_vec();
    dirty[4] = 1;
    let cases: Vec<(TxEip1559, &str)> = vec![
        (create, "contract creation"),
        (
            eip1559(0, addr(2), U256::ZERO, transfer_data(addr(3), one)),
            "not an L2 token",
        ),
        (
            eip1559(0, token(), U256::ZERO, Bytes::from_static(&[1, 2, 3, 4])),
            "unknown selector",
        ),
        (
            eip1559(0, token(), U256::ZERO, Bytes::from_static(&[1, 2])),
            "shorter than a selector",
        ),
        (
            eip1559(0, token(), one, Bytes::new()),
            "ETH sent to an L2 token",
        ),
        (
            eip1559(0, token(), one, transfer_data(addr(3), one)),
            "value sent with calldata",
        ),
        (eip1559(0, L2_BRIDGE, one, Bytes::new()), "L2 bridge"),
        (
            eip1559(0, L2_BRIDGE, U256::ZERO, transfer_data(addr(3), one)),
            "unknown selector",
        ),
        (
            eip1559(0, token(), U256::ZERO, long_transfer.into()),
            "not 68 bytes",
        ),
        (eip1559(0, token(), U256::ZERO, dirty.into()), "zero-padded"),
        (
            eip1559(
                0,
                L2_BRIDGE,
                U256::ZERO,
                withdraw_data(Address::ZERO, one, addr(3)).slice(..99),
            ),
            "not 100 bytes",
        ),
    ];
    for (tx, reason) in cases {
        let e = err(&s, &sign(1, tx));
        assert!(matches!(e, TxError::UnsupportedCall(_)), "{reason}: {e}");
        assert!(e.to_string().contains(reason), "{reason}: {e}");
        assert_eq!(e.code(), 12);
    }
}

#[test]
fn unknown_token() {
    let s = funded();
    let w = withdraw_data(Address::repeat_byte(0x55), U256::from(1), addr(3));
    let e = err(&s, &sign(1, eip1559(0, L2_BRIDGE, U256::ZERO, w)));
    assert!(matches!(e, TxError::UnknownToken(t) if t == Address::repeat_byte(0x55)));
    assert_eq!(e.code(), 13);
}

#[test]
fn invalid_recipient() {
    let s = funded();
    let e = err(
        &s,
        &sign(
            1,
            eip1559(
                0,
                token(),
                U256::ZERO,
                transfer_data(Address::ZERO, U256::from(1)),
            ),
        ),
    );
    assert!(matches!(e, TxError::InvalidRecipient));
    assert_eq!(e.code(), 14);
    let w = withdraw_data(Address::ZERO, U256::from(1), Address::ZERO);
    assert!(matches!(
        err(&s, &sign(1, eip1559(0, L2_BRIDGE, U256::ZERO, w))),
        TxError::InvalidRecipient
    ));
}

#[test]
fn zero_amount() {
    let s = funded();
    for token in [Address::ZERO, token()] {
        let w = withdraw_data(token, U256::ZERO, addr(3));
        let e = err(&s, &sign(1, eip1559(0, L2_BRIDGE, U256::ZERO, w)));
        assert!(matches!(e, TxError::ZeroAmount));
        assert_eq!(e.code(), 15);
    }
}

#[test]
fn oversized() {
    let big = Bytes::from(vec![1u8; MAX_TX_SIZE]);
    let tx = sign(1, eip1559(0, addr(2), U256::ZERO, big));
    let e = L2Tx::decode(&raw(&tx), CHAIN_ID).unwrap_err();
    assert!(matches!(
        e,
        TxError::Oversized {
            max: MAX_TX_SIZE,
            ..
        }
    ));
    assert_eq!(e.code(), 16);
    // Also when the envelope comes from a batch.
    assert!(matches!(
        L2Tx::from_envelope(tx, CHAIN_ID),
        Err(TxError::Oversized { .. })
    ));
}

#[test]
fn balance_overflow() {
    let mut s = funded();
    set_account(&mut s, addr(2), 0, U256::MAX);
    let e = err(
        &s,
        &sign(1, eip1559(0, addr(2), U256::from(1), Bytes::new())),
    );
    assert!(matches!(e, TxError::BalanceOverflow(a) if a == addr(2)));
    assert_eq!(e.code(), 17);
}

/// A state whose every read fails.
struct Broken;

impl StateRead for Broken {
    fn leaf(&self, _key: &B256) -> Result<Option<Vec<u8>>, StateError> {
        Err(StateError::Storage("disk on fire".into()))
    }
}

#[test]
fn state_errors() {
    let tx = L2Tx::decode(
        &raw(&sign(1, eip1559(0, addr(2), U256::from(1), Bytes::new()))),
        CHAIN_ID,
    )
    .unwrap();
    let e = execute_tx(&Broken, &params(), &tx).unwrap_err();
    assert!(matches!(e, TxError::State(StateError::Storage(_))));
    assert_eq!(e.code(), 18);
    // A corrupt account leaf.
    let mut s = MapState::default();
    s.leaves.insert(account_key(addr(1)), vec![1, 2, 3]);
    let e = execute_tx(&s, &params(), &tx).unwrap_err();
    assert!(matches!(e, TxError::State(StateError::Corrupt { .. })));
}

#[test]
fn refusals_come_in_the_spec_order() {
    let mut s = funded();
    set_account(&mut s, addr(1), 1, U256::ZERO);
    // Bad nonce, fee, operation and funds: the nonce is reported.
    let mut tx = eip1559(0, L2_BRIDGE, U256::from(1), Bytes::new());
    tx.max_fee_per_gas = 0;
    tx.max_priority_fee_per_gas = 0;
    assert!(matches!(
        err(&s, &sign(1, tx.clone())),
        TxError::NonceTooLow { .. }
    ));
    tx.nonce = 1;
    assert!(matches!(
        err(&s, &sign(1, tx.clone())),
        TxError::FeeBelowBaseFee { .. }
    ));
    tx.max_fee_per_gas = 20;
    assert!(matches!(
        err(&s, &sign(1, tx.clone())),
        TxError::UnsupportedCall(_)
    ));
    tx.value = U256::ZERO;
    tx.input = withdraw_data(Address::ZERO, U256::from(1), addr(3));
    tx.gas_limit = 21_000;
    assert!(matches!(
        err(&s, &sign(1, tx.clone())),
        TxError::GasLimitTooLow { .. }
    ));
    tx.gas_limit = 60_000;
    assert!(matches!(
        err(&s, &sign(1, tx)),
        TxError::InsufficientFunds { .. }
    ));
}

#[test]
fn legacy_transfers_work() {
    let s = funded();
    let out = run(
        &s,
        &sign(1, legacy(0, addr(2), U256::from(5), Bytes::new())),
    )
    .unwrap();
    assert_eq!(out.receipt.effective_gas_price, 10);
    let _ = TxLegacy::default();
}
