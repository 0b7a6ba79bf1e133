//! The worst-case fraud proof, measured on the bench's L1: the gas of a real `L1Rollup.proveStep`
//! transaction against a lying batch, for a batch in blobs and for one in calldata.
//!
//! Both cases come from the shared fraud-proof vectors (`testdata/fraud/steps.json`, written by
//! `crates/fraud/src/vectors.rs`) and follow the forge gas tests that measure the same figures
//! (`contracts/test/L1RollupBlobs.t.sol` `test_GasProveStepBlobsWorstCase`,
//! `contracts/test/L1Rollup.t.sol` `test_GasProveStepWorstCase`): a fresh `StepVerifier` (the
//! vectors' chain id and fee recipient) and `L1Rollup` deployed as `loft_contracts::deploy` does,
//! the vectors' two queue messages deposited, the vector's batch data rebuilt and posted for real
//! (a type-3 transaction with the blobs, or `submitBatch` with the bytes), committing to a step tree
//! of depth 16 whose leaf after the vector's step has a wrong state root; then another account sends
//! `proveStep` with the vector's witness. The figure is that transaction's `gasUsed` from its
//! receipt (intrinsic, calldata and execution gas, the verifier's re-execution, the KZG openings
//! or chunk proofs, the batch revert and slash, after the refund of cleared storage), and the batch
//! must be reverted and its poster barred.

use std::path::Path;

use alloy::network::{TransactionBuilder, TransactionBuilder4844};
use alloy::primitives::{B256, Bytes, U256, keccak256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolValue};
use loft_contracts::IStepVerifier::StepContext;
use loft_contracts::StepVerifier::{self, StepLeaf};
use loft_contracts::{
    DATA_BLOBS, DATA_CALLDATA, DeployOptions, L1Bridge, L1Rollup, SubmittedBatch, VerifierParams,
    deploy, rollup_call, view_call,
};
use loft_fraud::abi::{BlobElement, DataChunk, Witness};
use loft_l1::L1Client;
use serde::Serialize;
use serde_json::Value;

use crate::BenchError;

/// The vectors, read at run time (3.7 MB: not compiled in).
const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/fraud/steps.json"
);
/// The calldata case.
const CALLDATA_CASE: &str = "gas: deep token withdrawal";
/// The most gas one transaction may use since Osaka (EIP-7825).
pub const TX_GAS_CAP: u64 = 1 << 24;

/// Worst-case fraud-proof gas measured on an L1.
#[derive(Debug, Clone, Serialize)]
pub struct FraudProofFigures {
    /// What was measured, in words.
    pub measured: String,
    /// `gasUsed` of the `proveStep` transaction against a blob batch (the step's 320-byte window
    /// opened over [`Self::blob_elements_opened`] elements of two blobs, depth-16 step tree).
    pub blob_prove_step_gas: u64,
    /// KZG openings (point evaluations) the blob proof carried.
    pub blob_elements_opened: u64,
    /// Blobs of the lying batch.
    pub blob_blobs: u64,
    /// Depth of the blob batch's step tree (the two Merkle proofs `proveStep` checks).
    pub blob_step_tree_depth: u32,
    /// `gasUsed` of the `proveStep` transaction against a calldata batch (the step across
    /// [`Self::calldata_chunks_opened`] 1,024-byte chunks of a 100 KiB batch).
    pub calldata_prove_step_gas: u64,
    /// Data chunks (with their Merkle paths) the calldata proof carried.
    pub calldata_chunks_opened: u64,
    /// Bytes of the lying calldata batch.
    pub calldata_batch_bytes: u64,
    /// Depth of the calldata batch's step tree.
    pub calldata_step_tree_depth: u32,
    /// Bytes of the `proveStep` call data, blob case and calldata case.
    pub blob_prove_step_bytes: u64,
    /// Bytes of the `proveStep` call data, calldata case.
    pub calldata_prove_step_bytes: u64,
    /// The cap one L1 transaction has (EIP-7825), the comparison.
    pub tx_gas_cap: u64,
}

fn fail(reason: String) -> BenchError {
    BenchError::Setup {
        backend: "fraud proof",
        reason,
    }
}

