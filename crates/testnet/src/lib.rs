//! Test support for loft's crates: the real sequencer node on the real embedded L1, with the real
//! contracts deployed, in one process. Batches are posted only when a test says so
//! ([`TestNet::post_all`], or its own forged posts), so each test controls what reaches L1.
//!
//! Development accounts by role: 0 is the sequencer (its bond paid with the deployment); tests
//! use the others as users, challengers and backup posters.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
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
use loft_contracts::{Deployment, L1Bridge, L1Rollup, deploy};
use loft_derive::Verifier;
use loft_l1::L1Client;
use loft_l1_embedded::{DevChain, DevChainConfig, EmbeddedL1};
use loft_node::{FaultKind, Node, NodeConfig, NodeOptions, batcher};

/// `n` ether in wei.
pub fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}

/// Waits until `node` has no open block: every step it took is sealed (blocks are sealed every
/// `l2.block_time_ms`). Panics after 10 s.
pub async fn wait_sealed(node: &Node) {
    for _ in 0..1_000 {
        if !node.shared.sequencer().has_open_block() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the open L2 block was not sealed within 10 s");
}

/// How to start a [`TestNet`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Also deploy the dev ERC-20.
    pub dev_token: bool,
    /// Post one batch wrong on purpose.
    pub fault: Option<FaultKind>,
    /// The development account of the backup poster, if any.
    pub backup_poster: Option<usize>,
    /// Development accounts the sequencer censors (`Sequencer::set_censored`).
    pub censor: Vec<usize>,
}

/// The devnet of a test.
#[derive(Debug)]
pub struct TestNet {
    /// The embedded L1.
    pub chain: DevChain,
    /// The sequencer node (it does not post by itself).
    pub node: Node,
    /// The development keys.
    pub keys: Vec<PrivateKeySigner>,
    /// The contracts.
    pub deployment: Deployment,
    /// The chain configuration: the devnet preset with a 600 s challenge period and a 30 s
    /// response window, so nothing becomes final while a test runs.
    pub config: ChainConfig,
    /// The node's (and the test's) folder.
    pub dir: tempfile::TempDir,
}

impl TestNet {
    /// Deploys the contracts and starts the node.
    pub async fn start(options: Options) -> Self {
        let mut config = ChainConfig::devnet();
        config.rollup.challenge_period_secs = 600;
        config.rollup.response_window_secs = 30;
        let dev = DevChainConfig::from_chain_config(&config, None).expect("dev chain config");
        let keys = dev.dev_keys.clone();
        let chain = DevChain::open(dev).expect("embedded L1");
        let sequencer: Arc<dyn L1Client> =
            Arc::new(EmbeddedL1::new(chain.clone(), keys[0].clone()));
        let deploy_options = loft_contracts::DeployOptions {
            dev_token: options.dev_token,
            ..loft_node::deploy_options(&config)
        };
        let deployment = deploy(sequencer.as_ref(), deploy_options)
            .await
            .expect("deploy");
        let dir = tempfile::tempdir().expect("tempdir");
        let censor = options.censor.iter().map(|&k| keys[k].address()).collect();
        let backup_poster = options.backup_poster.map(|k| {
            Arc::new(EmbeddedL1::new(chain.clone(), keys[k].clone())) as Arc<dyn L1Client>
        });
        let node = Node::start_with(
            NodeConfig {
                chain: config.clone(),
                deployment: deployment.clone(),
                data_dir: dir.path().join("node"),
                rpc_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                post_batches: false,
            },
            sequencer,
            NodeOptions {
                fault: options.fault,
                backup_poster,
                standby: false,
                censor,
            },
        )
        .await
        .expect("start the node");
        Self {
            chain,
            node,
            keys,
            deployment,
            config,
            dir,
        }
    }

