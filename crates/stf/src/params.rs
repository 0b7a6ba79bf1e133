//! Chain parameters of the state transition and the protocol constants of `docs/rollup.md` §2.2.

use alloy::primitives::Address;

/// L2 gas of an ETH transfer.
pub const ETH_TRANSFER_GAS: u64 = 21_000;
/// L2 gas of an ERC-20 `transfer`.
pub const TOKEN_TRANSFER_GAS: u64 = 40_000;
/// L2 gas of a withdrawal through the L2 bridge.
pub const WITHDRAW_GAS: u64 = 60_000;

/// Selector of ERC-20 `transfer(address,uint256)`.
pub const TRANSFER_SELECTOR: [u8; 4] = [0xa9, 0x05, 0x9c, 0xbb];
/// Selector of the L2 bridge's `withdraw(address,uint256,address)`.
pub const WITHDRAW_SELECTOR: [u8; 4] = [0x69, 0x32, 0x8d, 0xec];

/// Length of `transfer(address,uint256)` calldata: selector and two words.
pub const TRANSFER_CALLDATA_LEN: usize = 4 + 2 * 32;
/// Length of `withdraw(address,uint256,address)` calldata: selector and three words.
pub const WITHDRAW_CALLDATA_LEN: usize = 4 + 3 * 32;

/// Largest accepted transaction, in bytes of its EIP-2718 encoding (128 KiB).
pub const MAX_TX_SIZE: usize = 128 * 1024;

/// What the state transition needs from the chain configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainParams {
    /// The L2 chain id (EIP-155), part of every signed transaction.
    pub chain_id: u64,
    /// The L2 base fee, wei per gas (`l2.base_fee`).
    pub base_fee: u128,
    /// Receives every transaction fee (`l2.fee_recipient`).
    pub fee_recipient: Address,
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::keccak256;

    #[test]
    fn selectors_match_signatures() {
        assert_eq!(
            keccak256("transfer(address,uint256)")[..4],
            TRANSFER_SELECTOR
        );
        assert_eq!(
            keccak256("withdraw(address,uint256,address)")[..4],
            WITHDRAW_SELECTOR
        );
    }
}
