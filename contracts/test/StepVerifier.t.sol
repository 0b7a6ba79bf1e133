// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {StepLeaf, stepLeafHash} from "../src/fraud/StepLeaf.sol";
import {IStepVerifier} from "../src/fraud/IStepVerifier.sol";
import {StepVerifier} from "../src/fraud/StepVerifier.sol";

/// @dev The few forge cheatcodes these tests use (forge-std is not available here).
interface Vm {
    function readFile(string calldata path) external view returns (string memory);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonBool(string calldata json, string calldata key) external pure returns (bool);
    function parseJsonAddress(string calldata json, string calldata key) external pure returns (address);
    function parseJsonBytes32(string calldata json, string calldata key) external pure returns (bytes32);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function parseJsonString(string calldata json, string calldata key) external pure returns (string memory);
    function parseJsonBytes32Array(string calldata json, string calldata key) external pure returns (bytes32[] memory);
    function toString(uint256 value) external pure returns (string memory);
}

/// @dev A queue exposing `queueHeadAt` over heads set by the test (the L1MessageQueue hash chain,
/// computed by the Rust generator).
contract TestQueue {
    bytes32[] private heads;

    function setHeads(bytes32[] memory h) external {
        heads = h;
    }

    function queueHeadAt(uint256 count) external view returns (bytes32) {
        require(count < heads.length, "queue index");
        return heads[count];
    }
}

