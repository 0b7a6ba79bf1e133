//! The L2 JSON-RPC server (HTTP and WebSocket on one port): the `eth_` methods wallets and tools
//! use, and the `loft_` namespace (transaction, batch, withdrawal and queue status). Method list
//! and error codes: README "L2 JSON-RPC" and `docs/rollup.md`.
//!
//! Errors: transaction refusals carry the code of [`loft_stf::TxError::rpc_code`] and a message
//! with the numbers; malformed parameters are `-32602`; unknown methods `-32601`; a request body
//! above [`MAX_REQUEST_BYTES`] is refused by the server before parsing, and a JSON-RPC batch is
//! limited to [`MAX_BATCH`] calls. Nothing changes on any error.

use std::net::SocketAddr;
use std::sync::Arc;

use alloy::consensus::{Eip658Value, Receipt, ReceiptWithBloom, Transaction as _, TxEnvelope};
use alloy::eips::{BlockId, BlockNumberOrTag};
use alloy::primitives::{Address, B256, Bytes, U64, U256};
use alloy::rpc::types::{
    Block, BlockTransactions, FeeHistory, Filter, Log as RpcLog, Transaction as RpcTransaction,
    TransactionReceipt, TransactionRequest,
};
use alloy::sol_types::SolCall;
use jsonrpsee::server::{
    BatchRequestConfig, PendingSubscriptionSink, RpcModule, Server, ServerConfig, ServerHandle,
    SubscriptionMessage,
};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use loft_state::{StateRead, layout::L2_BRIDGE};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::db::{BlockRecord, TxRecord};
use crate::sequencer::SubmitError;
use crate::{NodeError, Shared};

/// Largest request body accepted.
pub const MAX_REQUEST_BYTES: u32 = 1024 * 1024;
/// Most calls in one JSON-RPC batch.
pub const MAX_BATCH: u32 = 1_000;
/// Most blocks one `eth_getLogs` scans.
pub const MAX_LOG_RANGE: u64 = 10_000;
/// Most logs one `eth_getLogs` returns.
pub const MAX_LOGS: usize = 10_000;

/// Code of a failed node (database, L1): retry later.
pub const CODE_INTERNAL: i32 = -32603;
/// Code of unknown blocks, transactions and batches.
pub const CODE_NOT_FOUND: i32 = -32001;
/// Code of an eth_call the L2 cannot answer.
pub const CODE_UNSUPPORTED_CALL: i32 = -32004;
/// Code of a transaction sent to a node that is not L1's active operator (`data.reason`
/// `not-active-operator`, `data.active` the operator that is).
pub const CODE_NOT_ACTIVE: i32 = -32006;
/// `data.reason` of `loft_stepLeaves` for a batch this node has no leaves of (it did not post
/// it, or L1 reverted it); the code is [`CODE_NOT_FOUND`].
pub const REASON_UNKNOWN_BATCH: &str = "unknown-batch";
/// `data.reason` of `loft_stepLeaves` for a batch whose leaves the node withholds
/// (`--fault withhold`); the code is [`CODE_NOT_FOUND`].
pub const REASON_WITHHELD: &str = "withheld";

type RpcResult<T> = Result<T, ErrorObjectOwned>;

fn invalid_params(msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32602, msg.into(), None::<()>)
}

fn not_found(msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(CODE_NOT_FOUND, msg.into(), None::<()>)
}

impl From<NodeError> for ErrorObjectOwned {
    fn from(e: NodeError) -> Self {
        ErrorObjectOwned::owned(CODE_INTERNAL, e.to_string(), None::<()>)
    }
}

fn state_error(e: loft_state::StateError) -> ErrorObjectOwned {
    NodeError::from(e).into()
}

/// The JSON-RPC error of a refused transaction.
pub fn submit_error(e: &SubmitError) -> ErrorObjectOwned {
    match e {
        SubmitError::Refused(tx) => ErrorObjectOwned::owned(
            tx_rpc_code(tx),
            tx.to_string(),
            Some(json!({ "reason": tx.kind() })),
        ),
        SubmitError::AlreadyKnown(_) => ErrorObjectOwned::owned(
            -32000,
            e.to_string(),
            Some(json!({ "reason": "already-known" })),
        ),
        SubmitError::Busy(_) => {
            ErrorObjectOwned::owned(-32005, e.to_string(), Some(json!({ "reason": "busy" })))
        }
        SubmitError::Censored(_) => {
            ErrorObjectOwned::owned(-32000, e.to_string(), Some(json!({ "reason": "censored" })))
        }
        SubmitError::NotActive(active) => ErrorObjectOwned::owned(
            CODE_NOT_ACTIVE,
            e.to_string(),
            Some(json!({ "reason": "not-active-operator", "active": active })),
        ),
        SubmitError::Node(n) => ErrorObjectOwned::owned(CODE_INTERNAL, n.to_string(), None::<()>),
    }
}

