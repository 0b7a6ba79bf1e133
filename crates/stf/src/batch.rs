//! The batch data codec, version 1 (`docs/rollup.md` §3.2, `docs/fraud-proofs.md` §3):
//! `0x01 ‖ step*`, every step (block marker, queue marker, signed transaction) readable on its own
//! from its offset, and the 1 KiB chunk commitment [`data_root`]. [`decode_step_at`] and
//! [`decode_batch_v1`] read untrusted bytes: bounded, no panics, typed errors.

use alloy::consensus::{SignableTransaction, Signed, TxEip1559, TxEnvelope, TxLegacy};
use alloy::primitives::{Address, Bytes, Signature, TxKind, U256};

use crate::compact::{COMPACT_TAG, COMPACT_TAG_LAST, CompactError, CompactTx, VarintError};

const TYPE_LEGACY: u8 = 0x00;
const TYPE_EIP1559: u8 = 0x02;

/// Why batch data does not encode or decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// No bytes at all.
    #[error("empty batch data")]
    Empty,
    /// A version byte other than 1.
    #[error("unknown batch data version {0}")]
    UnknownVersion(u8),
    /// The data ends in the middle of a field.
    #[error("batch data truncated at byte {0}")]
    Truncated(usize),
    /// A varint above its field's width, or not in its shortest form.
    #[error("invalid varint at byte {0}")]
    BadVarint(usize),
    /// A `u256` with a length above 32 or a leading zero byte.
    #[error("invalid u256 at byte {0}")]
    BadU256(usize),
    /// A `yParity` byte other than 0 and 1.
    #[error("invalid y parity {parity} at byte {at}")]
    BadParity {
        /// The byte.
        parity: u8,
        /// Its offset.
        at: usize,
    },
    /// A step whose first byte is no step kind (v1).
    #[error("unknown step byte {byte:#04x} at byte {at}")]
    UnknownStep {
        /// The byte.
        byte: u8,
        /// Its offset.
        at: usize,
    },
    /// A step that needs more than [`MAX_STEP_BYTES`] bytes (v1).
    #[error("step at byte {at} is longer than {MAX_STEP_BYTES} bytes")]
    StepTooLong {
        /// The step's offset.
        at: usize,
    },
    /// A compact transaction's `dec` not in canonical form or above its field's width.
    #[error("invalid dec at byte {0}")]
    BadDec(usize),
    /// A compact transaction posting the gas limit its operation implies (`g = 1`).
    #[error("compact transaction at byte {0} posts its operation's own gas limit")]
    PostedOwnGas(usize),
    /// More than 2^[`crate::W_DEPTH`] withdrawals in one batch.
    #[error("more than 65,536 withdrawals in one batch")]
    TooManyWithdrawals,
    /// Encoding: a transaction the format cannot carry.
    #[error("transaction {hash} cannot be put in a batch: {reason}")]
    Unencodable {
        /// The transaction hash.
        hash: alloy::primitives::B256,
        /// Why.
        reason: &'static str,
    },
}

// ---------------------------------------------------------------------------------------------
// Encoding

fn put_varint(out: &mut Vec<u8>, mut v: u128) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_u256(out: &mut Vec<u8>, v: U256) {
    let bytes = v.to_be_bytes::<32>();
    let n = 32 - (v.leading_zeros() / 8);
    out.push(n as u8);
    out.extend_from_slice(&bytes[32 - n..]);
}

fn put_tail(out: &mut Vec<u8>, to: Address, value: U256, data: &[u8], sig: &Signature) {
    out.extend_from_slice(to.as_slice());
    put_u256(out, value);
    put_varint(out, data.len() as u128);
    out.extend_from_slice(data);
    out.push(u8::from(sig.v()));
    out.extend_from_slice(&sig.r().to_be_bytes::<32>());
    out.extend_from_slice(&sig.s().to_be_bytes::<32>());
}

