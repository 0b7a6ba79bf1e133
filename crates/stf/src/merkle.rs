//! The two Merkle trees a batch commits to: the positional tree of step roots (§3.3) and the
//! withdrawal tree (§4, OpenZeppelin `MerkleProof` compatible).

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::SolValue;

/// `keccak256(a ‖ b)`.
fn hash_pair(a: &B256, b: &B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(a.as_slice());
    buf[32..].copy_from_slice(b.as_slice());
    keccak256(buf)
}

/// OpenZeppelin's commutative pair hash: `keccak256(min(a, b) ‖ max(a, b))`.
fn hash_sorted(a: &B256, b: &B256) -> B256 {
    if a <= b {
        hash_pair(a, b)
    } else {
        hash_pair(b, a)
    }
}

/// The levels of the positional step-roots tree, leaves first, padded to a power of two.
fn step_levels(roots: &[B256]) -> Vec<Vec<B256>> {
    let mut level = roots.to_vec();
    level.resize(roots.len().next_power_of_two(), B256::ZERO);
    let mut levels = vec![level];
    while levels.last().is_some_and(|l| l.len() > 1) {
        let next = levels
            .last()
            .map(|l| l.chunks(2).map(|p| hash_pair(&p[0], &p[1])).collect());
        levels.push(next.unwrap_or_default());
    }
    levels
}

/// `stepRootsRoot` (§3.3): the positional Merkle root over the state root after every step, padded
/// with zero leaves to a power of two, node = `keccak256(left ‖ right)`. One leaf is its own root;
/// no leaves give `bytes32(0)`.
pub fn step_roots_root(roots: &[B256]) -> B256 {
    if roots.is_empty() {
        return B256::ZERO;
    }
    step_levels(roots)
        .last()
        .and_then(|l| l.first().copied())
        .unwrap_or_default()
}

/// The proof of leaf `index` of the step-roots tree: sibling hashes from the leaf up. `None` if
/// `index` is out of range.
pub fn step_roots_proof(roots: &[B256], index: usize) -> Option<Vec<B256>> {
    if index >= roots.len() {
        return None;
    }
    let levels = step_levels(roots);
    let mut i = index;
    let mut proof = Vec::with_capacity(levels.len() - 1);
    for level in &levels[..levels.len() - 1] {
        proof.push(level[i ^ 1]);
        i /= 2;
    }
    Some(proof)
}

/// Checks a step-roots proof: leaf `leaf` at position `index` under `root`.
pub fn verify_step_root(root: B256, index: u64, leaf: B256, proof: &[B256]) -> bool {
    let mut node = leaf;
    let mut i = index;
    for sibling in proof {
        node = if i & 1 == 0 {
            hash_pair(&node, sibling)
        } else {
            hash_pair(sibling, &node)
        };
        i >>= 1;
    }
    i == 0 && node == root
}

/// A withdrawal to L1 (§4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withdrawal {
    /// The L2 account that withdrew.
    pub l2_sender: Address,
    /// Nonce of the L2 transaction that made it (unique per sender).
    pub nonce: u64,
    /// Who is paid on L1.
    pub l1_recipient: Address,
    /// The L1 token, 0 for ETH.
    pub l1_token: Address,
    /// Amount.
    pub amount: U256,
}

impl Withdrawal {
    /// `abi.encode(l2Sender, nonce, l1Recipient, l1Token, amount)`.
    pub fn abi_encode(&self) -> Vec<u8> {
        (
            self.l2_sender,
            U256::from(self.nonce),
            self.l1_recipient,
            self.l1_token,
            self.amount,
        )
            .abi_encode_params()
    }

    /// The tree leaf: `keccak256(keccak256(abi.encode(...)))` (OpenZeppelin's double hash).
    pub fn leaf(&self) -> B256 {
        keccak256(keccak256(self.abi_encode()))
    }
}

/// The levels of the withdrawal tree, leaves first; an odd last node is carried up unchanged.
fn withdrawal_levels(withdrawals: &[Withdrawal]) -> Vec<Vec<B256>> {
    let mut levels = vec![withdrawals.iter().map(Withdrawal::leaf).collect::<Vec<_>>()];
    while levels.last().is_some_and(|l| l.len() > 1) {
        let next = levels.last().map(|l| {
            l.chunks(2)
                .map(|p| {
                    if p.len() == 2 {
                        hash_sorted(&p[0], &p[1])
                    } else {
                        p[0]
                    }
                })
                .collect()
        });
        levels.push(next.unwrap_or_default());
    }
    levels
}

