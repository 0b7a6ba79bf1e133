//! One channel's protocol state machine, without any I/O (`docs/channels.md` §3-§5).
//!
//! A numbers the versions: it proposes every state (its own payments, B's requested payments,
//! top-ups, the final state) and B countersigns each in order. Both sides keep up to a window of
//! payments in flight, so throughput is not bound by one round trip. Every incoming message is
//! checked completely before anything changes; a refusal leaves the channel as it was.
//!
//! The caller feeds messages in with [`Engine::on_msg`], lets [`Engine::pump`] start queued work,
//! commits [`Effects::batch`] durably, and only then sends [`Effects::send`] and reports
//! [`Effects::done`]: nothing is acknowledged before it is on disk.

use std::collections::{HashSet, VecDeque};
use std::time::Instant;

use alloy::primitives::{B256, Bytes, U256};
use tokio::sync::mpsc::UnboundedSender;

use crate::state::{ChannelDomain, ChannelKey, ChannelState, SignatureError, SignedState, verify};
use crate::store::{ChannelRecord, Phase, Role, Store, WriteBatch};
use crate::wire::{
    Ack, Code, ErrorMsg, Hello, LogEntry, Msg, NOTICE_CLOSE, NOTICE_FUNDED, Notice,
    PROTOCOL_VERSION, PayReject, PayRequest, Propose, Refusal, Sync, Update, WireSigned,
};

/// The result of one local payment: the version that settled it, or why it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The payment id.
    pub id: u64,
    /// The settling version.
    pub result: Result<u64, Refusal>,
    /// Microseconds from submission to the durable, fully signed state.
    pub latency_us: u64,
}

/// A payment of this side, waiting or in flight.
#[derive(Debug)]
pub struct Local {
    /// Payment id (unique among this side's payments in the channel).
    pub id: u64,
    /// Amount.
    pub amount: U256,
    /// When it entered the pipeline (set when it is proposed or requested; latency counts from
    /// there, not from the time it waited in the queue behind the window).
    pub submitted: Instant,
    /// Where its outcome goes.
    pub reply: Option<UnboundedSender<Outcome>>,
}

impl Local {
    /// Reports the outcome to whoever waits for it.
    pub fn finish(self, result: Result<u64, Refusal>) {
        if let Some(reply) = self.reply {
            let latency_us = self.submitted.elapsed().as_micros() as u64;
            let _ = reply.send(Outcome {
                id: self.id,
                result,
                latency_us,
            });
        }
    }
}

/// What processing produced: the caller commits `batch`, then sends `send`, then reports `done`.
#[derive(Debug, Default)]
pub struct Effects {
    /// Messages for the peer.
    pub send: Vec<Msg>,
    /// Durable writes.
    pub batch: WriteBatch,
    /// Finished local payments.
    pub done: Vec<(Local, Result<u64, Refusal>)>,
    /// Whether the record changed (written into `batch` by [`Engine::flush`]).
    pub dirty: bool,
}

/// A state A proposed and B has not yet countersigned.
#[derive(Debug)]
struct Pending {
    state: ChannelState,
    digest: B256,
    sig_a: Bytes,
    update: Update,
    local: Option<Local>,
}

/// One channel's protocol state.
#[derive(Debug)]
pub struct Engine {
    record: ChannelRecord,
    domain: ChannelDomain,
    key: ChannelKey,
    /// A: proposals awaiting B's signature, oldest first.
    proposals: VecDeque<Pending>,
    /// B: its requests sent to A and not yet answered.
    requests: VecDeque<Local>,
    /// Local payments not yet started.
    queue: VecDeque<Local>,
    /// Ids of local payments queued or in flight.
    in_flight: HashSet<u64>,
    /// Top-ups this side made on L1 that no state (proposed or signed) accounts for yet.
    my_fund: U256,
    /// A: B's announced top-ups still to propose.
    peer_fund: U256,
    /// Deposits on L1 as last read: a top-up enters a state only up to these.
    pub l1_deposits: (U256, U256),
    /// Most payments in flight at once.
    window: usize,
    /// The handshake with the current connection is done.
    synced: bool,
    /// Waiting for the peer's [`Sync`].
    awaiting_sync: bool,
    /// The peer's Hello arrived on the current connection.
    greeted: bool,
    /// A close was asked for (locally, or by B).
    close_wanted: bool,
    /// B: the close notice went out on this connection.
    close_sent: bool,
    /// B: the top-up notice for `my_fund` went out on this connection.
    fund_sent: bool,
}

