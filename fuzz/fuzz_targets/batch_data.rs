//! `loft_stf::decode_batch_v1` and `decode_step_at` on arbitrary bytes (the data of an L1 batch
//! submission, which anyone can post). They must not panic; what decodes must encode back to the
//! same bytes with the same step offsets, and every step must decode on its own from its offset.

#![no_main]

use libfuzzer_sys::fuzz_target;
use loft_stf::{MAX_STEP_BYTES, decode_batch_v1, decode_step_at, encode_batch_v1};

/// The L2 chain id.
const CHAIN_ID: u64 = 42_069;

fuzz_target!(|data: &[u8]| {
    // Any offset: a fraud proof may point anywhere.
    if let Some(&first) = data.first() {
        let _ = decode_step_at(data, usize::from(first) % (data.len() + 1), CHAIN_ID);
    }
    let Ok(steps) = decode_batch_v1(data, CHAIN_ID) else {
        return;
    };
    let again = encode_batch_v1(&steps, CHAIN_ID).expect("decoded steps re-encode");
    assert_eq!(&again.data[..], data);
    let mut offset = 1usize;
    for (step, end) in steps.iter().zip(&again.ends) {
        let (decoded, e) = decode_step_at(data, offset, CHAIN_ID).expect("step decodes alone");
        assert_eq!(&decoded, step);
        assert_eq!(e as u64, *end);
        assert!(e - offset <= MAX_STEP_BYTES);
        if let (loft_stf::DataStep::Tx(a), loft_stf::DataStep::Tx(b)) = (&decoded, step) {
            assert_eq!(a.tx_hash(), b.tx_hash());
        }
        offset = e;
    }
});
