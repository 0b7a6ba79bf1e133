// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title L1MessageQueue
/// @notice Append-only queue of L1 -> L2 messages, committed to by a hash chain.
/// @dev Every message extends the chain:
///      `head_i = keccak256(abi.encode(head_{i-1}, uint256 i, uint8 kind, address sender,
///                                     uint64 block.number, uint64 block.timestamp, keccak256(payload)))`
///      with `head_{-1} = bytes32(0)`. `sender` is `msg.sender` of the call that enqueued the message.
///      Only the heads are stored (one slot per message); the messages themselves are recovered from
///      the {MessageQueued} events, and the stored heads let anyone check a replay of those events.
abstract contract L1MessageQueue {
    /// @notice Message kind of a deposit (ETH or ERC-20) into L2.
    uint8 public constant KIND_DEPOSIT = 0;

    /// @notice Message kind of an ERC-20 token registration: the bridge enqueues it before the first
    ///         deposit of each token. Payload: `abi.encode(address l1Token, string name, string symbol,
    ///         uint8 decimals)`.
    uint8 public constant KIND_REGISTER_TOKEN = 1;

    /// @notice Message kind of a forced L2 transaction: any L1 account may put a signed L2
    ///         transaction into the queue, and L2 must execute it (or, when L2 refuses it, consume it
    ///         without effect) before the force-inclusion deadline. Payload: the transaction's
    ///         step encoding in batch data (`docs/rollup.md` §3.2), at most 320 bytes
    ///         (`docs/liveness.md` §1).
    uint8 public constant KIND_FORCED_TX = 2;

    /// @notice Message kind of a forced withdrawal of the L1 sender's own L2 balance. Payload:
    ///         `abi.encode(address l1Token, uint256 amount, address l1Recipient)`.
    uint8 public constant KIND_FORCED_WITHDRAWAL = 3;

    /// @dev `heads[i]` is the chain head after message `i`.
    bytes32[] private _heads;

    /// @dev `times[i]` is the L1 timestamp of message `i` (also hashed into `heads[i]`); four per
    ///      slot, so the deadline of the oldest unconsumed message is one read.
    uint64[] private _times;

    /// @notice A head was asked for more messages than the queue holds.
    /// @param count Number of messages asked for.
    /// @param length Number of messages in the queue.
    error QueueIndexOutOfRange(uint256 count, uint256 length);

    /// @notice Emitted for every message, in queue order.
    /// @param index 0-based index of the message in the queue.
    /// @param kind Message kind (see {KIND_DEPOSIT}, {KIND_REGISTER_TOKEN}, {KIND_FORCED_TX},
    ///        {KIND_FORCED_WITHDRAWAL}).
    /// @param sender `msg.sender` of the call that enqueued the message.
    /// @param head Chain head after this message.
    /// @param l1BlockNumber L1 block number the message was enqueued in.
    /// @param timestamp L1 block timestamp the message was enqueued at.
    /// @param payload Kind-specific message body.
    event MessageQueued(
        uint256 indexed index,
        uint8 indexed kind,
        address indexed sender,
        bytes32 head,
        uint64 l1BlockNumber,
        uint64 timestamp,
        bytes payload
    );

    /// @notice Number of messages enqueued so far.
    /// @return The queue length.
    function queueLength() external view returns (uint256) {
        return _heads.length;
    }

    /// @notice Chain head after all messages enqueued so far.
    /// @return The current head, or `bytes32(0)` while the queue is empty.
    function queueHead() external view returns (bytes32) {
        uint256 length = _heads.length;
        return length == 0 ? bytes32(0) : _heads[length - 1];
    }

    /// @notice Chain head after the first `count` messages.
    /// @dev Reverts with {QueueIndexOutOfRange} when `count` exceeds the queue length.
    /// @param count Number of messages from the start of the queue.
    /// @return The head after `count` messages; `bytes32(0)` for `count == 0`.
    function queueHeadAt(uint256 count) public view returns (bytes32) {
        uint256 length = _heads.length;
        if (count > length) revert QueueIndexOutOfRange(count, length);
        return count == 0 ? bytes32(0) : _heads[count - 1];
    }

    /// @notice L1 timestamp at which message `index` was enqueued: its force-inclusion deadline is
    ///         this plus the rollup's force-inclusion delay.
    /// @dev Reverts with {QueueIndexOutOfRange}`(index, length)` when there is no message `index`.
    function queueTimeAt(uint256 index) external view returns (uint64) {
        uint256 length = _times.length;
        if (index >= length) revert QueueIndexOutOfRange(index, length);
        return _times[index];
    }

    /// @notice Appends a message sent by `msg.sender` and emits {MessageQueued}.
    /// @dev Block number and timestamp are recorded as uint64 (truncated, which no real chain reaches).
    /// @param kind Message kind.
    /// @param payload Kind-specific message body; only its hash enters the chain.
    /// @return index 0-based index of the new message.
    function _enqueue(uint8 kind, bytes memory payload) internal returns (uint256 index) {
        index = _heads.length;
        bytes32 previous = index == 0 ? bytes32(0) : _heads[index - 1];
        uint64 l1BlockNumber = uint64(block.number);
        uint64 timestamp = uint64(block.timestamp);
        bytes32 head = keccak256(
            abi.encode(previous, index, kind, msg.sender, l1BlockNumber, timestamp, keccak256(payload))
        );
        _heads.push(head);
        _times.push(timestamp);
        emit MessageQueued(index, kind, msg.sender, head, l1BlockNumber, timestamp, payload);
    }
}
