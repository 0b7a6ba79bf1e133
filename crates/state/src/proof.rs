//! Inclusion and exclusion proofs (`docs/rollup.md` §1.1), checked and applied without the tree.

use alloy::primitives::{B256, keccak256};

use crate::smt::{first_difference, hash_up, leaf_hash_of_value_hash, pair_subtree};

/// What a proof's path ends in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Terminal {
    /// The leaf of the proven key (inclusion).
    Leaf,
    /// An empty subtree (exclusion).
    Empty,
    /// The leaf of another key sharing the path so far (exclusion).
    Other {
        /// That leaf's key.
        key: B256,
        /// keccak256 of its value.
        value_hash: B256,
    },
}

impl Terminal {
    /// The ABI code: 0 leaf, 1 empty, 2 other leaf (`SparseMerkle.sol`).
    pub fn code(&self) -> u8 {
        match self {
            Terminal::Leaf => TERMINAL_LEAF,
            Terminal::Empty => TERMINAL_EMPTY,
            Terminal::Other { .. } => TERMINAL_OTHER,
        }
    }
}

/// [`Terminal::code`] of [`Terminal::Leaf`].
pub const TERMINAL_LEAF: u8 = 0;
/// [`Terminal::code`] of [`Terminal::Empty`].
pub const TERMINAL_EMPTY: u8 = 1;
/// [`Terminal::code`] of [`Terminal::Other`].
pub const TERMINAL_OTHER: u8 = 2;

/// Deepest possible path: a key has 256 bits.
const MAX_DEPTH: usize = 256;

/// A proof for one key (`docs/rollup.md` §1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// Sibling hashes, `siblings[0]` next to the root.
    pub siblings: Vec<B256>,
    /// What the path ends in.
    pub terminal: Terminal,
}

alloy::sol! {
    /// A proof as Solidity's `SparseMerkle.Proof` sees it: `terminal` 0 leaf, 1 empty, 2 other
    /// leaf; `otherKey` and `otherValueHash` are zero unless `terminal` is 2.
    #[derive(Debug, PartialEq, Eq)]
    struct SolProof {
        bytes32[] siblings;
        uint8 terminal;
        bytes32 otherKey;
        bytes32 otherValueHash;
    }
}

impl Proof {
    /// The hash the path starts from, for `key` with value hash `value_hash` (inclusion only);
    /// `None` if the terminal does not fit `key` (an other-leaf key equal to `key` or not sharing
    /// `key`'s first `siblings.len()` bits) or the path is longer than 256.
    fn terminal_hash(&self, key: &B256, value_hash: Option<&B256>) -> Option<B256> {
        if self.siblings.len() > MAX_DEPTH {
            return None;
        }
        match (&self.terminal, value_hash) {
            (Terminal::Leaf, Some(vh)) => Some(leaf_hash_of_value_hash(key, vh)),
            (Terminal::Empty, None) => Some(B256::ZERO),
            (
                Terminal::Other {
                    key: other,
                    value_hash,
                },
                None,
            ) => {
                let shares_path =
                    first_difference(key, other).is_some_and(|p| p >= self.siblings.len());
                shares_path.then(|| leaf_hash_of_value_hash(other, value_hash))
            }
            _ => None,
        }
    }

    /// Whether the proof shows that `key` has value `value` (`Some`) or no leaf (`None`) in the
    /// tree with root `root`.
    pub fn verify(&self, root: B256, key: &B256, value: Option<&[u8]>) -> bool {
        let value_hash = value.map(keccak256);
        self.verify_hashed(root, key, value_hash.as_ref())
    }

    /// [`Proof::verify`] with the value's keccak256 instead of the value.
    pub fn verify_hashed(&self, root: B256, key: &B256, value_hash: Option<&B256>) -> bool {
        match self.terminal_hash(key, value_hash) {
            Some(start) => hash_up(key, start, &self.siblings) == root,
            None => false,
        }
    }

    /// The root after setting `key` to `new_value`, for a proof of `key` (inclusion or exclusion)
    /// that verified against the old root. For a proof that did not verify, the result is
    /// meaningless.
    pub fn root_after_update(&self, key: &B256, new_value: &[u8]) -> B256 {
        self.root_after_update_hashed(key, &keccak256(new_value))
    }

    /// [`Proof::root_after_update`] with the new value's keccak256.
    pub fn root_after_update_hashed(&self, key: &B256, new_value_hash: &B256) -> B256 {
        let leaf = leaf_hash_of_value_hash(key, new_value_hash);
        let depth = self.siblings.len();
        let node = match &self.terminal {
            Terminal::Other {
                key: other,
                value_hash,
            } if other != key => {
                let other_leaf = leaf_hash_of_value_hash(other, value_hash);
                pair_subtree(depth, key, leaf, other, other_leaf, |_, _, _| {})
            }
            _ => leaf,
        };
        hash_up(key, node, &self.siblings)
    }

    /// The root this proof implies for `key` holding `value` (`None`: absent), or `None` if the
    /// proof's terminal does not fit.
    pub fn compute_root(&self, key: &B256, value: Option<&[u8]>) -> Option<B256> {
        let value_hash = value.map(keccak256);
        self.terminal_hash(key, value_hash.as_ref())
            .map(|start| hash_up(key, start, &self.siblings))
    }

