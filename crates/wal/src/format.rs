//! On-disk format: the segment header, record framing, and the pure segment decoder.
//!
//! ```text
//! segment = header record*
//! header  = magic "EWAL" (4) | version u16 LE (2) | reserved u16 (2, zero)
//! record  = len u32 LE | crc32 u32 LE | kind u8 | index u64 LE | data (len bytes)
//! ```
//! The CRC (crc32fast, IEEE) covers kind, index and data.

use crate::Record;

/// Magic bytes opening every segment.
pub const SEGMENT_MAGIC: [u8; 4] = *b"EWAL";
/// Format version written in the segment header.
pub const FORMAT_VERSION: u16 = 1;
/// Size of the segment header.
pub const SEGMENT_HEADER_LEN: usize = 8;
/// Size of a record's fixed part: len (4) + crc (4) + kind (1) + index (8).
pub const RECORD_HEADER_LEN: usize = 17;
/// Largest `data` a record may carry (256 MiB).
pub const MAX_RECORD_DATA_LEN: usize = 256 << 20;

/// The header every segment starts with.
pub fn segment_header() -> [u8; SEGMENT_HEADER_LEN] {
    let mut header = [0u8; SEGMENT_HEADER_LEN];
    header[..4].copy_from_slice(&SEGMENT_MAGIC);
    header[4..6].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
    header
}

/// Bytes `record` takes on disk.
pub fn encoded_len(record: &Record) -> usize {
    RECORD_HEADER_LEN + record.data.len()
}

/// Appends `record`'s encoding to `out`. The caller checks the data length first.
pub(crate) fn encode_record(record: &Record, out: &mut Vec<u8>) {
    debug_assert!(record.data.len() <= MAX_RECORD_DATA_LEN);
    let len = record.data.len() as u32;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&checksum(record.kind, record.index, &record.data).to_le_bytes());
    out.push(record.kind);
    out.extend_from_slice(&record.index.to_le_bytes());
    out.extend_from_slice(&record.data);
}

fn checksum(kind: u8, index: u64, data: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&[kind]);
    hasher.update(&index.to_le_bytes());
    hasher.update(data);
    hasher.finalize()
}

/// Why decoding a segment stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeEnd {
    /// Every byte was consumed by valid records.
    Clean,
    /// The segment ends in an incomplete record, or in a record that fails its checksum
    /// with nothing but zeros after it: what an interrupted append leaves behind.
    /// Truncating at `offset` repairs it (if this is the last segment).
    TornTail { offset: u64, reason: String },
    /// Invalid bytes that an interrupted append cannot explain.
    Corrupt { offset: u64, reason: String },
}

/// The result of [`decode_segment`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeOutcome {
    /// The valid records, in order, up to where decoding stopped.
    pub records: Vec<Record>,
    /// Length of the valid prefix (header plus `records`); 0 if the header is bad.
    pub valid_len: u64,
    /// Why decoding stopped.
    pub end: DecodeEnd,
}

/// How decoding one record failed.
enum RecordError {
    Torn(String),
    Corrupt(String),
    /// The checksum failed; the record claimed to end `end` bytes after its start.
    Checksum {
        end: usize,
        stored: u32,
        actual: u32,
    },
}

/// Decodes one segment's bytes. Never panics and never allocates more than `bytes.len()`
/// for record data, whatever the input.
pub fn decode_segment(bytes: &[u8]) -> DecodeOutcome {
    let mut outcome = DecodeOutcome {
        records: Vec::new(),
        valid_len: 0,
        end: DecodeEnd::Clean,
    };
    if let Err(end) = check_header(bytes) {
        outcome.end = end;
        return outcome;
    }
    let mut pos = SEGMENT_HEADER_LEN;
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        let offset = pos as u64;
        match decode_record(rest) {
            Ok((record, used)) => {
                outcome.records.push(record);
                pos += used;
            }
            Err(RecordError::Torn(reason)) => {
                outcome.end = DecodeEnd::TornTail { offset, reason };
                break;
            }
            Err(RecordError::Corrupt(reason)) => {
                outcome.end = DecodeEnd::Corrupt { offset, reason };
                break;
            }
            Err(RecordError::Checksum {
                end,
                stored,
                actual,
            }) => {
                let reason =
                    format!("checksum mismatch: stored {stored:#010x}, computed {actual:#010x}");
                outcome.end = if all_zero(&rest[end..]) {
                    DecodeEnd::TornTail { offset, reason }
                } else {
                    DecodeEnd::Corrupt {
                        offset,
                        reason: format!("{reason}, with more data after the record"),
                    }
                };
                break;
            }
        }
    }
    outcome.valid_len = pos as u64;
    outcome
}

