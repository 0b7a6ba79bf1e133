//! The zk node's JSON-RPC (`loft_zk*`; README "zk JSON-RPC").
//!
//! - `loft_zkSendOp(bytes)`: a signed operation in its wire encoding (`docs/zk-rollup.md` §3.4);
//!   answers `{batch, slot, general}` once the operation is journaled durably.
//! - `loft_zkAccount(index)`: `{index, registered, publicKey, balance, nonce}` in the sequenced
//!   state (the prover role: the state L1 verified). `balance` is a decimal string of wei.
//! - `loft_zkStatus()`: the role, the batch shape, the rollup's address, the state root and the
//!   counts of sealed, proved and verified batches.
//!
//! A refused operation's error code is `-38100 - code` with [`SubmitError::code`]'s stable code
//! (1-9 the state transition's, 20-24 malformed bytes, 30 reserved, 31 not a sequencer) and
//! `data: {"code": code}`; it changes nothing.

use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use alloy::primitives::{Address, B256, Bytes, U256};
use jsonrpsee::server::{BatchRequestConfig, RpcModule, Server, ServerConfig, ServerHandle};
use jsonrpsee::types::ErrorObjectOwned;
use loft_zk::AccountTree;
use serde::Serialize;
use serde_json::json;

use crate::poster::Posted;
use crate::sequencer::{Accepted, SubmitError};
use crate::{Shared, root_word};

/// The largest request body (bytes): a signed operation is under 150 bytes.
pub const MAX_REQUEST_BYTES: u32 = 64 * 1024;
/// The most calls in one JSON-RPC batch.
pub const MAX_BATCH: u32 = 100;
/// Base of refusal codes: an operation refused with code `c` answers `-38100 - c`.
pub const CODE_BASE: i32 = -38100;

/// One account as the RPC shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountInfo {
    /// Index.
    pub index: u32,
    /// Whether it holds a key.
    pub registered: bool,
    /// The compressed key (`docs/zk-rollup.md` §1.2), when registered.
    pub public_key: Option<B256>,
    /// Wei, as a decimal string.
    pub balance: String,
    /// Nonce.
    pub nonce: u32,
}

/// The node's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusInfo {
    /// `sequencer` or `prover`.
    pub role: &'static str,
    /// L2 chain id (signed into every operation).
    pub chain_id: u64,
    /// The `ZkRollup` contract.
    pub rollup: Address,
    /// Tree depth.
    pub tree_depth: u8,
    /// Transfer slots per batch.
    pub batch_transfers: usize,
    /// General slots per batch.
    pub batch_general: usize,
    /// The root of the node's state (sequenced, open batch included).
    pub state_root: U256,
    /// Batches sealed (the open batch's index).
    pub sealed_batches: u64,
    /// Operations and queue messages in the open batch.
    pub open_ops: usize,
    /// Batches proved.
    pub proved_batches: u64,
    /// Batches verified on L1.
    pub verified_batches: u64,
    /// Next queue message to take.
    pub queue_next: u64,
    /// The last batch this node posted.
    pub last_post: Option<Posted>,
}

/// What the RPC serves, for each role.
pub trait ZkView: Send + Sync + Debug + 'static {
    /// Takes a signed operation.
    fn submit(&self, raw: &[u8]) -> Result<Accepted, SubmitError>;
    /// An account, or `None` beyond the tree.
    fn account(&self, index: u32) -> Option<AccountInfo>;
    /// The status.
    fn status(&self) -> StatusInfo;
}

/// An account of `tree` as the RPC shows it.
pub fn account_info(tree: &AccountTree, index: u32) -> Option<AccountInfo> {
    if u64::from(index) >= tree.capacity() {
        return None;
    }
    let a = tree.account(index);
    let registered = a.registered();
    let public_key = registered.then(|| {
        B256::from(
            loft_zk::PublicKey(ark_ed_on_bn254::EdwardsAffine::new_unchecked(a.ax, a.ay))
                .compress(),
        )
    });
    Some(AccountInfo {
        index,
        registered,
        public_key,
        balance: a.balance.to_string(),
        nonce: a.nonce,
    })
}

/// The sequencer role's view.
#[derive(Debug)]
pub struct SequencerView(pub Arc<Shared>);

impl ZkView for SequencerView {
    fn submit(&self, raw: &[u8]) -> Result<Accepted, SubmitError> {
        let (accepted, sealed) = self.0.sequencer().submit(raw)?;
        self.0.prove(sealed);
        Ok(accepted)
    }

    fn account(&self, index: u32) -> Option<AccountInfo> {
        account_info(self.0.sequencer().tree(), index)
    }

    fn status(&self) -> StatusInfo {
        let c = &self.0.config;
        let seq = self.0.sequencer();
        let p = &self.0.progress;
        StatusInfo {
            role: "sequencer",
            chain_id: c.params.chain_id,
            rollup: c.rollup,
            tree_depth: c.params.tree_depth,
            batch_transfers: c.params.batch_transfers,
            batch_general: c.params.batch_general,
            state_root: root_word(seq.tree().root()),
            sealed_batches: seq.sealed(),
            open_ops: seq.open_ops(),
            proved_batches: p.proved.load(Ordering::SeqCst),
            verified_batches: p.verified(),
            queue_next: seq.next_queue(),
            last_post: *p.last_post.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }
}

/// The JSON-RPC error of a refused operation.
pub fn submit_error(e: &SubmitError) -> ErrorObjectOwned {
    match e {
        SubmitError::Node(n) => ErrorObjectOwned::owned(-32603, n.to_string(), None::<()>),
        other => ErrorObjectOwned::owned(
            CODE_BASE - other.code(),
            other.to_string(),
            Some(json!({ "code": other.code() })),
        ),
    }
}

fn invalid_params(msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32602, msg.into(), None::<()>)
}

/// Builds the RPC module.
pub fn module(view: Arc<dyn ZkView>) -> RpcModule<Arc<dyn ZkView>> {
    let mut m = RpcModule::new(view);
    m.register_method("loft_zkSendOp", |params, v, _| {
        let (raw,): (Bytes,) = params
            .parse()
            .map_err(|e| invalid_params(format!("expected [hex bytes]: {e}")))?;
        v.submit(&raw).map_err(|e| submit_error(&e))
    })
    .expect("method names are unique");
    m.register_method("loft_zkAccount", |params, v, _| {
        let (index,): (u32,) = params
            .parse()
            .map_err(|e| invalid_params(format!("expected [account index]: {e}")))?;
        v.account(index)
            .ok_or_else(|| invalid_params(format!("account {index} is beyond the tree")))
    })
    .expect("method names are unique");
    m.register_method("loft_zkStatus", |_, v, _| {
        Ok::<_, ErrorObjectOwned>(v.status())
    })
    .expect("method names are unique");
    m
}

/// Serves the zk JSON-RPC on `addr`.
pub async fn serve(
    view: Arc<dyn ZkView>,
    addr: SocketAddr,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let config = ServerConfig::builder()
        .max_request_body_size(MAX_REQUEST_BYTES)
        .set_batch_request_config(BatchRequestConfig::Limit(MAX_BATCH))
        .build();
    let server = Server::builder().set_config(config).build(addr).await?;
    let local = server.local_addr()?;
    Ok((local, server.start(module(view))))
}
