//! loft's L1 backend for any Ethereum node over JSON-RPC (anvil, geth, reth, a testnet).
//!
//! Built on an alloy provider: EIP-1559 fees from `eth_feeHistory`, gas estimation, signing with a
//! local key (hex or an encrypted JSON keystore), retries with backoff for rate limits (alloy's
//! retry layer) and for an unreachable node (here, bounded so a wrong URL fails within seconds),
//! and waiting for a configurable number of confirmations. Nonces are assigned here, one at a time,
//! and fetched again from the node after any failed send so a refused transaction never leaves a
//! gap.
//!
//! Blob transactions: `send_transaction` takes a request with a sidecar (alloy's blob gas filler
//! sets the blob fee cap); [`L1Client::blob`] reads a blob back with anvil's `anvil_getBlobByHash`
//! and answers [`L1Error::Unsupported`] on a node without it (there is no beacon API client yet).

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use alloy::eips::eip4844::BYTES_PER_BLOB;
use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::ext::AnvilApi;
use alloy::providers::{
    DynProvider, PendingTransactionError, Provider, ProviderBuilder, WatchTxError,
};
use alloy::rpc::client::ClientBuilder;
use alloy::signers::local::PrivateKeySigner;
use alloy::transports::layers::RetryBackoffLayer;
use alloy::transports::{RpcError, TransportErrorKind};
use async_trait::async_trait;
use loft_l1::{
    Blob, BlockNumberOrTag, DevControl, ErrorAction, Filter, L1BlockInfo, L1Client, L1Error,
    L1Result, Log, TransactionReceipt, TransactionRequest, describe_revert,
};

/// Where the signing key comes from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A hex private key (with or without `0x`).
    PrivateKey(String),
    /// An encrypted JSON keystore (as geth, cast and MetaMask export) and its password.
    Keystore {
        /// Keystore file.
        path: PathBuf,
        /// Password.
        password: String,
    },
}

/// Loads a signing key.
pub fn load_signer(source: &KeySource) -> L1Result<PrivateKeySigner> {
    match source {
        KeySource::PrivateKey(hex) => hex
            .trim()
            .parse::<PrivateKeySigner>()
            .map_err(|e| L1Error::Backend(format!("invalid private key: {e}"))),
        KeySource::Keystore { path, password } => {
            PrivateKeySigner::decrypt_keystore(path, password).map_err(|e| {
                L1Error::Backend(format!("cannot open keystore {}: {e}", path.display()))
            })
        }
    }
}

/// Settings of a JSON-RPC L1 connection.
#[derive(Debug, Clone)]
pub struct RpcL1Config {
    /// Node URL (`http://...`).
    pub url: String,
    /// Refuse a node that reports another chain id.
    pub expected_chain_id: Option<u64>,
    /// Blocks on top of a transaction's block before `send_transaction` returns (1 = included).
    pub confirmations: u64,
    /// How long `send_transaction` waits for its confirmations.
    pub tx_timeout: Duration,
    /// Retries of a request that failed because the node was unreachable.
    pub retries: u32,
    /// Delay before the first retry; doubled for each further one.
    pub retry_backoff: Duration,
}

impl RpcL1Config {
    /// Defaults for `url`: one confirmation, 60 s timeout, 3 retries from 250 ms.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            expected_chain_id: None,
            confirmations: 1,
            tx_timeout: Duration::from_secs(60),
            retries: 3,
            retry_backoff: Duration::from_millis(250),
        }
    }
}

/// An [`L1Client`] over JSON-RPC.
#[derive(Debug, Clone)]
pub struct RpcL1 {
    provider: DynProvider,
    config: RpcL1Config,
    sender: Address,
    next_nonce: std::sync::Arc<tokio::sync::Mutex<Option<u64>>>,
}

