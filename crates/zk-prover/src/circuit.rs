//! The batch circuit (`docs/zk-rollup.md` §6): it re-checks, slot by slot, what
//! `loft_zk::BatchBuilder` did, and binds the roots and the public data to the one public input.
//!
//! Written on arkworks' R1CS gadgets (field variables, booleans, bytes, the Poseidon sponge,
//! twisted Edwards points, SHA-256). What is ours is the statement: the account tree's
//! quaternary paths, packed amounts, the operations' rules and the public data layout.

use ark_crypto_primitives::{
    crh::sha256::constraints::Sha256Gadget,
    sponge::{constraints::CryptographicSpongeVar, poseidon::constraints::PoseidonSpongeVar},
};
use ark_ec::AffineRepr;
use ark_ed_on_bn254::{EdwardsAffine, EdwardsProjective, constraints::EdwardsVar};
use ark_ff::{AdditiveGroup, BigInteger, Field, PrimeField};
use ark_r1cs_std::{fields::fp::FpVar, prelude::*};
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};

use loft_zk::{
    Fr,
    keys::curve_d,
    poseidon::{config_h4, config_h5},
    pubdata::index_bytes,
    stf::{AccountWitness, Batch, GeneralOp, ZkParams},
    tree::AccountTree,
};

type Fp = FpVar<Fr>;

/// Constraints spent by each part of a batch, measured while synthesizing it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConstraintReport {
    /// All general slots.
    pub general: usize,
    /// All transfer slots.
    pub transfers: usize,
    /// The fee credit.
    pub fee: usize,
    /// The public input: root bits and SHA-256 of the public data.
    pub public_input: usize,
    /// Everything.
    pub total: usize,
}

/// The circuit of one batch. Its shape depends only on the [`ZkParams`]; the batch supplies
/// the witness.
#[derive(Debug, Clone)]
pub struct BatchCircuit {
    params: ZkParams,
    batch: Batch,
    report: Option<std::sync::Arc<std::sync::Mutex<ConstraintReport>>>,
}

impl BatchCircuit {
    /// The circuit proving `batch`.
    pub fn new(params: ZkParams, batch: Batch) -> Self {
        Self {
            params,
            batch,
            report: None,
        }
    }

    /// A circuit of the right shape with a valid witness (an all-padding batch on an empty
    /// tree), for key generation.
    pub fn blank(params: ZkParams) -> Self {
        let mut tree = AccountTree::new(params.tree_depth);
        let batch = loft_zk::BatchBuilder::new(params, &tree)
            .finish(&mut tree)
            .expect("an empty batch always applies");
        Self::new(params, batch)
    }

    /// Synthesizes into a fresh constraint system and reports the constraint count by part and
    /// whether the witness satisfies them.
    pub fn measure(self) -> Result<(ConstraintReport, bool), SynthesisError> {
        let cs = ark_relations::gr1cs::ConstraintSystem::<Fr>::new_ref();
        let report = std::sync::Arc::new(std::sync::Mutex::new(ConstraintReport::default()));
        let c = Self {
            report: Some(report.clone()),
            ..self
        };
        c.generate_constraints(cs.clone())?;
        let ok = cs.is_satisfied()?;
        let r = report.lock().expect("report lock").clone();
        Ok((r, ok))
    }
}

fn h(
    cs: &ConstraintSystemRef<Fr>,
    config: &ark_crypto_primitives::sponge::poseidon::PoseidonConfig<Fr>,
    xs: &[Fp],
) -> Result<Fp, SynthesisError> {
    let mut s = PoseidonSpongeVar::new(cs.clone(), config);
    s.absorb(&xs.to_vec())?;
    Ok(s.squeeze_field_elements(1)?.remove(0))
}

/// `Σ bits[i]·2^i`.
fn from_bits_le(bits: &[Boolean<Fr>]) -> Fp {
    let mut acc = Fp::zero();
    let mut coeff = Fr::ONE;
    for b in bits {
        acc += Fp::from(b.clone()) * coeff;
        coeff.double_in_place();
    }
    acc
}

/// Bytes (big-endian) as a field value.
fn from_bytes_be(bytes: &[UInt8<Fr>]) -> Result<(Fp, Vec<Boolean<Fr>>), SynthesisError> {
    let mut bits = Vec::with_capacity(bytes.len() * 8);
    for b in bytes.iter().rev() {
        bits.extend(b.to_bits_le()?);
    }
    Ok((from_bits_le(&bits), bits))
}

