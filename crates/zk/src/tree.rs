//! The account tree: a fixed-depth quaternary Poseidon Merkle tree (`docs/zk-rollup.md` §2).
//!
//! Written here rather than taken from a Merkle crate: the tree's node rule (`H4` of four
//! children, empty subtrees of empty accounts) is part of the protocol and the circuit opens
//! exactly this shape; arkworks' `merkle_tree` is binary only.

use std::collections::HashMap;

use ark_ff::AdditiveGroup;

use crate::{Fr, poseidon::h4};

/// An account: public key, ETH balance, nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Account {
    /// Key x (0 while unregistered).
    pub ax: Fr,
    /// Key y (0 while unregistered).
    pub ay: Fr,
    /// Balance in wei.
    pub balance: u128,
    /// Nonce.
    pub nonce: u32,
}

impl Account {
    /// The leaf value `H4(ax, ay, balance, nonce)`.
    pub fn hash(&self) -> Fr {
        leaf_hash(
            self.ax,
            self.ay,
            Fr::from(self.balance),
            Fr::from(u64::from(self.nonce)),
        )
    }

    /// Registered: a key is set (`ay ≠ 0`).
    pub fn registered(&self) -> bool {
        self.ay != Fr::ZERO
    }
}

/// The leaf value of raw fields (also for values no valid account has, which the circuit tests
/// need).
pub fn leaf_hash(ax: Fr, ay: Fr, balance: Fr, nonce: Fr) -> Fr {
    h4(&[ax, ay, balance, nonce])
}

/// A field element as an integer, if below 2^128.
pub fn fr_to_u128(x: Fr) -> Option<u128> {
    use ark_ff::PrimeField;
    let limbs = x.into_bigint().0;
    (limbs[2] == 0 && limbs[3] == 0).then(|| u128::from(limbs[0]) | (u128::from(limbs[1]) << 64))
}

/// The siblings of one account's path, bottom level first: at each level the three other
/// children of the node, in positional order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerklePath {
    /// `siblings[0]` is the leaf's level.
    pub siblings: Vec<[Fr; 3]>,
}

impl MerklePath {
    /// The root reached from `leaf` at `index` through these siblings.
    pub fn root(&self, index: u32, leaf: Fr) -> Fr {
        let mut cur = leaf;
        for (level, sib) in self.siblings.iter().enumerate() {
            cur = h4(&children(digit(index, level), cur, sib));
        }
        cur
    }
}

/// The base-4 digit of `index` at `level` (0 = the leaf's level: the lowest two bits).
pub fn digit(index: u32, level: usize) -> usize {
    ((index >> (2 * level)) & 3) as usize
}

/// The four children of a node whose child at position `d` is `cur` and whose others are `sib`.
pub fn children(d: usize, cur: Fr, sib: &[Fr; 3]) -> [Fr; 4] {
    let mut out = [Fr::ZERO; 4];
    let mut s = 0;
    for (j, slot) in out.iter_mut().enumerate() {
        if j == d {
            *slot = cur;
        } else {
            *slot = sib[s];
            s += 1;
        }
    }
    out
}

/// The account tree with its accounts, in memory.
#[derive(Debug, Clone)]
pub struct AccountTree {
    depth: u8,
    /// Hashes of empty subtrees by height: `empty[0]` is the empty account's leaf.
    empty: Vec<Fr>,
    /// Non-empty nodes by (height, index at that height); height 0 are leaves.
    nodes: HashMap<(u8, u32), Fr>,
    /// Leaf fields `[ax, ay, balance, nonce]` of written accounts: field elements, so that
    /// witnesses of refused operations (a negative balance) can be built for circuit tests.
    accounts: HashMap<u32, [Fr; 4]>,
}

impl AccountTree {
    /// An empty tree of `2^depth` accounts (`depth` even, 2..=32).
    pub fn new(depth: u8) -> Self {
        assert!(
            depth.is_multiple_of(2) && (2..=32).contains(&depth),
            "tree depth must be even, 2..=32"
        );
        let mut empty = vec![Account::default().hash()];
        for h in 0..depth / 2 {
            let e = empty[h as usize];
            empty.push(h4(&[e, e, e, e]));
        }
        Self {
            depth,
            empty,
            nodes: HashMap::new(),
            accounts: HashMap::new(),
        }
    }

    /// Depth in bits.
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// Levels of the quaternary tree (`depth / 2`).
    pub fn levels(&self) -> usize {
        usize::from(self.depth / 2)
    }

    /// Number of accounts the tree can hold.
    pub fn capacity(&self) -> u64 {
        1u64 << self.depth
    }

    /// The root.
    pub fn root(&self) -> Fr {
        self.node(self.depth / 2, 0)
    }

