//! Step leaves: the per-step commitment a batch makes (`docs/fraud-proofs.md` §2), and the
//! positional withdrawal tree's constants (§4).

use alloy::primitives::{B256, keccak256};
use alloy::sol_types::SolValue;

/// Step kind of a queue message.
pub const STEP_QUEUE: u8 = 1;
/// Step kind of a transaction.
pub const STEP_TX: u8 = 2;
/// Step kind of a block marker.
pub const STEP_BLOCK: u8 = 3;
/// Depth of a batch's withdrawal tree (at most 2^16 withdrawals per batch).
pub const W_DEPTH: usize = 16;

/// What a batch commits to after every step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StepLeaf {
    /// Kind of the step (0 only for the initial leaf).
    pub kind: u8,
    /// Queue messages consumed so far (absolute index of the next one).
    pub queue_pos: u64,
    /// Offset in the batch data where this step's bytes end.
    pub data_end: u64,
    /// Withdrawals made so far in the batch.
    pub w_count: u64,
    /// Withdrawal tree root after them.
    pub w_root: B256,
    /// State root after the step.
    pub state_root: B256,
}

impl StepLeaf {
    /// The initial leaf of a batch: before its first step.
    pub fn initial(queue_start: u64, prev_state_root: B256) -> Self {
        Self {
            kind: 0,
            queue_pos: queue_start,
            data_end: 1,
            w_count: 0,
            w_root: empty_withdrawal_root(),
            state_root: prev_state_root,
        }
    }

    /// `keccak256(abi.encode(kind, queuePos, dataEnd, wCount, wRoot, stateRoot))`.
    pub fn hash(&self) -> B256 {
        keccak256(
            (
                alloy::primitives::U256::from(self.kind),
                self.queue_pos,
                self.data_end,
                self.w_count,
                self.w_root,
                self.state_root,
            )
                .abi_encode(),
        )
    }
}

/// `z_k`: the root of an empty withdrawal subtree of height `k`.
pub fn zero_hashes() -> [B256; W_DEPTH + 1] {
    let mut z = [B256::ZERO; W_DEPTH + 1];
    for k in 0..W_DEPTH {
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(z[k].as_slice());
        buf[32..].copy_from_slice(z[k].as_slice());
        z[k + 1] = keccak256(buf);
    }
    z
}

/// The root of a batch's withdrawal tree with no withdrawals: `z_16`.
pub fn empty_withdrawal_root() -> B256 {
    zero_hashes()[W_DEPTH]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_hash_is_the_abi_encoding_of_six_words() {
        let leaf = StepLeaf::initial(7, B256::repeat_byte(1));
        let mut words = Vec::new();
        words.extend_from_slice(&[0u8; 32]);
        let mut w = [0u8; 32];
        w[31] = 7;
        words.extend_from_slice(&w);
        w[31] = 1;
        words.extend_from_slice(&w);
        words.extend_from_slice(&[0u8; 32]);
        words.extend_from_slice(empty_withdrawal_root().as_slice());
        words.extend_from_slice(&[1u8; 32]);
        assert_eq!(leaf.hash(), keccak256(words));
    }
}
