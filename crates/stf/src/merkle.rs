//! The two Merkle trees a batch commits to: the positional tree of step roots (§3.3) and the
//! positional withdrawal tree (`docs/fraud-proofs.md` §4).

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::SolValue;

use crate::leaf::{W_DEPTH, zero_hashes};

/// `keccak256(a ‖ b)`.
fn hash_pair(a: &B256, b: &B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(a.as_slice());
    buf[32..].copy_from_slice(b.as_slice());
    keccak256(buf)
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

// ---------------------------------------------------------------------------------------------
// Positional trees (`docs/fraud-proofs.md` §2–§4): step leaves, data chunks, withdrawals v2.

/// The root of the positional Merkle tree over `leaves`, padded with `bytes32(0)` leaves to a
/// power of two, node `keccak256(left ‖ right)`; one leaf is its own root; none give
/// `bytes32(0)`. Depth `ceil(log2(n))`.
pub fn positional_root(leaves: &[B256]) -> B256 {
    step_roots_root(leaves)
}

/// The path of leaf `index` in [`positional_root`]'s tree: siblings from the leaf up (left or
/// right by the bits of `index`). `None` if `index` is out of range.
pub fn positional_proof(leaves: &[B256], index: usize) -> Option<Vec<B256>> {
    step_roots_proof(leaves, index)
}

/// Checks a positional path: `leaf` at position `index` under `root`.
pub fn verify_positional(root: B256, index: u64, leaf: B256, proof: &[B256]) -> bool {
    verify_step_root(root, index, leaf, proof)
}

/// The positional withdrawal tree of a batch (§4 of `docs/fraud-proofs.md`): depth
/// [`W_DEPTH`], leaf `i` the `i`-th withdrawal's [`Withdrawal::leaf`], empty slots 0. Insertion is
/// incremental (the root after each one in O(depth)); the siblings of any slot are computed from
/// the leaves.
#[derive(Debug, Clone)]
pub struct WithdrawalTree {
    leaves: Vec<B256>,
    /// `frontier[k]`: the last complete left subtree of height `k` on the insertion path.
    frontier: [B256; W_DEPTH],
    root: B256,
    zeros: [B256; W_DEPTH + 1],
}

impl Default for WithdrawalTree {
    fn default() -> Self {
        Self::new()
    }
}

impl WithdrawalTree {
    /// Most leaves: `2^W_DEPTH`.
    pub const CAPACITY: usize = 1 << W_DEPTH;

    /// An empty tree (root `z_16`).
    pub fn new() -> Self {
        let zeros = zero_hashes();
        Self {
            leaves: Vec::new(),
            frontier: [B256::ZERO; W_DEPTH],
            root: zeros[W_DEPTH],
            zeros,
        }
    }

    /// Number of leaves inserted (`wCount`).
    pub fn len(&self) -> u64 {
        self.leaves.len() as u64
    }

    /// Whether no leaf was inserted.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// The current root (`wRoot`).
    pub fn root(&self) -> B256 {
        self.root
    }

    /// The leaves in slot order.
    pub fn leaves(&self) -> &[B256] {
        &self.leaves
    }

    /// Inserts `leaf` at slot [`Self::len`] and returns the new root; `None` (and no change) when
    /// the tree is full.
    pub fn push(&mut self, leaf: B256) -> Option<B256> {
        let index = self.leaves.len();
        if index >= Self::CAPACITY {
            return None;
        }
        let mut node = leaf;
        for k in 0..W_DEPTH {
            if (index >> k) & 1 == 0 {
                self.frontier[k] = node;
                node = hash_pair(&node, &self.zeros[k]);
            } else {
                node = hash_pair(&self.frontier[k], &node);
            }
        }
        self.leaves.push(leaf);
        self.root = node;
        Some(node)
    }

    /// The [`W_DEPTH`] siblings of slot `index` from the leaf up, in the tree as it is now (for
    /// an empty slot: the witness of inserting there). Slots past the capacity get zero siblings.
    pub fn siblings(&self, index: usize) -> [B256; W_DEPTH] {
        let mut out = [B256::ZERO; W_DEPTH];
        if index >= Self::CAPACITY {
            return out;
        }
        let mut level = self.leaves.clone();
        let mut i = index;
        for (k, sibling) in out.iter_mut().enumerate() {
            *sibling = level.get(i ^ 1).copied().unwrap_or(self.zeros[k]);
            level = level
                .chunks(2)
                .map(|p| hash_pair(&p[0], p.get(1).unwrap_or(&self.zeros[k])))
                .collect();
            i >>= 1;
        }
        out
    }
}

/// The root of a path: `leaf` at slot `index` hashed up with `siblings` (leaf up).
pub fn withdrawal_path_root(leaf: B256, index: u64, siblings: &[B256; W_DEPTH]) -> B256 {
    let mut node = leaf;
    for (k, sibling) in siblings.iter().enumerate() {
        node = if (index >> k) & 1 == 0 {
            hash_pair(&node, sibling)
        } else {
            hash_pair(sibling, &node)
        };
    }
    node
}

fn tree_of(withdrawals: &[Withdrawal]) -> WithdrawalTree {
    let mut tree = WithdrawalTree::new();
    for w in withdrawals.iter().take(WithdrawalTree::CAPACITY) {
        tree.push(w.leaf());
    }
    tree
}

/// `withdrawalRoot` (v2): the positional tree's root over `withdrawals` in step order;
/// [`crate::empty_withdrawal_root`] for none. Withdrawals past 2^16 are ignored (a batch cannot
/// hold them).
pub fn withdrawal_root_v2(withdrawals: &[Withdrawal]) -> B256 {
    tree_of(withdrawals).root()
}

/// The 16 siblings of withdrawal `index` (what `claimWithdrawal` takes).
pub fn withdrawal_siblings(withdrawals: &[Withdrawal], index: usize) -> [B256; W_DEPTH] {
    tree_of(withdrawals).siblings(index)
}

/// Checks a v2 claim: `leaf` at slot `index` with `siblings` under `root` (`index < 2^16`).
pub fn verify_withdrawal_v2(
    root: B256,
    leaf: B256,
    index: u64,
    siblings: &[B256; W_DEPTH],
) -> bool {
    index < WithdrawalTree::CAPACITY as u64 && withdrawal_path_root(leaf, index, siblings) == root
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

    #[test]
    fn positional_withdrawal_tree() {
        let z = zero_hashes();
        let mut tree = WithdrawalTree::new();
        assert_eq!(tree.root(), z[W_DEPTH]);
        assert_eq!(withdrawal_root_v2(&[]), z[W_DEPTH]);
        assert_eq!(
            tree.siblings(0),
            <[B256; W_DEPTH]>::try_from(&z[..W_DEPTH]).unwrap()
        );
        let ws: Vec<_> = (0..13u64).map(withdrawal).collect();
        for (n, w) in ws.iter().enumerate() {
            // The slot is empty: its siblings prove the old root with 0 and give the new one.
            let s = tree.siblings(n);
            assert_eq!(withdrawal_path_root(B256::ZERO, n as u64, &s), tree.root());
            let root = tree.push(w.leaf()).unwrap();
            assert_eq!(root, withdrawal_path_root(w.leaf(), n as u64, &s), "n={n}");
            assert_eq!(root, withdrawal_root_v2(&ws[..=n]));
            assert_eq!(tree.len(), n as u64 + 1);
            for (i, x) in ws[..=n].iter().enumerate() {
                let s = withdrawal_siblings(&ws[..=n], i);
                assert!(verify_withdrawal_v2(root, x.leaf(), i as u64, &s));
                assert!(!verify_withdrawal_v2(root, x.leaf(), i as u64 ^ 1, &s));
                assert!(!verify_withdrawal_v2(
                    root,
                    withdrawal(99).leaf(),
                    i as u64,
                    &s
                ));
            }
        }
        // Two leaves by hand: H(H(a ‖ b) ‖ z1), then up with z2 .. z15.
        let (a, b) = (ws[0].leaf(), ws[1].leaf());
        let mut node = hash_pair(&a, &b);
        for zk in &z[1..W_DEPTH] {
            node = hash_pair(&node, zk);
        }
        assert_eq!(withdrawal_root_v2(&ws[..2]), node);
        assert!(!verify_withdrawal_v2(
            node,
            a,
            1 << 16,
            &[B256::ZERO; W_DEPTH]
        ));
    }

    #[test]
    fn withdrawal_tree_is_full_at_capacity() {
        let mut tree = WithdrawalTree::new();
        for i in 0..WithdrawalTree::CAPACITY {
            tree.push(B256::with_last_byte(i as u8)).unwrap();
        }
        let root = tree.root();
        assert_eq!(tree.push(B256::ZERO), None);
        assert_eq!(tree.root(), root);
        let last = WithdrawalTree::CAPACITY - 1;
        let s = tree.siblings(last);
        assert_eq!(
            withdrawal_path_root(B256::with_last_byte(last as u8), last as u64, &s),
            root
        );
    }
}
