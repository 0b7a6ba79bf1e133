// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {StepCodec} from "../src/fraud/StepCodec.sol";

/// @dev Exposes StepCodec's compact-transaction readers (internal library functions).
contract CompactHarness {
    function decodeCompact(bytes memory b) external pure returns (bool ok, StepCodec.Compact memory t) {
        return StepCodec.decodeCompact(b);
    }

    function decodeDec(bytes memory b, uint256 bits) external pure returns (bool ok, uint256 x, uint256 length) {
        return StepCodec.decodeDec(b, bits);
    }

    function decodeTx(bytes memory b) external pure returns (bool ok) {
        (ok,) = StepCodec.decodeTx(b);
    }

    /// @dev Gas of `StepCodec.decodeCompact(b)` alone (no call or ABI overhead).
    function decodeGas(bytes memory b) external view returns (uint256 used, bool ok) {
        uint256 before = gasleft();
        (ok,) = StepCodec.decodeCompact(b);
        used = before - gasleft();
    }
}

/// @dev Compact transactions (docs/rollup.md §3.2) from hand-built bytes: fields, `dec` and every
/// undecodable rule. The verifier's index resolution is covered by the Rust differential vectors
/// (testdata/fraud/steps.json).
contract StepCodecCompactTest {
    address private constant CONSOLE = 0x000000000000000000636F6e736F6c652e6c6f67;
    bytes32 private constant R = 0x1111111111111111111111111111111111111111111111111111111111111111;
    bytes32 private constant S = 0x2222222222222222222222222222222222222222222222222222222222222222;

    CompactHarness private h;

    function setUp() public {
        h = new CompactHarness();
    }

    function log(string memory label, uint256 value) internal view {
        (bool ok,) = CONSOLE.staticcall(abi.encodeWithSignature("log(string,uint256)", label, value));
        ok;
    }

    // ---------------------------------------------------------------------------------------------
    // Encoders (the test's own, independent of the codec)

    /// @dev Unsigned LEB128, shortest form.
    function _leb(uint256 v) internal pure returns (bytes memory out) {
        while (true) {
            uint256 low = v & 0x7f;
            v >>= 7;
            if (v == 0) return bytes.concat(out, bytes1(uint8(low)));
            out = bytes.concat(out, bytes1(uint8(low | 0x80)));
        }
    }

    /// @dev `dec` of `m × 10^e` as given (not normalised), `m × 78 + e` below 2^256.
    function _dec(uint256 m, uint256 e) internal pure returns (bytes memory) {
        return _leb(m * 78 + e);
    }

    function _sig() internal pure returns (bytes memory) {
        return abi.encodePacked(R, S);
    }

    /// 1 gwei priority, 2 gwei max fee, to index 300, 1 ETH, nonce 5, yParity 1, g = 0.
    function _eth() internal pure returns (bytes memory) {
        return bytes.concat(hex"21" hex"05" hex"57" hex"a501" hex"ac02" hex"60", _sig());
    }

    function _check(bytes memory b, string memory what) internal view {
        (bool ok,) = h.decodeCompact(b);
        require(!ok, string.concat(what, ": decoded"));
    }

    // ---------------------------------------------------------------------------------------------
    // dec

    function _expectDec(bytes memory b, uint256 bits, uint256 x, uint256 length) internal view {
        (bool ok, uint256 got, uint256 len) = h.decodeDec(b, bits);
        require(ok, "dec: undecodable");
        require(got == x, "dec: value");
        require(len == length, "dec: length");
    }

    function _refuseDec(bytes memory b, uint256 bits, string memory what) internal view {
        (bool ok,,) = h.decodeDec(b, bits);
        require(!ok, string.concat(what, ": decoded"));
    }

    function test_decExamples() public view {
        _expectDec(hex"00", 256, 0, 1);
        _expectDec(hex"60", 256, 1e18, 1); // m 1, e 18: v 96
        _expectDec(hex"a501", 256, 2e9, 2); // m 2, e 9: v 165
        _expectDec(hex"fa4a", 256, 123, 2); // m 123, e 0: v 9594
        _expectDec(hex"4e", 256, 1, 1); // m 1, e 0: v 78
        _expectDec(hex"4f", 256, 10, 1); // m 1, e 1: v 79
        _expectDec(hex"57", 128, 1e9, 1);
        // Bytes after the dec are not read.
        _expectDec(hex"60ff", 256, 1e18, 1);
        require(keccak256(_dec(1, 18)) == keccak256(hex"60"), "encoder");
        require(keccak256(_dec(123, 0)) == keccak256(hex"fa4a"), "encoder");
    }

    function test_decLimits() public view {
        // Largest power of ten: 10^77 < 2^256; 2 × 10^77 is not.
        _expectDec(_dec(1, 77), 256, 1e77, 2);
        _expectDec(_dec(11, 76), 256, 11e76, 2);
        _refuseDec(_dec(12, 76), 256, "1.2e77 overflows 256 bits");
        _refuseDec(_dec(2, 77), 256, "2e77 overflows 256 bits");
        _refuseDec(_dec(9, 77), 256, "9e77 overflows 256 bits");
        // A large mantissa that fits: (2^256 - 1) / 78 rounded down to a non-multiple of 10.
        uint256 m = type(uint256).max / 78;
        if (m % 10 == 0) m--;
        _expectDec(_dec(m, 0), 256, m, _dec(m, 0).length);
        // A mantissa whose varint fits but whose product with 100 overflows.
        uint256 big = type(uint256).max / 100 + 1;
        if (big % 10 == 0) big++;
        _refuseDec(_dec(big, 2), 256, "mantissa times 100 overflows");
        // The varint itself is limited to 256 bits: 37 bytes with the last one above 0x0f.
        bytes memory over = new bytes(37);
        for (uint256 i = 0; i < 36; i++) {
            over[i] = 0x81;
        }
        over[36] = 0x10;
        _refuseDec(over, 256, "varint above 256 bits");
        // The same with the last byte 0x0f fits 256 bits; whether it is a dec depends on its
        // digits, but reading it must not revert.
        over[36] = 0x0f;
        (bool ok,,) = h.decodeDec(over, 256);
        ok;
    }

    function test_decFeeLimit() public view {
        // Fees are below 2^128: 3e38 fits, 4e38 does not; 2^128 - 1 fits, 2^128 does not.
        _expectDec(_dec(3, 38), 128, 3e38, 2);
        _refuseDec(_dec(4, 38), 128, "4e38 fee");
        _expectDec(_dec(type(uint128).max, 0), 128, type(uint128).max, _dec(type(uint128).max, 0).length);
        _refuseDec(_dec(uint256(type(uint128).max) + 1, 0), 128, "2^128 fee");
        _expectDec(_dec(uint256(type(uint128).max) + 1, 0), 256, uint256(type(uint128).max) + 1, 20);
    }

    function test_decNonCanonical() public view {
        _refuseDec(_dec(10, 0), 256, "m 10 e 0"); // 10 is m 1 e 1
        _refuseDec(_dec(20, 5), 256, "m 20 e 5");
        _refuseDec(_dec(1000, 0), 256, "m 1000");
        _refuseDec(hex"01", 256, "m 0 e 1"); // zero is m 0 e 0 only
        _refuseDec(_dec(0, 77), 256, "m 0 e 77");
        _refuseDec(hex"8000", 256, "zero in two bytes"); // varint not in shortest form
        _refuseDec(hex"e080", 256, "varint with a zero last byte");
        _refuseDec(hex"", 256, "empty");
        _refuseDec(hex"a5", 256, "truncated varint");
    }

    /// @dev Every canonical `m × 10^e` decodes back, as long as it and its varint fit.
    function testFuzz_decRoundTrip(uint256 m, uint8 eSeed) public view {
        uint256 e = eSeed % 78;
        m = m % (type(uint256).max / 78);
        while (m != 0 && m % 10 == 0) m /= 10;
        if (m == 0) e = 0;
        bool fits = m == 0 || m <= type(uint256).max / (10 ** e);
        bytes memory b = _dec(m, e);
        (bool ok, uint256 x, uint256 len) = h.decodeDec(b, 256);
        require(ok == fits, "fits");
        if (fits) {
            require(x == m * 10 ** e && len == b.length, "round trip");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Compact transactions

    function test_ethTransfer() public view {
        bytes memory b = _eth();
        require(b.length == 72, "length");
        (bool ok, StepCodec.Compact memory t) = h.decodeCompact(bytes.concat(b, hex"10deadbeef"));
        require(ok, "undecodable");
        require(t.op == StepCodec.COMPACT_ETH, "op");
        require(t.nonce == 5, "nonce");
        require(t.priority == 1e9 && t.maxFee == 2e9, "fees");
        require(t.gasLimit == 21_000, "g = 0: 21,000");
        require(t.toIndex == 300 && t.recipientIndex == 0, "indexes");
        require(t.amount == 1e18, "value");
        require(t.parity == 1 && t.r == R && t.s == S, "signature");
        require(t.length == 72, "length, bytes after it not read");
    }

    function test_tokenTransfer() public view {
        // tag 0x26: op 1, g 1, yParity 0; nonce 0, priority 0, max fee 3e38, gas 50,000, token 0,
        // recipient 2^64 - 1, 123 tokens.
        bytes memory b = bytes.concat(
            hex"26" hex"00" hex"00" hex"9002" hex"d08603" hex"00" hex"ffffffffffffffffff01" hex"fa4a", _sig()
        );
        (bool ok, StepCodec.Compact memory t) = h.decodeCompact(b);
        require(ok, "undecodable");
        require(t.op == StepCodec.COMPACT_TRANSFER, "op");
        require(t.nonce == 0 && t.priority == 0 && t.maxFee == 3e38, "nonce and fees");
        require(t.gasLimit == 50_000, "posted gas");
        require(t.toIndex == 0 && t.recipientIndex == type(uint64).max, "indexes");
        require(t.amount == 123, "amount");
        require(t.parity == 0 && t.r == R && t.s == S, "signature");
        require(t.length == b.length && b.length == 85, "length");
    }

    function test_gasBit() public view {
        // op 1, g 0: 40,000.
        bytes memory b = bytes.concat(hex"24" hex"07" hex"00" hex"57" hex"02" hex"03" hex"00", _sig());
        (bool ok, StepCodec.Compact memory t) = h.decodeCompact(b);
        require(ok && t.op == 1 && t.gasLimit == 40_000 && t.toIndex == 2 && t.recipientIndex == 3, "op 1 g 0");
        require(t.nonce == 7 && t.amount == 0 && t.parity == 0, "op 1 g 0 fields");
        // op 0, g 1 with 21,001 (0x89a401), and with 40,000 (another op's gas, 0xc0b802).
        (ok, t) = h.decodeCompact(bytes.concat(hex"22" hex"00" hex"00" hex"57" hex"89a401" hex"01" hex"00", _sig()));
        require(ok && t.gasLimit == 21_001 && t.op == 0 && t.toIndex == 1, "op 0 g 1 21,001");
        (ok, t) = h.decodeCompact(bytes.concat(hex"23" hex"00" hex"00" hex"57" hex"c0b802" hex"01" hex"00", _sig()));
        require(ok && t.gasLimit == 40_000 && t.parity == 1, "op 0 g 1 40,000");
        // op 1, g 1 with 21,000 (0x88a401): not op 1's gas.
        (ok, t) =
            h.decodeCompact(bytes.concat(hex"27" hex"00" hex"00" hex"57" hex"88a401" hex"01" hex"02" hex"00", _sig()));
        require(ok && t.gasLimit == 21_000 && t.op == 1 && t.parity == 1, "op 1 g 1 21,000");
        // A posted gas limit of 0 is decodable (and refused later as below the op's gas).
        (ok, t) = h.decodeCompact(bytes.concat(hex"22" hex"00" hex"00" hex"57" hex"00" hex"01" hex"00", _sig()));
        require(ok && t.gasLimit == 0, "g 1, gas 0");
    }

    function test_undecodableOwnGas() public view {
        // g = 1 must not post the op's own gas.
        _check(bytes.concat(hex"22" hex"00" hex"00" hex"57" hex"88a401" hex"01" hex"00", _sig()), "op 0 posts 21,000");
        _check(
            bytes.concat(hex"26" hex"00" hex"00" hex"57" hex"c0b802" hex"01" hex"02" hex"00", _sig()),
            "op 1 posts 40,000"
        );
    }

    function test_undecodableTags() public view {
        bytes memory body = bytes.concat(hex"05" hex"57" hex"a501" hex"ac02" hex"60", _sig());
        for (uint256 tag = 0x28; tag <= 0x2f; tag++) {
            _check(bytes.concat(bytes1(uint8(tag)), body), "tag 0x28..0x2f");
        }
        uint8[7] memory others = [0x00, 0x02, 0x10, 0x11, 0x1f, 0x30, 0xff];
        for (uint256 i = 0; i < others.length; i++) {
            _check(bytes.concat(bytes1(others[i]), body), "not a compact tag");
        }
        _check(hex"", "empty");
        // The full-encoding reader (forced transactions) refuses every compact tag.
        for (uint256 tag = 0x20; tag <= 0x27; tag++) {
            require(!h.decodeTx(bytes.concat(bytes1(uint8(tag)), body)), "decodeTx took a compact tag");
        }
    }

    function test_undecodableFields() public view {
        bytes memory sig = _sig();
        // Non-canonical decs in each dec field (0x8c06: v 780, m 10 e 0).
        _check(bytes.concat(hex"21" hex"05" hex"8c06" hex"a501" hex"ac02" hex"60", sig), "priority m 10");
        _check(bytes.concat(hex"21" hex"05" hex"57" hex"01" hex"ac02" hex"60", sig), "max fee m 0 e 1");
        _check(bytes.concat(hex"21" hex"05" hex"57" hex"a501" hex"ac02" hex"8c06", sig), "value m 10");
        _check(bytes.concat(hex"25" hex"05" hex"57" hex"a501" hex"01" hex"02" hex"01", sig), "amount m 0 e 1");
        // Fees of 2^128 or more (4e38: v 350 = 0xde02).
        _check(bytes.concat(hex"21" hex"05" hex"de02" hex"a501" hex"ac02" hex"60", sig), "priority 4e38");
        _check(bytes.concat(hex"21" hex"05" hex"57" hex"de02" hex"ac02" hex"60", sig), "max fee 4e38");
        _check(
            bytes.concat(hex"21" hex"05" hex"57", _dec(uint256(type(uint128).max) + 1, 0), hex"ac02" hex"60", sig),
            "max fee 2^128"
        );
        // ... but a 4e38 value is fine, and 2e77 is not (v 233 = 0xe901).
        (bool ok,) = h.decodeCompact(bytes.concat(hex"21" hex"05" hex"57" hex"a501" hex"ac02" hex"de02", sig));
        require(ok, "value 4e38");
        _check(bytes.concat(hex"21" hex"05" hex"57" hex"a501" hex"ac02" hex"e901", sig), "value 2e77");
        _check(bytes.concat(hex"25" hex"05" hex"57" hex"a501" hex"01" hex"02" hex"e901", sig), "amount 2e77");
        // Varints not in the shortest form: nonce, gas limit, indexes.
        _check(bytes.concat(hex"21" hex"8000" hex"57" hex"a501" hex"ac02" hex"60", sig), "nonce 0x8000");
        _check(bytes.concat(hex"23" hex"05" hex"57" hex"a501" hex"d0868300" hex"ac02" hex"60", sig), "gas 0x..00");
        _check(bytes.concat(hex"21" hex"05" hex"57" hex"a501" hex"ac8200" hex"60", sig), "to index 0x..00");
        _check(bytes.concat(hex"25" hex"05" hex"57" hex"a501" hex"01" hex"8100" hex"60", sig), "recipient 0x8100");
        // Varints above 64 bits: nonce, gas limit, indexes (2^64: 0x80 x9 then 0x02).
        bytes memory big = hex"80808080808080808002";
        _check(bytes.concat(hex"21", big, hex"57" hex"a501" hex"ac02" hex"60", sig), "nonce 2^64");
        _check(bytes.concat(hex"23" hex"05" hex"57" hex"a501", big, hex"ac02" hex"60", sig), "gas 2^64");
        _check(bytes.concat(hex"21" hex"05" hex"57" hex"a501", big, hex"60", sig), "to index 2^64");
        _check(bytes.concat(hex"25" hex"05" hex"57" hex"a501" hex"01", big, hex"60", sig), "recipient 2^64");
        // 2^64 - 1 fits.
        (ok,) =
            h.decodeCompact(bytes.concat(hex"21" hex"ffffffffffffffffff01" hex"57" hex"a501" hex"ac02" hex"60", sig));
        require(ok, "nonce 2^64 - 1");
    }

    function test_undecodableTruncated() public view {
        bytes memory b = _eth();
        for (uint256 n = 0; n < b.length; n++) {
            bytes memory prefix = new bytes(n);
            for (uint256 i = 0; i < n; i++) {
                prefix[i] = b[i];
            }
            _check(prefix, "truncated");
        }
        (bool ok,) = h.decodeCompact(b);
        require(ok, "whole");
    }

    /// @dev Decoding never reverts, and a decoded transaction never spans more than its bytes.
    function testFuzz_neverReverts(bytes calldata b) public view {
        (bool ok, StepCodec.Compact memory t) = h.decodeCompact(b);
        if (ok) require(t.length <= b.length && t.length <= StepCodec.MAX_STEP_BYTES, "length");
    }

    function testFuzz_compactTagNeverReverts(uint8 tag, bytes calldata rest) public view {
        (bool ok, StepCodec.Compact memory t) = h.decodeCompact(bytes.concat(bytes1(uint8(0x20 | (tag & 7))), rest));
        if (ok) require(t.length <= rest.length + 1 && t.op == (tag >> 2) & 1 && t.parity == tag & 1, "fields");
    }

    function test_gas_decodeEthTransfer() public view {
        (uint256 used, bool ok) = h.decodeGas(_eth());
        require(ok, "undecodable");
        log("decodeCompact gas (72-byte ETH transfer)", used);
    }
}
