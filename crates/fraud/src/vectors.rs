//! Differential vectors for `contracts/test/StepVerifier.t.sol`, written to
//! `testdata/fraud/steps.json`. The test fails if the committed file differs from what it
//! generates, unless `LOFT_BLESS=1` is set (then it rewrites the file).

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy::primitives::{Address, B256, Bytes, Signature, TxKind, U256, keccak256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolValue;
use loft_state::layout::{
    Account, TokenInfo, account_key, encode_balance, encode_index_address, index_count_key,
    index_key, l2_token_address, token_balance_key, token_key,
};
use loft_state::{MemStore, Smt};
use loft_stf::params::{TRANSFER_SELECTOR, WITHDRAW_SELECTOR};
use loft_stf::{ChainParams, STEP_BLOCK, StepLeaf};
use serde_json::{Value, json};

use crate::{QueueMessage, StepInput, build_step_witness, data_root, queue_head};

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/fraud/steps.json"
);
const CHAIN_ID: u64 = 4242;
/// `dataKind` of a calldata batch and of a blob batch (`loft_contracts::DATA_*`).
const DATA_CALLDATA: u8 = 0;
const DATA_BLOBS: u8 = 1;
const BASE_FEE: u128 = 7;
const BRIDGE: Address = loft_state::layout::L2_BRIDGE;

type State = Smt<MemStore>;

fn signer(i: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_slice(&[i; 32]).unwrap()
}

fn addr(i: u8) -> Address {
    signer(i).address()
}

fn params() -> ChainParams {
    ChainParams {
        chain_id: CHAIN_ID,
        base_fee: BASE_FEE,
        fee_recipient: addr(9),
    }
}

fn l1_token() -> Address {
    Address::repeat_byte(0x77)
}

fn token() -> Address {
    l2_token_address(l1_token())
}

fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18u64))
}

fn set_account(s: &mut State, a: Address, nonce: u64, balance: U256) {
    s.set(account_key(a), Account { nonce, balance }.encode())
        .unwrap();
}

fn base_state() -> State {
    let mut s = Smt::new(MemStore::new(), B256::ZERO);
    set_account(&mut s, addr(1), 3, eth(10));
    set_account(&mut s, addr(2), 0, U256::from(5u64));
    set_account(&mut s, addr(9), 0, U256::from(1_000_000_000u64));
    set_account(&mut s, addr(4), 0, U256::MAX - U256::from(100u64));
    set_account(&mut s, addr(5), u64::MAX - 1, U256::MAX >> 1);
    set_account(&mut s, addr(6), u64::MAX, eth(1));
    let info = TokenInfo {
        l1_token: l1_token(),
        total_supply: U256::from(5000u64),
        decimals: 6,
        name: "Token".into(),
        symbol: "TKN".into(),
    };
    s.set(token_key(token()), info.encode()).unwrap();
    s.set(
        token_balance_key(addr(1), token()),
        encode_balance(U256::from(1000u64)),
    )
    .unwrap();
    s.set(
        token_balance_key(addr(2), token()),
        encode_balance(U256::from(4000u64)),
    )
    .unwrap();
    s
}

fn transfer_data(to: Address, amount: U256) -> Bytes {
    [TRANSFER_SELECTOR.to_vec(), (to, amount).abi_encode_params()]
        .concat()
        .into()
}

fn withdraw_data(token: Address, amount: U256, l1: Address) -> Bytes {
    [
        WITHDRAW_SELECTOR.to_vec(),
        (token, amount, l1).abi_encode_params(),
    ]
    .concat()
    .into()
}

#[derive(Clone)]
struct T {
    legacy: bool,
    chain: u64,
    nonce: u64,
    priority: u128,
    max_fee: u128,
    gas: u64,
    to: Address,
    value: U256,
    data: Bytes,
}

fn tx(nonce: u64, to: Address, value: U256, data: Bytes) -> T {
    T {
        legacy: false,
        chain: CHAIN_ID,
        nonce,
        priority: 3,
        max_fee: 20,
        gas: 100_000,
        to,
        value,
        data,
    }
}

fn legacy(t: T) -> T {
    T { legacy: true, ..t }
}

