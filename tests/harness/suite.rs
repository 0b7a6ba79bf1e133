//! The contract-level suite that runs unchanged against every L1 backend. It returns a transcript
//! (gas used, logs, queue state, revert data, block numbers) that must be identical across
//! backends; timestamps are pinned with `set_next_block_timestamp` so the queue's hash chain is
//! the same too.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::SolCall;
use loft_contracts::{DeployOptions, DevToken, L1Bridge, bridge_call, deploy, read_queue};
use loft_l1::{BlockNumberOrTag, DevControl, L1Client, L1Error, send_and_confirm};

/// First pinned timestamp (2033-05-18): later than any wall clock the suite runs at.
pub const T0: u64 = 2_000_000_000;

fn receipt_line(what: &str, r: &TransactionReceipt) -> String {
    let logs: Vec<String> = r
        .inner
        .logs()
        .iter()
        .map(|l| {
            format!(
                "{}:{:?}:0x{}",
                l.address(),
                l.topics(),
                alloy::hex::encode(&l.data().data)
            )
        })
        .collect();
    format!(
        "{what}: status={} gas={} cumulative={} block={:?} logs={logs:?}",
        r.status(),
        r.gas_used,
        r.inner.cumulative_gas_used(),
        r.block_number
    )
}

fn call(to: Address, data: Vec<u8>) -> TransactionRequest {
    TransactionRequest::default().with_to(to).with_input(data)
}

fn revert_line(what: &str, result: Result<TransactionReceipt, L1Error>) -> String {
    match result {
        Err(L1Error::Reverted { data, .. }) => {
            format!("{what}: reverted with 0x{}", alloy::hex::encode(data))
        }
        other => panic!("{what}: expected a revert, got {other:?}"),
    }
}

