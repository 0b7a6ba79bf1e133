//! `loft_stf::blob::unpack` on arbitrary blob bytes: a blob batch's data as any poster may put it
//! on L1, which every verifier reads back (`loft_stf::blob`). The first two bytes give the data
//! length asked for, the rest fills one blob. Unpacking must not panic and refuses only a length
//! one blob cannot hold (byte 0 of each element is ignored, whatever it holds); what unpacks packs
//! back to a blob that unpacks to the same data, and the element holding each byte is where
//! `locate` says.

#![no_main]

use alloy::eips::eip4844::{BYTES_PER_BLOB, Blob};
use libfuzzer_sys::fuzz_target;
use loft_stf::blob::{DATA_PER_BLOB, locate, pack, unpack};

fuzz_target!(|input: &[u8]| {
    if input.len() < 2 {
        return;
    }
    let len = usize::from(u16::from_be_bytes([input[0], input[1]])) * 3;
    let mut blob = Blob::ZERO;
    let body = &input[2..input.len().min(2 + BYTES_PER_BLOB)];
    blob[..body.len()].copy_from_slice(body);
    match unpack(&[blob], len) {
        Ok(data) => {
            assert_eq!(data.len(), len);
            assert!(len <= DATA_PER_BLOB);
            let again = pack(&data);
            assert_eq!(unpack(&again, len).unwrap(), data);
            for (offset, byte) in data.iter().enumerate().step_by(97) {
                let (b, e, i) = locate(offset);
                assert_eq!(b, 0);
                assert_eq!(blob[e * 32 + i], *byte);
            }
        }
        Err(_) => assert!(len > DATA_PER_BLOB),
    }
});
