//! An Ethereum development chain inside the loft process.
//!
//! [`DevChain`] runs a real EVM (revm, Osaka rules: EIP-4844 blobs, EIP-7623 calldata floor,
//! BN254, BLS12-381, point evaluation) with prefunded development accounts, blocks with numbers and
//! timestamps, automatic mining or a fixed block time, receipts and logs, and a clock that tests can
//! move. [`rpc::serve`] exposes it as a standard Ethereum JSON-RPC server on a loopback port, so
//! `cast`, ethers, viem and wallets work against it; [`EmbeddedL1`] is the in-process
//! [`loft_l1::L1Client`] over it. With a data directory the chain survives restarts ([`store`]).
//! The blobs of blob transactions are kept by versioned hash once included ([`blobs`]) and served
//! back like anvil does (`anvil_getBlobByHash`, [`loft_l1::L1Client::blob`]).
//!
//! What it does not do: it keeps only the latest state (historical `eth_call` / `eth_getBalance`
//! answer error -32004), has no Merkle-Patricia trie (`stateRoot` is zero, no `eth_getProof`), no
//! reorgs, and no tracing methods.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use alloy::consensus::{TxEnvelope, transaction::Recovered};
use alloy::primitives::{Address, B256, Bytes};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};
use loft_config::ChainConfig;
use tokio::sync::watch;

pub mod blobs;
pub mod chain;
mod client;
pub mod rpc;
pub mod store;

pub use chain::{Chain, GenesisSpec, StateAt, decode_raw_transaction};
pub use client::EmbeddedL1;

/// Priority fee the dev chain suggests (`eth_maxPriorityFeePerGas`) and fills in, in wei.
pub const DEFAULT_PRIORITY_FEE: u128 = 1_000_000_000;

/// Errors of the dev chain. Each maps to a stable JSON-RPC error code ([`ChainError::rpc_code`]).
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The transaction bytes do not decode.
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// The signature does not recover to an address.
    #[error("invalid transaction signature: {0}")]
    InvalidSignature(String),
    /// A legacy transaction without an EIP-155 chain id.
    #[error("only replay-protected (EIP-155) transactions are accepted")]
    Unprotected,
    /// Signed for another chain.
    #[error("wrong chain id: the transaction is for chain {got}, this chain is {expected}")]
    WrongChainId {
        /// Chain id in the transaction.
        got: u64,
        /// This chain's id.
        expected: u64,
    },
    /// The nonce was already used.
    #[error(
        "nonce too low: the transaction has nonce {got}, the account's next nonce is {expected}"
    )]
    NonceTooLow {
        /// Nonce in the transaction.
        got: u64,
        /// The account's next nonce.
        expected: u64,
    },
    /// The nonce leaves a gap; gaps are not queued.
    #[error(
        "nonce too high: the transaction has nonce {got}, the account's next nonce is {expected} (gaps are not queued)"
    )]
    NonceTooHigh {
        /// Nonce in the transaction.
        got: u64,
        /// The account's next nonce.
        expected: u64,
    },
    /// The sender cannot pay gas * price + value.
    #[error("insufficient funds for gas * price + value: {0}")]
    InsufficientFunds(String),
    /// The same transaction was already received.
    #[error("already known: transaction {0}")]
    AlreadyKnown(B256),
    /// Any other reason the EVM refuses the transaction (fee below base fee, intrinsic gas, ...).
    #[error("invalid transaction: {0}")]
    InvalidTransaction(String),
    /// The blob sidecar is missing or does not verify.
    #[error("invalid blob sidecar: {0}")]
    BlobSidecar(String),
    /// Execution reverted (calls and gas estimates).
    #[error("execution reverted")]
    Reverted(Bytes),
    /// Execution halted (out of gas, invalid opcode, ...).
    #[error("execution halted: {0}")]
    Halted(String),
    /// No such block.
    #[error("unknown block {0}")]
    UnknownBlock(String),
    /// State of an older block was asked for; only the latest is kept.
    #[error("state of block {0} is not available: the embedded L1 keeps only the latest state")]
    HistoricalState(u64),
    /// A time-control request that would move time backwards.
    #[error("timestamp {requested} must be later than the latest block's timestamp {latest}")]
    TimestampNotIncreasing {
        /// Requested timestamp.
        requested: u64,
        /// Timestamp of the latest block.
        latest: u64,
    },
    /// The parameters of a request are wrong.
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// A log query matched too many logs.
    #[error("query returned more than {0} logs: narrow the block range")]
    TooManyLogs(usize),
    /// `eth_sendTransaction` from an account whose key the node does not hold.
    #[error(
        "unknown account {0}: eth_sendTransaction signs only for the development accounts; sign locally and use eth_sendRawTransaction"
    )]
    UnknownAccount(Address),
    /// Waiting for a receipt took too long.
    #[error("timed out after {0:?} waiting for transaction {1}")]
    Timeout(Duration, B256),
    /// The data directory could not be read or written, or holds another chain.
    #[error("storage: {0}")]
    Storage(String),
    /// An internal EVM failure.
    #[error("EVM failure: {0}")]
    Evm(String),
}

