//! The dev chain itself: state on revm (Osaka rules), blocks, receipts, a pending pool, and a
//! clock that tests can move. Synchronous and single-threaded; [`crate::DevChain`] shares it
//! between tasks.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use alloy::consensus::{
    EMPTY_OMMER_ROOT_HASH, Header, Receipt, ReceiptEnvelope, ReceiptWithBloom, Transaction as _,
    TxEnvelope, TxType,
    proofs::{calculate_receipt_root, calculate_transaction_root},
    transaction::{Recovered, SignerRecoverable},
};
use alloy::eips::eip1559::{BaseFeeParams, calc_next_block_base_fee};
use alloy::eips::eip2718::{Decodable2718, Encodable2718, Typed2718};
use alloy::eips::eip4844::{Blob, DATA_GAS_PER_BLOB};
use alloy::eips::eip7685::EMPTY_REQUESTS_HASH;
use alloy::eips::eip7840::BlobParams;
use alloy::primitives::{Address, B64, B256, Bloom, Bytes, TxKind, U256, keccak256};
use alloy::rpc::types::{
    Block, BlockTransactions, Filter, Log as RpcLog, Transaction as RpcTransaction,
    TransactionReceipt, TransactionRequest,
};
use alloy::trie::EMPTY_ROOT_HASH;
use revm::context::result::{EVMError, ExecutionResult, InvalidTransaction};
use revm::context::{BlockEnv, CfgEnv, TxEnv};
use revm::context_interface::Cfg as _;
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::database::{CacheDB, EmptyDB};
use revm::handler::validation::{validate_env, validate_initial_tx_gas};
use revm::handler::{MainnetContext, MainnetEvm};
use revm::primitives::hardfork::SpecId;
use revm::state::{AccountInfo, Bytecode};
use revm::{Context, DatabaseCommit, DatabaseRef, ExecuteEvm, MainBuilder, MainContext};
use serde::{Deserialize, Serialize};

use crate::ChainError;
use crate::blobs::{TxBlobs, split_sidecar};
use crate::store::{Store, StoredBlock};

type Db = CacheDB<EmptyDB>;
type Evm = MainnetEvm<MainnetContext<Db>>;

/// Most logs one `eth_getLogs` answer may hold; more is an error asking for a narrower range.
pub const MAX_LOGS_PER_QUERY: usize = 100_000;

/// What defines a chain from its first block: two chains with equal specs are the same chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisSpec {
    /// Chain id.
    pub chain_id: u64,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Base fee of the genesis block; block 1's follows from it by the EIP-1559 rule (7/8 of it).
    pub initial_base_fee: u64,
    /// Timestamp of block 0.
    pub timestamp: u64,
    /// Prefunded accounts.
    pub alloc: Vec<(Address, U256)>,
}

impl GenesisSpec {
    /// Whether two specs describe the same chain, whatever their genesis times.
    pub fn same_chain(&self, other: &Self) -> bool {
        self.chain_id == other.chain_id
            && self.gas_limit == other.gas_limit
            && self.initial_base_fee == other.initial_base_fee
            && self.alloc == other.alloc
    }
}

/// A sealed block with its transactions' receipts.
#[derive(Debug, Clone)]
pub(crate) struct BlockRecord {
    pub(crate) header: Header,
    pub(crate) hash: B256,
    pub(crate) txs: Vec<B256>,
    pub(crate) receipts: Vec<TransactionReceipt>,
    pub(crate) size: u64,
}

/// A transaction included in a block.
#[derive(Debug, Clone)]
pub(crate) struct TxRecord {
    pub(crate) tx: Recovered<TxEnvelope>,
    pub(crate) block: u64,
    pub(crate) index: u64,
}

/// Which block's state a read refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateAt {
    /// The latest sealed block (also `pending`, `safe`, `finalized`: the dev chain has no reorgs).
    Latest,
    /// A block by number; only the latest block's state is kept.
    Number(u64),
}

