//! EIP-4844 blob transactions end to end: sent with their sidecar (by `send_transaction` and as
//! signed raw bytes), blobs read back by versioned hash (in memory, after a restart, over the
//! JSON-RPC socket), a wrong sidecar refused with nothing changed.

use alloy::consensus::{
    SignableTransaction, TxEip4844, TxEip4844Variant, TxEip4844WithSidecar, TxEnvelope,
};
use alloy::eips::eip2718::Encodable2718;
use alloy::eips::eip4844::env_settings::EnvKzgSettings;
use alloy::eips::eip4844::{BYTES_PER_BLOB, Blob, BlobTransactionSidecar, DATA_GAS_PER_BLOB};
use alloy::eips::eip7594::BlobTransactionSidecarVariant;
use alloy::network::{EthereumWallet, TransactionBuilder, TransactionBuilder4844, TxSignerSync};
use alloy::primitives::{Address, B256, Bytes};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use loft_l1::{L1Client, L1Error};
use loft_l1_embedded::{DEFAULT_PRIORITY_FEE, DevChain, EmbeddedL1};
use serde_json::json;

use crate::common;

/// A blob of known bytes: every field element's first byte 0 (so it is below the BLS modulus),
/// the other 31 a pattern of `seed` and the position.
fn blob(seed: u8) -> Blob {
    let mut blob = Blob::ZERO;
    for (i, byte) in blob.iter_mut().enumerate() {
        if i % 32 != 0 {
            *byte = seed.wrapping_mul(31).wrapping_add((i % 251) as u8);
        }
    }
    blob
}

fn sidecar(blobs: Vec<Blob>) -> BlobTransactionSidecar {
    BlobTransactionSidecar::try_from_blobs_with_settings(blobs, EnvKzgSettings::Default.get())
        .unwrap()
}

fn client(chain: &DevChain) -> EmbeddedL1 {
    EmbeddedL1::new(chain.clone(), common::key(chain, 0))
}

/// A blob transaction to an account without code, with `sidecar`, signed by dev key 0 at its
/// next nonce, in the network form (raw bytes) and its hash.
fn raw_blob_tx(chain: &DevChain, sidecar: BlobTransactionSidecar) -> (Bytes, B256) {
    let key = common::key(chain, 0);
    // One lock at a time: a guard in a struct literal lives until the end of the statement.
    let nonce = chain.lock().pending_nonce(key.address());
    let max_fee_per_blob_gas = 2 * chain.lock().next_blob_base_fee();
    let tx = TxEip4844 {
        chain_id: chain.chain_id(),
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: common::max_fee(chain),
        max_priority_fee_per_gas: DEFAULT_PRIORITY_FEE,
        to: Address::repeat_byte(0xb1),
        blob_versioned_hashes: sidecar.versioned_hashes().collect(),
        max_fee_per_blob_gas,
        ..Default::default()
    };
    let mut variant =
        TxEip4844Variant::TxEip4844WithSidecar(TxEip4844WithSidecar::from_tx_and_sidecar(
            tx,
            BlobTransactionSidecarVariant::Eip4844(sidecar),
        ));
    let signature = key.sign_transaction_sync(&mut variant).unwrap();
    let envelope: TxEnvelope = variant.into_signed(signature).into();
    (envelope.encoded_2718().into(), *envelope.tx_hash())
}

async fn assert_blobs_served(l1: &impl L1Client, tx: B256, blobs: &[Blob]) {
    let expected: Vec<B256> = sidecar(blobs.to_vec()).versioned_hashes().collect();
    let mined = l1.transaction(tx).await.unwrap().expect("mined");
    assert_eq!(mined.blob_versioned_hashes, expected);
    for (hash, blob) in expected.iter().zip(blobs) {
        let served = l1.blob(*hash).await.unwrap().expect("blob served");
        assert_eq!(served.len(), BYTES_PER_BLOB);
        assert!(*served == *blob, "blob {hash} came back with other bytes");
    }
}

