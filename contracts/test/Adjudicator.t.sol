// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Adjudicator} from "../src/channels/Adjudicator.sol";
import {DevToken} from "../src/dev/DevToken.sol";

/// @dev The few forge cheatcodes these tests use (forge-std is not available here).
interface AdjudicatorVm {
    function deal(address account, uint256 newBalance) external;
    function prank(address msgSender) external;
    function warp(uint256 newTimestamp) external;
    function chainId(uint256 newChainId) external;
    function assume(bool condition) external pure;
    function addr(uint256 privateKey) external pure returns (address);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function expectRevert(bytes calldata revertData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter) external;
}

/// @dev A contract party (so it cannot sign): opens and force-closes channels, and refuses ETH unless
///      told to accept it, or re-enters the adjudicator from `receive`.
contract Receiver {
    Adjudicator private immutable adj;
    bool public accept;
    bytes32 public reenterSettle;

    constructor(Adjudicator adj_) {
        adj = adj_;
    }

    function setAccept(bool accept_) external {
        accept = accept_;
    }

    function setReenterSettle(bytes32 channelId) external {
        reenterSettle = channelId;
    }

    function open(address b) external payable returns (bytes32) {
        return adj.open{value: msg.value}(b, address(0), msg.value);
    }

    function forceClose(Adjudicator.State calldata s) external {
        adj.forceClose(s, "", "");
    }

    function withdraw() external {
        adj.withdrawUnclaimed();
    }

    receive() external payable {
        if (reenterSettle != bytes32(0)) {
            adj.settle(reenterSettle);
        }
        require(accept, "Receiver: refuses ETH");
    }
}

