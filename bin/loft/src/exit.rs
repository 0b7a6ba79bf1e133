//! `loft exit`: the escape hatch (`docs/escape-hatch.md`). With only an L1 RPC URL, the deployment
//! file and the user's key: syncs a verifier from L1 alone in a temporary directory, takes the state
//! at the rollup's last final state root, proves the user's leaf, freezes the rollup if it may be
//! frozen and is not yet, exits, and refunds every deposit of the user that no final batch
//! consumed (`L1Bridge.refundDeposit`).

use std::path::PathBuf;
use std::sync::Arc;

use alloy::primitives::{Address, B256, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolInterface};
use clap::Args;
use eyre::{Result, WrapErr, bail, eyre};
use loft_contracts::Deployment;
use loft_derive::Verifier;
use loft_l1::{L1Client, L1Error, send_and_confirm};
use loft_l1_rpc::{KeySource, RpcL1, RpcL1Config, load_signer};
use loft_state::{Account, account_key, l2_token_address, layout, token_balance_key};
use loft_stf::ChainParams;
use serde::Serialize;

use loft_contracts::{L1Rollup, SparseMerkle, StepVerifier};

/// `loft exit`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ExitArgs {
    /// L1 JSON-RPC URL.
    #[arg(long)]
    l1_rpc: String,
    /// The deployment file (JSON, as `loft devnet` / `loft node` write it).
    #[arg(long)]
    deployment: PathBuf,
    /// The account's private key (hex); the same address on L1 and L2.
    #[arg(long, conflicts_with = "dev_account")]
    key: Option<String>,
    /// Use dev account N of the devnet mnemonic instead of a key.
    #[arg(long)]
    dev_account: Option<u32>,
    /// The L1 token to exit (default: ETH).
    #[arg(long)]
    token: Option<Address>,
}

async fn view<C: SolCall>(l1: &dyn L1Client, to: Address, call: C) -> Result<C::Return> {
    loft_contracts::view_call(l1, to, call)
        .await
        .wrap_err_with(|| format!("calling {} on {to}", C::SIGNATURE))
}

/// A rollup revert in words, when it is one of the escape hatch's errors.
fn explain(e: &L1Error) -> Option<String> {
    let L1Error::Reverted { data, .. } = e else {
        return None;
    };
    let err = L1Rollup::L1RollupErrors::abi_decode(data).ok()?;
    Some(match err {
        L1Rollup::L1RollupErrors::AlreadyExited(e) => {
            format!("this leaf ({}) was already exited", e.key)
        }
        L1Rollup::L1RollupErrors::InvalidExitProof(e) => {
            format!(
                "the rollup refused the proof of leaf {} (is the verifier's state the final one?)",
                e.key
            )
        }
        L1Rollup::L1RollupErrors::NotFreezable(e) => {
            format!(
                "the rollup cannot be frozen before L1 time {} (now {})",
                e.freezableAt, e.now_
            )
        }
        L1Rollup::L1RollupErrors::NothingToExit(_) => "nothing to exit: the balance is 0".into(),
        L1Rollup::L1RollupErrors::Frozen(_) => "Frozen: the rollup is frozen already".into(),
        L1Rollup::L1RollupErrors::NotFrozen(_) => "the rollup is not frozen".into(),
        L1Rollup::L1RollupErrors::NotAccountOwner(e) => {
            format!("only {} may exit its leaf, not {}", e.account, e.caller)
        }
        L1Rollup::L1RollupErrors::NonceOnTokenLeaf(e) => {
            format!("a token leaf has no nonce (got {})", e.nonce)
        }
        _ => return None,
    })
}

/// `L1Rollup.exit` of one leaf with its proof against the exit root.
pub(crate) fn exit_call(
    account: Address,
    l1_token: Address,
    nonce: U256,
    balance: U256,
    proof: &loft_state::Proof,
) -> L1Rollup::exitCall {
    let p = proof.to_sol();
    L1Rollup::exitCall {
        account,
        l1Token: l1_token,
        nonce,
        balance,
        proof: SparseMerkle::Proof {
            siblings: p.siblings,
            terminal: p.terminal,
            otherKey: p.otherKey,
            otherValueHash: p.otherValueHash,
        },
    }
}

