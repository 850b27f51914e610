//! Fuzzes `wal::decode_segment`: any bytes must decode without panicking, the reported
//! valid prefix must lie inside the input, and re-decoding that prefix must give back the
//! same records with a clean end.

#![no_main]

use libfuzzer_sys::fuzz_target;
use wal::{decode_segment, DecodeEnd};

fuzz_target!(|bytes: &[u8]| {
    let outcome = decode_segment(bytes);
    let valid = usize::try_from(outcome.valid_len).expect("valid_len fits in usize");
    assert!(valid <= bytes.len());
    if outcome.valid_len > 0 {
        let prefix = decode_segment(&bytes[..valid]);
        assert_eq!(prefix.end, DecodeEnd::Clean);
        assert_eq!(prefix.records, outcome.records);
    }
});
