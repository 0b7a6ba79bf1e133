//! Test harness for loft's end-to-end tests: real processes (the `loft` binary, anvil, cast) on
//! free loopback ports, each stopped by its pid when the guard drops, each with its own temporary
//! folders. Scenarios live beside this file in `tests/*.rs`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use loft_contracts::Deployment;

pub mod suite;

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A pinned Foundry tool (`anvil`, `cast`, `forge`): `$ANVIL` / `$CAST` / `$FORGE`, else the copy
/// `scripts/install-tools.sh` put under `contracts/node_modules`.
pub fn foundry_tool(name: &str) -> PathBuf {
    if let Ok(path) = std::env::var(name.to_uppercase()) {
        return PathBuf::from(path);
    }
    let path = repo_root()
        .join("contracts/node_modules/@foundry-rs")
        .join(format!("{name}-linux-amd64"))
        .join("bin")
        .join(name);
    assert!(
        path.exists(),
        "{} not found: run scripts/install-tools.sh first",
        path.display()
    );
    path
}

/// The `loft` binary under test: cargo builds it for the scenarios and passes its path at compile
/// time; `$LOFT_BIN` overrides (to test an installed binary).
#[macro_export]
macro_rules! loft_bin {
    () => {
        std::env::var_os("LOFT_BIN")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| env!("CARGO_BIN_EXE_loft").into())
    };
}

/// A free loopback TCP port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// The development keys (anvil's and the embedded L1's): m/44'/60'/0'/0/i of the test mnemonic.
pub fn dev_key(i: u32) -> PrivateKeySigner {
    loft_l1_embedded::dev_keys(loft_config::DEV_MNEMONIC, i + 1)
        .expect("dev keys")
        .pop()
        .expect("one key")
}

/// Polls `f` every 50 ms until it returns `Some`, at most `timeout`.
pub fn wait_until<T>(timeout: Duration, what: &str, f: impl FnMut() -> Option<T>) -> T {
    wait_until_explained(timeout, what, f, String::new)
}

/// [`wait_until`], and on timeout the panic message carries `explain()` (a process's log, say).
pub fn wait_until_explained<T>(
    timeout: Duration,
    what: &str,
    mut f: impl FnMut() -> Option<T>,
    explain: impl Fn() -> String,
) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        if start.elapsed() >= timeout {
            panic!(
                "timed out after {timeout:?} waiting for {what}\n{}",
                explain()
            );
        }
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

fn rpc_answers(url: &str) -> bool {
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#;
    http_post(url, body)
        .map(|r| r.contains("result"))
        .unwrap_or(false)
}

/// A minimal HTTP/1.1 POST over a plain socket; returns the whole response (headers and body).
pub fn http_post(url: &str, body: &str) -> std::io::Result<String> {
    raw_request(url, format!(
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ).as_bytes())
}

/// Sends raw bytes to the host:port of `url` and reads until the peer closes.
pub fn raw_request(url: &str, bytes: &[u8]) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let hostport = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(hostport)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(bytes)?;
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A running anvil on a free port with its own HOME (anvil writes state snapshots there), killed
/// by pid on drop.
pub struct Anvil {
    child: Child,
    /// JSON-RPC URL.
    pub url: String,
    _home: tempfile::TempDir,
}

impl Anvil {
    /// Starts anvil with the Osaka hardfork and `chain_id`, and waits until it answers.
    pub fn start(chain_id: u64) -> Self {
        Self::start_with(chain_id, &[])
    }

