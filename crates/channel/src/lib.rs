//! loft's payment channels (`docs/channels.md`).
//!
//! Two parties lock funds once in the L1 adjudicator, then pay each other any number of times
//! with states both sign, and L1 only settles the result or a dispute. This crate holds every
//! part of that:
//!
//! - [`state`]: channel states, their EIP-712 digest (the contract's `hashState`) and signatures;
//! - [`wire`]: the peer protocol's frames and messages;
//! - [`engine`]: one channel's protocol state machine, without I/O;
//! - [`store`]: the daemon's database (redb), committed before anything is acknowledged;
//! - [`adjudicator`]: the L1 contract's bindings, deployment and events;
//! - [`daemon`]: the channel daemon: peer connections over TCP, the control JSON-RPC server, the
//!   L1 watcher that answers stale closes, and the peer time-out;
//! - [`tower`]: the watchtower that answers stale closes for channels whose owner is offline.

pub mod adjudicator;
pub mod daemon;
pub mod engine;
pub mod state;
pub mod store;
pub mod tower;
pub mod wire;

pub use adjudicator::{AdjudicatorAt, AdjudicatorError, deploy};
pub use state::{ChannelDomain, ChannelKey, ChannelState, SignedState};
