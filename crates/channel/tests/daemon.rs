//! Two channel daemons over loopback on the embedded L1: payments both ways, cooperative close,
//! top-ups, restarts, a stale close answered, and the peer time-out.

mod common;

use std::time::Duration;

use alloy::primitives::U256;
use common::*;
use loft_channel::adjudicator::OnChainStatus;
use loft_l1::DevControl;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_both_ways_then_cooperative_close_pay_out_the_final_state() {
    let w = World::new().await;
    let a = w.daemon(1, w.config("a")).await;
    let b = w.daemon(2, w.config("b")).await;
    let b_before = w.balance(b.address()).await;
    let id = open(&a, &b, eth(10)).await;
    // B tops up 5 ETH; the next state accounts for it.
    let f = rpc(&b, "channel_fund", json!({"amount": eth(5)}))
        .await
        .unwrap();
    assert_eq!(f["ready"], json!(true), "{f}");
    let (ra, rb) = tokio::join!(
        rpc(&a, "channel_pay", json!({"amount": gwei(3), "count": 1000})),
        rpc(&b, "channel_pay", json!({"amount": gwei(2), "count": 1000})),
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra["paid"], json!(1000), "{ra}");
    assert_eq!(rb["paid"], json!(1000), "{rb}");
    let sa = rpc(&a, "channel_status", json!({})).await.unwrap()[0].clone();
    let sb = rpc(&b, "channel_status", json!({})).await.unwrap()[0].clone();
    // 2 top-ups + 2,000 payments.
    assert_eq!(sa["version"], json!(2002));
    assert_eq!(sb["version"], json!(2002));
    let want_a = eth(10) - gwei(3000) + gwei(2000);
    let want_b = eth(5) + gwei(3000) - gwei(2000);
    assert_eq!(u(&sa["balance"]), want_a);
    assert_eq!(u(&sb["balance"]), want_b);
    // B asks to close: A signs the final state, B submits it.
    let c = rpc(&b, "channel_close", json!({})).await.unwrap();
    assert_eq!(u(&c["payoutA"]), want_a);
    assert_eq!(u(&c["payoutB"]), want_b);
    let on_chain = w.adj().channel(&*w.l1(0), id).await.unwrap();
    assert_eq!(on_chain.status, OnChainStatus::Closed);
    assert_eq!(w.balance(w.adjudicator).await, U256::ZERO);
    // B's L1 balance moved by exactly its payout, minus its deposit and the fees it paid.
    let fees = u(&f["feeWei"]) + u(&c["feeWei"]);
    assert_eq!(
        w.balance(b.address()).await + fees + eth(5),
        b_before + want_b
    );
    // A's daemon saw the settlement on L1.
    for _ in 0..100 {
        let sa = rpc(&a, "channel_status", json!({})).await.unwrap()[0].clone();
        if sa["phase"] == json!("closed") {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("A did not see the close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_close_is_answered_and_the_closer_pays_the_penalty() {
    let w = World::new().await;
    let a = w.daemon(1, w.config("a")).await;
    let b = w.daemon(2, w.config("b")).await;
    let id = open(&a, &b, eth(10)).await;
    rpc(&a, "channel_pay", json!({"amount": eth(1), "count": 2}))
        .await
        .unwrap();
    let old: loft_channel::SignedState =
        serde_json::from_value(rpc(&a, "channel_state", json!({})).await.unwrap()).unwrap();
    rpc(&a, "channel_pay", json!({"amount": eth(1), "count": 5}))
        .await
        .unwrap();
    // A cheats: closes with the state where B had 2 ETH, not 7.
    w.adj().force_close(&*w.l1(1), &old).await.unwrap();
    // B's daemon answers with version 7.
    let mut answered = false;
    for _ in 0..200 {
        let c = w.adj().channel(&*w.l1(0), id).await.unwrap();
        if c.version == 8 {
            assert!(c.challenged);
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered, "B answered the stale close");
    let before_b = w.balance(b.address()).await;
    let l1 = w.l1(3);
    let now = l1
        .block(loft_l1::BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap()
        .timestamp;
    let dev: &dyn DevControl =
        &loft_l1_embedded::EmbeddedL1::new(w.chain.clone(), w.keys[3].clone());
    dev.set_next_block_timestamp(now + DISPUTE_WINDOW + 1)
        .await
        .unwrap();
    dev.mine(1).await.unwrap();
    w.adj().settle(&*l1, id).await.unwrap();
    // B: 7 ETH + 10% of A's 3 ETH.
    let penalty = eth(3) / U256::from(10);
    assert_eq!(w.balance(b.address()).await - before_b, eth(7) + penalty);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_that_stops_answering_gets_a_unilateral_close_with_the_latest_state() {
    let w = World::new().await;
    let mut config = w.config("a");
    config.peer_timeout = Duration::from_secs(1);
    let a = w.daemon(1, config).await;
    let b = w.daemon(2, w.config("b")).await;
    let id = open(&a, &b, eth(10)).await;
    rpc(&a, "channel_pay", json!({"amount": eth(1), "count": 3}))
        .await
        .unwrap();
    b.stop().await;
    // B is gone: this payment is never answered; after the time-out A closes on L1 with version 4.
    let r = rpc(&a, "channel_pay", json!({"amount": eth(1)}))
        .await
        .unwrap();
    assert_eq!(r["failed"], json!(1), "{r}");
    let c = w.adj().channel(&*w.l1(0), id).await.unwrap();
    assert_eq!(c.status, OnChainStatus::Closing);
    assert_eq!(c.version, 4);
    assert_eq!(c.closer, a.address());
}
