//! This node in the operator set (`docs/liveness.md` §2-§3): it registers its keys as operators,
//! asks L1 which operator is active, sequences only while one of its keys is, kicks an operator
//! that fails the liveness rule, and otherwise follows L1 by importing the blocks the active
//! operator posts, so it can take over from the last batch on L1 the moment L1 names it.

use std::sync::Arc;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use loft_contracts::{L1Rollup, rollup_call};
use loft_l1::L1Client;
use loft_stf::{DataStep, L2Tx, QueueInput};

use crate::{NodeError, Shared};

/// A block read from batch data: timestamp, queue end, transactions with their bytes.
type ImportedBlock = (u64, u64, Vec<(L2Tx, Bytes)>);

/// This node's signing clients: the node's own key first, then the backup poster's.
fn clients(shared: &Shared) -> Vec<Arc<dyn L1Client>> {
    std::iter::once(shared.l1.clone())
        .chain(shared.backup_poster.clone())
        .collect()
}

/// Registers `client`'s account as an operator bidding this node's L2 base fee, with the bond
/// the rollup asks for, unless it is in the set already or barred.
async fn ensure_registered(shared: &Shared, client: &dyn L1Client) -> Result<(), NodeError> {
    let rollup = shared.rollup();
    let me = client.sender();
    let op = rollup_call(client, rollup, L1Rollup::operatorOfCall { account: me }).await?;
    if op.inSet || rollup_call(client, rollup, L1Rollup::barredCall { poster: me }).await? {
        return Ok(());
    }
    let required = rollup_call(client, rollup, L1Rollup::bondWeiCall {}).await?;
    let bond = rollup_call(client, rollup, L1Rollup::bondOfCall { poster: me }).await?;
    let value = required.saturating_sub(bond);
    let bid = U256::from(shared.config.l2.base_fee);
    let receipt = loft_l1::send_and_confirm(
        client,
        TransactionRequest::default()
            .with_to(rollup)
            .with_value(value)
            .with_input(L1Rollup::registerOperatorCall { bid }.abi_encode()),
    )
    .await?;
    tracing::info!(target: "loft::operator", operator = %me, %bid, bond_wei = %value, l1_tx = %receipt.transaction_hash, "registered as an operator");
    Ok(())
}

/// Reads the operator set from L1 and acts on it: registers this node's keys, kicks a failing
/// active operator, turns sequencing on or off, and (while another operator is active) imports
/// its posted blocks. Returns the client that may post now, if one of this node's keys is active.
pub async fn refresh(shared: &Shared) -> Result<Option<Arc<dyn L1Client>>, NodeError> {
    let rollup = shared.rollup();
    let l1 = shared.l1.as_ref();
    let ours = clients(shared);
    for client in &ours {
        if client.sender() != shared.deployment.sequencer || shared.standby {
            ensure_registered(shared, client.as_ref()).await?;
        }
    }
    let mut active = rollup_call(l1, rollup, L1Rollup::activeOperatorCall {})
        .await?
        .operator;
    let is_ours = |a: Address| ours.iter().any(|c| c.sender() == a);
    if !is_ours(active) && !active.is_zero() {
        let kickable = rollup_call(l1, rollup, L1Rollup::kickableAtCall {}).await?;
        let now = shared.l1_head.borrow().now();
        if kickable <= now {
            let kicker = ours[0].clone();
            match loft_l1::send_and_confirm(
                kicker.as_ref(),
                TransactionRequest::default()
                    .with_to(rollup)
                    .with_input(L1Rollup::kickCall {}.abi_encode()),
            )
            .await
            {
                Ok(r) => {
                    tracing::warn!(target: "loft::operator", kicked = %active, l1_tx = %r.transaction_hash, gas = r.gas_used, "kicked the active operator: it failed the liveness rule (no batch while the queue waits)");
                    active = rollup_call(l1, rollup, L1Rollup::activeOperatorCall {})
                        .await?
                        .operator;
                }
                // Someone else kicked first, or the operator posted in time.
                Err(e) => {
                    tracing::debug!(target: "loft::operator", error = %e, "kick refused")
                }
            }
        }
    }
    let poster = ours.iter().find(|c| c.sender() == active).cloned();
    // Before sequencing (and always while another operator is active), catch up with L1: a
    // new operator continues from the last batch on L1.
    if poster.is_none() || !shared.sequencer().sequencing() {
        import_from_l1(shared).await?;
    }
    let changed = {
        let mut seq = shared.sequencer();
        let was = seq.sequencing();
        seq.set_sequencing(poster.is_some(), (!active.is_zero()).then_some(active));
        was != poster.is_some()
    };
    if changed
        || shared
            .note_poster(poster.as_ref().map(|c| c.sender()))
            .is_none()
    {
        match &poster {
            Some(c) => {
                tracing::info!(target: "loft::operator", operator = %c.sender(), "L1 names this node's key the active operator: sequencing and posting")
            }
            None => {
                tracing::warn!(target: "loft::operator", active = %active, "another operator is active on L1: not sequencing; following its batches")
            }
        }
    }
    Ok(poster)
}

