//! Node storage of the tree: in memory ([`MemStore`]) and in redb ([`RedbStore`]).
//!
//! Nodes are content-addressed (the key is the node's hash) and never deleted, so every root that
//! was ever persisted stays readable and provable.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::B256;
use alloy::primitives::map::B256Map;
use redb::{ReadOnlyTable, ReadableDatabase, TableDefinition, TableError};

use crate::StateError;

/// A stored tree node, addressed by its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// `keccak256(left ‖ right)`.
    Internal {
        /// Left child hash.
        left: B256,
        /// Right child hash.
        right: B256,
    },
    /// `keccak256(0x00 ‖ key ‖ keccak256(value))`.
    Leaf {
        /// The leaf key.
        key: B256,
        /// The value bytes.
        value: Vec<u8>,
    },
}

/// Tag byte of an encoded leaf.
const TAG_LEAF: u8 = 0;
/// Tag byte of an encoded internal node.
const TAG_INTERNAL: u8 = 1;

impl Node {
    /// The node's hash (its address in a store).
    pub fn hash(&self) -> B256 {
        match self {
            Node::Internal { left, right } => crate::smt::internal_hash(left, right),
            Node::Leaf { key, value } => crate::smt::leaf_hash(key, value),
        }
    }

    /// The on-disk encoding (table `state_nodes` of [`RedbStore`]):
    /// - internal node: `0x01 ‖ left[32] ‖ right[32]` (65 bytes);
    /// - leaf: `0x00 ‖ key[32] ‖ value` (33 + value length bytes; the value runs to the end).
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Node::Internal { left, right } => {
                let mut out = Vec::with_capacity(65);
                out.push(TAG_INTERNAL);
                out.extend_from_slice(left.as_slice());
                out.extend_from_slice(right.as_slice());
                out
            }
            Node::Leaf { key, value } => {
                let mut out = Vec::with_capacity(33 + value.len());
                out.push(TAG_LEAF);
                out.extend_from_slice(key.as_slice());
                out.extend_from_slice(value);
                out
            }
        }
    }

    /// Decodes [`Node::encode`]'s output; `None` if malformed.
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        match bytes.split_first()? {
            (&TAG_INTERNAL, rest) if rest.len() == 64 => Some(Node::Internal {
                left: B256::from_slice(&rest[..32]),
                right: B256::from_slice(&rest[32..]),
            }),
            (&TAG_LEAF, rest) if rest.len() >= 32 => Some(Node::Leaf {
                key: B256::from_slice(&rest[..32]),
                value: rest[32..].to_vec(),
            }),
            _ => None,
        }
    }
}

/// Where the tree reads nodes from.
pub trait NodeStore {
    /// The node with hash `hash`, if stored.
    fn node(&self, hash: &B256) -> Result<Option<Node>, StateError>;
}

impl<S: NodeStore + ?Sized> NodeStore for &S {
    fn node(&self, hash: &B256) -> Result<Option<Node>, StateError> {
        (**self).node(hash)
    }
}

impl<S: NodeStore + ?Sized> NodeStore for Arc<S> {
    fn node(&self, hash: &B256) -> Result<Option<Node>, StateError> {
        (**self).node(hash)
    }
}

/// Nodes in a hash map.
#[derive(Debug, Default, Clone)]
pub struct MemStore {
    nodes: B256Map<Node>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores `node` under `hash` (the caller vouches that `hash == node.hash()`).
    pub fn insert(&mut self, hash: B256, node: Node) {
        self.nodes.insert(hash, node);
    }

    /// Stores every `(hash, node)` pair, e.g. the output of [`crate::Smt::take_new_nodes`].
    pub fn extend(&mut self, nodes: impl IntoIterator<Item = (B256, Node)>) {
        self.nodes.extend(nodes);
    }