/// Measures both worst cases on the L1: `poster` deploys and posts the lying batches (it needs
/// two bonds of 1 ether and the gas), `challenger` (another funded account) deposits the queue
/// messages and sends the proofs.
pub(crate) async fn worst_case_fraud_gas(
    poster: &dyn L1Client,
    challenger: &dyn L1Client,
) -> Result<FraudProofFigures, BenchError> {
    worst_case_fraud_gas_from(Path::new(VECTORS), poster, challenger).await
}

async fn worst_case_fraud_gas_from(
    vectors: &Path,
    poster: &dyn L1Client,
    challenger: &dyn L1Client,
) -> Result<FraudProofFigures, BenchError> {
    if poster.sender() == challenger.sender() {
        return Err(fail("the poster and the challenger must differ".into()));
    }
    let text = std::fs::read_to_string(vectors).map_err(|e| {
        fail(format!(
            "reading the fraud-proof vectors {} ({e}); they are in the repository, \
             regenerate with LOFT_BLESS=1 cargo test -p loft-fraud vectors",
            vectors.display()
        ))
    })?;
    let file: Value = serde_json::from_str(&text)
        .map_err(|e| fail(format!("parsing {}: {e}", vectors.display())))?;
    let params = VerifierParams {
        l2_chain_id: file["chainId"]
            .as_u64()
            .ok_or_else(|| fail("the vectors have no chainId".into()))?,
        fee_recipient: file["feeRecipient"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| fail("the vectors have no feeRecipient".into()))?,
    };
    let cases = file["cases"]
        .as_array()
        .ok_or_else(|| fail("the vectors have no cases".into()))?;
    let named = |name: &str| {
        cases
            .iter()
            .find(|c| c["name"] == name)
            .ok_or_else(|| fail(format!("the vectors have no case {name:?}")))
            .and_then(Vector::parse)
    };
    // The blob worst case is the one the file names (the forge test's choice too).
    let blob = file["blobGasCase"]
        .as_u64()
        .and_then(|i| cases.get(i as usize))
        .ok_or_else(|| fail("the vectors name no blobGasCase".into()))
        .and_then(Vector::parse)?;
    let calldata = named(CALLDATA_CASE)?;

    // The blob case as L1RollupBlobFraudTest lays it out: the previous leaf at 40,000 and the
    // wrong one at 40,001 of 65,536 steps, every other leaf zero.
    tracing::info!(target: "loft::bench", case = %blob.name, "fraud proof: proveStep against a blob batch");
    let b = prove(poster, challenger, params, &blob, Layout::Siblings).await?;
    // The calldata case as L1RollupFraudGasTest lays it out: the batch's real steps (a block
    // marker per two bytes of padding, the withdrawal, the last marker).
    tracing::info!(target: "loft::bench", case = CALLDATA_CASE, "fraud proof: proveStep against a calldata batch");
    let c = prove(poster, challenger, params, &calldata, Layout::Markers).await?;
    Ok(FraudProofFigures {
        measured: format!(
            "gasUsed of a real L1Rollup.proveStep transaction (receipt, after refunds) against a \
             batch committing a wrong leaf after the step of vector {:?} (blobs) and {:?} \
             (calldata) of testdata/fraud/steps.json: the StepVerifier's re-execution with the \
             vector's witness, the data openings, two step-tree proofs, the batch revert and the \
             poster's slash",
            blob.name, calldata.name
        ),
        blob_prove_step_gas: b.gas,
        blob_elements_opened: b.opened,
        blob_blobs: b.blobs,
        blob_step_tree_depth: b.depth,
        blob_prove_step_bytes: b.call_bytes,
        calldata_prove_step_gas: c.gas,
        calldata_chunks_opened: c.opened,
        calldata_batch_bytes: c.data_len,
        calldata_step_tree_depth: c.depth,
        calldata_prove_step_bytes: c.call_bytes,
        tx_gas_cap: TX_GAS_CAP,
    })
}

/// One vector, as its JSON fields give it.
#[derive(Debug, Clone)]
struct Vector {
    name: String,
    ctx: StepContext,
    prev: StepLeaf,
    witness: Bytes,
    next_hash: B256,
    /// The step is valid (else it must be refused, and any committed leaf is fraud).
    valid: bool,
}

