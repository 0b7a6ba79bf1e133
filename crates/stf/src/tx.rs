//! Decoding and classification of L2 transactions (`docs/rollup.md` §2.2), and the one error type
//! of transaction refusals.

use alloy::consensus::transaction::SignerRecoverable;
use alloy::consensus::{Transaction, TxEnvelope};
use alloy::eips::eip2718::{Decodable2718, Encodable2718};
use alloy::primitives::{Address, B256, TxKind, U256};
use loft_state::layout::{L2_BRIDGE, token_key};
use loft_state::{StateError, StateRead};

use crate::params::{
    ETH_TRANSFER_GAS, MAX_TX_SIZE, TOKEN_TRANSFER_GAS, TRANSFER_CALLDATA_LEN, TRANSFER_SELECTOR,
    WITHDRAW_CALLDATA_LEN, WITHDRAW_GAS, WITHDRAW_SELECTOR,
};

/// Why a transaction is refused. Every variant has a stable numeric [`code`](TxError::code) and a
/// stable snake-case [`kind`](TxError::kind) (see [`TxError::TABLE`]); the messages carry the
/// numbers involved.
#[derive(Debug, thiserror::Error)]
pub enum TxError {
    /// The bytes are not an EIP-2718 transaction (or have trailing bytes).
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// A transaction type (or a form of one) that L2 does not accept.
    #[error("unsupported transaction type {ty}: {reason}")]
    UnsupportedType {
        /// The EIP-2718 type byte (0 for legacy).
        ty: u8,
        /// What is unsupported.
        reason: &'static str,
    },
    /// The signature does not recover to an address (including a high `s`, EIP-2).
    #[error("invalid signature")]
    InvalidSignature,
    /// Signed for another chain.
    #[error("wrong chain id: expected {expected}, transaction has {got}")]
    WrongChainId {
        /// The L2 chain id.
        expected: u64,
        /// The transaction's chain id.
        got: u64,
    },
    /// The nonce was already used.
    #[error("nonce too low: account {account} has nonce {expected}, transaction has {got}")]
    NonceTooLow {
        /// The sender.
        account: Address,
        /// The sender's nonce in the state.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
    },
    /// The nonce is above the sender's next nonce (or is 2^64 − 1, EIP-2681).
    #[error("nonce too far ahead: account {account} has nonce {expected}, transaction has {got}")]
    NonceTooHigh {
        /// The sender.
        account: Address,
        /// The sender's nonce in the state.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
    },
    /// `gasPrice` / `maxFeePerGas` below the L2 base fee.
    #[error("fee too low: max fee per gas {max_fee} is below the base fee {base_fee}")]
    FeeBelowBaseFee {
        /// The transaction's `gasPrice` or `maxFeePerGas`.
        max_fee: u128,
        /// The L2 base fee.
        base_fee: u128,
    },
    /// `maxPriorityFeePerGas > maxFeePerGas`.
    #[error("max priority fee per gas {priority} is above max fee per gas {max_fee}")]
    PriorityAboveMax {
        /// `maxPriorityFeePerGas`.
        priority: u128,
        /// `maxFeePerGas`.
        max_fee: u128,
    },
    /// `gasLimit` below the operation's fixed L2 gas.
    #[error("gas limit too low: {gas_limit}, the operation costs {needed}")]
    GasLimitTooLow {
        /// The transaction's gas limit.
        gas_limit: u64,
        /// The operation's L2 gas.
        needed: u64,
    },
    /// The sender cannot pay `fee + value` in ETH.
    #[error("insufficient funds: account {account} has {have} wei, needs {need}")]
    InsufficientFunds {
        /// The sender.
        account: Address,
        /// Its ETH balance.
        have: U256,
        /// Fee plus value (saturated at 2^256 − 1).
        need: U256,
    },
    /// The sender cannot pay the token amount.
    #[error(
        "insufficient token funds: account {account} has {have} of token {token}, needs {need}"
    )]
    InsufficientTokenFunds {
        /// The sender.
        account: Address,
        /// The L2 token.
        token: Address,
        /// Its token balance.
        have: U256,
        /// The amount.
        need: U256,
    },
    /// Not one of the three operations (contract creation, calldata to a non-token, unknown
    /// selector, bad calldata length, value sent to a token or the bridge, ...).
    #[error("unsupported call: {0}")]
    UnsupportedCall(&'static str),
    /// A withdrawal of a token L2 does not know.
    #[error("unknown token {0}")]
    UnknownToken(Address),
    /// A token transfer to, or a withdrawal for, the zero address.
    #[error("invalid recipient: the zero address")]
    InvalidRecipient,
    /// A withdrawal of nothing.
    #[error("withdrawal amount is zero")]
    ZeroAmount,
    /// The encoded transaction is larger than [`MAX_TX_SIZE`].
    #[error("transaction of {size} bytes is above the limit of {max}")]
    Oversized {
        /// Its EIP-2718 length.
        size: usize,
        /// [`MAX_TX_SIZE`].
        max: usize,
    },
    /// A credit would take a balance above 2^256 − 1 (unreachable with real ETH).
    #[error("balance of {0} would overflow")]
    BalanceOverflow(Address),
    /// The state could not be read.
    #[error(transparent)]
    State(#[from] StateError),
    /// A compact transaction in batch data names an account index that does not exist
    /// (`docs/rollup.md` §3.2; never an answer to `eth_sendRawTransaction`).
    #[error("unknown account index {0}")]
    UnknownAccountIndex(u64),
}

impl TxError {
    /// Every `(code, kind)` pair, in code order. Codes and kinds never change meaning.
    pub const TABLE: [(u16, &'static str); 19] = [
        (1, "malformed"),
        (2, "unsupported_type"),
        (3, "invalid_signature"),
        (4, "wrong_chain_id"),
        (5, "nonce_too_low"),
        (6, "nonce_too_high"),
        (7, "fee_below_base_fee"),
        (8, "priority_above_max"),
        (9, "gas_limit_too_low"),
        (10, "insufficient_funds"),
        (11, "insufficient_token_funds"),
        (12, "unsupported_call"),
        (13, "unknown_token"),
        (14, "invalid_recipient"),
        (15, "zero_amount"),
        (16, "oversized"),
        (17, "balance_overflow"),
        (18, "state"),
        (19, "unknown_account_index"),
    ];

    /// The stable numeric code of this refusal (1..=19; 18 is an internal state failure, not the
    /// transaction's fault).
    pub fn code(&self) -> u16 {
        match self {
            Self::Malformed(_) => 1,
            Self::UnsupportedType { .. } => 2,
            Self::InvalidSignature => 3,
            Self::WrongChainId { .. } => 4,
            Self::NonceTooLow { .. } => 5,
            Self::NonceTooHigh { .. } => 6,
            Self::FeeBelowBaseFee { .. } => 7,
            Self::PriorityAboveMax { .. } => 8,
            Self::GasLimitTooLow { .. } => 9,
            Self::InsufficientFunds { .. } => 10,
            Self::InsufficientTokenFunds { .. } => 11,
            Self::UnsupportedCall(_) => 12,
            Self::UnknownToken(_) => 13,
            Self::InvalidRecipient => 14,
            Self::ZeroAmount => 15,
            Self::Oversized { .. } => 16,
            Self::BalanceOverflow(_) => 17,
            Self::State(_) => 18,
            Self::UnknownAccountIndex(_) => 19,
        }
    }

    /// The stable snake-case name of this refusal (`nonce_too_low`, ...).
    pub fn kind(&self) -> &'static str {
        Self::TABLE[usize::from(self.code()) - 1].1
    }

    /// Whether the refusal is the transaction's fault (everything but [`TxError::State`]).
    pub fn is_invalid_tx(&self) -> bool {
        !matches!(self, Self::State(_))
    }
}

/// The shape of a transaction's call, parsed from `to`, `value` and `data` alone. Whether it is
/// valid also depends on the state (is `to` a known token?): see [`L2Tx::operation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// Empty calldata to an address other than the L2 bridge: an ETH transfer unless `to` is a
    /// known token.
    Value {
        /// Recipient.
        to: Address,
        /// Wei.
        value: U256,
    },
    /// Well-formed `transfer(to, amount)` calldata with value 0 to `token` (not the bridge).
    Transfer {
        /// The called address, a token if the state knows it.
        token: Address,
        /// The `to` argument.
        to: Address,
        /// The `amount` argument.
        amount: U256,
    },
    /// Well-formed `withdraw(token, amount, l1Recipient)` calldata with value 0 to the bridge.
    Withdraw {
        /// The `token` argument (0 for ETH).
        token: Address,
        /// The `amount` argument.
        amount: U256,
        /// The `l1Recipient` argument.
        l1_recipient: Address,
    },
    /// Not any of the three operations, whatever the state.
    Unsupported(&'static str),
}

impl Call {
    /// Parses the call of a transaction.
    pub fn parse(to: TxKind, value: U256, data: &[u8]) -> Self {
        let TxKind::Call(to) = to else {
            return Self::Unsupported("contract creation");
        };
        if data.is_empty() {
            if to == L2_BRIDGE {
                return Self::Unsupported("ETH sent to the L2 bridge without a withdraw call");
            }
            return Self::Value { to, value };
        }
        if !value.is_zero() {
            return Self::Unsupported("value sent with calldata");
        }
        if data.len() < 4 {
            return Self::Unsupported("calldata shorter than a selector");
        }
        let (selector, args) = data.split_at(4);
        if to == L2_BRIDGE {
            if selector != WITHDRAW_SELECTOR {
                return Self::Unsupported("unknown selector for the L2 bridge");
            }
            if data.len() != WITHDRAW_CALLDATA_LEN {
                return Self::Unsupported("withdraw calldata is not 100 bytes");
            }
            let (Some(token), Some(l1_recipient)) =
                (word_address(&args[..32]), word_address(&args[64..]))
            else {
                return Self::Unsupported("address argument is not zero-padded");
            };
            return Self::Withdraw {
                token,
                amount: U256::from_be_slice(&args[32..64]),
                l1_recipient,
            };
        }
        if selector != TRANSFER_SELECTOR {
            return Self::Unsupported("unknown selector (only ERC-20 transfer is supported)");
        }
        if data.len() != TRANSFER_CALLDATA_LEN {
            return Self::Unsupported("transfer calldata is not 68 bytes");
        }
        let Some(recipient) = word_address(&args[..32]) else {
            return Self::Unsupported("address argument is not zero-padded");
        };
        Self::Transfer {
            token: to,
            to: recipient,
            amount: U256::from_be_slice(&args[32..64]),
        }
    }

    /// The fixed L2 gas of the operation this call would be, `None` for [`Call::Unsupported`].
    pub fn gas(&self) -> Option<u64> {
        match self {
            Self::Value { .. } => Some(ETH_TRANSFER_GAS),
            Self::Transfer { .. } => Some(TOKEN_TRANSFER_GAS),
            Self::Withdraw { .. } => Some(WITHDRAW_GAS),
            Self::Unsupported(_) => None,
        }
    }
}

/// An ABI address word: 12 zero bytes then the address.
fn word_address(word: &[u8]) -> Option<Address> {
    (word[..12].iter().all(|b| *b == 0)).then(|| Address::from_slice(&word[12..32]))
}

/// One of the three L2 operations (`docs/rollup.md` §2.2), resolved against the state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Move `value` wei to `to`.
    EthTransfer {
        /// Recipient.
        to: Address,
        /// Wei.
        value: U256,
    },
    /// ERC-20 `transfer` of a known L2 token.
    TokenTransfer {
        /// The L2 token.
        token: Address,
        /// Recipient (not zero).
        to: Address,
        /// Amount.
        amount: U256,
    },
    /// Withdrawal to L1 through the L2 bridge.
    Withdraw {
        /// The L2 token, or 0 for ETH.
        token: Address,
        /// Amount (not zero).
        amount: U256,
        /// L1 recipient (not zero).
        l1_recipient: Address,
    },
}