    /// Number of stored nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the store holds no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

impl NodeStore for MemStore {
    fn node(&self, hash: &B256) -> Result<Option<Node>, StateError> {
        Ok(self.nodes.get(hash).cloned())
    }
}

/// The redb table of tree nodes: node hash (32 bytes) -> [`Node::encode`] bytes. The key is a
/// byte slice rather than `[u8; 32]` because redb compares slices with one `memcmp` but arrays
/// element by element.
const NODES: TableDefinition<'static, &'static [u8], &'static [u8]> =
    TableDefinition::new("state_nodes");

/// Default number of nodes per cache generation of a [`RedbStore`] (two generations are kept).
pub const DEFAULT_CACHE_NODES: usize = 1 << 19;

/// How long a [`RedbStore`] reuses one read snapshot before taking a fresh one (an old snapshot
/// keeps redb from reusing pages that later commits freed).
const SNAPSHOT_MAX_AGE: Duration = Duration::from_millis(500);

/// Nodes in a redb table (`state_nodes`) of a shared database.
///
/// Reads go through a bounded in-memory cache (two generations: a hit in the old generation is
/// promoted, and when the new one is full the old one is dropped) and then through a reused read
/// snapshot, not a new read transaction per node. Because nodes are content-addressed and never
/// deleted, a stale snapshot can only miss a node, never return a wrong one: on a miss the store
/// takes a fresh snapshot and looks again. Clones share the cache.
#[derive(Clone)]
pub struct RedbStore {
    db: Arc<redb::Database>,
    reader: Arc<Mutex<Reader>>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore").finish_non_exhaustive()
    }
}

/// A read snapshot of the node table (`None` while the table does not exist yet).
type Snapshot = Option<ReadOnlyTable<&'static [u8], &'static [u8]>>;

/// The mutable read side of a [`RedbStore`].
struct Reader {
    snapshot: Option<(Snapshot, Instant)>,
    /// Nodes handed over for writing whose commit may not have happened yet
    /// ([`RedbStore::stage`]): read first, never evicted until [`RedbStore::committed`].
    staged: B256Map<Node>,
    hot: B256Map<Node>,
    cold: B256Map<Node>,
    generation: usize,
}

impl Reader {
    fn remember(&mut self, hash: B256, node: Node) {
        if self.hot.len() >= self.generation {
            self.cold = std::mem::take(&mut self.hot);
        }
        self.hot.insert(hash, node);
    }

    fn cached(&mut self, hash: &B256) -> Option<Node> {
        if let Some(node) = self.hot.get(hash) {
            return Some(node.clone());
        }
        let node = self.cold.remove(hash)?;
        self.remember(*hash, node.clone());
        Some(node)
    }
}

fn storage<E: std::fmt::Display>(e: E) -> StateError {
    StateError::Storage(e.to_string())
}

impl RedbStore {
    /// The node store in table `state_nodes` of `db`, with the default cache size.
    pub fn new(db: Arc<redb::Database>) -> Self {
        Self::with_cache(db, DEFAULT_CACHE_NODES)
    }

    /// Like [`RedbStore::new`] with `nodes` nodes per cache generation (0: no cache).
    pub fn with_cache(db: Arc<redb::Database>, nodes: usize) -> Self {
        let reader = Reader {
            snapshot: None,
            staged: B256Map::default(),
            hot: B256Map::default(),
            cold: B256Map::default(),
            generation: nodes,
        };
        Self {
            db,
            reader: Arc::new(Mutex::new(reader)),
        }
    }

    /// The database.
    pub fn database(&self) -> &Arc<redb::Database> {
        &self.db
    }

    /// Writes `nodes` (e.g. [`crate::Smt::take_new_nodes`]) into table `state_nodes` inside the
    /// caller's write transaction, so tree nodes commit atomically with the caller's own tables.
    pub fn write_nodes(
        txn: &redb::WriteTransaction,
        nodes: &[(B256, Node)],
    ) -> Result<(), StateError> {
        let mut table = txn.open_table(NODES).map_err(storage)?;
        let mut buf = Vec::with_capacity(128);
        for (hash, node) in nodes {
            buf.clear();
            match node {
                Node::Internal { left, right } => {
                    buf.push(TAG_INTERNAL);
                    buf.extend_from_slice(left.as_slice());
                    buf.extend_from_slice(right.as_slice());
                }
                Node::Leaf { key, value } => {
                    buf.push(TAG_LEAF);
                    buf.extend_from_slice(key.as_slice());
                    buf.extend_from_slice(value);
                }
            }
            table
                .insert(hash.as_slice(), buf.as_slice())
                .map_err(storage)?;
        }
        Ok(())
    }

    /// Puts `nodes` into the read cache (after committing them with [`RedbStore::write_nodes`]),
    /// so the next updates of the tree do not read back what was just written.
    pub fn cache(&self, nodes: &[(B256, Node)]) {
        let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        if reader.generation == 0 {
            return;
        }
        for (hash, node) in nodes {
            reader.remember(*hash, node.clone());
        }
    }

