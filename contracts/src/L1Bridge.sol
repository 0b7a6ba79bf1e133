// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {L1MessageQueue} from "./L1MessageQueue.sol";
import {L1Rollup} from "./L1Rollup.sol";

/// @title L1Bridge
/// @notice Locks ETH and ERC-20 tokens on L1, enqueues deposit messages for L2, and pays out
///         withdrawals when its rollup tells it to.
/// @dev Each deposit enqueues a {KIND_DEPOSIT} message whose payload is
///      `abi.encode(address l1Token, address from, address to, uint256 amount)`, with
///      `l1Token == address(0)` for ETH. Before the first deposit of each ERC-20 the bridge enqueues a
///      {KIND_REGISTER_TOKEN} message, `abi.encode(address l1Token, string name, string symbol,
///      uint8 decimals)`, with the metadata read from the token (missing or malformed: `""`, `""`, 18).
///      The bridge is created by its rollup ({L1Rollup}), the only account that may call {release}.
///      There is no owner, no admin and it is not upgradeable.
contract L1Bridge is L1MessageQueue, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @dev Gas given to each metadata call (`name()`, `symbol()`, `decimals()`) of a new token.
    uint256 private constant METADATA_GAS = 50_000;

    /// @dev Metadata answers longer than this many bytes are treated as missing (and not copied).
    uint256 private constant METADATA_MAX_RETURN = 1_024;

    /// @dev Decimals registered when the token does not answer `decimals()` with a value below 256.
    uint8 private constant DEFAULT_DECIMALS = 18;

    /// @notice The rollup that created this bridge: the only caller of {release}.
    address public immutable rollup;

    /// @notice Whether a registration message was already enqueued for an L1 token.
    mapping(address token => bool) public tokenRegistered;

    /// @notice Whether the deposit at this queue index was refunded after the rollup's freeze.
    mapping(uint256 index => bool) public refunded;

    /// @notice Largest forced transaction, in bytes: one step of batch data (loft-stf's
    ///         `MAX_STEP_BYTES`).
    uint256 public constant MAX_FORCED_TX_SIZE = 320;

    /// @notice The deposit amount (for ERC-20: the amount actually received) is zero.
    error ZeroAmount();

    /// @notice {forceTransaction} was given no bytes.
    error EmptyTransaction();

    /// @notice {forceTransaction} was given more than {MAX_FORCED_TX_SIZE} bytes.
    /// @param length The transaction's length.
    /// @param max The largest accepted length.
    error TransactionTooLarge(uint256 length, uint256 max);

    /// @notice The L2 recipient is the zero address.
    error ZeroRecipient();

    /// @notice The token address has no code.
    /// @param token The address given as token.
    error NotAContract(address token);

    /// @notice {release} was called by another account than the rollup.
    /// @param caller The caller.
    error NotRollup(address caller);

    /// @notice Sending ETH to a withdrawal's recipient failed (it reverted or ran out of gas).
    /// @param to The recipient.
    /// @param amount The amount in wei.
    error EthTransferFailed(address to, uint256 amount);

    /// @notice A metadata call of a new token failed with so little gas left that the failure may
    ///         come from the transaction's gas limit rather than from the token: retry with more gas.
    error InsufficientGasForMetadata();

    /// @notice {refundDeposit} of a message a batch final at the freeze consumed (`index < queueEnd`).
    /// @param index The message's queue index.
    /// @param queueEnd Messages consumed by the batches final at the freeze.
    error DepositConsumed(uint256 index, uint64 queueEnd);

    /// @notice {refundDeposit} was given a message that does not hash into the queue at `index`.
    /// @param index The queue index given.
    error WrongMessage(uint256 index);

    /// @notice {refundDeposit} of a message that is not a deposit.
    /// @param kind The message's kind.
    error NotADeposit(uint8 kind);

    /// @notice The deposit at `index` was already refunded.
    /// @param index The queue index.
    error AlreadyRefunded(uint256 index);

    /// @notice The deposit at queue index `index` was paid back to its L1 depositor after the freeze.
    /// @param index The deposit's queue index.
    /// @param from The depositor (the payload's `from`), who received the refund.
    /// @param l1Token The token, `address(0)` for ETH.
    /// @param amount The amount, in the token's base unit.
    event DepositRefunded(uint256 indexed index, address indexed from, address indexed l1Token, uint256 amount);

    /// @notice Emitted when the bridge pays out a withdrawal.
    /// @param l1Token The token, `address(0)` for ETH.
    /// @param to The recipient.
    /// @param amount The amount, in the token's base unit (wei for ETH).
    event Released(address indexed l1Token, address indexed to, uint256 amount);

    /// @notice Creates the bridge; `msg.sender` (the rollup) becomes {rollup}.
    constructor() {
        rollup = msg.sender;
    }

    /// @notice Deposits `msg.value` wei to `l2Recipient` on L2.
    /// @param l2Recipient Account credited on L2; must not be zero.
    /// @return index Queue index of the deposit message.
    function depositETH(address l2Recipient) external payable returns (uint256 index) {
        return _depositETH(l2Recipient);
    }

    /// @notice Plain ETH transfers deposit `msg.value` to `msg.sender` on L2, like `depositETH(msg.sender)`.
    receive() external payable {
        _depositETH(msg.sender);
    }

    /// @notice Takes `amount` of `token` from `msg.sender` (which needs an allowance) and deposits what
    ///         the bridge actually received to `l2Recipient` on L2.
    /// @dev Fee-on-transfer tokens are credited the real balance increase of the bridge. The first
    ///      deposit of a token first enqueues its registration ({KIND_REGISTER_TOKEN}).
    ///      Reverts with {ZeroRecipient}, {ZeroAmount} (also when nothing arrives), {NotAContract} or
    ///      {InsufficientGasForMetadata}.
    /// @param token The L1 ERC-20 token.
    /// @param l2Recipient Account credited on L2; must not be zero.
    /// @param amount Amount to transfer from `msg.sender`.
    /// @return index Queue index of the deposit message.
    function depositERC20(address token, address l2Recipient, uint256 amount)
        external
        nonReentrant
        returns (uint256 index)
    {
        if (l2Recipient == address(0)) revert ZeroRecipient();
        if (amount == 0) revert ZeroAmount();
        if (token.code.length == 0) revert NotAContract(token);

        IERC20 erc20 = IERC20(token);
        uint256 balanceBefore = erc20.balanceOf(address(this));
        erc20.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = erc20.balanceOf(address(this)) - balanceBefore;
        if (received == 0) revert ZeroAmount();

        if (!tokenRegistered[token]) {
            tokenRegistered[token] = true;
            _enqueue(KIND_REGISTER_TOKEN, _registrationPayload(token));
        }
        return _enqueue(KIND_DEPOSIT, abi.encode(token, msg.sender, l2Recipient, received));
    }

    /// @notice Puts a signed L2 transaction into the L1 -> L2 queue ({KIND_FORCED_TX}). L2 must
    ///         consume it before the force-inclusion deadline: it executes it exactly as if the
    ///         sequencer had taken it, or, if L2 would refuse it (bad signature, nonce, funds), consumes
    ///         it without effect. Any L1 account may send any signed transaction: the L2 signature is
    ///         what authenticates it (`docs/liveness.md` §1).
    /// @dev Reverts {EmptyTransaction} or {TransactionTooLarge}; the transaction is not decoded here.
    /// @param transaction The signed transaction in the batch data's transaction encoding
    ///        (`docs/rollup.md` §3.2; `loft force tx` writes it), at most {MAX_FORCED_TX_SIZE} bytes.
    /// @return index Queue index of the message.
    function forceTransaction(bytes calldata transaction) external returns (uint256 index) {
        if (transaction.length == 0) revert EmptyTransaction();
        if (transaction.length > MAX_FORCED_TX_SIZE) {
            revert TransactionTooLarge(transaction.length, MAX_FORCED_TX_SIZE);
        }
        return _enqueue(KIND_FORCED_TX, transaction);
    }

    /// @notice Withdraws `amount` of the caller's own L2 balance of `l1Token` (ETH: `address(0)`) to
    ///         `l1Recipient` on L1 through the queue ({KIND_FORCED_WITHDRAWAL}): the L2 account is
    ///         `msg.sender`, so no L2 signature is needed. L2 must consume it before the
    ///         force-inclusion deadline; it then lands in that batch's withdrawal tree (no L2 fee) and
    ///         is claimed on L1 like any withdrawal once the batch is final. More than the L2 balance
    ///         withdraws nothing (the L2 receipt says so).
    /// @dev Reverts {ZeroAmount} or {ZeroRecipient}.
    /// @param l1Token The L1 token, `address(0)` for ETH.
    /// @param amount Amount in the token's base unit.
    /// @param l1Recipient Receiver of the funds on L1.
    /// @return index Queue index of the message.
    function forceWithdrawal(address l1Token, uint256 amount, address l1Recipient) external returns (uint256 index) {
        if (amount == 0) revert ZeroAmount();
        if (l1Recipient == address(0)) revert ZeroRecipient();
        return _enqueue(KIND_FORCED_WITHDRAWAL, abi.encode(l1Token, amount, l1Recipient));
    }

    /// @notice Pays out a withdrawal: sends `amount` of `l1Token` (ETH when `address(0)`) to `to`.
    /// @dev Only the {rollup}, which checks the withdrawal's proof first. ETH goes with a plain call
    ///      forwarding all gas (reverts {EthTransferFailed} if it fails); tokens with `SafeERC20`.
    ///      Reverts {NotRollup} for any other caller. `nonReentrant`.
    /// @param l1Token The L1 token, `address(0)` for ETH.
    /// @param to The recipient.
    /// @param amount The amount in the token's base unit.
    function release(address l1Token, address to, uint256 amount) external nonReentrant {
        if (msg.sender != rollup) revert NotRollup(msg.sender);
        _pay(l1Token, to, amount);
    }

    /// @dev Sends `amount` of `l1Token` (ETH when `address(0)`) to `to` and emits {Released}: ETH with
    ///      a plain call forwarding all gas ({EthTransferFailed} if it fails), tokens with `SafeERC20`.
    function _pay(address l1Token, address to, uint256 amount) private {
        if (l1Token == address(0)) {
            bool ok;
            assembly ("memory-safe") {
                // No return data is copied, so a recipient cannot make the bridge pay for a huge one.
                ok := call(gas(), to, amount, 0, 0, 0, 0)
            }
            if (!ok) revert EthTransferFailed(to, amount);
        } else {
            IERC20(l1Token).safeTransfer(to, amount);
        }
        emit Released(l1Token, to, amount);
    }

    /// @notice After the rollup's freeze, pays a deposit that no batch final at the freeze consumed
    ///         back to its L1 depositor (the payload's `from`), once per queue index, so that with the
    ///         exits the bridge ends empty (`docs/escape-hatch.md`). Anyone may call. Emits
    ///         {DepositRefunded} and {Released}.
    /// @dev `Q = rollup.refundFloor(lastFinal)` (reverts `NotFrozen` before the freeze, `WrongHeader`
    ///      when `lastFinal` is not the last final batch's header; 0 when no batch is final); then
    ///      `index >= Q` ({DepositConsumed}); the message must be the queue's:
    ///      `keccak256(abi.encode(queueHeadAt(index), index, kind, sender, l1BlockNumber, timestamp,
    ///      keccak256(payload))) == queueHeadAt(index + 1)` ({WrongMessage}; {QueueIndexOutOfRange}
    ///      beyond the queue); `kind == KIND_DEPOSIT` ({NotADeposit}); not refunded yet
    ///      ({AlreadyRefunded}). Pays `amount` of `l1Token` to `from` as {release} does.
    /// @param lastFinal The header of the rollup's last final batch (ignored when none is final).
    /// @param index The message's queue index.
    /// @param kind The message's kind.
    /// @param sender The message's sender (the depositor).
    /// @param l1BlockNumber The message's L1 block number.
    /// @param timestamp The message's L1 timestamp.
    /// @param payload `abi.encode(address l1Token, address from, address to, uint256 amount)`.
    function refundDeposit(
        L1Rollup.BatchHeader calldata lastFinal,
        uint256 index,
        uint8 kind,
        address sender,
        uint64 l1BlockNumber,
        uint64 timestamp,
        bytes calldata payload
    ) external nonReentrant {
        uint64 q = L1Rollup(rollup).refundFloor(lastFinal);
        if (index < q) revert DepositConsumed(index, q);
        bytes32 head = keccak256(
            abi.encode(queueHeadAt(index), index, kind, sender, l1BlockNumber, timestamp, keccak256(payload))
        );
        if (head != queueHeadAt(index + 1)) revert WrongMessage(index);
        if (kind != KIND_DEPOSIT) revert NotADeposit(kind);
        if (refunded[index]) revert AlreadyRefunded(index);
        refunded[index] = true;
        (address l1Token, address from,, uint256 amount) = abi.decode(payload, (address, address, address, uint256));
        emit DepositRefunded(index, from, l1Token, amount);
        _pay(l1Token, from, amount);
    }

    /// @dev Shared body of {depositETH} and {receive}.
    function _depositETH(address l2Recipient) private returns (uint256 index) {
        if (l2Recipient == address(0)) revert ZeroRecipient();
        if (msg.value == 0) revert ZeroAmount();
        return _enqueue(KIND_DEPOSIT, abi.encode(address(0), msg.sender, l2Recipient, msg.value));
    }

    /// @dev The registration payload of `token`, its metadata read without ever reverting on the
    ///      token's behalf.
    function _registrationPayload(address token) private view returns (bytes memory) {
        string memory name = _decodeString(_metadataCall(token, IERC20Metadata.name.selector));
        string memory symbol = _decodeString(_metadataCall(token, IERC20Metadata.symbol.selector));
        bytes memory ret = _metadataCall(token, IERC20Metadata.decimals.selector);
        uint8 decimals = DEFAULT_DECIMALS;
        if (ret.length >= 32) {
            uint256 value = _firstWord(ret);
            // casting to 'uint8' is safe because the value was just checked to fit
            // forge-lint: disable-next-line(unsafe-typecast)
            if (value <= type(uint8).max) decimals = uint8(value);
        }
        return abi.encode(token, name, symbol, decimals);
    }

    /// @dev Calls a metadata getter with {METADATA_GAS} gas. Returns its return data, or empty bytes
    ///      when the call failed or answered more than {METADATA_MAX_RETURN} bytes (never copied).
    function _metadataCall(address token, bytes4 selector) private view returns (bytes memory ret) {
        bool ok;
        uint256 size;
        assembly ("memory-safe") {
            mstore(0, selector)
            ok := staticcall(METADATA_GAS, token, 0, 4, 0, 0)
            size := returndatasize()
        }
        // A call starved by the caller's gas limit (it got less than METADATA_GAS and used it all)
        // leaves less than METADATA_GAS / 63: refuse, or a depositor could register empty metadata.
        if (!ok && gasleft() < METADATA_GAS / 63) revert InsufficientGasForMetadata();
        if (!ok || size > METADATA_MAX_RETURN) return ret;
        ret = new bytes(size);
        assembly ("memory-safe") {
            returndatacopy(add(ret, 32), 0, size)
        }
    }

    /// @dev Decodes a metadata string answer: an ABI-encoded `string`, or a `bytes32` (older tokens
    ///      such as MKR) with its trailing zero bytes trimmed. Anything else decodes to `""`.
    function _decodeString(bytes memory ret) private pure returns (string memory) {
        uint256 size = ret.length;
        if (size == 32) {
            bytes32 word = bytes32(_firstWord(ret));
            uint256 n = 32;
            while (n > 0 && word[n - 1] == 0) n--;
            bytes memory trimmed = new bytes(n);
            for (uint256 i = 0; i < n; i++) {
                trimmed[i] = word[i];
            }
            return string(trimmed);
        }
        if (size < 64) return "";
        uint256 offset = _firstWord(ret);
        if (offset > size - 32) return "";
        uint256 length;
        assembly ("memory-safe") {
            length := mload(add(add(ret, 32), offset))
        }
        if (length > size - 32 - offset) return "";
        bytes memory out = new bytes(length);
        assembly ("memory-safe") {
            mcopy(add(out, 32), add(add(ret, 64), offset), length)
        }
        return string(out);
    }

    /// @dev The first 32 bytes of `ret`, which must be at least that long.
    function _firstWord(bytes memory ret) private pure returns (uint256 word) {
        assembly ("memory-safe") {
            word := mload(add(ret, 32))
        }
    }
}
