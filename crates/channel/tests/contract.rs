//! The Rust side of channel states against the adjudicator on the embedded EVM: the digest both
//! daemons sign is the contract's `hashState` for any state, and the signatures the daemon
//! accepts are exactly the ones the contract accepts (a state the daemon countersigns is one it
//! can enforce on L1).

mod common;

use alloy::primitives::{Address, B256, Bytes, Signature, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::SolCall;
use common::*;
use loft_channel::adjudicator::{Adjudicator, OnChainStatus};
use loft_channel::{AdjudicatorAt, AdjudicatorError, ChannelDomain, ChannelState, SignedState};
use loft_l1::{DevControl, L1Client};
use proptest::prelude::*;

fn any_u256() -> impl Strategy<Value = U256> {
    prop_oneof![
        Just(U256::ZERO),
        Just(U256::from(1)),
        Just(U256::MAX),
        Just(U256::MAX - U256::from(1)),
        any::<u64>().prop_map(U256::from),
        any::<[u8; 32]>().prop_map(U256::from_be_bytes),
    ]
}

fn any_version() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0), Just(1), Just(u64::MAX), any::<u64>()]
}

fn any_state() -> impl Strategy<Value = ChannelState> {
    (
        any::<[u8; 32]>(),
        any_version(),
        any_u256(),
        any_u256(),
        any_u256(),
        any_u256(),
        any::<bool>(),
    )
        .prop_map(|(id, version, a, b, da, db, is_final)| ChannelState {
            channel_id: B256::from(id),
            version,
            balance_a: a,
            balance_b: b,
            deposited_a: da,
            deposited_b: db,
            is_final,
        })
}

/// The extremes, whatever the random cases pick.
fn edge_states() -> Vec<ChannelState> {
    let mut out = Vec::new();
    for id in [B256::ZERO, B256::repeat_byte(0xff)] {
        for version in [0, 1, u64::MAX] {
            for v in [U256::ZERO, U256::MAX] {
                for is_final in [false, true] {
                    out.push(ChannelState {
                        channel_id: id,
                        version,
                        balance_a: v,
                        balance_b: U256::MAX - v,
                        deposited_a: v,
                        deposited_b: U256::from(1),
                        is_final,
                    });
                }
            }
        }
    }
    out
}

/// Two adjudicators (two verifying contracts, one chain) and their domains.
async fn two_adjudicators(w: &World) -> Vec<ChannelDomain> {
    let chain_id = w.l1(0).chain_id().await.expect("chain id");
    let second = loft_channel::deploy(&*w.l1(0), 60, 0)
        .await
        .expect("deploy a second adjudicator");
    assert_ne!(second, w.adjudicator);
    [w.adjudicator, second]
        .into_iter()
        .map(|adjudicator| ChannelDomain {
            chain_id,
            adjudicator,
        })
        .collect()
}

#[test]
fn the_digest_daemons_sign_is_the_contracts_hash_state() {
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let (w, domains) = rt.block_on(async {
        let w = World::new().await;
        let domains = two_adjudicators(&w).await;
        (w, domains)
    });
    let l1 = w.l1(0);
    let contract = |d: &ChannelDomain, s: &ChannelState| {
        rt.block_on(
            AdjudicatorAt {
                address: d.adjudicator,
            }
            .hash_state(&*l1, s),
        )
        .expect("hashState")
    };
    for s in edge_states() {
        for d in &domains {
            assert_eq!(s.digest(d), contract(d, &s), "{s:?} in {d:?}");
        }
    }
    proptest!(
        ProptestConfig::with_cases(200),
        |(s in any_state(), which in 0..2usize)| {
            let d = &domains[which];
            prop_assert_eq!(s.digest(d), contract(d, &s), "{:?} in {:?}", s, d);
        }
    );
}

/// A's and B's accounts, the adjudicator's domain, and a channel with deposits of 10 (A) and 5
/// (B) ETH.
struct Open {
    w: World,
    domain: ChannelDomain,
    id: B256,
    a: Address,
    b: Address,
}

async fn open_channel() -> Open {
    let w = World::new().await;
    let (l1a, l1b) = (w.l1(1), w.l1(2));
    let chain_id = l1a.chain_id().await.expect("chain id");
    let (a, b) = (w.key(1).address(), w.key(2).address());
    let (id, _) = w
        .adj()
        .open(&*l1a, b, Address::ZERO, eth(10))
        .await
        .expect("open");
    w.adj()
        .fund(&*l1b, id, Address::ZERO, eth(5))
        .await
        .expect("fund");
    let domain = ChannelDomain {
        chain_id,
        adjudicator: w.adjudicator,
    };
    Open {
        w,
        domain,
        id,
        a,
        b,
    }
}