fn put_tx(out: &mut Vec<u8>, tx: &TxEnvelope, chain_id: u64) -> Result<(), BatchError> {
    let unencodable = |reason| BatchError::Unencodable {
        hash: *tx.tx_hash(),
        reason,
    };
    match tx {
        TxEnvelope::Legacy(signed) => {
            let t = signed.tx();
            if t.chain_id != Some(chain_id) {
                return Err(unencodable(
                    "legacy transaction not signed for this chain (EIP-155)",
                ));
            }
            let TxKind::Call(to) = t.to else {
                return Err(unencodable("contract creation"));
            };
            out.push(TYPE_LEGACY);
            put_varint(out, u128::from(t.nonce));
            put_varint(out, t.gas_price);
            put_varint(out, u128::from(t.gas_limit));
            put_tail(out, to, t.value, &t.input, signed.signature());
        }
        TxEnvelope::Eip1559(signed) => {
            let t = signed.tx();
            if t.chain_id != chain_id {
                return Err(unencodable("transaction not signed for this chain"));
            }
            if !t.access_list.0.is_empty() {
                return Err(unencodable("non-empty access list"));
            }
            let TxKind::Call(to) = t.to else {
                return Err(unencodable("contract creation"));
            };
            out.push(TYPE_EIP1559);
            put_varint(out, u128::from(t.nonce));
            put_varint(out, t.max_priority_fee_per_gas);
            put_varint(out, t.max_fee_per_gas);
            put_varint(out, u128::from(t.gas_limit));
            put_tail(out, to, t.value, &t.input, signed.signature());
        }
        _ => return Err(unencodable("only legacy and EIP-1559 transactions")),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Decoding

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, BatchError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or(BatchError::Truncated(self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], BatchError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        let end = end.ok_or(BatchError::Truncated(self.buf.len()))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// An unsigned LEB128 of at most `bits` (≤ 128) bits, in its shortest form.
    fn varint(&mut self, bits: usize) -> Result<u128, BatchError> {
        let start = self.pos;
        match crate::compact::read_varint(self.buf, &mut self.pos, bits) {
            Ok(v) => Ok(v.to::<u128>()),
            Err(VarintError::Truncated(at)) => Err(BatchError::Truncated(at)),
            Err(VarintError::Bad) => Err(BatchError::BadVarint(start)),
        }
    }

    fn u64(&mut self) -> Result<u64, BatchError> {
        let start = self.pos;
        u64::try_from(self.varint(64)?).map_err(|_| BatchError::BadVarint(start))
    }

    fn u128(&mut self) -> Result<u128, BatchError> {
        self.varint(128)
    }

    fn u256(&mut self) -> Result<U256, BatchError> {
        let start = self.pos;
        let n = usize::from(self.byte()?);
        if n > 32 {
            return Err(BatchError::BadU256(start));
        }
        let bytes = self.take(n)?;
        if bytes.first() == Some(&0) {
            return Err(BatchError::BadU256(start));
        }
        Ok(U256::from_be_slice(bytes))
    }

    fn address(&mut self) -> Result<Address, BatchError> {
        Ok(Address::from_slice(self.take(20)?))
    }

    fn word(&mut self) -> Result<U256, BatchError> {
        Ok(U256::from_be_slice(self.take(32)?))
    }
}

/// `to value data yParity r s`, the common tail of both transaction forms.
fn read_tail(r: &mut Reader<'_>) -> Result<(Address, U256, Bytes, Signature), BatchError> {
    let to = r.address()?;
    let value = r.u256()?;
    let len_at = r.pos;
    let len = usize::try_from(r.u64()?).map_err(|_| BatchError::Truncated(len_at))?;
    if len > r.remaining() {
        return Err(BatchError::Truncated(r.buf.len()));
    }
    let data = Bytes::copy_from_slice(r.take(len)?);
    let at = r.pos;
    let parity = r.byte()?;
    if parity > 1 {
        return Err(BatchError::BadParity { parity, at });
    }
    let (sig_r, sig_s) = (r.word()?, r.word()?);
    Ok((to, value, data, Signature::new(sig_r, sig_s, parity == 1)))
}

fn read_tx(r: &mut Reader<'_>, chain_id: u64) -> Result<TxEnvelope, BatchError> {
    let at = r.pos;
    match r.byte()? {
        TYPE_LEGACY => {
            let nonce = r.u64()?;
            let gas_price = r.u128()?;
            let gas_limit = r.u64()?;
            let (to, value, input, sig) = read_tail(r)?;
            let tx = TxLegacy {
                chain_id: Some(chain_id),
                nonce,
                gas_price,
                gas_limit,
                to: TxKind::Call(to),
                value,
                input,
            };
            Ok(TxEnvelope::Legacy(tx.into_signed(sig)))
        }
        TYPE_EIP1559 => {
            let nonce = r.u64()?;
            let max_priority_fee_per_gas = r.u128()?;
            let max_fee_per_gas = r.u128()?;
            let gas_limit = r.u64()?;
            let (to, value, input, sig) = read_tail(r)?;
            let tx = TxEip1559 {
                chain_id,
                nonce,
                gas_limit,
                max_fee_per_gas,
                max_priority_fee_per_gas,
                to: TxKind::Call(to),
                value,
                access_list: Default::default(),
                input,
            };
            let signed: Signed<TxEip1559> = tx.into_signed(sig);
            Ok(TxEnvelope::Eip1559(signed))
        }
        byte => Err(BatchError::UnknownStep { byte, at }),
    }
}

// ---------------------------------------------------------------------------------------------
// Version 1 (`docs/fraud-proofs.md` §3): `0x01 ‖ step*`, no compression, every step readable on
// its own from its offset.

/// Version byte of batch data v1.
pub const BATCH_VERSION_V1: u8 = 1;
/// Most bytes one step's encoding may take (the L1 verifier reads at most this many).
pub const MAX_STEP_BYTES: usize = 320;
/// Size of the chunks [`data_root`] commits to (the last one may be shorter).
pub const DATA_CHUNK_BYTES: usize = 1024;
/// First byte of a block marker.
pub const MARK_BLOCK: u8 = 0x10;
/// The byte of a queue step.
pub const MARK_QUEUE: u8 = 0x11;

/// One step of batch data v1.
// Most steps are transactions: boxing them would cost an allocation each for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataStep {
    /// A new L2 block starts: `0x10 varint(timestamp)`.
    Block {
        /// Absolute seconds.
        timestamp: u64,
    },
    /// The next queue message is consumed here: `0x11`.
    Queue,
    /// A signed transaction in the §3.2 transaction encoding.
    Tx(TxEnvelope),
    /// A compact transaction (§3.2): resolve its account indexes in the state before the step
    /// ([`CompactTx::resolve`]) to get the transaction.
    Compact(CompactTx),
}

impl DataStep {
    /// The step kind of its leaf: [`crate::STEP_BLOCK`], [`crate::STEP_QUEUE`] or
    /// [`crate::STEP_TX`].
    pub fn kind(&self) -> u8 {
        match self {
            Self::Block { .. } => crate::leaf::STEP_BLOCK,
            Self::Queue => crate::leaf::STEP_QUEUE,
            Self::Tx(_) | Self::Compact(_) => crate::leaf::STEP_TX,
        }
    }
}

/// Encoded batch data v1 with the offset where each step's bytes end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedBatch {
    /// `0x01 ‖ step*`.
    pub data: Bytes,
    /// `ends[i]`: offset in `data` just after step `i` (a leaf's `dataEnd`).
    pub ends: Vec<u64>,
}

