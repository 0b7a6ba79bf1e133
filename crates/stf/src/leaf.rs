//! Step leaves: the per-step commitment a batch makes (`docs/fraud-proofs.md` §2), and the
//! positional withdrawal tree's constants (§4).

use alloy::primitives::{B256, keccak256};
use alloy::sol_types::SolValue;

use crate::batch::BatchError;
use crate::merkle::{
    Withdrawal, WithdrawalTree, positional_proof, positional_root, verify_positional,
};

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

/// What one executed step of a batch produced: enough to compute its [`StepLeaf`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepOutcome {
    /// [`STEP_BLOCK`], [`STEP_QUEUE`] or [`STEP_TX`].
    pub kind: u8,
    /// Offset in the batch data where the step's bytes end.
    pub data_end: u64,
    /// State root after the step.
    pub state_root: B256,
    /// The withdrawal the step made (transactions only).
    pub withdrawal: Option<Withdrawal>,
}

/// Builds the leaves of a batch step by step: the queue position, withdrawal count and root run
/// across the whole batch.
#[derive(Debug, Clone)]
pub struct StepLeafBuilder {
    last: StepLeaf,
    tree: WithdrawalTree,
}

impl StepLeafBuilder {
    /// Starts after the initial leaf [`StepLeaf::initial`].
    pub fn new(queue_start: u64, prev_state_root: B256) -> Self {
        Self {
            last: StepLeaf::initial(queue_start, prev_state_root),
            tree: WithdrawalTree::new(),
        }
    }

    /// The leaf after `step`. Fails (changing nothing) on the 65,537th withdrawal.
    pub fn push(&mut self, step: &StepOutcome) -> Result<StepLeaf, BatchError> {
        let mut leaf = StepLeaf {
            kind: step.kind,
            data_end: step.data_end,
            state_root: step.state_root,
            ..self.last
        };
        if step.kind == STEP_QUEUE {
            leaf.queue_pos += 1;
        }
        if let Some(w) = &step.withdrawal {
            leaf.w_root = self
                .tree
                .push(w.leaf())
                .ok_or(BatchError::TooManyWithdrawals)?;
            leaf.w_count = self.tree.len();
        }
        self.last = leaf;
        Ok(leaf)
    }

    /// The last leaf (the initial one before any step).
    pub fn last(&self) -> &StepLeaf {
        &self.last
    }

    /// The withdrawal tree so far.
    pub fn withdrawals(&self) -> &WithdrawalTree {
        &self.tree
    }
}

/// The leaf after every step of a batch that starts at queue index `queue_start` on state
/// `prev_state_root`.
pub fn step_leaves(
    queue_start: u64,
    prev_state_root: B256,
    steps: &[StepOutcome],
) -> Result<Vec<StepLeaf>, BatchError> {
    let mut builder = StepLeafBuilder::new(queue_start, prev_state_root);
    steps.iter().map(|s| builder.push(s)).collect()
}

/// `stepsRoot`: the positional Merkle root over the leaves' hashes, zero-padded to a power of
/// two (depth `ceil(log2 n)`); one leaf gives its hash; none give `bytes32(0)`.
pub fn steps_root(leaves: &[StepLeaf]) -> B256 {
    positional_root(&leaves.iter().map(StepLeaf::hash).collect::<Vec<_>>())
}

/// The path of leaf `i` under [`steps_root`] (siblings from the leaf up); `None` if out of range.
pub fn steps_proof(leaves: &[StepLeaf], i: usize) -> Option<Vec<B256>> {
    positional_proof(&leaves.iter().map(StepLeaf::hash).collect::<Vec<_>>(), i)
}

/// Checks a step-leaf path: `leaf` is leaf `i` under `steps_root`.
pub fn verify_step_leaf(steps_root: B256, i: u64, leaf: &StepLeaf, proof: &[B256]) -> bool {
    verify_positional(steps_root, i, leaf.hash(), proof)
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

    #[test]
    fn leaves_run_queue_position_data_offset_and_withdrawals() {
        let w = Withdrawal {
            l2_sender: alloy::primitives::Address::repeat_byte(1),
            nonce: 3,
            l1_recipient: alloy::primitives::Address::repeat_byte(2),
            l1_token: alloy::primitives::Address::ZERO,
            amount: alloy::primitives::U256::from(5),
        };
        let root = |b| B256::repeat_byte(b);
        let step = |kind, data_end, state_root, withdrawal| StepOutcome {
            kind,
            data_end,
            state_root,
            withdrawal,
        };
        let steps = [
            step(STEP_BLOCK, 6, root(9), None),
            step(STEP_QUEUE, 7, root(1), None),
            step(STEP_TX, 120, root(2), Some(w)),
            step(STEP_BLOCK, 125, root(2), None),
            step(STEP_TX, 300, root(3), Some(w)),
            step(STEP_TX, 410, root(4), None),
        ];
        let leaves = step_leaves(40, root(9), &steps).unwrap();
        let mut tree = WithdrawalTree::new();
        let r1 = tree.push(w.leaf()).unwrap();
        let r2 = tree.push(w.leaf()).unwrap();
        let e = empty_withdrawal_root();
        let want = [
            (STEP_BLOCK, 40, 6, 0, e, root(9)),
            (STEP_QUEUE, 41, 7, 0, e, root(1)),
            (STEP_TX, 41, 120, 1, r1, root(2)),
            (STEP_BLOCK, 41, 125, 1, r1, root(2)),
            (STEP_TX, 41, 300, 2, r2, root(3)),
            (STEP_TX, 41, 410, 2, r2, root(4)),
        ];
        for (leaf, (kind, queue_pos, data_end, w_count, w_root, state_root)) in
            leaves.iter().zip(want)
        {
            let expected = StepLeaf {
                kind,
                queue_pos,
                data_end,
                w_count,
                w_root,
                state_root,
            };
            assert_eq!(*leaf, expected);
        }
        assert_eq!(steps_root(&[]), B256::ZERO);
        assert_eq!(steps_root(&leaves[..1]), leaves[0].hash());
        let sr = steps_root(&leaves);
        for (i, leaf) in leaves.iter().enumerate() {
            let proof = steps_proof(&leaves, i).unwrap();
            assert_eq!(proof.len(), 3);
            assert!(verify_step_leaf(sr, i as u64, leaf, &proof));
            assert!(!verify_step_leaf(
                sr,
                i as u64,
                &leaves[(i + 1) % 6],
                &proof
            ));
        }
        assert!(steps_proof(&leaves, 6).is_none());
    }
}
