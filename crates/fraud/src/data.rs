//! Batch data v1 as the fraud verifier reads it (`docs/fraud-proofs.md` §3): the 1 KiB chunk
//! commitment and the decoding of one step. Private stand-ins until `loft_stf` has the v1 codec;
//! they follow the same rules as `contracts/src/fraud/StepCodec.sol`.

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy::primitives::{Address, B256, Bytes, Signature, TxKind, U256, keccak256};

/// Bytes per data chunk.
pub const CHUNK_SIZE: usize = 1024;
/// Most bytes one step may span.
pub const MAX_STEP_BYTES: usize = 320;
/// First byte of a block marker.
pub const BLOCK_TAG: u8 = 0x10;
/// The one byte of a queue step.
pub const QUEUE_TAG: u8 = 0x11;

fn pair(a: &B256, b: &B256) -> B256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(a.as_slice());
    buf[32..].copy_from_slice(b.as_slice());
    keccak256(buf)
}

/// The chunk leaves `keccak256(chunk)`, padded with zeros to a power of two.
fn chunk_leaves(data: &[u8]) -> Vec<B256> {
    let mut leaves: Vec<B256> = data.chunks(CHUNK_SIZE).map(keccak256).collect();
    let width = leaves.len().max(1).next_power_of_two();
    leaves.resize(width, B256::ZERO);
    leaves
}

/// `dataRoot`: the positional Merkle root over the 1 KiB chunks of `data`.
pub fn data_root(data: &[u8]) -> B256 {
    let mut level = chunk_leaves(data);
    while level.len() > 1 {
        level = level.chunks(2).map(|p| pair(&p[0], &p[1])).collect();
    }
    level[0]
}

/// The siblings of chunk `index` from the leaf up.
pub fn chunk_path(data: &[u8], index: usize) -> Vec<B256> {
    let mut level = chunk_leaves(data);
    let mut i = index;
    let mut path = Vec::new();
    while level.len() > 1 {
        path.push(level[i ^ 1]);
        level = level.chunks(2).map(|p| pair(&p[0], &p[1])).collect();
        i /= 2;
    }
    path
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.buf.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len())?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Some(s)
    }

    /// LEB128 of at most `bits` bits, shortest form.
    fn varint(&mut self, bits: u32) -> Option<u128> {
        let mut value = 0u128;
        let mut shift = 0u32;
        loop {
            let b = self.byte()?;
            let low = u128::from(b & 0x7f);
            if shift >= bits || (bits - shift < 7 && low >> (bits - shift) != 0) {
                return None;
            }
            value |= low << shift;
            if b & 0x80 == 0 {
                return (b != 0 || shift == 0).then_some(value);
            }
            shift += 7;
        }
    }

    fn u64(&mut self) -> Option<u64> {
        self.varint(64).map(|v| v as u64)
    }
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
    /// Malformed, cut short, past the data, or longer than [`MAX_STEP_BYTES`].
    Undecodable,
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

/// Decodes the step at the start of `window` (see [`step_window`]).
pub fn decode_step(window: &[u8], chain_id: u64) -> Step {
    let mut r = Reader {
        buf: window,
        pos: 0,
    };
    match r.byte() {
        Some(BLOCK_TAG) => match r.u64() {
            Some(_) => Step::Block(r.pos),
            None => Step::Undecodable,
        },
        Some(QUEUE_TAG) => Step::Queue,
        Some(ty @ (0x00 | 0x02)) => match read_tx(&mut r, ty, chain_id) {
            Some(tx) => Step::Tx(Box::new(tx), r.pos),
            None => Step::Undecodable,
        },
        _ => Step::Undecodable,
    }
}

fn read_tx(r: &mut Reader<'_>, ty: u8, chain_id: u64) -> Option<TxEnvelope> {
    let nonce = r.u64()?;
    let (priority, max_fee) = if ty == 0 {
        (0, r.varint(128)?)
    } else {
        (r.varint(128)?, r.varint(128)?)
    };
    let gas_limit = r.u64()?;
    let to = Address::from_slice(r.take(20)?);
    let n = usize::from(r.byte()?);
    if n > 32 {
        return None;
    }
    let value_bytes = r.take(n)?;
    if value_bytes.first() == Some(&0) {
        return None;
    }
    let value = U256::from_be_slice(value_bytes);
    let len = usize::try_from(r.u64()?).ok()?;
    let input = Bytes::copy_from_slice(r.take(len)?);
    let parity = r.byte()?;
    if parity > 1 {
        return None;
    }
    let sig_r = U256::from_be_slice(r.take(32)?);
    let sig_s = U256::from_be_slice(r.take(32)?);
    let sig = Signature::new(sig_r, sig_s, parity == 1);
    Some(if ty == 0 {
        TxEnvelope::Legacy(
            TxLegacy {
                chain_id: Some(chain_id),
                nonce,
                gas_price: max_fee,
                gas_limit,
                to: TxKind::Call(to),
                value,
                input,
            }
            .into_signed(sig),
        )
    } else {
        TxEnvelope::Eip1559(
            TxEip1559 {
                chain_id,
                nonce,
                gas_limit,
                max_fee_per_gas: max_fee,
                max_priority_fee_per_gas: priority,
                to: TxKind::Call(to),
                value,
                access_list: Default::default(),
                input,
            }
            .into_signed(sig),
        )
    })
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
