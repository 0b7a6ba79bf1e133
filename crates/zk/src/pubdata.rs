//! Public data: the chunks a batch posts to L1 and the circuit's one public input
//! (`docs/zk-rollup.md` §4.2, §4.3).

use ark_ff::PrimeField;
use sha2::{Digest, Sha256};

use crate::{Fr, keys::fr_to_be, stf::ZkParams};

/// Bytes of a general chunk.
pub const GENERAL_CHUNK_LEN: usize = 52;

/// Bytes of an account index in a transfer chunk at tree depth `depth`.
pub fn index_bytes(depth: u8) -> usize {
    usize::from(depth).div_ceil(8)
}

/// Errors decoding public data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PubdataError {
    /// The length is not the configured batch shape's.
    #[error("public data is {got} bytes, the batch shape needs {want}")]
    Length {
        /// Bytes given.
        got: usize,
        /// Bytes of the configured shape.
        want: usize,
    },
    /// A general chunk has a kind above 4.
    #[error("general chunk {0} has unknown kind {1}")]
    UnknownKind(usize, u8),
    /// A transfer chunk's index is beyond the tree.
    #[error("transfer chunk {0} names an account beyond the tree")]
    IndexOutOfRange(usize),
}

/// A general slot's chunk: `kind[1] ‖ account[3] ‖ amount[16] ‖ data[32]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GeneralChunk {
    /// 0 no-op, 1 deposit, 2 set key, 3 forced exit, 4 withdrawal.
    pub kind: u8,
    /// Account index (below 2^24).
    pub account: u32,
    /// Amount in wei.
    pub amount: u128,
    /// Compressed key (kind 2), `fee[16] ‖ 0[16]` (kind 4), else zero.
    pub data: [u8; 32],
}

impl GeneralChunk {
    /// The 52 bytes.
    pub fn encode(&self) -> [u8; GENERAL_CHUNK_LEN] {
        let mut out = [0u8; GENERAL_CHUNK_LEN];
        out[0] = self.kind;
        out[1..4].copy_from_slice(&self.account.to_be_bytes()[1..]);
        out[4..20].copy_from_slice(&self.amount.to_be_bytes());
        out[20..].copy_from_slice(&self.data);
        out
    }

    /// Parses 52 bytes (the kind is not checked here).
    pub fn decode(bytes: &[u8; GENERAL_CHUNK_LEN]) -> Self {
        let mut acct = [0u8; 4];
        acct[1..].copy_from_slice(&bytes[1..4]);
        Self {
            kind: bytes[0],
            account: u32::from_be_bytes(acct),
            amount: u128::from_be_bytes(bytes[4..20].try_into().expect("16 bytes")),
            data: bytes[20..].try_into().expect("32 bytes"),
        }
    }

    /// A withdrawal's fee (kind 4).
    pub fn fee(&self) -> u128 {
        u128::from_be_bytes(self.data[..16].try_into().expect("16 bytes"))
    }
}

/// A transfer slot's chunk: `from[B] ‖ to[B] ‖ amount[3] ‖ fee[1]`; all zero is a no-op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransferChunk {
    /// Sender.
    pub from: u32,
    /// Recipient.
    pub to: u32,
    /// Packed amount (24 bits).
    pub amount: u32,
    /// Packed fee.
    pub fee: u8,
}

impl TransferChunk {
    /// The chunk's bytes at tree depth `depth`.
    pub fn encode(&self, depth: u8) -> Vec<u8> {
        let b = index_bytes(depth);
        let mut out = Vec::with_capacity(2 * b + 4);
        out.extend_from_slice(&self.from.to_be_bytes()[4 - b..]);
        out.extend_from_slice(&self.to.to_be_bytes()[4 - b..]);
        out.extend_from_slice(&self.amount.to_be_bytes()[1..]);
        out.push(self.fee);
        out
    }

    /// Parses one chunk of `2B + 4` bytes.
    pub fn decode(bytes: &[u8], depth: u8) -> Self {
        let b = index_bytes(depth);
        let int = |s: &[u8]| s.iter().fold(0u32, |acc, x| (acc << 8) | u32::from(*x));
        Self {
            from: int(&bytes[..b]),
            to: int(&bytes[b..2 * b]),
            amount: int(&bytes[2 * b..2 * b + 3]),
            fee: bytes[2 * b + 3],
        }
    }