/// Appends the encoding of one step.
pub fn encode_step(out: &mut Vec<u8>, step: &DataStep, chain_id: u64) -> Result<(), BatchError> {
    let start = out.len();
    match step {
        DataStep::Block { timestamp } => {
            out.push(MARK_BLOCK);
            put_varint(out, u128::from(*timestamp));
        }
        DataStep::Queue => out.push(MARK_QUEUE),
        // At most 216 bytes (tag, 4 varints of 10, 3 decs of 37, r, s): below MAX_STEP_BYTES.
        DataStep::Compact(tx) => tx.encode(out),
        DataStep::Tx(tx) => {
            put_tx(out, tx, chain_id)?;
            if out.len() - start > MAX_STEP_BYTES {
                out.truncate(start);
                return Err(BatchError::Unencodable {
                    hash: *tx.tx_hash(),
                    reason: "encoding longer than MAX_STEP_BYTES (320)",
                });
            }
        }
    }
    Ok(())
}

/// Batch data v1 of `steps` for chain `chain_id`, with each step's end offset. Fails if a
/// transaction is not representable (other chain id, other type, access list, contract creation)
/// or encodes to more than [`MAX_STEP_BYTES`]. Checks no batch rule (first step a block,
/// non-decreasing timestamps): those are the sequencer's.
pub fn encode_batch_v1(steps: &[DataStep], chain_id: u64) -> Result<EncodedBatch, BatchError> {
    let mut out = Vec::with_capacity(1 + steps.len() * 112);
    out.push(BATCH_VERSION_V1);
    let mut ends = Vec::with_capacity(steps.len());
    for step in steps {
        encode_step(&mut out, step, chain_id)?;
        ends.push(out.len() as u64);
    }
    Ok(EncodedBatch {
        data: out.into(),
        ends,
    })
}

