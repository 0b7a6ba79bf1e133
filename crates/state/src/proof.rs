//! Inclusion and exclusion proofs. (Stub: to be implemented.)

use alloy::primitives::B256;

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

/// A proof for one key (`docs/rollup.md` §1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// Sibling hashes, `siblings[0]` next to the root.
    pub siblings: Vec<B256>,
    /// What the path ends in.
    pub terminal: Terminal,
}