impl Operation {
    /// The fixed L2 gas of the operation.
    pub fn gas(&self) -> u64 {
        match self {
            Self::EthTransfer { .. } => ETH_TRANSFER_GAS,
            Self::TokenTransfer { .. } => TOKEN_TRANSFER_GAS,
            Self::Withdraw { .. } => WITHDRAW_GAS,
        }
    }
}

/// A decoded L2 transaction with its recovered sender: the stateless validity checks passed
/// (size, decoding, type, signature, chain id). Decode once, then execute against any state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L2Tx {
    envelope: TxEnvelope,
    sender: Address,
    call: Call,
}

impl L2Tx {
    /// Decodes `eth_sendRawTransaction` bytes for chain `chain_id`: size, EIP-2718 decoding
    /// (exact), type, signature, chain id, in this order.
    pub fn decode(raw: &[u8], chain_id: u64) -> Result<Self, TxError> {
        if raw.len() > MAX_TX_SIZE {
            return Err(TxError::Oversized {
                size: raw.len(),
                max: MAX_TX_SIZE,
            });
        }
        if raw.is_empty() {
            return Err(TxError::Malformed("empty transaction".into()));
        }
        let envelope =
            TxEnvelope::decode_2718_exact(raw).map_err(|e| TxError::Malformed(e.to_string()))?;
        Self::checked(envelope, chain_id)
    }

