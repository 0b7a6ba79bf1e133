//! loft's state transition function (eth profile) and batch codec, shared by the sequencer, the
//! verifier and the fraud prover. The specification is `docs/rollup.md`: §2 (queue messages and
//! transactions), §3 (blocks, batch data, the step-roots commitment) and §4 (withdrawals).
//!
//! - [`tx`]: [`L2Tx::decode`] (size, EIP-2718, type, signature, chain id), the call shape and
//!   [`Operation`], and [`TxError`] with stable codes ([`TxError::TABLE`]).
//! - [`execute`]: [`execute_tx`], [`apply_queue_message`] (pure: they read a
//!   [`loft_state::StateRead`] and return the writes) and [`execute_block`] (applies them to a
//!   [`loft_state::StateWrite`] and records the root after every step).
//! - [`batch`]: [`encode_batch`] / [`decode_batch`] (§3.2).
//! - [`merkle`]: [`step_roots_root`] (§3.3) and the withdrawal tree (§4).
//!
//! Everything is synchronous, deterministic and silent (no logging).

pub mod batch;
pub mod execute;
pub mod leaf;
pub mod merkle;
pub mod params;
pub mod tx;

#[cfg(test)]
mod tests;

pub use batch::{BatchBlock, BatchError, MAX_BATCH_DECOMPRESSED, decode_batch, encode_batch};
pub use execute::{
    BlockError, BlockInput, BlockOutcome, QueueInput, TxOutcome, TxReceipt, Writes,
    apply_queue_message, execute_block, execute_tx,
};
pub use leaf::{STEP_BLOCK, STEP_QUEUE, STEP_TX, StepLeaf, W_DEPTH, empty_withdrawal_root};
pub use merkle::{
    Withdrawal, step_roots_proof, step_roots_root, verify_step_root, verify_withdrawal,
    withdrawal_proof, withdrawal_root,
};
pub use params::{ChainParams, MAX_TX_SIZE};
pub use tx::{Call, L2Tx, Operation, TxError};
