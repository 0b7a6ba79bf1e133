// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IZkVerifier} from "./IZkVerifier.sol";

/// @title ZkRollup
/// @notice The L1 side of loft's ZK rollup profile (`docs/zk-rollup.md` §5): accounts are created and
///         funded here through an L1 queue, and every batch carries a Groth16 proof that its new state
///         root follows from the recorded one by the state transition of §3. The proof is checked in
///         {submitBatch} and the batch is final in the same transaction; the withdrawals and forced
///         exits it carries are credited at once and paid by {claim}.
/// @dev Account `i` is leaf `i` of the L2 account tree; accounts exist only through this contract
///      (account 0, the fee account, at deployment, owned by the {operator}; the others by
///      {register}). The queue holds the L1 -> L2 messages (deposit, set key, forced exit); a batch's
///      general chunks must consume them in order, and no message may stay unconsumed past its
///      deadline (`timestamp + forceInclusionDelay`): from then on anyone may submit a batch (a proof
///      needs no trust), and no batch that leaves it unconsumed is accepted. The contract holds all
///      deposited ETH; credits come only from verified batches. No owner, no admin, not upgradeable.
///
///      Public data layout (§4.2): `M` general chunks of 52 bytes (`kind[1] ‖ account[3] ‖ amount[16]
///      ‖ data[32]`, big-endian) then `N` transfer chunks of `2B + 4` bytes (`B = ceil(D / 8)`), which
///      L1 does not interpret (they are there so the state can be rebuilt from L1 alone).
contract ZkRollup is ReentrancyGuard {
    /// @notice A queued L1 -> L2 message, packed into one slot; its `data` (non-zero only for a set
    ///         key) lives in {_queueData}.
    /// @param timestamp L1 block timestamp it was queued at.
    /// @param kind {KIND_DEPOSIT}, {KIND_SET_KEY} or {KIND_FORCED_EXIT}.
    /// @param account The L2 account it is for.
    /// @param amount The deposit's amount in wei (0 for the other kinds).
    struct QueueEntry {
        uint64 timestamp;
        uint8 kind;
        uint32 account;
        uint128 amount;
    }

    /// @notice The BN254 scalar field modulus `r`: roots are below it; Baby Jubjub's base field.
    uint256 public constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice Baby Jubjub's `d` in arkworks' twisted Edwards form `x² + y² = 1 + d·x²·y²` (§1.2).
    uint256 public constant BABY_JUBJUB_D =
        9706598848417545097372247223557719406784115219466060233080913168975159366771;

    /// @notice General chunk kind of a no-op (padding).
    uint8 public constant KIND_NOOP = 0;
    /// @notice General chunk and queue message kind of a deposit.
    uint8 public constant KIND_DEPOSIT = 1;
    /// @notice General chunk and queue message kind of a set key.
    uint8 public constant KIND_SET_KEY = 2;
    /// @notice General chunk and queue message kind of a forced exit.
    uint8 public constant KIND_FORCED_EXIT = 3;
    /// @notice General chunk kind of a (signed, L2) withdrawal.
    uint8 public constant KIND_WITHDRAWAL = 4;

    /// @notice Size of a general chunk in bytes.
    uint256 public constant GENERAL_CHUNK_BYTES = 52;

    /// @notice Smallest allowed tree depth.
    uint8 public constant MIN_TREE_DEPTH = 8;
    /// @notice Largest allowed tree depth (general chunks carry 3-byte account indices).
    uint8 public constant MAX_TREE_DEPTH = 24;

    /// @dev `2^253 - 1`: the mask that makes a SHA-256 digest a field element (§4.3).
    uint256 private constant PI_MASK = (uint256(1) << 253) - 1;

    /// @dev Deposits are refused once this contract would hold this much (§3.2: no L2 balance can
    ///      then reach `2^128`, since every balance is covered by the ETH held here).
    uint256 private constant DEPOSIT_CAP = uint256(1) << 128;

    /// @dev `(R − 1)/2`, the exponent of Euler's criterion.
    uint256 private constant EULER_EXPONENT = (R - 1) / 2;

    /// @dev Compressed key: bit 255 is the parity of `x`, the low 255 bits are `y`.
    uint256 private constant KEY_Y_MASK = (uint256(1) << 255) - 1;

    /// @notice The Groth16 verifier every batch's proof must satisfy.
    IZkVerifier public immutable verifier;

    /// @notice The state root at deployment (every account empty but account 0, §2).
    uint256 public immutable genesisRoot;

    /// @notice The account tree's depth `D` (even, {MIN_TREE_DEPTH} ..= {MAX_TREE_DEPTH}): at most
    ///         `2^D` accounts.
    uint8 public immutable treeDepth;

    /// @notice `N`: number of transfer slots (and chunks) per batch.
    uint32 public immutable batchTransfers;

    /// @notice `M`: number of general slots (and chunks) per batch; not zero.
    uint32 public immutable batchGeneral;

    /// @notice The L2 chain id (part of the messages L2 users sign; not used on L1).
    uint64 public immutable chainId;

    /// @notice The operator: the only submitter while no queue message is overdue, and the owner of
    ///         account 0 (the fee account).
    address public immutable operator;

    /// @notice Seconds after its L1 timestamp by which a queue message must be consumed; not zero.
    uint64 public immutable forceInclusionDelay;

    /// @dev `M * 52 + N * (2B + 4)`, see {pubdataLength}.
    uint256 private immutable _pubdataLength;

    /// @notice The state root of the last verified batch ({genesisRoot} before the first).
    uint256 public stateRoot;

    /// @notice Number of verified batches; the next batch gets this index.
    uint64 public batchCount;

    /// @notice Index of the first queue message no batch consumed yet (equal to {queueLength} when
    ///         all are consumed).
    uint64 public queueNext;

    /// @notice Number of messages queued so far.
    uint64 public queueLength;

    /// @notice Number of accounts (the next {register} gets this index); 1 at deployment.
    uint32 public accountCount;

    /// @notice The L1 owner of each account (zero for an index not below {accountCount}).
    mapping(uint32 account => address) public accountOwner;

    /// @notice Wei credited to an L1 address by verified batches and not claimed yet ({claim}).
    mapping(address owner => uint256) public claimable;

    /// @dev The queue, by index.
    mapping(uint256 index => QueueEntry) private _queue;

    /// @dev Queue message data (the compressed key of a set key), only written when not zero.
    mapping(uint256 index => uint256) private _queueData;

    // ------------------------------------------------------------------ errors

    /// @notice The constructor was given the zero address as verifier.
    error ZeroVerifier();
    /// @notice The constructor was given the zero address as operator.
    error ZeroOperator();
    /// @notice The tree depth is odd or outside {MIN_TREE_DEPTH} ..= {MAX_TREE_DEPTH}.
    error InvalidTreeDepth(uint8 treeDepth);
    /// @notice The constructor was given no general slots (the queue could never be consumed).
    error ZeroBatchGeneral();
    /// @notice The constructor was given a zero force-inclusion delay.
    error ZeroForceInclusionDelay();
    /// @notice A root (the genesis root or a batch's new root) is not below {R}.
    error RootOutOfField(uint256 root);
    /// @notice The compressed key is not one: `y` is 0 or not below {R} (which includes bit 254
    ///         set), or `(1 − y²)/(1 − d·y²)` is not a square, or it is 0 (`x = 0`) and the parity
    ///         bit is set.
    error InvalidKey(uint256 compressedKey);
    /// @notice All `limit = 2^treeDepth` account indices are taken.
    error AccountLimitReached(uint256 limit);
    /// @notice No account has this index yet.
    error UnknownAccount(uint32 account, uint32 accountCount);
    /// @notice Only the account's L1 owner may do this.
    error NotAccountOwner(uint32 account, address caller);
    /// @notice A deposit (or {register}) with value 0 where a deposit is required ({deposit}).
    error ZeroDeposit();
    /// @notice The deposit would make this contract hold `2^128` wei or more (`held` counts it).
    error DepositTooLarge(uint256 value, uint256 held);
    /// @notice {queueMessage} of an index not below {queueLength}.
    error QueueIndexOutOfRange(uint256 index, uint256 length);
    /// @notice {submitBatch} by another account than the {operator} before any queue message is
    ///         overdue; anyone may submit from `openToAllAt` ({nextDeadline}; `type(uint256).max`
    ///         while no message waits).
    error NotOperator(address caller, uint256 openToAllAt);
    /// @notice The public data is not {pubdataLength} bytes.
    error WrongPubdataLength(uint256 got, uint256 want);
    /// @notice The verifier did not accept the proof.
    error InvalidProof();
    /// @notice General chunk `chunkIndex` (kind 1-3) is not queue message `queueIndex` (or the queue
    ///         holds no message `queueIndex`).
    error QueueMismatch(uint256 chunkIndex, uint256 queueIndex);
    /// @notice General chunk `chunkIndex` has a kind above {KIND_WITHDRAWAL}.
    error UnknownKind(uint256 chunkIndex, uint8 kind);
    /// @notice The batch leaves queue message `index` unconsumed although its deadline has passed.
    error ForcedMessageSkipped(uint256 index, uint256 deadline);
    /// @notice {claim} by an address with nothing claimable.
    error NothingToClaim(address account);
    /// @notice {claim} to the zero address.
    error ZeroRecipient();
    /// @notice The `modexp` precompile call failed.
    error ModexpFailed();

    // ------------------------------------------------------------------ events

    /// @notice Account `account` now exists and belongs to `owner` (account 0 at deployment, then
    ///         every {register}).
    event AccountRegistered(uint32 indexed account, address indexed owner);

    /// @notice Queue message `index` was appended.
    /// @param index Its 0-based queue index.
    /// @param kind {KIND_DEPOSIT}, {KIND_SET_KEY} or {KIND_FORCED_EXIT}.
    /// @param account The account it is for.
    /// @param amount The deposit's amount (0 for the other kinds).
    /// @param data The compressed key of a set key (0 for the other kinds).
    /// @param timestamp The L1 timestamp it was queued at; its deadline is this plus
    ///        {forceInclusionDelay}.
    event MessageQueued(
        uint256 indexed index, uint8 kind, uint32 indexed account, uint128 amount, uint256 data, uint64 timestamp
    );

    /// @notice Batch `index` was verified: the state root went from `oldRoot` to `newRoot` and the
    ///         batches so far consumed the first `queueEnd` queue messages.
    event BatchVerified(uint256 indexed index, uint256 oldRoot, uint256 newRoot, uint256 queueEnd);

    /// @notice Batch `batchIndex` withdrew (kind 4) or force-exited (kind 3) `amount` wei from
    ///         `account`, credited to its L1 `owner`'s {claimable} balance. Emitted for every kind 3
    ///         and kind 4 chunk, in chunk order and before the batch's {BatchVerified}, even when
    ///         `amount` is 0.
    event WithdrawalCredited(uint256 indexed batchIndex, uint32 indexed account, address indexed owner, uint128 amount);

    /// @notice `account` claimed its whole claimable balance, `amount` wei, paid to `to`.
    event Claimed(address indexed account, address indexed to, uint256 amount);

    /// @notice Deploys the rollup at the genesis state. Account 0 (the fee account) exists from here,
    ///         owned by `operator_`. Emits {AccountRegistered} for it.
    /// @dev Reverts {ZeroVerifier}, {RootOutOfField}, {InvalidTreeDepth}, {ZeroBatchGeneral},
    ///      {ZeroOperator}, {ZeroForceInclusionDelay}. The verifier's code is not checked: an address
    ///      without code rejects every proof.
    /// @param verifier_ The Groth16 verifier of the circuit for these parameters.
    /// @param genesisRoot_ The genesis state root, below {R}.
    /// @param treeDepth_ `D`: even, 8 ..= 24.
    /// @param batchTransfers_ `N`, the transfer slots per batch.
    /// @param batchGeneral_ `M`, the general slots per batch; not zero.
    /// @param chainId_ The L2 chain id.
    /// @param operator_ The operator; not zero.
    /// @param forceInclusionDelay_ Seconds a queue message may wait; not zero.
    constructor(
        IZkVerifier verifier_,
        uint256 genesisRoot_,
        uint8 treeDepth_,
        uint32 batchTransfers_,
        uint32 batchGeneral_,
        uint64 chainId_,
        address operator_,
        uint64 forceInclusionDelay_
    ) {
        if (address(verifier_) == address(0)) revert ZeroVerifier();
        if (genesisRoot_ >= R) revert RootOutOfField(genesisRoot_);
        if (treeDepth_ % 2 != 0 || treeDepth_ < MIN_TREE_DEPTH || treeDepth_ > MAX_TREE_DEPTH) {
            revert InvalidTreeDepth(treeDepth_);
        }
        if (batchGeneral_ == 0) revert ZeroBatchGeneral();
        if (operator_ == address(0)) revert ZeroOperator();
        if (forceInclusionDelay_ == 0) revert ZeroForceInclusionDelay();
        verifier = verifier_;
        genesisRoot = genesisRoot_;
        treeDepth = treeDepth_;
        batchTransfers = batchTransfers_;
        batchGeneral = batchGeneral_;
        chainId = chainId_;
        operator = operator_;
        forceInclusionDelay = forceInclusionDelay_;
        uint256 indexBytes = (uint256(treeDepth_) + 7) / 8;
        _pubdataLength = uint256(batchGeneral_) * GENERAL_CHUNK_BYTES + uint256(batchTransfers_) * (2 * indexBytes + 4);
        stateRoot = genesisRoot_;
        accountCount = 1;
        accountOwner[0] = operator_;
        emit AccountRegistered(0, operator_);
    }

    // ------------------------------------------------------------------ accounts and the queue

    /// @notice Creates an account owned by `msg.sender` with the key `compressedKey`: queues a set
    ///         key and, when `msg.value` is not zero, a deposit of `msg.value` into it.
    /// @dev Reverts {InvalidKey} (see {isValidKey}), {AccountLimitReached} when `2^treeDepth`
    ///      accounts exist, {DepositTooLarge} when this contract would hold `2^128` wei or more.
    ///      Emits {AccountRegistered} and one or two {MessageQueued}.
    /// @param compressedKey The account's Baby Jubjub public key, compressed (§1.2).
    /// @return account The new account's index.
    function register(uint256 compressedKey) external payable returns (uint32 account) {
        _checkKey(compressedKey);
        uint256 count = accountCount;
        uint256 limit = uint256(1) << treeDepth;
        if (count >= limit) revert AccountLimitReached(limit);
        // casting to 'uint32' is safe because count < 2^treeDepth <= 2^24
        // forge-lint: disable-next-line(unsafe-typecast)
        account = uint32(count);
        accountCount = account + 1;
        accountOwner[account] = msg.sender;
        emit AccountRegistered(account, msg.sender);
        _enqueue(KIND_SET_KEY, account, 0, compressedKey);
        if (msg.value != 0) _enqueueDeposit(account);
    }

    /// @notice Queues a set key for one of the caller's accounts: the next batches must replace its
    ///         key with `compressedKey`.
    /// @dev Reverts {NotAccountOwner} unless `msg.sender` owns `account` (an index with no account
    ///      has no owner), {InvalidKey}. Emits {MessageQueued}.
    /// @param account The account.
    /// @param compressedKey Its new key, compressed.
    function setKey(uint32 account, uint256 compressedKey) external {
        _onlyOwner(account);
        _checkKey(compressedKey);
        _enqueue(KIND_SET_KEY, account, 0, compressedKey);
    }

    /// @notice Queues a deposit of `msg.value` wei into `account` (anyone may deposit into any
    ///         existing account).
    /// @dev Reverts {UnknownAccount} unless `account < accountCount`, {ZeroDeposit} without value,
    ///      {DepositTooLarge} when this contract would hold `2^128` wei or more (so `msg.value <
    ///      2^128`). Emits {MessageQueued}.
    /// @param account The account credited on L2.
    function deposit(uint32 account) external payable {
        uint32 count = accountCount;
        if (account >= count) revert UnknownAccount(account, count);
        if (msg.value == 0) revert ZeroDeposit();
        _enqueueDeposit(account);
    }

    /// @notice Queues a forced exit of one of the caller's accounts: the batch that consumes it moves
    ///         the account's whole L2 balance to the caller's {claimable} balance.
    /// @dev Reverts {NotAccountOwner} unless `msg.sender` owns `account`. The message's amount is 0:
    ///      the batch decides it. Emits {MessageQueued}.
    /// @param account The account.
    function forceExit(uint32 account) external {
        _onlyOwner(account);
        _enqueue(KIND_FORCED_EXIT, account, 0, 0);
    }

    // ------------------------------------------------------------------ batches

    /// @notice Verifies and applies a batch: the state root becomes `newRoot`, the queue messages its
    ///         general chunks carry are consumed and its withdrawals and forced exits are credited.
    ///         Final at once. Emits {WithdrawalCredited} for every kind 3 and 4 chunk, then
    ///         {BatchVerified}.
    /// @dev Only the {operator} may call while no queue message is overdue; from the first unconsumed
    ///      message's deadline on, anyone may ({NotOperator}). Then: `pubdata.length` must be
    ///      {pubdataLength} ({WrongPubdataLength}); `newRoot < R` ({RootOutOfField}); the verifier
    ///      must answer `true` for `(proof, [publicInput(stateRoot, newRoot, pubdata)])`
    ///      ({InvalidProof}: also when it reverts or answers anything else, so a malformed proof is
    ///      an {InvalidProof} too). The `M` general chunks are walked in order: kind 0 is skipped;
    ///      kinds 1-3 must be the next queue message ({QueueMismatch}): same kind and account, same
    ///      amount for kinds 1 and 2 (a forced exit's amount is its outcome and is not compared),
    ///      same data (the key for kind 2, zero for kinds 1 and 3); kinds 3 and 4 credit `amount` to
    ///      the account owner's {claimable} balance (kind 4: {UnknownAccount} unless `account <
    ///      accountCount`); a kind above 4 reverts {UnknownKind}. Transfer chunks are not read.
    ///      Finally the first message left unconsumed must not be overdue ({ForcedMessageSkipped}).
    /// @param newRoot The state root after the batch.
    /// @param pubdata The batch's public data (§4.2).
    /// @param proof The Groth16 proof (§5 encoding).
    function submitBatch(uint256 newRoot, bytes calldata pubdata, uint256[8] calldata proof) external {
        if (msg.sender != operator) {
            uint256 openAt = nextDeadline();
            // A deadline is hours or days away: a block producer's timestamp skew does not matter.
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp < openAt) revert NotOperator(msg.sender, openAt);
        }
        uint256 want = _pubdataLength;
        if (pubdata.length != want) revert WrongPubdataLength(pubdata.length, want);
        if (newRoot >= R) revert RootOutOfField(newRoot);
        uint256 oldRoot = stateRoot;
        if (!_verify(proof, publicInput(oldRoot, newRoot, pubdata))) revert InvalidProof();

        uint256 index = batchCount;
        uint256 q = _walk(pubdata, index);
        if (q < queueLength) {
            uint256 deadline = _deadline(q);
            // forge-lint: disable-next-line(block-timestamp)
            if (block.timestamp >= deadline) revert ForcedMessageSkipped(q, deadline);
        }
        stateRoot = newRoot;
        // casting to 'uint64' is safe: a batch count or queue index never reaches 2^64
        // forge-lint: disable-next-line(unsafe-typecast)
        batchCount = uint64(index + 1);
        // forge-lint: disable-next-line(unsafe-typecast)
        queueNext = uint64(q);
        emit BatchVerified(index, oldRoot, newRoot, q);
    }

    /// @notice Pays the caller's whole {claimable} balance to `to`.
    /// @dev Reverts {ZeroRecipient}, {NothingToClaim}; a failing transfer reverts with the
    ///      receiver's error (or OpenZeppelin's `FailedCall`) and leaves the balance claimable.
    ///      Emits {Claimed}.
    /// @param to The receiver of the ETH.
    function claim(address payable to) external nonReentrant {
        if (to == address(0)) revert ZeroRecipient();
        uint256 amount = claimable[msg.sender];
        if (amount == 0) revert NothingToClaim(msg.sender);
        claimable[msg.sender] = 0;
        emit Claimed(msg.sender, to, amount);
        Address.sendValue(to, amount);
    }

    // ------------------------------------------------------------------ views

    /// @notice The public input of a batch from `oldRoot` to `newRoot` with this public data (§4.3):
    ///         `uint256(sha256(oldRoot[32] ‖ newRoot[32] ‖ pubdata)) & (2^253 − 1)`.
    /// @param oldRoot The state root before the batch.
    /// @param newRoot The state root after it.
    /// @param pubdata The batch's public data.
    /// @return The public input `pi`.
    function publicInput(uint256 oldRoot, uint256 newRoot, bytes calldata pubdata) public pure returns (uint256) {
        return uint256(sha256(abi.encodePacked(oldRoot, newRoot, pubdata))) & PI_MASK;
    }

    /// @notice The length every batch's public data must have: `M * 52 + N * (2B + 4)` bytes with
    ///         `B = ceil(treeDepth / 8)`.
    function pubdataLength() external view returns (uint256) {
        return _pubdataLength;
    }

    /// @notice Queue message `index`.
    /// @dev Reverts {QueueIndexOutOfRange} unless `index < queueLength`.
    /// @param index Its queue index.
    /// @return kind {KIND_DEPOSIT}, {KIND_SET_KEY} or {KIND_FORCED_EXIT}.
    /// @return account The account it is for.
    /// @return amount The deposit's amount (0 for the other kinds).
    /// @return data The compressed key of a set key (0 for the other kinds).
    /// @return timestamp The L1 timestamp it was queued at.
    function queueMessage(uint256 index)
        external
        view
        returns (uint8 kind, uint32 account, uint128 amount, uint256 data, uint64 timestamp)
    {
        uint256 length = queueLength;
        if (index >= length) revert QueueIndexOutOfRange(index, length);
        QueueEntry memory e = _queue[index];
        return (e.kind, e.account, e.amount, _queueData[index], e.timestamp);
    }

    /// @notice The deadline of the first unconsumed queue message (`timestamp + forceInclusionDelay`):
    ///         from then on anyone may {submitBatch}, and every batch must consume it.
    /// @return The deadline, or `type(uint256).max` when every message is consumed.
    function nextDeadline() public view returns (uint256) {
        uint256 q = queueNext;
        return q < queueLength ? _deadline(q) : type(uint256).max;
    }

    /// @notice Whether `compressedKey` is a key {register} and {setKey} accept: `y` (the low 255
    ///         bits) is neither 0 nor `≥ R` (so bit 254 is 0), and `x² = (1 − y²)/(1 − d·y²)` has a
    ///         root with the parity of bit 255 (0 has only the even root 0).
    /// @param compressedKey The compressed key.
    /// @return True when it decompresses to a curve point.
    function isValidKey(uint256 compressedKey) public view returns (bool) {
        uint256 y = compressedKey & KEY_Y_MASK;
        if (y == 0 || y >= R) return false;
        uint256 y2 = mulmod(y, y, R);
        uint256 num = addmod(1, R - y2, R);
        uint256 den = addmod(1, R - mulmod(BABY_JUBJUB_D, y2, R), R);
        // d is not a square, so 1 - d·y² is never 0; checked anyway.
        if (den == 0) return false;
        if (num == 0) return compressedKey >> 255 == 0;
        // num/den is a square iff num·den = (num/den)·den² is: one exponentiation, no inverse.
        return _euler(mulmod(num, den, R)) == 1;
    }

    // ------------------------------------------------------------------ internals

    /// @dev Walks the `M` general chunks of `pubdata` (length checked) for batch `batchIndex`;
    ///      returns the queue index after the messages they consume. See {submitBatch}.
    function _walk(bytes calldata pubdata, uint256 batchIndex) private returns (uint256 q) {
        q = queueNext;
        uint256 length = queueLength;
        uint256 m = batchGeneral;
        uint256 p;
        assembly ("memory-safe") {
            p := pubdata.offset
        }
        for (uint256 i = 0; i < m; ++i) {
            uint256 head;
            uint256 data;
            assembly ("memory-safe") {
                head := calldataload(p)
                data := calldataload(add(p, 20))
            }
            p += GENERAL_CHUNK_BYTES;
            // casting to 'uint8' is safe because head >> 248 < 2^8
            // forge-lint: disable-next-line(unsafe-typecast)
            uint8 kind = uint8(head >> 248);
            if (kind == KIND_NOOP) continue;
            // casting to 'uint32' is safe because the value is masked to 24 bits
            // forge-lint: disable-next-line(unsafe-typecast)
            uint32 account = uint32((head >> 224) & 0xFFFFFF);
            // casting to 'uint128' keeps bytes 4..19 of the chunk, the amount
            // forge-lint: disable-next-line(unsafe-typecast)
            uint128 amount = uint128(head >> 96);
            if (kind <= KIND_FORCED_EXIT) {
                if (q >= length) revert QueueMismatch(i, q);
                QueueEntry memory e = _queue[q];
                // Deposits and forced exits are queued with data 0 and set keys with amount 0.
                bool same = e.kind == kind && e.account == account;
                if (kind == KIND_DEPOSIT) {
                    same = same && e.amount == amount && data == 0;
                } else if (kind == KIND_SET_KEY) {
                    same = same && amount == 0 && _queueData[q] == data;
                } else {
                    same = same && data == 0;
                }
                if (!same) revert QueueMismatch(i, q);
                ++q;
                if (kind == KIND_FORCED_EXIT) _credit(batchIndex, account, amount);
            } else if (kind == KIND_WITHDRAWAL) {
                uint32 count = accountCount;
                if (account >= count) revert UnknownAccount(account, count);
                _credit(batchIndex, account, amount);
            } else {
                revert UnknownKind(i, kind);
            }
        }
    }

    /// @dev Credits `amount` to `account`'s owner; emits {WithdrawalCredited}.
    function _credit(uint256 batchIndex, uint32 account, uint128 amount) private {
        address owner = accountOwner[account];
        if (amount != 0) claimable[owner] += amount;
        emit WithdrawalCredited(batchIndex, account, owner, amount);
    }

    /// @dev Appends a queue message; emits {MessageQueued}.
    function _enqueue(uint8 kind, uint32 account, uint128 amount, uint256 data) private {
        uint64 index = queueLength;
        queueLength = index + 1;
        uint64 timestamp = uint64(block.timestamp);
        _queue[index] = QueueEntry({timestamp: timestamp, kind: kind, account: account, amount: amount});
        if (data != 0) _queueData[index] = data;
        emit MessageQueued(index, kind, account, amount, data, timestamp);
    }

    /// @dev Queues a deposit of `msg.value` (not zero) into `account`, or reverts {DepositTooLarge}.
    function _enqueueDeposit(uint32 account) private {
        uint256 held = address(this).balance;
        if (held >= DEPOSIT_CAP) revert DepositTooLarge(msg.value, held);
        // casting to 'uint128' is safe because msg.value <= held < 2^128
        // forge-lint: disable-next-line(unsafe-typecast)
        _enqueue(KIND_DEPOSIT, account, uint128(msg.value), 0);
    }

    /// @dev Reverts {NotAccountOwner} unless `msg.sender` owns `account`.
    function _onlyOwner(uint32 account) private view {
        if (accountOwner[account] != msg.sender) revert NotAccountOwner(account, msg.sender);
    }

    /// @dev Reverts {InvalidKey} unless {isValidKey}.
    function _checkKey(uint256 compressedKey) private view {
        if (!isValidKey(compressedKey)) revert InvalidKey(compressedKey);
    }

    /// @dev The deadline of queue message `index` (which exists).
    function _deadline(uint256 index) private view returns (uint256) {
        return uint256(_queue[index].timestamp) + forceInclusionDelay;
    }

    /// @dev Whether the verifier answers exactly ABI-encoded `true` for `(proof, [pi])`; a revert,
    ///      an empty or any other answer is a rejection.
    function _verify(uint256[8] calldata proof, uint256 pi) private view returns (bool accepted) {
        address target = address(verifier);
        bytes4 selector = IZkVerifier.verifyProof.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            calldatacopy(add(ptr, 4), proof, 0x100)
            mstore(add(ptr, 0x104), pi)
            mstore(0, 0)
            let ok := staticcall(gas(), target, ptr, 0x124, 0, 0x20)
            accepted := and(ok, and(eq(returndatasize(), 0x20), eq(mload(0), 1)))
        }
    }

    /// @dev Euler's criterion: `v^((R − 1)/2) mod R` through the `modexp` precompile (0x05): 1 for
    ///      a non-zero square, `R − 1` for a non-square.
    function _euler(uint256 v) private view returns (uint256 result) {
        bool ok;
        uint256 exponent = EULER_EXPONENT;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, 0x20)
            mstore(add(ptr, 0x20), 0x20)
            mstore(add(ptr, 0x40), 0x20)
            mstore(add(ptr, 0x60), v)
            mstore(add(ptr, 0x80), exponent)
            mstore(add(ptr, 0xa0), R)
            ok := staticcall(gas(), 0x05, ptr, 0xc0, 0, 0x20)
            result := mload(0)
        }
        if (!ok) revert ModexpFailed();
    }
}
