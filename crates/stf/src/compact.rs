//! Compact transactions (`docs/rollup.md` §3.2): the EIP-1559 ETH and ERC-20 transfers that make
//! up most traffic, posted with their accounts named by index (§1.2) and their amounts and fees in
//! decimal floating point, about 77 bytes against 100 to 170 in the full encoding. A compact
//! transaction stands for exactly one signed EIP-1559 transaction; [`CompactTx::resolve`] rebuilds
//! it from the state before its step.
//!
//! ```text
//! ctx    = tag varint(nonce) dec(maxPriorityFeePerGas) dec(maxFeePerGas) [varint(gasLimit)] body r[32] s[32]
//! tag    = 0x20 | op << 2 | g << 1 | yParity
//! body   = varint(toIndex) dec(value)                              (op 0: ETH transfer)
//!        | varint(tokenIndex) varint(recipientIndex) dec(amount)   (op 1: ERC-20 transfer)
//! dec(x) = varint(m × 78 + e), x = m × 10^e, m not a multiple of 10 unless x = 0
//! ```
//!
//! No library encodes this: it is loft's own wire format, read by `StepCodec.sol` on L1.

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::primitives::{Address, Bytes, Signature, TxKind, U256};
use alloy::sol_types::SolCall;
use loft_state::StateRead;

use crate::params::{ETH_TRANSFER_GAS, TOKEN_TRANSFER_GAS};
use crate::tx::{Call, TxError};

/// First tag byte of a compact transaction; tags `0x20 ..= 0x27`.
pub const COMPACT_TAG: u8 = 0x20;
/// Last tag byte of a compact transaction.
pub const COMPACT_TAG_LAST: u8 = 0x27;
/// Exponents of `dec` run over `0 ..= 77` (10^77 < 2^256 < 10^78).
const DEC_BASE: u64 = 78;

mod sol {
    #![allow(missing_docs, unreachable_pub)]
    alloy::sol! {
        function transfer(address to, uint256 amount);
    }
}

/// What a compact transaction does, with its accounts as indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompactCall {
    /// op 0: `value` wei to the account of index `to`.
    Eth {
        /// Recipient's index.
        to: u64,
        /// Wei.
        value: U256,
    },
    /// op 1: `transfer(recipient, amount)` on the token of index `token`.
    Erc20 {
        /// The token's index.
        token: u64,
        /// Recipient's index.
        to: u64,
        /// Token amount.
        amount: U256,
    },
}

impl CompactCall {
    fn op(&self) -> u8 {
        match self {
            Self::Eth { .. } => 0,
            Self::Erc20 { .. } => 1,
        }
    }

    fn gas(&self) -> u64 {
        match self {
            Self::Eth { .. } => ETH_TRANSFER_GAS,
            Self::Erc20 { .. } => TOKEN_TRANSFER_GAS,
        }
    }
}

/// A compact transaction as batch data carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactTx {
    /// The sender's nonce.
    pub nonce: u64,
    /// `maxPriorityFeePerGas`.
    pub max_priority_fee_per_gas: u128,
    /// `maxFeePerGas`.
    pub max_fee_per_gas: u128,
    /// `gasLimit` (posted only when it is not the operation's gas).
    pub gas_limit: u64,
    /// The call.
    pub call: CompactCall,
    /// The signature over the EIP-1559 transaction it stands for.
    pub signature: Signature,
}