/// Something `exit` paid out (or the freeze it sent).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Paid {
    /// `ETH`, `token 0x…`, `deposit N`, `freeze`.
    pub(crate) what: String,
    /// The L1 token paid (zero for ETH).
    pub(crate) l1_token: Address,
    /// Amount in base units.
    pub(crate) amount: U256,
    /// The L1 transaction.
    pub(crate) tx: B256,
    /// Its gas.
    pub(crate) gas: u64,
}

/// What one account's exit did.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ExitReport {
    /// The account.
    pub(crate) account: Address,
    /// Batches the verifier checked from L1.
    pub(crate) verified_batches: u64,
    /// The last final state root the balances were proven against.
    pub(crate) root: B256,
    /// The freeze, when this exit sent it.
    pub(crate) froze: Option<Paid>,
    /// The balances exited.
    pub(crate) exits: Vec<Paid>,
    /// The deposits no final batch consumed, refunded to their depositor.
    pub(crate) refunds: Vec<Paid>,
}

pub(crate) async fn exit_cmd(args: ExitArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.deployment)
        .wrap_err_with(|| format!("reading {}", args.deployment.display()))?;
    let deployment: Deployment = serde_json::from_str(&text)
        .wrap_err_with(|| format!("parsing the deployment {}", args.deployment.display()))?;
    let signer = match (&args.key, args.dev_account) {
        (Some(key), _) => {
            load_signer(&KeySource::PrivateKey(key.clone())).wrap_err("loading the key")?
        }
        (None, Some(n)) => {
            let mnemonic = loft_config::ChainConfig::devnet().devnet.mnemonic;
            loft_l1_embedded::dev_keys(&mnemonic, n + 1)
                .map_err(|e| eyre!("deriving dev account {n}: {e}"))?
                .into_iter()
                .nth(n as usize)
                .ok_or_else(|| eyre!("no dev account {n}"))?
        }
        (None, None) => bail!("give the account's key with --key (or --dev-account N on a devnet)"),
    };
    let mut config = RpcL1Config::new(args.l1_rpc.clone());
    config.expected_chain_id = Some(deployment.l1_chain_id);
    let l1: Arc<dyn L1Client> = Arc::new(
        RpcL1::connect(config, signer)
            .await
            .wrap_err_with(|| format!("connecting to the L1 at {}", args.l1_rpc))?,
    );
    exit_account(l1, &deployment, args.token, &|line| println!("{line}")).await?;
    Ok(())
}

