//! The zk profile's state transition function (`docs/zk-rollup.md` §3), shared by the
//! sequencer, the prover, derivation from L1 and the circuit's differential tests.
//!
//! Operations are applied one at a time into a [`BatchBuilder`], which checks each one against
//! the current state before writing anything, records what the circuit needs to re-check it
//! (the accounts before, their Merkle paths), and lays the batch out in its fixed shape.

use ark_ff::{AdditiveGroup, Field};

use crate::{
    Fr,
    keys::{PublicKey, Signature, verify},
    pack::{unpack_amount, unpack_fee},
    poseidon::h4,
    pubdata::{self, GeneralChunk, TransferChunk},
    tree::{AccountTree, MerklePath, fr_to_u128},
};

/// The circuit shape and domain of a zk chain (`zk` section of the chain config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZkParams {
    /// Account tree depth in bits (even, 8..=24).
    pub tree_depth: u8,
    /// General slots per batch (`M`).
    pub batch_general: usize,
    /// Transfer slots per batch (`N`).
    pub batch_transfers: usize,
    /// The L2 chain id every signature is bound to.
    pub chain_id: u64,
}

impl ZkParams {
    /// Bytes of one transfer chunk (`2·ceil(D/8) + 4`).
    pub fn transfer_chunk_len(&self) -> usize {
        2 * pubdata::index_bytes(self.tree_depth) + 4
    }

    /// Bytes of a batch's public data.
    pub fn pubdata_len(&self) -> usize {
        self.batch_general * pubdata::GENERAL_CHUNK_LEN
            + self.batch_transfers * self.transfer_chunk_len()
    }
}

/// Why an operation is refused. Stable codes for RPC errors: [`OpError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    /// An account index is beyond the tree.
    #[error("account {0} does not exist (beyond the tree)")]
    NoSuchAccount(u32),
    /// The sender or recipient has no key.
    #[error("account {0} is not registered")]
    NotRegistered(u32),
    /// The nonce is not the account's.
    #[error("nonce {got} is not the account's nonce {expected}")]
    BadNonce {
        /// Nonce of the operation.
        got: u32,
        /// Nonce of the account.
        expected: u32,
    },
    /// The account's nonce cannot grow.
    #[error("nonce exhausted")]
    NonceExhausted,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// The balance is below amount plus fee.
    #[error("insufficient balance: have {have}, need {need}")]
    InsufficientBalance {
        /// Balance.
        have: u128,
        /// Amount plus fee (saturating).
        need: u128,
    },
    /// A balance or the fee total would reach 2^128.
    #[error("balance overflow")]
    Overflow,
    /// A set-key message's key is not a curve point.
    #[error("key is not a curve point")]
    BadKey,
    /// The batch has no free slot of this kind (or a general op after a transfer).
    #[error("batch is full")]
    BatchFull,
}

impl OpError {
    /// A stable numeric code (for RPC errors).
    pub fn code(&self) -> i32 {
        match self {
            Self::NoSuchAccount(_) => 1,
            Self::NotRegistered(_) => 2,
            Self::BadNonce { .. } => 3,
            Self::NonceExhausted => 4,
            Self::BadSignature => 5,
            Self::InsufficientBalance { .. } => 6,
            Self::Overflow => 7,
            Self::BadKey => 8,
            Self::BatchFull => 9,
        }
    }
}

/// A transfer (`docs/zk-rollup.md` §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferOp {
    /// Sender.
    pub from: u32,
    /// Recipient.
    pub to: u32,
    /// Packed amount (24 bits, §4.1).
    pub amount: u32,
    /// Packed fee (§4.1).
    pub fee: u8,
    /// Sender's nonce.
    pub nonce: u32,
    /// Signature over [`transfer_message`].
    pub sig: Signature,
}

/// A general slot's operation (`docs/zk-rollup.md` §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneralOp {
    /// Padding.
    Noop,
    /// From the L1 queue: credit `amount`.
    Deposit {
        /// Account.
        account: u32,
        /// Wei.
        amount: u128,
    },
    /// From the L1 queue: set the account's key.
    SetKey {
        /// Account.
        account: u32,
        /// Compressed key.
        key: [u8; 32],
    },
    /// From the L1 queue: withdraw the whole balance to the owner on L1.
    ForcedExit {
        /// Account.
        account: u32,
    },
    /// Signed on L2: withdraw `amount` to the account's owner on L1.
    Withdraw {
        /// Account.
        account: u32,
        /// Wei.
        amount: u128,
        /// Wei.
        fee: u128,
        /// Account nonce.
        nonce: u32,
        /// Signature over [`withdraw_message`].
        sig: Signature,
    },
}

fn pow2(k: u64) -> Fr {
    Fr::from(2u64).pow([k])
}