impl CompactTx {
    /// The compact form of `tx`, if it has one: an EIP-1559 transaction for `chain_id` with an
    /// empty access list that is an ETH transfer (empty data) or a well-formed ERC-20
    /// `transfer`, whose addresses all have an index (`index_of`), and whose amounts and fees
    /// `dec` can carry. `None` means the full encoding.
    pub fn of(
        tx: &TxEnvelope,
        chain_id: u64,
        index_of: impl Fn(Address) -> Option<u64>,
    ) -> Option<Self> {
        let TxEnvelope::Eip1559(signed) = tx else {
            return None;
        };
        let t = signed.tx();
        if t.chain_id != chain_id || !t.access_list.0.is_empty() {
            return None;
        }
        let call = match Call::parse(t.to, t.value, &t.input) {
            Call::Value { to, value } => CompactCall::Eth {
                to: index_of(to)?,
                value,
            },
            Call::Transfer { token, to, amount } => CompactTx::erc20(&index_of, token, to, amount)?,
            _ => return None,
        };
        let compact = Self {
            nonce: t.nonce,
            max_priority_fee_per_gas: t.max_priority_fee_per_gas,
            max_fee_per_gas: t.max_fee_per_gas,
            gas_limit: t.gas_limit,
            call,
            signature: *signed.signature(),
        };
        let amount = match call {
            CompactCall::Eth { value, .. } => value,
            CompactCall::Erc20 { amount, .. } => amount,
        };
        let fits = dec_word(U256::from(compact.max_priority_fee_per_gas)).is_some()
            && dec_word(U256::from(compact.max_fee_per_gas)).is_some()
            && dec_word(amount).is_some();
        fits.then_some(compact)
    }

    fn erc20(
        index_of: &impl Fn(Address) -> Option<u64>,
        token: Address,
        to: Address,
        amount: U256,
    ) -> Option<CompactCall> {
        Some(CompactCall::Erc20 {
            token: index_of(token)?,
            to: index_of(to)?,
            amount,
        })
    }

    /// The EIP-1559 transaction this stands for, its addresses read from `state` (the state
    /// before its step): [`TxError::UnknownAccountIndex`] for an index without a leaf. Reads the
    /// index leaves in order (op 1: the token's, then the recipient's only if the token's exists),
    /// as the L1 verifier does.
    pub fn resolve(&self, state: &impl StateRead, chain_id: u64) -> Result<TxEnvelope, TxError> {
        let address = |index: u64| -> Result<Address, TxError> {
            state
                .account_at(index)?
                .ok_or(TxError::UnknownAccountIndex(index))
        };
        let (to, value, input) = match self.call {
            CompactCall::Eth { to, value } => (address(to)?, value, Bytes::new()),
            CompactCall::Erc20 { token, to, amount } => {
                let token = address(token)?;
                let to = address(to)?;
                let data = sol::transferCall { to, amount }.abi_encode();
                (token, U256::ZERO, Bytes::from(data))
            }
        };
        let tx = TxEip1559 {
            chain_id,
            nonce: self.nonce,
            gas_limit: self.gas_limit,
            max_fee_per_gas: self.max_fee_per_gas,
            max_priority_fee_per_gas: self.max_priority_fee_per_gas,
            to: TxKind::Call(to),
            value,
            access_list: Default::default(),
            input,
        };
        Ok(TxEnvelope::Eip1559(tx.into_signed(self.signature)))
    }

    /// Appends the encoding. Only forms [`CompactTx::of`] returns (or [`decode`] reads) are
    /// encodable: `dec` must carry the fees and the amount.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let explicit_gas = self.gas_limit != self.call.gas();
        out.push(
            COMPACT_TAG
                | self.call.op() << 2
                | u8::from(explicit_gas) << 1
                | u8::from(self.signature.v()),
        );
        put_varint(out, U256::from(self.nonce));
        put_dec(out, U256::from(self.max_priority_fee_per_gas));
        put_dec(out, U256::from(self.max_fee_per_gas));
        if explicit_gas {
            put_varint(out, U256::from(self.gas_limit));
        }
        match self.call {
            CompactCall::Eth { to, value } => {
                put_varint(out, U256::from(to));
                put_dec(out, value);
            }
            CompactCall::Erc20 { token, to, amount } => {
                put_varint(out, U256::from(token));
                put_varint(out, U256::from(to));
                put_dec(out, amount);
            }
        }
        out.extend_from_slice(&self.signature.r().to_be_bytes::<32>());
        out.extend_from_slice(&self.signature.s().to_be_bytes::<32>());
    }
}

