//! [`EmbeddedL1`]: the [`L1Client`] of the in-process dev chain, signing with one key.

use std::time::Duration;

use alloy::consensus::{SignableTransaction, TxEnvelope, transaction::Recovered};
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::signers::local::PrivateKeySigner;
use async_trait::async_trait;
use loft_l1::{
    Blob, BlockNumberOrTag, DevControl, Filter, L1BlockInfo, L1Client, L1Error, L1Result, Log,
    TransactionReceipt, TransactionRequest, describe_revert,
};

use crate::{ChainError, DevChain, StateAt};

/// The in-process L1: a [`DevChain`] and the key that signs this client's transactions.
#[derive(Debug, Clone)]
pub struct EmbeddedL1 {
    chain: DevChain,
    signer: PrivateKeySigner,
    timeout: Duration,
    /// Held from choosing a nonce until the transaction is submitted, so concurrent sends from
    /// this client never pick the same nonce.
    sending: std::sync::Arc<tokio::sync::Mutex<()>>,
}

impl EmbeddedL1 {
    /// A client of `chain` that signs with `signer`.
    pub fn new(chain: DevChain, signer: PrivateKeySigner) -> Self {
        Self {
            chain,
            signer,
            timeout: Duration::from_secs(60),
            sending: Default::default(),
        }
    }

    /// Sets how long `send_transaction` waits for inclusion.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The chain this client talks to.
    pub fn chain(&self) -> &DevChain {
        &self.chain
    }

    fn map_err(&self, e: ChainError) -> L1Error {
        match e {
            ChainError::Reverted(data) => L1Error::Reverted {
                tx_hash: None,
                reason: describe_revert(&data),
                data,
            },
            ChainError::InsufficientFunds(detail) => L1Error::InsufficientFunds {
                account: self.signer.address(),
                detail,
            },
            ChainError::Timeout(after, hash) => L1Error::Timeout {
                after,
                what: format!("transaction {hash}"),
            },
            ChainError::Storage(_) | ChainError::Evm(_) => L1Error::Backend(e.to_string()),
            ChainError::Malformed(_)
            | ChainError::InvalidSignature(_)
            | ChainError::Unprotected
            | ChainError::WrongChainId { .. }
            | ChainError::NonceTooLow { .. }
            | ChainError::NonceTooHigh { .. }
            | ChainError::AlreadyKnown(_)
            | ChainError::InvalidTransaction(_)
            | ChainError::BlobSidecar(_) => L1Error::Rejected(e.to_string()),
            other => L1Error::Rpc(other.to_string()),
        }
    }
}

impl EmbeddedL1 {
    /// Runs `f` on a blocking thread. Executing a transaction (or a call, or a log query over
    /// many blocks) holds the chain's lock for as long as it takes: an async worker that ran it,
    /// or waited for the lock, would stall every task queued behind it, such as the node's
    /// JSON-RPC answers while its batcher posts a batch.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&DevChain) -> Result<T, ChainError> + Send + 'static,
    ) -> L1Result<T> {
        let chain = self.chain.clone();
        tokio::task::spawn_blocking(move || f(&chain))
            .await
            .map_err(|e| L1Error::Backend(format!("the chain's worker failed: {e}")))?
            .map_err(|e| self.map_err(e))
    }
}

#[async_trait]
impl L1Client for EmbeddedL1 {
    async fn chain_id(&self) -> L1Result<u64> {
        Ok(self.chain.chain_id())
    }

    async fn block_number(&self) -> L1Result<u64> {
        Ok(self.chain.lock().block_number())
    }

    async fn block(&self, number: BlockNumberOrTag) -> L1Result<Option<L1BlockInfo>> {
        let chain = self.chain.lock();
        let n = chain.resolve_tag(number);
        Ok(chain.header(n).map(|(hash, h)| L1BlockInfo {
            number: h.number,
            hash,
            parent_hash: h.parent_hash,
            timestamp: h.timestamp,
            base_fee_per_gas: h.base_fee_per_gas,
            gas_used: h.gas_used,
        }))
    }

    async fn balance(&self, address: Address) -> L1Result<U256> {
        self.chain
            .lock()
            .balance(address, StateAt::Latest)
            .map_err(|e| self.map_err(e))
    }

    async fn nonce(&self, address: Address) -> L1Result<u64> {
        self.chain
            .lock()
            .nonce(address, StateAt::Latest)
            .map_err(|e| self.map_err(e))
    }

    async fn code(&self, address: Address) -> L1Result<Bytes> {
        self.chain
            .lock()
            .code(address, StateAt::Latest)
            .map_err(|e| self.map_err(e))
    }

    async fn call(&self, request: TransactionRequest) -> L1Result<Bytes> {
        self.blocking(move |c| c.lock().call(&request, StateAt::Latest))
            .await
    }

    async fn estimate_gas(&self, request: TransactionRequest) -> L1Result<u64> {
        self.blocking(move |c| c.lock().estimate_gas(&request, StateAt::Latest))
            .await
    }

    fn sender(&self) -> Address {
        self.signer.address()
    }

    async fn send_transaction(
        &self,
        mut request: TransactionRequest,
    ) -> L1Result<TransactionReceipt> {
        request.from = Some(self.signer.address());
        let sending = self.sending.lock().await;
        let mut typed = self
            .chain
            .lock()
            .fill_request(&request)
            .map_err(|e| self.map_err(e))?;
        let signature = self
            .signer
            .sign_transaction_sync(&mut typed)
            .map_err(|e| L1Error::Backend(format!("signing: {e}")))?;
        let envelope: TxEnvelope = typed.into_signed(signature).into();
        let recovered = Recovered::new_unchecked(envelope, self.signer.address());
        let hash = self.blocking(move |c| c.submit(recovered)).await?;
        drop(sending);
        self.chain
            .wait_for_receipt(hash, self.timeout)
            .await
            .map_err(|e| self.map_err(e))
    }

    async fn send_raw_transaction(&self, raw: Bytes) -> L1Result<B256> {
        self.blocking(move |c| c.send_raw(&raw)).await
    }

    async fn receipt(&self, hash: B256) -> L1Result<Option<TransactionReceipt>> {
        Ok(self.chain.lock().receipt(hash))
    }

    async fn logs(&self, filter: &Filter) -> L1Result<Vec<Log>> {
        let filter = filter.clone();
        self.blocking(move |c| c.lock().logs(&filter)).await
    }

    async fn transaction(&self, hash: B256) -> L1Result<Option<loft_l1::L1Transaction>> {
        use alloy::consensus::Transaction as _;
        Ok(self
            .chain
            .lock()
            .rpc_transaction(hash)
            .map(|t| loft_l1::L1Transaction {
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
        self.blocking(move |c| c.lock().blob(versioned_hash)).await
    }

    async fn blob_base_fee(&self) -> L1Result<u128> {
        Ok(self.chain.lock().next_blob_base_fee())
    }
}

#[async_trait]
impl DevControl for EmbeddedL1 {
    async fn advance_time(&self, seconds: u64) -> L1Result<()> {
        self.chain
            .lock()
            .advance_time(seconds)
            .map_err(|e| self.map_err(e))
    }

    async fn set_next_block_timestamp(&self, timestamp: u64) -> L1Result<()> {
        self.chain
            .lock()
            .set_next_timestamp(timestamp)
            .map_err(|e| self.map_err(e))
    }

    async fn mine(&self, blocks: u64) -> L1Result<()> {
        self.chain.mine(blocks).map_err(|e| self.map_err(e))
    }
}