/// The dev chain.
pub struct Chain {
    genesis: GenesisSpec,
    /// The state. An EVM is built around it for each block or call: revm's `Evm` is not `Send`,
    /// and the chain is shared between tasks.
    db: Db,
    cfg: CfgEnv,
    blocks: Vec<BlockRecord>,
    by_hash: HashMap<B256, u64>,
    txs: HashMap<B256, TxRecord>,
    pending: Vec<Recovered<TxEnvelope>>,
    /// Blobs of the blob transactions not yet in a block, by transaction hash.
    pending_blobs: HashMap<B256, TxBlobs>,
    /// Blobs of included transactions by versioned hash, for a chain without a store (a stored
    /// chain keeps them on disk only).
    blobs: HashMap<B256, Box<Blob>>,
    time_offset: i64,
    next_timestamp: Option<u64>,
    store: Option<Store>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("chain_id", &self.genesis.chain_id)
            .field("block_number", &self.block_number())
            .field("pending", &self.pending.len())
            .field("persistent", &self.store.is_some())
            .finish()
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn evm_error<E: std::fmt::Display>(e: EVMError<E>) -> ChainError {
    match e {
        EVMError::Transaction(invalid) => invalid_tx(invalid),
        other => ChainError::Evm(other.to_string()),
    }
}

fn invalid_tx(e: InvalidTransaction) -> ChainError {
    match e {
        InvalidTransaction::NonceTooLow { tx, state } => ChainError::NonceTooLow {
            got: tx,
            expected: state,
        },
        InvalidTransaction::NonceTooHigh { tx, state } => ChainError::NonceTooHigh {
            got: tx,
            expected: state,
        },
        InvalidTransaction::LackOfFundForMaxFee { fee, balance } => ChainError::InsufficientFunds(
            format!("balance {balance} wei, needs {fee} wei for gas * price + value"),
        ),
        other => ChainError::InvalidTransaction(other.to_string()),
    }
}

/// Converts a signed transaction into revm's transaction environment.
fn tx_env(tx: &Recovered<TxEnvelope>) -> TxEnv {
    let inner = tx.inner();
    let authorization_list = inner
        .authorization_list()
        .map(|list| {
            list.iter()
                .cloned()
                .map(revm::context::either::Either::Left)
                .collect()
        })
        .unwrap_or_default();
    TxEnv {
        tx_type: inner.ty(),
        caller: tx.signer(),
        gas_limit: inner.gas_limit(),
        gas_price: inner.max_fee_per_gas(),
        kind: inner.kind(),
        value: inner.value(),
        data: inner.input().clone(),
        nonce: inner.nonce(),
        chain_id: inner.chain_id(),
        access_list: inner.access_list().cloned().unwrap_or_default(),
        gas_priority_fee: inner.max_priority_fee_per_gas(),
        blob_hashes: inner
            .blob_versioned_hashes()
            .map(|h| h.to_vec())
            .unwrap_or_default(),
        max_fee_per_blob_gas: inner.max_fee_per_blob_gas().unwrap_or_default(),
        authorization_list,
    }
}

/// Decodes and checks the bytes of `eth_sendRawTransaction` for chain `chain_id`, without any
/// state: EIP-2718 decoding (exact, no trailing bytes), EIP-155 replay protection and the chain id,
/// the blob sidecar of a blob transaction, and signer recovery. Returns the transaction with its
/// sender, blob sidecar removed. The node and the `raw_transaction` fuzz target run this same code.
pub fn decode_raw_transaction(
    raw: &[u8],
    chain_id: u64,
) -> Result<Recovered<TxEnvelope>, ChainError> {
    let tx = decode_signed(raw, chain_id)?;
    let signer = tx.signer();
    let (tx, _blobs) = crate::blobs::split_sidecar(tx.into_inner())?;
    Ok(Recovered::new_unchecked(tx, signer))
}

/// [`decode_raw_transaction`] without the sidecar check: the transaction as sent (a blob
/// transaction still in its network form), for [`Chain::submit`] to check and split.
pub(crate) fn decode_signed(
    raw: &[u8],
    chain_id: u64,
) -> Result<Recovered<TxEnvelope>, ChainError> {
    if raw.is_empty() {
        return Err(ChainError::Malformed("empty transaction".into()));
    }
    let tx =
        TxEnvelope::decode_2718_exact(raw).map_err(|e| ChainError::Malformed(e.to_string()))?;
    match tx.chain_id() {
        None => return Err(ChainError::Unprotected),
        Some(id) if id != chain_id => {
            return Err(ChainError::WrongChainId {
                got: id,
                expected: chain_id,
            });
        }
        Some(_) => {}
    }
    let signer = tx
        .recover_signer()
        .map_err(|e| ChainError::InvalidSignature(e.to_string()))?;
    Ok(Recovered::new_unchecked(tx, signer))
}

impl Chain {
    /// Creates a chain at genesis, or reopens the one stored in `store`.
    pub(crate) fn open(mut genesis: GenesisSpec, store: Option<Store>) -> Result<Self, ChainError> {
        // A stored chain keeps its own genesis time; everything else must match the configuration.
        if let Some(stored) = store.as_ref().map(Store::genesis).transpose()?.flatten()
            && stored.same_chain(&genesis)
        {
            genesis.timestamp = stored.timestamp;
        }
        let mut db = CacheDB::new(EmptyDB::default());
        for (address, balance) in &genesis.alloc {
            db.insert_account_info(
                *address,
                AccountInfo {
                    balance: *balance,
                    ..Default::default()
                },
            );
        }
        let mut cfg = CfgEnv::default();
        cfg.set_spec_and_mainnet_gas_params(SpecId::OSAKA);
        cfg.chain_id = genesis.chain_id;

        let header = Header {
            parent_hash: B256::ZERO,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: Address::ZERO,
            state_root: B256::ZERO,
            transactions_root: EMPTY_ROOT_HASH,
            receipts_root: EMPTY_ROOT_HASH,
            logs_bloom: Bloom::ZERO,
            difficulty: U256::ZERO,
            number: 0,
            gas_limit: genesis.gas_limit,
            gas_used: 0,
            timestamp: genesis.timestamp,
            extra_data: Bytes::from_static(b"loft devnet"),
            mix_hash: B256::ZERO,
            nonce: B64::ZERO,
            base_fee_per_gas: Some(genesis.initial_base_fee),
            withdrawals_root: Some(EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            requests_hash: Some(EMPTY_REQUESTS_HASH),
            ..Default::default()
        };
        let hash = header.hash_slow();
        let size = alloy::rlp::encode(&header).len() as u64;
        let mut chain = Self {
            genesis,
            db,
            cfg,
            blocks: vec![BlockRecord {
                header,
                hash,
                txs: vec![],
                receipts: vec![],
                size,
            }],
            by_hash: HashMap::from([(hash, 0)]),
            txs: HashMap::new(),
            pending: Vec::new(),
            pending_blobs: HashMap::new(),
            blobs: HashMap::new(),
            time_offset: 0,
            next_timestamp: None,
            store: None,
        };
        chain.db.cache.block_hashes.insert(U256::ZERO, hash);

        if let Some(store) = store {
            match store.genesis()? {
                None => store.put_genesis(&chain.genesis)?,
                Some(stored) if stored == chain.genesis => {}
                Some(stored) => {
                    return Err(ChainError::Storage(format!(
                        "the data directory holds another chain (chain id {}, {} prefunded accounts, genesis time {}); \
                         use a new --data-dir or the same configuration",
                        stored.chain_id,
                        stored.alloc.len(),
                        stored.timestamp
                    )));
                }
            }
            for block in store.blocks()? {
                let mut txs = Vec::with_capacity(block.txs.len());
                for raw in &block.txs {
                    let tx = TxEnvelope::decode_2718_exact(raw)
                        .map_err(|e| ChainError::Storage(format!("block {}: {e}", block.number)))?;
                    let signer = tx
                        .recover_signer()
                        .map_err(|e| ChainError::Storage(format!("block {}: {e}", block.number)))?;
                    txs.push(Recovered::new_unchecked(tx, signer));
                }
                let (sealed, rejected) = chain.build_block(txs, block.timestamp, true)?;
                if !rejected.is_empty() || sealed.hash != block.hash {
                    return Err(ChainError::Storage(format!(
                        "stored block {} does not re-execute to its hash {} (got {}); the data directory is corrupt \
                         or was written by another version",
                        block.number, block.hash, sealed.hash
                    )));
                }
            }
            chain.time_offset = store.time_offset()?;
            chain.store = Some(store);
        }
        Ok(chain)
    }

    /// Builds an EVM that owns the state until [`Chain::restore`] gives it back.
    fn evm(&mut self, block: BlockEnv, cfg: CfgEnv) -> Evm {
        let db = std::mem::replace(&mut self.db, CacheDB::new(EmptyDB::default()));
        Context::mainnet()
            .with_db(db)
            .with_cfg(cfg)
            .with_block(block)
            .build_mainnet()
    }

    fn restore(&mut self, mut evm: Evm) {
        self.db = std::mem::replace(
            &mut evm.ctx.journaled_state.database,
            CacheDB::new(EmptyDB::default()),
        );
    }

    /// The chain id.
    pub fn chain_id(&self) -> u64 {
        self.genesis.chain_id
    }

    /// The genesis specification.
    pub fn genesis(&self) -> &GenesisSpec {
        &self.genesis
    }

    /// The latest block number.
    pub fn block_number(&self) -> u64 {
        self.blocks.len() as u64 - 1
    }

    fn latest(&self) -> &BlockRecord {
        self.blocks.last().expect("genesis always exists")
    }

    /// Base fee the next block will have.
    pub fn next_base_fee(&self) -> u64 {
        let parent = &self.latest().header;
        calc_next_block_base_fee(
            parent.gas_used,
            parent.gas_limit,
            parent
                .base_fee_per_gas
                .unwrap_or(self.genesis.initial_base_fee),
            BaseFeeParams::ethereum(),
        )
    }

    fn next_excess_blob_gas(&self) -> u64 {
        let parent = &self.latest().header;
        BlobParams::osaka().next_block_excess_blob_gas_osaka(
            parent.excess_blob_gas.unwrap_or(0),
            parent.blob_gas_used.unwrap_or(0),
            parent.base_fee_per_gas.unwrap_or(0),
        )
    }

    /// Blob base fee of the next block.
    pub fn next_blob_base_fee(&self) -> u128 {
        BlobParams::osaka().calc_blob_fee(self.next_excess_blob_gas())
    }

    /// Timestamp the next block will get: the one set by `set_next_block_timestamp`, else wall
    /// time plus the clock offset, and always later than the latest block.
    pub fn next_timestamp(&self) -> u64 {
        let parent = self.latest().header.timestamp;
        if let Some(ts) = self.next_timestamp {
            return ts.max(parent + 1);
        }
        let now = (now_secs() as i64).saturating_add(self.time_offset).max(0) as u64;
        now.max(parent + 1)
    }

    fn next_block_env(&self, timestamp: u64) -> BlockEnv {
        let parent = self.latest();
        BlockEnv {
            number: U256::from(parent.header.number + 1),
            beneficiary: Address::ZERO,
            timestamp: U256::from(timestamp),
            gas_limit: self.genesis.gas_limit,
            basefee: self.next_base_fee(),
            difficulty: U256::ZERO,
            prevrandao: Some(keccak256(parent.hash)),
            blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
                self.next_excess_blob_gas(),
                BlobParams::osaka().update_fraction as u64,
            )),
            slot_num: 0,
        }
    }

