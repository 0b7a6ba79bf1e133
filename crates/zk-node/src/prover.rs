//! The prover worker: a thread of its own that proves sealed batches in order while the
//! sequencer keeps taking operations, and hands each proof to the poster. Proving uses every
//! core (arkworks' `parallel`); the sequencer's work per operation is small by comparison.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use alloy::primitives::{Bytes, U256};
use loft_zk::ZkParams;
use loft_zk_prover::prover::Keys;
use loft_zk_prover::solidity::proof_calldata;

use crate::sequencer::Sealed;
use crate::{Progress, root_word};

/// A proved batch, ready for `submitBatch`.
#[derive(Debug, Clone)]
pub struct Proved {
    /// Batch index.
    pub index: u64,
    /// The root after it.
    pub new_root: U256,
    /// Its public data.
    pub pubdata: Bytes,
    /// The proof as `submitBatch` takes it.
    pub proof: [U256; 8],
    /// Seconds spent proving.
    pub secs: f64,
}

/// Proves one batch.
pub fn prove(params: ZkParams, keys: &Keys, sealed: &Sealed) -> Result<Proved, crate::ZkNodeError> {
    let started = Instant::now();
    let proof = keys.prove(params, &sealed.batch)?;
    Ok(Proved {
        index: sealed.index,
        new_root: root_word(sealed.batch.new_root),
        pubdata: sealed.batch.pubdata.clone().into(),
        proof: proof_calldata(&proof).map(U256::from_be_bytes),
        secs: started.elapsed().as_secs_f64(),
    })
}

/// Starts the worker thread. It ends when the sequencer side of `batches` is dropped.
pub fn spawn(
    params: ZkParams,
    keys: Arc<Keys>,
    batches: std::sync::mpsc::Receiver<Sealed>,
    proofs: tokio::sync::mpsc::UnboundedSender<Proved>,
    progress: Arc<Progress>,
) {
    std::thread::Builder::new()
        .name("zk-prover".into())
        .spawn(move || {
            for sealed in batches {
                let ops = sealed.batch.general.len() + sealed.batch.transfers.len();
                tracing::info!(
                    target: "loft::zk",
                    batch = sealed.index,
                    slots = ops,
                    "proving batch"
                );
                match prove(params, &keys, &sealed) {
                    Ok(p) => {
                        tracing::info!(
                            target: "loft::zk",
                            batch = p.index,
                            secs = format!("{:.1}", p.secs),
                            "batch proved"
                        );
                        progress.proved.fetch_max(p.index + 1, Ordering::SeqCst);
                        if proofs.send(p).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        // A sealed batch the circuit refuses is a bug in the state transition or
                        // the keys (another shape's): nothing after it can be posted.
                        tracing::error!(
                            target: "loft::zk",
                            batch = sealed.index,
                            error = %e,
                            "proving failed; the prover stops"
                        );
                        return;
                    }
                }
            }
        })
        .expect("spawning a thread");
}
