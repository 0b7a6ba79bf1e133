//! The wire encoding of signed L2 operations (`docs/zk-rollup.md` §3.4): the bytes a wallet sends
//! to the sequencer's JSON-RPC (as hex). Untrusted input: [`L2Op::decode`] never panics and
//! accepts only canonical encodings, so what decodes re-encodes to the same bytes.
//!
//! Wallets sign with [`crate::stf::transfer_message`] / [`crate::stf::withdraw_message`] and
//! [`crate::SecretKey::sign`]; the signature is checked by the state transition, not here
//! (decoding only checks that it is well formed).

use crate::{GeneralOp, Signature, TransferOp, keys::KeyError, pack::AMOUNT_MANTISSA_BITS};

/// Kind byte of a transfer (the domain tag of `M_transfer`).
pub const KIND_TRANSFER: u8 = 1;
/// Kind byte of a withdrawal (the domain tag of `M_withdraw`, and its general chunk's kind).
pub const KIND_WITHDRAW: u8 = 4;
/// Bytes of an encoded transfer: `kind ‖ from[4] ‖ to[4] ‖ amount[4] ‖ fee[1] ‖ nonce[4] ‖ sig[96]`.
pub const TRANSFER_LEN: usize = 1 + 4 + 4 + 4 + 1 + 4 + SIGNATURE_LEN;
/// Bytes of an encoded withdrawal: `kind ‖ account[4] ‖ amount[16] ‖ fee[16] ‖ nonce[4] ‖ sig[96]`.
pub const WITHDRAW_LEN: usize = 1 + 4 + 16 + 16 + 4 + SIGNATURE_LEN;
/// Bytes of a signature ([`Signature::to_bytes`]: `rx ‖ ry ‖ s`).
pub const SIGNATURE_LEN: usize = 96;

/// Bits of a packed amount (mantissa and 5-bit exponent): anything at or above `2^24` is
/// refused. A packed fee is a whole byte, so every fee byte is valid.
const PACKED_AMOUNT_BITS: u32 = AMOUNT_MANTISSA_BITS + 5;

/// Why bytes are not a signed L2 operation. Stable codes for RPC errors: [`WireError::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// No bytes at all.
    #[error("empty operation")]
    Empty,
    /// The kind byte is neither a transfer (1) nor a withdrawal (4).
    #[error("unknown operation kind {0} (1 = transfer, 4 = withdrawal)")]
    UnknownKind(u8),
    /// The length is not the kind's.
    #[error("operation of kind {kind} is {got} bytes, it must be {want}")]
    WrongLength {
        /// The kind byte.
        kind: u8,
        /// Bytes given.
        got: usize,
        /// Bytes of this kind.
        want: usize,
    },
    /// The signature's `R` is not on the curve or its `s` is not below the group order (or a
    /// coordinate is not below the field modulus).
    #[error("malformed signature")]
    BadSignature,
    /// A transfer's packed amount is not below `2^24`.
    #[error("packed amount {0:#x} is not below 2^24")]
    BadAmount(u32),
}

impl WireError {
    /// A stable numeric code for RPC errors, after [`crate::OpError::code`]'s 1-9:
    /// 20 empty, 21 unknown kind, 22 wrong length, 23 bad signature, 24 bad amount.
    pub fn code(&self) -> i32 {
        match self {
            Self::Empty => 20,
            Self::UnknownKind(_) => 21,
            Self::WrongLength { .. } => 22,
            Self::BadSignature => 23,
            Self::BadAmount(_) => 24,
        }
    }
}

impl From<KeyError> for WireError {
    fn from(_: KeyError) -> Self {
        Self::BadSignature
    }
}

/// A signed operation as a wallet sends it: a transfer (transfer slot) or a withdrawal (general
/// slot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum L2Op {
    /// A transfer (`docs/zk-rollup.md` §3.1).
    Transfer(TransferOp),
    /// A withdrawal to the account's owner on L1 (`docs/zk-rollup.md` §3.2, kind 4).
    Withdraw {
        /// Account.
        account: u32,
        /// Wei.
        amount: u128,
        /// Wei.
        fee: u128,
        /// Account nonce.
        nonce: u32,
        /// Signature over [`crate::stf::withdraw_message`].
        sig: Signature,
    },
}