/// Enforces `x < 2^n` (allocates its bits).
fn range_check(cs: &ConstraintSystemRef<Fr>, x: &Fp, n: usize) -> Result<(), SynthesisError> {
    let v = x.value().unwrap_or_default().into_bigint();
    let mut bits = Vec::with_capacity(n);
    for i in 0..n {
        bits.push(Boolean::new_witness(cs.clone(), || Ok(v.get_bit(i)))?);
    }
    from_bits_le(&bits).enforce_equal(x)
}

/// `10^e` for little-endian exponent bits.
fn pow10(bits: &[Boolean<Fr>]) -> Result<Fp, SynthesisError> {
    let mut acc = Fp::one();
    let mut p = Fr::from(10u64);
    for b in bits {
        let factor = Fp::one() + Fp::from(b.clone()) * (p - Fr::ONE);
        acc = if acc.is_constant() {
            factor
        } else {
            acc * factor
        };
        p = p.square();
    }
    Ok(acc)
}

/// The account's path, allocated: siblings per level.
struct PathVar {
    digits: Vec<(Boolean<Fr>, Boolean<Fr>)>,
    siblings: Vec<[Fp; 3]>,
}

impl PathVar {
    fn new(
        cs: &ConstraintSystemRef<Fr>,
        w: &AccountWitness,
        index_bits: &[Boolean<Fr>],
    ) -> Result<Self, SynthesisError> {
        let mut siblings = Vec::with_capacity(w.path.siblings.len());
        for s in &w.path.siblings {
            siblings.push([
                Fp::new_witness(cs.clone(), || Ok(s[0]))?,
                Fp::new_witness(cs.clone(), || Ok(s[1]))?,
                Fp::new_witness(cs.clone(), || Ok(s[2]))?,
            ]);
        }
        let digits = (0..siblings.len())
            .map(|l| (index_bits[2 * l].clone(), index_bits[2 * l + 1].clone()))
            .collect();
        Ok(Self { digits, siblings })
    }

    /// The root reached from `leaf`.
    fn root(&self, cs: &ConstraintSystemRef<Fr>, leaf: Fp) -> Result<Fp, SynthesisError> {
        let mut cur = leaf;
        for ((b0, b1), s) in self.digits.iter().zip(&self.siblings) {
            let f0 = Fp::from(b0.clone());
            let f1 = Fp::from(b1.clone());
            let e3 = &f0 * &f1;
            let e0 = Fp::one() - &f0 - &f1 + &e3;
            let e1 = &f0 - &e3;
            let e2 = &f1 - &e3;
            let c0 = &s[0] + &e0 * (&cur - &s[0]);
            let c1 = &s[1] + &e0 * (&s[0] - &s[1]) + &e1 * (&cur - &s[1]);
            let c2 = &s[1] + &e2 * (&cur - &s[1]) + &e3 * (&s[2] - &s[1]);
            let c3 = &s[2] + &e3 * (&cur - &s[2]);
            cur = h(cs, config_h4(), &[c0, c1, c2, c3])?;
        }
        Ok(cur)
    }
}

/// An account's fields, allocated.
struct AccountVar {
    ax: Fp,
    ay: Fp,
    balance: Fp,
    nonce: Fp,
}

impl AccountVar {
    fn new(cs: &ConstraintSystemRef<Fr>, w: &AccountWitness) -> Result<Self, SynthesisError> {
        let f = w.fields;
        Ok(Self {
            ax: Fp::new_witness(cs.clone(), || Ok(f[0]))?,
            ay: Fp::new_witness(cs.clone(), || Ok(f[1]))?,
            balance: Fp::new_witness(cs.clone(), || Ok(f[2]))?,
            nonce: Fp::new_witness(cs.clone(), || Ok(f[3]))?,
        })
    }

    fn leaf(&self, cs: &ConstraintSystemRef<Fr>) -> Result<Fp, SynthesisError> {
        h(
            cs,
            config_h4(),
            &[
                self.ax.clone(),
                self.ay.clone(),
                self.balance.clone(),
                self.nonce.clone(),
            ],
        )
    }
}