    /// Executes `txs` in a new block at `timestamp` and seals it. With `strict`, any invalid
    /// transaction fails the whole block and nothing changes; otherwise invalid ones are left out
    /// and returned, and those that do not fit go back to the front of the pending pool.
    fn build_block(
        &mut self,
        txs: Vec<Recovered<TxEnvelope>>,
        timestamp: u64,
        strict: bool,
    ) -> Result<(BlockRecord, Vec<(B256, ChainError)>), ChainError> {
        let env = self.next_block_env(timestamp);
        let base_fee = env.basefee;
        let blob_gas_price = env
            .blob_excess_gas_and_price
            .map(|b| b.blob_gasprice)
            .unwrap_or(1);
        let max_blob_gas = BlobParams::osaka().max_blob_gas_per_block();
        // Transactions run in revm's journal: each sees the ones before it, and nothing reaches the
        // state until the block is sealed and stored, so a refused block or a failed write leaves
        // no trace (and costs no copy of the state).
        let mut evm = self.evm(env.clone(), self.cfg.clone());

        let mut included: Vec<(Recovered<TxEnvelope>, ExecutionResult)> =
            Vec::with_capacity(txs.len());
        let mut rejected = Vec::new();
        let mut deferred: Vec<Recovered<TxEnvelope>> = Vec::new();
        let (mut gas_used, mut blob_gas_used) = (0u64, 0u64);
        for tx in txs {
            let hash = *tx.tx_hash();
            let blob_gas = tx
                .blob_versioned_hashes()
                .map_or(0, |h| h.len() as u64 * DATA_GAS_PER_BLOB);
            let gas_fits = gas_used.saturating_add(tx.gas_limit()) <= env.gas_limit;
            let blobs_fit = blob_gas_used + blob_gas <= max_blob_gas;
            // Mining the pool, a transaction that would fit an empty block but not the rest of
            // this one waits for the next block, and so do its sender's later transactions.
            if !strict
                && ((!(gas_fits && blobs_fit)
                    && tx.gas_limit() <= env.gas_limit
                    && blob_gas <= max_blob_gas)
                    || deferred.iter().any(|t| t.signer() == tx.signer()))
            {
                deferred.push(tx);
                continue;
            }
            let check = if !gas_fits {
                Err(ChainError::InvalidTransaction(format!(
                    "gas limit {} exceeds the block's remaining gas {}",
                    tx.gas_limit(),
                    env.gas_limit - gas_used
                )))
            } else if !blobs_fit {
                Err(ChainError::InvalidTransaction(
                    "block has no room for this many blobs".into(),
                ))
            } else if self.txs.contains_key(&hash)
                || included.iter().any(|(t, _)| *t.tx_hash() == hash)
            {
                Err(ChainError::AlreadyKnown(hash))
            } else {
                evm.transact_one(tx_env(&tx)).map_err(evm_error)
            };
            match check {
                Ok(result) => {
                    gas_used += result.tx_gas_used();
                    blob_gas_used += blob_gas;
                    included.push((tx, result));
                }
                Err(e) if strict => {
                    self.restore(evm);
                    return Err(e);
                }
                Err(e) => {
                    self.pending_blobs.remove(&hash);
                    rejected.push((hash, e));
                }
            }
        }
        let changes = evm.finalize();
        self.restore(evm);

        // Consensus receipts, roots and the header.
        let mut cumulative = 0u64;
        let mut envelopes = Vec::with_capacity(included.len());
        let mut receipts = Vec::with_capacity(included.len());
        let mut bloom = Bloom::ZERO;
        for (tx, result) in &included {
            cumulative += result.tx_gas_used();
            let receipt = Receipt {
                status: result.is_success().into(),
                cumulative_gas_used: cumulative,
                logs: result.logs().to_vec(),
            };
            let with_bloom = ReceiptWithBloom::from(receipt);
            bloom |= with_bloom.logs_bloom;
            receipts.push(ReceiptEnvelope::from_typed(tx.tx_type(), with_bloom));
            envelopes.push(tx.inner().clone());
        }
        let parent = self.latest();
        let header = Header {
            parent_hash: parent.hash,
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            beneficiary: env.beneficiary,
            state_root: B256::ZERO,
            transactions_root: calculate_transaction_root(&envelopes),
            receipts_root: calculate_receipt_root(&receipts),
            logs_bloom: bloom,
            difficulty: U256::ZERO,
            number: parent.header.number + 1,
            gas_limit: env.gas_limit,
            gas_used,
            timestamp,
            extra_data: Bytes::from_static(b"loft devnet"),
            mix_hash: env.prevrandao.unwrap_or_default(),
            nonce: B64::ZERO,
            base_fee_per_gas: Some(base_fee),
            withdrawals_root: Some(EMPTY_ROOT_HASH),
            blob_gas_used: Some(blob_gas_used),
            excess_blob_gas: Some(
                env.blob_excess_gas_and_price
                    .map(|b| b.excess_blob_gas)
                    .unwrap_or(0),
            ),
            parent_beacon_block_root: Some(B256::ZERO),
            requests_hash: Some(EMPTY_REQUESTS_HASH),
            ..Default::default()
        };
        let hash = header.hash_slow();
        let number = header.number;

        // RPC receipts, now that the block hash is known.
        let mut log_index = 0u64;
        let mut rpc_receipts = Vec::with_capacity(included.len());
        let mut prev_cumulative = 0u64;
        for (index, ((tx, result), envelope)) in included.iter().zip(receipts).enumerate() {
            let tx_hash = *tx.tx_hash();
            let gas = envelope.cumulative_gas_used() - prev_cumulative;
            prev_cumulative = envelope.cumulative_gas_used();
            let rpc_envelope = envelope.map_logs(|log| {
                let rpc = RpcLog {
                    inner: log,
                    block_hash: Some(hash),
                    block_number: Some(number),
                    block_timestamp: Some(timestamp),
                    transaction_hash: Some(tx_hash),
                    transaction_index: Some(index as u64),
                    log_index: Some(log_index),
                    removed: false,
                };
                log_index += 1;
                rpc
            });
            let blob_count = tx.blob_versioned_hashes().map_or(0, |h| h.len() as u64);
            rpc_receipts.push(TransactionReceipt {
                inner: rpc_envelope,
                transaction_hash: tx_hash,
                transaction_index: Some(index as u64),
                block_hash: Some(hash),
                block_number: Some(number),
                gas_used: gas,
                effective_gas_price: tx.effective_gas_price(Some(base_fee)),
                blob_gas_used: (blob_count > 0).then_some(blob_count * DATA_GAS_PER_BLOB),
                blob_gas_price: (blob_count > 0).then_some(blob_gas_price),
                from: tx.signer(),
                to: tx.to(),
                contract_address: match tx.kind() {
                    TxKind::Create => result.created_address(),
                    TxKind::Call(_) => None,
                },
            });
        }

        let tx_hashes: Vec<B256> = included.iter().map(|(tx, _)| *tx.tx_hash()).collect();
        let size = (alloy::rlp::encode(&header).len()
            + envelopes.iter().map(|t| t.encode_2718_len()).sum::<usize>())
            as u64;
        // The blobs of the included transactions: kept beside the block, not in it (replaying the
        // chain does not need them). A replayed block has none here; the store already has them.
        let blobs: Vec<(B256, Box<Blob>)> = included
            .iter()
            .filter_map(|(tx, _)| self.pending_blobs.get(tx.tx_hash()))
            .flat_map(|b| b.iter().cloned())
            .collect();
        if let Some(store) = &self.store {
            let stored = StoredBlock {
                number,
                timestamp,
                hash,
                txs: envelopes
                    .iter()
                    .map(|t| Bytes::from(t.encoded_2718()))
                    .collect(),
            };
            // Not durable means not done: on failure the changes are dropped.
            store.append(&stored, self.time_offset, &blobs)?;
        } else {
            self.blobs.extend(blobs);
        }
        self.db.commit(changes);
        for (tx, _) in &included {
            self.pending_blobs.remove(tx.tx_hash());
        }
        for (index, (tx, _)) in included.into_iter().enumerate() {
            self.txs.insert(
                *tx.tx_hash(),
                TxRecord {
                    tx,
                    block: number,
                    index: index as u64,
                },
            );
        }
        let record = BlockRecord {
            header,
            hash,
            txs: tx_hashes,
            receipts: rpc_receipts,
            size,
        };
        self.by_hash.insert(hash, number);
        self.db.cache.block_hashes.insert(U256::from(number), hash);
        self.blocks.push(record.clone());
        self.next_timestamp = None;
        self.pending.splice(0..0, deferred);
        Ok((record, rejected))
    }