impl Vector {
    fn parse(c: &Value) -> Result<Self, BenchError> {
        let name = c["name"].as_str().unwrap_or_default().to_string();
        let field = |key: &str| {
            c.get(key)
                .ok_or_else(|| fail(format!("vector {name:?} has no {key}")))
        };
        let num = |key: &str| {
            field(key)?
                .as_u64()
                .ok_or_else(|| fail(format!("vector {name:?}: {key} is not a number")))
        };
        let hash = |key: &str| {
            field(key)?
                .as_str()
                .and_then(|s| s.parse::<B256>().ok())
                .ok_or_else(|| fail(format!("vector {name:?}: {key} is not a hash")))
        };
        if c["revert"] != false {
            return Err(fail(format!("vector {name:?} has a tampered witness")));
        }
        let witness: Bytes = field("witness")?
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| fail(format!("vector {name:?}: witness is not hex")))?;
        Ok(Self {
            ctx: StepContext {
                dataRoot: hash("dataRoot")?,
                dataLength: num("dataLength")?,
                dataKind: num("dataKind")? as u8,
                queueEnd: num("queueEnd")?,
                baseFee: U256::from(num("baseFee")?),
            },
            prev: StepLeaf {
                kind: num("prevKind")? as u8,
                queuePos: num("prevQueuePos")?,
                dataEnd: num("prevDataEnd")?,
                wCount: num("prevWCount")?,
                wRoot: hash("prevWRoot")?,
                stateRoot: hash("prevStateRoot")?,
            },
            witness,
            next_hash: hash("nextHash")?,
            valid: field("valid")?.as_bool().unwrap_or_default(),
            name,
        })
    }
}

/// `stepLeafHash` (contracts/src/fraud/StepLeaf.sol).
fn leaf_hash(l: &StepLeaf) -> B256 {
    keccak256(
        (
            U256::from(l.kind),
            l.queuePos,
            l.dataEnd,
            l.wCount,
            l.wRoot,
            l.stateRoot,
        )
            .abi_encode(),
    )
}

fn to_rollup(l: &StepLeaf) -> L1Rollup::StepLeaf {
    L1Rollup::StepLeaf {
        kind: l.kind,
        queuePos: l.queuePos,
        dataEnd: l.dataEnd,
        wCount: l.wCount,
        wRoot: l.wRoot,
        stateRoot: l.stateRoot,
    }
}

/// The block-marker padding the vectors' data is made of: `0x10 0x00` pairs from byte 1.
fn marker_byte(offset: usize) -> u8 {
    if offset % 2 == 1 { 0x10 } else { 0x00 }
}

/// The vector's batch data, rebuilt: version byte `0x01`, block markers up to the step, the
/// bytes the witness opens (chunks or blob elements) at their places, block markers ending at
/// `dataLength` after them. The caller checks the result against the vector's `dataRoot`.
fn rebuild_data(v: &Vector, chunks: &[DataChunk], elements: &[BlobElement]) -> Vec<u8> {
    let len = v.ctx.dataLength as usize;
    let mut data: Vec<u8> = (0..len).map(marker_byte).collect();
    data[0] = 0x01;
    let mut covered_end = 0;
    for chunk in chunks {
        let at = chunk.index as usize * 1024;
        for (k, byte) in chunk.data.iter().enumerate() {
            if let Some(d) = data.get_mut(at + k) {
                *d = *byte;
            }
        }
        covered_end = covered_end.max(at + chunk.data.len());
    }
    if !elements.is_empty() {
        use loft_stf::blob::{DATA_PER_BLOB, DATA_PER_ELEMENT, ELEMENTS_PER_BLOB, locate};
        let (blob, element, _) = locate(v.prev.dataEnd as usize);
        let first = blob * ELEMENTS_PER_BLOB + element;
        for (k, e) in elements.iter().enumerate() {
            let global = first + k;
            let at = (global / ELEMENTS_PER_BLOB) * DATA_PER_BLOB
                + (global % ELEMENTS_PER_BLOB) * DATA_PER_ELEMENT;
            for (j, byte) in e.y[1..].iter().enumerate() {
                if let Some(d) = data.get_mut(at + j) {
                    *d = *byte;
                }
            }
            covered_end = covered_end.max(at + DATA_PER_ELEMENT);
        }
    }
    // The trailing markers end at the data's end.
    for (offset, d) in data.iter_mut().enumerate().skip(covered_end) {
        *d = if (len - offset).is_multiple_of(2) {
            0x10
        } else {
            0x00
        };
    }
    data
}

