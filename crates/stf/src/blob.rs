//! Batch data in EIP-4844 blobs, and the openings a fraud proof needs to read its bytes on L1.
//!
//! A blob is 4,096 field elements of 32 bytes, each below the BLS12-381 scalar modulus. Batch
//! data (version 1, unchanged) is cut into 31-byte pieces: piece `k` is bytes 1..32 of element
//! `k mod 4096` of blob `k div 4096`; byte 0 of every element is 0 (so every element is below
//! the modulus) and carries nothing; the bytes after the data's end are zero. A blob so holds
//! [`DATA_PER_BLOB`] = 126,976 bytes of data.
//!
//! On L1 a byte is read by opening its element with the point-evaluation precompile (0x0A):
//! element `i` of a blob is the blob polynomial's value at `z = ω^brp(i)`, where `ω` is the
//! primitive 4,096th root of unity `7^((r - 1) / 4096) mod r` and `brp` reverses the 12 bits of
//! `i` (the consensus specs' evaluation domain in bit-reversed order). [`element_opening`] gives
//! `(z, y, proof)` for an element, checked here against the blob's commitment.
//!
//! KZG itself (commitments, proofs) is c-kzg with Ethereum's trusted setup, through alloy's
//! settings; only the packing and the evaluation point are loft's.

use alloy::eips::eip4844::env_settings::EnvKzgSettings;
use alloy::eips::eip4844::{BYTES_PER_BLOB, Blob, BlobTransactionSidecar, kzg_to_versioned_hash};
use alloy::primitives::{B256, U256, uint};

/// Field elements per blob.
pub const ELEMENTS_PER_BLOB: usize = 4096;
/// Data bytes carried by one field element (its first byte is always 0).
pub const DATA_PER_ELEMENT: usize = 31;
/// Data bytes carried by one blob.
pub const DATA_PER_BLOB: usize = ELEMENTS_PER_BLOB * DATA_PER_ELEMENT;

/// The BLS12-381 scalar field modulus `r`.
pub const BLS_MODULUS: U256 =
    uint!(0x73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001_U256);

/// Why blob data could not be packed, read or opened.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BlobError {
    /// The blobs cannot hold that many bytes.
    #[error("{blobs} blobs hold at most {} bytes of data, not {len}", .blobs * DATA_PER_BLOB)]
    TooShort {
        /// Blobs given.
        blobs: usize,
        /// Data length asked for.
        len: usize,
    },
    /// No such element.
    #[error("element {0} is beyond a blob's 4096")]
    NoSuchElement(usize),
    /// c-kzg refused.
    #[error("KZG: {0}")]
    Kzg(String),
}

/// Blobs needed for `len` bytes of data (at least one).
pub fn blobs_for(len: usize) -> usize {
    len.div_ceil(DATA_PER_BLOB).max(1)
}

/// Where data byte `offset` lives: (blob, element, byte within the element's 32).
pub fn locate(offset: usize) -> (usize, usize, usize) {
    let blob = offset / DATA_PER_BLOB;
    let within = offset % DATA_PER_BLOB;
    (
        blob,
        within / DATA_PER_ELEMENT,
        1 + within % DATA_PER_ELEMENT,
    )
}

/// Packs `data` into as few blobs as hold it.
pub fn pack(data: &[u8]) -> Vec<Blob> {
    let mut blobs = vec![Blob::ZERO; blobs_for(data.len())];
    for (k, piece) in data.chunks(DATA_PER_ELEMENT).enumerate() {
        let blob = &mut blobs[k / ELEMENTS_PER_BLOB];
        let at = (k % ELEMENTS_PER_BLOB) * 32 + 1;
        blob[at..at + piece.len()].copy_from_slice(piece);
    }
    blobs
}

/// Most blobs one transaction carries (EIP-7594, Osaka; anvil refuses more).
pub const MAX_BLOBS_PER_TX: usize = 6;

/// The EIP-4844 sidecar that carries `data` packed with [`pack`]: the blobs, their commitments
/// and one blob proof each (the form both loft's L1s and anvil accept; a network after Osaka
/// wants cell proofs, `BlobTransactionSidecar::try_into_7594`).
pub fn sidecar(data: &[u8]) -> Result<BlobTransactionSidecar, BlobError> {
    BlobTransactionSidecar::try_from_blobs_with_settings(pack(data), EnvKzgSettings::Default.get())
        .map_err(|e| BlobError::Kzg(e.to_string()))
}

