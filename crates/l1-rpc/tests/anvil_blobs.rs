//! The JSON-RPC backend against a real anvil (Osaka): a blob transaction sent with its sidecar,
//! its blobs read back by versioned hash, its versioned hashes seen on the mined transaction.
//!
//! anvil comes from `$ANVIL`, else the copy `scripts/install-tools.sh` puts under
//! `contracts/node_modules` (`. scripts/env.sh` sets `$ANVIL`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::eips::eip4844::env_settings::EnvKzgSettings;
use alloy::eips::eip4844::{Blob, BlobTransactionSidecar, DATA_GAS_PER_BLOB};
use alloy::network::{TransactionBuilder, TransactionBuilder4844};
use alloy::primitives::{Address, B256};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use loft_l1::{L1Client, L1Error};
use loft_l1_rpc::{RpcL1, RpcL1Config};

/// anvil's first development key (the test mnemonic's m/44'/60'/0'/0/0).
const DEV_KEY_0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

fn anvil_path() -> PathBuf {
    if let Ok(path) = std::env::var("ANVIL") {
        return path.into();
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    assert!(
        path.exists(),
        "{} not found: run scripts/install-tools.sh first (or set $ANVIL)",
        path.display()
    );
    path
}

/// anvil on a free port with its own HOME (removed on drop), killed by pid on drop.
struct Anvil {
    child: Child,
    url: String,
    home: PathBuf,
}

impl Anvil {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let home = std::env::temp_dir().join(format!("loft-anvil-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&home).unwrap();
        let child = Command::new(anvil_path())
            .args(["--port", &port.to_string(), "--hardfork", "osaka"])
            .args(["--host", "127.0.0.1"])
            .env("HOME", &home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn anvil");
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            home,
        }
    }

    async fn connect(&mut self) -> RpcL1 {
        let key: PrivateKeySigner = DEV_KEY_0.parse().unwrap();
        let started = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("anvil exited early: {status}");
            }
            let mut config = RpcL1Config::new(self.url.clone());
            config.retries = 0;
            match RpcL1::connect(config, key.clone()).await {
                Ok(l1) => return l1,
                Err(e) if started.elapsed() < Duration::from_secs(20) => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("anvil did not answer within 20 s: {e}"),
            }
        }
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// A blob of known bytes, every field element's first byte 0.
fn blob(seed: u8) -> Blob {
    let mut blob = Blob::ZERO;
    for (i, byte) in blob.iter_mut().enumerate() {
        if i % 32 != 0 {
            *byte = seed.wrapping_mul(31).wrapping_add((i % 251) as u8);
        }
    }
    blob
}

#[tokio::test]
async fn blob_transaction_round_trip_on_anvil() {
    let mut anvil = Anvil::start();
    let l1 = anvil.connect().await;
    let blobs = vec![blob(1), blob(2)];
    let sidecar = BlobTransactionSidecar::try_from_blobs_with_settings(
        blobs.clone(),
        EnvKzgSettings::Default.get(),
    )
    .unwrap();
    let hashes: Vec<B256> = sidecar.versioned_hashes().collect();

    let fee = l1.blob_base_fee().await.unwrap();
    assert!(fee >= 1, "blob base fee {fee}");
    let receipt = l1
        .send_transaction(
            TransactionRequest::default()
                .with_to(Address::repeat_byte(0xb1))
                .with_blob_sidecar_4844(sidecar),
        )
        .await
        .unwrap();
    assert!(receipt.status());
    assert_eq!(receipt.blob_gas_used, Some(2 * DATA_GAS_PER_BLOB));

    let tx = l1
        .transaction(receipt.transaction_hash)
        .await
        .unwrap()
        .expect("mined");
    assert_eq!(tx.blob_versioned_hashes, hashes);
    for (hash, expected) in hashes.iter().zip(&blobs) {
        let served = l1
            .blob(*hash)
            .await
            .unwrap()
            .expect("anvil serves the blob");
        assert!(
            *served == *expected,
            "blob {hash} came back with other bytes"
        );
    }
    assert!(l1.blob(B256::repeat_byte(1)).await.unwrap().is_none());

    // A plain transaction has no versioned hashes.
    let plain = l1
        .send_transaction(TransactionRequest::default().with_to(Address::repeat_byte(0xb2)))
        .await
        .unwrap();
    let tx = l1
        .transaction(plain.transaction_hash)
        .await
        .unwrap()
        .unwrap();
    assert!(tx.blob_versioned_hashes.is_empty());

    // A sidecar that does not match its hashes is refused.
    let mut wrong = BlobTransactionSidecar::try_from_blobs_with_settings(
        vec![blob(3)],
        EnvKzgSettings::Default.get(),
    )
    .unwrap();
    wrong.blobs[0] = blob(4);
    let err = l1
        .send_transaction(
            TransactionRequest::default()
                .with_to(Address::repeat_byte(0xb1))
                .with_blob_sidecar_4844(wrong),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, L1Error::Rejected(_) | L1Error::Rpc(_)),
        "{err}"
    );
}
