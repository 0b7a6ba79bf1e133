// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {L1Rollup} from "../src/L1Rollup.sol";
import {IStepVerifier} from "../src/fraud/IStepVerifier.sol";
import {StepLeaf, stepLeafHash} from "../src/fraud/StepLeaf.sol";
import {StepVerifier} from "../src/fraud/StepVerifier.sol";

/// @dev The few forge cheatcodes these tests use (forge-std is not available here).
interface BlobVm {
    function deal(address account, uint256 newBalance) external;
    function prank(address msgSender) external;
    function warp(uint256 newTimestamp) external;
    function roll(uint256 newHeight) external;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter) external;
    function readFile(string calldata path) external view returns (string memory);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonAddress(string calldata json, string calldata key) external pure returns (address);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function toString(uint256 value) external pure returns (string memory);
    function getNonce(address account) external view returns (uint64);
    function computeCreateAddress(address deployer, uint256 nonce) external pure returns (address);
    function blobhashes(bytes32[] calldata hashes) external;
}

/// @dev A rollup with the real {StepVerifier} (deployed as `loft_contracts::deploy` does), a bonded
///      sequencer and two queued deposits (the vectors' `queueEnd`), plus measuring helpers.
abstract contract BlobRollupBase {
    BlobVm internal constant vm = BlobVm(address(uint160(uint256(keccak256("hevm cheat code")))));
    address internal constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;
    string internal constant VECTORS = "../testdata/fraud/steps.json";

    address internal constant SEQUENCER = address(0x5E0);
    address internal constant ALICE = address(0xA11CE);
    address internal constant CHALLENGER = address(0xC4A11);
    address internal constant SINK = 0x000000000000000000000000000000000000dEaD;
    uint256 internal constant BOND = 1 ether;
    uint256 internal constant BASE_FEE = 7;
    /// @dev Below the 6 blobs' 761,856 bytes, so {L1Rollup.DataTooLong} can be reached.
    uint64 internal constant MAX_DATA = 700_000;
    uint256 internal constant BLOB_BYTES = 126_976;
    uint64 internal constant START_TIME = 1_700_000_000;

    /// @dev One vector, as `abi.encode`d in its `abi` field (see StepVerifier.t.sol).
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

    L1Rollup internal rollup;
    StepVerifier internal verifier;

    function log(string memory label, uint256 value) internal view {
        (bool ok,) = CONSOLE.staticcall(abi.encodeWithSignature("log(string,uint256)", label, value));
        ok;
    }

    function deploy(string memory json, bytes32 genesis) internal {
        vm.roll(19_000_000);
        vm.warp(START_TIME);
        uint256 nonce = vm.getNonce(address(this));
        address rollupAt = vm.computeCreateAddress(address(this), nonce + 1);
        address bridgeAt = vm.computeCreateAddress(rollupAt, 1);
        verifier =
            new StepVerifier(vm.parseJsonUint(json, ".chainId"), vm.parseJsonAddress(json, ".feeRecipient"), bridgeAt);
        rollup = new L1Rollup(
            L1Rollup.RollupParams({
                sequencer: SEQUENCER,
                challengePeriod: 1 days,
                genesisStateRoot: genesis,
                bondWei: BOND,
                challengerShareBps: 5000,
                slashSink: SINK,
                responseWindow: 1 hours,
                maxBatchData: MAX_DATA,
                stepVerifier: address(verifier),
                exodusDelay: 3 days,
                sequencerBid: BASE_FEE,
                epochSecs: 1 days,
                livenessWindow: 6 hours,
                forceInclusionDelay: 12 hours,
                kickSlashBps: 5000
            })
        );
        require(address(rollup.bridge()) == bridgeAt, "deployment addresses");
        vm.deal(SEQUENCER, 10 ether);
        vm.deal(ALICE, 10 ether);
        vm.deal(CHALLENGER, 10 ether);
        vm.prank(SEQUENCER);
        rollup.depositBond{value: BOND}();
        for (uint256 k = 0; k < 2; k++) {
            vm.prank(ALICE);
            rollup.bridge().depositETH{value: 1 ether}(ALICE);
        }
    }

    function input(bytes32 stateRoot, bytes32 wRoot, bytes32 stepsRoot, uint64 stepCount)
        internal
        view
        returns (L1Rollup.BatchInput memory)
    {
        uint64 first = rollup.lastBlock() + 1;
        return L1Rollup.BatchInput({
            stateRoot: stateRoot,
            withdrawalRoot: wRoot,
            stepsRoot: stepsRoot,
            queueEnd: 2,
            firstBlock: first,
            lastBlock: first,
            stepCount: stepCount,
            baseFee: BASE_FEE
        });
    }

    /// @dev The header `submitBatchBlobs(inp, dataLength)` with blobs `hashes` records now.
    function blobHeader(L1Rollup.BatchInput memory inp, uint64 dataLength, bytes32[] memory hashes)
        internal
        view
        returns (L1Rollup.BatchHeader memory h)
    {
        L1Rollup.BatchTip memory tip = rollup.lastBatch();
        h = L1Rollup.BatchHeader({
            index: tip.batchCount,
            parentHash: tip.headerHash,
            prevStateRoot: tip.stateRoot,
            stateRoot: inp.stateRoot,
            withdrawalRoot: inp.withdrawalRoot,
            stepsRoot: inp.stepsRoot,
            dataRoot: keccak256(abi.encodePacked(hashes)),
            dataLength: dataLength,
            dataKind: 1,
            queueStart: tip.queueEnd,
            queueEnd: inp.queueEnd,
            queueHead: rollup.bridge().queueHeadAt(inp.queueEnd),
            firstBlock: inp.firstBlock,
            lastBlock: inp.lastBlock,
            stepCount: inp.stepCount,
            postedAt: uint64(block.timestamp),
            poster: SEQUENCER,
            baseFee: inp.baseFee
        });
    }

    /// @dev Posts a blob batch as the sequencer and checks the recorded header hash.
    function postBlobs(L1Rollup.BatchInput memory inp, uint64 dataLength, bytes32[] memory hashes)
        internal
        returns (L1Rollup.BatchHeader memory h)
    {
        h = blobHeader(inp, dataLength, hashes);
        vm.blobhashes(hashes);
        vm.prank(SEQUENCER);
        uint64 index = rollup.submitBatchBlobs(inp, dataLength);
        require(index == h.index, "index");
        require(rollup.batchHeaderHash(index) == keccak256(abi.encode(h)), "header hash");
    }

    /// @dev Gas the call with `callData` consumes, reverting with the callee's error if it fails.
    function measure(address target, bytes memory callData) internal returns (uint256 used) {
        bool ok;
        uint256 g = gasleft();
        assembly ("memory-safe") {
            ok := call(gas(), target, 0, add(callData, 0x20), mload(callData), 0, 0)
        }
        used = g - gasleft();
        if (!ok) {
            assembly ("memory-safe") {
                returndatacopy(0, 0, returndatasize())
                revert(0, returndatasize())
            }
        }
    }

    /// @dev Logs the execution gas of a call with `callData`, its calldata gas and the total.
    function report(string memory label, bytes memory callData, uint256 execution) internal view {
        uint256 zeros = 0;
        for (uint256 i = 0; i < callData.length; i++) {
            if (callData[i] == 0) zeros++;
        }
        uint256 calldataGas = 4 * zeros + 16 * (callData.length - zeros);
        log(string.concat(label, ": execution gas"), execution);
        log(string.concat(label, ": calldata bytes"), callData.length);
        log(string.concat(label, ": calldata gas (4 per zero byte, 16 per other)"), calldataGas);
        log(string.concat(label, ": total (21,000 + calldata + execution)"), 21_000 + calldataGas + execution);
    }

    function fakeHashes(uint256 n) internal pure returns (bytes32[] memory hashes) {
        hashes = new bytes32[](n);
        for (uint256 j = 0; j < n; j++) {
            // A KZG versioned hash: version byte 0x01, then 31 bytes.
            hashes[j] = bytes32((uint256(1) << 248) | uint256(keccak256(abi.encode("blob", j))) >> 8);
        }
    }
}

