//! `loft bench --quick` end to end: the real binary runs the whole benchmark (embedded L1, the
//! node over HTTP, batches, finality, the verifier, the same transfers on L1 and on a real anvil,
//! the worst-case fraud proofs on L1) and its JSON report and chart must hold every figure. No
//! timing is asserted: the figures are only checked to be measured (present, finite, positive
//! where a run produced them).

use std::time::Duration;

use loft_e2e::{foundry_tool, loft_bin, run_loft};
use serde_json::Value;

fn number(report: &Value, path: &str) -> f64 {
    let mut v = report;
    for key in path.split('.') {
        v = v
            .get(key)
            .unwrap_or_else(|| panic!("report has no {path}: {report:#}"));
    }
    let n = v
        .as_f64()
        .unwrap_or_else(|| panic!("{path} is not a number: {v}"));
    assert!(n.is_finite(), "{path} is {n}");
    n
}

#[test]
fn quick_bench_reports_every_figure() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("report.json");
    let chart = dir.path().join("chart.svg");
    let anvil = foundry_tool("anvil");
    let out = run_loft(
        &loft_bin!(),
        &[
            "bench",
            "--quick",
            "--anvil",
            anvil.to_str().unwrap(),
            "--json-out",
            json.to_str().unwrap(),
            "--chart",
            chart.to_str().unwrap(),
        ],
        Duration::from_secs(600),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "loft bench --quick failed\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The table names every figure with its comparison.
    for row in [
        "sequencer peak",
        "anvil",
        "soft confirmation at peak",
        "soft confirmation at half load",
        "soft confirmation at half load, batches in blobs",
        "L1 inclusion",
        "to final on L1",
        "L1 bytes per transfer",
        "L1 gas per transfer, calldata batches",
        "L1 execution gas per transfer, blob batches",
        "blob gas per transfer, blob batches",
        "verifier sync",
        "fraud proof, worst case: proveStep gas, blob batch",
        "fraud proof, worst case: proveStep gas, calldata batch",
    ] {
        assert!(stdout.contains(row), "the table lacks {row:?}:\n{stdout}");
    }

    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(number(&report, "peak.transactions"), 2000.0);
    assert_eq!(number(&report, "half_load.transactions"), 1000.0);
    assert_eq!(number(&report, "half_load_blobs.transactions"), 1000.0);
    for positive in [
        "cores",
        "peak.tx_per_sec",
        "peak.latency.p50_ms",
        "peak.latency.p99_ms",
        "half_load.tx_per_sec",
        "half_load.offered_tx_per_sec",
        "half_load.latency.p99_ms",
        "half_load_blobs.tx_per_sec",
        "half_load_blobs.latency.p99_ms",
        "inclusion.to_l1.p50_ms",
        "inclusion.to_l1.p99_ms",
        "inclusion.to_final_p50_secs",
        "calldata_batches.batches",
        "calldata_batches.bytes_per_transfer",
        "calldata_batches.gas_per_transfer",
        "blob_batches.batches",
        "blob_batches.blobs",
        "blob_batches.blob_gas_per_transfer",
        "blob_batches.gas_per_transfer",
        "blob_batches.bytes_per_transfer",
        "direct_l1.bytes_per_transfer",
        "direct_l1.gas_per_eth_transfer",
        "direct_l1.gas_per_erc20_transfer",
        "anvil.accepted_tx_per_sec",
        "anvil.executed_tx_per_sec",
        "verifier.tx_per_sec",
        "ratios.sequencer_over_anvil",
        "ratios.l1_gas_direct_over_calldata",
        "ratios.l1_gas_direct_over_blob",
        "ratios.l1_bytes_direct_over_batch",
        "ratios.verifier_over_sequencer",
        "fraud_proof.blob_prove_step_gas",
        "fraud_proof.blob_elements_opened",
        "fraud_proof.blob_blobs",
        "fraud_proof.blob_step_tree_depth",
        "fraud_proof.blob_prove_step_bytes",
        "fraud_proof.calldata_prove_step_gas",
        "fraud_proof.calldata_chunks_opened",
        "fraud_proof.calldata_batch_bytes",
        "fraud_proof.calldata_step_tree_depth",
        "fraud_proof.calldata_prove_step_bytes",
        "fraud_proof.tx_gas_cap",
    ] {
        assert!(
            number(&report, positive) > 0.0,
            "{positive} is not positive"
        );
    }
    assert_eq!(report["inclusion"]["final_on_l1"], true);
    // Every transfer is in a batch, the peak's and the half load's in calldata and the blob
    // run's in blobs, and was replayed by the verifier.
    assert_eq!(number(&report, "calldata_batches.transfers"), 3000.0);
    assert_eq!(number(&report, "blob_batches.transfers"), 1000.0);
    assert_eq!(
        number(&report, "calldata_batches.blob_gas_per_transfer"),
        0.0
    );
    assert!(number(&report, "verifier.transactions") >= 4000.0);
    // A plain ETH transfer on L1 costs exactly 21,000 gas: the comparison was measured there.
    assert_eq!(number(&report, "direct_l1.gas_per_eth_transfer"), 21_000.0);
    // The worst-case fraud proofs were real transactions on the L1: the vectors' 12 blob elements
    // over 2 blobs, within one transaction's gas.
    assert_eq!(number(&report, "fraud_proof.blob_elements_opened"), 12.0);
    assert_eq!(number(&report, "fraud_proof.blob_blobs"), 2.0);
    for gas in [
        "fraud_proof.blob_prove_step_gas",
        "fraud_proof.calldata_prove_step_gas",
    ] {
        let g = number(&report, gas);
        assert!(
            g > 100_000.0 && g < number(&report, "fraud_proof.tx_gas_cap"),
            "{gas} is {g}"
        );
    }
    let timeline = report["timeline"].as_array().expect("a timeline");
    assert!(timeline.len() >= 2, "timeline: {timeline:?}");
    assert!(!report["anvil_timeline"].as_array().unwrap().is_empty());

    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("<polyline"),
        "{svg}"
    );
}
