// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {L1MessageQueue} from "./L1MessageQueue.sol";

/// @title L1Bridge
/// @notice Locks ETH and ERC-20 tokens on L1 and enqueues deposit messages for L2.
/// @dev Each deposit enqueues a {KIND_DEPOSIT} message whose payload is
///      `abi.encode(address l1Token, address from, address to, uint256 amount)`, with
///      `l1Token == address(0)` for ETH. The contract has no owner, no admin and is not upgradeable.
contract L1Bridge is L1MessageQueue, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice The deposit amount (for ERC-20: the amount actually received) is zero.
    error ZeroAmount();

    /// @notice The L2 recipient is the zero address.
    error ZeroRecipient();

    /// @notice The token address has no code.
    /// @param token The address given as token.
    error NotAContract(address token);

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
    /// @dev Fee-on-transfer tokens are credited the real balance increase of the bridge.
    ///      Reverts with {ZeroRecipient}, {ZeroAmount} (also when nothing arrives) or {NotAContract}.
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

        return _enqueue(KIND_DEPOSIT, abi.encode(token, msg.sender, l2Recipient, received));
    }

    /// @dev Shared body of {depositETH} and {receive}.
    function _depositETH(address l2Recipient) private returns (uint256 index) {
        if (l2Recipient == address(0)) revert ZeroRecipient();
        if (msg.value == 0) revert ZeroAmount();
        return _enqueue(KIND_DEPOSIT, abi.encode(address(0), msg.sender, l2Recipient, msg.value));
    }
}
