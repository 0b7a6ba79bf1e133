//! The embedded L1 runs Osaka rules: each test checks one rule whose absence would show.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, TxKind, U256, address, hex};
use alloy::rpc::types::TransactionRequest;
use loft_config::{ChainConfig, DEV_MNEMONIC};
use loft_l1::{L1Client, L1Error};
use loft_l1_embedded::{DevChain, DevChainConfig, EmbeddedL1, dev_keys};

fn l1() -> EmbeddedL1 {
    let chain =
        DevChain::open(DevChainConfig::from_chain_config(&ChainConfig::devnet(), None).unwrap())
            .unwrap();
    EmbeddedL1::new(chain, dev_keys(DEV_MNEMONIC, 1).unwrap().remove(0))
}

fn call_precompile(to: Address, input: Vec<u8>) -> TransactionRequest {
    TransactionRequest::default().with_to(to).with_input(input)
}

#[tokio::test]
async fn calldata_floor_of_eip_7623_is_charged() {
    let l1 = l1();
    // 1000 non-zero bytes to an account without code: 21000 + 16 * 1000 = 37000 by the old rule,
    // but the floor is 21000 + 10 * (4 * 1000) = 61000.
    let tx = TransactionRequest::default()
        .with_to(Address::repeat_byte(0x11))
        .with_input(vec![0x01u8; 1000]);
    let receipt = l1.send_transaction(tx).await.unwrap();
    assert!(receipt.status());
    assert_eq!(receipt.gas_used, 61_000);
}

#[tokio::test]
async fn transaction_gas_cap_of_eip_7825_is_enforced() {
    let l1 = l1();
    let tx = TransactionRequest::default()
        .with_to(Address::repeat_byte(0x11))
        .with_gas_limit(16_777_217);
    let err = l1.send_transaction(tx).await.unwrap_err();
    assert!(matches!(err, L1Error::Rejected(_)), "{err}");
    assert_eq!(l1.block_number().await.unwrap(), 0, "nothing mined");
}

#[tokio::test]
async fn clz_opcode_of_eip_7939_exists() {
    let l1 = l1();
    // Init code: PUSH1 1, CLZ, PUSH1 0, MSTORE, PUSH1 32, PUSH1 0, RETURN -> returns clz(1) = 255.
    let init = hex!("6001 1e 6000 52 6020 6000 f3");
    let out = l1
        .call(
            TransactionRequest {
                to: Some(TxKind::Create),
                ..Default::default()
            }
            .with_input(init.to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(U256::from_be_slice(&out), U256::from(255u64));
}

#[tokio::test]
async fn bn254_addition_precompile() {
    let l1 = l1();
    // G1 generator (1, 2) added to itself is 2G.
    let mut input = Vec::new();
    for v in [1u64, 2, 1, 2] {
        input.extend_from_slice(&U256::from(v).to_be_bytes::<32>());
    }
    let out = l1
        .call(call_precompile(
            address!("0000000000000000000000000000000000000006"),
            input,
        ))
        .await
        .unwrap();
    assert_eq!(
        out,
        Bytes::from(hex!(
            "030644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd3"
            "15ed738c0e0a7c92e7845f96b2ae9c0a68a6a449e3538fc7ff3ebf7a5a18a2c4"
        ))
    );
}

#[tokio::test]
async fn bls12_381_g1_addition_precompile() {
    let l1 = l1();
    // The point at infinity (all zeros) plus itself is the point at infinity: 128 zero bytes. On a
    // chain without the precompile the call would return nothing.
    let out = l1
        .call(call_precompile(
            address!("000000000000000000000000000000000000000b"),
            vec![0u8; 256],
        ))
        .await
        .unwrap();
    assert_eq!(out, Bytes::from(vec![0u8; 128]));
    // A malformed input is an error, not a silent success.
    assert!(
        l1.call(call_precompile(
            address!("000000000000000000000000000000000000000b"),
            vec![0u8; 7]
        ))
        .await
        .is_err()
    );
}

#[tokio::test]
async fn point_evaluation_precompile_checks_its_input() {
    let l1 = l1();
    // A zero versioned hash does not match any commitment: the precompile fails the call, where an
    // empty account would have returned success.
    let err = l1
        .call(call_precompile(
            address!("000000000000000000000000000000000000000a"),
            vec![0u8; 192],
        ))
        .await;
    assert!(err.is_err(), "{err:?}");
}