    /// Starts a standby operator node (`loft node --role operator`) for development account
    /// `key` on the same L1, with its own database: it posts only when the test calls
    /// `batcher::post_next` on it, like the main node.
    pub async fn standby(&self, key: usize, name: &str) -> Node {
        Node::start_with(
            NodeConfig {
                chain: self.config.clone(),
                deployment: self.deployment.clone(),
                data_dir: self.dir.path().join(name),
                rpc_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
                post_batches: false,
            },
            Arc::new(self.l1(key)),
            NodeOptions {
                standby: true,
                ..NodeOptions::default()
            },
        )
        .await
        .expect("start the standby operator")
    }

    /// The L1 as development account `key`.
    pub fn l1(&self, key: usize) -> EmbeddedL1 {
        EmbeddedL1::new(self.chain.clone(), self.keys[key].clone())
    }

    /// Deposits `amount` ETH from account `key` to itself on L2 and waits until L2 credits it.
    pub async fn deposit(&self, key: usize, amount: u64) {
        let to = self.keys[key].address();
        let before = self.node.shared.sequencer().balance(to).expect("balance");
        loft_l1::send_and_confirm(
            &self.l1(key),
            TransactionRequest::default()
                .with_to(self.deployment.bridge)
                .with_value(eth(amount))
                .with_input(L1Bridge::depositETHCall { l2Recipient: to }.abi_encode()),
        )
        .await
        .expect("deposit");
        for _ in 0..500 {
            if self.node.shared.sequencer().balance(to).expect("balance") >= before + eth(amount) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("deposit not credited on L2");
    }

    /// Sends an L2 transaction from account `key` (its next nonce) and waits until it is durable.
    pub async fn send(&self, key: usize, to: Address, value: U256, input: Vec<u8>) -> B256 {
        let shared = &self.node.shared;
        let nonce = shared
            .sequencer()
            .nonce(self.keys[key].address())
            .expect("nonce");
        let raw = self.raw_tx(key, nonce, to, value, input);
        let (hash, durable) = shared.sequencer().submit(raw).expect("accepted");
        shared.request_flush();
        durable.await.expect("durable").expect("journal");
        hash
    }

    /// A signed EIP-1559 L2 transaction of account `key` (EIP-2718 bytes).
    pub fn raw_tx(
        &self,
        key: usize,
        nonce: u64,
        to: Address,
        value: U256,
        input: Vec<u8>,
    ) -> Bytes {
        let mut tx = TxEip1559 {
            chain_id: self.config.l2.chain_id,
            nonce,
            gas_limit: 100_000,
            max_fee_per_gas: 2_000_000_000,
            to: TxKind::Call(to),
            value,
            input: input.into(),
            ..Default::default()
        };
        let sig = self.keys[key].sign_transaction_sync(&mut tx).expect("sign");
        TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into()
    }

    /// An L2 ETH transfer of `value` wei.
    pub async fn transfer(&self, key: usize, to: Address, value: u64) -> B256 {
        self.send(key, to, U256::from(value), Vec::new()).await
    }

    /// Waits until every step taken so far (transactions and queue messages) is in a sealed block.
    pub async fn seal(&self) {
        wait_sealed(&self.node).await;
    }

    /// Seals and posts every unposted block as the node's batcher would; returns the batches.
    pub async fn post_all(&self) -> Vec<loft_node::db::BatchRecord> {
        self.seal().await;
        let mut posted = Vec::new();
        while let Some(b) = batcher::post_next(&self.node.shared)
            .await
            .expect("post a batch")
        {
            posted.push(b);
        }
        posted
    }

    /// The first L2 block not on L1 yet.
    pub async fn next_unposted_block(&self) -> u64 {
        loft_contracts::rollup_call(
            &self.l1(0),
            self.deployment.rollup,
            L1Rollup::lastBlockCall {},
        )
        .await
        .expect("lastBlock")
            + 1
    }

    /// A verifier of this chain with its database at `path`, reading L1 as account `key`.
    pub fn verifier_at(&self, path: &Path, key: usize) -> Verifier {
        Verifier::open(
            path,
            Arc::new(self.l1(key)),
            self.deployment.clone(),
            loft_node::chain_params(&self.config),
        )
        .expect("open the verifier")
    }
}
