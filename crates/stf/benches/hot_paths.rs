//! Criterion benchmarks of loft's hot paths: signature recovery ([`L2Tx::decode`]), the state
//! update of one transfer ([`execute_tx`], then `set` of its writes and `root()`, as the
//! sequencer's `execute` does), batch data v1 (encode, decode, `data_root`, `steps_root`), and a
//! blob batch's KZG work (the poster's sidecar, the L1's check of it, one element's opening).
//!
//! Compression is not benchmarked: loft's batch path has none (zlib was dropped, batch data v1 is
//! `0x01 ‖ step*` with every step readable on its own, `docs/fraud-proofs.md` §3).
//!
//! Setup is deterministic (fixed keys, fixed recipients) and not timed. Run with
//! `cargo bench -p loft-stf --bench hot_paths`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolValue;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use loft_state::layout::{
    Account, TokenInfo, account_key, encode_balance, l2_token_address, token_balance_key, token_key,
};
use loft_state::{MemStore, Smt, StateWrite};
use loft_stf::params::{ETH_TRANSFER_GAS, TOKEN_TRANSFER_GAS, TRANSFER_SELECTOR};
use loft_stf::{
    ChainParams, DATA_CHUNK_BYTES, DataStep, L2Tx, STEP_TX, StepOutcome, data_root,
    decode_batch_v1, encode_batch_v1, execute_tx, step_leaves, steps_root,
};

const CHAIN_ID: u64 = 4242;
const BASE_FEE: u128 = 7;
/// Funded accounts in the state the transfers run on (signers included).
const ACCOUNTS: usize = 10_000;
/// Accounts with a signing key: the senders.
const SENDERS: usize = 64;
/// Pre-signed transfers per state-update benchmark; the state is restored (untimed) after each
/// run through them, so nonces always match.
const POOL: usize = 4_096;
/// Transfers in the benchmarked batch.
const BATCH_TXS: usize = 1_000;

type State = Smt<MemStore>;

/// Fixed signing keys: `0x0101…01`, `0x0202…02`, ….
fn signers() -> Vec<PrivateKeySigner> {
    (1..=SENDERS)
        .map(|i| PrivateKeySigner::from_bytes(&B256::repeat_byte(i as u8)).expect("valid key"))
        .collect()
}

/// The funded accounts: the signers first, then fixed addresses.
fn accounts(signers: &[PrivateKeySigner]) -> Vec<Address> {
    let mut out: Vec<Address> = signers.iter().map(|s| s.address()).collect();
    out.extend(
        (out.len()..ACCOUNTS)
            .map(|i| Address::from_word(keccak256(format!("loft bench account {i}")))),
    );
    out
}

fn params(accounts: &[Address]) -> ChainParams {
    ChainParams {
        chain_id: CHAIN_ID,
        base_fee: BASE_FEE,
        // An existing account, so every fee credit rewrites a leaf like a transfer does.
        fee_recipient: accounts[ACCOUNTS - 1],
    }
}

/// The L2 token the ERC-20 transfers use.
fn token() -> Address {
    l2_token_address(Address::repeat_byte(0x11))
}

/// Every account funded with ETH and with the token; the new nodes moved into the store, so the
/// benchmarks start with an empty overlay like a sequencer after a flush.
fn funded_state(accounts: &[Address]) -> State {
    let balance = U256::from(10u64).pow(U256::from(24));
    let mut state = Smt::new(MemStore::new(), B256::ZERO);
    for &a in accounts {
        let account = Account { nonce: 0, balance };
        state.set(account_key(a), account.encode()).unwrap();
        state
            .set(token_balance_key(a, token()), encode_balance(balance))
            .unwrap();
    }
    let info = TokenInfo {
        l1_token: Address::repeat_byte(0x11),
        total_supply: balance * U256::from(accounts.len()),
        decimals: 18,
        name: "Bench".into(),
        symbol: "BNCH".into(),
    };
    state.set(token_key(token()), info.encode()).unwrap();
    let nodes = state.take_new_nodes();
    state.store_mut().extend(nodes);
    state
}