fn sig_refusal(e: SignatureError) -> Refusal {
    match e {
        SignatureError::Missing => Refusal::new(Code::Unsigned, "the state is not signed"),
        other => Refusal::new(Code::BadSignature, other.to_string()),
    }
}

impl Engine {
    /// The engine of a stored channel.
    pub fn new(
        record: ChannelRecord,
        domain: ChannelDomain,
        key: ChannelKey,
        window: usize,
    ) -> Self {
        let l1_deposits = (
            record.latest.state.deposited_a,
            record.latest.state.deposited_b,
        );
        Self {
            record,
            domain,
            key,
            proposals: VecDeque::new(),
            requests: VecDeque::new(),
            queue: VecDeque::new(),
            in_flight: HashSet::new(),
            my_fund: U256::ZERO,
            peer_fund: U256::ZERO,
            l1_deposits,
            window: window.max(1),
            synced: false,
            awaiting_sync: false,
            greeted: false,
            close_wanted: false,
            close_sent: false,
            fund_sent: false,
        }
    }

    /// The channel record (newest fully signed state, phase).
    pub fn record(&self) -> &ChannelRecord {
        &self.record
    }

    /// Mutable access for the L1 watcher (phase, close time).
    pub fn record_mut(&mut self) -> &mut ChannelRecord {
        &mut self.record
    }

    /// Whether the handshake of the current connection is done.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Payments queued or in flight, and whether a close or top-up waits.
    pub fn outstanding(&self) -> usize {
        self.proposals.len()
            + self.requests.len()
            + self.queue.len()
            + usize::from(self.close_wanted && !self.record.latest.state.is_final)
            + usize::from(!self.my_fund.is_zero())
    }

    /// Whether a payment id of this side is queued or in flight.
    pub fn is_in_flight(&self, id: u64) -> bool {
        self.in_flight.contains(&id)
    }

    fn my_role(&self) -> Role {
        self.record.role
    }

    /// The state the next proposal builds on (A: after its outstanding proposals).
    fn tip(&self) -> &ChannelState {
        self.proposals
            .back()
            .map(|p| &p.state)
            .unwrap_or(&self.record.latest.state)
    }

    /// Queues a local payment. The caller has checked the id is not settled already.
    pub fn submit(&mut self, local: Local) {
        if self.record.phase != Phase::Open
            || self.close_wanted
            || self.record.latest.state.is_final
        {
            local.finish(Err(Refusal::new(Code::Closed, "the channel is closing")));
            return;
        }
        if !self.in_flight.insert(local.id) {
            local.finish(Err(Refusal::new(
                Code::Replayed,
                "payment id already in flight",
            )));
            return;
        }
        self.queue.push_back(local);
    }

    /// Asks for a cooperative close once the payments in flight are settled.
    pub fn request_close(&mut self) {
        self.close_wanted = true;
    }

    /// Records this side's top-up on L1 (already mined) so that a state accounts for it.
    pub fn funded(&mut self, amount: U256) {
        self.my_fund += amount;
        self.fund_sent = false;
    }

    /// This side's Hello for a new connection.
    pub fn hello(&mut self) -> Msg {
        self.disconnected();
        self.close_sent = false;
        self.fund_sent = false;
        Msg::Hello(Hello {
            protocol: PROTOCOL_VERSION,
            chain_id: self.domain.chain_id,
            adjudicator: self.domain.adjudicator,
            channel_id: self.record.id,
            sender: self.record.me(),
            latest_version: self.record.latest.state.version,
        })
    }

    /// The connection dropped: work in flight goes back to the queue, to be redone on the next
    /// connection (after the handshake settles what the peer already signed).
    pub fn disconnected(&mut self) {
        self.synced = false;
        self.greeted = false;
        self.awaiting_sync = false;
        let mut back: Vec<Local> = Vec::new();
        for p in self.proposals.drain(..) {
            if let Update::FundA { amount } = p.update {
                self.my_fund += amount;
            }
            if let Some(l) = p.local {
                back.push(l);
            }
        }
        // B announces its top-up again on the next connection.
        self.peer_fund = U256::ZERO;
        back.extend(self.requests.drain(..));
        for l in back.into_iter().rev() {
            self.queue.push_front(l);
        }
    }