/// The escape hatch for the account that signs on `l1`: rebuilds the L2 from L1 alone, freezes
/// the rollup if it may be frozen and is not yet, exits the account's ETH balance (and `token`'s)
/// in the last final state, and refunds every deposit it made that no final batch consumed.
/// Narrates through `say`. Fails when there is nothing to pay out.
pub(crate) async fn exit_account(
    l1: Arc<dyn L1Client>,
    deployment: &Deployment,
    token: Option<Address>,
    say: &(dyn Fn(String) + Sync),
) -> Result<ExitReport> {
    let account = l1.sender();
    let rollup = deployment.rollup;

    // Frozen, or freezable now?
    let frozen_at = view(l1.as_ref(), rollup, L1Rollup::frozenAtCall {}).await?;
    if frozen_at == 0 {
        let freezable_at = view(l1.as_ref(), rollup, L1Rollup::freezableAtCall {}).await?;
        let now = l1
            .block(loft_l1::BlockNumberOrTag::Latest)
            .await?
            .map(|b| b.timestamp)
            .unwrap_or_default();
        if now < freezable_at {
            bail!(
                "the rollup is not frozen and cannot be frozen before L1 time {freezable_at} (in {} s): batches became final less than the exodus delay ago",
                freezable_at - now
            );
        }
    }

    // The state at the last final root, rebuilt from L1 alone.
    let step_verifier = deployment.step_verifier.ok_or_else(|| {
        eyre!("the deployment names no step verifier, so the L2 chain parameters are unknown")
    })?;
    let params = ChainParams {
        chain_id: u64::try_from(
            view(l1.as_ref(), step_verifier, StepVerifier::l2ChainIdCall {}).await?,
        )
        .map_err(|_| eyre!("L2 chain id above 2^64"))?,
        // Each batch executes at the base fee its header names (`loft_derive::batch_params`).
        base_fee: 0,
        fee_recipient: view(
            l1.as_ref(),
            step_verifier,
            StepVerifier::feeRecipientCall {},
        )
        .await?,
    };
    let dir = tempfile::tempdir().wrap_err("creating a temporary directory")?;
    let mut verifier = Verifier::open(
        &dir.path().join("verifier.redb"),
        l1.clone(),
        deployment.clone(),
        params,
    )?
    .with_confirmations(0);
    let report = verifier
        .sync()
        .await
        .wrap_err("syncing the verifier from L1")?;
    say(format!(
        "verifier: {} batches checked from L1",
        report.batches
    ));
    let root: B256 = view(l1.as_ref(), rollup, L1Rollup::lastFinalizedStateRootCall {}).await?;
    let state = verifier.state_at(root);

    // The leaves to exit: ETH, and the token asked for.
    let mut leaves = Vec::new();
    let mut already = Vec::new();
    for l1_token in std::iter::once(None).chain(token.map(Some)) {
        let (key, nonce, balance) = match l1_token {
            None => {
                let key = account_key(account);
                let value = state.get(&key).map_err(|e| {
                    eyre!("reading the state at {root}: {e} (the verifier never had this root)")
                })?;
                let a = match value {
                    Some(v) => Account::decode(&v).map_err(|e| eyre!("account leaf: {e}"))?,
                    None => Account::default(),
                };
                (key, U256::from(a.nonce), a.balance)
            }
            Some(l1_token) => {
                let key = token_balance_key(account, l2_token_address(l1_token));
                let value = state.get(&key).map_err(|e| {
                    eyre!("reading the state at {root}: {e} (the verifier never had this root)")
                })?;
                let balance = match value {
                    Some(v) => {
                        layout::decode_balance(&v).map_err(|e| eyre!("balance leaf: {e}"))?
                    }
                    None => U256::ZERO,
                };
                (key, U256::ZERO, balance)
            }
        };
        let what = l1_token.map_or("ETH".to_string(), |t| format!("token {t}"));
        if balance.is_zero() {
            continue;
        }
        if view(l1.as_ref(), rollup, L1Rollup::exitedCall { key }).await? {
            already.push(what);
            continue;
        }
        leaves.push((what, l1_token.unwrap_or_default(), key, nonce, balance));
    }

    let send = |to: Address, input: Vec<u8>| {
        let l1 = l1.clone();
        async move {
            send_and_confirm(
                l1.as_ref(),
                TransactionRequest::default().to(to).input(input.into()),
            )
            .await
        }
    };
    // Deposits are refundable only once frozen; with nothing to exit and nothing the account
    // deposited past the last final batch, do not freeze on its behalf.
    let latest = l1.block_number().await?;
    let deposits: Vec<_> = loft_contracts::read_queue(
        l1.as_ref(),
        deployment.bridge,
        deployment.bridge_block,
        latest,
    )
    .await?
    .into_iter()
    .filter(|m| m.deposit().is_some_and(|d| d.from == account))
    .collect();
    let final_count = view(l1.as_ref(), rollup, L1Rollup::finalizedBatchCountCall {}).await?;
    let last_final = if final_count == 0 {
        None
    } else {
        let batches =
            loft_contracts::read_batches(l1.as_ref(), rollup, deployment.bridge_block, latest)
                .await?;
        Some(
            batches
                .into_iter()
                .rev()
                .find(|b| b.header.index == final_count - 1)
                .ok_or_else(|| eyre!("no BatchSubmitted for final batch {}", final_count - 1))?
                .header,
        )
    };
    let floor = last_final.as_ref().map_or(0, |h| h.queue_end);
    let mut refundable = Vec::new();
    for m in deposits.into_iter().filter(|m| m.index >= floor) {
        let refunded = view(
            l1.as_ref(),
            deployment.bridge,
            loft_contracts::L1Bridge::refundedCall {
                index: U256::from(m.index),
            },
        )
        .await?;
        if !refunded {
            refundable.push(m);
        }
    }
    if leaves.is_empty() && refundable.is_empty() {
        if already.is_empty() {
            bail!(
                "nothing to exit: {account} holds no ETH{} in the last final state ({root}) and has no unconsumed deposit",
                token.map_or(String::new(), |t| format!(" or token {t}"))
            );
        }
        bail!(
            "already exited: the {} balance of {account} was paid out before, and it has no unconsumed deposit",
            already.join(" and ")
        );
    }

    let mut froze = None;
    if frozen_at == 0 {
        match send(rollup, L1Rollup::freezeCall {}.abi_encode()).await {
            Ok(r) => {
                say(format!(
                    "froze the rollup (transaction {}, {} gas)",
                    r.transaction_hash, r.gas_used
                ));
                froze = Some(Paid {
                    what: "freeze".into(),
                    l1_token: Address::ZERO,
                    amount: U256::ZERO,
                    tx: r.transaction_hash,
                    gas: r.gas_used,
                });
            }
            Err(e) => match explain(&e) {
                // Someone else froze it in the meantime.
                Some(m) if m.starts_with("Frozen") => {}
                Some(m) => bail!("freeze refused: {m}"),
                None => return Err(eyre!(e).wrap_err("freezing the rollup")),
            },
        }
    }

    let mut exits = Vec::new();
    for (what, l1_token, key, nonce, balance) in leaves {
        let proof = state.prove(&key).map_err(|e| eyre!("proving {key}: {e}"))?;
        let call = exit_call(account, l1_token, nonce, balance, &proof);
        match send(rollup, call.abi_encode()).await {
            Ok(r) => {
                say(format!(
                    "exited: paid {balance} (base units) of {what} to {account} from state root {root} (transaction {}, {} gas)",
                    r.transaction_hash, r.gas_used
                ));
                exits.push(Paid {
                    what,
                    l1_token,
                    amount: balance,
                    tx: r.transaction_hash,
                    gas: r.gas_used,
                });
            }
            Err(e) => match explain(&e) {
                Some(m) => bail!("exit refused: {m}"),
                None => return Err(eyre!(e).wrap_err("exiting")),
            },
        }
    }

    let mut refunds = Vec::new();
    let header = last_final.unwrap_or_default();
    for m in refundable {
        let d = m.deposit().expect("filtered on deposits");
        let call = loft_contracts::L1Bridge::refundDepositCall {
            lastFinal: loft_contracts::bridge_header(header),
            index: U256::from(m.index),
            kind: m.kind,
            sender: m.sender,
            l1BlockNumber: m.l1_block_number,
            timestamp: m.timestamp,
            payload: m.payload.clone(),
        };
        let r = send(deployment.bridge, call.abi_encode())
            .await
            .wrap_err_with(|| format!("refunding deposit {}", m.index))?;
        say(format!(
            "refunded deposit {} (never consumed by a final batch): paid {} (base units) of {} to {account} (transaction {}, {} gas)",
            m.index,
            d.amount,
            if d.token.is_zero() {
                "ETH".to_string()
            } else {
                format!("token {}", d.token)
            },
            r.transaction_hash,
            r.gas_used
        ));
        refunds.push(Paid {
            what: format!("deposit {}", m.index),
            l1_token: d.token,
            amount: d.amount,
            tx: r.transaction_hash,
            gas: r.gas_used,
        });
    }
    Ok(ExitReport {
        account,
        verified_batches: report.batches,
        root,
        froze,
        exits,
        refunds,
    })
}