/// Deploys the contracts with `deployer`, deposits as `user`, moves time, and reads everything
/// back. Both clients must talk to the same fresh chain.
pub async fn deposit_suite<D: DevControl, U: L1Client>(deployer: &D, user: &U) -> Vec<String> {
    let mut t = Vec::new();
    let me = user.sender();
    let eth = U256::from(10u64).pow(U256::from(18u64));

    deployer
        .set_next_block_timestamp(T0)
        .await
        .expect("pin time");
    let d = deploy(
        deployer,
        DeployOptions {
            dev_token: true,
            ..DeployOptions::default()
        },
    )
    .await
    .expect("deploy");
    let token = d.dev_token.expect("dev token");
    let code = deployer.code(d.bridge).await.expect("code");
    t.push(format!(
        "deploy: bridge={} token={token} block={} code_hash={}",
        d.bridge,
        d.bridge_block,
        keccak256(&code)
    ));

    deployer
        .set_next_block_timestamp(T0 + 100)
        .await
        .expect("pin time");
    let r = send_and_confirm(
        user,
        call(
            d.bridge,
            L1Bridge::depositETHCall { l2Recipient: me }.abi_encode(),
        )
        .with_value(eth),
    )
    .await
    .expect("depositETH");
    t.push(receipt_line("depositETH", &r));
    // Derivation reads batch data from transactions' input: same fields on every backend.
    let mined = user
        .transaction(r.transaction_hash)
        .await
        .expect("transaction")
        .expect("a mined transaction is known");
    assert_eq!(
        mined.input,
        alloy::primitives::Bytes::from(L1Bridge::depositETHCall { l2Recipient: me }.abi_encode())
    );
    t.push(format!(
        "transaction: from={} to={:?} block={:?}",
        mined.from, mined.to, mined.block_number
    ));

    let amount = eth * U256::from(100u64);
    deployer
        .set_next_block_timestamp(T0 + 200)
        .await
        .expect("pin time");
    let r = send_and_confirm(
        user,
        call(token, DevToken::mintCall { to: me, amount }.abi_encode()),
    )
    .await
    .expect("mint");
    t.push(receipt_line("mint", &r));

    // Revert data must come through each backend unchanged: no allowance yet.
    t.push(revert_line(
        "depositERC20 without allowance",
        user.send_transaction(call(
            d.bridge,
            L1Bridge::depositERC20Call {
                token,
                l2Recipient: me,
                amount,
            }
            .abi_encode(),
        ))
        .await,
    ));
    t.push(revert_line(
        "depositETH of zero",
        user.send_transaction(call(
            d.bridge,
            L1Bridge::depositETHCall { l2Recipient: me }.abi_encode(),
        ))
        .await,
    ));

    deployer
        .set_next_block_timestamp(T0 + 300)
        .await
        .expect("pin time");
    let r = send_and_confirm(
        user,
        call(
            token,
            DevToken::approveCall {
                spender: d.bridge,
                value: amount,
            }
            .abi_encode(),
        ),
    )
    .await
    .expect("approve");
    t.push(receipt_line("approve", &r));
    deployer
        .set_next_block_timestamp(T0 + 400)
        .await
        .expect("pin time");
    let r = send_and_confirm(
        user,
        call(
            d.bridge,
            L1Bridge::depositERC20Call {
                token,
                l2Recipient: me,
                amount,
            }
            .abi_encode(),
        ),
    )
    .await
    .expect("depositERC20");
    t.push(receipt_line("depositERC20", &r));

    deployer
        .set_next_block_timestamp(T0 + 500)
        .await
        .expect("pin time");
    let r = send_and_confirm(
        user,
        TransactionRequest::default()
            .with_to(d.bridge)
            .with_value(eth / U256::from(2u64)),
    )
    .await
    .expect("plain transfer");
    t.push(receipt_line("receive", &r));

    // Time control: an hour passes and an empty block is mined.
    let before = deployer
        .block(BlockNumberOrTag::Latest)
        .await
        .expect("block")
        .expect("latest");
    deployer.advance_time(3600).await.expect("advance time");
    deployer.mine(2).await.expect("mine");
    let after = deployer
        .block(BlockNumberOrTag::Latest)
        .await
        .expect("block")
        .expect("latest");
    assert!(
        after.timestamp >= before.timestamp + 3600,
        "advance_time: {} -> {}",
        before.timestamp,
        after.timestamp
    );
    t.push(format!(
        "advance_time + mine 2: block {} -> {}",
        before.number, after.number
    ));

    deployer
        .set_next_block_timestamp(T0 + 100_000)
        .await
        .expect("pin time");
    let r = send_and_confirm(
        user,
        call(
            d.bridge,
            L1Bridge::depositETHCall {
                l2Recipient: Address::repeat_byte(0x42),
            }
            .abi_encode(),
        )
        .with_value(U256::from(7u64)),
    )
    .await
    .expect("depositETH after time moved");
    t.push(receipt_line("depositETH later", &r));

    // The queue as loft reads it, checked against the contract's own hash chain.
    let latest = user.block_number().await.expect("block number");
    let messages = read_queue(user, d.bridge, d.bridge_block, latest)
        .await
        .expect("read queue");
    let length = bridge_call(user, d.bridge, L1Bridge::queueLengthCall {})
        .await
        .expect("queueLength");
    assert_eq!(U256::from(messages.len()), length);
    let mut head = B256::ZERO;
    for (i, m) in messages.iter().enumerate() {
        assert_eq!(m.index, i as u64);
        head = m.chain_head(head);
        assert_eq!(head, m.head, "hash chain at message {i}");
        let on_chain = bridge_call(
            user,
            d.bridge,
            L1Bridge::queueHeadAtCall {
                count: U256::from(i + 1),
            },
        )
        .await
        .expect("queueHeadAt");
        assert_eq!(on_chain, head);
        t.push(format!("queue[{i}]: {m:?} deposit={:?}", m.deposit()));
    }
    let on_chain_head = bridge_call(user, d.bridge, L1Bridge::queueHeadCall {})
        .await
        .expect("queueHead");
    assert_eq!(on_chain_head, head);
    t.push(format!("queue: length={length} head={head}"));
    t.push(revert_line(
        "queueHeadAt out of range",
        user.call(call(
            d.bridge,
            L1Bridge::queueHeadAtCall {
                count: length + U256::from(1u64),
            }
            .abi_encode(),
        ))
        .await
        .map(|_| unreachable!("queueHeadAt past the end must revert")),
    ));
    t.push(format!(
        "bridge ETH balance: {}",
        user.balance(d.bridge).await.expect("balance")
    ));
    let held = bridge_call(user, token, DevToken::balanceOfCall { account: d.bridge })
        .await
        .expect("balanceOf");
    t.push(format!("bridge LDT balance: {held}"));
    t
}