    /// Fails everything queued or in flight (the channel is closing on L1).
    pub fn fail_all(&mut self, fx: &mut Effects, why: &str) {
        let mut all: Vec<Local> = self.queue.drain(..).collect();
        all.extend(self.requests.drain(..));
        all.extend(self.proposals.drain(..).filter_map(|p| p.local));
        for l in all {
            self.in_flight.remove(&l.id);
            fx.done
                .push((l, Err(Refusal::new(Code::Closed, why.to_string()))));
        }
    }

    /// Handles one message from the peer. On `Err` nothing changed and the connection must be
    /// closed after sending the refusal.
    pub fn on_msg(&mut self, msg: Msg, store: &Store, fx: &mut Effects) -> Result<(), Refusal> {
        if !self.greeted && !matches!(msg, Msg::Hello(_) | Msg::Error(_)) {
            return Err(Refusal::new(
                Code::Unexpected,
                format!("{} before hello", msg.name()),
            ));
        }
        match msg {
            Msg::Hello(h) => self.on_hello(h, store, fx),
            Msg::Sync(s) => self.on_sync(s, fx),
            Msg::Propose(p) => self.on_propose(p, fx),
            Msg::Ack(a) => self.on_ack(a, fx),
            Msg::PayRequest(r) => self.on_request(r, store, fx),
            Msg::PayReject(r) => self.on_reject(r, fx),
            Msg::Notice(n) => self.on_notice(n),
            Msg::Error(e) => Err(Refusal::new(
                Code::from_u16(e.code).unwrap_or(Code::Unexpected),
                format!("the peer refused: {}", e.message),
            )),
        }
    }

    fn expect_role(&self, role: Role, what: &str) -> Result<(), Refusal> {
        if self.my_role() == role {
            Ok(())
        } else {
            Err(Refusal::new(
                Code::Unexpected,
                format!("{what} is not for this side"),
            ))
        }
    }

    fn expect_synced(&self, what: &str) -> Result<(), Refusal> {
        if self.synced {
            Ok(())
        } else {
            Err(Refusal::new(
                Code::Unexpected,
                format!("{what} before the handshake ended"),
            ))
        }
    }

    /// Checks a peer's Hello without changing anything: the protocol version, this chain,
    /// adjudicator and channel, the counterparty as sender, and a channel not yet paid out.
    pub fn check_hello(&self, h: &Hello) -> Result<(), Refusal> {
        if h.protocol != PROTOCOL_VERSION {
            return Err(Refusal::new(
                Code::UnsupportedVersion,
                format!(
                    "protocol {} (this side speaks {PROTOCOL_VERSION})",
                    h.protocol
                ),
            ));
        }
        if h.chain_id != self.domain.chain_id
            || h.adjudicator != self.domain.adjudicator
            || h.channel_id != self.record.id
            || h.sender != self.record.peer()
        {
            return Err(Refusal::new(
                Code::WrongChannel,
                format!(
                    "hello for chain {} adjudicator {} channel {} from {}",
                    h.chain_id, h.adjudicator, h.channel_id, h.sender
                ),
            ));
        }
        if self.record.phase == Phase::Closed {
            return Err(Refusal::new(
                Code::WrongChannel,
                format!("channel {} is paid out on L1", h.channel_id),
            ));
        }
        Ok(())
    }

    fn on_hello(&mut self, h: Hello, store: &Store, fx: &mut Effects) -> Result<(), Refusal> {
        if self.greeted {
            return Err(Refusal::new(Code::Unexpected, "second hello"));
        }
        self.check_hello(&h)?;
        self.greeted = true;
        let mine = self.record.latest.state.version;
        if h.latest_version < mine {
            let entries = store
                .log_range(&self.record.id, h.latest_version + 1, mine)
                .map_err(|e| Refusal::new(Code::Unexpected, e.to_string()))?;
            if entries.len() as u64 != mine - h.latest_version {
                return Err(Refusal::new(
                    Code::OutOfOrder,
                    format!(
                        "the peer is at version {}, older than this side's log",
                        h.latest_version
                    ),
                ));
            }
            fx.send.push(Msg::Sync(Sync {
                entries,
                latest: WireSigned::from(&self.record.latest),
            }));
            self.synced = true;
        } else if h.latest_version > mine {
            self.awaiting_sync = true;
        } else {
            self.synced = true;
        }
        Ok(())
    }

