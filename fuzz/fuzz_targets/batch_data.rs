//! `loft_stf::decode_batch` on arbitrary bytes (the data of an L1 batch submission, which anyone
//! can post). It must not panic, and what it decodes must encode back to a batch that decodes to
//! the same blocks with the same transaction hashes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use loft_stf::{decode_batch, encode_batch};

/// The L2 chain id.
const CHAIN_ID: u64 = 42_069;

fuzz_target!(|data: &[u8]| {
    let Ok(blocks) = decode_batch(data, CHAIN_ID) else {
        return;
    };
    let again = encode_batch(&blocks, CHAIN_ID).expect("decoded blocks re-encode");
    let decoded = decode_batch(&again, CHAIN_ID).expect("re-encoded batch decodes");
    assert_eq!(decoded, blocks);
    for (a, b) in decoded.iter().flat_map(|b| &b.txs).zip(blocks.iter().flat_map(|b| &b.txs)) {
        assert_eq!(a.tx_hash(), b.tx_hash());
    }
});