#[derive(Clone, Copy)]
enum Kind {
    Eth,
    Erc20,
}

/// `n` signed EIP-1559 transfers, senders round robin with increasing nonces, recipients spread
/// over all funded accounts.
fn sign_transfers(
    kind: Kind,
    n: usize,
    signers: &[PrivateKeySigner],
    accounts: &[Address],
) -> Vec<TxEnvelope> {
    let mut nonces = vec![0u64; signers.len()];
    (0..n)
        .map(|i| {
            let s = i % signers.len();
            let to = accounts[(i * 7_919 + 13) % accounts.len()];
            let amount = U256::from(1_000_000_000u64 + i as u64);
            let (to, value, input, gas_limit) = match kind {
                Kind::Eth => (to, amount, Bytes::new(), ETH_TRANSFER_GAS),
                Kind::Erc20 => {
                    let mut data = TRANSFER_SELECTOR.to_vec();
                    data.extend((to, amount).abi_encode_params());
                    (token(), U256::ZERO, data.into(), TOKEN_TRANSFER_GAS)
                }
            };
            let mut tx = TxEip1559 {
                chain_id: CHAIN_ID,
                nonce: nonces[s],
                gas_limit,
                max_fee_per_gas: BASE_FEE,
                max_priority_fee_per_gas: 0,
                to: TxKind::Call(to),
                value,
                input,
                ..Default::default()
            };
            nonces[s] += 1;
            let sig = signers[s]
                .sign_transaction_sync(&mut tx)
                .expect("local signing cannot fail");
            TxEnvelope::from(tx.into_signed(sig))
        })
        .collect()
}

/// 1. Signature recovery: one `L2Tx::decode` (EIP-2718 decoding, checks, sender recovery) of a
///    signed EIP-1559 ETH transfer per iteration.
fn signature_recovery(c: &mut Criterion) {
    let signers = signers();
    let accounts = accounts(&signers);
    let raws: Vec<Vec<u8>> = sign_transfers(Kind::Eth, 256, &signers, &accounts)
        .iter()
        .map(Encodable2718::encoded_2718)
        .collect();
    let mut group = c.benchmark_group("signature_recovery");
    group.throughput(Throughput::Elements(1));
    group.bench_function("l2tx_decode_eip1559_transfer", |b| {
        let mut i = 0;
        b.iter(|| {
            let raw = &raws[i % raws.len()];
            i += 1;
            L2Tx::decode(black_box(raw), CHAIN_ID).expect("valid transaction")
        })
    });
    group.finish();
}

/// 2. State update: `execute_tx` of one transfer between existing accounts of a 10,000-account
///    state, `set` of its writes, `root()`: what `Sequencer::execute` does per transaction.
///    Transactions are decoded beforehand (the sequencer gets them decoded).
fn state_update(c: &mut Criterion) {
    let signers = signers();
    let accounts = accounts(&signers);
    let params = params(&accounts);
    let pristine = funded_state(&accounts);
    let mut group = c.benchmark_group("state_update");
    group.throughput(Throughput::Elements(1));
    for (name, kind) in [
        ("eth_transfer_10k_accounts", Kind::Eth),
        ("erc20_transfer_10k_accounts", Kind::Erc20),
    ] {
        let txs: Vec<L2Tx> = sign_transfers(kind, POOL, &signers, &accounts)
            .into_iter()
            .map(|tx| L2Tx::from_envelope(tx, CHAIN_ID).expect("valid transaction"))
            .collect();
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut timed = Duration::ZERO;
                let mut done = 0u64;
                while done < iters {
                    let n = (iters - done).min(POOL as u64) as usize;
                    let mut state = pristine.clone();
                    let start = Instant::now();
                    for tx in &txs[..n] {
                        let outcome = execute_tx(&state, &params, tx).expect("valid transfer");
                        for (key, value) in outcome.writes {
                            state.set(key, value).unwrap();
                        }
                        black_box(state.root().unwrap());
                    }
                    timed += start.elapsed();
                    done += n as u64;
                }
                timed
            })
        });
    }
    group.finish();
}

