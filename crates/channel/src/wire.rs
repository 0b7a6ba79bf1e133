//! The peer protocol's frames and messages (`docs/channels.md` §4).
//!
//! A frame is a 4-byte big-endian length, then that many bytes: one message tag and the message's
//! RLP encoding. Frames longer than [`MAX_FRAME`] are refused before anything is read into memory.
//! Decoding never panics on any input (a fuzz target checks it).

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy_rlp::{Decodable, Encodable, RlpDecodable, RlpEncodable};

use crate::state::{ChannelState, SignedState};

/// The protocol version this build speaks (sent in [`Hello`]).
pub const PROTOCOL_VERSION: u16 = 1;

/// Largest frame accepted, length prefix excluded (a [`Sync`] of a few thousand entries fits).
pub const MAX_FRAME: usize = 4 << 20;

/// Most entries one [`Sync`] carries.
pub const MAX_SYNC_ENTRIES: usize = 65_536;

/// Stable error codes of [`ErrorMsg`] and of the daemon's refusals (`docs/channels.md` §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Code {
    /// The frame does not decode (bad length, unknown tag, bad RLP, trailing bytes).
    Malformed = 1,
    /// The peer speaks another protocol version.
    UnsupportedVersion = 2,
    /// Not this channel: another chain, adjudicator or channel id, or not its participant.
    WrongChannel = 3,
    /// A state without a signature where one is needed.
    Unsigned = 4,
    /// A signature that is malformed or not by the party that must sign.
    BadSignature = 5,
    /// A version this side already holds (a replayed message).
    Replayed = 6,
    /// A version that skips ahead, or an answer to nothing outstanding.
    OutOfOrder = 7,
    /// Balances that do not follow from the previous state and the update, or do not add up.
    BalanceViolation = 8,
    /// A message this side does not expect from this peer now (wrong role or phase).
    Unexpected = 9,
    /// The payer's balance does not cover the payment.
    InsufficientFunds = 10,
    /// The channel is closing or closed: no more updates.
    Closed = 11,
}

impl Code {
    /// The code's stable name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::UnsupportedVersion => "unsupported-version",
            Self::WrongChannel => "wrong-channel",
            Self::Unsigned => "unsigned",
            Self::BadSignature => "bad-signature",
            Self::Replayed => "replayed",
            Self::OutOfOrder => "out-of-order",
            Self::BalanceViolation => "balance-violation",
            Self::Unexpected => "unexpected",
            Self::InsufficientFunds => "insufficient-funds",
            Self::Closed => "closed",
        }
    }

    /// The code from its number.
    pub fn from_u16(n: u16) -> Option<Self> {
        Some(match n {
            1 => Self::Malformed,
            2 => Self::UnsupportedVersion,
            3 => Self::WrongChannel,
            4 => Self::Unsigned,
            5 => Self::BadSignature,
            6 => Self::Replayed,
            7 => Self::OutOfOrder,
            8 => Self::BalanceViolation,
            9 => Self::Unexpected,
            10 => Self::InsufficientFunds,
            11 => Self::Closed,
            _ => return None,
        })
    }
}

/// A refusal: its code and what exactly was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} ({}): {message}", code.name(), *code as u16)]
pub struct Refusal {
    /// The stable code.
    pub code: Code,
    /// Details for the log.
    pub message: String,
}

impl Refusal {
    /// A refusal with `code`.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// What one version changes (`docs/channels.md` §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    /// A pays B `amount` (payment `id` of A).
    PayAtoB {
        /// A's payment id.
        id: u64,
        /// Wei (or token units).
        amount: U256,
    },
    /// B pays A `amount`, answering B's [`PayRequest`] `id`.
    PayBtoA {
        /// B's payment id.
        id: u64,
        /// Wei (or token units).
        amount: U256,
    },
    /// A's on-chain top-up of `amount` enters the channel.
    FundA {
        /// Added to A's balance and deposits.
        amount: U256,
    },
    /// B's on-chain top-up of `amount` enters the channel.
    FundB {
        /// Added to B's balance and deposits.
        amount: U256,
    },
    /// The final state for a cooperative close (balances unchanged).
    Final,
}

impl Update {
    const PAY_A_TO_B: u8 = 1;
    const PAY_B_TO_A: u8 = 2;
    const FUND_A: u8 = 3;
    const FUND_B: u8 = 4;
    const FINAL: u8 = 5;

