//! The verifier's read-only JSON-RPC (HTTP and WebSocket on one port): the state it verified
//! from L1 alone, and its verdicts.
//!
//! Methods (named and shaped as the sequencer node's, `crates/node/src/rpc.rs`):
//! - `web3_clientVersion`, `net_version`, `eth_chainId`, `eth_syncing` (false).
//! - `eth_blockNumber`: the last L2 block of the last valid batch (0 before any).
//! - `eth_getBalance(address, block?)`, `eth_getTransactionCount(address, block?)`,
//!   `eth_getCode(address, block?)`, and `eth_call(request, block?)` for the ERC-20 views of L2
//!   tokens (`balanceOf`, `decimals`, `symbol`, `name`, `totalSupply`, `allowance`, `l1Token`: how
//!   the node serves token balances too). `block` is a tag (`latest`, `safe`, `finalized`, ...:
//!   all the verified state, the state after the last valid batch), `earliest` / `0x0` (genesis),
//!   or the number of the last L2 block of a valid batch. Other blocks are `-32001`: the verifier
//!   has L2 states at batch boundaries only.
//! - `loft_verifierStatus(fromIndex?, limit?)`: `{nextBatch, batchCount, stateRoot, l2Block,
//!   l1Block, fraudAt, batches: [{index, verdict, fault?, buildsOn?, headerHash, stateRoot, l1Block,
//!   l1Tx, transactions}]}`; `batches` lists at most `limit` (default and maximum
//!   [`MAX_STATUS_BATCHES`]) live batches from `fromIndex` (default: the newest ones). `verdict` is
//!   `valid`, `fraud` (with `fault`: `{kind, message, ...}`) or `buildsOnFraud` (with `buildsOn`).
//!
//! Errors: `-32602` malformed parameters, `-32601` unknown methods (every write method is
//! unknown here), `-32001` unknown states, `-32004` calls the L2 cannot answer, `-32603` a failed
//! database read. Every answer is read from the verifier's database in one read transaction, so
//! it is consistent and never waits for [`crate::Verifier::sync`].

use std::net::SocketAddr;
use std::sync::Arc;

use alloy::eips::{BlockId, BlockNumberOrTag};
use alloy::primitives::{Address, B256, Bytes, U64, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolValue};
use jsonrpsee::server::{BatchRequestConfig, RpcModule, Server, ServerConfig, ServerHandle};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use loft_state::layout::L2_BRIDGE;
use loft_state::{RedbStore, Smt, StateRead};
use loft_stf::ChainParams;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::store::{self, BatchEntry, Head};
use crate::{DeriveError, Verdict};

/// Largest request body accepted.
pub const MAX_REQUEST_BYTES: u32 = 1024 * 1024;
/// Most calls in one JSON-RPC batch.
pub const MAX_BATCH: u32 = 1_000;
/// Most batches one `loft_verifierStatus` lists.
pub const MAX_STATUS_BATCHES: u64 = 1_000;

/// Code of a failed read (database): retry later.
pub const CODE_INTERNAL: i32 = -32603;
/// Code of unknown states.
pub const CODE_NOT_FOUND: i32 = -32001;
/// Code of an eth_call the L2 cannot answer.
pub const CODE_UNSUPPORTED_CALL: i32 = -32004;

/// Nodes per cache generation of the RPC's own view of the tree (the verifier's cache stays its
/// own).
const CACHE_NODES: usize = 1 << 16;

type RpcResult<T> = Result<T, ErrorObjectOwned>;

fn invalid_params(msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32602, msg.into(), None::<()>)
}

fn not_found(msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(CODE_NOT_FOUND, msg.into(), None::<()>)
}

fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(CODE_INTERNAL, e.to_string(), None::<()>)
}

impl From<DeriveError> for ErrorObjectOwned {
    fn from(e: DeriveError) -> Self {
        internal(e)
    }
}