    /// Decodes and checks a raw transaction (EIP-2718 bytes, blob transactions with their sidecar)
    /// as a node's pool would, before anything is executed: [`decode_raw_transaction`] with this
    /// chain's id.
    pub fn decode_raw(&self, raw: &[u8]) -> Result<Recovered<TxEnvelope>, ChainError> {
        decode_raw_transaction(raw, self.genesis.chain_id)
    }

    /// The blob with this versioned hash, if a transaction in a block carried it.
    pub fn blob(&self, versioned_hash: B256) -> Result<Option<Box<Blob>>, ChainError> {
        match &self.store {
            Some(store) => store.blob(versioned_hash),
            None => Ok(self.blobs.get(&versioned_hash).cloned()),
        }
    }

    /// Nonce the next transaction of `address` must have, counting the pending pool.
    pub fn pending_nonce(&self, address: Address) -> u64 {
        let state = self.account(address).nonce;
        let queued = self
            .pending
            .iter()
            .filter(|t| t.signer() == address)
            .count() as u64;
        state + queued
    }

    /// Accepts a transaction. With `automine` it is executed in a block of its own at once and an
    /// invalid one is refused with nothing changed; otherwise it is checked and queued for the next
    /// block. A blob transaction comes in its network form, with its sidecar
    /// ([`split_sidecar`]); its blobs are kept by versioned hash once it is in a block
    /// ([`Chain::blob`]).
    pub fn submit(
        &mut self,
        tx: Recovered<TxEnvelope>,
        automine: bool,
    ) -> Result<B256, ChainError> {
        let signer = tx.signer();
        let (tx, blobs) = split_sidecar(tx.into_inner())?;
        self.submit_split(Recovered::new_unchecked(tx, signer), blobs, automine)
    }