/// The first `len` data bytes of `blobs`: bytes 1..32 of each element in order. Byte 0 of every
/// element is ignored, whatever a poster wrote there (loft's posters write 0): the on-chain step
/// verifier reads an element the same way, so derivation and fraud proofs see the same bytes
/// (`docs/fraud-proofs.md` §3).
pub fn unpack(blobs: &[Blob], len: usize) -> Result<Vec<u8>, BlobError> {
    if len > blobs.len() * DATA_PER_BLOB {
        return Err(BlobError::TooShort {
            blobs: blobs.len(),
            len,
        });
    }
    let mut out = Vec::with_capacity(len);
    for blob in blobs {
        for e in 0..ELEMENTS_PER_BLOB {
            if out.len() >= len {
                return Ok(out);
            }
            let element = &blob[e * 32..e * 32 + 32];
            let take = (len - out.len()).min(DATA_PER_ELEMENT);
            out.extend_from_slice(&element[1..1 + take]);
        }
    }
    Ok(out)
}

/// `ω`, the primitive 4,096th root of unity of the BLS12-381 scalar field (7 is the field's
/// generator the consensus specs use).
pub fn root_of_unity() -> U256 {
    let exponent = (BLS_MODULUS - U256::from(1)) / U256::from(ELEMENTS_PER_BLOB);
    U256::from(7).pow_mod(exponent, BLS_MODULUS)
}

/// The evaluation point of element `element`: `ω^brp(element)`, big-endian.
pub fn evaluation_point(element: usize) -> Result<B256, BlobError> {
    if element >= ELEMENTS_PER_BLOB {
        return Err(BlobError::NoSuchElement(element));
    }
    let reversed = (element as u16).reverse_bits() >> 4;
    Ok(B256::from(
        root_of_unity().pow_mod(U256::from(reversed), BLS_MODULUS),
    ))
}

/// The KZG commitment of a blob and its versioned hash (what `BLOBHASH` returns on L1).
pub fn commitment(blob: &Blob) -> Result<([u8; 48], B256), BlobError> {
    let settings = EnvKzgSettings::Default.get();
    let blob = c_kzg::Blob::new(blob.0);
    let c = settings
        .blob_to_kzg_commitment(&blob)
        .map_err(|e| BlobError::Kzg(e.to_string()))?;
    let bytes = c.to_bytes().into_inner();
    Ok((bytes, kzg_to_versioned_hash(&bytes)))
}

/// An opening of one element: the precompile's `z`, `y` (the element itself) and proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementOpening {
    /// Evaluation point.
    pub z: B256,
    /// Value: the element's 32 bytes.
    pub y: B256,
    /// KZG proof.
    pub proof: [u8; 48],
}

/// Opens element `element` of `blob` (its value proven against the blob's commitment).
pub fn element_opening(blob: &Blob, element: usize) -> Result<ElementOpening, BlobError> {
    let z = evaluation_point(element)?;
    let settings = EnvKzgSettings::Default.get();
    let (proof, y) = settings
        .compute_kzg_proof(&c_kzg::Blob::new(blob.0), &c_kzg::Bytes32::new(z.0))
        .map_err(|e| BlobError::Kzg(e.to_string()))?;
    Ok(ElementOpening {
        z,
        y: B256::from(*y),
        proof: proof.to_bytes().into_inner(),
    })
}

/// Checks an opening against a commitment, as the point-evaluation precompile does.
pub fn verify_opening(commitment: &[u8; 48], opening: &ElementOpening) -> Result<bool, BlobError> {
    EnvKzgSettings::Default
        .get()
        .verify_kzg_proof(
            &c_kzg::Bytes48::new(*commitment),
            &c_kzg::Bytes32::new(opening.z.0),
            &c_kzg::Bytes32::new(opening.y.0),
            &c_kzg::Bytes48::new(opening.proof),
        )
        .map_err(|e| BlobError::Kzg(e.to_string()))
}

