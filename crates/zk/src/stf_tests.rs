//! Tests of the state transition over whole batches.

use ark_ff::AdditiveGroup;

use crate::{
    Fr,
    keys::SecretKey,
    pubdata,
    stf::{GeneralOp, OpError, TransferOp, ZkParams, apply_batch},
    testing,
    tree::{Account, AccountTree},
};

const P: ZkParams = ZkParams {
    tree_depth: 8,
    batch_general: 2,
    batch_transfers: 3,
    chain_id: 42,
};

fn key(i: u32) -> SecretKey {
    testing::dev_key(i)
}

/// A tree with accounts 0..n registered with `key(i)` and `balance` each.
fn genesis(n: u32, balance: u128) -> AccountTree {
    testing::dev_genesis(P.tree_depth, n, balance)
}

fn transfer(from: u32, to: u32, amount: u128, fee: u128, nonce: u32) -> TransferOp {
    testing::signed_transfer(P.chain_id, &key(from), from, to, amount, fee, nonce)
}

fn withdraw(account: u32, amount: u128, fee: u128, nonce: u32) -> GeneralOp {
    testing::signed_withdraw(P.chain_id, &key(account), account, amount, fee, nonce)
}

#[test]
fn transfers_move_balances_and_fees_go_to_account_0() {
    let mut t = genesis(3, 1000);
    let b = apply_batch(
        P,
        &mut t,
        &[],
        &[
            transfer(1, 2, 100, 5, 0),
            transfer(2, 1, 30, 1, 0),
            transfer(1, 1, 7, 2, 1),
        ],
    )
    .unwrap();
    assert_eq!(t.account(1).balance, 1000 - 100 - 5 + 30 - 2);
    assert_eq!(t.account(2).balance, 1000 + 100 - 30 - 1);
    assert_eq!(t.account(0).balance, 1000 + 8);
    assert_eq!((t.account(1).nonce, t.account(2).nonce), (2, 1));
    assert_eq!(b.fee_total, 8);
    assert_eq!(b.new_root, t.root());
    assert_eq!(b.pubdata.len(), P.pubdata_len());
    // Every witnessed path opens to the root the slot started from.
    let mut root = b.old_root;
    for g in &b.general {
        assert_eq!(
            g.account
                .path
                .root(g.account.index, leaf(&g.account.fields)),
            root
        );
    }
    for w in &b.transfers {
        assert_eq!(
            w.sender.path.root(w.sender.index, leaf(&w.sender.fields)),
            root
        );
        if let Some(op) = w.op {
            let [ax, ay, bal, n] = w.sender.fields;
            let after = [
                ax,
                ay,
                bal - Fr::from(
                    crate::pack::unpack_amount(op.amount) + crate::pack::unpack_fee(op.fee),
                ),
                n + Fr::from(1u64),
            ];
            let mid = w.sender.path.root(w.sender.index, leaf(&after));
            assert_eq!(
                w.recipient
                    .path
                    .root(w.recipient.index, leaf(&w.recipient.fields)),
                mid
            );
            let [rx, ry, rb, rn] = w.recipient.fields;
            root = w.recipient.path.root(
                w.recipient.index,
                leaf(&[
                    rx,
                    ry,
                    rb + Fr::from(crate::pack::unpack_amount(op.amount)),
                    rn,
                ]),
            );
        }
    }
    let pd = pubdata::decode(&P, &b.pubdata).unwrap();
    assert_eq!(
        pd.transfers[0],
        pubdata::TransferChunk {
            from: 1,
            to: 2,
            amount: 100,
            fee: 5
        }
    );
    assert!(pd.general.iter().all(|g| g.kind == 0));
}

fn leaf(f: &[Fr; 4]) -> Fr {
    crate::tree::leaf_hash(f[0], f[1], f[2], f[3])
}

#[test]
fn every_refusal_leaves_the_state_alone() {
    let base = genesis(3, 1000);
    let root = base.root();
    let mut bad_sig = transfer(1, 2, 10, 0, 0);
    bad_sig.amount += 1;
    let cases: Vec<(Vec<GeneralOp>, Vec<TransferOp>, OpError)> = vec![
        (vec![], vec![bad_sig], OpError::BadSignature),
        (
            vec![],
            vec![transfer(1, 2, 10, 0, 1)],
            OpError::BadNonce {
                got: 1,
                expected: 0,
            },
        ),
        (
            vec![],
            vec![transfer(1, 2, 1000, 1, 0)],
            OpError::InsufficientBalance {
                have: 1000,
                need: 1001,
            },
        ),
        (
            vec![],
            vec![transfer(1, 5, 10, 0, 0)],
            OpError::NotRegistered(5),
        ),
        (
            vec![],
            vec![transfer(1, 300, 10, 0, 0)],
            OpError::NoSuchAccount(300),
        ),
        (
            vec![withdraw(1, 999, 2, 0)],
            vec![],
            OpError::InsufficientBalance {
                have: 1000,
                need: 1001,
            },
        ),
        (
            vec![withdraw(1, 10, 0, 3)],
            vec![],
            OpError::BadNonce {
                got: 3,
                expected: 0,
            },
        ),
        (
            vec![GeneralOp::Deposit {
                account: 1,
                amount: u128::MAX,
            }],
            vec![],
            OpError::Overflow,
        ),
        (
            vec![GeneralOp::SetKey {
                account: 3,
                key: [0x3f; 32],
            }],
            vec![],
            OpError::BadKey,
        ),
        (vec![GeneralOp::Noop; 3], vec![], OpError::BatchFull),
    ];
    for (g, tr, want) in cases {
        let mut t = base.clone();
        let err = apply_batch(P, &mut t, &g, &tr).unwrap_err();
        assert_eq!(err.1, want);
        assert_eq!(t.root(), root);
    }
}

#[test]
fn general_ops_register_deposit_withdraw_and_exit() {
    let mut t = genesis(1, 0);
    let k = key(1).public();
    let b = apply_batch(
        P,
        &mut t,
        &[
            GeneralOp::SetKey {
                account: 1,
                key: k.compress(),
            },
            GeneralOp::Deposit {
                account: 1,
                amount: 500,
            },
        ],
        &[],
    )
    .unwrap();
    assert_eq!(t.account(1).xy(), k.xy());
    assert_eq!(t.account(1).balance, 500);
    assert_eq!(b.general[0].key_x, k.0.x);
    apply_batch(
        P,
        &mut t,
        &[withdraw(1, 100, 3, 0), GeneralOp::ForcedExit { account: 1 }],
        &[],
    )
    .unwrap();
    assert_eq!(t.account(1).balance, 0);
    assert_eq!(t.account(0).balance, 3);
    let mut t2 = genesis(2, 50);
    let b = apply_batch(P, &mut t2, &[GeneralOp::ForcedExit { account: 1 }], &[]).unwrap();
    assert_eq!(b.general[0].chunk.amount, 50);
    assert_eq!(t2.account(1).balance, Fr::ZERO.into_bigint_u128());
}

trait U128 {
    fn into_bigint_u128(self) -> u128;
}
impl U128 for Fr {
    fn into_bigint_u128(self) -> u128 {
        crate::tree::fr_to_u128(self).unwrap()
    }
}

impl Account {
    fn xy(&self) -> (Fr, Fr) {
        (self.ax, self.ay)
    }
}