    /// The Solidity shape (`SparseMerkle.Proof`).
    pub fn to_sol(&self) -> SolProof {
        let (other_key, other_value_hash) = match &self.terminal {
            Terminal::Other { key, value_hash } => (*key, *value_hash),
            _ => (B256::ZERO, B256::ZERO),
        };
        SolProof {
            siblings: self.siblings.clone(),
            terminal: self.terminal.code(),
            otherKey: other_key,
            otherValueHash: other_value_hash,
        }
    }

    /// From the Solidity shape; `None` for an unknown terminal code.
    pub fn from_sol(proof: &SolProof) -> Option<Self> {
        let terminal = match proof.terminal {
            TERMINAL_LEAF => Terminal::Leaf,
            TERMINAL_EMPTY => Terminal::Empty,
            TERMINAL_OTHER => Terminal::Other {
                key: proof.otherKey,
                value_hash: proof.otherValueHash,
            },
            _ => return None,
        };
        Some(Self {
            siblings: proof.siblings.clone(),
            terminal,
        })
    }

    /// `abi.encode(proof)` of the Solidity shape (one dynamic tuple).
    pub fn abi_encode(&self) -> Vec<u8> {
        alloy::sol_types::SolValue::abi_encode(&self.to_sol())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use alloy::primitives::{B256, keccak256};
    use proptest::prelude::*;

    use super::*;
    use crate::smt::tests::{base_key, flip};
    use crate::{MemStore, Smt};

    fn key_strategy() -> impl Strategy<Value = B256> {
        prop_oneof![
            any::<[u8; 32]>().prop_map(B256::from),
            (0usize..256).prop_map(|i| flip(base_key(), i)),
            (0usize..256, 0usize..256).prop_map(|(i, j)| flip(flip(base_key(), i), j)),
        ]
    }

    fn build(writes: &[(B256, Vec<u8>)]) -> Smt<MemStore> {
        let mut smt = Smt::new(MemStore::new(), B256::ZERO);
        for (k, v) in writes {
            smt.set(*k, v.clone()).unwrap();
        }
        smt
    }

    /// Checks every proof property for `key` in `smt`; returns the terminal code.
    fn check_key(smt: &Smt<MemStore>, key: B256, new_value: &[u8]) -> u8 {
        let root = smt.root_hash();
        let value = smt.get(&key).unwrap();
        let proof = smt.prove(&key).unwrap();
        assert!(proof.verify(root, &key, value.as_deref()));
        assert_eq!(proof.compute_root(&key, value.as_deref()), Some(root));
        // Wrong root, wrong value, wrong presence.
        assert!(!proof.verify(keccak256(root), &key, value.as_deref()));
        match &value {
            Some(v) => {
                let mut w = v.clone();
                w.push(1);
                assert!(!proof.verify(root, &key, Some(&w)));
                assert!(!proof.verify(root, &key, None));
            }
            None => assert!(!proof.verify(root, &key, Some(b"x"))),
        }
        // A tampered sibling fails.
        if let Some(first) = proof.siblings.first() {
            let mut bad = proof.clone();
            bad.siblings[0] = keccak256(first);
            assert!(!bad.verify(root, &key, value.as_deref()));
        }
        // ABI shape round trip.
        assert_eq!(Proof::from_sol(&proof.to_sol()).as_ref(), Some(&proof));
        // Update from the proof equals the real update.
        let expected = proof.root_after_update(&key, new_value);
        let mut updated = smt.clone();
        updated.set(key, new_value.to_vec()).unwrap();
        assert_eq!(updated.root_hash(), expected);
        // And the new proof verifies the new value.
        let new_proof = updated.prove(&key).unwrap();
        assert!(new_proof.verify(expected, &key, Some(new_value)));
        proof.terminal.code()
    }

    #[test]
    fn all_terminal_kinds() {
        let a = base_key();
        let writes: Vec<_> = [a, flip(a, 5), flip(a, 9), keccak256("x")]
            .iter()
            .map(|k| (*k, k.to_vec()))
            .collect();
        let smt = build(&writes);
        let mut seen = [false; 3];
        for key in [
            a,
            flip(a, 5),
            flip(a, 1),
            flip(a, 7),
            flip(a, 200),
            keccak256("y"),
        ] {
            seen[check_key(&smt, key, b"new") as usize] = true;
        }
        assert_eq!(seen, [true; 3]);
        // The empty tree: an empty terminal at depth 0.
        let empty = build(&[]);
        assert_eq!(check_key(&empty, a, b"v"), TERMINAL_EMPTY);
    }

    #[test]
    fn other_leaf_must_share_the_path() {
        let a = base_key();
        let smt = build(&[(a, vec![1]), (flip(a, 0), vec![2]), (flip(a, 1), vec![3])]);
        let absent = flip(a, 4);
        let proof = smt.prove(&absent).unwrap();
        assert!(matches!(proof.terminal, Terminal::Other { key, .. } if key == a));
        assert!(proof.verify(smt.root_hash(), &absent, None));
        // The other leaf claimed for a key that is the other leaf itself is refused.
        assert!(!proof.verify(smt.root_hash(), &a, None));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn proofs_hold(
            writes in prop::collection::vec((key_strategy(), prop::collection::vec(any::<u8>(), 0..40)), 0..32),
            probes in prop::collection::vec(key_strategy(), 1..8),
            new_value in prop::collection::vec(any::<u8>(), 0..40),
        ) {
            let smt = build(&writes);
            let present: BTreeMap<B256, Vec<u8>> = writes.iter().cloned().collect();
            for key in present.keys().take(8).chain(probes.iter()) {
                check_key(&smt, *key, &new_value);
            }
        }
    }
}