/// Decodes the step whose bytes start at `offset` of batch data v1 and returns it with the offset
/// where it ends. At most [`MAX_STEP_BYTES`] bytes from `offset` are read: a step that needs more
/// is [`BatchError::StepTooLong`] (undecodable, like one that runs past the data).
pub fn decode_step_at(
    data: &[u8],
    offset: usize,
    chain_id: u64,
) -> Result<(DataStep, usize), BatchError> {
    if offset >= data.len() {
        return Err(BatchError::Truncated(data.len()));
    }
    let window_end = data.len().min(offset.saturating_add(MAX_STEP_BYTES));
    let mut r = Reader {
        buf: &data[..window_end],
        pos: offset,
    };
    let result = match data[offset] {
        MARK_BLOCK => {
            r.pos += 1;
            r.u64().map(|timestamp| DataStep::Block { timestamp })
        }
        MARK_QUEUE => {
            r.pos += 1;
            Ok(DataStep::Queue)
        }
        TYPE_LEGACY | TYPE_EIP1559 => read_tx(&mut r, chain_id).map(DataStep::Tx),
        COMPACT_TAG..=COMPACT_TAG_LAST => match crate::compact::decode(&r.buf[offset..]) {
            Ok((tx, len)) => {
                r.pos = offset + len;
                Ok(DataStep::Compact(tx))
            }
            Err(e) => Err(match e {
                CompactError::Truncated => BatchError::Truncated(window_end),
                CompactError::BadVarint(at) => BatchError::BadVarint(offset + at),
                CompactError::BadDec(at) => BatchError::BadDec(offset + at),
                CompactError::PostedOwnGas(at) => BatchError::PostedOwnGas(offset + at),
                CompactError::BadTag(byte) => BatchError::UnknownStep { byte, at: offset },
            }),
        },
        byte => Err(BatchError::UnknownStep { byte, at: offset }),
    };
    match result {
        Ok(step) => Ok((step, r.pos)),
        Err(BatchError::Truncated(_)) if window_end < data.len() => {
            Err(BatchError::StepTooLong { at: offset })
        }
        Err(e) => Err(e),
    }
}

/// The payload of a forced transaction (`L1Bridge.forceTransaction`, `docs/liveness.md` §1):
/// the transaction's step encoding, exactly as a batch would carry it.
pub fn encode_forced_tx(tx: &TxEnvelope, chain_id: u64) -> Result<Vec<u8>, BatchError> {
    let mut out = Vec::with_capacity(128);
    encode_step(&mut out, &DataStep::Tx(tx.clone()), chain_id)?;
    Ok(out)
}

/// Decodes a forced transaction's payload: exactly one transaction step filling the payload
/// (at most [`MAX_STEP_BYTES`], as in a batch). Anything else is an error (the message is then
/// consumed without effect).
pub fn decode_forced_tx(payload: &[u8], chain_id: u64) -> Result<TxEnvelope, BatchError> {
    match payload.first() {
        Some(&TYPE_LEGACY | &TYPE_EIP1559) => {}
        Some(&byte) => return Err(BatchError::UnknownStep { byte, at: 0 }),
        None => return Err(BatchError::Empty),
    }
    match decode_step_at(payload, 0, chain_id)? {
        (DataStep::Tx(tx), end) if end == payload.len() => Ok(tx),
        (_, end) => Err(BatchError::Truncated(end)),
    }
}

/// Decodes batch data v1 (version byte 1, then steps up to the last byte) for chain `chain_id`,
/// every step as [`decode_step_at`] reads it. Transactions get the chain id `chain_id` and their
/// hashes are computed; senders are not recovered (see [`crate::L2Tx::from_envelope`]).
pub fn decode_batch_v1(data: &[u8], chain_id: u64) -> Result<Vec<DataStep>, BatchError> {
    let (&version, _) = data.split_first().ok_or(BatchError::Empty)?;
    if version != BATCH_VERSION_V1 {
        return Err(BatchError::UnknownVersion(version));
    }
    let mut steps = Vec::new();
    let mut offset = 1;
    while offset < data.len() {
        let (step, end) = decode_step_at(data, offset, chain_id)?;
        steps.push(step);
        offset = end;
    }
    Ok(steps)
}

fn chunk_leaves(data: &[u8]) -> Vec<alloy::primitives::B256> {
    data.chunks(DATA_CHUNK_BYTES)
        .map(alloy::primitives::keccak256)
        .collect()
}

/// `dataRoot`: `data` cut into [`DATA_CHUNK_BYTES`]-byte chunks (the last one shorter), leaf
/// `keccak256(chunk)`, positional Merkle root padded with zero leaves to a power of two; one chunk
/// is its own leaf; empty data gives `bytes32(0)`.
pub fn data_root(data: &[u8]) -> alloy::primitives::B256 {
    crate::merkle::positional_root(&chunk_leaves(data))
}

/// The path of chunk `chunk_index` under [`data_root`]: siblings from the leaf up (empty for one
/// chunk or an index past the data).
pub fn chunk_proof(data: &[u8], chunk_index: usize) -> Vec<alloy::primitives::B256> {
    crate::merkle::positional_proof(&chunk_leaves(data), chunk_index).unwrap_or_default()
}