    /// Like [`Anvil::start`], with extra anvil arguments (for example `--block-time 1`).
    pub fn start_with(chain_id: u64, extra: &[&str]) -> Self {
        let home = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let child = Command::new(foundry_tool("anvil"))
            .args([
                "--port",
                &port.to_string(),
                "--chain-id",
                &chain_id.to_string(),
                "--hardfork",
                "osaka",
            ])
            .args(["--host", "127.0.0.1"])
            .args(extra)
            .env("HOME", home.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn anvil");
        let url = format!("http://127.0.0.1:{port}");
        let mut anvil = Self {
            child,
            url,
            _home: home,
        };
        wait_until(
            Duration::from_secs(20),
            "anvil to answer eth_chainId",
            || {
                if let Ok(Some(status)) = anvil.child.try_wait() {
                    panic!("anvil exited early: {status}");
                }
                rpc_answers(&anvil.url).then_some(())
            },
        );
        anvil
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `loft devnet` running as a real process, killed by pid on drop.
pub struct Devnet {
    child: Child,
    /// The L1 JSON-RPC URL it serves.
    pub url: String,
    /// The L2 node's JSON-RPC URL.
    pub l2_url: String,
    /// What it deployed.
    pub deployment: Deployment,
    /// Its temporary folder (deployment file, logs).
    pub dir: tempfile::TempDir,
    /// Time from spawn until the deployment file appeared.
    pub ready_after: Duration,
}

impl Devnet {
    /// Starts `loft devnet` on the embedded L1 with `extra` arguments and waits until it has
    /// deployed.
    pub fn start(loft: &Path, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("deployment.json");
        let log = std::fs::File::create(dir.path().join("devnet.log")).expect("log file");
        let started = Instant::now();
        let mut child = Command::new(loft)
            // Its own temporary folders (the L2 node's, without --data-dir) go inside ours, so
            // they are removed with it: drop kills the process, which then cannot remove them.
            .env("TMPDIR", dir.path())
            .args([
                "devnet",
                "--l1-port",
                "0",
                "--l2-port",
                "0",
                "--deployment-out",
            ])
            .arg(&out)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn loft devnet");
        let value: serde_json::Value =
            wait_until(Duration::from_secs(60), "loft devnet to deploy", || {
                if let Ok(Some(status)) = child.try_wait() {
                    let log =
                        std::fs::read_to_string(dir.path().join("devnet.log")).unwrap_or_default();
                    panic!("loft devnet exited early ({status}):\n{log}");
                }
                let text = std::fs::read_to_string(&out).ok()?;
                serde_json::from_str(&text).ok()
            });
        let ready_after = started.elapsed();
        let url = value["l1_rpc_url"]
            .as_str()
            .expect("l1_rpc_url")
            .to_string();
        let l2_url = value["l2_rpc_url"]
            .as_str()
            .expect("l2_rpc_url")
            .to_string();
        let deployment: Deployment = serde_json::from_value(value).expect("deployment");
        Self {
            child,
            url,
            l2_url,
            deployment,
            dir,
            ready_after,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts `loft devnet --data-dir <data_dir>` with `extra` arguments, like [`Devnet::start`].
    /// The chain and the L2 database stay in the caller's `data_dir` (which outlives this guard),
    /// so a later `start_in` on the same folder continues them; [`Devnet::dir`] is a fresh
    /// temporary folder for the log and the deployment file of this run only.
    pub fn start_in(loft: &Path, data_dir: &Path, extra: &[&str]) -> Self {
        let data_dir = data_dir.to_str().expect("data dir is UTF-8");
        let mut args = vec!["--data-dir", data_dir];
        args.extend_from_slice(extra);
        Self::start(loft, &args)
    }

    /// Kills the process with SIGKILL (no shutdown path runs) and waits until it is gone.
    pub fn kill_9(&mut self) {
        run_ok(Command::new("kill").args(["-9", &self.pid().to_string()]));
        let _ = self.child.wait();
    }

    /// The process's log (stderr) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("devnet.log")).unwrap_or_default()
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `loft` with arguments to completion (bounded by `timeout`) and returns its output.
pub fn run_loft(loft: &Path, args: &[&str], timeout: Duration) -> Output {
    let mut child = Command::new(loft)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn loft");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "loft {args:?} did not finish within {timeout:?}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::park_timeout(Duration::from_millis(50));
    }
}

/// Runs a command to completion and returns its trimmed stdout, failing the test with its stderr
/// and stdout when it exits non-zero.
pub fn run_ok(command: &mut Command) -> String {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs `cast` with arguments and returns stdout, failing the test with stderr on error.
pub fn cast(args: &[&str]) -> String {
    run_ok(Command::new(foundry_tool("cast")).args(args))
}

/// Address of a dev account.
pub fn dev_address(i: u32) -> Address {
    dev_key(i).address()
}

/// The zk profile's small test configuration: the devnet preset with a depth-8 tree and batches of
/// two transfer and two general slots, so that the insecure devnet proving key takes seconds.
pub fn small_zk_config() -> loft_config::ChainConfig {
    let mut c = loft_config::ChainConfig::devnet();
    c.profile = loft_config::Profile::Zk;
    c.zk.tree_depth = 8;
    c.zk.batch_transfers = 2;
    c.zk.batch_general = 2;
    c
}

/// Writes [`small_zk_config`] as TOML to `path` and returns the path.
pub fn write_small_zk_config(path: &Path) -> PathBuf {
    std::fs::write(path, small_zk_config().to_toml()).expect("write the zk config");
    path.to_path_buf()
}

/// `loft devnet` with the zk profile running as a real process (stdout and stderr in files of
/// its own temporary folder, so the demo's lines can be read), killed by pid on drop.
pub struct ZkDevnet {
    child: Child,
    /// The L1 JSON-RPC URL it serves.
    pub l1_url: String,
    /// The zk node's JSON-RPC URL.
    pub l2_url: String,
    /// `ZkRollup`'s address.
    pub rollup: Address,
    /// The Groth16 verifier's address.
    pub verifier: Address,
    /// The L1 block that deployed the rollup.
    pub deploy_block: u64,
    /// Its temporary folder (config, deployment file, stdout, log).
    pub dir: tempfile::TempDir,
    /// Time from spawn until the deployment file appeared (the proving key included).
    pub ready_after: Duration,
}

impl ZkDevnet {
    /// Starts `loft devnet --config <small zk config>` with `extra` arguments (for example
    /// `--no-demo`) and waits until it has deployed and its zk node answers.
    pub fn start(loft: &Path, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = write_small_zk_config(&dir.path().join("zk.toml"));
        let out = dir.path().join("deployment.json");
        let stdout = std::fs::File::create(dir.path().join("devnet.out")).expect("stdout file");
        let log = std::fs::File::create(dir.path().join("devnet.log")).expect("log file");
        let started = Instant::now();
        let mut child = Command::new(loft)
            // As for `Devnet`: the zk node's temporary folder (proving keys) goes inside ours.
            .env("TMPDIR", dir.path())
            .arg("devnet")
            .arg("--config")
            .arg(&config)
            .args(["--l1-port", "0", "--l2-port", "0", "--deployment-out"])
            .arg(&out)
            .args(extra)
            .stdout(stdout)
            .stderr(log)
            .spawn()
            .expect("spawn loft devnet");
        let value: serde_json::Value = wait_until(
            Duration::from_secs(300),
            "loft devnet (zk) to deploy",
            || {
                if let Ok(Some(status)) = child.try_wait() {
                    let log =
                        std::fs::read_to_string(dir.path().join("devnet.log")).unwrap_or_default();
                    panic!("loft devnet (zk) exited early ({status}):\n{log}");
                }
                let text = std::fs::read_to_string(&out).ok()?;
                serde_json::from_str(&text).ok()
            },
        );
        let ready_after = started.elapsed();
        assert_eq!(value["profile"], "zk", "deployment file: {value}");
        let text = |v: &serde_json::Value| {
            v.as_str()
                .unwrap_or_else(|| panic!("deployment file: {value}"))
                .to_string()
        };
        let address = |v: &serde_json::Value| -> Address {
            text(v)
                .parse()
                .unwrap_or_else(|e| panic!("{e}: deployment file {value}"))
        };
        let devnet = Self {
            l1_url: text(&value["l1_rpc_url"]),
            l2_url: text(&value["l2_rpc_url"]),
            rollup: address(&value["zk"]["rollup"]),
            verifier: address(&value["zk"]["verifier"]),
            deploy_block: value["zk"]["deploy_block"]
                .as_u64()
                .unwrap_or_else(|| panic!("deploy_block: {value}")),
            child,
            dir,
            ready_after,
        };
        wait_until(Duration::from_secs(60), "the zk node to answer", || {
            devnet.try_rpc("loft_zkStatus", serde_json::json!([])).ok()
        });
        devnet
    }

    /// Starts it with `--data-dir <data_dir>` (chain, journal and proving key survive restarts),
    /// like [`ZkDevnet::start`]; [`ZkDevnet::dir`] holds only this run's files.
    pub fn start_in(loft: &Path, data_dir: &Path, extra: &[&str]) -> Self {
        let data_dir = data_dir.to_str().expect("data dir is UTF-8");
        let mut args = vec!["--data-dir", data_dir];
        args.extend_from_slice(extra);
        Self::start(loft, &args)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process with SIGKILL (no shutdown path runs) and waits until it is gone.
    pub fn kill_9(&mut self) {
        run_ok(Command::new("kill").args(["-9", &self.pid().to_string()]));
        let _ = self.child.wait();
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Its stdout so far (the summary and the demo's lines).
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("devnet.out")).unwrap_or_default()
    }

    /// Its log (stderr) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("devnet.log")).unwrap_or_default()
    }

    /// The zk config it runs with.
    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("zk.toml")
    }

    /// A JSON-RPC call to the zk node: the whole response object (`result` or `error`), or why
    /// there was none.
    pub fn try_rpc(
        &self,
        method: &str,
        params: serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let body =
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
                .to_string();
        let response = http_post(&self.l2_url, &body).map_err(|e| e.to_string())?;
        let body = response
            .find("\r\n\r\n")
            .map(|i| &response[i + 4..])
            .ok_or_else(|| format!("no HTTP body: {response:?}"))?;
        serde_json::from_str(body).map_err(|e| format!("{e}: {response:?}"))
    }

    /// A JSON-RPC call that must succeed: its `result`.
    pub fn rpc(&self, method: &str, params: serde_json::Value) -> serde_json::Value {
        let v = self
            .try_rpc(method, params.clone())
            .unwrap_or_else(|e| panic!("{method} {params}: {e}"));
        assert!(v.get("error").is_none(), "{method} {params} failed: {v}");
        v["result"].clone()
    }

    /// `loft zk --rpc .. --l1-rpc .. --dev-account <account> <args>`: its stdout, failing the test
    /// with its output when it exits non-zero.
    pub fn wallet(&self, loft: &Path, account: u32, args: &[&str], timeout: Duration) -> String {
        let n = account.to_string();
        let mut all = vec![
            "zk",
            "--rpc",
            &self.l2_url,
            "--l1-rpc",
            &self.l1_url,
            "--dev-account",
            &n,
        ];
        all.extend_from_slice(args);
        let out = run_loft(loft, &all, timeout);
        assert!(
            out.status.success(),
            "loft {all:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for ZkDevnet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