    /// [`Chain::submit`] of a transaction whose sidecar [`split_sidecar`] has already checked and
    /// removed, with the blobs it returned.
    pub(crate) fn submit_split(
        &mut self,
        tx: Recovered<TxEnvelope>,
        blobs: TxBlobs,
        automine: bool,
    ) -> Result<B256, ChainError> {
        let hash = *tx.tx_hash();
        if self.txs.contains_key(&hash) || self.pending.iter().any(|t| *t.tx_hash() == hash) {
            return Err(ChainError::AlreadyKnown(hash));
        }
        let expected = self.pending_nonce(tx.signer());
        if tx.nonce() < expected {
            return Err(ChainError::NonceTooLow {
                got: tx.nonce(),
                expected,
            });
        }
        if tx.nonce() > expected {
            return Err(ChainError::NonceTooHigh {
                got: tx.nonce(),
                expected,
            });
        }
        if automine {
            let ts = self.next_timestamp();
            if !blobs.is_empty() {
                self.pending_blobs.insert(hash, blobs);
            }
            if let Err(e) = self.build_block(vec![tx], ts, true) {
                self.pending_blobs.remove(&hash);
                return Err(e);
            }
        } else {
            self.precheck(&tx)?;
            self.pending.push(tx);
            if !blobs.is_empty() {
                self.pending_blobs.insert(hash, blobs);
            }
        }
        Ok(hash)
    }

