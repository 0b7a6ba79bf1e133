//! loft's L1 contracts from Rust: `sol!` bindings generated from the committed forge artifacts in
//! `contracts/artifacts/` (so building needs neither Node nor solc), the L1->L2 message queue as the
//! node reads it, the rollup's batches and withdrawals (`docs/rollup.md` §3.3, §4), and deployment
//! through any [`L1Client`]; the ZK profile's `ZkRollup` and `Groth16Verifier` likewise
//! ([`deploy_zk`], [`zk_messages`], [`zk_verified_batches`]).

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolConstructor, SolEvent, SolType, SolValue, sol_data};
use loft_l1::{Filter, L1Client, L1Error, Log};

/// The bridge's bindings live apart: its `refundDeposit` takes an `L1Rollup.BatchHeader`, for
/// which `sol!` declares its own `L1Rollup` module (convert with [`bridge_header`]).
#[allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]
pub mod bridge_bindings {
    alloy::sol!(
        #[derive(Debug, PartialEq, Eq)]
        L1Bridge,
        "../../contracts/artifacts/L1Bridge.json"
    );
}

#[allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]
mod bindings {
    pub use super::bridge_bindings::L1Bridge;
    alloy::sol!(
        #[derive(Debug, PartialEq, Eq)]
        DevToken,
        "../../contracts/artifacts/DevToken.json"
    );
    alloy::sol!(
        #[derive(Debug, PartialEq, Eq)]
        L1Rollup,
        "../../contracts/artifacts/L1Rollup.json"
    );
    alloy::sol!(
        #[derive(Debug, PartialEq, Eq)]
        StepVerifier,
        "../../contracts/artifacts/StepVerifier.json"
    );
}

pub use bindings::{DevToken, IStepVerifier, L1Bridge, L1Rollup, SparseMerkle, StepVerifier};

mod blobs;
pub use blobs::{batch_blobs, blob_data_root, posted_batch, unpack_batch};
mod zk;
pub use zk::{
    Groth16Verifier, ZkDeployOptions, ZkDeployment, ZkQueueMessage, ZkRollup, ZkVerifiedBatch,
    deploy_zk, zk_messages, zk_rollup_creation_code, zk_verified_batches,
};

/// A batch header as the bridge's ABI has it (`L1Bridge.refundDeposit`): the same 17 words.
pub fn bridge_header(h: BatchHeader) -> bridge_bindings::L1Rollup::BatchHeader {
    let words = L1Rollup::BatchHeader::from(h).abi_encode();
    <bridge_bindings::L1Rollup::BatchHeader as SolValue>::abi_decode(&words)
        .expect("the two bindings declare the same struct")
}

/// A step leaf (`docs/fraud-proofs.md` §2) as the rollup's ABI has it.
impl From<loft_stf::StepLeaf> for L1Rollup::StepLeaf {
    fn from(l: loft_stf::StepLeaf) -> Self {
        Self {
            kind: l.kind,
            queuePos: l.queue_pos,
            dataEnd: l.data_end,
            wCount: l.w_count,
            wRoot: l.w_root,
            stateRoot: l.state_root,
        }
    }
}

/// A step leaf from the rollup's ABI (an opened leaf, a `StepOpened` event).
impl From<L1Rollup::StepLeaf> for loft_stf::StepLeaf {
    fn from(l: L1Rollup::StepLeaf) -> Self {
        Self {
            kind: l.kind,
            queue_pos: l.queuePos,
            data_end: l.dataEnd,
            w_count: l.wCount,
            w_root: l.wRoot,
            state_root: l.stateRoot,
        }
    }
}

/// Message kind of a deposit in the L1->L2 queue.
pub const KIND_DEPOSIT: u8 = 0;

/// Message kind of an ERC-20 token registration in the L1->L2 queue (queued by the bridge before
/// the first deposit of each token).
pub const KIND_REGISTER_TOKEN: u8 = 1;

/// Challenge period [`DeployOptions::default`] uses: the dev chain config's 10 seconds.
pub const DEFAULT_CHALLENGE_PERIOD_SECS: u64 = 10;

/// Exodus delay [`DeployOptions::default`] uses: the dev chain config's one hour (above the 600 s
/// challenge periods the integration testnets use; skip it with the dev L1's `evm_increaseTime`).
pub const DEFAULT_EXODUS_DELAY_SECS: u64 = 3600;

/// Errors of deployment and queue reading.
#[derive(Debug, thiserror::Error)]
pub enum ContractsError {
    /// The L1 refused or failed a request.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// The deployer cannot pay for the deployment.
    #[error(
        "deployer {account} has {balance} wei on L1 but the deployment needs about {needed} wei: fund the key or use another one"
    )]
    Unfunded {
        /// Deployer address.
        account: Address,
        /// Its balance.
        balance: U256,
        /// Estimated cost.
        needed: U256,
    },
    /// A deployment transaction was mined but did not create the contract.
    #[error("deploying {contract} failed in transaction {tx}: {reason}")]
    DeployFailed {
        /// Which contract.
        contract: &'static str,
        /// The transaction.
        tx: B256,
        /// What went wrong.
        reason: String,
    },
    /// A log that does not decode (not emitted by a loft contract).
    #[error("malformed {event} log in transaction {tx:?}: {reason}")]
    MalformedLog {
        /// The event's name.
        event: &'static str,
        /// The transaction that emitted it.
        tx: Option<B256>,
        /// Decoder message.
        reason: String,
    },
    /// A `ZkRollup.BatchVerified` whose transaction is not a direct call of `submitBatch` on the
    /// rollup (a batch submitted through another contract): its public data cannot be read back.
    #[error(
        "batch {index} was verified in transaction {tx}, which is not a direct submitBatch call: {reason}"
    )]
    IndirectBatch {
        /// The batch's index.
        index: u64,
        /// The transaction that emitted `BatchVerified`.
        tx: B256,
        /// What it is instead.
        reason: String,
    },
}

