// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {L1Bridge} from "../src/L1Bridge.sol";
import {L1MessageQueue} from "../src/L1MessageQueue.sol";
import {DevToken} from "../src/dev/DevToken.sol";

/// @dev The few forge cheatcodes these tests use (forge-std is not available here).
interface Vm {
    function deal(address account, uint256 newBalance) external;
    function prank(address msgSender) external;
    function warp(uint256 newTimestamp) external;
    function roll(uint256 newHeight) external;
    function assume(bool condition) external pure;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter)
        external;
}

/// @dev Token that burns `feeBps` basis points of every transfer (a fee-on-transfer token).
contract FeeOnTransferToken is ERC20 {
    uint256 public immutable feeBps;

    constructor(uint256 feeBps_) ERC20("Fee", "FEE") {
        feeBps = feeBps_;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = value * feeBps / 10_000;
            super._update(from, address(0), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}

/// @dev Token whose transferFrom returns nothing (like USDT) or `false` instead of reverting.
contract OddToken {
    bool public immutable returnsFalse;
    mapping(address => uint256) public balanceOf;

    constructor(bool returnsFalse_) {
        returnsFalse = returnsFalse_;
    }

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    function transferFrom(address from, address to, uint256 amount) external {
        if (returnsFalse) {
            assembly {
                mstore(0, 0)
                return(0, 32)
            }
        }
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
    }
}

/// @dev Token that calls back into the bridge from transferFrom.
contract ReentrantToken is ERC20 {
    L1Bridge private immutable bridge;

    constructor(L1Bridge bridge_) ERC20("Re", "RE") {
        bridge = bridge_;
    }

    function transferFrom(address, address, uint256) public override returns (bool) {
        bridge.depositERC20(address(this), address(0xB0B), 1);
        return true;
    }
}

/// @dev Bare token (balances and transferFrom only); subclasses add odd metadata getters.
contract BareToken {
    mapping(address => uint256) public balanceOf;

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        return true;
    }
}

/// @dev `name()` reverts; symbol and decimals are fine.
contract RevertingNameToken is BareToken {
    function name() external pure returns (string memory) {
        revert("no name");
    }

    function symbol() external pure returns (string memory) {
        return "RNT";
    }

    function decimals() external pure returns (uint8) {
        return 6;
    }
}

/// @dev MKR-style metadata: name and symbol are bytes32.
contract Bytes32MetadataToken is BareToken {
    function name() external pure returns (bytes32) {
        return "Maker";
    }

    function symbol() external pure returns (bytes32) {
        return "MKR";
    }

    function decimals() external pure returns (uint8) {
        return 18;
    }
}

/// @dev Metadata that is there but malformed, or hostile.
contract GarbageMetadataToken is BareToken {
    /// @dev Burns all the gas it gets.
    function name() external pure returns (string memory) {
        while (true) {}
        return "";
    }

    /// @dev A string whose length points past the end of the return data.
    function symbol() external pure returns (string memory) {
        assembly {
            mstore(0, 32)
            mstore(32, 1000)
            return(0, 96)
        }
    }

    /// @dev Does not fit a uint8.
    function decimals() external pure returns (uint256) {
        return 300;
    }
}

/// @dev Answers with more return data than the bridge accepts for metadata.
contract HugeMetadataToken is BareToken {
    function name() external pure returns (string memory) {
        assembly {
            mstore(0, 32)
            mstore(32, 5000)
            return(0, 5064)
        }
    }

    /// @dev 40 bytes: neither a bytes32 nor an ABI string.
    function symbol() external pure returns (string memory) {
        assembly {
            return(0, 40)
        }
    }

    function decimals() external pure returns (uint8) {
        return 0;
    }
}

contract L1BridgeTest {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint8 private constant KIND_DEPOSIT = 0;
    uint8 private constant KIND_REGISTER_TOKEN = 1;
    address private constant ALICE = address(0xA11CE);
    address private constant BOB = address(0xB0B);
    address private constant CAROL = address(0xCA401);

    L1Bridge private bridge;
    DevToken private token;

    /// @dev Heads recomputed independently of the contract, one per message.
    bytes32[] private expectedHeads;

    /// @dev Whether `token` was deposited already (its registration was queued).
    bool private tokenSeen;

    function setUp() public {
        // Distinct block number and timestamp, so a chain that mixed them up would not match.
        vm.roll(19_000_000);
        vm.warp(1_700_000_000);
        bridge = new L1Bridge();
        token = new DevToken("Dev", "DEV", 18);
        vm.deal(ALICE, 1_000 ether);
        vm.deal(BOB, 1_000 ether);
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

    function depositPayload(address l1Token, address from, address to, uint256 amount)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encode(l1Token, from, to, amount);
    }

    /// @dev Appends the head the contract must produce for the next message (sent in this block).
    function pushExpected(uint8 kind, address sender, bytes memory payload) internal returns (bytes32 head) {
        uint256 index = expectedHeads.length;
        bytes32 previous = index == 0 ? bytes32(0) : expectedHeads[index - 1];
        head = keccak256(
            abi.encode(
                previous,
                index,
                kind,
                sender,
                uint64(block.number),
                uint64(block.timestamp),
                keccak256(payload)
            )
        );
        expectedHeads.push(head);
    }

    function checkChain() internal view {
        uint256 n = expectedHeads.length;
        assertEq(bridge.queueLength(), n, "queueLength");
        assertEq(bridge.queueHeadAt(0), bytes32(0), "queueHeadAt(0)");
        for (uint256 i = 0; i < n; i++) {
            assertEq(bridge.queueHeadAt(i + 1), expectedHeads[i], "queueHeadAt");
        }
        assertEq(bridge.queueHead(), n == 0 ? bytes32(0) : expectedHeads[n - 1], "queueHead");
    }

    function expectQueued(address sender, bytes memory payload) internal {
        expectQueued(KIND_DEPOSIT, sender, payload);
    }

    function expectQueued(uint8 kind, address sender, bytes memory payload) internal {
        uint256 index = expectedHeads.length;
        bytes32 head = pushExpected(kind, sender, payload);
        vm.expectEmit(true, true, true, true, address(bridge));
        emit L1MessageQueue.MessageQueued(
            index, kind, sender, head, uint64(block.number), uint64(block.timestamp), payload
        );
    }

    /// @dev Expects the registration message the bridge queues before the first deposit of `l1Token`.
    function expectRegistration(
        address sender,
        address l1Token,
        string memory name,
        string memory symbol,
        uint8 decimals
    ) internal {
        expectQueued(KIND_REGISTER_TOKEN, sender, abi.encode(l1Token, name, symbol, decimals));
    }

    function depositEthAs(address from, address to, uint256 amount) internal {
        uint256 expectedIndex = expectedHeads.length;
        expectQueued(from, depositPayload(address(0), from, to, amount));
        vm.prank(from);
        uint256 index = bridge.depositETH{value: amount}(to);
        assertEq(index, expectedIndex, "index");
    }

    function depositTokenAs(address from, address to, uint256 amount) internal {
        token.mint(from, amount);
        vm.prank(from);
        token.approve(address(bridge), amount);
        if (!tokenSeen) {
            tokenSeen = true;
            expectRegistration(from, address(token), "Dev", "DEV", 18);
        }
        uint256 expectedIndex = expectedHeads.length;
        expectQueued(from, depositPayload(address(token), from, to, amount));
        vm.prank(from);
        uint256 index = bridge.depositERC20(address(token), to, amount);
        assertEq(index, expectedIndex, "index");
    }

    // ---------------------------------------------------------------- queue

    function test_EmptyQueue() public view {
        assertEq(bridge.queueLength(), 0, "length");
        assertEq(bridge.queueHead(), bytes32(0), "head");
        assertEq(bridge.queueHeadAt(0), bytes32(0), "headAt(0)");
        assertEq(uint256(bridge.KIND_DEPOSIT()), 0, "KIND_DEPOSIT");
        assertEq(uint256(bridge.KIND_REGISTER_TOKEN()), 1, "KIND_REGISTER_TOKEN");
        assertEq(bridge.rollup(), address(this), "rollup is the creator");
    }

    function test_RevertWhen_QueueHeadAtOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(L1MessageQueue.QueueIndexOutOfRange.selector, 1, 0));
        bridge.queueHeadAt(1);

        depositEthAs(ALICE, BOB, 1 ether);
        depositEthAs(ALICE, BOB, 2 ether);
        assertEq(bridge.queueHeadAt(2), expectedHeads[1], "headAt(2)");
        vm.expectRevert(abi.encodeWithSelector(L1MessageQueue.QueueIndexOutOfRange.selector, 3, 2));
        bridge.queueHeadAt(3);
        vm.expectRevert(abi.encodeWithSelector(L1MessageQueue.QueueIndexOutOfRange.selector, type(uint256).max, 2));
        bridge.queueHeadAt(type(uint256).max);
    }

    // ---------------------------------------------------------------- forced messages

    function test_QueueTimeAtRecordsEachMessage() public {
        depositEthAs(ALICE, BOB, 1 ether);
        vm.warp(1_700_000_123);
        depositEthAs(ALICE, BOB, 2 ether);
        assertEq(bridge.queueTimeAt(0), 1_700_000_000, "time 0");
        assertEq(bridge.queueTimeAt(1), 1_700_000_123, "time 1");
        vm.expectRevert(abi.encodeWithSelector(L1MessageQueue.QueueIndexOutOfRange.selector, 2, 2));
        bridge.queueTimeAt(2);
        vm.expectRevert(abi.encodeWithSelector(L1MessageQueue.QueueIndexOutOfRange.selector, type(uint256).max, 2));
        bridge.queueTimeAt(type(uint256).max);
    }

    function test_ForceWithdrawalQueuesTheSendersOwnWithdrawal() public {
        bytes memory payload = abi.encode(address(token), uint256(5 ether), BOB);
        expectQueued(bridge.KIND_FORCED_WITHDRAWAL(), ALICE, payload);
        vm.prank(ALICE);
        uint256 index = bridge.forceWithdrawal(address(token), 5 ether, BOB);
        assertEq(index, 0, "index");
        assertEq(uint256(bridge.KIND_FORCED_WITHDRAWAL()), 3, "kind");
        assertEq(address(bridge).balance, 0, "no value moves on L1");
        checkChain();
    }

    function test_RevertWhen_ForceWithdrawalOfNothingOrToNobody() public {
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.ZeroAmount.selector));
        bridge.forceWithdrawal(address(0), 0, BOB);
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.ZeroRecipient.selector));
        bridge.forceWithdrawal(address(0), 1, address(0));
        assertEq(bridge.queueLength(), 0, "nothing queued");
    }

    function test_ForceTransactionQueuesTheBytesAsTheyAre() public {
        bytes memory tx_ = hex"02c0ffee";
        expectQueued(bridge.KIND_FORCED_TX(), BOB, tx_);
        vm.prank(BOB);
        uint256 index = bridge.forceTransaction(tx_);
        assertEq(index, 0, "index");
        assertEq(uint256(bridge.KIND_FORCED_TX()), 2, "kind");
        checkChain();
    }

    function test_RevertWhen_ForceTransactionEmptyOrTooLarge() public {
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.EmptyTransaction.selector));
        bridge.forceTransaction("");
        bytes memory big = new bytes(321);
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.TransactionTooLarge.selector, 321, 320));
        bridge.forceTransaction(big);
        bridge.forceTransaction(new bytes(320));
        assertEq(bridge.queueLength(), 1, "320 bytes fit");
    }

    // ---------------------------------------------------------------- ETH

    function test_DepositETH() public {
        depositEthAs(ALICE, BOB, 1.5 ether);
        assertEq(address(bridge).balance, 1.5 ether, "bridge balance");
        assertEq(ALICE.balance, 998.5 ether, "alice balance");
        checkChain();
    }

    function test_ReceiveDepositsToSender() public {
        expectQueued(ALICE, depositPayload(address(0), ALICE, ALICE, 2 ether));
        vm.prank(ALICE);
        (bool ok,) = address(bridge).call{value: 2 ether}("");
        require(ok, "plain transfer failed");
        assertEq(address(bridge).balance, 2 ether, "bridge balance");
        checkChain();
    }

    function test_RevertWhen_DepositETHZeroAmount() public {
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.ZeroAmount.selector));
        vm.prank(ALICE);
        bridge.depositETH{value: 0}(BOB);
    }

    function test_RevertWhen_DepositETHZeroRecipient() public {
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.ZeroRecipient.selector));
        vm.prank(ALICE);
        bridge.depositETH{value: 1 ether}(address(0));
    }

    function test_RevertWhen_ReceiveZeroAmount() public {
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.ZeroAmount.selector));
        vm.prank(ALICE);
        (bool ok,) = address(bridge).call{value: 0}("");
        ok; // expectRevert makes the call report success when it reverted as expected
    }

    // ---------------------------------------------------------------- ERC-20

    function test_DepositERC20() public {
        depositTokenAs(ALICE, CAROL, 1_000e18);
        assertEq(token.balanceOf(address(bridge)), 1_000e18, "bridge balance");
        assertEq(token.balanceOf(ALICE), 0, "alice balance");
        assertEq(token.allowance(ALICE, address(bridge)), 0, "allowance used");
        checkChain();
    }

    function test_DepositERC20FeeOnTransferCreditsReceivedAmount() public {
        FeeOnTransferToken fee = new FeeOnTransferToken(100); // 1 %
        fee.mint(ALICE, 1_000);
        vm.prank(ALICE);
        fee.approve(address(bridge), 1_000);

        expectRegistration(ALICE, address(fee), "Fee", "FEE", 18);
        expectQueued(ALICE, depositPayload(address(fee), ALICE, BOB, 990));
        vm.prank(ALICE);
        bridge.depositERC20(address(fee), BOB, 1_000);

        assertEq(fee.balanceOf(address(bridge)), 990, "bridge balance");
        assertEq(fee.balanceOf(ALICE), 0, "alice balance");
        checkChain();
    }

    function test_RevertWhen_DepositERC20NothingArrives() public {
        FeeOnTransferToken fee = new FeeOnTransferToken(10_000); // everything is burnt
        fee.mint(ALICE, 1_000);
        vm.prank(ALICE);
        fee.approve(address(bridge), 1_000);
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.ZeroAmount.selector));
        vm.prank(ALICE);
        bridge.depositERC20(address(fee), BOB, 1_000);
    }

    function test_DepositERC20TokenWithoutReturnValue() public {
        OddToken odd = new OddToken(false);
        odd.mint(ALICE, 500);
        expectRegistration(ALICE, address(odd), "", "", 18); // no metadata at all
        expectQueued(ALICE, depositPayload(address(odd), ALICE, BOB, 500));
        vm.prank(ALICE);
        bridge.depositERC20(address(odd), BOB, 500);
        assertEq(odd.balanceOf(address(bridge)), 500, "bridge balance");
        checkChain();
    }

    function test_RevertWhen_DepositERC20TransferFromReturnsFalse() public {
        OddToken odd = new OddToken(true);
        vm.expectRevert(abi.encodeWithSelector(SafeERC20.SafeERC20FailedOperation.selector, address(odd)));
        vm.prank(ALICE);
        bridge.depositERC20(address(odd), BOB, 500);
    }

    function test_RevertWhen_DepositERC20ZeroAmount() public {
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.ZeroAmount.selector));
        vm.prank(ALICE);
        bridge.depositERC20(address(token), BOB, 0);
    }

    function test_RevertWhen_DepositERC20ZeroRecipient() public {
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.ZeroRecipient.selector));
        vm.prank(ALICE);
        bridge.depositERC20(address(token), address(0), 1);
    }

    function test_RevertWhen_DepositERC20NotAContract() public {
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.NotAContract.selector, address(0xDEAD)));
        vm.prank(ALICE);
        bridge.depositERC20(address(0xDEAD), BOB, 1);

        vm.expectRevert(abi.encodeWithSelector(L1Bridge.NotAContract.selector, address(0)));
        vm.prank(ALICE);
        bridge.depositERC20(address(0), BOB, 1);
    }

    function test_RevertWhen_DepositERC20WithoutAllowance() public {
        token.mint(ALICE, 100);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(bridge), 0, 100)
        );
        vm.prank(ALICE);
        bridge.depositERC20(address(token), BOB, 100);
    }

    function test_RevertWhen_DepositERC20WithoutBalance() public {
        token.mint(ALICE, 99);
        vm.prank(ALICE);
        token.approve(address(bridge), 100);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, ALICE, 99, 100));
        vm.prank(ALICE);
        bridge.depositERC20(address(token), BOB, 100);
    }

    function test_RevertWhen_DepositERC20Reentered() public {
        ReentrantToken re = new ReentrantToken(bridge);
        vm.expectRevert(abi.encodeWithSelector(ReentrancyGuard.ReentrancyGuardReentrantCall.selector));
        vm.prank(ALICE);
        bridge.depositERC20(address(re), BOB, 1);
    }

    // ---------------------------------------------------------------- hash chain

    function test_HashChainAcrossBlocks() public {
        depositEthAs(ALICE, BOB, 1 ether);
        depositTokenAs(BOB, ALICE, 7);
        vm.roll(block.number + 1);
        depositEthAs(BOB, CAROL, 3 wei);
        vm.warp(block.timestamp + 12);
        depositTokenAs(CAROL, CAROL, 1e30);
        vm.roll(1_000_000);
        vm.warp(2_000_000_000);
        depositEthAs(ALICE, ALICE, 999 ether);
        checkChain();
        assertEq(bridge.queueLength(), 6, "length (5 deposits and one registration)");
        assertEq(address(bridge).balance, 1 ether + 3 wei + 999 ether, "bridge ETH");
        assertEq(token.balanceOf(address(bridge)), 7 + 1e30, "bridge tokens");
    }

    function testFuzz_HashChain(
        uint96[4] memory amounts,
        uint32[4] memory blockSteps,
        uint32[4] memory timeSteps,
        address recipient
    ) public {
        vm.assume(recipient != address(0));
        for (uint256 i = 0; i < amounts.length; i++) {
            vm.roll(block.number + blockSteps[i]);
            vm.warp(block.timestamp + timeSteps[i]);
            uint256 amount = uint256(amounts[i]) % 100 ether + 1;
            // casting to 'uint160' is safe because i < 4
            // forge-lint: disable-next-line(unsafe-typecast)
            address from = address(uint160(0x1000 + i));
            if (i % 2 == 0) {
                vm.deal(from, amount);
                depositEthAs(from, recipient, amount);
            } else {
                depositTokenAs(from, recipient, amount);
            }
        }
        checkChain();
    }

    function testFuzz_FeeOnTransfer(uint128 amount, uint16 feeBps) public {
        feeBps = uint16(feeBps % 10_000); // below 100 %
        amount = amount % type(uint96).max + 1;
        FeeOnTransferToken fee = new FeeOnTransferToken(feeBps);
        fee.mint(ALICE, amount);
        vm.prank(ALICE);
        fee.approve(address(bridge), amount);
        uint256 received = uint256(amount) - uint256(amount) * feeBps / 10_000;
        vm.assume(received > 0);

        expectRegistration(ALICE, address(fee), "Fee", "FEE", 18);
        expectQueued(ALICE, depositPayload(address(fee), ALICE, BOB, received));
        vm.prank(ALICE);
        bridge.depositERC20(address(fee), BOB, amount);
        assertEq(fee.balanceOf(address(bridge)), received, "bridge balance");
        checkChain();
    }

    // ---------------------------------------------------------------- DevToken

    function test_DevToken() public {
        DevToken six = new DevToken("Six", "SIX", 6);
        assertEq(uint256(six.decimals()), 6, "decimals");
        assertEq(keccak256(bytes(six.name())), keccak256("Six"), "name");
        assertEq(keccak256(bytes(six.symbol())), keccak256("SIX"), "symbol");
        vm.prank(CAROL); // anyone may mint
        six.mint(BOB, 42);
        assertEq(six.balanceOf(BOB), 42, "minted");
        assertEq(six.totalSupply(), 42, "supply");
    }

    // ---------------------------------------------------------------- token registration

    /// @dev Deposits a token minted beforehand (expectEmit applies to the next call).
    function depositFresh(address l1Token, uint256 amount) internal {
        vm.prank(ALICE);
        bridge.depositERC20(l1Token, BOB, amount);
    }

    function test_TokenRegisteredOnceWithMetadata() public {
        DevToken six = new DevToken("Six Decimals", "SIX", 6);
        assertEq(bridge.tokenRegistered(address(six)) ? 1 : 0, 0, "not registered yet");
        six.mint(ALICE, 30);
        vm.prank(ALICE);
        six.approve(address(bridge), 30);

        expectRegistration(ALICE, address(six), "Six Decimals", "SIX", 6);
        expectQueued(ALICE, depositPayload(address(six), ALICE, BOB, 10));
        vm.prank(ALICE);
        assertEq(bridge.depositERC20(address(six), BOB, 10), 1, "deposit index after the registration");
        assertEq(bridge.tokenRegistered(address(six)) ? 1 : 0, 1, "registered");

        // Later deposits, by anyone, queue no second registration.
        expectQueued(ALICE, depositPayload(address(six), ALICE, CAROL, 20));
        vm.prank(ALICE);
        assertEq(bridge.depositERC20(address(six), CAROL, 20), 2, "second deposit index");
        checkChain();
    }

    function test_TokenRegistrationSurvivesRevertingName() public {
        RevertingNameToken t = new RevertingNameToken();
        t.mint(ALICE, 5);
        expectRegistration(ALICE, address(t), "", "RNT", 6);
        expectQueued(ALICE, depositPayload(address(t), ALICE, BOB, 5));
        depositFresh(address(t), 5);
        checkChain();
    }

    function test_TokenRegistrationBytes32Metadata() public {
        Bytes32MetadataToken t = new Bytes32MetadataToken();
        t.mint(ALICE, 5);
        expectRegistration(ALICE, address(t), "Maker", "MKR", 18);
        expectQueued(ALICE, depositPayload(address(t), ALICE, BOB, 5));
        depositFresh(address(t), 5);
        checkChain();
    }

    function test_TokenRegistrationGarbageMetadata() public {
        GarbageMetadataToken t = new GarbageMetadataToken();
        t.mint(ALICE, 5);
        expectRegistration(ALICE, address(t), "", "", 18);
        expectQueued(ALICE, depositPayload(address(t), ALICE, BOB, 5));
        depositFresh(address(t), 5);
        checkChain();
    }

    function test_TokenRegistrationOversizedMetadata() public {
        HugeMetadataToken t = new HugeMetadataToken();
        t.mint(ALICE, 5);
        expectRegistration(ALICE, address(t), "", "", 0);
        expectQueued(ALICE, depositPayload(address(t), ALICE, BOB, 5));
        depositFresh(address(t), 5);
        checkChain();
    }

    function test_RevertWhen_MetadataCallStarvedByGasLimit() public {
        GarbageMetadataToken t = new GarbageMetadataToken();
        t.mint(ALICE, 5);
        // Too little gas for the 50,000 the bridge gives name(): the deposit must fail as a whole rather
        // than register the token with metadata the token never got the chance to return.
        vm.prank(ALICE);
        (bool ok,) =
            address(bridge).call{gas: 60_000}(abi.encodeCall(L1Bridge.depositERC20, (address(t), BOB, 5)));
        assertEq(ok ? 1 : 0, 0, "starved deposit must fail");
        assertEq(bridge.tokenRegistered(address(t)) ? 1 : 0, 0, "not registered");
        assertEq(bridge.queueLength(), 0, "nothing queued");
    }

    // ---------------------------------------------------------------- release

    function test_ReleaseETHAndToken() public {
        depositEthAs(ALICE, BOB, 3 ether);
        depositTokenAs(ALICE, BOB, 100);

        vm.expectEmit(true, true, true, true, address(bridge));
        emit L1Bridge.Released(address(0), CAROL, 1 ether);
        bridge.release(address(0), CAROL, 1 ether); // this test contract created the bridge: it is the rollup
        assertEq(CAROL.balance, 1 ether, "carol ETH");
        assertEq(address(bridge).balance, 2 ether, "bridge ETH");

        bridge.release(address(token), CAROL, 60);
        assertEq(token.balanceOf(CAROL), 60, "carol tokens");
        assertEq(token.balanceOf(address(bridge)), 40, "bridge tokens");
    }

    function test_RevertWhen_ReleaseNotRollup() public {
        depositEthAs(ALICE, BOB, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.NotRollup.selector, ALICE));
        vm.prank(ALICE);
        bridge.release(address(0), ALICE, 1 ether);
    }

    function test_RevertWhen_ReleaseETHRecipientRefuses() public {
        depositEthAs(ALICE, BOB, 1 ether);
        address refuses = address(token); // an ERC-20 without receive()
        vm.expectRevert(abi.encodeWithSelector(L1Bridge.EthTransferFailed.selector, refuses, 1 ether));
        bridge.release(address(0), refuses, 1 ether);
    }

    function test_RevertWhen_ReleaseMoreTokensThanHeld() public {
        depositTokenAs(ALICE, BOB, 10);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, address(bridge), 10, 11)
        );
        bridge.release(address(token), CAROL, 11);
    }
}
