//! Shared vocabulary of the embedded L1 tests: configurations, signing, and small contracts.

use std::path::PathBuf;
use std::sync::OnceLock;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope, transaction::Recovered};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, Bytes, TxKind, U256};
use alloy::signers::local::PrivateKeySigner;
use loft_l1_embedded::{DEFAULT_PRIORITY_FEE, DevChain, DevChainConfig, StateAt};

/// The devnet preset's dev chain (automine), keys derived once per test binary.
pub(crate) fn config(data_dir: Option<PathBuf>) -> DevChainConfig {
    static BASE: OnceLock<DevChainConfig> = OnceLock::new();
    let mut config = BASE
        .get_or_init(|| {
            DevChainConfig::from_chain_config(&loft_config::ChainConfig::devnet(), None).unwrap()
        })
        .clone();
    config.data_dir = data_dir;
    config
}

/// A dev chain that mines only when told to (`DevChain::mine`): the block time is far longer than
/// any test, so the background miner never ticks. Needs a tokio runtime.
pub(crate) fn interval_config() -> DevChainConfig {
    let mut config = config(None);
    config.block_time = Some(std::time::Duration::from_secs(24 * 3600));
    config
}

/// An in-memory automine chain on the devnet preset.
pub(crate) fn open() -> DevChain {
    DevChain::open(config(None)).unwrap()
}

/// Development key `i`.
pub(crate) fn key(chain: &DevChain, i: usize) -> PrivateKeySigner {
    chain.dev_keys()[i].clone()
}

/// A fee cap every test transaction can pay: twice the next base fee plus the default tip.
pub(crate) fn max_fee(chain: &DevChain) -> u128 {
    2 * chain.lock().next_base_fee() as u128 + DEFAULT_PRIORITY_FEE
}

/// An EIP-1559 transaction signed by `key`.
pub(crate) fn sign(key: &PrivateKeySigner, tx: TxEip1559) -> Recovered<TxEnvelope> {
    let mut tx = tx;
    let signature = key.sign_transaction_sync(&mut tx).unwrap();
    Recovered::new_unchecked(tx.into_signed(signature).into(), key.address())
}

/// The EIP-2718 bytes of a signed transaction.
pub(crate) fn raw(tx: &Recovered<TxEnvelope>) -> Bytes {
    tx.inner().encoded_2718().into()
}

/// A transaction from `key` at its next pending nonce, with fees the chain accepts.
pub(crate) fn tx(
    chain: &DevChain,
    key: &PrivateKeySigner,
    to: TxKind,
    value: U256,
    input: Bytes,
    gas_limit: u64,
) -> Recovered<TxEnvelope> {
    let nonce = chain.lock().pending_nonce(key.address());
    sign(
        key,
        TxEip1559 {
            chain_id: chain.chain_id(),
            nonce,
            gas_limit,
            max_fee_per_gas: max_fee(chain),
            max_priority_fee_per_gas: DEFAULT_PRIORITY_FEE,
            to,
            value,
            input,
            ..Default::default()
        },
    )
}

/// A plain ETH transfer.
pub(crate) fn transfer(
    chain: &DevChain,
    key: &PrivateKeySigner,
    to: Address,
    value: U256,
) -> Recovered<TxEnvelope> {
    tx(chain, key, TxKind::Call(to), value, Bytes::new(), 21_000)
}

/// Creation code of a contract whose runtime code loops until it runs out of gas
/// (`JUMPDEST PUSH1 0 JUMP`): a call uses exactly its gas limit, which lets tests fill blocks to a
/// chosen gas.
pub(crate) fn burner_init_code() -> Bytes {
    // PUSH4 <runtime> PUSH1 0 MSTORE PUSH1 4 PUSH1 28 RETURN
    Bytes::from_static(&[
        0x63, 0x5b, 0x60, 0x00, 0x56, 0x60, 0x00, 0x52, 0x60, 0x04, 0x60, 0x1c, 0xf3,
    ])
}

/// Deploys `init_code` from dev key 0 in a block of its own and returns the contract address.
pub(crate) fn deploy_code(chain: &DevChain, init_code: Bytes) -> Address {
    let key = key(chain, 0);
    let tx = tx(
        chain,
        &key,
        TxKind::Create,
        U256::ZERO,
        init_code,
        1_000_000,
    );
    let hash = *tx.tx_hash();
    chain.lock().submit(tx, false).unwrap();
    chain.mine(1).unwrap();
    let receipt = chain.lock().receipt(hash).expect("deployment mined");
    assert!(receipt.status(), "deployment failed");
    receipt.contract_address.expect("a created address")
}

/// Nonce of `address` in the latest state.
pub(crate) fn nonce(chain: &DevChain, address: Address) -> u64 {
    chain.lock().nonce(address, StateAt::Latest).unwrap()
}

/// Balance of `address` in the latest state.
pub(crate) fn balance(chain: &DevChain, address: Address) -> U256 {
    chain.lock().balance(address, StateAt::Latest).unwrap()
}

/// Deploys loft's L1 contracts with dev key 0 (the chain must mine on its own: automine).
pub(crate) async fn deploy_contracts(
    chain: &DevChain,
    dev_token: bool,
) -> loft_contracts::Deployment {
    let l1 = loft_l1_embedded::EmbeddedL1::new(chain.clone(), key(chain, 0));
    loft_contracts::deploy(
        &l1,
        loft_contracts::DeployOptions {
            dev_token,
            ..loft_contracts::DeployOptions::default()
        },
    )
    .await
    .unwrap()
}