/// @dev `submitBatchBlobs`: the header it records and its refusals.
contract L1RollupBlobsTest is BlobRollupBase {
    function setUp() public {
        deploy(vm.readFile(VECTORS), keccak256("genesis"));
    }

    function test_SubmitBatchBlobs() public {
        bytes32[] memory hashes = fakeHashes(2);
        L1Rollup.BatchInput memory inp = input(keccak256("s1"), keccak256("w1"), keccak256("steps"), 3);
        L1Rollup.BatchHeader memory h = blobHeader(inp, uint64(BLOB_BYTES + 1), hashes);
        require(h.dataKind == 1 && h.dataRoot == keccak256(abi.encode(hashes[0], hashes[1])), "expected header");
        vm.expectEmit(true, true, false, true, address(rollup));
        emit L1Rollup.BatchSubmitted(0, keccak256(abi.encode(h)), h);
        postBlobs(inp, uint64(BLOB_BYTES + 1), hashes);
        // The next batch, in one blob exactly full, extends it.
        inp = input(keccak256("s2"), keccak256("w2"), keccak256("steps2"), 1);
        h = postBlobs(inp, uint64(BLOB_BYTES), fakeHashes(1));
        require(h.index == 1 && rollup.batchCount() == 2, "two batches");
    }

    function test_CalldataBatchHasDataKindZero() public {
        L1Rollup.BatchInput memory inp = input(keccak256("s1"), keccak256("w1"), keccak256("steps"), 3);
        L1Rollup.BatchHeader memory h = blobHeader(inp, 3, new bytes32[](0));
        h.dataRoot = keccak256(hex"01aabb");
        h.dataKind = 0;
        vm.prank(SEQUENCER);
        rollup.submitBatch(inp, hex"01aabb");
        require(rollup.batchHeaderHash(0) == keccak256(abi.encode(h)), "calldata header");
    }

    function test_RevertWhen_NoBlobs() public {
        L1Rollup.BatchInput memory inp = input(keccak256("s1"), keccak256("w1"), keccak256("steps"), 3);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NoBlobs.selector));
        vm.prank(SEQUENCER);
        rollup.submitBatchBlobs(inp, 100);
    }

    function test_RevertWhen_BlobDataLength() public {
        L1Rollup.BatchInput memory inp = input(keccak256("s1"), keccak256("w1"), keccak256("steps"), 3);
        vm.blobhashes(fakeHashes(2));
        // One blob would do: the second carries no data.
        uint64 short = uint64(BLOB_BYTES);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.BlobDataLength.selector, short, 2));
        vm.prank(SEQUENCER);
        rollup.submitBatchBlobs(inp, short);
        // More than two blobs hold.
        uint64 long = uint64(2 * BLOB_BYTES + 1);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.BlobDataLength.selector, long, 2));
        vm.prank(SEQUENCER);
        rollup.submitBatchBlobs(inp, long);
        // Exactly two blobs full is fine.
        vm.prank(SEQUENCER);
        rollup.submitBatchBlobs(inp, uint64(2 * BLOB_BYTES));
    }

    function test_RevertWhen_BlobDataEmptyOrTooLong() public {
        L1Rollup.BatchInput memory inp = input(keccak256("s1"), keccak256("w1"), keccak256("steps"), 3);
        vm.blobhashes(fakeHashes(6));
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.EmptyData.selector));
        vm.prank(SEQUENCER);
        rollup.submitBatchBlobs(inp, 0);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.DataTooLong.selector, MAX_DATA + 1, MAX_DATA));
        vm.prank(SEQUENCER);
        rollup.submitBatchBlobs(inp, MAX_DATA + 1);
    }

    function test_RevertWhen_BlobsFromAnotherAccount() public {
        L1Rollup.BatchInput memory inp = input(keccak256("s1"), keccak256("w1"), keccak256("steps"), 3);
        vm.blobhashes(fakeHashes(1));
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotActiveOperator.selector, ALICE, SEQUENCER));
        vm.prank(ALICE);
        rollup.submitBatchBlobs(inp, 100);
    }

    /// Execution gas of `submitBatchBlobs` (first batch, cold storage as on L1).
    function test_GasSubmitBatchBlobs1() public {
        gasSubmit(1);
    }

    function test_GasSubmitBatchBlobs6() public {
        gasSubmit(6);
    }

    function gasSubmit(uint256 n) internal {
        L1Rollup.BatchInput memory inp = input(keccak256("s1"), keccak256("w1"), keccak256("steps"), 3);
        uint64 length = uint64(n * BLOB_BYTES);
        if (length > MAX_DATA) length = MAX_DATA;
        vm.blobhashes(fakeHashes(n));
        bytes memory cd = abi.encodeCall(L1Rollup.submitBatchBlobs, (inp, length));
        vm.prank(SEQUENCER);
        uint256 used = measure(address(rollup), cd);
        report(string.concat("submitBatchBlobs, ", vm.toString(n), " blob(s)"), cd, used);
        require(rollup.batchCount() == 1, "posted");
    }
}

