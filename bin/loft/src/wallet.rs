//! The user-facing wallet commands: `loft deposit`, `transfer`, `withdraw`, `claim`, `balance`,
//! `status` and `batch`.
//!
//! Everything goes through public interfaces only, the way any wallet would: the L2 node's
//! JSON-RPC (standard `eth_` methods plus the `loft_` namespace) and the L1 node's JSON-RPC. The
//! contract addresses and both chain ids come from the L2 node's `loft_chainConfig`, so a user
//! passes two URLs and a key. L2 transactions are built by an alloy provider whose fillers ask the
//! L2 node for the nonce, the gas limit and the EIP-1559 fees, as MetaMask or cast would.
//!
//! [`Wallet`] holds the operations and returns structured results; the `*_cmd` functions print
//! them for the CLI (and `loft devnet`'s demo can call the same operations).

use std::fmt::Display;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::utils::{format_units, parse_units};
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, PendingTransactionError, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolEvent, SolInterface};
use alloy::transports::{RpcError, TransportErrorKind};
use clap::Args;
use eyre::{Result, WrapErr, bail, eyre};
use loft_config::ChainConfig;
use loft_contracts::{KIND_DEPOSIT, L1Bridge, QueueMessage};
use loft_l1::{BlockNumberOrTag, L1Client, L1Error, send_and_confirm};
use loft_l1_rpc::{RpcL1, RpcL1Config, load_signer};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use crate::args::WalletArgs;

/// The contract interfaces the wallet needs, written from the protocol (docs/rollup.md) and the
/// Solidity sources, so the wallet does not depend on which bindings `loft-contracts` exports.
mod abi {
    #![allow(missing_docs)]
    alloy::sol! {
        interface IErc20 {
            function balanceOf(address owner) external view returns (uint256);
            function allowance(address owner, address spender) external view returns (uint256);
            function approve(address spender, uint256 value) external returns (bool);
            function transfer(address to, uint256 amount) external returns (bool);
            function decimals() external view returns (uint8);
            function symbol() external view returns (string);
            /// Only on L2 tokens: the L1 token they represent.
            function l1Token() external view returns (address);
        }

        interface IL2Bridge {
            function withdraw(address token, uint256 amount, address l1Recipient) external;
        }

        interface IL1Rollup {
            struct Withdrawal {
                address l2Sender;
                uint256 nonce;
                address l1Recipient;
                address l1Token;
                uint256 amount;
            }
            error UnknownBatch(uint64 index, uint64 batchCount);
            error BatchNotFinal(uint64 index, uint64 finalAt, uint64 now_);
            error AlreadyClaimed(bytes32 leaf);
            error OpeningPending(uint64 index, uint64 blockingIndex);
            error InvalidWithdrawalProof(uint64 index, bytes32 leaf);
            event WithdrawalClaimed(
                uint64 indexed batchIndex,
                bytes32 indexed leaf,
                address indexed l1Recipient,
                address l2Sender,
                uint256 nonce,
                address l1Token,
                uint256 amount
            );
            function claimWithdrawal(uint64 batchIndex, Withdrawal w, uint256 index, bytes32[16] siblings) external;
        }
    }
}

use abi::{IErc20, IL1Rollup, IL2Bridge};

/// How long an L2 transaction may take to get its receipt.
const L2_RECEIPT_TIMEOUT: Duration = Duration::from_secs(60);
/// How often waiting loops poll the nodes.
const POLL: Duration = Duration::from_millis(250);

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

/// Where the L2 node says the chain's contracts are (`loft_chainConfig`).
#[derive(Debug, Clone)]
pub(crate) struct ChainInfo {
    /// The chain configuration the node runs with.
    pub(crate) config: ChainConfig,
    /// The L1 bridge (deposits, the L1->L2 queue, payouts).
    pub(crate) bridge: Address,
    /// The L1 rollup contract (batches, withdrawal claims), when the node names one.
    pub(crate) rollup: Option<Address>,
    /// The devnet's mintable test token.
    pub(crate) dev_token: Option<Address>,
    /// The L2 bridge (withdrawals).
    pub(crate) l2_bridge: Address,
}

/// ETH or a bridged ERC-20.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asset {
    /// Ether.
    Eth,
    /// An ERC-20 and its L2 twin.
    Token {
        /// The token on L1.
        l1: Address,
        /// Its L2 address (`l2_token_address(l1)`).
        l2: Address,
    },
}

/// An asset with what is needed to show and parse amounts of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AssetInfo {
    /// Which asset.
    pub(crate) asset: Asset,
    /// Ticker (`ETH`, the token's `symbol()`).
    pub(crate) symbol: String,
    /// Decimals of the base unit.
    pub(crate) decimals: u8,
}

impl AssetInfo {
    /// Ether, 18 decimals.
    pub(crate) fn eth() -> Self {
        Self {
            asset: Asset::Eth,
            symbol: "ETH".into(),
            decimals: 18,
        }
    }

    /// Parses a decimal amount in this asset's units (`1.5`), refusing zero and negatives.
    pub(crate) fn parse(&self, amount: &str) -> Result<U256> {
        parse_amount(amount, self.decimals)
    }

    /// Formats a base-unit amount with the symbol: `1.5 ETH`.
    pub(crate) fn format(&self, amount: U256) -> String {
        format!("{} {}", format_amount(amount, self.decimals), self.symbol)
    }
}

/// A deposit sent on L1.
#[derive(Debug, Clone)]
pub(crate) struct DepositResult {
    /// The deposited asset.
    pub(crate) asset: AssetInfo,
    /// Amount in base units.
    pub(crate) amount: U256,
    /// L2 account credited.
    pub(crate) recipient: Address,
    /// The ERC-20 approval sent first, when the allowance was too small: (tx, gas used).
    pub(crate) approval: Option<(B256, u64)>,
    /// The deposit transaction.
    pub(crate) l1_tx: B256,
    /// Its L1 block.
    pub(crate) l1_block: Option<u64>,
    /// Gas it used.
    pub(crate) gas_used: u64,
    /// Index of the deposit message in the L1->L2 queue.
    pub(crate) queue_index: Option<u64>,
    /// The recipient's L2 balance of the asset before the deposit.
    pub(crate) l2_balance_before: U256,
    /// When the deposit transaction was sent (for timing the credit on L2).
    pub(crate) sent_at: Instant,
    /// How long until L1 included (and confirmed) it.
    pub(crate) l1_time: Duration,
}

/// An L2 transaction included in a block.
#[derive(Debug, Clone)]
pub(crate) struct L2TxResult {
    /// Transaction hash.
    pub(crate) hash: B256,
    /// L2 block.
    pub(crate) block: Option<u64>,
    /// L2 gas used (fixed per operation).
    pub(crate) gas_used: u64,
    /// Effective gas price, wei.
    pub(crate) gas_price: u128,
    /// Fee paid, wei.
    pub(crate) fee: U256,
    /// How long from sending to the receipt.
    pub(crate) elapsed: Duration,
}

/// A withdrawal's status as `loft_withdrawalStatus` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum WithdrawalState {
    /// Accepted, its L2 block not sealed yet.
    PendingBlock,
    /// In a sealed L2 block, not posted to L1 yet.
    PendingBatch,
    /// Posted in a batch that is not final yet.
    ChallengePeriod,
    /// Its batch is final: it can be claimed.
    Claimable,
    /// Paid out on L1.
    Claimed,
    /// A status this version does not know.
    #[serde(other)]
    Unknown,
}

/// The withdrawal itself (docs/rollup.md §4).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WithdrawalInfo {
    /// The L2 account that withdrew.
    pub(crate) l2_sender: Address,
    /// Nonce of the withdrawing L2 transaction.
    #[serde(deserialize_with = "de_u256")]
    pub(crate) nonce: U256,
    /// Who is paid on L1.
    pub(crate) l1_recipient: Address,
    /// The L1 token, zero for ETH.
    pub(crate) l1_token: Address,
    /// Amount in base units.
    #[serde(deserialize_with = "de_u256")]
    pub(crate) amount: U256,
}

