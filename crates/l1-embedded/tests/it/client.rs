//! The in-process client, `EmbeddedL1`.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256};
use alloy::rpc::types::TransactionRequest;
use loft_config::{ChainConfig, DEV_MNEMONIC};
use loft_l1::L1Client;
use loft_l1_embedded::{DevChain, DevChainConfig, EmbeddedL1, dev_keys};

fn l1() -> EmbeddedL1 {
    let chain =
        DevChain::open(DevChainConfig::from_chain_config(&ChainConfig::devnet(), None).unwrap())
            .unwrap();
    EmbeddedL1::new(chain, dev_keys(DEV_MNEMONIC, 1).unwrap().remove(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_sends_from_one_client_get_distinct_nonces() {
    let l1 = l1();
    let sends = (0..16u64).map(|i| {
        let l1 = l1.clone();
        tokio::spawn(async move {
            l1.send_transaction(
                TransactionRequest::default()
                    .with_to(Address::repeat_byte(0x22))
                    .with_value(U256::from(i + 1)),
            )
            .await
        })
    });
    for send in sends.collect::<Vec<_>>() {
        assert!(send.await.unwrap().unwrap().status());
    }
    assert_eq!(l1.nonce(l1.sender()).await.unwrap(), 16);
}
