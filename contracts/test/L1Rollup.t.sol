// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {L1Bridge} from "../src/L1Bridge.sol";
import {L1Rollup} from "../src/L1Rollup.sol";
import {DevToken} from "../src/dev/DevToken.sol";
import {IStepVerifier} from "../src/fraud/IStepVerifier.sol";
import {StepLeaf, stepLeafHash} from "../src/fraud/StepLeaf.sol";
import {StepVerifier} from "../src/fraud/StepVerifier.sol";

/// @dev The L2 base fee the test batches claim (the vectors' base fee, crates/fraud/src/vectors.rs).
uint256 constant BASE_FEE_WEI = 7;

/// @dev The few forge cheatcodes these tests use (forge-std is not available here).
interface Vm {
    function deal(address account, uint256 newBalance) external;
    function prank(address msgSender) external;
    function warp(uint256 newTimestamp) external;
    function roll(uint256 newHeight) external;
    function assume(bool condition) external pure;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter) external;
    function readFile(string calldata path) external view returns (string memory);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonAddress(string calldata json, string calldata key) external pure returns (address);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function toString(uint256 value) external pure returns (string memory);
    function getNonce(address account) external view returns (uint64);
    function computeCreateAddress(address deployer, uint256 nonce) external pure returns (address);
}

/// @dev A stand-in for the real step verifier: answers whatever (valid, next) it was told to, after
///      checking it was given the batch's context and the previous leaf.
contract TestVerifier is IStepVerifier {
    bool public valid;
    StepLeaf public next;
    bytes32 public expectCtx;
    bytes32 public expectPrev;

    function set(bool valid_, StepLeaf memory next_) external {
        valid = valid_;
        next = next_;
    }

    function expectInputs(StepContext memory ctx, StepLeaf memory prev) external {
        expectCtx = keccak256(abi.encode(ctx));
        expectPrev = stepLeafHash(prev);
    }

    function execute(StepContext calldata ctx, StepLeaf calldata prev, bytes calldata witness)
        external
        view
        returns (bool, StepLeaf memory)
    {
        require(keccak256(abi.encode(ctx)) == expectCtx, "ctx");
        require(stepLeafHash(prev) == expectPrev, "prev");
        require(keccak256(witness) == keccak256("witness"), "witness");
        return (valid, next);
    }
}

/// @dev An L1 recipient that tries to claim the same withdrawal again while being paid.
contract ReclaimingRecipient {
    L1Rollup private immutable rollup;
    uint64 private batchIndex;
    L1Rollup.Withdrawal private withdrawal;
    uint256 private index;
    bytes32[16] private siblings;

    constructor(L1Rollup rollup_) {
        rollup = rollup_;
    }

    function arm(uint64 batchIndex_, L1Rollup.Withdrawal memory w, uint256 index_, bytes32[16] memory siblings_)
        external
    {
        batchIndex = batchIndex_;
        withdrawal = w;
        index = index_;
        siblings = siblings_;
    }

    receive() external payable {
        rollup.claimWithdrawal(batchIndex, withdrawal, index, siblings);
    }
}

/// @dev A challenger contract that refuses ETH (its reward payout fails).
contract RefusingChallenger {
    function proveLastLeaf(L1Rollup rollup, L1Rollup.BatchHeader memory h, StepLeaf memory leaf, bytes32[] memory proof)
        external
    {
        rollup.proveLastLeaf(h, leaf, proof);
    }
}