    /// Makes `nodes` readable before they are committed: the caller writes them with
    /// [`RedbStore::write_nodes`] later, outside whatever lock it holds, and then calls
    /// [`RedbStore::committed`]. Until then reads find them here, whatever the cache evicts.
    pub fn stage(&self, nodes: &[(B256, Node)]) {
        let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        for (hash, node) in nodes {
            reader.staged.insert(*hash, node.clone());
        }
    }

    /// `nodes` (staged with [`RedbStore::stage`]) are committed: they move to the read cache.
    pub fn committed(&self, nodes: &[(B256, Node)]) {
        let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        for (hash, node) in nodes {
            reader.staged.remove(hash);
            if reader.generation > 0 {
                reader.remember(*hash, node.clone());
            }
        }
    }

    /// Drops the read snapshot (the next read takes a fresh one) and the cache.
    pub fn clear_cache(&self) {
        let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        reader.snapshot = None;
        reader.hot.clear();
        reader.cold.clear();
    }

    fn open_snapshot(&self) -> Result<Snapshot, StateError> {
        let txn = self.db.begin_read().map_err(storage)?;
        match txn.open_table(NODES) {
            Ok(table) => Ok(Some(table)),
            Err(TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(storage(e)),
        }
    }

    fn lookup(snapshot: &Snapshot, hash: &B256) -> Result<Option<Node>, StateError> {
        let Some(table) = snapshot else {
            return Ok(None);
        };
        match table.get(hash.as_slice()).map_err(storage)? {
            None => Ok(None),
            Some(guard) => Node::decode(guard.value())
                .map(Some)
                .ok_or_else(|| StateError::Storage(format!("malformed state node {hash}"))),
        }
    }
}

impl NodeStore for RedbStore {
    fn node(&self, hash: &B256) -> Result<Option<Node>, StateError> {
        let mut reader = self.reader.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(node) = reader.staged.get(hash) {
            return Ok(Some(node.clone()));
        }
        if let Some(node) = reader.cached(hash) {
            return Ok(Some(node));
        }
        let now = Instant::now();
        let fresh = match &reader.snapshot {
            Some((snapshot, taken)) if now.duration_since(*taken) < SNAPSHOT_MAX_AGE => {
                // A miss in an old snapshot may be a node committed since: look again below.
                Self::lookup(snapshot, hash)?
            }
            _ => None,
        };
        let node = match fresh {
            Some(node) => Some(node),
            None => {
                let snapshot = self.open_snapshot()?;
                let node = Self::lookup(&snapshot, hash)?;
                reader.snapshot = Some((snapshot, now));
                node
            }
        };
        if let Some(node) = &node
            && reader.generation > 0
        {
            reader.remember(*hash, node.clone());
        }
        Ok(node)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use alloy::primitives::{B256, keccak256};

    use super::*;
    use crate::Smt;

    fn key(i: u32) -> B256 {
        keccak256(i.to_be_bytes())
    }

    #[test]
    fn stores_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<RedbStore>();
        check::<MemStore>();
        check::<Smt<RedbStore>>();
    }

    #[test]
    fn node_encoding_round_trips() {
        let internal = Node::Internal {
            left: key(1),
            right: B256::ZERO,
        };
        let leaf = Node::Leaf {
            key: key(2),
            value: vec![1, 2, 3],
        };
        let empty_leaf = Node::Leaf {
            key: key(3),
            value: Vec::new(),
        };
        for node in [internal, leaf, empty_leaf] {
            assert_eq!(Node::decode(&node.encode()), Some(node));
        }
        assert_eq!(Node::decode(&[]), None);
        assert_eq!(Node::decode(&[1; 64]), None);
        assert_eq!(Node::decode(&[2; 65]), None);
        assert_eq!(Node::decode(&[0; 32]), None);
    }

    /// Writes the tree's new nodes in one write transaction and commits.
    fn commit(db: &redb::Database, smt: &mut Smt<RedbStore>) {
        let nodes = smt.take_new_nodes();
        let txn = db.begin_write().unwrap();
        RedbStore::write_nodes(&txn, &nodes).unwrap();
        txn.commit().unwrap();
        smt.store().cache(&nodes);
    }

