//! The dev chain's standard Ethereum JSON-RPC server (HTTP and WebSocket on one loopback port).
//!
//! Method list and error codes: `docs/l1-rpc.md`. Parameters are parsed strictly: a wrong type or a
//! missing required parameter is `-32602 invalid params`; malformed JSON is `-32700`; an unknown
//! method is `-32601`. Nothing changes on any error.

use std::net::SocketAddr;
use std::time::Duration;

use alloy::consensus::SignableTransaction;
use alloy::eips::{BlockId, BlockNumberOrTag};
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, U64, U256};
use alloy::rpc::types::{FeeHistory, Filter, TransactionRequest};
use jsonrpsee::server::{RpcModule, Server, ServerConfig, ServerHandle};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde::de::DeserializeOwned;

use crate::{ChainError, DEFAULT_PRIORITY_FEE, DevChain, StateAt};

/// Largest JSON-RPC request body accepted (enough for a transaction with six blobs).
pub const MAX_REQUEST_BYTES: u32 = 16 * 1024 * 1024;
/// Largest response body.
pub const MAX_RESPONSE_BYTES: u32 = 64 * 1024 * 1024;
/// How long `eth_sendRawTransactionSync` waits by default.
pub const SYNC_SEND_TIMEOUT: Duration = Duration::from_secs(30);

type RpcResult<T> = Result<T, ErrorObjectOwned>;

impl From<ChainError> for ErrorObjectOwned {
    fn from(e: ChainError) -> Self {
        match &e {
            ChainError::Reverted(data) => ErrorObjectOwned::owned(
                e.rpc_code(),
                format!("execution reverted: {}", loft_l1::describe_revert(data)),
                Some(data.clone()),
            ),
            _ => ErrorObjectOwned::owned(e.rpc_code(), e.to_string(), None::<()>),
        }
    }
}

fn invalid_params(msg: impl Into<String>) -> ErrorObjectOwned {
    ChainError::InvalidParams(msg.into()).into()
}

/// Positional parameters: required ones first, then optional trailing ones.
struct Args<'a> {
    seq: jsonrpsee::types::params::ParamsSequence<'a>,
}

impl<'a> Args<'a> {
    fn new(params: &'a Params<'a>) -> Self {
        Self {
            seq: params.sequence(),
        }
    }
    fn next<T: DeserializeOwned>(&mut self) -> RpcResult<T> {
        self.seq.next()
    }
    fn optional<T: DeserializeOwned>(&mut self) -> RpcResult<Option<T>> {
        self.seq.optional_next()
    }
}

fn state_at(chain: &crate::Chain, block: Option<BlockId>) -> Result<StateAt, ChainError> {
    Ok(match block {
        None => StateAt::Latest,
        Some(BlockId::Number(BlockNumberOrTag::Number(n))) => StateAt::Number(n),
        Some(BlockId::Number(BlockNumberOrTag::Earliest)) => StateAt::Number(0),
        Some(BlockId::Number(_)) => StateAt::Latest,
        Some(BlockId::Hash(h)) => StateAt::Number(
            chain
                .block_number_by_hash(h.block_hash)
                .ok_or_else(|| ChainError::UnknownBlock(h.block_hash.to_string()))?,
        ),
    })
}

