//! The poster: submits proved batches to `ZkRollup.submitBatch` in order. A batch L1 already has
//! (a restart after posting) is skipped; a failed submission is retried with a growing pause,
//! since nothing after it can be posted.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use loft_contracts::ZkRollup;
use loft_l1::{L1Client, send_and_confirm};

use crate::prover::Proved;
use crate::{Progress, ZkNodeError, l1_head};

/// A batch verified on L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Posted {
    /// Batch index.
    pub index: u64,
    /// The `submitBatch` transaction.
    pub tx: B256,
    /// Its gas.
    pub gas_used: u64,
}

/// Sends `submitBatch` for a proved batch as it is, without checking L1 first.
pub async fn send(
    l1: &dyn L1Client,
    rollup: Address,
    p: &Proved,
) -> Result<alloy::rpc::types::TransactionReceipt, loft_l1::L1Error> {
    let call = ZkRollup::submitBatchCall {
        newRoot: p.new_root,
        pubdata: p.pubdata.clone(),
        proof: p.proof,
    };
    send_and_confirm(
        l1,
        TransactionRequest::default()
            .to(rollup)
            .input(call.abi_encode().into()),
    )
    .await
}

/// Submits one proved batch; `Ok(None)` when L1 already has it.
pub async fn submit(
    l1: &dyn L1Client,
    rollup: Address,
    p: &Proved,
) -> Result<Option<Posted>, ZkNodeError> {
    let (_, count) = l1_head(l1, rollup).await?;
    if count > p.index {
        return Ok(None);
    }
    if count < p.index {
        return Err(ZkNodeError::Invalid(format!(
            "batch {} is next to post but L1 has only {count}",
            p.index
        )));
    }
    let receipt = send(l1, rollup, p).await?;
    Ok(Some(Posted {
        index: p.index,
        tx: receipt.transaction_hash,
        gas_used: receipt.gas_used,
    }))
}

/// Posts proofs as they come, in order.
pub async fn run(
    l1: Arc<dyn L1Client>,
    rollup: Address,
    mut proofs: tokio::sync::mpsc::UnboundedReceiver<Proved>,
    progress: Arc<Progress>,
) {
    while let Some(p) = proofs.recv().await {
        let mut pause = Duration::from_millis(500);
        loop {
            match submit(l1.as_ref(), rollup, &p).await {
                Ok(posted) => {
                    if let Some(posted) = posted {
                        tracing::info!(
                            target: "loft::zk",
                            batch = p.index,
                            tx = %posted.tx,
                            gas = posted.gas_used,
                            "batch verified on L1"
                        );
                        *progress.last_post.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(posted);
                    }
                    progress.verified.fetch_max(p.index + 1, Ordering::SeqCst);
                    break;
                }
                Err(e) => {
                    tracing::warn!(
                        target: "loft::zk",
                        batch = p.index,
                        error = %e,
                        retry_in_ms = pause.as_millis() as u64,
                        "posting the batch failed"
                    );
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}
