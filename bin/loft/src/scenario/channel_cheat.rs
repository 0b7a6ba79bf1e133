//! `loft scenario channel-cheat`: Alice and Bob pay each other over a channel; Bob's daemon goes
//! offline; Alice closes with an old state in which she held more; Bob's watchtower answers with
//! the newest state within the dispute window; after it, Bob receives his balance plus the
//! penalty and Alice her balance minus it.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::utils::format_ether;
use alloy::primitives::{Address, B256, U256};
use alloy::sol_types::SolEvent;
use eyre::{Result, WrapErr, eyre};
use loft_channel::adjudicator::{Adjudicator, AdjudicatorAt};
use loft_channel::daemon::{Daemon, DaemonConfig, control_call};
use loft_channel::tower::{Tower, TowerConfig};
use loft_channel::{ChannelKey, SignedState};
use loft_l1::L1Client;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Stage, StoryArgs, finish, l1_now, l1_time_to, say, wait_for};

const ALICE: usize = 1;
const BOB: usize = 2;
const TOWER: usize = 5;

/// What the story measured.
#[derive(Debug, Serialize)]
struct Report {
    backend: &'static str,
    channel: B256,
    /// The state Alice closed with, and the newest one.
    stale_version: u64,
    latest_version: u64,
    /// Balances (Alice, Bob) in each.
    stale_balances: (U256, U256),
    latest_balances: (U256, U256),
    /// The version on L1 after the watchtower's challenge.
    recorded_version: u64,
    penalty_bps: u16,
    penalty: U256,
    payout_alice: U256,
    payout_bob: U256,
    /// Bob's L1 balance change (he sent no transaction while offline).
    bob_gain: U256,
    gas_force_close: u64,
    gas_challenge: Option<u64>,
    gas_settle: u64,
}

fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}

async fn call(addr: std::net::SocketAddr, method: &'static str, params: Value) -> Result<Value> {
    control_call(&format!("http://{addr}"), method, params)
        .await
        .map_err(|e| eyre!(e))
}

