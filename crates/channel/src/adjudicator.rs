//! The L1 adjudicator (`contracts/src/channels/Adjudicator.sol`) from Rust: `sol!` bindings from
//! the committed forge artifact, deployment, the channel calls, and its events.

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::sol_types::{SolCall, SolConstructor, SolEvent, SolInterface};
use loft_l1::{Filter, L1Client, L1Error, send_and_confirm};

use crate::state::SignedState;

#[allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]
mod bindings {
    alloy::sol!(
        #[derive(Debug, PartialEq, Eq)]
        Adjudicator,
        "../../contracts/artifacts/Adjudicator.json"
    );
    alloy::sol! {
        #[derive(Debug, PartialEq, Eq)]
        interface Erc20 {
            function approve(address spender, uint256 amount) external returns (bool);
            function balanceOf(address account) external view returns (uint256);
        }
    }
}

pub use bindings::{Adjudicator, Erc20};

/// Errors of adjudicator calls.
#[derive(Debug, thiserror::Error)]
pub enum AdjudicatorError {
    /// The L1 call or transaction failed; a revert is named by the contract's error.
    #[error("{}", describe(.0))]
    L1(#[from] L1Error),
    /// The contract answered something that does not decode.
    #[error("unexpected answer from the adjudicator: {0}")]
    Decode(String),
}

/// An L1 error with the adjudicator's custom revert decoded (e.g. `StaleState(3, 2)`).
fn describe(e: &L1Error) -> String {
    if let L1Error::Reverted { data, tx_hash, .. } = e
        && let Ok(err) = Adjudicator::AdjudicatorErrors::abi_decode(data)
    {
        let at = tx_hash
            .map(|h| format!(" in transaction {h}"))
            .unwrap_or_default();
        return format!("the adjudicator refused{at}: {err:?}");
    }
    e.to_string()
}

impl AdjudicatorError {
    /// The adjudicator's revert, when that is what happened.
    pub fn revert(&self) -> Option<Adjudicator::AdjudicatorErrors> {
        match self {
            Self::L1(L1Error::Reverted { data, .. }) => {
                Adjudicator::AdjudicatorErrors::abi_decode(data).ok()
            }
            _ => None,
        }
    }
}

/// Result of adjudicator calls.
pub type Result<T> = std::result::Result<T, AdjudicatorError>;

/// A channel's status on L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnChainStatus {
    /// No such channel.
    None,
    /// Open.
    Open,
    /// A unilateral close waits for its dispute window.
    Closing,
    /// Paid out.
    Closed,
}

/// The adjudicator's record of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnChainChannel {
    /// Opener.
    pub a: Address,
    /// Other party.
    pub b: Address,
    /// Token (`Address::ZERO` for ETH).
    pub token: Address,
    /// Status.
    pub status: OnChainStatus,
    /// Cumulative deposits of A.
    pub deposited_a: U256,
    /// Cumulative deposits of B.
    pub deposited_b: U256,
    /// Version recorded by a close or challenge.
    pub version: u64,
    /// End of the dispute window.
    pub closes_at: u64,
    /// Who closed unilaterally.
    pub closer: Address,
    /// Whether a newer state replaced the closer's.
    pub challenged: bool,
}

/// The adjudicator at an address, used through one L1 client (whose account sends).
#[derive(Debug, Clone, Copy)]
pub struct AdjudicatorAt {
    /// Its address.
    pub address: Address,
}

/// Deploys an adjudicator with a dispute window (seconds) and a penalty share (basis points).
pub async fn deploy(
    l1: &(impl L1Client + ?Sized),
    dispute_window_secs: u64,
    penalty_bps: u16,
) -> Result<Address> {
    let code: Bytes = [
        Adjudicator::BYTECODE.as_ref(),
        &Adjudicator::constructorCall {
            disputeWindow_: dispute_window_secs,
            penaltyBps_: penalty_bps,
        }
        .abi_encode(),
    ]
    .concat()
    .into();
    let receipt =
        send_and_confirm(l1, TransactionRequest::default().with_deploy_code(code)).await?;
    receipt.contract_address.ok_or_else(|| {
        AdjudicatorError::Decode("deployment receipt without a contract address".into())
    })
}

impl AdjudicatorAt {
    async fn view<C: SolCall>(&self, l1: &(impl L1Client + ?Sized), call: C) -> Result<C::Return> {
        let out = l1
            .call(
                TransactionRequest::default()
                    .to(self.address)
                    .input(call.abi_encode().into()),
            )
            .await?;
        C::abi_decode_returns(&out).map_err(|e| AdjudicatorError::Decode(e.to_string()))
    }

