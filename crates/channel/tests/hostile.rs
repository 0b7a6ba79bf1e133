//! Party A played by hand over raw sockets against B's real daemon: every kind of hostile message
//! is refused with its stable code (`wire::Code`), logged, answered with one error frame after
//! which B closes the connection, and changes nothing: B's signed state stays the same and the
//! next correct proposal, on a fresh connection, is still accepted.

mod common;

use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes, Signature, U256, keccak256};
use alloy_rlp::RlpEncodable;
use common::*;
use loft_channel::daemon::Daemon;
use loft_channel::state::verify;
use loft_channel::wire::{
    Ack, Code, ErrorMsg, Hello, LogEntry, MAX_FRAME, Msg, NOTICE_CLOSE, NOTICE_FUNDED, Notice,
    PROTOCOL_VERSION, PayReject, PayRequest, Propose, Sync, Update, WireSigned,
};
use loft_channel::{ChannelDomain, ChannelKey, ChannelState, SignedState};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long B may take to answer or to close.
const WAIT: Duration = Duration::from_secs(5);
/// How long B's silence counts as "no answer".
const QUIET: Duration = Duration::from_secs(2);

fn frame(m: &Msg) -> Vec<u8> {
    let mut out = Vec::new();
    m.encode_frame(&mut out);
    out
}

/// A frame around any payload (tag and body).
fn raw_frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

const HTTP: &[u8] = b"GET / HTTP/1.1\r\nHost: loft\r\n\r\n";

/// splitmix64: reproducible garbage.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A [`Propose`] with any update kind (the library's type only encodes the known ones).
#[derive(RlpEncodable)]
struct RawUpdate {
    kind: u8,
    id: u64,
    amount: U256,
}

#[derive(RlpEncodable)]
struct RawPropose {
    state: ChannelState,
    update: RawUpdate,
    sig: Bytes,
}

/// What B did after a message.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Read {
    Msg(Msg),
    /// End of stream: B closed the connection.
    Closed,
    /// B reset the connection.
    Reset,
    Silent,
}

/// A raw connection to B.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("writing to B");
    }

    async fn send_msg(&mut self, m: &Msg) {
        self.send(&frame(m)).await
    }

    /// B's next frame, or that B closed or reset the connection, or nothing in `within`.
    async fn read(&mut self, within: Duration) -> Read {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if self.buf.len() >= 4 {
                let len = u32::from_be_bytes(self.buf[..4].try_into().expect("4 bytes")) as usize;
                if self.buf.len() >= 4 + len {
                    let m = Msg::decode_payload(&self.buf[4..4 + len])
                        .expect("B sends well-formed frames");
                    self.buf.drain(..4 + len);
                    return Read::Msg(m);
                }
            }
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Err(_) => return Read::Silent,
                Ok(Ok(0)) => return Read::Closed,
                Ok(Err(_)) => return Read::Reset,
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    async fn expect_msg(&mut self, what: &str) -> Msg {
        match self.read(WAIT).await {
            Read::Msg(m) => m,
            other => panic!("{what}: expected a message from B, got {other:?}"),
        }
    }
}

/// How a hostile attempt starts.
#[derive(Debug, Clone)]
enum Start {
    /// A new connection, nothing sent yet.
    Fresh,
    /// A new connection after a correct hello exchange.
    Greeted,
    /// A new connection after this hello (accepted by B) and B's.
    GreetedWith(Hello),
}

/// One hostile attempt and the code B must refuse it with.
#[derive(Debug, Clone)]
struct Case {
    name: String,
    start: Start,
    bytes: Vec<u8>,
    /// Close the sending half after the bytes.
    shutdown: bool,
    code: Code,
}

fn case(name: impl Into<String>, start: Start, bytes: Vec<u8>, code: Code) -> Case {
    Case {
        name: name.into(),
        start,
        bytes,
        shutdown: false,
        code,
    }
}

/// B's state as its control RPC reports it (without the connection's liveliness).
#[derive(Debug, PartialEq)]
struct Snapshot {
    state: SignedState,
    status: serde_json::Map<String, Value>,
}

/// Channels on L1 that B must not take a hello for.
#[derive(Debug, Clone, Copy)]
struct Others {
    /// A to B, force-closed on L1 (closing) before B heard of it.
    closing: B256,
    /// Opened by account 3 towards B.
    from_other: B256,
    /// Opened by A towards account 4.
    to_other: B256,
}

/// B's real daemon (account 2) and party A (account 1) played by hand.
struct Harness {
    w: World,
    b: Daemon,
    logs: Logs,
    id: B256,
    domain: ChannelDomain,
    a: ChannelKey,
    /// The newest state both signed.
    latest: ChannelState,
    /// The proposals B accepted, in order.
    accepted: Vec<Propose>,
    next_payment: u64,
    others: Option<Others>,
}

