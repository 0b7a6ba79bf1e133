// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {SparseMerkle} from "../src/lib/SparseMerkle.sol";

/// @dev The few forge cheatcodes these tests use (forge-std is not available here).
interface Vm {
    function readFile(string calldata path) external view returns (string memory);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonBool(string calldata json, string calldata key) external pure returns (bool);
    function parseJsonBytes32(string calldata json, string calldata key) external pure returns (bytes32);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function parseJsonString(string calldata json, string calldata key) external pure returns (string memory);
    function parseJsonBytes32Array(string calldata json, string calldata key) external pure returns (bytes32[] memory);
    function toString(uint256 value) external pure returns (string memory);
    function assume(bool condition) external pure;
}

/// @dev Calls the library through an external function, so a revert can be caught.
contract SparseMerkleHarness {
    function computeRoot(SparseMerkle.Proof memory proof, bytes32 key, bytes32 valueHash)
        external
        pure
        returns (bytes32)
    {
        return SparseMerkle.computeRoot(proof, key, valueHash);
    }

    function update(
        SparseMerkle.Proof memory proof,
        bytes32 root,
        bytes32 key,
        bool present,
        bytes32 oldValueHash,
        bytes32 newValueHash
    ) external pure returns (bytes32) {
        return SparseMerkle.update(proof, root, key, present, oldValueHash, newValueHash);
    }
}

