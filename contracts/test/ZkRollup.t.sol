// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Errors} from "@openzeppelin/contracts/utils/Errors.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IZkVerifier} from "../src/zk/IZkVerifier.sol";
import {ZkRollup} from "../src/zk/ZkRollup.sol";

/// @dev The few forge cheatcodes these tests use (forge-std is not available here).
interface ZkRollupVm {
    function deal(address account, uint256 newBalance) external;
    function prank(address msgSender) external;
    function warp(uint256 newTimestamp) external;
    function assume(bool condition) external pure;
    function expectRevert(bytes calldata revertData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData) external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter) external;
}

/// @dev Test double of the Groth16 verifier: its answer is whatever the test set. It can also insist
///      on one public input and one proof, revert, or answer with malformed return data. Only for the
///      rollup's bookkeeping tests; the real verifier is tested with the circuit.
contract ZkVerifierDouble is IZkVerifier {
    enum Mode {
        Accept,
        Reject,
        Revert,
        ReturnTwo,
        ReturnShort,
        ReturnLong,
        ReturnNothing
    }

    Mode public mode;
    bool public checkInput;
    uint256 public wantInput;
    bytes32 public wantProofHash;

    error DoubleRefuses();

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    /// @dev From now on only `(proof, [pi])` is accepted (still subject to the mode).
    function expect(uint256 pi, uint256[8] calldata proof) external {
        checkInput = true;
        wantInput = pi;
        wantProofHash = keccak256(abi.encode(proof));
    }

    function verifyProof(uint256[8] calldata proof, uint256[1] calldata input) external view returns (bool) {
        Mode m = mode;
        if (m == Mode.Revert) revert DoubleRefuses();
        if (m == Mode.ReturnTwo) {
            assembly {
                mstore(0, 2)
                return(0, 32)
            }
        }
        if (m == Mode.ReturnShort) {
            assembly {
                mstore(0, 1)
                return(0, 31)
            }
        }
        if (m == Mode.ReturnLong) {
            assembly {
                mstore(0, 1)
                mstore(32, 0)
                return(0, 64)
            }
        }
        if (m == Mode.ReturnNothing) {
            assembly {
                return(0, 0)
            }
        }
        if (checkInput && (input[0] != wantInput || keccak256(abi.encode(proof)) != wantProofHash)) return false;
        return m == Mode.Accept;
    }
}

/// @dev An account owner that is a contract: it claims, and can refuse ETH or re-enter {claim} from
///      `receive`.
contract ZkClaimer {
    ZkRollup private immutable rollup;
    bool public reenter;
    bool public refuse;

    constructor(ZkRollup rollup_) {
        rollup = rollup_;
    }

    function setReenter(bool reenter_) external {
        reenter = reenter_;
    }

    function setRefuse(bool refuse_) external {
        refuse = refuse_;
    }

    function register(uint256 key) external payable returns (uint32) {
        return rollup.register{value: msg.value}(key);
    }

    function claim() external {
        rollup.claim(payable(address(this)));
    }

    receive() external payable {
        if (reenter) rollup.claim(payable(address(this)));
        if (refuse) revert("ZkClaimer: refuses ETH");
    }
}