/// One message of the L1->L2 queue, as emitted by `MessageQueued`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// 0-based position in the queue.
    pub index: u64,
    /// Message kind ([`KIND_DEPOSIT`], ...).
    pub kind: u8,
    /// The L1 account that caused it.
    pub sender: Address,
    /// Queue head after this message.
    pub head: B256,
    /// L1 block that queued it.
    pub l1_block_number: u64,
    /// Timestamp of that block.
    pub timestamp: u64,
    /// Kind-specific payload.
    pub payload: Bytes,
}

impl QueueMessage {
    /// The queue head after this message, given the head before it: the same hash the contract
    /// computes (`docs/l1-contracts.md`).
    pub fn chain_head(&self, previous: B256) -> B256 {
        type Encoded = (
            sol_data::FixedBytes<32>,
            sol_data::Uint<256>,
            sol_data::Uint<8>,
            sol_data::Address,
            sol_data::Uint<64>,
            sol_data::Uint<64>,
            sol_data::FixedBytes<32>,
        );
        let encoded = Encoded::abi_encode(&(
            previous,
            U256::from(self.index),
            self.kind,
            self.sender,
            self.l1_block_number,
            self.timestamp,
            keccak256(&self.payload),
        ));
        keccak256(encoded)
    }

    /// Decodes a `MessageQueued` log.
    pub fn from_log(log: &Log) -> Result<Self, ContractsError> {
        let malformed = |reason: String| ContractsError::MalformedLog {
            event: "MessageQueued",
            tx: log.transaction_hash,
            reason,
        };
        let event = L1Bridge::MessageQueued::decode_log(&log.inner)
            .map_err(|e| malformed(e.to_string()))?;
        Ok(Self {
            index: event
                .index
                .try_into()
                .map_err(|_| malformed("index exceeds 64 bits".into()))?,
            kind: event.kind,
            sender: event.sender,
            head: event.head,
            l1_block_number: event.l1BlockNumber,
            timestamp: event.timestamp,
            payload: event.payload.clone(),
        })
    }

    /// The deposit this message carries, if it is one.
    pub fn deposit(&self) -> Option<Deposit> {
        if self.kind != KIND_DEPOSIT {
            return None;
        }
        let (token, from, to, amount) =
            <(Address, Address, Address, U256)>::abi_decode(&self.payload).ok()?;
        Some(Deposit {
            token,
            from,
            to,
            amount,
        })
    }

    /// The token registration this message carries, if it is one with a well-formed payload.
    pub fn token_registration(&self) -> Option<TokenRegistration> {
        if self.kind != KIND_REGISTER_TOKEN {
            return None;
        }
        // `bytes` and `string` encode alike; bytes keep names that are not UTF-8 exactly as queued.
        // `abi.encode(a, b, c, d)` with dynamic members is a parameter list, not a wrapped tuple.
        type Payload = (
            sol_data::Address,
            sol_data::Bytes,
            sol_data::Bytes,
            sol_data::Uint<8>,
        );
        let (l1_token, name, symbol, decimals) = Payload::abi_decode_params(&self.payload).ok()?;
        Some(TokenRegistration {
            l1_token,
            name,
            symbol,
            decimals,
        })
    }
}

/// A token registration message's payload:
/// `abi.encode(address l1Token, string name, string symbol, uint8 decimals)`.
///
/// `name` and `symbol` are the raw bytes the token returned (the bridge does not check UTF-8), so
/// they hash exactly as on L1; [`TokenRegistration::name_lossy`] is for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRegistration {
    /// The L1 token.
    pub l1_token: Address,
    /// `name()`, or empty when the token has none.
    pub name: Bytes,
    /// `symbol()`, or empty when the token has none.
    pub symbol: Bytes,
    /// `decimals()`, or 18 when the token has none.
    pub decimals: u8,
}

impl TokenRegistration {
    /// The name as text (invalid UTF-8 replaced).
    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(&self.name).into_owned()
    }

    /// The symbol as text (invalid UTF-8 replaced).
    pub fn symbol_lossy(&self) -> String {
        String::from_utf8_lossy(&self.symbol).into_owned()
    }
}

/// A deposit message's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deposit {
    /// L1 token, zero for ETH.
    pub token: Address,
    /// L1 depositor.
    pub from: Address,
    /// L2 recipient.
    pub to: Address,
    /// Amount actually received by the bridge.
    pub amount: U256,
}

