//! The batch data v1 codec: round trips, exact errors, and no panics on random bytes.

use alloy::consensus::TxEnvelope;
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use proptest::prelude::*;

use super::util::*;
use crate::{
    BatchError, DataStep, L2Tx, MAX_STEP_BYTES, chunk_proof, data_root, decode_batch_v1,
    decode_step_at, encode_batch_v1, verify_positional,
};

fn sample_txs() -> Vec<TxEnvelope> {
    let mut big = eip1559(7, addr(3), U256::MAX, Bytes::from(vec![0xab; 100]));
    big.max_fee_per_gas = u128::MAX;
    big.max_priority_fee_per_gas = u128::MAX - 1;
    big.gas_limit = u64::MAX;
    let mut lg = legacy(u64::MAX - 1, addr(4), U256::ZERO, Bytes::new());
    lg.gas_price = u128::MAX;
    vec![
        sign(1, eip1559(0, addr(2), U256::from(1), Bytes::new())),
        sign(
            2,
            legacy(
                3,
                addr(2),
                U256::from(1u64 << 40),
                transfer_data(addr(5), U256::from(9)),
            ),
        ),
        sign(3, big),
        sign(4, lg),
    ]
}

#[test]
fn encode_refuses_what_the_format_cannot_carry() {
    let txs = sample_txs();
    let one = |tx: TxEnvelope| [DataStep::Tx(tx)];
    assert!(matches!(
        encode_batch_v1(&one(txs[0].clone()), CHAIN_ID + 1),
        Err(BatchError::Unencodable { .. })
    ));
    let mut create = eip1559(0, addr(2), U256::ZERO, Bytes::new());
    create.to = alloy::primitives::TxKind::Create;
    assert!(matches!(
        encode_batch_v1(&one(sign(1, create)), CHAIN_ID),
        Err(BatchError::Unencodable { .. })
    ));
    let mut pre155 = legacy(0, addr(2), U256::ZERO, Bytes::new());
    pre155.chain_id = None;
    assert!(matches!(
        encode_batch_v1(&one(sign(1, pre155)), CHAIN_ID),
        Err(BatchError::Unencodable { .. })
    ));
}

#[test]
fn field_errors() {
    let d = |p: &[u8]| decode_batch_v1(p, CHAIN_ID);
    assert_eq!(
        d(&[
            1, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02
        ]),
        Err(BatchError::BadVarint(2))
    );
    assert_eq!(
        d(&[
            1, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
        ]),
        Ok(vec![DataStep::Block {
            timestamp: u64::MAX
        }])
    );
    assert_eq!(
        d(&[1, 0x01]),
        Err(BatchError::UnknownStep { byte: 1, at: 1 })
    );
    let mut tx = vec![1, 0x00, 0, 1, 1];
    tx.extend_from_slice(&[0; 20]);
    let mut bad_u256 = tx.clone();
    bad_u256.extend_from_slice(&[1, 0]);
    assert_eq!(d(&bad_u256), Err(BatchError::BadU256(25)));
    let mut long_u256 = tx.clone();
    long_u256.push(33);
    assert_eq!(d(&long_u256), Err(BatchError::BadU256(25)));
    let mut parity = tx.clone();
    parity.extend_from_slice(&[0, 0, 2]);
    assert_eq!(d(&parity), Err(BatchError::BadParity { parity: 2, at: 27 }));
    let mut short = tx;
    short.extend_from_slice(&[0, 5, 1]);
    assert!(matches!(d(&short), Err(BatchError::Truncated(_))));
}

fn arb_tx() -> impl Strategy<Value = TxEnvelope> {
    (
        any::<bool>(),
        any::<u64>(),
        any::<u128>(),
        any::<u128>(),
        any::<u64>(),
        any::<[u8; 20]>(),
        any::<[u8; 32]>(),
        proptest::collection::vec(any::<u8>(), 0..80),
        1u8..5,
    )
        .prop_map(
            |(is_legacy, nonce, fee1, fee2, gas, to, value, data, key)| {
                let (to, value, data) = (
                    Address::from(to),
                    U256::from_be_bytes(value) >> (value[0] as usize),
                    Bytes::from(data),
                );
                if is_legacy {
                    let mut t = legacy(nonce, to, value, data);
                    t.gas_price = fee1;
                    t.gas_limit = gas;
                    sign(key, t)
                } else {
                    let mut t = eip1559(nonce, to, value, data);
                    t.max_fee_per_gas = fee1;
                    t.max_priority_fee_per_gas = fee2;
                    t.gas_limit = gas;
                    sign(key, t)
                }
            },
        )
}