/// Maps an alloy RPC error to the L1 interface's error, by what the caller should do.
pub fn map_rpc_error(url: &str, err: RpcError<TransportErrorKind>) -> L1Error {
    match err {
        RpcError::ErrorResp(payload) => {
            let message = payload.message.to_string();
            let lower = message.to_lowercase();
            if let Some(data) = payload.as_revert_data() {
                return L1Error::Reverted {
                    tx_hash: None,
                    reason: describe_revert(&data),
                    data,
                };
            }
            if payload.code == 3 || lower.contains("revert") {
                return L1Error::Reverted {
                    tx_hash: None,
                    reason: message,
                    data: Bytes::new(),
                };
            }
            if lower.contains("insufficient funds") || lower.contains("lack of funds") {
                return L1Error::InsufficientFunds {
                    account: Address::ZERO,
                    detail: message,
                };
            }
            if lower.contains("nonce")
                || lower.contains("underpriced")
                || lower.contains("already known")
                || lower.contains("chain id")
                || lower.contains("invalid")
                || lower.contains("intrinsic gas")
                || lower.contains("fee cap")
            {
                return L1Error::Rejected(format!("{message} (code {})", payload.code));
            }
            L1Error::Rpc(format!("{message} (code {})", payload.code))
        }
        RpcError::Transport(kind) => {
            let transient = kind.is_retry_err()
                || matches!(
                    &kind,
                    TransportErrorKind::Custom(_) | TransportErrorKind::BackendGone
                )
                || kind.as_http_error().is_some_and(|h| h.status >= 500);
            if transient {
                L1Error::Unreachable {
                    url: url.into(),
                    reason: kind.to_string(),
                }
            } else {
                L1Error::Rpc(kind.to_string())
            }
        }
        other => L1Error::Rpc(other.to_string()),
    }
}

/// Whether an error message (as [`map_rpc_error`] formats it) says the node lacks the method:
/// JSON-RPC code -32601, or the words nodes use for it.
fn is_method_not_found(message: &str) -> bool {
    let lower = message.to_lowercase();
    lower.contains("(code -32601)")
        || lower.contains("method not found")
        || lower.contains("does not exist")
        || lower.contains("not supported")
}

impl RpcL1 {
    /// Connects, checks that the node answers and serves the expected chain.
    pub async fn connect(config: RpcL1Config, signer: PrivateKeySigner) -> L1Result<Self> {
        let url: alloy::transports::http::reqwest::Url = config
            .url
            .parse()
            .map_err(|e| L1Error::Backend(format!("invalid L1 RPC URL {:?}: {e}", config.url)))?;
        // Rate limits and 503s: alloy's layer retries them with its own backoff.
        let client = ClientBuilder::default()
            .layer(RetryBackoffLayer::new(5, 200, 10_000))
            .http(url);
        let sender = signer.address();
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_client(client)
            .erased();
        let this = Self {
            provider,
            config,
            sender,
            next_nonce: Default::default(),
        };
        let actual = this.chain_id().await?;
        if let Some(expected) = this.config.expected_chain_id
            && expected != actual
        {
            return Err(L1Error::ChainIdMismatch { expected, actual });
        }
        tracing::info!(target: "loft::l1::rpc", url = %this.config.url, chain_id = actual, sender = %this.sender, "connected to L1");
        Ok(this)
    }

