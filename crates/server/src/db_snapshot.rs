//! The backend as etcd's snapshot database (Maintenance.Snapshot, scheduled backups): one
//! consistent point-in-time dump of every column family, written as a bbolt file with
//! etcd's buckets (`crates/snapshot`). Writes go on meanwhile: the dump reads a RocksDB
//! snapshot.
//!
//! Our column families already use etcd's bucket names and encodings, except membership:
//! `members` holds this member's identity and protobuf records, which become etcd's JSON
//! records keyed by the hex member ID (etcd's `membership.Member`), and `members_removed`
//! gets etcd's keys and `removed` values.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom};
use std::path::Path;

use anyhow::Context;
use etcd_proto::etcdserverpb::Member;
use mvcc::{Engine, COLUMN_FAMILIES};
use prost::Message;
use serde::Serialize;
use snapshot::Builder;

use crate::cluster::{CF_MEMBERS, CF_REMOVED, MEMBER_PREFIX};

/// etcd's JSON form of a member in its `members` bucket.
#[derive(Serialize)]
struct EtcdMember<'a> {
    id: u64,
    #[serde(rename = "peerURLs")]
    peer_urls: &'a [String],
    #[serde(rename = "isLearner", skip_serializing_if = "std::ops::Not::not")]
    is_learner: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    name: &'a str,
    #[serde(rename = "clientURLs", skip_serializing_if = "<[String]>::is_empty")]
    client_urls: &'a [String],
}

/// etcd's key of a member: `types.ID.String()`, hex without padding.
fn member_id_key(id: u64) -> Vec<u8> {
    format!("{id:x}").into_bytes()
}

/// The entries of a membership column family in etcd's form, sorted as bbolt keeps them.
fn membership_entries(
    cf: &str,
    raw: Vec<(Vec<u8>, Vec<u8>)>,
) -> anyhow::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    for (k, v) in raw {
        if cf == CF_MEMBERS {
            if !k.starts_with(MEMBER_PREFIX) {
                continue; // this member's own identity: not etcd's
            }
            let m = Member::decode(v.as_slice()).context("corrupt member record")?;
            let json = serde_json::to_vec(&EtcdMember {
                id: m.id,
                peer_urls: &m.peer_ur_ls,
                is_learner: m.is_learner,
                name: &m.name,
                client_urls: &m.client_ur_ls,
            })?;
            out.push((member_id_key(m.id), json));
        } else {
            let id = std::str::from_utf8(&k)
                .ok()
                .and_then(|s| u64::from_str_radix(s, 16).ok())
                .context("corrupt removed-member record")?;
            out.push((member_id_key(id), b"removed".to_vec()));
        }
    }
    out.sort();
    Ok(out)
}

/// Writes the dump into `builder`, bucket by bucket (every one of etcd's buckets, also
/// when empty).
fn dump_into<W: std::io::Write + Seek>(
    engine: &dyn Engine,
    b: &mut Builder<W>,
) -> anyhow::Result<()> {
    let mut opened = 0;
    let mut failure: Option<anyhow::Error> = None;
    let mut membership: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut current: Option<&'static str> = None;
    // Opens every bucket up to and including `cf`, flushing collected membership entries
    // of the bucket being left.
    let mut advance = |b: &mut Builder<W>,
                       current: &mut Option<&'static str>,
                       membership: &mut Vec<(Vec<u8>, Vec<u8>)>,
                       upto: usize|
     -> anyhow::Result<()> {
        while opened < upto {
            if let Some(cf) = current.take() {
                if cf == CF_MEMBERS || cf == CF_REMOVED {
                    for (k, v) in membership_entries(cf, std::mem::take(membership))? {
                        b.put(&k, &v)?;
                    }
                }
            }
            let cf = COLUMN_FAMILIES[opened];
            b.bucket(cf.as_bytes())?;
            *current = Some(cf);
            opened += 1;
        }
        Ok(())
    };
    engine.dump(&mut |cf, k, v| {
        let at = COLUMN_FAMILIES.iter().position(|c| *c == cf).unwrap_or(0) + 1;
        let step = advance(b, &mut current, &mut membership, at).and_then(|()| {
            if cf == CF_MEMBERS || cf == CF_REMOVED {
                membership.push((k.to_vec(), v.to_vec()));
                Ok(())
            } else {
                b.put(k, v).map_err(Into::into)
            }
        });
        match step {
            Ok(()) => true,
            Err(e) => {
                failure = Some(e);
                false
            }
        }
    })?;
    if let Some(e) = failure {
        return Err(e);
    }
    // The remaining (empty) buckets, and a flush of the last one.
    advance(b, &mut current, &mut membership, COLUMN_FAMILIES.len())?;
    if let Some(cf) = current {
        if cf == CF_MEMBERS || cf == CF_REMOVED {
            for (k, v) in membership_entries(cf, membership)? {
                b.put(&k, &v)?;
            }
        }
    }
    Ok(())
}

