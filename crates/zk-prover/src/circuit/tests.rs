//! The circuit against the state transition: a batch satisfies the circuit exactly when
//! `loft_zk` accepts it.

use loft_zk::{AccountTree, BatchBuilder, GeneralOp, SecretKey, TransferOp, ZkParams, testing};

use super::*;

const P: ZkParams = ZkParams {
    tree_depth: 8,
    batch_general: 1,
    batch_transfers: 2,
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

/// Whether the circuit accepts the batch built from these operations without checks.
fn circuit_accepts(tree: &AccountTree, general: &[GeneralOp], transfers: &[TransferOp]) -> bool {
    let mut t = tree.clone();
    let mut b = BatchBuilder::new_unchecked(P, &t);
    for g in general {
        if b.push_general(&mut t, *g).is_err() {
            return false;
        }
    }
    for tr in transfers {
        if b.push_transfer(&mut t, Some(*tr)).is_err() {
            return false;
        }
    }
    let Ok(batch) = b.finish(&mut t) else {
        return false;
    };
    // A witness the point formulas cannot even compute is unsatisfiable too.
    matches!(BatchCircuit::new(P, batch).measure(), Ok((_, true)))
}

fn stf_accepts(tree: &AccountTree, general: &[GeneralOp], transfers: &[TransferOp]) -> bool {
    loft_zk::apply_batch(P, &mut tree.clone(), general, transfers).is_ok()
}

#[test]
fn valid_batches_satisfy_and_the_public_input_binds_them() {
    let mut t = genesis(3, 1_000_000);
    let k = key(3).public();
    let set = [GeneralOp::SetKey {
        account: 3,
        key: k.compress(),
    }];
    let batch = loft_zk::apply_batch(
        P,
        &mut t,
        &set,
        &[transfer(1, 3, 500, 3, 0), transfer(2, 2, 7, 0, 0)],
    )
    .unwrap();
    let (report, ok) = BatchCircuit::new(P, batch.clone()).measure().unwrap();
    assert!(ok, "{report:?}");
    assert!(report.transfers > 0 && report.public_input > 0);
    for g in [
        withdraw(1, 100, 2, 1),
        GeneralOp::Deposit {
            account: 2,
            amount: 5,
        },
        GeneralOp::ForcedExit { account: 3 },
        GeneralOp::Noop,
    ] {
        let mut t2 = t.clone();
        let b = loft_zk::apply_batch(P, &mut t2, &[g], &[transfer(2, 1, 1, 1, 1)]).unwrap();
        assert!(BatchCircuit::new(P, b).measure().unwrap().1, "{g:?}");
    }
    // A batch whose public input or new root was changed does not satisfy.
    let mut wrong = batch.clone();
    wrong.pubdata[0] ^= 1;
    assert!(!BatchCircuit::new(P, wrong).measure().unwrap().1);
    let mut wrong = batch;
    wrong.new_root += Fr::ONE;
    assert!(!BatchCircuit::new(P, wrong).measure().unwrap().1);
}

#[test]
fn refused_operations_do_not_satisfy() {
    let t = genesis(3, 1000);
    let mut bad_sig = transfer(1, 2, 10, 0, 0);
    bad_sig.amount += 1;
    let cases: Vec<(&str, Vec<GeneralOp>, Vec<TransferOp>)> = vec![
        ("bad signature", vec![], vec![bad_sig]),
        (
            "other key",
            vec![],
            vec![TransferOp {
                sig: key(2).sign(Fr::ONE),
                ..transfer(1, 2, 10, 0, 0)
            }],
        ),
        ("nonce", vec![], vec![transfer(1, 2, 10, 0, 1)]),
        ("insufficient", vec![], vec![transfer(1, 2, 1000, 1, 0)]),
        (
            "unregistered recipient",
            vec![],
            vec![transfer(1, 5, 10, 0, 0)],
        ),
        ("unregistered sender", vec![], vec![transfer(5, 1, 0, 0, 0)]),
        ("withdraw too much", vec![withdraw(1, 999, 2, 0)], vec![]),
        ("withdraw nonce", vec![withdraw(1, 10, 0, 3)], vec![]),
        (
            "deposit overflow",
            vec![GeneralOp::Deposit {
                account: 1,
                amount: u128::MAX,
            }],
            vec![],
        ),
    ];
    for (name, g, tr) in cases {
        assert!(
            !stf_accepts(&t, &g, &tr),
            "{name}: the state transition refuses"
        );
        assert!(!circuit_accepts(&t, &g, &tr), "{name}: the circuit refuses");
    }
}

#[test]
fn constraints_per_slot_at_2_to_the_24_accounts() {
    let shape = |m, n| {
        let p = ZkParams {
            tree_depth: 24,
            batch_general: m,
            batch_transfers: n,
            chain_id: 1,
        };
        let (r, ok) = BatchCircuit::blank(p).measure().unwrap();
        assert!(ok);
        r
    };
    let one = shape(1, 1);
    let two = shape(1, 2);
    let per_transfer = two.transfers - one.transfers;
    eprintln!(
        "depth 24: {one:?}\nper transfer slot: {per_transfer}, per general slot: {}",
        one.general
    );
    // The goal of issue 7: at most 25,000 constraints per transfer at 2^24 accounts.
    assert!(
        per_transfer <= 25_000,
        "{per_transfer} constraints per transfer"
    );
}
