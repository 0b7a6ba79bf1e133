//! The state transition: one transaction ([`execute_tx`]), one queue message
//! ([`apply_queue_message`]) and one block ([`execute_block`]) (`docs/rollup.md` §2, §3.1).

use alloy::primitives::{Address, B256, Bytes, Log, U256};
use alloy::sol_types::{SolEvent, SolType, SolValue, sol_data};
use loft_state::layout::{
    Account, L2_BRIDGE, TokenInfo, account_key, encode_balance, encode_index_address,
    index_count_key, index_key, l2_token_address, token_balance_key, token_key,
};
use loft_state::{StateError, StateRead, StateWrite};

use crate::merkle::Withdrawal;
use crate::params::ChainParams;
use crate::tx::{L2Tx, Operation, TxError};

pub(crate) mod events {
    #![allow(missing_docs, unreachable_pub)]
    alloy::sol! {
        event Transfer(address indexed from, address indexed to, uint256 value);
        event WithdrawalInitiated(
            uint256 indexed nonce,
            address indexed sender,
            address indexed l1Recipient,
            address l1Token,
            uint256 amount
        );
    }
}

/// Queue message kind of a deposit (§2.1).
pub const KIND_DEPOSIT: u8 = 0;
/// Queue message kind of a token registration (§2.1).
pub const KIND_REGISTER_TOKEN: u8 = 1;
/// Queue message kind of a forced transaction: a signed L2 transaction put into the queue on L1
/// (`docs/liveness.md` §1).
pub const KIND_FORCED_TX: u8 = 2;
/// Queue message kind of a forced withdrawal of the L1 sender's own L2 balance
/// (`docs/liveness.md` §1).
pub const KIND_FORCED_WITHDRAWAL: u8 = 3;

/// Leaf writes of one step, in the order of §2.2 "Effects": each key once, at the position of its
/// first write, with its final value.
pub type Writes = Vec<(B256, Vec<u8>)>;

/// The receipt data of a transaction: enough for the node to build an Ethereum receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxReceipt {
    /// Always `true`: a valid L2 transaction never reverts.
    pub status: bool,
    /// The operation's fixed L2 gas.
    pub gas_used: u64,
    /// The price the fee was charged at.
    pub effective_gas_price: u128,
    /// `Transfer` of the token, or `WithdrawalInitiated` of the bridge; none for ETH transfers.
    pub logs: Vec<Log>,
}

/// What executing one transaction produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxOutcome {
    /// The leaf writes, to apply in order.
    pub writes: Writes,
    /// The receipt data.
    pub receipt: TxReceipt,
    /// The withdrawal, for a withdrawal.
    pub withdrawal: Option<Withdrawal>,
}

/// One L1 → L2 queue message (`MessageQueued`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInput {
    /// Index in the L1 queue.
    pub index: u64,
    /// Kind: [`KIND_DEPOSIT`], [`KIND_REGISTER_TOKEN`], others ignored.
    pub kind: u8,
    /// `msg.sender` of the L1 call that queued it.
    pub sender: Address,
    /// Kind-specific payload.
    pub payload: Bytes,
}

/// An L2 block to execute: its queue messages run first, then its transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInput {
    /// Seconds.
    pub timestamp: u64,
    /// The queue messages the block consumes, in queue order.
    pub queue: Vec<QueueInput>,
    /// The transactions, decoded and with their senders.
    pub txs: Vec<L2Tx>,
}

/// What executing a block produces. The writes are already applied to the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockOutcome {
    /// The state root after the block.
    pub state_root: B256,
    /// The state root after each step (queue messages, then transactions).
    pub step_roots: Vec<B256>,
    /// One receipt per transaction.
    pub receipts: Vec<TxReceipt>,
    /// The withdrawals of the block, in step order.
    pub withdrawals: Vec<Withdrawal>,
}

