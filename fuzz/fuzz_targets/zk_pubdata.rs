//! `loft_zk::pubdata::decode` on arbitrary bytes: the public data of a zk batch, which anyone may
//! submit to L1 once a queue message is overdue and every prover replays (`docs/zk-rollup.md`
//! §4.2). The first byte picks one of a few batch shapes, the rest is the public data. Decoding
//! must not panic; what decodes has known kinds and indices inside the tree and re-encodes to
//! the very same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use loft_zk::{
    ZkParams,
    pubdata::{self, GENERAL_CHUNK_LEN},
};

/// Shapes: the devnet's and mainnet's, a small tree, indices that do not fill their bytes
/// (depth 10 in 2 bytes), and no general slot at all.
const SHAPES: [ZkParams; 5] = [
    shape(24, 2, 4),
    shape(24, 8, 64),
    shape(8, 1, 1),
    shape(10, 1, 3),
    shape(16, 0, 2),
];

const fn shape(tree_depth: u8, batch_general: usize, batch_transfers: usize) -> ZkParams {
    ZkParams {
        tree_depth,
        batch_general,
        batch_transfers,
        chain_id: 42_069,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let params = SHAPES[usize::from(selector) % SHAPES.len()];
    let Ok(decoded) = pubdata::decode(&params, bytes) else {
        return;
    };
    assert_eq!(decoded.general.len(), params.batch_general);
    assert_eq!(decoded.transfers.len(), params.batch_transfers);
    let mut again = Vec::with_capacity(params.pubdata_len());
    for g in &decoded.general {
        assert!(g.kind <= 4);
        again.extend_from_slice(&g.encode());
    }
    for t in &decoded.transfers {
        assert!(u64::from(t.from.max(t.to)) < 1u64 << params.tree_depth);
        assert!(t.amount < 1 << 24);
        again.extend_from_slice(&t.encode(params.tree_depth));
    }
    assert_eq!(again, bytes, "public data does not re-encode to itself");
    assert_eq!(
        again.len(),
        params.batch_general * GENERAL_CHUNK_LEN
            + params.batch_transfers * params.transfer_chunk_len()
    );
});
