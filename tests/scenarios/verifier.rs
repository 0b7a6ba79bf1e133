//! `loft node --role verifier` against a running devnet: it rebuilds the L2 from the L1 alone
//! (it never talks to the sequencer) and finds every posted batch valid.

use std::time::Duration;

use loft_e2e::{Devnet, cast, dev_address, dev_key, loft_bin, run_loft, wait_until};

fn key_hex(i: u32) -> String {
    format!("0x{}", alloy::hex::encode(dev_key(i).to_bytes()))
}

#[test]
fn a_verifier_replays_the_devnet_from_l1_alone() {
    let devnet = Devnet::start(&loft_bin!(), &["--no-demo"]);
    let (l1, l2) = (devnet.url.as_str(), devnet.l2_url.as_str());
    cast(&[
        "send",
        &devnet.deployment.bridge.to_string(),
        "depositETH(address)",
        &dev_address(1).to_string(),
        "--value",
        "3ether",
        "--private-key",
        &key_hex(1),
        "--rpc-url",
        l1,
    ]);
    wait_until(Duration::from_secs(60), "the deposit on L2", || {
        (cast(&["balance", &dev_address(1).to_string(), "--rpc-url", l2]) != "0").then_some(())
    });
    let mut last = String::new();
    for i in 0..5u8 {
        let out = cast(&[
            "send",
            "--json",
            &format!("0x00000000000000000000000000000000000000{:02x}", i + 1),
            "--value",
            "0.01ether",
            "--private-key",
            &key_hex(1),
            "--rpc-url",
            l2,
        ]);
        let receipt: serde_json::Value = serde_json::from_str(&out).unwrap();
        last = receipt["transactionHash"].as_str().unwrap().to_string();
    }
    wait_until(
        Duration::from_secs(60),
        "the transfers in an L1 batch",
        || {
            let status = cast(&["rpc", "loft_transactionStatus", &last, "--rpc-url", l2]);
            (status.contains("batched") || status.contains("final")).then_some(())
        },
    );

    let data = tempfile::tempdir().unwrap();
    let deployment = devnet.dir.path().join("deployment.json");
    let out = run_loft(
        &loft_bin!(),
        &[
            "node",
            "--role",
            "verifier",
            "--l1-rpc",
            l1,
            "--deployment",
            deployment.to_str().unwrap(),
            "--data-dir",
            data.path().to_str().unwrap(),
            "--once",
        ],
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("batches valid"), "{stdout}");
    assert!(!stdout.contains("WRONG"), "{stdout}");
    assert!(stdout.contains("transactions replayed from L1"), "{stdout}");
}

/// An in-process devnet on anvil: the sequencer node (`crates/node`) over a JSON-RPC L1, posting
/// only when told, so the test decides which L1 block holds which batch.
mod on_anvil {
    use std::net::{Ipv4Addr, SocketAddr};
    use std::sync::Arc;
    use std::time::Duration;

    use alloy::consensus::{SignableTransaction, Transaction as _, TxEip1559, TxEnvelope};
    use alloy::eips::eip2718::Encodable2718;
    use alloy::network::{TransactionBuilder, TxSignerSync};
    use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
    use alloy::providers::Provider;
    use alloy::providers::ext::AnvilApi;
    use alloy::rpc::types::TransactionRequest;
    use alloy::rpc::types::anvil::{ReorgOptions, TransactionData};
    use alloy::sol_types::SolCall;
    use loft_config::ChainConfig;
    use loft_contracts::{BatchHeader, L1Bridge, L1Rollup};
    use loft_derive::{Fault, Verdict, Verifier};
    use loft_e2e::{Anvil, dev_key};
    use loft_l1::L1Client;
    use loft_l1_rpc::{RpcL1, RpcL1Config};
    use loft_node::{Node, NodeConfig, batcher};

    pub(super) struct Net {
        pub(super) anvil: Anvil,
        pub(super) l1: RpcL1,
        pub(super) node: Node,
        pub(super) deployment: loft_contracts::Deployment,
        pub(super) config: ChainConfig,
        pub(super) dir: tempfile::TempDir,
    }