    /// Checks for a queued transaction: fee cap against the next base fee, what revm checks
    /// before touching state (gas limit against the block and EIP-7825 caps, intrinsic gas and the
    /// EIP-7623 floor, tip against fee cap, blob fee, init code size), and funds.
    fn precheck(&self, tx: &Recovered<TxEnvelope>) -> Result<(), ChainError> {
        let base_fee = self.next_base_fee() as u128;
        if tx.max_fee_per_gas() < base_fee {
            return Err(ChainError::InvalidTransaction(format!(
                "max fee per gas {} is below the next block's base fee {base_fee}",
                tx.max_fee_per_gas()
            )));
        }
        let env = tx_env(tx);
        let mut ctx = Context::mainnet()
            .with_cfg(self.cfg.clone())
            .with_block(self.next_block_env(self.next_timestamp()))
            .with_tx(env.clone());
        validate_env::<_, EVMError<std::convert::Infallible>>(&mut ctx).map_err(evm_error)?;
        validate_initial_tx_gas(
            env,
            self.cfg.spec,
            self.cfg.is_eip7623_disabled(),
            self.cfg.is_amsterdam_eip8037_enabled(),
            self.cfg.tx_gas_limit_cap(),
            None,
        )
        .map_err(invalid_tx)?;
        // Saturating: a value near 2^256 must not wrap around to an affordable cost.
        let max_cost = |t: &Recovered<TxEnvelope>| {
            let blob_gas = t
                .blob_versioned_hashes()
                .map_or(0, |h| h.len() as u64 * DATA_GAS_PER_BLOB);
            (U256::from(t.gas_limit()) * U256::from(t.max_fee_per_gas()))
                .saturating_add(t.value())
                .saturating_add(
                    U256::from(blob_gas) * U256::from(t.max_fee_per_blob_gas().unwrap_or_default()),
                )
        };
        let needed = self
            .pending
            .iter()
            .filter(|t| t.signer() == tx.signer())
            .fold(max_cost(tx), |sum, t| sum.saturating_add(max_cost(t)));
        let balance = self.account(tx.signer()).balance;
        if balance < needed {
            return Err(ChainError::InsufficientFunds(format!(
                "balance {balance} wei, needs {needed} wei for gas * price + value (including queued transactions)"
            )));
        }
        Ok(())
    }

    /// Mines one block with the pending transactions: those that fail are dropped and returned,
    /// those that do not fit in the block stay pending for the next one.
    pub fn mine_pending(&mut self) -> Result<(u64, Vec<(B256, ChainError)>), ChainError> {
        let txs = std::mem::take(&mut self.pending);
        let ts = self.next_timestamp();
        let (block, rejected) = self.build_block(txs, ts, false)?;
        Ok((block.header.number, rejected))
    }

    /// Number of transactions waiting for the next block.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Moves the clock forward. Refused (nothing changes) if the clock would pass `i64::MAX`
    /// seconds.
    pub fn advance_time(&mut self, seconds: u64) -> Result<(), ChainError> {
        self.time_offset = i64::try_from(seconds)
            .ok()
            .and_then(|s| self.time_offset.checked_add(s))
            .filter(|offset| (now_secs() as i64).checked_add(*offset).is_some())
            .ok_or_else(|| {
                ChainError::InvalidParams(format!(
                    "cannot advance the clock by {seconds} s: timestamps stop at {}",
                    i64::MAX
                ))
            })?;
        if let Some(store) = &self.store {
            store.put_time_offset(self.time_offset)?;
        }
        Ok(())
    }

    /// Sets the next block's timestamp; it must be later than the latest block's, and at most
    /// `i64::MAX`.
    pub fn set_next_timestamp(&mut self, timestamp: u64) -> Result<(), ChainError> {
        let latest = self.latest().header.timestamp;
        if timestamp <= latest {
            return Err(ChainError::TimestampNotIncreasing {
                requested: timestamp,
                latest,
            });
        }
        let Ok(signed) = i64::try_from(timestamp) else {
            return Err(ChainError::InvalidParams(format!(
                "timestamp {timestamp} is beyond the largest the clock keeps, {}",
                i64::MAX
            )));
        };
        // Later blocks continue from the new time, as a real clock would.
        self.time_offset = signed - now_secs() as i64;
        self.next_timestamp = Some(timestamp);
        if let Some(store) = &self.store {
            store.put_time_offset(self.time_offset)?;
        }
        Ok(())
    }

    fn resolve(&self, at: StateAt) -> Result<(), ChainError> {
        match at {
            StateAt::Latest => Ok(()),
            StateAt::Number(n) if n == self.block_number() => Ok(()),
            StateAt::Number(n) if n > self.block_number() => {
                Err(ChainError::UnknownBlock(n.to_string()))
            }
            StateAt::Number(n) => Err(ChainError::HistoricalState(n)),
        }
    }

