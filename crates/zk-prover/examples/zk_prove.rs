//! Proves one full batch of transfers and reports constraints, setup and proving time:
//! `cargo run --release -p loft-zk-prover --example zk_prove -- [transfers] [tree depth]`.

use std::time::Instant;

use ark_serialize::CanonicalSerialize;
use loft_zk::{
    Account, AccountTree, BatchBuilder, SecretKey, TransferOp, ZkParams, pack,
    stf::transfer_message,
};
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
    let keys: Vec<SecretKey> = (1..=64u8)
        .map(|i| SecretKey::from_bytes(&[i; 32]).unwrap())
        .collect();
    let mut tree = AccountTree::new(depth);
    for (i, k) in keys.iter().enumerate() {
        let (ax, ay) = k.public().xy();
        // Spread the accounts over the index space so paths share little.
        let index = (i as u32).wrapping_mul(2_654_435_761) >> (32 - u32::from(depth));
        tree.set(
            if i == 0 { 0 } else { index.max(1) },
            Account {
                ax,
                ay,
                balance: 10u128.pow(21),
                nonce: 0,
            },
        );
    }
    let indices: Vec<u32> = (0..64u32)
        .map(|i| {
            if i == 0 {
                0
            } else {
                (i.wrapping_mul(2_654_435_761) >> (32 - u32::from(depth))).max(1)
            }
        })
        .collect();
    let mut b = BatchBuilder::new(params, &tree);
    let mut nonces = vec![0u32; 64];
    for j in 0..n {
        let s = 1 + j % 63;
        let r = 1 + (j * 7 + 3) % 63;
        let (a, f) = (pack::pack_amount(1000).unwrap(), pack::pack_fee(1).unwrap());
        let (from, to) = (indices[s], indices[r]);
        let sig = keys[s].sign(transfer_message(1, from, to, a, f, nonces[s]));
        b.push_transfer(
            &mut tree,
            Some(TransferOp {
                from,
                to,
                amount: a,
                fee: f,
                nonce: nonces[s],
                sig,
            }),
        )
        .unwrap();
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