fn sign(key: u8, t: &T) -> TxEnvelope {
    if t.legacy {
        let tx = TxLegacy {
            chain_id: Some(t.chain),
            nonce: t.nonce,
            gas_price: t.max_fee,
            gas_limit: t.gas,
            to: TxKind::Call(t.to),
            value: t.value,
            input: t.data.clone(),
        };
        let sig = signer(key).sign_hash_sync(&tx.signature_hash()).unwrap();
        TxEnvelope::Legacy(tx.into_signed(sig))
    } else {
        let tx = TxEip1559 {
            chain_id: t.chain,
            nonce: t.nonce,
            gas_limit: t.gas,
            max_fee_per_gas: t.max_fee,
            max_priority_fee_per_gas: t.priority,
            to: TxKind::Call(t.to),
            value: t.value,
            access_list: Default::default(),
            input: t.data.clone(),
        };
        let sig = signer(key).sign_hash_sync(&tx.signature_hash()).unwrap();
        TxEnvelope::Eip1559(tx.into_signed(sig))
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u128) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The §3.2 encoding of `t` with signature `sig` (any chain: the chain id is not encoded).
fn encode(t: &T, sig: &Signature) -> Vec<u8> {
    let mut out = vec![if t.legacy { 0x00 } else { 0x02 }];
    put_varint(&mut out, t.nonce.into());
    if !t.legacy {
        put_varint(&mut out, t.priority);
    }
    put_varint(&mut out, t.max_fee);
    put_varint(&mut out, t.gas.into());
    out.extend_from_slice(t.to.as_slice());
    let n = 32 - (t.value.leading_zeros() / 8);
    out.push(n as u8);
    out.extend_from_slice(&t.value.to_be_bytes::<32>()[32 - n..]);
    put_varint(&mut out, t.data.len() as u128);
    out.extend_from_slice(&t.data);
    out.push(u8::from(sig.v()));
    out.extend_from_slice(&sig.r().to_be_bytes::<32>());
    out.extend_from_slice(&sig.s().to_be_bytes::<32>());
    out
}

fn put_varint256(out: &mut Vec<u8>, mut v: U256) {
    while v >= U256::from(0x80u8) {
        out.push(v.byte(0) | 0x80);
        v >>= 7;
    }
    out.push(v.byte(0));
}

/// `dec(x)` of docs/rollup.md §3.2: `varint(m × 78 + e)`, `x = m × 10^e` with `m` not a
/// multiple of 10 (`x` must be representable).
fn dec(out: &mut Vec<u8>, x: U256) {
    let ten = U256::from(10u8);
    let (mut m, mut e) = (x, 0u64);
    while !m.is_zero() && e < 77 && (m % ten).is_zero() {
        m /= ten;
        e += 1;
    }
    put_varint256(out, m * U256::from(78u8) + U256::from(e));
}

/// The compact encoding (docs/rollup.md §3.2) of `t` signed by `key`: an ETH transfer to index
/// `a` (`b` = `None`) or an ERC-20 transfer of `amount` on token index `a` to index `b`. `t` is
/// what is signed, so the indexes may name other addresses than it does.
fn compact(key: u8, t: &T, a: u64, b: Option<u64>, amount: U256) -> Vec<u8> {
    let sig = *sign(key, t).signature();
    let own = if b.is_some() { 40_000 } else { 21_000 };
    let g = t.gas != own;
    let mut out = vec![0x20 | u8::from(b.is_some()) << 2 | u8::from(g) << 1 | u8::from(sig.v())];
    put_varint(&mut out, t.nonce.into());
    dec(&mut out, U256::from(t.priority));
    dec(&mut out, U256::from(t.max_fee));
    if g {
        put_varint(&mut out, t.gas.into());
    }
    put_varint(&mut out, a.into());
    if let Some(b) = b {
        put_varint(&mut out, b.into());
    }
    dec(&mut out, amount);
    out.extend_from_slice(&sig.r().to_be_bytes::<32>());
    out.extend_from_slice(&sig.s().to_be_bytes::<32>());
    out
}

/// The accounts of [`base_state`] with indexes: addr(1) 0, addr(2) 1, the token 2, addr(9) 3.
const INDEXED: [u8; 4] = [1, 2, 0, 9];

fn indexed_address(i: u64) -> Address {
    match INDEXED[i as usize] {
        0 => token(),
        k => addr(k),
    }
}

/// [`base_state`] with account indexes (docs/rollup.md §1.2) for [`INDEXED`] and their count.
fn indexed_state() -> State {
    let mut s = base_state();
    for i in 0..INDEXED.len() as u64 {
        s.set(index_key(i), encode_index_address(indexed_address(i)))
            .unwrap();
    }
    s.set(index_count_key(), encode_balance(U256::from(INDEXED.len())))
        .unwrap();
    s
}

fn compact_case(name: &str, step: Vec<u8>) -> Case {
    Case {
        state: indexed_state(),
        ..case(name, step)
    }
}

fn signed(key: u8, t: &T) -> Vec<u8> {
    let env = sign(key, t);
    let sig = *env.signature();
    encode(t, &sig)
}

/// One case: the step bytes at `offset` (after `0x01` and block-marker padding).
struct Case {
    name: String,
    state: State,
    step: Vec<u8>,
    /// Bytes of padding before the step (block markers `0x10 0x00`, then maybe one `0x10 0x7f`).
    pad: usize,
    trailing: Vec<u8>,
    prev_kind: u8,
    /// For queue steps: the message at position 1 (message 0 is a dummy), and `queueEnd`.
    message: Option<QueueMessage>,
    queue_end: u64,
    withdrawals: Vec<B256>,
    revert: Option<fn(&mut crate::abi::Witness)>,
    /// The `BadWitness` reason the tampered witness must revert with (`None`: any revert).
    reason: Option<&'static str>,
    /// Blob batch: open this many elements after the ones the builder opens (still within the
    /// step's window: the verifier accepts any prefix that holds the step).
    extra_elements: usize,
    /// Post the data in blobs (`dataKind` 1) instead of calldata.
    blobs: bool,
    /// Write this into byte 0 of every blob element (readers ignore it).
    high_byte: u8,
    /// A `dataKind` other than the one the data was posted with.
    data_kind: Option<u8>,
}

fn case(name: &str, step: Vec<u8>) -> Case {
    Case {
        name: name.into(),
        state: base_state(),
        step,
        pad: 0,
        trailing: vec![0x10, 0x00],
        prev_kind: STEP_BLOCK,
        message: None,
        queue_end: 2,
        withdrawals: Vec::new(),
        revert: None,
        reason: None,
        extra_elements: 0,
        blobs: false,
        high_byte: 0,
        data_kind: None,
    }
}

/// `case` with its data posted in blobs.
fn blob_case(name: &str, step: Vec<u8>) -> Case {
    Case {
        blobs: true,
        ..case(name, step)
    }
}

fn padding(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    while out.len() + 2 <= n {
        out.extend_from_slice(&[0x10, 0x00]);
    }
    if out.len() < n {
        // An odd byte: make the last marker three bytes long.
        out.truncate(out.len() - 2);
        out.extend_from_slice(&[0x10, 0x80, 0x01]);
    }
    out
}

fn dummy_message() -> QueueMessage {
    QueueMessage {
        kind: 9,
        sender: Address::repeat_byte(0xbb),
        l1_block_number: 1,
        timestamp: 2,
        payload: Bytes::from_static(b"dummy"),
    }
}

fn run(c: Case) -> Value {
    let mut data = vec![0x01];
    data.extend(padding(c.pad));
    let offset = data.len() as u64;
    data.extend_from_slice(&c.step);
    data.extend_from_slice(&c.trailing);
    let n = c.withdrawals.len();
    let (_, w_root) = crate::data::withdrawal_slot(&c.withdrawals, n);
    let prev = StepLeaf {
        kind: c.prev_kind,
        queue_pos: 1,
        data_end: offset,
        w_count: n as u64,
        w_root,
        state_root: c.state.root_hash(),
    };
    let dummy = dummy_message();
    let mut heads = vec![B256::ZERO, queue_head(B256::ZERO, 0, &dummy)];
    if let Some(m) = &c.message {
        heads.push(queue_head(heads[1], 1, m));
    }
    let blobs = c.blobs.then(|| {
        let mut blobs = loft_stf::blob::pack(&data);
        for blob in &mut blobs {
            for e in 0..loft_stf::blob::ELEMENTS_PER_BLOB {
                blob.0[32 * e] = c.high_byte;
            }
        }
        blobs
    });
    // A blob batch's data is what a reader unpacks from its blobs.
    let unpacked = blobs
        .as_ref()
        .map(|b| loft_stf::blob::unpack(b, data.len()).unwrap());
    assert!(unpacked.as_ref().is_none_or(|u| *u == data));
    let (root, kind) = match &blobs {
        Some(b) => {
            let hashes: Vec<u8> = b
                .iter()
                .flat_map(|b| loft_stf::blob::commitment(b).unwrap().1)
                .collect();
            (keccak256(hashes), DATA_BLOBS)
        }
        None => (data_root(&data), DATA_CALLDATA),
    };
    let kind = c.data_kind.unwrap_or(kind);
    let input = StepInput {
        data: unpacked.as_deref().unwrap_or(&data),
        blobs: blobs.as_deref(),
        queue_end: c.queue_end,
        message: c.message.as_ref(),
        withdrawals: &c.withdrawals,
    };
    let built = build_step_witness(&c.state, &params(), &prev, &input).unwrap();
    let mut witness = built.witness.clone();
    if c.extra_elements > 0 {
        let blobs = blobs.as_deref().unwrap();
        let mut w = <crate::abi::Witness as SolValue>::abi_decode_params(&witness).unwrap();
        let per = loft_stf::blob::DATA_PER_ELEMENT;
        let next = prev.data_end as usize / per + w.1.len();
        for k in next..next + c.extra_elements {
            let blob = &blobs[k / loft_stf::blob::ELEMENTS_PER_BLOB];
            let opening =
                loft_stf::blob::element_opening(blob, k % loft_stf::blob::ELEMENTS_PER_BLOB)
                    .unwrap();
            w.1.push(crate::abi::BlobElement {
                y: opening.y,
                commitment: Bytes::copy_from_slice(&loft_stf::blob::commitment(blob).unwrap().0),
                proof: Bytes::copy_from_slice(&opening.proof),
            });
        }
        witness = w.abi_encode_params();
    }
    if let Some(tamper) = c.revert {
        use alloy::sol_types::SolType;
        use alloy::sol_types::sol_data::{Array, FixedArray, FixedBytes};
        type W = (
            Array<crate::abi::DataChunk>,
            Array<crate::abi::BlobElement>,
            Array<FixedBytes<32>>,
            crate::abi::QueueMessage,
            Array<crate::abi::StateAccess>,
            Array<crate::abi::StateAccess>,
            FixedArray<FixedBytes<32>, 16>,
        );
        let mut w = W::abi_decode_params(&witness).unwrap();
        tamper(&mut w);
        witness = W::abi_encode_params(&w);
    }
    let elements = elements_opened(&witness);
    let blob = (
        c.name.clone(),
        (
            root,
            data.len() as u64,
            U256::from(kind),
            c.queue_end,
            U256::from(BASE_FEE),
        ),
        (
            U256::from(prev.kind),
            prev.queue_pos,
            prev.data_end,
            prev.w_count,
            prev.w_root,
            prev.state_root,
        ),
        Bytes::from(witness.clone()),
        c.revert.is_some(),
        built.valid,
        built.next.hash(),
        heads.clone(),
    )
        .abi_encode();
    json!({
        "name": c.name,
        "dataRoot": root,
        "dataLength": data.len(),
        "dataKind": kind,
        "queueEnd": c.queue_end,
        "baseFee": BASE_FEE as u64,
        "heads": heads,
        "prevKind": prev.kind,
        "prevQueuePos": prev.queue_pos,
        "prevDataEnd": prev.data_end,
        "prevWCount": prev.w_count,
        "prevWRoot": prev.w_root,
        "prevStateRoot": prev.state_root,
        "witness": Bytes::from(witness),
        "revert": c.revert.is_some(),
        "revertReason": c.reason.unwrap_or_default(),
        "elements": elements,
        "valid": built.valid,
        "nextHash": built.next.hash(),
        "abi": Bytes::from(blob),
    })
}

/// How many blob elements `witness` opens.
fn elements_opened(witness: &[u8]) -> usize {
    <crate::abi::Witness as SolValue>::abi_decode_params(witness)
        .map(|w| w.1.len())
        .unwrap_or(0)
}

fn queue_case(name: &str, kind: u8, payload: Vec<u8>) -> Case {
    Case {
        message: Some(QueueMessage {
            kind,
            sender: Address::repeat_byte(0xaa),
            l1_block_number: 77,
            timestamp: 1_700_000_000,
            payload: payload.into(),
        }),
        ..case(name, vec![0x11])
    }
}

/// A forced message (`docs/liveness.md` §1) sent on L1 by `sender`.
fn forced_case(name: &str, kind: u8, sender: Address, payload: Vec<u8>) -> Case {
    let mut c = queue_case(name, kind, payload);
    if let Some(m) = c.message.as_mut() {
        m.sender = sender;
    }
    c
}

fn forced_withdrawal(l1: Address, amount: U256, l1_recipient: Address) -> Vec<u8> {
    (l1, amount, l1_recipient).abi_encode_params()
}

fn deposit(l1: Address, to: Address, amount: U256) -> Vec<u8> {
    (l1, Address::repeat_byte(0xaa), to, amount).abi_encode_params()
}

fn registration(l1: Address, name: &str, symbol: &str, decimals: u8) -> Vec<u8> {
    (
        l1,
        name.to_string(),
        symbol.to_string(),
        U256::from(decimals),
    )
        .abi_encode_params()
}

/// A state where the leaves a token withdrawal of key 1 touches sit at depth 30.
fn deep_state() -> State {
    let mut s = base_state();
    let keys = [
        account_key(addr(1)),
        token_balance_key(addr(1), token()),
        token_key(token()),
        account_key(addr(9)),
    ];
    for key in keys {
        for bit in 0..30 {
            let mut k = key;
            k.0[bit / 8] ^= 0x80 >> (bit % 8);
            s.set(k, keccak256(k).to_vec()).unwrap();
        }
    }
    s
}

fn generate() -> Value {
    let a = addr(1);
    let b = addr(2);
    let fresh = addr(3);
    let l1r = Address::repeat_byte(0x33);
    let t = token();
    let mut cases = Vec::new();
    let mut push = |c: Case| cases.push(run(c));

    // Valid transactions.
    push(case(
        "eth transfer (1559)",
        signed(1, &tx(3, b, U256::from(1000u64), Bytes::new())),
    ));
    push(case(
        "eth transfer (legacy) to an empty account",
        signed(1, &legacy(tx(3, fresh, eth(1), Bytes::new()))),
    ));
    push(case(
        "token transfer",
        signed(
            1,
            &tx(3, t, U256::ZERO, transfer_data(b, U256::from(250u64))),
        ),
    ));
    push(case(
        "token transfer to an empty account (legacy)",
        signed(
            1,
            &legacy(tx(
                3,
                t,
                U256::ZERO,
                transfer_data(fresh, U256::from(1000u64)),
            )),
        ),
    ));
    push(case(
        "eth withdrawal (legacy)",
        signed(
            1,
            &legacy(tx(
                3,
                BRIDGE,
                U256::ZERO,
                withdraw_data(Address::ZERO, eth(2), l1r),
            )),
        ),
    ));
    push(case(
        "token withdrawal",
        signed(
            1,
            &tx(
                3,
                BRIDGE,
                U256::ZERO,
                withdraw_data(t, U256::from(400u64), l1r),
            ),
        ),
    ));
    push(case(
        "eth self-transfer",
        signed(1, &tx(3, a, eth(1), Bytes::new())),
    ));
    push(case(
        "token self-transfer",
        signed(
            1,
            &tx(3, t, U256::ZERO, transfer_data(a, U256::from(1000u64))),
        ),
    ));
    push(case(
        "zero eth to the zero address",
        signed(1, &tx(3, Address::ZERO, U256::ZERO, Bytes::new())),
    ));
    push(case(
        "zero token transfer",
        signed(1, &tx(3, t, U256::ZERO, transfer_data(fresh, U256::ZERO))),
    ));
    push(case(
        "fee recipient as sender",
        signed(9, &tx(0, b, U256::from(1u64), Bytes::new())),
    ));
    push(case(
        "transfer to the fee recipient",
        signed(1, &tx(3, addr(9), U256::from(1u64), Bytes::new())),
    ));
    push(case(
        "fee recipient withdraws all it can",
        signed(
            9,
            &legacy(tx(
                0,
                BRIDGE,
                U256::ZERO,
                withdraw_data(
                    Address::ZERO,
                    U256::from(1_000_000_000u64 - 60_000 * 20),
                    l1r,
                ),
            )),
        ),
    ));
    push(case(
        "max values: nonce 2^64-2, gas price 2^128-1, gas limit 2^64-1",
        signed(
            5,
            &legacy(T {
                max_fee: u128::MAX,
                gas: u64::MAX,
                ..tx(u64::MAX - 1, b, U256::MAX >> 2, Bytes::new())
            }),
        ),
    ));
    push(case(
        "1559 price capped by max fee",
        signed(
            1,
            &T {
                priority: 1000,
                max_fee: 9,
                ..tx(3, b, U256::ONE, Bytes::new())
            },
        ),
    ));
    push(case(
        "1559 price at max fee = base fee, priority 0",
        signed(
            1,
            &T {
                priority: 0,
                max_fee: 7,
                ..tx(3, b, U256::ONE, Bytes::new())
            },
        ),
    ));
    push({
        let mut c = case(
            "withdrawal into a non-empty withdrawal tree",
            signed(
                1,
                &tx(
                    3,
                    BRIDGE,
                    U256::ZERO,
                    withdraw_data(t, U256::from(1u64), l1r),
                ),
            ),
        );
        c.withdrawals = (0..5u8).map(|i| keccak256([i])).collect();
        c
    });
    let mut c = case(
        "transfer across a chunk boundary",
        signed(1, &tx(3, b, U256::from(7u64), Bytes::new())),
    );
    c.pad = 1000;
    push(c);
    let mut c = case(
        "transfer at the end of a three-chunk batch",
        signed(1, &tx(3, b, U256::from(7u64), Bytes::new())),
    );
    c.pad = 2100;
    c.trailing = Vec::new();
    push(c);

    // Refused transactions.
    let good = tx(3, b, U256::from(1000u64), Bytes::new());
    let env = sign(1, &good);
    let sig = *env.signature();
    let n = U256::from_be_slice(&alloy::primitives::hex!(
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
    ));
    push(case(
        "high s (EIP-2)",
        encode(&good, &Signature::new(sig.r(), n - sig.s(), !sig.v())),
    ));
    push(case(
        "r = 0",
        encode(&good, &Signature::new(U256::ZERO, sig.s(), sig.v())),
    ));
    push(case(
        "signature over other fields",
        encode(
            &T {
                nonce: 4,
                ..good.clone()
            },
            &sig,
        ),
    ));
    push(case(
        "signed for another chain id",
        signed(
            1,
            &T {
                chain: 1,
                ..good.clone()
            },
        ),
    ));
    push(case(
        "legacy signed for another chain id",
        signed(
            1,
            &legacy(T {
                chain: 1,
                ..good.clone()
            }),
        ),
    ));
    push(case(
        "nonce too low",
        signed(1, &tx(2, b, U256::ONE, Bytes::new())),
    ));
    push(case(
        "nonce too high",
        signed(1, &tx(4, b, U256::ONE, Bytes::new())),
    ));
    push(case(
        "nonce 2^64-1 (EIP-2681)",
        signed(6, &tx(u64::MAX, b, U256::ONE, Bytes::new())),
    ));
    push(case(
        "insufficient funds (value)",
        signed(1, &tx(3, b, eth(10), Bytes::new())),
    ));
    push(case(
        "insufficient funds (fee) from an empty account",
        signed(3, &tx(0, b, U256::ZERO, Bytes::new())),
    ));
    push(case(
        "insufficient funds (eth withdrawal)",
        signed(
            2,
            &tx(
                0,
                BRIDGE,
                U256::ZERO,
                withdraw_data(Address::ZERO, U256::ONE, l1r),
            ),
        ),
    ));
    push(case(
        "insufficient token funds",
        signed(
            1,
            &tx(3, t, U256::ZERO, transfer_data(b, U256::from(1001u64))),
        ),
    ));
    push(case(
        "insufficient token funds (withdrawal)",
        signed(
            1,
            &tx(
                3,
                BRIDGE,
                U256::ZERO,
                withdraw_data(t, U256::from(1001u64), l1r),
            ),
        ),
    ));
    push(case(
        "unsupported call: eth to a token",
        signed(1, &tx(3, t, U256::ONE, Bytes::new())),
    ));
    push(case(
        "unsupported call: transfer to a non-token",
        signed(1, &tx(3, b, U256::ZERO, transfer_data(b, U256::ONE))),
    ));
    push(case(
        "unsupported call: value to the bridge",
        signed(1, &tx(3, BRIDGE, U256::ONE, Bytes::new())),
    ));
    push(case(
        "unsupported call: value with calldata",
        signed(1, &tx(3, t, U256::ONE, transfer_data(b, U256::ONE))),
    ));
    push(case(
        "unsupported call: unknown selector",
        signed(
            1,
            &tx(3, t, U256::ZERO, Bytes::from_static(&[1, 2, 3, 4, 5])),
        ),
    ));
    push(case(
        "unsupported call: short calldata",
        signed(
            1,
            &tx(3, t, U256::ZERO, Bytes::from_static(&[0xa9, 0x05, 0x9c])),
        ),
    ));
    push(case("unsupported call: dirty address word", {
        let mut d = transfer_data(b, U256::ONE).to_vec();
        d[4] = 1;
        signed(1, &tx(3, t, U256::ZERO, d.into()))
    }));
    push(case("unsupported call: withdraw calldata of 101 bytes", {
        let mut d = withdraw_data(t, U256::ONE, l1r).to_vec();
        d.push(0);
        signed(1, &tx(3, BRIDGE, U256::ZERO, d.into()))
    }));
    push(case(
        "unknown token",
        signed(
            1,
            &tx(
                3,
                BRIDGE,
                U256::ZERO,
                withdraw_data(Address::repeat_byte(0x42), U256::ONE, l1r),
            ),
        ),
    ));
    push(case(
        "token transfer to the zero address",
        signed(
            1,
            &tx(3, t, U256::ZERO, transfer_data(Address::ZERO, U256::ONE)),
        ),
    ));
    push(case(
        "withdrawal to the zero address",
        signed(
            1,
            &tx(
                3,
                BRIDGE,
                U256::ZERO,
                withdraw_data(Address::ZERO, U256::ONE, Address::ZERO),
            ),
        ),
    ));
    push(case(
        "withdrawal of zero",
        signed(
            1,
            &tx(3, BRIDGE, U256::ZERO, withdraw_data(t, U256::ZERO, l1r)),
        ),
    ));
    push(case(
        "gas limit too low",
        signed(
            1,
            &T {
                gas: 20_999,
                ..good.clone()
            },
        ),
    ));
    push(case(
        "gas limit too low (withdrawal)",
        signed(
            1,
            &T {
                gas: 59_999,
                ..tx(3, BRIDGE, U256::ZERO, withdraw_data(t, U256::ONE, l1r))
            },
        ),
    ));
    push(case(
        "fee below base fee",
        signed(
            1,
            &T {
                max_fee: 6,
                priority: 0,
                ..good.clone()
            },
        ),
    ));
    push(case(
        "legacy gas price below base fee",
        signed(
            1,
            &legacy(T {
                max_fee: 6,
                ..good.clone()
            }),
        ),
    ));
    push(case(
        "priority above max fee",
        signed(
            1,
            &T {
                max_fee: 8,
                priority: 9,
                ..good.clone()
            },
        ),
    ));
    push(case(
        "credit overflows the recipient",
        signed(1, &tx(3, addr(4), U256::from(101u64), Bytes::new())),
    ));
    push({
        let mut c = case("first step of a batch is a transaction", signed(1, &good));
        c.prev_kind = 0;
        c
    });

    // Undecodable steps.
    push(case("unknown step tag", vec![0x05, 0, 0]));
    push(case("transaction type 1", vec![0x01, 0, 0]));
    let enc = signed(1, &good);
    let mut c = case(
        "transaction cut by the end of the data",
        enc[..enc.len() - 1].to_vec(),
    );
    c.trailing = Vec::new();
    push(c);
    push(case("non-minimal u256 value", {
        let mut e = vec![0x02, 3, 3, 20];
        put_varint(&mut e, 100_000);
        e.extend_from_slice(b.as_slice());
        e.extend_from_slice(&[2, 0, 5, 0, 0]);
        e.extend_from_slice(&[0u8; 64]);
        e
    }));
    push(case("y parity 2", {
        let mut e = enc.clone();
        let p = e.len() - 65;
        e[p] = 2;
        e
    }));
    push(case("non-shortest varint nonce", {
        let mut e = vec![0x02, 0x83, 0x00];
        e.extend_from_slice(&enc[2..]);
        e
    }));
    push(case(
        "transaction longer than 320 bytes",
        signed(1, &tx(3, t, U256::ZERO, Bytes::from(vec![7u8; 250]))),
    ));
    push({
        let mut c = case("data ends at prev.dataEnd", Vec::new());
        c.trailing = Vec::new();
        c
    });

    // Block markers.
    push(case("block marker", vec![0x10, 0xe8, 0x07]));
    push(case(
        "block marker with the largest timestamp",
        vec![
            0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ],
    ));
    push({
        let mut c = case("first step: block marker", vec![0x10, 0x05]);
        c.prev_kind = 0;
        c
    });
    push(case(
        "block marker with a non-shortest varint",
        vec![0x10, 0x85, 0x00],
    ));
    push(case(
        "block marker with a timestamp above 2^64",
        vec![
            0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
        ],
    ));
    push({
        let mut c = case("block marker cut by the end of the data", vec![0x10, 0x85]);
        c.trailing = Vec::new();
        c
    });

    // Queue steps.
    push(queue_case(
        "deposit eth to an empty account",
        0,
        deposit(Address::ZERO, fresh, eth(3)),
    ));
    push(queue_case(
        "deposit eth to an existing account",
        0,
        deposit(Address::ZERO, a, U256::ONE),
    ));
    push(queue_case(
        "deposit of a registered token",
        0,
        deposit(l1_token(), fresh, U256::from(55u64)),
    ));
    push(queue_case(
        "deposit of an unregistered token",
        0,
        deposit(Address::repeat_byte(0x44), b, U256::from(9u64)),
    ));
    push(queue_case(
        "deposit overflowing the balance",
        0,
        deposit(Address::ZERO, addr(4), U256::from(101u64)),
    ));
    push(queue_case(
        "deposit overflowing the total supply",
        0,
        deposit(l1_token(), b, U256::MAX - U256::from(10u64)),
    ));
    push(queue_case(
        "deposit of zero",
        0,
        deposit(Address::ZERO, fresh, U256::ZERO),
    ));
    push(queue_case(
        "deposit payload too short",
        0,
        deposit(Address::ZERO, fresh, U256::ONE)[..127].to_vec(),
    ));
    push(queue_case(
        "deposit payload with a trailing byte",
        0,
        [deposit(Address::ZERO, fresh, U256::ONE), vec![1]].concat(),
    ));
    push(queue_case("deposit with a dirty address word", 0, {
        let mut p = deposit(Address::ZERO, fresh, U256::ONE);
        p[64] = 1;
        p
    }));
    push(queue_case(
        "registration",
        1,
        registration(Address::repeat_byte(0x45), "New Token", "NEW", 8),
    ));
    push(queue_case(
        "registration of a known token",
        1,
        registration(l1_token(), "Other", "OTH", 8),
    ));
    push(queue_case(
        "registration with empty metadata",
        1,
        registration(Address::repeat_byte(0x46), "", "", 18),
    ));
    push(queue_case(
        "registration with a long name",
        1,
        registration(Address::repeat_byte(0x47), &"n".repeat(100), "ü€😀", 0),
    ));
    push(queue_case("registration with invalid utf-8", 1, {
        let mut p = registration(Address::repeat_byte(0x48), "abc", "X", 8);
        p[160] = 0xff;
        p
    }));
    push(queue_case("registration with decimals above 255", 1, {
        let mut p = registration(Address::repeat_byte(0x48), "abc", "X", 8);
        p[126] = 1;
        p
    }));
    push(queue_case("registration with a string out of bounds", 1, {
        let mut p = registration(Address::repeat_byte(0x48), "abc", "X", 8);
        p[63] = 0xf0;
        p
    }));
    push(queue_case(
        "registration payload too short",
        1,
        vec![0u8; 100],
    ));

    // Forced withdrawals (kind 3): the L1 sender's own balance, no fee, the account nonce.
    let fw = |name: &str, who: Address, l1: Address, amount: U256, to: Address| {
        forced_case(name, 3, who, forced_withdrawal(l1, amount, to))
    };
    push(fw(
        "forced withdrawal of ETH",
        a,
        Address::ZERO,
        eth(1),
        l1r,
    ));
    push(fw(
        "forced withdrawal of the whole ETH balance",
        a,
        Address::ZERO,
        eth(10),
        l1r,
    ));
    push(fw(
        "forced withdrawal above the ETH balance",
        a,
        Address::ZERO,
        eth(10) + U256::ONE,
        l1r,
    ));
    push(fw(
        "forced withdrawal of tokens",
        a,
        l1_token(),
        U256::from(1000u64),
        l1r,
    ));
    push(fw(
        "forced withdrawal above the token balance",
        a,
        l1_token(),
        U256::from(1001u64),
        l1r,
    ));
    push(fw(
        "forced withdrawal of an unknown token",
        a,
        Address::repeat_byte(0x77),
        U256::ONE,
        l1r,
    ));
    push(fw(
        "forced withdrawal of zero",
        a,
        Address::ZERO,
        U256::ZERO,
        l1r,
    ));
    push(fw(
        "forced withdrawal to the zero address",
        a,
        Address::ZERO,
        U256::ONE,
        Address::ZERO,
    ));
    push(fw(
        "forced withdrawal from an empty account",
        fresh,
        Address::ZERO,
        U256::ONE,
        l1r,
    ));
    push(fw(
        "forced withdrawal with an exhausted nonce",
        addr(6),
        Address::ZERO,
        U256::ONE,
        l1r,
    ));
    push(fw(
        "forced withdrawal taking the last nonce",
        addr(5),
        Address::ZERO,
        U256::ONE,
        l1r,
    ));
    push(forced_case(
        "forced withdrawal payload with a trailing byte",
        3,
        a,
        {
            let mut p = forced_withdrawal(Address::ZERO, U256::ONE, l1r);
            p.push(0);
            p
        },
    ));
    push(forced_case(
        "forced withdrawal payload too short",
        3,
        a,
        forced_withdrawal(Address::ZERO, U256::ONE, l1r)[..95].to_vec(),
    ));
    push(forced_case(
        "forced withdrawal with a dirty address word",
        3,
        a,
        {
            let mut p = forced_withdrawal(Address::ZERO, U256::ONE, l1r);
            p[64] = 1;
            p
        },
    ));
    push({
        let mut c = fw(
            "forced token withdrawal after three withdrawals",
            b,
            l1_token(),
            U256::from(4000u64),
            l1r,
        );
        c.withdrawals = (0..3u32).map(|i| keccak256(i.to_be_bytes())).collect();
        c
    });

    // Forced transactions (kind 2): executed like a batch transaction, or consumed without
    // effect when L2 refuses it.
    let ft =
        |name: &str, payload: Vec<u8>| forced_case(name, 2, Address::repeat_byte(0xee), payload);
    push(ft("forced tx: eth transfer", signed(1, &good)));
    push(ft(
        "forced tx: eth transfer (legacy)",
        signed(1, &legacy(tx(3, fresh, eth(1), Bytes::new()))),
    ));
    push({
        let mut c = ft(
            "forced tx: token withdrawal after two withdrawals",
            signed(
                1,
                &tx(
                    3,
                    BRIDGE,
                    U256::ZERO,
                    withdraw_data(t, U256::from(10u64), l1r),
                ),
            ),
        );
        c.withdrawals = (0..2u32).map(|i| keccak256(i.to_be_bytes())).collect();
        c
    });
    push(ft(
        "forced tx: token transfer",
        signed(1, &tx(3, t, U256::ZERO, transfer_data(b, U256::from(5u64)))),
    ));
    push(ft(
        "forced tx: nonce too high",
        signed(1, &tx(4, b, U256::ONE, Bytes::new())),
    ));
    push(ft(
        "forced tx: insufficient funds",
        signed(2, &tx(0, a, U256::from(6u64), Bytes::new())),
    ));
    push(ft(
        "forced tx: credit overflows the recipient",
        signed(1, &tx(3, addr(4), U256::from(1000u64), Bytes::new())),
    ));
    push(ft("forced tx: max fee below the base fee", {
        let mut x = tx(3, b, U256::ONE, Bytes::new());
        x.max_fee = BASE_FEE - 1;
        x.priority = 0;
        signed(1, &x)
    }));
    push(ft("forced tx: a flipped signature bit", {
        let mut p = signed(1, &good);
        let n = p.len();
        p[n - 40] ^= 4;
        p
    }));
    push(ft("forced tx: trailing byte", {
        let mut p = signed(1, &good);
        p.push(0x10);
        p
    }));
    push(ft("forced tx: cut short", {
        let mut p = signed(1, &good);
        p.pop();
        p
    }));
    push(ft("forced tx: a block marker", vec![0x10, 0x00]));
    push(ft("forced tx: empty", Vec::new()));
    push(ft(
        "forced tx: longer than 320 bytes",
        signed(1, &tx(3, t, U256::ZERO, Bytes::from(vec![7u8; 250]))),
    ));
    push(ft("forced tx: other chain", {
        let mut x = tx(3, b, U256::ONE, Bytes::new());
        x.chain = CHAIN_ID + 1;
        signed(1, &x)
    }));
    push({
        let mut c = fw(
            "revert: forced withdrawal with an occupied slot",
            a,
            Address::ZERO,
            U256::ONE,
            l1r,
        );
        c.withdrawals = vec![keccak256(b"w0")];
        c.revert = Some(|w| w.6[0] = B256::repeat_byte(2));
        c
    });
    push({
        let mut c = ft(
            "revert: writes for a refused forced tx",
            signed(1, &tx(2, b, U256::ONE, Bytes::new())),
        );
        c.revert = Some(|w| w.4.push(w.5[0].clone()));
        c
    });
    push(queue_case(
        "unknown message kind",
        7,
        deposit(Address::ZERO, fresh, U256::ONE),
    ));
    push({
        let mut c = queue_case(
            "queue step beyond queueEnd",
            0,
            deposit(Address::ZERO, fresh, U256::ONE),
        );
        c.queue_end = 1;
        c
    });
    push({
        let mut c = queue_case(
            "first step: queue",
            0,
            deposit(Address::ZERO, fresh, U256::ONE),
        );
        c.prev_kind = 0;
        c
    });

    // Witnesses that do not verify: the call reverts.
    push({
        let mut c = queue_case(
            "revert: altered queue message",
            0,
            deposit(Address::ZERO, fresh, U256::ONE),
        );
        c.revert = Some(|w| w.3.payload = Bytes::from_static(b"x"));
        c
    });
    push({
        let mut c = case("revert: tampered write proof", signed(1, &good));
        c.revert = Some(|w| w.4[0].proof.siblings[0] = B256::repeat_byte(1));
        c
    });
    push({
        let mut c = case("revert: tampered read proof", signed(1, &good));
        c.revert = Some(|w| w.5[0].proof.siblings[0] = B256::repeat_byte(1));
        c
    });
    push({
        let mut c = case("revert: altered chunk", signed(1, &good));
        c.revert = Some(|w| {
            let mut d = w.0[0].data.to_vec();
            d[0] ^= 1;
            w.0[0].data = d.into();
        });
        c
    });
    push({
        let mut c = case(
            "revert: writes for a refused transaction",
            signed(1, &tx(2, b, U256::ONE, Bytes::new())),
        );
        c.revert = Some(|w| w.4.push(w.5[0].clone()));
        c
    });
    push({
        let mut c = case("revert: a write missing", signed(1, &good));
        c.revert = Some(|w| {
            w.4.pop();
        });
        c
    });
    push({
        let mut c = case(
            "revert: occupied withdrawal slot",
            signed(
                1,
                &tx(3, BRIDGE, U256::ZERO, withdraw_data(t, U256::ONE, l1r)),
            ),
        );
        c.revert = Some(|w| w.6[0] = B256::repeat_byte(2));
        c
    });

    // Blob batches (`dataKind` 1): the same steps read from blob elements opened with the
    // point-evaluation precompile. Offsets are data offsets (1 + pad); element k holds data
    // bytes [31k, 31k + 31), blob b elements [4096b, 4096b + 4096).
    let transfer = || signed(1, &tx(3, b, U256::from(1000u64), Bytes::new()));
    let per_blob = loft_stf::blob::DATA_PER_BLOB;
    push(blob_case(BLOB_TRANSFER_CASE, transfer()));
    push({
        let mut c = blob_case("blob: step at an element boundary", transfer());
        c.pad = 30;
        c
    });
    push({
        let mut c = blob_case(
            "blob: non-zero first bytes of the elements are ignored",
            transfer(),
        );
        c.high_byte = 0x5a;
        c
    });
    push({
        let mut c = blob_case(
            "blob: transaction longer than 320 bytes (a window over 12 elements)",
            signed(1, &tx(3, t, U256::ZERO, Bytes::from(vec![7u8; 250]))),
        );
        c.pad = 29;
        c
    });
    push({
        let mut c = blob_case(
            "blob: last step, data ends at an element boundary",
            vec![0x10, 0x00],
        );
        c.pad = 59;
        c.trailing = Vec::new();
        c
    });
    push({
        let mut c = blob_case("blob: data ends at prev.dataEnd", Vec::new());
        c.trailing = Vec::new();
        c
    });
    push({
        let mut c = queue_case(
            "blob: deposit",
            0,
            deposit(Address::ZERO, fresh, U256::from(5u64)),
        );
        c.blobs = true;
        c
    });
    push({
        let mut c = blob_case("blob: step across two blobs", transfer());
        c.pad = per_blob - 6;
        c
    });
    push({
        let mut c = blob_case("blob: step at the start of the second blob", transfer());
        c.pad = per_blob - 1;
        c
    });
    push({
        let mut c = blob_case("revert: blob: wrong element value", transfer());
        c.revert = Some(|w| w.1[0].y.0[31] ^= 1);
        c.reason = Some("element proof");
        c
    });
    push({
        let mut c = blob_case("revert: blob: another element's proof", transfer());
        c.revert = Some(|w| w.1[0].proof = w.1[1].proof.clone());
        c.reason = Some("element proof");
        c
    });
    push({
        let mut c = blob_case("revert: blob: another blob's commitment", transfer());
        c.pad = per_blob - 6;
        c.reason = Some("element proof");
        c.revert = Some(|w| {
            let last = w.1.len() - 1;
            w.1[0].commitment = w.1[last].commitment.clone();
        });
        c
    });
    // The witness opens a prefix of the window's elements: those holding the step when it
    // decodes, all of them when it does not.
    push({
        let mut c = blob_case(
            "blob: eth transfer, more elements than the step needs",
            transfer(),
        );
        c.trailing = padding(300);
        c.extra_elements = 3;
        c
    });
    push({
        let mut c = blob_case("blob: step across two blobs, the whole window", transfer());
        c.pad = per_blob - 6;
        c.trailing = padding(300);
        c.extra_elements = 8;
        c
    });
    push({
        let mut c = blob_case("blob: undecodable step (cut short)", {
            let mut s = transfer();
            s.truncate(60);
            s
        });
        // It runs past the data's end: its window is the rest of the data.
        c.trailing = Vec::new();
        c
    });
    push({
        let mut c = blob_case(
            "revert: blob: valid transaction, a prefix too short to decode",
            transfer(),
        );
        c.revert = Some(|w| {
            w.1.pop();
        });
        c.reason = Some("short window");
        c
    });
    push({
        let mut c = blob_case(
            "revert: blob: undecodable step, a prefix of its window",
            signed(1, &tx(3, t, U256::ZERO, Bytes::from(vec![7u8; 250]))),
        );
        c.pad = 29;
        c.revert = Some(|w| w.1.truncate(11));
        c.reason = Some("short window");
        c
    });
    push({
        let mut c = blob_case("revert: blob: undecodable unknown kind, one element", {
            let mut s = vec![0x42];
            s.extend(padding(100));
            s
        });
        c.revert = Some(|w| w.1.truncate(1));
        c.reason = Some("short window");
        c
    });
    push({
        let mut c = blob_case("revert: blob: no element", transfer());
        c.revert = Some(|w| w.1.clear());
        c.reason = Some("element count");
        c
    });
    push({
        // The window of an undecodable step is all its 12 elements: a 13th is one too many.
        let mut c = blob_case(
            "revert: blob: one element more than the window",
            signed(1, &tx(3, t, U256::ZERO, Bytes::from(vec![7u8; 250]))),
        );
        c.pad = 29;
        c.revert = Some(|w| w.1.push(w.1[11].clone()));
        c.reason = Some("element count");
        c
    });
    push({
        let mut c = blob_case(
            "revert: blob: an element that is not the next one",
            transfer(),
        );
        c.trailing = padding(300);
        c.revert = Some(|w| w.1.push(w.1[0].clone()));
        c.reason = Some("element proof");
        c
    });
    push({
        let mut c = blob_case("revert: blob: wrong versioned hash list", transfer());
        c.revert = Some(|w| w.2.push(B256::repeat_byte(1)));
        c.reason = Some("blob hashes");
        c
    });
    push({
        let mut c = blob_case("revert: blob: chunks for a blob batch", transfer());
        c.revert = Some(|w| w.0.push(Default::default()));
        c.reason = Some("chunk count");
        c
    });
    push({
        let mut c = blob_case("revert: blob batch read as calldata", transfer());
        c.data_kind = Some(DATA_CALLDATA);
        c.reason = Some("blob witness");
        c.revert = Some(|_| {});
        c
    });
    push({
        let mut c = case("revert: blob elements for a calldata batch", transfer());
        c.revert = Some(|w| w.1.push(Default::default()));
        c.reason = Some("blob witness");
        c
    });
    push({
        let mut c = case("revert: versioned hashes for a calldata batch", transfer());
        c.revert = Some(|w| w.2.push(B256::ZERO));
        c.reason = Some("blob witness");
        c
    });
    push({
        let mut c = case("revert: unknown data kind", transfer());
        c.data_kind = Some(2);
        c.reason = Some("data kind");
        c.revert = Some(|_| {});
        c
    });

    // Generated cases (valid and invalid alike: loft-stf decides, the verifier must agree).
    for c in random_cases(0x10f7_f4a0_d1ff, RANDOM_CASES) {
        push(c);
    }

    // The same in blobs, at data offset 126,975 (31 * 4096 - 1): the step's 193 bytes span 8
    // elements, the last one of blob 0 and 7 of blob 1.
    push({
        let mut c = blob_case(
            BLOB_WITHDRAWAL_CASE,
            signed(
                1,
                &legacy(tx(
                    3,
                    BRIDGE,
                    U256::ZERO,
                    withdraw_data(t, U256::from(400u64), l1r),
                )),
            ),
        );
        c.state = deep_state();
        c.pad = per_blob - 2;
        // Enough block markers after the step that the window is a full 320 bytes.
        c.trailing = padding(200);
        c.withdrawals = (0..65535u32).map(|i| keccak256(i.to_be_bytes())).collect();
        c
    });
    // The most elements a blob step opens: a 320-byte step from the same offset spans 12. The
    // longest valid transaction is under 250 bytes, so a step that long is a refused one (an
    // unsupported call: the sender's account read at depth 30, no writes) or an undecodable one
    // (no state at all).
    push({
        let data = |n: usize| tx(3, t, U256::ZERO, Bytes::from(vec![7u8; n]));
        let n = 320 + 200 - signed(1, &data(200)).len();
        let step = signed(1, &data(n));
        assert_eq!(step.len(), 320);
        let mut c = blob_case(BLOB_GAS_CASE, step);
        c.state = deep_state();
        c.pad = per_blob - 2;
        c.trailing = padding(200);
        c
    });
    push({
        let mut c = blob_case(
            BLOB_UNDECODABLE_CASE,
            signed(1, &tx(3, t, U256::ZERO, Bytes::from(vec![7u8; 250]))),
        );
        c.pad = per_blob - 2;
        c.trailing = padding(200);
        c
    });

    // Compact transactions (docs/rollup.md §3.2) on a state with account indexes.
    let eth_tx = |to: Address, value: U256| {
        let mut t = tx(3, to, value, Bytes::new());
        t.gas = 21_000;
        t
    };
    let token_tx = |to: Address, amount: U256| {
        let mut t = tx(3, t, U256::ZERO, transfer_data(to, amount));
        t.gas = 40_000;
        t
    };
    let thousand = U256::from(1000u64);
    push(compact_case(
        "compact: eth transfer",
        compact(1, &eth_tx(b, thousand), 1, None, thousand),
    ));
    push(compact_case(
        "compact: eth transfer with a posted gas limit",
        compact(1, &tx(3, b, thousand, Bytes::new()), 1, None, thousand),
    ));
    push(compact_case(
        "compact: token transfer",
        compact(
            1,
            &token_tx(addr(9), U256::from(250u64)),
            2,
            Some(3),
            U256::from(250u64),
        ),
    ));
    push(compact_case(
        "compact: eth transfer to an unknown index",
        compact(1, &eth_tx(b, thousand), 4, None, thousand),
    ));
    push(compact_case(
        "compact: token transfer with an unknown token index",
        compact(1, &token_tx(b, thousand), 7, Some(1), thousand),
    ));
    push(compact_case(
        "compact: token transfer to an unknown index",
        compact(1, &token_tx(b, thousand), 2, Some(5), thousand),
    ));
    push(compact_case(
        "compact: index names another recipient than the signed one",
        compact(1, &eth_tx(b, thousand), 3, None, thousand),
    ));
    push(compact_case(
        "compact: eth transfer to the token's index",
        compact(1, &eth_tx(t, thousand), 2, None, thousand),
    ));
    push(compact_case(
        "compact: bad signature",
        compact(2, &eth_tx(b, thousand), 1, None, thousand),
    ));
    push({
        // value 1000 as m = 100, e = 1: not canonical.
        let mut step = compact(1, &eth_tx(b, thousand), 1, None, thousand);
        let at = step.len() - 65;
        let mut value = Vec::new();
        put_varint256(&mut value, U256::from(100u64 * 78 + 1));
        step.splice(at..at + 1, value);
        compact_case("compact: non-canonical dec (undecodable)", step)
    });
    push({
        let mut step = compact(1, &eth_tx(b, thousand), 1, None, thousand);
        // tag, nonce 3, tip dec(3) (2 bytes), max fee dec(20) (2 bytes), then the gas.
        step[0] |= 2;
        step.splice(6..6, [0x88, 0xa4, 0x01]);
        compact_case("compact: posts its own gas limit (undecodable)", step)
    });
    push({
        let mut step = compact(1, &eth_tx(b, thousand), 1, None, thousand);
        step[0] = 0x28;
        compact_case("compact: tag 0x28 (undecodable)", step)
    });
    push({
        let mut step = compact(1, &eth_tx(b, thousand), 1, None, thousand);
        step.truncate(40);
        let mut c = compact_case("compact: cut short (undecodable)", step);
        c.trailing = Vec::new();
        c
    });
    push(Case {
        blobs: true,
        ..compact_case(
            "blob: compact token transfer",
            compact(
                1,
                &token_tx(addr(9), U256::from(250u64)),
                2,
                Some(3),
                U256::from(250u64),
            ),
        )
    });
    push(Case {
        state: indexed_state(),
        ..case(
            "eth transfer to a new account takes the next index",
            signed(1, &tx(3, fresh, thousand, Bytes::new())),
        )
    });
    for c in random_compact_cases(0x10f7_c0de, RANDOM_COMPACT_CASES) {
        push(c);
    }

    // The worst case for gas: a token withdrawal, four proofs at depth 30, a full withdrawal tree
    // but one slot, the step across two chunks of a 100 KiB batch.
    push({
        let mut c = case(
            "gas: deep token withdrawal",
            signed(
                1,
                &legacy(tx(
                    3,
                    BRIDGE,
                    U256::ZERO,
                    withdraw_data(t, U256::from(400u64), l1r),
                )),
            ),
        );
        c.state = deep_state();
        c.pad = 100 * 1024 - 60;
        c.withdrawals = (0..65535u32).map(|i| keccak256(i.to_be_bytes())).collect();
        c
    });

    let index = |name: &str| cases.iter().position(|c| c["name"] == json!(name)).unwrap();
    let blob_gas_case = index(BLOB_GAS_CASE);
    let blob_withdrawal_case = index(BLOB_WITHDRAWAL_CASE);
    let blob_transfer_case = index(BLOB_TRANSFER_CASE);
    let blob_undecodable_case = index(BLOB_UNDECODABLE_CASE);
    json!({
        "description": "loft one-step fraud proof vectors (docs/fraud-proofs.md 5.2), generated by \
            crates/fraud/src/vectors.rs; regenerate with LOFT_BLESS=1 cargo test -p loft-fraud vectors",
        "chainId": CHAIN_ID,
        "baseFee": BASE_FEE as u64,
        "feeRecipient": params().fee_recipient,
        "blobGasCase": blob_gas_case,
        "blobWithdrawalCase": blob_withdrawal_case,
        "blobTransferCase": blob_transfer_case,
        "blobUndecodableCase": blob_undecodable_case,
        "count": cases.len(),
        "cases": cases,
    })
}

/// The blob batch's most expensive step proof (`blobGasCase`; measured by the forge tests
/// `test_gas_blobWorstCase` and `test_GasProveStepBlobsWorstCase`).
const BLOB_GAS_CASE: &str = "gas: refused 320-byte transaction (blobs, 12 elements of 2 blobs)";
/// The calldata worst case's withdrawal in a blob batch (`blobWithdrawalCase`).
const BLOB_WITHDRAWAL_CASE: &str = "gas: deep token withdrawal (blobs, 8 elements of 2 blobs)";
/// An undecodable step over the most elements (`blobUndecodableCase`).
const BLOB_UNDECODABLE_CASE: &str = "gas: undecodable step (blobs, 12 elements of 2 blobs)";
/// A typical step of a blob batch (`blobTransferCase`).
const BLOB_TRANSFER_CASE: &str = "blob: eth transfer";

/// How many generated random cases follow the hand-written ones.
const RANDOM_CASES: usize = 160;

/// splitmix64: a seeded, reproducible stream for the random cases (ten lines; the vectors file
/// must not change with a dependency's version, so no RNG crate).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }
}

