//! A test world: the embedded L1 in this process, an adjudicator, and channel daemons that talk
//! over real loopback sockets with their databases on disk.

#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::rpc::client::RpcClient;
use alloy::signers::local::PrivateKeySigner;
use loft_channel::daemon::{Daemon, DaemonConfig};
use loft_channel::{AdjudicatorAt, ChannelKey};
use loft_config::ChainConfig;
use loft_l1::L1Client;
use loft_l1_embedded::{DevChain, DevChainConfig, EmbeddedL1};
use serde_json::{Value, json};

pub const DISPUTE_WINDOW: u64 = 3_600;
pub const PENALTY_BPS: u16 = 1_000;

pub fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}

pub fn gwei(n: u64) -> U256 {
    U256::from(n) * U256::from(1_000_000_000u64)
}

pub struct World {
    pub chain: DevChain,
    pub keys: Vec<PrivateKeySigner>,
    pub adjudicator: Address,
    pub dir: tempfile::TempDir,
}

impl World {
    pub async fn new() -> Self {
        let config = ChainConfig::devnet();
        let dev = DevChainConfig::from_chain_config(&config, None).expect("dev chain config");
        let keys = dev.dev_keys.clone();
        let chain = DevChain::open(dev).expect("embedded L1");
        let deployer = EmbeddedL1::new(chain.clone(), keys[0].clone());
        let adjudicator = loft_channel::deploy(&deployer, DISPUTE_WINDOW, PENALTY_BPS)
            .await
            .expect("deploy the adjudicator");
        Self {
            chain,
            keys,
            adjudicator,
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn l1(&self, account: usize) -> Arc<dyn L1Client> {
        Arc::new(EmbeddedL1::new(
            self.chain.clone(),
            self.keys[account].clone(),
        ))
    }

    pub fn key(&self, account: usize) -> ChannelKey {
        ChannelKey::from_bytes(&self.keys[account].to_bytes()).expect("valid key")
    }

    pub fn adj(&self) -> AdjudicatorAt {
        AdjudicatorAt {
            address: self.adjudicator,
        }
    }

    pub fn config(&self, name: &str) -> DaemonConfig {
        let mut c = DaemonConfig::new(self.dir.path().join(name));
        c.poll_interval = Duration::from_millis(50);
        c
    }

    pub async fn daemon(&self, account: usize, config: DaemonConfig) -> Daemon {
        Daemon::start(
            self.key(account),
            self.l1(account),
            self.adjudicator,
            config,
        )
        .await
        .expect("start the daemon")
    }

    pub async fn balance(&self, who: Address) -> U256 {
        self.l1(0).balance(who).await.expect("balance")
    }
}

pub async fn rpc(d: &Daemon, method: &str, params: Value) -> Result<Value, String> {
    let url = format!("http://{}", d.rpc_addr()).parse().expect("url");
    let client = RpcClient::new_http(url);
    client
        .request::<_, Value>(method.to_string(), (params,))
        .await
        .map_err(|e| e.to_string())
}

pub async fn open(a: &Daemon, b: &Daemon, amount: U256) -> B256 {
    let r = rpc(
        a,
        "channel_open",
        json!({"peer": b.peer_addr().to_string(), "counterparty": b.address(), "amount": amount}),
    )
    .await
    .expect("open");
    assert_eq!(
        r["ready"],
        json!(true),
        "the peer signed the opening deposit: {r}"
    );
    serde_json::from_value(r["channel"].clone()).expect("channel id")
}

pub fn u(v: &Value) -> U256 {
    serde_json::from_value(v.clone()).expect("a U256")
}
