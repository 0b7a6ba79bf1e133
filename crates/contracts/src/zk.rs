//! The ZK rollup profile's L1 contracts (`docs/zk-rollup.md` §5, §7): `ZkRollup` and the deployable
//! `Groth16Verifier` (any verifying key with one public input, given to its constructor as 18
//! words), their deployment with [`deploy_zk`], and what a node reads back from L1: the queue
//! ([`zk_messages`]) and the verified batches with their public data ([`zk_verified_batches`]).

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolConstructor, SolEvent};
use loft_l1::{L1Client, L1Error, Log};
use serde::{Deserialize, Serialize};

use super::{ContractsError, create, event_logs, parsed_events, rollup_call};

#[allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]
mod bindings {
    alloy::sol!(
        #[derive(Debug, PartialEq, Eq)]
        ZkRollup,
        "../../contracts/artifacts/ZkRollup.json"
    );
    alloy::sol!(
        #[derive(Debug, PartialEq, Eq)]
        Groth16Verifier,
        "../../contracts/artifacts/Groth16Verifier.json"
    );
}

pub use bindings::{Groth16Verifier, ZkRollup};

/// What [`deploy_zk`] deploys: the verifier's key and `ZkRollup`'s constructor arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZkDeployOptions {
    /// The Groth16 verifying key of the batch circuit for these parameters, as `Groth16Verifier`'s
    /// constructor words (`loft_zk_prover::solidity::verifier_constructor_words`): every word below
    /// the base field order `q`, and alpha, IC0 and IC1 on the curve, or the constructor reverts.
    pub verifying_key: [U256; 18],
    /// The state root at deployment (below the scalar field order `r`).
    pub genesis_root: U256,
    /// `D`, the account tree's depth: even, 8 ..= 24.
    pub tree_depth: u8,
    /// `N`, transfer slots per batch.
    pub batch_transfers: u32,
    /// `M`, general slots per batch; not zero.
    pub batch_general: u32,
    /// The L2 chain id (signed over by L2 users).
    pub chain_id: u64,
    /// The operator: the only submitter while no queue message is overdue, owner of account 0;
    /// not zero.
    pub operator: Address,
    /// Seconds a queue message may wait before anyone may submit; not zero.
    pub force_inclusion_delay_secs: u64,
}

/// Where [`deploy_zk`] put the contracts.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ZkDeployment {
    /// The `Groth16Verifier`.
    pub verifier: Address,
    /// The `ZkRollup`, which asks `verifier` about every batch.
    pub rollup: Address,
    /// The L1 block of the rollup's deployment: its queue and batches start there.
    pub deploy_block: u64,
}

/// `ZkRollup`'s creation code (bytecode and constructor arguments) for `opts`, naming `verifier`.
pub fn zk_rollup_creation_code(opts: &ZkDeployOptions, verifier: Address) -> Bytes {
    let args = ZkRollup::constructorCall {
        verifier_: verifier,
        genesisRoot_: opts.genesis_root,
        treeDepth_: opts.tree_depth,
        batchTransfers_: opts.batch_transfers,
        batchGeneral_: opts.batch_general,
        chainId_: opts.chain_id,
        operator_: opts.operator,
        forceInclusionDelay_: opts.force_inclusion_delay_secs,
    };
    [ZkRollup::BYTECODE.as_ref(), &args.abi_encode()]
        .concat()
        .into()
}