/// Why a block cannot be executed.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// A transaction of the block is invalid (for derivation: the batch is fraudulent).
    #[error("step {step} (transaction {tx_index}, {hash}) is invalid: {source}")]
    InvalidTx {
        /// Index of the step in the block (queue messages count).
        step: usize,
        /// Index of the transaction in the block.
        tx_index: usize,
        /// The transaction hash.
        hash: B256,
        /// Why it is invalid.
        source: Box<TxError>,
    },
    /// The state failed.
    #[error(transparent)]
    State(#[from] StateError),
}

/// One account a step touched: its leaf key, its value, and whether its leaf existed before.
struct Touched {
    address: Address,
    key: B256,
    account: Account,
    existed: bool,
}

/// Accounts touched by one step, loaded once, in order of first touch.
struct Accounts<'a, S> {
    state: &'a S,
    list: Vec<Touched>,
}

impl<'a, S: StateRead> Accounts<'a, S> {
    fn new(state: &'a S) -> Self {
        Self {
            state,
            list: Vec::with_capacity(3),
        }
    }

    fn index(&mut self, address: Address) -> Result<usize, StateError> {
        if let Some(i) = self.list.iter().position(|t| t.address == address) {
            return Ok(i);
        }
        let key = account_key(address);
        let leaf = self.state.leaf(&key)?;
        let account = match &leaf {
            None => Account::default(),
            Some(v) => Account::decode(v).map_err(|reason| StateError::Corrupt { key, reason })?,
        };
        self.list.push(Touched {
            address,
            key,
            account,
            existed: leaf.is_some(),
        });
        Ok(self.list.len() - 1)
    }

    fn get(&mut self, address: Address) -> Result<&mut Account, StateError> {
        let i = self.index(address)?;
        Ok(&mut self.list[i].account)
    }

    /// Writes `address`'s account leaf (touched before) with its current value.
    fn write(&self, writes: &mut Writes, address: Address) {
        let t = self
            .list
            .iter()
            .find(|t| t.address == address)
            .expect("only touched accounts are written");
        push_write(writes, t.key, t.account.encode());
    }

    /// The accounts whose leaves `writes` creates, in write order.
    fn created(&self, writes: &Writes) -> Vec<Address> {
        writes
            .iter()
            .filter_map(|(key, _)| {
                self.list
                    .iter()
                    .find(|t| t.key == *key && !t.existed)
                    .map(|t| t.address)
            })
            .collect()
    }
}

/// Appends the index writes of §1.2 for `created`, the addresses whose account or token leaves
/// the step's `writes` create, in write order: index leaf `count + j` for the `j`-th, then the
/// index count. Nothing when none is created (the count is then not read either).
fn push_index_writes(
    state: &impl StateRead,
    writes: &mut Writes,
    created: &[Address],
) -> Result<(), StateError> {
    if created.is_empty() {
        return Ok(());
    }
    let count = state.index_count()?;
    for (j, address) in (count..).zip(created) {
        writes.push((index_key(j), encode_index_address(*address)));
    }
    writes.push((
        index_count_key(),
        encode_balance(U256::from(count + created.len() as u64)),
    ));
    Ok(())
}

/// Appends `(key, value)`, or replaces the value of an earlier write of `key` in place.
fn push_write(writes: &mut Writes, key: B256, value: Vec<u8>) {
    match writes.iter_mut().find(|(k, _)| *k == key) {
        Some(w) => w.1 = value,
        None => writes.push((key, value)),
    }
}

fn corrupt(key: B256, reason: &str) -> StateError {
    StateError::Corrupt {
        key,
        reason: reason.to_string(),
    }
}