/// The events `E` that `address` emitted in a block range (inclusive), each parsed by `parse`.
pub(crate) async fn parsed_events<E: SolEvent, T>(
    l1: &(impl L1Client + ?Sized),
    address: Address,
    from_block: u64,
    to_block: u64,
    parse: impl Fn(&Log) -> Result<T, ContractsError>,
) -> Result<Vec<T>, ContractsError> {
    event_logs::<E>(l1, address, from_block, to_block)
        .await?
        .iter()
        .map(parse)
        .collect()
}

/// The logs of event `E` that `address` emitted in a block range (inclusive), as L1 returns them.
pub(crate) async fn event_logs<E: SolEvent>(
    l1: &(impl L1Client + ?Sized),
    address: Address,
    from_block: u64,
    to_block: u64,
) -> Result<Vec<Log>, ContractsError> {
    let filter = Filter::new()
        .address(address)
        .event_signature(E::SIGNATURE_HASH)
        .from_block(from_block)
        .to_block(to_block);
    Ok(l1.logs(&filter).await?)
}

/// Reads the queue messages emitted by `bridge` in a block range, in queue order.
pub async fn read_queue(
    l1: &(impl L1Client + ?Sized),
    bridge: Address,
    from_block: u64,
    to_block: u64,
) -> Result<Vec<QueueMessage>, ContractsError> {
    let mut messages = parsed_events::<L1Bridge::MessageQueued, _>(
        l1,
        bridge,
        from_block,
        to_block,
        QueueMessage::from_log,
    )
    .await?;
    messages.sort_by_key(|m| m.index);
    Ok(messages)
}

/// Reads a view function of the bridge.
pub async fn bridge_call<C: SolCall>(
    l1: &(impl L1Client + ?Sized),
    bridge: Address,
    call: C,
) -> Result<C::Return, ContractsError> {
    view_call(l1, bridge, call).await
}

/// Reads a view function of the rollup.
pub async fn rollup_call<C: SolCall>(
    l1: &(impl L1Client + ?Sized),
    rollup: Address,
    call: C,
) -> Result<C::Return, ContractsError> {
    view_call(l1, rollup, call).await
}

/// Calls `call` on `to` without a transaction and decodes what it returns.
pub async fn view_call<C: SolCall>(
    l1: &(impl L1Client + ?Sized),
    to: Address,
    call: C,
) -> Result<C::Return, ContractsError> {
    let out = l1
        .call(
            TransactionRequest::default()
                .to(to)
                .input(call.abi_encode().into()),
        )
        .await?;
    C::abi_decode_returns(&out)
        .map_err(|e| ContractsError::L1(L1Error::Rpc(format!("decoding return data: {e}"))))
}

/// [`BatchHeader::data_kind`] of a batch posted with `submitBatch`: its data is the call data.
pub const DATA_CALLDATA: u8 = 0;
/// [`BatchHeader::data_kind`] of a batch posted with `submitBatchBlobs`: its data is in the
/// EIP-4844 blobs of the submission transaction.
pub const DATA_BLOBS: u8 = 1;

/// A batch header as committed on L1 (`docs/rollup.md` §3.3); its hash is
/// `keccak256(abi.encode(header))` ([`BatchHeader::hash`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct BatchHeader {
    /// 0-based batch number.
    pub index: u64,
    /// Hash of the previous header, zero for the first batch.
    pub parent_hash: B256,
    /// State root before the batch (the previous batch's, or the genesis root).
    pub prev_state_root: B256,
    /// Claimed state root after the batch's last step.
    pub state_root: B256,
    /// Root of the batch's positional withdrawal tree (`docs/fraud-proofs.md` §4).
    pub withdrawal_root: B256,
    /// `stepsRoot`: positional Merkle root of the step leaf hashes (`docs/fraud-proofs.md` §2).
    /// (The Rust name predates v2; the Solidity field is `stepsRoot`.)
    pub step_roots_root: B256,
    /// The data commitment, computed by L1 (`docs/fraud-proofs.md` §3): for a calldata batch the
    /// positional Merkle root over `keccak256` of the data's 1,024-byte chunks; for a blob batch
    /// `keccak256` of its blobs' versioned hashes, concatenated in order.
    pub data_root: B256,
    /// Length of the batch data in bytes.
    pub data_length: u64,
    /// Where the data was posted: [`DATA_CALLDATA`] or [`DATA_BLOBS`].
    #[serde(default)]
    pub data_kind: u8,
    /// Queue messages consumed before the batch.
    pub queue_start: u64,
    /// Queue messages consumed after the batch.
    pub queue_end: u64,
    /// The queue's hash-chain head after `queue_end` messages.
    pub queue_head: B256,
    /// First L2 block.
    pub first_block: u64,
    /// Last L2 block.
    pub last_block: u64,
    /// Number of steps.
    pub step_count: u64,
    /// L1 timestamp of the submission.
    pub posted_at: u64,
    /// The account that posted the batch (its bond answers for it).
    pub poster: Address,
    /// The L2 base fee of the batch's transactions (what the state transition charges).
    pub base_fee: u128,
}

impl BatchHeader {
    /// `keccak256(abi.encode(header))`, the hash the rollup stores.
    pub fn hash(&self) -> B256 {
        keccak256(L1Rollup::BatchHeader::from(*self).abi_encode())
    }

    /// L1 timestamp from which the batch is final, for a rollup with this challenge period.
    pub fn final_at(&self, challenge_period_secs: u64) -> u64 {
        self.posted_at.saturating_add(challenge_period_secs)
    }
}