contract L1RollupTest {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    /// @dev ds-test style log, printed by `forge test -vv`.
    event log_named_uint(string key, uint256 val);

    address private constant SEQUENCER = address(0x5E0);
    address private constant ALICE = address(0xA11CE);
    address private constant BOB = address(0xB0B);
    address private constant CAROL = address(0xCA401);
    address private constant CHALLENGER = address(0xC4A11);
    address private constant DAVE = address(0xDA7E);
    address private constant SINK = 0x000000000000000000000000000000000000dEaD;
    uint64 private constant PERIOD = 1 days;
    uint64 private constant WINDOW = 1 hours;
    uint64 private constant EXODUS = 3 days;
    uint64 private constant EPOCH = 1 days;
    uint64 private constant LIVENESS = 6 hours;
    uint64 private constant FORCE_DELAY = 12 hours;
    uint16 private constant KICK_BPS = 5000;
    uint256 private constant BOND = 1 ether;
    uint16 private constant SHARE_BPS = 5000;
    uint64 private constant MAX_DATA = 110_000;
    bytes32 private constant GENESIS = keccak256("genesis");
    uint64 private constant START_TIME = 1_700_000_000;

    uint8 private constant QUEUE = 1;
    uint8 private constant TX = 2;
    uint8 private constant BLOCK = 3;

    L1Rollup private rollup;
    L1Bridge private bridge;
    DevToken private token;
    TestVerifier private verifier;

    /// @dev The tip this test expects, tracked independently of the contract.
    bytes32 private lastHash;
    bytes32 private lastRoot;
    uint64 private lastQueueEnd;
    uint64 private lastL2Block;
    uint64 private count;

    function setUp() public {
        vm.roll(19_000_000);
        vm.warp(START_TIME);
        verifier = new TestVerifier();
        rollup = new L1Rollup(params(address(verifier)));
        bridge = rollup.bridge();
        token = new DevToken("Dev", "DEV", 18);
        lastRoot = GENESIS;
        vm.deal(ALICE, 1_000 ether);
        vm.deal(SEQUENCER, 100 ether);
        vm.deal(CHALLENGER, 10 ether);
        vm.prank(SEQUENCER);
        rollup.depositBond{value: BOND}();
    }

    function params(address stepVerifier) internal pure returns (L1Rollup.RollupParams memory) {
        return L1Rollup.RollupParams({
            sequencer: SEQUENCER,
            challengePeriod: PERIOD,
            genesisStateRoot: GENESIS,
            bondWei: BOND,
            challengerShareBps: SHARE_BPS,
            slashSink: SINK,
            responseWindow: WINDOW,
            maxBatchData: MAX_DATA,
            stepVerifier: stepVerifier,
            exodusDelay: EXODUS,
            sequencerBid: BASE_FEE_WEI,
            epochSecs: EPOCH,
            livenessWindow: LIVENESS,
            forceInclusionDelay: FORCE_DELAY,
            kickSlashBps: KICK_BPS
        });
    }

    // ---------------------------------------------------------------- assertions

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": uint mismatch"));
    }

    function assertEq(bytes32 a, bytes32 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": bytes32 mismatch"));
    }

    function assertEq(address a, address b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": address mismatch"));
    }

    function assertTrue(bool b, string memory what) internal pure {
        if (!b) revert(what);
    }

    // ---------------------------------------------------------------- reference Merkle code

    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(a, b));
    }

    /// @dev Positional root over `leaves` padded with zero leaves to a power of two (plainly: the
    ///      whole padded tree is built).
    function paddedRoot(bytes32[] memory leaves) internal pure returns (bytes32) {
        uint256 width = 1;
        while (width < leaves.length) width *= 2;
        bytes32[] memory level = new bytes32[](width);
        for (uint256 i = 0; i < leaves.length; i++) {
            level[i] = leaves[i];
        }
        while (width > 1) {
            width /= 2;
            for (uint256 i = 0; i < width; i++) {
                level[i] = hashPair(level[2 * i], level[2 * i + 1]);
            }
        }
        return level[0];
    }

    /// @dev Path of leaf `index` in the padded tree, from the leaf up.
    function paddedProof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[] memory proof) {
        uint256 width = 1;
        uint256 depth = 0;
        while (width < leaves.length) {
            width *= 2;
            depth++;
        }
        bytes32[] memory level = new bytes32[](width);
        for (uint256 i = 0; i < leaves.length; i++) {
            level[i] = leaves[i];
        }
        proof = new bytes32[](depth);
        for (uint256 d = 0; d < depth; d++) {
            proof[d] = level[index ^ 1];
            width /= 2;
            for (uint256 i = 0; i < width; i++) {
                level[i] = hashPair(level[2 * i], level[2 * i + 1]);
            }
            index /= 2;
        }
    }

    /// @dev docs/fraud-proofs.md §3, computed plainly: 1,024-byte chunks, keccak each, padded root.
    function refDataRoot(bytes memory data) internal pure returns (bytes32) {
        uint256 n = (data.length + 1023) / 1024;
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 c = 0; c < n; c++) {
            uint256 start = c * 1024;
            uint256 end = start + 1024 < data.length ? start + 1024 : data.length;
            bytes memory chunk = new bytes(end - start);
            for (uint256 k = start; k < end; k++) {
                chunk[k - start] = data[k];
            }
            leaves[c] = keccak256(chunk);
        }
        return paddedRoot(leaves);
    }

    function zeroHashes() internal pure returns (bytes32[17] memory z) {
        for (uint256 k = 1; k <= 16; k++) {
            z[k] = hashPair(z[k - 1], z[k - 1]);
        }
    }

    /// @dev Root of the depth-16 positional withdrawal tree with `leaves` at 0 .. n-1.
    function wRoot(bytes32[] memory leaves) internal pure returns (bytes32) {
        (bytes32 root,) = wTree(leaves, 0);
        return root;
    }

    /// @dev Root and the 16 siblings of slot `index` (docs/fraud-proofs.md §4).
    function wTree(bytes32[] memory leaves, uint256 index)
        internal
        pure
        returns (bytes32 root, bytes32[16] memory siblings)
    {
        bytes32[17] memory z = zeroHashes();
        bytes32[] memory level = leaves;
        for (uint256 k = 0; k < 16; k++) {
            uint256 m = level.length;
            siblings[k] = (index ^ 1) < m ? level[index ^ 1] : z[k];
            bytes32[] memory next = new bytes32[]((m + 1) / 2);
            for (uint256 j = 0; j < next.length; j++) {
                next[j] = hashPair(level[2 * j], 2 * j + 1 < m ? level[2 * j + 1] : z[k]);
            }
            level = next;
            index /= 2;
        }
        root = level.length == 0 ? z[16] : level[0];
    }

    // ---------------------------------------------------------------- batch helpers

    function depositEth(uint256 amount) internal {
        vm.prank(ALICE);
        bridge.depositETH{value: amount}(BOB);
    }

    function depositToken(uint256 amount) internal {
        token.mint(ALICE, amount);
        vm.prank(ALICE);
        token.approve(address(bridge), amount);
        vm.prank(ALICE);
        bridge.depositERC20(address(token), BOB, amount);
    }

    function input(bytes32 stateRoot, bytes32 withdrawalRoot, uint64 queueEnd, uint64 blocks)
        internal
        view
        returns (L1Rollup.BatchInput memory)
    {
        return L1Rollup.BatchInput({
            stateRoot: stateRoot,
            withdrawalRoot: withdrawalRoot,
            stepsRoot: keccak256(abi.encode("steps", stateRoot)),
            queueEnd: queueEnd,
            firstBlock: lastL2Block + 1,
            lastBlock: lastL2Block + blocks,
            stepCount: 3,
            baseFee: BASE_FEE_WEI
        });
    }

    /// @dev The header L1 must derive for `input` submitted now by the sequencer.
    function expectedHeader(L1Rollup.BatchInput memory inp, bytes memory data)
        internal
        view
        returns (L1Rollup.BatchHeader memory)
    {
        return expectedHeader(inp, data, SEQUENCER);
    }

    /// @dev The header L1 must derive for `input` submitted now by `poster`.
    function expectedHeader(L1Rollup.BatchInput memory inp, bytes memory data, address poster)
        internal
        view
        returns (L1Rollup.BatchHeader memory)
    {
        return L1Rollup.BatchHeader({
            index: count,
            parentHash: lastHash,
            prevStateRoot: lastRoot,
            stateRoot: inp.stateRoot,
            withdrawalRoot: inp.withdrawalRoot,
            stepsRoot: inp.stepsRoot,
            dataRoot: refDataRoot(data),
            dataLength: uint64(data.length),
            dataKind: 0,
            queueStart: lastQueueEnd,
            queueEnd: inp.queueEnd,
            queueHead: bridge.queueHeadAt(inp.queueEnd),
            firstBlock: inp.firstBlock,
            lastBlock: inp.lastBlock,
            stepCount: inp.stepCount,
            postedAt: uint64(block.timestamp),
            poster: poster,
            baseFee: BASE_FEE_WEI
        });
    }

    /// @dev Submits as the sequencer, checking the event and every view against the expected header.
    function submit(L1Rollup.BatchInput memory inp, bytes memory data)
        internal
        returns (L1Rollup.BatchHeader memory header)
    {
        return submitAs(SEQUENCER, inp, data);
    }

    /// @dev Submits as `poster`, checking the event and every view against the expected header.
    function submitAs(address poster, L1Rollup.BatchInput memory inp, bytes memory data)
        internal
        returns (L1Rollup.BatchHeader memory header)
    {
        header = expectedHeader(inp, data, poster);
        bytes32 hash = keccak256(abi.encode(header));
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.BatchSubmitted(count, hash, header);
        vm.prank(poster);
        uint64 index = rollup.submitBatch(inp, data);
        assertEq(index, count, "index");

        count++;
        lastHash = hash;
        lastRoot = inp.stateRoot;
        lastQueueEnd = inp.queueEnd;
        lastL2Block = inp.lastBlock;
        checkViews(index, header);
    }

    function checkViews(uint64 index, L1Rollup.BatchHeader memory header) internal view {
        assertEq(rollup.batchCount(), count, "batchCount");
        assertEq(rollup.batchHeaderHash(index), keccak256(abi.encode(header)), "batchHeaderHash");
        checkTip();
        L1Rollup.BatchRecord memory record = rollup.batch(index);
        assertEq(record.headerHash, keccak256(abi.encode(header)), "record.headerHash");
        assertEq(record.stateRoot, header.stateRoot, "record.stateRoot");
        assertEq(record.withdrawalRoot, header.withdrawalRoot, "record.withdrawalRoot");
        assertEq(record.postedAt, header.postedAt, "record.postedAt");
        assertEq(record.poster, header.poster, "record.poster");
        assertEq(record.openRequests, 0, "record.openRequests");
        assertEq(rollup.finalizedAt(index), header.postedAt + PERIOD, "finalizedAt");
        assertEq(rollup.dataRoot(new bytes(0)), bytes32(0), "no chunks");
    }

    function checkTip() internal view {
        assertEq(rollup.batchCount(), count, "batchCount");
        assertEq(rollup.lastStateRoot(), lastRoot, "lastStateRoot");
        assertEq(rollup.queueEnd(), lastQueueEnd, "queueEnd");
        assertEq(rollup.lastBlock(), lastL2Block, "lastBlock");
        L1Rollup.BatchTip memory tip = rollup.lastBatch();
        assertEq(tip.batchCount, count, "tip.batchCount");
        assertEq(tip.headerHash, lastHash, "tip.headerHash");
        assertEq(tip.stateRoot, lastRoot, "tip.stateRoot");
        assertEq(tip.queueEnd, lastQueueEnd, "tip.queueEnd");
        assertEq(tip.lastBlock, lastL2Block, "tip.lastBlock");
    }

    function expectSubmitRevert(L1Rollup.BatchInput memory inp, bytes memory data, bytes memory err) internal {
        vm.expectRevert(err);
        vm.prank(SEQUENCER);
        rollup.submitBatch(inp, data);
    }

    // ---------------------------------------------------------------- step-leaf batches

    /// @dev A batch with real step leaves: block marker, transaction, queue message; the last leaf
    ///      agrees with the header unless a test changes it.
    struct Steps {
        StepLeaf[] leaves;
        bytes32[] hashes;
        bytes data;
        L1Rollup.BatchInput inp;
    }

    function copyLeaf(StepLeaf memory l) internal pure returns (StepLeaf memory) {
        return StepLeaf(l.kind, l.queuePos, l.dataEnd, l.wCount, l.wRoot, l.stateRoot);
    }

    function initialLeaf() internal view returns (StepLeaf memory) {
        return StepLeaf(0, lastQueueEnd, 1, 0, rollup.EMPTY_W_ROOT(), lastRoot);
    }

    function honestSteps(bytes32 stateRoot) internal returns (Steps memory s) {
        depositEth(1 ether); // one queue message for the batch
        s.data = hex"0110aa02bbccdd";
        bytes32 emptyW = rollup.EMPTY_W_ROOT();
        uint64 q = lastQueueEnd;
        s.leaves = new StepLeaf[](3);
        s.leaves[0] = StepLeaf(BLOCK, q, 3, 0, emptyW, lastRoot);
        s.leaves[1] = StepLeaf(TX, q, 7, 0, emptyW, keccak256(abi.encode(stateRoot, "mid")));
        s.leaves[2] = StepLeaf(QUEUE, q + 1, 7, 0, emptyW, stateRoot);
        s.inp = L1Rollup.BatchInput({
            stateRoot: stateRoot,
            withdrawalRoot: emptyW,
            stepsRoot: bytes32(0),
            queueEnd: q + 1,
            firstBlock: lastL2Block + 1,
            lastBlock: lastL2Block + 1,
            stepCount: 3,
            baseFee: BASE_FEE_WEI
        });
        seal(s);
    }

    /// @dev Recomputes the leaf hashes and the steps root after a test changed the leaves.
    function seal(Steps memory s) internal pure {
        s.hashes = new bytes32[](s.leaves.length);
        for (uint256 i = 0; i < s.leaves.length; i++) {
            s.hashes[i] = stepLeafHash(s.leaves[i]);
        }
        s.inp.stepsRoot = paddedRoot(s.hashes);
    }

    function postSteps(Steps memory s) internal returns (L1Rollup.BatchHeader memory) {
        return submit(s.inp, s.data);
    }

    /// @dev Moves the tip this test tracks back to the parent of the reverted batch `h`.
    function rollBackTo(L1Rollup.BatchHeader memory h) internal {
        count = h.index;
        lastHash = h.parentHash;
        lastRoot = h.prevStateRoot;
        lastQueueEnd = h.queueStart;
        lastL2Block = h.firstBlock - 1;
        checkTip();
    }

    function proofOf(Steps memory s, uint256 i) internal pure returns (bytes32[] memory) {
        return paddedProof(s.hashes, i);
    }

    /// @dev Checks the effects of a successful fraud proof against batch `h` (the last `reverted`
    ///      batches deleted) with a bond of `slashed` and the tip rolled back to `tip*`.
    function expectReverted(
        L1Rollup.BatchHeader memory h,
        uint64 reverted,
        address challenger,
        uint256 slashed,
        uint256 challengerBefore,
        uint256 sinkBefore,
        uint256 refund
    ) internal view {
        uint256 reward = slashed * SHARE_BPS / 10_000;
        assertEq(rollup.batchCount(), h.index, "batches deleted from the proven one");
        assertEq(rollup.bondOf(h.poster), 0, "bond slashed");
        assertTrue(rollup.barred(h.poster), "poster barred");
        assertEq(challenger.balance, challengerBefore + reward + refund, "challenger reward");
        assertEq(SINK.balance, sinkBefore + slashed - reward, "sink share");
        assertEq(rollup.queueEnd(), h.queueStart, "tip queueEnd");
        assertEq(rollup.lastBlock(), h.firstBlock - 1, "tip lastBlock");
        assertEq(rollup.lastStateRoot(), h.prevStateRoot, "tip stateRoot");
        L1Rollup.BatchTip memory tip = rollup.lastBatch();
        assertEq(tip.headerHash, h.parentHash, "tip headerHash");
        reverted; // documented by the event check at the call site
    }

    function expectRevertedEvent(L1Rollup.BatchHeader memory h, uint64 n, address challenger, uint256 slashed)
        internal
    {
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.BatchesReverted(h.index, n, h.poster, challenger, slashed, slashed * SHARE_BPS / 10_000);
    }

    // ---------------------------------------------------------------- deployment

    function test_Deployment() public view {
        assertEq(bridge.rollup(), address(rollup), "bridge.rollup");
        assertEq(rollup.sequencer(), SEQUENCER, "sequencer");
        assertEq(rollup.challengePeriod(), PERIOD, "challengePeriod");
        assertEq(rollup.genesisStateRoot(), GENESIS, "genesis");
        assertEq(rollup.bondWei(), BOND, "bondWei");
        assertEq(rollup.challengerShareBps(), SHARE_BPS, "share");
        assertEq(rollup.slashSink(), SINK, "sink");
        assertEq(rollup.responseWindow(), WINDOW, "window");
        assertEq(rollup.maxBatchData(), MAX_DATA, "maxBatchData");
        assertEq(rollup.stepVerifier(), address(verifier), "verifier");
        assertEq(rollup.requestBond(), BOND / 10, "requestBond");
        assertEq(rollup.epochSecs(), EPOCH, "epochSecs");
        assertEq(rollup.livenessWindow(), LIVENESS, "livenessWindow");
        assertEq(rollup.forceInclusionDelay(), FORCE_DELAY, "forceInclusionDelay");
        assertEq(rollup.kickSlashBps(), KICK_BPS, "kickSlashBps");
        (address op, uint256 bid, uint64 start, uint64 end) = rollup.activeOperator();
        assertEq(op, SEQUENCER, "the sequencer is the first operator");
        assertEq(bid, BASE_FEE_WEI, "its bid");
        assertEq(start, START_TIME, "epoch from the deployment");
        assertEq(end, START_TIME + EPOCH, "epoch end");
        L1Rollup.Operator memory o = rollup.operatorOf(SEQUENCER);
        assertEq(o.order, 1, "first registration");
        assertTrue(o.inSet, "in the set");
        assertEq(rollup.operators().length, 1, "one operator");
        assertEq(rollup.EMPTY_W_ROOT(), zeroHashes()[16], "EMPTY_W_ROOT = z_16");
        assertEq(rollup.bondOf(SEQUENCER), BOND, "bond deposited in setUp");
        assertEq(rollup.batchCount(), 0, "batchCount");
        assertEq(rollup.lastStateRoot(), GENESIS, "lastStateRoot");
        assertEq(rollup.queueEnd(), 0, "queueEnd");
        assertEq(rollup.lastBlock(), 0, "lastBlock");
        L1Rollup.BatchTip memory tip = rollup.lastBatch();
        assertEq(tip.batchCount, 0, "tip.batchCount");
        assertEq(tip.headerHash, bytes32(0), "tip.headerHash");
        assertEq(tip.stateRoot, GENESIS, "tip.stateRoot");
        assertTrue(!rollup.isFinal(0), "no batch is final");
    }

    function test_RevertWhen_ConstructorArguments() public {
        L1Rollup.RollupParams memory p = params(address(0));
        p.sequencer = address(0);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.ZeroSequencer.selector));
        new L1Rollup(p);
        p = params(address(0));
        p.challengePeriod = 0;
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.ZeroChallengePeriod.selector));
        new L1Rollup(p);
        p = params(address(0));
        p.responseWindow = PERIOD;
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.ResponseWindowTooLong.selector, PERIOD, PERIOD));
        new L1Rollup(p);
        p = params(address(0));
        p.challengerShareBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.ShareTooHigh.selector, 10_001));
        new L1Rollup(p);
        p = params(address(0));
        p.maxBatchData = 0;
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.ZeroMaxBatchData.selector));
        new L1Rollup(p);
        p = params(address(0));
        p.epochSecs = 0;
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.ZeroEpochSecs.selector));
        new L1Rollup(p);
        p = params(address(0));
        p.livenessWindow = 0;
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.ZeroLivenessWindow.selector));
        new L1Rollup(p);
        p = params(address(0));
        p.forceInclusionDelay = 0;
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.ZeroForceInclusionDelay.selector));
        new L1Rollup(p);
        p = params(address(0));
        p.kickSlashBps = 10_001;
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.KickSlashTooHigh.selector, 10_001));
        new L1Rollup(p);
        p = params(address(0));
        p.exodusDelay = PERIOD + FORCE_DELAY + LIVENESS;
        vm.expectRevert(
            abi.encodeWithSelector(L1Rollup.ExodusDelayTooShort.selector, p.exodusDelay, PERIOD + FORCE_DELAY + LIVENESS)
        );
        new L1Rollup(p);
        p = params(address(0));
        p.challengerShareBps = 10_000;
        p.kickSlashBps = 10_000;
        p.responseWindow = PERIOD - 1;
        p.exodusDelay = PERIOD + FORCE_DELAY + LIVENESS + 1;
        new L1Rollup(p); // the limits themselves are fine
    }

    // ---------------------------------------------------------------- submitBatch

    function test_SubmitChainsBatches() public {
        submit(input(keccak256("s1"), bytes32(0), 0, 1), hex"01");
        vm.warp(block.timestamp + 12);
        depositEth(1 ether);
        depositToken(5); // registration + deposit: 3 messages so far
        submit(input(keccak256("s2"), keccak256("w2"), 3, 4), hex"010203");
        vm.roll(block.number + 1);
        vm.warp(block.timestamp + 12);
        // A batch may consume no queue message, and a batch of one block.
        submit(input(keccak256("s3"), bytes32(0), 3, 1), hex"0104");
        assertEq(rollup.batchCount(), 3, "three batches");
        assertEq(rollup.lastBlock(), 6, "blocks 1..6");
        assertEq(rollup.postedThrough(SEQUENCER), 3, "postedThrough");
    }

    function test_QueueBoundsWithRealDeposits() public {
        expectSubmitRevert(
            input(0, 0, 1, 1), hex"01", abi.encodeWithSelector(L1Rollup.QueueEndBeyondLength.selector, 1, 0)
        );
        depositEth(1 ether);
        depositEth(2 ether);
        depositToken(7); // + registration = 4 messages
        expectSubmitRevert(
            input(0, 0, 5, 1), hex"01", abi.encodeWithSelector(L1Rollup.QueueEndBeyondLength.selector, 5, 4)
        );
        submit(input(keccak256("a"), 0, 2, 1), hex"01");
        expectSubmitRevert(
            input(0, 0, 1, 1), hex"01", abi.encodeWithSelector(L1Rollup.QueueEndBeforeStart.selector, 1, 2)
        );
        submit(input(keccak256("b"), 0, 4, 1), hex"01");
        assertEq(rollup.queueEnd(), 4, "queueEnd");
    }

    function test_RevertWhen_NotActiveOperator() public {
        L1Rollup.BatchInput memory inp = input(0, 0, 0, 1);
        vm.deal(ALICE, 10 ether);
        vm.prank(ALICE);
        rollup.depositBond{value: BOND}(); // a bond alone does not make a poster
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotActiveOperator.selector, ALICE, SEQUENCER));
        vm.prank(ALICE);
        rollup.submitBatch(inp, hex"01");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotActiveOperator.selector, address(this), SEQUENCER));
        rollup.submitBatch(inp, hex"01");
    }

    function test_RevertWhen_BlocksNotContiguous() public {
        L1Rollup.BatchInput memory inp = input(0, 0, 0, 1);
        inp.firstBlock = 0;
        inp.lastBlock = 0;
        expectSubmitRevert(inp, hex"01", abi.encodeWithSelector(L1Rollup.NonContiguousBlocks.selector, 0, 1));
        inp.firstBlock = 2;
        inp.lastBlock = 3;
        expectSubmitRevert(inp, hex"01", abi.encodeWithSelector(L1Rollup.NonContiguousBlocks.selector, 2, 1));
        submit(input(0, 0, 0, 5), hex"01");
        inp.firstBlock = 5;
        inp.lastBlock = 6;
        expectSubmitRevert(inp, hex"01", abi.encodeWithSelector(L1Rollup.NonContiguousBlocks.selector, 5, 6));
        inp.firstBlock = 7;
        inp.lastBlock = 7;
        expectSubmitRevert(inp, hex"01", abi.encodeWithSelector(L1Rollup.NonContiguousBlocks.selector, 7, 6));
    }

    function test_RevertWhen_LastBlockBeforeFirst() public {
        L1Rollup.BatchInput memory inp = input(0, 0, 0, 1);
        inp.lastBlock = 0;
        expectSubmitRevert(inp, hex"01", abi.encodeWithSelector(L1Rollup.LastBlockBeforeFirst.selector, 0, 1));
    }

    function test_RevertWhen_NoSteps() public {
        L1Rollup.BatchInput memory inp = input(0, 0, 0, 1);
        inp.stepCount = 0;
        expectSubmitRevert(inp, hex"01", abi.encodeWithSelector(L1Rollup.NoSteps.selector));
    }

    function test_RevertWhen_BadData() public {
        L1Rollup.BatchInput memory inp = input(0, 0, 0, 1);
        expectSubmitRevert(inp, "", abi.encodeWithSelector(L1Rollup.EmptyData.selector));
        expectSubmitRevert(inp, hex"00aa", abi.encodeWithSelector(L1Rollup.UnsupportedDataVersion.selector, 0));
        expectSubmitRevert(inp, hex"02", abi.encodeWithSelector(L1Rollup.UnsupportedDataVersion.selector, 2));
        bytes memory big = new bytes(MAX_DATA + 1);
        big[0] = 0x01;
        expectSubmitRevert(inp, big, abi.encodeWithSelector(L1Rollup.DataTooLong.selector, MAX_DATA + 1, MAX_DATA));
        assembly ("memory-safe") {
            mstore(big, MAX_DATA)
        }
        submit(inp, big); // exactly the maximum
    }

    function test_RevertWhen_UnknownBatch() public {
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.UnknownBatch.selector, 0, 0));
        rollup.batchHeaderHash(0);
        submit(input(0, 0, 0, 1), hex"01");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.UnknownBatch.selector, 1, 1));
        rollup.finalizedAt(1);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.UnknownBatch.selector, 1, 1));
        rollup.batch(1);
        L1Rollup.Withdrawal memory w = L1Rollup.Withdrawal(BOB, 0, CAROL, address(0), 1);
        bytes32[16] memory siblings;
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.UnknownBatch.selector, 7, 1));
        rollup.claimWithdrawal(7, w, 0, siblings);
    }

    // ---------------------------------------------------------------- data root

    function patterned(uint256 length, uint256 seed) internal pure returns (bytes memory data) {
        // Pseudo-random words written in place (no per-byte allocation, so the test's memory, and
        // with it the measured call's memory expansion, stays small).
        data = new bytes(length);
        assembly ("memory-safe") {
            for { let w := 0 } lt(mul(w, 32), length) { w := add(w, 1) } {
                mstore(0, seed)
                mstore(0x20, w)
                mstore(add(add(data, 0x20), mul(w, 32)), keccak256(0, 0x40))
            }
            // Clear what the last word wrote past the end (the next allocation expects zeros).
            mstore(add(add(data, 0x20), length), 0)
        }
        data[0] = 0x01;
    }

    function test_DataRootMatchesReference() public {
        // 1 chunk (1 byte, full), 2 chunks (full + 1 byte), 3 chunks (partial), 5 chunks (full and
        // partial), and a padded level at every height.
        uint256[9] memory lengths = [uint256(1), 1024, 1025, 2048, 2500, 3072, 5120, 4097, 9 * 1024 + 3];
        for (uint256 k = 0; k < lengths.length; k++) {
            bytes memory data = patterned(lengths[k], k);
            assertEq(rollup.dataRoot(data), refDataRoot(data), "dataRoot vs reference");
            submit(input(keccak256(abi.encode(k)), 0, 0, 1), data); // the header check uses the reference
        }
        // Spelled out for three chunks: H(H(H(c0) ‖ H(c1)) ‖ H(H(c2) ‖ 0)).
        bytes memory three = patterned(2500, 99);
        bytes memory c0 = new bytes(1024);
        bytes memory c1 = new bytes(1024);
        bytes memory c2 = new bytes(452);
        for (uint256 i = 0; i < 2500; i++) {
            if (i < 1024) c0[i] = three[i];
            else if (i < 2048) c1[i - 1024] = three[i];
            else c2[i - 2048] = three[i];
        }
        bytes32 expected = hashPair(hashPair(keccak256(c0), keccak256(c1)), hashPair(keccak256(c2), bytes32(0)));
        assertEq(rollup.dataRoot(three), expected, "three chunks by hand");
        assertEq(rollup.dataRoot(hex"01ff"), keccak256(hex"01ff"), "one chunk: its leaf is the root");
    }

    function testFuzz_DataRoot(uint16 length, uint256 seed) public view {
        uint256 len = uint256(length) % 20_000 + 1;
        bytes memory data = patterned(len, seed);
        assertEq(rollup.dataRoot(data), refDataRoot(data), "dataRoot vs reference");
    }

    // ---------------------------------------------------------------- bonds

    function test_RevertWhen_NoBond() public {
        L1Rollup fresh = new L1Rollup(params(address(0)));
        L1Rollup.BatchInput memory inp = input(0, 0, 0, 1);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InsufficientBond.selector, SEQUENCER, 0, BOND));
        vm.prank(SEQUENCER);
        fresh.submitBatch(inp, hex"01");
        vm.prank(SEQUENCER);
        fresh.depositBond{value: BOND - 1}();
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InsufficientBond.selector, SEQUENCER, BOND - 1, BOND));
        vm.prank(SEQUENCER);
        fresh.submitBatch(inp, hex"01");
        vm.expectEmit(true, true, true, true, address(fresh));
        emit L1Rollup.BondDeposited(SEQUENCER, 1, BOND);
        vm.prank(SEQUENCER);
        fresh.depositBond{value: 1}();
        vm.prank(SEQUENCER);
        fresh.submitBatch(inp, hex"01");
        assertEq(fresh.batchCount(), 1, "posted once bonded");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.ZeroBond.selector));
        fresh.depositBond();
    }

    function test_BondPaidWithDeployment() public {
        L1Rollup funded = new L1Rollup{value: 2 ether}(params(address(0)));
        assertEq(funded.bondOf(SEQUENCER), 2 ether, "the deployment's value is the sequencer's bond");
        assertEq(address(funded).balance, 2 ether, "held by the rollup");
        vm.prank(SEQUENCER);
        funded.submitBatch(input(0, 0, 0, 1), hex"01");
        assertEq(funded.batchCount(), 1, "posts at once");
    }

    function test_ZeroBondWeiNeedsNoBond() public {
        L1Rollup.RollupParams memory p = params(address(0));
        p.bondWei = 0;
        L1Rollup fresh = new L1Rollup(p);
        assertEq(fresh.requestBond(), 0, "no request bond either");
        vm.prank(SEQUENCER);
        fresh.submitBatch(input(0, 0, 0, 1), hex"01");
        assertEq(fresh.batchCount(), 1, "posted without bond");
    }

    function test_WithdrawBondOnlyWhenFinal() public {
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NoBond.selector));
        vm.prank(ALICE);
        rollup.withdrawBond();

        submit(input(keccak256("a"), 0, 0, 1), hex"01");
        vm.warp(block.timestamp + 100);
        submit(input(keccak256("b"), 0, 0, 1), hex"01");
        vm.warp(START_TIME + PERIOD); // batch 0 final, batch 1 not
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.StillOperator.selector, SEQUENCER));
        vm.prank(SEQUENCER);
        rollup.withdrawBond();
        vm.prank(SEQUENCER);
        rollup.leave();
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.BondLocked.selector, 1));
        vm.prank(SEQUENCER);
        rollup.withdrawBond();
        vm.warp(START_TIME + 100 + PERIOD);
        uint256 before = SEQUENCER.balance;
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.BondWithdrawn(SEQUENCER, BOND);
        vm.prank(SEQUENCER);
        rollup.withdrawBond();
        assertEq(SEQUENCER.balance, before + BOND, "bond paid back");
        assertEq(rollup.bondOf(SEQUENCER), 0, "bond gone");
        expectSubmitRevert(input(0, 0, 0, 1), hex"01", abi.encodeWithSelector(L1Rollup.NoActiveOperator.selector));
        // An account that never posted can take its bond back at once.
        vm.prank(ALICE);
        rollup.depositBond{value: 3 ether}();
        vm.prank(ALICE);
        rollup.withdrawBond();
        assertEq(rollup.bondOf(ALICE), 0, "alice's bond back");
    }

    function test_SlashedBondGoneAndPosterBarred() public {
        Steps memory s = honestSteps(keccak256("s"));
        s.leaves[2].stateRoot = keccak256("other");
        seal(s);
        L1Rollup.BatchHeader memory h = postSteps(s);
        vm.prank(CHALLENGER);
        rollup.proveLastLeaf(h, s.leaves[2], proofOf(s, 2));
        assertEq(rollup.bondOf(SEQUENCER), 0, "slashed");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NoBond.selector));
        vm.prank(SEQUENCER);
        rollup.withdrawBond();
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.PosterBarred.selector, SEQUENCER));
        vm.prank(SEQUENCER);
        rollup.depositBond{value: BOND}();
        count = 0;
        lastHash = 0;
        lastRoot = GENESIS;
        lastQueueEnd = 0;
        lastL2Block = 0;
        // Barred, it left the operator set (the only operator: none is active now) and cannot return.
        assertTrue(!rollup.operatorOf(SEQUENCER).inSet, "out of the set");
        expectSubmitRevert(input(0, 0, 0, 1), hex"01", abi.encodeWithSelector(L1Rollup.NoActiveOperator.selector));
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.PosterBarred.selector, SEQUENCER));
        vm.prank(SEQUENCER);
        rollup.registerOperator{value: BOND}(BASE_FEE_WEI);
    }

    // ---------------------------------------------------------------- next operators

    /// @dev `who` deposits `amount` as its bond, checking the event.
    function bond(address who, uint256 amount) internal {
        vm.deal(who, who.balance + amount);
        uint256 before = rollup.bondOf(who);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.BondDeposited(who, amount, before + amount);
        vm.prank(who);
        rollup.depositBond{value: amount}();
        assertEq(rollup.bondOf(who), before + amount, "bond credited");
    }

    /// @dev `who` joins the operator set with a bond of `amount` and bid `bid`, checking the event.
    function register(address who, uint256 amount, uint256 bid) internal {
        vm.deal(who, who.balance + amount);
        uint256 before = rollup.bondOf(who);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.OperatorRegistered(who, bid, before + amount);
        vm.prank(who);
        rollup.registerOperator{value: amount}(bid);
        assertTrue(rollup.operatorOf(who).inSet, "in the set");
    }

    function active() internal view returns (address operator) {
        (operator,,,) = rollup.activeOperator();
    }

    function expectSubmitRevertAs(address poster, L1Rollup.BatchInput memory inp, bytes memory err) internal {
        vm.expectRevert(err);
        vm.prank(poster);
        rollup.submitBatch(inp, hex"01");
    }

    function test_RevertWhen_OtherOperatorWhileSequencerActive() public {
        submit(input(keccak256("s0"), 0, 0, 1), hex"01");
        // A bond alone, or a registration with a worse bid, does not make a poster within the epoch.
        bond(CAROL, 2 * BOND);
        L1Rollup.BatchInput memory next = input(keccak256("c1"), 0, 0, 1);
        expectSubmitRevertAs(
            CAROL, next, abi.encodeWithSelector(L1Rollup.NotActiveOperator.selector, CAROL, SEQUENCER)
        );
        register(CAROL, 0, BASE_FEE_WEI - 1);
        expectSubmitRevertAs(
            CAROL, next, abi.encodeWithSelector(L1Rollup.NotActiveOperator.selector, CAROL, SEQUENCER)
        );
        // The sequencer cannot take its bond back while it is an operator.
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.StillOperator.selector, SEQUENCER));
        vm.prank(SEQUENCER);
        rollup.withdrawBond();
        assertEq(rollup.batchCount(), 1, "only the sequencer's batch");
    }

    function test_NextOperatorAfterSequencerSlashed() public {
        depositEth(10 ether);
        L1Rollup.BatchHeader memory h0 = submit(input(keccak256("s0"), 0, 1, 2), hex"0100");
        vm.warp(block.timestamp + 60);
        Steps memory s = honestSteps(keccak256("s1")); // consumes a second queue message
        s.leaves[2].stateRoot = keccak256("lie");
        seal(s);
        L1Rollup.BatchHeader memory h1 = postSteps(s);
        vm.warp(block.timestamp + 60);
        submit(input(keccak256("s2"), 0, 2, 3), hex"0102");
        register(CAROL, BOND, BASE_FEE_WEI);
        L1Rollup.BatchInput memory inp = input(keccak256("c1"), rollup.EMPTY_W_ROOT(), 2, 4);
        expectSubmitRevertAs(
            CAROL, inp, abi.encodeWithSelector(L1Rollup.NotActiveOperator.selector, CAROL, SEQUENCER)
        );

        // The fraud proof deletes batches 1 and 2, bars the sequencer and removes it from the set:
        // Carol is active at once.
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.OperatorActivated(CAROL, BASE_FEE_WEI, uint64(block.timestamp));
        vm.prank(CHALLENGER);
        rollup.proveLastLeaf(h1, s.leaves[2], proofOf(s, 2));
        assertTrue(rollup.barred(SEQUENCER), "sequencer barred");
        assertTrue(!rollup.operatorOf(SEQUENCER).inSet, "sequencer out of the set");
        assertEq(active(), CAROL, "Carol active");
        rollBackTo(h1);
        vm.warp(block.timestamp + 60);
        inp = input(keccak256("c1"), rollup.EMPTY_W_ROOT(), 2, 4);

        // The barred sequencer cannot post, nor bond or register again; others are not active.
        expectSubmitRevertAs(
            SEQUENCER, inp, abi.encodeWithSelector(L1Rollup.NotActiveOperator.selector, SEQUENCER, CAROL)
        );
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.PosterBarred.selector, SEQUENCER));
        vm.prank(SEQUENCER);
        rollup.depositBond{value: BOND}();
        expectSubmitRevertAs(BOB, inp, abi.encodeWithSelector(L1Rollup.NotActiveOperator.selector, BOB, CAROL));

        // Carol posts the next batch at the reverted index, extending batch 0.
        L1Rollup.BatchHeader memory c1 = submitAs(CAROL, inp, hex"01aa");
        assertEq(c1.index, h1.index, "at the reverted index");
        assertEq(c1.parentHash, keccak256(abi.encode(h0)), "parent is batch 0");
        assertEq(c1.prevStateRoot, h0.stateRoot, "prevStateRoot of batch 0");
        assertEq(c1.queueStart, h0.queueEnd, "queueStart from batch 0");
        assertEq(c1.queueStart, h1.queueStart, "the reverted batch's queue messages again");
        assertEq(c1.firstBlock, h0.lastBlock + 1, "blocks after batch 0");
        assertEq(rollup.batch(1).poster, CAROL, "record.poster");
        assertEq(rollup.postedThrough(CAROL), 2, "postedThrough");

        // Carol leaves: Dave, registered meanwhile, takes over at once and extends Carol's batch.
        register(DAVE, BOND, BASE_FEE_WEI);
        vm.warp(block.timestamp + 12);
        vm.prank(CAROL);
        rollup.leave();
        assertEq(active(), DAVE, "Dave active");
        L1Rollup.BatchHeader memory d2 = submitAs(DAVE, input(keccak256("d2"), 0, 2, 1), hex"01bb");
        assertEq(d2.parentHash, keccak256(abi.encode(c1)), "parent is Carol's batch");
        assertEq(d2.prevStateRoot, c1.stateRoot, "prevStateRoot of Carol's batch");
        assertEq(d2.queueStart, c1.queueEnd, "queueStart from Carol's batch");

        // A departed operator's bond unlocks when its last batch is final.
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.BondLocked.selector, 1));
        vm.prank(CAROL);
        rollup.withdrawBond();
        vm.warp(c1.postedAt + PERIOD);
        uint256 before = CAROL.balance;
        vm.prank(CAROL);
        rollup.withdrawBond();
        assertEq(CAROL.balance, before + BOND, "Carol's bond back");
    }

    function test_NextOperatorSlashedInTurn() public {
        // The sequencer's first batch is proven wrong: it is barred, the set is empty, so is the chain.
        Steps memory s = honestSteps(keccak256("s0"));
        s.leaves[2].stateRoot = keccak256("lie");
        seal(s);
        L1Rollup.BatchHeader memory h0 = postSteps(s);
        vm.prank(CHALLENGER);
        rollup.proveLastLeaf(h0, s.leaves[2], proofOf(s, 2));
        rollBackTo(h0);
        assertEq(active(), address(0), "nobody active");

        // Carol registers (active at once) and posts a wrong batch at index 0, proven wrong in turn.
        register(CAROL, BOND, BASE_FEE_WEI);
        assertEq(active(), CAROL, "Carol active at once");
        Steps memory c = honestSteps(keccak256("c0"));
        c.leaves[2].wRoot = keccak256("w");
        seal(c);
        L1Rollup.BatchHeader memory c0 = submitAs(CAROL, c.inp, c.data);
        assertEq(c0.index, 0, "index 0 again");
        assertEq(c0.parentHash, bytes32(0), "no parent");
        assertEq(c0.prevStateRoot, GENESIS, "from genesis");
        assertEq(c0.queueStart, 0, "queue from the start");
        uint256 cb = CHALLENGER.balance;
        uint256 sb = SINK.balance;
        expectRevertedEvent(c0, 1, CHALLENGER, BOND);
        vm.prank(CHALLENGER);
        rollup.proveLastLeaf(c0, c.leaves[2], proofOf(c, 2));
        expectReverted(c0, 1, CHALLENGER, BOND, cb, sb, 0);
        assertEq(CHALLENGER.balance, cb + BOND / 2, "challenger share of Carol's bond");
        assertEq(SINK.balance, sb + BOND / 2, "sink share of Carol's bond");
        rollBackTo(c0);

        // Carol is barred like the sequencer; Dave takes over.
        vm.deal(CAROL, BOND);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.PosterBarred.selector, CAROL));
        vm.prank(CAROL);
        rollup.registerOperator{value: BOND}(BASE_FEE_WEI);
        L1Rollup.BatchInput memory inp = input(keccak256("d0"), 0, lastQueueEnd, 1);
        expectSubmitRevertAs(CAROL, inp, abi.encodeWithSelector(L1Rollup.NoActiveOperator.selector));
        register(DAVE, BOND, BASE_FEE_WEI);
        expectSubmitRevertAs(CAROL, inp, abi.encodeWithSelector(L1Rollup.NotActiveOperator.selector, CAROL, DAVE));
        L1Rollup.BatchHeader memory d0 = submitAs(DAVE, inp, hex"01");
        assertEq(d0.poster, DAVE, "Dave's batch");
        assertEq(rollup.batchCount(), 1, "one live batch");
    }

    // ---------------------------------------------------------------- finality

    function test_Finality() public {
        submit(input(0, 0, 0, 1), hex"01");
        uint64 finalAt = START_TIME + PERIOD;
        assertEq(rollup.finalizedAt(0), finalAt, "finalizedAt");
        assertTrue(!rollup.isFinal(0), "fresh batch");
        vm.warp(finalAt - 1);
        assertTrue(!rollup.isFinal(0), "one second early");
        vm.warp(finalAt);
        assertTrue(rollup.isFinal(0), "final at postedAt + period");
        assertTrue(!rollup.isFinal(1), "unknown batch is not final");
    }

    // ---------------------------------------------------------------- withdrawals

    function leafOf(L1Rollup.Withdrawal memory w) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(w.l2Sender, w.nonce, w.l1Recipient, w.l1Token, w.amount))));
    }

    function sampleWithdrawals() internal view returns (L1Rollup.Withdrawal[] memory ws) {
        ws = new L1Rollup.Withdrawal[](5);
        ws[0] = L1Rollup.Withdrawal(BOB, 0, CAROL, address(0), 1 ether);
        ws[1] = L1Rollup.Withdrawal(BOB, 1, CAROL, address(token), 40e18);
        ws[2] = L1Rollup.Withdrawal(ALICE, 7, ALICE, address(0), 2 ether);
        ws[3] = L1Rollup.Withdrawal(BOB, 2, BOB, address(token), 1);
        ws[4] = L1Rollup.Withdrawal(CAROL, 0, BOB, address(0), 3 wei);
    }

    function leavesOf(L1Rollup.Withdrawal[] memory ws) internal pure returns (bytes32[] memory leaves) {
        leaves = new bytes32[](ws.length);
        for (uint256 i = 0; i < ws.length; i++) {
            leaves[i] = leafOf(ws[i]);
        }
    }

    function siblingsOf(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[16] memory s) {
        (, s) = wTree(leaves, index);
    }

    /// @dev Funds the bridge, posts one batch carrying `ws` and waits until it is final.
    function postFinalBatch(L1Rollup.Withdrawal[] memory ws) internal returns (uint64 index) {
        depositEth(10 ether);
        depositToken(100e18);
        index = submit(input(keccak256("s1"), wRoot(leavesOf(ws)), 3, 2), hex"01aa").index;
        vm.warp(block.timestamp + PERIOD);
    }

    function test_WithdrawalLeafMatchesSpec() public view {
        L1Rollup.Withdrawal memory w = L1Rollup.Withdrawal(BOB, 9, CAROL, address(token), 123);
        assertEq(rollup.withdrawalLeaf(w), leafOf(w), "leaf");
    }

    function test_PositionalTreeReference() public pure {
        bytes32[] memory leaves = new bytes32[](3);
        leaves[0] = keccak256("a");
        leaves[1] = keccak256("b");
        leaves[2] = keccak256("c");
        bytes32[17] memory z = zeroHashes();
        bytes32 node = hashPair(hashPair(leaves[0], leaves[1]), hashPair(leaves[2], z[0]));
        for (uint256 k = 2; k < 16; k++) {
            node = hashPair(node, z[k]);
        }
        assertEq(wRoot(leaves), node, "root");
        assertEq(wRoot(new bytes32[](0)), z[16], "empty tree");
        bytes32[16] memory s = siblingsOf(leaves, 2);
        assertEq(s[0], bytes32(0), "empty neighbour");
        assertEq(s[1], hashPair(leaves[0], leaves[1]), "left subtree");
        assertEq(s[15], z[15], "top sibling");
    }

    function test_ClaimEthAndToken() public {
        L1Rollup.Withdrawal[] memory ws = sampleWithdrawals();
        bytes32[] memory leaves = leavesOf(ws);
        uint64 index = postFinalBatch(ws);
        uint256 carolEth = CAROL.balance;

        for (uint256 i = 0; i < ws.length; i++) {
            vm.expectEmit(true, true, true, true, address(rollup));
            emit L1Rollup.WithdrawalClaimed(
                index, leaves[i], ws[i].l1Recipient, ws[i].l2Sender, ws[i].nonce, ws[i].l1Token, ws[i].amount
            );
            vm.prank(ALICE); // anyone may claim; the recipient is paid
            rollup.claimWithdrawal(index, ws[i], i, siblingsOf(leaves, i));
            assertTrue(rollup.claimed(leaves[i]), "claimed");
        }
        assertEq(CAROL.balance, carolEth + 1 ether, "carol ETH");
        assertEq(token.balanceOf(CAROL), 40e18, "carol tokens");
        assertEq(ALICE.balance, 1_000 ether - 10 ether + 2 ether, "alice ETH");
        assertEq(token.balanceOf(BOB), 1, "bob tokens");
        assertEq(BOB.balance, 3 wei, "bob ETH");
        assertEq(address(bridge).balance, 10 ether - 3 ether - 3 wei, "bridge ETH");
        assertEq(token.balanceOf(address(bridge)), 100e18 - 40e18 - 1, "bridge tokens");
    }

    function test_RevertWhen_DoubleClaim() public {
        L1Rollup.Withdrawal[] memory ws = sampleWithdrawals();
        bytes32[] memory leaves = leavesOf(ws);
        uint64 index = postFinalBatch(ws);
        rollup.claimWithdrawal(index, ws[1], 1, siblingsOf(leaves, 1));
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.AlreadyClaimed.selector, leaves[1]));
        rollup.claimWithdrawal(index, ws[1], 1, siblingsOf(leaves, 1));
    }

    function test_RevertWhen_ReentrantClaim() public {
        ReclaimingRecipient recipient = new ReclaimingRecipient(rollup);
        L1Rollup.Withdrawal[] memory ws = sampleWithdrawals();
        ws[0].l1Recipient = address(recipient);
        bytes32[] memory leaves = leavesOf(ws);
        uint64 index = postFinalBatch(ws);
        recipient.arm(index, ws[0], 0, siblingsOf(leaves, 0));
        // The nested claim is refused, so the payout fails and the whole claim reverts.
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.EthTransferFailed.selector, address(recipient), 1 ether));
        rollup.claimWithdrawal(index, ws[0], 0, siblingsOf(leaves, 0));
        assertTrue(!rollup.claimed(leaves[0]), "still unclaimed");
    }

    function test_RevertWhen_BadProof() public {
        L1Rollup.Withdrawal[] memory ws = sampleWithdrawals();
        bytes32[] memory leaves = leavesOf(ws);
        uint64 index = postFinalBatch(ws);
        bytes32[16] memory s0 = siblingsOf(leaves, 0);
        bytes memory err = abi.encodeWithSelector(L1Rollup.InvalidWithdrawalProof.selector, index, leaves[1]);
        // Another slot's siblings.
        vm.expectRevert(err);
        rollup.claimWithdrawal(index, ws[1], 1, s0);
        // The right siblings at the wrong index.
        vm.expectRevert(err);
        rollup.claimWithdrawal(index, ws[1], 3, siblingsOf(leaves, 1));
        // An index outside the tree that folds to the same bits.
        vm.expectRevert(err);
        rollup.claimWithdrawal(index, ws[1], 1 + (1 << 16), siblingsOf(leaves, 1));
        // The right proof, a changed amount.
        L1Rollup.Withdrawal memory greedy =
            L1Rollup.Withdrawal(ws[0].l2Sender, ws[0].nonce, ws[0].l1Recipient, ws[0].l1Token, 5 ether);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidWithdrawalProof.selector, index, leafOf(greedy)));
        rollup.claimWithdrawal(index, greedy, 0, s0);
        // An empty slot cannot be claimed with a made-up leaf.
        bytes32[16] memory empty;
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidWithdrawalProof.selector, index, leaves[0]));
        rollup.claimWithdrawal(index, ws[0], 0, empty);
    }

    function test_RevertWhen_NotFinal() public {
        L1Rollup.Withdrawal[] memory ws = sampleWithdrawals();
        depositEth(10 ether);
        bytes32[] memory leaves = leavesOf(ws);
        uint64 index = submit(input(keccak256("s"), wRoot(leaves), 1, 1), hex"01").index;
        uint64 finalAt = uint64(block.timestamp) + PERIOD;
        vm.expectRevert(
            abi.encodeWithSelector(L1Rollup.BatchNotFinal.selector, index, finalAt, uint64(block.timestamp))
        );
        rollup.claimWithdrawal(index, ws[0], 0, siblingsOf(leaves, 0));
        vm.warp(finalAt - 1);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.BatchNotFinal.selector, index, finalAt, finalAt - 1));
        rollup.claimWithdrawal(index, ws[0], 0, siblingsOf(leaves, 0));
        vm.warp(finalAt);
        rollup.claimWithdrawal(index, ws[0], 0, siblingsOf(leaves, 0));
        assertEq(CAROL.balance, 1 ether, "paid once final");
    }

    function testFuzz_ClaimAnyLeaf(uint8 n, uint8 pick, uint64 seed) public {
        uint256 size = uint256(n) % 40 + 1;
        uint256 chosen = uint256(pick) % size;
        L1Rollup.Withdrawal[] memory ws = new L1Rollup.Withdrawal[](size);
        for (uint256 i = 0; i < size; i++) {
            // casting to 'uint160' is safe because the values are small
            // forge-lint: disable-next-line(unsafe-typecast)
            address recipient = address(uint160(0x10000 + uint256(keccak256(abi.encode(seed, i))) % 1000));
            ws[i] = L1Rollup.Withdrawal(
                BOB,
                i,
                recipient,
                i % 3 == 0 ? address(token) : address(0),
                uint256(keccak256(abi.encode(i, seed))) % 1e17 + 1
            );
        }
        bytes32[] memory leaves = leavesOf(ws);
        uint64 index = postFinalBatch(ws);
        address to = ws[chosen].l1Recipient;
        uint256 before = ws[chosen].l1Token == address(0) ? to.balance : token.balanceOf(to);
        rollup.claimWithdrawal(index, ws[chosen], chosen, siblingsOf(leaves, chosen));
        uint256 afterwards = ws[chosen].l1Token == address(0) ? to.balance : token.balanceOf(to);
        assertEq(afterwards - before, ws[chosen].amount, "paid");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.AlreadyClaimed.selector, leaves[chosen]));
        rollup.claimWithdrawal(index, ws[chosen], chosen, siblingsOf(leaves, chosen));
    }

    function testFuzz_SubmitChecks(uint64 queueEnd, uint64 firstBlock, uint64 lastBlock, uint64 steps) public {
        depositEth(1 ether);
        depositEth(1 ether);
        L1Rollup.BatchInput memory inp = input(keccak256("s"), 0, queueEnd, 1);
        inp.firstBlock = firstBlock;
        inp.lastBlock = lastBlock;
        inp.stepCount = steps;
        bytes memory err;
        if (queueEnd > 2) err = abi.encodeWithSelector(L1Rollup.QueueEndBeyondLength.selector, queueEnd, 2);
        else if (firstBlock != 1) err = abi.encodeWithSelector(L1Rollup.NonContiguousBlocks.selector, firstBlock, 1);
        else if (lastBlock < 1) err = abi.encodeWithSelector(L1Rollup.LastBlockBeforeFirst.selector, lastBlock, 1);
        else if (steps == 0) err = abi.encodeWithSelector(L1Rollup.NoSteps.selector);
        if (err.length != 0) {
            expectSubmitRevert(inp, hex"01", err);
        } else {
            submit(inp, hex"01");
        }
    }

    // ---------------------------------------------------------------- proveLastLeaf

    function proveLastLeafCase(uint256 field) internal {
        Steps memory s = honestSteps(keccak256("s"));
        StepLeaf memory last = s.leaves[2];
        if (field == 0) last.queuePos += 1;
        else if (field == 1) last.dataEnd -= 1;
        else if (field == 2) last.wRoot = keccak256("w");
        else last.stateRoot = keccak256("wrong");
        seal(s);
        L1Rollup.BatchHeader memory h = postSteps(s);
        uint256 cb = CHALLENGER.balance;
        uint256 sb = SINK.balance;
        expectRevertedEvent(h, 1, CHALLENGER, BOND);
        vm.prank(CHALLENGER);
        rollup.proveLastLeaf(h, last, proofOf(s, 2));
        expectReverted(h, 1, CHALLENGER, BOND, cb, sb, 0);
        assertEq(CHALLENGER.balance, cb + 0.5 ether, "challenger gets exactly half");
        assertEq(SINK.balance, sb + 0.5 ether, "sink gets exactly half");
    }

    function test_ProveLastLeaf_QueuePos() public {
        proveLastLeafCase(0);
    }

    function test_ProveLastLeaf_DataEnd() public {
        proveLastLeafCase(1);
    }

    function test_ProveLastLeaf_WRoot() public {
        proveLastLeafCase(2);
    }

    function test_ProveLastLeaf_StateRoot() public {
        proveLastLeafCase(3);
    }

    function test_RevertWhen_ProveLastLeafNotFraud() public {
        Steps memory s = honestSteps(keccak256("s"));
        L1Rollup.BatchHeader memory h = postSteps(s);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotFraud.selector));
        rollup.proveLastLeaf(h, s.leaves[2], proofOf(s, 2));
        // A leaf that is not the last one (or not in the tree) does not verify.
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidStepProof.selector, 2));
        rollup.proveLastLeaf(h, s.leaves[1], proofOf(s, 1));
        StepLeaf memory forged = copyLeaf(s.leaves[2]);
        forged.stateRoot = keccak256("forged");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidStepProof.selector, 2));
        rollup.proveLastLeaf(h, forged, proofOf(s, 2));
        // A header that is not the stored one.
        L1Rollup.BatchHeader memory other = h;
        other.stateRoot = keccak256("forged");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.WrongHeader.selector, 0));
        rollup.proveLastLeaf(other, s.leaves[2], proofOf(s, 2));
        assertEq(rollup.batchCount(), 1, "batch stands");
        assertEq(rollup.bondOf(SEQUENCER), BOND, "bond intact");
    }

    function test_RevertWhen_ChallengerRefusesReward() public {
        Steps memory s = honestSteps(keccak256("s"));
        s.leaves[2].stateRoot = keccak256("x");
        seal(s);
        L1Rollup.BatchHeader memory h = postSteps(s);
        RefusingChallenger c = new RefusingChallenger();
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.PayoutFailed.selector, address(c), 0.5 ether));
        c.proveLastLeaf(rollup, h, s.leaves[2], proofOf(s, 2));
    }

    // ---------------------------------------------------------------- proveStepCount

    function test_ProveStepCount_TooFewSteps() public {
        // The tree holds four leaves, the header claims three: leaf 3 is not zero.
        Steps memory s = honestSteps(keccak256("s"));
        StepLeaf[] memory four = new StepLeaf[](4);
        for (uint256 i = 0; i < 3; i++) {
            four[i] = s.leaves[i];
        }
        four[3] = s.leaves[2];
        s.leaves = four;
        seal(s); // stepCount stays 3
        L1Rollup.BatchHeader memory h = postSteps(s);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotFraud.selector));
        rollup.proveStepCount(h, 2, s.hashes[2], proofOf(s, 2));
        uint256 cb = CHALLENGER.balance;
        uint256 sb = SINK.balance;
        expectRevertedEvent(h, 1, CHALLENGER, BOND);
        vm.prank(CHALLENGER);
        rollup.proveStepCount(h, 3, s.hashes[3], proofOf(s, 3));
        expectReverted(h, 1, CHALLENGER, BOND, cb, sb, 0);
    }

    function test_ProveStepCount_TooManySteps() public {
        // The tree holds three leaves, the header claims four: leaf 3 is zero.
        Steps memory s = honestSteps(keccak256("s"));
        s.inp.stepCount = 4;
        L1Rollup.BatchHeader memory h = postSteps(s);
        bytes32[] memory padded = new bytes32[](4);
        for (uint256 i = 0; i < 3; i++) {
            padded[i] = s.hashes[i];
        }
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotFraud.selector));
        rollup.proveStepCount(h, 0, padded[0], paddedProof(padded, 0));
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidStepProof.selector, 4));
        rollup.proveStepCount(h, 4, bytes32(0), paddedProof(padded, 3)); // outside the padded tree
        uint256 cb = CHALLENGER.balance;
        uint256 sb = SINK.balance;
        expectRevertedEvent(h, 1, CHALLENGER, BOND);
        vm.prank(CHALLENGER);
        rollup.proveStepCount(h, 3, bytes32(0), paddedProof(padded, 3));
        expectReverted(h, 1, CHALLENGER, BOND, cb, sb, 0);
    }

    function test_RevertWhen_ProveStepCountPaddingIsZero() public {
        Steps memory s = honestSteps(keccak256("s")); // 3 steps, tree of 4 with a zero leaf 3
        L1Rollup.BatchHeader memory h = postSteps(s);
        bytes32[] memory padded = new bytes32[](4);
        for (uint256 i = 0; i < 3; i++) {
            padded[i] = s.hashes[i];
        }
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotFraud.selector));
        rollup.proveStepCount(h, 3, bytes32(0), paddedProof(padded, 3));
    }

    // ---------------------------------------------------------------- proveStep

    function ctxOf(L1Rollup.BatchHeader memory h) internal pure returns (IStepVerifier.StepContext memory) {
        return IStepVerifier.StepContext(h.dataRoot, h.dataLength, h.dataKind, h.queueEnd, h.baseFee);
    }

    function test_ProveStep_NotFraudWhenVerifierAgrees() public {
        StepLeaf memory init = initialLeaf();
        Steps memory s = honestSteps(keccak256("s"));
        L1Rollup.BatchHeader memory h = postSteps(s);
        assertEq(rollup.initialLeafHash(h), stepLeafHash(init), "initial leaf");
        // Step 0 from the initial leaf.
        verifier.expectInputs(ctxOf(h), init);
        verifier.set(true, s.leaves[0]);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotFraud.selector));
        rollup.proveStep(h, 0, init, new bytes32[](0), s.leaves[0], proofOf(s, 0), "witness");
        // Step 2 from leaf 1.
        verifier.expectInputs(ctxOf(h), s.leaves[1]);
        verifier.set(true, s.leaves[2]);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotFraud.selector));
        rollup.proveStep(h, 2, s.leaves[1], proofOf(s, 1), s.leaves[2], proofOf(s, 2), "witness");
    }

    function test_ProveStep_InvalidStep() public {
        StepLeaf memory init = initialLeaf();
        Steps memory s = honestSteps(keccak256("s"));
        L1Rollup.BatchHeader memory h = postSteps(s);
        verifier.expectInputs(ctxOf(h), init);
        verifier.set(false, s.leaves[0]); // e.g. an undecodable step: `next` is meaningless
        uint256 cb = CHALLENGER.balance;
        uint256 sb = SINK.balance;
        expectRevertedEvent(h, 1, CHALLENGER, BOND);
        vm.prank(CHALLENGER);
        rollup.proveStep(h, 0, init, new bytes32[](0), s.leaves[0], proofOf(s, 0), "witness");
        expectReverted(h, 1, CHALLENGER, BOND, cb, sb, 0);
    }

    function test_ProveStep_WrongLeaf() public {
        Steps memory s = honestSteps(keccak256("s"));
        L1Rollup.BatchHeader memory h = postSteps(s);
        StepLeaf memory right = copyLeaf(s.leaves[1]);
        right.stateRoot = keccak256("what the step really gives");
        verifier.expectInputs(ctxOf(h), s.leaves[0]);
        verifier.set(true, right);
        uint256 cb = CHALLENGER.balance;
        uint256 sb = SINK.balance;
        expectRevertedEvent(h, 1, CHALLENGER, BOND);
        vm.prank(CHALLENGER);
        rollup.proveStep(h, 1, s.leaves[0], proofOf(s, 0), s.leaves[1], proofOf(s, 1), "witness");
        expectReverted(h, 1, CHALLENGER, BOND, cb, sb, 0);
    }

    function test_RevertWhen_ProveStepBadInputs() public {
        StepLeaf memory init = initialLeaf();
        Steps memory s = honestSteps(keccak256("s"));
        L1Rollup.BatchHeader memory h = postSteps(s);
        // i = 0 needs the initial leaf as prev.
        StepLeaf memory notInit = copyLeaf(init);
        notInit.queuePos += 1;
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotInitialLeaf.selector));
        rollup.proveStep(h, 0, notInit, new bytes32[](0), s.leaves[0], proofOf(s, 0), "witness");
        // prev must be leaf i - 1.
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidStepProof.selector, 1));
        rollup.proveStep(h, 2, s.leaves[0], proofOf(s, 0), s.leaves[2], proofOf(s, 2), "witness");
        // The claimed leaf must be leaf i.
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidStepProof.selector, 1));
        rollup.proveStep(h, 1, s.leaves[0], proofOf(s, 0), s.leaves[2], proofOf(s, 2), "witness");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.StepOutOfRange.selector, 3, 3));
        rollup.proveStep(h, 3, s.leaves[2], proofOf(s, 2), s.leaves[2], proofOf(s, 2), "witness");
        // A witness the verifier rejects reverts the call with the verifier's error.
        verifier.expectInputs(ctxOf(h), init);
        verifier.set(false, init);
        vm.expectRevert(abi.encodeWithSignature("Error(string)", "witness"));
        rollup.proveStep(h, 0, init, new bytes32[](0), s.leaves[0], proofOf(s, 0), "bad");
        assertEq(rollup.batchCount(), 1, "batch stands");
    }

    function test_RevertWhen_NoVerifier() public {
        L1Rollup fresh = new L1Rollup(params(address(0)));
        vm.prank(SEQUENCER);
        fresh.depositBond{value: BOND}();
        L1Rollup.BatchInput memory inp = input(keccak256("s"), 0, 0, 1);
        L1Rollup.BatchHeader memory h = expectedHeader(inp, hex"01");
        vm.prank(SEQUENCER);
        fresh.submitBatch(inp, hex"01");
        StepLeaf memory leaf;
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NoVerifier.selector));
        fresh.proveStep(h, 0, leaf, new bytes32[](0), leaf, new bytes32[](0), "");
    }

    // ---------------------------------------------------------------- successors, finality

    function test_FraudRevertsSuccessors() public {
        L1Rollup.Withdrawal[] memory ws = sampleWithdrawals();
        bytes32[] memory leaves = leavesOf(ws);
        depositEth(10 ether);
        L1Rollup.BatchHeader memory h0 = submit(input(keccak256("s0"), wRoot(leaves), 1, 2), hex"0100");
        vm.warp(block.timestamp + 60);
        Steps memory s = honestSteps(keccak256("s1"));
        s.leaves[2].stateRoot = keccak256("lie");
        seal(s);
        L1Rollup.BatchHeader memory h1 = postSteps(s);
        vm.warp(block.timestamp + 60);
        L1Rollup.BatchHeader memory h2 = submit(input(keccak256("s2"), wRoot(leaves), 2, 3), hex"0102");
        vm.warp(block.timestamp + 60);
        submit(input(keccak256("s3"), wRoot(leaves), 2, 1), hex"0103");

        uint256 cb = CHALLENGER.balance;
        uint256 sb = SINK.balance;
        expectRevertedEvent(h1, 3, CHALLENGER, BOND);
        vm.prank(CHALLENGER);
        rollup.proveLastLeaf(h1, s.leaves[2], proofOf(s, 2));
        expectReverted(h1, 3, CHALLENGER, BOND, cb, sb, 0);
        // The tip is batch 0 again.
        count = 1;
        lastHash = keccak256(abi.encode(h0));
        lastRoot = h0.stateRoot;
        lastQueueEnd = h0.queueEnd;
        lastL2Block = h0.lastBlock;
        checkTip();

        // Claims of reverted batches are refused, those of batch 0 work once it is final.
        vm.warp(block.timestamp + PERIOD);
        assertTrue(!rollup.isFinal(1) && !rollup.isFinal(2), "reverted batches are never final");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.UnknownBatch.selector, 2, 1));
        rollup.claimWithdrawal(2, ws[0], 0, siblingsOf(leaves, 0));
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.UnknownBatch.selector, 1, 1));
        rollup.claimWithdrawal(1, ws[0], 0, siblingsOf(leaves, 0));
        rollup.claimWithdrawal(0, ws[0], 0, siblingsOf(leaves, 0));
        // Nor can a reverted batch be challenged again.
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.UnknownBatch.selector, 2, 1));
        rollup.proveLastLeaf(h2, s.leaves[2], proofOf(s, 2));
    }

    function test_RevertWhen_ChallengingFinalBatch() public {
        Steps memory s = honestSteps(keccak256("s"));
        s.leaves[2].stateRoot = keccak256("lie");
        seal(s);
        L1Rollup.BatchHeader memory h = postSteps(s);
        vm.warp(h.postedAt + PERIOD);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.BatchIsFinal.selector, 0));
        rollup.proveLastLeaf(h, s.leaves[2], proofOf(s, 2));
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.BatchIsFinal.selector, 0));
        rollup.requestOpening{value: BOND / 10}(h, 0);
        vm.warp(h.postedAt + PERIOD - 1);
        vm.prank(CHALLENGER);
        rollup.proveLastLeaf(h, s.leaves[2], proofOf(s, 2)); // one second earlier it works
    }

    // ---------------------------------------------------------------- opening requests

    function request(L1Rollup.BatchHeader memory h, uint64 i) internal {
        vm.prank(CHALLENGER);
        rollup.requestOpening{value: BOND / 10}(h, i);
    }

    function test_OpeningAnswered() public {
        Steps memory s = honestSteps(keccak256("s"));
        L1Rollup.BatchHeader memory h = postSteps(s);
        bytes32 hh = keccak256(abi.encode(h));
        vm.warp(block.timestamp + 100);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.OpeningRequested(0, hh, 1, CHALLENGER, uint64(block.timestamp) + WINDOW);
        request(h, 1);
        assertEq(rollup.batch(0).openRequests, 1, "open");
        L1Rollup.OpeningRequest memory r = rollup.openingRequest(hh, 1);
        assertEq(r.requester, CHALLENGER, "requester");
        assertEq(r.status, 1, "open status");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.RequestExists.selector, 0, 1));
        request(h, 1);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.ResponseWindowOpen.selector, r.deadline));
        rollup.claimUnanswered(h, 1);
        // A wrong leaf is no answer.
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidStepProof.selector, 1));
        vm.prank(SEQUENCER);
        rollup.openStep(h, 1, s.leaves[2], proofOf(s, 1));
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.StepOpened(0, hh, 1, s.leaves[1]);
        vm.prank(SEQUENCER);
        rollup.openStep(h, 1, s.leaves[1], proofOf(s, 1));
        assertEq(rollup.bondOf(SEQUENCER), BOND + BOND / 10, "request bond to the poster");
        assertEq(rollup.batch(0).openRequests, 0, "answered");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NoOpenRequest.selector, 0, 1));
        rollup.claimUnanswered(h, 1);
        vm.warp(h.postedAt + PERIOD);
        assertTrue(rollup.isFinal(0), "final after the period");
    }

    function test_OpeningUnanswered() public {
        Steps memory s = honestSteps(keccak256("s"));
        L1Rollup.BatchHeader memory h0 = postSteps(s);
        vm.warp(block.timestamp + 10);
        L1Rollup.BatchHeader memory h1 = submit(input(keccak256("s1"), 0, lastQueueEnd, 1), hex"01");
        request(h0, 2);
        L1Rollup.OpeningRequest memory r = rollup.openingRequest(keccak256(abi.encode(h0)), 2);
        // The open request holds back batch 0 and every later batch.
        vm.warp(h1.postedAt + PERIOD);
        assertTrue(!rollup.isFinal(0) && !rollup.isFinal(1), "held back");
        L1Rollup.Withdrawal memory w = L1Rollup.Withdrawal(BOB, 0, CAROL, address(0), 1);
        bytes32[16] memory none;
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.OpeningPending.selector, 1, 0));
        rollup.claimWithdrawal(1, w, 0, none);
        vm.prank(SEQUENCER);
        rollup.leave(); // a departed operator still answers for its batches
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.BondLocked.selector, 1));
        vm.prank(SEQUENCER);
        rollup.withdrawBond();
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.ResponseWindowClosed.selector, r.deadline));
        vm.prank(SEQUENCER);
        rollup.openStep(h0, 2, s.leaves[2], proofOf(s, 2));

        uint256 cb = CHALLENGER.balance;
        uint256 sb = SINK.balance;
        expectRevertedEvent(h0, 2, CHALLENGER, BOND);
        vm.prank(ALICE); // anyone may settle it; the requester is paid
        rollup.claimUnanswered(h0, 2);
        expectReverted(h0, 2, CHALLENGER, BOND, cb, sb, BOND / 10);
        assertEq(rollup.openingRequest(keccak256(abi.encode(h0)), 2).status, 3, "settled");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NoOpenRequest.selector, 0, 2));
        rollup.claimUnanswered(h0, 2);
    }

    function test_RequestOnRevertedBatchRefunded() public {
        Steps memory s = honestSteps(keccak256("s"));
        s.leaves[2].stateRoot = keccak256("lie");
        seal(s);
        L1Rollup.BatchHeader memory h0 = postSteps(s);
        L1Rollup.BatchHeader memory h1 = submit(input(keccak256("s1"), 0, lastQueueEnd, 1), hex"01");
        request(h1, 0);
        vm.prank(ALICE);
        rollup.proveLastLeaf(h0, s.leaves[2], proofOf(s, 2)); // deletes batch 1 with its request
        uint256 cb = CHALLENGER.balance;
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.RequestRefunded(keccak256(abi.encode(h1)), 0, CHALLENGER, BOND / 10);
        rollup.claimUnanswered(h1, 0); // at once: the batch is gone
        assertEq(CHALLENGER.balance, cb + BOND / 10, "request bond back");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NoOpenRequest.selector, 1, 0));
        rollup.claimUnanswered(h1, 0);
    }

    function test_RevertWhen_RequestTooLateOrWrong() public {
        Steps memory s = honestSteps(keccak256("s"));
        L1Rollup.BatchHeader memory h = postSteps(s);
        uint64 lastAt = h.postedAt + PERIOD - WINDOW;
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.WrongRequestBond.selector, 1, BOND / 10));
        vm.prank(CHALLENGER);
        rollup.requestOpening{value: 1}(h, 0);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.StepOutOfRange.selector, 3, 3));
        request(h, 3);
        vm.warp(lastAt);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.RequestTooLate.selector, lastAt, lastAt));
        request(h, 0);
        vm.warp(lastAt - 1);
        request(h, 0); // the last second it is allowed: the answer is due when the period ends
        assertEq(rollup.openingRequest(keccak256(abi.encode(h)), 0).deadline, h.postedAt + PERIOD - 1, "deadline");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NoOpenRequest.selector, 0, 1));
        vm.prank(SEQUENCER);
        rollup.openStep(h, 1, s.leaves[1], proofOf(s, 1));
    }

    // ---------------------------------------------------------------- gas

    /// @dev Intrinsic gas of a call with `callData` (EIP-2028 pricing, EIP-7623 floor).
    function txGas(bytes memory callData, uint256 execution) internal pure returns (uint256) {
        uint256 zeros = 0;
        for (uint256 i = 0; i < callData.length; i++) {
            if (callData[i] == 0) zeros++;
        }
        uint256 tokens = zeros + 4 * (callData.length - zeros);
        uint256 standard = 21_000 + 4 * tokens + execution;
        uint256 floor = 21_000 + 10 * tokens;
        return standard > floor ? standard : floor;
    }

    /// @dev Execution gas of a call whose calldata is already encoded (so the caller's memory
    ///      expansion is not counted), reverting with the callee's error if it fails.
    function measure(address target, bytes memory callData) internal returns (uint256 used) {
        // A plain `target.call(callData)` would copy the data first (memory expansion in this frame).
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

    function gasSubmit(uint256 size, string memory label) internal {
        depositEth(1 ether);
        bytes memory data = patterned(size, size);
        L1Rollup.BatchInput memory first = input(keccak256("s1"), keccak256("w"), 1, 10);
        bytes memory cd = abi.encodeCall(L1Rollup.submitBatch, (first, data));
        vm.prank(SEQUENCER);
        uint256 used = measure(address(rollup), cd);
        emit log_named_uint(string.concat("submitBatch, first batch, ", label, " (execution gas)"), used);
        lastL2Block = 10;
        lastQueueEnd = 1;
        L1Rollup.BatchInput memory second = input(keccak256("s2"), keccak256("w"), 1, 10);
        cd = abi.encodeCall(L1Rollup.submitBatch, (second, data));
        vm.prank(SEQUENCER);
        used = measure(address(rollup), cd);
        emit log_named_uint(string.concat("submitBatch, later batch, ", label, " (execution gas)"), used);
        emit log_named_uint(string.concat("submitBatch, later batch, ", label, " (whole transaction)"), txGas(cd, used));
        used = measure(address(rollup), abi.encodeCall(L1Rollup.dataRoot, (data)));
        emit log_named_uint(string.concat("dataRoot alone, ", label, " (execution gas)"), used);
    }

    function test_GasSubmitBatch10KB() public {
        gasSubmit(10_240, "10 KiB data");
    }

    function test_GasSubmitBatch100KB() public {
        gasSubmit(102_400, "100 KiB data");
    }

    function test_GasClaim() public {
        L1Rollup.Withdrawal[] memory ws = new L1Rollup.Withdrawal[](16);
        for (uint256 i = 0; i < 16; i++) {
            ws[i] = L1Rollup.Withdrawal(BOB, i, CAROL, i % 2 == 0 ? address(0) : address(token), 1e15);
        }
        bytes32[] memory leaves = leavesOf(ws);
        uint64 index = postFinalBatch(ws);
        bytes32[16] memory s0 = siblingsOf(leaves, 0);
        bytes32[16] memory s1 = siblingsOf(leaves, 1);
        bytes memory cd = abi.encodeCall(L1Rollup.claimWithdrawal, (index, ws[0], 0, s0));
        uint256 used = measure(address(rollup), cd);
        emit log_named_uint("claimWithdrawal ETH, depth-16 tree (execution gas)", used);
        emit log_named_uint("claimWithdrawal ETH (whole transaction)", txGas(cd, used));
        used = measure(address(rollup), abi.encodeCall(L1Rollup.claimWithdrawal, (index, ws[1], 1, s1)));
        emit log_named_uint("claimWithdrawal DevToken, depth-16 tree (execution gas)", used);
    }

    function test_GasProveLastLeaf() public {
        Steps memory s = honestSteps(keccak256("s"));
        s.leaves[2].stateRoot = keccak256("lie");
        seal(s);
        L1Rollup.BatchHeader memory h = postSteps(s);
        bytes32[] memory proof = proofOf(s, 2);
        bytes memory cd = abi.encodeCall(L1Rollup.proveLastLeaf, (h, s.leaves[2], proof));
        vm.prank(CHALLENGER);
        uint256 used = measure(address(rollup), cd);
        emit log_named_uint("proveLastLeaf, 3 steps, revert + slash (execution gas)", used);
        emit log_named_uint("proveLastLeaf (whole transaction)", txGas(cd, used));
    }
}