/// Executes transaction `tx` against `state` (§2.2): checks nonce, fee rules, operation, gas limit
/// and funds in this order, and returns the writes, the receipt data and the withdrawal. Pure:
/// `state` is only read.
pub fn execute_tx(
    state: &impl StateRead,
    params: &ChainParams,
    tx: &L2Tx,
) -> Result<TxOutcome, TxError> {
    let sender = tx.sender();
    let mut accounts = Accounts::new(state);
    let nonce = tx.nonce();
    {
        let account = accounts.get(sender)?;
        if nonce < account.nonce {
            return Err(TxError::NonceTooLow {
                account: sender,
                expected: account.nonce,
                got: nonce,
            });
        }
        if nonce > account.nonce || nonce == u64::MAX {
            return Err(TxError::NonceTooHigh {
                account: sender,
                expected: account.nonce,
                got: nonce,
            });
        }
    }
    tx.check_fee(params.base_fee)?;
    let op = tx.operation(state)?;
    let gas = op.gas();
    if tx.gas_limit() < gas {
        return Err(TxError::GasLimitTooLow {
            gas_limit: tx.gas_limit(),
            needed: gas,
        });
    }
    let price = tx.effective_gas_price(params.base_fee);
    // 64 × 128 bits: no overflow.
    let fee = U256::from(gas) * U256::from(price);
    let eth_out = match op {
        Operation::EthTransfer { value, .. } => fee.checked_add(value),
        Operation::Withdraw { token, amount, .. } if token.is_zero() => fee.checked_add(amount),
        _ => Some(fee),
    };
    let have = accounts.get(sender)?.balance;
    match eth_out {
        Some(need) if need <= have => {}
        need => {
            return Err(TxError::InsufficientFunds {
                account: sender,
                have,
                need: need.unwrap_or(U256::MAX),
            });
        }
    }
    let eth_out = eth_out.unwrap_or_default();
    // Token side: read and check before any effect.
    let token_side = match op {
        Operation::TokenTransfer { token, amount, .. }
        | Operation::Withdraw { token, amount, .. }
            if !token.is_zero() =>
        {
            let have = state.token_balance(sender, token)?;
            if have < amount {
                return Err(TxError::InsufficientTokenFunds {
                    account: sender,
                    token,
                    have,
                    need: amount,
                });
            }
            Some(have)
        }
        _ => None,
    };

    let mut writes = Writes::with_capacity(4);
    let mut logs = Vec::new();
    let mut withdrawal = None;
    {
        let account = accounts.get(sender)?;
        account.nonce += 1;
        account.balance -= eth_out;
        accounts.write(&mut writes, sender);
    }
    match op {
        Operation::EthTransfer { to, value } => {
            let recipient = accounts.get(to)?;
            recipient.balance = recipient
                .balance
                .checked_add(value)
                .ok_or(TxError::BalanceOverflow(to))?;
            accounts.write(&mut writes, to);
        }
        Operation::TokenTransfer { token, to, amount } => {
            let sender_balance = token_side.unwrap_or_default();
            push_write(
                &mut writes,
                token_balance_key(sender, token),
                encode_balance(sender_balance - amount),
            );
            let recipient_balance = if to == sender {
                sender_balance - amount
            } else {
                state.token_balance(to, token)?
            };
            // Total supply bounds the sum of balances: no overflow in a consistent state.
            let new_balance = recipient_balance.checked_add(amount).ok_or_else(|| {
                corrupt(token_balance_key(to, token), "balance above total supply")
            })?;
            push_write(
                &mut writes,
                token_balance_key(to, token),
                encode_balance(new_balance),
            );
            logs.push(Log {
                address: token,
                data: events::Transfer {
                    from: sender,
                    to,
                    value: amount,
                }
                .encode_log_data(),
            });
        }
        Operation::Withdraw {
            token,
            amount,
            l1_recipient,
        } => {
            let l1_token = if token.is_zero() {
                Address::ZERO
            } else {
                let key = token_key(token);
                let mut info = state
                    .token(token)?
                    .ok_or_else(|| corrupt(key, "token leaf vanished"))?;
                let sender_balance = token_side.unwrap_or_default();
                push_write(
                    &mut writes,
                    token_balance_key(sender, token),
                    encode_balance(sender_balance - amount),
                );
                info.total_supply = info
                    .total_supply
                    .checked_sub(amount)
                    .ok_or_else(|| corrupt(key, "total supply below a balance"))?;
                push_write(&mut writes, key, info.encode());
                info.l1_token
            };
            logs.push(Log {
                address: L2_BRIDGE,
                data: events::WithdrawalInitiated {
                    nonce: U256::from(nonce),
                    sender,
                    l1Recipient: l1_recipient,
                    l1Token: l1_token,
                    amount,
                }
                .encode_log_data(),
            });
            withdrawal = Some(Withdrawal {
                l2_sender: sender,
                nonce,
                l1_recipient,
                l1_token,
                amount,
            });
        }
    }
    {
        let recipient = params.fee_recipient;
        let account = accounts.get(recipient)?;
        account.balance = account
            .balance
            .checked_add(fee)
            .ok_or(TxError::BalanceOverflow(recipient))?;
        accounts.write(&mut writes, recipient);
    }
    let created = accounts.created(&writes);
    push_index_writes(state, &mut writes, &created)?;
    Ok(TxOutcome {
        writes,
        receipt: TxReceipt {
            status: true,
            gas_used: gas,
            effective_gas_price: price,
            logs,
        },
        withdrawal,
    })
}

