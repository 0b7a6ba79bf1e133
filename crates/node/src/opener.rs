//! The opening answerer (`docs/fraud-proofs.md` §5.4): watches the rollup's `OpeningRequested`
//! events and, for a request on a batch this node posted (same header hash), sends
//! `openStep(header, i, leaf, proof)` with the leaf it committed and its path, before the
//! request's deadline. A batch whose leaves are withheld (`--fault withhold`) is not answered.
//!
//! L1 is read in order from the deployment block; the block up to which requests were handled is
//! kept in the database, so a restart answers what is still open and nothing twice.

use std::sync::Arc;
use std::time::Duration;

use alloy::network::TransactionBuilder;
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolEvent, SolInterface};
use loft_contracts::{L1Rollup, rollup_call};
use loft_l1::{Filter, L1Client, L1Error};

use crate::db::META_OPENER_L1_BLOCK;
use crate::{NodeError, Shared};

/// How often L1 is polled.
const POLL: Duration = Duration::from_millis(500);
/// Most L1 blocks read per `eth_getLogs` request.
const MAX_RANGE: u64 = 2_000;
/// `L1Rollup.REQUEST_OPEN`.
const REQUEST_OPEN: u8 = 1;

/// What became of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `openStep` landed.
    Opened,
    /// Not a batch this node posted (or one L1 reverted since).
    NotOurs,
    /// Answered already, settled, or past its deadline.
    Closed,
    /// The batch's leaves are withheld on purpose (`--fault withhold`).
    Withheld,
    /// The step is a zero leaf of the committed tree (`--fault step-count`): nothing opens to it.
    NoLeaf,
}

/// Runs until aborted; L1 errors are logged and retried at the next poll.
pub(crate) async fn run(shared: Arc<Shared>) {
    loop {
        if let Err(e) = poll(&shared).await {
            tracing::warn!(target: "loft::opener", error = %e, "handling opening requests failed; retrying");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Handles the requests of the next range of L1 blocks; returns how many were answered.
pub async fn poll(shared: &Shared) -> Result<usize, NodeError> {
    let l1 = shared.l1.as_ref();
    let latest = l1.block_number().await?;
    let from = match shared.db.meta(META_OPENER_L1_BLOCK)? {
        Some(done) => done + 1,
        None => shared.deployment.bridge_block,
    };
    if from > latest {
        return Ok(0);
    }
    let to = latest.min(from + MAX_RANGE - 1);
    let filter = Filter::new()
        .address(shared.rollup())
        .event_signature(L1Rollup::OpeningRequested::SIGNATURE_HASH)
        .from_block(from)
        .to_block(to);
    let mut opened = 0;
    for log in l1.logs(&filter).await? {
        let event = L1Rollup::OpeningRequested::decode_log(&log.inner)
            .map_err(|e| NodeError::Storage(format!("malformed OpeningRequested log: {e}")))?;
        if answer(shared, &event.data).await? == Answer::Opened {
            opened += 1;
        }
    }
    shared.db.set_meta(META_OPENER_L1_BLOCK, to)?;
    Ok(opened)
}

/// Answers one request if it is on a batch this node posted and still open. Transient L1 errors
/// are returned (the request is retried); a refused `openStep` is logged and dropped.
pub async fn answer(
    shared: &Shared,
    request: &L1Rollup::OpeningRequested,
) -> Result<Answer, NodeError> {
    let (index, step) = (request.batchIndex, request.step);
    let Some(record) = shared.db.leaves(index)? else {
        tracing::debug!(target: "loft::opener", batch = index, step, "opening request on a batch this node did not post");
        return Ok(Answer::NotOurs);
    };
    if record.header_hash != request.headerHash {
        tracing::debug!(target: "loft::opener", batch = index, step, "opening request on another header than the one this node posted");
        return Ok(Answer::NotOurs);
    }
    if record.withheld {
        tracing::warn!(target: "loft::opener", batch = index, step, requester = %request.requester, deadline = request.deadline, "NOT answering an opening request: this batch's leaves are withheld on purpose (--fault withhold)");
        return Ok(Answer::Withheld);
    }
    let l1 = shared.l1.as_ref();
    let open = rollup_call(
        l1,
        shared.rollup(),
        L1Rollup::openingRequestCall {
            headerHash: request.headerHash,
            step,
        },
    )
    .await?;
    if open.status != REQUEST_OPEN {
        return Ok(Answer::Closed);
    }
    let Some((leaf, proof)) = record.opening(step) else {
        tracing::warn!(target: "loft::opener", batch = index, step, "cannot answer an opening request: leaf {step} is zero in the committed tree");
        return Ok(Answer::NoLeaf);
    };
    let call = L1Rollup::openStepCall {
        h: record.header.into(),
        i: step,
        leaf: leaf.into(),
        proof,
    };
    // The key that posted the batch answers (anyone may; the request bond goes to the poster).
    let client: &dyn L1Client = match &shared.backup_poster {
        Some(b) if b.sender() == record.header.poster => b.as_ref(),
        _ => l1,
    };
    let sent = loft_l1::send_and_confirm(
        client,
        TransactionRequest::default()
            .with_to(shared.rollup())
            .with_input(call.abi_encode()),
    )
    .await;
    match sent {
        Ok(receipt) => {
            tracing::info!(target: "loft::opener", batch = index, step, requester = %request.requester, l1_tx = %receipt.transaction_hash, gas = receipt.gas_used, "answered an opening request with the committed leaf");
            Ok(Answer::Opened)
        }
        Err(e @ L1Error::Reverted { .. }) => {
            let reason = match &e {
                L1Error::Reverted { data, .. } => L1Rollup::L1RollupErrors::abi_decode(data)
                    .map(|err| format!("{err:?}"))
                    .unwrap_or_else(|_| e.to_string()),
                _ => e.to_string(),
            };
            tracing::warn!(target: "loft::opener", batch = index, step, %reason, "openStep was refused");
            Ok(Answer::Closed)
        }
        Err(e) => Err(e.into()),
    }
}
