// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {L1Bridge} from "../src/L1Bridge.sol";
import {L1MessageQueue} from "../src/L1MessageQueue.sol";
import {L1Rollup} from "../src/L1Rollup.sol";

/// @dev The few forge cheatcodes these tests use (forge-std is not available here).
interface OpsVm {
    function deal(address account, uint256 newBalance) external;
    function prank(address msgSender) external;
    function warp(uint256 newTimestamp) external;
    function roll(uint256 newHeight) external;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter) external;
}

/// @dev Shared deployment of the operator tests (`docs/liveness.md` §2-§4).
abstract contract OperatorsBase {
    OpsVm internal constant vm = OpsVm(address(uint160(uint256(keccak256("hevm cheat code")))));

    address internal constant SEQUENCER = address(0x5E0);
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);
    address internal constant CAROL = address(0xCA401);
    address internal constant DAVE = address(0xDA7E);
    address internal constant KICKER = address(0x41C4E5);
    address internal constant SINK = 0x000000000000000000000000000000000000dEaD;
    uint64 internal constant PERIOD = 1 days;
    uint64 internal constant EXODUS = 3 days;
    uint64 internal constant EPOCH = 1 days;
    uint64 internal constant LIVENESS = 6 hours;
    uint64 internal constant FORCE_DELAY = 12 hours;
    uint16 internal constant KICK_BPS = 4000;
    uint16 internal constant SHARE_BPS = 5000;
    uint256 internal constant BOND = 1 ether;
    uint256 internal constant BID = 7;
    uint64 internal constant START = 1_700_000_000;

    L1Rollup internal rollup;
    L1Bridge internal bridge;
    uint64 internal lastL2Block;
    uint64 internal consumed;

    function params() internal pure returns (L1Rollup.RollupParams memory) {
        return L1Rollup.RollupParams({
            sequencer: SEQUENCER,
            challengePeriod: PERIOD,
            genesisStateRoot: keccak256("genesis"),
            bondWei: BOND,
            challengerShareBps: SHARE_BPS,
            slashSink: SINK,
            responseWindow: 1 hours,
            maxBatchData: 10_000,
            stepVerifier: address(0),
            exodusDelay: EXODUS,
            sequencerBid: BID,
            epochSecs: EPOCH,
            livenessWindow: LIVENESS,
            forceInclusionDelay: FORCE_DELAY,
            kickSlashBps: KICK_BPS
        });
    }

    function deploy() internal {
        vm.roll(19_000_000);
        vm.warp(START);
        vm.deal(SEQUENCER, 10 ether);
        vm.prank(SEQUENCER);
        rollup = new L1Rollup{value: BOND}(params());
        bridge = rollup.bridge();
        vm.deal(ALICE, 100 ether);
    }

    function batch(uint64 queueEnd, uint256 baseFee) internal view returns (L1Rollup.BatchInput memory) {
        return L1Rollup.BatchInput({
            stateRoot: keccak256(abi.encode(lastL2Block)),
            withdrawalRoot: bytes32(0),
            stepsRoot: keccak256("steps"),
            queueEnd: queueEnd,
            firstBlock: lastL2Block + 1,
            lastBlock: lastL2Block + 1,
            stepCount: 1,
            baseFee: baseFee
        });
    }

    function post(address poster, uint64 queueEnd) internal returns (uint64 index) {
        vm.prank(poster);
        index = rollup.submitBatch(batch(queueEnd, BID), hex"01");
        lastL2Block++;
        consumed = queueEnd;
    }

    function expectPostRevert(address poster, uint64 queueEnd, uint256 baseFee, bytes memory err) internal {
        L1Rollup.BatchInput memory inp = batch(queueEnd, baseFee);
        vm.expectRevert(err);
        vm.prank(poster);
        rollup.submitBatch(inp, hex"01");
    }

    function register(address who, uint256 bid) internal {
        vm.deal(who, who.balance + BOND);
        vm.prank(who);
        rollup.registerOperator{value: BOND}(bid);
    }

    function deposit(uint256 amount) internal returns (uint256 index) {
        vm.prank(ALICE);
        index = bridge.depositETH{value: amount}(ALICE);
    }

    function active() internal view returns (address operator, uint256 bid, uint64 start) {
        (operator, bid, start,) = rollup.activeOperator();
    }

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": uint mismatch"));
    }

    function assertEq(address a, address b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": address mismatch"));
    }

    function assertTrue(bool b, string memory what) internal pure {
        if (!b) revert(what);
    }
}