/// How the lying batch's step tree is filled around the measured step.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// `L1RollupBlobFraudTest`: step 40,001 of 65,536, the previous leaf its sibling, the other
    /// leaves zero.
    Siblings,
    /// `L1RollupFraudGasTest`: one step per two-byte block marker before the withdrawal, the
    /// withdrawal's step, the last marker's; `stepCount` = step + 2.
    Markers,
}

/// A positional Merkle tree of `leaves` (a power of two of them): its root and the path of
/// each leaf in `targets`, from the leaf up (as `L1Rollup._verifyStep` checks it).
fn tree(mut level: Vec<B256>, targets: &[usize]) -> (B256, Vec<Vec<B256>>) {
    let mut proofs = vec![Vec::new(); targets.len()];
    let mut shift = 0;
    while level.len() > 1 {
        for (proof, t) in proofs.iter_mut().zip(targets) {
            proof.push(level[(t >> shift) ^ 1]);
        }
        level = level
            .chunks(2)
            .map(|p| keccak256([p[0].as_slice(), p[1].as_slice()].concat()))
            .collect();
        shift += 1;
    }
    (level[0], proofs)
}

/// What one measured proof gave.
struct Proved {
    gas: u64,
    opened: u64,
    blobs: u64,
    depth: u32,
    data_len: u64,
    call_bytes: u64,
}