/// @title Two-party payment channels: {Adjudicator}.
contract AdjudicatorTest {
    AdjudicatorVm private constant vm = AdjudicatorVm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 private constant PK_A = 0xA11CE;
    uint256 private constant PK_B = 0xB0B;
    uint256 private constant PK_MALLORY = 0xBAD;
    address private constant CAROL = address(0xCA401);
    uint64 private constant WINDOW = 1 days;
    uint16 private constant PENALTY_BPS = 2_500;
    uint64 private constant START = 1_700_000_000;

    bytes32 private constant STATE_TYPEHASH = keccak256(
        "State(bytes32 channelId,uint64 version,uint256 balanceA,uint256 balanceB,uint256 depositedA,uint256 depositedB,bool isFinal)"
    );
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    Adjudicator private adj;
    DevToken private token;
    address private alice;
    address private bob;

    event ChannelOpened(
        bytes32 indexed channelId, address indexed a, address indexed b, address token, uint256 amountA
    );
    event ChannelFunded(
        bytes32 indexed channelId, address indexed by, uint256 amount, uint256 depositedA, uint256 depositedB
    );
    event ChannelClosing(bytes32 indexed channelId, address indexed closer, uint64 version, uint64 closesAt);
    event ChannelChallenged(bytes32 indexed channelId, address indexed by, uint64 version);
    event ChannelSettled(bytes32 indexed channelId, uint256 payoutA, uint256 payoutB, uint256 penalty);
    event PaymentDeferred(address indexed to, uint256 amount);

    function setUp() public {
        vm.warp(START);
        adj = new Adjudicator(WINDOW, PENALTY_BPS);
        token = new DevToken("Dev", "DEV", 18);
        alice = vm.addr(PK_A);
        bob = vm.addr(PK_B);
        vm.deal(alice, 100 ether);
        vm.deal(bob, 100 ether);
        token.mint(alice, 1_000e18);
        token.mint(bob, 1_000e18);
        vm.prank(alice);
        token.approve(address(adj), type(uint256).max);
        vm.prank(bob);
        token.approve(address(adj), type(uint256).max);
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

    function assertTrue(bool ok, string memory what) internal pure {
        if (!ok) revert(what);
    }

    function state(bytes32 id, uint64 version, uint256 balA, uint256 balB, uint256 depA, uint256 depB, bool isFinal)
        internal
        pure
        returns (Adjudicator.State memory)
    {
        return Adjudicator.State({
            channelId: id,
            version: version,
            balanceA: balA,
            balanceB: balB,
            depositedA: depA,
            depositedB: depB,
            isFinal: isFinal
        });
    }

    /// @dev The EIP-712 digest of `s` for adjudicator `on` on this chain, computed here from the
    ///      type hashes (checked against `hashState` in {test_HashStateMatchesHandComputedDigest}).
    ///      No call to `on`, so it can sit between a cheatcode like `prank` and the call it is for.
    function digestOf(Adjudicator on, Adjudicator.State memory s) internal view returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                STATE_TYPEHASH,
                s.channelId,
                uint256(s.version),
                s.balanceA,
                s.balanceB,
                s.depositedA,
                s.depositedB,
                s.isFinal ? uint256(1) : uint256(0)
            )
        );
        bytes32 domain = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("loft Adjudicator"), keccak256("1"), block.chainid, address(on))
        );
        return keccak256(abi.encodePacked(hex"1901", domain, structHash));
    }

    /// @dev `pk`'s 65-byte signature (r || s || v) of `s` for adjudicator `on`.
    function signOn(Adjudicator on, uint256 pk, Adjudicator.State memory s) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 sv) = vm.sign(pk, digestOf(on, s));
        return abi.encodePacked(r, sv, v);
    }

    function sign(uint256 pk, Adjudicator.State memory s) internal view returns (bytes memory) {
        return signOn(adj, pk, s);
    }

    /// @dev Opens an ETH channel alice -> bob with alice's `amountA` and bob's top-up `amountB`.
    function openETH(uint256 amountA, uint256 amountB) internal returns (bytes32 id) {
        vm.prank(alice);
        id = adj.open{value: amountA}(bob, address(0), amountA);
        if (amountB != 0) {
            vm.prank(bob);
            adj.fund{value: amountB}(id, amountB);
        }
    }

    function openToken(uint256 amountA, uint256 amountB) internal returns (bytes32 id) {
        vm.prank(alice);
        id = adj.open(bob, address(token), amountA);
        if (amountB != 0) {
            vm.prank(bob);
            adj.fund(id, amountB);
        }
    }

    function coopClose(Adjudicator.State memory s) internal {
        adj.cooperativeClose(s, sign(PK_A, s), sign(PK_B, s));
    }

    function forceCloseAs(address who, Adjudicator.State memory s) internal {
        bytes memory sigA = s.version == 0 ? bytes("") : sign(PK_A, s);
        bytes memory sigB = s.version == 0 ? bytes("") : sign(PK_B, s);
        vm.prank(who);
        adj.forceClose(s, sigA, sigB);
    }

    function challengeAs(address who, Adjudicator.State memory s) internal {
        bytes memory sigA = sign(PK_A, s);
        bytes memory sigB = sign(PK_B, s);
        vm.prank(who);
        adj.challenge(s, sigA, sigB);
    }

    function expectStatus(bytes32 id, Adjudicator.Status status) internal view {
        assertEq(uint256(adj.channel(id).status), uint256(status), "status");
    }

    function wrongStatus(Adjudicator.Status status) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(Adjudicator.WrongStatus.selector, status);
    }

    // ---------------------------------------------------------------- deployment

    function test_ConstructorSetsParameters() public view {
        assertEq(adj.disputeWindow(), WINDOW, "disputeWindow");
        assertEq(adj.penaltyBps(), PENALTY_BPS, "penaltyBps");
        assertEq(adj.channelCount(), 0, "channelCount");
        assertEq(adj.STATE_TYPEHASH(), STATE_TYPEHASH, "STATE_TYPEHASH");
    }

    function test_RevertWhen_ConstructorParametersOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.InvalidParameter.selector));
        new Adjudicator(0, PENALTY_BPS);
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.InvalidParameter.selector));
        new Adjudicator(WINDOW, 10_001);
        new Adjudicator(1, 10_000);
    }

    // ---------------------------------------------------------------- open and fund

    function test_OpenETH() public {
        bytes32 expected = keccak256(abi.encode(block.chainid, address(adj), alice, bob, address(0), uint256(0)));
        vm.expectEmit(true, true, true, true, address(adj));
        emit ChannelOpened(expected, alice, bob, address(0), 3 ether);
        vm.prank(alice);
        bytes32 id = adj.open{value: 3 ether}(bob, address(0), 3 ether);

        assertEq(id, expected, "channel id");
        assertEq(adj.channelCount(), 1, "channelCount");
        assertEq(address(adj).balance, 3 ether, "adjudicator balance");
        assertEq(alice.balance, 97 ether, "alice balance");
        Adjudicator.Channel memory c = adj.channel(id);
        assertEq(c.a, alice, "a");
        assertEq(c.b, bob, "b");
        assertEq(c.token, address(0), "token");
        assertEq(uint256(c.status), uint256(Adjudicator.Status.Open), "status");
        assertEq(c.depositedA, 3 ether, "depositedA");
        assertEq(c.depositedB, 0, "depositedB");
        assertEq(c.version, 0, "version");
        assertEq(c.closesAt, 0, "closesAt");

        // Same parties and token again: a fresh id from the nonce.
        vm.prank(alice);
        bytes32 id2 = adj.open(bob, address(0), 0);
        assertEq(id2, keccak256(abi.encode(block.chainid, address(adj), alice, bob, address(0), uint256(1))), "id 2");
        assertEq(adj.channel(id2).depositedA, 0, "zero opening deposit");
    }

    function test_OpenERC20() public {
        vm.prank(alice);
        bytes32 id = adj.open(bob, address(token), 40e18);
        assertEq(token.balanceOf(address(adj)), 40e18, "adjudicator tokens");
        assertEq(token.balanceOf(alice), 960e18, "alice tokens");
        Adjudicator.Channel memory c = adj.channel(id);
        assertEq(c.token, address(token), "token");
        assertEq(c.depositedA, 40e18, "depositedA");
    }

    function test_RevertWhen_OpenWithBadParameters() public {
        bytes memory invalid = abi.encodeWithSelector(Adjudicator.InvalidParameter.selector);
        bytes memory wrongAmount = abi.encodeWithSelector(Adjudicator.WrongAmount.selector);
        vm.prank(alice);
        vm.expectRevert(invalid); // no B
        adj.open(address(0), address(0), 0);
        vm.prank(alice);
        vm.expectRevert(invalid); // a channel with oneself
        adj.open(alice, address(0), 0);
        vm.prank(alice);
        vm.expectRevert(invalid); // a token without code
        adj.open(bob, address(0x70CE), 0);
        vm.prank(alice);
        vm.expectRevert(wrongAmount); // ETH: msg.value must be amountA
        adj.open{value: 1 ether}(bob, address(0), 2 ether);
        vm.prank(alice);
        vm.expectRevert(wrongAmount);
        adj.open(bob, address(0), 1);
        vm.prank(alice);
        vm.expectRevert(wrongAmount); // a token: no ETH
        adj.open{value: 1}(bob, address(token), 1e18);
        assertEq(adj.channelCount(), 0, "nothing opened");
    }

    function test_FundByBoth() public {
        bytes32 id = openETH(1 ether, 0);
        vm.expectEmit(true, true, true, true, address(adj));
        emit ChannelFunded(id, bob, 2 ether, 1 ether, 2 ether);
        vm.prank(bob);
        adj.fund{value: 2 ether}(id, 2 ether);
        vm.expectEmit(true, true, true, true, address(adj));
        emit ChannelFunded(id, alice, 0.5 ether, 1.5 ether, 2 ether);
        vm.prank(alice);
        adj.fund{value: 0.5 ether}(id, 0.5 ether);
        Adjudicator.Channel memory c = adj.channel(id);
        assertEq(c.depositedA, 1.5 ether, "depositedA");
        assertEq(c.depositedB, 2 ether, "depositedB");
        assertEq(address(adj).balance, 3.5 ether, "adjudicator balance");
    }

    function test_FundERC20ByBoth() public {
        bytes32 id = openToken(10e18, 25e18);
        vm.prank(alice);
        adj.fund(id, 5e18);
        Adjudicator.Channel memory c = adj.channel(id);
        assertEq(c.depositedA, 15e18, "depositedA");
        assertEq(c.depositedB, 25e18, "depositedB");
        assertEq(token.balanceOf(address(adj)), 40e18, "adjudicator tokens");
        assertEq(token.balanceOf(bob), 975e18, "bob tokens");
    }

    function test_RevertWhen_FundRefused() public {
        bytes32 id = openETH(1 ether, 0);
        vm.deal(CAROL, 1 ether);
        vm.prank(CAROL);
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.NotParticipant.selector));
        adj.fund{value: 1 ether}(id, 1 ether);

        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.WrongAmount.selector));
        adj.fund(id, 0);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.WrongAmount.selector));
        adj.fund{value: 1 ether}(id, 2 ether);

        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.UnknownChannel.selector));
        adj.fund{value: 1 ether}(keccak256("no such channel"), 1 ether);

        bytes32 tid = openToken(1e18, 0);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.WrongAmount.selector));
        adj.fund{value: 1}(tid, 1e18);

        forceCloseAs(alice, state(id, 0, 1 ether, 0, 1 ether, 0, false));
        vm.prank(bob);
        vm.expectRevert(wrongStatus(Adjudicator.Status.Closing));
        adj.fund{value: 1 ether}(id, 1 ether);
        assertEq(adj.channel(id).depositedB, 0, "nothing added");
    }

    // ---------------------------------------------------------------- cooperative close

    function test_CooperativeClosePaysExactly() public {
        bytes32 id = openETH(3 ether, 2 ether);
        Adjudicator.State memory s = state(id, 7, 1.25 ether, 3.75 ether, 3 ether, 2 ether, true);
        vm.expectEmit(true, true, true, true, address(adj));
        emit ChannelSettled(id, 1.25 ether, 3.75 ether, 0);
        vm.prank(CAROL); // anyone may submit
        adj.cooperativeClose(s, sign(PK_A, s), sign(PK_B, s));
        assertEq(alice.balance, 97 ether + 1.25 ether, "alice balance");
        assertEq(bob.balance, 98 ether + 3.75 ether, "bob balance");
        assertEq(address(adj).balance, 0, "adjudicator empty");
        expectStatus(id, Adjudicator.Status.Closed);

        vm.expectRevert(wrongStatus(Adjudicator.Status.Closed));
        coopClose(s);
    }

    function test_CooperativeClosePaysTokensExactly() public {
        bytes32 id = openToken(30e18, 10e18);
        coopClose(state(id, 3, 0, 40e18, 30e18, 10e18, true));
        assertEq(token.balanceOf(alice), 970e18, "alice tokens");
        assertEq(token.balanceOf(bob), 1_030e18, "bob tokens");
        assertEq(token.balanceOf(address(adj)), 0, "adjudicator empty");
    }

    function test_CooperativeCloseEndsADispute() public {
        bytes32 id = openETH(3 ether, 2 ether);
        forceCloseAs(alice, state(id, 0, 3 ether, 2 ether, 3 ether, 2 ether, false));
        coopClose(state(id, 9, 4 ether, 1 ether, 3 ether, 2 ether, true));
        assertEq(alice.balance, 97 ether + 4 ether, "alice balance");
        assertEq(bob.balance, 98 ether + 1 ether, "bob balance");
        expectStatus(id, Adjudicator.Status.Closed);
        vm.warp(START + WINDOW);
        vm.expectRevert(wrongStatus(Adjudicator.Status.Closed));
        adj.settle(id);
    }

    function test_RevertWhen_CooperativeCloseStateInvalid() public {
        bytes32 id = openETH(3 ether, 2 ether);
        bytes memory invalid = abi.encodeWithSelector(Adjudicator.InvalidState.selector);

        vm.expectRevert(invalid); // not final
        coopClose(state(id, 7, 1 ether, 4 ether, 3 ether, 2 ether, false));
        vm.expectRevert(invalid); // misses B's deposit
        coopClose(state(id, 7, 3 ether, 0, 3 ether, 0, true));
        vm.expectRevert(invalid); // claims more than was deposited
        coopClose(state(id, 7, 4 ether, 2 ether, 4 ether, 2 ether, true));
        vm.expectRevert(invalid); // balances above the deposits
        coopClose(state(id, 7, 3 ether, 3 ether, 3 ether, 2 ether, true));
        vm.expectRevert(invalid); // balances below the deposits
        coopClose(state(id, 7, 1 ether, 1 ether, 3 ether, 2 ether, true));
        vm.expectRevert(invalid); // a balance that would overflow the sum
        coopClose(state(id, 7, type(uint256).max, 2, 3 ether, 2 ether, true));

        vm.expectRevert(abi.encodeWithSelector(Adjudicator.UnknownChannel.selector));
        coopClose(state(keccak256("nope"), 7, 3 ether, 2 ether, 3 ether, 2 ether, true));
        expectStatus(id, Adjudicator.Status.Open);
    }

    function test_RevertWhen_SignatureInvalid() public {
        bytes32 id = openETH(3 ether, 2 ether);
        Adjudicator.State memory s = state(id, 7, 1 ether, 4 ether, 3 ether, 2 ether, true);
        bytes memory sigA = sign(PK_A, s);
        bytes memory sigB = sign(PK_B, s);
        bytes memory invalid = abi.encodeWithSelector(Adjudicator.InvalidSignature.selector);

        vm.expectRevert(invalid); // wrong key for A
        adj.cooperativeClose(s, sign(PK_MALLORY, s), sigB);
        vm.expectRevert(invalid); // wrong key for B
        adj.cooperativeClose(s, sigA, sign(PK_MALLORY, s));
        vm.expectRevert(invalid); // swapped
        adj.cooperativeClose(s, sigB, sigA);
        vm.expectRevert(invalid); // A's twice
        adj.cooperativeClose(s, sigA, sigA);
        vm.expectRevert(invalid); // empty
        adj.cooperativeClose(s, "", sigB);
        vm.expectRevert(invalid); // 64 bytes (ERC-2098 short form is not accepted)
        adj.cooperativeClose(s, sliceTo(sigA, 64), sigB);
        vm.expectRevert(invalid); // 66 bytes
        adj.cooperativeClose(s, bytes.concat(sigA, hex"00"), sigB);
        vm.expectRevert(invalid); // v is neither 27 nor 28
        adj.cooperativeClose(s, withV(sigA, 29), sigB);
        vm.expectRevert(invalid); // the malleable twin (high s)
        adj.cooperativeClose(s, malleable(sigA), sigB);
        vm.expectRevert(invalid); // all zero
        adj.cooperativeClose(s, new bytes(65), sigB);
        vm.expectRevert(invalid); // signed, then altered
        s.balanceA = 2 ether;
        s.balanceB = 3 ether;
        adj.cooperativeClose(s, sigA, sigB);

        expectStatus(id, Adjudicator.Status.Open);
    }

    function sliceTo(bytes memory b, uint256 n) internal pure returns (bytes memory out) {
        out = new bytes(n);
        for (uint256 i = 0; i < n; i++) {
            out[i] = b[i];
        }
    }

    function withV(bytes memory sig, uint8 v) internal pure returns (bytes memory out) {
        out = sliceTo(sig, 65);
        out[64] = bytes1(v);
    }

    /// @dev The same signature with `s' = n - s` and `v` flipped: ecrecover accepts it, ECDSA must not.
    function malleable(bytes memory sig) internal pure returns (bytes memory) {
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        bytes32 r;
        uint256 s;
        assembly {
            r := mload(add(sig, 32))
            s := mload(add(sig, 64))
        }
        uint8 v = uint8(sig[64]) == 27 ? 28 : 27;
        return abi.encodePacked(r, bytes32(n - s), v);
    }

    // ---------------------------------------------------------------- force close, challenge, settle

    function test_RevertWhen_ForceCloseByNonParticipant() public {
        bytes32 id = openETH(3 ether, 2 ether);
        Adjudicator.State memory s = state(id, 4, 1 ether, 4 ether, 3 ether, 2 ether, false);
        bytes memory sigA = sign(PK_A, s);
        bytes memory sigB = sign(PK_B, s);
        vm.prank(CAROL);
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.NotParticipant.selector));
        adj.forceClose(s, sigA, sigB);
        expectStatus(id, Adjudicator.Status.Open);
    }

    function test_ForceCloseVersionZeroUnsigned() public {
        bytes32 id = openETH(3 ether, 2 ether);
        Adjudicator.State memory s = state(id, 0, 3 ether, 2 ether, 3 ether, 2 ether, false);
        vm.expectEmit(true, true, true, true, address(adj));
        emit ChannelClosing(id, bob, 0, START + WINDOW);
        vm.prank(bob);
        adj.forceClose(s, "", "");

        Adjudicator.Channel memory c = adj.channel(id);
        assertEq(uint256(c.status), uint256(Adjudicator.Status.Closing), "status");
        assertEq(c.closer, bob, "closer");
        assertEq(c.closesAt, START + WINDOW, "closesAt");
        assertEq(c.version, 0, "version");
        assertEq(c.balanceA, 3 ether, "balanceA");
        assertEq(c.stateDepositedB, 2 ether, "stateDepositedB");

        vm.warp(START + WINDOW);
        vm.expectEmit(true, true, true, true, address(adj));
        emit ChannelSettled(id, 3 ether, 2 ether, 0);
        adj.settle(id);
        assertEq(alice.balance, 100 ether, "alice got her deposit back");
        assertEq(bob.balance, 100 ether, "bob got his deposit back");
        assertEq(address(adj).balance, 0, "adjudicator empty");
    }

    function test_ForceCloseVersionZeroBeforeBFunded() public {
        // The opening state as A saw it (B's later top-up not in it): B's top-up still goes back to B.
        bytes32 id = openETH(3 ether, 2 ether);
        forceCloseAs(alice, state(id, 0, 3 ether, 0, 3 ether, 0, false));
        vm.warp(START + WINDOW);
        adj.settle(id);
        assertEq(alice.balance, 100 ether, "alice balance");
        assertEq(bob.balance, 100 ether, "bob balance");
    }

    function test_RevertWhen_ForceCloseStateInvalid() public {
        bytes32 id = openETH(3 ether, 2 ether);
        bytes memory invalid = abi.encodeWithSelector(Adjudicator.InvalidState.selector);
        vm.expectRevert(invalid); // version 0 must give back the deposits
        forceCloseAs(alice, state(id, 0, 5 ether, 0, 3 ether, 2 ether, false));
        vm.expectRevert(invalid); // more deposits than the channel has
        forceCloseAs(alice, state(id, 2, 5 ether, 1 ether, 4 ether, 2 ether, false));
        vm.expectRevert(invalid); // balances not the deposits' sum
        forceCloseAs(alice, state(id, 2, 5 ether, 1 ether, 3 ether, 2 ether, false));

        // Unsigned states other than version 0 are refused.
        Adjudicator.State memory s = state(id, 1, 3 ether, 2 ether, 3 ether, 2 ether, false);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.InvalidSignature.selector));
        adj.forceClose(s, "", "");

        // A final state may be force-closed too.
        forceCloseAs(alice, state(id, 2, 1 ether, 4 ether, 3 ether, 2 ether, true));
        vm.expectRevert(wrongStatus(Adjudicator.Status.Closing));
        forceCloseAs(bob, state(id, 3, 1 ether, 4 ether, 3 ether, 2 ether, false));
    }

    function test_StaleCloseChallengedPaysPenalty() public {
        bytes32 id = openETH(6 ether, 4 ether);
        // Alice closes with version 3 (she had 8), but version 5 (she has 2) exists.
        forceCloseAs(alice, state(id, 3, 8 ether, 2 ether, 6 ether, 4 ether, false));
        vm.warp(START + WINDOW - 1);
        Adjudicator.State memory newer = state(id, 5, 2 ether, 8 ether, 6 ether, 4 ether, false);
        bytes memory sigA = sign(PK_A, newer);
        bytes memory sigB = sign(PK_B, newer);
        vm.expectEmit(true, true, true, true, address(adj));
        emit ChannelChallenged(id, CAROL, 5);
        vm.prank(CAROL); // a watchtower
        adj.challenge(newer, sigA, sigB);

        Adjudicator.Channel memory c = adj.channel(id);
        assertTrue(c.challenged, "challenged");
        assertEq(c.version, 5, "version");
        assertEq(c.closesAt, START + WINDOW, "window not extended");
        assertEq(c.closer, alice, "closer");

        vm.warp(START + WINDOW);
        // penalty = 2 ether * 2500 / 10000 = 0.5 ether, from alice to bob.
        vm.expectEmit(true, true, true, true, address(adj));
        emit ChannelSettled(id, 1.5 ether, 8.5 ether, 0.5 ether);
        adj.settle(id);
        assertEq(alice.balance, 94 ether + 1.5 ether, "alice balance");
        assertEq(bob.balance, 96 ether + 8.5 ether, "bob balance");
        assertEq(address(adj).balance, 0, "adjudicator empty");
        expectStatus(id, Adjudicator.Status.Closed);
    }

    function test_ChallengedCloserBPaysPenaltyInTokens() public {
        bytes32 id = openToken(100e18, 100e18);
        forceCloseAs(bob, state(id, 1, 50e18, 150e18, 100e18, 100e18, false));
        challengeAs(alice, state(id, 2, 120e18, 80e18, 100e18, 100e18, false));
        challengeAs(alice, state(id, 4, 160e18, 40e18, 100e18, 100e18, false));
        vm.warp(START + WINDOW);
        adj.settle(id);
        // Bob's payout 40e18 loses 25%: 10e18 to alice.
        assertEq(token.balanceOf(alice), 900e18 + 170e18, "alice tokens");
        assertEq(token.balanceOf(bob), 900e18 + 30e18, "bob tokens");
        assertEq(token.balanceOf(address(adj)), 0, "adjudicator empty");
    }

    function test_UnchallengedCloseHasNoPenalty() public {
        bytes32 id = openETH(6 ether, 4 ether);
        forceCloseAs(alice, state(id, 3, 8 ether, 2 ether, 6 ether, 4 ether, false));
        vm.warp(START + WINDOW);
        adj.settle(id);
        assertEq(alice.balance, 94 ether + 8 ether, "alice balance");
        assertEq(bob.balance, 96 ether + 2 ether, "bob balance");
    }

    function test_RevertWhen_ChallengeNotNewer() public {
        bytes32 id = openETH(6 ether, 4 ether);
        forceCloseAs(alice, state(id, 3, 8 ether, 2 ether, 6 ether, 4 ether, false));
        Adjudicator.State memory equal = state(id, 3, 1 ether, 9 ether, 6 ether, 4 ether, false);
        Adjudicator.State memory older = state(id, 2, 1 ether, 9 ether, 6 ether, 4 ether, false);
        bytes memory sigA = sign(PK_A, equal);
        bytes memory sigB = sign(PK_B, equal);
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.StaleState.selector, uint64(3), uint64(3)));
        adj.challenge(equal, sigA, sigB);
        sigA = sign(PK_A, older);
        sigB = sign(PK_B, older);
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.StaleState.selector, uint64(3), uint64(2)));
        adj.challenge(older, sigA, sigB);
        assertTrue(!adj.channel(id).challenged, "not challenged");
    }

    function test_RevertWhen_ChallengeInvalid() public {
        bytes32 id = openETH(6 ether, 4 ether);
        Adjudicator.State memory s = state(id, 4, 1 ether, 9 ether, 6 ether, 4 ether, false);
        bytes memory sigA = sign(PK_A, s);
        bytes memory sigB = sign(PK_B, s);
        vm.expectRevert(wrongStatus(Adjudicator.Status.Open)); // nothing to challenge yet
        adj.challenge(s, sigA, sigB);

        forceCloseAs(alice, state(id, 0, 6 ether, 4 ether, 6 ether, 4 ether, false));
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.InvalidSignature.selector));
        adj.challenge(s, sigA, sign(PK_MALLORY, s));
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.InvalidSignature.selector));
        adj.challenge(s, "", "");
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.InvalidState.selector));
        challengeAs(bob, state(id, 4, 1 ether, 10 ether, 7 ether, 4 ether, false));
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.InvalidState.selector));
        challengeAs(bob, state(id, 4, 1 ether, 8 ether, 6 ether, 4 ether, false));
    }

    function test_RevertWhen_ChallengeAfterWindow() public {
        bytes32 id = openETH(6 ether, 4 ether);
        forceCloseAs(alice, state(id, 3, 8 ether, 2 ether, 6 ether, 4 ether, false));
        vm.warp(START + WINDOW);
        Adjudicator.State memory newer = state(id, 5, 2 ether, 8 ether, 6 ether, 4 ether, false);
        bytes memory sigA = sign(PK_A, newer);
        bytes memory sigB = sign(PK_B, newer);
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.DisputeWindowOver.selector, START + WINDOW));
        adj.challenge(newer, sigA, sigB);
    }

    function test_RevertWhen_SettleBeforeWindow() public {
        bytes32 id = openETH(6 ether, 4 ether);
        vm.expectRevert(wrongStatus(Adjudicator.Status.Open));
        adj.settle(id);
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.UnknownChannel.selector));
        adj.settle(keccak256("nope"));

        forceCloseAs(alice, state(id, 3, 8 ether, 2 ether, 6 ether, 4 ether, false));
        vm.warp(START + WINDOW - 1);
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.DisputeWindowOpen.selector, START + WINDOW));
        adj.settle(id);
        expectStatus(id, Adjudicator.Status.Closing);
    }

    function test_RevertWhen_SettleTwice() public {
        bytes32 id = openETH(6 ether, 4 ether);
        forceCloseAs(alice, state(id, 3, 8 ether, 2 ether, 6 ether, 4 ether, false));
        vm.warp(START + WINDOW);
        adj.settle(id);
        vm.expectRevert(wrongStatus(Adjudicator.Status.Closed));
        adj.settle(id);
        assertEq(alice.balance, 94 ether + 8 ether, "alice paid once");
        assertEq(bob.balance, 96 ether + 2 ether, "bob paid once");
    }

    function test_TopUpAfterSignedStateGoesBackToItsFunder() public {
        bytes32 id = openETH(6 ether, 4 ether);
        Adjudicator.State memory signed = state(id, 3, 7 ether, 3 ether, 6 ether, 4 ether, false);
        bytes memory sigA = sign(PK_A, signed);
        bytes memory sigB = sign(PK_B, signed);
        // Both top up after signing version 3; bob then closes with it.
        vm.prank(alice);
        adj.fund{value: 1 ether}(id, 1 ether);
        vm.prank(bob);
        adj.fund{value: 5 ether}(id, 5 ether);
        vm.prank(bob);
        adj.forceClose(signed, sigA, sigB);
        vm.warp(START + WINDOW);
        vm.expectEmit(true, true, true, true, address(adj));
        emit ChannelSettled(id, 8 ether, 8 ether, 0);
        adj.settle(id);
        assertEq(alice.balance, 93 ether + 8 ether, "alice: 7 + her top-up 1");
        assertEq(bob.balance, 91 ether + 8 ether, "bob: 3 + his top-up 5");
        assertEq(address(adj).balance, 0, "adjudicator empty");
    }

    function test_RevertWhen_CooperativeCloseMissesATopUp() public {
        bytes32 id = openETH(6 ether, 4 ether);
        vm.prank(bob);
        adj.fund{value: 1 ether}(id, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.InvalidState.selector));
        coopClose(state(id, 3, 7 ether, 3 ether, 6 ether, 4 ether, true));
    }

    // ---------------------------------------------------------------- replay protection

    function test_RevertWhen_StateOfAnotherChannel() public {
        bytes32 x = openETH(5 ether, 5 ether);
        bytes32 y = openETH(5 ether, 5 ether);
        Adjudicator.State memory s = state(x, 2, 9 ether, 1 ether, 5 ether, 5 ether, true);
        bytes memory sigA = sign(PK_A, s);
        bytes memory sigB = sign(PK_B, s);
        s.channelId = y;
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.InvalidSignature.selector));
        adj.cooperativeClose(s, sigA, sigB);
        s.isFinal = false;
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.InvalidSignature.selector));
        adj.forceClose(s, sigA, sigB);
        expectStatus(y, Adjudicator.Status.Open);
    }

    function test_RevertWhen_SignedForAnotherAdjudicator() public {
        Adjudicator other = new Adjudicator(WINDOW, PENALTY_BPS);
        vm.prank(alice);
        bytes32 id = other.open{value: 5 ether}(bob, address(0), 5 ether);
        // The state names the channel of `other` but is signed in the domain of `adj`.
        Adjudicator.State memory s = state(id, 2, 1 ether, 4 ether, 5 ether, 0, true);
        assertTrue(adj.hashState(s) != other.hashState(s), "domains differ");
        bytes memory sigA = signOn(adj, PK_A, s);
        bytes memory sigB = signOn(adj, PK_B, s);
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.InvalidSignature.selector));
        other.cooperativeClose(s, sigA, sigB);
        // Signed in its own domain it goes through.
        other.cooperativeClose(s, signOn(other, PK_A, s), signOn(other, PK_B, s));
        assertEq(bob.balance, 104 ether, "bob balance");
    }

    function test_RevertWhen_SignedForAnotherChain() public {
        bytes32 id = openETH(5 ether, 0);
        Adjudicator.State memory s = state(id, 2, 1 ether, 4 ether, 5 ether, 0, true);
        bytes32 digestHere = adj.hashState(s);
        bytes memory sigA = sign(PK_A, s);
        bytes memory sigB = sign(PK_B, s);
        vm.chainId(block.chainid + 1);
        assertTrue(adj.hashState(s) != digestHere, "chain id is in the domain");
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.InvalidSignature.selector));
        adj.cooperativeClose(s, sigA, sigB);
    }

    function test_HashStateMatchesHandComputedDigest() public {
        bytes32 id = openETH(5 ether, 0);
        Adjudicator.State memory s = state(id, 42, 1 ether, 4 ether, 5 ether, 0, true);
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "State(bytes32 channelId,uint64 version,uint256 balanceA,uint256 balanceB,uint256 depositedA,uint256 depositedB,bool isFinal)"
                ),
                s.channelId,
                uint256(s.version),
                s.balanceA,
                s.balanceB,
                s.depositedA,
                s.depositedB,
                uint256(1)
            )
        );
        bytes32 domain = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("loft Adjudicator"), keccak256("1"), block.chainid, address(adj))
        );
        bytes32 digest = keccak256(abi.encodePacked(hex"1901", domain, structHash));
        assertEq(adj.hashState(s), digest, "digest");

        (, string memory name, string memory version, uint256 chainId, address verifyingContract,,) = adj.eip712Domain();
        assertEq(keccak256(bytes(name)), keccak256("loft Adjudicator"), "eip712Domain name");
        assertEq(keccak256(bytes(version)), keccak256("1"), "eip712Domain version");
        assertEq(chainId, block.chainid, "eip712Domain chainId");
        assertEq(verifyingContract, address(adj), "eip712Domain verifyingContract");
    }

    // ---------------------------------------------------------------- failing ETH payouts

    function test_PayoutToRevertingReceiverIsDeferred() public {
        Receiver r = new Receiver(adj);
        vm.deal(address(r), 0);
        bytes32 id = r.open{value: 3 ether}(bob);
        vm.prank(bob);
        adj.fund{value: 2 ether}(id, 2 ether);
        r.forceClose(state(id, 0, 3 ether, 2 ether, 3 ether, 2 ether, false));
        vm.warp(START + WINDOW);

        vm.expectEmit(true, true, true, true, address(adj));
        emit ChannelSettled(id, 3 ether, 2 ether, 0);
        vm.expectEmit(true, true, true, true, address(adj));
        emit PaymentDeferred(address(r), 3 ether);
        vm.prank(CAROL);
        adj.settle(id);
        assertEq(bob.balance, 100 ether, "bob paid despite A's refusal");
        assertEq(adj.unclaimed(address(r)), 3 ether, "unclaimed");
        assertEq(address(adj).balance, 3 ether, "adjudicator keeps A's payout");

        // Still refusing: the withdrawal reverts and the credit stays.
        vm.expectRevert(bytes("Receiver: refuses ETH"));
        r.withdraw();
        assertEq(adj.unclaimed(address(r)), 3 ether, "still unclaimed");

        r.setAccept(true);
        r.withdraw();
        assertEq(address(r).balance, 3 ether, "receiver paid");
        assertEq(adj.unclaimed(address(r)), 0, "nothing unclaimed");
        assertEq(address(adj).balance, 0, "adjudicator empty");

        vm.expectRevert(abi.encodeWithSelector(Adjudicator.NothingToWithdraw.selector));
        r.withdraw();
    }

    function test_ReentrantReceiverCannotSettleTwice() public {
        Receiver r = new Receiver(adj);
        bytes32 id = r.open{value: 3 ether}(bob);
        r.forceClose(state(id, 0, 3 ether, 0, 3 ether, 0, false));
        r.setAccept(true);
        r.setReenterSettle(id);
        vm.warp(START + WINDOW);
        adj.settle(id); // the receiver's re-entry reverts, so its payment is deferred
        assertEq(adj.unclaimed(address(r)), 3 ether, "deferred");
        assertEq(address(adj).balance, 3 ether, "paid nothing twice");
        r.setReenterSettle(bytes32(0));
        r.withdraw();
        assertEq(address(r).balance, 3 ether, "receiver paid once");
    }

    function test_RevertWhen_WithdrawingNothing() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(Adjudicator.NothingToWithdraw.selector));
        adj.withdrawUnclaimed();
    }

    // ---------------------------------------------------------------- invariants

    /// @dev One run of {testFuzz_PayoutsSumToDeposits}.
    struct Case {
        uint256 depA;
        uint256 depB;
        uint256 topA;
        uint256 topB;
        uint16 bps;
        bool closerIsA;
        bool challenged;
    }

    /// @dev Whatever the split, top-ups, closer, challenge and penalty: the payouts add up to all
    ///      deposits, each party gets exactly its share, and the adjudicator ends empty.
    function testFuzz_PayoutsSumToDeposits(
        uint96 depA,
        uint96 depB,
        uint96 topA,
        uint96 topB,
        uint256 split1,
        uint256 split2,
        uint16 bps,
        bool closerIsA,
        bool challenged
    ) public {
        Case memory k = Case(depA, depB, topA, topB, uint16(bound(bps, 0, 10_000)), closerIsA, challenged);
        Adjudicator a = new Adjudicator(WINDOW, k.bps);
        bytes32 id = fuzzOpen(a, k);
        uint256 total = k.depA + k.depB;
        Adjudicator.State memory s1 = state(id, 1, split1 % (total + 1), 0, k.depA, k.depB, false);
        s1.balanceB = total - s1.balanceA;
        Adjudicator.State memory s2 = state(id, 2, split2 % (total + 1), 0, k.depA, k.depB, false);
        s2.balanceB = total - s2.balanceA;
        fuzzTopUp(a, id, k);

        vm.prank(k.closerIsA ? alice : bob);
        a.forceClose(s1, signOn(a, PK_A, s1), signOn(a, PK_B, s1));
        Adjudicator.State memory last = s1;
        if (k.challenged) {
            a.challenge(s2, signOn(a, PK_A, s2), signOn(a, PK_B, s2));
            last = s2;
        }
        vm.warp(START + WINDOW);
        a.settle(id);

        (uint256 payoutA, uint256 payoutB) = expectedPayouts(last, k);
        assertEq(alice.balance, payoutA, "alice payout");
        assertEq(bob.balance, payoutB, "bob payout");
        assertEq(alice.balance + bob.balance, total + k.topA + k.topB, "payouts sum to deposits");
        assertEq(address(a).balance, 0, "adjudicator empty");
    }

    function fuzzOpen(Adjudicator a, Case memory k) internal returns (bytes32 id) {
        vm.deal(alice, k.depA + k.topA);
        vm.deal(bob, k.depB + k.topB);
        vm.prank(alice);
        id = a.open{value: k.depA}(bob, address(0), k.depA);
        if (k.depB != 0) {
            vm.prank(bob);
            a.fund{value: k.depB}(id, k.depB);
        }
    }

    function fuzzTopUp(Adjudicator a, bytes32 id, Case memory k) internal {
        if (k.topA != 0) {
            vm.prank(alice);
            a.fund{value: k.topA}(id, k.topA);
        }
        if (k.topB != 0) {
            vm.prank(bob);
            a.fund{value: k.topB}(id, k.topB);
        }
    }

    /// @dev The payouts recomputed from the rules: recorded balance plus later top-ups, then the
    ///      challenged closer's penalty moved to the other party.
    function expectedPayouts(Adjudicator.State memory last, Case memory k)
        internal
        pure
        returns (uint256 payoutA, uint256 payoutB)
    {
        payoutA = last.balanceA + k.topA;
        payoutB = last.balanceB + k.topB;
        if (!k.challenged) return (payoutA, payoutB);
        if (k.closerIsA) {
            uint256 fromA = payoutA * k.bps / 10_000;
            return (payoutA - fromA, payoutB + fromA);
        }
        uint256 fromB = payoutB * k.bps / 10_000;
        return (payoutA + fromB, payoutB - fromB);
    }

    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + x % (hi - lo + 1);
    }
}
