// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.37;

import {BlobData} from "../src/lib/BlobData.sol";

/// @dev The few forge cheatcodes these tests use (forge-std is not available here).
interface BlobVm {
    function expectRevert(bytes calldata revertData) external;
    function readFile(string calldata path) external view returns (string memory);
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    function parseJsonBytes(string calldata json, string calldata key) external pure returns (bytes memory);
    function parseJsonBytes32(string calldata json, string calldata key) external pure returns (bytes32);
    function toString(uint256 value) external pure returns (string memory);
}

/// Calls the library from outside (calldata arguments, as a fraud proof will).
contract BlobDataHarness {
    function point(uint256 element) external pure returns (uint256) {
        return BlobData.evaluationPoint(element);
    }

    function verify(bytes32 h, uint256 element, bytes32 y, bytes calldata c, bytes calldata proof)
        external
        view
        returns (bool)
    {
        return BlobData.verifyElement(h, element, y, c, proof);
    }
}

/// BlobData against the openings crates/stf/src/blob.rs computes with c-kzg (testdata/blob):
/// the evaluation points agree with Rust's, every opening verifies through the real precompile,
/// and a wrong value, element, proof or blob does not.
contract BlobDataTest {
    BlobVm private constant vm = BlobVm(address(uint160(uint256(keccak256("hevm cheat code")))));

    event log_named_uint(string key, uint256 val);

    /// Openings in testdata/blob/openings.json.
    uint256 private constant OPENINGS = 10;

    BlobDataHarness internal h;
    string internal json;
    bytes32 internal versionedHash;
    bytes internal commitment;

    function setUp() public {
        h = new BlobDataHarness();
        json = vm.readFile("../testdata/blob/openings.json");
        versionedHash = vm.parseJsonBytes32(json, ".versionedHash");
        commitment = vm.parseJsonBytes(json, ".commitment");
    }

    function opening(uint256 i) internal view returns (uint256 element, bytes32 z, bytes32 y, bytes memory proof) {
        string memory key = string.concat(".openings[", vm.toString(i), "]");
        element = vm.parseJsonUint(json, string.concat(key, ".element"));
        z = vm.parseJsonBytes32(json, string.concat(key, ".z"));
        y = vm.parseJsonBytes32(json, string.concat(key, ".y"));
        proof = vm.parseJsonBytes(json, string.concat(key, ".proof"));
    }

    function test_openingsFromRustVerify() public view {
        for (uint256 i = 0; i < OPENINGS; i++) {
            (uint256 element, bytes32 z, bytes32 y, bytes memory proof) = opening(i);
            require(bytes32(h.point(element)) == z, "evaluation point differs from Rust's");
            require(h.verify(versionedHash, element, y, commitment, proof), "opening refused");
            // The first byte of every element is 0 (31 data bytes per element).
            require(y[0] == 0, "first byte");
        }
    }

    function test_wrongValueElementProofOrBlobFails() public view {
        (uint256 element,, bytes32 y, bytes memory proof) = opening(3);
        require(h.verify(versionedHash, element, y, commitment, proof), "the honest opening");
        require(!h.verify(versionedHash, element, bytes32(uint256(y) ^ 1), commitment, proof), "wrong value");
        require(!h.verify(versionedHash, element + 1, y, commitment, proof), "wrong element");
        (,,, bytes memory other) = opening(4);
        require(!h.verify(versionedHash, element, y, commitment, other), "wrong proof");
        require(!h.verify(bytes32(uint256(versionedHash) ^ 1), element, y, commitment, proof), "wrong blob");
        require(!h.verify(versionedHash, element, y, commitment, bytes("short")), "short proof");
    }

    function test_elementPastTheBlobReverts() public {
        vm.expectRevert(abi.encodeWithSelector(BlobData.NoSuchElement.selector, 4096));
        h.point(4096);
    }

    function test_gas_verifyOneElement() public {
        (uint256 element,, bytes32 y, bytes memory proof) = opening(9);
        uint256 before = gasleft();
        bool ok = h.verify(versionedHash, element, y, commitment, proof);
        uint256 used = before - gasleft();
        require(ok, "opening refused");
        emit log_named_uint("gas: one element opened (call included)", used);
        before = gasleft();
        h.point(4095);
        emit log_named_uint("gas: evaluation point, all 12 bits set (call included)", before - gasleft());
    }
}