    fn on_sync(&mut self, s: Sync, fx: &mut Effects) -> Result<(), Refusal> {
        if !self.awaiting_sync {
            return Err(Refusal::new(Code::Unexpected, "sync that was not due"));
        }
        let latest: SignedState = s.latest.into();
        let mut state = self.record.latest.state;
        for e in &s.entries {
            if e.version != state.version + 1 {
                return Err(Refusal::new(
                    Code::OutOfOrder,
                    "sync entries are not contiguous",
                ));
            }
            state = e
                .update
                .apply(&state)
                .map_err(|r| Refusal::new(Code::BalanceViolation, r.message))?;
        }
        if state != latest.state {
            return Err(Refusal::new(
                Code::BalanceViolation,
                "the sync entries do not lead to the signed state",
            ));
        }
        latest
            .verify(&self.domain, self.record.a, self.record.b)
            .map_err(sig_refusal)?;
        // Accepted: the entries and the state become ours; payments of ours they settle finish.
        for e in &s.entries {
            fx.batch.log.push((self.record.id, *e));
            let mine = match (self.my_role(), e.update) {
                (Role::A, Update::PayAtoB { id, .. }) | (Role::B, Update::PayBtoA { id, .. }) => {
                    Some(id)
                }
                _ => None,
            };
            if let Some(id) = mine
                && let Some(pos) = self.queue.iter().position(|l| l.id == id)
            {
                let l = self.queue.remove(pos).expect("position is valid");
                self.in_flight.remove(&id);
                fx.done.push((l, Ok(e.version)));
            }
            if let (Role::A, Update::FundA { amount }) | (Role::B, Update::FundB { amount }) =
                (self.my_role(), e.update)
            {
                self.my_fund = self.my_fund.saturating_sub(amount);
            }
        }
        self.record.latest = latest;
        fx.dirty = true;
        self.awaiting_sync = false;
        self.synced = true;
        Ok(())
    }

    fn check_order(&self, version: u64, expected: u64) -> Result<(), Refusal> {
        if version < expected {
            Err(Refusal::new(
                Code::Replayed,
                format!("version {version} is not newer than {}", expected - 1),
            ))
        } else if version > expected {
            Err(Refusal::new(
                Code::OutOfOrder,
                format!("version {version} skips ahead of {expected}"),
            ))
        } else {
            Ok(())
        }
    }

    fn on_propose(&mut self, p: Propose, fx: &mut Effects) -> Result<(), Refusal> {
        self.expect_role(Role::B, "a proposal")?;
        self.expect_synced("a proposal")?;
        let state: ChannelState = p.state;
        if state.channel_id != self.record.id {
            return Err(Refusal::new(
                Code::WrongChannel,
                "proposal for another channel",
            ));
        }
        let prev = self.record.latest.state;
        self.check_order(state.version, prev.version + 1)?;
        if self.record.phase != Phase::Open {
            return Err(Refusal::new(Code::Closed, "the channel is closing on L1"));
        }
        let expected = p.update.apply(&prev).map_err(|r| {
            Refusal::new(
                if r.code == Code::Closed {
                    Code::Closed
                } else {
                    Code::BalanceViolation
                },
                r.message,
            )
        })?;
        if expected != state {
            return Err(Refusal::new(
                Code::BalanceViolation,
                format!(
                    "the proposed state of version {} does not follow from its update",
                    state.version
                ),
            ));
        }
        let mut answered = None;
        match p.update {
            Update::PayBtoA { id, amount } => {
                let pos = self
                    .requests
                    .iter()
                    .position(|r| r.id == id && r.amount == amount)
                    .ok_or_else(|| {
                        Refusal::new(
                            Code::Unexpected,
                            format!("B did not ask to pay {amount} as payment {id}"),
                        )
                    })?;
                answered = Some(pos);
            }
            Update::FundA { .. } | Update::FundB { .. } => {
                if state.deposited_a > self.l1_deposits.0 || state.deposited_b > self.l1_deposits.1
                {
                    return Err(Refusal::new(
                        Code::BalanceViolation,
                        "the top-up is not on L1",
                    ));
                }
            }
            Update::PayAtoB { .. } | Update::Final => {}
        }
        let digest = state.digest(&self.domain);
        verify(&p.sig, &digest, self.record.a).map_err(sig_refusal)?;
        // Accepted.
        let sig_b = self.key.sign(&digest);
        self.record.latest = SignedState {
            state,
            sig_a: p.sig.to_vec(),
            sig_b: sig_b.to_vec(),
        };
        fx.dirty = true;
        fx.batch.log.push((
            self.record.id,
            LogEntry {
                version: state.version,
                update: p.update,
            },
        ));
        fx.send.push(Msg::Ack(Ack {
            version: state.version,
            sig: Bytes::copy_from_slice(&sig_b),
        }));
        if let Some(pos) = answered {
            let l = self.requests.remove(pos).expect("position is valid");
            self.in_flight.remove(&l.id);
            fx.done.push((l, Ok(state.version)));
        }
        if let Update::FundB { amount } = p.update {
            self.my_fund = self.my_fund.saturating_sub(amount);
        }
        if state.is_final {
            let why = "the channel closed cooperatively";
            self.fail_all(fx, why);
        }
        Ok(())
    }