impl Open {
    /// Version `version` after A paid B 4 ETH.
    fn state(&self, version: u64) -> ChannelState {
        ChannelState {
            channel_id: self.id,
            version,
            balance_a: eth(6),
            balance_b: eth(9),
            deposited_a: eth(10),
            deposited_b: eth(5),
            is_final: false,
        }
    }

    /// `state` signed by A and B with their channel keys for `domain`.
    fn signed(&self, state: ChannelState, domain: &ChannelDomain) -> SignedState {
        SignedState {
            state,
            sig_a: self.w.key(1).sign_state(&state, domain).to_vec(),
            sig_b: self.w.key(2).sign_state(&state, domain).to_vec(),
        }
    }

    /// `forceClose(s)` from A, simulated (`eth_call`): the contract's verdict without a
    /// transaction.
    async fn would_force_close(&self, s: &SignedState) -> Result<(), AdjudicatorError> {
        let call = Adjudicator::forceCloseCall {
            s: s.state.to_sol(),
            sigA: s.sig_a.clone().into(),
            sigB: s.sig_b.clone().into(),
        };
        let request = TransactionRequest::default()
            .from(self.a)
            .to(self.w.adjudicator)
            .input(Bytes::from(call.abi_encode()).into());
        self.w.l1(1).call(request).await?;
        Ok(())
    }
}

