//! loft's state transition function (eth profile) and batch codec, shared by the sequencer, the
//! verifier and the fraud prover. The specification is `docs/rollup.md`: §2 (queue messages and
//! transactions), §3 (blocks, batch data, the step-roots commitment) and §4 (withdrawals).
//!
//! - [`tx`]: [`L2Tx::decode`] (size, EIP-2718, type, signature, chain id), the call shape and
//!   [`Operation`], and [`TxError`] with stable codes ([`TxError::TABLE`]).
//! - [`execute`]: [`execute_tx`], [`apply_queue_message`] (pure: they read a
//!   [`loft_state::StateRead`] and return the writes) and [`execute_block`] (applies them to a
//!   [`loft_state::StateWrite`] and records the root after every step).
//! - [`batch`]: batch data v1: [`encode_batch_v1`], [`decode_step_at`], [`decode_batch_v1`],
//!   [`data_root`] (§3.2).
//! - [`compact`]: compact transactions ([`CompactTx`]): transfers with accounts by index.
//! - [`leaf`]: [`StepLeaf`], [`step_leaves`], [`steps_root`] (§3.3).
//! - [`merkle`]: positional trees and the withdrawal tree (§4).
//!
//! Everything is synchronous, deterministic and silent (no logging).

pub mod batch;
pub mod blob;
pub mod compact;
pub mod execute;
pub mod leaf;
pub mod merkle;
pub mod params;
pub mod tx;

#[cfg(test)]
mod tests;

pub use batch::{
    BATCH_VERSION_V1, BatchError, DATA_CHUNK_BYTES, DataStep, EncodedBatch, MAX_STEP_BYTES,
    chunk_proof, data_root, decode_batch_v1, decode_forced_tx, decode_step_at, encode_batch_v1,
    encode_forced_tx,
};
pub use compact::{CompactCall, CompactTx};
pub use execute::{
    BlockError, BlockInput, BlockOutcome, KIND_DEPOSIT, KIND_FORCED_TX, KIND_FORCED_WITHDRAWAL,
    KIND_REGISTER_TOKEN, QueueInput, QueueOutcome, QueueStatus, TxOutcome, TxReceipt, Writes,
    apply_queue_message, execute_block, execute_tx,
};
pub use leaf::{
    STEP_BLOCK, STEP_QUEUE, STEP_TX, StepLeaf, StepLeafBuilder, StepOutcome, W_DEPTH,
    empty_withdrawal_root, step_leaves, steps_proof, steps_root, verify_step_leaf,
};
pub use merkle::{
    Withdrawal, WithdrawalTree, positional_proof, positional_root, step_roots_proof,
    step_roots_root, verify_positional, verify_step_root, verify_withdrawal_v2,
    withdrawal_path_root, withdrawal_root_v2, withdrawal_siblings,
};
pub use params::{ChainParams, MAX_TX_SIZE};
pub use tx::{Call, L2Tx, Operation, TxError};