/// `withdrawalRoot` (§4) over `withdrawals` in step order; `bytes32(0)` for none.
pub fn withdrawal_root(withdrawals: &[Withdrawal]) -> B256 {
    withdrawal_levels(withdrawals)
        .last()
        .and_then(|l| l.first().copied())
        .unwrap_or_default()
}

/// The OpenZeppelin `MerkleProof` proof of withdrawal `index`: sibling hashes from the leaf up
/// (levels where the node is carried up contribute none). `None` if out of range.
pub fn withdrawal_proof(withdrawals: &[Withdrawal], index: usize) -> Option<Vec<B256>> {
    if index >= withdrawals.len() {
        return None;
    }
    let levels = withdrawal_levels(withdrawals);
    let mut i = index;
    let mut proof = Vec::new();
    for level in &levels[..levels.len() - 1] {
        if let Some(sibling) = level.get(i ^ 1) {
            proof.push(*sibling);
        }
        i /= 2;
    }
    Some(proof)
}

/// OpenZeppelin `MerkleProof.verify`: hashes `leaf` with each proof element (commutatively) and
/// compares with `root`.
pub fn verify_withdrawal(root: B256, leaf: B256, proof: &[B256]) -> bool {
    proof
        .iter()
        .fold(leaf, |node, sibling| hash_sorted(&node, sibling))
        == root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn withdrawal(i: u64) -> Withdrawal {
        Withdrawal {
            l2_sender: Address::with_last_byte(i as u8),
            nonce: i,
            l1_recipient: Address::repeat_byte(0x11),
            l1_token: Address::ZERO,
            amount: U256::from(i + 1),
        }
    }

    #[test]
    fn withdrawal_proofs_verify_for_every_index_and_size() {
        assert_eq!(withdrawal_root(&[]), B256::ZERO);
        for n in 1..=17u64 {
            let ws: Vec<_> = (0..n).map(withdrawal).collect();
            let root = withdrawal_root(&ws);
            for (i, w) in ws.iter().enumerate() {
                let proof = withdrawal_proof(&ws, i).unwrap();
                assert!(verify_withdrawal(root, w.leaf(), &proof), "n={n} i={i}");
                assert!(!verify_withdrawal(root, withdrawal(99).leaf(), &proof));
            }
            assert!(withdrawal_proof(&ws, n as usize).is_none());
        }
        let one = [withdrawal(0)];
        assert_eq!(withdrawal_root(&one), one[0].leaf());
        assert!(withdrawal_proof(&one, 0).unwrap().is_empty());
    }

    #[test]
    fn odd_node_is_carried_up() {
        let ws: Vec<_> = (0..3).map(withdrawal).collect();
        let [a, b, c] = [ws[0].leaf(), ws[1].leaf(), ws[2].leaf()];
        assert_eq!(withdrawal_root(&ws), hash_sorted(&hash_sorted(&a, &b), &c));
        assert_eq!(withdrawal_proof(&ws, 2).unwrap(), vec![hash_sorted(&a, &b)]);
    }

    #[test]
    fn withdrawal_leaf_is_double_hashed_abi_encoding() {
        let w = withdrawal(5);
        let enc = w.abi_encode();
        assert_eq!(enc.len(), 5 * 32);
        assert_eq!(&enc[12..32], w.l2_sender.as_slice());
        assert_eq!(U256::from_be_slice(&enc[32..64]), U256::from(5));
        assert_eq!(w.leaf(), keccak256(keccak256(&enc)));
    }

    #[test]
    fn step_roots_tree() {
        assert_eq!(step_roots_root(&[]), B256::ZERO);
        let r: Vec<B256> = (1..=5u8).map(B256::repeat_byte).collect();
        assert_eq!(step_roots_root(&r[..1]), r[0]);
        assert_eq!(step_roots_root(&r[..2]), hash_pair(&r[0], &r[1]));
        let z = B256::ZERO;
        assert_eq!(
            step_roots_root(&r[..3]),
            hash_pair(&hash_pair(&r[0], &r[1]), &hash_pair(&r[2], &z))
        );
        for n in 1..=9usize {
            // Distinct leaves, so a proof opened at another index must fail.
            let leaves: Vec<B256> = (0..n).map(|i| B256::with_last_byte(i as u8 + 1)).collect();
            let root = step_roots_root(&leaves);
            for (i, leaf) in leaves.iter().enumerate() {
                let proof = step_roots_proof(&leaves, i).unwrap();
                assert_eq!(proof.len(), n.next_power_of_two().trailing_zeros() as usize);
                assert!(verify_step_root(root, i as u64, *leaf, &proof));
                assert!(!verify_step_root(root, i as u64 + 1, *leaf, &proof));
            }
            assert!(step_roots_proof(&leaves, n).is_none());
        }
    }
}