    fn account(&self, address: Address) -> AccountInfo {
        self.db
            .basic_ref(address)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Balance of an account.
    pub fn balance(&self, address: Address, at: StateAt) -> Result<U256, ChainError> {
        self.resolve(at)?;
        Ok(self.account(address).balance)
    }

    /// Nonce of an account.
    pub fn nonce(&self, address: Address, at: StateAt) -> Result<u64, ChainError> {
        self.resolve(at)?;
        Ok(self.account(address).nonce)
    }

    /// Code of an account.
    pub fn code(&self, address: Address, at: StateAt) -> Result<Bytes, ChainError> {
        self.resolve(at)?;
        let info = self.account(address);
        let db = &self.db;
        let code = match info.code {
            Some(code) => code,
            None => db
                .code_by_hash_ref(info.code_hash)
                .unwrap_or_else(|_| Bytecode::default()),
        };
        Ok(code.original_bytes())
    }

    /// A storage slot.
    pub fn storage(&self, address: Address, slot: U256, at: StateAt) -> Result<B256, ChainError> {
        self.resolve(at)?;
        let value = self.db.storage_ref(address, slot).unwrap_or_default();
        Ok(B256::from(value))
    }

    /// Builds the transaction environment of a call request, filling defaults like a node does.
    fn call_env(&self, req: &TransactionRequest, gas_limit: u64) -> Result<TxEnv, ChainError> {
        let caller = req.from.unwrap_or_default();
        let kind = req.to.unwrap_or(TxKind::Create);
        let data = req.input.input().cloned().unwrap_or_default();
        let (gas_price, priority) = match (req.gas_price, req.max_fee_per_gas) {
            (Some(p), _) => (p, None),
            (None, Some(max)) => (max, req.max_priority_fee_per_gas),
            (None, None) => (0, None),
        };
        let blob_hashes = req.blob_versioned_hashes.clone().unwrap_or_default();
        let tx_type = if !blob_hashes.is_empty() {
            TxType::Eip4844 as u8
        } else if req.max_fee_per_gas.is_some() {
            TxType::Eip1559 as u8
        } else {
            TxType::Legacy as u8
        };
        Ok(TxEnv {
            tx_type,
            caller,
            gas_limit,
            gas_price,
            kind,
            value: req.value.unwrap_or_default(),
            data,
            nonce: req.nonce.unwrap_or_else(|| self.account(caller).nonce),
            chain_id: Some(self.genesis.chain_id),
            access_list: req.access_list.clone().unwrap_or_default(),
            gas_priority_fee: priority,
            blob_hashes,
            // A request that names no blob fee cap (wallets estimate gas before filling it) pays
            // the next block's blob price, as on geth and anvil.
            max_fee_per_blob_gas: req
                .max_fee_per_blob_gas
                .unwrap_or_else(|| self.next_blob_base_fee()),
            authorization_list: vec![],
        })
    }

    /// Runs a request against the latest state without keeping any change.
    fn simulate(
        &mut self,
        req: &TransactionRequest,
        gas_limit: u64,
    ) -> Result<ExecutionResult, ChainError> {
        let env = self.call_env(req, gas_limit)?;
        let ts = self.next_timestamp();
        let mut block = self.next_block_env(ts);
        // Calls that name no price must not fail on the base fee, as on every Ethereum node.
        if env.gas_price == 0 {
            block.basefee = 0;
        }
        let mut cfg = self.cfg.clone();
        // As on geth: a call without a sender or price is not refused for funds or base fee.
        cfg.disable_balance_check = req.from.is_none() || env.gas_price == 0;
        cfg.disable_base_fee = env.gas_price == 0;
        let mut evm = self.evm(block, cfg);
        let result = evm.transact(env).map(|r| r.result).map_err(evm_error);
        self.restore(evm);
        result
    }

    /// Most gas one transaction may use: the block gas limit, and Osaka's EIP-7825 cap.
    fn max_tx_gas(&self) -> u64 {
        self.genesis
            .gas_limit
            .min(alloy::eips::eip7825::MAX_TX_GAS_LIMIT_OSAKA)
    }

    /// `eth_call`: the output of a call, or [`ChainError::Reverted`].
    pub fn call(&mut self, req: &TransactionRequest, at: StateAt) -> Result<Bytes, ChainError> {
        self.resolve(at)?;
        let gas = req.gas.unwrap_or(self.max_tx_gas()).min(self.max_tx_gas());
        match self.simulate(req, gas)? {
            ExecutionResult::Success { output, .. } => Ok(output.into_data()),
            ExecutionResult::Revert { output, .. } => Err(ChainError::Reverted(output)),
            ExecutionResult::Halt { reason, .. } => Err(ChainError::Halted(format!("{reason:?}"))),
        }
    }

    /// `eth_estimateGas`: the least gas limit with which the request succeeds (binary search, as
    /// geth and anvil do, because refunds and the 63/64 rule make `gas_used` not enough).
    pub fn estimate_gas(
        &mut self,
        req: &TransactionRequest,
        at: StateAt,
    ) -> Result<u64, ChainError> {
        self.resolve(at)?;
        let cap = req.gas.unwrap_or(self.max_tx_gas()).min(self.max_tx_gas());
        let used = match self.simulate(req, cap)? {
            ExecutionResult::Success { gas, .. } => gas.tx_gas_used(),
            ExecutionResult::Revert { output, .. } => return Err(ChainError::Reverted(output)),
            ExecutionResult::Halt { reason, .. } => {
                return Err(ChainError::Halted(format!("{reason:?}")));
            }
        };
        let (mut lo, mut hi) = (used.saturating_sub(1), cap);
        // A plain transfer or a call that needs exactly what it used: done in one try.
        if matches!(self.simulate(req, used), Ok(r) if r.is_success()) {
            return Ok(used);
        }
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            match self.simulate(req, mid) {
                Ok(r) if r.is_success() => hi = mid,
                _ => lo = mid,
            }
        }
        Ok(hi)
    }

    fn block_at(&self, number: u64) -> Option<&BlockRecord> {
        self.blocks.get(number as usize)
    }

    /// A block number from a tag (`latest`, `pending`, `safe`, `finalized` all name the latest).
    pub fn resolve_tag(&self, tag: alloy::eips::BlockNumberOrTag) -> u64 {
        use alloy::eips::BlockNumberOrTag as T;
        match tag {
            T::Earliest => 0,
            T::Number(n) => n,
            T::Latest | T::Pending | T::Safe | T::Finalized => self.block_number(),
        }
    }