/// Random steps against the base state, valid and invalid alike (the Rust state transition
/// decides which; the Solidity verifier must agree): transfers, token transfers and withdrawals
/// from funded, empty, nearly-full and nonce-exhausted accounts, with amounts at the edges (0, 1,
/// the balance, one more, the maximum), recipients that are themselves, empty, zero or the
/// bridge, nonces off by one, fees around the base fee, unknown selectors, and encodings with a
/// flipped byte, cut short or over-long; queue deposits of random amounts to random accounts.
/// One time in `n` flips a random bit of `step`, one time in `n` cuts it short; says which.
fn mangle(r: &mut Rng, step: &mut Vec<u8>, n: u64) -> &'static str {
    match r.below(n) {
        0 => {
            let at = r.below(step.len() as u64) as usize;
            step[at] ^= 1 << r.below(8);
            " (a flipped bit)"
        }
        1 => {
            step.truncate(1 + r.below(step.len() as u64 - 1) as usize);
            " (cut short)"
        }
        _ => "",
    }
}

/// How many generated random compact cases follow.
const RANDOM_COMPACT_CASES: usize = 60;

/// Random compact transactions on [`indexed_state`]: indexes that exist or not (4, 5), signed
/// for the addresses they name or (one in eight) for another, fees and gas as the full-encoding
/// random cases, and a flipped bit or a cut now and then.
fn random_compact_cases(seed: u64, n: usize) -> Vec<Case> {
    let mut r = Rng(seed);
    let senders: [(u8, u64); 8] = [
        (1, 3),
        (1, 3),
        (1, 3),
        (1, 3),
        (1, 3),
        (2, 0),
        (9, 0),
        (4, 0),
    ];
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (key, nonce) = r.pick(&senders);
        let nonce = if r.below(12) == 0 { nonce + 1 } else { nonce };
        let amount = match r.below(5) {
            0 => U256::ZERO,
            1 => eth(1),
            2 => eth(10) + U256::from(1u64),
            3 => U256::from(r.next() % 1_000_000_000_000_000_000),
            _ => U256::from(r.below(5000)),
        };
        let erc = r.below(2) == 1;
        // Mostly indexes that exist and fit the operation (the token's for an ERC-20 call).
        let any = r.below(6);
        let a = match (erc, r.below(4)) {
            (_, 0) => any,
            (true, _) => 2,
            (false, k) => [0, 1, 3][k as usize - 1],
        };
        let b = r.pick(&[0, 1, 3, 3, any]);
        let amount = if erc {
            U256::from(r.below(1500))
        } else {
            amount
        };
        let named = |i: u64| {
            if i < INDEXED.len() as u64 {
                indexed_address(i)
            } else {
                addr(7)
            }
        };
        let mut signed_to = named(if erc { b } else { a });
        if r.below(10) == 0 {
            signed_to = addr(3);
        }
        let mut t = if erc {
            tx(
                nonce,
                named(a),
                U256::ZERO,
                transfer_data(signed_to, amount),
            )
        } else {
            tx(nonce, signed_to, amount, Bytes::new())
        };
        t.max_fee = r.pick(&[BASE_FEE - 1, BASE_FEE, 20, 20, 20, 20, 1_000_000_000_000]);
        t.priority = r.pick(&[0, 3, 3, 3, t.max_fee, t.max_fee + 1]);
        t.gas = r.pick(&[21_000, 40_000, 40_000, 100_000, u64::MAX]);
        if r.below(16) == 0 {
            t.chain = CHAIN_ID + 1;
        }
        let mut step = compact(key, &t, a, erc.then_some(b), amount);
        let mangled = mangle(&mut r, &mut step, 14);
        let what = if erc {
            "token transfer"
        } else {
            "eth transfer"
        };
        out.push(compact_case(
            &format!("random compact {i}: {what} from key {key}{mangled}"),
            step,
        ));
    }
    out
}