    /// Checks a transaction decoded elsewhere (a batch) like [`L2Tx::decode`] does, size included.
    pub fn from_envelope(envelope: TxEnvelope, chain_id: u64) -> Result<Self, TxError> {
        let size = envelope.encode_2718_len();
        if size > MAX_TX_SIZE {
            return Err(TxError::Oversized {
                size,
                max: MAX_TX_SIZE,
            });
        }
        Self::checked(envelope, chain_id)
    }

    fn checked(envelope: TxEnvelope, chain_id: u64) -> Result<Self, TxError> {
        match &envelope {
            TxEnvelope::Legacy(tx) if tx.tx().chain_id.is_none() => {
                return Err(TxError::UnsupportedType {
                    ty: 0,
                    reason: "legacy transaction without EIP-155 replay protection",
                });
            }
            TxEnvelope::Legacy(_) => {}
            TxEnvelope::Eip1559(tx) if !tx.tx().access_list.0.is_empty() => {
                return Err(TxError::UnsupportedType {
                    ty: 2,
                    reason: "non-empty access list",
                });
            }
            TxEnvelope::Eip1559(_) => {}
            other => {
                return Err(TxError::UnsupportedType {
                    ty: other.tx_type() as u8,
                    reason: "only legacy (EIP-155) and EIP-1559 transactions are accepted",
                });
            }
        }
        let sender = envelope
            .recover_signer()
            .map_err(|_| TxError::InvalidSignature)?;
        let got = envelope.chain_id().unwrap_or_default();
        if got != chain_id {
            return Err(TxError::WrongChainId {
                expected: chain_id,
                got,
            });
        }
        let call = Call::parse(envelope.kind(), envelope.value(), envelope.input());
        Ok(Self {
            envelope,
            sender,
            call,
        })
    }

