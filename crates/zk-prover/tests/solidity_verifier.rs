//! The generated Solidity verifier on a real EVM: a Groth16 proof of a tiny circuit of this file's
//! own is checked natively, then by the verifier compiled with the repository's pinned solc
//! (solc-js 0.8.37 through `scripts/solc`, installed by `scripts/install-tools.sh`) and deployed on
//! revm with Osaka rules. A valid proof is accepted; tampered proofs, wrong inputs and
//! non-canonical words are answered `false`, never with a revert. The deployable
//! `Groth16Verifier` (the committed artifact, the key given to its constructor) answers the same at
//! the same gas.

mod common;

use ark_bn254::{Bn254, Fq, Fr};
use ark_ff::{BigInteger, PrimeField};
use ark_groth16::{Groth16, Proof, VerifyingKey};
use ark_relations::gr1cs::{
    ConstraintSynthesizer, ConstraintSystemRef, SynthesisError, Variable, lc,
};
use ark_snark::SNARK;
use ark_std::rand::SeedableRng;
use ark_std::rand::rngs::StdRng;
use common::{Evm, Outcome, compile, intrinsic_gas, selector};
use loft_zk_prover::solidity::{
    fr_to_word, proof_calldata, verifier_constructor_words, verifier_solidity,
};
use revm::primitives::{Address, TxKind, U256, hex};

/// Knowledge of `a`, `b` with `a·b = c`, `c` public; with `sum`, also `a + b = d`, `d` public.
#[derive(Clone, Copy)]
struct Product {
    a: Option<Fr>,
    b: Option<Fr>,
    sum: bool,
}

impl ConstraintSynthesizer<Fr> for Product {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let value = |v: Option<Fr>| v.ok_or(SynthesisError::AssignmentMissing);
        let c = cs.new_input_variable(|| Ok(value(self.a)? * value(self.b)?))?;
        let d = if self.sum {
            Some(cs.new_input_variable(|| Ok(value(self.a)? + value(self.b)?))?)
        } else {
            None
        };
        let a = cs.new_witness_variable(|| value(self.a))?;
        let b = cs.new_witness_variable(|| value(self.b))?;
        cs.enforce_r1cs_constraint(|| lc!() + a, || lc!() + b, || lc!() + c)?;
        if let Some(d) = d {
            cs.enforce_r1cs_constraint(|| lc!() + a + b, || lc!() + Variable::One, || lc!() + d)?;
        }
        Ok(())
    }
}

/// Setup and one proof for `a = 3`, `b = 11`, with a fixed seed: the same key on every run.
fn prove(sum: bool) -> (VerifyingKey<Bn254>, Proof<Bn254>, Vec<Fr>) {
    let mut rng = StdRng::seed_from_u64(0x10f7);
    let shape = Product {
        a: None,
        b: None,
        sum,
    };
    let (pk, vk) = Groth16::<Bn254>::circuit_specific_setup(shape, &mut rng).expect("setup");
    let (a, b) = (Fr::from(3u64), Fr::from(11u64));
    let circuit = Product {
        a: Some(a),
        b: Some(b),
        sum,
    };
    let proof = Groth16::<Bn254>::prove(&pk, circuit, &mut rng).expect("prove");
    let inputs = if sum { vec![a * b, a + b] } else { vec![a * b] };
    assert!(
        Groth16::<Bn254>::verify(&vk, &inputs, &proof).expect("verify"),
        "the proof verifies natively"
    );
    assert!(
        !Groth16::<Bn254>::verify(&vk, &[Fr::from(34u64)], &proof).unwrap_or(false),
        "and not for another input"
    );
    (vk, proof, inputs)
}

/// A word as a 256-bit integer, and back.
fn int(word: &[u8; 32]) -> U256 {
    U256::from_be_bytes(*word)
}

fn word(x: U256) -> [u8; 32] {
    x.to_be_bytes()
}

fn modulus<F: PrimeField>() -> U256 {
    U256::from_be_slice(&F::MODULUS.to_bytes_be())
}