/// `loft_withdrawalStatus`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WithdrawalStatus {
    /// Where it stands.
    pub(crate) status: WithdrawalState,
    /// The node's explanation.
    #[serde(default)]
    pub(crate) detail: String,
    /// The batch that holds it.
    #[serde(default)]
    pub(crate) batch: Option<u64>,
    /// L1 timestamp from which it can be claimed.
    #[serde(default)]
    pub(crate) claimable_at: Option<u64>,
    /// The withdrawal.
    #[serde(default)]
    pub(crate) withdrawal: Option<WithdrawalInfo>,
    /// Its position in the batch's withdrawal tree.
    #[serde(default)]
    pub(crate) index: Option<u64>,
    /// The 16 siblings of its position, from the leaf up, against the batch's withdrawal root.
    #[serde(default)]
    pub(crate) siblings: Vec<B256>,
    /// The rollup contract to claim from.
    #[serde(default)]
    pub(crate) rollup: Option<Address>,
}

/// Which withdrawal: the L2 transaction that made it, or the L1 queue message (a forced
/// withdrawal, or a forced transaction that withdrew) that did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WithdrawalRef {
    /// The L2 withdrawal transaction.
    Tx(B256),
    /// The L1 queue message's index.
    Queue(u64),
}

impl From<B256> for WithdrawalRef {
    fn from(hash: B256) -> Self {
        Self::Tx(hash)
    }
}

impl Display for WithdrawalRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tx(hash) => write!(f, "{hash}"),
            Self::Queue(index) => write!(f, "--queue-index {index}"),
        }
    }
}

/// A forced message sent on L1 (`docs/liveness.md` §1).
#[derive(Debug, Clone)]
pub(crate) struct ForcedResult {
    /// The L1 transaction.
    pub(crate) l1_tx: B256,
    /// Gas it used.
    pub(crate) gas_used: u64,
    /// The message's index in the L1->L2 queue.
    pub(crate) index: u64,
    /// The L1 time by which every batch must have consumed it.
    pub(crate) deadline: u64,
}

/// A claim paid out on L1.
#[derive(Debug, Clone)]
pub(crate) struct ClaimReceipt {
    /// The L1 transaction.
    pub(crate) l1_tx: B256,
    /// Its L1 block.
    pub(crate) l1_block: Option<u64>,
    /// Gas it used.
    pub(crate) gas_used: u64,
    /// The batch it was proven against.
    pub(crate) batch: u64,
    /// Who was paid.
    pub(crate) recipient: Address,
    /// The L1 token, zero for ETH.
    pub(crate) l1_token: Address,
    /// Amount paid (from the `WithdrawalClaimed` event).
    pub(crate) amount: U256,
}

/// What `claim` did.
#[derive(Debug, Clone)]
pub(crate) enum ClaimOutcome {
    /// Claimed now.
    Claimed(ClaimReceipt),
    /// Someone (maybe us, earlier) already claimed it: the recipient has been paid.
    AlreadyClaimed(WithdrawalStatus),
    /// Not claimable yet; the status says why and until when.
    NotYet(WithdrawalStatus),
}

/// Balances of one account on both layers.
#[derive(Debug, Clone)]
pub(crate) struct Balances {
    /// The account.
    pub(crate) account: Address,
    /// ETH on L2, wei.
    pub(crate) l2_eth: U256,
    /// ETH on L1, wei (`None` when L1 is unreachable).
    pub(crate) l1_eth: Option<U256>,
    /// The token asked for: (asset, L2 balance, L1 balance).
    pub(crate) token: Option<(AssetInfo, U256, Option<U256>)>,
}

// ---------------------------------------------------------------------------------------------
// The wallet
// ---------------------------------------------------------------------------------------------

/// A user's view of a loft chain: the L2 node, the L1 node, and optionally a key.
#[derive(Debug)]
pub(crate) struct Wallet {
    l2_url: String,
    l1_url: String,
    /// Reads and raw `loft_` requests.
    l2: DynProvider,
    /// Signs and sends L2 transactions (fillers: nonce, gas, fees, chain id).
    l2_signing: Option<DynProvider>,
    signer: Option<PrivateKeySigner>,
    l1: OnceCell<RpcL1>,
    chain: ChainInfo,
}

impl Wallet {
    /// Connects to the L2 node and reads the chain's configuration and contracts from it. The L1
    /// connection is opened on first use, so L2-only commands work without an L1.
    pub(crate) async fn connect(
        l2_url: &str,
        l1_url: &str,
        signer: Option<PrivateKeySigner>,
    ) -> Result<Self> {
        let url: alloy::transports::http::reqwest::Url = l2_url
            .parse()
            .wrap_err_with(|| format!("invalid L2 RPC URL {l2_url:?}"))?;
        let l2 = ProviderBuilder::new()
            .disable_recommended_fillers()
            .connect_http(url)
            .erased();
        let raw: Value = l2
            .raw_request("loft_chainConfig".into(), json!([]))
            .await
            .map_err(|e| {
                rpc_error(
                    format!("asking the L2 node at {l2_url} for loft_chainConfig"),
                    e,
                )
            })?;
        let chain = parse_chain_info(&raw).wrap_err("reading loft_chainConfig")?;
        let actual = l2
            .get_chain_id()
            .await
            .map_err(|e| rpc_error("eth_chainId on L2", e))?;
        if actual != chain.config.l2.chain_id {
            bail!(
                "the L2 node reports chain id {actual} but its configuration says {}",
                chain.config.l2.chain_id
            );
        }
        let mut wallet = Self {
            l2_url: l2_url.to_string(),
            l1_url: l1_url.to_string(),
            l2,
            l2_signing: None,
            signer: None,
            l1: OnceCell::new(),
            chain,
        };
        if let Some(signer) = signer {
            wallet.set_signer(signer)?;
        }
        Ok(wallet)
    }

