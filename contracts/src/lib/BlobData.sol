// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.37;

/// @title BlobData
/// @notice Reads batch data that was posted in EIP-4844 blobs: one field element at a time,
/// opened against the blob's versioned hash with the point-evaluation precompile (0x0A).
/// Packing (crates/stf/src/blob.rs): data byte k*31 + j (0 <= j < 31) is byte 1 + j of element
/// k mod 4096 of blob k div 4096; byte 0 of every element is 0. Element i is the blob
/// polynomial's value at z = w^brp(i), w the primitive 4096th root of unity of the BLS12-381
/// scalar field and brp the reversal of i's 12 bits.
library BlobData {
    /// The BLS12-381 scalar field modulus.
    uint256 internal constant BLS_MODULUS =
        0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001;
    /// Field elements per blob.
    uint256 internal constant ELEMENTS = 4096;
    /// Data bytes per element.
    uint256 internal constant DATA_PER_ELEMENT = 31;
    /// The point-evaluation precompile.
    address internal constant POINT_EVALUATION = address(0x0a);
    /// The precompile's price (EIP-4844).
    uint256 internal constant POINT_EVALUATION_GAS = 50_000;

    /// The opening is not for an element of a blob (index past 4095).
    error NoSuchElement(uint256 element);

    /// @notice z = w^brp(element). Bit j of `element` is bit 11 - j of brp(element), so z is
    /// the product of w^(2^(11 - j)) over the set bits j: twelve constants, at most twelve
    /// `mulmod`s (the modexp precompile costs at least 500 gas; this costs about 300).
    function evaluationPoint(uint256 element) internal pure returns (uint256 z) {
        if (element >= ELEMENTS) revert NoSuchElement(element);
        z = 1;
        uint256 r = BLS_MODULUS;
        if (element & 0x001 != 0) z = mulmod(z, 0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000000, r);
        if (element & 0x002 != 0) z = mulmod(z, 0x00000000000000008d51ccce760304d0ec030002760300000001000000000000, r);
        if (element & 0x004 != 0) z = mulmod(z, 0x345766f603fa66e78c0625cd70d77ce2b38b21c28713b7007228fd3397743f7a, r);
        if (element & 0x008 != 0) z = mulmod(z, 0x20b1ce9140267af9dd1c0af834cec32c17beb312f20b6f7653ea61d87742bcce, r);
        if (element & 0x010 != 0) z = mulmod(z, 0x50e0903a157988bab4bcd40e22f55448bf6e88fb4c38fb8a360c60997369df4e, r);
        if (element & 0x020 != 0) z = mulmod(z, 0x45af6345ec055e4d14a1e27164d8fdbd2d967f4be2f951558140d032f0a9ee53, r);
        if (element & 0x040 != 0) z = mulmod(z, 0x6898111413588742b7c68b4d7fdd60d098d0caac87f5713c5130c2c1660125be, r);
        if (element & 0x080 != 0) z = mulmod(z, 0x4f9b4098e2e9f12e6b368121ac0cf4ad0a0865a899e8deff4935bd2f817f694b, r);
        if (element & 0x100 != 0) z = mulmod(z, 0x095166525526a65439feec240d80689fd697168a3a6000fe4541b8ff2ee0434e, r);
        if (element & 0x200 != 0) z = mulmod(z, 0x325db5c3debf77a18f4de02c0f776af3ea437f9626fc085e3c28d666a5c2d854, r);
        if (element & 0x400 != 0) z = mulmod(z, 0x6d031f1b5c49c83409f1ca610a08f16655ea6811be9c622d4a838b5d59cd79e5, r);
        if (element & 0x800 != 0) z = mulmod(z, 0x564c0a11a0f704f4fc3e8acfe0f8245f0ad1347b378fbf96e206da11a5d36306, r);
    }

    /// @notice Whether `y` is element `element` of the blob with `versionedHash`, by the KZG
    /// `proof` against `commitment` (the precompile also checks that the commitment hashes to
    /// the versioned hash).
    function verifyElement(
        bytes32 versionedHash,
        uint256 element,
        bytes32 y,
        bytes calldata commitment,
        bytes calldata proof
    ) internal view returns (bool) {
        if (commitment.length != 48 || proof.length != 48) return false;
        // A failing precompile call consumes all the gas it was given: give it its price.
        (bool ok, bytes memory out) = POINT_EVALUATION.staticcall{gas: POINT_EVALUATION_GAS}(
            abi.encodePacked(versionedHash, evaluationPoint(element), y, commitment, proof)
        );
        return ok && out.length == 64 && abi.decode(out, (uint256)) == ELEMENTS;
    }
}