/// What one queue message did: its receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueStatus {
    /// The message took effect (a deposit credited, a token registered, a forced withdrawal
    /// taken from the balance).
    Applied,
    /// A forced transaction that executed like any transaction: its hash and receipt.
    Executed {
        /// The transaction's hash.
        hash: B256,
        /// Its receipt data.
        receipt: TxReceipt,
    },
    /// Consumed without any effect, and why (a payload that does not decode, an unknown kind,
    /// a balance that would overflow, a forced transaction L2 refuses, a forced withdrawal of
    /// more than the balance).
    Ignored(String),
}

/// What applying one queue message produces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueOutcome {
    /// The leaf writes, to apply in order (none when ignored).
    pub writes: Writes,
    /// The withdrawal of a forced withdrawal, or of a forced transaction that withdrew.
    pub withdrawal: Option<Withdrawal>,
    /// The receipt.
    pub status: QueueStatus,
}

impl QueueOutcome {
    fn ignored(reason: impl Into<String>) -> Self {
        Self {
            writes: Vec::new(),
            withdrawal: None,
            status: QueueStatus::Ignored(reason.into()),
        }
    }

    fn applied(writes: Writes) -> Self {
        Self {
            writes,
            withdrawal: None,
            status: QueueStatus::Applied,
        }
    }
}

/// Applies queue message `msg` (§2.1, `docs/liveness.md` §1). A queue message never fails: a
/// payload that does not decode, an unknown kind, a deposit that would take a balance or a total
/// supply above 2^256 − 1, a forced transaction L2 refuses, or a forced withdrawal it cannot pay
/// changes nothing and says why in [`QueueOutcome::status`]. Only state failures are errors.
pub fn apply_queue_message(
    state: &impl StateRead,
    params: &ChainParams,
    msg: &QueueInput,
) -> Result<QueueOutcome, StateError> {
    match msg.kind {
        KIND_DEPOSIT | KIND_REGISTER_TOKEN => {
            let writes = apply_l1_message(state, msg)?;
            Ok(if writes.is_empty() {
                QueueOutcome::ignored(if msg.kind == KIND_DEPOSIT {
                    "deposit does not decode or would overflow"
                } else {
                    "registration does not decode or the token exists"
                })
            } else {
                QueueOutcome::applied(writes)
            })
        }
        KIND_FORCED_TX => forced_tx(state, params, msg),
        KIND_FORCED_WITHDRAWAL => forced_withdrawal(state, msg),
        kind => Ok(QueueOutcome::ignored(format!(
            "unknown message kind {kind}"
        ))),
    }
}