contract OperatorsTest is OperatorsBase {
    function setUp() public {
        deploy();
    }

    // ---------------------------------------------------------------- posting

    function test_only_the_active_operator_posts() public {
        register(CAROL, BID);
        expectPostRevert(CAROL, 0, BID, abi.encodeWithSelector(L1Rollup.NotActiveOperator.selector, CAROL, SEQUENCER));
        post(SEQUENCER, 0);
    }

    function test_base_fee_above_bid_refused() public {
        expectPostRevert(SEQUENCER, 0, BID + 1, abi.encodeWithSelector(L1Rollup.BaseFeeAboveBid.selector, BID + 1, BID));
        vm.prank(SEQUENCER);
        rollup.submitBatch(batch(0, BID - 1), hex"01"); // below the bid is fine
    }

    function test_forced_message_skipped_then_consumed() public {
        vm.warp(START + 100);
        vm.prank(BOB);
        bridge.forceWithdrawal(address(0), 1 ether, BOB);
        uint64 deadline = START + 100 + FORCE_DELAY;
        vm.warp(deadline - 1);
        post(SEQUENCER, 0); // not due yet: may still be left
        vm.warp(deadline);
        expectPostRevert(
            SEQUENCER, 0, BID, abi.encodeWithSelector(L1Rollup.ForcedMessageSkipped.selector, 0, deadline)
        );
        post(SEQUENCER, 1);
        assertEq(rollup.queueEnd(), 1, "consumed");
    }

    // ---------------------------------------------------------------- kick

    function test_kick_of_a_live_operator_fails() public {
        // Empty queue: never kickable.
        assertEq(rollup.kickableAt(), type(uint64).max, "empty queue");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.OperatorLive.selector, SEQUENCER, type(uint64).max));
        rollup.kick();
        // A message waits: kickable a liveness window after it.
        vm.warp(START + 1000);
        deposit(1 ether);
        uint64 at = START + 1000 + LIVENESS;
        assertEq(rollup.kickableAt(), at, "kickableAt");
        vm.warp(at - 1);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.OperatorLive.selector, SEQUENCER, at));
        rollup.kick();
        // Posting moves it (a = lastPostAt), but never past the message's deadline.
        post(SEQUENCER, 0);
        assertEq(rollup.kickableAt(), at - 1 + LIVENESS, "a window after the post");
        vm.warp(at + LIVENESS - 2);
        post(SEQUENCER, 0);
        assertEq(rollup.kickableAt(), START + 1000 + FORCE_DELAY, "capped by the deadline");
    }

    function test_kick_after_the_window_slashes_and_hands_over() public {
        register(CAROL, BID + 1);
        vm.warp(START + 1000);
        deposit(1 ether);
        vm.warp(START + 1000 + LIVENESS);
        uint256 slashed = BOND * KICK_BPS / 10_000;
        uint256 reward = slashed * SHARE_BPS / 10_000;
        uint256 sinkBefore = SINK.balance;
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.OperatorKicked(SEQUENCER, KICKER, slashed, reward);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.OperatorActivated(CAROL, BID + 1, uint64(block.timestamp));
        vm.prank(KICKER);
        rollup.kick();
        assertEq(KICKER.balance, reward, "caller reward");
        assertEq(SINK.balance - sinkBefore, slashed - reward, "sink share");
        assertEq(rollup.bondOf(SEQUENCER), BOND - slashed, "remaining bond");
        assertTrue(!rollup.operatorOf(SEQUENCER).inSet, "out of the set");
        assertTrue(!rollup.barred(SEQUENCER), "not barred");
        (address op, uint256 bid, uint64 start) = active();
        assertEq(op, CAROL, "next active at once");
        assertEq(bid, BID + 1, "its bid");
        assertEq(start, block.timestamp, "epoch starts now");
        // The new operator has a full window.
        assertEq(rollup.kickableAt(), block.timestamp + LIVENESS, "fresh window");
        expectPostRevert(
            SEQUENCER, 1, BID, abi.encodeWithSelector(L1Rollup.NotActiveOperator.selector, SEQUENCER, CAROL)
        );
        post(CAROL, 1);
        // The kicked operator may come back with a full bond.
        vm.prank(SEQUENCER);
        rollup.registerOperator{value: slashed}(BID);
        assertTrue(rollup.operatorOf(SEQUENCER).inSet, "registered again");
    }

    function test_kick_by_the_forced_message_deadline() public {
        vm.warp(START + 1000);
        vm.prank(BOB);
        bridge.forceWithdrawal(address(0), 1, BOB);
        // The operator keeps posting but never consumes the message.
        vm.warp(START + 1000 + 5 hours);
        post(SEQUENCER, 0);
        vm.warp(START + 1000 + 10 hours);
        post(SEQUENCER, 0);
        uint64 deadline = START + 1000 + FORCE_DELAY;
        assertEq(rollup.kickableAt(), deadline, "the deadline, before the window");
        vm.warp(deadline - 1);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.OperatorLive.selector, SEQUENCER, deadline));
        rollup.kick();
        vm.warp(deadline);
        vm.prank(KICKER);
        rollup.kick();
        (address op,,) = active();
        assertEq(op, address(0), "nobody left");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NoActiveOperator.selector));
        rollup.kick();
        expectPostRevert(SEQUENCER, 1, BID, abi.encodeWithSelector(L1Rollup.NoActiveOperator.selector));
    }

    // ---------------------------------------------------------------- epochs

    function test_epoch_rotation_ties_and_set_bid() public {
        register(CAROL, BID - 2);
        register(DAVE, BID - 2); // same bid, registered later
        (address op, uint256 bid, uint64 start) = active();
        assertEq(op, SEQUENCER, "the running epoch stays");
        assertEq(start, START, "from the deployment");
        vm.warp(START + EPOCH - 1);
        post(SEQUENCER, 0);
        // Next epoch: the lowest bid, ties to the earliest registration; computed lazily by the view.
        vm.warp(START + 2 * EPOCH + 5); // two whole epochs elapsed
        (op, bid, start) = active();
        assertEq(op, CAROL, "lowest bid, earliest registration");
        assertEq(bid, BID - 2, "Carol's bid");
        assertEq(start, START + 2 * EPOCH, "k whole epochs");
        // setBid applies from the next selection, not within the running epoch.
        vm.prank(CAROL);
        rollup.setBid(BID + 5);
        (op, bid, start) = active();
        assertEq(op, CAROL, "still Carol");
        assertEq(bid, BID - 2, "her epoch's bid");
        expectPostRevert(
            CAROL, 0, BID - 1, abi.encodeWithSelector(L1Rollup.BaseFeeAboveBid.selector, BID - 1, BID - 2)
        );
        vm.prank(CAROL);
        rollup.submitBatch(batch(0, BID - 2), hex"01");
        lastL2Block++;
        vm.warp(START + 3 * EPOCH);
        (op, bid,) = active();
        assertEq(op, DAVE, "Dave bids lowest now");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotOperator.selector, BOB));
        vm.prank(BOB);
        rollup.setBid(1);
    }

    function test_leave_of_the_active_operator_hands_over() public {
        uint64 index = post(SEQUENCER, 0);
        register(CAROL, BID + 3);
        vm.warp(START + 100);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.StillOperator.selector, SEQUENCER));
        vm.prank(SEQUENCER);
        rollup.withdrawBond();
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.OperatorLeft(SEQUENCER);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.OperatorActivated(CAROL, BID + 3, START + 100);
        vm.prank(SEQUENCER);
        rollup.leave();
        (address op,, uint64 start) = active();
        assertEq(op, CAROL, "Carol at once");
        assertEq(start, START + 100, "from now");
        assertEq(rollup.operators().length, 1, "one operator left");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotOperator.selector, SEQUENCER));
        vm.prank(SEQUENCER);
        rollup.leave();
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.BondLocked.selector, index));
        vm.prank(SEQUENCER);
        rollup.withdrawBond();
        vm.warp(START + PERIOD);
        uint256 before = SEQUENCER.balance;
        vm.prank(SEQUENCER);
        rollup.withdrawBond();
        assertEq(SEQUENCER.balance - before, BOND, "bond back once final");
    }

    // ---------------------------------------------------------------- registration

    function test_registration_refusals() public {
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.AlreadyOperator.selector, SEQUENCER));
        vm.prank(SEQUENCER);
        rollup.registerOperator(BID);
        vm.deal(BOB, BOND);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InsufficientBond.selector, BOB, BOND - 1, BOND));
        vm.prank(BOB);
        rollup.registerOperator{value: BOND - 1}(BID);
        // A bond deposited before counts.
        vm.prank(BOB);
        rollup.depositBond{value: BOND / 2}();
        vm.prank(BOB);
        rollup.registerOperator{value: BOND / 2}(BID);
        assertEq(rollup.operatorOf(BOB).order, 2, "second registration");
        // Up to MAX_OPERATORS.
        for (uint256 k = 2; k < rollup.MAX_OPERATORS(); ++k) {
            register(address(uint160(0x1000 + k)), BID);
        }
        assertEq(rollup.operators().length, 32, "full");
        vm.deal(CAROL, BOND);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.OperatorSetFull.selector, 32));
        vm.prank(CAROL);
        rollup.registerOperator{value: BOND}(BID);
    }

    function test_registration_when_nobody_is_active_activates_at_once() public {
        vm.prank(SEQUENCER);
        rollup.leave();
        (address op,,) = active();
        assertEq(op, address(0), "empty set");
        vm.warp(START + 77);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit L1Rollup.OperatorActivated(CAROL, 9, START + 77);
        register(CAROL, 9);
        uint64 start;
        (op,, start) = active();
        assertEq(op, CAROL, "active at once");
        assertEq(start, START + 77, "epoch from now");
    }

    // ---------------------------------------------------------------- refunds after a freeze

    struct Msg {
        uint256 index;
        uint8 kind;
        address sender;
        uint64 blockNumber;
        uint64 timestamp;
        bytes payload;
    }

    function depositMsg(uint256 amount) internal returns (Msg memory m) {
        m.index = deposit(amount);
        m.kind = 0;
        m.sender = ALICE;
        m.blockNumber = uint64(block.number);
        m.timestamp = uint64(block.timestamp);
        m.payload = abi.encode(address(0), ALICE, ALICE, amount);
    }

    function refund(L1Rollup.BatchHeader memory h, Msg memory m) internal {
        bridge.refundDeposit(h, m.index, m.kind, m.sender, m.blockNumber, m.timestamp, m.payload);
    }

    function test_refund_deposit_after_freeze() public {
        Msg memory m0 = depositMsg(1 ether);
        L1Rollup.BatchInput memory inp = batch(1, BID);
        vm.prank(SEQUENCER);
        rollup.submitBatch(inp, hex"01");
        L1Rollup.BatchHeader memory h0 = L1Rollup.BatchHeader({
            index: 0,
            parentHash: bytes32(0),
            prevStateRoot: keccak256("genesis"),
            stateRoot: inp.stateRoot,
            withdrawalRoot: inp.withdrawalRoot,
            stepsRoot: inp.stepsRoot,
            dataRoot: keccak256(hex"01"),
            dataLength: 1,
            dataKind: 0,
            queueStart: 0,
            queueEnd: 1,
            queueHead: bridge.queueHeadAt(1),
            firstBlock: 1,
            lastBlock: 1,
            stepCount: 1,
            postedAt: START,
            poster: SEQUENCER,
            baseFee: BID
        });
        assertTrue(rollup.batchHeaderHash(0) == keccak256(abi.encode(h0)), "header");
        vm.roll(block.number + 1);
        Msg memory m1 = depositMsg(2 ether);
        vm.prank(BOB);
        bridge.forceWithdrawal(address(0), 5, BOB);
        Msg memory m2 = Msg(2, 3, BOB, uint64(block.number), uint64(block.timestamp), abi.encode(address(0), 5, BOB));

        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotFrozen.selector));
        refund(h0, m1);
        vm.warp(START + PERIOD); // batch 0 final
        vm.warp(rollup.freezableAt());
        rollup.freeze();
        assertEq(rollup.finalizedBatchCount(), 1, "batch 0 final");
        assertEq(rollup.refundFloor(h0), 1, "batch 0 consumed one message");

        vm.expectRevert(abi.encodeWithSelector(L1Bridge.DepositConsumed.selector, 0, 1));
        refund(h0, m0);
        h0.queueEnd = 0; // not batch 0's header
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.WrongHeader.selector, 0));
        refund(h0, m1);
        h0.queueEnd = 1;
        Msg memory forged = depositMsg(0.5 ether); // index 3, then claimed as more
        forged.payload = abi.encode(address(0), ALICE, ALICE, 3 ether);
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.WrongMessage.selector, 3));
        refund(h0, forged);
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.NotADeposit.selector, 3));
        refund(h0, m2);

        uint256 before = ALICE.balance;
        vm.expectEmit(true, true, true, true, address(bridge));
        emit L1Bridge.DepositRefunded(1, ALICE, address(0), 2 ether);
        vm.prank(BOB); // anyone may; the depositor is paid
        refund(h0, m1);
        assertEq(ALICE.balance - before, 2 ether, "refunded exactly");
        assertTrue(bridge.refunded(1), "marked");
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.AlreadyRefunded.selector, 1));
        refund(h0, m1);
        // What is left in the bridge: batch 0's deposit (exited from the state) and the 0.5 ETH one.
        assertEq(address(bridge).balance, 1.5 ether, "bridge balance");
    }

    function test_refund_with_no_final_batch_starts_at_zero() public {
        Msg memory m0 = depositMsg(1 ether);
        vm.warp(rollup.freezableAt());
        rollup.freeze();
        L1Rollup.BatchHeader memory ignored;
        assertEq(rollup.refundFloor(ignored), 0, "no final batch");
        refund(ignored, m0);
        assertEq(address(bridge).balance, 0, "bridge empty");
    }
}