    /// Uses `signer` for every transaction from now on (L1 and L2).
    pub(crate) fn set_signer(&mut self, signer: PrivateKeySigner) -> Result<()> {
        let url: alloy::transports::http::reqwest::Url = self.l2_url.parse()?;
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer.clone()))
            .connect_http(url)
            .erased();
        self.l2_signing = Some(provider);
        self.signer = Some(signer);
        self.l1 = OnceCell::new();
        Ok(())
    }

    /// The chain's configuration and contracts.
    pub(crate) fn chain(&self) -> &ChainInfo {
        &self.chain
    }

    /// The signing account, if a key was given.
    pub(crate) fn address(&self) -> Option<Address> {
        self.signer.as_ref().map(|s| s.address())
    }

    pub(crate) fn require_address(&self) -> Result<Address> {
        self.address().ok_or_else(|| {
            eyre!("this command signs transactions: pass --key, --keystore or --dev-account")
        })
    }

    /// The L1 connection (opened on first use; signs with the key, or a throwaway key for reads).
    pub(crate) async fn l1(&self) -> Result<&RpcL1> {
        self.l1
            .get_or_try_init(|| async {
                let config = &self.chain.config;
                let mut rpc = RpcL1Config::new(self.l1_url.clone());
                rpc.expected_chain_id = Some(config.l1.chain_id);
                rpc.confirmations = config.l1.confirmations;
                rpc.tx_timeout = Duration::from_secs(config.l1.tx_timeout_secs);
                let signer = self.signer.clone().unwrap_or_else(PrivateKeySigner::random);
                RpcL1::connect(rpc, signer)
                    .await
                    .wrap_err_with(|| format!("connecting to the L1 at {}", self.l1_url))
            })
            .await
    }

    fn signing(&self) -> Result<&DynProvider> {
        self.require_address()?;
        self.l2_signing
            .as_ref()
            .ok_or_else(|| eyre!("no signing key"))
    }

    /// A raw call to the L2 node (`loft_` namespace), with the node's error code in the message.
    pub(crate) async fn l2_request(&self, method: &'static str, params: Value) -> Result<Value> {
        self.l2
            .raw_request::<_, Value>(method.into(), params)
            .await
            .map_err(|e| rpc_error(method, e))
    }

    async fn l2_call(&self, to: Address, data: Vec<u8>) -> Result<Bytes> {
        self.l2_call_opt(to, data)
            .await?
            .ok_or_else(|| eyre!("{to} is not an L2 token"))
    }

    /// An L2 `eth_call` that the node refused (e.g. an address that is not an L2 token yet) is
    /// `None`; a transport failure is an error.
    async fn l2_call_opt(&self, to: Address, data: Vec<u8>) -> Result<Option<Bytes>> {
        match self
            .l2
            .call(TransactionRequest::default().with_to(to).with_input(data))
            .await
        {
            Ok(out) => Ok(Some(out)),
            Err(RpcError::ErrorResp(_)) => Ok(None),
            Err(e) => Err(rpc_error(format!("eth_call to {to} on L2"), e)),
        }
    }

    async fn l1_call(&self, to: Address, data: Vec<u8>) -> Result<Bytes> {
        Ok(self
            .l1()
            .await?
            .call(TransactionRequest::default().with_to(to).with_input(data))
            .await?)
    }

    /// Resolves `--token`: none or `eth` is ETH; `dev` is the devnet's test token; an address may
    /// be the L1 token or its L2 twin. Reads the symbol and decimals from the L2 token, or from the
    /// L1 token when no deposit has registered it on L2 yet.
    pub(crate) async fn resolve_asset(&self, token: Option<&str>) -> Result<AssetInfo> {
        let spec = match token.map(str::trim) {
            None => return Ok(AssetInfo::eth()),
            Some(s) if s.eq_ignore_ascii_case("eth") => return Ok(AssetInfo::eth()),
            Some(s) => s,
        };
        let address: Address =
            if spec.eq_ignore_ascii_case("dev") || spec.eq_ignore_ascii_case("ldt") {
                self.chain
                    .dev_token
                    .ok_or_else(|| eyre!("this chain has no dev token; pass a token address"))?
            } else {
                spec.parse().wrap_err_with(|| {
                    format!("--token {spec:?} is neither `eth`, `dev` nor an address")
                })?
            };
        // An L2 token answers l1Token(); anything else is taken as an L1 token.
        let l1_of_l2 = self
            .l2_call(address, IErc20::l1TokenCall {}.abi_encode())
            .await
            .ok()
            .and_then(|out| IErc20::l1TokenCall::abi_decode_returns(&out).ok())
            .filter(|a| !a.is_zero());
        let (l1, l2) = match l1_of_l2 {
            Some(l1) => (l1, address),
            None => (address, loft_state::l2_token_address(address)),
        };
        let asset = Asset::Token { l1, l2 };
        // Metadata: L2 first (registered tokens), then L1.
        let decimals = match self.l2_call(l2, IErc20::decimalsCall {}.abi_encode()).await {
            Ok(out) => IErc20::decimalsCall::abi_decode_returns(&out).ok(),
            Err(_) => None,
        };
        let symbol = match self.l2_call(l2, IErc20::symbolCall {}.abi_encode()).await {
            Ok(out) => IErc20::symbolCall::abi_decode_returns(&out)
                .ok()
                .filter(|s| !s.is_empty()),
            Err(_) => None,
        };
        let decimals = match decimals {
            Some(d) => d,
            None => {
                let out = self
                    .l1_call(l1, IErc20::decimalsCall {}.abi_encode())
                    .await
                    .wrap_err_with(|| {
                        format!("token {l1} is not on L2 yet and its L1 decimals() failed")
                    })?;
                IErc20::decimalsCall::abi_decode_returns(&out)
                    .wrap_err_with(|| format!("decoding decimals() of L1 token {l1}"))?
            }
        };
        let symbol = match symbol {
            Some(s) => s,
            None => match self.l1_call(l1, IErc20::symbolCall {}.abi_encode()).await {
                Ok(out) => IErc20::symbolCall::abi_decode_returns(&out)
                    .ok()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| format!("token {l1}")),
                Err(_) => format!("token {l1}"),
            },
        };
        Ok(AssetInfo {
            asset,
            symbol,
            decimals,
        })
    }

    /// An account's L2 balance of an asset (an unregistered token reads as 0).
    pub(crate) async fn l2_balance(&self, account: Address, asset: Asset) -> Result<U256> {
        match asset {
            Asset::Eth => self
                .l2
                .get_balance(account)
                .await
                .map_err(|e| rpc_error("eth_getBalance on L2", e)),
            Asset::Token { l2, .. } => {
                // A token no deposit has registered on L2 yet: nobody holds any.
                let out = self
                    .l2_call_opt(l2, IErc20::balanceOfCall { owner: account }.abi_encode())
                    .await?;
                Ok(out
                    .and_then(|o| IErc20::balanceOfCall::abi_decode_returns(&o).ok())
                    .unwrap_or_default())
            }
        }
    }

    /// An account's L1 balance of an asset.
    pub(crate) async fn l1_balance(&self, account: Address, asset: Asset) -> Result<U256> {
        match asset {
            Asset::Eth => Ok(self.l1().await?.balance(account).await?),
            Asset::Token { l1, .. } => {
                let out = self
                    .l1_call(l1, IErc20::balanceOfCall { owner: account }.abi_encode())
                    .await?;
                IErc20::balanceOfCall::abi_decode_returns(&out)
                    .wrap_err_with(|| format!("decoding balanceOf of L1 token {l1}"))
            }
        }
    }

    /// ETH (and optionally one token) of `account` on L2 and L1. An unreachable L1 leaves the L1
    /// columns empty instead of failing.
    pub(crate) async fn balance(
        &self,
        account: Address,
        token: Option<&AssetInfo>,
    ) -> Result<Balances> {
        let l2_eth = self.l2_balance(account, Asset::Eth).await?;
        let l1_ok = match self.l1().await {
            Ok(_) => true,
            Err(e) => {
                tracing::warn!(target: "loft::wallet", error = %format!("{e:#}"), "L1 unreachable; showing L2 balances only");
                false
            }
        };
        let l1_eth = if l1_ok {
            Some(self.l1_balance(account, Asset::Eth).await?)
        } else {
            None
        };
        let token = match token {
            Some(info) if info.asset != Asset::Eth => {
                let l2 = self.l2_balance(account, info.asset).await?;
                let l1 = if l1_ok {
                    Some(self.l1_balance(account, info.asset).await?)
                } else {
                    None
                };
                Some((info.clone(), l2, l1))
            }
            _ => None,
        };
        Ok(Balances {
            account,
            l2_eth,
            l1_eth,
            token,
        })
    }

    /// Deposits ETH from the key's L1 account to `to` on L2 (default: the same address).
    pub(crate) async fn deposit_eth(
        &self,
        amount: U256,
        to: Option<Address>,
    ) -> Result<DepositResult> {
        self.deposit(&AssetInfo::eth(), amount, to).await
    }

    /// Deposits an ERC-20 (approving the bridge first when the allowance is too small).
    pub(crate) async fn deposit_token(
        &self,
        asset: &AssetInfo,
        amount: U256,
        to: Option<Address>,
    ) -> Result<DepositResult> {
        self.deposit(asset, amount, to).await
    }

    async fn deposit(
        &self,
        asset: &AssetInfo,
        amount: U256,
        to: Option<Address>,
    ) -> Result<DepositResult> {
        let me = self.require_address()?;
        let recipient = to.unwrap_or(me);
        let l1 = self.l1().await?;
        let bridge = self.chain.bridge;
        let l2_balance_before = self
            .l2_balance(recipient, asset.asset)
            .await
            .unwrap_or_default();
        let mut approval = None;
        let request = match asset.asset {
            Asset::Eth => TransactionRequest::default()
                .with_to(bridge)
                .with_input(
                    L1Bridge::depositETHCall {
                        l2Recipient: recipient,
                    }
                    .abi_encode(),
                )
                .with_value(amount),
            Asset::Token { l1: token, .. } => {
                let held = self.l1_balance(me, asset.asset).await?;
                if held < amount {
                    bail!(
                        "{me} holds {} on L1, less than the {} to deposit",
                        asset.format(held),
                        asset.format(amount)
                    );
                }
                let out = self
                    .l1_call(
                        token,
                        IErc20::allowanceCall {
                            owner: me,
                            spender: bridge,
                        }
                        .abi_encode(),
                    )
                    .await?;
                let allowance = IErc20::allowanceCall::abi_decode_returns(&out).unwrap_or_default();
                if allowance < amount {
                    let r = send_and_confirm(
                        l1,
                        TransactionRequest::default().with_to(token).with_input(
                            IErc20::approveCall {
                                spender: bridge,
                                value: amount,
                            }
                            .abi_encode(),
                        ),
                    )
                    .await
                    .wrap_err_with(|| {
                        format!("approving the bridge to take {}", asset.format(amount))
                    })?;
                    approval = Some((r.transaction_hash, r.gas_used));
                }
                TransactionRequest::default().with_to(bridge).with_input(
                    L1Bridge::depositERC20Call {
                        token,
                        l2Recipient: recipient,
                        amount,
                    }
                    .abi_encode(),
                )
            }
        };
        let sent_at = Instant::now();
        let receipt = send_and_confirm(l1, request)
            .await
            .wrap_err_with(|| format!("depositing {} to {recipient}", asset.format(amount)))?;
        let l1_time = sent_at.elapsed();
        let queue_index = receipt
            .inner
            .logs()
            .iter()
            .filter(|log| log.address() == bridge)
            .filter_map(|log| QueueMessage::from_log(log).ok())
            .find(|m| m.kind == KIND_DEPOSIT)
            .map(|m| m.index);
        Ok(DepositResult {
            asset: asset.clone(),
            amount,
            recipient,
            approval,
            l1_tx: receipt.transaction_hash,
            l1_block: receipt.block_number,
            gas_used: receipt.gas_used,
            queue_index,
            l2_balance_before,
            sent_at,
            l1_time,
        })
    }

    /// Waits until the deposit shows on L2 (the recipient's balance rose); returns how long after
    /// sending the L1 transaction that was, and the new balance.
    pub(crate) async fn wait_for_deposit(
        &self,
        deposit: &DepositResult,
        timeout: Duration,
    ) -> Result<(Duration, U256)> {
        let started = Instant::now();
        loop {
            let now = self
                .l2_balance(deposit.recipient, deposit.asset.asset)
                .await?;
            if now > deposit.l2_balance_before {
                return Ok((deposit.sent_at.elapsed(), now));
            }
            if started.elapsed() > timeout {
                bail!(
                    "the deposit (L1 tx {}) did not show on L2 within {}s; `loft status` shows whether the node reads the L1 queue",
                    deposit.l1_tx,
                    timeout.as_secs()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Sends an L2 transaction through the signing provider (its fillers ask the node for nonce,
    /// gas and fees) and waits for the receipt.
    async fn send_l2(&self, request: TransactionRequest, what: &str) -> Result<L2TxResult> {
        let provider = self.signing()?;
        let started = Instant::now();
        let pending = provider
            .send_transaction(request)
            .await
            .map_err(|e| rpc_error(format!("sending {what} to L2"), e))?;
        let hash = *pending.tx_hash();
        let receipt = pending
            .with_timeout(Some(L2_RECEIPT_TIMEOUT))
            .get_receipt()
            .await
            .map_err(|e| match e {
                PendingTransactionError::TransportError(e) => {
                    rpc_error(format!("waiting for the receipt of {hash}"), e)
                }
                other => eyre!("waiting for the receipt of L2 transaction {hash}: {other}"),
            })?;
        Ok(l2_result(&receipt, started.elapsed()))
    }

    /// Transfers ETH or an L2 token to `to` on L2.
    pub(crate) async fn transfer(
        &self,
        asset: &AssetInfo,
        to: Address,
        amount: U256,
    ) -> Result<L2TxResult> {
        let request = match asset.asset {
            Asset::Eth => TransactionRequest::default().with_to(to).with_value(amount),
            Asset::Token { l2, .. } => TransactionRequest::default()
                .with_to(l2)
                .with_input(erc20_transfer_calldata(to, amount)),
        };
        self.send_l2(request, &format!("a transfer of {}", asset.format(amount)))
            .await
    }

    /// Withdraws ETH or a token from L2 to `l1_recipient` (default: the same address) through the
    /// L2 bridge.
    pub(crate) async fn withdraw(
        &self,
        asset: &AssetInfo,
        amount: U256,
        l1_recipient: Option<Address>,
    ) -> Result<L2TxResult> {
        let me = self.require_address()?;
        let token = match asset.asset {
            Asset::Eth => Address::ZERO,
            Asset::Token { l2, .. } => l2,
        };
        let request = TransactionRequest::default()
            .with_to(self.chain.l2_bridge)
            .with_input(
                IL2Bridge::withdrawCall {
                    token,
                    amount,
                    l1Recipient: l1_recipient.unwrap_or(me),
                }
                .abi_encode(),
            );
        self.send_l2(
            request,
            &format!("a withdrawal of {}", asset.format(amount)),
        )
        .await
    }

    /// Where a withdrawal stands: `loft_withdrawalStatus` of the L2 transaction that withdrew, or
    /// for a queue message the withdrawal part of `loft_queueMessage`.
    pub(crate) async fn withdrawal_status(
        &self,
        which: impl Into<WithdrawalRef>,
    ) -> Result<WithdrawalStatus> {
        let raw = match which.into() {
            WithdrawalRef::Tx(hash) => {
                self.l2_request("loft_withdrawalStatus", json!([hash]))
                    .await?
            }
            WithdrawalRef::Queue(index) => {
                let m = match self.queue_message(index).await {
                    Ok(m) => m,
                    // Queued on L1 but not read by the node yet: pending, not an error.
                    Err(e) => {
                        let out = self
                            .l1_call(self.chain.bridge, L1Bridge::queueLengthCall {}.abi_encode())
                            .await?;
                        let len =
                            L1Bridge::queueLengthCall::abi_decode_returns(&out).unwrap_or_default();
                        if U256::from(index) >= len {
                            return Err(e);
                        }
                        json!({
                            "status": "waiting",
                            "detail": format!("queue message {index} is on L1; the L2 node has not read it yet"),
                        })
                    }
                };
                match (m["status"].as_str(), m.get("withdrawal")) {
                    (Some("consumed"), Some(w)) => w.clone(),
                    (Some("consumed"), None) => bail!(
                        "queue message {index} was consumed in L2 block {} without a withdrawal: {}",
                        m["block"],
                        m["receipt"]["reason"]
                            .as_str()
                            .unwrap_or("it withdrew nothing")
                    ),
                    _ => json!({
                        "status": "pending-block",
                        "detail": m["detail"],
                    }),
                }
            }
        };
        serde_json::from_value(raw.clone())
            .wrap_err_with(|| format!("unexpected withdrawal status: {raw}"))
    }

    /// `loft_queueMessage`: where L1 queue message `index` stands on the L2 node.
    pub(crate) async fn queue_message(&self, index: u64) -> Result<Value> {
        self.l2_request("loft_queueMessage", json!([index])).await
    }

    /// Forces a withdrawal of the key's own L2 balance through L1 (`L1Bridge.forceWithdrawal`):
    /// it enters the L1->L2 queue, and L1 refuses any batch that leaves it unconsumed past the
    /// force-inclusion delay. No L2 node has to accept anything.
    pub(crate) async fn force_withdraw(
        &self,
        asset: &AssetInfo,
        amount: U256,
        l1_recipient: Option<Address>,
    ) -> Result<ForcedResult> {
        let me = self.require_address()?;
        let l1_token = match asset.asset {
            Asset::Eth => Address::ZERO,
            Asset::Token { l1, .. } => l1,
        };
        let call = L1Bridge::forceWithdrawalCall {
            l1Token: l1_token,
            amount,
            l1Recipient: l1_recipient.unwrap_or(me),
        };
        self.force(
            call.abi_encode(),
            &format!("forcing a withdrawal of {}", asset.format(amount)),
        )
        .await
    }

    /// Forces an L2 transaction signed by the key through L1 (`L1Bridge.forceTransaction`): the
    /// transaction in the batch encoding, executed by L2 as if sequenced, or consumed without
    /// effect when L2 refuses it (its receipt in `loft_queueMessage` says why).
    pub(crate) async fn force_transaction(
        &self,
        to: Address,
        value: U256,
        input: Vec<u8>,
        nonce: Option<u64>,
    ) -> Result<ForcedResult> {
        use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
        use alloy::network::TxSignerSync;
        use alloy::primitives::TxKind;
        let signer = self.signer.as_ref().ok_or_else(|| {
            eyre!("this command needs a key (--key, --keystore or --dev-account)")
        })?;
        let me = signer.address();
        let chain_id = self.chain.config.l2.chain_id;
        let nonce = match nonce {
            Some(n) => n,
            None => self
                .l2
                .get_transaction_count(me)
                .pending()
                .await
                .map_err(|e| rpc_error("reading the account's L2 nonce", e))?,
        };
        let mut tx = TxEip1559 {
            chain_id,
            nonce,
            // L2 gas is fixed per operation (docs/rollup.md); this covers each of them.
            gas_limit: 100_000,
            // A forced transaction pays the base fee of the batch that runs it; the operator's bid
            // may rise by then, so offer a margin over the configured base fee.
            max_fee_per_gas: u128::from(self.chain.config.l2.base_fee) * 2,
            max_priority_fee_per_gas: 0,
            to: TxKind::Call(to),
            value,
            input: input.into(),
            ..Default::default()
        };
        let sig = signer
            .sign_transaction_sync(&mut tx)
            .map_err(|e| eyre!("signing the L2 transaction: {e}"))?;
        let envelope = TxEnvelope::from(tx.into_signed(sig));
        let payload = loft_stf::encode_forced_tx(&envelope, chain_id)
            .map_err(|e| eyre!("encoding the forced transaction: {e}"))?;
        self.force(
            L1Bridge::forceTransactionCall {
                transaction: payload.into(),
            }
            .abi_encode(),
            &format!("forcing L2 transaction {}", envelope.tx_hash()),
        )
        .await
    }

    async fn force(&self, input: Vec<u8>, what: &str) -> Result<ForcedResult> {
        let bridge = self.chain.bridge;
        let l1 = self.l1().await?;
        let receipt = send_and_confirm(
            l1,
            TransactionRequest::default()
                .with_to(bridge)
                .with_input(input),
        )
        .await
        .wrap_err_with(|| what.to_string())?;
        let m = receipt
            .inner
            .logs()
            .iter()
            .filter(|log| log.address() == bridge)
            .find_map(|log| QueueMessage::from_log(log).ok())
            .ok_or_else(|| {
                eyre!(
                    "L1 transaction {} queued no message",
                    receipt.transaction_hash
                )
            })?;
        Ok(ForcedResult {
            l1_tx: receipt.transaction_hash,
            gas_used: receipt.gas_used,
            index: m.index,
            deadline: m.timestamp + self.chain.config.rollup.force_inclusion_delay_secs,
        })
    }

    /// Claims a withdrawal on L1 if it is claimable; otherwise says why not.
    pub(crate) async fn claim(&self, which: impl Into<WithdrawalRef>) -> Result<ClaimOutcome> {
        let status = self.withdrawal_status(which).await?;
        match status.status {
            WithdrawalState::Claimed => Ok(ClaimOutcome::AlreadyClaimed(status)),
            WithdrawalState::Claimable => self.send_claim(&status).await,
            _ => Ok(ClaimOutcome::NotYet(status)),
        }
    }

    /// Waits until the withdrawal is claimable (calling `progress` whenever the status changes and
    /// about every 10 s), then claims it.
    pub(crate) async fn claim_wait(
        &self,
        which: impl Into<WithdrawalRef>,
        timeout: Duration,
        mut progress: impl FnMut(&WithdrawalStatus),
    ) -> Result<ClaimOutcome> {
        let which = which.into();
        let started = Instant::now();
        let mut last: Option<(WithdrawalState, Instant)> = None;
        loop {
            let status = self.withdrawal_status(which).await?;
            match status.status {
                WithdrawalState::Claimed => return Ok(ClaimOutcome::AlreadyClaimed(status)),
                WithdrawalState::Claimable => match self.send_claim(&status).await? {
                    ClaimOutcome::NotYet(st) => progress(&st),
                    done => return Ok(done),
                },
                state => {
                    let report = match last {
                        Some((s, at)) => s != state || at.elapsed() >= Duration::from_secs(10),
                        None => true,
                    };
                    if report {
                        progress(&status);
                        last = Some((state, Instant::now()));
                    }
                }
            }
            if started.elapsed() > timeout {
                bail!(
                    "still not claimable after {}s: {}",
                    timeout.as_secs(),
                    status.detail
                );
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn send_claim(&self, status: &WithdrawalStatus) -> Result<ClaimOutcome> {
        self.require_address()?;
        let rollup = status
            .rollup
            .or(self.chain.rollup)
            .ok_or_else(|| eyre!("the L2 node names no L1 rollup contract to claim from"))?;
        let w = status
            .withdrawal
            .as_ref()
            .ok_or_else(|| eyre!("loft_withdrawalStatus gave no withdrawal to claim"))?;
        let batch = status.batch.ok_or_else(|| {
            eyre!("loft_withdrawalStatus gave no batch for a claimable withdrawal")
        })?;
        let index = status.index.ok_or_else(|| {
            eyre!("loft_withdrawalStatus gave no tree position for a claimable withdrawal")
        })?;
        let siblings: [B256; 16] = status.siblings.as_slice().try_into().map_err(|_| {
            eyre!(
                "loft_withdrawalStatus gave {} withdrawal-tree siblings, not 16",
                status.siblings.len()
            )
        })?;
        let call = IL1Rollup::claimWithdrawalCall {
            batchIndex: batch,
            w: IL1Rollup::Withdrawal {
                l2Sender: w.l2_sender,
                nonce: w.nonce,
                l1Recipient: w.l1_recipient,
                l1Token: w.l1_token,
                amount: w.amount,
            },
            index: U256::from(index),
            siblings,
        };
        let l1 = self.l1().await?;
        let receipt = match send_and_confirm(
            l1,
            TransactionRequest::default()
                .with_to(rollup)
                .with_input(call.abi_encode()),
        )
        .await
        {
            Ok(r) => r,
            Err(L1Error::Reverted { data, reason, .. }) => {
                return match IL1Rollup::IL1RollupErrors::abi_decode(&data) {
                    // Someone claimed between our status read and our transaction.
                    Ok(IL1Rollup::IL1RollupErrors::AlreadyClaimed(_)) => {
                        let mut st = status.clone();
                        st.status = WithdrawalState::Claimed;
                        st.detail = "paid out on L1 (claimed by another transaction)".into();
                        Ok(ClaimOutcome::AlreadyClaimed(st))
                    }
                    // The node's estimate of L1 time ran ahead of the block the claim landed
                    // in: not claimable yet after all.
                    Ok(IL1Rollup::IL1RollupErrors::BatchNotFinal(e)) => {
                        let mut st = status.clone();
                        st.status = WithdrawalState::ChallengePeriod;
                        st.detail = format!(
                            "batch {} is final only at L1 time {} (L1 time now {})",
                            e.index, e.finalAt, e.now_
                        );
                        Ok(ClaimOutcome::NotYet(st))
                    }
                    // An opening request on this batch or an earlier one holds finality back.
                    Ok(IL1Rollup::IL1RollupErrors::OpeningPending(e)) => {
                        let mut st = status.clone();
                        st.status = WithdrawalState::ChallengePeriod;
                        st.detail = format!(
                            "batch {} waits for an opening request on batch {} to be answered",
                            e.index, e.blockingIndex
                        );
                        Ok(ClaimOutcome::NotYet(st))
                    }
                    Ok(IL1Rollup::IL1RollupErrors::InvalidWithdrawalProof(e)) => Err(eyre!(
                        "the rollup refused the claim: the proof of leaf {} does not match batch {}'s withdrawal root",
                        e.leaf,
                        e.index
                    )),
                    Ok(IL1Rollup::IL1RollupErrors::UnknownBatch(e)) => Err(eyre!(
                        "the rollup refused the claim: batch {} is not on L1 ({} batches)",
                        e.index,
                        e.batchCount
                    )),
                    Err(_) => Err(eyre!("the rollup refused the claim: {reason}")),
                };
            }
            Err(e) => return Err(eyre::Report::new(e).wrap_err("claiming the withdrawal on L1")),
        };
        let event = receipt
            .inner
            .logs()
            .iter()
            .filter(|log| log.address() == rollup)
            .find_map(|log| IL1Rollup::WithdrawalClaimed::decode_log(&log.inner).ok());
        let (recipient, l1_token, amount) = match event {
            Some(e) => (e.l1Recipient, e.l1Token, e.amount),
            None => (w.l1_recipient, w.l1_token, w.amount),
        };
        Ok(ClaimOutcome::Claimed(ClaimReceipt {
            l1_tx: receipt.transaction_hash,
            l1_block: receipt.block_number,
            gas_used: receipt.gas_used,
            batch,
            recipient,
            l1_token,
            amount,
        }))
    }

    /// The asset of an L1 token address (zero: ETH), for showing withdrawal amounts.
    pub(crate) async fn asset_of_l1_token(&self, l1_token: Address) -> AssetInfo {
        if l1_token.is_zero() {
            return AssetInfo::eth();
        }
        let fallback = AssetInfo {
            asset: Asset::Token {
                l1: l1_token,
                l2: loft_state::l2_token_address(l1_token),
            },
            symbol: format!("units of {l1_token}"),
            decimals: 0,
        };
        self.resolve_asset(Some(&l1_token.to_string()))
            .await
            .unwrap_or(fallback)
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// `transfer(to, amount)` of an ERC-20.
pub(crate) fn erc20_transfer_calldata(to: Address, amount: U256) -> Vec<u8> {
    IErc20::transferCall { to, amount }.abi_encode()
}

fn parse_chain_info(raw: &Value) -> Result<ChainInfo> {
    let config: ChainConfig = serde_json::from_value(raw["config"].clone())
        .wrap_err("the `config` field is not a chain configuration of this loft version")?;
    let deployment = &raw["deployment"];
    let address = |v: &Value, name: &str| -> Result<Option<Address>> {
        match v.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .wrap_err_with(|| format!("field `{name}` is not an address: {v}")),
        }
    };
    let bridge = address(deployment, "bridge")?
        .ok_or_else(|| eyre!("the answer names no L1 bridge (`deployment.bridge`)"))?;
    let l2_bridge = address(raw, "l2Bridge")?.unwrap_or(loft_state::layout::L2_BRIDGE);
    Ok(ChainInfo {
        config,
        bridge,
        rollup: address(deployment, "rollup")?,
        dev_token: address(deployment, "dev_token")?,
        l2_bridge,
    })
}

fn l2_result(receipt: &TransactionReceipt, elapsed: Duration) -> L2TxResult {
    L2TxResult {
        hash: receipt.transaction_hash,
        block: receipt.block_number,
        gas_used: receipt.gas_used,
        gas_price: receipt.effective_gas_price,
        fee: U256::from(receipt.gas_used) * U256::from(receipt.effective_gas_price),
        elapsed,
    }
}

/// An RPC failure with the node's JSON-RPC error code and message when it answered with one.
pub(crate) fn rpc_error(what: impl Display, e: RpcError<TransportErrorKind>) -> eyre::Report {
    match e {
        RpcError::ErrorResp(payload) => {
            let data = payload
                .data
                .as_ref()
                .map(|d| format!(" (data {})", d.get()))
                .unwrap_or_default();
            eyre!(
                "{what}: the node answered JSON-RPC error {}: {}{data}",
                payload.code,
                payload.message
            )
        }
        other => eyre!("{what}: {other}"),
    }
}

/// Accepts a JSON number, a decimal string or a `0x` hex string.
fn de_u256<'de, D: serde::Deserializer<'de>>(d: D) -> Result<U256, D::Error> {
    use serde::de::Error;
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_u64()
            .map(U256::from)
            .ok_or_else(|| D::Error::custom(format!("not an unsigned integer: {n}"))),
        Value::String(s) => parse_u256(&s).map_err(D::Error::custom),
        other => Err(D::Error::custom(format!("not an integer: {other}"))),
    }
}

fn parse_u256(s: &str) -> Result<U256, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => U256::from_str_radix(hex, 16),
        None => U256::from_str_radix(s, 10),
    };
    parsed.map_err(|e| format!("invalid integer {s:?}: {e}"))
}

/// Parses a positive decimal amount (`1.5`) into base units.
pub(crate) fn parse_amount(amount: &str, decimals: u8) -> Result<U256> {
    let parsed = parse_units(amount.trim(), decimals).map_err(|e| {
        eyre!("invalid amount {amount:?} ({e}); write a decimal number like 1.5, with at most {decimals} decimals")
    })?;
    if parsed.is_negative() {
        bail!("the amount must be positive, not {amount}");
    }
    let value = parsed.get_absolute();
    if value.is_zero() {
        bail!("the amount must be more than zero");
    }
    Ok(value)
}

/// Formats base units as a decimal without trailing zeros: `1.5`, `100`.
pub(crate) fn format_amount(amount: U256, decimals: u8) -> String {
    let s = format_units(amount, decimals).unwrap_or_else(|_| amount.to_string());
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// `1h 2m 3s`.
fn human_secs(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m {s}s"),
        _ => format!("{h}h {m}m {s}s"),
    }
}

/// "in 1m 5s" / "now" for an L1 timestamp, against the L1's latest block time (or the wall clock
/// when L1 is not reachable).
async fn until(wallet: &Wallet, at: u64) -> String {
    let now = match wallet.l1().await {
        Ok(l1) => match l1.block(BlockNumberOrTag::Latest).await {
            Ok(Some(b)) => b.timestamp,
            _ => unix_now(),
        },
        Err(_) => unix_now(),
    };
    if at <= now {
        "now".into()
    } else {
        format!("in {}", human_secs(at - now))
    }
}

fn gwei(wei: u128) -> String {
    format!("{} gwei", format_amount(U256::from(wei), 9))
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

impl WalletArgs {
    /// Connects as the CLI flags say: `--dev-account` (from the node's devnet mnemonic) first,
    /// then `--key`, then `--keystore`; without any, read-only.
    pub(crate) async fn connect(&self) -> Result<Wallet> {
        let signer = match self.key_source() {
            Some(source) => Some(load_signer(&source).wrap_err("loading the key")?),
            None => None,
        };
        let mut wallet = Wallet::connect(&self.rpc, &self.l1_rpc, signer).await?;
        if let Some(n) = self.dev_account {
            let config = &wallet.chain().config.devnet;
            let keys = loft_l1_embedded::dev_keys(&config.mnemonic, n + 1)
                .map_err(|e| eyre!("deriving dev account {n}: {e}"))?;
            let key = keys
                .into_iter()
                .nth(n as usize)
                .ok_or_else(|| eyre!("no dev account {n}"))?;
            wallet.set_signer(key)?;
        }
        Ok(wallet)
    }
}

/// `loft deposit`.
#[derive(Debug, Clone, Args)]
pub(crate) struct DepositArgs {
    /// Amount in token units, e.g. `1.5` (ETH) or `100` (tokens, by their decimals).
    amount: String,
    /// The L1 token to deposit (an address, its L2 twin, or `dev` for the devnet token).
    /// Default: ETH.
    #[arg(long)]
    token: Option<String>,
    /// L2 account to credit. Default: the key's address.
    #[arg(long)]
    to: Option<Address>,
    /// Wait until the deposit shows on L2 and print how long it took.
    #[arg(long)]
    wait: bool,
    /// Seconds `--wait` waits at most.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    #[command(flatten)]
    conn: WalletArgs,
}

pub(crate) async fn deposit_cmd(args: DepositArgs) -> Result<()> {
    let wallet = args.conn.connect().await?;
    let asset = wallet.resolve_asset(args.token.as_deref()).await?;
    let amount = asset.parse(&args.amount)?;
    let result = match asset.asset {
        Asset::Eth => wallet.deposit_eth(amount, args.to).await?,
        Asset::Token { .. } => wallet.deposit_token(&asset, amount, args.to).await?,
    };
    if let Some((tx, gas)) = result.approval {
        println!("approved the bridge: L1 tx {tx} ({gas} gas)");
    }
    println!(
        "deposited {} to {} on L2",
        asset.format(result.amount),
        result.recipient
    );
    println!(
        "  L1 tx        {} (block {}, {} gas)",
        result.l1_tx,
        result.l1_block.map_or("?".into(), |b| b.to_string()),
        result.gas_used
    );
    match result.queue_index {
        Some(i) => println!("  queue index  {i}"),
        None => println!("  queue index  (no MessageQueued event found)"),
    }
    if args.wait {
        let (took, balance) = wallet
            .wait_for_deposit(&result, Duration::from_secs(args.timeout))
            .await?;
        println!(
            "  on L2        {:.1}s after sending ({:.1}s of it until L1 included it): balance of {} is {}",
            took.as_secs_f64(),
            result.l1_time.as_secs_f64(),
            result.recipient,
            asset.format(balance)
        );
    } else {
        println!("  the L2 node credits it once it reads the queue (`loft balance` shows it)");
    }
    Ok(())
}

/// `loft transfer`.
#[derive(Debug, Clone, Args)]
pub(crate) struct TransferArgs {
    /// L2 recipient.
    to: Address,
    /// Amount in token units, e.g. `0.25`.
    amount: String,
    /// Token to send (its L1 or L2 address, or `dev`). Default: ETH.
    #[arg(long)]
    token: Option<String>,
    #[command(flatten)]
    conn: WalletArgs,
}

pub(crate) async fn transfer_cmd(args: TransferArgs) -> Result<()> {
    let wallet = args.conn.connect().await?;
    let asset = wallet.resolve_asset(args.token.as_deref()).await?;
    let amount = asset.parse(&args.amount)?;
    let r = wallet.transfer(&asset, args.to, amount).await?;
    println!("sent {} to {} on L2", asset.format(amount), args.to);
    print_l2_tx(&r);
    Ok(())
}

fn print_l2_tx(r: &L2TxResult) {
    println!("  L2 tx   {}", r.hash);
    println!(
        "  block   {}  (receipt after {} ms)",
        r.block.map_or("?".into(), |b| b.to_string()),
        r.elapsed.as_millis()
    );
    println!(
        "  fee     {} ETH ({} gas at {})",
        format_amount(r.fee, 18),
        r.gas_used,
        gwei(r.gas_price)
    );
}

/// `loft withdraw`.
#[derive(Debug, Clone, Args)]
pub(crate) struct WithdrawArgs {
    /// Amount in token units.
    amount: String,
    /// Token to withdraw (its L1 or L2 address, or `dev`). Default: ETH.
    #[arg(long)]
    token: Option<String>,
    /// L1 account to pay. Default: the key's address.
    #[arg(long)]
    to: Option<Address>,
    #[command(flatten)]
    conn: WalletArgs,
}

pub(crate) async fn withdraw_cmd(args: WithdrawArgs) -> Result<()> {
    let wallet = args.conn.connect().await?;
    let asset = wallet.resolve_asset(args.token.as_deref()).await?;
    let amount = asset.parse(&args.amount)?;
    let r = wallet.withdraw(&asset, amount, args.to).await?;
    let recipient = args.to.or(wallet.address()).unwrap_or_default();
    println!(
        "withdrawing {} from L2 to {recipient} on L1",
        asset.format(amount)
    );
    print_l2_tx(&r);
    let rollup = &wallet.chain().config.rollup;
    match wallet.withdrawal_status(r.hash).await {
        Ok(st) => {
            println!("  status  {}", st.detail);
            if let Some(at) = st.claimable_at {
                println!("  claimable at L1 time {at} ({})", until(&wallet, at).await);
            }
        }
        Err(e) => println!("  status  unknown ({e})"),
    }
    println!(
        "next: the batcher posts it to L1 within about {}, then the challenge period lasts {}; then run\n  loft claim {} --wait   (waits until claimable, then claims)",
        human_secs(rollup.batch_interval_ms.div_ceil(1000)),
        human_secs(rollup.challenge_period_secs),
        r.hash
    );
    Ok(())
}

/// `loft claim`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ClaimArgs {
    /// Hash of the L2 withdrawal transaction.
    #[arg(
        required_unless_present = "queue_index",
        conflicts_with = "queue_index"
    )]
    tx: Option<B256>,
    /// Instead of a transaction: the L1 queue index of a forced withdrawal (`loft
    /// force-withdraw` prints it).
    #[arg(long)]
    queue_index: Option<u64>,
    /// Wait (with progress) until the withdrawal is claimable, then claim it.
    #[arg(long)]
    wait: bool,
    /// Seconds `--wait` waits at most.
    #[arg(long, default_value_t = 3600)]
    timeout: u64,
    #[command(flatten)]
    conn: WalletArgs,
}

pub(crate) async fn claim_cmd(args: ClaimArgs) -> Result<()> {
    let wallet = args.conn.connect().await?;
    wallet.require_address()?;
    let which = match (args.tx, args.queue_index) {
        (Some(tx), _) => WithdrawalRef::Tx(tx),
        (None, Some(index)) => WithdrawalRef::Queue(index),
        (None, None) => bail!("name the withdrawal: its L2 transaction hash or --queue-index N"),
    };
    let outcome = if args.wait {
        let started = Instant::now();
        wallet
            .claim_wait(which, Duration::from_secs(args.timeout), |st| {
                eprintln!(
                    "[{:>5.0}s] waiting: {}",
                    started.elapsed().as_secs_f64(),
                    st.detail
                );
            })
            .await?
    } else {
        wallet.claim(which).await?
    };
    match outcome {
        ClaimOutcome::Claimed(c) => {
            let asset = wallet.asset_of_l1_token(c.l1_token).await;
            println!(
                "claimed {} for {} on L1 (batch {})",
                asset.format(c.amount),
                c.recipient,
                c.batch
            );
            println!(
                "  L1 tx  {} (block {}, {} gas)",
                c.l1_tx,
                c.l1_block.map_or("?".into(), |b| b.to_string()),
                c.gas_used
            );
            Ok(())
        }
        ClaimOutcome::AlreadyClaimed(st) => {
            // The funds always go to the withdrawal's recipient, whoever claims: nothing is left
            // to do, so this is a success (a retried claim is idempotent).
            let what = match &st.withdrawal {
                Some(w) => format!(
                    "{} to {}",
                    wallet.asset_of_l1_token(w.l1_token).await.format(w.amount),
                    w.l1_recipient
                ),
                None => "it".into(),
            };
            println!("already claimed: {what} was paid out on L1");
            Ok(())
        }
        ClaimOutcome::NotYet(st) => {
            let when = match st.claimable_at {
                Some(at) => format!("; claimable at L1 time {at} ({})", until(&wallet, at).await),
                None => String::new(),
            };
            bail!(
                "not claimable yet ({}): {}{when}. Run `loft claim {} --wait` to wait and claim",
                state_name(st.status),
                st.detail,
                which
            )
        }
    }
}

fn state_name(s: WithdrawalState) -> &'static str {
    match s {
        WithdrawalState::PendingBlock => "pending-block",
        WithdrawalState::PendingBatch => "pending-batch",
        WithdrawalState::ChallengePeriod => "challenge-period",
        WithdrawalState::Claimable => "claimable",
        WithdrawalState::Claimed => "claimed",
        WithdrawalState::Unknown => "unknown",
    }
}

/// `loft balance`.
#[derive(Debug, Clone, Args)]
pub(crate) struct BalanceArgs {
    /// The account. Default: the key's address.
    address: Option<Address>,
    /// Also show this token (its L1 or L2 address, or `dev`).
    #[arg(long)]
    token: Option<String>,
    #[command(flatten)]
    conn: WalletArgs,
}

pub(crate) async fn balance_cmd(args: BalanceArgs) -> Result<()> {
    let wallet = args.conn.connect().await?;
    let account = args
        .address
        .or(wallet.address())
        .ok_or_else(|| eyre!("name an address, or pass a key (--key, --dev-account)"))?;
    let token = match &args.token {
        Some(t) => Some(wallet.resolve_asset(Some(t)).await?),
        None => None,
    };
    let b = wallet.balance(account, token.as_ref()).await?;
    let eth = AssetInfo::eth();
    let l1 =
        |v: Option<U256>, a: &AssetInfo| v.map_or("(L1 unreachable)".to_string(), |v| a.format(v));
    println!("{}", b.account);
    println!("  {:<10} {:>30}   {:>30}", "", "L2", "L1");
    println!(
        "  {:<10} {:>30}   {:>30}",
        "ETH",
        eth.format(b.l2_eth),
        l1(b.l1_eth, &eth)
    );
    if let Some((asset, l2, l1v)) = &b.token {
        println!(
            "  {:<10} {:>30}   {:>30}",
            asset.symbol,
            asset.format(*l2),
            l1(*l1v, asset)
        );
        if let Asset::Token { l1, l2 } = asset.asset {
            println!("  ({} on L1 is {} on L2)", l1, l2);
        }
    }
    Ok(())
}

/// `loft status`.
#[derive(Debug, Clone, Args)]
pub(crate) struct StatusArgs {
    /// An L2 transaction hash. Without it, the chain's status.
    tx: Option<B256>,
    #[command(flatten)]
    conn: WalletArgs,
}

fn field_u64(v: &Value, name: &str) -> Option<u64> {
    match v.get(name)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => parse_u256(s).ok().and_then(|u| u.try_into().ok()),
        _ => None,
    }
}

fn field_str(v: &Value, name: &str) -> String {
    match v.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "?".into(),
        Some(other) => other.to_string(),
    }
}