/// A forced transaction: the payload is one signed transaction in the batch encoding
/// (`docs/rollup.md` §3.2, [`crate::encode_forced_tx`]), nothing before or after it, executed
/// exactly as [`execute_tx`] would, or ignored when L2 refuses it.
fn forced_tx(
    state: &impl StateRead,
    params: &ChainParams,
    msg: &QueueInput,
) -> Result<QueueOutcome, StateError> {
    let tx = match crate::batch::decode_forced_tx(&msg.payload, params.chain_id)
        .map_err(|e| e.to_string())
        .and_then(|envelope| {
            L2Tx::from_envelope(envelope, params.chain_id).map_err(|e| e.to_string())
        }) {
        Ok(tx) => tx,
        Err(e) => return Ok(QueueOutcome::ignored(format!("refused transaction: {e}"))),
    };
    match execute_tx(state, params, &tx) {
        Ok(outcome) => Ok(QueueOutcome {
            writes: outcome.writes,
            withdrawal: outcome.withdrawal,
            status: QueueStatus::Executed {
                hash: tx.hash(),
                receipt: outcome.receipt,
            },
        }),
        Err(TxError::State(e)) => Err(e),
        Err(e) => Ok(QueueOutcome::ignored(format!("refused transaction: {e}"))),
    }
}

/// A forced withdrawal: `abi.encode(address l1Token, uint256 amount, address l1Recipient)` of
/// the L1 sender's own L2 balance, without fee; the withdrawal nonce is the account's nonce,
/// which it increments (so two equal forced withdrawals are two different claims). Reads in the
/// order the step verifier does: the token leaf, the account, the token balance.
fn forced_withdrawal(state: &impl StateRead, msg: &QueueInput) -> Result<QueueOutcome, StateError> {
    let Ok((l1_token, amount, l1_recipient)) =
        <(Address, U256, Address)>::abi_decode_params_validate(&msg.payload)
    else {
        return Ok(QueueOutcome::ignored("forced withdrawal does not decode"));
    };
    if amount.is_zero() || l1_recipient.is_zero() {
        return Ok(QueueOutcome::ignored(
            "forced withdrawal of nothing or to the zero address",
        ));
    }
    let sender = msg.sender;
    let token = if l1_token.is_zero() {
        None
    } else {
        let token = l2_token_address(l1_token);
        match state.token(token)? {
            Some(info) => Some((token, info)),
            None => {
                return Ok(QueueOutcome::ignored(format!(
                    "no L2 token for L1 token {l1_token}"
                )));
            }
        }
    };
    let existed = state.leaf(&account_key(sender))?.is_some();
    let mut account = state.account(sender)?;
    let nonce = account.nonce;
    if nonce == u64::MAX {
        return Ok(QueueOutcome::ignored("account nonce exhausted"));
    }
    let mut writes = Writes::with_capacity(3);
    match token {
        None => {
            if account.balance < amount {
                return Ok(QueueOutcome::ignored(format!(
                    "insufficient funds: balance {}, asked {amount}",
                    account.balance
                )));
            }
            account.balance -= amount;
            account.nonce += 1;
            writes.push((account_key(sender), account.encode()));
        }
        Some((token, mut info)) => {
            let have = state.token_balance(sender, token)?;
            if have < amount {
                return Ok(QueueOutcome::ignored(format!(
                    "insufficient token funds: balance {have}, asked {amount}"
                )));
            }
            account.nonce += 1;
            writes.push((account_key(sender), account.encode()));
            writes.push((
                token_balance_key(sender, token),
                encode_balance(have - amount),
            ));
            let key = token_key(token);
            info.total_supply = info
                .total_supply
                .checked_sub(amount)
                .ok_or_else(|| corrupt(key, "total supply below a balance"))?;
            writes.push((key, info.encode()));
        }
    }
    // Only the account leaf can be new (the token leaf exists).
    let created = if existed { vec![] } else { vec![sender] };
    push_index_writes(state, &mut writes, &created)?;
    Ok(QueueOutcome {
        writes,
        withdrawal: Some(Withdrawal {
            l2_sender: sender,
            nonce,
            l1_recipient,
            l1_token,
            amount,
        }),
        status: QueueStatus::Applied,
    })
}