/// @dev Fraud proofs against a blob batch through {L1Rollup.proveStep} with the real
///      {StepVerifier} and real KZG openings, on vectors of testdata/fraud/steps.json
///      (crates/fraud/src/vectors.rs): `blobGasCase`, the most a blob step proof costs (a refused
///      320-byte transaction at data offset 126,975: 12 elements, the last one of blob 0 and 11 of
///      blob 1, the most a step can read), `blobWithdrawalCase` (the calldata worst case's deep
///      token withdrawal at the same offset: its 193 bytes over 8 elements) and `blobTransferCase`
///      (a typical ETH transfer: 4 elements). `prepare` posts a blob batch with the vector's
///      versioned hashes and data length, and a step tree of 65,536 leaves (depth 16) holding the
///      vector's previous leaf at `STEP - 1` and a wrong next leaf (a state root the step does not
///      give; any leaf, for a step that must be refused) at `STEP`; each case's contract does so
///      in `setUp`, so the measured call finds the rollup's storage cold as a transaction of its
///      own would. Print the gas with `scripts/test-contracts.sh -vv --match-contract
///      L1RollupBlobFraud`.
abstract contract BlobFraudBase is BlobRollupBase {
    string internal constant WORST_CASE = "gas: refused 320-byte transaction (blobs, 12 elements of 2 blobs)";
    string internal constant WITHDRAWAL_CASE = "gas: deep token withdrawal (blobs, 8 elements of 2 blobs)";
    string internal constant TRANSFER_CASE = "blob: eth transfer";
    uint64 internal constant STEP = 40_001;
    uint64 internal constant STEPS = 65_536;
    uint256 internal constant DEPTH = 16;

    Case internal c;
    bytes32[] internal hashes;
    StepLeaf internal wrongLeaf;
    StepLeaf internal rightLeaf;
    L1Rollup.BatchHeader internal lying;
    bytes32[] internal prevProof;
    bytes32[] internal leafProof;

    /// @dev Deploys, loads the blob vector at index `key` of the file (checked to be `name`) and posts a
    ///      batch committing a wrong leaf after its previous leaf.
    function prepare(string memory key, string memory name) internal {
        string memory json = vm.readFile(VECTORS);
        deploy(json, keccak256("genesis"));
        uint256 index = vm.parseJsonUint(json, key);
        Case memory v =
            abi.decode(vm.parseJsonBytes(json, string.concat(".cases[", vm.toString(index), "].abi")), (Case));
        require(keccak256(bytes(v.name)) == keccak256(bytes(name)), string.concat(key, " is not ", name));
        require(v.ctx.dataKind == 1 && !v.revert_, "a step of a blob batch with its witness");
        c = v;
        (,, bytes32[] memory hs) =
            abi.decode(v.witness, (StepVerifier.DataChunk[], StepVerifier.BlobElement[], bytes32[]));
        hashes = hs;
        require(keccak256(abi.encodePacked(hs)) == v.ctx.dataRoot, "hashes of the vector");
        (bool valid, StepLeaf memory next) = verifier.execute(v.ctx, v.prev, v.witness);
        require(valid == v.valid && (!valid || stepLeafHash(next) == v.nextHash), "the vector's verdict");
        rightLeaf = next;
        wrongLeaf = next;
        wrongLeaf.stateRoot = keccak256("a state root the step does not give");
        lying = post(wrongLeaf);
        vm.warp(block.timestamp + 60);
    }

    /// @dev Posts a blob batch committing `c.prev` at `STEP - 1` and `leaf` at `STEP`; sets the proofs.
    function post(StepLeaf memory leaf) internal returns (L1Rollup.BatchHeader memory h) {
        bytes32 prevHash = stepLeafHash(c.prev);
        bytes32 leafHash = stepLeafHash(leaf);
        bytes32[] memory pp = new bytes32[](DEPTH);
        bytes32[] memory lp = new bytes32[](DEPTH);
        // STEP is odd: the two leaves are siblings; every other leaf is zero.
        bytes32 node = keccak256(abi.encodePacked(prevHash, leafHash));
        pp[0] = leafHash;
        lp[0] = prevHash;
        bytes32 zero = 0;
        for (uint256 d = 1; d < DEPTH; d++) {
            zero = keccak256(abi.encodePacked(zero, zero));
            pp[d] = zero;
            lp[d] = zero;
            node = (STEP >> d) & 1 == 1
                ? keccak256(abi.encodePacked(zero, node))
                : keccak256(abi.encodePacked(node, zero));
        }
        prevProof = pp;
        leafProof = lp;
        L1Rollup.BatchInput memory inp = input(leaf.stateRoot, leaf.wRoot, node, STEPS);
        h = postBlobs(inp, c.ctx.dataLength, hashes);
    }

    function proveCall(L1Rollup.BatchHeader memory h, StepLeaf memory leaf, bytes memory witness)
        internal
        view
        returns (bytes memory)
    {
        return abi.encodeCall(L1Rollup.proveStep, (h, STEP, c.prev, prevProof, leaf, leafProof, witness));
    }

    function proveAndReport(string memory label) internal {
        bytes memory cd = proveCall(lying, wrongLeaf, c.witness);
        uint256 before = CHALLENGER.balance;
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.BatchesReverted(0, 1, SEQUENCER, CHALLENGER, BOND, BOND / 2);
        vm.prank(CHALLENGER);
        uint256 used = measure(address(rollup), cd);
        report(label, cd, used);
        require(rollup.batchCount() == 0 && rollup.barred(SEQUENCER), "batch reverted, poster barred");
        require(CHALLENGER.balance == before + BOND / 2, "challenger paid");
        require(21_000 + used + cd.length * 16 < 1_000_000, "above 1,000,000 gas");
    }
}

