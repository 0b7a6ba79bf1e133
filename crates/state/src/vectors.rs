//! Shared test vectors for the Solidity twin (`contracts/test/SparseMerkle.t.sol`): writes
//! `testdata/smt/vectors.json` at the repository root. The test fails if the committed file
//! differs from what it generates, unless `LOFT_BLESS=1` is set (then it rewrites the file).

use alloy::hex;
use alloy::primitives::{B256, keccak256};
use serde_json::{Value, json};

use crate::smt::tests::{base_key, flip};
use crate::{MemStore, Smt, Terminal, leaf_hash};

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/smt/vectors.json"
);

fn key(i: u32) -> B256 {
    keccak256(format!("loft smt vector key {i}"))
}

fn value(seed: &str) -> Vec<u8> {
    // Values of a few lengths, like the layout's ABI encodings (64, 32, longer) and short ones.
    let h = keccak256(seed);
    let len = [1usize, 32, 64, 100][h[0] as usize % 4];
    h.iter().cycle().take(len).copied().collect()
}

/// One case: the proof of `key` in `smt` and the root after setting it to `new_value`.
fn case(name: &str, smt: &Smt<MemStore>, key: B256, new_value: &[u8]) -> Value {
    let root = smt.root_hash();
    let current = smt.get(&key).unwrap();
    let proof = smt.prove(&key).unwrap();
    assert!(proof.verify(root, &key, current.as_deref()));
    let mut after = smt.clone();
    after.set(key, new_value.to_vec()).unwrap();
    assert_eq!(proof.root_after_update(&key, new_value), after.root_hash());
    let (other_key, other_value_hash) = match &proof.terminal {
        Terminal::Other { key, value_hash } => (*key, *value_hash),
        _ => (B256::ZERO, B256::ZERO),
    };
    json!({
        "name": name,
        "root": root,
        "key": key,
        "present": current.is_some(),
        "value": hex::encode_prefixed(current.as_deref().unwrap_or_default()),
        "valueHash": current.as_ref().map(keccak256).unwrap_or_default(),
        "leafHash": current.as_ref().map(|v| leaf_hash(&key, v)).unwrap_or_default(),
        "depth": proof.siblings.len(),
        "siblings": proof.siblings,
        "terminal": proof.terminal.code(),
        "otherKey": other_key,
        "otherValueHash": other_value_hash,
        "newValue": hex::encode_prefixed(new_value),
        "newValueHash": keccak256(new_value),
        "rootAfter": after.root_hash(),
    })
}

fn tree(keys: &[B256], tag: &str) -> Smt<MemStore> {
    let mut smt = Smt::new(MemStore::new(), B256::ZERO);
    for (i, k) in keys.iter().enumerate() {
        smt.set(*k, value(&format!("{tag} {i}"))).unwrap();
    }
    smt
}

fn generate() -> Value {
    let mut cases = Vec::new();
    let new = |name: &str| value(&format!("new {name}"));

    let empty = tree(&[], "empty");
    cases.push(case("empty tree", &empty, key(0), &new("empty")));

    let single = tree(&[key(1)], "single");
    cases.push(case(
        "single leaf: inclusion",
        &single,
        key(1),
        &new("single in"),
    ));
    cases.push(case(
        "single leaf: other leaf at the root",
        &single,
        key(2),
        &new("single out"),
    ));

    let a = base_key();
    let pair = tree(&[a, flip(a, 4)], "pair");
    cases.push(case(
        "pair: inclusion under empty wrappers",
        &pair,
        a,
        &new("pair in"),
    ));
    cases.push(case(
        "pair: empty sibling of a wrapper",
        &pair,
        flip(a, 2),
        &new("pair empty"),
    ));
    cases.push(case(
        "pair: empty at the root's side",
        &pair,
        flip(a, 0),
        &new("pair root"),
    ));
    cases.push(case(
        "pair: other leaf, long shared prefix",
        &pair,
        flip(flip(a, 4), 200),
        &new("pair other"),
    ));

    let keys: Vec<B256> = (10..42).map(key).collect();
    let random = tree(&keys, "random");
    for (i, k) in keys.iter().enumerate().step_by(5) {
        cases.push(case(
            &format!("random 32: inclusion {i}"),
            &random,
            *k,
            &new(&format!("r{i}")),
        ));
    }
    for i in 100..112 {
        cases.push(case(
            &format!("random 32: absent {i}"),
            &random,
            key(i),
            &new(&format!("a{i}")),
        ));
    }
    cases.push(case(
        "random 32: same value again",
        &random,
        keys[0],
        &value("random 0"),
    ));

    // A path of depth 21: `a` and `a` with each of bits 0..21 flipped.
    let mut deep_keys = vec![a];
    deep_keys.extend((0..21).map(|i| flip(a, i)));
    let deep = tree(&deep_keys, "deep");
    cases.push(case(
        "deep: inclusion at depth 21",
        &deep,
        a,
        &new("deep in"),
    ));
    cases.push(case(
        "deep: other leaf at depth 21",
        &deep,
        flip(a, 100),
        &new("deep other"),
    ));
    cases.push(case(
        "deep: inclusion at depth 11",
        &deep,
        flip(a, 10),
        &new("deep 10"),
    ));
    cases.push(case(
        "deep: other leaf at depth 8",
        &deep,
        flip(flip(a, 7), 30),
        &new("deep 7"),
    ));
    cases.push(case("deep: set to an empty value", &deep, flip(a, 20), &[]));

    // Every terminal kind occurs.
    for code in 0..3u64 {
        assert!(cases.iter().any(|c| c["terminal"] == json!(code)));
    }
    json!({
        "description": "loft compact sparse Merkle tree vectors (docs/rollup.md 1.1), generated by \
            crates/state/src/vectors.rs; regenerate with LOFT_BLESS=1 cargo test -p loft-state vectors",
        "count": cases.len(),
        "cases": cases,
    })
}

#[test]
fn vectors_file_is_current() {
    let text = serde_json::to_string_pretty(&generate()).unwrap() + "\n";
    if std::env::var("LOFT_BLESS").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(std::path::Path::new(PATH).parent().unwrap()).unwrap();
        std::fs::write(PATH, &text).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(PATH).unwrap_or_default();
    assert!(
        on_disk == text,
        "{PATH} is not what the generator produces; rerun with LOFT_BLESS=1 and commit it"
    );
}
