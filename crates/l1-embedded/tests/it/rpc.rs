//! The JSON-RPC module answers out-of-range requests with errors, not panics.

use loft_l1_embedded::rpc::module;
use serde_json::{Value, json};

use crate::common;

async fn request(chain: &loft_l1_embedded::DevChain, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
    let (response, _) = module(chain.clone())
        .raw_json_request(&body, 1)
        .await
        .unwrap();
    serde_json::from_str(response.get()).unwrap()
}

#[tokio::test]
async fn clock_requests_out_of_range_are_invalid_params() {
    let chain = common::open();
    let before = chain.lock().next_timestamp();
    for (method, value) in [
        ("evm_increaseTime", "0xffffffffffffffff"),
        ("evm_increaseTime", "0x8000000000000000"),
        ("evm_setNextBlockTimestamp", "0xffffffffffffffff"),
    ] {
        let response = request(&chain, method, json!([value])).await;
        assert_eq!(response["error"]["code"], -32602, "{method}: {response}");
    }
    // anvil_mine's interval goes through the same clock.
    let response = request(&chain, "anvil_mine", json!(["0x2", "0x7fffffffffffffff"])).await;
    assert_eq!(response["error"]["code"], -32602, "{response}");
    assert_eq!(chain.lock().block_number(), 0);
    assert!(chain.lock().next_timestamp() >= before);
    // And a sound request still works.
    let response = request(&chain, "evm_increaseTime", json!(["0xe10"])).await;
    assert_eq!(response["result"], "0xe10", "{response}");
}

#[tokio::test]
async fn huge_tip_in_send_transaction_is_an_error() {
    let chain = common::open();
    let from = common::key(&chain, 0).address();
    let response = request(
        &chain,
        "eth_sendTransaction",
        json!([{
            "from": from,
            "to": "0x0000000000000000000000000000000000000001",
            "maxPriorityFeePerGas": "0xffffffffffffffffffffffffffffffff",
        }]),
    )
    .await;
    assert_eq!(response["error"]["code"], -32000, "{response}");
    assert_eq!(chain.lock().block_number(), 0);
}
