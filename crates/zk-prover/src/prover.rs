//! Groth16 over BN254 for the batch circuit: key generation (a deterministic devnet setup, or
//! keys produced elsewhere), key files, proving and native verification.

use std::{path::Path, time::Instant};

use ark_bn254::Bn254;
use ark_groth16::{Groth16, PreparedVerifyingKey, Proof, ProvingKey, VerifyingKey};
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, Compress, Validate};
use ark_snark::SNARK;
use ark_std::rand::{SeedableRng, rngs::StdRng};
use loft_zk::{Batch, ZkParams};

use crate::circuit::BatchCircuit;

/// Errors of setup, key files and proving.
#[derive(Debug, thiserror::Error)]
pub enum ProverError {
    /// Reading or writing a key file.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A key file does not hold a key of this circuit.
    #[error("key file {path} is not a valid key: {message}")]
    BadKey {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The circuit could not be synthesized or proved (an invalid batch).
    #[error("proving failed: {0}")]
    Prove(String),
}

/// A proving key and its verifying key for one circuit shape.
#[derive(Clone)]
pub struct Keys {
    /// The proving key.
    pub pk: ProvingKey<Bn254>,
    /// The prepared verifying key.
    pub pvk: PreparedVerifyingKey<Bn254>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("constraints", &self.pk.a_query.len())
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// Bytes of the proving key in its uncompressed serialization (what [`Keys::save`] writes).
    pub fn proving_key_bytes(&self) -> usize {
        self.pk.uncompressed_size()
    }

    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<Bn254> {
        &self.pk.vk
    }

    /// **Insecure** deterministic setup for development chains: the toxic waste comes from a
    /// seed anyone can recompute, so anyone can forge proofs. Never use it where money is real.
    pub fn devnet_setup(params: ZkParams, seed: u64) -> Result<Self, ProverError> {
        let mut rng = StdRng::seed_from_u64(seed);
        let started = Instant::now();
        tracing::info!(target: "loft_zk_prover", ?params, "generating the devnet proving key (insecure, deterministic)");
        let (pk, vk) =
            Groth16::<Bn254>::circuit_specific_setup(BatchCircuit::blank(params), &mut rng)
                .map_err(|e| ProverError::Prove(e.to_string()))?;
        tracing::info!(target: "loft_zk_prover", secs = started.elapsed().as_secs_f64(), "proving key ready");
        let pvk =
            Groth16::<Bn254>::process_vk(&vk).map_err(|e| ProverError::Prove(e.to_string()))?;
        Ok(Self { pk, pvk })
    }

    /// Loads a proving key file (arkworks' uncompressed serialization), as produced by
    /// [`Keys::save`] or by an external ceremony's tooling in the same format.
    pub fn load(path: &Path) -> Result<Self, ProverError> {
        let p = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| ProverError::Io {
            path: p.clone(),
            source,
        })?;
        // The key is our own file or a ceremony's; points are checked once on load.
        let pk = ProvingKey::<Bn254>::deserialize_with_mode(
            bytes.as_slice(),
            Compress::No,
            Validate::Yes,
        )
        .map_err(|e| ProverError::BadKey {
            path: p.clone(),
            message: e.to_string(),
        })?;
        let pvk =
            Groth16::<Bn254>::process_vk(&pk.vk).map_err(|e| ProverError::Prove(e.to_string()))?;
        Ok(Self { pk, pvk })
    }

    /// Writes the proving key (written to a temporary file, then renamed).
    pub fn save(&self, path: &Path) -> Result<(), ProverError> {
        let p = path.display().to_string();
        let mut bytes = Vec::new();
        self.pk
            .serialize_with_mode(&mut bytes, Compress::No)
            .map_err(|e| ProverError::BadKey {
                path: p.clone(),
                message: e.to_string(),
            })?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &bytes).map_err(|source| ProverError::Io {
            path: p.clone(),
            source,
        })?;
        std::fs::rename(&tmp, path).map_err(|source| ProverError::Io { path: p, source })
    }

    /// Loads the key at `path`, or runs the devnet setup and caches it there.
    pub fn devnet_cached(params: ZkParams, seed: u64, path: &Path) -> Result<Self, ProverError> {
        if path.exists() {
            return Self::load(path);
        }
        let keys = Self::devnet_setup(params, seed)?;
        keys.save(path)?;
        Ok(keys)
    }

    /// Proves a batch. Refuses a batch whose witness does not satisfy the circuit.
    pub fn prove(&self, params: ZkParams, batch: &Batch) -> Result<Proof<Bn254>, ProverError> {
        let mut rng = StdRng::from_entropy();
        let started = Instant::now();
        let proof =
            Groth16::<Bn254>::prove(&self.pk, BatchCircuit::new(params, batch.clone()), &mut rng)
                .map_err(|e| ProverError::Prove(e.to_string()))?;
        tracing::info!(target: "loft_zk_prover", secs = started.elapsed().as_secs_f64(), "batch proved");
        if !self.verify(batch, &proof) {
            return Err(ProverError::Prove(
                "the batch does not satisfy the circuit".into(),
            ));
        }
        Ok(proof)
    }

    /// Checks a proof of `batch` natively.
    pub fn verify(&self, batch: &Batch, proof: &Proof<Bn254>) -> bool {
        Groth16::<Bn254>::verify_with_processed_vk(&self.pvk, &[batch.public_input()], proof)
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loft_zk::testing;

    #[test]
    fn a_small_batch_proves_and_verifies_and_keys_round_trip() {
        let params = ZkParams {
            tree_depth: 8,
            batch_general: 1,
            batch_transfers: 1,
            chain_id: 7,
        };
        let keys = Keys::devnet_setup(params, 1).unwrap();
        let mut tree = testing::dev_genesis(8, 2, 1000);
        let t = testing::signed_transfer(7, &testing::dev_key(1), 1, 0, 10, 1, 0);
        let batch = loft_zk::apply_batch(params, &mut tree, &[], &[t]).unwrap();
        let proof = keys.prove(params, &batch).unwrap();
        assert!(keys.verify(&batch, &proof));
        let mut other = batch.clone();
        other.pubdata[params.pubdata_len() - 1] ^= 1;
        assert!(
            !keys.verify(&other, &proof),
            "a proof binds its public data"
        );

        let dir = std::env::temp_dir().join(format!("loft-zk-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pk.bin");
        keys.save(&path).unwrap();
        let loaded = Keys::load(&path).unwrap();
        assert!(loaded.verify(&batch, &proof));
        std::fs::write(&path, b"garbage").unwrap();
        assert!(matches!(Keys::load(&path), Err(ProverError::BadKey { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
