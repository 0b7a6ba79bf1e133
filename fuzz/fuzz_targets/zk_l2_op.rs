//! `loft_zk::L2Op::decode` on arbitrary bytes: a signed zk operation as a wallet sends it to the
//! sequencer's JSON-RPC (`docs/zk-rollup.md` §3.4), which anyone can send. It must not panic,
//! every refusal has a code in 20..=24, and what decodes re-encodes to the very same bytes (the
//! encoding is canonical) with the account and nonce it was read from.

#![no_main]

use libfuzzer_sys::fuzz_target;
use loft_zk::{L2Op, wire::KIND_TRANSFER};

fuzz_target!(|data: &[u8]| {
    let op = match L2Op::decode(data) {
        Ok(op) => op,
        Err(e) => {
            assert!((20..=24).contains(&e.code()), "{e}");
            return;
        }
    };
    assert_eq!(op.encode(), data, "accepted a non-canonical encoding");
    assert_eq!(op.account().to_be_bytes(), data[1..5]);
    assert_eq!(op.to_general().is_none(), data[0] == KIND_TRANSFER);
});