/// @dev Checks the library against the vectors the Rust implementation (crates/state) generates,
/// and against itself by fuzzing.
contract SparseMerkleTest {
    Vm private constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    /// @dev forge's console (no code: called with a low-level staticcall).
    address private constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;
    string private constant VECTORS = "../testdata/smt/vectors.json";

    SparseMerkleHarness private harness = new SparseMerkleHarness();

    struct Case {
        string name;
        bytes32 root;
        bytes32 key;
        bool present;
        bytes value;
        bytes32 valueHash;
        bytes32 leafHash;
        SparseMerkle.Proof proof;
        bytes newValue;
        bytes32 newValueHash;
        bytes32 rootAfter;
    }

    function log(string memory label, uint256 value) internal view {
        (bool ok,) = CONSOLE.staticcall(abi.encodeWithSignature("log(string,uint256)", label, value));
        ok;
    }

    function assertEq(bytes32 a, bytes32 b, string memory what) internal pure {
        require(a == b, what);
    }

    function loadCase(string memory json, uint256 i) internal pure returns (Case memory c) {
        string memory p = string.concat(".cases[", vm.toString(i), "]");
        c.name = vm.parseJsonString(json, string.concat(p, ".name"));
        c.root = vm.parseJsonBytes32(json, string.concat(p, ".root"));
        c.key = vm.parseJsonBytes32(json, string.concat(p, ".key"));
        c.present = vm.parseJsonBool(json, string.concat(p, ".present"));
        c.value = vm.parseJsonBytes(json, string.concat(p, ".value"));
        c.valueHash = vm.parseJsonBytes32(json, string.concat(p, ".valueHash"));
        c.leafHash = vm.parseJsonBytes32(json, string.concat(p, ".leafHash"));
        uint256 depth = vm.parseJsonUint(json, string.concat(p, ".depth"));
        if (depth > 0) {
            c.proof.siblings = vm.parseJsonBytes32Array(json, string.concat(p, ".siblings"));
        }
        require(c.proof.siblings.length == depth, "depth");
        c.proof.terminal = uint8(vm.parseJsonUint(json, string.concat(p, ".terminal")));
        c.proof.otherKey = vm.parseJsonBytes32(json, string.concat(p, ".otherKey"));
        c.proof.otherValueHash = vm.parseJsonBytes32(json, string.concat(p, ".otherValueHash"));
        c.newValue = vm.parseJsonBytes(json, string.concat(p, ".newValue"));
        c.newValueHash = vm.parseJsonBytes32(json, string.concat(p, ".newValueHash"));
        c.rootAfter = vm.parseJsonBytes32(json, string.concat(p, ".rootAfter"));
    }

    function test_vectors() public view {
        string memory json = vm.readFile(VECTORS);
        uint256 count = vm.parseJsonUint(json, ".count");
        require(count >= 30, "too few vectors");
        uint256[3] memory kinds;
        for (uint256 i = 0; i < count; i++) {
            Case memory c = loadCase(json, i);
            string memory name = c.name;
            kinds[c.proof.terminal]++;
            assertEq(keccak256(c.newValue), c.newValueHash, name);
            if (c.present) {
                assertEq(keccak256(c.value), c.valueHash, name);
                assertEq(SparseMerkle.leafHash(c.key, c.value), c.leafHash, name);
                require(SparseMerkle.verifyInclusion(c.proof, c.root, c.key, c.valueHash), name);
                require(!SparseMerkle.verifyExclusion(c.proof, c.root, c.key), name);
                require(
                    !SparseMerkle.verifyInclusion(c.proof, c.root, c.key, keccak256(c.newValue))
                        || c.valueHash == c.newValueHash,
                    name
                );
            } else {
                require(SparseMerkle.verifyExclusion(c.proof, c.root, c.key), name);
                require(!SparseMerkle.verifyInclusion(c.proof, c.root, c.key, c.newValueHash), name);
            }
            require(!SparseMerkle.verify(c.proof, keccak256(abi.encode(c.root)), c.key, c.present, c.valueHash), name);
            assertEq(SparseMerkle.computeRoot(c.proof, c.key, c.valueHash), c.root, name);
            assertEq(SparseMerkle.rootAfterUpdate(c.proof, c.key, c.newValueHash), c.rootAfter, name);
            assertEq(
                SparseMerkle.update(c.proof, c.root, c.key, c.present, c.valueHash, c.newValueHash), c.rootAfter, name
            );
        }
        require(kinds[0] > 0 && kinds[1] > 0 && kinds[2] > 0, "every terminal kind");
    }

    function test_updateRevertsOnWrongRoot() public {
        string memory json = vm.readFile(VECTORS);
        Case memory c = loadCase(json, 3);
        (bool ok,) = address(harness)
            .call(
                abi.encodeCall(
                    harness.update,
                    (c.proof, bytes32(uint256(c.root) ^ 1), c.key, c.present, c.valueHash, c.newValueHash)
                )
            );
        require(!ok, "wrong root accepted");
        (ok,) = address(harness)
            .call(abi.encodeCall(harness.update, (c.proof, c.root, c.key, !c.present, c.valueHash, c.newValueHash)));
        require(!ok, "wrong presence accepted");
    }

    function test_malformedProofs() public {
        bytes32 key = keccak256("k");
        SparseMerkle.Proof memory proof;
        proof.terminal = 3;
        require(!SparseMerkle.verifyExclusion(proof, 0, key), "unknown terminal");
        (bool ok,) = address(harness).call(abi.encodeCall(harness.computeRoot, (proof, key, 0)));
        require(!ok, "unknown terminal computed");
        // An other-leaf terminal with the proven key itself.
        proof.terminal = SparseMerkle.TERMINAL_OTHER;
        proof.otherKey = key;
        require(!SparseMerkle.verifyExclusion(proof, SparseMerkle.leafHashOf(key, 0), key), "own key as other");
        // An other-leaf terminal off the path: differs in bit 0 at depth 1.
        proof.siblings = new bytes32[](1);
        proof.otherKey = key ^ bytes32(uint256(1) << 255);
        bytes32 root = _up(SparseMerkle.leafHashOf(proof.otherKey, 0), 0, key, 0);
        require(!SparseMerkle.verifyExclusion(proof, root, key), "other leaf off the path");
        // 257 siblings.
        proof.siblings = new bytes32[](257);
        proof.terminal = SparseMerkle.TERMINAL_EMPTY;
        require(!SparseMerkle.verifyExclusion(proof, 0, key), "too deep");
    }

    /// @dev `node` at depth `depth + 1` hashed once with `sibling` at depth `depth` along `key`.
    function _up(bytes32 node, bytes32 sibling, bytes32 key, uint256 depth) private pure returns (bytes32) {
        bool right = (uint256(key) >> (255 - depth)) & 1 == 1;
        return right ? keccak256(abi.encode(sibling, node)) : keccak256(abi.encode(node, sibling));
    }

    /// @dev A proof with `depth` pseudo-random siblings (some empty).
    function _siblings(bytes32 seed, uint256 depth) private pure returns (bytes32[] memory s) {
        s = new bytes32[](depth);
        for (uint256 i = 0; i < depth; i++) {
            bytes32 h = keccak256(abi.encode(seed, i));
            s[i] = uint8(h[0]) < 64 ? bytes32(0) : h;
        }
    }

    /// rootAfterUpdate on an inclusion or empty-terminal proof equals computeRoot of the same path
    /// ending in the new leaf, and the new root verifies the new value.
    function testFuzz_updateLeafOrEmpty(
        bytes32 seed,
        uint8 rawDepth,
        bytes32 key,
        bool inclusion,
        bytes32 oldVh,
        bytes32 newVh
    ) public pure {
        SparseMerkle.Proof memory proof;
        proof.siblings = _siblings(seed, rawDepth % 48);
        proof.terminal = inclusion ? SparseMerkle.TERMINAL_LEAF : SparseMerkle.TERMINAL_EMPTY;
        bytes32 root = SparseMerkle.computeRoot(proof, key, oldVh);
        require(SparseMerkle.verify(proof, root, key, inclusion, oldVh), "old proof");
        bytes32 after_ = SparseMerkle.rootAfterUpdate(proof, key, newVh);
        require(after_ == SparseMerkle.update(proof, root, key, inclusion, oldVh, newVh), "update");
        proof.terminal = SparseMerkle.TERMINAL_LEAF;
        assertEq(SparseMerkle.computeRoot(proof, key, newVh), after_, "fresh root");
        require(SparseMerkle.verifyInclusion(proof, after_, key, newVh), "new proof");
    }

    /// rootAfterUpdate on an other-leaf proof equals computeRoot of the new key's and of the other
    /// key's proofs after the update: the old path, then empty siblings down to the first differing
    /// bit, then the other leaf.
    function testFuzz_updateOtherLeaf(
        bytes32 seed,
        uint8 rawDepth,
        bytes32 key,
        bytes32 otherKey,
        bytes32 otherVh,
        bytes32 newVh
    ) public pure {
        uint256 depth = rawDepth % 48;
        // Make the other key share the key's first `depth` bits.
        uint256 mask = depth == 0 ? 0 : ~(type(uint256).max >> depth);
        otherKey = bytes32((uint256(key) & mask) | (uint256(otherKey) & ~mask));
        vm.assume(otherKey != key);
        SparseMerkle.Proof memory proof;
        proof.siblings = _siblings(seed, depth);
        proof.terminal = SparseMerkle.TERMINAL_OTHER;
        proof.otherKey = otherKey;
        proof.otherValueHash = otherVh;
        bytes32 root = SparseMerkle.computeRoot(proof, key, 0);
        require(SparseMerkle.verifyExclusion(proof, root, key), "old proof");
        bytes32 after_ = SparseMerkle.rootAfterUpdate(proof, key, newVh);
        require(after_ == SparseMerkle.update(proof, root, key, false, 0, newVh), "update");

        uint256 p = 0;
        while ((uint256(key ^ otherKey) >> (255 - p)) & 1 == 0) p++;
        SparseMerkle.Proof memory mine;
        mine.siblings = new bytes32[](p + 1);
        SparseMerkle.Proof memory theirs;
        theirs.siblings = new bytes32[](p + 1);
        for (uint256 i = 0; i < depth; i++) {
            mine.siblings[i] = proof.siblings[i];
            theirs.siblings[i] = proof.siblings[i];
        }
        mine.siblings[p] = SparseMerkle.leafHashOf(otherKey, otherVh);
        theirs.siblings[p] = SparseMerkle.leafHashOf(key, newVh);
        assertEq(SparseMerkle.computeRoot(mine, key, newVh), after_, "new key's fresh root");
        assertEq(SparseMerkle.computeRoot(theirs, otherKey, otherVh), after_, "other key's fresh root");
    }

    /// Gas of the library at depth 21 (the deep vector), logged for docs and the library header.
    function test_gas_depth21() public view {
        string memory json = vm.readFile(VECTORS);
        uint256 count = vm.parseJsonUint(json, ".count");
        Case memory c;
        for (uint256 i = 0; i < count; i++) {
            c = loadCase(json, i);
            if (c.proof.siblings.length == 21 && c.present) break;
        }
        require(c.proof.siblings.length == 21, "no depth-21 vector");
        uint256 g = gasleft();
        bool ok = SparseMerkle.verifyInclusion(c.proof, c.root, c.key, c.valueHash);
        uint256 verifyGas = g - gasleft();
        require(ok, "verify");
        g = gasleft();
        bytes32 r = SparseMerkle.rootAfterUpdate(c.proof, c.key, c.newValueHash);
        uint256 updateGas = g - gasleft();
        assertEq(r, c.rootAfter, "rootAfterUpdate");
        g = gasleft();
        r = SparseMerkle.update(c.proof, c.root, c.key, true, c.valueHash, c.newValueHash);
        uint256 bothGas = g - gasleft();
        assertEq(r, c.rootAfter, "update");
        log("verify gas, depth 21", verifyGas);
        log("rootAfterUpdate gas, depth 21", updateGas);
        log("update gas, depth 21", bothGas);
        require(verifyGas < 30_000 && updateGas < 30_000 && bothGas < 45_000, "gas budget");
    }
}