const _: () = assert!(BYTES_PER_BLOB == ELEMENTS_PER_BLOB * 32);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn data(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) | 1)
            .collect()
    }

    #[test]
    fn the_sidecar_commits_to_the_packed_blobs() {
        let data: Vec<u8> = (0..DATA_PER_BLOB + 500).map(|i| (i * 7) as u8).collect();
        let sc = sidecar(&data).unwrap();
        let blobs = pack(&data);
        assert_eq!(sc.blobs, blobs);
        let hashes: Vec<B256> = sc.versioned_hashes().collect();
        for (blob, hash) in blobs.iter().zip(&hashes) {
            assert_eq!(commitment(blob).unwrap().1, *hash);
        }
        sc.validate(&hashes, EnvKzgSettings::Default.get()).unwrap();
        assert_eq!(unpack(&sc.blobs, data.len()).unwrap(), data);
    }

    proptest! {
        #[test]
        fn pack_then_unpack_gives_the_data_back(len in 0usize..300_000, seed in any::<u8>()) {
            let d = data(len, seed);
            let blobs = pack(&d);
            prop_assert_eq!(blobs.len(), blobs_for(len));
            prop_assert_eq!(unpack(&blobs, len).unwrap(), d.clone());
            // Every byte is where `locate` says.
            for offset in [0, len / 2, len.saturating_sub(1)] {
                if offset < len {
                    let (b, e, byte) = locate(offset);
                    prop_assert_eq!(blobs[b][e * 32 + byte], d[offset]);
                }
            }
        }
    }

    #[test]
    fn every_element_is_below_the_modulus_and_unpacking_ignores_byte_zero() {
        let blobs = pack(&[0xff; DATA_PER_BLOB]);
        for e in 0..ELEMENTS_PER_BLOB {
            assert!(U256::from_be_slice(&blobs[0][e * 32..e * 32 + 32]) < BLS_MODULUS);
        }
        let mut high = blobs[0];
        high[5 * 32] = 0x42;
        assert_eq!(unpack(&[high], 200), unpack(&blobs, 200));
        assert!(matches!(
            unpack(&blobs, DATA_PER_BLOB + 1),
            Err(BlobError::TooShort { .. })
        ));
    }

    #[test]
    fn omega_has_order_4096() {
        let w = root_of_unity();
        assert_eq!(
            w.pow_mod(U256::from(ELEMENTS_PER_BLOB), BLS_MODULUS),
            U256::from(1)
        );
        assert_ne!(
            w.pow_mod(U256::from(ELEMENTS_PER_BLOB / 2), BLS_MODULUS),
            U256::from(1)
        );
        assert_eq!(evaluation_point(0).unwrap(), B256::from(U256::from(1)));
        assert!(evaluation_point(4096).is_err());
    }

    /// The evaluation domain is right only if opening element `i` at `evaluation_point(i)`
    /// gives back exactly element `i`'s bytes (c-kzg computes `y` from the blob polynomial).
    #[test]
    fn openings_give_each_element_and_verify_against_the_commitment() {
        let d = data(DATA_PER_BLOB + 1_000, 7);
        let blobs = pack(&d);
        let (c, versioned) = commitment(&blobs[0]).unwrap();
        assert_eq!(versioned[0], 1, "EIP-4844 versioned hash version");
        for e in [0usize, 1, 2, 3, 1_000, 2_048, 4_095] {
            let opening = element_opening(&blobs[0], e).unwrap();
            assert_eq!(
                opening.y.as_slice(),
                &blobs[0][e * 32..e * 32 + 32],
                "element {e}"
            );
            assert!(verify_opening(&c, &opening).unwrap(), "element {e}");
            let mut wrong = opening.clone();
            wrong.y = B256::from(U256::from_be_bytes(opening.y.0) ^ U256::from(1));
            assert!(!verify_opening(&c, &wrong).unwrap());
        }
        // The second blob opens against its own commitment, not the first's.
        let second = element_opening(&blobs[1], 3).unwrap();
        assert!(!verify_opening(&c, &second).unwrap());
        let (c2, _) = commitment(&blobs[1]).unwrap();
        assert!(verify_opening(&c2, &second).unwrap());
    }

    /// Where the shared opening vectors live (read by `contracts/test/BlobData.t.sol`).
    const VECTORS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/blob/openings.json"
    );

    /// Openings of a fixed blob, for the Solidity reader to check against the precompile.
    fn vectors() -> serde_json::Value {
        let blob = pack(&data(DATA_PER_BLOB, 42))[0];
        let (c, versioned) = commitment(&blob).unwrap();
        let openings: Vec<serde_json::Value> = [0usize, 1, 2, 3, 5, 64, 1_000, 2_048, 3_001, 4_095]
            .iter()
            .map(|&e| {
                let o = element_opening(&blob, e).unwrap();
                serde_json::json!({
                    "element": e,
                    "z": o.z,
                    "y": o.y,
                    "proof": alloy::primitives::Bytes::copy_from_slice(&o.proof),
                })
            })
            .collect();
        serde_json::json!({
            "commitment": alloy::primitives::Bytes::copy_from_slice(&c),
            "versionedHash": versioned,
            "openings": openings,
        })
    }

    #[test]
    fn opening_vectors_file_is_current() {
        let text = serde_json::to_string_pretty(&vectors()).unwrap() + "\n";
        if std::env::var("LOFT_BLESS").is_ok_and(|v| v == "1") {
            std::fs::create_dir_all(std::path::Path::new(VECTORS).parent().unwrap()).unwrap();
            std::fs::write(VECTORS, &text).unwrap();
            return;
        }
        let on_disk = std::fs::read_to_string(VECTORS).unwrap_or_default();
        assert!(
            on_disk == text,
            "{VECTORS} is not what the generator produces; rerun with LOFT_BLESS=1 and commit it"
        );
    }
}
