//! L2 keys of the zk profile: EdDSA over Baby Jubjub with a Poseidon challenge
//! (`docs/zk-rollup.md` §1.2).
//!
//! The curve arithmetic is arkworks' (`ark-ed-on-bn254`); the signature scheme is written here
//! because no maintained crate signs over this curve with this challenge hash, and the circuit
//! must check exactly what this module produces.

use alloy::primitives::keccak256;
use alloy::signers::{SignerSync, local::PrivateKeySigner};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ed_on_bn254::{EdwardsAffine, EdwardsConfig};
use ark_ff::{AdditiveGroup, BigInteger, Field, PrimeField};

use crate::{Fr, Scalar, poseidon::h5};

/// Baby Jubjub's twisted Edwards `d` (with `a = 1`).
pub fn curve_d() -> Fr {
    <EdwardsConfig as ark_ec::twisted_edwards::TECurveConfig>::COEFF_D
}

/// Errors of key and signature handling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The compressed key's y is not below the field modulus or bit 254 is set.
    #[error("compressed key out of range")]
    OutOfRange,
    /// No curve point has this y (or the parity asks for an odd x = 0).
    #[error("compressed key is not on the curve")]
    NotOnCurve,
    /// The secret scalar is zero.
    #[error("secret key is zero")]
    ZeroSecret,
    /// The Ethereum key could not sign.
    #[error("cannot derive the L2 key: {0}")]
    Derive(String),
    /// A signature's bytes do not encode a curve point and a scalar below the group order.
    #[error("malformed signature")]
    MalformedSignature,
}

/// An L2 public key: a point of Baby Jubjub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(pub EdwardsAffine);

impl PublicKey {
    /// The coordinates `(ax, ay)` as stored in an account.
    pub fn xy(&self) -> (Fr, Fr) {
        (self.0.x, self.0.y)
    }

    /// The 32-byte compressed form: `ay` big-endian, bit 255 set when `ax` is odd.
    pub fn compress(&self) -> [u8; 32] {
        let mut out = fr_to_be(&self.0.y);
        if self.0.x.into_bigint().is_odd() {
            out[0] |= 0x80;
        }
        out
    }

    /// Parses a compressed key (`docs/zk-rollup.md` §1.2); the same rule as `ZkRollup` on L1.
    pub fn decompress(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let odd = bytes[0] & 0x80 != 0;
        if bytes[0] & 0x40 != 0 {
            return Err(KeyError::OutOfRange);
        }
        let mut y_bytes = *bytes;
        y_bytes[0] &= 0x3f;
        let y = fr_from_be(&y_bytes).ok_or(KeyError::OutOfRange)?;
        let x = x_from_y(y, odd).ok_or(KeyError::NotOnCurve)?;
        Ok(Self(EdwardsAffine::new_unchecked(x, y)))
    }
}

/// The x with the given parity on the curve at `y`, if any: `x² = (1 − y²) / (1 − d·y²)`.
pub fn x_from_y(y: Fr, odd: bool) -> Option<Fr> {
    let y2 = y.square();
    let den = Fr::ONE - curve_d() * y2;
    let x2 = (Fr::ONE - y2) * den.inverse()?;
    let x = x2.sqrt()?;
    if x == Fr::ZERO && odd {
        return None;
    }
    Some(if x.into_bigint().is_odd() == odd {
        x
    } else {
        -x
    })
}

/// An L2 secret key: a scalar of Baby Jubjub's prime-order subgroup.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Scalar);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

/// An EdDSA signature `(R, s)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    /// The commitment point.
    pub r: EdwardsAffine,
    /// The response scalar (below the group order `l`).
    pub s: Scalar,
}

impl Signature {
    /// 96 bytes: `rx ‖ ry ‖ s`, each 32 bytes big-endian.
    pub fn to_bytes(&self) -> [u8; 96] {
        let mut out = [0u8; 96];
        out[..32].copy_from_slice(&fr_to_be(&self.r.x));
        out[32..64].copy_from_slice(&fr_to_be(&self.r.y));
        out[64..].copy_from_slice(&scalar_to_be(&self.s));
        out
    }

    /// Parses [`Signature::to_bytes`]: `R` must be on the curve and `s` below `l`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        if bytes.len() != 96 {
            return Err(KeyError::MalformedSignature);
        }
        let x = fr_from_be(bytes[..32].try_into().unwrap()).ok_or(KeyError::MalformedSignature)?;
        let y =
            fr_from_be(bytes[32..64].try_into().unwrap()).ok_or(KeyError::MalformedSignature)?;
        let s_int = ark_ff::BigInt::<4>::from_bits_be(&bits_be(&bytes[64..]));
        let s = Scalar::from_bigint(s_int).ok_or(KeyError::MalformedSignature)?;
        let r = EdwardsAffine::new_unchecked(x, y);
        if !r.is_on_curve() {
            return Err(KeyError::MalformedSignature);
        }
        Ok(Self { r, s })
    }
}

fn bits_be(bytes: &[u8]) -> Vec<bool> {
    bytes
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1 == 1))
        .collect()
}