/// Builds the snapshot database of `engine` in an anonymous temporary file in `dir`;
/// returns it rewound, with its size.
pub fn build(engine: &dyn Engine, dir: &Path) -> anyhow::Result<(File, u64)> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let file = tempfile::tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    let mut b = Builder::new(BufWriter::new(file))?;
    dump_into(engine, &mut b)?;
    let (out, size) = b.finish()?;
    let mut file = out.into_inner().map_err(|e| e.into_error())?;
    file.seek(SeekFrom::Start(0))?;
    Ok((file, size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mvcc::{MemEngine, WriteBatch};

    #[test]
    fn every_bucket_with_membership_in_etcd_form() {
        let engine = MemEngine::new();
        let mut wb = WriteBatch::new();
        wb.put("key", b"k1".to_vec(), b"v1".to_vec());
        wb.put(
            "meta",
            b"consistent_index".to_vec(),
            7u64.to_be_bytes().to_vec(),
        );
        wb.put(CF_MEMBERS, b"local".to_vec(), b"ours".to_vec());
        let m = Member {
            id: 0xabc,
            name: "m1".into(),
            peer_ur_ls: vec!["http://a:2380".into()],
            client_ur_ls: vec!["http://a:2379".into()],
            is_learner: false,
        };
        let mut key = MEMBER_PREFIX.to_vec();
        key.extend_from_slice(&m.id.to_be_bytes());
        wb.put(CF_MEMBERS, key, m.encode_to_vec());
        wb.put(
            CF_REMOVED,
            format!("{:016x}", 0x12u64).into_bytes(),
            Vec::new(),
        );
        engine.write(wb, true).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (file, size) = build(&engine, dir.path()).unwrap();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut &file, &mut bytes).unwrap();
        assert_eq!(bytes.len() as u64, size);
        let r = snapshot::Reader::from_bytes(bytes, false).unwrap();
        let names: Vec<String> = r
            .bucket_names()
            .unwrap()
            .into_iter()
            .map(|n| String::from_utf8(n).unwrap())
            .collect();
        let mut expected: Vec<String> = COLUMN_FAMILIES.iter().map(|s| s.to_string()).collect();
        expected.sort();
        assert_eq!(names, expected);
        let members: Vec<(Vec<u8>, Vec<u8>)> = r
            .bucket(b"members")
            .unwrap()
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        assert_eq!(
            members,
            vec![(
                b"abc".to_vec(),
                br#"{"id":2748,"peerURLs":["http://a:2380"],"name":"m1","clientURLs":["http://a:2379"]}"#.to_vec()
            )]
        );
        let removed: Vec<(Vec<u8>, Vec<u8>)> = r
            .bucket(b"members_removed")
            .unwrap()
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        assert_eq!(removed, vec![(b"12".to_vec(), b"removed".to_vec())]);
    }
}
