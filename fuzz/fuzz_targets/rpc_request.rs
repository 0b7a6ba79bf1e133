//! A JSON-RPC request body handled by the dev chain's RPC module, on a fresh devnet chain per
//! input (automine, ten funded dev accounts). Any request may fail; none may panic, and every
//! answer is JSON.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use loft_l1_embedded::{DevChain, DevChainConfig, rpc};

fn config() -> &'static DevChainConfig {
    static CONFIG: OnceLock<DevChainConfig> = OnceLock::new();
    // Deriving the dev keys is slow; do it once.
    CONFIG.get_or_init(|| {
        DevChainConfig::from_chain_config(&loft_config::ChainConfig::devnet(), None)
            .expect("the devnet preset is valid")
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a tokio runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let chain = DevChain::open(config().clone()).expect("an in-memory chain opens");
    let module = rpc::module(chain);
    runtime().block_on(async {
        // A body that is not a JSON-RPC request is an error here (the server answers -32700).
        if let Ok((response, _)) = module.raw_json_request(body, 1).await {
            serde_json::from_str::<serde_json::Value>(response.get())
                .expect("the response is JSON");
        }
    });
});