/// Writes the fuzz seeds (`fuzz/seeds/l2_transaction`, `fuzz/seeds/batch_data`):
/// `cargo test -p loft-stf write_fuzz_seeds -- --ignored`.
#[test]
#[ignore = "regenerates files in fuzz/seeds"]
fn write_fuzz_seeds() {
    const FUZZ_CHAIN_ID: u64 = 42_069;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let for_chain = |mut t: alloy::consensus::TxEip1559| {
        t.chain_id = FUZZ_CHAIN_ID;
        t
    };
    let txs = [
        sign(
            1,
            for_chain(eip1559(0, addr(2), U256::from(1), Bytes::new())),
        ),
        sign(
            2,
            for_chain(eip1559(
                0,
                addr(3),
                U256::ZERO,
                transfer_data(addr(5), U256::from(9)),
            )),
        ),
        sign(
            3,
            for_chain(eip1559(
                0,
                loft_state::layout::L2_BRIDGE,
                U256::ZERO,
                withdraw_data(Address::ZERO, U256::from(7), addr(4)),
            )),
        ),
    ];
    let dir = root.join("l2_transaction");
    std::fs::create_dir_all(&dir).unwrap();
    for (i, tx) in txs.iter().enumerate() {
        std::fs::write(dir.join(format!("tx{i}")), raw(tx)).unwrap();
    }
    let dir = root.join("batch_data");
    std::fs::create_dir_all(&dir).unwrap();
    let mut steps = vec![
        DataStep::Block {
            timestamp: 1_700_000_000,
        },
        DataStep::Queue,
    ];
    steps.extend(txs.iter().cloned().map(DataStep::Tx));
    steps.push(DataStep::Block {
        timestamp: 1_700_000_002,
    });
    steps.push(DataStep::Tx(txs[0].clone()));
    // The first two again as compact transactions (accounts 2, 3 and 5 at indexes 0, 1, 2).
    let index = |a: Address| [addr(2), addr(3), addr(5)].iter().position(|x| *x == a);
    for tx in &txs[..2] {
        let c = crate::CompactTx::of(tx, FUZZ_CHAIN_ID, |a| index(a).map(|i| i as u64)).unwrap();
        steps.push(DataStep::Compact(c));
    }
    std::fs::write(
        dir.join("batch0"),
        encode_batch_v1(&steps, FUZZ_CHAIN_ID).unwrap().data,
    )
    .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Batch data v1.

fn sample_steps() -> Vec<DataStep> {
    let mut steps = vec![
        DataStep::Block {
            timestamp: 1_700_000_000,
        },
        DataStep::Queue,
        DataStep::Queue,
    ];
    steps.extend(sample_txs().into_iter().map(DataStep::Tx));
    steps.push(DataStep::Block {
        timestamp: 1_700_000_005,
    });
    steps.push(DataStep::Queue);
    steps.extend(sample_txs()[1..3].iter().cloned().map(DataStep::Tx));
    steps
}

#[test]
fn v1_round_trip_and_step_offsets() {
    let steps = sample_steps();
    let enc = encode_batch_v1(&steps, CHAIN_ID).unwrap();
    assert_eq!(enc.data[0], 1);
    assert_eq!(enc.ends.len(), steps.len());
    assert_eq!(*enc.ends.last().unwrap(), enc.data.len() as u64);
    assert_eq!(decode_batch_v1(&enc.data, CHAIN_ID).unwrap(), steps);
    let mut offset = 1usize;
    for (step, end) in steps.iter().zip(&enc.ends) {
        let (decoded, e) = decode_step_at(&enc.data, offset, CHAIN_ID).unwrap();
        assert_eq!((&decoded, e as u64), (step, *end));
        if let (DataStep::Tx(a), DataStep::Tx(b)) = (&decoded, step) {
            assert_eq!(a.tx_hash(), b.tx_hash());
            assert_eq!(raw(a), raw(b));
            assert_eq!(
                L2Tx::from_envelope(a.clone(), CHAIN_ID).unwrap().sender(),
                L2Tx::decode(&raw(b), CHAIN_ID).unwrap().sender()
            );
        }
        offset = e;
    }
    // Only the version byte: no steps.
    let empty = encode_batch_v1(&[], CHAIN_ID).unwrap();
    assert_eq!((&empty.data[..], empty.ends.len()), (&[1u8][..], 0));
    assert_eq!(decode_batch_v1(&empty.data, CHAIN_ID).unwrap(), vec![]);
}

#[test]
fn v1_layout_is_the_spec() {
    let tx = sign(
        1,
        eip1559(1, addr(2), U256::from(0x0100), Bytes::from_static(&[0xee])),
    );
    let steps = [
        DataStep::Block { timestamp: 300 },
        DataStep::Queue,
        DataStep::Tx(tx.clone()),
    ];
    let enc = encode_batch_v1(&steps, CHAIN_ID).unwrap();
    let TxEnvelope::Eip1559(s) = &tx else {
        unreachable!()
    };
    let mut want = vec![1, 0x10, 0xac, 0x02, 0x11, 0x02, 1, 3, 20, 0xa0, 0x8d, 0x06];
    want.extend_from_slice(addr(2).as_slice());
    want.extend_from_slice(&[2, 1, 0, 1, 0xee, u8::from(s.signature().v())]);
    want.extend_from_slice(&s.signature().r().to_be_bytes::<32>());
    want.extend_from_slice(&s.signature().s().to_be_bytes::<32>());
    assert_eq!(&enc.data[..], &want[..]);
    assert_eq!(enc.ends, vec![4, 5, want.len() as u64]);
}

#[test]
fn v1_decode_errors() {
    assert_eq!(decode_batch_v1(&[], CHAIN_ID), Err(BatchError::Empty));
    assert_eq!(
        decode_batch_v1(&[0, 0x11], CHAIN_ID),
        Err(BatchError::UnknownVersion(0))
    );
    assert_eq!(
        decode_batch_v1(&[1, 0x11, 0x12], CHAIN_ID),
        Err(BatchError::UnknownStep { byte: 0x12, at: 2 })
    );
    assert_eq!(
        decode_batch_v1(&[1, 0x10, 0x80, 0x00], CHAIN_ID),
        Err(BatchError::BadVarint(2)),
        "overlong timestamp"
    );
    assert_eq!(
        decode_batch_v1(&[1, 0x10], CHAIN_ID),
        Err(BatchError::Truncated(2))
    );
    assert!(matches!(
        decode_step_at(&[1, 0x11], 2, CHAIN_ID),
        Err(BatchError::Truncated(_))
    ));
    // A legacy transaction whose data runs to byte 330: past the data, or past MAX_STEP_BYTES.
    let mut long = vec![1u8, 0x00, 0, 1, 1];
    long.extend_from_slice(&[0; 20]);
    long.extend_from_slice(&[0, 0xac, 0x02]);
    assert!(matches!(
        decode_batch_v1(&long, CHAIN_ID),
        Err(BatchError::Truncated(_))
    ));
    long.resize(1 + 28 + 300 + 65, 0);
    assert_eq!(
        decode_batch_v1(&long, CHAIN_ID),
        Err(BatchError::StepTooLong { at: 1 })
    );
    // Encoding refuses a step the verifier could not read.
    let big = sign(
        1,
        eip1559(0, addr(2), U256::ZERO, Bytes::from(vec![1; MAX_STEP_BYTES])),
    );
    assert!(matches!(
        encode_batch_v1(&[DataStep::Tx(big)], CHAIN_ID),
        Err(BatchError::Unencodable { .. })
    ));
}

#[test]
fn data_root_chunks() {
    assert_eq!(data_root(&[]), B256::ZERO);
    let one = vec![7u8; 1024];
    assert_eq!(data_root(&one), keccak256(&one));
    assert!(chunk_proof(&one, 0).is_empty());
    let data: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
    let (c0, c1, c2) = (
        keccak256(&data[..1024]),
        keccak256(&data[1024..2048]),
        keccak256(&data[2048..]),
    );
    let pair = |a: B256, b: B256| keccak256([a.as_slice(), b.as_slice()].concat());
    let root = data_root(&data);
    assert_eq!(root, pair(pair(c0, c1), pair(c2, B256::ZERO)));
    for (i, c) in [c0, c1, c2].into_iter().enumerate() {
        let proof = chunk_proof(&data, i);
        assert_eq!(proof.len(), 2);
        assert!(verify_positional(root, i as u64, c, &proof));
    }
    assert_eq!(
        data_root(&data[..1025]),
        pair(c0, keccak256(&data[1024..1025]))
    );
}

fn arb_steps() -> impl Strategy<Value = Vec<DataStep>> {
    proptest::collection::vec(
        prop_oneof![
            any::<u64>().prop_map(|timestamp| DataStep::Block { timestamp }),
            Just(DataStep::Queue),
            arb_tx().prop_map(DataStep::Tx),
        ],
        0..10,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn v1_codec_round_trip(steps in arb_steps()) {
        let enc = encode_batch_v1(&steps, CHAIN_ID).unwrap();
        let decoded = decode_batch_v1(&enc.data, CHAIN_ID).unwrap();
        prop_assert_eq!(&decoded, &steps);
        let mut offset = 1;
        for end in &enc.ends {
            let (_, e) = decode_step_at(&enc.data, offset, CHAIN_ID).unwrap();
            prop_assert_eq!(e as u64, *end);
            offset = e;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn v1_random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400), at in any::<usize>()) {
        let mut data = vec![1u8];
        data.extend_from_slice(&bytes);
        let _ = decode_batch_v1(&bytes, CHAIN_ID);
        let _ = decode_batch_v1(&data, CHAIN_ID);
        let _ = decode_step_at(&data, at % (data.len() + 2), CHAIN_ID);
        let _ = decode_step_at(&data, at, CHAIN_ID);
        let _ = L2Tx::decode(&bytes, CHAIN_ID);
    }

    #[test]
    fn v1_mutated_batches_never_panic(i in any::<prop::sample::Index>(), b in any::<u8>()) {
        let mut data = encode_batch_v1(&sample_steps(), CHAIN_ID).unwrap().data.to_vec();
        let at = i.index(data.len());
        data[at] = b;
        if let Ok(decoded) = decode_batch_v1(&data, CHAIN_ID) {
            // Whatever decodes re-encodes to the same bytes.
            prop_assert_eq!(&encode_batch_v1(&decoded, CHAIN_ID).unwrap().data[..], &data[..]);
        }
    }
}