#[cfg(test)]
mod tests {
    use alloy::primitives::{Address, B256, U256, address};
    use loft_state::{
        Account, MemStore, Smt, Terminal, account_key, l2_token_address, layout, token_balance_key,
    };
    use serde_json::{Value, json};

    const FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/exit/fixture.json"
    );

    fn leaf(smt: &Smt<MemStore>, key: B256) -> Value {
        let proof = smt.prove(&key).unwrap();
        let value = smt.get(&key).unwrap().expect("the leaf exists");
        assert!(proof.verify(smt.root_hash(), &key, Some(&value)));
        let (other_key, other_value_hash) = match &proof.terminal {
            Terminal::Other { key, value_hash } => (*key, *value_hash),
            _ => (B256::ZERO, B256::ZERO),
        };
        json!({
            "key": key,
            "siblings": proof.siblings,
            "terminal": proof.terminal.code(),
            "otherKey": other_key,
            "otherValueHash": other_value_hash,
        })
    }

    /// The exit fixture of `contracts/test/Exodus.t.sol`: a state with Alice (ETH and a token) and
    /// Bob (ETH) among filler accounts, and inclusion proofs of their leaves.
    fn fixture() -> Value {
        let alice = address!("00000000000000000000000000000000000A11CE");
        let bob = address!("0000000000000000000000000000000000000B0B");
        let l1_token = address!("70CE000000000000000000000000000000000001");
        let l2_token = l2_token_address(l1_token);
        let ether = U256::from(10u64).pow(U256::from(18u64));
        let mut smt = Smt::new(MemStore::new(), B256::ZERO);
        let alice_eth = Account {
            nonce: 3,
            balance: U256::from(5u64) * ether,
        };
        let bob_eth = Account {
            nonce: 0,
            balance: U256::from(2u64) * ether,
        };
        let alice_tokens = U256::from(700u64);
        smt.set(account_key(alice), alice_eth.encode()).unwrap();
        smt.set(account_key(bob), bob_eth.encode()).unwrap();
        smt.set(
            token_balance_key(alice, l2_token),
            layout::encode_balance(alice_tokens),
        )
        .unwrap();
        for i in 1..=40u64 {
            let filler = Address::from_word(B256::from(U256::from(0xF000 + i)));
            let a = Account {
                nonce: i,
                balance: U256::from(i),
            };
            smt.set(account_key(filler), a.encode()).unwrap();
        }
        json!({
            "root": smt.root_hash(),
            "alice": alice,
            "bob": bob,
            "l1Token": l1_token,
            "l2Token": l2_token,
            "aliceEth": { "nonce": alice_eth.nonce, "balance": alice_eth.balance.to_string(), "proof": leaf(&smt, account_key(alice)) },
            "aliceToken": { "balance": alice_tokens.to_string(), "proof": leaf(&smt, token_balance_key(alice, l2_token)) },
            "bobEth": { "nonce": bob_eth.nonce, "balance": bob_eth.balance.to_string(), "proof": leaf(&smt, account_key(bob)) },
        })
    }

    #[test]
    fn exit_fixture_is_current() {
        let text = serde_json::to_string_pretty(&fixture()).unwrap() + "\n";
        if std::env::var("LOFT_BLESS").is_ok_and(|v| v == "1") {
            std::fs::write(FIXTURE, &text).unwrap();
        }
        let committed = std::fs::read_to_string(FIXTURE).unwrap_or_default();
        assert!(
            committed == text,
            "{FIXTURE} is not what the generator produces; rerun with LOFT_BLESS=1 cargo test -p loft exit_fixture and commit it"
        );
    }
}
