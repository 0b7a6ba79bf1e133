//! The zk profile's wallet: one Ethereum key, from which the L2 key is derived
//! (`SecretKey::from_eth_key`, `docs/zk-rollup.md` §1.2), an L1 connection for `ZkRollup`
//! (register, deposit, forced exit, claim) and the zk node's JSON-RPC for signed operations.

use std::time::{Duration, Instant};

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolEvent};
use eyre::{Result, WrapErr, bail, eyre};
use loft_contracts::ZkRollup;
use loft_l1::{L1Client, send_and_confirm};
use loft_l1_rpc::{RpcL1, RpcL1Config};
use loft_zk::pack::{pack_amount, pack_fee, unpack_amount, unpack_fee};
use loft_zk::stf::{transfer_message, withdraw_message};
use loft_zk::{L2Op, SecretKey, TransferOp};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::wallet::rpc_error;

/// `loft_zkStatus`, as the wallet reads it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ZkStatus {
    pub(crate) role: String,
    pub(crate) chain_id: u64,
    pub(crate) rollup: Address,
    pub(crate) tree_depth: u8,
    pub(crate) batch_transfers: usize,
    pub(crate) batch_general: usize,
    pub(crate) state_root: U256,
    pub(crate) sealed_batches: u64,
    pub(crate) open_ops: usize,
    pub(crate) proved_batches: u64,
    pub(crate) verified_batches: u64,
    pub(crate) queue_next: u64,
}

/// `loft_zkAccount`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ZkAccount {
    pub(crate) registered: bool,
    pub(crate) public_key: Option<B256>,
    pub(crate) balance: String,
    pub(crate) nonce: u32,
}

impl ZkAccount {
    pub(crate) fn balance(&self) -> Result<u128> {
        self.balance
            .parse()
            .wrap_err_with(|| format!("the node sent balance {:?}", self.balance))
    }
}

/// Where an accepted operation went (`loft_zkSendOp`).
#[derive(Debug, Clone, Copy, Deserialize)]
pub(crate) struct Accepted {
    pub(crate) batch: u64,
}

/// A zk wallet.
#[derive(Debug)]
pub(crate) struct ZkWallet {
    l2: DynProvider,
    l1: RpcL1,
    signer: PrivateKeySigner,
    key: SecretKey,
    pub(crate) status: ZkStatus,
}

impl ZkWallet {
    /// Connects to the zk node (which names the rollup and chain id) and to L1, and derives the
    /// L2 key from `signer`.
    pub(crate) async fn connect(
        l2_url: &str,
        l1_url: &str,
        signer: PrivateKeySigner,
    ) -> Result<Self> {
        let url: alloy::transports::http::reqwest::Url = l2_url
            .parse()
            .wrap_err_with(|| format!("invalid zk node URL {l2_url:?}"))?;
        let l2 = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(url)
            .erased();
        let raw: Value = l2
            .raw_request("loft_zkStatus".into(), json!([]))
            .await
            .map_err(|e| {
                rpc_error(
                    format!("asking the zk node at {l2_url} for loft_zkStatus"),
                    e,
                )
            })?;
        let status: ZkStatus = serde_json::from_value(raw).wrap_err("reading loft_zkStatus")?;
        let l1 = RpcL1::connect(RpcL1Config::new(l1_url.to_string()), signer.clone())
            .await
            .wrap_err_with(|| format!("connecting to the L1 at {l1_url}"))?;
        let key = SecretKey::from_eth_key(&signer, status.chain_id)
            .map_err(|e| eyre!("deriving the L2 key: {e}"))?;
        Ok(Self {
            l2,
            l1,
            signer,
            key,
            status,
        })
    }

    pub(crate) fn address(&self) -> Address {
        self.signer.address()
    }

    pub(crate) fn l1(&self) -> &RpcL1 {
        &self.l1
    }

    /// The compressed L2 public key.
    pub(crate) fn public_key(&self) -> B256 {
        self.key.public().compress().into()
    }

    async fn request(&self, method: &'static str, params: Value) -> Result<Value> {
        self.l2
            .raw_request::<_, Value>(method.into(), params)
            .await
            .map_err(|e| rpc_error(method, e))
    }

    pub(crate) async fn refresh(&mut self) -> Result<&ZkStatus> {
        self.status = serde_json::from_value(self.request("loft_zkStatus", json!([])).await?)?;
        Ok(&self.status)
    }

    pub(crate) async fn account(&self, index: u32) -> Result<ZkAccount> {
        Ok(serde_json::from_value(
            self.request("loft_zkAccount", json!([index])).await?,
        )?)
    }

    async fn view<C: SolCall>(&self, call: C) -> Result<C::Return> {
        let out = self
            .l1
            .call(
                TransactionRequest::default()
                    .to(self.status.rollup)
                    .input(call.abi_encode().into()),
            )
            .await?;
        Ok(C::abi_decode_returns(&out)?)
    }

    async fn send<C: SolCall>(&self, call: C, value: U256) -> Result<TransactionReceipt> {
        Ok(send_and_confirm(
            &self.l1,
            TransactionRequest::default()
                .to(self.status.rollup)
                .value(value)
                .input(call.abi_encode().into()),
        )
        .await?)
    }

    /// The accounts this key's address owns on L1 (`AccountRegistered`), oldest first.
    pub(crate) async fn owned_accounts(&self) -> Result<Vec<u32>> {
        let filter = Filter::new()
            .address(self.status.rollup)
            .event_signature(ZkRollup::AccountRegistered::SIGNATURE_HASH)
            .topic2(self.address().into_word())
            .from_block(0u64);
        let logs = self.l1.logs(&filter).await?;
        Ok(logs
            .iter()
            .filter_map(|l| ZkRollup::AccountRegistered::decode_log_data(l.data()).ok())
            .map(|e| e.account)
            .collect())
    }

