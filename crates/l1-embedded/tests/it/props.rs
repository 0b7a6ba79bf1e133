//! Property tests: untrusted transaction bytes, and the deposit queue against a Rust model.

use alloy::consensus::{SignableTransaction, TxLegacy};
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256};
use alloy::sol_types::{SolCall, SolValue};
use loft_contracts::{KIND_DEPOSIT, L1Bridge, QueueMessage, bridge_call, read_queue};
use loft_l1::L1Client;
use loft_l1_embedded::{DevChain, EmbeddedL1, decode_raw_transaction};
use proptest::prelude::*;

use crate::common;

/// Valid signed transactions of dev key 0 at nonce 0: an EIP-1559 and a legacy (EIP-155) one.
fn valid_raws(chain: &DevChain) -> Vec<Vec<u8>> {
    let key = common::key(chain, 0);
    let eip1559 = common::transfer(chain, &key, Address::repeat_byte(0x11), U256::from(5));
    let mut legacy = TxLegacy {
        chain_id: Some(chain.chain_id()),
        nonce: 0,
        gas_price: common::max_fee(chain),
        gas_limit: 50_000,
        to: TxKind::Call(Address::repeat_byte(0x22)),
        value: U256::from(6),
        input: Bytes::from_static(b"hello"),
    };
    let sig = key.sign_transaction_sync(&mut legacy).unwrap();
    let legacy = alloy::consensus::TxEnvelope::from(legacy.into_signed(sig));
    vec![
        common::raw(&eip1559).to_vec(),
        alloy::eips::eip2718::Encodable2718::encoded_2718(&legacy),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    None,
    Flip { at: usize, mask: u8 },
    Truncate(usize),
    Append(Vec<u8>),
}

fn bytes_strategy() -> impl Strategy<Value = (Option<usize>, Mutation, Vec<u8>)> {
    prop_oneof![
        // Arbitrary bytes, some starting with a transaction type byte.
        (proptest::collection::vec(any::<u8>(), 0..300)).prop_map(|b| (None, Mutation::None, b)),
        (0..5u8, proptest::collection::vec(any::<u8>(), 0..300)).prop_map(|(t, mut b)| {
            b.insert(0, t);
            (None, Mutation::None, b)
        }),
        // A valid transaction, as is or damaged.
        (0..2usize).prop_map(|i| (Some(i), Mutation::None, vec![])),
        (0..2usize, any::<usize>(), 1..=255u8).prop_map(|(i, at, mask)| (
            Some(i),
            Mutation::Flip { at, mask },
            vec![]
        )),
        (0..2usize, any::<usize>()).prop_map(|(i, n)| (Some(i), Mutation::Truncate(n), vec![])),
        (0..2usize, proptest::collection::vec(any::<u8>(), 1..8)).prop_map(|(i, tail)| (
            Some(i),
            Mutation::Append(tail),
            vec![]
        )),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the bytes, decoding does not panic, and the chain changes only for a valid signed
    /// transaction that it then mines.
    #[test]
    fn raw_bytes_change_nothing_unless_valid((base, mutation, random) in bytes_strategy()) {
        let chain = common::open();
        let sender = common::key(&chain, 0).address();
        let valid = valid_raws(&chain);
        let bytes = match base {
            None => random,
            Some(i) => {
                let mut b = valid[i].clone();
                match mutation {
                    Mutation::None => {}
                    Mutation::Flip { at, mask } => {
                        let at = at % b.len();
                        b[at] ^= mask;
                    }
                    Mutation::Truncate(n) => b.truncate(n % b.len()),
                    Mutation::Append(tail) => b.extend(tail),
                }
                b
            }
        };
        // Only an intact transaction is valid: any change alters what the signature covers (or
        // the signature), so it recovers another, unfunded, sender or does not decode.
        let intact = valid.contains(&bytes);
        let decoded = chain.lock().decode_raw(&bytes);
        // The node and the fuzz target decode with the same function.
        prop_assert_eq!(
            format!("{:?}", decode_raw_transaction(&bytes, chain.chain_id())),
            format!("{decoded:?}")
        );
        let balance = common::balance(&chain, sender);
        match chain.send_raw(&bytes) {
            Ok(hash) => {
                prop_assert!(intact, "accepted damaged bytes {}", Bytes::from(bytes.clone()));
                let tx = decoded.expect("accepted bytes decode");
                prop_assert_eq!(*tx.tx_hash(), hash);
                prop_assert_eq!(tx.signer(), sender);
                prop_assert_eq!(chain.lock().block_number(), 1);
                prop_assert_eq!(common::nonce(&chain, sender), 1);
                prop_assert!(chain.lock().receipt(hash).unwrap().status());
            }
            Err(e) => {
                prop_assert!(!intact, "refused a valid transaction: {}", e);
                prop_assert_eq!(chain.lock().block_number(), 0, "{}", e);
                prop_assert_eq!(chain.lock().pending_count(), 0);
                prop_assert_eq!(common::nonce(&chain, sender), 0);
                prop_assert_eq!(common::balance(&chain, sender), balance);
                if let Ok(tx) = decoded {
                    prop_assert_eq!(common::nonce(&chain, tx.signer()), 0);
                    prop_assert!(chain.lock().receipt(*tx.tx_hash()).is_none());
                }
            }
        }
    }
}

/// One deposit: `depositETH(recipient)` or a plain transfer into the bridge (recipient: sender).
#[derive(Debug, Clone)]
struct DepositOp {
    plain: bool,
    amount: u128,
    /// `None` is the zero address, which `depositETH` refuses.
    recipient: Option<Address>,
    sender: usize,
    /// Mine a block after this one.
    seal: bool,
}

fn deposit_strategy() -> impl Strategy<Value = DepositOp> {
    (
        any::<bool>(),
        1..=10u128.pow(24),
        prop_oneof![1 => Just(None), 7 => any::<[u8; 20]>().prop_map(|a| Some(Address::from(a)))],
        0..4usize,
        any::<bool>(),
    )
        .prop_map(|(plain, amount, recipient, sender, seal)| DepositOp {
            plain,
            amount,
            recipient,
            sender,
            seal,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The queue heads the bridge stores are the hash chain recomputed in Rust from the deposits
    /// sent and the blocks they landed in, and the `MessageQueued` logs say the same.
    #[test]
    fn queue_heads_match_the_rust_model(ops in proptest::collection::vec(deposit_strategy(), 1..10)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut config = common::config(None);
        for (_, balance) in &mut config.genesis.alloc {
            *balance = U256::from(10).pow(U256::from(30));
        }
        let chain = DevChain::open(config).unwrap();
        let l1 = EmbeddedL1::new(chain.clone(), common::key(&chain, 0));
        let bridge = runtime.block_on(common::deploy_contracts(&chain, false)).bridge;
        let start = chain.lock().block_number() + 1;

        let mut sent = Vec::new();
        for op in &ops {
            let key = common::key(&chain, op.sender);
            let input = if op.plain {
                Bytes::new()
            } else {
                L1Bridge::depositETHCall { l2Recipient: op.recipient.unwrap_or_default() }
                    .abi_encode()
                    .into()
            };
            let tx = common::tx(&chain, &key, TxKind::Call(bridge), U256::from(op.amount), input, 150_000);
            sent.push(*tx.tx_hash());
            chain.lock().submit(tx, false).unwrap();
            if op.seal {
                chain.mine(1).unwrap();
            }
        }
        chain.mine(1).unwrap();

        // The model: which deposits enqueue, and the messages they make.
        let mut expected = Vec::new();
        let mut head = B256::ZERO;
        let mut heads = vec![B256::ZERO];
        for (op, hash) in ops.iter().zip(&sent) {
            let receipt = chain.lock().receipt(*hash).expect("every deposit is mined");
            let sender = common::key(&chain, op.sender).address();
            let recipient = if op.plain { Some(sender) } else { op.recipient };
            prop_assert_eq!(receipt.status(), recipient.is_some());
            let Some(recipient) = recipient else { continue };
            let number = receipt.block_number.unwrap();
            let mut message = QueueMessage {
                index: expected.len() as u64,
                kind: KIND_DEPOSIT,
                sender,
                head: B256::ZERO,
                l1_block_number: number,
                timestamp: chain.lock().header(number).unwrap().1.timestamp,
                payload: (Address::ZERO, sender, recipient, U256::from(op.amount)).abi_encode().into(),
            };
            head = message.chain_head(head);
            message.head = head;
            heads.push(head);
            expected.push(message);
        }

        let end = chain.lock().block_number();
        let queue = runtime.block_on(read_queue(&l1, bridge, start, end)).unwrap();
        prop_assert_eq!(&queue, &expected);
        // Recomputed from the logs alone.
        let mut from_logs = B256::ZERO;
        for message in &queue {
            from_logs = message.chain_head(from_logs);
            prop_assert_eq!(from_logs, message.head);
        }
        let length = runtime
            .block_on(bridge_call(&l1, bridge, L1Bridge::queueLengthCall {}))
            .unwrap();
        prop_assert_eq!(length, U256::from(expected.len()));
        for (count, head) in heads.iter().enumerate() {
            let stored = runtime
                .block_on(bridge_call(&l1, bridge, L1Bridge::queueHeadAtCall { count: U256::from(count) }))
                .unwrap();
            prop_assert_eq!(stored, *head, "head after {} messages", count);
        }
        let beyond = runtime.block_on(bridge_call(
            &l1,
            bridge,
            L1Bridge::queueHeadAtCall { count: U256::from(heads.len()) },
        ));
        prop_assert!(beyond.is_err());
        let balance = runtime.block_on(l1.balance(bridge)).unwrap();
        prop_assert_eq!(balance, expected.iter().map(|m| m.deposit().unwrap().amount).sum::<U256>());
    }
}
