//! The requests each benchmark sends, built from the subcommand's flags.
//!
//! Keys for `put` are encoded as etcd's tool does: `binary.PutVarint(k, n)` (zig-zag varint)
//! into a `--key-size` byte buffer, `n` being `i % key-space-size` with `--sequential-keys`,
//! random in `[0, key-space-size)` otherwise. One difference: etcd's tool reuses the buffer,
//! so a short varint can keep trailing bytes of an earlier longer one and the key space grows
//! past `--key-space-size`; here each key starts zeroed, so there are at most
//! `--key-space-size` distinct keys.

use etcd_proto::etcdserverpb::{PutRequest, RangeRequest};
use rand::{Rng, RngCore};

use crate::cli::{PutArgs, RangeArgs};
use crate::error::BenchError;

/// One request to send.
#[derive(Debug, Clone)]
pub enum Op {
    /// A KV Put.
    Put(PutRequest),
    /// A KV Range.
    Range(RangeRequest),
}

/// Produces the request for each index in `0..total`; called concurrently by the workers.
pub trait Workload: Send + Sync {
    /// Total number of requests to send.
    fn total(&self) -> u64;
    /// Maximum requests per second, `None` for no limit.
    fn rate(&self) -> Option<u64>;
    /// The request with the given index.
    fn op(&self, index: u64) -> Op;
}

/// `benchmark put`: one fixed random value, keys from the key space.
#[derive(Debug, Clone)]
pub struct PutWorkload {
    key_size: usize,
    value: Vec<u8>,
    key_space_size: u64,
    sequential: bool,
    total: u64,
    rate: Option<u64>,
}

impl PutWorkload {
    /// Validates the flags and draws the random value.
    pub fn new(args: &PutArgs) -> Result<Self, BenchError> {
        check_key_space(args.key_size, args.key_space_size)?;
        let mut value = vec![0u8; args.val_size];
        rand::rng().fill_bytes(&mut value);
        Ok(Self {
            key_size: args.key_size,
            value,
            key_space_size: args.key_space_size,
            sequential: args.sequential_keys,
            total: args.total,
            rate: (args.rate > 0).then_some(args.rate),
        })
    }

    /// The key for request `index`.
    pub fn key(&self, index: u64) -> Vec<u8> {
        pick_key(self.key_size, self.key_space_size, self.sequential, index)
    }
}

impl Workload for PutWorkload {
    fn total(&self) -> u64 {
        self.total
    }

    fn rate(&self) -> Option<u64> {
        self.rate
    }

    fn op(&self, index: u64) -> Op {
        Op::Put(PutRequest {
            key: self.key(index),
            value: self.value.clone(),
            ..Default::default()
        })
    }
}

/// `benchmark range`: the same range request `total` times.
#[derive(Debug, Clone)]
pub struct RangeWorkload {
    request: RangeRequest,
    total: u64,
    rate: Option<u64>,
}

impl RangeWorkload {
    /// Validates `--consistency` (`l` or `s`) and builds the request.
    pub fn new(args: &RangeArgs) -> Result<Self, BenchError> {
        let serializable = match args.consistency.as_str() {
            "l" => false,
            "s" => true,
            other => {
                return Err(BenchError::InvalidArgument(format!(
                    "--consistency must be l or s, got {other:?}"
                )))
            }
        };
        Ok(Self {
            request: RangeRequest {
                key: args.key.clone().into_bytes(),
                range_end: args.end.clone().unwrap_or_default().into_bytes(),
                serializable,
                ..Default::default()
            },
            total: args.total,
            rate: (args.rate > 0).then_some(args.rate),
        })
    }

    /// Whether the requests are serializable (`--consistency s`).
    pub fn serializable(&self) -> bool {
        self.request.serializable
    }
}

impl Workload for RangeWorkload {
    fn total(&self) -> u64 {
        self.total
    }

    fn rate(&self) -> Option<u64> {
        self.rate
    }

    fn op(&self, _index: u64) -> Op {
        Op::Range(self.request.clone())
    }
}

/// Checks that `--key-space-size` is positive and that each of its keys fits in
/// `--key-size` bytes.
pub fn check_key_space(key_size: usize, key_space_size: u64) -> Result<(), BenchError> {
    if key_space_size == 0 {
        return Err(BenchError::InvalidArgument(format!(
            "expected positive --key-space-size, got ({key_space_size})"
        )));
    }
    let largest = i64::try_from(key_space_size - 1)
        .map_err(|_| BenchError::InvalidArgument("--key-space-size is too large".to_string()))?;
    let needed = varint_len(largest);
    if key_size < needed {
        return Err(BenchError::InvalidArgument(format!(
            "--key-size {key_size} is too small for --key-space-size {key_space_size} \
             (needs {needed} bytes)"
        )));
    }
    Ok(())
}