impl L2Op {
    /// The encoding of §3.4. Fields are written as they are: a transfer whose packed amount is
    /// not below `2^24` encodes to bytes [`L2Op::decode`] refuses.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Transfer(t) => {
                let mut out = Vec::with_capacity(TRANSFER_LEN);
                out.push(KIND_TRANSFER);
                out.extend_from_slice(&t.from.to_be_bytes());
                out.extend_from_slice(&t.to.to_be_bytes());
                out.extend_from_slice(&t.amount.to_be_bytes());
                out.push(t.fee);
                out.extend_from_slice(&t.nonce.to_be_bytes());
                out.extend_from_slice(&t.sig.to_bytes());
                out
            }
            Self::Withdraw {
                account,
                amount,
                fee,
                nonce,
                sig,
            } => {
                let mut out = Vec::with_capacity(WITHDRAW_LEN);
                out.push(KIND_WITHDRAW);
                out.extend_from_slice(&account.to_be_bytes());
                out.extend_from_slice(&amount.to_be_bytes());
                out.extend_from_slice(&fee.to_be_bytes());
                out.extend_from_slice(&nonce.to_be_bytes());
                out.extend_from_slice(&sig.to_bytes());
                out
            }
        }
    }

    /// Parses untrusted bytes. Checks, in order: not empty, a known kind, the kind's length, a
    /// transfer's packed amount below `2^24`, a well-formed signature. Never panics.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let (&kind, body) = bytes.split_first().ok_or(WireError::Empty)?;
        let want = match kind {
            KIND_TRANSFER => TRANSFER_LEN,
            KIND_WITHDRAW => WITHDRAW_LEN,
            other => return Err(WireError::UnknownKind(other)),
        };
        if bytes.len() != want {
            return Err(WireError::WrongLength {
                kind,
                got: bytes.len(),
                want,
            });
        }
        let mut r = Reader(body);
        if kind == KIND_TRANSFER {
            let from = r.u32();
            let to = r.u32();
            let amount = r.u32();
            if amount >> PACKED_AMOUNT_BITS != 0 {
                return Err(WireError::BadAmount(amount));
            }
            let fee = r.take::<1>()[0];
            let nonce = r.u32();
            let sig = Signature::from_bytes(&r.take::<SIGNATURE_LEN>())?;
            Ok(Self::Transfer(TransferOp {
                from,
                to,
                amount,
                fee,
                nonce,
                sig,
            }))
        } else {
            let account = r.u32();
            let amount = r.u128();
            let fee = r.u128();
            let nonce = r.u32();
            let sig = Signature::from_bytes(&r.take::<SIGNATURE_LEN>())?;
            Ok(Self::Withdraw {
                account,
                amount,
                fee,
                nonce,
                sig,
            })
        }
    }

    /// The general operation of a withdrawal; `None` for a transfer (it goes in a transfer slot).
    pub fn to_general(&self) -> Option<GeneralOp> {
        match *self {
            Self::Transfer(_) => None,
            Self::Withdraw {
                account,
                amount,
                fee,
                nonce,
                sig,
            } => Some(GeneralOp::Withdraw {
                account,
                amount,
                fee,
                nonce,
                sig,
            }),
        }
    }

    /// The signing account (a transfer's sender).
    pub fn account(&self) -> u32 {
        match self {
            Self::Transfer(t) => t.from,
            Self::Withdraw { account, .. } => *account,
        }
    }

    /// The signing account's nonce the operation uses.
    pub fn nonce(&self) -> u32 {
        match self {
            Self::Transfer(t) => t.nonce,
            Self::Withdraw { nonce, .. } => *nonce,
        }
    }
}

