//! loft's one interface to layer 1.
//!
//! Every part of the node reaches L1 through [`L1Client`]. Two backends implement it:
//! `loft-l1-embedded` (an in-process revm dev chain, the default for `loft devnet`) and
//! `loft-l1-rpc` (an alloy provider for any Ethereum node). Dev-chain-only abilities (moving time,
//! mining blocks) live in the separate [`DevControl`] trait so production code cannot depend on them
//! by accident.
//!
//! The request and response types are alloy's standard Ethereum JSON-RPC types, so both backends
//! return exactly what an Ethereum node would.

use std::fmt::Debug;
use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes, U256};
use async_trait::async_trait;

pub use alloy::eips::eip4844::Blob;

pub use alloy::rpc::types::{
    BlockNumberOrTag, Filter, Log, TransactionReceipt, TransactionRequest,
};

/// Result of an L1 operation.
pub type L1Result<T> = Result<T, L1Error>;

/// What a caller should do about an [`L1Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorAction {
    /// A transient condition (network, node busy, time-out): the same call may succeed later.
    Retry,
    /// The request itself is wrong or can never succeed as it is: do not repeat it unchanged.
    GiveUp,
}

/// Errors of the L1 interface, the same for every backend.
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    /// The node could not be reached (connection refused, DNS, reset, time-out).
    #[error("L1 node at {url} is unreachable: {reason}")]
    Unreachable {
        /// The endpoint that was tried.
        url: String,
        /// What the transport reported.
        reason: String,
    },
    /// The node serves a different chain than the configuration names.
    #[error(
        "L1 chain id mismatch: the configuration expects {expected}, the node reports {actual}"
    )]
    ChainIdMismatch {
        /// Chain id from the configuration.
        expected: u64,
        /// Chain id the node reported.
        actual: u64,
    },
    /// Execution reverted (in a call, a gas estimate or a mined transaction).
    #[error("execution reverted{}: {reason}", tx_hash.map(|h| format!(" in transaction {h}")).unwrap_or_default())]
    Reverted {
        /// The mined transaction, when the revert happened on chain.
        tx_hash: Option<B256>,
        /// Human-readable reason (decoded `Error(string)`, custom error selector, or raw data).
        reason: String,
        /// Raw revert data.
        data: Bytes,
    },
    /// The sending account cannot pay for the transaction.
    #[error("insufficient funds: account {account} cannot pay for this transaction ({detail})")]
    InsufficientFunds {
        /// The account that was to pay.
        account: Address,
        /// What the node or the backend said about it.
        detail: String,
    },
    /// The node refused the transaction (bad nonce, underpriced, malformed, ...).
    #[error("transaction rejected by the L1 node: {0}")]
    Rejected(String),
    /// The node answered with an error the backend does not classify further.
    #[error("L1 node returned an error: {0}")]
    Rpc(String),
    /// Waited longer than allowed.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// How long we waited.
        after: Duration,
        /// What we waited for.
        what: String,
    },
    /// The backend or the node does not offer this operation.
    #[error("not supported by this L1 backend: {0}")]
    Unsupported(String),
    /// A local failure of the backend (storage, signer, encoding).
    #[error("L1 backend failure: {0}")]
    Backend(String),
}

impl L1Error {
    /// Whether the caller should retry or give up.
    pub fn action(&self) -> ErrorAction {
        match self {
            Self::Unreachable { .. } | Self::Timeout { .. } => ErrorAction::Retry,
            _ => ErrorAction::GiveUp,
        }
    }
}

/// The header fields of an L1 block that loft uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L1BlockInfo {
    /// Block number.
    pub number: u64,
    /// Block hash.
    pub hash: B256,
    /// Parent block hash.
    pub parent_hash: B256,
    /// Unix timestamp in seconds.
    pub timestamp: u64,
    /// EIP-1559 base fee per gas, in wei.
    pub base_fee_per_gas: Option<u64>,
    /// Gas used by all transactions of the block.
    pub gas_used: u64,
}