impl Harness {
    /// Opens a channel of 10 ETH from A to B on L1 and, over one connection, agrees with B on
    /// version 1 (A's deposit) and version 2 (A pays B 1 ETH).
    async fn new(logs: Logs) -> Self {
        let w = World::new().await;
        let b = w.daemon(2, w.config("b")).await;
        let l1 = w.l1(1);
        let chain_id = l1.chain_id().await.expect("chain id");
        let (id, _) = w
            .adj()
            .open(&*l1, b.address(), Address::ZERO, eth(10))
            .await
            .expect("open on L1");
        let mut h = Self {
            domain: ChannelDomain {
                chain_id,
                adjudicator: w.adjudicator,
            },
            a: w.key(1),
            w,
            b,
            logs,
            id,
            latest: ChannelState::opening(id),
            accepted: Vec::new(),
            next_payment: 1,
            others: None,
        };
        let mut c = h.greet().await;
        h.agree(&mut c, Update::FundA { amount: eth(10) }).await;
        h.agree(
            &mut c,
            Update::PayAtoB {
                id: 0,
                amount: eth(1),
            },
        )
        .await;
        assert_eq!(h.latest.version, 2);
        h
    }

    /// A's correct hello.
    fn hello(&self) -> Hello {
        Hello {
            protocol: PROTOCOL_VERSION,
            chain_id: self.domain.chain_id,
            adjudicator: self.domain.adjudicator,
            channel_id: self.id,
            sender: self.a.address(),
            latest_version: self.latest.version,
        }
    }

