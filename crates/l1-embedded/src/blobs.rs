//! EIP-4844 blob transactions: a blob transaction is accepted only in its network form, with the
//! blobs, commitments and KZG proofs, and only when the proofs verify and the commitments hash to
//! the transaction's versioned hashes — what an Ethereum node's pool checks. Both sidecar forms are
//! accepted: EIP-4844 (one proof per blob) and EIP-7594 (cell proofs, the Osaka form), with at most
//! [`MAX_BLOBS_PER_TX`] blobs, as anvil and Osaka nodes allow.
//!
//! Every way into the chain ([`crate::DevChain::send_raw`], `eth_sendTransaction`,
//! [`crate::EmbeddedL1`]'s `send_transaction`, [`crate::Chain::submit`]) goes through
//! [`split_sidecar`]: checked, the blobs kept aside (the chain stores them by versioned hash once
//! the transaction is in a block), and the sidecar removed, so blocks carry only the hashes.

use alloy::consensus::{Signed, TxEip4844Variant, TxEnvelope};
use alloy::eips::eip4844::Blob;
use alloy::eips::eip4844::env_settings::EnvKzgSettings;
use alloy::primitives::B256;

use crate::ChainError;

/// Most blobs one transaction may carry (EIP-7594's limit, anvil's under Osaka).
pub const MAX_BLOBS_PER_TX: usize = alloy::eips::eip7594::MAX_BLOBS_PER_TX_FUSAKA as usize;

/// The blobs of one transaction, by versioned hash, in the transaction's order.
pub type TxBlobs = Vec<(B256, Box<Blob>)>;

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
            if hashes.len() > MAX_BLOBS_PER_TX {
                return Err(ChainError::BlobSidecar(format!(
                    "{} blobs in one transaction, at most {MAX_BLOBS_PER_TX} are allowed",
                    hashes.len()
                )));
            }
            if with.sidecar.blobs().len() != hashes.len() {
                return Err(ChainError::BlobSidecar(format!(
                    "the sidecar has {} blobs for {} versioned hashes",
                    with.sidecar.blobs().len(),
                    hashes.len()
                )));
            }
            with.sidecar
                .validate(hashes, EnvKzgSettings::Default.get())
                .map_err(|e| ChainError::BlobSidecar(e.to_string()))
        }
    }
}

/// Checks a transaction's blob sidecar (if it is a blob transaction), and returns the transaction
/// without its sidecar and the blobs by versioned hash. Other transactions pass unchanged, with no
/// blobs. A blob transaction without its sidecar, or whose sidecar does not match its versioned
/// hashes, is refused ([`ChainError::BlobSidecar`]).
pub fn split_sidecar(tx: TxEnvelope) -> Result<(TxEnvelope, TxBlobs), ChainError> {
    let TxEnvelope::Eip4844(signed) = tx else {
        return Ok((tx, Vec::new()));
    };
    check_sidecar(signed.tx())?;
    let (variant, sig, hash) = signed.into_parts();
    let (tx, blobs) = match variant {
        TxEip4844Variant::TxEip4844WithSidecar(with) => {
            let blobs = with
                .tx
                .blob_versioned_hashes
                .iter()
                .copied()
                .zip(with.sidecar.blobs().iter().map(|b| Box::new(*b)))
                .collect();
            (with.tx, blobs)
        }
        // Refused by `check_sidecar` above.
        TxEip4844Variant::TxEip4844(tx) => (tx, Vec::new()),
    };
    let plain = TxEip4844Variant::TxEip4844(tx);
    Ok((
        TxEnvelope::Eip4844(Signed::new_unchecked(plain, sig, hash)),
        blobs,
    ))
}
