//! The sequencer's side of the fraud game on the embedded L1 with the real contracts: the step
//! leaves of every posted batch are kept and served (`loft_stepLeaves`), opening requests are
//! answered from them, an injected fault (`--fault`) makes exactly one batch wrong, and after L1
//! reverts it the node drops its records and the backup poster posts the honest blocks again.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolValue};
use loft_contracts::{BatchHeader, L1Rollup, rollup_call};
use loft_derive::{Fault, Verdict, Verifier};
use loft_node::db::LeavesRecord;
use loft_node::{FaultKind, batcher, opener, rpc};
use loft_stf::StepLeaf;
use loft_testnet::{Options, TestNet, eth};
use serde_json::Value;

const CHALLENGER: usize = 8;
const BACKUP: usize = 9;

/// The test's devnet, with this file's own helpers.
struct Net(TestNet);

impl std::ops::Deref for Net {
    type Target = TestNet;
    fn deref(&self) -> &TestNet {
        &self.0
    }
}

async fn start(fault: Option<FaultKind>) -> Net {
    Net(TestNet::start(Options {
        fault,
        backup_poster: Some(BACKUP),
        ..Options::default()
    })
    .await)
}

impl Net {
    async fn withdraw(&self, key: usize, amount: U256) -> B256 {
        let mut input = loft_stf::params::WITHDRAW_SELECTOR.to_vec();
        input.extend((Address::ZERO, amount, self.keys[key].address()).abi_encode_params());
        self.send(key, loft_state::layout::L2_BRIDGE, U256::ZERO, input)
            .await
    }

    /// Seals and posts every unposted block; returns the batches posted.
    async fn post(&self) -> Vec<loft_node::db::BatchRecord> {
        self.post_all().await
    }

    async fn rpc(&self, method: &str, index: u64) -> Result<Value, (i32, Value)> {
        let module = rpc::module(self.node.shared.clone());
        module
            .call::<_, Value>(method, [index])
            .await
            .map_err(|e| match e {
                jsonrpsee::core::server::MethodsError::JsonRpc(o) => (
                    o.code(),
                    o.data()
                        .map(|d| serde_json::from_str(d.get()).unwrap())
                        .unwrap_or_default(),
                ),
                e => panic!("{e}"),
            })
    }

    async fn rpc_hash(&self, method: &str, hash: B256) -> Value {
        let module = rpc::module(self.node.shared.clone());
        module.call::<_, Value>(method, [hash]).await.unwrap()
    }

    fn leaves(&self, index: u64) -> LeavesRecord {
        self.node.shared.db.leaves(index).unwrap().unwrap()
    }

    /// A fresh verifier syncs from L1 and finds every batch valid.
    async fn assert_all_valid(&self) {
        let mut verifier = self.verifier();
        verifier.sync().await.unwrap();
        assert!(
            verifier
                .checked()
                .iter()
                .all(|b| b.verdict == Verdict::Valid)
        );
    }

    fn verifier(&self) -> Verifier {
        self.verifier_at(&self.dir.path().join("verifier.redb"), CHALLENGER)
    }

    async fn call<C: SolCall>(&self, call: C) -> C::Return {
        rollup_call(&self.l1(CHALLENGER), self.deployment.rollup, call)
            .await
            .unwrap()
    }

    async fn request_opening(&self, header: &BatchHeader, step: u64) {
        let bond = self.call(L1Rollup::requestBondCall {}).await;
        loft_l1::send_and_confirm(
            &self.l1(CHALLENGER),
            TransactionRequest::default()
                .with_to(self.deployment.rollup)
                .with_value(bond)
                .with_input(
                    L1Rollup::requestOpeningCall {
                        h: (*header).into(),
                        i: step,
                    }
                    .abi_encode(),
                ),
        )
        .await
        .unwrap();
    }

    async fn request_status(&self, header: &BatchHeader, step: u64) -> u8 {
        self.call(L1Rollup::openingRequestCall {
            headerHash: header.hash(),
            step,
        })
        .await
        .status
    }
}

