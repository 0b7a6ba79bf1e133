//! Follows the L1->L2 queue: reads `MessageQueued` events of the bridge once they have the
//! configured confirmations, checks each against the queue's hash chain, and stores them for the
//! sequencer, which consumes them in order at the start of its next block.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::B256;
use loft_contracts::read_queue;

use crate::db::QueueRecord;
use crate::{NodeError, Shared};

/// How often L1 is polled.
const POLL: Duration = Duration::from_millis(250);
/// Most L1 blocks read per `eth_getLogs` request.
const MAX_RANGE: u64 = 2_000;

/// Runs until aborted; L1 errors are logged and retried at the next poll.
pub(crate) async fn run(shared: Arc<Shared>) {
    loop {
        match poll(&shared).await {
            Ok(0) => tokio::time::sleep(POLL).await,
            Ok(n) => {
                tracing::info!(target: "loft::follower", messages = n, "queue messages read from L1")
            }
            Err(e) => {
                tracing::warn!(target: "loft::follower", error = %e, "reading the L1 queue failed; retrying");
                tokio::time::sleep(POLL).await;
            }
        }
    }
}

/// One poll: returns the number of new messages stored.
async fn poll(shared: &Shared) -> Result<usize, NodeError> {
    let l1 = shared.l1.as_ref();
    let latest = l1.block_number().await?;
    if latest != shared.l1_head.borrow().number
        && let Some(block) = l1.block(loft_l1::BlockNumberOrTag::Number(latest)).await?
    {
        shared.l1_head.send_replace(crate::L1Head {
            number: latest,
            timestamp: block.timestamp,
        });
    }
    let confirmed = latest.saturating_sub(shared.config.l1.confirmations.saturating_sub(1));
    let from = match shared.db.meta(crate::db::META_QUEUE_L1_BLOCK)? {
        Some(done) => done + 1,
        None => shared.deployment.bridge_block,
    };
    if from > confirmed {
        return Ok(0);
    }
    let to = confirmed.min(from + MAX_RANGE - 1);
    let messages = read_queue(l1, shared.deployment.bridge, from, to).await?;
    let mut next = shared.db.queue_len()?;
    let mut previous = match next {
        0 => B256::ZERO,
        n => {
            shared
                .db
                .queue(n - 1)?
                .ok_or_else(|| NodeError::Storage(format!("queue message {} missing", n - 1)))?
                .head
        }
    };
    let mut records = Vec::new();
    for m in messages {
        if m.index < next {
            continue; // already stored (a restart re-read the range)
        }
        if m.index != next {
            return Err(NodeError::Storage(format!(
                "queue message {} follows {}: a message is missing from the L1 logs",
                m.index, next
            )));
        }
        if m.chain_head(previous) != m.head {
            return Err(NodeError::Storage(format!(
                "queue message {} does not extend the queue's hash chain",
                m.index
            )));
        }
        previous = m.head;
        next += 1;
        records.push(QueueRecord {
            index: m.index,
            kind: m.kind,
            sender: m.sender,
            head: m.head,
            l1_block_number: m.l1_block_number,
            timestamp: m.timestamp,
            payload: m.payload,
            l1_tx: None,
        });
    }
    shared.db.store_queue(&records, to)?;
    Ok(records.len())
}
