//! The Solidity verifier: a Groth16 verifier contract over BN254 generated from a verifying key,
//! the constructor words of the deployable verifier `Groth16Verifier` (any key with one public
//! input, given at deployment: [`verifier_constructor_words`]), and the calldata encoding of proofs
//! and public inputs both read (`docs/zk-rollup.md` §5, §7).
//!
//! The generated contract has the shape of `IZkVerifier`
//! (`verifyProof(uint256[8] calldata proof, uint256[K] calldata input) returns (bool)`, K = 1 for
//! loft's batch circuit). A proof is eight 32-byte big-endian words
//! `[A.x, A.y, B.x_im, B.x_re, B.y_im, B.y_re, C.x, C.y]`: a G2 coordinate `c0 + c1·u` in
//! arkworks (`Fq2 { c0, c1 }`, limbs little-endian) is written imaginary part first, the order
//! the `ecPairing` precompile (EIP-197) reads.

use std::fmt::Write as _;

use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};
use ark_groth16::{Proof, VerifyingKey};
use ark_serialize::CanonicalSerialize;
use sha2::{Digest, Sha256};

/// The Solidity version the generated verifier pins, the one every loft contract uses.
const PRAGMA: &str = "pragma solidity 0.8.37;";

/// A field element as one 32-byte big-endian word.
fn to_word<F: PrimeField>(x: &F) -> [u8; 32] {
    let bytes = x.into_bigint().to_bytes_be();
    let mut word = [0u8; 32];
    // BN254's fields are 254-bit: four 64-bit limbs, exactly 32 bytes.
    word[32 - bytes.len()..].copy_from_slice(&bytes);
    word
}

/// A scalar-field element (a public input) as a 32-byte big-endian word.
pub fn fr_to_word(x: &Fr) -> [u8; 32] {
    to_word(x)
}

/// A base-field element (a curve coordinate) as a 32-byte big-endian word.
pub fn fq_to_word(x: &Fq) -> [u8; 32] {
    to_word(x)
}

/// A G1 point as the precompiles read it: `[x, y]`, the point at infinity as `[0, 0]`.
fn g1_words(p: &G1Affine) -> [[u8; 32]; 2] {
    let (x, y) = p.xy().unwrap_or_default();
    [fq_to_word(&x), fq_to_word(&y)]
}

/// A G2 point as `ecPairing` reads it: `[x_im, x_re, y_im, y_re]` (`x = x_re + x_im·u`, arkworks'
/// `x.c0 + x.c1·u`), the point at infinity as four zero words.
fn g2_words(p: &G2Affine) -> [[u8; 32]; 4] {
    let (x, y): (Fq2, Fq2) = p.xy().unwrap_or_default();
    [
        fq_to_word(&x.c1),
        fq_to_word(&x.c0),
        fq_to_word(&y.c1),
        fq_to_word(&y.c0),
    ]
}

/// A proof as `verifyProof`'s `uint256[8]` argument, big-endian words in the order
/// `[A.x, A.y, B.x_im, B.x_re, B.y_im, B.y_re, C.x, C.y]`.
pub fn proof_calldata(proof: &Proof<Bn254>) -> [[u8; 32]; 8] {
    let [ax, ay] = g1_words(&proof.a);
    let [bx_im, bx_re, by_im, by_re] = g2_words(&proof.b);
    let [cx, cy] = g1_words(&proof.c);
    [ax, ay, bx_im, bx_re, by_im, by_re, cx, cy]
}

