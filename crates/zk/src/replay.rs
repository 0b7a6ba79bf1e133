//! Rebuilding the state from L1 alone: the genesis tree and the effect of a verified batch's
//! public data (`docs/zk-rollup.md` §2, §4.2). A prover that did not sequence a batch (another
//! operator's, or anyone's once a queue message is overdue) replays its public data to stay in
//! step; signatures are not needed, the proof on L1 already vouched for them.

use crate::pack::{unpack_amount, unpack_fee};
use crate::pubdata::Pubdata;
use crate::{Account, AccountTree, PublicKey};

/// Why public data cannot be replayed on a tree. L1 only verifies batches whose public data
/// replays, so any of these means the tree is not the one the batch started from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    /// A set-key chunk's key does not decompress.
    #[error("general chunk {0}: the key is not a curve point")]
    BadKey(usize),
    /// A debit is larger than the balance, or a credit overflows.
    #[error("{0}: the balance does not cover it (the tree is not the batch's starting state)")]
    Balance(String),
}

/// The genesis tree of depth `depth`: every account empty except account 0, the fee account,
/// which holds `fee_key` (§2).
pub fn genesis(depth: u8, fee_key: &PublicKey) -> AccountTree {
    let mut t = AccountTree::new(depth);
    let (ax, ay) = fee_key.xy();
    t.set(
        0,
        Account {
            ax,
            ay,
            balance: 0,
            nonce: 0,
        },
    );
    t
}

fn debit(
    tree: &mut AccountTree,
    index: u32,
    amount: u128,
    bump: bool,
    what: &str,
) -> Result<(), ReplayError> {
    let mut a = tree.account(index);
    a.balance = a
        .balance
        .checked_sub(amount)
        .ok_or_else(|| ReplayError::Balance(format!("{what}: account {index}")))?;
    if bump {
        a.nonce = a.nonce.wrapping_add(1);
    }
    tree.set(index, a);
    Ok(())
}

fn credit(tree: &mut AccountTree, index: u32, amount: u128, what: &str) -> Result<(), ReplayError> {
    let mut a = tree.account(index);
    a.balance = a
        .balance
        .checked_add(amount)
        .ok_or_else(|| ReplayError::Balance(format!("{what}: account {index}")))?;
    tree.set(index, a);
    Ok(())
}

/// Applies a decoded batch's public data to `tree`: the general chunks in order, then the
/// transfers, then the fee credit to account 0, exactly as the circuit does. On an error the tree
/// is left as it was.
pub fn apply_pubdata(tree: &mut AccountTree, data: &Pubdata) -> Result<(), ReplayError> {
    let mut work = tree.clone();
    let mut fees = 0u128;
    for (i, c) in data.general.iter().enumerate() {
        match c.kind {
            1 => credit(
                &mut work,
                c.account,
                c.amount,
                &format!("deposit in chunk {i}"),
            )?,
            2 => {
                let key = PublicKey::decompress(&c.data).map_err(|_| ReplayError::BadKey(i))?;
                let mut a = work.account(c.account);
                (a.ax, a.ay) = key.xy();
                work.set(c.account, a);
            }
            3 => {
                let what = format!("forced exit in chunk {i}");
                debit(&mut work, c.account, c.amount, false, &what)?;
                if work.account(c.account).balance != 0 {
                    return Err(ReplayError::Balance(what));
                }
            }
            4 => {
                let need = c.amount.checked_add(c.fee()).ok_or_else(|| {
                    ReplayError::Balance(format!("withdrawal in chunk {i}: overflow"))
                })?;
                debit(
                    &mut work,
                    c.account,
                    need,
                    true,
                    &format!("withdrawal in chunk {i}"),
                )?;
                fees = fees.saturating_add(c.fee());
            }
            _ => {}
        }
    }
    for (i, t) in data.transfers.iter().enumerate() {
        if t.is_noop() {
            continue;
        }
        let (amount, fee) = (unpack_amount(t.amount), unpack_fee(t.fee));
        let what = format!("transfer {i}");
        debit(&mut work, t.from, amount + fee, true, &what)?;
        credit(&mut work, t.to, amount, &what)?;
        fees = fees.saturating_add(fee);
    }
    credit(&mut work, 0, fees, "fee credit")?;
    *tree = work;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pubdata;
    use crate::stf::{GeneralOp, ZkParams, apply_batch};
    use crate::testing::{dev_key, signed_transfer, signed_withdraw};

    #[test]
    fn replaying_public_data_reaches_the_batch_root() {
        let params = ZkParams {
            tree_depth: 8,
            batch_general: 3,
            batch_transfers: 3,
            chain_id: 7,
        };
        let fee_key = dev_key(0).public();
        let mut tree = genesis(8, &fee_key);
        let mut replayed = tree.clone();
        let (k1, k2) = (dev_key(1), dev_key(2));
        let general = [
            GeneralOp::SetKey {
                account: 1,
                key: k1.public().compress(),
            },
            GeneralOp::SetKey {
                account: 2,
                key: k2.public().compress(),
            },
            GeneralOp::Deposit {
                account: 1,
                amount: 5_000_000,
            },
        ];
        let b1 = apply_batch(params, &mut tree, &general, &[]).expect("valid");
        let t = signed_transfer(7, &k1, 1, 2, 1_000_000, 10, 0);
        let w = signed_withdraw(7, &k2, 2, 400_000, 5, 0);
        let exit = GeneralOp::ForcedExit { account: 1 };
        // General slots come first: the withdrawal waits for the batch after the transfer.
        let b2 = apply_batch(params, &mut tree, &[], &[t]).expect("valid");
        let b3 = apply_batch(params, &mut tree, &[w, exit], &[]).expect("valid");
        for b in [b1, b2, b3] {
            let data = pubdata::decode(&params, &b.pubdata).expect("own pubdata decodes");
            apply_pubdata(&mut replayed, &data).expect("replays");
            assert_eq!(replayed.root(), b.new_root);
        }
        assert_eq!(replayed.account(0).balance, 15);
        assert_eq!(replayed.account(1).balance, 0);
    }

    #[test]
    fn a_debit_beyond_the_balance_leaves_the_tree_unchanged() {
        let params = ZkParams {
            tree_depth: 8,
            batch_general: 1,
            batch_transfers: 1,
            chain_id: 7,
        };
        let mut tree = genesis(8, &dev_key(0).public());
        let before = tree.root();
        let mut data = pubdata::decode(&params, &vec![0u8; params.pubdata_len()]).expect("zeros");
        data.transfers[0].from = 3;
        data.transfers[0].to = 4;
        data.transfers[0].amount = 1;
        assert!(matches!(
            apply_pubdata(&mut tree, &data),
            Err(ReplayError::Balance(_))
        ));
        assert_eq!(tree.root(), before);
    }
}