    fn round_trip(cache: usize) {
        let file = tempfile::NamedTempFile::new().unwrap();
        let db = Arc::new(redb::Database::create(file.path()).unwrap());
        let store = RedbStore::with_cache(db.clone(), cache);
        // Reading from a database without the table yet: a missing node, not a storage error.
        assert!(matches!(
            Smt::new(store.clone(), key(0)).get(&key(0)),
            Err(StateError::MissingNode(_))
        ));

        let mut smt = Smt::new(store.clone(), B256::ZERO);
        for i in 0..200 {
            smt.set(key(i), i.to_be_bytes().to_vec()).unwrap();
        }
        commit(&db, &mut smt);
        let old_root = smt.root_hash();

        for i in 100..300 {
            smt.set(key(i), vec![7; i as usize % 5]).unwrap();
        }
        commit(&db, &mut smt);
        let new_root = smt.root_hash();
        assert_ne!(old_root, new_root);

        // A fresh store (no cache, new snapshot) serves both roots.
        drop(smt);
        let fresh = RedbStore::with_cache(db.clone(), cache);
        let old = Smt::new(fresh.clone(), old_root);
        let new = Smt::new(fresh, new_root);
        for i in [0u32, 99, 100, 199, 250] {
            let old_value = (i < 200).then(|| i.to_be_bytes().to_vec());
            assert_eq!(old.get(&key(i)).unwrap(), old_value);
            let proof = old.prove(&key(i)).unwrap();
            assert!(proof.verify(old_root, &key(i), old_value.as_deref()));
            let new_value = if i < 100 {
                i.to_be_bytes().to_vec()
            } else {
                vec![7; i as usize % 5]
            };
            assert_eq!(new.get(&key(i)).unwrap(), Some(new_value.clone()));
            assert!(
                new.prove(&key(i))
                    .unwrap()
                    .verify(new_root, &key(i), Some(&new_value))
            );
        }
    }

    #[test]
    fn redb_round_trip_and_old_roots_stay_provable() {
        round_trip(DEFAULT_CACHE_NODES);
    }

    #[test]
    fn redb_round_trip_without_cache() {
        round_trip(0);
    }

    #[test]
    fn redb_stale_snapshot_sees_later_commits() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let db = Arc::new(redb::Database::create(file.path()).unwrap());
        let store = RedbStore::with_cache(db.clone(), 0);
        let mut smt = Smt::new(store.clone(), B256::ZERO);
        smt.set(key(1), vec![1]).unwrap();
        let nodes = smt.take_new_nodes();
        let txn = db.begin_write().unwrap();
        RedbStore::write_nodes(&txn, &nodes).unwrap();
        txn.commit().unwrap();
        // Take a snapshot now, then commit more nodes without telling the store.
        assert!(store.node(&smt.root_hash()).unwrap().is_some());
        smt.set(key(2), vec![2]).unwrap();
        let nodes = smt.take_new_nodes();
        let txn = db.begin_write().unwrap();
        RedbStore::write_nodes(&txn, &nodes).unwrap();
        txn.commit().unwrap();
        let reread = Smt::new(store, smt.root_hash());
        assert_eq!(reread.get(&key(2)).unwrap(), Some(vec![2]));
    }

    #[test]
    fn staged_nodes_are_read_before_their_commit_whatever_the_cache_keeps() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let db = Arc::new(redb::Database::create(file.path()).unwrap());
        // A cache of one node per generation: it cannot hold the tree.
        let store = RedbStore::with_cache(db.clone(), 1);
        let mut smt = Smt::new(store.clone(), B256::ZERO);
        for i in 0..16 {
            smt.set(key(i), vec![i as u8]).unwrap();
        }
        let nodes = smt.take_new_nodes();
        store.stage(&nodes);
        store.clear_cache();
        // Not written yet: every leaf reads from the staged nodes.
        let staged = Smt::new(store.clone(), smt.root_hash());
        for i in 0..16 {
            assert_eq!(staged.get(&key(i)).unwrap(), Some(vec![i as u8]));
        }
        let txn = db.begin_write().unwrap();
        RedbStore::write_nodes(&txn, &nodes).unwrap();
        txn.commit().unwrap();
        store.committed(&nodes);
        store.clear_cache();
        // Committed: the same reads now come from disk.
        let written = Smt::new(store, smt.root_hash());
        for i in 0..16 {
            assert_eq!(written.get(&key(i)).unwrap(), Some(vec![i as u8]));
        }
    }
}
