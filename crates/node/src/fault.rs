//! Fault injection, **for tests and demos only**: a sequencer that posts one wrong batch on
//! purpose (`loft node --role sequencer --fault KIND`, `loft devnet --fault KIND`), so the fraud
//! game (`docs/fraud-proofs.md`) can be exercised against the real contracts.
//!
//! The node's own L2 state stays honest: only what the batcher posts is wrong. The fault fires
//! once, on the first batch that has what the kind needs (a transaction step, a queue step, ...);
//! batches before it are honest, and the batcher posts honest data after it (L1 only checks that
//! batches are contiguous, so they build on the bad one's claims until L1 reverts it).
//!
//! Every kind starts from the honest batch ([`Commitments::honest`]) and changes its data, its
//! step leaves or its header claims. Wrong states come from [`loft_derive::replay`] with a hook
//! that changes the state after the chosen step, so every later leaf and the final root follow
//! from the tampered state; refused transactions are replayed with `accept_invalid` (their leaf
//! claims they changed nothing).

use std::fmt;
use std::str::FromStr;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, Signature, TxKind, U256, address, keccak256};
use alloy::signers::local::PrivateKeySigner;
use loft_derive::{ReplayOptions, StepEvent};
use loft_state::layout::{L2_BRIDGE, account_key};
use loft_state::{NodeStore, Smt, StateError, StateRead, StateWrite};
use loft_stf::{
    Call, ChainParams, DataStep, QueueInput, STEP_BLOCK, STEP_QUEUE, STEP_TX, StepLeaf, Withdrawal,
};

/// Where the `recipient` fault sends a transfer's value, and who the forged withdrawal of the
/// `withdrawal-root` fault pays: `0x…0bad`.
pub const BAD_ADDRESS: Address = address!("0x0000000000000000000000000000000000000bad");

/// One ether in wei: what the `credit` fault creates from nowhere.
const ONE_ETH: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

/// Bytes a fault may add to a batch's data (the oversized step is the largest, 393 bytes): the
/// batcher leaves this much room below `max_batch_bytes` while a fault is pending.
pub const FAULT_ROOM: usize = 512;

/// What a misbehaving sequencer gets wrong in the one batch it tampers with. Stable kebab-case
/// names ([`FaultKind::name`]); [`FaultKind::ALL`] lists every kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// After the first transaction step, 1 ETH from nowhere to its sender.
    Credit,
    /// After the first transaction step, the fee recipient gets the fee twice.
    Fee,
    /// After the first transaction step, its sender's nonce is not incremented.
    Nonce,
    /// The first ETH transfer's value lands at `0x…0bad` instead of its recipient.
    Recipient,
    /// A transaction with a high-`s` signature (EIP-2), claimed to change nothing.
    BadSignature,
    /// A transaction signed for another chain id, claimed to change nothing.
    WrongChainId,
    /// A transaction with a dev account's nonce + 5, claimed to change nothing.
    NonceGap,
    /// A transfer from a fresh unfunded key, claimed to change nothing.
    InsufficientFunds,
    /// A call the L2 does not support (unknown selector), claimed to change nothing.
    UnsupportedCall,
    /// Garbage step bytes starting with 0x02, claimed as a transaction that changed nothing.
    Undecodable,
    /// A step of more than 320 bytes starting with 0x02, claimed as a transaction that changed nothing.
    OversizedStep,
    /// A queue step consumed but its deposit not applied.
    QueueSkip,
    /// A deposit credited with twice its amount.
    QueueAlter,
    /// A second queue marker that re-applies the same message without advancing queuePos.
    QueueDuplicate,
    /// Two queue steps applied in swapped order.
    QueueReorder,
    /// The header's withdrawal root includes a forged withdrawal (leaves honest).
    WithdrawalRoot,
    /// The header's state root differs from the last leaf's.
    StateRoot,
    /// One middle leaf's state root is wrong, everything else honest.
    IntermediateRoot,
    /// The step count claims one step more than the leaves (the extra leaf is 0).
    StepCount,
    /// A wrong final root (as `credit`), and the node neither serves the batch's leaves nor
    /// answers opening requests on it.
    Withhold,
}

impl FaultKind {
    /// Every kind, in documentation order.
    pub const ALL: [FaultKind; 20] = [
        Self::Credit,
        Self::Fee,
        Self::Nonce,
        Self::Recipient,
        Self::BadSignature,
        Self::WrongChainId,
        Self::NonceGap,
        Self::InsufficientFunds,
        Self::UnsupportedCall,
        Self::Undecodable,
        Self::OversizedStep,
        Self::QueueSkip,
        Self::QueueAlter,
        Self::QueueDuplicate,
        Self::QueueReorder,
        Self::WithdrawalRoot,
        Self::StateRoot,
        Self::IntermediateRoot,
        Self::StepCount,
        Self::Withhold,
    ];