/// `verifyProof(proof, input)` calldata.
fn calldata(proof: &[[u8; 32]; 8], input: &[[u8; 32]]) -> Vec<u8> {
    let signature = format!("verifyProof(uint256[8],uint256[{}])", input.len());
    let mut data = selector(&signature).to_vec();
    for w in proof.iter().chain(input) {
        data.extend_from_slice(w);
    }
    data
}

/// Rejections of the one-input tests: the valid proof `p` for the input `c`, tampered with, each
/// with what was changed.
fn tampered(p: &[[u8; 32]; 8], c: &[u8; 32]) -> Vec<(String, [[u8; 32]; 8], [u8; 32])> {
    let (r, q) = (modulus::<Fr>(), modulus::<Fq>());
    let (p, c) = (*p, *c);
    let mut cases = vec![
        // The same proof for another public input.
        (
            "wrong public input".to_string(),
            p,
            word(int(&c) + U256::from(1)),
        ),
        ("public input 0".to_string(), p, [0u8; 32]),
        // Inputs >= r, among them c + r, which ecMul alone would treat as c.
        ("input r".to_string(), p, word(r)),
        ("input c + r".to_string(), p, word(int(&c) + r)),
        ("input 2^256 - 1".to_string(), p, [0xff; 32]),
    ];
    let mut proof = |what: String, change: &dyn Fn(&mut [[u8; 32]; 8])| {
        let mut t = p;
        change(&mut t);
        cases.push((what, t, c));
    };
    // A negated: (A.x, q - A.y).
    proof("A negated".into(), &|t| t[1] = word(q - int(&p[1])));
    // One coordinate changed: A, B and C each, off their curves.
    for i in [0, 3, 4, 7] {
        proof(format!("proof word {i} + 1"), &|t| {
            t[i] = word(int(&p[i]) + U256::from(1))
        });
    }
    // B's coordinates in arkworks' (c0, c1) order instead of the precompile's (c1, c0).
    proof("B with real parts first".into(), &|t| {
        t.swap(2, 3);
        t.swap(4, 5);
    });
    proof("A and C swapped".into(), &|t| {
        t.swap(0, 6);
        t.swap(1, 7);
    });
    // Coordinates >= q: the same points with q added to one coordinate.
    for i in 0..8 {
        proof(format!("proof word {i} + q"), &|t| {
            t[i] = word(int(&p[i]) + q)
        });
    }
    proof("proof word 2^256 - 1".into(), &|t| t[5] = [0xff; 32]);
    // The point at infinity for A and C.
    proof("A = C = 0".into(), &|t| {
        t[0] = [0; 32];
        t[1] = [0; 32];
        t[6] = [0; 32];
        t[7] = [0; 32];
    });
    cases
}

/// A verifier deployed on a fresh revm chain with Osaka rules.
struct Chain {
    evm: Evm,
    verifier: Address,
}

/// What a call of `verifyProof` did.
#[derive(Debug, PartialEq)]
enum Answer {
    /// Returned this bool, with the transaction's gas.
    Returned(bool, u64),
    /// Reverted or halted.
    Failed(String),
}

impl Chain {
    const CALLER: Address = Address::repeat_byte(0xca);

    fn deploy(bytecode: Vec<u8>) -> Self {
        let mut evm = Evm::new();
        let verifier = evm.deploy(Self::CALLER, bytecode);
        Self { evm, verifier }
    }

    fn verify(&mut self, proof: &[[u8; 32]; 8], input: &[[u8; 32]]) -> Answer {
        let data = calldata(proof, input);
        match self
            .evm
            .send(Self::CALLER, TxKind::Call(self.verifier), data, 0)
        {
            Outcome::Success { out, gas, .. } => {
                assert_eq!(out.len(), 32, "an ABI-encoded bool: {out}");
                let value = U256::from_be_slice(&out);
                assert!(value <= U256::from(1), "a clean bool: {out}");
                Answer::Returned(value == U256::from(1), gas)
            }
            Outcome::Revert(out) => Answer::Failed(format!("revert {out}")),
            Outcome::Halt(why) => Answer::Failed(why),
        }
    }

