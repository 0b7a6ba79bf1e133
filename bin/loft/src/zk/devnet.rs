//! `loft devnet --profile zk`: the embedded L1 with a Groth16 verifier (for the devnet's
//! insecure deterministic proving key, or `zk.proving_key`) and `ZkRollup` deployed, the zk
//! sequencer with its prover worker, and a demo: register and deposit through L1, transfers on
//! L2, a withdrawal, the proofs verified on L1 and the withdrawal claimed right after.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use alloy::signers::local::PrivateKeySigner;
use eyre::{Result, WrapErr, eyre};
use loft_config::ChainConfig;
use loft_contracts::{ZkDeployOptions, ZkDeployment, deploy_zk};
use loft_l1::L1Client;
use loft_l1_embedded::EmbeddedL1;
use loft_zk::{PublicKey, SecretKey, ZkParams};
use loft_zk_node::{ZkNode, ZkNodeConfig, root_word};
use loft_zk_prover::prover::Keys;
use serde::{Deserialize, Serialize};

use super::wallet::ZkWallet;
use super::{eth, tx};
use crate::devnet::{DevnetArgs, start_embedded_l1, wait_for_shutdown};

/// What `<data-dir>/zk-deployment.json` and `--deployment-out` hold for the zk profile.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ZkDeploymentFile {
    pub(crate) profile: String,
    pub(crate) l1_rpc_url: String,
    pub(crate) l2_rpc_url: String,
    pub(crate) zk: ZkDeployment,
}

const DEPLOYMENT_FILE: &str = "zk-deployment.json";

/// The batch shape and chain id of a configuration.
pub(crate) fn params(config: &ChainConfig) -> ZkParams {
    ZkParams {
        tree_depth: config.zk.tree_depth,
        batch_general: config.zk.batch_general as usize,
        batch_transfers: config.zk.batch_transfers as usize,
        chain_id: config.l2.chain_id,
    }
}

/// Account 0's key: `zk.fee_account_key`, or derived from the operator's Ethereum key.
pub(crate) fn fee_key(config: &ChainConfig, operator: &PrivateKeySigner) -> Result<PublicKey> {
    match config.zk.fee_account_key {
        Some(k) => PublicKey::decompress(&k.0).map_err(|e| eyre!("zk.fee_account_key: {e}")),
        None => Ok(SecretKey::from_eth_key(operator, config.l2.chain_id)
            .map_err(|e| eyre!("deriving the fee account's key: {e}"))?
            .public()),
    }
}

/// The proving keys: `zk.proving_key` when set, else the insecure devnet setup cached in `dir`
/// under a name that carries the shape and seed (generated once, ~20 s at depth 24).
pub(crate) async fn proving_keys(config: &ChainConfig, dir: &Path) -> Result<Arc<Keys>> {
    let p = params(config);
    if let Some(path) = config.zk.proving_key.clone() {
        tracing::info!(target: "loft::zk", path = %path.display(), "loading the proving key");
        let keys = tokio::task::spawn_blocking(move || Keys::load(&path)).await??;
        return Ok(Arc::new(keys));
    }
    let seed = config.zk.devnet_setup_seed;
    let path = dir.join(format!(
        "zk-devnet-key-d{}-g{}-t{}-c{}-s{seed}.bin",
        p.tree_depth, p.batch_general, p.batch_transfers, p.chain_id
    ));
    if !path.exists() {
        tracing::warn!(target: "loft::zk", path = %path.display(), "generating the INSECURE devnet proving key (deterministic from zk.devnet_setup_seed: anyone can forge proofs; set zk.proving_key for real deployments); this takes a while once and is cached");
    }
    let started = Instant::now();
    let keys = tokio::task::spawn_blocking(move || Keys::devnet_cached(p, seed, &path)).await??;
    tracing::info!(target: "loft::zk", secs = format!("{:.1}", started.elapsed().as_secs_f64()), "proving key ready");
    Ok(Arc::new(keys))
}

/// Deploys `Groth16Verifier` for `keys` and `ZkRollup` with the config's batch shape, the genesis
/// whose account 0 holds `fee`, and `l1`'s key as the operator.
pub(crate) async fn deploy(
    l1: &dyn L1Client,
    config: &ChainConfig,
    keys: &Keys,
    fee: &PublicKey,
) -> Result<ZkDeployment> {
    let p = params(config);
    deploy_zk(
        l1,
        &ZkDeployOptions {
            verifying_key: loft_zk_prover::solidity::verifier_constructor_words(keys.vk())
                .map(U256::from_be_bytes),
            genesis_root: root_word(loft_zk::replay::genesis(p.tree_depth, fee).root()),
            tree_depth: p.tree_depth,
            batch_transfers: config.zk.batch_transfers,
            batch_general: config.zk.batch_general,
            chain_id: p.chain_id,
            operator: l1.sender(),
            force_inclusion_delay_secs: config.zk.force_inclusion_delay_secs,
        },
    )
    .await
    .wrap_err("deploying the zk rollup")
}

