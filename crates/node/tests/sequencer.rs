//! The sequencer against a real database on disk: execution, sealing, and recovery of every
//! acknowledged step after the process dies without sealing.

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolValue;
use loft_node::db::{Db, QueueRecord};
use loft_node::sequencer::{Sequencer, SubmitError};
use loft_state::StateRead;
use loft_stf::ChainParams;

const CHAIN_ID: u64 = 42069;

fn params() -> ChainParams {
    ChainParams {
        chain_id: CHAIN_ID,
        base_fee: 1_000_000_000,
        fee_recipient: Address::repeat_byte(0xfe),
    }
}

fn deposit(index: u64, to: Address, amount: U256) -> QueueRecord {
    QueueRecord {
        index,
        kind: 0,
        sender: to,
        head: Default::default(),
        l1_block_number: 1,
        timestamp: 1,
        payload: (Address::ZERO, to, to, amount).abi_encode().into(),
        l1_tx: None,
    }
}

fn transfer(key: &PrivateKeySigner, nonce: u64, to: Address, value: u64) -> Bytes {
    let mut tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 0,
        to: TxKind::Call(to),
        value: U256::from(value),
        ..Default::default()
    };
    let sig = key.sign_transaction_sync(&mut tx).unwrap();
    TxEnvelope::from(tx.into_signed(sig)).encoded_2718().into()
}

/// Submits and flushes the journal as the node's flusher does.
fn submit(
    seq: &mut Sequencer,
    db: &Db,
    raw: Bytes,
) -> Result<alloy::primitives::B256, SubmitError> {
    let (hash, _durable) = seq.submit(raw)?;
    let (entries, _waiters) = seq.take_unflushed();
    db.append_journal(&entries).unwrap();
    Ok(hash)
}

/// Opens the database at `path` with one ether deposited to `owner` in the queue, and its
/// sequencer.
fn open_funded(path: &std::path::Path, owner: Address) -> (Db, Sequencer) {
    let db = Db::open(path).unwrap();
    let one_eth = U256::from(10u64).pow(U256::from(18u64));
    db.store_queue(&[deposit(0, owner, one_eth)], 1).unwrap();
    let (seq, _) = Sequencer::open(db.clone(), params()).unwrap();
    (db, seq)
}

/// Submits (and flushes) transfers of 1,000 wei from `key` to `to` with `nonces`.
fn submit_transfers(
    seq: &mut Sequencer,
    db: &Db,
    key: &PrivateKeySigner,
    nonces: std::ops::Range<u64>,
    to: Address,
) -> Vec<B256> {
    nonces
        .map(|nonce| submit(seq, db, transfer(key, nonce, to, 1_000)).unwrap())
        .collect()
}

#[test]
fn acknowledged_transactions_survive_a_crash_before_sealing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l2.redb");
    let alice = PrivateKeySigner::random();
    let bob = Address::repeat_byte(0xb0);

    let (root_before_crash, hashes) = {
        let (db, mut seq) = open_funded(&path, alice.address());
        // Block 1: the deposit and two transfers, sealed.
        let mut hashes = submit_transfers(&mut seq, &db, &alice, 0..2, bob);
        assert_eq!(seq.tick().unwrap(), Some(1));
        // Its steps: the block marker (state unchanged), the deposit, the two transfers.
        let block = seq.head().clone();
        let kinds: Vec<u8> = block.steps.iter().map(|s| s.kind).collect();
        assert_eq!(
            kinds,
            [
                loft_stf::STEP_BLOCK,
                loft_stf::STEP_QUEUE,
                loft_stf::STEP_TX,
                loft_stf::STEP_TX
            ]
        );
        assert_eq!(block.steps[0].state_root, B256::ZERO);
        assert_eq!(block.steps[3].state_root, block.header.state_root);
        // Block 2: three more, acknowledged (journaled) but never sealed.
        hashes.extend(submit_transfers(&mut seq, &db, &alice, 2..5, bob));
        (seq.state().clone().root_hash(), hashes)
        // Dropped here without sealing: the crash.
    };

    let db = Db::open(&path).unwrap();
    let (mut seq, _) = Sequencer::open(db.clone(), params()).unwrap();
    assert_eq!(seq.head().number, 1);
    assert_eq!(
        seq.pending_count(),
        3,
        "the journal restores the open block"
    );
    for h in &hashes[2..] {
        assert!(seq.pending_tx(h).is_some(), "{h} lost");
    }
    assert_eq!(seq.state().clone().root_hash(), root_before_crash);
    assert_eq!(seq.nonce(alice.address()).unwrap(), 5);
    assert_eq!(
        seq.state().account(bob).unwrap().balance,
        U256::from(5_000u64)
    );
    // A replayed transaction is refused, not executed twice.
    let again = submit(&mut seq, &db, transfer(&alice, 4, bob, 1_000)).unwrap_err();
    assert!(matches!(again, SubmitError::AlreadyKnown(_)), "{again}");
    assert_eq!(seq.tick().unwrap(), Some(2));
    for h in &hashes {
        assert!(db.tx(h).unwrap().is_some(), "{h} has no receipt");
    }
    // Reopening after the seal replays nothing twice.
    drop(seq);
    let (seq, _) = Sequencer::open(db, params()).unwrap();
    assert_eq!(seq.head().number, 2);
    assert_eq!(seq.pending_count(), 0);
    assert_eq!(seq.nonce(alice.address()).unwrap(), 5);
}