/// @dev Gas of {L1Rollup.kick} and {L1Bridge.forceWithdrawal}, each the first touch of the contracts'
///      storage in its test transaction (cold, as on L1). Print with
///      `scripts/test-contracts.sh -vv --match-contract OperatorsGasTest`.
contract OperatorsGasTest is OperatorsBase {
    address private constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;

    function log(string memory label, uint256 value) internal view {
        (bool ok,) = CONSOLE.staticcall(abi.encodeWithSignature("log(string,uint256)", label, value));
        ok;
    }

    function setUp() public {
        deploy();
        register(CAROL, BID + 1);
        vm.prank(BOB);
        bridge.forceWithdrawal(address(0), 1 ether, BOB);
        vm.warp(START + LIVENESS);
        // The sink and the kicker exist already (a first payment would add 25,000 each).
        vm.deal(SINK, 1);
        vm.deal(KICKER, 1);
    }

    function test_gas_kick() public {
        vm.prank(KICKER);
        uint256 g = gasleft();
        rollup.kick();
        log("kick, 2 operators, slash + two payouts (execution gas)", g - gasleft());
        (address op,,,) = rollup.activeOperator();
        require(op == CAROL, "handed over");
    }

    function test_gas_force_withdrawal() public {
        vm.prank(ALICE);
        uint256 g = gasleft();
        bridge.forceWithdrawal(address(0), 1 ether, ALICE);
        log("forceWithdrawal, second message (execution gas)", g - gasleft());
    }
}