/// Key number `n` as etcd's tool makes it: `binary.PutVarint(n)` at the front of
/// `key_size` zero bytes (truncated if `key_size` is too small; see [`check_key_space`]).
pub fn varint_key(key_size: usize, n: u64) -> Vec<u8> {
    let mut key = vec![0u8; key_size];
    put_varint(&mut key, n as i64);
    key
}

/// Key `index` of a run: number `index % key_space_size` with `--sequential-keys`, a random
/// number in `[0, key_space_size)` otherwise, encoded by [`varint_key`].
pub fn pick_key(key_size: usize, key_space_size: u64, sequential: bool, index: u64) -> Vec<u8> {
    let n = if sequential {
        index % key_space_size
    } else {
        rand::rng().random_range(0..key_space_size)
    };
    varint_key(key_size, n)
}

/// Zig-zag encoding of Go's `binary.PutVarint`.
fn zigzag(n: i64) -> u64 {
    ((n as u64) << 1) ^ ((n >> 63) as u64)
}

/// Number of bytes `binary.PutVarint` writes for `n`.
fn varint_len(n: i64) -> usize {
    let mut ux = zigzag(n);
    let mut len = 1;
    while ux >= 0x80 {
        ux >>= 7;
        len += 1;
    }
    len
}

/// Go's `binary.PutVarint` into the front of `buf` (which must be long enough).
fn put_varint(buf: &mut [u8], n: i64) -> usize {
    let mut ux = zigzag(n);
    let mut i = 0;
    while ux >= 0x80 && i < buf.len() {
        buf[i] = (ux as u8) | 0x80;
        ux >>= 7;
        i += 1;
    }
    if let Some(last) = buf.get_mut(i) {
        *last = ux as u8;
    }
    i + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_args(key_size: usize, key_space_size: u64, sequential: bool) -> PutArgs {
        PutArgs {
            key_size,
            val_size: 16,
            rate: 0,
            total: 10,
            key_space_size,
            sequential_keys: sequential,
        }
    }

    #[test]
    fn varint_matches_go() {
        // Values from Go's binary.PutVarint.
        let cases: [(i64, &[u8]); 5] = [
            (0, &[0x00]),
            (1, &[0x02]),
            (63, &[0x7e]),
            (64, &[0x80, 0x01]),
            (300, &[0xd8, 0x04]),
        ];
        for (n, want) in cases {
            let mut buf = [0u8; 8];
            let len = put_varint(&mut buf, n);
            assert_eq!(&buf[..len], want, "n={n}");
            assert_eq!(varint_len(n), want.len());
        }
    }

    #[test]
    fn sequential_keys_cycle_through_key_space() {
        let w = PutWorkload::new(&put_args(8, 3, true)).expect("valid");
        assert_eq!(w.key(0), vec![0u8; 8]);
        assert_eq!(w.key(1), [2, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(w.key(3), w.key(0));
        assert_ne!(w.key(1), w.key(2));
    }

    #[test]
    fn random_keys_stay_in_key_space() {
        let w = PutWorkload::new(&put_args(8, 4, false)).expect("valid");
        let distinct: std::collections::BTreeSet<_> = (0..200).map(|i| w.key(i)).collect();
        assert!(distinct.len() <= 4 && !distinct.is_empty());
        let Op::Put(req) = w.op(0) else {
            panic!("put workload makes puts")
        };
        assert_eq!((req.key.len(), req.value.len()), (8, 16));
    }

    #[test]
    fn rejects_bad_put_flags() {
        assert!(PutWorkload::new(&put_args(8, 0, false)).is_err());
        assert!(PutWorkload::new(&put_args(0, 1, false)).is_err());
        assert!(PutWorkload::new(&put_args(1, 100, true)).is_err());
        assert!(PutWorkload::new(&put_args(2, 100, true)).is_ok());
    }

    #[test]
    fn range_consistency() {
        let mut args = RangeArgs {
            key: "a".into(),
            end: Some("b".into()),
            rate: 0,
            total: 1,
            consistency: "s".into(),
        };
        let w = RangeWorkload::new(&args).expect("valid");
        assert!(w.serializable());
        let Op::Range(req) = w.op(0) else {
            panic!("range workload makes ranges")
        };
        assert_eq!(
            (req.key.as_slice(), req.range_end.as_slice()),
            (&b"a"[..], &b"b"[..])
        );
        args.consistency = "x".into();
        assert!(RangeWorkload::new(&args).is_err());
    }
}
