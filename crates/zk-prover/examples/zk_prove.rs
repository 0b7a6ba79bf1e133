//! Proves one full batch of transfers and reports constraints, setup and proving time:
//! `cargo run --release -p loft-zk-prover --example zk_prove -- [transfers] [tree depth]`.

use std::time::Instant;

use ark_serialize::CanonicalSerialize;
use loft_zk::{Account, AccountTree, BatchBuilder, ZkParams, testing};
use loft_zk_prover::{circuit::BatchCircuit, prover::Keys};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(16, |a| a.parse().expect("transfers"));
    let depth: u8 = args.next().map_or(24, |a| a.parse().expect("tree depth"));
    let params = ZkParams {
        tree_depth: depth,
        batch_general: 1,
        batch_transfers: n,
        chain_id: 1,
    };
    // 64 accounts spread over the index space so paths share little; account 0 stays 0.
    let indices: Vec<u32> = (0..64u32)
        .map(|i| match i {
            0 => 0,
            i => (i.wrapping_mul(2_654_435_761) >> (32 - u32::from(depth))).max(1),
        })
        .collect();
    let mut tree = AccountTree::new(depth);
    for (i, index) in indices.iter().enumerate() {
        let (ax, ay) = testing::dev_key(i as u32).public().xy();
        let balance = 10u128.pow(21);
        tree.set(
            *index,
            Account {
                ax,
                ay,
                balance,
                nonce: 0,
            },
        );
    }
    let mut b = BatchBuilder::new(params, &tree);
    let mut nonces = vec![0u32; 64];
    for j in 0..n {
        let s = 1 + j % 63;
        let r = 1 + (j * 7 + 3) % 63;
        let key = testing::dev_key(s as u32);
        let op = testing::signed_transfer(1, &key, indices[s], indices[r], 1000, 1, nonces[s]);
        b.push_transfer(&mut tree, Some(op)).unwrap();
        nonces[s] += 1;
    }
    let batch = b.finish(&mut tree).unwrap();
    let (report, ok) = BatchCircuit::new(params, batch.clone()).measure().unwrap();
    assert!(ok);
    println!("shape: depth {depth}, {n} transfers, 1 general slot; {report:?}");
    let t = Instant::now();
    let k = Keys::devnet_setup(params, 1).unwrap();
    let setup = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let proof = k.prove(params, &batch).unwrap();
    let prove = t.elapsed().as_secs_f64();
    assert!(k.verify(&batch, &proof));
    println!(
        "setup {setup:.1} s, proving key {} MB, prove {prove:.1} s = {:.1} transfers/s, {:.0} constraints/s, pubdata {} bytes",
        k.pk.uncompressed_size() / 1_000_000,
        n as f64 / prove,
        report.total as f64 / prove,
        batch.pubdata.len()
    );
}