/// Deploys a `Groth16Verifier` for `opts.verifying_key`, then a `ZkRollup` that uses it, with the
/// client's key, from the committed artifacts (no compiler involved). Checks first that the key can
/// pay for both (so an unfunded key deploys nothing) and returns only when both have code and the
/// rollup names the verifier. A constructor that refuses its arguments is reported as
/// [`ContractsError::L1`] (the gas estimate reverts) before anything is sent.
pub async fn deploy_zk(
    l1: &dyn L1Client,
    opts: &ZkDeployOptions,
) -> Result<ZkDeployment, ContractsError> {
    let deployer = l1.sender();
    let nonce = l1.nonce(deployer).await?;
    // The verifier goes first, at the deployer's next nonce; the rollup names it.
    let expected_verifier = deployer.create(nonce);
    let verifier_code: Bytes = [
        Groth16Verifier::BYTECODE.as_ref(),
        &Groth16Verifier::constructorCall {
            vk: opts.verifying_key,
        }
        .abi_encode(),
    ]
    .concat()
    .into();
    let rollup_code = |verifier: Address| zk_rollup_creation_code(opts, verifier);

    // Budget: both creations' gas estimates at twice the current base fee plus a 1 gwei tip (the
    // rollup's constructor does not look at the verifier's code, so it estimates before it exists).
    let balance = l1.balance(deployer).await?;
    let base_fee = l1
        .block(loft_l1::BlockNumberOrTag::Latest)
        .await?
        .and_then(|b| b.base_fee_per_gas)
        .unwrap_or(1_000_000_000);
    let mut gas = 0u64;
    for code in [verifier_code.clone(), rollup_code(expected_verifier)] {
        let request = TransactionRequest::default()
            .from(deployer)
            .into_create()
            .input(code.into());
        gas += match l1.estimate_gas(request).await {
            Ok(g) => g,
            // Nodes refuse to estimate for an account that cannot pay; that is our answer too.
            Err(L1Error::InsufficientFunds { .. }) => 6_000_000,
            Err(e) => return Err(e.into()),
        };
    }
    let needed = U256::from(gas) * U256::from(2 * base_fee as u128 + 1_000_000_000);
    if balance < needed {
        return Err(ContractsError::Unfunded {
            account: deployer,
            balance,
            needed,
        });
    }

    let (verifier, _) = create(l1, "Groth16Verifier", verifier_code, U256::ZERO).await?;
    let (rollup, deploy_block) = create(l1, "ZkRollup", rollup_code(verifier), U256::ZERO).await?;
    let named = rollup_call(l1, rollup, ZkRollup::verifierCall {}).await?;
    if named != verifier {
        return Err(ContractsError::DeployFailed {
            contract: "ZkRollup",
            tx: B256::ZERO,
            reason: format!("the rollup at {rollup} names verifier {named}, not {verifier}"),
        });
    }
    Ok(ZkDeployment {
        verifier,
        rollup,
        deploy_block,
    })
}

/// One message of `ZkRollup`'s L1 -> L2 queue, as `MessageQueued` emits it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZkQueueMessage {
    /// Its 0-based queue index.
    pub index: u64,
    /// `ZkRollup.KIND_DEPOSIT` (1), `KIND_SET_KEY` (2) or `KIND_FORCED_EXIT` (3).
    pub kind: u8,
    /// The L2 account it is for.
    pub account: u32,
    /// The deposit's amount in wei (0 for the other kinds).
    pub amount: u128,
    /// The compressed key of a set key (zero for the other kinds), as a big-endian word.
    pub data: B256,
    /// The L1 timestamp it was queued at (its deadline is this plus the force-inclusion delay).
    pub timestamp: u64,
    /// The L1 block that queued it.
    pub block_number: u64,
}

impl ZkQueueMessage {
    /// Decodes a `ZkRollup.MessageQueued` log.
    pub fn from_log(log: &Log) -> Result<Self, ContractsError> {
        let malformed = |reason: String| ContractsError::MalformedLog {
            event: "MessageQueued",
            tx: log.transaction_hash,
            reason,
        };
        // `decode_log` wraps the event in a `Log`, whose own `data` field is the event.
        let event = ZkRollup::MessageQueued::decode_log(&log.inner)
            .map_err(|e| malformed(e.to_string()))?
            .data;
        Ok(Self {
            index: event
                .index
                .try_into()
                .map_err(|_| malformed("index exceeds 64 bits".into()))?,
            kind: event.kind,
            account: event.account,
            amount: event.amount,
            data: B256::from(event.data),
            timestamp: event.timestamp,
            block_number: log
                .block_number
                .ok_or_else(|| malformed("a log without its block number".into()))?,
        })
    }
}

/// Reads the queue messages `rollup` emitted in a block range (inclusive), in queue order.
pub async fn zk_messages(
    l1: &dyn L1Client,
    rollup: Address,
    from_block: u64,
    to_block: u64,
) -> Result<Vec<ZkQueueMessage>, ContractsError> {
    let mut messages = parsed_events::<ZkRollup::MessageQueued, _>(
        l1,
        rollup,
        from_block,
        to_block,
        ZkQueueMessage::from_log,
    )
    .await?;
    messages.sort_by_key(|m| m.index);
    Ok(messages)
}

/// A batch `ZkRollup` verified (`BatchVerified`), with the public data its transaction carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZkVerifiedBatch {
    /// 0-based batch index.
    pub index: u64,
    /// The state root before the batch.
    pub old_root: U256,
    /// The state root after it.
    pub new_root: U256,
    /// Queue messages consumed by all batches up to this one.
    pub queue_end: u64,
    /// The batch's public data (`docs/zk-rollup.md` §4.2), from `submitBatch`'s calldata.
    pub pubdata: Bytes,
    /// The L1 block that verified it.
    pub block_number: u64,
    /// The L1 transaction that submitted it.
    pub tx_hash: B256,
}

