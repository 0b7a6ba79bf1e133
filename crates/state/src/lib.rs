//! loft's L2 state (eth profile): the layout of accounts, token balances and tokens as leaves of
//! one compact sparse Merkle tree over keccak256 (`docs/rollup.md` §1), and the tree itself with
//! inclusion/exclusion proofs that Solidity can check, stored in memory or in redb.
//!
//! API contract (other crates code against it):
//! - [`layout`]: leaf keys and value encodings ([`Account`], [`TokenInfo`], [`l2_token_address`]).
//! - [`StateRead`]: the read seam of the state transition (raw leaf by key).
//! - [`Smt`]: the tree over a [`NodeStore`]; `get`, `set` (returns nothing; root recomputed
//!   incrementally), `root`, `prove`; [`Proof::verify`], [`Proof::root_after_update`].
//! - [`MemStore`] (tests, scratch) and [`RedbStore`] (on disk, every committed root stays
//!   provable).

pub mod layout;
mod proof;
mod smt;
mod store;
#[cfg(test)]
mod vectors;

pub use layout::{Account, TokenInfo, account_key, l2_token_address, token_balance_key, token_key};
pub use proof::{Proof, SolProof, TERMINAL_EMPTY, TERMINAL_LEAF, TERMINAL_OTHER, Terminal};
pub use smt::{Smt, internal_hash, leaf_hash, leaf_hash_of_value_hash};
pub use store::{DEFAULT_CACHE_NODES, MemStore, Node, NodeStore, RedbStore};

use alloy::primitives::B256;

/// Errors of the state: storage failures and corrupt data. A missing leaf is not an error.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The database failed.
    #[error("state database: {0}")]
    Storage(String),
    /// A node the tree refers to is not in the store (a root that was never committed, or a
    /// damaged database).
    #[error("state node {0} is missing from the store")]
    MissingNode(B256),
    /// A leaf value does not decode as its layout says.
    #[error("corrupt state leaf {key}: {reason}")]
    Corrupt {
        /// The leaf key.
        key: B256,
        /// Decoder message.
        reason: String,
    },
}

/// Write access to the state, for executors that apply a step's writes and then need the root
/// (the state root after every step is committed in a batch).
pub trait StateWrite: StateRead {
    /// Sets leaf `key` to `value` (leaves are never deleted; a zero value is a normal leaf).
    fn set(&mut self, key: B256, value: Vec<u8>) -> Result<(), StateError>;
    /// The root of the tree with every write so far.
    fn root(&mut self) -> Result<B256, StateError>;
}

/// Read access to the state by leaf key: what the state transition function needs.
pub trait StateRead {
    /// The value bytes of leaf `key`, or `None` if the key has no leaf.
    fn leaf(&self, key: &B256) -> Result<Option<Vec<u8>>, StateError>;

    /// The account of `address` (nonce 0 and balance 0 when absent).
    fn account(&self, address: alloy::primitives::Address) -> Result<Account, StateError> {
        let key = account_key(address);
        match self.leaf(&key)? {
            None => Ok(Account::default()),
            Some(v) => Account::decode(&v).map_err(|reason| StateError::Corrupt { key, reason }),
        }
    }

    /// `account`'s balance of L2 token `token` (0 when absent).
    fn token_balance(
        &self,
        account: alloy::primitives::Address,
        token: alloy::primitives::Address,
    ) -> Result<alloy::primitives::U256, StateError> {
        let key = token_balance_key(account, token);
        match self.leaf(&key)? {
            None => Ok(alloy::primitives::U256::ZERO),
            Some(v) => {
                layout::decode_balance(&v).map_err(|reason| StateError::Corrupt { key, reason })
            }
        }
    }

    /// The address of account index `index`, if it exists (`docs/rollup.md` §1.2).
    fn account_at(&self, index: u64) -> Result<Option<alloy::primitives::Address>, StateError> {
        let key = layout::index_key(index);
        match self.leaf(&key)? {
            None => Ok(None),
            Some(v) => layout::decode_index_address(&v)
                .map(Some)
                .map_err(|reason| StateError::Corrupt { key, reason }),
        }
    }

    /// How many account indexes exist (0 when the count leaf is absent).
    fn index_count(&self) -> Result<u64, StateError> {
        let key = layout::index_count_key();
        match self.leaf(&key)? {
            None => Ok(0),
            Some(v) => {
                layout::decode_index_count(&v).map_err(|reason| StateError::Corrupt { key, reason })
            }
        }
    }

    /// The token at L2 address `token`, if it is known.
    fn token(&self, token: alloy::primitives::Address) -> Result<Option<TokenInfo>, StateError> {
        let key = token_key(token);
        match self.leaf(&key)? {
            None => Ok(None),
            Some(v) => TokenInfo::decode(&v)
                .map(Some)
                .map_err(|reason| StateError::Corrupt { key, reason }),
        }
    }
}
