// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title Adjudicator
/// @notice Two-party payment channels in ETH or in one ERC-20 token. Party A opens a channel with a
///         deposit, either party may top it up while it is open, and the two exchange signed
///         {State}s off chain. A channel ends either at once with a final state both signed
///         ({cooperativeClose}), or through a dispute: one party records a state ({forceClose}),
///         anyone may replace it with a newer state both signed ({challenge}) until the dispute window
///         ends, and then anyone may pay it out ({settle}). A closer whose state was replaced loses
///         {penaltyBps} of its payout to the other party.
/// @dev States are signed as EIP-712 typed data (domain name "loft Adjudicator", version "1", with this
///      chain's id and this contract's address), so a signature is good for one chain and one
///      adjudicator only, and, through {State-channelId}, for one channel only. Version 0 is the
///      implicit opening state (everyone gets their deposits back) and needs no signatures: signed
///      states start at version 1.
///      Tokens are taken with `safeTransferFrom` of the stated amount and nothing checks what
///      arrived: fee-on-transfer and rebasing tokens are NOT supported. A token that refuses to pay
///      a party (e.g. a blocklist) blocks the channel's payout. ETH payouts that fail are kept for
///      their receiver in {unclaimed} instead ({withdrawUnclaimed}).
///      There is no owner, no admin and it is not upgradeable.
contract Adjudicator is EIP712, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice A state of a channel, as both parties sign it.
    /// @param channelId The channel it belongs to.
    /// @param version Its version; a higher version replaces a lower one in a dispute.
    /// @param balanceA What A gets out of the deposits this state accounts for.
    /// @param balanceB What B gets out of them.
    /// @param depositedA Cumulative deposits of A this state accounts for.
    /// @param depositedB Cumulative deposits of B this state accounts for.
    /// @param isFinal Set only in states made for {cooperativeClose}.
    struct State {
        bytes32 channelId;
        uint64 version;
        uint256 balanceA;
        uint256 balanceB;
        uint256 depositedA;
        uint256 depositedB;
        bool isFinal;
    }

    /// @notice Life cycle of a channel.
    /// @dev `None`: no such channel; `Open`: takes top-ups and closes; `Closing`: a state is recorded
    ///      and the dispute window runs; `Closed`: paid out.
    enum Status {
        None,
        Open,
        Closing,
        Closed
    }

    /// @notice Everything the adjudicator keeps about a channel ({channel}).
    /// @param a Party A, who opened the channel.
    /// @param b Party B.
    /// @param token The token, `address(0)` for ETH.
    /// @param status Where the channel is in its life cycle.
    /// @param depositedA Cumulative on-chain deposits of A.
    /// @param depositedB Cumulative on-chain deposits of B.
    /// @param version Version of the state recorded by {forceClose} or {challenge}.
    /// @param closesAt End of the dispute window (unix seconds).
    /// @param closer The party that called {forceClose}.
    /// @param challenged Whether a newer state replaced the closer's.
    /// @param balanceA The recorded state's `balanceA`.
    /// @param balanceB The recorded state's `balanceB`.
    /// @param stateDepositedA The recorded state's `depositedA`.
    /// @param stateDepositedB The recorded state's `depositedB`.
    struct Channel {
        address a;
        address b;
        address token;
        Status status;
        uint256 depositedA;
        uint256 depositedB;
        uint64 version;
        uint64 closesAt;
        address closer;
        bool challenged;
        uint256 balanceA;
        uint256 balanceB;
        uint256 stateDepositedA;
        uint256 stateDepositedB;
    }

    /// @notice EIP-712 type hash of {State}.
    bytes32 public constant STATE_TYPEHASH = keccak256(
        "State(bytes32 channelId,uint64 version,uint256 balanceA,uint256 balanceB,uint256 depositedA,uint256 depositedB,bool isFinal)"
    );

    /// @dev Basis points in one whole.
    uint256 private constant BPS = 10_000;

    /// @notice Length of the dispute window that {forceClose} opens, in seconds.
    uint64 public immutable disputeWindow;

    /// @notice Share of its payout, in basis points, that a closer whose state was replaced by
    ///         {challenge} loses to the other party.
    uint16 public immutable penaltyBps;

    /// @notice Number of channels opened so far: the nonce that makes each channel id unique.
    uint256 public channelCount;

    /// @notice ETH owed to an account whose payout could not be sent ({withdrawUnclaimed}).
    mapping(address account => uint256) public unclaimed;

    /// @dev The channels by id.
    mapping(bytes32 channelId => Channel) private _channels;

    /// @notice A constructor or {open} argument is out of range.
    error InvalidParameter();

    /// @notice The caller is neither party of the channel.
    error NotParticipant();

    /// @notice No channel has this id.
    error UnknownChannel();

    /// @notice The channel is not in a status that allows this call.
    /// @param status The channel's status.
    error WrongStatus(Status status);

    /// @notice The amount, or the ETH sent with it, is wrong.
    error WrongAmount();

    /// @notice A signature is malformed or not the expected party's.
    error InvalidSignature();

    /// @notice The state does not fit the channel: balances that do not add up to its deposits,
    ///         deposits the channel does not have, or (for {cooperativeClose}) not final.
    error InvalidState();

    /// @notice The state given is not newer than the one recorded.
    /// @param recorded The recorded state's version.
    /// @param given The given state's version.
    error StaleState(uint64 recorded, uint64 given);

    /// @notice The dispute window has ended: the recorded state can no longer be replaced.
    /// @param closesAt End of the dispute window (unix seconds).
    error DisputeWindowOver(uint64 closesAt);

    /// @notice The dispute window has not ended yet.
    /// @param closesAt End of the dispute window (unix seconds).
    error DisputeWindowOpen(uint64 closesAt);

    /// @notice The caller is owed nothing.
    error NothingToWithdraw();

    /// @notice A channel was opened.
    /// @param channelId The new channel's id.
    /// @param a Party A, who opened it.
    /// @param b Party B.
    /// @param token The token, `address(0)` for ETH.
    /// @param amountA A's opening deposit.
    event ChannelOpened(
        bytes32 indexed channelId, address indexed a, address indexed b, address token, uint256 amountA
    );

    /// @notice A party topped up a channel.
    /// @param channelId The channel.
    /// @param by The party.
    /// @param amount The amount added.
    /// @param depositedA A's cumulative deposits afterwards.
    /// @param depositedB B's cumulative deposits afterwards.
    event ChannelFunded(
        bytes32 indexed channelId, address indexed by, uint256 amount, uint256 depositedA, uint256 depositedB
    );

    /// @notice A party recorded a state and the dispute window started.
    /// @param channelId The channel.
    /// @param closer The party.
    /// @param version The recorded state's version.
    /// @param closesAt End of the dispute window (unix seconds).
    event ChannelClosing(bytes32 indexed channelId, address indexed closer, uint64 version, uint64 closesAt);

    /// @notice A newer state replaced the recorded one.
    /// @param channelId The channel.
    /// @param by Who submitted it (anyone, e.g. a watchtower).
    /// @param version The newer state's version.
    event ChannelChallenged(bytes32 indexed channelId, address indexed by, uint64 version);

    /// @notice A channel was paid out and closed.
    /// @param channelId The channel.
    /// @param payoutA What A received (or was credited in {unclaimed}).
    /// @param payoutB What B received (or was credited in {unclaimed}).
    /// @param penalty The part of the closer's payout moved to the other party (0 unless challenged).
    event ChannelSettled(bytes32 indexed channelId, uint256 payoutA, uint256 payoutB, uint256 penalty);

    /// @notice An ETH payout failed and was credited to {unclaimed} instead.
    /// @param to The receiver.
    /// @param amount The amount in wei.
    event PaymentDeferred(address indexed to, uint256 amount);

    /// @notice Creates the adjudicator.
    /// @dev Reverts {InvalidParameter} when `disputeWindow_` is 0 or `penaltyBps_` exceeds 10_000.
    /// @param disputeWindow_ Length of the dispute window, in seconds.
    /// @param penaltyBps_ The challenged closer's penalty, in basis points of its payout.
    constructor(uint64 disputeWindow_, uint16 penaltyBps_) EIP712("loft Adjudicator", "1") {
        if (disputeWindow_ == 0 || penaltyBps_ > BPS) revert InvalidParameter();
        disputeWindow = disputeWindow_;
        penaltyBps = penaltyBps_;
    }

    /// @notice Opens a channel between `msg.sender` (party A) and `b`, with A's deposit of `amountA`.
    /// @dev ETH (`token == address(0)`): `msg.value` must equal `amountA`. A token: `msg.value` must be
    ///      0 and `amountA` is taken with `safeTransferFrom` (needs an allowance). `amountA` may be 0.
    ///      The id is `keccak256(abi.encode(block.chainid, address(this), msg.sender, b, token,
    ///      channelCount))`, then {channelCount} grows by one. Reverts {InvalidParameter} when `b` is 0
    ///      or `msg.sender`, or `token` is not 0 and has no code; {WrongAmount} for the wrong
    ///      `msg.value`. Emits {ChannelOpened}.
    /// @param b Party B.
    /// @param token The token, `address(0)` for ETH.
    /// @param amountA A's opening deposit.
    /// @return channelId The new channel's id.
    function open(address b, address token, uint256 amountA) external payable nonReentrant returns (bytes32 channelId) {
        if (b == address(0) || b == msg.sender) revert InvalidParameter();
        if (token != address(0) && token.code.length == 0) revert InvalidParameter();
        channelId = keccak256(abi.encode(block.chainid, address(this), msg.sender, b, token, channelCount++));
        Channel storage c = _channels[channelId];
        c.a = msg.sender;
        c.b = b;
        c.token = token;
        c.status = Status.Open;
        c.depositedA = amountA;
        emit ChannelOpened(channelId, msg.sender, b, token, amountA);
        _collect(token, amountA);
    }

    /// @notice Tops up an open channel by `amount` from the calling party.
    /// @dev Only A or B ({NotParticipant}), only while open ({WrongStatus}); `amount` must be above 0
    ///      and `msg.value` must be `amount` for ETH, 0 for a token ({WrongAmount}). Emits
    ///      {ChannelFunded}.
    /// @param channelId The channel.
    /// @param amount The amount to add.
    function fund(bytes32 channelId, uint256 amount) external payable nonReentrant {
        Channel storage c = _existing(channelId);
        bool isA = msg.sender == c.a;
        if (!isA && msg.sender != c.b) revert NotParticipant();
        if (c.status != Status.Open) revert WrongStatus(c.status);
        if (amount == 0) revert WrongAmount();
        uint256 depositedA = c.depositedA;
        uint256 depositedB = c.depositedB;
        if (isA) {
            depositedA += amount;
            c.depositedA = depositedA;
        } else {
            depositedB += amount;
            c.depositedB = depositedB;
        }
        emit ChannelFunded(channelId, msg.sender, amount, depositedA, depositedB);
        _collect(c.token, amount);
    }

    /// @notice Closes a channel at once with a final state both parties signed, and pays it out.
    /// @dev Anyone may submit. The channel must be open or closing ({WrongStatus}); a closing
    ///      channel's dispute is ended by it. `s` must be final and account for all the channel's
    ///      deposits, with balances adding up to them ({InvalidState}); both signatures must be the
    ///      parties' ({InvalidSignature}). Pays `balanceA` to A and `balanceB` to B. The recorded-state
    ///      fields of {channel} are left as they were. Emits {ChannelSettled} with no penalty.
    /// @param s The final state.
    /// @param sigA A's 65-byte signature of {hashState}(s).
    /// @param sigB B's 65-byte signature of {hashState}(s).
    function cooperativeClose(State calldata s, bytes calldata sigA, bytes calldata sigB) external nonReentrant {
        Channel storage c = _existing(s.channelId);
        Status status = c.status;
        if (status != Status.Open && status != Status.Closing) revert WrongStatus(status);
        if (!s.isFinal || s.depositedA != c.depositedA || s.depositedB != c.depositedB) revert InvalidState();
        _checkBalances(s);
        _checkSignatures(s, c.a, c.b, sigA, sigB);
        c.status = Status.Closed;
        emit ChannelSettled(s.channelId, s.balanceA, s.balanceB, 0);
        address token = c.token;
        _pay(token, c.a, s.balanceA);
        _pay(token, c.b, s.balanceB);
    }

    /// @notice Records a state of an open channel and starts the dispute window: the channel pays
    ///         out by it at {settle} unless a newer state replaces it first ({challenge}).
    /// @dev Only A or B ({NotParticipant}); the channel must be open ({WrongStatus}). `s` may be final
    ///      or not. Its deposits must not exceed the channel's and its balances must add up to its
    ///      deposits ({InvalidState}). Version 0 is the opening state: no signatures are checked (pass
    ///      empty bytes) but each balance must equal its party's deposit ({InvalidState}); any other
    ///      version needs both signatures ({InvalidSignature}). Emits {ChannelClosing}.
    /// @param s The state to record.
    /// @param sigA A's signature of {hashState}(s) (ignored for version 0).
    /// @param sigB B's signature of {hashState}(s) (ignored for version 0).
    function forceClose(State calldata s, bytes calldata sigA, bytes calldata sigB) external {
        Channel storage c = _existing(s.channelId);
        if (msg.sender != c.a && msg.sender != c.b) revert NotParticipant();
        if (c.status != Status.Open) revert WrongStatus(c.status);
        _checkRecordable(c, s);
        if (s.version == 0) {
            if (s.balanceA != s.depositedA || s.balanceB != s.depositedB) revert InvalidState();
        } else {
            _checkSignatures(s, c.a, c.b, sigA, sigB);
        }
        uint64 closesAt = uint64(block.timestamp) + disputeWindow;
        c.status = Status.Closing;
        c.closesAt = closesAt;
        c.closer = msg.sender;
        _record(c, s);
        emit ChannelClosing(s.channelId, msg.sender, s.version, closesAt);
    }

    /// @notice Replaces a closing channel's recorded state with a newer one both parties signed. Anyone
    ///         may call (e.g. a watchtower). The closer then pays the {penaltyBps} penalty at {settle}.
    /// @dev The channel must be closing ({WrongStatus}) and its window still open,
    ///      `block.timestamp < closesAt` ({DisputeWindowOver}); `s.version` must exceed the recorded
    ///      version ({StaleState}); deposit and balance checks as in {forceClose} ({InvalidState}); both
    ///      signatures are checked ({InvalidSignature}). The window is not extended. Emits
    ///      {ChannelChallenged}.
    /// @param s The newer state.
    /// @param sigA A's signature of {hashState}(s).
    /// @param sigB B's signature of {hashState}(s).
    function challenge(State calldata s, bytes calldata sigA, bytes calldata sigB) external {
        Channel storage c = _existing(s.channelId);
        if (c.status != Status.Closing) revert WrongStatus(c.status);
        uint64 closesAt = c.closesAt;
        // The window is hours or days long: a block producer's few seconds of timestamp skew do not matter.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= closesAt) revert DisputeWindowOver(closesAt);
        uint64 recorded = c.version;
        if (s.version <= recorded) revert StaleState(recorded, s.version);
        _checkRecordable(c, s);
        _checkSignatures(s, c.a, c.b, sigA, sigB);
        c.challenged = true;
        _record(c, s);
        emit ChannelChallenged(s.channelId, msg.sender, s.version);
    }

    /// @notice Pays out a closing channel by its recorded state once the dispute window is over.
    ///         Anyone may call.
    /// @dev The channel must be closing ({WrongStatus}) and `block.timestamp >= closesAt`
    ///      ({DisputeWindowOpen}). Each party gets its recorded balance plus whatever it deposited
    ///      after the recorded state (`deposited - stateDeposited`). If the state was challenged,
    ///      `penalty = closer's payout * penaltyBps / 10_000` moves from the closer's payout to the
    ///      other party's. Emits {ChannelSettled}.
    /// @param channelId The channel.
    function settle(bytes32 channelId) external nonReentrant {
        Channel storage c = _existing(channelId);
        if (c.status != Status.Closing) revert WrongStatus(c.status);
        uint64 closesAt = c.closesAt;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < closesAt) revert DisputeWindowOpen(closesAt);
        uint256 payoutA = c.balanceA + (c.depositedA - c.stateDepositedA);
        uint256 payoutB = c.balanceB + (c.depositedB - c.stateDepositedB);
        uint256 penalty;
        if (c.challenged) {
            if (c.closer == c.a) {
                penalty = payoutA * penaltyBps / BPS;
                payoutA -= penalty;
                payoutB += penalty;
            } else {
                penalty = payoutB * penaltyBps / BPS;
                payoutB -= penalty;
                payoutA += penalty;
            }
        }
        c.status = Status.Closed;
        emit ChannelSettled(channelId, payoutA, payoutB, penalty);
        address token = c.token;
        _pay(token, c.a, payoutA);
        _pay(token, c.b, payoutB);
    }

    /// @notice Sends the caller the ETH of its payouts that could not be sent ({unclaimed}).
    /// @dev Reverts {NothingToWithdraw} when nothing is owed; if the transfer fails, bubbles the
    ///      caller's revert data (OpenZeppelin `Address.sendValue`, `FailedCall` when there is none).
    function withdrawUnclaimed() external nonReentrant {
        uint256 amount = unclaimed[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        unclaimed[msg.sender] = 0;
        Address.sendValue(payable(msg.sender), amount);
    }

    /// @notice The EIP-712 digest of a state: what both parties sign.
    /// @param s The state.
    /// @return The digest, `keccak256("\x19\x01" || domainSeparator || hashStruct(s))`.
    function hashState(State calldata s) external view returns (bytes32) {
        return _hashState(s);
    }

    /// @notice Everything kept about a channel (all zero for an unknown id).
    /// @param channelId The channel.
    /// @return The channel.
    function channel(bytes32 channelId) external view returns (Channel memory) {
        return _channels[channelId];
    }

    /// @dev The channel `channelId`; reverts {UnknownChannel} when there is none.
    function _existing(bytes32 channelId) private view returns (Channel storage c) {
        c = _channels[channelId];
        if (c.status == Status.None) revert UnknownChannel();
    }

    /// @dev Checks that `s` could be recorded for `c` by {forceClose} or {challenge}: deposits within
    ///      the channel's, balances adding up to them.
    function _checkRecordable(Channel storage c, State calldata s) private view {
        if (s.depositedA > c.depositedA || s.depositedB > c.depositedB) revert InvalidState();
        _checkBalances(s);
    }

    /// @dev Reverts {InvalidState} unless `balanceA + balanceB == depositedA + depositedB` (written so
    ///      that no sum of untrusted values can overflow: the deposits were checked against the
    ///      channel's first).
    function _checkBalances(State calldata s) private pure {
        uint256 total = s.depositedA + s.depositedB;
        if (s.balanceA > total || s.balanceB != total - s.balanceA) revert InvalidState();
    }

    /// @dev Reverts {InvalidSignature} unless `sigA` is `a`'s and `sigB` is `b`'s signature of `s`.
    function _checkSignatures(State calldata s, address a, address b, bytes calldata sigA, bytes calldata sigB)
        private
        view
    {
        bytes32 digest = _hashState(s);
        _checkSignature(digest, sigA, a);
        _checkSignature(digest, sigB, b);
    }

    /// @dev Reverts {InvalidSignature} unless `sig` is a well-formed 65-byte signature of `digest` by
    ///      `signer` (low `s`, `v` of 27 or 28).
    function _checkSignature(bytes32 digest, bytes calldata sig, address signer) private pure {
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, sig);
        if (err != ECDSA.RecoverError.NoError || recovered != signer) revert InvalidSignature();
    }

    /// @dev Stores `s` as `c`'s recorded state.
    function _record(Channel storage c, State calldata s) private {
        c.version = s.version;
        c.balanceA = s.balanceA;
        c.balanceB = s.balanceB;
        c.stateDepositedA = s.depositedA;
        c.stateDepositedB = s.depositedB;
    }

    /// @dev The EIP-712 digest of `s`.
    function _hashState(State calldata s) private view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    STATE_TYPEHASH,
                    s.channelId,
                    s.version,
                    s.balanceA,
                    s.balanceB,
                    s.depositedA,
                    s.depositedB,
                    s.isFinal
                )
            )
        );
    }

    /// @dev Takes a deposit of `amount` from `msg.sender`: checks `msg.value` for ETH, takes tokens
    ///      with `safeTransferFrom` (no `msg.value` allowed). Reverts {WrongAmount}.
    function _collect(address token, uint256 amount) private {
        if (token == address(0)) {
            if (msg.value != amount) revert WrongAmount();
        } else {
            if (msg.value != 0) revert WrongAmount();
            if (amount != 0) IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
        }
    }

    /// @dev Pays `amount` of `token` to `to`; nothing for 0. Tokens go with `safeTransfer`. ETH goes
    ///      with a plain call forwarding all gas (no return data copied); if it fails, the amount is
    ///      credited to {unclaimed} and {PaymentDeferred} is emitted, so one party cannot block the
    ///      other's payout. A receiver that burns all the gas it gets still leaves the caller 1/64
    ///      of it (EIP-150): a settling transaction then needs a generous gas limit, not more.
    function _pay(address token, address to, uint256 amount) private {
        if (amount == 0) return;
        if (token != address(0)) {
            IERC20(token).safeTransfer(to, amount);
            return;
        }
        bool ok;
        assembly ("memory-safe") {
            ok := call(gas(), to, amount, 0, 0, 0, 0)
        }
        if (!ok) {
            unclaimed[to] += amount;
            emit PaymentDeferred(to, amount);
        }
    }
}