pub(crate) async fn status_cmd(args: StatusArgs) -> Result<()> {
    let wallet = args.conn.connect().await?;
    let Some(hash) = args.tx else {
        return chain_status(&wallet).await;
    };
    let st = wallet
        .l2_request("loft_transactionStatus", json!([hash]))
        .await?;
    println!("{hash}: {}", field_str(&st, "status"));
    println!("  {}", field_str(&st, "detail"));
    if let Some(b) = field_u64(&st, "block") {
        println!("  L2 block        {b}");
    }
    if let Some(b) = field_u64(&st, "batch") {
        println!("  batch           {b}");
    }
    if st.get("l1Transaction").is_some_and(|v| !v.is_null()) {
        println!("  L1 transaction  {}", field_str(&st, "l1Transaction"));
    }
    if let Some(at) = field_u64(&st, "finalAt") {
        println!(
            "  final at        L1 time {at} ({})",
            until(&wallet, at).await
        );
    }
    // A withdrawal also has a claim status.
    if let Ok(w) = wallet.withdrawal_status(hash).await {
        println!("  withdrawal      {}: {}", state_name(w.status), w.detail);
        if let Some(info) = &w.withdrawal {
            let asset = wallet.asset_of_l1_token(info.l1_token).await;
            println!(
                "                  {} to {} on L1",
                asset.format(info.amount),
                info.l1_recipient
            );
        }
    }
    Ok(())
}