#[tokio::test]
async fn send_transaction_with_a_sidecar_keeps_the_blobs() {
    let chain = common::open();
    let l1 = client(&chain);
    let blobs = vec![blob(1), blob(2)];
    // No blob fee cap: the client fills it.
    let request = TransactionRequest::default()
        .with_to(Address::repeat_byte(0xb1))
        .with_blob_sidecar_4844(sidecar(blobs.clone()));
    let receipt = l1.send_transaction(request).await.unwrap();
    assert!(receipt.status());
    assert_eq!(receipt.blob_gas_used, Some(2 * DATA_GAS_PER_BLOB));
    assert_eq!(
        receipt.blob_gas_price,
        Some(chain.lock().next_blob_base_fee()),
        "the blob price of an idle chain stays at its minimum"
    );
    assert_blobs_served(&l1, receipt.transaction_hash, &blobs).await;

    // The block carries the hashes only: its transaction is the plain EIP-4844 form.
    let tx = chain
        .lock()
        .rpc_transaction(receipt.transaction_hash)
        .unwrap();
    match tx.inner.inner() {
        TxEnvelope::Eip4844(signed) => {
            assert!(matches!(signed.tx(), TxEip4844Variant::TxEip4844(_)))
        }
        other => panic!("not a blob transaction: {other:?}"),
    }
    // An unknown hash is not an error.
    assert!(l1.blob(B256::repeat_byte(1)).await.unwrap().is_none());
    assert_eq!(
        l1.blob_base_fee().await.unwrap(),
        chain.lock().next_blob_base_fee()
    );
}

#[tokio::test]
async fn raw_blob_transaction_keeps_the_blobs_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = Some(dir.path().to_path_buf());
    let chain = DevChain::open(common::config(path.clone())).unwrap();
    let l1 = client(&chain);
    let blobs = vec![blob(3), blob(4)];
    let (raw, hash) = raw_blob_tx(&chain, sidecar(blobs.clone()));
    assert_eq!(l1.send_raw_transaction(raw).await.unwrap(), hash);
    let receipt = l1.receipt(hash).await.unwrap().expect("mined at once");
    assert!(receipt.status());
    assert_blobs_served(&l1, hash, &blobs).await;
    drop((l1, chain));

    let reopened = DevChain::open(common::config(path)).unwrap();
    let l1 = client(&reopened);
    assert_eq!(reopened.lock().block_number(), 1);
    assert_blobs_served(&l1, hash, &blobs).await;
}

#[tokio::test]
async fn a_sidecar_that_does_not_match_is_refused_and_changes_nothing() {
    let chain = common::open();
    let l1 = client(&chain);
    let sender = l1.sender();
    // Blob 1 replaced after the commitments were computed.
    let mut wrong = sidecar(vec![blob(5), blob(6)]);
    wrong.blobs[1] = blob(7);

    let request = TransactionRequest::default()
        .with_to(Address::repeat_byte(0xb1))
        .with_blob_sidecar_4844(wrong.clone());
    let err = l1.send_transaction(request).await.unwrap_err();
    assert!(
        matches!(&err, L1Error::Rejected(m) if m.contains("blob sidecar")),
        "{err}"
    );
    let (raw, _) = raw_blob_tx(&chain, wrong.clone());
    let err = l1.send_raw_transaction(raw).await.unwrap_err();
    assert!(
        matches!(&err, L1Error::Rejected(m) if m.contains("blob sidecar")),
        "{err}"
    );

    assert_eq!(l1.block_number().await.unwrap(), 0);
    assert_eq!(l1.nonce(sender).await.unwrap(), 0);
    assert_eq!(chain.lock().pending_nonce(sender), 0);
    for hash in wrong.versioned_hashes() {
        assert!(l1.blob(hash).await.unwrap().is_none());
    }
    // The next transaction uses nonce 0.
    let receipt = l1
        .send_transaction(
            TransactionRequest::default()
                .with_to(Address::repeat_byte(0xb1))
                .with_blob_sidecar_4844(sidecar(vec![blob(5)])),
        )
        .await
        .unwrap();
    assert!(receipt.status());
}

