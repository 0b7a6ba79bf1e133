//! The ZK rollup end to end on a real EVM: the Groth16 verifier generated for a small circuit
//! (depth 8, 2 general and 2 transfer slots) is compiled with the repository's pinned solc and
//! deployed on revm (Osaka rules) together with `ZkRollup` from its committed artifact. Two L1
//! users register through the contract's queue; batches built with `loft_zk::BatchBuilder` from
//! that queue (set keys, a deposit, a transfer, a withdrawal, a forced exit) are proved and
//! submitted; withdrawals become claimable and are paid out by `claim`. Tampered proofs, wrong
//! roots, wrong public data and a proof of another batch are refused with `InvalidProof()`.

mod common;

use ark_bn254::Bn254;
use ark_groth16::Proof;
use common::{Evm as Chain, Outcome, call, compile, intrinsic_gas, repo_root, selector};
use loft_zk::pack::{pack_amount, pack_fee, unpack_amount, unpack_fee};
use loft_zk::testing::{signed_transfer, signed_withdraw};
use loft_zk::{Account, AccountTree, Batch, BatchBuilder, GeneralOp, SecretKey, ZkParams};
use loft_zk_prover::prover::Keys;
use loft_zk_prover::solidity::{fr_to_word, proof_calldata, verifier_solidity};
use revm::primitives::{Address, Log, TxKind, U256, hex, keccak256};

const PARAMS: ZkParams = ZkParams {
    tree_depth: 8,
    batch_general: 2,
    batch_transfers: 2,
    chain_id: 1,
};
const ETHER: u128 = 1_000_000_000_000_000_000;
const FORCE_INCLUSION_DELAY: u64 = 3600;

/// `ZkRollup`'s creation bytecode from its committed artifact.
fn rollup_bytecode() -> Vec<u8> {
    let path = repo_root().join("contracts/artifacts/ZkRollup.json");
    let artifact: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read the ZkRollup artifact"))
            .expect("artifact JSON");
    hex::decode(
        artifact["bytecode"]["object"]
            .as_str()
            .expect("bytecode.object"),
    )
    .expect("hex bytecode")
}

fn addr_word(a: Address) -> U256 {
    U256::from_be_slice(a.as_slice())
}

fn fr_int(x: &loft_zk::Fr) -> U256 {
    U256::from_be_bytes(fr_to_word(x))
}

/// `submitBatch(uint256,bytes,uint256[8])` calldata.
fn submit_calldata(new_root: U256, pubdata: &[u8], proof: &[[u8; 32]; 8]) -> Vec<u8> {
    let mut data = selector("submitBatch(uint256,bytes,uint256[8])").to_vec();
    data.extend_from_slice(&new_root.to_be_bytes::<32>());
    // The bytes' offset: after the head of 1 + 1 + 8 words.
    data.extend_from_slice(&U256::from(10 * 32).to_be_bytes::<32>());
    for w in proof {
        data.extend_from_slice(w);
    }
    data.extend_from_slice(&U256::from(pubdata.len()).to_be_bytes::<32>());
    data.extend_from_slice(pubdata);
    data.resize(data.len().next_multiple_of(32), 0);
    data
}

/// A queued L1 message as `MessageQueued` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Message {
    index: u64,
    kind: u8,
    account: u32,
    amount: u128,
    data: [u8; 32],
}

fn queued(logs: &[Log]) -> Vec<Message> {
    let topic = keccak256("MessageQueued(uint256,uint8,uint32,uint128,uint256,uint64)");
    logs.iter()
        .filter(|l| l.topics().first() == Some(&topic))
        .map(|l| {
            let t = l.topics();
            let d = &l.data.data;
            let word = |i: usize| U256::from_be_slice(&d[32 * i..32 * (i + 1)]);
            Message {
                index: U256::from_be_bytes(t[1].0).to::<u64>(),
                account: U256::from_be_bytes(t[2].0).to::<u32>(),
                kind: word(0).to::<u8>(),
                amount: word(1).to::<u128>(),
                data: word(2).to_be_bytes::<32>(),
            }
        })
        .collect()
}