/// 3. Batch data v1 of 1,000 ETH transfers (one block marker first): encode, decode (no sender
///    recovery: `decode_batch_v1` does not recover), `data_root` over the 1 KiB chunks, and
///    `steps_root` over one step leaf per transfer.
fn batch(c: &mut Criterion) {
    let signers = signers();
    let accounts = accounts(&signers);
    let mut steps = vec![DataStep::Block {
        timestamp: 1_700_000_000,
    }];
    steps.extend(
        sign_transfers(Kind::Eth, BATCH_TXS, &signers, &accounts)
            .into_iter()
            .map(DataStep::Tx),
    );
    let encoded = encode_batch_v1(&steps, CHAIN_ID).expect("encodable batch");
    assert_eq!(decode_batch_v1(&encoded.data, CHAIN_ID).unwrap(), steps);
    let outcomes: Vec<StepOutcome> = encoded.ends[1..]
        .iter()
        .enumerate()
        .map(|(i, &data_end)| StepOutcome {
            kind: STEP_TX,
            data_end,
            state_root: keccak256((i as u64).to_be_bytes()),
            withdrawal: None,
        })
        .collect();
    let leaves = step_leaves(0, B256::repeat_byte(0x5e), &outcomes).unwrap();
    assert_eq!(leaves.len(), BATCH_TXS);
    eprintln!(
        "batch data v1: {} steps, {} bytes, {} chunks of {} bytes",
        steps.len(),
        encoded.data.len(),
        encoded.data.len().div_ceil(DATA_CHUNK_BYTES),
        DATA_CHUNK_BYTES
    );

    let mut group = c.benchmark_group("batch_v1_1000_transfers");
    group.throughput(Throughput::Elements(BATCH_TXS as u64));
    group.bench_function("encode", |b| {
        b.iter(|| encode_batch_v1(black_box(&steps), CHAIN_ID).unwrap())
    });
    // The decoded steps are dropped outside the timing.
    group.bench_function("decode", |b| {
        b.iter_batched(
            || (),
            |()| decode_batch_v1(black_box(&encoded.data), CHAIN_ID).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("data_root", |b| {
        b.iter(|| data_root(black_box(&encoded.data)))
    });
    group.bench_function("steps_root", |b| b.iter(|| steps_root(black_box(&leaves))));
    group.finish();
}

/// The KZG work of one full blob of batch data: what the poster computes per blob (commitment and
/// blob proof), what an L1 node checks per blob, and one element opening (a fraud proof's unit).
fn blob(c: &mut Criterion) {
    use alloy::eips::eip4844::env_settings::EnvKzgSettings;
    use loft_stf::blob::{DATA_PER_BLOB, element_opening, pack, sidecar};
    let settings = EnvKzgSettings::Default.get();
    let data: Vec<u8> = (0..DATA_PER_BLOB).map(|i| (i * 31 + 7) as u8).collect();
    let blobs = pack(&data);
    let built = sidecar(&data).unwrap();
    let hashes: Vec<B256> = built.versioned_hashes().collect();
    let mut group = c.benchmark_group("blob");
    group.throughput(Throughput::Bytes(DATA_PER_BLOB as u64));
    group.bench_function("sidecar_one_blob", |b| {
        b.iter(|| sidecar(black_box(&data)).unwrap())
    });
    group.bench_function("validate_one_blob", |b| {
        b.iter(|| built.validate(black_box(&hashes), settings).unwrap())
    });
    group.throughput(Throughput::Elements(1));
    group.bench_function("element_opening", |b| {
        b.iter(|| element_opening(black_box(&blobs[0]), 1234).unwrap())
    });
    group.finish();
}

fn config() -> Criterion {
    // About 7 s per benchmark (1 s warm-up, 5 s measurement, analysis): the whole run stays
    // well within 3 minutes on 2 cores.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = signature_recovery, state_update, batch, blob
}
criterion_main!(benches);
