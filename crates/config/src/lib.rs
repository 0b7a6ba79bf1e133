//! loft's chain configuration: every protocol and network parameter in one TOML file.
//!
//! A configuration starts from a preset ([`ChainConfig::devnet`]) and a TOML file overrides any
//! field. Unknown keys are errors (a typo must not silently fall back to a default), and
//! [`ChainConfig::validate`] checks the values together. `docs/configuration.md` documents every
//! field.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The mnemonic of the well-known development accounts (the same as anvil's and hardhat's), so
/// that tools and keys people already have work against the devnet.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// Errors reading or checking a configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema.
    #[error("malformed config file {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// Parser message, with line and column.
        message: String,
    },
    /// A value is out of range or contradicts another one.
    #[error("invalid config value `{field}`: {reason}")]
    Invalid {
        /// Dotted path of the field.
        field: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// The named preset does not exist.
    #[error("unknown preset `{0}` (known: devnet, mainnet)")]
    UnknownPreset(String),
}

/// The whole chain configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// A name for humans and logs.
    pub name: String,
    /// Which rollup the chain runs: the EVM rollup with fraud proofs or the zk rollup.
    #[serde(default)]
    pub profile: Profile,
    /// Layer 1 parameters.
    pub l1: L1Config,
    /// Layer 2 parameters.
    pub l2: L2Config,
    /// Rollup protocol parameters (batches, finality).
    pub rollup: RollupConfig,
    /// The embedded development L1 (used when no `--l1-rpc` is given).
    pub devnet: DevnetConfig,
    /// Payment channels: the adjudicator's parameters and the daemon's defaults.
    #[serde(default)]
    pub channels: ChannelsConfig,
    /// The zk rollup's parameters (`docs/zk-rollup.md`); read when `profile` is `zk`.
    #[serde(default)]
    pub zk: ZkConfig,
}

/// Which rollup a chain runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// The EVM rollup with fraud proofs (`docs/rollup.md`).
    #[default]
    Eth,
    /// The zk rollup with validity proofs (`docs/zk-rollup.md`).
    Zk,
}

/// How the batcher puts batch data on L1 (`docs/rollup.md` §3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BatchData {
    /// In the calldata of `submitBatch`.
    #[default]
    Calldata,
    /// In EIP-4844 blobs of a `submitBatchBlobs` transaction (verifiers then need an L1 that
    /// serves blobs by versioned hash).
    Blobs,
    /// Whichever costs less at the L1's current base fee and blob base fee, batch by batch.
    Auto,
}

/// The zk rollup's parameters (`docs/zk-rollup.md` §2, §3, §5, §7). The defaults are the devnet's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZkConfig {
    /// Depth of the account tree in bits (`2^D` accounts): even, 8..=24.
    pub tree_depth: u8,
    /// Transfer slots per batch (`N`): 1..=1024.
    pub batch_transfers: u32,
    /// General slots per batch (`M`: deposits, key changes, exits, withdrawals): 1..=256.
    pub batch_general: u32,
    /// Milliseconds after which a batch with anything in it is sealed (and proved) even when it
    /// is not full: at least 1.
    pub batch_interval_ms: u64,
    /// Seconds an L1 queue message may wait before anyone may submit a batch (fixed in
    /// `ZkRollup` at deployment): at least 1.
    pub force_inclusion_delay_secs: u64,
    /// An externally produced Groth16 proving key (arkworks' uncompressed serialization). `None`
    /// uses the **insecure** deterministic devnet setup of `devnet_setup_seed`, with which anyone
    /// who knows the seed can forge proofs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proving_key: Option<std::path::PathBuf>,
    /// Seed of the insecure devnet setup (used when `proving_key` is `None`).
    pub devnet_setup_seed: u64,
    /// Compressed Baby Jubjub key of account 0, the fee account. `None` derives it from the
    /// operator's Ethereum key (`docs/zk-rollup.md` §1.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_account_key: Option<alloy::primitives::B256>,
}

impl Default for ZkConfig {
    fn default() -> Self {
        Self {
            tree_depth: 24,
            batch_transfers: 4,
            batch_general: 2,
            batch_interval_ms: 1_000,
            force_inclusion_delay_secs: 60,
            proving_key: None,
            devnet_setup_seed: 1,
            fee_account_key: None,
        }
    }
}

