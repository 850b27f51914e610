//! The `lease` column family, in etcd's bbolt layout: key = lease ID as 8 bytes big-endian,
//! value = `leasepb.Lease {ID, TTL, RemainingTTL}`. Attached keys are not stored: they are
//! recovered from the MVCC store (each `KeyValue` names its lease).

use etcd_proto::leasepb;
use mvcc::{Engine, WriteBatch};
use prost::Message;

use crate::errors::LeaseError;
use crate::lease::Lease;

/// Column family of lease records (etcd's `lease` bucket; created by `mvcc::RocksEngine`).
pub const CF_LEASE: &str = "lease";

/// The key of lease `id`: its two's-complement bits, big-endian (etcd's `int64ToBytes`).
pub(crate) fn lease_key(id: i64) -> [u8; 8] {
    id.to_be_bytes()
}

/// Adds a put of `lease`'s record to `batch`.
pub(crate) fn put(batch: &mut WriteBatch, lease: &Lease) {
    batch.put(
        CF_LEASE,
        lease_key(lease.id),
        lease.to_record().encode_to_vec(),
    );
}

/// Adds a delete of lease `id`'s record to `batch`.
pub(crate) fn delete(batch: &mut WriteBatch, id: i64) {
    batch.delete(CF_LEASE, lease_key(id));
}

/// Every lease record in `engine`, in key order.
pub(crate) fn load(engine: &dyn Engine) -> Result<Vec<leasepb::Lease>, LeaseError> {
    let mut records = Vec::new();
    let mut bad: Option<LeaseError> = None;
    engine.scan(CF_LEASE, &[], &[], &mut |k, v| match decode(k, v) {
        Ok(r) => {
            records.push(r);
            true
        }
        Err(e) => {
            bad = Some(e);
            false
        }
    })?;
    match bad {
        Some(e) => Err(e),
        None => Ok(records),
    }
}

fn decode(key: &[u8], value: &[u8]) -> Result<leasepb::Lease, LeaseError> {
    let corrupt = |reason: String| LeaseError::Corrupt {
        key: hex(key),
        reason,
    };
    let id_bytes: [u8; 8] = key
        .try_into()
        .map_err(|_| corrupt(format!("key is {} bytes, want 8", key.len())))?;
    let record = leasepb::Lease::decode(value).map_err(|e| corrupt(e.to_string()))?;
    let id = i64::from_be_bytes(id_bytes);
    if record.id != id {
        return Err(corrupt(format!("record holds lease ID {}", record.id)));
    }
    Ok(record)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mvcc::MemEngine;

    #[test]
    fn key_is_big_endian_id() {
        assert_eq!(lease_key(0x0102_0304_0506_0708), [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(lease_key(-1), [0xff; 8]);
    }

    #[test]
    fn round_trip_and_delete() {
        let engine = MemEngine::new();
        let mut batch = WriteBatch::new();
        put(&mut batch, &Lease::new(7, 60, 20));
        put(&mut batch, &Lease::new(3, 10, 0));
        engine.write(batch, false).unwrap();
        let got = load(&engine).unwrap();
        assert_eq!(
            got,
            vec![
                leasepb::Lease {
                    id: 3,
                    ttl: 10,
                    remaining_ttl: 0
                },
                leasepb::Lease {
                    id: 7,
                    ttl: 60,
                    remaining_ttl: 20
                },
            ]
        );
        let mut batch = WriteBatch::new();
        delete(&mut batch, 3);
        engine.write(batch, false).unwrap();
        assert_eq!(load(&engine).unwrap().len(), 1);
    }

    #[test]
    fn corrupt_records_are_errors() {
        let engine = MemEngine::new();
        let mut batch = WriteBatch::new();
        batch.put(CF_LEASE, vec![1, 2, 3], vec![]);
        engine.write(batch, false).unwrap();
        assert!(matches!(load(&engine), Err(LeaseError::Corrupt { .. })));

        let engine = MemEngine::new();
        let mut batch = WriteBatch::new();
        batch.put(CF_LEASE, lease_key(5), vec![0xff, 0xff]);
        engine.write(batch, false).unwrap();
        assert!(matches!(load(&engine), Err(LeaseError::Corrupt { .. })));

        let engine = MemEngine::new();
        let mut batch = WriteBatch::new();
        batch.put(
            CF_LEASE,
            lease_key(5),
            Lease::new(6, 1, 0).to_record().encode_to_vec(),
        );
        engine.write(batch, false).unwrap();
        assert!(matches!(load(&engine), Err(LeaseError::Corrupt { .. })));
    }

    #[test]
    fn rocks_engine_has_the_lease_column_family() {
        assert!(mvcc::COLUMN_FAMILIES.contains(&CF_LEASE));
    }
}