pub(super) async fn run(args: StoryArgs) -> Result<()> {
    let json_out = args.json;
    let say = |t: String| say(json_out, t);
    let config = args.config()?;
    let stage = Stage::open(&config, args.l1_rpc.as_deref()).await?;
    let deployer = stage.l1(&config, 0).await?;
    let window = config.channels.dispute_window_secs;
    let penalty_bps = config.channels.penalty_bps;
    let adjudicator = loft_channel::deploy(deployer.as_ref(), window, penalty_bps)
        .await
        .wrap_err("deploying the adjudicator")?;
    let adj = AdjudicatorAt {
        address: adjudicator,
    };
    say(format!(
        "L1 ({}) at {}: adjudicator {adjudicator} (dispute window {window} s, penalty {penalty_bps} bps)",
        stage.backend, stage.url
    ));
    let dir = tempfile::tempdir()?;
    let alice_l1: Arc<dyn L1Client> = stage.l1(&config, ALICE).await?;
    let bob_l1: Arc<dyn L1Client> = stage.l1(&config, BOB).await?;
    let tower_l1: Arc<dyn L1Client> = stage.l1(&config, TOWER).await?;
    let tower = Tower::start(
        tower_l1.clone(),
        adjudicator,
        TowerConfig {
            data_dir: dir.path().join("tower"),
            rpc_listen: "127.0.0.1:0".parse()?,
            poll_interval: Duration::from_millis(100),
        },
    )
    .await?;
    say(format!(
        "watchtower of Bob: account {} at http://{}",
        tower_l1.sender(),
        tower.rpc_addr()
    ));
    let key =
        |n: usize| ChannelKey::from_bytes(&stage.keys[n].to_bytes()).ok_or_else(|| eyre!("key"));
    let mut alice_cfg = DaemonConfig::new(dir.path().join("alice"));
    alice_cfg.poll_interval = Duration::from_millis(100);
    let mut bob_cfg = DaemonConfig::new(dir.path().join("bob"));
    bob_cfg.poll_interval = Duration::from_millis(100);
    bob_cfg.watchtower = Some(format!("http://{}", tower.rpc_addr()));
    let alice = Daemon::start(key(ALICE)?, alice_l1.clone(), adjudicator, alice_cfg).await?;
    let bob = Daemon::start(key(BOB)?, bob_l1.clone(), adjudicator, bob_cfg).await?;
    let (a, b) = (alice.rpc_addr(), bob.rpc_addr());
    say(format!(
        "Alice's daemon {} and Bob's daemon {} (peers over TCP loopback)",
        alice.address(),
        bob.address()
    ));

    let open = call(
        a,
        "channel_open",
        json!({"peer": bob.peer_addr().to_string(), "counterparty": bob.address(), "amount": eth(10)}),
    )
    .await?;
    let channel: B256 = serde_json::from_value(open["channel"].clone())?;
    say(format!("Alice opens channel {channel} with 10 ETH"));
    call(a, "channel_pay", json!({"amount": eth(1)})).await?;
    let stale: SignedState = serde_json::from_value(call(a, "channel_state", json!({})).await?)?;
    say(format!(
        "Alice pays Bob 1 ETH (version {}: Alice 9, Bob 1); Alice keeps this state",
        stale.state.version
    ));
    let milli = eth(1) / U256::from(100);
    call(a, "channel_pay", json!({"amount": milli, "count": 400})).await?;
    call(
        b,
        "channel_pay",
        json!({"amount": eth(1) / U256::from(2), "count": 2}),
    )
    .await?;
    let latest: SignedState = serde_json::from_value(call(b, "channel_state", json!({})).await?)?;
    let (la, lb) = (latest.state.balance_a, latest.state.balance_b);
    say(format!(
        "400 payments of 0.01 ETH to Bob, 2 of 0.5 ETH back: version {}, Alice {}, Bob {}",
        latest.state.version,
        format_ether(la),
        format_ether(lb)
    ));
    let tower_addr = tower.rpc_addr();
    let version = latest.state.version;
    wait_for(
        "the watchtower to hold the newest state",
        Duration::from_secs(20),
        || async move {
            let s = call(tower_addr, "tower_status", json!({})).await?;
            Ok(s["channels"]
                .as_array()
                .and_then(|c| c.first())
                .and_then(|c| c["version"].as_u64())
                .filter(|v| *v >= version))
        },
    )
    .await?;
    say(format!(
        "Bob's daemon handed version {version} to the watchtower"
    ));

    bob.stop().await;
    alice.stop().await;
    say("Bob's daemon goes offline. Alice stops hers and closes with her old state herself".into());
    let bob_before = bob_l1.balance(bob_l1.sender()).await?;
    let force = adj.force_close(alice_l1.as_ref(), &stale).await?;
    let closes_at = adj.channel(alice_l1.as_ref(), channel).await?.closes_at;
    say(format!(
        "Alice: forceClose with version {} (Alice 9 ETH, Bob 1 ETH), {} gas; dispute window until {closes_at}",
        stale.state.version, force.gas_used
    ));
    let recorded = wait_for(
        "the watchtower's challenge",
        Duration::from_secs(30),
        || {
            let (adj, l1) = (adj, tower_l1.clone());
            async move {
                let c = adj.channel(l1.as_ref(), channel).await?;
                Ok((c.challenged).then_some(c.version))
            }
        },
    )
    .await?;
    let challenge_gas = challenge_gas(tower_l1.as_ref(), adjudicator, channel).await?;
    say(format!(
        "watchtower: challenge with version {recorded} within the window{}",
        challenge_gas
            .map(|g| format!(" ({g} gas)"))
            .unwrap_or_default()
    ));
    let now = l1_now(deployer.as_ref()).await?;
    l1_time_to(deployer.as_ref(), now.max(closes_at) + 1).await?;
    let settle = adj.settle(tower_l1.as_ref(), channel).await?;
    let settled = settle
        .inner
        .logs()
        .iter()
        .find_map(|l| Adjudicator::ChannelSettled::decode_log(&l.inner).ok())
        .ok_or_else(|| eyre!("settle without ChannelSettled"))?;
    let bob_after = bob_l1.balance(bob_l1.sender()).await?;
    let bob_gain = bob_after.saturating_sub(bob_before);
    say(format!(
        "after the window, settle ({} gas): Alice gets {}, Bob gets {} (penalty {} moved from Alice to Bob)",
        settle.gas_used,
        format_ether(settled.payoutA),
        format_ether(settled.payoutB),
        format_ether(settled.penalty)
    ));
    let penalty = la * U256::from(penalty_bps) / U256::from(10_000);
    let mut problems = Vec::new();
    if recorded != version {
        problems.push(format!(
            "L1 recorded version {recorded}, the newest is {version}"
        ));
    }
    if settled.penalty != penalty {
        problems.push(format!("penalty {} != {penalty}", settled.penalty));
    }
    if settled.payoutB != lb + penalty || bob_gain != lb + penalty {
        problems.push(format!(
            "Bob got {} (payout {}), expected his {lb} plus the penalty {penalty}",
            bob_gain, settled.payoutB
        ));
    }
    if settled.payoutA != la - penalty {
        problems.push(format!(
            "Alice got {}, expected {la} minus {penalty}",
            settled.payoutA
        ));
    }
    let left = deployer.balance(adjudicator).await?;
    if !left.is_zero() {
        problems.push(format!("the adjudicator still holds {left} wei"));
    }
    if tower.challenges() != 1 {
        problems.push(format!(
            "the watchtower sent {} challenges",
            tower.challenges()
        ));
    }
    say(format!(
        "Bob, offline throughout, received {} ETH: his {} plus the penalty {}",
        format_ether(bob_gain),
        format_ether(lb),
        format_ether(penalty)
    ));
    tower.stop().await;
    let report = Report {
        backend: stage.backend,
        channel,
        stale_version: stale.state.version,
        latest_version: version,
        stale_balances: (stale.state.balance_a, stale.state.balance_b),
        latest_balances: (la, lb),
        recorded_version: recorded,
        penalty_bps,
        penalty: settled.penalty,
        payout_alice: settled.payoutA,
        payout_bob: settled.payoutB,
        bob_gain,
        gas_force_close: force.gas_used,
        gas_challenge: challenge_gas,
        gas_settle: settle.gas_used,
    };
    finish(json_out, &report, problems)
}

/// Gas of the challenge transaction, found through its `ChannelChallenged` event.
async fn challenge_gas(
    l1: &dyn L1Client,
    adjudicator: Address,
    channel: B256,
) -> Result<Option<u64>> {
    let head = l1.block_number().await?;
    let events = AdjudicatorAt {
        address: adjudicator,
    }
    .events(l1, head.saturating_sub(50), head)
    .await?;
    for ev in events {
        if ev.channel == channel
            && matches!(
                ev.kind,
                loft_channel::adjudicator::ChannelEventKind::Challenged { .. }
            )
            && let Some(r) = l1.receipt(ev.tx).await?
        {
            return Ok(Some(r.gas_used));
        }
    }
    Ok(None)
}
