// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {L1Bridge} from "./L1Bridge.sol";

/// @title L1Rollup
/// @notice The L1 side of loft's optimistic rollup: the sequencer posts batches of L2 blocks, each
///         committing to a state root and a withdrawal root (`docs/rollup.md` §3.3, §4); a batch becomes
///         final `challengePeriod` seconds after it was posted, and withdrawals of final batches are
///         claimed here and paid by the bridge.
/// @dev The constructor deploys the {L1Bridge} (deposits and the L1 -> L2 queue), so one transaction
///      creates both and the bridge trusts exactly this contract for payouts. Batch data is only
///      hashed (`dataHash`); derivation nodes read it back from the `submitBatch` calldata and the
///      {BatchSubmitted} events. No owner, no admin, not upgradeable.
contract L1Rollup {
    /// @notice What the poster claims about a batch; the rest of the {BatchHeader} is derived on L1.
    /// @param stateRoot State root after the batch's last step.
    /// @param withdrawalRoot Root of the batch's withdrawals (`docs/rollup.md` §4), 0 when none.
    /// @param stepRootsRoot Positional Merkle root of the state root after every step.
    /// @param queueEnd Number of queue messages consumed after this batch (cumulative).
    /// @param firstBlock First L2 block of the batch.
    /// @param lastBlock Last L2 block of the batch.
    /// @param stepCount Number of steps (queue messages plus transactions) in the batch.
    struct BatchInput {
        bytes32 stateRoot;
        bytes32 withdrawalRoot;
        bytes32 stepRootsRoot;
        uint64 queueEnd;
        uint64 firstBlock;
        uint64 lastBlock;
        uint64 stepCount;
    }

    /// @notice The committed batch header (`docs/rollup.md` §3.3); its hash is
    ///         `keccak256(abi.encode(header))`.
    /// @param index 0-based batch number.
    /// @param parentHash Hash of the previous header, 0 for the first batch.
    /// @param prevStateRoot The previous batch's state root (the genesis root for the first batch).
    /// @param stateRoot Claimed state root after the last step.
    /// @param withdrawalRoot Root of the batch's withdrawals.
    /// @param stepRootsRoot Positional Merkle root of the roots after every step.
    /// @param dataHash `keccak256` of the batch data.
    /// @param queueStart Queue messages consumed before this batch (the previous `queueEnd`).
    /// @param queueEnd Queue messages consumed after this batch.
    /// @param queueHead The queue's hash-chain head after `queueEnd` messages, read from the bridge.
    /// @param firstBlock First L2 block.
    /// @param lastBlock Last L2 block.
    /// @param stepCount Number of steps.
    /// @param postedAt L1 block timestamp of the submission.
    struct BatchHeader {
        uint64 index;
        bytes32 parentHash;
        bytes32 prevStateRoot;
        bytes32 stateRoot;
        bytes32 withdrawalRoot;
        bytes32 stepRootsRoot;
        bytes32 dataHash;
        uint64 queueStart;
        uint64 queueEnd;
        bytes32 queueHead;
        uint64 firstBlock;
        uint64 lastBlock;
        uint64 stepCount;
        uint64 postedAt;
    }

    /// @notice What is stored per batch: the header hash and the fields later reads need cheaply.
    /// @param headerHash `keccak256(abi.encode(header))`.
    /// @param stateRoot The batch's state root.
    /// @param withdrawalRoot The batch's withdrawal root.
    /// @param postedAt L1 block timestamp of the submission.
    struct BatchRecord {
        bytes32 headerHash;
        bytes32 stateRoot;
        bytes32 withdrawalRoot;
        uint64 postedAt;
    }

    /// @notice The tip of the batch chain: what the next batch must extend.
    /// @param batchCount Number of batches posted; the next batch gets this index.
    /// @param headerHash Hash of the last header (0 before the first batch).
    /// @param stateRoot State root of the last batch (the genesis root before the first batch).
    /// @param queueEnd Queue messages consumed by the last batch (0 before the first batch).
    /// @param lastBlock Last L2 block of the last batch (0, the genesis block, before the first batch).
    struct BatchTip {
        uint64 batchCount;
        bytes32 headerHash;
        bytes32 stateRoot;
        uint64 queueEnd;
        uint64 lastBlock;
    }

    /// @notice An L2 -> L1 withdrawal (`docs/rollup.md` §4).
    /// @param l2Sender The L2 account that withdrew.
    /// @param nonce Nonce of the L2 transaction that withdrew (unique per sender).
    /// @param l1Recipient Receiver of the funds on L1.
    /// @param l1Token The L1 token, `address(0)` for ETH.
    /// @param amount Amount in the token's base unit (wei for ETH).
    struct Withdrawal {
        address l2Sender;
        uint256 nonce;
        address l1Recipient;
        address l1Token;
        uint256 amount;
    }

    /// @notice The bridge this rollup deployed: deposits, the L1 -> L2 queue and payouts.
    L1Bridge public immutable bridge;

    /// @notice The only account allowed to post batches.
    address public immutable sequencer;

    /// @notice Seconds after `postedAt` at which a batch becomes final.
    uint64 public immutable challengePeriod;

    /// @notice State root of L2 block 0, the parent state of the first batch.
    bytes32 public immutable genesisStateRoot;

    /// @dev One record per batch, by index.
    mapping(uint64 index => BatchRecord) private _batches;

    /// @dev Number of batches posted (one storage slot with the next two).
    uint64 private _batchCount;

    /// @dev Cumulative queue messages consumed by the last batch.
    uint64 private _queueEnd;

    /// @dev Last L2 block of the last batch (0 before the first batch).
    uint64 private _lastBlock;

    /// @notice Whether a withdrawal leaf was claimed.
    mapping(bytes32 leaf => bool) public claimed;

    /// @notice The caller may not post batches.
    /// @param caller The caller.
    error NotSequencer(address caller);

    /// @notice The constructor was given the zero address as sequencer.
    error ZeroSequencer();

    /// @notice The constructor was given a zero challenge period.
    error ZeroChallengePeriod();

    /// @notice The batch would consume fewer queue messages than the previous batches did.
    /// @param queueEnd The batch's `queueEnd`.
    /// @param queueStart The previous batch's `queueEnd`.
    error QueueEndBeforeStart(uint64 queueEnd, uint64 queueStart);

    /// @notice The batch would consume more queue messages than the queue holds.
    /// @param queueEnd The batch's `queueEnd`.
    /// @param queueLength The bridge's queue length.
    error QueueEndBeyondLength(uint64 queueEnd, uint256 queueLength);

    /// @notice The batch does not start right after the previous batch's last L2 block.
    /// @param firstBlock The batch's first block.
    /// @param expected The previous batch's last block + 1 (1 for the first batch).
    error NonContiguousBlocks(uint64 firstBlock, uint64 expected);

    /// @notice The batch's last block is before its first block.
    /// @param lastBlock The batch's last block.
    /// @param firstBlock The batch's first block.
    error LastBlockBeforeFirst(uint64 lastBlock, uint64 firstBlock);

    /// @notice The batch has no steps.
    error NoSteps();

    /// @notice The batch data is empty.
    error EmptyData();

    /// @notice No batch has this index yet.
    /// @param index The index asked for.
    /// @param batchCount Number of batches posted.
    error UnknownBatch(uint64 index, uint64 batchCount);

    /// @notice The batch is still in its challenge period.
    /// @param index The batch.
    /// @param finalAt L1 timestamp from which it is final (and its withdrawals claimable).
    /// @param now_ The current L1 block timestamp.
    error BatchNotFinal(uint64 index, uint64 finalAt, uint64 now_);

    /// @notice This withdrawal was already claimed.
    /// @param leaf The withdrawal's leaf.
    error AlreadyClaimed(bytes32 leaf);

    /// @notice The Merkle proof does not lead from the withdrawal's leaf to the batch's withdrawal root.
    /// @param index The batch.
    /// @param leaf The withdrawal's leaf.
    error InvalidWithdrawalProof(uint64 index, bytes32 leaf);

    /// @notice Emitted for every batch, with the full header (derivation rebuilds from it and the
    ///         calldata).
    /// @param index The batch index.
    /// @param headerHash `keccak256(abi.encode(header))`.
    /// @param header The header.
    event BatchSubmitted(uint64 indexed index, bytes32 indexed headerHash, BatchHeader header);

    /// @notice Emitted when a withdrawal is paid out.
    /// @param batchIndex The batch it was proven against.
    /// @param leaf The withdrawal's leaf.
    /// @param l1Recipient The receiver.
    /// @param l2Sender The L2 account that withdrew.
    /// @param nonce Nonce of the L2 withdrawal transaction.
    /// @param l1Token The token, `address(0)` for ETH.
    /// @param amount The amount paid.
    event WithdrawalClaimed(
        uint64 indexed batchIndex,
        bytes32 indexed leaf,
        address indexed l1Recipient,
        address l2Sender,
        uint256 nonce,
        address l1Token,
        uint256 amount
    );

    /// @dev Only accounts allowed to post batches (today: the {sequencer}).
    modifier onlyPoster() {
        if (msg.sender != sequencer) revert NotSequencer(msg.sender);
        _;
    }

    /// @notice Deploys the rollup and its {bridge}.
    /// @param sequencer_ The account allowed to post batches; not zero.
    /// @param challengePeriod_ Seconds until a batch is final; not zero.
    /// @param genesisStateRoot_ State root of L2 block 0.
    constructor(address sequencer_, uint64 challengePeriod_, bytes32 genesisStateRoot_) {
        if (sequencer_ == address(0)) revert ZeroSequencer();
        if (challengePeriod_ == 0) revert ZeroChallengePeriod();
        sequencer = sequencer_;
        challengePeriod = challengePeriod_;
        genesisStateRoot = genesisStateRoot_;
        bridge = new L1Bridge();
    }

    /// @notice Appends a batch: checks it extends the previous one, derives the rest of its header
    ///         and records the header's hash. Emits {BatchSubmitted}.
    /// @dev Only the sequencer ({NotSequencer}). Reverts {QueueEndBeforeStart}, {QueueEndBeyondLength},
    ///      {NonContiguousBlocks}, {LastBlockBeforeFirst}, {NoSteps} or {EmptyData}.
    /// @param input The poster's claims.
    /// @param data The batch data (`docs/rollup.md` §3.2); only its hash is kept.
    /// @return index The new batch's index.
    function submitBatch(BatchInput calldata input, bytes calldata data) external onlyPoster returns (uint64 index) {
        uint64 queueStart = _queueEnd;
        if (input.queueEnd < queueStart) revert QueueEndBeforeStart(input.queueEnd, queueStart);
        uint256 queueLength = bridge.queueLength();
        if (input.queueEnd > queueLength) revert QueueEndBeyondLength(input.queueEnd, queueLength);
        uint64 expectedFirst = _lastBlock + 1;
        if (input.firstBlock != expectedFirst) revert NonContiguousBlocks(input.firstBlock, expectedFirst);
        if (input.lastBlock < input.firstBlock) revert LastBlockBeforeFirst(input.lastBlock, input.firstBlock);
        if (input.stepCount == 0) revert NoSteps();
        if (data.length == 0) revert EmptyData();

        index = _batchCount;
        BatchHeader memory header;
        header.index = index;
        if (index == 0) {
            header.prevStateRoot = genesisStateRoot;
        } else {
            BatchRecord storage previous = _batches[index - 1];
            header.parentHash = previous.headerHash;
            header.prevStateRoot = previous.stateRoot;
        }
        header.stateRoot = input.stateRoot;
        header.withdrawalRoot = input.withdrawalRoot;
        header.stepRootsRoot = input.stepRootsRoot;
        header.dataHash = keccak256(data);
        header.queueStart = queueStart;
        header.queueEnd = input.queueEnd;
        header.queueHead = bridge.queueHeadAt(input.queueEnd);
        header.firstBlock = input.firstBlock;
        header.lastBlock = input.lastBlock;
        header.stepCount = input.stepCount;
        header.postedAt = uint64(block.timestamp);

        bytes32 headerHash = keccak256(abi.encode(header));
        _batches[index] = BatchRecord({
            headerHash: headerHash,
            stateRoot: input.stateRoot,
            withdrawalRoot: input.withdrawalRoot,
            postedAt: header.postedAt
        });
        _batchCount = index + 1;
        _queueEnd = input.queueEnd;
        _lastBlock = input.lastBlock;
        emit BatchSubmitted(index, headerHash, header);
    }

    /// @notice Pays out a withdrawal of a final batch, once. Emits {WithdrawalClaimed}.
    /// @dev Anyone may claim; the funds always go to `w.l1Recipient`. Reverts {UnknownBatch},
    ///      {BatchNotFinal}, {AlreadyClaimed} or {InvalidWithdrawalProof}, and with the bridge's error
    ///      when the payout fails.
    /// @param batchIndex The batch whose withdrawal root holds the withdrawal.
    /// @param w The withdrawal.
    /// @param proof OpenZeppelin Merkle proof (commutative pair hash) from {withdrawalLeaf} to the root.
    function claimWithdrawal(uint64 batchIndex, Withdrawal calldata w, bytes32[] calldata proof) external {
        BatchRecord storage record = _record(batchIndex);
        uint64 finalAt = record.postedAt + challengePeriod;
        // A validator can shift timestamps by seconds; challenge periods are hours to days.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < finalAt) revert BatchNotFinal(batchIndex, finalAt, uint64(block.timestamp));
        bytes32 leaf = withdrawalLeaf(w);
        if (claimed[leaf]) revert AlreadyClaimed(leaf);
        if (!MerkleProof.verifyCalldata(proof, record.withdrawalRoot, leaf)) {
            revert InvalidWithdrawalProof(batchIndex, leaf);
        }
        claimed[leaf] = true;
        bridge.release(w.l1Token, w.l1Recipient, w.amount);
        emit WithdrawalClaimed(batchIndex, leaf, w.l1Recipient, w.l2Sender, w.nonce, w.l1Token, w.amount);
    }

    /// @notice The Merkle leaf of a withdrawal:
    ///         `keccak256(bytes.concat(keccak256(abi.encode(l2Sender, nonce, l1Recipient, l1Token, amount))))`.
    /// @param w The withdrawal.
    /// @return The leaf.
    function withdrawalLeaf(Withdrawal calldata w) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(w.l2Sender, w.nonce, w.l1Recipient, w.l1Token, w.amount))));
    }

    /// @notice Whether a batch is final (`block.timestamp >= postedAt + challengePeriod`).
    /// @param index The batch.
    /// @return False for a batch in its challenge period and for an index not posted yet.
    function isFinal(uint64 index) external view returns (bool) {
        if (index >= _batchCount) return false;
        // forge-lint: disable-next-line(block-timestamp)
        return block.timestamp >= _batches[index].postedAt + challengePeriod;
    }

    /// @notice L1 timestamp from which a batch is final.
    /// @dev Reverts {UnknownBatch} for an index not posted yet.
    /// @param index The batch.
    /// @return `postedAt + challengePeriod`.
    function finalizedAt(uint64 index) external view returns (uint64) {
        return _record(index).postedAt + challengePeriod;
    }

    /// @notice Number of batches posted.
    /// @return The count; the next batch gets this index.
    function batchCount() external view returns (uint64) {
        return _batchCount;
    }

    /// @notice Hash of a batch's header.
    /// @dev Reverts {UnknownBatch} for an index not posted yet.
    /// @param index The batch.
    /// @return `keccak256(abi.encode(header))`.
    function batchHeaderHash(uint64 index) external view returns (bytes32) {
        return _record(index).headerHash;
    }

    /// @notice What is stored for a batch.
    /// @dev Reverts {UnknownBatch} for an index not posted yet.
    /// @param index The batch.
    /// @return The record (header hash, state root, withdrawal root, posting time).
    function batch(uint64 index) external view returns (BatchRecord memory) {
        return _record(index);
    }

    /// @notice State root of the last batch.
    /// @return The root, or {genesisStateRoot} before the first batch.
    function lastStateRoot() public view returns (bytes32) {
        uint64 count = _batchCount;
        return count == 0 ? genesisStateRoot : _batches[count - 1].stateRoot;
    }

    /// @notice The tip of the batch chain, everything the next batch must extend, in one call.
    /// @return tip Batch count, last header hash, last state root, queue end and last L2 block.
    function lastBatch() external view returns (BatchTip memory tip) {
        uint64 count = _batchCount;
        tip.batchCount = count;
        tip.headerHash = count == 0 ? bytes32(0) : _batches[count - 1].headerHash;
        tip.stateRoot = lastStateRoot();
        tip.queueEnd = _queueEnd;
        tip.lastBlock = _lastBlock;
    }

    /// @notice Queue messages consumed by the batches posted so far.
    /// @return The last batch's `queueEnd` (0 before the first batch).
    function queueEnd() external view returns (uint64) {
        return _queueEnd;
    }

    /// @notice Last L2 block covered by a posted batch.
    /// @return The last batch's `lastBlock` (0, the genesis block, before the first batch).
    function lastBlock() external view returns (uint64) {
        return _lastBlock;
    }

    /// @dev The record of batch `index`, or revert {UnknownBatch}.
    function _record(uint64 index) private view returns (BatchRecord storage) {
        uint64 count = _batchCount;
        if (index >= count) revert UnknownBatch(index, count);
        return _batches[index];
    }
}