/// Builds the RPC module of a dev chain.
pub fn module(chain: DevChain) -> RpcModule<DevChain> {
    let mut m = RpcModule::new(chain);
    macro_rules! method {
        ($name:literal, |$args:ident, $c:ident| $body:expr) => {
            m.register_method($name, |params, $c, _| {
                #[allow(unused_mut, unused_variables)]
                let mut $args = Args::new(&params);
                $body
            })
            .expect("method names are unique");
        };
    }

    method!("web3_clientVersion", |a, _c| RpcResult::Ok(format!(
        "loft-devnet/{}",
        env!("CARGO_PKG_VERSION")
    )));
    method!("net_version", |a, c| RpcResult::Ok(
        c.chain_id().to_string()
    ));
    method!("net_listening", |a, _c| RpcResult::Ok(true));
    method!("net_peerCount", |a, _c| RpcResult::Ok(U64::ZERO));
    method!("eth_chainId", |a, c| RpcResult::Ok(U64::from(c.chain_id())));
    method!("eth_blockNumber", |a, c| RpcResult::Ok(U64::from(
        c.lock().block_number()
    )));
    method!("eth_syncing", |a, _c| RpcResult::Ok(false));
    method!("eth_mining", |a, _c| RpcResult::Ok(true));
    method!("eth_coinbase", |a, _c| RpcResult::Ok(Address::ZERO));
    method!("eth_accounts", |a, c| RpcResult::Ok(
        c.dev_keys().iter().map(|k| k.address()).collect::<Vec<_>>()
    ));
    method!("eth_gasPrice", |a, c| RpcResult::Ok(U256::from(
        c.lock().next_base_fee() as u128 + DEFAULT_PRIORITY_FEE
    )));
    method!("eth_maxPriorityFeePerGas", |a, _c| RpcResult::Ok(
        U256::from(DEFAULT_PRIORITY_FEE)
    ));
    method!("eth_blobBaseFee", |a, c| RpcResult::Ok(U256::from(
        c.lock().next_blob_base_fee()
    )));

    method!("eth_getBalance", |a, c| {
        let address: Address = a.next()?;
        let block: Option<BlockId> = a.optional()?;
        let chain = c.lock();
        let at = state_at(&chain, block)?;
        RpcResult::Ok(chain.balance(address, at)?)
    });
    method!("eth_getTransactionCount", |a, c| {
        let address: Address = a.next()?;
        let block: Option<BlockId> = a.optional()?;
        let chain = c.lock();
        if block == Some(BlockId::Number(BlockNumberOrTag::Pending)) {
            return RpcResult::Ok(U64::from(chain.pending_nonce(address)));
        }
        let at = state_at(&chain, block)?;
        RpcResult::Ok(U64::from(chain.nonce(address, at)?))
    });
    method!("eth_getCode", |a, c| {
        let address: Address = a.next()?;
        let block: Option<BlockId> = a.optional()?;
        let chain = c.lock();
        let at = state_at(&chain, block)?;
        RpcResult::Ok(chain.code(address, at)?)
    });
    method!("eth_getStorageAt", |a, c| {
        let address: Address = a.next()?;
        let slot: U256 = a.next()?;
        let block: Option<BlockId> = a.optional()?;
        let chain = c.lock();
        let at = state_at(&chain, block)?;
        RpcResult::Ok(chain.storage(address, slot, at)?)
    });
    method!("eth_call", |a, c| {
        let req: TransactionRequest = a.next()?;
        let block: Option<BlockId> = a.optional()?;
        let overrides: Option<serde_json::Value> = a.optional()?;
        if overrides.is_some_and(|o| !o.is_null()) {
            return Err(invalid_params(
                "state overrides are not supported by the embedded L1",
            ));
        }
        let mut chain = c.lock();
        let at = state_at(&chain, block)?;
        RpcResult::Ok(chain.call(&req, at)?)
    });
    method!("eth_estimateGas", |a, c| {
        let req: TransactionRequest = a.next()?;
        let block: Option<BlockId> = a.optional()?;
        let mut chain = c.lock();
        let at = state_at(&chain, block)?;
        RpcResult::Ok(U64::from(chain.estimate_gas(&req, at)?))
    });
    method!("eth_sendRawTransaction", |a, c| {
        let raw: Bytes = a.next()?;
        RpcResult::Ok(c.send_raw(&raw)?)
    });
    method!("eth_sendTransaction", |a, c| {
        let req: TransactionRequest = a.next()?;
        let from = req
            .from
            .ok_or_else(|| invalid_params("`from` is required"))?;
        let key = c
            .dev_key(from)
            .ok_or(ChainError::UnknownAccount(from))?
            .clone();
        let mut typed = c.lock().fill_request(&req)?;
        let signature = key
            .sign_transaction_sync(&mut typed)
            .map_err(|e| ChainError::InvalidSignature(e.to_string()))?;
        let envelope: alloy::consensus::TxEnvelope = typed.into_signed(signature).into();
        let tx = alloy::consensus::transaction::Recovered::new_unchecked(envelope, from);
        RpcResult::Ok(c.submit(tx)?)
    });
    method!("eth_getTransactionByHash", |a, c| {
        let hash: B256 = a.next()?;
        let chain = c.lock();
        RpcResult::Ok(
            chain
                .rpc_transaction(hash)
                .or_else(|| chain.pending_transaction(hash)),
        )
    });
    method!("eth_getTransactionReceipt", |a, c| {
        let hash: B256 = a.next()?;
        RpcResult::Ok(c.lock().receipt(hash))
    });
    method!("eth_getBlockByNumber", |a, c| {
        let tag: BlockNumberOrTag = a.next()?;
        let full: Option<bool> = a.optional()?;
        let chain = c.lock();
        let n = chain.resolve_tag(tag);
        RpcResult::Ok(chain.rpc_block(n, full.unwrap_or(false)))
    });
    method!("eth_getBlockByHash", |a, c| {
        let hash: B256 = a.next()?;
        let full: Option<bool> = a.optional()?;
        let chain = c.lock();
        RpcResult::Ok(
            chain
                .block_number_by_hash(hash)
                .and_then(|n| chain.rpc_block(n, full.unwrap_or(false))),
        )
    });
    method!("eth_getBlockTransactionCountByNumber", |a, c| {
        let tag: BlockNumberOrTag = a.next()?;
        let chain = c.lock();
        let n = chain.resolve_tag(tag);
        RpcResult::Ok(
            chain
                .rpc_block(n, false)
                .map(|b| U64::from(b.transactions.len())),
        )
    });
    method!("eth_getBlockReceipts", |a, c| {
        let block: BlockId = a.next()?;
        let chain = c.lock();
        let n = match block {
            BlockId::Number(tag) => Some(chain.resolve_tag(tag)),
            BlockId::Hash(h) => chain.block_number_by_hash(h.block_hash),
        };
        RpcResult::Ok(n.and_then(|n| chain.rpc_block(n, false)).map(|b| {
            b.transactions
                .hashes()
                .filter_map(|h| chain.receipt(h))
                .collect::<Vec<_>>()
        }))
    });
    method!("eth_getLogs", |a, c| {
        let filter: Filter = a.next()?;
        RpcResult::Ok(c.lock().logs(&filter)?)
    });
    method!("eth_feeHistory", |a, c| {
        let count: U64 = a.next()?;
        let newest: BlockNumberOrTag = a.next()?;
        let percentiles: Option<Vec<f64>> = a.optional()?;
        let chain = c.lock();
        RpcResult::Ok(fee_history(
            &chain,
            count.to::<u64>(),
            newest,
            percentiles.unwrap_or_default(),
        )?)
    });

    // Development controls, with anvil's names so the same scripts drive both.
    method!("evm_increaseTime", |a, c| {
        let seconds: U256 = a.next()?;
        let seconds: u64 = seconds
            .try_into()
            .map_err(|_| invalid_params("seconds out of range"))?;
        c.lock().advance_time(seconds)?;
        RpcResult::Ok(U64::from(seconds))
    });
    method!("evm_setNextBlockTimestamp", |a, c| {
        let ts: U256 = a.next()?;
        let ts: u64 = ts
            .try_into()
            .map_err(|_| invalid_params("timestamp out of range"))?;
        c.lock().set_next_timestamp(ts)?;
        RpcResult::Ok(())
    });
    method!("evm_mine", |a, c| {
        let _opts: Option<serde_json::Value> = a.optional()?;
        c.mine(1)?;
        RpcResult::Ok("0x0")
    });
    // Blobs of included transactions, as anvil serves them.
    method!("anvil_getBlobByHash", |a, c| {
        let versioned_hash: B256 = a.next()?;
        RpcResult::Ok(c.lock().blob(versioned_hash)?)
    });
    method!("anvil_getBlobsByTransactionHash", |a, c| {
        use alloy::consensus::Transaction as _;
        let hash: B256 = a.next()?;
        let chain = c.lock();
        let Some(tx) = chain.rpc_transaction(hash) else {
            return RpcResult::Ok(None);
        };
        let mut blobs = Vec::new();
        for vh in tx.inner.blob_versioned_hashes().unwrap_or_default() {
            match chain.blob(*vh)? {
                Some(blob) => blobs.push(blob),
                None => return RpcResult::Ok(None),
            }
        }
        RpcResult::Ok(Some(blobs))
    });
    method!("anvil_mine", |a, c| {
        let blocks: Option<U256> = a.optional()?;
        let interval: Option<U256> = a.optional()?;
        let blocks: u64 = blocks
            .unwrap_or(U256::from(1))
            .try_into()
            .map_err(|_| invalid_params("block count out of range"))?;
        if blocks > 1_000_000 {
            return Err(invalid_params("at most 1000000 blocks per call"));
        }
        let interval: u64 = interval
            .unwrap_or_default()
            .try_into()
            .map_err(|_| invalid_params("interval out of range"))?;
        for _ in 0..blocks {
            if interval > 0 {
                c.lock().advance_time(interval)?;
            }
            c.mine(1)?;
        }
        RpcResult::Ok(())
    });

    m.register_async_method("eth_sendRawTransactionSync", |params, c, _| async move {
        let mut a = Args::new(&params);
        let raw: Bytes = a.next()?;
        let timeout_ms: Option<U64> = a.optional()?;
        let timeout = timeout_ms
            .map(|t| Duration::from_millis(t.to()))
            .unwrap_or(SYNC_SEND_TIMEOUT);
        let hash = c.send_raw(&raw)?;
        RpcResult::Ok(c.wait_for_receipt(hash, timeout).await?)
    })
    .expect("method names are unique");
    m
}