    fn parts(self) -> (u8, u64, U256) {
        match self {
            Self::PayAtoB { id, amount } => (Self::PAY_A_TO_B, id, amount),
            Self::PayBtoA { id, amount } => (Self::PAY_B_TO_A, id, amount),
            Self::FundA { amount } => (Self::FUND_A, 0, amount),
            Self::FundB { amount } => (Self::FUND_B, 0, amount),
            Self::Final => (Self::FINAL, 0, U256::ZERO),
        }
    }

    fn from_parts(kind: u8, id: u64, amount: U256) -> Option<Self> {
        Some(match kind {
            Self::PAY_A_TO_B => Self::PayAtoB { id, amount },
            Self::PAY_B_TO_A => Self::PayBtoA { id, amount },
            Self::FUND_A => Self::FundA { amount },
            Self::FUND_B => Self::FundB { amount },
            Self::FINAL => Self::Final,
            _ => return None,
        })
    }

    /// The state that follows `prev` under this update, or why there is none. Payments and
    /// top-ups need a positive amount; nothing follows a final state.
    pub fn apply(self, prev: &ChannelState) -> Result<ChannelState, Refusal> {
        if prev.is_final {
            return Err(Refusal::new(Code::Closed, "nothing follows a final state"));
        }
        let mut next = ChannelState {
            version: prev.version + 1,
            ..*prev
        };
        let positive = |amount: U256| {
            if amount.is_zero() {
                Err(Refusal::new(
                    Code::BalanceViolation,
                    "amount must be positive",
                ))
            } else {
                Ok(amount)
            }
        };
        let short = |who: &str| {
            Refusal::new(
                Code::InsufficientFunds,
                format!("{who}'s balance does not cover the payment"),
            )
        };
        let overflow = || Refusal::new(Code::BalanceViolation, "balance overflow");
        match self {
            Self::PayAtoB { amount, .. } => {
                let amount = positive(amount)?;
                next.balance_a = prev
                    .balance_a
                    .checked_sub(amount)
                    .ok_or_else(|| short("A"))?;
                next.balance_b = prev.balance_b.checked_add(amount).ok_or_else(overflow)?;
            }
            Self::PayBtoA { amount, .. } => {
                let amount = positive(amount)?;
                next.balance_b = prev
                    .balance_b
                    .checked_sub(amount)
                    .ok_or_else(|| short("B"))?;
                next.balance_a = prev.balance_a.checked_add(amount).ok_or_else(overflow)?;
            }
            Self::FundA { amount } => {
                let amount = positive(amount)?;
                next.balance_a = prev.balance_a.checked_add(amount).ok_or_else(overflow)?;
                next.deposited_a = prev.deposited_a.checked_add(amount).ok_or_else(overflow)?;
            }
            Self::FundB { amount } => {
                let amount = positive(amount)?;
                next.balance_b = prev.balance_b.checked_add(amount).ok_or_else(overflow)?;
                next.deposited_b = prev.deposited_b.checked_add(amount).ok_or_else(overflow)?;
            }
            Self::Final => next.is_final = true,
        }
        if !next.is_balanced() {
            return Err(overflow());
        }
        Ok(next)
    }
}

/// An update on the wire: kind, payment id, amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, RlpEncodable, RlpDecodable)]
struct WireUpdate {
    kind: u8,
    id: u64,
    amount: U256,
}

impl Encodable for Update {
    fn encode(&self, out: &mut dyn alloy_rlp::BufMut) {
        let (kind, id, amount) = self.parts();
        WireUpdate { kind, id, amount }.encode(out)
    }
    fn length(&self) -> usize {
        let (kind, id, amount) = self.parts();
        WireUpdate { kind, id, amount }.length()
    }
}

impl Decodable for Update {
    fn decode(buf: &mut &[u8]) -> alloy_rlp::Result<Self> {
        let w = WireUpdate::decode(buf)?;
        Self::from_parts(w.kind, w.id, w.amount)
            .ok_or(alloy_rlp::Error::Custom("unknown update kind"))
    }
}

/// One entry of a channel's log: the update that made `version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct LogEntry {
    /// The version the update made.
    pub version: u64,
    /// The update.
    pub update: Update,
}

/// A fully signed state on the wire.
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct WireSigned {
    /// The state.
    pub state: ChannelState,
    /// A's signature.
    pub sig_a: Bytes,
    /// B's signature.
    pub sig_b: Bytes,
}

impl From<&SignedState> for WireSigned {
    fn from(s: &SignedState) -> Self {
        Self {
            state: s.state,
            sig_a: s.sig_a.clone().into(),
            sig_b: s.sig_b.clone().into(),
        }
    }
}