    /// This key's account: the first owned account whose L2 key is ours (or, while the
    /// registration waits in the queue, the first owned account).
    pub(crate) async fn my_account(&self) -> Result<u32> {
        let owned = self.owned_accounts().await?;
        for &a in &owned {
            if self.account(a).await?.public_key == Some(self.public_key()) {
                return Ok(a);
            }
        }
        owned.first().copied().ok_or_else(|| {
            eyre!(
                "{} owns no zk account: run `loft zk register` first",
                self.address()
            )
        })
    }

    /// `register(key)` with `deposit` wei; returns the new account and the receipt.
    pub(crate) async fn register(&self, deposit: U256) -> Result<(u32, TransactionReceipt)> {
        let key = U256::from_be_bytes(self.public_key().0);
        let receipt = self
            .send(ZkRollup::registerCall { compressedKey: key }, deposit)
            .await
            .wrap_err("registering on L1")?;
        let account = receipt
            .inner
            .logs()
            .iter()
            .find_map(|l| ZkRollup::AccountRegistered::decode_log_data(l.data()).ok())
            .map(|e| e.account)
            .ok_or_else(|| eyre!("the registration emitted no AccountRegistered"))?;
        Ok((account, receipt))
    }

    /// `deposit(account)` with `amount` wei.
    pub(crate) async fn deposit(&self, account: u32, amount: U256) -> Result<TransactionReceipt> {
        self.send(ZkRollup::depositCall { account }, amount)
            .await
            .wrap_err("depositing on L1")
    }

    /// `forceExit(account)`.
    pub(crate) async fn force_exit(&self, account: u32) -> Result<TransactionReceipt> {
        self.send(ZkRollup::forceExitCall { account }, U256::ZERO)
            .await
            .wrap_err("queueing the forced exit on L1")
    }

    /// What L1 holds for this address to claim.
    pub(crate) async fn claimable(&self) -> Result<U256> {
        self.view(ZkRollup::claimableCall {
            owner: self.address(),
        })
        .await
    }

    /// `claim(self)`.
    pub(crate) async fn claim(&self) -> Result<TransactionReceipt> {
        self.send(ZkRollup::claimCall { to: self.address() }, U256::ZERO)
            .await
            .wrap_err("claiming on L1")
    }

    /// Signs and sends a transfer of `amount` wei (which must pack exactly, §4.1).
    pub(crate) async fn transfer(&self, to: u32, amount: u128, fee: u128) -> Result<Accepted> {
        let from = self.my_account().await?;
        let packed = pack_amount(amount).ok_or_else(|| {
            eyre!(
                "{amount} wei is not a packable amount (19-bit mantissa, power-of-ten exponent); the nearest below is {} wei",
                loft_zk::pack::round_down_amount(amount)
            )
        })?;
        let fee_packed = pack_fee(fee).ok_or_else(|| {
            eyre!("{fee} wei is not a packable fee (4-bit mantissa, power-of-ten exponent)")
        })?;
        debug_assert_eq!(
            (unpack_amount(packed), unpack_fee(fee_packed)),
            (amount, fee)
        );
        let nonce = self.account(from).await?.nonce;
        let m = transfer_message(self.status.chain_id, from, to, packed, fee_packed, nonce);
        let op = L2Op::Transfer(TransferOp {
            from,
            to,
            amount: packed,
            fee: fee_packed,
            nonce,
            sig: self.key.sign(m),
        });
        self.send_op(&op).await
    }

    /// Signs and sends a withdrawal of `amount` wei to this address on L1.
    pub(crate) async fn withdraw(&self, amount: u128, fee: u128) -> Result<Accepted> {
        let account = self.my_account().await?;
        let nonce = self.account(account).await?.nonce;
        let m = withdraw_message(self.status.chain_id, account, nonce, amount, fee);
        let op = L2Op::Withdraw {
            account,
            amount,
            fee,
            nonce,
            sig: self.key.sign(m),
        };
        self.send_op(&op).await
    }

    async fn send_op(&self, op: &L2Op) -> Result<Accepted> {
        let raw = alloy::primitives::Bytes::from(op.encode());
        Ok(serde_json::from_value(
            self.request("loft_zkSendOp", json!([raw])).await?,
        )?)
    }

    /// Waits until L1 verified batch `batch`.
    pub(crate) async fn wait_verified(&mut self, batch: u64, timeout: Duration) -> Result<()> {
        let started = Instant::now();
        loop {
            if self.refresh().await?.verified_batches > batch {
                return Ok(());
            }
            if started.elapsed() > timeout {
                bail!("batch {batch} was not verified on L1 within {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits until `index` holds its key on L2 (its set-key message taken).
    pub(crate) async fn wait_registered(&self, index: u32, timeout: Duration) -> Result<()> {
        let started = Instant::now();
        while !self.account(index).await?.registered {
            if started.elapsed() > timeout {
                bail!("account {index} is still not registered on L2 after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }

    /// Waits until `index`'s L2 balance satisfies `pred`.
    pub(crate) async fn wait_balance(
        &self,
        index: u32,
        timeout: Duration,
        pred: impl Fn(u128) -> bool,
    ) -> Result<u128> {
        let started = Instant::now();
        loop {
            let b = self.account(index).await?.balance()?;
            if pred(b) {
                return Ok(b);
            }
            if started.elapsed() > timeout {
                bail!("account {index}'s L2 balance is still {b} wei after {timeout:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}
