//! Compact transactions (§3.2) and account indexes (§1.2): the encoding's round trips and
//! refusals, resolution against the state, and whole blocks posted compact.

use alloy::consensus::TxEnvelope;
use alloy::primitives::{Address, Bytes, Signature, U256};
use loft_state::StateRead;
use loft_state::layout::l2_token_address;
use proptest::prelude::*;

use super::util::*;
use crate::compact::{self, CompactCall, CompactError, CompactTx};
use crate::{
    BatchError, DataStep, L2Tx, TxError, decode_batch_v1, decode_step_at, encode_batch_v1,
};

fn l1_token() -> Address {
    Address::repeat_byte(0x71)
}

/// A state where addr(1) (index 0), addr(2) (index 1), the token (index 2) and addr(3) (index 3)
/// have indexes, and addr(1) holds ETH and tokens.
fn indexed_state() -> State {
    let mut s = new_state();
    let msgs = [
        deposit(
            0,
            Address::ZERO,
            addr(1),
            U256::from(10u64).pow(U256::from(20)),
        ),
        deposit(1, Address::ZERO, addr(2), U256::from(1)),
        register(2, l1_token(), "Token", "TOK", 18),
        deposit(
            3,
            l1_token(),
            addr(1),
            U256::from(10u64).pow(U256::from(12)),
        ),
        deposit(4, Address::ZERO, addr(3), U256::from(1)),
    ];
    for m in &msgs {
        let out = crate::apply_queue_message(&s, &params(), m).unwrap();
        apply(&mut s, out.writes);
    }
    s
}

fn index_of(state: &State) -> impl Fn(Address) -> Option<u64> + '_ {
    move |a| (0..state.index_count().unwrap()).find(|i| state.account_at(*i).unwrap() == Some(a))
}

fn eth(nonce: u64, to: Address, value: U256) -> TxEnvelope {
    let mut t = eip1559(nonce, to, value, Bytes::new());
    t.gas_limit = 21_000;
    t.max_fee_per_gas = 2_000_000_000;
    t.max_priority_fee_per_gas = 0;
    sign(1, t)
}

fn erc20(nonce: u64, to: Address, amount: U256) -> TxEnvelope {
    let mut t = eip1559(
        nonce,
        l2_token_address(l1_token()),
        U256::ZERO,
        transfer_data(to, amount),
    );
    t.gas_limit = 40_000;
    t.max_fee_per_gas = 2_000_000_000;
    t.max_priority_fee_per_gas = 0;
    sign(1, t)
}

fn encoded(c: &CompactTx) -> Vec<u8> {
    let mut out = Vec::new();
    c.encode(&mut out);
    out
}

#[test]
fn indexes_follow_creation_order() {
    let s = indexed_state();
    let token = l2_token_address(l1_token());
    let expected = [addr(1), addr(2), token, addr(3)];
    assert_eq!(s.index_count().unwrap(), 4);
    for (i, a) in expected.iter().enumerate() {
        assert_eq!(s.account_at(i as u64).unwrap(), Some(*a));
    }
    assert_eq!(s.account_at(4).unwrap(), None);
}

#[test]
fn a_token_leaf_at_an_account_address_is_a_second_index() {
    let mut s = new_state();
    let token = l2_token_address(l1_token());
    let out = crate::apply_queue_message(
        &s,
        &params(),
        &deposit(0, Address::ZERO, token, U256::from(1)),
    )
    .unwrap();
    apply(&mut s, out.writes);
    let out =
        crate::apply_queue_message(&s, &params(), &register(1, l1_token(), "T", "T", 6)).unwrap();
    apply(&mut s, out.writes);
    assert_eq!(s.account_at(0).unwrap(), Some(token));
    assert_eq!(s.account_at(1).unwrap(), Some(token));
}

#[test]
fn transfers_to_indexed_accounts_resolve_to_the_signed_transaction() {
    let s = indexed_state();
    for tx in [
        eth(0, addr(2), U256::from(1_000_000_007u64)),
        eth(0, addr(3), U256::from(10u64).pow(U256::from(18))),
        erc20(0, addr(2), U256::from(1_000_000_007u64)),
    ] {
        let c = CompactTx::of(&tx, CHAIN_ID, index_of(&s)).expect("has a compact form");
        let bytes = encoded(&c);
        assert!(bytes.len() <= 80, "{} bytes", bytes.len());
        let (decoded, len) = compact::decode(&bytes).unwrap();
        assert_eq!((decoded, len), (c, bytes.len()));
        let resolved = decoded.resolve(&s, CHAIN_ID).unwrap();
        assert_eq!(resolved.tx_hash(), tx.tx_hash());
        let l2 = L2Tx::from_envelope(resolved, CHAIN_ID).unwrap();
        assert_eq!(l2.sender(), addr(1));
        crate::execute_tx(&s, &params(), &l2).unwrap();
    }
}

