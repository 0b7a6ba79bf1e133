//! The zk profile's stories.
//!
//! - `zk-wrong-root`: a prover posts batches that lie (a wrong new root, a tampered proof, public
//!   data that is not the proved one); L1's verifier rejects each (`InvalidProof`) and the state
//!   root does not move; the honest batch is then accepted.
//! - `zk-prover-stops`: the operator's node stops; a user queues a forced exit on L1; once it is
//!   overdue, a prover run by anyone (`loft node --role prover`'s code, from L1 data alone)
//!   proves and posts it; the user claims exactly its balance.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, Bytes, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolError};
use eyre::{Result, eyre};
use loft_config::ChainConfig;
use loft_contracts::{ZkDeployment, ZkRollup};
use loft_l1::{L1Client, L1Error, send_and_confirm};
use loft_zk::{BatchBuilder, ZkParams};
use loft_zk_node::prover::Proved;
use loft_zk_node::store::QueueMessage;
use loft_zk_node::{ZkNode, ZkNodeConfig, l1_head};
use loft_zk_prover::prover::Keys;
use serde::Serialize;

use super::{Stage, StoryArgs, finish, l1_time_to, say, wait_for};
use crate::zk::devnet::{fee_key, params, proving_keys};
use crate::zk::wallet::ZkWallet;

/// What both stories set up: the L1, the keys, the deployment.
struct ZkStage {
    stage: Stage,
    config: ChainConfig,
    params: ZkParams,
    keys: Arc<Keys>,
    zk: ZkDeployment,
    operator: Arc<loft_l1_rpc::RpcL1>,
    dir: tempfile::TempDir,
}

async fn setup(args: &StoryArgs, json: bool) -> Result<ZkStage> {
    let config = args.config()?;
    let stage = Stage::open(&config, args.l1_rpc.as_deref()).await?;
    let operator = stage.l1(&config, 0).await?;
    let dir = tempfile::tempdir()?;
    let p = params(&config);
    say(
        json,
        format!(
            "setup: L1 {} ({}); proving key for depth {}, {} transfer + {} general slots (insecure devnet setup)",
            stage.url, stage.backend, p.tree_depth, p.batch_transfers, p.batch_general
        ),
    );
    let keys = proving_keys(&config, dir.path()).await?;
    let fee = fee_key(&config, &stage.keys[0])?;
    let zk = crate::zk::devnet::deploy(operator.as_ref(), &config, &keys, &fee).await?;
    say(
        json,
        format!(
            "setup: ZkRollup {} with verifier {}",
            zk.rollup, zk.verifier
        ),
    );
    Ok(ZkStage {
        stage,
        config,
        params: p,
        keys,
        zk,
        operator,
        dir,
    })
}

impl ZkStage {
    async fn node(&self) -> Result<ZkNode> {
        Ok(ZkNode::start(
            ZkNodeConfig {
                params: self.params,
                rollup: self.zk.rollup,
                deploy_block: self.zk.deploy_block,
                fee_key: fee_key(&self.config, &self.stage.keys[0])?,
                data_dir: self.dir.path().join("sequencer"),
                rpc_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                batch_interval: Duration::from_millis(self.config.zk.batch_interval_ms),
                poll_interval: Duration::from_millis(100),
            },
            self.operator.clone(),
            self.keys.clone(),
        )
        .await?)
    }

    async fn wallet(&self, node: &str, n: usize) -> Result<ZkWallet> {
        ZkWallet::connect(node, &self.stage.url, self.stage.keys[n].clone()).await
    }
}

/// One submission the story made and what L1 said.
#[derive(Debug, Serialize)]
struct Attempt {
    what: &'static str,
    accepted: bool,
    error: Option<String>,
    gas_used: Option<u64>,
}

async fn submit(l1: &dyn L1Client, rollup: Address, p: &Proved) -> Result<u64, L1Error> {
    Ok(loft_zk_node::poster::send(l1, rollup, p).await?.gas_used)
}

#[derive(Debug, Serialize)]
struct WrongRootReport {
    rollup: Address,
    attempts: Vec<Attempt>,
    root_unchanged_after_rejections: bool,
    verified_batches: u64,
}