impl From<L1Rollup::BatchHeader> for BatchHeader {
    fn from(h: L1Rollup::BatchHeader) -> Self {
        Self {
            index: h.index,
            parent_hash: h.parentHash,
            prev_state_root: h.prevStateRoot,
            state_root: h.stateRoot,
            withdrawal_root: h.withdrawalRoot,
            step_roots_root: h.stepsRoot,
            data_root: h.dataRoot,
            data_length: h.dataLength,
            data_kind: h.dataKind,
            queue_start: h.queueStart,
            queue_end: h.queueEnd,
            queue_head: h.queueHead,
            first_block: h.firstBlock,
            last_block: h.lastBlock,
            step_count: h.stepCount,
            posted_at: h.postedAt,
            poster: h.poster,
            base_fee: h.baseFee.saturating_to(),
        }
    }
}

impl From<BatchHeader> for L1Rollup::BatchHeader {
    fn from(h: BatchHeader) -> Self {
        Self {
            index: h.index,
            parentHash: h.parent_hash,
            prevStateRoot: h.prev_state_root,
            stateRoot: h.state_root,
            withdrawalRoot: h.withdrawal_root,
            stepsRoot: h.step_roots_root,
            dataRoot: h.data_root,
            dataLength: h.data_length,
            dataKind: h.data_kind,
            queueStart: h.queue_start,
            queueEnd: h.queue_end,
            queueHead: h.queue_head,
            firstBlock: h.first_block,
            lastBlock: h.last_block,
            stepCount: h.step_count,
            postedAt: h.posted_at,
            poster: h.poster,
            baseFee: U256::from(h.base_fee),
        }
    }
}

/// A `BatchSubmitted` event: the header and where it was posted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmittedBatch {
    /// The header.
    pub header: BatchHeader,
    /// Its hash, as emitted (equal to [`BatchHeader::hash`] for a loft rollup).
    pub header_hash: B256,
    /// L1 block of the submission.
    pub l1_block_number: Option<u64>,
    /// L1 transaction of the submission; its calldata holds the batch data
    /// ([`decode_submit_batch`]).
    pub transaction_hash: Option<B256>,
}

impl SubmittedBatch {
    /// Decodes a `BatchSubmitted` log and checks the emitted hash against the header.
    pub fn from_log(log: &Log) -> Result<Self, ContractsError> {
        let malformed = |reason: String| ContractsError::MalformedLog {
            event: "BatchSubmitted",
            tx: log.transaction_hash,
            reason,
        };
        let event = L1Rollup::BatchSubmitted::decode_log(&log.inner)
            .map_err(|e| malformed(e.to_string()))?;
        let header = BatchHeader::from(event.header.clone());
        if header.index != event.index || header.hash() != event.headerHash {
            return Err(malformed(
                "index or header hash does not match the header".into(),
            ));
        }
        Ok(Self {
            header,
            header_hash: event.headerHash,
            l1_block_number: log.block_number,
            transaction_hash: log.transaction_hash,
        })
    }
}

impl SubmittedBatch {
    /// The batch data, read back from the transaction that posted it: its calldata, or for a
    /// blob batch its blobs ([`posted_batch`]).
    pub async fn data(&self, l1: &(impl L1Client + ?Sized)) -> Result<Bytes, ContractsError> {
        let hash = self.transaction_hash.ok_or_else(|| {
            ContractsError::L1(L1Error::Rpc(
                "a BatchSubmitted log without its transaction".into(),
            ))
        })?;
        Ok(posted_batch(l1, hash, &self.header).await?.0)
    }
}

/// Reads the batches `rollup` posted in a block range, in batch order.
pub async fn read_batches(
    l1: &(impl L1Client + ?Sized),
    rollup: Address,
    from_block: u64,
    to_block: u64,
) -> Result<Vec<SubmittedBatch>, ContractsError> {
    let mut batches = parsed_events::<L1Rollup::BatchSubmitted, _>(
        l1,
        rollup,
        from_block,
        to_block,
        SubmittedBatch::from_log,
    )
    .await?;
    batches.sort_by_key(|b| b.header.index);
    Ok(batches)
}

/// What the sequencer claims about a batch (`L1Rollup.BatchInput`); L1 derives the rest of the
/// [`BatchHeader`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BatchInput {
    /// State root after the last step.
    pub state_root: B256,
    /// Root of the batch's positional withdrawal tree (`L1Rollup.EMPTY_W_ROOT` when none).
    pub withdrawal_root: B256,
    /// `stepsRoot`: positional Merkle root of the step leaf hashes (the Rust name predates v2).
    pub step_roots_root: B256,
    /// Queue messages consumed after the batch (cumulative).
    pub queue_end: u64,
    /// First L2 block: the previous batch's last block + 1 (1 for the first batch).
    pub first_block: u64,
    /// Last L2 block.
    pub last_block: u64,
    /// Number of steps, at least 1.
    pub step_count: u64,
    /// The L2 base fee every transaction of the batch was executed at (at most the poster's
    /// bid, `docs/liveness.md` §2).
    pub base_fee: u128,
}