impl ChainError {
    /// The JSON-RPC error code: Ethereum's conventions (geth's -32000 for refused transactions,
    /// 3 for reverts, EIP-1474 codes otherwise). Documented in `docs/l1-rpc.md`.
    pub fn rpc_code(&self) -> i32 {
        match self {
            Self::Malformed(_) | Self::InvalidParams(_) => -32602,
            Self::InvalidSignature(_)
            | Self::Unprotected
            | Self::WrongChainId { .. }
            | Self::NonceTooLow { .. }
            | Self::NonceTooHigh { .. }
            | Self::InsufficientFunds(_)
            | Self::AlreadyKnown(_)
            | Self::InvalidTransaction(_)
            | Self::BlobSidecar(_)
            | Self::Halted(_)
            | Self::TooManyLogs(_)
            | Self::UnknownAccount(_)
            | Self::TimestampNotIncreasing { .. } => -32000,
            Self::Reverted(_) => 3,
            Self::UnknownBlock(_) => -32001,
            Self::HistoricalState(_) => -32004,
            Self::Timeout(..) | Self::Storage(_) | Self::Evm(_) => -32603,
        }
    }
}

/// How to start a [`DevChain`].
#[derive(Debug, Clone)]
pub struct DevChainConfig {
    /// The chain's genesis.
    pub genesis: GenesisSpec,
    /// `None` mines a block per transaction as it arrives; `Some(t)` mines every `t`.
    pub block_time: Option<Duration>,
    /// Where to persist the chain; `None` keeps it in memory only.
    pub data_dir: Option<PathBuf>,
    /// Keys of the prefunded development accounts (`eth_accounts`, `eth_sendTransaction`).
    pub dev_keys: Vec<PrivateKeySigner>,
}

impl DevChainConfig {
    /// The dev chain a loft chain configuration describes: its L1 chain id, gas limit, base fee,
    /// block time and development accounts.
    pub fn from_chain_config(
        config: &ChainConfig,
        data_dir: Option<PathBuf>,
    ) -> Result<Self, ChainError> {
        let dev_keys = dev_keys(&config.devnet.mnemonic, config.devnet.accounts)?;
        let balance = config.dev_balance_wei();
        Ok(Self {
            genesis: GenesisSpec {
                chain_id: config.l1.chain_id,
                gas_limit: config.devnet.gas_limit,
                initial_base_fee: config.devnet.initial_base_fee,
                timestamp: std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs())
                    .unwrap_or(0),
                alloc: dev_keys.iter().map(|k| (k.address(), balance)).collect(),
            },
            block_time: (config.devnet.block_time_secs > 0)
                .then(|| Duration::from_secs(config.devnet.block_time_secs)),
            data_dir,
            dev_keys,
        })
    }
}

/// Derives the development keys m/44'/60'/0'/0/i, i < `count`, from a BIP-39 mnemonic.
pub fn dev_keys(mnemonic: &str, count: u32) -> Result<Vec<PrivateKeySigner>, ChainError> {
    (0..count)
        .map(|i| {
            MnemonicBuilder::<English>::default()
                .phrase(mnemonic)
                .index(i)
                .and_then(|b| b.build())
                .map_err(|e| ChainError::InvalidParams(format!("development mnemonic: {e}")))
        })
        .collect()
}

/// A shared handle to a running dev chain. Cloning is cheap; all clones see the same chain.
#[derive(Debug, Clone)]
pub struct DevChain {
    chain: Arc<Mutex<Chain>>,
    heads: watch::Sender<u64>,
    automine: bool,
    dev_keys: Arc<Vec<PrivateKeySigner>>,
}