    /// Builds an `L2Tx` whose sender is already known (trusted input, e.g. re-execution of a
    /// transaction this node checked before). No check is made.
    pub fn new_unchecked(envelope: TxEnvelope, sender: Address) -> Self {
        let call = Call::parse(envelope.kind(), envelope.value(), envelope.input());
        Self {
            envelope,
            sender,
            call,
        }
    }

    /// The signed transaction.
    pub fn envelope(&self) -> &TxEnvelope {
        &self.envelope
    }

    /// Consumes the transaction into the signed envelope.
    pub fn into_envelope(self) -> TxEnvelope {
        self.envelope
    }

    /// The transaction hash.
    pub fn hash(&self) -> B256 {
        *self.envelope.tx_hash()
    }

    /// The recovered signer.
    pub fn sender(&self) -> Address {
        self.sender
    }

    /// The transaction nonce.
    pub fn nonce(&self) -> u64 {
        self.envelope.nonce()
    }

    /// The gas limit.
    pub fn gas_limit(&self) -> u64 {
        self.envelope.gas_limit()
    }

    /// The parsed call.
    pub fn call(&self) -> &Call {
        &self.call
    }

    /// The fixed L2 gas (what the fee is charged on), `None` if the call is unsupported.
    pub fn gas(&self) -> Option<u64> {
        self.call.gas()
    }

