// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {L1Bridge} from "../src/L1Bridge.sol";
import {L1Rollup} from "../src/L1Rollup.sol";
import {DevToken} from "../src/dev/DevToken.sol";
import {SparseMerkle} from "../src/lib/SparseMerkle.sol";

/// @dev The L2 base fee the test batches claim (the vectors' base fee, crates/fraud/src/vectors.rs).
uint256 constant BASE_FEE_WEI = 7;

/// @dev The few forge cheatcodes these tests use (forge-std is not available here).
interface ExodusVm {
    function deal(address account, uint256 newBalance) external;
    function prank(address msgSender) external;
    function warp(uint256 newTimestamp) external;
    function etch(address target, bytes calldata code) external;
    function expectRevert(bytes calldata revertData) external;
    function readFile(string calldata path) external view returns (string memory);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonAddress(string calldata json, string calldata key) external pure returns (address);
    function parseJsonBytes32(string calldata json, string calldata key) external pure returns (bytes32);
    function parseJsonBytes32Array(string calldata json, string calldata key) external pure returns (bytes32[] memory);
}

/// @title The escape hatch of L1Rollup (`docs/escape-hatch.md`): {freeze} and {exit}, with real
///        state proofs from `testdata/exit/fixture.json` (written by `bin/loft/src/exit.rs`).
contract ExodusTest {
    ExodusVm private constant vm = ExodusVm(address(uint160(uint256(keccak256("hevm cheat code")))));

    event log_named_uint(string key, uint256 val);

    address private constant SEQUENCER = address(0x5E0);
    address private constant CAROL = address(0xCA401);
    uint64 private constant PERIOD = 1 days;
    uint64 private constant WINDOW = 1 hours;
    uint64 private constant EXODUS = 3 days;
    uint64 private constant EPOCH = 1 days;
    uint64 private constant LIVENESS = 6 hours;
    uint64 private constant FORCE_DELAY = 12 hours;
    uint16 private constant KICK_BPS = 5000;
    uint256 private constant BOND = 1 ether;
    bytes32 private constant GENESIS = keccak256("genesis");
    uint64 private constant START = 1_700_000_000;

    L1Rollup private rollup;
    L1Bridge private bridge;
    DevToken private token;
    string private json;
    bytes32 private root;
    address private alice;
    address private bob;
    uint64 private lastL2Block;

    function setUp() public {
        vm.warp(START);
        json = vm.readFile("../testdata/exit/fixture.json");
        root = vm.parseJsonBytes32(json, ".root");
        alice = vm.parseJsonAddress(json, ".alice");
        bob = vm.parseJsonAddress(json, ".bob");
        vm.deal(SEQUENCER, 10 ether);
        vm.prank(SEQUENCER);
        rollup = new L1Rollup{value: BOND}(params(EXODUS));
        bridge = rollup.bridge();
        // The fixture's L1 token: a dev token's code at the fixture's address.
        address l1Token = vm.parseJsonAddress(json, ".l1Token");
        DevToken impl = new DevToken("Dev", "DEV", 18);
        vm.etch(l1Token, address(impl).code);
        token = DevToken(l1Token);
        token.mint(address(bridge), 700);
        vm.deal(address(bridge), 7 ether);
    }

    function params(uint64 exodusDelay) internal pure returns (L1Rollup.RollupParams memory) {
        return L1Rollup.RollupParams({
            sequencer: SEQUENCER,
            challengePeriod: PERIOD,
            genesisStateRoot: GENESIS,
            bondWei: BOND,
            challengerShareBps: 5000,
            slashSink: 0x000000000000000000000000000000000000dEaD,
            responseWindow: WINDOW,
            maxBatchData: 10_000,
            stepVerifier: address(0),
            exodusDelay: exodusDelay,
            sequencerBid: BASE_FEE_WEI,
            epochSecs: EPOCH,
            livenessWindow: LIVENESS,
            forceInclusionDelay: FORCE_DELAY,
            kickSlashBps: KICK_BPS
        });
    }

    // ---------------------------------------------------------------- helpers

    function post(bytes32 stateRoot, bytes32 withdrawalRoot) internal returns (uint64) {
        uint64 first = lastL2Block + 1;
        lastL2Block = first;
        L1Rollup.BatchInput memory input = L1Rollup.BatchInput({
            stateRoot: stateRoot,
            withdrawalRoot: withdrawalRoot,
            stepsRoot: keccak256("steps"),
            queueEnd: 0,
            firstBlock: first,
            lastBlock: first,
            stepCount: 1,
            baseFee: BASE_FEE_WEI
        });
        vm.prank(SEQUENCER);
        return rollup.submitBatch(input, hex"01");
    }

    function proof(string memory leaf) internal view returns (SparseMerkle.Proof memory p) {
        string memory k = string.concat(".", leaf, ".proof");
        p.siblings = vm.parseJsonBytes32Array(json, string.concat(k, ".siblings"));
        p.terminal = uint8(vm.parseJsonUint(json, string.concat(k, ".terminal")));
        p.otherKey = vm.parseJsonBytes32(json, string.concat(k, ".otherKey"));
        p.otherValueHash = vm.parseJsonBytes32(json, string.concat(k, ".otherValueHash"));
    }

    function key(string memory leaf) internal view returns (bytes32) {
        return vm.parseJsonBytes32(json, string.concat(".", leaf, ".proof.key"));
    }

    function num(string memory path) internal view returns (uint256) {
        return vm.parseJsonUint(json, path);
    }

    /// @dev With batch 0 final at `START + PERIOD`: posts batch 1 late enough that it is still in
    ///      its challenge period at the freeze time `START + PERIOD + EXODUS`, and goes there.
    function postPendingThenWarpToFreeze(bytes32 stateRoot, bytes32 withdrawalRoot) internal {
        vm.warp(START + EXODUS + 1);
        post(stateRoot, withdrawalRoot);
        vm.warp(START + PERIOD + EXODUS);
        assertEq(rollup.freezableAt(), START + PERIOD + EXODUS, "freeze time");
    }

    /// @dev Batch 0 holds the fixture root and is final; batch 1 (another root) is pending; then
    ///      the clock runs to the freeze time and the rollup is frozen.
    function finalThenFrozen() internal {
        post(root, rollup.EMPTY_W_ROOT());
        vm.warp(START + PERIOD);
        postPendingThenWarpToFreeze(keccak256("pending"), rollup.EMPTY_W_ROOT());
        rollup.freeze();
    }

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": uint mismatch"));
    }

    function assertTrue(bool b, string memory what) internal pure {
        if (!b) revert(what);
    }

    // ---------------------------------------------------------------- parameters

    function test_constructor_refuses_exodus_delay_not_above_challenge_period_and_delays() public {
        uint64 minimum = PERIOD + FORCE_DELAY + LIVENESS;
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.ExodusDelayTooShort.selector, PERIOD, minimum));
        new L1Rollup(params(PERIOD));
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.ExodusDelayTooShort.selector, minimum, minimum));
        new L1Rollup(params(minimum));
        new L1Rollup(params(minimum + 1));
    }

    // ---------------------------------------------------------------- freeze

    function test_freeze_without_final_batch_counts_from_deployment() public {
        assertEq(rollup.deployedAt(), START, "deployedAt");
        assertEq(rollup.freezableAt(), START + EXODUS, "freezableAt");
        assertTrue(rollup.lastFinalizedStateRoot() == GENESIS, "genesis root");
        vm.warp(START + EXODUS - 1);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotFreezable.selector, START + EXODUS, START + EXODUS - 1));
        rollup.freeze();
        vm.warp(START + EXODUS);
        vm.prank(CAROL);
        rollup.freeze();
        assertEq(rollup.frozenAt(), START + EXODUS, "frozenAt");
        assertEq(rollup.finalizedBatchCount(), 0, "no final batch");
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.Frozen.selector));
        rollup.freeze();
    }

    function test_freeze_counts_from_the_last_final_batch() public {
        post(root, rollup.EMPTY_W_ROOT());
        // Not final yet: the reference is still the deployment.
        assertEq(rollup.freezableAt(), START + EXODUS, "before finality");
        vm.warp(START + PERIOD);
        assertEq(rollup.finalizedBatchCount(), 1, "final");
        assertTrue(rollup.lastFinalizedStateRoot() == root, "final root");
        assertEq(rollup.freezableAt(), START + PERIOD + EXODUS, "from finalizedAt(0)");
        // A batch posted too late to be final by then does not move it; one that became final would.
        vm.warp(START + EXODUS + 1);
        post(keccak256("pending"), rollup.EMPTY_W_ROOT());
        assertEq(rollup.freezableAt(), START + PERIOD + EXODUS, "pending batch");
        vm.warp(START + PERIOD + EXODUS - 1);
        vm.expectRevert(
            abi.encodeWithSelector(L1Rollup.NotFreezable.selector, START + PERIOD + EXODUS, START + PERIOD + EXODUS - 1)
        );
        rollup.freeze();
        vm.warp(START + PERIOD + EXODUS);
        rollup.freeze();
        assertEq(rollup.finalizedBatchCount(), 1, "one final batch");
        assertTrue(rollup.lastFinalizedStateRoot() == root, "exit root");
    }

    function test_a_live_operator_cannot_be_frozen() public {
        // A batch every EXODUS - PERIOD seconds: each becomes final before the freeze time.
        for (uint256 i = 0; i < 5; ++i) {
            post(keccak256(abi.encode(i)), rollup.EMPTY_W_ROOT());
            vm.warp(block.timestamp + EXODUS - PERIOD);
            uint64 freezeAt = rollup.freezableAt();
            vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotFreezable.selector, freezeAt, uint64(block.timestamp)));
            rollup.freeze();
        }
    }

    function test_frozen_rollup_refuses_posting_and_challenges() public {
        finalThenFrozen();
        L1Rollup.BatchInput memory input;
        input.firstBlock = lastL2Block + 1;
        input.lastBlock = lastL2Block + 1;
        input.stepCount = 1;
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.Frozen.selector));
        rollup.submitBatch(input, hex"01");
        L1Rollup.BatchHeader memory h;
        h.index = 1;
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.Frozen.selector));
        rollup.requestOpening(h, 0);
        bytes32[] memory none = new bytes32[](0);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.Frozen.selector));
        rollup.proveStepCount(h, 0, bytes32(0), none);
        // The pending batch never becomes final.
        vm.warp(block.timestamp + 30 days);
        assertTrue(rollup.isFinal(0), "batch 0 final");
        assertTrue(!rollup.isFinal(1), "batch 1 never final");
        // Bonds are free once frozen (after leaving the operator set).
        vm.prank(SEQUENCER);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.StillOperator.selector, SEQUENCER));
        rollup.withdrawBond();
        vm.prank(SEQUENCER);
        rollup.leave();
        uint256 before = SEQUENCER.balance;
        vm.prank(SEQUENCER);
        rollup.withdrawBond();
        assertEq(SEQUENCER.balance - before, BOND, "bond back");
    }

    function test_withdrawals_of_final_batches_stay_claimable_after_freeze() public {
        // One withdrawal at position 0 of batch 0, one of the pending batch 1.
        L1Rollup.Withdrawal memory w = L1Rollup.Withdrawal(alice, 1, CAROL, address(0), 1 ether);
        bytes32[16] memory siblings;
        bytes32 z = bytes32(0);
        bytes32 node = rollup.withdrawalLeaf(w);
        for (uint256 k = 0; k < 16; ++k) {
            siblings[k] = z;
            node = keccak256(abi.encode(node, z));
            z = keccak256(abi.encode(z, z));
        }
        post(root, node);
        vm.warp(START + PERIOD);
        postPendingThenWarpToFreeze(keccak256("pending"), node);
        rollup.freeze();
        vm.deal(address(bridge), 8 ether);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.Frozen.selector));
        rollup.claimWithdrawal(1, w, 0, siblings);
        vm.warp(block.timestamp + 30 days);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.Frozen.selector));
        rollup.claimWithdrawal(1, w, 0, siblings);
        rollup.claimWithdrawal(0, w, 0, siblings);
        assertEq(CAROL.balance, 1 ether, "claimed");
    }

    // ---------------------------------------------------------------- exit

    function test_exit_pays_eth_and_token_balances_once() public {
        finalThenFrozen();
        uint256 eth = num(".aliceEth.balance");
        uint256 before = alice.balance;
        vm.prank(alice);
        rollup.exit(alice, address(0), num(".aliceEth.nonce"), eth, proof("aliceEth"));
        assertEq(alice.balance - before, eth, "alice ETH");
        assertTrue(rollup.exited(key("aliceEth")), "marked");
        vm.prank(alice);
        rollup.exit(alice, address(token), 0, num(".aliceToken.balance"), proof("aliceToken"));
        assertEq(token.balanceOf(alice), 700, "alice tokens");
        vm.prank(bob);
        rollup.exit(bob, address(0), 0, num(".bobEth.balance"), proof("bobEth"));
        assertEq(bob.balance, 2 ether, "bob ETH");
        assertEq(address(bridge).balance, 0, "bridge ETH empty");
        assertEq(token.balanceOf(address(bridge)), 0, "bridge tokens empty");
        // Second exits.
        SparseMerkle.Proof memory p = proof("aliceEth");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.AlreadyExited.selector, key("aliceEth")));
        rollup.exit(alice, address(0), 3, eth, p);
        p = proof("aliceToken");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.AlreadyExited.selector, key("aliceToken")));
        rollup.exit(alice, address(token), 0, 700, p);
    }

    function test_exit_refusals() public {
        SparseMerkle.Proof memory p = proof("aliceEth");
        uint256 eth = num(".aliceEth.balance");
        // Before the freeze.
        post(root, rollup.EMPTY_W_ROOT());
        vm.warp(START + PERIOD);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotFrozen.selector));
        rollup.exit(alice, address(0), 3, eth, p);
        vm.warp(rollup.freezableAt());
        rollup.freeze();
        // Another account's leaf: by the wrong caller, or claimed for the caller's own key.
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NotAccountOwner.selector, alice, bob));
        rollup.exit(alice, address(0), 3, eth, p);
        bytes32 bobKey = key("bobEth");
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidExitProof.selector, bobKey));
        rollup.exit(bob, address(0), 3, eth, p);
        // Wrong balance, wrong nonce.
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidExitProof.selector, key("aliceEth")));
        rollup.exit(alice, address(0), 3, eth + 1, p);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidExitProof.selector, key("aliceEth")));
        rollup.exit(alice, address(0), 2, eth, p);
        // Nothing, or a token leaf with a nonce, or a token the account holds none of on L2.
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NothingToExit.selector));
        rollup.exit(alice, address(0), 3, 0, p);
        SparseMerkle.Proof memory tp = proof("aliceToken");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.NonceOnTokenLeaf.selector, 1));
        rollup.exit(alice, address(token), 1, 700, tp);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidExitProof.selector, key("aliceToken")));
        rollup.exit(alice, address(token), 0, 701, tp);
        // The ETH proof presented as a token leaf.
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidExitProof.selector, key("aliceToken")));
        rollup.exit(alice, address(token), 0, eth, p);
        // Nothing was paid.
        assertEq(address(bridge).balance, 7 ether, "bridge ETH");
    }

    function test_exit_proves_against_the_last_final_root_not_a_pending_one() public {
        // Batch 0 final with another root, batch 1 (the fixture root) pending at the freeze.
        post(keccak256("other"), rollup.EMPTY_W_ROOT());
        vm.warp(START + PERIOD);
        postPendingThenWarpToFreeze(root, rollup.EMPTY_W_ROOT());
        rollup.freeze();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(L1Rollup.InvalidExitProof.selector, key("aliceEth")));
        rollup.exit(alice, address(0), 3, num(".aliceEth.balance"), proof("aliceEth"));
    }

    function test_gas_freeze_and_exit() public {
        post(root, rollup.EMPTY_W_ROOT());
        vm.warp(START + PERIOD);
        postPendingThenWarpToFreeze(keccak256("pending"), rollup.EMPTY_W_ROOT());
        uint256 g = gasleft();
        rollup.freeze();
        emit log_named_uint("gas freeze (1 final batch to scan)", g - gasleft());
        SparseMerkle.Proof memory p = proof("aliceEth");
        uint256 eth = num(".aliceEth.balance");
        vm.prank(alice);
        g = gasleft();
        rollup.exit(alice, address(0), 3, eth, p);
        emit log_named_uint("gas exit ETH", g - gasleft());
        emit log_named_uint("  proof depth", p.siblings.length);
        p = proof("aliceToken");
        vm.prank(alice);
        g = gasleft();
        rollup.exit(alice, address(token), 0, 700, p);
        emit log_named_uint("gas exit token", g - gasleft());
        emit log_named_uint("  proof depth", p.siblings.length);
    }
}
