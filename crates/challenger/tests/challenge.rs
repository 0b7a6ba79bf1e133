//! The challenger against the real contracts on the embedded L1: a real sequencer node posts
//! batches, some with wrong commitments forged here, a verifier replays them from L1 alone, and
//! the challenger proves each wrong one, by the last leaf, by openings and `proveStep`, or by an
//! unanswered request. A correct batch cannot be reverted.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolEvent};
use loft_challenger::{Case, Challenger, Progress, to_sol};
use loft_contracts::{BatchHeader, L1Rollup, rollup_call};
use loft_derive::{Verdict, Verifier};
use loft_l1::{DevControl, L1Client, L1Error};
use loft_l1_embedded::EmbeddedL1;
use loft_node::batcher;
use loft_state::RedbStore;
use loft_stf::StepLeaf;
use loft_testnet::{Options, TestNet, eth};

const CHALLENGER: usize = 8;

/// The test's devnet, with this file's own helpers.
struct Net(TestNet);

impl std::ops::Deref for Net {
    type Target = TestNet;
    fn deref(&self) -> &TestNet {
        &self.0
    }
}

async fn start() -> Net {
    Net(TestNet::start(Options::default()).await)
}

impl Net {
    async fn post_honest(&self) {
        self.post_all().await;
    }

    /// Posts the sealed unposted blocks as one batch whose leaves are `tamper`ed (the header's
    /// state root follows the last leaf unless `final_root` says otherwise). Returns the
    /// committed leaves.
    async fn post_forged(
        &self,
        tamper: impl FnOnce(&mut Vec<StepLeaf>),
        final_root: Option<B256>,
    ) -> Vec<StepLeaf> {
        self.seal().await;
        let shared = &self.node.shared;
        let head = shared.sequencer().head().number;
        let first = rollup_call(
            self.l1(0).as_dyn(),
            shared.rollup(),
            L1Rollup::lastBlockCall {},
        )
        .await
        .unwrap()
            + 1;
        let batch = batcher::prepare(shared, first, head).unwrap().unwrap();
        let mut leaves = batch.leaves.clone();
        tamper(&mut leaves);
        let last = batch.blocks.last().unwrap();
        let input = loft_contracts::BatchInput {
            state_root: final_root.unwrap_or(leaves.last().unwrap().state_root),
            withdrawal_root: leaves.last().unwrap().w_root,
            step_roots_root: loft_stf::steps_root(&leaves),
            queue_end: last.queue_end,
            first_block: first,
            last_block: last.number,
            step_count: leaves.len() as u64,
            base_fee: shared.config.l2.base_fee.into(),
        };
        loft_l1::send_and_confirm(
            &self.l1(0),
            TransactionRequest::default()
                .with_to(shared.rollup())
                .with_input(loft_contracts::submit_batch_calldata(&input, &batch.data)),
        )
        .await
        .unwrap();
        leaves
    }

    fn verifier(&self) -> Verifier {
        self.verifier_at(&self.dir.path().join("verifier.redb"), 9)
    }

    /// The first wrong batch the verifier found, as the challenger takes it.
    async fn case(&self, verifier: &mut Verifier) -> Case<RedbStore> {
        verifier.sync().await.unwrap();
        let bad = verifier
            .checked()
            .iter()
            .find(|b| matches!(b.verdict, Verdict::Fraud(_)))
            .expect("the verifier finds the forged batch")
            .clone();
        let (data, blobs) =
            loft_contracts::posted_batch(&self.l1(0), bad.l1_tx.unwrap(), &bad.header)
                .await
                .unwrap();
        Case {
            header: bad.header,
            data,
            blobs,
            state: verifier.state().clone(),
        }
    }

    async fn queue(&self) -> Vec<loft_contracts::QueueMessage> {
        let l1 = self.l1(0);
        let latest = l1.block_number().await.unwrap();
        loft_contracts::read_queue(
            &l1,
            self.deployment.bridge,
            self.deployment.bridge_block,
            latest,
        )
        .await
        .unwrap()
    }