/// The JSON-RPC code of a refused transaction: `-38000 - code` for the transaction's faults
/// (`-38001` malformed ... `-38017`, see [`loft_stf::TxError::TABLE`]), `-32603` when the node
/// could not read its state.
pub fn tx_rpc_code(e: &loft_stf::TxError) -> i32 {
    if e.is_invalid_tx() {
        -38000 - i32::from(e.code())
    } else {
        CODE_INTERNAL
    }
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

/// Which state a read asks for.
enum At {
    /// Soft-confirmed: every accepted transaction (latest, pending, safe, finalized, none).
    Current,
    /// The end of a sealed block.
    Block(u64),
}

fn resolve(shared: &Shared, block: Option<BlockId>) -> RpcResult<At> {
    Ok(match block {
        None | Some(BlockId::Number(BlockNumberOrTag::Latest | BlockNumberOrTag::Pending)) => {
            At::Current
        }
        Some(BlockId::Number(BlockNumberOrTag::Number(n))) => At::Block(n),
        Some(BlockId::Number(BlockNumberOrTag::Earliest)) => At::Block(0),
        Some(BlockId::Number(_)) => At::Current,
        Some(BlockId::Hash(h)) => At::Block(
            shared
                .db
                .block_number_by_hash(&h.block_hash)?
                .ok_or_else(|| not_found(format!("unknown block {}", h.block_hash)))?,
        ),
    })
}

/// Runs `f` on the state the request asks for.
fn with_state<T>(
    shared: &Shared,
    block: Option<BlockId>,
    f: impl FnOnce(&dyn StateRead) -> Result<T, loft_state::StateError>,
) -> RpcResult<T> {
    match resolve(shared, block)? {
        At::Current => f(shared.sequencer().state()).map_err(state_error),
        At::Block(n) => {
            let state = shared
                .sequencer()
                .state_at(n)?
                .ok_or_else(|| not_found(format!("unknown block {n}")))?;
            f(&state).map_err(state_error)
        }
    }
}

fn block_number_of(shared: &Shared, tag: BlockNumberOrTag) -> u64 {
    match tag {
        BlockNumberOrTag::Number(n) => n,
        BlockNumberOrTag::Earliest => 0,
        _ => shared.sequencer().head().number,
    }
}

fn rpc_transaction(record: &TxRecord, block: &BlockRecord) -> RpcResult<RpcTransaction> {
    let tx = decode_stored(&record.raw)?;
    Ok(RpcTransaction {
        inner: alloy::consensus::transaction::Recovered::new_unchecked(tx, record.sender),
        block_hash: Some(block.hash),
        block_number: Some(block.number),
        transaction_index: Some(record.index),
        effective_gas_price: Some(record.effective_gas_price),
        block_timestamp: Some(block.header.timestamp),
    })
}

/// Decodes a stored (already validated) transaction.
fn decode_stored(raw: &[u8]) -> RpcResult<TxEnvelope> {
    use alloy::eips::eip2718::Decodable2718;
    let mut buf = raw;
    TxEnvelope::decode_2718(&mut buf)
        .map_err(|e| NodeError::Storage(format!("stored transaction: {e}")).into())
}

fn rpc_logs(record: &TxRecord, hash: B256, block: &BlockRecord) -> Vec<RpcLog> {
    record
        .logs
        .iter()
        .enumerate()
        .map(|(i, log)| RpcLog {
            inner: log.clone(),
            block_hash: Some(block.hash),
            block_number: Some(block.number),
            block_timestamp: Some(block.header.timestamp),
            transaction_hash: Some(hash),
            transaction_index: Some(record.index),
            log_index: Some(record.first_log_index + i as u64),
            removed: false,
        })
        .collect()
}

fn rpc_receipt(
    record: &TxRecord,
    hash: B256,
    block: &BlockRecord,
) -> RpcResult<TransactionReceipt> {
    let tx = decode_stored(&record.raw)?;
    let receipt = Receipt {
        status: Eip658Value::Eip658(true),
        cumulative_gas_used: record.cumulative_gas_used,
        logs: rpc_logs(record, hash, block),
    };
    let with_bloom =
        ReceiptWithBloom::new(receipt, alloy::primitives::logs_bloom(record.logs.iter()));
    let inner = match tx {
        TxEnvelope::Legacy(_) => alloy::consensus::ReceiptEnvelope::Legacy(with_bloom),
        _ => alloy::consensus::ReceiptEnvelope::Eip1559(with_bloom),
    };
    Ok(TransactionReceipt {
        inner,
        transaction_hash: hash,
        transaction_index: Some(record.index),
        block_hash: Some(block.hash),
        block_number: Some(block.number),
        gas_used: record.gas_used,
        effective_gas_price: record.effective_gas_price,
        blob_gas_used: None,
        blob_gas_price: None,
        from: record.sender,
        to: tx.to(),
        contract_address: None,
    })
}

fn rpc_block(shared: &Shared, block: &BlockRecord, full: bool) -> RpcResult<Block> {
    let transactions = if full {
        let mut txs = Vec::with_capacity(block.tx_hashes.len());
        for h in &block.tx_hashes {
            let record = shared
                .db
                .tx(h)?
                .ok_or_else(|| NodeError::Storage(format!("transaction {h} missing")))?;
            txs.push(rpc_transaction(&record, block)?);
        }
        BlockTransactions::Full(txs)
    } else {
        BlockTransactions::Hashes(block.tx_hashes.clone())
    };
    Ok(Block {
        header: alloy::rpc::types::Header {
            hash: block.hash,
            inner: block.header.clone(),
            total_difficulty: Some(U256::ZERO),
            size: None,
        },
        uncles: vec![],
        transactions,
        withdrawals: None,
    })
}

/// Answers the ERC-20 views of an L2 token, `None` if `to` is not one.
fn token_call(state: &dyn StateRead, to: Address, data: &[u8]) -> RpcResult<Option<Bytes>> {
    use alloy::sol_types::SolValue;
    let Some(token) = state.token(to).map_err(state_error)? else {
        return Ok(None);
    };
    let selector: [u8; 4] = data
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| {
            ErrorObjectOwned::owned(
                CODE_UNSUPPORTED_CALL,
                "execution reverted: no function selector",
                None::<()>,
            )
        })?;
    let out = match selector {
        IErc20::balanceOfCall::SELECTOR => {
            let call = IErc20::balanceOfCall::abi_decode(data)
                .map_err(|e| invalid_params(format!("balanceOf: {e}")))?;
            state
                .token_balance(call.account, to)
                .map_err(state_error)?
                .abi_encode()
        }
        IErc20::decimalsCall::SELECTOR => U256::from(token.decimals).abi_encode(),
        IErc20::symbolCall::SELECTOR => token.symbol.abi_encode(),
        IErc20::nameCall::SELECTOR => token.name.abi_encode(),
        IErc20::totalSupplyCall::SELECTOR => token.total_supply.abi_encode(),
        IErc20::allowanceCall::SELECTOR => U256::ZERO.abi_encode(),
        IErc20::l1TokenCall::SELECTOR => token.l1_token.abi_encode(),
        _ => {
            return Err(ErrorObjectOwned::owned(
                CODE_UNSUPPORTED_CALL,
                format!(
                    "execution reverted: L2 token {to} answers balanceOf, decimals, symbol, name, totalSupply, allowance and l1Token only"
                ),
                None::<()>,
            ));
        }
    };
    Ok(Some(out.into()))
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

/// Code reported for L2 tokens and the L2 bridge (a single INVALID opcode): tools that check
/// for a contract see one, and nothing can execute it.
const SYSTEM_CODE: [u8; 1] = [0xfe];

fn fee_history(
    shared: &Shared,
    count: u64,
    newest: BlockNumberOrTag,
    percentiles: Option<Vec<f64>>,
) -> RpcResult<FeeHistory> {
    if count == 0 || count > 1024 {
        return Err(invalid_params(format!(
            "block count {count} is not in 1..=1024"
        )));
    }
    let head = shared.sequencer().head().number;
    let newest = block_number_of(shared, newest).min(head);
    let oldest = newest.saturating_sub(count - 1);
    let base = shared.config.l2.base_fee as u128;
    let n = (newest - oldest + 1) as usize;
    Ok(FeeHistory {
        oldest_block: oldest,
        base_fee_per_gas: vec![base; n + 1],
        gas_used_ratio: vec![0.0; n],
        base_fee_per_blob_gas: vec![0; n + 1],
        blob_gas_used_ratio: vec![0.0; n],
        reward: percentiles.map(|p| vec![vec![0u128; p.len()]; n]),
    })
}

fn logs(shared: &Shared, filter: &Filter) -> RpcResult<Vec<RpcLog>> {
    let head = shared.sequencer().head().number;
    let (from, to) = if let Some(hash) = filter.get_block_hash() {
        let n = shared
            .db
            .block_number_by_hash(&hash)?
            .ok_or_else(|| not_found(format!("unknown block {hash}")))?;
        (n, n)
    } else {
        let from = filter
            .block_option
            .get_from_block()
            .map(|t| block_number_of(shared, *t))
            .unwrap_or(head);
        let to = filter
            .block_option
            .get_to_block()
            .map(|t| block_number_of(shared, *t))
            .unwrap_or(head)
            .min(head);
        if from > to {
            return Err(invalid_params(format!(
                "fromBlock {from} is after toBlock {to}"
            )));
        }
        if to - from >= MAX_LOG_RANGE {
            return Err(invalid_params(format!(
                "block range {from}..={to} is larger than {MAX_LOG_RANGE} blocks"
            )));
        }
        (from, to)
    };
    let mut out = Vec::new();
    for n in from..=to {
        let Some(block) = shared.db.block(n)? else {
            break;
        };
        if !filter.matches_bloom(block.header.logs_bloom) {
            continue;
        }
        for h in &block.tx_hashes {
            let Some(record) = shared.db.tx(h)? else {
                continue;
            };
            for log in rpc_logs(&record, *h, &block) {
                if filter.rpc_matches(&log) {
                    out.push(log);
                    if out.len() > MAX_LOGS {
                        return Err(invalid_params(format!(
                            "more than {MAX_LOGS} logs match: narrow the filter"
                        )));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Where a transaction stands (`loft_transactionStatus`).
fn tx_status(shared: &Shared, hash: B256) -> RpcResult<Value> {
    let pending = shared.sequencer().pending_tx(&hash).map(|(n, _)| n);
    if let Some(number) = pending {
        return Ok(json!({
            "status": "accepted",
            "detail": "accepted and executed (soft-confirmed); its block is sealed within one block time",
            "block": number,
        }));
    }
    let record = shared
        .db
        .tx(&hash)?
        .ok_or_else(|| not_found(format!("unknown transaction {hash}")))?;
    let mut out = batch_status(shared, record.block)?;
    out["block"] = json!(record.block);
    Ok(out)
}

/// The L1 status of L2 block `number`.
fn batch_status(shared: &Shared, number: u64) -> RpcResult<Value> {
    let l1_time = shared.l1_head.borrow().now();
    Ok(match shared.db.batch_of_block(number)? {
        None => json!({
            "status": "soft-confirmed",
            "detail": "in a sealed L2 block, not yet posted to L1",
        }),
        Some(b) if l1_time < b.final_at => json!({
            "status": "batched",
            "detail": format!("in L1 batch {}, final at L1 time {} (in {} s)", b.index, b.final_at, b.final_at - l1_time),
            "batch": b.index,
            "l1Transaction": b.l1_tx,
            "finalAt": b.final_at,
        }),
        Some(b) => json!({
            "status": "final",
            "detail": format!("in L1 batch {}, final since L1 time {}", b.index, b.final_at),
            "batch": b.index,
            "l1Transaction": b.l1_tx,
            "finalAt": b.final_at,
        }),
    })
}

/// `loft_withdrawalStatus`: the withdrawal a transaction made, its batch, proof and status.
async fn withdrawal_status(shared: Arc<Shared>, hash: B256) -> RpcResult<Value> {
    let record = match shared.db.tx(&hash)? {
        Some(r) => r,
        None if shared.sequencer().pending_tx(&hash).is_some() => {
            return Ok(json!({
                "status": "pending-block",
                "detail": "the withdrawal is accepted; its block is sealed within one block time",
            }));
        }
        None => return Err(not_found(format!("unknown transaction {hash}"))),
    };
    let block = shared
        .db
        .block(record.block)?
        .ok_or_else(|| NodeError::Storage(format!("block {} missing", record.block)))?;
    if !block.withdrawals.iter().any(|w| w.tx_hash == hash) {
        return Err(not_found(format!("transaction {hash} is not a withdrawal")));
    }
    withdrawal_in_block(shared, &block, hash).await
}

/// The withdrawal named `name` (a transaction hash, or a queue message's head) in sealed block
/// `block`: its batch, proof and status. The caller checked that the block has it.
async fn withdrawal_in_block(
    shared: Arc<Shared>,
    block: &crate::db::BlockRecord,
    name: B256,
) -> RpcResult<Value> {
    let w = block
        .withdrawals
        .iter()
        .find(|w| w.tx_hash == name)
        .ok_or_else(|| not_found(format!("no withdrawal {name} in block {}", block.number)))?;
    let withdrawal = json!({
        "l2Sender": w.l2_sender,
        "nonce": w.nonce,
        "l1Recipient": w.l1_recipient,
        "l1Token": w.l1_token,
        "amount": w.amount,
    });
    let Some(batch) = shared.db.batch_of_block(block.number)? else {
        return Ok(json!({
            "status": "pending-batch",
            "detail": "in a sealed L2 block that is not yet posted to L1; the batcher posts it at its next interval",
            "withdrawal": withdrawal,
        }));
    };
    let mut blocks = Vec::new();
    for n in batch.first_block..=batch.last_block {
        blocks.push(
            shared
                .db
                .block(n)?
                .ok_or_else(|| NodeError::Storage(format!("block {n} missing")))?,
        );
    }
    let all = crate::batcher::withdrawals_of(&blocks);
    let index = all
        .iter()
        .position(|x| x.l2_sender == w.l2_sender && x.nonce == w.nonce)
        .ok_or_else(|| NodeError::Storage("withdrawal missing from its batch".into()))?;
    let siblings = loft_stf::withdrawal_siblings(&all, index);
    let leaf = all[index].leaf();
    let claimed = loft_contracts::rollup_call(
        shared.l1.as_ref(),
        shared.rollup(),
        loft_contracts::L1Rollup::claimedCall { leaf },
    )
    .await
    .map_err(NodeError::from)?;
    let l1_time = shared.l1_head.borrow().now();
    // Past its period (by the L1 head's own time) a batch is final unless an opening request, on
    // it or an earlier batch, is open: ask L1 then.
    let head_time = shared.l1_head.borrow().timestamp;
    let held = !claimed
        && head_time >= batch.final_at
        && !loft_contracts::rollup_call(
            shared.l1.as_ref(),
            shared.rollup(),
            loft_contracts::L1Rollup::isFinalCall { index: batch.index },
        )
        .await
        .map_err(NodeError::from)?;
    let (status, detail) = if claimed {
        ("claimed", "paid out on L1".to_string())
    } else if held {
        (
            "challenge-period",
            format!(
                "batch {} is past its challenge period but an opening request on it or an earlier batch is open; claimable once it is answered",
                batch.index
            ),
        )
    } else if l1_time < batch.final_at {
        (
            "challenge-period",
            format!(
                "batch {} is in its challenge period until L1 time {} ({} s left); claimable after that",
                batch.index,
                batch.final_at,
                batch.final_at - l1_time
            ),
        )
    } else {
        (
            "claimable",
            format!(
                "batch {} is final; claim it on L1 with this proof",
                batch.index
            ),
        )
    };
    Ok(json!({
        "status": status,
        "detail": detail,
        "batch": batch.index,
        "claimableAt": batch.final_at,
        "withdrawal": withdrawal,
        "leaf": leaf,
        "index": index,
        "siblings": siblings,
        "rollup": shared.rollup(),
    }))
}

/// `loft_queueMessage`: where L1 queue message `index` stands on this node: read or not,
/// consumed in which block, what it did (its receipt), and for a forced withdrawal (or a forced
/// transaction that withdrew) the withdrawal's batch, proof and status as `loft_withdrawalStatus`
/// gives them.
async fn queue_message(shared: Arc<Shared>, index: u64) -> RpcResult<Value> {
    let Some(m) = shared.db.queue(index)? else {
        return Err(not_found(format!(
            "queue message {index} is not read from L1 yet ({} read)",
            shared.db.queue_len()?
        )));
    };
    let kind = match m.kind {
        loft_stf::KIND_DEPOSIT => "deposit",
        loft_stf::KIND_REGISTER_TOKEN => "register-token",
        loft_stf::KIND_FORCED_TX => "forced-transaction",
        loft_stf::KIND_FORCED_WITHDRAWAL => "forced-withdrawal",
        _ => "unknown",
    };
    let deadline = m.timestamp + shared.config.rollup.force_inclusion_delay_secs;
    let mut out = json!({
        "index": index,
        "kind": kind,
        "sender": m.sender,
        "head": m.head,
        "l1Transaction": m.l1_tx,
        "l1Block": m.l1_block_number,
        "queuedAt": m.timestamp,
        "deadline": deadline,
    });
    let head = shared.sequencer().head().number;
    let Some(number) = shared.db.block_of_queue(index, head)? else {
        out["status"] = json!("waiting");
        out["detail"] = json!(format!(
            "read from L1, not yet in a sealed L2 block; a batch may not skip it past L1 time {deadline}"
        ));
        return Ok(out);
    };
    let block = shared
        .db
        .block(number)?
        .ok_or_else(|| NodeError::Storage(format!("block {number} missing")))?;
    out["status"] = json!("consumed");
    out["block"] = json!(number);
    out["receipt"] = block
        .queue_receipts
        .get((index - block.queue_start) as usize)
        .map_or(Value::Null, |r| json!(r));
    out["inclusion"] = batch_status(&shared, number)?;
    if block.withdrawals.iter().any(|w| w.tx_hash == m.head) {
        out["withdrawal"] = withdrawal_in_block(shared.clone(), &block, m.head).await?;
    }
    Ok(out)
}

/// A batch index given as a JSON number, a decimal string or a `0x` hex string.
fn batch_index(v: &Value) -> RpcResult<u64> {
    index_param(v, "batch index")
}

/// A `u64` parameter given as a JSON number, a decimal string or a `0x` hex string.
fn index_param(v: &Value, what: &str) -> RpcResult<u64> {
    let parsed = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => match s.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => s.parse().ok(),
        },
        _ => None,
    };
    parsed.ok_or_else(|| invalid_params(format!("{what} {v} is not a u64")))
}

/// `loft_stepLeaves`: the step leaves this node committed in a batch it posted.
fn step_leaves(shared: &Shared, index: u64) -> RpcResult<Value> {
    let Some(record) = shared.db.leaves(index)? else {
        return Err(ErrorObjectOwned::owned(
            CODE_NOT_FOUND,
            format!(
                "no step leaves for batch {index}: this node did not post it, or L1 reverted it"
            ),
            Some(json!({ "reason": REASON_UNKNOWN_BATCH })),
        ));
    };
    if record.withheld {
        return Err(ErrorObjectOwned::owned(
            CODE_NOT_FOUND,
            format!("the step leaves of batch {index} are withheld"),
            Some(json!({ "reason": REASON_WITHHELD })),
        ));
    }
    let leaves: Vec<Value> = record
        .leaves()
        .iter()
        .map(|l| {
            json!({
                "kind": l.kind,
                "queuePos": l.queue_pos,
                "dataEnd": l.data_end,
                "wCount": l.w_count,
                "wRoot": l.w_root,
                "stateRoot": l.state_root,
            })
        })
        .collect();
    Ok(json!({
        "batch": index,
        "headerHash": record.header_hash,
        "stepsRoot": record.header.step_roots_root,
        "stepCount": record.step_count,
        "poster": record.header.poster,
        "leaves": leaves,
    }))
}

/// Builds the RPC module.
pub fn module(shared: Arc<Shared>) -> RpcModule<Arc<Shared>> {
    let mut m = RpcModule::new(shared);
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
        "loft/{}",
        env!("CARGO_PKG_VERSION")
    )));
    method!("net_version", |a, c| RpcResult::Ok(
        c.config.l2.chain_id.to_string()
    ));
    method!("net_listening", |a, _c| RpcResult::Ok(true));
    method!("eth_chainId", |a, c| RpcResult::Ok(U64::from(
        c.config.l2.chain_id
    )));
    method!("eth_blockNumber", |a, c| RpcResult::Ok(U64::from(
        c.sequencer().head().number
    )));
    method!("eth_syncing", |a, _c| RpcResult::Ok(false));
    method!("eth_accounts", |a, _c| RpcResult::Ok(Vec::<Address>::new()));
    method!("eth_gasPrice", |a, c| RpcResult::Ok(U256::from(
        c.config.l2.base_fee
    )));
    method!("eth_maxPriorityFeePerGas", |a, _c| RpcResult::Ok(
        U256::ZERO
    ));
    method!("eth_feeHistory", |a, c| {
        let count: U64 = a.next()?;
        let newest: BlockNumberOrTag = a.next()?;
        let percentiles: Option<Vec<f64>> = a.optional()?;
        fee_history(c, count.to(), newest, percentiles)
    });
    method!("eth_getBalance", |a, c| {
        let address: Address = a.next()?;
        let block: Option<BlockId> = a.optional()?;
        with_state(c, block, |s| s.account(address).map(|x| x.balance))
    });
    method!("eth_getTransactionCount", |a, c| {
        let address: Address = a.next()?;
        let block: Option<BlockId> = a.optional()?;
        with_state(c, block, |s| s.account(address).map(|x| U64::from(x.nonce)))
    });
    method!("eth_getCode", |a, c| {
        let address: Address = a.next()?;
        let block: Option<BlockId> = a.optional()?;
        let is_token = with_state(c, block, |s| s.token(address).map(|t| t.is_some()))?;
        RpcResult::Ok(if is_token || address == L2_BRIDGE {
            Bytes::from_static(&SYSTEM_CODE)
        } else {
            Bytes::new()
        })
    });
    method!("eth_getStorageAt", |a, _c| {
        let _address: Address = a.next()?;
        RpcResult::Ok(B256::ZERO)
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
        let answer = match resolve(c, block)? {
            At::Current => token_call(c.sequencer().state(), to, &data)?,
            At::Block(n) => {
                let state = c
                    .sequencer()
                    .state_at(n)?
                    .ok_or_else(|| not_found(format!("unknown block {n}")))?;
                token_call(&state, to, &data)?
            }
        };
        match answer {
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
    method!("eth_estimateGas", |a, c| {
        let request: TransactionRequest = a.next()?;
        let _block: Option<BlockId> = a.optional()?;
        let to = request.to.and_then(|k| k.to().copied());
        let data = request.input.input().cloned().unwrap_or_default();
        let value = request.value.unwrap_or_default();
        let kind = to
            .map(alloy::primitives::TxKind::Call)
            .unwrap_or(alloy::primitives::TxKind::Create);
        let call = loft_stf::Call::parse(kind, value, &data);
        let refused = |e: loft_stf::TxError| submit_error(&SubmitError::Refused(e));
        match call {
            loft_stf::Call::Unsupported(why) => {
                return Err(refused(loft_stf::TxError::UnsupportedCall(why)));
            }
            loft_stf::Call::Transfer { token, .. } => {
                if c.sequencer()
                    .state()
                    .token(token)
                    .map_err(state_error)?
                    .is_none()
                {
                    return Err(refused(loft_stf::TxError::UnsupportedCall(
                        "calldata to an address that is not an L2 token",
                    )));
                }
            }
            loft_stf::Call::Value { to, .. } => {
                if c.sequencer()
                    .state()
                    .token(to)
                    .map_err(state_error)?
                    .is_some()
                {
                    return Err(refused(loft_stf::TxError::UnsupportedCall(
                        "ETH sent to an L2 token",
                    )));
                }
            }
            loft_stf::Call::Withdraw { .. } => {}
        }
        RpcResult::Ok(U64::from(call.gas().unwrap_or_default()))
    });
    method!("eth_getTransactionByHash", |a, c| {
        let hash: B256 = a.next()?;
        if let Some(record) = c.db.tx(&hash)? {
            let block =
                c.db.block(record.block)?
                    .ok_or_else(|| NodeError::Storage("block missing".into()))?;
            return RpcResult::Ok(Some(rpc_transaction(&record, &block)?));
        }
        let seq = c.sequencer();
        RpcResult::Ok(seq.pending_tx(&hash).map(|(_, p)| RpcTransaction {
            inner: alloy::consensus::transaction::Recovered::new_unchecked(
                p.tx.envelope().clone(),
                p.tx.sender(),
            ),
            block_hash: None,
            block_number: None,
            transaction_index: None,
            effective_gas_price: Some(p.effective_gas_price),
            block_timestamp: None,
        }))
    });
    method!("eth_getTransactionReceipt", |a, c| {
        let hash: B256 = a.next()?;
        let Some(record) = c.db.tx(&hash)? else {
            return RpcResult::Ok(None);
        };
        let block =
            c.db.block(record.block)?
                .ok_or_else(|| NodeError::Storage("block missing".into()))?;
        RpcResult::Ok(Some(rpc_receipt(&record, hash, &block)?))
    });
    method!("eth_getBlockByNumber", |a, c| {
        let tag: BlockNumberOrTag = a.next()?;
        let full: Option<bool> = a.optional()?;
        let n = block_number_of(c, tag);
        match c.db.block(n)? {
            Some(b) => RpcResult::Ok(Some(rpc_block(c, &b, full.unwrap_or(false))?)),
            None => RpcResult::Ok(None),
        }
    });
    method!("eth_getBlockByHash", |a, c| {
        let hash: B256 = a.next()?;
        let full: Option<bool> = a.optional()?;
        match c.db.block_number_by_hash(&hash)? {
            Some(n) => match c.db.block(n)? {
                Some(b) => RpcResult::Ok(Some(rpc_block(c, &b, full.unwrap_or(false))?)),
                None => RpcResult::Ok(None),
            },
            None => RpcResult::Ok(None),
        }
    });
    method!("eth_getBlockTransactionCountByNumber", |a, c| {
        let tag: BlockNumberOrTag = a.next()?;
        let n = block_number_of(c, tag);
        RpcResult::Ok(c.db.block(n)?.map(|b| U64::from(b.tx_hashes.len())))
    });
    method!("eth_getLogs", |a, c| {
        let filter: Filter = a.next()?;
        logs(c, &filter)
    });

    m.register_async_method("eth_sendRawTransaction", |params, c, _| async move {
        let raw: Bytes = Args::new(&params).next()?;
        // Decoding recovers the sender: done here, outside the sequencer lock, in parallel.
        let tx = loft_stf::L2Tx::decode(&raw, c.config.l2.chain_id)
            .map_err(|e| submit_error(&SubmitError::Refused(e)))?;
        let submitted = c.sequencer().submit_decoded(tx, raw);
        match submitted {
            Ok((hash, durable)) => {
                c.request_flush();
                match durable.await {
                    Ok(Ok(())) => RpcResult::Ok(hash),
                    Ok(Err(e)) => Err(ErrorObjectOwned::owned(
                        CODE_INTERNAL,
                        format!("the transaction could not be made durable: {e}"),
                        None::<()>,
                    )),
                    Err(_) => Err(ErrorObjectOwned::owned(
                        CODE_INTERNAL,
                        "the node is shutting down",
                        None::<()>,
                    )),
                }
            }
            Err(e) => Err(submit_error(&e)),
        }
    })
    .expect("method names are unique");

    // loft_ namespace.
    method!("loft_chainConfig", |a, c| RpcResult::Ok(json!({
        "config": c.config,
        "deployment": c.deployment,
        "l2Bridge": L2_BRIDGE,
    })));
    method!("loft_transactionStatus", |a, c| {
        let hash: B256 = a.next()?;
        tx_status(c, hash)
    });
    method!("loft_blockStatus", |a, c| {
        let tag: BlockNumberOrTag = a.next()?;
        let n = block_number_of(c, tag);
        if c.db.block(n)?.is_none() {
            return Err(not_found(format!("unknown block {n}")));
        }
        let mut out = batch_status(c, n)?;
        out["block"] = json!(n);
        RpcResult::Ok(out)
    });
    method!("loft_getBatch", |a, c| {
        let index: Option<U64> = a.optional()?;
        let batch = match index {
            Some(i) => c.db.batch(i.to())?,
            None => c.db.last_batch()?,
        };
        let Some(batch) = batch else {
            return Err(not_found("no such batch"));
        };
        let l1_time = c.l1_head.borrow().now();
        let mut out = serde_json::to_value(&batch).unwrap_or_default();
        out["final"] = json!(l1_time >= batch.final_at);
        let mut transactions = 0usize;
        for b in batch.first_block..=batch.last_block {
            transactions += c.db.block(b)?.map(|x| x.tx_hashes.len()).unwrap_or(0);
        }
        out["transactions"] = json!(transactions);
        RpcResult::Ok(out)
    });
    method!("loft_stepLeaves", |a, c| {
        let index: Value = a.next()?;
        step_leaves(c, batch_index(&index)?)
    });
    method!("loft_queueStatus", |a, c| {
        let read = c.db.queue_len()?;
        let consumed = c.sequencer().next_queue();
        RpcResult::Ok(json!({
            "read": read,
            "consumed": consumed,
            "waiting": read.saturating_sub(consumed),
            "l1Block": c.db.meta(crate::db::META_QUEUE_L1_BLOCK)?,
        }))
    });
    m.register_async_method("loft_withdrawalStatus", |params, c, _| async move {
        let hash: B256 = Args::new(&params).next()?;
        withdrawal_status(c.as_ref().clone(), hash).await
    })
    .expect("method names are unique");
    m.register_async_method("loft_queueMessage", |params, c, _| async move {
        let index: Value = Args::new(&params).next()?;
        queue_message(c.as_ref().clone(), index_param(&index, "queue index")?).await
    })
    .expect("method names are unique");

    m.register_subscription(
        "eth_subscribe",
        "eth_subscription",
        "eth_unsubscribe",
        |params, pending: PendingSubscriptionSink, c, _| async move {
            let kind: String = match Args::new(&params).next() {
                Ok(k) => k,
                Err(e) => {
                    pending.reject(e).await;
                    return Ok(());
                }
            };
            if kind != "newHeads" {
                pending
                    .reject(invalid_params(format!(
                        "subscription `{kind}` is not supported (supported: newHeads)"
                    )))
                    .await;
                return Ok(());
            }
            let sink = pending.accept().await?;
            let mut heads = c.heads.clone();
            let mut last = *heads.borrow_and_update();
            while heads.changed().await.is_ok() {
                let head = *heads.borrow_and_update();
                for n in last + 1..=head {
                    let Some(block) = c.db.block(n)? else {
                        continue;
                    };
                    let header = alloy::rpc::types::Header {
                        hash: block.hash,
                        inner: block.header.clone(),
                        total_difficulty: Some(U256::ZERO),
                        size: None,
                    };
                    let msg = SubscriptionMessage::new(
                        sink.method_name(),
                        sink.subscription_id(),
                        &header,
                    )?;
                    if sink.send(msg).await.is_err() {
                        return Ok(());
                    }
                }
                last = head;
            }
            Ok(())
        },
    )
    .expect("subscription names are unique");
    m
}

/// Serves the L2 JSON-RPC on `addr`.
pub async fn serve(
    shared: Arc<Shared>,
    addr: SocketAddr,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let config = ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .set_batch_request_config(BatchRequestConfig::Limit(MAX_BATCH))
        .build();
    let server = Server::builder().set_config(config).build(addr).await?;
    let local = server.local_addr()?;
    Ok((local, server.start(module(shared))))
}
