//! Censorship resistance on the embedded L1 with the real contracts (`docs/liveness.md`): a
//! censoring sequencer cannot skip a forced withdrawal past its deadline, is kicked, and a standby
//! operator that followed L1 includes the withdrawal, which the user then claims on L1.

use std::time::Duration;

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use loft_contracts::{L1Bridge, L1Rollup, rollup_call};
use loft_l1::{DevControl, L1Client, send_and_confirm};
use loft_node::{Node, batcher};
use loft_testnet::{Options, TestNet, eth};

const FUNDER: usize = 1;
const USER: usize = 3;
const WATCHER: usize = 5;
const STANDBY: usize = 9;

async fn active(net: &TestNet) -> Address {
    rollup_call(
        &net.l1(0),
        net.deployment.rollup,
        L1Rollup::activeOperatorCall {},
    )
    .await
    .unwrap()
    .operator
}

/// Drives the standby's batcher once (registration, kick, import, posting).
async fn drive(node: &Node) -> Option<loft_node::db::BatchRecord> {
    batcher::post_next(&node.shared)
        .await
        .expect("standby round")
}

async fn l1_balance(net: &TestNet, who: Address) -> U256 {
    net.l1(0).balance(who).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_censored_user_forces_a_withdrawal_the_next_operator_includes() {
    let net = TestNet::start(Options {
        censor: vec![USER],
        ..Options::default()
    })
    .await;
    let user = net.keys[USER].address();
    let rollup = net.deployment.rollup;
    // The user gets 3 ETH on L2 from a funder; the sequencer posts it.
    net.deposit(FUNDER, 10).await;
    net.transfer(FUNDER, user, 3_000_000_000_000_000_000).await;
    assert_eq!(net.post_all().await.len(), 1);
    // A standby operator registers (bidding the same base fee: the sequencer keeps its
    // epochs) and follows L1.
    let standby = net.standby(STANDBY, "standby").await;
    // Its follower reads the queue first; then it imports.
    // Each round of its batcher imports what its follower has read of the queue so far: drive
    // rounds until it has the sequencer's head.
    let target = net.node.shared.sequencer().head().number;
    let mut rounds = 0;
    while standby.shared.sequencer().head().number < target {
        assert!(drive(&standby).await.is_none());
        rounds += 1;
        assert!(
            rounds < 200,
            "the standby did not import the sequencer's batch"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(active(&net).await, net.keys[0].address());
    assert_eq!(
        standby.shared.sequencer().balance(user).unwrap(),
        eth(3),
        "the standby imported the sequencer's batch"
    );

    // The sequencer ignores the user's L2 withdrawal.
    let raw = net.raw_tx(
        USER,
        0,
        loft_state::layout::L2_BRIDGE,
        U256::ZERO,
        Vec::new(),
    );
    let err = net.node.shared.sequencer().submit(raw).err();
    assert!(
        matches!(err, Some(loft_node::sequencer::SubmitError::Censored(a)) if a == user),
        "{err:?}"
    );
    // The user forces a withdrawal of 2 ETH on L1.
    let receipt = send_and_confirm(
        &net.l1(USER),
        TransactionRequest::default()
            .with_to(net.deployment.bridge)
            .with_input(
                L1Bridge::forceWithdrawalCall {
                    l1Token: Address::ZERO,
                    amount: eth(2),
                    l1Recipient: user,
                }
                .abi_encode(),
            ),
    )
    .await
    .unwrap();
    println!("forceWithdrawal: {} gas", receipt.gas_used);
    // The sequencer is live while the deadline has not passed: no one may kick it yet.
    let kick = TransactionRequest::default()
        .with_to(rollup)
        .with_input(L1Rollup::kickCall {}.abi_encode());
    assert!(
        send_and_confirm(&net.l1(WATCHER), kick.clone())
            .await
            .is_err(),
        "a kick of a live operator fails"
    );
    // The sequencer keeps posting batches that skip it while the deadline allows...
    net.transfer(FUNDER, net.keys[2].address(), 1000).await;
    assert_eq!(net.post_all().await.len(), 1);
    // ...and L1 refuses the next one once the deadline has passed.
    let queued_at = rollup_call(
        &net.l1(0),
        net.deployment.bridge,
        L1Bridge::queueTimeAtCall {
            index: U256::from(1),
        },
    )
    .await
    .unwrap();
    net.transfer(FUNDER, net.keys[2].address(), 1000).await;
    net.seal().await;
    net.l1(0)
        .set_next_block_timestamp(queued_at + net.config.rollup.force_inclusion_delay_secs)
        .await
        .unwrap();
    let refused = batcher::post_next(&net.node.shared).await;
    assert!(
        refused.is_err(),
        "L1 must refuse a batch that skips the forced withdrawal: {refused:?}"
    );
    let batches = rollup_call(&net.l1(0), rollup, L1Rollup::batchCountCall {})
        .await
        .unwrap();
    assert_eq!(batches, 2);

    // Anyone may kick the sequencer once the liveness window has passed too; a kick of a live
    // operator fails.
    let watcher = net.keys[WATCHER].address();
    let before = l1_balance(&net, watcher).await;
    let kickable = rollup_call(&net.l1(0), rollup, L1Rollup::kickableAtCall {})
        .await
        .unwrap();
    let now = net
        .l1(0)
        .block(loft_l1::BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap()
        .timestamp;
    net.l1(0)
        .set_next_block_timestamp(kickable.max(now + 1))
        .await
        .unwrap();
    let bond = rollup_call(
        &net.l1(0),
        rollup,
        L1Rollup::bondOfCall {
            poster: net.keys[0].address(),
        },
    )
    .await
    .unwrap();
    let receipt = send_and_confirm(&net.l1(WATCHER), kick.clone())
        .await
        .unwrap();
    println!("kick: {} gas", receipt.gas_used);
    let slashed = bond * U256::from(net.config.rollup.kick_slash_bps) / U256::from(10_000u64);
    let reward =
        slashed * U256::from(net.config.rollup.challenger_share_bps) / U256::from(10_000u64);
    let gas = U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price);
    assert_eq!(
        l1_balance(&net, watcher).await,
        before + reward - gas,
        "the kicker's reward"
    );
    assert_eq!(
        rollup_call(
            &net.l1(0),
            rollup,
            L1Rollup::bondOfCall {
                poster: net.keys[0].address()
            }
        )
        .await
        .unwrap(),
        bond - slashed
    );
    assert_eq!(
        active(&net).await,
        net.keys[STANDBY].address(),
        "the next operator is active at once"
    );
    assert!(
        send_and_confirm(&net.l1(WATCHER), kick).await.is_err(),
        "a live operator cannot be kicked"
    );

    // The standby takes over: it sequences the queue (the forced withdrawal first) and posts.
    // (Its first round turns sequencing on; on a loaded machine it may already post.)
    let mut posted: Vec<_> = drive(&standby).await.into_iter().collect();
    // It seals a block for the waiting queue (the forced withdrawal is message 1).
    let mut heads = standby.shared.heads.clone();
    tokio::time::timeout(
        Duration::from_secs(10),
        heads.wait_for(|_| standby.shared.sequencer().head().queue_end >= 2),
    )
    .await
    .expect("the standby did not seal the forced withdrawal within 10 s")
    .expect("the standby's head channel closed");
    while let Some(b) = drive(&standby).await {
        posted.push(b);
    }
    assert_eq!(posted.len(), 1);
    assert_eq!(standby.shared.sequencer().balance(user).unwrap(), eth(1));
    // The old sequencer refuses transactions now.
    let _ = batcher::post_next(&net.node.shared).await;
    assert!(!net.node.shared.sequencer().sequencing());

    // After the challenge period the user claims the 2 ETH on L1.
    let batch = &posted[0];
    net.l1(0)
        .set_next_block_timestamp(batch.final_at)
        .await
        .unwrap();
    net.l1(0).mine(1).await.unwrap();
    let blocks: Vec<_> = (batch.first_block..=batch.last_block)
        .map(|n| standby.shared.db.block(n).unwrap().unwrap())
        .collect();
    let all = batcher::withdrawals_of(&blocks);
    let index = all
        .iter()
        .position(|w| w.l2_sender == user)
        .expect("the forced withdrawal");
    assert_eq!(all[index].amount, eth(2));
    let siblings = loft_stf::withdrawal_siblings(&all, index);
    let w = loft_contracts::Withdrawal {
        l2_sender: all[index].l2_sender,
        nonce: all[index].nonce,
        l1_recipient: all[index].l1_recipient,
        l1_token: all[index].l1_token,
        amount: all[index].amount,
    };
    let before = l1_balance(&net, user).await;
    let claim = send_and_confirm(
        &net.l1(WATCHER),
        TransactionRequest::default().with_to(rollup).with_input(
            loft_contracts::claim_withdrawal_calldata(batch.index, &w, index as u64, &siblings),
        ),
    )
    .await
    .unwrap();
    assert!(claim.status());
    assert_eq!(
        l1_balance(&net, user).await,
        before + eth(2),
        "the user got exactly 2 ETH"
    );
}