impl From<BatchInput> for L1Rollup::BatchInput {
    fn from(i: BatchInput) -> Self {
        Self {
            stateRoot: i.state_root,
            withdrawalRoot: i.withdrawal_root,
            stepsRoot: i.step_roots_root,
            queueEnd: i.queue_end,
            firstBlock: i.first_block,
            lastBlock: i.last_block,
            stepCount: i.step_count,
            baseFee: U256::from(i.base_fee),
        }
    }
}

impl From<L1Rollup::BatchInput> for BatchInput {
    fn from(i: L1Rollup::BatchInput) -> Self {
        Self {
            state_root: i.stateRoot,
            withdrawal_root: i.withdrawalRoot,
            step_roots_root: i.stepsRoot,
            queue_end: i.queueEnd,
            first_block: i.firstBlock,
            last_block: i.lastBlock,
            step_count: i.stepCount,
            base_fee: i.baseFee.saturating_to(),
        }
    }
}

/// Call data of `L1Rollup.submitBatch(input, data)`.
pub fn submit_batch_calldata(input: &BatchInput, data: &[u8]) -> Bytes {
    L1Rollup::submitBatchCall {
        input: (*input).into(),
        data: Bytes::copy_from_slice(data),
    }
    .abi_encode()
    .into()
}

/// Decodes `submitBatch` call data (a derivation node reading a batch's data back from L1).
pub fn decode_submit_batch(calldata: &[u8]) -> Result<(BatchInput, Bytes), ContractsError> {
    let call = L1Rollup::submitBatchCall::abi_decode(calldata)
        .map_err(|e| ContractsError::L1(L1Error::Rpc(format!("decoding submitBatch: {e}"))))?;
    Ok((call.input.into(), call.data))
}

/// An L2 -> L1 withdrawal (`docs/rollup.md` §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withdrawal {
    /// The L2 account that withdrew.
    pub l2_sender: Address,
    /// Nonce of the L2 transaction that withdrew.
    pub nonce: u64,
    /// Receiver on L1.
    pub l1_recipient: Address,
    /// L1 token, zero for ETH.
    pub l1_token: Address,
    /// Amount in the token's base unit.
    pub amount: U256,
}

impl Withdrawal {
    /// The Merkle leaf: `keccak256(keccak256(abi.encode(l2Sender, nonce, l1Recipient, l1Token,
    /// amount)))`, as `L1Rollup.withdrawalLeaf` computes it.
    pub fn leaf(&self) -> B256 {
        keccak256(keccak256(
            (
                self.l2_sender,
                U256::from(self.nonce),
                self.l1_recipient,
                self.l1_token,
                self.amount,
            )
                .abi_encode_params(),
        ))
    }
}

impl From<Withdrawal> for L1Rollup::Withdrawal {
    fn from(w: Withdrawal) -> Self {
        Self {
            l2Sender: w.l2_sender,
            nonce: U256::from(w.nonce),
            l1Recipient: w.l1_recipient,
            l1Token: w.l1_token,
            amount: w.amount,
        }
    }
}

/// Call data of `L1Rollup.claimWithdrawal(batchIndex, withdrawal, index, siblings)`: the
/// withdrawal's position in the batch's depth-16 withdrawal tree and the 16 siblings from the leaf up.
pub fn claim_withdrawal_calldata(
    batch_index: u64,
    withdrawal: &Withdrawal,
    index: u64,
    siblings: &[B256; 16],
) -> Bytes {
    L1Rollup::claimWithdrawalCall {
        batchIndex: batch_index,
        w: (*withdrawal).into(),
        index: U256::from(index),
        siblings: *siblings,
    }
    .abi_encode()
    .into()
}

/// Addresses and parameters of a deployment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Deployment {
    /// L1 chain id.
    pub l1_chain_id: u64,
    /// The rollup (batches, finality, withdrawal claims); it created the bridge.
    pub rollup: Address,
    /// The bridge (and L1->L2 queue).
    pub bridge: Address,
    /// L1 block of the rollup's and bridge's deployment: the queue and the batches start there.
    pub bridge_block: u64,
    /// The account allowed to post batches.
    pub sequencer: Address,
    /// Seconds after posting at which a batch is final.
    pub challenge_period_secs: u64,
    /// State root of L2 block 0.
    pub genesis_state_root: B256,
    /// A mintable test ERC-20, deployed on development chains only.
    pub dev_token: Option<Address>,
    /// The one-step verifier the rollup's `proveStep` calls (`None`: the rollup has none).
    #[serde(default)]
    pub step_verifier: Option<Address>,
}