impl From<WireSigned> for SignedState {
    fn from(s: WireSigned) -> Self {
        Self {
            state: s.state,
            sig_a: s.sig_a.to_vec(),
            sig_b: s.sig_b.to_vec(),
        }
    }
}

/// First message of each side on a new connection.
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`] of the sender.
    pub protocol: u16,
    /// L1 chain id.
    pub chain_id: u64,
    /// The adjudicator.
    pub adjudicator: Address,
    /// The channel this connection is for.
    pub channel_id: B256,
    /// The sender's address (A or B of the channel).
    pub sender: Address,
    /// Highest version the sender holds fully signed.
    pub latest_version: u64,
}

/// Sent by the side that holds a newer fully signed state than the peer's [`Hello`] named: the
/// updates the peer misses and the newest state with both signatures.
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Sync {
    /// Updates for the versions after the peer's, in order.
    pub entries: Vec<LogEntry>,
    /// The newest fully signed state.
    pub latest: WireSigned,
}

/// A's next state, signed by A, and the update that made it.
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Propose {
    /// The new state.
    pub state: ChannelState,
    /// What changed from the previous version.
    pub update: Update,
    /// A's signature over the state's digest.
    pub sig: Bytes,
}

/// B's countersignature of a proposed version.
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Ack {
    /// The version signed.
    pub version: u64,
    /// B's signature over that state's digest.
    pub sig: Bytes,
}

/// B asks A to make a state in which B pays A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct PayRequest {
    /// B's payment id (unique among B's payments in the channel).
    pub id: u64,
    /// Amount.
    pub amount: U256,
}

/// A refuses a [`PayRequest`] (the channel stays usable).
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct PayReject {
    /// B's payment id.
    pub id: u64,
    /// [`Code`] number.
    pub code: u16,
    /// Why.
    pub message: String,
}

/// B asks A to propose the final state (A needs no request: it proposes it directly). A top-up
/// notice carries the new on-chain deposit totals, which A checks on L1 before proposing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct Notice {
    /// 1: close cooperatively; 2: B funded on L1 (`amount` added).
    pub kind: u8,
    /// For a top-up: the amount.
    pub amount: U256,
}

/// A fatal refusal; the sender closes the connection after it.
#[derive(Debug, Clone, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct ErrorMsg {
    /// [`Code`] number.
    pub code: u16,
    /// Why.
    pub message: String,
}

/// Every message of protocol version 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// Tag 1.
    Hello(Hello),
    /// Tag 2.
    Sync(Sync),
    /// Tag 3.
    Propose(Propose),
    /// Tag 4.
    Ack(Ack),
    /// Tag 5.
    PayRequest(PayRequest),
    /// Tag 6.
    PayReject(PayReject),
    /// Tag 7.
    Notice(Notice),
    /// Tag 8.
    Error(ErrorMsg),
}

/// [`Notice::kind`] of a close request.
pub const NOTICE_CLOSE: u8 = 1;
/// [`Notice::kind`] of B's top-up.
pub const NOTICE_FUNDED: u8 = 2;

impl Msg {
    /// The message's name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Hello(_) => "hello",
            Self::Sync(_) => "sync",
            Self::Propose(_) => "propose",
            Self::Ack(_) => "ack",
            Self::PayRequest(_) => "pay-request",
            Self::PayReject(_) => "pay-reject",
            Self::Notice(_) => "notice",
            Self::Error(_) => "error",
        }
    }

    /// The message's tag byte.
    fn tag(&self) -> u8 {
        match self {
            Self::Hello(_) => 1,
            Self::Sync(_) => 2,
            Self::Propose(_) => 3,
            Self::Ack(_) => 4,
            Self::PayRequest(_) => 5,
            Self::PayReject(_) => 6,
            Self::Notice(_) => 7,
            Self::Error(_) => 8,
        }
    }

    /// The message's body, whose RLP follows the tag.
    fn body(&self) -> &dyn Encodable {
        match self {
            Self::Hello(m) => m,
            Self::Sync(m) => m,
            Self::Propose(m) => m,
            Self::Ack(m) => m,
            Self::PayRequest(m) => m,
            Self::PayReject(m) => m,
            Self::Notice(m) => m,
            Self::Error(m) => m,
        }
    }

    /// Appends the whole frame (length prefix, tag, body) to `out`.
    pub fn encode_frame(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&[0; 4]);
        out.push(self.tag());
        self.body().encode(out);
        let len = (out.len() - start - 4) as u32;
        out[start..start + 4].copy_from_slice(&len.to_be_bytes());
    }

    /// Decodes one frame's payload (tag and body, without the length prefix). The whole payload
    /// must be consumed.
    pub fn decode_payload(payload: &[u8]) -> Result<Self, Refusal> {
        fn body<T: Decodable>(buf: &mut &[u8], name: &str) -> Result<T, Refusal> {
            T::decode(buf).map_err(|e| Refusal::new(Code::Malformed, format!("{name}: {e}")))
        }
        let malformed = |why: String| Refusal::new(Code::Malformed, why);
        let (&tag, mut rest) = payload
            .split_first()
            .ok_or_else(|| malformed("empty frame".into()))?;
        let buf = &mut rest;
        let msg = match tag {
            1 => Self::Hello(body(buf, "hello")?),
            2 => {
                let sync: Sync = body(buf, "sync")?;
                if sync.entries.len() > MAX_SYNC_ENTRIES {
                    return Err(malformed("sync with too many entries".into()));
                }
                Self::Sync(sync)
            }
            3 => Self::Propose(body(buf, "propose")?),
            4 => Self::Ack(body(buf, "ack")?),
            5 => Self::PayRequest(body(buf, "pay-request")?),
            6 => Self::PayReject(body(buf, "pay-reject")?),
            7 => Self::Notice(body(buf, "notice")?),
            8 => Self::Error(body(buf, "error")?),
            other => return Err(malformed(format!("unknown message tag {other}"))),
        };
        if !buf.is_empty() {
            return Err(malformed(format!("{} trailing bytes", buf.len())));
        }
        Ok(msg)
    }
}

/// Splits complete frames off the front of `buf`: returns the decoded messages and how many bytes
/// they used. A frame whose declared length exceeds [`MAX_FRAME`] is refused at once.
pub fn split_frames(buf: &[u8]) -> (Vec<Result<Msg, Refusal>>, usize) {
    let mut out = Vec::new();
    let mut used = 0;
    while buf.len() - used >= 4 {
        let len = u32::from_be_bytes(buf[used..used + 4].try_into().expect("4 bytes")) as usize;
        if len > MAX_FRAME {
            out.push(Err(Refusal::new(
                Code::Malformed,
                format!("frame of {len} bytes exceeds the limit of {MAX_FRAME}"),
            )));
            return (out, buf.len());
        }
        if buf.len() - used - 4 < len {
            break;
        }
        out.push(Msg::decode_payload(&buf[used + 4..used + 4 + len]));
        used += 4 + len;
    }
    (out, used)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Vec<Msg> {
        let state = ChannelState {
            channel_id: B256::repeat_byte(1),
            version: 7,
            balance_a: U256::from(3),
            balance_b: U256::from(4),
            deposited_a: U256::from(7),
            deposited_b: U256::ZERO,
            is_final: false,
        };
        vec![
            Msg::Hello(Hello {
                protocol: PROTOCOL_VERSION,
                chain_id: 31337,
                adjudicator: Address::repeat_byte(2),
                channel_id: B256::repeat_byte(1),
                sender: Address::repeat_byte(3),
                latest_version: 12,
            }),
            Msg::Sync(Sync {
                entries: vec![
                    LogEntry {
                        version: 1,
                        update: Update::PayAtoB {
                            id: 9,
                            amount: U256::from(1),
                        },
                    },
                    LogEntry {
                        version: 2,
                        update: Update::Final,
                    },
                ],
                latest: WireSigned {
                    state,
                    sig_a: Bytes::from(vec![1; 65]),
                    sig_b: Bytes::new(),
                },
            }),
            Msg::Propose(Propose {
                state,
                update: Update::FundB { amount: U256::MAX },
                sig: Bytes::from(vec![5; 65]),
            }),
            Msg::Ack(Ack {
                version: u64::MAX,
                sig: Bytes::from(vec![6; 65]),
            }),
            Msg::PayRequest(PayRequest {
                id: 0,
                amount: U256::from(10),
            }),
            Msg::PayReject(PayReject {
                id: 1,
                code: 10,
                message: "no".into(),
            }),
            Msg::Notice(Notice {
                kind: NOTICE_CLOSE,
                amount: U256::ZERO,
            }),
            Msg::Error(ErrorMsg {
                code: 1,
                message: "bad".into(),
            }),
        ]
    }

    #[test]
    fn every_message_round_trips_through_frames() {
        let mut buf = Vec::new();
        for m in sample() {
            m.encode_frame(&mut buf);
        }
        let (msgs, used) = split_frames(&buf);
        assert_eq!(used, buf.len());
        let msgs: Vec<Msg> = msgs.into_iter().map(Result::unwrap).collect();
        assert_eq!(msgs, sample());
    }

    #[test]
    fn partial_frames_wait_and_oversized_frames_are_refused() {
        let mut buf = Vec::new();
        sample()[3].encode_frame(&mut buf);
        let (msgs, used) = split_frames(&buf[..buf.len() - 1]);
        assert!(msgs.is_empty());
        assert_eq!(used, 0);
        let huge = ((MAX_FRAME + 1) as u32).to_be_bytes();
        let (msgs, _) = split_frames(&huge);
        assert_eq!(msgs[0].as_ref().unwrap_err().code, Code::Malformed);
    }

    #[test]
    fn unknown_tags_trailing_bytes_and_unknown_updates_are_malformed() {
        assert_eq!(
            Msg::decode_payload(&[99]).unwrap_err().code,
            Code::Malformed
        );
        assert_eq!(Msg::decode_payload(&[]).unwrap_err().code, Code::Malformed);
        let mut buf = Vec::new();
        sample()[3].encode_frame(&mut buf);
        buf.push(0);
        assert_eq!(
            Msg::decode_payload(&buf[4..]).unwrap_err().code,
            Code::Malformed
        );
        let mut body = vec![3];
        Propose {
            state: ChannelState::opening(B256::ZERO),
            update: Update::Final,
            sig: Bytes::new(),
        }
        .encode(&mut body);
        // Update::Final encodes kind 5; make it 6.
        let pos = body.iter().rposition(|b| *b == 5).unwrap();
        body[pos] = 6;
        assert_eq!(
            Msg::decode_payload(&body).unwrap_err().code,
            Code::Malformed
        );
    }

    #[test]
    fn updates_conserve_the_total_and_refuse_overdrafts() {
        let s = ChannelState {
            balance_a: U256::from(10),
            deposited_a: U256::from(10),
            balance_b: U256::from(5),
            deposited_b: U256::from(5),
            ..ChannelState::opening(B256::ZERO)
        };
        let n = Update::PayAtoB {
            id: 1,
            amount: U256::from(10),
        }
        .apply(&s)
        .unwrap();
        assert_eq!(
            (n.balance_a, n.balance_b, n.version),
            (U256::ZERO, U256::from(15), 1)
        );
        let err = Update::PayAtoB {
            id: 2,
            amount: U256::from(1),
        }
        .apply(&n)
        .unwrap_err();
        assert_eq!(err.code, Code::InsufficientFunds);
        let err = Update::PayBtoA {
            id: 1,
            amount: U256::ZERO,
        }
        .apply(&n)
        .unwrap_err();
        assert_eq!(err.code, Code::BalanceViolation);
        let f = Update::FundA {
            amount: U256::from(2),
        }
        .apply(&n)
        .unwrap();
        assert_eq!(
            (f.balance_a, f.deposited_a),
            (U256::from(2), U256::from(12))
        );
        let fin = Update::Final.apply(&f).unwrap();
        assert!(fin.is_final);
        assert_eq!(
            Update::FundB {
                amount: U256::from(1)
            }
            .apply(&fin)
            .unwrap_err()
            .code,
            Code::Closed
        );
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = split_frames(&bytes);
            let _ = Msg::decode_payload(&bytes);
        }

        #[test]
        fn pay_updates_keep_states_balanced(a in 0u64..1_000_000, b in 0u64..1_000_000,
                                             pays in proptest::collection::vec((any::<bool>(), 1u64..5_000), 0..64)) {
            let mut s = ChannelState { balance_a: U256::from(a), deposited_a: U256::from(a), balance_b: U256::from(b), deposited_b: U256::from(b), ..ChannelState::opening(B256::ZERO) };
            for (i, (a_pays, amount)) in pays.into_iter().enumerate() {
                let u = if a_pays {
                    Update::PayAtoB { id: i as u64, amount: U256::from(amount) }
                } else {
                    Update::PayBtoA { id: i as u64, amount: U256::from(amount) }
                };
                match u.apply(&s) {
                    Ok(n) => { prop_assert!(n.is_balanced()); prop_assert_eq!(n.version, s.version + 1); s = n; }
                    Err(e) => prop_assert_eq!(e.code, Code::InsufficientFunds),
                }
            }
            prop_assert_eq!(s.balance_a + s.balance_b, U256::from(a) + U256::from(b));
        }
    }
}
