//! Node storage of the tree: in memory and in redb. (Stub: to be implemented.)

use alloy::primitives::B256;

use crate::StateError;

/// A stored tree node, addressed by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// `keccak256(left ‖ right)`.
    Internal {
        /// Left child hash.
        left: B256,
        /// Right child hash.
        right: B256,
    },
    /// `keccak256(0x00 ‖ key ‖ keccak256(value))`.
    Leaf {
        /// The leaf key.
        key: B256,
        /// The value bytes.
        value: Vec<u8>,
    },
}

/// Where the tree reads nodes from.
pub trait NodeStore {
    /// The node with hash `hash`, if stored.
    fn node(&self, hash: &B256) -> Result<Option<Node>, StateError>;
}

/// Nodes in a hash map.
#[derive(Debug, Default, Clone)]
pub struct MemStore {}

impl NodeStore for MemStore {
    fn node(&self, _hash: &B256) -> Result<Option<Node>, StateError> {
        unimplemented!()
    }
}

/// Nodes in a redb table of a shared database.
#[derive(Debug, Clone)]
pub struct RedbStore {}

impl NodeStore for RedbStore {
    fn node(&self, _hash: &B256) -> Result<Option<Node>, StateError> {
        unimplemented!()
    }
}