    async fn send<C: SolCall>(
        &self,
        l1: &(impl L1Client + ?Sized),
        call: C,
        value: U256,
    ) -> Result<TransactionReceipt> {
        let request = TransactionRequest::default()
            .to(self.address)
            .value(value)
            .input(call.abi_encode().into());
        Ok(send_and_confirm(l1, request).await?)
    }

    /// The dispute window (seconds) and penalty (basis points) the contract was deployed with.
    pub async fn parameters(&self, l1: &(impl L1Client + ?Sized)) -> Result<(u64, u16)> {
        let window = self.view(l1, Adjudicator::disputeWindowCall {}).await?;
        let penalty = self.view(l1, Adjudicator::penaltyBpsCall {}).await?;
        Ok((window, penalty))
    }

    /// Opens a channel from the sender (A) to `b` with A's deposit (approving an ERC-20 first).
    /// Returns the channel id and the receipts (approval, open).
    pub async fn open(
        &self,
        l1: &(impl L1Client + ?Sized),
        b: Address,
        token: Address,
        amount: U256,
    ) -> Result<(B256, Vec<TransactionReceipt>)> {
        let mut receipts = Vec::new();
        let value = if token.is_zero() {
            amount
        } else {
            if !amount.is_zero() {
                receipts.push(approve(l1, token, self.address, amount).await?);
            }
            U256::ZERO
        };
        let receipt = self
            .send(
                l1,
                Adjudicator::openCall {
                    b,
                    token,
                    amountA: amount,
                },
                value,
            )
            .await?;
        let id = receipt
            .inner
            .logs()
            .iter()
            .filter(|l| l.address() == self.address)
            .find_map(|l| Adjudicator::ChannelOpened::decode_log(&l.inner).ok())
            .map(|e| e.channelId)
            .ok_or_else(|| AdjudicatorError::Decode("open without a ChannelOpened event".into()))?;
        receipts.push(receipt);
        Ok((id, receipts))
    }

    /// Adds the sender's deposit to an open channel (approving an ERC-20 first).
    pub async fn fund(
        &self,
        l1: &(impl L1Client + ?Sized),
        id: B256,
        token: Address,
        amount: U256,
    ) -> Result<Vec<TransactionReceipt>> {
        let mut receipts = Vec::new();
        let value = if token.is_zero() {
            amount
        } else {
            receipts.push(approve(l1, token, self.address, amount).await?);
            U256::ZERO
        };
        receipts.push(
            self.send(
                l1,
                Adjudicator::fundCall {
                    channelId: id,
                    amount,
                },
                value,
            )
            .await?,
        );
        Ok(receipts)
    }

    /// Closes at once with a final state both signed.
    pub async fn cooperative_close(
        &self,
        l1: &(impl L1Client + ?Sized),
        s: &SignedState,
    ) -> Result<TransactionReceipt> {
        let call = Adjudicator::cooperativeCloseCall {
            s: s.state.to_sol(),
            sigA: s.sig_a.clone().into(),
            sigB: s.sig_b.clone().into(),
        };
        self.send(l1, call, U256::ZERO).await
    }

    /// Starts a unilateral close with `s` (the dispute window begins).
    pub async fn force_close(
        &self,
        l1: &(impl L1Client + ?Sized),
        s: &SignedState,
    ) -> Result<TransactionReceipt> {
        let call = Adjudicator::forceCloseCall {
            s: s.state.to_sol(),
            sigA: s.sig_a.clone().into(),
            sigB: s.sig_b.clone().into(),
        };
        self.send(l1, call, U256::ZERO).await
    }

    /// Answers a pending close with the newer state `s`.
    pub async fn challenge(
        &self,
        l1: &(impl L1Client + ?Sized),
        s: &SignedState,
    ) -> Result<TransactionReceipt> {
        let call = Adjudicator::challengeCall {
            s: s.state.to_sol(),
            sigA: s.sig_a.clone().into(),
            sigB: s.sig_b.clone().into(),
        };
        self.send(l1, call, U256::ZERO).await
    }

    /// Pays out a channel whose dispute window is over.
    pub async fn settle(
        &self,
        l1: &(impl L1Client + ?Sized),
        id: B256,
    ) -> Result<TransactionReceipt> {
        self.send(l1, Adjudicator::settleCall { channelId: id }, U256::ZERO)
            .await
    }

