//! Poseidon over BN254's scalar field: the one parameter set of the zk profile
//! (`docs/zk-rollup.md` §1.1).
//!
//! The permutation and the Grain LFSR constant generation are arkworks' (`ark-crypto-primitives`
//! sponge); this module fixes the parameters and the way a fixed-length hash uses the sponge, so
//! that the native code, the circuit and any Solidity port compute the same function.

use std::sync::OnceLock;

use ark_crypto_primitives::sponge::{
    CryptographicSponge,
    poseidon::{PoseidonConfig, PoseidonSponge, find_poseidon_ark_and_mds},
};

use crate::Fr;

/// S-box exponent.
pub const ALPHA: u64 = 5;
/// Full rounds (half before, half after the partial rounds).
pub const FULL_ROUNDS: usize = 8;
/// Partial rounds of the width-5 permutation (`H4`).
pub const PARTIAL_ROUNDS_T5: usize = 60;
/// Partial rounds of the width-6 permutation (`H5`).
pub const PARTIAL_ROUNDS_T6: usize = 60;

fn config(rate: usize, partial_rounds: usize) -> PoseidonConfig<Fr> {
    let (ark, mds) =
        find_poseidon_ark_and_mds::<Fr>(254, rate, FULL_ROUNDS as u64, partial_rounds as u64, 0);
    PoseidonConfig::new(FULL_ROUNDS, partial_rounds, ALPHA, mds, ark, rate, 1)
}

/// The parameters of `H4` (width 5, rate 4, capacity 1).
pub fn config_h4() -> &'static PoseidonConfig<Fr> {
    static C: OnceLock<PoseidonConfig<Fr>> = OnceLock::new();
    C.get_or_init(|| config(4, PARTIAL_ROUNDS_T5))
}

/// The parameters of `H5` (width 6, rate 5, capacity 1).
pub fn config_h5() -> &'static PoseidonConfig<Fr> {
    static C: OnceLock<PoseidonConfig<Fr>> = OnceLock::new();
    C.get_or_init(|| config(5, PARTIAL_ROUNDS_T6))
}

fn hash(config: &PoseidonConfig<Fr>, inputs: &[Fr]) -> Fr {
    assert!(inputs.len() <= config.rate, "at most `rate` inputs");
    let mut sponge = PoseidonSponge::new(config);
    sponge.absorb(&inputs);
    sponge.squeeze_field_elements::<Fr>(1)[0]
}

/// `H4(x_1 … x_k)`, `k ≤ 4`: element 1 of the width-5 permutation of `[0, x_1, …, x_k, 0, …]`.
pub fn h4(inputs: &[Fr]) -> Fr {
    hash(config_h4(), inputs)
}

/// `H5(x_1 … x_k)`, `k ≤ 5`: element 1 of the width-6 permutation of `[0, x_1, …, x_k, 0, …]`.
pub fn h5(inputs: &[Fr]) -> Fr {
    hash(config_h5(), inputs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{AdditiveGroup, Field};

    #[test]
    fn missing_inputs_are_zero_and_inputs_matter() {
        let a = Fr::from(1u64);
        let b = Fr::from(2u64);
        assert_eq!(h4(&[a, b]), h4(&[a, b, Fr::ZERO, Fr::ZERO]));
        assert_ne!(h4(&[a, b]), h4(&[b, a]));
        assert_ne!(h4(&[a]), h5(&[a]));
        assert_ne!(h4(&[]), Fr::ZERO);
        assert_ne!(h4(&[Fr::ONE]), Fr::ONE);
    }

    #[test]
    fn parameters_have_the_documented_shape() {
        let c = config_h4();
        assert_eq!(
            (c.rate, c.capacity, c.full_rounds, c.partial_rounds),
            (4, 1, 8, 60)
        );
        assert_eq!(c.ark.len(), 68);
        assert_eq!(c.mds.len(), 5);
        let c = config_h5();
        assert_eq!(
            (c.rate, c.capacity, c.full_rounds, c.partial_rounds),
            (5, 1, 8, 60)
        );
    }
}