fn random_cases(seed: u64, n: usize) -> Vec<Case> {
    let mut r = Rng(seed);
    // Key 1 (funded, with tokens) most often, so a fair share of the cases are valid.
    let senders: [(u8, u64); 9] = [
        (1, 3),
        (1, 3),
        (1, 3),
        (1, 3),
        (2, 0),
        (3, 0),
        (4, 0),
        (5, u64::MAX - 1),
        (6, u64::MAX),
    ];
    let recipients = [
        addr(1),
        addr(2),
        addr(3),
        addr(4),
        addr(9),
        Address::ZERO,
        BRIDGE,
        token(),
    ];
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (key, nonce) = r.pick(&senders);
        let nonce = match r.below(16) {
            0 => nonce.wrapping_add(1),
            1 => nonce.wrapping_sub(1),
            _ => nonce,
        };
        let amount = match r.below(7) {
            0 => U256::ZERO,
            1 => U256::from(1u64),
            2 => U256::from(r.next() % 1_000_000_000_000_000_000),
            3 => eth(1),
            4 => eth(10) + U256::from(1u64),
            5 => U256::MAX,
            _ => U256::from(r.below(5000)),
        };
        let to = r.pick(&recipients);
        let (what, mut t) = match r.below(4) {
            0 => ("eth transfer", tx(nonce, to, amount, Bytes::new())),
            1 => (
                "token transfer",
                tx(nonce, token(), U256::ZERO, transfer_data(to, amount)),
            ),
            2 => (
                "withdrawal",
                tx(
                    nonce,
                    BRIDGE,
                    U256::ZERO,
                    withdraw_data(r.pick(&[Address::ZERO, token()]), amount, to),
                ),
            ),
            _ => {
                let mut data = r.next().to_be_bytes().to_vec();
                data.truncate(r.below(9) as usize);
                (
                    "call",
                    tx(nonce, r.pick(&[BRIDGE, token(), to]), amount, data.into()),
                )
            }
        };
        if r.below(3) == 0 {
            t = legacy(t);
        }
        t.max_fee = r.pick(&[
            BASE_FEE - 1,
            BASE_FEE,
            20,
            20,
            20,
            20,
            20,
            u128::from(u64::MAX),
        ]);
        t.priority = r.pick(&[0, 1, 3, 3, t.max_fee, t.max_fee.saturating_add(1)]);
        t.gas = r.pick(&[21_000, 100_000, 100_000, 100_000, 100_000, u64::MAX]);
        if r.below(10) == 0 {
            t.chain = CHAIN_ID + 1;
        }
        let mut step = signed(key, &t);
        let mangled = mangle(&mut r, &mut step, 12);
        let name = format!("random {i}: {what} from key {key}{mangled}");
        out.push(match r.below(8) {
            0 => {
                let payload = deposit(r.pick(&[Address::ZERO, l1_token()]), to, amount);
                queue_case(&format!("random {i}: deposit"), 0, payload)
            }
            1 => forced_case(
                &format!("random {i}: forced {name}"),
                2,
                Address::repeat_byte(0xee),
                step,
            ),
            2 => forced_case(
                &format!("random {i}: forced withdrawal from key {key}"),
                3,
                addr(key),
                forced_withdrawal(r.pick(&[Address::ZERO, l1_token(), to]), amount, to),
            ),
            _ => case(&name, step),
        });
    }
    out
}

