//! `eth_estimateGas` gives the least gas limit with which a transaction succeeds.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, TxKind, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolError};
use loft_contracts::{DevToken, L1Bridge};
use loft_l1_embedded::{ChainError, DevChain, StateAt};

use crate::common;

/// Sends `input` to `to` from dev key `from` with exactly `gas`, mined at once; returns the receipt.
fn send_with_gas(
    chain: &DevChain,
    from: usize,
    to: Address,
    value: U256,
    input: Bytes,
    gas: u64,
) -> alloy::rpc::types::TransactionReceipt {
    let key = common::key(chain, from);
    let tx = common::tx(chain, &key, TxKind::Call(to), value, input, gas);
    let hash = chain.submit(tx).unwrap();
    chain.lock().receipt(hash).unwrap()
}

#[test]
fn plain_transfer_estimates_21000() {
    let chain = common::open();
    let from = common::key(&chain, 0).address();
    for request in [
        TransactionRequest::default()
            .with_from(from)
            .with_to(Address::repeat_byte(1))
            .with_value(U256::from(10).pow(U256::from(18))),
        // No sender and no value: still a transfer.
        TransactionRequest::default().with_to(Address::repeat_byte(2)),
    ] {
        assert_eq!(
            chain
                .lock()
                .estimate_gas(&request, StateAt::Latest)
                .unwrap(),
            21_000
        );
    }
    // And 21000 is the least: one less is refused before execution.
    let key = common::key(&chain, 0);
    let short = common::tx(
        &chain,
        &key,
        TxKind::Call(Address::repeat_byte(1)),
        U256::from(1),
        Bytes::new(),
        20_999,
    );
    assert!(matches!(
        chain.submit(short),
        Err(ChainError::InvalidTransaction(_))
    ));
}

/// The estimate is tight: the call succeeds with it and fails with one gas less.
fn assert_tight(
    chain: &DevChain,
    from: usize,
    to: Address,
    value: U256,
    input: Bytes,
) -> (u64, u64) {
    let request = TransactionRequest::default()
        .with_from(common::key(chain, from).address())
        .with_to(to)
        .with_value(value)
        .with_input(input.clone());
    let estimate = chain
        .lock()
        .estimate_gas(&request, StateAt::Latest)
        .unwrap();

    // Simulated with one gas less: out of gas (or a revert, where a caller catches its callee's
    // out-of-gas and gives up).
    let short = request.clone().with_gas_limit(estimate - 1);
    let err = chain.lock().call(&short, StateAt::Latest).unwrap_err();
    assert!(
        matches!(&err, ChainError::Halted(reason) if reason.contains("OutOfGas"))
            || matches!(err, ChainError::Reverted(_)),
        "{err}"
    );
    chain
        .lock()
        .call(&request.clone().with_gas_limit(estimate), StateAt::Latest)
        .unwrap();

    // Sent with one gas less: mined, but failed and changed nothing but the sender's nonce and fee.
    let failed = send_with_gas(chain, from, to, value, input.clone(), estimate - 1);
    assert!(!failed.status());
    assert!(failed.gas_used < estimate);
    assert!(failed.inner.logs().is_empty());
    // Sent with the estimate: succeeds.
    let ok = send_with_gas(chain, from, to, value, input, estimate);
    assert!(ok.status());
    (estimate, ok.gas_used)
}

#[tokio::test]
async fn contract_call_estimate_is_the_least_gas_that_succeeds() {
    let chain = common::open();
    let deployment = common::deploy_contracts(&chain, true).await;
    let (bridge, token) = (deployment.bridge, deployment.dev_token.unwrap());
    let depositor = common::key(&chain, 1).address();

    // An ETH deposit: no refund, so the estimate is what it uses.
    let deposit = L1Bridge::depositETHCall {
        l2Recipient: Address::repeat_byte(7),
    }
    .abi_encode();
    let (estimate, used) = assert_tight(&chain, 1, bridge, U256::from(1000), deposit.into());
    assert_eq!(estimate, used);

    // An ERC-20 deposit: the reentrancy guard's refund and the 63/64 rule on the token call make
    // the gas it needs larger than the gas it ends up using.
    let amount = U256::from(10).pow(U256::from(20));
    let mint = DevToken::mintCall {
        to: depositor,
        amount,
    }
    .abi_encode();
    assert!(send_with_gas(&chain, 1, token, U256::ZERO, mint.into(), 200_000).status());
    let approve = DevToken::approveCall {
        spender: bridge,
        value: amount,
    }
    .abi_encode();
    assert!(send_with_gas(&chain, 1, token, U256::ZERO, approve.into(), 200_000).status());
    let deposit = L1Bridge::depositERC20Call {
        token,
        l2Recipient: Address::repeat_byte(8),
        amount: U256::from(5),
    }
    .abi_encode();
    let (estimate, used) = assert_tight(&chain, 1, bridge, U256::ZERO, deposit.into());
    assert!(estimate > used, "estimate {estimate}, used {used}");
}

#[tokio::test]
async fn reverting_call_returns_the_revert_data() {
    let chain = common::open();
    let bridge = common::deploy_contracts(&chain, false).await.bridge;
    let from = common::key(&chain, 1).address();
    let zero_amount = TransactionRequest::default()
        .with_from(from)
        .with_to(bridge)
        .with_input(
            L1Bridge::depositETHCall {
                l2Recipient: Address::repeat_byte(7),
            }
            .abi_encode(),
        );
    let zero_recipient = zero_amount.clone().with_value(U256::from(1)).with_input(
        L1Bridge::depositETHCall {
            l2Recipient: Address::ZERO,
        }
        .abi_encode(),
    );
    for (request, selector) in [
        (zero_amount, L1Bridge::ZeroAmount::SELECTOR),
        (zero_recipient, L1Bridge::ZeroRecipient::SELECTOR),
    ] {
        let err = chain
            .lock()
            .estimate_gas(&request, StateAt::Latest)
            .unwrap_err();
        match &err {
            ChainError::Reverted(data) => assert_eq!(data.as_ref(), selector),
            other => panic!("expected a revert, got {other}"),
        }
        assert_eq!(err.rpc_code(), 3);
        let err = chain.lock().call(&request, StateAt::Latest).unwrap_err();
        assert!(matches!(&err, ChainError::Reverted(data) if data.as_ref() == selector));
    }
}