/// A read-only view of a [`crate::Verifier`]'s database ([`crate::Verifier::handle`]): what the
/// RPC serves. Cheap to clone; it never blocks the verifier.
#[derive(Clone)]
pub struct VerifierHandle {
    db: Arc<redb::Database>,
    store: RedbStore,
    params: ChainParams,
    genesis_root: B256,
}

impl std::fmt::Debug for VerifierHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierHandle")
            .field("chain_id", &self.params.chain_id)
            .finish_non_exhaustive()
    }
}

/// What the verifier has verified, read in one transaction.
struct View {
    txn: redb::ReadTransaction,
    head: Head,
}

impl View {
    fn batch(&self, index: u64) -> Result<Option<BatchEntry>, DeriveError> {
        Ok(store::read_batch_range(&self.txn, index, 1)?.pop())
    }

    /// The last L2 block of the last valid batch (0 before any).
    fn l2_block(&self) -> Result<u64, DeriveError> {
        Ok(match self.head.valid {
            0 => 0,
            n => self.batch(n - 1)?.map(|b| b.header.last_block).unwrap_or(0),
        })
    }
}

impl VerifierHandle {
    pub(crate) fn new(db: Arc<redb::Database>, params: ChainParams, genesis_root: B256) -> Self {
        Self {
            store: RedbStore::with_cache(db.clone(), CACHE_NODES),
            db,
            params,
            genesis_root,
        }
    }

    fn view(&self) -> Result<View, DeriveError> {
        let txn = store::begin_read(&self.db)?;
        let head = store::read_head(&txn)?.unwrap_or(Head {
            cursor: store::Cursor::end_of(0),
            valid: 0,
            root: self.genesis_root,
            count: 0,
        });
        Ok(View { txn, head })
    }

    /// The state root after the last valid batch.
    pub fn state_root(&self) -> Result<B256, DeriveError> {
        Ok(self.view()?.head.root)
    }

    /// The tree at `root`.
    fn tree(&self, root: B256) -> Smt<RedbStore> {
        Smt::new(self.store.clone(), root)
    }

