//! loft's L1 contracts from Rust: `sol!` bindings generated from the committed forge artifacts in
//! `contracts/artifacts/` (so building needs neither Node nor solc), the L1->L2 message queue as the
//! node reads it, and deployment through any [`L1Client`].

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolConstructor, SolEvent, SolType, SolValue, sol_data};
use loft_l1::{Filter, L1Client, L1Error, Log};

#[allow(missing_docs, unreachable_pub, clippy::too_many_arguments)]
mod bindings {
    alloy::sol!(
        #[derive(Debug, PartialEq, Eq)]
        L1Bridge,
        "../../contracts/artifacts/L1Bridge.json"
    );
    alloy::sol!(
        #[derive(Debug, PartialEq, Eq)]
        DevToken,
        "../../contracts/artifacts/DevToken.json"
    );
}

pub use bindings::{DevToken, L1Bridge};

/// Message kind of a deposit in the L1->L2 queue.
pub const KIND_DEPOSIT: u8 = 0;

/// Errors of deployment and queue reading.
#[derive(Debug, thiserror::Error)]
pub enum ContractsError {
    /// The L1 refused or failed a request.
    #[error(transparent)]
    L1(#[from] L1Error),
    /// The deployer cannot pay for the deployment.
    #[error(
        "deployer {account} has {balance} wei on L1 but the deployment needs about {needed} wei: fund the key or use another one"
    )]
    Unfunded {
        /// Deployer address.
        account: Address,
        /// Its balance.
        balance: U256,
        /// Estimated cost.
        needed: U256,
    },
    /// A deployment transaction was mined but did not create the contract.
    #[error("deploying {contract} failed in transaction {tx}: {reason}")]
    DeployFailed {
        /// Which contract.
        contract: &'static str,
        /// The transaction.
        tx: B256,
        /// What went wrong.
        reason: String,
    },
    /// A queue log that does not decode (not emitted by a loft bridge).
    #[error("malformed MessageQueued log in transaction {tx:?}: {reason}")]
    MalformedLog {
        /// The transaction that emitted it.
        tx: Option<B256>,
        /// Decoder message.
        reason: String,
    },
}

/// One message of the L1->L2 queue, as emitted by `MessageQueued`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// 0-based position in the queue.
    pub index: u64,
    /// Message kind ([`KIND_DEPOSIT`], ...).
    pub kind: u8,
    /// The L1 account that caused it.
    pub sender: Address,
    /// Queue head after this message.
    pub head: B256,
    /// L1 block that queued it.
    pub l1_block_number: u64,
    /// Timestamp of that block.
    pub timestamp: u64,
    /// Kind-specific payload.
    pub payload: Bytes,
}

impl QueueMessage {
    /// The queue head after this message, given the head before it: the same hash the contract
    /// computes (`docs/l1-contracts.md`).
    pub fn chain_head(&self, previous: B256) -> B256 {
        type Encoded = (
            sol_data::FixedBytes<32>,
            sol_data::Uint<256>,
            sol_data::Uint<8>,
            sol_data::Address,
            sol_data::Uint<64>,
            sol_data::Uint<64>,
            sol_data::FixedBytes<32>,
        );
        let encoded = Encoded::abi_encode(&(
            previous,
            U256::from(self.index),
            self.kind,
            self.sender,
            self.l1_block_number,
            self.timestamp,
            keccak256(&self.payload),
        ));
        keccak256(encoded)
    }

    /// Decodes a `MessageQueued` log.
    pub fn from_log(log: &Log) -> Result<Self, ContractsError> {
        let malformed = |reason: String| ContractsError::MalformedLog {
            tx: log.transaction_hash,
            reason,
        };
        let event = L1Bridge::MessageQueued::decode_log(&log.inner)
            .map_err(|e| malformed(e.to_string()))?;
        Ok(Self {
            index: event
                .index
                .try_into()
                .map_err(|_| malformed("index exceeds 64 bits".into()))?,
            kind: event.kind,
            sender: event.sender,
            head: event.head,
            l1_block_number: event.l1BlockNumber,
            timestamp: event.timestamp,
            payload: event.payload.clone(),
        })
    }

    /// The deposit this message carries, if it is one.
    pub fn deposit(&self) -> Option<Deposit> {
        if self.kind != KIND_DEPOSIT {
            return None;
        }
        let (token, from, to, amount) =
            <(Address, Address, Address, U256)>::abi_decode(&self.payload).ok()?;
        Some(Deposit {
            token,
            from,
            to,
            amount,
        })
    }
}

/// A deposit message's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deposit {
    /// L1 token, zero for ETH.
    pub token: Address,
    /// L1 depositor.
    pub from: Address,
    /// L2 recipient.
    pub to: Address,
    /// Amount actually received by the bridge.
    pub amount: U256,
}

/// Reads the queue messages emitted by `bridge` in a block range, in queue order.
pub async fn read_queue(
    l1: &(impl L1Client + ?Sized),
    bridge: Address,
    from_block: u64,
    to_block: u64,
) -> Result<Vec<QueueMessage>, ContractsError> {
    let filter = Filter::new()
        .address(bridge)
        .event_signature(L1Bridge::MessageQueued::SIGNATURE_HASH)
        .from_block(from_block)
        .to_block(to_block);
    let mut messages = l1
        .logs(&filter)
        .await?
        .iter()
        .map(QueueMessage::from_log)
        .collect::<Result<Vec<_>, _>>()?;
    messages.sort_by_key(|m| m.index);
    Ok(messages)
}

