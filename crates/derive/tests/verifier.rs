//! A verifier rebuilds the L2 from L1 alone: the real sequencer node posts batches to the real
//! embedded L1, and a verifier that shares nothing with it but the L1 replays them, matches every
//! commitment, and names the fault of a batch posted with a wrong claim.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::{TransactionBuilder, TxSignerSync};
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use loft_config::ChainConfig;
use loft_contracts::{L1Bridge, deploy};
use loft_derive::{Fault, Verdict, Verifier};
use loft_l1::L1Client;
use loft_l1_embedded::{DevChain, DevChainConfig, EmbeddedL1};
use loft_node::{Node, NodeConfig, batcher};

struct Net {
    chain: DevChain,
    node: Node,
    keys: Vec<PrivateKeySigner>,
    deployment: loft_contracts::Deployment,
    config: ChainConfig,
    _dir: tempfile::TempDir,
}

async fn start() -> Net {
    let config = ChainConfig::devnet();
    let dev = DevChainConfig::from_chain_config(&config, None).unwrap();
    let keys = dev.dev_keys.clone();
    let chain = DevChain::open(dev).unwrap();
    let sequencer: Arc<dyn L1Client> = Arc::new(EmbeddedL1::new(chain.clone(), keys[0].clone()));
    let deployment = deploy(sequencer.as_ref(), loft_node::deploy_options(&config))
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
        sequencer,
    )
    .await
    .unwrap();
    Net {
        chain,
        node,
        keys,
        deployment,
        config,
        _dir: dir,
    }
}

impl Net {
    async fn deposit(&self, key: usize, eth: u64) {
        let user = EmbeddedL1::new(self.chain.clone(), self.keys[key].clone());
        let to = self.keys[key].address();
        loft_l1::send_and_confirm(
            &user,
            TransactionRequest::default()
                .with_to(self.deployment.bridge)
                .with_value(U256::from(eth) * U256::from(10u64).pow(U256::from(18u64)))
                .with_input(L1Bridge::depositETHCall { l2Recipient: to }.abi_encode()),
        )
        .await
        .unwrap();
        let want = U256::from(eth) * U256::from(10u64).pow(U256::from(18u64));
        for _ in 0..500 {
            if self.node.shared.sequencer().balance(to).unwrap() >= want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("deposit not credited on L2");
    }

    async fn transfer(&self, key: usize, nonce: u64, to: Address, value: u64) {
        let mut tx = TxEip1559 {
            chain_id: self.config.l2.chain_id,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 2_000_000_000,
            to: TxKind::Call(to),
            value: U256::from(value),
            ..Default::default()
        };
        let sig = self.keys[key].sign_transaction_sync(&mut tx).unwrap();
        let raw: Bytes = TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into();
        let (_, durable) = self.node.shared.sequencer().submit(raw).unwrap();
        self.node.shared.request_flush();
        durable.await.unwrap().unwrap();
    }

    /// Seals what is open and posts every sealed block.
    async fn post_all(&self) -> usize {
        for _ in 0..200 {
            if self.node.shared.sequencer().pending_count() == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(self.config.l2.block_time_ms * 2)).await;
        let mut posted = 0;
        while batcher::post_next(&self.node.shared)
            .await
            .unwrap()
            .is_some()
        {
            posted += 1;
        }
        posted
    }

    fn verifier(&self, dir: &tempfile::TempDir) -> Verifier {
        let l1: Arc<dyn L1Client> =
            Arc::new(EmbeddedL1::new(self.chain.clone(), self.keys[9].clone()));
        Verifier::open(
            &dir.path().join("verifier.redb"),
            l1,
            self.deployment.clone(),
            loft_node::chain_params(&self.config),
        )
        .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_rebuilds_every_batch_from_l1_and_matches_every_root() {
    let net = start().await;
    net.deposit(1, 5).await;
    net.deposit(2, 5).await;
    for n in 0..40 {
        net.transfer(1, n, Address::with_last_byte(n as u8 + 1), 1_000 + n)
            .await;
        if n % 10 == 9 {
            net.post_all().await;
        }
    }
    for n in 0..15 {
        net.transfer(2, n, net.keys[1].address(), 7).await;
    }
    assert!(net.post_all().await > 0);

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
    net.transfer(1, 40, Address::with_last_byte(0xaa), 1).await;
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
    net.transfer(1, 0, Address::with_last_byte(9), 1_000).await;
    // Seal, then post the honest data with a forged final state root.
    for _ in 0..100 {
        if net.node.shared.sequencer().pending_count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
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
