//! `loft_channel::wire::split_frames` and `Msg::decode_payload` on arbitrary bytes: what a channel
//! daemon reads from a peer socket, which anyone can connect to. They must not panic; every
//! message that decodes must decode again to the same message once re-encoded, and re-encode to
//! the very bytes it came from (the encoding is canonical RLP) unless it holds an update whose
//! `id` or `amount` receivers ignore (`docs/channels.md` §4.2: kinds 3-5).

#![no_main]

use libfuzzer_sys::fuzz_target;
use loft_channel::wire::{MAX_FRAME, Msg, Update, split_frames};

/// Whether `m` holds an update with fields receivers ignore (`FundA`/`FundB`: `id`; `Final`: `id`
/// and `amount`), which any value decodes to the same message.
fn ignores_fields(m: &Msg) -> bool {
    let lenient = |u: &Update| !matches!(u, Update::PayAtoB { .. } | Update::PayBtoA { .. });
    match m {
        Msg::Propose(p) => lenient(&p.update),
        Msg::Sync(s) => s.entries.iter().any(|e| lenient(&e.update)),
        _ => false,
    }
}

/// `m` decoded from `payload` (tag and body): it re-encodes to `payload` (but see
/// [`ignores_fields`]) and decodes again to itself.
fn check(m: &Msg, payload: &[u8]) {
    let mut frame = Vec::new();
    m.encode_frame(&mut frame);
    if !ignores_fields(m) {
        assert_eq!(
            &frame[4..],
            payload,
            "a decoded {} re-encodes to the same bytes",
            m.name()
        );
    }
    let (again, used) = split_frames(&frame);
    assert_eq!(used, frame.len());
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].as_ref().expect("a re-encoded message decodes"), m);
}

fuzz_target!(|data: &[u8]| {
    // The bytes as one frame's payload.
    if let Ok(m) = Msg::decode_payload(data) {
        check(&m, data);
    }
    // The bytes as a stream of frames: complete frames in order, an oversized one refused (and
    // the rest dropped), an incomplete one left for the next read.
    let (msgs, used) = split_frames(data);
    assert!(used <= data.len());
    let mut at = 0;
    for m in &msgs {
        let len = u32::from_be_bytes(data[at..at + 4].try_into().expect("4 bytes")) as usize;
        if len > MAX_FRAME {
            assert!(m.is_err(), "an oversized frame is refused");
            assert_eq!(used, data.len());
            at = data.len();
            break;
        }
        if let Ok(m) = m {
            check(m, &data[at + 4..at + 4 + len]);
        }
        at += 4 + len;
    }
    assert_eq!(at, used);
    if let Some(prefix) = data.get(used..used + 4) {
        let len = u32::from_be_bytes(prefix.try_into().expect("4 bytes")) as usize;
        assert!(
            len <= MAX_FRAME && data.len() - used - 4 < len,
            "only an incomplete frame is left"
        );
    }
});