    /// A block as JSON-RPC returns it.
    pub fn rpc_block(&self, number: u64, full: bool) -> Option<Block> {
        let record = self.block_at(number)?;
        let transactions = if full {
            BlockTransactions::Full(
                record
                    .txs
                    .iter()
                    .filter_map(|h| self.rpc_transaction(*h))
                    .collect(),
            )
        } else {
            BlockTransactions::Hashes(record.txs.clone())
        };
        let header = alloy::rpc::types::Header {
            hash: record.hash,
            inner: record.header.clone(),
            total_difficulty: Some(U256::ZERO),
            size: Some(U256::from(record.size)),
        };
        Some(Block {
            header,
            uncles: vec![],
            transactions,
            withdrawals: Some(Default::default()),
        })
    }

    /// A block number by hash.
    pub fn block_number_by_hash(&self, hash: B256) -> Option<u64> {
        self.by_hash.get(&hash).copied()
    }

    /// Header fields of a block.
    pub fn header(&self, number: u64) -> Option<(B256, Header)> {
        self.block_at(number).map(|b| (b.hash, b.header.clone()))
    }

    /// A mined transaction as JSON-RPC returns it.
    pub fn rpc_transaction(&self, hash: B256) -> Option<RpcTransaction> {
        let record = self.txs.get(&hash)?;
        let block = self.block_at(record.block)?;
        Some(RpcTransaction {
            inner: record.tx.clone(),
            block_hash: Some(block.hash),
            block_number: Some(record.block),
            transaction_index: Some(record.index),
            effective_gas_price: Some(record.tx.effective_gas_price(block.header.base_fee_per_gas)),
            block_timestamp: Some(block.header.timestamp),
        })
    }

    /// A pending (not yet mined) transaction, if queued.
    pub fn pending_transaction(&self, hash: B256) -> Option<RpcTransaction> {
        self.pending
            .iter()
            .find(|t| *t.tx_hash() == hash)
            .map(|tx| RpcTransaction {
                inner: tx.clone(),
                block_hash: None,
                block_number: None,
                transaction_index: None,
                effective_gas_price: None,
                block_timestamp: None,
            })
    }

    /// A transaction's receipt.
    pub fn receipt(&self, hash: B256) -> Option<TransactionReceipt> {
        let record = self.txs.get(&hash)?;
        self.block_at(record.block)?
            .receipts
            .get(record.index as usize)
            .cloned()
    }

    /// Logs matching a filter; block ranges are clamped to the chain.
    pub fn logs(&self, filter: &Filter) -> Result<Vec<RpcLog>, ChainError> {
        let (from, to) = if let Some(hash) = filter.get_block_hash() {
            let n = self
                .block_number_by_hash(hash)
                .ok_or_else(|| ChainError::UnknownBlock(hash.to_string()))?;
            (n, n)
        } else {
            let from = filter
                .block_option
                .get_from_block()
                .map(|t| self.resolve_tag(*t))
                .unwrap_or(self.block_number());
            let to = filter
                .block_option
                .get_to_block()
                .map(|t| self.resolve_tag(*t))
                .unwrap_or(self.block_number());
            if from > to {
                return Err(ChainError::InvalidParams(format!(
                    "fromBlock {from} is after toBlock {to}"
                )));
            }
            (from, to.min(self.block_number()))
        };
        let mut out = Vec::new();
        for number in from..=to {
            let Some(block) = self.block_at(number) else {
                break;
            };
            if !filter.matches_bloom(block.header.logs_bloom) {
                continue;
            }
            for receipt in &block.receipts {
                for log in receipt.inner.logs() {
                    if filter.rpc_matches(log) {
                        out.push(log.clone());
                        if out.len() > MAX_LOGS_PER_QUERY {
                            return Err(ChainError::TooManyLogs(MAX_LOGS_PER_QUERY));
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Completes a request for `eth_sendTransaction` (nonce, fees, gas, chain id) the way a wallet
    /// would, so that a development key can sign it.
    pub fn fill_request(
        &mut self,
        req: &TransactionRequest,
    ) -> Result<alloy::consensus::TypedTransaction, ChainError> {
        let mut req = req.clone();
        let from = req
            .from
            .ok_or_else(|| ChainError::InvalidParams("`from` is required".into()))?;
        req.chain_id.get_or_insert(self.genesis.chain_id);
        if req.nonce.is_none() {
            req.nonce = Some(self.pending_nonce(from));
        }
        if req.gas_price.is_none() {
            let base = self.next_base_fee() as u128;
            let tip = *req
                .max_priority_fee_per_gas
                .get_or_insert(crate::DEFAULT_PRIORITY_FEE);
            req.max_fee_per_gas
                .get_or_insert((base * 2).saturating_add(tip));
        }
        if req.sidecar.is_some() {
            if req.blob_versioned_hashes.is_none() {
                req.populate_blob_hashes();
            }
            req.max_fee_per_blob_gas
                .get_or_insert(self.next_blob_base_fee().saturating_mul(2));
        }
        if req.gas.is_none() {
            req.gas = Some(self.estimate_gas(&req, StateAt::Latest)?);
        }
        if req.to.is_none() {
            req.to = Some(TxKind::Create);
        }
        req.build_typed_tx()
            .map_err(|_| ChainError::InvalidParams("incomplete transaction request".into()))
    }
}
