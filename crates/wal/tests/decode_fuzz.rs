//! Property tests of `decode_segment`: random and mutated inputs never panic, and damage
//! never yields records that were not written.

use wal::{decode_segment, DecodeEnd, Record, Wal, WalOptions};

/// SplitMix64: a tiny deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// A valid segment's bytes, written through the real WAL, and its records.
fn valid_segment(rng: &mut Rng) -> (Vec<u8>, Vec<Record>) {
    let dir = tempfile::tempdir().unwrap();
    let opts = WalOptions {
        segment_size: u64::MAX,
        sync: false,
    };
    let (wal, _) = Wal::open(dir.path(), opts).unwrap();
    let records: Vec<Record> = (0..20)
        .map(|i| {
            let len = rng.below(64);
            Record {
                kind: rng.next() as u8,
                index: i,
                data: rng.bytes(len),
            }
        })
        .collect();
    wal.append(&records).unwrap();
    drop(wal);
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    (std::fs::read(file).unwrap(), records)
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(1);
    let header = valid_segment(&mut rng).0[..wal::SEGMENT_HEADER_LEN].to_vec();
    for _ in 0..5_000 {
        let len = rng.below(512);
        let mut bytes = rng.bytes(len);
        let outcome = decode_segment(&bytes);
        assert!(outcome.valid_len <= bytes.len() as u64);
        // With a valid header, the decoder gets to the record parser.
        bytes.splice(0..0, header.iter().copied());
        let outcome = decode_segment(&bytes);
        assert!(outcome.valid_len <= bytes.len() as u64);
    }
}

#[test]
fn truncation_yields_a_prefix_and_a_torn_tail() {
    let mut rng = Rng(2);
    let (bytes, records) = valid_segment(&mut rng);
    assert_eq!(decode_segment(&bytes).records, records);
    for cut in 0..bytes.len() {
        let outcome = decode_segment(&bytes[..cut]);
        assert!(records.starts_with(&outcome.records));
        match outcome.end {
            DecodeEnd::Clean => assert_eq!(outcome.valid_len, cut as u64),
            DecodeEnd::TornTail { offset, .. } => assert_eq!(offset, outcome.valid_len),
            DecodeEnd::Corrupt { .. } => panic!("truncation at {cut} reported as corruption"),
        }
    }
}

#[test]
fn single_byte_damage_is_always_detected() {
    let mut rng = Rng(3);
    let (bytes, records) = valid_segment(&mut rng);
    for _ in 0..5_000 {
        let mut damaged = bytes.clone();
        let at = rng.below(damaged.len());
        damaged[at] ^= 1 + rng.below(255) as u8;
        let outcome = decode_segment(&damaged);
        assert!(records.starts_with(&outcome.records), "byte {at}");
        assert!(
            outcome.records.len() < records.len(),
            "byte {at} went unnoticed"
        );
        assert_ne!(outcome.end, DecodeEnd::Clean, "byte {at}");
    }
}