    /// The stable kebab-case name (`--fault NAME`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Credit => "credit",
            Self::Fee => "fee",
            Self::Nonce => "nonce",
            Self::Recipient => "recipient",
            Self::BadSignature => "bad-signature",
            Self::WrongChainId => "wrong-chain-id",
            Self::NonceGap => "nonce-gap",
            Self::InsufficientFunds => "insufficient-funds",
            Self::UnsupportedCall => "unsupported-call",
            Self::Undecodable => "undecodable",
            Self::OversizedStep => "oversized-step",
            Self::QueueSkip => "queue-skip",
            Self::QueueAlter => "queue-alter",
            Self::QueueDuplicate => "queue-duplicate",
            Self::QueueReorder => "queue-reorder",
            Self::WithdrawalRoot => "withdrawal-root",
            Self::StateRoot => "state-root",
            Self::IntermediateRoot => "intermediate-root",
            Self::StepCount => "step-count",
            Self::Withhold => "withhold",
        }
    }

    /// One line on what the kind does and what batch it needs.
    pub fn description(self) -> &'static str {
        match self {
            Self::Credit => "after the first transaction step, +1 ETH to its sender from nowhere",
            Self::Fee => "after the first transaction step, the fee recipient gets the fee twice",
            Self::Nonce => {
                "after the first transaction step, its sender's nonce is not incremented"
            }
            Self::Recipient => {
                "the first ETH transfer's value lands at 0x…0bad instead of its recipient"
            }
            Self::BadSignature => {
                "a transaction with a high-s signature after the first block marker, claimed to change nothing"
            }
            Self::WrongChainId => {
                "a transaction signed for another chain id after the first block marker, claimed to change nothing"
            }
            Self::NonceGap => {
                "a transaction with a dev account's nonce + 5 after the first block marker, claimed to change nothing"
            }
            Self::InsufficientFunds => {
                "a transfer from a fresh unfunded key after the first block marker, claimed to change nothing"
            }
            Self::UnsupportedCall => {
                "a call with an unknown selector after the first block marker, claimed to change nothing"
            }
            Self::Undecodable => {
                "garbage step bytes (0x02 ...) after the first block marker, claimed as a transaction that changed nothing"
            }
            Self::OversizedStep => {
                "a 393-byte step (0x02 ..., more than MAX_STEP_BYTES) after the first block marker, claimed as a transaction that changed nothing"
            }
            Self::QueueSkip => {
                "the first queue step that changes the state is consumed but not applied"
            }
            Self::QueueAlter => "the first deposit is credited with twice its amount",
            Self::QueueDuplicate => {
                "a second queue marker after the first deposit re-applies it without advancing queuePos"
            }
            Self::QueueReorder => {
                "two queue steps (only block markers between them) applied in swapped order"
            }
            Self::WithdrawalRoot => {
                "the header's withdrawal root includes a forged 1 ETH withdrawal to 0x…0bad; leaves honest"
            }
            Self::StateRoot => "the header's state root differs from the last leaf's",
            Self::IntermediateRoot => {
                "the middle leaf's state root is wrong (a batch of 3+ steps), everything else honest"
            }
            Self::StepCount => {
                "stepCount claims one step more than the leaves; the extra leaf is 0 in the tree"
            }
            Self::Withhold => {
                "a wrong final root as `credit`, and the node neither serves the batch's leaves nor answers openings on it"
            }
        }
    }

    /// Whether the node keeps the faulty batch's leaves to itself (no `loft_stepLeaves`, no
    /// answers to opening requests).
    pub fn withholds(self) -> bool {
        self == Self::Withhold
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FaultKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|k| k.name()).collect();
                format!("unknown fault `{s}` (one of: {})", names.join(", "))
            })
    }
}

impl clap::ValueEnum for FaultKind {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()).help(self.description()))
    }
}

/// What a batch commits to: its data, its step leaves and the header claims derived from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commitments {
    /// Batch data v1.
    pub data: Bytes,
    /// The committed leaves (for `step-count`, one fewer than `step_count`: the last is 0).
    pub leaves: Vec<StepLeaf>,
    /// `stepCount`.
    pub step_count: u64,
    /// `stepsRoot`.
    pub steps_root: B256,
    /// `stateRoot`.
    pub state_root: B256,
    /// `withdrawalRoot`.
    pub withdrawal_root: B256,
    /// `queueEnd`.
    pub queue_end: u64,
}

impl Commitments {
    /// The honest commitments of `data` with its leaves (the header claims follow the last leaf).
    pub fn honest(data: Bytes, leaves: Vec<StepLeaf>) -> Self {
        let last = leaves.last().copied().unwrap_or_default();
        Self {
            step_count: leaves.len() as u64,
            steps_root: loft_stf::steps_root(&leaves),
            state_root: last.state_root,
            withdrawal_root: last.w_root,
            queue_end: last.queue_pos,
            data,
            leaves,
        }
    }

    /// The committed leaf hashes, `step_count` of them (zero past the leaves).
    pub fn leaf_hashes(&self) -> Vec<B256> {
        let mut hashes: Vec<B256> = self.leaves.iter().map(StepLeaf::hash).collect();
        hashes.resize(
            self.step_count.max(hashes.len() as u64) as usize,
            B256::ZERO,
        );
        hashes
    }

    /// The path of leaf `i` under `steps_root`, `None` past the step count.
    pub fn proof(&self, i: u64) -> Option<Vec<B256>> {
        loft_stf::positional_proof(&self.leaf_hashes(), usize::try_from(i).ok()?)
    }
}

/// The honest batch a fault starts from.
#[derive(Debug, Clone, Copy)]
pub struct HonestBatch<'a> {
    /// Its honest commitments.
    pub commitments: &'a Commitments,
    /// The queue position before its first step.
    pub queue_start: u64,
    /// The state root before its first step.
    pub prev_state_root: B256,
}

/// A tampered batch ready to post.
#[derive(Debug, Clone)]
pub struct Injected {
    /// The kind.
    pub kind: FaultKind,
    /// What the batch commits to.
    pub commitments: Commitments,
    /// The first step whose leaf is wrong, when one is (`None` for header-only faults).
    pub step: Option<u64>,
    /// What was changed, for logs.
    pub detail: String,
}

/// The keys faults sign their refused transactions with.
#[derive(Debug, Clone)]
pub struct FaultKeys {
    /// A dev account (m/44'/60'/0'/0/1 of the chain config's `devnet.mnemonic`).
    pub dev: PrivateKeySigner,
    /// A fresh key nobody funds.
    pub unfunded: PrivateKeySigner,
}

impl FaultKeys {
    /// Dev account 1 of `mnemonic` (a fixed key if the phrase does not derive), and a fixed fresh
    /// key.
    pub fn new(mnemonic: &str) -> Self {
        use alloy::signers::local::{MnemonicBuilder, coins_bip39::English};
        let fixed = |label: &str| {
            PrivateKeySigner::from_bytes(&keccak256(label)).expect("a keccak hash is a valid key")
        };
        let dev = MnemonicBuilder::<English>::default()
            .phrase(mnemonic)
            .index(1)
            .and_then(|b| b.build())
            .unwrap_or_else(|_| fixed("loft fault injection: dev key"));
        Self {
            dev,
            unfunded: fixed("loft fault injection: unfunded key"),
        }
    }
}

/// Why a fault could not be built (never the batch's fault: the honest data replays).
#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    /// The state failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// Replaying the data stopped early.
    #[error("replaying the tampered batch stopped: {0}")]
    Replay(loft_derive::Fault),
    /// Encoding a step failed.
    #[error("encoding a step: {0}")]
    Encoding(#[from] loft_stf::BatchError),
    /// Signing failed.
    #[error("signing: {0}")]
    Signing(String),
}

