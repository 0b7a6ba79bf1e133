// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {L1Bridge} from "./L1Bridge.sol";
import {SparseMerkle} from "./lib/SparseMerkle.sol";
import {IStepVerifier} from "./fraud/IStepVerifier.sol";
import {StepLeaf, stepLeafHash} from "./fraud/StepLeaf.sol";

/// @title L1Rollup
/// @notice The L1 side of loft's optimistic rollup: bonded operators submit batches of L2 blocks, each
///         committing to a state root, a withdrawal root and the step leaves (`docs/fraud-proofs.md`);
///         a batch becomes final `challengePeriod` seconds after it was posted unless a fraud proof
///         or an unanswered opening request reverts it first. Withdrawals of final batches are
///         claimed here and paid by the bridge.
/// @dev The constructor deploys the {L1Bridge} (deposits and the L1 -> L2 queue), so one transaction
///      creates both and the bridge trusts exactly this contract for payouts. Batch data is only
///      committed to (`dataRoot` over 1 KiB chunks, or over the blobs' versioned hashes); derivation
///      nodes read it back from the `submitBatch` calldata or the `submitBatchBlobs` blobs. No owner,
///      no admin, not upgradeable.
///
///      Operators (`docs/liveness.md` §2-§3): at most {MAX_OPERATORS} bonded accounts, each with a
///      bid (the L2 base fee it charges), the {sequencer} first. Time is cut into epochs of
///      {epochSecs}; the operator of an epoch is the eligible one (in the set, not barred, bond at
///      least {bondWei}) with the lowest bid, ties to the earliest registration, and only it may post
///      in its epoch, at a base fee of at most its bid of that epoch. Rollover is lazy: the first
///      state-changing call of a new epoch stores its selection (views compute the same). An operator
///      that leaves, is {kick}ed for failing the liveness rule or is proven wrong leaves the set, and
///      when it was the active one the next best is active at once, its epoch starting then. A batch
///      that leaves a queue message unconsumed past `queueTimeAt + forceInclusionDelay` is refused.
///      The next batch extends the last live batch, whoever posted it.
///
///      Finality is sequential: a batch is final when its challenge period has passed and no batch up
///      to it has an open opening request (a later batch can never outlive an earlier one, since
///      reverting a batch reverts every later batch). `_settled` caches how many leading batches are
///      known final; `submitBatch` and claims advance it.
///
///      Escape hatch (`docs/escape-hatch.md`): when no batch has become final for {exodusDelay}
///      seconds, anyone may {freeze} the rollup; from then on nothing is posted or challenged, the
///      final batches stay final (their withdrawals stay claimable), every L2 balance of the last
///      final state root can be {exit}ed once by its owner with a state proof, and every deposit no
///      batch final at the freeze consumed can be refunded to its L1 depositor by the bridge
///      ({L1Bridge.refundDeposit}, which asks {refundFloor}).
contract L1Rollup is ReentrancyGuard {
    /// @notice Deployment parameters (`docs/fraud-proofs.md` §5, `docs/liveness.md` §4).
    /// @param sequencer The first operator (registered at deployment with bid `sequencerBid` and the
    ///        deployment's value as bond; the operator of the first epoch); not zero.
    /// @param challengePeriod Seconds after `postedAt` at which a batch becomes final; not zero.
    /// @param genesisStateRoot State root of L2 block 0.
    /// @param bondWei Bond a poster must have deposited to post (0: none required).
    /// @param challengerShareBps Share of a slashed bond paid to the winning challenger, in basis
    ///        points (≤ 10,000); the rest goes to `slashSink`.
    /// @param slashSink Receiver of the rest of a slashed bond (`0x…dEaD`: burned).
    /// @param responseWindow Seconds a poster has to answer an opening request; below `challengePeriod`.
    /// @param maxBatchData Maximum batch data length in bytes; not zero.
    /// @param stepVerifier The {IStepVerifier} that re-executes one step; zero until it exists
    ///        (`proveStep` then reverts {NoVerifier}).
    /// @param exodusDelay Seconds without a newly final batch after which anyone may {freeze};
    ///        above `challengePeriod + forceInclusionDelay + livenessWindow` (`docs/escape-hatch.md`).
    /// @param sequencerBid The {sequencer}'s bid: the highest L2 base fee of its batches.
    /// @param epochSecs Length of an operator epoch in seconds; not zero.
    /// @param livenessWindow Seconds an active operator may leave queue messages waiting without
    ///        posting before it can be {kick}ed; not zero.
    /// @param forceInclusionDelay Seconds after its L1 timestamp by which a queue message must be
    ///        consumed; not zero.
    /// @param kickSlashBps Share of a kicked operator's bond that is slashed, in basis points
    ///        (≤ 10,000); split between the kicker and `slashSink` as a fraud proof's slash is.
    struct RollupParams {
        address sequencer;
        uint64 challengePeriod;
        bytes32 genesisStateRoot;
        uint256 bondWei;
        uint16 challengerShareBps;
        address slashSink;
        uint64 responseWindow;
        uint64 maxBatchData;
        address stepVerifier;
        uint64 exodusDelay;
        uint256 sequencerBid;
        uint64 epochSecs;
        uint64 livenessWindow;
        uint64 forceInclusionDelay;
        uint16 kickSlashBps;
    }

    /// @notice What the poster claims about a batch; the rest of the {BatchHeader} is derived on L1.
    /// @param stateRoot State root after the batch's last step.
    /// @param withdrawalRoot Root of the batch's positional withdrawal tree (`docs/fraud-proofs.md` §4;
    ///        {EMPTY_W_ROOT} when none).
    /// @param stepsRoot Positional Merkle root of the step leaf hashes (`docs/fraud-proofs.md` §2).
    /// @param queueEnd Number of queue messages consumed after this batch (cumulative).
    /// @param firstBlock First L2 block of the batch.
    /// @param lastBlock Last L2 block of the batch.
    /// @param stepCount Number of steps (queue messages, transactions and block markers).
    /// @param baseFee The L2 base fee (wei per gas) every transaction of the batch was executed at;
    ///        at most the poster's bid for the running epoch (`docs/liveness.md` §2).
    struct BatchInput {
        bytes32 stateRoot;
        bytes32 withdrawalRoot;
        bytes32 stepsRoot;
        uint64 queueEnd;
        uint64 firstBlock;
        uint64 lastBlock;
        uint64 stepCount;
        uint256 baseFee;
    }

    /// @notice The committed batch header; its hash is `keccak256(abi.encode(header))` (18 words).
    /// @param index 0-based batch number.
    /// @param parentHash Hash of the previous header, 0 for the first batch.
    /// @param prevStateRoot The previous batch's state root (the genesis root for the first batch).
    /// @param stateRoot Claimed state root after the last step.
    /// @param withdrawalRoot Root of the batch's withdrawal tree.
    /// @param stepsRoot Root of the step leaves.
    /// @param dataRoot Calldata batches: positional Merkle root over `keccak256` of the data's 1,024-byte
    ///        chunks. Blob batches: `keccak256(abi.encodePacked(versionedHashes))`, the submission
    ///        transaction's blob hashes in order (`docs/fraud-proofs.md` §3).
    /// @param dataLength Length of the batch data in bytes.
    /// @param dataKind Where the data was posted: {DATA_CALLDATA} (0) or {DATA_BLOBS} (1).
    /// @param queueStart Queue messages consumed before this batch (the previous `queueEnd`).
    /// @param queueEnd Queue messages consumed after this batch.
    /// @param queueHead The queue's hash-chain head after `queueEnd` messages, read from the bridge.
    /// @param firstBlock First L2 block.
    /// @param lastBlock Last L2 block.
    /// @param stepCount Number of steps.
    /// @param postedAt L1 block timestamp of the submission.
    /// @param poster The account that posted the batch (its bond answers for it).
    /// @param baseFee The L2 base fee of the batch's transactions (the poster's claim, capped by its bid).
    struct BatchHeader {
        uint64 index;
        bytes32 parentHash;
        bytes32 prevStateRoot;
        bytes32 stateRoot;
        bytes32 withdrawalRoot;
        bytes32 stepsRoot;
        bytes32 dataRoot;
        uint64 dataLength;
        uint8 dataKind;
        uint64 queueStart;
        uint64 queueEnd;
        bytes32 queueHead;
        uint64 firstBlock;
        uint64 lastBlock;
        uint64 stepCount;
        uint64 postedAt;
        address poster;
        uint256 baseFee;
    }

    /// @notice What is stored per batch (four slots). Reverting needs nothing more: the previous
    ///         batch's `queueEnd` and `lastBlock` are the reverted header's `queueStart` and
    ///         `firstBlock - 1`, and the header is checked against `headerHash`.
    /// @param headerHash `keccak256(abi.encode(header))`.
    /// @param stateRoot The batch's state root.
    /// @param withdrawalRoot The batch's withdrawal root.
    /// @param postedAt L1 block timestamp of the submission.
    /// @param poster The account that posted it.
    /// @param openRequests Opening requests on this batch not answered yet.
    struct BatchRecord {
        bytes32 headerHash;
        bytes32 stateRoot;
        bytes32 withdrawalRoot;
        uint64 postedAt;
        address poster;
        uint32 openRequests;
    }

    /// @notice The tip of the batch chain: what the next batch must extend.
    /// @param batchCount Number of batches; the next batch gets this index.
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

    /// @notice An operator's record (two slots).
    /// @param bid The L2 base fee it asks for (wei per gas); applies from the next selection.
    /// @param order Its registration number (1 for the {sequencer}, then 2, 3, ... in registration
    ///        order; a new one at each registration): the lower wins a tie of bids.
    /// @param position Its index in {operators} while in the set (meaningless otherwise).
    /// @param inSet Whether it is in the operator set.
    struct Operator {
        uint256 bid;
        uint32 order;
        uint8 position;
        bool inSet;
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

    /// @notice An opening request (`docs/fraud-proofs.md` §5.4).
    /// @param requester Who asked (and paid {requestBond}).
    /// @param deadline From this L1 timestamp the request counts as unanswered.
    /// @param status {REQUEST_OPEN}, {REQUEST_ANSWERED} or {REQUEST_SETTLED} (0: no request).
    struct OpeningRequest {
        address requester;
        uint64 deadline;
        uint8 status;
    }

    /// @notice Most operators in the set at once.
    uint256 public constant MAX_OPERATORS = 32;

    /// @notice Size of a data chunk (`docs/fraud-proofs.md` §3).
    uint256 public constant CHUNK_SIZE = 1024;

    /// @notice The only batch data version accepted (the first data byte).
    uint8 public constant DATA_VERSION = 1;

    /// @dev {BatchHeader.dataKind} of a batch posted with {submitBatch} (data in calldata).
    uint8 internal constant DATA_CALLDATA = 0;
    /// @dev {BatchHeader.dataKind} of a batch posted with {submitBatchBlobs} (data in EIP-4844 blobs).
    uint8 internal constant DATA_BLOBS = 1;
    /// @dev Data bytes one blob carries: 4,096 field elements of 31 data bytes (bytes 1..31; byte 0
    ///      is ignored by every reader).
    uint256 internal constant BLOB_DATA_BYTES = 126_976;
    /// @dev Most blobs one transaction carries (Osaka).
    uint256 internal constant MAX_BLOBS = 6;

    /// @notice Depth of the positional withdrawal tree.
    uint256 public constant W_DEPTH = 16;

    /// @notice {OpeningRequest.status}: waiting for the poster.
    uint8 public constant REQUEST_OPEN = 1;
    /// @notice {OpeningRequest.status}: the poster opened the leaf.
    uint8 public constant REQUEST_ANSWERED = 2;
    /// @notice {OpeningRequest.status}: unanswered, and the batch reverted or the bond refunded.
    uint8 public constant REQUEST_SETTLED = 3;

    /// @dev `keccak256("loft.l2-token")`: the salt of L2 token addresses (`crates/state/src/layout.rs`).
    bytes32 private constant L2_TOKEN_SALT = keccak256("loft.l2-token");

    /// @dev Gas given to the transfer to {slashSink}; its failure never blocks a fraud proof.
    uint256 private constant SINK_GAS = 100_000;

    /// @notice The bridge this rollup deployed: deposits, the L1 -> L2 queue and payouts.
    L1Bridge public immutable bridge;

    /// @notice The first operator: registered at deployment and the operator of the first epoch.
    address public immutable sequencer;

    /// @notice Seconds after `postedAt` at which a batch becomes final.
    uint64 public immutable challengePeriod;

    /// @notice State root of L2 block 0, the parent state of the first batch.
    bytes32 public immutable genesisStateRoot;

    /// @notice Bond a poster must hold to post.
    uint256 public immutable bondWei;

    /// @notice Share of a slashed bond paid to the winning challenger, in basis points.
    uint16 public immutable challengerShareBps;

    /// @notice Receiver of the rest of a slashed bond.
    address public immutable slashSink;

    /// @notice Seconds a poster has to answer an opening request.
    uint64 public immutable responseWindow;

    /// @notice Maximum batch data length in bytes.
    uint64 public immutable maxBatchData;

    /// @notice The step verifier used by {proveStep} (zero: none yet).
    address public immutable stepVerifier;

    /// @notice Seconds without a newly final batch after which anyone may {freeze} the rollup.
    uint64 public immutable exodusDelay;

    /// @notice Length of an operator epoch in seconds.
    uint64 public immutable epochSecs;

    /// @notice Seconds the active operator may leave queue messages waiting without posting (see
    ///         {kickableAt}).
    uint64 public immutable livenessWindow;

    /// @notice Seconds after its L1 timestamp (`bridge.queueTimeAt`) by which a queue message must be
    ///         consumed by a batch.
    uint64 public immutable forceInclusionDelay;

    /// @notice Share of a kicked operator's bond that is slashed, in basis points.
    uint16 public immutable kickSlashBps;

    /// @notice L1 timestamp of the deployment: the reference of {freezableAt} before any batch is final.
    uint64 public immutable deployedAt;

    /// @notice The exact `msg.value` of {requestOpening}: `bondWei / 10`.
    uint256 public immutable requestBond;

    /// @notice Root of the empty withdrawal tree: `z_16`, with `z_0 = 0`, `z_{k+1} = H(z_k ‖ z_k)`.
    bytes32 public immutable EMPTY_W_ROOT;

    /// @dev One record per batch, by index (records past `_batchCount` are stale, never read).
    mapping(uint64 index => BatchRecord) private _batches;

    /// @dev Number of live batches (one storage slot with the next three).
    uint64 private _batchCount;

    /// @dev Cumulative queue messages consumed by the last batch.
    uint64 private _queueEnd;

    /// @dev Last L2 block of the last batch (0 before the first batch).
    uint64 private _lastBlock;

    /// @dev Batches `0 .. _settled - 1` are known final.
    uint64 private _settled;

    /// @dev Bond per poster.
    mapping(address poster => uint256) private _bonds;

    /// @notice 1 + the index of the last batch an account posted (0: none).
    mapping(address poster => uint64) public postedThrough;

    /// @notice Posters slashed by a fraud proof or an unanswered request; they left the operator set
    ///         and can never register, post or bond again.
    mapping(address poster => bool) public barred;

    /// @dev Opening requests by `keccak256(abi.encode(headerHash, step))`.
    mapping(bytes32 key => OpeningRequest) private _requests;

    /// @notice Whether a withdrawal leaf was claimed.
    mapping(bytes32 leaf => bool) public claimed;

    /// @notice L1 timestamp of the {freeze} (0: not frozen).
    uint64 public frozenAt;

    /// @dev After the freeze: the number of batches that were final then (the only ones ever final).
    uint64 private _frozenFinal;

    /// @dev L1 timestamp of the last {submitBatch}, the deployment's before the first (packed with
    ///      {frozenAt}, which {submitBatch} reads anyway).
    uint64 private _lastPostAt;

    /// @dev The operator of the stored epoch (zero: none), packed with the next two.
    address private _active;

    /// @dev Start of the stored epoch (0 when there is no active operator).
    uint64 private _epochStart;

    /// @dev Number of registrations so far (the last {Operator.order} given).
    uint32 private _registrations;

    /// @dev The active operator's bid for the stored epoch: the cap of its batches' base fee.
    uint256 private _activeBid;

    /// @dev The operator set, in no particular order.
    address[] private _operatorList;

    /// @dev Operator records, kept (with `inSet` false) after an operator leaves.
    mapping(address account => Operator) private _operators;

    /// @notice Whether the state leaf with this key was {exit}ed.
    mapping(bytes32 key => bool) public exited;

    // ------------------------------------------------------------------ errors

    /// @notice {submitBatch} by another account than the operator of the running epoch.
    error NotActiveOperator(address caller, address active);
    /// @notice There is no active operator: the set holds no eligible operator.
    error NoActiveOperator();
    /// @notice The batch's base fee is above the active operator's bid for the epoch.
    error BaseFeeAboveBid(uint256 baseFee, uint256 bid);
    /// @notice The batch leaves queue message `index` unconsumed at or after its deadline
    ///         (`queueTimeAt(index) + forceInclusionDelay`).
    error ForcedMessageSkipped(uint64 index, uint64 deadline);
    /// @notice {registerOperator} by an account already in the operator set.
    error AlreadyOperator(address account);
    /// @notice {setBid} or {leave} by an account not in the operator set.
    error NotOperator(address account);
    /// @notice {withdrawBond} while the caller is in the operator set ({leave} first).
    error StillOperator(address account);
    /// @notice The operator set holds {MAX_OPERATORS} operators already.
    error OperatorSetFull(uint256 max);
    /// @notice {kick} of an operator that is not failing: it can be kicked from `kickableAt`
    ///         (`type(uint64).max`: not while the queue holds no unconsumed message).
    error OperatorLive(address operator, uint64 kickableAt);
    /// @notice The constructor was given a zero epoch length.
    error ZeroEpochSecs();
    /// @notice The constructor was given a zero liveness window.
    error ZeroLivenessWindow();
    /// @notice The constructor was given a zero force-inclusion delay.
    error ZeroForceInclusionDelay();
    /// @notice The kick slash is above 10,000 basis points.
    error KickSlashTooHigh(uint16 kickSlashBps);
    /// @notice The poster was slashed and may not register, post or deposit a bond again.
    error PosterBarred(address poster);
    /// @notice The poster's bond is below {bondWei}.
    error InsufficientBond(address poster, uint256 bond, uint256 required);
    /// @notice The constructor was given the zero address as sequencer.
    error ZeroSequencer();
    /// @notice The constructor was given a zero challenge period.
    error ZeroChallengePeriod();
    /// @notice The response window is not below the challenge period.
    error ResponseWindowTooLong(uint64 responseWindow, uint64 challengePeriod);
    /// @notice The challenger share is above 10,000 basis points.
    error ShareTooHigh(uint16 challengerShareBps);
    /// @notice The constructor was given a zero maximum data length.
    error ZeroMaxBatchData();
    /// @notice The batch would consume fewer queue messages than the previous batches did.
    error QueueEndBeforeStart(uint64 queueEnd, uint64 queueStart);
    /// @notice The batch would consume more queue messages than the queue holds.
    error QueueEndBeyondLength(uint64 queueEnd, uint256 queueLength);
    /// @notice The batch does not start right after the previous batch's last L2 block.
    error NonContiguousBlocks(uint64 firstBlock, uint64 expected);
    /// @notice The batch's last block is before its first block.
    error LastBlockBeforeFirst(uint64 lastBlock, uint64 firstBlock);
    /// @notice The batch has no steps.
    error NoSteps();
    /// @notice The batch data is empty.
    error EmptyData();
    /// @notice The batch data is longer than {maxBatchData}.
    error DataTooLong(uint256 length, uint64 maxBatchData);
    /// @notice {submitBatchBlobs} in a transaction without blobs.
    error NoBlobs();
    /// @notice {submitBatchBlobs}: `dataLength` does not need exactly `blobCount` blobs
    ///         (`(blobCount - 1) * 126,976 < dataLength <= blobCount * 126,976`).
    error BlobDataLength(uint64 dataLength, uint256 blobCount);
    /// @notice The batch data does not start with version byte {DATA_VERSION}.
    error UnsupportedDataVersion(uint8 version);
    /// @notice No live batch has this index.
    error UnknownBatch(uint64 index, uint64 batchCount);
    /// @notice The batch is still in its challenge period.
    /// @param finalAt L1 timestamp from which it is final (if no opening request blocks it).
    error BatchNotFinal(uint64 index, uint64 finalAt, uint64 now_);
    /// @notice The batch's challenge period has passed, but an opening request on it or on an
    ///         earlier batch (`blockingIndex`) is still open.
    error OpeningPending(uint64 index, uint64 blockingIndex);
    /// @notice This withdrawal was already claimed.
    error AlreadyClaimed(bytes32 leaf);
    /// @notice The proof does not lead from the withdrawal's leaf at its index to the withdrawal root.
    error InvalidWithdrawalProof(uint64 index, bytes32 leaf);
    /// @notice `depositBond` without value.
    error ZeroBond();
    /// @notice The caller has no bond to withdraw.
    error NoBond();
    /// @notice The bond is locked until batch `batchIndex` (the caller's last, or a later one) is final.
    error BondLocked(uint64 batchIndex);
    /// @notice Sending ETH failed.
    error PayoutFailed(address to, uint256 amount);
    /// @notice The header does not hash to the stored header hash of its index.
    error WrongHeader(uint64 index);
    /// @notice The batch is final: it can no longer be challenged.
    error BatchIsFinal(uint64 index);
    /// @notice The step index is not below the batch's `stepCount`.
    error StepOutOfRange(uint64 step, uint64 stepCount);
    /// @notice A step-leaf Merkle proof does not lead to the batch's `stepsRoot`.
    error InvalidStepProof(uint64 step);
    /// @notice For step 0, the previous leaf is not the initial leaf the header implies.
    error NotInitialLeaf();
    /// @notice No step verifier is configured.
    error NoVerifier();
    /// @notice The proof shows no fraud: the claim agrees with the committed data.
    error NotFraud();
    /// @notice Opening requests on this batch had to be made before `lastRequestAt`.
    error RequestTooLate(uint64 lastRequestAt, uint64 now_);
    /// @notice `msg.value` of {requestOpening} is not {requestBond}.
    error WrongRequestBond(uint256 sent, uint256 required);
    /// @notice There is already a request for this step of this batch.
    error RequestExists(uint64 index, uint64 step);
    /// @notice No open request for this step of this batch.
    error NoOpenRequest(uint64 index, uint64 step);
    /// @notice The response window of the request closed at `deadline`.
    error ResponseWindowClosed(uint64 deadline);
    /// @notice The response window of the request is open until `deadline`.
    error ResponseWindowOpen(uint64 deadline);
    /// @notice The exodus delay is not above `challengePeriod + forceInclusionDelay + livenessWindow`.
    error ExodusDelayTooShort(uint64 exodusDelay, uint64 minimumExclusive);
    /// @notice The rollup is frozen: nothing can be posted, challenged or opened any more.
    error Frozen();
    /// @notice The rollup is not frozen: {exit} waits for {freeze}.
    error NotFrozen();
    /// @notice {freeze} is refused before `freezableAt` (it moves when another batch becomes final).
    error NotFreezable(uint64 freezableAt, uint64 now_);
    /// @notice {exit} of another account's leaf: only `account` itself may exit it.
    error NotAccountOwner(address account, address caller);
    /// @notice {exit} of a zero balance.
    error NothingToExit();
    /// @notice {exit} of a token balance leaf with a nonce: token leaves have none, it must be 0.
    error NonceOnTokenLeaf(uint256 nonce);
    /// @notice The state leaf with this key was already exited.
    error AlreadyExited(bytes32 key);
    /// @notice The proof does not show this leaf value under {lastFinalizedStateRoot}.
    error InvalidExitProof(bytes32 key);

    // ------------------------------------------------------------------ events

    /// @notice Emitted for every batch, with the full header.
    event BatchSubmitted(uint64 indexed index, bytes32 indexed headerHash, BatchHeader header);

    /// @notice Emitted when a withdrawal is paid out.
    event WithdrawalClaimed(
        uint64 indexed batchIndex,
        bytes32 indexed leaf,
        address indexed l1Recipient,
        address l2Sender,
        uint256 nonce,
        address l1Token,
        uint256 amount
    );

    /// @notice Batches `fromIndex .. fromIndex + count - 1` were deleted; `poster` lost `slashed` wei,
    ///         `reward` of which went to `challenger` (the rest to {slashSink}).
    event BatchesReverted(
        uint64 indexed fromIndex,
        uint64 count,
        address indexed poster,
        address indexed challenger,
        uint256 slashed,
        uint256 reward
    );

    /// @notice A poster's bond grew by `amount` to `bond`.
    event BondDeposited(address indexed poster, uint256 amount, uint256 bond);

    /// @notice A poster took its bond back.
    event BondWithdrawn(address indexed poster, uint256 amount);

    /// @notice Someone asked the poster of a batch to open step `step` before `deadline`.
    event OpeningRequested(
        uint64 indexed batchIndex, bytes32 indexed headerHash, uint64 indexed step, address requester, uint64 deadline
    );

    /// @notice The leaf of step `step` was opened (the request bond went to the poster's bond).
    event StepOpened(uint64 indexed batchIndex, bytes32 indexed headerHash, uint64 indexed step, StepLeaf leaf);

    /// @notice A request on a batch reverted by other means was settled: its bond went back.
    event RequestRefunded(bytes32 indexed headerHash, uint64 indexed step, address indexed requester, uint256 amount);

    /// @notice The rollup was frozen by `caller`; batches `0 .. finalBatches - 1` are the final ones
    ///         and `stateRoot` (the last one's, or the genesis root) is the root exits prove against.
    event RollupFrozen(uint64 finalBatches, bytes32 stateRoot, address indexed caller);

    /// @notice `account` exited `amount` of `l1Token` (`address(0)`: ETH) from state leaf `key`.
    event Exited(address indexed account, address indexed l1Token, bytes32 indexed key, uint256 amount);

    /// @notice `operator` joined the operator set bidding `bid`, with `bond` wei of bond.
    event OperatorRegistered(address indexed operator, uint256 bid, uint256 bond);

    /// @notice `operator` changed its bid to `bid` (from the next selection on).
    event BidChanged(address indexed operator, uint256 bid);

    /// @notice `operator` left the operator set by {leave}.
    event OperatorLeft(address indexed operator);

    /// @notice `operator` is active from `epochStart` with `bid` as the cap of its batches' base fee:
    ///         emitted whenever a selection is stored (a handover, or the first call of a new epoch).
    event OperatorActivated(address indexed operator, uint256 bid, uint64 epochStart);

    /// @notice `caller` kicked `operator` out of the set: `slashed` wei of its bond were taken,
    ///         `reward` of them paid to `caller`, the rest to {slashSink}.
    event OperatorKicked(address indexed operator, address indexed caller, uint256 slashed, uint256 reward);

    /// @notice Deploys the rollup and its {bridge}, and registers the {sequencer} as the first
    ///         operator (bid `p.sequencerBid`), active for the first epoch from the deployment
    ///         whatever its bond (it posts once it holds {bondWei}). Value sent with the deployment
    ///         becomes the sequencer's bond (so a devnet can post at once; no {BondDeposited} event for
    ///         it: {OperatorRegistered} carries it). Emits {OperatorRegistered} and {OperatorActivated}.
    constructor(RollupParams memory p) payable {
        if (p.sequencer == address(0)) revert ZeroSequencer();
        if (p.challengePeriod == 0) revert ZeroChallengePeriod();
        if (p.responseWindow >= p.challengePeriod) revert ResponseWindowTooLong(p.responseWindow, p.challengePeriod);
        if (p.challengerShareBps > 10_000) revert ShareTooHigh(p.challengerShareBps);
        if (p.maxBatchData == 0) revert ZeroMaxBatchData();
        if (p.epochSecs == 0) revert ZeroEpochSecs();
        if (p.livenessWindow == 0) revert ZeroLivenessWindow();
        if (p.forceInclusionDelay == 0) revert ZeroForceInclusionDelay();
        if (p.kickSlashBps > 10_000) revert KickSlashTooHigh(p.kickSlashBps);
        uint64 minimum = p.challengePeriod + p.forceInclusionDelay + p.livenessWindow;
        if (p.exodusDelay <= minimum) revert ExodusDelayTooShort(p.exodusDelay, minimum);
        sequencer = p.sequencer;
        challengePeriod = p.challengePeriod;
        genesisStateRoot = p.genesisStateRoot;
        bondWei = p.bondWei;
        challengerShareBps = p.challengerShareBps;
        slashSink = p.slashSink;
        responseWindow = p.responseWindow;
        maxBatchData = p.maxBatchData;
        stepVerifier = p.stepVerifier;
        exodusDelay = p.exodusDelay;
        epochSecs = p.epochSecs;
        livenessWindow = p.livenessWindow;
        forceInclusionDelay = p.forceInclusionDelay;
        kickSlashBps = p.kickSlashBps;
        deployedAt = uint64(block.timestamp);
        requestBond = p.bondWei / 10;
        bytes32 z = bytes32(0);
        for (uint256 k = 0; k < W_DEPTH; ++k) {
            z = _hashPair(z, z);
        }
        EMPTY_W_ROOT = z;
        if (msg.value != 0) _bonds[p.sequencer] = msg.value;
        bridge = new L1Bridge();
        _operators[p.sequencer] = Operator({bid: p.sequencerBid, order: 1, position: 0, inSet: true});
        _operatorList.push(p.sequencer);
        _registrations = 1;
        _active = p.sequencer;
        _epochStart = uint64(block.timestamp);
        _activeBid = p.sequencerBid;
        // Neutral for {kickableAt} (every epoch starts at or after the deployment); the first batch
        // then rewrites a non-zero slot instead of paying for a new one.
        _lastPostAt = uint64(block.timestamp);
        emit OperatorRegistered(p.sequencer, p.sequencerBid, msg.value);
        emit OperatorActivated(p.sequencer, p.sequencerBid, uint64(block.timestamp));
    }

    // ------------------------------------------------------------------ batches

    /// @notice Appends a batch: checks it extends the previous one, derives the rest of its header
    ///         (the data root is computed here) and records the header's hash. Emits {BatchSubmitted}.
    /// @dev Only the active operator of the running epoch may call (stores a due epoch rollover
    ///      first): reverts {NoActiveOperator} when there is none, {NotActiveOperator} for any other
    ///      caller, {InsufficientBond} below {bondWei}, {BaseFeeAboveBid} when `input.baseFee` is above
    ///      its bid of the epoch, {ForcedMessageSkipped} when `input.queueEnd < bridge.queueLength()`
    ///      and `block.timestamp >= bridge.queueTimeAt(input.queueEnd) + forceInclusionDelay` (the
    ///      oldest message left is due; later ones are younger), {Frozen} after the freeze. Records
    ///      the post time for {kickableAt}.
    /// @param input The poster's claims.
    /// @param data The batch data (`docs/fraud-proofs.md` §3): version byte 0x01 first, at most
    ///        {maxBatchData} bytes.
    /// @return index The new batch's index.
    function submitBatch(BatchInput calldata input, bytes calldata data) external returns (uint64 index) {
        uint64 queueStart = _checkBatch(input, data.length);
        uint8 version = uint8(bytes1(data));
        if (version != DATA_VERSION) revert UnsupportedDataVersion(version);
        return _appendBatch(input, queueStart, dataRoot(data), data.length, DATA_CALLDATA);
    }

    /// @notice Appends a batch whose data is in the blobs of this (type-3) transaction, as
    ///         {submitBatch} does with calldata; the header gets `dataKind` {DATA_BLOBS} and
    ///         `dataRoot = keccak256(abi.encodePacked(blobhash(0), .., blobhash(n - 1)))`.
    /// @dev Same checks as {submitBatch}, then reverts {NoBlobs} when the transaction carries none,
    ///      {BlobDataLength} unless `(n - 1) * 126,976 < dataLength <= n * 126,976` (`n` blobs, at most
    ///      {MAX_BLOBS} counted). Blob data is batch data v1 (`0x01`, steps) packed 31 bytes per field
    ///      element into bytes 1..31 (byte 0 of each element ignored, bytes past `dataLength` ignored);
    ///      L1 cannot read blobs, so the version byte is not checked here: a batch whose data does not
    ///      start with it has an undecodable first step (`docs/fraud-proofs.md` §3).
    /// @param input The poster's claims.
    /// @param dataLength The batch data's length in bytes.
    /// @return index The new batch's index.
    function submitBatchBlobs(BatchInput calldata input, uint64 dataLength) external returns (uint64 index) {
        uint64 queueStart = _checkBatch(input, dataLength);
        uint256 n;
        bytes32 root;
        assembly ("memory-safe") {
            let p := mload(0x40)
            for {} lt(n, MAX_BLOBS) { n := add(n, 1) } {
                let h := blobhash(n)
                if iszero(h) { break }
                mstore(add(p, shl(5, n)), h)
            }
            root := keccak256(p, shl(5, n))
        }
        if (n == 0) revert NoBlobs();
        // dataLength > 0 here: exactly n blobs are needed when ceil(dataLength / 126,976) = n.
        if ((dataLength - 1) / BLOB_DATA_BYTES + 1 != n) revert BlobDataLength(dataLength, n);
        return _appendBatch(input, queueStart, root, dataLength, DATA_BLOBS);
    }

    /// @dev The checks {submitBatch} and {submitBatchBlobs} share (all but the data's own); returns
    ///      the batch's `queueStart`.
    function _checkBatch(BatchInput calldata input, uint256 dataLength) private returns (uint64 queueStart) {
        if (frozenAt != 0) revert Frozen();
        _checkPoster(input.baseFee);
        queueStart = _queueEnd;
        if (input.queueEnd < queueStart) revert QueueEndBeforeStart(input.queueEnd, queueStart);
        uint256 queueLength = _queueLength();
        if (input.queueEnd > queueLength) revert QueueEndBeyondLength(input.queueEnd, queueLength);
        if (input.queueEnd < queueLength) {
            uint64 deadline = _queueTimeAt(input.queueEnd) + forceInclusionDelay;
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp >= deadline) revert ForcedMessageSkipped(input.queueEnd, deadline);
        }
        uint64 expectedFirst = _lastBlock + 1;
        if (input.firstBlock != expectedFirst) revert NonContiguousBlocks(input.firstBlock, expectedFirst);
        if (input.lastBlock < input.firstBlock) revert LastBlockBeforeFirst(input.lastBlock, input.firstBlock);
        if (input.stepCount == 0) revert NoSteps();
        if (dataLength == 0) revert EmptyData();
        if (dataLength > maxBatchData) revert DataTooLong(dataLength, maxBatchData);
    }

    /// @dev Derives the rest of the header, records the batch and emits {BatchSubmitted}.
    function _appendBatch(
        BatchInput calldata input,
        uint64 queueStart,
        bytes32 root,
        uint256 dataLength,
        uint8 dataKind
    ) private returns (uint64 index) {
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
        header.stepsRoot = input.stepsRoot;
        header.dataRoot = root;
        // casting to 'uint64' is safe because dataLength <= maxBatchData, a uint64
        // forge-lint: disable-next-line(unsafe-typecast)
        header.dataLength = uint64(dataLength);
        header.dataKind = dataKind;
        header.queueStart = queueStart;
        header.queueEnd = input.queueEnd;
        header.queueHead = bridge.queueHeadAt(input.queueEnd);
        header.firstBlock = input.firstBlock;
        header.lastBlock = input.lastBlock;
        header.stepCount = input.stepCount;
        header.postedAt = uint64(block.timestamp);
        header.poster = msg.sender;
        header.baseFee = input.baseFee;

        bytes32 headerHash = keccak256(abi.encode(header));
        _batches[index] = BatchRecord({
            headerHash: headerHash,
            stateRoot: input.stateRoot,
            withdrawalRoot: input.withdrawalRoot,
            postedAt: header.postedAt,
            poster: msg.sender,
            openRequests: 0
        });
        // Keep the finality cache up with the batches: up to two more known final per batch posted.
        uint64 settled = _settled;
        for (uint256 k = 0; k < 2 && settled < index; ++k) {
            if (!_finalAlone(_batches[settled])) break;
            ++settled;
        }
        _settled = settled;
        _batchCount = index + 1;
        _queueEnd = input.queueEnd;
        _lastBlock = input.lastBlock;
        postedThrough[msg.sender] = index + 1;
        _lastPostAt = header.postedAt;
        emit BatchSubmitted(index, headerHash, header);
    }

    /// @dev The poster check of {submitBatch}: the active operator (after storing a due rollover),
    ///      bonded, and `baseFee` within its bid. A barred account is never in the set, so never active.
    function _checkPoster(uint256 baseFee) private {
        (address active,, uint256 bid) = _sync();
        if (msg.sender != active) {
            if (active == address(0)) revert NoActiveOperator();
            revert NotActiveOperator(msg.sender, active);
        }
        if (bondWei != 0) {
            uint256 bond = _bonds[msg.sender];
            if (bond < bondWei) revert InsufficientBond(msg.sender, bond, bondWei);
        }
        if (baseFee > bid) revert BaseFeeAboveBid(baseFee, bid);
    }

    /// @notice The data commitment of `docs/fraud-proofs.md` §3: `keccak256` of every 1,024-byte chunk
    ///         (the last one shorter), a positional Merkle root over them padded with `bytes32(0)` to a
    ///         power of two (node `H(left ‖ right)`; one chunk: its leaf).
    /// @dev Chunks are hashed straight from calldata through a 1 KiB scratch buffer; the level is then
    ///      folded in place, pairing an odd last node with the zero-subtree hash of its level.
    /// @param data Non-empty data.
    /// @return root The data root.
    function dataRoot(bytes calldata data) public pure returns (bytes32 root) {
        assembly ("memory-safe") {
            let len := data.length
            let n := div(add(len, 1023), 1024)
            let leaves := mload(0x40)
            let buf := add(leaves, shl(5, add(n, 1)))
            let off := data.offset
            let end := add(off, len)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let size := sub(end, off)
                if gt(size, 1024) { size := 1024 }
                calldatacopy(buf, off, size)
                mstore(add(leaves, shl(5, i)), keccak256(buf, size))
                off := add(off, 1024)
            }
            let z := 0
            for { let m := n } gt(m, 1) {} {
                let half := shr(1, m)
                for { let j := 0 } lt(j, half) { j := add(j, 1) } {
                    mstore(add(leaves, shl(5, j)), keccak256(add(leaves, shl(6, j)), 0x40))
                }
                if and(m, 1) {
                    let last := add(leaves, shl(5, sub(m, 1)))
                    mstore(add(last, 0x20), z)
                    mstore(add(leaves, shl(5, half)), keccak256(last, 0x40))
                }
                m := add(half, and(m, 1))
                mstore(0, z)
                mstore(0x20, z)
                z := keccak256(0, 0x40)
            }
            root := mload(leaves)
        }
    }

    // ------------------------------------------------------------------ operators

    /// @notice Joins the operator set bidding `bid` (the highest L2 base fee of the batches it will
    ///         post), adding `msg.value` to the caller's bond, which must then be at least {bondWei}.
    ///         If no operator is active, the caller (or a better eligible operator) is active at once,
    ///         its epoch starting now; otherwise the bid competes from the next selection. Emits
    ///         {BondDeposited} (when `msg.value` is not zero), {OperatorRegistered} and, on activation,
    ///         {OperatorActivated}.
    /// @dev Reverts {AlreadyOperator}, {PosterBarred}, {OperatorSetFull} or {InsufficientBond}. Stores a
    ///      due epoch rollover first, so the registration never changes the running epoch.
    /// @param bid The bid, in wei per L2 gas.
    function registerOperator(uint256 bid) external payable {
        address account = msg.sender;
        if (_operators[account].inSet) revert AlreadyOperator(account);
        if (barred[account]) revert PosterBarred(account);
        uint256 size = _operatorList.length;
        if (size >= MAX_OPERATORS) revert OperatorSetFull(MAX_OPERATORS);
        uint256 bond = _bonds[account] + msg.value;
        if (bond < bondWei) revert InsufficientBond(account, bond, bondWei);
        _sync();
        if (msg.value != 0) {
            _bonds[account] = bond;
            emit BondDeposited(account, msg.value, bond);
        }
        uint32 order = _registrations + 1;
        _registrations = order;
        // casting to 'uint8' is safe because size < MAX_OPERATORS = 32
        // forge-lint: disable-next-line(unsafe-typecast)
        _operators[account] = Operator({bid: bid, order: order, position: uint8(size), inSet: true});
        _operatorList.push(account);
        emit OperatorRegistered(account, bid, bond);
        if (_active == address(0)) _activate(uint64(block.timestamp));
    }

    /// @notice Changes the caller's bid. It applies from the next selection (the next epoch, or a
    ///         handover), never within the running epoch. Emits {BidChanged}.
    /// @dev Reverts {NotOperator}. Stores a due epoch rollover first.
    /// @param bid The new bid, in wei per L2 gas.
    function setBid(uint256 bid) external {
        Operator storage op = _operators[msg.sender];
        if (!op.inSet) revert NotOperator(msg.sender);
        _sync();
        op.bid = bid;
        emit BidChanged(msg.sender, bid);
    }

    /// @notice Leaves the operator set. If the caller was the active operator, the next best eligible
    ///         operator is active at once (its epoch starting now). The bond stays until
    ///         {withdrawBond} (once every batch the caller posted is final). Emits {OperatorLeft} and,
    ///         on a handover, {OperatorActivated}.
    /// @dev Reverts {NotOperator}.
    function leave() external {
        address account = msg.sender;
        if (!_operators[account].inSet) revert NotOperator(account);
        (address active,,) = _sync();
        _remove(account);
        emit OperatorLeft(account);
        if (account == active) _activate(uint64(block.timestamp));
    }

    /// @notice Removes the active operator when it fails the liveness rule (from {kickableAt} on):
    ///         slashes `bond * kickSlashBps / 10_000` of its bond, pays `challengerShareBps` of that to
    ///         the caller and the rest to {slashSink}, removes it from the set (it is not barred: it
    ///         may register again with a full bond), and makes the next best eligible operator active
    ///         at once, its epoch starting now. Emits {OperatorKicked} and, when one is left,
    ///         {OperatorActivated}.
    /// @dev Reverts {Frozen}, {NoActiveOperator}, or {OperatorLive} before {kickableAt}. Stores a due
    ///      epoch rollover first: the operator kicked is the one of the running epoch.
    function kick() external nonReentrant {
        if (frozenAt != 0) revert Frozen();
        (address operator, uint64 start,) = _sync();
        if (operator == address(0)) revert NoActiveOperator();
        uint64 from = _kickableAt(start);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < from) revert OperatorLive(operator, from);
        uint256 bond = _bonds[operator];
        uint256 slashed = bond * kickSlashBps / 10_000;
        uint256 reward = slashed * challengerShareBps / 10_000;
        _bonds[operator] = bond - slashed;
        _remove(operator);
        emit OperatorKicked(operator, msg.sender, slashed, reward);
        _activate(uint64(block.timestamp));
        _send(msg.sender, reward);
        _payToSink(slashed - reward);
    }

    /// @notice L1 timestamp from which {kick} succeeds against the running epoch's operator; with
    ///         `q = queueEnd()` the first unconsumed message, `t0 = bridge.queueTimeAt(q)` and
    ///         `a = max(t0, lastPostAt, epochStart)`:
    ///         `min(a + livenessWindow, max(t0 + forceInclusionDelay, epochStart + livenessWindow))`.
    ///         `type(uint64).max` while the queue holds no unconsumed message or no operator is active.
    function kickableAt() external view returns (uint64) {
        (address operator, uint64 start,) = _current();
        if (operator == address(0)) return type(uint64).max;
        return _kickableAt(start);
    }

    /// @notice The operator of the running epoch, its bid (the cap of its batches' base fee) and the
    ///         epoch's bounds (`epochEnd = epochStart + epochSecs`, exclusive); all zero when there is
    ///         none. Computes a due rollover without storing it, as the next state-changing call will.
    function activeOperator()
        external
        view
        returns (address operator, uint256 bid, uint64 epochStart, uint64 epochEnd)
    {
        (operator, epochStart, bid) = _current();
        if (operator != address(0)) epochEnd = epochStart + epochSecs;
    }

    /// @notice An account's operator record (zeros if it never registered).
    function operatorOf(address account) external view returns (Operator memory) {
        return _operators[account];
    }

    /// @notice The operator set, in no particular order (a departure moves the last one into its place).
    function operators() external view returns (address[] memory) {
        return _operatorList;
    }

    // ------------------------------------------------------------------ bonds

    /// @notice Adds `msg.value` to the caller's bond: any account may bond ({registerOperator} takes a
    ///         bond too). Reverts {ZeroBond}, and {PosterBarred} for a barred account. Emits
    ///         {BondDeposited}. An operator of the set that reaches {bondWei} becomes eligible (and
    ///         active at once when no operator is).
    function depositBond() external payable {
        if (msg.value == 0) revert ZeroBond();
        if (barred[msg.sender]) revert PosterBarred(msg.sender);
        _sync();
        uint256 bond = _bonds[msg.sender] + msg.value;
        _bonds[msg.sender] = bond;
        emit BondDeposited(msg.sender, msg.value, bond);
        if (_active == address(0)) _activate(uint64(block.timestamp));
    }

    /// @notice Pays the caller's whole bond back once it has left the operator set and every batch it
    ///         posted is final. Emits {BondWithdrawn}.
    /// @dev Reverts {StillOperator}, {NoBond} or {BondLocked}. If the caller's last batch was reverted
    ///      (as a successor of another poster's wrong batch), it waits for the last live batch instead.
    function withdrawBond() external nonReentrant {
        if (_operators[msg.sender].inSet) revert StillOperator(msg.sender);
        uint256 amount = _bonds[msg.sender];
        if (amount == 0) revert NoBond();
        uint64 through = postedThrough[msg.sender];
        uint64 count = _batchCount;
        // Once frozen nothing can be challenged any more: bonds are free.
        if (through != 0 && count != 0 && frozenAt == 0) {
            uint64 last = through - 1 < count ? through - 1 : count - 1;
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp < _finalAt(_batches[last])) revert BondLocked(last);
            (bool ok,) = _finalThrough(last);
            if (!ok) revert BondLocked(last);
        }
        _bonds[msg.sender] = 0;
        emit BondWithdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @notice The bond an account holds.
    function bondOf(address poster) external view returns (uint256) {
        return _bonds[poster];
    }

    // ------------------------------------------------------------------ withdrawals

    /// @notice Pays out a withdrawal of a final batch, once. Emits {WithdrawalClaimed}.
    /// @dev Anyone may claim; the funds always go to `w.l1Recipient`. Reverts {UnknownBatch},
    ///      {BatchNotFinal}, {OpeningPending}, {AlreadyClaimed} or {InvalidWithdrawalProof}, and with
    ///      the bridge's error when the payout fails.
    /// @param batchIndex The batch whose withdrawal root holds the withdrawal.
    /// @param w The withdrawal.
    /// @param index The withdrawal's position in the batch's withdrawal tree (`< 2**16`).
    /// @param siblings The 16 siblings from the leaf up.
    function claimWithdrawal(uint64 batchIndex, Withdrawal calldata w, uint256 index, bytes32[16] calldata siblings)
        external
        nonReentrant
    {
        BatchRecord storage record = _record(batchIndex);
        uint64 finalAt = _finalAt(record);
        // A validator can shift timestamps by seconds; challenge periods are hours to days.
        // forge-lint: disable-next-line(block-timestamp)
        // After the freeze only the batches final at the freeze are final (the rest is exited).
        if (frozenAt != 0 && batchIndex >= _frozenFinal) revert Frozen();
        if (block.timestamp < finalAt) revert BatchNotFinal(batchIndex, finalAt, uint64(block.timestamp));
        if (_settled <= batchIndex) {
            (bool ok, uint64 blocking) = _finalThrough(batchIndex);
            if (!ok) revert OpeningPending(batchIndex, blocking);
            _settled = batchIndex + 1;
        }
        bytes32 leaf = withdrawalLeaf(w);
        if (claimed[leaf]) revert AlreadyClaimed(leaf);
        if (index >> W_DEPTH != 0 || _withdrawalRoot(leaf, index, siblings) != record.withdrawalRoot) {
            revert InvalidWithdrawalProof(batchIndex, leaf);
        }
        claimed[leaf] = true;
        _release(w.l1Token, w.l1Recipient, w.amount);
        emit WithdrawalClaimed(batchIndex, leaf, w.l1Recipient, w.l2Sender, w.nonce, w.l1Token, w.amount);
    }

    /// @notice The withdrawal tree leaf:
    ///         `keccak256(bytes.concat(keccak256(abi.encode(l2Sender, nonce, l1Recipient, l1Token, amount))))`.
    function withdrawalLeaf(Withdrawal calldata w) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(w.l2Sender, w.nonce, w.l1Recipient, w.l1Token, w.amount))));
    }

    // ------------------------------------------------------------------ fraud proofs

    /// @notice Proves that leaf `i` does not follow from leaf `i - 1` (the initial leaf for `i = 0`)
    ///         by re-executing the step with the {stepVerifier}; reverts the batch on success.
    /// @dev Reverts {NotFraud} when the verifier's leaf equals the committed one, and with the
    ///      verifier's error when the witness does not verify.
    function proveStep(
        BatchHeader calldata h,
        uint64 i,
        StepLeaf calldata prev,
        bytes32[] calldata prevProof,
        StepLeaf calldata leaf,
        bytes32[] calldata leafProof,
        bytes calldata witness
    ) external nonReentrant {
        _challengeable(h);
        if (stepVerifier == address(0)) revert NoVerifier();
        if (i >= h.stepCount) revert StepOutOfRange(i, h.stepCount);
        bytes32 claimedHash = stepLeafHash(leaf);
        _verifyStep(h.stepsRoot, h.stepCount, i, claimedHash, leafProof);
        _checkPrev(h, i, prev, prevProof);
        if (!_stepDiffers(h, prev, witness, claimedHash)) revert NotFraud();
        _revertBatches(h, msg.sender, 0);
    }

    /// @dev Checks `prev` is leaf `i - 1` of the batch, or its initial leaf for `i = 0`.
    function _checkPrev(BatchHeader calldata h, uint64 i, StepLeaf calldata prev, bytes32[] calldata prevProof)
        private
        view
    {
        if (i == 0) {
            if (stepLeafHash(prev) != initialLeafHash(h)) revert NotInitialLeaf();
        } else {
            _verifyStep(h.stepsRoot, h.stepCount, i - 1, stepLeafHash(prev), prevProof);
        }
    }

    /// @dev Whether re-executing the step after `prev` finds it invalid or leading elsewhere than
    ///      the committed leaf hash.
    function _stepDiffers(BatchHeader calldata h, StepLeaf calldata prev, bytes calldata witness, bytes32 claimedHash)
        private
        view
        returns (bool)
    {
        IStepVerifier.StepContext memory ctx =
            IStepVerifier.StepContext(h.dataRoot, h.dataLength, h.dataKind, h.queueEnd, h.baseFee);
        (bool valid, StepLeaf memory next) = IStepVerifier(stepVerifier).execute(ctx, prev, witness);
        return !valid || stepLeafHash(next) != claimedHash;
    }

    /// @notice Proves that the last leaf (`stepCount - 1`) disagrees with the header (`queuePos`,
    ///         `dataEnd`, `wRoot` or `stateRoot`); reverts the batch on success, {NotFraud} otherwise.
    function proveLastLeaf(BatchHeader calldata h, StepLeaf calldata leaf, bytes32[] calldata proof)
        external
        nonReentrant
    {
        _challengeable(h);
        _verifyStep(h.stepsRoot, h.stepCount, h.stepCount - 1, stepLeafHash(leaf), proof);
        if (
            leaf.queuePos == h.queueEnd && leaf.dataEnd == h.dataLength && leaf.wRoot == h.withdrawalRoot
                && leaf.stateRoot == h.stateRoot
        ) revert NotFraud();
        _revertBatches(h, msg.sender, 0);
    }

    /// @notice Proves that `stepCount` disagrees with the step tree: leaf `i < stepCount` is
    ///         `bytes32(0)`, or leaf `i >= stepCount` (in the padded tree) is not. Reverts the batch on
    ///         success, {NotFraud} otherwise.
    function proveStepCount(BatchHeader calldata h, uint64 i, bytes32 leafHash, bytes32[] calldata proof)
        external
        nonReentrant
    {
        _challengeable(h);
        _verifyStep(h.stepsRoot, h.stepCount, i, leafHash, proof);
        if ((i < h.stepCount) != (leafHash == bytes32(0))) revert NotFraud();
        _revertBatches(h, msg.sender, 0);
    }

    /// @notice Asks the poster to open leaf `i` within {responseWindow} (`docs/fraud-proofs.md` §5.4);
    ///         `msg.value` must be {requestBond}. The batch cannot become final while the request is
    ///         open. Emits {OpeningRequested}.
    /// @dev Reverts {RequestTooLate} from `postedAt + challengePeriod - responseWindow` on.
    function requestOpening(BatchHeader calldata h, uint64 i) external payable {
        bytes32 headerHash = _challengeable(h);
        if (i >= h.stepCount) revert StepOutOfRange(i, h.stepCount);
        uint64 lastRequestAt = h.postedAt + challengePeriod - responseWindow;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= lastRequestAt) revert RequestTooLate(lastRequestAt, uint64(block.timestamp));
        if (msg.value != requestBond) revert WrongRequestBond(msg.value, requestBond);
        OpeningRequest storage request = _requests[_requestKey(headerHash, i)];
        if (request.status != 0) revert RequestExists(h.index, i);
        uint64 deadline = uint64(block.timestamp) + responseWindow;
        request.requester = msg.sender;
        request.deadline = deadline;
        request.status = REQUEST_OPEN;
        _batches[h.index].openRequests += 1;
        emit OpeningRequested(h.index, headerHash, i, msg.sender, deadline);
    }

    /// @notice Answers an opening request with leaf `i` and its Merkle path (anyone may, usually the
    ///         poster) before its deadline; the request bond goes to the poster's bond. Emits
    ///         {StepOpened}.
    function openStep(BatchHeader calldata h, uint64 i, StepLeaf calldata leaf, bytes32[] calldata proof) external {
        if (frozenAt != 0) revert Frozen();
        bytes32 headerHash = _liveHeader(h);
        OpeningRequest storage request = _requests[_requestKey(headerHash, i)];
        if (request.status != REQUEST_OPEN) revert NoOpenRequest(h.index, i);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= request.deadline) revert ResponseWindowClosed(request.deadline);
        _verifyStep(h.stepsRoot, h.stepCount, i, stepLeafHash(leaf), proof);
        request.status = REQUEST_ANSWERED;
        _batches[h.index].openRequests -= 1;
        _bonds[h.poster] += requestBond;
        emit StepOpened(h.index, headerHash, i, leaf);
    }

    /// @notice Settles an unanswered opening request after its deadline: reverts the batch (and all
    ///         later ones) as a fraud proof would, the requester getting its request bond back and
    ///         the challenger's share. If the batch was already reverted by other means, only refunds
    ///         the request bond (at any time). Anyone may call; the payouts go to the requester.
    function claimUnanswered(BatchHeader calldata h, uint64 i) external nonReentrant {
        bytes32 headerHash = keccak256(abi.encode(h));
        OpeningRequest storage request = _requests[_requestKey(headerHash, i)];
        if (request.status != REQUEST_OPEN) revert NoOpenRequest(h.index, i);
        address requester = request.requester;
        request.status = REQUEST_SETTLED;
        // After the freeze nothing is reverted any more: the request bond only goes back.
        if (frozenAt == 0 && h.index < _batchCount && _batches[h.index].headerHash == headerHash) {
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp < request.deadline) revert ResponseWindowOpen(request.deadline);
            _revertBatches(h, requester, requestBond);
        } else {
            emit RequestRefunded(headerHash, i, requester, requestBond);
            _send(requester, requestBond);
        }
    }

    /// @notice Hash of the initial leaf of a batch: `(0, queueStart, 1, 0, EMPTY_W_ROOT, prevStateRoot)`.
    function initialLeafHash(BatchHeader calldata h) public view returns (bytes32) {
        return keccak256(abi.encode(uint8(0), h.queueStart, uint64(1), uint64(0), EMPTY_W_ROOT, h.prevStateRoot));
    }

    /// @notice An opening request, by header hash and step.
    function openingRequest(bytes32 headerHash, uint64 step) external view returns (OpeningRequest memory) {
        return _requests[_requestKey(headerHash, step)];
    }

    // ------------------------------------------------------------------ escape hatch

    /// @notice Freezes the rollup for good (`docs/escape-hatch.md`): anyone may call from
    ///         {freezableAt} on, that is once no batch has become final for {exodusDelay} seconds.
    ///         The batches final now stay the only final ones (their withdrawals stay claimable);
    ///         later batches are never final; {submitBatch}, the fraud proofs, {requestOpening} and
    ///         {openStep} revert {Frozen}; bonds can be withdrawn; {exit} opens. Emits {RollupFrozen}.
    /// @dev Reverts {Frozen} when already frozen, {NotFreezable} before {freezableAt}.
    function freeze() external {
        if (frozenAt != 0) revert Frozen();
        uint64 n = _finalCount();
        uint64 freezeAt = _freezableAt(n);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < freezeAt) revert NotFreezable(freezeAt, uint64(block.timestamp));
        _settled = n;
        _frozenFinal = n;
        frozenAt = uint64(block.timestamp);
        emit RollupFrozen(n, _stateRootAfter(n), msg.sender);
    }

    /// @notice Pays `account` the balance of one of its L2 state leaves in {lastFinalizedStateRoot},
    ///         once per leaf, after the {freeze}. Emits {Exited}.
    /// @dev ETH (`l1Token == address(0)`): the account leaf, key `keccak256(abi.encodePacked(uint8(1),
    ///      account))`, value `abi.encode(nonce, balance)`. A token: the balance leaf of the L2 token
    ///      of `l1Token` (its address is derived from `l1Token` as on L2, so no token leaf proof is
    ///      needed), key `keccak256(abi.encodePacked(uint8(2), account, l2Token))`, value
    ///      `abi.encode(balance)`, `nonce` 0. Reverts {NotFrozen}, {NotAccountOwner} (the caller must
    ///      be `account`: same address on L1 and L2), {NothingToExit}, {NonceOnTokenLeaf},
    ///      {AlreadyExited}, {InvalidExitProof}, and with the bridge's error when the payout fails.
    /// @param account The L2 account, which must be the caller; it receives the payout.
    /// @param l1Token The L1 token, `address(0)` for ETH.
    /// @param nonce The account's L2 nonce (ETH leaf), 0 for a token leaf.
    /// @param balance The whole balance of the leaf, in the token's base unit.
    /// @param proof An inclusion proof of the leaf in {lastFinalizedStateRoot}.
    function exit(address account, address l1Token, uint256 nonce, uint256 balance, SparseMerkle.Proof calldata proof)
        external
        nonReentrant
    {
        if (frozenAt == 0) revert NotFrozen();
        if (msg.sender != account) revert NotAccountOwner(account, msg.sender);
        if (balance == 0) revert NothingToExit();
        bytes32 key;
        bytes32 valueHash;
        if (l1Token == address(0)) {
            key = keccak256(abi.encodePacked(uint8(1), account));
            valueHash = keccak256(abi.encode(nonce, balance));
        } else {
            if (nonce != 0) revert NonceOnTokenLeaf(nonce);
            address l2Token = address(uint160(uint256(keccak256(abi.encodePacked(L2_TOKEN_SALT, l1Token)))));
            key = keccak256(abi.encodePacked(uint8(2), account, l2Token));
            valueHash = keccak256(abi.encode(balance));
        }
        if (exited[key]) revert AlreadyExited(key);
        if (!SparseMerkle.verifyInclusion(proof, _stateRootAfter(_frozenFinal), key, valueHash)) {
            revert InvalidExitProof(key);
        }
        exited[key] = true;
        emit Exited(account, l1Token, key, balance);
        _release(l1Token, account, balance);
    }

    /// @notice For {L1Bridge.refundDeposit} after the {freeze}: the number of queue messages the
    ///         batches final at the freeze consumed, `lastFinal.queueEnd` (0 when no batch is final;
    ///         `lastFinal` is then ignored). Deposits from this index on are refundable.
    /// @dev Reverts {NotFrozen}, and {WrongHeader} when `lastFinal` is not the header of batch
    ///      `finalizedBatchCount() - 1`.
    /// @param lastFinal The header of the last final batch.
    function refundFloor(BatchHeader calldata lastFinal) external view returns (uint64) {
        if (frozenAt == 0) revert NotFrozen();
        uint64 n = _frozenFinal;
        if (n == 0) return 0;
        if (keccak256(abi.encode(lastFinal)) != _batches[n - 1].headerHash) revert WrongHeader(n - 1);
        return lastFinal.queueEnd;
    }

    /// @notice Number of leading batches that are final (`0 .. n - 1`); after the {freeze}, those
    ///         that were final at the freeze.
    function finalizedBatchCount() external view returns (uint64) {
        return _finalCount();
    }

    /// @notice State root of the last final batch ({genesisStateRoot} when none is): the root
    ///         {exit} proves against once frozen.
    function lastFinalizedStateRoot() external view returns (bytes32) {
        return _stateRootAfter(_finalCount());
    }

    /// @notice L1 timestamp from which {freeze} is allowed with the batches final now:
    ///         `finalizedAt(last final batch) + exodusDelay`, or `deployedAt + exodusDelay` when no
    ///         batch is final. A batch becoming final moves it later.
    function freezableAt() external view returns (uint64) {
        return _freezableAt(_finalCount());
    }

    /// @dev See {finalizedBatchCount}.
    function _finalCount() private view returns (uint64 n) {
        if (frozenAt != 0) return _frozenFinal;
        n = _settled;
        uint64 count = _batchCount;
        while (n < count && _finalAlone(_batches[n])) ++n;
    }

    /// @dev The freeze time given `n` final batches.
    function _freezableAt(uint64 n) private view returns (uint64) {
        uint64 ref = n == 0 ? deployedAt : _finalAt(_batches[n - 1]);
        return ref + exodusDelay;
    }

    /// @dev State root after the first `n` batches.
    function _stateRootAfter(uint64 n) private view returns (bytes32) {
        return n == 0 ? genesisStateRoot : _batches[n - 1].stateRoot;
    }

    // ------------------------------------------------------------------ views

    /// @notice Whether a batch is final: its challenge period has passed and no opening request on it
    ///         or an earlier batch is open.
    /// @return False for a batch in its challenge period and for an index not posted (or reverted).
    function isFinal(uint64 index) public view returns (bool) {
        if (index >= _batchCount) return false;
        if (frozenAt != 0) return index < _frozenFinal;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < _finalAt(_batches[index])) return false;
        (bool ok,) = _finalThrough(index);
        return ok;
    }

    /// @notice L1 timestamp from which a batch is final (unless an opening request holds it back).
    function finalizedAt(uint64 index) external view returns (uint64) {
        return _finalAt(_record(index));
    }

    /// @notice Number of live batches.
    function batchCount() external view returns (uint64) {
        return _batchCount;
    }

    /// @notice Hash of a batch's header.
    function batchHeaderHash(uint64 index) external view returns (bytes32) {
        return _record(index).headerHash;
    }

    /// @notice What is stored for a batch.
    function batch(uint64 index) external view returns (BatchRecord memory) {
        return _record(index);
    }

    /// @notice State root of the last batch ({genesisStateRoot} before the first batch).
    function lastStateRoot() public view returns (bytes32) {
        return _stateRootAfter(_batchCount);
    }

    /// @notice The tip of the batch chain, everything the next batch must extend, in one call.
    function lastBatch() external view returns (BatchTip memory tip) {
        uint64 count = _batchCount;
        tip.batchCount = count;
        tip.headerHash = count == 0 ? bytes32(0) : _batches[count - 1].headerHash;
        tip.stateRoot = lastStateRoot();
        tip.queueEnd = _queueEnd;
        tip.lastBlock = _lastBlock;
    }

    /// @notice Queue messages consumed by the live batches.
    function queueEnd() external view returns (uint64) {
        return _queueEnd;
    }

    /// @notice Last L2 block covered by a live batch (0, the genesis block, before the first batch).
    function lastBlock() external view returns (uint64) {
        return _lastBlock;
    }

    // ------------------------------------------------------------------ internals

    /// @dev The record of live batch `index`, or revert {UnknownBatch}.
    function _record(uint64 index) private view returns (BatchRecord storage) {
        uint64 count = _batchCount;
        if (index >= count) revert UnknownBatch(index, count);
        return _batches[index];
    }

    /// @dev Checks `h` is the header of a live batch; returns its hash.
    function _liveHeader(BatchHeader calldata h) private view returns (bytes32 headerHash) {
        headerHash = keccak256(abi.encode(h));
        if (_record(h.index).headerHash != headerHash) revert WrongHeader(h.index);
    }

    /// @dev Checks `h` is the header of a live batch that is not final; returns its hash.
    function _challengeable(BatchHeader calldata h) private view returns (bytes32 headerHash) {
        if (frozenAt != 0) revert Frozen();
        headerHash = _liveHeader(h);
        if (isFinal(h.index)) revert BatchIsFinal(h.index);
    }

    /// @dev L1 timestamp from which a batch's challenge period has passed.
    function _finalAt(BatchRecord storage r) private view returns (uint64) {
        return r.postedAt + challengePeriod;
    }

    /// @dev Whether a batch is final on its own (period passed, no open request on it).
    function _finalAlone(BatchRecord storage r) private view returns (bool) {
        // forge-lint: disable-next-line(block-timestamp)
        return block.timestamp >= _finalAt(r) && r.openRequests == 0;
    }

    /// @dev Whether batches `0 ..= index` are all final; otherwise the first that is not.
    function _finalThrough(uint64 index) private view returns (bool, uint64) {
        for (uint64 j = _settled; j <= index; ++j) {
            if (!_finalAlone(_batches[j])) return (false, j);
        }
        return (true, 0);
    }

    /// @dev Deletes batch `h.index` and every later batch, slashes and bars `h.poster` and removes it
    ///      from the operator set (the next best is active at once if it was the active one), pays
    ///      `challenger` its share plus `refund`, the rest of the bond to {slashSink}.
    function _revertBatches(BatchHeader calldata h, address challenger, uint256 refund) private {
        uint64 index = h.index;
        uint64 count = _batchCount - index;
        _batchCount = index;
        _queueEnd = h.queueStart;
        _lastBlock = h.firstBlock - 1;
        if (_settled > index) _settled = index;
        address poster = h.poster;
        uint256 slashed = _bonds[poster];
        _bonds[poster] = 0;
        barred[poster] = true;
        uint256 reward = slashed * challengerShareBps / 10_000;
        emit BatchesReverted(index, count, poster, challenger, slashed, reward);
        if (_operators[poster].inSet) {
            (address active,,) = _sync();
            _remove(poster);
            if (poster == active) _activate(uint64(block.timestamp));
        }
        _send(challenger, reward + refund);
        _payToSink(slashed - reward);
    }

    /// @dev Sends `amount` wei to {slashSink} with {SINK_GAS} gas. A failing sink keeps the amount
    ///      here (burned in effect); it never blocks a proof or a kick.
    function _payToSink(uint256 amount) private {
        if (amount == 0) return;
        address sink = slashSink;
        assembly ("memory-safe") {
            pop(call(SINK_GAS, sink, amount, 0, 0, 0, 0))
        }
    }

    /// @dev The running epoch as the next state-changing call stores it: the stored one while it
    ///      runs; once `block.timestamp >= epochStart + epochSecs`, the epoch starting at
    ///      `epochStart + k * epochSecs` (`k` whole epochs elapsed) with the best eligible operator
    ///      now; with no stored operator, the best eligible now, from now. Zeros when there is none.
    function _current() private view returns (address operator, uint64 start, uint256 bid) {
        operator = _active;
        start = _epochStart;
        if (operator != address(0)) {
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp < start + epochSecs) return (operator, start, _activeBid);
            uint64 epochs = (uint64(block.timestamp) - start) / epochSecs;
            start += epochs * epochSecs;
        } else {
            start = uint64(block.timestamp);
        }
        (operator, bid) = _best();
        if (operator == address(0)) start = 0;
    }

    /// @dev {_current}, stored (with {OperatorActivated}) when it differs from the stored epoch.
    function _sync() private returns (address operator, uint64 start, uint256 bid) {
        (operator, start, bid) = _current();
        if (operator != _active || start != _epochStart) _store(operator, start, bid);
    }

    /// @dev Makes the best eligible operator active from `start` (none: zeros).
    function _activate(uint64 start) private {
        (address operator, uint256 bid) = _best();
        _store(operator, operator == address(0) ? 0 : start, bid);
    }

    /// @dev Stores the epoch; emits {OperatorActivated} for an operator.
    function _store(address operator, uint64 start, uint256 bid) private {
        _active = operator;
        _epochStart = start;
        _activeBid = bid;
        if (operator != address(0)) emit OperatorActivated(operator, bid, start);
    }

    /// @dev The eligible operator (in the set, bond at least {bondWei}; barred accounts are never in
    ///      the set) with the lowest bid, ties to the lowest {Operator.order}; zero if none.
    function _best() private view returns (address best, uint256 bestBid) {
        uint256 n = _operatorList.length;
        uint32 bestOrder;
        for (uint256 k = 0; k < n; ++k) {
            address account = _operatorList[k];
            if (_bonds[account] < bondWei) continue;
            Operator storage op = _operators[account];
            uint256 bid = op.bid;
            if (best != address(0) && bid > bestBid) continue;
            uint32 order = op.order;
            if (best == address(0) || bid < bestBid || order < bestOrder) {
                best = account;
                bestBid = bid;
                bestOrder = order;
            }
        }
    }

    /// @dev Takes `account` out of the set (the last operator moves into its place).
    function _remove(address account) private {
        Operator storage op = _operators[account];
        uint256 position = op.position;
        uint256 last = _operatorList.length - 1;
        if (position != last) {
            address moved = _operatorList[last];
            _operatorList[position] = moved;
            // casting to 'uint8' is safe because position < MAX_OPERATORS = 32
            // forge-lint: disable-next-line(unsafe-typecast)
            _operators[moved].position = uint8(position);
        }
        _operatorList.pop();
        op.inSet = false;
    }

    /// @dev See {kickableAt}, for an epoch starting at `start`.
    function _kickableAt(uint64 start) private view returns (uint64) {
        uint64 q = _queueEnd;
        if (q >= _queueLength()) return type(uint64).max;
        uint64 t0 = _queueTimeAt(q);
        uint64 a = t0;
        uint64 lastPost = _lastPostAt;
        if (lastPost > a) a = lastPost;
        if (start > a) a = start;
        uint64 byWindow = a + livenessWindow;
        uint64 byDeadline = t0 + forceInclusionDelay;
        uint64 grace = start + livenessWindow;
        if (grace > byDeadline) byDeadline = grace;
        return byWindow < byDeadline ? byWindow : byDeadline;
    }

    /// @dev `bridge.queueLength()` (one call site for all callers keeps the code small).
    function _queueLength() private view returns (uint256) {
        return bridge.queueLength();
    }

    /// @dev `bridge.queueTimeAt(index)`.
    function _queueTimeAt(uint256 index) private view returns (uint64) {
        return bridge.queueTimeAt(index);
    }

    /// @dev `bridge.release(l1Token, to, amount)`.
    function _release(address l1Token, address to, uint256 amount) private {
        bridge.release(l1Token, to, amount);
    }

    /// @dev Sends `amount` wei to `to` (nothing for 0), or reverts {PayoutFailed}.
    function _send(address to, uint256 amount) private {
        if (amount == 0) return;
        bool ok;
        assembly ("memory-safe") {
            ok := call(gas(), to, amount, 0, 0, 0, 0)
        }
        if (!ok) revert PayoutFailed(to, amount);
    }

    /// @dev Checks a step-leaf proof: `depth = ceil(log2(stepCount))` siblings from the leaf up,
    ///      left/right by the bits of `i`, `i < 2**depth`.
    function _verifyStep(bytes32 root, uint64 stepCount, uint64 i, bytes32 leafHash, bytes32[] calldata proof)
        private
        pure
    {
        uint256 depth = 0;
        while ((uint256(1) << depth) < stepCount) ++depth;
        if (proof.length != depth || uint256(i) >> depth != 0) revert InvalidStepProof(i);
        bytes32 node = leafHash;
        uint256 idx = i;
        for (uint256 k = 0; k < depth; ++k) {
            node = idx & 1 == 0 ? _hashPair(node, proof[k]) : _hashPair(proof[k], node);
            idx >>= 1;
        }
        if (node != root) revert InvalidStepProof(i);
    }

    /// @dev Root of the positional withdrawal tree with `leaf` at `index` and the given siblings.
    function _withdrawalRoot(bytes32 leaf, uint256 index, bytes32[16] calldata siblings)
        private
        pure
        returns (bytes32 node)
    {
        node = leaf;
        for (uint256 k = 0; k < W_DEPTH; ++k) {
            node = (index >> k) & 1 == 0 ? _hashPair(node, siblings[k]) : _hashPair(siblings[k], node);
        }
    }

    /// @dev `keccak256(abi.encode(headerHash, step))`.
    function _requestKey(bytes32 headerHash, uint64 step) private pure returns (bytes32) {
        return keccak256(abi.encode(headerHash, step));
    }

    /// @dev `keccak256(a ‖ b)`.
    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0, a)
            mstore(0x20, b)
            h := keccak256(0, 0x40)
        }
    }
}