impl SecretKey {
    /// A key from a scalar's 32 big-endian bytes, reduced mod `l`.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, KeyError> {
        let k = Scalar::from_be_bytes_mod_order(bytes);
        if k == Scalar::ZERO {
            return Err(KeyError::ZeroSecret);
        }
        Ok(Self(k))
    }

    /// The key a user's Ethereum key derives for chain `chain_id` (`docs/zk-rollup.md` §1.2).
    pub fn from_eth_key(signer: &PrivateKeySigner, chain_id: u64) -> Result<Self, KeyError> {
        let text = format!("loft zk key\nchain id: {chain_id}");
        let sig = signer
            .sign_message_sync(text.as_bytes())
            .map_err(|e| KeyError::Derive(e.to_string()))?;
        let seed = keccak256(sig.as_bytes());
        let mut pre = b"loft.zk.sk".to_vec();
        pre.extend_from_slice(seed.as_slice());
        Self::from_bytes(&keccak256(&pre).0)
    }

    /// The public key `k·G`.
    pub fn public(&self) -> PublicKey {
        PublicKey((EdwardsAffine::generator() * self.0).into_affine())
    }

    /// Signs `m` (`docs/zk-rollup.md` §1.2); deterministic.
    pub fn sign(&self, m: Fr) -> Signature {
        let mut pre = b"loft.zk.nonce".to_vec();
        pre.extend_from_slice(&scalar_to_be(&self.0));
        pre.extend_from_slice(&fr_to_be(&m));
        let n = Scalar::from_be_bytes_mod_order(keccak256(&pre).as_slice());
        let r = (EdwardsAffine::generator() * n).into_affine();
        let a = self.public().0;
        let c = h5(&[r.x, r.y, a.x, a.y, m]);
        let c_mod_l = Scalar::from_le_bytes_mod_order(&c.into_bigint().to_bytes_le());
        Signature {
            r,
            s: n + c_mod_l * self.0,
        }
    }
}

/// Checks `s·G = R + c·A`, `c = H5(rx, ry, ax, ay, m)` as an integer: what the circuit checks.
pub fn verify(key: &PublicKey, m: Fr, sig: &Signature) -> bool {
    if !key.0.is_on_curve() || !sig.r.is_on_curve() {
        return false;
    }
    let c = h5(&[sig.r.x, sig.r.y, key.0.x, key.0.y, m]);
    let lhs = EdwardsAffine::generator() * sig.s;
    let rhs = sig.r.into_group() + key.0.mul_bigint(c.into_bigint());
    lhs == rhs
}

/// A field element as 32 big-endian bytes.
pub fn fr_to_be(x: &Fr) -> [u8; 32] {
    let v = x.into_bigint().to_bytes_be();
    let mut out = [0u8; 32];
    out[32 - v.len()..].copy_from_slice(&v);
    out
}

/// 32 big-endian bytes as a field element, `None` when not below the modulus.
pub fn fr_from_be(bytes: &[u8; 32]) -> Option<Fr> {
    Fr::from_bigint(ark_ff::BigInt::<4>::from_bits_be(&bits_be(bytes)))
}

fn scalar_to_be(x: &Scalar) -> [u8; 32] {
    let v = x.into_bigint().to_bytes_be();
    let mut out = [0u8; 32];
    out[32 - v.len()..].copy_from_slice(&v);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> SecretKey {
        SecretKey::from_bytes(&[n; 32]).unwrap()
    }

    #[test]
    fn sign_verify_and_refuse_tampering() {
        let k = key(7);
        let m = Fr::from(12345u64);
        let sig = k.sign(m);
        assert!(verify(&k.public(), m, &sig));
        assert!(!verify(&k.public(), m + Fr::ONE, &sig));
        assert!(!verify(&key(8).public(), m, &sig));
        let mut bad = sig;
        bad.s += Scalar::ONE;
        assert!(!verify(&k.public(), m, &bad));
        assert_eq!(Signature::from_bytes(&sig.to_bytes()).unwrap(), sig);
        assert!(Signature::from_bytes(&[0xff; 96]).is_err());
    }

    #[test]
    fn compression_round_trips_both_parities() {
        for n in 1..20u8 {
            let p = key(n).public();
            assert_eq!(PublicKey::decompress(&p.compress()).unwrap(), p);
            let neg = PublicKey(EdwardsAffine::new_unchecked(-p.0.x, p.0.y));
            assert_eq!(PublicKey::decompress(&neg.compress()).unwrap(), neg);
            assert_ne!(neg.compress(), p.compress());
        }
        // The generator has an even x: its compressed form is its y.
        let g = PublicKey(EdwardsAffine::generator());
        assert_eq!(g.compress(), fr_to_be(&g.0.y));
        assert_eq!(
            PublicKey::decompress(&[0xff; 32]),
            Err(KeyError::OutOfRange)
        );
    }

    #[test]
    fn eth_key_derivation_is_deterministic_and_chain_bound() {
        let signer: PrivateKeySigner =
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
                .parse()
                .unwrap();
        let a = SecretKey::from_eth_key(&signer, 1).unwrap();
        assert_eq!(a, SecretKey::from_eth_key(&signer, 1).unwrap());
        assert_ne!(a, SecretKey::from_eth_key(&signer, 2).unwrap());
    }
}
