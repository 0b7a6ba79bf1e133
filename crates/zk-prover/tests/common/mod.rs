//! What the zk-prover's EVM tests share: the repository's pinned solc and a revm chain with
//! Osaka rules.

#![allow(dead_code, unreachable_pub)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use revm::context::result::{ExecutionResult, Output};
use revm::context::{CfgEnv, ContextTr, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{Address, Bytes, Log, TxKind, U256, hex, keccak256};
use revm::state::AccountInfo;
use revm::{Context, ExecuteCommitEvm, MainBuilder, MainContext};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// Compiles Solidity sources with the repository's solc (the `scripts/solc` wrapper around the
/// solc-js that `scripts/install-tools.sh` puts in `contracts/node_modules`, with the settings of
/// `contracts/foundry.toml`) and returns the creation bytecode of `contract`.
pub fn compile(file: &str, source: &str, contract: &str) -> Vec<u8> {
    let root = repo_root();
    let wrapper = root.join("scripts/solc");
    let solc_js = root.join("contracts/node_modules/solc/package.json");
    assert!(
        solc_js.exists(),
        "solc-js is not installed ({} is missing): run scripts/install-tools.sh first",
        solc_js.display()
    );
    let input = serde_json::json!({
        "language": "Solidity",
        "sources": { file: { "content": source } },
        "settings": {
            "optimizer": { "enabled": true, "runs": 200 },
            "evmVersion": "osaka",
            "outputSelection": { "*": { "*": ["evm.bytecode.object"] } },
        },
    });
    let mut child = Command::new("node")
        .arg(&wrapper)
        .arg("--standard-json")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run `node {}` ({e}): solc needs node and scripts/install-tools.sh",
                wrapper.display()
            )
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write solc input");
    let out = child.wait_with_output().expect("solc");
    assert!(
        out.status.success(),
        "solc failed (run scripts/install-tools.sh?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let output: serde_json::Value = serde_json::from_slice(&out.stdout).expect("solc JSON output");
    // solc reports errors and warnings in one list, told apart by severity.
    let messages = |severity: &str| -> Vec<String> {
        output["errors"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["severity"] == severity)
            .map(|e| {
                e["formattedMessage"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect()
    };
    let errors = messages("error");
    assert!(
        errors.is_empty(),
        "solc errors:\n{}\n{source}",
        errors.join("\n")
    );
    let warnings = messages("warning");
    assert!(
        warnings.is_empty(),
        "solc warnings:\n{}",
        warnings.join("\n")
    );
    let object = output["contracts"][file][contract]["evm"]["bytecode"]["object"]
        .as_str()
        .expect("bytecode in solc output");
    hex::decode(object).expect("hex bytecode")
}

/// The gas a transaction pays before execution: 21000 and its calldata (4 a zero byte, 16 any
/// other; far above EIP-7623's floor for these calls).
pub fn intrinsic_gas(data: &[u8]) -> u64 {
    21_000
        + data
            .iter()
            .map(|&b| if b == 0 { 4 } else { 16 })
            .sum::<u64>()
}

pub fn selector(signature: &str) -> [u8; 4] {
    keccak256(signature.as_bytes())[..4]
        .try_into()
        .expect("4 bytes")
}

/// `selector ‖ words` calldata (every argument static).
pub fn call(signature: &str, words: &[U256]) -> Vec<u8> {
    let mut data = selector(signature).to_vec();
    for w in words {
        data.extend_from_slice(&w.to_be_bytes::<32>());
    }
    data
}

/// What a transaction did.
pub enum Outcome {
    Success {
        out: Bytes,
        gas: u64,
        logs: Vec<Log>,
    },
    Revert(Bytes),
    Halt(String),
}

/// A fresh revm chain with Osaka rules.
pub struct Evm {
    pub evm: revm::handler::MainnetEvm<revm::handler::MainnetContext<CacheDB<EmptyDB>>>,
}

impl Evm {
    pub fn new() -> Self {
        let mut cfg = CfgEnv::default();
        cfg.set_spec_and_mainnet_gas_params(SpecId::OSAKA);
        cfg.disable_nonce_check = true;
        let evm = Context::mainnet()
            .with_db(CacheDB::new(EmptyDB::default()))
            .with_cfg(cfg)
            .build_mainnet();
        Self { evm }
    }

    pub fn fund(&mut self, who: Address, wei: u128) {
        self.evm.ctx.db_mut().insert_account_info(
            who,
            AccountInfo {
                balance: U256::from(wei),
                ..Default::default()
            },
        );
    }

    pub fn balance(&mut self, who: Address) -> U256 {
        self.evm
            .ctx
            .db_mut()
            .load_account(who)
            .expect("account")
            .info
            .balance
    }

    /// A transaction at gas price 0 (so ETH balances move only by value).
    pub fn send(&mut self, from: Address, kind: TxKind, data: Vec<u8>, value: u128) -> Outcome {
        let tx = TxEnv::builder()
            .caller(from)
            .kind(kind)
            .data(Bytes::from(data))
            .value(U256::from(value))
            .gas_limit(15_000_000)
            .gas_price(0)
            .build_fill();
        match self.evm.transact_commit(tx).expect("transaction") {
            ExecutionResult::Success {
                output, gas, logs, ..
            } => {
                let out = match output {
                    Output::Call(out) => out,
                    Output::Create(out, _) => out,
                };
                Outcome::Success {
                    out,
                    gas: gas.tx_gas_used(),
                    logs,
                }
            }
            ExecutionResult::Revert { output, .. } => Outcome::Revert(output),
            other => Outcome::Halt(format!("{other:?}")),
        }
    }

    pub fn deploy(&mut self, from: Address, code: Vec<u8>) -> Address {
        let tx = TxEnv::builder()
            .caller(from)
            .kind(TxKind::Create)
            .data(Bytes::from(code))
            .gas_limit(15_000_000)
            .gas_price(0)
            .build_fill();
        match self.evm.transact_commit(tx).expect("deploy transaction") {
            ExecutionResult::Success {
                output: Output::Create(_, Some(address)),
                ..
            } => address,
            other => panic!("deployment failed: {other:?}"),
        }
    }

    #[track_caller]
    pub fn ok(
        &mut self,
        from: Address,
        to: Address,
        data: Vec<u8>,
        value: u128,
    ) -> (Bytes, u64, Vec<Log>) {
        match self.send(from, TxKind::Call(to), data, value) {
            Outcome::Success { out, gas, logs } => (out, gas, logs),
            Outcome::Revert(out) => panic!("call reverted: {out}"),
            Outcome::Halt(why) => panic!("call halted: {why}"),
        }
    }

    /// A view returning one word.
    #[track_caller]
    pub fn view(&mut self, to: Address, signature: &str, args: &[U256]) -> U256 {
        let (out, _, _) = self.ok(Address::ZERO, to, call(signature, args), 0);
        U256::from_be_slice(&out[..32])
    }
}