async fn chain_status(wallet: &Wallet) -> Result<()> {
    let head = wallet
        .l2
        .get_block_number()
        .await
        .map_err(|e| rpc_error("eth_blockNumber on L2", e))?;
    let chain = wallet.chain();
    println!(
        "chain {} (L2 chain id {}, L1 chain id {})",
        chain.config.name, chain.config.l2.chain_id, chain.config.l1.chain_id
    );
    println!("  L2 head     block {head}");
    match wallet.l2_request("loft_getBatch", json!([])).await {
        Ok(b) => {
            let index = field_u64(&b, "index").unwrap_or_default();
            let finality = if b.get("final").and_then(Value::as_bool) == Some(true) {
                "final".to_string()
            } else {
                match field_u64(&b, "final_at") {
                    Some(at) => format!("challenge period, final {}", until(wallet, at).await),
                    None => "not final".into(),
                }
            };
            println!(
                "  last batch  #{index}: L2 blocks {}..={}, {finality}",
                field_str(&b, "first_block"),
                field_str(&b, "last_block")
            );
        }
        Err(e) => println!("  last batch  none ({e})"),
    }
    let q = wallet.l2_request("loft_queueStatus", json!([])).await?;
    println!(
        "  L1->L2 queue  read {}, consumed {}, waiting {} (read up to L1 block {})",
        field_str(&q, "read"),
        field_str(&q, "consumed"),
        field_str(&q, "waiting"),
        field_str(&q, "l1Block")
    );
    println!(
        "  contracts   L1Bridge {}, L1Rollup {}, L2 bridge {}",
        chain.bridge,
        chain.rollup.map_or("?".into(), |a| a.to_string()),
        chain.l2_bridge
    );
    Ok(())
}

