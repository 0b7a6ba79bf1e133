//! Reading a blob batch's data back from L1 (`docs/rollup.md` §3.2): the versioned hashes of the
//! transaction that posted it (checked against the header's `dataRoot`), each blob by its hash,
//! unpacked to `dataLength` bytes.

use alloy::eips::eip4844::Blob;
use alloy::primitives::{B256, Bytes, keccak256};
use loft_l1::{L1Client, L1Error};

use crate::{BatchHeader, ContractsError, DATA_BLOBS, decode_submit_batch};

/// `dataRoot` of a blob batch: `keccak256` of its versioned hashes, concatenated in order.
pub fn blob_data_root(versioned_hashes: &[B256]) -> B256 {
    keccak256(versioned_hashes.concat())
}

/// The blobs of blob batch `header`, in order, from the L1 transaction `tx` that posted it.
/// Errors when the transaction's hashes do not give the header's `dataRoot`, or when the L1 does
/// not serve a blob (pruned, or a node without blobs) or serves one that does not match its hash.
pub async fn batch_blobs(
    l1: &(impl L1Client + ?Sized),
    tx: B256,
    header: &BatchHeader,
) -> Result<Vec<Blob>, ContractsError> {
    let fail = |what: String| ContractsError::L1(L1Error::Rpc(what));
    let posted = l1
        .transaction(tx)
        .await?
        .ok_or_else(|| fail(format!("L1 does not know transaction {tx}")))?;
    let hashes = posted.blob_versioned_hashes;
    if blob_data_root(&hashes) != header.data_root {
        return Err(fail(format!(
            "the blob hashes of transaction {tx} do not give batch {}'s dataRoot",
            header.index
        )));
    }
    let mut blobs = Vec::with_capacity(hashes.len());
    for hash in &hashes {
        let blob = l1.blob(*hash).await?.ok_or_else(|| {
            fail(format!(
                "the L1 does not serve blob {hash} of batch {} (pruned, or a node that keeps no blobs)",
                header.index
            ))
        })?;
        let (_, actual) = loft_stf::blob::commitment(&blob)
            .map_err(|e| fail(format!("blob {hash} of batch {}: {e}", header.index)))?;
        if actual != *hash {
            return Err(fail(format!(
                "the L1 served a blob for {hash} that commits to {actual}"
            )));
        }
        blobs.push(*blob);
    }
    Ok(blobs)
}

/// The data of blob batch `header` from its blobs: bytes 1..32 of each element, `dataLength` of
/// them.
pub fn unpack_batch(blobs: &[Blob], header: &BatchHeader) -> Result<Vec<u8>, ContractsError> {
    loft_stf::blob::unpack(blobs, header.data_length as usize).map_err(|e| {
        ContractsError::L1(L1Error::Rpc(format!(
            "batch {}'s data from its blobs: {e}",
            header.index
        )))
    })
}

/// Batch `header`'s data as the L1 transaction `tx` posted it, with its blobs (empty for a
/// calldata batch): what a verifier replays and a challenger proves steps from.
pub async fn posted_batch(
    l1: &(impl L1Client + ?Sized),
    tx: B256,
    header: &BatchHeader,
) -> Result<(Bytes, Vec<Blob>), ContractsError> {
    if header.data_kind == DATA_BLOBS {
        let blobs = batch_blobs(l1, tx, header).await?;
        let data = unpack_batch(&blobs, header)?;
        return Ok((data.into(), blobs));
    }
    let posted = l1.transaction(tx).await?.ok_or_else(|| {
        ContractsError::L1(L1Error::Rpc(format!("L1 does not know transaction {tx}")))
    })?;
    Ok((decode_submit_batch(&posted.input)?.1, Vec::new()))
}