/// @dev Worst-case fraud-proof gas measured through {L1Rollup} with the real {StepVerifier}
///      (docs/fraud-proofs.md §5.2 "Gas"). `setUp` deploys both as `loft_contracts::deploy` does,
///      rebuilds the batch data of the vector "gas: deep token withdrawal" (testdata/fraud/steps.json,
///      written by crates/fraud/src/vectors.rs: a token withdrawal with four state proofs at depth 30,
///      sixteen non-zero withdrawal siblings, the step across two chunks of a 100 KiB batch) and posts
///      it twice: batch 0 with its real 51,172 steps (a step tree of depth 16), batch 1 claiming
///      `stepCount = 2**64 - 1` (depth 64, the most the contract accepts). The committed leaf after
///      the withdrawal has a wrong state root. It also opens a request on batch 0.
///
///      Each test makes exactly one measured call, the first touch of the rollup's storage in its
///      transaction (forge runs `setUp` as a transaction of its own), so storage reads are cold as on
///      L1. "Execution gas" is the gas the call consumed (gas refunds not deducted); "whole
///      transaction" adds 21,000 and the calldata (4 gas per zero byte, 16 per other byte), or the
///      EIP-7623 floor if that is higher. Print with
///      `scripts/test-contracts.sh -vv --match-contract L1RollupFraudGasTest`.
contract L1RollupFraudGasTest {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    address private constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;
    string private constant VECTORS = "../testdata/fraud/steps.json";
    string private constant GAS_CASE = "gas: deep token withdrawal";

    address private constant SEQUENCER = address(0x5E0);
    address private constant ALICE = address(0xA11CE);
    address private constant CHALLENGER = address(0xC4A11);
    address private constant SINK = 0x000000000000000000000000000000000000dEaD;
    uint64 private constant PERIOD = 1 days;
    uint64 private constant WINDOW = 1 hours;
    uint64 private constant EXODUS = 3 days;
    uint64 private constant EPOCH = 1 days;
    uint64 private constant LIVENESS = 6 hours;
    uint64 private constant FORCE_DELAY = 12 hours;
    uint16 private constant KICK_BPS = 5000;
    uint256 private constant BOND = 1 ether;
    uint16 private constant SHARE_BPS = 5000;
    uint64 private constant MAX_DATA = 110_000;
    uint64 private constant START_TIME = 1_700_000_000;
    uint8 private constant BLOCK = 3;
    /// @dev Step index of the withdrawal in batch 1 (the depth-64 tree).
    uint64 private constant WIDE_STEP = uint64(1) << 63;

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

    L1Rollup private rollup;
    StepVerifier private verifier;
    bytes private witness;
    /// @dev Leaf `step - 1` (the vector's previous leaf), the wrong committed leaf `step`, the last leaf.
    StepLeaf private prevLeaf;
    StepLeaf private wrongLeaf;
    StepLeaf private lastLeaf;
    uint64 private step;
    L1Rollup.BatchHeader private deep;
    bytes32[] private deepPrevProof;
    bytes32[] private deepLeafProof;
    bytes32[] private deepLastProof;
    L1Rollup.BatchHeader private wide;
    bytes32[] private widePrevProof;
    bytes32[] private wideLeafProof;
    /// @dev The sink's balance after `setUp`, read there so the measured call finds the sink cold.
    uint256 private sinkBefore;

    function log(string memory label, uint256 value) internal view {
        (bool ok,) = CONSOLE.staticcall(abi.encodeWithSignature("log(string,uint256)", label, value));
        ok;
    }

    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0, a)
            mstore(0x20, b)
            h := keccak256(0, 0x40)
        }
    }

    function setUp() public {
        vm.roll(19_000_000);
        vm.warp(START_TIME);
        string memory json = vm.readFile(VECTORS);
        uint256 count = vm.parseJsonUint(json, ".count");
        Case memory c =
            abi.decode(vm.parseJsonBytes(json, string.concat(".cases[", vm.toString(count - 1), "].abi")), (Case));
        require(keccak256(bytes(c.name)) == keccak256(bytes(GAS_CASE)), "gas case last");

        // The verifier first, naming the bridge the rollup will create (as loft_contracts::deploy).
        uint256 nonce = vm.getNonce(address(this));
        address rollupAt = vm.computeCreateAddress(address(this), nonce + 1);
        address bridgeAt = vm.computeCreateAddress(rollupAt, 1);
        verifier = new StepVerifier(
            vm.parseJsonUint(json, ".chainId"),
            vm.parseJsonAddress(json, ".feeRecipient"),
            bridgeAt
        );
        rollup = new L1Rollup(
            L1Rollup.RollupParams({
                sequencer: SEQUENCER,
                challengePeriod: PERIOD,
                genesisStateRoot: c.prev.stateRoot,
                bondWei: BOND,
                challengerShareBps: SHARE_BPS,
                slashSink: SINK,
                responseWindow: WINDOW,
                maxBatchData: MAX_DATA,
                stepVerifier: address(verifier),
                exodusDelay: EXODUS,
                sequencerBid: BASE_FEE_WEI,
                epochSecs: EPOCH,
                livenessWindow: LIVENESS,
                forceInclusionDelay: FORCE_DELAY,
                kickSlashBps: KICK_BPS
            })
        );
        require(address(rollup) == rollupAt && address(rollup.bridge()) == bridgeAt, "deployment addresses");
        vm.deal(SEQUENCER, 10 ether);
        vm.deal(ALICE, 10 ether);
        vm.deal(CHALLENGER, 10 ether);
        vm.prank(SEQUENCER);
        rollup.depositBond{value: BOND}();
        // The vector's queueEnd is 2.
        for (uint256 k = 0; k < c.ctx.queueEnd; k++) {
            vm.prank(ALICE);
            rollup.bridge().depositETH{value: 1 ether}(ALICE);
        }

        bytes memory data = vectorData(c);
        require(rollup.dataRoot(data) == c.ctx.dataRoot, "rebuilt data has the vector's data root");

        // What the step really gives, and the leaves the lying poster commits to.
        (bool valid, StepLeaf memory next) = verifier.execute(c.ctx, c.prev, c.witness);
        require(valid && stepLeafHash(next) == c.nextHash, "the vector's verdict");
        witness = c.witness;
        prevLeaf = c.prev;
        wrongLeaf = next;
        wrongLeaf.stateRoot = keccak256("a state root the step does not give");
        // The data: version byte, (step - 1) two-byte block markers, the withdrawal, one block marker.
        require((c.prev.dataEnd - 1) % 2 == 0, "padding of two-byte markers");
        step = (c.prev.dataEnd - 1) / 2;
        lastLeaf = StepLeaf(BLOCK, next.queuePos, c.ctx.dataLength, next.wCount, next.wRoot, wrongLeaf.stateRoot);
        postDeep(data, c.ctx.queueEnd);
        postWide(data, c.ctx.queueEnd);

        // An open request on batch 0 (for openStep and claimUnanswered).
        vm.warp(block.timestamp + 60);
        vm.prank(CHALLENGER);
        rollup.requestOpening{value: BOND / 10}(deep, step);
        vm.warp(block.timestamp + 60);
        // The sink never received ETH: the first slash pays for creating its account (25,000).
        sinkBefore = SINK.balance;
        require(sinkBefore == 0, "empty sink");
    }

    /// @dev The vector's batch data: `0x01`, two-byte block markers `0x10 0x00`, and the chunks the
    ///      witness carries (the withdrawal and the trailing marker) at their places.
    function vectorData(Case memory c) internal pure returns (bytes memory data) {
        uint256 length = c.ctx.dataLength;
        data = new bytes(length);
        bytes32 markers = 0x0010001000100010001000100010001000100010001000100010001000100010;
        assembly ("memory-safe") {
            for { let o := 0 } lt(o, length) { o := add(o, 32) } { mstore(add(add(data, 0x20), o), markers) }
            mstore(add(add(data, 0x20), length), 0) // what the last word wrote past the end
        }
        data[0] = 0x01;
        StepVerifier.DataChunk[] memory chunks = abi.decode(c.witness, (StepVerifier.DataChunk[]));
        for (uint256 k = 0; k < chunks.length; k++) {
            bytes memory chunk = chunks[k].data;
            uint256 offset = uint256(chunks[k].index) * 1024;
            for (uint256 b = 0; b < chunk.length; b++) {
                data[offset + b] = chunk[b];
            }
        }
    }

    /// @dev Batch 0: the vector's data with its real steps (block markers, the withdrawal, a marker).
    function postDeep(bytes memory data, uint64 queueEnd) internal {
        uint64 stepCount = step + 2;
        bytes32[] memory level = new bytes32[](65_536);
        require(stepCount <= level.length, "depth 16");
        uint256 free;
        assembly ("memory-safe") {
            free := mload(0x40)
        }
        for (uint64 j = 0; j + 1 < step; j++) {
            level[j] = markerHash(3 + 2 * j);
            // Each hash allocates its leaf and encoding: reuse that memory (it is quadratic in size).
            assembly ("memory-safe") {
                mstore(0x40, free)
            }
        }
        level[step - 1] = stepLeafHash(prevLeaf);
        require(level[step - 1] == markerHash(prevLeaf.dataEnd), "the previous leaf is the last marker's");
        level[step] = stepLeafHash(wrongLeaf);
        level[step + 1] = stepLeafHash(lastLeaf);
        (bytes32 root, bytes32[][3] memory proofs) = fullTree(level, [uint256(step - 1), step, step + 1]);
        deepPrevProof = proofs[0];
        deepLeafProof = proofs[1];
        deepLastProof = proofs[2];
        // One L2 block per block marker.
        deep = post(root, stepCount, 1, stepCount - 1, data, queueEnd);
    }

    /// @dev Batch 1: the same data claiming `2**64 - 1` steps (a tree of depth 64): every leaf a
    ///      marker's but the previous and the wrong leaf at `WIDE_STEP - 1`, `WIDE_STEP`, and the
    ///      padding leaf.
    function postWide(bytes memory data, uint64 queueEnd) internal {
        uint256[] memory idxs = new uint256[](3);
        bytes32[] memory vals = new bytes32[](3);
        (idxs[0], vals[0]) = (WIDE_STEP - 1, stepLeafHash(prevLeaf));
        (idxs[1], vals[1]) = (WIDE_STEP, stepLeafHash(wrongLeaf));
        (idxs[2], vals[2]) = (type(uint64).max, bytes32(0));
        bytes32 filler = markerHash(3);
        bytes32 root;
        (root, widePrevProof) = sparseTree(64, filler, idxs, vals, WIDE_STEP - 1);
        (, wideLeafProof) = sparseTree(64, filler, idxs, vals, WIDE_STEP);
        uint64 first = deep.lastBlock + 1;
        wide = post(root, type(uint64).max, first, first, data, queueEnd);
    }

    function markerHash(uint64 dataEnd) internal view returns (bytes32) {
        return
            stepLeafHash(
                StepLeaf(BLOCK, prevLeaf.queuePos, dataEnd, prevLeaf.wCount, prevLeaf.wRoot, prevLeaf.stateRoot)
            );
    }

    function post(
        bytes32 stepsRoot,
        uint64 stepCount,
        uint64 firstBlock,
        uint64 lastBlock,
        bytes memory data,
        uint64 queueEnd
    ) internal returns (L1Rollup.BatchHeader memory h) {
        L1Rollup.BatchTip memory tip = rollup.lastBatch();
        L1Rollup.BatchInput memory inp = L1Rollup.BatchInput({
            stateRoot: wrongLeaf.stateRoot,
            withdrawalRoot: wrongLeaf.wRoot,
            stepsRoot: stepsRoot,
            queueEnd: queueEnd,
            firstBlock: firstBlock,
            lastBlock: lastBlock,
            stepCount: stepCount,
            baseFee: BASE_FEE_WEI
        });
        vm.prank(SEQUENCER);
        uint64 index = rollup.submitBatch(inp, data);
        h = L1Rollup.BatchHeader({
            index: index,
            parentHash: tip.headerHash,
            prevStateRoot: tip.stateRoot,
            stateRoot: inp.stateRoot,
            withdrawalRoot: inp.withdrawalRoot,
            stepsRoot: stepsRoot,
            dataRoot: rollup.dataRoot(data),
            dataLength: uint64(data.length),
            dataKind: 0,
            queueStart: tip.queueEnd,
            queueEnd: queueEnd,
            queueHead: rollup.bridge().queueHeadAt(queueEnd),
            firstBlock: firstBlock,
            lastBlock: lastBlock,
            stepCount: stepCount,
            postedAt: uint64(block.timestamp),
            poster: SEQUENCER,
            baseFee: BASE_FEE_WEI
        });
        require(rollup.batchHeaderHash(index) == keccak256(abi.encode(h)), "header");
    }

    /// @dev Root of the positional tree over `level` (a power of two long; overwritten) and the
    ///      paths of the leaves `targets`, from the leaf up.
    function fullTree(bytes32[] memory level, uint256[3] memory targets)
        internal
        pure
        returns (bytes32 root, bytes32[][3] memory proofs)
    {
        uint256 width = level.length;
        uint256 depth = 0;
        while ((uint256(1) << depth) < width) depth++;
        for (uint256 k = 0; k < 3; k++) {
            proofs[k] = new bytes32[](depth);
        }
        for (uint256 d = 0; d < depth; d++) {
            for (uint256 k = 0; k < 3; k++) {
                proofs[k][d] = level[(targets[k] >> d) ^ 1];
            }
            width /= 2;
            for (uint256 j = 0; j < width; j++) {
                level[j] = hashPair(level[2 * j], level[2 * j + 1]);
            }
        }
        root = level[0];
    }

    /// @dev A tree of `2**depth` leaves, all `filler` but `vals[k]` at `idxs[k]` (ascending): its
    ///      root and the path of leaf `target`, from the leaf up.
    function sparseTree(uint256 depth, bytes32 filler, uint256[] memory idxs, bytes32[] memory vals, uint256 target)
        internal
        pure
        returns (bytes32 root, bytes32[] memory proof)
    {
        proof = new bytes32[](depth);
        bytes32 def = filler;
        uint256 n = idxs.length;
        for (uint256 d = 0; d < depth; d++) {
            proof[d] = nodeAt(idxs, vals, n, (target >> d) ^ 1, def);
            uint256[] memory pIdxs = new uint256[](n);
            bytes32[] memory pVals = new bytes32[](n);
            uint256 m = 0;
            for (uint256 j = 0; j < n; j++) {
                uint256 p = idxs[j] >> 1;
                if (m != 0 && pIdxs[m - 1] == p) continue;
                pIdxs[m] = p;
                pVals[m] = hashPair(nodeAt(idxs, vals, n, 2 * p, def), nodeAt(idxs, vals, n, 2 * p + 1, def));
                m++;
            }
            (idxs, vals, n) = (pIdxs, pVals, m);
            def = hashPair(def, def);
        }
        root = n == 0 ? def : vals[0];
    }

    function nodeAt(uint256[] memory idxs, bytes32[] memory vals, uint256 n, uint256 i, bytes32 def)
        internal
        pure
        returns (bytes32)
    {
        for (uint256 j = 0; j < n; j++) {
            if (idxs[j] == i) return vals[j];
        }
        return def;
    }

    // ---------------------------------------------------------------- measuring

    /// @dev Gas the call with the pre-encoded `callData` consumes (the caller's memory is not
    ///      expanded), reverting with the callee's error if it fails. The target is warmed first, as
    ///      a transaction's `to` is.
    function measure(address target, uint256 value, bytes memory callData) internal returns (uint256 used) {
        require(target.balance != 0 || target.code.length != 0, "target");
        bool ok;
        uint256 g = gasleft();
        assembly ("memory-safe") {
            ok := call(gas(), target, value, add(callData, 0x20), mload(callData), 0, 0)
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
        uint256 standard = 21_000 + calldataGas + execution;
        uint256 floor = 21_000 + 10 * (zeros + 4 * (callData.length - zeros));
        log(string.concat(label, ": execution gas"), execution);
        log(string.concat(label, ": calldata bytes"), callData.length);
        log(string.concat(label, ": calldata gas (4 per zero byte, 16 per other)"), calldataGas);
        log(string.concat(label, ": total (21,000 + calldata + execution)"), standard);
        log(string.concat(label, ": EIP-7623 floor (21,000 + 10 per calldata token)"), floor);
    }

    /// @dev Checks a successful proof against batch `index` (the batches from it deleted, the
    ///      sequencer's whole bond slashed, half to the challenger, half to the sink).
    function expectSlashed(uint64 index, uint256 challengerBefore, uint256 refund) internal view {
        assertEq(rollup.batchCount(), index, "batches deleted from the proven one");
        assertEq(rollup.bondOf(SEQUENCER), 0, "bond slashed");
        require(rollup.barred(SEQUENCER), "sequencer barred");
        assertEq(CHALLENGER.balance, challengerBefore + BOND / 2 + refund, "challenger: exactly half the bond");
        assertEq(SINK.balance, sinkBefore + BOND / 2, "sink: exactly half the bond");
    }

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": uint mismatch"));
    }

    function proveStepCall(
        L1Rollup.BatchHeader memory h,
        uint64 i,
        bytes32[] memory prevProof,
        bytes32[] memory leafProof
    ) internal view returns (bytes memory) {
        return abi.encodeCall(L1Rollup.proveStep, (h, i, prevLeaf, prevProof, wrongLeaf, leafProof, witness));
    }

    function proveStepCase(L1Rollup.BatchHeader memory h, bytes memory cd, string memory label) internal {
        uint256 cb = CHALLENGER.balance; // the sender of a transaction is warm anyway
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.BatchesReverted(h.index, 2 - h.index, SEQUENCER, CHALLENGER, BOND, BOND / 2);
        vm.prank(CHALLENGER);
        uint256 used = measure(address(rollup), 0, cd);
        report(label, cd, used);
        expectSlashed(h.index, cb, 0);
    }

    // ---------------------------------------------------------------- the measurements

    /// The goal (docs/fraud-proofs.md §1) is at most 1,000,000 gas; only correctness is asserted.
    function test_GasProveStepWorstCase() public {
        bytes memory cd = proveStepCall(deep, step, deepPrevProof, deepLeafProof);
        proveStepCase(deep, cd, "proveStep, deep token withdrawal, 51,172 steps (depth 16)");
    }

    function test_GasProveStepMaxStepCount() public {
        bytes memory cd = proveStepCall(wide, WIDE_STEP, widePrevProof, wideLeafProof);
        proveStepCase(wide, cd, "proveStep, deep token withdrawal, 2^64 - 1 steps (depth 64)");
    }

    /// The last leaf keeps the vector's `queuePos` (1) while the header says `queueEnd = 2`.
    function test_GasProveLastLeafDeep() public {
        bytes memory cd = abi.encodeCall(L1Rollup.proveLastLeaf, (deep, lastLeaf, deepLastProof));
        uint256 cb = CHALLENGER.balance;
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.BatchesReverted(0, 2, SEQUENCER, CHALLENGER, BOND, BOND / 2);
        vm.prank(CHALLENGER);
        uint256 used = measure(address(rollup), 0, cd);
        report("proveLastLeaf, depth 16", cd, used);
        expectSlashed(0, cb, 0);
    }

    function test_GasRequestOpening() public {
        bytes memory cd = abi.encodeCall(L1Rollup.requestOpening, (deep, step - 1));
        uint256 cb = CHALLENGER.balance;
        vm.prank(CHALLENGER);
        uint256 used = measure(address(rollup), BOND / 10, cd);
        report("requestOpening", cd, used);
        assertEq(CHALLENGER.balance, cb - BOND / 10, "request bond paid");
        assertEq(rollup.batch(0).openRequests, 2, "two open requests");
    }

    function test_GasOpenStep() public {
        bytes memory cd = abi.encodeCall(L1Rollup.openStep, (deep, step, wrongLeaf, deepLeafProof));
        require(SEQUENCER.balance != 0, "warm sender");
        vm.prank(SEQUENCER);
        uint256 used = measure(address(rollup), 0, cd);
        report("openStep, depth 16", cd, used);
        assertEq(rollup.bondOf(SEQUENCER), BOND + BOND / 10, "request bond to the poster");
        assertEq(rollup.batch(0).openRequests, 0, "answered");
    }

    function test_GasClaimUnanswered() public {
        vm.warp(block.timestamp + WINDOW);
        bytes memory cd = abi.encodeCall(L1Rollup.claimUnanswered, (deep, step));
        uint256 cb = CHALLENGER.balance;
        vm.prank(CHALLENGER);
        uint256 used = measure(address(rollup), 0, cd);
        report("claimUnanswered (revert + slash + payouts)", cd, used);
        expectSlashed(0, cb, BOND / 10);
    }
}
