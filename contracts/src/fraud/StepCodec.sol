// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title StepCodec
/// @notice Decoding of one batch-data step (docs/fraud-proofs.md §3: a block marker `0x10
/// varint(timestamp)`, a queue marker `0x11` or a transaction in the docs/rollup.md §3.2 encoding, full
/// or compact) and the rebuilding of a transaction's signed payload, the Solidity twin of loft-stf's
/// batch codec and of alloy's RLP.
/// @dev Every reader is bounds-checked through a cursor that turns `bad` instead of reverting: a
/// malformed step is an undecodable step (fraud), never a revert.
library StepCodec {
    /// @notice Most bytes of batch data one step may span.
    uint256 internal constant MAX_STEP_BYTES = 320;
    /// @notice First byte of a block marker.
    uint8 internal constant BLOCK_TAG = 0x10;
    /// @notice The one byte of a queue step.
    uint8 internal constant QUEUE_TAG = 0x11;
    /// @notice Type byte of a legacy (EIP-155) transaction.
    uint8 internal constant TYPE_LEGACY = 0x00;
    /// @notice Type byte of an EIP-1559 transaction.
    uint8 internal constant TYPE_EIP1559 = 0x02;
    /// @notice First tag of a compact transaction, `0x20 | op << 2 | g << 1 | yParity` (docs/rollup.md §3.2).
    uint8 internal constant COMPACT_TAG = 0x20;
    /// @notice Last tag of a compact transaction.
    uint8 internal constant COMPACT_LAST = 0x27;
    /// @notice Compact operation 0: an ETH transfer.
    uint8 internal constant COMPACT_ETH = 0;
    /// @notice Compact operation 1: an ERC-20 transfer.
    uint8 internal constant COMPACT_TRANSFER = 1;
    /// @notice L2 gas of an ETH transfer, a compact op 0's gas limit when its tag's `g` is 0.
    uint64 internal constant ETH_TRANSFER_GAS = 21_000;
    /// @notice L2 gas of an ERC-20 transfer, a compact op 1's gas limit when its tag's `g` is 0.
    uint64 internal constant TOKEN_TRANSFER_GAS = 40_000;
    /// @dev `dec(x)` is `varint(m × 78 + e)` for `x = m × 10^e`, `0 ≤ e ≤ 77`.
    uint256 private constant DEC_BASE = 78;

    /// @notice A decoded transaction.
    struct Tx {
        uint8 ty;
        uint64 nonce;
        uint128 maxFee; // legacy gasPrice, or EIP-1559 maxFeePerGas
        uint128 priority; // EIP-1559 maxPriorityFeePerGas, 0 for legacy
        uint64 gasLimit;
        address to;
        uint256 value;
        bytes data;
        uint8 parity;
        bytes32 r;
        bytes32 s;
        uint256 length; // bytes of the encoding
    }

    /// @notice A decoded compact transaction (docs/rollup.md §3.2): an EIP-1559 transfer whose
    /// accounts are named by their index (§1.2), resolved against the state by the verifier.
    struct Compact {
        uint8 op; // COMPACT_ETH or COMPACT_TRANSFER
        uint64 nonce;
        uint128 priority; // maxPriorityFeePerGas
        uint128 maxFee; // maxFeePerGas
        uint64 gasLimit; // the op's L2 gas when the tag's g bit is 0
        uint64 toIndex; // the transaction's `to`: the recipient (op 0) or the token (op 1)
        uint64 recipientIndex; // op 1: the token recipient (0 for op 0)
        uint256 amount; // op 0: the ETH value; op 1: the tokens transferred
        uint8 parity;
        bytes32 r;
        bytes32 s;
        uint256 length; // bytes of the encoding
    }

    struct Cursor {
        bytes b;
        uint256 p;
        bool bad;
    }

    function _byte(Cursor memory c) private pure returns (uint256 v) {
        if (c.bad || c.p >= c.b.length) {
            c.bad = true;
            return 0;
        }
        v = uint8(c.b[c.p]);
        c.p++;
    }

    /// @dev Unsigned LEB128 of at most `bits` bits, in its shortest form (loft-stf `Reader::varint`).
    function _varint(Cursor memory c, uint256 bits) private pure returns (uint256 v) {
        uint256 shift;
        while (!c.bad) {
            uint256 x = _byte(c);
            if (c.bad) return 0;
            uint256 low = x & 0x7f;
            if (shift >= bits || (bits - shift < 7 && (low >> (bits - shift)) != 0)) {
                c.bad = true;
                return 0;
            }
            v |= low << shift;
            if (x & 0x80 == 0) {
                if (x == 0 && shift > 0) c.bad = true;
                return v;
            }
            shift += 7;
        }
    }

    /// @dev `dec(x)`: one varint `v` of at most 256 bits, `x = (v / 78) × 10^(v % 78)`, in its one
    /// form (a zero `m` only with `e = 0`, a nonzero `m` not a multiple of 10) and below `2^bits`.
    /// The product's overflow is checked by division: never a revert.
    function _dec(Cursor memory c, uint256 bits) private pure returns (uint256 x) {
        uint256 v = _varint(c, 256);
        if (c.bad) return 0;
        uint256 m = v / DEC_BASE;
        uint256 e = v % DEC_BASE;
        if (m == 0) {
            if (e != 0) c.bad = true;
            return 0;
        }
        uint256 p;
        unchecked {
            p = 10 ** e; // e <= 77 and 10^77 < 2^256
        }
        if (m % 10 == 0 || m > type(uint256).max / p) {
            c.bad = true;
            return 0;
        }
        x = m * p;
        if (bits < 256 && x >> bits != 0) {
            c.bad = true;
            return 0;
        }
    }

    /// @dev `n` bytes (n <= 32) as a big-endian number.
    function _take(Cursor memory c, uint256 n) private pure returns (uint256 v) {
        if (c.bad || c.p + n > c.b.length) {
            c.bad = true;
            return 0;
        }
        bytes memory b = c.b;
        uint256 p = c.p;
        if (n > 0) {
            assembly ("memory-safe") {
                v := shr(sub(256, shl(3, n)), mload(add(add(b, 0x20), p)))
            }
        }
        c.p = p + n;
    }

    /// @notice Decodes a block marker at the start of `b`; returns its length.
    function decodeBlock(bytes memory b) internal pure returns (bool ok, uint256 length) {
        Cursor memory c = Cursor(b, 0, false);
        if (_byte(c) != BLOCK_TAG) return (false, 0);
        _varint(c, 64);
        return (!c.bad, c.p);
    }

    /// @notice Decodes a transaction at the start of `b` (docs/rollup.md §3.2).
    function decodeTx(bytes memory b) internal pure returns (bool ok, Tx memory t) {
        Cursor memory c = Cursor(b, 0, false);
        uint256 ty = _byte(c);
        if (c.bad || (ty != TYPE_LEGACY && ty != TYPE_EIP1559)) return (false, t);
        t.ty = uint8(ty);
        t.nonce = uint64(_varint(c, 64));
        if (ty == TYPE_LEGACY) {
            t.maxFee = uint128(_varint(c, 128));
        } else {
            t.priority = uint128(_varint(c, 128));
            t.maxFee = uint128(_varint(c, 128));
        }
        t.gasLimit = uint64(_varint(c, 64));
        t.to = address(uint160(_take(c, 20)));
        uint256 n = _byte(c);
        if (n > 32) return (false, t);
        if (n > 0 && !c.bad && c.p < b.length && uint8(b[c.p]) == 0) return (false, t);
        t.value = _take(c, n);
        uint256 len = _varint(c, 64);
        if (c.bad || c.p + len > b.length) return (false, t);
        bytes memory data = new bytes(len);
        uint256 p = c.p;
        assembly ("memory-safe") {
            mcopy(add(data, 0x20), add(add(b, 0x20), p), len)
        }
        t.data = data;
        c.p = p + len;
        uint256 parity = _byte(c);
        if (parity > 1) return (false, t);
        t.parity = uint8(parity);
        t.r = bytes32(_take(c, 32));
        t.s = bytes32(_take(c, 32));
        if (c.bad) return (false, t);
        t.length = c.p;
        return (true, t);
    }

    /// @notice Decodes a compact transaction at the start of `b` (docs/rollup.md §3.2): `tag
    /// varint(nonce) dec(maxPriorityFeePerGas) dec(maxFeePerGas) [varint(gasLimit)] body r[32] s[32]`,
    /// body `varint(toIndex) dec(value)` (op 0) or `varint(tokenIndex) varint(recipientIndex)
    /// dec(amount)` (op 1). Undecodable (false): another first byte, a field that does not fit, a
    /// `dec` out of its form, a fee of `2^128` or more, a posted gas limit (`g = 1`) equal to the
    /// operation's gas. At most 216 bytes: it always fits a step's window.
    function decodeCompact(bytes memory b) internal pure returns (bool ok, Compact memory t) {
        Cursor memory c = Cursor(b, 0, false);
        uint256 tag = _byte(c);
        if (c.bad || tag < COMPACT_TAG || tag > COMPACT_LAST) return (false, t);
        // casting to 'uint8' is safe because both are single bits of the tag
        // forge-lint: disable-next-line(unsafe-typecast)
        t.op = uint8((tag >> 2) & 1);
        // forge-lint: disable-next-line(unsafe-typecast)
        t.parity = uint8(tag & 1);
        uint64 gas = t.op == COMPACT_ETH ? ETH_TRANSFER_GAS : TOKEN_TRANSFER_GAS;
        // casting to 'uint64' and 'uint128' is safe because each reader bounds its value to those bits
        // forge-lint: disable-next-line(unsafe-typecast)
        t.nonce = uint64(_varint(c, 64));
        // forge-lint: disable-next-line(unsafe-typecast)
        t.priority = uint128(_dec(c, 128));
        // forge-lint: disable-next-line(unsafe-typecast)
        t.maxFee = uint128(_dec(c, 128));
        t.gasLimit = gas;
        if (tag & 2 != 0) {
            // forge-lint: disable-next-line(unsafe-typecast)
            t.gasLimit = uint64(_varint(c, 64));
            if (t.gasLimit == gas) return (false, t);
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        t.toIndex = uint64(_varint(c, 64));
        // forge-lint: disable-next-line(unsafe-typecast)
        if (t.op == COMPACT_TRANSFER) t.recipientIndex = uint64(_varint(c, 64));
        t.amount = _dec(c, 256);
        t.r = bytes32(_take(c, 32));
        t.s = bytes32(_take(c, 32));
        if (c.bad) return (false, t);
        t.length = c.p;
        return (true, t);
    }

    /// @notice Decodes one `dec(x)` of at most `bits` bits at the start of `b` (the tests' entry
    /// to the reader `decodeCompact` uses); returns its value and length.
    function decodeDec(bytes memory b, uint256 bits) internal pure returns (bool ok, uint256 x, uint256 length) {
        Cursor memory c = Cursor(b, 0, false);
        x = _dec(c, bits);
        return (!c.bad, x, c.p);
    }

    // -----------------------------------------------------------------------------------------
    // RLP of the signed payload

    function _minimal(uint256 v) private pure returns (bytes memory out) {
        uint256 n;
        for (uint256 x = v; x != 0; x >>= 8) n++;
        out = new bytes(n);
        for (uint256 i = 0; i < n; i++) {
            out[n - 1 - i] = bytes1(uint8(v >> (8 * i)));
        }
    }

    function _rlpUint(uint256 v) private pure returns (bytes memory) {
        if (v == 0) return hex"80";
        if (v < 0x80) return abi.encodePacked(uint8(v));
        bytes memory m = _minimal(v);
        return bytes.concat(bytes1(uint8(0x80 + m.length)), m);
    }

    function _rlpBytes(bytes memory b) private pure returns (bytes memory) {
        if (b.length == 1 && uint8(b[0]) < 0x80) return b;
        if (b.length <= 55) return bytes.concat(bytes1(uint8(0x80 + b.length)), b);
        bytes memory l = _minimal(b.length);
        return bytes.concat(bytes1(uint8(0xb7 + l.length)), l, b);
    }

    function _rlpList(bytes memory payload) private pure returns (bytes memory) {
        if (payload.length <= 55) return bytes.concat(bytes1(uint8(0xc0 + payload.length)), payload);
        bytes memory l = _minimal(payload.length);
        return bytes.concat(bytes1(uint8(0xf7 + l.length)), l, payload);
    }

    /// @notice The hash the sender signed: legacy EIP-155 `rlp([nonce, gasPrice, gas, to, value,
    /// data, chainId, 0, 0])`, EIP-1559 `0x02 ‖ rlp([chainId, nonce, maxPriority, maxFee, gas, to,
    /// value, data, []])`.
    function signingHash(Tx memory t, uint256 chainId) internal pure returns (bytes32) {
        bytes memory tail = bytes.concat(
            _rlpUint(t.gasLimit), hex"94", bytes20(t.to), _rlpUint(t.value), _rlpBytes(t.data)
        );
        if (t.ty == TYPE_LEGACY) {
            return keccak256(
                _rlpList(bytes.concat(_rlpUint(t.nonce), _rlpUint(t.maxFee), tail, _rlpUint(chainId), hex"8080"))
            );
        }
        return keccak256(
            bytes.concat(
                hex"02",
                _rlpList(
                    bytes.concat(
                        _rlpUint(chainId), _rlpUint(t.nonce), _rlpUint(t.priority), _rlpUint(t.maxFee), tail, hex"c0"
                    )
                )
            )
        );
    }

    /// @notice The signer of `t` for chain `chainId`, or 0 if the signature does not recover or has
    /// a high `s` (EIP-2).
    function recover(Tx memory t, uint256 chainId) internal pure returns (address) {
        if (uint256(t.s) > 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0) return address(0);
        return ecrecover(signingHash(t, chainId), 27 + t.parity, t.r, t.s);
    }

    // -----------------------------------------------------------------------------------------
    // Strict-enough ABI reading of queue payloads (alloy's validating, non-strict decoder)

    /// @notice Word `i` of `b` (caller checks bounds).
    function word(bytes memory b, uint256 offset) internal pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := mload(add(add(b, 0x20), offset))
        }
    }

    /// @dev The string at head offset word `headAt` of `b`, as alloy decodes it (offset and length
    /// fit 64 bits, everything in bounds, padding not checked), and whether it is valid UTF-8.
    function _string(bytes memory b, uint256 headAt) private pure returns (bool ok, bytes memory s) {
        uint256 off = word(b, headAt);
        if (off >> 64 != 0 || off + 32 > b.length) return (false, s);
        uint256 len = word(b, off);
        if (len >> 64 != 0 || off + 32 + len > b.length) return (false, s);
        s = new bytes(len);
        assembly ("memory-safe") {
            mcopy(add(s, 0x20), add(add(b, 0x40), off), len)
        }
        ok = validUtf8(s);
    }

    /// @notice Decodes a token registration payload `abi.encode(address l1Token, string name,
    /// string symbol, uint8 decimals)` exactly as loft-stf does (alloy `abi_decode_params_validate`).
    function decodeRegistration(bytes memory b)
        internal
        pure
        returns (bool ok, address l1Token, bytes memory name, bytes memory symbol, uint8 decimals)
    {
        if (b.length < 128) return (false, l1Token, name, symbol, decimals);
        uint256 w0 = word(b, 0);
        uint256 w3 = word(b, 96);
        if (w0 >> 160 != 0 || w3 > 255) return (false, l1Token, name, symbol, decimals);
        bool okName;
        bool okSymbol;
        (okName, name) = _string(b, 32);
        (okSymbol, symbol) = _string(b, 64);
        return (okName && okSymbol, address(uint160(w0)), name, symbol, uint8(w3));
    }

    /// @notice Whether `s` is valid UTF-8 (Rust's `str::from_utf8`: no overlong forms, no
    /// surrogates, nothing above U+10FFFF).
    function validUtf8(bytes memory s) internal pure returns (bool) {
        uint256 n = s.length;
        uint256 i = 0;
        while (i < n) {
            uint256 c = uint8(s[i]);
            if (c < 0x80) {
                i++;
                continue;
            }
            uint256 need;
            uint256 lo = 0x80;
            uint256 hi = 0xbf;
            if (c >= 0xc2 && c <= 0xdf) {
                need = 1;
            } else if (c >= 0xe0 && c <= 0xef) {
                need = 2;
                if (c == 0xe0) lo = 0xa0;
                if (c == 0xed) hi = 0x9f;
            } else if (c >= 0xf0 && c <= 0xf4) {
                need = 3;
                if (c == 0xf0) lo = 0x90;
                if (c == 0xf4) hi = 0x8f;
            } else {
                return false;
            }
            if (i + need >= n) return false;
            uint256 first = uint8(s[i + 1]);
            if (first < lo || first > hi) return false;
            for (uint256 k = 2; k <= need; k++) {
                uint256 x = uint8(s[i + k]);
                if (x < 0x80 || x > 0xbf) return false;
            }
            i += need + 1;
        }
        return true;
    }
}
