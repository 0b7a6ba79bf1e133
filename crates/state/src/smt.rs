//! The compact sparse Merkle tree (`docs/rollup.md` §1.1).
//!
//! Binary, keyed by 256-bit keys read most significant bit first (`0` left, `1` right), hashed
//! with keccak256; a subtree with one leaf is that leaf, an empty subtree hashes to zero. New nodes
//! live in an in-memory overlay until [`Smt::take_new_nodes`] hands them to the caller to persist;
//! reads look in the overlay before the store.

use alloy::primitives::map::B256Map;
use alloy::primitives::{B256, keccak256};

use crate::proof::{Proof, Terminal};
use crate::store::{Node, NodeStore};
use crate::{StateError, StateRead, StateWrite};

/// `keccak256(0x00 ‖ key ‖ keccak256(value))`.
pub fn leaf_hash(key: &B256, value: &[u8]) -> B256 {
    leaf_hash_of_value_hash(key, &keccak256(value))
}

/// `keccak256(0x00 ‖ key ‖ value_hash)`: [`leaf_hash`] when only the value's hash is known.
pub fn leaf_hash_of_value_hash(key: &B256, value_hash: &B256) -> B256 {
    let mut buf = [0u8; 65];
    buf[1..33].copy_from_slice(key.as_slice());
    buf[33..].copy_from_slice(value_hash.as_slice());
    keccak256(buf)
}

/// `keccak256(left ‖ right)`, the hash of an internal node.
pub fn internal_hash(left: &B256, right: &B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(left.as_slice());
    buf[32..].copy_from_slice(right.as_slice());
    keccak256(buf)
}

/// Bit `depth` of `key` (`depth` 0 is the most significant bit): `true` goes right.
#[inline]
pub(crate) fn bit(key: &B256, depth: usize) -> bool {
    (key[depth / 8] >> (7 - depth % 8)) & 1 == 1
}

/// The first bit index at which `a` and `b` differ, `None` if they are equal.
#[inline]
pub(crate) fn first_difference(a: &B256, b: &B256) -> Option<usize> {
    a.iter()
        .zip(b.iter())
        .position(|(x, y)| x != y)
        .map(|byte| byte * 8 + (a[byte] ^ b[byte]).leading_zeros() as usize)
}

/// The hash of the subtree at depth `d` holding exactly the leaves `a` (key `key_a`) and `b` (key
/// `key_b`), for keys that share their first `d` bits and differ: the internal node of both at
/// the first differing depth `p`, wrapped in internal nodes with an empty sibling up to depth `d`.
/// Calls `emit` for every internal node made (hash, left, right).
pub(crate) fn pair_subtree(
    depth: usize,
    key_a: &B256,
    a: B256,
    key_b: &B256,
    b: B256,
    mut emit: impl FnMut(B256, B256, B256),
) -> B256 {
    let p = first_difference(key_a, key_b).unwrap_or(255);
    let (left, right) = if bit(key_a, p) { (b, a) } else { (a, b) };
    let mut node = internal_hash(&left, &right);
    emit(node, left, right);
    for i in (depth..p).rev() {
        let (left, right) = if bit(key_a, i) {
            (B256::ZERO, node)
        } else {
            (node, B256::ZERO)
        };
        node = internal_hash(&left, &right);
        emit(node, left, right);
    }
    node
}

/// The hash at the top of `key`'s path: starts from `node` at depth `siblings.len()` and hashes
/// with `siblings[i]` for `i` from the deepest up to 0, left or right by bit `i` of `key`.
pub(crate) fn hash_up(key: &B256, mut node: B256, siblings: &[B256]) -> B256 {
    for (i, sibling) in siblings.iter().enumerate().rev() {
        node = if bit(key, i) {
            internal_hash(sibling, &node)
        } else {
            internal_hash(&node, sibling)
        };
    }
    node
}

/// What the tree knows about one node, without copying leaf values.
enum Peek {
    Internal(B256, B256),
    Leaf(B256),
}

/// The compact sparse Merkle tree over a node store, with an overlay of new nodes.
#[derive(Debug, Clone)]
pub struct Smt<S: NodeStore> {
    store: S,
    root: B256,
    /// Nodes made by `set` and still reachable from `root`, not yet taken.
    overlay: B256Map<Node>,
    /// Reused buffer for a path's siblings.
    siblings: Vec<B256>,
    /// Reused buffer for the internal nodes a `set` replaces.
    replaced: Vec<B256>,
}

impl<S: NodeStore> Smt<S> {
    /// The tree with root `root` in `store` (`B256::ZERO`: the empty tree).
    pub fn new(store: S, root: B256) -> Self {
        Self {
            store,
            root,
            overlay: B256Map::default(),
            siblings: Vec::new(),
            replaced: Vec::new(),
        }
    }

