//! On-disk persistence of the dev chain, in redb.
//!
//! The chain is stored as its block log: the genesis specification, then for every block its
//! timestamp, its hash and its transactions (EIP-2718 bytes, blob sidecars removed). Opening a data
//! directory re-executes the log from genesis and checks that every block hashes to what was
//! stored, so the state, receipts and logs after a restart are exactly those before it, and a
//! corrupted or incompatible log is detected instead of served. The cost of opening is linear in
//! the number of transactions (revm executes them at hundreds of thousands per second).
//!
//! The blobs of included blob transactions are kept beside the log, by versioned hash (131,072
//! bytes each), written in the same database transaction as their block; re-executing the log
//! does not read them.

use std::path::Path;

use alloy::eips::eip4844::Blob;
use alloy::primitives::{B256, Bytes};
use redb::{ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use crate::ChainError;
use crate::chain::GenesisSpec;

const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");
/// Blobs by versioned hash: the 131,072 bytes of each.
const BLOBS: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new("blobs");

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "l1.redb";

/// One stored block: what is needed to re-execute it and to check the result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredBlock {
    pub(crate) number: u64,
    pub(crate) timestamp: u64,
    pub(crate) hash: B256,
    pub(crate) txs: Vec<Bytes>,
}

/// The redb database of one dev chain.
#[derive(Debug)]
pub(crate) struct Store {
    db: redb::Database,
}

fn storage(e: impl std::fmt::Display) -> ChainError {
    ChainError::Storage(e.to_string())
}

impl Store {
    /// Opens (or creates) the database in `dir`.
    pub(crate) fn open(dir: &Path) -> Result<Self, ChainError> {
        std::fs::create_dir_all(dir).map_err(|e| {
            ChainError::Storage(format!(
                "cannot create data directory {}: {e}",
                dir.display()
            ))
        })?;
        let path = dir.join(DB_FILE);
        let db = redb::Database::create(&path)
            .map_err(|e| ChainError::Storage(format!("cannot open {}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(storage)?;
        txn.open_table(META).map_err(storage)?;
        txn.open_table(BLOCKS).map_err(storage)?;
        txn.open_table(BLOBS).map_err(storage)?;
        txn.commit().map_err(storage)?;
        Ok(Self { db })
    }

    /// The genesis the database was created with, if any.
    pub(crate) fn genesis(&self) -> Result<Option<GenesisSpec>, ChainError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(META).map_err(storage)?;
        match table.get("genesis").map_err(storage)? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(v.value()).map(Some).map_err(storage),
        }
    }

    /// Records the genesis of a new chain.
    pub(crate) fn put_genesis(&self, genesis: &GenesisSpec) -> Result<(), ChainError> {
        let bytes = serde_json::to_vec(genesis).map_err(storage)?;
        let txn = self.db.begin_write().map_err(storage)?;
        txn.open_table(META)
            .map_err(storage)?
            .insert("genesis", bytes.as_slice())
            .map_err(storage)?;
        txn.commit().map_err(storage)
    }

    /// The clock offset (seconds added to wall time) the chain last used.
    pub(crate) fn time_offset(&self) -> Result<i64, ChainError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(META).map_err(storage)?;
        Ok(match table.get("time_offset").map_err(storage)? {
            Some(v) => i64::from_le_bytes(v.value().try_into().map_err(storage)?),
            None => 0,
        })
    }

    /// All stored blocks after genesis, in order.
    pub(crate) fn blocks(&self) -> Result<Vec<StoredBlock>, ChainError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(BLOCKS).map_err(storage)?;
        let mut out = Vec::new();
        for entry in table.iter().map_err(storage)? {
            let (_, v) = entry.map_err(storage)?;
            out.push(serde_json::from_slice(v.value()).map_err(storage)?);
        }
        Ok(out)
    }

    /// Appends a sealed block, the blobs of its transactions and the current clock offset,
    /// durably, in one transaction.
    pub(crate) fn append(
        &self,
        block: &StoredBlock,
        time_offset: i64,
        blobs: &[(B256, Box<Blob>)],
    ) -> Result<(), ChainError> {
        let bytes = serde_json::to_vec(block).map_err(storage)?;
        let txn = self.db.begin_write().map_err(storage)?;
        txn.open_table(BLOCKS)
            .map_err(storage)?
            .insert(block.number, bytes.as_slice())
            .map_err(storage)?;
        if !blobs.is_empty() {
            let mut table = txn.open_table(BLOBS).map_err(storage)?;
            for (hash, blob) in blobs {
                table.insert(&hash.0, blob.as_slice()).map_err(storage)?;
            }
        }
        txn.open_table(META)
            .map_err(storage)?
            .insert("time_offset", time_offset.to_le_bytes().as_slice())
            .map_err(storage)?;
        txn.commit().map_err(storage)
    }

    /// The blob with this versioned hash, if a stored block's transaction carried it.
    pub(crate) fn blob(&self, versioned_hash: B256) -> Result<Option<Box<Blob>>, ChainError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(BLOBS).map_err(storage)?;
        let Some(v) = table.get(&versioned_hash.0).map_err(storage)? else {
            return Ok(None);
        };
        let bytes = v.value();
        if bytes.len() != alloy::eips::eip4844::BYTES_PER_BLOB {
            return Err(ChainError::Storage(format!(
                "stored blob {versioned_hash} has {} bytes, not {}",
                bytes.len(),
                alloy::eips::eip4844::BYTES_PER_BLOB
            )));
        }
        let mut blob = Box::new(Blob::ZERO);
        blob.copy_from_slice(bytes);
        Ok(Some(blob))
    }

    /// Stores the clock offset alone (after `advance_time` without a block).
    pub(crate) fn put_time_offset(&self, time_offset: i64) -> Result<(), ChainError> {
        let txn = self.db.begin_write().map_err(storage)?;
        txn.open_table(META)
            .map_err(storage)?
            .insert("time_offset", time_offset.to_le_bytes().as_slice())
            .map_err(storage)?;
        txn.commit().map_err(storage)
    }
}
