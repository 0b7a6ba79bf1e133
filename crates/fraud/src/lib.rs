//! loft's fraud proofs (`docs/fraud-proofs.md`): the witness of one step for the L1
//! `StepVerifier` (`contracts/src/fraud/StepVerifier.sol`), built by re-executing the step with
//! `loft-stf` on the pre-state tree.
//!
//! - [`build_step_witness`]: witness bytes in the verifier's ABI (§5.2) and the expected verdict
//!   and next [`StepLeaf`].
//! - [`data`]: batch data v1 as the verifier reads it (chunk root and paths, step decoding), and
//!   the positional withdrawal tree's slots.
//! - [`queue_head`]: the `L1MessageQueue` hash chain.

use std::cell::RefCell;

use alloy::eips::eip4844::Blob;
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::sol_types::SolValue;
use loft_state::{NodeStore, Smt, StateError, StateRead};
use loft_stf::compact::{COMPACT_TAG, COMPACT_TAG_LAST};
use loft_stf::{
    ChainParams, L2Tx, QueueInput, STEP_BLOCK, STEP_QUEUE, STEP_TX, StepLeaf, TxError,
    apply_queue_message, blob, execute_tx,
};

pub mod data;

#[cfg(test)]
mod vectors;

pub use data::{CHUNK_SIZE, MAX_STEP_BYTES, Step, data_root, decode_step, step_window};

/// The witness types, as `StepVerifier.sol` declares them.
pub mod abi {
    #![allow(missing_docs)]
    alloy::sol! {
        /// `SparseMerkle.Proof`.
        #[derive(Debug, Default, PartialEq, Eq)]
        struct Proof {
            bytes32[] siblings;
            uint8 terminal;
            bytes32 otherKey;
            bytes32 otherValueHash;
        }
        /// A 1 KiB chunk of batch data with its positional path (leaf up).
        #[derive(Debug, Default, PartialEq, Eq)]
        struct DataChunk {
            uint64 index;
            bytes data;
            bytes32[] path;
        }
        /// One field element of a blob batch's data: its value (data in bytes 1..31) and the
        /// KZG proof (48 bytes) of it against its blob's commitment (48 bytes).
        #[derive(Debug, Default, PartialEq, Eq)]
        struct BlobElement {
            bytes32 y;
            bytes commitment;
            bytes proof;
        }
        /// A queue message as `MessageQueued` carries it.
        #[derive(Debug, Default, PartialEq, Eq)]
        struct QueueMessage {
            uint8 kind;
            address sender;
            uint64 l1BlockNumber;
            uint64 timestamp;
            bytes payload;
        }
        /// A state leaf before the step, with its proof.
        #[derive(Debug, Default, PartialEq, Eq)]
        struct StateAccess {
            bytes32 key;
            bool present;
            bytes value;
            Proof proof;
        }
    }

    /// The decoded witness: `(chunks, elements, versionedHashes, message, writes, reads,
    /// wSiblings)`.
    pub type Witness = (
        Vec<DataChunk>,
        Vec<BlobElement>,
        Vec<alloy::primitives::B256>,
        QueueMessage,
        Vec<StateAccess>,
        Vec<StateAccess>,
        [alloy::primitives::B256; 16],
    );
}

/// Why a witness cannot be built (the inputs are inconsistent or the state failed).
#[derive(Debug, thiserror::Error)]
pub enum FraudError {
    /// The state failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The inputs do not fit together.
    #[error("inconsistent input: {0}")]
    Inconsistent(&'static str),
    /// A blob could not be committed to or opened.
    #[error(transparent)]
    Blob(#[from] loft_stf::blob::BlobError),
}

/// One L1 queue message (`MessageQueued`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// Kind (0 deposit, 1 token registration).
    pub kind: u8,
    /// `msg.sender` of the enqueueing call.
    pub sender: Address,
    /// L1 block number.
    pub l1_block_number: u64,
    /// L1 timestamp.
    pub timestamp: u64,
    /// Kind-specific payload.
    pub payload: Bytes,
}

impl QueueMessage {
    fn to_sol(&self) -> abi::QueueMessage {
        abi::QueueMessage {
            kind: self.kind,
            sender: self.sender,
            l1BlockNumber: self.l1_block_number,
            timestamp: self.timestamp,
            payload: self.payload.clone(),
        }
    }
}

/// The queue head after message `index` given the head before it (`L1MessageQueue._enqueue`).
pub fn queue_head(previous: B256, index: u64, msg: &QueueMessage) -> B256 {
    keccak256(
        (
            previous,
            U256::from(index),
            U256::from(msg.kind),
            msg.sender,
            msg.l1_block_number,
            msg.timestamp,
            keccak256(&msg.payload),
        )
            .abi_encode(),
    )
}

/// What a step is executed against besides the state.
#[derive(Debug, Clone, Copy)]
pub struct StepInput<'a> {
    /// The whole batch data (version byte included; for a blob batch, unpacked).
    pub data: &'a [u8],
    /// The batch's blobs in order for a blob batch (`dataKind` 1), `None` for a calldata batch.
    pub blobs: Option<&'a [Blob]>,
    /// The batch's `queueEnd`.
    pub queue_end: u64,
    /// The queue message at `prev.queue_pos` (needed for a queue step below `queue_end`).
    pub message: Option<&'a QueueMessage>,
    /// The leaf hashes of the batch's withdrawals so far (`prev.w_count` of them).
    pub withdrawals: &'a [B256],
}

