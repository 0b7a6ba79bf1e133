//! The challenger role: follow L1 with a [`Verifier`], and for the first wrong batch still live
//! play rounds until it is reverted (or, if it cannot be proven, say so loudly).

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use loft_derive::Verifier;
use loft_l1::L1Client;
use loft_stf::ChainParams;

use crate::{Case, Challenger, ChallengerError, Progress};

/// How the challenger role runs.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// The rollup.
    pub rollup: Address,
    /// First L1 block of the deployment.
    pub from_block: u64,
    /// L2 chain parameters.
    pub params: ChainParams,
    /// The poster's L2 RPC for `loft_stepLeaves` (untrusted), if any.
    pub leaves_rpc: Option<String>,
    /// Time between rounds.
    pub poll: Duration,
}

/// What one [`tick`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tick {
    /// Every batch on L1 checks out.
    AllValid,
    /// A round on wrong batch `index`.
    Played {
        /// The batch.
        index: u64,
        /// What the round did.
        progress: Progress,
    },
}

/// Syncs the verifier and plays one round on the first wrong live batch.
pub async fn tick(
    verifier: &mut Verifier,
    l1: &dyn L1Client,
    config: &WatchConfig,
) -> Result<Tick, ChallengerError> {
    verifier
        .sync()
        .await
        .map_err(|e| ChallengerError::Inconsistent(format!("verifier: {e}")))?;
    let Some(bad) = verifier.pending_fraud() else {
        return Ok(Tick::AllValid);
    };
    let blobs = match bad.l1_tx {
        Some(tx) if bad.header.data_kind == loft_contracts::DATA_BLOBS => {
            loft_contracts::batch_blobs(l1, tx, &bad.header)
                .await
                .map_err(|e| ChallengerError::Inconsistent(format!("reading blobs: {e}")))?
        }
        _ => Vec::new(),
    };
    let case = Case {
        header: bad.header,
        data: bad.data,
        blobs,
        state: verifier.state_at(bad.prev_state_root),
    };
    let challenger = Challenger {
        l1,
        rollup: config.rollup,
        from_block: config.from_block,
        params: config.params,
        queue: verifier.queue(),
        leaves_rpc: config.leaves_rpc.clone(),
    };
    let progress = challenger.round(&case).await?;
    Ok(Tick::Played {
        index: bad.header.index,
        progress,
    })
}

/// Runs the challenger until `stop` resolves: a round every `config.poll`; errors are logged and
/// retried at the next round (a restart loses nothing: the game is read back from L1).
pub async fn watch(
    mut verifier: Verifier,
    l1: Arc<dyn L1Client>,
    config: WatchConfig,
    stop: impl std::future::Future<Output = ()>,
) {
    tokio::pin!(stop);
    let mut last: Option<Tick> = None;
    loop {
        match tick(&mut verifier, l1.as_ref(), &config).await {
            Ok(t) => {
                if last.as_ref() != Some(&t) {
                    match &t {
                        Tick::AllValid => {
                            tracing::info!(target: "loft::challenger", next_batch = verifier.next_batch(), "every batch on L1 is valid")
                        }
                        Tick::Played { index, progress } => {
                            tracing::info!(target: "loft::challenger", batch = index, ?progress, "round")
                        }
                    }
                }
                last = Some(t);
            }
            Err(e) => {
                tracing::warn!(target: "loft::challenger", error = %e, "round failed; retrying")
            }
        }
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(config.poll) => {}
        }
    }
}
