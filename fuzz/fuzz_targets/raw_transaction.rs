//! `eth_sendRawTransaction`'s decoder on arbitrary bytes: the same function the node calls
//! (`Chain::decode_raw`). It must not panic, and what it accepts must be exactly the bytes a
//! client hashes: the transaction hash is the keccak of the input, and the input re-encodes to
//! itself (blob transactions excepted: the node drops their sidecar).

#![no_main]

use alloy::consensus::TxEnvelope;
use alloy::eips::eip2718::Encodable2718;
use alloy::primitives::keccak256;
use libfuzzer_sys::fuzz_target;
use loft_l1_embedded::{ChainError, decode_raw_transaction};

/// The devnet's L1 chain id.
const CHAIN_ID: u64 = 31337;

fuzz_target!(|data: &[u8]| {
    let Ok(tx) = decode_raw_transaction(data, CHAIN_ID) else {
        return;
    };
    if !matches!(tx.inner(), TxEnvelope::Eip4844(_)) {
        assert_eq!(
            tx.inner().encoded_2718(),
            data,
            "accepted a non-canonical encoding"
        );
        assert_eq!(
            *tx.tx_hash(),
            keccak256(data),
            "hash is not the keccak of the bytes"
        );
    }
    // The chain id is checked: the same bytes are refused by another chain.
    assert!(matches!(
        decode_raw_transaction(data, CHAIN_ID + 1),
        Err(ChainError::WrongChainId { got: CHAIN_ID, .. })
    ));
});
