//! Batch data v1 as the fraud verifier reads it (`docs/fraud-proofs.md` §3): the 1 KiB chunk
//! commitment and the decoding of one step, both `loft_stf`'s (one codec for every role), in the
//! shape `contracts/src/fraud/StepCodec.sol` reads them: a step from a window of at most
//! [`MAX_STEP_BYTES`] bytes.

use alloy::consensus::TxEnvelope;
use alloy::primitives::{B256, keccak256};
use loft_stf::{CompactTx, DataStep};

/// Bytes per data chunk.
pub const CHUNK_SIZE: usize = loft_stf::batch::DATA_CHUNK_BYTES;
/// Most bytes one step may span.
pub const MAX_STEP_BYTES: usize = loft_stf::batch::MAX_STEP_BYTES;
/// First byte of a block marker.
pub const BLOCK_TAG: u8 = loft_stf::batch::MARK_BLOCK;
/// The one byte of a queue step.
pub const QUEUE_TAG: u8 = loft_stf::batch::MARK_QUEUE;

fn pair(a: &B256, b: &B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(a.as_slice());
    buf[32..].copy_from_slice(b.as_slice());
    keccak256(buf)
}

/// `dataRoot`: the positional Merkle root over the 1 KiB chunks of `data`.
pub fn data_root(data: &[u8]) -> B256 {
    loft_stf::batch::data_root(data)
}

/// The siblings of chunk `index` from the leaf up.
pub fn chunk_path(data: &[u8], index: usize) -> Vec<B256> {
    loft_stf::batch::chunk_proof(data, index)
}

/// One decoded step of batch data v1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A block marker and its length.
    Block(usize),
    /// A queue marker (one byte).
    Queue,
    /// A transaction (chain id `chain_id` filled in) and the length of its encoding.
    Tx(Box<TxEnvelope>, usize),
    /// A compact transaction (accounts by index, resolved in the state) and its length.
    Compact(CompactTx, usize),
    /// Malformed, cut short, past the data, or longer than [`MAX_STEP_BYTES`].
    Undecodable,
}

impl Step {
    /// The length of the step's encoding, `None` for an undecodable step.
    pub fn encoded_len(&self) -> Option<usize> {
        match self {
            Step::Block(len) | Step::Tx(_, len) | Step::Compact(_, len) => Some(*len),
            Step::Queue => Some(1),
            Step::Undecodable => None,
        }
    }
}

/// The bytes one step may be read from: `data[start .. min(len, start + MAX_STEP_BYTES)]`.
pub fn step_window(data: &[u8], start: u64) -> &[u8] {
    let Ok(start) = usize::try_from(start) else {
        return &[];
    };
    if start >= data.len() {
        return &[];
    }
    &data[start..data.len().min(start + MAX_STEP_BYTES)]
}

/// Decodes the step at the start of `window` (see [`step_window`]) with `loft_stf`'s decoder.
pub fn decode_step(window: &[u8], chain_id: u64) -> Step {
    match loft_stf::decode_step_at(window, 0, chain_id) {
        Ok((DataStep::Block { .. }, end)) => Step::Block(end),
        Ok((DataStep::Queue, _)) => Step::Queue,
        Ok((DataStep::Tx(tx), end)) => Step::Tx(Box::new(tx), end),
        Ok((DataStep::Compact(tx), end)) => Step::Compact(tx, end),
        Err(_) => Step::Undecodable,
    }
}

/// `z_k` of the withdrawal tree and the siblings of slot `index` in the tree of `leaves`
/// (positional, depth [`loft_stf::W_DEPTH`]), and that tree's root.
pub fn withdrawal_slot(leaves: &[B256], index: usize) -> ([B256; loft_stf::W_DEPTH], B256) {
    let zeros = loft_stf::leaf::zero_hashes();
    let mut siblings = [B256::ZERO; loft_stf::W_DEPTH];
    let mut level: Vec<B256> = leaves.to_vec();
    let mut i = index;
    for (k, sibling) in siblings.iter_mut().enumerate() {
        *sibling = level.get(i ^ 1).copied().unwrap_or(zeros[k]);
        let next: Vec<B256> = (0..level.len().div_ceil(2))
            .map(|j| {
                let l = level[2 * j];
                let r = level.get(2 * j + 1).copied().unwrap_or(zeros[k]);
                pair(&l, &r)
            })
            .collect();
        level = next;
        i /= 2;
    }
    let root = level.first().copied().unwrap_or(zeros[loft_stf::W_DEPTH]);
    (siblings, root)
}

/// The root after putting `leaf` in the slot whose siblings are `siblings`.
pub fn withdrawal_root_with(leaf: B256, index: u64, siblings: &[B256; loft_stf::W_DEPTH]) -> B256 {
    let mut node = leaf;
    for (k, s) in siblings.iter().enumerate() {
        node = if (index >> k) & 1 == 1 {
            pair(s, &node)
        } else {
            pair(&node, s)
        };
    }
    node
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_chunk_is_its_own_root() {
        let data = vec![1u8; 700];
        assert_eq!(data_root(&data), keccak256(&data));
        assert!(chunk_path(&data, 0).is_empty());
    }

    #[test]
    fn withdrawal_slots_of_an_empty_tree() {
        let (siblings, root) = withdrawal_slot(&[], 0);
        assert_eq!(root, loft_stf::empty_withdrawal_root());
        assert_eq!(withdrawal_root_with(B256::ZERO, 0, &siblings), root);
        let leaves: Vec<B256> = (0..5u8).map(|i| keccak256([i])).collect();
        let (s3, r5) = withdrawal_slot(&leaves, 5);
        assert_eq!(withdrawal_root_with(B256::ZERO, 5, &s3), r5);
        let (s6, r6) = withdrawal_slot(&[leaves.clone(), vec![keccak256([9])]].concat(), 6);
        assert_eq!(
            withdrawal_root_with(keccak256([9]), 5, &s3),
            withdrawal_root_with(B256::ZERO, 6, &s6)
        );
        assert_eq!(withdrawal_root_with(B256::ZERO, 6, &s6), r6);
    }
}
