// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title SparseMerkle
/// @notice loft's compact sparse Merkle tree over keccak256 (docs/rollup.md §1.1), the Solidity twin
/// of `crates/state` (Rust). Keys are 256 bits read most significant bit first (0 left, 1 right),
/// an empty subtree hashes to 0, a leaf to `keccak256(0x00 ‖ key ‖ keccak256(value))`, an internal
/// node to `keccak256(left ‖ right)`, and a subtree holding one leaf is that leaf.
/// @dev A proof lists the siblings on the key's path from the root (`siblings[0]`) down to where the
/// path ends: the key's own leaf (`TERMINAL_LEAF`), an empty subtree (`TERMINAL_EMPTY`) or the leaf
/// of another key sharing the path (`TERMINAL_OTHER`, with `otherKey` and `otherValueHash`).
/// Functions take value hashes (`keccak256(value)`), so callers hash each value once.
/// Gas at depth 21 with the proof already in memory (forge, optimizer 200 runs, `test_gas_depth21`
/// in test/SparseMerkle.t.sol): verify 4,130, rootAfterUpdate 3,868, update (both in one pass) 5,939.
library SparseMerkle {
    /// @dev The path ends in the proven key's leaf (inclusion).
    uint8 internal constant TERMINAL_LEAF = 0;
    /// @dev The path ends in an empty subtree (exclusion).
    uint8 internal constant TERMINAL_EMPTY = 1;
    /// @dev The path ends in the leaf of `otherKey` (exclusion).
    uint8 internal constant TERMINAL_OTHER = 2;

    /// @notice A proof for one key (same ABI as the Rust `SolProof`).
    struct Proof {
        bytes32[] siblings;
        uint8 terminal;
        bytes32 otherKey;
        bytes32 otherValueHash;
    }

    /// @notice The proof is malformed (unknown terminal, deeper than 256, or an other-leaf terminal
    /// whose key equals the proven key or does not share its path) or does not match the root.
    error InvalidProof();

    /// @notice `keccak256(0x00 ‖ key ‖ keccak256(value))`.
    function leafHash(bytes32 key, bytes memory value) internal pure returns (bytes32) {
        return leafHashOf(key, keccak256(value));
    }

    /// @notice `keccak256(0x00 ‖ key ‖ valueHash)`.
    function leafHashOf(bytes32 key, bytes32 valueHash) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(add(ptr, 1), key)
            mstore(add(ptr, 33), valueHash)
            mstore8(ptr, 0)
            h := keccak256(ptr, 65)
        }
    }

    /// @notice The root a well-formed proof implies for `key`; `valueHash` is the value's hash for an
    /// inclusion proof and is ignored otherwise. Reverts with `InvalidProof` if malformed.
    function computeRoot(Proof memory proof, bytes32 key, bytes32 valueHash) internal pure returns (bytes32) {
        (bool ok, bytes32 start) = _terminalHash(proof, key, valueHash);
        if (!ok) revert InvalidProof();
        return _hashUp(proof.siblings, key, start);
    }

    /// @notice Whether `proof` shows that `key` has a leaf with value hash `valueHash` (`present`) or
    /// no leaf (`!present`, `valueHash` ignored) in the tree with root `root`. Never reverts.
    function verify(Proof memory proof, bytes32 root, bytes32 key, bool present, bytes32 valueHash)
        internal
        pure
        returns (bool)
    {
        if (present != (proof.terminal == TERMINAL_LEAF)) return false;
        (bool ok, bytes32 start) = _terminalHash(proof, key, valueHash);
        return ok && _hashUp(proof.siblings, key, start) == root;
    }

    /// @notice Whether `proof` shows that `key` has a leaf with value hash `valueHash`.
    function verifyInclusion(Proof memory proof, bytes32 root, bytes32 key, bytes32 valueHash)
        internal
        pure
        returns (bool)
    {
        return verify(proof, root, key, true, valueHash);
    }

    /// @notice Whether `proof` shows that `key` has no leaf.
    function verifyExclusion(Proof memory proof, bytes32 root, bytes32 key) internal pure returns (bool) {
        return verify(proof, root, key, false, bytes32(0));
    }

    /// @notice The root after setting `key` to a value with hash `newValueHash`, for a proof of `key`
    /// that verified against the old root (inclusion or exclusion). Meaningless for a proof that
    /// does not verify.
    function rootAfterUpdate(Proof memory proof, bytes32 key, bytes32 newValueHash) internal pure returns (bytes32) {
        bytes32 node = leafHashOf(key, newValueHash);
        if (proof.terminal == TERMINAL_OTHER && proof.otherKey != key) {
            node = _pair(
                key, node, proof.otherKey, leafHashOf(proof.otherKey, proof.otherValueHash), proof.siblings.length
            );
        }
        return _hashUp(proof.siblings, key, node);
    }

    /// @notice Checks `proof` against `root` for `key` holding `oldValueHash` (`present`) or nothing
    /// (`!present`) and returns the root after setting `key` to `newValueHash`, hashing the path
    /// once for both. Reverts with `InvalidProof` if the proof does not verify.
    function update(
        Proof memory proof,
        bytes32 root,
        bytes32 key,
        bool present,
        bytes32 oldValueHash,
        bytes32 newValueHash
    ) internal pure returns (bytes32 newRoot) {
        if (present != (proof.terminal == TERMINAL_LEAF)) revert InvalidProof();
        (bool ok, bytes32 oldNode) = _terminalHash(proof, key, oldValueHash);
        if (!ok) revert InvalidProof();
        bytes32 newNode = leafHashOf(key, newValueHash);
        bytes32[] memory siblings = proof.siblings;
        if (proof.terminal == TERMINAL_OTHER) {
            newNode = _pair(key, newNode, proof.otherKey, oldNode, siblings.length);
        }
        bytes32 oldRoot;
        assembly ("memory-safe") {
            let data := add(siblings, 0x20)
            for { let i := mload(siblings) } gt(i, 0) {} {
                i := sub(i, 1)
                let sib := mload(add(data, shl(5, i)))
                let b := shl(5, and(shr(sub(255, i), key), 1))
                let nb := xor(b, 0x20)
                mstore(b, oldNode)
                mstore(nb, sib)
                oldNode := keccak256(0x00, 0x40)
                mstore(b, newNode)
                mstore(nb, sib)
                newNode := keccak256(0x00, 0x40)
            }
            oldRoot := oldNode
            newRoot := newNode
        }
        if (oldRoot != root) revert InvalidProof();
    }

    /// @dev The hash the path starts from, and whether the terminal is well formed for `key`.
    function _terminalHash(Proof memory proof, bytes32 key, bytes32 valueHash)
        private
        pure
        returns (bool ok, bytes32 start)
    {
        uint256 depth = proof.siblings.length;
        if (depth > 256) return (false, 0);
        uint8 terminal = proof.terminal;
        if (terminal == TERMINAL_LEAF) return (true, leafHashOf(key, valueHash));
        if (terminal == TERMINAL_EMPTY) return (true, 0);
        if (terminal != TERMINAL_OTHER) return (false, 0);
        bytes32 otherKey = proof.otherKey;
        uint256 firstDiff;
        assembly ("memory-safe") {
            firstDiff := clz(xor(key, otherKey))
        }
        // Equal keys give 256, which is never below the depth of an other-leaf terminal's path.
        if (otherKey == key || firstDiff < depth) return (false, 0);
        return (true, leafHashOf(otherKey, proof.otherValueHash));
    }

    /// @dev Hashes `node` (at depth `siblings.length`) up to the root along `key`'s path.
    function _hashUp(bytes32[] memory siblings, bytes32 key, bytes32 node) private pure returns (bytes32 root) {
        assembly ("memory-safe") {
            let data := add(siblings, 0x20)
            for { let i := mload(siblings) } gt(i, 0) {} {
                i := sub(i, 1)
                // Bit i of the key (most significant first) puts the node right (1) or left (0).
                let b := shl(5, and(shr(sub(255, i), key), 1))
                mstore(b, node)
                mstore(xor(b, 0x20), mload(add(data, shl(5, i))))
                node := keccak256(0x00, 0x40)
            }
            root := node
        }
    }

    /// @dev The subtree at `depth` holding exactly the leaves `leaf` (of `key`) and `otherLeaf` (of
    /// `otherKey`), keys that share their first `depth` bits and differ: their internal node at the
    /// first differing bit `p`, wrapped with empty siblings from depth `p - 1` up to `depth`.
    function _pair(bytes32 key, bytes32 leaf, bytes32 otherKey, bytes32 otherLeaf, uint256 depth)
        private
        pure
        returns (bytes32 node)
    {
        assembly ("memory-safe") {
            let p := clz(xor(key, otherKey))
            if gt(p, 255) { p := 255 }
            let b := shl(5, and(shr(sub(255, p), key), 1))
            mstore(b, leaf)
            mstore(xor(b, 0x20), otherLeaf)
            node := keccak256(0x00, 0x40)
            for { let i := p } gt(i, depth) {} {
                i := sub(i, 1)
                b := shl(5, and(shr(sub(255, i), key), 1))
                mstore(b, node)
                mstore(xor(b, 0x20), 0)
                node := keccak256(0x00, 0x40)
            }
        }
    }
}