    /// Answers an opening request as the sequencer, from the leaves it committed.
    async fn open(&self, header: &BatchHeader, leaves: &[StepLeaf], step: u64) {
        let call = L1Rollup::openStepCall {
            h: (*header).into(),
            i: step,
            leaf: to_sol(&leaves[step as usize]),
            proof: loft_stf::steps_proof(leaves, step as usize).unwrap(),
        };
        loft_l1::send_and_confirm(
            &self.l1(0),
            TransactionRequest::default()
                .with_to(self.deployment.rollup)
                .with_input(call.abi_encode()),
        )
        .await
        .unwrap();
    }

    async fn bond(&self, who: Address) -> U256 {
        rollup_call(
            self.l1(0).as_dyn(),
            self.deployment.rollup,
            L1Rollup::bondOfCall { poster: who },
        )
        .await
        .unwrap()
    }

    /// The one `BatchesReverted` event so far.
    async fn reverted(&self) -> L1Rollup::BatchesReverted {
        let logs = self
            .l1(0)
            .logs(
                &loft_l1::Filter::new()
                    .address(self.deployment.rollup)
                    .event_signature(L1Rollup::BatchesReverted::SIGNATURE_HASH)
                    .from_block(self.deployment.bridge_block),
            )
            .await
            .unwrap();
        assert_eq!(logs.len(), 1, "one revert");
        L1Rollup::BatchesReverted::decode_log(&logs[0].inner)
            .unwrap()
            .data
    }
}

trait AsDyn {
    fn as_dyn(&self) -> &dyn L1Client;
}

impl AsDyn for EmbeddedL1 {
    fn as_dyn(&self) -> &dyn L1Client {
        self
    }
}

fn challenger<'a>(
    net: &Net,
    l1: &'a EmbeddedL1,
    queue: &'a [loft_contracts::QueueMessage],
) -> Challenger<'a> {
    Challenger {
        l1,
        rollup: net.deployment.rollup,
        from_block: net.deployment.bridge_block,
        params: loft_node::chain_params(&net.config),
        queue,
        leaves_rpc: None,
    }
}

/// Some honest history, then unposted transfers (a withdrawal-free batch of a few dozen steps).
async fn history(net: &Net) {
    net.deposit(1, 5).await;
    net.deposit(2, 5).await;
    for n in 0..4 {
        net.transfer(1, Address::with_last_byte(n as u8 + 1), 1_000)
            .await;
    }
    net.post_honest().await;
    for n in 0..12 {
        net.transfer(2, Address::with_last_byte(0x40 + n as u8), 7 + n)
            .await;
    }
}