pub(crate) async fn run(args: &DevnetArgs, config: &ChainConfig, started: Instant) -> Result<()> {
    if args.l1.l1_rpc.is_some() {
        return Err(eyre!(
            "--profile zk runs on the embedded L1; against an external L1 deploy with the devnet first and run `loft node --role prover`"
        ));
    }
    let l1 = start_embedded_l1(args, config).await?;
    let deployer: Arc<dyn L1Client> = Arc::new(
        EmbeddedL1::new(l1.chain.clone(), l1.dev_keys[0].clone())
            .with_timeout(Duration::from_secs(config.l1.tx_timeout_secs)),
    );
    let (dir, _tmp): (PathBuf, Option<tempfile::TempDir>) = match &args.embedded.data_dir {
        Some(d) => (d.join("zk"), None),
        None => {
            let tmp = tempfile::Builder::new()
                .prefix("loft-zk-devnet-")
                .tempdir()
                .wrap_err("creating a temporary directory")?;
            (tmp.path().to_path_buf(), Some(tmp))
        }
    };
    std::fs::create_dir_all(&dir).wrap_err_with(|| format!("creating {}", dir.display()))?;
    let p = params(config);
    let fee = fee_key(config, &l1.dev_keys[0])?;
    let keys = proving_keys(config, &dir).await?;

    let previous = std::fs::read_to_string(dir.join(DEPLOYMENT_FILE))
        .ok()
        .and_then(|t| serde_json::from_str::<ZkDeploymentFile>(&t).ok());
    let reused = match previous {
        Some(f) if !deployer.code(f.zk.rollup).await?.is_empty() => Some(f.zk),
        _ => None,
    };
    let fresh = reused.is_none();
    let zk = match reused {
        Some(d) => d,
        None => deploy(deployer.as_ref(), config, &keys, &fee).await?,
    };
    let port = args.l2_port.unwrap_or(config.l2.rpc_port);
    let node = ZkNode::start(
        ZkNodeConfig {
            params: p,
            rollup: zk.rollup,
            deploy_block: zk.deploy_block,
            fee_key: fee,
            data_dir: dir.clone(),
            rpc_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            batch_interval: Duration::from_millis(config.zk.batch_interval_ms),
            poll_interval: Duration::from_millis(200),
        },
        deployer.clone(),
        keys,
    )
    .await
    .wrap_err_with(|| {
        format!(
            "starting the zk node (JSON-RPC on 127.0.0.1:{port}; use --l2-port 0 for a free port)"
        )
    })?;
    let file = ZkDeploymentFile {
        profile: "zk".into(),
        l1_rpc_url: l1.url.clone(),
        l2_rpc_url: format!("http://{}", node.rpc_addr),
        zk: zk.clone(),
    };
    let text = serde_json::to_string_pretty(&file)?;
    std::fs::write(dir.join(DEPLOYMENT_FILE), &text)?;
    if let Some(out) = &args.deployment_out {
        std::fs::write(out, &text).wrap_err_with(|| format!("writing {}", out.display()))?;
    }
    print_summary(&file, config, &l1.dev_keys, started);

    let demo_task = (fresh && !args.no_demo).then(|| {
        let (l2, l1_url) = (file.l2_rpc_url.clone(), file.l1_rpc_url.clone());
        let (user, friend) = (l1.dev_keys[1].clone(), l1.dev_keys[2].clone());
        tokio::spawn(async move {
            match demo(&l2, &l1_url, user, friend).await {
                Ok(()) => println!("demo done: every balance exact"),
                Err(e) => eprintln!("demo failed: {e:#}"),
            }
        })
    });
    wait_for_shutdown().await;
    if let Some(t) = demo_task {
        t.abort();
    }
    drop(node);
    l1.server.stop().ok();
    l1.server.stopped().await;
    Ok(())
}