/// Checks an EdDSA signature on `m` under `(ax, ay)` when `enabled` (`docs/zk-rollup.md` §1.2).
fn verify_signature(
    cs: &ConstraintSystemRef<Fr>,
    enabled: &Boolean<Fr>,
    key: &AccountVar,
    m: &Fp,
    sig: Option<&loft_zk::Signature>,
) -> Result<(), SynthesisError> {
    // A padding slot carries the generator and s = 1, which verifies for nothing in particular;
    // the check is switched off there.
    let (r, s) = sig
        .map(|s| (s.r, s.s))
        .unwrap_or((EdwardsAffine::generator(), loft_zk::Scalar::ONE));
    let r_var = EdwardsVar::new_variable_omit_prime_order_check(
        cs.clone(),
        || Ok(r.into_group()),
        AllocationMode::Witness,
    )?;
    let s_int = s.into_bigint();
    let mut s_bits = Vec::with_capacity(251);
    for i in 0..251 {
        s_bits.push(Boolean::new_witness(cs.clone(), || Ok(s_int.get_bit(i)))?);
    }
    // Where the check is off the key may be (0, 0), which the point formulas cannot double:
    // the generator stands in for it.
    let g = EdwardsAffine::generator();
    let ax = enabled.select(&key.ax, &Fp::constant(g.x))?;
    let ay = enabled.select(&key.ay, &Fp::constant(g.y))?;
    let a = EdwardsVar::new(ax.clone(), ay.clone());
    let c = h(
        cs,
        config_h5(),
        &[r_var.x.clone(), r_var.y.clone(), ax, ay, m.clone()],
    )?;
    let c_bits = c.to_bits_le()?;
    let ca = a.scalar_mul_le(c_bits.iter())?;
    let rhs = r_var + ca;
    let mut base = EdwardsProjective::from(EdwardsAffine::generator());
    let mut multiples = Vec::with_capacity(251);
    for _ in 0..251 {
        multiples.push(base);
        base.double_in_place();
    }
    let mut lhs = EdwardsVar::zero();
    lhs.precomputed_base_scalar_mul_le(s_bits.iter().zip(multiples.iter()))?;
    lhs.x.conditional_enforce_equal(&rhs.x, enabled)?;
    lhs.y.conditional_enforce_equal(&rhs.y, enabled)
}

fn pow2(k: u64) -> Fr {
    Fr::from(2u64).pow([k])
}

/// Index bits from big-endian index bytes: the low `depth` bits, the rest enforced zero.
fn index_bits(bytes: &[UInt8<Fr>], depth: u8) -> Result<(Fp, Vec<Boolean<Fr>>), SynthesisError> {
    let (value, bits) = from_bytes_be(bytes)?;
    for b in &bits[usize::from(depth)..] {
        b.enforce_equal(&Boolean::FALSE)?;
    }
    Ok((value, bits[..usize::from(depth)].to_vec()))
}

