//! loft's challenger (`docs/fraud-proofs.md` §5): finds the first wrong step of a bad batch and
//! proves it on L1.
//!
//! - [`driver`]: one round of the game on L1 for a bad batch ([`Challenger::round`]).
//! - [`watch`]: the challenger role, a verifier and a round per poll.
//! - [`game`]: which leaf to open next and which proof to send, from what is known of the
//!   poster's step tree and the honest one.

pub mod driver;
pub mod game;
pub mod watch;

pub use driver::{Case, Challenger, ChallengerError, Progress, from_sol, to_sol};
pub use game::{Knowledge, Plan, tree_depth};
pub use watch::{Tick, WatchConfig, tick, watch};
