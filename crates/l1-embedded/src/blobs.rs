//! EIP-4844 blob transactions: a blob transaction is accepted only in its network form, with the
//! blobs, commitments and KZG proofs, and only when the proofs verify and the commitments hash to
//! the transaction's versioned hashes — what an Ethereum node's pool checks. Both sidecar forms are
//! accepted: EIP-4844 (one proof per blob) and EIP-7594 (cell proofs, the Osaka form).

use alloy::consensus::TxEip4844Variant;
use alloy::eips::eip4844::env_settings::EnvKzgSettings;

use crate::ChainError;

/// Checks a blob transaction's sidecar against its versioned hashes.
pub(crate) fn check_sidecar(tx: &TxEip4844Variant) -> Result<(), ChainError> {
    match tx {
        TxEip4844Variant::TxEip4844(_) => Err(ChainError::BlobSidecar(
            "blob transaction without its sidecar: send the network form (blobs, commitments, proofs)".into(),
        )),
        TxEip4844Variant::TxEip4844WithSidecar(with) => {
            let hashes = &with.tx.blob_versioned_hashes;
            if hashes.is_empty() {
                return Err(ChainError::BlobSidecar("blob transaction carries no blobs".into()));
            }
            with.sidecar
                .validate(hashes, EnvKzgSettings::Default.get())
                .map_err(|e| ChainError::BlobSidecar(e.to_string()))
        }
    }
}
