//! The ZK profile's contracts on the embedded chain through `loft_contracts`: `deploy_zk` creates
//! the deployable Groth16 verifier and `ZkRollup`, and the queue and the verified batches read back
//! as a node reads them.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use loft_contracts::{
    ContractsError, Groth16Verifier, ZkDeployOptions, ZkRollup, deploy_zk, zk_messages,
    zk_verified_batches,
};
use loft_l1::{L1Client, L1Error, send_and_confirm};
use loft_l1_embedded::EmbeddedL1;

use crate::common;

/// A key the verifier's constructor accepts (G1 words on the curve: the generator (1, 2)); no
/// proof verifies against it, which these tests do not need.
fn some_key() -> [U256; 18] {
    let mut vk: [U256; 18] = std::array::from_fn(|i| U256::from(i + 3));
    for g1 in [0, 14, 16] {
        vk[g1] = U256::from(1);
        vk[g1 + 1] = U256::from(2);
    }
    vk
}

fn options(operator: Address) -> ZkDeployOptions {
    ZkDeployOptions {
        verifying_key: some_key(),
        genesis_root: U256::from(12345),
        tree_depth: 8,
        batch_transfers: 1,
        batch_general: 1,
        chain_id: 77,
        operator,
        force_inclusion_delay_secs: 3600,
    }
}

/// `TransactionRequest` calling `to` with `call` and `value` wei.
fn request(to: Address, call: impl SolCall, value: u128) -> TransactionRequest {
    TransactionRequest::default()
        .to(to)
        .input(call.abi_encode().into())
        .value(U256::from(value))
}

/// Creates `init_code` with the client's key and returns the address.
async fn create(l1: &EmbeddedL1, init_code: Vec<u8>) -> Address {
    let receipt = send_and_confirm(
        l1,
        TransactionRequest::default()
            .into_create()
            .input(Bytes::from(init_code).into()),
    )
    .await
    .unwrap();
    receipt.contract_address.unwrap()
}

/// Creation code returning `runtime` (at most 255 bytes).
fn init_code(runtime: &[u8]) -> Vec<u8> {
    let len = u8::try_from(runtime.len()).unwrap();
    // PUSH1 len PUSH1 10 PUSH0 CODECOPY PUSH1 len PUSH0 RETURN, then the runtime code.
    let mut code = vec![0x60, len, 0x60, 10, 0x5f, 0x39, 0x60, len, 0x5f, 0xf3];
    code.extend_from_slice(runtime);
    code
}

/// A verifier that accepts everything: returns the word 1.
fn accept_all() -> Vec<u8> {
    // PUSH1 1 PUSH0 MSTORE PUSH1 32 PUSH0 RETURN
    init_code(&[0x60, 0x01, 0x5f, 0x52, 0x60, 0x20, 0x5f, 0xf3])
}

/// A contract that forwards its calldata to `to` and reverts when that call fails.
fn forwarder(to: Address) -> Vec<u8> {
    // CALLDATASIZE PUSH0 PUSH0 CALLDATACOPY; PUSH0 PUSH0 CALLDATASIZE PUSH0 PUSH0 PUSH20 to GAS
    // CALL; PUSH1 38 JUMPI; PUSH0 PUSH0 REVERT; JUMPDEST STOP
    let mut runtime = vec![0x36, 0x5f, 0x5f, 0x37, 0x5f, 0x5f, 0x36, 0x5f, 0x5f, 0x73];
    runtime.extend_from_slice(to.as_slice());
    runtime.extend_from_slice(&[0x5a, 0xf1, 0x60, 38, 0x57, 0x5f, 0x5f, 0xfd, 0x5b, 0x00]);
    assert_eq!(runtime[38], 0x5b);
    init_code(&runtime)
}

/// `ZkRollup`'s creation code for `options` with another verifier.
fn rollup_code(opts: &ZkDeployOptions, verifier: Address) -> Vec<u8> {
    loft_contracts::zk_rollup_creation_code(opts, verifier).to_vec()
}