/// Everything [`inject`] needs besides the batch.
pub struct Injector<'a, S: NodeStore> {
    /// The chain parameters.
    pub params: &'a ChainParams,
    /// The keys of refused transactions.
    pub keys: &'a FaultKeys,
    /// The state before the batch (at its `prevStateRoot`); cloned, never changed.
    pub state: &'a Smt<S>,
    /// The L1 queue by index.
    pub queue: &'a dyn Fn(u64) -> Option<QueueInput>,
}

impl<S: NodeStore> fmt::Debug for Injector<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Injector")
            .field("params", self.params)
            .finish_non_exhaustive()
    }
}

type Hook<'h, S> = dyn FnMut(&StepEvent<'_>, &mut Smt<S>) -> Result<(), StateError> + 'h;

impl<S: NodeStore + Clone> Injector<'_, S> {
    /// Tampers with `batch` as `kind` says. `None` when the batch lacks what the kind needs (no
    /// transaction step, no deposit, ...) or the change would not show: post it honestly and try
    /// the next batch.
    pub fn inject(
        &self,
        kind: FaultKind,
        batch: &HonestBatch<'_>,
    ) -> Result<Option<Injected>, InjectError> {
        let honest = batch.commitments;
        if honest.leaves.is_empty() {
            return Ok(None);
        }
        let made = match kind {
            FaultKind::Credit | FaultKind::Withhold => self.credit(kind, batch)?,
            FaultKind::Fee => self.fee(batch)?,
            FaultKind::Nonce => self.nonce(batch)?,
            FaultKind::Recipient => self.recipient(batch)?,
            FaultKind::BadSignature
            | FaultKind::WrongChainId
            | FaultKind::NonceGap
            | FaultKind::InsufficientFunds
            | FaultKind::UnsupportedCall => self.refused_tx(kind, batch)?,
            FaultKind::Undecodable | FaultKind::OversizedStep => self.garbage(kind, batch)?,
            FaultKind::QueueSkip => self.queue_skip(batch)?,
            FaultKind::QueueAlter => self.queue_alter(batch)?,
            FaultKind::QueueDuplicate => self.queue_duplicate(batch)?,
            FaultKind::QueueReorder => self.queue_reorder(batch)?,
            FaultKind::WithdrawalRoot => self.withdrawal_root(batch)?,
            FaultKind::StateRoot => {
                let mut c = honest.clone();
                c.state_root = keccak256([c.state_root.as_slice(), b"loft fault"].concat());
                Some((
                    c,
                    None,
                    format!(
                        "header state root {} instead of {}",
                        keccak256([honest.state_root.as_slice(), b"loft fault"].concat()),
                        honest.state_root
                    ),
                ))
            }
            FaultKind::IntermediateRoot => {
                let n = honest.leaves.len();
                if n < 3 {
                    None
                } else {
                    let i = n / 2;
                    let mut leaves = honest.leaves.clone();
                    leaves[i].state_root =
                        keccak256([leaves[i].state_root.as_slice(), b"loft fault"].concat());
                    let c = Commitments::honest(honest.data.clone(), leaves);
                    Some((
                        c,
                        Some(i as u64),
                        format!("leaf {i} of {n} claims a wrong state root"),
                    ))
                }
            }
            FaultKind::StepCount => {
                let mut c = honest.clone();
                c.step_count += 1;
                c.steps_root = loft_stf::positional_root(&c.leaf_hashes());
                Some((
                    c,
                    Some(honest.step_count),
                    format!(
                        "stepCount {} for {} leaves (leaf {} is 0)",
                        honest.step_count + 1,
                        honest.step_count,
                        honest.step_count
                    ),
                ))
            }
        };
        Ok(made.and_then(|(commitments, step, detail)| {
            let same = commitments.data == honest.data
                && commitments.steps_root == honest.steps_root
                && commitments.step_count == honest.step_count
                && commitments.state_root == honest.state_root
                && commitments.withdrawal_root == honest.withdrawal_root;
            (!same).then_some(Injected {
                kind,
                commitments,
                step,
                detail,
            })
        }))
    }

    /// Replays `data` from the batch's start with `hook`, accepting refused transactions.
    fn replay(
        &self,
        batch: &HonestBatch<'_>,
        data: &[u8],
        hook: &mut Hook<'_, S>,
    ) -> Result<loft_derive::Replay, InjectError> {
        let mut state = self.state.clone();
        let replayed = loft_derive::replay(
            &mut state,
            self.params,
            batch.queue_start,
            batch.commitments.queue_end,
            data,
            self.queue,
            ReplayOptions {
                accept_invalid: true,
            },
            hook,
        )?;
        match replayed.stopped {
            Some(fault) => Err(InjectError::Replay(fault)),
            None => Ok(replayed),
        }
    }

    /// The honest data replayed with a hook that changes the state at one transaction step.
    fn tx_hook(
        &self,
        batch: &HonestBatch<'_>,
        mut change: impl FnMut(&loft_stf::L2Tx, &mut Smt<S>) -> Result<Option<String>, StateError>,
    ) -> Result<Option<Tampered>, InjectError> {
        let mut fired: Option<(u64, String)> = None;
        let data = batch.commitments.data.clone();
        let replayed = self.replay(batch, &data, &mut |event, state| {
            if fired.is_none()
                && event.kind == STEP_TX
                && let Some(tx) = event.tx
                && let Some(detail) = change(tx, state)?
            {
                fired = Some((event.step, detail));
            }
            Ok(())
        })?;
        Ok(fired.map(|(step, detail)| {
            (
                Commitments::honest(data, replayed.leaves),
                Some(step),
                format!("step {step}: {detail}"),
            )
        }))
    }

    fn credit(
        &self,
        kind: FaultKind,
        batch: &HonestBatch<'_>,
    ) -> Result<Option<Tampered>, InjectError> {
        let made = self.tx_hook(batch, |tx, state| {
            let sender = tx.sender();
            let mut account = state.account(sender)?;
            let Some(balance) = account.balance.checked_add(ONE_ETH) else {
                return Ok(None);
            };
            account.balance = balance;
            state.set(account_key(sender), account.encode())?;
            Ok(Some(format!("+1 ETH from nowhere to {sender}")))
        })?;
        Ok(made.map(|(c, step, detail)| {
            let detail = if kind.withholds() {
                format!("{detail}; its leaves are withheld")
            } else {
                detail
            };
            (c, step, detail)
        }))
    }

    fn fee(&self, batch: &HonestBatch<'_>) -> Result<Option<Tampered>, InjectError> {
        let params = *self.params;
        self.tx_hook(batch, |tx, state| {
            let fee = U256::from(tx.gas().unwrap_or_default())
                * U256::from(tx.effective_gas_price(params.base_fee));
            let mut account = state.account(params.fee_recipient)?;
            let Some(balance) = account.balance.checked_add(fee) else {
                return Ok(None);
            };
            account.balance = balance;
            state.set(account_key(params.fee_recipient), account.encode())?;
            Ok(Some(format!(
                "the fee recipient {} got the fee of {fee} wei twice",
                params.fee_recipient
            )))
        })
    }

    fn nonce(&self, batch: &HonestBatch<'_>) -> Result<Option<Tampered>, InjectError> {
        self.tx_hook(batch, |tx, state| {
            let sender = tx.sender();
            let mut account = state.account(sender)?;
            let Some(nonce) = account.nonce.checked_sub(1) else {
                return Ok(None);
            };
            account.nonce = nonce;
            state.set(account_key(sender), account.encode())?;
            Ok(Some(format!("the nonce of {sender} stays {nonce}")))
        })
    }

    fn recipient(&self, batch: &HonestBatch<'_>) -> Result<Option<Tampered>, InjectError> {
        self.tx_hook(batch, |tx, state| {
            let Call::Value { to, value } = *tx.call() else {
                return Ok(None);
            };
            if value.is_zero() || to == BAD_ADDRESS {
                return Ok(None);
            }
            let mut recipient = state.account(to)?;
            recipient.balance = recipient.balance.saturating_sub(value);
            state.set(account_key(to), recipient.encode())?;
            let mut bad = state.account(BAD_ADDRESS)?;
            bad.balance = bad.balance.saturating_add(value);
            state.set(account_key(BAD_ADDRESS), bad.encode())?;
            Ok(Some(format!(
                "{value} wei sent to {to} landed at {BAD_ADDRESS}"
            )))
        })
    }

    /// A signed EIP-1559 transaction of `signer` on the L2's chain id, signed for `sign_chain_id`.
    fn sign(
        &self,
        signer: &PrivateKeySigner,
        sign_chain_id: u64,
        nonce: u64,
        to: Address,
        value: U256,
        input: Bytes,
    ) -> Result<TxEnvelope, InjectError> {
        let tx = TxEip1559 {
            chain_id: self.params.chain_id,
            nonce,
            gas_limit: 100_000,
            max_fee_per_gas: self.params.base_fee,
            max_priority_fee_per_gas: 0,
            to: TxKind::Call(to),
            value,
            access_list: Default::default(),
            input,
        };
        let mut signed_for = TxEip1559 {
            chain_id: sign_chain_id,
            ..tx.clone()
        };
        let signature = signer
            .sign_transaction_sync(&mut signed_for)
            .map_err(|e| InjectError::Signing(e.to_string()))?;
        Ok(TxEnvelope::Eip1559(tx.into_signed(signature)))
    }

    /// A transaction that must be refused, inserted right after the first block marker.
    fn refused_tx(
        &self,
        kind: FaultKind,
        batch: &HonestBatch<'_>,
    ) -> Result<Option<Tampered>, InjectError> {
        let honest = batch.commitments;
        let chain_id = self.params.chain_id;
        let dev = &self.keys.dev;
        let dev_nonce = self.state.account(dev.address())?.nonce;
        let (tx, detail) = match kind {
            FaultKind::BadSignature => {
                let tx = self.sign(
                    dev,
                    chain_id,
                    dev_nonce,
                    BAD_ADDRESS,
                    U256::from(1),
                    Bytes::new(),
                )?;
                let TxEnvelope::Eip1559(signed) = tx else {
                    unreachable!("signed as EIP-1559")
                };
                let sig = signed.signature();
                // (r, n - s, !parity) recovers the same key, but EIP-2 refuses s > n/2.
                let n = U256::from_be_slice(&alloy::hex!(
                    "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
                ));
                let high = Signature::new(sig.r(), n - sig.s(), !sig.v());
                let tx = TxEnvelope::Eip1559(signed.strip_signature().into_signed(high));
                (tx, "a transfer with a high-s signature".to_string())
            }
            FaultKind::WrongChainId => {
                let other = chain_id.wrapping_add(1);
                let tx = self.sign(
                    dev,
                    other,
                    dev_nonce,
                    BAD_ADDRESS,
                    U256::from(1),
                    Bytes::new(),
                )?;
                (
                    tx,
                    format!(
                        "a transfer of {} signed for chain id {other} (the batch format carries no chain id: it recovers to another, unfunded sender)",
                        dev.address()
                    ),
                )
            }
            FaultKind::NonceGap => {
                let nonce = dev_nonce + 5;
                let tx = self.sign(
                    dev,
                    chain_id,
                    nonce,
                    BAD_ADDRESS,
                    U256::from(1),
                    Bytes::new(),
                )?;
                (
                    tx,
                    format!(
                        "a transfer of {} with nonce {nonce}, its next nonce being {dev_nonce}",
                        dev.address()
                    ),
                )
            }
            FaultKind::InsufficientFunds => {
                let key = &self.keys.unfunded;
                let account = self.state.account(key.address())?;
                let value = account.balance.saturating_add(ONE_ETH);
                let tx = self.sign(
                    key,
                    chain_id,
                    account.nonce,
                    BAD_ADDRESS,
                    value,
                    Bytes::new(),
                )?;
                (
                    tx,
                    format!(
                        "a transfer of {value} wei from {}, which has {} wei",
                        key.address(),
                        account.balance
                    ),
                )
            }
            _ => {
                // Unknown selector to the L2 bridge: not one of the three operations.
                let input = Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]);
                let tx = self.sign(dev, chain_id, dev_nonce, L2_BRIDGE, U256::ZERO, input)?;
                (
                    tx,
                    format!(
                        "a call of {} with the unknown selector 0xdeadbeef to the L2 bridge",
                        dev.address()
                    ),
                )
            }
        };
        let mut bytes = Vec::new();
        loft_stf::batch::encode_step(&mut bytes, &DataStep::Tx(tx), chain_id)?;
        let at = honest.leaves[0].data_end as usize;
        let data = insert(&honest.data, at, &bytes);
        let replayed = self.replay(batch, &data, &mut |_, _| Ok(()))?;
        Ok(Some((
            Commitments::honest(data.into(), replayed.leaves),
            Some(1),
            format!("step 1: {detail}, claimed to change nothing"),
        )))
    }

    /// Undecodable or oversized step bytes right after the first block marker, claimed as a
    /// transaction that changed nothing.
    fn garbage(
        &self,
        kind: FaultKind,
        batch: &HonestBatch<'_>,
    ) -> Result<Option<Tampered>, InjectError> {
        let honest = batch.commitments;
        let garbage = if kind == FaultKind::Undecodable {
            // An EIP-1559 type byte, then a nonce varint that runs past 64 bits.
            let mut g = vec![0x02];
            g.extend_from_slice(&[0xff; 12]);
            g
        } else {
            oversized_step()
        };
        let at = honest.leaves[0].data_end;
        let data = insert(&honest.data, at as usize, &garbage);
        let extra = StepLeaf {
            kind: STEP_TX,
            data_end: at + garbage.len() as u64,
            ..honest.leaves[0]
        };
        let leaves = splice(&honest.leaves, 0, &[extra], garbage.len() as u64);
        Ok(Some((
            Commitments::honest(data.into(), leaves),
            Some(1),
            format!(
                "step 1: {} bytes of {} at offset {at}, claimed as a transaction that changed nothing",
                garbage.len(),
                if kind == FaultKind::Undecodable {
                    "undecodable data"
                } else {
                    "an oversized step"
                }
            ),
        )))
    }

    /// The first queue step whose honest leaf changes the state.
    fn first_effective_queue_step(leaves: &[StepLeaf]) -> Option<usize> {
        (1..leaves.len()).find(|&i| {
            leaves[i].kind == STEP_QUEUE && leaves[i].state_root != leaves[i - 1].state_root
        })
    }

    fn queue_skip(&self, batch: &HonestBatch<'_>) -> Result<Option<Tampered>, InjectError> {
        let Some(k) = Self::first_effective_queue_step(&batch.commitments.leaves) else {
            return Ok(None);
        };
        let k = k as u64;
        let mut before: Option<Smt<S>> = None;
        let data = batch.commitments.data.clone();
        let replayed = self.replay(batch, &data, &mut |event, state| {
            if event.step + 1 == k {
                before = Some(state.clone());
            } else if event.step == k
                && let Some(b) = before.take()
            {
                *state = b;
            }
            Ok(())
        })?;
        let index = batch.commitments.leaves[k as usize].queue_pos - 1;
        Ok(Some((
            Commitments::honest(data, replayed.leaves),
            Some(k),
            format!("step {k}: queue message {index} consumed but not applied"),
        )))
    }

    fn queue_alter(&self, batch: &HonestBatch<'_>) -> Result<Option<Tampered>, InjectError> {
        let mut fired: Option<(u64, u64)> = None;
        let data = batch.commitments.data.clone();
        let replayed = self.replay(batch, &data, &mut |event, state| {
            if fired.is_none()
                && let Some(m) = event.message
                && reapply(state, self.params, m)?
            {
                fired = Some((event.step, m.index));
            }
            Ok(())
        })?;
        Ok(fired.map(|(step, index)| {
            (
                Commitments::honest(data, replayed.leaves),
                Some(step),
                format!("step {step}: queue message {index} credited twice"),
            )
        }))
    }

    fn queue_duplicate(&self, batch: &HonestBatch<'_>) -> Result<Option<Tampered>, InjectError> {
        let mut fired: Option<(u64, u64, B256)> = None;
        let data = batch.commitments.data.clone();
        let replayed = self.replay(batch, &data, &mut |event, state| {
            if fired.is_none()
                && let Some(m) = event.message
            {
                let once = state.root()?;
                if reapply(state, self.params, m)? {
                    fired = Some((event.step, m.index, once));
                }
            }
            Ok(())
        })?;
        let Some((k, index, once)) = fired else {
            return Ok(None);
        };
        // Leaf k: the message applied once (as honest); leaf k + 1: the duplicate marker, applied
        // again, queuePos not advanced; every later leaf follows from that state.
        let k = k as usize;
        let twice = replayed.leaves[k];
        let mut leaves = replayed.leaves;
        leaves[k].state_root = once;
        let dup = StepLeaf {
            data_end: twice.data_end + 1,
            ..twice
        };
        let leaves = splice(&leaves, k, &[dup], 1);
        let data = insert(
            &data,
            twice.data_end as usize,
            &[loft_stf::batch::MARK_QUEUE],
        );
        Ok(Some((
            Commitments::honest(data.into(), leaves),
            Some(k as u64 + 1),
            format!(
                "step {}: a second queue marker re-applies queue message {index} without advancing queuePos",
                k + 1
            ),
        )))
    }

    fn queue_reorder(&self, batch: &HonestBatch<'_>) -> Result<Option<Tampered>, InjectError> {
        let leaves = &batch.commitments.leaves;
        let mut pair = None;
        for k1 in 1..leaves.len() {
            if leaves[k1].kind != STEP_QUEUE {
                continue;
            }
            let next = (k1 + 1..leaves.len()).find(|&j| leaves[j].kind != STEP_BLOCK);
            if let Some(k2) = next
                && leaves[k2].kind == STEP_QUEUE
            {
                pair = Some((k1 as u64, k2 as u64));
                break;
            }
        }
        let Some((k1, k2)) = pair else {
            return Ok(None);
        };
        let first = leaves[k1 as usize].queue_pos - 1;
        let (Some(a), Some(b)) = ((self.queue)(first), (self.queue)(first + 1)) else {
            return Ok(None);
        };
        let mut saved: Option<Smt<S>> = None;
        let data = batch.commitments.data.clone();
        let replayed = self.replay(batch, &data, &mut |event, state| {
            if event.step + 1 == k1 {
                saved = Some(state.clone());
            } else if event.step == k1
                && let Some(before) = saved.take()
            {
                // B instead of A.
                *state = before;
                apply(state, self.params, &b)?;
                saved = Some(state.clone());
            } else if event.step == k2
                && let Some(before) = saved.take()
            {
                // Then A instead of B.
                *state = before;
                apply(state, self.params, &a)?;
            }
            Ok(())
        })?;
        Ok(Some((
            Commitments::honest(data, replayed.leaves),
            Some(k1),
            format!(
                "steps {k1} and {k2}: queue messages {} and {} applied in swapped order",
                a.index, b.index
            ),
        )))
    }

    fn withdrawal_root(&self, batch: &HonestBatch<'_>) -> Result<Option<Tampered>, InjectError> {
        let honest = batch.commitments;
        let replayed = self.replay(batch, &honest.data, &mut |_, _| Ok(()))?;
        let mut withdrawals = replayed.withdrawals;
        let forged = Withdrawal {
            l2_sender: BAD_ADDRESS,
            nonce: 0,
            l1_recipient: BAD_ADDRESS,
            l1_token: Address::ZERO,
            amount: ONE_ETH,
        };
        withdrawals.push(forged);
        let mut c = honest.clone();
        c.withdrawal_root = loft_stf::withdrawal_root_v2(&withdrawals);
        Ok(Some((
            c,
            None,
            format!(
                "header withdrawal root {} includes a forged withdrawal of 1 ETH to {BAD_ADDRESS} (slot {})",
                loft_stf::withdrawal_root_v2(&withdrawals),
                withdrawals.len() - 1
            ),
        )))
    }
}

