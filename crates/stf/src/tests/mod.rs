//! Tests of the whole crate: refusals, effects, blocks, the codec, and properties.

mod codec;
mod compact;
mod effects;
mod forced;
mod props;
mod refusals;
mod util;