#[tokio::test]
async fn more_than_six_blobs_are_refused() {
    let chain = common::open();
    let l1 = client(&chain);
    let request = TransactionRequest::default()
        .with_to(Address::repeat_byte(0xb1))
        .with_blob_sidecar_4844(sidecar((0..7).map(blob).collect()));
    let err = l1.send_transaction(request).await.unwrap_err();
    assert!(
        matches!(&err, L1Error::Rejected(m) if m.contains("at most 6")),
        "{err}"
    );
    assert_eq!(l1.block_number().await.unwrap(), 0);
}

#[tokio::test]
async fn a_queued_blob_transaction_serves_its_blobs_once_mined() {
    let chain = DevChain::open(common::interval_config()).unwrap();
    let blobs = vec![blob(8)];
    let (raw, hash) = raw_blob_tx(&chain, sidecar(blobs.clone()));
    chain.send_raw(&raw).unwrap();
    let vh = sidecar(blobs.clone()).versioned_hashes().next().unwrap();
    assert!(
        chain.lock().blob(vh).unwrap().is_none(),
        "not in a block yet"
    );
    chain.mine(1).unwrap();
    assert!(chain.lock().receipt(hash).unwrap().status());
    assert!(*chain.lock().blob(vh).unwrap().unwrap() == blobs[0]);
}

#[tokio::test]
async fn blobs_over_the_json_rpc_socket() {
    let chain = common::open();
    let (addr, handle) =
        loft_l1_embedded::rpc::serve(chain.clone(), "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap();
    let url = format!("http://{addr}");
    // An alloy provider with a wallet, as loft's JSON-RPC backend builds it: the request goes out
    // as a signed network-form blob transaction (alloy fills the blob fee cap and estimates gas
    // before it has), and the blobs come back through `anvil_getBlobByHash` below.
    let key = common::key(&chain, 1);
    let provider = ProviderBuilder::new()
        .wallet(EthereumWallet::from(key))
        .connect_http(url.parse().unwrap());
    let blobs = vec![blob(9), blob(10)];
    let receipt = provider
        .send_transaction(
            TransactionRequest::default()
                .with_to(Address::repeat_byte(0xb1))
                .with_blob_sidecar_4844(sidecar(blobs.clone())),
        )
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
    assert_eq!(receipt.blob_gas_used, Some(2 * DATA_GAS_PER_BLOB));
    let l1 = client(&chain);
    assert_blobs_served(&l1, receipt.transaction_hash, &blobs).await;
    assert_eq!(
        provider.get_blob_base_fee().await.unwrap(),
        chain.lock().next_blob_base_fee()
    );

    // The raw answers have anvil's shapes.
    let http = alloy::transports::http::reqwest::Client::new();
    let call = |method: &str, params: serde_json::Value| {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let http = http.clone();
        let url = url.clone();
        async move {
            http.post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let vh = sidecar(blobs.clone()).versioned_hashes().next().unwrap();
    let answer = call("anvil_getBlobByHash", json!([vh])).await;
    let hex = answer["result"].as_str().expect("a hex string");
    assert_eq!(hex.len(), 2 + 2 * BYTES_PER_BLOB);
    assert_eq!(
        alloy::hex::decode(hex).unwrap(),
        blobs[0].as_slice(),
        "{}",
        &hex[..80]
    );
    let unknown = call("anvil_getBlobByHash", json!([B256::repeat_byte(7)])).await;
    assert!(unknown["result"].is_null(), "{unknown}");
    let all = call(
        "anvil_getBlobsByTransactionHash",
        json!([receipt.transaction_hash]),
    )
    .await;
    assert_eq!(all["result"].as_array().map(Vec::len), Some(2));
    let tx = call(
        "eth_getTransactionByHash",
        json!([receipt.transaction_hash]),
    )
    .await;
    let hashes: Vec<B256> =
        serde_json::from_value(tx["result"]["blobVersionedHashes"].clone()).unwrap();
    assert_eq!(
        hashes,
        sidecar(blobs).versioned_hashes().collect::<Vec<_>>()
    );
    assert!(call("eth_blobBaseFee", json!([])).await["result"].is_string());
    handle.stop().unwrap();
}