/// Reads fixed-size fields from a body whose length was checked beforehand.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    /// The next `N` bytes (zeros past the end, which a checked length never reaches).
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let n = N.min(self.0.len());
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        out
    }

    fn u32(&mut self) -> u32 {
        u32::from_be_bytes(self.take())
    }

    fn u128(&mut self) -> u128 {
        u128::from_be_bytes(self.take())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{
        stf::{transfer_message, withdraw_message},
        testing::{dev_key, signed_transfer, signed_withdraw},
    };

    const CHAIN_ID: u64 = 42_069;

    fn transfer() -> L2Op {
        L2Op::Transfer(signed_transfer(
            CHAIN_ID,
            &dev_key(1),
            1,
            2,
            10u128.pow(18),
            10u128.pow(12),
            7,
        ))
    }

    fn withdraw() -> L2Op {
        let GeneralOp::Withdraw {
            account,
            amount,
            fee,
            nonce,
            sig,
        } = signed_withdraw(CHAIN_ID, &dev_key(3), 3, 123_456_789, 42, 9)
        else {
            unreachable!("signed_withdraw makes a withdrawal")
        };
        L2Op::Withdraw {
            account,
            amount,
            fee,
            nonce,
            sig,
        }
    }

    #[test]
    fn layout_is_the_documented_one() {
        assert_eq!(TRANSFER_LEN, 114);
        assert_eq!(WITHDRAW_LEN, 137);
        let op = transfer();
        let L2Op::Transfer(t) = op else {
            unreachable!()
        };
        let b = op.encode();
        assert_eq!(b.len(), TRANSFER_LEN);
        assert_eq!(&b[..9], &[1, 0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(&b[9..13], &t.amount.to_be_bytes());
        assert_eq!(b[13], t.fee);
        assert_eq!(&b[14..18], &[0, 0, 0, 7]);
        assert_eq!(&b[18..], &t.sig.to_bytes());
        assert_eq!(L2Op::decode(&b), Ok(op));

        let op = withdraw();
        let b = op.encode();
        assert_eq!(b.len(), WITHDRAW_LEN);
        assert_eq!(&b[..5], &[4, 0, 0, 0, 3]);
        assert_eq!(&b[5..21], &123_456_789u128.to_be_bytes());
        assert_eq!(&b[21..37], &42u128.to_be_bytes());
        assert_eq!(&b[37..41], &[0, 0, 0, 9]);
        assert_eq!(L2Op::decode(&b), Ok(op));

        let doc = include_str!("../../../docs/zk-rollup.md");
        for s in ["= 114 bytes", "= 137 bytes"] {
            assert!(doc.contains(s), "docs/zk-rollup.md §3.4 lacks `{s}`");
        }
    }

    #[test]
    fn accessors_and_general_form() {
        let t = transfer();
        assert_eq!((t.account(), t.nonce()), (1, 7));
        assert_eq!(t.to_general(), None);
        let w = withdraw();
        assert_eq!((w.account(), w.nonce()), (3, 9));
        assert_eq!(
            w.to_general(),
            Some(signed_withdraw(
                CHAIN_ID,
                &dev_key(3),
                3,
                123_456_789,
                42,
                9
            ))
        );
    }

    #[test]
    fn malformed_bytes_are_refused_with_their_reason() {
        assert_eq!(L2Op::decode(&[]), Err(WireError::Empty));
        for kind in [0u8, 2, 3, 5, 0xff] {
            assert_eq!(
                L2Op::decode(&[kind; TRANSFER_LEN]),
                Err(WireError::UnknownKind(kind))
            );
        }
        let t = transfer().encode();
        assert_eq!(
            L2Op::decode(&t[..TRANSFER_LEN - 1]),
            Err(WireError::WrongLength {
                kind: 1,
                got: 113,
                want: 114
            })
        );
        assert_eq!(
            L2Op::decode(&[4]),
            Err(WireError::WrongLength {
                kind: 4,
                got: 1,
                want: 137
            })
        );
        let mut long = withdraw().encode();
        long.push(0);
        assert!(matches!(
            L2Op::decode(&long),
            Err(WireError::WrongLength { got: 138, .. })
        ));

        let mut bad = t.clone();
        bad[9] = 1; // packed amount 0x01xxxxxx
        assert!(matches!(L2Op::decode(&bad), Err(WireError::BadAmount(a)) if a >> 24 == 1));

        let mut bad = t.clone();
        bad[18..18 + 64].fill(0); // R = (0, 0) is not on the curve
        assert_eq!(L2Op::decode(&bad), Err(WireError::BadSignature));
        let mut bad = t.clone();
        bad[TRANSFER_LEN - 32..].fill(0xff); // s >= l
        assert_eq!(L2Op::decode(&bad), Err(WireError::BadSignature));
        let mut bad = withdraw().encode();
        bad[WITHDRAW_LEN - 96..WITHDRAW_LEN - 64].fill(0xff); // rx >= r
        assert_eq!(L2Op::decode(&bad), Err(WireError::BadSignature));
    }

    #[test]
    fn codes_are_stable_and_distinct_from_op_errors() {
        let errors = [
            WireError::Empty,
            WireError::UnknownKind(0),
            WireError::WrongLength {
                kind: 1,
                got: 0,
                want: 0,
            },
            WireError::BadSignature,
            WireError::BadAmount(0),
        ];
        let codes: Vec<i32> = errors.iter().map(WireError::code).collect();
        assert_eq!(codes, [20, 21, 22, 23, 24]);
        assert_eq!(crate::OpError::BatchFull.code(), 9);
    }

    fn any_op() -> impl Strategy<Value = L2Op> {
        let transfer = (
            any::<u32>(),
            any::<u32>(),
            0u32..1 << 24,
            any::<u8>(),
            any::<u32>(),
            0u32..16,
        )
            .prop_map(|(from, to, amount, fee, nonce, key)| {
                let sig =
                    dev_key(key).sign(transfer_message(CHAIN_ID, from, to, amount, fee, nonce));
                L2Op::Transfer(TransferOp {
                    from,
                    to,
                    amount,
                    fee,
                    nonce,
                    sig,
                })
            });
        let withdraw = (
            any::<u32>(),
            any::<u128>(),
            any::<u128>(),
            any::<u32>(),
            0u32..16,
        )
            .prop_map(|(account, amount, fee, nonce, key)| L2Op::Withdraw {
                account,
                amount,
                fee,
                nonce,
                sig: dev_key(key).sign(withdraw_message(CHAIN_ID, account, nonce, amount, fee)),
            });
        prop_oneof![transfer, withdraw]
    }

    proptest! {
        #[test]
        fn ops_round_trip(op in any_op()) {
            let bytes = op.encode();
            prop_assert_eq!(L2Op::decode(&bytes), Ok(op));
        }

        /// A valid encoding with one byte changed, truncated or extended: never a panic, and what
        /// still decodes is canonical (re-encodes to the same bytes).
        #[test]
        fn mutated_encodings_decode_canonically_or_not_at_all(
            op in any_op(), at in any::<prop::sample::Index>(), byte in any::<u8>(), cut in 0usize..3,
        ) {
            let mut bytes = op.encode();
            let i = at.index(bytes.len());
            bytes[i] = byte;
            match cut {
                0 => {}
                1 => bytes.truncate(i),
                _ => bytes.push(byte),
            }
            if let Ok(back) = L2Op::decode(&bytes) {
                prop_assert_eq!(back.encode(), bytes);
            }
        }

        /// Arbitrary bytes, biased towards the known kinds and lengths.
        #[test]
        fn decode_never_panics(
            kind in prop_oneof![Just(KIND_TRANSFER), Just(KIND_WITHDRAW), any::<u8>()],
            len in prop_oneof![Just(TRANSFER_LEN), Just(WITHDRAW_LEN), 0usize..200],
            body in proptest::collection::vec(any::<u8>(), 200),
        ) {
            let mut bytes = vec![kind];
            bytes.extend_from_slice(&body);
            bytes.truncate(len);
            if let Ok(op) = L2Op::decode(&bytes) {
                prop_assert_eq!(op.encode(), bytes);
            }
        }
    }
}