fn is_invalid_signature(e: &AdjudicatorError) -> bool {
    matches!(
        e.revert(),
        Some(Adjudicator::AdjudicatorErrors::InvalidSignature(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contract_accepts_exactly_the_signatures_the_daemon_accepts() {
    let o = open_channel().await;
    let state = o.state(7);
    let good = o.signed(state, &o.domain);
    let (sa, sb) = (good.sig_a.clone(), good.sig_b.clone());
    let other_chain = ChannelDomain {
        chain_id: o.domain.chain_id + 1,
        ..o.domain
    };
    let other_adj = ChannelDomain {
        adjudicator: Address::repeat_byte(0xad),
        ..o.domain
    };
    let high_s = |sig: &[u8]| {
        let s = Signature::from_raw(sig).expect("a signature");
        let n = U256::from_be_bytes(secp256k1::constants::CURVE_ORDER);
        Signature::new(s.r(), n - s.s(), !s.v()).as_bytes().to_vec()
    };
    let mut raw_v = sb.clone();
    raw_v[64] -= 27;
    let mut flipped_v = sa.clone();
    flipped_v[64] ^= 1;
    let by_5 = o.w.key(5).sign_state(&state, &o.domain).to_vec();
    let cases: Vec<(&str, Vec<u8>, Vec<u8>, bool)> = vec![
        ("A's and B's", sa.clone(), sb.clone(), true),
        ("swapped", sb.clone(), sa.clone(), false),
        ("A's twice", sa.clone(), sa.clone(), false),
        ("another key's for B", sa.clone(), by_5.clone(), false),
        ("another key's for A", by_5, sb.clone(), false),
        (
            "for another chain",
            o.signed(state, &other_chain).sig_a,
            o.signed(state, &other_chain).sig_b,
            false,
        ),
        (
            "for another adjudicator",
            o.signed(state, &other_adj).sig_a,
            o.signed(state, &other_adj).sig_b,
            false,
        ),
        (
            "of another version",
            o.signed(o.state(8), &o.domain).sig_a,
            sb.clone(),
            false,
        ),
        ("A's with a high s", high_s(&sa), sb.clone(), false),
        ("B's with a high s", sa.clone(), high_s(&sb), false),
        ("B's with v of 0 or 1", sa.clone(), raw_v, false),
        ("A's with the other v", flipped_v, sb.clone(), false),
        ("B's without v", sa.clone(), sb[..64].to_vec(), false),
        (
            "B's and a byte",
            sa.clone(),
            [&sb[..], &[0]].concat(),
            false,
        ),
        ("none from B", sa.clone(), Vec::new(), false),
        ("zeros from B", sa.clone(), vec![0; 65], false),
    ];
    for (name, sig_a, sig_b, valid) in cases {
        let s = SignedState {
            state,
            sig_a,
            sig_b,
        };
        let daemon = s.verify(&o.domain, o.a, o.b);
        let contract = o.would_force_close(&s).await;
        assert_eq!(daemon.is_ok(), valid, "{name}: the daemon says {daemon:?}");
        match contract {
            Ok(()) => assert!(valid, "{name}: the contract accepts it"),
            Err(e) => assert!(
                !valid && is_invalid_signature(&e),
                "{name}: the contract refuses with {e}"
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_both_channel_keys_signed_close_challenge_and_settle_on_l1() {
    let o = open_channel().await;
    let adj = o.w.adj();
    let (l1a, l1b) = (o.w.l1(1), o.w.l1(2));
    // A closes with version 7; B answers with version 8, where A paid 1 ETH more.
    let v7 = o.signed(o.state(7), &o.domain);
    v7.verify(&o.domain, o.a, o.b)
        .expect("the daemon accepts it");
    adj.force_close(&*l1a, &v7).await.expect("forceClose");
    let c = adj.channel(&*l1a, o.id).await.unwrap();
    assert_eq!(
        (c.status, c.version, c.closer),
        (OnChainStatus::Closing, 7, o.a)
    );
    let v8 = o.signed(
        ChannelState {
            version: 8,
            balance_a: eth(5),
            balance_b: eth(10),
            ..o.state(8)
        },
        &o.domain,
    );
    adj.challenge(&*l1b, &v8).await.expect("challenge");
    let c = adj.channel(&*l1a, o.id).await.unwrap();
    assert_eq!((c.version, c.challenged), (8, true));
    // After the window: B gets 10 ETH and 10 % of A's 5.
    let (window, penalty_bps) = adj.parameters(&*l1a).await.unwrap();
    let dev = loft_l1_embedded::EmbeddedL1::new(o.w.chain.clone(), o.w.keys[3].clone());
    let now = dev
        .block(loft_l1::BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .expect("a latest block")
        .timestamp;
    dev.set_next_block_timestamp(now + window + 1)
        .await
        .unwrap();
    dev.mine(1).await.unwrap();
    let before_b = o.w.balance(o.b).await;
    adj.settle(&*o.w.l1(3), o.id).await.expect("settle");
    let penalty = eth(5) * U256::from(penalty_bps) / U256::from(10_000);
    assert_eq!(o.w.balance(o.b).await - before_b, eth(10) + penalty);
    assert_eq!(o.w.balance(o.w.adjudicator).await, U256::ZERO);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_final_state_both_channel_keys_signed_closes_cooperatively() {
    let o = open_channel().await;
    let fin = o.signed(
        ChannelState {
            is_final: true,
            ..o.state(3)
        },
        &o.domain,
    );
    let before_b = o.w.balance(o.b).await;
    // Anyone may submit it.
    o.w.adj()
        .cooperative_close(&*o.w.l1(3), &fin)
        .await
        .expect("cooperativeClose");
    assert_eq!(o.w.balance(o.b).await - before_b, eth(9));
    let c = o.w.adj().channel(&*o.w.l1(0), o.id).await.unwrap();
    assert_eq!(c.status, OnChainStatus::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_contract_refuses_a_state_signed_for_another_domain() {
    let o = open_channel().await;
    let domains = two_adjudicators(&o.w).await;
    let other_chain = ChannelDomain {
        chain_id: o.domain.chain_id + 1,
        ..o.domain
    };
    let l1a = o.w.l1(1);
    for (name, domain) in [
        ("another chain", other_chain),
        ("another deployed adjudicator", domains[1]),
    ] {
        let s = o.signed(o.state(7), &domain);
        assert!(
            s.verify(&o.domain, o.a, o.b).is_err(),
            "{name}: the daemon refuses it"
        );
        let e =
            o.w.adj()
                .force_close(&*l1a, &s)
                .await
                .expect_err("the contract refuses it");
        assert!(is_invalid_signature(&e), "{name}: {e}");
        let e =
            o.w.adj()
                .cooperative_close(
                    &*l1a,
                    &o.signed(
                        ChannelState {
                            is_final: true,
                            ..o.state(7)
                        },
                        &domain,
                    ),
                )
                .await
                .expect_err("the contract refuses it");
        assert!(is_invalid_signature(&e), "{name}: {e}");
    }
    let c = o.w.adj().channel(&*l1a, o.id).await.unwrap();
    assert_eq!(c.status, OnChainStatus::Open);
}