    fn on_ack(&mut self, a: Ack, fx: &mut Effects) -> Result<(), Refusal> {
        self.expect_role(Role::A, "an ack")?;
        self.expect_synced("an ack")?;
        let expected = self.record.latest.state.version + 1;
        let front = self.proposals.front().ok_or_else(|| {
            self.check_order(a.version, expected)
                .err()
                .unwrap_or_else(|| {
                    Refusal::new(
                        Code::OutOfOrder,
                        format!("ack of version {} that was never proposed", a.version),
                    )
                })
        })?;
        self.check_order(a.version, front.state.version)?;
        verify(&a.sig, &front.digest, self.record.b).map_err(sig_refusal)?;
        let p = self.proposals.pop_front().expect("front exists");
        self.record.latest = SignedState {
            state: p.state,
            sig_a: p.sig_a.to_vec(),
            sig_b: a.sig.to_vec(),
        };
        fx.dirty = true;
        fx.batch.log.push((
            self.record.id,
            LogEntry {
                version: p.state.version,
                update: p.update,
            },
        ));
        if let Some(l) = p.local {
            self.in_flight.remove(&l.id);
            fx.done.push((l, Ok(p.state.version)));
        }
        if p.state.is_final {
            self.fail_all(fx, "the channel closed cooperatively");
        }
        Ok(())
    }

    fn on_request(
        &mut self,
        r: PayRequest,
        store: &Store,
        fx: &mut Effects,
    ) -> Result<(), Refusal> {
        self.expect_role(Role::A, "a payment request")?;
        self.expect_synced("a payment request")?;
        let reject = |fx: &mut Effects, code: Code, message: String| {
            fx.send.push(Msg::PayReject(PayReject {
                id: r.id,
                code: code as u16,
                message,
            }));
        };
        let settled = store
            .paid(&self.record.id, Role::B, r.id)
            .map_err(|e| Refusal::new(Code::Unexpected, e.to_string()))?;
        let pending = self
            .proposals
            .iter()
            .any(|p| matches!(p.update, Update::PayBtoA { id, .. } if id == r.id));
        if settled.is_some() || pending {
            reject(
                fx,
                Code::Replayed,
                format!("payment {} of B is already settled or in flight", r.id),
            );
            return Ok(());
        }
        if self.record.phase != Phase::Open || self.close_wanted || self.tip().is_final {
            reject(fx, Code::Closed, "the channel is closing".into());
            return Ok(());
        }
        match (Update::PayBtoA {
            id: r.id,
            amount: r.amount,
        })
        .apply(self.tip())
        {
            Ok(_) => {
                self.propose(
                    Update::PayBtoA {
                        id: r.id,
                        amount: r.amount,
                    },
                    None,
                    fx,
                );
            }
            Err(e) => reject(fx, e.code, e.message),
        }
        Ok(())
    }

    fn on_reject(&mut self, r: PayReject, fx: &mut Effects) -> Result<(), Refusal> {
        self.expect_role(Role::B, "a payment refusal")?;
        let pos = self
            .requests
            .iter()
            .position(|l| l.id == r.id)
            .ok_or_else(|| {
                Refusal::new(
                    Code::Unexpected,
                    format!("refusal of payment {} that was never asked", r.id),
                )
            })?;
        let l = self.requests.remove(pos).expect("position is valid");
        self.in_flight.remove(&l.id);
        let code = Code::from_u16(r.code).unwrap_or(Code::Unexpected);
        fx.done.push((
            l,
            Err(Refusal::new(code, format!("A refused: {}", r.message))),
        ));
        Ok(())
    }

