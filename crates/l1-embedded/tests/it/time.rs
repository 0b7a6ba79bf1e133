//! The clock tests can move: `evm_setNextBlockTimestamp` and `evm_increaseTime`.

use loft_l1_embedded::{ChainError, DevChain};

use crate::common;

fn wall() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn latest_timestamp(chain: &DevChain) -> u64 {
    let c = chain.lock();
    c.header(c.block_number()).unwrap().1.timestamp
}

/// A chain whose genesis lies in the past, so its blocks follow the wall clock.
fn chain() -> DevChain {
    let mut config = common::config(None);
    config.genesis.timestamp = wall() - 1_000;
    DevChain::open(config).unwrap()
}

#[test]
fn next_timestamp_must_be_later_and_is_used_exactly() {
    let chain = chain();
    chain.mine(1).unwrap();
    let latest = latest_timestamp(&chain);
    let before = latest;
    for t in [0, latest - 1, latest] {
        let err = chain.lock().set_next_timestamp(t).unwrap_err();
        assert!(
            matches!(err, ChainError::TimestampNotIncreasing { requested, latest: l } if requested == t && l == latest),
            "{err}"
        );
    }
    // Refusals changed nothing: the next block follows the clock.
    chain.mine(1).unwrap();
    let latest = latest_timestamp(&chain);
    assert!(latest <= wall().max(before + 1));

    let target = latest + 86_400;
    let set_at = wall();
    chain.lock().set_next_timestamp(target).unwrap();
    assert_eq!(chain.lock().next_timestamp(), target);
    chain.mine(1).unwrap();
    assert_eq!(latest_timestamp(&chain), target);
    // Blocks after it continue from there.
    chain.mine(1).unwrap();
    let mined_by = wall();
    assert!(latest_timestamp(&chain) > target);
    assert!(latest_timestamp(&chain) <= target + (mined_by - set_at).max(1));

    // Just one second later is allowed too.
    let next = latest_timestamp(&chain) + 1;
    chain.lock().set_next_timestamp(next).unwrap();
    chain.mine(1).unwrap();
    assert_eq!(latest_timestamp(&chain), next);
}

#[test]
fn advance_time_moves_the_next_block() {
    let chain = chain();
    chain.mine(1).unwrap();
    let before = latest_timestamp(&chain);
    let now = wall();
    chain.lock().advance_time(3_600).unwrap();
    chain.mine(1).unwrap();
    let after = latest_timestamp(&chain);
    assert!(after >= before + 3_600, "{before} -> {after}");
    assert!(after >= now + 3_600);
    // Offsets add up.
    chain.lock().advance_time(3_600).unwrap();
    chain.mine(1).unwrap();
    assert!(latest_timestamp(&chain) >= now + 7_200);
}

/// Clock requests that do not fit the clock are refused, and change nothing.
#[test]
fn out_of_range_clock_requests_are_refused() {
    let chain = chain();
    let before = chain.lock().next_timestamp();
    for seconds in [u64::MAX, 1 << 63, i64::MAX as u64] {
        let err = chain.lock().advance_time(seconds).unwrap_err();
        assert!(matches!(err, ChainError::InvalidParams(_)), "{err}");
    }
    for t in [u64::MAX, 1 << 63] {
        let err = chain.lock().set_next_timestamp(t).unwrap_err();
        assert!(matches!(err, ChainError::InvalidParams(_)), "{err}");
    }
    let after = chain.lock().next_timestamp();
    assert!(after >= before, "{before} -> {after}");
    // Two blocks: at most the wall clock plus one second each.
    chain.mine(2).unwrap();
    assert!(latest_timestamp(&chain) <= wall() + 2);
}