impl ConstraintSynthesizer<Fr> for BatchCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let p = self.params;
        let b = &self.batch;
        let mark = |cs: &ConstraintSystemRef<Fr>| cs.num_constraints();
        let d = Fp::constant(curve_d());
        let chain = Fr::from(p.chain_id);

        let pi = Fp::new_input(cs.clone(), || Ok(b.public_input()))?;
        let old_root = Fp::new_witness(cs.clone(), || Ok(b.old_root))?;
        let mut root = old_root.clone();
        let mut fee_total = Fp::zero();
        let mut pubdata: Vec<UInt8<Fr>> = Vec::with_capacity(p.pubdata_len());

        // General slots.
        let start = mark(&cs);
        assert_eq!(
            b.general.len(),
            p.batch_general,
            "general slots of the configured shape"
        );
        for g in &b.general {
            let bytes = UInt8::new_witness_vec(cs.clone(), &g.chunk.encode())?;
            let (kind, _) = from_bytes_be(&bytes[0..1])?;
            let (_, acct_bits) = index_bits(&bytes[1..4], p.tree_depth.min(24))?;
            let (amount, _) = from_bytes_be(&bytes[4..20])?;
            let (fee, _) = from_bytes_be(&bytes[20..36])?;
            let (data_lo, _) = from_bytes_be(&bytes[36..52])?;
            let (_, data_bits) = from_bytes_be(&bytes[20..52])?;
            let is: Vec<Boolean<Fr>> = (0..5u64)
                .map(|k| kind.is_eq(&Fp::constant(Fr::from(k))))
                .collect::<Result<_, _>>()?;
            let any = is
                .iter()
                .fold(Fp::zero(), |acc, b| acc + Fp::from(b.clone()));
            any.enforce_equal(&Fp::one())?;
            let [is_noop, is_dep, is_key, is_exit, is_wd] =
                [0, 1, 2, 3, 4].map(|k| Fp::from(is[k].clone()));
            // Data: a key (kind 2), fee ‖ 0 (kind 4), else zero; a no-op's account and amount are zero.
            let data_hi = &fee; // the first 16 data bytes
            (&is_noop + &is_dep + &is_exit).mul_equals(&(data_hi + &data_lo), &Fp::zero())?;
            is_wd.mul_equals(&data_lo, &Fp::zero())?;
            let (acct_value, _) = from_bytes_be(&bytes[1..4])?;
            is_noop.mul_equals(&(&acct_value + &amount), &Fp::zero())?;

            let acct = AccountVar::new(&cs, &g.account)?;
            let path = PathVar::new(&cs, &g.account, &acct_bits)?;
            path.root(&cs, acct.leaf(&cs)?)?.enforce_equal(&root)?;

            // Set key: y from the data's low 254 bits, x witnessed, on the curve, parity bit 255.
            let key_y = from_bits_le(&data_bits[..254]);
            let key_x = Fp::new_witness(cs.clone(), || Ok(g.key_x))?;
            let x2 = key_x.square()?;
            let y2 = key_y.square()?;
            let curve = &x2 + &y2 - Fp::one() - &d * &x2 * &y2;
            is_key.mul_equals(&curve, &Fp::zero())?;
            let x_bits = key_x.to_bits_le()?;
            let parity_ok = Fp::from(x_bits[0].clone()) - Fp::from(data_bits[255].clone());
            is_key.mul_equals(&parity_ok, &Fp::zero())?;
            is_key.mul_equals(&Fp::from(data_bits[254].clone()), &Fp::zero())?;
            // The key's y must be a canonical field element (y < r).
            let y_value_bits = &data_bits[..254];
            Boolean::enforce_smaller_or_equal_than_le(y_value_bits, (-Fr::ONE).into_bigint())?;

            // Forced exit: the chunk's amount is the balance.
            is_exit.mul_equals(&(&amount - &acct.balance), &Fp::zero())?;

            // Withdrawal: registered, signature over M_withdraw.
            let ay_zero = Fp::from(acct.ay.is_zero()?);
            is_wd.mul_equals(&ay_zero, &Fp::zero())?;
            let head = Fp::constant(Fr::from(4u64) + chain * pow2(8))
                + Fp::constant(pow2(72)) * from_bits_le(&acct_bits)
                + &acct.nonce * pow2(104);
            let m = h(
                &cs,
                config_h4(),
                &[head, amount.clone(), fee.clone(), Fp::zero()],
            )?;
            let sig = match g.op {
                GeneralOp::Withdraw { sig, .. } => Some(sig),
                _ => None,
            };
            verify_signature(&cs, &is[4], &acct, &m, sig.as_ref())?;

            let balance = &acct.balance + &is_dep * &amount
                - &is_wd * (&amount + &fee)
                - &is_exit * &acct.balance;
            range_check(&cs, &balance, 128)?;
            let nonce = &acct.nonce + &is_wd;
            range_check(&cs, &nonce, 32)?;
            fee_total += &is_wd * &fee;
            let new = AccountVar {
                ax: &acct.ax + &is_key * (&key_x - &acct.ax),
                ay: &acct.ay + &is_key * (&key_y - &acct.ay),
                balance,
                nonce,
            };
            root = path.root(&cs, new.leaf(&cs)?)?;
            pubdata.extend(bytes);
        }
        let general = mark(&cs) - start;

        // Transfer slots.
        let start = mark(&cs);
        let ib = index_bytes(p.tree_depth);
        assert_eq!(
            b.transfers.len(),
            p.batch_transfers,
            "transfer slots of the configured shape"
        );
        for t in &b.transfers {
            let chunk = loft_zk::pubdata::TransferChunk {
                from: t.op.map_or(0, |o| o.from),
                to: t.op.map_or(0, |o| o.to),
                amount: t.op.map_or(0, |o| o.amount),
                fee: t.op.map_or(0, |o| o.fee),
            };
            let bytes = UInt8::new_witness_vec(cs.clone(), &chunk.encode(p.tree_depth))?;
            let (from, from_bits) = index_bits(&bytes[..ib], p.tree_depth)?;
            let (to, to_bits) = index_bits(&bytes[ib..2 * ib], p.tree_depth)?;
            let (amount_packed, amount_bits) = from_bytes_be(&bytes[2 * ib..2 * ib + 3])?;
            let (fee_packed, fee_bits) = from_bytes_be(&bytes[2 * ib + 3..2 * ib + 4])?;
            let is_noop = from.is_zero()? & to.is_zero()?;
            let noop = Fp::from(is_noop.clone());
            let live = Fp::one() - &noop;
            noop.mul_equals(&(&amount_packed + &fee_packed), &Fp::zero())?;
            let amount = from_bits_le(&amount_bits[..19]) * pow10(&amount_bits[19..24])?;
            let fee = from_bits_le(&fee_bits[..4]) * pow10(&fee_bits[4..8])?;

            let sender = AccountVar::new(&cs, &t.sender)?;
            let spath = PathVar::new(&cs, &t.sender, &from_bits)?;
            spath.root(&cs, sender.leaf(&cs)?)?.enforce_equal(&root)?;
            live.mul_equals(&Fp::from(sender.ay.is_zero()?), &Fp::zero())?;
            let m = Fp::constant(Fr::ONE + chain * pow2(8))
                + &from * pow2(72)
                + &to * pow2(104)
                + &amount_packed * pow2(136)
                + &fee_packed * pow2(160)
                + &sender.nonce * pow2(168);
            verify_signature(
                &cs,
                &!is_noop.clone(),
                &sender,
                &m,
                t.op.as_ref().map(|o| &o.sig),
            )?;
            let s_balance = &sender.balance - &amount - &fee;
            range_check(&cs, &s_balance, 128)?;
            let s_nonce = &sender.nonce + &live;
            range_check(&cs, &s_nonce, 32)?;
            let s_new = AccountVar {
                ax: sender.ax.clone(),
                ay: sender.ay.clone(),
                balance: s_balance,
                nonce: s_nonce,
            };
            let mid = spath.root(&cs, s_new.leaf(&cs)?)?;

            let recipient = AccountVar::new(&cs, &t.recipient)?;
            let rpath = PathVar::new(&cs, &t.recipient, &to_bits)?;
            rpath.root(&cs, recipient.leaf(&cs)?)?.enforce_equal(&mid)?;
            live.mul_equals(&Fp::from(recipient.ay.is_zero()?), &Fp::zero())?;
            let r_balance = &recipient.balance + &amount;
            range_check(&cs, &r_balance, 128)?;
            let r_new = AccountVar {
                balance: r_balance,
                ..recipient
            };
            root = rpath.root(&cs, r_new.leaf(&cs)?)?;
            fee_total += fee;
            pubdata.extend(bytes);
        }
        let transfers = mark(&cs) - start;

        // Fee credit to account 0.
        let start = mark(&cs);
        let zero_bits = vec![Boolean::FALSE; usize::from(p.tree_depth)];
        let fee_acct = AccountVar::new(&cs, &b.fee_account)?;
        let fpath = PathVar::new(&cs, &b.fee_account, &zero_bits)?;
        fpath.root(&cs, fee_acct.leaf(&cs)?)?.enforce_equal(&root)?;
        let balance = &fee_acct.balance + &fee_total;
        range_check(&cs, &balance, 128)?;
        let new_root = fpath.root(
            &cs,
            AccountVar {
                balance,
                ..fee_acct
            }
            .leaf(&cs)?,
        )?;
        let fee = mark(&cs) - start;

        // The public input: sha256(oldRoot ‖ newRoot ‖ pubdata) without its top three bits.
        let start = mark(&cs);
        let mut msg = root_bytes(&old_root)?;
        msg.extend(root_bytes(&new_root)?);
        msg.extend(pubdata);
        let digest = Sha256Gadget::digest(&msg)?;
        let mut bits = Vec::with_capacity(253);
        for byte in digest.0.iter().rev() {
            bits.extend(byte.to_bits_le()?);
        }
        from_bits_le(&bits[..253]).enforce_equal(&pi)?;
        let public_input = mark(&cs) - start;

        if let Some(r) = &self.report {
            *r.lock().expect("report lock") = ConstraintReport {
                general,
                transfers,
                fee,
                public_input,
                total: cs.num_constraints(),
            };
        }
        Ok(())
    }
}

/// A root as 32 big-endian bytes (its canonical bits).
fn root_bytes(x: &Fp) -> Result<Vec<UInt8<Fr>>, SynthesisError> {
    let mut bits = x.to_bits_le()?;
    bits.resize(256, Boolean::FALSE);
    Ok(bits.chunks(8).rev().map(UInt8::from_bits_le).collect())
}

#[cfg(test)]
mod tests;