/// @dev The worst case of a blob batch's step proof (`blobGasCase`).
contract L1RollupBlobFraudTest is BlobFraudBase {
    function setUp() public {
        prepare(".blobGasCase", WORST_CASE);
    }

    /// The goal (docs/fraud-proofs.md §1) is at most 1,000,000 gas for the whole transaction.
    function test_GasProveStepBlobsWorstCase() public {
        proveAndReport("proveStep, blob batch, refused 320-byte transaction over 12 elements of 2 blobs (depth 16)");
    }
}

/// @dev A typical step: an ETH transfer (96 bytes) over 4 elements of one blob (`blobTransferCase`).
contract L1RollupBlobFraudTransferTest is BlobFraudBase {
    function setUp() public {
        prepare(".blobTransferCase", TRANSFER_CASE);
    }

    function test_GasProveStepBlobsTransfer() public {
        proveAndReport("proveStep, blob batch, ETH transfer over 4 elements of 1 blob (depth 16)");
    }
}

/// @dev The deep token withdrawal (the calldata worst case's step) in a blob batch: 8 elements
///      (`blobWithdrawalCase`).
contract L1RollupBlobFraudWithdrawalTest is BlobFraudBase {
    function setUp() public {
        prepare(".blobWithdrawalCase", WITHDRAWAL_CASE);
    }

    function test_GasProveStepBlobsDeepWithdrawal() public {
        proveAndReport("proveStep, blob batch, deep token withdrawal over 8 elements of 2 blobs (depth 16)");
    }

    function test_RevertWhen_BlobStepNotFraud() public {
        // A second batch committing the leaf the step really gives.
        L1Rollup.BatchHeader memory honest = post(rightLeaf);
        bytes memory cd = proveCall(honest, rightLeaf, c.witness);
        vm.prank(CHALLENGER);
        (bool ok, bytes memory ret) = address(rollup).call(cd);
        require(!ok && keccak256(ret) == keccak256(abi.encodeWithSelector(L1Rollup.NotFraud.selector)), "NotFraud");
    }

    function test_RevertWhen_BlobWitnessTampered() public {
        // One byte of the first element's value changed: the precompile refuses the opening.
        (
            StepVerifier.DataChunk[] memory chunks,
            StepVerifier.BlobElement[] memory elements,
            bytes32[] memory hs,
            StepVerifier.QueueMessage memory m,
            StepVerifier.StateAccess[] memory writes,
            StepVerifier.StateAccess[] memory reads,
            bytes32[16] memory ws
        ) = abi.decode(
            c.witness,
            (
                StepVerifier.DataChunk[],
                StepVerifier.BlobElement[],
                bytes32[],
                StepVerifier.QueueMessage,
                StepVerifier.StateAccess[],
                StepVerifier.StateAccess[],
                bytes32[16]
            )
        );
        elements[0].y = bytes32(uint256(elements[0].y) ^ 1);
        bytes memory bad = abi.encode(chunks, elements, hs, m, writes, reads, ws);
        vm.expectRevert(abi.encodeWithSelector(StepVerifier.BadWitness.selector, "element proof"));
        vm.prank(CHALLENGER);
        rollup.proveStep(lying, STEP, c.prev, prevProof, wrongLeaf, leafProof, bad);
        // The last element dropped: the withdrawal does not decode from the 7 left, and a step
        // that does not decode needs its whole window.
        elements[0].y = bytes32(uint256(elements[0].y) ^ 1);
        assembly ("memory-safe") {
            mstore(elements, 7)
        }
        bad = abi.encode(chunks, elements, hs, m, writes, reads, ws);
        vm.expectRevert(abi.encodeWithSelector(StepVerifier.BadWitness.selector, "short window"));
        vm.prank(CHALLENGER);
        rollup.proveStep(lying, STEP, c.prev, prevProof, wrongLeaf, leafProof, bad);
    }
}