/// A verifying key with one public input as the constructor argument of the deployable verifier
/// `contracts/src/zk/Groth16Verifier.sol` (`uint256[18] vk`): big-endian words in the order
/// `[alpha.x, alpha.y, beta.x_im, beta.x_re, beta.y_im, beta.y_re, gamma (the same four), delta
/// (the same four), IC0.x, IC0.y, IC1.x, IC1.y]`, `IC<i>` being `gamma_abc_g1[i]`; G2 points
/// imaginary part first, as `ecPairing` reads them. That contract verifies exactly as the source
/// [`verifier_solidity`] generates for the same key.
///
/// # Panics
///
/// Unless the key has exactly one public input (`gamma_abc_g1` of length 2), the only shape the
/// contract (`IZkVerifier`) has.
pub fn verifier_constructor_words(vk: &VerifyingKey<Bn254>) -> [[u8; 32]; 18] {
    assert!(
        vk.gamma_abc_g1.len() == 2,
        "Groth16Verifier takes a verifying key with exactly one public input, this one has {} \
         ({} IC points)",
        vk.gamma_abc_g1.len().saturating_sub(1),
        vk.gamma_abc_g1.len()
    );
    let mut words = [[0u8; 32]; 18];
    let parts = g1_words(&vk.alpha_g1)
        .into_iter()
        .chain(g2_words(&vk.beta_g2))
        .chain(g2_words(&vk.gamma_g2))
        .chain(g2_words(&vk.delta_g2))
        .chain(g1_words(&vk.gamma_abc_g1[0]))
        .chain(g1_words(&vk.gamma_abc_g1[1]));
    for (slot, word) in words.iter_mut().zip(parts) {
        *slot = word;
    }
    words
}

/// The sha256 of a verifying key's compressed arkworks serialization
/// (`CanonicalSerialize::serialize_compressed`): the key's name in the generated verifier's header.
pub fn verifying_key_hash(vk: &VerifyingKey<Bn254>) -> [u8; 32] {
    let mut bytes = Vec::with_capacity(vk.compressed_size());
    vk.serialize_compressed(&mut bytes)
        .expect("serializing into a Vec cannot fail");
    Sha256::digest(&bytes).into()
}

/// `0x` and 64 lowercase hex digits.
fn hex_word(word: &[u8; 32]) -> String {
    let mut s = String::with_capacity(66);
    s.push_str("0x");
    for b in word {
        write!(s, "{b:02x}").expect("writing to a String cannot fail");
    }
    s
}

