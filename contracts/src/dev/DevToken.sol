// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title DevToken
/// @notice ERC-20 token for devnets and tests ONLY: anyone can mint any amount to anyone.
///         Never deploy it where its balances are meant to be worth something.
contract DevToken is ERC20 {
    /// @dev Decimals chosen at deployment.
    uint8 private immutable _decimals;

    /// @notice Creates the token.
    /// @param name Token name.
    /// @param symbol Token symbol.
    /// @param decimals_ Number of decimals shown to users.
    constructor(string memory name, string memory symbol, uint8 decimals_) ERC20(name, symbol) {
        _decimals = decimals_;
    }

    /// @notice Mints `amount` new tokens to `to`. Unrestricted: anyone may call it (devnet/test token).
    /// @param to Receiver of the new tokens.
    /// @param amount Amount to mint, in the token's smallest unit.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Number of decimals the token uses.
    /// @return The decimals given at deployment.
    function decimals() public view override returns (uint8) {
        return _decimals;
    }
}