    fn on_notice(&mut self, n: Notice) -> Result<(), Refusal> {
        self.expect_role(Role::A, "a notice")?;
        self.expect_synced("a notice")?;
        match n.kind {
            NOTICE_CLOSE => {
                self.close_wanted = true;
                Ok(())
            }
            NOTICE_FUNDED => {
                if n.amount.is_zero() {
                    return Err(Refusal::new(Code::BalanceViolation, "top-up of zero"));
                }
                let tip = self.tip();
                let wanted = tip
                    .deposited_b
                    .checked_add(self.peer_fund)
                    .and_then(|d| d.checked_add(n.amount));
                if wanted.is_none_or(|w| w > self.l1_deposits.1) {
                    return Err(Refusal::new(
                        Code::BalanceViolation,
                        "the top-up is not on L1",
                    ));
                }
                self.peer_fund = self.peer_fund.saturating_add(n.amount);
                Ok(())
            }
            other => Err(Refusal::new(
                Code::Malformed,
                format!("unknown notice kind {other}"),
            )),
        }
    }

    /// A: signs and queues the proposal of the next version.
    fn propose(&mut self, update: Update, local: Option<Local>, fx: &mut Effects) {
        let state = update.apply(self.tip()).expect("checked by the caller");
        let digest = state.digest(&self.domain);
        let sig = Bytes::copy_from_slice(&self.key.sign(&digest));
        fx.send.push(Msg::Propose(Propose {
            state,
            update,
            sig: sig.clone(),
        }));
        self.proposals.push_back(Pending {
            state,
            digest,
            sig_a: sig,
            update,
            local,
        });
    }

    /// Starts queued work as far as the window allows.
    pub fn pump(&mut self, fx: &mut Effects) {
        if !self.synced || self.record.phase != Phase::Open || self.record.latest.state.is_final {
            return;
        }
        match self.my_role() {
            Role::A => {
                if self.tip().is_final {
                    return;
                }
                let mine = self.my_fund;
                if !mine.is_zero() && self.tip().deposited_a + mine <= self.l1_deposits.0 {
                    self.propose(Update::FundA { amount: mine }, None, fx);
                    self.my_fund = U256::ZERO;
                }
                let theirs = self.peer_fund;
                if !theirs.is_zero() {
                    self.propose(Update::FundB { amount: theirs }, None, fx);
                    self.peer_fund = U256::ZERO;
                }
                while self.proposals.len() < self.window
                    && let Some(mut l) = self.queue.pop_front()
                {
                    l.submitted = Instant::now();
                    let update = Update::PayAtoB {
                        id: l.id,
                        amount: l.amount,
                    };
                    match update.apply(self.tip()) {
                        Ok(_) => self.propose(update, Some(l), fx),
                        Err(e) => {
                            self.in_flight.remove(&l.id);
                            fx.done.push((l, Err(e)));
                        }
                    }
                }
                if self.close_wanted && self.queue.is_empty() {
                    self.propose(Update::Final, None, fx);
                }
            }
            Role::B => {
                if !self.my_fund.is_zero() && !self.fund_sent {
                    fx.send.push(Msg::Notice(Notice {
                        kind: NOTICE_FUNDED,
                        amount: self.my_fund,
                    }));
                    self.fund_sent = true;
                }
                while self.requests.len() < self.window
                    && let Some(mut l) = self.queue.pop_front()
                {
                    l.submitted = Instant::now();
                    fx.send.push(Msg::PayRequest(PayRequest {
                        id: l.id,
                        amount: l.amount,
                    }));
                    self.requests.push_back(l);
                }
                if self.close_wanted && !self.close_sent && self.queue.is_empty() {
                    fx.send.push(Msg::Notice(Notice {
                        kind: NOTICE_CLOSE,
                        amount: U256::ZERO,
                    }));
                    self.close_sent = true;
                }
            }
        }
    }

    /// Moves the record into the batch if it changed.
    pub fn flush(&self, fx: &mut Effects) {
        if fx.dirty {
            fx.batch.records.push(self.record.clone());
            fx.dirty = false;
        }
    }

    /// The refusal as a message for the peer.
    pub fn error_msg(r: &Refusal) -> Msg {
        Msg::Error(ErrorMsg {
            code: r.code as u16,
            message: r.message.clone(),
        })
    }
}