fn sol_leaf(l: &StepLeaf) -> L1Rollup::StepLeaf {
    (*l).into()
}

/// Without a fault the batches are what `prepare` makes of the blocks; their leaves are kept,
/// served and opened on request, and the verifier finds every batch valid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaves_of_honest_batches_are_served_and_opened() {
    let net = start(None).await;
    net.deposit(1, 5).await;
    for n in 0..3 {
        net.transfer(1, Address::with_last_byte(n + 1), 1_000).await;
    }
    net.seal().await;
    let shared = &net.node.shared;
    let head = shared.sequencer().head().number;
    let honest = batcher::prepare(shared, 1, head).unwrap().unwrap();
    let posted = net.post().await;
    assert_eq!(posted.len(), 1);
    let batch = &posted[0];
    assert_eq!(batch.steps_root, honest.steps_root);
    assert_eq!(batch.step_count, honest.step_count);

    let record = net.leaves(0);
    assert_eq!(record.leaves(), honest.leaves);
    assert_eq!(record.header_hash, batch.header_hash);
    assert_eq!(record.header.hash(), batch.header_hash);
    assert_eq!(
        net.call(L1Rollup::batchHeaderHashCall { index: 0 }).await,
        batch.header_hash
    );
    assert!(!record.withheld && record.fault.is_none());

    // Served as numbers and hex.
    let served = net.rpc("loft_stepLeaves", 0).await.unwrap();
    assert_eq!(served["batch"], 0);
    assert_eq!(served["headerHash"], serde_json::json!(batch.header_hash));
    assert_eq!(served["stepsRoot"], serde_json::json!(honest.steps_root));
    assert_eq!(served["stepCount"], honest.step_count);
    let leaves = served["leaves"].as_array().unwrap();
    assert_eq!(leaves.len(), honest.leaves.len());
    for (json, leaf) in leaves.iter().zip(&honest.leaves) {
        assert_eq!(json["kind"], leaf.kind);
        assert_eq!(json["queuePos"], leaf.queue_pos);
        assert_eq!(json["dataEnd"], leaf.data_end);
        assert_eq!(json["wCount"], leaf.w_count);
        assert_eq!(json["wRoot"], serde_json::json!(leaf.w_root));
        assert_eq!(json["stateRoot"], serde_json::json!(leaf.state_root));
    }
    let (code, data) = net.rpc("loft_stepLeaves", 7).await.unwrap_err();
    assert_eq!(code, rpc::CODE_NOT_FOUND);
    assert_eq!(data["reason"], rpc::REASON_UNKNOWN_BATCH);

    // An opening request is answered with the committed leaf.
    let step = honest.step_count - 2;
    net.request_opening(&record.header, step).await;
    assert_eq!(net.request_status(&record.header, step).await, 1);
    assert_eq!(opener::poll(shared).await.unwrap(), 1);
    assert_eq!(
        net.request_status(&record.header, step).await,
        2,
        "answered"
    );
    // Handled once: a second poll finds nothing new.
    assert_eq!(opener::poll(shared).await.unwrap(), 0);

    net.assert_all_valid().await;
    assert_eq!(shared.db.meta("fault_fired").unwrap(), None);
}