/// A deposit or a token registration: its writes (none when it changes nothing).
fn apply_l1_message(state: &impl StateRead, msg: &QueueInput) -> Result<Writes, StateError> {
    match msg.kind {
        KIND_DEPOSIT => {
            let Ok((l1_token, _from, to, amount)) =
                <(Address, Address, Address, U256)>::abi_decode_params_validate(&msg.payload)
            else {
                return Ok(Vec::new());
            };
            if l1_token.is_zero() {
                let key = account_key(to);
                let existed = state.leaf(&key)?.is_some();
                let mut account = state.account(to)?;
                let Some(balance) = account.balance.checked_add(amount) else {
                    return Ok(Vec::new());
                };
                account.balance = balance;
                let mut writes = vec![(key, account.encode())];
                let created = if existed { vec![] } else { vec![to] };
                push_index_writes(state, &mut writes, &created)?;
                return Ok(writes);
            }
            let token = l2_token_address(l1_token);
            let known = state.token(token)?;
            let created = if known.is_some() { vec![] } else { vec![token] };
            let mut info = known.unwrap_or_else(|| TokenInfo {
                l1_token,
                total_supply: U256::ZERO,
                decimals: 18,
                name: String::new(),
                symbol: String::new(),
            });
            let Some(supply) = info.total_supply.checked_add(amount) else {
                return Ok(Vec::new());
            };
            info.total_supply = supply;
            let key = token_balance_key(to, token);
            let balance = state
                .token_balance(to, token)?
                .checked_add(amount)
                .ok_or_else(|| corrupt(key, "balance above total supply"))?;
            let mut writes = vec![
                (token_key(token), info.encode()),
                (key, encode_balance(balance)),
            ];
            push_index_writes(state, &mut writes, &created)?;
            Ok(writes)
        }
        KIND_REGISTER_TOKEN => {
            let Ok((l1_token, name, symbol, decimals)) =
                <(
                    sol_data::Address,
                    sol_data::String,
                    sol_data::String,
                    sol_data::Uint<8>,
                )>::abi_decode_params_validate(&msg.payload)
            else {
                return Ok(Vec::new());
            };
            let token = l2_token_address(l1_token);
            let key = token_key(token);
            if state.leaf(&key)?.is_some() {
                return Ok(Vec::new());
            }
            let info = TokenInfo {
                l1_token,
                total_supply: U256::ZERO,
                decimals,
                name,
                symbol,
            };
            let mut writes = vec![(key, info.encode())];
            push_index_writes(state, &mut writes, &[token])?;
            Ok(writes)
        }
        _ => Ok(Vec::new()),
    }
}

fn apply(state: &mut impl StateWrite, writes: Writes) -> Result<B256, StateError> {
    for (key, value) in writes {
        state.set(key, value)?;
    }
    state.root()
}

/// Executes `block` on `state` (§3.1): its queue messages, then its transactions, applying each
/// step's writes and recording the root after every step. On error the state keeps the writes of
/// the steps before the failing one: execute on a scratch copy if that matters.
pub fn execute_block(
    state: &mut impl StateWrite,
    params: &ChainParams,
    block: &BlockInput,
) -> Result<BlockOutcome, BlockError> {
    let steps = block.queue.len() + block.txs.len();
    let mut step_roots = Vec::with_capacity(steps);
    let mut receipts = Vec::with_capacity(block.txs.len());
    let mut withdrawals = Vec::new();
    for msg in &block.queue {
        let outcome = apply_queue_message(state, params, msg)?;
        step_roots.push(apply(state, outcome.writes)?);
        withdrawals.extend(outcome.withdrawal);
    }
    for (tx_index, tx) in block.txs.iter().enumerate() {
        let outcome = match execute_tx(state, params, tx) {
            Ok(outcome) => outcome,
            Err(TxError::State(e)) => return Err(BlockError::State(e)),
            Err(source) => {
                return Err(BlockError::InvalidTx {
                    step: block.queue.len() + tx_index,
                    tx_index,
                    hash: tx.hash(),
                    source: Box::new(source),
                });
            }
        };
        step_roots.push(apply(state, outcome.writes)?);
        receipts.push(outcome.receipt);
        withdrawals.extend(outcome.withdrawal);
    }
    let state_root = match step_roots.last() {
        Some(root) => *root,
        None => state.root()?,
    };
    Ok(BlockOutcome {
        state_root,
        step_roots,
        receipts,
        withdrawals,
    })
}
