//! Integration tests of the embedded L1 dev chain, in one test binary.

mod base_fee;
mod blobs;
mod client;
mod common;
mod estimate;
mod interval;
mod logs;
mod persistence;
mod props;
mod rpc;
mod time;
mod zk;