/// Payment channel parameters (`docs/channels.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelsConfig {
    /// Seconds after a unilateral close during which a newer state may replace it (fixed in
    /// the adjudicator at deployment).
    pub dispute_window_secs: u64,
    /// Share of a stale closer's payout moved to the other party, in basis points (fixed in the
    /// adjudicator at deployment).
    pub penalty_bps: u16,
    /// Seconds a peer may leave payments unanswered before the daemon closes unilaterally.
    pub peer_timeout_secs: u64,
}

impl Default for ChannelsConfig {
    fn default() -> Self {
        Self {
            dispute_window_secs: 3600,
            penalty_bps: 1_000,
            peer_timeout_secs: 60,
        }
    }
}

/// Layer 1 parameters, for any backend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L1Config {
    /// The L1 chain id. A node that reports another one is refused.
    pub chain_id: u64,
    /// Blocks on top of a transaction's block before it counts as confirmed (1 = included).
    pub confirmations: u64,
    /// How long to wait for a transaction to be included, in seconds.
    pub tx_timeout_secs: u64,
}

/// Layer 2 parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L2Config {
    /// The L2 chain id (what wallets sign L2 transactions for). Must differ from the L1's.
    pub chain_id: u64,
    /// Milliseconds between L2 blocks (a block is only made when it has something in it).
    pub block_time_ms: u64,
    /// L2 base fee in wei per gas; a transaction paying less is refused.
    pub base_fee: u64,
    /// Account credited with every L2 fee (the operator's).
    pub fee_recipient: alloy::primitives::Address,
    /// Loopback port of the L2 JSON-RPC server (0 picks a free port).
    pub rpc_port: u16,
}

/// Rollup protocol parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollupConfig {
    /// Seconds after a batch is posted before it is final (and its withdrawals claimable).
    pub challenge_period_secs: u64,
    /// Milliseconds between batch postings while there are unposted L2 blocks.
    pub batch_interval_ms: u64,
    /// Upper bound of a batch's encoded (uncompressed) data in bytes; a batch is closed before it
    /// grows past it.
    pub max_batch_bytes: u64,
    /// Bond a poster must lock on L1 before posting batches, in gwei (TOML integers are 64-bit).
    pub bond_gwei: u64,
    /// Share of a slashed bond paid to the challenger who proved the fraud, in basis points; the
    /// rest goes to `slash_sink`.
    pub challenger_share_bps: u16,
    /// Where the rest of a slashed bond goes (the default `0x…dEaD` burns it).
    pub slash_sink: alloy::primitives::Address,
    /// Seconds the poster has to answer an opening request (`docs/fraud-proofs.md` §5.4).
    pub response_window_secs: u64,
    /// Seconds without a newly final batch after which anyone may freeze the rollup and every
    /// user exits with a state proof (`docs/escape-hatch.md`). Must be above the challenge period
    /// (see [`ChainConfig::validate`]).
    pub exodus_delay_secs: u64,
    /// Seconds an L1 -> L2 queue message (a deposit, a forced withdrawal or transaction) may wait
    /// before L1 refuses every batch that does not consume it (`docs/liveness.md` §1).
    pub force_inclusion_delay_secs: u64,
    /// Length of an operator epoch in seconds: the best bid runs each epoch
    /// (`docs/liveness.md` §2).
    pub epoch_secs: u64,
    /// Seconds the active operator may post nothing while the queue holds messages before anyone
    /// may kick it (`docs/liveness.md` §3).
    pub liveness_window_secs: u64,
    /// Share of a kicked operator's bond that is slashed, in basis points (of which
    /// `challenger_share_bps` goes to the caller of `kick`, the rest to `slash_sink`).
    pub kick_slash_bps: u16,
    /// Where batch data goes on L1: `calldata`, `blobs` or `auto` (the cheaper, batch by batch).
    /// A blob batch holds at most six blobs (761,856 bytes) whatever `max_batch_bytes` allows.
    #[serde(default)]
    pub batch_data: BatchData,
}

