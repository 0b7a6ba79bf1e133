//! A verifier rebuilds the L2 from L1 alone: the real sequencer node posts batches to the real
//! embedded L1, and a verifier that shares nothing with it but the L1 replays them, matches every
//! commitment, and names the fault of a batch posted with a wrong claim; it follows a fraud proof
//! that reverts that batch, checks the batch posted again in its place, and serves what it
//! verified over JSON-RPC.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use loft_contracts::{BatchHeader, DevToken, L1Bridge, L1Rollup};
use loft_derive::{Fault, Verdict, Verifier};
use loft_node::batcher;
use loft_state::StateRead;
use loft_testnet::{Options, TestNet};

/// The test's devnet, with this file's own helpers.
struct Net(TestNet);

impl std::ops::Deref for Net {
    type Target = TestNet;
    fn deref(&self) -> &TestNet {
        &self.0
    }
}

async fn start() -> Net {
    start_with(false).await
}

/// A devnet (with the dev ERC-20 when `dev_token`) whose batches stay challengeable for the test.
async fn start_with(dev_token: bool) -> Net {
    Net(TestNet::start(Options {
        dev_token,
        ..Options::default()
    })
    .await)
}

impl Net {
    fn verifier(&self, dir: &tempfile::TempDir) -> Verifier {
        self.verifier_at(&dir.path().join("verifier.redb"), 9)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_rebuilds_every_batch_from_l1_and_matches_every_root() {
    let net = start().await;
    net.deposit(1, 5).await;
    net.deposit(2, 5).await;
    for n in 0..40 {
        net.transfer(1, Address::with_last_byte(n as u8 + 1), 1_000 + n)
            .await;
        if n % 10 == 9 {
            net.post_all().await;
        }
    }
    for _ in 0..15 {
        net.transfer(2, net.keys[1].address(), 7).await;
    }
    assert!(!net.post_all().await.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let mut verifier = net.verifier(&dir);
    let report = verifier.sync().await.unwrap();
    println!(
        "verified {} batches, {} transactions in {:.3} s ({:.0} tx/s)",
        report.batches,
        report.transactions,
        report.seconds,
        report.tx_per_sec()
    );
    assert_eq!(report.transactions, 55);
    assert!(
        verifier
            .checked()
            .iter()
            .all(|b| b.verdict == Verdict::Valid)
    );
    assert_eq!(verifier.fraud_at(), None);
    let head = net.node.shared.sequencer().head().header.state_root;
    assert_eq!(
        verifier.state_root(),
        head,
        "the verifier's state is the sequencer's"
    );

    // A restarted verifier continues where it stopped and checks only what is new.
    drop(verifier);
    net.transfer(1, Address::with_last_byte(0xaa), 1).await;
    net.post_all().await;
    let mut verifier = net.verifier(&dir);
    let report = verifier.sync().await.unwrap();
    assert_eq!(report.transactions, 1);
    assert_eq!(
        verifier.state_root(),
        net.node.shared.sequencer().head().header.state_root
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_claiming_a_wrong_state_root_is_found_and_named() {
    let net = start().await;
    net.deposit(1, 5).await;
    net.post_all().await;
    net.transfer(1, Address::with_last_byte(9), 1_000).await;
    // Seal, then post the honest data with a forged final state root.
    net.seal().await;
    let shared = &net.node.shared;
    let head = shared.sequencer().head().number;
    let first = loft_contracts::rollup_call(
        shared.l1.as_ref(),
        shared.rollup(),
        loft_contracts::L1Rollup::lastBlockCall {},
    )
    .await
    .unwrap()
        + 1;
    let batch = batcher::prepare(shared, first, head).unwrap().unwrap();
    let last = batch.blocks.last().unwrap();
    let forged = B256::repeat_byte(0x66);
    let input = loft_contracts::BatchInput {
        state_root: forged,
        withdrawal_root: batch.withdrawal_root,
        step_roots_root: batch.steps_root,
        queue_end: last.queue_end,
        first_block: first,
        last_block: last.number,
        step_count: batch.step_count,
        base_fee: shared.config.l2.base_fee.into(),
    };
    let receipt = shared
        .l1
        .send_transaction(
            TransactionRequest::default()
                .with_to(shared.rollup())
                .with_input(loft_contracts::submit_batch_calldata(&input, &batch.data)),
        )
        .await
        .unwrap();
    assert!(receipt.status());

    let dir = tempfile::tempdir().unwrap();
    let mut verifier = net.verifier(&dir);
    verifier.sync().await.unwrap();
    let checked = verifier.checked();
    assert_eq!(checked[0].verdict, Verdict::Valid);
    assert_eq!(
        checked[1].verdict,
        Verdict::Fraud(Fault::StateRoot {
            claimed: forged,
            derived: last.header.state_root
        })
    );
    assert_eq!(verifier.fraud_at(), Some(1));
    // The verifier's state stays at the last valid batch.
    assert_eq!(verifier.state_root(), checked[0].header.state_root);
}

impl Net {
    /// Posts every sealed block not on L1 as one batch, from L1 account `key`, claiming
    /// `forged_root` as its state root if given. Returns the header L1 derived and the honest
    /// step leaves.
    async fn post_as(
        &self,
        key: usize,
        forged_root: Option<B256>,
    ) -> (BatchHeader, Vec<loft_stf::StepLeaf>) {
        self.seal().await;
        let shared = &self.node.shared;
        let head = shared.sequencer().head().number;
        let first =
            loft_contracts::rollup_call(&self.l1(key), shared.rollup(), L1Rollup::lastBlockCall {})
                .await
                .unwrap()
                + 1;
        let batch = batcher::prepare(shared, first, head).unwrap().unwrap();
        let last = batch.blocks.last().unwrap();
        let input = loft_contracts::BatchInput {
            state_root: forged_root.unwrap_or(last.header.state_root),
            withdrawal_root: batch.withdrawal_root,
            step_roots_root: batch.steps_root,
            queue_end: last.queue_end,
            first_block: first,
            last_block: last.number,
            step_count: batch.step_count,
            base_fee: shared.config.l2.base_fee.into(),
        };
        let receipt = loft_l1::send_and_confirm(
            &self.l1(key),
            TransactionRequest::default()
                .with_to(shared.rollup())
                .with_input(loft_contracts::submit_batch_calldata(&input, &batch.data)),
        )
        .await
        .unwrap();
        let submitted = receipt
            .inner
            .logs()
            .iter()
            .find_map(|l| loft_contracts::SubmittedBatch::from_log(l).ok())
            .unwrap();
        (submitted.header, batch.leaves)
    }

    /// Proves on L1, as account `key`, that the last of `leaves` contradicts `header`.
    async fn prove_last_leaf(
        &self,
        key: usize,
        header: &BatchHeader,
        leaves: &[loft_stf::StepLeaf],
    ) {
        let last = leaves.len() - 1;
        let l = leaves[last];
        let call = L1Rollup::proveLastLeafCall {
            h: (*header).into(),
            leaf: l.into(),
            proof: loft_stf::steps_proof(leaves, last).unwrap(),
        };
        loft_l1::send_and_confirm(
            &self.l1(key),
            TransactionRequest::default()
                .with_to(self.deployment.rollup)
                .with_input(call.abi_encode()),
        )
        .await
        .unwrap();
    }

    /// Registers L1 account `key` as an operator (bond and the sequencer's bid), so it is
    /// active once the sequencer is barred.
    async fn bond(&self, key: usize) {
        loft_l1::send_and_confirm(
            &self.l1(key),
            TransactionRequest::default()
                .with_to(self.deployment.rollup)
                .with_value(U256::from(self.config.rollup.bond_gwei) * U256::from(1_000_000_000u64))
                .with_input(
                    L1Rollup::registerOperatorCall {
                        bid: U256::from(self.config.l2.base_fee),
                    }
                    .abi_encode(),
                ),
        )
        .await
        .unwrap();
    }

    /// Deposits `amount` of the dev ERC-20 from L1 account `key` to itself on L2.
    async fn deposit_token(&self, key: usize, amount: U256) -> Address {
        let token = self.deployment.dev_token.unwrap();
        let l1 = self.l1(key);
        let me = self.keys[key].address();
        for input in [
            DevToken::mintCall { to: me, amount }.abi_encode(),
            DevToken::approveCall {
                spender: self.deployment.bridge,
                value: amount,
            }
            .abi_encode(),
        ] {
            loft_l1::send_and_confirm(
                &l1,
                TransactionRequest::default()
                    .with_to(token)
                    .with_input(input),
            )
            .await
            .unwrap();
        }
        loft_l1::send_and_confirm(
            &l1,
            TransactionRequest::default()
                .with_to(self.deployment.bridge)
                .with_input(
                    L1Bridge::depositERC20Call {
                        token,
                        l2Recipient: me,
                        amount,
                    }
                    .abi_encode(),
                ),
        )
        .await
        .unwrap();
        let l2_token = loft_state::layout::l2_token_address(token);
        for _ in 0..500 {
            if self
                .node
                .shared
                .sequencer()
                .state()
                .token_balance(me, l2_token)
                .unwrap()
                >= amount
            {
                return l2_token;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("token deposit not credited on L2");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_follows_a_fraud_proof_and_checks_the_batch_posted_again() {
    let net = start().await;
    net.deposit(1, 5).await;
    net.post_as(0, None).await;
    net.transfer(1, Address::with_last_byte(9), 1_000).await;
    net.transfer(1, Address::with_last_byte(10), 2_000).await;
    let forged = B256::repeat_byte(0x66);
    let (bad, leaves) = net.post_as(0, Some(forged)).await;
    let honest_root = leaves.last().unwrap().state_root;

    let dir = tempfile::tempdir().unwrap();
    let mut verifier = net.verifier(&dir);
    verifier.sync().await.unwrap();
    assert_eq!(verifier.fraud_at(), Some(1));
    let case = verifier
        .pending_fraud()
        .expect("the forged batch is pending");
    assert_eq!(case.header, bad);
    assert_eq!(
        case.fault,
        Fault::StateRoot {
            claimed: forged,
            derived: honest_root
        }
    );
    assert_eq!(case.prev_state_root, bad.prev_state_root);
    assert_eq!(case.prev_state_root, verifier.state_root());
    assert_eq!(case.data.len() as u64, bad.data_length);
    // The tree before the batch is readable, and replaying the case on it gives the honest root.
    let mut before = verifier.state_at(case.prev_state_root);
    let queue = verifier.queue().to_vec();
    let lookup = |i: u64| {
        queue.get(i as usize).map(|m| loft_stf::QueueInput {
            index: m.index,
            kind: m.kind,
            sender: m.sender,
            payload: m.payload.clone(),
        })
    };
    let replayed = loft_derive::derive_batch(
        &mut before,
        &loft_node::chain_params(&net.config),
        &BatchHeader {
            state_root: honest_root,
            ..case.header
        },
        &case.data,
        &lookup,
    )
    .unwrap()
    .unwrap();
    assert_eq!(replayed.leaves, leaves);
    assert_eq!(
        verifier.queue_message(0).map(|m| m.index),
        Some(0),
        "the deposit is in the queue"
    );

    // A restarted verifier still has the case (views of the tree share its database: drop them).
    drop((before, verifier));
    let mut verifier = net.verifier(&dir);
    assert_eq!(verifier.pending_fraud(), Some(case.clone()));
    assert_eq!(verifier.fraud_at(), Some(1));

    // A challenger proves it on L1: the batch is deleted, the sequencer barred.
    net.prove_last_leaf(8, &case.header, &leaves).await;
    let report = verifier.sync().await.unwrap();
    assert_eq!(report.reverted, 1);
    assert_eq!(verifier.fraud_at(), None);
    assert_eq!(verifier.pending_fraud(), None);
    assert_eq!(verifier.batch_count(), 1);
    assert_eq!(verifier.next_batch(), 1);
    assert_eq!(verifier.state_root(), bad.prev_state_root);
    assert_eq!(verifier.batch(1).unwrap(), None, "the bad verdict is gone");

    // Another bonded account posts the same blocks honestly at the same index.
    net.bond(3).await;
    let (again, _) = net.post_as(3, None).await;
    assert_eq!(again.index, 1);
    let report = verifier.sync().await.unwrap();
    assert_eq!(report.batches, 1);
    assert_eq!(report.transactions, 2);
    assert_eq!(verifier.fraud_at(), None);
    let batches = verifier.batches().unwrap();
    assert_eq!(batches.len(), 2);
    assert!(batches.iter().all(|b| b.verdict == Verdict::Valid));
    assert_eq!(batches[1].header, again);
    assert_eq!(
        verifier.state_root(),
        net.node.shared.sequencer().head().header.state_root
    );

    // Restarted, it resumes there; a new verifier reads submit, revert, submit in log order and
    // ends in the same place.
    drop(verifier);
    let mut verifier = net.verifier(&dir);
    assert_eq!(verifier.sync().await.unwrap().batches, 0);
    assert_eq!(verifier.batches().unwrap(), batches);
    let fresh_dir = tempfile::tempdir().unwrap();
    let mut fresh = net.verifier(&fresh_dir);
    let report = fresh.sync().await.unwrap();
    assert_eq!((report.batches, report.reverted), (3, 1));
    assert_eq!(fresh.batches().unwrap(), batches);
    assert_eq!(fresh.state_root(), verifier.state_root());
    let kinds: Vec<_> = fresh.checked().iter().map(|b| b.verdict.clone()).collect();
    assert!(matches!(
        kinds.as_slice(),
        [
            Verdict::Valid,
            Verdict::Fraud(Fault::StateRoot { .. }),
            Verdict::Valid
        ]
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verifier_rpc_serves_the_verified_state_over_http() {
    let net = start_with(true).await;
    net.deposit(1, 5).await;
    let l2_token = net.deposit_token(2, U256::from(1_000_000u64)).await;
    net.transfer(1, Address::with_last_byte(9), 1_000).await;
    let (first, _) = net.post_as(0, None).await;
    let after_first = net.node.shared.sequencer().head().header.state_root;
    net.transfer(1, Address::with_last_byte(9), 500).await;
    net.post_as(0, None).await;

    let dir = tempfile::tempdir().unwrap();
    let mut verifier = net.verifier(&dir);
    let (addr, server) = loft_derive::rpc::serve(
        verifier.handle(),
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    )
    .await
    .unwrap();
    let url = format!("http://{addr}");
    let rpc = ProviderBuilder::new().connect_http(url.parse().unwrap());

    // Before any sync: the genesis state.
    assert_eq!(rpc.get_chain_id().await.unwrap(), net.config.l2.chain_id);
    let user = net.keys[1].address();
    assert_eq!(rpc.get_balance(user).await.unwrap(), U256::ZERO);

    verifier.sync().await.unwrap();
    // (The sequencer's guard is not held across an await: the node's tasks need it.)
    let want = net.node.shared.sequencer().balance(user).unwrap();
    assert!(want > U256::ZERO);
    assert_eq!(rpc.get_balance(user).await.unwrap(), want);
    assert_eq!(rpc.get_transaction_count(user).await.unwrap(), 2);
    assert_eq!(
        rpc.get_balance(Address::with_last_byte(9)).await.unwrap(),
        U256::from(1_500u64)
    );
    // The token balance, through the ERC-20 view as on the node.
    let holder = net.keys[2].address();
    let out = rpc
        .call(
            TransactionRequest::default().with_to(l2_token).with_input(
                loft_derive::rpc::IErc20::balanceOfCall { account: holder }.abi_encode(),
            ),
        )
        .await
        .unwrap();
    assert_eq!(U256::from_be_slice(&out), U256::from(1_000_000u64));
    // At the end of the first batch, and where the verifier has no state.
    assert_eq!(
        rpc.get_balance(Address::with_last_byte(9))
            .number(first.last_block)
            .await
            .unwrap(),
        U256::from(1_000u64)
    );
    let first_root: B256 = verifier.batch(0).unwrap().unwrap().state_root.unwrap();
    assert_eq!(first_root, after_first);
    let err = rpc
        .get_balance(user)
        .number(first.last_block + 1_000)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("-32001") || err.to_string().contains("not the last block"),
        "{err}"
    );

    // A wrong batch shows in the status, and the served state stays the verified one.
    net.transfer(1, Address::with_last_byte(9), 7).await;
    net.post_as(0, Some(B256::repeat_byte(0x77))).await;
    verifier.sync().await.unwrap();
    let status: serde_json::Value = rpc
        .raw_request("loft_verifierStatus".into(), ())
        .await
        .unwrap();
    println!("{status:#}");
    assert_eq!(status["nextBatch"], 2);
    assert_eq!(status["batchCount"], 3);
    assert_eq!(status["fraudAt"], 2);
    assert_eq!(
        status["stateRoot"],
        serde_json::json!(verifier.state_root())
    );
    assert_eq!(status["l1Block"], verifier.l1_block());
    let batches = status["batches"].as_array().unwrap();
    assert_eq!(batches.len(), 3);
    assert_eq!(batches[0]["verdict"], "valid");
    assert_eq!(batches[1]["verdict"], "valid");
    assert_eq!(batches[2]["verdict"], "fraud");
    assert_eq!(batches[2]["fault"]["kind"], "stateRoot");
    assert_eq!(
        rpc.get_balance(Address::with_last_byte(9)).await.unwrap(),
        U256::from(1_500u64)
    );
    let page: serde_json::Value = rpc
        .raw_request("loft_verifierStatus".into(), (1, 1))
        .await
        .unwrap();
    assert_eq!(page["batches"].as_array().unwrap().len(), 1);
    assert_eq!(page["batches"][0]["index"], 1);
    // Nothing here writes.
    let err = rpc
        .raw_request::<_, serde_json::Value>("eth_sendRawTransaction".into(), ("0x00",))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("-32601") || err.to_string().contains("not found"),
        "{err}"
    );
    server.stop().unwrap();
}
