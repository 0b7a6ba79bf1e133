//! Deterministic development keys and signed operations, shared by the tests, examples and
//! benchmarks of the zk crates. Not for real funds: the keys are public.

use crate::{
    Account, AccountTree, GeneralOp, SecretKey, TransferOp,
    pack::{pack_amount, pack_fee},
    stf::{transfer_message, withdraw_message},
};

/// The `i`-th development key (secret scalar `i + 1`).
pub fn dev_key(i: u32) -> SecretKey {
    let mut b = [0u8; 32];
    b[28..].copy_from_slice(&(i + 1).to_be_bytes());
    SecretKey::from_bytes(&b).expect("a non-zero scalar")
}

/// A tree of depth `depth` with accounts `0..n` registered with `dev_key(i)`, `balance` each.
pub fn dev_genesis(depth: u8, n: u32, balance: u128) -> AccountTree {
    let mut t = AccountTree::new(depth);
    for i in 0..n {
        let (ax, ay) = dev_key(i).public().xy();
        t.set(
            i,
            Account {
                ax,
                ay,
                balance,
                nonce: 0,
            },
        );
    }
    t
}

/// A transfer signed by `key`; `amount` and `fee` must be representable packed amounts.
pub fn signed_transfer(
    chain_id: u64,
    key: &SecretKey,
    from: u32,
    to: u32,
    amount: u128,
    fee: u128,
    nonce: u32,
) -> TransferOp {
    let a = pack_amount(amount).expect("a representable amount");
    let f = pack_fee(fee).expect("a representable fee");
    let sig = key.sign(transfer_message(chain_id, from, to, a, f, nonce));
    TransferOp {
        from,
        to,
        amount: a,
        fee: f,
        nonce,
        sig,
    }
}

/// A withdrawal signed by `key`.
pub fn signed_withdraw(
    chain_id: u64,
    key: &SecretKey,
    account: u32,
    amount: u128,
    fee: u128,
    nonce: u32,
) -> GeneralOp {
    let sig = key.sign(withdraw_message(chain_id, account, nonce, amount, fee));
    GeneralOp::Withdraw {
        account,
        amount,
        fee,
        nonce,
        sig,
    }
}