    /// The state root a request asks for.
    fn resolve(&self, block: Option<BlockId>) -> RpcResult<B256> {
        let view = self.view()?;
        let n = match block {
            None => return Ok(view.head.root),
            Some(BlockId::Hash(h)) => {
                return Err(not_found(format!(
                    "the verifier knows L2 states by block number only, not by hash ({})",
                    h.block_hash
                )));
            }
            Some(BlockId::Number(BlockNumberOrTag::Earliest)) => 0,
            Some(BlockId::Number(BlockNumberOrTag::Number(n))) => n,
            Some(BlockId::Number(_)) => return Ok(view.head.root),
        };
        if n == 0 {
            return Ok(self.genesis_root);
        }
        // Valid batches cover consecutive L2 blocks: binary search their last blocks.
        let (mut lo, mut hi) = (0u64, view.head.valid);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let entry = view
                .batch(mid)?
                .ok_or_else(|| internal(format!("verified batch {mid} missing")))?;
            match entry.header.last_block.cmp(&n) {
                std::cmp::Ordering::Equal => {
                    return entry
                        .state_root
                        .ok_or_else(|| internal(format!("valid batch {mid} has no root")));
                }
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        Err(not_found(format!(
            "L2 block {n} is not the last block of a verified batch (the verifier has the states \
             after each valid batch; the latest is L2 block {})",
            view.l2_block()?
        )))
    }

    /// Runs `f` on the state a request asks for.
    fn with_state<T>(
        &self,
        block: Option<BlockId>,
        f: impl FnOnce(&Smt<RedbStore>) -> Result<T, loft_state::StateError>,
    ) -> RpcResult<T> {
        let root = self.resolve(block)?;
        f(&self.tree(root)).map_err(internal)
    }

    /// `loft_verifierStatus`.
    pub fn status(&self, from: Option<u64>, limit: Option<u64>) -> Result<Value, DeriveError> {
        let view = self.view()?;
        let head = view.head;
        let limit = limit.unwrap_or(MAX_STATUS_BATCHES).min(MAX_STATUS_BATCHES);
        let from = from.unwrap_or(head.count.saturating_sub(limit));
        let batches: Vec<Value> = store::read_batch_range(&view.txn, from, limit)?
            .iter()
            .map(batch_json)
            .collect();
        Ok(json!({
            "nextBatch": head.valid,
            "batchCount": head.count,
            "stateRoot": head.root,
            "l2Block": view.l2_block()?,
            "l1Block": head.cursor.block,
            "fraudAt": head.fraud_at(),
            "batches": batches,
        }))
    }
}

fn batch_json(b: &BatchEntry) -> Value {
    let mut out = json!({
        "index": b.header.index,
        "headerHash": b.header_hash,
        "firstBlock": b.header.first_block,
        "lastBlock": b.header.last_block,
        "claimedStateRoot": b.header.state_root,
        "stateRoot": b.state_root,
        "l1Block": b.l1_block,
        "l1Tx": b.l1_tx,
        "transactions": b.transactions,
    });
    match &b.verdict {
        Verdict::Valid => out["verdict"] = json!("valid"),
        Verdict::Fraud(fault) => {
            out["verdict"] = json!("fraud");
            let mut f = serde_json::to_value(fault).unwrap_or_else(|_| json!({}));
            f["message"] = json!(fault.to_string());
            out["fault"] = f;
        }
        Verdict::BuildsOnFraud(k) => {
            out["verdict"] = json!("buildsOnFraud");
            out["buildsOn"] = json!(k);
        }
    }
    out
}

alloy::sol! {
    /// The ERC-20 surface of an L2 token.
    interface IErc20 {
        function balanceOf(address account) external view returns (uint256);
        function decimals() external view returns (uint8);
        function symbol() external view returns (string);
        function name() external view returns (string);
        function totalSupply() external view returns (uint256);
        function allowance(address owner, address spender) external view returns (uint256);
        function l1Token() external view returns (address);
    }
}

/// Code reported for L2 tokens and the L2 bridge, as the node reports it (one INVALID opcode).
const SYSTEM_CODE: [u8; 1] = [0xfe];

/// Answers the ERC-20 views of an L2 token, `None` if `to` is not one.
fn token_view(state: &Smt<RedbStore>, to: Address, data: &[u8]) -> RpcResult<Option<Bytes>> {
    let Some(token) = state.token(to).map_err(internal)? else {
        return Ok(None);
    };
    let unsupported = |msg: String| ErrorObjectOwned::owned(CODE_UNSUPPORTED_CALL, msg, None::<()>);
    let selector: [u8; 4] = data
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| unsupported("execution reverted: no function selector".into()))?;
    let out = match selector {
        IErc20::balanceOfCall::SELECTOR => {
            let call = IErc20::balanceOfCall::abi_decode(data)
                .map_err(|e| invalid_params(format!("balanceOf: {e}")))?;
            state
                .token_balance(call.account, to)
                .map_err(internal)?
                .abi_encode()
        }
        IErc20::decimalsCall::SELECTOR => U256::from(token.decimals).abi_encode(),
        IErc20::symbolCall::SELECTOR => token.symbol.abi_encode(),
        IErc20::nameCall::SELECTOR => token.name.abi_encode(),
        IErc20::totalSupplyCall::SELECTOR => token.total_supply.abi_encode(),
        IErc20::allowanceCall::SELECTOR => U256::ZERO.abi_encode(),
        IErc20::l1TokenCall::SELECTOR => token.l1_token.abi_encode(),
        _ => {
            return Err(unsupported(format!(
                "execution reverted: L2 token {to} answers balanceOf, decimals, symbol, name, totalSupply, allowance and l1Token only"
            )));
        }
    };
    Ok(Some(out.into()))
}