#[tokio::test]
async fn deploy_zk_then_read_the_queue() {
    let chain = common::open();
    let key = common::key(&chain, 0);
    let l1 = EmbeddedL1::new(chain.clone(), key.clone());
    let opts = options(key.address());

    let d = deploy_zk(&l1, &opts).await.unwrap();
    assert!(!l1.code(d.verifier).await.unwrap().is_empty());
    let head = l1.block_number().await.unwrap();
    assert_eq!(d.deploy_block, head, "the rollup is the last creation");
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(
        serde_json::from_str::<loft_contracts::ZkDeployment>(&json).unwrap(),
        d
    );

    // The verifier holds the key, the rollup names the verifier and has the parameters.
    let call = |to, data: Vec<u8>| l1.call(TransactionRequest::default().to(to).input(data.into()));
    let out = call(
        d.verifier,
        Groth16Verifier::verifyingKeyCall {}.abi_encode(),
    )
    .await
    .unwrap();
    assert_eq!(
        Groth16Verifier::verifyingKeyCall::abi_decode_returns(&out).unwrap(),
        opts.verifying_key
    );
    let out = call(d.rollup, ZkRollup::stateRootCall {}.abi_encode())
        .await
        .unwrap();
    assert_eq!(
        ZkRollup::stateRootCall::abi_decode_returns(&out).unwrap(),
        opts.genesis_root
    );
    let out = call(d.rollup, ZkRollup::pubdataLengthCall {}.abi_encode())
        .await
        .unwrap();
    assert_eq!(
        ZkRollup::pubdataLengthCall::abi_decode_returns(&out).unwrap(),
        U256::from(52 + 6)
    );

    // A deposit into account 0 (the operator's, from genesis), then a new account whose key is
    // y = 1 (the identity point, x = 0).
    assert!(
        zk_messages(&l1, d.rollup, d.deploy_block, head)
            .await
            .unwrap()
            .is_empty()
    );
    send_and_confirm(
        &l1,
        request(d.rollup, ZkRollup::depositCall { account: 0 }, 1_000),
    )
    .await
    .unwrap();
    send_and_confirm(
        &l1,
        request(
            d.rollup,
            ZkRollup::registerCall {
                compressedKey: U256::from(1),
            },
            0,
        ),
    )
    .await
    .unwrap();
    let head = l1.block_number().await.unwrap();
    let messages = zk_messages(&l1, d.rollup, d.deploy_block, head)
        .await
        .unwrap();
    assert_eq!(messages.len(), 2);
    let (deposit, set_key) = (messages[0], messages[1]);
    assert_eq!(
        (deposit.index, deposit.kind, deposit.account, deposit.amount),
        (0, 1, 0, 1_000)
    );
    assert_eq!(deposit.data, B256::ZERO);
    assert_eq!(
        (set_key.index, set_key.kind, set_key.account, set_key.amount),
        (1, 2, 1, 0)
    );
    assert_eq!(set_key.data, B256::from(U256::from(1)));
    assert_eq!(set_key.block_number, head);
    let block = l1
        .block(loft_l1::BlockNumberOrTag::Number(head))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(set_key.timestamp, block.timestamp);
    // A range that ends before the second message.
    let first = zk_messages(&l1, d.rollup, d.deploy_block, head - 1)
        .await
        .unwrap();
    assert_eq!(first, vec![deposit]);
    assert!(
        zk_verified_batches(&l1, d.rollup, d.deploy_block, head)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn deploy_zk_refuses_a_bad_key_before_sending() {
    let chain = common::open();
    let key = common::key(&chain, 0);
    let l1 = EmbeddedL1::new(chain.clone(), key.clone());
    let mut opts = options(key.address());
    // alpha off the curve.
    opts.verifying_key[1] = U256::from(3);
    let nonce = l1.nonce(key.address()).await.unwrap();
    let err = deploy_zk(&l1, &opts).await.unwrap_err();
    assert!(
        matches!(err, ContractsError::L1(L1Error::Reverted { .. })),
        "{err}"
    );
    assert_eq!(
        l1.nonce(key.address()).await.unwrap(),
        nonce,
        "nothing was sent"
    );
}

#[tokio::test]
async fn verified_batches_carry_their_pubdata() {
    let chain = common::open();
    let key = common::key(&chain, 0);
    let l1 = EmbeddedL1::new(chain.clone(), key.clone());
    let me = key.address();
    // A rollup whose verifier accepts every proof, operated by this key; and one operated by a
    // forwarding contract, created before it at the address the deployer's next nonce gives.
    let verifier = create(&l1, accept_all()).await;
    let from = l1.block_number().await.unwrap();
    let direct = create(&l1, rollup_code(&options(me), verifier)).await;
    let nonce = l1.nonce(me).await.unwrap();
    let indirect_rollup = me.create(nonce + 1);
    let proxy = create(&l1, forwarder(indirect_rollup)).await;
    assert_eq!(
        create(&l1, rollup_code(&options(proxy), verifier)).await,
        indirect_rollup
    );

    let pubdata: Bytes = (0..58u8)
        .map(|i| if i < 52 { 0 } else { i })
        .collect::<Vec<_>>()
        .into();
    let submit = |new_root: u64| ZkRollup::submitBatchCall {
        newRoot: U256::from(new_root),
        pubdata: pubdata.clone(),
        proof: [U256::from(7); 8],
    };
    let first = send_and_confirm(&l1, request(direct, submit(1), 0))
        .await
        .unwrap();
    let second = send_and_confirm(&l1, request(direct, submit(2), 0))
        .await
        .unwrap();
    let head = l1.block_number().await.unwrap();
    let batches = zk_verified_batches(&l1, direct, from, head).await.unwrap();
    assert_eq!(batches.len(), 2);
    assert_eq!(
        (batches[0].index, batches[0].old_root, batches[0].new_root),
        (0, U256::from(12345), U256::from(1))
    );
    assert_eq!(
        (batches[1].index, batches[1].old_root, batches[1].new_root),
        (1, U256::from(1), U256::from(2))
    );
    assert_eq!(batches[1].queue_end, 0);
    assert_eq!(batches[0].pubdata, pubdata);
    assert_eq!(batches[0].tx_hash, first.transaction_hash);
    assert_eq!(batches[1].tx_hash, second.transaction_hash);
    assert_eq!(Some(batches[1].block_number), second.block_number);

    // Through the forwarder: verified, but its public data is not in a submitBatch call's calldata.
    send_and_confirm(&l1, request(proxy, submit(3), 0))
        .await
        .unwrap();
    let head = l1.block_number().await.unwrap();
    let err = zk_verified_batches(&l1, indirect_rollup, from, head)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ContractsError::IndirectBatch { index: 0, .. }),
        "{err}"
    );
}
