//! loft's zk profile (`docs/zk-rollup.md`): the one parameter set (Poseidon over BN254, EdDSA
//! over Baby Jubjub), the quaternary account tree, the state transition function, the
//! public data and the wire encoding of signed operations. Pure: no I/O; the circuit in
//! `loft-zk-prover` re-checks what this crate does.

pub mod keys;
pub mod pack;
pub mod poseidon;
pub mod pubdata;
pub mod replay;
pub mod stf;
pub mod testing;
pub mod tree;
pub mod wire;

#[cfg(test)]
mod stf_tests;

/// BN254's scalar field: the field of the circuit, of Poseidon and of Baby Jubjub's coordinates.
pub type Fr = ark_bn254::Fr;
/// Baby Jubjub's scalar field (the order of its prime subgroup).
pub type Scalar = ark_ed_on_bn254::Fr;

pub use keys::{PublicKey, SecretKey, Signature};
pub use stf::{Batch, BatchBuilder, GeneralOp, OpError, TransferOp, ZkParams, apply_batch};
pub use tree::{Account, AccountTree};
pub use wire::{L2Op, WireError};