fn print_summary(
    f: &ZkDeploymentFile,
    config: &ChainConfig,
    dev_keys: &[PrivateKeySigner],
    started: Instant,
) {
    let p = params(config);
    println!(
        "loft devnet (zk profile) ready in {} ms",
        started.elapsed().as_millis()
    );
    println!(
        "  L1 JSON-RPC   {}  (chain id {}, embedded L1)",
        f.l1_rpc_url, config.l1.chain_id
    );
    println!(
        "  zk JSON-RPC   {}  (chain id {}, batches of {} transfers + {} general slots, sealed after {} ms)",
        f.l2_rpc_url, p.chain_id, p.batch_transfers, p.batch_general, config.zk.batch_interval_ms
    );
    println!(
        "  ZkRollup      {}  (tree depth {}, operator {}, force-inclusion delay {} s)",
        f.zk.rollup,
        p.tree_depth,
        dev_keys[0].address(),
        config.zk.force_inclusion_delay_secs
    );
    println!(
        "  Verifier      {}  (Groth16 over BN254; {})",
        f.zk.verifier,
        if config.zk.proving_key.is_some() {
            "external proving key"
        } else {
            "INSECURE devnet setup"
        }
    );
    println!(
        "  Dev accounts  (mnemonic \"{}\"; `loft zk --dev-account N ...`)",
        config.devnet.mnemonic
    );
    for (i, k) in dev_keys.iter().enumerate().take(3) {
        println!("    ({i}) {}", k.address());
    }
    println!("Press Ctrl-C to stop.");
}

fn short(a: Address) -> String {
    let s = a.to_string();
    format!("{}...{}", &s[..6], &s[s.len() - 4..])
}

/// The demo, as users would do it with `loft zk`.
async fn demo(l2: &str, l1: &str, user: PrivateKeySigner, friend: PrivateKeySigner) -> Result<()> {
    let mut u = ZkWallet::connect(l2, l1, user).await?;
    let f = ZkWallet::connect(l2, l1, friend).await?;
    let deposit: u128 = 1_000_000_000_000_000_000;
    let t0 = Instant::now();
    let (ua, r) = u.register(U256::from(deposit)).await?;
    println!(
        "demo [1/6] register account {ua} for {} with its derived L2 key and deposit {}: {}",
        short(u.address()),
        eth(deposit),
        tx(&r)
    );
    let (fa, r) = f.register(U256::ZERO).await?;
    println!(
        "demo [1/6] register account {fa} for {}: {}",
        short(f.address()),
        tx(&r)
    );
    let long = Duration::from_secs(300);
    u.wait_balance(ua, long, |b| b == deposit).await?;
    println!(
        "demo [2/6] deposit credited on L2 after {} ms (sequenced; proved and verified in the background)",
        t0.elapsed().as_millis()
    );
    f.wait_registered(fa, long).await?;
    let (pay, fee) = (250_000_000_000_000_000u128, 1_000_000_000_000u128);
    let a = u.transfer(fa, pay, fee).await?;
    println!(
        "demo [3/6] L2 transfer of {} to account {fa} (fee {}): in batch {}",
        eth(pay),
        eth(fee),
        a.batch
    );
    let back = 50_000_000_000_000_000u128;
    f.wait_balance(fa, long, |b| b == pay).await?;
    let a = f.transfer(ua, back, 0).await?;
    println!(
        "demo [3/6] L2 transfer of {} back to account {ua}: in batch {}",
        eth(back),
        a.batch
    );
    let out = 200_000_000_000_000_000u128;
    let before_l1 = u.l1().balance(u.address()).await?;
    let w = u.withdraw(out, fee).await?;
    println!(
        "demo [4/6] L2 withdrawal of {} to {} on L1: in batch {}",
        eth(out),
        short(u.address()),
        w.batch
    );
    let t1 = Instant::now();
    u.wait_verified(w.batch, Duration::from_secs(900)).await?;
    println!(
        "demo [5/6] batch {} proved and verified on L1 after {:.1} s: final, no challenge period",
        w.batch,
        t1.elapsed().as_secs_f64()
    );
    let due = u.claimable().await?;
    let r = u.claim().await?;
    let after_l1 = u.l1().balance(u.address()).await?;
    let cost = U256::from(r.gas_used) * U256::from(r.effective_gas_price);
    let want = deposit - pay - fee + back - out - fee;
    let have = u.account(ua).await?.balance()?;
    println!(
        "demo [6/6] claimed {} on L1 at once: {}; L1 balance +{} after gas (exact: {}); L2 balances: account {ua} {} (expected {}), account {fa} {}",
        eth(due.to::<u128>()),
        tx(&r),
        eth((after_l1 + cost - before_l1).to::<u128>()),
        after_l1 + cost - before_l1 == U256::from(out),
        eth(have),
        eth(want),
        eth(f.account(fa).await?.balance()?),
    );
    if have != want || due != U256::from(out) {
        return Err(eyre!(
            "balances are off: L2 {have} (want {want}), claimed {due} (want {out})"
        ));
    }
    Ok(())
}