/// Whether `name` is a Solidity identifier (`[A-Za-z_$][A-Za-z0-9_$]*`).
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// Solidity source of a contract `contract_name` that verifies Groth16 proofs over BN254 for the
/// verifying key `vk`, embedded as constants: `verifyProof(uint256[8] calldata proof,
/// uint256[K] calldata input) external view returns (bool)` with `K = vk.gamma_abc_g1.len() - 1`
/// public inputs (`IZkVerifier` for K = 1).
///
/// The contract returns false, never reverts, for a proof it rejects: an input ≥ r, a proof
/// coordinate ≥ q, a precompile failure (a point not on its curve or not in G2's subgroup), or a
/// pairing check `e(−A, B)·e(alpha, beta)·e(vk_x, gamma)·e(C, delta) = 1` that does not hold,
/// where `vk_x = IC0 + Σ input[i]·IC(i+1)` (`ecMul`, `ecAdd`). The file is standalone (no
/// imports) and its header names the key by [`verifying_key_hash`].
///
/// # Panics
///
/// If `contract_name` is not a Solidity identifier, or the key has no public input
/// (`gamma_abc_g1` shorter than 2: Solidity has no `uint256[0]`).
pub fn verifier_solidity(vk: &VerifyingKey<Bn254>, contract_name: &str) -> String {
    assert!(
        is_identifier(contract_name),
        "contract name {contract_name:?} is not a Solidity identifier"
    );
    assert!(
        vk.gamma_abc_g1.len() >= 2,
        "a verifying key with {} IC points has no public input",
        vk.gamma_abc_g1.len()
    );
    let inputs = vk.gamma_abc_g1.len() - 1;
    let hash = hex_word(&verifying_key_hash(vk));
    let modulus = |bytes: Vec<u8>| hex_word(&bytes.try_into().expect("a 32-byte modulus"));
    let r = modulus(Fr::MODULUS.to_bytes_be());
    let q = modulus(Fq::MODULUS.to_bytes_be());

    let mut out = String::new();
    // `writeln!` into a String cannot fail; `emit!` keeps the template readable.
    macro_rules! emit {
        ($($arg:tt)*) => { writeln!(out, $($arg)*).expect("writing to a String cannot fail") };
    }
    let g1_constants = |out: &mut String, name: &str, p: &G1Affine| {
        let [x, y] = g1_words(p);
        for (coord, word) in [("X", x), ("Y", y)] {
            writeln!(
                out,
                "    uint256 internal constant {name}_{coord} = {};",
                hex_word(&word)
            )
            .expect("writing to a String cannot fail");
        }
    };
    let g2_constants = |out: &mut String, name: &str, p: &G2Affine| {
        let words = g2_words(p);
        for (coord, word) in ["X_IM", "X_RE", "Y_IM", "Y_RE"].into_iter().zip(words) {
            writeln!(
                out,
                "    uint256 internal constant {name}_{coord} = {};",
                hex_word(&word)
            )
            .expect("writing to a String cannot fail");
        }
    };

    emit!("// SPDX-License-Identifier: MIT");
    emit!("// Generated by loft (loft-zk-prover, solidity::verifier_solidity) from a Groth16");
    emit!("// verifying key over BN254. Do not edit: regenerate it from the key.");
    emit!("// Verifying key sha256 (compressed arkworks serialization):");
    emit!("//   {hash}");
    emit!("// Public inputs: {inputs}.");
    emit!("{PRAGMA}");
    emit!();
    emit!("/// @title {contract_name}");
    let plural = if inputs == 1 { "" } else { "s" };
    emit!("/// @notice A Groth16 verifier over BN254 for one verifying key, embedded below, with");
    emit!("///         {inputs} public input{plural}: loft's `IZkVerifier` when there is one.");
    emit!("///         Proof encoding: `docs/zk-rollup.md` §5.");
    emit!("contract {contract_name} {{");
    emit!("    /// @dev The scalar field order r: every public input must be below it.");
    emit!("    uint256 internal constant R = {r};");
    emit!("    /// @dev The base field order q: every proof coordinate must be below it.");
    emit!("    uint256 internal constant Q = {q};");
    emit!();
    emit!(
        "    // The verifying key. G2 points in the order ecPairing reads them: x_im, x_re, y_im,"
    );
    emit!("    // y_re. IC<i> is gamma_abc_g1[i]: vk_x = IC0 + sum of input[i - 1] * IC<i>.");
    g1_constants(&mut out, "ALPHA", &vk.alpha_g1);
    g2_constants(&mut out, "BETA", &vk.beta_g2);
    g2_constants(&mut out, "GAMMA", &vk.gamma_g2);
    g2_constants(&mut out, "DELTA", &vk.delta_g2);
    for (i, ic) in vk.gamma_abc_g1.iter().enumerate() {
        g1_constants(&mut out, &format!("IC{i}"), ic);
    }
    emit!();
    emit!("    /// @notice Whether `proof` is a valid proof for the public inputs `input`.");
    emit!("    /// @dev Returns false, never reverts, on a rejection: an input >= R, a proof");
    emit!("    ///      coordinate >= Q, a failed precompile (a point not on its curve or not in");
    emit!("    ///      G2's subgroup) or a failed pairing check");
    emit!("    ///      e(-A, B) * e(alpha, beta) * e(vk_x, gamma) * e(C, delta) == 1.");
    emit!("    /// @param proof `[A.x, A.y, B.x_im, B.x_re, B.y_im, B.y_re, C.x, C.y]`.");
    emit!("    /// @param input The public inputs, each below R.");
    emit!("    /// @return ok True when the proof verifies.");
    emit!(
        "    function verifyProof(uint256[8] calldata proof, uint256[{inputs}] calldata input) external view returns (bool ok) {{"
    );
    emit!("        assembly (\"memory-safe\") {{");
    emit!(
        "            // acc (two words, a G1 point) += s * (x, y) with ecMul (0x07) and ecAdd (0x06);"
    );
    emit!("            // buf is four words of scratch. Returns 0 when a precompile fails.");
    emit!("            function mulAdd(acc, buf, x, y, s) -> success {{");
    emit!("                mstore(buf, x)");
    emit!("                mstore(add(buf, 0x20), y)");
    emit!("                mstore(add(buf, 0x40), s)");
    emit!("                if iszero(staticcall(gas(), 0x07, buf, 0x60, buf, 0x40)) {{ leave }}");
    emit!("                mstore(add(buf, 0x40), mload(acc))");
    emit!("                mstore(add(buf, 0x60), mload(add(acc, 0x20)))");
    emit!("                success := and(");
    emit!("                    staticcall(gas(), 0x06, buf, 0x80, acc, 0x40),");
    emit!("                    eq(returndatasize(), 0x40)");
    emit!("                )");
    emit!("            }}");
    emit!();
    emit!("            // Canonical encodings only: each proof word below Q, each input below R.");
    emit!("            let valid := 1");
    emit!("            for {{ let i := 0 }} lt(i, 0x100) {{ i := add(i, 0x20) }} {{");
    emit!("                valid := and(valid, lt(calldataload(add(proof, i)), Q))");
    emit!("            }}");
    emit!(
        "            for {{ let i := 0 }} lt(i, {:#x}) {{ i := add(i, 0x20) }} {{",
        inputs * 32
    );
    emit!("                valid := and(valid, lt(calldataload(add(input, i)), R))");
    emit!("            }}");
    emit!();
    emit!("            if valid {{");
    emit!("                // The ecPairing input, four (G1, G2) pairs of six words from p:");
    emit!(
        "                // (-A, B) at 0x000, (alpha, beta) at 0x0c0, (vk_x, gamma) at 0x180 and"
    );
    emit!("                // (C, delta) at 0x240. Scratch for mulAdd follows at 0x300.");
    emit!("                let p := mload(0x40)");
    emit!("                let buf := add(p, 0x300)");
    emit!();
    emit!("                // vk_x = IC0 + sum of input[i - 1] * IC<i>, built in place.");
    emit!("                let vkx := add(p, 0x180)");
    emit!("                mstore(vkx, IC0_X)");
    emit!("                mstore(add(vkx, 0x20), IC0_Y)");
    emit!("                let success := 1");
    for i in 1..=inputs {
        let at = if i == 1 {
            "input".to_string()
        } else {
            format!("add(input, {:#x})", (i - 1) * 32)
        };
        emit!(
            "                success := and(success, mulAdd(vkx, buf, IC{i}_X, IC{i}_Y, calldataload({at})))"
        );
    }
    emit!();
    emit!(
        "                // -A = (A.x, Q - A.y), and the point at infinity (0, 0) is its own negation."
    );
    emit!("                mstore(p, calldataload(proof))");
    emit!("                mstore(add(p, 0x20), mod(sub(Q, calldataload(add(proof, 0x20))), Q))");
    emit!("                // B: x_im, x_re, y_im, y_re, as in the proof.");
    emit!("                calldatacopy(add(p, 0x40), add(proof, 0x40), 0x80)");
    emit!();
    emit!("                mstore(add(p, 0x0c0), ALPHA_X)");
    emit!("                mstore(add(p, 0x0e0), ALPHA_Y)");
    for (i, coord) in ["X_IM", "X_RE", "Y_IM", "Y_RE"].iter().enumerate() {
        emit!(
            "                mstore(add(p, {:#05x}), BETA_{coord})",
            0x100 + 0x20 * i
        );
    }
    emit!();
    for (i, coord) in ["X_IM", "X_RE", "Y_IM", "Y_RE"].iter().enumerate() {
        emit!(
            "                mstore(add(p, {:#05x}), GAMMA_{coord})",
            0x1c0 + 0x20 * i
        );
    }
    emit!();
    emit!("                calldatacopy(add(p, 0x240), add(proof, 0xc0), 0x40)");
    for (i, coord) in ["X_IM", "X_RE", "Y_IM", "Y_RE"].iter().enumerate() {
        emit!(
            "                mstore(add(p, {:#05x}), DELTA_{coord})",
            0x280 + 0x20 * i
        );
    }
    emit!();
    emit!("                // ecPairing (0x08) writes 1 when the product of the pairings is 1.");
    emit!("                success := and(success, staticcall(gas(), 0x08, p, 0x300, p, 0x20))");
    emit!("                ok := and(success, and(eq(returndatasize(), 0x20), eq(mload(p), 1)))");
    emit!("            }}");
    emit!("        }}");
    emit!("    }}");
    emit!("}}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::{AffineRepr, CurveGroup};

    /// Parses `0x` and 64 hex digits.
    fn word(hex: &str) -> [u8; 32] {
        let hex = hex.strip_prefix("0x").unwrap();
        assert_eq!(hex.len(), 64);
        let mut w = [0u8; 32];
        for (i, b) in w.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
        }
        w
    }

    const R: &str = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
    const Q: &str = "0x30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47";

    #[test]
    fn solidity_fr_words_are_big_endian() {
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(fr_to_word(&Fr::from(1u64)), one);
        let mut x = [0u8; 32];
        x[24..].copy_from_slice(&0x0102_0304_0506_0708u64.to_be_bytes());
        assert_eq!(fr_to_word(&Fr::from(0x0102_0304_0506_0708u64)), x);
        // r − 1: the largest input, its last byte one below r's.
        let mut r_minus_1 = word(R);
        r_minus_1[31] -= 1;
        assert_eq!(fr_to_word(&-Fr::from(1u64)), r_minus_1);
        let mut q_minus_1 = word(Q);
        q_minus_1[31] -= 1;
        assert_eq!(fq_to_word(&-Fq::from(1u64)), q_minus_1);
    }

    #[test]
    fn solidity_g1_words_are_x_then_y() {
        let g = G1Affine::generator();
        assert_eq!(
            g1_words(&g),
            [
                word(&format!("0x{:064x}", 1)),
                word(&format!("0x{:064x}", 2))
            ]
        );
        // 2G, as the ecAdd precompile computes (1, 2) + (1, 2).
        let g2 = (g + g).into_affine();
        assert_eq!(
            g1_words(&g2),
            [
                word("0x030644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd3"),
                word("0x15ed738c0e0a7c92e7845f96b2ae9c0a68a6a449e3538fc7ff3ebf7a5a18a2c4"),
            ]
        );
        assert_eq!(g1_words(&G1Affine::zero()), [[0u8; 32]; 2]);
    }

    #[test]
    fn solidity_g2_words_put_the_imaginary_part_first() {
        // The G2 generator in EIP-197's encoding: x_im, x_re, y_im, y_re.
        assert_eq!(
            g2_words(&G2Affine::generator()),
            [
                word("0x198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2"),
                word("0x1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed"),
                word("0x090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b"),
                word("0x12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa"),
            ]
        );
        assert_eq!(g2_words(&G2Affine::zero()), [[0u8; 32]; 4]);
    }

    #[test]
    fn solidity_proof_calldata_order() {
        let a = G1Affine::generator();
        let b = G2Affine::generator();
        let c = (a + a).into_affine();
        let words = proof_calldata(&Proof { a, b, c });
        let [ax, ay] = g1_words(&a);
        let [bx_im, bx_re, by_im, by_re] = g2_words(&b);
        let [cx, cy] = g1_words(&c);
        assert_eq!(words, [ax, ay, bx_im, bx_re, by_im, by_re, cx, cy]);
        assert_eq!(words[1], fq_to_word(&Fq::from(2u64)));
        assert_eq!(words[3], fq_to_word(&b.x().unwrap().c0));
        assert_eq!(words[2], fq_to_word(&b.x().unwrap().c1));
    }

    fn some_key(inputs: usize) -> VerifyingKey<Bn254> {
        let g1 = G1Affine::generator();
        let g2 = G2Affine::generator();
        let mul1 = |k: u64| (g1 * Fr::from(k)).into_affine();
        let mul2 = |k: u64| (g2 * Fr::from(k)).into_affine();
        VerifyingKey {
            alpha_g1: mul1(3),
            beta_g2: mul2(5),
            gamma_g2: mul2(7),
            delta_g2: mul2(11),
            gamma_abc_g1: (0..=inputs as u64).map(|i| mul1(13 + i)).collect(),
        }
    }

    #[test]
    fn solidity_verifying_key_hash_is_sha256_of_compressed_key() {
        let vk = some_key(1);
        let mut bytes = Vec::new();
        vk.serialize_compressed(&mut bytes).unwrap();
        let expected: [u8; 32] = Sha256::digest(&bytes).into();
        assert_eq!(verifying_key_hash(&vk), expected);
        assert_ne!(verifying_key_hash(&vk), verifying_key_hash(&some_key(2)));
    }

    #[test]
    fn solidity_source_embeds_the_key_and_sizes_the_inputs() {
        let vk = some_key(3);
        let src = verifier_solidity(&vk, "Groth16Verifier");
        assert!(src.contains(&hex_word(&verifying_key_hash(&vk))));
        assert!(src.contains(PRAGMA));
        assert!(src.contains("contract Groth16Verifier {"));
        assert!(src.contains(
            "function verifyProof(uint256[8] calldata proof, uint256[3] calldata input) external view returns (bool ok)"
        ));
        assert!(src.contains(&format!("uint256 internal constant R = {R};")));
        assert!(src.contains(&format!("uint256 internal constant Q = {Q};")));
        let [x_im, ..] = g2_words(&vk.delta_g2);
        assert!(src.contains(&format!("DELTA_X_IM = {};", hex_word(&x_im))));
        assert!(src.contains("IC3_Y"));
        assert!(!src.contains("IC4_X"));
        assert!(src.contains("calldataload(add(input, 0x40))"));
    }

    #[test]
    fn solidity_constructor_words_follow_the_contract_order() {
        let vk = some_key(1);
        let words = verifier_constructor_words(&vk);
        let [ax, ay] = g1_words(&vk.alpha_g1);
        let [ic0x, ic0y] = g1_words(&vk.gamma_abc_g1[0]);
        let [ic1x, ic1y] = g1_words(&vk.gamma_abc_g1[1]);
        assert_eq!(words[..2], [ax, ay]);
        assert_eq!(words[2..6], g2_words(&vk.beta_g2));
        assert_eq!(words[6..10], g2_words(&vk.gamma_g2));
        assert_eq!(words[10..14], g2_words(&vk.delta_g2));
        assert_eq!(words[14..], [ic0x, ic0y, ic1x, ic1y]);
        // The same words the generated source embeds as constants.
        let src = verifier_solidity(&vk, "V");
        for (name, word) in [
            ("ALPHA_X", 0),
            ("BETA_X_IM", 2),
            ("DELTA_Y_RE", 13),
            ("IC1_Y", 17),
        ] {
            assert!(src.contains(&format!("{name} = {};", hex_word(&words[word]))));
        }
    }

    #[test]
    #[should_panic(expected = "exactly one public input, this one has 2")]
    fn solidity_constructor_words_need_one_public_input() {
        verifier_constructor_words(&some_key(2));
    }

    #[test]
    #[should_panic(expected = "exactly one public input, this one has 0")]
    fn solidity_constructor_words_refuse_a_key_without_inputs() {
        verifier_constructor_words(&some_key(0));
    }

    #[test]
    #[should_panic(expected = "not a Solidity identifier")]
    fn solidity_contract_name_must_be_an_identifier() {
        verifier_solidity(&some_key(1), "1Verifier");
    }

    #[test]
    #[should_panic(expected = "no public input")]
    fn solidity_key_without_inputs_is_refused() {
        verifier_solidity(&some_key(0), "Verifier");
    }
}