/// The embedded development L1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DevnetConfig {
    /// Seconds between blocks; 0 mines a block for every transaction as it arrives.
    pub block_time_secs: u64,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Base fee of the first block, in wei (EIP-1559 adjusts it from there).
    pub initial_base_fee: u64,
    /// BIP-39 mnemonic of the prefunded development accounts.
    pub mnemonic: String,
    /// How many accounts (derivation path m/44'/60'/0'/0/i) to prefund.
    pub accounts: u32,
    /// Balance of each development account, in ether.
    pub balance_eth: u64,
    /// Loopback port of the L1 JSON-RPC server (0 picks a free port).
    pub rpc_port: u16,
}

impl ChainConfig {
    /// The devnet preset: short times, the well-known dev accounts, a local L1 with anvil's chain id.
    pub fn devnet() -> Self {
        Self {
            name: "loft-devnet".into(),
            profile: Profile::Eth,
            l1: L1Config {
                chain_id: 31337,
                confirmations: 1,
                tx_timeout_secs: 60,
            },
            l2: L2Config {
                chain_id: 42069,
                block_time_ms: 200,
                base_fee: 1_000_000_000,
                fee_recipient: alloy::primitives::address!(
                    "f39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
                ),
                rpc_port: 8546,
            },
            rollup: RollupConfig {
                challenge_period_secs: 10,
                batch_interval_ms: 2_000,
                max_batch_bytes: 120_000,
                bond_gwei: 1_000_000_000,
                challenger_share_bps: 5_000,
                slash_sink: alloy::primitives::address!("000000000000000000000000000000000000dEaD"),
                response_window_secs: 4,
                exodus_delay_secs: 3600,
                force_inclusion_delay_secs: 30,
                epoch_secs: 60,
                liveness_window_secs: 30,
                kick_slash_bps: 5_000,
                batch_data: BatchData::Auto,
            },
            devnet: DevnetConfig {
                block_time_secs: 0,
                gas_limit: 36_000_000,
                initial_base_fee: 1_000_000_000,
                mnemonic: DEV_MNEMONIC.into(),
                accounts: 10,
                balance_eth: 10_000,
                rpc_port: 8545,
            },
            channels: ChannelsConfig::default(),
            zk: ZkConfig::default(),
        }
    }

    /// A mainnet-like preset: Ethereum mainnet as L1, a 7-day challenge period, batches every
    /// minute. The fee recipient must be set to the operator's account before use.
    pub fn mainnet() -> Self {
        let mut c = Self::devnet();
        c.name = "loft-mainnet".into();
        c.l1 = L1Config {
            chain_id: 1,
            confirmations: 12,
            tx_timeout_secs: 600,
        };
        c.l2.chain_id = 4_206_900;
        c.l2.block_time_ms = 250;
        c.l2.base_fee = 10_000_000;
        c.rollup = RollupConfig {
            challenge_period_secs: 7 * 24 * 3600,
            batch_interval_ms: 60_000,
            max_batch_bytes: 120_000,
            bond_gwei: 10_000_000_000,
            challenger_share_bps: 5_000,
            slash_sink: alloy::primitives::address!("000000000000000000000000000000000000dEaD"),
            response_window_secs: 6 * 3600,
            exodus_delay_secs: 14 * 24 * 3600,
            force_inclusion_delay_secs: 24 * 3600,
            epoch_secs: 24 * 3600,
            liveness_window_secs: 12 * 3600,
            kick_slash_bps: 5_000,
            // Blobs need a verifier that can read them back; loft reads them only from nodes that
            // serve `anvil_getBlobByHash` (no beacon API client yet).
            batch_data: BatchData::Calldata,
        };
        c.channels = ChannelsConfig {
            dispute_window_secs: 24 * 3600,
            penalty_bps: 1_000,
            peer_timeout_secs: 300,
        };
        c.zk = ZkConfig {
            batch_transfers: 64,
            batch_general: 8,
            batch_interval_ms: 60_000,
            force_inclusion_delay_secs: 24 * 3600,
            ..ZkConfig::default()
        };
        c
    }

    /// A preset by name.
    pub fn preset(name: &str) -> Result<Self, ConfigError> {
        match name {
            "devnet" => Ok(Self::devnet()),
            "mainnet" => Ok(Self::mainnet()),
            other => Err(ConfigError::UnknownPreset(other.into())),
        }
    }