/// The slash went exactly where the configuration says, and the sequencer can post no more.
async fn assert_slashed(net: &Net, index: u64) {
    let sequencer = net.keys[0].address();
    let bond = eth(1);
    let event = net.reverted().await;
    assert_eq!(event.fromIndex, index);
    assert_eq!(event.poster, sequencer);
    assert_eq!(event.challenger, net.keys[CHALLENGER].address());
    assert_eq!(event.slashed, bond);
    assert_eq!(
        event.reward,
        bond * U256::from(net.config.rollup.challenger_share_bps) / U256::from(10_000u64)
    );
    assert_eq!(net.bond(sequencer).await, U256::ZERO);
    let l1 = net.l1(0);
    assert!(
        rollup_call(
            l1.as_dyn(),
            net.deployment.rollup,
            L1Rollup::barredCall { poster: sequencer }
        )
        .await
        .unwrap()
    );
    assert_eq!(
        l1.balance(net.config.rollup.slash_sink).await.unwrap(),
        bond - event.reward,
        "the rest of the bond went to the sink"
    );
    let count = rollup_call(
        l1.as_dyn(),
        net.deployment.rollup,
        L1Rollup::batchCountCall {},
    )
    .await
    .unwrap();
    assert_eq!(count, index, "the bad batch and its successors are gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_final_root_is_proved_by_the_last_leaf() {
    let net = start().await;
    history(&net).await;
    net.post_forged(|_| {}, Some(B256::repeat_byte(0x66))).await;
    let mut verifier = net.verifier();
    let case = net.case(&mut verifier).await;
    let queue = net.queue().await;
    let l1 = net.l1(CHALLENGER);
    let progress = challenger(&net, &l1, &queue).round(&case).await.unwrap();
    match progress {
        Progress::Proved {
            method, gas_used, ..
        } => {
            assert_eq!(method, "proveLastLeaf");
            println!("proveLastLeaf: {gas_used} gas");
        }
        p => panic!("{p:?}"),
    }
    assert_slashed(&net, case.header.index).await;
    // The game is over for this batch.
    assert_eq!(
        challenger(&net, &l1, &queue).round(&case).await.unwrap(),
        Progress::Gone
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_middle_step_is_found_by_openings_and_proved_by_re_execution() {
    let net = start().await;
    history(&net).await;
    let wrong = 9usize;
    let leaves = net
        .post_forged(
            |l| {
                // A credit from nowhere at step 9, carried into every later root.
                for leaf in &mut l[wrong..] {
                    leaf.state_root = alloy::primitives::keccak256(leaf.state_root);
                }
            },
            None,
        )
        .await;
    let mut verifier = net.verifier();
    let case = net.case(&mut verifier).await;
    let queue = net.queue().await;
    let l1 = net.l1(CHALLENGER);
    let c = challenger(&net, &l1, &queue);
    let mut openings = 0;
    loop {
        match c.round(&case).await.unwrap() {
            Progress::Requested { step, .. } => {
                openings += 1;
                assert!(
                    openings <= 8,
                    "too many openings for {} steps",
                    leaves.len()
                );
                net.open(&case.header, &leaves, step).await;
            }
            Progress::Proved {
                method,
                step,
                gas_used,
                ..
            } => {
                assert_eq!(method, "proveStep");
                assert_eq!(step, wrong as u64);
                println!(
                    "proveStep on step {step} of {} after {openings} openings: {gas_used} gas",
                    leaves.len()
                );
                break;
            }
            p => panic!("{p:?}"),
        }
    }
    // Answered request bonds went to the poster's bond, and were slashed with it.
    let event = net.reverted().await;
    let request_bond = eth(1) / U256::from(10u64);
    assert_eq!(event.slashed, eth(1) + request_bond * U256::from(openings));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_opening_reverts_the_batch() {
    let net = start().await;
    history(&net).await;
    net.post_forged(|l| l[3].data_end += 1, None).await;
    let mut verifier = net.verifier();
    let case = net.case(&mut verifier).await;
    let queue = net.queue().await;
    let l1 = net.l1(CHALLENGER);
    let c = challenger(&net, &l1, &queue);
    let step = match c.round(&case).await.unwrap() {
        Progress::Requested { step, .. } => step,
        p => panic!("{p:?}"),
    };
    // Still within the window: wait. After it: claim.
    let deadline = match c.round(&case).await.unwrap() {
        Progress::Waiting { step: s, deadline } if s == step => deadline,
        p => panic!("{p:?}"),
    };
    // (Each embedded block is at least a second after its parent, so the dev chain's clock runs
    // ahead of the wall clock here: set the time rather than advance it.)
    l1.set_next_block_timestamp(deadline).await.unwrap();
    l1.mine(1).await.unwrap();
    match c.round(&case).await.unwrap() {
        Progress::ClaimedUnanswered { step: s, .. } => assert_eq!(s, step),
        p => panic!("{p:?}"),
    }
    let event = net.reverted().await;
    assert_eq!(event.challenger, net.keys[CHALLENGER].address());
    assert_eq!(event.slashed, eth(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_batch_cannot_be_reverted() {
    let net = start().await;
    history(&net).await;
    net.post_honest().await;
    let mut verifier = net.verifier();
    verifier.sync().await.unwrap();
    // One more honest batch, posted through the same path as the forged ones but untouched.
    for _ in 12..20 {
        net.transfer(2, Address::with_last_byte(0x70), 1).await;
    }
    let leaves = net.post_forged(|_| {}, None).await;
    let l1 = net.l1(CHALLENGER);
    let latest = l1.block_number().await.unwrap();
    let posted = loft_contracts::read_batches(&l1, net.deployment.rollup, 0, latest)
        .await
        .unwrap();
    let last = posted.last().unwrap().clone();
    let tx = l1
        .transaction(last.transaction_hash.unwrap())
        .await
        .unwrap()
        .unwrap();
    let (_, data) = loft_contracts::decode_submit_batch(&tx.input).unwrap();
    // Pretend the verifier called it wrong: the challenger still finds nothing to prove.
    let case = Case {
        header: last.header,
        data,
        blobs: Vec::new(),
        state: verifier.state().clone(),
    };
    assert_eq!(case.state.root_hash(), last.header.prev_state_root);
    let queue = net.queue().await;
    let progress = challenger(&net, &l1, &queue).round(&case).await.unwrap();
    assert!(matches!(progress, Progress::Stuck(_)), "{progress:?}");
    // And L1 refuses every proof against it: the true last leaf, a true step count.
    let h: L1Rollup::BatchHeader = last.header.into();
    let n = leaves.len();
    let calls: Vec<Vec<u8>> = vec![
        L1Rollup::proveLastLeafCall {
            h: h.clone(),
            leaf: to_sol(&leaves[n - 1]),
            proof: loft_stf::steps_proof(&leaves, n - 1).unwrap(),
        }
        .abi_encode(),
        L1Rollup::proveStepCountCall {
            h: h.clone(),
            i: 0,
            leafHash: leaves[0].hash(),
            proof: loft_stf::steps_proof(&leaves, 0).unwrap(),
        }
        .abi_encode(),
    ];
    for call in calls {
        let err = loft_l1::send_and_confirm(
            &l1,
            TransactionRequest::default()
                .with_to(net.deployment.rollup)
                .with_input(call),
        )
        .await
        .unwrap_err();
        match err {
            L1Error::Reverted { data, .. } => assert_eq!(
                loft_challenger::driver::rollup_error(&data).as_deref(),
                Some("NotFraud(NotFraud)")
            ),
            e => panic!("{e}"),
        }
    }
    // Nor does re-executing any of its steps: proveStep with the true leaves and a true
    // witness is refused as NotFraud at every step.
    let queue_inputs = |i: u64| {
        queue.get(i as usize).map(|m| loft_fraud::QueueMessage {
            kind: m.kind,
            sender: m.sender,
            l1_block_number: m.l1_block_number,
            timestamp: m.timestamp,
            payload: m.payload.clone(),
        })
    };
    let params = loft_node::chain_params(&net.config);
    // The honest state after every step, from one replay.
    let mut after = Vec::new();
    let mut scratch = case.state.clone();
    loft_derive::replay(
        &mut scratch,
        &params,
        last.header.queue_start,
        last.header.queue_end,
        &case.data,
        &|i| {
            queue.get(i as usize).map(|m| loft_stf::QueueInput {
                index: m.index,
                kind: m.kind,
                sender: m.sender,
                payload: m.payload.clone(),
            })
        },
        loft_derive::ReplayOptions::default(),
        &mut |_, st| {
            after.push(st.clone());
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(after.len(), n);
    let initial = StepLeaf::initial(last.header.queue_start, last.header.prev_state_root);
    for step in 0..n {
        let (prev, state) = if step == 0 {
            (initial, &case.state)
        } else {
            (leaves[step - 1], &after[step - 1])
        };
        assert_eq!(prev.w_count, 0, "this batch withdraws nothing");
        let message = queue_inputs(prev.queue_pos);
        let built = loft_fraud::build_step_witness(
            state,
            &params,
            &prev,
            &loft_fraud::StepInput {
                data: &case.data,
                blobs: None,
                queue_end: last.header.queue_end,
                message: message.as_ref(),
                withdrawals: &[],
            },
        )
        .unwrap();
        assert!(
            built.valid && built.next == leaves[step],
            "step {step} re-executes"
        );
        let call = L1Rollup::proveStepCall {
            h: h.clone(),
            i: step as u64,
            prev: to_sol(&prev),
            prevProof: if step == 0 {
                vec![]
            } else {
                loft_stf::steps_proof(&leaves, step - 1).unwrap()
            },
            leaf: to_sol(&leaves[step]),
            leafProof: loft_stf::steps_proof(&leaves, step).unwrap(),
            witness: built.witness.into(),
        };
        let err = loft_l1::send_and_confirm(
            &l1,
            TransactionRequest::default()
                .with_to(net.deployment.rollup)
                .with_input(call.abi_encode()),
        )
        .await
        .unwrap_err();
        match err {
            L1Error::Reverted { data, .. } => assert_eq!(
                loft_challenger::driver::rollup_error(&data).as_deref(),
                Some("NotFraud(NotFraud)"),
                "step {step}"
            ),
            e => panic!("step {step}: {e}"),
        }
    }
    assert_eq!(net.bond(net.keys[0].address()).await, eth(1));
}