#[test]
fn compact_sizes_of_the_bench_transfers() {
    // `loft bench`'s transfers: 2 gwei max fee, no tip, amounts of 1e9 + i wei, small indexes;
    // at nonce 300, 77 bytes for ETH and 78 for ERC-20 (a byte less below nonce 128).
    let s = indexed_state();
    let mut t = eth(300, addr(2), U256::from(1_000_004_321u64));
    let c = CompactTx::of(&t, CHAIN_ID, index_of(&s)).unwrap();
    assert_eq!(encoded(&c).len(), 77);
    t = erc20(300, addr(2), U256::from(1_000_004_321u64));
    let c = CompactTx::of(&t, CHAIN_ID, index_of(&s)).unwrap();
    assert_eq!(encoded(&c).len(), 78);
}

#[test]
fn what_has_no_compact_form() {
    let s = indexed_state();
    let unknown = Address::repeat_byte(0x99);
    let legacy_tx = sign(1, legacy(0, addr(2), U256::from(1), Bytes::new()));
    let withdrawal = sign(
        1,
        eip1559(
            0,
            loft_state::layout::L2_BRIDGE,
            U256::ZERO,
            withdraw_data(Address::ZERO, U256::from(1), addr(9)),
        ),
    );
    let mut with_access_list = eip1559(0, addr(2), U256::from(1), Bytes::new());
    with_access_list.access_list.0.push(Default::default());
    for tx in [
        eth(0, unknown, U256::from(1)),
        erc20(0, unknown, U256::from(1)),
        legacy_tx,
        withdrawal,
        sign(1, with_access_list),
        // A value `dec` cannot carry: m × 78 above 2^256.
        eth(0, addr(2), U256::MAX),
    ] {
        assert_eq!(CompactTx::of(&tx, CHAIN_ID, index_of(&s)), None, "{tx:?}");
    }
    // Another chain.
    assert_eq!(
        CompactTx::of(&eth(0, addr(2), U256::from(1)), CHAIN_ID + 1, index_of(&s)),
        None
    );
}

#[test]
fn unknown_indexes_refuse_the_transaction() {
    let s = indexed_state();
    let sig = Signature::new(U256::from(1), U256::from(1), false);
    let mut c = CompactTx {
        nonce: 0,
        max_priority_fee_per_gas: 0,
        max_fee_per_gas: 1,
        gas_limit: 21_000,
        call: CompactCall::Eth {
            to: 4,
            value: U256::from(1),
        },
        signature: sig,
    };
    let err = c.resolve(&s, CHAIN_ID).unwrap_err();
    assert!(matches!(err, TxError::UnknownAccountIndex(4)), "{err}");
    assert_eq!((err.code(), err.kind()), (19, "unknown_account_index"));
    c.call = CompactCall::Erc20 {
        token: 9,
        to: 0,
        amount: U256::from(1),
    };
    assert!(matches!(
        c.resolve(&s, CHAIN_ID),
        Err(TxError::UnknownAccountIndex(9))
    ));
    c.call = CompactCall::Erc20 {
        token: 2,
        to: 7,
        amount: U256::from(1),
    };
    assert!(matches!(
        c.resolve(&s, CHAIN_ID),
        Err(TxError::UnknownAccountIndex(7))
    ));
}

#[test]
fn layout_is_the_spec() {
    let s = indexed_state();
    let tx = eth(5, addr(2), U256::from(10u64).pow(U256::from(18)));
    let c = CompactTx::of(&tx, CHAIN_ID, index_of(&s)).unwrap();
    let bytes = encoded(&c);
    let sig = tx.signature();
    let mut expected = vec![0x20 | u8::from(sig.v()), 5, 0x00, 0xa5, 0x01, 1, 0x60];
    expected.extend_from_slice(&sig.r().to_be_bytes::<32>());
    expected.extend_from_slice(&sig.s().to_be_bytes::<32>());
    assert_eq!(bytes, expected);
    // An explicit gas limit: g = 1 and the varint after maxFeePerGas.
    let mut t = eip1559(5, addr(2), U256::ZERO, Bytes::new());
    (t.gas_limit, t.max_fee_per_gas, t.max_priority_fee_per_gas) = (30_000, 1, 0);
    let tx = sign(1, t);
    let bytes = encoded(&CompactTx::of(&tx, CHAIN_ID, index_of(&s)).unwrap());
    assert_eq!(bytes[0] & 0xfe, 0x22);
    assert_eq!(&bytes[1..7], &[5, 0x00, 78, 0xb0, 0xea, 0x01]);
}

