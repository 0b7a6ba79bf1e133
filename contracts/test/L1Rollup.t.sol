// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {L1Bridge} from "../src/L1Bridge.sol";
import {L1Rollup} from "../src/L1Rollup.sol";
import {DevToken} from "../src/dev/DevToken.sol";

/// @dev The few forge cheatcodes these tests use (forge-std is not available here).
interface Vm {
    function deal(address account, uint256 newBalance) external;
    function prank(address msgSender) external;
    function warp(uint256 newTimestamp) external;
    function roll(uint256 newHeight) external;
    function assume(bool condition) external pure;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter) external;
}

/// @dev An L1 recipient that tries to claim the same withdrawal again while being paid.
contract ReclaimingRecipient {
    L1Rollup private immutable rollup;
    uint64 private batchIndex;
    L1Rollup.Withdrawal private withdrawal;
    bytes32[] private proof;

    constructor(L1Rollup rollup_) {
        rollup = rollup_;
    }

    function arm(uint64 batchIndex_, L1Rollup.Withdrawal memory w, bytes32[] memory proof_) external {
        batchIndex = batchIndex_;
        withdrawal = w;
        proof = proof_;
    }

    receive() external payable {
        rollup.claimWithdrawal(batchIndex, withdrawal, proof);
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
    uint64 private constant PERIOD = 1 days;
    bytes32 private constant GENESIS = keccak256("genesis");
    uint64 private constant START_TIME = 1_700_000_000;

    L1Rollup private rollup;
    L1Bridge private bridge;
    DevToken private token;

    /// @dev The tip this test expects, tracked independently of the contract.
    bytes32 private lastHash;
    bytes32 private lastRoot;
    uint64 private lastQueueEnd;
    uint64 private lastL2Block;
    uint64 private count;

    function setUp() public {
        vm.roll(19_000_000);
        vm.warp(START_TIME);
        rollup = new L1Rollup(SEQUENCER, PERIOD, GENESIS);
        bridge = rollup.bridge();
        token = new DevToken("Dev", "DEV", 18);
        lastRoot = GENESIS;
        vm.deal(ALICE, 1_000 ether);
    }

    // ---------------------------------------------------------------- helpers

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
            stepRootsRoot: keccak256(abi.encode("steps", stateRoot)),
            queueEnd: queueEnd,
            firstBlock: lastL2Block + 1,
            lastBlock: lastL2Block + blocks,
            stepCount: 3
        });
    }

    /// @dev The header L1 must derive for `input` submitted now.
    function expectedHeader(L1Rollup.BatchInput memory inp, bytes memory data)
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
            stepRootsRoot: inp.stepRootsRoot,
            dataHash: keccak256(data),
            queueStart: lastQueueEnd,
            queueEnd: inp.queueEnd,
            queueHead: bridge.queueHeadAt(inp.queueEnd),
            firstBlock: inp.firstBlock,
            lastBlock: inp.lastBlock,
            stepCount: inp.stepCount,
            postedAt: uint64(block.timestamp)
        });
    }

    /// @dev Submits as the sequencer, checking the event and every view against the expected header.
    function submit(L1Rollup.BatchInput memory inp, bytes memory data) internal returns (uint64 index) {
        L1Rollup.BatchHeader memory header = expectedHeader(inp, data);
        bytes32 hash = keccak256(abi.encode(header));
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.BatchSubmitted(count, hash, header);
        vm.prank(SEQUENCER);
        index = rollup.submitBatch(inp, data);
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
        assertEq(rollup.lastStateRoot(), lastRoot, "lastStateRoot");
        assertEq(rollup.queueEnd(), lastQueueEnd, "queueEnd");
        assertEq(rollup.lastBlock(), lastL2Block, "lastBlock");
        L1Rollup.BatchTip memory tip = rollup.lastBatch();
        assertEq(tip.batchCount, count, "tip.batchCount");
        assertEq(tip.headerHash, lastHash, "tip.headerHash");
        assertEq(tip.stateRoot, lastRoot, "tip.stateRoot");
        assertEq(tip.queueEnd, lastQueueEnd, "tip.queueEnd");
        assertEq(tip.lastBlock, lastL2Block, "tip.lastBlock");
        L1Rollup.BatchRecord memory record = rollup.batch(index);
        assertEq(record.headerHash, keccak256(abi.encode(header)), "record.headerHash");
        assertEq(record.stateRoot, header.stateRoot, "record.stateRoot");
        assertEq(record.withdrawalRoot, header.withdrawalRoot, "record.withdrawalRoot");
        assertEq(record.postedAt, header.postedAt, "record.postedAt");
        assertEq(rollup.finalizedAt(index), header.postedAt + PERIOD, "finalizedAt");
    }

    function expectSubmitRevert(L1Rollup.BatchInput memory inp, bytes memory data, bytes memory err) internal {
        vm.expectRevert(err);
        vm.prank(SEQUENCER);
        rollup.submitBatch(inp, data);
    }

    function leafOf(L1Rollup.Withdrawal memory w) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(w.l2Sender, w.nonce, w.l1Recipient, w.l1Token, w.amount))));
    }

    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    /// @dev docs/rollup.md §4: commutative pair hash, an odd node at the end of a level carried up.
    function merkleRoot(bytes32[] memory leaves) internal pure returns (bytes32) {
        if (leaves.length == 0) return bytes32(0);
        bytes32[] memory level = leaves;
        while (level.length > 1) {
            bytes32[] memory next = new bytes32[]((level.length + 1) / 2);
            for (uint256 i = 0; i < next.length; i++) {
                next[i] = 2 * i + 1 < level.length ? hashPair(level[2 * i], level[2 * i + 1]) : level[2 * i];
            }
            level = next;
        }
        return level[0];
    }

    /// @dev Proof for leaf `index`: the sibling at every level that has one.
    function merkleProof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[] memory proof) {
        bytes32[] memory path = new bytes32[](64);
        uint256 depth = 0;
        bytes32[] memory level = leaves;
        while (level.length > 1) {
            uint256 sibling = index ^ 1;
            if (sibling < level.length) path[depth++] = level[sibling];
            bytes32[] memory next = new bytes32[]((level.length + 1) / 2);
            for (uint256 i = 0; i < next.length; i++) {
                next[i] = 2 * i + 1 < level.length ? hashPair(level[2 * i], level[2 * i + 1]) : level[2 * i];
            }
            level = next;
            index /= 2;
        }
        proof = new bytes32[](depth);
        for (uint256 i = 0; i < depth; i++) {
            proof[i] = path[i];
        }
    }

    /// @dev Five withdrawals (an odd count, so the last leaf is carried up): ETH and token.
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

    /// @dev Funds the bridge, posts one batch carrying `ws` and waits until it is final.
    function postFinalBatch(L1Rollup.Withdrawal[] memory ws) internal returns (uint64 index) {
        depositEth(10 ether);
        depositToken(100e18);
        index = submit(input(keccak256("s1"), merkleRoot(leavesOf(ws)), 3, 2), hex"00aa");
        vm.warp(block.timestamp + PERIOD);
    }

    // ---------------------------------------------------------------- deployment

    function test_Deployment() public view {
        assertEq(bridge.rollup(), address(rollup), "bridge.rollup");
        assertEq(rollup.sequencer(), SEQUENCER, "sequencer");
        assertEq(rollup.challengePeriod(), PERIOD, "challengePeriod");
        assertEq(rollup.genesisStateRoot(), GENESIS, "genesis");
        checkEmptyTip();
    }

    function checkEmptyTip() internal view {
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

    function test_RevertWhen_ConstructorZeroSequencer() public {
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.ZeroSequencer.selector));
        new L1Rollup(address(0), PERIOD, GENESIS);
    }

    function test_RevertWhen_ConstructorZeroChallengePeriod() public {
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.ZeroChallengePeriod.selector));
        new L1Rollup(SEQUENCER, 0, GENESIS);
    }

    // ---------------------------------------------------------------- submitBatch

    function test_SubmitChainsBatches() public {
        submit(input(keccak256("s1"), bytes32(0), 0, 1), hex"01");
        vm.warp(block.timestamp + 12);
        depositEth(1 ether);
        depositToken(5); // registration + deposit: 3 messages so far
        submit(input(keccak256("s2"), keccak256("w2"), 3, 4), hex"0203");
        vm.roll(block.number + 1);
        vm.warp(block.timestamp + 12);
        // A batch may consume no queue message, and a batch of one block.
        submit(input(keccak256("s3"), bytes32(0), 3, 1), hex"04");
        assertEq(rollup.batchCount(), 3, "three batches");
        assertEq(rollup.lastBlock(), 6, "blocks 1..6");
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
        submit(input(keccak256("a"), 0, 2, 1), hex"01"); // part of the queue
        expectSubmitRevert(
            input(0, 0, 1, 1), hex"01", abi.encodeWithSelector(L1Rollup.QueueEndBeforeStart.selector, 1, 2)
        );
        submit(input(keccak256("b"), 0, 4, 1), hex"01"); // the rest, up to the whole queue
        assertEq(rollup.queueEnd(), 4, "queueEnd");
    }

    function test_RevertWhen_NotSequencer() public {
        L1Rollup.BatchInput memory inp = input(0, 0, 0, 1);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotSequencer.selector, ALICE));
        vm.prank(ALICE);
        rollup.submitBatch(inp, hex"01");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotSequencer.selector, address(this)));
        rollup.submitBatch(inp, hex"01");
    }

    function test_RevertWhen_BlocksNotContiguous() public {
        L1Rollup.BatchInput memory inp = input(0, 0, 0, 1);
        inp.firstBlock = 0; // block 0 is genesis
        inp.lastBlock = 0;
        expectSubmitRevert(inp, hex"01", abi.encodeWithSelector(L1Rollup.NonContiguousBlocks.selector, 0, 1));
        inp.firstBlock = 2;
        inp.lastBlock = 3;
        expectSubmitRevert(inp, hex"01", abi.encodeWithSelector(L1Rollup.NonContiguousBlocks.selector, 2, 1));

        submit(input(0, 0, 0, 5), hex"01"); // blocks 1..5
        inp.firstBlock = 5; // overlap
        inp.lastBlock = 6;
        expectSubmitRevert(inp, hex"01", abi.encodeWithSelector(L1Rollup.NonContiguousBlocks.selector, 5, 6));
        inp.firstBlock = 7; // gap
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

    function test_RevertWhen_EmptyData() public {
        expectSubmitRevert(input(0, 0, 0, 1), "", abi.encodeWithSelector(L1Rollup.EmptyData.selector));
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
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.UnknownBatch.selector, 7, 1));
        rollup.claimWithdrawal(7, w, new bytes32[](0));
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

    function test_WithdrawalLeafMatchesSpec() public view {
        L1Rollup.Withdrawal memory w = L1Rollup.Withdrawal(BOB, 9, CAROL, address(token), 123);
        assertEq(rollup.withdrawalLeaf(w), leafOf(w), "leaf");
    }

    function test_ClaimEthAndToken() public {
        L1Rollup.Withdrawal[] memory ws = sampleWithdrawals();
        bytes32[] memory leaves = leavesOf(ws);
        uint64 index = postFinalBatch(ws);
        uint256 carolEth = CAROL.balance;

        for (uint256 i = 0; i < ws.length; i++) {
            bytes32[] memory proof = merkleProof(leaves, i);
            vm.expectEmit(true, true, true, true, address(rollup));
            emit L1Rollup.WithdrawalClaimed(
                index, leaves[i], ws[i].l1Recipient, ws[i].l2Sender, ws[i].nonce, ws[i].l1Token, ws[i].amount
            );
            vm.prank(ALICE); // anyone may claim; the recipient is paid
            rollup.claimWithdrawal(index, ws[i], proof);
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

    function test_OddLeafIsCarriedUp() public pure {
        bytes32[] memory leaves = new bytes32[](3);
        leaves[0] = keccak256("a");
        leaves[1] = keccak256("b");
        leaves[2] = keccak256("c");
        bytes32 root = hashPair(hashPair(leaves[0], leaves[1]), leaves[2]);
        assertEq(merkleRoot(leaves), root, "root");
        bytes32[] memory proof = merkleProof(leaves, 2);
        assertEq(proof.length, 1, "the carried leaf has one sibling");
        assertEq(proof[0], hashPair(leaves[0], leaves[1]), "sibling");
    }

    function test_SingleWithdrawalEmptyProof() public {
        L1Rollup.Withdrawal[] memory ws = new L1Rollup.Withdrawal[](1);
        ws[0] = L1Rollup.Withdrawal(BOB, 0, CAROL, address(0), 1 ether);
        uint64 index = postFinalBatch(ws); // root == leaf
        rollup.claimWithdrawal(index, ws[0], new bytes32[](0));
        assertEq(CAROL.balance, 1 ether, "paid");
    }

    function test_RevertWhen_DoubleClaim() public {
        L1Rollup.Withdrawal[] memory ws = sampleWithdrawals();
        bytes32[] memory leaves = leavesOf(ws);
        uint64 index = postFinalBatch(ws);
        bytes32[] memory proof = merkleProof(leaves, 1);
        rollup.claimWithdrawal(index, ws[1], proof);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.AlreadyClaimed.selector, leaves[1]));
        rollup.claimWithdrawal(index, ws[1], proof);
    }

    function test_RevertWhen_ReentrantClaim() public {
        ReclaimingRecipient recipient = new ReclaimingRecipient(rollup);
        L1Rollup.Withdrawal[] memory ws = sampleWithdrawals();
        ws[0].l1Recipient = address(recipient);
        bytes32[] memory leaves = leavesOf(ws);
        uint64 index = postFinalBatch(ws);
        bytes32[] memory proof = merkleProof(leaves, 0);
        recipient.arm(index, ws[0], proof);
        // The nested claim hits AlreadyClaimed, so the payout fails and the whole claim reverts.
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.EthTransferFailed.selector, address(recipient), 1 ether));
        rollup.claimWithdrawal(index, ws[0], proof);
        assertTrue(!rollup.claimed(leaves[0]), "still unclaimed");
    }

    function test_RevertWhen_BadProof() public {
        L1Rollup.Withdrawal[] memory ws = sampleWithdrawals();
        bytes32[] memory leaves = leavesOf(ws);
        uint64 index = postFinalBatch(ws);

        // Another leaf's proof.
        bytes32[] memory proof = merkleProof(leaves, 0);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidWithdrawalProof.selector, index, leaves[1]));
        rollup.claimWithdrawal(index, ws[1], proof);

        // The right proof, a changed amount.
        L1Rollup.Withdrawal memory greedy =
            L1Rollup.Withdrawal(ws[0].l2Sender, ws[0].nonce, ws[0].l1Recipient, ws[0].l1Token, 5 ether);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidWithdrawalProof.selector, index, leafOf(greedy)));
        rollup.claimWithdrawal(index, greedy, proof);

        // No proof at all.
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidWithdrawalProof.selector, index, leaves[0]));
        rollup.claimWithdrawal(index, ws[0], new bytes32[](0));
    }

    function test_RevertWhen_NotFinal() public {
        L1Rollup.Withdrawal[] memory ws = sampleWithdrawals();
        depositEth(10 ether);
        uint64 index = submit(input(keccak256("s"), merkleRoot(leavesOf(ws)), 1, 1), hex"01");
        bytes32[] memory proof = merkleProof(leavesOf(ws), 0);
        uint64 finalAt = uint64(block.timestamp) + PERIOD;
        vm.expectRevert(
            abi.encodeWithSelector(L1Rollup.BatchNotFinal.selector, index, finalAt, uint64(block.timestamp))
        );
        rollup.claimWithdrawal(index, ws[0], proof);
        vm.warp(finalAt - 1);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.BatchNotFinal.selector, index, finalAt, finalAt - 1));
        rollup.claimWithdrawal(index, ws[0], proof);
        vm.warp(finalAt);
        rollup.claimWithdrawal(index, ws[0], proof);
        assertEq(CAROL.balance, 1 ether, "paid once final");
    }

    function test_RevertWhen_WithdrawalFromBatchWithoutWithdrawals() public {
        submit(input(keccak256("s"), bytes32(0), 0, 1), hex"01");
        vm.warp(block.timestamp + PERIOD);
        L1Rollup.Withdrawal memory w = L1Rollup.Withdrawal(BOB, 0, CAROL, address(0), 1);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidWithdrawalProof.selector, 0, leafOf(w)));
        rollup.claimWithdrawal(0, w, new bytes32[](0));
    }

    function testFuzz_ClaimAnyLeaf(uint8 n, uint8 pick, uint64 seed) public {
        uint256 size = uint256(n) % 33 + 1;
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
                uint256(keccak256(abi.encode(i, seed))) % 1e18 + 1
            );
        }
        bytes32[] memory leaves = leavesOf(ws);
        uint64 index = postFinalBatch(ws);
        address to = ws[chosen].l1Recipient;
        uint256 before = ws[chosen].l1Token == address(0) ? to.balance : token.balanceOf(to);
        rollup.claimWithdrawal(index, ws[chosen], merkleProof(leaves, chosen));
        uint256 afterwards = ws[chosen].l1Token == address(0) ? to.balance : token.balanceOf(to);
        assertEq(afterwards - before, ws[chosen].amount, "paid");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.AlreadyClaimed.selector, leaves[chosen]));
        rollup.claimWithdrawal(index, ws[chosen], merkleProof(leaves, chosen));
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

    // ---------------------------------------------------------------- gas

    function test_GasSubmitBatch10KB() public {
        depositEth(1 ether);
        bytes memory data = new bytes(10_240);
        for (uint256 i = 0; i < data.length; i++) {
            data[i] = bytes1(uint8(uint256(keccak256(abi.encode(i)))));
        }
        L1Rollup.BatchInput memory first = input(keccak256("s1"), keccak256("w"), 1, 10);
        vm.prank(SEQUENCER);
        uint256 g = gasleft();
        rollup.submitBatch(first, data);
        emit log_named_uint("submitBatch, first batch, 10 KiB data (execution gas)", g - gasleft());
        lastL2Block = 10;
        lastQueueEnd = 1;
        L1Rollup.BatchInput memory second = input(keccak256("s2"), keccak256("w"), 1, 10);
        vm.prank(SEQUENCER);
        g = gasleft();
        rollup.submitBatch(second, data);
        emit log_named_uint("submitBatch, later batch, 10 KiB data (execution gas)", g - gasleft());
    }

    function test_GasClaim() public {
        L1Rollup.Withdrawal[] memory ws = new L1Rollup.Withdrawal[](16);
        for (uint256 i = 0; i < 16; i++) {
            ws[i] = L1Rollup.Withdrawal(BOB, i, CAROL, i % 2 == 0 ? address(0) : address(token), 1e15);
        }
        bytes32[] memory leaves = leavesOf(ws);
        uint64 index = postFinalBatch(ws);
        bytes32[] memory proof0 = merkleProof(leaves, 0);
        bytes32[] memory proof1 = merkleProof(leaves, 1);
        uint256 g = gasleft();
        rollup.claimWithdrawal(index, ws[0], proof0);
        emit log_named_uint("claimWithdrawal ETH, 16-leaf tree", g - gasleft());
        g = gasleft();
        rollup.claimWithdrawal(index, ws[1], proof1);
        emit log_named_uint("claimWithdrawal DevToken, 16-leaf tree", g - gasleft());
    }
}