/// Commitments, the first wrong step, and what was done.
type Tampered = (Commitments, Option<u64>, String);

/// `data` with `bytes` inserted at `at`.
fn insert(data: &[u8], at: usize, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + bytes.len());
    out.extend_from_slice(&data[..at]);
    out.extend_from_slice(bytes);
    out.extend_from_slice(&data[at..]);
    out
}

/// `leaves` with `extra` inserted after leaf `after`, every later leaf's `dataEnd` moved by
/// `shift` bytes.
fn splice(leaves: &[StepLeaf], after: usize, extra: &[StepLeaf], shift: u64) -> Vec<StepLeaf> {
    let mut out = Vec::with_capacity(leaves.len() + extra.len());
    out.extend_from_slice(&leaves[..=after]);
    out.extend_from_slice(extra);
    out.extend(leaves[after + 1..].iter().map(|l| StepLeaf {
        data_end: l.data_end + shift,
        ..*l
    }));
    out
}

/// Applies queue message `m`'s writes to `state`.
fn apply<S: NodeStore>(
    state: &mut Smt<S>,
    params: &ChainParams,
    m: &QueueInput,
) -> Result<(), StateError> {
    for (key, value) in loft_stf::apply_queue_message(&*state, params, m)?.writes {
        state.set(key, value)?;
    }
    Ok(())
}

