//! Quick throughput check of the tree: the sequencer's pattern of 3 leaf writes and a root per
//! transaction, over a prefilled tree, in memory and on redb. Run:
//! `cargo run --release -p loft-state --example smt_bench [prefill] [txs]`.

use std::sync::Arc;
use std::time::Instant;

use alloy::primitives::{B256, U256, keccak256};
use loft_state::{Account, MemStore, NodeStore, RedbStore, Smt, StateWrite};

fn key(i: u64) -> B256 {
    keccak256(i.to_be_bytes())
}

fn value(i: u64) -> Vec<u8> {
    Account {
        nonce: i,
        balance: U256::from(i) * U256::from(1_000_000_000u64),
    }
    .encode()
}

/// Runs `txs` transactions of 3 writes + root; `persist` gets the new nodes every `block` txs.
fn run<S: NodeStore>(
    smt: &mut Smt<S>,
    prefill: u64,
    txs: u64,
    block: u64,
    mut persist: impl FnMut(&mut Smt<S>),
) -> f64 {
    let start = Instant::now();
    for t in 0..txs {
        let sender = (t * 7919) % prefill;
        smt.set(key(sender), value(t)).unwrap();
        smt.set(key(prefill + t), value(t)).unwrap(); // a new recipient
        smt.set(key(0), value(t)).unwrap(); // the fee recipient
        std::hint::black_box(smt.root().unwrap());
        if (t + 1) % block == 0 {
            persist(smt);
        }
    }
    txs as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<u64>().expect("a number"));
    let prefill = args.next().unwrap_or(200_000);
    let txs = args.next().unwrap_or(50_000);
    let block = 5_000;

    let start = Instant::now();
    let mut h = B256::ZERO;
    for _ in 0..1_000_000 {
        h = loft_state::internal_hash(&h, &h);
    }
    std::hint::black_box(h);
    println!(
        "keccak256 of 64 bytes: {:.0} ns",
        start.elapsed().as_nanos() as f64 / 1e6
    );

    // In memory.
    let mut smt = Smt::new(MemStore::new(), B256::ZERO);
    let start = Instant::now();
    for i in 0..prefill {
        smt.set(key(i), value(i)).unwrap();
    }
    let prefill_root = smt.root_hash();
    let nodes = smt.take_new_nodes();
    println!(
        "prefill {prefill} leaves: {:.0} sets/s, {} nodes",
        prefill as f64 / start.elapsed().as_secs_f64(),
        nodes.len()
    );
    smt.store_mut().extend(nodes.clone());
    let tps = run(&mut smt, prefill, txs, block, |smt| {
        let nodes = smt.take_new_nodes();
        smt.store_mut().extend(nodes);
    });
    println!(
        "MemStore: {tps:.0} tx/s (3 sets + root each; {:.0} sets/s)",
        tps * 3.0
    );

    // On redb, committing every `block` transactions.
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(redb::Database::create(dir.path().join("state.redb")).unwrap());
    let txn = db.begin_write().unwrap();
    RedbStore::write_nodes(&txn, &nodes).unwrap();
    txn.commit().unwrap();
    let mut smt = Smt::new(RedbStore::new(db.clone()), prefill_root);
    let tps = run(&mut smt, prefill, txs, block, |smt| {
        let nodes = smt.take_new_nodes();
        let txn = db.begin_write().unwrap();
        RedbStore::write_nodes(&txn, &nodes).unwrap();
        txn.commit().unwrap();
        smt.store().cache(&nodes);
    });
    println!("RedbStore (cold cache, commit every {block} tx): {tps:.0} tx/s");
}
