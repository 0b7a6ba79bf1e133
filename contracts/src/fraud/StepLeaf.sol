// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice What a batch commits to after every step (docs/fraud-proofs.md §2).
/// @dev `kind` is 1 (queue message), 2 (transaction) or 3 (block marker); 0 only in the initial leaf.
struct StepLeaf {
    uint8 kind;
    uint64 queuePos;
    uint64 dataEnd;
    uint64 wCount;
    bytes32 wRoot;
    bytes32 stateRoot;
}

/// @notice `keccak256(abi.encode(kind, queuePos, dataEnd, wCount, wRoot, stateRoot))`.
function stepLeafHash(StepLeaf memory leaf) pure returns (bytes32) {
    return keccak256(abi.encode(leaf.kind, leaf.queuePos, leaf.dataEnd, leaf.wCount, leaf.wRoot, leaf.stateRoot));
}
