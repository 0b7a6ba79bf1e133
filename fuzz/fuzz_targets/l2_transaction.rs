//! The L2 transaction path on arbitrary bytes: `loft_stf::L2Tx::decode` (size, EIP-2718, type,
//! signature, chain id) and then execution against an empty state. Neither may panic; what decodes
//! re-encodes to the same bytes with the keccak of the input as its hash; against an empty state
//! the only outcomes are refusals with a stable code (the sender has no ETH for the fee unless the
//! fee is zero, and then the transaction must execute).

#![no_main]


use alloy::eips::eip2718::Encodable2718;
use alloy::primitives::{Address, B256, keccak256};
use libfuzzer_sys::fuzz_target;
use loft_state::{StateError, StateRead};
use loft_stf::{ChainParams, L2Tx, TxError, execute_tx};

/// The L2 chain id the inputs are checked against.
const CHAIN_ID: u64 = 42_069;

/// An empty state.
struct Empty;

impl StateRead for Empty {
    fn leaf(&self, key: &B256) -> Result<Option<Vec<u8>>, StateError> {
        let _ = key;
        Ok(None)
    }
}

fuzz_target!(|data: &[u8]| {
    let params = ChainParams { chain_id: CHAIN_ID, base_fee: 0, fee_recipient: Address::ZERO };
    let tx = match L2Tx::decode(data, CHAIN_ID) {
        Ok(tx) => tx,
        Err(e) => {
            assert!(e.is_invalid_tx());
            assert_eq!(TxError::TABLE[usize::from(e.code()) - 1].1, e.kind());
            return;
        }
    };
    assert_eq!(tx.envelope().encoded_2718(), data, "accepted a non-canonical encoding");
    assert_eq!(tx.hash(), keccak256(data));
    let _ = tx.operation(&Empty);
    match execute_tx(&Empty, &params, &tx) {
        Ok(out) => {
            assert!(out.receipt.status);
            assert_eq!(Some(out.receipt.gas_used), tx.gas());
        }
        Err(e) => assert!(e.is_invalid_tx(), "{e}"),
    }
});
