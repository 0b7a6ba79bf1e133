// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title IZkVerifier
/// @notice A Groth16 verifier over BN254 with one public input (`docs/zk-rollup.md` §4.3, §5): the
///         one {ZkRollup} asks about every batch. loft generates the real one from the circuit's
///         verifying key.
interface IZkVerifier {
    /// @notice Whether `proof` is a valid proof for the public input `input[0]`.
    /// @dev A verifier may return false or revert for a proof it does not accept; {ZkRollup} treats
    ///      both (and any answer other than an ABI-encoded `true`) as a rejection.
    /// @param proof `[A.x, A.y, B.x_im, B.x_re, B.y_im, B.y_re, C.x, C.y]`, the order the
    ///        `ecPairing` precompile reads G2 coordinates.
    /// @param input The public input `pi`, below `2^253`.
    /// @return True when the proof verifies.
    function verifyProof(uint256[8] calldata proof, uint256[1] calldata input) external view returns (bool);
}
