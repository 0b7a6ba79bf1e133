//! Leaf keys and value encodings of the L2 state (`docs/rollup.md` §1.2).

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::{SolType, SolValue, sol_data};

/// The Solidity type of a token leaf value.
type TokenInfoSol = (
    sol_data::Address,
    sol_data::Uint<256>,
    sol_data::Uint<8>,
    sol_data::String,
    sol_data::String,
);

/// An account: nonce and ETH balance. Value bytes: `abi.encode(uint256 nonce, uint256 balance)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Account {
    /// Number of transactions the account has sent.
    pub nonce: u64,
    /// ETH balance in wei.
    pub balance: U256,
}

impl Account {
    /// The leaf value bytes.
    pub fn encode(&self) -> Vec<u8> {
        (U256::from(self.nonce), self.balance).abi_encode()
    }

    /// Decodes leaf value bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let (nonce, balance) = <(U256, U256)>::abi_decode(bytes).map_err(|e| e.to_string())?;
        let nonce = u64::try_from(nonce).map_err(|_| "nonce above 2^64".to_string())?;
        Ok(Self { nonce, balance })
    }
}

/// A token known on L2. Value bytes:
/// `abi.encode(address l1Token, uint256 totalSupply, uint8 decimals, string name, string symbol)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenInfo {
    /// The L1 ERC-20 it represents.
    pub l1_token: Address,
    /// Sum of all L2 balances of this token.
    pub total_supply: U256,
    /// ERC-20 decimals, as read from L1.
    pub decimals: u8,
    /// ERC-20 name, as read from L1.
    pub name: String,
    /// ERC-20 symbol, as read from L1.
    pub symbol: String,
}

impl TokenInfo {
    /// The leaf value bytes.
    pub fn encode(&self) -> Vec<u8> {
        TokenInfoSol::abi_encode_params(&(
            self.l1_token,
            self.total_supply,
            self.decimals,
            self.name.clone(),
            self.symbol.clone(),
        ))
    }

    /// Decodes leaf value bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let (l1_token, total_supply, decimals, name, symbol) =
            TokenInfoSol::abi_decode_params(bytes).map_err(|e| e.to_string())?;
        Ok(Self {
            l1_token,
            total_supply,
            decimals,
            name,
            symbol,
        })
    }
}

/// Leaf value bytes of a token balance: `abi.encode(uint256 balance)`.
pub fn encode_balance(balance: U256) -> Vec<u8> {
    balance.abi_encode()
}

/// Decodes a token balance leaf.
pub fn decode_balance(bytes: &[u8]) -> Result<U256, String> {
    U256::abi_decode(bytes).map_err(|e| e.to_string())
}

/// Key of `account`'s account leaf: `keccak256(abi.encodePacked(uint8(1), account))`.
pub fn account_key(account: Address) -> B256 {
    let mut buf = [0u8; 21];
    buf[0] = 1;
    buf[1..].copy_from_slice(account.as_slice());
    keccak256(buf)
}

/// Key of `account`'s balance of L2 token `token`:
/// `keccak256(abi.encodePacked(uint8(2), account, token))`.
pub fn token_balance_key(account: Address, token: Address) -> B256 {
    let mut buf = [0u8; 41];
    buf[0] = 2;
    buf[1..21].copy_from_slice(account.as_slice());
    buf[21..].copy_from_slice(token.as_slice());
    keccak256(buf)
}

/// Key of the token leaf of L2 token `token`: `keccak256(abi.encodePacked(uint8(3), token))`.
pub fn token_key(token: Address) -> B256 {
    let mut buf = [0u8; 21];
    buf[0] = 3;
    buf[1..].copy_from_slice(token.as_slice());
    keccak256(buf)
}

/// Key of account index `index`'s leaf: `keccak256(abi.encodePacked(uint8(4), uint64(index)))`.
/// Its value is `abi.encode(address)` ([`encode_index_address`]).
pub fn index_key(index: u64) -> B256 {
    let mut buf = [0u8; 9];
    buf[0] = 4;
    buf[1..].copy_from_slice(&index.to_be_bytes());
    keccak256(buf)
}

/// Key of the index count leaf: `keccak256(abi.encodePacked(uint8(5)))`. Its value is
/// `abi.encode(uint256 count)` ([`encode_balance`]'s encoding).
pub fn index_count_key() -> B256 {
    keccak256([5u8])
}

/// Leaf value bytes of an account index: `abi.encode(address)`.
pub fn encode_index_address(address: Address) -> Vec<u8> {
    address.abi_encode()
}

/// Decodes an account index leaf: exactly 32 bytes with the 12 high bytes zero.
pub fn decode_index_address(bytes: &[u8]) -> Result<Address, String> {
    if bytes.len() != 32 || bytes[..12].iter().any(|b| *b != 0) {
        return Err("index leaf is not one ABI address word".into());
    }
    Ok(Address::from_slice(&bytes[12..]))
}

/// Decodes the index count leaf: exactly one 32-byte word below 2^64.
pub fn decode_index_count(bytes: &[u8]) -> Result<u64, String> {
    if bytes.len() != 32 {
        return Err("index count is not one word".into());
    }
    u64::try_from(U256::from_be_slice(bytes)).map_err(|_| "index count above 2^64".into())
}

/// The salt of L2 token addresses: `keccak256("loft.l2-token")`.
pub fn l2_token_salt() -> B256 {
    keccak256(b"loft.l2-token")
}

/// The L2 address of L1 token `l1_token`: the last 20 bytes of
/// `keccak256(abi.encodePacked(L2_TOKEN_SALT, l1_token))`.
pub fn l2_token_address(l1_token: Address) -> Address {
    let mut buf = [0u8; 52];
    buf[..32].copy_from_slice(l2_token_salt().as_slice());
    buf[32..].copy_from_slice(l1_token.as_slice());
    Address::from_slice(&keccak256(buf)[12..])
}

/// The L2 bridge address (withdrawals): `"Loft"` followed by 1.
pub const L2_BRIDGE: Address =
    alloy::primitives::address!("4c6f667400000000000000000000000000000001");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip() {
        let a = Account {
            nonce: 7,
            balance: U256::from(10u64).pow(U256::from(20u64)),
        };
        assert_eq!(Account::decode(&a.encode()).unwrap(), a);
        let t = TokenInfo {
            l1_token: Address::repeat_byte(9),
            total_supply: U256::from(5u64),
            decimals: 6,
            name: "USD Coin".into(),
            symbol: "USDC".into(),
        };
        assert_eq!(TokenInfo::decode(&t.encode()).unwrap(), t);
        assert_eq!(
            decode_balance(&encode_balance(U256::MAX)).unwrap(),
            U256::MAX
        );
    }
}