/// Reads a view function of the bridge.
pub async fn bridge_call<C: SolCall>(
    l1: &(impl L1Client + ?Sized),
    bridge: Address,
    call: C,
) -> Result<C::Return, ContractsError> {
    let out = l1
        .call(
            TransactionRequest::default()
                .to(bridge)
                .input(call.abi_encode().into()),
        )
        .await?;
    C::abi_decode_returns(&out)
        .map_err(|e| ContractsError::L1(L1Error::Rpc(format!("decoding return data: {e}"))))
}

/// Addresses of a deployment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Deployment {
    /// L1 chain id.
    pub l1_chain_id: u64,
    /// The bridge (and L1->L2 queue).
    pub bridge: Address,
    /// L1 block of the bridge's deployment: the queue starts there.
    pub bridge_block: u64,
    /// A mintable test ERC-20, deployed on development chains only.
    pub dev_token: Option<Address>,
}

/// What to deploy.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeployOptions {
    /// Also deploy a freely mintable ERC-20 for demos and tests.
    pub dev_token: bool,
}

async fn create(
    l1: &(impl L1Client + ?Sized),
    contract: &'static str,
    code: Bytes,
) -> Result<(Address, u64), ContractsError> {
    let receipt = l1
        .send_transaction(
            TransactionRequest::default()
                .into_create()
                .input(code.into()),
        )
        .await?;
    let tx = receipt.transaction_hash;
    let address = match (receipt.status(), receipt.contract_address) {
        (true, Some(a)) => a,
        (false, _) => {
            return Err(ContractsError::DeployFailed {
                contract,
                tx,
                reason: "the creation reverted".into(),
            });
        }
        (true, None) => {
            return Err(ContractsError::DeployFailed {
                contract,
                tx,
                reason: "the receipt names no contract address".into(),
            });
        }
    };
    if l1.code(address).await?.is_empty() {
        return Err(ContractsError::DeployFailed {
            contract,
            tx,
            reason: format!("no code at {address} after deployment"),
        });
    }
    tracing::info!(target: "loft::contracts", contract, %address, %tx, gas = receipt.gas_used, "deployed");
    Ok((address, receipt.block_number.unwrap_or_default()))
}

/// Deploys loft's L1 contracts with the client's key. Checks first that the key can pay for
/// everything, so an unfunded key deploys nothing; returns only when every contract has code.
pub async fn deploy(
    l1: &(impl L1Client + ?Sized),
    options: DeployOptions,
) -> Result<Deployment, ContractsError> {
    let l1_chain_id = l1.chain_id().await?;
    let deployer = l1.sender();
    let bridge_code = L1Bridge::BYTECODE.clone();
    let token_code: Bytes = [
        DevToken::BYTECODE.as_ref(),
        &DevToken::constructorCall {
            name: "Loft Dev Token".into(),
            symbol: "LDT".into(),
            decimals_: 18,
        }
        .abi_encode(),
    ]
    .concat()
    .into();

    // Budget: the gas estimate of the bridge, plus the token, at twice the current base fee plus tip.
    let balance = l1.balance(deployer).await?;
    let base_fee = l1
        .block(loft_l1::BlockNumberOrTag::Latest)
        .await?
        .and_then(|b| b.base_fee_per_gas)
        .unwrap_or(1_000_000_000);
    let mut gas = 0u64;
    for code in std::iter::once(&bridge_code).chain(options.dev_token.then_some(&token_code)) {
        let request = TransactionRequest::default()
            .from(deployer)
            .into_create()
            .input(code.clone().into());
        gas += match l1.estimate_gas(request).await {
            Ok(g) => g,
            // Nodes refuse to estimate for an account that cannot pay; that is our answer too.
            Err(L1Error::InsufficientFunds { .. }) => 3_000_000,
            Err(e) => return Err(e.into()),
        };
    }
    let needed = U256::from(gas) * U256::from(2 * base_fee as u128 + 1_000_000_000);
    if balance < needed {
        return Err(ContractsError::Unfunded {
            account: deployer,
            balance,
            needed,
        });
    }

    let (bridge, bridge_block) = create(l1, "L1Bridge", bridge_code).await?;
    let dev_token = if options.dev_token {
        Some(create(l1, "DevToken", token_code).await?.0)
    } else {
        None
    };
    Ok(Deployment {
        l1_chain_id,
        bridge,
        bridge_block,
        dev_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifacts_carry_bytecode() {
        assert!(L1Bridge::BYTECODE.len() > 100);
        assert!(DevToken::DEPLOYED_BYTECODE.len() > 100);
    }

    #[test]
    fn deposit_payload_round_trips() {
        let d = Deposit {
            token: Address::repeat_byte(1),
            from: Address::repeat_byte(2),
            to: Address::repeat_byte(3),
            amount: U256::from(7),
        };
        let msg = QueueMessage {
            index: 0,
            kind: KIND_DEPOSIT,
            sender: d.from,
            head: B256::ZERO,
            l1_block_number: 1,
            timestamp: 2,
            payload: (d.token, d.from, d.to, d.amount).abi_encode().into(),
        };
        assert_eq!(msg.deposit(), Some(d));
        let other = QueueMessage { kind: 9, ..msg };
        assert_eq!(other.deposit(), None);
    }
}