/// `M_transfer` of §3.1.
pub fn transfer_message(chain_id: u64, from: u32, to: u32, amount: u32, fee: u8, nonce: u32) -> Fr {
    Fr::ONE
        + Fr::from(chain_id) * pow2(8)
        + Fr::from(u64::from(from)) * pow2(72)
        + Fr::from(u64::from(to)) * pow2(104)
        + Fr::from(u64::from(amount)) * pow2(136)
        + Fr::from(u64::from(fee)) * pow2(160)
        + Fr::from(u64::from(nonce)) * pow2(168)
}

/// `M_withdraw` of §3.2.
pub fn withdraw_message(chain_id: u64, account: u32, nonce: u32, amount: u128, fee: u128) -> Fr {
    let head = Fr::from(4u64)
        + Fr::from(chain_id) * pow2(8)
        + Fr::from(u64::from(account)) * pow2(72)
        + Fr::from(u64::from(nonce)) * pow2(104);
    h4(&[head, Fr::from(amount), Fr::from(fee), Fr::ZERO])
}

/// One account as the circuit sees it before an update: its fields and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountWitness {
    /// Index.
    pub index: u32,
    /// `[ax, ay, balance, nonce]` before.
    pub fields: [Fr; 4],
    /// Path against the root before the update.
    pub path: MerklePath,
}

/// A transfer slot's witness. A no-op has `op = None` and account 0 as both parties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferWitness {
    /// The transfer (None: no-op).
    pub op: Option<TransferOp>,
    /// Sender before, against the slot's starting root.
    pub sender: AccountWitness,
    /// Recipient before, against the root after the sender's update.
    pub recipient: AccountWitness,
}

/// A general slot's witness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneralWitness {
    /// The operation.
    pub op: GeneralOp,
    /// Its chunk (a forced exit's amount filled in).
    pub chunk: GeneralChunk,
    /// The account before (account 0 for a no-op).
    pub account: AccountWitness,
    /// For a set-key: the decompressed key's x (the chunk carries y and x's parity).
    pub key_x: Fr,
}

/// A batch ready for proving and posting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// Root before.
    pub old_root: Fr,
    /// Root after the fee credit.
    pub new_root: Fr,
    /// General slots, `M` of them.
    pub general: Vec<GeneralWitness>,
    /// Transfer slots, `N` of them.
    pub transfers: Vec<TransferWitness>,
    /// Account 0 before the fee credit.
    pub fee_account: AccountWitness,
    /// Fees of the batch.
    pub fee_total: u128,
    /// The public data (§4.2).
    pub pubdata: Vec<u8>,
}

impl Batch {
    /// The circuit's one public input (§4.3).
    pub fn public_input(&self) -> Fr {
        pubdata::public_input(self.old_root, self.new_root, &self.pubdata)
    }
}

/// Builds one batch, operation by operation, applying each to the state.
#[derive(Debug)]
pub struct BatchBuilder {
    params: ZkParams,
    old_root: Fr,
    general: Vec<GeneralWitness>,
    transfers: Vec<TransferWitness>,
    fee_total: u128,
    /// Whether the check of each operation is skipped (circuit tests of refused operations).
    unchecked: bool,
}

impl BatchBuilder {
    /// A new batch starting at the tree's current root.
    pub fn new(params: ZkParams, tree: &AccountTree) -> Self {
        Self {
            params,
            old_root: tree.root(),
            general: Vec::new(),
            transfers: Vec::new(),
            fee_total: 0,
            unchecked: false,
        }
    }

    /// A builder that applies operations without checking them (field arithmetic, so a
    /// balance may go "negative"). Only for tests that show the circuit refuses what the state
    /// transition refuses.
    pub fn new_unchecked(params: ZkParams, tree: &AccountTree) -> Self {
        Self {
            unchecked: true,
            ..Self::new(params, tree)
        }
    }

    /// Slots used so far: (general, transfers).
    pub fn used(&self) -> (usize, usize) {
        (self.general.len(), self.transfers.len())
    }

    /// Whether a general operation still fits (general slots come before every transfer).
    pub fn general_fits(&self) -> bool {
        self.transfers.is_empty() && self.general.len() < self.params.batch_general
    }

    /// Whether a transfer still fits.
    pub fn transfer_fits(&self) -> bool {
        self.transfers.len() < self.params.batch_transfers
    }

    /// Whether nothing but padding is in the batch.
    pub fn is_empty(&self) -> bool {
        self.general.iter().all(|g| g.op == GeneralOp::Noop)
            && self.transfers.iter().all(|t| t.op.is_none())
    }

    fn witness(tree: &AccountTree, index: u32) -> AccountWitness {
        AccountWitness {
            index,
            fields: tree.fields(index),
            path: tree.path(index),
        }
    }