/// The general operation that consumes a queue message.
fn op_of(m: &Message) -> GeneralOp {
    match m.kind {
        1 => GeneralOp::Deposit {
            account: m.account,
            amount: m.amount,
        },
        2 => GeneralOp::SetKey {
            account: m.account,
            key: m.data,
        },
        3 => GeneralOp::ForcedExit { account: m.account },
        k => panic!("unknown queue kind {k}"),
    }
}

struct Rollup {
    chain: Chain,
    rollup: Address,
    operator: Address,
    gas: Vec<u64>,
}

impl Rollup {
    fn state(&mut self) -> (U256, U256, U256) {
        (
            self.chain.view(self.rollup, "stateRoot()", &[]),
            self.chain.view(self.rollup, "batchCount()", &[]),
            self.chain.view(self.rollup, "queueNext()", &[]),
        )
    }

    fn submit(&mut self, batch: &Batch, proof: &Proof<Bn254>) {
        let data = submit_calldata(
            fr_int(&batch.new_root),
            &batch.pubdata,
            &proof_calldata(proof),
        );
        let count = self.state().1;
        let (_, gas, _) = self.chain.ok(self.operator, self.rollup, data.clone(), 0);
        let (root, after, _) = self.state();
        assert_eq!(
            root,
            fr_int(&batch.new_root),
            "stateRoot is the batch's new root"
        );
        assert_eq!(after, count + U256::from(1), "batchCount grew by one");
        eprintln!(
            "submitBatch #{count}: {gas} gas ({} of it 21000 + calldata of {} bytes, {} of execution)",
            intrinsic_gas(&data),
            data.len(),
            gas - intrinsic_gas(&data)
        );
        self.gas.push(gas);
    }

    /// Asserts that the submission reverts with `InvalidProof()` and leaves the state as it was.
    #[track_caller]
    fn rejects(&mut self, what: &str, new_root: U256, pubdata: &[u8], proof: &[[u8; 32]; 8]) {
        let before = self.state();
        let data = submit_calldata(new_root, pubdata, proof);
        match self
            .chain
            .send(self.operator, TxKind::Call(self.rollup), data, 0)
        {
            Outcome::Revert(out) => assert_eq!(
                &out[..],
                &selector("InvalidProof()")[..],
                "{what}: reverts with InvalidProof()"
            ),
            Outcome::Halt(why) => panic!("{what}: expected a revert, halted: {why}"),
            Outcome::Success { .. } => panic!("{what}: expected a revert, the batch was accepted"),
        }
        assert_eq!(self.state(), before, "{what}: state unchanged");
    }
}