/// A built witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepWitness {
    /// `abi.encode(chunks, elements, versionedHashes, message, writes, reads, wSiblings)`.
    pub witness: Vec<u8>,
    /// Whether the step may be in a batch (what `execute` returns as `valid`).
    pub valid: bool,
    /// The leaf the step leads to (meaningful only when `valid`).
    pub next: StepLeaf,
}

/// A [`StateRead`] that records every key read, in order of first read.
struct Recorder<'a, S> {
    inner: &'a S,
    keys: RefCell<Vec<B256>>,
}

impl<S: StateRead> StateRead for Recorder<'_, S> {
    fn leaf(&self, key: &B256) -> Result<Option<Vec<u8>>, StateError> {
        let mut keys = self.keys.borrow_mut();
        if !keys.contains(key) {
            keys.push(*key);
        }
        self.inner.leaf(key)
    }
}

fn access<S: NodeStore>(tree: &Smt<S>, key: &B256) -> Result<abi::StateAccess, StateError> {
    let value = tree.get(key)?;
    let proof = tree.prove(key)?.to_sol();
    Ok(abi::StateAccess {
        key: *key,
        present: value.is_some(),
        value: value.unwrap_or_default().into(),
        proof: abi::Proof {
            siblings: proof.siblings,
            terminal: proof.terminal,
            otherKey: proof.otherKey,
            otherValueHash: proof.otherValueHash,
        },
    })
}

/// Puts withdrawal `leaf` in the batch's next slot: the siblings of slot `prev.w_count` (checked
/// against `prev.w_root`), and `next`'s withdrawal root and count after it.
fn take_withdrawal_slot(
    input: &StepInput<'_>,
    prev: &StepLeaf,
    next: &mut StepLeaf,
    leaf: B256,
) -> Result<[B256; loft_stf::W_DEPTH], FraudError> {
    let (siblings, root) = data::withdrawal_slot(input.withdrawals, prev.w_count as usize);
    if root != prev.w_root {
        return Err(FraudError::Inconsistent(
            "withdrawals do not match prev.w_root",
        ));
    }
    next.w_root = data::withdrawal_root_with(leaf, prev.w_count, &siblings);
    next.w_count += 1;
    Ok(siblings)
}

