//! Argument groups shared by subcommands, one struct per subsystem.

use std::path::PathBuf;

use clap::Args;
use eyre::{Result, WrapErr};
use loft_config::ChainConfig;
use loft_l1_rpc::KeySource;

/// Which chain configuration to use.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Chain configuration")]
pub(crate) struct ChainArgs {
    /// Chain configuration file (TOML). Without it, the preset is used.
    #[arg(long, env = "LOFT_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Preset to use when no --config is given.
    #[arg(long, default_value = "devnet")]
    pub(crate) preset: String,
}

impl ChainArgs {
    /// Loads and validates the configuration.
    pub(crate) fn load(&self) -> Result<ChainConfig> {
        match &self.config {
            Some(path) => Ok(ChainConfig::load(path)?),
            None => Ok(ChainConfig::preset(&self.preset)?),
        }
    }
}

/// How to reach L1 when it is an external node.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "External L1")]
pub(crate) struct L1Args {
    /// JSON-RPC URL of an Ethereum node (anvil, geth, reth, a testnet). Without it, loft runs its
    /// own embedded L1.
    #[arg(long, env = "LOFT_L1_RPC")]
    pub(crate) l1_rpc: Option<String>,
    /// Hex private key that signs L1 transactions (deployments).
    #[arg(
        long,
        env = "LOFT_L1_KEY",
        conflicts_with = "l1_keystore",
        hide_env_values = true
    )]
    pub(crate) l1_key: Option<String>,
    /// Encrypted JSON keystore that signs L1 transactions, instead of --l1-key.
    #[arg(long, env = "LOFT_L1_KEYSTORE")]
    pub(crate) l1_keystore: Option<PathBuf>,
    /// Password of --l1-keystore.
    #[arg(
        long,
        env = "LOFT_L1_KEYSTORE_PASSWORD",
        hide_env_values = true,
        default_value = ""
    )]
    pub(crate) l1_keystore_password: String,
}

impl L1Args {
    /// The key source the flags name, if any.
    pub(crate) fn key_source(&self) -> Option<KeySource> {
        match (&self.l1_key, &self.l1_keystore) {
            (Some(key), _) => Some(KeySource::PrivateKey(key.clone())),
            (None, Some(path)) => Some(KeySource::Keystore {
                path: path.clone(),
                password: self.l1_keystore_password.clone(),
            }),
            (None, None) => None,
        }
    }
}

/// `loft config`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ConfigArgs {
    #[command(flatten)]
    pub(crate) chain: ChainArgs,
}

/// Prints the configuration as TOML.
pub(crate) fn print_config(args: &ConfigArgs) -> Result<()> {
    let config = args
        .chain
        .load()
        .wrap_err("loading the chain configuration")?;
    print!("{}", config.to_toml());
    Ok(())
}

/// How the wallet commands reach the chain and which key signs.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Connection and key")]
pub(crate) struct WalletArgs {
    /// JSON-RPC URL of the loft L2 node. Contract addresses and chain ids are read from it.
    #[arg(long, env = "LOFT_RPC", default_value = "http://127.0.0.1:8546")]
    pub(crate) rpc: String,
    /// JSON-RPC URL of the L1 node (deposits, claims, L1 balances).
    #[arg(
        long = "l1-rpc",
        env = "LOFT_L1_RPC",
        default_value = "http://127.0.0.1:8545"
    )]
    pub(crate) l1_rpc: String,
    /// Hex private key that signs (the same key on L1 and L2).
    #[arg(long, env = "LOFT_KEY", hide_env_values = true)]
    pub(crate) key: Option<String>,
    /// Encrypted JSON keystore that signs, instead of --key.
    #[arg(long, env = "LOFT_KEYSTORE")]
    pub(crate) keystore: Option<PathBuf>,
    /// Password of --keystore.
    #[arg(
        long,
        env = "LOFT_KEYSTORE_PASSWORD",
        hide_env_values = true,
        default_value = ""
    )]
    pub(crate) password: String,
    /// Sign with development account N of the devnet's mnemonic (the node's `devnet.mnemonic`);
    /// takes precedence over --key and --keystore.
    #[arg(long, value_name = "N")]
    pub(crate) dev_account: Option<u32>,
}

impl WalletArgs {
    /// The key source `--key` / `--keystore` name (`--key` first), if any.
    pub(crate) fn key_source(&self) -> Option<KeySource> {
        if self.dev_account.is_some() {
            return None;
        }
        match (&self.key, &self.keystore) {
            (Some(key), _) => Some(KeySource::PrivateKey(key.clone())),
            (None, Some(path)) => Some(KeySource::Keystore {
                path: path.clone(),
                password: self.password.clone(),
            }),
            (None, None) => None,
        }
    }
}