    /// The current root.
    pub fn root_hash(&self) -> B256 {
        self.root
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, mutably (e.g. to insert taken nodes into a [`crate::MemStore`]).
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Number of new nodes not taken yet.
    pub fn pending_nodes(&self) -> usize {
        self.overlay.len()
    }

    /// Calls `f` with the node `hash` from the overlay or else the store.
    fn with_node<R>(&self, hash: &B256, f: impl FnOnce(&Node) -> R) -> Result<R, StateError> {
        if let Some(node) = self.overlay.get(hash) {
            return Ok(f(node));
        }
        match self.store.node(hash)? {
            Some(node) => Ok(f(&node)),
            None => Err(StateError::MissingNode(*hash)),
        }
    }

    fn peek(&self, hash: &B256) -> Result<Peek, StateError> {
        self.with_node(hash, |node| match node {
            Node::Internal { left, right } => Peek::Internal(*left, *right),
            Node::Leaf { key, .. } => Peek::Leaf(*key),
        })
    }

    /// The value of leaf `key`, `None` if absent.
    pub fn get(&self, key: &B256) -> Result<Option<Vec<u8>>, StateError> {
        let mut hash = self.root;
        let mut depth = 0;
        while !hash.is_zero() {
            let step = self.with_node(&hash, |node| match node {
                Node::Internal { left, right } => Err(if bit(key, depth) { *right } else { *left }),
                Node::Leaf { key: k, value } => Ok((k == key).then(|| value.clone())),
            })?;
            match step {
                Ok(value) => return Ok(value),
                Err(child) => hash = child,
            }
            depth += 1;
        }
        Ok(None)
    }

    /// Sets leaf `key` to `value` and rehashes the path to the root.
    pub fn set(&mut self, key: B256, value: Vec<u8>) -> Result<(), StateError> {
        let leaf = leaf_hash(&key, &value);
        let mut siblings = std::mem::take(&mut self.siblings);
        let mut replaced = std::mem::take(&mut self.replaced);
        siblings.clear();
        replaced.clear();
        let walked = self.walk(&key, &mut siblings, &mut replaced);
        let result = walked.map(|end| self.apply(key, value, leaf, end, &siblings, &replaced));
        self.siblings = siblings;
        self.replaced = replaced;
        result
    }

    /// Walks `key`'s path from the root; fills `siblings` and `replaced` (the internal nodes on
    /// the path) and returns how the path ends: `(hash, Some(leaf key))` or `(0, None)` if empty.
    fn walk(
        &self,
        key: &B256,
        siblings: &mut Vec<B256>,
        replaced: &mut Vec<B256>,
    ) -> Result<(B256, Option<B256>), StateError> {
        let mut hash = self.root;
        while !hash.is_zero() {
            match self.peek(&hash)? {
                Peek::Internal(left, right) => {
                    replaced.push(hash);
                    if bit(key, siblings.len()) {
                        siblings.push(left);
                        hash = right;
                    } else {
                        siblings.push(right);
                        hash = left;
                    }
                }
                Peek::Leaf(k) => return Ok((hash, Some(k))),
            }
        }
        Ok((B256::ZERO, None))
    }

    fn apply(
        &mut self,
        key: B256,
        value: Vec<u8>,
        leaf: B256,
        (end, end_key): (B256, Option<B256>),
        siblings: &[B256],
        replaced: &[B256],
    ) {
        if end == leaf {
            return; // Same key, same value: nothing changes.
        }
        // Nodes on the old path are unreachable from the new root (a node hash commits to its
        // leaves' keys, so it occurs at one place in the tree); drop the ones not yet taken. An
        // other-key leaf at the end stays (it moves down).
        for hash in replaced {
            self.overlay.remove(hash);
        }
        let depth = siblings.len();
        let overlay = &mut self.overlay;
        let mut node = match end_key {
            Some(other) if other != key => {
                pair_subtree(depth, &key, leaf, &other, end, |h, left, right| {
                    overlay.insert(h, Node::Internal { left, right });
                })
            }
            Some(_) => {
                overlay.remove(&end);
                leaf
            }
            None => leaf,
        };
        overlay.insert(leaf, Node::Leaf { key, value });
        for (i, sibling) in siblings.iter().enumerate().rev() {
            let (left, right) = if bit(&key, i) {
                (*sibling, node)
            } else {
                (node, *sibling)
            };
            node = internal_hash(&left, &right);
            overlay.insert(node, Node::Internal { left, right });
        }
        self.root = node;
    }

    /// The proof of `key`'s leaf or of its absence against [`Smt::root_hash`].
    pub fn prove(&self, key: &B256) -> Result<Proof, StateError> {
        let mut siblings = Vec::new();
        let mut hash = self.root;
        while !hash.is_zero() {
            let step = self.with_node(&hash, |node| match node {
                Node::Internal { left, right } => {
                    if bit(key, siblings.len()) {
                        Err((*left, *right))
                    } else {
                        Err((*right, *left))
                    }
                }
                Node::Leaf { key: k, .. } if k == key => Ok(Terminal::Leaf),
                Node::Leaf { key: k, value } => Ok(Terminal::Other {
                    key: *k,
                    value_hash: keccak256(value),
                }),
            })?;
            match step {
                Ok(terminal) => return Ok(Proof { siblings, terminal }),
                Err((sibling, child)) => {
                    siblings.push(sibling);
                    hash = child;
                }
            }
        }
        Ok(Proof {
            siblings,
            terminal: Terminal::Empty,
        })
    }

    /// The overlay nodes reachable from the current root (the ones the caller must persist for
    /// the current root to be readable from the store alone); empties the overlay. Nodes not in
    /// the overlay are assumed to be in the store already.
    pub fn take_new_nodes(&mut self) -> Vec<(B256, Node)> {
        let mut overlay = std::mem::take(&mut self.overlay);
        let mut out = Vec::with_capacity(overlay.len());
        let mut stack = Vec::with_capacity(64);
        if !self.root.is_zero() {
            stack.push(self.root);
        }
        while let Some(hash) = stack.pop() {
            let Some(node) = overlay.remove(&hash) else {
                continue;
            };
            if let Node::Internal { left, right } = &node {
                for child in [left, right] {
                    if !child.is_zero() {
                        stack.push(*child);
                    }
                }
            }
            out.push((hash, node));
        }
        // Keep the allocation for the next round of updates.
        overlay.clear();
        self.overlay = overlay;
        out
    }
}

impl<S: NodeStore> StateRead for Smt<S> {
    fn leaf(&self, key: &B256) -> Result<Option<Vec<u8>>, StateError> {
        self.get(key)
    }
}

impl<S: NodeStore> StateWrite for Smt<S> {
    fn set(&mut self, key: B256, value: Vec<u8>) -> Result<(), StateError> {
        Smt::set(self, key, value)
    }