    /// A no-op (padding).
    pub fn is_noop(&self) -> bool {
        self.from == 0 && self.to == 0
    }
}

/// A batch's public data, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pubdata {
    /// `M` general chunks.
    pub general: Vec<GeneralChunk>,
    /// `N` transfer chunks.
    pub transfers: Vec<TransferChunk>,
}

/// Decodes a batch's public data (untrusted bytes from L1 calldata).
pub fn decode(params: &ZkParams, bytes: &[u8]) -> Result<Pubdata, PubdataError> {
    if bytes.len() != params.pubdata_len() {
        return Err(PubdataError::Length {
            got: bytes.len(),
            want: params.pubdata_len(),
        });
    }
    let (g, t) = bytes.split_at(params.batch_general * GENERAL_CHUNK_LEN);
    let general = g
        .chunks_exact(GENERAL_CHUNK_LEN)
        .enumerate()
        .map(|(i, c)| {
            let c = GeneralChunk::decode(c.try_into().expect("chunk size"));
            if c.kind > 4 {
                Err(PubdataError::UnknownKind(i, c.kind))
            } else {
                Ok(c)
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let cap = 1u64 << params.tree_depth;
    let transfers = t
        .chunks_exact(params.transfer_chunk_len())
        .enumerate()
        .map(|(i, c)| {
            let c = TransferChunk::decode(c, params.tree_depth);
            if u64::from(c.from) >= cap || u64::from(c.to) >= cap {
                Err(PubdataError::IndexOutOfRange(i))
            } else {
                Ok(c)
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Pubdata { general, transfers })
}

/// `sha256(oldRoot ‖ newRoot ‖ pubdata)` with its top three bits cleared, as a field element.
pub fn public_input(old_root: Fr, new_root: Fr, pubdata: &[u8]) -> Fr {
    let mut h = Sha256::new();
    h.update(fr_to_be(&old_root));
    h.update(fr_to_be(&new_root));
    h.update(pubdata);
    let mut d: [u8; 32] = h.finalize().into();
    d[0] &= 0x1f;
    Fr::from_be_bytes_mod_order(&d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn params() -> ZkParams {
        ZkParams {
            tree_depth: 24,
            batch_general: 2,
            batch_transfers: 3,
            chain_id: 1,
        }
    }

    #[test]
    fn a_transfer_is_ten_bytes_at_depth_24() {
        assert_eq!(params().transfer_chunk_len(), 10);
        let c = TransferChunk {
            from: 0xabcdef,
            to: 1,
            amount: 0x123456,
            fee: 0x9a,
        };
        assert_eq!(
            c.encode(24),
            [0xab, 0xcd, 0xef, 0, 0, 1, 0x12, 0x34, 0x56, 0x9a]
        );
    }

    #[test]
    fn bad_lengths_and_kinds_are_refused() {
        let p = params();
        assert!(matches!(
            decode(&p, &[0; 3]),
            Err(PubdataError::Length { .. })
        ));
        let mut data = vec![0u8; p.pubdata_len()];
        assert!(decode(&p, &data).is_ok());
        data[GENERAL_CHUNK_LEN] = 5;
        assert_eq!(decode(&p, &data), Err(PubdataError::UnknownKind(1, 5)));
        let p16 = ZkParams {
            tree_depth: 10,
            ..p
        };
        let mut d = vec![0u8; p16.pubdata_len()];
        d[2 * GENERAL_CHUNK_LEN] = 0xff;
        assert_eq!(decode(&p16, &d), Err(PubdataError::IndexOutOfRange(0)));
    }

    proptest! {
        #[test]
        fn chunks_round_trip(kind in 0u8..5, account in 0u32..1 << 24, amount in any::<u128>(), data in any::<[u8; 32]>(),
                             from in 0u32..1 << 24, to in 0u32..1 << 24, amt in 0u32..1 << 24, fee in any::<u8>()) {
            let g = GeneralChunk { kind, account, amount, data };
            prop_assert_eq!(GeneralChunk::decode(&g.encode()), g);
            let t = TransferChunk { from, to, amount: amt, fee };
            prop_assert_eq!(TransferChunk::decode(&t.encode(24), 24), t);
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&params(), &bytes);
        }
    }
}