    pub(super) async fn connect(url: &str, key: u32, config: &ChainConfig) -> RpcL1 {
        let mut c = RpcL1Config::new(url);
        c.expected_chain_id = Some(config.l1.chain_id);
        RpcL1::connect(c, dev_key(key)).await.unwrap()
    }

    pub(super) async fn start() -> Net {
        let mut config = ChainConfig::devnet();
        config.rollup.challenge_period_secs = 600;
        config.rollup.response_window_secs = 30;
        let anvil = Anvil::start(config.l1.chain_id);
        let l1 = connect(&anvil.url, 0, &config).await;
        let deployment = loft_contracts::deploy(&l1, loft_node::deploy_options(&config))
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let node = Node::start(
            NodeConfig {
                chain: config.clone(),
                deployment: deployment.clone(),
                data_dir: dir.path().join("node"),
                rpc_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                post_batches: false,
            },
            Arc::new(connect(&anvil.url, 0, &config).await),
        )
        .await
        .unwrap();
        Net {
            anvil,
            l1,
            node,
            deployment,
            config,
            dir,
        }
    }

    impl Net {
        pub(super) async fn deposit(&self, key: u32, wei: U256) {
            let user = connect(&self.anvil.url, key, &self.config).await;
            let to = dev_key(key).address();
            loft_l1::send_and_confirm(
                &user,
                TransactionRequest::default()
                    .with_to(self.deployment.bridge)
                    .with_value(wei)
                    .with_input(L1Bridge::depositETHCall { l2Recipient: to }.abi_encode()),
            )
            .await
            .unwrap();
            for _ in 0..1_000 {
                if self.node.shared.sequencer().balance(to).unwrap() >= wei {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            panic!("deposit not credited on L2");
        }

        pub(super) async fn transfer(&self, key: u32, nonce: u64, to: Address, value: u64) {
            let mut tx = TxEip1559 {
                chain_id: self.config.l2.chain_id,
                nonce,
                gas_limit: 21_000,
                max_fee_per_gas: 2_000_000_000,
                to: TxKind::Call(to),
                value: U256::from(value),
                ..Default::default()
            };
            let sig = dev_key(key).sign_transaction_sync(&mut tx).unwrap();
            let raw: Bytes = TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into();
            let (_, durable) = self.node.shared.sequencer().submit(raw).unwrap();
            self.node.shared.request_flush();
            durable.await.unwrap().unwrap();
        }

        /// Waits until every step the node took is in a sealed block.
        pub(super) async fn seal(&self) {
            for _ in 0..1_000 {
                if !self.node.shared.sequencer().has_open_block() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("the open L2 block was not sealed within 10 s");
        }

        /// Posts every sealed block as one batch; returns its header and L1 transaction.
        pub(super) async fn post(&self) -> (BatchHeader, B256) {
            self.seal().await;
            let record = batcher::post_next(&self.node.shared)
                .await
                .unwrap()
                .expect("blocks to post");
            let receipt = self.l1.receipt(record.l1_tx).await.unwrap().unwrap();
            let header = receipt
                .inner
                .logs()
                .iter()
                .find_map(|l| loft_contracts::SubmittedBatch::from_log(l).ok())
                .unwrap()
                .header;
            (header, record.l1_tx)
        }

        /// The same blocks as `header`'s batch, claiming `state_root`, as a raw transaction
        /// signed by the sequencer with `nonce`.
        pub(super) fn forged(&self, header: &BatchHeader, state_root: B256, nonce: u64) -> Bytes {
            let shared = &self.node.shared;
            let batch = batcher::prepare(shared, header.first_block, header.last_block)
                .unwrap()
                .unwrap();
            assert_eq!(batch.blocks.last().unwrap().number, header.last_block);
            let input = loft_contracts::BatchInput {
                state_root,
                withdrawal_root: batch.withdrawal_root,
                step_roots_root: batch.steps_root,
                queue_end: header.queue_end,
                first_block: header.first_block,
                last_block: header.last_block,
                step_count: batch.step_count,
                base_fee: header.base_fee,
            };
            let mut tx = TxEip1559 {
                chain_id: self.config.l1.chain_id,
                nonce,
                gas_limit: 3_000_000,
                max_fee_per_gas: 100_000_000_000,
                max_priority_fee_per_gas: 1_000_000_000,
                to: TxKind::Call(self.deployment.rollup),
                input: loft_contracts::submit_batch_calldata(&input, &batch.data),
                ..Default::default()
            };
            let sig = dev_key(0).sign_transaction_sync(&mut tx).unwrap();
            TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into()
        }

        /// Replaces the newest `depth` L1 blocks; `txs` go into the first new one.
        pub(super) async fn reorg(&self, depth: u64, txs: Vec<Bytes>) {
            let before = self.l1.block_number().await.unwrap();
            self.l1
                .provider()
                .anvil_reorg(ReorgOptions {
                    depth,
                    tx_block_pairs: txs
                        .into_iter()
                        .map(|t| (TransactionData::Raw(t), 0))
                        .collect(),
                })
                .await
                .unwrap();
            assert_eq!(
                self.l1.block_number().await.unwrap(),
                before,
                "a reorg keeps the height"
            );
        }

        pub(super) async fn verifier(&self, name: &str, confirmations: u64) -> Verifier {
            let l1 = connect(&self.anvil.url, 9, &self.config).await;
            Verifier::open(
                &self.dir.path().join(format!("{name}.redb")),
                Arc::new(l1),
                self.deployment.clone(),
                loft_node::chain_params(&self.config),
            )
            .unwrap()
            .with_confirmations(confirmations)
        }

        pub(super) async fn live_count(&self) -> u64 {
            loft_contracts::rollup_call(
                &self.l1,
                self.deployment.rollup,
                L1Rollup::batchCountCall {},
            )
            .await
            .unwrap()
        }
    }

    impl Net {
        /// Proves on L1, as dev account `key`, that the honest last leaf contradicts `header`.
        pub(super) async fn prove_last_leaf(&self, key: u32, header: &BatchHeader) {
            let batch = batcher::prepare(&self.node.shared, header.first_block, header.last_block)
                .unwrap()
                .unwrap();
            let leaves = batch.leaves;
            let last = leaves.len() - 1;
            let l = leaves[last];
            let call = L1Rollup::proveLastLeafCall {
                h: (*header).into(),
                leaf: l.into(),
                proof: loft_stf::steps_proof(&leaves, last).unwrap(),
            };
            let challenger = connect(&self.anvil.url, key, &self.config).await;
            loft_l1::send_and_confirm(
                &challenger,
                TransactionRequest::default()
                    .with_to(self.deployment.rollup)
                    .with_input(call.abi_encode()),
            )
            .await
            .unwrap();
        }
    }

    /// The block of a transaction sent raw.
    pub(super) async fn wait_for_receipt(l1: &RpcL1, tx: B256) -> u64 {
        for _ in 0..500 {
            if let Some(r) = l1.receipt(tx).await.unwrap() {
                assert!(r.status(), "transaction {tx} reverted");
                return r.block_number.unwrap();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("transaction {tx} not mined");
    }

    pub(super) fn verdicts(v: &Verifier) -> Vec<Verdict> {
        v.batches()
            .unwrap()
            .into_iter()
            .map(|b| b.verdict)
            .collect()
    }

    pub(super) fn is_state_root_fault(v: &Verdict, claimed: B256) -> bool {
        matches!(v, Verdict::Fraud(Fault::StateRoot { claimed: c, .. }) if *c == claimed)
    }

    pub(super) async fn nonce_of(l1: &RpcL1, tx: B256) -> u64 {
        l1.provider()
            .get_transaction_by_hash(tx)
            .await
            .unwrap()
            .unwrap()
            .nonce()
    }
}

/// L1 reorganizes under a running verifier (anvil's `anvil_reorg`): the block that posted the last
/// batch is replaced by one posting a wrong batch at the same index, then by one posting the
/// honest batch again, then by an empty one. After each, the verifier's verdicts and state root are
/// those of the new chain, also for a verifier that was stopped across two reorgs, and a verifier
/// that waits for confirmations never sees a batch that is reorganized away within them. Its
/// JSON-RPC serves the state of the new chain at each step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_follows_l1_reorgs_on_anvil() {
    use alloy::primitives::{Address, B256, U256};
    use alloy::providers::{Provider, ProviderBuilder};
    use loft_derive::Verdict;
    use loft_l1::L1Client;
    use on_anvil::*;

    let net = start().await;
    let user = dev_address(1);
    net.deposit(1, U256::from(10u64).pow(U256::from(18u64)))
        .await;
    net.transfer(1, 0, Address::with_last_byte(0x11), 1_000)
        .await;
    let (b0, _) = net.post().await;
    net.transfer(1, 1, Address::with_last_byte(0x12), 2_000)
        .await;
    net.transfer(1, 2, Address::with_last_byte(0x12), 3_000)
        .await;
    let (b1, tx1) = net.post().await;
    let honest_root = net.node.shared.sequencer().head().header.state_root;
    assert_eq!(b1.index, 1);
    let raw1 = net
        .l1
        .provider()
        .get_raw_transaction_by_hash(tx1)
        .await
        .unwrap()
        .expect("anvil serves the raw batch transaction");
    let nonce1 = nonce_of(&net.l1, tx1).await;
    let b1_block = net
        .l1
        .receipt(tx1)
        .await
        .unwrap()
        .unwrap()
        .block_number
        .unwrap();
    let depth = net.l1.block_number().await.unwrap() - b1_block + 1;

    let mut verifier = net.verifier("follower", 0).await;
    let (addr, _server) = loft_derive::rpc::serve(
        verifier.handle(),
        std::net::SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, 0)),
    )
    .await
    .unwrap();
    let rpc = ProviderBuilder::new().connect_http(format!("http://{addr}").parse().unwrap());
    let mut late = net.verifier("stopped", 0).await;
    let mut patient = net.verifier("patient", depth).await;

    let report = verifier.sync().await.unwrap();
    assert_eq!(report.batches, 2);
    assert_eq!(verdicts(&verifier), [Verdict::Valid, Verdict::Valid]);
    assert_eq!(verifier.state_root(), honest_root);
    let recipient = Address::with_last_byte(0x12);
    assert_eq!(
        rpc.get_balance(recipient).await.unwrap(),
        U256::from(5_000u64)
    );
    late.sync().await.unwrap();
    assert_eq!(late.state_root(), honest_root);
    drop(late);
    patient.sync().await.unwrap();
    assert_eq!(patient.batch_count(), 1, "batch 1 is not deep enough yet");

    // 1. The block with batch 1 is replaced by one with a wrong batch 1.
    let forged = B256::repeat_byte(0x99);
    net.reorg(depth, vec![net.forged(&b1, forged, nonce1)])
        .await;
    assert_eq!(net.live_count().await, 2);
    let report = verifier.sync().await.unwrap();
    println!("after the first reorg: {report:?}");
    assert_eq!((report.reorgs, report.orphaned, report.batches), (1, 1, 1));
    let v = verdicts(&verifier);
    assert_eq!(v[0], Verdict::Valid);
    assert!(is_state_root_fault(&v[1], forged), "{v:?}");
    assert_eq!(verifier.fraud_at(), Some(1));
    assert_eq!(verifier.state_root(), b0.state_root);
    let case = verifier.pending_fraud().unwrap();
    assert_eq!(case.header.state_root, forged);
    assert_eq!(case.prev_state_root, b0.state_root);
    assert_eq!(rpc.get_balance(recipient).await.unwrap(), U256::ZERO);
    let status: serde_json::Value = rpc
        .raw_request("loft_verifierStatus".into(), ())
        .await
        .unwrap();
    assert_eq!(status["fraudAt"], 1);
    assert_eq!(status["batches"][1]["fault"]["kind"], "stateRoot");

    // 2. ... and by one with the honest batch 1 again.
    net.reorg(depth, vec![raw1.clone()]).await;
    let report = verifier.sync().await.unwrap();
    assert_eq!((report.reorgs, report.orphaned, report.batches), (1, 1, 1));
    assert_eq!(verdicts(&verifier), [Verdict::Valid, Verdict::Valid]);
    assert_eq!(verifier.fraud_at(), None);
    assert_eq!(verifier.pending_fraud(), None);
    assert_eq!(verifier.state_root(), honest_root);
    assert_eq!(
        rpc.get_balance(recipient).await.unwrap(),
        U256::from(5_000u64)
    );
    assert_eq!(rpc.get_transaction_count(user).await.unwrap(), 3);

    // The verifier stopped before both reorgs finds its last blocks gone and follows too.
    let mut late = net.verifier("stopped", 0).await;
    let report = late.sync().await.unwrap();
    assert_eq!(report.reorgs, 1);
    assert_eq!(verdicts(&late), [Verdict::Valid, Verdict::Valid]);
    assert_eq!(late.state_root(), honest_root);
    assert_eq!(
        late.batches().unwrap()[1].header_hash,
        verifier.batches().unwrap()[1].header_hash
    );

    // 3. ... and by an empty block: batch 1 is gone from L1.
    net.reorg(depth, vec![]).await;
    assert_eq!(net.live_count().await, 1);
    let report = verifier.sync().await.unwrap();
    assert_eq!((report.reorgs, report.orphaned, report.batches), (1, 1, 0));
    assert_eq!(verdicts(&verifier), [Verdict::Valid]);
    assert_eq!(verifier.next_batch(), 1);
    assert_eq!(verifier.state_root(), b0.state_root);
    assert_eq!(
        rpc.get_balance(Address::with_last_byte(0x11))
            .await
            .unwrap(),
        U256::from(1_000u64)
    );
    assert_eq!(rpc.get_balance(recipient).await.unwrap(), U256::ZERO);

    // 4. A wrong batch 1 is posted and proven wrong on L1; then the block of the proof is
    //    reorganized away: the wrong batch is live again, and so is its verdict.
    let nonce = net
        .l1
        .provider()
        .get_transaction_count(dev_address(0))
        .await
        .unwrap();
    let tx = net
        .l1
        .send_raw_transaction(net.forged(&b1, forged, nonce))
        .await
        .unwrap();
    let posted_in = wait_for_receipt(&net.l1, tx).await;
    let report = verifier.sync().await.unwrap();
    assert_eq!(report.batches, 1);
    let case = verifier.pending_fraud().unwrap();
    assert_eq!(case.l1_block, posted_in);
    net.prove_last_leaf(8, &case.header).await;
    assert_eq!(net.live_count().await, 1);
    let report = verifier.sync().await.unwrap();
    assert_eq!(report.reverted, 1);
    assert_eq!(verdicts(&verifier), [Verdict::Valid]);
    assert_eq!(verifier.pending_fraud(), None);
    let depth_of_proof = net.l1.block_number().await.unwrap() - posted_in;
    net.reorg(depth_of_proof, vec![]).await;
    assert_eq!(
        net.live_count().await,
        2,
        "without the proof, the wrong batch is live"
    );
    let report = verifier.sync().await.unwrap();
    assert_eq!((report.reorgs, report.batches), (1, 1));
    let v = verdicts(&verifier);
    assert!(is_state_root_fault(&v[1], forged), "{v:?}");
    assert_eq!(verifier.pending_fraud(), Some(case));
    assert_eq!(verifier.state_root(), b0.state_root);

    // The patient verifier never saw any version of batch 1; it agrees once L1 is deep enough.
    loft_l1::DevControl::mine(&net.l1, depth + 1).await.unwrap();
    let report = patient.sync().await.unwrap();
    assert_eq!(report.reorgs, 0);
    assert_eq!(verdicts(&patient), verdicts(&verifier));
    assert_eq!(patient.state_root(), verifier.state_root());
    assert_eq!(patient.fraud_at(), Some(1));
}