    async fn connect(&self) -> Conn {
        let stream = TcpStream::connect(self.b.peer_addr())
            .await
            .expect("connecting to B");
        stream.set_nodelay(true).expect("nodelay");
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// A new connection on which `hello` went out and B's correct hello came back.
    async fn greet_with(&self, hello: &Hello) -> Conn {
        let mut c = self.connect().await;
        c.send_msg(&Msg::Hello(hello.clone())).await;
        match c.expect_msg("B's hello").await {
            Msg::Hello(got) => assert_eq!(
                got,
                Hello {
                    protocol: PROTOCOL_VERSION,
                    chain_id: self.domain.chain_id,
                    adjudicator: self.domain.adjudicator,
                    channel_id: self.id,
                    sender: self.b.address(),
                    latest_version: self.latest.version,
                },
                "B's hello"
            ),
            other => panic!("B answered the hello with {other:?}"),
        }
        c
    }

    async fn greet(&self) -> Conn {
        self.greet_with(&self.hello()).await
    }

    fn next_state(&self, update: Update) -> ChannelState {
        update.apply(&self.latest).expect("a valid update")
    }

    fn sign(&self, state: &ChannelState) -> Bytes {
        Bytes::copy_from_slice(&self.a.sign_state(state, &self.domain))
    }

    /// A proposal of `state` signed by A, claiming `update`.
    fn signed(&self, state: ChannelState, update: Update) -> Propose {
        Propose {
            state,
            update,
            sig: self.sign(&state),
        }
    }

    /// The correct next proposal for `update`.
    fn propose(&self, update: Update) -> Propose {
        self.signed(self.next_state(update), update)
    }

    /// A correct payment of 1 gwei from A to B, as the next proposal.
    fn next_payment(&self) -> Update {
        Update::PayAtoB {
            id: self.next_payment,
            amount: gwei(1),
        }
    }

    /// Proposes `update` on `c` and checks B's countersignature.
    async fn agree(&mut self, c: &mut Conn, update: Update) {
        let p = self.propose(update);
        c.send_msg(&Msg::Propose(p.clone())).await;
        let state: ChannelState = p.state;
        match c.expect_msg("B's ack").await {
            Msg::Ack(Ack { version, sig }) => {
                assert_eq!(version, state.version);
                verify(&sig, &state.digest(&self.domain), self.b.address()).expect("B's signature");
            }
            other => panic!("B answered a correct proposal with {other:?}"),
        }
        self.latest = state;
        self.accepted.push(p);
    }

    /// A correct payment on a fresh connection: B still takes the next version.
    async fn pay(&mut self) {
        let mut c = self.greet().await;
        let update = self.next_payment();
        self.agree(&mut c, update).await;
        self.next_payment += 1;
    }

    async fn snapshot(&self) -> Snapshot {
        let st = rpc(&self.b, "channel_status", json!({"channel": self.id}))
            .await
            .expect("channel_status")[0]
            .clone();
        let status = [
            "phase",
            "version",
            "balance",
            "peerBalance",
            "deposited",
            "peerDeposited",
            "isFinal",
            "closesAt",
            "closingVersion",
        ]
        .iter()
        .map(|k| (k.to_string(), st[k].clone()))
        .collect();
        let state = serde_json::from_value(
            rpc(&self.b, "channel_state", json!({"channel": self.id}))
                .await
                .expect("channel_state"),
        )
        .expect("a signed state");
        Snapshot { state, status }
    }

    /// Sends the case's bytes and returns B's error frame, after checking that B sent nothing
    /// else (but its own hello on a fresh connection) and closed the connection after it.
    async fn attempt(&self, case: &Case) -> ErrorMsg {
        let name = &case.name;
        let (mut c, mut hello_due) = match &case.start {
            Start::Fresh => (self.connect().await, true),
            Start::Greeted => (self.greet().await, false),
            Start::GreetedWith(h) => (self.greet_with(h).await, false),
        };
        c.send(&case.bytes).await;
        if case.shutdown {
            c.stream.shutdown().await.expect("shutdown");
        }
        let error = loop {
            match c.read(WAIT).await {
                Read::Msg(Msg::Hello(_)) if hello_due => hello_due = false,
                Read::Msg(Msg::Error(e)) => break e,
                other => panic!("{name}: B answered {other:?}, not an error frame"),
            }
        };
        match c.read(WAIT).await {
            Read::Closed => {}
            other => panic!("{name}: B did not close the connection after its error: {other:?}"),
        }
        error
    }

    /// The case is refused with its code, logged, and changes nothing; the next correct
    /// proposal is still accepted afterwards.
    async fn assert_refused(&mut self, case: &Case) {
        let name = &case.name;
        let before = self.snapshot().await;
        let mark = self.logs.len();
        let e = self.attempt(case).await;
        assert_eq!(
            Code::from_u16(e.code),
            Some(case.code),
            "{name}: B refused with {} ({}), not {}",
            e.code,
            e.message,
            case.code as u16
        );
        assert!(!e.message.is_empty(), "{name}: the error says why");
        let logged = self
            .logs
            .wait_for(mark, WAIT, |ev| {
                ev.level == tracing::Level::WARN && ev.field("code") == Some(case.code.name())
            })
            .await;
        assert!(
            logged.is_some(),
            "{name}: B logged no refusal with code {}; logged: {:?}",
            case.code.name(),
            self.logs.since(mark)
        );
        assert_eq!(self.snapshot().await, before, "{name}: B's channel changed");
        self.pay().await;
    }

    /// Refuses every case `build` makes, each built afresh from the channel as it is then.
    async fn refuse_all(&mut self, build: fn(&Self) -> Vec<Case>) {
        let n = build(self).len();
        assert!(n > 0);
        for i in 0..n {
            let case = build(self).swap_remove(i);
            self.assert_refused(&case).await;
        }
    }

    /// Opens the channels of [`Others`] on L1.
    async fn open_others(&mut self) {
        let adj = self.w.adj();
        let (l1a, l1c) = (self.w.l1(1), self.w.l1(3));
        let (closing, _) = adj
            .open(&*l1a, self.b.address(), Address::ZERO, eth(1))
            .await
            .expect("open");
        adj.force_close(&*l1a, &SignedState::opening(ChannelState::opening(closing)))
            .await
            .expect("force-close the opening state");
        let (from_other, _) = adj
            .open(&*l1c, self.b.address(), Address::ZERO, eth(1))
            .await
            .expect("open");
        let to = self.w.keys[4].address();
        let (to_other, _) = adj
            .open(&*l1a, to, Address::ZERO, eth(1))
            .await
            .expect("open");
        self.others = Some(Others {
            closing,
            from_other,
            to_other,
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The hostile messages, by the code they must get.

fn malformed(h: &Harness) -> Vec<Case> {
    use Start::Greeted;
    let mut cases = vec![
        case("an HTTP request", Greeted, HTTP.to_vec(), Code::Malformed),
        case("an empty frame", Greeted, raw_frame(&[]), Code::Malformed),
        case(
            "a length prefix of MAX_FRAME + 1",
            Greeted,
            ((MAX_FRAME + 1) as u32).to_be_bytes().to_vec(),
            Code::Malformed,
        ),
        case(
            "a length prefix of 4 GiB",
            Greeted,
            u32::MAX.to_be_bytes().to_vec(),
            Code::Malformed,
        ),
    ];
    let mut rng = Rng(7);
    for i in 0..4 {
        // Random bytes, read as a length prefix beyond the limit.
        let mut bytes = rng.bytes(64);
        bytes[0] |= 0x80;
        cases.push(case(
            format!("random bytes #{i}"),
            Greeted,
            bytes,
            Code::Malformed,
        ));
        // A random payload in a well-formed frame.
        let len = 1 + (rng.next() % 200) as usize;
        let payload = rng.bytes(len);
        assert!(
            Msg::decode_payload(&payload).is_err(),
            "random payload #{i}"
        );
        cases.push(case(
            format!("a frame of random payload #{i}"),
            Greeted,
            raw_frame(&payload),
            Code::Malformed,
        ));
    }
    // The correct next proposal, under another tag, with a byte too many, with a byte too few.
    let good = frame(&Msg::Propose(h.propose(h.next_payment())));
    for tag in [0u8, 9, 255] {
        let mut payload = good[4..].to_vec();
        payload[0] = tag;
        cases.push(case(
            format!("unknown tag {tag}"),
            Greeted,
            raw_frame(&payload),
            Code::Malformed,
        ));
    }
    let mut payload = good[4..].to_vec();
    payload.push(0);
    cases.push(case(
        "a valid proposal with a trailing byte",
        Greeted,
        raw_frame(&payload),
        Code::Malformed,
    ));
    let payload = good[4..good.len() - 1].to_vec();
    cases.push(case(
        "a valid proposal cut short by a byte",
        Greeted,
        raw_frame(&payload),
        Code::Malformed,
    ));
    // An update kind that does not exist, correctly signed.
    let state = h.next_state(h.next_payment());
    for kind in [0u8, 6, 255] {
        let mut payload = vec![3];
        alloy_rlp::Encodable::encode(
            &RawPropose {
                state,
                update: RawUpdate {
                    kind,
                    id: 1,
                    amount: gwei(1),
                },
                sig: h.sign(&state),
            },
            &mut payload,
        );
        cases.push(case(
            format!("update kind {kind}"),
            Greeted,
            raw_frame(&payload),
            Code::Malformed,
        ));
    }
    cases
}

fn before_hello(h: &Harness) -> Vec<Case> {
    use Start::Fresh;
    let mut rng = Rng(11);
    let mut random = rng.bytes(64);
    random[0] |= 0x80;
    vec![
        case(
            "an HTTP request instead of a hello",
            Fresh,
            HTTP.to_vec(),
            Code::Malformed,
        ),
        case(
            "random bytes instead of a hello",
            Fresh,
            random,
            Code::Malformed,
        ),
        Case {
            shutdown: true,
            ..case(
                "half a frame, then the end of the stream",
                Fresh,
                frame(&Msg::Hello(h.hello()))[..10].to_vec(),
                Code::Malformed,
            )
        },
        case(
            "a malformed hello",
            Fresh,
            raw_frame(&[1, 0xc1, 0x80]),
            Code::Malformed,
        ),
        case(
            "the correct next proposal before the hello",
            Fresh,
            frame(&Msg::Propose(h.propose(h.next_payment()))),
            Code::Unexpected,
        ),
        case(
            "an ack before the hello",
            Fresh,
            frame(&Msg::Ack(Ack {
                version: h.latest.version,
                sig: h.sign(&h.latest),
            })),
            Code::Unexpected,
        ),
        case(
            "an error frame before the hello",
            Fresh,
            frame(&Msg::Error(ErrorMsg {
                code: Code::Malformed as u16,
                message: "you first".into(),
            })),
            Code::Unexpected,
        ),
    ]
}

fn protocol_versions(h: &Harness) -> Vec<Case> {
    [0u16, PROTOCOL_VERSION + 1, u16::MAX]
        .into_iter()
        .map(|protocol| {
            case(
                format!("a hello for protocol {protocol}"),
                Start::Fresh,
                frame(&Msg::Hello(Hello {
                    protocol,
                    ..h.hello()
                })),
                Code::UnsupportedVersion,
            )
        })
        .collect()
}

fn wrong_channels(h: &Harness) -> Vec<Case> {
    let others = h.others.expect("open_others first");
    let hello = |name: &str, hello: Hello| {
        case(
            name,
            Start::Fresh,
            frame(&Msg::Hello(hello)),
            Code::WrongChannel,
        )
    };
    let mut foreign = h.next_state(h.next_payment());
    foreign.channel_id = others.from_other;
    vec![
        hello(
            "a hello for a channel that does not exist",
            Hello {
                channel_id: keccak256("no such channel"),
                ..h.hello()
            },
        ),
        hello(
            "a hello for a channel closing on L1",
            Hello {
                channel_id: others.closing,
                latest_version: 0,
                ..h.hello()
            },
        ),
        hello(
            "a hello from A for a channel another account opened",
            Hello {
                channel_id: others.from_other,
                latest_version: 0,
                ..h.hello()
            },
        ),
        hello(
            "a hello for A's channel with another account",
            Hello {
                channel_id: others.to_other,
                latest_version: 0,
                ..h.hello()
            },
        ),
        hello(
            "a hello from another sender",
            Hello {
                sender: h.w.keys[3].address(),
                ..h.hello()
            },
        ),
        hello(
            "a hello from B itself",
            Hello {
                sender: h.b.address(),
                ..h.hello()
            },
        ),
        hello(
            "a hello for another chain",
            Hello {
                chain_id: h.domain.chain_id + 1,
                ..h.hello()
            },
        ),
        hello(
            "a hello for another adjudicator",
            Hello {
                adjudicator: Address::repeat_byte(0xad),
                ..h.hello()
            },
        ),
        case(
            "a proposal for another channel",
            Start::Greeted,
            frame(&Msg::Propose(h.signed(foreign, h.next_payment()))),
            Code::WrongChannel,
        ),
    ]
}

/// The correct next proposal with signature `sig`.
fn with_sig(h: &Harness, name: &str, sig: Vec<u8>, code: Code) -> Case {
    let p = Propose {
        sig: sig.into(),
        ..h.propose(h.next_payment())
    };
    case(name, Start::Greeted, frame(&Msg::Propose(p)), code)
}

fn unsigned(h: &Harness) -> Vec<Case> {
    vec![
        with_sig(h, "an empty signature", Vec::new(), Code::Unsigned),
        with_sig(h, "65 zero bytes", vec![0; 65], Code::Unsigned),
    ]
}

fn bad_signatures(h: &Harness) -> Vec<Case> {
    let state = h.next_state(h.next_payment());
    let good = h.a.sign_state(&state, &h.domain);
    let sig = Signature::from_raw(&good).expect("a signature");
    let n = U256::from_be_bytes(secp256k1::constants::CURVE_ORDER);
    let high_s = Signature::new(sig.r(), n - sig.s(), !sig.v()).as_bytes();
    assert_ne!(high_s[..64], good[..64], "the high-s form differs");
    let mut raw_v = good;
    raw_v[64] -= 27;
    let mut flipped_v = good;
    flipped_v[64] ^= 1;
    let other_chain = ChannelDomain {
        chain_id: h.domain.chain_id + 1,
        ..h.domain
    };
    let other_adj = ChannelDomain {
        adjudicator: Address::repeat_byte(0xad),
        ..h.domain
    };
    let bad = |name: &str, sig: Vec<u8>| with_sig(h, name, sig, Code::BadSignature);
    vec![
        bad(
            "signed by another key",
            h.w.key(5).sign_state(&state, &h.domain).to_vec(),
        ),
        bad(
            "signed by B's key",
            h.w.key(2).sign_state(&state, &h.domain).to_vec(),
        ),
        bad(
            "signed for another chain",
            h.a.sign_state(&state, &other_chain).to_vec(),
        ),
        bad(
            "signed for another adjudicator",
            h.a.sign_state(&state, &other_adj).to_vec(),
        ),
        bad(
            "A's signature of the previous state",
            h.a.sign_state(&h.latest, &h.domain).to_vec(),
        ),
        bad("A's signature with a high s", high_s.to_vec()),
        bad("A's signature with v of 0 or 1", raw_v.to_vec()),
        bad("A's signature with the other v", flipped_v.to_vec()),
        bad("A's signature without v", good[..64].to_vec()),
        bad("A's signature and a byte", [&good[..], &[0]].concat()),
        bad("65 bytes of 0xff", vec![0xff; 65]),
    ]
}

fn replays(h: &Harness) -> Vec<Case> {
    let replay = |name: &str, p: &Propose| {
        case(
            name,
            Start::Greeted,
            frame(&Msg::Propose(p.clone())),
            Code::Replayed,
        )
    };
    let mut same_version = h.next_state(h.next_payment());
    same_version.version = h.latest.version;
    let mut zero = h.next_state(h.next_payment());
    zero.version = 0;
    vec![
        replay(
            "the last accepted proposal again",
            h.accepted.last().expect("accepted"),
        ),
        replay("the first accepted proposal again", &h.accepted[0]),
        replay(
            "a new payment numbered as the latest version",
            &h.signed(same_version, h.next_payment()),
        ),
        replay(
            "a new payment numbered version 0",
            &h.signed(zero, h.next_payment()),
        ),
    ]
}

fn out_of_order(h: &Harness) -> Vec<Case> {
    let mut gap = h.next_state(h.next_payment());
    gap.version += 1;
    let mut far = gap;
    far.version = u64::MAX;
    [("a version gap of one", gap), ("version u64::MAX", far)]
        .into_iter()
        .map(|(name, s)| {
            case(
                name,
                Start::Greeted,
                frame(&Msg::Propose(h.signed(s, h.next_payment()))),
                Code::OutOfOrder,
            )
        })
        .collect()
}

fn balance_violations(h: &Harness) -> Vec<Case> {
    let pay_1 = Update::PayAtoB {
        id: h.next_payment,
        amount: U256::from(1),
    };
    let base = h.next_state(pay_1);
    let mut moves_2 = base;
    moves_2.balance_a -= U256::from(1);
    moves_2.balance_b += U256::from(1);
    let mut creates_1 = base;
    creates_1.balance_b += U256::from(1);
    let mut deposit_too = base;
    deposit_too.deposited_a += U256::from(1);
    deposit_too.balance_a += U256::from(1);
    let bump = ChannelState {
        version: h.latest.version + 1,
        ..h.latest
    };
    let all_of_a = h.latest.balance_a + h.latest.balance_b;
    let overdraft = ChannelState {
        balance_a: U256::ZERO,
        balance_b: all_of_a,
        ..bump
    };
    let mut final_moved = h.next_state(Update::Final);
    final_moved.balance_a -= U256::from(1);
    final_moved.balance_b += U256::from(1);
    let violation = |name: &str, state: ChannelState, update: Update| {
        case(
            name,
            Start::Greeted,
            frame(&Msg::Propose(h.signed(state, update))),
            Code::BalanceViolation,
        )
    };
    vec![
        violation("a payment of 1 that moves 2", moves_2, pay_1),
        violation(
            "balances that do not add up to the deposits",
            creates_1,
            pay_1,
        ),
        violation("a payment that also raises A's deposit", deposit_too, pay_1),
        violation(
            "a payment larger than A's balance",
            overdraft,
            Update::PayAtoB {
                id: h.next_payment,
                amount: h.latest.balance_a + U256::from(1),
            },
        ),
        violation(
            "a payment of U256::MAX",
            overdraft,
            Update::PayAtoB {
                id: h.next_payment,
                amount: U256::MAX,
            },
        ),
        violation(
            "a payment of 0",
            bump,
            Update::PayAtoB {
                id: h.next_payment,
                amount: U256::ZERO,
            },
        ),
        violation(
            "a top-up of A that is not on L1",
            h.next_state(Update::FundA { amount: eth(1) }),
            Update::FundA { amount: eth(1) },
        ),
        violation(
            "a top-up of B that is not on L1",
            h.next_state(Update::FundB { amount: eth(1) }),
            Update::FundB { amount: eth(1) },
        ),
        violation(
            "a final state that moves balances",
            final_moved,
            Update::Final,
        ),
        violation(
            "a payment whose state is marked final",
            ChannelState {
                is_final: true,
                ..base
            },
            pay_1,
        ),
    ]
}

fn wrong_roles(h: &Harness) -> Vec<Case> {
    let next = h.next_state(h.next_payment());
    let unexpected = |name: &str, m: Msg| case(name, Start::Greeted, frame(&m), Code::Unexpected);
    vec![
        unexpected(
            "an ack",
            Msg::Ack(Ack {
                version: next.version,
                sig: h.sign(&next),
            }),
        ),
        unexpected(
            "an ack of the latest version",
            Msg::Ack(Ack {
                version: h.latest.version,
                sig: h.sign(&h.latest),
            }),
        ),
        unexpected(
            "a refusal of a request B never made",
            Msg::PayReject(PayReject {
                id: 1,
                code: Code::InsufficientFunds as u16,
                message: "no".into(),
            }),
        ),
        unexpected(
            "a payment request",
            Msg::PayRequest(PayRequest {
                id: 1,
                amount: gwei(1),
            }),
        ),
        unexpected(
            "a close notice",
            Msg::Notice(Notice {
                kind: NOTICE_CLOSE,
                amount: U256::ZERO,
            }),
        ),
        unexpected(
            "a top-up notice",
            Msg::Notice(Notice {
                kind: NOTICE_FUNDED,
                amount: eth(1),
            }),
        ),
        unexpected(
            "a sync B did not ask for",
            Msg::Sync(Sync {
                entries: Vec::new(),
                latest: WireSigned {
                    state: h.latest,
                    sig_a: h.sign(&h.latest),
                    sig_b: Bytes::new(),
                },
            }),
        ),
        unexpected("a second hello", Msg::Hello(h.hello())),
        unexpected(
            "a payment from B to A that B did not ask for",
            Msg::Propose(h.propose(Update::PayBtoA {
                id: 1,
                amount: gwei(1),
            })),
        ),
    ]
}

/// Hostile syncs, after a hello that claims a newer version than B's.
fn syncs(h: &Harness) -> Vec<Case> {
    let claim = Start::GreetedWith(Hello {
        latest_version: h.latest.version + 1,
        ..h.hello()
    });
    let update = h.next_payment();
    let next = h.next_state(update);
    let entry = LogEntry {
        version: next.version,
        update,
    };
    let b_key_sig =
        |state: &ChannelState| Bytes::copy_from_slice(&h.w.key(5).sign_state(state, &h.domain));
    let sync = |name: &str, entries: Vec<LogEntry>, state: ChannelState, sig_b: Bytes, code| {
        case(
            name,
            claim.clone(),
            frame(&Msg::Sync(Sync {
                entries,
                latest: WireSigned {
                    state,
                    sig_a: h.sign(&state),
                    sig_b,
                },
            })),
            code,
        )
    };
    let mut richer = next;
    richer.balance_a -= U256::from(1);
    richer.balance_b += U256::from(1);
    vec![
        sync(
            "a sync signed by A alone",
            vec![entry],
            next,
            Bytes::new(),
            Code::Unsigned,
        ),
        sync(
            "a sync whose B signature is another key's",
            vec![entry],
            next,
            b_key_sig(&next),
            Code::BadSignature,
        ),
        sync(
            "a sync whose entries do not lead to its state",
            vec![entry],
            richer,
            b_key_sig(&richer),
            Code::BalanceViolation,
        ),
        sync(
            "a sync with a gap in its entries",
            vec![LogEntry {
                version: next.version + 1,
                update,
            }],
            next,
            b_key_sig(&next),
            Code::OutOfOrder,
        ),
        case(
            "a proposal while B waits for the sync",
            claim.clone(),
            frame(&Msg::Propose(h.propose(update))),
            Code::Unexpected,
        ),
    ]
}

// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_frames_are_refused() {
    run_logged(|logs| async move {
        let mut h = Harness::new(logs).await;
        h.refuse_all(malformed).await;
    });
}

#[test]
fn anything_but_a_hello_first_is_refused() {
    run_logged(|logs| async move {
        let mut h = Harness::new(logs).await;
        h.refuse_all(before_hello).await;
    });
}

#[test]
fn hellos_for_another_protocol_version_are_refused() {
    run_logged(|logs| async move {
        let mut h = Harness::new(logs).await;
        h.refuse_all(protocol_versions).await;
    });
}

#[test]
fn hellos_and_proposals_for_another_channel_are_refused() {
    run_logged(|logs| async move {
        let mut h = Harness::new(logs).await;
        h.open_others().await;
        h.refuse_all(wrong_channels).await;
    });
}

#[test]
fn unsigned_proposals_are_refused() {
    run_logged(|logs| async move {
        let mut h = Harness::new(logs).await;
        h.refuse_all(unsigned).await;
    });
}

#[test]
fn wrongly_signed_proposals_are_refused() {
    run_logged(|logs| async move {
        let mut h = Harness::new(logs).await;
        h.refuse_all(bad_signatures).await;
    });
}

#[test]
fn replayed_proposals_are_refused() {
    run_logged(|logs| async move {
        let mut h = Harness::new(logs).await;
        h.refuse_all(replays).await;
    });
}

#[test]
fn proposals_that_skip_versions_are_refused() {
    run_logged(|logs| async move {
        let mut h = Harness::new(logs).await;
        h.refuse_all(out_of_order).await;
    });
}

#[test]
fn proposals_whose_balances_do_not_follow_are_refused() {
    run_logged(|logs| async move {
        let mut h = Harness::new(logs).await;
        h.refuse_all(balance_violations).await;
    });
}

#[test]
fn messages_for_the_other_role_are_refused() {
    run_logged(|logs| async move {
        let mut h = Harness::new(logs).await;
        h.refuse_all(wrong_roles).await;
    });
}

#[test]
fn hostile_syncs_are_refused() {
    run_logged(|logs| async move {
        let mut h = Harness::new(logs).await;
        h.refuse_all(syncs).await;
    });
}

/// Every hostile message above, one after the other on one channel; then one correct payment
/// lands on exactly the state it should.
#[test]
fn after_every_hostile_message_one_payment_moves_the_channel_by_exactly_that_payment() {
    run_logged(|logs| async move {
        let mut h = Harness::new(logs).await;
        h.open_others().await;
        let before = h.snapshot().await;
        let builders: [fn(&Harness) -> Vec<Case>; 11] = [
            malformed,
            before_hello,
            protocol_versions,
            wrong_channels,
            unsigned,
            bad_signatures,
            replays,
            out_of_order,
            balance_violations,
            wrong_roles,
            syncs,
        ];
        let mut tried = 0;
        for build in builders {
            for c in build(&h) {
                let e = h.attempt(&c).await;
                assert_eq!(Code::from_u16(e.code), Some(c.code), "{}: {e:?}", c.name);
                tried += 1;
            }
        }
        assert!(tried > 60, "{tried} hostile messages");
        assert_eq!(h.snapshot().await, before);
        h.pay().await;
        let st = rpc(&h.b, "channel_status", json!({"channel": h.id}))
            .await
            .unwrap()[0]
            .clone();
        assert_eq!(st["version"], json!(3));
        assert_eq!(u(&st["balance"]), eth(1) + gwei(1));
        assert_eq!(u(&st["peerBalance"]), eth(9) - gwei(1));
        assert_eq!(u(&st["deposited"]), U256::ZERO);
        assert_eq!(u(&st["peerDeposited"]), eth(10));
        let signed: SignedState = serde_json::from_value(
            rpc(&h.b, "channel_state", json!({"channel": h.id}))
                .await
                .unwrap(),
        )
        .unwrap();
        assert_eq!(signed.state, h.latest);
        signed
            .verify(&h.domain, h.a.address(), h.b.address())
            .expect("both signatures");
    });
}

/// A peer's error frame ends the connection without an answer, and changes nothing.
#[test]
fn an_error_frame_from_a_closes_the_connection_unanswered() {
    run_logged(|logs| async move {
        let mut h = Harness::new(logs).await;
        let before = h.snapshot().await;
        let mut c = h.greet().await;
        c.send_msg(&Msg::Error(ErrorMsg {
            code: Code::OutOfOrder as u16,
            message: "going away".into(),
        }))
        .await;
        match c.read(WAIT).await {
            Read::Closed => {}
            other => panic!("B answered an error frame with {other:?}"),
        }
        assert_eq!(h.snapshot().await, before);
        h.pay().await;
    });
}

/// A refused hello (here: from another sender) for a channel with a live connection leaves that
/// connection working: a refused message changes nothing (`docs/channels.md` §4.3). (A hello that
/// passes the checks does replace it: peers are not authenticated, §8.)
#[test]
fn a_refused_hello_leaves_the_live_connection_alone() {
    run_logged(|logs| async move {
        let h = Harness::new(logs).await;
        let mut live = h.greet().await;
        let hostile = case(
            "a hello from another sender",
            Start::Fresh,
            frame(&Msg::Hello(Hello {
                sender: h.w.keys[3].address(),
                ..h.hello()
            })),
            Code::WrongChannel,
        );
        let e = h.attempt(&hostile).await;
        assert_eq!(e.code, Code::WrongChannel as u16, "{e:?}");
        let update = h.next_payment();
        let p = h.propose(update);
        live.send_msg(&Msg::Propose(p)).await;
        match live.read(WAIT).await {
            Read::Msg(Msg::Ack(a)) => assert_eq!(a.version, h.latest.version + 1),
            other => panic!(
                "after a refused hello on another connection, B answered a correct proposal on \
                 the live one with {other:?}"
            ),
        }
    });
}

/// Frames that arrive in the same read as the hello are handled, not dropped (`docs/channels.md`
/// §4.3, §4.8): a correct proposal sent right behind the hello is acknowledged.
#[test]
fn a_proposal_sent_with_the_hello_is_answered() {
    run_logged(|logs| async move {
        let h = Harness::new(logs).await;
        let mut c = h.connect().await;
        let p = h.propose(h.next_payment());
        c.send(&[frame(&Msg::Hello(h.hello())), frame(&Msg::Propose(p))].concat())
            .await;
        match c.read(WAIT).await {
            Read::Msg(Msg::Hello(_)) => {}
            other => panic!("B answered the hello with {other:?}"),
        }
        match c.read(QUIET).await {
            Read::Msg(Msg::Ack(a)) => assert_eq!(a.version, h.latest.version + 1),
            other => panic!("B answered the proposal sent with the hello with {other:?}"),
        }
    });
}

/// Garbage right behind the hello, in the same read, is refused like garbage anywhere else.
#[test]
fn garbage_sent_with_the_hello_is_refused() {
    run_logged(|logs| async move {
        let mut h = Harness::new(logs).await;
        let before = h.snapshot().await;
        let mut c = h.connect().await;
        c.send(&[frame(&Msg::Hello(h.hello())), HTTP.to_vec()].concat())
            .await;
        match c.read(WAIT).await {
            Read::Msg(Msg::Hello(_)) => {}
            other => panic!("B answered the hello with {other:?}"),
        }
        match c.read(QUIET).await {
            Read::Msg(Msg::Error(e)) => assert_eq!(e.code, Code::Malformed as u16, "{e:?}"),
            other => panic!("B answered the garbage sent with the hello with {other:?}"),
        }
        match c.read(WAIT).await {
            Read::Closed => {}
            other => panic!("B did not close the connection after its error: {other:?}"),
        }
        assert_eq!(h.snapshot().await, before);
        h.pay().await;
    });
}

impl Harness {
    /// Agrees on the final state with B.
    async fn finish(&mut self) {
        let mut c = self.greet().await;
        self.agree(&mut c, Update::Final).await;
    }

    /// Closes on L1 with the final state B holds and waits until B sees the channel paid out.
    async fn close_on_l1(&self) {
        let signed: SignedState = serde_json::from_value(
            rpc(&self.b, "channel_state", json!({"channel": self.id}))
                .await
                .expect("channel_state"),
        )
        .expect("a signed state");
        assert!(signed.state.is_final);
        self.w
            .adj()
            .cooperative_close(&*self.w.l1(1), &signed)
            .await
            .expect("cooperative close");
        for _ in 0..200 {
            let st = rpc(&self.b, "channel_status", json!({"channel": self.id}))
                .await
                .expect("channel_status")[0]
                .clone();
            if st["phase"] == json!("closed") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("B did not see the channel paid out");
    }
}

/// Nothing follows the final state: a proposal after it is refused as `closed`.
#[test]
fn a_proposal_after_the_final_state_is_refused() {
    run_logged(|logs| async move {
        let mut h = Harness::new(logs).await;
        h.finish().await;
        let after_final = ChannelState {
            version: h.latest.version + 1,
            balance_a: h.latest.balance_a - gwei(1),
            balance_b: h.latest.balance_b + gwei(1),
            is_final: false,
            ..h.latest
        };
        let case = case(
            "a payment after the final state",
            Start::Greeted,
            frame(&Msg::Propose(h.signed(after_final, h.next_payment()))),
            Code::Closed,
        );
        let before = h.snapshot().await;
        let e = h.attempt(&case).await;
        assert_eq!(e.code, Code::Closed as u16, "{e:?}");
        assert_eq!(h.snapshot().await, before);
    });
}

/// Once the channel is paid out on L1, B takes no hello for it (as after a restart, when B no
/// longer loads it and L1 says it is not open).
#[test]
fn a_channel_paid_out_on_l1_takes_no_more_hellos() {
    run_logged(|logs| async move {
        let mut h = Harness::new(logs).await;
        h.finish().await;
        h.close_on_l1().await;
        let mut conn = h.connect().await;
        conn.send_msg(&Msg::Hello(h.hello())).await;
        let mut answers = Vec::new();
        loop {
            match conn.read(QUIET).await {
                Read::Msg(Msg::Hello(m)) => answers.push(Msg::Hello(m)),
                Read::Msg(Msg::Error(e)) => {
                    assert_eq!(e.code, Code::WrongChannel as u16, "{e:?}");
                    break;
                }
                other => panic!(
                    "a hello for a channel paid out on L1: expected an error frame with code {}, \
                     B answered {answers:?} then {other:?}",
                    Code::WrongChannel as u16
                ),
            }
        }
        match conn.read(WAIT).await {
            Read::Closed => {}
            other => panic!("B did not close the connection after its error: {other:?}"),
        }
    });
}