    /// Asserts that the verifier answers `false` (and does not revert).
    #[track_caller]
    fn rejects(&mut self, what: &str, proof: &[[u8; 32]; 8], input: &[[u8; 32]]) {
        match self.verify(proof, input) {
            Answer::Returned(false, _) => {}
            other => panic!("{what}: expected false, got {other:?}"),
        }
    }
}

#[test]
fn solidity_verifier_with_one_public_input_on_the_evm() {
    let (vk, proof, inputs) = prove(false);
    let source = verifier_solidity(&vk, "ProductVerifier");
    assert!(
        source.contains("uint256[1] calldata input"),
        "IZkVerifier's signature"
    );
    let mut chain = Chain::deploy(compile("ProductVerifier.sol", &source, "ProductVerifier"));

    let p = proof_calldata(&proof);
    let c = fr_to_word(&inputs[0]);

    // The valid proof, and its gas.
    let data = calldata(&p, &[c]);
    let gas = match chain.verify(&p, &[c]) {
        Answer::Returned(true, gas) => gas,
        other => panic!("the valid proof must verify: {other:?}"),
    };
    let execution = gas - intrinsic_gas(&data);
    println!(
        "verifyProof, 1 public input: {gas} gas for the transaction, {execution} gas of execution \
         (after 21000 and {} of calldata)",
        intrinsic_gas(&data) - 21_000
    );
    // 4 pairings (45000 + 4 * 34000), one ecMul and ecAdd (6000 + 150), and a little overhead.
    assert!(
        (187_150..200_000).contains(&execution),
        "execution gas {execution}"
    );

    for (what, proof, input) in tampered(&p, &c) {
        chain.rejects(&what, &proof, &[input]);
    }

    // And the valid proof still verifies.
    assert!(matches!(chain.verify(&p, &[c]), Answer::Returned(true, _)));
}

/// Creation code of the committed `Groth16Verifier` artifact (`contracts/artifacts`, written by
/// `scripts/build-contracts.sh`), the one `loft` embeds, with its constructor argument `vk`.
fn groth16_verifier_code(vk: &[[u8; 32]; 18]) -> Vec<u8> {
    let path = common::repo_root().join("contracts/artifacts/Groth16Verifier.json");
    let artifact: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display())),
    )
    .expect("artifact JSON");
    let object = artifact["bytecode"]["object"]
        .as_str()
        .expect("bytecode.object in the artifact");
    let mut code = hex::decode(object).expect("hex bytecode");
    // `uint256[18]` is static: its ABI encoding is the 18 words.
    code.extend(vk.iter().flatten());
    code
}

#[test]
fn deployable_verifier_answers_as_the_generated_one() {
    let (vk, proof, inputs) = prove(false);
    let words = verifier_constructor_words(&vk);
    let mut generated = Chain::deploy(compile(
        "ProductVerifier.sol",
        &verifier_solidity(&vk, "ProductVerifier"),
        "ProductVerifier",
    ));
    let mut deployable = Chain::deploy(groth16_verifier_code(&words));
    match Evm::new().send(
        Chain::CALLER,
        TxKind::Create,
        groth16_verifier_code(&words),
        0,
    ) {
        Outcome::Success { gas, .. } => println!("Groth16Verifier deployment: {gas} gas"),
        _ => panic!("the deployment fails on a fresh chain"),
    }

    // It holds the key it was given.
    let (out, _, _) = deployable.evm.ok(
        Chain::CALLER,
        deployable.verifier,
        selector("verifyingKey()").to_vec(),
        0,
    );
    assert_eq!(out.as_ref(), words.concat().as_slice());

    let p = proof_calldata(&proof);
    let c = fr_to_word(&inputs[0]);
    let gas = |chain: &mut Chain| match chain.verify(&p, &[c]) {
        Answer::Returned(true, gas) => gas - intrinsic_gas(&calldata(&p, &[c])),
        other => panic!("the valid proof must verify: {other:?}"),
    };
    let (generated_gas, deployable_gas) = (gas(&mut generated), gas(&mut deployable));
    println!(
        "verifyProof, 1 public input, gas of execution: {generated_gas} generated (key in \
         constants), {deployable_gas} Groth16Verifier (key in immutables)"
    );
    assert!(
        generated_gas.abs_diff(deployable_gas) <= 300,
        "generated {generated_gas} vs deployable {deployable_gas}"
    );

    for (what, proof, input) in tampered(&p, &c) {
        generated.rejects(&what, &proof, &[input]);
        deployable.rejects(&what, &proof, &[input]);
    }
    assert!(matches!(
        deployable.verify(&p, &[c]),
        Answer::Returned(true, _)
    ));

    // Other keys reject the proof: the two-input circuit's IC0 and IC1 (its setup, from the same
    // seed, draws the same alpha, beta, gamma and delta), and gamma in delta's place.
    let (two_inputs, _, _) = prove(true);
    let other_ic = VerifyingKey {
        gamma_abc_g1: two_inputs.gamma_abc_g1[..2].to_vec(),
        ..vk.clone()
    };
    let other_delta = VerifyingKey {
        delta_g2: vk.gamma_g2,
        ..vk.clone()
    };
    for (what, key) in [
        ("other IC points", other_ic),
        ("gamma as delta", other_delta),
    ] {
        assert_ne!(key, vk);
        let mut chain = Chain::deploy(groth16_verifier_code(&verifier_constructor_words(&key)));
        chain.rejects(what, &p, &[c]);
    }
}

