//! Channel states, their EIP-712 digest and the two signatures that make one enforceable on L1.
//!
//! A state is exactly the adjudicator's `State` struct (`docs/channels.md` §2): the digest both
//! parties sign is the contract's `hashState`, so any state the daemon accepts is one the contract
//! accepts too (a differential test checks the two against each other).

use alloy::primitives::{Address, B256, Signature, U256};
use alloy::sol_types::{Eip712Domain, SolStruct, eip712_domain};
use secp256k1::{Message, SECP256K1, SecretKey};
use serde::{Deserialize, Serialize};

use crate::adjudicator::Adjudicator;

/// Where a channel lives: the chain and adjudicator a state's signatures are bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelDomain {
    /// L1 chain id.
    pub chain_id: u64,
    /// The adjudicator contract.
    pub adjudicator: Address,
}

impl ChannelDomain {
    /// The EIP-712 domain of the adjudicator (name "loft Adjudicator", version "1").
    pub fn eip712(&self) -> Eip712Domain {
        eip712_domain! {
            name: "loft Adjudicator",
            version: "1",
            chain_id: self.chain_id,
            verifying_contract: self.adjudicator,
        }
    }
}

/// One state of a channel: who holds what after the payments up to `version`. On the wire it is
/// the RLP list of its fields in this order (`docs/channels.md` §4.2).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    alloy_rlp::RlpEncodable,
    alloy_rlp::RlpDecodable,
)]
pub struct ChannelState {
    /// The channel (its adjudicator id).
    pub channel_id: B256,
    /// Strictly increasing; a higher version replaces a lower one on L1.
    pub version: u64,
    /// What the opener (A) gets.
    pub balance_a: U256,
    /// What the other party (B) gets.
    pub balance_b: U256,
    /// A's deposits this state accounts for.
    pub deposited_a: U256,
    /// B's deposits this state accounts for.
    pub deposited_b: U256,
    /// A state made for a cooperative close; nothing follows it.
    pub is_final: bool,
}

impl ChannelState {
    /// The opening state (version 0): nothing accounted for yet. Every deposit, the opener's
    /// first one included, enters the channel through a top-up update checked against L1, so
    /// both sides start from the same state without reading anything; closing with version 0
    /// returns each party's deposits.
    pub fn opening(channel_id: B256) -> Self {
        Self {
            channel_id,
            version: 0,
            balance_a: U256::ZERO,
            balance_b: U256::ZERO,
            deposited_a: U256::ZERO,
            deposited_b: U256::ZERO,
            is_final: false,
        }
    }

    /// Whether the balances add up to the deposits (the contract's `InvalidState` check).
    pub fn is_balanced(&self) -> bool {
        match (
            self.balance_a.checked_add(self.balance_b),
            self.deposited_a.checked_add(self.deposited_b),
        ) {
            (Some(held), Some(deposited)) => held == deposited,
            _ => false,
        }
    }

    /// The state in the adjudicator's ABI.
    pub fn to_sol(&self) -> Adjudicator::State {
        Adjudicator::State {
            channelId: self.channel_id,
            version: self.version,
            balanceA: self.balance_a,
            balanceB: self.balance_b,
            depositedA: self.deposited_a,
            depositedB: self.deposited_b,
            isFinal: self.is_final,
        }
    }

    /// The EIP-712 digest both parties sign (the contract's `hashState`).
    pub fn digest(&self, domain: &ChannelDomain) -> B256 {
        self.to_sol().eip712_signing_hash(&domain.eip712())
    }
}

/// A 65-byte ECDSA signature `r ‖ s ‖ v` (v = 27 or 28), as the contract's `ECDSA.recover` takes it.
pub type Sig = [u8; 65];

/// Why a signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// No signature where one is needed.
    #[error("the state is not signed")]
    Missing,
    /// Not 65 bytes, a high `s`, a bad `v`, or a point that does not recover.
    #[error("the signature is malformed")]
    Malformed,
    /// A valid signature, by someone else.
    #[error("signed by {got}, expected {expected}")]
    WrongSigner {
        /// Who should have signed.
        expected: Address,
        /// Who did.
        got: Address,
    },
}

/// Checks that `sig` over `digest` is by `expected`, with the same rules as OpenZeppelin's
/// `ECDSA.tryRecover` (low `s`, v in {27, 28}).
pub fn verify(sig: &[u8], digest: &B256, expected: Address) -> Result<(), SignatureError> {
    if sig.is_empty() || sig.iter().all(|b| *b == 0) {
        return Err(SignatureError::Missing);
    }
    if sig.len() != 65 || !(sig[64] == 27 || sig[64] == 28) {
        return Err(SignatureError::Malformed);
    }
    let parsed = Signature::from_raw(sig).map_err(|_| SignatureError::Malformed)?;
    if parsed.normalize_s().is_some() {
        return Err(SignatureError::Malformed);
    }
    let got = parsed
        .recover_address_from_prehash(digest)
        .map_err(|_| SignatureError::Malformed)?;
    if got == expected {
        Ok(())
    } else {
        Err(SignatureError::WrongSigner { expected, got })
    }
}

/// A party's channel key (the same secp256k1 key as its L1 account).
#[derive(Clone)]
pub struct ChannelKey {
    secret: SecretKey,
    address: Address,
}