    fn node(&self, height: u8, index: u32) -> Fr {
        self.nodes
            .get(&(height, index))
            .copied()
            .unwrap_or(self.empty[height as usize])
    }

    /// The account at `index` (empty if never written).
    ///
    /// Panics if the leaf holds values no account has (only circuit tests write those).
    pub fn account(&self, index: u32) -> Account {
        let [ax, ay, b, n] = self.fields(index);
        Account {
            ax,
            ay,
            balance: fr_to_u128(b).expect("balance below 2^128"),
            nonce: fr_to_u128(n)
                .and_then(|n| u32::try_from(n).ok())
                .expect("nonce below 2^32"),
        }
    }

    /// The raw leaf fields `[ax, ay, balance, nonce]` of `index`.
    pub fn fields(&self, index: u32) -> [Fr; 4] {
        self.accounts.get(&index).copied().unwrap_or([Fr::ZERO; 4])
    }

    /// Indices of every written account, in no particular order.
    pub fn indices(&self) -> impl Iterator<Item = u32> + '_ {
        self.accounts.keys().copied()
    }

    /// The path of `index`.
    pub fn path(&self, index: u32) -> MerklePath {
        let mut siblings = Vec::with_capacity(self.levels());
        let mut idx = index;
        for h in 0..self.depth / 2 {
            let base = idx & !3;
            let d = idx & 3;
            let mut sib = [Fr::ZERO; 3];
            let mut s = 0;
            for j in 0..4 {
                if j != d {
                    sib[s] = self.node(h, base + j);
                    s += 1;
                }
            }
            siblings.push(sib);
            idx >>= 2;
        }
        MerklePath { siblings }
    }

    /// Writes an account and updates the path to the root.
    pub fn set(&mut self, index: u32, account: Account) {
        assert!(
            u64::from(index) < self.capacity(),
            "account index beyond the tree"
        );
        self.set_fields(
            index,
            [
                account.ax,
                account.ay,
                Fr::from(account.balance),
                Fr::from(u64::from(account.nonce)),
            ],
        );
    }

    /// Writes raw leaf fields and updates the path to the root. Also for values no valid
    /// account has, which witnesses of refused operations need.
    pub fn set_fields(&mut self, index: u32, fields: [Fr; 4]) {
        assert!(
            u64::from(index) < self.capacity(),
            "account index beyond the tree"
        );
        self.accounts.insert(index, fields);
        let [ax, ay, b, n] = fields;
        self.set_leaf_hash(index, leaf_hash(ax, ay, b, n));
    }

    fn set_leaf_hash(&mut self, index: u32, leaf: Fr) {
        let mut idx = index;
        let mut cur = leaf;
        for h in 0..self.depth / 2 {
            self.nodes.insert((h, idx), cur);
            let base = idx & !3;
            let c = [0, 1, 2, 3].map(|j| self.node(h, base + j));
            cur = h4(&c);
            idx >>= 2;
        }
        self.nodes.insert((self.depth / 2, 0), cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn acct(b: u128, n: u32) -> Account {
        Account {
            ax: Fr::from(3u64),
            ay: Fr::from(4u64),
            balance: b,
            nonce: n,
        }
    }

    #[test]
    fn empty_tree_root_is_the_empty_subtree() {
        let t = AccountTree::new(4);
        let e0 = Account::default().hash();
        let e1 = h4(&[e0; 4]);
        assert_eq!(t.root(), h4(&[e1; 4]));
    }

    #[test]
    fn paths_open_to_the_root() {
        let mut t = AccountTree::new(8);
        for (i, b) in [(0u32, 5u128), (1, 6), (17, 7), (255, 8), (128, 9)] {
            t.set(i, acct(b, i));
        }
        for i in [0u32, 1, 2, 17, 100, 128, 255] {
            let p = t.path(i);
            assert_eq!(p.siblings.len(), 4);
            assert_eq!(p.root(i, t.account(i).hash()), t.root(), "index {i}");
        }
    }

    proptest! {
        #[test]
        fn root_depends_on_contents_not_order(mut writes in proptest::collection::vec((0u32..64, 0u128..1000), 1..12)) {
            let mut a = AccountTree::new(6);
            for (i, b) in &writes { a.set(*i, acct(*b, 0)); }
            // The final content, written once each in reverse index order.
            let mut last: HashMap<u32, u128> = HashMap::new();
            for (i, b) in &writes { last.insert(*i, *b); }
            writes.sort_by_key(|w| std::cmp::Reverse(w.0));
            let mut b = AccountTree::new(6);
            for (i, v) in &last { b.set(*i, acct(*v, 0)); }
            prop_assert_eq!(a.root(), b.root());
        }
    }
}