/// Imports the L2 blocks of live batches on L1 beyond this node's head, each batch checked by
/// replaying it first ([`loft_derive::derive_batch`]): this node never builds on a batch that
/// is wrong. Returns the number of blocks imported.
pub async fn import_from_l1(shared: &Shared) -> Result<u64, NodeError> {
    let l1 = shared.l1.as_ref();
    let rollup = shared.rollup();
    let tip = rollup_call(l1, rollup, L1Rollup::lastBatchCall {}).await?;
    let head = shared.sequencer().head().number;
    if tip.lastBlock <= head || tip.batchCount == 0 {
        return Ok(0);
    }
    let latest = l1.block_number().await?;
    let batches =
        loft_contracts::read_batches(l1, rollup, shared.deployment.bridge_block, latest).await?;
    let params = crate::chain_params(&shared.config);
    let mut imported = 0;
    // Only batches past this node's head matter: the first is the one holding block head + 1.
    let first = batches
        .iter()
        .filter(|b| b.header.index < tip.batchCount && b.header.last_block > head)
        .map(|b| b.header.index)
        .min()
        .unwrap_or(tip.batchCount);
    for index in first..tip.batchCount {
        let b = crate::batcher::live_submission(l1, rollup, &batches, index).await?;
        let h = b.header;
        let head = shared.sequencer().head().clone();
        if h.last_block <= head.number {
            continue;
        }
        if h.first_block != head.number + 1 || h.prev_state_root != head.header.state_root {
            return Err(NodeError::Storage(format!(
                "L1 batch {index} (blocks {}..={}) does not extend this node's head (block {}, root {}): this node sequenced blocks L1 does not hold; start it on a fresh data directory to follow L1",
                h.first_block, h.last_block, head.number, head.header.state_root
            )));
        }
        if shared.db.queue_len()? < h.queue_end {
            return Ok(imported); // the follower has not read the queue that far yet
        }
        let data = b.data(l1).await?;
        // Check the whole batch on a scratch state before sealing any of its blocks.
        let lookup = |i: u64| {
            shared.db.queue(i).ok().flatten().map(|m| QueueInput {
                index: m.index,
                kind: m.kind,
                sender: m.sender,
                payload: m.payload,
            })
        };
        let mut scratch = shared.sequencer().state().clone();
        match loft_derive::derive_batch(&mut scratch, &params, &h, &data, &lookup)? {
            Ok(_) => {}
            Err(fault) => {
                return Err(NodeError::Storage(format!(
                    "L1 batch {index} is wrong ({fault}): not building on it; a challenger must prove it"
                )));
            }
        }
        let steps = loft_stf::decode_batch_v1(&data, params.chain_id)
            .map_err(|e| NodeError::Storage(format!("batch {index} data: {e}")))?;
        let mut blocks: Vec<ImportedBlock> = Vec::new();
        let mut queue_end = h.queue_start;
        for step in steps {
            match step {
                DataStep::Block { timestamp } => blocks.push((timestamp, queue_end, Vec::new())),
                DataStep::Queue => {
                    queue_end += 1;
                    if let Some(b) = blocks.last_mut() {
                        b.1 = queue_end;
                    }
                }
                step_tx @ (DataStep::Tx(_) | DataStep::Compact(_)) => {
                    let envelope = match step_tx {
                        DataStep::Tx(envelope) => envelope,
                        // Index leaves never change once written and every index resolved at
                        // its step (the batch derived): the state after the batch resolves
                        // them the same way.
                        DataStep::Compact(c) => {
                            c.resolve(&scratch, params.chain_id).map_err(|e| {
                                NodeError::Storage(format!(
                                    "batch {index}: transaction refused: {e}"
                                ))
                            })?
                        }
                        _ => unreachable!("matched above"),
                    };
                    let raw: Bytes =
                        alloy::eips::eip2718::Encodable2718::encoded_2718(&envelope).into();
                    let tx = L2Tx::from_envelope(envelope, params.chain_id).map_err(|e| {
                        NodeError::Storage(format!("batch {index}: transaction refused: {e}"))
                    })?;
                    if let Some(b) = blocks.last_mut() {
                        b.2.push((tx, raw));
                    }
                }
            }
        }
        for (timestamp, queue_end, txs) in blocks {
            let shared_seq = &mut shared.sequencer();
            shared_seq.import_block(timestamp, queue_end, txs)?;
            imported += 1;
        }
        let root = shared.sequencer().head().header.state_root;
        if root != h.state_root {
            return Err(NodeError::Storage(format!(
                "imported batch {index} ends at state root {root}, L1 claims {}",
                h.state_root
            )));
        }
        tracing::info!(target: "loft::operator", batch = index, blocks = %format!("{}..={}", h.first_block, h.last_block), poster = %h.poster, "imported a batch another operator posted");
    }
    Ok(imported)
}