    /// The underlying alloy provider.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    fn err(&self, e: RpcError<TransportErrorKind>) -> L1Error {
        map_rpc_error(&self.config.url, e)
    }

    /// Runs a request, retrying with doubling backoff while the node is unreachable.
    async fn retry<T, F, Fut>(&self, what: &str, f: F) -> L1Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, RpcError<TransportErrorKind>>>,
    {
        let mut delay = self.config.retry_backoff;
        let mut attempt = 0;
        loop {
            match f().await.map_err(|e| self.err(e)) {
                Err(e) if e.action() == ErrorAction::Retry && attempt < self.config.retries => {
                    attempt += 1;
                    tracing::warn!(target: "loft::l1::rpc", %what, attempt, error = %e, "L1 request failed, retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                other => return other,
            }
        }
    }

    fn pending_error(&self, e: PendingTransactionError, hash: B256) -> L1Error {
        match e {
            PendingTransactionError::TransportError(e) => self.err(e),
            PendingTransactionError::TxWatcher(WatchTxError::Timeout) => L1Error::Timeout {
                after: self.config.tx_timeout,
                what: format!(
                    "{} confirmation(s) of transaction {hash}",
                    self.config.confirmations
                ),
            },
            other => L1Error::Rpc(format!("waiting for transaction {hash}: {other}")),
        }
    }
}

#[async_trait]
impl L1Client for RpcL1 {
    async fn chain_id(&self) -> L1Result<u64> {
        self.retry("eth_chainId", || self.provider.get_chain_id())
            .await
    }

    async fn block_number(&self) -> L1Result<u64> {
        self.retry("eth_blockNumber", || self.provider.get_block_number())
            .await
    }

    async fn block(&self, number: BlockNumberOrTag) -> L1Result<Option<L1BlockInfo>> {
        let block = self
            .retry("eth_getBlockByNumber", || {
                self.provider.get_block_by_number(number).into_future()
            })
            .await?;
        Ok(block.map(|b| L1BlockInfo {
            number: b.header.number,
            hash: b.header.hash,
            parent_hash: b.header.parent_hash,
            timestamp: b.header.timestamp,
            base_fee_per_gas: b.header.base_fee_per_gas,
            gas_used: b.header.gas_used,
        }))
    }

    async fn balance(&self, address: Address) -> L1Result<U256> {
        self.retry("eth_getBalance", || {
            self.provider.get_balance(address).into_future()
        })
        .await
    }

    async fn nonce(&self, address: Address) -> L1Result<u64> {
        self.retry("eth_getTransactionCount", || {
            self.provider.get_transaction_count(address).into_future()
        })
        .await
    }

    async fn code(&self, address: Address) -> L1Result<Bytes> {
        self.retry("eth_getCode", || {
            self.provider.get_code_at(address).into_future()
        })
        .await
    }

    async fn call(&self, request: TransactionRequest) -> L1Result<Bytes> {
        self.retry("eth_call", || {
            self.provider.call(request.clone()).into_future()
        })
        .await
    }

    async fn estimate_gas(&self, request: TransactionRequest) -> L1Result<u64> {
        self.retry("eth_estimateGas", || {
            self.provider.estimate_gas(request.clone()).into_future()
        })
        .await
    }

    fn sender(&self) -> Address {
        self.sender
    }

    async fn send_transaction(&self, request: TransactionRequest) -> L1Result<TransactionReceipt> {
        let mut request = request.with_from(self.sender);
        let pending = {
            let mut next = self.next_nonce.lock().await;
            let nonce = match *next {
                Some(n) => n,
                None => {
                    self.retry("eth_getTransactionCount", || {
                        self.provider
                            .get_transaction_count(self.sender)
                            .pending()
                            .into_future()
                    })
                    .await?
                }
            };
            request.set_nonce(nonce);
            match self.provider.send_transaction(request).await {
                Ok(pending) => {
                    *next = Some(nonce + 1);
                    pending
                }
                Err(e) => {
                    *next = None;
                    return Err(match self.err(e) {
                        L1Error::InsufficientFunds { detail, .. } => L1Error::InsufficientFunds {
                            account: self.sender,
                            detail,
                        },
                        other => other,
                    });
                }
            }
        };
        let hash = *pending.tx_hash();
        tracing::debug!(target: "loft::l1::rpc", %hash, "transaction sent");
        pending
            .with_required_confirmations(self.config.confirmations)
            .with_timeout(Some(self.config.tx_timeout))
            .get_receipt()
            .await
            .map_err(|e| self.pending_error(e, hash))
    }

    async fn send_raw_transaction(&self, raw: Bytes) -> L1Result<B256> {
        let pending = self
            .provider
            .send_raw_transaction(&raw)
            .await
            .map_err(|e| self.err(e))?;
        Ok(*pending.tx_hash())
    }

    async fn receipt(&self, hash: B256) -> L1Result<Option<TransactionReceipt>> {
        self.retry("eth_getTransactionReceipt", || {
            self.provider.get_transaction_receipt(hash)
        })
        .await
    }

    async fn logs(&self, filter: &Filter) -> L1Result<Vec<Log>> {
        self.retry("eth_getLogs", || self.provider.get_logs(filter))
            .await
    }

    async fn transaction(&self, hash: B256) -> L1Result<Option<loft_l1::L1Transaction>> {
        use alloy::consensus::Transaction as _;
        let tx = self
            .retry("eth_getTransactionByHash", || {
                self.provider.get_transaction_by_hash(hash)
            })
            .await?;
        Ok(tx.map(|t| loft_l1::L1Transaction {
            hash,
            from: t.inner.signer(),
            to: t.inner.to(),
            input: t.inner.input().clone(),
            block_number: t.block_number,
            blob_versioned_hashes: t
                .inner
                .blob_versioned_hashes()
                .map(<[B256]>::to_vec)
                .unwrap_or_default(),
        }))
    }

    async fn blob(&self, versioned_hash: B256) -> L1Result<Option<Box<Blob>>> {
        // As bytes on the heap, not alloy's `anvil_get_blob_by_versioned_hash`: that one returns
        // the 131,072-byte blob by value through several frames, which overflows a 2 MiB thread
        // stack in an unoptimized build.
        let answer: L1Result<Option<Bytes>> = self
            .retry("anvil_getBlobByHash", || {
                self.provider
                    .raw_request("anvil_getBlobByHash".into(), (versioned_hash,))
            })
            .await;
        match answer {
            Ok(None) => Ok(None),
            Ok(Some(bytes)) => {
                if bytes.len() != BYTES_PER_BLOB {
                    return Err(L1Error::Rpc(format!(
                        "blob {versioned_hash} came back with {} bytes, not {BYTES_PER_BLOB}",
                        bytes.len()
                    )));
                }
                let mut blob = Box::new(Blob::ZERO);
                blob.copy_from_slice(&bytes);
                Ok(Some(blob))
            }
            Err(L1Error::Rpc(message)) if is_method_not_found(&message) => {
                Err(L1Error::Unsupported(format!(
                    "reading blob {versioned_hash} needs a node that serves blobs (anvil_getBlobByHash); \
                     {} answered: {message}",
                    self.config.url
                )))
            }
            Err(e) => Err(e),
        }
    }

    async fn blob_base_fee(&self) -> L1Result<u128> {
        self.retry("eth_blobBaseFee", || self.provider.get_blob_base_fee())
            .await
    }
}

#[async_trait]
impl DevControl for RpcL1 {
    async fn advance_time(&self, seconds: u64) -> L1Result<()> {
        self.provider
            .anvil_increase_time(seconds)
            .await
            .map(|_| ())
            .map_err(|e| self.err(e))
    }

    async fn set_next_block_timestamp(&self, timestamp: u64) -> L1Result<()> {
        self.provider
            .anvil_set_next_block_timestamp(timestamp)
            .await
            .map_err(|e| self.err(e))
    }

    async fn mine(&self, blocks: u64) -> L1Result<()> {
        self.provider
            .anvil_mine(Some(blocks), None)
            .await
            .map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn closed_port_fails_fast_with_unreachable() {
        // Bind then drop a listener: nothing listens on that port any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut config = RpcL1Config::new(format!("http://127.0.0.1:{port}"));
        config.retry_backoff = Duration::from_millis(10);
        let started = std::time::Instant::now();
        let err = RpcL1::connect(config, PrivateKeySigner::random())
            .await
            .unwrap_err();
        assert!(matches!(err, L1Error::Unreachable { .. }), "{err}");
        assert!(err.to_string().contains(&port.to_string()), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn missing_method_is_recognised() {
        // anvil / reth, and geth's wording.
        assert!(is_method_not_found("Method not found (code -32601)"));
        assert!(is_method_not_found(
            "the method anvil_getBlobByHash does not exist/is not available (code -32601)"
        ));
        assert!(!is_method_not_found("header not found (code -32000)"));
    }

    #[test]
    fn bad_private_key_is_a_clear_error() {
        let err = load_signer(&KeySource::PrivateKey("0x1234".into())).unwrap_err();
        assert!(err.to_string().contains("invalid private key"), "{err}");
    }

    #[test]
    fn keystore_round_trip() {
        let dir = std::env::temp_dir().join(format!("loft-keystore-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut rng = rand::thread_rng();
        let (key, name) = PrivateKeySigner::new_keystore(&dir, &mut rng, "pw", None).unwrap();
        let path = dir.join(name);
        let loaded = load_signer(&KeySource::Keystore {
            path: path.clone(),
            password: "pw".into(),
        })
        .unwrap();
        assert_eq!(loaded.address(), key.address());
        let wrong = load_signer(&KeySource::Keystore {
            path,
            password: "nope".into(),
        })
        .unwrap_err();
        assert!(wrong.to_string().contains("keystore"), "{wrong}");
        std::fs::remove_dir_all(dir).ok();
    }
}