impl std::fmt::Debug for ChannelKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelKey")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl ChannelKey {
    /// The key from its 32 secret bytes; `None` for zero or a value not below the group order.
    pub fn from_bytes(bytes: &B256) -> Option<Self> {
        let secret = SecretKey::from_byte_array(bytes.0).ok()?;
        let public = secret.public_key(SECP256K1).serialize_uncompressed();
        let address = Address::from_raw_public_key(&public[1..]);
        Some(Self { secret, address })
    }

    /// The account address of the key.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs a digest (RFC 6979 nonce, low `s`).
    pub fn sign(&self, digest: &B256) -> Sig {
        let rec = SECP256K1.sign_ecdsa_recoverable(Message::from_digest(digest.0), &self.secret);
        let (recid, compact) = rec.serialize_compact();
        let mut out = [0; 65];
        out[..64].copy_from_slice(&compact);
        out[64] = 27 + i32::from(recid) as u8;
        out
    }

    /// Signs a state for `domain`.
    pub fn sign_state(&self, state: &ChannelState, domain: &ChannelDomain) -> Sig {
        self.sign(&state.digest(domain))
    }
}

/// A state with both parties' signatures: what either can enforce on L1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedState {
    /// The state.
    pub state: ChannelState,
    /// A's signature (empty only for the unsigned opening state, version 0).
    #[serde(with = "sig_hex")]
    pub sig_a: Vec<u8>,
    /// B's signature (empty only for version 0).
    #[serde(with = "sig_hex")]
    pub sig_b: Vec<u8>,
}

impl SignedState {
    /// The opening state, which the contract accepts without signatures.
    pub fn opening(state: ChannelState) -> Self {
        Self {
            state,
            sig_a: Vec::new(),
            sig_b: Vec::new(),
        }
    }

    /// Checks both signatures (none needed for an opening state that matches its deposits).
    pub fn verify(
        &self,
        domain: &ChannelDomain,
        a: Address,
        b: Address,
    ) -> Result<(), SignatureError> {
        let s = &self.state;
        if s.version == 0 && s.balance_a == s.deposited_a && s.balance_b == s.deposited_b {
            return Ok(());
        }
        let digest = s.digest(domain);
        verify(&self.sig_a, &digest, a)?;
        verify(&self.sig_b, &digest, b)
    }
}

mod sig_hex {
    use alloy::primitives::hex;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode_prefixed(v))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::signers::SignerSync;
    use alloy::signers::local::PrivateKeySigner;

    fn domain() -> ChannelDomain {
        ChannelDomain {
            chain_id: 31337,
            adjudicator: Address::repeat_byte(0xad),
        }
    }

    fn state() -> ChannelState {
        ChannelState {
            channel_id: B256::repeat_byte(7),
            version: 9,
            balance_a: U256::from(6),
            balance_b: U256::from(4),
            deposited_a: U256::from(10),
            deposited_b: U256::ZERO,
            is_final: false,
        }
    }

    #[test]
    fn signatures_match_alloys_signer_and_verify() {
        let secret = B256::repeat_byte(0x11);
        let key = ChannelKey::from_bytes(&secret).unwrap();
        let signer = PrivateKeySigner::from_bytes(&secret).unwrap();
        assert_eq!(key.address(), signer.address());
        let digest = state().digest(&domain());
        let ours = key.sign(&digest);
        let theirs = signer.sign_hash_sync(&digest).unwrap().as_bytes();
        assert_eq!(ours, theirs, "RFC 6979 signatures are deterministic");
        verify(&ours, &digest, key.address()).unwrap();
    }

    #[test]
    fn refuses_missing_wrong_and_malleable_signatures() {
        let key = ChannelKey::from_bytes(&B256::repeat_byte(0x11)).unwrap();
        let other = ChannelKey::from_bytes(&B256::repeat_byte(0x22)).unwrap();
        let digest = state().digest(&domain());
        assert_eq!(
            verify(&[], &digest, key.address()),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(&[0; 65], &digest, key.address()),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(&[1; 64], &digest, key.address()),
            Err(SignatureError::Malformed)
        );
        assert!(matches!(
            verify(&other.sign(&digest), &digest, key.address()),
            Err(SignatureError::WrongSigner { .. })
        ));
        // The same signature with s' = n - s (and v flipped) recovers the same key, but the
        // contract refuses it, so the daemon must too.
        let sig = Signature::from_raw(&key.sign(&digest)).unwrap();
        let n = U256::from_be_bytes(secp256k1::constants::CURVE_ORDER);
        let high = Signature::new(sig.r(), n - sig.s(), !sig.v());
        assert_eq!(
            verify(&high.as_bytes(), &digest, key.address()),
            Err(SignatureError::Malformed)
        );
    }

    #[test]
    fn the_digest_binds_chain_adjudicator_and_every_field() {
        let base = state().digest(&domain());
        let other_chain = ChannelDomain {
            chain_id: 1,
            ..domain()
        };
        let other_adj = ChannelDomain {
            adjudicator: Address::repeat_byte(1),
            ..domain()
        };
        assert_ne!(base, state().digest(&other_chain));
        assert_ne!(base, state().digest(&other_adj));
        let mut s = state();
        s.version += 1;
        assert_ne!(base, s.digest(&domain()));
        let mut s = state();
        s.is_final = true;
        assert_ne!(base, s.digest(&domain()));
    }
}