    fn root(&mut self) -> Result<B256, StateError> {
        Ok(self.root)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use alloy::primitives::{B256, keccak256};
    use proptest::prelude::*;

    use super::*;
    use crate::MemStore;

    /// The root of the tree holding `leaves`, computed from scratch by splitting the key set bit
    /// by bit: the spec's definition, independent of the incremental code.
    pub(crate) fn reference_root(leaves: &BTreeMap<B256, Vec<u8>>) -> B256 {
        fn subtree(depth: usize, leaves: &[(&B256, &Vec<u8>)]) -> B256 {
            match leaves {
                [] => B256::ZERO,
                [(key, value)] => {
                    let mut pre = vec![0u8];
                    pre.extend_from_slice(key.as_slice());
                    pre.extend_from_slice(keccak256(value).as_slice());
                    keccak256(pre)
                }
                _ => {
                    let bit_of = |k: &B256| (k[depth / 8] >> (7 - depth % 8)) & 1;
                    let (l, r): (Vec<_>, Vec<_>) = leaves.iter().partition(|(k, _)| bit_of(k) == 0);
                    let mut pre = subtree(depth + 1, &l).to_vec();
                    pre.extend_from_slice(subtree(depth + 1, &r).as_slice());
                    keccak256(pre)
                }
            }
        }
        let all: Vec<_> = leaves.iter().collect();
        subtree(0, &all)
    }

    /// A fixed key that many test keys share long prefixes with.
    pub(crate) fn base_key() -> B256 {
        keccak256("loft smt base key")
    }

    /// `key` with bit `i` flipped.
    pub(crate) fn flip(key: B256, i: usize) -> B256 {
        let mut k = key;
        k[i / 8] ^= 0x80 >> (i % 8);
        k
    }

    fn key_strategy() -> impl Strategy<Value = B256> {
        prop_oneof![
            any::<[u8; 32]>().prop_map(B256::from),
            (0usize..256).prop_map(|i| flip(base_key(), i)),
            (0usize..256, 0usize..256).prop_map(|(i, j)| flip(flip(base_key(), i), j)),
            (0u8..6).prop_map(B256::with_last_byte),
        ]
    }

    fn writes_strategy() -> impl Strategy<Value = Vec<(B256, Vec<u8>)>> {
        prop::collection::vec(
            (key_strategy(), prop::collection::vec(any::<u8>(), 0..48)),
            0..48,
        )
    }

    fn build(writes: &[(B256, Vec<u8>)]) -> Smt<MemStore> {
        let mut smt = Smt::new(MemStore::new(), B256::ZERO);
        for (k, v) in writes {
            smt.set(*k, v.clone()).unwrap();
        }
        smt
    }

    #[test]
    fn empty_and_single() {
        let mut smt = Smt::new(MemStore::new(), B256::ZERO);
        assert_eq!(smt.root_hash(), B256::ZERO);
        assert_eq!(smt.get(&B256::ZERO).unwrap(), None);
        let k = keccak256("a");
        smt.set(k, b"v".to_vec()).unwrap();
        assert_eq!(smt.root_hash(), leaf_hash(&k, b"v"));
        assert_eq!(smt.get(&k).unwrap(), Some(b"v".to_vec()));
        // A zero value stays a leaf.
        smt.set(k, Vec::new()).unwrap();
        assert_eq!(smt.root_hash(), leaf_hash(&k, b""));
        assert_eq!(smt.get(&k).unwrap(), Some(Vec::new()));
    }

    #[test]
    fn two_leaves_sharing_a_prefix_wrap_in_empty_siblings() {
        let a = base_key();
        let b = flip(a, 3);
        let smt = build(&[(a, vec![1]), (b, vec![2])]);
        let (la, lb) = (leaf_hash(&a, &[1]), leaf_hash(&b, &[2]));
        let mut node = if bit(&a, 3) {
            internal_hash(&lb, &la)
        } else {
            internal_hash(&la, &lb)
        };
        for i in (0..3).rev() {
            node = if bit(&a, i) {
                internal_hash(&B256::ZERO, &node)
            } else {
                internal_hash(&node, &B256::ZERO)
            };
        }
        assert_eq!(smt.root_hash(), node);
    }

    #[test]
    fn missing_node_is_an_error() {
        let smt = Smt::new(MemStore::new(), keccak256("nowhere"));
        assert!(matches!(
            smt.get(&B256::ZERO),
            Err(StateError::MissingNode(_))
        ));
    }

    #[test]
    fn first_difference_finds_the_bit() {
        let a = base_key();
        for i in 0..256 {
            assert_eq!(first_difference(&a, &flip(a, i)), Some(i));
        }
        assert_eq!(first_difference(&a, &a), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn root_matches_reference_in_any_order(writes in writes_strategy(), seed in any::<u64>()) {
            let smt = build(&writes);
            let expected: BTreeMap<B256, Vec<u8>> = writes.iter().cloned().collect();
            prop_assert_eq!(smt.root_hash(), reference_root(&expected));
            // The final key-value set in another order gives the same root.
            let mut finals: Vec<_> = expected.clone().into_iter().collect();
            let n = finals.len();
            if n > 1 {
                let mut s = seed;
                for i in (1..n).rev() {
                    s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    finals.swap(i, (s >> 33) as usize % (i + 1));
                }
            }
            prop_assert_eq!(build(&finals).root_hash(), smt.root_hash());
            for (k, v) in &expected {
                prop_assert_eq!(smt.get(k).unwrap(), Some(v.clone()));
            }
        }

        #[test]
        fn taken_nodes_suffice(writes in writes_strategy(), split in 0usize..48) {
            // Take nodes in two rounds; the store alone must then serve the final root.
            let split = split.min(writes.len());
            let mut smt = Smt::new(MemStore::new(), B256::ZERO);
            for (k, v) in &writes[..split] {
                smt.set(*k, v.clone()).unwrap();
            }
            let nodes = smt.take_new_nodes();
            smt.store_mut().extend(nodes);
            prop_assert_eq!(smt.pending_nodes(), 0);
            for (k, v) in &writes[split..] {
                smt.set(*k, v.clone()).unwrap();
            }
            let nodes = smt.take_new_nodes();
            for (h, n) in &nodes {
                prop_assert_eq!(*h, n.hash());
            }
            smt.store_mut().extend(nodes);
            let fresh = Smt::new(smt.store().clone(), smt.root_hash());
            let expected: BTreeMap<B256, Vec<u8>> = writes.iter().cloned().collect();
            for (k, v) in &expected {
                prop_assert_eq!(fresh.get(k).unwrap(), Some(v.clone()));
            }
        }

        #[test]
        fn overlay_holds_only_reachable_nodes(writes in writes_strategy()) {
            let mut smt = build(&writes);
            let pending = smt.pending_nodes();
            prop_assert_eq!(smt.take_new_nodes().len(), pending);
        }
    }
}