    /// The contract's record of a channel.
    pub async fn channel(&self, l1: &(impl L1Client + ?Sized), id: B256) -> Result<OnChainChannel> {
        let c = self
            .view(l1, Adjudicator::channelCall { channelId: id })
            .await?;
        let status = match c.status {
            0 => OnChainStatus::None,
            1 => OnChainStatus::Open,
            2 => OnChainStatus::Closing,
            3 => OnChainStatus::Closed,
            other => return Err(AdjudicatorError::Decode(format!("channel status {other}"))),
        };
        Ok(OnChainChannel {
            a: c.a,
            b: c.b,
            token: c.token,
            status,
            deposited_a: c.depositedA,
            deposited_b: c.depositedB,
            version: c.version,
            closes_at: c.closesAt,
            closer: c.closer,
            challenged: c.challenged,
        })
    }

    /// The contract's EIP-712 digest of a state (for differential tests against Rust's).
    pub async fn hash_state(
        &self,
        l1: &(impl L1Client + ?Sized),
        s: &crate::state::ChannelState,
    ) -> Result<B256> {
        self.view(l1, Adjudicator::hashStateCall { s: s.to_sol() })
            .await
    }

    /// The adjudicator's events in a block range, in order.
    pub async fn events(
        &self,
        l1: &(impl L1Client + ?Sized),
        from: u64,
        to: u64,
    ) -> Result<Vec<ChannelEvent>> {
        let filter = Filter::new()
            .address(self.address)
            .from_block(from)
            .to_block(to);
        let logs = l1.logs(&filter).await?;
        let mut out = Vec::new();
        for log in logs {
            let block = log.block_number.unwrap_or_default();
            let tx = log.transaction_hash.unwrap_or_default();
            let event = if let Ok(e) = Adjudicator::ChannelClosing::decode_log(&log.inner) {
                ChannelEventKind::Closing {
                    closer: e.closer,
                    version: e.version,
                    closes_at: e.closesAt,
                }
            } else if let Ok(e) = Adjudicator::ChannelChallenged::decode_log(&log.inner) {
                ChannelEventKind::Challenged {
                    by: e.by,
                    version: e.version,
                }
            } else if let Ok(e) = Adjudicator::ChannelSettled::decode_log(&log.inner) {
                ChannelEventKind::Settled {
                    payout_a: e.payoutA,
                    payout_b: e.payoutB,
                    penalty: e.penalty,
                }
            } else if let Ok(e) = Adjudicator::ChannelFunded::decode_log(&log.inner) {
                ChannelEventKind::Funded {
                    deposited_a: e.depositedA,
                    deposited_b: e.depositedB,
                }
            } else if let Ok(e) = Adjudicator::ChannelOpened::decode_log(&log.inner) {
                ChannelEventKind::Opened {
                    a: e.a,
                    b: e.b,
                    token: e.token,
                    amount_a: e.amountA,
                }
            } else {
                continue;
            };
            let channel = log.topics().get(1).copied().unwrap_or_default();
            out.push(ChannelEvent {
                channel,
                block,
                tx,
                kind: event,
            });
        }
        Ok(out)
    }
}

/// Approves `spender` for `amount` of `token` from the sender.
pub async fn approve(
    l1: &(impl L1Client + ?Sized),
    token: Address,
    spender: Address,
    amount: U256,
) -> Result<TransactionReceipt> {
    let request = TransactionRequest::default()
        .to(token)
        .input(Erc20::approveCall { spender, amount }.abi_encode().into());
    Ok(send_and_confirm(l1, request).await?)
}

/// One adjudicator event about a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelEvent {
    /// The channel.
    pub channel: B256,
    /// L1 block.
    pub block: u64,
    /// L1 transaction.
    pub tx: B256,
    /// What happened.
    pub kind: ChannelEventKind,
}

/// What an adjudicator event says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelEventKind {
    /// `ChannelOpened`.
    Opened {
        /// Opener.
        a: Address,
        /// Other party.
        b: Address,
        /// Token.
        token: Address,
        /// A's deposit.
        amount_a: U256,
    },
    /// `ChannelFunded`: the new deposit totals.
    Funded {
        /// A's deposits.
        deposited_a: U256,
        /// B's deposits.
        deposited_b: U256,
    },
    /// `ChannelClosing`: a unilateral close.
    Closing {
        /// Who closed.
        closer: Address,
        /// The version it closed with.
        version: u64,
        /// End of the dispute window.
        closes_at: u64,
    },
    /// `ChannelChallenged`: a newer state replaced the recorded one.
    Challenged {
        /// Who answered.
        by: Address,
        /// The newer version.
        version: u64,
    },
    /// `ChannelSettled`: paid out.
    Settled {
        /// To A.
        payout_a: U256,
        /// To B.
        payout_b: U256,
        /// Moved from the stale closer to the other party.
        penalty: U256,
    },
}
