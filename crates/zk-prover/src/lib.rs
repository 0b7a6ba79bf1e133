//! loft's zk prover: the batch circuit over the state transition of `loft-zk`
//! (`docs/zk-rollup.md` §6), Groth16 setup and proving over BN254, and the Solidity verifier
//! generated from a verifying key.

pub mod circuit;
pub mod prover;
pub mod solidity;
