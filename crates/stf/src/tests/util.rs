//! Test helpers: states, keys, signed transactions.

use std::collections::BTreeMap;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy::eips::eip2718::Encodable2718;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolValue;
use loft_state::layout::{
    Account, TokenInfo, account_key, encode_balance, token_balance_key, token_key,
};
use loft_state::{StateError, StateRead, StateWrite};

use crate::execute::{KIND_DEPOSIT, KIND_REGISTER_TOKEN, QueueInput};
use crate::params::{ChainParams, TRANSFER_SELECTOR, WITHDRAW_SELECTOR};

pub(crate) const CHAIN_ID: u64 = 4242;
pub(crate) const BASE_FEE: u128 = 7;

pub(crate) fn params() -> ChainParams {
    ChainParams {
        chain_id: CHAIN_ID,
        base_fee: BASE_FEE,
        fee_recipient: Address::repeat_byte(0xfe),
    }
}

/// A flat map state: root = keccak over the sorted entries (enough to see that roots change).
#[derive(Debug, Default, Clone)]
pub(crate) struct MapState {
    pub(crate) leaves: BTreeMap<B256, Vec<u8>>,
}

impl StateRead for MapState {
    fn leaf(&self, key: &B256) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.leaves.get(key).cloned())
    }
}

impl StateWrite for MapState {
    fn set(&mut self, key: B256, value: Vec<u8>) -> Result<(), StateError> {
        self.leaves.insert(key, value);
        Ok(())
    }

    fn root(&mut self) -> Result<B256, StateError> {
        let mut buf = Vec::new();
        for (k, v) in &self.leaves {
            buf.extend_from_slice(k.as_slice());
            buf.extend_from_slice(keccak256(v).as_slice());
        }
        Ok(if buf.is_empty() {
            B256::ZERO
        } else {
            keccak256(buf)
        })
    }
}

/// The state the tests run on: the real tree.
pub(crate) type State = loft_state::Smt<loft_state::MemStore>;

pub(crate) fn new_state() -> State {
    loft_state::Smt::new(loft_state::MemStore::default(), B256::ZERO)
}

pub(crate) fn signer(i: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_slice(&[i.max(1); 32]).unwrap()
}

pub(crate) fn addr(i: u8) -> Address {
    signer(i).address()
}

pub(crate) fn set_account(state: &mut impl StateWrite, a: Address, nonce: u64, balance: U256) {
    state
        .set(account_key(a), Account { nonce, balance }.encode())
        .unwrap();
}

pub(crate) fn set_token(state: &mut impl StateWrite, token: Address, l1: Address, supply: U256) {
    let info = TokenInfo {
        l1_token: l1,
        total_supply: supply,
        decimals: 6,
        name: "T".into(),
        symbol: "T".into(),
    };
    state.set(token_key(token), info.encode()).unwrap();
}

pub(crate) fn set_token_balance(state: &mut impl StateWrite, a: Address, token: Address, v: U256) {
    state
        .set(token_balance_key(a, token), encode_balance(v))
        .unwrap();
}

pub(crate) fn apply(state: &mut impl StateWrite, writes: Vec<(B256, Vec<u8>)>) {
    for (k, v) in writes {
        state.set(k, v).unwrap();
    }
}

pub(crate) fn eip1559(nonce: u64, to: Address, value: U256, input: Bytes) -> TxEip1559 {
    TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 100_000,
        max_fee_per_gas: 20,
        max_priority_fee_per_gas: 3,
        to: TxKind::Call(to),
        value,
        access_list: Default::default(),
        input,
    }
}

pub(crate) fn legacy(nonce: u64, to: Address, value: U256, input: Bytes) -> TxLegacy {
    TxLegacy {
        chain_id: Some(CHAIN_ID),
        nonce,
        gas_price: 10,
        gas_limit: 100_000,
        to: TxKind::Call(to),
        value,
        input,
    }
}

pub(crate) fn sign<T: SignableTransaction<alloy::primitives::Signature>>(
    key: u8,
    tx: T,
) -> TxEnvelope
where
    TxEnvelope: From<alloy::consensus::Signed<T>>,
{
    let sig = signer(key).sign_hash_sync(&tx.signature_hash()).unwrap();
    TxEnvelope::from(tx.into_signed(sig))
}

pub(crate) fn raw(tx: &TxEnvelope) -> Vec<u8> {
    tx.encoded_2718()
}

pub(crate) fn transfer_data(to: Address, amount: U256) -> Bytes {
    let mut d = TRANSFER_SELECTOR.to_vec();
    d.extend((to, amount).abi_encode_params());
    d.into()
}

pub(crate) fn withdraw_data(token: Address, amount: U256, l1_recipient: Address) -> Bytes {
    let mut d = WITHDRAW_SELECTOR.to_vec();
    d.extend((token, amount, l1_recipient).abi_encode_params());
    d.into()
}

pub(crate) fn deposit(index: u64, l1_token: Address, to: Address, amount: U256) -> QueueInput {
    QueueInput {
        index,
        kind: KIND_DEPOSIT,
        sender: Address::repeat_byte(0xaa),
        payload: (l1_token, Address::repeat_byte(0xaa), to, amount)
            .abi_encode_params()
            .into(),
    }
}

pub(crate) fn register(
    index: u64,
    l1_token: Address,
    name: &str,
    symbol: &str,
    decimals: u8,
) -> QueueInput {
    QueueInput {
        index,
        kind: KIND_REGISTER_TOKEN,
        sender: Address::repeat_byte(0xaa),
        payload: (
            l1_token,
            name.to_string(),
            symbol.to_string(),
            U256::from(decimals),
        )
            .abi_encode_params()
            .into(),
    }
}