/// `loft scenario zk-wrong-root`.
pub(crate) async fn wrong_root(args: StoryArgs) -> Result<()> {
    let json = args.json;
    let s = setup(&args, json).await?;
    s.wallet_less_register(1).await?;
    let mut problems = Vec::new();
    let mut attempts = Vec::new();

    // The prover builds batch 0 from the queue (the two registrations and the deposit) with the
    // one state transition, and proves it.
    let mut tree =
        loft_zk::replay::genesis(s.params.tree_depth, &fee_key(&s.config, &s.stage.keys[0])?);
    let to = s.operator.block_number().await?;
    let messages =
        loft_contracts::zk_messages(s.operator.as_ref(), s.zk.rollup, s.zk.deploy_block, to)
            .await?;
    let mut b = BatchBuilder::new(s.params, &tree);
    for m in messages.iter().take(s.params.batch_general) {
        b.push_general(
            &mut tree,
            loft_zk_node::sequencer::general_of(&QueueMessage::from(m))?,
        )
        .map_err(|e| eyre!("queue message {}: {e}", m.index))?;
    }
    let batch = b.finish(&mut tree).map_err(|e| eyre!("sealing: {e}"))?;
    let sealed = loft_zk_node::sequencer::Sealed {
        index: 0,
        batch,
        queue_end: 0,
    };
    let started = Instant::now();
    let honest = loft_zk_node::prover::prove(s.params, &s.keys, &sealed)?;
    say(
        json,
        format!(
            "[1/3] a batch of {} queue messages proved in {:.1} s",
            messages.len().min(s.params.batch_general),
            started.elapsed().as_secs_f64()
        ),
    );

    let (root_before, _) = l1_head(s.operator.as_ref(), s.zk.rollup).await?;
    let mut wrong_root = honest.clone();
    wrong_root.new_root = honest.new_root ^ U256::from(1);
    let mut tampered = honest.clone();
    tampered.proof[0] ^= U256::from(1);
    let mut other_data = honest.clone();
    let mut bytes = other_data.pubdata.to_vec();
    // The first general chunk's amount (a deposit or a key): a batch that pays someone else.
    bytes[19] ^= 1;
    other_data.pubdata = Bytes::from(bytes);
    for (what, p) in [
        ("wrong new root", &wrong_root),
        ("tampered proof", &tampered),
        ("public data that is not the proved one", &other_data),
    ] {
        let r = submit(s.operator.as_ref(), s.zk.rollup, p).await;
        let error = r.as_ref().err().map(|e| e.to_string());
        say(
            json,
            format!(
                "[2/3] L1 {} the batch with a {what}: {}",
                if r.is_ok() { "ACCEPTED" } else { "rejected" },
                error.clone().unwrap_or_default()
            ),
        );
        if r.is_ok() {
            problems.push(format!("L1 accepted a batch with a {what}"));
        } else if !error.as_deref().unwrap_or("").contains("InvalidProof")
            && !error.as_deref().unwrap_or("").contains(&hex_selector())
        {
            problems.push(format!(
                "the batch with a {what} was refused for another reason: {error:?}"
            ));
        }
        attempts.push(Attempt {
            what,
            accepted: r.is_ok(),
            error,
            gas_used: r.ok(),
        });
    }
    let (root_after, count) = l1_head(s.operator.as_ref(), s.zk.rollup).await?;
    let unchanged = root_after == root_before && count == 0;
    if !unchanged {
        problems.push("L1's state moved after rejected batches".into());
    }
    let r = submit(s.operator.as_ref(), s.zk.rollup, &honest).await;
    say(
        json,
        format!(
            "[3/3] the honest batch: {}",
            match &r {
                Ok(g) => format!("verified on L1 ({g} gas)"),
                Err(e) => format!("REFUSED: {e}"),
            }
        ),
    );
    if r.is_err() {
        problems.push("L1 refused the honest batch".into());
    }
    attempts.push(Attempt {
        what: "honest batch",
        accepted: r.is_ok(),
        error: r.as_ref().err().map(|e| e.to_string()),
        gas_used: r.ok(),
    });
    let (root_final, verified) = l1_head(s.operator.as_ref(), s.zk.rollup).await?;
    if root_final != honest.new_root || verified != 1 {
        problems.push(format!(
            "after the honest batch L1 has {verified} batches and root {root_final:#x}"
        ));
    }
    finish(
        json,
        &WrongRootReport {
            rollup: s.zk.rollup,
            attempts,
            root_unchanged_after_rejections: unchanged,
            verified_batches: verified,
        },
        problems,
    )
}

/// `InvalidProof()`'s selector, as revert descriptions show custom errors.
fn hex_selector() -> String {
    alloy::hex::encode(ZkRollup::InvalidProof::SELECTOR)
}

impl ZkStage {
    /// Registers dev account `n` with a deposit of 1 ETH and dev account `n + 1` without,
    /// straight on L1 (no node needed).
    async fn wallet_less_register(&self, n: usize) -> Result<()> {
        for (i, value) in [
            (n, U256::from(10u64).pow(U256::from(18))),
            (n + 1, U256::ZERO),
        ] {
            let l1 = self.stage.l1(&self.config, i).await?;
            let key = loft_zk::SecretKey::from_eth_key(&self.stage.keys[i], self.params.chain_id)
                .map_err(|e| eyre!("deriving the L2 key: {e}"))?;
            let call = ZkRollup::registerCall {
                compressedKey: U256::from_be_bytes(key.public().compress()),
            };
            send_and_confirm(
                l1.as_ref(),
                TransactionRequest::default()
                    .to(self.zk.rollup)
                    .value(value)
                    .input(call.abi_encode().into()),
            )
            .await?;
        }
        Ok(())
    }
}