#[test]
fn decode_errors() {
    let s = indexed_state();
    let tx = eth(5, addr(2), U256::from(7));
    let good = encoded(&CompactTx::of(&tx, CHAIN_ID, index_of(&s)).unwrap());
    let at = |e: Result<(CompactTx, usize), CompactError>| e.map(|_| ()).unwrap_err();
    assert_eq!(
        at(compact::decode(&good[..good.len() - 1])),
        CompactError::Truncated
    );
    let mut bad = good.clone();
    bad[0] = 0x28;
    assert_eq!(at(compact::decode(&bad)), CompactError::BadTag(0x28));
    // g = 1 posting 21,000 (varint 0x88 0xa4 0x01) is refused.
    let mut posted = vec![good[0] | 2, 5, 0x00, 0xa5, 0x01, 0x88, 0xa4, 0x01];
    posted.extend_from_slice(&good[5..]);
    assert_eq!(at(compact::decode(&posted)), CompactError::PostedOwnGas(5));
    // A fee of 2^128 is refused: m = 2^128 / 10^? is not whole, so m = 2^128, e = 0.
    let mut fee = vec![good[0], 5, 0x00];
    let mut word = Vec::new();
    let v: U256 = (U256::from(1u8) << 128) * U256::from(78u8);
    let mut x = v;
    while x > U256::from(0x7f) {
        word.push(x.byte(0) | 0x80);
        x >>= 7;
    }
    word.push(x.byte(0));
    fee.extend_from_slice(&word);
    fee.extend_from_slice(&good[5..]);
    assert_eq!(at(compact::decode(&fee)), CompactError::BadDec(3));
    // In batch data: the same errors at the step's offset; a cut step is too long only when
    // the data goes on past its window.
    let mut data = vec![1u8, 0x10, 0x00];
    data.extend_from_slice(&posted);
    assert_eq!(
        decode_step_at(&data, 3, CHAIN_ID),
        Err(BatchError::PostedOwnGas(8))
    );
    let mut data = vec![1u8, 0x10, 0x00];
    data.extend_from_slice(&good[..10]);
    assert!(matches!(
        decode_step_at(&data, 3, CHAIN_ID),
        Err(BatchError::Truncated(_))
    ));
}

fn arb_dec256() -> impl Strategy<Value = U256> {
    (any::<u128>(), 0u32..40).prop_map(|(m, e)| {
        U256::from(m)
            .checked_mul(U256::from(10u64).pow(U256::from(e)))
            .unwrap_or(U256::from(m))
    })
}

fn arb_dec128() -> impl Strategy<Value = u128> {
    (any::<u64>(), 0u32..20).prop_map(|(m, e)| u128::from(m).saturating_mul(10u128.pow(e)))
}

fn arb_compact() -> impl Strategy<Value = CompactTx> {
    (
        any::<u64>(),
        arb_dec128(),
        arb_dec128(),
        prop_oneof![Just(None), any::<u64>().prop_map(Some)],
        any::<bool>(),
        (any::<u64>(), any::<u64>(), arb_dec256()),
        (any::<[u8; 32]>(), any::<[u8; 32]>(), any::<bool>()),
    )
        .prop_map(|(nonce, tip, max, gas, erc, (a, b, amount), (r, s, v))| {
            let call = if erc {
                CompactCall::Erc20 {
                    token: a,
                    to: b,
                    amount,
                }
            } else {
                CompactCall::Eth {
                    to: a,
                    value: amount,
                }
            };
            let own = if erc { 40_000 } else { 21_000 };
            CompactTx {
                nonce,
                max_priority_fee_per_gas: tip,
                max_fee_per_gas: max,
                gas_limit: gas.unwrap_or(own),
                call,
                signature: Signature::new(U256::from_be_bytes(r), U256::from_be_bytes(s), v),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn compact_round_trip(c in arb_compact()) {
        let bytes = encoded(&c);
        prop_assert!(bytes.len() <= crate::MAX_STEP_BYTES);
        prop_assert_eq!(compact::decode(&bytes), Ok((c, bytes.len())));
        // In a batch, between other steps.
        let steps = vec![DataStep::Block { timestamp: 1 }, DataStep::Compact(c), DataStep::Queue];
        let enc = encode_batch_v1(&steps, CHAIN_ID).unwrap();
        prop_assert_eq!(decode_batch_v1(&enc.data, CHAIN_ID).unwrap(), steps);
    }

    #[test]
    fn decoded_compact_bytes_re_encode_to_themselves(bytes in proptest::collection::vec(any::<u8>(), 0..120), tag in 0x20u8..0x28) {
        let mut b = vec![tag];
        b.extend_from_slice(&bytes);
        if let Ok((c, len)) = compact::decode(&b) {
            prop_assert_eq!(encoded(&c), b[..len].to_vec());
        }
    }
}