/// What to deploy.
#[derive(Debug, Clone, Copy)]
pub struct DeployOptions {
    /// Also deploy a freely mintable ERC-20 for demos and tests.
    pub dev_token: bool,
    /// The batch poster; `None` is the deploying account.
    pub sequencer: Option<Address>,
    /// Seconds until a batch is final; not zero.
    pub challenge_period_secs: u64,
    /// State root of L2 block 0.
    pub genesis_state_root: B256,
    /// Bond a poster must hold to post (wei). When not zero, [`deploy`] pays it with the rollup's
    /// creation (the constructor credits it to the sequencer's bond), so posting works at once.
    pub bond_wei: U256,
    /// Share of a slashed bond paid to the winning challenger, in basis points (≤ 10,000).
    pub challenger_share_bps: u16,
    /// Receiver of the rest of a slashed bond.
    pub slash_sink: Address,
    /// Seconds a poster has to answer an opening request; below `challenge_period_secs`.
    pub response_window_secs: u64,
    /// Maximum batch data length in bytes.
    pub max_batch_data: u64,
    /// The L2 parameters the one-step verifier re-executes with; with `Some`, [`deploy`] creates a
    /// `StepVerifier` for the rollup's `proveStep`, with `None` the rollup has none (`proveStep`
    /// then reverts `NoVerifier`).
    pub step_verifier: Option<VerifierParams>,
    /// Seconds without a newly final batch after which anyone may freeze the rollup
    /// (`docs/escape-hatch.md`); above `challenge_period_secs` + `force_inclusion_delay_secs` +
    /// `liveness_window_secs` (the constructor refuses it otherwise).
    pub exodus_delay_secs: u64,
    /// The sequencer's bid, the L2 base fee cap of its epochs: it is the first operator
    /// (`docs/liveness.md` §2).
    pub sequencer_bid: U256,
    /// Length of an operator epoch in seconds.
    pub epoch_secs: u64,
    /// Seconds the active operator may post nothing while the queue holds messages before it may
    /// be kicked.
    pub liveness_window_secs: u64,
    /// Seconds a queue message may wait before L1 refuses batches that skip it.
    pub force_inclusion_delay_secs: u64,
    /// Share of a kicked operator's bond slashed, in basis points.
    pub kick_slash_bps: u16,
}

/// The L2 chain parameters a `StepVerifier` is deployed with (the state transition's
/// `ChainParams`; they must match the sequencer's, or correct steps would look like fraud).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifierParams {
    /// L2 chain id.
    pub l2_chain_id: u64,
    /// L2 fee recipient.
    pub fee_recipient: Address,
}

/// Slash sink [`DeployOptions::default`] uses: `0x…dEaD` (burned).
pub const DEFAULT_SLASH_SINK: Address = Address::new([
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad,
]);

impl Default for DeployOptions {
    /// No dev token, the deployer as sequencer, [`DEFAULT_CHALLENGE_PERIOD_SECS`], genesis root 0,
    /// a bond of 1 ether, half of a slashed bond to the challenger and the rest to
    /// [`DEFAULT_SLASH_SINK`], a 5 s response window, 1,000,000 bytes of data, no step verifier,
    /// [`DEFAULT_EXODUS_DELAY_SECS`], a 1 gwei sequencer bid, 60 s epochs, a 30 s liveness window
    /// and force-inclusion delay, half of a kicked bond slashed.
    fn default() -> Self {
        Self {
            dev_token: false,
            sequencer: None,
            challenge_period_secs: DEFAULT_CHALLENGE_PERIOD_SECS,
            genesis_state_root: B256::ZERO,
            bond_wei: U256::from(10u64).pow(U256::from(18)),
            challenger_share_bps: 5000,
            slash_sink: DEFAULT_SLASH_SINK,
            response_window_secs: 5,
            max_batch_data: 1_000_000,
            step_verifier: None,
            exodus_delay_secs: DEFAULT_EXODUS_DELAY_SECS,
            sequencer_bid: U256::from(1_000_000_000u64),
            epoch_secs: 60,
            liveness_window_secs: 30,
            force_inclusion_delay_secs: 30,
            kick_slash_bps: 5_000,
        }
    }
}

async fn create(
    l1: &(impl L1Client + ?Sized),
    contract: &'static str,
    code: Bytes,
    value: U256,
) -> Result<(Address, u64), ContractsError> {
    let receipt = l1
        .send_transaction(
            TransactionRequest::default()
                .into_create()
                .value(value)
                .input(code.into()),
        )
        .await?;
    let tx = receipt.transaction_hash;
    let address = match (receipt.status(), receipt.contract_address) {
        (true, Some(a)) => a,
        (false, _) => {
            return Err(ContractsError::DeployFailed {
                contract,
                tx,
                reason: "the creation reverted".into(),
            });
        }
        (true, None) => {
            return Err(ContractsError::DeployFailed {
                contract,
                tx,
                reason: "the receipt names no contract address".into(),
            });
        }
    };
    if l1.code(address).await?.is_empty() {
        return Err(ContractsError::DeployFailed {
            contract,
            tx,
            reason: format!("no code at {address} after deployment"),
        });
    }
    tracing::info!(target: "loft::contracts", contract, %address, %tx, gas = receipt.gas_used, "deployed");
    Ok((address, receipt.block_number.unwrap_or_default()))
}