/// Builds the witness of the step after `prev` (the step at `data[prev.data_end]`) on `state`
/// (the tree at `prev.state_root`): re-executes it with `loft_stf` and proves every leaf it reads
/// (against the pre-state) and writes (in order, against the running root of a scratch copy).
pub fn build_step_witness<S: NodeStore + Clone>(
    state: &Smt<S>,
    params: &ChainParams,
    prev: &StepLeaf,
    input: &StepInput<'_>,
) -> Result<StepWitness, FraudError> {
    if state.root_hash() != prev.state_root {
        return Err(FraudError::Inconsistent(
            "state root is not prev.state_root",
        ));
    }
    if input.withdrawals.len() as u64 != prev.w_count {
        return Err(FraudError::Inconsistent(
            "withdrawals do not match prev.w_count",
        ));
    }
    let window = step_window(input.data, prev.data_end);
    let step = decode_step(window, params.chain_id);
    let mut chunks = Vec::new();
    let mut elements = Vec::new();
    let mut versioned_hashes = Vec::new();
    if let Some(blobs) = input.blobs {
        if blobs.len() != blob::blobs_for(input.data.len()) {
            return Err(FraudError::Inconsistent(
                "blob count does not fit the data length",
            ));
        }
        let commitments = blobs
            .iter()
            .map(blob::commitment)
            .collect::<Result<Vec<_>, _>>()?;
        versioned_hashes = commitments.iter().map(|(_, h)| *h).collect();
        if !window.is_empty() {
            // A step that decodes needs only the elements holding its own bytes (the verifier
            // decodes the same step from that prefix of the window); an undecodable one the
            // whole window (`BadWitness("short window")` otherwise).
            let start = prev.data_end as usize;
            let end = start + step.encoded_len().unwrap_or(window.len());
            let per = blob::DATA_PER_ELEMENT;
            for k in start / per..=(end - 1) / per {
                let (b, e) = (k / blob::ELEMENTS_PER_BLOB, k % blob::ELEMENTS_PER_BLOB);
                let opening = blob::element_opening(&blobs[b], e)?;
                elements.push(abi::BlobElement {
                    y: opening.y,
                    commitment: Bytes::copy_from_slice(&commitments[b].0),
                    proof: Bytes::copy_from_slice(&opening.proof),
                });
            }
        }
    } else if !window.is_empty() {
        let start = prev.data_end as usize;
        let end = start + window.len();
        for index in start / CHUNK_SIZE..=(end - 1) / CHUNK_SIZE {
            let from = index * CHUNK_SIZE;
            let to = input.data.len().min(from + CHUNK_SIZE);
            chunks.push(abi::DataChunk {
                index: index as u64,
                data: Bytes::copy_from_slice(&input.data[from..to]),
                path: data::chunk_path(input.data, index),
            });
        }
    }
    let mut next = StepLeaf { kind: 0, ..*prev };
    next.kind = match step {
        Step::Block(_) => STEP_BLOCK,
        Step::Queue => STEP_QUEUE,
        Step::Tx(..) | Step::Compact(..) => STEP_TX,
        Step::Undecodable => match window.first() {
            Some(&data::BLOCK_TAG) => STEP_BLOCK,
            Some(0x00 | 0x02 | COMPACT_TAG..=COMPACT_TAG_LAST) => STEP_TX,
            _ => 0,
        },
    };
    let recorder = Recorder {
        inner: state,
        keys: RefCell::new(Vec::new()),
    };
    let mut message = abi::QueueMessage::default();
    let mut w_siblings = [B256::ZERO; loft_stf::W_DEPTH];
    // `None`: the step is invalid.
    let mut writes: Option<loft_stf::Writes> = None;
    let first_ok = prev.kind != 0 || next.kind == STEP_BLOCK;
    match step {
        _ if !first_ok => {}
        Step::Undecodable => {}
        Step::Block(len) => {
            next.data_end += len as u64;
            writes = Some(Vec::new());
        }
        Step::Queue => {
            next.data_end += 1;
            if prev.queue_pos < input.queue_end {
                let msg = input
                    .message
                    .ok_or(FraudError::Inconsistent("queue step without its message"))?;
                message = msg.to_sol();
                let queued = QueueInput {
                    index: prev.queue_pos,
                    kind: msg.kind,
                    sender: msg.sender,
                    payload: msg.payload.clone(),
                };
                let outcome = apply_queue_message(&recorder, params, &queued)?;
                if let Some(w) = &outcome.withdrawal {
                    w_siblings = take_withdrawal_slot(input, prev, &mut next, w.leaf())?;
                }
                writes = Some(outcome.writes);
                next.queue_pos += 1;
            }
        }
        Step::Tx(_, len) | Step::Compact(_, len) => {
            next.data_end += len as u64;
            // A compact transaction's index leaves are read through the recorder: the witness
            // proves them as the verifier resolves them.
            let envelope = match step {
                Step::Tx(envelope, _) => Ok(*envelope),
                Step::Compact(c, _) => c.resolve(&recorder, params.chain_id),
                _ => unreachable!("matched above"),
            };
            let envelope = match envelope {
                Err(TxError::State(e)) => return Err(e.into()),
                other => other,
            };
            if let Ok(tx) = envelope.and_then(|e| L2Tx::from_envelope(e, params.chain_id)) {
                match execute_tx(&recorder, params, &tx) {
                    Ok(outcome) => {
                        if let Some(w) = &outcome.withdrawal {
                            w_siblings = take_withdrawal_slot(input, prev, &mut next, w.leaf())?;
                        }
                        writes = Some(outcome.writes);
                    }
                    Err(TxError::State(e)) => return Err(e.into()),
                    Err(_) => {}
                }
            }
        }
    }
    let valid = writes.is_some();
    let writes = writes.unwrap_or_default();
    let recorded = recorder.keys.into_inner();
    let reads = recorded
        .iter()
        .filter(|k| !writes.iter().any(|(w, _)| w == *k))
        .map(|k| access(state, k))
        .collect::<Result<Vec<_>, _>>()?;
    let mut scratch = state.clone();
    let mut sol_writes = Vec::with_capacity(writes.len());
    for (key, value) in &writes {
        sol_writes.push(access(&scratch, key)?);
        scratch.set(*key, value.clone())?;
    }
    next.state_root = scratch.root_hash();
    let witness: abi::Witness = (
        chunks,
        elements,
        versioned_hashes,
        message,
        sol_writes,
        reads,
        w_siblings,
    );
    Ok(StepWitness {
        witness: witness.abi_encode_params(),
        valid,
        next,
    })
}
