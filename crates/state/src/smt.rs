//! The compact sparse Merkle tree. (Stub: to be implemented.)

use alloy::primitives::{B256, keccak256};

use crate::store::NodeStore;

/// `keccak256(0x00 ‖ key ‖ keccak256(value))`.
pub fn leaf_hash(key: &B256, value: &[u8]) -> B256 {
    let mut buf = [0u8; 65];
    buf[1..33].copy_from_slice(key.as_slice());
    buf[33..].copy_from_slice(keccak256(value).as_slice());
    keccak256(buf)
}

/// The tree over a node store.
#[derive(Debug)]
pub struct Smt<S: NodeStore> {
    store: S,
    root: B256,
}

impl<S: NodeStore> Smt<S> {
    /// The tree with root `root` in `store`.
    pub fn new(store: S, root: B256) -> Self {
        Self { store, root }
    }
    /// The current root.
    pub fn root_hash(&self) -> B256 {
        self.root
    }
    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }
}