/// Reads the batches `rollup` verified in a block range (inclusive), in batch order, each with its
/// public data read back from the calldata of the transaction that submitted it. That transaction
/// must call `submitBatch` on the rollup directly ([`ContractsError::IndirectBatch`] otherwise:
/// the public data of a batch submitted through another contract is not in the transaction's
/// calldata).
pub async fn zk_verified_batches(
    l1: &dyn L1Client,
    rollup: Address,
    from_block: u64,
    to_block: u64,
) -> Result<Vec<ZkVerifiedBatch>, ContractsError> {
    let mut batches = Vec::new();
    for log in event_logs::<ZkRollup::BatchVerified>(l1, rollup, from_block, to_block).await? {
        let malformed = |reason: String| ContractsError::MalformedLog {
            event: "BatchVerified",
            tx: log.transaction_hash,
            reason,
        };
        let event = ZkRollup::BatchVerified::decode_log(&log.inner)
            .map_err(|e| malformed(e.to_string()))?
            .data;
        let index: u64 = event
            .index
            .try_into()
            .map_err(|_| malformed("index exceeds 64 bits".into()))?;
        let queue_end: u64 = event
            .queueEnd
            .try_into()
            .map_err(|_| malformed("queueEnd exceeds 64 bits".into()))?;
        let block_number = log
            .block_number
            .ok_or_else(|| malformed("a log without its block number".into()))?;
        let tx_hash = log
            .transaction_hash
            .ok_or_else(|| malformed("a log without its transaction".into()))?;
        let tx = l1.transaction(tx_hash).await?.ok_or_else(|| {
            ContractsError::L1(L1Error::Rpc(format!(
                "L1 does not know transaction {tx_hash}, which verified batch {index}"
            )))
        })?;
        let indirect = |reason: String| ContractsError::IndirectBatch {
            index,
            tx: tx_hash,
            reason,
        };
        if tx.to != Some(rollup) {
            return Err(indirect(format!(
                "the transaction calls {:?}, not the rollup {rollup}",
                tx.to
            )));
        }
        let call = ZkRollup::submitBatchCall::abi_decode(&tx.input)
            .map_err(|e| indirect(format!("its calldata is not submitBatch: {e}")))?;
        if call.newRoot != event.newRoot {
            return Err(indirect(format!(
                "its submitBatch has new root {}, the event {}",
                call.newRoot, event.newRoot
            )));
        }
        batches.push(ZkVerifiedBatch {
            index,
            old_root: event.oldRoot,
            new_root: event.newRoot,
            queue_end,
            pubdata: call.pubdata,
            block_number,
            tx_hash,
        });
    }
    batches.sort_by_key(|b| b.index);
    Ok(batches)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zk_artifacts_carry_bytecode() {
        assert!(ZkRollup::BYTECODE.len() > 1000);
        assert!(Groth16Verifier::BYTECODE.len() > 1000);
        // The verifier's key lives in immutables: the deployed code has room for all 18 words.
        assert!(Groth16Verifier::DEPLOYED_BYTECODE.len() > 18 * 32);
    }

    #[test]
    fn zk_constructor_words_encode_as_18_words() {
        let vk: [U256; 18] = std::array::from_fn(|i| U256::from(i + 1));
        let encoded = Groth16Verifier::constructorCall { vk }.abi_encode();
        assert_eq!(encoded.len(), 18 * 32);
        assert_eq!(encoded[17 * 32..], U256::from(18).to_be_bytes::<32>());
    }

    #[test]
    fn zk_message_queued_decodes() {
        let event = ZkRollup::MessageQueued {
            index: U256::from(7),
            kind: 2,
            account: 5,
            amount: 0,
            data: U256::from(0xabcdu64),
            timestamp: 1_700_000_000,
        };
        let log = Log {
            inner: alloy::primitives::Log {
                address: Address::repeat_byte(1),
                data: event.encode_log_data(),
            },
            block_number: Some(12),
            transaction_hash: Some(B256::repeat_byte(3)),
            ..Log::default()
        };
        let message = ZkQueueMessage::from_log(&log).unwrap();
        assert_eq!(
            message,
            ZkQueueMessage {
                index: 7,
                kind: 2,
                account: 5,
                amount: 0,
                data: B256::from(U256::from(0xabcdu64)),
                timestamp: 1_700_000_000,
                block_number: 12,
            }
        );
        let without_block = Log {
            block_number: None,
            ..log
        };
        assert!(matches!(
            ZkQueueMessage::from_log(&without_block),
            Err(ContractsError::MalformedLog {
                event: "MessageQueued",
                ..
            })
        ));
    }
}