/// @dev Checks StepVerifier against the verdicts and leaves loft-stf computes
/// (testdata/fraud/steps.json, written by crates/fraud/src/vectors.rs).
contract StepVerifierTest {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    address private constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;
    string private constant VECTORS = "../testdata/fraud/steps.json";

    TestQueue private queue;
    StepVerifier private verifier;

    struct Case {
        string name;
        IStepVerifier.StepContext ctx;
        StepLeaf prev;
        bytes witness;
        bool revert_;
        bool valid;
        bytes32 nextHash;
        bytes32[] heads;
    }

    function setUp() public {
        // The file is read in each test, not kept in storage: storing a few MB in setUp costs more
        // gas than a block has.
        string memory json = vm.readFile(VECTORS);
        queue = new TestQueue();
        verifier = new StepVerifier(
            vm.parseJsonUint(json, ".chainId"), vm.parseJsonAddress(json, ".feeRecipient"), address(queue)
        );
    }

    function log(string memory label, uint256 value) internal view {
        (bool ok,) = CONSOLE.staticcall(abi.encodeWithSignature("log(string,uint256)", label, value));
        ok;
    }

    /// @dev Case `i` from its `abi` field: `abi.encode(Case)` (one cheatcode call: parsing the large file is what costs gas here).
    function _load(string memory text, uint256 i) internal returns (Case memory c) {
        bytes memory blob = vm.parseJsonBytes(text, string.concat(".cases[", vm.toString(i), "].abi"));
        c = abi.decode(blob, (Case));
        queue.setHeads(c.heads);
    }

    function test_vectors() public {
        string memory json = vm.readFile(VECTORS);
        uint256 count = vm.parseJsonUint(json, ".count");
        require(count >= 200, "too few vectors");
        uint256 valid;
        uint256 invalid;
        uint256 reverts;
        string memory text = json;
        for (uint256 i = 0; i < count; i++) {
            // Every iteration reuses the same memory: the file is copied into each cheatcode call.
            uint256 free;
            assembly ("memory-safe") {
                free := mload(0x40)
            }
            Case memory c = _load(text, i);
            (bool ok, bytes memory ret) =
                address(verifier).staticcall(abi.encodeCall(verifier.execute, (c.ctx, c.prev, c.witness)));
            if (c.revert_) {
                require(!ok, string.concat(c.name, ": expected a revert"));
                string memory reason =
                    vm.parseJsonString(text, string.concat(".cases[", vm.toString(i), "].revertReason"));
                if (bytes(reason).length != 0) {
                    require(
                        keccak256(ret) == keccak256(abi.encodeWithSelector(StepVerifier.BadWitness.selector, reason)),
                        string.concat(c.name, ": expected BadWitness(\"", reason, "\")")
                    );
                }
                reverts++;
                assembly ("memory-safe") {
                    mstore(0x40, free)
                }
                continue;
            }
            require(ok, string.concat(c.name, ": reverted"));
            (bool v, StepLeaf memory next) = abi.decode(ret, (bool, StepLeaf));
            require(v == c.valid, string.concat(c.name, ": verdict"));
            if (v) {
                require(stepLeafHash(next) == c.nextHash, string.concat(c.name, ": next leaf"));
                valid++;
            } else {
                invalid++;
            }
            assembly ("memory-safe") {
                mstore(0x40, free)
            }
        }
        log("valid", valid);
        log("invalid", invalid);
        log("reverts", reverts);
    }

    /// The worst case: a token withdrawal with four state proofs at depth 30, sixteen non-empty
    /// withdrawal siblings and the step across two chunks of a 100 KiB batch.
    function test_gas_worstCase() public {
        string memory json = vm.readFile(VECTORS);
        uint256 count = vm.parseJsonUint(json, ".count");
        Case memory c = _load(json, count - 1);
        require(keccak256(bytes(c.name)) == keccak256("gas: deep token withdrawal"), "gas case last");
        _measure(c);
    }

    /// The most a blob batch's step costs: a 320-byte (refused) transaction at data offset 126,975,
    /// its bytes over the most elements a step can span, 12 (the last element of blob 0 and 11 of
    /// blob 1), each opened with the point-evaluation precompile (50,000 gas each), and the
    /// sender's account at depth 30. A step that decodes opens only the elements holding it.
    function test_gas_blobWorstCase() public {
        _measureBlob(".blobGasCase", "gas: refused 320-byte transaction (blobs, 12 elements of 2 blobs)", 12, 2);
    }

    /// The calldata worst case's deep token withdrawal (193 bytes) at the same offset: 8 elements.
    function test_gas_blobDeepWithdrawal() public {
        _measureBlob(".blobWithdrawalCase", "gas: deep token withdrawal (blobs, 8 elements of 2 blobs)", 8, 2);
    }

    /// An undecodable step needs its whole window: 12 elements, no state.
    function test_gas_blobUndecodable() public {
        _measureBlob(".blobUndecodableCase", "gas: undecodable step (blobs, 12 elements of 2 blobs)", 12, 2);
    }

    /// A typical step: an ETH transfer (96 bytes, 4 elements of one blob).
    function test_gas_blobTransfer() public {
        _measureBlob(".blobTransferCase", "blob: eth transfer", 4, 1);
    }

    function _measureBlob(string memory key, string memory name, uint256 elementCount, uint256 blobs) internal {
        string memory json = vm.readFile(VECTORS);
        Case memory c = _load(json, vm.parseJsonUint(json, key));
        require(keccak256(bytes(c.name)) == keccak256(bytes(name)), string.concat(key, " is not ", name));
        require(c.ctx.dataKind == 1, "a blob batch");
        (, StepVerifier.BlobElement[] memory elements, bytes32[] memory hashes) =
            abi.decode(c.witness, (StepVerifier.DataChunk[], StepVerifier.BlobElement[], bytes32[]));
        require(elements.length == elementCount && hashes.length == blobs, "elements and blobs");
        log("elements opened", elements.length);
        _measure(c);
    }

    function _measure(Case memory c) internal view {
        bytes memory call = abi.encodeCall(verifier.execute, (c.ctx, c.prev, c.witness));
        uint256 calldataGas;
        for (uint256 i = 0; i < call.length; i++) {
            calldataGas += call[i] == 0 ? 4 : 16;
        }
        uint256 before = gasleft();
        (bool ok, bytes memory ret) = address(verifier).staticcall(call);
        uint256 used = before - gasleft();
        require(ok, "reverted");
        (bool v, StepLeaf memory next) = abi.decode(ret, (bool, StepLeaf));
        require(v == c.valid && (!v || stepLeafHash(next) == c.nextHash), "wrong result");
        log("execution gas", used);
        log("calldata bytes", call.length);
        log("calldata gas", calldataGas);
        log("total (21000 + calldata + execution)", 21_000 + calldataGas + used);
        require(21_000 + calldataGas + used < 1_000_000, "above 1,000,000 gas");
    }
}