/// Access to layer 1: reads, calls, log queries and signed transactions from one account.
///
/// `send_transaction` fills what the request leaves empty (nonce, gas limit, EIP-1559 fees, chain
/// id, and the blob fee cap of a request carrying a blob sidecar), signs with the backend's key,
/// submits, and waits until the transaction is included with the backend's configured number of
/// confirmations. A transaction that would revert is refused before it is sent
/// ([`L1Error::Reverted`] from the gas estimate).
#[async_trait]
pub trait L1Client: Send + Sync + Debug {
    /// The chain id of the L1.
    async fn chain_id(&self) -> L1Result<u64>;
    /// The latest block number.
    async fn block_number(&self) -> L1Result<u64>;
    /// A block's header fields, or `None` when it does not exist.
    async fn block(&self, number: BlockNumberOrTag) -> L1Result<Option<L1BlockInfo>>;
    /// An account's balance at the latest block, in wei.
    async fn balance(&self, address: Address) -> L1Result<U256>;
    /// An account's nonce at the latest block.
    async fn nonce(&self, address: Address) -> L1Result<u64>;
    /// The code deployed at an address (empty for accounts without code).
    async fn code(&self, address: Address) -> L1Result<Bytes>;
    /// Executes a call against the latest state without changing it.
    async fn call(&self, request: TransactionRequest) -> L1Result<Bytes>;
    /// Estimates the gas a transaction needs.
    async fn estimate_gas(&self, request: TransactionRequest) -> L1Result<u64>;
    /// The account that signs [`L1Client::send_transaction`].
    fn sender(&self) -> Address;
    /// Signs, submits and waits for a transaction; returns its receipt (also when it reverted on
    /// chain: check `status()`).
    async fn send_transaction(&self, request: TransactionRequest) -> L1Result<TransactionReceipt>;
    /// Submits an already signed EIP-2718 encoded transaction and returns its hash.
    async fn send_raw_transaction(&self, raw: Bytes) -> L1Result<B256>;
    /// A transaction's receipt, or `None` when it is not (yet) included.
    async fn receipt(&self, hash: B256) -> L1Result<Option<TransactionReceipt>>;
    /// Logs matching a filter (address, topics, block range).
    async fn logs(&self, filter: &Filter) -> L1Result<Vec<Log>>;
    /// A mined transaction's sender, recipient and input (what derivation reads batch data from),
    /// or `None` when the node does not know it.
    async fn transaction(&self, hash: B256) -> L1Result<Option<L1Transaction>>;
    /// The blob with this versioned hash, if the node still serves it (`None`: unknown or pruned).
    async fn blob(&self, versioned_hash: B256) -> L1Result<Option<Box<Blob>>>;
    /// The blob base fee the next block charges (wei per blob gas).
    async fn blob_base_fee(&self) -> L1Result<u128>;
}

/// The fields of a mined L1 transaction that loft reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Transaction {
    /// Its hash.
    pub hash: B256,
    /// The signer.
    pub from: Address,
    /// The called contract (`None` for a creation).
    pub to: Option<Address>,
    /// The calldata.
    pub input: Bytes,
    /// The block it was mined in.
    pub block_number: Option<u64>,
    /// The versioned hashes of the blobs it carries (EIP-4844); empty for a transaction without
    /// blobs. Read the blobs with [`L1Client::blob`].
    pub blob_versioned_hashes: Vec<B256>,
}

/// Control over a development chain: time and block production. Offered by the embedded dev chain
/// and by anvil (through its `evm_*` / `anvil_*` methods); a production node refuses it.
#[async_trait]
pub trait DevControl: L1Client {
    /// Moves the chain's clock forward by `seconds` (applies to the next block).
    async fn advance_time(&self, seconds: u64) -> L1Result<()>;
    /// Sets the exact timestamp of the next block.
    async fn set_next_block_timestamp(&self, timestamp: u64) -> L1Result<()>;
    /// Mines `blocks` empty blocks now.
    async fn mine(&self, blocks: u64) -> L1Result<()>;
}

/// Sends a transaction and turns an on-chain revert into [`L1Error::Reverted`].
pub async fn send_and_confirm(
    client: &(impl L1Client + ?Sized),
    request: TransactionRequest,
) -> L1Result<TransactionReceipt> {
    let receipt = client.send_transaction(request).await?;
    if receipt.status() {
        Ok(receipt)
    } else {
        Err(L1Error::Reverted {
            tx_hash: Some(receipt.transaction_hash),
            reason: "transaction reverted on chain".into(),
            data: Bytes::new(),
        })
    }
}

/// Formats revert data the way people read it: `Error(string)` and `Panic(uint256)` decoded, a
/// custom error shown by its selector.
pub fn describe_revert(data: &[u8]) -> String {
    use alloy::sol_types::{Panic, Revert, SolError};
    if data.is_empty() {
        return "no revert data".into();
    }
    if let Ok(revert) = Revert::abi_decode(data) {
        return revert.reason;
    }
    if let Ok(panic) = Panic::abi_decode(data) {
        return format!("panic code {:#x}", panic.code);
    }
    if data.len() >= 4 {
        return format!(
            "custom error 0x{} (data 0x{})",
            alloy::hex::encode(&data[..4]),
            alloy::hex::encode(data)
        );
    }
    format!("revert data 0x{}", alloy::hex::encode(data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::{Revert, SolError};

    #[test]
    fn describes_error_string() {
        let data = Revert::from("nope").abi_encode();
        assert_eq!(describe_revert(&data), "nope");
    }

    #[test]
    fn describes_custom_error_by_selector() {
        let s = describe_revert(&[0xde, 0xad, 0xbe, 0xef]);
        assert!(s.contains("0xdeadbeef"), "{s}");
        assert_eq!(describe_revert(&[]), "no revert data");
    }

    #[test]
    fn transient_errors_are_retryable() {
        let e = L1Error::Unreachable {
            url: "http://x".into(),
            reason: "refused".into(),
        };
        assert_eq!(e.action(), ErrorAction::Retry);
        assert_eq!(
            L1Error::Rejected("nonce too low".into()).action(),
            ErrorAction::GiveUp
        );
    }
}