/// `loft batch`.
#[derive(Debug, Clone, Args)]
pub(crate) struct BatchArgs {
    /// Batch index. Default: the latest batch.
    index: Option<u64>,
    #[command(flatten)]
    conn: WalletArgs,
}

pub(crate) async fn batch_cmd(args: BatchArgs) -> Result<()> {
    let wallet = args.conn.connect().await?;
    let params = match args.index {
        Some(i) => json!([i]),
        None => json!([]),
    };
    let b = wallet.l2_request("loft_getBatch", params).await?;
    print_batch(&wallet, &b).await;
    Ok(())
}

async fn print_batch(wallet: &Wallet, b: &Value) {
    let index = field_u64(b, "index").unwrap_or_default();
    let finality = if b.get("final").and_then(Value::as_bool) == Some(true) {
        format!("final since L1 time {}", field_str(b, "final_at"))
    } else {
        match field_u64(b, "final_at") {
            Some(at) => format!(
                "in its challenge period until L1 time {at} ({})",
                until(wallet, at).await
            ),
            None => "not final".into(),
        }
    };
    println!("batch {index}: {finality}");
    let (first, last) = (field_u64(b, "first_block"), field_u64(b, "last_block"));
    let blocks = match (first, last) {
        (Some(f), Some(l)) => {
            let n = l.saturating_sub(f) + 1;
            format!("{f}..={l} ({n} block{})", if n == 1 { "" } else { "s" })
        }
        _ => "?".into(),
    };
    println!("  L2 blocks        {blocks}");
    println!(
        "  contents         {} transactions, {} steps, queue end {}",
        field_str(b, "transactions"),
        field_str(b, "step_count"),
        field_str(b, "queue_end")
    );
    println!("  state root       {}", field_str(b, "state_root"));
    println!("  withdrawal root  {}", field_str(b, "withdrawal_root"));
    match field_u64(b, "data_len") {
        Some(d) if d > 0 => println!("  data             {d} bytes on L1 (batch data v1)"),
        _ => println!("  data             {} bytes", field_str(b, "data_len")),
    }
    println!(
        "  L1               tx {} in block {}, {} gas, posted at L1 time {}",
        field_str(b, "l1_tx"),
        field_str(b, "l1_block"),
        field_str(b, "l1_gas_used"),
        field_str(b, "posted_at")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_in_token_units() {
        assert_eq!(
            parse_amount("1.5", 18).unwrap(),
            U256::from(1_500_000_000_000_000_000u128)
        );
        assert_eq!(parse_amount("100", 6).unwrap(), U256::from(100_000_000u64));
        assert!(parse_amount("0", 18).is_err());
        assert!(parse_amount("-1", 18).is_err());
        assert!(parse_amount("1.5x", 18).is_err());
        assert!(parse_amount("0.0000001", 6).is_err(), "too many decimals");
    }

    #[test]
    fn amounts_format_without_trailing_zeros() {
        assert_eq!(
            format_amount(U256::from(1_500_000_000_000_000_000u128), 18),
            "1.5"
        );
        assert_eq!(format_amount(U256::from(100_000_000u64), 6), "100");
        assert_eq!(format_amount(U256::ZERO, 18), "0");
        assert_eq!(format_amount(U256::from(7u64), 0), "7");
    }

    #[test]
    fn withdrawal_status_parses_the_node_answer() {
        let raw = json!({
            "status": "challenge-period",
            "detail": "batch 3 is in its challenge period",
            "batch": 3,
            "claimableAt": 1_700_000_000u64,
            "withdrawal": {
                "l2Sender": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                "nonce": 4,
                "l1Recipient": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
                "l1Token": "0x0000000000000000000000000000000000000000",
                "amount": "0xde0b6b3a7640000"
            },
            "leaf": "0x0000000000000000000000000000000000000000000000000000000000000001",
            "index": 0,
            "siblings": [],
            "rollup": "0x5fbdb2315678afecb367f032d93f642f64180aa3"
        });
        let st: WithdrawalStatus = serde_json::from_value(raw).unwrap();
        assert_eq!(st.status, WithdrawalState::ChallengePeriod);
        let w = st.withdrawal.unwrap();
        assert_eq!(w.nonce, U256::from(4u64));
        assert_eq!(w.amount, U256::from(10u64).pow(U256::from(18u64)));
        let pending: WithdrawalStatus =
            serde_json::from_value(json!({"status": "pending-block", "detail": "x"})).unwrap();
        assert_eq!(pending.status, WithdrawalState::PendingBlock);
        let odd: WithdrawalStatus = serde_json::from_value(json!({"status": "new-thing"})).unwrap();
        assert_eq!(odd.status, WithdrawalState::Unknown);
    }

    #[test]
    fn chain_info_reads_the_deployment() {
        let config = ChainConfig::preset("devnet").unwrap();
        let raw = json!({
            "config": config,
            "deployment": {
                "l1_chain_id": 31337,
                "bridge": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
                "bridge_block": 1,
                "dev_token": null,
                "rollup": "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"
            },
            "l2Bridge": "0x4c6f667400000000000000000000000000000001"
        });
        let info = parse_chain_info(&raw).unwrap();
        assert_eq!(info.config, config);
        assert!(info.rollup.is_some());
        assert!(info.dev_token.is_none());
        assert_eq!(info.l2_bridge, loft_state::layout::L2_BRIDGE);
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human_secs(5), "5s");
        assert_eq!(human_secs(65), "1m 5s");
        assert_eq!(human_secs(3725), "1h 2m 5s");
    }
}