    fn check_index(&self, tree: &AccountTree, i: u32) -> Result<(), OpError> {
        if u64::from(i) >= tree.capacity() {
            Err(OpError::NoSuchAccount(i))
        } else {
            Ok(())
        }
    }

    /// Applies a general operation in the next general slot.
    pub fn push_general(&mut self, tree: &mut AccountTree, op: GeneralOp) -> Result<(), OpError> {
        if !self.general_fits() {
            return Err(OpError::BatchFull);
        }
        let (index, chunk) = match op {
            GeneralOp::Noop => (0, GeneralChunk::default()),
            GeneralOp::Deposit { account, amount } => (
                account,
                GeneralChunk {
                    kind: 1,
                    account,
                    amount,
                    data: [0; 32],
                },
            ),
            GeneralOp::SetKey { account, key } => (
                account,
                GeneralChunk {
                    kind: 2,
                    account,
                    amount: 0,
                    data: key,
                },
            ),
            GeneralOp::ForcedExit { account } => (
                account,
                GeneralChunk {
                    kind: 3,
                    account,
                    amount: 0,
                    data: [0; 32],
                },
            ),
            GeneralOp::Withdraw {
                account,
                amount,
                fee,
                ..
            } => {
                let mut data = [0u8; 32];
                data[..16].copy_from_slice(&fee.to_be_bytes());
                (
                    account,
                    GeneralChunk {
                        kind: 4,
                        account,
                        amount,
                        data,
                    },
                )
            }
        };
        self.check_index(tree, index)?;
        if index >= 1 << 24 {
            return Err(OpError::NoSuchAccount(index));
        }
        let before = Self::witness(tree, index);
        let [ax, ay, bal, nonce] = before.fields;
        let mut chunk = chunk;
        let mut key_x = Fr::ZERO;
        let mut fee_add = 0u128;
        let after: Option<[Fr; 4]> = match op {
            GeneralOp::Noop => None,
            GeneralOp::Deposit { amount, .. } => {
                if !self.unchecked {
                    let b = tree.account(index).balance;
                    b.checked_add(amount).ok_or(OpError::Overflow)?;
                }
                Some([ax, ay, bal + Fr::from(amount), nonce])
            }
            GeneralOp::SetKey { key, .. } => {
                let k = PublicKey::decompress(&key).map_err(|_| OpError::BadKey)?;
                key_x = k.0.x;
                Some([k.0.x, k.0.y, bal, nonce])
            }
            GeneralOp::ForcedExit { .. } => {
                let b = fr_to_u128(bal).unwrap_or_default();
                chunk.amount = b;
                Some([ax, ay, Fr::ZERO, nonce])
            }
            GeneralOp::Withdraw {
                account,
                amount,
                fee,
                nonce: n,
                sig,
            } => {
                if !self.unchecked {
                    let a = tree.account(index);
                    if !a.registered() {
                        return Err(OpError::NotRegistered(account));
                    }
                    if n != a.nonce {
                        return Err(OpError::BadNonce {
                            got: n,
                            expected: a.nonce,
                        });
                    }
                    if a.nonce == u32::MAX {
                        return Err(OpError::NonceExhausted);
                    }
                    let m = withdraw_message(self.params.chain_id, account, n, amount, fee);
                    if !verify(
                        &PublicKey(ark_ed_on_bn254::EdwardsAffine::new_unchecked(a.ax, a.ay)),
                        m,
                        &sig,
                    ) {
                        return Err(OpError::BadSignature);
                    }
                    let need = amount.checked_add(fee);
                    if need.is_none_or(|need| need > a.balance) {
                        return Err(OpError::InsufficientBalance {
                            have: a.balance,
                            need: need.unwrap_or(u128::MAX),
                        });
                    }
                    self.fee_total.checked_add(fee).ok_or(OpError::Overflow)?;
                }
                fee_add = fee;
                Some([
                    ax,
                    ay,
                    bal - Fr::from(amount) - Fr::from(fee),
                    nonce + Fr::ONE,
                ])
            }
        };
        if let Some(after) = after {
            tree.set_fields(index, after);
        }
        self.fee_total = self.fee_total.wrapping_add(fee_add);
        self.general.push(GeneralWitness {
            op,
            chunk,
            account: before,
            key_x,
        });
        Ok(())
    }

    fn pad_general(&mut self, tree: &mut AccountTree) {
        while self.general.len() < self.params.batch_general {
            self.push_general(tree, GeneralOp::Noop)
                .expect("a no-op always fits");
        }
    }