async fn prove(
    poster: &dyn L1Client,
    challenger: &dyn L1Client,
    params: VerifierParams,
    v: &Vector,
    layout: Layout,
) -> Result<Proved, BenchError> {
    let name = &v.name;
    let (chunks, elements, hashes, ..) = Witness::abi_decode_params(&v.witness)
        .map_err(|e| fail(format!("vector {name:?}: decoding its witness: {e}")))?;
    let is_blob = v.ctx.dataKind == DATA_BLOBS;
    if !is_blob && v.ctx.dataKind != DATA_CALLDATA {
        return Err(fail(format!(
            "vector {name:?}: data kind {}",
            v.ctx.dataKind
        )));
    }
    let data = rebuild_data(v, &chunks, &elements);

    // A rollup of its own (each proof bars its poster), as loft_contracts::deploy makes one.
    let deployment = deploy(
        poster,
        DeployOptions {
            challenge_period_secs: 86_400,
            genesis_state_root: v.prev.stateRoot,
            response_window_secs: 3_600,
            max_batch_data: 1_000_000,
            step_verifier: Some(params),
            exodus_delay_secs: 3 * 86_400,
            sequencer_bid: v.ctx.baseFee,
            epoch_secs: 86_400,
            liveness_window_secs: 6 * 3_600,
            force_inclusion_delay_secs: 12 * 3_600,
            ..DeployOptions::default()
        },
    )
    .await
    .map_err(|e| fail(format!("deploying the rollup for {name:?}: {e}")))?;
    let verifier = deployment
        .step_verifier
        .ok_or_else(|| fail("deployed without a step verifier".into()))?;
    let rollup = deployment.rollup;
    // The vector's queueEnd messages on the bridge.
    for _ in 0..v.ctx.queueEnd {
        send(
            challenger,
            TransactionRequest::default()
                .with_to(deployment.bridge)
                .with_value(U256::from(1_000_000_000u64))
                .with_input(
                    L1Bridge::depositETHCall {
                        l2Recipient: challenger.sender(),
                    }
                    .abi_encode(),
                ),
            "a deposit",
        )
        .await?;
    }

    // What the step really gives; the lying poster commits a wrong state root after it.
    let executed = view_call(
        poster,
        verifier,
        StepVerifier::executeCall {
            ctx: v.ctx.clone(),
            prev: v.prev.clone(),
            witness: v.witness.clone(),
        },
    )
    .await
    .map_err(|e| fail(format!("vector {name:?}: StepVerifier.execute: {e}")))?;
    if executed.valid != v.valid || (v.valid && leaf_hash(&executed.next) != v.next_hash) {
        return Err(fail(format!(
            "vector {name:?}: the deployed verifier does not give the vector's verdict"
        )));
    }
    let next = executed.next;
    let mut wrong = next.clone();
    wrong.stateRoot = keccak256("a state root the step does not give");

    let (step, step_count, leaves): (u64, u64, Vec<(u64, B256)>) = match layout {
        Layout::Siblings => (
            40_001,
            65_536,
            vec![(40_000, leaf_hash(&v.prev)), (40_001, leaf_hash(&wrong))],
        ),
        Layout::Markers => {
            if !(v.prev.dataEnd - 1).is_multiple_of(2) {
                return Err(fail(format!(
                    "vector {name:?}: its padding is not two-byte markers"
                )));
            }
            let step = (v.prev.dataEnd - 1) / 2;
            let marker = |data_end: u64| {
                leaf_hash(&StepLeaf {
                    dataEnd: data_end,
                    ..v.prev.clone()
                })
            };
            if marker(v.prev.dataEnd) != leaf_hash(&v.prev) {
                return Err(fail(format!(
                    "vector {name:?}: the previous leaf is not the last marker's"
                )));
            }
            let last = StepLeaf {
                kind: v.prev.kind,
                queuePos: next.queuePos,
                dataEnd: v.ctx.dataLength,
                wCount: next.wCount,
                wRoot: next.wRoot,
                stateRoot: wrong.stateRoot,
            };
            let mut leaves: Vec<(u64, B256)> =
                (0..step - 1).map(|j| (j, marker(3 + 2 * j))).collect();
            leaves.push((step - 1, leaf_hash(&v.prev)));
            leaves.push((step, leaf_hash(&wrong)));
            leaves.push((step + 1, leaf_hash(&last)));
            (step, step + 2, leaves)
        }
    };
    let depth = step_count.next_power_of_two().trailing_zeros();
    let mut level = vec![B256::ZERO; 1 << depth];
    for (i, h) in leaves {
        level[i as usize] = h;
    }
    let (steps_root, proofs) = tree(level, &[step as usize - 1, step as usize]);
    let input = L1Rollup::BatchInput {
        stateRoot: wrong.stateRoot,
        withdrawalRoot: wrong.wRoot,
        stepsRoot: steps_root,
        queueEnd: v.ctx.queueEnd,
        firstBlock: 1,
        lastBlock: match layout {
            Layout::Siblings => 1,
            Layout::Markers => step_count - 1,
        },
        stepCount: step_count,
        baseFee: v.ctx.baseFee,
    };

    // The lying batch, posted for real.
    let (request, blobs) = if is_blob {
        let d = data.clone();
        let sidecar = tokio::task::spawn_blocking(move || loft_stf::blob::sidecar(&d))
            .await
            .map_err(|e| fail(format!("building the blob sidecar: {e}")))?
            .map_err(|e| fail(format!("building the blob sidecar: {e}")))?;
        let posted: Vec<B256> = sidecar.versioned_hashes().collect();
        if posted != hashes || loft_contracts::blob_data_root(&posted) != v.ctx.dataRoot {
            return Err(fail(format!(
                "vector {name:?}: the rebuilt blobs are not the vector's (versioned hashes differ)"
            )));
        }
        let n = posted.len() as u64;
        let request = TransactionRequest::default().with_to(rollup).with_input(
            L1Rollup::submitBatchBlobsCall {
                input,
                dataLength: data.len() as u64,
            }
            .abi_encode(),
        );
        (request.with_blob_sidecar_4844(sidecar), n)
    } else {
        let request = TransactionRequest::default().with_to(rollup).with_input(
            L1Rollup::submitBatchCall {
                input,
                data: data.clone().into(),
            }
            .abi_encode(),
        );
        (request, 0)
    };
    let receipt = send(poster, request, "the lying batch").await?;
    let header = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| SubmittedBatch::from_log(log).ok())
        .ok_or_else(|| fail("the lying batch emitted no BatchSubmitted".into()))?
        .header;
    if header.data_root != v.ctx.dataRoot || header.data_kind != v.ctx.dataKind {
        return Err(fail(format!(
            "vector {name:?}: the posted batch's data root is not the vector's (the rebuilt data differs)"
        )));
    }

    // The fraud proof, from another account.
    let call = L1Rollup::proveStepCall {
        h: header.into(),
        i: step,
        prev: to_rollup(&v.prev),
        prevProof: proofs[0].clone(),
        leaf: to_rollup(&wrong),
        leafProof: proofs[1].clone(),
        witness: v.witness.clone(),
    }
    .abi_encode();
    let call_bytes = call.len() as u64;
    let receipt = send(
        challenger,
        TransactionRequest::default()
            .with_to(rollup)
            .with_input(call),
        "proveStep",
    )
    .await?;
    let count = rollup_call(poster, rollup, L1Rollup::batchCountCall {})
        .await
        .map_err(|e| fail(e.to_string()))?;
    let barred = rollup_call(
        poster,
        rollup,
        L1Rollup::barredCall {
            poster: poster.sender(),
        },
    )
    .await
    .map_err(|e| fail(e.to_string()))?;
    if count != 0 || !barred {
        return Err(fail(format!(
            "vector {name:?}: proveStep succeeded but the batch is not reverted ({count} batches) or its poster not barred"
        )));
    }
    tracing::info!(target: "loft::bench", case = %name, gas = receipt.gas_used, tx = %receipt.transaction_hash, "fraud proof: batch reverted");
    Ok(Proved {
        gas: receipt.gas_used,
        opened: if is_blob {
            elements.len()
        } else {
            chunks.len()
        } as u64,
        blobs,
        depth,
        data_len: data.len() as u64,
        call_bytes,
    })
}