/// Transfers between accounts that had indexes before their block are posted compact
/// (`docs/rollup.md` §3.2), a transfer to a new account in the full encoding, and a verifier
/// replaying the batch from L1 alone finds it valid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfers_between_indexed_accounts_are_posted_compact() {
    let net = start(None).await;
    net.deposit(1, 5).await;
    net.deposit(2, 5).await;
    net.seal().await;
    let to = net.keys[2].address();
    net.transfer(1, to, 1_000).await;
    net.transfer(1, Address::with_last_byte(0x77), 1_000).await;
    net.transfer(2, net.keys[1].address(), 3_000).await;
    net.seal().await;
    let shared = &net.node.shared;
    let head = shared.sequencer().head().number;
    let honest = batcher::prepare(shared, 1, head).unwrap().unwrap();
    let steps = loft_stf::decode_batch_v1(&honest.data, shared.config.l2.chain_id).unwrap();
    let kinds: Vec<&str> = steps
        .iter()
        .filter_map(|s| match s {
            loft_stf::DataStep::Compact(_) => Some("compact"),
            loft_stf::DataStep::Tx(_) => Some("full"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["compact", "full", "compact"]);
    net.post().await;
    net.assert_all_valid().await;
}

/// A fault fires once, on the first batch that has what it needs; the batches before and after
/// are posted from honest data.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_fires_once_on_the_first_batch_that_can_carry_it() {
    let net = start(Some(FaultKind::QueueReorder)).await;
    // Batch 0: one deposit only, nothing to reorder.
    net.deposit(1, 5).await;
    net.transfer(1, Address::with_last_byte(1), 1).await;
    net.post().await;
    assert_eq!(net.leaves(0).fault, None);
    // Batch 1: two deposits in a row.
    net.deposit(2, 3).await;
    net.deposit(3, 4).await;
    net.transfer(2, Address::with_last_byte(2), 1).await;
    net.post().await;
    let bad = net.leaves(1);
    assert_eq!(bad.fault, Some(FaultKind::QueueReorder));
    assert_eq!(net.node.shared.db.meta("fault_fired").unwrap(), Some(1));
    // Batch 2: two more deposits, posted honestly.
    net.deposit(2, 1).await;
    net.deposit(3, 1).await;
    net.transfer(3, Address::with_last_byte(3), 1).await;
    net.seal().await;
    let shared = &net.node.shared;
    let head = shared.sequencer().head().number;
    let first = bad.header.last_block + 1;
    let honest = batcher::prepare(shared, first, head).unwrap().unwrap();
    net.post().await;
    let after = net.leaves(2);
    assert_eq!(after.fault, None);
    assert_eq!(after.leaves(), honest.leaves);

    let mut verifier = net.verifier();
    verifier.sync().await.unwrap();
    let verdicts: Vec<_> = verifier
        .checked()
        .iter()
        .map(|b| b.verdict.clone())
        .collect();
    assert_eq!(verdicts[0], Verdict::Valid);
    assert!(
        matches!(verdicts[1], Verdict::Fraud(Fault::StepsRoot { .. })),
        "{verdicts:?}"
    );
    assert_eq!(verdicts[2], Verdict::BuildsOnFraud(1));
}

/// `withhold`: the bad batch's leaves are neither served nor opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withheld_leaves_are_neither_served_nor_opened() {
    let net = start(Some(FaultKind::Withhold)).await;
    net.deposit(1, 5).await;
    net.transfer(1, Address::with_last_byte(1), 1).await;
    net.post().await;
    let record = net.leaves(0);
    assert!(record.withheld);
    let (code, data) = net.rpc("loft_stepLeaves", 0).await.unwrap_err();
    assert_eq!(code, rpc::CODE_NOT_FOUND);
    assert_eq!(data["reason"], rpc::REASON_WITHHELD);
    net.request_opening(&record.header, 1).await;
    assert_eq!(opener::poll(&net.node.shared).await.unwrap(), 0);
    assert_eq!(net.request_status(&record.header, 1).await, 1, "still open");
}

