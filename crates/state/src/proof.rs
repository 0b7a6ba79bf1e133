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