/// Applies `m` once more; whether that changed the state.
fn reapply<S: NodeStore>(
    state: &mut Smt<S>,
    params: &ChainParams,
    m: &QueueInput,
) -> Result<bool, StateError> {
    let before = state.root()?;
    apply(state, params, m)?;
    Ok(state.root()? != before)
}

/// 393 bytes that start like an EIP-1559 transaction with 300 bytes of calldata: more than
/// `MAX_STEP_BYTES` (320), so L1 and the replay refuse to read it.
fn oversized_step() -> Vec<u8> {
    let mut g = vec![0x02, 0x00, 0x00, 0x00, 0x00];
    g.extend_from_slice(BAD_ADDRESS.as_slice());
    g.push(0x00); // value: zero
    g.extend_from_slice(&[0xac, 0x02]); // varint(300)
    g.extend_from_slice(&[0x55; 300]);
    g.push(0x00); // yParity
    g.extend_from_slice(&[0x11; 64]); // r, s
    debug_assert!(g.len() > loft_stf::MAX_STEP_BYTES);
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::sol_types::SolValue;
    use loft_contracts::BatchHeader;
    use loft_derive::{Fault, derive_batch};
    use loft_state::MemStore;
    use loft_stf::{DataStep, L2Tx};

    const CHAIN_ID: u64 = 42069;
    const GWEI: u128 = 1_000_000_000;

    fn eth(n: u64) -> U256 {
        U256::from(n) * ONE_ETH
    }

    fn key(label: &str) -> PrivateKeySigner {
        PrivateKeySigner::from_bytes(&keccak256(label)).unwrap()
    }

    fn params() -> ChainParams {
        ChainParams {
            chain_id: CHAIN_ID,
            base_fee: GWEI,
            fee_recipient: address!("0x00000000000000000000000000000000000fee00"),
        }
    }

    fn deposit(index: u64, to: Address, amount: U256) -> QueueInput {
        QueueInput {
            index,
            kind: loft_stf::execute::KIND_DEPOSIT,
            sender: Address::repeat_byte(0xb1),
            payload: (Address::ZERO, to, to, amount).abi_encode_params().into(),
        }
    }

    fn tx(from: &PrivateKeySigner, nonce: u64, to: Address, value: U256, input: Bytes) -> DataStep {
        let mut t = TxEip1559 {
            chain_id: CHAIN_ID,
            nonce,
            gas_limit: 100_000,
            max_fee_per_gas: 2 * GWEI,
            max_priority_fee_per_gas: 0,
            to: TxKind::Call(to),
            value,
            access_list: Default::default(),
            input,
        };
        let sig = from.sign_transaction_sync(&mut t).unwrap();
        DataStep::Tx(TxEnvelope::Eip1559(t.into_signed(sig)))
    }

    fn withdraw(from: &PrivateKeySigner, nonce: u64, amount: U256) -> DataStep {
        let mut input = loft_stf::params::WITHDRAW_SELECTOR.to_vec();
        input.extend((Address::ZERO, amount, from.address()).abi_encode_params());
        tx(from, nonce, L2_BRIDGE, U256::ZERO, input.into())
    }

    /// A batch with two deposits, transfers and a withdrawal, from the empty state.
    struct Fixture {
        queue: Vec<QueueInput>,
        honest: Commitments,
        keys: FaultKeys,
    }

    impl Fixture {
        fn new(with_queue: bool) -> Self {
            let (alice, bob) = (key("alice"), key("bob"));
            let carol = Address::repeat_byte(0xca);
            let queue = vec![
                deposit(0, alice.address(), eth(10)),
                deposit(1, bob.address(), eth(5)),
            ];
            let mut steps = vec![DataStep::Block { timestamp: 1_000 }];
            if with_queue {
                steps.extend([DataStep::Queue, DataStep::Queue]);
                steps.extend([
                    tx(&alice, 0, carol, eth(1), Bytes::new()),
                    withdraw(&alice, 1, eth(1) / U256::from(2)),
                    DataStep::Block { timestamp: 1_001 },
                    tx(&bob, 0, carol, eth(2), Bytes::new()),
                    tx(&alice, 2, bob.address(), eth(1), Bytes::new()),
                ]);
            } else {
                steps.push(DataStep::Block { timestamp: 1_001 });
            }
            let encoded = loft_stf::encode_batch_v1(&steps, CHAIN_ID).unwrap();
            let mut state = Smt::new(MemStore::new(), B256::ZERO);
            let lookup = |i: u64| queue.get(i as usize).cloned();
            let queue_end = if with_queue { 2 } else { 0 };
            let replayed = loft_derive::replay(
                &mut state,
                &params(),
                0,
                queue_end,
                &encoded.data,
                &lookup,
                ReplayOptions::default(),
                &mut |_, _| Ok(()),
            )
            .unwrap();
            assert!(replayed.stopped.is_none(), "{:?}", replayed.stopped);
            Self {
                honest: Commitments::honest(encoded.data, replayed.leaves),
                queue,
                keys: FaultKeys::new(loft_config::DEV_MNEMONIC),
            }
        }

        fn inject(&self, kind: FaultKind) -> Option<Injected> {
            let state = Smt::new(MemStore::new(), B256::ZERO);
            let lookup = |i: u64| self.queue.get(i as usize).cloned();
            let injector = Injector {
                params: &params(),
                keys: &self.keys,
                state: &state,
                queue: &lookup,
            };
            injector
                .inject(
                    kind,
                    &HonestBatch {
                        commitments: &self.honest,
                        queue_start: 0,
                        prev_state_root: B256::ZERO,
                    },
                )
                .unwrap()
        }

        /// What a verifier finds replaying `c` from L1.
        fn derive(&self, c: &Commitments) -> Result<(), Fault> {
            let header = BatchHeader {
                state_root: c.state_root,
                withdrawal_root: c.withdrawal_root,
                step_roots_root: c.steps_root,
                data_root: loft_stf::data_root(&c.data),
                data_length: c.data.len() as u64,
                queue_end: c.queue_end,
                step_count: c.step_count,
                base_fee: params().base_fee,
                ..BatchHeader::default()
            };
            let mut state = Smt::new(MemStore::new(), B256::ZERO);
            let lookup = |i: u64| self.queue.get(i as usize).cloned();
            derive_batch(&mut state, &params(), &header, &c.data, &lookup)
                .unwrap()
                .map(|_| ())
        }
    }

    #[test]
    fn names_are_stable_kebab_case_and_parse_back() {
        let mut names = std::collections::HashSet::new();
        for kind in FaultKind::ALL {
            let name = kind.name();
            assert!(names.insert(name), "{name} twice");
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '-'));
            assert_eq!(name.parse::<FaultKind>().unwrap(), kind);
            assert_eq!(kind.to_string(), name);
            assert!(!kind.description().is_empty());
            let value = clap::ValueEnum::to_possible_value(&kind).unwrap();
            assert_eq!(value.get_name(), name);
            assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(name));
        }
        assert!("no-such-fault".parse::<FaultKind>().is_err());
    }

    #[test]
    fn the_honest_batch_derives_without_fault() {
        let f = Fixture::new(true);
        assert_eq!(f.derive(&f.honest), Ok(()));
        assert_eq!(f.honest.step_count, 8);
        assert_eq!(f.honest.leaves[7].w_count, 1);
    }

    /// Every kind changes the batch, and the verifier's replay finds the fault it should, first
    /// at the step the injector names.
    #[test]
    fn every_kind_makes_the_batch_wrong_as_intended() {
        let f = Fixture::new(true);
        let honest = &f.honest;
        for kind in FaultKind::ALL {
            let injected = f
                .inject(kind)
                .unwrap_or_else(|| panic!("{kind}: the fixture has what every fault needs"));
            let c = &injected.commitments;
            assert_eq!(injected.kind, kind);
            let fault = f.derive(c).expect_err(kind.name());
            let first_wrong = c
                .leaves
                .iter()
                .zip(&honest.leaves)
                .position(|(a, b)| a != b)
                .map(|i| i as u64);
            let why = format!("{kind}: {fault} ({})", injected.detail);
            match kind {
                FaultKind::Credit
                | FaultKind::Fee
                | FaultKind::Nonce
                | FaultKind::Recipient
                | FaultKind::Withhold
                | FaultKind::QueueSkip
                | FaultKind::QueueAlter
                | FaultKind::QueueReorder
                | FaultKind::IntermediateRoot => {
                    assert!(matches!(fault, Fault::StepsRoot { .. }), "{why}");
                    assert_eq!(c.data, honest.data, "{why}");
                    assert_eq!(c.step_count, honest.step_count, "{why}");
                    assert_eq!(first_wrong, injected.step, "{why}");
                    assert_eq!(
                        c.state_root,
                        c.leaves.last().unwrap().state_root,
                        "{why}: the header follows the leaves"
                    );
                }
                FaultKind::BadSignature
                | FaultKind::WrongChainId
                | FaultKind::NonceGap
                | FaultKind::InsufficientFunds
                | FaultKind::UnsupportedCall => {
                    let Fault::InvalidTransaction { step, reason, .. } = &fault else {
                        panic!("{why}");
                    };
                    assert_eq!(*step, 1, "{why}");
                    let expected = match kind {
                        FaultKind::BadSignature => "invalid signature",
                        FaultKind::NonceGap => "nonce too far ahead",
                        FaultKind::UnsupportedCall => "unsupported call",
                        _ => "insufficient funds",
                    };
                    assert!(reason.contains(expected), "{why}");
                    assert_eq!(c.step_count, honest.step_count + 1, "{why}");
                    // The refused step's leaf claims it changed nothing.
                    assert_eq!(c.leaves[1].state_root, c.leaves[0].state_root, "{why}");
                    assert_eq!(c.leaves[1].kind, STEP_TX, "{why}");
                }
                FaultKind::Undecodable | FaultKind::OversizedStep => {
                    assert!(matches!(fault, Fault::Undecodable { step: 1, .. }), "{why}");
                    let garbage = c.leaves[1].data_end - c.leaves[0].data_end;
                    assert_eq!(c.data.len() as u64, honest.data.len() as u64 + garbage);
                    if kind == FaultKind::OversizedStep {
                        assert!(garbage as usize > loft_stf::MAX_STEP_BYTES, "{why}");
                    }
                    assert_eq!(c.data[c.leaves[0].data_end as usize], 0x02, "{why}");
                    assert_eq!(c.leaves[1].state_root, c.leaves[0].state_root, "{why}");
                    assert_eq!(c.state_root, honest.state_root, "{why}");
                    assert_eq!(c.leaves.last().unwrap().data_end, c.data.len() as u64);
                }
                FaultKind::QueueDuplicate => {
                    assert!(matches!(fault, Fault::QueueEnd { .. }), "{why}");
                    let k = injected.step.unwrap() as usize;
                    assert_eq!(first_wrong, Some(k as u64), "{why}");
                    assert_eq!(c.leaves[k].kind, STEP_QUEUE, "{why}");
                    assert_eq!(c.leaves[k].queue_pos, c.leaves[k - 1].queue_pos, "{why}");
                    assert_ne!(c.leaves[k].state_root, c.leaves[k - 1].state_root, "{why}");
                    assert_eq!(c.queue_end, honest.queue_end, "{why}");
                    assert_eq!(c.data.len(), honest.data.len() + 1, "{why}");
                }
                FaultKind::WithdrawalRoot => {
                    assert!(matches!(fault, Fault::WithdrawalRoot { .. }), "{why}");
                    assert_eq!(c.leaves, honest.leaves, "{why}");
                    assert_eq!(c.steps_root, honest.steps_root, "{why}");
                }
                FaultKind::StateRoot => {
                    assert!(matches!(fault, Fault::StateRoot { .. }), "{why}");
                    assert_eq!(c.leaves, honest.leaves, "{why}");
                    assert_ne!(c.state_root, c.leaves.last().unwrap().state_root);
                }
                FaultKind::StepCount => {
                    assert_eq!(
                        fault,
                        Fault::StepCount {
                            claimed: honest.step_count + 1,
                            derived: honest.step_count
                        },
                        "{why}"
                    );
                    assert_eq!(c.leaves, honest.leaves, "{why}");
                    let hashes = c.leaf_hashes();
                    assert_eq!(hashes.len() as u64, c.step_count);
                    assert_eq!(*hashes.last().unwrap(), B256::ZERO);
                    let proof = c.proof(c.step_count - 1).unwrap();
                    assert!(loft_stf::verify_positional(
                        c.steps_root,
                        c.step_count - 1,
                        B256::ZERO,
                        &proof
                    ));
                }
            }
        }
    }

    /// A batch without what a fault needs is posted honestly: the fault waits for a later batch.
    #[test]
    fn a_batch_without_what_the_fault_needs_is_left_alone() {
        let f = Fixture::new(false);
        assert_eq!(f.derive(&f.honest), Ok(()));
        for kind in [
            FaultKind::Credit,
            FaultKind::Fee,
            FaultKind::Nonce,
            FaultKind::Recipient,
            FaultKind::Withhold,
            FaultKind::QueueSkip,
            FaultKind::QueueAlter,
            FaultKind::QueueDuplicate,
            FaultKind::QueueReorder,
            FaultKind::IntermediateRoot,
        ] {
            assert!(f.inject(kind).is_none(), "{kind}");
        }
        // These need no more than a block marker.
        for kind in [
            FaultKind::BadSignature,
            FaultKind::Undecodable,
            FaultKind::StateRoot,
            FaultKind::StepCount,
            FaultKind::WithdrawalRoot,
        ] {
            assert!(f.inject(kind).is_some(), "{kind}");
        }
    }

    /// Swapping two identical deposits changes nothing: no fault is claimed for that batch.
    #[test]
    fn a_reorder_that_would_not_show_is_not_injected() {
        let mut f = Fixture::new(true);
        f.queue[1] = QueueInput {
            index: 1,
            ..f.queue[0].clone()
        };
        let replayed = {
            let mut state = Smt::new(MemStore::new(), B256::ZERO);
            let lookup = |i: u64| f.queue.get(i as usize).cloned();
            loft_derive::replay(
                &mut state,
                &params(),
                0,
                2,
                &f.honest.data,
                &lookup,
                ReplayOptions {
                    accept_invalid: true,
                },
                &mut |_, _| Ok(()),
            )
            .unwrap()
        };
        f.honest = Commitments::honest(f.honest.data.clone(), replayed.leaves);
        assert!(f.inject(FaultKind::QueueReorder).is_none());
        assert!(f.inject(FaultKind::QueueSkip).is_some());
    }

    #[test]
    fn refused_transactions_are_refused_by_the_state_transition() {
        let f = Fixture::new(true);
        for kind in [
            FaultKind::BadSignature,
            FaultKind::WrongChainId,
            FaultKind::NonceGap,
            FaultKind::InsufficientFunds,
            FaultKind::UnsupportedCall,
        ] {
            let c = f.inject(kind).unwrap().commitments;
            let at = c.leaves[0].data_end as usize;
            let (step, _) = loft_stf::decode_step_at(&c.data, at, CHAIN_ID).unwrap();
            let DataStep::Tx(envelope) = step else {
                panic!("{kind}: not a transaction step");
            };
            let state = Smt::new(MemStore::new(), B256::ZERO);
            let refused = L2Tx::from_envelope(envelope, CHAIN_ID)
                .and_then(|t| loft_stf::execute_tx(&state, &params(), &t).map(|_| ()));
            let code = refused.expect_err(kind.name()).code();
            let expected = match kind {
                FaultKind::BadSignature => 3,
                FaultKind::NonceGap => 6,
                FaultKind::UnsupportedCall => 12,
                _ => 10,
            };
            assert_eq!(code, expected, "{kind}");
        }
    }
}