fn fee_history(
    chain: &crate::Chain,
    count: u64,
    newest: BlockNumberOrTag,
    percentiles: Vec<f64>,
) -> Result<FeeHistory, ChainError> {
    if count == 0 || count > 1024 {
        return Err(ChainError::InvalidParams(format!(
            "block count {count} is not in 1..=1024"
        )));
    }
    if percentiles.windows(2).any(|w| w[0] > w[1])
        || percentiles.iter().any(|p| !(0.0..=100.0).contains(p))
    {
        return Err(ChainError::InvalidParams(
            "reward percentiles must be ascending values in 0..=100".into(),
        ));
    }
    let newest = chain.resolve_tag(newest).min(chain.block_number());
    let oldest = newest.saturating_sub(count - 1);
    let mut history = FeeHistory {
        oldest_block: oldest,
        ..Default::default()
    };
    let mut rewards = Vec::new();
    for n in oldest..=newest {
        let block = chain
            .rpc_block(n, true)
            .ok_or_else(|| ChainError::UnknownBlock(n.to_string()))?;
        let h = &block.header.inner;
        let base = h.base_fee_per_gas.unwrap_or_default();
        history.base_fee_per_gas.push(base as u128);
        history
            .gas_used_ratio
            .push(h.gas_used as f64 / h.gas_limit as f64);
        history.base_fee_per_blob_gas.push(
            alloy::eips::eip7840::BlobParams::osaka().calc_blob_fee(h.excess_blob_gas.unwrap_or(0)),
        );
        history.blob_gas_used_ratio.push(
            h.blob_gas_used.unwrap_or(0) as f64
                / alloy::eips::eip7840::BlobParams::osaka().max_blob_gas_per_block() as f64,
        );
        if !percentiles.is_empty() {
            use alloy::consensus::Transaction as _;
            let mut tips: Vec<u128> = block
                .transactions
                .txns()
                .map(|t| t.inner.effective_tip_per_gas(base).unwrap_or_default())
                .collect();
            tips.sort_unstable();
            rewards.push(
                percentiles
                    .iter()
                    .map(|p| {
                        if tips.is_empty() {
                            0
                        } else {
                            tips[((tips.len() - 1) as f64 * p / 100.0).round() as usize]
                        }
                    })
                    .collect(),
            );
        }
    }
    // The entry after the newest block is the next block's base fee.
    if newest == chain.block_number() {
        history.base_fee_per_gas.push(chain.next_base_fee() as u128);
        history
            .base_fee_per_blob_gas
            .push(chain.next_blob_base_fee());
    } else if let Some(next) = chain.rpc_block(newest + 1, false) {
        history
            .base_fee_per_gas
            .push(next.header.inner.base_fee_per_gas.unwrap_or_default() as u128);
        history.base_fee_per_blob_gas.push(
            alloy::eips::eip7840::BlobParams::osaka()
                .calc_blob_fee(next.header.inner.excess_blob_gas.unwrap_or(0)),
        );
    }
    history.reward = (!percentiles.is_empty()).then_some(rewards);
    Ok(history)
}

/// Serves the chain's JSON-RPC on `addr` (HTTP and WebSocket). The server runs until the handle is
/// stopped or dropped.
pub async fn serve(
    chain: DevChain,
    addr: SocketAddr,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let config = ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_response_body_size(MAX_RESPONSE_BYTES)
        .build();
    let server = Server::builder().set_config(config).build(addr).await?;
    let local = server.local_addr()?;
    let handle = server.start(module(chain));
    tracing::info!(target: "loft::l1::embedded", %local, "L1 JSON-RPC listening");
    Ok((local, handle))
}