async fn send(
    l1: &dyn L1Client,
    request: TransactionRequest,
    what: &str,
) -> Result<alloy::rpc::types::TransactionReceipt, BenchError> {
    loft_l1::send_and_confirm(l1, request)
        .await
        .map_err(|e| fail(format!("{what} from {}: {e}", l1.sender())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> Value {
        serde_json::from_str(&std::fs::read_to_string(VECTORS).unwrap()).unwrap()
    }

    #[test]
    fn rebuilds_the_calldata_case_data() {
        let file = vectors();
        let c = file["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == CALLDATA_CASE)
            .unwrap();
        let v = Vector::parse(c).unwrap();
        let (chunks, elements, ..) = Witness::abi_decode_params(&v.witness).unwrap();
        assert!(elements.is_empty() && chunks.len() >= 2);
        let data = rebuild_data(&v, &chunks, &elements);
        assert_eq!(data.len() as u64, v.ctx.dataLength);
        assert_eq!(loft_stf::batch::data_root(&data), v.ctx.dataRoot);
    }

    #[test]
    fn rebuilds_the_blob_case_blobs() {
        let file = vectors();
        let c = &file["cases"][file["blobGasCase"].as_u64().unwrap() as usize];
        let v = Vector::parse(c).unwrap();
        let (chunks, elements, hashes, ..) = Witness::abi_decode_params(&v.witness).unwrap();
        assert_eq!(elements.len(), 12);
        let data = rebuild_data(&v, &chunks, &elements);
        let sidecar = loft_stf::blob::sidecar(&data).unwrap();
        let posted: Vec<B256> = sidecar.versioned_hashes().collect();
        assert_eq!(posted, hashes);
        assert_eq!(loft_contracts::blob_data_root(&posted), v.ctx.dataRoot);
    }
}

/// The same measurement over JSON-RPC, on a fresh anvil (Osaka, the dev accounts): the path
/// `loft bench --l1-rpc` takes. anvil comes from `$ANVIL` (`scripts/env.sh`) or the copy
/// `scripts/install-tools.sh` puts in contracts/node_modules.
#[cfg(test)]
mod on_rpc {
    #[test]
    fn measures_both_cases_on_anvil() {
        let anvil = std::env::var_os("ANVIL")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../../contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
            });
        assert!(
            anvil.is_file(),
            "no anvil at {}: run scripts/install-tools.sh first",
            anvil.display()
        );
        let config = loft_config::ChainConfig::devnet();
        let dev = loft_l1_embedded::DevChainConfig::from_chain_config(&config, None).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let figures = rt.block_on(async {
            let node = crate::start_anvil(&anvil, &[]).await.unwrap();
            let connect = |key| {
                loft_l1_rpc::RpcL1::connect(loft_l1_rpc::RpcL1Config::new(node.url.clone()), key)
            };
            let poster = connect(dev.dev_keys[0].clone()).await.unwrap();
            let challenger = connect(dev.dev_keys[1].clone()).await.unwrap();
            super::worst_case_fraud_gas(&poster, &challenger)
                .await
                .unwrap()
        });
        assert_eq!(figures.blob_elements_opened, 12);
        assert!(figures.blob_prove_step_gas > 100_000 && figures.calldata_prove_step_gas > 100_000);
    }
}