#[derive(Debug, Serialize)]
struct ProverStopsReport {
    rollup: Address,
    user_account: u32,
    l2_balance_at_stop: String,
    forced_exit_deadline: u64,
    proved_by: Address,
    exit_batch_gas: Option<u64>,
    claimed: String,
    l1_gain_after_gas: String,
}

/// `loft scenario zk-prover-stops`.
pub(crate) async fn prover_stops(args: StoryArgs) -> Result<()> {
    let json = args.json;
    let s = setup(&args, json).await?;
    let mut problems = Vec::new();
    let node = s.node().await?;
    let url = format!("http://{}", node.rpc_addr);
    let mut user = s.wallet(&url, 1).await?;
    let friend = s.wallet(&url, 2).await?;
    let one = 1_000_000_000_000_000_000u128;
    let (ua, _) = user.register(U256::from(one)).await?;
    let (fa, _) = friend.register(U256::ZERO).await?;
    user.wait_balance(ua, Duration::from_secs(120), |b| b == one)
        .await?;
    wait_for(
        "the friend's key on L2",
        Duration::from_secs(120),
        || async { Ok(friend.account(fa).await?.registered.then_some(())) },
    )
    .await?;
    let pay = 300_000_000_000_000_000u128;
    let a = user.transfer(fa, pay, 0).await?;
    user.wait_verified(a.batch, Duration::from_secs(600))
        .await?;
    let left = user.account(ua).await?.balance()?;
    say(
        json,
        format!(
            "[1/4] account {ua} paid {pay} wei to account {fa} on L2; batch {} verified on L1; {left} wei left",
            a.batch
        ),
    );

    drop(node);
    say(json, "[2/4] the operator's node stops");
    let r = user.force_exit(ua).await?;
    let deadline = s
        .operator
        .call(
            TransactionRequest::default()
                .to(s.zk.rollup)
                .input(ZkRollup::nextDeadlineCall {}.abi_encode().into()),
        )
        .await
        .map(|out| U256::from_be_slice(&out).to::<u64>())?;
    say(
        json,
        format!(
            "[3/4] account {ua} queues a forced exit on L1 (tx {}); the operator must include it by L1 time {deadline}; L1 time moves past it",
            r.transaction_hash
        ),
    );
    let l1_user = s.stage.l1(&s.config, 1).await?;
    l1_time_to(&l1_user, deadline + 1).await?;

    let prover_l1 = s.stage.l1(&s.config, 5).await?;
    let prover = tokio::spawn(loft_zk_node::prover_role::run(
        loft_zk_node::prover_role::ProverRoleConfig {
            params: s.params,
            rollup: s.zk.rollup,
            deploy_block: s.zk.deploy_block,
            fee_key: fee_key(&s.config, &s.stage.keys[0])?,
            rpc_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            poll_interval: Duration::from_millis(200),
        },
        prover_l1.clone(),
        s.keys.clone(),
    ));
    let verified = wait_for(
        "the forced exit proved by anyone",
        Duration::from_secs(600),
        || async {
            let (_, count) = l1_head(s.operator.as_ref(), s.zk.rollup).await?;
            Ok((count > a.batch + 1 || user.claimable().await? > U256::ZERO).then_some(count))
        },
    )
    .await?;
    prover.abort();
    // The exit's batch and its gas, from L1.
    let to = s.operator.block_number().await?;
    let posted = loft_contracts::zk_verified_batches(
        s.operator.as_ref(),
        s.zk.rollup,
        s.zk.deploy_block,
        to,
    )
    .await?;
    let exit_batch_gas = match posted.last() {
        Some(b) => s.operator.receipt(b.tx_hash).await?.map(|r| r.gas_used),
        None => None,
    };
    if let Some(b) = posted.last() {
        let from = s.operator.transaction(b.tx_hash).await?.map(|t| t.from);
        if from != Some(prover_l1.sender()) {
            problems.push(format!(
                "the exit's batch was posted by {from:?}, not by the prover"
            ));
        }
    }
    let due = user.claimable().await?;
    say(
        json,
        format!(
            "[4/4] dev account 5's prover (not the operator) proved and posted the exit; {verified} batches verified; {due} wei claimable"
        ),
    );
    let before = user.l1().balance(user.address()).await?;
    let r = user.claim().await?;
    let after = user.l1().balance(user.address()).await?;
    let gain = after + U256::from(r.gas_used) * U256::from(r.effective_gas_price) - before;
    if due != U256::from(left) || gain != U256::from(left) {
        problems.push(format!(
            "the exit paid {gain} wei (claimable {due}); the balance was {left}"
        ));
    }
    say(
        json,
        format!(
            "claimed {gain} wei on L1 (exactly the L2 balance: {})",
            gain == U256::from(left)
        ),
    );
    finish(
        json,
        &ProverStopsReport {
            rollup: s.zk.rollup,
            user_account: ua,
            l2_balance_at_stop: left.to_string(),
            forced_exit_deadline: deadline,
            proved_by: prover_l1.sender(),
            exit_batch_gas,
            claimed: due.to_string(),
            l1_gain_after_gas: gain.to_string(),
        },
        problems,
    )
}