/// Positional parameters.
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

/// The RPC module over `handle`.
pub fn module(handle: VerifierHandle) -> RpcModule<VerifierHandle> {
    let mut m = RpcModule::new(handle);
    macro_rules! method {
        ($name:literal, |$args:ident, $c:ident| $body:expr) => {
            m.register_blocking_method($name, |params, $c, _| {
                #[allow(unused_mut, unused_variables)]
                let mut $args = Args::new(&params);
                $body
            })
            .expect("method names are unique");
        };
    }

    method!("web3_clientVersion", |a, _c| RpcResult::Ok(format!(
        "loft-verifier/{}",
        env!("CARGO_PKG_VERSION")
    )));
    method!("net_version", |a, c| RpcResult::Ok(
        c.params.chain_id.to_string()
    ));
    method!("eth_chainId", |a, c| RpcResult::Ok(U64::from(
        c.params.chain_id
    )));
    method!("eth_syncing", |a, _c| RpcResult::Ok(false));
    method!("eth_blockNumber", |a, c| RpcResult::Ok(U64::from(
        c.view()?.l2_block()?
    )));
    method!("eth_getBalance", |a, c| {
        let address: Address = a.next()?;
        let block: Option<BlockId> = a.optional()?;
        c.with_state(block, |s| s.account(address).map(|x| x.balance))
    });
    method!("eth_getTransactionCount", |a, c| {
        let address: Address = a.next()?;
        let block: Option<BlockId> = a.optional()?;
        c.with_state(block, |s| s.account(address).map(|x| U64::from(x.nonce)))
    });
    method!("eth_getCode", |a, c| {
        let address: Address = a.next()?;
        let block: Option<BlockId> = a.optional()?;
        let is_token = c.with_state(block, |s| s.token(address).map(|t| t.is_some()))?;
        RpcResult::Ok(if is_token || address == L2_BRIDGE {
            Bytes::from_static(&SYSTEM_CODE)
        } else {
            Bytes::new()
        })
    });
    method!("eth_call", |a, c| {
        let request: TransactionRequest = a.next()?;
        let block: Option<BlockId> = a.optional()?;
        let to = request.to.and_then(|k| k.to().copied()).ok_or_else(|| {
            ErrorObjectOwned::owned(
                CODE_UNSUPPORTED_CALL,
                "contract creation is not supported on this L2",
                None::<()>,
            )
        })?;
        let data = request.input.input().cloned().unwrap_or_default();
        let state = c.tree(c.resolve(block)?);
        match token_view(&state, to, &data)? {
            Some(out) => RpcResult::Ok(out),
            None if data.is_empty() => RpcResult::Ok(Bytes::new()),
            None => Err(ErrorObjectOwned::owned(
                CODE_UNSUPPORTED_CALL,
                format!(
                    "{to} is not an L2 token: eth_call answers the ERC-20 views of L2 tokens only"
                ),
                None::<()>,
            )),
        }
    });
    method!("loft_verifierStatus", |a, c| {
        let from: Option<U64> = a.optional()?;
        let limit: Option<U64> = a.optional()?;
        RpcResult::Ok(c.status(from.map(|x| x.to()), limit.map(|x| x.to()))?)
    });
    m
}

/// Serves the verifier's read-only JSON-RPC on `addr` (give it a loopback address: the verifier
/// is no public endpoint). Returns the bound address and the server's handle; the server runs
/// until the handle is stopped or dropped, and reads the database while the verifier syncs.
pub async fn serve(
    handle: VerifierHandle,
    addr: SocketAddr,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let config = ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .set_batch_request_config(BatchRequestConfig::Limit(MAX_BATCH))
        .build();
    let server = Server::builder().set_config(config).build(addr).await?;
    let local = server.local_addr()?;
    tracing::info!(target: "loft::verifier", addr = %local, "verifier JSON-RPC listening");
    Ok((local, server.start(module(handle))))
}