fn check_header(bytes: &[u8]) -> Result<(), DecodeEnd> {
    let header = segment_header();
    if all_zero(bytes) || (bytes.len() < SEGMENT_HEADER_LEN && header.starts_with(bytes)) {
        return Err(DecodeEnd::TornTail {
            offset: 0,
            reason: "segment header was never completely written".to_string(),
        });
    }
    let corrupt = |offset, reason: String| Err(DecodeEnd::Corrupt { offset, reason });
    if bytes.len() < SEGMENT_HEADER_LEN || bytes[..4] != SEGMENT_MAGIC {
        return corrupt(0, "bad segment magic".to_string());
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != FORMAT_VERSION {
        return corrupt(4, format!("unsupported format version {version}"));
    }
    if bytes[6..SEGMENT_HEADER_LEN] != header[6..] {
        return corrupt(6, "reserved header bytes are not zero".to_string());
    }
    Ok(())
}

/// Decodes the record at the start of `rest`, returning it and the bytes it used.
fn decode_record(rest: &[u8]) -> Result<(Record, usize), RecordError> {
    let Some(header) = rest.get(..RECORD_HEADER_LEN) else {
        return Err(RecordError::Torn(format!(
            "incomplete record header: {} of {RECORD_HEADER_LEN} bytes",
            rest.len()
        )));
    };
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len > MAX_RECORD_DATA_LEN {
        return Err(RecordError::Corrupt(format!(
            "record length {len} exceeds the maximum of {MAX_RECORD_DATA_LEN}"
        )));
    }
    let end = RECORD_HEADER_LEN + len;
    let Some(data) = rest.get(RECORD_HEADER_LEN..end) else {
        return Err(RecordError::Torn(format!(
            "incomplete record: needs {end} bytes, {} left in the segment",
            rest.len()
        )));
    };
    let stored = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    let kind = header[8];
    let mut index_bytes = [0u8; 8];
    index_bytes.copy_from_slice(&header[9..17]);
    let index = u64::from_le_bytes(index_bytes);
    let actual = checksum(kind, index, data);
    if actual != stored {
        return Err(RecordError::Checksum {
            end,
            stored,
            actual,
        });
    }
    let record = Record {
        kind,
        index,
        data: data.to_vec(),
    };
    Ok((record, end))
}

fn all_zero(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(records: &[Record]) -> Vec<u8> {
        let mut bytes = segment_header().to_vec();
        for record in records {
            encode_record(record, &mut bytes);
        }
        bytes
    }

    fn rec(index: u64, data: &[u8]) -> Record {
        Record {
            kind: 1,
            index,
            data: data.to_vec(),
        }
    }

    #[test]
    fn round_trip() {
        let records = vec![rec(1, b"a"), rec(2, b""), rec(3, &[7; 300])];
        let bytes = segment(&records);
        let outcome = decode_segment(&bytes);
        assert_eq!(outcome.records, records);
        assert_eq!(outcome.end, DecodeEnd::Clean);
        assert_eq!(outcome.valid_len, bytes.len() as u64);
    }

    #[test]
    fn empty_and_partial_headers_are_torn() {
        for bytes in [&b""[..], b"EW", b"EWAL\x01", &[0u8; 30]] {
            let outcome = decode_segment(bytes);
            assert!(
                matches!(outcome.end, DecodeEnd::TornTail { offset: 0, .. }),
                "{bytes:?}: {outcome:?}"
            );
        }
    }

    #[test]
    fn bad_magic_and_version_are_corrupt() {
        let mut bytes = segment(&[rec(1, b"x")]);
        bytes[0] = b'X';
        assert!(matches!(
            decode_segment(&bytes).end,
            DecodeEnd::Corrupt { offset: 0, .. }
        ));
        bytes[0] = b'E';
        bytes[4] = 9;
        assert!(matches!(
            decode_segment(&bytes).end,
            DecodeEnd::Corrupt { offset: 4, .. }
        ));
    }

    #[test]
    fn absurd_length_is_corrupt_without_allocating() {
        let mut bytes = segment(&[rec(1, b"x")]);
        let second = bytes.len();
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        bytes.extend_from_slice(&[1; 20]);
        let outcome = decode_segment(&bytes);
        assert_eq!(outcome.records, vec![rec(1, b"x")]);
        assert!(
            matches!(outcome.end, DecodeEnd::Corrupt { offset, .. } if offset == second as u64)
        );
    }

    #[test]
    fn checksum_failure_is_torn_only_before_zeros() {
        let mut bytes = segment(&[rec(1, b"keep"), rec(2, b"damaged")]);
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        let torn = decode_segment(&bytes);
        assert_eq!(torn.records, vec![rec(1, b"keep")]);
        assert!(matches!(torn.end, DecodeEnd::TornTail { .. }));

        bytes.extend_from_slice(&[0; 64]);
        assert!(matches!(
            decode_segment(&bytes).end,
            DecodeEnd::TornTail { .. }
        ));

        bytes.push(1);
        assert!(matches!(
            decode_segment(&bytes).end,
            DecodeEnd::Corrupt { .. }
        ));
    }
}