#[test]
fn deployable_verifier_refuses_keys_off_the_field_or_g1() {
    let (vk, _, _) = prove(false);
    let words = verifier_constructor_words(&vk);
    let q = modulus::<Fq>();
    let mut evm = Evm::new();
    let refused = |evm: &mut Evm, vk: [[u8; 32]; 18]| -> U256 {
        match evm.send(Chain::CALLER, TxKind::Create, groth16_verifier_code(&vk), 0) {
            // InvalidVerifyingKey(uint256 index)
            Outcome::Revert(out) => {
                assert_eq!(out[..4], selector("InvalidVerifyingKey(uint256)"));
                U256::from_be_slice(&out[4..36])
            }
            Outcome::Success { .. } => panic!("the key was accepted"),
            Outcome::Halt(why) => panic!("halted: {why}"),
        }
    };
    // A word not below q, in a G2 point (13) and in a G1 point (15).
    for i in [13, 15] {
        let mut bad = words;
        bad[i] = word(int(&words[i]) + q);
        assert_eq!(refused(&mut evm, bad), U256::from(i));
    }
    // alpha, IC0 and IC1 off the curve: named by their x word.
    for i in [1, 15, 17] {
        let mut bad = words;
        bad[i] = word(int(&words[i]) + U256::from(1));
        assert_eq!(refused(&mut evm, bad), U256::from(i - 1));
    }
    // The point at infinity passes the constructor (the precompiles accept it).
    let mut zero_ic1 = words;
    zero_ic1[16] = [0; 32];
    zero_ic1[17] = [0; 32];
    evm.deploy(Chain::CALLER, groth16_verifier_code(&zero_ic1));
}

#[test]
fn solidity_verifier_with_two_public_inputs_on_the_evm() {
    let (vk, proof, inputs) = prove(true);
    let source = verifier_solidity(&vk, "ProductSumVerifier");
    assert!(source.contains("uint256[2] calldata input"));
    let mut chain = Chain::deploy(compile(
        "ProductSumVerifier.sol",
        &source,
        "ProductSumVerifier",
    ));
    let p = proof_calldata(&proof);
    let (c, d) = (fr_to_word(&inputs[0]), fr_to_word(&inputs[1]));
    let execution = match chain.verify(&p, &[c, d]) {
        Answer::Returned(true, gas) => gas - intrinsic_gas(&calldata(&p, &[c, d])),
        other => panic!("the valid proof must verify: {other:?}"),
    };
    println!("verifyProof, 2 public inputs: {execution} gas of execution");
    chain.rejects("inputs swapped", &p, &[d, c]);
    chain.rejects(
        "second input + r",
        &p,
        &[c, word(int(&d) + modulus::<Fr>())],
    );
    chain.rejects(
        "second input wrong",
        &p,
        &[c, word(int(&d) + U256::from(1))],
    );
}