/// Why a compact transaction does not decode; the offset is where the bad field starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompactError {
    /// The bytes end inside a field.
    Truncated,
    /// A varint above its width or not in its shortest form.
    BadVarint(usize),
    /// A `dec` not in canonical form or above its field's width.
    BadDec(usize),
    /// `g = 1` posting the operation's own gas.
    PostedOwnGas(usize),
    /// A tag outside `0x20 ..= 0x27`.
    BadTag(u8),
}

/// Decodes the compact transaction at the start of `buf` and returns it with its length.
pub fn decode(buf: &[u8]) -> Result<(CompactTx, usize), CompactError> {
    let mut r = Cursor { buf, pos: 0 };
    let tag = r.byte()?;
    if !(COMPACT_TAG..=COMPACT_TAG_LAST).contains(&tag) {
        return Err(CompactError::BadTag(tag));
    }
    let op = (tag >> 2) & 1;
    let explicit_gas = tag & 2 != 0;
    let parity = tag & 1 == 1;
    let nonce = r.u64()?;
    let max_priority_fee_per_gas = r.dec_u128()?;
    let max_fee_per_gas = r.dec_u128()?;
    let own_gas = if op == 0 {
        ETH_TRANSFER_GAS
    } else {
        TOKEN_TRANSFER_GAS
    };
    let gas_limit = if explicit_gas {
        let at = r.pos;
        let gas = r.u64()?;
        if gas == own_gas {
            return Err(CompactError::PostedOwnGas(at));
        }
        gas
    } else {
        own_gas
    };
    let call = if op == 0 {
        let to = r.u64()?;
        CompactCall::Eth {
            to,
            value: r.dec()?,
        }
    } else {
        let token = r.u64()?;
        let to = r.u64()?;
        CompactCall::Erc20 {
            token,
            to,
            amount: r.dec()?,
        }
    };
    let sig_r = U256::from_be_slice(r.take(32)?);
    let sig_s = U256::from_be_slice(r.take(32)?);
    let tx = CompactTx {
        nonce,
        max_priority_fee_per_gas,
        max_fee_per_gas,
        gas_limit,
        call,
        signature: Signature::new(sig_r, sig_s, parity),
    };
    Ok((tx, r.pos))
}

/// `dec(x)`'s varint value `m × 78 + e`, or `None` when it does not fit 256 bits.
pub fn dec_word(x: U256) -> Option<U256> {
    if x.is_zero() {
        return Some(U256::ZERO);
    }
    let ten = U256::from(10u8);
    let (mut m, mut e) = (x, 0u64);
    while e < DEC_BASE - 1 && (m % ten).is_zero() {
        m /= ten;
        e += 1;
    }
    m.checked_mul(U256::from(DEC_BASE))?
        .checked_add(U256::from(e))
}

fn put_dec(out: &mut Vec<u8>, x: U256) {
    let word = dec_word(x).expect("only dec-representable values are encoded");
    put_varint(out, word);
}

fn put_varint(out: &mut Vec<u8>, mut v: U256) {
    let low = U256::from(0x7fu8);
    while v > low {
        out.push(v.byte(0) | 0x80);
        v >>= 7;
    }
    out.push(v.byte(0));
}

/// Why [`read_varint`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarintError {
    /// The bytes end inside it, at this offset.
    Truncated(usize),
    /// Above its width, or not in its shortest form.
    Bad,
}

