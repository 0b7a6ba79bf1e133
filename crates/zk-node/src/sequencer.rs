//! The zk sequencer: orders L2 operations and L1 queue messages into batches with the one state
//! transition function ([`loft_zk::BatchBuilder`]), journals every decision before it answers,
//! and seals batches for the prover. Synchronous; the node wraps it in a mutex.
//!
//! Batch cutting (`docs/zk-rollup.md` §3): general slots (queue messages, withdrawals) come
//! before transfers, so a general operation that arrives after the open batch took a transfer,
//! or finds its general slots full, seals the batch and opens the next. A batch whose transfer
//! slots are full is sealed at once; any other batch with something in it is sealed once it has
//! been open for `batch_interval` (the node's timer calls [`Sequencer::seal_if_due`]).

use std::path::Path;
use std::time::{Duration, Instant};

use loft_zk::stf::OpError;
use loft_zk::{
    AccountTree, Batch, BatchBuilder, Fr, GeneralOp, L2Op, PublicKey, WireError, ZkParams,
};

use crate::ZkNodeError;
use crate::store::{Entry, Journal, QueueMessage};

/// Why an operation was refused. Nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The bytes are not a signed operation.
    #[error("malformed operation: {0}")]
    Wire(#[from] WireError),
    /// The state transition refuses it.
    #[error("refused: {0}")]
    Refused(#[from] OpError),
    /// A transfer from account 0 to account 0 is how padding is encoded.
    #[error("a transfer from account 0 to account 0 is reserved for padding")]
    Reserved,
    /// This node does not sequence (the prover role).
    #[error("this node does not sequence: send operations to the sequencer")]
    NotSequencer,
    /// The sequencer cannot journal (it stopped taking operations).
    #[error(transparent)]
    Node(#[from] ZkNodeError),
}

impl SubmitError {
    /// The stable code: [`OpError::code`] (1-9), [`WireError::code`] (20 and up), 30 for the
    /// reserved transfer, 31 for a node that does not sequence, 0 for a node failure.
    pub fn code(&self) -> i32 {
        match self {
            Self::Wire(e) => e.code(),
            Self::Refused(e) => e.code(),
            Self::Reserved => 30,
            Self::NotSequencer => 31,
            Self::Node(_) => 0,
        }
    }
}

/// Where an accepted operation went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Accepted {
    /// Index of the batch that holds it (0 is the first batch posted to L1).
    pub batch: u64,
    /// Its slot kind's position in the batch: general slot or transfer slot number.
    pub slot: usize,
    /// Whether it took a general slot (a withdrawal) rather than a transfer slot.
    pub general: bool,
}

/// A sealed batch, for the prover.
#[derive(Debug, Clone)]
pub struct Sealed {
    /// Its index on L1.
    pub index: u64,
    /// Its witness and public data.
    pub batch: Batch,
    /// Queue messages consumed up to (exclusive) after it.
    pub queue_end: u64,
}

/// The sequencer's state.
#[derive(Debug)]
pub struct Sequencer {
    params: ZkParams,
    journal: Journal,
    tree: AccountTree,
    open: Option<BatchBuilder>,
    open_since: Option<Instant>,
    /// Operations and queue messages in the open batch.
    open_ops: usize,
    sealed: u64,
    next_queue: u64,
    /// Root after each sealed batch.
    roots: Vec<Fr>,
    /// Set once a journal write failed: the in-memory state may be ahead of the journal.
    poisoned: Option<String>,
}

/// What replaying the journal found.
#[derive(Debug)]
pub struct Restored {
    /// The sequencer, at the end of the journal.
    pub sequencer: Sequencer,
    /// Sealed batches with index at least the `keep_from` asked for, in order.
    pub unposted: Vec<Sealed>,
    /// Operations and queue messages replayed.
    pub replayed: u64,
}

/// The general operation a queue message asks for.
pub fn general_of(m: &QueueMessage) -> Result<GeneralOp, ZkNodeError> {
    match m.kind {
        1 => Ok(GeneralOp::Deposit {
            account: m.account,
            amount: m.amount,
        }),
        2 => Ok(GeneralOp::SetKey {
            account: m.account,
            key: m.data.0,
        }),
        3 => Ok(GeneralOp::ForcedExit { account: m.account }),
        k => Err(ZkNodeError::Invalid(format!(
            "queue message {} has unknown kind {k}",
            m.index
        ))),
    }
}

impl Sequencer {
    /// Opens the journal at `path` and replays it from the genesis tree (account 0 holding
    /// `fee_key`). Sealed batches from `keep_from` on are returned for proving.
    pub fn open(
        params: ZkParams,
        fee_key: &PublicKey,
        path: &Path,
        keep_from: u64,
    ) -> Result<Restored, ZkNodeError> {
        let journal = Journal::open(path)?;
        let entries = journal.entries()?;
        let mut s = Self {
            params,
            journal,
            tree: loft_zk::replay::genesis(params.tree_depth, fee_key),
            open: None,
            open_since: None,
            open_ops: 0,
            sealed: 0,
            next_queue: 0,
            roots: Vec::new(),
            poisoned: None,
        };
        let mut unposted = Vec::new();
        let mut replayed = 0u64;
        for (i, entry) in entries.into_iter().enumerate() {
            let corrupt = |what: String| {
                ZkNodeError::Storage(format!("journal entry {i} does not replay: {what}"))
            };
            match entry {
                Entry::Op { raw } => {
                    let op = L2Op::decode(&raw).map_err(|e| corrupt(e.to_string()))?;
                    s.apply_op(&op).map_err(|e| corrupt(e.to_string()))?;
                    replayed += 1;
                }
                Entry::Queue(m) => {
                    s.apply_queue(&m).map_err(|e| corrupt(e.to_string()))?;
                    replayed += 1;
                }
                Entry::Seal => {
                    let sealed = s.finish().map_err(|e| corrupt(e.to_string()))?;
                    if sealed.index >= keep_from {
                        unposted.push(sealed);
                    }
                }
            }
        }
        if s.open_ops > 0 {
            // The open batch restarts its timer: it will be sealed one interval from now.
            s.open_since = Some(Instant::now());
        }
        Ok(Restored {
            sequencer: s,
            unposted,
            replayed,
        })
    }

    /// The batch shape.
    pub fn params(&self) -> ZkParams {
        self.params
    }

    /// The state including the open batch.
    pub fn tree(&self) -> &AccountTree {
        &self.tree
    }

    /// Sealed batches so far (the open one's index).
    pub fn sealed(&self) -> u64 {
        self.sealed
    }

    /// The next queue index to take.
    pub fn next_queue(&self) -> u64 {
        self.next_queue
    }

    /// Operations and queue messages in the open batch.
    pub fn open_ops(&self) -> usize {
        self.open_ops
    }

    /// The root after sealed batch `index`.
    pub fn root_after(&self, index: u64) -> Option<Fr> {
        self.roots.get(usize::try_from(index).ok()?).copied()
    }

    /// Journal entries so far.
    pub fn journal_len(&self) -> u64 {
        self.journal.len()
    }

    /// Opens a batch at the current state unless one is open.
    fn ensure_open(&mut self) {
        if self.open.is_none() {
            self.open = Some(BatchBuilder::new(self.params, &self.tree));
        }
    }

    /// Whether a general operation fits the open batch (or a new one would be opened).
    fn general_fits(&self) -> bool {
        self.open.as_ref().is_none_or(BatchBuilder::general_fits)
    }

    /// Seals the open batch (in memory only).
    fn finish(&mut self) -> Result<Sealed, OpError> {
        let builder = self
            .open
            .take()
            .unwrap_or_else(|| BatchBuilder::new(self.params, &self.tree));
        let batch = builder.finish(&mut self.tree)?;
        let index = self.sealed;
        self.sealed += 1;
        self.roots.push(batch.new_root);
        self.open_since = None;
        self.open_ops = 0;
        Ok(Sealed {
            index,
            batch,
            queue_end: self.next_queue,
        })
    }

    /// Applies an operation to the open batch; the caller seals a batch before it when needed.
    fn apply_op(&mut self, op: &L2Op) -> Result<Accepted, SubmitError> {
        let accepted = match op {
            L2Op::Transfer(t) => {
                if t.from == 0 && t.to == 0 {
                    return Err(SubmitError::Reserved);
                }
                self.ensure_open();
                let b = self.open.as_mut().expect("opened above");
                b.push_transfer(&mut self.tree, Some(*t))?;
                Accepted {
                    batch: self.sealed,
                    slot: b.used().1 - 1,
                    general: false,
                }
            }
            L2Op::Withdraw { .. } => {
                let g = op
                    .to_general()
                    .expect("a withdrawal is a general operation");
                self.ensure_open();
                let b = self.open.as_mut().expect("opened above");
                b.push_general(&mut self.tree, g)?;
                Accepted {
                    batch: self.sealed,
                    slot: b.used().0 - 1,
                    general: true,
                }
            }
        };
        self.open_ops += 1;
        self.open_since.get_or_insert_with(Instant::now);
        Ok(accepted)
    }

    fn apply_queue(&mut self, m: &QueueMessage) -> Result<(), ZkNodeError> {
        if m.index != self.next_queue {
            return Err(ZkNodeError::Invalid(format!(
                "queue message {} taken out of order (expected {})",
                m.index, self.next_queue
            )));
        }
        let g = general_of(m)?;
        self.ensure_open();
        let b = self.open.as_mut().expect("opened above");
        b.push_general(&mut self.tree, g)
            .map_err(|e| ZkNodeError::Invalid(format!("queue message {} refused: {e}", m.index)))?;
        self.next_queue += 1;
        self.open_ops += 1;
        self.open_since.get_or_insert_with(Instant::now);
        Ok(())
    }

    fn check_live(&self) -> Result<(), ZkNodeError> {
        match &self.poisoned {
            Some(why) => Err(ZkNodeError::Stopped(why.clone())),
            None => Ok(()),
        }
    }

    fn journal(&mut self, entries: &[Entry]) -> Result<(), ZkNodeError> {
        self.journal.append(entries).inspect_err(|e| {
            self.poisoned = Some(format!("the journal could not be written: {e}"));
        })
    }

    /// Seals the open batch durably.
    fn seal(&mut self) -> Result<Sealed, ZkNodeError> {
        self.journal(&[Entry::Seal])?;
        self.finish().map_err(|e| {
            // Only a fee total overflowing account 0 can refuse here; the journal now says
            // "seal", so the state cannot go on.
            self.poisoned = Some(format!("sealing failed: {e}"));
            ZkNodeError::Stopped(format!("sealing failed: {e}"))
        })
    }

    /// Takes a signed L2 operation (wire bytes): checks it against the state, journals it
    /// durably, and answers where it went. Batches sealed on the way are returned for the
    /// prover. A refused operation changes nothing.
    pub fn submit(&mut self, raw: &[u8]) -> Result<(Accepted, Vec<Sealed>), SubmitError> {
        self.check_live()?;
        let op = L2Op::decode(raw)?;
        let mut sealed = Vec::new();
        let needs_general = matches!(op, L2Op::Withdraw { .. });
        if needs_general && !self.general_fits() {
            // Check first so a refused withdrawal does not seal a batch for nothing.
            self.check_withdrawal(&op)?;
            sealed.push(self.seal()?);
        }
        let accepted = self.apply_op(&op)?;
        self.journal(&[Entry::Op {
            raw: raw.to_vec().into(),
        }])?;
        if self.open.as_ref().is_some_and(|b| !b.transfer_fits()) {
            sealed.push(self.seal()?);
        }
        Ok((accepted, sealed))
    }

    /// Checks a withdrawal against the current state without keeping the result: applied in a
    /// throwaway batch, then its one account restored (two path updates, not a copy of the tree).
    fn check_withdrawal(&mut self, op: &L2Op) -> Result<(), SubmitError> {
        let g = op
            .to_general()
            .expect("a withdrawal is a general operation");
        let index = op.account();
        let before = self.tree.fields(index);
        let mut b = BatchBuilder::new(self.params, &self.tree);
        b.push_general(&mut self.tree, g)?;
        self.tree.set_fields(index, before);
        Ok(())
    }

    /// Takes the next L1 queue message, journaled; returns batches sealed on the way.
    pub fn push_queue(&mut self, m: &QueueMessage) -> Result<Vec<Sealed>, ZkNodeError> {
        self.check_live()?;
        let mut sealed = Vec::new();
        if !self.general_fits() {
            sealed.push(self.seal()?);
        }
        self.apply_queue(m)?;
        self.journal(&[Entry::Queue(*m)])?;
        Ok(sealed)
    }

    /// Seals the open batch when it holds something and has been open for `interval`.
    pub fn seal_if_due(&mut self, interval: Duration) -> Result<Option<Sealed>, ZkNodeError> {
        self.check_live()?;
        match self.open_since {
            Some(t) if self.open_ops > 0 && t.elapsed() >= interval => Ok(Some(self.seal()?)),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loft_zk::testing::{dev_key, signed_transfer, signed_withdraw};
    use loft_zk::wire::L2Op;

    const PARAMS: ZkParams = ZkParams {
        tree_depth: 8,
        batch_general: 2,
        batch_transfers: 2,
        chain_id: 5,
    };

    fn set_key(index: u64, account: u32) -> QueueMessage {
        QueueMessage {
            index,
            kind: 2,
            account,
            amount: 0,
            data: dev_key(account).public().compress().into(),
            timestamp: 0,
        }
    }

    fn deposit(index: u64, account: u32, amount: u128) -> QueueMessage {
        QueueMessage {
            index,
            kind: 1,
            account,
            amount,
            data: Default::default(),
            timestamp: 0,
        }
    }

    fn transfer(from: u32, to: u32, amount: u128, nonce: u32) -> Vec<u8> {
        L2Op::Transfer(signed_transfer(
            5,
            &dev_key(from),
            from,
            to,
            amount,
            1,
            nonce,
        ))
        .encode()
    }

    fn open(path: &Path, keep_from: u64) -> Restored {
        Sequencer::open(PARAMS, &dev_key(0).public(), path, keep_from).expect("open")
    }

    #[test]
    fn cuts_batches_and_replays_them_identically() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("zk.redb");
        let mut s = open(&path, 0).sequencer;
        let mut sealed = Vec::new();
        sealed.extend(s.push_queue(&set_key(0, 1)).expect("queue"));
        sealed.extend(s.push_queue(&set_key(1, 2)).expect("queue"));
        // General slots are full: the deposit seals batch 0.
        sealed.extend(s.push_queue(&deposit(2, 1, 1_000_000)).expect("queue"));
        assert_eq!(sealed.len(), 1);
        let (a, more) = s.submit(&transfer(1, 2, 1000, 0)).expect("accepted");
        assert_eq!((a.batch, a.slot, a.general), (1, 0, false));
        assert!(more.is_empty());
        // A refused withdrawal after a transfer seals nothing and leaves the state as it was.
        let GeneralOp::Withdraw { sig, .. } = signed_withdraw(5, &dev_key(1), 1, 10_000_000, 0, 1)
        else {
            unreachable!("signed_withdraw makes a withdrawal")
        };
        let overdrawn = L2Op::Withdraw {
            account: 1,
            amount: 10_000_000,
            fee: 0,
            nonce: 1,
            sig,
        };
        let before = (s.tree().root(), s.sealed(), s.journal_len());
        let err = s
            .submit(&overdrawn.encode())
            .expect_err("beyond the balance");
        assert_eq!(err.code(), 6);
        assert_eq!((s.tree().root(), s.sealed(), s.journal_len()), before);
        // A withdrawal after a transfer seals batch 1 first.
        let GeneralOp::Withdraw { sig, .. } = signed_withdraw(5, &dev_key(1), 1, 500, 0, 1) else {
            unreachable!("signed_withdraw makes a withdrawal")
        };
        let w = L2Op::Withdraw {
            account: 1,
            amount: 500,
            fee: 0,
            nonce: 1,
            sig,
        }
        .encode();
        let (a, more) = s.submit(&w).expect("accepted");
        assert_eq!((a.batch, a.general), (2, true));
        sealed.extend(more);
        // A refused operation changes nothing.
        let before = (s.tree().root(), s.journal_len());
        let err = s
            .submit(&transfer(1, 2, 1000, 0))
            .expect_err("nonce reused");
        assert_eq!(err.code(), 3);
        assert!(matches!(s.submit(&[9, 9]), Err(SubmitError::Wire(_))));
        assert_eq!((s.tree().root(), s.journal_len()), before);
        sealed.extend(s.seal_if_due(Duration::ZERO).expect("seal"));
        assert_eq!(sealed.len(), 3);
        let root = s.tree().root();
        drop(s);

        let restored = open(&path, 1);
        assert_eq!(restored.sequencer.tree().root(), root);
        assert_eq!(restored.sequencer.sealed(), 3);
        assert_eq!(restored.sequencer.next_queue(), 3);
        let again: Vec<_> = restored.unposted.iter().map(|b| &b.batch).collect();
        let first: Vec<_> = sealed[1..].iter().map(|b| &b.batch).collect();
        assert_eq!(again, first);
        assert_eq!(restored.replayed, 5);
    }

    #[test]
    fn a_full_transfer_section_seals_at_once_and_queue_order_is_enforced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = open(&dir.path().join("zk.redb"), 0).sequencer;
        s.push_queue(&set_key(0, 1)).expect("queue");
        s.push_queue(&deposit(1, 1, 10_000)).expect("queue");
        assert!(s.push_queue(&deposit(5, 1, 1)).is_err());
        s.submit(&transfer(1, 1, 10, 0)).expect("first");
        let (_, sealed) = s.submit(&transfer(1, 1, 10, 1)).expect("second");
        assert_eq!(sealed.len(), 1);
        assert_eq!(s.open_ops(), 0);
        assert!(s.seal_if_due(Duration::ZERO).expect("nothing").is_none());
    }
}
