//! The same contract-level suite against both L1 backends: the embedded revm dev chain (in
//! process) and a real anvil over JSON-RPC. Gas used, logs, revert data, queue hash chain and
//! balances must be identical.

use loft_config::ChainConfig;
use loft_e2e::{Anvil, dev_key, suite::deposit_suite};
use loft_l1::L1Client;
use loft_l1_embedded::{DevChain, DevChainConfig, EmbeddedL1};
use loft_l1_rpc::{RpcL1, RpcL1Config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposit_suite_is_identical_on_embedded_l1_and_anvil() {
    let config = ChainConfig::devnet();

    let chain = DevChain::open(DevChainConfig::from_chain_config(&config, None).unwrap()).unwrap();
    let embedded = deposit_suite(
        &EmbeddedL1::new(chain.clone(), dev_key(0)),
        &EmbeddedL1::new(chain, dev_key(1)),
    )
    .await;

    let anvil = Anvil::start(config.l1.chain_id);
    let connect = |i| {
        let mut c = RpcL1Config::new(anvil.url.clone());
        c.expected_chain_id = Some(config.l1.chain_id);
        RpcL1::connect(c, dev_key(i))
    };
    let (deployer, user) = (connect(0).await.unwrap(), connect(1).await.unwrap());
    let on_anvil = deposit_suite(&deployer, &user).await;

    for (i, (a, b)) in embedded.iter().zip(&on_anvil).enumerate() {
        assert_eq!(
            a, b,
            "line {i} differs between the embedded L1 (left) and anvil (right)"
        );
    }
    assert_eq!(embedded.len(), on_anvil.len());
    println!("{}", embedded.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_rpc_backend_waits_for_the_configured_confirmations() {
    // anvil mines a block every second, so confirmations arrive only as blocks do.
    let anvil = loft_e2e::Anvil::start_with(31337, &["--block-time", "1"]);
    let mut config = RpcL1Config::new(anvil.url.clone());
    config.confirmations = 3;
    let l1 = RpcL1::connect(config, dev_key(0)).await.unwrap();
    let tx = alloy::rpc::types::TransactionRequest::default()
        .to(alloy::primitives::Address::repeat_byte(0x55))
        .value(alloy::primitives::U256::from(1u64));
    let receipt = l1.send_transaction(tx).await.unwrap();
    let included = receipt.block_number.unwrap();
    let now = l1.block_number().await.unwrap();
    assert!(
        now >= included + 2,
        "returned at block {now}, transaction in block {included}: fewer than 3 confirmations"
    );
}
