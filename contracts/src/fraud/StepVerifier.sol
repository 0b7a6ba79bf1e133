// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {StepLeaf} from "./StepLeaf.sol";
import {IStepVerifier} from "./IStepVerifier.sol";
import {StepCodec} from "./StepCodec.sol";
import {SparseMerkle} from "../lib/SparseMerkle.sol";
import {BlobData} from "../lib/BlobData.sol";

/// @notice The queue heads the verifier checks queue messages against (`L1MessageQueue`).
interface IQueueHeads {
    function queueHeadAt(uint256 count) external view returns (bytes32);
}

/// @title StepVerifier
/// @notice Re-executes one step of a batch on L1 from the leaf before it and a witness
/// (docs/fraud-proofs.md §2, §5.2), exactly as loft-stf executes it (docs/rollup.md §2).
/// @dev Witness: `abi.encode(DataChunk[] chunks, BlobElement[] elements, bytes32[] versionedHashes,
/// QueueMessage message, StateAccess[] writes, StateAccess[] reads, bytes32[16] wSiblings)`
/// (top-level params). The step's bytes come from `chunks` for a calldata batch (`dataKind` 0;
/// `elements` and `versionedHashes` empty) and from `elements` opened against `versionedHashes`
/// for a blob batch (`dataKind` 1; `chunks` empty). The step's kind is the first byte of its data
/// (`0x10` block, `0x11` queue, `0x00`/`0x02` transaction, `0x20`..`0x27` compact transaction). Every value the
/// verifier uses comes from `reads` (proven against `prev.stateRoot`) or `writes` (proven in order against the running
/// root); the computed writes, the index writes of docs/rollup.md §1.2 included, must be exactly `writes` (keys, order,
/// count), so a refused step carries no `writes`.
contract StepVerifier is IStepVerifier {
    /// @notice One 1,024-byte chunk of the batch data with its positional Merkle path (leaf up).
    struct DataChunk {
        uint64 index;
        bytes data;
        bytes32[] path;
    }

    /// @notice One field element of a blob batch's data: its value `y` (data in bytes 1..31, byte 0
    /// ignored) and the KZG `proof` (48 bytes) of it against the blob's `commitment` (48 bytes).
    struct BlobElement {
        bytes32 y;
        bytes commitment;
        bytes proof;
    }

    /// @notice A queue message as `MessageQueued` carries it.
    struct QueueMessage {
        uint8 kind;
        address sender;
        uint64 l1BlockNumber;
        uint64 timestamp;
        bytes payload;
    }

    /// @notice One state leaf: its value before the step (or absence) and its proof.
    struct StateAccess {
        bytes32 key;
        bool present;
        bytes value;
        SparseMerkle.Proof proof;
    }

    struct Witness {
        DataChunk[] chunks;
        BlobElement[] elements;
        bytes32[] versionedHashes;
        QueueMessage message;
        StateAccess[] writes;
        StateAccess[] reads;
        bytes32[16] wSiblings;
    }

    /// @dev The running execution: witness leaves, the account cache and the computed writes. At
    /// most 8 writes: 4 by a step's operation, then an index leaf per account or token leaf they
    /// create (at most 3) and the index count.
    struct Exec {
        StateAccess[] reads;
        StateAccess[] writes;
        bytes32[8] keys;
        bytes[8] values;
        bool[8] created; // write i creates an account or token leaf (absent before the step)
        address[8] owner; // that leaf's address, for its index
        uint256 n;
        address[3] accAddr;
        uint256[3] accNonce;
        uint256[3] accBal;
        bool[3] accNew; // the account leaf is absent before the step
        uint256 nAcc;
    }

    /// @dev A transaction's operation (docs/rollup.md §2.2); kind 0: unsupported call.
    struct Op {
        uint8 kind;
        address token;
        address to;
        uint256 amount;
        address l1Recipient;
        uint256 gas;
        uint256 fee;
        uint256 ethOut;
        uint256 tokenHave;
    }

    uint8 internal constant STEP_QUEUE = 1;
    uint8 internal constant STEP_TX = 2;
    uint8 internal constant STEP_BLOCK = 3;
    uint256 internal constant CHUNK = 1024;
    uint8 internal constant DATA_CALLDATA = 0;
    uint8 internal constant DATA_BLOBS = 1;
    uint256 internal constant W_DEPTH = 16;

    uint8 internal constant OP_ETH = 1;
    uint8 internal constant OP_TRANSFER = 2;
    uint8 internal constant OP_WITHDRAW = 3;

    address internal constant L2_BRIDGE = 0x4C6f667400000000000000000000000000000001;
    bytes4 internal constant TRANSFER_SELECTOR = 0xa9059cbb;
    bytes4 internal constant WITHDRAW_SELECTOR = 0x69328dec;
    bytes32 internal constant L2_TOKEN_SALT = keccak256("loft.l2-token");
    /// @dev Key of the index count leaf, `H(abi.encodePacked(uint8(5)))` (docs/rollup.md §1.2).
    bytes32 internal constant INDEX_COUNT_KEY = keccak256(hex"05");

    /// @notice The L2 chain id (EIP-155), implicit in batch data.
    uint256 public immutable l2ChainId;
    /// @notice Receives every transaction fee.
    address public immutable feeRecipient;
    /// @notice The L1 queue (the bridge), for its heads.
    IQueueHeads public immutable bridge;

    /// @notice The witness does not verify or does not fit the step (the challenger's mistake).
    error BadWitness(string reason);
    /// @notice A proven state leaf is inconsistent (cannot happen in a state loft-stf produced).
    error CorruptState(bytes32 key);

    constructor(uint256 l2ChainId_, address feeRecipient_, address bridge_) {
        l2ChainId = l2ChainId_;
        feeRecipient = feeRecipient_;
        bridge = IQueueHeads(bridge_);
    }

    /// @inheritdoc IStepVerifier
    function execute(StepContext calldata ctx, StepLeaf calldata prev, bytes calldata witness)
        external
        view
        returns (bool valid, StepLeaf memory next)
    {
        Witness memory w = _decode(witness);
        next = StepLeaf(0, prev.queuePos, prev.dataEnd, prev.wCount, prev.wRoot, prev.stateRoot);
        Exec memory e;
        e.reads = w.reads;
        e.writes = w.writes;
        _verifyReads(e.reads, prev.stateRoot);
        (bool decoded, uint256 length, StepCodec.Tx memory t, StepCodec.Compact memory c) =
            _decodeStep(ctx, prev.dataEnd, w, witness, next);
        // The first step of a batch is a block marker.
        if (!decoded || (prev.kind == 0 && next.kind != STEP_BLOCK)) {
            valid = false;
        } else {
            next.dataEnd = uint64(prev.dataEnd + length);
            if (next.kind == STEP_QUEUE) {
                valid = _queue(ctx, prev, w.message, e, next, w.wSiblings);
            } else if (next.kind == STEP_BLOCK) {
                valid = true;
            } else {
                // A compact transaction's indexes are resolved in the pre-state, before anything else.
                valid = (c.length == 0 || _resolve(e, c, t)) && _tx(e, t, ctx.baseFee, next, w.wSiblings);
            }
        }
        if (!valid) {
            if (e.writes.length != 0) revert BadWitness("writes for a refused step");
            return (false, next);
        }
        _indexWrites(e);
        next.stateRoot = _applyWrites(e, prev.stateRoot);
    }

    /// @dev Reads and decodes the step at `start`: sets `next.kind` from its first byte
    /// (docs/fraud-proofs.md §2; no byte or another byte: kind 0) and returns whether it decodes,
    /// its length and the transaction, full (`t`) or compact (`c`, its `length` nonzero; then `t` is
    /// empty until `_resolve` fills it). A step decoded from a prefix of its window (a blob witness
    /// may open fewer elements) is the step the whole window gives: every encoding is
    /// self-delimiting and every read bounds-checked, so bytes past the step are never looked at.
    /// An undecodable step needs the whole window (`BadWitness("short window")`): a prefix cut
    /// inside a valid step would not decode either.
    function _decodeStep(
        StepContext calldata ctx,
        uint256 start,
        Witness memory w,
        bytes calldata witness,
        StepLeaf memory next
    ) private view returns (bool decoded, uint256 length, StepCodec.Tx memory t, StepCodec.Compact memory c) {
        (bytes memory step, bool short) = _stepBytes(ctx, start, w, witness);
        uint256 tag = step.length == 0 ? 0xff : uint8(step[0]);
        if (tag == StepCodec.BLOCK_TAG) {
            next.kind = STEP_BLOCK;
            (decoded, length) = StepCodec.decodeBlock(step);
        } else if (tag == StepCodec.QUEUE_TAG) {
            (next.kind, decoded, length) = (STEP_QUEUE, true, 1);
        } else if (tag == StepCodec.TYPE_LEGACY || tag == StepCodec.TYPE_EIP1559) {
            next.kind = STEP_TX;
            (decoded, t) = StepCodec.decodeTx(step);
            length = t.length;
        } else if (tag >= StepCodec.COMPACT_TAG && tag <= StepCodec.COMPACT_LAST) {
            next.kind = STEP_TX;
            (decoded, c) = StepCodec.decodeCompact(step);
            length = c.length;
        }
        if (!decoded && short) revert BadWitness("short window");
    }

    function _decode(bytes calldata witness) private pure returns (Witness memory w) {
        (
            DataChunk[] memory chunks,
            BlobElement[] memory elements,
            bytes32[] memory versionedHashes,
            QueueMessage memory message,
            StateAccess[] memory writes,
            StateAccess[] memory reads,
            bytes32[16] memory wSiblings
        ) = abi.decode(
            witness, (DataChunk[], BlobElement[], bytes32[], QueueMessage, StateAccess[], StateAccess[], bytes32[16])
        );
        w = Witness(chunks, elements, versionedHashes, message, writes, reads, wSiblings);
    }

    // -----------------------------------------------------------------------------------------
    // Batch data

    /// @dev The step's window `[start, min(dataLength, start + MAX_STEP_BYTES))` of the batch data,
    /// from the chunks (calldata batch) or blob elements (blob batch) that hold it, each checked
    /// against `dataRoot`. A blob witness may open a prefix of the window's elements: then `out` is
    /// the window cut at the end of the last element opened and `short` is true.
    function _stepBytes(StepContext calldata ctx, uint256 start, Witness memory w, bytes calldata witness)
        private
        view
        returns (bytes memory out, bool short)
    {
        uint8 kind = ctx.dataKind;
        if (kind == DATA_CALLDATA) {
            if (w.elements.length != 0 || w.versionedHashes.length != 0) revert BadWitness("blob witness");
        } else if (kind == DATA_BLOBS) {
            if (w.chunks.length != 0) revert BadWitness("chunk count");
        } else {
            revert BadWitness("data kind");
        }
        uint256 dataLength = ctx.dataLength;
        if (start >= dataLength) return (out, false);
        uint256 end = start + StepCodec.MAX_STEP_BYTES;
        if (end > dataLength) end = dataLength;
        if (kind == DATA_BLOBS) return _blobBytes(ctx.dataRoot, start, end, w.versionedHashes, witness);
        out = _chunkBytes(ctx.dataRoot, dataLength, start, end, w.chunks);
    }

    /// @dev The bytes `[start, end)` of a calldata batch's data from the 1 KiB chunks that hold
    /// them, each checked against `root`.
    function _chunkBytes(bytes32 root, uint256 dataLength, uint256 start, uint256 end, DataChunk[] memory chunks)
        private
        pure
        returns (bytes memory out)
    {
        uint256 first = start / CHUNK;
        if (chunks.length != (end - 1) / CHUNK - first + 1) revert BadWitness("chunk count");
        uint256 count = (dataLength + CHUNK - 1) / CHUNK;
        uint256 depth;
        while ((uint256(1) << depth) < count) depth++;
        out = new bytes(end - start);
        for (uint256 j = 0; j < chunks.length; j++) {
            DataChunk memory c = chunks[j];
            uint256 index = first + j;
            uint256 size = dataLength - index * CHUNK;
            if (size > CHUNK) size = CHUNK;
            if (c.index != index || c.data.length != size || c.path.length != depth) {
                revert BadWitness("chunk shape");
            }
            if (_chunkRoot(c.data, index, c.path) != root) revert BadWitness("chunk proof");
            _copy(out, start, end, c.data, index * CHUNK);
        }
    }

    /// @dev The bytes `[start, min(end, (first + m) * 31))` of a blob batch's data, `first =
    /// start / 31` (`docs/fraud-proofs.md` §3): data byte `o` is byte `1 + o % 31` of global element
    /// `o / 31`, that is element `(o / 31) % 4096` of blob `(o / 31) / 4096`. The witness carries
    /// `m` elements from `first` on, `1 <= m <= (end - 1) / 31 - first + 1` (a prefix of the
    /// window's elements, `short` when not all of them), in order, each opened with the
    /// point-evaluation precompile against its blob's versioned hash, and the batch's versioned
    /// hashes, which must hash to `dataRoot`.
    function _blobBytes(bytes32 root, uint256 start, uint256 end, bytes32[] memory hashes, bytes calldata witness)
        private
        view
        returns (bytes memory out, bool short)
    {
        if (keccak256(abi.encodePacked(hashes)) != root) revert BadWitness("blob hashes");
        uint256 first = start / BlobData.DATA_PER_ELEMENT;
        BlobElement[] calldata elements = _elements(witness);
        uint256 m = elements.length;
        if (m == 0 || m > (end - 1) / BlobData.DATA_PER_ELEMENT - first + 1) revert BadWitness("element count");
        uint256 prefixEnd = (first + m) * BlobData.DATA_PER_ELEMENT;
        if (prefixEnd < end) {
            (end, short) = (prefixEnd, true);
        }
        bytes memory buf = _openElements(elements, hashes, first);
        uint256 length = end - start;
        uint256 skip = start - first * BlobData.DATA_PER_ELEMENT;
        out = new bytes(length);
        assembly ("memory-safe") {
            mcopy(add(out, 0x20), add(add(buf, 0x20), skip), length)
        }
    }

    /// @dev Opens `elements` as global elements `first, first + 1, ..` and returns their bytes 1..31
    /// back to back (plus one spare word that the last element's 32-byte store writes into).
    function _openElements(BlobElement[] calldata elements, bytes32[] memory hashes, uint256 first)
        private
        view
        returns (bytes memory buf)
    {
        uint256 count = elements.length;
        buf = new bytes(count * BlobData.DATA_PER_ELEMENT + 32);
        for (uint256 j = 0; j < count; j++) {
            bytes32 y = _openElement(hashes, first + j, elements[j]);
            assembly ("memory-safe") {
                mstore(add(add(buf, 0x20), mul(j, 31)), shl(8, y))
            }
        }
    }

    /// @dev The value of global element `k` (element `k % 4096` of blob `k / 4096`), checked with
    /// the point-evaluation precompile.
    function _openElement(bytes32[] memory hashes, uint256 k, BlobElement calldata e) private view returns (bytes32) {
        uint256 blob = k / BlobData.ELEMENTS;
        if (blob >= hashes.length) revert BadWitness("blob hashes");
        if (!BlobData.verifyElement(hashes[blob], k % BlobData.ELEMENTS, e.y, e.commitment, e.proof)) {
            revert BadWitness("element proof");
        }
        return e.y;
    }

    /// @dev The witness's `elements` (its second parameter) in place in calldata, so their 48-byte
    /// commitments and proofs go to the precompile without a copy. `_decode` has checked the
    /// witness's encoding.
    function _elements(bytes calldata witness) private pure returns (BlobElement[] calldata elements) {
        assembly ("memory-safe") {
            let p := add(witness.offset, calldataload(add(witness.offset, 0x20)))
            elements.length := calldataload(p)
            elements.offset := add(p, 0x20)
        }
    }

    /// @dev The positional Merkle root implied by chunk `index` and its path (leaf up).
    function _chunkRoot(bytes memory data, uint256 index, bytes32[] memory path) private pure returns (bytes32 node) {
        node = keccak256(data);
        for (uint256 l = 0; l < path.length; l++) {
            node = (index >> l) & 1 == 1
                ? keccak256(abi.encodePacked(path[l], node))
                : keccak256(abi.encodePacked(node, path[l]));
        }
    }

    /// @dev Copies the part of `[start, end)` that `data` (the batch bytes from offset `from`) holds.
    function _copy(bytes memory out, uint256 start, uint256 end, bytes memory data, uint256 from) private pure {
        uint256 lo = start > from ? start : from;
        uint256 hi = end < from + data.length ? end : from + data.length;
        if (hi <= lo) return;
        assembly ("memory-safe") {
            mcopy(add(add(out, 0x20), sub(lo, start)), add(add(data, 0x20), sub(lo, from)), sub(hi, lo))
        }
    }

    // -----------------------------------------------------------------------------------------
    // State access

    function _verifyReads(StateAccess[] memory reads, bytes32 root) private pure {
        for (uint256 i = 0; i < reads.length; i++) {
            StateAccess memory a = reads[i];
            if (!a.present && a.value.length != 0) revert BadWitness("absent leaf with a value");
            if (!SparseMerkle.verify(a.proof, root, a.key, a.present, keccak256(a.value))) {
                revert BadWitness("read proof");
            }
        }
    }

    /// @dev The pre-state value of leaf `key` from the witness (reads first, then writes).
    function _get(Exec memory e, bytes32 key) private pure returns (bool present, bytes memory value) {
        for (uint256 i = 0; i < e.reads.length; i++) {
            if (e.reads[i].key == key) return (e.reads[i].present, e.reads[i].value);
        }
        for (uint256 i = 0; i < e.writes.length; i++) {
            if (e.writes[i].key == key) return (e.writes[i].present, e.writes[i].value);
        }
        revert BadWitness("missing leaf");
    }

    /// @dev Appends write `(key, value)` or replaces an earlier write of `key` in place.
    function _push(Exec memory e, bytes32 key, bytes memory value) private pure {
        _pushLeaf(e, key, value, false, address(0));
    }

    /// @dev `_push`, recording on an append whether the write creates an account or token leaf
    /// (`created`) and that leaf's address (a replace keeps the first position's record). Every
    /// append sets both, so resetting `e.n` forgets the records with the writes.
    function _pushLeaf(Exec memory e, bytes32 key, bytes memory value, bool created, address owner) private pure {
        for (uint256 i = 0; i < e.n; i++) {
            if (e.keys[i] == key) {
                e.values[i] = value;
                return;
            }
        }
        uint256 n = e.n;
        e.keys[n] = key;
        e.values[n] = value;
        e.created[n] = created;
        e.owner[n] = owner;
        e.n = n + 1;
    }

    /// @dev Appends the index writes of docs/rollup.md §1.2 after a valid step's writes: for each
    /// write, in order, that creates an account or token leaf, the index leaf `count + j` with the
    /// leaf's address, then the index count `count + j + 1`. The count is read only if there is a
    /// creation.
    function _indexWrites(Exec memory e) private pure {
        uint256 n = e.n;
        uint256 count;
        bool any;
        for (uint256 i = 0; i < n; i++) {
            if (!e.created[i]) continue;
            if (!any) {
                any = true;
                (bool present, bytes memory v) = _get(e, INDEX_COUNT_KEY);
                if (present) {
                    if (v.length != 32) revert CorruptState(INDEX_COUNT_KEY);
                    count = StepCodec.word(v, 0);
                }
            }
            if (count > type(uint64).max) revert CorruptState(INDEX_COUNT_KEY);
            // casting to 'uint64' is safe because the count was just checked to fit
            // forge-lint: disable-next-line(unsafe-typecast)
            _push(e, _indexKey(uint64(count)), abi.encode(e.owner[i]));
            count++;
        }
        if (any) _push(e, INDEX_COUNT_KEY, abi.encode(count));
    }

    /// @dev The address of account index `index` in the pre-state, or false if it has none.
    function _indexed(Exec memory e, uint64 index) private pure returns (bool present, address a) {
        bytes32 key = _indexKey(index);
        bytes memory v;
        (present, v) = _get(e, key);
        if (!present) return (false, a);
        if (v.length != 32) revert CorruptState(key);
        uint256 word = StepCodec.word(v, 0);
        if (word >> 160 != 0) revert CorruptState(key);
        // casting to 'uint160' is safe because the word was just checked to fit
        // forge-lint: disable-next-line(unsafe-typecast)
        a = address(uint160(word));
    }

    /// @dev Checks the witness writes against the computed ones and applies them in order.
    function _applyWrites(Exec memory e, bytes32 root) private pure returns (bytes32) {
        if (e.writes.length != e.n) revert BadWitness("write count");
        for (uint256 i = 0; i < e.n; i++) {
            StateAccess memory a = e.writes[i];
            if (a.key != e.keys[i]) revert BadWitness("write order");
            if (!a.present && a.value.length != 0) revert BadWitness("absent leaf with a value");
            root = SparseMerkle.update(
                a.proof, root, a.key, a.present, a.present ? keccak256(a.value) : bytes32(0), keccak256(e.values[i])
            );
        }
        return root;
    }

    function _accountKey(address a) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(uint8(1), a));
    }

    function _tokenBalanceKey(address a, address token) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(uint8(2), a, token));
    }

    function _tokenKey(address token) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(uint8(3), token));
    }

    function _indexKey(uint64 index) private pure returns (bytes32) {
        return keccak256(abi.encodePacked(uint8(4), index));
    }

    /// @dev Index of `a` in the account cache, loading it on first touch.
    function _acc(Exec memory e, address a) private pure returns (uint256) {
        for (uint256 i = 0; i < e.nAcc; i++) {
            if (e.accAddr[i] == a) return i;
        }
        uint256 j = e.nAcc++;
        e.accAddr[j] = a;
        (bool present, bytes memory v) = _get(e, _accountKey(a));
        e.accNew[j] = !present;
        if (present) {
            if (v.length != 64) revert CorruptState(_accountKey(a));
            (e.accNonce[j], e.accBal[j]) = abi.decode(v, (uint256, uint256));
        }
        return j;
    }

    function _pushAccount(Exec memory e, uint256 i) private pure {
        _pushLeaf(e, _accountKey(e.accAddr[i]), abi.encode(e.accNonce[i], e.accBal[i]), e.accNew[i], e.accAddr[i]);
    }

    function _tokenBalance(Exec memory e, address a, address token) private pure returns (uint256) {
        (bool present, bytes memory v) = _get(e, _tokenBalanceKey(a, token));
        if (!present) return 0;
        if (v.length != 32) revert CorruptState(_tokenBalanceKey(a, token));
        return abi.decode(v, (uint256));
    }

    function _isToken(Exec memory e, address token) private pure returns (bool present) {
        (present,) = _get(e, _tokenKey(token));
    }

    // -----------------------------------------------------------------------------------------
    // Transactions (loft-stf `execute_tx`)

    /// @dev Resolves compact transaction `c`'s account indexes in the pre-state into the EIP-1559
    /// transaction it stands for, written into `t` (docs/rollup.md §3.2); false if an index is
    /// unknown (the transaction is invalid). Reads the `to` index, then only if it is known the
    /// recipient's (op 1).
    function _resolve(Exec memory e, StepCodec.Compact memory c, StepCodec.Tx memory t) private pure returns (bool) {
        (bool known, address to) = _indexed(e, c.toIndex);
        if (!known) return false;
        if (c.op == StepCodec.COMPACT_TRANSFER) {
            address recipient;
            (known, recipient) = _indexed(e, c.recipientIndex);
            if (!known) return false;
            t.data = abi.encodeWithSelector(TRANSFER_SELECTOR, recipient, c.amount);
        } else {
            t.value = c.amount;
        }
        t.ty = StepCodec.TYPE_EIP1559;
        t.nonce = c.nonce;
        t.maxFee = c.maxFee;
        t.priority = c.priority;
        t.gasLimit = c.gasLimit;
        t.to = to;
        t.parity = c.parity;
        t.r = c.r;
        t.s = c.s;
        t.length = c.length;
        return true;
    }

    /// @dev `Call::parse`: the operation's shape from `to`, `value` and `data` alone.
    function _parse(StepCodec.Tx memory t) private pure returns (Op memory op) {
        bytes memory data = t.data;
        if (data.length == 0) {
            if (t.to == L2_BRIDGE) return op;
            op.kind = OP_ETH;
            op.to = t.to;
            op.amount = t.value;
            op.gas = 21_000;
            return op;
        }
        if (t.value != 0 || data.length < 4) return op;
        bytes4 selector = bytes4(data);
        if (t.to == L2_BRIDGE) {
            if (selector != WITHDRAW_SELECTOR || data.length != 100) return op;
            uint256 token = StepCodec.word(data, 4);
            uint256 recipient = StepCodec.word(data, 68);
            if (token >> 160 != 0 || recipient >> 160 != 0) return op;
            op.kind = OP_WITHDRAW;
            op.token = address(uint160(token));
            op.amount = StepCodec.word(data, 36);
            op.l1Recipient = address(uint160(recipient));
            op.gas = 60_000;
            return op;
        }
        if (selector != TRANSFER_SELECTOR || data.length != 68) return op;
        uint256 to = StepCodec.word(data, 4);
        if (to >> 160 != 0) return op;
        op.kind = OP_TRANSFER;
        op.token = t.to;
        op.to = address(uint160(to));
        op.amount = StepCodec.word(data, 36);
        op.gas = 40_000;
    }

    /// @dev Checks the transaction in the order of docs/rollup.md §2.2 and computes its effects.
    function _tx(
        Exec memory e,
        StepCodec.Tx memory t,
        uint256 baseFee,
        StepLeaf memory next,
        bytes32[16] memory wSiblings
    ) private view returns (bool) {
        address sender = StepCodec.recover(t, l2ChainId);
        if (sender == address(0)) return false;
        uint256 si = _acc(e, sender);
        if (t.nonce != e.accNonce[si] || t.nonce == type(uint64).max) return false;
        if (t.maxFee < baseFee) return false;
        if (t.ty == StepCodec.TYPE_EIP1559 && t.priority > t.maxFee) return false;
        Op memory op = _parse(t);
        if (op.kind == 0) return false;
        if (op.kind == OP_ETH) {
            if (_isToken(e, op.to)) return false;
        } else if (op.kind == OP_TRANSFER) {
            if (!_isToken(e, op.token) || op.to == address(0)) return false;
        } else {
            if (op.token != address(0) && !_isToken(e, op.token)) return false;
            if (op.l1Recipient == address(0) || op.amount == 0) return false;
        }
        if (t.gasLimit < op.gas) return false;
        uint256 price = t.maxFee;
        if (t.ty == StepCodec.TYPE_EIP1559 && baseFee + t.priority < price) price = baseFee + t.priority;
        op.fee = op.gas * price;
        op.ethOut = op.fee;
        if (op.kind == OP_ETH || (op.kind == OP_WITHDRAW && op.token == address(0))) {
            unchecked {
                op.ethOut = op.fee + op.amount;
            }
            if (op.ethOut < op.fee) return false;
        }
        if (op.ethOut > e.accBal[si]) return false;
        bool tokenSide = op.kind == OP_TRANSFER || (op.kind == OP_WITHDRAW && op.token != address(0));
        if (tokenSide) {
            op.tokenHave = _tokenBalance(e, sender, op.token);
            if (op.tokenHave < op.amount) return false;
        }
        // Effects.
        e.accNonce[si] += 1;
        e.accBal[si] -= op.ethOut;
        _pushAccount(e, si);
        if (op.kind == OP_ETH) {
            uint256 ri = _acc(e, op.to);
            if (e.accBal[ri] > type(uint256).max - op.amount) return false;
            e.accBal[ri] += op.amount;
            _pushAccount(e, ri);
        } else if (op.kind == OP_TRANSFER) {
            _transferTokens(e, sender, op);
        } else {
            _withdraw(e, sender, t.nonce, op, next, wSiblings);
        }
        uint256 fi = _acc(e, feeRecipient);
        if (e.accBal[fi] > type(uint256).max - op.fee) return false;
        e.accBal[fi] += op.fee;
        _pushAccount(e, fi);
        return true;
    }

    function _transferTokens(Exec memory e, address sender, Op memory op) private pure {
        uint256 left = op.tokenHave - op.amount;
        _push(e, _tokenBalanceKey(sender, op.token), abi.encode(left));
        uint256 recipient = op.to == sender ? left : _tokenBalance(e, op.to, op.token);
        if (recipient > type(uint256).max - op.amount) revert CorruptState(_tokenBalanceKey(op.to, op.token));
        _push(e, _tokenBalanceKey(op.to, op.token), abi.encode(recipient + op.amount));
    }

    function _withdraw(
        Exec memory e,
        address sender,
        uint64 nonce,
        Op memory op,
        StepLeaf memory next,
        bytes32[16] memory wSiblings
    ) private pure {
        address l1Token;
        if (op.token != address(0)) {
            bytes32 key = _tokenKey(op.token);
            (bool present, bytes memory info) = _get(e, key);
            if (!present || info.length < 160) revert CorruptState(key);
            _push(e, _tokenBalanceKey(sender, op.token), abi.encode(op.tokenHave - op.amount));
            uint256 supply = StepCodec.word(info, 32);
            if (supply < op.amount) revert CorruptState(key);
            bytes memory updated = bytes.concat(info); // a copy
            uint256 newSupply = supply - op.amount;
            assembly ("memory-safe") {
                mstore(add(updated, 0x40), newSupply)
            }
            _push(e, key, updated);
            l1Token = address(uint160(StepCodec.word(info, 0)));
        }
        bytes32 leaf =
            keccak256(bytes.concat(keccak256(abi.encode(sender, uint256(nonce), op.l1Recipient, l1Token, op.amount))));
        uint256 index = next.wCount;
        if (index >> W_DEPTH != 0) revert BadWitness("withdrawal tree full");
        bytes32 empty = 0;
        for (uint256 l = 0; l < W_DEPTH; l++) {
            if ((index >> l) & 1 == 1) {
                empty = keccak256(abi.encodePacked(wSiblings[l], empty));
                leaf = keccak256(abi.encodePacked(wSiblings[l], leaf));
            } else {
                empty = keccak256(abi.encodePacked(empty, wSiblings[l]));
                leaf = keccak256(abi.encodePacked(leaf, wSiblings[l]));
            }
        }
        if (empty != next.wRoot) revert BadWitness("withdrawal slot");
        next.wRoot = leaf;
        next.wCount = uint64(index + 1);
    }

    // -----------------------------------------------------------------------------------------
    // Queue messages (loft-stf `apply_queue_message`)

    function _queue(
        StepContext calldata ctx,
        StepLeaf calldata prev,
        QueueMessage memory m,
        Exec memory e,
        StepLeaf memory next,
        bytes32[16] memory wSiblings
    ) private view returns (bool) {
        uint256 pos = prev.queuePos;
        if (pos >= ctx.queueEnd) return false;
        bytes32 head = keccak256(
            abi.encode(
                bridge.queueHeadAt(pos), pos, m.kind, m.sender, m.l1BlockNumber, m.timestamp, keccak256(m.payload)
            )
        );
        if (head != bridge.queueHeadAt(pos + 1)) revert BadWitness("queue message");
        next.queuePos = uint64(pos + 1);
        if (m.kind == 0) {
            _deposit(e, m.payload);
        } else if (m.kind == 1) {
            _register(e, m.payload);
        } else if (m.kind == 2) {
            // A forced transaction L2 refuses is consumed without effect (loft-stf
            // `apply_queue_message`): drop whatever the refused attempt computed (with `e.n` go the
            // records of created leaves, so it creates no index either).
            bool ok = m.payload.length <= StepCodec.MAX_STEP_BYTES;
            StepCodec.Tx memory t;
            if (ok) (ok, t) = StepCodec.decodeTx(m.payload);
            if (!ok || t.length != m.payload.length || !_tx(e, t, ctx.baseFee, next, wSiblings)) {
                e.n = 0;
                next.wCount = prev.wCount;
                next.wRoot = prev.wRoot;
            }
        } else if (m.kind == 3) {
            _forcedWithdrawal(e, m.sender, m.payload, next, wSiblings);
        }
        return true;
    }

    /// @dev A forced withdrawal of the L1 sender's own L2 balance: a withdrawal without fee or
    ///      signature, with the account's nonce as the withdrawal nonce (loft-stf
    ///      `forced_withdrawal`). Anything it cannot do (payload, unknown token, balance, nonce
    ///      exhausted) changes nothing.
    function _forcedWithdrawal(
        Exec memory e,
        address sender,
        bytes memory p,
        StepLeaf memory next,
        bytes32[16] memory wSiblings
    ) private pure {
        if (p.length < 96) return;
        uint256 w0 = StepCodec.word(p, 0);
        uint256 w2 = StepCodec.word(p, 64);
        if (w0 >> 160 != 0 || w2 >> 160 != 0) return;
        Op memory op;
        op.kind = OP_WITHDRAW;
        op.amount = StepCodec.word(p, 32);
        // casting to 'uint160' is safe because both words were just checked to fit
        // forge-lint: disable-next-line(unsafe-typecast)
        op.l1Recipient = address(uint160(w2));
        if (op.amount == 0 || op.l1Recipient == address(0)) return;
        // forge-lint: disable-next-line(unsafe-typecast)
        address l1Token = address(uint160(w0));
        if (l1Token != address(0)) {
            op.token = address(uint160(uint256(keccak256(abi.encodePacked(L2_TOKEN_SALT, l1Token)))));
            if (!_isToken(e, op.token)) return;
        }
        uint256 si = _acc(e, sender);
        uint256 nonce = e.accNonce[si];
        if (nonce >= type(uint64).max) return;
        if (op.token == address(0)) {
            if (e.accBal[si] < op.amount) return;
            op.ethOut = op.amount;
        } else {
            op.tokenHave = _tokenBalance(e, sender, op.token);
            if (op.tokenHave < op.amount) return;
        }
        e.accNonce[si] = nonce + 1;
        e.accBal[si] -= op.ethOut;
        _pushAccount(e, si);
        // casting to 'uint64' is safe because the nonce was just checked to be below 2^64 - 1
        // forge-lint: disable-next-line(unsafe-typecast)
        _withdraw(e, sender, uint64(nonce), op, next, wSiblings);
    }

    function _deposit(Exec memory e, bytes memory p) private pure {
        if (p.length < 128) return;
        uint256 w0 = StepCodec.word(p, 0);
        uint256 w1 = StepCodec.word(p, 32);
        uint256 w2 = StepCodec.word(p, 64);
        if (w0 >> 160 != 0 || w1 >> 160 != 0 || w2 >> 160 != 0) return;
        address l1Token = address(uint160(w0));
        address to = address(uint160(w2));
        uint256 amount = StepCodec.word(p, 96);
        if (l1Token == address(0)) {
            uint256 i = _acc(e, to);
            if (e.accBal[i] > type(uint256).max - amount) return;
            e.accBal[i] += amount;
            _pushAccount(e, i);
            return;
        }
        _depositToken(e, l1Token, to, amount);
    }

    function _depositToken(Exec memory e, address l1Token, address to, uint256 amount) private pure {
        address token = address(uint160(uint256(keccak256(abi.encodePacked(L2_TOKEN_SALT, l1Token)))));
        bytes32 key = _tokenKey(token);
        (bool present, bytes memory info) = _get(e, key);
        if (!present) info = abi.encode(l1Token, uint256(0), uint8(18), "", "");
        if (info.length < 160) revert CorruptState(key);
        uint256 supply = StepCodec.word(info, 32);
        if (supply > type(uint256).max - amount) return;
        bytes memory updated = bytes.concat(info);
        uint256 newSupply = supply + amount;
        assembly ("memory-safe") {
            mstore(add(updated, 0x40), newSupply)
        }
        uint256 balance = _tokenBalance(e, to, token);
        if (balance > type(uint256).max - amount) revert CorruptState(_tokenBalanceKey(to, token));
        _pushLeaf(e, key, updated, !present, token);
        _push(e, _tokenBalanceKey(to, token), abi.encode(balance + amount));
    }

    function _register(Exec memory e, bytes memory p) private pure {
        (bool ok, address l1Token, bytes memory name, bytes memory symbol, uint8 decimals) =
            StepCodec.decodeRegistration(p);
        if (!ok) return;
        address token = address(uint160(uint256(keccak256(abi.encodePacked(L2_TOKEN_SALT, l1Token)))));
        bytes32 key = _tokenKey(token);
        (bool present,) = _get(e, key);
        if (present) return;
        _pushLeaf(e, key, abi.encode(l1Token, uint256(0), decimals, string(name), string(symbol)), true, token);
    }
}