#[test]
fn a_sealed_block_not_yet_written_is_sealed_again_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l2.redb");
    let alice = PrivateKeySigner::random();
    let bob = Address::repeat_byte(0xb0);

    let (sealed_hash, sealed_root, root_before_crash, hashes) = {
        let (db, mut seq) = open_funded(&path, alice.address());
        let mut hashes = submit_transfers(&mut seq, &db, &alice, 0..2, bob);
        // Block 1 is sealed as the node's block producer does it: the write comes later.
        let sealed = seq.tick_deferred().unwrap().expect("a block to seal");
        assert_eq!(sealed.number(), 1);
        assert_eq!(seq.head().number, 0, "the head is the last block on disk");
        assert!(seq.has_open_block(), "a block is not on disk yet");
        for h in &hashes {
            assert_eq!(seq.pending_tx(h).map(|(n, _)| n), Some(1), "{h} not found");
        }
        // Block 2 is accepted on top of it, from the sealed block's state.
        hashes.extend(submit_transfers(&mut seq, &db, &alice, 2..4, bob));
        let again = submit(&mut seq, &db, transfer(&alice, 0, bob, 1_000)).unwrap_err();
        assert!(matches!(again, SubmitError::AlreadyKnown(_)), "{again}");
        // Write the sealed block into a copy of the database to learn its hash, then crash
        // with the write never done here.
        let copy = tempfile::tempdir().unwrap();
        std::fs::copy(&path, copy.path().join("l2.redb")).unwrap();
        let copy_db = Db::open(&copy.path().join("l2.redb")).unwrap();
        sealed.write(&copy_db).unwrap();
        let written = copy_db.block(1).unwrap().unwrap();
        (
            written.hash,
            written.header.state_root,
            seq.state().clone().root_hash(),
            hashes,
        )
    };

    let db = Db::open(&path).unwrap();
    let (mut seq, _) = Sequencer::open(db.clone(), params()).unwrap();
    // Block 1 sealed again where the journal opens block 2, identical; block 2 open again.
    assert_eq!(seq.head().number, 1);
    assert_eq!(seq.head().hash, sealed_hash);
    assert_eq!(seq.head().header.state_root, sealed_root);
    assert_eq!(seq.pending_count(), 2);
    assert_eq!(seq.state().clone().root_hash(), root_before_crash);
    for h in &hashes[..2] {
        assert_eq!(db.tx(h).unwrap().map(|r| r.block), Some(1), "{h}");
    }
    for h in &hashes[2..] {
        assert_eq!(seq.pending_tx(h).map(|(n, _)| n), Some(2), "{h} lost");
    }
    assert_eq!(seq.nonce(alice.address()).unwrap(), 4);
    // The deferred path to the end: seal, write, hand back.
    let sealed = seq.tick_deferred().unwrap().unwrap();
    sealed.write(&db).unwrap();
    seq.sealed_written(sealed);
    assert_eq!(seq.head().number, 2);
    assert!(!seq.has_open_block());
    drop(seq);
    let (seq, _) = Sequencer::open(db, params()).unwrap();
    assert_eq!(seq.head().number, 2);
    assert_eq!(seq.pending_count(), 0);
    assert_eq!(seq.nonce(alice.address()).unwrap(), 4);
}

#[test]
fn refused_transactions_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("l2.redb")).unwrap();
    let alice = PrivateKeySigner::random();
    db.store_queue(&[deposit(0, alice.address(), U256::from(100_000u64))], 1)
        .unwrap();
    let (mut seq, _) = Sequencer::open(db.clone(), params()).unwrap();
    // Cannot pay 21,000 gas at 1 gwei.
    let err = submit(
        &mut seq,
        &db,
        transfer(&alice, 0, Address::repeat_byte(1), 1),
    )
    .unwrap_err();
    assert!(matches!(err, SubmitError::Refused(_)), "{err}");
    assert_eq!(seq.nonce(alice.address()).unwrap(), 0);
    assert_eq!(seq.pending_count(), 0);
}

#[test]
fn a_refused_transaction_opens_no_block() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("l2.redb")).unwrap();
    let (mut seq, _) = Sequencer::open(db.clone(), params()).unwrap();
    let nobody = PrivateKeySigner::random();
    let err = submit(
        &mut seq,
        &db,
        transfer(&nobody, 5, Address::repeat_byte(1), 1),
    )
    .unwrap_err();
    assert!(matches!(err, SubmitError::Refused(_)), "{err}");
    assert_eq!(seq.tick().unwrap(), None, "no empty block");
    assert_eq!(seq.head().number, 0);
    assert!(db.journal().unwrap().is_empty());
}