    /// `gasPrice` (legacy) or `maxFeePerGas` (EIP-1559).
    pub fn max_fee_per_gas(&self) -> u128 {
        self.envelope.max_fee_per_gas()
    }

    /// `maxPriorityFeePerGas` (EIP-1559), `None` for legacy.
    pub fn max_priority_fee_per_gas(&self) -> Option<u128> {
        self.envelope.max_priority_fee_per_gas()
    }

    /// The effective gas price under base fee `base_fee`: legacy `gasPrice`, EIP-1559
    /// `min(maxFeePerGas, base_fee + maxPriorityFeePerGas)`.
    pub fn effective_gas_price(&self, base_fee: u128) -> u128 {
        let max_fee = self.max_fee_per_gas();
        match self.max_priority_fee_per_gas() {
            None => max_fee,
            Some(priority) => max_fee.min(base_fee.saturating_add(priority)),
        }
    }

    /// Checks the fee rules of §2.2 against base fee `base_fee` (not the gas limit, which depends
    /// on the operation).
    pub fn check_fee(&self, base_fee: u128) -> Result<(), TxError> {
        let max_fee = self.max_fee_per_gas();
        if max_fee < base_fee {
            return Err(TxError::FeeBelowBaseFee { max_fee, base_fee });
        }
        if let Some(priority) = self.max_priority_fee_per_gas()
            && priority > max_fee
        {
            return Err(TxError::PriorityAboveMax { priority, max_fee });
        }
        Ok(())
    }

    /// Resolves the call against `state`: the operation, or why it is refused
    /// ([`TxError::UnsupportedCall`], [`TxError::UnknownToken`], [`TxError::InvalidRecipient`],
    /// [`TxError::ZeroAmount`], in this order).
    pub fn operation(&self, state: &impl StateRead) -> Result<Operation, TxError> {
        match self.call {
            Call::Unsupported(reason) => Err(TxError::UnsupportedCall(reason)),
            Call::Value { to, value } => {
                if is_token(state, to)? {
                    return Err(TxError::UnsupportedCall("ETH sent to an L2 token"));
                }
                Ok(Operation::EthTransfer { to, value })
            }
            Call::Transfer { token, to, amount } => {
                if !is_token(state, token)? {
                    return Err(TxError::UnsupportedCall(
                        "calldata to an address that is not an L2 token",
                    ));
                }
                if to.is_zero() {
                    return Err(TxError::InvalidRecipient);
                }
                Ok(Operation::TokenTransfer { token, to, amount })
            }
            Call::Withdraw {
                token,
                amount,
                l1_recipient,
            } => {
                if !token.is_zero() && !is_token(state, token)? {
                    return Err(TxError::UnknownToken(token));
                }
                if l1_recipient.is_zero() {
                    return Err(TxError::InvalidRecipient);
                }
                if amount.is_zero() {
                    return Err(TxError::ZeroAmount);
                }
                Ok(Operation::Withdraw {
                    token,
                    amount,
                    l1_recipient,
                })
            }
        }
    }
}

/// Whether `address` is a known L2 token (its token leaf exists).
fn is_token(state: &impl StateRead, address: Address) -> Result<bool, StateError> {
    Ok(state.leaf(&token_key(address))?.is_some())
}
