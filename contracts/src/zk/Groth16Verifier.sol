// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IZkVerifier} from "./IZkVerifier.sol";

/// @title Groth16Verifier
/// @notice A Groth16 verifier over BN254 with one public input for any verifying key, given at
///         deployment (`docs/zk-rollup.md` §7): the one loft deploys for {ZkRollup}, so a node needs
///         no Solidity compiler for a key of its own. It verifies exactly as the standalone source
///         `loft_zk_prover::solidity::verifier_solidity` generates for the same key (the key in
///         constants there, in immutables here: the same gas per verification).
/// @dev The key is 18 words, G2 points in the order the `ecPairing` precompile reads them:
///      `[alpha.x, alpha.y, beta.x_im, beta.x_re, beta.y_im, beta.y_re, gamma.x_im, gamma.x_re,
///      gamma.y_im, gamma.y_re, delta.x_im, delta.x_re, delta.y_im, delta.y_re, IC0.x, IC0.y, IC1.x,
///      IC1.y]` (`loft_zk_prover::solidity::verifier_constructor_words`), where `IC<i>` is arkworks'
///      `gamma_abc_g1[i]`. The point at infinity is `(0, 0)` (G1) or four zero words (G2).
contract Groth16Verifier is IZkVerifier {
    /// @notice The scalar field order r: every public input must be below it.
    uint256 public constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice The base field order q: every proof coordinate and key word must be below it.
    uint256 public constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    // The verifying key, read as immutables (a PUSH32 each, as a constant would be).
    uint256 private immutable _alphaX;
    uint256 private immutable _alphaY;
    uint256 private immutable _betaXIm;
    uint256 private immutable _betaXRe;
    uint256 private immutable _betaYIm;
    uint256 private immutable _betaYRe;
    uint256 private immutable _gammaXIm;
    uint256 private immutable _gammaXRe;
    uint256 private immutable _gammaYIm;
    uint256 private immutable _gammaYRe;
    uint256 private immutable _deltaXIm;
    uint256 private immutable _deltaXRe;
    uint256 private immutable _deltaYIm;
    uint256 private immutable _deltaYRe;
    uint256 private immutable _ic0X;
    uint256 private immutable _ic0Y;
    uint256 private immutable _ic1X;
    uint256 private immutable _ic1Y;

    /// @notice Word `index` of the key is not below {Q}, or the G1 point it belongs to (alpha, IC0,
    ///         IC1; `index` is its x word) is neither on the curve `y² = x³ + 3` nor `(0, 0)`.
    error InvalidVerifyingKey(uint256 index);

    /// @notice Deploys a verifier for the verifying key `vk`.
    /// @dev Reverts {InvalidVerifyingKey} for a word not below {Q} or a G1 point off its curve: the
    ///      checks that cost little. A G2 point off its curve or outside the subgroup is not
    ///      detected here; with such a key every verification answers false (the precompile fails).
    /// @param vk The key's 18 words, in the order of the contract's description.
    constructor(uint256[18] memory vk) {
        for (uint256 i = 0; i < 18; ++i) {
            if (vk[i] >= Q) revert InvalidVerifyingKey(i);
        }
        // The G1 points: alpha (words 0, 1), IC0 (14, 15), IC1 (16, 17).
        for (uint256 k = 0; k < 3; ++k) {
            uint256 i = k == 0 ? 0 : 12 + 2 * k;
            if (!_onG1(vk[i], vk[i + 1])) revert InvalidVerifyingKey(i);
        }
        _alphaX = vk[0];
        _alphaY = vk[1];
        _betaXIm = vk[2];
        _betaXRe = vk[3];
        _betaYIm = vk[4];
        _betaYRe = vk[5];
        _gammaXIm = vk[6];
        _gammaXRe = vk[7];
        _gammaYIm = vk[8];
        _gammaYRe = vk[9];
        _deltaXIm = vk[10];
        _deltaXRe = vk[11];
        _deltaYIm = vk[12];
        _deltaYRe = vk[13];
        _ic0X = vk[14];
        _ic0Y = vk[15];
        _ic1X = vk[16];
        _ic1Y = vk[17];
    }

    /// @notice The verifying key this verifier was deployed with, in the constructor's order.
    /// @return vk The 18 words.
    function verifyingKey() external view returns (uint256[18] memory vk) {
        vk = [
            _alphaX,
            _alphaY,
            _betaXIm,
            _betaXRe,
            _betaYIm,
            _betaYRe,
            _gammaXIm,
            _gammaXRe,
            _gammaYIm,
            _gammaYRe,
            _deltaXIm,
            _deltaXRe,
            _deltaYIm,
            _deltaYRe,
            _ic0X,
            _ic0Y,
            _ic1X,
            _ic1Y
        ];
    }

    /// @notice Whether `proof` is a valid proof for the public input `input[0]`.
    /// @dev Returns false, never reverts, on a rejection: an input >= {R}, a proof coordinate >= {Q},
    ///      a failed precompile (a point not on its curve or not in G2's subgroup) or a failed
    ///      pairing check `e(-A, B) * e(alpha, beta) * e(vk_x, gamma) * e(C, delta) == 1`, where
    ///      `vk_x = IC0 + input[0] * IC1`.
    /// @param proof `[A.x, A.y, B.x_im, B.x_re, B.y_im, B.y_re, C.x, C.y]`.
    /// @param input The public input, below {R}.
    /// @return ok True when the proof verifies.
    function verifyProof(uint256[8] calldata proof, uint256[1] calldata input) external view returns (bool ok) {
        // Canonical encodings only: each proof word below Q, the input below R.
        bool valid;
        assembly ("memory-safe") {
            valid := lt(calldataload(input), R)
            for { let i := 0 } lt(i, 0x100) { i := add(i, 0x20) } {
                valid := and(valid, lt(calldataload(add(proof, i)), Q))
            }
        }
        if (!valid) return false;

        // The ecPairing input, four (G1, G2) pairs of six words from p: (-A, B) at 0x000,
        // (alpha, beta) at 0x0c0, (vk_x, gamma) at 0x180 and (C, delta) at 0x240; four words of
        // scratch for vk_x follow at 0x300. Allocated, so no Solidity between the assembly blocks
        // can reuse it. Inline assembly cannot read immutables: each block below copies a few of
        // them to the stack first (as cheap as the constants of the generated verifier).
        uint256 p;
        assembly ("memory-safe") {
            p := mload(0x40)
            mstore(0x40, add(p, 0x380))
            // -A = (A.x, Q - A.y), and the point at infinity (0, 0) is its own negation.
            mstore(p, calldataload(proof))
            mstore(add(p, 0x20), mod(sub(Q, calldataload(add(proof, 0x20))), Q))
            // B: x_im, x_re, y_im, y_re, as in the proof.
            calldatacopy(add(p, 0x40), add(proof, 0x40), 0x80)
            // C.
            calldatacopy(add(p, 0x240), add(proof, 0xc0), 0x40)
        }
        {
            (uint256 ax, uint256 ay, uint256 bxi, uint256 bxr, uint256 byi, uint256 byr) =
                (_alphaX, _alphaY, _betaXIm, _betaXRe, _betaYIm, _betaYRe);
            assembly ("memory-safe") {
                mstore(add(p, 0x0c0), ax)
                mstore(add(p, 0x0e0), ay)
                mstore(add(p, 0x100), bxi)
                mstore(add(p, 0x120), bxr)
                mstore(add(p, 0x140), byi)
                mstore(add(p, 0x160), byr)
            }
        }
        {
            (uint256 gxi, uint256 gxr, uint256 gyi, uint256 gyr) = (_gammaXIm, _gammaXRe, _gammaYIm, _gammaYRe);
            (uint256 dxi, uint256 dxr, uint256 dyi, uint256 dyr) = (_deltaXIm, _deltaXRe, _deltaYIm, _deltaYRe);
            assembly ("memory-safe") {
                mstore(add(p, 0x1c0), gxi)
                mstore(add(p, 0x1e0), gxr)
                mstore(add(p, 0x200), gyi)
                mstore(add(p, 0x220), gyr)
                mstore(add(p, 0x280), dxi)
                mstore(add(p, 0x2a0), dxr)
                mstore(add(p, 0x2c0), dyi)
                mstore(add(p, 0x2e0), dyr)
            }
        }
        (uint256 ic0x, uint256 ic0y, uint256 ic1x, uint256 ic1y) = (_ic0X, _ic0Y, _ic1X, _ic1Y);
        assembly ("memory-safe") {
            // vk_x = IC0 + input[0] * IC1: ecMul (0x07) into the scratch, then ecAdd (0x06) of that
            // and IC0 into the pairing input.
            let buf := add(p, 0x300)
            mstore(buf, ic1x)
            mstore(add(buf, 0x20), ic1y)
            mstore(add(buf, 0x40), calldataload(input))
            let success := staticcall(gas(), 0x07, buf, 0x60, buf, 0x40)
            mstore(add(buf, 0x40), ic0x)
            mstore(add(buf, 0x60), ic0y)
            success := and(success, staticcall(gas(), 0x06, buf, 0x80, add(p, 0x180), 0x40))
            success := and(success, eq(returndatasize(), 0x40))
            // ecPairing (0x08) writes 1 when the product of the pairings is 1.
            success := and(success, staticcall(gas(), 0x08, p, 0x300, p, 0x20))
            ok := and(success, and(eq(returndatasize(), 0x20), eq(mload(p), 1)))
        }
    }

    /// @dev Whether `(x, y)` (both below {Q}) is on BN254's G1 curve `y² = x³ + 3` or is `(0, 0)`.
    function _onG1(uint256 x, uint256 y) private pure returns (bool) {
        if (x == 0 && y == 0) return true;
        return mulmod(y, y, Q) == addmod(mulmod(mulmod(x, x, Q), x, Q), 3, Q);
    }
}
