//! Packed amounts: a decimal float that makes a transfer's amount 3 bytes and its fee 1 byte
//! (`docs/zk-rollup.md` §4.1).

/// Bits of a packed amount's mantissa (the exponent takes the 5 bits above).
pub const AMOUNT_MANTISSA_BITS: u32 = 19;
/// Bits of a packed fee's mantissa (the exponent takes the 4 bits above).
pub const FEE_MANTISSA_BITS: u32 = 4;

fn pow10(e: u32) -> u128 {
    10u128.pow(e)
}

fn encode(value: u128, mantissa_bits: u32, exp_bits: u32) -> Option<u32> {
    let max_m = (1u128 << mantissa_bits) - 1;
    let max_e = (1u32 << exp_bits) - 1;
    let mut m = value;
    let mut e = 0;
    while m > max_m {
        if !m.is_multiple_of(10) || e == max_e {
            return None;
        }
        m /= 10;
        e += 1;
    }
    Some((e << mantissa_bits) | m as u32)
}

fn decode(packed: u32, mantissa_bits: u32) -> u128 {
    let m = u128::from(packed & ((1 << mantissa_bits) - 1));
    m * pow10(packed >> mantissa_bits)
}

/// The canonical 24-bit packing of `amount` (smallest exponent), if it is representable.
pub fn pack_amount(amount: u128) -> Option<u32> {
    encode(amount, AMOUNT_MANTISSA_BITS, 5)
}

/// The amount a 24-bit packed value stands for (bits above 24 are ignored).
pub fn unpack_amount(packed: u32) -> u128 {
    decode(packed & 0xff_ffff, AMOUNT_MANTISSA_BITS)
}

/// The canonical 8-bit packing of `fee`, if it is representable.
pub fn pack_fee(fee: u128) -> Option<u8> {
    encode(fee, FEE_MANTISSA_BITS, 4).map(|p| p as u8)
}

/// The fee an 8-bit packed value stands for.
pub fn unpack_fee(packed: u8) -> u128 {
    decode(u32::from(packed), FEE_MANTISSA_BITS)
}

/// The largest representable amount at most `amount` (so a wallet can offer the nearest one).
pub fn round_down_amount(amount: u128) -> u128 {
    let mut m = amount;
    let mut e = 0u32;
    while m >= 1 << AMOUNT_MANTISSA_BITS && e < 31 {
        m /= 10;
        e += 1;
    }
    m.min((1 << AMOUNT_MANTISSA_BITS) - 1) * pow10(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_values() {
        assert_eq!(pack_amount(0), Some(0));
        assert_eq!(pack_amount(524_287), Some(524_287));
        assert_eq!(pack_amount(524_288), None);
        assert_eq!(
            unpack_amount(pack_amount(1_000_000_000_000_000_000).unwrap()),
            10u128.pow(18)
        );
        assert_eq!(unpack_amount(0xff_ffff), 524_287 * 10u128.pow(31));
        assert_eq!(pack_fee(15), Some(15));
        assert_eq!(pack_fee(16), None);
        assert_eq!(pack_fee(10u128.pow(12)), Some((11 << 4) | 10));
        assert_eq!(unpack_fee(0xff), 15 * 10u128.pow(15));
        assert_eq!(pack_fee(16 * 10u128.pow(15)), None);
        assert_eq!(round_down_amount(1_234_567_891), 1_234_560_000);
    }

    proptest! {
        #[test]
        fn packing_round_trips(packed in 0u32..1 << 24) {
            let v = unpack_amount(packed);
            let canonical = pack_amount(v).unwrap();
            prop_assert_eq!(unpack_amount(canonical), v);
            prop_assert!(canonical >> 19 <= packed >> 19);
        }

        #[test]
        fn fee_round_trips(packed in 0u8..=255) {
            let v = unpack_fee(packed);
            prop_assert_eq!(unpack_fee(pack_fee(v).unwrap()), v);
        }

        #[test]
        fn round_down_is_representable(a in any::<u128>()) {
            let r = round_down_amount(a);
            prop_assert!(r <= a);
            prop_assert!(pack_amount(r).is_some());
        }
    }
}