#[test]
fn zk_rollup_end_to_end_on_the_evm() {
    let keys = Keys::devnet_setup(PARAMS, 0x10f7).expect("devnet setup");
    let mut chain = Chain::new();
    let deployer = Address::repeat_byte(0xde);
    let operator = Address::repeat_byte(0x0b);
    let alice = Address::repeat_byte(0xa1);
    let bob = Address::repeat_byte(0xb0);
    chain.fund(alice, 10 * ETHER);

    // The verifier of this circuit.
    let source = verifier_solidity(keys.vk(), "ZkVerifier");
    let verifier = chain.deploy(deployer, compile("ZkVerifier.sol", &source, "ZkVerifier"));

    // Genesis: account 0 holds the operator's key and nothing else.
    let operator_sk = SecretKey::from_bytes(&[1; 32]).expect("operator key");
    let alice_sk = SecretKey::from_bytes(&[2; 32]).expect("alice key");
    let bob_sk = SecretKey::from_bytes(&[3; 32]).expect("bob key");
    let mut tree = AccountTree::new(PARAMS.tree_depth);
    let (ax, ay) = operator_sk.public().xy();
    tree.set(
        0,
        Account {
            ax,
            ay,
            balance: 0,
            nonce: 0,
        },
    );
    let genesis = fr_int(&tree.root());
    let mut code = rollup_bytecode();
    for w in [
        addr_word(verifier),
        genesis,
        U256::from(PARAMS.tree_depth),
        U256::from(PARAMS.batch_transfers),
        U256::from(PARAMS.batch_general),
        U256::from(PARAMS.chain_id),
        addr_word(operator),
        U256::from(FORCE_INCLUSION_DELAY),
    ] {
        code.extend_from_slice(&w.to_be_bytes::<32>());
    }
    let rollup = chain.deploy(deployer, code);
    let mut r = Rollup {
        chain,
        rollup,
        operator,
        gas: Vec::new(),
    };
    assert_eq!(r.state(), (genesis, U256::ZERO, U256::ZERO));
    let expected_len = PARAMS.pubdata_len();
    assert_eq!(
        r.chain.view(rollup, "pubdataLength()", &[]),
        U256::from(expected_len)
    );

    // Alice registers with 1 ether, Bob with nothing.
    let register = |key: [u8; 32]| call("register(uint256)", &[U256::from_be_bytes(key)]);
    let (_, _, logs) = r
        .chain
        .ok(alice, rollup, register(alice_sk.public().compress()), ETHER);
    let mut queue = queued(&logs);
    let (_, _, logs) = r
        .chain
        .ok(bob, rollup, register(bob_sk.public().compress()), 0);
    queue.extend(queued(&logs));
    assert_eq!(
        queue.len(),
        3,
        "set key + deposit for Alice, set key for Bob"
    );
    for (i, m) in queue.iter().enumerate() {
        assert_eq!(m.index, i as u64);
    }
    let (alice_acct, bob_acct) = (1u32, 2u32);
    assert_eq!(
        (queue[0].kind, queue[0].account, queue[0].data),
        (2, alice_acct, alice_sk.public().compress())
    );
    assert_eq!(
        (queue[1].kind, queue[1].account, queue[1].amount),
        (1, alice_acct, ETHER)
    );
    assert_eq!(
        (queue[2].kind, queue[2].account, queue[2].data),
        (2, bob_acct, bob_sk.public().compress())
    );
    assert_eq!(r.chain.view(rollup, "queueLength()", &[]), U256::from(3));
    assert_eq!(r.chain.balance(rollup), U256::from(ETHER));

    // Batch 1: Alice's set key and deposit.
    let mut b = BatchBuilder::new(PARAMS, &tree);
    b.push_general(&mut tree, op_of(&queue[0]))
        .expect("set key");
    b.push_general(&mut tree, op_of(&queue[1]))
        .expect("deposit");
    let batch1 = b.finish(&mut tree).expect("batch 1");
    assert_eq!(batch1.pubdata.len(), expected_len);
    let proof1 = keys.prove(PARAMS, &batch1).expect("prove batch 1");
    let p1 = proof_calldata(&proof1);
    let root1 = fr_int(&batch1.new_root);

    // Rejections against batch 1: tampered proof, wrong root, wrong public data.
    let mut t = p1;
    t[1] = (U256::from_be_bytes(p1[1]) + U256::from(1)).to_be_bytes::<32>();
    r.rejects("A.y + 1", root1, &batch1.pubdata, &t);
    let mut t = p1;
    t[4][31] ^= 1;
    r.rejects("a bit of B flipped", root1, &batch1.pubdata, &t);
    r.rejects("new root + 1", root1 + U256::from(1), &batch1.pubdata, &p1);
    let mut pd = batch1.pubdata.clone();
    pd[19] ^= 1; // the deposit's amount
    r.rejects("deposit amount changed", root1, &pd, &p1);

    r.submit(&batch1, &proof1);
    assert_eq!(r.state().2, U256::from(2), "two queue messages consumed");

    // Batch 2: Bob's set key, then two transfers Alice -> Bob.
    let amounts = [ETHER / 4, ETHER / 10];
    let fee = 1_000_000_000_000u128;
    let pfee = pack_fee(fee).expect("fee packs");
    assert_eq!(unpack_fee(pfee), fee);
    let mut b = BatchBuilder::new(PARAMS, &tree);
    b.push_general(&mut tree, op_of(&queue[2]))
        .expect("set key");
    for (nonce, amount) in amounts.iter().enumerate() {
        let pa = pack_amount(*amount).expect("amount packs");
        assert_eq!(unpack_amount(pa), *amount);
        let nonce = nonce as u32;
        let op = signed_transfer(
            PARAMS.chain_id,
            &alice_sk,
            alice_acct,
            bob_acct,
            *amount,
            fee,
            nonce,
        );
        assert_eq!((op.amount, op.fee), (pa, pfee));
        b.push_transfer(&mut tree, Some(op)).expect("transfer");
    }
    let batch2 = b.finish(&mut tree).expect("batch 2");
    let proof2 = keys.prove(PARAMS, &batch2).expect("prove batch 2");
    let root2 = fr_int(&batch2.new_root);
    // A transfer chunk byte changed, and the proof of another batch.
    let mut pd = batch2.pubdata.clone();
    let chunk = PARAMS.batch_general * 52;
    pd[chunk + 4] ^= 1; // the first transfer's amount, low byte
    r.rejects(
        "transfer chunk changed",
        root2,
        &pd,
        &proof_calldata(&proof2),
    );
    r.rejects("batch 1's proof", root2, &batch2.pubdata, &p1);
    r.submit(&batch2, &proof2);
    let sent: u128 = amounts.iter().sum();
    assert_eq!(tree.account(bob_acct).balance, sent);
    assert_eq!(tree.account(alice_acct).balance, ETHER - sent - 2 * fee);
    assert_eq!(tree.account(0).balance, 2 * fee);

    // Alice queues a forced exit; batch 3: Bob withdraws, Alice's forced exit.
    let (_, _, logs) = r.chain.ok(
        alice,
        rollup,
        call("forceExit(uint32)", &[U256::from(alice_acct)]),
        0,
    );
    let exit = queued(&logs);
    assert_eq!(exit.len(), 1);
    assert_eq!(
        (exit[0].index, exit[0].kind, exit[0].account),
        (3, 3, alice_acct)
    );
    let withdraw = ETHER / 5;
    let wfee = 2 * fee;
    let alice_l2 = tree.account(alice_acct).balance;
    let mut b = BatchBuilder::new(PARAMS, &tree);
    let op = signed_withdraw(PARAMS.chain_id, &bob_sk, bob_acct, withdraw, wfee, 0);
    b.push_general(&mut tree, op).expect("withdraw");
    b.push_general(&mut tree, op_of(&exit[0]))
        .expect("forced exit");
    let batch3 = b.finish(&mut tree).expect("batch 3");
    let proof3 = keys.prove(PARAMS, &batch3).expect("prove batch 3");
    r.rejects(
        "batch 2's proof",
        fr_int(&batch3.new_root),
        &batch3.pubdata,
        &proof_calldata(&proof2),
    );
    assert_eq!(
        r.chain
            .view(rollup, "claimable(address)", &[addr_word(bob)]),
        U256::ZERO
    );
    r.submit(&batch3, &proof3);
    assert_eq!(r.state().2, U256::from(4), "the whole queue is consumed");
    assert_eq!(
        r.chain
            .view(rollup, "claimable(address)", &[addr_word(bob)]),
        U256::from(withdraw)
    );
    assert_eq!(
        r.chain
            .view(rollup, "claimable(address)", &[addr_word(alice)]),
        U256::from(alice_l2),
        "the forced exit credits Alice's whole L2 balance"
    );
    assert_eq!(tree.account(alice_acct).balance, 0);
    assert_eq!(tree.account(bob_acct).balance, sent - withdraw - wfee);

    // Bob and Alice claim (gas price 0: balances move by the value only).
    for (who, amount) in [(bob, withdraw), (alice, alice_l2)] {
        let before = r.chain.balance(who);
        r.chain
            .ok(who, rollup, call("claim(address)", &[addr_word(who)]), 0);
        assert_eq!(r.chain.balance(who), before + U256::from(amount));
        assert_eq!(
            r.chain
                .view(rollup, "claimable(address)", &[addr_word(who)]),
            U256::ZERO
        );
    }
    // What stays in the contract backs the L2 balances left (Bob's and the fees).
    assert_eq!(
        r.chain.balance(rollup),
        U256::from(tree.account(bob_acct).balance + tree.account(0).balance)
    );

    let chunk_bytes = PARAMS.transfer_chunk_len() as u64;
    eprintln!(
        "submitBatch gas with the real verifier (M = {}, N = {}, depth {}): {:?}",
        PARAMS.batch_general, PARAMS.batch_transfers, PARAMS.tree_depth, r.gas
    );
    eprintln!(
        "per transfer: {chunk_bytes} bytes of public data, at most {} gas of calldata; batch 2 \
         ({} transfers): {} gas per transfer slot amortized",
        16 * chunk_bytes,
        PARAMS.batch_transfers,
        r.gas[1] / PARAMS.batch_transfers as u64
    );
}