    /// Parses a complete configuration from TOML text and validates it.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.into(),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and validates a configuration file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text, &path.display().to_string())
    }

    /// The configuration as TOML, as [`ChainConfig::from_toml`] reads it.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a ChainConfig always serializes")
    }

    /// Checks the values, alone and together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn invalid(field: &'static str, reason: impl Into<String>) -> ConfigError {
            ConfigError::Invalid {
                field,
                reason: reason.into(),
            }
        }
        if self.l1.chain_id == 0 {
            return Err(invalid("l1.chain_id", "must not be 0"));
        }
        if self.channels.dispute_window_secs == 0 {
            return Err(invalid(
                "channels.dispute_window_secs",
                "must be at least 1",
            ));
        }
        if self.channels.penalty_bps > 10_000 {
            return Err(invalid(
                "channels.penalty_bps",
                format!(
                    "{} is more than 10000 (all of the payout)",
                    self.channels.penalty_bps
                ),
            ));
        }
        if self.channels.peer_timeout_secs == 0 {
            return Err(invalid("channels.peer_timeout_secs", "must be at least 1"));
        }
        if self.l2.chain_id == 0 {
            return Err(invalid("l2.chain_id", "must not be 0"));
        }
        if self.l1.chain_id == self.l2.chain_id {
            return Err(invalid(
                "l2.chain_id",
                format!(
                    "must differ from l1.chain_id ({}) so signatures cannot be replayed across layers",
                    self.l1.chain_id
                ),
            ));
        }
        if self.l1.confirmations == 0 {
            return Err(invalid(
                "l1.confirmations",
                "must be at least 1 (1 = included in a block)",
            ));
        }
        if self.l1.tx_timeout_secs == 0 {
            return Err(invalid("l1.tx_timeout_secs", "must be at least 1"));
        }
        if self.l2.block_time_ms == 0 || self.l2.block_time_ms > 60_000 {
            return Err(invalid(
                "l2.block_time_ms",
                format!("{} is not in 1..=60000", self.l2.block_time_ms),
            ));
        }
        if self.l2.base_fee == 0 {
            return Err(invalid("l2.base_fee", "must be at least 1 wei"));
        }
        if self.rollup.challenge_period_secs == 0 {
            return Err(invalid(
                "rollup.challenge_period_secs",
                "must be at least 1 (a batch must be challengeable)",
            ));
        }
        if self.rollup.batch_interval_ms == 0 {
            return Err(invalid("rollup.batch_interval_ms", "must be at least 1"));
        }
        if !(1_000..=1_000_000).contains(&self.rollup.max_batch_bytes) {
            return Err(invalid(
                "rollup.max_batch_bytes",
                format!(
                    "{} is not in 1000..=1000000 (a batch must fit in one L1 transaction)",
                    self.rollup.max_batch_bytes
                ),
            ));
        }
        if self.rollup.challenger_share_bps > 10_000 {
            return Err(invalid(
                "rollup.challenger_share_bps",
                format!("{} is above 10000 (100%)", self.rollup.challenger_share_bps),
            ));
        }
        if self.rollup.response_window_secs == 0
            || self.rollup.response_window_secs >= self.rollup.challenge_period_secs
        {
            return Err(invalid(
                "rollup.response_window_secs",
                format!(
                    "{} must be at least 1 and below the challenge period ({} s), so an opening request can be made and answered within it",
                    self.rollup.response_window_secs, self.rollup.challenge_period_secs
                ),
            ));
        }
        for (field, value) in [
            (
                "rollup.force_inclusion_delay_secs",
                self.rollup.force_inclusion_delay_secs,
            ),
            ("rollup.epoch_secs", self.rollup.epoch_secs),
            (
                "rollup.liveness_window_secs",
                self.rollup.liveness_window_secs,
            ),
        ] {
            if value == 0 {
                return Err(invalid(field, "must be at least 1"));
            }
        }
        if self.rollup.kick_slash_bps > 10_000 {
            return Err(invalid(
                "rollup.kick_slash_bps",
                format!("{} is above 10000 (100%)", self.rollup.kick_slash_bps),
            ));
        }
        // The exodus delay must outlast every delay an honest system is allowed before a batch is
        // final: a message may wait the force-inclusion delay, a dead operator may go unnoticed
        // for the liveness window before its successor takes over, and the batch that follows
        // needs the challenge period.
        let honest_delay = self
            .rollup
            .challenge_period_secs
            .saturating_add(self.rollup.force_inclusion_delay_secs)
            .saturating_add(self.rollup.liveness_window_secs);
        if self.rollup.exodus_delay_secs <= honest_delay {
            return Err(invalid(
                "rollup.exodus_delay_secs",
                format!(
                    "{} must be above challenge period + force-inclusion delay + liveness window ({} + {} + {} = {} s): otherwise the rollup could be frozen while honest operators are still within their delays",
                    self.rollup.exodus_delay_secs,
                    self.rollup.challenge_period_secs,
                    self.rollup.force_inclusion_delay_secs,
                    self.rollup.liveness_window_secs,
                    honest_delay
                ),
            ));
        }
        let d = &self.devnet;
        if d.gas_limit < 1_000_000 {
            return Err(invalid(
                "devnet.gas_limit",
                format!("{} is below the minimum of 1000000", d.gas_limit),
            ));
        }
        if d.initial_base_fee == 0 {
            return Err(invalid("devnet.initial_base_fee", "must be at least 1 wei"));
        }
        if d.accounts == 0 || d.accounts > 1000 {
            return Err(invalid(
                "devnet.accounts",
                format!("{} is not in 1..=1000", d.accounts),
            ));
        }
        let words = d.mnemonic.split_whitespace().count();
        if !words.is_multiple_of(3) || words < 12 {
            return Err(invalid(
                "devnet.mnemonic",
                "must be a BIP-39 phrase of 12, 15, 18, 21 or 24 words",
            ));
        }
        let z = &self.zk;
        if !z.tree_depth.is_multiple_of(2) || !(8..=24).contains(&z.tree_depth) {
            return Err(invalid(
                "zk.tree_depth",
                format!(
                    "{} is not an even number in 8..=24 (the tree is quaternary)",
                    z.tree_depth
                ),
            ));
        }
        if !(1..=1024).contains(&z.batch_transfers) {
            return Err(invalid(
                "zk.batch_transfers",
                format!("{} is not in 1..=1024", z.batch_transfers),
            ));
        }
        if !(1..=256).contains(&z.batch_general) {
            return Err(invalid(
                "zk.batch_general",
                format!("{} is not in 1..=256", z.batch_general),
            ));
        }
        if z.batch_interval_ms == 0 {
            return Err(invalid("zk.batch_interval_ms", "must be at least 1"));
        }
        if z.force_inclusion_delay_secs == 0 {
            return Err(invalid(
                "zk.force_inclusion_delay_secs",
                "must be at least 1",
            ));
        }
        Ok(())
    }

    /// The poster bond in wei.
    pub fn bond_wei(&self) -> alloy::primitives::U256 {
        alloy::primitives::U256::from(self.rollup.bond_gwei)
            * alloy::primitives::U256::from(1_000_000_000u64)
    }

    /// Balance of each development account, in wei.
    pub fn dev_balance_wei(&self) -> alloy::primitives::U256 {
        alloy::primitives::U256::from(self.devnet.balance_eth)
            * alloy::primitives::U256::from(10u64).pow(alloy::primitives::U256::from(18u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devnet_preset_round_trips_through_toml() {
        let c = ChainConfig::devnet();
        c.validate().unwrap();
        let back = ChainConfig::from_toml(&c.to_toml(), "test").unwrap();
        assert_eq!(c, back);
    }

    #[test]
    fn malformed_toml_names_file_and_position() {
        let err =
            ChainConfig::from_toml("name = \"x\"\n[l1\nchain_id = 1", "bad.toml").unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, ConfigError::Parse { .. }), "{msg}");
        assert!(msg.contains("bad.toml") && msg.contains("line"), "{msg}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let text = ChainConfig::devnet()
            .to_toml()
            .replace("[l2]", "[l2]\nchian_id = 5");
        let err = ChainConfig::from_toml(&text, "typo.toml").unwrap_err();
        assert!(err.to_string().contains("chian_id"), "{err}");
    }

    #[test]
    fn same_chain_id_on_both_layers_is_rejected() {
        let mut c = ChainConfig::devnet();
        c.l2.chain_id = c.l1.chain_id;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Invalid {
                field: "l2.chain_id",
                ..
            })
        ));
    }

    #[test]
    fn a_response_window_longer_than_the_challenge_period_is_rejected() {
        let mut c = ChainConfig::devnet();
        c.rollup.response_window_secs = c.rollup.challenge_period_secs;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::Invalid {
                field: "rollup.response_window_secs",
                ..
            })
        ));
        ChainConfig::mainnet().validate().unwrap();
        let mainnet = ChainConfig::mainnet();
        assert_eq!(
            ChainConfig::from_toml(&mainnet.to_toml(), "m").unwrap(),
            mainnet
        );
    }

    #[test]
    fn an_exodus_delay_not_above_every_honest_delay_is_rejected() {
        for preset in [ChainConfig::devnet(), ChainConfig::mainnet()] {
            let mut c = preset;
            let honest = c.rollup.challenge_period_secs
                + c.rollup.force_inclusion_delay_secs
                + c.rollup.liveness_window_secs;
            assert!(c.rollup.exodus_delay_secs > honest);
            c.rollup.exodus_delay_secs = honest;
            let err = c.validate().unwrap_err();
            assert!(
                matches!(
                    err,
                    ConfigError::Invalid {
                        field: "rollup.exodus_delay_secs",
                        ..
                    }
                ),
                "{err}"
            );
            c.rollup.exodus_delay_secs += 1;
            c.validate().unwrap();
        }
        assert_eq!(
            ChainConfig::mainnet().rollup.exodus_delay_secs,
            14 * 24 * 3600
        );
    }

    #[test]
    fn liveness_parameters_are_checked() {
        let zero = |f: fn(&mut ChainConfig), field: &str| {
            let mut c = ChainConfig::devnet();
            f(&mut c);
            match c.validate() {
                Err(ConfigError::Invalid { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}: {other:?}"),
            }
        };
        zero(
            |c| c.rollup.force_inclusion_delay_secs = 0,
            "rollup.force_inclusion_delay_secs",
        );
        zero(|c| c.rollup.epoch_secs = 0, "rollup.epoch_secs");
        zero(
            |c| c.rollup.liveness_window_secs = 0,
            "rollup.liveness_window_secs",
        );
        zero(
            |c| c.rollup.kick_slash_bps = 10_001,
            "rollup.kick_slash_bps",
        );
        // A long force-inclusion delay pushes the exodus delay up with it.
        zero(
            |c| c.rollup.force_inclusion_delay_secs = c.rollup.exodus_delay_secs,
            "rollup.exodus_delay_secs",
        );
    }

    #[test]
    fn zk_section_round_trips_through_toml() {
        let mut c = ChainConfig::devnet();
        c.profile = Profile::Zk;
        c.zk.proving_key = Some("/keys/zk.pk".into());
        c.zk.fee_account_key = Some(alloy::primitives::B256::repeat_byte(0x2a));
        c.zk.tree_depth = 16;
        let text = c.to_toml();
        assert!(text.contains("profile = \"zk\""), "{text}");
        assert!(text.contains("[zk]"), "{text}");
        assert_eq!(ChainConfig::from_toml(&text, "zk.toml").unwrap(), c);
        // The presets (no proving key, no fee account key) round trip too.
        for preset in [ChainConfig::devnet(), ChainConfig::mainnet()] {
            assert_eq!(
                ChainConfig::from_toml(&preset.to_toml(), "p").unwrap(),
                preset
            );
        }
        assert_eq!(ChainConfig::mainnet().zk.batch_transfers, 64);
        assert_eq!(ChainConfig::mainnet().zk.batch_general, 8);
        let err = ChainConfig::from_toml(&text.replace("zk\"", "zkk\""), "p").unwrap_err();
        assert!(matches!(err, ConfigError::Parse { .. }), "{err}");
    }

    #[test]
    fn a_file_without_profile_or_zk_still_parses() {
        let mut text = ChainConfig::devnet().to_toml();
        let zk = text.find("[zk]").expect("a [zk] table");
        text.truncate(zk);
        let text = text.replace("profile = \"eth\"\n", "");
        assert!(
            !text.contains("profile") && !text.contains("[zk]"),
            "{text}"
        );
        let c = ChainConfig::from_toml(&text, "old.toml").unwrap();
        assert_eq!(c, ChainConfig::devnet());
        assert_eq!(c.profile, Profile::Eth);
        assert_eq!(c.zk, ZkConfig::default());
    }

    #[test]
    fn zk_values_out_of_range_are_refused() {
        let refused = |f: fn(&mut ZkConfig), field: &str| {
            let mut c = ChainConfig::devnet();
            f(&mut c.zk);
            match c.validate() {
                Err(ConfigError::Invalid { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{field}: {other:?}"),
            }
        };
        refused(|z| z.tree_depth = 6, "zk.tree_depth");
        refused(|z| z.tree_depth = 26, "zk.tree_depth");
        refused(|z| z.tree_depth = 15, "zk.tree_depth");
        refused(|z| z.batch_transfers = 0, "zk.batch_transfers");
        refused(|z| z.batch_transfers = 1025, "zk.batch_transfers");
        refused(|z| z.batch_general = 0, "zk.batch_general");
        refused(|z| z.batch_general = 257, "zk.batch_general");
        refused(|z| z.batch_interval_ms = 0, "zk.batch_interval_ms");
        refused(
            |z| z.force_inclusion_delay_secs = 0,
            "zk.force_inclusion_delay_secs",
        );
        let mut c = ChainConfig::devnet();
        for depth in [8, 24] {
            c.zk.tree_depth = depth;
            c.zk.batch_transfers = 1024;
            c.zk.batch_general = 256;
            c.validate().unwrap();
        }
    }

    #[test]
    fn load_reports_missing_file() {
        let err = ChainConfig::load(Path::new("/nonexistent/loft.toml")).unwrap_err();
        assert!(matches!(err, ConfigError::Io { .. }));
    }

    #[test]
    fn documented_devnet_preset_is_the_code() {
        let doc = include_str!("../../../docs/configuration.md");
        let start = doc
            .find("```toml\n")
            .expect("a toml block in docs/configuration.md")
            + 8;
        let end = start + doc[start..].find("```").expect("end of the toml block");
        let documented = ChainConfig::from_toml(&doc[start..end], "docs/configuration.md").unwrap();
        assert_eq!(
            documented,
            ChainConfig::devnet(),
            "docs/configuration.md shows another devnet preset"
        );
        for field in [
            "chain_id",
            "confirmations",
            "tx_timeout_secs",
            "block_time_secs",
            "gas_limit",
            "initial_base_fee",
            "mnemonic",
            "accounts",
            "balance_eth",
            "rpc_port",
            "block_time_ms",
            "base_fee",
            "fee_recipient",
            "challenge_period_secs",
            "batch_interval_ms",
            "max_batch_bytes",
            "bond_gwei",
            "challenger_share_bps",
            "slash_sink",
            "response_window_secs",
            "exodus_delay_secs",
            "force_inclusion_delay_secs",
            "epoch_secs",
            "liveness_window_secs",
            "kick_slash_bps",
        ] {
            assert!(
                doc.contains(&format!(".{field}`")),
                "docs/configuration.md does not describe `{field}`"
            );
        }
        for field in [
            "`profile`",
            "`zk.tree_depth`",
            "`zk.batch_transfers`",
            "`zk.batch_general`",
            "`zk.batch_interval_ms`",
            "`zk.force_inclusion_delay_secs`",
            "`zk.proving_key`",
            "`zk.devnet_setup_seed`",
            "`zk.fee_account_key`",
        ] {
            assert!(
                doc.contains(field),
                "docs/configuration.md does not describe {field}"
            );
        }
    }

    #[test]
    fn dev_balance_is_in_wei() {
        let c = ChainConfig::devnet();
        assert_eq!(
            c.dev_balance_wei(),
            alloy::primitives::U256::from(10_000u64)
                * alloy::primitives::U256::from(10u64).pow(alloy::primitives::U256::from(18u64))
        );
    }
}
