//! Properties over random sequences of valid and invalid steps: value is conserved and nonces
//! only grow.

use alloy::primitives::{Address, Bytes, U256};
use loft_state::StateRead;
use loft_state::layout::{L2_BRIDGE, l2_token_address};
use proptest::prelude::*;

use super::util::*;
use crate::{L2Tx, apply_queue_message, execute_tx};

#[derive(Debug, Clone)]
enum Step {
    DepositEth {
        to: usize,
        amount: u64,
    },
    DepositToken {
        l1: usize,
        to: usize,
        amount: u64,
    },
    Register {
        l1: usize,
    },
    Tx {
        from: usize,
        nonce_delta: i8,
        kind: u8,
        to: usize,
        token: usize,
        amount: u64,
        legacy: bool,
        max_fee: u128,
        priority: u128,
        gas_limit: u64,
    },
}

const ACTORS: usize = 4;

fn who(i: usize) -> Address {
    if i < ACTORS {
        addr(i as u8 + 1)
    } else {
        Address::ZERO
    }
}

fn l1(i: usize) -> Address {
    Address::repeat_byte(0x30 + i as u8)
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (0..=ACTORS, 0u64..10_000_000).prop_map(|(to, amount)| Step::DepositEth { to, amount }),
        1 => (0..2usize, 0..=ACTORS, 0u64..1000).prop_map(|(l1, to, amount)| Step::DepositToken { l1, to, amount }),
        1 => (0..2usize).prop_map(|l1| Step::Register { l1 }),
        4 => (
            (0..ACTORS, prop_oneof![10 => Just(0i8), 1 => Just(-1), 1 => Just(1)], 0u8..5, 0..=ACTORS, 0..3usize),
            (0u64..3_000_000, any::<bool>(), 5u128..30, 0u128..6, prop_oneof![Just(21_000u64), Just(40_000), Just(60_000), Just(100_000), Just(100_000), Just(100_000)]),
        )
            .prop_map(|((from, nonce_delta, kind, to, token), (amount, legacy, max_fee, priority, gas_limit))| Step::Tx {
                from, nonce_delta, kind, to, token, amount, legacy, max_fee, priority, gas_limit,
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn value_is_conserved_and_nonces_only_grow(
        steps in proptest::collection::vec(step(), 1..60),
        fee_to_actor in any::<bool>(),
    ) {
        let mut p = params();
        if fee_to_actor {
            p.fee_recipient = who(0);
        }
        let mut s = new_state();
        let mut holders: Vec<Address> = (0..=ACTORS).map(who).collect();
        if !holders.contains(&p.fee_recipient) {
            holders.push(p.fee_recipient);
        }
        let tokens = [l2_token_address(l1(0)), l2_token_address(l1(1))];
        let (mut eth_in, mut eth_out) = (U256::ZERO, U256::ZERO);
        let mut tok_in = [U256::ZERO; 2];
        let mut tok_out = [U256::ZERO; 2];
        // Everyone starts with some ETH and both tokens (the second one unregistered).
        for i in 0..ACTORS {
            let w = apply_queue_message(&s, &params(), &deposit(0, Address::ZERO, who(i), U256::from(50_000_000))).unwrap().writes;
            apply(&mut s, w);
            eth_in += U256::from(50_000_000);
            for (t, total) in tok_in.iter_mut().enumerate() {
                let w = apply_queue_message(&s, &params(), &deposit(0, l1(t), who(i), U256::from(1000))).unwrap().writes;
                apply(&mut s, w);
                *total += U256::from(1000);
            }
        }
        for (index, step) in steps.into_iter().enumerate() {
            let index = index as u64;
            let nonces_before: Vec<u64> = holders.iter().map(|a| s.account(*a).unwrap().nonce).collect();
            match step {
                Step::DepositEth { to, amount } => {
                    let w = apply_queue_message(&s, &params(), &deposit(index, Address::ZERO, who(to), U256::from(amount))).unwrap().writes;
                    apply(&mut s, w);
                    eth_in += U256::from(amount);
                }
                Step::DepositToken { l1: i, to, amount } => {
                    let w = apply_queue_message(&s, &params(), &deposit(index, l1(i), who(to), U256::from(amount))).unwrap().writes;
                    apply(&mut s, w);
                    tok_in[i] += U256::from(amount);
                }
                Step::Register { l1: i } => {
                    let w = apply_queue_message(&s, &params(), &register(index, l1(i), "N", "S", 6)).unwrap().writes;
                    apply(&mut s, w);
                }
                Step::Tx { from, nonce_delta, kind, to, token, amount, legacy: is_legacy, max_fee, priority, gas_limit } => {
                    let sender = who(from);
                    let nonce = s.account(sender).unwrap().nonce.saturating_add_signed(i64::from(nonce_delta));
                    // token index 2 is "not a token".
                    let token_addr = tokens.get(token).copied().unwrap_or(Address::repeat_byte(0x99));
                    let amount = U256::from(if kind == 0 || kind == 2 { amount } else { amount % 1500 });
                    let (target, value, data) = match kind {
                        0 => (who(to), amount, Bytes::new()),
                        1 => (token_addr, U256::ZERO, transfer_data(who(to), amount)),
                        2 => (L2_BRIDGE, U256::ZERO, withdraw_data(Address::ZERO, amount, who(to))),
                        3 => (L2_BRIDGE, U256::ZERO, withdraw_data(token_addr, amount, who(to))),
                        _ => (token_addr, amount, Bytes::from_static(&[1, 2, 3, 4])),
                    };
                    let envelope = if is_legacy {
                        let mut t = legacy(nonce, target, value, data);
                        t.gas_price = max_fee;
                        t.gas_limit = gas_limit;
                        sign(from as u8 + 1, t)
                    } else {
                        let mut t = eip1559(nonce, target, value, data);
                        t.max_fee_per_gas = max_fee;
                        t.max_priority_fee_per_gas = priority;
                        t.gas_limit = gas_limit;
                        sign(from as u8 + 1, t)
                    };
                    let tx = L2Tx::decode(&raw(&envelope), CHAIN_ID).unwrap();
                    let before = s.account(sender).unwrap().nonce;
                    match execute_tx(&s, &p, &tx) {
                        Ok(out) => {
                            if let Some(w) = out.withdrawal {
                                if w.l1_token.is_zero() {
                                    eth_out += w.amount;
                                } else {
                                    let i = (0..2).find(|i| l1(*i) == w.l1_token).unwrap();
                                    tok_out[i] += w.amount;
                                }
                            }
                            apply(&mut s, out.writes);
                            prop_assert_eq!(s.account(sender).unwrap().nonce, before + 1);
                        }
                        Err(e) => {
                            prop_assert!(e.is_invalid_tx(), "{}", e);
                            prop_assert_eq!(s.account(sender).unwrap().nonce, before);
                        }
                    }
                }
            }
            for (a, before) in holders.iter().zip(nonces_before) {
                prop_assert!(s.account(*a).unwrap().nonce >= before);
            }
            let eth: U256 = holders.iter().map(|a| s.account(*a).unwrap().balance).sum();
            prop_assert_eq!(eth + eth_out, eth_in);
            for (i, token) in tokens.iter().enumerate() {
                let supply = s.token(*token).unwrap().map(|t| t.total_supply).unwrap_or_default();
                let sum: U256 = holders.iter().map(|a| s.token_balance(*a, *token).unwrap()).sum();
                prop_assert_eq!(sum, supply);
                prop_assert_eq!(supply + tok_out[i], tok_in[i]);
            }
        }
    }
}