/// @title L1 contract of the ZK rollup profile: {ZkRollup} (`docs/zk-rollup.md` §5).
contract ZkRollupTest {
    ZkRollupVm private constant vm = ZkRollupVm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 private constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 private constant D = 9706598848417545097372247223557719406784115219466060233080913168975159366771;
    uint256 private constant GX = 19698561148652590122159747500897617769866003486955115824547446575314762165298;
    uint256 private constant GY = 19298250018296453272277890825869354524455968081175474282777126169995084727839;
    /// @dev `G` compressed: `x` is even, so just `y`.
    uint256 private constant KEY_G = GY;
    /// @dev `-G = (R - GX, GY)` compressed: `R - GX` is odd.
    uint256 private constant KEY_NEG_G = GY | (uint256(1) << 255);
    /// @dev `2G` and `3G` compressed, computed independently (Python, affine Edwards addition).
    uint256 private constant KEY_2G = 0x0be80d0f61a801533a94a03b12683474f86ca012941db1c568c53dc877b16fd6;
    uint256 private constant KEY_3G = 0x95be21e0b316c0ae28bb58054ae4dee42018f3be997cc3bbdf412ec206845e96;
    uint256 private constant PARITY = uint256(1) << 255;
    uint256 private constant PI_MASK = (uint256(1) << 253) - 1;

    uint64 private constant START = 1_700_000_000;
    uint64 private constant DELAY = 1 days;
    uint64 private constant CHAIN_ID = 424_242;
    uint256 private constant GENESIS = 0x1234_5678;
    uint8 private constant DEPTH = 24;
    uint32 private constant N = 4;
    uint32 private constant M = 2;
    /// @dev `M * 52 + N * (2 * 3 + 4)`.
    uint256 private constant PUBDATA_LEN = 144;

    address private constant OP = address(0x0BE7A702);
    address private constant ALICE = address(0xA11CE);
    address private constant BOB = address(0xB0B);
    address private constant CAROL = address(0xCA401);

    /// @dev Transfer chunks (4 × 10 bytes); L1 never reads them, so they are arbitrary.
    bytes private constant TRANSFERS = hex"00000100000200c35005" hex"000002000001000001ff" hex"00000000000000000000"
        hex"ffffffffffffffffffff";

    ZkVerifierDouble private verifier;
    ZkRollup private rollup;

    function setUp() public {
        vm.warp(START);
        verifier = new ZkVerifierDouble();
        rollup = newRollup(DEPTH, N, M);
        vm.deal(ALICE, 1_000 ether);
        vm.deal(BOB, 1_000 ether);
        vm.deal(CAROL, 1_000 ether);
    }

    // ---------------------------------------------------------------- helpers

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": uint mismatch"));
    }

    function assertEq(address a, address b, string memory what) internal pure {
        if (a != b) revert(string.concat(what, ": address mismatch"));
    }

    function assertTrue(bool ok, string memory what) internal pure {
        if (!ok) revert(what);
    }

    function newRollup(uint8 depth, uint32 n, uint32 m) internal returns (ZkRollup) {
        return new ZkRollup(verifier, GENESIS, depth, n, m, CHAIN_ID, OP, DELAY);
    }

    function proof() internal pure returns (uint256[8] memory p) {
        for (uint256 k = 0; k < 8; ++k) {
            p[k] = 0x1000 + k;
        }
    }

    /// @dev One general chunk: `kind[1] ‖ account[3] ‖ amount[16] ‖ data[32]`.
    function chunk(uint8 kind, uint32 account, uint128 amount, uint256 data) internal pure returns (bytes memory) {
        // casting to 'uint24' is safe because callers pass indices below 2^24 (the chunk's 3 bytes)
        // forge-lint: disable-next-line(unsafe-typecast)
        return abi.encodePacked(kind, uint24(account), amount, data);
    }

    function noop() internal pure returns (bytes memory) {
        return chunk(0, 0, 0, 0);
    }

    function pubdata(bytes memory g0, bytes memory g1) internal pure returns (bytes memory) {
        return abi.encodePacked(g0, g1, TRANSFERS);
    }

    function emptyPubdata() internal pure returns (bytes memory) {
        return pubdata(noop(), noop());
    }

    /// @dev The public input, computed here (not through the contract).
    function pi(uint256 oldRoot, uint256 newRoot, bytes memory data) internal pure returns (uint256) {
        return uint256(sha256(bytes.concat(bytes32(oldRoot), bytes32(newRoot), data))) & PI_MASK;
    }

    function submit(uint256 newRoot, bytes memory data) internal {
        vm.prank(OP);
        rollup.submitBatch(newRoot, data, proof());
    }

    function expectSubmitRevert(address caller, uint256 newRoot, bytes memory data, bytes memory err) internal {
        vm.prank(caller);
        vm.expectRevert(err);
        rollup.submitBatch(newRoot, data, proof());
    }

    /// @dev Alice registers account 1 with key G and `value` wei (queue: set key, then the deposit).
    function registerAlice(uint256 value) internal returns (uint32 account) {
        vm.prank(ALICE);
        account = rollup.register{value: value}(KEY_G);
    }

    /// @dev Registers Alice with 10 ether and verifies a batch consuming both messages.
    function aliceFunded() internal returns (uint32 account) {
        account = registerAlice(10 ether);
        submit(0xA1, pubdata(chunk(2, account, 0, KEY_G), chunk(1, account, 10 ether, 0)));
    }

    function checkMessage(uint256 index, uint8 kind, uint32 account, uint128 amount, uint256 data, uint64 ts)
        internal
        view
    {
        (uint8 k, uint32 a, uint128 am, uint256 d, uint64 t) = rollup.queueMessage(index);
        assertEq(k, kind, "queue kind");
        assertEq(a, account, "queue account");
        assertEq(am, amount, "queue amount");
        assertEq(d, data, "queue data");
        assertEq(t, ts, "queue timestamp");
    }

    function powmod(uint256 b, uint256 e) internal pure returns (uint256 r) {
        r = 1;
        b %= R;
        while (e != 0) {
            if (e & 1 == 1) r = mulmod(r, b, R);
            b = mulmod(b, b, R);
            e >>= 1;
        }
    }

    function inv(uint256 v) internal pure returns (uint256) {
        return powmod(v, R - 2);
    }

    /// @dev Reference key check written from the spec, independently of the contract: the inverse by
    ///      Fermat, `u = (1 − y²)·(1 − d·y²)^-1`, Euler's criterion in plain Solidity.
    function refIsValidKey(uint256 key) internal pure returns (bool) {
        uint256 y = key & (PARITY - 1);
        if (y == 0 || y >= R) return false;
        uint256 y2 = mulmod(y, y, R);
        uint256 den = (1 + R - mulmod(D, y2, R)) % R;
        if (den == 0) return false;
        uint256 u = mulmod((1 + R - y2) % R, inv(den), R);
        if (u == 0) return key >> 255 == 0;
        return powmod(u, (R - 1) / 2) == 1;
    }

    /// @dev Affine twisted Edwards addition (a = 1).
    function add(uint256 x1, uint256 y1, uint256 x2, uint256 y2) internal pure returns (uint256, uint256) {
        uint256 t = mulmod(mulmod(D, mulmod(x1, x2, R), R), mulmod(y1, y2, R), R);
        uint256 x = mulmod(addmod(mulmod(x1, y2, R), mulmod(y1, x2, R), R), inv(addmod(1, t, R)), R);
        uint256 y = mulmod(addmod(mulmod(y1, y2, R), R - mulmod(x1, x2, R), R), inv(addmod(1, R - t, R)), R);
        return (x, y);
    }

    function compress(uint256 x, uint256 y) internal pure returns (uint256) {
        return y | ((x & 1) << 255);
    }

    // ---------------------------------------------------------------- constructor and getters

    function test_ConstructorSetsParameters() public view {
        assertEq(address(rollup.verifier()), address(verifier), "verifier");
        assertEq(rollup.genesisRoot(), GENESIS, "genesisRoot");
        assertEq(rollup.stateRoot(), GENESIS, "stateRoot");
        assertEq(rollup.treeDepth(), DEPTH, "treeDepth");
        assertEq(rollup.batchTransfers(), N, "batchTransfers");
        assertEq(rollup.batchGeneral(), M, "batchGeneral");
        assertEq(rollup.chainId(), CHAIN_ID, "chainId");
        assertEq(rollup.operator(), OP, "operator");
        assertEq(rollup.forceInclusionDelay(), DELAY, "forceInclusionDelay");
        assertEq(rollup.batchCount(), 0, "batchCount");
        assertEq(rollup.accountCount(), 1, "accountCount");
        assertEq(rollup.accountOwner(0), OP, "fee account owner");
        assertEq(rollup.accountOwner(1), address(0), "no account 1");
        assertEq(rollup.queueLength(), 0, "queueLength");
        assertEq(rollup.queueNext(), 0, "queueNext");
        assertEq(rollup.nextDeadline(), type(uint256).max, "nextDeadline");
        assertEq(rollup.pubdataLength(), PUBDATA_LEN, "pubdataLength");
        assertEq(rollup.R(), R, "R");
        assertEq(rollup.BABY_JUBJUB_D(), D, "d");
    }

    function test_ConstructorRegistersFeeAccount() public {
        vm.expectEmit(true, true, true, true);
        emit ZkRollup.AccountRegistered(0, OP);
        newRollup(DEPTH, N, M);
    }

    function test_PubdataLengthFollowsTreeDepth() public {
        // B = ceil(D / 8): 1 at 8, 2 at 10 and 16, 3 at 18 and 24.
        uint8[5] memory depths = [8, 10, 16, 18, 24];
        uint256[5] memory b = [uint256(1), 2, 2, 3, 3];
        for (uint256 k = 0; k < 5; ++k) {
            ZkRollup r = newRollup(depths[k], 5, 3);
            assertEq(r.pubdataLength(), 3 * 52 + 5 * (2 * b[k] + 4), "pubdataLength");
        }
        assertEq(newRollup(8, 0, 1).pubdataLength(), 52, "no transfer slots");
    }

    function test_RevertWhen_ConstructorParametersOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.ZeroVerifier.selector));
        new ZkRollup(IZkVerifier(address(0)), GENESIS, DEPTH, N, M, CHAIN_ID, OP, DELAY);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.RootOutOfField.selector, R));
        new ZkRollup(verifier, R, DEPTH, N, M, CHAIN_ID, OP, DELAY);
        uint8[5] memory bad = [6, 7, 9, 23, 26];
        for (uint256 k = 0; k < bad.length; ++k) {
            vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidTreeDepth.selector, bad[k]));
            new ZkRollup(verifier, GENESIS, bad[k], N, M, CHAIN_ID, OP, DELAY);
        }
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.ZeroBatchGeneral.selector));
        new ZkRollup(verifier, GENESIS, DEPTH, N, 0, CHAIN_ID, OP, DELAY);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.ZeroOperator.selector));
        new ZkRollup(verifier, GENESIS, DEPTH, N, M, CHAIN_ID, address(0), DELAY);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.ZeroForceInclusionDelay.selector));
        new ZkRollup(verifier, GENESIS, DEPTH, N, M, CHAIN_ID, OP, 0);
        // The limits themselves are fine.
        new ZkRollup(verifier, R - 1, 8, 0, 1, 0, OP, 1);
        new ZkRollup(verifier, 0, 24, type(uint32).max, type(uint32).max, type(uint64).max, OP, type(uint64).max);
    }

    function test_RevertWhen_QueueMessageOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.QueueIndexOutOfRange.selector, 0, 0));
        rollup.queueMessage(0);
        registerAlice(0);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.QueueIndexOutOfRange.selector, 1, 1));
        rollup.queueMessage(1);
    }

    // ---------------------------------------------------------------- register

    function test_RegisterWithoutValueQueuesSetKey() public {
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.AccountRegistered(1, ALICE);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.MessageQueued(0, 2, 1, 0, KEY_G, START);
        uint32 account = registerAlice(0);
        assertEq(account, 1, "account index");
        assertEq(rollup.accountCount(), 2, "accountCount");
        assertEq(rollup.accountOwner(1), ALICE, "owner");
        assertEq(rollup.queueLength(), 1, "queueLength");
        checkMessage(0, 2, 1, 0, KEY_G, START);
        assertEq(rollup.nextDeadline(), START + DELAY, "nextDeadline");
    }

    function test_RegisterWithValueQueuesSetKeyThenDeposit() public {
        vm.warp(START + 7);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.AccountRegistered(1, BOB);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.MessageQueued(0, 2, 1, 0, KEY_NEG_G, START + 7);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.MessageQueued(1, 1, 1, 3 ether, 0, START + 7);
        vm.prank(BOB);
        uint32 account = rollup.register{value: 3 ether}(KEY_NEG_G);
        assertEq(account, 1, "account index");
        assertEq(rollup.queueLength(), 2, "queueLength");
        checkMessage(0, 2, 1, 0, KEY_NEG_G, START + 7);
        checkMessage(1, 1, 1, 3 ether, 0, START + 7);
        assertEq(address(rollup).balance, 3 ether, "held");
        vm.prank(ALICE);
        assertEq(rollup.register(KEY_2G), 2, "second account");
        assertEq(rollup.accountOwner(2), ALICE, "second owner");
        // One L1 address may own several accounts, with the same key or not.
        vm.prank(ALICE);
        assertEq(rollup.register(KEY_2G), 3, "third account");
        assertEq(rollup.accountOwner(3), ALICE, "third owner");
    }

    function test_ValidKeys() public view {
        uint256[10] memory keys = [
            KEY_G,
            KEY_NEG_G,
            KEY_2G,
            KEY_3G,
            KEY_3G ^ PARITY, // -3G
            1, // (0, 1): x = 0, even
            R - 1, // (0, -1): x = 0, even
            3, // y = 3: (1 − 9)/(1 − 9d) is a square, both roots
            3 | PARITY,
            5
        ];
        for (uint256 k = 0; k < keys.length; ++k) {
            assertTrue(rollup.isValidKey(keys[k]), "valid key refused");
            assertTrue(refIsValidKey(keys[k]), "reference refuses a valid key");
        }
    }

    function test_InvalidKeys() public view {
        uint256[10] memory keys = [
            0, // y = 0
            PARITY, // y = 0, odd
            R, // y = R
            R | PARITY,
            R + 5,
            (uint256(1) << 255) - 1, // y = 2^255 − 1
            GY | (uint256(1) << 254), // bit 254 set
            2, // (1 − 4)/(1 − 4d) is not a square
            1 | PARITY, // x = 0 has no odd root
            (R - 1) | PARITY
        ];
        for (uint256 k = 0; k < keys.length; ++k) {
            assertTrue(!rollup.isValidKey(keys[k]), "invalid key accepted");
            assertTrue(!refIsValidKey(keys[k]), "reference accepts an invalid key");
        }
    }

    function test_RevertWhen_RegisterWithInvalidKey() public {
        uint256[8] memory keys =
            [R, R - 1 + (uint256(1) << 254), 0, PARITY, GY | (uint256(1) << 254), 2, 1 | PARITY, (R - 1) | PARITY];
        for (uint256 k = 0; k < keys.length; ++k) {
            vm.prank(ALICE);
            vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidKey.selector, keys[k]));
            rollup.register{value: 1 ether}(keys[k]);
        }
        assertEq(rollup.accountCount(), 1, "no account");
        assertEq(rollup.queueLength(), 0, "nothing queued");
    }

    /// @dev `k·G` and `−k·G` for k = 1..12, computed here with affine Edwards addition, are on the
    ///      curve and accepted compressed; 2G and 3G match the independently computed constants.
    function test_MultiplesOfGeneratorAreValidKeys() public view {
        uint256 x = GX;
        uint256 y = GY;
        for (uint256 k = 1; k <= 12; ++k) {
            uint256 x2 = mulmod(x, x, R);
            uint256 y2 = mulmod(y, y, R);
            assertEq(addmod(x2, y2, R), addmod(1, mulmod(D, mulmod(x2, y2, R), R), R), "on curve");
            if (k == 2) assertEq(compress(x, y), KEY_2G, "2G");
            if (k == 3) assertEq(compress(x, y), KEY_3G, "3G");
            assertTrue(rollup.isValidKey(compress(x, y)), "kG refused");
            assertTrue(rollup.isValidKey(compress(R - x, y)), "-kG refused");
            (x, y) = add(x, y, GX, GY);
        }
    }

    function testFuzz_IsValidKeyMatchesReference(uint256 key) public view {
        assertTrue(rollup.isValidKey(key) == refIsValidKey(key), "isValidKey differs from the reference");
    }

    function testFuzz_IsValidKeyMatchesReferenceInField(uint256 y, bool odd) public view {
        y = y % R;
        uint256 key = odd ? y | PARITY : y;
        assertTrue(rollup.isValidKey(key) == refIsValidKey(key), "isValidKey differs from the reference");
    }

    function test_RevertWhen_RegisterBeyondTreeDepth() public {
        ZkRollup small = newRollup(8, N, M);
        for (uint256 k = 1; k < 256; ++k) {
            vm.prank(ALICE);
            assertEq(small.register(KEY_G), k, "account index");
        }
        assertEq(small.accountCount(), 256, "full");
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.AccountLimitReached.selector, 256));
        small.register(KEY_G);
    }

    function test_RevertWhen_RegisterDepositTooLarge() public {
        vm.deal(ALICE, 1 << 129);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.DepositTooLarge.selector, 1 << 128, 1 << 128));
        rollup.register{value: 1 << 128}(KEY_G);
    }

    // ---------------------------------------------------------------- setKey, deposit, forceExit

    function test_SetKeyByOwner() public {
        registerAlice(0);
        vm.warp(START + 100);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.MessageQueued(1, 2, 1, 0, KEY_3G, START + 100);
        vm.prank(ALICE);
        rollup.setKey(1, KEY_3G);
        checkMessage(1, 2, 1, 0, KEY_3G, START + 100);
        // The operator owns the fee account.
        vm.prank(OP);
        rollup.setKey(0, KEY_2G);
        checkMessage(2, 2, 0, 0, KEY_2G, START + 100);
    }

    function test_RevertWhen_SetKeyByNonOwner() public {
        registerAlice(0);
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NotAccountOwner.selector, 1, BOB));
        rollup.setKey(1, KEY_3G);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NotAccountOwner.selector, 0, ALICE));
        rollup.setKey(0, KEY_3G);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NotAccountOwner.selector, 2, ALICE));
        rollup.setKey(2, KEY_3G);
    }

    function test_RevertWhen_SetKeyInvalid() public {
        registerAlice(0);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidKey.selector, 2));
        rollup.setKey(1, 2);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidKey.selector, R));
        rollup.setKey(1, R);
    }

    function test_DepositByAnyone() public {
        registerAlice(0);
        vm.warp(START + 5);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.MessageQueued(1, 1, 1, 2 ether, 0, START + 5);
        vm.prank(BOB);
        rollup.deposit{value: 2 ether}(1);
        checkMessage(1, 1, 1, 2 ether, 0, START + 5);
        vm.prank(CAROL);
        rollup.deposit{value: 1}(0);
        checkMessage(2, 1, 0, 1, 0, START + 5);
        assertEq(address(rollup).balance, 2 ether + 1, "held");
    }

    function test_RevertWhen_DepositToUnknownAccount() public {
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.UnknownAccount.selector, 1, 1));
        rollup.deposit{value: 1 ether}(1);
        registerAlice(0);
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.UnknownAccount.selector, 7, 2));
        rollup.deposit{value: 1 ether}(7);
    }

    function test_RevertWhen_DepositZeroOrTooLarge() public {
        registerAlice(0);
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.ZeroDeposit.selector));
        rollup.deposit(1);
        vm.deal(BOB, 1 << 130);
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.DepositTooLarge.selector, 1 << 128, 1 << 128));
        rollup.deposit{value: 1 << 128}(1);
        // The cap is on what the contract holds: 2^128 − 1 fits once, then not even 1 wei more.
        vm.prank(BOB);
        rollup.deposit{value: (1 << 128) - 1}(1);
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.DepositTooLarge.selector, 1, 1 << 128));
        rollup.deposit{value: 1}(1);
    }

    function test_ForceExitByOwner() public {
        registerAlice(0);
        vm.warp(START + 9);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.MessageQueued(1, 3, 1, 0, 0, START + 9);
        vm.prank(ALICE);
        rollup.forceExit(1);
        checkMessage(1, 3, 1, 0, 0, START + 9);
    }

    function test_RevertWhen_ForceExitByNonOwner() public {
        registerAlice(0);
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NotAccountOwner.selector, 1, BOB));
        rollup.forceExit(1);
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NotAccountOwner.selector, 5, ALICE));
        rollup.forceExit(5);
    }

    // ---------------------------------------------------------------- public input

    function test_PublicInputVector() public view {
        bytes memory data = new bytes(144);
        for (uint256 k = 0; k < 144; ++k) {
            // casting to 'uint8' is safe because k < 144
            // forge-lint: disable-next-line(unsafe-typecast)
            data[k] = bytes1(uint8(k));
        }
        // Python: int.from_bytes(sha256((123).to_bytes(32) + (456).to_bytes(32) + bytes(range(144)))) & (2**253 - 1)
        uint256 want = 14398860076413572236158601428667257406416663562474519138371720437963128980408;
        assertEq(rollup.publicInput(123, 456, data), want, "publicInput vector");
        assertEq(pi(123, 456, data), want, "test's own pi");
    }

    function testFuzz_PublicInput(uint256 oldRoot, uint256 newRoot, bytes memory data) public view {
        uint256 got = rollup.publicInput(oldRoot, newRoot, data);
        assertEq(got, pi(oldRoot, newRoot, data), "publicInput");
        assertTrue(got >> 253 == 0, "pi above 2^253");
    }

    function test_SubmitBatchPassesPublicInputAndProof() public {
        bytes memory data = emptyPubdata();
        verifier.expect(pi(GENESIS, 0xBEEF, data), proof());
        submit(0xBEEF, data);
        // The next batch starts from the new root: the old pi no longer works.
        bytes memory data2 = pubdata(noop(), chunk(4, 0, 0, 0));
        verifier.expect(pi(0xBEEF, 0xCAFE, data2), proof());
        submit(0xCAFE, data2);
        assertEq(rollup.stateRoot(), 0xCAFE, "stateRoot");
    }

    function test_RevertWhen_ProofForOtherData() public {
        bytes memory data = emptyPubdata();
        verifier.expect(pi(GENESIS, 0xBEEF, data), proof());
        expectSubmitRevert(OP, 0xBEE0, data, abi.encodeWithSelector(ZkRollup.InvalidProof.selector));
        expectSubmitRevert(
            OP, 0xBEEF, pubdata(noop(), chunk(4, 0, 0, 0)), abi.encodeWithSelector(ZkRollup.InvalidProof.selector)
        );
        uint256[8] memory p = proof();
        p[7] += 1;
        vm.prank(OP);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.InvalidProof.selector));
        rollup.submitBatch(0xBEEF, data, p);
        submit(0xBEEF, data);
        // Replaying the same batch: the old root moved on.
        expectSubmitRevert(OP, 0xBEEF, data, abi.encodeWithSelector(ZkRollup.InvalidProof.selector));
    }

    // ---------------------------------------------------------------- submitBatch

    function test_SubmitEmptyBatch() public {
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.BatchVerified(0, GENESIS, 0xBEEF, 0);
        submit(0xBEEF, emptyPubdata());
        assertEq(rollup.stateRoot(), 0xBEEF, "stateRoot");
        assertEq(rollup.batchCount(), 1, "batchCount");
        assertEq(rollup.queueNext(), 0, "queueNext");
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.BatchVerified(1, 0xBEEF, R - 1, 0);
        submit(R - 1, emptyPubdata());
        assertEq(rollup.batchCount(), 2, "batchCount");
        // The same root again is a valid batch (a block of no-ops).
        submit(R - 1, emptyPubdata());
        assertEq(rollup.batchCount(), 3, "batchCount");
    }

    function test_SubmitBatchConsumesQueueInOrder() public {
        registerAlice(10 ether);
        vm.prank(BOB);
        rollup.register(KEY_3G);
        assertEq(rollup.queueLength(), 3, "queueLength");
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.BatchVerified(0, GENESIS, 0xA1, 2);
        submit(0xA1, pubdata(chunk(2, 1, 0, KEY_G), chunk(1, 1, 10 ether, 0)));
        assertEq(rollup.queueNext(), 2, "queueNext");
        assertEq(rollup.nextDeadline(), START + DELAY, "Bob's set key waits");
        // A no-op may come first; the queue message can sit in any general slot.
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.BatchVerified(1, 0xA1, 0xA2, 3);
        submit(0xA2, pubdata(noop(), chunk(2, 2, 0, KEY_3G)));
        assertEq(rollup.queueNext(), 3, "queueNext");
        assertEq(rollup.nextDeadline(), type(uint256).max, "queue drained");
        // Consumed messages stay readable.
        checkMessage(0, 2, 1, 0, KEY_G, START);
    }

    function test_TransferChunksAreNotInterpreted() public {
        bytes memory data = abi.encodePacked(noop(), noop());
        bytes memory transfers = new bytes(40);
        for (uint256 k = 0; k < 40; ++k) {
            // casting to 'uint8' is safe because 0xff - k is in 0xd8 ..= 0xff
            // forge-lint: disable-next-line(unsafe-typecast)
            transfers[k] = bytes1(uint8(0xff - k));
        }
        submit(0xA1, bytes.concat(data, transfers));
        assertEq(rollup.batchCount(), 1, "batchCount");
    }

    function test_RevertWhen_PubdataLengthWrong() public {
        bytes memory good = emptyPubdata();
        expectSubmitRevert(
            OP, 1, new bytes(0), abi.encodeWithSelector(ZkRollup.WrongPubdataLength.selector, 0, PUBDATA_LEN)
        );
        expectSubmitRevert(
            OP, 1, bytes.concat(good, hex"00"), abi.encodeWithSelector(ZkRollup.WrongPubdataLength.selector, 145, 144)
        );
        bytes memory short = new bytes(143);
        expectSubmitRevert(OP, 1, short, abi.encodeWithSelector(ZkRollup.WrongPubdataLength.selector, 143, 144));
    }

    function test_RevertWhen_NewRootOutOfField() public {
        expectSubmitRevert(OP, R, emptyPubdata(), abi.encodeWithSelector(ZkRollup.RootOutOfField.selector, R));
        expectSubmitRevert(
            OP,
            type(uint256).max,
            emptyPubdata(),
            abi.encodeWithSelector(ZkRollup.RootOutOfField.selector, type(uint256).max)
        );
    }

    function test_RevertWhen_VerifierDoesNotAccept() public {
        ZkVerifierDouble.Mode[6] memory modes = [
            ZkVerifierDouble.Mode.Reject,
            ZkVerifierDouble.Mode.Revert,
            ZkVerifierDouble.Mode.ReturnTwo,
            ZkVerifierDouble.Mode.ReturnShort,
            ZkVerifierDouble.Mode.ReturnLong,
            ZkVerifierDouble.Mode.ReturnNothing
        ];
        for (uint256 k = 0; k < modes.length; ++k) {
            verifier.setMode(modes[k]);
            expectSubmitRevert(OP, 1, emptyPubdata(), abi.encodeWithSelector(ZkRollup.InvalidProof.selector));
        }
        verifier.setMode(ZkVerifierDouble.Mode.Accept);
        submit(1, emptyPubdata());
    }

    function test_RevertWhen_VerifierHasNoCode() public {
        rollup = new ZkRollup(IZkVerifier(address(0xDEAD)), GENESIS, DEPTH, N, M, CHAIN_ID, OP, DELAY);
        expectSubmitRevert(OP, 1, emptyPubdata(), abi.encodeWithSelector(ZkRollup.InvalidProof.selector));
    }

    function test_RevertWhen_DepositChunkMismatch() public {
        registerAlice(10 ether); // queue: 0 set key (1, G), 1 deposit (1, 10 ether)
        bytes memory setKey = chunk(2, 1, 0, KEY_G);
        bytes memory err = abi.encodeWithSelector(ZkRollup.QueueMismatch.selector, 1, 1);
        expectSubmitRevert(OP, 1, pubdata(setKey, chunk(1, 1, 10 ether - 1, 0)), err); // amount
        expectSubmitRevert(OP, 1, pubdata(setKey, chunk(1, 0, 10 ether, 0)), err); // account
        expectSubmitRevert(OP, 1, pubdata(setKey, chunk(1, 1, 10 ether, 1)), err); // data
        expectSubmitRevert(OP, 1, pubdata(setKey, chunk(3, 1, 10 ether, 0)), err); // kind
        // A deposit where the queue holds a set key.
        expectSubmitRevert(
            OP,
            1,
            pubdata(chunk(1, 1, 10 ether, 0), setKey),
            abi.encodeWithSelector(ZkRollup.QueueMismatch.selector, 0, 0)
        );
        // In order, it goes through.
        submit(1, pubdata(setKey, chunk(1, 1, 10 ether, 0)));
        // The queue is empty now: a deposit chunk has no message to match.
        expectSubmitRevert(
            OP,
            2,
            pubdata(noop(), chunk(1, 1, 10 ether, 0)),
            abi.encodeWithSelector(ZkRollup.QueueMismatch.selector, 1, 2)
        );
    }

    function test_RevertWhen_SetKeyChunkMismatch() public {
        registerAlice(0); // queue: 0 set key (1, G)
        bytes memory err = abi.encodeWithSelector(ZkRollup.QueueMismatch.selector, 0, 0);
        expectSubmitRevert(OP, 1, pubdata(chunk(2, 1, 0, KEY_NEG_G), noop()), err); // key (parity)
        expectSubmitRevert(OP, 1, pubdata(chunk(2, 1, 0, KEY_2G), noop()), err); // key
        expectSubmitRevert(OP, 1, pubdata(chunk(2, 2, 0, KEY_G), noop()), err); // account
        expectSubmitRevert(OP, 1, pubdata(chunk(2, 1, 1, KEY_G), noop()), err); // amount
        expectSubmitRevert(OP, 1, pubdata(chunk(1, 1, 0, KEY_G), noop()), err); // kind
        expectSubmitRevert(OP, 1, pubdata(chunk(3, 1, 0, 0), noop()), err); // kind
        // The set key twice: the second has no message.
        expectSubmitRevert(
            OP,
            1,
            pubdata(chunk(2, 1, 0, KEY_G), chunk(2, 1, 0, KEY_G)),
            abi.encodeWithSelector(ZkRollup.QueueMismatch.selector, 1, 1)
        );
        submit(1, pubdata(chunk(2, 1, 0, KEY_G), noop()));
    }

    function test_RevertWhen_ForcedExitChunkMismatch() public {
        aliceFunded();
        vm.prank(ALICE);
        rollup.forceExit(1); // queue message 2
        bytes memory err = abi.encodeWithSelector(ZkRollup.QueueMismatch.selector, 0, 2);
        expectSubmitRevert(OP, 2, pubdata(chunk(3, 0, 0, 0), noop()), err); // account
        expectSubmitRevert(OP, 2, pubdata(chunk(3, 1, 0, 1), noop()), err); // data
        expectSubmitRevert(
            OP,
            2,
            pubdata(chunk(4, 1, 0, 0), chunk(3, 2, 0, 0)), // second chunk
            abi.encodeWithSelector(ZkRollup.QueueMismatch.selector, 1, 2)
        );
        expectSubmitRevert(OP, 2, pubdata(chunk(1, 1, 0, 0), noop()), err); // kind
    }

    function test_ForcedExitAmountIsTheBatchs() public {
        aliceFunded();
        vm.prank(ALICE);
        rollup.forceExit(1); // queued with amount 0
        checkMessage(2, 3, 1, 0, 0, START);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.WithdrawalCredited(1, 1, ALICE, 10 ether);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.BatchVerified(1, 0xA1, 0xA2, 3);
        submit(0xA2, pubdata(chunk(3, 1, 10 ether, 0), noop()));
        assertEq(rollup.claimable(ALICE), 10 ether, "claimable");
        assertEq(rollup.queueNext(), 3, "queueNext");
    }

    function test_ForcedExitOfEmptyAccountCreditsNothing() public {
        registerAlice(0);
        vm.prank(ALICE);
        rollup.forceExit(1);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.WithdrawalCredited(0, 1, ALICE, 0);
        submit(1, pubdata(chunk(2, 1, 0, KEY_G), chunk(3, 1, 0, 0)));
        assertEq(rollup.claimable(ALICE), 0, "claimable");
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NothingToClaim.selector, ALICE));
        rollup.claim(payable(ALICE));
    }

    function test_RevertWhen_UnknownKind() public {
        expectSubmitRevert(
            OP, 1, pubdata(chunk(5, 0, 0, 0), noop()), abi.encodeWithSelector(ZkRollup.UnknownKind.selector, 0, 5)
        );
        expectSubmitRevert(
            OP, 1, pubdata(noop(), chunk(255, 0, 0, 0)), abi.encodeWithSelector(ZkRollup.UnknownKind.selector, 1, 255)
        );
    }

    function test_RevertWhen_WithdrawalFromUnknownAccount() public {
        registerAlice(0);
        expectSubmitRevert(
            OP,
            1,
            pubdata(chunk(2, 1, 0, KEY_G), chunk(4, 2, 1, 0)),
            abi.encodeWithSelector(ZkRollup.UnknownAccount.selector, 2, 2)
        );
        expectSubmitRevert(
            OP,
            1,
            pubdata(chunk(4, 0xFFFFFF, 1, 0), noop()),
            abi.encodeWithSelector(ZkRollup.UnknownAccount.selector, 0xFFFFFF, 2)
        );
    }

    function test_NoopKindIgnoresTheRestOfItsChunk() public {
        // L1 reads only the kind of a no-op; the circuit constrains the rest to zeros.
        submit(1, pubdata(chunk(0, 5, 7, 9), noop()));
        assertEq(rollup.queueNext(), 0, "nothing consumed");
        assertEq(rollup.claimable(address(0)), 0, "nothing credited");
    }

    // ---------------------------------------------------------------- withdrawals and claims

    function test_WithdrawalCreditedAndClaimedOnce() public {
        aliceFunded();
        // Withdrawal of 3 ether from Alice's account, fee in data (fee[16] ‖ 0[16]); the fee
        // account (0) withdraws 1 gwei to the operator in the same batch.
        uint256 feeData = uint256(1e15) << 128;
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.WithdrawalCredited(1, 1, ALICE, 3 ether);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.WithdrawalCredited(1, 0, OP, 1 gwei);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.BatchVerified(1, 0xA1, 0xA2, 2);
        submit(0xA2, pubdata(chunk(4, 1, 3 ether, feeData), chunk(4, 0, 1 gwei, 0)));
        assertEq(rollup.claimable(ALICE), 3 ether, "Alice's claimable");
        assertEq(rollup.claimable(OP), 1 gwei, "operator's claimable");

        // Alice claims to Carol.
        uint256 before = CAROL.balance;
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.Claimed(ALICE, CAROL, 3 ether);
        vm.prank(ALICE);
        rollup.claim(payable(CAROL));
        assertEq(CAROL.balance, before + 3 ether, "paid");
        assertEq(rollup.claimable(ALICE), 0, "claimed");
        assertEq(address(rollup).balance, 7 ether, "held");
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NothingToClaim.selector, ALICE));
        rollup.claim(payable(ALICE));

        // Credits accumulate across batches.
        submit(0xA3, pubdata(chunk(4, 1, 1 ether, 0), chunk(4, 1, 2 ether, 0)));
        assertEq(rollup.claimable(ALICE), 3 ether, "accumulated");
        vm.prank(ALICE);
        rollup.claim(payable(ALICE));
        assertEq(rollup.claimable(ALICE), 0, "claimed again");
    }

    function test_RevertWhen_ClaimNothingOrToZero() public {
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NothingToClaim.selector, BOB));
        rollup.claim(payable(BOB));
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.ZeroRecipient.selector));
        rollup.claim(payable(address(0)));
    }

    function test_RevertWhen_ClaimReentered() public {
        ZkClaimer claimer = new ZkClaimer(rollup);
        vm.prank(ALICE);
        uint32 account = claimer.register{value: 5 ether}(KEY_G);
        submit(0xA1, pubdata(chunk(2, account, 0, KEY_G), chunk(1, account, 5 ether, 0)));
        submit(0xA2, pubdata(chunk(4, account, 2 ether, 0), noop()));
        assertEq(rollup.claimable(address(claimer)), 2 ether, "credited");

        claimer.setReenter(true);
        vm.expectRevert(abi.encodeWithSelector(ReentrancyGuard.ReentrancyGuardReentrantCall.selector));
        claimer.claim();
        assertEq(rollup.claimable(address(claimer)), 2 ether, "still claimable");
        assertEq(address(rollup).balance, 5 ether, "nothing paid");

        claimer.setReenter(false);
        claimer.setRefuse(true);
        vm.expectRevert(abi.encodeWithSignature("Error(string)", "ZkClaimer: refuses ETH"));
        claimer.claim();
        assertEq(rollup.claimable(address(claimer)), 2 ether, "still claimable after a refusal");

        claimer.setRefuse(false);
        claimer.claim();
        assertEq(address(claimer).balance, 2 ether, "paid once");
        assertEq(rollup.claimable(address(claimer)), 0, "claimed");
        vm.expectRevert(abi.encodeWithSelector(ZkRollup.NothingToClaim.selector, address(claimer)));
        claimer.claim();
    }

    function test_RevertWhen_ClaimToContractWithoutReceive() public {
        aliceFunded();
        submit(0xA2, pubdata(chunk(4, 1, 1 ether, 0), noop()));
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(Errors.FailedCall.selector));
        rollup.claim(payable(address(verifier)));
        assertEq(rollup.claimable(ALICE), 1 ether, "still claimable");
    }

    // ---------------------------------------------------------------- liveness

    function test_RevertWhen_NonOperatorSubmitsWhileOperatorLive() public {
        // Empty queue: never open to all.
        expectSubmitRevert(
            BOB, 1, emptyPubdata(), abi.encodeWithSelector(ZkRollup.NotOperator.selector, BOB, type(uint256).max)
        );
        registerAlice(0);
        vm.warp(START + DELAY - 1);
        expectSubmitRevert(
            BOB,
            1,
            pubdata(chunk(2, 1, 0, KEY_G), noop()),
            abi.encodeWithSelector(ZkRollup.NotOperator.selector, BOB, START + DELAY)
        );
    }

    function test_AnyoneSubmitsOnceAMessageIsOverdue() public {
        registerAlice(0);
        vm.warp(START + DELAY);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.BatchVerified(0, GENESIS, 1, 1);
        vm.prank(BOB);
        rollup.submitBatch(1, pubdata(chunk(2, 1, 0, KEY_G), noop()), proof());
        assertEq(rollup.queueNext(), 1, "consumed");
        // Nothing is overdue any more: the operator alone again.
        expectSubmitRevert(
            BOB, 2, emptyPubdata(), abi.encodeWithSelector(ZkRollup.NotOperator.selector, BOB, type(uint256).max)
        );
        submit(2, emptyPubdata());
    }

    function test_RevertWhen_NonOperatorBatchSkipsOverdueMessage() public {
        registerAlice(0);
        vm.warp(START + DELAY + 1);
        expectSubmitRevert(
            BOB, 1, emptyPubdata(), abi.encodeWithSelector(ZkRollup.ForcedMessageSkipped.selector, 0, START + DELAY)
        );
    }

    function test_RevertWhen_OperatorBatchSkipsOverdueMessage() public {
        registerAlice(0);
        // Before the deadline the operator may leave it waiting.
        vm.warp(START + DELAY - 1);
        submit(1, emptyPubdata());
        vm.warp(START + DELAY);
        expectSubmitRevert(
            OP, 2, emptyPubdata(), abi.encodeWithSelector(ZkRollup.ForcedMessageSkipped.selector, 0, START + DELAY)
        );
        // Consuming it is accepted.
        submit(2, pubdata(chunk(2, 1, 0, KEY_G), noop()));
        assertEq(rollup.queueNext(), 1, "consumed");
    }

    function test_RevertWhen_BatchConsumesOnlyPartOfOverdueMessages() public {
        registerAlice(0); // 0: START
        vm.warp(START + 10);
        vm.prank(ALICE);
        rollup.forceExit(1); // 1: START + 10
        vm.warp(START + 20);
        vm.prank(BOB);
        rollup.deposit{value: 1 ether}(1); // 2: START + 20
        vm.warp(START + DELAY + 10);
        // Message 1 is overdue too: consuming message 0 alone is not enough.
        expectSubmitRevert(
            CAROL,
            1,
            pubdata(chunk(2, 1, 0, KEY_G), noop()),
            abi.encodeWithSelector(ZkRollup.ForcedMessageSkipped.selector, 1, START + 10 + DELAY)
        );
        // Consuming 0 and 1 leaves message 2, due one second later: accepted, even from Carol.
        vm.prank(CAROL);
        rollup.submitBatch(1, pubdata(chunk(2, 1, 0, KEY_G), chunk(3, 1, 0, 0)), proof());
        assertEq(rollup.queueNext(), 2, "consumed");
        assertEq(rollup.nextDeadline(), START + 20 + DELAY, "next deadline");
        expectSubmitRevert(
            CAROL, 2, emptyPubdata(), abi.encodeWithSelector(ZkRollup.NotOperator.selector, CAROL, START + 20 + DELAY)
        );
    }

    // ---------------------------------------------------------------- fuzz: chunk parsing

    /// @dev A deposit chunk is accepted exactly when every field equals the queued deposit.
    function testFuzz_DepositChunk(uint32 account, uint128 amount, uint256 data, uint128 queuedAmount) public {
        account = account & 0xFFFFFF;
        queuedAmount = uint128(1 + queuedAmount % 1e24);
        registerAlice(0);
        vm.deal(BOB, queuedAmount);
        vm.prank(BOB);
        rollup.deposit{value: queuedAmount}(1);
        bytes memory data_ = pubdata(chunk(2, 1, 0, KEY_G), chunk(1, account, amount, data));
        if (account == 1 && amount == queuedAmount && data == 0) {
            submit(1, data_);
            assertEq(rollup.queueNext(), 2, "consumed");
        } else {
            expectSubmitRevert(OP, 1, data_, abi.encodeWithSelector(ZkRollup.QueueMismatch.selector, 1, 1));
        }
    }

    /// @dev Withdrawal chunk fields land where §4.2 puts them, whatever the neighbouring chunk holds.
    function testFuzz_WithdrawalChunks(uint128 a, uint128 b, uint256 data) public {
        aliceFunded();
        vm.prank(BOB);
        rollup.register(KEY_2G); // account 2, Bob
        submit(0xA2, pubdata(chunk(2, 2, 0, KEY_2G), noop()));
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.WithdrawalCredited(2, 2, BOB, a);
        vm.expectEmit(true, true, true, true, address(rollup));
        emit ZkRollup.WithdrawalCredited(2, 1, ALICE, b);
        submit(0xA3, pubdata(chunk(4, 2, a, data), chunk(4, 1, b, ~data)));
        assertEq(rollup.claimable(BOB), a, "Bob's credit");
        assertEq(rollup.claimable(ALICE), b, "Alice's credit");
    }

    /// @dev Any general chunk kind: 0 is a no-op, 4 a withdrawal, 1-3 need a queue message (none
    ///      here), above 4 is unknown.
    function testFuzz_GeneralChunkKind(uint8 kind, uint128 amount) public {
        bytes memory data = pubdata(noop(), chunk(kind, 0, amount, 0));
        if (kind == 0) {
            submit(1, data);
            assertEq(rollup.claimable(OP), 0, "no credit");
        } else if (kind == 4) {
            submit(1, data);
            assertEq(rollup.claimable(OP), amount, "credit");
        } else if (kind <= 3) {
            expectSubmitRevert(OP, 1, data, abi.encodeWithSelector(ZkRollup.QueueMismatch.selector, 1, 0));
        } else {
            expectSubmitRevert(OP, 1, data, abi.encodeWithSelector(ZkRollup.UnknownKind.selector, 1, kind));
        }
    }

    // ---------------------------------------------------------------- gas (M = 2, N = 4, D = 24)

    /// @dev A typical life cycle, for `forge test --match-test test_Gas --gas-report`.
    function test_GasTypicalFlow() public {
        vm.prank(ALICE);
        rollup.register{value: 5 ether}(KEY_G); // account 1: set key + deposit
        vm.prank(BOB);
        rollup.register(KEY_NEG_G); // account 2: set key
        submit(0xA1, pubdata(chunk(2, 1, 0, KEY_G), chunk(1, 1, 5 ether, 0)));
        vm.prank(CAROL);
        rollup.deposit{value: 1 ether}(2);
        vm.prank(ALICE);
        rollup.forceExit(1);
        submit(0xA2, pubdata(chunk(2, 2, 0, KEY_NEG_G), chunk(1, 2, 1 ether, 0)));
        submit(0xA3, pubdata(chunk(3, 1, 4 ether, 0), chunk(4, 2, 0.5 ether, 0)));
        vm.prank(ALICE);
        rollup.claim(payable(ALICE));
        vm.prank(BOB);
        rollup.claim(payable(BOB));
    }
}