impl DevChain {
    /// Opens the chain (re-executing a stored one) and, with a block time, starts mining on the
    /// current tokio runtime.
    pub fn open(config: DevChainConfig) -> Result<Self, ChainError> {
        let store = config
            .data_dir
            .as_deref()
            .map(store::Store::open)
            .transpose()?;
        let chain = Chain::open(config.genesis, store)?;
        let (heads, _) = watch::channel(chain.block_number());
        let this = Self {
            chain: Arc::new(Mutex::new(chain)),
            heads,
            automine: config.block_time.is_none(),
            dev_keys: Arc::new(config.dev_keys),
        };
        if let Some(interval) = config.block_time {
            let miner = this.clone();
            tokio::spawn(async move { miner.mine_every(interval).await });
        }
        Ok(this)
    }

    async fn mine_every(self, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.tick().await;
        loop {
            ticker.tick().await;
            // Stop when nobody holds the chain any more.
            if Arc::strong_count(&self.chain) == 1 {
                return;
            }
            match self.lock().mine_pending() {
                Ok((number, rejected)) => {
                    for (hash, e) in rejected {
                        tracing::warn!(target: "loft::l1::embedded", %hash, error = %e, "dropped pending transaction");
                    }
                    self.heads.send_replace(number);
                }
                Err(e) => {
                    tracing::error!(target: "loft::l1::embedded", error = %e, "mining failed")
                }
            }
        }
    }

    /// Locks the chain for direct access. Hold it briefly: every RPC call waits on it.
    pub fn lock(&self) -> MutexGuard<'_, Chain> {
        self.chain
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.lock().chain_id()
    }

    /// The prefunded development keys.
    pub fn dev_keys(&self) -> &[PrivateKeySigner] {
        &self.dev_keys
    }

    /// Whether every transaction is mined at once.
    pub fn automine(&self) -> bool {
        self.automine
    }

    /// Decodes, checks and submits a raw transaction (`eth_sendRawTransaction`).
    pub fn send_raw(&self, raw: &[u8]) -> Result<B256, ChainError> {
        let tx = chain::decode_signed(raw, self.chain_id())?;
        self.submit(tx)
    }

    /// Submits a signed transaction ([`Chain::submit`]). A blob transaction's sidecar is checked
    /// (KZG proofs) before the chain is locked, so other callers do not wait on it.
    pub fn submit(&self, tx: Recovered<TxEnvelope>) -> Result<B256, ChainError> {
        let signer = tx.signer();
        let (tx, blobs) = blobs::split_sidecar(tx.into_inner())?;
        let tx = Recovered::new_unchecked(tx, signer);
        let mut chain = self.lock();
        let hash = chain.submit_split(tx, blobs, self.automine)?;
        let number = chain.block_number();
        drop(chain);
        if self.automine {
            self.heads.send_replace(number);
        }
        Ok(hash)
    }

    /// Mines `blocks` blocks now, the pending transactions first (as many as fit in a block).
    pub fn mine(&self, blocks: u64) -> Result<(), ChainError> {
        for _ in 0..blocks {
            let (number, rejected) = self.lock().mine_pending()?;
            for (hash, e) in rejected {
                tracing::warn!(target: "loft::l1::embedded", %hash, error = %e, "dropped pending transaction");
            }
            self.heads.send_replace(number);
        }
        Ok(())
    }

    /// Waits until a transaction has a receipt.
    pub async fn wait_for_receipt(
        &self,
        hash: B256,
        timeout: Duration,
    ) -> Result<TransactionReceipt, ChainError> {
        let mut heads = self.heads.subscribe();
        let wait = async {
            loop {
                if let Some(receipt) = self.lock().receipt(hash) {
                    return receipt;
                }
                // The sender lives in `self`, so the channel cannot close while we wait.
                let _ = heads.changed().await;
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| ChainError::Timeout(timeout, hash))
    }

    /// A receiver that sees the number of every new block.
    pub fn subscribe_heads(&self) -> watch::Receiver<u64> {
        self.heads.subscribe()
    }

    /// The development key of `address`, if it is one.
    pub fn dev_key(&self, address: Address) -> Option<&PrivateKeySigner> {
        self.dev_keys.iter().find(|k| k.address() == address)
    }
}