/// A `state-root` fault proved by its last leaf: L1 reverts the batch and the one built on it,
/// the node drops their records and leaves, its withdrawal is pending again, and the backup
/// poster deposits its bond and posts the honest blocks, which the withdrawal is then in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_revert_the_backup_poster_posts_the_honest_blocks() {
    let net = start(Some(FaultKind::StateRoot)).await;
    let shared = &net.node.shared;
    net.deposit(1, 5).await;
    net.transfer(1, Address::with_last_byte(1), 1_000).await;
    let withdrawal = net.withdraw(1, eth(1)).await;
    net.post().await;
    net.transfer(1, Address::with_last_byte(2), 1_000).await;
    net.post().await;
    let bad = net.leaves(0);
    assert_eq!(bad.fault, Some(FaultKind::StateRoot));
    assert!(net.leaves(1).fault.is_none());
    let status = net.rpc_hash("loft_withdrawalStatus", withdrawal).await;
    assert_eq!(status["status"], "challenge-period");
    assert_eq!(status["batch"], 0);

    // The challenger proves the last leaf disagrees with the header's state root.
    let leaves = bad.leaves();
    let last = leaves.len() as u64 - 1;
    let (leaf, proof) = bad.opening(last).unwrap();
    loft_l1::send_and_confirm(
        &net.l1(CHALLENGER),
        TransactionRequest::default()
            .with_to(net.deployment.rollup)
            .with_input(
                L1Rollup::proveLastLeafCall {
                    h: bad.header.into(),
                    leaf: sol_leaf(&leaf),
                    proof,
                }
                .abi_encode(),
            ),
    )
    .await
    .unwrap();
    let sequencer = net.keys[0].address();
    assert!(net.call(L1Rollup::barredCall { poster: sequencer }).await);
    assert_eq!(net.call(L1Rollup::batchCountCall {}).await, 0);

    // The node follows L1: both batches are gone, the withdrawal waits for a batch again.
    let tip = batcher::sync_with_l1(shared).await.unwrap();
    assert_eq!(tip.batchCount, 0);
    assert!(shared.db.batch(0).unwrap().is_none());
    assert!(shared.db.batch(1).unwrap().is_none());
    assert!(shared.db.leaves(0).unwrap().is_none());
    let (code, data) = net.rpc("loft_stepLeaves", 0).await.unwrap_err();
    assert_eq!(
        (code, data["reason"].clone()),
        (rpc::CODE_NOT_FOUND, "unknown-batch".into())
    );
    let status = net.rpc_hash("loft_withdrawalStatus", withdrawal).await;
    assert_eq!(status["status"], "pending-batch");

    // The backup poster takes over: it registered as an operator (with its bond) when the node
    // first looked at L1, and L1 made it active when the sequencer was barred.
    let backup = net.keys[BACKUP].address();
    assert_eq!(
        net.call(L1Rollup::bondOfCall { poster: backup }).await,
        U256::from(net.config.rollup.bond_gwei) * U256::from(1_000_000_000u64)
    );
    let head = shared.sequencer().head().number;
    let honest = batcher::prepare(shared, 1, head).unwrap().unwrap();
    let reposted = net.post().await;
    assert!(!reposted.is_empty());
    assert_eq!(reposted[0].index, 0);
    assert_eq!(reposted[0].first_block, 1);
    assert_eq!(reposted[0].poster, backup);
    assert_eq!(reposted[0].steps_root, honest.steps_root);
    assert_eq!(
        net.call(L1Rollup::bondOfCall { poster: backup }).await,
        net.call(L1Rollup::bondWeiCall {}).await
    );
    let record = net.leaves(0);
    assert_eq!(record.header.poster, backup);
    assert_eq!(record.fault, None, "the fault fired once");
    assert_eq!(record.leaves(), honest.leaves);
    assert_eq!(
        net.call(L1Rollup::lastBatchCall {}).await.lastBlock,
        head,
        "every sealed block is posted again"
    );
    let status = net.rpc_hash("loft_withdrawalStatus", withdrawal).await;
    assert_eq!(status["status"], "challenge-period");
    assert_eq!(status["batch"], 0);
    let on_l1 = net.call(L1Rollup::batchCall { index: 0 }).await;
    let siblings: Vec<B256> = serde_json::from_value(status["siblings"].clone()).unwrap();
    let leaf: B256 = serde_json::from_value(status["leaf"].clone()).unwrap();
    let index = status["index"].as_u64().unwrap();
    assert_eq!(
        loft_stf::withdrawal_path_root(leaf, index, &siblings.try_into().unwrap()),
        on_l1.withdrawalRoot,
        "the claim proof fits the new batch"
    );

    // Openings on the backup's batch are answered too (by the backup's key).
    net.request_opening(&record.header, 0).await;
    assert_eq!(opener::poll(shared).await.unwrap(), 1);
    assert_eq!(net.request_status(&record.header, 0).await, 2);
}