    /// Applies a transfer in the next transfer slot (closing the general section).
    pub fn push_transfer(
        &mut self,
        tree: &mut AccountTree,
        op: Option<TransferOp>,
    ) -> Result<(), OpError> {
        if !self.transfer_fits() {
            return Err(OpError::BatchFull);
        }
        let Some(t) = op.filter(|t| !(t.from == 0 && t.to == 0)) else {
            self.pad_general(tree);
            let w = Self::witness(tree, 0);
            self.transfers.push(TransferWitness {
                op: None,
                sender: w.clone(),
                recipient: w,
            });
            return Ok(());
        };
        self.check_index(tree, t.from)?;
        self.check_index(tree, t.to)?;
        let amount = unpack_amount(t.amount);
        let fee = unpack_fee(t.fee);
        if !self.unchecked {
            let s = tree.account(t.from);
            let r = tree.account(t.to);
            if !s.registered() {
                return Err(OpError::NotRegistered(t.from));
            }
            if !r.registered() {
                return Err(OpError::NotRegistered(t.to));
            }
            if t.nonce != s.nonce {
                return Err(OpError::BadNonce {
                    got: t.nonce,
                    expected: s.nonce,
                });
            }
            if s.nonce == u32::MAX {
                return Err(OpError::NonceExhausted);
            }
            let m = transfer_message(self.params.chain_id, t.from, t.to, t.amount, t.fee, t.nonce);
            if !verify(
                &PublicKey(ark_ed_on_bn254::EdwardsAffine::new_unchecked(s.ax, s.ay)),
                m,
                &t.sig,
            ) {
                return Err(OpError::BadSignature);
            }
            let need = amount + fee; // both below 2^123
            if need > s.balance {
                return Err(OpError::InsufficientBalance {
                    have: s.balance,
                    need,
                });
            }
            let r_bal = if t.from == t.to {
                s.balance - fee
            } else {
                r.balance
            };
            r_bal.checked_add(amount).ok_or(OpError::Overflow)?;
            self.fee_total.checked_add(fee).ok_or(OpError::Overflow)?;
        }
        self.pad_general(tree);
        let sender = Self::witness(tree, t.from);
        let [ax, ay, bal, nonce] = sender.fields;
        tree.set_fields(
            t.from,
            [
                ax,
                ay,
                bal - Fr::from(amount) - Fr::from(fee),
                nonce + Fr::ONE,
            ],
        );
        let recipient = Self::witness(tree, t.to);
        let [rx, ry, rbal, rnonce] = recipient.fields;
        tree.set_fields(t.to, [rx, ry, rbal + Fr::from(amount), rnonce]);
        self.fee_total = self.fee_total.wrapping_add(fee);
        self.transfers.push(TransferWitness {
            op: Some(t),
            sender,
            recipient,
        });
        Ok(())
    }

    /// Pads the batch, credits the fees to account 0 and lays out the public data.
    pub fn finish(mut self, tree: &mut AccountTree) -> Result<Batch, OpError> {
        self.pad_general(tree);
        while self.transfers.len() < self.params.batch_transfers {
            self.push_transfer(tree, None)?;
        }
        let fee_account = Self::witness(tree, 0);
        let [ax, ay, bal, nonce] = fee_account.fields;
        if !self.unchecked {
            tree.account(0)
                .balance
                .checked_add(self.fee_total)
                .ok_or(OpError::Overflow)?;
        }
        tree.set_fields(0, [ax, ay, bal + Fr::from(self.fee_total), nonce]);
        let depth = tree.depth();
        let mut data = Vec::with_capacity(self.params.pubdata_len());
        for g in &self.general {
            data.extend_from_slice(&g.chunk.encode());
        }
        for t in &self.transfers {
            let c =
                t.op.map(|t| TransferChunk {
                    from: t.from,
                    to: t.to,
                    amount: t.amount,
                    fee: t.fee,
                })
                .unwrap_or_default();
            data.extend_from_slice(&c.encode(depth));
        }
        Ok(Batch {
            old_root: self.old_root,
            new_root: tree.root(),
            general: self.general,
            transfers: self.transfers,
            fee_account,
            fee_total: self.fee_total,
            pubdata: data,
        })
    }
}

/// Applies a whole batch: `general` (at most `M`) then `transfers` (at most `N`), padded. On a
/// refusal the tree is left as it was.
pub fn apply_batch(
    params: ZkParams,
    tree: &mut AccountTree,
    general: &[GeneralOp],
    transfers: &[TransferOp],
) -> Result<Batch, (usize, OpError)> {
    let mut work = tree.clone();
    let mut b = BatchBuilder::new(params, &work);
    for (i, g) in general.iter().enumerate() {
        b.push_general(&mut work, *g).map_err(|e| (i, e))?;
    }
    for (i, t) in transfers.iter().enumerate() {
        b.push_transfer(&mut work, Some(*t))
            .map_err(|e| (params.batch_general + i, e))?;
    }
    let batch = b
        .finish(&mut work)
        .map_err(|e| (params.batch_general + params.batch_transfers, e))?;
    *tree = work;
    Ok(batch)
}
