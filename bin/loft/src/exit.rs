//! `loft exit`: the escape hatch (`docs/escape-hatch.md`). With only an L1 RPC URL, the deployment
//! file and the user's key: syncs a verifier from L1 alone in a temporary directory, takes the state
//! at the rollup's last final state root, proves the user's leaf, freezes the rollup if it may be
//! frozen and is not yet, and exits.

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
use loft_state::{Account, Terminal, account_key, l2_token_address, layout, token_balance_key};
use loft_stf::ChainParams;

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
    let account = signer.address();
    let mut config = RpcL1Config::new(args.l1_rpc.clone());
    config.expected_chain_id = Some(deployment.l1_chain_id);
    let l1: Arc<dyn L1Client> = Arc::new(
        RpcL1::connect(config, signer)
            .await
            .wrap_err_with(|| format!("connecting to the L1 at {}", args.l1_rpc))?,
    );
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
    println!("verifier: {} batches checked from L1", report.batches);
    let root: B256 = view(l1.as_ref(), rollup, L1Rollup::lastFinalizedStateRootCall {}).await?;
    let state = verifier.state_at(root);

    let (key, nonce, balance) = match args.token {
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
                Some(v) => layout::decode_balance(&v).map_err(|e| eyre!("balance leaf: {e}"))?,
                None => U256::ZERO,
            };
            (key, U256::ZERO, balance)
        }
    };
    let what = args
        .token
        .map_or("ETH".to_string(), |t| format!("token {t}"));
    if balance.is_zero() {
        bail!("nothing to exit: {account} holds no {what} in the last final state ({root})");
    }
    if view(l1.as_ref(), rollup, L1Rollup::exitedCall { key }).await? {
        bail!("already exited: the {what} balance of {account} was paid out before");
    }
    let proof = state.prove(&key).map_err(|e| eyre!("proving {key}: {e}"))?;
    let (other_key, other_value_hash) = match &proof.terminal {
        Terminal::Other { key, value_hash } => (*key, *value_hash),
        _ => (B256::ZERO, B256::ZERO),
    };

    let send = |input: Vec<u8>| {
        let l1 = l1.clone();
        async move {
            send_and_confirm(
                l1.as_ref(),
                TransactionRequest::default().to(rollup).input(input.into()),
            )
            .await
        }
    };
    if frozen_at == 0 {
        match send(L1Rollup::freezeCall {}.abi_encode()).await {
            Ok(r) => println!(
                "froze the rollup (transaction {}, {} gas)",
                r.transaction_hash, r.gas_used
            ),
            Err(e) => match explain(&e) {
                // Someone else froze it in the meantime.
                Some(m) if m.starts_with("Frozen") => {}
                Some(m) => bail!("freeze refused: {m}"),
                None => return Err(eyre!(e).wrap_err("freezing the rollup")),
            },
        }
    }
    let call = L1Rollup::exitCall {
        account,
        l1Token: args.token.unwrap_or_default(),
        nonce,
        balance,
        proof: SparseMerkle::Proof {
            siblings: proof.siblings.clone(),
            terminal: proof.terminal.code(),
            otherKey: other_key,
            otherValueHash: other_value_hash,
        },
    };
    match send(call.abi_encode()).await {
        Ok(r) => {
            println!(
                "exited: paid {balance} (base units) of {what} to {account} from state root {root} (transaction {}, {} gas)",
                r.transaction_hash, r.gas_used
            );
            Ok(())
        }
        Err(e) => match explain(&e) {
            Some(m) => bail!("exit refused: {m}"),
            None => Err(eyre!(e).wrap_err("exiting")),
        },
    }
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