#[test]
fn vectors_file_is_current() {
    let v = generate();
    let cases = v["cases"].as_array().unwrap();
    // Both verdicts and reverts occur.
    assert!(cases.iter().any(|c| c["valid"] == json!(true)));
    assert!(cases.iter().any(|c| c["valid"] == json!(false)));
    let text = serde_json::to_string_pretty(&v).unwrap() + "\n";
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

#[test]
fn expected_verdicts() {
    let v = generate();
    let verdict = |name: &str| {
        let c = v["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == json!(name))
            .unwrap_or_else(|| panic!("{name}"));
        c["valid"].as_bool().unwrap()
    };
    for name in [
        "eth transfer (1559)",
        "token withdrawal",
        "registration",
        "deposit payload with a trailing byte",
        "block marker",
        "first step: block marker",
        "gas: deep token withdrawal",
        "forced withdrawal above the ETH balance",
        "forced tx: nonce too high",
        "compact: eth transfer",
        "compact: eth transfer with a posted gas limit",
        "compact: token transfer",
        "blob: compact token transfer",
        "eth transfer to a new account takes the next index",
    ] {
        assert!(verdict(name), "{name} should be valid");
    }
    for name in [
        "high s (EIP-2)",
        "nonce too low",
        "credit overflows the recipient",
        "transaction longer than 320 bytes",
        "blob: transaction longer than 320 bytes (a window over 12 elements)",
        "blob: data ends at prev.dataEnd",
        "queue step beyond queueEnd",
        "first step: queue",
        "first step of a batch is a transaction",
        "compact: eth transfer to an unknown index",
        "compact: token transfer with an unknown token index",
        "compact: token transfer to an unknown index",
        "compact: index names another recipient than the signed one",
        "compact: eth transfer to the token's index",
        "compact: bad signature",
        "compact: non-canonical dec (undecodable)",
        "compact: posts its own gas limit (undecodable)",
        "compact: tag 0x28 (undecodable)",
        "compact: cut short (undecodable)",
    ] {
        assert!(!verdict(name), "{name} should be invalid");
    }
}