/// The unsigned LEB128 at `buf[*pos..]` of at most `bits` (≤ 256) bits, in its shortest form;
/// advances `pos` past it. The one varint reader of batch data (`docs/rollup.md` §3.2).
pub(crate) fn read_varint(buf: &[u8], pos: &mut usize, bits: usize) -> Result<U256, VarintError> {
    let mut value = U256::ZERO;
    let mut shift = 0usize;
    loop {
        let b = *buf.get(*pos).ok_or(VarintError::Truncated(*pos))?;
        *pos += 1;
        let low = b & 0x7f;
        if shift >= bits || (bits - shift < 7 && (low >> (bits - shift)) != 0) {
            return Err(VarintError::Bad);
        }
        value |= U256::from(low) << shift;
        if b & 0x80 == 0 {
            if b == 0 && shift > 0 {
                return Err(VarintError::Bad);
            }
            return Ok(value);
        }
        shift += 7;
    }
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> Result<u8, CompactError> {
        let b = *self.buf.get(self.pos).ok_or(CompactError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CompactError> {
        let s = self
            .buf
            .get(self.pos..self.pos + n)
            .ok_or(CompactError::Truncated)?;
        self.pos += n;
        Ok(s)
    }

    fn varint(&mut self, bits: usize) -> Result<U256, CompactError> {
        let start = self.pos;
        read_varint(self.buf, &mut self.pos, bits).map_err(|e| match e {
            VarintError::Truncated(_) => CompactError::Truncated,
            VarintError::Bad => CompactError::BadVarint(start),
        })
    }

    fn u64(&mut self) -> Result<u64, CompactError> {
        let start = self.pos;
        u64::try_from(self.varint(64)?).map_err(|_| CompactError::BadVarint(start))
    }

    /// A `dec` of at most 256 bits.
    fn dec(&mut self) -> Result<U256, CompactError> {
        let start = self.pos;
        let word = self.varint(256)?;
        let base = U256::from(DEC_BASE);
        let (m, e) = (word / base, (word % base).to::<u64>());
        let canonical = if m.is_zero() {
            e == 0
        } else {
            !(m % U256::from(10u8)).is_zero()
        };
        if !canonical {
            return Err(CompactError::BadDec(start));
        }
        m.checked_mul(U256::from(10u8).pow(U256::from(e)))
            .ok_or(CompactError::BadDec(start))
    }

    /// A `dec` of at most 128 bits (a fee).
    fn dec_u128(&mut self) -> Result<u128, CompactError> {
        let start = self.pos;
        u128::try_from(self.dec()?).map_err(|_| CompactError::BadDec(start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec_bytes(x: U256) -> Vec<u8> {
        let mut out = Vec::new();
        put_dec(&mut out, x);
        out
    }

    fn read_dec(bytes: &[u8]) -> Result<U256, CompactError> {
        Cursor { buf: bytes, pos: 0 }.dec()
    }

    #[test]
    fn dec_examples() {
        assert_eq!(dec_bytes(U256::ZERO), [0x00]);
        // 1 ETH: m = 1, e = 18: 96.
        assert_eq!(dec_bytes(U256::from(10u64).pow(U256::from(18))), [0x60]);
        // 2 gwei: 2 × 78 + 9 = 165.
        assert_eq!(dec_bytes(U256::from(2_000_000_000u64)), [0xa5, 0x01]);
        assert_eq!(dec_bytes(U256::from(123u64)), [0xfa, 0x4a]);
        for x in [0u64, 1, 10, 123, 2_000_000_000, 1_000_000_007, u64::MAX] {
            let x = U256::from(x);
            assert_eq!(read_dec(&dec_bytes(x)), Ok(x));
        }
        assert_eq!(
            read_dec(&dec_bytes(U256::MAX / U256::from(78))),
            Ok(U256::MAX / U256::from(78))
        );
        assert_eq!(dec_word(U256::MAX), None);
    }

    #[test]
    fn non_canonical_decs_are_refused() {
        // m = 10, e = 0 (should be m = 1, e = 1); m = 0 with e = 3.
        let mut ten = Vec::new();
        put_varint(&mut ten, U256::from(10 * 78));
        assert_eq!(read_dec(&ten), Err(CompactError::BadDec(0)));
        assert_eq!(read_dec(&[3]), Err(CompactError::BadDec(0)));
        // m × 10^e above 2^256: m = 3, e = 77.
        let mut big = Vec::new();
        put_varint(&mut big, U256::from(3 * 78 + 77));
        assert_eq!(read_dec(&big), Err(CompactError::BadDec(0)));
        // A varint with a trailing zero group.
        assert_eq!(read_dec(&[0x80, 0x00]), Err(CompactError::BadVarint(0)));
    }
}