/// Deploys loft's L1 contracts with the client's key. Checks first that the key can pay for
/// everything, so an unfunded key deploys nothing; returns only when every contract has code.
pub async fn deploy(
    l1: &(impl L1Client + ?Sized),
    options: DeployOptions,
) -> Result<Deployment, ContractsError> {
    let l1_chain_id = l1.chain_id().await?;
    let deployer = l1.sender();
    let sequencer = options.sequencer.unwrap_or(deployer);
    // The verifier reads queue heads from the bridge the rollup creates, and the rollup names the
    // verifier: the verifier goes first, at the deployer's next nonce, with the addresses the
    // rollup (next nonce + 1) and its bridge (the rollup's first creation, nonce 1) will get.
    let nonce = l1.nonce(deployer).await?;
    let verifier_address = options.step_verifier.map(|_| deployer.create(nonce));
    let rollup_nonce = nonce + u64::from(options.step_verifier.is_some());
    let future_bridge = deployer.create(rollup_nonce).create(1);
    let verifier_code: Option<Bytes> = options.step_verifier.map(|p| {
        [
            StepVerifier::BYTECODE.as_ref(),
            &StepVerifier::constructorCall {
                l2ChainId_: U256::from(p.l2_chain_id),
                feeRecipient_: p.fee_recipient,
                bridge_: future_bridge,
            }
            .abi_encode(),
        ]
        .concat()
        .into()
    });
    let rollup_code: Bytes = [
        L1Rollup::BYTECODE.as_ref(),
        &L1Rollup::constructorCall {
            p: L1Rollup::RollupParams {
                sequencer,
                challengePeriod: options.challenge_period_secs,
                genesisStateRoot: options.genesis_state_root,
                bondWei: options.bond_wei,
                challengerShareBps: options.challenger_share_bps,
                slashSink: options.slash_sink,
                responseWindow: options.response_window_secs,
                maxBatchData: options.max_batch_data,
                stepVerifier: verifier_address.unwrap_or_default(),
                exodusDelay: options.exodus_delay_secs,
                sequencerBid: options.sequencer_bid,
                epochSecs: options.epoch_secs,
                livenessWindow: options.liveness_window_secs,
                forceInclusionDelay: options.force_inclusion_delay_secs,
                kickSlashBps: options.kick_slash_bps,
            },
        }
        .abi_encode(),
    ]
    .concat()
    .into();
    let token_code: Bytes = [
        DevToken::BYTECODE.as_ref(),
        &DevToken::constructorCall {
            name: "Loft Dev Token".into(),
            symbol: "LDT".into(),
            decimals_: 18,
        }
        .abi_encode(),
    ]
    .concat()
    .into();

    // Budget: the gas estimate of the rollup (which creates the bridge), plus the token, at twice the
    // current base fee plus tip.
    let balance = l1.balance(deployer).await?;
    let base_fee = l1
        .block(loft_l1::BlockNumberOrTag::Latest)
        .await?
        .and_then(|b| b.base_fee_per_gas)
        .unwrap_or(1_000_000_000);
    let mut gas = 0u64;
    for code in std::iter::once(&rollup_code)
        .chain(verifier_code.as_ref())
        .chain(options.dev_token.then_some(&token_code))
    {
        let request = TransactionRequest::default()
            .from(deployer)
            .into_create()
            .input(code.clone().into());
        gas += match l1.estimate_gas(request).await {
            Ok(g) => g,
            // Nodes refuse to estimate for an account that cannot pay; that is our answer too.
            Err(L1Error::InsufficientFunds { .. }) => 6_000_000,
            Err(e) => return Err(e.into()),
        };
    }
    let needed =
        U256::from(gas) * U256::from(2 * base_fee as u128 + 1_000_000_000) + options.bond_wei;
    if balance < needed {
        return Err(ContractsError::Unfunded {
            account: deployer,
            balance,
            needed,
        });
    }

    let step_verifier = match verifier_code {
        Some(code) => {
            let (address, _) = create(l1, "StepVerifier", code, U256::ZERO).await?;
            if Some(address) != verifier_address {
                return Err(ContractsError::DeployFailed {
                    contract: "StepVerifier",
                    tx: B256::ZERO,
                    reason: format!(
                        "created at {address}, not at {verifier_address:?}: another transaction from {deployer} interleaved"
                    ),
                });
            }
            Some(address)
        }
        None => None,
    };
    let (rollup, bridge_block) = create(l1, "L1Rollup", rollup_code, options.bond_wei).await?;
    let bridge = rollup_call(l1, rollup, L1Rollup::bridgeCall {}).await?;
    if bridge != future_bridge || l1.code(bridge).await?.is_empty() {
        return Err(ContractsError::DeployFailed {
            contract: "L1Bridge",
            tx: B256::ZERO,
            reason: format!("the rollup at {rollup} names bridge {bridge}, which has no code"),
        });
    }
    let dev_token = if options.dev_token {
        Some(create(l1, "DevToken", token_code, U256::ZERO).await?.0)
    } else {
        None
    };
    Ok(Deployment {
        l1_chain_id,
        rollup,
        bridge,
        bridge_block,
        sequencer,
        challenge_period_secs: options.challenge_period_secs,
        genesis_state_root: options.genesis_state_root,
        dev_token,
        step_verifier,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_carry_bytecode() {
        assert!(L1Bridge::BYTECODE.len() > 100);
        assert!(DevToken::DEPLOYED_BYTECODE.len() > 100);
        // The rollup's creation code embeds the bridge's.
        assert!(L1Rollup::BYTECODE.len() > L1Bridge::BYTECODE.len());
    }

    #[test]
    fn token_registration_decodes() {
        type Payload = (
            sol_data::Address,
            sol_data::String,
            sol_data::String,
            sol_data::Uint<8>,
        );
        let payload = Payload::abi_encode_params(&(
            Address::repeat_byte(7),
            "Maker".to_string(),
            "MKR".to_string(),
            18u8,
        ));
        // Solidity's abi.encode: head words (address, 2 offsets, uint8), then the two strings.
        assert_eq!(payload.len(), 4 * 32 + 2 * 64);
        assert_eq!(payload[32..64], U256::from(128).to_be_bytes::<32>());
        let msg = QueueMessage {
            index: 0,
            kind: KIND_REGISTER_TOKEN,
            sender: Address::repeat_byte(1),
            head: B256::ZERO,
            l1_block_number: 1,
            timestamp: 2,
            payload: payload.into(),
        };
        let r = msg.token_registration().expect("a registration");
        assert_eq!(r.l1_token, Address::repeat_byte(7));
        assert_eq!(r.name_lossy(), "Maker");
        assert_eq!(r.symbol_lossy(), "MKR");
        assert_eq!(r.decimals, 18);
        assert_eq!(msg.deposit(), None);
        let garbage = QueueMessage {
            payload: Bytes::from_static(&[1, 2, 3]),
            ..msg.clone()
        };
        assert_eq!(garbage.token_registration(), None);
        let deposit = QueueMessage {
            kind: KIND_DEPOSIT,
            ..msg
        };
        assert_eq!(deposit.token_registration(), None);
    }

    #[test]
    fn withdrawal_leaf_matches_solidity() {
        // cast keccak $(cast keccak $(cast abi-encode "f(address,uint256,address,address,uint256)" \
        //   0x01..01 7 0x02..02 0x03..03 1000000000000000000))
        let w = Withdrawal {
            l2_sender: Address::repeat_byte(1),
            nonce: 7,
            l1_recipient: Address::repeat_byte(2),
            l1_token: Address::repeat_byte(3),
            amount: U256::from(10u64).pow(U256::from(18)),
        };
        assert_eq!(
            w.leaf(),
            "0xf06d98783f325dc5a31d393f1a52badb0be1a45f03cdc26a2b357b9438d3d62a"
                .parse::<B256>()
                .unwrap()
        );
        let data = claim_withdrawal_calldata(3, &w, 5, &[B256::repeat_byte(9); 16]);
        let call = L1Rollup::claimWithdrawalCall::abi_decode(&data).unwrap();
        assert_eq!(call.batchIndex, 3);
        assert_eq!(call.w.nonce, U256::from(7));
        assert_eq!(call.w.l1Token, w.l1_token);
        assert_eq!(call.index, U256::from(5));
        assert_eq!(call.siblings, [B256::repeat_byte(9); 16]);
    }

    #[test]
    fn the_bridge_sees_the_same_header() {
        let header = BatchHeader {
            index: 3,
            state_root: B256::repeat_byte(4),
            queue_end: 9,
            poster: Address::repeat_byte(0x33),
            base_fee: 7,
            ..BatchHeader::default()
        };
        let theirs = bridge_header(header);
        assert_eq!(theirs.queueEnd, 9);
        assert_eq!(keccak256(theirs.abi_encode()), header.hash());
    }

    #[test]
    fn batch_types_round_trip() {
        let input = BatchInput {
            state_root: B256::repeat_byte(1),
            withdrawal_root: B256::repeat_byte(2),
            step_roots_root: B256::repeat_byte(3),
            queue_end: 4,
            first_block: 5,
            last_block: 6,
            step_count: 7,
            base_fee: 8,
        };
        let data = [1u8, 1, 2, 3];
        let calldata = submit_batch_calldata(&input, &data);
        assert_eq!(
            &calldata[..4],
            L1Rollup::submitBatchCall::SELECTOR.as_slice()
        );
        let (back, back_data) = decode_submit_batch(&calldata).unwrap();
        assert_eq!(back, input);
        assert_eq!(back_data.as_ref(), &data);

        let header = BatchHeader {
            index: 1,
            parent_hash: B256::repeat_byte(0x11),
            state_root: B256::repeat_byte(0x22),
            queue_end: 9,
            posted_at: 1_700_000_000,
            data_length: 4,
            data_kind: DATA_BLOBS,
            poster: Address::repeat_byte(0x33),
            ..BatchHeader::default()
        };
        let sol = L1Rollup::BatchHeader::from(header);
        assert_eq!(BatchHeader::from(sol.clone()), header);
        assert_eq!(sol.dataKind, 1);
        // A static struct encodes as 18 words, like Solidity's abi.encode(header).
        let encoded = sol.abi_encode();
        assert_eq!(encoded.len(), 18 * 32);
        // `dataKind` is the word after `dataLength`.
        assert_eq!(encoded[8 * 32 + 31], 1);
        assert_eq!(header.hash(), keccak256(&encoded));
        assert_eq!(header.final_at(10), 1_700_000_010);
        let json = serde_json::to_string(&header).unwrap();
        assert_eq!(serde_json::from_str::<BatchHeader>(&json).unwrap(), header);
    }

    #[test]
    fn deposit_payload_round_trips() {
        let d = Deposit {
            token: Address::repeat_byte(1),
            from: Address::repeat_byte(2),
            to: Address::repeat_byte(3),
            amount: U256::from(7),
        };
        let msg = QueueMessage {
            index: 0,
            kind: KIND_DEPOSIT,
            sender: d.from,
            head: B256::ZERO,
            l1_block_number: 1,
            timestamp: 2,
            payload: (d.token, d.from, d.to, d.amount).abi_encode().into(),
        };
        assert_eq!(msg.deposit(), Some(d));
        let other = QueueMessage { kind: 9, ..msg };
        assert_eq!(other.deposit(), None);
    }
}
