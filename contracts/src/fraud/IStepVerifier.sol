// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {StepLeaf} from "./StepLeaf.sol";

/// @title IStepVerifier
/// @notice Re-executes one step of a batch on L1 (docs/fraud-proofs.md §5.2).
interface IStepVerifier {
    /// @notice What the verifier needs from the batch header (`dataKind`: 0 calldata, 1 blobs).
    struct StepContext {
        bytes32 dataRoot;
        uint64 dataLength;
        uint8 dataKind;
        uint64 queueEnd;
        uint256 baseFee;
    }

    /// @notice Executes the step after `prev` with the witness.
    /// @return valid False when the step must not be in a batch (undecodable, a refused
    ///         transaction, a queue message that does not match L1, beyond `queueEnd`).
    /// @return next The leaf the step leads to (meaningful only when `valid`).
    /// @dev Reverts when the witness itself does not verify (the challenger's mistake).
    function execute(StepContext calldata ctx, StepLeaf calldata prev, bytes calldata witness)
        external
        view
        returns (bool valid, StepLeaf memory next);
}
